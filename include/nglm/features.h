/*
 * nglm/features.h — the feature index: which n-gram features exist, and the
 * layout the hot loops walk (doc/model.md §1–2, ../shared/MODEL.md).
 *
 * Input: a training corpus (id stream), the order n and per-order count
 * cutoffs.  Output: every n-gram (c, w) seen at least cutoff[|c|+1] times,
 * arranged as a context trie with sorted successor arrays:
 *
 *   features 0 .. V-1         the unigrams; feature id == word id
 *   features V .. n_feat-1    (c, w) with |c| >= 1, grouped by context c and
 *                             sorted by w inside a group
 *   context k's successors    features ctx_first[k] .. ctx_first[k+1]-1
 *   feat_back[f]              the feature (c⁻, w) of the same word one order
 *                             lower (for |c| = 1, the unigram w itself)
 *
 * Contexts are numbered by order (all contexts of length 1 first, ...), and
 * inside an order by (parent, oldest word).  A context c of length k is found
 * from c⁻ (its parent, length k-1) and its oldest word; length-1 contexts by
 * a direct array.  Because cutoffs are non-decreasing in the order, the set
 * is closed under suffixes: (c, w) present ⇒ (c⁻, w) present, which makes
 * feat_back total and succ(c) ⊆ succ(c⁻).
 *
 * A history never holds more than one <s>: contexts stop at the sentence
 * start, as in ARPA models.
 */
#ifndef NGLM_FEATURES_H
#define NGLM_FEATURES_H

#include <stddef.h>
#include <stdint.h>

#include "nglm/corpus.h"
#include "nglm/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NGLM_MAX_ORDER 10

struct u64map;

typedef struct nglm_features {
    int order;                 /* n: contexts have length 1 .. n-1 */
    int32_t V;                 /* vocabulary size; unigram features 0..V-1 */
    uint32_t cutoff[NGLM_MAX_ORDER + 1]; /* cutoff[m] for m-grams, m >= 2 */

    size_t n_ctx;
    size_t ctx_order_start[NGLM_MAX_ORDER + 1]; /* contexts of length k: [start[k-1], start[k]) ; start[0] = 0 */
    int32_t *ctx_parent;       /* context c⁻; -1 for length-1 contexts */
    int32_t *ctx_word;         /* oldest word of c */
    uint32_t *ctx_first;       /* n_ctx + 1 offsets into the feature arrays */

    size_t n_feat;
    int32_t *feat_word;        /* predicted word */
    int32_t *feat_back;        /* (c⁻, w); for unigrams, -1 */
    uint32_t *feat_count;      /* training count of the n-gram c w */

    int32_t *ctx1;             /* V entries: length-1 context of a word, or -1 */
    struct u64map *ctx_hash;   /* (parent << 32 | word) → context, lengths >= 2 */
} nglm_features;

/* Counts the n-grams of c and builds the index.  cutoff may be NULL (all
 * 1s); cutoff[m] applies to m-grams (m = 2..order) and must be
 * non-decreasing in m.  order must be 1..NGLM_MAX_ORDER. */
int nglm_features_build(nglm_features *F, const nglm_corpus *c, int32_t V, int order,
                        const uint32_t *cutoff, int threads, nglm_error *err);

/* Rebuilds the lookup tables (ctx1, ctx_hash) from the arrays; used after
 * loading a model file.  Validates the arrays (ranges, sortedness, suffix
 * closure) and fails with a message if they are inconsistent. */
int nglm_features_index(nglm_features *F, nglm_error *err);

void nglm_features_free(nglm_features *F);

/* Context of length k+1 extending context `parent` (length k >= 1) by the
 * older word w, or -1. */
int32_t nglm_features_child(const nglm_features *F, int32_t parent, int32_t w);

/* The chain of contexts of the history before position i of a sentence
 * (sent[0..i-1] precede it; <s> is implied before sent[0]): nodes[j-1] is
 * the context of length j, for j = 1 .. depth.  Returns depth (0..order-1).
 * nodes must hold order-1 entries. */
int nglm_features_chain(const nglm_features *F, const int32_t *sent, size_t i,
                        int32_t *nodes);

/* Feature (ctx, w) or -1: binary search in succ(ctx). */
int32_t nglm_features_find(const nglm_features *F, int32_t ctx, int32_t w);

/* Length of context k (1 .. order-1). */
int nglm_features_ctx_len(const nglm_features *F, int32_t k);

/* Bytes held by the index (for reports). */
size_t nglm_features_bytes(const nglm_features *F);

#ifdef __cplusplus
}
#endif
#endif
