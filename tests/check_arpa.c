/*
 * check_arpa.c — the ARPA export against the model it came from, and the
 * reader against hand-computed back-off probabilities: every token of a
 * text gets the native probability back from the exported file (plain and
 * gzip), the back-off distributions sum to one, malformed files are refused
 * with the line at fault, and skip-gram models are not exported.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include "nglm/arpa.h"
#include "nglm/lm.h"
#include "nglm/corpus.h"
#include "nglm/eval.h"
#include "nglm/features.h"
#include "nglm/model.h"
#include "nglm/modelfile.h"
#include "nglm/vocab.h"
#include "testutil.h"

/* ---------------------------------------------------------------- fixtures */

/* The random-model fixture of check_model.c: structured random text, the
 * feature index of its n-grams, random weights (some exactly zero). */
static uint64_t rng_state;
static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static double urand(void) { return (double)(rnd() >> 11) / 9007199254740992.0; }

static nglm_vocab *make_vocab(char **lines, size_t n)
{
    nglm_error err;
    nglm_vocab *v = nglm_vocab_new();
    ck_assert_ptr_nonnull(v);
    for (size_t i = 0; i < n; i++) {
        char buf[4096], *save = NULL;
        snprintf(buf, sizeof buf, "%s", lines[i]);
        for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save))
            ck_assert_int_eq(nglm_vocab_add(v, t, 1, &err), 0);
    }
    ck_assert_int_eq(nglm_vocab_finalize(v, 1, 0, &err), 0);
    return v;
}

static char **make_lines(size_t n, int n_words, int max_len, uint64_t seed)
{
    rng_state = seed;
    char **lines = malloc(n * sizeof *lines);
    for (size_t i = 0; i < n; i++) {
        lines[i] = malloc(4096);
        lines[i][0] = '\0';
        int len = 1 + (int)(rnd() % (uint64_t)max_len), w = (int)(rnd() % (uint64_t)n_words);
        for (int j = 0; j < len; j++) {
            char tok[16];
            w = urand() < 0.6 ? (w + 1) % n_words : (int)(rnd() % (uint64_t)n_words);
            snprintf(tok, sizeof tok, "%sw%d", j ? " " : "", w);
            strcat(lines[i], tok);
        }
    }
    return lines;
}

static void free_lines(char **lines, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(lines[i]);
    free(lines);
}

static void make_model(nglm_model *m, nglm_corpus *c, int order, uint64_t seed, int skips,
                       double scale)
{
    nglm_error err;
    size_t n = 80;
    char **lines = make_lines(n, 14, 9, seed);
    memset(m, 0, sizeof *m);
    m->vocab = make_vocab(lines, n);
    ck_assert_int_eq(nglm_corpus_from_lines(c, (const char *const *)lines, n, m->vocab, &err), 0);
    free_lines(lines, n);
    ck_assert_int_eq(nglm_features_build(&m->feat, c, (int32_t)nglm_vocab_size(m->vocab),
                                         order, NULL, 1, &err), 0);
    if (skips) {
        int dist[2] = {2, 3};
        ck_assert_int_eq(nglm_features_add_skips(&m->feat, c, 2, dist, 1, &err), 0);
        ck_assert_int_eq(nglm_features_index(&m->feat, &err), 0);
    }
    m->theta = calloc(m->feat.n_feat, sizeof *m->theta);
    for (size_t f = 0; f < m->feat.n_feat; f++)
        m->theta[f] = urand() < 0.1 ? 0.0 : scale * (2.0 * urand() - 1.0);
    m->tok = nglm_tok_options_default();
}

static void assert_logp_close(double got, double want)
{
    ck_assert_msg(fabs(got - want) <= 1e-9 * fabs(want) + 1e-12,
                  "ARPA log10 P %.15g, native %.15g", got, want);
}

/* Every token of c scored by the ARPA model equals the native score. */
static void check_corpus_agrees(const nglm_model *m, const nglm_arpa *a, const nglm_corpus *c)
{
    nglm_error err;
    double *logp = malloc(c->n_tokens * sizeof *logp);
    ck_assert_int_eq(nglm_model_score_corpus(m, c, logp, 1, &err), 0);
    int32_t *ids = tu_map_ids(c, m->vocab, nglm_arpa_vocab(a));
    for (size_t s = 0; s < c->n_sents; s++)
        for (size_t t = c->start[s]; t < c->start[s + 1]; t++)
            assert_logp_close(nglm_arpa_logprob10(a, ids + c->start[s], t - c->start[s]),
                              logp[t] / M_LN10);
    free(ids);
    free(logp);
}

/* ---------------------------------------------------------------- export */

/* The reports nglm-eval makes of a native model and of an ARPA file. */
static int eval_native(nglm_model *m, const nglm_corpus *c, int per_sentence,
                       nglm_eval_report *r, nglm_error *err)
{
    nglm_lm *lm = nglm_lm_from_model(m, 0, err);
    int rc = lm ? nglm_lm_eval(lm, c, 1, per_sentence, NULL, r, err) : -1;
    nglm_lm_free(lm);
    return rc;
}

static int eval_arpa(const nglm_arpa *a, const nglm_corpus *c, int per_sentence,
                     nglm_eval_report *r, nglm_error *err)
{
    double *lp = malloc((c->n_tokens ? c->n_tokens : 1) * sizeof *lp);
    int rc = nglm_arpa_score_corpus(a, c, lp, err);
    if (rc == 0)
        rc = nglm_eval_tokens(c, NULL, lp, per_sentence, r, err);
    free(lp);
    return rc;
}

/* The exported file reproduces the native probability of every token, on
 * the training text and on a text with unseen histories, for orders 1..6. */
START_TEST(test_export_matches_native)
{
    int order = 1 + _i % 6;
    double scale = _i < 6 ? 1.0 : 4.0;
    nglm_model m;
    nglm_corpus c, other;
    nglm_error err;
    make_model(&m, &c, order, 40 + (uint64_t)_i, 0, scale);
    const char *path = tu_temp_path(".arpa");
    ck_assert_msg(nglm_arpa_save(&m, path, &err) == 0, "%s", err.msg);
    nglm_arpa *a = nglm_arpa_load(path, &err);
    ck_assert_msg(a != NULL, "%s", err.msg);
    ck_assert_int_eq(nglm_arpa_file_is_arpa(path), 1);
    ck_assert_int_le(nglm_arpa_order(a), order);
    ck_assert_uint_eq(nglm_arpa_count(a, 1), (uint64_t)m.feat.V);
    ck_assert_int_eq(nglm_arpa_has_unk(a), 1);
    ck_assert_uint_eq(nglm_vocab_size(nglm_arpa_vocab(a)), (size_t)m.feat.V);
    check_corpus_agrees(&m, a, &c);

    char **lines = make_lines(50, 14, 12, 999 + (uint64_t)_i);
    ck_assert_int_eq(nglm_corpus_from_lines(&other, (const char *const *)lines, 50, m.vocab,
                                            &err), 0);
    free_lines(lines, 50);
    check_corpus_agrees(&m, a, &other);

    /* and the report: the same numbers as native evaluation, on the text
     * with some words made <unk> (as OOVs are read) */
    for (size_t t = 3; t < other.n_tokens; t += 7)
        if (other.ids[t] != NGLM_EOS)
            other.ids[t] = NGLM_UNK;
    nglm_eval_report rn, ra;
    ck_assert_int_eq(eval_native(&m, &other, 0, &rn, &err), 0);
    /* the tokens scored as <unk>, counted and summed from the token
     * scores directly: the same in both reports */
    double *lp = malloc(other.n_tokens * sizeof *lp), unk = 0;
    uint64_t n_unk = 0;
    ck_assert_int_eq(nglm_model_score_corpus(&m, &other, lp, 1, &err), 0);
    for (size_t t = 0; t < other.n_tokens; t++)
        if (other.ids[t] == NGLM_UNK) {
            n_unk++;
            unk += lp[t] / M_LN10;
        }
    free(lp);
    int32_t *ids = tu_map_ids(&other, m.vocab, nglm_arpa_vocab(a));
    memcpy(other.ids, ids, other.n_tokens * sizeof *ids);
    free(ids);
    ck_assert_int_eq(eval_arpa(a, &other, 1, &ra, &err), 0);
    ck_assert_uint_eq(ra.sentences, rn.sentences);
    ck_assert_uint_eq(ra.words, rn.words);
    ck_assert_uint_eq(ra.oovs, rn.oovs);
    ck_assert_uint_eq(ra.zeroprobs, 0);
    ck_assert_double_eq_tol(ra.ppl / rn.ppl, 1.0, 1e-9);
    ck_assert_double_eq_tol(ra.ppl1 / rn.ppl1, 1.0, 1e-9);
    ck_assert_uint_gt(n_unk, 0);
    ck_assert_uint_eq(rn.unk_scored, n_unk);
    ck_assert_uint_eq(ra.unk_scored, n_unk);
    ck_assert_uint_eq(rn.scored, other.n_tokens);
    ck_assert_uint_eq(ra.scored, other.n_tokens);
    ck_assert_double_eq_tol(rn.unk_logprob10, unk, 1e-9);
    ck_assert_double_eq_tol(ra.unk_logprob10, unk, 1e-7);
    ck_assert_int_eq(rn.oovs_skipped, 0);
    ck_assert_int_eq(ra.oovs_skipped, 0);
    double sum = 0;
    for (size_t i = 0; i < other.n_sents; i++)
        sum += ra.sent_logprob10[i];
    ck_assert_double_eq_tol(sum, ra.logprob10, 1e-9);
    nglm_eval_report_free(&ra);

    nglm_arpa_free(a);
    unlink(path);
    nglm_corpus_free(&other);
    nglm_corpus_free(&c);
    nglm_model_free(&m);
}
END_TEST

/* An ARPA file turned into an nglm model (nglm_arpa_to_model) scores every
 * token as the file does, to 1e-9 in log10 (nglm-export writes 10
 * significant digits, so its distributions sum to 1 that closely), OOVs
 * (scored as <unk>) included; saved and mapped, the model scores the same. */
START_TEST(test_arpa_to_model)
{
    int order = 1 + _i % 5;
    nglm_model m, b, mapped;
    nglm_corpus c, other;
    nglm_error err;
    make_model(&m, &c, order, 70 + (uint64_t)_i, 0, _i < 5 ? 1.0 : 4.0);
    const char *path = tu_temp_path(".arpa");
    ck_assert_msg(nglm_arpa_save(&m, path, &err) == 0, "%s", err.msg);
    nglm_arpa *a = nglm_arpa_load(path, &err);
    ck_assert_msg(a != NULL, "%s", err.msg);
    ck_assert_msg(nglm_arpa_to_model(a, &b, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(b.feat.order, nglm_arpa_order(a));
    ck_assert_uint_eq(nglm_vocab_size(b.vocab), nglm_vocab_size(nglm_arpa_vocab(a)));
    char **lines = make_lines(60, 17, 12, 555 + (uint64_t)_i); /* w14..w16: OOVs */
    ck_assert_int_eq(nglm_corpus_from_lines(&other, (const char *const *)lines, 60, b.vocab,
                                            &err), 0);
    free_lines(lines, 60);
    ck_assert_uint_gt(other.n_oov, 0);
    double *lp = malloc(other.n_tokens * sizeof *lp), *lq = malloc(other.n_tokens * sizeof *lq);
    ck_assert_int_eq(nglm_model_score_corpus(&b, &other, lp, 1, &err), 0);
    ck_assert_int_eq(nglm_arpa_score_corpus(a, &other, lq, &err), 0);
    for (size_t t = 0; t < other.n_tokens; t++)
        ck_assert_msg(fabs(lp[t] / M_LN10 - lq[t]) <= 1e-9, "token %zu: nglm %.15g, ARPA %.15g",
                      t, lp[t] / M_LN10, lq[t]);
    const char *mpath = tu_temp_path(".nglm");
    ck_assert_msg(nglm_model_save(&b, mpath, &err) == 0, "%s", err.msg);
    ck_assert_msg(nglm_model_map(&mapped, mpath, 0, &err) == 0, "%s", err.msg);
    ck_assert_ptr_nonnull(mapped.lnz); /* stored normalisers: the back-off path */
    ck_assert_int_eq(nglm_model_score_corpus(&mapped, &other, lq, 1, &err), 0);
    for (size_t t = 0; t < other.n_tokens; t++)
        ck_assert_msg(fabs(lp[t] - lq[t]) <= 1e-12 * (1 + fabs(lp[t])), "token %zu: %.17g, "
                      "mapped %.17g", t, lp[t], lq[t]);
    nglm_model_free(&mapped);
    free(lp);
    free(lq);
    unlink(mpath);
    nglm_model_free(&b);
    nglm_arpa_free(a);
    unlink(path);
    nglm_corpus_free(&other);
    nglm_corpus_free(&c);
    nglm_model_free(&m);
}
END_TEST

/* What has no exact nglm form is refused in one line. */
START_TEST(test_arpa_to_model_refused)
{
    static const char *const cases[][2] = {
        {"\\data\\\nngram 1=3\n\n\\1-grams:\n-1 </s>\n-99 <s>\n-1 a\n\n\\end\\\n", "no <unk>"},
        {"\\data\\\nngram 1=4\nngram 2=1\n\n\\1-grams:\n-1 </s>\n-99 <s> 0\n-1 a -0.1\n-1 <unk>\n\n"
         "\\2-grams:\n-0.5 a a\n\n\\end\\\n", NULL}, /* fine: suffix "a" listed */
        {"\\data\\\nngram 1=4\nngram 2=1\nngram 3=1\n\n\\1-grams:\n-1 </s>\n-99 <s> 0\n-1 a -0.1\n"
         "-1 <unk>\n\n\\2-grams:\n-0.5 a a -0.1\n\n\\3-grams:\n-0.2 a a </s>\n\n\\end\\\n",
         "not closed under suffixes"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nglm_error err;
        nglm_model b;
        nglm_arpa *a = nglm_arpa_load(tu_tempstr(cases[i][0]), &err);
        ck_assert_msg(a != NULL, "%s", err.msg);
        int rc = nglm_arpa_to_model(a, &b, &err);
        if (cases[i][1]) {
            ck_assert_int_eq(rc, -1);
            ck_assert_msg(strstr(err.msg, cases[i][1]) != NULL, "'%s' lacks '%s'", err.msg,
                          cases[i][1]);
            ck_assert_ptr_null(b.vocab);
        } else {
            ck_assert_msg(rc == 0, "%s", err.msg);
            nglm_model_free(&b);
        }
        nglm_arpa_free(a);
    }
}
END_TEST

/* Σ_w P(w | h) = 1 under the back-off rule, for histories of every kind:
 * seen ones, and a shuffled (mostly unseen) one. */
START_TEST(test_export_sums_to_one)
{
    nglm_model m;
    nglm_corpus c;
    nglm_error err;
    make_model(&m, &c, 4, 77, 0, 2.0);
    const char *path = tu_temp_path(".arpa");
    ck_assert_int_eq(nglm_arpa_save(&m, path, &err), 0);
    nglm_arpa *a = nglm_arpa_load(path, &err);
    ck_assert_msg(a != NULL, "%s", err.msg);
    int32_t V = m.feat.V, buf[64];
    for (size_t s = 0; s < 12; s++) {
        size_t len;
        const int32_t *sent = nglm_corpus_sentence(&c, s, &len);
        for (size_t h = 0; h < len && h < 5; h++) {
            for (size_t j = 0; j < h; j++) /* reversed from the second sentence on */
                buf[j] = s % 2 ? sent[h - 1 - j] : sent[j];
            double sum = 0;
            for (int32_t w = 1; w < V; w++) {
                buf[h] = w;
                sum += pow(10.0, nglm_arpa_logprob10(a, buf, h));
            }
            ck_assert_double_eq_tol(sum, 1.0, 1e-6);
        }
    }
    nglm_arpa_free(a);
    unlink(path);
    nglm_corpus_free(&c);
    nglm_model_free(&m);
}
END_TEST

/* .gz output is gzip, reads back to the same probabilities as the plain
 * file, and a truncated copy is refused. */
START_TEST(test_export_gzip)
{
    nglm_model m;
    nglm_corpus c;
    nglm_error err;
    make_model(&m, &c, 3, 5, 0, 1.0);
    const char *gz = tu_temp_path(".arpa.gz");
    ck_assert_int_eq(nglm_arpa_save(&m, gz, &err), 0);
    FILE *fp = fopen(gz, "rb");
    ck_assert_ptr_nonnull(fp);
    static unsigned char bytes[1 << 20];
    size_t n = fread(bytes, 1, sizeof bytes, fp);
    fclose(fp);
    ck_assert_uint_gt(n, 100);
    ck_assert_uint_lt(n, sizeof bytes);
    ck_assert_uint_eq(bytes[0], 0x1f);
    ck_assert_uint_eq(bytes[1], 0x8b);
    ck_assert_int_eq(nglm_arpa_file_is_arpa(gz), 1);
    nglm_arpa *a = nglm_arpa_load(gz, &err);
    ck_assert_msg(a != NULL, "%s", err.msg);
    check_corpus_agrees(&m, a, &c);
    nglm_arpa_free(a);

    /* gzip is told by content, not by name */
    const char *plain_name = tu_tempfile(bytes, n);
    a = nglm_arpa_load(plain_name, &err);
    ck_assert_msg(a != NULL, "%s", err.msg);
    nglm_arpa_free(a);

    const char *cut = tu_tempfile(bytes, n / 2);
    ck_assert_ptr_null(nglm_arpa_load(cut, &err));
    ck_assert_msg(strstr(err.msg, "truncated") != NULL, "%s", err.msg);
    unlink(cut);
    unlink(plain_name);
    unlink(gz);
    nglm_corpus_free(&c);
    nglm_model_free(&m);
}
END_TEST

START_TEST(test_export_refuses_skipgrams)
{
    nglm_model m;
    nglm_corpus c;
    nglm_error err;
    make_model(&m, &c, 3, 8, 1, 1.0);
    ck_assert_uint_gt(m.feat.n_feat, m.feat.n_ngram_feat);
    const char *path = tu_temp_path(".arpa");
    ck_assert_int_eq(nglm_arpa_save(&m, path, &err), -1);
    ck_assert_msg(strstr(err.msg, "skip-gram features with non-zero weights, which ARPA "
                                  "cannot express: train with n-gram features alone") != NULL,
                  "%s", err.msg);
    struct stat st;
    ck_assert_int_ne(stat(path, &st), 0); /* nothing was created */
    FILE *fp = tmpfile();
    ck_assert_int_eq(nglm_arpa_write(&m, fp, &err), -1);
    ck_assert(strstr(err.msg, "skip-gram") != NULL);
    fclose(fp);
    /* with every skip-gram weight 0 the model is an n-gram model: exported,
     * and the ARPA file scores every token as the model does */
    for (size_t f = m.feat.n_ngram_feat; f < m.feat.n_feat; f++)
        m.theta[f] = 0;
    ck_assert_msg(nglm_arpa_save(&m, path, &err) == 0, "%s", err.msg);
    nglm_arpa *a = nglm_arpa_load(path, &err);
    ck_assert_msg(a != NULL, "%s", err.msg);
    double *native = malloc(c.n_tokens * sizeof *native);
    ck_assert_int_eq(nglm_model_score_corpus(&m, &c, native, 1, &err), 0);
    int32_t *ids = tu_map_ids(&c, m.vocab, nglm_arpa_vocab(a));
    for (size_t s = 0; s < c.n_sents; s++)
        for (size_t i = c.start[s]; i < c.start[s + 1]; i++)
            ck_assert(fabs(nglm_arpa_logprob10(a, ids + c.start[s], i - c.start[s]) * M_LN10 -
                           native[i]) < 1e-8);
    free(ids);
    free(native);
    nglm_arpa_free(a);
    unlink(path);
    nglm_corpus_free(&c);
    nglm_model_free(&m);
}
END_TEST

/* An unwritable destination is an error naming it. */
START_TEST(test_export_bad_path)
{
    nglm_model m;
    nglm_corpus c;
    nglm_error err;
    make_model(&m, &c, 2, 8, 0, 1.0);
    ck_assert_int_eq(nglm_arpa_save(&m, "/nonexistent-dir/x.arpa", &err), -1);
    ck_assert(strstr(err.msg, "/nonexistent-dir/x.arpa") != NULL);
    ck_assert_int_eq(nglm_arpa_save(&m, "/nonexistent-dir/x.arpa.gz", &err), -1);
    nglm_corpus_free(&c);
    nglm_model_free(&m);
}
END_TEST

/* ---------------------------------------------------------------- hand-written files */

static const char *hand_arpa =
    "# a comment before the header\n"
    "\n"
    "\\data\\\n"
    "ngram 1=5\n"
    "ngram 2 = 4\n"
    "ngram 3=2\n"
    "\n"
    "\\1-grams:\n"
    "-99\t<s>\t-0.5\n"
    "-0.7\t</s>\n"
    "-0.6\ta\t-0.3\n"
    "-0.8 b -0.2\n"
    "-1.5\t<unk>\n"
    "\n"
    "\\2-grams:\n"
    "-0.4\t<s> a\t-0.1\n"
    "-0.3\ta b\t-0.25\n"
    "-0.5\tb </s>\n"
    "-0.9\ta a\n"
    "\n"
    "\\3-grams:\n"
    "-0.2\t<s> a b\n"
    "-0.35\ta b </s>\n"
    "\n"
    "\\end\\\n";

/* Scores "line" (space separated, </s> appended) into lp[]. */
static size_t score_line(const nglm_arpa *a, const char *line, double *lp)
{
    nglm_corpus c;
    nglm_error err;
    ck_assert_int_eq(nglm_corpus_from_lines(&c, &line, 1, nglm_arpa_vocab(a), &err), 0);
    for (size_t i = 0; i < c.n_tokens; i++)
        lp[i] = nglm_arpa_logprob10(a, c.ids, i);
    size_t n = c.n_tokens;
    nglm_corpus_free(&c);
    return n;
}

START_TEST(test_hand_trigram)
{
    nglm_error err;
    nglm_arpa *a = nglm_arpa_load(tu_tempstr(hand_arpa), &err);
    ck_assert_msg(a != NULL, "%s", err.msg);
    ck_assert_int_eq(nglm_arpa_order(a), 3);
    ck_assert_uint_eq(nglm_arpa_count(a, 2), 4);
    ck_assert_uint_eq(nglm_arpa_count(a, 4), 0);
    ck_assert_int_eq(nglm_arpa_has_unk(a), 1);
    double lp[16];
    /* listed trigrams and bigrams */
    ck_assert_uint_eq(score_line(a, "a b", lp), 3);
    ck_assert_double_eq_tol(lp[0], -0.4, 1e-12);
    ck_assert_double_eq_tol(lp[1], -0.2, 1e-12);
    ck_assert_double_eq_tol(lp[2], -0.35, 1e-12);
    /* backing off: bow(<s>) + P(b); "<s> b" unlisted (bow 0), bow(b) + P(a);
     * "b a" unlisted, bow(a) + P(</s>) */
    ck_assert_uint_eq(score_line(a, "b a", lp), 3);
    ck_assert_double_eq_tol(lp[0], -0.5 - 0.8, 1e-12);
    ck_assert_double_eq_tol(lp[1], -0.2 - 0.6, 1e-12);
    ck_assert_double_eq_tol(lp[2], -0.3 - 0.7, 1e-12);
    /* bow("<s> a") + P(a | a); "a a" has no back-off weight (0) */
    ck_assert_uint_eq(score_line(a, "a a b", lp), 4);
    ck_assert_double_eq_tol(lp[1], -0.1 - 0.9, 1e-12);
    ck_assert_double_eq_tol(lp[2], -0.3, 1e-12);
    ck_assert_double_eq_tol(lp[3], -0.35, 1e-12);
    /* an OOV is <unk>: bow("<s> a") + bow(a) + P(<unk>), then P(</s>) */
    ck_assert_uint_eq(score_line(a, "a zzz", lp), 3);
    ck_assert_double_eq_tol(lp[1], -0.1 - 0.3 - 1.5, 1e-12);
    ck_assert_double_eq_tol(lp[2], -0.7, 1e-12);
    /* a negative id ends the history, no <s> before it: P(a) alone (no
     * bow(<s>)), then "a b" rather than "<s> a b" */
    const nglm_vocab *v = nglm_arpa_vocab(a);
    int32_t cut[3] = {-1, nglm_vocab_id(v, "a"), nglm_vocab_id(v, "b")};
    int len = 0;
    ck_assert_double_eq_tol(nglm_arpa_logprob10_len(a, cut, 1, &len), -0.6, 1e-12);
    ck_assert_int_eq(len, 1);
    ck_assert_double_eq_tol(nglm_arpa_logprob10_len(a, cut, 2, &len), -0.3, 1e-12);
    ck_assert_int_eq(len, 2);

    /* the report */
    const char *lines[] = {"a b", "b a zzz"};
    nglm_corpus c;
    nglm_eval_report r;
    ck_assert_int_eq(nglm_corpus_from_lines(&c, lines, 2, nglm_arpa_vocab(a), &err), 0);
    ck_assert_int_eq(eval_arpa(a, &c, 1, &r, &err), 0);
    ck_assert_uint_eq(r.sentences, 2);
    ck_assert_uint_eq(r.words, 5);
    ck_assert_uint_eq(r.oovs, 1);
    ck_assert_uint_eq(r.zeroprobs, 0);
    double s2 = -1.3 - 0.8 - 1.8 - 0.7; /* zzz: bow(a) + P(<unk>); </s>: P(</s>) */
    ck_assert_double_eq_tol(r.sent_logprob10[0], -0.95, 1e-12);
    ck_assert_double_eq_tol(r.sent_logprob10[1], s2, 1e-12);
    ck_assert_double_eq_tol(r.logprob10, -0.95 + s2, 1e-12);
    ck_assert_double_eq_tol(r.ppl, pow(10, (0.95 - s2) / 7), 1e-9);
    ck_assert_double_eq_tol(r.ppl1, pow(10, (0.95 - s2) / 5), 1e-9);
    nglm_eval_report_free(&r);
    nglm_corpus_free(&c);
    nglm_arpa_free(a);
}
END_TEST

/* Other writers' habits: CRLF line ends, a blank line before \data\
 * (SRILM), explicit zero back-off weights and a log10 probability of 0 for
 * <s> (KenLM), gzip. */
START_TEST(test_hand_variants)
{
    static const char *kenlm =
        "\r\n\\data\\\r\nngram 1=4\r\nngram 2=2\r\n\r\n\\1-grams:\r\n"
        "-1.5\t<unk>\t0\r\n0\t<s>\t-0.5\r\n-0.7\t</s>\t0\r\n-0.6\ta\t-0\r\n\r\n"
        "\\2-grams:\r\n-0.4\t<s> a\r\n-0.2\ta </s>\r\n\r\n\\end\\\r\n";
    nglm_error err;
    const char *path = tu_tempstr(kenlm);
    nglm_arpa *a = nglm_arpa_load(path, &err);
    ck_assert_msg(a != NULL, "%s", err.msg);
    double lp[8];
    ck_assert_uint_eq(score_line(a, "a a", lp), 3);
    ck_assert_double_eq_tol(lp[0], -0.4, 1e-12);
    ck_assert_double_eq_tol(lp[1], -0.6, 1e-12); /* bow(a) = -0 */
    ck_assert_double_eq_tol(lp[2], -0.2, 1e-12);
    nglm_arpa_free(a);

    char cmd[256];
    snprintf(cmd, sizeof cmd, "gzip -c '%s' > '%s.gz'", path, path);
    if (system(cmd) == 0) {
        snprintf(cmd, sizeof cmd, "%s.gz", path);
        a = nglm_arpa_load(cmd, &err);
        ck_assert_msg(a != NULL, "%s", err.msg);
        ck_assert_uint_eq(score_line(a, "a a", lp), 3);
        ck_assert_double_eq_tol(lp[2], -0.2, 1e-12);
        nglm_arpa_free(a);
        unlink(cmd);
    }
    unlink(path);
}
END_TEST

/* Without <unk>, OOVs are skipped and left out of the perplexity (SRILM);
 * a word with probability zero is a zeroprob; a context written only as a
 * prefix of a longer n-gram (as SRILM's pruning leaves them) works. */
START_TEST(test_hand_no_unk)
{
    static const char *text =
        "\\data\\\n"
        "ngram 1=5\n"
        "ngram 2=2\n"
        "ngram 3=1\n"
        "\n"
        "\\1-grams:\n"
        "-99\t<s>\t-0.5\n"
        "-0.7\t</s>\n"
        "-0.6\ta\t-0.3\n"
        "-0.8\tb\t-0.2\n"
        "-inf\tc\n"
        "\n"
        "\\2-grams:\n"
        "-0.4\t<s> a\t-0.1\n"
        "-0.45\ta b\n"
        "\n"
        "\\3-grams:\n"
        "-0.05\tb a b\n"
        "\\end\\\n";
    nglm_error err;
    nglm_arpa *a = nglm_arpa_load(tu_tempstr(text), &err);
    ck_assert_msg(a != NULL, "%s", err.msg);
    ck_assert_int_eq(nglm_arpa_has_unk(a), 0);
    double lp[16];
    /* "b a" is only the prefix of "b a b": back-off weight 1 */
    ck_assert_uint_eq(score_line(a, "b a b", lp), 4);
    ck_assert_double_eq_tol(lp[2], -0.05, 1e-12);
    ck_assert_uint_eq(score_line(a, "c a b", lp), 4);
    ck_assert(isinf(lp[0]) && lp[0] < 0);
    ck_assert_double_eq_tol(lp[2], -0.45, 1e-12);

    const char *lines[] = {"a zzz b", "c"};
    nglm_corpus c;
    nglm_eval_report r;
    ck_assert_int_eq(nglm_corpus_from_lines(&c, lines, 2, nglm_arpa_vocab(a), &err), 0);
    ck_assert_int_eq(eval_arpa(a, &c, 0, &r, &err), 0);
    ck_assert_uint_eq(r.words, 4);
    ck_assert_uint_eq(r.oovs, 1);
    ck_assert_uint_eq(r.zeroprobs, 1);
    /* a: -0.4; zzz skipped; b after "a zzz": P(b) (the history is cut at
     * the OOV) -0.8; </s> after "zzz b": bow(b) + P(</s>); "c" zeroprob;
     * </s> after "<s> c": bow(c) = 0, P(</s>) */
    double total = -0.4 - 0.8 - 0.2 - 0.7 - 0.7;
    ck_assert_double_eq_tol(r.logprob10, total, 1e-12);
    ck_assert_double_eq_tol(r.ppl, pow(10, -total / 4), 1e-9);  /* 6 tokens − OOV − zeroprob */
    ck_assert_double_eq_tol(r.ppl1, pow(10, -total / 2), 1e-9); /* 4 words − OOV − zeroprob */
    nglm_corpus_free(&c);
    nglm_arpa_free(a);
}
END_TEST

/* ---------------------------------------------------------------- malformed files */

static const struct bad_case {
    const char *what, *text, *want;
} bad_cases[] = {
    {"bad header", "hello\n\\data\\\nngram 1=1\n\n\\1-grams:\n-1 a\n\n\\end\\\n",
     ":1: expected \\data\\"},
    {"empty file", "", "empty file"},
    {"no \\data\\ at all", "# only a comment\n\n", ":2: no \\data\\ line"},
    {"bad count line", "\\data\\\nngram 1=x\n", ":2: bad count line"},
    {"counts out of order", "\\data\\\nngram 2=1\n", ":2: expected 'ngram 1='"},
    {"no counts", "\\data\\\n\\1-grams:\n", ":2: no 'ngram K=COUNT'"},
    {"fewer n-grams than declared",
     "\\data\\\nngram 1=3\n\n\\1-grams:\n-1 a\n-1 b\n\n\\end\\\n",
     ":7: 2 1-grams, but the header declares 3"},
    {"more n-grams than declared",
     "\\data\\\nngram 1=1\n\n\\1-grams:\n-1 a\n-1 b\n\n\\end\\\n",
     ":6: more 1-grams than the 1 declared"},
    {"more n-grams after a blank line",
     "\\data\\\nngram 1=1\n\n\\1-grams:\n-1 a\n\n-1 b\n\\end\\\n",
     ":7: more 1-grams than the 1 declared"},
    {"bad number", "\\data\\\nngram 1=2\n\n\\1-grams:\n-1 a\n-1.x b\n\n\\end\\\n",
     ":6: bad log10 probability '-1.x'"},
    {"nan", "\\data\\\nngram 1=1\n\n\\1-grams:\nnan a\n\n\\end\\\n",
     ":5: bad log10 probability 'nan'"},
    {"bad back-off",
     "\\data\\\nngram 1=1\nngram 2=0\n\n\\1-grams:\n-1 a 0.1.2\n\n\\end\\\n",
     ":6: bad back-off weight '0.1.2'"},
    {"back-off at the highest order", "\\data\\\nngram 1=1\n\n\\1-grams:\n-1 a -0.5\n\\end\\\n",
     ":5: a back-off weight on a 1-gram, the highest order"},
    {"n-gram longer than its section",
     "\\data\\\nngram 1=2\nngram 2=1\n\n\\1-grams:\n-1 a\n-1 b\n\n\\2-grams:\n-1 a b a\n\n\\end\\\n",
     ":10: too many words for a 2-gram"},
    {"n-gram longer than declared, as a section",
     "\\data\\\nngram 1=2\nngram 2=1\n\n\\1-grams:\n-1 a\n-1 b\n\n\\2-grams:\n-1 a b\n\n"
     "\\3-grams:\n-1 a b a\n\n\\end\\\n",
     ":12: section \\3-grams: is beyond the declared order 2"},
    {"too few fields", "\\data\\\nngram 1=1\nngram 2=1\n\n\\1-grams:\n-1 a\n\n\\2-grams:\n-1 a\n",
     ":9: a 2-gram line needs a log10 probability and 2 words"},
    {"word not among the 1-grams",
     "\\data\\\nngram 1=1\nngram 2=1\n\n\\1-grams:\n-1 a\n\n\\2-grams:\n-1 a q\n\n\\end\\\n",
     ":9: word 'q' is not among the 1-grams"},
    {"duplicate 1-gram", "\\data\\\nngram 1=2\n\n\\1-grams:\n-1 a\n-2 a\n\n\\end\\\n",
     ":6: duplicate 1-gram 'a' (first on line 5)"},
    {"duplicate 2-gram",
     "\\data\\\nngram 1=1\nngram 2=2\n\n\\1-grams:\n-1 a\n\n\\2-grams:\n-1 a a\n-1 a a\n\\end\\\n",
     ":10: duplicate 2-gram"},
    /* the last step of an n-gram's insert waits for the next line
     * (src/arpa.c, arpa_pending): the first error still wins */
    {"duplicate 2-gram, then a bad line",
     "\\data\\\nngram 1=2\nngram 2=3\n\n\\1-grams:\n-1 a\n-1 b\n\n\\2-grams:\n-1 a a\n-1 a a\n"
     "-1.x a b\n\\end\\\n",
     ":11: duplicate 2-gram"},
    {"duplicate 2-gram, not on adjacent lines",
     "\\data\\\nngram 1=2\nngram 2=3\n\n\\1-grams:\n-1 a\n-1 b\n\n\\2-grams:\n-1 a a\n-1 b a\n"
     "-1 a a\n\n\\end\\\n",
     ":12: duplicate 2-gram"},
    {"duplicate 3-gram as a section's last line, then end of file",
     "\\data\\\nngram 1=1\nngram 2=1\nngram 3=2\n\n\\1-grams:\n-1 a\n\n\\2-grams:\n-1 a a\n\n"
     "\\3-grams:\n-1 a a a\n-1 a a a\n",
     ":14: duplicate 3-gram"},
    {"missing section",
     "\\data\\\nngram 1=1\nngram 2=1\n\n\\1-grams:\n-1 a\n\n\\end\\\n",
     ":8: expected \\2-grams:, found '\\end\\'"},
    {"truncated in a section",
     "\\data\\\nngram 1=3\n\n\\1-grams:\n-1 a\n-1 b\n",
     ":6: unexpected end of file after 2 of 3 1-grams"},
    {"truncated in the header", "\\data\\\nngram 1=3\n", ":2: unexpected end of file in the"},
    {"missing \\end\\", "\\data\\\nngram 1=1\n\n\\1-grams:\n-1 a\n\n",
     ":6: unexpected end of file: missing \\end\\"},
    {"missing \\end\\ without a blank line", "\\data\\\nngram 1=1\n\n\\1-grams:\n-1 a\n",
     ":5: unexpected end of file: missing \\end\\"},
    {"text after \\end\\", "\\data\\\nngram 1=1\n\n\\1-grams:\n-1 a\n\\end\\\n\nmore\n",
     ":8: text after \\end\\"},
    {"order too high", "\\data\\\nngram 1=1\nngram 2=1\nngram 3=1\nngram 4=1\nngram 5=1\n"
     "ngram 6=1\nngram 7=1\nngram 8=1\nngram 9=1\nngram 10=1\nngram 11=1\nngram 12=1\n"
     "ngram 13=1\nngram 14=1\nngram 15=1\nngram 16=1\nngram 17=1\nngram 18=1\nngram 19=1\n"
     "ngram 20=1\nngram 21=1\nngram 22=1\nngram 23=1\nngram 24=1\nngram 25=1\nngram 26=1\n"
     "ngram 27=1\nngram 28=1\nngram 29=1\nngram 30=1\nngram 31=1\nngram 32=1\nngram 33=1\n",
     ":34: order 33 is above the supported 32"},
    {"no 1-grams", "\\data\\\nngram 1=0\n", ":2: 'ngram 1=0'"},
};

START_TEST(test_malformed)
{
    const struct bad_case *b = &bad_cases[_i];
    nglm_error err;
    const char *path = tu_tempstr(b->text);
    ck_assert_msg(nglm_arpa_load(path, &err) == NULL, "%s: accepted", b->what);
    ck_assert_msg(strncmp(err.msg, path, strlen(path)) == 0, "%s: '%s' does not name the file",
                  b->what, err.msg);
    ck_assert_msg(strstr(err.msg, b->want) != NULL, "%s: '%s' lacks '%s'", b->what, err.msg,
                  b->want);
    unlink(path);
}
END_TEST

START_TEST(test_bad_paths)
{
    nglm_error err;
    ck_assert_ptr_null(nglm_arpa_load("/nonexistent/x.arpa", &err));
    ck_assert(strstr(err.msg, "/nonexistent/x.arpa: No such file") != NULL);
    ck_assert_ptr_null(nglm_arpa_load("/tmp", &err));
    ck_assert(strstr(err.msg, "/tmp: is a directory") != NULL);
    ck_assert_int_eq(nglm_arpa_file_is_arpa("/tmp"), 0);
    ck_assert_int_eq(nglm_arpa_file_is_arpa("/nonexistent/x.arpa"), 0);
    ck_assert_int_eq(nglm_arpa_file_is_arpa(tu_tempstr("")), 0);
    ck_assert_int_eq(nglm_arpa_file_is_arpa(tu_tempstr("a b c\n\\data\\\n")), 0);
    ck_assert_int_eq(nglm_arpa_file_is_arpa(tu_tempstr("\n# hi\n\\data\\\nngram 1=1\n")), 1);
    const char bin[] = "x\0y\n";
    ck_assert_ptr_null(nglm_arpa_load(tu_tempfile(bin, 4), &err));
    ck_assert(strstr(err.msg, ":1: NUL byte") != NULL);
}
END_TEST

/* Every log10 the reader parses is strtod's value exactly: the
 * reader's fast path for plain decimals (up to 15 digits) against strtod
 * on numbers of every length, with leading zeros, signs, exponents, "-0",
 * and the forms left to strtod (too many digits, "5.", exponents). */
START_TEST(test_reader_numbers)
{
    enum { N = 400 };
    static char text[N * 64 + 256], num[N][40];
    size_t len = (size_t)snprintf(text, sizeof text, "\\data\\\nngram 1=%d\n\n\\1-grams:\n",
                                  N + 3);
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < N; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        double v = -(double)(x % 100000000000ULL) / 1e6 / (double)(1 + i % 97);
        switch (i % 8) {
        case 0: snprintf(num[i], sizeof num[i], "%.*f", 1 + i % 14, v); break;
        case 1: snprintf(num[i], sizeof num[i], "%.17g", v); break; /* 17 digits: strtod */
        case 2: snprintf(num[i], sizeof num[i], "%.6e", v); break;  /* an exponent */
        case 3: snprintf(num[i], sizeof num[i], "-00%.9f", -v); break;
        case 4: snprintf(num[i], sizeof num[i], "%.0f.", v); break; /* "5." */
        case 5: snprintf(num[i], sizeof num[i], "-0.%015d", i); break; /* 16 digits */
        case 6: snprintf(num[i], sizeof num[i], "%s", i % 16 == 6 ? "-0" : "-0.0"); break;
        default: snprintf(num[i], sizeof num[i], "%.7f", v); break; /* KenLM's */
        }
        len += (size_t)snprintf(text + len, sizeof text - len, "%s\tw%d\n", num[i], i);
    }
    snprintf(text + len, sizeof text - len, "-1\t<unk>\n-1\t</s>\n-99\t<s>\n\n\\end\\\n");
    nglm_error err;
    nglm_arpa *a = nglm_arpa_load(tu_tempstr(text), &err);
    ck_assert_msg(a != NULL, "%s", err.msg);
    const nglm_vocab *v = nglm_arpa_vocab(a);
    for (int i = 0; i < N; i++) {
        char w[16];
        snprintf(w, sizeof w, "w%d", i);
        int32_t sent[2] = {nglm_vocab_find(v, w), NGLM_EOS};
        double got = nglm_arpa_logprob10(a, sent, 0), want = strtod(num[i], NULL);
        if (want < -324) /* 10^want is 0 in a double: a zero probability */
            want = -INFINITY;
        /* ==: the same double (scoring adds the back-off weights, 0 here,
         * which turns -0 into 0) */
        ck_assert_msg(got == want, "'%s': %.17g, strtod %.17g", num[i], got, want);
    }
    nglm_arpa_free(a);
}
END_TEST

static Suite *arpa_suite(void)
{
    Suite *s = suite_create("arpa");
    TCase *tc = tcase_create("export");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_export_matches_native, 0, 12);
    tcase_add_loop_test(tc, test_arpa_to_model, 0, 10);
    tcase_add_test(tc, test_arpa_to_model_refused);
    tcase_add_test(tc, test_export_sums_to_one);
    tcase_add_test(tc, test_export_gzip);
    tcase_add_test(tc, test_export_refuses_skipgrams);
    tcase_add_test(tc, test_export_bad_path);
    suite_add_tcase(s, tc);
    tc = tcase_create("read");
    tcase_add_test(tc, test_hand_trigram);
    tcase_add_test(tc, test_hand_no_unk);
    tcase_add_test(tc, test_hand_variants);
    tcase_add_test(tc, test_reader_numbers);
    tcase_add_loop_test(tc, test_malformed, 0, (int)(sizeof bad_cases / sizeof bad_cases[0]));
    tcase_add_test(tc, test_bad_paths);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(arpa_suite()); }
