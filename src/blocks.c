/*
 * blocks.c — CRC-32C and the verify-on-first-use of a mapped model's
 * blocks (see blocks.h).  CRC-32C rather than zlib's CRC-32 because x86's
 * SSE 4.2 computes it in hardware, eight bytes an instruction, so that
 * verifying the blocks a query touches costs little next to reading them.
 */
#include "blocks.h"

#include <stdlib.h>
#include <string.h>

#define CRC32C_POLY 0x82f63b78u /* reflected Castagnoli polynomial */

uint32_t nglm_crc32c_ref(uint32_t crc, const void *p, size_t n)
{
    const unsigned char *b = p;
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= b[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (CRC32C_POLY & (0u - (crc & 1)));
    }
    return ~crc;
}

/* Slicing by 8: eight tables, built once. */
static uint32_t sw_table[8][256];

static void sw_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (CRC32C_POLY & (0u - (c & 1)));
        sw_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            sw_table[t][i] = (sw_table[t - 1][i] >> 8) ^ sw_table[0][sw_table[t - 1][i] & 0xff];
}

static uint32_t crc_sw(uint32_t crc, const unsigned char *b, size_t n)
{
    crc = ~crc;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, b, 8);
        w ^= crc; /* little-endian: the low bytes first */
        crc = sw_table[7][w & 0xff] ^ sw_table[6][(w >> 8) & 0xff] ^
              sw_table[5][(w >> 16) & 0xff] ^ sw_table[4][(w >> 24) & 0xff] ^
              sw_table[3][(w >> 32) & 0xff] ^ sw_table[2][(w >> 40) & 0xff] ^
              sw_table[1][(w >> 48) & 0xff] ^ sw_table[0][w >> 56];
        b += 8;
        n -= 8;
    }
    while (n--)
        crc = (crc >> 8) ^ sw_table[0][(crc ^ *b++) & 0xff];
    return ~crc;
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t crc, const unsigned char *b,
                                                          size_t n)
{
    uint64_t c = ~crc;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, b, 8);
        c = __builtin_ia32_crc32di(c, w);
        b += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (n--)
        c32 = __builtin_ia32_crc32qi(c32, *b++);
    return ~c32;
}
#endif

/* 0: not chosen yet; 1: software; 2: SSE 4.2 */
static int crc_impl;

uint32_t nglm_crc32c(uint32_t crc, const void *p, size_t n)
{
    int impl = __atomic_load_n(&crc_impl, __ATOMIC_ACQUIRE);
    if (!impl) {
        impl = 1;
#if defined(__x86_64__) && defined(__GNUC__)
        __builtin_cpu_init();
        if (__builtin_cpu_supports("sse4.2"))
            impl = 2;
#endif
        if (impl == 1)
            sw_init(); /* same tables whichever thread builds them */
        __atomic_store_n(&crc_impl, impl, __ATOMIC_RELEASE);
    }
#if defined(__x86_64__) && defined(__GNUC__)
    if (impl == 2)
        return crc_hw(crc, p, n);
#endif
    return crc_sw(crc, p, n);
}

#define MF_CRC_FIELD 32 /* the header's whole-file CRC: patched after the blocks */

uint32_t nglm_blocks_crc(const unsigned char *base, size_t cover, size_t i)
{
    size_t lo = i << NGLM_BLOCK_SHIFT, hi = lo + NGLM_BLOCK_SIZE;
    if (hi > cover)
        hi = cover;
    if (lo > MF_CRC_FIELD + 4 || hi <= MF_CRC_FIELD)
        return nglm_crc32c(0, base + lo, hi - lo);
    static const unsigned char zero[4];
    uint32_t c = nglm_crc32c(0, base + lo, MF_CRC_FIELD - lo);
    c = nglm_crc32c(c, zero, 4);
    return nglm_crc32c(c, base + MF_CRC_FIELD + 4, hi - MF_CRC_FIELD - 4);
}

void nglm_blocks_verify(nglm_blocks *b, size_t i)
{
    uint32_t want;
    memcpy(&want, b->crc + 4 * i, 4);
    if (nglm_blocks_crc(b->base, b->cover, i) != want) {
        int no = 0;
        if (__atomic_compare_exchange_n(&b->bad, &no, 2, 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE)) {
            b->bad_block = i;
            __atomic_store_n(&b->bad, 1, __ATOMIC_RELEASE);
        }
    }
    __atomic_fetch_or(&b->done[i >> 6], (uint64_t)1 << (i & 63), __ATOMIC_RELEASE);
}

int nglm_blocks_check(const nglm_blocks *b, nglm_error *err)
{
    if (!b || __atomic_load_n(&b->bad, __ATOMIC_ACQUIRE) != 1)
        return 0;
    size_t lo = b->bad_block << NGLM_BLOCK_SHIFT, hi = lo + NGLM_BLOCK_SIZE;
    if (hi > b->cover)
        hi = b->cover;
    return nglm_error_set(err, "%s%sbytes %zu..%zu (block %zu of 64 KiB) are damaged: their "
                          "checksum does not match (file is corrupted)", b->path ? b->path : "",
                          b->path ? ": " : "", lo, hi - 1, b->bad_block);
}

static void sum_push(nglm_blocks_sum *s)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        uint32_t *c = realloc(s->crc, cap * sizeof *c);
        if (!c) {
            s->oom = 1;
            return;
        }
        s->crc = c;
        s->cap = cap;
    }
    s->crc[s->n++] = s->cur;
    s->cur = 0;
}

void nglm_blocks_sum_add(nglm_blocks_sum *s, const void *p, size_t n)
{
    const unsigned char *q = p;
    while (n > 0 && !s->oom) {
        size_t in_blk = (size_t)(s->pos & (NGLM_BLOCK_SIZE - 1));
        size_t k = NGLM_BLOCK_SIZE - in_blk < n ? NGLM_BLOCK_SIZE - in_blk : n;
        s->cur = nglm_crc32c(s->cur, q, k);
        q += k;
        n -= k;
        s->pos += k;
        if (in_blk + k == NGLM_BLOCK_SIZE)
            sum_push(s);
    }
}

uint32_t *nglm_blocks_sum_end(nglm_blocks_sum *s)
{
    if (!s->oom && (s->pos & (NGLM_BLOCK_SIZE - 1)))
        sum_push(s);
    if (!s->oom && !s->crc)
        s->crc = malloc(sizeof *s->crc);
    if (s->oom || !s->crc) {
        free(s->crc);
        s->crc = NULL;
    }
    return s->crc;
}
