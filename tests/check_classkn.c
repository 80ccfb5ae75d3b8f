/*
 * check_classkn.c — the class Kneser-Ney model (src/classkn.c): every
 * distribution sums to one and is positive, unseen words included; a
 * token's probability is the Kneser-Ney estimate of its class on the class
 * text (nglm_kn_lnprob, the reference) times n(w) / n(c); the corpus scorer,
 * the one-token scorer and the dense distribution agree; save and load
 * give the same scores; bad files fail.
 */
#include <math.h>

#include "nglm/classkn.h"
#include "nglm/cluster.h"
#include "nglm/features.h"
#include "testutil.h"

static uint64_t rng_state;
static uint32_t rnd(uint32_t n)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)((rng_state >> 33) % n);
}

/* A random text over K words (skewed), its vocabulary (with `extra` words
 * the text never shows), and the classes found by the exchange. */
static nglm_vocab *setup(nglm_corpus *c, int K, int n_sents, int extra, int C, int32_t **cls,
                         uint64_t seed)
{
    rng_state = seed;
    char **lines = malloc((size_t)n_sents * sizeof *lines);
    nglm_vocab *v = nglm_vocab_new();
    for (int s = 0; s < n_sents; s++) {
        int len = 1 + (int)rnd(10);
        lines[s] = malloc((size_t)len * 12 + 8);
        lines[s][0] = '\0';
        for (int i = 0; i < len; i++) {
            int k = (int)rnd((uint32_t)rnd((uint32_t)K) + 1);
            char wd[16];
            snprintf(wd, sizeof wd, "w%d", k);
            if (i)
                strcat(lines[s], " ");
            strcat(lines[s], wd);
            ck_assert_int_eq(nglm_vocab_add(v, wd, 1, NULL), 0);
        }
    }
    for (int e = 0; e < extra; e++) {
        char wd[16];
        snprintf(wd, sizeof wd, "never%d", e);
        ck_assert_int_eq(nglm_vocab_add(v, wd, 1, NULL), 0);
    }
    ck_assert_int_eq(nglm_vocab_finalize(v, 1, 0, NULL), 0);
    nglm_error err;
    ck_assert_int_eq(nglm_corpus_from_lines(c, (const char *const *)lines, (size_t)n_sents,
                                            v, &err), 0);
    for (int s = 0; s < n_sents; s++)
        free(lines[s]);
    free(lines);
    int32_t V = (int32_t)nglm_vocab_size(v);
    *cls = malloc((size_t)V * sizeof **cls);
    ck_assert_int_eq(nglm_cluster_exchange(c, V, C, NULL, *cls, NULL, &err), 0);
    return v;
}

static nglm_kn_options fallback(void)
{
    nglm_kn_options o = nglm_kn_options_default();
    o.fallback = 1;
    return o;
}

START_TEST(test_sums_to_one_and_matches_kn)
{
    nglm_corpus c;
    int32_t *cls;
    int extra = _i % 2 ? 3 : 0;
    nglm_vocab *v = setup(&c, 40, 300, extra, 6 + _i, &cls, 11 + (uint64_t)_i);
    int32_t V = (int32_t)nglm_vocab_size(v);
    nglm_classkn m;
    nglm_error err;
    nglm_kn_options ko = fallback();
    int order = 2 + _i % 3;
    ck_assert_msg(nglm_classkn_build(&m, &c, v, NULL, cls, 6 + _i, order, &ko, 2, &err) == 0,
                  "%s", err.msg);
    ck_assert_int_eq(nglm_classkn_order(&m), order);
    /* the reference: Kneser-Ney on the class text, straight from nglm_kn */
    nglm_corpus cc = c;
    cc.ids = malloc(c.n_tokens * sizeof *cc.ids);
    for (size_t t = 0; t < c.n_tokens; t++)
        cc.ids[t] = m.cid[c.ids[t]];
    int32_t Vc = (int32_t)nglm_vocab_size(m.cm.vocab);
    nglm_features F;
    ck_assert_int_eq(nglm_features_build(&F, &cc, Vc, order, NULL, 1, &err), 0);
    nglm_kn kn;
    ko.text = &cc;
    ck_assert_int_eq(nglm_kn_estimate(&kn, &F, &ko, &err), 0);

    double *lp = malloc(c.n_tokens * sizeof *lp), *p = malloc((size_t)V * sizeof *p);
    ck_assert_int_eq(nglm_classkn_score_corpus10(&m, &c, lp, 2, &err), 0);
    nglm_classkn_scorer sc;
    ck_assert_int_eq(nglm_classkn_scorer_init(&sc, &m, &err), 0);
    for (size_t s = 0; s < c.n_sents; s += 7) {
        size_t len;
        const int32_t *sent = nglm_corpus_sentence(&c, s, &len);
        const int32_t *csent = cc.ids + c.start[s];
        for (size_t i = 0; i < len; i++) {
            double ref = nglm_kn_lnprob(&kn, &F, csent, i) / M_LN10 +
                         m.lnp_word[sent[i]] / M_LN10;
            ck_assert_double_eq_tol(lp[c.start[s] + i], ref, 1e-9);
            ck_assert_double_eq_tol(nglm_classkn_scorer_logprob10(&sc, sent, i), ref, 1e-9);
            nglm_classkn_scorer_dist(&sc, sent, i, p);
            double sum = 0;
            ck_assert_double_eq(p[NGLM_BOS], 0);
            for (int32_t w = 1; w < V; w++) {
                ck_assert_double_gt(p[w], 0);
                sum += p[w];
            }
            ck_assert_double_eq_tol(sum, 1, 1e-10);
            ck_assert_double_eq_tol(log10(p[sent[i]]), ref, 1e-9);
        }
    }
    /* a cut history: the words after the cut only */
    int32_t h[4] = {m.V - 1, -1, 3, 4};
    int32_t h2[3] = {-1, 3, 4};
    ck_assert_double_eq_tol(nglm_classkn_scorer_logprob10(&sc, h, 3),
                            nglm_classkn_scorer_logprob10(&sc, h2, 2), 1e-12);
    nglm_classkn_scorer_dist(&sc, h, 3, p);
    double sum = 0;
    for (int32_t w = 1; w < V; w++)
        sum += p[w];
    ck_assert_double_eq_tol(sum, 1, 1e-10);

    /* save and load: the same scores */
    const char *path = tu_temp_path(".ckn");
    ck_assert_msg(nglm_classkn_save(&m, path, &err) == 0, "%s", err.msg);
    nglm_classkn m2;
    ck_assert_msg(nglm_classkn_load(&m2, path, &err) == 0, "%s", err.msg);
    double *lp2 = malloc(c.n_tokens * sizeof *lp2);
    ck_assert_int_eq(nglm_classkn_score_corpus10(&m2, &c, lp2, 1, &err), 0);
    for (size_t t = 0; t < c.n_tokens; t++)
        ck_assert_double_eq_tol(lp2[t], lp[t], 1e-12);
    ck_assert_int_eq(nglm_classkn_order(&m2), order);
    nglm_classkn_free(&m2);

    nglm_classkn_scorer_free(&sc);
    nglm_kn_free(&kn);
    nglm_features_free(&F);
    free(cc.ids), free(lp), free(lp2), free(p), free(cls);
    nglm_classkn_free(&m);
    nglm_corpus_free(&c);
    nglm_vocab_free(v);
}
END_TEST

START_TEST(test_bad_files)
{
    nglm_classkn m;
    nglm_error err;
    ck_assert_int_eq(nglm_classkn_load(&m, "/nonexistent/m", &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent/m.classes"));
    const char *path = tu_temp_path(".ckn");
    char cp[512];
    snprintf(cp, sizeof cp, "%s.classes", path);
    FILE *fp = fopen(cp, "w");
    fputs("<s>\t0\t0\n</s>\t0\t3\n<unk>\tx\t1\n", fp);
    fclose(fp);
    ck_assert_int_eq(nglm_classkn_load(&m, path, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, ":3: expected 'word<TAB>class<TAB>count'"));
    fp = fopen(cp, "w");
    fputs("<s>\t0\t0\n</s>\t0\t3\n<unk>\t1\t1\n", fp);
    fclose(fp);
    ck_assert_int_eq(nglm_classkn_load(&m, path, &err), -1); /* no model file */
    ck_assert_ptr_nonnull(strstr(err.msg, path));
    /* a text with no sentences */
    nglm_corpus c;
    memset(&c, 0, sizeof c);
    nglm_vocab *v = nglm_vocab_new();
    ck_assert_int_eq(nglm_vocab_finalize(v, 1, 0, NULL), 0);
    int32_t cls[3] = {0, 0, 1};
    ck_assert_int_eq(nglm_classkn_build(&m, &c, v, NULL, cls, 2, 3, NULL, 1, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "no sentences"));
    nglm_vocab_free(v);
}
END_TEST

static Suite *classkn_suite(void)
{
    Suite *s = suite_create("classkn");
    TCase *tc = tcase_create("classkn");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_sums_to_one_and_matches_kn, 0, 4);
    tcase_add_test(tc, test_bad_files);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(classkn_suite()); }
