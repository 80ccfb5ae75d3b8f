/*
 * u64map.h — an open-addressing hash map from uint64_t keys to int64_t
 * values, for the integer-keyed tables of the hot paths (n-gram counting and
 * context lookup), where uthash's per-entry allocation would dominate.
 *
 * Linear probing in a power-of-two table, kept at most half full.  The key
 * UINT64_MAX is reserved as "empty".  Internal to libnglm.
 */
#ifndef NGLM_U64MAP_H
#define NGLM_U64MAP_H

#include <stdint.h>
#include <stdlib.h>

#define U64MAP_EMPTY UINT64_MAX

typedef struct u64map {
    uint64_t *keys;
    int64_t *vals;
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

/* Returns 0, or -1 when out of memory. */
static inline int u64map_init(u64map *m, size_t expected)
{
    size_t cap = 16;
    while (cap < 2 * expected)
        cap <<= 1;
    m->keys = malloc(cap * sizeof *m->keys);
    m->vals = malloc(cap * sizeof *m->vals);
    if (!m->keys || !m->vals) {
        free(m->keys);
        free(m->vals);
        m->keys = NULL;
        m->vals = NULL;
        return -1;
    }
    for (size_t i = 0; i < cap; i++)
        m->keys[i] = U64MAP_EMPTY;
    m->cap = cap;
    m->size = 0;
    return 0;
}

static inline void u64map_free(u64map *m)
{
    free(m->keys);
    free(m->vals);
    m->keys = NULL;
    m->vals = NULL;
    m->cap = m->size = 0;
}

/* Slot of key, or of the empty slot where it would go. */
static inline size_t u64map_slot(const u64map *m, uint64_t key)
{
    size_t mask = m->cap - 1, i = u64map_hash(key) & mask;
    while (m->keys[i] != key && m->keys[i] != U64MAP_EMPTY)
        i = (i + 1) & mask;
    return i;
}

/* Value of key, or dflt when absent. */
static inline int64_t u64map_get(const u64map *m, uint64_t key, int64_t dflt)
{
    if (m->cap == 0)
        return dflt;
    size_t i = u64map_slot(m, key);
    return m->keys[i] == key ? m->vals[i] : dflt;
}

static inline int u64map_grow(u64map *m)
{
    u64map bigger;
    if (u64map_init(&bigger, m->cap) != 0)
        return -1;
    for (size_t i = 0; i < m->cap; i++)
        if (m->keys[i] != U64MAP_EMPTY) {
            size_t j = u64map_slot(&bigger, m->keys[i]);
            bigger.keys[j] = m->keys[i];
            bigger.vals[j] = m->vals[i];
        }
    bigger.size = m->size;
    u64map_free(m);
    *m = bigger;
    return 0;
}

/* Pointer to key's value, inserting it with value dflt if absent; NULL when
 * out of memory.  The pointer is valid until the next insertion. */
static inline int64_t *u64map_upsert(u64map *m, uint64_t key, int64_t dflt)
{
    if (2 * (m->size + 1) > m->cap && u64map_grow(m) != 0)
        return NULL;
    size_t i = u64map_slot(m, key);
    if (m->keys[i] != key) {
        m->keys[i] = key;
        m->vals[i] = dflt;
        m->size++;
    }
    return &m->vals[i];
}

#endif
