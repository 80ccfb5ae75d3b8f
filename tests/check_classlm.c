/*
 * check_classlm.c — Model M (nglm/classlm.h) against its slow references:
 * the dense distribution sums to one and gives every token the fast
 * paths' probability (corpus scorer and one-token scorer, cut histories
 * included); the grouped gradient equals central finite differences of the
 * dense objective with ℓ1 and ℓ2; training is bit-identical for 1, 2 and 3
 * threads and learns; the model file round-trips and a truncated or
 * damaged file is refused in one line; the class file's errors.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "nglm/classlm.h"
#include "nglm/corpus.h"
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

/* Random sentences where a word tends to follow its predecessor + 1, so
 * that longer n-grams repeat. */
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

static nglm_vocab *make_vocab(char **lines, size_t n)
{
    nglm_error err;
    nglm_vocab *v = nglm_vocab_new();
    for (size_t i = 0; i < n; i++) {
        char buf[4096], *save = NULL;
        snprintf(buf, sizeof buf, "%s", lines[i]);
        for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save))
            ck_assert_int_eq(nglm_vocab_add(v, t, 1, &err), 0);
    }
    ck_assert_int_eq(nglm_vocab_finalize(v, 1, 0, &err), 0);
    return v;
}

/* A model of `order` with C classes on random text (the corpus in c), the
 * classes interleaved so that internal and vocabulary ids differ; with
 * `weights`, random weights (none zero) where they count. */
static void make_model(nglm_classlm *m, nglm_corpus *c, int order, int32_t C, uint64_t seed,
                       int n_lines, int weights)
{
    nglm_error err;
    char **lines = make_lines((size_t)n_lines, 14, 9, seed);
    nglm_vocab *v = make_vocab(lines, (size_t)n_lines);
    ck_assert_int_eq(nglm_corpus_from_lines(c, (const char *const *)lines, (size_t)n_lines, v,
                                            &err), 0);
    free_lines(lines, (size_t)n_lines);
    int32_t V = (int32_t)nglm_vocab_size(v);
    int32_t *cls = malloc((size_t)V * sizeof *cls);
    for (int32_t i = 0; i < V; i++)
        cls[i] = 1 + (i * 7) % C;
    nglm_tok_options tok = nglm_tok_options_default();
    ck_assert_msg(nglm_classlm_build(m, v, &tok, cls, C, c, order, NULL, 1, &err) == 0, "%s",
                  err.msg);
    free(cls);
    if (weights) {
        rng_state = seed * 31 + 7;
        for (size_t f = 0; f < m->n_weights; f++) {
            double x = (urand() - 0.5) * 3.0;
            m->theta[f] = x + (x >= 0 ? 0.05 : -0.05);
        }
        /* weights that no score reads stay 0: wc's unigrams, <s>'s class */
        for (int32_t k = 0; k <= C; k++)
            m->theta[m->off_wc + (size_t)k] = 0;
        m->theta[m->off_cc] = 0;
        m->theta[m->off_ww] = 0;
    }
}

/* ---------------------------------------------------------------- scoring */

START_TEST(test_dense_sums_to_one_and_matches_fast)
{
    int order = 1 + _i % 5;
    int32_t C = _i < 5 ? 3 : 6;
    nglm_classlm m;
    nglm_corpus c;
    nglm_error err;
    make_model(&m, &c, order, C, 11 + (uint64_t)_i, 60, 1);
    double *lp = malloc(c.n_tokens * sizeof *lp), *lp1 = malloc(c.n_tokens * sizeof *lp1);
    double *p = malloc((size_t)m.V * sizeof *p);
    ck_assert_int_eq(nglm_classlm_score_corpus(&m, &c, lp, 2, &err), 0);
    ck_assert_int_eq(nglm_classlm_score_corpus(&m, &c, lp1, 1, &err), 0);
    ck_assert_int_eq(memcmp(lp, lp1, c.n_tokens * sizeof *lp), 0);
    nglm_classlm_scorer sc;
    ck_assert_int_eq(nglm_classlm_scorer_init(&sc, &m, &err), 0);
    for (size_t s = 0; s < c.n_sents; s++) {
        size_t len;
        const int32_t *sent = nglm_corpus_sentence(&c, s, &len);
        for (size_t i = 0; i < len; i++) {
            nglm_classlm_dist_dense(&m, sent, i, p);
            double sum = 0;
            for (int32_t w = 0; w < m.V; w++)
                sum += p[w];
            ck_assert_double_eq_tol(sum, 1.0, 1e-12);
            ck_assert_double_eq(p[NGLM_BOS], 0);
            double want = log(p[sent[i]]), got = lp[c.start[s] + i];
            ck_assert_msg(fabs(got - want) < 1e-10, "order %d sent %zu tok %zu: %.15g vs %.15g",
                          order, s, i, got, want);
            ck_assert_double_eq_tol(nglm_classlm_scorer_logprob10(&sc, sent, i), want / M_LN10,
                                    1e-11);
        }
    }
    nglm_classlm_scorer_free(&sc);
    free(lp);
    free(lp1);
    free(p);
    nglm_corpus_free(&c);
    nglm_classlm_free(&m);
}
END_TEST

/* Random histories (words in any order, unseen n-grams included). */
START_TEST(test_random_histories)
{
    nglm_classlm m;
    nglm_corpus c;
    make_model(&m, &c, 4, 5, 23, 50, 1);
    double *p = malloc((size_t)m.V * sizeof *p);
    nglm_classlm_scorer sc;
    nglm_error err;
    ck_assert_int_eq(nglm_classlm_scorer_init(&sc, &m, &err), 0);
    rng_state = 99;
    for (int r = 0; r < 200; r++) {
        int32_t h[8];
        size_t n = (size_t)(rnd() % 6);
        for (size_t j = 0; j < n; j++)
            h[j] = 1 + (int32_t)(rnd() % (uint64_t)(m.V - 1));
        nglm_classlm_dist_dense(&m, h, n, p);
        double sum = 0;
        for (int32_t w = 1; w < m.V; w++) {
            sum += p[w];
            h[n] = w;
            ck_assert_double_eq_tol(nglm_classlm_scorer_logprob10(&sc, h, n), log10(p[w]), 1e-11);
        }
        ck_assert_double_eq_tol(sum, 1.0, 1e-12);
    }
    nglm_classlm_scorer_free(&sc);
    free(p);
    nglm_corpus_free(&c);
    nglm_classlm_free(&m);
}
END_TEST

START_TEST(test_cut_history)
{
    nglm_classlm m;
    nglm_corpus c;
    nglm_error err;
    make_model(&m, &c, 3, 4, 31, 50, 1);
    nglm_classlm_scorer sc;
    ck_assert_int_eq(nglm_classlm_scorer_init(&sc, &m, &err), 0);
    int32_t h[8] = {-1, 3, 4, 5};
    for (size_t k = 0; k < 3; k++) {
        double sum = 0;
        for (int32_t w = 1; w < m.V; w++) {
            h[k + 1] = w;
            sum += pow(10.0, nglm_classlm_scorer_logprob10(&sc, h, k + 1));
        }
        ck_assert_double_eq_tol(sum, 1.0, 1e-12);
        h[k + 1] = 3 + (int32_t)k;
    }
    /* an empty cut history: the class biases and unigrams alone */
    double bias = 0, mx = -INFINITY, zc = 0;
    for (int32_t k = 1; k <= m.C; k++)
        mx = fmax(mx, m.theta[m.off_cc + (size_t)k]);
    for (int32_t k = 1; k <= m.C; k++)
        zc += exp(m.theta[m.off_cc + (size_t)k] - mx);
    int32_t w = 5, iw = m.in[w], k = m.icls[iw];
    double zw = 0;
    for (uint32_t v = m.first[k]; v < m.first[k + 1]; v++)
        zw += exp(m.theta[m.off_ww + v]);
    bias = m.theta[m.off_cc + (size_t)k] - mx - log(zc) + m.theta[m.off_ww + (size_t)iw] - log(zw);
    int32_t one[2] = {-1, w};
    ck_assert_double_eq_tol(nglm_classlm_scorer_logprob10(&sc, one, 1), bias / M_LN10, 1e-12);
    /* enough words after the cut: the same as without it */
    int32_t cut[6] = {-1, 3, 4, 5, 6, NGLM_EOS};
    ck_assert_double_eq(nglm_classlm_scorer_logprob10(&sc, cut, 5),
                        nglm_classlm_scorer_logprob10(&sc, cut + 1, 4));
    nglm_classlm_scorer_free(&sc);
    nglm_corpus_free(&c);
    nglm_classlm_free(&m);
}
END_TEST

/* The start from counts: with no history, the class share times the
 * in-class share (add-one counts). */
START_TEST(test_init_unigrams)
{
    nglm_classlm m;
    nglm_corpus c;
    nglm_error err;
    make_model(&m, &c, 3, 4, 13, 60, 1);
    nglm_classlm_init_unigrams(&m);
    nglm_classlm_scorer sc;
    ck_assert_int_eq(nglm_classlm_scorer_init(&sc, &m, &err), 0);
    uint64_t ck[8] = {0}, total = 0;
    for (size_t t = 0; t < c.n_tokens; t++)
        ck[m.cls[c.ids[t]]]++;
    for (int32_t k = 1; k <= m.C; k++)
        total += ck[k] + 1;
    for (int32_t w = 1; w < m.V; w++) {
        int32_t k = m.cls[w];
        uint64_t cw = 0, cc = 0;
        for (size_t t = 0; t < c.n_tokens; t++) {
            cw += c.ids[t] == w;
            cc += m.cls[c.ids[t]] == k;
        }
        double in_class = 0;
        for (int32_t v = 1; v < m.V; v++)
            if (m.cls[v] == k) {
                uint64_t cv = 0;
                for (size_t t = 0; t < c.n_tokens; t++)
                    cv += c.ids[t] == v;
                in_class += (double)cv + 1;
            }
        double want = (double)(cc + 1) / (double)total * ((double)cw + 1) / in_class;
        int32_t h[2] = {-1, w};
        ck_assert_double_eq_tol(nglm_classlm_scorer_logprob10(&sc, h, 1), log10(want), 1e-12);
    }
    nglm_classlm_scorer_free(&sc);
    nglm_corpus_free(&c);
    nglm_classlm_free(&m);
}
END_TEST

/* ---------------------------------------------------------------- gradients */

static double dense_objective(const nglm_classlm *m, const nglm_corpus *c, double l1, double l2)
{
    double *p = malloc((size_t)m->V * sizeof *p), j = 0;
    for (size_t s = 0; s < c->n_sents; s++) {
        size_t len;
        const int32_t *sent = nglm_corpus_sentence(c, s, &len);
        for (size_t i = 0; i < len; i++) {
            nglm_classlm_dist_dense(m, sent, i, p);
            j -= log(p[sent[i]]);
        }
    }
    for (size_t f = 0; f < m->n_weights; f++)
        j += l1 * fabs(m->theta[f]) + 0.5 * l2 * m->theta[f] * m->theta[f];
    free(p);
    return j;
}

START_TEST(test_gradient_finite_differences)
{
    int order = 1 + _i;
    nglm_classlm m;
    nglm_corpus c;
    nglm_error err;
    make_model(&m, &c, order, 4, 41 + (uint64_t)_i, 14, 1);
    const double l1 = 0.3, l2 = 0.2, h = 1e-5;
    double J, *g = malloc(m.n_weights * sizeof *g);
    ck_assert_int_eq(nglm_classlm_objective(&m, &c, l1, l2, 2, &J, g, &err), 0);
    ck_assert_double_eq_tol(J, dense_objective(&m, &c, l1, l2), 1e-8 * fabs(J));
    for (size_t f = 0; f < m.n_weights; f++) {
        double th = m.theta[f];
        if (th == 0)
            continue; /* ℓ1 is not differentiable there */
        m.theta[f] = th + h;
        double jp = dense_objective(&m, &c, l1, l2);
        m.theta[f] = th - h;
        double jm = dense_objective(&m, &c, l1, l2);
        m.theta[f] = th;
        double fd = (jp - jm) / (2 * h);
        ck_assert_msg(fabs(fd - g[f]) < 1e-5 * (1 + fabs(fd)), "order %d weight %zu: %.10g vs %.10g",
                      order, f, g[f], fd);
    }
    free(g);
    nglm_corpus_free(&c);
    nglm_classlm_free(&m);
}
END_TEST

/* ---------------------------------------------------------------- training */

static void train_with(nglm_classlm *m, nglm_corpus *c, int threads, int order)
{
    nglm_error err;
    make_model(m, c, order, 5, 77, 300, 0);
    nglm_classlm_train_options o = nglm_classlm_train_options_default();
    o.epochs = 3;
    o.batch = 37;
    o.threads = threads;
    ck_assert_msg(nglm_classlm_train(m, c, c, &o, NULL, &err) == 0, "%s", err.msg);
}

START_TEST(test_training_deterministic)
{
    int order = 2 + _i;
    nglm_classlm m1, m2, m3;
    nglm_corpus c1, c2, c3;
    train_with(&m1, &c1, 1, order);
    train_with(&m2, &c2, 2, order);
    train_with(&m3, &c3, 3, order);
    ck_assert_uint_eq(m1.n_weights, m2.n_weights);
    ck_assert_int_eq(memcmp(m1.theta, m2.theta, m1.n_weights * sizeof *m1.theta), 0);
    ck_assert_int_eq(memcmp(m1.theta, m3.theta, m1.n_weights * sizeof *m1.theta), 0);
    ck_assert(m1.info.valid_ppl > 0 && m1.info.valid_ppl == m3.info.valid_ppl);
    nglm_corpus_free(&c1);
    nglm_corpus_free(&c2);
    nglm_corpus_free(&c3);
    nglm_classlm_free(&m1);
    nglm_classlm_free(&m2);
    nglm_classlm_free(&m3);
}
END_TEST

static void note_epoch(const nglm_epoch_report *e, void *user)
{
    double *ppl = user;
    ppl[e->epoch] = e->valid_ppl;
}

START_TEST(test_training_learns)
{
    nglm_classlm m;
    nglm_corpus c;
    nglm_error err;
    make_model(&m, &c, 3, 5, 5, 400, 0);
    double ppl[8] = {0};
    nglm_classlm_train_options o = nglm_classlm_train_options_default();
    o.epochs = 4;
    o.batch = 50;
    o.on_epoch = note_epoch;
    o.user = ppl;
    ck_assert_int_eq(nglm_classlm_train(&m, &c, &c, &o, NULL, &err), 0);
    /* uniform would be V - 1 */
    ck_assert_double_lt(ppl[1], (double)(m.V - 1));
    ck_assert_double_lt(ppl[4], ppl[1]);
    ck_assert_double_eq(m.info.valid_ppl, fmin(fmin(ppl[1], ppl[2]), fmin(ppl[3], ppl[4])));
    o.batch = 0;
    ck_assert_int_eq(nglm_classlm_train(&m, &c, &c, &o, NULL, &err), -1);
    nglm_corpus_free(&c);
    nglm_classlm_free(&m);
}
END_TEST

/* ---------------------------------------------------------------- checkpoints */

/* What the resume tests keep: the last checkpoint (a deep copy) and when
 * to stop. */
typedef struct ckpt_box {
    nglm_train_state s;
    int n_ckpt, n_batches, stop_at;
    volatile sig_atomic_t stop;
    nglm_checkpoint_reason why;
} ckpt_box;

static int keep_state(const nglm_train_state *s, nglm_checkpoint_reason why, void *user,
                      nglm_error *err)
{
    (void)err;
    ckpt_box *b = user;
    nglm_train_state_free(&b->s);
    b->s = *s;
    size_t n = s->n_feat;
    b->s.theta = malloc(n * sizeof(double));
    b->s.best = malloc(n * sizeof(double));
    b->s.gsq = malloc(n * sizeof(double));
    b->s.last = malloc(n * sizeof(uint32_t));
    b->s.avg = NULL;
    b->s.order = malloc(s->n_sents * sizeof(uint64_t));
    memcpy(b->s.theta, s->theta, n * sizeof(double));
    memcpy(b->s.best, s->best, n * sizeof(double));
    memcpy(b->s.gsq, s->gsq, n * sizeof(double));
    memcpy(b->s.last, s->last, n * sizeof(uint32_t));
    memcpy(b->s.order, s->order, s->n_sents * sizeof(uint64_t));
    b->n_ckpt++;
    b->why = why;
    return 0;
}

static void count_batch(size_t done, size_t total, double loss, void *user)
{
    (void)done, (void)total, (void)loss;
    ckpt_box *b = user;
    if (++b->n_batches == b->stop_at)
        b->stop = 1;
}

/* A run stopped after stop_at minibatches and resumed ends with the
 * weights of a run that never stopped, bit for bit: mid-epoch (_i = 0, 1)
 * and at an epoch's end (_i = 2: 2 minibatches an epoch). */
START_TEST(test_resume_bit_identical)
{
    static const int stop_at[] = {1, 3, 2};
    nglm_classlm a, b;
    nglm_corpus ca, cb;
    nglm_error err;
    make_model(&a, &ca, 3, 5, 9, 60, 0);
    make_model(&b, &cb, 3, 5, 9, 60, 0);
    nglm_classlm_init_unigrams(&a);
    nglm_classlm_init_unigrams(&b);
    nglm_classlm_train_options o = nglm_classlm_train_options_default();
    o.epochs = 3;
    o.min_gain = 0; /* every epoch runs */
    o.batch = (ca.n_tokens + 1) / 2;
    o.threads = 2;
    ck_assert_int_eq(nglm_classlm_train(&a, &ca, &ca, &o, NULL, &err), 0);
    ckpt_box box = {0};
    box.stop_at = stop_at[_i];
    o.on_checkpoint = keep_state;
    o.on_progress = count_batch;
    o.user = &box;
    o.stop = &box.stop;
    int stopped = 0;
    ck_assert_msg(nglm_classlm_train(&b, &cb, &cb, &o, &stopped, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(stopped, 1);
    ck_assert_int_eq(box.why, NGLM_CKPT_STOP);
    ck_assert_int_eq(box.s.started, _i < 2);
    /* resume in a fresh model, as a new process would */
    nglm_classlm_free(&b);
    nglm_corpus_free(&cb);
    make_model(&b, &cb, 3, 5, 9, 60, 0);
    nglm_classlm_init_unigrams(&b);
    o.stop = NULL;
    o.resume = &box.s;
    o.threads = 1;
    nglm_train_state r = box.s;
    box.s = (nglm_train_state){0};
    o.resume = &r;
    ck_assert_msg(nglm_classlm_train(&b, &cb, &cb, &o, &stopped, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(stopped, 0);
    ck_assert_int_eq(memcmp(a.theta, b.theta, a.n_weights * sizeof *a.theta), 0);
    ck_assert(a.info.valid_ppl == b.info.valid_ppl);
    ck_assert_int_eq(a.info.epochs, b.info.epochs);
    nglm_train_state_free(&r);
    nglm_train_state_free(&box.s);
    nglm_corpus_free(&ca);
    nglm_corpus_free(&cb);
    nglm_classlm_free(&a);
    nglm_classlm_free(&b);
}
END_TEST

/* A checkpoint of other options, other texts or another start is refused
 * in one line. */
START_TEST(test_resume_refuses_others)
{
    nglm_classlm m;
    nglm_corpus c;
    nglm_error err;
    make_model(&m, &c, 3, 5, 9, 60, 0);
    nglm_classlm_init_unigrams(&m);
    nglm_classlm_train_options o = nglm_classlm_train_options_default();
    o.epochs = 2;
    o.batch = 100;
    ckpt_box box = {0};
    o.on_checkpoint = keep_state;
    o.user = &box;
    ck_assert_int_eq(nglm_classlm_train(&m, &c, &c, &o, NULL, &err), 0);
    ck_assert_int_eq(box.n_ckpt, 1); /* the end of epoch 1 */
    o.on_checkpoint = NULL;
    o.resume = &box.s;
    nglm_classlm_init_unigrams(&m);
    o.batch = 101;
    ck_assert_int_eq(nglm_classlm_train(&m, &c, &c, &o, NULL, &err), -1);
    ck_assert_msg(strstr(err.msg, "cannot resume: the checkpoint was made with --batch 100"),
                  "%s", err.msg);
    o.batch = 100;
    m.theta[m.off_ww + 3] += 1; /* another start */
    ck_assert_int_eq(nglm_classlm_train(&m, &c, &c, &o, NULL, &err), -1);
    ck_assert_msg(strstr(err.msg, "belongs to another model"), "%s", err.msg);
    nglm_classlm_init_unigrams(&m);
    uint64_t o1 = box.s.order[1];
    box.s.order[1] = box.s.order[0]; /* not a permutation */
    ck_assert_int_eq(nglm_classlm_train(&m, &c, &c, &o, NULL, &err), -1);
    ck_assert_msg(strstr(err.msg, "inconsistent"), "%s", err.msg);
    box.s.order[1] = o1;
    nglm_classlm_init_unigrams(&m);
    ck_assert_msg(nglm_classlm_train(&m, &c, &c, &o, NULL, &err) == 0, "%s", err.msg);
    nglm_train_state_free(&box.s);
    nglm_corpus_free(&c);
    nglm_classlm_free(&m);
}
END_TEST

/* ---------------------------------------------------------------- file */

START_TEST(test_save_load)
{
    nglm_classlm m, l;
    nglm_corpus c;
    nglm_error err;
    make_model(&m, &c, 4, 5, 3, 80, 1);
    const char *path = tu_temp_path(".nglmc");
    ck_assert_msg(nglm_classlm_save(&m, path, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(nglm_classlm_file_is(path), 1);
    ck_assert_msg(nglm_classlm_load(&l, path, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(l.n_weights, m.n_weights);
    ck_assert_int_eq(memcmp(l.theta, m.theta, m.n_weights * sizeof *m.theta), 0);
    double *a = malloc(c.n_tokens * sizeof *a), *b = malloc(c.n_tokens * sizeof *b);
    ck_assert_int_eq(nglm_classlm_score_corpus(&m, &c, a, 1, &err), 0);
    ck_assert_int_eq(nglm_classlm_score_corpus(&l, &c, b, 2, &err), 0);
    ck_assert_int_eq(memcmp(a, b, c.n_tokens * sizeof *a), 0);
    nglm_classlm_free(&l);
    nglm_classlm *o = nglm_classlm_open(path, &err);
    ck_assert_ptr_nonnull(o);
    nglm_classlm_close(o);
    /* truncated and damaged copies: refused, one line naming the file */
    FILE *fp = fopen(path, "rb");
    fseek(fp, 0, SEEK_END);
    long size = ftell(fp);
    rewind(fp);
    unsigned char *buf = malloc((size_t)size);
    ck_assert_uint_eq(fread(buf, 1, (size_t)size, fp), (size_t)size);
    fclose(fp);
    for (int r = 0; r < 40; r++) {
        size_t n = (size_t)size, at = (size_t)(rnd() % (uint64_t)size);
        unsigned char keep = buf[at];
        if (r % 2)
            n = at; /* truncated */
        else
            buf[at] ^= (unsigned char)(1 + rnd() % 255); /* one byte changed */
        const char *bad = tu_tempfile(buf, n);
        ck_assert_int_eq(nglm_classlm_load(&l, bad, &err), -1);
        ck_assert_ptr_nonnull(strstr(err.msg, bad));
        ck_assert_ptr_null(strchr(err.msg, '\n'));
        buf[at] = keep;
    }
    ck_assert_int_eq(nglm_classlm_load(&l, tu_tempstr("NGLMCLSM"), &err), -1);
    ck_assert_int_eq(nglm_classlm_load(&l, tu_temp_path(".none"), &err), -1);
    free(buf);
    free(a);
    free(b);
    nglm_corpus_free(&c);
    nglm_classlm_free(&m);
}
END_TEST

/* 1 if the files at a and b hold the same bytes. */
static int same_bytes(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int same = fa && fb, ca, cb;
    while (same && ((ca = getc(fa)) != EOF) | ((cb = getc(fb)) != EOF))
        same = ca == cb;
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    return same;
}

/* Token by token through the one-token scorer (history from the sentence
 * start), into lp (c->n_tokens). */
static void scorer_all(const nglm_classlm *m, const nglm_corpus *c, double *lp)
{
    nglm_classlm_scorer s;
    nglm_error err;
    ck_assert_msg(nglm_classlm_scorer_init(&s, m, &err) == 0, "%s", err.msg);
    for (size_t k = 0; k < c->n_sents; k++) {
        size_t len;
        const int32_t *sent = nglm_corpus_sentence(c, k, &len);
        for (size_t i = 0; i < len; i++)
            lp[c->start[k] + i] = nglm_classlm_scorer_logprob10(&s, sent, i);
    }
    nglm_classlm_scorer_free(&s);
}

/* Scores a file's model both ways; 0 when they equal want/want1 bit for
 * bit, 1 when scoring reported a damaged block (one line naming path). */
static int score_file(const nglm_classlm *l, const nglm_corpus *c, const char *path,
                      const double *want, const double *want1)
{
    nglm_error err;
    size_t n = c->n_tokens;
    double *a = malloc(n * sizeof *a);
    int damaged = 0;
    if (nglm_classlm_score_corpus(l, c, a, 2, &err) != 0) {
        ck_assert_ptr_nonnull(strstr(err.msg, path));
        ck_assert_msg(strstr(err.msg, "are damaged"), "%s", err.msg);
        ck_assert_ptr_null(strchr(err.msg, '\n'));
        damaged = 1;
    } else {
        ck_assert_int_eq(memcmp(a, want, n * sizeof *a), 0);
    }
    scorer_all(l, c, a);
    if (nglm_classlm_check(l, &err) != 0) {
        ck_assert_ptr_nonnull(strstr(err.msg, path));
        ck_assert_msg(strstr(err.msg, "are damaged"), "%s", err.msg);
        damaged = 1;
    } else {
        ck_assert_int_eq(memcmp(a, want1, n * sizeof *a), 0);
    }
    free(a);
    return damaged;
}

/* Version 2 files mapped and loaded, version 1 files still read: all score
 * as the model in memory; a changed byte anywhere in a mapped file is
 * refused when mapping, reported when a scorer reads its block, or lies
 * where no score reads it (the scores then unchanged): never a silent
 * score; nglm_classlm_load refuses every one. */
START_TEST(test_mapped)
{
    nglm_classlm m, l;
    nglm_corpus c;
    nglm_error err;
    make_model(&m, &c, 5, 4, 11, 4000, 1);
    size_t n = c.n_tokens;
    double *want = malloc(n * sizeof *want), *want1 = malloc(n * sizeof *want1);
    ck_assert_int_eq(nglm_classlm_score_corpus(&m, &c, want, 1, &err), 0);
    scorer_all(&m, &c, want1);
    const char *path = tu_temp_path(".nglmc"), *path1 = tu_temp_path(".v1.nglmc");
    ck_assert_msg(nglm_classlm_save(&m, path, &err) == 0, "%s", err.msg);
    ck_assert_msg(nglm_classlm_save_v1(&m, path1, &err) == 0, "%s", err.msg);
    for (int v = 0; v < 2; v++) {
        const char *p = v ? path1 : path;
        ck_assert_int_eq(nglm_classlm_file_is(p), 1);
        ck_assert_msg(nglm_classlm_load(&l, p, &err) == 0, "%s", err.msg);
        ck_assert_ptr_null(l.map);
        ck_assert_int_eq(memcmp(l.theta, m.theta, m.n_weights * sizeof *m.theta), 0);
        ck_assert_int_eq(score_file(&l, &c, p, want, want1), 0);
        nglm_classlm_free(&l);
        ck_assert_msg(nglm_classlm_map(&l, p, &err) == 0, "%s", err.msg);
        ck_assert(v ? l.map == NULL : l.map != NULL); /* version 1: loaded */
        ck_assert_int_eq(memcmp(l.theta, m.theta, m.n_weights * sizeof *m.theta), 0);
        ck_assert_int_eq(score_file(&l, &c, p, want, want1), 0);
        /* a mapped model (or a version 1 file's) saves to the same bytes */
        const char *again = tu_temp_path(".again.nglmc");
        ck_assert_msg(nglm_classlm_save(&l, again, &err) == 0, "%s", err.msg);
        ck_assert_msg(same_bytes(path, again), "%s differs from %s", again, path);
        nglm_classlm_free(&l);
        ck_assert_msg(nglm_classlm_map(&l, again, &err) == 0, "%s", err.msg);
        ck_assert_int_eq(score_file(&l, &c, again, want, want1), 0);
        nglm_classlm_free(&l);
    }
    FILE *fp = fopen(path, "rb");
    fseek(fp, 0, SEEK_END);
    size_t size = (size_t)ftell(fp);
    rewind(fp);
    unsigned char *buf = malloc(size);
    ck_assert_uint_eq(fread(buf, 1, size, fp), size);
    fclose(fp);
    ck_assert_msg(size > 4 * 65536, "%zu bytes: too few blocks to test", size);
    /* one changed byte in each 1/96 of the file: the header, vocabulary,
     * classes, every index array, the weights, the block table, the CRC */
    int refused = 0, reported = 0, unread = 0;
    for (size_t r = 0; r < 96; r++) {
        size_t at = r * size / 96 + (size_t)(rnd() % (uint64_t)(size / 96));
        if (r == 95)
            at = size - 1 - (size_t)(rnd() % 40); /* the table's end, the CRC */
        unsigned char keep = buf[at];
        buf[at] ^= (unsigned char)(1 + rnd() % 255);
        const char *bad = tu_tempfile(buf, size);
        ck_assert_int_eq(nglm_classlm_load(&l, bad, &err), -1);
        ck_assert_ptr_nonnull(strstr(err.msg, bad));
        ck_assert_ptr_null(strchr(err.msg, '\n'));
        if (nglm_classlm_map(&l, bad, &err) != 0) {
            ck_assert_ptr_nonnull(strstr(err.msg, bad));
            ck_assert_ptr_null(strchr(err.msg, '\n'));
            refused++;
        } else {
            if (score_file(&l, &c, bad, want, want1))
                reported++;
            else
                unread++;
            nglm_classlm_free(&l);
        }
        buf[at] = keep;
    }
    ck_assert_int_gt(refused, 0);
    ck_assert_int_gt(reported, 0);
    /* truncated: refused by both */
    for (int r = 0; r < 12; r++) {
        size_t len = r < 11 ? (size_t)(rnd() % (uint64_t)size) : size - 1;
        const char *bad = tu_tempfile(buf, len);
        ck_assert_int_eq(nglm_classlm_load(&l, bad, &err), -1);
        ck_assert_ptr_nonnull(strstr(err.msg, bad));
        ck_assert_int_eq(nglm_classlm_map(&l, bad, &err), -1);
        ck_assert_ptr_nonnull(strstr(err.msg, bad));
        ck_assert_ptr_null(strchr(err.msg, '\n'));
    }
    ck_assert_int_eq(nglm_classlm_map(&l, tu_tempstr("NGLMCLSM"), &err), -1);
    ck_assert_int_eq(nglm_classlm_map(&l, tu_temp_path(".none"), &err), -1);
    (void)unread;
    free(buf);
    free(want);
    free(want1);
    nglm_corpus_free(&c);
    nglm_classlm_free(&m);
}
END_TEST

START_TEST(test_class_file)
{
    nglm_error err;
    char *lines[] = {"a b c d", "b c d e"};
    nglm_vocab *v = make_vocab(lines, 2);
    int32_t V = (int32_t)nglm_vocab_size(v), C, cls[16];
    size_t unlisted;
    ck_assert_int_eq(nglm_classlm_read_classes(v, tu_tempstr("a\t7\nb\t3\r\nzz\t9\n\nc\t7\n"),
                                               cls, &C, &unlisted, &err), 0);
    /* file classes 3, 7 (9 names no word of v) → 1, 2; d, e, </s>, <unk> → 3 */
    ck_assert_int_eq(C, 3);
    ck_assert_uint_eq(unlisted, 4);
    ck_assert_int_eq(cls[nglm_vocab_find(v, "a")], 2);
    ck_assert_int_eq(cls[nglm_vocab_find(v, "b")], 1);
    ck_assert_int_eq(cls[nglm_vocab_find(v, "c")], 2);
    ck_assert_int_eq(cls[nglm_vocab_find(v, "e")], 3);
    ck_assert_int_eq(cls[NGLM_EOS], 3);
    ck_assert_int_lt(V, 16);
    /* named classes (not integers): numbered by first appearance */
    ck_assert_int_eq(nglm_classlm_read_classes(v, tu_tempstr("a\tX\nb\tY\nc\tX\nd\tY\n"), cls,
                                               &C, &unlisted, &err), 0);
    ck_assert_int_eq(C, 3);
    ck_assert_int_eq(cls[nglm_vocab_find(v, "a")], 1);
    ck_assert_int_eq(cls[nglm_vocab_find(v, "d")], 2);
    ck_assert_int_eq(cls[NGLM_UNK], 3);
    const char *bad[] = {"a 1\n", "a\t1\nb\t1x\n", "a\t1\na\t2\n", "\t1\n", "a\t\n",
                         "a\t1\nb\t\377\n", "a\t1\nb\t-1\n",
                         "a\t1\nb\t1\nc\t1\nd\t1\ne\t1\n</s>\t1\n<unk>\t1\n"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *p = tu_tempstr(bad[i]);
        ck_assert_msg(nglm_classlm_read_classes(v, p, cls, &C, NULL, &err) == -1, "bad[%zu]", i);
        ck_assert_ptr_nonnull(strstr(err.msg, p));
        ck_assert_ptr_nonnull(strstr(err.msg, ":1:")   ? err.msg
                              : strstr(err.msg, ":2:") ? err.msg
                                                       : strstr(err.msg, "at least 2"));
    }
    ck_assert_int_eq(nglm_classlm_read_classes(v, tu_temp_path(".none"), cls, &C, NULL, &err), -1);
    nglm_vocab_free(v);
}
END_TEST

static Suite *classlm_suite(void)
{
    Suite *s = suite_create("classlm");
    TCase *tc = tcase_create("scoring");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_dense_sums_to_one_and_matches_fast, 0, 10);
    tcase_add_test(tc, test_random_histories);
    tcase_add_test(tc, test_cut_history);
    tcase_add_test(tc, test_init_unigrams);
    suite_add_tcase(s, tc);
    tc = tcase_create("gradients");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_gradient_finite_differences, 0, 5);
    suite_add_tcase(s, tc);
    tc = tcase_create("training");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_training_deterministic, 0, 4);
    tcase_add_test(tc, test_training_learns);
    tcase_add_loop_test(tc, test_resume_bit_identical, 0, 3);
    tcase_add_test(tc, test_resume_refuses_others);
    suite_add_tcase(s, tc);
    tc = tcase_create("file");
    tcase_add_test(tc, test_save_load);
    tcase_add_test(tc, test_mapped);
    tcase_add_test(tc, test_class_file);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(classlm_suite()); }
