/*
 * eval.c — perplexity reports in SRILM's format (see nglm/eval.h), from
 * per-token log10 probabilities of any model (nglm_lm_eval, nglm/lm.h,
 * scores a text with one and reports).
 */
#include "nglm/eval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nglm/vocab.h"

int nglm_eval_tokens(const nglm_corpus *ca, const nglm_corpus *cb, const double *lp10,
                     int per_sentence, nglm_eval_report *r, nglm_error *err)
{
    memset(r, 0, sizeof *r);
    if (!cb)
        cb = ca;
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
            int unk = ca->ids[t] == NGLM_UNK || cb->ids[t] == NGLM_UNK;
            unk_a += ca->ids[t] == NGLM_UNK;
            unk_either += unk;
            double lp = lp10[t];
            if (isnan(lp)) {
                skipped++;
            } else if (lp == -INFINITY) {
                zero++;
            } else {
                ss += lp;
                if (unk) {
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
    /* SRILM: ppl over the scored words and </s>, ppl1 over the words */
    double n = (double)r->scored, n1 = n - (double)ca->n_sents;
    r->ppl = n > 0 ? pow(10.0, -sum / n) : NAN;
    r->ppl1 = n1 > 0 ? pow(10.0, -sum / n1) : NAN;
    return 0;
}

int nglm_eval_perplexity(const nglm_model *m, const nglm_corpus *c, int threads,
                         double *ppl, nglm_error *err)
{
    double *lp = malloc((c->n_tokens ? c->n_tokens : 1) * sizeof *lp);
    if (!lp)
        return nglm_error_set(err, "out of memory scoring %zu tokens", c->n_tokens);
    nglm_eval_report r;
    int rc = nglm_model_score_corpus10(m, c, lp, threads, NULL, err);
    if (rc == 0)
        rc = nglm_eval_tokens(c, NULL, lp, 0, &r, err);
    free(lp);
    if (rc == 0)
        *ppl = r.ppl;
    return rc;
}

void nglm_eval_print(FILE *fp, const char *name, const nglm_eval_report *r)
{
    nglm_eval_print_digits(fp, name, r, 2);
}

void nglm_eval_print_digits(FILE *fp, const char *name, const nglm_eval_report *r,
                            int digits)
{
    fprintf(fp, "file %s: %llu sentences, %llu words, %llu OOVs%s\n", name,
            (unsigned long long)r->sentences, (unsigned long long)r->words,
            (unsigned long long)r->oovs,
            r->oovs == 0 ? "" : r->oovs_skipped ? ", skipped" : ", scored as <unk>");
    char ppl[64] = "undefined", ppl1[64] = "undefined";
    if (isfinite(r->ppl))
        snprintf(ppl, sizeof ppl, "%.*f", digits, r->ppl);
    if (isfinite(r->ppl1))
        snprintf(ppl1, sizeof ppl1, "%.*f", digits, r->ppl1);
    fprintf(fp, "%llu zeroprobs, logprob= %.*f ppl= %s ppl1= %s\n",
            (unsigned long long)r->zeroprobs, digits, r->logprob10, ppl, ppl1);
    if (r->unk_scored == 0)
        return;
    /* without the <unk> tokens: their log10 P out, and out of the counts */
    double lp = r->logprob10 - r->unk_logprob10;
    double n = (double)(r->scored - r->unk_scored), n1 = n - (double)r->sentences;
    snprintf(ppl, sizeof ppl, "undefined");
    snprintf(ppl1, sizeof ppl1, "undefined");
    if (n > 0)
        snprintf(ppl, sizeof ppl, "%.*f", digits, pow(10.0, -lp / n));
    if (n1 > 0)
        snprintf(ppl1, sizeof ppl1, "%.*f", digits, pow(10.0, -lp / n1));
    fprintf(fp, "excluding the %llu tokens scored as <unk>: logprob= %.*f ppl= %s ppl1= %s\n",
            (unsigned long long)r->unk_scored, digits, lp, ppl, ppl1);
}

void nglm_eval_report_free(nglm_eval_report *r)
{
    free(r->sent_logprob10);
    r->sent_logprob10 = NULL;
}
