/*
 * classlm_train.c — training Model M (nglm/classlm.h, doc/model.md §8):
 * minibatches of whole sentences, the exact gradient of each by a grouped
 * backward pass, AdaGrad with lazy proximal ℓ1/ℓ2 (as src/train.c).
 *
 * A minibatch runs in three passes, each parallel and each writing only
 * what it owns, so the weights are bit-identical for any thread count:
 *   forward   per token: its context chains, P(c | h) for every class (a
 *             row of P) and P(v | h, k) for the words of its class (a row
 *             of Q), from nglm_cl_token;
 *   backward  per distinct context of the batch: the gradient of its
 *             features, Σ over its tokens (in token order) of the expected
 *             count minus the observed one; per class, the biases and the
 *             word unigrams likewise;
 *   update    per distinct context (its whole successor list) and every
 *             unigram and bias: the AdaGrad step and the pending penalty.
 */
#include "nglm/classlm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "classlm_core.h"
#include "fileio.h"
#include "nglm/progress.h"
#include "rng.h"

nglm_classlm_train_options nglm_classlm_train_options_default(void)
{
    nglm_classlm_train_options o;
    memset(&o, 0, sizeof o);
    o.l1 = 0.5;
    o.l2 = 1.0 / 6.0;
    o.lr = 1.0;
    o.ada_init = 0.1;
    o.epochs = 15;
    o.batch = 2000;
    o.seed = 1;
    o.min_gain = 0.01;
    o.eval_start = 1;
    return o;
}


/* Every token's context chains (n1 entries each, by text position), so
 * that epochs after the first do not search the indexes again. */
typedef struct chains {
    int32_t *ncc, *nww;
    uint8_t *dcc, *dww;
} chains;

static void chains_free(chains *c)
{
    free(c->ncc);
    free(c->nww);
    free(c->dcc);
    free(c->dww);
}

/* Tokens per block of the class biases' gradient: each block's Σ P is a
 * row-wise SIMD sum, and the blocks are added in order, so the sum does not
 * depend on the number of threads. */
#define BLOCK 256

/* One minibatch's tokens and what the passes share. */
typedef struct batch {
    const chains *chains;   /* NULL: find each token's chains */
    const nglm_classlm *m;
    int n1;                 /* order - 1: chain entries per token */
    int threads;
    size_t n, cap;
    const int32_t *iw;      /* the text in internal ids */
    size_t *pos;            /* (cap) token position in iw */
    int32_t *ipos;          /* (cap) position in its sentence */
    int32_t *ncc, *nww;     /* (cap × n1) chains */
    int32_t *dcc, *dww;     /* (cap) depths */
    double *lp;             /* (cap) ln P */
    double *P;              /* (cap × (C + 1)) P(c | h) */
    size_t *qoff;           /* (cap + 1) Q rows */
    double *Q;              /* P(v | h, k_t) for the words v of the token's class that
                             * its history lists (qlo .. qhi); the others are eu[v]·izw */
    double *izw;            /* (cap) 1 / the word factor's normaliser */
    uint32_t *qlo, *qhi;    /* (cap) the listed words: ww features of the shortest context */
    size_t qcap;
    double *eu, *U;         /* exp θ_v, Σ per class */
    double **ws;            /* (threads) scratch of the largest class */
    /* distinct contexts: cc and ww (wc has ww's contexts) */
    int32_t *cc_slot, *ww_slot;   /* (n_ctx) slot in the batch or -1 */
    int32_t *cc_node, *ww_node;   /* (slots) */
    uint32_t *cc_off, *ww_off;    /* (slots + 1) into *_tok */
    int32_t *cc_tok, *ww_tok;     /* tokens of each slot, in token order */
    size_t n_ccs, n_wws;
    uint32_t *k_off;        /* (C + 2) tokens by class */
    int32_t *k_tok;         /* (cap) */
    double **acc;           /* (threads) C + 1 sums */
    double *bsum;           /* (cap / BLOCK + 1) × (C + 1): Σ P over each block of tokens */
    int32_t **seen;         /* (threads) C + 1 marks, -1 between uses */
} batch;

static void batch_free(batch *b)
{
    free(b->pos);
    free(b->ipos);
    free(b->ncc);
    free(b->nww);
    free(b->dcc);
    free(b->dww);
    free(b->lp);
    free(b->P);
    free(b->qoff);
    free(b->Q);
    free(b->izw);
    free(b->qlo);
    free(b->qhi);
    free(b->eu);
    free(b->U);
    for (int i = 0; b->ws && i < b->threads; i++)
        free(b->ws[i]);
    for (int i = 0; b->acc && i < b->threads; i++)
        free(b->acc[i]);
    for (int i = 0; b->seen && i < b->threads; i++)
        free(b->seen[i]);
    free(b->ws);
    free(b->acc);
    free(b->seen);
    free(b->cc_slot);
    free(b->ww_slot);
    free(b->cc_node);
    free(b->ww_node);
    free(b->cc_off);
    free(b->ww_off);
    free(b->cc_tok);
    free(b->ww_tok);
    free(b->k_off);
    free(b->k_tok);
    free(b->bsum);
    memset(b, 0, sizeof *b);
}

static int batch_init(batch *b, const nglm_classlm *m, const int32_t *iw, size_t cap,
                      int threads, nglm_error *err)
{
    memset(b, 0, sizeof *b);
    b->m = m;
    b->iw = iw;
    b->cap = cap;
    b->threads = threads;
    b->n1 = m->order > 1 ? m->order - 1 : 1;
    size_t C1 = (size_t)m->C + 1, n1 = (size_t)b->n1;
    b->pos = malloc(cap * sizeof *b->pos);
    b->ipos = malloc(cap * sizeof *b->ipos);
    b->ncc = malloc(cap * n1 * sizeof *b->ncc);
    b->nww = malloc(cap * n1 * sizeof *b->nww);
    b->dcc = malloc(cap * sizeof *b->dcc);
    b->dww = malloc(cap * sizeof *b->dww);
    b->lp = malloc(cap * sizeof *b->lp);
    b->P = malloc(cap * C1 * sizeof *b->P);
    b->qoff = malloc((cap + 1) * sizeof *b->qoff);
    b->izw = malloc(cap * sizeof *b->izw);
    b->qlo = malloc(cap * sizeof *b->qlo);
    b->qhi = malloc(cap * sizeof *b->qhi);
    b->eu = malloc((size_t)m->V * sizeof *b->eu);
    b->U = malloc(C1 * sizeof *b->U);
    b->ws = calloc((size_t)threads, sizeof *b->ws);
    b->acc = calloc((size_t)threads, sizeof *b->acc);
    b->seen = calloc((size_t)threads, sizeof *b->seen);
    b->cc_slot = malloc((m->cc.n_ctx + 1) * sizeof *b->cc_slot);
    b->ww_slot = malloc((m->ww.n_ctx + 1) * sizeof *b->ww_slot);
    b->cc_node = malloc((cap * n1 + 1) * sizeof *b->cc_node);
    b->ww_node = malloc((cap * n1 + 1) * sizeof *b->ww_node);
    b->cc_off = malloc((cap * n1 + 2) * sizeof *b->cc_off);
    b->ww_off = malloc((cap * n1 + 2) * sizeof *b->ww_off);
    b->cc_tok = malloc((cap * n1 + 1) * sizeof *b->cc_tok);
    b->ww_tok = malloc((cap * n1 + 1) * sizeof *b->ww_tok);
    b->k_off = malloc((C1 + 1) * sizeof *b->k_off);
    b->k_tok = malloc(cap * sizeof *b->k_tok);
    b->bsum = malloc((cap / BLOCK + 1) * C1 * sizeof *b->bsum);
    int ok = b->pos && b->ipos && b->ncc && b->nww && b->dcc && b->dww && b->lp && b->P &&
             b->qoff && b->izw && b->qlo && b->qhi && b->eu && b->U && b->ws && b->acc && b->seen && b->cc_slot && b->ww_slot &&
             b->cc_node && b->ww_node && b->cc_off && b->ww_off && b->cc_tok && b->ww_tok &&
             b->k_off && b->k_tok && b->bsum;
    uint32_t maxc = nglm_cl_max_class(m);
    for (int i = 0; ok && i < threads; i++)
        ok = (b->ws[i] = malloc(maxc * sizeof **b->ws)) &&
             (b->acc[i] = malloc(C1 * sizeof **b->acc)) &&
             (b->seen[i] = malloc(C1 * sizeof **b->seen));
    for (int i = 0; ok && i < threads; i++)
        for (size_t k = 0; k < C1; k++)
            b->seen[i][k] = -1;
    if (!ok) {
        batch_free(b);
        return nglm_error_set(err, "out of memory");
    }
    for (size_t x = 0; x < m->cc.n_ctx; x++)
        b->cc_slot[x] = -1;
    for (size_t x = 0; x < m->ww.n_ctx; x++)
        b->ww_slot[x] = -1;
    return 0;
}

static int thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* Asks for the first lines of the successor lists that the token at text
 * position p reads in the class factor (nglm_cl_token), so that they
 * arrive while the token before it is scored: the lists lie scattered over
 * the indexes, and their first lines are most of the forward pass's wait. */
static void prefetch_token(const nglm_classlm *m, const chains *ch, size_t p, size_t n1)
{
    const int32_t *ncc = ch->ncc + p * n1, *nww = ch->nww + p * n1;
    for (int j = 0; j < ch->dcc[p]; j++) {
        uint32_t lo = m->cc.ctx_first[ncc[j]];
        __builtin_prefetch(m->cc.feat_word + lo);
        __builtin_prefetch(m->theta + m->off_cc + lo);
    }
    for (int j = 0; j < ch->dww[p]; j++) {
        uint32_t lo = m->wc.ctx_first[nww[j]];
        __builtin_prefetch(m->wc.feat_word + lo);
        __builtin_prefetch(m->theta + m->off_wc + lo);
    }
}

/* The forward pass over the batch's tokens (b->n of them, pos/ipos set).
 * Returns -1 if Q cannot grow. */
static int forward(batch *b, nglm_error *err)
{
    const nglm_classlm *m = b->m;
    const size_t C1 = (size_t)m->C + 1;
    size_t q = 0;
    for (size_t t = 0; t < b->n; t++) {
        int32_t k = m->icls[b->iw[b->pos[t]]];
        b->qoff[t] = q;
        q += m->first[k + 1] - m->first[k];
    }
    b->qoff[b->n] = q;
    if (q > b->qcap) {
        double *Q = realloc(b->Q, q * sizeof *Q);
        if (!Q)
            return nglm_error_set(err, "out of memory");
        b->Q = Q;
        b->qcap = q;
    }
    const long n = (long)b->n;
#pragma omp parallel num_threads(b->threads)
    {
        double *ws = b->ws[thread_id()];
        int32_t hist[NGLM_MAX_ORDER];
#pragma omp for schedule(static)
        for (long t = 0; t < n; t++) {
            size_t p = b->pos[t], n1 = (size_t)b->n1;
            int32_t *ncc = b->ncc + (size_t)t * n1, *nww = b->nww + (size_t)t * n1;
            int dcc, dww;
            if (b->chains && t + 1 < n)
                prefetch_token(m, b->chains, b->pos[t + 1], n1);
            if (b->chains) { /* the text's chains, found once */
                memcpy(ncc, b->chains->ncc + p * n1, n1 * sizeof *ncc);
                memcpy(nww, b->chains->nww + p * n1, n1 * sizeof *nww);
                dcc = b->chains->dcc[p];
                dww = b->chains->dww[p];
            } else {
                int i = b->ipos[t];
                int nh = i < b->n1 ? i : b->n1;
                if (m->order == 1)
                    nh = 0;
                for (int j = 0; j < nh; j++)
                    hist[j] = b->iw[p - 1 - (size_t)j];
                int bos = nh == i;
                dcc = nglm_cl_chain(&m->cc, hist, nh, bos, m->icls, ncc);
                dww = nglm_cl_chain(&m->ww, hist, nh, bos, NULL, nww);
            }
            b->dcc[t] = dcc;
            b->dww[t] = dww;
            int32_t w = b->iw[p];
            double *pc = b->P + (size_t)t * C1;
            nglm_cl_tok o;
            b->lp[t] = nglm_cl_token(m, b->eu, b->U, ncc, dcc, nww, dww, w, pc, ws, &o);
            double iz = 1.0 / o.Zc;
            for (size_t c = 1; c < C1; c++)
                pc[c] *= iz;
            /* the word factor: only the listed words' P (the unigram
             * gradient takes the rest as eu[v]·izw, per class) */
            int32_t lo = (int32_t)m->first[m->icls[w]];
            double *qr = b->Q + b->qoff[t], izw = 1.0 / o.Zw;
            b->izw[t] = izw;
            b->qlo[t] = o.lo;
            b->qhi[t] = o.hi;
            for (uint32_t f = o.lo; f < o.hi; f++) {
                int32_t v = m->ww.feat_word[f];
                qr[v - lo] = b->eu[v] * izw * exp(ws[v - lo]);
            }
        }
    }
    return 0;
}

/* Groups the batch's tokens by context (cc and ww) and by class, in token
 * order. */
static void group(batch *b)
{
    const nglm_classlm *m = b->m;
    const size_t n1 = (size_t)b->n1;
    size_t ncs = 0, nws = 0;
    /* slots in order of first appearance, and their sizes */
    for (size_t t = 0; t < b->n; t++) {
        for (int j = 0; j < b->dcc[t]; j++) {
            int32_t x = b->ncc[t * n1 + (size_t)j];
            if (b->cc_slot[x] < 0) {
                b->cc_slot[x] = (int32_t)ncs;
                b->cc_node[ncs] = x;
                b->cc_off[++ncs] = 0;
            }
            b->cc_off[b->cc_slot[x] + 1]++;
        }
        for (int j = 0; j < b->dww[t]; j++) {
            int32_t x = b->nww[t * n1 + (size_t)j];
            if (b->ww_slot[x] < 0) {
                b->ww_slot[x] = (int32_t)nws;
                b->ww_node[nws] = x;
                b->ww_off[++nws] = 0;
            }
            b->ww_off[b->ww_slot[x] + 1]++;
        }
    }
    b->cc_off[0] = b->ww_off[0] = 0;
    for (size_t s = 0; s < ncs; s++)
        b->cc_off[s + 1] += b->cc_off[s];
    for (size_t s = 0; s < nws; s++)
        b->ww_off[s + 1] += b->ww_off[s];
    /* fill, moving each slot's offset forward, then move them back */
    for (size_t t = 0; t < b->n; t++) {
        for (int j = 0; j < b->dcc[t]; j++)
            b->cc_tok[b->cc_off[b->cc_slot[b->ncc[t * n1 + (size_t)j]]]++] = (int32_t)t;
        for (int j = 0; j < b->dww[t]; j++)
            b->ww_tok[b->ww_off[b->ww_slot[b->nww[t * n1 + (size_t)j]]]++] = (int32_t)t;
    }
    for (size_t s = ncs; s > 0; s--)
        b->cc_off[s] = b->cc_off[s - 1];
    for (size_t s = nws; s > 0; s--)
        b->ww_off[s] = b->ww_off[s - 1];
    b->cc_off[0] = b->ww_off[0] = 0;
    b->n_ccs = ncs;
    b->n_wws = nws;
    /* tokens by class */
    memset(b->k_off, 0, ((size_t)m->C + 2) * sizeof *b->k_off);
    for (size_t t = 0; t < b->n; t++)
        b->k_off[m->icls[b->iw[b->pos[t]]] + 1]++;
    for (int32_t k = 0; k <= m->C; k++)
        b->k_off[k + 1] += b->k_off[k];
    for (size_t t = 0; t < b->n; t++)
        b->k_tok[b->k_off[m->icls[b->iw[b->pos[t]]]]++] = (int32_t)t;
    for (int32_t k = m->C + 1; k > 0; k--)
        b->k_off[k] = b->k_off[k - 1];
    b->k_off[0] = 0;
}

static void ungroup(batch *b)
{
    for (size_t s = 0; s < b->n_ccs; s++)
        b->cc_slot[b->cc_node[s]] = -1;
    for (size_t s = 0; s < b->n_wws; s++)
        b->ww_slot[b->ww_node[s]] = -1;
    b->n_ccs = b->n_wws = 0;
}

/* The class-factor gradient of the features f0 .. f1-1 of F (one
 * context's successor list; weights at g) from the tokens toks[0..n) that
 * reach the context: Σ_t P(c | h_t) − [c = k_t], summed in token order.  A
 * long list reads all of each token's row into acc (SIMD); a short one
 * gathers its classes. */
static void class_grad(const batch *b, const nglm_features *F, uint32_t f0, uint32_t f1,
                       const int32_t *toks, size_t n, double *acc, double *g)
{
    const nglm_classlm *m = b->m;
    const size_t C1 = (size_t)m->C + 1;
    if ((size_t)(f1 - f0) * 8 < C1) {
        for (uint32_t f = f0; f < f1; f++) {
            int32_t c = F->feat_word[f];
            double s = 0;
            for (size_t i = 0; i < n; i++)
                s += b->P[(size_t)toks[i] * C1 + (size_t)c];
            for (size_t i = 0; i < n; i++)
                s -= m->icls[b->iw[b->pos[toks[i]]]] == c;
            g[f] = s;
        }
        return;
    }
    memset(acc, 0, C1 * sizeof *acc);
    for (size_t i = 0; i < n; i++) {
        const double *pc = b->P + (size_t)toks[i] * C1;
#pragma omp simd
        for (size_t c = 1; c < C1; c++)
            acc[c] += pc[c];
    }
    for (size_t i = 0; i < n; i++)
        acc[m->icls[b->iw[b->pos[toks[i]]]]] -= 1.0;
    for (uint32_t f = f0; f < f1; f++)
        g[f] = acc[F->feat_word[f]];
}

/* ---------------------------------------------------------------- the optimiser */

typedef struct opt_state {
    double *theta, *gsq, *g;
    uint32_t *last;
    uint32_t step;
    double lr, delta, share, l1, l2;
} opt_state;

/* Weights lo..hi-1 (offsets into the weight vector): as src/train.c's
 * prox_step, the gradient step at the AdaGrad rate, then the penalty of the
 * steps since each weight was last touched; the gradient is zeroed.  A SIMD
 * loop: square root and division are correctly rounded in vector lanes, so
 * the weights are the plain loop's bits. */
static void update_range(opt_state *o, size_t lo, size_t hi)
{
    double *restrict theta = o->theta, *restrict gsq = o->gsq, *restrict gr = o->g;
    uint32_t *restrict last = o->last;
    const double lr = o->lr, delta = o->delta, share = o->share, l1 = o->l1, l2 = o->l2;
    const uint32_t step = o->step;
#pragma omp simd
    for (size_t f = lo; f < hi; f++) {
        double g = gr[f], q = gsq[f] + g * g;
        double rate = lr / sqrt(q + delta);
        double pen = (double)(step - last[f]) * share * rate;
        double th = (theta[f] - rate * g) / (1.0 + pen * l2);
        double over = fabs(th) - pen * l1;
        theta[f] = over > 0 ? copysign(over, th) : 0.0;
        gsq[f] = q;
        last[f] = step;
        gr[f] = 0;
    }
}

/* The step of the word context x's features in the classes of its tokens
 * toks[0..nt) (seen: C + 1 marks, -1 between uses). */
static void update_classes(batch *b, opt_state *o, int32_t x, const int32_t *toks, size_t nt,
                           int32_t *seen)
{
    const nglm_classlm *m = b->m;
    const nglm_features *F = &m->ww;
    for (size_t i = 0; i < nt; i++) {
        int32_t k = m->icls[b->iw[b->pos[toks[i]]]];
        if (seen[k] >= 0)
            continue;
        seen[k] = 1;
        uint32_t a = nglm_cl_lower(F, F->ctx_first[x], F->ctx_first[x + 1], (int32_t)m->first[k]);
        uint32_t z = nglm_cl_lower(F, a, F->ctx_first[x + 1], (int32_t)m->first[k + 1]);
        update_range(o, m->off_ww + a, m->off_ww + z);
    }
    for (size_t i = 0; i < nt; i++)
        seen[m->icls[b->iw[b->pos[toks[i]]]]] = -1;
}

/* The gradient of the batch's negative log-likelihood into g (n_weights,
 * zero where not written: every feature is written by its context's or its
 * class's owner only).
 *
 * With o (not NULL), also the step of every weight the gradient reaches,
 * taken by its owner as soon as its gradient is complete (so the weights
 * are those of a separate pass, bit for bit, without g written and read
 * again from memory), g left zero: the whole successor lists of the
 * batch's class-factor contexts, the class ranges of its word contexts
 * that its tokens' classes select, the class biases, and the unigrams of
 * its tokens' classes, whose exp θ_v and U_k are then computed anew.  The
 * other weights' penalties wait (lazy). */
static void backward(batch *b, double *g, opt_state *o)
{
    const nglm_classlm *m = b->m;
    const long ncs = (long)b->n_ccs, nws = (long)b->n_wws, C = m->C;
    const long nblk = (long)((b->n + BLOCK - 1) / BLOCK);
    const size_t C1 = (size_t)C + 1;
    double *gc = g + m->off_cc, *gwc = g + m->off_wc, *gw = g + m->off_ww;
#pragma omp parallel num_threads(b->threads)
    {
        double *acc = b->acc[thread_id()];
        int32_t *seen = b->seen[thread_id()];
#pragma omp for schedule(static) nowait
        for (long k = 0; k < nblk; k++) {
            double *bs = b->bsum + (size_t)k * C1;
            size_t t1 = (size_t)(k + 1) * BLOCK < b->n ? (size_t)(k + 1) * BLOCK : b->n;
            memset(bs, 0, C1 * sizeof *bs);
            for (size_t t = (size_t)k * BLOCK; t < t1; t++) {
                const double *pc = b->P + t * C1;
#pragma omp simd
                for (size_t c = 1; c < C1; c++)
                    bs[c] += pc[c];
            }
        }
#pragma omp for schedule(dynamic, 16) nowait
        for (long s = 0; s < ncs; s++) {
            const nglm_features *F = &m->cc;
            int32_t x = b->cc_node[s];
            class_grad(b, F, F->ctx_first[x], F->ctx_first[x + 1], b->cc_tok + b->cc_off[s],
                       b->cc_off[s + 1] - b->cc_off[s], acc, gc);
            if (o)
                update_range(o, m->off_cc + F->ctx_first[x], m->off_cc + F->ctx_first[x + 1]);
        }
#pragma omp for schedule(dynamic, 16)
        for (long s = 0; s < nws; s++) {
            const int32_t x = b->ww_node[s];
            const int32_t *toks = b->ww_tok + b->ww_off[s];
            const size_t nt = b->ww_off[s + 1] - b->ww_off[s];
            const nglm_features *F = &m->wc;
            class_grad(b, F, F->ctx_first[x], F->ctx_first[x + 1], toks, nt, acc, gwc);
            if (o)
                update_range(o, m->off_wc + F->ctx_first[x], m->off_wc + F->ctx_first[x + 1]);
            F = &m->ww;
            for (size_t i = 0; i < nt; i++) {
                size_t t = (size_t)toks[i];
                int32_t w = b->iw[b->pos[t]], k = m->icls[w];
                int32_t lo = (int32_t)m->first[k], hi = (int32_t)m->first[k + 1];
                const double *qr = b->Q + b->qoff[t];
                uint32_t f = nglm_cl_lower(F, F->ctx_first[x], F->ctx_first[x + 1], lo);
                for (; f < F->ctx_first[x + 1] && F->feat_word[f] < hi; f++)
                    gw[f] += qr[F->feat_word[f] - lo] - (F->feat_word[f] == w);
            }
            if (o)
                update_classes(b, o, x, toks, nt, seen);
        }
        /* after the barrier: the block sums are there */
#pragma omp for schedule(dynamic, 4) nowait
        for (long k = 1; k <= C; k++) {
            /* the class bias: every token's P(k | h) */
            double s = 0;
            for (long j = 0; j < nblk; j++)
                s += b->bsum[(size_t)j * C1 + (size_t)k];
            gc[k] = s - (double)(b->k_off[k + 1] - b->k_off[k]);
            /* the unigrams of k's words: its tokens' P(v | h, k), which is
             * eu[v]·izw_t but for the words the history lists; so
             * eu[v]·Σ_t izw_t, and per token only the listed words' part */
            uint32_t lo = m->first[k], hi = m->first[k + 1];
            double sz = 0;
            for (uint32_t i = b->k_off[k]; i < b->k_off[k + 1]; i++) {
                size_t t = (size_t)b->k_tok[i];
                const double *qr = b->Q + b->qoff[t];
                sz += b->izw[t];
                for (uint32_t f = b->qlo[t]; f < b->qhi[t]; f++) {
                    int32_t v = m->ww.feat_word[f];
                    gw[v] += qr[(uint32_t)v - lo] - b->eu[v] * b->izw[t];
                }
                gw[b->iw[b->pos[t]]] -= 1.0;
            }
            for (uint32_t v = lo; v < hi; v++)
                gw[v] += b->eu[v] * sz;
            if (!o)
                continue;
            update_range(o, m->off_cc + (size_t)k, m->off_cc + (size_t)k + 1);
            if (b->k_off[k + 1] == b->k_off[k])
                continue;
            update_range(o, m->off_ww + lo, m->off_ww + hi);
            double u = 0;
            for (uint32_t v = lo; v < hi; v++)
                u += b->eu[v] = exp(o->theta[m->off_ww + v]);
            b->U[k] = u;
        }
    }
}

/* Every weight's pending penalty (g is zero everywhere between steps). */
static void flush(const nglm_classlm *m, opt_state *o, int threads)
{
    const long n = (long)m->n_weights;
#pragma omp parallel for schedule(static) num_threads(threads)
    for (long f = 0; f < n; f++)
        if (o->last[f] != o->step) {
            double q = o->gsq[f], rate = o->lr / sqrt(q + o->delta);
            double pen = (double)(o->step - o->last[f]) * o->share * rate;
            double th = o->theta[f] / (1.0 + pen * o->l2);
            double over = fabs(th) - pen * o->l1;
            o->theta[f] = over > 0 ? copysign(over, th) : 0.0;
            o->last[f] = o->step;
        }
}

static int resolve_threads(int threads)
{
#ifdef _OPENMP
    return threads > 0 ? threads : omp_get_max_threads();
#else
    (void)threads;
    return 1;
#endif
}

/* The chains of every token of c (iw: its internal ids); -1 if out of
 * memory. */
static int chains_make(chains *ch, const nglm_classlm *m, const nglm_corpus *c,
                       const int32_t *iw, int n1, int threads)
{
    size_t n = c->n_tokens;
    ch->ncc = malloc((n * (size_t)n1 + 1) * sizeof *ch->ncc);
    ch->nww = malloc((n * (size_t)n1 + 1) * sizeof *ch->nww);
    ch->dcc = malloc(n + 1);
    ch->dww = malloc(n + 1);
    if (!ch->ncc || !ch->nww || !ch->dcc || !ch->dww) {
        chains_free(ch);
        memset(ch, 0, sizeof *ch);
        return -1;
    }
    const long ns = (long)c->n_sents;
#pragma omp parallel for schedule(dynamic, 64) num_threads(threads)
    for (long s = 0; s < ns; s++) {
        int32_t hist[NGLM_MAX_ORDER];
        for (size_t p = c->start[s]; p < c->start[s + 1]; p++) {
            int i = (int)(p - c->start[s]);
            int nh = m->order == 1 ? 0 : i < n1 ? i : n1;
            for (int j = 0; j < nh; j++)
                hist[j] = iw[p - 1 - (size_t)j];
            ch->dcc[p] = (uint8_t)nglm_cl_chain(&m->cc, hist, nh, nh == i, m->icls,
                                                ch->ncc + p * (size_t)n1);
            ch->dww[p] = (uint8_t)nglm_cl_chain(&m->ww, hist, nh, nh == i, NULL,
                                                ch->nww + p * (size_t)n1);
        }
    }
    return 0;
}

/* The text in internal ids, checked. */
static int32_t *internal_ids(const nglm_classlm *m, const nglm_corpus *c, nglm_error *err)
{
    int32_t *iw = malloc((c->n_tokens + 1) * sizeof *iw);
    if (!iw) {
        nglm_error_set(err, "out of memory");
        return NULL;
    }
    for (size_t t = 0; t < c->n_tokens; t++) {
        if (c->ids[t] < 1 || c->ids[t] >= m->V) {
            free(iw);
            nglm_error_set(err, "token %zu has id %d, outside the vocabulary", t, c->ids[t]);
            return NULL;
        }
        iw[t] = m->in[c->ids[t]];
    }
    return iw;
}

static double perplexity(const nglm_classlm *m, const nglm_corpus *c, int threads,
                         nglm_error *err)
{
    double *lp = malloc((c->n_tokens + 1) * sizeof *lp);
    if (!lp || nglm_classlm_score_corpus(m, c, lp, threads, err) != 0) {
        if (!lp)
            nglm_error_set(err, "out of memory");
        free(lp);
        return NAN;
    }
    double s = 0;
    for (size_t t = 0; t < c->n_tokens; t++)
        s += lp[t];
    free(lp);
    return exp(-s / (double)c->n_tokens);
}

int nglm_classlm_objective(const nglm_classlm *m, const nglm_corpus *c, double l1, double l2,
                           int threads, double *J, double *grad, nglm_error *err)
{
    threads = resolve_threads(threads);
    int32_t *iw = internal_ids(m, c, err);
    if (!iw)
        return -1;
    batch b;
    if (batch_init(&b, m, iw, c->n_tokens + 1, threads, err) != 0) {
        free(iw);
        return -1;
    }
    for (size_t s = 0; s < c->n_sents; s++)
        for (size_t p = c->start[s]; p < c->start[s + 1]; p++) {
            b.pos[b.n] = p;
            b.ipos[b.n++] = (int32_t)(p - c->start[s]);
        }
    double *g = calloc(m->n_weights, sizeof *g);
    int rc = -1;
    if (!g)
        nglm_error_set(err, "out of memory");
    else if ((nglm_cl_unigrams(m, b.eu, b.U), forward(&b, err)) == 0) {
        double loss = 0, pen = 0;
        for (size_t t = 0; t < b.n; t++)
            loss -= b.lp[t];
        group(&b);
        backward(&b, g, NULL);
        ungroup(&b);
        for (size_t f = 0; f < m->n_weights; f++) {
            double th = m->theta[f];
            pen += l1 * fabs(th) + 0.5 * l2 * th * th;
            if (grad)
                grad[f] = g[f] + l2 * th + (th > 0 ? l1 : th < 0 ? -l1 : 0.0);
        }
        *J = loss + pen;
        rc = 0;
    }
    free(g);
    batch_free(&b);
    free(iw);
    return rc;
}

/* The fingerprint a checkpoint carries: the classes, the indexes, the
 * texts and the starting weights. */
static uint32_t fingerprint(const nglm_classlm *m, const nglm_corpus *train,
                            const nglm_corpus *valid)
{
    uint32_t crc = nglm_io_crc(0, "Model M", 7);
    int32_t head[3] = {m->V, m->C, m->order};
    crc = nglm_io_crc(crc, head, sizeof head);
    crc = nglm_io_crc(crc, m->cls, (size_t)m->V * sizeof *m->cls);
    const nglm_features *F[3] = {&m->cc, &m->wc, &m->ww};
    for (int i = 0; i < 3; i++) {
        crc = nglm_io_crc(crc, &F[i]->n_ctx, sizeof F[i]->n_ctx);
        crc = nglm_io_crc(crc, F[i]->ctx_first, (F[i]->n_ctx + 1) * sizeof *F[i]->ctx_first);
        crc = nglm_io_crc(crc, F[i]->feat_word, F[i]->n_feat * sizeof *F[i]->feat_word);
    }
    crc = nglm_io_crc_corpus(crc, train);
    if (valid)
        crc = nglm_io_crc_corpus(crc, valid);
    return nglm_io_crc(crc, m->theta, m->n_weights * sizeof *m->theta);
}

/* r (a state to resume) must belong to the same model, texts and options
 * as the fresh state s. */
static int check_resume(const nglm_train_state *s, const nglm_train_state *r,
                        const nglm_corpus *train, nglm_error *err)
{
    if (r->fingerprint != s->fingerprint || r->n_feat != s->n_feat || r->n_sents != s->n_sents)
        return nglm_error_set(err, "the checkpoint belongs to another model or other texts "
                              "(classes, order, training or validation text, start)");
#define SAME(field, name)                                                                  \
    if (r->field != s->field)                                                              \
        return nglm_error_set(err, "the checkpoint was made with " name " %.10g, not %.10g", \
                              (double)r->field, (double)s->field)
    SAME(max_epochs, "--epochs");
    SAME(batch, "--batch");
    SAME(seed, "--seed");
    SAME(l1, "--l1");
    SAME(l2, "--l2");
    SAME(lr0, "--lr");
    SAME(ada_init, "--ada-init");
    SAME(min_gain, "--min-gain");
    SAME(schedule, "the schedule");
#undef SAME
    return nglm_train_state_consistent(r, train, err);
}

/* The fresh state of a run from m->theta, or r's copied in. */
static int state_start(nglm_train_state *st, nglm_classlm *m, const nglm_corpus *train,
                       const nglm_corpus *valid, const nglm_classlm_train_options *opt,
                       nglm_error *err)
{
    const size_t nw = m->n_weights;
    memset(st, 0, sizeof *st);
    st->theta = m->theta;
    st->gsq = calloc(nw, sizeof *st->gsq);
    st->last = calloc(nw, sizeof *st->last);
    st->best = malloc(nw * sizeof *st->best);
    st->order = malloc((train->n_sents + 1) * sizeof *st->order);
    if (!st->gsq || !st->last || !st->best || !st->order)
        return nglm_error_set(err, "out of memory");
    if (opt->on_checkpoint || opt->resume)
        st->fingerprint = fingerprint(m, train, valid);
    st->optimizer = NGLM_ADAGRAD;
    st->schedule = (uint32_t)opt->schedule;
    st->max_epochs = (uint32_t)opt->epochs;
    st->batch = opt->batch;
    st->seed = opt->seed;
    st->l1 = opt->l1;
    st->l2 = opt->l2;
    st->lr0 = st->lr = opt->lr;
    st->ada_init = opt->ada_init;
    st->min_gain = opt->min_gain;
    st->n_feat = nw;
    st->n_sents = train->n_sents;
    st->epoch = 1;
    st->rng = opt->seed;
    st->best_ppl = INFINITY;
    memcpy(st->best, m->theta, nw * sizeof *st->best);
    for (size_t s = 0; s < train->n_sents; s++)
        st->order[s] = s;
    const nglm_train_state *r = opt->resume;
    if (!r)
        return 0;
    if (check_resume(st, r, train, err) != 0)
        return nglm_error_prefix(err, "cannot resume");
    double *theta = st->theta, *best = st->best, *gsq = st->gsq;
    uint32_t *last = st->last;
    uint64_t *order = st->order;
    *st = *r;
    st->theta = theta;
    st->best = best;
    st->gsq = gsq;
    st->last = last;
    st->order = order;
    st->avg = NULL;
    memcpy(st->theta, r->theta, nw * sizeof *st->theta);
    memcpy(st->best, r->best, nw * sizeof *st->best);
    memcpy(st->gsq, r->gsq, nw * sizeof *st->gsq);
    memcpy(st->last, r->last, nw * sizeof *st->last);
    memcpy(st->order, r->order, train->n_sents * sizeof *st->order);
    return 0;
}

static void state_free(nglm_train_state *st)
{
    free(st->gsq);
    free(st->last);
    free(st->best);
    free(st->order);
}

/* Hands the state to on_checkpoint (if any). */
static int checkpoint(const nglm_classlm_train_options *opt, const nglm_train_state *st,
                      nglm_checkpoint_reason why, nglm_error *err)
{
    if (!opt->on_checkpoint)
        return 0;
    return opt->on_checkpoint(st, why, opt->user, err) != 0 ? -1 : 0;
}

/* The next minibatch: whole sentences of st's order from st->sent on. */
static void batch_fill(batch *b, nglm_train_state *st, const nglm_corpus *train, size_t size)
{
    b->n = 0;
    while (st->sent < train->n_sents && b->n < size) {
        size_t s = (size_t)st->order[st->sent++];
        for (size_t p = train->start[s]; p < train->start[s + 1]; p++) {
            b->pos[b->n] = p;
            b->ipos[b->n++] = (int32_t)(p - train->start[s]);
        }
    }
}

/* The end of an epoch: its report, the best weights, the rate for the
 * next; returns 1 if training is over, -1 on failure. */
static int epoch_end(nglm_classlm *m, nglm_train_state *st, const nglm_corpus *train,
                     const nglm_corpus *valid, const nglm_classlm_train_options *opt,
                     int threads, double epoch_s, double lr_epoch, nglm_error *err)
{
    double ppl = valid ? perplexity(m, valid, threads, err) : NAN;
    if (valid && isnan(ppl))
        return -1;
    nglm_epoch_report r = {0};
    r.epoch = (int)st->epoch;
    r.lr = lr_epoch;
    r.train_loss = st->loss / (double)train->n_tokens;
    r.train_ppl = exp(r.train_loss);
    r.valid_ppl = ppl;
    r.epoch_s = epoch_s;
    r.tokens_per_s = epoch_s > 0 ? (double)train->n_tokens / epoch_s : 0;
    r.elapsed_s = st->elapsed_s;
    r.features = m->n_weights;
    r.nonzero = nglm_classlm_nonzero(m);
    double before = st->best_ppl;
    r.best = !valid || ppl < before;
    if (r.best) {
        st->best_ppl = valid ? ppl : r.train_ppl; /* no valid: the last epoch, its ppl */
        st->best_epoch = st->epoch;
        memcpy(st->best, m->theta, m->n_weights * sizeof *st->best);
    }
    if (opt->on_epoch)
        opt->on_epoch(&r, opt->user);
    if (st->epoch >= st->max_epochs)
        return 1;
    if (valid && opt->min_gain > 0 && opt->schedule == NGLM_SCHEDULE_HALVE) {
        double gain = isfinite(before) ? (before - ppl) / before : 1.0;
        if (st->decaying && gain < opt->min_gain)
            return 1;
        if (gain < opt->min_gain)
            st->decaying = 1;
        if (st->decaying)
            st->lr *= 0.5;
    }
    return 0;
}

int nglm_classlm_train(nglm_classlm *m, const nglm_corpus *train, const nglm_corpus *valid,
                       const nglm_classlm_train_options *opt, int *stopped, nglm_error *err)
{
    if (stopped)
        *stopped = 0;
    if (m->map) /* its arrays are the file's, read-only */
        return nglm_error_set(err, "a mapped model cannot be trained: load it with "
                              "nglm_classlm_load");
    if (!(opt->lr > 0) || opt->epochs < 1 || opt->epochs > NGLM_MAX_EPOCHS || opt->batch < 1 ||
        opt->l1 < 0 || opt->l2 < 0 || !(opt->ada_init >= 0) ||
        (opt->schedule != NGLM_SCHEDULE_HALVE && opt->schedule != NGLM_SCHEDULE_LINEAR))
        return nglm_error_set(err, "bad training options");
    if (train->n_tokens == 0)
        return nglm_error_set(err, "empty training text");
    const int threads = resolve_threads(opt->threads);
    size_t longest = 0;
    for (size_t s = 0; s < train->n_sents; s++)
        if (train->start[s + 1] - train->start[s] > longest)
            longest = train->start[s + 1] - train->start[s];
    int32_t *iw = internal_ids(m, train, err);
    if (!iw)
        return -1;
    batch b;
    if (batch_init(&b, m, iw, opt->batch + longest, threads, err) != 0) {
        free(iw);
        return -1;
    }
    chains ch = {0};
    if (chains_make(&ch, m, train, iw, b.n1, threads) == 0)
        b.chains = &ch; /* else find them token by token */
    const size_t nw = m->n_weights;
    nglm_train_state st;
    opt_state o = {0};
    int rc = -1, fresh = !opt->resume;
    o.g = calloc(nw, sizeof *o.g);
    if (!o.g) {
        nglm_error_set(err, "out of memory");
        goto out0;
    }
    if (state_start(&st, m, train, valid, opt, err) != 0)
        goto out;
    o.theta = m->theta;
    o.gsq = st.gsq;
    o.last = st.last;
    o.delta = opt->ada_init > 0 ? opt->ada_init : 1e-8;
    o.l1 = opt->l1;
    o.l2 = opt->l2;
    nglm_cl_unigrams(m, b.eu, b.U);
    if (fresh && valid && opt->eval_start) { /* the start, as epoch 0 */
        nglm_epoch_report r = {0};
        r.lr = st.lr;
        r.train_loss = r.train_ppl = NAN;
        r.valid_ppl = st.best_ppl = perplexity(m, valid, threads, err);
        if (isnan(st.best_ppl))
            goto out;
        r.features = nw;
        r.nonzero = nglm_classlm_nonzero(m);
        r.best = 1;
        if (opt->on_epoch)
            opt->on_epoch(&r, opt->user);
    }
    double t_ckpt = nglm_wall_seconds();
    size_t done = 0; /* tokens of the epoch so far, for on_progress */
    for (uint64_t i = 0; st.started && i < st.sent; i++)
        done += train->start[st.order[i] + 1] - train->start[st.order[i]];
    for (;;) {
        if (!st.started) { /* a new epoch: shuffle */
            for (size_t i = train->n_sents; i > 1; i--) {
                size_t j = (size_t)(nglm_splitmix64(&st.rng) % i);
                uint64_t tmp = st.order[i - 1];
                st.order[i - 1] = st.order[j];
                st.order[j] = tmp;
            }
            st.started = 1;
            st.sent = 0;
            st.loss = 0;
            done = 0;
        }
        double t0 = nglm_wall_seconds(), lr_epoch = opt->schedule == NGLM_SCHEDULE_LINEAR
                                          ? st.lr0 * (1.0 - (double)(st.epoch - 1) /
                                                                (double)st.max_epochs)
                                          : st.lr;
        int stop = 0;
        while (st.sent < train->n_sents && !stop) {
            batch_fill(&b, &st, train, opt->batch);
            st.step++;
            o.step = st.step;
            if (opt->schedule == NGLM_SCHEDULE_LINEAR) /* from lr0 to 0 over the epochs */
                st.lr = st.lr0 * (1.0 - ((double)(st.epoch - 1) +
                                         (double)done / (double)train->n_tokens) /
                                            (double)st.max_epochs);
            o.lr = st.lr;
            o.share = (double)b.n / (double)train->n_tokens;
            if (forward(&b, err) != 0)
                goto out;
            for (size_t t = 0; t < b.n; t++)
                st.loss -= b.lp[t];
            if (!isfinite(st.loss)) {
                nglm_error_set(err, "training diverged (loss not finite) in epoch %u",
                               (unsigned)st.epoch);
                goto out;
            }
            group(&b);
            backward(&b, o.g, &o);
            ungroup(&b);
            done += b.n;
            if (opt->on_progress)
                opt->on_progress(done, train->n_tokens, st.loss / (double)done, opt->user);
            stop = opt->stop && *opt->stop;
            if (!stop && opt->checkpoint_s > 0 && st.sent < train->n_sents &&
                nglm_wall_seconds() - t_ckpt >= opt->checkpoint_s) {
                st.elapsed_s += nglm_wall_seconds() - t0;
                t0 = nglm_wall_seconds();
                if (checkpoint(opt, &st, NGLM_CKPT_TIMER, err) != 0)
                    goto out;
                t_ckpt = nglm_wall_seconds();
            }
        }
        double dt = nglm_wall_seconds() - t0;
        st.elapsed_s += dt;
        if (stop && st.sent < train->n_sents) { /* mid-epoch: the state as it is */
            if (checkpoint(opt, &st, NGLM_CKPT_STOP, err) != 0)
                goto out;
            if (stopped)
                *stopped = 1;
            rc = 0;
            goto out;
        }
        flush(m, &o, threads);
        nglm_cl_unigrams(m, b.eu, b.U);
        int end = epoch_end(m, &st, train, valid, opt, threads, dt, lr_epoch, err);
        if (end < 0)
            goto out;
        if (end)
            break;
        st.epoch++;
        st.started = 0;
        stop = opt->stop && *opt->stop;
        if (checkpoint(opt, &st, stop ? NGLM_CKPT_STOP : NGLM_CKPT_EPOCH, err) != 0)
            goto out;
        t_ckpt = nglm_wall_seconds();
        if (stop) {
            if (stopped)
                *stopped = 1;
            rc = 0;
            goto out;
        }
    }
    memcpy(m->theta, st.best, nw * sizeof *st.best);
    m->info.l1 = opt->l1;
    m->info.l2 = opt->l2;
    m->info.lr = opt->lr;
    m->info.ada_init = opt->ada_init;
    m->info.epochs = st.best_epoch;
    m->info.batch = (uint32_t)opt->batch;
    m->info.seed = opt->seed;
    m->info.train_tokens = train->n_tokens;
    m->info.valid_ppl = valid && isfinite(st.best_ppl) ? st.best_ppl : 0;
    rc = 0;
out:
    state_free(&st);
out0:
    free(o.g);
    chains_free(&ch);
    batch_free(&b);
    free(iw);
    return rc;
}
