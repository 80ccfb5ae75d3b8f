/*
 * check_vocab.c — tests of the vocabulary (src/vocab.c): the special ids,
 * the id order (count descending, then bytewise), min_count and max_vocab
 * with the dropped counts going to <unk>, counting a file (also on several
 * threads, which must give the same counts and errors), the save/load
 * round trip, and each error that loading a malformed file reports.
 */
#include "testutil.h"

#include <stdint.h>

#include "nglm/vocab.h"

/* ------------------------------------------------------------------ helpers */

/* A vocabulary with the given words added n times each (NULL-terminated
 * pairs of word and count). */
static nglm_vocab *vocab_of(const char *const *words, const uint64_t *counts)
{
    nglm_vocab *v = nglm_vocab_new();
    ck_assert_ptr_nonnull(v);
    nglm_error err = { "" };
    for (size_t i = 0; words[i]; i++)
        ck_assert_int_eq(nglm_vocab_add(v, words[i], counts[i], &err), 0);
    return v;
}

static void check_load_error(const char *content, const char *expect_fmt)
{
    const char *path = tu_tempstr(content);
    nglm_error err = { "" };
    nglm_vocab *v = nglm_vocab_load(path, &err);
    ck_assert_msg(v == NULL, "expected an error loading \"%s\"", content);
    char expect[1024];
    snprintf(expect, sizeof expect, expect_fmt, path);
    ck_assert_str_eq(err.msg, expect);
}

#define HEAD "<s>\t0\n</s>\t5\n<unk>\t0\n"

/* ------------------------------------------------------------------ counting */

START_TEST(test_specials)
{
    nglm_vocab *v = nglm_vocab_new();
    ck_assert_ptr_nonnull(v);
    ck_assert_uint_eq(nglm_vocab_size(v), 3);
    ck_assert_int_eq(nglm_vocab_is_final(v), 0);
    ck_assert_int_eq(nglm_vocab_find(v, "<s>"), NGLM_BOS);
    ck_assert_int_eq(nglm_vocab_find(v, "</s>"), NGLM_EOS);
    ck_assert_int_eq(nglm_vocab_find(v, "<unk>"), NGLM_UNK);
    ck_assert_int_eq(nglm_vocab_find(v, "<UNK>"), -1);
    ck_assert_str_eq(nglm_vocab_word(v, NGLM_UNK), "<unk>");
    nglm_error err = { "" };
    ck_assert_int_eq(nglm_vocab_finalize(v, 0, 0, &err), 0);
    ck_assert_int_eq(nglm_vocab_is_final(v), 1);
    ck_assert_uint_eq(nglm_vocab_size(v), 3);
    ck_assert_str_eq(nglm_vocab_word(v, NGLM_BOS), NGLM_BOS_STR);
    ck_assert_str_eq(nglm_vocab_word(v, NGLM_EOS), NGLM_EOS_STR);
    ck_assert_str_eq(nglm_vocab_word(v, NGLM_UNK), NGLM_UNK_STR);
    ck_assert_ptr_null(nglm_vocab_word(v, 3));
    ck_assert_ptr_null(nglm_vocab_word(v, -1));
    ck_assert_uint_eq(nglm_vocab_count(v, 3), 0);
    ck_assert_int_eq(nglm_vocab_id(v, "anything"), NGLM_UNK);
    nglm_vocab_free(v);
    nglm_vocab_free(NULL);
}
END_TEST

START_TEST(test_id_order)
{
    const char *w[] = { "cat", "the", "a", "dog", NULL };
    const uint64_t c[] = { 2, 10, 5, 1 };
    nglm_vocab *v = vocab_of(w, c);
    /* Before finalisation ordinary words have no id. */
    ck_assert_int_eq(nglm_vocab_find(v, "the"), -1);
    ck_assert_uint_eq(nglm_vocab_size(v), 7);
    nglm_error err = { "" };
    ck_assert_int_eq(nglm_vocab_add(v, "cat", 4, &err), 0); /* cat: 6 */
    ck_assert_int_eq(nglm_vocab_finalize(v, 0, 0, &err), 0);
    ck_assert_uint_eq(nglm_vocab_size(v), 7);
    ck_assert_str_eq(nglm_vocab_word(v, 3), "the");
    ck_assert_str_eq(nglm_vocab_word(v, 4), "cat");
    ck_assert_str_eq(nglm_vocab_word(v, 5), "a");
    ck_assert_str_eq(nglm_vocab_word(v, 6), "dog");
    ck_assert_uint_eq(nglm_vocab_count(v, 4), 6);
    for (int32_t id = 0; id < 7; id++)
        ck_assert_int_eq(nglm_vocab_find(v, nglm_vocab_word(v, id)), id);
    nglm_vocab_free(v);
}
END_TEST

START_TEST(test_ties_bytewise)
{
    /* Equal counts: strcmp order, so upper case before lower case and
     * multi-byte UTF-8 last. */
    const char *w[] = { "\xc3\xa9t\xc3\xa9", "b", "a", "B", "ab", "z", NULL };
    const uint64_t c[] = { 3, 3, 3, 3, 3, 4 };
    nglm_vocab *v = vocab_of(w, c);
    nglm_error err = { "" };
    ck_assert_int_eq(nglm_vocab_finalize(v, 0, 0, &err), 0);
    const char *expect[] = { "z", "B", "a", "ab", "b", "\xc3\xa9t\xc3\xa9" };
    for (int i = 0; i < 6; i++)
        ck_assert_str_eq(nglm_vocab_word(v, 3 + i), expect[i]);
    nglm_vocab_free(v);
}
END_TEST

START_TEST(test_min_count)
{
    const char *w[] = { "a", "b", "c", "d", "<unk>", NULL };
    const uint64_t c[] = { 5, 3, 2, 1, 7 };
    nglm_vocab *v = vocab_of(w, c);
    nglm_error err = { "" };
    ck_assert_int_eq(nglm_vocab_finalize(v, 3, 0, &err), 0);
    ck_assert_uint_eq(nglm_vocab_size(v), 5);
    ck_assert_int_eq(nglm_vocab_find(v, "a"), 3);
    ck_assert_int_eq(nglm_vocab_find(v, "b"), 4);
    ck_assert_int_eq(nglm_vocab_find(v, "c"), -1);
    ck_assert_int_eq(nglm_vocab_find(v, "d"), -1);
    ck_assert_int_eq(nglm_vocab_id(v, "c"), NGLM_UNK);
    /* The literal <unk>'s 7 plus c's 2 and d's 1. */
    ck_assert_uint_eq(nglm_vocab_count(v, NGLM_UNK), 10);
    nglm_vocab_free(v);

    /* min_count 1 (or 0) keeps everything. */
    v = vocab_of(w, c);
    ck_assert_int_eq(nglm_vocab_finalize(v, 1, 0, &err), 0);
    ck_assert_uint_eq(nglm_vocab_size(v), 7);
    ck_assert_uint_eq(nglm_vocab_count(v, NGLM_UNK), 7);
    nglm_vocab_free(v);
}
END_TEST

START_TEST(test_max_vocab)
{
    const char *w[] = { "a", "b", "c", "d", "e", NULL };
    const uint64_t c[] = { 9, 4, 4, 4, 1 };
    nglm_vocab *v = vocab_of(w, c);
    nglm_error err = { "" };
    /* 5 ids in all: 3 specials + a + b (b wins the tie with c and d). */
    ck_assert_int_eq(nglm_vocab_finalize(v, 0, 5, &err), 0);
    ck_assert_uint_eq(nglm_vocab_size(v), 5);
    ck_assert_str_eq(nglm_vocab_word(v, 3), "a");
    ck_assert_str_eq(nglm_vocab_word(v, 4), "b");
    ck_assert_int_eq(nglm_vocab_find(v, "c"), -1);
    ck_assert_uint_eq(nglm_vocab_count(v, NGLM_UNK), 4 + 4 + 1);
    nglm_vocab_free(v);

    /* Both limits: min_count drops e, max_vocab then keeps a, b, c. */
    v = vocab_of(w, c);
    ck_assert_int_eq(nglm_vocab_finalize(v, 2, 6, &err), 0);
    ck_assert_uint_eq(nglm_vocab_size(v), 6);
    ck_assert_str_eq(nglm_vocab_word(v, 5), "c");
    ck_assert_uint_eq(nglm_vocab_count(v, NGLM_UNK), 4 + 1);
    nglm_vocab_free(v);

    /* A limit above the size changes nothing; exactly 3 keeps the specials. */
    v = vocab_of(w, c);
    ck_assert_int_eq(nglm_vocab_finalize(v, 0, 100, &err), 0);
    ck_assert_uint_eq(nglm_vocab_size(v), 8);
    nglm_vocab_free(v);
    v = vocab_of(w, c);
    ck_assert_int_eq(nglm_vocab_finalize(v, 0, 3, &err), 0);
    ck_assert_uint_eq(nglm_vocab_size(v), 3);
    ck_assert_uint_eq(nglm_vocab_count(v, NGLM_UNK), 22);
    nglm_vocab_free(v);

    /* Fewer than the specials is an error. */
    v = vocab_of(w, c);
    ck_assert_int_eq(nglm_vocab_finalize(v, 0, 2, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "max_vocab"));
    nglm_vocab_free(v);
}
END_TEST

START_TEST(test_literal_specials_add)
{
    nglm_vocab *v = nglm_vocab_new();
    nglm_error err = { "" };
    ck_assert_int_eq(nglm_vocab_add(v, "<unk>", 3, &err), 0);
    ck_assert_int_eq(nglm_vocab_add(v, "</s>", 2, &err), 0);
    ck_assert_int_eq(nglm_vocab_add(v, "x", 1, &err), 0);
    ck_assert_uint_eq(nglm_vocab_size(v), 4);
    ck_assert_uint_eq(nglm_vocab_count(v, NGLM_UNK), 3);
    ck_assert_int_eq(nglm_vocab_finalize(v, 0, 0, &err), 0);
    ck_assert_uint_eq(nglm_vocab_count(v, NGLM_UNK), 3);
    ck_assert_uint_eq(nglm_vocab_count(v, NGLM_EOS), 2);
    ck_assert_int_eq(nglm_vocab_find(v, "x"), 3);
    nglm_vocab_free(v);
}
END_TEST

START_TEST(test_add_errors)
{
    nglm_vocab *v = nglm_vocab_new();
    nglm_error err = { "" };
    ck_assert_int_eq(nglm_vocab_add(v, "", 1, &err), -1);
    ck_assert_str_eq(err.msg, "vocabulary: empty word");
    ck_assert_int_eq(nglm_vocab_add(v, "a\tb", 1, &err), -1);
    ck_assert_str_eq(err.msg, "vocabulary: word contains a TAB or newline");
    ck_assert_int_eq(nglm_vocab_add(v, "a\nb", 1, &err), -1);
    ck_assert_int_eq(nglm_vocab_add(v, "big", UINT64_MAX, &err), 0);
    ck_assert_int_eq(nglm_vocab_add(v, "big", 1, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "overflows"));
    ck_assert_uint_eq(nglm_vocab_size(v), 4);
    ck_assert_int_eq(nglm_vocab_finalize(v, 0, 0, &err), 0);
    ck_assert_int_eq(nglm_vocab_add(v, "late", 1, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "after finalisation"));
    ck_assert_int_eq(nglm_vocab_finalize(v, 0, 0, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "already"));
    nglm_vocab_free(v);
}
END_TEST

START_TEST(test_many_words)
{
    /* 50 000 words with distinct counts: ids follow the counts exactly and
     * every lookup finds its word. */
    nglm_vocab *v = nglm_vocab_new();
    nglm_error err = { "" };
    char w[32];
    for (int i = 0; i < 50000; i++) {
        snprintf(w, sizeof w, "w%d", i);
        ck_assert_int_eq(nglm_vocab_add(v, w, (uint64_t)i + 1, &err), 0);
    }
    ck_assert_int_eq(nglm_vocab_finalize(v, 0, 0, &err), 0);
    ck_assert_uint_eq(nglm_vocab_size(v), 50003);
    for (int i = 0; i < 50000; i++) {
        snprintf(w, sizeof w, "w%d", i);
        ck_assert_int_eq(nglm_vocab_find(v, w), 3 + (50000 - 1 - i));
    }
    nglm_vocab_free(v);
}
END_TEST

/* ------------------------------------------------------------------ files */

START_TEST(test_count_file)
{
    const char *text = "the cat sat\n\n the dog <unk> \n<s> the </s> cat\n<s> </s>\n";
    nglm_vocab *v = nglm_vocab_new();
    nglm_error err = { "" };
    nglm_tok_options o = nglm_tok_options_default();
    uint64_t sents = 0;
    ck_assert_int_eq(nglm_vocab_count_file(v, tu_tempstr(text), &o, &sents, &err), 0);
    ck_assert_uint_eq(sents, 4);
    ck_assert_int_eq(nglm_vocab_finalize(v, 0, 0, &err), 0);
    ck_assert_uint_eq(nglm_vocab_size(v), 7);
    ck_assert_str_eq(nglm_vocab_word(v, 3), "the");
    ck_assert_uint_eq(nglm_vocab_count(v, 3), 3);
    ck_assert_str_eq(nglm_vocab_word(v, 4), "cat");
    ck_assert_uint_eq(nglm_vocab_count(v, 4), 2);
    ck_assert_str_eq(nglm_vocab_word(v, 5), "dog");
    ck_assert_str_eq(nglm_vocab_word(v, 6), "sat");
    /* One </s> per sentence; literal markers ignored; <s> never counted. */
    ck_assert_uint_eq(nglm_vocab_count(v, NGLM_EOS), 4);
    ck_assert_uint_eq(nglm_vocab_count(v, NGLM_BOS), 0);
    ck_assert_uint_eq(nglm_vocab_count(v, NGLM_UNK), 1);
    nglm_vocab_free(v);
}
END_TEST

START_TEST(test_count_file_modes_and_null_sentences)
{
    nglm_vocab *v = nglm_vocab_new();
    nglm_error err = { "" };
    nglm_tok_options o = nglm_tok_options_default();
    o.mode = NGLM_TOK_WORD;
    o.lowercase = 1;
    ck_assert_int_eq(nglm_vocab_count_file(v, tu_tempstr("Hi, hi!\nHI"), &o, NULL, &err), 0);
    ck_assert_int_eq(nglm_vocab_finalize(v, 0, 0, &err), 0);
    ck_assert_str_eq(nglm_vocab_word(v, 3), "hi");
    ck_assert_uint_eq(nglm_vocab_count(v, 3), 3);
    ck_assert_uint_eq(nglm_vocab_count(v, NGLM_EOS), 2);
    ck_assert_uint_eq(nglm_vocab_size(v), 6);
    nglm_vocab_free(v);
}
END_TEST

START_TEST(test_count_file_errors)
{
    nglm_vocab *v = nglm_vocab_new();
    nglm_error err = { "" };
    nglm_tok_options o = nglm_tok_options_default();
    ck_assert_int_eq(nglm_vocab_count_file(v, "/nonexistent/x.txt", &o, NULL, &err), -1);
    ck_assert_str_eq(err.msg, "/nonexistent/x.txt: No such file or directory");
    const char *path = tu_tempstr("good\nbad \xc3\n");
    ck_assert_int_eq(nglm_vocab_count_file(v, path, &o, NULL, &err), -1);
    char expect[256];
    snprintf(expect, sizeof expect, "%s:2: invalid UTF-8 at byte offset 9 (truncated sequence)",
             path);
    ck_assert_str_eq(err.msg, expect);
    nglm_vocab_free(v);
}
END_TEST

START_TEST(test_save_load_roundtrip)
{
    const char *w[] = { "the", "b", "a", "\xce\xb1\xce\xb2", "<unk>", "rare", NULL };
    const uint64_t c[] = { 100, 7, 7, 3, 2, 1 };
    nglm_vocab *v = vocab_of(w, c);
    nglm_error err = { "" };
    ck_assert_int_eq(nglm_vocab_add(v, "</s>", 12, &err), 0);
    ck_assert_int_eq(nglm_vocab_finalize(v, 2, 0, &err), 0);
    const char *path = tu_tempfile("", 0);
    ck_assert_int_eq(nglm_vocab_save(v, path, &err), 0);

    /* The exact file. */
    char text[512] = "";
    FILE *fp = fopen(path, "rb");
    size_t got = fread(text, 1, sizeof text - 1, fp);
    fclose(fp);
    text[got] = '\0';
    ck_assert_str_eq(text, "<s>\t0\n</s>\t12\n<unk>\t3\nthe\t100\na\t7\nb\t7\n\xce\xb1\xce\xb2\t3\n");

    nglm_vocab *u = nglm_vocab_load(path, &err);
    ck_assert_msg(u != NULL, "%s", err.msg);
    ck_assert_int_eq(nglm_vocab_is_final(u), 1);
    ck_assert_uint_eq(nglm_vocab_size(u), nglm_vocab_size(v));
    for (int32_t id = 0; id < (int32_t)nglm_vocab_size(v); id++) {
        ck_assert_str_eq(nglm_vocab_word(u, id), nglm_vocab_word(v, id));
        ck_assert_uint_eq(nglm_vocab_count(u, id), nglm_vocab_count(v, id));
        ck_assert_int_eq(nglm_vocab_find(u, nglm_vocab_word(v, id)), id);
    }
    ck_assert_int_eq(nglm_vocab_id(u, "rare"), NGLM_UNK);
    nglm_vocab_free(u);
    nglm_vocab_free(v);
}
END_TEST

START_TEST(test_load_preserves_ids)
{
    /* Not in count order: loading keeps the file's order. */
    nglm_error err = { "" };
    nglm_vocab *v = nglm_vocab_load(tu_tempstr(HEAD "zeta\t1\r\nalpha\t99\n"), &err);
    ck_assert_msg(v != NULL, "%s", err.msg);
    ck_assert_uint_eq(nglm_vocab_size(v), 5);
    ck_assert_int_eq(nglm_vocab_find(v, "zeta"), 3);
    ck_assert_int_eq(nglm_vocab_find(v, "alpha"), 4);
    ck_assert_uint_eq(nglm_vocab_count(v, 4), 99);
    ck_assert_uint_eq(nglm_vocab_count(v, NGLM_EOS), 5);
    /* A loaded vocabulary is final. */
    ck_assert_int_eq(nglm_vocab_add(v, "x", 1, &err), -1);
    nglm_vocab_free(v);
    /* Only the specials, without a final newline, is fine too. */
    v = nglm_vocab_load(tu_tempstr("<s>\t0\n</s>\t0\n<unk>\t18446744073709551615"), &err);
    ck_assert_msg(v != NULL, "%s", err.msg);
    ck_assert_uint_eq(nglm_vocab_count(v, NGLM_UNK), UINT64_MAX);
    nglm_vocab_free(v);
}
END_TEST

START_TEST(test_load_missing_tab)
{
    check_load_error(HEAD "word 5\n", "%s:4: missing TAB between word and count (a file "
                                       "whose first line has no TAB is read as a word list)");
    check_load_error(HEAD "a\t1\n\nb\t2\n", "%s:5: missing TAB between word and count (a "
                                          "file whose first line has no TAB is read as a "
                                          "word list)");
}
END_TEST

START_TEST(test_load_bad_count)
{
    check_load_error(HEAD "a\tfive\n", "%s:4: bad count 'five' (expected a decimal integer)");
    check_load_error(HEAD "a\t-1\n", "%s:4: bad count '-1' (expected a decimal integer)");
    check_load_error(HEAD "a\t\n", "%s:4: bad count '' (expected a decimal integer)");
    check_load_error(HEAD "a\t 3\n", "%s:4: bad count ' 3' (expected a decimal integer)");
    check_load_error("<s>\t0\n</s>\t18446744073709551616\n<unk>\t0\n",
                     "%s:2: bad count '18446744073709551616' (expected a decimal integer)");
}
END_TEST

START_TEST(test_load_duplicate)
{
    check_load_error(HEAD "a\t1\nb\t1\na\t1\n", "%s:6: duplicate word 'a' (first on line 4)");
    check_load_error(HEAD "<unk>\t1\n", "%s:4: duplicate word '<unk>' (first on line 3)");
}
END_TEST

START_TEST(test_load_bad_words)
{
    check_load_error(HEAD "\t4\n", "%s:4: empty word");
    check_load_error(HEAD "a\tb\t4\n", "%s:4: word contains a TAB or newline");
    check_load_error(HEAD "a\rb\t4\n", "%s:4: word contains a TAB or newline");
    static const char nul[] = HEAD "a\0b\t4\n";
    const char *path = tu_tempfile(nul, sizeof nul - 1);
    nglm_error err = { "" };
    ck_assert_ptr_null(nglm_vocab_load(path, &err));
    char expect[256];
    snprintf(expect, sizeof expect, "%s:4: NUL byte in line", path);
    ck_assert_str_eq(err.msg, expect);
}
END_TEST

START_TEST(test_load_specials)
{
    check_load_error("a\t5\n<s>\t0\n</s>\t0\n<unk>\t0\n",
                     "%s:1: expected the special token <s> on line 1, found 'a'");
    check_load_error("<s>\t0\n<unk>\t0\n</s>\t0\n",
                     "%s:2: expected the special token </s> on line 2, found '<unk>'");
    check_load_error("<s>\t0\n</s>\t0\n",
                     "%s: the special tokens <s>, </s>, <unk> are missing (the file has 2 entries)");
    check_load_error("", "%s: the special tokens <s>, </s>, <unk> are missing (the file has 0 entries)");
    nglm_error err = { "" };
    ck_assert_ptr_null(nglm_vocab_load("/nonexistent/vocab.txt", &err));
    ck_assert_str_eq(err.msg, "/nonexistent/vocab.txt: No such file or directory");
}
END_TEST

/* A word list (SRILM's -vocab format): the specials first whether listed or
 * not, then the words in the order listed, each once, counts 0. */
START_TEST(test_load_word_list)
{
    nglm_error err = { "" };
    const char *path = tu_tempstr("the\n  cat \n<unk>\n\nsat\r\ncat\n</s>\n");
    nglm_vocab *v = nglm_vocab_load(path, &err);
    ck_assert_msg(v != NULL, "%s", err.msg);
    ck_assert_uint_eq(nglm_vocab_size(v), NGLM_NUM_SPECIAL + 3);
    ck_assert_int_eq(nglm_vocab_find(v, "<s>"), NGLM_BOS);
    ck_assert_int_eq(nglm_vocab_find(v, "</s>"), NGLM_EOS);
    ck_assert_int_eq(nglm_vocab_find(v, "<unk>"), NGLM_UNK);
    ck_assert_int_eq(nglm_vocab_find(v, "the"), 3);
    ck_assert_int_eq(nglm_vocab_find(v, "cat"), 4);
    ck_assert_int_eq(nglm_vocab_find(v, "sat"), 5);
    ck_assert_uint_eq(nglm_vocab_count(v, 4), 0);
    ck_assert(nglm_vocab_is_final(v));
    nglm_vocab_free(v);
    check_load_error("a\nb c\n", "%s:2: more than one word on a line of a word list");
    /* nothing but the specials, or nothing listed at all after a blank line */
    v = nglm_vocab_load(tu_tempstr("\n"), &err);
    ck_assert_msg(v != NULL, "%s", err.msg);
    ck_assert_uint_eq(nglm_vocab_size(v), NGLM_NUM_SPECIAL);
    nglm_vocab_free(v);
}
END_TEST

START_TEST(test_save_errors)
{
    nglm_vocab *v = nglm_vocab_new();
    nglm_error err = { "" };
    ck_assert_int_eq(nglm_vocab_save(v, tu_tempfile("", 0), &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "not finalised"));
    ck_assert_int_eq(nglm_vocab_finalize(v, 0, 0, &err), 0);
    ck_assert_int_eq(nglm_vocab_save(v, "/nonexistent/dir/v.txt", &err), -1);
    ck_assert_str_eq(err.msg, "/nonexistent/dir/v.txt: No such file or directory");
    nglm_vocab_free(v);
}
END_TEST

/* ------------------------------------------------------------ parallel count */

/* A text of many lines (~1.5 MB, so a few dozen blocks at 4 threads): a
 * BOM, CRLF and LF ends, blank lines, literal specials, a line longer than
 * a block, and no final newline; bad_at > 0 puts invalid UTF-8 on line
 * bad_at and every 5003rd line after it. */
static char *big_text(size_t *len, size_t bad_at)
{
    size_t cap = 4 << 20, n = 0;
    char *t = malloc(cap);
    ck_assert_ptr_nonnull(t);
    uint64_t r = 12345;
    n += (size_t)sprintf(t, "\xEF\xBB\xBF" "first line\n");
    for (size_t line = 2; line <= 60000; line++) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        int words = (int)(r >> 60);
        if (line == 30000) /* a line longer than a block */
            for (int i = 0; i < 30000; i++)
                n += (size_t)sprintf(t + n, "L%d ", i % 77);
        if (bad_at && line >= bad_at && (line - bad_at) % 5003 == 0)
            n += (size_t)sprintf(t + n, "ok \xC0\xAF bad ");
        for (int i = 0; i < words; i++) {
            r = r * 6364136223846793005ull + 1442695040888963407ull;
            unsigned w = (unsigned)(r >> 33) % 5000;
            n += (size_t)sprintf(t + n, "%s%s", i ? " " : "",
                                 w == 7 ? "<s>" : w == 8 ? "</s>" : w == 9 ? "<unk>" : "");
            if (w > 9)
                n += (size_t)sprintf(t + n, "W%u%s", w % (1 + (unsigned)(r >> 40) % 3000),
                                     w % 11 == 0 ? ",Caf\xC3\xA9" : "");
        }
        n += (size_t)sprintf(t + n, "%s", line % 7 == 0 ? "\r\n" : "\n");
        ck_assert_uint_lt(n, cap - (1 << 18));
    }
    n += (size_t)sprintf(t + n, "last line without newline");
    *len = n;
    return t;
}

static void assert_same_vocab(nglm_vocab *a, nglm_vocab *b)
{
    nglm_error err;
    ck_assert_int_eq(nglm_vocab_finalize(a, 1, 0, &err), 0);
    ck_assert_int_eq(nglm_vocab_finalize(b, 1, 0, &err), 0);
    ck_assert_uint_eq(nglm_vocab_size(a), nglm_vocab_size(b));
    for (int32_t i = 0; i < (int32_t)nglm_vocab_size(a); i++) {
        ck_assert_str_eq(nglm_vocab_word(a, i), nglm_vocab_word(b, i));
        ck_assert_uint_eq(nglm_vocab_count(a, i), nglm_vocab_count(b, i));
    }
}

START_TEST(test_count_file_threads_same)
{
    size_t len;
    char *text = big_text(&len, 0);
    const char *path = tu_tempfile(text, len);
    nglm_tok_options modes[3] = {nglm_tok_options_default(), nglm_tok_options_default(),
                                 nglm_tok_options_default()};
    modes[1].mode = NGLM_TOK_WORD;
    modes[1].lowercase = 1;
    modes[2].mode = NGLM_TOK_CHAR;
    for (int m = 0; m < 3; m++) {
        nglm_error err;
        uint64_t s_ref = 0;
        nglm_vocab *ref = nglm_vocab_new();
        ck_assert_int_eq(nglm_vocab_count_file(ref, path, &modes[m], &s_ref, &err), 0);
        ck_assert_uint_gt(nglm_vocab_size(ref), m == 2 ? 20 : 1000);
        for (int threads = 1; threads <= 4; threads *= 2) {
            uint64_t s = 0;
            nglm_vocab *v = nglm_vocab_new();
            ck_assert_msg(nglm_vocab_count_file_threads(v, path, &modes[m], threads, NULL, &s, &err) == 0,
                          "%s", err.msg);
            ck_assert_uint_eq(s, s_ref);
            nglm_vocab *r2 = nglm_vocab_new();
            ck_assert_int_eq(nglm_vocab_count_file(r2, path, &modes[m], NULL, &err), 0);
            assert_same_vocab(r2, v);
            nglm_vocab_free(v);
            nglm_vocab_free(r2);
        }
        nglm_vocab_free(ref);
    }
    unlink(path);
    free(text);
}
END_TEST

/* The first invalid UTF-8 in file order is reported, with its line and
 * byte offset, exactly as the sequential count reports it. */
START_TEST(test_count_file_threads_errors)
{
    static const size_t bad_at[] = {2, 9000, 21000, 29999, 30000, 59999};
    for (size_t k = 0; k < 6; k++) {
        size_t len;
        char *text = big_text(&len, bad_at[k]);
        const char *path = tu_tempfile(text, len);
        nglm_error e1, e2;
        nglm_vocab *a = nglm_vocab_new(), *b = nglm_vocab_new();
        ck_assert_int_eq(nglm_vocab_count_file(a, path, NULL, NULL, &e1), -1);
        char want[64];
        snprintf(want, sizeof want, ":%zu: invalid UTF-8 at byte offset", bad_at[k]);
        ck_assert_msg(strstr(e1.msg, want) != NULL, "%s", e1.msg);
        for (int threads = 2; threads <= 4; threads *= 2) {
            ck_assert_int_eq(nglm_vocab_count_file_threads(b, path, NULL, threads, NULL, NULL, &e2), -1);
            ck_assert_str_eq(e1.msg, e2.msg);
        }
        nglm_vocab_free(a);
        nglm_vocab_free(b);
        unlink(path);
        free(text);
    }
    /* a missing file: the same message */
    nglm_error e1, e2;
    nglm_vocab *v = nglm_vocab_new();
    ck_assert_int_eq(nglm_vocab_count_file(v, "/nonexistent/x.txt", NULL, NULL, &e1), -1);
    ck_assert_int_eq(nglm_vocab_count_file_threads(v, "/nonexistent/x.txt", NULL, 4, NULL, NULL, &e2), -1);
    ck_assert_str_eq(e1.msg, e2.msg);
    nglm_vocab_free(v);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vocab");
    TCase *tc = tcase_create("counting");
    tcase_add_test(tc, test_specials);
    tcase_add_test(tc, test_id_order);
    tcase_add_test(tc, test_ties_bytewise);
    tcase_add_test(tc, test_min_count);
    tcase_add_test(tc, test_max_vocab);
    tcase_add_test(tc, test_literal_specials_add);
    tcase_add_test(tc, test_add_errors);
    tcase_add_test(tc, test_many_words);
    suite_add_tcase(s, tc);

    tc = tcase_create("files");
    tcase_set_timeout(tc, 60); /* the threaded counts take 1-2 s here: not 4 s on a loaded machine */
    tcase_add_test(tc, test_count_file);
    tcase_add_test(tc, test_count_file_modes_and_null_sentences);
    tcase_add_test(tc, test_count_file_errors);
    tcase_add_test(tc, test_count_file_threads_same);
    tcase_add_test(tc, test_count_file_threads_errors);
    tcase_add_test(tc, test_save_load_roundtrip);
    tcase_add_test(tc, test_load_preserves_ids);
    tcase_add_test(tc, test_load_missing_tab);
    tcase_add_test(tc, test_load_bad_count);
    tcase_add_test(tc, test_load_duplicate);
    tcase_add_test(tc, test_load_bad_words);
    tcase_add_test(tc, test_load_specials);
    tcase_add_test(tc, test_load_word_list);
    tcase_add_test(tc, test_save_errors);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
