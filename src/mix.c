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
    if (per_sentence) {
        r->sent_logprob10 = calloc(ca->n_sents ? ca->n_sents : 1, sizeof(double));
        if (!r->sent_logprob10)
            return nglm_error_set(err, "out of memory");
    }
    /* A literal "<unk>" is <unk> in both readings but an OOV in neither:
     * the <unk> ids beyond a reading's OOV count are those. */
    uint64_t unk_either = 0, unk_a = 0, skipped = 0, zero = 0;
    double sum = 0;
    for (size_t s = 0; s < ca->n_sents; s++) {
        double ss = 0;
        for (size_t t = ca->start[s]; t < ca->start[s + 1]; t++) {
            unk_a += ca->ids[t] == NGLM_UNK;
            unk_either += ca->ids[t] == NGLM_UNK || cb->ids[t] == NGLM_UNK;
            double lp = nglm_mix_logprob10(la[t], lb[t], lambda);
            if (isnan(lp)) {
                skipped++;
            } else if (lp == -INFINITY) {
                zero++;
            } else {
                ss += lp;
                if (ca->ids[t] == NGLM_UNK || cb->ids[t] == NGLM_UNK) {
                    r->unk_scored++;
                    r->unk_logprob10 += lp;
                }
            }
        }
        sum += ss;
        if (per_sentence)
            r->sent_logprob10[s] = ss;
    }
    uint64_t literal_unk = unk_a >= ca->n_oov ? unk_a - ca->n_oov : 0;
    r->sentences = ca->n_sents;
    r->words = ca->n_words;
    r->oovs = unk_either >= literal_unk ? unk_either - literal_unk : 0;
    r->zeroprobs = zero;
    r->oovs_skipped = skipped > 0;
    r->scored = ca->n_tokens - skipped - zero;
    r->logprob10 = sum;
    double n = (double)ca->n_tokens - (double)skipped - (double)zero;
    double n1 = n - (double)ca->n_sents;
    r->ppl = n > 0 ? pow(10.0, -sum / n) : NAN;
    r->ppl1 = n1 > 0 ? pow(10.0, -sum / n1) : NAN;
    return 0;
}
