/*
 * check_cache.c — the cache of nglm/cache.h: its probabilities against a
 * slow reference written from the definitions (windowed and decayed counts
 * recomputed from the whole history at every token, a blank line emptying
 * them), the mixed distribution summing to one over the vocabulary at every
 * position of a text, EM reaching the best weights, and the parser.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "nglm/cache.h"
#include "nglm/corpus.h"
#include "nglm/features.h"
#include "nglm/model.h"
#include "nglm/sample.h"
#include "nglm/vocab.h"
#include "testutil.h"

/* A small vocabulary and text with repeats, a blank line (an empty
 * sentence) in the middle, read as evaluation texts are. */
static const char *const lines[] = {"a b c a", "b b d", "", "c a b a e", "e e a", "d", "a b"};
enum { N_LINES = sizeof lines / sizeof *lines };

static nglm_vocab *make_vocab(void)
{
    nglm_error err;
    nglm_vocab *v = nglm_vocab_new();
    const char *w[] = {"a", "b", "c", "d", "e"};
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(nglm_vocab_add(v, w[i], (uint64_t)(5 - i), &err), 0);
    ck_assert_int_eq(nglm_vocab_finalize(v, 1, 0, &err), 0);
    return v;
}

/* The text as ids, a blank line kept as an empty sentence. */
static void make_text(nglm_corpus *c, const nglm_vocab *v)
{
    nglm_error err;
    const char *path = tu_tempstr("a b c a\nb b d\n\nc a b a e\ne e a\nd\na b\n");
    nglm_tok_options o = nglm_tok_options_default();
    o.keep_blank = 1;
    ck_assert_msg(nglm_corpus_read(c, path, &o, v, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(c->n_sents, N_LINES);
}

/* The reference: C1 and C2 of token t from the definitions, the history
 * being the tokens since the last empty sentence. */
static void reference(const nglm_cache_spec *s, const nglm_corpus *c, size_t t, double *c1,
                      double *c2)
{
    size_t from = 0, sent = 0;
    for (size_t k = 0; k < c->n_sents; k++)
        if (c->start[k] <= t && t < c->start[k + 1])
            sent = k;
    for (size_t k = 1; k <= sent; k++)
        if (c->start[k + 1] - c->start[k] == 1)
            from = c->start[k + 1]; /* after the blank line */
    int32_t w = c->ids[t];
    /* the words before t (not </s>), newest last */
    int32_t hist[256];
    size_t n = 0;
    for (size_t u = from; u < t; u++)
        if (c->ids[u] != NGLM_EOS)
            hist[n++] = c->ids[u];
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        size_t age = n - 1 - i;
        double wt = s->kind == NGLM_CACHE_WINDOW ? (age < (size_t)s->length ? 1.0 : 0.0)
                                                 : exp(-(double)age / s->length);
        den += wt;
        num += hist[i] == w ? wt : 0;
    }
    *c1 = den > 0 ? (w == NGLM_EOS ? 0.0 : num / den) : NAN;
    /* bigram: pairs (x, y) of consecutive tokens of one sentence before t,
     * y a word, weighted by the age of y among the words */
    *c2 = NAN;
    if (s->bigram_length <= 0 || t == c->start[sent])
        return;
    int32_t v = c->ids[t - 1];
    num = den = 0;
    size_t word_index = 0;
    for (size_t u = from; u < t; u++) {
        if (c->ids[u] == NGLM_EOS)
            continue;
        int starts = 0;
        for (size_t k = 0; k < c->n_sents; k++)
            starts |= c->start[k] == u;
        if (!starts && c->ids[u - 1] == v) {
            double wt = exp(-(double)(n - 1 - word_index) / s->bigram_length);
            den += wt;
            num += c->ids[u] == w ? wt : 0;
        }
        word_index++;
    }
    if (den > 0)
        *c2 = w == NGLM_EOS ? 0.0 : num / den;
}

static void check_against_reference(const char *spec_text)
{
    nglm_vocab *v = make_vocab();
    nglm_corpus c;
    make_text(&c, v);
    nglm_cache_spec s;
    nglm_error err;
    ck_assert_msg(nglm_cache_parse(spec_text, &s, &err) == 0, "%s", err.msg);
    double c1[64], c2[64];
    ck_assert_uint_le(c.n_tokens, 64);
    ck_assert_msg(nglm_cache_probs(&s, &c, (int32_t)nglm_vocab_size(v), c1, c2, &err) == 0,
                  "%s", err.msg);
    for (size_t t = 0; t < c.n_tokens; t++) {
        double r1, r2;
        reference(&s, &c, t, &r1, &r2);
        ck_assert_msg(isnan(r1) ? isnan(c1[t]) : fabs(c1[t] - r1) < 1e-12,
                      "%s, token %zu: C1 %g, the reference %g", spec_text, t, c1[t], r1);
        if (s.bigram_length > 0)
            ck_assert_msg(isnan(r2) ? isnan(c2[t]) : fabs(c2[t] - r2) < 1e-12,
                          "%s, token %zu: C2 %g, the reference %g", spec_text, t, c2[t], r2);
    }
    nglm_corpus_free(&c);
    nglm_vocab_free(v);
}

/* Sentence by sentence through a state: the numbers of the whole text, and
 * after a reset those of the text read afresh. */
static void check_state(const char *spec_text)
{
    nglm_vocab *v = make_vocab();
    nglm_corpus c;
    make_text(&c, v);
    nglm_cache_spec s;
    nglm_error err;
    ck_assert_msg(nglm_cache_parse(spec_text, &s, &err) == 0, "%s", err.msg);
    int32_t V = (int32_t)nglm_vocab_size(v);
    double c1[64], c2[64], d1[64], d2[64];
    ck_assert_int_eq(nglm_cache_probs(&s, &c, V, c1, c2, &err), 0);
    nglm_cache_state *st = nglm_cache_state_new(&s, V, &err);
    ck_assert_ptr_nonnull(st);
    for (int round = 0; round < 2; round++) {
        for (size_t k = 0; k < c.n_sents; k++) {
            size_t len, t0 = c.start[k];
            const int32_t *sent = nglm_corpus_sentence(&c, k, &len);
            ck_assert_int_eq(nglm_cache_state_sentence(st, sent, len, d1 + t0,
                                                       s.bigram_length > 0 ? d2 + t0 : NULL,
                                                       &err), 0);
        }
        for (size_t t = 0; t < c.n_tokens; t++) {
            ck_assert(isnan(c1[t]) ? isnan(d1[t]) : c1[t] == d1[t]);
            if (s.bigram_length > 0)
                ck_assert(isnan(c2[t]) ? isnan(d2[t]) : c2[t] == d2[t]);
        }
        ck_assert_int_eq(nglm_cache_state_reset(st, &err), 0);
    }
    int32_t bad[2] = {V, NGLM_EOS};
    ck_assert_int_eq(nglm_cache_state_sentence(st, bad, 2, d1, NULL, &err), -1);
    ck_assert(strstr(err.msg, "not below") != NULL);
    nglm_cache_state_free(st);
    s.length = 0;
    ck_assert_ptr_null(nglm_cache_state_new(&s, V, &err));
    nglm_corpus_free(&c);
    nglm_vocab_free(v);
}

START_TEST(test_state_decay) { check_state("decay:3,bigram:2"); }
END_TEST
START_TEST(test_state_window) { check_state("window:4"); }
END_TEST

START_TEST(test_reference_decay) { check_against_reference("decay:3,bigram:2"); }
END_TEST

START_TEST(test_reference_window) { check_against_reference("window:4,bigram:5"); }
END_TEST

START_TEST(test_reference_long) { check_against_reference("decay:1e6"); }
END_TEST

/* Σ_w P(w | h) = 1 at every position: each word put at position t in turn,
 * the model's dense distribution there mixed with the caches'. */
START_TEST(test_sums_to_one)
{
    nglm_vocab *v = make_vocab();
    nglm_corpus c;
    make_text(&c, v);
    nglm_error err;
    nglm_model m;
    memset(&m, 0, sizeof m);
    m.vocab = v;
    m.tok = nglm_tok_options_default();
    int32_t V = (int32_t)nglm_vocab_size(v);
    ck_assert_int_eq(nglm_features_build(&m.feat, &c, V, 3, NULL, 1, &err), 0);
    m.theta = calloc(m.feat.n_feat, sizeof *m.theta);
    nglm_rng r;
    nglm_rng_seed(&r, 5);
    for (size_t f = 0; f < m.feat.n_feat; f++)
        m.theta[f] = 2 * nglm_rng_uniform(&r) - 1;
    nglm_cache_spec s;
    ck_assert_int_eq(nglm_cache_parse("decay:2,bigram:3", &s, &err), 0);
    s.lambda = 0.3;
    s.bigram_lambda = 0.2;
    double *p = malloc((size_t)V * sizeof *p), c1[64], c2[64], lp[64], mixed[64];
    int32_t keep[64];
    memcpy(keep, c.ids, c.n_tokens * sizeof *keep);
    for (size_t s_i = 0; s_i < c.n_sents; s_i++)
        for (size_t t = c.start[s_i]; t < c.start[s_i + 1]; t++) {
            nglm_model_dist_dense(&m, c.ids + c.start[s_i], t - c.start[s_i], p);
            double sum = 0;
            for (int32_t w = 1; w < V; w++) { /* every word but <s> */
                c.ids[t] = w;
                ck_assert_int_eq(nglm_cache_probs(&s, &c, V, c1, c2, &err), 0);
                lp[t] = log10(p[w]);
                nglm_cache_mix(&s, lp + t, c1 + t, c2 + t, 1, mixed + t);
                sum += pow(10.0, mixed[t]);
            }
            ck_assert_msg(fabs(sum - 1) < 1e-12, "token %zu: Σ P = %.15g", t, sum);
            memcpy(c.ids, keep, c.n_tokens * sizeof *keep);
        }
    free(p);
    nglm_model_free(&m); /* frees v */
    nglm_corpus_free(&c);
}
END_TEST

/* EM's weights beat every neighbour on a grid (the likelihood is concave). */
START_TEST(test_em_maximises)
{
    nglm_vocab *v = make_vocab();
    nglm_corpus c;
    make_text(&c, v);
    nglm_error err;
    int32_t V = (int32_t)nglm_vocab_size(v);
    nglm_cache_spec s;
    ck_assert_int_eq(nglm_cache_parse("window:3,bigram:4", &s, &err), 0);
    double c1[64], c2[64], lp[64], mixed[64];
    ck_assert_int_eq(nglm_cache_probs(&s, &c, V, c1, c2, &err), 0);
    for (size_t t = 0; t < c.n_tokens; t++) /* a flat model: 1/(V-1) each */
        lp[t] = -log10((double)(V - 1));
    int it;
    ck_assert_int_eq(nglm_cache_em(&s, lp, c1, c2, c.n_tokens, 1e-12, 100000, &it, &err), 0);
    ck_assert_int_gt(it, 0);
    double best = 0;
    nglm_cache_mix(&s, lp, c1, c2, c.n_tokens, mixed);
    for (size_t t = 0; t < c.n_tokens; t++)
        best += mixed[t];
    for (int d1 = -1; d1 <= 1; d1++)
        for (int d2 = -1; d2 <= 1; d2++) {
            nglm_cache_spec q = s;
            q.lambda = s.lambda + 0.01 * d1;
            q.bigram_lambda = s.bigram_lambda + 0.01 * d2;
            if (q.lambda < 0 || q.bigram_lambda < 0 || q.lambda + q.bigram_lambda > 1)
                continue;
            double ll = 0;
            nglm_cache_mix(&q, lp, c1, c2, c.n_tokens, mixed);
            for (size_t t = 0; t < c.n_tokens; t++)
                ll += mixed[t];
            ck_assert_msg(ll <= best + 1e-9, "weights %g, %g beat EM's %g, %g", q.lambda,
                          q.bigram_lambda, s.lambda, s.bigram_lambda);
        }
    /* a model that skipped every token leaves nothing to choose on */
    for (size_t t = 0; t < c.n_tokens; t++)
        lp[t] = NAN;
    ck_assert_int_eq(nglm_cache_em(&s, lp, c1, c2, c.n_tokens, 1e-9, 100, &it, &err), -1);
    nglm_corpus_free(&c);
    nglm_vocab_free(v);
}
END_TEST

/* A sentence of the reset word alone empties the caches as a blank line
 * does: after "d" (the boundary here), the tokens' probabilities are those
 * of the same text cut there. */
START_TEST(test_reset_word)
{
    nglm_vocab *v = make_vocab();
    nglm_corpus c;
    make_text(&c, v);
    nglm_error err;
    int32_t V = (int32_t)nglm_vocab_size(v), d = nglm_vocab_find(v, "d");
    nglm_cache_spec s;
    ck_assert_int_eq(nglm_cache_parse("decay:3,bigram:2", &s, &err), 0);
    double c1[64], c2[64], r1[64], r2[64];
    s.reset_word = d;
    ck_assert_int_eq(nglm_cache_probs(&s, &c, V, c1, c2, &err), 0);
    /* line 6 is "d" alone: sentence 5, a boundary and not a cache word:
     * the sentence after it sees an empty cache */
    size_t after = c.start[6];
    ck_assert_int_eq(c.ids[c.start[5]], d);
    ck_assert(isnan(c1[after]) && isnan(c2[after]));
    /* the same as reading the text from line 7 on */
    nglm_corpus tail = c;
    tail.ids = c.ids + after;
    tail.n_sents = c.n_sents - 6;
    size_t *st = malloc((tail.n_sents + 1) * sizeof *st);
    for (size_t k = 0; k <= tail.n_sents; k++)
        st[k] = c.start[6 + k] - after;
    tail.start = st;
    tail.n_tokens = c.n_tokens - after;
    s.reset_word = 0;
    ck_assert_int_eq(nglm_cache_probs(&s, &tail, V, r1, r2, &err), 0);
    for (size_t t = 0; t < tail.n_tokens; t++) {
        ck_assert(isnan(r1[t]) ? isnan(c1[after + t]) : r1[t] == c1[after + t]);
        ck_assert(isnan(r2[t]) ? isnan(c2[after + t]) : r2[t] == c2[after + t]);
    }
    /* without the reset word, the cache carries on */
    ck_assert_int_eq(nglm_cache_probs(&s, &c, V, c1, c2, &err), 0);
    ck_assert(!isnan(c1[after]));
    free(st);
    nglm_corpus_free(&c);
    nglm_vocab_free(v);
}
END_TEST

START_TEST(test_parse)
{
    nglm_cache_spec s;
    nglm_error err;
    char name[64];
    ck_assert_int_eq(nglm_cache_parse("decay:100", &s, &err), 0);
    ck_assert_int_eq(s.kind, NGLM_CACHE_DECAY);
    ck_assert_str_eq(nglm_cache_name(&s, name, sizeof name), "decay:100");
    ck_assert_int_eq(nglm_cache_parse("window:200,bigram:50", &s, &err), 0);
    ck_assert_str_eq(nglm_cache_name(&s, name, sizeof name), "window:200,bigram:50");
    const char *bad[] = {"", "decay", "decay:0", "decay:-3", "window:2.5", "lru:10",
                         "decay:10,", "decay:10,bigram:0", "decay:10,trigram:5", "decay:nan",
                         "window:1e10"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(nglm_cache_parse(bad[i], &s, &err) == -1, "'%s' was accepted", bad[i]);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cache");
    TCase *tc = tcase_create("cache");
    tcase_add_test(tc, test_reference_decay);
    tcase_add_test(tc, test_reference_window);
    tcase_add_test(tc, test_reference_long);
    tcase_add_test(tc, test_state_decay);
    tcase_add_test(tc, test_state_window);
    tcase_add_test(tc, test_sums_to_one);
    tcase_add_test(tc, test_em_maximises);
    tcase_add_test(tc, test_reset_word);
    tcase_add_test(tc, test_parse);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
