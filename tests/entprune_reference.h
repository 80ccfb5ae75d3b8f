/*
 * entprune_reference.h — the slow, obviously-correct reference for
 * relative-entropy pruning (src/entprune.c), for tests/check_entprune.c.
 *
 * A back-off model is a plain list of n-grams (words, log10 probability,
 * on/off), looked up by linear search.  Back-off weights are computed from
 * their definition, by summing the backed-off distribution over the whole
 * vocabulary: bow(h) = (1 − Σ_{w listed after h} p(w|h)) /
 * Σ_{w not listed after h} p_bo(w|h⁻).  The relative entropy of a removal
 * is computed from the two whole models' full distributions, with nothing
 * of the fast path's algebra (the sums N and D, the updated weight).
 * <s> is never predicted (ARPA files give it 0 or −99 as they please): the
 * sums over the vocabulary leave it out.  Small models only: every
 * probability is O(n-grams).
 */
#ifndef NGLM_ENTPRUNE_REFERENCE_H
#define NGLM_ENTPRUNE_REFERENCE_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define EPREF_MAX_ORDER 8

typedef struct epref {
    int order;
    int32_t V;
    size_t n;
    int32_t (*w)[EPREF_MAX_ORDER]; /* (n) words, oldest first */
    int *len;                      /* (n) */
    double *lp;                    /* (n) log10 probability */
    double *bow;                   /* (n) log10 back-off weight (epref_normalise) */
    int *on;                       /* (n) 1: in the model */
} epref;

/* The entry of words[0..k) that is on, or -1. */
static inline long epref_find(const epref *R, const int32_t *words, int k)
{
    for (size_t i = 0; i < R->n; i++)
        if (R->on[i] && R->len[i] == k && memcmp(R->w[i], words, k * sizeof *words) == 0)
            return (long)i;
    return -1;
}

/* log10 P(w | ctx[0..k)) by the back-off rule, recursively. */
static inline double epref_log10(const epref *R, const int32_t *ctx, int k, int32_t w)
{
    if (k > R->order - 1)
        return epref_log10(R, ctx + (k - (R->order - 1)), R->order - 1, w);
    int32_t g[EPREF_MAX_ORDER + 1];
    memcpy(g, ctx, k * sizeof *g);
    g[k] = w;
    long x = epref_find(R, g, k + 1);
    if (x >= 0)
        return R->lp[x];
    if (k == 0)
        return -INFINITY;
    long c = epref_find(R, ctx, k);
    return (c >= 0 ? R->bow[c] : 0) + epref_log10(R, ctx + 1, k - 1, w);
}

/* Every on n-gram's back-off weight from its definition, shortest first. */
static inline void epref_normalise(epref *R)
{
    for (size_t i = 0; i < R->n; i++)
        R->bow[i] = 0;
    for (int k = 1; k < R->order; k++)
        for (size_t i = 0; i < R->n; i++) {
            if (!R->on[i] || R->len[i] != k)
                continue;
            double listed = 0, rest = 0;
            int any = 0;
            int32_t g[EPREF_MAX_ORDER + 1];
            memcpy(g, R->w[i], k * sizeof *g);
            for (int32_t w = 1; w < R->V; w++) { /* not <s> (id 0) */
                g[k] = w;
                if (epref_find(R, g, k + 1) >= 0) {
                    any = 1;
                    listed += pow(10, epref_log10(R, g, k, w));
                } else {
                    rest += pow(10, epref_log10(R, g + 1, k - 1, w));
                }
            }
            R->bow[i] = any ? log10((1 - listed) / rest) : 0;
        }
}

/* log10 of the probability of the history h[0..k) under the model: each
 * word given those before it, a first <s> counted as </s>. */
static inline double epref_history_log10(const epref *R, const int32_t *h, int k)
{
    double s = 0;
    for (int i = 0; i < k; i++)
        s += epref_log10(R, h, i, i == 0 && h[0] == 0 ? 1 : h[i]);
    return s;
}

/* p(h) Σ_w p(w|h) ln(p(w|h) / q(w|h)) in nats: the relative entropy at the
 * history h between model P (weighting, and the first distribution) and Q. */
static inline double epref_kl_at(const epref *P, const epref *Q, const int32_t *h, int k)
{
    double d = 0;
    for (int32_t w = 1; w < P->V; w++) {
        double lp = epref_log10(P, h, k, w), lq = epref_log10(Q, h, k, w);
        if (lp > -INFINITY)
            d += pow(10, lp) * (lp - lq) * M_LN10;
    }
    return pow(10, epref_history_log10(P, h, k)) * d;
}

static inline void epref_copy(epref *dst, const epref *src)
{
    *dst = *src;
    dst->bow = malloc(src->n * sizeof *dst->bow);
    dst->on = malloc(src->n * sizeof *dst->on);
    memcpy(dst->bow, src->bow, src->n * sizeof *dst->bow);
    memcpy(dst->on, src->on, src->n * sizeof *dst->on);
}

static inline void epref_free_copy(epref *R)
{
    free(R->bow);
    free(R->on);
}

/* The criterion of entry x of a normalised model R, from scratch: the
 * model without x, its weights recomputed; the relative entropy at x's
 * context (*at) and summed over every context of R (*all; meaningful when
 * x is the context of no longer n-gram, so that the model without it is
 * still a back-off model); returns exp(*at) − 1, the criterion. */
static inline double epref_criterion(const epref *R, size_t x, double *at, double *all)
{
    epref Q;
    epref_copy(&Q, R);
    Q.on[x] = 0;
    epref_normalise(&Q);
    *at = epref_kl_at(R, &Q, R->w[x], R->len[x] - 1);
    *all = 0;
    for (size_t i = 0; i < R->n; i++)
        if (R->on[i] && R->len[i] < R->order)
            *all += epref_kl_at(R, &Q, R->w[i], R->len[i]);
    epref_free_copy(&Q);
    return expm1(*at);
}

#endif
