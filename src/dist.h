/*
 * dist.h — the few collective operations data-parallel training needs across
 * MPI ranks (./configure --with-mpi), in one place; internal to libnglm
 * (starting MPI and the ranks are public: nglm/dist.h).  Nothing else
 * calls MPI.
 *
 * Without MPI (or in a program that did not call nglm_dist_init) there is
 * one rank, rank 0, and every operation is a no-op.  Every operation is
 * collective: all ranks call it in the same order with the same counts.
 * Reductions are exact by construction: integer sums (the fixed-point
 * accumulators of doc/model.md §3) and the merge of arrays in which
 * every entry has exactly one owning rank (a bitwise OR of the owner's bits
 * with the others' zeros), so the result never depends on the order in
 * which MPI combines the ranks.
 */
#ifndef NGLM_DIST_H
#define NGLM_DIST_H

#include <stddef.h>
#include <stdint.h>

#include "nglm/dist.h"

/* x[i] = Σ over ranks of x[i], in place. */
void nglm_dist_sum_i64(int64_t *x, size_t n);

/* Arrays of n elements of elem_size bytes (4 or 8) in which each entry is
 * non-zero on at most one rank: every rank gets the owner's bits (a bitwise
 * OR), exactly, for any type (-0.0 and NaN included). */
void nglm_dist_merge(void *x, size_t n, size_t elem_size);

/* The largest x over the ranks. */
int nglm_dist_max_int(int x);

/* Rank 0's bytes to every rank. */
void nglm_dist_bcast(void *x, size_t bytes);

#endif
