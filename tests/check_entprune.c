/*
 * check_entprune.c — relative-entropy pruning (src/entprune.c) against the
 * slow reference of entprune_reference.h on a small Kneser-Ney trigram
 * model: every criterion equals the relative entropy recomputed from
 * scratch with the n-gram removed; the pruned model's weights are the
 * reference's, every context sums to one, the kept set is closed under
 * prefixes; the written ARPA file scores as the model in memory; the θ for
 * a target count; bad models and thresholds are refused.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "arpa_impl.h"
#include "entprune_reference.h"
#include "nglm/arpa.h"
#include "nglm/corpus.h"
#include "nglm/entprune.h"
#include "nglm/features.h"
#include "nglm/kn.h"
#include "nglm/vocab.h"
#include "testutil.h"

/* ---------------------------------------------------------------- fixture */

static uint64_t rng_state;
static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

enum { N_WORDS = 7, N_SENTS = 60 };
static const char *const words[N_WORDS] = {"a", "b", "c", "d", "e", "f", "g"};

/* A text with some structure (each word likes a successor), read into c
 * with its vocabulary. */
static nglm_vocab *fixture_text(nglm_corpus *c, uint64_t seed)
{
    rng_state = seed;
    static char buf[N_SENTS][64];
    const char *lines[N_SENTS];
    for (int s = 0; s < N_SENTS; s++) {
        int len = 1 + (int)(rnd() % 7), w = (int)(rnd() % N_WORDS);
        size_t o = 0;
        for (int i = 0; i < len; i++) {
            o += (size_t)snprintf(buf[s] + o, sizeof buf[s] - o, "%s%s", i ? " " : "",
                                  words[w]);
            w = rnd() % 3 ? (w + 1) % N_WORDS : (int)(rnd() % N_WORDS);
        }
        lines[s] = buf[s];
    }
    const char *list[3 + N_WORDS] = {"<s>", "</s>", "<unk>"};
    for (int i = 0; i < N_WORDS; i++)
        list[3 + i] = words[i];
    nglm_error err;
    nglm_vocab *v = nglm_vocab_from_list(list, NULL, 3 + N_WORDS, &err);
    ck_assert_msg(v != NULL, "%s", err.msg);
    ck_assert_msg(nglm_corpus_from_lines(c, lines, N_SENTS, v, &err) == 0, "%s", err.msg);
    return v;
}

/* A Kneser-Ney model of the text as an ARPA file, loaded, then written
 * again with its 1-grams rescaled and every weight recomputed (θ below
 * every criterion) and loaded again: a model whose distributions sum to one to 17 digits, so that the
 * criteria can be compared with the reference's to 1e-9. */
static nglm_arpa *fixture_model(const nglm_corpus *c, const nglm_vocab *v, int order)
{
    nglm_error err;
    nglm_features F;
    nglm_kn kn;
    nglm_kn_options opt = nglm_kn_options_default();
    opt.fallback = 1;
    ck_assert_msg(nglm_features_build(&F, c, (int32_t)nglm_vocab_size(v), order, NULL, 1,
                                      &err) == 0, "%s", err.msg);
    ck_assert_msg(nglm_kn_estimate(&kn, &F, &opt, &err) == 0, "%s", err.msg);
    const char *path = tu_temp_path(".arpa");
    ck_assert_msg(nglm_kn_save_arpa(&kn, &F, v, NULL, path, 1, &err) == 0, "%s", err.msg);
    nglm_kn_free(&kn);
    nglm_features_free(&F);
    nglm_arpa *a = nglm_arpa_load(path, &err);
    ck_assert_msg(a != NULL, "%s", err.msg);
    /* the 1-grams (8 digits) made to sum to one (the weights cannot do it) */
    double sum = 0;
    for (int32_t w = 1; w < a->V; w++)
        if (!isnan(a->logp[w]))
            sum += pow(10, a->logp[w]);
    for (int32_t w = 1; w < a->V; w++)
        a->logp[w] -= log10(sum);
    nglm_entprune *p = nglm_entprune_new(a, NULL, &err);
    ck_assert_msg(p != NULL, "%s", err.msg);
    ck_assert_int_eq(nglm_entprune_apply(p, DBL_MIN, &err), 0);
    uint64_t kept = 0;
    for (int k = 1; k <= order; k++)
        kept += nglm_entprune_kept(p, k);
    ck_assert_uint_eq(kept, nglm_entprune_total(p)); /* nothing pruned at DBL_MIN */
    const char *norm = tu_temp_path(".arpa");
    ck_assert_msg(nglm_entprune_save(p, norm, 17, &err) == 0, "%s", err.msg);
    nglm_entprune_free(p);
    nglm_arpa_free(a);
    a = nglm_arpa_load(norm, &err);
    ck_assert_msg(a != NULL, "%s", err.msg);
    return a;
}

/* The reference model of p's n-grams (all on), normalised. */
static void reference_of(epref *R, const nglm_arpa *a, const nglm_entprune *p,
                         size_t **node_of)
{
    size_t n = nglm_entprune_nodes(p);
    R->order = nglm_entprune_order(p);
    ck_assert_int_le(R->order, EPREF_MAX_ORDER);
    R->V = (int32_t)nglm_vocab_size(nglm_arpa_vocab(a));
    R->n = 0;
    R->w = malloc(n * sizeof *R->w);
    R->len = malloc(n * sizeof *R->len);
    R->lp = malloc(n * sizeof *R->lp);
    R->bow = malloc(n * sizeof *R->bow);
    R->on = malloc(n * sizeof *R->on);
    *node_of = malloc(n * sizeof **node_of);
    for (size_t x = 0; x < n; x++) {
        int len, kept;
        double lp, bow, crit;
        nglm_entprune_ngram(p, x, R->w[R->n], &len, &lp, &bow, &crit, &kept);
        if (len == 0)
            continue;
        R->len[R->n] = len;
        R->lp[R->n] = lp;
        R->on[R->n] = 1;
        (*node_of)[R->n] = x;
        R->n++;
    }
    epref_normalise(R);
}

static void reference_free(epref *R, size_t *node_of)
{
    free(R->w);
    free(R->len);
    free(R->lp);
    free(R->bow);
    free(R->on);
    free(node_of);
}

/* ---------------------------------------------------------------- criteria */

/* Every criterion is the relative entropy at its context, recomputed from
 * the two whole models; the whole model's change is at least that (the
 * criterion leaves out the longer contexts that back off through it). */
START_TEST(test_criteria_match_reference)
{
    nglm_corpus c;
    nglm_vocab *v = fixture_text(&c, 11 + (uint64_t)_i);
    nglm_arpa *a = fixture_model(&c, v, 3);
    nglm_error err;
    nglm_entprune *p = nglm_entprune_new(a, NULL, &err);
    ck_assert_msg(p != NULL, "%s", err.msg);
    epref R;
    size_t *node_of;
    reference_of(&R, a, p, &node_of);
    size_t checked = 0;
    double below = 0;
    for (size_t i = 0; i < R.n; i++) {
        if (R.len[i] < 2)
            continue;
        int32_t w[EPREF_MAX_ORDER];
        int len, kept;
        double lp, bow, crit, at, all;
        nglm_entprune_ngram(p, node_of[i], w, &len, &lp, &bow, &crit, &kept);
        double ref = epref_criterion(&R, i, &at, &all);
        ck_assert_msg(fabs(crit - ref) <= 1e-9 * fabs(ref) + 1e-15,
                      "n-gram %zu (order %d): fast %.12g, reference %.12g", i, len, crit, ref);
        int leaf = 1;
        for (size_t j = 0; j < R.n && leaf; j++)
            leaf = !(R.len[j] == len + 1 && memcmp(R.w[j], w, len * sizeof *w) == 0);
        if (leaf) {
            ck_assert_msg(all >= at - 1e-15, "whole %.12g < at its context %.12g", all, at);
            below += all - at;
        }
        checked++;
    }
    ck_assert_uint_gt(checked, 100);
    ck_assert(below > 0); /* the approximation leaves something out */
    reference_free(&R, node_of);
    nglm_entprune_free(p);
    nglm_arpa_free(a);
    nglm_corpus_free(&c);
    nglm_vocab_free(v);
}
END_TEST

/* With the history probabilities taken from a text, each ΔH is the
 * model's scaled by p_text(h) / p_model(h), p_text(h) counted here the
 * plain way: the positions of the text whose history ends with h. */
START_TEST(test_history_text)
{
    nglm_corpus c;
    nglm_vocab *v = fixture_text(&c, 23);
    nglm_arpa *a = fixture_model(&c, v, 3);
    nglm_error err;
    nglm_entprune *pm = nglm_entprune_new(a, NULL, &err);
    nglm_entprune *pt = nglm_entprune_new(a, &c, &err);
    ck_assert_msg(pm && pt, "%s", err.msg);
    epref R;
    size_t *node_of;
    reference_of(&R, a, pm, &node_of);
    size_t checked = 0;
    for (size_t i = 0; i < R.n; i++) {
        if (R.len[i] < 2)
            continue;
        int32_t w[EPREF_MAX_ORDER];
        int len, kept;
        double lp, bow, cm, ct;
        nglm_entprune_ngram(pm, node_of[i], w, &len, &lp, &bow, &cm, &kept);
        nglm_entprune_ngram(pt, node_of[i], w, &len, &lp, &bow, &ct, &kept);
        int k = len - 1;
        uint64_t n = 0;
        for (size_t s = 0; s < c.n_sents; s++) {
            size_t sl;
            const int32_t *sent = nglm_corpus_sentence(&c, s, &sl);
            int32_t x[64];
            x[0] = NGLM_BOS;
            memcpy(x + 1, sent, sl * sizeof *x);
            for (size_t t = 1; t <= sl; t++)
                n += t >= (size_t)k && memcmp(x + t - k, w, k * sizeof *w) == 0;
        }
        double p_text = (double)n / (double)c.n_tokens;
        double p_model = pow(10, epref_history_log10(&R, w, k));
        double want = log1p(cm) * p_text / p_model;
        ck_assert_msg(fabs(log1p(ct) - want) <= 1e-9 * fabs(want) + 1e-15,
                      "n-gram %zu: text %.12g, model-scaled %.12g", i, log1p(ct), want);
        checked++;
    }
    ck_assert_uint_gt(checked, 100);
    reference_free(&R, node_of);
    nglm_entprune_free(pm);
    nglm_entprune_free(pt);
    nglm_arpa_free(a);
    nglm_corpus_free(&c);
    nglm_vocab_free(v);
}
END_TEST

/* ---------------------------------------------------------------- pruning */

/* Σ_w P(w | h) over the vocabulary but <s>, by the fast model. */
static double context_sum(const nglm_entprune *p, const int32_t *h, int k, int32_t V)
{
    double s = 0;
    for (int32_t w = 1; w < V; w++)
        s += pow(10, nglm_entprune_logprob10(p, h, k, w));
    return s;
}

START_TEST(test_pruned_model)
{
    nglm_corpus c;
    nglm_vocab *v = fixture_text(&c, 5);
    nglm_arpa *a = fixture_model(&c, v, 3);
    int32_t V = (int32_t)nglm_vocab_size(v);
    nglm_error err;
    nglm_entprune *p = nglm_entprune_new(a, NULL, &err);
    ck_assert_msg(p != NULL, "%s", err.msg);
    epref R;
    size_t *node_of;
    reference_of(&R, a, p, &node_of);
    if (_i == 1)
        ck_assert_int_eq(nglm_entprune_keep_suffixes(p, &err), 0);
    uint64_t total = nglm_entprune_total(p), uni = nglm_entprune_unigrams(p);
    /* thresholds that keep about 3/4, 1/2, 1/4 of the n-grams above order 1 */
    for (int q = 1; q <= 3; q++) {
        uint64_t target = uni + (total - uni) * (uint64_t)(4 - q) / 4, got;
        double theta = nglm_entprune_threshold_for(p, target, &got);
        ck_assert_uint_ge(got, target);
        ck_assert_uint_eq(nglm_entprune_count(p, theta), got);
        ck_assert_uint_lt(nglm_entprune_count(p, nextafter(theta, INFINITY)), target);
        ck_assert_int_eq(nglm_entprune_apply(p, theta, &err), 0);
        uint64_t kept = 0;
        for (int k = 1; k <= 3; k++)
            kept += nglm_entprune_kept(p, k);
        ck_assert_uint_eq(kept, got);
        ck_assert_uint_eq(nglm_entprune_kept(p, 1), uni);
        /* the kept set: criterion >= θ or the context of a kept n-gram */
        for (size_t i = 0; i < R.n; i++) {
            int32_t w[EPREF_MAX_ORDER];
            int len, on;
            double lp, bow, crit;
            nglm_entprune_ngram(p, node_of[i], w, &len, &lp, &bow, &crit, &on);
            R.on[i] = on;
            if (len == 1)
                ck_assert_int_eq(on, 1);
            else if (crit >= theta)
                ck_assert_msg(on, "n-gram %zu with criterion %g >= %g removed", i, crit, theta);
        }
        for (size_t i = 0; i < R.n; i++) /* prefix closure (R.on is complete now) */
            if (R.on[i] && R.len[i] >= 2)
                ck_assert_msg(epref_find(&R, R.w[i], R.len[i] - 1) >= 0,
                              "kept n-gram %zu without its context", i);
        if (_i == 1) /* suffix closure too */
            for (size_t i = 0; i < R.n; i++)
                if (R.on[i] && R.len[i] >= 2)
                    ck_assert_msg(epref_find(&R, R.w[i] + 1, R.len[i] - 1) >= 0,
                                  "kept n-gram %zu without its suffix", i);
        epref_normalise(&R);
        /* the weights and every probability as the reference's; every
         * context (and the empty one) sums to one */
        for (size_t i = 0; i < R.n; i++)
            if (R.on[i])
                ck_assert_msg(fabs(nglm_entprune_bow10(p, node_of[i]) - R.bow[i]) < 1e-10,
                              "bow of %zu: fast %.12g, reference %.12g", i,
                              nglm_entprune_bow10(p, node_of[i]), R.bow[i]);
        ck_assert_msg(fabs(context_sum(p, NULL, 0, V) - 1) < 1e-12, "empty context");
        for (size_t i = 0; i < R.n; i++) {
            if (!R.on[i] || R.len[i] >= 3)
                continue;
            double s = context_sum(p, R.w[i], R.len[i], V);
            ck_assert_msg(fabs(s - 1) < 1e-12, "context %zu sums to %.15g", i, s);
            for (int32_t w = 0; w < V; w++) {
                double f = nglm_entprune_logprob10(p, R.w[i], R.len[i], w),
                       r = epref_log10(&R, R.w[i], R.len[i], w);
                ck_assert_msg(f == r || fabs(f - r) < 1e-10, "P(%d | %zu): %.12g vs %.12g", w,
                              i, f, r);
            }
        }
        /* the written file scores every token of the text as the model in
         * memory (nglm-eval's scorer) */
        const char *path = tu_temp_path(".arpa");
        ck_assert_msg(nglm_entprune_save(p, path, 15, &err) == 0, "%s", err.msg);
        nglm_arpa *b = nglm_arpa_load(path, &err);
        ck_assert_msg(b != NULL, "%s", err.msg);
        ck_assert_uint_eq(nglm_arpa_count(b, 1) + nglm_arpa_count(b, 2) + nglm_arpa_count(b, 3),
                          got);
        for (size_t s = 0; s < c.n_sents; s++) {
            size_t len;
            const int32_t *sent = nglm_corpus_sentence(&c, s, &len);
            int32_t h[64];
            h[0] = NGLM_BOS;
            for (size_t t = 0; t < len; t++) {
                double f = nglm_entprune_logprob10(p, h, (int)t + 1, sent[t]);
                double r = nglm_arpa_logprob10(b, sent, t);
                ck_assert_msg(fabs(f - r) < 1e-12, "sentence %zu token %zu: %.15g vs %.15g", s,
                              t, f, r);
                h[t + 1] = sent[t];
            }
        }
        nglm_arpa_free(b);
    }
    reference_free(&R, node_of);
    nglm_entprune_free(p);
    nglm_arpa_free(a);
    nglm_corpus_free(&c);
    nglm_vocab_free(v);
}
END_TEST

/* ---------------------------------------------------------------- bad input */

START_TEST(test_refused)
{
    nglm_error err;
    /* "b a b" listed without its context "b a" */
    const char *bad = tu_tempstr("\\data\\\nngram 1=4\nngram 2=2\nngram 3=1\n\n\\1-grams:\n"
                                 "-1\t<s>\t-0.3\n-0.5\t</s>\n-0.5\ta\t-0.2\n-0.6\tb\n\n"
                                 "\\2-grams:\n-0.2\t<s> a\n-0.3\ta b\n\n"
                                 "\\3-grams:\n-0.1\tb a b\n\n\\end\\\n");
    nglm_arpa *a = nglm_arpa_load(bad, &err);
    ck_assert_msg(a != NULL, "%s", err.msg);
    ck_assert_ptr_null(nglm_entprune_new(a, NULL, &err));
    ck_assert_msg(strstr(err.msg, "'b a b'") && strstr(err.msg, "incomplete"), "%s", err.msg);
    nglm_arpa_free(a);

    nglm_corpus c;
    nglm_vocab *v = fixture_text(&c, 3);
    a = fixture_model(&c, v, 2);
    nglm_entprune *p = nglm_entprune_new(a, NULL, &err);
    ck_assert_msg(p != NULL, "%s", err.msg);
    const double bad_theta[] = {0, -1e-6, NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof bad_theta / sizeof *bad_theta; i++)
        ck_assert_int_ne(nglm_entprune_apply(p, bad_theta[i], &err), 0);
    ck_assert_int_ne(nglm_entprune_save(p, tu_temp_path(".arpa"), 0, &err), 0);
    ck_assert_int_ne(nglm_entprune_save(p, tu_dir(), 10, &err), 0); /* a directory */
    nglm_entprune_free(p);
    nglm_arpa_free(a);
    nglm_corpus_free(&c);
    nglm_vocab_free(v);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("entprune");
    TCase *tc = tcase_create("entprune");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_criteria_match_reference, 0, 2);
    tcase_add_test(tc, test_history_text);
    tcase_add_loop_test(tc, test_pruned_model, 0, 2); /* 1: with nglm_entprune_keep_suffixes */
    tcase_add_test(tc, test_refused);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
