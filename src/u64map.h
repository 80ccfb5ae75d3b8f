/*
 * u64map.h — an open-addressing hash map from uint64_t keys to int64_t
 * values, for the integer-keyed tables of the hot paths (n-gram counting and
 * context lookup), where uthash's per-entry allocation would dominate.
 *
 * Linear probing in a power-of-two table, kept at most three quarters full.  The key
 * UINT64_MAX is reserved as "empty".  Keys and values are stored side by
 * side, so that a lookup in a table far larger than the caches costs one
 * cache miss, not two (reading an ARPA file is such lookups, one a line).
 * Internal to libnglm.
 */
#ifndef NGLM_U64MAP_H
#define NGLM_U64MAP_H

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#define U64MAP_EMPTY UINT64_MAX

typedef struct u64map_entry {
    uint64_t key;
    int64_t val;
} u64map_entry;

typedef struct u64map {
    u64map_entry *e;
    size_t cap;  /* power of two */
    size_t size;
} u64map;

static inline uint64_t u64map_hash(uint64_t k)
{
    /* splitmix64 finaliser: good avalanche for packed (id, word) keys */
    k ^= k >> 30;
    k *= 0xbf58476d1ce4e5b9ull;
    k ^= k >> 27;
    k *= 0x94d049bb133111ebull;
    k ^= k >> 31;
    return k;
}

/* A table of more than 32 MiB is asked for in huge pages (where the system
 * gives them on request, as transparent_hugepage=madvise does): a lookup is
 * then one cache miss without a TLB miss in front of it. */
static inline void *u64map_alloc(size_t bytes)
{
#if defined(MADV_HUGEPAGE)
    size_t huge = (size_t)2 << 20;
    if (bytes >= 16 * huge) {
        void *p = aligned_alloc(huge, (bytes + huge - 1) / huge * huge);
        if (p)
            madvise(p, bytes, MADV_HUGEPAGE);
        return p;
    }
#endif
    return malloc(bytes);
}

/* Returns 0, or -1 when out of memory. */
static inline int u64map_init(u64map *m, size_t expected)
{
    size_t cap = 16;
    while (3 * cap < 4 * expected)
        cap <<= 1;
    m->e = u64map_alloc(cap * sizeof *m->e);
    if (!m->e)
        return -1;
    for (size_t i = 0; i < cap; i++)
        m->e[i].key = U64MAP_EMPTY;
    m->cap = cap;
    m->size = 0;
    return 0;
}

static inline void u64map_free(u64map *m)
{
    free(m->e);
    m->e = NULL;
    m->cap = m->size = 0;
}

/* Slot of key, or of the empty slot where it would go. */
static inline size_t u64map_slot(const u64map *m, uint64_t key)
{
    size_t mask = m->cap - 1, i = u64map_hash(key) & mask;
    while (m->e[i].key != key && m->e[i].key != U64MAP_EMPTY)
        i = (i + 1) & mask;
    return i;
}

/* Value of key, or dflt when absent. */
static inline int64_t u64map_get(const u64map *m, uint64_t key, int64_t dflt)
{
    if (m->cap == 0)
        return dflt;
    size_t i = u64map_slot(m, key);
    return m->e[i].key == key ? m->e[i].val : dflt;
}

static inline int u64map_grow(u64map *m)
{
    u64map bigger;
    if (u64map_init(&bigger, m->cap) != 0)
        return -1;
    for (size_t i = 0; i < m->cap; i++)
        if (m->e[i].key != U64MAP_EMPTY)
            bigger.e[u64map_slot(&bigger, m->e[i].key)] = m->e[i];
    bigger.size = m->size;
    u64map_free(m);
    *m = bigger;
    return 0;
}

/* Pointer to key's value, inserting it with value dflt if absent; NULL when
 * out of memory.  The pointer is valid until the next insertion. */
static inline int64_t *u64map_upsert(u64map *m, uint64_t key, int64_t dflt)
{
    if (4 * (m->size + 1) > 3 * m->cap && u64map_grow(m) != 0)
        return NULL;
    size_t i = u64map_slot(m, key);
    if (m->e[i].key != key) {
        m->e[i].key = key;
        m->e[i].val = dflt;
        m->size++;
    }
    return &m->e[i].val;
}

#endif
