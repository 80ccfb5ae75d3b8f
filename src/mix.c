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
