/*
 * hash.h — FNV-1a, the one byte-string hash inside libnglm (not a security
 * boundary): id-cache keys (idcache.c), the synthetic source's spelling
 * table (gen.c) and the ARPA reader's word table (arpa.c).
 */
#ifndef NGLM_HASH_H
#define NGLM_HASH_H

#include <stddef.h>
#include <stdint.h>

#define NGLM_FNV_OFFSET 14695981039346656037ULL

/* h folded with the n bytes at p; start from NGLM_FNV_OFFSET. */
static inline uint64_t nglm_fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

#endif
