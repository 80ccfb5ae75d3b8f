/*
 * kn_reference.h — the slow, obviously correct interpolated modified
 * Kneser-Ney estimate (KenLM lmplz's rules) that tests/check_kn.c checks the
 * fast src/kn.c against.  It is written independently, straight from the
 * formulas of include/nglm/kn.h, and shares no code with src/kn.c: it reads
 * the text itself instead of the feature index.
 *
 * Everything is naive on purpose: every n-gram of the text is an explicit
 * record in a sorted array per order, found by binary search; adjusted
 * counts, discounts, context sums, back-off weights and probabilities are
 * each computed from their definition, in double precision, in separate
 * passes.  Small inputs only (a few thousand tokens).
 *
 * The n-grams of a sentence w_1 .. w_L, w_{L+1} = </s>: for every position
 * i = 1 .. L+1 and length m = 1 .. order, (w_{i-m+1} .. w_i), where position
 * 0 is <s> and nothing exists before it (so an n-gram holds at most one <s>,
 * always first).  Every id of the vocabulary is a unigram, seen or not.
 */
#ifndef NGLM_KN_REFERENCE_H
#define NGLM_KN_REFERENCE_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nglm/corpus.h"
#include "nglm/error.h"
#include "nglm/features.h"
#include "nglm/vocab.h"

/* One n-gram x of the text, with what it is as a predicted n-gram and as a
 * context (its successors are the (m+1)-grams x w). */
typedef struct knref_gram {
    int32_t w[NGLM_MAX_ORDER]; /* words oldest first; entries past m are -1 */
    uint64_t count;            /* raw count c(x) */
    uint64_t adj;              /* adjusted count a(x) */
    int pruned;                /* 1: c(x) <= prune[m], not in the model */
    /* as a context */
    double S;                  /* Σ a(x w) over every successor, pruned ones too */
    uint64_t N[4];             /* unpruned successors with a = 0, 1, 2, >= 3 */
    double pruned_mass;        /* Σ a(x w) over the pruned successors */
    uint64_t listed_succ;      /* unpruned successors */
    double gamma;              /* γ(x); 0 when x has no successor */
    /* in the model */
    double p;                  /* P(w | c) for x = (c, w); 1 for the unigram <s> */
    double bo;                 /* γ(x) when x has unpruned successors, else 1 */
} knref_gram;

typedef struct knref {
    int order;
    int32_t V;
    knref_gram *g[NGLM_MAX_ORDER + 1]; /* g[m]: the m-grams, sorted by words */
    size_t n[NGLM_MAX_ORDER + 1];      /* of them */
    uint64_t listed[NGLM_MAX_ORDER + 1]; /* unpruned m-grams */
    uint64_t n_adj[NGLM_MAX_ORDER + 1][5]; /* m-grams with adjusted count j = 1..4 */
    double D[NGLM_MAX_ORDER + 1][4];    /* D[m][j], j = 1..3; D[m][0] = 0 */
    int fallback_used[NGLM_MAX_ORDER + 1];
    knref_gram root;                   /* the empty context (successors: the unigrams) */
} knref;

static int knref_cmp(const void *a, const void *b)
{
    const knref_gram *x = a, *y = b;
    for (int j = 0; j < NGLM_MAX_ORDER; j++)
        if (x->w[j] != y->w[j])
            return x->w[j] < y->w[j] ? -1 : 1;
    return 0;
}

/* The m-gram words[0..m-1], or NULL if the text does not have it. */
static inline knref_gram *knref_find(const knref *R, const int32_t *words, int m)
{
    if (m < 1 || m > R->order)
        return NULL;
    knref_gram key;
    memset(&key, 0, sizeof key);
    for (int j = 0; j < NGLM_MAX_ORDER; j++)
        key.w[j] = j < m ? words[j] : -1;
    return bsearch(&key, R->g[m], R->n[m], sizeof key, knref_cmp);
}

/* D_m(a): 0 for a = 0, D_m(3) for every a >= 3. */
static double knref_discount(const knref *R, int m, uint64_t a)
{
    return R->D[m][a >= 3 ? 3 : a];
}

static inline void knref_free(knref *R)
{
    for (int m = 0; m <= NGLM_MAX_ORDER; m++)
        free(R->g[m]);
    memset(R, 0, sizeof *R);
}

/* Builds the model of text c (vocabulary size V, <s> included) at the given
 * order.  prune: NULL (keep all) or prune[m] for m = 2..order (prune[1] is
 * ignored).  fallback_d[1..3] replace the discounts of an order whose n_j
 * cannot give them when fallback is set; without it that is an error naming
 * the order, as is an order with no n-grams at all.  Returns 0, or -1 with
 * err filled (R then holds nothing). */
static inline int knref_build(knref *R, const nglm_corpus *c, int32_t V, int order,
                              const uint64_t *prune, int fallback, const double *fallback_d,
                              nglm_error *err)
{
    memset(R, 0, sizeof *R);
    R->order = order;
    R->V = V;

    /* 1. every occurrence of every m-gram (m >= 2), then sorted and merged
     *    into distinct n-grams with their counts; unigrams by id */
    R->g[1] = calloc((size_t)V, sizeof *R->g[1]);
    R->n[1] = (size_t)V;
    for (int32_t w = 0; w < V; w++) {
        for (int j = 0; j < NGLM_MAX_ORDER; j++)
            R->g[1][w].w[j] = -1;
        R->g[1][w].w[0] = w;
    }
    size_t occ_n[NGLM_MAX_ORDER + 1] = {0};
    knref_gram *occ[NGLM_MAX_ORDER + 1] = {NULL};
    for (int m = 2; m <= order; m++)
        occ[m] = calloc(c->n_tokens + 1, sizeof *occ[m]);
    for (size_t s = 0; s < c->n_sents; s++) {
        size_t len;
        const int32_t *sent = nglm_corpus_sentence(c, s, &len);
        /* t[0] = <s>, t[1 .. len] = the sentence (its </s> last) */
        int32_t *t = malloc((len + 1) * sizeof *t);
        t[0] = NGLM_BOS;
        memcpy(t + 1, sent, len * sizeof *t);
        for (size_t i = 1; i <= len; i++) {
            R->g[1][t[i]].count++;
            for (int m = 2; m <= order; m++) {
                long first = (long)i - m + 1;
                if (first < 0)
                    break;
                knref_gram *x = &occ[m][occ_n[m]++];
                for (int j = 0; j < NGLM_MAX_ORDER; j++)
                    x->w[j] = j < m ? t[first + j] : -1;
            }
        }
        free(t);
    }
    for (int m = 2; m <= order; m++) {
        qsort(occ[m], occ_n[m], sizeof *occ[m], knref_cmp);
        R->g[m] = calloc(occ_n[m] + 1, sizeof *R->g[m]);
        for (size_t k = 0; k < occ_n[m]; k++) {
            if (R->n[m] == 0 || knref_cmp(&R->g[m][R->n[m] - 1], &occ[m][k]) != 0)
                R->g[m][R->n[m]++] = occ[m][k];
            R->g[m][R->n[m] - 1].count++;
        }
        free(occ[m]);
    }
    for (int m = 2; m <= order; m++)
        if (R->n[m] == 0) {
            knref_free(R);
            return nglm_error_set(err, "the text has no %d-grams: order %d is too high", m,
                                  order);
        }

    /* 2. adjusted counts: the raw count at the highest order and for n-grams
     *    starting with <s>; otherwise the number of distinct left neighbours
     *    v, that is of the distinct (m+1)-grams (v, x) */
    for (int m = 1; m <= order; m++)
        for (size_t k = 0; k < R->n[m]; k++) {
            knref_gram *x = &R->g[m][k];
            x->adj = (m == order || x->w[0] == NGLM_BOS) ? x->count : 0;
        }
    for (int m = 2; m <= order; m++)
        for (size_t k = 0; k < R->n[m]; k++) {
            knref_gram *x = knref_find(R, R->g[m][k].w + 1, m - 1);
            if (x == NULL || x->w[0] == NGLM_BOS) {
                knref_free(R);
                return nglm_error_set(err, "reference: a suffix is missing (a bug)");
            }
            x->adj++;
        }

    /* 3. pruning: by raw count, never the unigrams */
    for (int m = 1; m <= order; m++)
        for (size_t k = 0; k < R->n[m]; k++) {
            knref_gram *x = &R->g[m][k];
            x->pruned = m >= 2 && prune != NULL && x->count <= prune[m];
            R->listed[m] += !x->pruned;
        }

    /* 4. discounts of each order, from every m-gram (pruned ones too) */
    for (int m = 1; m <= order; m++) {
        for (size_t k = 0; k < R->n[m]; k++)
            if (R->g[m][k].adj >= 1 && R->g[m][k].adj <= 4)
                R->n_adj[m][R->g[m][k].adj]++;
        const uint64_t *nj = R->n_adj[m];
        int ok = nj[1] > 0 && nj[2] > 0 && nj[3] > 0;
        if (ok) {
            double Y = (double)nj[1] / ((double)nj[1] + 2.0 * (double)nj[2]);
            for (int j = 1; j <= 3; j++) {
                R->D[m][j] = j - (j + 1) * Y * (double)nj[j + 1] / (double)nj[j];
                if (R->D[m][j] < 0 || R->D[m][j] > j)
                    ok = 0;
            }
        }
        if (!ok) {
            if (!fallback) {
                nglm_error_set(err,
                               "%d-gram discounts cannot be estimated (n1 %llu, n2 %llu, "
                               "n3 %llu, n4 %llu): use the fallback discounts",
                               m, (unsigned long long)nj[1], (unsigned long long)nj[2],
                               (unsigned long long)nj[3], (unsigned long long)nj[4]);
                knref_free(R);
                return -1;
            }
            for (int j = 1; j <= 3; j++)
                R->D[m][j] = fallback_d[j];
            R->fallback_used[m] = 1;
        }
        R->D[m][0] = 0;
    }

    /* 5. contexts: the sums over their successors, then γ with the discounts
     *    of the successors' order */
    for (int m = 1; m <= order; m++)
        for (size_t k = 0; k < R->n[m]; k++) {
            knref_gram *y = &R->g[m][k];
            knref_gram *ctx = m == 1 ? &R->root : knref_find(R, y->w, m - 1);
            ctx->S += (double)y->adj;
            if (y->pruned) {
                ctx->pruned_mass += (double)y->adj;
            } else {
                ctx->N[y->adj >= 3 ? 3 : y->adj]++;
                ctx->listed_succ++;
            }
        }
    for (int m = 0; m < order; m++) {
        size_t n = m == 0 ? 1 : R->n[m];
        for (size_t k = 0; k < n; k++) {
            knref_gram *x = m == 0 ? &R->root : &R->g[m][k];
            if (x->S > 0)
                x->gamma = (R->D[m + 1][1] * (double)x->N[1] + R->D[m + 1][2] * (double)x->N[2] +
                            R->D[m + 1][3] * (double)x->N[3] + x->pruned_mass) / x->S;
        }
    }

    /* 6. interpolated probabilities, shortest n-grams first */
    for (int m = 1; m <= order; m++)
        for (size_t k = 0; k < R->n[m]; k++) {
            knref_gram *y = &R->g[m][k];
            y->bo = (m < order && y->listed_succ != 0) ? y->gamma : 1.0;
            if (y->pruned)
                continue;
            if (m == 1) {
                if (y->w[0] == NGLM_BOS)
                    y->p = 1.0;
                else
                    y->p = ((double)y->adj - knref_discount(R, 1, y->adj)) / R->root.S +
                           R->root.gamma / (double)(V - 1);
            } else {
                const knref_gram *ctx = knref_find(R, y->w, m - 1);
                const knref_gram *lower = knref_find(R, y->w + 1, m - 1);
                y->p = ((double)y->adj - knref_discount(R, m, y->adj)) / ctx->S +
                       ctx->gamma * lower->p;
            }
        }
    return 0;
}

/* log10 P and log10 back-off weight (0 when not a context) of the n-gram
 * words[0..m-1]; 1 if the model lists it, 0 if not (pruned or unseen). */
static inline int knref_lookup(const knref *R, const int32_t *words, int m, double *logp10,
                               double *bow10)
{
    const knref_gram *x = knref_find(R, words, m);
    if (x == NULL || x->pruned)
        return 0;
    *logp10 = log10(x->p);
    *bow10 = log10(x->bo);
    return 1;
}

/* log10 P(w | h) for the history h[0..k-1] (oldest first) by the ARPA
 * back-off rule: "h w" itself if listed, else the back-off weight of h (1
 * when h is unlisted or has no unpruned successor) times P(w | h⁻). */
static double knref_backoff10(const knref *R, const int32_t *h, int k, int32_t w)
{
    int32_t x[NGLM_MAX_ORDER];
    memcpy(x, h, (size_t)k * sizeof *x);
    x[k] = w;
    const knref_gram *g = knref_find(R, x, k + 1);
    if (g != NULL && !g->pruned)
        return log10(g->p);
    /* k >= 1 here: every unigram is listed */
    const knref_gram *c = knref_find(R, h, k);
    double bo10 = (c != NULL && !c->pruned) ? log10(c->bo) : 0.0;
    return bo10 + knref_backoff10(R, h + 1, k - 1, w);
}

/* log10 P(sent[i] | <s> sent[0..i-1]), the history cut to its last
 * order-1 words. */
static inline double knref_log10prob(const knref *R, const int32_t *sent, size_t i)
{
    int32_t h[NGLM_MAX_ORDER];
    /* the k words before position i, oldest first; position -1 is <s> */
    int k = (long)i + 1 < R->order - 1 ? (int)i + 1 : R->order - 1;
    for (int j = 0; j < k; j++) {
        long pos = (long)i - k + j;
        h[j] = pos >= 0 ? sent[pos] : NGLM_BOS;
    }
    return knref_backoff10(R, h, k, sent[i]);
}

#endif
