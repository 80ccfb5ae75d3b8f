/*
 * features_ref.h — the slow, obviously correct references of the feature
 * index's counting (src/features.c), for the tests: the fast counting of
 * nglm/features.h must agree with these bit for bit.  Not installed: they
 * are not part of nglm's API.
 */
#ifndef NGLM_FEATURES_REF_H
#define NGLM_FEATURES_REF_H

#include "nglm/features.h"

/* The same index by a hash-map count (one thread, all in memory). */
int nglm_features_build_reference(nglm_features *F, const nglm_corpus *c, int32_t V,
                                  int order, const uint32_t *cutoff, nglm_error *err);
int nglm_features_add_skips_reference(nglm_features *F, const nglm_corpus *c, int n_skip,
                                      const int *dist, uint32_t cutoff, nglm_error *err);

#endif
