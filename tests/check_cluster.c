/*
 * check_cluster.c — the exchange clustering (src/cluster.c) against a slow
 * reference, the class bigram log-likelihood computed token by token from
 * its definition Σ ln P(c_i | c_{i-1}) P(w_i | c_i): the fast gain of a
 * move equals the change of the reference, on random small texts; the
 * clustering's final perplexity is the reference's; the classes are the
 * same for 1, 2, 3 and 4 threads; and the class files round-trip and
 * reject bad input with one clear message.
 */
#include <math.h>

#include "cluster_impl.h"
#include "nglm/cluster.h"
#include "testutil.h"

static uint64_t rng_state;
static uint32_t rnd(uint32_t n)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)((rng_state >> 33) % n);
}

/* A random text of n_sents sentences over words "w0".."w{K-1}" (a
 * Zipf-like choice: low numbers are frequent), with its vocabulary. */
static nglm_vocab *random_text(nglm_corpus *c, int K, int n_sents, uint64_t seed)
{
    rng_state = seed;
    char **lines = malloc((size_t)n_sents * sizeof *lines);
    nglm_vocab *v = nglm_vocab_new();
    for (int s = 0; s < n_sents; s++) {
        int len = 1 + (int)rnd(8);
        lines[s] = malloc((size_t)len * 12 + 1);
        lines[s][0] = '\0';
        for (int i = 0; i < len; i++) {
            int k = (int)rnd((uint32_t)K);
            k = (int)rnd((uint32_t)k + 1); /* skew towards 0 */
            char wd[16];
            snprintf(wd, sizeof wd, "%sw%d", i ? " " : "", k);
            strcat(lines[s], wd);
            ck_assert_int_eq(nglm_vocab_add(v, wd + (i ? 1 : 0), 1, NULL), 0);
        }
        if (rnd(10) == 0) { /* a few <unk>, an ordinary word here */
            strcat(lines[s], " <unk>");
            ck_assert_int_eq(nglm_vocab_add(v, "<unk>", 1, NULL), 0);
        }
    }
    ck_assert_int_eq(nglm_vocab_finalize(v, 1, 0, NULL), 0);
    nglm_error err;
    ck_assert_int_eq(nglm_corpus_from_lines(c, (const char *const *)lines, (size_t)n_sents,
                                            v, &err), 0);
    for (int s = 0; s < n_sents; s++)
        free(lines[s]);
    free(lines);
    return v;
}

/* The reference: Σ_i ln [N(c_{i-1}, c_i) / N(c_{i-1}) · N(w_i) / N(c_i)],
 * the boundary being </s>'s class before each sentence's first word. */
static double ref_loglik(const nglm_corpus *c, int32_t V, int C, const int32_t *cls)
{
    double *Nw = calloc((size_t)V, sizeof *Nw);
    double *Nc = calloc((size_t)C, sizeof *Nc), *Nl = calloc((size_t)C, sizeof *Nl);
    double *Nb = calloc((size_t)C * C, sizeof *Nb);
    for (size_t s = 0; s < c->n_sents; s++) {
        int32_t prev = NGLM_EOS;
        for (size_t i = c->start[s]; i < c->start[s + 1]; i++) {
            int32_t w = c->ids[i];
            Nw[w]++;
            Nc[cls[w]]++;
            Nl[cls[prev]]++;
            Nb[(size_t)cls[prev] * C + cls[w]]++;
            prev = w;
        }
    }
    double ll = 0;
    for (size_t s = 0; s < c->n_sents; s++) {
        int32_t prev = NGLM_EOS;
        for (size_t i = c->start[s]; i < c->start[s + 1]; i++) {
            int32_t w = c->ids[i], a = cls[prev], b = cls[w];
            ll += log(Nb[(size_t)a * C + b] / Nl[a]) + log(Nw[w] / Nc[b]);
            prev = w;
        }
    }
    free(Nw), free(Nc), free(Nl), free(Nb);
    return ll;
}

static void random_classes(int32_t V, int C, int32_t *cls, int allow_zero)
{
    cls[NGLM_BOS] = cls[NGLM_EOS] = 0;
    for (int32_t w = NGLM_UNK; w < V; w++)
        cls[w] = allow_zero ? (int32_t)rnd((uint32_t)C) : 1 + (int32_t)rnd((uint32_t)C - 1);
}

static void assert_close(double a, double b)
{
    double tol = 1e-7 * (1 + fabs(a) + fabs(b));
    if (fabs(a - b) > tol)
        ck_abort_msg("%.12g and %.12g differ by %.3g", a, b, a - b);
}

/* Every move's fast gain (both ways of computing it) is the reference's
 * change, and the state's likelihood follows the moves. */
START_TEST(test_delta_matches_reference)
{
    nglm_corpus c;
    int K = 5 + _i * 7;
    nglm_vocab *v = random_text(&c, K, 20 + 15 * _i, 100 + (uint64_t)_i);
    int32_t V = (int32_t)nglm_vocab_size(v);
    int C = 2 + (int)rnd((uint32_t)(V - 2));
    int32_t *cls = malloc((size_t)V * sizeof *cls);
    random_classes(V, C, cls, _i % 2);
    nglm_error err;
    nglm_cluster_state *s = nglm_cluster_state_new(&c, V, C, cls, 1, &err);
    ck_assert_ptr_nonnull(s);
    if (_i % 4 == 3) /* counts beyond f's table: the checked path */
        nglm_cluster_state_limit_table(s, 3);
    double ll = ref_loglik(&c, V, C, cls), got;
    assert_close(nglm_cluster_state_loglik(s), ll);
    ck_assert_int_eq(nglm_cluster_loglik(&c, V, C, cls, &got, NULL, &err), 0);
    assert_close(got, ll);
    for (int t = 0; t < 60; t++) {
        int32_t w = NGLM_UNK + (int32_t)rnd((uint32_t)(V - NGLM_UNK));
        int32_t b = (int32_t)rnd((uint32_t)C);
        int32_t a = cls[w];
        cls[w] = b;
        double after = ref_loglik(&c, V, C, cls);
        cls[w] = a;
        assert_close(nglm_cluster_state_delta(s, w, b), after - ll);
        assert_close(nglm_cluster_state_frozen_delta(s, w, b), after - ll);
        if (t % 6 == 0) { /* the passes' gains, every class at once */
            double *g = malloc((size_t)C * sizeof *g);
            nglm_cluster_state_gains(s, w, g);
            for (int32_t k = 0; k < C; k++) {
                cls[w] = k;
                assert_close(g[k], ref_loglik(&c, V, C, cls) - ll);
            }
            cls[w] = a;
            free(g);
        }
        if (rnd(2)) {
            nglm_cluster_state_move(s, w, b);
            cls[w] = b;
            ll = after;
            assert_close(nglm_cluster_state_loglik(s), ll);
        }
    }
    ck_assert_mem_eq(nglm_cluster_state_classes(s) + 1, cls + 1, (size_t)(V - 1) * sizeof *cls);
    nglm_cluster_state_free(s);
    free(cls);
    nglm_corpus_free(&c);
    nglm_vocab_free(v);
}
END_TEST

typedef struct trace {
    int passes;
    double ppl[64];
} trace;

static void on_pass(int pass, size_t moved, double ppl, void *user)
{
    (void)moved;
    trace *t = user;
    ck_assert_int_eq(pass, t->passes + 1);
    t->ppl[t->passes++] = ppl;
}

/* The clustering: each pass lowers the perplexity, the final one is the
 * reference's, and the classes are 1..C−1 with </s> alone in 0. */
START_TEST(test_exchange_matches_reference)
{
    nglm_corpus c;
    nglm_vocab *v = random_text(&c, 60, 400, 7 + (uint64_t)_i);
    int32_t V = (int32_t)nglm_vocab_size(v);
    int C = 2 + _i * 3;
    int32_t *cls = malloc((size_t)V * sizeof *cls);
    nglm_cluster_options o = nglm_cluster_options_default();
    trace t = {0, {0}};
    o.on_pass = on_pass;
    o.user = &t;
    o.min_gain = 0; /* to the end: the check of convergence below */
    nglm_cluster_stats st;
    nglm_error err;
    ck_assert_int_eq(nglm_cluster_exchange(&c, V, C, &o, cls, &st, &err), 0);
    ck_assert_int_eq(t.passes, st.passes);
    for (int p = 1; p < t.passes; p++)
        ck_assert_double_le(t.ppl[p], t.ppl[p - 1] * (1 + 1e-12));
    double ll = ref_loglik(&c, V, C, cls);
    assert_close(st.perplexity, exp(-ll / (double)c.n_tokens));
    ck_assert_int_eq(cls[NGLM_EOS], 0);
    ck_assert_int_eq(cls[NGLM_BOS], 0);
    for (int32_t w = NGLM_UNK; w < V; w++) {
        ck_assert_int_ge(cls[w], 1);
        ck_assert_int_lt(cls[w], C);
    }
    /* no single move gains any more once a pass moved nothing */
    if (st.moved == 0) {
        nglm_cluster_state *s = nglm_cluster_state_new(&c, V, C, cls, 1, &err);
        for (int32_t w = NGLM_UNK; w < V; w++)
            for (int32_t b = 1; b < C; b++)
                ck_assert_double_le(nglm_cluster_state_delta(s, w, b), 1e-6);
        nglm_cluster_state_free(s);
    }
    free(cls);
    nglm_corpus_free(&c);
    nglm_vocab_free(v);
}
END_TEST

/* The same classes for 1, 2, 3 and 4 threads, with blocks of every size. */
START_TEST(test_threads_deterministic)
{
    nglm_corpus c;
    nglm_vocab *v = random_text(&c, 400, 3000, 99);
    int32_t V = (int32_t)nglm_vocab_size(v);
    int32_t *first = malloc((size_t)V * sizeof *first), *cls = malloc((size_t)V * sizeof *cls);
    nglm_error err;
    for (int threads = 1; threads <= 4; threads++) {
        nglm_cluster_options o = nglm_cluster_options_default();
        o.threads = threads;
        ck_assert_int_eq(nglm_cluster_exchange(&c, V, 20, &o, threads == 1 ? first : cls,
                                               NULL, &err), 0);
        if (threads > 1)
            ck_assert_mem_eq(cls, first, (size_t)V * sizeof *cls);
    }
    /* and pass by pass with small blocks, from a random start */
    random_classes(V, 20, first, 0);
    int32_t *ref = NULL;
    for (int threads = 1; threads <= 4; threads++) {
        nglm_cluster_state *s = nglm_cluster_state_new(&c, V, 20, first, threads, &err);
        ck_assert_ptr_nonnull(s);
        nglm_cluster_state_set_block(s, 7);
        for (int p = 0; p < 3; p++)
            nglm_cluster_state_pass(s);
        if (!ref) {
            ref = malloc((size_t)V * sizeof *ref);
            memcpy(ref, nglm_cluster_state_classes(s), (size_t)V * sizeof *ref);
        } else {
            ck_assert_mem_eq(nglm_cluster_state_classes(s), ref, (size_t)V * sizeof *ref);
        }
        nglm_cluster_state_free(s);
    }
    free(ref), free(first), free(cls);
    nglm_corpus_free(&c);
    nglm_vocab_free(v);
}
END_TEST

START_TEST(test_bad_sizes)
{
    nglm_corpus c;
    nglm_vocab *v = random_text(&c, 5, 10, 3);
    int32_t V = (int32_t)nglm_vocab_size(v);
    int32_t cls[64];
    nglm_error err;
    ck_assert_int_eq(nglm_cluster_exchange(&c, V, 0, NULL, cls, NULL, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "at least 2"));
    ck_assert_int_eq(nglm_cluster_exchange(&c, V, 1, NULL, cls, NULL, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "at least 2"));
    ck_assert_int_eq(nglm_cluster_exchange(&c, V, V, NULL, cls, NULL, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "at most"));
    /* as many classes as words, plus </s>'s: each word alone */
    ck_assert_int_eq(nglm_cluster_exchange(&c, V, V - 1, NULL, cls, NULL, &err), 0);
    nglm_corpus empty;
    memset(&empty, 0, sizeof empty);
    ck_assert_int_eq(nglm_cluster_exchange(&empty, V, 2, NULL, cls, NULL, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "no sentences"));
    nglm_corpus_free(&c);
    nglm_vocab_free(v);
}
END_TEST

/* ---------------------------------------------------------------- class files */

static nglm_vocab *small_vocab(void)
{
    const char *words[] = {"<s>", "</s>", "<unk>", "the", "a", "cat", "dog"};
    return nglm_vocab_from_list(words, NULL, 7, NULL);
}

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "r");
    ck_assert_ptr_nonnull(fp);
    static char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

START_TEST(test_files_round_trip)
{
    nglm_vocab *v = small_vocab();
    int32_t cls[7] = {0, 0, 3, 1, 1, 2, 2}, got[7];
    int n;
    nglm_error err;
    const char *p = tu_temp_path(".classes");
    ck_assert_int_eq(nglm_classes_write(p, v, cls, NGLM_CLASSES_TAB, &err), 0);
    ck_assert_str_eq(slurp(p), "</s>\t0\n<unk>\t3\nthe\t1\na\t1\ncat\t2\ndog\t2\n");
    ck_assert_int_eq(nglm_classes_read(p, v, NGLM_CLASSES_AUTO, 0, got, &n, &err), 0);
    ck_assert_int_eq(n, 4);
    ck_assert_mem_eq(got, cls, sizeof cls);
    /* mkcls: 1-based, no </s>; read back, </s> gets a class of its own */
    ck_assert_int_eq(nglm_classes_write(p, v, cls, NGLM_CLASSES_MKCLS, &err), 0);
    ck_assert_str_eq(slurp(p), "<unk>\t4\nthe\t2\na\t2\ncat\t3\ndog\t3\n");
    ck_assert_int_eq(nglm_classes_read(p, v, NGLM_CLASSES_MKCLS, 0, got, &n, &err), 0);
    ck_assert_int_eq(n, 6);
    ck_assert_int_eq(got[NGLM_EOS], 5);
    ck_assert_int_eq(got[NGLM_BOS], 5);
    ck_assert_int_eq(got[3], 2);
    /* names, numbered by first appearance; <unk> missing gets its own */
    p = tu_tempstr("the\tDET\ncat\tN\r\n\na\tDET\ndog\tN\n</s>\tEND\n<s>\tEND\n");
    ck_assert_int_eq(nglm_classes_read(p, v, NGLM_CLASSES_AUTO, 0, got, &n, &err), 0);
    ck_assert_int_eq(n, 4);
    int32_t want[7] = {2, 2, 3, 0, 0, 1, 1};
    ck_assert_mem_eq(got, want, sizeof want);
    /* Brown clustering's paths */
    p = tu_tempstr("0\tthe\t10\n0\ta\t5\n10\tcat\t3\n11\tdog\t2\n11\t<unk>\t1\n");
    ck_assert_int_eq(nglm_classes_read(p, v, NGLM_CLASSES_AUTO, 0, got, &n, &err), 0);
    ck_assert_int_eq(n, 4);
    int32_t want2[7] = {3, 3, 2, 0, 0, 1, 2};
    ck_assert_mem_eq(got, want2, sizeof want2);
    nglm_vocab_free(v);
}
END_TEST

static void read_fails(const nglm_vocab *v, const char *text, nglm_classes_format f,
                       const char *why)
{
    int32_t got[7];
    int n;
    nglm_error err;
    const char *p = tu_tempstr(text);
    ck_assert_int_eq(nglm_classes_read(p, v, f, 0, got, &n, &err), -1);
    if (!strstr(err.msg, why))
        ck_abort_msg("'%s' does not say '%s'", err.msg, why);
    ck_assert_ptr_null(strchr(err.msg, '\n'));
}

START_TEST(test_files_bad)
{
    nglm_vocab *v = small_vocab();
    const char *all = "the\t1\na\t1\ncat\t2\n";
    read_fails(v, all, NGLM_CLASSES_AUTO, "1 word of the vocabulary is not listed, the "
               "first 'dog'");
    read_fails(v, "the\t1\nhorse\t1\n", NGLM_CLASSES_AUTO, ":2: 'horse' is not in the "
               "vocabulary");
    read_fails(v, "the\t1\nthe\t2\n", NGLM_CLASSES_AUTO, ":2: 'the' is listed twice");
    read_fails(v, "the\t1\na\tNOUN\n", NGLM_CLASSES_AUTO, ":2: class 'NOUN' is not an "
               "integer");
    read_fails(v, "the\t1\na\t-3\n", NGLM_CLASSES_AUTO, ":2: class '-3' is not an integer");
    read_fails(v, "the\t1\na\t99999999999\n", NGLM_CLASSES_AUTO, ":2: class '99999999999' is not");
    read_fails(v, "the\t1\nca\xfft\t1\n", NGLM_CLASSES_AUTO, ":2: invalid UTF-8");
    read_fails(v, "the 1\n", NGLM_CLASSES_AUTO, ":1: expected 'word<TAB>class'");
    read_fails(v, "the\t\n", NGLM_CLASSES_AUTO, ":1: empty class");
    read_fails(v, "01\tthe\t3\nx2\ta\t1\n", NGLM_CLASSES_AUTO, ":2: 'x2' is not a bit string");
    read_fails(v, "the\t1\n", NGLM_CLASSES_PATHS, ":1: expected 'bitstring");
    int32_t got[7];
    int n;
    nglm_error err;
    ck_assert_int_eq(nglm_classes_read("/nonexistent/x", v, 0, 0, got, &n, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent/x"));
    /* unknown words passed over when asked */
    const char *p = tu_tempstr("the\t1\nhorse\t1\na\t1\ncat\t2\ndog\t0\n");
    ck_assert_int_eq(nglm_classes_read(p, v, NGLM_CLASSES_AUTO, 1, got, &n, &err), 0);
    ck_assert_int_eq(n, 5); /* 0..2, then </s> 3 and <unk> 4 */
    ck_assert_int_eq(got[NGLM_EOS], 3);
    ck_assert_int_eq(got[NGLM_UNK], 4);
    nglm_vocab_free(v);
}
END_TEST

static Suite *cluster_suite(void)
{
    Suite *s = suite_create("cluster");
    TCase *tc = tcase_create("cluster");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_delta_matches_reference, 0, 8);
    tcase_add_loop_test(tc, test_exchange_matches_reference, 0, 6);
    tcase_add_test(tc, test_threads_deterministic);
    tcase_add_test(tc, test_bad_sizes);
    tcase_add_test(tc, test_files_round_trip);
    tcase_add_test(tc, test_files_bad);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(cluster_suite()); }
