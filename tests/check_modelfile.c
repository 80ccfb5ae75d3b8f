/*
 * check_modelfile.c — tests of the binary model file and of pruning
 * (src/modelfile.c, doc/model-format.md), and of nglm_vocab_from_list which
 * the loader builds the vocabulary with.
 *
 * A small model is built in memory (a synthetic corpus, all its n-grams as
 * features, deterministic pseudo-random weights with many exact zeros).  The
 * file must round-trip bit for bit; every truncation and every single-byte
 * change of a saved file must be rejected with a message, never a crash;
 * files that pass the checksum but lie about their sizes must be rejected
 * before anything large is allocated (the test recomputes the CRC with its
 * own bitwise CRC-32, which also pins the checksum to the standard one).
 * Pruning must leave every probability unchanged: it is checked against the
 * dense reference nglm_model_dist_dense.  Models with skip-gram templates
 * (nglm_features_add_skips) go through the same round trip, damage and
 * pruning checks, plus lies told by their SKIP section.  Every load is also
 * done by mapping (nglm_model_map): with NGLM_MAP_VERIFY it must refuse
 * exactly what nglm_model_load refuses; by default it must refuse every
 * truncation and every lie about sizes and ranges, and a file it accepts
 * despite damage must still score without a crash; a mapped model must
 * score bit for bit as the loaded one, also after its file is replaced.
 */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <signal.h>

#include "nglm/corpus.h"
#include "nglm/features.h"
#include "nglm/model.h"
#include "nglm/modelfile.h"
#include "nglm/vocab.h"

#include "../src/blocks.h"

/* ------------------------------------------------------------------ helpers */

static uint64_t rng_next(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

static const char *const test_words[] = {
    "<s>", "</s>", "<unk>", "the", "cat", "dog", "sat", "on", "mat", "a", "ran", "fast",
    "très", "naïve"
};
#define N_TEST_WORDS (sizeof test_words / sizeof test_words[0])

/* A model of the given order over a synthetic corpus of n_sents sentences,
 * with skip-gram templates at the n_skip distances dist; about zero_pct % of
 * the non-unigram weights are exactly 0.  The weights are drawn in feature
 * order, so the n-gram weights do not depend on the skip-grams. */
static void build_model_skip(nglm_model *m, int order, size_t n_sents, int zero_pct,
                             uint64_t seed, int n_skip, const int *dist)
{
    nglm_error err = { "" };
    uint64_t counts[N_TEST_WORDS];
    for (size_t i = 0; i < N_TEST_WORDS; i++)
        counts[i] = 1000 - 7 * i;
    memset(m, 0, sizeof *m);
    m->vocab = nglm_vocab_from_list(test_words, counts, N_TEST_WORDS, &err);
    ck_assert_msg(m->vocab != NULL, "%s", err.msg);

    char **lines = calloc(n_sents, sizeof *lines);
    ck_assert_ptr_nonnull(lines);
    uint64_t s = seed;
    for (size_t i = 0; i < n_sents; i++) {
        lines[i] = calloc(1, 256);
        ck_assert_ptr_nonnull(lines[i]);
        size_t len = 1 + rng_next(&s) % 6;
        for (size_t j = 0; j < len; j++) {
            /* skewed towards the first words, so n-grams repeat */
            size_t r = rng_next(&s) % 100;
            size_t w = 3 + (r < 60 ? r % 4 : r % (N_TEST_WORDS - 3));
            if (j)
                strcat(lines[i], " ");
            strcat(lines[i], test_words[w]);
        }
    }
    nglm_corpus c;
    ck_assert_msg(nglm_corpus_from_lines(&c, (const char *const *)lines, n_sents, m->vocab,
                                         &err) == 0, "%s", err.msg);
    ck_assert_msg(nglm_features_build(&m->feat, &c, (int32_t)N_TEST_WORDS, order, NULL, 1,
                                      &err) == 0, "%s", err.msg);
    if (n_skip > 0)
        ck_assert_msg(nglm_features_add_skips(&m->feat, &c, n_skip, dist, 1, &err) == 0, "%s",
                      err.msg);
    nglm_corpus_free(&c);
    for (size_t i = 0; i < n_sents; i++)
        free(lines[i]);
    free(lines);

    m->theta = malloc(m->feat.n_feat * sizeof *m->theta);
    ck_assert_ptr_nonnull(m->theta);
    for (size_t f = 0; f < m->feat.n_feat; f++) {
        double x = (double)(rng_next(&s) % 2000001) / 1000000.0 - 1.0;
        if (f >= (size_t)m->feat.V && (int)(rng_next(&s) % 100) < zero_pct)
            x = 0;
        m->theta[f] = f == NGLM_BOS ? 0 : x;
    }
    m->tok.mode = NGLM_TOK_WORD;
    m->tok.lowercase = 1;
    m->tok.replace_invalid = 1;
    m->info.l1 = 0.5;
    m->info.l2 = 1.0 / 6;
    m->info.lr = 1.5;
    m->info.epochs = 7;
    m->info.batch = 1000;
    m->info.seed = 0x0123456789abcdefull;
    m->info.train_tokens = 123456789012ull;
    m->info.valid_ppl = 146.25;
    m->info.pruned = 3;
}

static void build_model(nglm_model *m, int order, size_t n_sents, int zero_pct, uint64_t seed)
{
    build_model_skip(m, order, n_sents, zero_pct, seed, 0, NULL);
}

static const int skip_dists[] = { 2, 3 };

static void assert_models_equal(const nglm_model *a, const nglm_model *b)
{
    const nglm_features *F = &a->feat, *G = &b->feat;
    ck_assert_int_eq(F->order, G->order);
    ck_assert_int_eq(F->V, G->V);
    ck_assert_mem_eq(F->cutoff, G->cutoff, sizeof F->cutoff);
    ck_assert_uint_eq(F->n_ctx, G->n_ctx);
    ck_assert_uint_eq(F->n_feat, G->n_feat);
    ck_assert_mem_eq(F->ctx_order_start, G->ctx_order_start, sizeof F->ctx_order_start);
    if (F->n_ctx) {
        ck_assert_mem_eq(F->ctx_parent, G->ctx_parent, F->n_ctx * sizeof(int32_t));
        ck_assert_mem_eq(F->ctx_word, G->ctx_word, F->n_ctx * sizeof(int32_t));
    }
    ck_assert_mem_eq(F->ctx_first, G->ctx_first, (F->n_ctx + 1) * sizeof(uint32_t));
    ck_assert_mem_eq(F->feat_word, G->feat_word, F->n_feat * sizeof(int32_t));
    ck_assert_mem_eq(F->feat_back, G->feat_back, F->n_feat * sizeof(int32_t));
    ck_assert_mem_eq(F->feat_count, G->feat_count, F->n_feat * sizeof(uint32_t));
    ck_assert_mem_eq(F->ctx1, G->ctx1, (size_t)F->V * sizeof(int32_t));
    ck_assert_uint_eq(F->n_ngram_feat, G->n_ngram_feat);
    ck_assert_int_eq(F->n_skip, G->n_skip);
    ck_assert_uint_eq(F->skip_cutoff, G->skip_cutoff);
    for (int i = 0; i < F->n_skip; i++) {
        ck_assert_int_eq(F->skip_dist[i], G->skip_dist[i]);
        ck_assert_mem_eq(F->skip_first[i], G->skip_first[i],
                         ((size_t)F->V + 1) * sizeof(uint32_t));
    }
    ck_assert_mem_eq(a->theta, b->theta, F->n_feat * sizeof(double));
    ck_assert_int_eq(a->tok.mode, b->tok.mode);
    ck_assert_int_eq(a->tok.lowercase, b->tok.lowercase);
    ck_assert_int_eq(a->tok.replace_invalid, b->tok.replace_invalid);
    ck_assert_mem_eq(&a->info.l1, &b->info.l1, sizeof(double));
    ck_assert_mem_eq(&a->info.l2, &b->info.l2, sizeof(double));
    ck_assert_mem_eq(&a->info.lr, &b->info.lr, sizeof(double));
    ck_assert_mem_eq(&a->info.valid_ppl, &b->info.valid_ppl, sizeof(double));
    ck_assert_uint_eq(a->info.epochs, b->info.epochs);
    ck_assert_uint_eq(a->info.batch, b->info.batch);
    ck_assert_uint_eq(a->info.seed, b->info.seed);
    ck_assert_uint_eq(a->info.train_tokens, b->info.train_tokens);
    ck_assert_uint_eq(a->info.pruned, b->info.pruned);
    ck_assert_uint_eq(nglm_vocab_size(a->vocab), nglm_vocab_size(b->vocab));
    ck_assert_int_eq(nglm_vocab_is_final(b->vocab), 1);
    for (int32_t i = 0; i < (int32_t)nglm_vocab_size(a->vocab); i++) {
        ck_assert_str_eq(nglm_vocab_word(a->vocab, i), nglm_vocab_word(b->vocab, i));
        ck_assert_uint_eq(nglm_vocab_count(a->vocab, i), nglm_vocab_count(b->vocab, i));
        ck_assert_int_eq(nglm_vocab_find(b->vocab, nglm_vocab_word(a->vocab, i)), i);
    }
}

/* A fresh directory for one test's files. */
static const char *temp_dir(void)
{
    static char dir[64];
    snprintf(dir, sizeof dir, "/tmp/nglm-mf-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    return dir;
}

/* Removes a test directory and the files in it. */
static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    char path[512];
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        ck_assert_int_eq(unlink(path), 0);
    }
    closedir(d);
    ck_assert_int_eq(rmdir(dir), 0);
}

static unsigned char *slurp(const char *path, size_t *size)
{
    FILE *fp = fopen(path, "rb");
    ck_assert_ptr_nonnull(fp);
    ck_assert_int_eq(fseek(fp, 0, SEEK_END), 0);
    long n = ftell(fp);
    ck_assert_int_ge(n, 0);
    rewind(fp);
    unsigned char *buf = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    *size = (size_t)n;
    return buf;
}

/* Writes a fresh file (unlinking first: rewriting a file in place can make
 * the file system flush it on close, which made these loops slow). */
static void spit(const char *path, const void *buf, size_t size)
{
    unlink(path);
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    if (size)
        ck_assert_uint_eq(fwrite(buf, 1, size, fp), size);
    ck_assert_int_eq(fclose(fp), 0);
}

/* Saves m to dir/name and returns the path (static, one at a time). */
static const char *save_to(const nglm_model *m, const char *dir, const char *name)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    nglm_error err = { "" };
    ck_assert_msg(nglm_model_save(m, path, &err) == 0, "%s", err.msg);
    return path;
}

static double max_dense_diff(const nglm_model *a, const nglm_model *b, uint64_t seed,
                             int n_sents);

/* Loading path with loader `how` (0 nglm_model_load, 1 nglm_model_map, 2
 * nglm_model_map with NGLM_MAP_VERIFY). */
static int load_how(nglm_model *m, const char *path, int how, nglm_error *err)
{
    return how == 0 ? nglm_model_load(m, path, err)
                    : nglm_model_map(m, path, how == 2 ? NGLM_MAP_VERIFY : 0, err);
}

/* Loading path with loader `how` must fail with a message that starts with
 * the path and contains want (if not NULL); leaves m zeroed, leaks nothing. */
static void expect_how_error(const char *path, int how, const char *want)
{
    nglm_model m;
    nglm_error err = { "" };
    ck_assert_msg(load_how(&m, path, how, &err) == -1, "loader %d accepted %s", how, path);
    ck_assert_ptr_null(m.vocab);
    ck_assert_ptr_null(m.theta);
    ck_assert_ptr_null(m.map);
    ck_assert_msg(strncmp(err.msg, path, strlen(path)) == 0, "message '%s' lacks the path",
                  err.msg);
    if (want)
        ck_assert_msg(strstr(err.msg, want) != NULL, "loader %d: message '%s' lacks '%s'", how,
                      err.msg, want);
}

/* Sentences of the test words, read with m's vocabulary (for scoring). */
static void test_corpus(nglm_corpus *c, const nglm_model *m)
{
    static const char *const lines[] = {
        "the cat sat on the mat", "a dog ran fast", "the the the", "très naïve cat",
        "unknown words here", "", "mat on sat cat the a dog ran fast très naïve"
    };
    nglm_error err = { "" };
    ck_assert_msg(nglm_corpus_from_lines(c, lines, sizeof lines / sizeof lines[0], m->vocab,
                                         &err) == 0, "%s", err.msg);
}

/* A model that the default mapped load accepted despite damage it does not
 * check (weights, sortedness, the CRC): it must still score without
 * reading outside its arrays (the sanitizer build and the fuzz target make
 * that visible); the numbers may be wrong. */
static void score_anyway(const nglm_model *m)
{
    nglm_error err = { "" };
    nglm_corpus c;
    test_corpus(&c, m);
    double *lp = malloc(c.n_tokens * sizeof *lp), *p = malloc((size_t)m->feat.V * sizeof *p);
    ck_assert_ptr_nonnull(lp);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(nglm_model_score_corpus(m, &c, lp, 1, &err), 0);
    for (size_t s = 0; s < c.n_sents; s++) {
        size_t len;
        const int32_t *sent = nglm_corpus_sentence(&c, s, &len);
        for (size_t i = 0; i < len; i++) {
            nglm_model_dist_dense(m, sent, i, p);
            (void)nglm_model_ngram_length(m, sent, i);
        }
    }
    free(lp);
    free(p);
    nglm_corpus_free(&c);
}

/* Every loader must refuse path, with a message that starts with the path
 * and contains want (if not NULL): damage that the default mapped load
 * checks too (sizes, offsets, truncation, the ranges lookups rely on). */
static void expect_load_error(const char *path, const char *want)
{
    for (int how = 0; how < 3; how++)
        expect_how_error(path, how, want);
}

/* nglm_model_load and the verified mapped load must refuse path (want as
 * above); the default mapped load either refuses it too or gives a model
 * that scores without a crash (score_anyway). */
static void expect_verify_error(const char *path, const char *want)
{
    expect_how_error(path, 0, want);
    expect_how_error(path, 2, want);
    nglm_model m;
    nglm_error err = { "" };
    if (nglm_model_map(&m, path, 0, &err) == 0) {
        score_anyway(&m);
        nglm_model_free(&m);
    } else {
        ck_assert_msg(strncmp(err.msg, path, strlen(path)) == 0, "message '%s' lacks the path",
                      err.msg);
    }
}

/* A mapped model (flags) of path must equal a, array for array, and score
 * c's tokens bit for bit as a does. */
static void expect_mapped_equal(const nglm_model *a, const char *path, unsigned flags)
{
    nglm_model b;
    nglm_error err = { "" };
    ck_assert_msg(nglm_model_map(&b, path, flags, &err) == 0, "%s", err.msg);
    ck_assert_ptr_nonnull(b.map);
    assert_models_equal(a, &b);
    if (b.feat.child_first) /* built, or the file's CHILDREN in place */
        ck_assert_mem_eq(a->feat.child_first, b.feat.child_first,
                         (a->feat.n_ctx + 1) * sizeof(uint32_t));
    else /* a file without CHILDREN, mapped: found by search, the same */
        ck_assert_uint_eq(flags & NGLM_MAP_VERIFY, 0);
    for (size_t x = 0; x < a->feat.n_ctx; x++)
        for (int32_t w = 0; w < a->feat.V; w++)
            ck_assert_int_eq(nglm_features_child(&a->feat, (int32_t)x, w),
                             nglm_features_child(&b.feat, (int32_t)x, w));
    ck_assert(max_dense_diff(a, &b, 9, 30) == 0.0);
    nglm_corpus c;
    test_corpus(&c, a);
    double *la = malloc(c.n_tokens * sizeof *la), *lb = malloc(c.n_tokens * sizeof *lb);
    ck_assert_ptr_nonnull(la);
    ck_assert_ptr_nonnull(lb);
    ck_assert_int_eq(nglm_model_score_corpus(a, &c, la, 2, &err), 0);
    ck_assert_int_eq(nglm_model_score_corpus(&b, &c, lb, 1, &err), 0);
    if (b.lnz) /* the stored normalisers' back-off path: equal to rounding */
        for (size_t t = 0; t < c.n_tokens; t++)
            ck_assert_msg(fabs(la[t] - lb[t]) <= 1e-12 * (1 + fabs(la[t])), "token %zu: "
                          "%.17g, mapped %.17g", t, la[t], lb[t]);
    else
        ck_assert_mem_eq(la, lb, c.n_tokens * sizeof *la);
    size_t pruned;
    ck_assert_int_eq(nglm_model_prune(&b, &pruned, &err), -1); /* read-only */
    ck_assert_ptr_nonnull(strstr(err.msg, "mapped"));
    free(la);
    free(lb);
    nglm_corpus_free(&c);
    nglm_model_free(&b);
    ck_assert_ptr_null(b.map);
}

/* Standard CRC-32 (reflected, polynomial 0xEDB88320), bit by bit. */
static uint32_t crc32_ref(const unsigned char *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
    }
    return ~c;
}

#define OFF_CRC 32
#define SECTION_TABLE 40

/* CRC-32C, a bit at a time (the block checksums). */
static uint32_t crc32c_ref(const unsigned char *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1)));
    }
    return ~c;
}

/* Recomputes the block checksums of a file image (its BLOCKS section, id 8,
 * when it has one: 64 KiB blocks of the bytes before it, the CRC field
 * counted as zero) and its CRC (its own field counted as zero). */
static void fix_crc(unsigned char *buf, size_t size)
{
    memset(buf + OFF_CRC, 0, 4);
    uint32_t n_sec;
    memcpy(&n_sec, buf + 20, 4);
    for (uint32_t i = 0; i < n_sec && 40 + 24 * (size_t)(i + 1) <= size; i++) {
        uint32_t id;
        uint64_t off, cover, nb;
        memcpy(&id, buf + SECTION_TABLE + 24 * i, 4);
        memcpy(&off, buf + SECTION_TABLE + 24 * i + 8, 8);
        if (id != 8 || off + 24 > size)
            continue;
        memcpy(&cover, buf + off + 8, 8);
        memcpy(&nb, buf + off + 16, 8);
        if (cover > size || off + 24 + 4 * nb > size)
            continue;
        for (uint64_t b = 0; b < nb; b++) {
            size_t lo = (size_t)b << 16, hi = lo + 65536 < cover ? lo + 65536 : cover;
            uint32_t c = lo < hi ? crc32c_ref(buf + lo, hi - lo) : 0;
            memcpy(buf + off + 24 + 4 * b, &c, 4);
        }
        uint32_t t = crc32c_ref(buf + off + 24, 4 * nb);
        memcpy(buf + off + 4, &t, 4);
    }
    uint32_t c = crc32_ref(buf, size);
    memcpy(buf + OFF_CRC, &c, 4);
}

/* Offset of section id (1 INFO, 2 VOCAB, 3 FEATURES, 4 WEIGHTS, 5 SKIP). */
static uint64_t section_offset(const unsigned char *buf, uint32_t id)
{
    uint32_t n;
    memcpy(&n, buf + 20, 4);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t x;
        uint64_t off;
        memcpy(&x, buf + SECTION_TABLE + 24 * i, 4);
        memcpy(&off, buf + SECTION_TABLE + 24 * i + 8, 8);
        if (x == id)
            return off;
    }
    ck_abort_msg("no section %u", id);
    return 0;
}

/* Whether the file image has a section of this id. */
static int has_section(const unsigned char *buf, uint32_t id)
{
    uint32_t n;
    memcpy(&n, buf + 20, 4);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t x;
        memcpy(&x, buf + SECTION_TABLE + 24 * i, 4);
        if (x == id)
            return 1;
    }
    return 0;
}

/* Every predicted position of random sentences: max |p_a - p_b|. */
static double max_dense_diff(const nglm_model *a, const nglm_model *b, uint64_t seed,
                             int n_sents)
{
    int32_t V = a->feat.V;
    double *pa = malloc((size_t)V * sizeof *pa), *pb = malloc((size_t)V * sizeof *pb);
    ck_assert_ptr_nonnull(pa);
    ck_assert_ptr_nonnull(pb);
    int32_t sent[12];
    double worst = 0;
    uint64_t s = seed;
    for (int k = 0; k < n_sents; k++) {
        size_t len = 1 + rng_next(&s) % 11;
        for (size_t i = 0; i + 1 < len; i++) {
            size_t r = rng_next(&s) % 100;
            sent[i] = (int32_t)(r < 5 ? NGLM_UNK
                                      : 3 + (r < 60 && V >= 7 ? r % 4 : r % (size_t)(V - 3)));
        }
        sent[len - 1] = NGLM_EOS;
        for (size_t i = 0; i < len; i++) {
            nglm_model_dist_dense(a, sent, i, pa);
            nglm_model_dist_dense(b, sent, i, pb);
            for (int32_t w = 0; w < V; w++)
                worst = fmax(worst, fabs(pa[w] - pb[w]));
        }
    }
    free(pa);
    free(pb);
    return worst;
}

/* Feature id of the n-gram words[0..n-1] (oldest first), or -1. */
static int32_t ngram_feature(const nglm_features *F, const int32_t *words, int n)
{
    if (n == 1)
        return words[0];
    int32_t ctx = F->ctx1[words[n - 2]];
    for (int j = n - 3; j >= 0 && ctx >= 0; j--)
        ctx = nglm_features_child(F, ctx, words[j]);
    return ctx < 0 ? -1 : nglm_features_find(F, ctx, words[n - 1]);
}

/* Words of context x, oldest first; returns its length. */
static int context_words(const nglm_features *F, int32_t x, int32_t *words)
{
    int n = 0;
    for (; x >= 0; x = F->ctx_parent[x])
        words[n++] = F->ctx_word[x];
    return n;
}

/* The file at path with its CHILDREN section turned into an unknown one
 * (as a file written before CHILDREN existed reads): every loader still
 * gives a, and the default mapped one finds children by search. */
static void expect_without_children(const nglm_model *a, const char *dir, const char *path)
{
    size_t n;
    unsigned char *buf = slurp(path, &n);
    uint32_t n_sec, id;
    memcpy(&n_sec, buf + 20, 4);
    for (uint32_t i = 0; i < n_sec; i++) {
        memcpy(&id, buf + SECTION_TABLE + 24 * i, 4);
        if (id == 7) {
            id = 99;
            memcpy(buf + SECTION_TABLE + 24 * i, &id, 4);
        }
    }
    fix_crc(buf, n);
    char old[256];
    snprintf(old, sizeof old, "%s/old.nglm", dir);
    spit(old, buf, n);
    free(buf);
    nglm_model b;
    nglm_error err = { "" };
    ck_assert_msg(nglm_model_map(&b, old, 0, &err) == 0, "%s", err.msg);
    ck_assert_ptr_null(b.feat.child_first);
    nglm_model_free(&b);
    expect_mapped_equal(a, old, 0);
    expect_mapped_equal(a, old, NGLM_MAP_VERIFY);
    ck_assert_msg(nglm_model_load(&b, old, &err) == 0, "%s", err.msg);
    assert_models_equal(a, &b);
    nglm_model_free(&b);
}

/* ------------------------------------------------------------------ vocabulary */

START_TEST(test_vocab_from_list)
{
    nglm_error err = { "" };
    const char *words[] = { "<s>", "</s>", "<unk>", "zebra", "apple", "mango" };
    const uint64_t counts[] = { 0, 10, 2, 1, 5, 5 };
    nglm_vocab *v = nglm_vocab_from_list(words, counts, 6, &err);
    ck_assert_msg(v != NULL, "%s", err.msg);
    ck_assert_int_eq(nglm_vocab_is_final(v), 1);
    ck_assert_uint_eq(nglm_vocab_size(v), 6);
    for (int32_t i = 0; i < 6; i++) {
        ck_assert_str_eq(nglm_vocab_word(v, i), words[i]);
        ck_assert_uint_eq(nglm_vocab_count(v, i), counts[i]);
        ck_assert_int_eq(nglm_vocab_find(v, words[i]), i);
    }
    ck_assert_int_eq(nglm_vocab_id(v, "kiwi"), NGLM_UNK);
    ck_assert_int_eq(nglm_vocab_add(v, "kiwi", 1, &err), -1);
    nglm_vocab_free(v);

    v = nglm_vocab_from_list(words, NULL, 3, &err);
    ck_assert_ptr_nonnull(v);
    ck_assert_uint_eq(nglm_vocab_count(v, NGLM_EOS), 0);
    nglm_vocab_free(v);

    const char *dup[] = { "<s>", "</s>", "<unk>", "a", "b", "a" };
    ck_assert_ptr_null(nglm_vocab_from_list(dup, NULL, 6, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "duplicate word 'a'"));
    const char *dup_special[] = { "<s>", "</s>", "<unk>", "</s>" };
    ck_assert_ptr_null(nglm_vocab_from_list(dup_special, NULL, 4, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "duplicate"));
    const char *order[] = { "</s>", "<s>", "<unk>" };
    ck_assert_ptr_null(nglm_vocab_from_list(order, NULL, 3, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "must be <s>"));
    const char *empty[] = { "<s>", "</s>", "<unk>", "" };
    ck_assert_ptr_null(nglm_vocab_from_list(empty, NULL, 4, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "empty word"));
    const char *tab[] = { "<s>", "</s>", "<unk>", "a\tb" };
    ck_assert_ptr_null(nglm_vocab_from_list(tab, NULL, 4, &err));
    ck_assert_ptr_null(nglm_vocab_from_list(words, NULL, 2, &err));
}
END_TEST

/* ------------------------------------------------------------------ round trip */

START_TEST(test_roundtrip)
{
    /* _i: order 1 .. 5 */
    int order = _i;
    nglm_model a, b;
    build_model(&a, order, 60, 30, 42 + (uint64_t)order);
    const char *dir = temp_dir();
    char path[256];
    snprintf(path, sizeof path, "%s", save_to(&a, dir, "m.nglm"));
    ck_assert_int_eq(nglm_model_file_is_native(path), 1);

    nglm_error err = { "" };
    ck_assert_msg(nglm_model_load(&b, path, &err) == 0, "%s", err.msg);
    assert_models_equal(&a, &b);
    ck_assert(max_dense_diff(&a, &b, 7, 50) == 0.0);
    expect_mapped_equal(&a, path, 0);
    expect_mapped_equal(&a, path, NGLM_MAP_VERIFY);
    expect_without_children(&a, dir, path);

    /* saving the loaded model gives the same bytes */
    size_t n1, n2;
    unsigned char *f1 = slurp(path, &n1);
    const char *p2 = save_to(&b, dir, "again.nglm");
    unsigned char *f2 = slurp(p2, &n2);
    ck_assert_uint_eq(n1, n2);
    ck_assert_mem_eq(f1, f2, n1);

    /* the stored CRC is the standard CRC-32 of the file with its field zeroed */
    uint32_t stored;
    memcpy(&stored, f1 + OFF_CRC, 4);
    memset(f1 + OFF_CRC, 0, 4);
    ck_assert_uint_eq(stored, crc32_ref(f1, n1));

    /* overwriting an existing model */
    b.theta[3] += 1;
    ck_assert_int_eq(nglm_model_save(&b, path, &err), 0);
    nglm_model c;
    ck_assert_int_eq(nglm_model_load(&c, path, &err), 0);
    ck_assert(c.theta[3] == b.theta[3]);
    nglm_model_free(&c);

    free(f1);
    free(f2);
    nglm_model_free(&a);
    nglm_model_free(&b);
    remove_dir(dir);
}
END_TEST

/* _i = 1: the model records a cache (the optional CACHE section). */
static void add_cache(nglm_model *m, int on)
{
    if (!on)
        return;
    nglm_error err;
    ck_assert_int_eq(nglm_cache_parse("decay:100,bigram:200", &m->cache, &err), 0);
    m->cache.lambda = 0.08;
    m->cache.bigram_lambda = 0.0585;
    m->cache.reset_word = m->feat.V - 1;
    m->has_cache = 1;
}

/* A recorded cache comes back as it was saved; a model without one has no
 * CACHE section and the same bytes as before there was one. */
START_TEST(test_cache_roundtrip)
{
    nglm_model a, b;
    build_model(&a, 3, 30, 30, 44);
    const char *dir = temp_dir();
    char plain[256], with[256];
    snprintf(plain, sizeof plain, "%s", save_to(&a, dir, "plain.nglm"));
    add_cache(&a, 1);
    snprintf(with, sizeof with, "%s", save_to(&a, dir, "cache.nglm"));
    nglm_error err = { "" };
    ck_assert_msg(nglm_model_load(&b, with, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(b.has_cache, 1);
    ck_assert_int_eq(b.cache.kind, a.cache.kind);
    ck_assert(b.cache.length == a.cache.length && b.cache.bigram_length == a.cache.bigram_length);
    ck_assert(b.cache.lambda == a.cache.lambda && b.cache.bigram_lambda == a.cache.bigram_lambda);
    ck_assert_int_eq(b.cache.reset_word, a.cache.reset_word);
    assert_models_equal(&a, &b);
    nglm_model_free(&b);
    ck_assert_int_eq(nglm_model_load(&b, plain, &err), 0);
    ck_assert_int_eq(b.has_cache, 0);
    nglm_model_free(&b);
    size_t n1, n2;
    unsigned char *f1 = slurp(plain, &n1), *f2 = slurp(with, &n2);
    ck_assert_uint_eq(n2, n1 + 24 + 48); /* a table entry and the section */
    free(f1);
    free(f2);
    /* weights that add up to more than 1 are not a cache */
    a.cache.lambda = 0.7;
    a.cache.bigram_lambda = 0.5;
    save_to(&a, dir, "bad.nglm");
    char bad[256];
    snprintf(bad, sizeof bad, "%s/bad.nglm", dir);
    expect_load_error(bad, "CACHE section holds a bad cache");
    nglm_model_free(&a);
    remove_dir(dir);
}
END_TEST

START_TEST(test_header_fields)
{
    nglm_model a;
    build_model(&a, 3, 20, 0, 5);
    const char *dir = temp_dir();
    const char *path = save_to(&a, dir, "m.nglm");
    size_t n;
    unsigned char *buf = slurp(path, &n);
    ck_assert_mem_eq(buf, "NGLMMODL", 8);
    uint32_t version, bom, header_size, n_sec;
    uint64_t file_size;
    memcpy(&version, buf + 8, 4);
    memcpy(&bom, buf + 12, 4);
    memcpy(&header_size, buf + 16, 4);
    memcpy(&n_sec, buf + 20, 4);
    memcpy(&file_size, buf + 24, 8);
    ck_assert_uint_eq(version, NGLM_MODEL_VERSION);
    ck_assert_uint_eq(bom, 0x01020304u);
    ck_assert_uint_eq(n_sec, 7); /* INFO VOCAB FEATURES WEIGHTS CHILDREN NORMS BLOCKS */
    ck_assert_uint_eq(header_size, 40 + 24 * 7);
    ck_assert_uint_eq(file_size, n);
    for (uint32_t id = 1; id <= 7; id += id == 4 ? 3 : 1) {
        uint64_t off = section_offset(buf, id);
        ck_assert_uint_eq(off % 8, 0);
        ck_assert_uint_ge(off, header_size);
    }
    /* INFO: l1 first, then the tokenizer settings at bytes 64.. */
    uint64_t info = section_offset(buf, 1);
    double l1;
    uint32_t mode;
    memcpy(&l1, buf + info, 8);
    memcpy(&mode, buf + info + 64, 4);
    ck_assert(l1 == 0.5);
    ck_assert_uint_eq(mode, NGLM_TOK_WORD);
    /* CHILDREN: n_ctx + 1, then child_first */
    uint64_t ch = section_offset(buf, 7), n_off;
    memcpy(&n_off, buf + ch, 8);
    ck_assert_uint_eq(n_off, a.feat.n_ctx + 1);
    ck_assert_mem_eq(buf + ch + 8, a.feat.child_first, n_off * 4);
    /* NORMS: n_ctx + 1, then ln U and each context's ln Z, as computed for
     * the ARPA export; before BLOCKS, which covers it */
    uint64_t nz = section_offset(buf, 9);
    ck_assert_uint_eq(nz % 8, 0);
    ck_assert_uint_lt(nz, section_offset(buf, 8));
    memcpy(&n_off, buf + nz, 8);
    ck_assert_uint_eq(n_off, a.feat.n_ctx + 1);
    double *want = nglm_model_norms_new(&a, 1, NULL);
    ck_assert_ptr_nonnull(want);
    ck_assert_mem_eq(buf + nz + 8, want, n_off * 8);
    free(want);
    /* VOCAB: the count, then "<s>" */
    uint64_t voc = section_offset(buf, 2), nw;
    uint32_t len;
    memcpy(&nw, buf + voc, 8);
    memcpy(&len, buf + voc + 8, 4);
    ck_assert_uint_eq(nw, N_TEST_WORDS);
    ck_assert_uint_eq(len, 3);
    ck_assert_mem_eq(buf + voc + 12, "<s>", 3);
    free(buf);
    nglm_model_free(&a);
    remove_dir(dir);
}
END_TEST

/* A mapped model keeps scoring as it did after its file is replaced (saving
 * renames a new file over the path, so the mapping keeps the old one), and
 * mapping the path again gives the new model. */
START_TEST(test_mapped_replaced)
{
    nglm_model a, b, m;
    build_model(&a, 3, 40, 20, 31);
    build_model(&b, 3, 40, 20, 32);
    const char *dir = temp_dir();
    char path[256];
    snprintf(path, sizeof path, "%s", save_to(&a, dir, "m.nglm"));
    nglm_error err = { "" };
    ck_assert_msg(nglm_model_map(&m, path, 0, &err) == 0, "%s", err.msg);
    nglm_corpus c;
    test_corpus(&c, &a);
    double *la = malloc(c.n_tokens * sizeof *la), *lm = malloc(c.n_tokens * sizeof *lm);
    ck_assert_ptr_nonnull(la);
    ck_assert_ptr_nonnull(lm);
    ck_assert_int_eq(nglm_model_score_corpus(&a, &c, la, 1, &err), 0);
    save_to(&b, dir, "m.nglm"); /* replaced under the mapping */
    ck_assert_int_eq(nglm_model_score_corpus(&m, &c, lm, 1, &err), 0);
    for (size_t t = 0; t < c.n_tokens; t++) /* m: the back-off path over NORMS */
        ck_assert(fabs(la[t] - lm[t]) <= 1e-12 * (1 + fabs(la[t])));
    ck_assert(max_dense_diff(&a, &m, 5, 20) == 0.0);
    nglm_model_free(&m);
    expect_mapped_equal(&b, path, 0);
    free(la);
    free(lm);
    nglm_corpus_free(&c);
    nglm_model_free(&a);
    nglm_model_free(&b);
    remove_dir(dir);
}
END_TEST

/* ------------------------------------------------------------------ damaged files */

START_TEST(test_truncated_everywhere)
{
    nglm_model a;
    build_model(&a, 3, 15, 30, 11);
    add_cache(&a, _i);
    const char *dir = temp_dir();
    char path[256], cut[256];
    snprintf(path, sizeof path, "%s", save_to(&a, dir, "m.nglm"));
    snprintf(cut, sizeof cut, "%s/cut.nglm", dir);
    size_t n;
    unsigned char *buf = slurp(path, &n);
    ck_assert_uint_lt(n, 20000);
    for (size_t len = 0; len < n; len++) {
        spit(cut, buf, len);
        expect_load_error(cut, len == 0 ? "not an nglm model file" : "file is truncated");
    }
    /* and one byte too many */
    unsigned char *longer = malloc(n + 1);
    memcpy(longer, buf, n);
    longer[n] = 0;
    spit(cut, longer, n + 1);
    expect_load_error(cut, "corrupted");
    free(longer);
    free(buf);
    nglm_model_free(&a);
    remove_dir(dir);
}
END_TEST

START_TEST(test_every_byte_flipped)
{
    nglm_model a;
    build_model(&a, 3, 15, 30, 12);
    add_cache(&a, _i);
    const char *dir = temp_dir();
    char path[256], bad[256];
    snprintf(path, sizeof path, "%s", save_to(&a, dir, "m.nglm"));
    snprintf(bad, sizeof bad, "%s/bad.nglm", dir);
    size_t n;
    unsigned char *buf = slurp(path, &n);
    static const unsigned char masks[] = { 0x01, 0x80, 0xFF };
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < sizeof masks; k++) {
            buf[i] ^= masks[k];
            spit(bad, buf, n);
            expect_verify_error(bad, NULL);
            buf[i] ^= masks[k];
        }
    free(buf);
    nglm_model_free(&a);
    remove_dir(dir);
}
END_TEST

START_TEST(test_foreign_files)
{
    nglm_model a;
    build_model(&a, 2, 10, 0, 13);
    const char *dir = temp_dir();
    char path[256], bad[256];
    snprintf(path, sizeof path, "%s", save_to(&a, dir, "m.nglm"));
    snprintf(bad, sizeof bad, "%s/bad.nglm", dir);
    size_t n;
    unsigned char *buf = slurp(path, &n);

    /* wrong magic */
    memcpy(buf, "NGLMMODX", 8);
    spit(bad, buf, n);
    expect_load_error(bad, ": not an nglm model file");
    ck_assert_int_eq(nglm_model_file_is_native(bad), 0);
    memcpy(buf, "NGLMMODL", 8);
    const char *arpa = "\n\\data\\\nngram 1=3\n";
    spit(bad, arpa, strlen(arpa));
    expect_load_error(bad, "not an nglm model file");
    ck_assert_int_eq(nglm_model_file_is_native(bad), 0);

    /* a newer version, whatever its checksum */
    uint32_t v = NGLM_MODEL_VERSION + 1;
    memcpy(buf + 8, &v, 4);
    spit(bad, buf, n);
    expect_load_error(bad, "model format version 2 is newer than this nglm supports (1)");
    ck_assert_int_eq(nglm_model_file_is_native(bad), 1);
    v = NGLM_MODEL_VERSION;
    memcpy(buf + 8, &v, 4);

    /* written on a machine of the other byte order */
    uint32_t bom = 0x04030201u;
    memcpy(buf + 12, &bom, 4);
    fix_crc(buf, n);
    spit(bad, buf, n);
    expect_load_error(bad, "model written on a machine of other byte order");
    bom = 0x01020304u;
    memcpy(buf + 12, &bom, 4);
    fix_crc(buf, n);
    spit(bad, buf, n);
    nglm_model ok;
    nglm_error err = { "" };
    ck_assert_msg(nglm_model_load(&ok, bad, &err) == 0, "%s", err.msg);
    nglm_model_free(&ok);

    /* a corrupted payload byte */
    buf[n - 3] ^= 0x10;
    spit(bad, buf, n);
    expect_verify_error(bad, "checksum mismatch: file is corrupted");

    /* not files */
    expect_load_error(dir, "is a directory");
    ck_assert_int_eq(nglm_model_file_is_native(dir), 0);
    char missing[256];
    snprintf(missing, sizeof missing, "%s/missing.nglm", dir);
    expect_load_error(missing, "No such file or directory");
    ck_assert_int_eq(nglm_model_file_is_native(missing), 0);
    char fifo[256];
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    expect_load_error(fifo, "not a regular file"); /* without blocking */
    ck_assert_int_eq(nglm_model_file_is_native(fifo), 0);
    expect_load_error("/dev/null", "not a regular file");

    free(buf);
    nglm_model_free(&a);
    remove_dir(dir);
}
END_TEST

/* Files with a valid checksum whose contents lie: rejected by validation,
 * without allocating what the lie asks for. */
START_TEST(test_lying_files)
{
    nglm_model a;
    build_model(&a, 3, 20, 20, 14);
    const char *dir = temp_dir();
    char path[256], bad[256];
    snprintf(path, sizeof path, "%s", save_to(&a, dir, "m.nglm"));
    snprintf(bad, sizeof bad, "%s/bad.nglm", dir);
    size_t n;
    unsigned char *orig = slurp(path, &n);
    unsigned char *buf = malloc(n);
    uint64_t voc = section_offset(orig, 2), feat = section_offset(orig, 3),
             wts = section_offset(orig, 4);
    struct { uint64_t at; uint64_t value; int width; const char *want; } lies[] = {
        { voc, 1ull << 40, 8, "bad word count" },
        { voc, 2, 8, "bad word count" },
        { voc + 8, 0xFFFFFFF0u, 4, "runs past the end" },
        { voc + 8, 0, 4, "empty" },
        { feat, 0, 4, "order 0 is out of range" },
        { feat, 11, 4, "order 11 is out of range" },
        { feat + 4, 99, 4, "but the vocabulary has" },
        { feat + 8, 2, 4, "bad cutoff table size" },
        { feat + 60, 1ull << 40, 8, "bad sizes" },
        { feat + 68, 1ull << 40, 8, "bad sizes" },
        { feat + 68, 5, 8, "bad sizes" },
        { feat + 60, 1, 8, "bytes of arrays" },
        { wts, 1ull << 40, 8, "WEIGHTS section does not hold" },
        { SECTION_TABLE + 24 * 2 + 8, 1ull << 50, 8, "lies outside the file" },
        { SECTION_TABLE + 24 * 2 + 16, 1ull << 50, 8, "lies outside the file" },
        { SECTION_TABLE + 24 * 3, 2, 4, "duplicate VOCAB section" },
        { SECTION_TABLE + 24 * 3, 99, 4, "missing WEIGHTS section" },
        { 20, 1000, 4, "bad header" },
        { 16, 8, 4, "bad header" },
    };
    for (size_t i = 0; i < sizeof lies / sizeof lies[0]; i++) {
        memcpy(buf, orig, n);
        if (lies[i].width == 4) {
            uint32_t x = (uint32_t)lies[i].value;
            memcpy(buf + lies[i].at, &x, 4);
        } else {
            memcpy(buf + lies[i].at, &lies[i].value, 8);
        }
        fix_crc(buf, n);
        spit(bad, buf, n);
        expect_load_error(bad, lies[i].want);
    }
    free(buf);
    free(orig);

    /* a bad index or a NaN saved by a buggy trainer: the CRC is fine */
    nglm_error err = { "" };
    double keep = a.theta[5];
    a.theta[5] = NAN;
    save_to(&a, dir, "nan.nglm");
    snprintf(bad, sizeof bad, "%s/nan.nglm", dir);
    expect_verify_error(bad, "weight 5 is not finite");
    a.theta[5] = INFINITY;
    ck_assert_int_eq(nglm_model_save(&a, bad, &err), 0);
    expect_verify_error(bad, "weight 5 is not finite");
    a.theta[5] = keep;

    size_t f = a.feat.n_feat - 1;
    int32_t back = a.feat.feat_back[f];
    a.feat.feat_back[f] = (int32_t)f;
    ck_assert_int_eq(nglm_model_save(&a, bad, &err), 0);
    expect_how_error(bad, 0, "bad back-off");
    expect_how_error(bad, 2, "bad back-off");
    expect_how_error(bad, 1, "back-off is out of range"); /* not below its feature */
    a.feat.feat_back[f] = back;

    int32_t w = a.feat.feat_word[a.feat.V];
    a.feat.feat_word[a.feat.V] = 0; /* <s> predicted */
    ck_assert_int_eq(nglm_model_save(&a, bad, &err), 0);
    expect_load_error(bad, "FEATURES section");
    a.feat.feat_word[a.feat.V] = w;

    a.feat.feat_back[1] = 0;
    ck_assert_int_eq(nglm_model_save(&a, bad, &err), 0);
    expect_load_error(bad, "unigram feature 1 is bad");
    a.feat.feat_back[1] = -1;

    a.tok.mode = (nglm_tok_mode)7;
    ck_assert_int_eq(nglm_model_save(&a, bad, &err), 0);
    expect_load_error(bad, "bad tokenizer settings");
    nglm_model_free(&a);
    remove_dir(dir);
}
END_TEST

/* ------------------------------------------------------------------ saving */

static int temp_files_in(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strstr(e->d_name, ".tmp.") != NULL;
    closedir(d);
    return n;
}


/* CRC-32C: the fast one (SSE 4.2 or slicing by 8) against the bitwise
 * reference, on every length and alignment up to 100 bytes and on a large
 * buffer in pieces; the standard check value of "123456789". */
START_TEST(test_crc32c)
{
    ck_assert_uint_eq(nglm_crc32c_ref(0, "123456789", 9), 0xe3069283u);
    ck_assert_uint_eq(nglm_crc32c(0, "123456789", 9), 0xe3069283u);
    static unsigned char buf[200000];
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < sizeof buf; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        buf[i] = (unsigned char)x;
    }
    for (size_t off = 0; off < 8; off++)
        for (size_t n = 0; n <= 100; n++)
            ck_assert_uint_eq(nglm_crc32c(0, buf + off, n), nglm_crc32c_ref(0, buf + off, n));
    uint32_t c = nglm_crc32c(0, buf, 77777);
    c = nglm_crc32c(c, buf + 77777, sizeof buf - 77777);
    ck_assert_uint_eq(c, nglm_crc32c_ref(0, buf, sizeof buf));
}
END_TEST

START_TEST(test_save_errors)
{
    nglm_model a;
    build_model(&a, 3, 20, 20, 15);
    nglm_error err = { "" };

    ck_assert_int_eq(nglm_model_save(&a, "/dev/full", &err), -1);
    ck_assert_str_eq(err.msg, "/dev/full: not a regular file: refusing to replace it");

    const char *dir = temp_dir();
    ck_assert_int_eq(nglm_model_save(&a, dir, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "is a directory"));

    char path[300];
    snprintf(path, sizeof path, "%s/no/such/dir/m.nglm", dir);
    ck_assert_int_eq(nglm_model_save(&a, path, &err), -1);
    ck_assert_msg(strncmp(err.msg, path, strlen(path)) == 0, "%s", err.msg);
    ck_assert_ptr_nonnull(strstr(err.msg, "No such file or directory"));

    nglm_model empty;
    memset(&empty, 0, sizeof empty);
    snprintf(path, sizeof path, "%s/empty.nglm", dir);
    ck_assert_int_eq(nglm_model_save(&empty, path, &err), -1);
    ck_assert_int_eq(access(path, F_OK), -1);
    ck_assert_int_eq(temp_files_in(dir), 0);
    nglm_model_free(&a);
    remove_dir(dir);
}
END_TEST

/* A save that fails while writing (file size limit) leaves the old model
 * byte for byte and no temporary file behind. */
START_TEST(test_failed_save_keeps_old_file)
{
    nglm_model small, big;
    build_model(&small, 2, 10, 0, 16);
    build_model(&big, 5, 400, 10, 17);
    const char *dir = temp_dir();
    char path[256];
    snprintf(path, sizeof path, "%s", save_to(&small, dir, "m.nglm"));
    ck_assert_int_eq(chmod(path, 0640), 0);
    size_t n0;
    unsigned char *before = slurp(path, &n0);

    signal(SIGXFSZ, SIG_IGN);
    struct rlimit rl = { n0 + 100, n0 + 100 }; /* room for the small model only */
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
    nglm_error err = { "" };
    ck_assert_int_eq(nglm_model_save(&big, path, &err), -1);
    ck_assert_msg(strncmp(err.msg, path, strlen(path)) == 0, "%s", err.msg);
    ck_assert_msg(strstr(err.msg, "File too large") != NULL, "%s", err.msg);

    size_t n1;
    unsigned char *after = slurp(path, &n1);
    ck_assert_uint_eq(n0, n1);
    ck_assert_mem_eq(before, after, n0);
    ck_assert_int_eq(temp_files_in(dir), 0);

    /* a successful save keeps the file's permissions */
    ck_assert_int_eq(nglm_model_save(&small, path, &err), 0);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 07777, 0640);
    ck_assert_int_eq(temp_files_in(dir), 0);
    free(before);
    free(after);
    nglm_model_free(&small);
    nglm_model_free(&big);
    remove_dir(dir);
}
END_TEST

/* ------------------------------------------------------------------ pruning */

/* Every zero-weight feature left must be needed: a back-off of a feature,
 * or the n-gram naming a context (never a skip-gram); every context has
 * successors. */
static void assert_pruned_minimal(const nglm_model *m)
{
    const nglm_features *F = &m->feat;
    unsigned char *needed = calloc(F->n_feat, 1);
    ck_assert_ptr_nonnull(needed);
    for (size_t f = (size_t)F->V; f < F->n_ngram_feat; f++)
        needed[F->feat_back[f]] = 1;
    for (size_t x = 0; x < F->n_ctx; x++) {
        int32_t words[NGLM_MAX_ORDER];
        int k = context_words(F, (int32_t)x, words);
        int32_t g = ngram_feature(F, words, k);
        ck_assert_int_ge(g, 0); /* prefix closure kept */
        needed[g] = 1;
        ck_assert_uint_gt(F->ctx_first[x + 1], F->ctx_first[x]);
    }
    for (size_t f = (size_t)F->V; f < F->n_feat; f++)
        ck_assert_msg(m->theta[f] != 0 || needed[f], "feature %zu should have gone", f);
    free(needed);
}

START_TEST(test_prune_keeps_probabilities)
{
    /* _i: zero percentage 0, 25, 50, 75, 100 */
    int zero_pct = 25 * _i;
    for (int order = 1; order <= 5; order++) {
        nglm_model a, b;
        build_model(&a, order, 200, zero_pct, 100 + (uint64_t)order);
        build_model(&b, order, 200, zero_pct, 100 + (uint64_t)order);
        size_t zeros = 0;
        for (size_t f = (size_t)a.feat.V; f < a.feat.n_feat; f++)
            zeros += a.theta[f] == 0;
        size_t removed = 12345;
        nglm_error err = { "" };
        ck_assert_msg(nglm_model_prune(&b, &removed, &err) == 0, "%s", err.msg);
        ck_assert_uint_eq(b.feat.n_feat + removed, a.feat.n_feat);
        ck_assert_uint_le(removed, zeros);
        ck_assert_uint_eq(b.info.pruned, a.info.pruned + removed);
        if (zero_pct == 0 || order == 1)
            ck_assert_uint_eq(removed, 0);
        if (zero_pct == 100) {
            ck_assert_uint_eq(b.feat.n_feat, (size_t)b.feat.V);
            ck_assert_uint_eq(b.feat.n_ctx, 0);
        }
        if (zero_pct == 50 && order >= 3)
            ck_assert_uint_gt(removed, 0);
        assert_pruned_minimal(&b);
        ck_assert_uint_eq(nglm_model_nonzero(&a), nglm_model_nonzero(&b));
        ck_assert_msg(nglm_features_index(&b.feat, &err) == 0, "%s", err.msg);
        double d = max_dense_diff(&a, &b, 99, 300);
        ck_assert_msg(d <= 1e-12, "order %d: probabilities moved by %g", order, d);

        /* pruning again removes nothing; the pruned model round-trips */
        ck_assert_int_eq(nglm_model_prune(&b, &removed, &err), 0);
        ck_assert_uint_eq(removed, 0);
        const char *dir = temp_dir();
        const char *path = save_to(&b, dir, "pruned.nglm");
        nglm_model c;
        ck_assert_msg(nglm_model_load(&c, path, &err) == 0, "%s", err.msg);
        assert_models_equal(&b, &c);
        nglm_model_free(&a);
        nglm_model_free(&b);
        nglm_model_free(&c);
        remove_dir(dir);
    }
}
END_TEST

/* The corpus "a b", order 3: features <s> </s> <unk> a b, then the bigrams
 * (<s>, a), (a, b), (b, </s>), then the trigrams (<s> a, b), (a b, </s>).
 * With n_skip templates at distances 2, 3, ...: see test_prune_skip_by_hand. */
static void build_tiny_skip(nglm_model *m, int n_skip)
{
    nglm_error err = { "" };
    const char *words[] = { "<s>", "</s>", "<unk>", "a", "b" };
    memset(m, 0, sizeof *m);
    m->vocab = nglm_vocab_from_list(words, NULL, 5, &err);
    ck_assert_ptr_nonnull(m->vocab);
    const char *lines[] = { "a b" };
    nglm_corpus c;
    ck_assert_int_eq(nglm_corpus_from_lines(&c, lines, 1, m->vocab, &err), 0);
    ck_assert_int_eq(nglm_features_build(&m->feat, &c, 5, 3, NULL, 1, &err), 0);
    if (n_skip > 0)
        ck_assert_msg(nglm_features_add_skips(&m->feat, &c, n_skip, skip_dists, 1, &err) == 0,
                      "%s", err.msg);
    nglm_corpus_free(&c);
    ck_assert_uint_eq(m->feat.n_ngram_feat, 10);
    ck_assert_uint_eq(m->feat.n_ctx, 5);
    m->theta = calloc(m->feat.n_feat, sizeof *m->theta);
    for (int w = 1; w < 5; w++)
        m->theta[w] = 0.25 * w;
}

static void build_tiny(nglm_model *m)
{
    build_tiny_skip(m, 0);
    ck_assert_uint_eq(m->feat.n_feat, 10);
}

static int32_t tiny_feature(const nglm_model *m, int32_t w0, int32_t w1, int32_t w2)
{
    int32_t words[3] = { w0, w1, w2 };
    return w2 < 0 ? ngram_feature(&m->feat, words, 2) : ngram_feature(&m->feat, words, 3);
}

START_TEST(test_prune_by_hand)
{
    enum { S = NGLM_BOS, E = NGLM_EOS, A = 3, B = 4 };
    nglm_model m;
    size_t removed;
    nglm_error err = { "" };

    /* only (a b, </s>): it keeps (b, </s>) as back-off and (a, b) as the
     * n-gram naming its context; (<s>, a) and (<s> a, b) go */
    build_tiny(&m);
    m.info.pruned = 1;
    m.theta[tiny_feature(&m, A, B, E)] = 0.5;
    ck_assert_int_eq(nglm_model_prune(&m, &removed, &err), 0);
    ck_assert_uint_eq(removed, 2);
    ck_assert_uint_eq(m.info.pruned, 3);
    ck_assert_uint_eq(m.feat.n_feat, 8);
    ck_assert_uint_eq(m.feat.n_ctx, 3); /* (a), (b), (a b) */
    ck_assert_int_lt(tiny_feature(&m, S, A, -1), 0);
    ck_assert_int_ge(tiny_feature(&m, A, B, -1), 0);
    ck_assert_int_ge(tiny_feature(&m, B, E, -1), 0);
    int32_t f = tiny_feature(&m, A, B, E);
    ck_assert_int_ge(f, 0);
    ck_assert(m.theta[f] == 0.5);
    ck_assert_int_eq(m.feat.ctx1[S], -1);
    ck_assert_uint_eq(m.feat.ctx_order_start[1], 2);
    ck_assert_uint_eq(m.feat.ctx_order_start[2], 3);
    nglm_model_free(&m);

    /* only (<s> a, b): keeps (a, b) and (<s>, a); (b, </s>), (a b, </s>) go */
    build_tiny(&m);
    m.theta[tiny_feature(&m, S, A, B)] = -0.5;
    ck_assert_int_eq(nglm_model_prune(&m, &removed, &err), 0);
    ck_assert_uint_eq(removed, 2);
    ck_assert_uint_eq(m.feat.n_ctx, 3); /* (<s>), (a), (<s> a) */
    ck_assert_int_eq(m.feat.ctx1[B], -1);
    ck_assert_int_ge(tiny_feature(&m, S, A, -1), 0);
    ck_assert_int_ge(tiny_feature(&m, A, B, -1), 0);
    ck_assert_int_ge(tiny_feature(&m, S, A, B), 0);
    nglm_model_free(&m);

    /* only the bigram (b, </s>): the rest goes */
    build_tiny(&m);
    m.theta[tiny_feature(&m, B, E, -1)] = 1;
    ck_assert_int_eq(nglm_model_prune(&m, &removed, &err), 0);
    ck_assert_uint_eq(removed, 4);
    ck_assert_uint_eq(m.feat.n_ctx, 1);
    nglm_model_free(&m);

    /* all zero: only the unigrams stay; nothing zero: nothing goes */
    build_tiny(&m);
    ck_assert_int_eq(nglm_model_prune(&m, &removed, &err), 0);
    ck_assert_uint_eq(removed, 5);
    ck_assert_uint_eq(m.feat.n_feat, 5);
    ck_assert_uint_eq(m.feat.n_ctx, 0);
    ck_assert_uint_eq(m.feat.ctx_first[0], 5);
    const char *dir = temp_dir();
    const char *path = save_to(&m, dir, "unigram.nglm");
    nglm_model c;
    ck_assert_msg(nglm_model_load(&c, path, &err) == 0, "%s", err.msg);
    assert_models_equal(&m, &c);
    nglm_model_free(&c);
    nglm_model_free(&m);

    build_tiny(&m);
    for (int g = 5; g < 10; g++)
        m.theta[g] = 0.1;
    ck_assert_int_eq(nglm_model_prune(&m, &removed, &err), 0);
    ck_assert_uint_eq(removed, 0);
    ck_assert_uint_eq(m.feat.n_feat, 10);
    nglm_model_free(&m);
    remove_dir(dir);
}
END_TEST

/* ------------------------------------------------------------------ skip-grams */

/* Number of skip-gram features of m whose weight is exactly 0. */
/* ------------------------------------------------ stored normalisers (NORMS) */

/* Every token of c scored by m's one-token scorer (log10) and its n-gram
 * length; h gets a copy of each sentence with, when cut >= 0, the id at
 * position i - cut replaced by -1 (a history that does not reach back to
 * the sentence start). */
static void score_tokens(const nglm_model *m, const nglm_corpus *c, int cut, double *lp,
                         int *len)
{
    nglm_model_scorer s;
    nglm_error err = { "" };
    ck_assert_msg(nglm_model_scorer_init(&s, m, &err) == 0, "%s", err.msg);
    int32_t h[256];
    for (size_t k = 0; k < c->n_sents; k++) {
        size_t n;
        const int32_t *sent = nglm_corpus_sentence(c, k, &n);
        ck_assert_uint_le(n, 256);
        for (size_t i = 0; i < n; i++) {
            memcpy(h, sent, n * sizeof *h);
            if (cut >= 0 && (size_t)cut <= i)
                h[i - (size_t)cut] = -1;
            size_t t = c->start[k] + i;
            lp[t] = nglm_model_scorer_logprob10(&s, h, i, &len[t]);
        }
    }
    nglm_model_scorer_free(&s);
}

static void expect_close(const double *a, const double *b, size_t n, double tol)
{
    for (size_t t = 0; t < n; t++)
        ck_assert_msg(fabs(a[t] - b[t]) <= tol * (1 + fabs(a[t])), "token %zu: %.17g against "
                      "%.17g", t, a[t], b[t]);
}

/* A model of n-grams alone is saved with its normalisers; loaded, mapped
 * or verified, it scores every token (whole text, one token at a time,
 * histories cut short) by the back-off path within 1e-12 of the successor
 * lists of the model in memory, with the same n-gram lengths; saved
 * without them (NGLM_SAVE_NO_NORMS, as older files) it scores bit for bit
 * as before. */
START_TEST(test_norms_backoff)
{
    int order = 1 + _i;
    nglm_model a;
    build_model(&a, order, 60, 30, 900 + (uint64_t)_i);
    ck_assert_ptr_null(a.lnz); /* in memory: the successor lists */
    const char *dir = temp_dir();
    char path[256], old[256];
    snprintf(path, sizeof path, "%s", save_to(&a, dir, "n.nglm"));
    snprintf(old, sizeof old, "%s/old.nglm", dir);
    nglm_error err = { "" };
    ck_assert_msg(nglm_model_save_flags(&a, old, NGLM_SAVE_NO_NORMS, &err) == 0, "%s", err.msg);
    nglm_corpus c;
    test_corpus(&c, &a);
    size_t nt = c.n_tokens;
    double *la = malloc(nt * sizeof *la), *lb = malloc(nt * sizeof *lb);
    int *na = malloc(nt * sizeof *na), *nb = malloc(nt * sizeof *nb);
    ck_assert_int_eq(nglm_model_score_corpus(&a, &c, la, 1, &err), 0);
    for (int how = 0; how < 3; how++) {
        nglm_model b;
        ck_assert_msg(load_how(&b, path, how, &err) == 0, "%s", err.msg);
        ck_assert_ptr_nonnull(b.lnz);
        for (int th = 1; th <= 3; th += 2) {
            ck_assert_int_eq(nglm_model_score_corpus(&b, &c, lb, th, &err), 0);
            expect_close(la, lb, nt, 1e-12);
        }
        for (int cut = -1; cut < order + 1; cut += cut < 0 ? 2 : 1) {
            double *sa = malloc(nt * sizeof *sa);
            score_tokens(&a, &c, cut, sa, na);
            score_tokens(&b, &c, cut, lb, nb);
            expect_close(sa, lb, nt, 1e-12);
            ck_assert_mem_eq(na, nb, nt * sizeof *na);
            if (cut < 0) /* the corpus scorer and the one-token scorer agree */
                for (size_t t = 0; t < nt; t++)
                    ck_assert(fabs(la[t] / M_LN10 - sa[t]) <= 1e-12 * (1 + fabs(sa[t])));
            free(sa);
        }
        nglm_model_free(&b);
        /* the old file: no NORMS, the successor lists, bit for bit */
        ck_assert_msg(load_how(&b, old, how, &err) == 0, "%s", err.msg);
        ck_assert_ptr_null(b.lnz);
        ck_assert_int_eq(nglm_model_score_corpus(&b, &c, lb, 1, &err), 0);
        ck_assert_mem_eq(la, lb, nt * sizeof *la);
        nglm_model_free(&b);
    }
    size_t n;
    unsigned char *buf = slurp(old, &n);
    ck_assert(!has_section(buf, 9));
    free(buf);
    free(la), free(lb), free(na), free(nb);
    nglm_corpus_free(&c);
    nglm_model_free(&a);
    remove_dir(dir);
}
END_TEST

/* A model with non-zero skip-gram weights gets no NORMS but NGRAM_NORMS
 * (those of its n-gram part) and scores as before; pruning drops the
 * normalisers a loaded model had. */
START_TEST(test_norms_skip)
{
    nglm_model a, b;
    build_model_skip(&a, 3, 60, 30, 77, 2, skip_dists);
    ck_assert_uint_gt(nglm_model_skip_nonzero(&a), 0);
    const char *dir = temp_dir();
    const char *path = save_to(&a, dir, "s.nglm");
    size_t n;
    unsigned char *buf = slurp(path, &n);
    ck_assert(!has_section(buf, 9));
    ck_assert(has_section(buf, 10));
    free(buf);
    nglm_error err = { "" };
    ck_assert_msg(nglm_model_map(&b, path, 0, &err) == 0, "%s", err.msg);
    ck_assert_ptr_nonnull(b.lnz);
    ck_assert_int_eq(b.lnz_ngram, 1);
    expect_mapped_equal(&a, path, 0);
    nglm_model_free(&b);
    nglm_model_free(&a);
    /* n-grams alone, loaded with NORMS, then pruned: none left */
    build_model(&a, 3, 60, 30, 78);
    path = save_to(&a, dir, "p.nglm");
    ck_assert_msg(nglm_model_load(&b, path, &err) == 0, "%s", err.msg);
    ck_assert_ptr_nonnull(b.lnz);
    size_t removed;
    ck_assert_int_eq(nglm_model_prune(&b, &removed, &err), 0);
    ck_assert_ptr_null(b.lnz);
    nglm_model_free(&b);
    nglm_model_free(&a);
    remove_dir(dir);
}
END_TEST

/* A model with skip-gram weights (templates at distances 2 and 3, orders
 * 1 to 5) is saved with the normalisers of its n-gram part (NGRAM_NORMS);
 * loaded, mapped or verified it scores every token (whole texts on 1 and 3
 * threads, one token at a time, histories cut short) by the n-gram
 * normalisers and the skip-gram correction within 1e-12 of the successor
 * lists of the model in memory, with the same n-gram lengths; saved
 * without them it scores bit for bit as before.  With its normalisers
 * damaged behind valid checksums, the verified load refuses it. */
START_TEST(test_ngram_norms_skip)
{
    int order = 1 + _i;
    nglm_model a;
    build_model_skip(&a, order, 80, 30, 1900 + (uint64_t)_i, 2, skip_dists);
    ck_assert_uint_gt(nglm_model_skip_nonzero(&a), 0);
    ck_assert_ptr_null(a.lnz); /* in memory: the successor lists */
    const char *dir = temp_dir();
    char path[256], old[256];
    snprintf(path, sizeof path, "%s", save_to(&a, dir, "s.nglm"));
    snprintf(old, sizeof old, "%s/old.nglm", dir);
    nglm_error err = { "" };
    ck_assert_msg(nglm_model_save_flags(&a, old, NGLM_SAVE_NO_NORMS, &err) == 0, "%s", err.msg);
    nglm_corpus c;
    test_corpus(&c, &a);
    size_t nt = c.n_tokens;
    double *la = malloc(nt * sizeof *la), *lb = malloc(nt * sizeof *lb);
    int *na = malloc(nt * sizeof *na), *nb = malloc(nt * sizeof *nb);
    ck_assert_int_eq(nglm_model_score_corpus(&a, &c, la, 1, &err), 0);
    for (int how = 0; how < 3; how++) {
        nglm_model b;
        ck_assert_msg(load_how(&b, path, how, &err) == 0, "%s", err.msg);
        ck_assert_ptr_nonnull(b.lnz);
        ck_assert_int_eq(b.lnz_ngram, 1);
        for (int th = 1; th <= 3; th += 2) {
            ck_assert_int_eq(nglm_model_score_corpus(&b, &c, lb, th, &err), 0);
            expect_close(la, lb, nt, 1e-12);
        }
        for (int cut = -1; cut < order + 3; cut += cut < 0 ? 2 : 1) {
            double *sa = malloc(nt * sizeof *sa);
            score_tokens(&a, &c, cut, sa, na);
            score_tokens(&b, &c, cut, lb, nb);
            expect_close(sa, lb, nt, 1e-12);
            ck_assert_mem_eq(na, nb, nt * sizeof *na);
            free(sa);
        }
        nglm_model_free(&b);
        ck_assert_msg(load_how(&b, old, how, &err) == 0, "%s", err.msg);
        ck_assert_ptr_null(b.lnz);
        ck_assert_int_eq(nglm_model_score_corpus(&b, &c, lb, 1, &err), 0);
        ck_assert_mem_eq(la, lb, nt * sizeof *la);
        nglm_model_free(&b);
    }
    size_t n;
    unsigned char *buf = slurp(old, &n);
    ck_assert(!has_section(buf, 9) && !has_section(buf, 10));
    free(buf);
    /* a normaliser changed behind valid checksums: --verify recomputes */
    buf = slurp(path, &n);
    uint64_t nz = section_offset(buf, 10);
    ck_assert_uint_gt(nz, 0);
    buf[nz + 8 + 3] ^= 0x10;
    fix_crc(buf, n);
    spit(path, buf, n);
    expect_how_error(path, 0, "NGRAM_NORMS section: normaliser");
    expect_how_error(path, 2, "NGRAM_NORMS section: normaliser");
    free(buf);
    free(la), free(lb), free(na), free(nb);
    nglm_corpus_free(&c);
    nglm_model_free(&a);
    remove_dir(dir);
}
END_TEST

/* A damaged byte of NORMS: the mapped model's block checksums catch it when
 * the scorers read it, the CRC when loading or verifying; made consistent
 * (every checksum fixed), --verify recomputes the normalisers and refuses. */
START_TEST(test_norms_damaged)
{
    nglm_model a, b;
    build_model(&a, 4, 3000, 10, 79); /* NORMS beyond the first 64 KiB */
    const char *dir = temp_dir();
    char path[256];
    snprintf(path, sizeof path, "%s", save_to(&a, dir, "d.nglm"));
    size_t n;
    unsigned char *buf = slurp(path, &n);
    uint64_t nz = section_offset(buf, 9);
    ck_assert_uint_gt(nz, 0);
    /* the normaliser of the context <s>, which every sentence's first
     * token reads */
    int32_t x = a.feat.ctx1[NGLM_BOS];
    ck_assert_int_ge(x, 0);
    size_t at = (size_t)nz + 8 + 8 * (size_t)(x + 1) + 3;
    buf[at] ^= 0x10;
    spit(path, buf, n);
    nglm_corpus c;
    test_corpus(&c, &a);
    double *lp = malloc(c.n_tokens * sizeof *lp);
    nglm_error err = { "" };
    /* the load verifies the blocks it reads (NORMS' count among them): in
     * a small file that is this block too */
    if (nglm_model_map(&b, path, 0, &err) != 0) {
        ck_assert_msg(strstr(err.msg, "are damaged") != NULL, "%s", err.msg);
    } else {
        ck_assert_int_eq(nglm_model_score_corpus(&b, &c, lp, 1, &err), -1);
        ck_assert_msg(strstr(err.msg, "are damaged") != NULL, "%s", err.msg);
        nglm_model_free(&b);
        ck_assert_msg(nglm_model_map(&b, path, 0, &err) == 0, "%s", err.msg);
        nglm_model_scorer s;
        ck_assert_int_eq(nglm_model_scorer_init(&s, &b, &err), 0);
        size_t len;
        const int32_t *sent = nglm_corpus_sentence(&c, 0, &len);
        ck_assert(isnan(nglm_model_scorer_logprob10(&s, sent, 0, NULL)));
        ck_assert_int_eq(nglm_model_check(&b, &err), -1);
        nglm_model_scorer_free(&s);
        nglm_model_free(&b);
    }
    expect_how_error(path, 0, "checksum mismatch");
    expect_how_error(path, 2, "checksum mismatch");
    fix_crc(buf, n);
    spit(path, buf, n);
    expect_how_error(path, 0, "NORMS section: normaliser");
    expect_how_error(path, 2, "NORMS section: normaliser");
    /* a NORMS section whose count is not n_ctx + 1 */
    uint64_t bad = a.feat.n_ctx;
    memcpy(buf + nz, &bad, 8);
    fix_crc(buf, n);
    spit(path, buf, n);
    for (int how = 0; how < 3; how++)
        expect_how_error(path, how, "NORMS section does not hold");
    free(buf);
    free(lp);
    nglm_corpus_free(&c);
    nglm_model_free(&a);
    remove_dir(dir);
}
END_TEST

static size_t zero_skip_weights(const nglm_model *m)
{
    size_t n = 0;
    for (size_t f = m->feat.n_ngram_feat; f < m->feat.n_feat; f++)
        n += m->theta[f] == 0;
    return n;
}

START_TEST(test_skip_roundtrip)
{
    /* _i: order 1 .. 4, skip distances 2 and 3 */
    int order = _i;
    nglm_model a, b;
    build_model_skip(&a, order, 80, 30, 200 + (uint64_t)order, 2, skip_dists);
    ck_assert_int_eq(a.feat.n_skip, 2);
    ck_assert_uint_gt(a.feat.n_feat, a.feat.n_ngram_feat);
    ck_assert_uint_gt(zero_skip_weights(&a), 0);
    const char *dir = temp_dir();
    char path[256];
    snprintf(path, sizeof path, "%s", save_to(&a, dir, "m.nglm"));

    nglm_error err = { "" };
    ck_assert_msg(nglm_model_load(&b, path, &err) == 0, "%s", err.msg);
    assert_models_equal(&a, &b);
    ck_assert(max_dense_diff(&a, &b, 8, 100) == 0.0);
    expect_mapped_equal(&a, path, 0);
    expect_mapped_equal(&a, path, NGLM_MAP_VERIFY);
    expect_without_children(&a, dir, path);

    /* the skip-gram weights do count in those probabilities */
    nglm_model c;
    ck_assert_int_eq(nglm_model_load(&c, path, &err), 0);
    for (size_t f = c.feat.n_ngram_feat; f < c.feat.n_feat; f++)
        c.theta[f] = 0;
    ck_assert(max_dense_diff(&a, &c, 8, 100) > 1e-3);
    nglm_model_free(&c);

    /* a section SKIP after WEIGHTS; saving again gives the same bytes */
    size_t n1, n2;
    unsigned char *f1 = slurp(path, &n1);
    uint32_t n_sec;
    memcpy(&n_sec, f1 + 20, 4);
    ck_assert_uint_eq(n_sec, 8); /* and CHILDREN, NGRAM_NORMS, BLOCKS */
    uint64_t sk = section_offset(f1, 5), n_ngram;
    uint32_t n_skip;
    ck_assert_uint_eq(sk % 8, 0);
    ck_assert_uint_gt(sk, section_offset(f1, 4));
    memcpy(&n_ngram, f1 + sk, 8);
    memcpy(&n_skip, f1 + sk + 8, 4);
    ck_assert_uint_eq(n_ngram, a.feat.n_ngram_feat);
    ck_assert_uint_eq(n_skip, 2);
    const char *p2 = save_to(&b, dir, "again.nglm");
    unsigned char *f2 = slurp(p2, &n2);
    ck_assert_uint_eq(n1, n2);
    ck_assert_mem_eq(f1, f2, n1);
    free(f1);
    free(f2);
    nglm_model_free(&a);
    nglm_model_free(&b);
    remove_dir(dir);
}
END_TEST

START_TEST(test_skip_damaged)
{
    nglm_model a;
    build_model_skip(&a, 2, 12, 30, 21, 2, skip_dists);
    const char *dir = temp_dir();
    char path[256], bad[256];
    snprintf(path, sizeof path, "%s", save_to(&a, dir, "m.nglm"));
    snprintf(bad, sizeof bad, "%s/bad.nglm", dir);
    size_t n;
    unsigned char *buf = slurp(path, &n);
    ck_assert_uint_lt(n, 20000);
    for (size_t len = 0; len < n; len++) {
        spit(bad, buf, len);
        expect_load_error(bad, len == 0 ? "not an nglm model file" : "file is truncated");
    }
    for (size_t i = 0; i < n; i++) {
        buf[i] ^= 0x40;
        spit(bad, buf, n);
        expect_verify_error(bad, NULL);
        buf[i] ^= 0x40;
    }
    free(buf);
    nglm_model_free(&a);
    remove_dir(dir);
}
END_TEST

/* SKIP sections (and skip-gram features) that lie, with a valid checksum. */
START_TEST(test_skip_lying)
{
    nglm_model a;
    build_model_skip(&a, 3, 30, 20, 22, 2, skip_dists);
    const nglm_features *F = &a.feat;
    const char *dir = temp_dir();
    char path[256], bad[256];
    snprintf(path, sizeof path, "%s", save_to(&a, dir, "m.nglm"));
    snprintf(bad, sizeof bad, "%s/bad.nglm", dir);
    size_t n;
    unsigned char *orig = slurp(path, &n);
    unsigned char *buf = malloc(n);
    uint64_t sk = section_offset(orig, 5), first0 = sk + 24, first1 = first0 + 4 * (F->V + 1);
    uint64_t entry = SECTION_TABLE + 24 * 4, nf = F->n_feat, nng = F->n_ngram_feat;
    ck_assert_uint_gt(F->skip_first[0][1], nng); /* <s> has successors at distance 2 */
    struct { uint64_t at; uint64_t value; int width; const char *want; } lies[] = {
        { sk + 8, 0, 4, "SKIP section: bad template count 0" },
        { sk + 8, NGLM_MAX_SKIP + 1, 4, "bad template count" },
        { sk + 8, 0xFFFFFFFFu, 4, "bad template count" },
        { sk + 8, 1, 4, "SKIP section has" },
        { sk + 8, 3, 4, "SKIP section has" },
        { sk, (uint64_t)F->V - 1, 8, "bad n-gram feature count" },
        { sk, nf + 1, 8, "bad n-gram feature count" },
        { sk, 1ull << 40, 8, "bad n-gram feature count" },
        { sk, nng + 1, 8, "SKIP section: bad offset" },
        { sk, nng - 1, 8, "successor offsets" },
        { first0, F->skip_first[0][1], 4, "skip-gram offsets of template 0 are bad" },
        { first0 + 4, nf + 1, 4, "SKIP section: bad offset" },
        { first0 + 4, 0xFFFFFFFFu, 4, "SKIP section: bad offset" },
        { first0 + 4, nng - 1, 4, "SKIP section: bad offset" },
        { first1 + 4 * F->V, nf - 1, 4, "inconsistent skip-gram feature count" },
        { first1 + 4 * F->V, nf + 1, 4, "SKIP section: bad offset" },
        { sk + 16, 1, 4, "distance 1 of template 0 is out of range" },
        { sk + 20, 99, 4, "distance 99 of template 1 is out of range" },
        { sk + 20, 2, 4, "skip distance 2 given twice" },
        { entry + 16, 8, 8, "SKIP section is too short" },
        { entry + 16, 24 + 8ull * (F->V + 1) - 4, 8, "SKIP section has" },
        { entry, 9, 4, "but no SKIP section" },
        { entry, 3, 4, "duplicate FEATURES section" },
    };
    for (size_t i = 0; i < sizeof lies / sizeof lies[0]; i++) {
        memcpy(buf, orig, n);
        if (lies[i].width == 4) {
            uint32_t x = (uint32_t)lies[i].value;
            memcpy(buf + lies[i].at, &x, 4);
        } else {
            memcpy(buf + lies[i].at, &lies[i].value, 8);
        }
        fix_crc(buf, n);
        spit(bad, buf, n);
        expect_verify_error(bad, lies[i].want); /* the tiling is --verify's */
    }
    free(buf);
    free(orig);

    /* skip-gram features themselves, saved by a buggy trainer */
    nglm_error err = { "" };
    size_t f = F->skip_first[0][0];
    int32_t w = F->feat_word[f];
    a.feat.feat_word[f] = 0; /* <s> predicted */
    ck_assert_int_eq(nglm_model_save(&a, bad, &err), 0);
    expect_verify_error(bad, "skip-gram successors of template 0 are bad");
    expect_how_error(bad, 1, "word or back-off is out of range");
    a.feat.feat_word[f] = w;
    a.feat.feat_back[f] = 1;
    ck_assert_int_eq(nglm_model_save(&a, bad, &err), 0);
    expect_verify_error(bad, "skip-gram successors of template 0 are bad");
    expect_how_error(bad, 1, "word or back-off is out of range");
    a.feat.feat_back[f] = -1;
    ck_assert_int_eq(nglm_model_save(&a, bad, &err), 0);
    nglm_model ok;
    ck_assert_msg(nglm_model_load(&ok, bad, &err) == 0, "%s", err.msg);
    nglm_model_free(&ok);
    nglm_model_free(&a);
    remove_dir(dir);
}
END_TEST

START_TEST(test_skip_prune_keeps_probabilities)
{
    /* _i: zero percentage 0, 25, 50, 75, 100 */
    int zero_pct = 25 * _i;
    for (int order = 1; order <= 4; order++) {
        /* a: the model, b: pruned, ng: its n-grams alone, pruned */
        nglm_model a, b, ng;
        uint64_t seed = 300 + (uint64_t)order;
        build_model_skip(&a, order, 200, zero_pct, seed, 2, skip_dists);
        build_model_skip(&b, order, 200, zero_pct, seed, 2, skip_dists);
        build_model(&ng, order, 200, zero_pct, seed);
        ck_assert_uint_eq(ng.feat.n_feat, a.feat.n_ngram_feat);
        ck_assert_mem_eq(ng.theta, a.theta, ng.feat.n_feat * sizeof(double));
        size_t zeros = zero_skip_weights(&a), removed = 12345, removed_ng;
        if (zero_pct == 50)
            ck_assert_uint_gt(zeros, 0);
        nglm_error err = { "" };
        ck_assert_msg(nglm_model_prune(&ng, &removed_ng, &err) == 0, "%s", err.msg);
        ck_assert_msg(nglm_model_prune(&b, &removed, &err) == 0, "%s", err.msg);

        /* n-grams pruned as without skip-grams; every zero skip-gram gone */
        ck_assert_uint_eq(removed, removed_ng + zeros);
        ck_assert_uint_eq(b.feat.n_feat + removed, a.feat.n_feat);
        ck_assert_uint_eq(b.info.pruned, a.info.pruned + removed);
        ck_assert_uint_eq(b.feat.n_ngram_feat, ng.feat.n_feat);
        ck_assert_mem_eq(b.feat.feat_word, ng.feat.feat_word, ng.feat.n_feat * sizeof(int32_t));
        ck_assert_mem_eq(b.theta, ng.theta, ng.feat.n_feat * sizeof(double));
        ck_assert_int_eq(b.feat.n_skip, 2);
        ck_assert_uint_eq(zero_skip_weights(&b), 0);
        ck_assert_uint_eq(b.feat.n_feat - b.feat.n_ngram_feat,
                          a.feat.n_feat - a.feat.n_ngram_feat - zeros);
        for (int t = 0; t < 2; t++)
            for (int32_t v = 0; v < a.feat.V; v++)
                for (uint32_t f = a.feat.skip_first[t][v]; f < a.feat.skip_first[t][v + 1]; f++) {
                    int32_t g = nglm_features_find_skip(&b.feat, t, v, a.feat.feat_word[f]);
                    ck_assert_int_eq(g < 0, a.theta[f] == 0);
                    if (g >= 0) {
                        ck_assert(b.theta[g] == a.theta[f]);
                        ck_assert_uint_eq(b.feat.feat_count[g], a.feat.feat_count[f]);
                    }
                }
        if (zero_pct == 100) {
            ck_assert_uint_eq(b.feat.n_feat, (size_t)b.feat.V);
            for (int t = 0; t < 2; t++)
                ck_assert_uint_eq(b.feat.skip_first[t][0], (uint32_t)b.feat.V);
        }
        assert_pruned_minimal(&b);
        ck_assert_uint_eq(nglm_model_nonzero(&a), nglm_model_nonzero(&b));
        ck_assert_msg(nglm_features_index(&b.feat, &err) == 0, "%s", err.msg);
        double d = max_dense_diff(&a, &b, 98, 300);
        ck_assert_msg(d <= 1e-12, "order %d: probabilities moved by %g", order, d);

        /* pruning again removes nothing; the pruned model round-trips */
        ck_assert_int_eq(nglm_model_prune(&b, &removed, &err), 0);
        ck_assert_uint_eq(removed, 0);
        const char *dir = temp_dir();
        const char *path = save_to(&b, dir, "pruned.nglm");
        nglm_model c;
        ck_assert_msg(nglm_model_load(&c, path, &err) == 0, "%s", err.msg);
        assert_models_equal(&b, &c);
        ck_assert(max_dense_diff(&b, &c, 97, 50) == 0.0);
        nglm_model_free(&a);
        nglm_model_free(&b);
        nglm_model_free(&c);
        nglm_model_free(&ng);
        remove_dir(dir);
    }
}
END_TEST

/* Prunes m, checks the probabilities against an unpruned copy (orig) and
 * returns the number removed. */
static size_t prune_checked(nglm_model *m, const nglm_model *orig)
{
    size_t removed;
    nglm_error err = { "" };
    ck_assert_msg(nglm_model_prune(m, &removed, &err) == 0, "%s", err.msg);
    double d = max_dense_diff(orig, m, 5, 200);
    ck_assert_msg(d <= 1e-12, "probabilities moved by %g", d);
    return removed;
}

START_TEST(test_prune_skip_by_hand)
{
    /* "a b" with templates at distances 2 and 3 adds, after the ten n-gram
     * features: 10 (<s> _, b) and 11 (a _, </s>) for distance 2, then
     * 12 (<s> _ _, </s>) for distance 3. */
    enum { S = NGLM_BOS, E = NGLM_EOS, A = 3, B = 4 };
    nglm_model m, orig;
    build_tiny_skip(&m, 2);
    ck_assert_uint_eq(m.feat.n_feat, 13);
    const uint32_t first0[] = { 10, 11, 11, 11, 12, 12 }, first1[] = { 12, 13, 13, 13, 13, 13 };
    ck_assert_mem_eq(m.feat.skip_first[0], first0, sizeof first0);
    ck_assert_mem_eq(m.feat.skip_first[1], first1, sizeof first1);
    ck_assert_int_eq(nglm_features_find_skip(&m.feat, 0, S, B), 10);
    ck_assert_int_eq(nglm_features_find_skip(&m.feat, 0, A, E), 11);
    ck_assert_int_eq(nglm_features_find_skip(&m.feat, 1, S, E), 12);
    nglm_model_free(&m);

    /* n-grams all zero (5 go), skip-grams 0, 0.7, 0: 10 and 12 go, 11
     * becomes feature 5 */
    build_tiny_skip(&m, 2);
    build_tiny_skip(&orig, 2);
    m.theta[11] = orig.theta[11] = 0.7;
    ck_assert_uint_eq(prune_checked(&m, &orig), 7);
    ck_assert_uint_eq(m.feat.n_feat, 6);
    ck_assert_uint_eq(m.feat.n_ngram_feat, 5);
    ck_assert_uint_eq(m.feat.n_ctx, 0);
    const uint32_t p0[] = { 5, 5, 5, 5, 6, 6 }, p1[] = { 6, 6, 6, 6, 6, 6 };
    ck_assert_mem_eq(m.feat.skip_first[0], p0, sizeof p0);
    ck_assert_mem_eq(m.feat.skip_first[1], p1, sizeof p1);
    ck_assert_int_eq(m.feat.feat_word[5], E);
    ck_assert_int_eq(m.feat.feat_back[5], -1);
    ck_assert(m.theta[5] == 0.7);
    ck_assert_int_eq(nglm_features_find_skip(&m.feat, 0, A, E), 5);
    ck_assert_int_eq(nglm_features_find_skip(&m.feat, 0, S, B), -1);
    ck_assert_int_eq(nglm_features_find_skip(&m.feat, 1, S, E), -1);
    ck_assert_int_eq(m.feat.skip_dist[0], 2);
    ck_assert_int_eq(m.feat.skip_dist[1], 3);
    nglm_model_free(&m);
    nglm_model_free(&orig);

    /* (a b, </s>) kept as in test_prune_by_hand (2 n-grams go, 8 stay),
     * skip-grams 0.3, 0, -0.2: 11 goes, 10 and 12 move down to 8 and 9 */
    build_tiny_skip(&m, 2);
    build_tiny_skip(&orig, 2);
    m.theta[tiny_feature(&m, A, B, E)] = orig.theta[tiny_feature(&m, A, B, E)] = 0.5;
    m.theta[10] = orig.theta[10] = 0.3;
    m.theta[12] = orig.theta[12] = -0.2;
    ck_assert_uint_eq(prune_checked(&m, &orig), 3);
    ck_assert_uint_eq(m.feat.n_ngram_feat, 8);
    ck_assert_uint_eq(m.feat.n_feat, 10);
    const uint32_t q0[] = { 8, 9, 9, 9, 9, 9 }, q1[] = { 9, 10, 10, 10, 10, 10 };
    ck_assert_mem_eq(m.feat.skip_first[0], q0, sizeof q0);
    ck_assert_mem_eq(m.feat.skip_first[1], q1, sizeof q1);
    ck_assert_int_eq(nglm_features_find_skip(&m.feat, 0, S, B), 8);
    ck_assert_int_eq(nglm_features_find_skip(&m.feat, 1, S, E), 9);
    ck_assert(m.theta[8] == 0.3);
    ck_assert(m.theta[9] == -0.2);
    ck_assert(m.theta[tiny_feature(&m, A, B, E)] == 0.5);
    const char *dir = temp_dir();
    const char *path = save_to(&m, dir, "pruned.nglm");
    nglm_model c;
    nglm_error err = { "" };
    ck_assert_msg(nglm_model_load(&c, path, &err) == 0, "%s", err.msg);
    assert_models_equal(&m, &c);
    nglm_model_free(&c);
    nglm_model_free(&m);
    nglm_model_free(&orig);
    remove_dir(dir);

    /* nothing zero: nothing goes */
    build_tiny_skip(&m, 2);
    for (int g = 5; g < 13; g++)
        m.theta[g] = 0.1;
    size_t removed;
    ck_assert_int_eq(nglm_model_prune(&m, &removed, &err), 0);
    ck_assert_uint_eq(removed, 0);
    ck_assert_uint_eq(m.feat.n_feat, 13);
    nglm_model_free(&m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("modelfile");
    TCase *tc = tcase_create("vocab");
    tcase_add_test(tc, test_vocab_from_list);
    suite_add_tcase(s, tc);
    tc = tcase_create("format");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_roundtrip, 1, 6);
    tcase_add_test(tc, test_header_fields);
    tcase_add_test(tc, test_mapped_replaced);
    tcase_add_loop_test(tc, test_truncated_everywhere, 0, 2);
    tcase_add_loop_test(tc, test_every_byte_flipped, 0, 2);
    tcase_add_test(tc, test_cache_roundtrip);
    tcase_add_test(tc, test_foreign_files);
    tcase_add_test(tc, test_lying_files);
    suite_add_tcase(s, tc);
    tc = tcase_create("save");
    tcase_add_test(tc, test_save_errors);
    tcase_add_test(tc, test_failed_save_keeps_old_file);
    tcase_add_test(tc, test_crc32c);
    suite_add_tcase(s, tc);
    tc = tcase_create("prune");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_prune_keeps_probabilities, 0, 5);
    tcase_add_test(tc, test_prune_by_hand);
    suite_add_tcase(s, tc);
    tc = tcase_create("skip");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_skip_roundtrip, 1, 5);
    tcase_add_test(tc, test_skip_damaged);
    tcase_add_test(tc, test_skip_lying);
    tcase_add_loop_test(tc, test_skip_prune_keeps_probabilities, 0, 5);
    tcase_add_test(tc, test_prune_skip_by_hand);
    tcase_add_loop_test(tc, test_norms_backoff, 0, 5);
    tcase_add_test(tc, test_norms_skip);
    tcase_add_loop_test(tc, test_ngram_norms_skip, 0, 5);
    tcase_add_test(tc, test_norms_damaged);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
