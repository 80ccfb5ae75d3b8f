/*
 * check_pipeline.c — the training pipeline of nglm/pipeline.h: the defaults
 * it fills in for each start (as nglm-train documents them), the
 * combinations it refuses, the held-out slice (every 20th sentence of a
 * seeded rotation, nothing lost), a whole run on a small text with its
 * stage lines, the test text's report, and a memory limit that cannot be
 * met; the pipeline stopped at Kneser-Ney (src/pipeline_kn.h, nglm-kn's)
 * against the estimate made by hand.  That a run makes nglm-train's model
 * byte for byte is checked by tests/cli_example.sh.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nglm/modelfile.h"
#include "nglm/pipeline.h"
#include "pipeline_kn.h"
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

/* Reads a whole file (malloc'd, *len bytes). */
static char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    ck_assert_ptr_nonnull(fp);
    fseek(fp, 0, SEEK_END);
    *len = (size_t)ftell(fp);
    rewind(fp);
    char *buf = malloc(*len + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, *len, fp), *len);
    fclose(fp);
    return buf;
}

/* The Kneser-Ney stages keep every sentence (nothing held out) and give
 * the estimate, ARPA file and model that the modules give by hand. */
START_TEST(test_kn_only)
{
    nglm_error err;
    const char *text = make_text(400);
    nglm_pipeline_options o = nglm_pipeline_options_default();
    o.train = text;
    o.order = 3;
    o.order_auto = 0;
    o.n_skip = 0;
    o.tr.threads = 2;
    nglm_kn_options ko = nglm_kn_options_default();
    ko.fallback = 1;
    ko.prune[3] = 1;
    nglm_pipeline P;
    init_ok(&P, &o);
    nglm_pipeline_kn_result r;
    const char *arpa = tu_temp_path(".arpa"), *model = tu_temp_path(".nglm");
    ck_assert_msg(nglm_pipeline_vocab(&P, &err) == 0 && nglm_pipeline_kn_text(&P, &err) == 0 &&
                  nglm_pipeline_kn(&P, &ko, &r, &err) == 0 &&
                  nglm_pipeline_kn_save(&P, &r, arpa, model, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(r.n_sents, 400);
    ck_assert_uint_eq(P.train_read_sents, 400);

    /* by hand: vocabulary, text, index, estimate */
    nglm_vocab *v = nglm_vocab_new();
    nglm_corpus c;
    nglm_features F;
    nglm_kn kn;
    ck_assert_msg(nglm_vocab_count_file(v, text, &o.tok, NULL, &err) == 0 &&
                  nglm_vocab_finalize(v, 1, 0, &err) == 0 &&
                  nglm_corpus_read(&c, text, &o.tok, v, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(r.n_tokens, c.n_tokens);
    ck_assert_uint_eq(r.n_words, c.n_words);
    ck_assert_int_eq(nglm_features_build(&F, &c, (int32_t)nglm_vocab_size(v), 3, NULL, 1, &err), 0);
    ko.text = &c;
    ck_assert_msg(nglm_kn_estimate(&kn, &F, &ko, &err) == 0, "%s", err.msg);
    for (int m = 1; m <= 3; m++) {
        ck_assert_uint_eq(r.kn.count[m], kn.count[m]);
        for (int j = 1; j <= 3; j++)
            ck_assert(r.kn.D[m][j] == kn.D[m][j]);
    }
    ck_assert_int_eq(r.V, (int32_t)nglm_vocab_size(v));
    ck_assert_uint_eq(r.seen[1], nglm_vocab_size(v));
    ck_assert_uint_gt(r.seen[3], r.kn.count[3]); /* the 3-grams seen once are pruned */
    ck_assert_uint_eq(r.kn.n_feat, kn.n_feat);
    ck_assert(memcmp(r.kn.adj, kn.adj, kn.n_feat * sizeof *kn.adj) == 0);
    const char *arpa2 = tu_temp_path(".arpa");
    ck_assert_int_eq(nglm_kn_save_arpa(&kn, &F, v, &o.tok, arpa2, 1, &err), 0);
    size_t n1, n2;
    char *a1 = slurp(arpa, &n1), *a2 = slurp(arpa2, &n2);
    ck_assert(n1 == n2 && memcmp(a1, a2, n1) == 0);
    free(a1);
    free(a2);

    /* the model: the estimate's weights, pruned of zero weights */
    nglm_model m;
    ck_assert_msg(nglm_model_load(&m, model, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(m.info.train_tokens, c.n_tokens);
    ck_assert_uint_eq(m.feat.n_feat + P.pruned, kn.n_feat);
    nglm_model_free(&m);

    nglm_kn_free(&kn);
    nglm_features_free(&F);
    nglm_corpus_free(&c);
    nglm_vocab_free(v);
    nglm_pipeline_kn_result_free(&r);
    nglm_pipeline_free(&P);

    /* a blank text is refused, naming it as the caller does */
    o.train = tu_tempstr("\n  \n");
    o.train_name = "blank";
    init_ok(&P, &o);
    ck_assert_int_eq(nglm_pipeline_vocab(&P, &err), 0);
    ck_assert_int_eq(nglm_pipeline_kn_text(&P, &err), -1);
    ck_assert_str_eq(err.msg, "blank: no sentences (the text is empty or blank)");
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
    tcase_add_test(tc, test_kn_only);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
