/*
 * eval.c — perplexity reports in SRILM's format (see nglm/eval.h), from the
 * exact per-token probabilities of nglm_model_score_corpus.
 */
#include "nglm/eval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int nglm_eval_corpus(const nglm_model *m, const nglm_corpus *c, int threads,
                     int per_sentence, nglm_eval_report *r, nglm_error *err)
{
    return nglm_eval_corpus_progress(m, c, threads, per_sentence, NULL, r, err);
}

int nglm_eval_corpus_progress(const nglm_model *m, const nglm_corpus *c, int threads,
                              int per_sentence, const nglm_progress *p,
                              nglm_eval_report *r, nglm_error *err)
{
    memset(r, 0, sizeof *r);
    double *logp = malloc((c->n_tokens ? c->n_tokens : 1) * sizeof *logp);
    if (!logp)
        return nglm_error_set(err, "out of memory scoring %zu tokens", c->n_tokens);
    if (per_sentence) {
        r->sent_logprob10 = calloc(c->n_sents ? c->n_sents : 1, sizeof(double));
        if (!r->sent_logprob10) {
            free(logp);
            return nglm_error_set(err, "out of memory");
        }
    }
    if (nglm_model_score_corpus_progress(m, c, logp, threads, p, err) != 0) {
        free(logp);
        nglm_eval_report_free(r);
        return -1;
    }
    double sum = 0, unk = 0;
    for (size_t s = 0; s < c->n_sents; s++) {
        double ss = 0;
        for (size_t t = c->start[s]; t < c->start[s + 1]; t++) {
            ss += logp[t];
            if (c->ids[t] == NGLM_UNK) {
                r->unk_scored++;
                unk += logp[t];
            }
        }
        sum += ss;
        if (per_sentence)
            r->sent_logprob10[s] = ss / M_LN10;
    }
    free(logp);
    r->scored = c->n_tokens;
    r->unk_logprob10 = unk / M_LN10;
    r->sentences = c->n_sents;
    r->words = c->n_words;
    r->oovs = c->n_oov;
    r->logprob10 = sum / M_LN10;
    size_t n = c->n_tokens, n1 = c->n_tokens - c->n_sents;
    r->ppl = n ? exp(-sum / (double)n) : NAN;
    r->ppl1 = n1 ? exp(-sum / (double)n1) : NAN; /* SRILM: all of logprob over words */
    return 0;
}

int nglm_eval_perplexity(const nglm_model *m, const nglm_corpus *c, int threads,
                         double *ppl, nglm_error *err)
{
    nglm_eval_report r;
    if (nglm_eval_corpus(m, c, threads, 0, &r, err) != 0)
        return -1;
    *ppl = r.ppl;
    return 0;
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
