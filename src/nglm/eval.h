/*
 * nglm/eval.h — perplexity of a text under a model, reported the way
 * SRILM's `ngram -ppl` does (doc/model.md §4):
 *
 *   file test.txt: 3761 sentences, 78669 words, 12 OOVs, scored as <unk>
 *   0 zeroprobs, logprob= -177210.5 ppl= 141.2 ppl1= 178.9
 *   excluding the 4806 tokens scored as <unk>: logprob= -165001.2 ppl= 131.1 ppl1= 165.0
 *
 * Every word and every sentence's </s> is predicted, <s> never; words not
 * in the vocabulary are scored as <unk> and counted as OOVs (an ARPA model
 * without <unk> cannot score them: they are skipped, as SRILM does).
 * logprob is in log10 over every predicted token; ppl divides it by words +
 * sentences, ppl1 by words only (SRILM's definitions).  The third line,
 * printed when some token was scored as <unk> (an OOV, or <unk> written in
 * the text), is the same without those tokens, as KenLM's query reports
 * "excluding OOVs".  An empty text has "undefined" perplexities.
 */
#ifndef NGLM_EVAL_H
#define NGLM_EVAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "nglm/corpus.h"
#include "nglm/error.h"
#include "nglm/model.h"
#include "nglm/nglm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* nglm_eval_report, nglm_eval_print and nglm_eval_report_free are public
 * (nglm/nglm.h). */

/* A model's report: nglm_lm_eval (nglm/lm.h). */

/* The report of per-token log10 probabilities lp10 (ca->n_tokens) of the
 * text read as ca: NAN marks a token the model skipped (left out, counted
 * as an OOV), -INFINITY a zero probability (a zeroprob, left out).  cb, if
 * not NULL, is another reading of the same tokens (a mixture's second
 * model): a token that is <unk> in either reading is an OOV (a literal
 * "<unk>" in the text excepted) and scored as <unk>.  Every report above
 * is made by this one. */
int nglm_eval_tokens(const nglm_corpus *ca, const nglm_corpus *cb, const double *lp10,
                     int per_sentence, nglm_eval_report *r, nglm_error *err);

/* exp(−mean ln P) over the tokens of c (exact). */
int nglm_eval_perplexity(const nglm_model *m, const nglm_corpus *c, int threads,
                         double *ppl, nglm_error *err);

/* nglm_eval_print with `digits` decimals for logprob, ppl and ppl1 (the default
 * above is 2; more for comparing models exactly, e.g. an ARPA export). */
void nglm_eval_print_digits(FILE *fp, const char *name, const nglm_eval_report *r,
                            int digits);

#ifdef __cplusplus
}
#endif
#endif
