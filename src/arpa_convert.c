/*
 * arpa_convert.c — nglm_arpa_to_model (nglm/arpa.h): an ARPA back-off model
 * read by arpa.c turned into the exact nglm model of the same
 * probabilities.
 *
 * Input: the reader's trie (arpa_impl.h).  Output: a feature index whose
 * contexts are the trie's nodes with listed children and whose features
 * are the listed n-grams, with the weights that a Kneser-Ney estimate of
 * the same back-off form converts to (nglm_kn_to_weights, doc/model.md
 * §6).  A model that is not closed under suffixes, or that gives some
 * n-gram probability 0, has no exact nglm form and is refused.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "arpa_impl.h"
#include "nglm/kn.h"
#include "nglm/model.h"

/* Sort record of a listed n-gram of length >= 2: its trie parent (the node
 * of its first words), last word and node. */
typedef struct conv_edge {
    int64_t parent;
    int32_t word;
    int64_t node;
} conv_edge;

static int cmp_edge(const void *x, const void *y)
{
    const conv_edge *a = x, *b = y;
    if (a->parent != b->parent)
        return a->parent < b->parent ? -1 : 1;
    return (a->word > b->word) - (a->word < b->word);
}

/* Sort record of a context: its nglm parent and oldest word, its node. */
typedef struct conv_ctx {
    int64_t key;   /* PACK(nglm parent + 1, oldest word) */
    int64_t node;
} conv_ctx;

static int cmp_ctx(const void *x, const void *y)
{
    const conv_ctx *a = x, *b = y;
    return (a->key > b->key) - (a->key < b->key);
}

/* The trie node of words ids[0..k), or -1. */
static int64_t conv_node(const nglm_arpa *a, const int32_t *ids, int k)
{
    int64_t node = ids[0];
    for (int j = 1; j < k && node >= 0; j++)
        node = u64map_get(&a->child, PACK(node, ids[j]), -1);
    return node;
}

/* The trie's shape, for the conversion: every node's parent, last and
 * first word and length, and its listed children sorted by word (edges
 * kid_start[x] .. kid_start[x+1]-1); ctx_of[x] becomes node x's context. */
typedef struct conv_trie {
    size_t n, n_edge;
    int64_t *par, *ctx_of, *kid_start;
    int32_t *last, *first;
    uint8_t *len, *has_kid;
    conv_edge *edge;
} conv_trie;

static void conv_trie_free(conv_trie *t)
{
    free(t->par);
    free(t->ctx_of);
    free(t->kid_start);
    free(t->last);
    free(t->first);
    free(t->len);
    free(t->has_kid);
    free(t->edge);
}

/* Fills t from the reader's table (a node is created after its parent, so
 * ids increase downwards); -1 when out of memory. */
static int conv_shape(const nglm_arpa *a, conv_trie *t)
{
    size_t n = a->n_node;
    memset(t, 0, sizeof *t);
    t->n = n;
    t->par = malloc((n ? n : 1) * sizeof *t->par);
    t->ctx_of = malloc((n ? n : 1) * sizeof *t->ctx_of);
    t->last = malloc((n ? n : 1) * sizeof *t->last);
    t->first = malloc((n ? n : 1) * sizeof *t->first);
    t->len = malloc(n ? n : 1);
    t->has_kid = calloc(n ? n : 1, 1);
    t->edge = malloc((a->child.size ? a->child.size : 1) * sizeof *t->edge);
    t->kid_start = calloc(n + 1, sizeof *t->kid_start);
    if (!t->par || !t->ctx_of || !t->last || !t->first || !t->len || !t->has_kid || !t->edge ||
        !t->kid_start)
        return -1;
    for (size_t x = 0; x < n; x++) {
        t->par[x] = -1;
        t->ctx_of[x] = -1;
    }
    for (size_t i = 0; i < a->child.cap; i++) {
        const u64map_entry *e = &a->child.e[i];
        if (e->key == U64MAP_EMPTY)
            continue;
        t->par[e->val] = (int64_t)(e->key >> 32);
        t->last[e->val] = (int32_t)(uint32_t)e->key;
        if (!isnan(a->logp[e->val]))
            t->edge[t->n_edge++] = (conv_edge){ t->par[e->val], t->last[e->val], e->val };
    }
    for (size_t x = 0; x < n; x++) {
        t->len[x] = t->par[x] < 0 ? 1 : t->len[t->par[x]] + 1;
        t->first[x] = t->par[x] < 0 ? (int32_t)x : t->first[t->par[x]];
    }
    qsort(t->edge, t->n_edge, sizeof *t->edge, cmp_edge);
    for (size_t i = 0; i < t->n_edge; i++) {
        t->kid_start[t->edge[i].parent + 1]++;
        t->has_kid[t->edge[i].parent] = 1;
    }
    for (size_t x = 0; x < n; x++)
        t->kid_start[x + 1] += t->kid_start[x];
    return 0;
}

static int not_closed(nglm_error *err)
{
    return nglm_error_set(err, "the ARPA model is not closed under suffixes (an n-gram whose "
                               "shorter suffix is missing): it has no exact nglm form");
}

/* The nglm parent of node x (length k > 1): the context of its words 2..k,
 * or -1 if there is none. */
static int64_t conv_parent(const nglm_arpa *a, const conv_trie *t, size_t x, int k)
{
    int32_t ids[NGLM_ARPA_MAX_ORDER];
    int64_t y = (int64_t)x;
    for (int j = k - 1; j >= 0; j--, y = t->par[y])
        ids[j] = t->len[y] == 1 ? (int32_t)y : t->last[y]; /* a 1-gram's node is its id */
    int64_t s = conv_node(a, ids + 1, k - 1);
    return s >= 0 ? t->ctx_of[s] : -1;
}

/* Context i (node x) and its successors, the node's listed children by
 * word, from feature *n_feat on; each successor's back-off is found in the
 * context's nglm parent. */
static int conv_context(const nglm_arpa *a, const conv_trie *t, nglm_features *F, nglm_kn *kn,
                        size_t i, int64_t x, size_t *n_feat, nglm_error *err)
{
    t->ctx_of[x] = (int64_t)i;
    F->ctx_word[i] = t->first[x];
    F->ctx_first[i] = (uint32_t)*n_feat;
    kn->lnbo[i] = a->bow[x] * M_LN10;
    int32_t pc = F->ctx_parent[i];
    for (int64_t e = t->kid_start[x]; e < t->kid_start[x + 1]; e++) {
        int32_t w = t->edge[e].word, b = w;
        if (pc >= 0) {
            F->n_feat = *n_feat; /* nglm_features_find reads F's ranges */
            b = nglm_features_find(F, pc, w);
        }
        if (b < 0)
            return not_closed(err);
        F->feat_word[*n_feat] = w;
        F->feat_back[*n_feat] = b;
        kn->lnp[*n_feat] = a->logp[t->edge[e].node] * M_LN10;
        (*n_feat)++;
    }
    return 0;
}

/* The index: contexts are the nodes with a listed child, numbered by
 * length, then by (nglm parent, oldest word); a context's nglm parent is
 * the node of its words without the oldest.  F's arrays and kn's are
 * allocated by the caller for n_ctx contexts and V + n_edge features. */
static int conv_index(const nglm_arpa *a, const conv_trie *t, size_t n_ctx, nglm_features *F,
                      nglm_kn *kn, conv_ctx *cx, nglm_error *err)
{
    int32_t V = a->V;
    for (int32_t w = 0; w < V; w++) {
        double lp = a->logp[w];
        if (w != NGLM_BOS && !isfinite(lp))
            return nglm_error_set(err, "the 1-gram '%s' has probability 0 (or is missing), "
                                  "which no softmax weight can express",
                                  nglm_vocab_word(a->vocab, w));
        F->feat_word[w] = w;
        F->feat_back[w] = -1;
        kn->lnp[w] = w == NGLM_BOS ? 0 : lp * M_LN10;
    }
    size_t c = 0, n_feat = (size_t)V;
    for (int k = 1; k < F->order; k++) {
        size_t lo = c, n_k = 0;
        for (size_t x = 0; x < t->n; x++) {
            if (!t->has_kid[x] || t->len[x] != k)
                continue;
            int64_t p = k > 1 ? conv_parent(a, t, x, k) : -1;
            if (k > 1 && p < 0)
                return not_closed(err);
            cx[lo + n_k++] = (conv_ctx){ (int64_t)PACK(p + 1, t->first[x]), (int64_t)x };
        }
        qsort(cx + lo, n_k, sizeof *cx, cmp_ctx);
        for (size_t i = lo; i < lo + n_k; i++) {
            F->ctx_parent[i] = (int32_t)(cx[i].key >> 32) - 1;
            if (conv_context(a, t, F, kn, i, cx[i].node, &n_feat, err) != 0)
                return -1;
        }
        c = lo + n_k;
        F->ctx_order_start[k] = c;
    }
    for (int k = F->order; k <= NGLM_MAX_ORDER; k++)
        F->ctx_order_start[k] = c;
    F->ctx_order_start[0] = 0;
    F->n_ctx = c;
    F->ctx_first[c] = (uint32_t)n_feat;
    F->n_feat = F->n_ngram_feat = n_feat;
    F->skip_cutoff = 1;
    if (c != n_ctx) /* listed n-grams under a node longer than the order */
        return nglm_error_set(err, "the ARPA model's n-grams do not fit its order");
    if (nglm_features_index(F, err) != 0)
        return nglm_error_prefix(err, "converting the ARPA model");
    return 0;
}

int nglm_arpa_to_model(const nglm_arpa *a, nglm_model *m, nglm_error *err)
{
    memset(m, 0, sizeof *m);
    if (a->order > NGLM_MAX_ORDER)
        return nglm_error_set(err, "an ARPA model of order %d: nglm models go up to %d",
                              a->order, NGLM_MAX_ORDER);
    if (!a->has_unk)
        return nglm_error_set(err, "the ARPA model has no <unk>: it skips OOVs, which an "
                                   "nglm model scores as <unk>");
    int32_t V = a->V;
    conv_trie t;
    conv_ctx *cx = NULL;
    nglm_kn kn; /* only its ln P and ln γ: nglm_kn_to_weights makes the weights */
    memset(&kn, 0, sizeof kn);
    nglm_features *F = &m->feat;
    int rc = -1;
    if (conv_shape(a, &t) != 0)
        goto oom;
    size_t n_ctx = 0, n_all = (size_t)V + t.n_edge;
    for (size_t x = 0; x < t.n; x++)
        n_ctx += t.has_kid[x];
    F->order = a->order > 0 ? a->order : 1;
    F->V = V;
    for (int k = 0; k <= NGLM_MAX_ORDER; k++)
        F->cutoff[k] = 1;
    cx = malloc((t.n_edge ? t.n_edge : 1) * sizeof *cx);
    kn.lnp = malloc(n_all * sizeof *kn.lnp);
    kn.lnbo = malloc((n_ctx ? n_ctx : 1) * sizeof *kn.lnbo);
    F->ctx_parent = malloc((n_ctx ? n_ctx : 1) * sizeof *F->ctx_parent);
    F->ctx_word = malloc((n_ctx ? n_ctx : 1) * sizeof *F->ctx_word);
    F->ctx_first = malloc((n_ctx + 1) * sizeof *F->ctx_first);
    F->feat_word = malloc(n_all * sizeof *F->feat_word);
    F->feat_back = malloc(n_all * sizeof *F->feat_back);
    F->feat_count = calloc(n_all, sizeof *F->feat_count);
    m->theta = malloc(n_all * sizeof *m->theta);
    if (!cx || !kn.lnp || !kn.lnbo || !F->ctx_parent || !F->ctx_word || !F->ctx_first ||
        !F->feat_word || !F->feat_back || !F->feat_count || !m->theta)
        goto oom;
    if (conv_index(a, &t, n_ctx, F, &kn, cx, err) != 0)
        goto out;
    /* the weights: the conversion of a Kneser-Ney estimate, which is the
     * same back-off form (doc/model.md §6) */
    if (nglm_kn_to_weights(&kn, F, m->theta, err) != 0)
        goto out;
    for (size_t f = 0; f < F->n_feat; f++)
        if (!isfinite(m->theta[f])) {
            nglm_error_set(err, "an n-gram has probability 0, which no softmax weight can "
                                "express");
            goto out;
        }
    const char **words = malloc((size_t)V * sizeof *words);
    if (!words)
        goto oom;
    for (int32_t w = 0; w < V; w++)
        words[w] = nglm_vocab_word(a->vocab, w);
    m->vocab = nglm_vocab_from_list(words, NULL, (size_t)V, err);
    free(words);
    if (!m->vocab)
        goto out;
    m->tok = a->tok;
    rc = 0;
    goto out;
oom:
    nglm_error_set(err, "out of memory converting an ARPA model of %zu n-grams", a->n_node);
out:
    conv_trie_free(&t);
    free(cx);
    free(kn.lnp);
    free(kn.lnbo);
    if (rc != 0)
        nglm_model_free(m);
    return rc;
}
