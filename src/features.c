/*
 * features.c — counts the n-grams of a training corpus and builds the
 * feature index of include/nglm/features.h.
 *
 * Counting goes one context length k at a time.  For every token we keep the
 * context of length k-1 found in the previous pass; extending it by the word
 * at distance k gives a candidate context of length k, and (candidate,
 * target) pairs are counted.  Pairs at or above the cutoff become features;
 * candidates with at least one feature become contexts.  Numbering is by
 * sorting (parent, word) and (context, word), so the index depends neither
 * on hash order nor on how the counting was split among threads.
 *
 * Two implementations of the count: count_pass_reference, one thread and a
 * hash map of every distinct pair (slow and obviously correct), and
 * count_pass, which the library uses: the tokens are split among threads
 * that emit ((parent, word), target) records into count.h's buffers, sorted
 * and spilled to disk beyond the memory budget; the merge then yields the
 * pairs already in (parent, word, target) order, which is the numbering
 * order, so contexts and features are appended as they stream past.
 * tests/check_count.c checks that both build the same arrays, bit for bit,
 * for any number of threads and any budget.
 */
#include "nglm/features.h"

#include "blocks.h"

#include "features_ref.h"

#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "nglm/vocab.h"
#include "count.h"
#include "u64map.h"

#define PACK(hi, lo) (((uint64_t)(uint32_t)(hi) << 32) | (uint32_t)(lo))

typedef struct {
    uint64_t key;  /* PACK(parent, word) or PACK(context, target) */
    uint32_t id;   /* candidate id, or count */
} keyed;

static int cmp_keyed(const void *a, const void *b)
{
    uint64_t x = ((const keyed *)a)->key, y = ((const keyed *)b)->key;
    return x < y ? -1 : x > y;
}

/* Grows the feature arrays to hold at least n features. */
static int reserve_features(nglm_features *F, size_t n, size_t *cap, nglm_error *err)
{
    if (n <= *cap)
        return 0;
    size_t c = *cap ? *cap : 1024;
    while (c < n)
        c *= 2;
    int32_t *w = realloc(F->feat_word, c * sizeof *w);
    if (w)
        F->feat_word = w;
    int32_t *b = realloc(F->feat_back, c * sizeof *b);
    if (b)
        F->feat_back = b;
    uint32_t *k = realloc(F->feat_count, c * sizeof *k);
    if (k)
        F->feat_count = k;
    if (!w || !b || !k)
        return nglm_error_set(err, "out of memory for %zu features", n);
    *cap = c;
    return 0;
}

static int reserve_contexts(nglm_features *F, size_t n, size_t *cap, nglm_error *err)
{
    if (n <= *cap)
        return 0;
    size_t c = *cap ? *cap : 1024;
    while (c < n)
        c *= 2;
    int32_t *p = realloc(F->ctx_parent, c * sizeof *p);
    if (p)
        F->ctx_parent = p;
    int32_t *w = realloc(F->ctx_word, c * sizeof *w);
    if (w)
        F->ctx_word = w;
    uint32_t *f = realloc(F->ctx_first, (c + 1) * sizeof *f);
    if (f)
        F->ctx_first = f;
    if (!p || !w || !f)
        return nglm_error_set(err, "out of memory for %zu contexts", n);
    *cap = c;
    return 0;
}

/* Binary search for w among the sorted words [lo, hi) (of features, or of
 * one parent's child contexts). */
static int32_t find_in(const int32_t *fw, size_t lo, size_t hi, int32_t w)
{
    size_t end = hi;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (fw[mid] < w)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (lo < end && fw[lo] == w) ? (int32_t)lo : -1;
}

int32_t nglm_features_find(const nglm_features *F, int32_t ctx, int32_t w)
{
    return find_in(F->feat_word, F->ctx_first[ctx], F->ctx_first[ctx + 1], w);
}

int32_t nglm_features_find_skip(const nglm_features *F, int t, int32_t v, int32_t w)
{
    return find_in(F->feat_word, F->skip_first[t][v], F->skip_first[t][v + 1], w);
}

/* Without child_first (a mapped model, nglm_features_tables): the children
 * of a context of length k are among the contexts of length k+1, sorted by
 * (parent, oldest word), so a binary search over that whole length finds
 * it.  The result is checked to be the asked-for child, so the search stays
 * inside the arrays and returns a true child whatever they hold (a
 * mis-sorted file makes it miss, never stray).  It must agree with the
 * child_first lookup on a valid index (tests/check_modelfile.c compares
 * mapped and loaded models). */
static int32_t child_search(const nglm_features *F, int32_t parent, int32_t w)
{
    int k = nglm_features_ctx_len(F, parent);
    if (k + 1 >= F->order)
        return -1;
    size_t lo = F->ctx_order_start[k], hi = F->ctx_order_start[k + 1], end = hi;
    uint64_t key = PACK(parent, w);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        nglm_blocks_ensure(F->blocks, F->ctx_parent + mid, sizeof *F->ctx_parent);
        nglm_blocks_ensure(F->blocks, F->ctx_word + mid, sizeof *F->ctx_word);
        if (PACK(F->ctx_parent[mid], F->ctx_word[mid]) < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < end) {
        nglm_blocks_ensure(F->blocks, F->ctx_parent + lo, sizeof *F->ctx_parent);
        nglm_blocks_ensure(F->blocks, F->ctx_word + lo, sizeof *F->ctx_word);
    }
    return lo < end && F->ctx_parent[lo] == parent && F->ctx_word[lo] == w ? (int32_t)lo : -1;
}

/* With child_first: a search among the parent's children.  The table may be
 * a mapped file's, unchecked (doc/model-format.md, "Mapped loading"), so the
 * range is cut at n_ctx and the context found must name `parent` as its
 * parent: a damaged table makes a lookup miss, never stray (the batch
 * relies on a child's parent being the context before it in the chain). */
int32_t nglm_features_child(const nglm_features *F, int32_t parent, int32_t w)
{
    if (!F->child_first)
        return child_search(F, parent, w);
    nglm_blocks_ensure1(F->blocks, F->child_first + parent);
    nglm_blocks_ensure1(F->blocks, F->child_first + parent + 1);
    uint32_t lo = F->child_first[parent], hi = F->child_first[parent + 1];
    if (hi > F->n_ctx)
        hi = (uint32_t)F->n_ctx;
    if (lo < hi)
        nglm_blocks_ensure(F->blocks, F->ctx_word + lo, (size_t)(hi - lo) * sizeof *F->ctx_word);
    int32_t x = find_in(F->ctx_word, lo, hi, w);
    if (x >= 0)
        nglm_blocks_ensure1(F->blocks, F->ctx_parent + x);
    return x >= 0 && F->ctx_parent[x] == parent ? x : -1;
}

int nglm_features_chain(const nglm_features *F, const int32_t *sent, size_t i,
                        int32_t *nodes)
{
    int depth = 0;
    int32_t node = -1;
    for (int k = 1; k < F->order; k++) {
        long pos = (long)i - k;
        if (pos < -1)
            break;
        int32_t w = pos >= 0 ? sent[pos] : NGLM_BOS;
        node = (k == 1) ? F->ctx1[w] : nglm_features_child(F, node, w);
        if (node < 0)
            break;
        nodes[depth++] = node;
        if (w == NGLM_BOS)
            break;
    }
    return depth;
}

/* The n-gram "c w" of f = (c, w) names the context whose parent is the
 * context named by back(f) = (c⁻, w) and whose oldest word is c's oldest
 * word; contexts are numbered by length, so one pass in feature order
 * suffices, parallel over the contexts of one length. */
size_t nglm_features_named_contexts(const nglm_features *F, int32_t *named, int threads)
{
    size_t n = 0;
    for (int32_t w = 0; w < F->V; w++) {
        named[w] = F->order > 1 ? F->ctx1[w] : -1;
        n += named[w] >= 0;
    }
    for (int k = 1; k < F->order; k++) {
        long lo = (long)F->ctx_order_start[k - 1], hi = (long)F->ctx_order_start[k];
        int last = k == F->order - 1; /* n-grams of the top order name nothing */
#pragma omp parallel for schedule(dynamic, 1024) reduction(+ : n) num_threads(threads > 0 ? threads : 1)
        for (long c = lo; c < hi; c++)
            for (uint32_t f = F->ctx_first[c]; f < F->ctx_first[c + 1]; f++) {
                int32_t b = named[F->feat_back[f]];
                named[f] = !last && b >= 0 ? nglm_features_child(F, b, F->ctx_word[c]) : -1;
                n += named[f] >= 0;
            }
    }
    return n;
}

/* Contexts and features are numbered by length, so an index of a lower
 * order is a prefix of every array; only the lookups that leave it
 * (child_first of its longest contexts) must not be followed, and an index
 * of order n never follows them: contexts have at most n-1 words. */
nglm_features nglm_features_ngram_view(const nglm_features *F, int order)
{
    nglm_features v = *F;
    if (order < 1 || order > F->order)
        order = F->order;
    v.order = order;
    v.n_ctx = order > 1 ? F->ctx_order_start[order - 1] : 0;
    v.n_feat = v.n_ngram_feat = order > 1 ? F->ctx_first[v.n_ctx] : (size_t)F->V;
    for (int k = order; k <= NGLM_MAX_ORDER; k++)
        v.ctx_order_start[k] = v.n_ctx;
    v.n_skip = 0;
    v.skip_cutoff = 0;
    memset(v.skip_first, 0, sizeof v.skip_first);
    return v;
}

int nglm_features_ctx_len(const nglm_features *F, int32_t k)
{
    int len = 1;
    while (len < F->order && (size_t)k >= F->ctx_order_start[len])
        len++;
    return len;
}

/* One counting pass for contexts of length k (see the file comment).
 * cur[t] holds the context of length k-1 of token t (-1: none), and on
 * return the context of length k.  The reference for count_pass. */
static int count_pass_reference(nglm_features *F, const nglm_corpus *c, int k, int32_t *cur,
                                size_t *ctx_cap, size_t *feat_cap, nglm_error *err)
{
    u64map cand, pairs;
    int rc = -1;
    keyed *cands = NULL, *kept = NULL;
    int32_t *cand2node = NULL;
    if (u64map_init(&cand, 1024) != 0)
        return nglm_error_set(err, "out of memory counting %d-grams", k + 1);
    if (u64map_init(&pairs, 1024) != 0) {
        u64map_free(&cand);
        return nglm_error_set(err, "out of memory counting %d-grams", k + 1);
    }

    /* 1. count (candidate context, target) pairs */
    for (size_t s = 0; s < c->n_sents; s++) {
        size_t len;
        const int32_t *sent = nglm_corpus_sentence(c, s, &len);
        for (size_t i = 0; i < len; i++) {
            size_t t = c->start[s] + i;
            long pos = (long)i - k;
            int32_t parent = cur[t];
            if ((k > 1 && parent < 0) || pos < -1) {
                cur[t] = -1;
                continue;
            }
            int32_t w = pos >= 0 ? sent[pos] : NGLM_BOS;
            int64_t *id = u64map_upsert(&cand, PACK(parent, w), (int64_t)cand.size);
            if (!id)
                goto oom;
            cur[t] = (int32_t)*id;
            int64_t *cnt = u64map_upsert(&pairs, PACK(*id, sent[i]), 0);
            if (!cnt)
                goto oom;
            ++*cnt;
        }
    }

    /* 2. kept pairs, and the candidates that have one */
    uint32_t cut = F->cutoff[k + 1];
    size_t n_kept = 0, n_cand = cand.size;
    unsigned char *has = calloc(n_cand ? n_cand : 1, 1);
    kept = malloc((pairs.size ? pairs.size : 1) * sizeof *kept);
    cand2node = malloc((n_cand ? n_cand : 1) * sizeof *cand2node);
    cands = malloc((n_cand ? n_cand : 1) * sizeof *cands);
    if (!has || !kept || !cand2node || !cands) {
        free(has);
        goto oom;
    }
    for (size_t i = 0; i < pairs.cap; i++)
        if (pairs.e[i].key != U64MAP_EMPTY && pairs.e[i].val >= (int64_t)cut) {
            kept[n_kept].key = pairs.e[i].key;
            kept[n_kept].id = pairs.e[i].val > UINT32_MAX ? UINT32_MAX : (uint32_t)pairs.e[i].val;
            has[pairs.e[i].key >> 32] = 1;
            n_kept++;
        }
    size_t n_new = 0;
    for (size_t i = 0; i < cand.cap; i++)
        if (cand.e[i].key != U64MAP_EMPTY && has[cand.e[i].val]) {
            /* sort key: (parent + 1, word) so the root (-1) sorts first */
            int32_t parent = (int32_t)(cand.e[i].key >> 32);
            int32_t word = (int32_t)(uint32_t)cand.e[i].key;
            cands[n_new].key = PACK(parent + 1, word);
            cands[n_new].id = (uint32_t)cand.e[i].val;
            n_new++;
        }
    free(has);
    qsort(cands, n_new, sizeof *cands, cmp_keyed);

    /* 3. number the new contexts */
    size_t base = F->n_ctx;
    if (reserve_contexts(F, base + n_new, ctx_cap, err) != 0)
        goto out;
    for (size_t i = 0; i < n_cand; i++)
        cand2node[i] = -1;
    for (size_t i = 0; i < n_new; i++) {
        int32_t node = (int32_t)(base + i);
        cand2node[cands[i].id] = node;
        F->ctx_parent[node] = (int32_t)(cands[i].key >> 32) - 1;
        F->ctx_word[node] = (int32_t)(uint32_t)cands[i].key;
    }
    F->n_ctx = base + n_new;
    F->ctx_order_start[k] = F->n_ctx;

    /* 4. the features, sorted by (context, word) */
    for (size_t i = 0; i < n_kept; i++) {
        int32_t node = cand2node[kept[i].key >> 32];
        kept[i].key = PACK(node, (uint32_t)kept[i].key);
    }
    qsort(kept, n_kept, sizeof *kept, cmp_keyed);
    size_t f0 = F->n_feat;
    if (n_kept > (size_t)INT32_MAX - f0) {
        nglm_error_set(err, "more than %d features: raise the minimum counts or lower the order",
                       INT32_MAX);
        goto out;
    }
    if (reserve_features(F, f0 + n_kept, feat_cap, err) != 0)
        goto out;
    size_t j = 0;
    for (size_t node = base; node < F->n_ctx; node++) {
        F->ctx_first[node] = (uint32_t)(f0 + j);
        while (j < n_kept && (kept[j].key >> 32) == node) {
            size_t f = f0 + j;
            int32_t w = (int32_t)(uint32_t)kept[j].key;
            F->feat_word[f] = w;
            F->feat_count[f] = kept[j].id;
            int32_t parent = F->ctx_parent[node];
            F->feat_back[f] = parent < 0 ? w : nglm_features_find(F, parent, w);
            if (F->feat_back[f] < 0) {
                nglm_error_set(err, "internal error: feature without its suffix");
                goto out;
            }
            j++;
        }
    }
    F->n_feat = f0 + n_kept;
    F->ctx_first[F->n_ctx] = (uint32_t)F->n_feat;

    /* 5. carry each token's context of length k to the next pass */
    for (size_t t = 0; t < c->n_tokens; t++)
        cur[t] = cur[t] < 0 ? -1 : cand2node[cur[t]];
    rc = 0;
    goto out;
oom:
    nglm_error_set(err, "out of memory counting %d-grams", k + 1);
out:
    u64map_free(&cand);
    u64map_free(&pairs);
    free(cands);
    free(kept);
    free(cand2node);
    return rc;
}

/* ------------------------------------------------------------ sorted count */

/* The first sentence starting at or after token t. */
static size_t sentence_from(const nglm_corpus *c, size_t t)
{
    size_t lo = 0, hi = c->n_sents;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->start[mid] < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Thread slices: sentences [first[i], first[i+1]) go to thread i, about
 * n_tokens / T tokens each.  Returns the most tokens in one slice. */
static size_t slice_sentences(const nglm_corpus *c, int T, size_t *first)
{
    size_t most = 0;
    for (int i = 0; i <= T; i++)
        first[i] = i == T ? c->n_sents : sentence_from(c, c->n_tokens / (size_t)T * (size_t)i);
    for (int i = 0; i < T; i++) {
        size_t n = c->start[first[i + 1]] - c->start[first[i]];
        most = n > most ? n : most;
    }
    return most;
}

static int thread_num(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* Adds a feature (the last context's successor) while streaming. */
static int append_feature(nglm_features *F, int32_t parent, int32_t w, uint64_t count,
                          size_t *feat_cap, nglm_error *err)
{
    size_t f = F->n_feat;
    if (f >= (size_t)INT32_MAX)
        return nglm_error_set(err, "more than %d features: raise the minimum counts or lower the order",
                              INT32_MAX);
    if (reserve_features(F, f + 1, feat_cap, err) != 0)
        return -1;
    F->feat_word[f] = w;
    F->feat_count[f] = count > UINT32_MAX ? UINT32_MAX : (uint32_t)count;
    F->feat_back[f] = parent < 0 ? w : nglm_features_find(F, parent, w);
    if (F->feat_back[f] < 0)
        return nglm_error_set(err, "internal error: feature without its suffix");
    F->n_feat = f + 1;
    return 0;
}

/* count_pass_reference by sorting (see the file comment); must agree with
 * it exactly.  Records: hi = (parent - pbase) << vbits | word, lo = target,
 * so the merge order is (parent, word, target). */
static int count_pass(nglm_features *F, const nglm_corpus *c, int k, int32_t *cur,
                      size_t *ctx_cap, size_t *feat_cap, const nglm_count_opts *opt,
                      nglm_counter *counter, nglm_error *err)
{
    const int T = opt->threads;
    const int32_t pbase = k == 1 ? -1 : (int32_t)F->ctx_order_start[k - 2];
    const size_t n_parents = k == 1 ? 1 : F->ctx_order_start[k - 1] - F->ctx_order_start[k - 2];
    const int vbits = nglm_count_bits((uint64_t)F->V - 1);
    const uint64_t vmask = ((uint64_t)1 << vbits) - 1;
    size_t *first = malloc(((size_t)T + 1) * sizeof *first);
    uint32_t *child_first = NULL;
    nglm_counter C = *counter; /* the buffers of every pass (features_build) */
    int rc = -1;
    if (!first)
        return nglm_error_set(err, "out of memory counting %d-grams", k + 1);
    slice_sentences(c, T, first);
    nglm_counter_reset(&C, nglm_count_bits(n_parents ? n_parents - 1 : 0) + vbits, vbits);

    /* 1. emit (candidate context, target) records, thread by slice */
#pragma omp parallel num_threads(T)
    {
        int tid = thread_num();
        for (size_t s = first[tid]; s < first[tid + 1]; s++) {
            size_t len;
            const int32_t *sent = nglm_corpus_sentence(c, s, &len);
            const int32_t *par = cur + c->start[s];
            for (size_t i = 0; i < len; i++) {
                long pos = (long)i - k;
                if ((k > 1 && par[i] < 0) || pos < -1)
                    continue;
                int32_t w = pos >= 0 ? sent[pos] : NGLM_BOS;
                uint64_t hi = (uint64_t)(par[i] - pbase) << vbits | (uint32_t)w;
                if (nglm_counter_add(&C, tid, hi, (uint32_t)sent[i]) != 0)
                    break;
            }
            if (C.buf[tid].failed)
                break;
        }
    }
    if (nglm_counter_finish(&C, err) != 0)
        goto out;

    /* 2. the merged pairs, in numbering order: new contexts and features */
    uint32_t cut = F->cutoff[k + 1];
    size_t base = F->n_ctx;
    uint64_t hi, last_hi = UINT64_MAX, count;
    uint32_t lo;
    int r;
    while ((r = nglm_counter_next(&C, &hi, &lo, &count, err)) > 0) {
        if (count < cut)
            continue;
        int32_t parent = (int32_t)(hi >> vbits) + pbase;
        if (hi != last_hi) { /* the first feature of a new context */
            if (reserve_contexts(F, F->n_ctx + 1, ctx_cap, err) != 0)
                goto out;
            F->ctx_parent[F->n_ctx] = parent;
            F->ctx_word[F->n_ctx] = (int32_t)(hi & vmask);
            F->ctx_first[F->n_ctx] = (uint32_t)F->n_feat;
            F->n_ctx++;
            last_hi = hi;
        }
        if (append_feature(F, parent, (int32_t)lo, count, feat_cap, err) != 0)
            goto out;
    }
    if (r < 0)
        goto out;
    F->ctx_order_start[k] = F->n_ctx;
    F->ctx_first[F->n_ctx] = (uint32_t)F->n_feat;

    /* 3. carry each token's context of length k to the next pass: the new
     * contexts of a parent are contiguous and sorted by word */
    child_first = calloc(n_parents + 1, sizeof *child_first);
    if (!child_first) {
        nglm_error_set(err, "out of memory counting %d-grams", k + 1);
        goto out;
    }
    for (size_t x = base; x < F->n_ctx; x++)
        child_first[F->ctx_parent[x] - pbase + 1]++;
    for (size_t p = 0; p < n_parents; p++)
        child_first[p + 1] += child_first[p];
#pragma omp parallel for schedule(dynamic, 1024) num_threads(T)
    for (size_t s = 0; s < c->n_sents; s++) {
        size_t len;
        const int32_t *sent = nglm_corpus_sentence(c, s, &len);
        int32_t *par = cur + c->start[s];
        for (size_t i = 0; i < len; i++) {
            long pos = (long)i - k;
            if ((k > 1 && par[i] < 0) || pos < -1) {
                par[i] = -1;
                continue;
            }
            int32_t w = pos >= 0 ? sent[pos] : NGLM_BOS;
            size_t p = (size_t)(par[i] - pbase);
            par[i] = find_in(F->ctx_word, base + child_first[p], base + child_first[p + 1], w);
        }
    }
    rc = 0;
out:
    *counter = C;
    free(first);
    free(child_first);
    return rc;
}

/* ------------------------------------------------------------ build */

/* opt NULL: the reference count. */
static int features_build(nglm_features *F, const nglm_corpus *c, int32_t V, int order,
                          const uint32_t *cutoff, const nglm_count_opts *opt,
                          nglm_error *err)
{
    memset(F, 0, sizeof *F);
    if (order < 1 || order > NGLM_MAX_ORDER)
        return nglm_error_set(err, "order %d is out of range (1..%d)", order,
                              NGLM_MAX_ORDER);
    if (V < NGLM_NUM_SPECIAL)
        return nglm_error_set(err, "vocabulary of %d words is too small", (int)V);
    F->order = order;
    F->V = V;
    for (int m = 0; m <= NGLM_MAX_ORDER; m++)
        F->cutoff[m] = 1;
    if (cutoff)
        for (int m = 2; m <= order; m++) {
            F->cutoff[m] = cutoff[m] ? cutoff[m] : 1;
            if (m > 2 && F->cutoff[m] < F->cutoff[m - 1])
                return nglm_error_set(err, "cutoffs must not decrease with the order");
        }
    for (int m = order + 1; m <= NGLM_MAX_ORDER; m++)
        F->cutoff[m] = F->cutoff[order];

    size_t feat_cap = 0, ctx_cap = 0;
    if (reserve_features(F, (size_t)V, &feat_cap, err) != 0 ||
        reserve_contexts(F, 1, &ctx_cap, err) != 0) {
        nglm_features_free(F);
        return -1;
    }
    for (int32_t w = 0; w < V; w++) {
        F->feat_word[w] = w;
        F->feat_back[w] = -1;
        F->feat_count[w] = (uint32_t)0;
    }
    for (size_t t = 0; t < c->n_tokens; t++)
        if (c->ids[t] >= 0 && c->ids[t] < V && F->feat_count[c->ids[t]] < UINT32_MAX)
            F->feat_count[c->ids[t]]++;
    F->n_feat = (size_t)V;
    F->ctx_first[0] = (uint32_t)V;

    int32_t *cur = malloc((c->n_tokens ? c->n_tokens : 1) * sizeof *cur);
    if (!cur) {
        nglm_features_free(F);
        return nglm_error_set(err, "out of memory for %zu tokens", c->n_tokens);
    }
    for (size_t t = 0; t < c->n_tokens; t++)
        cur[t] = -1; /* parent of length-1 contexts: the root */
    /* one counter for every pass, so its buffers are touched once */
    nglm_counter C;
    memset(&C, 0, sizeof C);
    if (opt && order > 1) {
        size_t *first = malloc(((size_t)opt->threads + 1) * sizeof *first);
        if (!first || nglm_counter_init(&C, opt, slice_sentences(c, opt->threads, first), 0, 0,
                                        err) != 0) {
            if (!first)
                nglm_error_set(err, "out of memory counting n-grams");
            free(first);
            free(cur);
            nglm_features_free(F);
            return -1;
        }
        free(first);
    }
    for (int k = 1; k < order; k++) {
        if ((opt ? count_pass(F, c, k, cur, &ctx_cap, &feat_cap, opt, &C, err)
                 : count_pass_reference(F, c, k, cur, &ctx_cap, &feat_cap, err)) != 0) {
            nglm_counter_free(&C);
            free(cur);
            nglm_features_free(F);
            return -1;
        }
        if (opt)
            nglm_progress_report(opt->progress, (uint64_t)k * c->n_tokens,
                                 (uint64_t)(order - 1) * c->n_tokens);
    }
    for (int k = order; k <= NGLM_MAX_ORDER; k++)
        F->ctx_order_start[k] = F->n_ctx;
    F->n_ngram_feat = F->n_feat;
    F->skip_cutoff = 1;
    nglm_counter_free(&C);
    free(cur);
    return nglm_features_index(F, err);
}

/* Threads at least 1, defaults filled in. */
static nglm_count_opts count_opts(const nglm_count_opts *opt)
{
    nglm_count_opts o = {1, 0, NULL, NULL};
    if (opt)
        o = *opt;
    if (o.threads < 1)
        o.threads = 1;
    return o;
}

int nglm_features_build_with(nglm_features *F, const nglm_corpus *c, int32_t V, int order,
                             const uint32_t *cutoff, const nglm_count_opts *opt,
                             nglm_error *err)
{
    nglm_count_opts o = count_opts(opt);
    return features_build(F, c, V, order, cutoff, &o, err);
}

int nglm_features_build(nglm_features *F, const nglm_corpus *c, int32_t V, int order,
                        const uint32_t *cutoff, int threads, nglm_error *err)
{
    nglm_count_opts o = {threads, 0, NULL, NULL};
    return nglm_features_build_with(F, c, V, order, cutoff, &o, err);
}

int nglm_features_build_reference(nglm_features *F, const nglm_corpus *c, int32_t V,
                                  int order, const uint32_t *cutoff, nglm_error *err)
{
    return features_build(F, c, V, order, cutoff, NULL, err);
}

/* The skip-gram pairs (v, w) of template i by sorting: the merge yields
 * them in feature order.  Must agree with the hash-map count below. */
static int count_skips(nglm_features *F, const nglm_corpus *c, int i, int dist,
                       uint32_t cutoff, size_t *feat_cap, const nglm_count_opts *opt,
                       nglm_error *err)
{
    const int T = opt->threads, vbits = nglm_count_bits((uint64_t)F->V - 1);
    int32_t V = F->V;
    size_t *first = malloc(((size_t)T + 1) * sizeof *first);
    nglm_counter C;
    int rc = -1;
    if (!first)
        return nglm_error_set(err, "out of memory counting skip-grams");
    if (nglm_counter_init(&C, opt, slice_sentences(c, T, first), vbits, vbits, err) != 0) {
        free(first);
        return -1;
    }
#pragma omp parallel num_threads(T)
    {
        int tid = thread_num();
        for (size_t sn = first[tid]; sn < first[tid + 1] && !C.buf[tid].failed; sn++) {
            size_t len;
            const int32_t *sent = nglm_corpus_sentence(c, sn, &len);
            for (size_t k = 0; k < len; k++) {
                int32_t v = nglm_features_skip_word(sent, k, dist);
                if (v >= 0 && nglm_counter_add(&C, tid, (uint64_t)v, (uint32_t)sent[k]) != 0)
                    break;
            }
        }
    }
    F->skip_first[i] = calloc((size_t)V + 1, sizeof(uint32_t));
    if (!F->skip_first[i]) {
        nglm_error_set(err, "out of memory for skip-grams");
        goto out;
    }
    if (nglm_counter_finish(&C, err) != 0)
        goto out;
    uint64_t hi, count;
    uint32_t lo;
    int32_t next_v = 0;
    int r;
    while ((r = nglm_counter_next(&C, &hi, &lo, &count, err)) > 0) {
        if (count < cutoff)
            continue;
        while (next_v <= (int32_t)hi)
            F->skip_first[i][next_v++] = (uint32_t)F->n_feat;
        if (F->n_feat >= (size_t)INT32_MAX) {
            nglm_error_set(err, "too many skip-gram features: raise the cutoff");
            goto out;
        }
        if (reserve_features(F, F->n_feat + 1, feat_cap, err) != 0)
            goto out;
        F->feat_word[F->n_feat] = (int32_t)lo;
        F->feat_back[F->n_feat] = -1;
        F->feat_count[F->n_feat] = count > UINT32_MAX ? UINT32_MAX : (uint32_t)count;
        F->n_feat++;
    }
    if (r < 0)
        goto out;
    while (next_v <= V)
        F->skip_first[i][next_v++] = (uint32_t)F->n_feat;
    rc = 0;
out:
    nglm_counter_free(&C);
    free(first);
    return rc;
}

/* opt NULL: the reference (hash map) count. */
static int add_skips(nglm_features *F, const nglm_corpus *c, int n_skip, const int *dist,
                     uint32_t cutoff, const nglm_count_opts *opt, nglm_error *err)
{
    if (F->n_skip != 0 || F->n_feat != F->n_ngram_feat)
        return nglm_error_set(err, "skip-gram features were already added");
    if (n_skip < 0 || n_skip > NGLM_MAX_SKIP)
        return nglm_error_set(err, "at most %d skip-gram templates", NGLM_MAX_SKIP);
    for (int i = 0; i < n_skip; i++) {
        if (dist[i] < 2 || dist[i] > F->order + 2)
            return nglm_error_set(err, "skip distance %d is out of range (2..%d)", dist[i],
                                  F->order + 2);
        for (int j = 0; j < i; j++)
            if (dist[j] == dist[i])
                return nglm_error_set(err, "skip distance %d given twice", dist[i]);
    }
    size_t feat_cap = F->n_feat;
    int32_t V = F->V;
    for (int i = 0; i < n_skip; i++) {
        if (opt) {
            if (count_skips(F, c, i, dist[i], cutoff, &feat_cap, opt, err) != 0)
                return -1;
            F->skip_dist[i] = dist[i];
            F->n_skip = i + 1;
            continue;
        }
        u64map pairs;
        if (u64map_init(&pairs, 1024) != 0)
            return nglm_error_set(err, "out of memory counting skip-grams");
        for (size_t sn = 0; sn < c->n_sents; sn++) {
            size_t len;
            const int32_t *sent = nglm_corpus_sentence(c, sn, &len);
            for (size_t k = 0; k < len; k++) {
                int32_t v = nglm_features_skip_word(sent, k, dist[i]);
                if (v < 0)
                    continue;
                int64_t *cnt = u64map_upsert(&pairs, PACK(v, sent[k]), 0);
                if (!cnt) {
                    u64map_free(&pairs);
                    return nglm_error_set(err, "out of memory counting skip-grams");
                }
                ++*cnt;
            }
        }
        size_t n_kept = 0;
        keyed *kept = malloc((pairs.size ? pairs.size : 1) * sizeof *kept);
        F->skip_first[i] = calloc((size_t)V + 1, sizeof(uint32_t));
        if (!kept || !F->skip_first[i]) {
            free(kept);
            u64map_free(&pairs);
            return nglm_error_set(err, "out of memory for skip-grams");
        }
        for (size_t h = 0; h < pairs.cap; h++)
            if (pairs.e[h].key != U64MAP_EMPTY && pairs.e[h].val >= (int64_t)cutoff) {
                kept[n_kept].key = pairs.e[h].key;
                kept[n_kept].id = pairs.e[h].val > UINT32_MAX ? UINT32_MAX : (uint32_t)pairs.e[h].val;
                n_kept++;
            }
        u64map_free(&pairs);
        qsort(kept, n_kept, sizeof *kept, cmp_keyed);
        size_t f0 = F->n_feat;
        if (n_kept > (size_t)INT32_MAX - f0 ||
            reserve_features(F, f0 + n_kept, &feat_cap, err) != 0) {
            free(kept);
            return n_kept > (size_t)INT32_MAX - f0
                       ? nglm_error_set(err, "too many skip-gram features: raise the cutoff")
                       : -1;
        }
        size_t j = 0;
        for (int32_t v = 0; v < V; v++) {
            F->skip_first[i][v] = (uint32_t)(f0 + j);
            while (j < n_kept && (int32_t)(kept[j].key >> 32) == v) {
                F->feat_word[f0 + j] = (int32_t)(uint32_t)kept[j].key;
                F->feat_back[f0 + j] = -1;
                F->feat_count[f0 + j] = kept[j].id;
                j++;
            }
        }
        F->skip_first[i][V] = (uint32_t)(f0 + n_kept);
        F->n_feat = f0 + n_kept;
        F->skip_dist[i] = dist[i];
        F->n_skip = i + 1;
        free(kept);
    }
    F->skip_cutoff = cutoff;
    return 0;
}

int nglm_features_add_skips_with(nglm_features *F, const nglm_corpus *c, int n_skip,
                                 const int *dist, uint32_t cutoff,
                                 const nglm_count_opts *opt, nglm_error *err)
{
    nglm_count_opts o = count_opts(opt);
    return add_skips(F, c, n_skip, dist, cutoff, &o, err);
}

int nglm_features_add_skips(nglm_features *F, const nglm_corpus *c, int n_skip,
                            const int *dist, uint32_t cutoff, nglm_error *err)
{
    return nglm_features_add_skips_with(F, c, n_skip, dist, cutoff, NULL, err);
}

int nglm_features_add_skips_reference(nglm_features *F, const nglm_corpus *c, int n_skip,
                                      const int *dist, uint32_t cutoff, nglm_error *err)
{
    return add_skips(F, c, n_skip, dist, cutoff, NULL, err);
}

/* The first context of [lo, hi) whose parent is not in [plo, phi) or is
 * below the previous one's, or hi. */
static size_t bad_parent(const int32_t *parent, size_t lo, size_t hi, int32_t plo, int32_t phi)
{
    for (size_t x = lo; x < hi; x++)
        if (parent[x] < plo || parent[x] >= phi || (x > lo && parent[x] < parent[x - 1]))
            return x;
    return hi;
}

/* What the lookup tables and every bounds-safe walk of the index rely on
 * (nglm_features_tables); reads only the order table, the parents and the
 * words of the length-1 contexts.  The parents' loop is branch-free, so it
 * vectorises (bad_parent then finds the culprit). */
static int check_contexts(const nglm_features *F, int parents, nglm_error *err)
{
    if (F->order < 1 || F->order > NGLM_MAX_ORDER || F->V < NGLM_NUM_SPECIAL ||
        F->n_feat < (size_t)F->V || F->n_feat > INT32_MAX || F->n_ctx > INT32_MAX ||
        F->n_ngram_feat < (size_t)F->V || F->n_ngram_feat > F->n_feat)
        return nglm_error_set(err, "inconsistent feature index sizes");
    size_t prev_end = 0;
    for (int k = 1; k < F->order; k++) {
        size_t lo = F->ctx_order_start[k - 1], hi = F->ctx_order_start[k];
        if (lo != prev_end || hi < lo || hi > F->n_ctx)
            return nglm_error_set(err, "inconsistent context order table");
        prev_end = hi;
        /* length 1: parent -1; longer: a context one shorter, non-decreasing */
        int32_t plo = k == 1 ? -1 : (int32_t)F->ctx_order_start[k - 2];
        int32_t phi = k == 1 ? 0 : (int32_t)F->ctx_order_start[k - 1];
        const int32_t *par = F->ctx_parent;
        if (!parents && k > 1)
            continue;
        unsigned bad = lo < hi && (par[lo] < plo || par[lo] >= phi);
#pragma omp simd reduction(| : bad)
        for (size_t x = lo + 1; x < hi; x++)
            bad |= (par[x] < plo) | (par[x] >= phi) | (par[x] < par[x - 1]);
        if (bad)
            return nglm_error_set(err, "context %zu has a bad parent",
                                  bad_parent(par, lo, hi, plo, phi));
        for (size_t x = lo; k == 1 && x < hi; x++)
            if (F->ctx_word[x] < 0 || F->ctx_word[x] >= F->V)
                return nglm_error_set(err, "context %zu has a word out of range", x);
    }
    if (prev_end != F->n_ctx)
        return nglm_error_set(err, "inconsistent context count");
    return 0;
}

int nglm_features_tables(nglm_features *F, int children, nglm_error *err)
{
    if (check_contexts(F, children, err) != 0)
        return -1;
    int32_t V = F->V;
    free(F->ctx1);
    free(F->child_first);
    F->child_first = NULL;
    F->ctx1 = malloc((size_t)V * sizeof *F->ctx1);
    if (children)
        F->child_first = malloc((F->n_ctx + 1) * sizeof *F->child_first);
    if (!F->ctx1 || (children && !F->child_first))
        return nglm_error_set(err, "out of memory indexing %zu contexts", F->n_ctx);
    for (int32_t w = 0; w < V; w++)
        F->ctx1[w] = -1;
    size_t n1 = F->order > 1 ? F->ctx_order_start[1] : 0;
    for (size_t x = 0; x < n1; x++)
        F->ctx1[F->ctx_word[x]] = (int32_t)x;
    if (!children)
        return 0;
    /* The children of the contexts of length k-1 are those of length k, in
     * the order of their parents: child_first[q] is the first of them whose
     * parent is q or later, filled in one merge pass (parents checked above). */
    uint32_t *cf = F->child_first;
    size_t q = 0;
    for (int k = 2; k < F->order; k++) {
        size_t lo = F->ctx_order_start[k - 1], hi = F->ctx_order_start[k];
        for (size_t x = lo; x < hi; x++)
            while (q <= (size_t)F->ctx_parent[x])
                cf[q++] = (uint32_t)x;
        while (q < lo) /* the last parents' children end the length */
            cf[q++] = (uint32_t)hi;
    }
    while (q <= F->n_ctx) /* the longest contexts have none */
        cf[q++] = (uint32_t)F->n_ctx;
    return 0;
}

int nglm_features_index(nglm_features *F, nglm_error *err)
{
    int32_t V = F->V;
    if (check_contexts(F, 1, err) != 0)
        return -1;
    /* contexts: ranges, ordering, parents one order lower */
    if (F->ctx_first[0] != (uint32_t)V || F->ctx_first[F->n_ctx] != F->n_ngram_feat)
        return nglm_error_set(err, "inconsistent successor offsets");
    /* skip-gram templates: contiguous, sorted successor lists */
    if (F->n_skip < 0 || F->n_skip > NGLM_MAX_SKIP)
        return nglm_error_set(err, "bad number of skip-gram templates");
    size_t next = F->n_ngram_feat;
    for (int i = 0; i < F->n_skip; i++) {
        if (F->skip_dist[i] < 2 || F->skip_dist[i] > F->order + 2 || !F->skip_first[i])
            return nglm_error_set(err, "skip-gram template %d is bad", i);
        for (int j = 0; j < i; j++)
            if (F->skip_dist[j] == F->skip_dist[i])
                return nglm_error_set(err, "skip distance %d given twice", F->skip_dist[i]);
        for (int32_t v = 0; v <= V; v++) {
            uint32_t lo = F->skip_first[i][v];
            if (lo != next || (v < V && (F->skip_first[i][v + 1] < lo ||
                                         F->skip_first[i][v + 1] > F->n_feat)))
                return nglm_error_set(err, "skip-gram offsets of template %d are bad", i);
            if (v == V)
                break;
            for (uint32_t f = lo; f < F->skip_first[i][v + 1]; f++)
                if (F->feat_word[f] < 1 || F->feat_word[f] >= V || F->feat_back[f] != -1 ||
                    (f > lo && F->feat_word[f - 1] >= F->feat_word[f]))
                    return nglm_error_set(err, "skip-gram successors of template %d are bad", i);
            next = F->skip_first[i][v + 1];
        }
    }
    if (next != F->n_feat)
        return nglm_error_set(err, "inconsistent skip-gram feature count");
    for (int k = 1; k < F->order; k++) {
        size_t lo = F->ctx_order_start[k - 1], hi = F->ctx_order_start[k];
        for (size_t x = lo; x < hi; x++) {
            int32_t p = F->ctx_parent[x], w = F->ctx_word[x];
            if (w < 0 || w >= V)
                return nglm_error_set(err, "context %zu has a word out of range", x);
            if (F->ctx_first[x + 1] <= F->ctx_first[x])
                return nglm_error_set(err, "context %zu has no successors", x);
            if (x > lo && PACK(p + 1, w) <= PACK(F->ctx_parent[x - 1] + 1, F->ctx_word[x - 1]))
                return nglm_error_set(err, "contexts are not sorted");
        }
    }
    /* features: words in range and sorted, back-offs consistent */
    for (size_t x = 0; x < F->n_ctx; x++) {
        int32_t p = F->ctx_parent[x];
        for (uint32_t f = F->ctx_first[x]; f < F->ctx_first[x + 1]; f++) {
            int32_t w = F->feat_word[f], b = F->feat_back[f];
            if (w < 1 || w >= V || (f > F->ctx_first[x] && F->feat_word[f - 1] >= w))
                return nglm_error_set(err, "successors of context %zu are bad", x);
            if (p < 0 ? b != w
                      : (b < (int32_t)F->ctx_first[p] || b >= (int32_t)F->ctx_first[p + 1] ||
                         F->feat_word[b] != w))
                return nglm_error_set(err, "feature %u has a bad back-off", f);
        }
    }
    return nglm_features_tables(F, 1, err);
}

void nglm_features_free(nglm_features *F)
{
    free(F->ctx_parent);
    free(F->ctx_word);
    free(F->ctx_first);
    free(F->feat_word);
    free(F->feat_back);
    free(F->feat_count);
    free(F->ctx1);
    free(F->child_first);
    for (int i = 0; i < NGLM_MAX_SKIP; i++)
        free(F->skip_first[i]);
    memset(F, 0, sizeof *F);
}

size_t nglm_features_bytes(const nglm_features *F)
{
    size_t b = F->n_ctx * (2 * sizeof(int32_t) + sizeof(uint32_t)) +
               F->n_feat * (2 * sizeof(int32_t) + sizeof(uint32_t)) +
               (size_t)F->V * sizeof(int32_t);
    if (F->child_first)
        b += (F->n_ctx + 1) * sizeof(uint32_t);
    b += (size_t)F->n_skip * ((size_t)F->V + 1) * sizeof(uint32_t);
    return b;
}
