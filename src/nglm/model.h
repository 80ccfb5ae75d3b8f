/*
 * nglm/model.h — the softmax n-gram model: a vocabulary, a feature index and
 * one weight per feature, with exact probabilities (doc/model.md,
 * doc/model.md §1–2).
 *
 *   s(h, w) = Σ_j θ(h_j, w) over the features (h_j, w) that exist
 *   P(w | h) = exp(s(h, w)) / Z(h),   Z(h) = Σ_{w ≠ <s>} exp(s(h, w))
 *
 * <s> is never predicted.  Every probability this module returns is exactly
 * normalised; the dense O(|V|) routine is the slow reference that the fast
 * paths are tested against.
 */
#ifndef NGLM_MODEL_H
#define NGLM_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "nglm/cache.h"
#include "nglm/corpus.h"
#include "nglm/error.h"
#include "nglm/features.h"
#include "nglm/progress.h"
#include "nglm/tokenize.h"
#include "nglm/vocab.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What produced a model; stored in the model file's header. */
typedef struct nglm_model_info {
    double l1, l2;          /* penalties used */
    double lr;              /* initial learning rate */
    uint32_t epochs;        /* epochs trained (the saved model's epoch) */
    uint32_t batch;         /* minibatch size in tokens */
    uint64_t seed;
    uint64_t train_tokens;  /* predicted tokens of the training text */
    double valid_ppl;       /* validation perplexity of the saved model, or 0 */
    uint64_t pruned;        /* zero-weight features removed at save time */
} nglm_model_info;

typedef struct nglm_model {
    nglm_vocab *vocab;      /* owned */
    nglm_features feat;     /* owned */
    double *theta;          /* feat.n_feat weights; theta[w] is unigram w */
    nglm_tok_options tok;   /* how text is tokenized for this model */
    nglm_model_info info;
    int has_cache;          /* cache holds the cache chosen for this model */
    nglm_cache_spec cache;  /* (nglm-train --eval-cache; nglm-eval --cache model) */
    double *lnz;            /* NULL, or the stored normalisers (n_ctx + 1): lnz[0] =
                             * ln U, lnz[1 + c] = ln Z(c) of context c (the NORMS
                             * section, doc/model.md §2); only while every
                             * skip-gram weight is 0.  Scoring then takes the
                             * back-off path; whatever changes theta or the
                             * index must free it (nglm_model_prune does) */
    int lnz_ngram;          /* lnz holds the normalisers of the n-gram part only (the
                             * NGRAM_NORMS section of a model with skip-gram weights):
                             * Z(h) = Z_ngram(h) + the skip-gram correction */
    void *map;              /* non-NULL: theta and the index's file arrays point into
                             * this read-only mapping of the model file
                             * (nglm_model_map); nglm_model_free unmaps it */
    size_t map_len;
} nglm_model;

/* Frees everything the model owns (not the struct itself). */
void nglm_model_free(nglm_model *m);

/* 0, or -1 and "PATH: bytes A..B (block N of 64 KiB) are damaged: ..."
 * when a mapped model has found a block of its file whose checksum does not
 * match (doc/model-format.md, "Block checksums").  The scoring functions
 * that take an nglm_error check it themselves; after the ones that cannot
 * (nglm_model_scorer_logprob10 returns NAN then, the sampler), call it. */
int nglm_model_check(const nglm_model *m, nglm_error *err);

/* The model's order n. */
static inline int nglm_model_order(const nglm_model *m) { return m->feat.order; }

/* Slow reference: fills p[0..V-1] with P(w | history) by computing s(h, w)
 * for every w by lookups (O(|V| · n · log)); p[<s>] = 0. */
void nglm_model_dist_dense(const nglm_model *m, const int32_t *sent, size_t i, double *p);

/* The length of the longest n-gram feature (c, w) of sent[i] given its
 * history (1: only the unigram), the order that fired; for a model
 * exported to ARPA it is the length of the n-gram the back-off rule uses. */
int nglm_model_ngram_length(const nglm_model *m, const int32_t *sent, size_t i);

/* Natural-log probability of every token of c (words and </s>), into logp
 * (c->n_tokens entries), computed exactly with the grouped algorithm of
 * src/batch.c using up to `threads` threads (0 = OpenMP default); when
 * m->lnz is set, by the back-off path (nglm_model_norms_logprob), the same
 * numbers within 1e-12. */
int nglm_model_score_corpus(const nglm_model *m, const nglm_corpus *c, double *logp,
                            int threads, nglm_error *err);
/* The same, reporting the tokens scored so far of c->n_tokens to p. */
int nglm_model_score_corpus_progress(const nglm_model *m, const nglm_corpus *c, double *logp,
                                     int threads, const nglm_progress *p, nglm_error *err);

/* ---------------------------------------------------------------- one token
 *
 * Exact log10 P of single tokens, for scoring word by word (the Python
 * module's State API) where a corpus pass would be wasted.  With a_w the sum
 * of the weights of w's features in the history (its n-gram contexts and
 * skip contexts), Z(h) = U + Σ_w exp(θ_w)·(exp(a_w) − 1) over the words w
 * with such a feature, U = Σ_{w ≠ <s>} exp(θ_w) computed once: the work per
 * token is the successors of the history's contexts, not |V|.  Agrees with
 * nglm_model_score_corpus (tests/check_model.c).
 *
 * A negative id in sent ends the history: the words before it are unknown
 * and no <s> is implied there (a history that does not start a sentence,
 * KenLM's "null context"); the contexts and skip-grams that would reach it
 * are left out, so every such history still has an exact distribution. */
typedef struct nglm_model_scorer {
    const nglm_model *m;    /* not owned; must outlive the scorer */
    double U;               /* Σ_{w ≠ <s>} exp(θ_w) */
    double *acc;            /* (V) a_w of the words in `hit`, 0 elsewhere */
    int32_t *hit;           /* (V) the words with a feature in the history */
    uint8_t *in_hit;        /* (V) 1 for the words in hit */
    double *sng;            /* (V) the n-gram part of s(h, w) − θ_w of the words in hit
                             * (nglm_model_skipnorms_logprob), 0 elsewhere */
} nglm_model_scorer;

/* Prepares a scorer for m (O(|V|)).  On failure s is left all zero. */
int nglm_model_scorer_init(nglm_model_scorer *s, const nglm_model *m, nglm_error *err);

void nglm_model_scorer_free(nglm_model_scorer *s);

/* log10 P(sent[i] | the history before it: <s> sent[0..i-1], or the words
 * after the last negative id), and in *len (may be NULL) the length of the
 * longest n-gram feature of sent[i] in that history, as
 * nglm_model_ngram_length.  sent[i] must be a word id 1 .. V-1.  Not
 * reentrant: one scorer per thread.  NAN when sent[i] or a word of the
 * history it reads is not an id of this model (>= V: ids of another
 * model), or when a damaged block of a mapped file was read
 * (nglm_model_check). */
double nglm_model_scorer_logprob10(nglm_model_scorer *s, const int32_t *sent, size_t i,
                                   int *len);

/* The same in log10 (as nglm_arpa_score_corpus gives an ARPA model's),
 * into lp10 (c->n_tokens entries); p may be NULL. */
int nglm_model_score_corpus10(const nglm_model *m, const nglm_corpus *c, double *lp10,
                              int threads, const nglm_progress *p, nglm_error *err);

/* ---------------------------------------------------------------- normalisers
 *
 * For a model whose skip-gram weights are all 0, ln Z(c) of every context
 * is fixed by the weights (doc/model.md §2, "Stored normalisers"): the
 * ARPA export writes it as back-off weights, and the model file stores it
 * (NORMS), so that a token costs the lookups along its history's chain. */

/* Non-zero skip-gram weights (0: the model is a back-off model). */
size_t nglm_model_skip_nonzero(const nglm_model *m);

/* Computes lnz[0] = ln U and lnz[1 + c] = ln Z(c) for every context
 * (n_ctx + 1 entries), and in s[f] (n_ngram_feat entries) the score
 * s(c, w) of every n-gram feature, using up to `threads` threads; the
 * result does not depend on their number.  Skip-gram weights are ignored:
 * the caller checks nglm_model_skip_nonzero.  -1 when a normaliser is not
 * a positive finite number. */
int nglm_model_norms(const nglm_model *m, double *s, double *lnz, int threads,
                     nglm_error *err);

/* The same lnz as a fresh allocation (the caller frees it), or NULL with
 * err set (out of memory, non-zero skip-gram weights, a bad normaliser). */
double *nglm_model_norms_new(const nglm_model *m, int threads, nglm_error *err);

/* The same, whatever the skip-gram weights: the normalisers of the n-gram
 * part of the model (the NGRAM_NORMS section when some are non-zero). */
double *nglm_model_ngram_norms_new(const nglm_model *m, int threads, nglm_error *err);

/* Natural-log P(sent[i] | history) of a model with skip-gram weights whose
 * m->lnz holds the n-gram part's normalisers (m->lnz_ngram):
 *   Z(h) = Z_ngram(h_d) + Σ_{w listed by h's skip contexts} e^{s_ngram(h,w)} (e^{a_w} − 1)
 * with a_w the sum of w's skip-gram weights in h: only the skip-gram
 * successor lists are walked (s's arrays mark their words).  The history is
 * read as nglm_model_scorer_logprob10 reads it (stop: the nearest position
 * with an unknown word, -1 if none; bos_known: the sentence start is known). */
double nglm_model_skipnorms_logprob(nglm_model_scorer *s, const int32_t *sent, size_t i,
                                    long stop, int bos_known, int *len);

/* Natural-log P(sent[i] | history), the history as for
 * nglm_model_scorer_logprob10, by the back-off rule over m->lnz (which
 * must be set); *len as nglm_model_ngram_length.  Ids must be < V. */
double nglm_model_norms_logprob(const nglm_model *m, const int32_t *sent, size_t i, int *len);

/* Number of non-zero weights. */
size_t nglm_model_nonzero(const nglm_model *m);

#ifdef __cplusplus
}
#endif
#endif
