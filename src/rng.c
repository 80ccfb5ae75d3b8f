/*
 * rng.c — nglm's pseudo-random number generator (see nglm/rng.h):
 * xoshiro256** seeded by splitmix64.
 */
#include "nglm/rng.h"

#include "rng.h"

void nglm_rng_seed(nglm_rng *r, uint64_t seed)
{
    /* splitmix64 never yields four zero words in a row, so the xoshiro state
     * is valid for every seed */
    for (int i = 0; i < 4; i++)
        r->s[i] = nglm_splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t nglm_rng_next(nglm_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double nglm_rng_uniform(nglm_rng *r)
{
    return (double)(nglm_rng_next(r) >> 11) * 0x1.0p-53;
}
