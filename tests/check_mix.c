/*
 * check_mix.c — linear interpolation from per-token log10 probabilities:
 * the mixed probability against the direct formula (and where it would
 * underflow), the EM weight against a brute-force search of the
 * likelihood, and the mixed report: λ = 1 is model A's perplexity, a model
 * mixed with itself keeps its perplexity for any λ, skipped tokens are
 * OOVs, zero probabilities zeroprobs, and readings that differ are refused.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "nglm/corpus.h"
#include "nglm/mix.h"
#include "nglm/sample.h"
#include "nglm/vocab.h"
#include "testutil.h"

/* Σ_t ln(λ P_A + (1 − λ) P_B) over the usable tokens: the slow reference. */
static double loglik(const double *la, const double *lb, size_t n, double lambda)
{
    double s = 0;
    for (size_t t = 0; t < n; t++) {
        if (isnan(la[t]) || isnan(lb[t]) || (isinf(la[t]) && isinf(lb[t])))
            continue;
        s += log(lambda * pow(10, la[t]) + (1 - lambda) * pow(10, lb[t]));
    }
    return s;
}

/* The maximiser of the (concave) log-likelihood: a grid of step 1e-3, then
 * golden-section search in the two cells around the best point. */
static double brute_force(const double *la, const double *lb, size_t n)
{
    int best = 0;
    double bestv = -INFINITY;
    for (int k = 0; k <= 1000; k++) {
        double v = loglik(la, lb, n, k / 1000.0);
        if (v > bestv) {
            bestv = v;
            best = k;
        }
    }
    double lo = (best > 0 ? best - 1 : 0) / 1000.0, hi = (best < 1000 ? best + 1 : 1000) / 1000.0;
    const double g = (sqrt(5.0) - 1) / 2;
    while (hi - lo > 1e-9) {
        double x1 = hi - g * (hi - lo), x2 = lo + g * (hi - lo);
        if (loglik(la, lb, n, x1) < loglik(la, lb, n, x2))
            lo = x1;
        else
            hi = x2;
    }
    return (lo + hi) / 2;
}

/* ---------------------------------------------------------------- mixed probability */

START_TEST(test_logprob10)
{
    ck_assert_double_eq_tol(nglm_mix_logprob10(-2, -3, 1), -2, 1e-15);
    ck_assert_double_eq_tol(nglm_mix_logprob10(-2, -3, 0), -3, 1e-15);
    ck_assert_double_eq_tol(nglm_mix_logprob10(-2, -3, 0.3),
                            log10(0.3 * 1e-2 + 0.7 * 1e-3), 1e-13);
    for (double l = 0; l <= 1; l += 0.125)
        ck_assert_double_eq_tol(nglm_mix_logprob10(-1.7, -1.7, l), -1.7, 1e-14);
    /* 10^-400 underflows a double; the mixture does not */
    ck_assert_double_eq_tol(nglm_mix_logprob10(-400, -401, 0.5),
                            -400 + log10(0.5 + 0.05), 1e-12);
    ck_assert_double_eq_tol(nglm_mix_logprob10(-INFINITY, -2, 0.5), -2 + log10(0.5), 1e-14);
    ck_assert(nglm_mix_logprob10(-INFINITY, -INFINITY, 0.5) == -INFINITY);
    ck_assert(nglm_mix_logprob10(-INFINITY, -2, 1) == -INFINITY);
    ck_assert(isnan(nglm_mix_logprob10(NAN, -2, 0.5)));
    ck_assert(isnan(nglm_mix_logprob10(-2, NAN, 0.5)));
}
END_TEST

/* ---------------------------------------------------------------- EM */

/* Synthetic tokens: model A better on a share `a_share` of them. */
static void synth(double *la, double *lb, size_t n, uint64_t seed, double a_share)
{
    nglm_rng r;
    nglm_rng_seed(&r, seed);
    for (size_t t = 0; t < n; t++) {
        double base = -4 * nglm_rng_uniform(&r), gap = 2 * nglm_rng_uniform(&r);
        int a_wins = nglm_rng_uniform(&r) < a_share;
        la[t] = a_wins ? base : base - gap;
        lb[t] = a_wins ? base - gap : base;
    }
}

START_TEST(test_em_matches_brute_force)
{
    const double shares[] = {0.5, 0.2, 0.8, 0.65, 0.97, 1.0};
    enum { N = 3000 };
    double *la = malloc(N * sizeof *la), *lb = malloc(N * sizeof *lb);
    synth(la, lb, N, 100 + (uint64_t)_i, shares[_i]);
    nglm_error err;
    double lambda;
    int it;
    ck_assert_int_eq(nglm_mix_em(la, lb, N, NGLM_MIX_EM_TOL, NGLM_MIX_EM_MAX_ITER, &lambda,
                                 &it, &err), 0);
    double want = brute_force(la, lb, N);
    ck_assert_msg(fabs(lambda - want) < 1e-4, "EM %.8f (%d iterations), search %.8f", lambda,
                  it, want);
    ck_assert_int_ge(it, 1);
    ck_assert_int_lt(it, NGLM_MIX_EM_MAX_ITER);
    free(la);
    free(lb);
}
END_TEST

START_TEST(test_em_ignores_unusable_tokens)
{
    enum { N = 500 };
    double la[N + 3], lb[N + 3];
    synth(la, lb, N, 7, 0.6);
    nglm_error err;
    double l1, l2;
    int it1, it2;
    ck_assert_int_eq(nglm_mix_em(la, lb, N, 1e-9, 100000, &l1, &it1, &err), 0);
    la[N] = NAN, lb[N] = -1;               /* skipped by A */
    la[N + 1] = -1, lb[N + 1] = NAN;       /* skipped by B */
    la[N + 2] = lb[N + 2] = -INFINITY;     /* zero under both */
    ck_assert_int_eq(nglm_mix_em(la, lb, N + 3, 1e-9, 100000, &l2, &it2, &err), 0);
    ck_assert_double_eq(l1, l2);
    ck_assert_int_eq(it1, it2);
    /* nothing usable */
    ck_assert_int_eq(nglm_mix_em(la + N, lb + N, 3, 1e-6, 100, &l1, &it1, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "mixture weight"));
    ck_assert_int_eq(nglm_mix_em(la, lb, 0, 1e-6, 100, &l1, &it1, &err), -1);
}
END_TEST

START_TEST(test_em_same_model)
{
    enum { N = 100 };
    double la[N], lb[N];
    synth(la, lb, N, 9, 0.5);
    nglm_error err;
    double lambda;
    int it;
    ck_assert_int_eq(nglm_mix_em(la, la, N, 1e-6, 1000, &lambda, &it, &err), 0);
    ck_assert_double_eq_tol(lambda, 0.5, 1e-15); /* every posterior is λ */
    ck_assert_int_eq(it, 1);
    /* A gives zero probability where B does not: the weight goes to B */
    for (int t = 0; t < N; t++)
        la[t] = t % 2 ? -INFINITY : lb[t];
    ck_assert_int_eq(nglm_mix_em(la, lb, N, 1e-9, 100000, &lambda, &it, &err), 0);
    ck_assert_double_lt(lambda, 0.5);
    ck_assert_double_eq_tol(lambda, brute_force(la, lb, N), 1e-4);
}
END_TEST

/* ---------------------------------------------------------------- report */

static const char *const lines[] = {"a b c", "b xx a", "c", "a a b b"};
enum { N_LINES = 4 };

static void read_text(nglm_corpus *c, const char *words)
{
    nglm_error err;
    nglm_vocab *v = nglm_vocab_new();
    char buf[64], *save = NULL;
    snprintf(buf, sizeof buf, "%s", words);
    for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save))
        ck_assert_int_eq(nglm_vocab_add(v, t, 1, &err), 0);
    ck_assert_int_eq(nglm_vocab_finalize(v, 1, 0, &err), 0);
    ck_assert_int_eq(nglm_corpus_from_lines(c, lines, N_LINES, v, &err), 0);
    nglm_vocab_free(v);
}

START_TEST(test_report)
{
    nglm_error err;
    nglm_corpus ca, cb;
    read_text(&ca, "a b c");   /* xx is an OOV of A */
    read_text(&cb, "a b");     /* xx and c are OOVs of B */
    size_t n = ca.n_tokens;
    ck_assert_uint_eq(n, 15);
    double *la = malloc(n * sizeof *la), *lb = malloc(n * sizeof *lb);
    synth(la, lb, n, 3, 0.5);

    /* λ = 1: A's own numbers, sentence by sentence */
    nglm_eval_report r;
    ck_assert_int_eq(nglm_mix_eval(&ca, &cb, la, lb, 1.0, 1, &r, &err), 0);
    double sum = 0;
    for (size_t s = 0; s < ca.n_sents; s++) {
        double ss = 0;
        for (size_t t = ca.start[s]; t < ca.start[s + 1]; t++)
            ss += la[t];
        ck_assert_double_eq_tol(r.sent_logprob10[s], ss, 1e-12);
        sum += ss;
    }
    ck_assert_uint_eq(r.sentences, 4);
    ck_assert_uint_eq(r.words, 11);
    ck_assert_uint_eq(r.oovs, 3); /* xx, and c twice for B */
    ck_assert_uint_eq(r.zeroprobs, 0);
    ck_assert_double_eq_tol(r.logprob10, sum, 1e-12);
    ck_assert_double_eq_tol(r.ppl, pow(10, -sum / 15), 1e-9 * r.ppl);
    ck_assert_double_eq_tol(r.ppl1, pow(10, -sum / 11), 1e-9 * r.ppl1);
    nglm_eval_report_free(&r);

    /* a model mixed with itself keeps its perplexity, whatever λ */
    for (double l = 0; l <= 1; l += 0.25) {
        ck_assert_int_eq(nglm_mix_eval(&ca, &ca, la, la, l, 0, &r, &err), 0);
        ck_assert_double_eq_tol(r.ppl, pow(10, -sum / 15), 1e-9 * r.ppl);
        ck_assert_uint_eq(r.oovs, 1);
    }

    /* B skips its OOVs (NAN); a token zero under both is a zeroprob */
    size_t skipped = 0;
    for (size_t t = 0; t < n; t++)
        if (cb.ids[t] == NGLM_UNK) {
            lb[t] = NAN;
            skipped++;
        }
    ck_assert_uint_eq(skipped, 3);
    la[0] = lb[0] = -INFINITY;
    ck_assert_int_eq(nglm_mix_eval(&ca, &cb, la, lb, 0.4, 0, &r, &err), 0);
    ck_assert_uint_eq(r.oovs, 3);
    ck_assert_uint_eq(r.zeroprobs, 1);
    sum = 0;
    for (size_t t = 1; t < n; t++)
        if (!isnan(lb[t]))
            sum += log10(0.4 * pow(10, la[t]) + 0.6 * pow(10, lb[t]));
    ck_assert_double_eq_tol(r.logprob10, sum, 1e-12);
    ck_assert_double_eq_tol(r.ppl, pow(10, -sum / (15 - 3 - 1)), 1e-9 * r.ppl);
    ck_assert_double_eq_tol(r.ppl1, pow(10, -sum / (15 - 3 - 1 - 4)), 1e-9 * r.ppl1);

    ck_assert_int_eq(nglm_mix_eval(&ca, &cb, la, lb, 1.5, 0, &r, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "weight"));
    free(la);
    free(lb);
    nglm_corpus_free(&ca);
    nglm_corpus_free(&cb);
}
END_TEST

START_TEST(test_different_readings)
{
    nglm_error err;
    nglm_corpus ca, cb;
    read_text(&ca, "a b c");
    read_text(&cb, "a b c");
    ck_assert_int_eq(nglm_mix_check_texts(&ca, &cb, &err), 0);
    /* one sentence read longer by B, the total kept: still refused */
    cb.start[1]++;
    ck_assert_int_eq(nglm_mix_check_texts(&ca, &cb, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "sentence 1"));
    cb.start[1]--;
    cb.n_tokens++;
    ck_assert_int_eq(nglm_mix_check_texts(&ca, &cb, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "15 tokens"));
    nglm_eval_report r;
    double lp[16] = {0};
    ck_assert_int_eq(nglm_mix_eval(&ca, &cb, lp, lp, 0.5, 0, &r, &err), -1);
    cb.n_tokens--;
    nglm_corpus_free(&ca);
    nglm_corpus_free(&cb);
}
END_TEST

static Suite *mix_suite(void)
{
    Suite *s = suite_create("mix");
    TCase *tc = tcase_create("mix");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_logprob10);
    tcase_add_loop_test(tc, test_em_matches_brute_force, 0, 6);
    tcase_add_test(tc, test_em_ignores_unusable_tokens);
    tcase_add_test(tc, test_em_same_model);
    tcase_add_test(tc, test_report);
    tcase_add_test(tc, test_different_readings);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(mix_suite()); }
