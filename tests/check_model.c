/*
 * check_model.c — the fast exact paths of the model against their slow
 * references: grouped scoring (src/batch.c) against the dense O(|V|)
 * softmax, probabilities summing to one, the grouped gradient against
 * finite differences of the objective, and bit-identical training for any
 * number of threads.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "nglm/corpus.h"
#include "nglm/eval.h"
#include "nglm/features.h"
#include "nglm/model.h"
#include "nglm/train.h"
#include "nglm/vocab.h"
#include "testutil.h"

/* ---------------------------------------------------------------- fixtures */

static uint64_t rng_state;
static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static double urand(void) { return (double)(rnd() >> 11) / 9007199254740992.0; }

/* A vocabulary of n_words words "w0".."w{n-1}", counted from lines. */
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

/* Random sentences with some structure (a word tends to follow its
 * predecessor + 1), so that higher-order n-grams repeat. */
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

/* A model of the given order on random text, with random weights
 * (some exactly zero); with skip-gram templates at distances 2 and 3 when
 * `skips` is set. */
static void make_model_skips(nglm_model *m, nglm_corpus *c, int order, uint64_t seed,
                             int skips);
static void make_model(nglm_model *m, nglm_corpus *c, int order, uint64_t seed)
{
    make_model_skips(m, c, order, seed, 0);
}

static void make_model_skips(nglm_model *m, nglm_corpus *c, int order, uint64_t seed,
                             int skips)
{
    nglm_error err;
    size_t n = 60;
    char **lines = make_lines(n, 12, 9, seed);
    memset(m, 0, sizeof *m);
    m->vocab = make_vocab(lines, n);
    ck_assert_int_eq(nglm_corpus_from_lines(c, (const char *const *)lines, n, m->vocab, &err), 0);
    free_lines(lines, n);
    ck_assert_int_eq(nglm_features_build(&m->feat, c, (int32_t)nglm_vocab_size(m->vocab),
                                         order, NULL, 1, &err), 0);
    if (skips) {
        int dist[2] = {2, 3};
        ck_assert_int_eq(nglm_features_add_skips(&m->feat, c, 2, dist, 1, &err), 0);
        ck_assert_uint_gt(m->feat.n_feat, m->feat.n_ngram_feat);
        ck_assert_int_eq(nglm_features_index(&m->feat, &err), 0);
    }
    m->theta = calloc(m->feat.n_feat, sizeof *m->theta);
    for (size_t f = 0; f < m->feat.n_feat; f++)
        m->theta[f] = urand() < 0.1 ? 0.0 : 2.0 * urand() - 1.0;
}

/* ---------------------------------------------------------------- feature index */

START_TEST(test_features_closed)
{
    nglm_model m;
    nglm_corpus c;
    make_model(&m, &c, 5, 11);
    const nglm_features *F = &m.feat;
    ck_assert_int_eq(F->order, 5);
    ck_assert_uint_gt(F->n_ctx, 0);
    /* every feature's back-off has the same word, one order lower */
    for (size_t x = 0; x < F->n_ctx; x++)
        for (uint32_t f = F->ctx_first[x]; f < F->ctx_first[x + 1]; f++) {
            int32_t b = F->feat_back[f];
            ck_assert_int_eq(F->feat_word[b], F->feat_word[f]);
            ck_assert_uint_ge(F->feat_count[b], F->feat_count[f]);
        }
    /* every n-gram of the text is a feature: count them by brute force */
    uint64_t total = 0;
    for (size_t x = 0; x < F->n_ctx; x++)
        for (uint32_t f = F->ctx_first[x]; f < F->ctx_first[x + 1]; f++)
            if (nglm_features_ctx_len(F, (int32_t)x) == 1)
                total += F->feat_count[f];
    /* each token has exactly one bigram (its predecessor or <s>) */
    ck_assert_uint_eq(total, c.n_tokens);
    nglm_corpus_free(&c);
    nglm_model_free(&m);
}
END_TEST

START_TEST(test_features_cutoffs)
{
    nglm_model m1, m2;
    nglm_corpus c1, c2;
    nglm_error err;
    make_model(&m1, &c1, 4, 5);
    make_model(&m2, &c2, 4, 5);
    nglm_features_free(&m2.feat);
    uint32_t cut[NGLM_MAX_ORDER + 1] = {0, 0, 2, 2, 3};
    ck_assert_int_eq(nglm_features_build(&m2.feat, &c2, m2.feat.V ? m2.feat.V : (int32_t)nglm_vocab_size(m2.vocab), 4, cut, 1, &err), 0);
    ck_assert_uint_lt(m2.feat.n_feat, m1.feat.n_feat);
    for (size_t f = (size_t)m2.feat.V; f < m2.feat.n_feat; f++)
        ck_assert_uint_ge(m2.feat.feat_count[f], 2);
    uint32_t bad[NGLM_MAX_ORDER + 1] = {0, 0, 3, 2};
    nglm_features F;
    ck_assert_int_eq(nglm_features_build(&F, &c2, m2.feat.V, 3, bad, 1, &err), -1);
    ck_assert(strstr(err.msg, "cutoffs") != NULL);
    ck_assert_int_eq(nglm_features_build(&F, &c2, m2.feat.V, 0, NULL, 1, &err), -1);
    ck_assert_int_eq(nglm_features_build(&F, &c2, m2.feat.V, NGLM_MAX_ORDER + 1, NULL, 1, &err), -1);
    nglm_corpus_free(&c1);
    nglm_corpus_free(&c2);
    nglm_model_free(&m1);
    nglm_model_free(&m2);
}
END_TEST

/* ---------------------------------------------------------------- probabilities */

/* The grouped scorer agrees with the dense reference on every token, for
 * every order. */
START_TEST(test_score_matches_dense)
{
    int order = _i % 10, skips = _i >= 10;
    nglm_model m;
    nglm_corpus c;
    nglm_error err;
    make_model_skips(&m, &c, order, 100 + (uint64_t)order, skips);
    double *logp = malloc(c.n_tokens * sizeof *logp);
    double *p = malloc((size_t)m.feat.V * sizeof *p);
    ck_assert_int_eq(nglm_model_score_corpus(&m, &c, logp, 2, &err), 0);
    for (size_t s = 0; s < c.n_sents; s++) {
        size_t len;
        const int32_t *sent = nglm_corpus_sentence(&c, s, &len);
        for (size_t i = 0; i < len; i++) {
            nglm_model_dist_dense(&m, sent, i, p);
            double sum = 0;
            for (int32_t w = 0; w < m.feat.V; w++)
                sum += p[w];
            ck_assert_double_eq_tol(sum, 1.0, 1e-12);
            ck_assert_double_eq(p[NGLM_BOS], 0.0);
            ck_assert_double_eq_tol(logp[c.start[s] + i], log(p[sent[i]]), 1e-10);
        }
    }
    /* the log10 form is the same numbers over ln 10 */
    double *lp10 = malloc(c.n_tokens * sizeof *lp10);
    ck_assert_int_eq(nglm_model_score_corpus10(&m, &c, lp10, 2, NULL, &err), 0);
    for (size_t t = 0; t < c.n_tokens; t++)
        ck_assert(lp10[t] == logp[t] / M_LN10);
    free(lp10);
    free(p);
    free(logp);
    nglm_corpus_free(&c);
    nglm_model_free(&m);
}
END_TEST

/* Σ_w P(w | h) = 1 through the fast path: score every word after the same
 * history as the last token of a sentence. */
START_TEST(test_fast_sums_to_one)
{
    nglm_model m;
    nglm_corpus c;
    nglm_error err;
    make_model_skips(&m, &c, 4, 7, _i);
    int32_t V = m.feat.V;
    for (size_t s = 0; s < 10; s++) {
        size_t len;
        const int32_t *sent = nglm_corpus_sentence(&c, s, &len);
        size_t hist = len - 1; /* the history: all words of the sentence */
        nglm_corpus q;
        memset(&q, 0, sizeof q);
        q.n_sents = (size_t)V - 1;
        q.n_tokens = q.n_sents * (hist + 1);
        q.ids = malloc(q.n_tokens * sizeof *q.ids);
        q.start = malloc((q.n_sents + 1) * sizeof *q.start);
        for (int32_t w = 1; w < V; w++) {
            size_t o = (size_t)(w - 1) * (hist + 1);
            q.start[w - 1] = o;
            memcpy(q.ids + o, sent, hist * sizeof *sent);
            q.ids[o + hist] = w;
        }
        q.start[q.n_sents] = q.n_tokens;
        double *logp = malloc(q.n_tokens * sizeof *logp);
        ck_assert_int_eq(nglm_model_score_corpus(&m, &q, logp, 2, &err), 0);
        double sum = 0;
        for (int32_t w = 1; w < V; w++)
            sum += exp(logp[(size_t)(w - 1) * (hist + 1) + hist]);
        ck_assert_double_eq_tol(sum, 1.0, 1e-9);
        free(logp);
        free(q.ids);
        free(q.start);
    }
    nglm_corpus_free(&c);
    nglm_model_free(&m);
}
END_TEST

/* A sentence longer than one scoring batch is scored the same. */
START_TEST(test_long_sentence)
{
    nglm_model m;
    nglm_corpus c;
    nglm_error err;
    make_model(&m, &c, 3, 9);
    nglm_corpus q;
    memset(&q, 0, sizeof q);
    q.n_sents = 1;
    q.n_tokens = 70001;
    q.ids = malloc(q.n_tokens * sizeof *q.ids);
    q.start = malloc(2 * sizeof *q.start);
    rng_state = 3;
    for (size_t t = 0; t + 1 < q.n_tokens; t++)
        q.ids[t] = NGLM_NUM_SPECIAL + (int32_t)(rnd() % (uint64_t)(m.feat.V - NGLM_NUM_SPECIAL));
    q.ids[q.n_tokens - 1] = NGLM_EOS;
    q.start[0] = 0;
    q.start[1] = q.n_tokens;
    double *logp = malloc(q.n_tokens * sizeof *logp);
    double *p = malloc((size_t)m.feat.V * sizeof *p);
    ck_assert_int_eq(nglm_model_score_corpus(&m, &q, logp, 2, &err), 0);
    for (size_t i = 65530; i < 65545; i++) {
        nglm_model_dist_dense(&m, q.ids, i, p);
        ck_assert_double_eq_tol(logp[i], log(p[q.ids[i]]), 1e-10);
    }
    free(p);
    free(logp);
    free(q.ids);
    free(q.start);
    nglm_corpus_free(&c);
    nglm_model_free(&m);
}
END_TEST

/* The one-token scorer agrees with the grouped scorer on every token, and
 * with nglm_model_ngram_length, for every order, with and without
 * skip-grams. */
START_TEST(test_token_scorer_matches_corpus)
{
    int order = _i % 10, skips = _i >= 10;
    nglm_model m;
    nglm_corpus c;
    nglm_error err;
    make_model_skips(&m, &c, order, 200 + (uint64_t)order, skips);
    nglm_model_scorer sc;
    ck_assert_int_eq(nglm_model_scorer_init(&sc, &m, &err), 0);
    double *logp = malloc(c.n_tokens * sizeof *logp);
    ck_assert_int_eq(nglm_model_score_corpus(&m, &c, logp, 2, &err), 0);
    for (size_t s = 0; s < c.n_sents; s++) {
        size_t len;
        const int32_t *sent = nglm_corpus_sentence(&c, s, &len);
        for (size_t i = 0; i < len; i++) {
            int ngram = 0;
            double lp = nglm_model_scorer_logprob10(&sc, sent, i, &ngram);
            ck_assert_double_eq_tol(lp, logp[c.start[s] + i] / M_LN10, 1e-12);
            ck_assert_int_eq(ngram, nglm_model_ngram_length(&m, sent, i));
        }
    }
    free(logp);
    nglm_model_scorer_free(&sc);
    nglm_corpus_free(&c);
    nglm_model_free(&m);
}
END_TEST

/* A history cut by a negative id (no <s> before it) has an exact
 * distribution; with no words at all it is the unigram softmax; a cut
 * beyond the history's reach changes nothing. */
START_TEST(test_token_scorer_cut_history)
{
    nglm_model m;
    nglm_corpus c;
    nglm_error err;
    make_model_skips(&m, &c, 3, 31, _i);
    nglm_model_scorer sc;
    ck_assert_int_eq(nglm_model_scorer_init(&sc, &m, &err), 0);
    int32_t V = m.feat.V;
    size_t len;
    const int32_t *sent = nglm_corpus_sentence(&c, 0, &len);
    int32_t h[16] = {-1};
    for (size_t k = 0; k < 3 && k + 1 < len; k++) {
        /* h = -1 sent[0..k-1] w */
        memcpy(h + 1, sent, k * sizeof *sent);
        double sum = 0;
        for (int32_t w = 1; w < V; w++) {
            h[k + 1] = w;
            double lp = nglm_model_scorer_logprob10(&sc, h, k + 1, NULL);
            sum += pow(10.0, lp);
            if (k == 0)
                ck_assert_double_eq_tol(lp, (m.theta[w] - log(sc.U)) / M_LN10, 1e-12);
        }
        ck_assert_double_eq_tol(sum, 1.0, 1e-12);
    }
    /* 6 words after the cut: every context (order 3, skips up to 3) is known */
    int32_t cut[8] = {-1, 3, 4, 5, 6, 7, 8, NGLM_EOS};
    ck_assert_double_eq(nglm_model_scorer_logprob10(&sc, cut, 7, NULL),
                        nglm_model_scorer_logprob10(&sc, cut + 1, 6, NULL));
    nglm_model_scorer_free(&sc);
    nglm_corpus_free(&c);
    nglm_model_free(&m);
}
END_TEST

/* ---------------------------------------------------------------- gradients */

/* J(θ) by the dense reference. */
static double dense_objective(const nglm_model *m, const nglm_corpus *c, double l1, double l2)
{
    double *p = malloc((size_t)m->feat.V * sizeof *p), j = 0;
    for (size_t s = 0; s < c->n_sents; s++) {
        size_t len;
        const int32_t *sent = nglm_corpus_sentence(c, s, &len);
        for (size_t i = 0; i < len; i++) {
            nglm_model_dist_dense(m, sent, i, p);
            j -= log(p[sent[i]]);
        }
    }
    for (size_t f = 1; f < m->feat.n_feat; f++)
        j += l1 * fabs(m->theta[f]) + 0.5 * l2 * m->theta[f] * m->theta[f];
    free(p);
    return j;
}

/* The grouped gradient, with ℓ1 and ℓ2 on, against central differences of
 * the dense objective, for every order. */
START_TEST(test_gradient_finite_differences)
{
    int order = _i % 10, skips = _i >= 10;
    nglm_model m;
    nglm_corpus c;
    nglm_error err;
    make_model_skips(&m, &c, order, 200 + (uint64_t)order, skips);
    const double l1 = 0.3, l2 = 0.7, h = 1e-5;
    size_t nf = m.feat.n_feat;
    double *g = malloc(nf * sizeof *g), J;
    ck_assert_int_eq(nglm_train_objective(&m, &c, l1, l2, 2, &J, g, &err), 0);
    ck_assert_double_eq_tol(J, dense_objective(&m, &c, l1, l2), 1e-8 * fabs(J));
    size_t checked = 0;
    for (size_t f = 1; f < nf; f++) {
        double th = m.theta[f];
        if (fabs(th) < 2 * h)
            continue; /* |θ| is not differentiable at 0 */
        m.theta[f] = th + h;
        double jp = dense_objective(&m, &c, l1, l2);
        m.theta[f] = th - h;
        double jm = dense_objective(&m, &c, l1, l2);
        m.theta[f] = th;
        double fd = (jp - jm) / (2 * h);
        ck_assert_msg(fabs(fd - g[f]) < 1e-5 * (1 + fabs(fd)),
                      "order %d feature %zu: finite difference %.9g, gradient %.9g", order,
                      f, fd, g[f]);
        checked++;
    }
    ck_assert_uint_gt(checked, nf / 2);
    free(g);
    nglm_corpus_free(&c);
    nglm_model_free(&m);
}
END_TEST

/* ---------------------------------------------------------------- training */

static nglm_train_options quick_options(int threads)
{
    nglm_train_options o = nglm_train_options_default();
    o.max_epochs = 4;
    o.batch = 97; /* many batches, sentences split across them */
    o.threads = threads;
    return o;
}

/* The same options give bit-identical weights with 1, 2 and 4 threads. */
START_TEST(test_training_deterministic)
{
    nglm_model m;
    nglm_corpus c, v;
    nglm_error err;
    make_model_skips(&m, &c, 4, 42, _i);
    char **lines = make_lines(20, 12, 9, 43);
    ck_assert_int_eq(nglm_corpus_from_lines(&v, (const char *const *)lines, 20, m.vocab, &err), 0);
    free_lines(lines, 20);
    double *first = NULL;
    int threads[] = {1, 2, 4};
    for (int k = 0; k < 3; k++) {
        nglm_train_options o = quick_options(threads[k]);
        ck_assert_int_eq(nglm_train(&m, &c, &v, &o, &err), 0);
        if (!first) {
            first = malloc(m.feat.n_feat * sizeof *first);
            memcpy(first, m.theta, m.feat.n_feat * sizeof *first);
        } else {
            ck_assert_msg(memcmp(first, m.theta, m.feat.n_feat * sizeof *first) == 0,
                          "weights differ with %d threads", threads[k]);
        }
    }
    free(first);
    nglm_corpus_free(&v);
    nglm_corpus_free(&c);
    nglm_model_free(&m);
}
END_TEST

/* The default minibatch: 2000 tokens up to about 0.9M training tokens,
 * then about 450 updates per epoch, in thousands, never shrinking as the
 * text grows; batch 0 trains exactly as the batch it stands for. */
START_TEST(test_auto_batch)
{
    ck_assert_uint_eq(nglm_train_options_default().batch, 0);
    ck_assert_uint_eq(nglm_train_auto_batch(0), 2000);
    ck_assert_uint_eq(nglm_train_auto_batch(887521), 2000); /* PTB */
    ck_assert_uint_eq(nglm_train_auto_batch(9000031), 20000);
    ck_assert_uint_eq(nglm_train_auto_batch(1000000000), 2222000);
    size_t prev = 0;
    for (size_t n = 1; n < (size_t)1 << 34; n = n * 3 / 2 + 1) {
        size_t b = nglm_train_auto_batch(n);
        ck_assert_uint_ge(b, prev);
        ck_assert_uint_eq(b % 1000, 0);
        ck_assert(b == 2000 || fabs((double)b - (double)n / 450) <= 500);
        prev = b;
    }

    nglm_model m;
    nglm_corpus c, v;
    nglm_error err;
    make_model_skips(&m, &c, 3, 42, 0);
    char **lines = make_lines(20, 12, 9, 43);
    ck_assert_int_eq(nglm_corpus_from_lines(&v, (const char *const *)lines, 20, m.vocab, &err), 0);
    free_lines(lines, 20);
    size_t nf = m.feat.n_feat;
    nglm_train_options o = quick_options(2);
    o.batch = nglm_train_auto_batch(c.n_tokens);
    ck_assert_int_eq(nglm_train(&m, &c, &v, &o, &err), 0);
    double *want = malloc(nf * sizeof *want);
    memcpy(want, m.theta, nf * sizeof *want);
    o.batch = 0;
    ck_assert_int_eq(nglm_train(&m, &c, &v, &o, &err), 0);
    ck_assert_mem_eq(want, m.theta, nf * sizeof *want);
    ck_assert_uint_eq(m.info.batch, 2000);
    free(want);
    nglm_corpus_free(&v);
    nglm_corpus_free(&c);
    nglm_model_free(&m);
}
END_TEST

/* Training lowers the validation perplexity below the unigram start, and
 * ℓ1 leaves exact zeros. */
START_TEST(test_training_learns)
{
    nglm_model m;
    nglm_corpus c;
    nglm_error err;
    make_model(&m, &c, 3, 77);
    nglm_train_options o = quick_options(2);
    o.max_epochs = 1;
    o.lr = 1e-9; /* effectively the unigram initialisation */
    ck_assert_int_eq(nglm_train(&m, &c, &c, &o, &err), 0);
    double ppl0;
    ck_assert_int_eq(nglm_eval_perplexity(&m, &c, 1, &ppl0, &err), 0);
    o = quick_options(2);
    o.max_epochs = 10;
    o.l1 = 2.0;
    ck_assert_int_eq(nglm_train(&m, &c, &c, &o, &err), 0);
    double ppl1;
    ck_assert_int_eq(nglm_eval_perplexity(&m, &c, 1, &ppl1, &err), 0);
    ck_assert_double_lt(ppl1, 0.8 * ppl0);
    ck_assert_double_eq_tol(ppl1, m.info.valid_ppl, 1e-9 * ppl1);
    ck_assert_uint_lt(nglm_model_nonzero(&m), m.feat.n_feat - 1);
    nglm_corpus_free(&c);
    nglm_model_free(&m);
}
END_TEST

START_TEST(test_training_rejects_bad_options)
{
    nglm_model m;
    nglm_corpus c;
    nglm_error err;
    make_model(&m, &c, 2, 1);
    nglm_train_options o = quick_options(1);
    o.l1 = -1;
    ck_assert_int_eq(nglm_train(&m, &c, &c, &o, &err), -1);
    o = quick_options(1);
    o.l2 = NAN;
    ck_assert_int_eq(nglm_train(&m, &c, &c, &o, &err), -1);
    o = quick_options(1);
    o.lr = 0;
    ck_assert_int_eq(nglm_train(&m, &c, &c, &o, &err), -1);
    nglm_corpus empty;
    memset(&empty, 0, sizeof empty);
    size_t zero = 0;
    empty.start = &zero;
    o = quick_options(1);
    ck_assert_int_eq(nglm_train(&m, &c, &empty, &o, &err), -1);
    ck_assert(strstr(err.msg, "validation") != NULL);
    nglm_corpus_free(&c);
    nglm_model_free(&m);
}
END_TEST

static Suite *model_suite(void)
{
    Suite *s = suite_create("model");
    TCase *tc = tcase_create("features");
    tcase_add_test(tc, test_features_closed);
    tcase_add_test(tc, test_features_cutoffs);
    suite_add_tcase(s, tc);
    tc = tcase_create("probabilities");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_score_matches_dense, 1, 7);
    tcase_add_loop_test(tc, test_score_matches_dense, 11, 17); /* with skip-grams */
    tcase_add_loop_test(tc, test_fast_sums_to_one, 0, 2);
    tcase_add_test(tc, test_long_sentence);
    tcase_add_loop_test(tc, test_token_scorer_matches_corpus, 1, 7);
    tcase_add_loop_test(tc, test_token_scorer_matches_corpus, 11, 17); /* with skip-grams */
    tcase_add_loop_test(tc, test_token_scorer_cut_history, 0, 2);
    suite_add_tcase(s, tc);
    tc = tcase_create("gradients");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_gradient_finite_differences, 1, 7);
    tcase_add_loop_test(tc, test_gradient_finite_differences, 11, 17); /* with skip-grams */
    suite_add_tcase(s, tc);
    tc = tcase_create("training");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_training_deterministic, 0, 2);
    tcase_add_test(tc, test_training_learns);
    tcase_add_test(tc, test_auto_batch);
    tcase_add_test(tc, test_training_rejects_bad_options);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(model_suite()); }
