/*
 * nglm/sample.h — drawing sentences from a model, exactly.
 *
 * Each word is drawn from the exact distribution P(· | h) of any model
 * (nglm_lm_scorer_dist, nglm/lm.h: O(|V|) per word, fine for sampling:
 * an nglm model's dense reference, an ARPA file's back-off probability of
 * every word, a mixture's weighted sum), sharpened or
 * flattened by a temperature T: P_T(w | h) ∝ P(w | h)^(1/T).  T = 1 is the
 * model itself, T → 0 approaches the argmax, T > 1 flattens.  A sentence
 * ends at </s> (which is not returned) or after max_length words.  <s> is
 * never drawn; <unk> may be.
 *
 * Randomness comes from nglm's own PRNG (nglm/rng.h), so a seed gives the
 * same sentences on every platform (given the same floating-point results)
 * and no global state is touched.
 */
#ifndef NGLM_SAMPLE_H
#define NGLM_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include "nglm/error.h"
#include "nglm/lm.h"
#include "nglm/nglm.h"
#include "nglm/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

/* NGLM_SAMPLE_MAX_LENGTH, the default cap on the words of one sampled
 * sentence, nglm_sample_sentence and the opaque sampler of nglm_sampler_new
 * are public (nglm/nglm.h). */

/* ---------------------------------------------------------------- sampler */

typedef struct nglm_sampler {
    nglm_lm_scorer *scorer; /* owned; its model must outlive the sampler */
    int32_t V;              /* words of the model's vocabulary */
    double temperature;
    size_t max_length;
    nglm_rng rng;
    double *p;              /* |V| scratch probabilities */
    int32_t *sent;          /* max_length + 1 word ids of the sentence being drawn */
} nglm_sampler;

/* Prepares a sampler over lm's vocabulary (a model that scores whole texts
 * only, a cache, has none).  temperature must be finite and > 0;
 * max_length >= 1.  On failure s is left all zero (nglm_sampler_free is
 * harmless). */
int nglm_sampler_init(nglm_sampler *s, const nglm_lm *lm, double temperature,
                      size_t max_length, uint64_t seed, nglm_error *err);

void nglm_sampler_free(nglm_sampler *s);

/* Fills p[0..V-1] with the tempered distribution P_T(w | <s> sent[0..i-1])
 * (p[<s>] = 0) of the scorer's model; temperature > 0; sent must have room
 * for an id at i (scratch, left as it was). */
void nglm_sample_dist(nglm_lm_scorer *s, int32_t *sent, size_t i, double temperature,
                      double *p);

/* Draws one sentence: *words points to its *n_words ids (</s> not
 * included), valid until the next call or nglm_sampler_free. */


#ifdef __cplusplus
}
#endif
#endif
