/*
 * cluster.c — exchange clustering of the vocabulary by the class bigram
 * likelihood, and the class files (see include/nglm/cluster.h for the
 * objective and the contract).
 *
 * Input: an id stream and the vocabulary size.  The word bigrams of the
 * text (the boundary </s> standing for <s> too) are kept as two lists per
 * word, its successors and its predecessors with their counts, the word's
 * bigram with itself apart.  The class counts are a dense C × C matrix N
 * and its transpose (so that a row and a column of one class are both
 * contiguous), and the class sizes.
 *
 * Moving w: its neighbours are gathered by class (R[c]: bigrams w → class
 * c, L[c]: class c → w), w is taken out of its class, and the gain of
 * putting it into each class b is
 *
 *   Σ_c [f(N(b,c) + R(c)) − f(N(b,c))] + Σ_c [f(N(c,b) + L(c)) − f(N(c,b))]
 *   (with the cell (b,b) counted once, receiving R(b) + L(b) + N(w,w))
 *   − 2 [f(N(b) + N(w)) − f(N(b))],          f(x) = x ln x,
 *
 * a sum over the neighbour classes of w only.  The class with the largest
 * gain wins (the lowest on a tie; w's own class unless another gains
 * more).  The slow reference is the likelihood recomputed from the text
 * after the move (tests/check_cluster.c).
 *
 * Threads: the words of a block find their best class against the
 * counts frozen at the start of the block (frozen_gain: w still in its
 * class, the two cells it shares with it corrected), each word by one
 * thread; the moves are then made one by one in word order, each only if
 * it still gains (move_if_better).  The passes score all the classes of
 * a word at once (all_gains: for each neighbour class c, one sweep over
 * the contiguous N(., c) or N(c, .) adds its term to every candidate's
 * sum); frozen_gain, one candidate at a time, is its reference, and both
 * are tested against the likelihood recomputed from the text.  The blocks are fixed, so the result
 * does not depend on the number of threads; one parallel region per block
 * (not per word) keeps the threads' meetings few.
 */
#include "nglm/cluster.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#define HASH_NONFATAL_OOM 1
#define uthash_nonfatal_oom(e) ((e)->oom = 1)
#include <uthash.h>

#include "cluster_impl.h"
#include "nglm/tokenize.h"
#include "fileio.h"

/* ---------------------------------------------------------------- state */

/* One thread's view of one word: its neighbours gathered by class. */
typedef struct scratch {
    int64_t *R, *L;              /* (C) dense, zero between words */
    int32_t *rc, *lc;            /* the classes touched, in order of first touch */
    int64_t *rv, *lv;            /* their counts */
    int nr, nl;
    double *gain;                /* (C) */
    double *pen;                 /* (C) −2 [f(N(b) + pen_nw) − f(N(b))] ... */
    int64_t pen_nw;              /* ... for a word of this count ... */
    uint64_t pen_stamp;          /* ... while the state's stamp was this */
} scratch;

struct nglm_cluster_state {
    int32_t V;
    int C;
    int threads;
    size_t block;                /* words proposed against one frozen state */
    int32_t *cls;                /* (V) class of each word; <s> as </s> */
    int64_t *wn;                 /* (V) N(w); N(</s>) = sentences */
    int64_t *self;               /* (V) N(w, w) */
    size_t *s_start, *p_start;   /* (V + 1) successor / predecessor lists */
    int32_t *s_id, *p_id;
    int64_t *s_n, *p_n;
    int64_t *N, *Nt;             /* (C × C) N[a C + b] = N(a,b); Nt transposed */
    int64_t *Nc;                 /* (C) N(c) */
    double *ftab;                /* (ftab_n) f(x) = x ln x */
    int64_t ftab_n;              /* tokens + 1, at most FTAB_MAX */
    double *d1;                  /* (d1_n) f(x + 1) − f(x), from ftab */
    int64_t d1_n;                /* ftab_n − 1 */
    int full;                    /* ftab_n = tokens + 1: every count is in ftab */
    double ll_words;             /* Σ_w f(N(w)) */
    uint64_t tokens;
    scratch *sc;                 /* (threads) */
    int32_t *proposal;           /* (block) */
    uint64_t stamp;              /* changed with the class sizes N(c) */
};

/* f(x) = x ln x from the table, or computed for the rare count beyond it
 * (a text of more than FTAB_MAX tokens). */
#define FTAB_MAX ((int64_t)1 << 23)
__attribute__((cold, noinline)) static double xlogx_slow(int64_t x)
{
    return (double)x * log((double)x);
}
#define F(s, x) ((x) < (s)->ftab_n ? (s)->ftab[x] : xlogx_slow(x))

/* Collapses raw[start[w] .. start[w+1]) (word ids, repeats) into distinct
 * ids with counts, in order of first appearance, leaving w itself out
 * (its count goes to self when self is not NULL).  Rewrites start. */
static int collapse(int32_t V, size_t *start, const int32_t *raw, int32_t **ids_out,
                    int64_t **n_out, int64_t *self)
{
    int64_t *pos = malloc((size_t)V * sizeof *pos); /* slot + 1 in the current row */
    int32_t *ids = malloc((start[V] ? start[V] : 1) * sizeof *ids);
    int64_t *n = malloc((start[V] ? start[V] : 1) * sizeof *n);
    if (!pos || !ids || !n) {
        free(pos), free(ids), free(n);
        return -1;
    }
    memset(pos, 0, (size_t)V * sizeof *pos);
    size_t k = 0, row0 = 0;
    for (int32_t w = 0; w < V; w++) {
        size_t b = row0, e = start[w + 1];
        row0 = e;
        start[w] = k;
        size_t first = k;
        for (size_t i = b; i < e; i++) {
            int32_t v = raw[i];
            if (v == w) {
                if (self)
                    self[w]++;
                continue;
            }
            if (pos[v] > (int64_t)first) {
                n[pos[v] - 1]++;
            } else {
                ids[k] = v;
                n[k] = 1;
                pos[v] = (int64_t)++k;
            }
        }
    }
    start[V] = k;
    free(pos);
    *ids_out = ids;
    *n_out = n;
    return 0;
}

/* <s> is read as </s> (the corpus never stores it). */
static inline int32_t node(int32_t id)
{
    return id == NGLM_BOS ? NGLM_EOS : id;
}

void nglm_cluster_state_free(nglm_cluster_state *s)
{
    if (!s)
        return;
    free(s->cls), free(s->wn), free(s->self);
    free(s->s_start), free(s->p_start), free(s->s_id), free(s->p_id);
    free(s->s_n), free(s->p_n), free(s->N), free(s->Nt), free(s->Nc), free(s->ftab);
    free(s->d1);
    for (int t = 0; s->sc && t < s->threads; t++) {
        scratch *x = &s->sc[t];
        free(x->R), free(x->L), free(x->rc), free(x->lc), free(x->rv), free(x->lv);
        free(x->gain), free(x->pen);
    }
    free(s->sc), free(s->proposal);
    free(s);
}

nglm_cluster_state *nglm_cluster_state_new(const nglm_corpus *c, int32_t V, int n_classes,
                                           const int32_t *class_of, int threads,
                                           nglm_error *err)
{
    if (V < NGLM_NUM_SPECIAL || n_classes < 2) {
        nglm_error_set(err, "clustering: bad sizes (V %d, %d classes)", (int)V, n_classes);
        return NULL;
    }
    for (int32_t w = 0; w < V; w++)
        if (class_of[w] < 0 || class_of[w] >= n_classes) {
            nglm_error_set(err, "clustering: word %d has class %d, not in 0..%d", (int)w,
                           (int)class_of[w], n_classes - 1);
            return NULL;
        }
    for (size_t i = 0; i < c->n_tokens; i++)
        if (c->ids[i] < 0 || c->ids[i] >= V) {
            nglm_error_set(err, "clustering: token %zu has id %d, not in 0..%d", i,
                           (int)c->ids[i], (int)V - 1);
            return NULL;
        }
    nglm_cluster_state *s = calloc(1, sizeof *s);
    if (!s)
        goto oom;
    size_t C = (size_t)n_classes;
    s->V = V;
    s->C = n_classes;
    s->threads = threads > 0 ? threads : 1;
    s->block = 1024;
    s->cls = malloc((size_t)V * sizeof *s->cls);
    s->wn = calloc((size_t)V, sizeof *s->wn);
    s->self = calloc((size_t)V, sizeof *s->self);
    s->s_start = calloc((size_t)V + 1, sizeof *s->s_start);
    s->p_start = calloc((size_t)V + 1, sizeof *s->p_start);
    s->N = calloc(C * C, sizeof *s->N);
    s->Nt = calloc(C * C, sizeof *s->Nt);
    s->Nc = calloc(C, sizeof *s->Nc);
    s->sc = calloc((size_t)s->threads, sizeof *s->sc);
    s->proposal = malloc(s->block * sizeof *s->proposal);
    if (!s->cls || !s->wn || !s->self || !s->s_start || !s->p_start || !s->N || !s->Nt ||
        !s->Nc || !s->sc || !s->proposal)
        goto oom;
    for (int t = 0; t < s->threads; t++) {
        scratch *x = &s->sc[t];
        x->R = calloc(C, sizeof *x->R);
        x->L = calloc(C, sizeof *x->L);
        x->rc = malloc(C * sizeof *x->rc);
        x->lc = malloc(C * sizeof *x->lc);
        x->rv = malloc(C * sizeof *x->rv);
        x->lv = malloc(C * sizeof *x->lv);
        x->gain = malloc(C * sizeof *x->gain);
        x->pen = malloc(C * sizeof *x->pen);
        x->pen_nw = -1;
        if (!x->R || !x->L || !x->rc || !x->lc || !x->rv || !x->lv || !x->gain || !x->pen)
            goto oom;
    }
    memcpy(s->cls, class_of, (size_t)V * sizeof *s->cls);
    s->cls[NGLM_BOS] = s->cls[NGLM_EOS];

    /* bigram lists: counts per row, then the raw rows, then collapsed */
    size_t n = c->n_tokens;
    for (size_t t = 0; t < c->n_sents; t++) {
        int32_t prev = NGLM_EOS;
        for (size_t i = c->start[t]; i < c->start[t + 1]; i++) {
            int32_t w = node(c->ids[i]);
            s->s_start[prev + 1]++;
            s->p_start[w + 1]++;
            s->wn[w]++;
            prev = w;
        }
    }
    for (int32_t w = 0; w < V; w++) {
        s->s_start[w + 1] += s->s_start[w];
        s->p_start[w + 1] += s->p_start[w];
    }
    int32_t *raw_s = malloc((n ? n : 1) * sizeof *raw_s);
    int32_t *raw_p = malloc((n ? n : 1) * sizeof *raw_p);
    size_t *fs = malloc(((size_t)V + 1) * sizeof *fs), *fp = malloc(((size_t)V + 1) * sizeof *fp);
    if (!raw_s || !raw_p || !fs || !fp) {
        free(raw_s), free(raw_p), free(fs), free(fp);
        goto oom;
    }
    memcpy(fs, s->s_start, ((size_t)V + 1) * sizeof *fs);
    memcpy(fp, s->p_start, ((size_t)V + 1) * sizeof *fp);
    for (size_t t = 0; t < c->n_sents; t++) {
        int32_t prev = NGLM_EOS;
        for (size_t i = c->start[t]; i < c->start[t + 1]; i++) {
            int32_t w = node(c->ids[i]);
            raw_s[fs[prev]++] = w;
            raw_p[fp[w]++] = prev;
            prev = w;
        }
    }
    free(fs), free(fp);
    int rc1 = collapse(V, s->s_start, raw_s, &s->s_id, &s->s_n, s->self);
    int rc2 = rc1 == 0 ? collapse(V, s->p_start, raw_p, &s->p_id, &s->p_n, NULL) : -1;
    free(raw_s), free(raw_p);
    if (rc2 != 0)
        goto oom;
    s->tokens = n;

    /* class counts */
    for (int32_t w = 0; w < V; w++) {
        size_t a = (size_t)s->cls[w];
        s->Nc[a] += s->wn[w];
        s->N[a * C + a] += s->self[w];
        for (size_t i = s->s_start[w]; i < s->s_start[w + 1]; i++)
            s->N[a * C + (size_t)s->cls[s->s_id[i]]] += s->s_n[i];
    }
    for (size_t a = 0; a < C; a++)
        for (size_t b = 0; b < C; b++)
            s->Nt[b * C + a] = s->N[a * C + b];

    /* f(x) for every count there can be, 0..tokens, up to FTAB_MAX */
    s->ftab_n = (int64_t)(n + 1 < FTAB_MAX ? n + 1 : FTAB_MAX);
    s->ftab = malloc((size_t)s->ftab_n * sizeof *s->ftab);
    if (!s->ftab)
        goto oom;
    s->ftab[0] = 0;
    for (int64_t x = 1; x < s->ftab_n; x++)
        s->ftab[x] = (double)x * log((double)x);
    s->d1_n = s->ftab_n - 1;
    s->d1 = malloc((size_t)(s->d1_n ? s->d1_n : 1) * sizeof *s->d1);
    if (!s->d1)
        goto oom;
    for (int64_t x = 0; x < s->d1_n; x++)
        s->d1[x] = s->ftab[x + 1] - s->ftab[x];
    s->full = (uint64_t)s->ftab_n == n + 1;
    for (int32_t w = 0; w < V; w++)
        s->ll_words += F(s, s->wn[w]);
    return s;
oom:
    nglm_cluster_state_free(s);
    nglm_error_set(err, "clustering: out of memory");
    return NULL;
}

void nglm_cluster_state_limit_table(nglm_cluster_state *s, int64_t n)
{
    if (n < 2)
        n = 2;
    if (n < s->ftab_n) {
        s->ftab_n = n;
        s->d1_n = n - 1;
    }
    s->full = (uint64_t)s->ftab_n == s->tokens + 1;
}

void nglm_cluster_state_set_block(nglm_cluster_state *s, size_t block)
{
    if (block > 1024)
        block = 1024;
    s->block = block > 0 ? block : 1;
}

const int32_t *nglm_cluster_state_classes(const nglm_cluster_state *s)
{
    return s->cls;
}

double nglm_cluster_state_loglik(const nglm_cluster_state *s)
{
    size_t C = (size_t)s->C;
    double ll = 0;
    for (size_t i = 0; i < C * C; i++)
        ll += F(s, s->N[i]);
    for (size_t c = 0; c < C; c++)
        ll -= 2 * F(s, s->Nc[c]);
    return ll + s->ll_words;
}

/* Gathers w's neighbours by class into x. */
static void gather(const nglm_cluster_state *s, scratch *x, int32_t w)
{
    int nr = 0, nl = 0;
    for (size_t i = s->s_start[w]; i < s->s_start[w + 1]; i++) {
        int32_t c = s->cls[s->s_id[i]];
        if (x->R[c] == 0)
            x->rc[nr++] = c;
        x->R[c] += s->s_n[i];
    }
    for (size_t i = s->p_start[w]; i < s->p_start[w + 1]; i++) {
        int32_t c = s->cls[s->p_id[i]];
        if (x->L[c] == 0)
            x->lc[nl++] = c;
        x->L[c] += s->p_n[i];
    }
    for (int i = 0; i < nr; i++)
        x->rv[i] = x->R[x->rc[i]];
    for (int i = 0; i < nl; i++)
        x->lv[i] = x->L[x->lc[i]];
    x->nr = nr;
    x->nl = nl;
}

static void ungather(scratch *x)
{
    for (int i = 0; i < x->nr; i++)
        x->R[x->rc[i]] = 0;
    for (int i = 0; i < x->nl; i++)
        x->L[x->lc[i]] = 0;
    x->nr = x->nl = 0;
}

/* Adds (sign +1) or takes out (−1) the gathered word w to or from class a. */
static void apply(nglm_cluster_state *s, const scratch *x, int32_t w, int32_t a, int64_t sign)
{
    size_t C = (size_t)s->C, A = (size_t)a;
    for (int i = 0; i < x->nr; i++) {
        size_t c = (size_t)x->rc[i];
        s->N[A * C + c] += sign * x->rv[i];
        s->Nt[c * C + A] += sign * x->rv[i];
    }
    for (int i = 0; i < x->nl; i++) {
        size_t c = (size_t)x->lc[i];
        s->N[c * C + A] += sign * x->lv[i];
        s->Nt[A * C + c] += sign * x->lv[i];
    }
    s->N[A * C + A] += sign * s->self[w];
    s->Nt[A * C + A] += sign * s->self[w];
    s->Nc[A] += sign * s->wn[w];
    s->stamp++;
}

/* Σ_i f(row[cls[i]] + v[i]) − f(row[cls[i]]), in four running sums (the
 * additions are the loop's critical path) added in a fixed order. */
static inline double row_gain(const nglm_cluster_state *s, const int64_t *row,
                              const int32_t *cls, const int64_t *v, int n)
{
    double g0 = 0, g1 = 0, g2 = 0, g3 = 0;
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        int64_t x0 = row[cls[i]], x1 = row[cls[i + 1]];
        int64_t x2 = row[cls[i + 2]], x3 = row[cls[i + 3]];
        g0 += F(s, x0 + v[i]) - F(s, x0);
        g1 += F(s, x1 + v[i + 1]) - F(s, x1);
        g2 += F(s, x2 + v[i + 2]) - F(s, x2);
        g3 += F(s, x3 + v[i + 3]) - F(s, x3);
    }
    for (; i < n; i++) {
        int64_t x = row[cls[i]];
        g0 += F(s, x + v[i]) - F(s, x);
    }
    return (g0 + g1) + (g2 + g3);
}

/* The gain of putting the gathered word w, taken out of the counts, into
 * class b. */
static double gain_of(const nglm_cluster_state *s, const scratch *x, int32_t w, int32_t b)
{
    size_t C = (size_t)s->C, B = (size_t)b;
    const int64_t *row = s->N + B * C, *col = s->Nt + B * C;
    double g = row_gain(s, row, x->rc, x->rv, x->nr) + row_gain(s, col, x->lc, x->lv, x->nl);
    /* the cell (b, b) counted once */
    int64_t d = row[B], r = x->R[B], l = x->L[B];
    g += F(s, d + r + l + s->self[w]) - F(s, d + r) - F(s, d + l) + F(s, d);
    g -= 2 * (F(s, s->Nc[B] + s->wn[w]) - F(s, s->Nc[B]));
    return g;
}

/* The same gain for b other than w's class a, with w still in a: the
 * counts without w differ from the state's in row a and column a only,
 * whose cells (b, a) and (a, b) are corrected here.  Reads the state
 * only, so the words of a block are scanned on the threads at once. */
static double frozen_gain(const nglm_cluster_state *s, const scratch *x, int32_t w, int32_t a,
                          int32_t b)
{
    size_t C = (size_t)s->C, A = (size_t)a, B = (size_t)b;
    double g = gain_of(s, x, w, b);
    int64_t ra = x->R[A], la = x->L[A], rb = x->R[B], lb = x->L[B];
    if (ra) { /* cell (b, a) holds lb bigrams b → w that leave with w */
        int64_t y = s->N[B * C + A];
        g += (F(s, y - lb + ra) - F(s, y - lb)) - (F(s, y + ra) - F(s, y));
    }
    if (la) { /* cell (a, b) holds rb bigrams w → b */
        int64_t y = s->N[A * C + B];
        g += (F(s, y - rb + la) - F(s, y - rb)) - (F(s, y + la) - F(s, y));
    }
    return g;
}

/* What w adds to LL in its class a: the gain of putting it back. */
static double stay_gain(const nglm_cluster_state *s, const scratch *x, int32_t w, int32_t a)
{
    size_t C = (size_t)s->C, A = (size_t)a;
    const int64_t *row = s->N + A * C, *col = s->Nt + A * C;
    double g = 0;
    for (int i = 0; i < x->nr; i++) {
        int64_t y = row[x->rc[i]];
        g += F(s, y) - F(s, y - x->rv[i]);
    }
    for (int i = 0; i < x->nl; i++) {
        int64_t y = col[x->lc[i]];
        g += F(s, y) - F(s, y - x->lv[i]);
    }
    int64_t d = row[A], r = x->R[A], l = x->L[A];
    int64_t d0 = d - r - l - s->self[w]; /* (a, a) without w */
    g += F(s, d - r) + F(s, d - l) - F(s, d) - F(s, d0); /* the cell counted once: f(d) − f(d0) */
    g -= 2 * (F(s, s->Nc[A]) - F(s, s->Nc[A] - s->wn[w]));
    return g;
}

/* f(y + v) − f(y) for y + v < ftab_n (v = 1: from d1). */
#define TERM(y, v) ((v) == 1 ? d1[y] : ft[(y) + (v)] - ft[y])

/* w's neighbours in the classes c[0..n−1] (n is 4 or 1), v[k] bigrams
 * with c[k], against the candidates b in [lo, hi) at once:
 * g[b] += Σ_k f(x_k[b] + v[k]) − f(x_k[b]), x_k row c[k] of M (Nt: the
 * counts N(b, c[k]) over b; N: N(c[k], b)).  The rows are contiguous;
 * each term is one or two table loads beside the count's.  With w outside
 * b, x_k[b] + v[k] is at most the tokens, so in a full table (s->full)
 * the loads need no check. */
static inline void add_terms(const nglm_cluster_state *s, double *restrict g, const int64_t *M,
                             const int32_t *c, const int64_t *v, int n, size_t C, size_t lo,
                             size_t hi)
{
    const double *ft = s->ftab, *d1 = s->d1;
    if (n == 4) {
        const int64_t *x0 = M + (size_t)c[0] * C, *x1 = M + (size_t)c[1] * C;
        const int64_t *x2 = M + (size_t)c[2] * C, *x3 = M + (size_t)c[3] * C;
        int64_t v0 = v[0], v1 = v[1], v2 = v[2], v3 = v[3];
        if (s->full)
            for (size_t b = lo; b < hi; b++)
                g[b] += (TERM(x0[b], v0) + TERM(x1[b], v1)) + (TERM(x2[b], v2) + TERM(x3[b], v3));
        else
            for (size_t b = lo; b < hi; b++)
                g[b] += ((F(s, x0[b] + v0) - F(s, x0[b])) + (F(s, x1[b] + v1) - F(s, x1[b]))) +
                        ((F(s, x2[b] + v2) - F(s, x2[b])) + (F(s, x3[b] + v3) - F(s, x3[b])));
    } else {
        const int64_t *x0 = M + (size_t)c[0] * C;
        int64_t v0 = v[0];
        if (s->full)
            for (size_t b = lo; b < hi; b++)
                g[b] += TERM(x0[b], v0);
        else
            for (size_t b = lo; b < hi; b++)
                g[b] += F(s, x0[b] + v0) - F(s, x0[b]);
    }
}
#undef TERM

/* add_terms over every candidate but a (whose counts hold w). */
static inline void add_terms_but(const nglm_cluster_state *s, double *restrict g,
                                 const int64_t *M, const int32_t *c, const int64_t *v, int n,
                                 size_t C, size_t A)
{
    add_terms(s, g, M, c, v, n, C, 0, A);
    add_terms(s, g, M, c, v, n, C, A + 1, C);
}

/* g[b] = frozen_gain(s, x, w, a, b) for every class b but a (g[a] is left
 * meaningless), all candidates at once: the neighbour classes outside,
 * the candidates inside.  It must agree with frozen_gain term for term
 * (tests/check_cluster.c checks both against the likelihood recomputed
 * from the text); only the order of the additions differs.  The cell
 * (b, b) needs its correction only where R(b), L(b) or N(w,w) is not 0,
 * and the cells (b, a), (a, b) only where L(b), R(b) is. */
static void all_gains(const nglm_cluster_state *s, scratch *x, int32_t w, int32_t a,
                      double *restrict g)
{
    size_t C = (size_t)s->C, A = (size_t)a;
    int64_t nw = s->wn[w], self = s->self[w];
    /* the class sizes' terms: the same for the words of a count while the
     * sizes stay (the words of a block, in count order, mostly) */
    if (x->pen_nw != nw || x->pen_stamp != s->stamp) {
        for (size_t b = 0; b < C; b++)
            x->pen[b] = -2 * (F(s, s->Nc[b] + nw) - F(s, s->Nc[b]));
        x->pen_nw = nw;
        x->pen_stamp = s->stamp;
    }
    memcpy(g, x->pen, C * sizeof *g);
    int i = 0; /* N(b, c) for b = 0.. is row c of Nt */
    for (; i + 4 <= x->nr; i += 4)
        add_terms_but(s, g, s->Nt, x->rc + i, x->rv + i, 4, C, A);
    for (; i < x->nr; i++)
        add_terms_but(s, g, s->Nt, x->rc + i, x->rv + i, 1, C, A);
    for (i = 0; i + 4 <= x->nl; i += 4)
        add_terms_but(s, g, s->N, x->lc + i, x->lv + i, 4, C, A);
    for (; i < x->nl; i++)
        add_terms_but(s, g, s->N, x->lc + i, x->lv + i, 1, C, A);
#define CELL_BB(B)                                                             \
    do {                                                                       \
        int64_t d_ = s->N[(B) * C + (B)], r_ = x->R[B], l_ = x->L[B];          \
        g[B] += F(s, d_ + r_ + l_ + self) - F(s, d_ + r_) - F(s, d_ + l_) + F(s, d_); \
    } while (0)
    if (self) {
        for (size_t b = 0; b < C; b++)
            CELL_BB(b);
    } else {
        for (int i = 0; i < x->nr; i++)
            CELL_BB((size_t)x->rc[i]);
        for (int i = 0; i < x->nl; i++)
            if (x->R[x->lc[i]] == 0)
                CELL_BB((size_t)x->lc[i]);
    }
#undef CELL_BB
    int64_t ra = x->R[A], la = x->L[A];
    if (ra) /* cell (b, a) holds L(b) bigrams b → w that leave with w */
        for (int i = 0; i < x->nl; i++) {
            size_t B = (size_t)x->lc[i];
            int64_t y = s->N[B * C + A], lb = x->L[B];
            g[B] += (F(s, y - lb + ra) - F(s, y - lb)) - (F(s, y + ra) - F(s, y));
        }
    if (la) /* cell (a, b) holds R(b) bigrams w → b */
        for (int i = 0; i < x->nr; i++) {
            size_t B = (size_t)x->rc[i];
            int64_t y = s->N[A * C + B], rb = x->R[B];
            g[B] += (F(s, y - rb + la) - F(s, y - rb)) - (F(s, y + la) - F(s, y));
        }
}

/* The class w gains most by, against the state as it is (w's own class
 * when none gains more than rounding; the lowest on a tie).  The gains
 * are all_gains' (the reference: frozen_gain, one candidate at a time). */
static int32_t best_class(const nglm_cluster_state *s, scratch *x, int32_t w)
{
    int32_t a = s->cls[w];
    gather(s, x, w);
    double stay = stay_gain(s, x, w, a);
    all_gains(s, x, w, a, x->gain);
    int32_t best = a;
    double g_best = stay, over = g_best + 1e-9 * (1 + fabs(g_best));
    const double *g = x->gain;
    for (int b = 1; b < s->C; b++) {
        if (g[b] > over && b != a) {
            g_best = g[b];
            over = g_best + 1e-9 * (1 + fabs(g_best));
            best = b;
        }
    }
    ungather(x);
    return best;
}

void nglm_cluster_state_gains(nglm_cluster_state *s, int32_t w, double *gain)
{
    int32_t a = s->cls[w];
    scratch *x = &s->sc[0];
    gather(s, x, w);
    double stay = stay_gain(s, x, w, a);
    all_gains(s, x, w, a, x->gain);
    for (int b = 0; b < s->C; b++)
        gain[b] = b == a ? 0 : x->gain[b] - stay;
    ungather(x);
}

double nglm_cluster_state_delta(nglm_cluster_state *s, int32_t w, int32_t b)
{
    int32_t a = s->cls[w];
    if (a == b)
        return 0;
    scratch *x = &s->sc[0];
    gather(s, x, w);
    apply(s, x, w, a, -1);
    double d = gain_of(s, x, w, b) - gain_of(s, x, w, a);
    apply(s, x, w, a, +1);
    ungather(x);
    return d;
}

double nglm_cluster_state_frozen_delta(nglm_cluster_state *s, int32_t w, int32_t b)
{
    int32_t a = s->cls[w];
    if (a == b)
        return 0;
    scratch *x = &s->sc[0];
    gather(s, x, w);
    double d = frozen_gain(s, x, w, a, b) - stay_gain(s, x, w, a);
    ungather(x);
    return d;
}

/* Moves w to b if that raises LL now; returns 1 if it moved. */
static int move_if_better(nglm_cluster_state *s, int32_t w, int32_t b)
{
    int32_t a = s->cls[w];
    if (a == b)
        return 0;
    scratch *x = &s->sc[0];
    gather(s, x, w);
    apply(s, x, w, a, -1);
    double ga = gain_of(s, x, w, a), gb = gain_of(s, x, w, b);
    int moved = gb > ga + 1e-9 * (1 + fabs(ga));
    apply(s, x, w, moved ? b : a, +1);
    ungather(x);
    if (moved)
        s->cls[w] = b;
    return moved;
}

void nglm_cluster_state_move(nglm_cluster_state *s, int32_t w, int32_t b)
{
    int32_t a = s->cls[w];
    if (a == b)
        return;
    scratch *x = &s->sc[0];
    gather(s, x, w);
    apply(s, x, w, a, -1);
    apply(s, x, w, b, +1);
    ungather(x);
    s->cls[w] = b;
}

/* A pass: the words in id order, in blocks; each word of a block gets its
 * best class against the state at the start of the block (on the threads,
 * each word by one thread), then the moves are made in word order, each
 * only if it still raises LL.  The blocks do not depend on the threads. */
size_t nglm_cluster_state_pass(nglm_cluster_state *s)
{
    size_t moved = 0;
    int32_t V = s->V;
    for (int32_t w0 = 0; w0 < V; w0 += (int32_t)s->block) {
        int32_t w1 = w0 + (int32_t)s->block < V ? w0 + (int32_t)s->block : V;
#pragma omp parallel num_threads(s->threads) if (s->threads > 1)
        {
#ifdef _OPENMP
            scratch *x = &s->sc[omp_get_thread_num()];
#else
            scratch *x = &s->sc[0];
#endif
#pragma omp for schedule(dynamic, 1)
            for (int32_t w = w0; w < w1; w++)
                s->proposal[w - w0] = w == NGLM_BOS || w == NGLM_EOS || s->wn[w] == 0
                                          ? s->cls[w] : best_class(s, x, w);
        }
        for (int32_t w = w0; w < w1; w++)
            moved += (size_t)move_if_better(s, w, s->proposal[w - w0]);
    }
    return moved;
}

/* ---------------------------------------------------------------- public */

nglm_cluster_options nglm_cluster_options_default(void)
{
    nglm_cluster_options o;
    memset(&o, 0, sizeof o);
    o.max_passes = 30;
    o.threads = 1;
    o.min_gain = 1e-3;
    return o;
}

int nglm_cluster_exchange(const nglm_corpus *c, int32_t V, int n_classes,
                          const nglm_cluster_options *o, int32_t *class_of,
                          nglm_cluster_stats *st, nglm_error *err)
{
    nglm_cluster_options def = nglm_cluster_options_default();
    if (!o)
        o = &def;
    if (n_classes < 2)
        return nglm_error_set(err, "%d classes: at least 2 are needed (class 0 holds </s> "
                              "alone, the words share the others)", n_classes);
    if (V < NGLM_NUM_SPECIAL)
        return nglm_error_set(err, "clustering: the vocabulary has no special tokens");
    int32_t words = V - 2; /* all but <s> and </s> */
    if (!o->init && n_classes - 1 > words)
        return nglm_error_set(err, "%d classes for %d words: at most %d (class 0 holds "
                              "</s> alone)", n_classes, (int)words, (int)words + 1);
    if (c->n_tokens == 0)
        return nglm_error_set(err, "clustering: the text has no sentences");
    if (o->init) {
        memcpy(class_of, o->init, (size_t)V * sizeof *class_of);
    } else {
        class_of[NGLM_BOS] = class_of[NGLM_EOS] = 0;
        for (int32_t w = NGLM_UNK, r = 0; w < V; w++, r++)
            class_of[w] = 1 + r % (n_classes - 1);
    }
    nglm_cluster_state *s =
        nglm_cluster_state_new(c, V, n_classes, class_of, o->threads, err);
    if (!s)
        return -1;
    double tokens = (double)s->tokens;
    double ppl0 = exp(-nglm_cluster_state_loglik(s) / tokens), ppl = ppl0;
    int max_passes = o->max_passes >= 0 ? o->max_passes : 30;
    int pass = 0;
    size_t moved = 0;
    while (pass < max_passes) {
        pass++;
        double before = ppl;
        moved = nglm_cluster_state_pass(s);
        ppl = exp(-nglm_cluster_state_loglik(s) / tokens);
        if (o->on_pass)
            o->on_pass(pass, moved, ppl, o->user);
        if (moved == 0 || (o->min_gain > 0 && before - ppl < o->min_gain * before))
            break;
    }
    memcpy(class_of, s->cls, (size_t)V * sizeof *class_of);
    if (st) {
        st->passes = pass;
        st->moved = moved;
        st->perplexity0 = ppl0;
        st->perplexity = ppl;
    }
    nglm_cluster_state_free(s);
    return 0;
}

int nglm_cluster_loglik(const nglm_corpus *c, int32_t V, int n_classes,
                        const int32_t *class_of, double *ll, uint64_t *tokens,
                        nglm_error *err)
{
    nglm_cluster_state *s = nglm_cluster_state_new(c, V, n_classes, class_of, 1, err);
    if (!s)
        return -1;
    *ll = nglm_cluster_state_loglik(s);
    if (tokens)
        *tokens = s->tokens;
    nglm_cluster_state_free(s);
    return 0;
}

/* ---------------------------------------------------------------- class files */

typedef struct class_name {
    UT_hash_handle hh;
    int32_t id;
    int oom;           /* set by uthash when adding failed */
    char name[];
} class_name;

static void names_free(class_name **names)
{
    class_name *e, *tmp;
    HASH_ITER(hh, *names, e, tmp) {
        HASH_DEL(*names, e);
        free(e);
    }
}

/* The class of name, a new one (numbered *n) when first seen; -1 out of
 * memory. */
static int32_t name_class(class_name **names, const char *name, int32_t *n)
{
    class_name *e;
    HASH_FIND_STR(*names, name, e);
    if (e)
        return e->id;
    size_t len = strlen(name);
    e = malloc(sizeof *e + len + 1);
    if (!e)
        return -1;
    memcpy(e->name, name, len + 1);
    e->id = *n;
    e->oom = 0;
    HASH_ADD(hh, *names, name[0], len, e);
    if (e->oom) {
        free(e);
        return -1;
    }
    return (*n)++;
}

/* The first invalid UTF-8 in s, with its reason, or NULL. */
static const char *bad_utf8(const char *s, size_t len, size_t *at)
{
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        const char *why;
        int k = nglm_utf8_decode((const unsigned char *)s + i, len - i, &cp, &why);
        if (k < 0) {
            *at = i;
            return why;
        }
        i += (size_t)k;
    }
    return NULL;
}

static int parse_class_int(const char *s, int32_t *out)
{
    if (*s == '\0')
        return -1;
    int64_t x = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        x = x * 10 + (*s - '0');
        if (x > INT32_MAX - 1)
            return -1;
    }
    *out = (int32_t)x;
    return 0;
}

int nglm_classes_read(const char *path, const nglm_vocab *v, nglm_classes_format format,
                      int flags, int32_t *class_of, int *n_classes, nglm_error *err)
{
    FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!fp)
        return nglm_error_errno(err, errno, "%s", path);
    int32_t V = (int32_t)nglm_vocab_size(v);
    unsigned char *seen = calloc((size_t)V, 1);
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t len;
    class_name *names = NULL;
    int32_t n = 0;               /* classes so far */
    int mode = 0;                /* 1 integers, 2 names, 3 paths */
    if (format == NGLM_CLASSES_PATHS)
        mode = 3;
    int rc = -1;
    if (!seen) {
        nglm_error_set(err, "%s: out of memory", path);
        goto done;
    }
    while ((len = getline(&line, &cap, fp)) >= 0) {
        lineno++;
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        if (len > 0 && line[len - 1] == '\r')
            line[--len] = '\0';
        if (len == 0)
            continue;
        size_t at;
        const char *why = bad_utf8(line, (size_t)len, &at);
        if (why) {
            nglm_error_set(err, "%s:%zu: invalid UTF-8 at byte %zu (%s)", path, lineno,
                           at + 1, why);
            goto done;
        }
        if (strlen(line) != (size_t)len) {
            nglm_error_set(err, "%s:%zu: NUL byte", path, lineno);
            goto done;
        }
        char *f[3];
        int nf = 0;
        f[nf++] = line;
        for (char *p = line; *p; p++)
            if (*p == '\t') {
                *p = '\0';
                if (nf == 3) {
                    nf = 4;
                    break;
                }
                f[nf++] = p + 1;
            }
        if (mode == 0)
            mode = format == NGLM_CLASSES_AUTO && nf == 3 ? 3 : 0;
        const char *word, *cls;
        if (mode == 3) {
            if (nf != 3) {
                nglm_error_set(err, "%s:%zu: expected 'bitstring<TAB>word<TAB>count' (Brown "
                               "clustering's paths)", path, lineno);
                goto done;
            }
            cls = f[0];
            word = f[1];
            if (*cls == '\0' || strspn(cls, "01") != strlen(cls)) {
                nglm_error_set(err, "%s:%zu: '%s' is not a bit string", path, lineno, cls);
                goto done;
            }
        } else {
            if (nf != 2) {
                nglm_error_set(err, "%s:%zu: expected 'word<TAB>class'", path, lineno);
                goto done;
            }
            word = f[0];
            cls = f[1];
            int32_t x;
            if (mode == 0)
                mode = parse_class_int(cls, &x) == 0 ? 1 : 2;
        }
        if (*word == '\0' || *cls == '\0') {
            nglm_error_set(err, "%s:%zu: empty %s", path, lineno, *word ? "class" : "word");
            goto done;
        }
        int32_t id = nglm_vocab_find(v, word);
        if (id < 0) {
            if (flags & NGLM_CLASSES_SKIP_UNKNOWN)
                continue;
            nglm_error_set(err, "%s:%zu: '%s' is not in the vocabulary", path, lineno, word);
            goto done;
        }
        if (seen[id]) {
            nglm_error_set(err, "%s:%zu: '%s' is listed twice", path, lineno, word);
            goto done;
        }
        seen[id] = 1;
        int32_t k;
        if (mode == 1) {
            if (parse_class_int(cls, &k) != 0) {
                nglm_error_set(err, "%s:%zu: class '%s' is not an integer in 0..%d (the "
                               "first line's class is)", path, lineno, cls, INT32_MAX - 2);
                goto done;
            }
            if (k + 1 > n)
                n = k + 1;
        } else {
            k = name_class(&names, cls, &n);
            if (k < 0) {
                nglm_error_set(err, "%s: out of memory", path);
                goto done;
            }
        }
        if (id != NGLM_BOS)
            class_of[id] = k;
    }
    if (ferror(fp)) {
        nglm_error_errno(err, errno, "%s: read error", path);
        goto done;
    }
    /* what the file leaves out */
    size_t missing = 0;
    int32_t first = -1;
    for (int32_t w = NGLM_EOS; w < V; w++)
        if (!seen[w]) {
            if (flags & NGLM_CLASSES_ALLOW_MISSING) {
                class_of[w] = -1;
            } else if (w == NGLM_EOS || w == NGLM_UNK) {
                if (n == INT32_MAX) {
                    nglm_error_set(err, "%s: too many classes", path);
                    goto done;
                }
                class_of[w] = n++;
            } else if (missing++ == 0) {
                first = w;
            }
        }
    if (missing) {
        nglm_error_set(err, "%s: %zu word%s of the vocabulary %s not listed, the first '%s'",
                       path, missing, missing == 1 ? "" : "s", missing == 1 ? "is" : "are",
                       nglm_vocab_word(v, first));
        goto done;
    }
    class_of[NGLM_BOS] = class_of[NGLM_EOS];
    *n_classes = (int)n;
    rc = 0;
done:
    names_free(&names);
    free(line);
    free(seen);
    if (fp != stdin)
        fclose(fp);
    return rc;
}

int nglm_classes_write(const char *path, const nglm_vocab *v, const int32_t *class_of,
                       nglm_classes_format format, nglm_error *err)
{
    if (format != NGLM_CLASSES_TAB && format != NGLM_CLASSES_MKCLS)
        return nglm_error_set(err, "%s: classes are written in the tab or mkcls form", path);
    int32_t V = (int32_t)nglm_vocab_size(v);
    int mkcls = format == NGLM_CLASSES_MKCLS;
    if (strcmp(path, "-") == 0) {
        for (int32_t w = mkcls ? NGLM_UNK : NGLM_EOS; w < V; w++)
            if (printf("%s\t%d\n", nglm_vocab_word(v, w), (int)class_of[w] + mkcls) < 0)
                return nglm_error_errno(err, errno, "stdout: write error");
        if (fflush(stdout) != 0)
            return nglm_error_errno(err, errno, "stdout: write error");
        return 0;
    }
    nglm_atomic at;
    if (nglm_atomic_open(&at, path, err) != 0)
        return -1;
    for (int32_t w = mkcls ? NGLM_UNK : NGLM_EOS; w < V; w++)
        if (fprintf(at.fp, "%s\t%d\n", nglm_vocab_word(v, w), (int)class_of[w] + mkcls) < 0)
            return nglm_atomic_fail(&at, errno, err);
    return nglm_atomic_commit(&at, err);
}

/* ---------------------------------------------------------------- a text's classes */

int nglm_cluster_text(const char *text_path, int n_classes, const nglm_cluster_options *opt,
                      const char *classes_path, nglm_cluster_stats *st, nglm_error *err)
{
    nglm_cluster_options o = opt ? *opt : nglm_cluster_options_default();
    if (o.init)
        return nglm_error_set(err, "nglm_cluster_text starts from the dealing by frequency "
                              "(init must be NULL)");
    if (strcmp(text_path, "-") == 0)
        return nglm_error_set(err, "the text is read twice (its words, then its sentences): "
                              "give a file, not stdin");
    /* as nglm-cluster: every word of the text, its default tokenizer */
    nglm_tok_options tok = nglm_tok_options_default();
    nglm_vocab *v = nglm_vocab_new();
    if (!v)
        return nglm_error_set(err, "out of memory");
    nglm_corpus c = {0};
    int32_t *cls = NULL;
    int rc = nglm_vocab_count_file_threads(v, text_path, &tok, o.threads, NULL, NULL, err);
    if (rc == 0)
        rc = nglm_vocab_finalize(v, 1, 0, err);
    if (rc == 0)
        rc = nglm_corpus_read(&c, text_path, &tok, v, err);
    if (rc == 0 && c.n_tokens == 0)
        rc = nglm_error_set(err, "%s: no sentences (the text is empty or blank)", text_path);
    int32_t V = (int32_t)nglm_vocab_size(v);
    if (rc == 0 && !(cls = malloc((size_t)V * sizeof *cls)))
        rc = nglm_error_set(err, "out of memory");
    if (rc == 0)
        rc = nglm_cluster_exchange(&c, V, n_classes, &o, cls, st, err);
    if (rc == 0)
        rc = nglm_classes_write(classes_path, v, cls, NGLM_CLASSES_TAB, err);
    free(cls);
    nglm_corpus_free(&c);
    nglm_vocab_free(v);
    return rc;
}
