/*
 * nglm/features.h — the feature index: which n-gram features exist, and the
 * layout the hot loops walk (doc/model.md §1–2).
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
 * inside an order by (parent, oldest word), so the children of a context
 * are contiguous and sorted by word.  A context c of length k is found from
 * c⁻ (its parent, length k-1) and its oldest word by a binary search among
 * c⁻'s children (child_first); length-1 contexts by a direct array.  (A hash
 * table of (parent, word) took about 42 bytes a context against 4, and was
 * no faster to look up: bench/RESULTS.md.)  Because cutoffs are non-decreasing in the order, the set
 * is closed under suffixes: (c, w) present ⇒ (c⁻, w) present, which makes
 * feat_back total and succ(c) ⊆ succ(c⁻).
 *
 * A history never holds more than one <s>: contexts stop at the sentence
 * start, as in ARPA models.
 *
 * Skip-gram features (optional, doc/model.md §2 "Other feature
 * templates") pair the word v at distance d >= 2 (<s> when that position is
 * just before the sentence) with the predicted word w, ignoring the words in
 * between.  They follow the n-gram features in the feature arrays:
 *
 *   features n_ngram_feat .. n_feat-1   skip-grams, template by template
 *   skip_first[i][v] .. skip_first[i][v+1]-1
 *                                       the successors of v for template i
 *                                       (distance skip_dist[i]), sorted by w
 *   feat_back                           -1 (skip-grams do not nest)
 */
#ifndef NGLM_FEATURES_H
#define NGLM_FEATURES_H

#include <stddef.h>
#include <stdint.h>

#include "nglm/corpus.h"
#include "nglm/error.h"
#include "nglm/progress.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NGLM_MAX_ORDER 10
#define NGLM_MAX_SKIP 4

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

    size_t n_ngram_feat;       /* features below this are unigrams and n-grams */
    int n_skip;                /* skip-gram templates */
    int skip_dist[NGLM_MAX_SKIP];
    uint32_t skip_cutoff;      /* minimum count of a skip-gram feature */
    uint32_t *skip_first[NGLM_MAX_SKIP]; /* V + 1 offsets each */

    int32_t *ctx1;             /* V entries: length-1 context of a word, or -1 */
    uint32_t *child_first;     /* n_ctx + 1 entries: the contexts extending x by an
                                * older word are child_first[x] .. child_first[x+1]-1,
                                * sorted by that word (binary search); NULL in a
                                * mapped model (nglm_features_tables) */
    struct nglm_blocks *blocks; /* a mapped model's block checksums, verified on
                                 * first use (src/blocks.h); NULL otherwise */
} nglm_features;

/* How counting runs (src/count.h): on `threads` threads, with at most about
 * `memory` bytes of counting buffers; (context, word) records beyond that
 * are sorted and spilled to temporary files in temp_dir, then merged.  The
 * index built does not depend on these settings. */
typedef struct nglm_count_opts {
    int threads;          /* <= 0: 1 */
    size_t memory;        /* 0: NGLM_COUNT_MEMORY_DEFAULT */
    const char *temp_dir; /* NULL: $TMPDIR, or /tmp if unset */
    const nglm_progress *progress; /* NULL, or told k·n_tokens of (order-1)·n_tokens
                                    * after the pass over the contexts of length k */
} nglm_count_opts;

#define NGLM_COUNT_MEMORY_DEFAULT ((size_t)1 << 30) /* 1 GiB */

/* Counts the n-grams of c and builds the index.  cutoff may be NULL (all
 * 1s); cutoff[m] applies to m-grams (m = 2..order) and must be
 * non-decreasing in m.  order must be 1..NGLM_MAX_ORDER.  Counts on
 * `threads` threads with the default memory budget. */
int nglm_features_build(nglm_features *F, const nglm_corpus *c, int32_t V, int order,
                        const uint32_t *cutoff, int threads, nglm_error *err);

/* The same, with the counting options spelled out (opt NULL: defaults). */
int nglm_features_build_with(nglm_features *F, const nglm_corpus *c, int32_t V, int order,
                             const uint32_t *cutoff, const nglm_count_opts *opt,
                             nglm_error *err);

/* Adds skip-gram templates at the given distances (each 2 .. order+2,
 * distinct) after the n-gram features: pairs (word d back, word) seen at
 * least cutoff times in c. */
int nglm_features_add_skips(nglm_features *F, const nglm_corpus *c, int n_skip,
                            const int *dist, uint32_t cutoff, nglm_error *err);
int nglm_features_add_skips_with(nglm_features *F, const nglm_corpus *c, int n_skip,
                                 const int *dist, uint32_t cutoff,
                                 const nglm_count_opts *opt, nglm_error *err);

/* The word at distance d before position i of sent (<s> for position -1),
 * or -1 if the sentence starts later. */
static inline int32_t nglm_features_skip_word(const int32_t *sent, size_t i, int d)
{
    long pos = (long)i - d;
    return pos >= 0 ? sent[pos] : (pos == -1 ? 0 /* NGLM_BOS */ : -1);
}

/* Skip-gram feature (template t, word v, predicted w) or -1. */
int32_t nglm_features_find_skip(const nglm_features *F, int t, int32_t v, int32_t w);

/* Rebuilds the lookup tables (ctx1, child_first) from the arrays; used after
 * loading a model file.  Validates the arrays (ranges, sortedness, suffix
 * closure) and fails with a message if they are inconsistent. */
int nglm_features_index(nglm_features *F, nglm_error *err);

/* Builds only the lookup tables, checking only what they rely on: the
 * context order table and the words of the length-1 contexts (ctx1), and
 * with `children` every parent within the contexts one shorter and
 * non-decreasing inside a length (child_first).  Without `children`,
 * child_first is NULL (the mapped loader may then point it at the file's
 * CHILDREN table) and nglm_features_child searches the next length's
 * contexts instead; either way it checks what it finds, so nothing of
 * ctx_parent is read at load time.  The mapped loader's part of nglm_features_index
 * (src/modelfile.c checks the successor ranges and feature words that the
 * other lookups follow). */
int nglm_features_tables(nglm_features *F, int children, nglm_error *err);

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

/* For every n-gram feature f = (c, w), the context whose words are those of
 * the n-gram "c w" (the n-gram read as a history), or -1 when it is not a
 * context (named has n_ngram_feat entries).  This is where an ARPA file
 * writes a context's back-off weight.  Returns how many features name a
 * context: n_ctx when the index is closed under prefixes, as built. */
size_t nglm_features_named_contexts(const nglm_features *F, int32_t *named, int threads);

/* Length of context k (1 .. order-1). */
int nglm_features_ctx_len(const nglm_features *F, int32_t k);

/* A view of F's n-grams up to `order` (1 .. F->order) without its
 * skip-grams: the same arrays, read only as far as an index of that order
 * built from the same text with the same cutoffs would hold them (its
 * features, counts and contexts are those of such an index, in the same
 * places).  Nothing to free; valid while F is. */
nglm_features nglm_features_ngram_view(const nglm_features *F, int order);

/* Bytes held by the index (for reports). */
size_t nglm_features_bytes(const nglm_features *F);

#ifdef __cplusplus
}
#endif
#endif
