/*
 * check_pipeline.c — the training pipeline of nglm/pipeline.h: the defaults
 * it fills in for each start (as nglm-train documents them), the
 * combinations it refuses, the held-out slice (every 20th sentence of a
 * seeded rotation, nothing lost), a whole run on a small text with its
 * stage lines, the test text's report, and a memory limit that cannot be
 * met.  That a run makes nglm-train's model byte for byte is checked by
 * tests/cli_example.sh.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nglm/pipeline.h"
#include "testutil.h"

/* A text of n sentences over a few words, each sentence different. */
static const char *make_text(int n)
{
    static const char *w[] = {"the", "cat", "dog", "sat", "ran", "on", "a", "mat", "rug", "fast"};
    size_t cap = (size_t)n * 64 + 1, len = 0;
    char *buf = malloc(cap);
    ck_assert_ptr_nonnull(buf);
    uint64_t x = 12345;
    for (int s = 0; s < n; s++) {
        int words = 3 + s % 5;
        for (int k = 0; k < words; k++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            len += (size_t)snprintf(buf + len, cap - len, "%s%s", k ? " " : "",
                                    w[(x >> 33) % 10]);
        }
        len += (size_t)snprintf(buf + len, cap - len, " s%d\n", s % 7);
    }
    const char *path = tu_tempstr(buf);
    free(buf);
    return path;
}

static void init_ok(nglm_pipeline *P, const nglm_pipeline_options *o)
{
    nglm_error err;
    ck_assert_msg(nglm_pipeline_init(P, o, &err) == 0, "%s", err.msg);
}

START_TEST(test_defaults_kn)
{
    nglm_pipeline_options o = nglm_pipeline_options_default();
    o.train = "unused";
    nglm_pipeline P;
    init_ok(&P, &o);
    ck_assert_int_eq(P.opt.tr.schedule, NGLM_SCHEDULE_LINEAR);
    ck_assert_int_eq(P.opt.tr.max_epochs, NGLM_PIPELINE_KN_EPOCHS);
    ck_assert(P.opt.tr.lr == NGLM_PIPELINE_KN_LR && P.opt.tr.ada_init == NGLM_PIPELINE_KN_ADA_INIT);
    ck_assert_int_eq(P.opt.n_skip, 2);
    ck_assert_int_eq(P.opt.skip_dist[0], 2);
    ck_assert_int_eq(P.opt.skip_dist[1], 3);
    for (int m = 2; m <= NGLM_MAX_ORDER; m++)
        ck_assert_uint_eq(P.opt.cutoff[m], 1);
    ck_assert_int_gt(P.opt.tr.threads, 0);
    nglm_pipeline_free(&P);

    o.n_skip = 0; /* n-grams alone: more epochs */
    init_ok(&P, &o);
    ck_assert_int_eq(P.opt.tr.max_epochs, NGLM_PIPELINE_KN_EPOCHS_NGRAM);
    nglm_pipeline_free(&P);

    o.n_skip = -1;
    o.best = 1;
    init_ok(&P, &o);
    ck_assert_int_eq(P.opt.tr.max_epochs, NGLM_PIPELINE_BEST_EPOCHS);
    ck_assert_int_eq(P.opt.n_skip, 3);
    ck_assert_int_eq(P.opt.skip_dist[2], 4);
    nglm_pipeline_free(&P);

    o.n_skip = 1; /* templates given: --best adds none */
    o.skip_dist[0] = 2;
    o.tr.max_epochs = 2; /* and epochs given win */
    init_ok(&P, &o);
    ck_assert_int_eq(P.opt.n_skip, 1);
    ck_assert_int_eq(P.opt.tr.max_epochs, 2);
    nglm_pipeline_free(&P);
}
END_TEST

START_TEST(test_defaults_zero)
{
    nglm_pipeline_options o = nglm_pipeline_options_default();
    o.train = "unused";
    o.init_kn = 0;
    nglm_pipeline P;
    init_ok(&P, &o);
    ck_assert_int_eq(P.opt.tr.schedule, NGLM_SCHEDULE_HALVE);
    ck_assert_int_eq(P.opt.tr.max_epochs, NGLM_PIPELINE_ZERO_EPOCHS);
    ck_assert(P.opt.tr.lr == NGLM_PIPELINE_ZERO_LR &&
              P.opt.tr.ada_init == NGLM_PIPELINE_ZERO_ADA_INIT);
    ck_assert_uint_eq(P.opt.cutoff[4], 1);
    ck_assert_uint_eq(P.opt.cutoff[5], 2);
    nglm_pipeline_free(&P);

    o.init_kn = 1; /* a halving option makes the schedule halving */
    o.halving_given = 1;
    init_ok(&P, &o);
    ck_assert_int_eq(P.opt.tr.schedule, NGLM_SCHEDULE_HALVE);
    ck_assert_int_eq(P.opt.tr.max_epochs, NGLM_PIPELINE_ZERO_EPOCHS);
    nglm_pipeline_free(&P);
}
END_TEST

START_TEST(test_refused)
{
    nglm_error err;
    nglm_pipeline P;
    nglm_pipeline_options o = nglm_pipeline_options_default();
    ck_assert_int_eq(nglm_pipeline_init(&P, &o, &err), -1); /* no text */
    o.train = "unused";
    o.best = 1;
    o.init_kn = 0;
    ck_assert_int_eq(nglm_pipeline_init(&P, &o, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "best goes with"));
    o = nglm_pipeline_options_default();
    o.train = "unused";
    o.schedule_auto = 0;
    o.tr.schedule = NGLM_SCHEDULE_LINEAR;
    o.halving_given = 1;
    ck_assert_int_eq(nglm_pipeline_init(&P, &o, &err), -1);
    o = nglm_pipeline_options_default();
    o.train = "unused";
    o.order = NGLM_MAX_ORDER + 1;
    ck_assert_int_eq(nglm_pipeline_init(&P, &o, &err), -1);
    o.order = 3;
    o.cutoff[2] = 3;
    o.cutoff[3] = 2;
    ck_assert_int_eq(nglm_pipeline_init(&P, &o, &err), -1);
}
END_TEST

START_TEST(test_run)
{
    nglm_error err;
    const char *text = make_text(400);
    char *lines = NULL;
    size_t lines_len = 0;
    FILE *out = open_memstream(&lines, &lines_len);
    ck_assert_ptr_nonnull(out);
    nglm_pipeline_options o = nglm_pipeline_options_default();
    o.train = text;
    o.test = text;
    o.out = out;
    o.tr.threads = 2;
    nglm_pipeline P;
    init_ok(&P, &o);
    ck_assert_int_eq(nglm_pipeline_test(&P, &(nglm_pipeline_test_result){0}, NULL, &err), -1);
    ck_assert_msg(nglm_pipeline_run(&P, &err) == 0, "%s", err.msg);
    fclose(out);
    /* the held-out slice: every 20th sentence, nothing lost */
    ck_assert_uint_eq(P.train_read_sents, 400);
    ck_assert_uint_eq(P.valid.n_sents, 20);
    ck_assert_uint_eq(P.train.n_sents + P.valid.n_sents, 400);
    size_t n0, n1;
    const int32_t *v0 = nglm_corpus_sentence(&P.valid, 0, &n0);
    const int32_t *t1 = nglm_corpus_sentence(&P.test, o.tr.seed % 20, &n1);
    ck_assert_uint_eq(n0, n1);
    ck_assert(memcmp(v0, t1, n0 * sizeof *v0) == 0);
    /* the model: trained, chosen order, the start never beaten by much */
    ck_assert_int_ge(P.opt.order, 2);
    ck_assert_int_le(P.opt.order, NGLM_PIPELINE_ORDER);
    ck_assert_ptr_nonnull(P.model.theta);
    ck_assert_msg(isfinite(P.kn_valid_ppl) && P.model.info.valid_ppl > 0 &&
                  P.model.info.valid_ppl <= P.kn_valid_ppl * (1 + 1e-9),
                  "valid ppl %.12g, Kneser-Ney's %.12g", P.model.info.valid_ppl,
                  P.kn_valid_ppl);
    ck_assert_ptr_null(P.init); /* freed by finish */
    ck_assert_ptr_nonnull(strstr(lines, "vocabulary: "));
    ck_assert_ptr_nonnull(strstr(lines, "features: "));
    ck_assert_ptr_nonnull(strstr(lines, "Kneser-Ney start: valid ppl"));
    /* the test text is the whole text here: its report counts every line */
    nglm_pipeline_test_result r;
    ck_assert_msg(nglm_pipeline_test(&P, &r, NULL, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(r.report.sentences, 400);
    ck_assert(isfinite(r.report.ppl) && r.report.ppl > 1);
    ck_assert(isnan(r.cache_ppl));
    nglm_eval_report_free(&r.report);
    nglm_pipeline_free(&P);
    free(lines);
}
END_TEST

START_TEST(test_memory_limit)
{
    nglm_error err;
    nglm_pipeline_options o = nglm_pipeline_options_default();
    o.train = make_text(200);
    o.max_memory = 1000; /* bytes: nothing fits */
    o.tr.threads = 1;
    nglm_pipeline P;
    init_ok(&P, &o);
    ck_assert_int_eq(nglm_pipeline_run(&P, &err), -1);
    ck_assert_msg(strstr(err.msg, "a memory limit of") != NULL, "%s", err.msg);
    nglm_pipeline_free(&P);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pipeline");
    TCase *tc = tcase_create("pipeline");
    tcase_add_test(tc, test_defaults_kn);
    tcase_add_test(tc, test_defaults_zero);
    tcase_add_test(tc, test_refused);
    tcase_add_test(tc, test_run);
    tcase_add_test(tc, test_memory_limit);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
