/*
 * batch.c — the grouped exact forward and backward passes over a batch of
 * tokens (the algorithm is described in batch.h and doc/model.md §2).
 *
 * The slow, obviously-correct references these must agree with are
 * nglm_model_dist_dense (probabilities) and the finite-difference checks in
 * tests/check_model.c (gradients).
 */
#include "batch.h"
#include "blocks.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "dist.h"
#include "nglm/vocab.h"

/* Fixed-point scale of the cross-thread sums: exact, 2^-40 resolution.
 * TO_FIX truncates (one instruction, unlike llround); any deterministic
 * conversion keeps the sums independent of the thread count. */
#define FIX_SCALE 1099511627776.0 /* 2^40 */
#define TO_FIX(x) ((int64_t)((x) * FIX_SCALE))

/* slot_of entries: zero (as calloc leaves them) for a context not in the
 * batch, so that a batch of one sentence touches only the pages of its own
 * contexts, not all n_ctx entries */
#define SLOT_NONE 0
#define SLOT_LISTED 1 /* found, slot not yet assigned */
#define SLOT_OF(s) ((int32_t)(s) + 2)
static inline int32_t slot(const nglm_batch *b, int32_t x) { return b->slot_of[x] - 2; }

/* calloc that never returns NULL for a zero count */
static void *zalloc(size_t n, size_t size) { return calloc(n ? n : 1, size); }
#define ALLOC(p, n) ((p) = zalloc((n), sizeof *(p)))

int nglm_batch_init(nglm_batch *b, const nglm_features *F, size_t max_tokens,
                    int threads, int for_training, nglm_error *err)
{
    memset(b, 0, sizeof *b);
    b->F = F;
    b->nd = F->order - 1;
#ifdef _OPENMP
    b->threads = threads > 0 ? threads : omp_get_max_threads();
#else
    (void)threads;
    b->threads = 1;
#endif
    size_t nd = b->nd ? (size_t)b->nd : 1;
    b->cap_tok = max_tokens;
    int ok = ALLOC(b->y, max_tokens) && ALLOC(b->sent, max_tokens) && ALLOC(b->pos, max_tokens) && ALLOC(b->chain, max_tokens * nd) &&
             ALLOC(b->tfeat, max_tokens * nd) && ALLOC(b->z, max_tokens) &&
             ALLOC(b->sy, max_tokens) && ALLOC(b->slot_of, F->n_ctx) &&
             ALLOC(b->es, F->n_feat);
    b->cap_d = max_tokens * nd;
    ok = ok && ALLOC(b->dctx, b->cap_d) && ALLOC(b->A, b->cap_d) && ALLOC(b->D, b->cap_d) &&
         ALLOC(b->kids, b->cap_d) && ALLOC(b->kid_start, b->cap_d + 1);
    for (int k = 0; ok && k < b->nd; k++)
        ok = ALLOC(b->pending[k], max_tokens) != NULL;
    if (ok && for_training)
        ok = ALLOC(b->grad, F->n_feat) && ALLOC(b->fix, (size_t)b->threads * (size_t)F->V);
    if (ok && F->n_skip > 0) {
        size_t ns = (size_t)F->n_skip, V = (size_t)F->V, T = (size_t)b->threads;
        ok = ALLOC(b->sk, max_tokens * ns) && ALLOC(b->skip_in, ns * V) &&
             ALLOC(b->dskip, max_tokens * ns) && ALLOC(b->grp_tok, max_tokens) &&
             ALLOC(b->grp_start, max_tokens + 2) && ALLOC(b->scr_map, T * V) &&
             ALLOC(b->scr_mark, T * V) && ALLOC(b->scr_val, T * V);
        if (ok) {
            for (size_t i = 0; i < T * V; i++)
                b->scr_mark[i] = -1;
            for (size_t i = 0; i < T * V; i++)
                b->scr_map[i] = (int32_t)(i % V); /* every word's unigram feature */
            if (for_training)
                ok = ALLOC(b->fixskip, T * (F->n_feat - F->n_ngram_feat)) != NULL;
            /* each thread keeps one token's entries while it is worked on */
            for (int i = 0; i < F->n_skip; i++) {
                uint32_t longest = 0;
                for (size_t v = 0; v < V; v++)
                    if (F->skip_first[i][v + 1] - F->skip_first[i][v] > longest)
                        longest = F->skip_first[i][v + 1] - F->skip_first[i][v];
                b->scr_tmp_cap += longest;
            }
            size_t cap = T * b->scr_tmp_cap;
            ok = ok && ALLOC(b->st_w, cap) && ALLOC(b->st_f, cap) && ALLOC(b->st_q, cap);
        }
    }
    if (!ok) {
        nglm_batch_free(b);
        return nglm_error_set(err, "out of memory for a batch of %zu tokens", max_tokens);
    }
    return 0; /* slot_of is zero, SLOT_NONE, untouched: a sentence's batch writes a few pages */
}

void nglm_batch_free(nglm_batch *b)
{
    free(b->y);
    free(b->sent);
    free(b->pos);
    free(b->chain);
    free(b->tfeat);
    free(b->z);
    free(b->sy);
    free(b->slot_of);
    free(b->dctx);
    free(b->A);
    free(b->D);
    free(b->kids);
    free(b->kid_start);
    for (int k = 0; k < NGLM_MAX_ORDER; k++)
        free(b->pending[k]);
    free(b->es);
    free(b->grad);
    free(b->fix);
    free(b->sk);
    free(b->skip_in);
    free(b->dskip);
    free(b->grp_tok);
    free(b->grp_start);
    free(b->st_w);
    free(b->st_f);
    free(b->st_q);
    free(b->scr_map);
    free(b->scr_mark);
    free(b->scr_val);
    free(b->fixskip);
    free(b->mine);
    free(b->skip_off);
    free(b->skip_red);
    memset(b, 0, sizeof *b);
}

int nglm_batch_shard(nglm_batch *b, const int32_t *word_rank, int rank, nglm_error *err)
{
    const nglm_features *F = b->F;
    size_t n_dskip = b->cap_tok * (size_t)(F->n_skip > 0 ? F->n_skip : 1);
    /* the batch's skip ranges are distinct: at most all skip-gram features */
    if (!ALLOC(b->mine, b->cap_tok) || !ALLOC(b->skip_off, n_dskip + 1) ||
        !ALLOC(b->skip_red, F->n_feat - F->n_ngram_feat))
        return nglm_error_set(err, "out of memory for a batch of %zu tokens", b->cap_tok);
    b->word_rank = word_rank;
    b->rank = rank;
    return 0;
}

void nglm_batch_clear(nglm_batch *b)
{
    for (size_t s = 0; s < b->n_d; s++)
        b->slot_of[b->dctx[s]] = SLOT_NONE;
    for (int k = 0; k < b->nd; k++) {
        for (size_t i = 0; i < b->n_pending[k]; i++)
            b->slot_of[b->pending[k][i]] = SLOT_NONE;
        b->n_pending[k] = 0;
    }
    b->n_d = 0;
    b->n_tok = 0;
    for (size_t k = 0; k < b->n_dskip; k++)
        b->skip_in[b->dskip[k]] = 0;
    b->n_dskip = 0;
}

void nglm_batch_drop(nglm_batch *b)
{
    const nglm_features *F = b->F;
    if (b->grad) {
        for (size_t s = 0; s < b->n_d; s++) {
            int32_t x = b->dctx[s];
            memset(b->grad + F->ctx_first[x], 0,
                   (F->ctx_first[x + 1] - F->ctx_first[x]) * sizeof *b->grad);
        }
        memset(b->fix, 0, (size_t)b->threads * (size_t)F->V * sizeof *b->fix);
        size_t n_sf = F->n_feat - F->n_ngram_feat;
        for (size_t k = 0; b->fixskip && k < b->n_dskip; k++) {
            uint32_t lo, hi;
            nglm_batch_skip_range(b, k, &lo, &hi);
            for (int i = 0; i < b->threads; i++)
                memset(b->fixskip + (size_t)i * n_sf + (lo - F->n_ngram_feat), 0,
                       (hi - lo) * sizeof *b->fixskip);
        }
    }
    nglm_batch_clear(b);
}

void nglm_batch_skip_range(const nglm_batch *b, size_t k, uint32_t *lo, uint32_t *hi)
{
    const nglm_features *F = b->F;
    int32_t i = b->dskip[k] / F->V, v = b->dskip[k] % F->V;
    *lo = F->skip_first[i][v];
    *hi = F->skip_first[i][v + 1];
}

void nglm_batch_add(nglm_batch *b, const int32_t *sent, size_t i)
{
    size_t t = b->n_tok++;
    b->sent[t] = sent;
    b->pos[t] = (uint32_t)i;
    b->y[t] = sent[i];
    if (b->word_rank)
        b->mine[t] = b->word_rank[i > 0 ? sent[i - 1] : NGLM_BOS] == b->rank;
}

/* The token is this rank's (always, unless sharded). */
static inline int is_mine(const nglm_batch *b, size_t t) { return !b->mine || b->mine[t]; }

/* Looks up every token's chain of contexts (in parallel), then lists the
 * distinct contexts in order of first appearance, by length. */
static void find_contexts(nglm_batch *b)
{
    long n_tok = (long)b->n_tok;
    int nd = b->nd;
#pragma omp parallel for schedule(static) num_threads(b->threads)
    for (long t = 0; t < n_tok; t++) {
        int32_t *chain = b->chain + (size_t)t * nd;
        int depth = is_mine(b, (size_t)t)
                        ? nglm_features_chain(b->F, b->sent[t], b->pos[t], chain) : 0;
        for (int j = depth; j < nd; j++)
            chain[j] = -1;
    }
    for (long t = 0; t < n_tok; t++) {
        const int32_t *chain = b->chain + (size_t)t * nd;
        for (int j = 0; j < nd && chain[j] >= 0; j++)
            if (b->slot_of[chain[j]] == SLOT_NONE) {
                b->slot_of[chain[j]] = SLOT_LISTED; /* slot assigned below */
                b->pending[j][b->n_pending[j]++] = chain[j];
            }
    }
}

void nglm_batch_unigrams(nglm_batch *b, const double *theta)
{
    long V = b->F->V;
    double U = 0, *es = b->es;
    es[NGLM_BOS] = 0; /* <s> is never predicted */
#pragma omp parallel for schedule(static) num_threads(b->threads)
    for (long w = 1; w < V; w++)
        es[w] = exp(theta[w]);
    for (long w = 1; w < V; w++) /* in order: the same sum for any thread count */
        U += es[w];
    b->U = U;
}

/* Gives the pending contexts their slots, grouped by length, and lists each
 * slot's children (slots one longer whose parent it is). */
static void assign_slots(nglm_batch *b)
{
    const nglm_features *F = b->F;
    size_t n = 0;
    b->d_start[0] = 0;
    for (int k = 0; k < b->nd; k++) {
        for (size_t i = 0; i < b->n_pending[k]; i++) {
            b->dctx[n] = b->pending[k][i];
            b->slot_of[b->pending[k][i]] = SLOT_OF(n);
            n++;
        }
        b->n_pending[k] = 0;
        b->d_start[k + 1] = n;
    }
    b->n_d = n;
    /* counting sort of the slots of length >= 2 by their parent's slot */
    memset(b->kid_start, 0, (n + 1) * sizeof *b->kid_start);
    size_t first_kid = b->nd ? b->d_start[1] : n;
    for (size_t s = first_kid; s < n; s++)
        b->kid_start[slot(b, F->ctx_parent[b->dctx[s]]) + 1]++;
    for (size_t s = 0; s < n; s++)
        b->kid_start[s + 1] += b->kid_start[s];
    size_t *fill = b->kid_start; /* reuse: advance starts, then shift back */
    for (size_t s = first_kid; s < n; s++) {
        int32_t p = slot(b, F->ctx_parent[b->dctx[s]]);
        b->kids[fill[p]++] = (int32_t)s;
    }
    for (size_t s = n; s > 0; s--)
        fill[s] = fill[s - 1];
    fill[0] = 0;
}


/* ---------------------------------------------------------------- skip-gram features
 *
 * Skip-grams do not nest inside the n-gram chain, so for each token t the
 * words K_t of its skip contexts' successor lists get a correction on top of
 * the n-gram computation (doc/model.md §2, "Other feature templates"):
 *
 *   Z(h)    = Z_ngram(h) + Σ_{w ∈ K_t} e(w)·(Π_g exp θ_g − 1)
 *   P(w|h)  = q(w) / Z(h),   q(w) = e(w)·Π_g exp θ_g  for w ∈ K_t
 *
 * where e(w) = exp(s_ngram(h, w)) = es[f*] for the deepest n-gram feature
 * f* of w along the token's chain.  f* is read from one dense per-thread
 * map word → deepest feature (the word itself when it has none): the
 * length-1 context's successors are loaded once per group of tokens sharing
 * it, each token's (short) longer contexts on top and undone after it.
 * Once a training token's
 * Z is known, the extra expectation q(w)/Z − e(w)/Z is added at f*, from
 * where the n-gram backward pass carries it down the chain like any other
 * expectation, and the skip-gram features' expectations are summed over
 * threads in fixed point.  The work is Σ_t |K_t|: per token, unlike the
 * n-gram part.
 */

/* Sorts the tokens by the slot of their length-1 context (counting sort);
 * group 0 holds the tokens without one.  A sharded batch groups only its
 * own tokens. */
static void group_tokens(nglm_batch *b)
{
    size_t n1 = b->nd ? b->d_start[1] : 0, n_grp = n1 + 1;
    size_t *start = b->grp_start;
    memset(start, 0, (n_grp + 1) * sizeof *start);
    for (size_t t = 0; t < b->n_tok; t++) {
        int32_t x = b->nd ? b->chain[t * (size_t)b->nd] : -1;
        if (is_mine(b, t))
            start[(x < 0 ? 0 : (size_t)slot(b, x) + 1) + 1]++;
    }
    for (size_t g = 0; g < n_grp; g++)
        start[g + 1] += start[g];
    for (size_t t = 0; t < b->n_tok; t++) {
        int32_t x = b->nd ? b->chain[t * (size_t)b->nd] : -1;
        if (!is_mine(b, t))
            continue;
        size_t g = x < 0 ? 0 : (size_t)slot(b, x) + 1;
        b->grp_tok[start[g]++] = (int32_t)t;
    }
    for (size_t g = n_grp; g > 0; g--)
        start[g] = start[g - 1];
    start[0] = 0;
    b->n_grp = n_grp;
}

/* The skip-gram part of token t's backward pass, run by the forward pass
 * of a training batch as soon as the token's Z is known, while its n
 * entries (word, f*, q) are in this thread's scratch at base: adds the
 * extra expectation (q(w) − e(w))/Z at f* (an n-gram feature of the token's
 * group, which no other thread touches; at a unigram, in the thread's fixed
 * point row) and P(w|h) to the thread's fixed-point sum of each skip-gram
 * feature.  Storing every token's entries for a separate pass instead cost
 * 16 bytes an entry, thousands of entries a token, written and read back
 * from memory. */
static void skip_token_backward(nglm_batch *b, size_t t, size_t base, uint32_t n, int tid)
{
    const nglm_features *F = b->F;
    const int32_t *fw = F->feat_word;
    int ns = F->n_skip;
    int32_t V = F->V;
    size_t n_sf = F->n_feat - F->n_ngram_feat, base_sf = F->n_ngram_feat;
    int64_t *fix = b->fix + (size_t)tid * (size_t)V;
    int64_t *fs = b->fixskip + (size_t)tid * n_sf;
    double *val = b->scr_val + (size_t)tid * (size_t)V;
    double inv = 1.0 / b->z[t];
    for (uint32_t e = 0; e < n; e++) {
        int32_t w = b->st_w[base + e], fstar = b->st_f[base + e];
        double q = b->st_q[base + e];
        double extra = (q - b->es[fstar]) * inv;
        if (fstar >= V)
            b->grad[fstar] += extra;
        else
            fix[w] += TO_FIX(extra);
        val[w] = q * inv;
    }
    for (int i = 0; i < ns; i++) {
        int32_t v = b->sk[t * (size_t)ns + (size_t)i];
        if (v < 0)
            continue;
        for (uint32_t gf = F->skip_first[i][v]; gf < F->skip_first[i][v + 1]; gf++)
            fs[gf - base_sf] += TO_FIX(val[fw[gf]]);
    }
}

/* Skip-gram forward: lists the batch's skip contexts, computes their
 * exp(θ), and adds each token's skip-gram terms to z and sy.  A sharded
 * batch lists the skip contexts of all its tokens (every rank then has the
 * same list, in the same order) but adds the terms of its own only. */
/* The skip words of every token of the batch (sk) and the distinct skip
 * contexts (template, word) they name (dskip). */
static void skip_contexts(nglm_batch *b)
{
    const nglm_features *F = b->F;
    int ns = F->n_skip;
    int32_t V = F->V;
    for (size_t t = 0; t < b->n_tok; t++) {
        for (int i = 0; i < ns; i++) {
            int32_t v = nglm_features_skip_word(b->sent[t], b->pos[t], F->skip_dist[i]);
            b->sk[t * (size_t)ns + (size_t)i] = v;
            if (v < 0)
                continue;
            size_t key = (size_t)i * (size_t)V + (size_t)v;
            if (!b->skip_in[key]) {
                b->skip_in[key] = 1;
                b->dskip[b->n_dskip++] = (int32_t)key;
            }
        }
    }
}

/* One token's skip-gram part of the forward pass: multiplies the skip-gram
 * factors of its words into val (marked with stamp), lists those words in
 * st_w[base..], with each its deepest n-gram feature (st_f) and exact
 * unnormalised probability (st_q), and adds their change to z[t] and sy[t].
 * map holds, for every word, its feature of the token's shortest context
 * (the group's); the token's longer contexts are laid over it and undone.
 * Returns how many words the skip-grams touched. */
static uint32_t skip_token_forward(nglm_batch *b, size_t t, int64_t stamp, size_t base,
                                   int32_t *map, int64_t *mark, double *val)
{
    const nglm_features *F = b->F;
    const int32_t *fw = F->feat_word, *back = F->feat_back;
    const double *es = b->es;
    int ns = F->n_skip, nd = b->nd;
    uint32_t n = 0;
    for (int i = 0; i < ns; i++) {
        int32_t v = b->sk[t * (size_t)ns + (size_t)i];
        if (v < 0)
            continue;
        for (uint32_t gf = F->skip_first[i][v]; gf < F->skip_first[i][v + 1]; gf++) {
            int32_t w = fw[gf];
            if (mark[w] != stamp) {
                mark[w] = stamp;
                val[w] = 1.0;
                b->st_w[base + n++] = w;
            }
            val[w] *= es[gf];
        }
    }
    /* the longer contexts' (short) lists, shortest first, so that map[w]
     * ends at w's deepest feature */
    const int32_t *chain = b->chain + t * (size_t)nd;
    int depth = 1;
    for (; depth < nd && chain[depth] >= 0; depth++)
        for (uint32_t f = F->ctx_first[chain[depth]]; f < F->ctx_first[chain[depth] + 1]; f++)
            map[fw[f]] = (int32_t)f;
    double zs = 0;
    for (uint32_t e = 0; e < n; e++) {
        int32_t w = b->st_w[base + e], fstar = map[w];
        double q = es[fstar] * val[w];
        b->st_f[base + e] = fstar;
        b->st_q[base + e] = q;
        zs += q - es[fstar];
    }
    /* undone longest first: each feature's back-off is the one one context
     * shorter (succ(c) ⊆ succ(c⁻)), which map held */
    while (--depth >= 1)
        for (uint32_t f = F->ctx_first[chain[depth]]; f < F->ctx_first[chain[depth] + 1]; f++)
            map[fw[f]] = back[f];
    b->z[t] += zs;
    int32_t y = b->y[t];
    if (mark[y] == stamp)
        b->sy[t] += log(val[y]);
    return n;
}

static void skip_forward(nglm_batch *b, const double *theta)
{
    const nglm_features *F = b->F;
    const int32_t *fw = F->feat_word;
    int32_t V = F->V;
    int training = b->grad != NULL;

    skip_contexts(b);
    long n_dskip = (long)b->n_dskip;
#pragma omp parallel for schedule(dynamic, 16) num_threads(b->threads)
    for (long k = 0; k < n_dskip; k++) {
        uint32_t lo, hi;
        nglm_batch_skip_range(b, (size_t)k, &lo, &hi);
        nglm_blocks_ensure(F->blocks, theta + lo, (size_t)(hi - lo) * sizeof *theta);
        for (uint32_t g = lo; g < hi; g++)
            b->es[g] = exp(theta[g]);
    }

    /* token by token, group by group: a group's shortest context is laid
     * over map once for all its tokens */
    group_tokens(b);
    long n_grp = (long)b->n_grp;
    int64_t stamp0 = b->stamp;
    b->stamp += (int64_t)b->n_tok;
#pragma omp parallel num_threads(b->threads)
    {
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        int32_t *map = b->scr_map + (size_t)tid * (size_t)V;
        int64_t *mark = b->scr_mark + (size_t)tid * (size_t)V;
        double *val = b->scr_val + (size_t)tid * (size_t)V;
        size_t base = (size_t)tid * b->scr_tmp_cap;
#pragma omp for schedule(dynamic, 1)
        for (long g = 0; g < n_grp; g++) {
            int32_t x = g > 0 ? b->dctx[g - 1] : -1;
            if (x >= 0)
                for (uint32_t f = F->ctx_first[x]; f < F->ctx_first[x + 1]; f++)
                    map[fw[f]] = (int32_t)f;
            for (size_t k = b->grp_start[g]; k < b->grp_start[g + 1]; k++) {
                size_t t = (size_t)b->grp_tok[k];
                uint32_t n = skip_token_forward(b, t, stamp0 + (int64_t)t, base, map, mark, val);
                if (training && !nglm_batch_token_diverged(b, t))
                    skip_token_backward(b, t, base, n, tid);
            }
            if (x >= 0)
                for (uint32_t f = F->ctx_first[x]; f < F->ctx_first[x + 1]; f++)
                    map[fw[f]] = fw[f];
        }
    }
}

/* Lays the batch's skip ranges out one after the other in skip_red (skip
 * context k from skip_off[k]) and returns skip_red. */
static int64_t *skip_pack(nglm_batch *b)
{
    size_t n = 0;
    for (size_t k = 0; k < b->n_dskip; k++) {
        uint32_t lo, hi;
        nglm_batch_skip_range(b, k, &lo, &hi);
        b->skip_off[k] = n;
        n += hi - lo;
    }
    b->skip_off[b->n_dskip] = n;
    return b->skip_red;
}

/* Skip-gram backward: the forward pass has added each token's extra
 * expectations (skip_token_backward); sums the skip-gram features'
 * fixed-point expectations over the threads (and the ranks) into grad. */
static void skip_backward(nglm_batch *b)
{
    const nglm_features *F = b->F;
    size_t n_sf = F->n_feat - F->n_ngram_feat, base_sf = F->n_ngram_feat;
    long n_dskip = (long)b->n_dskip;
    int T = b->threads;
    /* sharded: the sums go packed through skip_red to be summed over ranks */
    int64_t *red = b->word_rank ? skip_pack(b) : NULL;
#pragma omp parallel for schedule(dynamic, 16) num_threads(b->threads)
    for (long k = 0; k < n_dskip; k++) {
        uint32_t lo, hi;
        nglm_batch_skip_range(b, (size_t)k, &lo, &hi);
        for (uint32_t gf = lo; gf < hi; gf++) {
            int64_t sum = 0;
            for (int i = 0; i < T; i++) {
                sum += b->fixskip[(size_t)i * n_sf + gf - base_sf];
                b->fixskip[(size_t)i * n_sf + gf - base_sf] = 0;
            }
            if (red)
                red[b->skip_off[k] + gf - lo] = sum;
            else
                b->grad[gf] = (double)sum / FIX_SCALE;
        }
    }
    if (red) {
        nglm_dist_sum_i64(red, b->skip_off[n_dskip]);
#pragma omp parallel for schedule(dynamic, 16) num_threads(b->threads)
        for (long k = 0; k < n_dskip; k++) {
            uint32_t lo, hi;
            nglm_batch_skip_range(b, (size_t)k, &lo, &hi);
            for (uint32_t gf = lo; gf < hi; gf++)
                b->grad[gf] = (double)red[b->skip_off[k] + gf - lo] / FIX_SCALE;
        }
    }
}

void nglm_batch_forward(nglm_batch *b, const double *theta)
{
    const nglm_features *F = b->F;
    if (b->nd > 0)
        find_contexts(b);
    assign_slots(b);
    double *es = b->es;
    const int32_t *back = F->feat_back;

    /* es and D of every context, shortest first (a context needs its
     * parent's es) */
    for (int k = 0; k < b->nd; k++) {
        long lo = (long)b->d_start[k], hi = (long)b->d_start[k + 1];
#pragma omp parallel for schedule(dynamic, 4) num_threads(b->threads)
        for (long s = lo; s < hi; s++) {
            int32_t x = b->dctx[s];
            double d = 0;
            nglm_blocks_ensure(F->blocks, theta + F->ctx_first[x],
                               (size_t)(F->ctx_first[x + 1] - F->ctx_first[x]) * sizeof *theta);
            for (uint32_t f = F->ctx_first[x]; f < F->ctx_first[x + 1]; f++) {
                double lower = es[back[f]];
                es[f] = lower * exp(theta[f]);
                d += es[f] - lower;
            }
            b->D[s] = d;
        }
    }

    /* each token's normaliser and target score */
    long n_tok = (long)b->n_tok;
    int nd = b->nd;
#pragma omp parallel for schedule(static) num_threads(b->threads)
    for (long t = 0; t < n_tok; t++) {
        const int32_t *chain = b->chain + (size_t)t * nd;
        int32_t *tf = b->tfeat + (size_t)t * nd;
        if (!is_mine(b, (size_t)t)) { /* zeros, for the merge below */
            for (int i = 0; i < nd; i++)
                tf[i] = -1;
            b->z[t] = b->sy[t] = 0;
            continue;
        }
        int32_t y = b->y[t], deepest = y;
        double z = b->U;
        int j = 0;
        for (; j < nd && chain[j] >= 0; j++)
            z += b->D[slot(b, chain[j])];
        int found = 1;
        for (int i = 0; i < nd; i++) {
            tf[i] = (found && i < j) ? nglm_features_find(F, chain[i], y) : -1;
            if (tf[i] < 0)
                found = 0;
            else
                deepest = tf[i];
        }
        b->z[t] = z;
        b->sy[t] = log(es[deepest]);
    }
    if (F->n_skip > 0)
        skip_forward(b, theta);
    if (b->word_rank) { /* each token's z and sy from the rank that owns it */
        nglm_dist_merge(b->z, b->n_tok, sizeof *b->z);
        nglm_dist_merge(b->sy, b->n_tok, sizeof *b->sy);
    }
}

double nglm_batch_backward(nglm_batch *b)
{
    const nglm_features *F = b->F;
    const int32_t *back = F->feat_back, *fword = F->feat_word;
    double *es = b->es, *grad = b->grad;
    int32_t V = F->V;
    int nd = b->nd;

    /* A(x) = Σ 1/Z(h) over the tokens whose history has x; the loss */
    double loss = 0, a_root = 0;
    memset(b->A, 0, b->n_d * sizeof *b->A);
    for (size_t t = 0; t < b->n_tok; t++) {
        double inv = 1.0 / b->z[t];
        const int32_t *chain = b->chain + t * (size_t)nd;
        a_root += inv;
        for (int j = 0; j < nd && chain[j] >= 0; j++)
            b->A[slot(b, chain[j])] += inv;
        loss += log(b->z[t]) - b->sy[t];
    }
    b->A_root = a_root;
    if (F->n_skip > 0)
        skip_backward(b);

    /* expected counts, longest contexts first: pull each child's
     * correction, then E = A·es + corrections */
    for (int k = nd - 1; k >= 0; k--) {
        long lo = (long)b->d_start[k], hi = (long)b->d_start[k + 1];
#pragma omp parallel for schedule(dynamic, 4) num_threads(b->threads)
        for (long s = lo; s < hi; s++) {
            for (size_t c = b->kid_start[s]; c < b->kid_start[s + 1]; c++) {
                int32_t cs = b->kids[c], y = b->dctx[cs];
                double a = b->A[cs];
                for (uint32_t f = F->ctx_first[y]; f < F->ctx_first[y + 1]; f++)
                    grad[back[f]] += grad[f] - a * es[back[f]];
            }
            int32_t x = b->dctx[s];
            double a = b->A[s];
            for (uint32_t f = F->ctx_first[x]; f < F->ctx_first[x + 1]; f++)
                grad[f] += a * es[f];
        }
    }

    /* the unigram level: corrections of the length-1 contexts, summed
     * exactly in fixed point across threads */
    if (nd > 0) {
        long lo = (long)b->d_start[0], hi = (long)b->d_start[1];
#pragma omp parallel num_threads(b->threads)
        {
            int tid = 0;
#ifdef _OPENMP
            tid = omp_get_thread_num();
#endif
            int64_t *fix = b->fix + (size_t)tid * (size_t)V;
#pragma omp for schedule(dynamic, 4)
            for (long s = lo; s < hi; s++) {
                int32_t x = b->dctx[s];
                double a = b->A[s];
                for (uint32_t f = F->ctx_first[x]; f < F->ctx_first[x + 1]; f++)
                    fix[fword[f]] += TO_FIX(grad[f] - a * es[fword[f]]);
            }
        }
    }
    long nV = V;
    if (b->word_rank) { /* sharded: sum the threads into row 0, then over the ranks */
#pragma omp parallel for schedule(static) num_threads(b->threads)
        for (long w = 0; w < nV; w++)
            for (int i = 1; i < b->threads; i++) {
                b->fix[w] += b->fix[(size_t)i * V + w];
                b->fix[(size_t)i * V + w] = 0;
            }
        nglm_dist_sum_i64(b->fix, (size_t)V);
    }
#pragma omp parallel for schedule(static) num_threads(b->threads)
    for (long w = 0; w < nV; w++) {
        int64_t sum = 0;
        for (int i = 0; i < b->threads; i++) {
            sum += b->fix[(size_t)i * V + w];
            b->fix[(size_t)i * V + w] = 0;
        }
        grad[w] = a_root * es[w] + (double)sum / FIX_SCALE;
    }

    /* minus the observed counts */
    for (size_t t = 0; t < b->n_tok; t++) {
        const int32_t *tf = b->tfeat + t * (size_t)nd;
        grad[b->y[t]] -= 1.0;
        for (int j = 0; j < nd && tf[j] >= 0; j++)
            grad[tf[j]] -= 1.0;
        for (int i = 0; i < F->n_skip; i++) {
            int32_t v = b->sk[t * (size_t)F->n_skip + (size_t)i];
            int32_t g = v < 0 ? -1 : nglm_features_find_skip(F, i, v, b->y[t]);
            if (g >= 0)
                grad[g] -= 1.0;
        }
    }
    return loss;
}
