/*
 * nglm/entprune.h — relative-entropy pruning of a back-off model (Stolcke
 * 1998, the criterion of SRILM's `ngram -prune`), internal to libnglm:
 * nglm-prune is its program, tests/check_entprune.c tests it against a
 * slow reference.  The criterion and the back-off recomputation are
 * defined in doc/model.md §9.
 *
 * A model read from an ARPA file (nglm_arpa_load) is prepared once: every
 * n-gram of order >= 2 gets its criterion, the relative increase of the
 * model's perplexity that removing it alone would cause, exp(ΔH) − 1,
 * where ΔH is the relative entropy between the model and the model without
 * it, summed over its own context only and weighted by that context's
 * probability under the model itself.  Every criterion is computed on the
 * unpruned model, so pruning at θ keeps exactly the n-grams whose
 * criterion is >= θ, the 1-grams, and the n-grams that are the context of
 * a kept longer one (ARPA needs every context listed); a count of kept
 * n-grams is then a count over sorted numbers, and the θ for a target
 * count a binary search over them.
 *
 * Applying a θ removes the n-grams and recomputes every back-off weight
 * exactly, shortest contexts first, so that each context's distribution
 * sums to one over the vocabulary: bow(h) = (1 − Σ p(w|h)) / (1 − Σ
 * p_bo(w|h⁻)), both sums over the words listed after h.
 *
 * The file must list every n-gram's context (its words but the last), as
 * the files of KenLM, SRILM's unpruned ones and nglm's do; one that does
 * not is refused, since its distributions do not sum to one to begin with.
 */
#ifndef NGLM_ENTPRUNE_H
#define NGLM_ENTPRUNE_H

#include <stddef.h>
#include <stdint.h>

#include "nglm/arpa.h"
#include "nglm/corpus.h"
#include "nglm/error.h"

/* A back-off model prepared for pruning (opaque). */
typedef struct nglm_entprune nglm_entprune;

/* Reads the n-grams of a (which must outlive the result) and computes
 * every criterion, with each context's probability p(h) from the model
 * itself (text NULL, as SRILM) or from its relative frequency as a history
 * in text (read with nglm_arpa_vocab(a)): the number of tokens that follow
 * h's words, over the tokens; Kneser-Ney's lower orders, estimated from
 * continuation counts, are poor estimates of p(h) (Chelba et al. 2010).
 * NULL and err on failure (an incomplete back-off structure, out of
 * memory). */
nglm_entprune *nglm_entprune_new(const nglm_arpa *a, const nglm_corpus *text, nglm_error *err);

void nglm_entprune_free(nglm_entprune *p);

/* The model's order, its listed n-grams (all orders) and listed 1-grams
 * (never pruned). */
int nglm_entprune_order(const nglm_entprune *p);
uint64_t nglm_entprune_total(const nglm_entprune *p);
uint64_t nglm_entprune_unigrams(const nglm_entprune *p);

/* From now on a θ also keeps the suffix (the words but the first) of every
 * kept n-gram, so that the result is closed under suffixes as well, as
 * nglm's model format needs (nglm_arpa_to_model); for a model that was
 * closed under suffixes. */
int nglm_entprune_keep_suffixes(nglm_entprune *p, nglm_error *err);

/* Number of n-grams kept when pruning at theta (> 0). */
uint64_t nglm_entprune_count(const nglm_entprune *p, double theta);

/* The largest θ that keeps at least target n-grams (unigrams <= target
 * < total), found by binary search over the sorted criteria; *kept (if
 * not NULL) gets the count at that θ (above target only where several
 * n-grams share the criterion at the cut). */
double nglm_entprune_threshold_for(const nglm_entprune *p, uint64_t target, uint64_t *kept);

/* Prunes at theta (> 0) and recomputes the back-off weights; may be
 * called again with another theta (each starts from the unpruned model). */
int nglm_entprune_apply(nglm_entprune *p, double theta, nglm_error *err);

/* Number of kept n-grams of order k (after nglm_entprune_apply; before it,
 * the listed ones). */
uint64_t nglm_entprune_kept(const nglm_entprune *p, int k);

/* Writes the model as it stands (pruned, or unpruned before any apply) in
 * ARPA format with `digits` significant digits (1..17) to path ("-" =
 * stdout; gzip when it ends in ".gz"), replaced atomically (fileio.h). */
int nglm_entprune_save(const nglm_entprune *p, const char *path, int digits, nglm_error *err);

/* ---------------------------------------------------------------- for tests
 *
 * The listed n-grams are numbered 0 .. nglm_entprune_nodes() − 1 (with
 * gaps: some numbers are words that are not listed, *len 0). */
size_t nglm_entprune_nodes(const nglm_entprune *p);

/* The n-gram number x: its words oldest first into words (room for the
 * order) and its length into *len (0: not listed); its log10 probability
 * and log10 back-off weight as read; its criterion (NAN for 1-grams and
 * n-grams not listed); whether the current model keeps it. */
void nglm_entprune_ngram(const nglm_entprune *p, size_t x, int32_t *words, int *len,
                         double *logp10, double *bow10, double *criterion, int *kept);

/* The current model's log10 P(w | context), context the k words ctx[0..k)
 * oldest first (any words: the back-off rule finds the longest listed
 * suffix). */
double nglm_entprune_logprob10(const nglm_entprune *p, const int32_t *ctx, int k, int32_t w);

/* The current log10 back-off weight of n-gram x (0 when it has no kept
 * longer n-grams). */
double nglm_entprune_bow10(const nglm_entprune *p, size_t x);

#endif
