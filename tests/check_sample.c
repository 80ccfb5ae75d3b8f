/*
 * check_sample.c — sampling from a model: the PRNG is reproducible and
 * uniform, the tempered distribution is P^(1/T) renormalised, the same seed
 * gives the same sentences, the first words drawn follow P(w | <s>) (a
 * chi-square test), T = 0.01 draws nearly the argmax, and sentences respect
 * the length cap and never hold <s>.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "nglm/arpa.h"
#include "nglm/corpus.h"
#include "nglm/features.h"
#include "nglm/model.h"
#include "nglm/lm.h"
#include "nglm/sample.h"
#include "nglm/vocab.h"
#include "testutil.h"

/* ---------------------------------------------------------------- fixture */

/* A random model over structured random text (as in check_arpa.c): its
 * n-grams (and skip-grams if asked) as features, random weights. */
static void make_model(nglm_model *m, int order, int skips, uint64_t seed, double scale)
{
    nglm_error err;
    nglm_rng r;
    nglm_rng_seed(&r, seed);
    enum { N = 80, N_WORDS = 14 };
    char *lines[N];
    for (int i = 0; i < N; i++) {
        lines[i] = malloc(256);
        lines[i][0] = '\0';
        int len = 1 + (int)(nglm_rng_next(&r) % 9), w = (int)(nglm_rng_next(&r) % N_WORDS);
        for (int j = 0; j < len; j++) {
            char tok[16];
            w = nglm_rng_uniform(&r) < 0.6 ? (w + 1) % N_WORDS
                                           : (int)(nglm_rng_next(&r) % N_WORDS);
            snprintf(tok, sizeof tok, "%sw%d", j ? " " : "", w);
            strcat(lines[i], tok);
        }
    }
    memset(m, 0, sizeof *m);
    m->vocab = nglm_vocab_new();
    for (int i = 0; i < N; i++) {
        char buf[256], *save = NULL;
        snprintf(buf, sizeof buf, "%s", lines[i]);
        for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save))
            ck_assert_int_eq(nglm_vocab_add(m->vocab, t, 1, &err), 0);
    }
    ck_assert_int_eq(nglm_vocab_finalize(m->vocab, 1, 0, &err), 0);
    nglm_corpus c;
    ck_assert_int_eq(nglm_corpus_from_lines(&c, (const char *const *)lines, N, m->vocab,
                                            &err), 0);
    for (int i = 0; i < N; i++)
        free(lines[i]);
    ck_assert_int_eq(nglm_features_build(&m->feat, &c, (int32_t)nglm_vocab_size(m->vocab),
                                         order, NULL, 1, &err), 0);
    if (skips) {
        int dist[2] = {2, 3};
        ck_assert_int_eq(nglm_features_add_skips(&m->feat, &c, 2, dist, 1, &err), 0);
        ck_assert_int_eq(nglm_features_index(&m->feat, &err), 0);
    }
    nglm_corpus_free(&c);
    m->theta = calloc(m->feat.n_feat, sizeof *m->theta);
    for (size_t f = 0; f < m->feat.n_feat; f++)
        m->theta[f] = scale * (2.0 * nglm_rng_uniform(&r) - 1.0);
    m->tok = nglm_tok_options_default();
}

/* ---------------------------------------------------------------- PRNG */

START_TEST(test_rng)
{
    nglm_rng a, b, c;
    nglm_rng_seed(&a, 42);
    nglm_rng_seed(&b, 42);
    nglm_rng_seed(&c, 43);
    int differ = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = nglm_rng_next(&a);
        ck_assert_uint_eq(x, nglm_rng_next(&b));
        differ += x != nglm_rng_next(&c);
    }
    ck_assert_int_ge(differ, 999);
    /* seed 0 is a valid seed: the state is not all zero */
    nglm_rng_seed(&a, 0);
    ck_assert(a.s[0] | a.s[1] | a.s[2] | a.s[3]);
    /* uniform in [0, 1): mean 1/2 and variance 1/12 within 5 sigma */
    double sum = 0, sq = 0;
    int n = 200000;
    for (int i = 0; i < n; i++) {
        double u = nglm_rng_uniform(&a);
        ck_assert(u >= 0 && u < 1);
        sum += u;
        sq += u * u;
    }
    ck_assert_double_le(fabs(sum / n - 0.5), 5 * sqrt(1.0 / 12 / n));
    ck_assert_double_le(fabs(sq / n - 1.0 / 3), 0.005);
}
END_TEST

/* ---------------------------------------------------------------- distribution */

START_TEST(test_tempered_dist)
{
    nglm_model m;
    make_model(&m, 3, _i, 5 + (uint64_t)_i, 1.5);
    int32_t V = m.feat.V;
    double *p = malloc((size_t)V * sizeof *p), *q = malloc((size_t)V * sizeof *q);
    int32_t sent[4] = {3, 4, 5, 0};
    nglm_error err;
    nglm_lm *lm = nglm_lm_from_model(&m, 0, &err);
    nglm_lm_scorer *sc = nglm_lm_scorer_new(lm, &err);
    ck_assert_ptr_nonnull(sc);
    for (size_t i = 0; i <= 3; i++) {
        nglm_model_dist_dense(&m, sent, i, p);
        nglm_sample_dist(sc, sent, i, 1.0, q);
        for (int32_t w = 0; w < V; w++)
            ck_assert_double_eq(p[w], q[w]);
        const double temps[] = {0.5, 2.0, 0.01};
        for (int k = 0; k < 3; k++) {
            double T = temps[k], z = 0, sum = 0;
            nglm_sample_dist(sc, sent, i, T, q);
            for (int32_t w = 1; w < V; w++)
                z += pow(p[w], 1 / T);
            ck_assert_double_eq(q[NGLM_BOS], 0);
            for (int32_t w = 1; w < V; w++) {
                if (z > 1e-250) /* the direct formula still representable */
                    ck_assert_double_eq_tol(q[w], pow(p[w], 1 / T) / z, 1e-12);
                sum += q[w];
            }
            ck_assert_double_eq_tol(sum, 1.0, 1e-12);
        }
    }
    nglm_lm_scorer_free(sc);
    nglm_lm_free(lm);
    free(p);
    free(q);
    nglm_model_free(&m);
}
END_TEST

/* ---------------------------------------------------------------- sampling */

static void sample_all(nglm_model *m, double T, size_t max_len, uint64_t seed, int n,
                       int32_t *out, size_t per)
{
    nglm_error err;
    nglm_sampler s;
    nglm_lm *lm = nglm_lm_from_model(m, 0, &err);
    ck_assert_int_eq(nglm_sampler_init(&s, lm, T, max_len, seed, &err), 0);
    for (int k = 0; k < n; k++) {
        const int32_t *w;
        size_t len;
        nglm_sample_sentence(&s, &w, &len);
        ck_assert_uint_le(len, max_len);
        for (size_t i = 0; i < per; i++)
            out[(size_t)k * per + i] = i < len ? w[i] : -1;
    }
    nglm_sampler_free(&s);
    nglm_lm_free(lm);
}

START_TEST(test_same_seed_same_sentences)
{
    nglm_model m;
    make_model(&m, 3, 1, 11, 1.0);
    enum { N = 50, L = 30 };
    int32_t *a = malloc(N * L * sizeof *a), *b = malloc(N * L * sizeof *b),
            *c = malloc(N * L * sizeof *c);
    sample_all(&m, 1.0, L, 7, N, a, L);
    sample_all(&m, 1.0, L, 7, N, b, L);
    sample_all(&m, 1.0, L, 8, N, c, L);
    ck_assert_mem_eq(a, b, N * L * sizeof *a);
    ck_assert(memcmp(a, c, N * L * sizeof *a) != 0);
    free(a);
    free(b);
    free(c);
    nglm_model_free(&m);
}
END_TEST

START_TEST(test_length_and_ids)
{
    nglm_error err;
    nglm_model m;
    make_model(&m, 3, 0, 12, 1.0);
    m.theta[NGLM_EOS] = -30; /* </s> almost never: sentences hit the cap */
    nglm_sampler s;
    nglm_lm *lm = nglm_lm_from_model(&m, 0, &err);
    ck_assert_int_eq(nglm_sampler_init(&s, lm, 1.0, 3, 1, &err), 0);
    int capped = 0;
    for (int k = 0; k < 200; k++) {
        const int32_t *w;
        size_t len;
        nglm_sample_sentence(&s, &w, &len);
        ck_assert_uint_le(len, 3);
        capped += len == 3;
        for (size_t i = 0; i < len; i++) {
            ck_assert_int_gt(w[i], NGLM_EOS); /* never <s>, </s> ends the sentence */
            ck_assert_int_lt(w[i], m.feat.V);
        }
    }
    ck_assert_int_ge(capped, 190);
    nglm_sampler_free(&s);
    nglm_lm_free(lm);
    nglm_model_free(&m);
}
END_TEST

/* The first words of many sentences against P(w | <s>): Pearson's
 * chi-square, categories with expected count < 5 pooled, below a bound
 * 6 standard deviations (sqrt(2 df)) above its mean df. */
START_TEST(test_first_word_distribution)
{
    nglm_model m;
    make_model(&m, 3, _i, 21 + (uint64_t)_i, 1.5);
    int32_t V = m.feat.V;
    double *p = malloc((size_t)V * sizeof *p);
    int32_t none[1] = {0};
    nglm_model_dist_dense(&m, none, 0, p);
    enum { N = 40000 };
    int32_t *first = malloc(N * sizeof *first);
    sample_all(&m, 1.0, 1, 99, N, first, 1);
    double *count = calloc((size_t)V, sizeof *count);
    for (int k = 0; k < N; k++)
        count[first[k] < 0 ? NGLM_EOS : first[k]]++;
    ck_assert_double_eq(count[NGLM_BOS], 0);
    double chi2 = 0, pool_e = 0, pool_o = 0;
    int df = -1;
    for (int32_t w = 1; w < V; w++) {
        double e = N * p[w];
        if (e < 5) {
            pool_e += e;
            pool_o += count[w];
            continue;
        }
        chi2 += (count[w] - e) * (count[w] - e) / e;
        df++;
    }
    if (pool_e > 0) {
        chi2 += (pool_o - pool_e) * (pool_o - pool_e) / (pool_e > 1 ? pool_e : 1);
        df++;
    }
    ck_assert_int_ge(df, 5);
    ck_assert_msg(chi2 < df + 6 * sqrt(2.0 * df), "chi2 %.2f with %d df", chi2, df);
    free(count);
    free(first);
    free(p);
    nglm_model_free(&m);
}
END_TEST

/* T = 0.01: each word is the most likely one given the words drawn, where
 * that word is clearly the most likely (the runner-up below 0.9 times its
 * probability, so below 0.9^100 = 3e-5 times it once tempered). */
START_TEST(test_low_temperature_is_argmax)
{
    nglm_model m;
    make_model(&m, 3, 0, 31, 1.5);
    int32_t V = m.feat.V;
    double *p = malloc((size_t)V * sizeof *p);
    enum { N = 200, L = 20 };
    int32_t *out = malloc(N * L * sizeof *out);
    sample_all(&m, 0.01, L, 5, N, out, L);
    size_t positions = 0, argmax = 0;
    for (int k = 0; k < N; k++) {
        const int32_t *sent = out + (size_t)k * L;
        for (size_t i = 0; i < L && sent[i] >= 0; i++) {
            nglm_model_dist_dense(&m, sent, i, p);
            int32_t best = 1, second = 2;
            for (int32_t w = 2; w < V; w++)
                if (p[w] > p[best]) {
                    second = best;
                    best = w;
                } else if (w != best && p[w] > p[second]) {
                    second = w;
                }
            if (p[second] >= 0.9 * p[best])
                continue;
            positions++;
            argmax += sent[i] == best;
        }
    }
    ck_assert_uint_gt(positions, N);
    ck_assert_msg(argmax >= 0.995 * (double)positions, "%zu of %zu draws the argmax", argmax,
                  positions);
    free(out);
    free(p);
    nglm_model_free(&m);
}
END_TEST

START_TEST(test_bad_init)
{
    nglm_error err;
    nglm_model m;
    make_model(&m, 2, 0, 3, 1.0);
    nglm_sampler s;
    nglm_lm *lm = nglm_lm_from_model(&m, 0, &err);
    const double bad[] = {0.0, -1.0, NAN, INFINITY};
    for (int k = 0; k < 4; k++) {
        ck_assert_int_eq(nglm_sampler_init(&s, lm, bad[k], 10, 1, &err), -1);
        ck_assert_ptr_nonnull(strstr(err.msg, "temperature"));
        nglm_sampler_free(&s);
    }
    ck_assert_int_eq(nglm_sampler_init(&s, lm, 1.0, 0, 1, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "length"));
    nglm_sampler_free(&s);
    nglm_lm_free(lm);
    nglm_model_free(&m);
}
END_TEST

/* An n-gram model exported to ARPA and loaded back samples from the same
 * distributions: every history's tempered P from the ARPA file equals the
 * native one (the export is exact to 10 digits), and the same seed draws
 * the same sentences. */
START_TEST(test_arpa_same_distribution)
{
    nglm_model m;
    nglm_error err;
    make_model(&m, 3, 0, 41, 1.5);
    const char *path = tu_temp_path(".arpa");
    ck_assert_msg(nglm_arpa_save(&m, path, &err) == 0, "%s", err.msg);
    nglm_arpa *a = nglm_arpa_load(path, &err);
    ck_assert_msg(a != NULL, "%s", err.msg);
    nglm_lm *ln = nglm_lm_from_model(&m, 0, &err), *la_ = nglm_lm_open(path, 0, &err);
    ck_assert_msg(ln && la_, "%s", err.msg);
    ck_assert_str_eq(nglm_lm_kind(la_), "arpa");
    nglm_lm_scorer *scn = nglm_lm_scorer_new(ln, &err), *sca = nglm_lm_scorer_new(la_, &err);
    int32_t V = m.feat.V;
    ck_assert_int_eq((int32_t)nglm_vocab_size(nglm_arpa_vocab(a)), V);
    for (int32_t w = 0; w < V; w++) /* the same ids */
        ck_assert_str_eq(nglm_vocab_word(nglm_arpa_vocab(a), w), nglm_vocab_word(m.vocab, w));
    double *p = malloc((size_t)V * sizeof *p), *q = malloc((size_t)V * sizeof *q);
    int32_t sent[4] = {3, 4, 5, -1};
    const double temps[] = {1.0, 0.5, 2.0};
    for (size_t i = 0; i <= 3; i++)
        for (int k = 0; k < 3; k++) {
            nglm_sample_dist(scn, sent, i, temps[k], p);
            nglm_sample_dist(sca, sent, i, temps[k], q);
            ck_assert_int_eq(sent[3], -1); /* the scratch slot is restored */
            double sum = 0;
            for (int32_t w = 0; w < V; w++) {
                ck_assert_double_eq_tol(q[w], p[w], 1e-8);
                sum += q[w];
            }
            ck_assert_double_eq_tol(sum, 1.0, 1e-8);
        }
    enum { N = 20, L = 12 };
    nglm_sampler sn, sa;
    ck_assert_int_eq(nglm_sampler_init(&sn, ln, 1.0, L, 9, &err), 0);
    ck_assert_int_eq(nglm_sampler_init(&sa, la_, 1.0, L, 9, &err), 0);
    int same = 0;
    for (int k = 0; k < N; k++) {
        const int32_t *wn, *wa;
        size_t ln, la;
        nglm_sample_sentence(&sn, &wn, &ln);
        nglm_sample_sentence(&sa, &wa, &la);
        same += ln == la && memcmp(wn, wa, ln * sizeof *wn) == 0;
    }
    /* (a uniform draw within 1e-10 of a CDF boundary could tell them apart:
     * about 1e-9 a word) */
    ck_assert_int_eq(same, N);
    nglm_sampler_free(&sn);
    nglm_sampler_free(&sa);
    nglm_lm_scorer_free(scn);
    nglm_lm_scorer_free(sca);
    nglm_lm_free(ln);
    nglm_lm_free(la_);
    free(p);
    free(q);
    nglm_arpa_free(a);
    unlink(path);
    nglm_model_free(&m);
}
END_TEST

static Suite *sample_suite(void)
{
    Suite *s = suite_create("sample");
    TCase *tc = tcase_create("sample");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_rng);
    tcase_add_loop_test(tc, test_tempered_dist, 0, 2);
    tcase_add_test(tc, test_same_seed_same_sentences);
    tcase_add_test(tc, test_length_and_ids);
    tcase_add_loop_test(tc, test_first_word_distribution, 0, 2);
    tcase_add_test(tc, test_low_temperature_is_argmax);
    tcase_add_test(tc, test_bad_init);
    tcase_add_test(tc, test_arpa_same_distribution);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(sample_suite()); }
