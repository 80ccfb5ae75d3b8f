/*
 * mix.c — linear interpolation of two models from their per-token log10
 * probabilities, and its EM weight (see nglm/mix.h).
 *
 * Probabilities stay in the log domain: both terms are scaled by the larger
 * one before adding, so tokens whose probabilities underflow a double
 * (10^-400) still mix correctly.
 */
#include "nglm/mix.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nglm/vocab.h"

double nglm_mix_logprob10(double a, double b, double lambda)
{
    if (isnan(a) || isnan(b))
        return NAN;
    double m = a > b ? a : b;
    if (m == -INFINITY)
        return -INFINITY;
    double v = lambda * pow(10.0, a - m) + (1.0 - lambda) * pow(10.0, b - m);
    return v > 0 ? m + log10(v) : -INFINITY;
}

/* The posterior of A for one token, λ P_A / (λ P_A + (1 − λ) P_B); λ itself
 * when the mixture gives the token probability zero (it says nothing). */
static double posterior(double a, double b, double lambda)
{
    double m = a > b ? a : b;
    double pa = lambda * pow(10.0, a - m), pb = (1.0 - lambda) * pow(10.0, b - m);
    return pa + pb > 0 ? pa / (pa + pb) : lambda;
}

static int usable(double a, double b)
{
    return !isnan(a) && !isnan(b) && !(a == -INFINITY && b == -INFINITY);
}

int nglm_mix_em(const double *la, const double *lb, size_t n, double tol, int max_iter,
                double *lambda, int *iterations, nglm_error *err)
{
    size_t used = 0;
    for (size_t t = 0; t < n; t++)
        used += (size_t)usable(la[t], lb[t]);
    if (used == 0)
        return nglm_error_set(err, "no token that both models can score: "
                                   "cannot estimate the mixture weight");
    double lam = 0.5;
    int it = 0;
    while (it < max_iter) {
        double sum = 0;
        for (size_t t = 0; t < n; t++)
            if (usable(la[t], lb[t]))
                sum += posterior(la[t], lb[t], lam);
        double next = sum / (double)used;
        it++;
        double change = fabs(next - lam);
        lam = next;
        if (change < tol)
            break;
    }
    *lambda = lam < 0 ? 0 : (lam > 1 ? 1 : lam);
    *iterations = it;
    return 0;
}

int nglm_mix_check_texts(const nglm_corpus *ca, const nglm_corpus *cb, nglm_error *err)
{
    if (ca->n_sents != cb->n_sents || ca->n_tokens != cb->n_tokens)
        return nglm_error_set(err, "the two models read the text differently "
                              "(%zu tokens in %zu sentences against %zu in %zu): "
                              "are their tokenizations different?",
                              ca->n_tokens, ca->n_sents, cb->n_tokens, cb->n_sents);
    for (size_t s = 0; s < ca->n_sents; s++)
        if (ca->start[s + 1] != cb->start[s + 1])
            return nglm_error_set(err, "the two models read sentence %zu differently "
                                  "(%zu tokens against %zu): are their tokenizations "
                                  "different?", s + 1, ca->start[s + 1] - ca->start[s],
                                  cb->start[s + 1] - cb->start[s]);
    return 0;
}

int nglm_mix_eval(const nglm_corpus *ca, const nglm_corpus *cb, const double *la,
                  const double *lb, double lambda, int per_sentence,
                  nglm_eval_report *r, nglm_error *err)
{
    memset(r, 0, sizeof *r);
    if (!(lambda >= 0 && lambda <= 1))
        return nglm_error_set(err, "the mixture weight must be in [0, 1] (got %g)", lambda);
    if (nglm_mix_check_texts(ca, cb, err) != 0)
        return -1;
    double *mixed = malloc((ca->n_tokens ? ca->n_tokens : 1) * sizeof *mixed);
    if (!mixed)
        return nglm_error_set(err, "out of memory mixing %zu tokens", ca->n_tokens);
    for (size_t t = 0; t < ca->n_tokens; t++)
        mixed[t] = nglm_mix_logprob10(la[t], lb[t], lambda);
    int rc = nglm_eval_tokens(ca, cb, mixed, per_sentence, r, err);
    free(mixed);
    return rc;
}

/* ---------------------------------------------------------------- n models */

double nglm_mix_logprob10_n(const double *l, const double *w, size_t k)
{
    double m = -INFINITY;
    for (size_t j = 0; j < k; j++) {
        if (isnan(l[j]))
            return NAN;
        if (l[j] > m)
            m = l[j];
    }
    if (m == -INFINITY)
        return -INFINITY;
    double v = 0;
    for (size_t j = 0; j < k; j++)
        v += w[j] * pow(10.0, l[j] - m);
    return v > 0 ? m + log10(v) : -INFINITY;
}

/* The tokens EM uses, as q[t·k + j] = 10^(l_j − max_i l_i) (the factor
 * that does not depend on the weights, computed once), and Σ_t max_i l_i. */
typedef struct em_data {
    size_t k, used;
    double *q;
} em_data;

/* One EM update of w into out; *ll: the log-likelihood (natural log, up to
 * a constant) at w. */
static void em_step(const em_data *d, const double *w, double *out, double *ll)
{
    size_t k = d->k;
    double L = 0;
    for (size_t j = 0; j < k; j++)
        out[j] = 0;
    for (size_t t = 0; t < d->used; t++) {
        const double *q = d->q + t * k;
        double s = 0;
        for (size_t j = 0; j < k; j++)
            s += w[j] * q[j];
        if (s > 0) {
            for (size_t j = 0; j < k; j++)
                out[j] += w[j] * q[j] / s;
            L += log(s);
        } else {
            for (size_t j = 0; j < k; j++) /* says nothing: the prior */
                out[j] += w[j];
            L = -INFINITY;
        }
    }
    for (size_t j = 0; j < k; j++)
        out[j] /= (double)d->used;
    *ll = L;
}

static double max_change(const double *a, const double *b, size_t k)
{
    double c = 0;
    for (size_t j = 0; j < k; j++)
        if (fabs(a[j] - b[j]) > c)
            c = fabs(a[j] - b[j]);
    return c;
}

int nglm_mix_em_n(const double *const *lp, size_t k, size_t n, double tol, int max_iter,
                  int accelerate, double *w, int *iterations, nglm_error *err)
{
    *iterations = 0;
    if (k < 1)
        return nglm_error_set(err, "a mixture needs at least one model");
    double sum = 0;
    for (size_t j = 0; j < k; j++) {
        if (!(w[j] > 0 && w[j] <= 1))
            return nglm_error_set(err, "EM must start from weights in (0, 1] (weight %zu "
                                  "is %g)", j + 1, w[j]);
        sum += w[j];
    }
    if (fabs(sum - 1) > 1e-6)
        return nglm_error_set(err, "EM's start weights sum to %.17g, not 1", sum);
    em_data d = {k, 0, NULL};
    for (size_t t = 0; t < n; t++) {
        int ok = 0, nan = 0;
        for (size_t j = 0; j < k; j++) {
            nan |= isnan(lp[j][t]);
            ok |= lp[j][t] > -INFINITY;
        }
        d.used += ok && !nan;
    }
    if (d.used == 0)
        return nglm_error_set(err, "no token that every model can score: "
                                   "cannot estimate the mixture weights");
    d.q = malloc(d.used * k * sizeof *d.q);
    double *buf = malloc(5 * k * sizeof *buf);
    if (!d.q || !buf) {
        free(d.q);
        free(buf);
        return nglm_error_set(err, "out of memory for EM over %zu tokens", d.used);
    }
    size_t u = 0;
    for (size_t t = 0; t < n; t++) {
        double m = -INFINITY;
        int nan = 0;
        for (size_t j = 0; j < k; j++) {
            nan |= isnan(lp[j][t]);
            if (lp[j][t] > m)
                m = lp[j][t];
        }
        if (nan || m == -INFINITY)
            continue;
        for (size_t j = 0; j < k; j++)
            d.q[u * k + j] = pow(10.0, lp[j][t] - m);
        u++;
    }
    double *w0 = buf, *w1 = buf + k, *w2 = buf + 2 * k, *x = buf + 3 * k, *w3 = buf + 4 * k;
    memcpy(w0, w, k * sizeof *w0);
    int it = 0;
    double l0, l1, lx;
    while (it < max_iter) {
        em_step(&d, w0, w1, &l0);
        it++;
        double change = max_change(w1, w0, k);
        if (change < tol || !accelerate || it >= max_iter) {
            memcpy(w0, w1, k * sizeof *w0);
            if (change < tol)
                break;
            continue;
        }
        em_step(&d, w1, w2, &l1);
        it++;
        if (max_change(w2, w1, k) < tol) {
            memcpy(w0, w2, k * sizeof *w0);
            break;
        }
        /* SQUAREM: r = w1 − w0, v = (w2 − w1) − r, x = w0 − 2αr + α²v */
        double rr = 0, vv = 0;
        for (size_t j = 0; j < k; j++) {
            double r = w1[j] - w0[j], v = w2[j] - w1[j] - r;
            rr += r * r;
            vv += v * v;
        }
        double alpha = vv > 0 ? -sqrt(rr / vv) : -1;
        if (alpha > -1)
            alpha = -1;
        for (;;) {
            int inside = 1;
            double s = 0;
            for (size_t j = 0; j < k; j++) {
                double r = w1[j] - w0[j], v = w2[j] - w1[j] - r;
                x[j] = w0[j] - 2 * alpha * r + alpha * alpha * v;
                inside &= x[j] > 0;
                s += x[j];
            }
            if (alpha == -1) { /* x = w2 */
                memcpy(x, w2, k * sizeof *x);
                break;
            }
            if (inside) {
                for (size_t j = 0; j < k; j++)
                    x[j] /= s;
                break;
            }
            alpha = (alpha - 1) / 2; /* halfway back toward the plain double step */
            if (alpha > -1.01)
                alpha = -1;
        }
        em_step(&d, x, w3, &lx);
        it++;
        if (lx >= l1)
            memcpy(w0, w3, k * sizeof *w0);
        else
            memcpy(w0, w2, k * sizeof *w0);
    }
    memcpy(w, w0, k * sizeof *w);
    *iterations = it;
    free(d.q);
    free(buf);
    return 0;
}
