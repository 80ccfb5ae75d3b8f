/*
 * check_corpus.c — tests of the id stream (src/corpus.c): the ids[] and
 * start[] layout, OOV counting (a literal <unk> is not an OOV), literal
 * sentence markers, blank lines, empty input, growth past the initial
 * capacity, and errors; and the id-stream cache (src/idcache.c): a mapped
 * file equals the corpus it was written from, a truncated, damaged, foreign
 * or other-vocabulary file is refused, and the cache key follows the text.
 */
#include "testutil.h"

#include <stdint.h>

#include "nglm/corpus.h"
#include "nglm/idcache.h"

#include <sys/stat.h>
#include <sys/time.h>

/* A finalized vocabulary: the=3, cat=4, sat=5, on=6, mat=7. */
static nglm_vocab *small_vocab(void)
{
    static const char *const w[] = { "the", "cat", "sat", "on", "mat" };
    static const uint64_t c[] = { 9, 8, 7, 6, 5 };
    nglm_vocab *v = nglm_vocab_new();
    nglm_error err = { "" };
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(nglm_vocab_add(v, w[i], c[i], &err), 0);
    ck_assert_int_eq(nglm_vocab_finalize(v, 0, 0, &err), 0);
    ck_assert_int_eq(nglm_vocab_find(v, "mat"), 7);
    return v;
}

static void check_ids(const nglm_corpus *c, const int32_t *ids, size_t n)
{
    ck_assert_uint_eq(c->n_tokens, n);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(c->ids[i] == ids[i], "ids[%zu] = %d, expected %d", i, (int)c->ids[i],
                      (int)ids[i]);
}

START_TEST(test_from_lines_layout)
{
    nglm_vocab *v = small_vocab();
    const char *lines[] = { "the cat sat", "on the mat", "cat" };
    nglm_corpus c;
    nglm_error err = { "" };
    ck_assert_int_eq(nglm_corpus_from_lines(&c, lines, 3, v, &err), 0);
    const int32_t ids[] = { 3, 4, 5, NGLM_EOS, 6, 3, 7, NGLM_EOS, 4, NGLM_EOS };
    check_ids(&c, ids, 10);
    ck_assert_uint_eq(c.n_sents, 3);
    const size_t start[] = { 0, 4, 8, 10 };
    for (int s = 0; s <= 3; s++)
        ck_assert_uint_eq(c.start[s], start[s]);
    ck_assert_uint_eq(c.n_words, 7);
    ck_assert_uint_eq(c.n_oov, 0);

    size_t len;
    const int32_t *sent = nglm_corpus_sentence(&c, 1, &len);
    ck_assert_uint_eq(len, 4);
    ck_assert_int_eq(sent[0], 6);
    ck_assert_int_eq(sent[len - 1], NGLM_EOS);
    nglm_corpus_free(&c);
    ck_assert_ptr_null(c.ids);
    ck_assert_uint_eq(c.n_sents, 0);
    nglm_vocab_free(v);
}
END_TEST

START_TEST(test_oov_counting)
{
    nglm_vocab *v = small_vocab();
    /* dog and bird are OOV; the literal <unk> is the <unk> token, not an
     * OOV; <UNK> is just an unknown word. */
    const char *lines[] = { "the dog sat", "<unk> bird <UNK> cat" };
    nglm_corpus c;
    nglm_error err = { "" };
    ck_assert_int_eq(nglm_corpus_from_lines(&c, lines, 2, v, &err), 0);
    const int32_t ids[] = { 3, NGLM_UNK, 5, NGLM_EOS, NGLM_UNK, NGLM_UNK, NGLM_UNK, 4, NGLM_EOS };
    check_ids(&c, ids, 9);
    ck_assert_uint_eq(c.n_words, 7);
    ck_assert_uint_eq(c.n_oov, 3);
    nglm_corpus_free(&c);
    nglm_vocab_free(v);
}
END_TEST

START_TEST(test_literal_markers_skipped)
{
    nglm_vocab *v = small_vocab();
    const char *lines[] = { "<s> the cat </s>", "<s> </s>", "on </s> mat" };
    nglm_corpus c;
    nglm_error err = { "" };
    ck_assert_int_eq(nglm_corpus_from_lines(&c, lines, 3, v, &err), 0);
    const int32_t ids[] = { 3, 4, NGLM_EOS, NGLM_EOS, 6, 7, NGLM_EOS };
    check_ids(&c, ids, 7);
    ck_assert_uint_eq(c.n_sents, 3);
    ck_assert_uint_eq(c.start[1], 3);
    ck_assert_uint_eq(c.start[2], 4);
    ck_assert_uint_eq(c.n_words, 4);
    ck_assert_uint_eq(c.n_oov, 0);
    nglm_corpus_free(&c);
    nglm_vocab_free(v);
}
END_TEST

START_TEST(test_from_lines_blank_and_invalid)
{
    nglm_vocab *v = small_vocab();
    const char *lines[] = { "", "  the  ", "\t", "mat\r\n" };
    nglm_corpus c;
    nglm_error err = { "" };
    ck_assert_int_eq(nglm_corpus_from_lines(&c, lines, 4, v, &err), 0);
    ck_assert_uint_eq(c.n_sents, 2);
    const int32_t ids[] = { 3, NGLM_EOS, 7, NGLM_EOS };
    check_ids(&c, ids, 4);
    nglm_corpus_free(&c);

    const char *bad[] = { "the", "ca\xfft" };
    ck_assert_int_eq(nglm_corpus_from_lines(&c, bad, 2, v, &err), -1);
    ck_assert_str_eq(err.msg, "line 2: invalid UTF-8 at byte offset 2 (invalid byte)");
    ck_assert_ptr_null(c.ids);
    ck_assert_ptr_null(c.start);

    ck_assert_int_eq(nglm_corpus_from_lines(&c, lines, 0, v, &err), 0);
    ck_assert_uint_eq(c.n_sents, 0);
    ck_assert_uint_eq(c.start[0], 0);
    nglm_corpus_free(&c);
    nglm_vocab_free(v);
}
END_TEST

START_TEST(test_read_file)
{
    nglm_vocab *v = small_vocab();
    const char *path = tu_tempstr(" the cat sat \r\n\n on the dog \n\n\nmat");
    nglm_tok_options o = nglm_tok_options_default();
    nglm_corpus c;
    nglm_error err = { "" };
    ck_assert_int_eq(nglm_corpus_read(&c, path, &o, v, &err), 0);
    const int32_t ids[] = { 3, 4, 5, NGLM_EOS, 6, 3, NGLM_UNK, NGLM_EOS, 7, NGLM_EOS };
    check_ids(&c, ids, 10);
    ck_assert_uint_eq(c.n_sents, 3);
    ck_assert_uint_eq(c.start[0], 0);
    ck_assert_uint_eq(c.start[1], 4);
    ck_assert_uint_eq(c.start[2], 8);
    ck_assert_uint_eq(c.start[3], 10);
    ck_assert_uint_eq(c.n_words, 7);
    ck_assert_uint_eq(c.n_oov, 1);
    /* n_tokens = words + sentences. */
    ck_assert_uint_eq(c.n_tokens, c.n_words + c.n_sents);
    nglm_corpus_free(&c);
    nglm_vocab_free(v);
}
END_TEST

START_TEST(test_read_uses_options)
{
    nglm_vocab *v = small_vocab();
    const char *path = tu_tempstr("The cat, sat.\n");
    nglm_tok_options o = nglm_tok_options_default();
    nglm_corpus c;
    nglm_error err = { "" };
    /* Space mode, case kept: "The", "cat," and "sat." are all OOV. */
    ck_assert_int_eq(nglm_corpus_read(&c, path, &o, v, &err), 0);
    ck_assert_uint_eq(c.n_words, 3);
    ck_assert_uint_eq(c.n_oov, 3);
    nglm_corpus_free(&c);
    /* Word mode with lowercasing: only the two punctuation marks are. */
    o.mode = NGLM_TOK_WORD;
    o.lowercase = 1;
    ck_assert_int_eq(nglm_corpus_read(&c, path, &o, v, &err), 0);
    const int32_t ids[] = { 3, 4, NGLM_UNK, 5, NGLM_UNK, NGLM_EOS };
    check_ids(&c, ids, 6);
    ck_assert_uint_eq(c.n_oov, 2);
    nglm_corpus_free(&c);
    nglm_vocab_free(v);
}
END_TEST

START_TEST(test_read_empty)
{
    nglm_vocab *v = small_vocab();
    nglm_tok_options o = nglm_tok_options_default();
    nglm_corpus c;
    nglm_error err = { "" };
    ck_assert_int_eq(nglm_corpus_read(&c, tu_tempfile("", 0), &o, v, &err), 0);
    ck_assert_uint_eq(c.n_sents, 0);
    ck_assert_uint_eq(c.n_tokens, 0);
    ck_assert_uint_eq(c.n_words, 0);
    ck_assert_ptr_nonnull(c.start);
    ck_assert_uint_eq(c.start[0], 0);
    nglm_corpus_free(&c);
    /* Blank lines only: also empty. */
    ck_assert_int_eq(nglm_corpus_read(&c, tu_tempstr("\n  \n\r\n"), &o, v, &err), 0);
    ck_assert_uint_eq(c.n_sents, 0);
    nglm_corpus_free(&c);
    nglm_vocab_free(v);
}
END_TEST

START_TEST(test_read_large_grows)
{
    /* 20 000 sentences of 1..10 words: past the arrays' first capacity. */
    nglm_vocab *v = small_vocab();
    size_t n_sents = 20000, words = 0;
    size_t cap = n_sents * 50, len = 0;
    char *text = malloc(cap);
    for (size_t s = 0; s < n_sents; s++) {
        size_t k = 1 + s % 10;
        for (size_t i = 0; i < k; i++)
            len += (size_t)sprintf(text + len, "%s ", (s + i) % 7 == 0 ? "zzz" : "cat");
        text[len++] = '\n';
        words += k;
    }
    const char *path = tu_tempfile(text, len);
    free(text);
    nglm_tok_options o = nglm_tok_options_default();
    nglm_corpus c;
    nglm_error err = { "" };
    ck_assert_int_eq(nglm_corpus_read(&c, path, &o, v, &err), 0);
    ck_assert_uint_eq(c.n_sents, n_sents);
    ck_assert_uint_eq(c.n_words, words);
    ck_assert_uint_eq(c.n_tokens, words + n_sents);
    size_t oov = 0;
    for (size_t s = 0; s < n_sents; s++) {
        size_t slen;
        const int32_t *sent = nglm_corpus_sentence(&c, s, &slen);
        ck_assert_uint_eq(slen, 2 + s % 10);
        ck_assert_int_eq(sent[slen - 1], NGLM_EOS);
        for (size_t i = 0; i + 1 < slen; i++) {
            ck_assert_int_eq(sent[i], (s + i) % 7 == 0 ? NGLM_UNK : 4);
            oov += sent[i] == NGLM_UNK;
        }
    }
    ck_assert_uint_eq(c.n_oov, oov);
    ck_assert_uint_eq(c.start[n_sents], c.n_tokens);
    nglm_corpus_free(&c);
    nglm_vocab_free(v);
}
END_TEST

START_TEST(test_read_errors)
{
    nglm_vocab *v = small_vocab();
    nglm_tok_options o = nglm_tok_options_default();
    nglm_corpus c;
    nglm_error err = { "" };
    ck_assert_int_eq(nglm_corpus_read(&c, "/nonexistent/corpus.txt", &o, v, &err), -1);
    ck_assert_str_eq(err.msg, "/nonexistent/corpus.txt: No such file or directory");
    ck_assert_ptr_null(c.ids);

    const char *path = tu_tempstr("the cat\nsat \xed\xa0\x80\n");
    ck_assert_int_eq(nglm_corpus_read(&c, path, &o, v, &err), -1);
    char expect[256];
    snprintf(expect, sizeof expect, "%s:2: invalid UTF-8 at byte offset 12 (surrogate code point)",
             path);
    ck_assert_str_eq(err.msg, expect);
    ck_assert_ptr_null(c.ids);
    ck_assert_ptr_null(c.start);
    ck_assert_uint_eq(c.n_sents, 0);

    /* With replacement the same file reads, the bad word being an OOV. */
    o.replace_invalid = 1;
    ck_assert_int_eq(nglm_corpus_read(&c, path, &o, v, &err), 0);
    ck_assert_uint_eq(c.n_oov, 1);
    nglm_corpus_free(&c);

    /* A vocabulary that is not finalized is refused. */
    nglm_vocab *open = nglm_vocab_new();
    ck_assert_int_eq(nglm_corpus_read(&c, path, &o, open, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "not finalized"));
    const char *lines[] = { "x" };
    ck_assert_int_eq(nglm_corpus_from_lines(&c, lines, 1, open, &err), -1);
    nglm_vocab_free(open);
    nglm_vocab_free(v);
}
END_TEST

START_TEST(test_vocab_and_corpus_agree)
{
    /* Counting a file and reading it as a corpus see the same tokens. */
    const char *path = tu_tempstr("a b a\n<s> c </s>\n\nb a <unk>\n");
    nglm_tok_options o = nglm_tok_options_default();
    nglm_error err = { "" };
    nglm_vocab *v = nglm_vocab_new();
    uint64_t sents;
    ck_assert_int_eq(nglm_vocab_count_file(v, path, &o, &sents, &err), 0);
    ck_assert_int_eq(nglm_vocab_finalize(v, 0, 0, &err), 0);
    nglm_corpus c;
    ck_assert_int_eq(nglm_corpus_read(&c, path, &o, v, &err), 0);
    ck_assert_uint_eq(c.n_sents, sents);
    ck_assert_uint_eq(c.n_oov, 0);
    uint64_t counts[8] = { 0 };
    for (size_t i = 0; i < c.n_tokens; i++)
        counts[c.ids[i]]++;
    for (int32_t id = 0; id < (int32_t)nglm_vocab_size(v); id++)
        ck_assert_uint_eq(counts[id], nglm_vocab_count(v, id));
    nglm_corpus_free(&c);
    nglm_vocab_free(v);
}
END_TEST

/* ---------------------------------------------------------------- id-stream cache */

static void assert_same_corpus(const nglm_corpus *a, const nglm_corpus *b)
{
    ck_assert_uint_eq(a->n_tokens, b->n_tokens);
    ck_assert_uint_eq(a->n_sents, b->n_sents);
    ck_assert_uint_eq(a->n_words, b->n_words);
    ck_assert_uint_eq(a->n_oov, b->n_oov);
    ck_assert_int_eq(memcmp(a->ids, b->ids, a->n_tokens * sizeof *a->ids), 0);
    ck_assert_int_eq(memcmp(a->start, b->start, (a->n_sents + 1) * sizeof *a->start), 0);
}

/* A corpus of a few sentences with an OOV, written to a fresh cache file. */
static const char *cached(nglm_corpus *c, const nglm_vocab *v)
{
    const char *lines[] = { "the cat sat", "on the dog", "mat", "the the the cat" };
    nglm_error err = { "" };
    ck_assert_int_eq(nglm_corpus_from_lines(c, lines, 4, v, &err), 0);
    const char *path = tu_tempstr("");
    ck_assert_msg(nglm_idcache_save(c, v, path, &err) == 0, "%s", err.msg);
    return path;
}

static long file_size(const char *path)
{
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    return (long)st.st_size;
}

START_TEST(test_cache_round_trip)
{
    nglm_vocab *v = small_vocab();
    nglm_corpus c, m;
    const char *path = cached(&c, v);
    nglm_error err = { "" };
    ck_assert_msg(nglm_idcache_map(&m, v, path, &err) == 0, "%s", err.msg);
    ck_assert_ptr_nonnull(m.map);
    assert_same_corpus(&c, &m);
    ck_assert_uint_eq(m.n_oov, 1);
    ck_assert_int_eq(file_size(path), 64 + 8 * 5 + 4 * 15);
    nglm_corpus_free(&m);
    ck_assert_ptr_null(m.ids);

    /* an empty corpus round-trips too */
    nglm_corpus e = { 0 };
    size_t zero = 0;
    e.start = &zero;
    e.ids = NULL;
    const char *epath = tu_tempstr("");
    ck_assert_int_eq(nglm_idcache_save(&e, v, epath, &err), 0);
    ck_assert_msg(nglm_idcache_map(&m, v, epath, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(m.n_tokens, 0);
    ck_assert_uint_eq(m.n_sents, 0);
    nglm_corpus_free(&m);
    unlink(epath);
    nglm_corpus_free(&c);
    unlink(path);
    nglm_vocab_free(v);
}
END_TEST

/* Reads a whole file into a malloc'd buffer. */
static unsigned char *slurp(const char *path, long *n)
{
    *n = file_size(path);
    unsigned char *buf = malloc((size_t)*n);
    FILE *fp = fopen(path, "rb");
    ck_assert_ptr_nonnull(fp);
    ck_assert_uint_eq(fread(buf, 1, (size_t)*n, fp), (size_t)*n);
    fclose(fp);
    return buf;
}

static void expect_refused(const nglm_vocab *v, const void *data, size_t n, const char *why)
{
    const char *path = tu_tempfile(data, n);
    nglm_corpus m;
    nglm_error err = { "" };
    ck_assert_int_eq(nglm_idcache_map(&m, v, path, &err), -1);
    ck_assert_msg(strstr(err.msg, why) != NULL, "'%s' lacks '%s'", err.msg, why);
    ck_assert_msg(strstr(err.msg, path) != NULL, "'%s' lacks the path", err.msg);
    ck_assert_ptr_null(m.ids);
    unlink(path);
}

START_TEST(test_cache_refuses_bad_files)
{
    nglm_vocab *v = small_vocab();
    nglm_corpus c;
    const char *path = cached(&c, v);
    long n;
    unsigned char *buf = slurp(path, &n);
    expect_refused(v, buf, 0, "truncated");
    expect_refused(v, buf, 40, "truncated");
    expect_refused(v, buf, (size_t)n - 1, "truncated");
    expect_refused(v, "hello, world, this is a text file and not a cache at all, no no no.", 66,
                   "not an nglm id-stream cache");
    unsigned char *big = malloc((size_t)n + 4);
    memcpy(big, buf, (size_t)n);
    memset(big + n, 0, 4);
    expect_refused(v, big, (size_t)n + 4, "longer than");
    free(big);
    for (long at = 8; at < n; at += 7) { /* every region: header, offsets, ids */
        buf[at] ^= 0x10;
        expect_refused(v, buf, (size_t)n, at < 64 ? "" : "checksum");
        buf[at] ^= 0x10;
    }
    /* a foreign byte order */
    unsigned char swapped[64];
    memcpy(swapped, buf, 64);
    for (int i = 0; i < 4; i++)
        swapped[12 + i] = buf[15 - i];
    expect_refused(v, swapped, 64, "byte order");
    /* the same ids under another vocabulary */
    nglm_vocab *other = nglm_vocab_new();
    nglm_error err = { "" };
    ck_assert_int_eq(nglm_vocab_add(other, "the", 9, &err), 0);
    ck_assert_int_eq(nglm_vocab_finalize(other, 0, 0, &err), 0);
    expect_refused(other, buf, (size_t)n, "another vocabulary");
    nglm_vocab_free(other);
    /* not a regular file */
    nglm_corpus m;
    ck_assert_int_eq(nglm_idcache_map(&m, v, "/tmp", &err), -1);
    ck_assert_int_eq(nglm_idcache_map(&m, v, "/nonexistent/x.ids", &err), -1);
    free(buf);
    nglm_corpus_free(&c);
    unlink(path);
    nglm_vocab_free(v);
}
END_TEST

START_TEST(test_cache_corpus_hit_and_miss)
{
    nglm_vocab *v = small_vocab();
    char dir[] = "/tmp/nglm-cache-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    const char *text = tu_tempstr("the cat sat\n\non the dog\nmat\n");
    nglm_tok_options opt = nglm_tok_options_default();
    nglm_error err = { "" };
    nglm_corpus ref, c;
    ck_assert_int_eq(nglm_corpus_read(&ref, text, &opt, v, &err), 0);

    int hit = 9;
    ck_assert_msg(nglm_idcache_corpus(&c, dir, text, &opt, v, &hit, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(hit, 0);
    ck_assert_ptr_null(c.map);
    assert_same_corpus(&ref, &c);
    nglm_corpus_free(&c);
    ck_assert_int_eq(nglm_idcache_corpus(&c, dir, text, &opt, v, &hit, &err), 0);
    ck_assert_int_eq(hit, 1);
    ck_assert_ptr_nonnull(c.map);
    assert_same_corpus(&ref, &c);
    nglm_corpus_free(&c);

    /* other tokenizer options pick another file */
    char p1[4200], p2[4200];
    ck_assert_int_eq(nglm_idcache_ids_path(p1, sizeof p1, dir, text, &opt, v, &err), 0);
    nglm_tok_options lower = opt;
    lower.lowercase = 1;
    ck_assert_int_eq(nglm_idcache_ids_path(p2, sizeof p2, dir, text, &lower, v, &err), 0);
    ck_assert_str_ne(p1, p2);

    /* a damaged cache file is replaced, and the caller is told why */
    FILE *fp = fopen(p1, "r+b");
    ck_assert_ptr_nonnull(fp);
    fseek(fp, 70, SEEK_SET);
    fputc(0x7f, fp);
    fclose(fp);
    ck_assert_int_eq(nglm_idcache_corpus(&c, dir, text, &opt, v, &hit, &err), 0);
    ck_assert_int_eq(hit, -1);
    ck_assert_msg(strstr(err.msg, "checksum") != NULL, "%s", err.msg);
    assert_same_corpus(&ref, &c);
    nglm_corpus_free(&c);
    ck_assert_int_eq(nglm_idcache_corpus(&c, dir, text, &opt, v, &hit, &err), 0);
    ck_assert_int_eq(hit, 1);
    nglm_corpus_free(&c);

    /* an edited text (new content, new time) gets a new key */
    fp = fopen(text, "ab");
    fputs("the mat\n", fp);
    fclose(fp);
    struct timeval tv[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
    ck_assert_int_eq(utimes(text, tv), 0);
    ck_assert_int_eq(nglm_idcache_ids_path(p2, sizeof p2, dir, text, &opt, v, &err), 0);
    ck_assert_str_ne(p1, p2);
    ck_assert_int_eq(nglm_idcache_corpus(&c, dir, text, &opt, v, &hit, &err), 0);
    ck_assert_int_eq(hit, 0);
    ck_assert_uint_eq(c.n_sents, 4);
    nglm_corpus_free(&c);

    /* standard input and a missing text cannot be cached */
    ck_assert_int_eq(nglm_idcache_corpus(&c, dir, "-", &opt, v, &hit, &err), -1);
    ck_assert_msg(strstr(err.msg, "standard input") != NULL, "%s", err.msg);
    ck_assert_int_eq(nglm_idcache_corpus(&c, dir, "/nonexistent/t.txt", &opt, v, &hit, &err), -1);
    /* a cache directory that cannot be written is an error, not a crash */
    ck_assert_int_eq(nglm_idcache_corpus(&c, "/nonexistent-dir", text, &opt, v, &hit, &err), -1);
    ck_assert_msg(strstr(err.msg, "cache") != NULL, "%s", err.msg);
    ck_assert_ptr_null(c.ids);

    /* the vocabulary's key follows its options */
    ck_assert_int_eq(nglm_idcache_vocab_path(p1, sizeof p1, dir, text, &opt, 1, 0, &err), 0);
    ck_assert_int_eq(nglm_idcache_vocab_path(p2, sizeof p2, dir, text, &opt, 2, 0, &err), 0);
    ck_assert_str_ne(p1, p2);

    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
    unlink(text);
    nglm_corpus_free(&ref);
    nglm_vocab_free(v);
}
END_TEST


int main(void)
{
    Suite *s = suite_create("corpus");
    TCase *tc = tcase_create("corpus");
    tcase_add_test(tc, test_from_lines_layout);
    tcase_add_test(tc, test_oov_counting);
    tcase_add_test(tc, test_literal_markers_skipped);
    tcase_add_test(tc, test_from_lines_blank_and_invalid);
    tcase_add_test(tc, test_read_file);
    tcase_add_test(tc, test_read_uses_options);
    tcase_add_test(tc, test_read_empty);
    tcase_add_test(tc, test_read_large_grows);
    tcase_add_test(tc, test_read_errors);
    tcase_add_test(tc, test_vocab_and_corpus_agree);
    suite_add_tcase(s, tc);
    TCase *cache = tcase_create("idcache");
    tcase_add_test(cache, test_cache_round_trip);
    tcase_add_test(cache, test_cache_refuses_bad_files);
    tcase_add_test(cache, test_cache_corpus_hit_and_miss);
    suite_add_tcase(s, cache);
    return tu_run(s);
}
