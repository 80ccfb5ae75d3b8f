/*
 * check_count.c — the sort/spill/merge count (src/count.c) and the feature
 * index built with it must agree with the slow hash-map reference
 * (nglm_features_build_reference, nglm_features_add_skips_reference) bit for
 * bit, for any number of threads and any memory budget, including budgets
 * small enough to spill hundreds of runs.
 */
#include <check.h>
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nglm/corpus.h"
#include "nglm/features.h"
#include "nglm/gen.h"
#include "features_ref.h"
#include "nglm/vocab.h"
#include "testutil.h"

#include "../src/count.h"

/* ------------------------------------------------------------------ corpora */

/* A corpus straight into ids: kind 0 sampled from the nglm-gen source
 * (Zipfian, V words), 1 uniform over a tiny vocabulary (dense repeats),
 * 2 with empty and very long sentences. */
static int32_t make_corpus(nglm_corpus *c, int kind, uint64_t seed, size_t n_sents)
{
    nglm_gen_rng rng;
    nglm_gen_rng_seed(&rng, seed);
    nglm_gen_source *src = NULL;
    int32_t V = 0;
    if (kind == 0) {
        nglm_gen_params p;
        nglm_gen_params_default(&p);
        p.vocab_size = 300;
        nglm_error err;
        src = nglm_gen_source_new(&p, &err);
        ck_assert_ptr_nonnull(src);
        V = (int32_t)p.vocab_size + NGLM_NUM_SPECIAL;
    } else {
        V = kind == 1 ? 8 : 40;
    }
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
            uint64_t r = nglm_gen_rng_next(&rng);
            len = kind == 1 ? 1 + r % 12 : (r % 7 == 0 ? 0 : r % 5 == 0 ? 150 + r % 100 : r % 9);
            for (size_t i = 0; i < len; i++)
                words[i] = (uint32_t)(nglm_gen_rng_next(&rng) % (uint64_t)(V - NGLM_NUM_SPECIAL));
        }
        while (c->n_tokens + len + 1 > cap) {
            cap *= 2;
            c->ids = realloc(c->ids, cap * sizeof *c->ids);
            ck_assert_ptr_nonnull(c->ids);
        }
        c->start[s] = c->n_tokens;
        for (size_t i = 0; i < len; i++)
            c->ids[c->n_tokens++] = (int32_t)words[i] + NGLM_NUM_SPECIAL;
        c->ids[c->n_tokens++] = NGLM_EOS;
        c->n_words += len;
    }
    c->start[n_sents] = c->n_tokens;
    c->n_sents = n_sents;
    nglm_gen_source_free(src);
    return V;
}

/* ------------------------------------------------------------------ compare */

#define SAME_ARRAY(a, b, n) \
    ck_assert_msg(memcmp((a), (b), (n) * sizeof *(a)) == 0, "%s differs (%s)", #a, what)

static void assert_same(const nglm_features *A, const nglm_features *B, const char *what)
{
    ck_assert_msg(A->order == B->order && A->V == B->V, "shape differs (%s)", what);
    ck_assert_msg(memcmp(A->cutoff, B->cutoff, sizeof A->cutoff) == 0, "cutoffs (%s)", what);
    ck_assert_msg(A->n_ctx == B->n_ctx, "n_ctx %zu vs %zu (%s)", A->n_ctx, B->n_ctx, what);
    ck_assert_msg(A->n_feat == B->n_feat, "n_feat %zu vs %zu (%s)", A->n_feat, B->n_feat, what);
    ck_assert_msg(A->n_ngram_feat == B->n_ngram_feat, "n_ngram_feat (%s)", what);
    SAME_ARRAY(A->ctx_order_start, B->ctx_order_start, NGLM_MAX_ORDER + 1);
    SAME_ARRAY(A->ctx_parent, B->ctx_parent, A->n_ctx);
    SAME_ARRAY(A->ctx_word, B->ctx_word, A->n_ctx);
    SAME_ARRAY(A->ctx_first, B->ctx_first, A->n_ctx + 1);
    SAME_ARRAY(A->feat_word, B->feat_word, A->n_feat);
    SAME_ARRAY(A->feat_back, B->feat_back, A->n_feat);
    SAME_ARRAY(A->feat_count, B->feat_count, A->n_feat);
    SAME_ARRAY(A->ctx1, B->ctx1, (size_t)A->V);
    ck_assert_msg(A->n_skip == B->n_skip && A->skip_cutoff == B->skip_cutoff, "skips (%s)", what);
    for (int i = 0; i < A->n_skip; i++) {
        ck_assert_int_eq(A->skip_dist[i], B->skip_dist[i]);
        SAME_ARRAY(A->skip_first[i], B->skip_first[i], (size_t)A->V + 1);
    }
}

/* ------------------------------------------------------------------ tests */

static const uint32_t cut_none[NGLM_MAX_ORDER + 1] = {0};
static const uint32_t cut_some[NGLM_MAX_ORDER + 1] = {0, 0, 1, 2, 2, 3, 3, 3, 3, 3, 3};
static const size_t budgets[] = {0, 4096, 65536};
static const int thread_counts[] = {1, 2, 4};

/* Every order 1..6, two cutoff sets, threads 1/2/4, three budgets. */
static void check_corpus_kind(int kind, size_t n_sents)
{
    nglm_corpus c;
    int32_t V = make_corpus(&c, kind, 1000 + (uint64_t)kind, n_sents);
    nglm_error err;
    for (int order = 1; order <= 6; order++)
        for (int ci = 0; ci < 2; ci++) {
            const uint32_t *cut = ci ? cut_some : cut_none;
            nglm_features R;
            ck_assert_msg(nglm_features_build_reference(&R, &c, V, order, cut, &err) == 0,
                          "%s", err.msg);
            for (size_t ti = 0; ti < 3; ti++)
                for (size_t bi = 0; bi < 3; bi++) {
                    nglm_count_opts o = {thread_counts[ti], budgets[bi], NULL};
                    char what[128];
                    snprintf(what, sizeof what, "kind %d order %d cutoffs %d threads %d memory %zu",
                             kind, order, ci, o.threads, o.memory);
                    nglm_features F;
                    ck_assert_msg(nglm_features_build_with(&F, &c, V, order, cut, &o, &err) == 0,
                                  "%s: %s", what, err.msg);
                    assert_same(&R, &F, what);
                    nglm_features_free(&F);
                }
            nglm_features_free(&R);
        }
    nglm_corpus_free(&c);
}

START_TEST(test_same_as_reference_gen) { check_corpus_kind(0, 1500); }
END_TEST

START_TEST(test_same_as_reference_dense) { check_corpus_kind(1, 3000); }
END_TEST

START_TEST(test_same_as_reference_ragged) { check_corpus_kind(2, 600); }
END_TEST

/* Skip-gram templates, counted both ways, after the same n-gram index. */
START_TEST(test_skips_same_as_reference)
{
    nglm_corpus c;
    int32_t V = make_corpus(&c, _i == 0 ? 0 : 2, 77, 800);
    nglm_error err;
    int dist[3] = {2, 3, 5};
    for (uint32_t scut = 1; scut <= 2; scut++) {
        nglm_features R;
        ck_assert_int_eq(nglm_features_build_reference(&R, &c, V, 3, NULL, &err), 0);
        ck_assert_msg(nglm_features_add_skips_reference(&R, &c, 3, dist, scut, &err) == 0,
                      "%s", err.msg);
        for (size_t ti = 0; ti < 3; ti++)
            for (size_t bi = 0; bi < 3; bi++) {
                nglm_count_opts o = {thread_counts[ti], budgets[bi], NULL};
                char what[128];
                snprintf(what, sizeof what, "skips cutoff %u threads %d memory %zu", scut,
                         o.threads, o.memory);
                nglm_features F;
                ck_assert_int_eq(nglm_features_build_with(&F, &c, V, 3, NULL, &o, &err), 0);
                ck_assert_msg(nglm_features_add_skips_with(&F, &c, 3, dist, scut, &o, &err) == 0,
                              "%s", err.msg);
                assert_same(&R, &F, what);
                nglm_features_free(&F);
            }
        nglm_features_free(&R);
    }
    nglm_corpus_free(&c);
}
END_TEST

/* The counter itself on random pairs: tiny buffers spill many runs, the
 * merge yields each distinct pair once, sorted, with its exact count, and
 * the temporary files are gone afterwards. */
static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

START_TEST(test_counter_spills_and_merges)
{
    char dir[] = "/tmp/nglm-count-test-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    const size_t n = 200000;
    const int T = 3;
    uint64_t *all = malloc(n * sizeof *all);
    ck_assert_ptr_nonnull(all);
    nglm_gen_rng rng;
    nglm_gen_rng_seed(&rng, 5);
    for (size_t i = 0; i < n; i++) {
        uint64_t r = nglm_gen_rng_next(&rng);
        all[i] = ((r % 3000) * (r % 7 + 1) % 5000) << 16 | ((r >> 20) % 40); /* hi << 16 | lo */
    }
    /* 16 KiB: read buffers allocated apart; 256 KiB: inside the budget */
    nglm_count_opts o = {T, _i == 0 ? 16 * 1024 : 256 * 1024, dir};
    nglm_counter C;
    nglm_error err;
    ck_assert_int_eq(nglm_counter_init(&C, &o, n, nglm_count_bits(5000), 6, &err), 0);
#pragma omp parallel for num_threads(T) schedule(static)
    for (int t = 0; t < T; t++)
        for (size_t i = (size_t)t; i < n; i += (size_t)T)
            nglm_counter_add(&C, t, all[i] >> 16, (uint32_t)(all[i] & 0xFFFF));
    ck_assert_int_eq(nglm_counter_finish(&C, &err), 0);
    ck_assert_uint_gt(C.spilled, 0);
    qsort(all, n, sizeof *all, cmp_u64);
    size_t i = 0, distinct = 0;
    uint64_t hi, count;
    uint32_t lo;
    while (nglm_counter_next(&C, &hi, &lo, &count, &err) > 0) {
        size_t j = i;
        while (j < n && all[j] == all[i])
            j++;
        ck_assert_uint_eq(hi, all[i] >> 16);
        ck_assert_uint_eq(lo, all[i] & 0xFFFF);
        ck_assert_uint_eq(count, j - i);
        i = j;
        distinct++;
    }
    ck_assert_uint_eq(i, n);
    ck_assert_uint_gt(distinct, 1000);
    nglm_counter_free(&C);
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    int files = 0;
    while ((e = readdir(d)) != NULL)
        files += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    ck_assert_int_eq(files, 0);
    rmdir(dir);
    free(all);
}
END_TEST

/* A temp directory that cannot be used is one clear error once counting
 * spills; nothing is spilled (and no directory needed) when it fits. */
START_TEST(test_bad_temp_dir)
{
    nglm_corpus c;
    int32_t V = make_corpus(&c, 0, 9, 500);
    nglm_error err;
    nglm_features F;
    nglm_count_opts o = {2, 4096, "/nonexistent/nglm-dir"};
    ck_assert_int_eq(nglm_features_build_with(&F, &c, V, 3, NULL, &o, &err), -1);
    ck_assert_msg(strstr(err.msg, "cannot create a temporary file in /nonexistent/nglm-dir") != NULL,
                  "%s", err.msg);
    ck_assert_int_eq(F.n_feat, 0); /* freed */
    o.memory = 0;
    ck_assert_int_eq(nglm_features_build_with(&F, &c, V, 3, NULL, &o, &err), 0);
    nglm_features_free(&F);
    nglm_corpus_free(&c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("count");
    TCase *tc = tcase_create("count");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_same_as_reference_gen);
    tcase_add_test(tc, test_same_as_reference_dense);
    tcase_add_test(tc, test_same_as_reference_ragged);
    tcase_add_loop_test(tc, test_skips_same_as_reference, 0, 2);
    tcase_add_loop_test(tc, test_counter_spills_and_merges, 0, 2);
    tcase_add_test(tc, test_bad_temp_dir);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
