/*
 * check_lm.c — the language-model interface (nglm/lm.h): every kind opened
 * through nglm_lm_open scores a text exactly as the kind's own functions
 * do (bit for bit), token scorers agree with whole-text scoring, a
 * mixture of three models is the weighted sum (its dense distribution
 * sums to one at every position), accelerated EM reaches plain EM's fixed
 * point from several starts in far fewer updates, manifests round-trip
 * and refuse a changed or moved component, caches nest, and bad input
 * (directories, FIFOs, empty files, KenLM binaries, truncated gzip, bad
 * weights, too many models, other tokenizations) gets a clear error.
 *
 * With NGLM_LM_PTB=DIR (kn5.arpa, default.nglm, ngram.nglm: nglm-kn -o 5,
 * nglm-train's default and --features ngram on PTB) and NGLM_PTB=DIR
 * (ptb.valid.txt, ptb.test.txt), test_ptb_three checks the three-model
 * mixture on PTB; it is skipped otherwise (its models take minutes).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nglm/arpa.h"
#include "nglm/cache.h"
#include "nglm/features.h"
#include "nglm/lm.h"
#include "nglm/mix.h"
#include "nglm/model.h"
#include "nglm/modelfile.h"
#include "nglm/rng.h"
#include "nglm/vocab.h"
#include "testutil.h"

/* ---------------------------------------------------------------- fixture */

enum { N_LINES = 80, N_WORDS = 14 };

/* Structured random lines over words w0 .. w13 (malloc'd). */
static char **make_lines(uint64_t seed, int n)
{
    nglm_rng r;
    nglm_rng_seed(&r, seed);
    char **lines = malloc((size_t)n * sizeof *lines);
    for (int i = 0; i < n; i++) {
        lines[i] = malloc(256);
        lines[i][0] = '\0';
        int len = 1 + (int)(nglm_rng_next(&r) % 9), w = (int)(nglm_rng_next(&r) % N_WORDS);
        for (int j = 0; j < len; j++) {
            char tok[16];
            w = nglm_rng_uniform(&r) < 0.6 ? (w + 1) % N_WORDS : (int)(nglm_rng_next(&r) % N_WORDS);
            snprintf(tok, sizeof tok, "%sw%d", j ? " " : "", w);
            strcat(lines[i], tok);
        }
    }
    return lines;
}

static void free_lines(char **lines, int n)
{
    for (int i = 0; i < n; i++)
        free(lines[i]);
    free(lines);
}

/* A random model over the lines of seed: n-gram (and skip-gram) features,
 * random weights; its vocabulary's ids depend on the seed. */
static void make_model(nglm_model *m, int order, int skips, uint64_t seed)
{
    nglm_error err;
    char **lines = make_lines(seed, N_LINES);
    memset(m, 0, sizeof *m);
    m->vocab = nglm_vocab_new();
    for (int i = 0; i < N_LINES; i++) {
        char buf[256], *save = NULL;
        snprintf(buf, sizeof buf, "%s", lines[i]);
        for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save))
            ck_assert_int_eq(nglm_vocab_add(m->vocab, t, 1, &err), 0);
    }
    ck_assert_int_eq(nglm_vocab_finalize(m->vocab, 1, 0, &err), 0);
    nglm_corpus c;
    ck_assert_int_eq(nglm_corpus_from_lines(&c, (const char *const *)lines, N_LINES, m->vocab,
                                            &err), 0);
    free_lines(lines, N_LINES);
    ck_assert_int_eq(nglm_features_build(&m->feat, &c, (int32_t)nglm_vocab_size(m->vocab),
                                         order, NULL, 1, &err), 0);
    if (skips) {
        int dist[2] = {2, 3};
        ck_assert_int_eq(nglm_features_add_skips(&m->feat, &c, 2, dist, 1, &err), 0);
        ck_assert_int_eq(nglm_features_index(&m->feat, &err), 0);
    }
    nglm_corpus_free(&c);
    nglm_rng r;
    nglm_rng_seed(&r, seed + 100);
    m->theta = calloc(m->feat.n_feat, sizeof *m->theta);
    for (size_t f = 0; f < m->feat.n_feat; f++)
        m->theta[f] = 1.5 * (2.0 * nglm_rng_uniform(&r) - 1.0);
    m->tok = nglm_tok_options_default();
}

/* A text file of 40 lines (seed 99), with a word no model knows and a
 * blank line. */
static const char *make_text(void)
{
    char **lines = make_lines(99, 40);
    size_t cap = 1 << 14, n = 0;
    char *buf = malloc(cap);
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%s\n", lines[i], i == 7 ? " zzz" : "");
    n += (size_t)snprintf(buf + n, cap - n, "\nw1 w2\n");
    free_lines(lines, 40);
    const char *p = tu_tempfile(buf, n);
    free(buf);
    return p;
}

/* Saves m as an nglm model file and as an ARPA file (arpa_suffix: ".arpa"
 * or ".arpa.gz"). */
static void save_both(const nglm_model *m, const char **native, const char **arpa,
                      const char *arpa_suffix)
{
    nglm_error err;
    *native = tu_temp_path(".nglm");
    ck_assert_msg(nglm_model_save(m, *native, &err) == 0, "%s", err.msg);
    if (arpa) {
        *arpa = tu_temp_path(arpa_suffix);
        ck_assert_msg(nglm_arpa_save(m, *arpa, &err) == 0, "%s", err.msg);
    }
}

static char *dup_path(const char *p)
{
    char *d = strdup(p);
    ck_assert_ptr_nonnull(d);
    return d;
}

/* x == y as doubles, NAN equal to NAN (bit for bit otherwise). */
static void assert_same(const double *x, const double *y, size_t n)
{
    for (size_t t = 0; t < n; t++) {
        if (isnan(x[t]) || isnan(y[t]))
            ck_assert_msg(isnan(x[t]) && isnan(y[t]), "token %zu: %g against %g", t, x[t], y[t]);
        else
            ck_assert_msg(memcmp(&x[t], &y[t], sizeof x[t]) == 0, "token %zu: %.17g against %.17g",
                          t, x[t], y[t]);
    }
}

static double *score(const nglm_lm *lm, const nglm_corpus *c, int *len)
{
    nglm_error err;
    double *lp = malloc((c->n_tokens + 1) * sizeof *lp);
    ck_assert_msg(nglm_lm_score_corpus10(lm, c, lp, len, 2, NULL, &err) == 0, "%s", err.msg);
    return lp;
}

/* Every token's scorer value against the whole-text score (tol 0: exact). */
static void check_scorer(const nglm_lm *lm, const nglm_corpus *c, const double *lp,
                         const int *len, double tol)
{
    nglm_error err;
    nglm_lm_scorer *s = nglm_lm_scorer_new(lm, &err);
    ck_assert_msg(s != NULL, "%s", err.msg);
    for (size_t k = 0; k < c->n_sents; k++) {
        size_t n;
        const int32_t *sent = nglm_corpus_sentence(c, k, &n);
        for (size_t i = 0; i < n; i++) {
            int l = -1;
            double x = nglm_lm_scorer_logprob10(s, sent, i, &l), y = lp[c->start[k] + i];
            if (isnan(y) || tol == 0)
                assert_same(&x, &y, 1);
            else
                ck_assert_double_eq_tol(x, y, tol);
            if (len)
                ck_assert_int_eq(l, len[c->start[k] + i]);
        }
    }
    nglm_lm_scorer_free(s);
}

/* ---------------------------------------------------------------- kinds */

START_TEST(test_open_kinds)
{
    nglm_error err;
    nglm_model m;
    make_model(&m, 3, _i == 1, 5);
    const char *np, *ap = NULL;
    save_both(&m, &np, _i == 1 ? NULL : &ap, _i == 2 ? ".arpa.gz" : ".arpa");
    char *native = dup_path(np), *arpa = ap ? dup_path(ap) : NULL;
    const char *text = make_text();

    /* native: nglm_model_score_corpus10 on the mapped model */
    nglm_lm *lm = nglm_lm_open(native, NGLM_LM_VERIFY, &err);
    ck_assert_msg(lm != NULL, "%s", err.msg);
    ck_assert_str_eq(nglm_lm_kind(lm), "nglm");
    ck_assert_str_eq(nglm_lm_path(lm), native);
    ck_assert_int_eq(nglm_lm_order(lm), 3);
    ck_assert_int_eq(nglm_lm_reach(lm), _i == 1 ? 3 : 2);
    nglm_corpus c;
    ck_assert_msg(nglm_lm_read(lm, text, &c, NULL, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(c.n_sents, 42);
    ck_assert_uint_eq(c.n_oov, 1);
    int *len = malloc(c.n_tokens * sizeof *len);
    double *lp = score(lm, &c, len);
    nglm_model mm;
    ck_assert_int_eq(nglm_model_map(&mm, native, 0, &err), 0);
    double *ref = malloc(c.n_tokens * sizeof *ref);
    ck_assert_int_eq(nglm_model_score_corpus10(&mm, &c, ref, 1, NULL, &err), 0);
    assert_same(lp, ref, c.n_tokens);
    for (size_t k = 0; k < c.n_sents; k++) {
        size_t n;
        const int32_t *sent = nglm_corpus_sentence(&c, k, &n);
        for (size_t i = 0; i < n; i++)
            ck_assert_int_eq(len[c.start[k] + i], nglm_model_ngram_length(&mm, sent, i));
    }
    check_scorer(lm, &c, lp, len, 1e-10);
    /* the report, and a sentence given as a string */
    nglm_eval_report r, rr;
    ck_assert_int_eq(nglm_lm_eval(lm, &c, 1, 1, NULL, &r, &err), 0);
    ck_assert_int_eq(nglm_eval_tokens(&c, NULL, ref, 1, &rr, &err), 0);
    ck_assert_double_eq(r.logprob10, rr.logprob10);
    ck_assert_uint_eq(r.oovs, 1);
    double one;
    int oovs;
    ck_assert_int_eq(nglm_lm_score_sentence(lm, "w1 w2", &one, &oovs, &err), 0);
    ck_assert_double_eq(one, r.sent_logprob10[41]);
    ck_assert_int_eq(oovs, 0);
    ck_assert_int_eq(nglm_lm_score_sentence(lm, "w1 zzz", &one, &oovs, &err), 0);
    ck_assert_int_eq(oovs, 1);
    ck_assert_int_eq(nglm_lm_score_sentence(lm, "w1\nw2", &one, &oovs, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "line break"));
    nglm_eval_report_free(&r);
    nglm_eval_report_free(&rr);
    nglm_model_free(&mm);
    free(lp);
    free(len);
    free(ref);
    nglm_corpus_free(&c);
    nglm_lm_free(lm);

    /* ARPA (plain or gzip): nglm_arpa_score_corpus */
    if (arpa) {
        lm = nglm_lm_open(arpa, 0, &err);
        ck_assert_msg(lm != NULL, "%s", err.msg);
        ck_assert_str_eq(nglm_lm_kind(lm), "arpa");
        ck_assert_int_eq(nglm_lm_order(lm), 3);
        ck_assert_msg(nglm_lm_read(lm, text, &c, NULL, &err) == 0, "%s", err.msg);
        len = malloc(c.n_tokens * sizeof *len);
        lp = score(lm, &c, len);
        nglm_arpa *a = nglm_arpa_load(arpa, &err);
        ck_assert_ptr_nonnull(a);
        ref = malloc(c.n_tokens * sizeof *ref);
        ck_assert_int_eq(nglm_arpa_score_corpus(a, &c, ref, &err), 0);
        assert_same(lp, ref, c.n_tokens);
        check_scorer(lm, &c, lp, len, 0);
        nglm_arpa_free(a);
        free(lp);
        free(len);
        free(ref);
        nglm_corpus_free(&c);
        nglm_lm_free(lm);
        unlink(arpa);
    }
    /* a model in memory, and a borrowed handle, score the same */
    nglm_lm *in = nglm_lm_from_model(&m, 0, &err);
    nglm_lm *b = nglm_lm_borrow(in, &err);
    ck_assert_str_eq(nglm_lm_kind(b), "nglm");
    ck_assert_int_eq(nglm_lm_read(b, text, &c, NULL, &err), 0);
    lp = score(in, &c, NULL);
    ref = score(b, &c, NULL);
    assert_same(lp, ref, c.n_tokens);
    nglm_lm_free(b);
    nglm_lm_free(in);
    free(lp);
    free(ref);
    nglm_corpus_free(&c);
    unlink(native);
    free(native);
    free(arpa);
    nglm_model_free(&m);
}
END_TEST

/* ---------------------------------------------------------------- mixtures */

/* Three models with different vocabularies' ids (seeds), one an ARPA file,
 * one with skip-grams. */
static nglm_lm *three(char **paths, const double *w, nglm_model *ms)
{
    nglm_error err;
    make_model(&ms[0], 3, 0, 5);
    make_model(&ms[1], 2, 0, 6);
    make_model(&ms[2], 3, 1, 7);
    const char *p0, *p1, *p2, *a1;
    save_both(&ms[0], &p0, NULL, NULL);
    paths[0] = dup_path(p0);
    save_both(&ms[1], &p1, &a1, ".arpa");
    paths[1] = dup_path(a1);
    unlink(p1);
    save_both(&ms[2], &p2, NULL, NULL);
    paths[2] = dup_path(p2);
    nglm_lm *c[3];
    for (int k = 0; k < 3; k++) {
        c[k] = nglm_lm_open(paths[k], 0, &err);
        ck_assert_msg(c[k] != NULL, "%s", err.msg);
    }
    nglm_lm *x = nglm_lm_mix_new(c, w, 3, &err);
    ck_assert_msg(x != NULL, "%s", err.msg);
    return x;
}

START_TEST(test_mix_three)
{
    nglm_error err;
    nglm_model ms[3];
    char *paths[3];
    const double w[3] = {0.5, 0.3, 0.2};
    nglm_lm *x = three(paths, w, ms);
    ck_assert_str_eq(nglm_lm_kind(x), "mixture");
    ck_assert_uint_eq(nglm_lm_mix_size(x), 3);
    ck_assert_int_eq(nglm_lm_order(x), 3);
    ck_assert_int_eq(nglm_lm_reach(x), 3);
    const char *text = make_text();
    nglm_corpus c;
    ck_assert_msg(nglm_lm_read(x, text, &c, NULL, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(c.n_parts, 3);
    int *len = malloc(c.n_tokens * sizeof *len);
    double *lp = score(x, &c, len);
    /* the weighted sum of each model's own scores of its own reading */
    double *lk[3];
    for (int k = 0; k < 3; k++)
        lk[k] = score(nglm_lm_mix_component(x, (size_t)k), &c.parts[k], NULL);
    for (size_t t = 0; t < c.n_tokens; t++) {
        double l[3] = {lk[0][t], lk[1][t], lk[2][t]}, want = nglm_mix_logprob10_n(l, w, 3);
        assert_same(&lp[t], &want, 1);
        double direct = log10(0.5 * pow(10, l[0]) + 0.3 * pow(10, l[1]) + 0.2 * pow(10, l[2]));
        ck_assert_double_eq_tol(lp[t], direct, 1e-12);
    }
    /* a corpus read with the mixture's vocabulary only: mapped word by word */
    nglm_corpus plain;
    nglm_tok_options tok = nglm_lm_tok(x);
    tok.keep_blank = 1;
    ck_assert_int_eq(nglm_corpus_read(&plain, text, &tok, nglm_lm_vocab(x), &err), 0);
    double *lq = score(x, &plain, NULL);
    assert_same(lq, lp, c.n_tokens);
    check_scorer(x, &c, lp, len, 1e-10);
    /* the dense distribution sums to one and holds each token's P */
    nglm_lm_scorer *s = nglm_lm_scorer_new(x, &err);
    size_t V = nglm_vocab_size(nglm_lm_vocab(x));
    double *p = malloc(V * sizeof *p);
    int32_t buf[64];
    for (size_t k = 0; k < c.n_sents; k++) {
        size_t n;
        const int32_t *sent = nglm_corpus_sentence(&c, k, &n);
        memcpy(buf, sent, n * sizeof *buf);
        for (size_t i = 0; i < n; i++) {
            nglm_lm_scorer_dist(s, buf, i, p);
            ck_assert_int_eq(buf[i], sent[i]);
            double sum = 0;
            for (size_t v = 0; v < V; v++)
                sum += p[v];
            ck_assert_double_eq_tol(sum, 1.0, 1e-8); /* the ARPA file's 10 digits */
            ck_assert_double_eq_tol(log10(p[sent[i]]), lp[c.start[k] + i], 1e-9);
        }
    }
    /* two models: bit for bit nglm_mix_logprob10 (nglm-eval --mix's) */
    nglm_lm *c2[2] = {nglm_lm_open(paths[0], 0, &err), nglm_lm_open(paths[1], 0, &err)};
    const double w2[2] = {0.3, 1.0 - 0.3};
    nglm_lm *x2 = nglm_lm_mix_new(c2, w2, 2, &err);
    nglm_corpus c2c;
    ck_assert_int_eq(nglm_lm_read(x2, text, &c2c, NULL, &err), 0);
    double *l2 = score(x2, &c2c, NULL);
    for (size_t t = 0; t < c.n_tokens; t++) {
        double want = nglm_mix_logprob10(lk[0][t], lk[1][t], 0.3);
        assert_same(&l2[t], &want, 1);
    }
    /* the report: a token any model reads as <unk> is an OOV */
    nglm_eval_report r;
    ck_assert_int_eq(nglm_lm_eval(x, &c, 1, 0, NULL, &r, &err), 0);
    ck_assert_uint_eq(r.oovs, 1);
    ck_assert_uint_eq(r.sentences, 42);
    nglm_eval_report_free(&r);

    free(l2);
    nglm_corpus_free(&c2c);
    nglm_lm_free(x2);
    free(p);
    nglm_lm_scorer_free(s);
    free(lq);
    nglm_corpus_free(&plain);
    for (int k = 0; k < 3; k++) {
        free(lk[k]);
        unlink(paths[k]);
        free(paths[k]);
        nglm_model_free(&ms[k]);
    }
    free(lp);
    free(len);
    nglm_corpus_free(&c);
    nglm_lm_free(x);
}
END_TEST

/* Σ_t ln Σ_k w_k P_k over the usable tokens: the slow reference. */
static double loglik(const double *const *lp, size_t k, size_t n, const double *w)
{
    double s = 0;
    for (size_t t = 0; t < n; t++) {
        double v = 0;
        int bad = 0;
        for (size_t j = 0; j < k; j++) {
            bad |= isnan(lp[j][t]);
            v += w[j] * pow(10, lp[j][t]);
        }
        if (!bad && v > 0)
            s += log(v);
    }
    return s;
}

START_TEST(test_em_accelerated)
{
    /* three "models" that mostly agree, each a little better on some of
     * the tokens (half, 30%, 20%) (so plain EM is slow, as on real models), with a skipped
     * and a zero-probability token */
    enum { N = 3000, K = 3 };
    nglm_rng r;
    nglm_rng_seed(&r, 17);
    double *buf = malloc(K * N * sizeof *buf);
    const double *lp[K];
    for (int j = 0; j < K; j++)
        lp[j] = buf + j * N;
    for (int t = 0; t < N; t++) {
        double base = -3 * nglm_rng_uniform(&r), u = nglm_rng_uniform(&r);
        int best = u < 0.5 ? 0 : u < 0.8 ? 1 : 2; /* the model better here */
        for (int j = 0; j < K; j++)
            buf[j * N + t] = base + 0.1 * nglm_rng_uniform(&r) - (j == best ? 0 : 0.2);
    }
    buf[5] = NAN;
    buf[N + 6] = -INFINITY;
    nglm_error err;
    double plain[K] = {1.0 / 3, 1.0 / 3, 1.0 / 3}, fast[K];
    int it_plain, it_fast;
    ck_assert_int_eq(nglm_mix_em_n(lp, K, N, 1e-13, 1000000, 0, plain, &it_plain, &err), 0);
    const double starts[4][K] = {{1.0 / 3, 1.0 / 3, 1.0 / 3}, {0.8, 0.1, 0.1}, {0.05, 0.05, 0.9},
                                 {0.2, 0.7, 0.1}};
    for (int s = 0; s < 4; s++) {
        memcpy(fast, starts[s], sizeof fast);
        ck_assert_int_eq(nglm_mix_em_n(lp, K, N, 1e-13, 1000000, 1, fast, &it_fast, &err), 0);
        for (int j = 0; j < K; j++)
            ck_assert_double_eq_tol(fast[j], plain[j], 1e-8);
        ck_assert_msg(it_fast * 5 < it_plain, "%d updates against plain EM's %d", it_fast,
                      it_plain);
        ck_assert_double_ge(loglik(lp, K, N, fast), loglik(lp, K, N, plain) - 1e-9);
    }
    /* the maximum: no nearby weights do better */
    for (int j = 0; j < K; j++)
        for (int i = 0; i < K; i++) {
            if (i == j || plain[i] < 2e-3)
                continue; /* (a weight at the boundary cannot go lower) */
            double w[K];
            memcpy(w, plain, sizeof w);
            w[j] += 1e-3;
            w[i] -= 1e-3;
            ck_assert_msg(loglik(lp, K, N, w) <= loglik(lp, K, N, plain),
                          "weights %.9f %.9f %.9f (plain EM, %d updates)", plain[0], plain[1],
                          plain[2], it_plain);
        }
    /* two models: the fixed point of nglm_mix_em, the two-model reference */
    double lam;
    int it;
    ck_assert_int_eq(nglm_mix_em(lp[0], lp[1], N, 1e-12, 1000000, &lam, &it, &err), 0);
    double w2[2] = {0.5, 0.5};
    ck_assert_int_eq(nglm_mix_em_n(lp, 2, N, 1e-12, 1000000, 1, w2, &it_fast, &err), 0);
    ck_assert_double_eq_tol(w2[0], lam, 1e-8);
    ck_assert_double_eq_tol(w2[0] + w2[1], 1.0, 1e-12);
    /* a model with itself: the start is the fixed point, one update */
    const double *same[2] = {lp[0], lp[0]};
    w2[0] = w2[1] = 0.5;
    ck_assert_int_eq(nglm_mix_em_n(same, 2, N, 1e-6, 100, 1, w2, &it, &err), 0);
    ck_assert_int_eq(it, 1);
    ck_assert_double_eq(w2[0], 0.5);
    /* bad starts and no usable token */
    double bad[K] = {0.5, 0.5, 0};
    ck_assert_int_eq(nglm_mix_em_n(lp, K, N, 1e-6, 100, 1, bad, &it, &err), -1);
    double off[K] = {0.5, 0.3, 0.3};
    ck_assert_int_eq(nglm_mix_em_n(lp, K, N, 1e-6, 100, 1, off, &it, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "sum"));
    double ok[K] = {0.2, 0.3, 0.5};
    ck_assert_int_eq(nglm_mix_em_n(lp, K, 0, 1e-6, 100, 1, ok, &it, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "cannot estimate"));
    free(buf);
}
END_TEST

START_TEST(test_mix_em_lm)
{
    nglm_error err;
    nglm_model ms[3];
    char *paths[3];
    nglm_lm *x = three(paths, NULL, ms);
    const double *w = nglm_lm_mix_weights(x);
    ck_assert_double_eq(w[0], 1.0 / 3);
    const char *text = make_text();
    nglm_corpus c;
    ck_assert_int_eq(nglm_lm_read(x, text, &c, NULL, &err), 0);
    int it;
    ck_assert_msg(nglm_lm_mix_em(x, &c, 1, &it, &err) == 0, "%s", err.msg);
    ck_assert_int_lt(it, 100);
    /* the likelihood of the three is at least each pair's (their own EM) */
    nglm_eval_report r3;
    ck_assert_int_eq(nglm_lm_eval(x, &c, 1, 0, NULL, &r3, &err), 0);
    for (int drop = 0; drop < 3; drop++) {
        nglm_lm *pc[2];
        int k = 0;
        for (int j = 0; j < 3; j++)
            if (j != drop)
                pc[k++] = nglm_lm_open(paths[j], 0, &err);
        nglm_lm *pair = nglm_lm_mix_new(pc, NULL, 2, &err);
        nglm_corpus pcorp;
        ck_assert_int_eq(nglm_lm_read(pair, text, &pcorp, NULL, &err), 0);
        ck_assert_int_eq(nglm_lm_mix_em(pair, &pcorp, 1, &it, &err), 0);
        nglm_eval_report r2;
        ck_assert_int_eq(nglm_lm_eval(pair, &pcorp, 1, 0, NULL, &r2, &err), 0);
        ck_assert_double_ge(r3.logprob10, r2.logprob10 - 1e-9);
        nglm_corpus_free(&pcorp);
        nglm_lm_free(pair);
    }
    /* weights set by hand must be weights */
    const double bad[3] = {0.5, 0.5, 0.5}, neg[3] = {1.2, -0.1, -0.1};
    ck_assert_int_eq(nglm_lm_mix_set_weights(x, bad, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "sum to"));
    ck_assert_int_eq(nglm_lm_mix_set_weights(x, neg, &err), -1);
    nglm_corpus_free(&c);
    nglm_lm_free(x);
    for (int k = 0; k < 3; k++) {
        unlink(paths[k]);
        free(paths[k]);
        nglm_model_free(&ms[k]);
    }
}
END_TEST

/* ---------------------------------------------------------------- manifests */

static void copy_file(const char *from, const char *to, long flip_at)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    ck_assert(in && out);
    int ch;
    long at = 0;
    while ((ch = fgetc(in)) != EOF) {
        if (at++ == flip_at)
            ch = ch == '5' ? '6' : '5';
        fputc(ch, out);
    }
    fclose(in);
    ck_assert_int_eq(fclose(out), 0);
}

START_TEST(test_manifest)
{
    nglm_error err;
    nglm_model ms[3];
    char *paths[3];
    const double w[3] = {0.25, 0.5, 0.25};
    nglm_lm *x = three(paths, w, ms);
    const char *text = make_text();
    /* the manifest in a directory of its own: paths relative to it */
    char dir[400], man[450];
    snprintf(dir, sizeof dir, "%s", tu_temp_path(".d"));
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    snprintf(man, sizeof man, "%s/mix.lm", dir);
    ck_assert_msg(nglm_lm_mix_save(x, man, &err) == 0, "%s", err.msg);
    nglm_lm *y = nglm_lm_open(man, 0, &err);
    ck_assert_msg(y != NULL, "%s", err.msg);
    ck_assert_str_eq(nglm_lm_kind(y), "mixture");
    ck_assert_uint_eq(nglm_lm_mix_size(y), 3);
    for (int k = 0; k < 3; k++)
        ck_assert_double_eq(nglm_lm_mix_weights(y)[k], w[k]);
    nglm_corpus cx, cy;
    ck_assert_int_eq(nglm_lm_read(x, text, &cx, NULL, &err), 0);
    ck_assert_int_eq(nglm_lm_read(y, text, &cy, NULL, &err), 0);
    double *lx = score(x, &cx, NULL), *ly = score(y, &cy, NULL);
    assert_same(lx, ly, cx.n_tokens);
    free(lx);
    free(ly);
    nglm_corpus_free(&cx);
    nglm_corpus_free(&cy);
    nglm_lm_free(y);
    FILE *fp = fopen(man, "r");
    char line[2048];
    ck_assert_ptr_nonnull(fgets(line, sizeof line, fp));
    ck_assert_str_eq(line, "nglm-mixture 1\n");
    int rel = 0;
    while (fgets(line, sizeof line, fp))
        rel += strstr(line, " ../") != NULL;
    fclose(fp);
    ck_assert_int_eq(rel, 3);

    /* a changed component (same size, one byte) */
    char keep[450];
    snprintf(keep, sizeof keep, "%s.keep", paths[1]);
    ck_assert_int_eq(rename(paths[1], keep), 0);
    copy_file(keep, paths[1], 200);
    ck_assert_ptr_null(nglm_lm_open(man, 0, &err));
    ck_assert_msg(strstr(err.msg, "has changed") && strstr(err.msg, man), "%s", err.msg);
    /* a moved one */
    unlink(paths[1]);
    ck_assert_ptr_null(nglm_lm_open(man, 0, &err));
    ck_assert_msg(strstr(err.msg, "moved or removed"), "%s", err.msg);
    ck_assert_int_eq(rename(keep, paths[1]), 0);
    ck_assert_ptr_nonnull(y = nglm_lm_open(man, 0, &err));
    nglm_lm_free(y);

    /* hand-written manifests: the same file twice, weights, syntax, none */
    fp = fopen(man, "r");
    char lines[4][2048];
    for (int k = 0; k < 4; k++)
        ck_assert_ptr_nonnull(fgets(lines[k], sizeof lines[k], fp));
    fclose(fp);
    struct {
        const char *body, *want;
    } bad[] = {{"%s%s%s", "same file twice"},     /* line 2 twice */
               {"%s%s", "sum to"},                /* 0.25 alone */
               {"nglm-mixture 1\nbogus\n", "expected 'WEIGHT SIZE CRC32 PATH'"},
               {"nglm-mixture 1\n# nothing\n", "no models"}};
    for (int b = 0; b < 4; b++) {
        fp = fopen(man, "w");
        if (b == 0)
            fprintf(fp, bad[b].body, lines[0], lines[2], lines[2]);
        else if (b == 1)
            fprintf(fp, bad[b].body, lines[0], lines[2]);
        else
            fputs(bad[b].body, fp);
        fclose(fp);
        ck_assert_ptr_null(nglm_lm_open(man, 0, &err));
        ck_assert_msg(strstr(err.msg, bad[b].want) != NULL, "%d: %s", b, err.msg);
    }
    /* a model opened from memory cannot be saved by path */
    nglm_lm *mem[2] = {nglm_lm_from_model(&ms[0], 0, &err), nglm_lm_open(paths[0], 0, &err)};
    nglm_lm *z = nglm_lm_mix_new(mem, NULL, 2, &err);
    ck_assert_int_eq(nglm_lm_mix_save(z, man, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "not opened from a file"));
    nglm_lm_free(z);
    unlink(man);
    rmdir(dir);
    nglm_lm_free(x);
    for (int k = 0; k < 3; k++) {
        unlink(paths[k]);
        free(paths[k]);
        nglm_model_free(&ms[k]);
    }
}
END_TEST

/* ---------------------------------------------------------------- caches */

START_TEST(test_cache_nests)
{
    nglm_error err;
    nglm_model ms[3];
    char *paths[3];
    nglm_lm *x = three(paths, NULL, ms);
    const char *text = make_text();
    nglm_cache_spec spec;
    ck_assert_int_eq(nglm_cache_parse("decay:20,bigram:30", &spec, &err), 0);
    spec.lambda = 0.1;
    spec.bigram_lambda = 0.05;
    nglm_corpus c;
    ck_assert_int_eq(nglm_lm_read(x, text, &c, NULL, &err), 0);
    double *ref = score(x, &c, NULL);
    ck_assert_int_eq(nglm_cache_apply(&spec, &c, (int32_t)nglm_vocab_size(nglm_lm_vocab(x)), ref,
                                      &err), 0);
    nglm_lm *cx = nglm_lm_cache_new(x, &spec, &err);
    ck_assert_str_eq(nglm_lm_kind(cx), "cache");
    nglm_corpus cc;
    ck_assert_int_eq(nglm_lm_read(cx, text, &cc, NULL, &err), 0);
    ck_assert_uint_eq(cc.n_parts, 3);
    double *lp = score(cx, &cc, NULL);
    assert_same(lp, ref, c.n_tokens);
    ck_assert_ptr_null(nglm_lm_scorer_new(cx, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "whole texts"));
    nglm_cache_spec rec;
    ck_assert_int_eq(nglm_lm_recorded_cache(cx, &rec), 0);
    free(lp);
    free(ref);
    nglm_corpus_free(&c);
    nglm_corpus_free(&cc);
    nglm_lm_free(cx);
    for (int k = 0; k < 3; k++) {
        unlink(paths[k]);
        free(paths[k]);
        nglm_model_free(&ms[k]);
    }
}
END_TEST

/* ---------------------------------------------------------------- bad input */

START_TEST(test_bad_open)
{
    nglm_error err;
    /* a directory, a FIFO, an empty file, a KenLM binary file */
    const char *d = tu_temp_path(".dir");
    ck_assert_int_eq(mkdir(d, 0700), 0);
    ck_assert_ptr_null(nglm_lm_open(d, 0, &err));
    ck_assert_msg(strstr(err.msg, d) && strstr(err.msg, "directory"), "%s", err.msg);
    rmdir(d);
    const char *f = tu_temp_path(".fifo");
    ck_assert_int_eq(mkfifo(f, 0600), 0);
    ck_assert_ptr_null(nglm_lm_open(f, 0, &err)); /* without blocking on the FIFO */
    ck_assert_msg(strstr(err.msg, f) && strstr(err.msg, "FIFO"), "%s", err.msg);
    unlink(f);
    const char *e = tu_tempstr("");
    ck_assert_ptr_null(nglm_lm_open(e, 0, &err));
    ck_assert_msg(strstr(err.msg, e) != NULL, "%s", err.msg);
    static const char kenlm[] = "mmap lm http://kheafield.com/code format version 5\n\0\0\0";
    const char *k = tu_tempfile(kenlm, sizeof kenlm);
    ck_assert_ptr_null(nglm_lm_open(k, 0, &err));
    ck_assert_msg(strstr(err.msg, "KenLM"), "%s", err.msg);
    ck_assert_ptr_null(nglm_lm_open("/nonexistent/model", 0, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "No such file"));

    /* a truncated gzip ARPA file */
    nglm_model m;
    make_model(&m, 3, 0, 5);
    const char *np, *ap;
    save_both(&m, &np, &ap, ".arpa.gz");
    unlink(np);
    struct stat st;
    ck_assert_int_eq(stat(ap, &st), 0);
    ck_assert_int_eq(truncate(ap, st.st_size / 2), 0);
    ck_assert_ptr_null(nglm_lm_open(ap, 0, &err));
    ck_assert_msg(strstr(err.msg, ap) != NULL, "%s", err.msg);
    unlink(ap);

    /* mixtures: no model, too many, weights that are not weights */
    nglm_lm *one = nglm_lm_from_model(&m, 0, &err);
    ck_assert_ptr_null(nglm_lm_mix_new(NULL, NULL, 0, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "1 to"));
    nglm_lm *many[NGLM_LM_MIX_MAX + 1];
    for (int i = 0; i <= NGLM_LM_MIX_MAX; i++)
        many[i] = nglm_lm_borrow(one, &err);
    ck_assert_ptr_null(nglm_lm_mix_new(many, NULL, NGLM_LM_MIX_MAX + 1, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "1 to 64"));
    for (int i = 0; i <= NGLM_LM_MIX_MAX; i++)
        ck_assert_ptr_null(many[i]); /* taken (and freed) even on failure */
    nglm_lm *two[2] = {nglm_lm_borrow(one, &err), nglm_lm_borrow(one, &err)};
    const double w[2] = {0.6, 0.6};
    ck_assert_ptr_null(nglm_lm_mix_new(two, w, 2, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "sum to 1.2"));
    /* 64 models are fine */
    for (int i = 0; i < NGLM_LM_MIX_MAX; i++)
        many[i] = nglm_lm_borrow(one, &err);
    nglm_lm *big = nglm_lm_mix_new(many, NULL, NGLM_LM_MIX_MAX, &err);
    ck_assert_msg(big != NULL, "%s", err.msg);
    double lp, lp1;
    ck_assert_int_eq(nglm_lm_score_sentence(big, "w1 w2 w3", &lp, NULL, &err), 0);
    ck_assert_int_eq(nglm_lm_score_sentence(one, "w1 w2 w3", &lp1, NULL, &err), 0);
    ck_assert_double_eq_tol(lp, lp1, 1e-12);
    nglm_lm_free(big);

    /* models that read the text differently */
    nglm_model cm;
    make_model(&cm, 2, 0, 6);
    cm.tok.mode = NGLM_TOK_CHAR;
    nglm_lm *diff[2] = {nglm_lm_borrow(one, &err), nglm_lm_from_model(&cm, 0, &err)};
    nglm_lm *x = nglm_lm_mix_new(diff, NULL, 2, &err);
    nglm_corpus c;
    ck_assert_int_eq(nglm_lm_read(x, make_text(), &c, NULL, &err), -1);
    ck_assert_msg(strstr(err.msg, "tokenizations different"), "%s", err.msg);
    ck_assert_int_eq(nglm_lm_read(x, "-", &c, NULL, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "stdin"));
    nglm_lm_free(x);
    nglm_model_free(&cm);
    nglm_lm_free(one);
    nglm_model_free(&m);
}
END_TEST

/* ---------------------------------------------------------------- PTB */

/* The three PTB models of the issue, if given: EM from several starts
 * agrees to 1e-4, the mixture's held-out likelihood is at least each
 * pair's, and P sums to one at every position of the first sentences. */
START_TEST(test_ptb_three)
{
    const char *dir = getenv("NGLM_LM_PTB"), *ptb = getenv("NGLM_PTB");
    if (!dir || !ptb) {
        fprintf(stderr, "test_ptb_three: skipped (set NGLM_LM_PTB and NGLM_PTB)\n");
        return;
    }
    static const char *const names[3] = {"kn5.arpa", "default.nglm", "ngram.nglm"};
    char paths[3][1024], valid[1024], test[1024];
    for (int k = 0; k < 3; k++)
        snprintf(paths[k], sizeof paths[k], "%s/%s", dir, names[k]);
    snprintf(valid, sizeof valid, "%s/ptb.valid.txt", ptb);
    snprintf(test, sizeof test, "%s/ptb.test.txt", ptb);
    nglm_error err;
    nglm_lm *c[3];
    for (int k = 0; k < 3; k++)
        ck_assert_msg((c[k] = nglm_lm_open(paths[k], 0, &err)) != NULL, "%s", err.msg);
    nglm_lm *x = nglm_lm_mix_new(c, NULL, 3, &err);
    nglm_corpus h;
    ck_assert_int_eq(nglm_lm_read(x, valid, &h, NULL, &err), 0);
    double *lp[3];
    for (int k = 0; k < 3; k++)
        lp[k] = score(nglm_lm_mix_component(x, (size_t)k), &h.parts[k], NULL);
    const double starts[4][3] = {{1.0 / 3, 1.0 / 3, 1.0 / 3}, {0.8, 0.1, 0.1},
                                 {0.1, 0.8, 0.1}, {0.1, 0.1, 0.8}};
    double w0[3];
    for (int s = 0; s < 4; s++) {
        double w[3];
        int it;
        memcpy(w, starts[s], sizeof w);
        ck_assert_int_eq(nglm_mix_em_n((const double *const *)lp, 3, h.n_tokens,
                                       NGLM_MIX_EM_TOL, NGLM_MIX_EM_MAX_ITER, 1, w, &it,
                                       &err), 0);
        fprintf(stderr, "PTB EM from %.2f,%.2f,%.2f: %.6f %.6f %.6f in %d updates\n",
                starts[s][0], starts[s][1], starts[s][2], w[0], w[1], w[2], it);
        if (s == 0)
            memcpy(w0, w, sizeof w);
        for (int k = 0; k < 3; k++)
            ck_assert_double_eq_tol(w[k], w0[k], 1e-4);
    }
    double ll3 = loglik((const double *const *)lp, 3, h.n_tokens, w0);
    for (int drop = 0; drop < 3; drop++) {
        const double *two[2];
        int n = 0;
        for (int k = 0; k < 3; k++)
            if (k != drop)
                two[n++] = lp[k];
        double w[2] = {0.5, 0.5};
        int it;
        ck_assert_int_eq(nglm_mix_em_n(two, 2, h.n_tokens, NGLM_MIX_EM_TOL,
                                       NGLM_MIX_EM_MAX_ITER, 1, w, &it, &err), 0);
        double ll2 = loglik(two, 2, h.n_tokens, w);
        fprintf(stderr, "PTB held-out ln-likelihood: three %.3f, without model %d %.3f\n", ll3,
                drop + 1, ll2);
        ck_assert_double_ge(ll3, ll2 - 1e-9 * fabs(ll2)); /* rounding of the sums */
    }
    ck_assert_int_eq(nglm_lm_mix_set_weights(x, w0, &err), 0);
    /* Σ P = 1 at every position of the first 30 test sentences */
    nglm_corpus t;
    ck_assert_int_eq(nglm_lm_read(x, test, &t, NULL, &err), 0);
    nglm_lm_scorer *s = nglm_lm_scorer_new(x, &err);
    size_t V = nglm_vocab_size(nglm_lm_vocab(x)), positions = 0;
    double *p = malloc(V * sizeof *p), worst = 0;
    int32_t buf[256];
    for (size_t k = 0; k < 30 && k < t.n_sents; k++) {
        size_t n;
        const int32_t *sent = nglm_corpus_sentence(&t, k, &n);
        memcpy(buf, sent, n * sizeof *buf);
        for (size_t i = 0; i < n; i++, positions++) {
            nglm_lm_scorer_dist(s, buf, i, p);
            double sum = 0;
            for (size_t v = 0; v < V; v++)
                sum += p[v];
            if (fabs(sum - 1) > worst)
                worst = fabs(sum - 1);
        }
    }
    fprintf(stderr, "PTB: sum of P over %zu words, %zu positions: within %.3g of 1\n", V,
            positions, worst);
    ck_assert_double_le(worst, 1e-6); /* the ARPA file's own rounding (7 digits) */
    free(p);
    nglm_lm_scorer_free(s);
    nglm_corpus_free(&t);
    for (int k = 0; k < 3; k++)
        free(lp[k]);
    nglm_corpus_free(&h);
    nglm_lm_free(x);
}
END_TEST

static Suite *lm_suite(void)
{
    Suite *s = suite_create("lm");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, test_open_kinds, 0, 3);
    tcase_add_test(tc, test_mix_three);
    tcase_add_test(tc, test_em_accelerated);
    tcase_add_test(tc, test_mix_em_lm);
    tcase_add_test(tc, test_manifest);
    tcase_add_test(tc, test_cache_nests);
    tcase_add_test(tc, test_bad_open);
    tcase_add_test(tc, test_ptb_three);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(lm_suite());
}
