/*
 * check_kn.c — the fast Kneser-Ney estimate (src/kn.c, include/nglm/kn.h)
 * against hand arithmetic and against the slow reference of
 * tests/kn_reference.h, which reads the text itself: every listed n-gram's
 * probability and back-off weight, the discounts and counts, back-off
 * scoring of every token (seen and unseen histories), distributions that sum
 * to one, the ARPA file read back, the softmax weights that give the same
 * probabilities, and one clear error for each input that has no estimate.
 */
#include <check.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nglm/arpa.h"
#include "nglm/corpus.h"
#include "nglm/error.h"
#include "nglm/features.h"
#include "nglm/gen.h"
#include "nglm/kn.h"
#include "nglm/model.h"
#include "nglm/tokenize.h"
#include "nglm/vocab.h"
#include "kn_reference.h"
#include "testutil.h"

/* ---------------------------------------------------------------- fixtures */

/* Extra ids past the words of the text: in the vocabulary, never in the
 * training text, used by the held-out texts. */
#define N_EXTRA 4

/* A corpus straight into ids: kind 0 sampled from the nglm-gen source
 * (Zipfian over 100 words), kind 1 uniform over 5 words (dense repeats,
 * lengths 1..12).  heldout: about one word in six is replaced by <unk> or
 * an extra id, so that words and contexts are unseen.  Returns V, the same
 * for every seed of a kind. */
static int32_t make_corpus(nglm_corpus *c, int kind, uint64_t seed, size_t n_sents,
                           int heldout)
{
    nglm_gen_rng rng;
    nglm_gen_rng_seed(&rng, seed);
    nglm_gen_source *src = NULL;
    int32_t n_words = kind == 0 ? 100 : 5;
    if (kind == 0) {
        nglm_gen_params p;
        nglm_gen_params_default(&p);
        p.vocab_size = (uint32_t)n_words;
        nglm_error err;
        src = nglm_gen_source_new(&p, &err);
        ck_assert_msg(src != NULL, "%s", err.msg);
    }
    int32_t V = NGLM_NUM_SPECIAL + n_words + N_EXTRA;
    memset(c, 0, sizeof *c);
    size_t cap = 1024;
    c->ids = malloc(cap * sizeof *c->ids);
    c->start = malloc((n_sents + 1) * sizeof *c->start);
    ck_assert(c->ids && c->start);
    uint32_t words[NGLM_GEN_MAX_SENTENCE];
    for (size_t s = 0; s < n_sents; s++) {
        size_t len;
        if (kind == 0) {
            nglm_gen_sample_sentence(src, &rng, words, &len, NULL);
        } else {
            len = 1 + nglm_gen_rng_next(&rng) % 12;
            for (size_t i = 0; i < len; i++)
                words[i] = (uint32_t)(nglm_gen_rng_next(&rng) % (uint64_t)n_words);
        }
        while (c->n_tokens + len + 1 > cap) {
            cap *= 2;
            c->ids = realloc(c->ids, cap * sizeof *c->ids);
            ck_assert_ptr_nonnull(c->ids);
        }
        c->start[s] = c->n_tokens;
        for (size_t i = 0; i < len; i++) {
            int32_t id = (int32_t)words[i] + NGLM_NUM_SPECIAL;
            uint64_t r = nglm_gen_rng_next(&rng);
            if (heldout && r % 6 == 0)
                id = r % 5 == 0 ? NGLM_UNK : NGLM_NUM_SPECIAL + n_words + (int32_t)(r % N_EXTRA);
            c->ids[c->n_tokens++] = id;
        }
        c->ids[c->n_tokens++] = NGLM_EOS;
        c->n_words += len;
    }
    c->start[n_sents] = c->n_tokens;
    c->n_sents = n_sents;
    nglm_gen_source_free(src);
    return V;
}

/* The training text of a kind and a held-out text from another seed. */
static int32_t make_texts(nglm_corpus *train, nglm_corpus *heldout, int kind)
{
    int32_t V = make_corpus(train, kind, 11 + (uint64_t)kind, kind == 0 ? 150 : 400, 0);
    make_corpus(heldout, kind, 911 + (uint64_t)kind, kind == 0 ? 40 : 100, 1);
    return V;
}

/* A vocabulary of V ids: the specials, then "w3" .. "w{V-1}". */
static nglm_vocab *make_vocab(int32_t V)
{
    static const char *const specials[NGLM_NUM_SPECIAL] = {NGLM_BOS_STR, NGLM_EOS_STR,
                                                           NGLM_UNK_STR};
    char **words = calloc((size_t)V, sizeof *words);
    for (int32_t i = 0; i < V; i++) {
        words[i] = malloc(16);
        if (i < NGLM_NUM_SPECIAL)
            snprintf(words[i], 16, "%s", specials[i]);
        else
            snprintf(words[i], 16, "w%d", (int)i);
    }
    nglm_error err;
    nglm_vocab *v = nglm_vocab_from_list((const char *const *)words, NULL, (size_t)V, &err);
    ck_assert_msg(v != NULL, "%s", err.msg);
    for (int32_t i = 0; i < V; i++)
        free(words[i]);
    free(words);
    return v;
}

/* The hand-computed text: ids 3, 4, 5 are a, b, c; <unk> never occurs. */
enum { BOS = NGLM_BOS, EOS = NGLM_EOS, UNK = NGLM_UNK, WA = 3, WB = 4, WC = 5, HAND_V = 6 };
static const char *const hand_words[HAND_V] = {"<s>", "</s>", "<unk>", "a", "b", "c"};

static nglm_vocab *lines_corpus(nglm_corpus *c, const char *const *lines, size_t n)
{
    nglm_error err;
    nglm_vocab *v = nglm_vocab_from_list(hand_words, NULL, HAND_V, &err);
    ck_assert_msg(v != NULL, "%s", err.msg);
    ck_assert_msg(nglm_corpus_from_lines(c, lines, n, v, &err) == 0, "%s", err.msg);
    return v;
}

static const uint64_t prune_none[NGLM_MAX_ORDER + 1] = {0};
static const uint64_t prune_some[NGLM_MAX_ORDER + 1] = {0, 0, 1, 1, 2, 2, 2, 2, 2, 2, 2};

static nglm_kn_options options(const uint64_t *prune, int fallback, int threads)
{
    nglm_kn_options opt = nglm_kn_options_default();
    memcpy(opt.prune, prune ? prune : prune_none, sizeof opt.prune);
    opt.fallback = fallback;
    opt.threads = threads;
    return opt;
}

/* The fast path: the index of every n-gram of c, then its estimate. */
static void estimate(nglm_kn *kn, nglm_features *F, const nglm_corpus *c, int32_t V, int order,
                     const nglm_kn_options *opt)
{
    nglm_error err;
    ck_assert_msg(nglm_features_build(F, c, V, order, NULL, opt->threads, &err) == 0, "%s",
                  err.msg);
    ck_assert_msg(nglm_kn_estimate(kn, F, opt, &err) == 0, "order %d: %s", order, err.msg);
}

/* The reference with the same options (which must succeed). */
static void reference(knref *R, const nglm_corpus *c, int32_t V, int order,
                      const nglm_kn_options *opt)
{
    nglm_error err;
    ck_assert_msg(knref_build(R, c, V, order, opt->prune, opt->fallback, opt->fallback_d,
                              &err) == 0, "reference, order %d: %s", order, err.msg);
}

/* A copy of sent[0..i-1] with w at position i, for scoring every w after
 * one history (nglm_kn_lnprob's i indexes the sentence). */
static int32_t *with_word(int32_t *buf, const int32_t *sent, size_t i, int32_t w)
{
    memcpy(buf, sent, i * sizeof *buf);
    buf[i] = w;
    return buf;
}

/* fds 1 and 2 go to a temporary file between quiet_begin and quiet_end,
 * which asserts that nothing was written there. */
static int quiet_saved[3];
static char quiet_path[64];

static void quiet_begin(void)
{
    snprintf(quiet_path, sizeof quiet_path, "%s", tu_tempstr(""));
    fflush(stdout);
    fflush(stderr);
    int fd = open(quiet_path, O_WRONLY | O_TRUNC);
    ck_assert_int_ge(fd, 0);
    quiet_saved[1] = dup(1);
    quiet_saved[2] = dup(2);
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
}

static void quiet_end(void)
{
    fflush(stdout);
    fflush(stderr);
    dup2(quiet_saved[1], 1);
    dup2(quiet_saved[2], 2);
    close(quiet_saved[1]);
    close(quiet_saved[2]);
    struct stat st;
    ck_assert_int_eq(stat(quiet_path, &st), 0);
    ck_assert_msg(st.st_size == 0, "the library printed %lld bytes", (long long)st.st_size);
    unlink(quiet_path);
}

/* ---------------------------------------------------------------- checks */

/* The n-gram (words, k) has probability p and back-off weight bo (1: not a
 * context) in the reference and in the fast model, to 1e-12 in log10. */
static void expect_ngram(const nglm_kn *kn, const nglm_features *F, const knref *R,
                         const int32_t *words, int k, double p, double bo)
{
    double lp = NAN, lb = NAN;
    ck_assert_msg(knref_lookup(R, words, k, &lp, &lb) == 1, "reference: %d-gram not listed", k);
    ck_assert_msg(fabs(lp - log10(p)) <= 1e-12 && fabs(lb - log10(bo)) <= 1e-12,
                  "reference %d-gram (%d %d ..): P %.17g bo %.17g, hand P %.17g bo %.17g", k,
                  (int)words[0], k > 1 ? (int)words[1] : -1, pow(10, lp), pow(10, lb), p, bo);
    lp = lb = NAN;
    ck_assert_msg(nglm_kn_lookup(kn, F, words, k, &lp, &lb) == 1, "fast: %d-gram not listed", k);
    ck_assert_msg(fabs(lp - log10(p)) <= 1e-12 && fabs(lb - log10(bo)) <= 1e-12,
                  "fast %d-gram (%d %d ..): P %.17g bo %.17g, hand P %.17g bo %.17g", k,
                  (int)words[0], k > 1 ? (int)words[1] : -1, pow(10, lp), pow(10, lb), p, bo);
}

/* The n-gram is not in either model (pruned or unseen). */
static void expect_unlisted(const nglm_kn *kn, const nglm_features *F, const knref *R,
                            const int32_t *words, int k)
{
    double lp = 1, lb = 1;
    ck_assert_int_eq(knref_lookup(R, words, k, &lp, &lb), 0);
    ck_assert_int_eq(nglm_kn_lookup(kn, F, words, k, &lp, &lb), 0);
    ck_assert(lp == 1 && lb == 1); /* untouched */
}

/* P(sent[i] | <s> sent[0..i-1]) = p by back-off, in both models. */
static void expect_score(const nglm_kn *kn, const nglm_features *F, const knref *R,
                         const int32_t *sent, size_t i, double p)
{
    double r = knref_log10prob(R, sent, i), f = nglm_kn_lnprob(kn, F, sent, i) / M_LN10;
    ck_assert_msg(fabs(r - log10(p)) <= 1e-12, "reference P %.17g, hand %.17g", pow(10, r), p);
    ck_assert_msg(fabs(f - log10(p)) <= 1e-12, "fast P %.17g, hand %.17g", pow(10, f), p);
}

/* (words, k) as two arguments */
#define NG(...) (const int32_t[]){__VA_ARGS__}, \
    (int)(sizeof((const int32_t[]){__VA_ARGS__}) / sizeof(int32_t))

/* The discounts, counts of adjusted counts and listed counts of order m
 * agree with the reference. */
static void assert_order_stats(const nglm_kn *kn, const knref *R, int m, const char *what)
{
    ck_assert_msg(kn->count[m] == R->listed[m], "%s: %d-grams listed %llu, reference %llu",
                  what, m, (unsigned long long)kn->count[m], (unsigned long long)R->listed[m]);
    for (int j = 1; j <= 4; j++)
        ck_assert_msg(kn->n_adj[m][j] == R->n_adj[m][j], "%s: n_adj[%d][%d] %llu, reference %llu",
                      what, m, j, (unsigned long long)kn->n_adj[m][j],
                      (unsigned long long)R->n_adj[m][j]);
    for (int j = 1; j <= 3; j++)
        ck_assert_msg(fabs(kn->D[m][j] - R->D[m][j]) <= 1e-12,
                      "%s: D[%d][%d] %.17g, reference %.17g", what, m, j, kn->D[m][j], R->D[m][j]);
    ck_assert_msg(kn->fallback_used[m] == R->fallback_used[m], "%s: fallback_used[%d]", what, m);
}

/* The fast model equals the reference: shape, per-order statistics, every
 * n-gram of the text (listed: same log10 P and back-off to 1e-12, same
 * adjusted count; pruned: not listed), every n-gram of the texts (unseen
 * ones not listed), and the back-off score of every token to 1e-10. */
static void assert_same_as_reference(const nglm_kn *kn, const nglm_features *F, const knref *R,
                                     const nglm_corpus *const *texts, int n_texts,
                                     const char *what)
{
    ck_assert_msg(kn->order == R->order && kn->V == R->V, "%s: shape", what);
    ck_assert_msg(kn->n_feat == F->n_feat && kn->n_ctx == F->n_ctx, "%s: index size", what);
    for (int m = 1; m <= R->order; m++) {
        assert_order_stats(kn, R, m, what);
        for (size_t k = 0; k < R->n[m]; k++) {
            const knref_gram *g = &R->g[m][k];
            int32_t f = nglm_kn_find(F, g->w, m);
            ck_assert_msg(f >= 0, "%s: %d-gram %zu not in the index", what, m, k);
            if (m >= 2)
                ck_assert_uint_eq(F->feat_count[f], g->count);
            ck_assert_msg(kn->adj[f] == g->adj,
                          "%s: %d-gram %zu: adjusted count %u, reference %llu", what, m, k,
                          kn->adj[f], (unsigned long long)g->adj);
            double lp = 1, lb = 1, rp, rb;
            int listed = nglm_kn_lookup(kn, F, g->w, m, &lp, &lb);
            if (g->pruned) {
                ck_assert_msg(listed == 0 && lp == 1 && lb == 1, "%s: pruned %d-gram %zu listed",
                              what, m, k);
                ck_assert_msg(isnan(kn->lnp[f]), "%s: pruned %d-gram %zu: lnp not NAN", what, m, k);
                continue;
            }
            ck_assert_msg(listed == 1, "%s: %d-gram %zu not listed", what, m, k);
            ck_assert_int_eq(knref_lookup(R, g->w, m, &rp, &rb), 1);
            ck_assert_msg(fabs(lp - rp) <= 1e-12 && fabs(lb - rb) <= 1e-12,
                          "%s: %d-gram %zu (first words %d %d): log10 P %.17g bo %.17g, "
                          "reference %.17g %.17g", what, m, k, (int)g->w[0],
                          m > 1 ? (int)g->w[1] : -1, lp, lb, rp, rb);
        }
    }
    for (int t = 0; t < n_texts; t++) {
        const nglm_corpus *c = texts[t];
        for (size_t s = 0; s < c->n_sents; s++) {
            size_t len;
            const int32_t *sent = nglm_corpus_sentence(c, s, &len);
            for (size_t i = 0; i < len; i++) {
                /* the n-grams ending at i, (<s> ..) included */
                int32_t x[NGLM_MAX_ORDER];
                for (int m = 1; m <= R->order && (long)i - m + 1 >= -1; m++) {
                    for (int j = 0; j < m; j++) {
                        long pos = (long)i - m + 1 + j;
                        x[j] = pos >= 0 ? sent[pos] : NGLM_BOS;
                    }
                    double lp = 1, lb = 1, rp, rb;
                    int want = knref_lookup(R, x, m, &rp, &rb);
                    ck_assert_msg(nglm_kn_lookup(kn, F, x, m, &lp, &lb) == want,
                                  "%s: text %d sentence %zu position %zu: %d-gram listed "
                                  "differs", what, t, s, i, m);
                    if (knref_find(R, x, m) == NULL)
                        ck_assert_int_eq(nglm_kn_find(F, x, m), -1);
                }
                double r = knref_log10prob(R, sent, i) * M_LN10;
                double f = nglm_kn_lnprob(kn, F, sent, i);
                ck_assert_msg(fabs(f - r) <= 1e-10,
                              "%s: text %d sentence %zu position %zu (word %d): ln P %.17g, "
                              "reference %.17g", what, t, s, i, (int)sent[i], f, r);
            }
        }
    }
}

/* Σ_{w ≠ <s>} P(w | <s> hist[0..i-1]) = 1, through the fast path and (when
 * R is not NULL) through the reference. */
static void assert_sums_to_one(const nglm_kn *kn, const nglm_features *F, const knref *R,
                               const int32_t *hist, size_t i, const char *what)
{
    int32_t buf[NGLM_GEN_MAX_SENTENCE + 2];
    ck_assert_uint_lt(i, sizeof buf / sizeof *buf);
    double sum = 0, rsum = 0;
    for (int32_t w = 1; w < kn->V; w++) {
        with_word(buf, hist, i, w);
        sum += exp(nglm_kn_lnprob(kn, F, buf, i));
        if (R)
            rsum += pow(10.0, knref_log10prob(R, buf, i));
    }
    ck_assert_msg(fabs(sum - 1.0) <= 1e-12, "%s: position %zu: fast Σ P = %.17g", what, i, sum);
    if (R)
        ck_assert_msg(fabs(rsum - 1.0) <= 1e-12, "%s: position %zu: reference Σ P = %.17g",
                      what, i, rsum);
}

/* Sums to one after the first positions of the first sentences of c, and
 * after the same histories reversed (mostly unseen contexts). */
static void assert_text_sums_to_one(const nglm_kn *kn, const nglm_features *F, const knref *R,
                                    const nglm_corpus *c, size_t n_sents, size_t n_pos,
                                    const char *what)
{
    int32_t rev[NGLM_GEN_MAX_SENTENCE + 2];
    for (size_t s = 0; s < n_sents && s < c->n_sents; s++) {
        size_t len;
        const int32_t *sent = nglm_corpus_sentence(c, s, &len);
        for (size_t i = 0; i < len && i < n_pos; i++) {
            assert_sums_to_one(kn, F, R, sent, i, what);
            for (size_t j = 0; j < i; j++)
                rev[j] = sent[i - 1 - j];
            assert_sums_to_one(kn, F, R, rev, i, what);
        }
    }
}

/* ---------------------------------------------------------------- hand-computed */

/*
 * The text (V = 6: <s> </s> <unk> a b c; <unk> never occurs):
 *
 *   a b / a b / a b a / a c / c
 *
 * Bigrams (raw counts): <s> a 4, a b 3, b </s> 2, c </s> 2, <s> c 1,
 * a </s> 1, a c 1, b a 1.
 */

/*
 * Order 2.  Bigrams are the highest order: a = raw count.
 *   n1 = 4 (<s> c, a </s>, a c, b a), n2 = 2 (b </s>, c </s>), n3 = 1 (a b),
 *   n4 = 1 (<s> a).  Y = 4 / (4 + 4) = 0.5
 *   D2(1) = 1 - 2·0.5·2/4 = 0.5,  D2(2) = 2 - 3·0.5·1/2 = 1.25,
 *   D2(3) = 3 - 4·0.5·1/1 = 1
 * Unigrams: a = distinct left neighbours: a {<s>, b} 2, b {a} 1,
 *   c {a, <s>} 2, </s> {b, a, c} 3; <s>, <unk> 0.
 *   n1 = 1, n2 = 2, n3 = 1, n4 = 0.  Y = 1 / (1 + 4) = 0.2
 *   D1(1) = 1 - 2·0.2·2/1 = 0.2,  D1(2) = 2 - 3·0.2·1/2 = 1.7,
 *   D1(3) = 3 - 0 = 3
 *   S(∅) = 2 + 1 + 2 + 3 = 8,  γ(∅) = (0.2·1 + 1.7·2 + 3·1) / 8 = 0.825,
 *   uniform share γ(∅)/(V-1) = 0.825 / 5 = 0.165
 *   P(a) = (2 - 1.7)/8 + 0.165 = 0.2025    P(b) = (1 - 0.2)/8 + 0.165 = 0.265
 *   P(c) = 0.2025    P(</s>) = (3 - 3)/8 + 0.165 = 0.165    P(<unk>) = 0.165
 * Context <s>: a 4, c 1; S = 5; γ = (0.5·1 + 1·1)/5 = 0.3
 *   P(a | <s>) = (4 - 1)/5 + 0.3·0.2025 = 0.66075
 *   P(c | <s>) = (1 - 0.5)/5 + 0.3·0.2025 = 0.16075
 * Context a: b 3, </s> 1, c 1; S = 5; γ = (0.5·2 + 1·1)/5 = 0.4
 *   P(b | a) = (3 - 1)/5 + 0.4·0.265 = 0.506
 *   P(</s> | a) = 0.5/5 + 0.4·0.165 = 0.166     P(c | a) = 0.1 + 0.4·0.2025 = 0.181
 * Context b: </s> 2, a 1; S = 3; γ = (0.5 + 1.25)/3 = 1.75/3
 *   P(</s> | b) = (2 - 1.25)/3 + (1.75/3)·0.165 = 0.34625
 *   P(a | b) = 0.5/3 + (1.75/3)·0.2025 = 0.854375/3
 * Context c: </s> 2; S = 2; γ = 1.25/2 = 0.625
 *   P(</s> | c) = 0.75/2 + 0.625·0.165 = 0.478125
 * Back-off: P(b | <s>) = 0.3·0.265 = 0.0795,  P(<unk> | a) = 0.4·0.165 = 0.066,
 *   P(b | c) = 0.625·0.265 = 0.165625
 */
static const char *const hand_lines[] = {"a b", "a b", "a b a", "a c", "c"};

START_TEST(test_hand_bigram)
{
    nglm_corpus c;
    nglm_vocab *v = lines_corpus(&c, hand_lines, 5);
    nglm_kn_options opt = options(NULL, 0, 1);
    nglm_features F;
    nglm_kn kn;
    knref R;
    estimate(&kn, &F, &c, HAND_V, 2, &opt);
    reference(&R, &c, HAND_V, 2, &opt);

    ck_assert_int_eq(kn.order, 2);
    ck_assert_int_eq(kn.V, HAND_V);
    ck_assert_uint_eq(kn.count[1], 6);
    ck_assert_uint_eq(kn.count[2], 8);
    const uint64_t nadj[3][5] = {{0}, {0, 1, 2, 1, 0}, {0, 4, 2, 1, 1}};
    const double D[3][4] = {{0}, {0, 0.2, 1.7, 3}, {0, 0.5, 1.25, 1}};
    for (int m = 1; m <= 2; m++) {
        for (int j = 1; j <= 4; j++) {
            ck_assert_uint_eq(kn.n_adj[m][j], nadj[m][j]);
            ck_assert_uint_eq(R.n_adj[m][j], nadj[m][j]);
        }
        for (int j = 1; j <= 3; j++) {
            ck_assert_double_eq_tol(kn.D[m][j], D[m][j], 1e-12);
            ck_assert_double_eq_tol(R.D[m][j], D[m][j], 1e-12);
        }
        ck_assert_int_eq(kn.fallback_used[m], 0);
        ck_assert_uint_eq(R.listed[m], kn.count[m]);
    }

    expect_ngram(&kn, &F, &R, NG(BOS), 1.0, 0.3);
    expect_ngram(&kn, &F, &R, NG(WA), 0.2025, 0.4);
    expect_ngram(&kn, &F, &R, NG(WB), 0.265, 1.75 / 3);
    expect_ngram(&kn, &F, &R, NG(WC), 0.2025, 0.625);
    expect_ngram(&kn, &F, &R, NG(EOS), 0.165, 1);
    expect_ngram(&kn, &F, &R, NG(UNK), 0.165, 1);
    expect_ngram(&kn, &F, &R, NG(BOS, WA), 0.66075, 1);
    expect_ngram(&kn, &F, &R, NG(BOS, WC), 0.16075, 1);
    expect_ngram(&kn, &F, &R, NG(WA, WB), 0.506, 1);
    expect_ngram(&kn, &F, &R, NG(WA, EOS), 0.166, 1);
    expect_ngram(&kn, &F, &R, NG(WA, WC), 0.181, 1);
    expect_ngram(&kn, &F, &R, NG(WB, EOS), 0.34625, 1);
    expect_ngram(&kn, &F, &R, NG(WB, WA), 0.854375 / 3, 1);
    expect_ngram(&kn, &F, &R, NG(WC, EOS), 0.478125, 1);
    expect_unlisted(&kn, &F, &R, NG(BOS, WB));
    expect_unlisted(&kn, &F, &R, NG(WC, WB));

    const int32_t s1[] = {WB, EOS}, s2[] = {WA, UNK, EOS}, s3[] = {WC, WB, EOS};
    expect_score(&kn, &F, &R, s1, 0, 0.0795);
    expect_score(&kn, &F, &R, s2, 0, 0.66075);
    expect_score(&kn, &F, &R, s2, 1, 0.066);
    expect_score(&kn, &F, &R, s3, 1, 0.165625);
    assert_text_sums_to_one(&kn, &F, &R, &c, 5, 4, "hand bigram");

    knref_free(&R);
    nglm_kn_free(&kn);
    nglm_features_free(&F);
    nglm_corpus_free(&c);
    nglm_vocab_free(v);
}
END_TEST

/*
 * Order 3 on the same text.  Trigrams (raw counts): <s> a b 3, a b </s> 2,
 * a b a 1, b a </s> 1, <s> a c 1, a c </s> 1, <s> c </s> 1.
 *   n1 = 5, n2 = 1, n3 = 1: Y = 5/7, D3(2) = 2 - 3·(5/7)·1/1 < 0: fallback.
 * Bigrams now adjusted: <s> a 4, <s> c 1 (raw, start with <s>); a b 1 {<s>},
 *   b </s> 1 {a}, b a 1 {a}, a </s> 1 {b}, a c 1 {<s>}, c </s> 2 {a, <s>}.
 *   n1 = 6, n2 = 1, n3 = 0: fallback.  So D2 = D3 = (0.5, 1, 1.5).
 * Unigrams as for order 2 (the same bigrams): P(a) = 0.2025, P(b) = 0.265,
 *   P(c) = 0.2025, P(</s>) = P(<unk>) = 0.165.
 * Context <s>: a 4, c 1; S = 5; γ = (0.5 + 1.5)/5 = 0.4
 *   P(a | <s>) = 2.5/5 + 0.4·0.2025 = 0.581,  P(c | <s>) = 0.1 + 0.081 = 0.181
 * Context a: b, </s>, c all 1; S = 3; γ = 1.5/3 = 0.5
 *   P(b | a) = 0.5/3 + 0.5·0.265 = 359/1200
 *   P(</s> | a) = 0.5/3 + 0.5·0.165 = 299/1200,  P(c | a) = 0.5/3 + 0.5·0.2025 = 643/2400
 * Context b: </s> 1, a 1; S = 2; γ = 0.5
 *   P(</s> | b) = 0.25 + 0.0825 = 0.3325,  P(a | b) = 0.25 + 0.10125 = 0.35125
 * Context c: </s> 2; S = 2; γ = 1/2:  P(</s> | c) = 1/2 + 0.5·0.165 = 0.5825
 * Context <s> a: b 3, c 1; S = 4; γ = (0.5 + 1.5)/4 = 0.5
 *   P(b | <s> a) = 1.5/4 + 0.5·359/1200 = 0.375 + 359/2400
 *   P(c | <s> a) = 0.5/4 + 0.5·643/2400 = 0.125 + 643/4800
 * Context a b: </s> 2, a 1; S = 3; γ = (0.5 + 1)/3 = 0.5
 *   P(</s> | a b) = 1/3 + 0.5·0.3325,  P(a | a b) = 0.5/3 + 0.5·0.35125
 * Contexts b a, a c, <s> c: one successor </s> with a = 1; S = 1; γ = 0.5
 *   P(</s> | b a) = 0.5 + 0.5·299/1200
 *   P(</s> | a c) = P(</s> | <s> c) = 0.5 + 0.5·0.5825 = 0.79125
 * Back-off: P(c | a b) = γ(a b)·γ(b)·P(c) = 0.5·0.5·0.2025 = 0.050625
 */
START_TEST(test_hand_trigram)
{
    nglm_corpus c;
    nglm_vocab *v = lines_corpus(&c, hand_lines, 5);
    nglm_features F;
    nglm_kn kn;
    knref R;
    nglm_error err;

    /* without the fallback: an error naming the discounts and the fallback */
    nglm_kn_options opt = options(NULL, 0, 1);
    ck_assert_int_eq(nglm_features_build(&F, &c, HAND_V, 3, NULL, 1, &err), 0);
    quiet_begin();
    int rc = nglm_kn_estimate(&kn, &F, &opt, &err);
    quiet_end();
    ck_assert_int_eq(rc, -1);
    ck_assert_msg(strstr(err.msg, "fallback") != NULL, "%s", err.msg);
    ck_assert_int_eq(knref_build(&R, &c, HAND_V, 3, opt.prune, 0, opt.fallback_d, &err), -1);
    nglm_features_free(&F);

    opt.fallback = 1;
    estimate(&kn, &F, &c, HAND_V, 3, &opt);
    reference(&R, &c, HAND_V, 3, &opt);
    const uint64_t count[4] = {0, 6, 8, 7};
    const uint64_t nadj[4][5] = {{0}, {0, 1, 2, 1, 0}, {0, 6, 1, 0, 1}, {0, 5, 1, 1, 0}};
    const double D[4][4] = {{0}, {0, 0.2, 1.7, 3}, {0, 0.5, 1, 1.5}, {0, 0.5, 1, 1.5}};
    const int fallback_used[4] = {0, 0, 1, 1};
    for (int m = 1; m <= 3; m++) {
        ck_assert_uint_eq(kn.count[m], count[m]);
        ck_assert_uint_eq(R.listed[m], count[m]);
        for (int j = 1; j <= 4; j++) {
            ck_assert_uint_eq(kn.n_adj[m][j], nadj[m][j]);
            ck_assert_uint_eq(R.n_adj[m][j], nadj[m][j]);
        }
        for (int j = 1; j <= 3; j++) {
            ck_assert_double_eq_tol(kn.D[m][j], D[m][j], 1e-12);
            ck_assert_double_eq_tol(R.D[m][j], D[m][j], 1e-12);
        }
        ck_assert_int_eq(kn.fallback_used[m], fallback_used[m]);
        ck_assert_int_eq(R.fallback_used[m], fallback_used[m]);
    }

    expect_ngram(&kn, &F, &R, NG(BOS), 1.0, 0.4);
    expect_ngram(&kn, &F, &R, NG(WA), 0.2025, 0.5);
    expect_ngram(&kn, &F, &R, NG(WB), 0.265, 0.5);
    expect_ngram(&kn, &F, &R, NG(UNK), 0.165, 1);
    expect_ngram(&kn, &F, &R, NG(BOS, WA), 0.581, 0.5);
    expect_ngram(&kn, &F, &R, NG(BOS, WC), 0.181, 0.5);
    expect_ngram(&kn, &F, &R, NG(WA, WB), 359.0 / 1200, 0.5);
    expect_ngram(&kn, &F, &R, NG(WA, EOS), 299.0 / 1200, 1);
    expect_ngram(&kn, &F, &R, NG(WA, WC), 643.0 / 2400, 0.5);
    expect_ngram(&kn, &F, &R, NG(WB, EOS), 0.3325, 1);
    expect_ngram(&kn, &F, &R, NG(WB, WA), 0.35125, 0.5);
    expect_ngram(&kn, &F, &R, NG(WC, EOS), 0.5825, 1);
    expect_ngram(&kn, &F, &R, NG(BOS, WA, WB), 0.375 + 359.0 / 2400, 1);
    expect_ngram(&kn, &F, &R, NG(BOS, WA, WC), 0.125 + 643.0 / 4800, 1);
    expect_ngram(&kn, &F, &R, NG(WA, WB, EOS), 1.0 / 3 + 0.5 * 0.3325, 1);
    expect_ngram(&kn, &F, &R, NG(WA, WB, WA), 0.5 / 3 + 0.5 * 0.35125, 1);
    expect_ngram(&kn, &F, &R, NG(WB, WA, EOS), 0.5 + 0.5 * 299.0 / 1200, 1);
    expect_ngram(&kn, &F, &R, NG(WA, WC, EOS), 0.79125, 1);
    expect_ngram(&kn, &F, &R, NG(BOS, WC, EOS), 0.79125, 1);
    expect_unlisted(&kn, &F, &R, NG(WA, WB, WC));

    const int32_t s1[] = {WA, WB, WC, EOS}, s2[] = {WA, WB, EOS};
    expect_score(&kn, &F, &R, s1, 2, 0.050625);
    expect_score(&kn, &F, &R, s2, 1, 0.375 + 359.0 / 2400);
    expect_score(&kn, &F, &R, s2, 2, 1.0 / 3 + 0.5 * 0.3325);
    assert_text_sums_to_one(&kn, &F, &R, &c, 5, 4, "hand trigram");

    knref_free(&R);
    nglm_kn_free(&kn);
    nglm_features_free(&F);
    nglm_corpus_free(&c);
    nglm_vocab_free(v);
}
END_TEST

/*
 * Order 3 with prune[3] = 1: only the trigrams <s> a b (3) and a b </s> (2)
 * stay.  Counts and discounts are those above; unigrams and bigrams as above.
 * Context <s> a: S = 4 over b 3 and the pruned c 1; γ = (1.5 + 1)/4 = 0.625
 *   P(b | <s> a) = 1.5/4 + 0.625·359/1200
 * Context a b: S = 3 over </s> 2 and the pruned a 1; γ = (1 + 1)/3 = 2/3
 *   P(</s> | a b) = 1/3 + (2/3)·0.3325 = 0.555
 * Contexts b a, a c, <s> c: every successor pruned, back-off weight 1.
 * Back-off: P(a | a b) = (2/3)·P(a | b) = (2/3)·0.35125,
 *   P(c | a b) = (2/3)·0.5·0.2025 = 0.0675, P(</s> | a c) = P(</s> | c) = 0.5825
 */
START_TEST(test_hand_pruned)
{
    nglm_corpus c;
    nglm_vocab *v = lines_corpus(&c, hand_lines, 5);
    const uint64_t prune[NGLM_MAX_ORDER + 1] = {0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1};
    nglm_kn_options opt = options(prune, 1, 1);
    nglm_features F;
    nglm_kn kn;
    knref R;
    estimate(&kn, &F, &c, HAND_V, 3, &opt);
    reference(&R, &c, HAND_V, 3, &opt);
    ck_assert_uint_eq(kn.count[1], 6);
    ck_assert_uint_eq(kn.count[2], 8);
    ck_assert_uint_eq(kn.count[3], 2);
    ck_assert_uint_eq(R.listed[3], 2);
    ck_assert_uint_eq(kn.n_adj[3][1], 5); /* pruned trigrams still counted */
    ck_assert_int_eq(kn.fallback_used[3], 1);

    expect_ngram(&kn, &F, &R, NG(BOS, WA), 0.581, 0.625);
    expect_ngram(&kn, &F, &R, NG(WA, WB), 359.0 / 1200, 2.0 / 3);
    expect_ngram(&kn, &F, &R, NG(WB, WA), 0.35125, 1);
    expect_ngram(&kn, &F, &R, NG(WA, WC), 643.0 / 2400, 1);
    expect_ngram(&kn, &F, &R, NG(BOS, WC), 0.181, 1);
    expect_ngram(&kn, &F, &R, NG(BOS, WA, WB), 0.375 + 0.625 * 359.0 / 1200, 1);
    expect_ngram(&kn, &F, &R, NG(WA, WB, EOS), 0.555, 1);
    expect_unlisted(&kn, &F, &R, NG(WA, WB, WA));
    expect_unlisted(&kn, &F, &R, NG(BOS, WA, WC));
    expect_unlisted(&kn, &F, &R, NG(WA, WC, EOS));

    const int32_t s1[] = {WA, WB, WA, EOS}, s2[] = {WA, WB, WC, EOS}, s3[] = {WA, WC, EOS};
    expect_score(&kn, &F, &R, s1, 2, 2.0 / 3 * 0.35125);
    expect_score(&kn, &F, &R, s2, 2, 0.0675);
    expect_score(&kn, &F, &R, s3, 2, 0.5825);
    assert_text_sums_to_one(&kn, &F, &R, &c, 5, 4, "hand pruned");

    knref_free(&R);
    nglm_kn_free(&kn);
    nglm_features_free(&F);
    nglm_corpus_free(&c);
    nglm_vocab_free(v);
}
END_TEST

/* ---------------------------------------------------------------- against the reference */

/* Orders 1..6, with and without pruning, 1 and 2 threads: the fast model
 * equals the reference.  Where the reference cannot estimate the discounts
 * without the fallback, the fast path must refuse too, naming the fallback;
 * both then run with it. */
START_TEST(test_same_as_reference)
{
    int kind = _i;
    nglm_corpus train, heldout;
    int32_t V = make_texts(&train, &heldout, kind);
    const nglm_corpus *texts[2] = {&train, &heldout};
    nglm_error err;
    for (int order = 1; order <= 6; order++)
        for (int pi = 0; pi < 2; pi++) {
            nglm_kn_options opt = options(pi ? prune_some : NULL, 0, 1);
            knref R;
            if (knref_build(&R, &train, V, order, opt.prune, 0, opt.fallback_d, &err) != 0) {
                nglm_features F;
                nglm_kn kn;
                ck_assert_int_eq(nglm_features_build(&F, &train, V, order, NULL, 1, &err), 0);
                ck_assert_msg(nglm_kn_estimate(&kn, &F, &opt, &err) == -1,
                              "kind %d order %d: the fast path estimates discounts the "
                              "reference cannot", kind, order);
                ck_assert_msg(strstr(err.msg, "fallback") != NULL, "%s", err.msg);
                nglm_features_free(&F);
                opt.fallback = 1;
                reference(&R, &train, V, order, &opt);
            }
            for (int threads = 1; threads <= 2; threads++) {
                char what[96];
                snprintf(what, sizeof what, "kind %d order %d prune %d fallback %d threads %d",
                         kind, order, pi, opt.fallback, threads);
                opt.threads = threads;
                nglm_features F;
                nglm_kn kn;
                estimate(&kn, &F, &train, V, order, &opt);
                assert_same_as_reference(&kn, &F, &R, texts, 2, what);
                nglm_kn_free(&kn);
                nglm_features_free(&F);
            }
            knref_free(&R);
        }
    nglm_corpus_free(&heldout);
    nglm_corpus_free(&train);
}
END_TEST

/* lmplz's statistics (opt.text, nglm/kn.h): by brute force over every
 * position, the padded n-gram that comes last in lmplz's sort order (newest
 * word first, words numbered <unk> 0, <s> 1, </s> 2, then by first
 * appearance); its suffixes below the top order, up to the first that
 * starts with <s>, count in n_j with their raw counts.  The fast path finds
 * them by walking the trie instead. */
static void lmplz_expected(const knref *R, const nglm_corpus *c, int32_t V, int order,
                           uint64_t n_adj[][5])
{
    uint32_t *rank = calloc((size_t)V, sizeof *rank);
    uint32_t next = 3;
    for (size_t t = 0; t < c->n_tokens; t++)
        if (c->ids[t] >= NGLM_NUM_SPECIAL && rank[c->ids[t]] == 0)
            rank[c->ids[t]] = next++;
    rank[UNK] = 0;
    rank[BOS] = 1;
    rank[EOS] = 2;
    int32_t best[NGLM_MAX_ORDER], win[NGLM_MAX_ORDER];
    int have = 0;
    for (size_t s = 0; s < c->n_sents; s++) {
        size_t len;
        const int32_t *sent = nglm_corpus_sentence(c, s, &len);
        for (size_t i = 0; i < len; i++) {
            for (int j = 0; j < order; j++) {
                long pos = (long)i - (order - 1) + j;
                win[j] = pos >= 0 ? sent[pos] : BOS;
            }
            int later = !have;
            for (int j = order - 1; j >= 0 && !later; j--) {
                if (rank[win[j]] != rank[best[j]]) {
                    later = rank[win[j]] > rank[best[j]];
                    break;
                }
            }
            if (later) {
                memcpy(best, win, sizeof win);
                have = 1;
            }
        }
    }
    memcpy(n_adj, R->n_adj, sizeof R->n_adj);
    for (int m = 1; m < order; m++) {
        const int32_t *x = best + order - m;
        knref_gram *g = knref_find(R, x, m);
        ck_assert_ptr_nonnull(g);
        if (g->adj <= 4)
            n_adj[m][g->adj]--;
        if (g->count <= 4)
            n_adj[m][g->count]++;
        if (x[0] == BOS)
            break;
    }
    free(rank);
}

START_TEST(test_lmplz_statistics)
{
    int kind = _i;
    nglm_corpus train, heldout;
    int32_t V = make_texts(&train, &heldout, kind);
    int moved = 0;
    for (int order = 2; order <= 6; order++) {
        nglm_kn_options opt = options(NULL, 1, 2);
        knref R;
        reference(&R, &train, V, order, &opt);
        uint64_t want[NGLM_MAX_ORDER + 1][5];
        lmplz_expected(&R, &train, V, order, want);
        opt.text = &train;
        nglm_features F;
        nglm_kn kn;
        estimate(&kn, &F, &train, V, order, &opt);
        for (int m = 1; m <= order; m++)
            for (int j = 1; j <= 4; j++) {
                ck_assert_msg(kn.n_adj[m][j] == want[m][j],
                              "kind %d order %d: n_adj[%d][%d] %llu, lmplz's %llu", kind, order,
                              m, j, (unsigned long long)kn.n_adj[m][j],
                              (unsigned long long)want[m][j]);
                moved |= want[m][j] != R.n_adj[m][j];
            }
        for (int m = 1; m <= order; m++) /* the discounts follow from those n_j */
            if (!kn.fallback_used[m]) {
                const uint64_t *n = want[m];
                double y = (double)n[1] / ((double)n[1] + 2.0 * (double)n[2]);
                for (int j = 1; j <= 3; j++)
                    ck_assert(fabs(kn.D[m][j] - (j - (j + 1) * y * (double)n[j + 1] /
                                                           (double)n[j])) < 1e-12);
            }
        nglm_kn_free(&kn);
        nglm_features_free(&F);
        knref_free(&R);
    }
    /* the dense text's last n-grams are seen more than 4 times, so only the
     * Zipfian one shows the difference */
    ck_assert_msg(moved || kind == 1, "kind %d: no order where lmplz's statistics differ: "
                  "the test shows nothing", kind);
    nglm_corpus_free(&heldout);
    nglm_corpus_free(&train);
}
END_TEST

/* The same by hand, where the walk past the 1-grams matters.  First
 * appearances: q 3, y 4, x 5, z 6, so z is lmplz's last 1-gram (seen 3
 * times, 2 left neighbours); of these y (4) beats q (3), and "y z" is seen
 * twice with one left
 * extension (x), so at order 3 it counts as 2, not 1; at order 4 so does
 * "x y z" (seen twice, left extension <s> only), and the walk stops at
 * "<s> x y z".  Picking q instead of y, or stopping after the 1-grams,
 * changes these counts. */
START_TEST(test_lmplz_statistics_hand)
{
    static const char *const words[] = {"<s>", "</s>", "<unk>", "q", "y", "x", "z"};
    static const char *const lines[] = {"q y x", "x y z", "x y z", "q z"};
    nglm_error err;
    nglm_vocab *v = nglm_vocab_from_list(words, NULL, 7, &err);
    ck_assert_msg(v != NULL, "%s", err.msg);
    nglm_corpus c;
    ck_assert_msg(nglm_corpus_from_lines(&c, lines, 4, v, &err) == 0, "%s", err.msg);
    for (int order = 3; order <= 4; order++) {
        nglm_kn_options opt = options(NULL, 1, 1);
        nglm_features F;
        nglm_kn plain, lmplz;
        estimate(&plain, &F, &c, 7, order, &opt);
        nglm_features_free(&F);
        opt.text = &c;
        estimate(&lmplz, &F, &c, 7, order, &opt);
        /* 1-grams: z (left neighbours y and q, seen 3 times) moves from 2 to 3 */
        ck_assert_uint_eq(lmplz.n_adj[1][2], plain.n_adj[1][2] - 1);
        ck_assert_uint_eq(lmplz.n_adj[1][3], plain.n_adj[1][3] + 1);
        /* 2-grams: "y z" moves from adjusted count 1 to its raw count 2 */
        ck_assert_uint_eq(lmplz.n_adj[2][1], plain.n_adj[2][1] - 1);
        ck_assert_uint_eq(lmplz.n_adj[2][2], plain.n_adj[2][2] + 1);
        if (order == 4) { /* 3-grams: so does "x y z" */
            ck_assert_uint_eq(lmplz.n_adj[3][1], plain.n_adj[3][1] - 1);
            ck_assert_uint_eq(lmplz.n_adj[3][2], plain.n_adj[3][2] + 1);
        }
        for (int j = 1; j <= 4; j++) /* the top order is never touched */
            ck_assert_uint_eq(lmplz.n_adj[order][j], plain.n_adj[order][j]);
        nglm_kn_free(&plain);
        nglm_kn_free(&lmplz);
        nglm_features_free(&F);
    }
    nglm_corpus_free(&c);
    nglm_vocab_free(v);
}
END_TEST

/* P(· | h) sums to one over every w ≠ <s>, for histories of the training
 * text, of the held-out text (unseen words) and reversed ones (unseen
 * contexts), in the fast model and in the reference, orders 1..6, with and
 * without pruning. */
START_TEST(test_sums_to_one)
{
    int kind = _i;
    nglm_corpus train, heldout;
    int32_t V = make_texts(&train, &heldout, kind);
    for (int order = 1; order <= 6; order++)
        for (int pi = 0; pi < 2; pi++) {
            char what[64];
            snprintf(what, sizeof what, "kind %d order %d prune %d", kind, order, pi);
            nglm_kn_options opt = options(pi ? prune_some : NULL, 1, 2);
            nglm_features F;
            nglm_kn kn;
            knref R;
            estimate(&kn, &F, &train, V, order, &opt);
            reference(&R, &train, V, order, &opt);
            assert_text_sums_to_one(&kn, &F, &R, &train, 12, 8, what);
            assert_text_sums_to_one(&kn, &F, &R, &heldout, 12, 8, what);
            knref_free(&R);
            nglm_kn_free(&kn);
            nglm_features_free(&F);
        }
    nglm_corpus_free(&heldout);
    nglm_corpus_free(&train);
}
END_TEST

/* ---------------------------------------------------------------- ARPA */

/* The plain ARPA file at path, line by line against R: the declared counts
 * and the sections hold exactly R's listed n-grams, each once, with R's
 * log10 probability and back-off weight (7 decimals), and <s> with log10
 * probability 0. */
static void assert_arpa_file(const char *path, const knref *R, const nglm_vocab *v)
{
    FILE *fp = fopen(path, "r");
    ck_assert_ptr_nonnull(fp);
    char line[8192];
    uint64_t declared[NGLM_MAX_ORDER + 2] = {0}, lines[NGLM_MAX_ORDER + 2] = {0};
    char *seen[NGLM_MAX_ORDER + 1] = {NULL};
    for (int m = 1; m <= R->order; m++)
        seen[m] = calloc(R->n[m] + 1, 1);
    int section = -1, data = 0, end = 0;
    while (fgets(line, sizeof line, fp) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        int k;
        unsigned long long n;
        if (strcmp(line, "\\data\\") == 0) {
            data = 1;
        } else if (strcmp(line, "\\end\\") == 0) {
            end = 1;
            break;
        } else if (sscanf(line, "ngram %d=%llu", &k, &n) == 2) {
            ck_assert_int_ge(k, 1);
            ck_assert_int_le(k, R->order);
            declared[k] = n;
        } else if (sscanf(line, "\\%d-grams:", &k) == 1) {
            ck_assert_int_ge(k, 1);
            ck_assert_int_le(k, R->order);
            section = k;
        } else if (section > 0 && line[0] != '\0') {
            char *save = NULL, *tok = strtok_r(line, " \t", &save);
            ck_assert_ptr_nonnull(tok);
            double lp = strtod(tok, NULL), lb = 0;
            int32_t w[NGLM_MAX_ORDER];
            for (int j = 0; j < section; j++) {
                tok = strtok_r(NULL, " \t", &save);
                ck_assert_ptr_nonnull(tok);
                w[j] = nglm_vocab_find(v, tok);
                ck_assert_msg(w[j] >= 0, "unknown word %s in the ARPA file", tok);
            }
            if ((tok = strtok_r(NULL, " \t", &save)) != NULL)
                lb = strtod(tok, NULL);
            ck_assert_ptr_null(strtok_r(NULL, " \t", &save));
            double rp, rb;
            ck_assert_msg(knref_lookup(R, w, section, &rp, &rb) == 1,
                          "a %d-gram of the file is not in the reference", section);
            ck_assert_msg(fabs(lp - rp) <= 1e-6 && fabs(lb - rb) <= 1e-6,
                          "%d-gram (%d ..): file %.9g %.9g, reference %.9g %.9g", section,
                          (int)w[0], lp, lb, rp, rb);
            if (section == 1 && w[0] == NGLM_BOS)
                ck_assert_msg(lp == 0.0, "<s> has log10 P %.9g", lp);
            size_t at = (size_t)(knref_find(R, w, section) - R->g[section]);
            ck_assert_msg(!seen[section][at], "a %d-gram is listed twice", section);
            seen[section][at] = 1;
            lines[section]++;
        }
    }
    fclose(fp);
    ck_assert(data && end);
    for (int m = 1; m <= R->order; m++) {
        ck_assert_uint_eq(declared[m], R->listed[m]);
        ck_assert_uint_eq(lines[m], R->listed[m]);
        free(seen[m]);
    }
}

/* Every token of c scored by the loaded file equals the reference (1e-6,
 * the file's precision), and equals the scores of a second load b. */
static void assert_arpa_scores(const nglm_arpa *a, const nglm_arpa *b, const knref *R,
                               const nglm_corpus *c, const nglm_vocab *v)
{
    int32_t *ids = tu_map_ids(c, v, nglm_arpa_vocab(a));
    int32_t *bids = b ? tu_map_ids(c, v, nglm_arpa_vocab(b)) : NULL;
    for (size_t s = 0; s < c->n_sents; s++) {
        size_t len;
        const int32_t *sent = nglm_corpus_sentence(c, s, &len);
        for (size_t i = 0; i < len; i++) {
            double got = nglm_arpa_logprob10(a, ids + c->start[s], i);
            double want = knref_log10prob(R, sent, i);
            ck_assert_msg(fabs(got - want) <= 1e-6, "sentence %zu position %zu: ARPA %.12g, "
                          "reference %.12g", s, i, got, want);
            if (b)
                ck_assert_double_eq_tol(nglm_arpa_logprob10(b, bids + c->start[s], i), got,
                                        1e-12);
        }
    }
    free(bids);
    free(ids);
}

/* nglm_kn_save_arpa, plain and gzip, read back by nglm_arpa_load. */
static void check_arpa(int kind, int order, const uint64_t *prune)
{
    nglm_corpus train, heldout;
    int32_t V = make_texts(&train, &heldout, kind);
    nglm_vocab *v = make_vocab(V);
    nglm_kn_options opt = options(prune, 1, 2);
    nglm_features F;
    nglm_kn kn;
    knref R;
    nglm_error err;
    estimate(&kn, &F, &train, V, order, &opt);
    reference(&R, &train, V, order, &opt);

    const char *path = tu_temp_path(".arpa"), *gz = tu_temp_path(".arpa.gz");
    ck_assert_msg(nglm_kn_save_arpa(&kn, &F, v, NULL, path, 2, &err) == 0, "%s", err.msg);
    ck_assert_msg(nglm_kn_save_arpa(&kn, &F, v, NULL, gz, 1, &err) == 0, "%s", err.msg);
    assert_arpa_file(path, &R, v);

    FILE *fp = fopen(gz, "rb");
    ck_assert_ptr_nonnull(fp);
    unsigned char magic[2] = {0, 0};
    ck_assert_uint_eq(fread(magic, 1, 2, fp), 2);
    fclose(fp);
    ck_assert(magic[0] == 0x1f && magic[1] == 0x8b);

    nglm_arpa *a = nglm_arpa_load(path, &err);
    ck_assert_msg(a != NULL, "%s", err.msg);
    nglm_arpa *b = nglm_arpa_load(gz, &err);
    ck_assert_msg(b != NULL, "%s", err.msg);
    ck_assert_int_eq(nglm_arpa_order(a), order);
    ck_assert_int_eq(nglm_arpa_order(b), order);
    for (int m = 1; m <= order; m++) {
        ck_assert_uint_eq(nglm_arpa_count(a, m), kn.count[m]);
        ck_assert_uint_eq(nglm_arpa_count(b, m), kn.count[m]);
    }
    ck_assert_int_eq(nglm_arpa_has_unk(a), 1);
    assert_arpa_scores(a, b, &R, &train, v);
    assert_arpa_scores(a, b, &R, &heldout, v);

    nglm_arpa_free(b);
    nglm_arpa_free(a);
    unlink(path);
    unlink(gz);
    knref_free(&R);
    nglm_kn_free(&kn);
    nglm_features_free(&F);
    nglm_vocab_free(v);
    nglm_corpus_free(&heldout);
    nglm_corpus_free(&train);
}

START_TEST(test_arpa_zipf) { check_arpa(0, 3, NULL); }
END_TEST

START_TEST(test_arpa_zipf_pruned) { check_arpa(0, 4, prune_some); }
END_TEST

START_TEST(test_arpa_dense_pruned) { check_arpa(1, 5, prune_some); }
END_TEST

START_TEST(test_arpa_unigram) { check_arpa(1, 1, NULL); }
END_TEST

/* ---------------------------------------------------------------- softmax weights */

/* nglm_kn_to_weights gives a softmax model with exactly the KN
 * probabilities: the dense reference softmax on sampled histories, and the
 * grouped scoring of every token of both texts. */
static void check_weights(int kind, int order, const uint64_t *prune)
{
    nglm_corpus train, heldout;
    int32_t V = make_texts(&train, &heldout, kind);
    nglm_kn_options opt = options(prune, 1, 2);
    nglm_model m;
    nglm_kn kn;
    nglm_error err;
    memset(&m, 0, sizeof m);
    m.vocab = make_vocab(V);
    m.tok = nglm_tok_options_default();
    /* the model owns the index; kn is estimated from it */
    estimate(&kn, &m.feat, &train, V, order, &opt);
    const nglm_features *F = &m.feat;
    m.theta = malloc(F->n_feat * sizeof *m.theta);
    ck_assert_ptr_nonnull(m.theta);
    ck_assert_msg(nglm_kn_to_weights(&kn, F, m.theta, &err) == 0, "%s", err.msg);

    double *p = malloc((size_t)V * sizeof *p);
    int32_t buf[NGLM_GEN_MAX_SENTENCE + 2];
    const nglm_corpus *texts[2] = {&train, &heldout};
    for (int t = 0; t < 2; t++) {
        const nglm_corpus *c = texts[t];
        for (size_t s = 0; s < c->n_sents && s < 10; s++) {
            size_t len;
            const int32_t *sent = nglm_corpus_sentence(c, s, &len);
            for (size_t i = 0; i < len && i < 8; i++) {
                nglm_model_dist_dense(&m, sent, i, p);
                for (int32_t w = 1; w < V; w++) {
                    double want = exp(nglm_kn_lnprob(&kn, F, with_word(buf, sent, i, w), i));
                    ck_assert_msg(fabs(p[w] - want) <= 1e-9,
                                  "text %d sentence %zu position %zu word %d: softmax %.15g, "
                                  "KN %.15g", t, s, i, (int)w, p[w], want);
                }
            }
        }
        double *logp = malloc(c->n_tokens * sizeof *logp);
        ck_assert_msg(nglm_model_score_corpus(&m, c, logp, 2, &err) == 0, "%s", err.msg);
        for (size_t s = 0; s < c->n_sents; s++) {
            size_t len;
            const int32_t *sent = nglm_corpus_sentence(c, s, &len);
            for (size_t i = 0; i < len; i++) {
                double want = nglm_kn_lnprob(&kn, F, sent, i);
                ck_assert_msg(fabs(logp[c->start[s] + i] - want) <= 1e-9,
                              "text %d sentence %zu position %zu: softmax ln P %.15g, KN %.15g",
                              t, s, i, logp[c->start[s] + i], want);
            }
        }
        free(logp);
    }
    free(p);
    nglm_kn_free(&kn);
    nglm_model_free(&m);
    nglm_corpus_free(&heldout);
    nglm_corpus_free(&train);
}

/* nglm_kn_weights_for: a pruned estimate laid out on the index counted
 * again with cutoffs prune[m] + 1 and skip-gram templates added (as
 * nglm-train --init kn does): the softmax model on that index, skip-gram
 * weights 0, gives the estimate's probabilities on every token; an index
 * with other n-grams is refused. */
START_TEST(test_weights_for_cutoff_index)
{
    nglm_corpus train, heldout;
    int32_t V = make_texts(&train, &heldout, 0);
    const int order = 4;
    nglm_kn_options opt = options(prune_some, 1, 2);
    nglm_features F;
    nglm_kn kn;
    nglm_error err;
    estimate(&kn, &F, &train, V, order, &opt);
    uint32_t cutoff[NGLM_MAX_ORDER + 1];
    for (int m = 0; m <= NGLM_MAX_ORDER; m++)
        cutoff[m] = (uint32_t)prune_some[m] + 1;
    nglm_model m;
    memset(&m, 0, sizeof m);
    m.vocab = make_vocab(V);
    m.tok = nglm_tok_options_default();
    ck_assert_int_eq(nglm_features_build(&m.feat, &train, V, order, cutoff, 2, &err), 0);
    int dist[2] = {2, 3};
    ck_assert_int_eq(nglm_features_add_skips(&m.feat, &train, 2, dist, 1, &err), 0);
    ck_assert_uint_gt(m.feat.n_feat, m.feat.n_ngram_feat);
    ck_assert_uint_lt(m.feat.n_ngram_feat, F.n_feat); /* pruning removed n-grams */
    m.theta = malloc(m.feat.n_feat * sizeof *m.theta);
    ck_assert_msg(nglm_kn_weights_for(&kn, &F, &m.feat, m.theta, &err) == 0, "%s", err.msg);
    for (size_t f = m.feat.n_ngram_feat; f < m.feat.n_feat; f++)
        ck_assert(m.theta[f] == 0);
    const nglm_corpus *texts[2] = {&train, &heldout};
    for (int t = 0; t < 2; t++) {
        const nglm_corpus *c = texts[t];
        double *logp = malloc(c->n_tokens * sizeof *logp);
        ck_assert_msg(nglm_model_score_corpus(&m, c, logp, 2, &err) == 0, "%s", err.msg);
        for (size_t s = 0; s < c->n_sents; s++) {
            size_t len;
            const int32_t *sent = nglm_corpus_sentence(c, s, &len);
            for (size_t i = 0; i < len; i++)
                ck_assert_msg(fabs(logp[c->start[s] + i] - nglm_kn_lnprob(&kn, &F, sent, i)) <= 1e-9,
                              "text %d sentence %zu position %zu", t, s, i);
        }
        free(logp);
    }
    /* the unpruned index holds other n-grams */
    ck_assert_int_eq(nglm_kn_weights_for(&kn, &F, &F, m.theta, &err), -1);
    ck_assert_msg(strstr(err.msg, "n-gram") != NULL, "%s", err.msg);
    nglm_model_free(&m);
    nglm_kn_free(&kn);
    nglm_features_free(&F);
    nglm_corpus_free(&heldout);
    nglm_corpus_free(&train);
}
END_TEST

/* An order-k view of an order-5 index (with skip-grams) is the index of
 * order k: the same arrays, the same Kneser-Ney estimate; and
 * nglm_kn_best_order picks the order whose held-out perplexity is lowest. */
START_TEST(test_order_view)
{
    int kind = _i;
    nglm_corpus train, heldout;
    int32_t V = make_texts(&train, &heldout, kind);
    nglm_kn_options opt = options(prune_some, 1, 2);
    nglm_features F5;
    nglm_error err;
    ck_assert_int_eq(nglm_features_build(&F5, &train, V, 5, NULL, 2, &err), 0);
    int dist[2] = {2, 3};
    ck_assert_int_eq(nglm_features_add_skips(&F5, &train, 2, dist, 1, &err), 0);
    double ppl[6], want[6];
    int argmin = 0;
    for (int k = 1; k <= 5; k++) {
        nglm_features G = nglm_features_ngram_view(&F5, k), F;
        nglm_kn a, b;
        estimate(&b, &F, &train, V, k, &opt);
        ck_assert_int_eq(G.order, k);
        ck_assert_uint_eq(G.n_feat, F.n_feat);
        ck_assert_uint_eq(G.n_ngram_feat, F.n_feat);
        ck_assert_uint_eq(G.n_ctx, F.n_ctx);
        ck_assert_int_eq(G.n_skip, 0);
        ck_assert(memcmp(G.feat_word, F.feat_word, F.n_feat * sizeof *F.feat_word) == 0);
        ck_assert(memcmp(G.feat_count, F.feat_count, F.n_feat * sizeof *F.feat_count) == 0);
        ck_assert(memcmp(G.ctx_first, F.ctx_first, (F.n_ctx + 1) * sizeof *F.ctx_first) == 0);
        ck_assert_msg(nglm_kn_estimate(&a, &G, &opt, &err) == 0, "%s", err.msg);
        for (int m = 1; m <= k; m++)
            for (int j = 1; j <= 3; j++)
                ck_assert(a.D[m][j] == b.D[m][j]);
        for (size_t f = 0; f < F.n_feat; f++)
            ck_assert(a.lnp[f] == b.lnp[f] || (isnan(a.lnp[f]) && isnan(b.lnp[f])));
        for (size_t x = 0; x < F.n_ctx; x++)
            ck_assert(a.lnbo[x] == b.lnbo[x]);
        want[k] = nglm_kn_perplexity(&b, &F, &heldout);
        ck_assert(nglm_kn_perplexity(&a, &G, &heldout) == want[k]);
        if (k >= 2 && (argmin == 0 || want[k] < want[argmin]))
            argmin = k;
        nglm_kn_free(&a);
        nglm_kn_free(&b);
        nglm_features_free(&F);
    }
    nglm_kn best;
    ck_assert_int_eq(nglm_kn_best_order(&F5, &heldout, 2, 5, &opt, ppl, &best, &err), argmin);
    nglm_features Gb = nglm_features_ngram_view(&F5, argmin);
    ck_assert_int_eq(best.order, argmin);
    ck_assert(nglm_kn_perplexity(&best, &Gb, &heldout) == want[argmin]);
    nglm_kn_free(&best);
    for (int k = 2; k <= 5; k++)
        ck_assert(ppl[k] == want[k]);
    ck_assert_int_eq(nglm_kn_best_order(&F5, &heldout, 3, 6, &opt, ppl, NULL, &err), -1);
    ck_assert_int_eq(nglm_kn_best_order(&F5, &heldout, 0, 2, &opt, ppl, NULL, &err), -1);
    nglm_features_free(&F5);
    nglm_corpus_free(&heldout);
    nglm_corpus_free(&train);
}
END_TEST

START_TEST(test_weights_zipf) { check_weights(0, 3, NULL); }
END_TEST

START_TEST(test_weights_zipf_pruned) { check_weights(0, 4, prune_some); }
END_TEST

START_TEST(test_weights_dense_pruned) { check_weights(1, 5, prune_some); }
END_TEST

START_TEST(test_weights_unigram) { check_weights(0, 1, NULL); }
END_TEST

/* ---------------------------------------------------------------- bad input */

/* nglm_kn_estimate on F with opt fails, prints nothing, and says `needle`. */
static void expect_refused(const nglm_features *F, const nglm_kn_options *opt,
                           const char *needle)
{
    nglm_kn kn;
    nglm_error err;
    err.msg[0] = '\0';
    quiet_begin();
    int rc = nglm_kn_estimate(&kn, F, opt, &err);
    quiet_end();
    ck_assert_int_eq(rc, -1);
    ck_assert_msg(strstr(err.msg, needle) != NULL, "message \"%s\" does not say \"%s\"",
                  err.msg, needle);
}

START_TEST(test_refuses_cutoff)
{
    nglm_corpus c;
    int32_t V = make_corpus(&c, 0, 3, 60, 0);
    nglm_features F;
    nglm_error err;
    const uint32_t cut[NGLM_MAX_ORDER + 1] = {0, 0, 1, 2, 2, 2, 2, 2, 2, 2, 2};
    ck_assert_int_eq(nglm_features_build(&F, &c, V, 3, cut, 1, &err), 0);
    nglm_kn_options opt = options(NULL, 1, 1);
    expect_refused(&F, &opt, "cutoff");
    nglm_features_free(&F);
    nglm_corpus_free(&c);
}
END_TEST

START_TEST(test_refuses_skips)
{
    nglm_corpus c;
    int32_t V = make_corpus(&c, 0, 3, 60, 0);
    nglm_features F;
    nglm_error err;
    const int dist[1] = {2};
    ck_assert_int_eq(nglm_features_build(&F, &c, V, 3, NULL, 1, &err), 0);
    ck_assert_int_eq(nglm_features_add_skips(&F, &c, 1, dist, 1, &err), 0);
    ck_assert_int_eq(nglm_features_index(&F, &err), 0);
    nglm_kn_options opt = options(NULL, 1, 1);
    expect_refused(&F, &opt, "skip");
    nglm_features_free(&F);
    nglm_corpus_free(&c);
}
END_TEST

START_TEST(test_refuses_bad_prune)
{
    nglm_corpus c;
    int32_t V = make_corpus(&c, 0, 3, 60, 0);
    nglm_features F;
    nglm_error err;
    ck_assert_int_eq(nglm_features_build(&F, &c, V, 3, NULL, 1, &err), 0);
    const uint64_t unigram[NGLM_MAX_ORDER + 1] = {0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    const uint64_t decreasing[NGLM_MAX_ORDER + 1] = {0, 0, 2, 1, 1, 1, 1, 1, 1, 1, 1};
    nglm_kn_options opt = options(unigram, 1, 1);
    expect_refused(&F, &opt, "1-grams");
    opt = options(decreasing, 1, 1);
    expect_refused(&F, &opt, "decrease");
    nglm_features_free(&F);
    nglm_corpus_free(&c);
}
END_TEST

/* "a b": every bigram and unigram once, no n2: an error that points to the
 * fallback; with it, a model that agrees with the reference and sums to
 * one. */
START_TEST(test_tiny_text_fallback)
{
    const char *const lines[] = {"a b"};
    nglm_corpus c;
    nglm_vocab *v = lines_corpus(&c, lines, 1);
    nglm_features F;
    nglm_error err;
    ck_assert_int_eq(nglm_features_build(&F, &c, HAND_V, 2, NULL, 1, &err), 0);
    nglm_kn_options opt = options(NULL, 0, 1);
    expect_refused(&F, &opt, "fallback");
    nglm_features_free(&F);

    opt.fallback = 1;
    nglm_kn kn;
    knref R;
    estimate(&kn, &F, &c, HAND_V, 2, &opt);
    reference(&R, &c, HAND_V, 2, &opt);
    const nglm_corpus *texts[1] = {&c};
    assert_same_as_reference(&kn, &F, &R, texts, 1, "a b");
    assert_text_sums_to_one(&kn, &F, &R, &c, 1, 3, "a b");
    const int32_t unseen[] = {WC, UNK, WA, EOS};
    for (size_t i = 0; i < 4; i++)
        assert_sums_to_one(&kn, &F, &R, unseen, i, "a b, unseen");
    knref_free(&R);
    nglm_kn_free(&kn);
    nglm_features_free(&F);
    nglm_corpus_free(&c);
    nglm_vocab_free(v);
}
END_TEST

/* One-word sentences have no 4-grams or 5-grams: order 5 is an error that
 * names the order, with or without the fallback. */
START_TEST(test_order_too_high)
{
    const char *const lines[] = {"a", "b", "a", "c", "a"};
    nglm_corpus c;
    nglm_vocab *v = lines_corpus(&c, lines, 5);
    nglm_features F;
    nglm_error err;
    ck_assert_int_eq(nglm_features_build(&F, &c, HAND_V, 5, NULL, 1, &err), 0);
    nglm_kn_options opt = options(NULL, 0, 1);
    for (int fallback = 0; fallback <= 1; fallback++) {
        opt.fallback = fallback;
        nglm_kn kn;
        err.msg[0] = '\0';
        quiet_begin();
        int rc = nglm_kn_estimate(&kn, &F, &opt, &err);
        quiet_end();
        ck_assert_int_eq(rc, -1);
        ck_assert_msg(strstr(err.msg, "4-gram") != NULL || strstr(err.msg, "5-gram") != NULL ||
                      strstr(err.msg, "order 4") != NULL || strstr(err.msg, "order 5") != NULL,
                      "message \"%s\" does not name the order", err.msg);
    }
    knref R;
    ck_assert_int_eq(knref_build(&R, &c, HAND_V, 5, NULL, 1, opt.fallback_d, &err), -1);
    nglm_features_free(&F);
    nglm_corpus_free(&c);
    nglm_vocab_free(v);
}
END_TEST

/* The one-word text "a", orders 1 and 2, with the fallback: a model that
 * agrees with the reference and sums to one. */
START_TEST(test_one_word_text)
{
    const char *const lines[] = {"a"};
    nglm_corpus c;
    nglm_vocab *v = lines_corpus(&c, lines, 1);
    for (int order = 1; order <= 2; order++) {
        char what[32];
        snprintf(what, sizeof what, "\"a\" order %d", order);
        nglm_kn_options opt = options(NULL, 1, 1);
        nglm_features F;
        nglm_kn kn;
        knref R;
        estimate(&kn, &F, &c, HAND_V, order, &opt);
        reference(&R, &c, HAND_V, order, &opt);
        const nglm_corpus *texts[1] = {&c};
        assert_same_as_reference(&kn, &F, &R, texts, 1, what);
        assert_text_sums_to_one(&kn, &F, &R, &c, 1, 2, what);
        const int32_t unseen[] = {WB, WA, UNK, EOS};
        for (size_t i = 0; i < 4; i++)
            assert_sums_to_one(&kn, &F, &R, unseen, i, what);
        knref_free(&R);
        nglm_kn_free(&kn);
        nglm_features_free(&F);
    }
    nglm_corpus_free(&c);
    nglm_vocab_free(v);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("kn");
    TCase *tc = tcase_create("kn");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_hand_bigram);
    tcase_add_test(tc, test_hand_trigram);
    tcase_add_test(tc, test_hand_pruned);
    tcase_add_loop_test(tc, test_same_as_reference, 0, 2);
    tcase_add_loop_test(tc, test_sums_to_one, 0, 2);
    tcase_add_loop_test(tc, test_lmplz_statistics, 0, 2);
    tcase_add_test(tc, test_lmplz_statistics_hand);
    tcase_add_test(tc, test_arpa_zipf);
    tcase_add_test(tc, test_arpa_zipf_pruned);
    tcase_add_test(tc, test_arpa_dense_pruned);
    tcase_add_test(tc, test_arpa_unigram);
    tcase_add_test(tc, test_weights_zipf);
    tcase_add_test(tc, test_weights_zipf_pruned);
    tcase_add_test(tc, test_weights_dense_pruned);
    tcase_add_test(tc, test_weights_unigram);
    tcase_add_test(tc, test_weights_for_cutoff_index);
    tcase_add_loop_test(tc, test_order_view, 0, 2);
    tcase_add_test(tc, test_refuses_cutoff);
    tcase_add_test(tc, test_refuses_skips);
    tcase_add_test(tc, test_refuses_bad_prune);
    tcase_add_test(tc, test_tiny_text_fallback);
    tcase_add_test(tc, test_order_too_high);
    tcase_add_test(tc, test_one_word_text);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
