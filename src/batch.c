/*
 * batch.c — the grouped exact forward and backward passes over a batch of
 * tokens (the algorithm is described in batch.h and ../shared/MODEL.md §2).
 *
 * The slow, obviously-correct references these must agree with are
 * nglm_model_dist_dense (probabilities) and the finite-difference checks in
 * tests/check_model.c (gradients).
 */
#include "batch.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "nglm/vocab.h"

/* Fixed-point scale of the unigram corrections: exact sums, 2^-40 resolution. */
#define FIX_SCALE 1099511627776.0 /* 2^40 */

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
    if (!ok) {
        nglm_batch_free(b);
        return nglm_error_set(err, "out of memory for a batch of %zu tokens", max_tokens);
    }
    for (size_t x = 0; x < F->n_ctx; x++)
        b->slot_of[x] = -1;
    return 0;
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
    memset(b, 0, sizeof *b);
}

void nglm_batch_clear(nglm_batch *b)
{
    for (size_t s = 0; s < b->n_d; s++)
        b->slot_of[b->dctx[s]] = -1;
    for (int k = 0; k < b->nd; k++) {
        for (size_t i = 0; i < b->n_pending[k]; i++)
            b->slot_of[b->pending[k][i]] = -1;
        b->n_pending[k] = 0;
    }
    b->n_d = 0;
    b->n_tok = 0;
}

void nglm_batch_add(nglm_batch *b, const int32_t *sent, size_t i)
{
    size_t t = b->n_tok++;
    b->sent[t] = sent;
    b->pos[t] = (uint32_t)i;
    b->y[t] = sent[i];
}

/* Looks up every token's chain of contexts (in parallel), then lists the
 * distinct contexts in order of first appearance, by length. */
static void find_contexts(nglm_batch *b)
{
    long n_tok = (long)b->n_tok;
    int nd = b->nd;
#pragma omp parallel for schedule(static) num_threads(b->threads)
    for (long t = 0; t < n_tok; t++) {
        int32_t *chain = b->chain + (size_t)t * nd;
        int depth = nglm_features_chain(b->F, b->sent[t], b->pos[t], chain);
        for (int j = depth; j < nd; j++)
            chain[j] = -1;
    }
    for (long t = 0; t < n_tok; t++) {
        const int32_t *chain = b->chain + (size_t)t * nd;
        for (int j = 0; j < nd && chain[j] >= 0; j++)
            if (b->slot_of[chain[j]] == -1) {
                b->slot_of[chain[j]] = -2; /* listed; slot assigned below */
                b->pending[j][b->n_pending[j]++] = chain[j];
            }
    }
}

void nglm_batch_unigrams(nglm_batch *b, const double *theta)
{
    int32_t V = b->F->V;
    double U = 0;
    b->es[NGLM_BOS] = 0; /* <s> is never predicted */
    for (int32_t w = 1; w < V; w++) {
        b->es[w] = exp(theta[w]);
        U += b->es[w];
    }
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
            b->slot_of[b->pending[k][i]] = (int32_t)n;
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
        b->kid_start[b->slot_of[F->ctx_parent[b->dctx[s]]] + 1]++;
    for (size_t s = 0; s < n; s++)
        b->kid_start[s + 1] += b->kid_start[s];
    size_t *fill = b->kid_start; /* reuse: advance starts, then shift back */
    for (size_t s = first_kid; s < n; s++) {
        int32_t p = b->slot_of[F->ctx_parent[b->dctx[s]]];
        b->kids[fill[p]++] = (int32_t)s;
    }
    for (size_t s = n; s > 0; s--)
        fill[s] = fill[s - 1];
    fill[0] = 0;
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
        int32_t y = b->y[t], deepest = y;
        double z = b->U;
        int j = 0;
        for (; j < nd && chain[j] >= 0; j++)
            z += b->D[b->slot_of[chain[j]]];
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
            b->A[b->slot_of[chain[j]]] += inv;
        loss += log(b->z[t]) - b->sy[t];
    }
    b->A_root = a_root;

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
                    fix[fword[f]] += llround((grad[f] - a * es[fword[f]]) * FIX_SCALE);
            }
        }
    }
    for (int32_t w = 0; w < V; w++) {
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
    }
    return loss;
}
