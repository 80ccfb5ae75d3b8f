/*
 * check_api.c — the public API (include/nglm/nglm.h) as a user's program
 * sees it: built with include/ only and linked with libnglm itself (not
 * its internals), so a function missing from the exports fails the link.
 * One small text is trained on through the opaque pipeline, and the model
 * is scored, sampled, mixed, exported, converted and clustered with the
 * public calls; each answer is checked against another way to the same
 * number (a sentence's total against its words, the token scorer against
 * both, an ARPA export against the model).
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nglm/nglm.h>

static char dir[256];

/* dir/name, in static storage rotated over 8 slots. */
static const char *path_of(const char *name)
{
    static char paths[8][320];
    static int slot;
    char *p = paths[slot++ & 7];
    snprintf(p, 320, "%s/%s", dir, name);
    return p;
}

/* A small text with some structure: 600 sentences of 3..10 words from 40,
 * the next word depending on the last (a deterministic generator). */
static const char *write_text(void)
{
    static const char *words[] = {
        "the", "cat", "dog", "sat", "on", "a", "mat", "ran", "to", "house", "big", "small",
        "red", "blue", "saw", "and", "with", "under", "tree", "bird", "sang", "song", "old",
        "new", "man", "woman", "child", "ate", "fish", "bread", "in", "garden", "slept",
        "quickly", "slowly", "happy", "sad", "boat", "river", "hill"};
    const char *p = path_of("text.txt");
    FILE *fp = fopen(p, "w");
    ck_assert_ptr_nonnull(fp);
    uint64_t x = 12345;
    for (int s = 0; s < 600; s++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        int n = 3 + (int)((x >> 33) % 8), w = (int)((x >> 40) % 40);
        for (int i = 0; i < n; i++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            w = (w * 7 + 3 + (int)((x >> 35) % 4)) % 40;
            fprintf(fp, "%s%s", i ? " " : "", words[w]);
        }
        fputc('\n', fp);
    }
    ck_assert_int_eq(fclose(fp), 0);
    return p;
}

/* Trains a 3-gram model of n-gram features (exported exactly as ARPA) on
 * the text into dir/m.nglm, once per process. */
static const char *model_path(void)
{
    static int done;
    const char *m = "m.nglm";
    if (done)
        return path_of(m);
    nglm_error err;
    nglm_pipeline *P = nglm_pipeline_new(&err);
    ck_assert_ptr_nonnull(P);
    ck_assert_msg(nglm_pipeline_set(P, "train", write_text(), &err) == 0 &&
                      nglm_pipeline_set(P, "order", "3", &err) == 0 &&
                      nglm_pipeline_set(P, "features", "ngram", &err) == 0 &&
                      nglm_pipeline_set(P, "threads", "1", &err) == 0 &&
                      nglm_pipeline_fit(P, NULL, &err) == 0 &&
                      nglm_pipeline_save(P, path_of(m), &err) == 0,
                  "%s", err.msg);
    double ppl = nglm_pipeline_valid_ppl(P);
    ck_assert_msg(ppl > 1 && ppl < 40, "valid ppl %g", ppl);
    nglm_pipeline_delete(P);
    done = 1;
    return path_of(m);
}

static nglm_lm *open_model(const char *path)
{
    nglm_error err;
    nglm_lm *lm = nglm_lm_open(path, 0, &err);
    ck_assert_msg(lm != NULL, "%s", err.msg);
    return lm;
}

/* ---------------------------------------------------------------- training */

START_TEST(test_pipeline_options)
{
    nglm_error err;
    nglm_pipeline *P = nglm_pipeline_new(&err);
    ck_assert_ptr_nonnull(P);
    ck_assert_int_eq(nglm_pipeline_set(P, "no-such-option", "1", &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "no-such-option"));
    ck_assert_int_eq(nglm_pipeline_set(P, "order", "0", &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "order: "));
    ck_assert_int_eq(nglm_pipeline_set(P, "order", NULL, &err), -1);
    ck_assert_int_eq(nglm_pipeline_set(P, "best", "1", &err), -1); /* a flag */
    ck_assert_int_eq(nglm_pipeline_set(P, "best", NULL, &err), 0);
    ck_assert_int_eq(nglm_pipeline_set(P, "max_memory", "2M", &err), 0); /* '_' for '-' */
    /* no training text: fit fails, and only once may it be tried */
    ck_assert_int_eq(nglm_pipeline_fit(P, NULL, &err), -1);
    ck_assert_int_eq(nglm_pipeline_fit(P, NULL, &err), -1);
    ck_assert_int_eq(nglm_pipeline_set(P, "order", "2", &err), -1);
    ck_assert_int_eq(nglm_pipeline_save(P, path_of("never.nglm"), &err), -1);
    ck_assert_int_ne(access(path_of("never.nglm"), F_OK), 0);
    nglm_pipeline_delete(P);
    nglm_pipeline_delete(NULL);
}
END_TEST

START_TEST(test_pipeline_trains)
{
    nglm_lm *lm = open_model(model_path());
    ck_assert_str_eq(nglm_lm_kind(lm), "nglm");
    ck_assert_int_eq(nglm_lm_order(lm), 3);
    ck_assert_str_eq(nglm_lm_path(lm), model_path());
    const nglm_vocab *v = nglm_lm_vocab(lm);
    ck_assert_uint_eq(nglm_vocab_size(v), 40 + NGLM_NUM_SPECIAL);
    ck_assert_str_eq(nglm_vocab_word(v, NGLM_EOS), NGLM_EOS_STR);
    ck_assert_int_eq(nglm_vocab_find(v, "zebra"), -1);
    ck_assert_int_eq(nglm_vocab_id(v, "zebra"), NGLM_UNK);
    ck_assert_str_eq(nglm_vocab_word(v, nglm_vocab_find(v, "cat")), "cat");
    nglm_lm_free(lm);
}
END_TEST

/* ---------------------------------------------------------------- scoring */

START_TEST(test_sentence_words_and_scorer_agree)
{
    nglm_lm *lm = open_model(model_path());
    nglm_error err;
    const char *sentence = "the cat sat on zebra mat";
    double total;
    int oovs;
    ck_assert_int_eq(nglm_lm_score_sentence(lm, sentence, &total, &oovs, &err), 0);
    ck_assert_int_eq(oovs, 1);
    ck_assert(total < 0);
    nglm_word_score *ws;
    size_t n;
    ck_assert_int_eq(nglm_lm_score_words(lm, sentence, &ws, &n, &err), 0);
    ck_assert_uint_eq(n, 7); /* six words and </s> */
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        sum += ws[i].logprob10;
        ck_assert_int_eq(ws[i].oov, i == 4);
        ck_assert(ws[i].ngram_length >= 1 && ws[i].ngram_length <= 3);
    }
    ck_assert_int_eq(ws[4].id, NGLM_UNK);
    ck_assert_int_eq(ws[6].id, NGLM_EOS);
    ck_assert_str_eq(nglm_vocab_word(nglm_lm_vocab(lm), ws[1].id), "cat");
    ck_assert_double_eq_tol(sum, total, 1e-9);
    /* token by token, with ids */
    const nglm_vocab *v = nglm_lm_vocab(lm);
    int32_t ids[7];
    const char *w[] = {"the", "cat", "sat", "on", "zebra", "mat"};
    for (int i = 0; i < 6; i++)
        ids[i] = nglm_vocab_id(v, w[i]);
    ids[6] = NGLM_EOS;
    nglm_lm_scorer *s = nglm_lm_scorer_new(lm, &err);
    ck_assert_ptr_nonnull(s);
    for (size_t i = 0; i < 7; i++) {
        int len;
        ck_assert_double_eq_tol(nglm_lm_scorer_logprob10(s, ids, i, &len), ws[i].logprob10,
                                1e-12);
        ck_assert_int_eq(len, ws[i].ngram_length);
    }
    nglm_lm_scorer_free(s);
    free(ws);
    ck_assert_int_eq(nglm_lm_check(lm, &err), 0);
    /* the empty sentence: </s> alone */
    ck_assert_int_eq(nglm_lm_score_words(lm, "", &ws, &n, &err), 0);
    ck_assert_uint_eq(n, 1);
    free(ws);
    nglm_lm_free(lm);
}
END_TEST

START_TEST(test_eval_file)
{
    nglm_lm *lm = open_model(model_path());
    nglm_error err;
    const char *text = path_of("three.txt");
    FILE *fp = fopen(text, "w");
    fputs("the cat sat\nzebra\n\n", fp);
    fclose(fp);
    nglm_eval_options o = nglm_eval_options_default();
    o.per_sentence = 1;
    o.threads = 1;
    nglm_eval_report r;
    ck_assert_int_eq(nglm_lm_eval_file(lm, text, &o, &r, &err), 0);
    ck_assert_uint_eq(r.sentences, 3);
    ck_assert_uint_eq(r.words, 4);
    ck_assert_uint_eq(r.oovs, 1);
    const char *lines[] = {"the cat sat", "zebra", ""};
    double sum = 0;
    for (int i = 0; i < 3; i++) {
        double lp;
        ck_assert_int_eq(nglm_lm_score_sentence(lm, lines[i], &lp, NULL, &err), 0);
        ck_assert_double_eq_tol(r.sent_logprob10[i], lp, 1e-9);
        sum += lp;
    }
    ck_assert_double_eq_tol(r.logprob10, sum, 1e-9);
    ck_assert_double_eq_tol(r.ppl, pow(10, -sum / 7), 1e-6 * r.ppl);
    char *buf;
    size_t len;
    FILE *mem = open_memstream(&buf, &len);
    nglm_eval_print(mem, "three.txt", &r);
    fclose(mem);
    ck_assert_ptr_nonnull(strstr(buf, "file three.txt: 3 sentences, 4 words, 1 OOVs"));
    free(buf);
    nglm_eval_report_free(&r);
    /* NULL: the defaults; a missing file fails naming it */
    ck_assert_int_eq(nglm_lm_eval_file(lm, text, NULL, &r, &err), 0);
    ck_assert_ptr_null(r.sent_logprob10);
    nglm_eval_report_free(&r);
    ck_assert_int_eq(nglm_lm_eval_file(lm, path_of("nope.txt"), NULL, &r, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "nope.txt"));
    nglm_lm_free(lm);
}
END_TEST

/* ---------------------------------------------------------------- sampling */

START_TEST(test_sampler)
{
    nglm_lm *lm = open_model(model_path());
    nglm_error err;
    nglm_sampler *a = nglm_sampler_new(lm, NULL, &err), *b = nglm_sampler_new(lm, NULL, &err);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    for (int k = 0; k < 5; k++) {
        const int32_t *wa, *wb;
        size_t na, nb;
        nglm_sample_sentence(a, &wa, &na);
        int32_t copy[NGLM_SAMPLE_MAX_LENGTH];
        memcpy(copy, wa, na * sizeof *wa);
        nglm_sample_sentence(b, &wb, &nb);
        ck_assert_uint_eq(na, nb);
        ck_assert_int_eq(memcmp(copy, wb, na * sizeof *wb), 0);
        for (size_t i = 0; i < na; i++)
            ck_assert(wb[i] > NGLM_EOS && (size_t)wb[i] < nglm_vocab_size(nglm_lm_vocab(lm)));
    }
    nglm_sampler_delete(a);
    nglm_sampler_delete(b);
    nglm_sample_options o = nglm_sample_options_default();
    o.max_length = 2;
    nglm_sampler *c = nglm_sampler_new(lm, &o, &err);
    ck_assert_ptr_nonnull(c);
    for (int k = 0; k < 20; k++) {
        const int32_t *w;
        size_t n;
        nglm_sample_sentence(c, &w, &n);
        ck_assert_uint_le(n, 2);
    }
    nglm_sampler_delete(c);
    o.temperature = 0;
    ck_assert_ptr_null(nglm_sampler_new(lm, &o, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "temperature"));
    nglm_sampler_delete(NULL);
    nglm_lm_free(lm);
}
END_TEST

/* ---------------------------------------------------------------- conversion, mixtures */

START_TEST(test_export_convert_mix)
{
    nglm_error err;
    const char *arpa = path_of("m.arpa"), *back = path_of("back.nglm");
    ck_assert_msg(nglm_export_arpa(model_path(), arpa, &err) == 0, "%s", err.msg);
    ck_assert_msg(nglm_convert_arpa(arpa, back, &err) == 0, "%s", err.msg);
    nglm_lm *m = open_model(model_path()), *a = open_model(arpa), *b = open_model(back);
    ck_assert_str_eq(nglm_lm_kind(a), "arpa");
    const char *s = "the big dog ran to a house";
    double lm_, la, lb;
    ck_assert_int_eq(nglm_lm_score_sentence(m, s, &lm_, NULL, &err), 0);
    ck_assert_int_eq(nglm_lm_score_sentence(a, s, &la, NULL, &err), 0);
    ck_assert_int_eq(nglm_lm_score_sentence(b, s, &lb, NULL, &err), 0);
    ck_assert_double_eq_tol(la, lm_, 1e-4);
    ck_assert_double_eq_tol(lb, la, 1e-4);
    ck_assert_int_eq(nglm_export_arpa(path_of("nope.nglm"), path_of("x.arpa"), &err), -1);
    ck_assert_int_eq(nglm_convert_arpa(path_of("nope.arpa"), path_of("x.nglm"), &err), -1);
    nglm_lm_free(b);

    /* a mixture of the model and its ARPA export: the same scores, any weights */
    nglm_lm *parts[2] = {m, a};
    double w[2] = {0.25, 0.75};
    nglm_lm *mix = nglm_lm_mix_new(parts, w, 2, &err);
    ck_assert_msg(mix != NULL, "%s", err.msg);
    ck_assert_uint_eq(nglm_lm_mix_size(mix), 2);
    ck_assert_ptr_eq(nglm_lm_mix_component(mix, 1), a);
    ck_assert_double_eq_tol(nglm_lm_mix_weights(mix)[1], 0.75, 1e-12);
    double lx;
    ck_assert_int_eq(nglm_lm_score_sentence(mix, s, &lx, NULL, &err), 0);
    ck_assert_double_eq_tol(lx, lm_, 1e-4);
    int it = -1;
    ck_assert_msg(nglm_lm_mix_em_file(mix, path_of("text.txt"), NULL, &it, &err) == 0, "%s",
                  err.msg);
    ck_assert_int_ge(it, 0);
    const double *ew = nglm_lm_mix_weights(mix);
    ck_assert_double_eq_tol(ew[0] + ew[1], 1, 1e-6);
    double bad[2] = {0.5, 0.6};
    ck_assert_int_eq(nglm_lm_mix_set_weights(mix, bad, &err), -1);
    const char *manifest = path_of("mix.nglm-mix");
    ck_assert_int_eq(nglm_lm_mix_save(mix, manifest, &err), 0);
    nglm_lm *again = open_model(manifest);
    ck_assert_str_eq(nglm_lm_kind(again), "mixture");
    double lagain;
    ck_assert_int_eq(nglm_lm_score_sentence(again, s, &lagain, NULL, &err), 0);
    ck_assert_int_eq(nglm_lm_score_sentence(mix, s, &lx, NULL, &err), 0);
    ck_assert_double_eq_tol(lagain, lx, 1e-12);
    ck_assert_int_eq(nglm_lm_mix_em_file(m = open_model(model_path()), path_of("text.txt"), NULL,
                                         NULL, &err), -1); /* not a mixture */
    nglm_lm_free(m);
    nglm_lm_free(again);
    nglm_lm_free(mix);
}
END_TEST

START_TEST(test_export_refuses_skip_grams)
{
    nglm_error err;
    model_path(); /* writes the text */
    nglm_pipeline *P = nglm_pipeline_new(&err);
    ck_assert_ptr_nonnull(P);
    ck_assert_msg(nglm_pipeline_set(P, "train", path_of("text.txt"), &err) == 0 &&
                      nglm_pipeline_set(P, "order", "2", &err) == 0 &&
                      nglm_pipeline_set(P, "features", "ngram,skip2", &err) == 0 &&
                      nglm_pipeline_set(P, "skip-cutoff", "1", &err) == 0 &&
                      nglm_pipeline_set(P, "init", "zero", &err) == 0 &&
                      nglm_pipeline_set(P, "epochs", "2", &err) == 0 &&
                      nglm_pipeline_set(P, "threads", "1", &err) == 0 &&
                      nglm_pipeline_fit(P, NULL, &err) == 0 &&
                      nglm_pipeline_save(P, path_of("skip.nglm"), &err) == 0,
                  "%s", err.msg);
    nglm_pipeline_delete(P);
    ck_assert_int_eq(nglm_export_arpa(path_of("skip.nglm"), path_of("skip.arpa"), &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "skip-gram features with non-zero weights"));
    ck_assert_int_ne(access(path_of("skip.arpa"), F_OK), 0);
}
END_TEST

/* ---------------------------------------------------------------- word classes */

START_TEST(test_cluster_text)
{
    nglm_error err;
    model_path(); /* writes the text */
    const char *cls = path_of("classes.txt");
    nglm_cluster_stats st;
    ck_assert_msg(nglm_cluster_text(path_of("text.txt"), 6, NULL, cls, &st, &err) == 0, "%s",
                  err.msg);
    ck_assert(st.passes >= 1 && st.perplexity <= st.perplexity0);
    /* read back for the model's vocabulary (the same words) */
    nglm_lm *lm = open_model(model_path());
    const nglm_vocab *v = nglm_lm_vocab(lm);
    size_t V = nglm_vocab_size(v);
    int32_t *class_of = malloc(V * sizeof *class_of);
    int n_classes;
    ck_assert_msg(nglm_classes_read(cls, v, NGLM_CLASSES_AUTO, 0, class_of, &n_classes, &err) ==
                      0, "%s", err.msg);
    ck_assert_int_eq(n_classes, 6);
    ck_assert_int_eq(class_of[NGLM_EOS], 0);
    for (size_t w = NGLM_UNK; w < V; w++)
        ck_assert(class_of[w] >= 1 && class_of[w] < 6);
    /* written again in mkcls's form, read again: the same classes, shifted */
    const char *mk = path_of("classes.mkcls");
    ck_assert_int_eq(nglm_classes_write(mk, v, class_of, NGLM_CLASSES_MKCLS, &err), 0);
    int32_t *again = malloc(V * sizeof *again);
    int n2;
    ck_assert_int_eq(nglm_classes_read(mk, v, NGLM_CLASSES_TAB, 0, again, &n2, &err), 0);
    for (size_t w = NGLM_UNK; w < V; w++)
        ck_assert_int_eq(again[w], class_of[w] + 1);
    free(again);
    free(class_of);
    nglm_lm_free(lm);
    nglm_cluster_options o = nglm_cluster_options_default();
    int32_t init[1] = {0};
    o.init = init;
    ck_assert_int_eq(nglm_cluster_text(path_of("text.txt"), 6, &o, cls, NULL, &err), -1);
    ck_assert_int_eq(nglm_cluster_text(path_of("nope.txt"), 6, NULL, cls, NULL, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "nope.txt"));
}
END_TEST

static void remove_dir(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (dir[0] && system(cmd) != 0)
        fprintf(stderr, "check_api: cannot remove %s\n", dir);
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/nglm-api-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("check_api: mkdtemp");
        return 1;
    }
    Suite *s = suite_create("api");
    TCase *tc = tcase_create("api");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_pipeline_options);
    tcase_add_test(tc, test_pipeline_trains);
    tcase_add_test(tc, test_sentence_words_and_scorer_agree);
    tcase_add_test(tc, test_eval_file);
    tcase_add_test(tc, test_sampler);
    tcase_add_test(tc, test_export_convert_mix);
    tcase_add_test(tc, test_export_refuses_skip_grams);
    tcase_add_test(tc, test_cluster_text);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    /* one process: the model is trained once and shared by the tests */
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    remove_dir();
    return failed ? 1 : 0;
}
