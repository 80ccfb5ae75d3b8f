/*
 * nglm/cache.h — a cache of the recent past of the text being scored,
 * mixed in exactly (Kuhn & De Mori's cache model; doc/model.md §7).
 *
 * The text is read in order, across sentence boundaries; an empty sentence
 * (a blank line, as nglm-eval reads texts), or one holding only the
 * spec's reset_word (which is then not a cache word), starts the cache
 * afresh.  For
 * the token w_t after history h, with v = w_{t-1} the word before it:
 *
 *   P(w | h) = (1 − λ1 − λ2) P_model(w | h) + λ1 C1(w) + λ2 C2(w | v)
 *
 *   C1(w)     the unigram cache: the share of w among the words before t,
 *             either the last `length` of them (WINDOW) or all of them
 *             weighted by exp(−age / length) (DECAY, age in words);
 *   C2(w | v) the bigram cache (optional): the decayed share of w among the
 *             words that followed v before t (decay length bigram_length);
 *
 * where "words" are all tokens but </s> (and <s>, never a token).  Where a
 * cache has nothing yet (C1 at the start, C2 when v has not been seen, or v
 * is the sentence start) it falls back on the next: C2 on C1, C1 on
 * P_model.  Each term is a distribution over the vocabulary, so P(· | h)
 * sums to one, exactly, for every history; </s> gets only its model share.
 *
 * The model's part comes in as per-token log10 probabilities of the text
 * (NAN: a token the model skipped, left as it is; -INFINITY: a zero
 * probability, which a cache may lift), so any model, an ARPA file or a
 * mixture, takes a cache the same way.
 */
#ifndef NGLM_CACHE_H
#define NGLM_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "nglm/corpus.h"
#include "nglm/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum nglm_cache_kind {
    NGLM_CACHE_WINDOW = 1,
    NGLM_CACHE_DECAY = 2
} nglm_cache_kind;

typedef struct nglm_cache_spec {
    nglm_cache_kind kind;   /* the unigram cache */
    double length;          /* WINDOW: words kept (an integer >= 1); DECAY: decay
                             * length in words (> 0) */
    double bigram_length;   /* 0: no bigram cache; else its decay length (> 0) */
    double lambda;          /* λ1 */
    double bigram_lambda;   /* λ2 (0 without a bigram cache); λ1 + λ2 <= 1 */
    int32_t reset_word;     /* > 0: a sentence of this word alone (a document
                             * boundary such as "<doc>") empties the caches as
                             * a blank line does; 0: none */
} nglm_cache_spec;

/* Parses "decay:L", "window:N", either followed by ",bigram:L" (the
 * weights are left 0).  Fails with a message naming what is wrong. */
int nglm_cache_parse(const char *s, nglm_cache_spec *spec, nglm_error *err);

/* "decay:100,bigram:200" (buf holds n bytes; returns buf). */
const char *nglm_cache_name(const nglm_cache_spec *spec, char *buf, size_t n);

/* The caches' probabilities of every token of c (ids < V) in reading
 * order: c1[t] = C1(w_t), c2[t] = C2(w_t | w_{t-1}), each NAN where that
 * cache falls back (see above); c2 may be NULL without a bigram cache.
 * Fails on a bad spec or when out of memory. */
int nglm_cache_probs(const nglm_cache_spec *spec, const nglm_corpus *c, int32_t V, double *c1,
                     double *c2, nglm_error *err);

/* The same, a sentence at a time, for a text that comes in pieces (the
 * Python module's cache scorer): a state holds the caches of the sentences
 * read so far.  nglm_cache_state_sentence gives the caches' probabilities
 * of the len tokens of sent (the last one </s>, ids < V) into c1 and c2
 * (NULL without a bigram cache), then adds its words, exactly as
 * nglm_cache_probs does for that sentence of the whole text; an empty
 * sentence (or the reset word alone) empties the caches.  Reset: as at
 * the start. */
typedef struct nglm_cache_state nglm_cache_state;

nglm_cache_state *nglm_cache_state_new(const nglm_cache_spec *spec, int32_t V,
                                       nglm_error *err);
int nglm_cache_state_sentence(nglm_cache_state *st, const int32_t *sent, size_t len,
                              double *c1, double *c2, nglm_error *err);
int nglm_cache_state_reset(nglm_cache_state *st, nglm_error *err);
void nglm_cache_state_free(nglm_cache_state *st);

/* out[t] = log10 P of token t with the cache (the formula above), from the
 * model's lp10[t] and the caches' c1[t], c2[t] (c2 may be NULL). */
void nglm_cache_mix(const nglm_cache_spec *spec, const double *lp10, const double *c1,
                    const double *c2, size_t n, double *out);

/* The two steps above at once, in place: lp10 (c->n_tokens, the model's
 * log10 probabilities of c) becomes the cache's mixture. */
int nglm_cache_apply(const nglm_cache_spec *spec, const nglm_corpus *c, int32_t V, double *lp10,
                     nglm_error *err);

/* The weights λ1 (and λ2 with a bigram cache) that maximise the likelihood
 * of n held-out tokens, by EM from 0.1 each (each step raises the
 * likelihood, which is concave in the weights); into spec.  Tokens the
 * model skipped are left out.  *iterations: updates made. */
int nglm_cache_em(nglm_cache_spec *spec, const double *lp10, const double *c1, const double *c2,
                  size_t n, double tol, int max_iter, int *iterations, nglm_error *err);

/* --cache auto: the kind, length and weights, of a fixed set of candidates
 * (DECAY 25..800 and WINDOW 100..1000, each with and without a bigram
 * cache of decay 100..1000), that give the held-out text c (ids < V, model
 * log10 probabilities lp10) the lowest perplexity, weights by EM; the
 * reset_word given in *best is kept and used.  *ppl: that perplexity (over
 * the tokens the model scored). */
int nglm_cache_choose(const nglm_corpus *c, int32_t V, const double *lp10,
                      nglm_cache_spec *best, double *ppl, nglm_error *err);

#ifdef __cplusplus
}
#endif
#endif
