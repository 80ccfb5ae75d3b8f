/*
 * nglm/rng.h — nglm's one pseudo-random number generator: xoshiro256**
 * (Blackman & Vigna) seeded through splitmix64, for sampling sentences
 * (nglm/sample.h) and synthetic corpora (nglm/gen.h).  A seed gives the
 * same numbers on every platform, and no global state is touched.
 */
#ifndef NGLM_RNG_H
#define NGLM_RNG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* xoshiro256** state; never all zero once seeded; plain, so it can be
 * copied. */
typedef struct nglm_rng {
    uint64_t s[4];
} nglm_rng;

/* Seeds the state from one 64-bit seed by splitmix64 (any seed is fine). */
void nglm_rng_seed(nglm_rng *r, uint64_t seed);

/* The next 64 random bits. */
uint64_t nglm_rng_next(nglm_rng *r);

/* A uniform double in [0, 1) with 53 random bits. */
double nglm_rng_uniform(nglm_rng *r);

#ifdef __cplusplus
}
#endif
#endif
