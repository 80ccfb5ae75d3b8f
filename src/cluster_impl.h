/*
 * cluster_impl.h — the exchange clustering's state, for tests: the fast
 * gain of one move (src/cluster.c) is checked against the log-likelihood
 * recomputed from scratch after the move (tests/check_cluster.c).
 * Not part of the public API.
 */
#ifndef NGLM_CLUSTER_IMPL_H
#define NGLM_CLUSTER_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "nglm/cluster.h"

typedef struct nglm_cluster_state nglm_cluster_state;

/* A state for c under the classes class_of (V entries; copied). */
nglm_cluster_state *nglm_cluster_state_new(const nglm_corpus *c, int32_t V, int n_classes,
                                           const int32_t *class_of, int threads,
                                           nglm_error *err);
void nglm_cluster_state_free(nglm_cluster_state *s);

/* The words proposed against one frozen state (1..1024, 1024 by default);
 * 1 makes the pass the plain sequential exchange. */
void nglm_cluster_state_set_block(nglm_cluster_state *s, size_t block);

/* Keeps f's table to 0..n−1 (n >= 2), as for a text of more tokens than
 * the table holds, so that the tests reach the sweeps' checked path. */
void nglm_cluster_state_limit_table(nglm_cluster_state *s, int64_t n);

/* The change of LL if word w moved to class b (0 for its own class). */
double nglm_cluster_state_delta(nglm_cluster_state *s, int32_t w, int32_t b);
/* The same, computed with w still in its class (as the threads do). */
double nglm_cluster_state_frozen_delta(nglm_cluster_state *s, int32_t w, int32_t b);
/* gain[b] = nglm_cluster_state_frozen_delta(s, w, b) for every class b
 * (C entries), computed all at once as the passes do. */
void nglm_cluster_state_gains(nglm_cluster_state *s, int32_t w, double *gain);
/* Moves w to b. */
void nglm_cluster_state_move(nglm_cluster_state *s, int32_t w, int32_t b);
/* LL from the state's class counts. */
double nglm_cluster_state_loglik(const nglm_cluster_state *s);
/* One pass over the words (as nglm_cluster_exchange runs them); returns
 * the words moved. */
size_t nglm_cluster_state_pass(nglm_cluster_state *s);
const int32_t *nglm_cluster_state_classes(const nglm_cluster_state *s);

#endif
