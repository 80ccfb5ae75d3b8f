/*
 * nglm/mix.h — linear interpolation of language models on a text, from
 * their per-token scores, and the best weights by EM (as SRILM's
 * compute-best-mix): the arithmetic under nglm_lm's mixtures (nglm/lm.h),
 * which most callers want instead.
 *
 *   P(w | h) = λ · P_A(w | h) + (1 − λ) · P_B(w | h)
 *
 * The inputs are per-token log10 probabilities of one text under each model,
 * each model having read the text with its own tokenizer and vocabulary
 * (nglm_corpus_read): token t of one reading must be token t of the other,
 * so both readings must have the same sentences of the same lengths.  A
 * log10 probability of -INFINITY is a zero probability; NAN marks a token
 * the model skipped (an OOV of an ARPA model without <unk>).
 *
 * A token skipped by either model is skipped by the mixture and counted as
 * an OOV; so are the other tokens read as <unk> by either model (a literal
 * "<unk>" in the text is the <unk> token, not an OOV).  A token whose mixed
 * probability is zero is a zeroprob.  Neither enters the perplexity, as in
 * any model's report (nglm_lm_report).
 *
 * EM: starting from λ = 0.5, repeat λ ← mean over tokens of the posterior
 * λ P_A / (λ P_A + (1 − λ) P_B) until λ changes by less than the tolerance.
 * Every step increases the held-out likelihood, which is concave in λ, so
 * the limit is its maximum.  Tokens skipped by either model, or with zero
 * probability under both, are left out.
 */
#ifndef NGLM_MIX_H
#define NGLM_MIX_H

#include <stddef.h>

#include "nglm/corpus.h"
#include "nglm/error.h"
#include "nglm/eval.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Tolerance and iteration cap of nglm-eval's --lambda auto. */
#define NGLM_MIX_EM_TOL 1e-9
#define NGLM_MIX_EM_MAX_ITER 100000

/* log10(λ · 10^a + (1 − λ) · 10^b), -INFINITY when that is zero; NAN if a
 * or b is NAN.  λ in [0, 1]. */
double nglm_mix_logprob10(double a, double b, double lambda);

/* Fails (with a message naming both token counts) unless ca and cb hold
 * the same sentences with the same numbers of tokens. */
int nglm_mix_check_texts(const nglm_corpus *ca, const nglm_corpus *cb, nglm_error *err);

/* The EM weight of model A for n tokens with log10 probabilities la[t],
 * lb[t] (see above): *lambda in [0, 1], *iterations the number of updates
 * made (at most max_iter; stops early once an update is below tol).  Fails
 * if no token can be used. */
int nglm_mix_em(const double *la, const double *lb, size_t n, double tol, int max_iter,
                double *lambda, int *iterations, nglm_error *err);

/* The SRILM-style report (nglm/eval.h) of the mixture with weight lambda
 * on the text read as ca by model A and as cb by model B, with per-token
 * log10 probabilities la (ca->n_tokens) and lb (cb->n_tokens).
 * per_sentence: also fill r->sent_logprob10. */
int nglm_mix_eval(const nglm_corpus *ca, const nglm_corpus *cb, const double *la,
                  const double *lb, double lambda, int per_sentence,
                  nglm_eval_report *r, nglm_error *err);

/* ---------------------------------------------------------------- n models
 *
 * The same for k models with weights w[0..k) (>= 0, summing to 1):
 * log10 Σ_j w_j 10^l_j, computed as above (scaled by the largest l_j; for
 * k = 2 exactly nglm_mix_logprob10(l[0], l[1], w[0]) when w[1] = 1 − w[0]).
 * NAN if any l_j is NAN. */
double nglm_mix_logprob10_n(const double *l, const double *w, size_t k);

/* The EM weights of k models for n tokens, lp[j][t] the log10 probability
 * of token t under model j; tokens that some model skips (NAN) or that all
 * give zero are left out.  w holds the start (each > 0, summing to 1) and
 * gets the result.  One EM update is w_j ← mean over the tokens of the
 * posterior w_j P_j / Σ_i w_i P_i; it never lowers the likelihood, which is
 * concave in w, so the fixed point is its maximum (compute-best-mix's).
 * accelerate: SQUAREM (Varadhan & Roland 2008, step length −|r|/|v|,
 * backtracked to stay inside the simplex, an extrapolation kept only when
 * it does not lower the likelihood below a plain step's), which reaches
 * the same fixed point in tens of updates where plain EM takes hundreds;
 * 0: plain EM, the reference.  Stops once no weight moves by tol in an
 * update, or after max_iter updates; *iterations: updates made. */
int nglm_mix_em_n(const double *const *lp, size_t k, size_t n, double tol, int max_iter,
                  int accelerate, double *w, int *iterations, nglm_error *err);

#ifdef __cplusplus
}
#endif
#endif
