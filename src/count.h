/*
 * count.h — counting (hi, lo) key pairs on several threads within a memory
 * budget, by sorting, spilling sorted runs to disk and merging them (as
 * KenLM's lmplz does).  Internal to libnglm; used by features.c.
 *
 * Input: records (hi, lo) emitted by T threads, each into its own buffer,
 * with hi < 2^hi_bits and lo < 2^lo_bits.  Output: every distinct (hi, lo)
 * once, in increasing (hi, lo) order, with its number of occurrences.
 *
 * A full buffer is radix-sorted, equal records are combined, and the result
 * is appended as one sorted run to the thread's temporary file (created in
 * the temp directory and unlinked at once, so it disappears with the
 * process, even on error).  At the end the runs on disk and the sorted
 * buffers still in memory are merged with a heap.  Nothing reaches the disk
 * when the records fit in the budget.
 */
#ifndef NGLM_COUNT_H
#define NGLM_COUNT_H

#include <stddef.h>
#include <stdint.h>

#include "nglm/error.h"
#include "nglm/features.h"

typedef struct nglm_count_rec {
    uint64_t hi;
    uint32_t lo;
    uint32_t n;   /* occurrences (1 until combined) */
} nglm_count_rec;

typedef struct nglm_count_run {
    uint64_t off;  /* first record in the thread's file */
    uint64_t len;  /* records */
} nglm_count_run;

/* One thread's buffer.  rec and tmp share one allocation of 2 * cap
 * records: tmp is the radix sort's scratch. */
typedef struct nglm_count_buf {
    nglm_count_rec *rec, *tmp;
    size_t n, cap;
    int fd;                 /* run file, -1 before the first spill */
    uint64_t file_len;      /* records written */
    nglm_count_run *runs;
    size_t n_runs, runs_cap;
    int failed;
    nglm_error err;
} nglm_count_buf;

typedef struct nglm_count_src nglm_count_src;

typedef struct nglm_counter {
    int threads;
    int hi_bits, lo_bits;
    char dir[4096];
    nglm_count_buf *buf;     /* threads entries */
    nglm_count_src *src;     /* merge sources (after finish) */
    size_t n_src;
    size_t *heap, n_heap;    /* source indices, smallest (hi, lo) on top */
    uint64_t spilled;        /* records written to disk, for reports and tests */
} nglm_counter;

/* Sets up T = opt->threads buffers sharing opt->memory bytes (0: the
 * default, NGLM_COUNT_MEMORY_DEFAULT), none larger than max_per_thread
 * records (the most one thread will emit, to keep small inputs small). */
int nglm_counter_init(nglm_counter *C, const nglm_count_opts *opt, size_t max_per_thread,
                      int hi_bits, int lo_bits, nglm_error *err);

/* Starts a new count with the same buffers (no new memory is touched):
 * drops the records, runs and merge state of the last one. */
void nglm_counter_reset(nglm_counter *C, int hi_bits, int lo_bits);

/* Sorts, combines and writes thread tid's buffer as a run.  Returns -1 (and
 * sets the buffer's failed flag and err) on a write error. */
int nglm_counter_spill(nglm_counter *C, int tid);

/* Emits one (hi, lo) from thread tid (inside a parallel region: each thread
 * touches only its own buffer). */
static inline int nglm_counter_add(nglm_counter *C, int tid, uint64_t hi, uint32_t lo)
{
    nglm_count_buf *b = &C->buf[tid];
    if (b->n == b->cap && nglm_counter_spill(C, tid) != 0)
        return -1;
    nglm_count_rec *r = &b->rec[b->n++];
    r->hi = hi;
    r->lo = lo;
    r->n = 1;
    return 0;
}

/* Ends emission: reports the first thread's error, sorts the buffers left
 * in memory (in parallel) and opens the merge. */
int nglm_counter_finish(nglm_counter *C, nglm_error *err);

/* The next distinct (hi, lo) and its count: returns 1, 0 at the end, -1 on a
 * read error. */
int nglm_counter_next(nglm_counter *C, uint64_t *hi, uint32_t *lo, uint64_t *count,
                      nglm_error *err);

void nglm_counter_free(nglm_counter *C);

/* Bits needed to hold values 0 .. x. */
static inline int nglm_count_bits(uint64_t x)
{
    int b = 0;
    while (b < 64 && (x >> b) != 0)
        b++;
    return b;
}

#endif
