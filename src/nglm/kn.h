/*
 * nglm/kn.h — interpolated modified Kneser-Ney, estimated as KenLM's lmplz
 * estimates it (Chen & Goodman 1998; Heafield et al. 2013), from nglm's own
 * n-gram counts (doc/model.md §6).
 *
 * Input: a feature index built with every cutoff 1 and no skip-grams
 * (nglm_features_build with cutoff NULL): its n-grams, with their counts,
 * are exactly the n-grams of the text.  Output: for every n-gram (c, w) its
 * interpolated probability P(w | c), and for every context c its back-off
 * weight γ(c), so that the model is an ARPA back-off model:
 *
 *   a(c w)    adjusted count: the number of distinct words v with "v c w"
 *             listed, for every order below the highest; the raw count for
 *             the highest order and for n-grams that start with <s>
 *   D_m(j)    discounts of m-grams, j = 1, 2, 3+, from n_j, the number of
 *             m-grams with adjusted count j:
 *             Y = n_1 / (n_1 + 2 n_2),  D_m(j) = j − (j+1) Y n_{j+1} / n_j
 *   u(w | c)  = (a(c w) − D(a(c w))) / Σ_x a(c x)
 *   γ(c)      = (D(1) N_1(c) + D(2) N_2(c) + D(3) N_3+(c)) / Σ_x a(c x)
 *   P(w | c)  = u(w | c) + γ(c) P(w | c⁻),   P(w | ∅) = u(w) + γ(∅) / (|V| − 1)
 *
 * where N_j(c) counts the successors of c with adjusted count j and |V|
 * counts <s>, so the uniform share 1/(|V| − 1) spreads over every word that
 * can be predicted, <unk> included (a <unk> that the text never shows gets
 * only that share).  <s> is never predicted; its 1-gram is written with
 * log10 probability 0, as lmplz writes it.
 *
 * Pruning (lmplz's --prune): m-grams (m ≥ 2) seen at most prune[m] times
 * are left out; the mass of their adjusted counts joins γ of their context,
 * and adjusted counts and discounts are those of the unpruned model.
 * Thresholds must not decrease with the order, so the listed n-grams stay
 * closed under prefixes and suffixes.
 *
 * lmplz's statistics.  lmplz counts n_j in its sort order (suffix order,
 * words numbered by first appearance in the text) and adds the last m-gram
 * of each order it still holds at the end, the suffixes of the last padded
 * n-gram, with its raw count instead of its adjusted count.  Given the text
 * the index was counted from (opt->text), nglm does the same, so that its
 * discounts are lmplz's to the last digit (on PTB this moves the 1-gram
 * D3+ from 1.26227 to lmplz's 1.26492, and log10 P(<unk>) by 9e-4);
 * without it, n_j are the textbook counts.
 *
 * Discounts that the formula cannot give (some n_j = 0 for j ≤ 3, or a
 * D(j) outside [0, j], as on tiny or artificial texts) are an error, unless
 * opt->fallback is set: then that order uses opt->fallback_d (lmplz's
 * --discount_fallback; 0.5, 1, 1.5 by default).
 *
 * Every probability is exact (double precision); P(· | c) sums to one over
 * the predicted words for every context.
 */
#ifndef NGLM_KN_H
#define NGLM_KN_H

#include <stddef.h>
#include <stdint.h>

#include "nglm/corpus.h"
#include "nglm/error.h"
#include "nglm/features.h"
#include "nglm/progress.h"
#include "nglm/vocab.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nglm_kn_options {
    uint64_t prune[NGLM_MAX_ORDER + 1]; /* prune[m], m = 2..order; 0: keep all.
                                         * prune[1] must be 0 */
    int fallback;                /* 1: fallback_d where the discounts fail */
    double fallback_d[4];        /* [1], [2], [3]: D(1), D(2), D(3+) */
    int threads;                 /* <= 0: 1 */
    const nglm_corpus *text;     /* the text F was counted from: lmplz's n_j
                                  * (above); NULL: the textbook n_j */
    int unk_unigram_mass;        /* 1: the 1-grams' left-over mass γ goes to <unk>
                                  * instead of the uniform distribution (SRILM's
                                  * way, lmplz --interpolate_unigrams 0) */
} nglm_kn_options;

/* No pruning, no fallback (fallback_d 0.5, 1, 1.5 ready for it), 1 thread,
 * textbook n_j (set text for lmplz's). */
nglm_kn_options nglm_kn_options_default(void);

typedef struct nglm_kn {
    int order;                   /* n */
    int32_t V;                   /* vocabulary size, <s> included */
    size_t n_feat, n_ctx;        /* of the index it was estimated from */
    double D[NGLM_MAX_ORDER + 1][4];      /* D[m][j]: discount of m-grams, j = 1..3 */
    uint64_t n_adj[NGLM_MAX_ORDER + 1][5]; /* n_adj[m][j]: m-grams with adjusted count j */
    int fallback_used[NGLM_MAX_ORDER + 1]; /* 1: order m took opt->fallback_d */
    uint64_t count[NGLM_MAX_ORDER + 1];    /* m-grams listed (after pruning) */
    double *lnp;                 /* (n_feat) ln P(w | c) of feature (c, w); NAN when
                                  * pruned; 0 for <s> (never predicted) */
    double *lnbo;                /* (n_ctx) ln γ(c) of context c */
    uint32_t *adj;               /* (n_feat) adjusted counts */
} nglm_kn;

/* Estimates kn from F (see the file comment).  Fails on an index that was
 * not built with every cutoff 1 or that has skip-grams, on bad options, on
 * an order with no n-grams at all, and on discounts that cannot be
 * estimated (without fallback), saying which order and why. */
int nglm_kn_estimate(nglm_kn *kn, const nglm_features *F, const nglm_kn_options *opt,
                     nglm_error *err);

void nglm_kn_free(nglm_kn *kn);

/* The feature of the n-gram words[0..k-1] (oldest first, k = 1..order), or
 * -1 if F does not hold it.  words[0] may be <s>. */
int32_t nglm_kn_find(const nglm_features *F, const int32_t *words, int k);

/* log10 P(w | c) and log10 back-off weight (0 when the n-gram is not a
 * context) of the n-gram words[0..k-1]; returns 1 if it is listed, 0 if not
 * (pruned or never seen: *logp10 and *bow10 untouched). */
int nglm_kn_lookup(const nglm_kn *kn, const nglm_features *F, const int32_t *words, int k,
                   double *logp10, double *bow10);

/* ln P(sent[i] | <s> sent[0..i-1]) by the back-off rule: the longest listed
 * n-gram ending in sent[i], times the back-off weights of the longer
 * suffixes of the history.  i indexes sent, whose last id is NGLM_EOS. */
double nglm_kn_lnprob(const nglm_kn *kn, const nglm_features *F, const int32_t *sent, size_t i);

/* The perplexity of c under kn: exp(−Σ ln P / tokens) over every word and
 * </s>, by nglm_kn_lnprob. */
double nglm_kn_perplexity(const nglm_kn *kn, const nglm_features *F, const nglm_corpus *c);

/* The order among lo..hi (1 <= lo <= hi <= F->order) whose Kneser-Ney
 * model, estimated with opt from F's view of that order
 * (nglm_features_ngram_view), has the lowest perplexity on valid; the
 * lower order on a tie.  ppl[k] receives order k's perplexity (ppl holds
 * hi + 1 entries); best, if not NULL, that order's estimate (to free with
 * nglm_kn_free; it belongs to the view, or to any index of that order
 * counted from the same text).  Returns the order, or -1 if an estimate
 * fails. */
int nglm_kn_best_order(const nglm_features *F, const nglm_corpus *valid, int lo, int hi,
                       const nglm_kn_options *opt, double *ppl, nglm_kn *best,
                       nglm_error *err);

/* Writes kn as an ARPA file to path ("-": stdout; gzip when the name ends
 * in ".gz"), through a temporary file renamed over path (a failed write
 * leaves an existing file as it was).  Log10 values with 8 significant
 * digits, as lmplz writes them.  When tok (may be NULL) is not the default
 * tokenization, a comment line before \data\ says how the text was
 * tokenized (nglm_arpa_tok reads it back).  threads <= 0: 1. */
int nglm_kn_save_arpa(const nglm_kn *kn, const nglm_features *F, const nglm_vocab *v,
                      const nglm_tok_options *tok, const char *path, int threads,
                      nglm_error *err);

/* The exact conversion to softmax weights, the reverse of the ARPA export
 * (doc/model.md §6): theta[w] = ln P(w), and for a feature (c, w) with |c| ≥ 1,
 * theta = ln P(w | c) − ln P(w | c⁻) − ln γ(c); 0 for a pruned n-gram.
 * With these weights nglm's model gives exactly kn's probabilities, since
 * Z(c) = 1 / Π_j γ(c_j).  theta holds F->n_feat entries (theta[<s>] = 0).
 * Fails if some γ(c) is 0 (possible only with a fallback discount of 0),
 * which no finite weight can express. */
int nglm_kn_to_weights(const nglm_kn *kn, const nglm_features *F, double *theta,
                       nglm_error *err);

/* The same weights laid out on G, an index of kn's listed n-grams only: F
 * (kn's own index) counted again with the cutoffs prune[m] + 1, maybe with
 * skip-gram templates added (their weights are 0).  Its n-gram features are
 * then kn's listed n-grams in the same order, which is checked (fails if G
 * is another index).  theta holds G->n_feat entries. */
int nglm_kn_weights_for(const nglm_kn *kn, const nglm_features *F, const nglm_features *G,
                        double *theta, nglm_error *err);

#ifdef __cplusplus
}
#endif
#endif
