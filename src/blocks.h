/*
 * blocks.h — block checksums of a mapped model file, verified on first use
 * (internal to libnglm; doc/model-format.md, "Block checksums").
 *
 * A model file written by this nglm ends with a BLOCKS section: the CRC-32C
 * of every 64 KiB block of the bytes before it (the header's whole-file CRC
 * field counted as zero).  A mapped model keeps the table and a bitmap of
 * the blocks it has verified; the code that reads the file's arrays calls
 * nglm_blocks_ensure on the bytes it is about to use, which verifies each
 * block the first time (a bitmap test afterwards).  A block whose checksum
 * does not match is recorded (the first one, sticky) and the scoring
 * functions then fail with "PATH: bytes A..B (block N) are damaged"
 * instead of returning a number computed from it: a damaged byte is never
 * scored silently, while a sentence's query still reads only its own
 * blocks.  Threads may verify at once: the bitmap is set with atomics, and
 * verifying a block twice is harmless.
 */
#ifndef NGLM_BLOCKS_H
#define NGLM_BLOCKS_H

#include <stddef.h>
#include <stdint.h>

#include "nglm/error.h"

#define NGLM_BLOCK_SHIFT 16 /* 64 KiB blocks */
#define NGLM_BLOCK_SIZE ((size_t)1 << NGLM_BLOCK_SHIFT)

typedef struct nglm_blocks {
    const unsigned char *base; /* the mapping's first byte */
    size_t cover;              /* bytes covered: the offset of the BLOCKS section */
    size_t n;                  /* blocks */
    const unsigned char *crc;  /* n CRC-32C values in the mapping (4 bytes each) */
    uint64_t *done;            /* bitmap: verified (or found damaged) */
    int bad;                   /* 1 once a block failed */
    size_t bad_block;          /* the first block found damaged */
    char *path;                /* for the message */
} nglm_blocks;

/* CRC-32C (Castagnoli), with SSE 4.2's instruction when the CPU has it. */
uint32_t nglm_crc32c(uint32_t crc, const void *p, size_t n);

/* The same, one bit at a time: the reference the fast one is tested against. */
uint32_t nglm_crc32c_ref(uint32_t crc, const void *p, size_t n);

/* The checksum of block i of the file base[0..cover): CRC-32C of its bytes,
 * bytes 32..35 (the whole-file CRC field) counted as zero. */
uint32_t nglm_blocks_crc(const unsigned char *base, size_t cover, size_t i);

/* Verifies block i (sets its bit; on a mismatch records it in b->bad). */
void nglm_blocks_verify(nglm_blocks *b, size_t i);

/* Verifies the blocks holding [p, p + len) that are not yet verified;
 * bytes outside the covered part of the mapping (memory the loader made,
 * the table itself) are ignored.  Cheap when they are. */
static inline void nglm_blocks_ensure(nglm_blocks *b, const void *p, size_t len)
{
    if (!b || len == 0)
        return;
    uintptr_t lo = (uintptr_t)p, base = (uintptr_t)b->base;
    if (lo < base || lo - base >= b->cover)
        return;
    size_t off = (size_t)(lo - base), end = off + len;
    if (end > b->cover || end < off)
        end = b->cover;
    for (size_t i = off >> NGLM_BLOCK_SHIFT; i <= (end - 1) >> NGLM_BLOCK_SHIFT; i++)
        if (!(__atomic_load_n(&b->done[i >> 6], __ATOMIC_RELAXED) & ((uint64_t)1 << (i & 63))))
            nglm_blocks_verify(b, i);
}

/* The same for one element of at most 8 bytes at an address aligned to its
 * size (it never straddles two blocks): the scorers' per-lookup check, a
 * bit test once its block is verified. */
static inline void nglm_blocks_ensure1(nglm_blocks *b, const void *p)
{
    if (!b)
        return;
    size_t off = (size_t)((uintptr_t)p - (uintptr_t)b->base); /* below base: huge */
    if (off >= b->cover)
        return;
    size_t i = off >> NGLM_BLOCK_SHIFT;
    if (!(__atomic_load_n(&b->done[i >> 6], __ATOMIC_RELAXED) & ((uint64_t)1 << (i & 63))))
        nglm_blocks_verify(b, i);
}

/* The writer's side: the CRC-32C of each 64 KiB block of a stream of
 * bytes, as nglm_blocks_crc computes them on reading (the caller writes
 * zeros in bytes 32..35).  Feed the bytes in order with nglm_blocks_sum_add;
 * nglm_blocks_sum_end closes the last, partial block and returns the table
 * (s->n entries, the caller frees it), or NULL when out of memory. */
typedef struct nglm_blocks_sum {
    uint32_t *crc;
    size_t n, cap;
    uint32_t cur;  /* the block being summed */
    uint64_t pos;  /* bytes summed */
    int oom;
} nglm_blocks_sum;
void nglm_blocks_sum_add(nglm_blocks_sum *s, const void *p, size_t n);
uint32_t *nglm_blocks_sum_end(nglm_blocks_sum *s);

/* 0, or -1 and "PATH: bytes A..B (block N of 64 KiB) are damaged: its
 * checksum does not match (file is corrupted)" once a block has failed. */
int nglm_blocks_check(const nglm_blocks *b, nglm_error *err);

#endif
