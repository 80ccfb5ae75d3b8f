/*
 * rng.h — splitmix64, the one seeding step behind nglm's generator
 * (nglm/rng.h) and the trainer's sentence shuffle (internal to libnglm).
 */
#ifndef NGLM_SRC_RNG_H
#define NGLM_SRC_RNG_H

#include <stdint.h>

/* The next splitmix64 output of state *x (Steele, Lea & Flood). */
static inline uint64_t nglm_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

#endif
