/*
 * check_tokenize.c — tests of the tokenizer (src/tokenize.c): the three
 * modes on ASCII and multi-script text, line handling (CRLF, blank lines,
 * missing final newline, BOM), lowercasing, every class of invalid UTF-8
 * with its exact line and byte offset, replacement mode, and very long lines
 * and tokens.
 *
 * Most tests render a whole tokenized file as one string, tokens joined by
 * '|' and sentences ended by '\n', and compare it with the expected text.
 */
#define _GNU_SOURCE
#include "testutil.h"

#include <stdint.h>
#include <sys/stat.h>

#include "nglm/progress.h"
#include "nglm/tokenize.h"

/* ------------------------------------------------------------------ helpers */

static nglm_tok_options opts(nglm_tok_mode mode, int lowercase, int replace)
{
    nglm_tok_options o = nglm_tok_options_default();
    o.mode = mode;
    o.lowercase = lowercase;
    o.replace_invalid = replace;
    return o;
}

/* Tokenizes the file at path; returns the rendering (malloc'd) or NULL with
 * err filled.  *sents receives the number of sentences if not NULL. */
static char *render_path(const char *path, const nglm_tok_options *o, nglm_error *err,
                         size_t *sents)
{
    nglm_tokenizer *t = nglm_tokenizer_open(path, o, err);
    if (!t)
        return NULL;
    char *out = NULL;
    size_t out_len = 0, ns = 0;
    FILE *mem = open_memstream(&out, &out_len);
    ck_assert_ptr_nonnull(mem);
    char **tok;
    size_t n;
    int r;
    while ((r = nglm_tokenizer_next(t, &tok, &n, err)) > 0) {
        ck_assert_uint_gt(n, 0);
        ck_assert_ptr_null(tok[n]);
        for (size_t i = 0; i < n; i++)
            fprintf(mem, "%s%s", i ? "|" : "", tok[i]);
        fputc('\n', mem);
        ns++;
    }
    fclose(mem);
    nglm_tokenizer_close(t);
    if (r < 0) {
        free(out);
        return NULL;
    }
    if (sents)
        *sents = ns;
    return out;
}

static char *render(const void *data, size_t len, const nglm_tok_options *o, nglm_error *err)
{
    return render_path(tu_tempfile(data, len), o, err, NULL);
}

/* Asserts that the text s tokenizes to expect under o. */
static void check_tok(const char *s, const nglm_tok_options *o, const char *expect)
{
    nglm_error err = { "" };
    char *got = render(s, strlen(s), o, &err);
    ck_assert_msg(got != NULL, "unexpected error: %s", err.msg);
    ck_assert_str_eq(got, expect);
    free(got);
}

/* Asserts that data fails with exactly the message expect (in which "%s"
 * stands for the file name). */
static void check_invalid(const void *data, size_t len, const nglm_tok_options *o,
                          const char *expect_fmt)
{
    const char *path = tu_tempfile(data, len);
    nglm_error err = { "" };
    char *got = render_path(path, o, &err, NULL);
    ck_assert_msg(got == NULL, "expected an error, got \"%s\"", got ? got : "");
    char expect[1024];
    snprintf(expect, sizeof expect, expect_fmt, path);
    ck_assert_str_eq(err.msg, expect);
}

/* ------------------------------------------------------------------ options */

START_TEST(test_mode_parse)
{
    nglm_tok_mode m = NGLM_TOK_CHAR;
    nglm_error err = { "" };
    ck_assert_int_eq(nglm_tok_mode_parse("space", &m, &err), 0);
    ck_assert_int_eq(m, NGLM_TOK_SPACE);
    ck_assert_int_eq(nglm_tok_mode_parse("word", &m, &err), 0);
    ck_assert_int_eq(m, NGLM_TOK_WORD);
    ck_assert_int_eq(nglm_tok_mode_parse("char", &m, &err), 0);
    ck_assert_int_eq(m, NGLM_TOK_CHAR);
    ck_assert_int_eq(nglm_tok_mode_parse("Words", &m, &err), -1);
    ck_assert_int_eq(m, NGLM_TOK_CHAR);
    ck_assert_ptr_nonnull(strstr(err.msg, "Words"));
    ck_assert_str_eq(nglm_tok_mode_name(NGLM_TOK_SPACE), "space");
    ck_assert_str_eq(nglm_tok_mode_name(NGLM_TOK_WORD), "word");
    ck_assert_str_eq(nglm_tok_mode_name(NGLM_TOK_CHAR), "char");

    nglm_tok_options o = nglm_tok_options_default();
    ck_assert_int_eq(o.mode, NGLM_TOK_SPACE);
    ck_assert_int_eq(o.lowercase, 0);
    ck_assert_int_eq(o.replace_invalid, 0);
}
END_TEST

/* ------------------------------------------------------------------ SPACE */

START_TEST(test_space_ascii)
{
    nglm_tok_options o = opts(NGLM_TOK_SPACE, 0, 0);
    /* PTB lines begin and end with a space. */
    check_tok(" the cat  sat , down . \n\tNo\vfeed\fhere \n", &o,
              "the|cat|sat|,|down|.\nNo|feed|here\n");
}
END_TEST

START_TEST(test_space_multiscript)
{
    nglm_tok_options o = opts(NGLM_TOK_SPACE, 0, 0);
    check_tok("Καλημέρα κόσμε\nПривет, мир!\n你好 世界。\ncafe\xcc\x81 x\n", &o,
              "Καλημέρα|κόσμε\nПривет,|мир!\n你好|世界。\ncafe\xcc\x81|x\n");
}
END_TEST

START_TEST(test_unicode_spaces)
{
    nglm_tok_options o = opts(NGLM_TOK_SPACE, 0, 0);
    /* NBSP, ideographic space, em space, narrow NBSP, NEL, line separator
     * separate tokens; the zero width space is not whitespace. */
    check_tok("a\u00a0b\u3000c\u2003d\u202fe\xc2\x85" "f\u2028g h\u200bi\n", &o,
              "a|b|c|d|e|f|g|h\u200bi\n");
    /* A line of Unicode spaces only is blank. */
    check_tok("\u3000\u00a0\n\u2009x\u2009\n", &o, "x\n");
}
END_TEST

START_TEST(test_crlf)
{
    nglm_tok_options o = opts(NGLM_TOK_SPACE, 0, 0);
    check_tok("a b\r\nc\r\n\r\nd\r\n", &o, "a|b\nc\nd\n");
    o.mode = NGLM_TOK_CHAR;
    check_tok("ab\r\n", &o, "a|b\n");
}
END_TEST

START_TEST(test_blank_lines_and_line_numbers)
{
    const char *text = "\n  \n\t\r\nfirst line\n\n second \n \n";
    nglm_tok_options o = opts(NGLM_TOK_SPACE, 0, 0);
    nglm_error err = { "" };
    nglm_tokenizer *t = nglm_tokenizer_open(tu_tempstr(text), &o, &err);
    ck_assert_ptr_nonnull(t);
    ck_assert_uint_eq(nglm_tokenizer_line(t), 0);
    char **tok;
    size_t n;
    ck_assert_int_eq(nglm_tokenizer_next(t, &tok, &n, &err), 1);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(tok[0], "first");
    ck_assert_str_eq(tok[1], "line");
    ck_assert_uint_eq(nglm_tokenizer_line(t), 4);
    ck_assert_int_eq(nglm_tokenizer_next(t, &tok, &n, &err), 1);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(tok[0], "second");
    ck_assert_uint_eq(nglm_tokenizer_line(t), 6);
    ck_assert_int_eq(nglm_tokenizer_next(t, &tok, &n, &err), 0);
    ck_assert_int_eq(nglm_tokenizer_next(t, &tok, &n, &err), 0);
    ck_assert_uint_eq(nglm_tokenizer_bytes(t), strlen(text));
    nglm_tokenizer_close(t);
}
END_TEST

START_TEST(test_missing_final_newline)
{
    nglm_tok_options o = opts(NGLM_TOK_SPACE, 0, 0);
    check_tok("a b\nc d", &o, "a|b\nc|d\n");
    check_tok("only", &o, "only\n");
    o.mode = NGLM_TOK_WORD;
    check_tok("end.", &o, "end|.\n");
}
END_TEST

START_TEST(test_empty_file)
{
    nglm_tok_options o = opts(NGLM_TOK_SPACE, 0, 0);
    nglm_error err = { "" };
    size_t sents = 99;
    char *got = render_path(tu_tempfile("", 0), &o, &err, &sents);
    ck_assert_ptr_nonnull(got);
    ck_assert_str_eq(got, "");
    ck_assert_uint_eq(sents, 0);
    free(got);
    /* Only blank lines: also no sentence. */
    got = render_path(tu_tempstr("\n \r\n\t\n"), &o, &err, &sents);
    ck_assert_ptr_nonnull(got);
    ck_assert_uint_eq(sents, 0);
    free(got);
}
END_TEST

START_TEST(test_bom_skipped)
{
    nglm_tok_options o = opts(NGLM_TOK_SPACE, 0, 0);
    check_tok("\xef\xbb\xbf" "a b\n", &o, "a|b\n");
    /* Offsets still count the BOM's bytes. */
    check_invalid("\xef\xbb\xbf" "ab\xff\n", 7, &o,
                  "%s:1: invalid UTF-8 at byte offset 5 (invalid byte)");
}
END_TEST

/* ------------------------------------------------------------------ WORD */

START_TEST(test_word_ascii)
{
    nglm_tok_options o = opts(NGLM_TOK_WORD, 0, 0);
    check_tok("Hello, world! don't pay $3.14 (now)...\n", &o,
              "Hello|,|world|!|don't|pay|$|3.14|(|now|)|.|.|.\n");
    /* an apostrophe between letters and a '.' or ',' between digits stay in
     * the word; anywhere else they are punctuation */
    check_tok("it's O'Neil's rock\u2019n\u2019roll 'quoted' dogs' 1,000,000 3.5. a.b 3,x 'n\n", &o,
              "it's|O'Neil's|rock\u2019n\u2019roll|'|quoted|'|dogs|'|1,000,000|3.5|.|a|.|b|3|,|x|'|n\n");
    check_tok("x'' 5.. ,5 7'8\n", &o, "x|'|'|5|.|.|,|5|7|'|8\n");
    check_tok("a+b=c_d x@y #1\n", &o, "a|+|b|=|c|_|d|x|@|y|#|1\n");
}
END_TEST

START_TEST(test_word_greek_cyrillic)
{
    nglm_tok_options o = opts(NGLM_TOK_WORD, 0, 0);
    check_tok("Привет, мир! Καλημέρα; «ναι» Ջան·\n", &o,
              "Привет|,|мир|!|Καλημέρα|;|«|ναι|»|Ջան|·\n");
    /* Greek question mark U+037E and ano teleia U+0387 are punctuation. */
    check_tok("τι\u037e ναι\u0387\n", &o, "τι|\u037e|ναι|\u0387\n");
}
END_TEST

START_TEST(test_word_cjk)
{
    nglm_tok_options o = opts(NGLM_TOK_WORD, 0, 0);
    /* Han and kana, written without spaces, are a token a character (as in
     * CHAR mode); Hangul, written with spaces, keeps its words. */
    check_tok("「こんにちは」、世界！你好。한국어 문장\n", &o,
              "「|こ|ん|に|ち|は|」|、|世|界|！|你|好|。|한국어|문장\n");
    /* The ideographic space separates; the katakana middle dot is split. */
    check_tok("東京\u3000タワー・ビル\n", &o, "東|京|タ|ワ|ー|・|ビ|ル\n");
    /* a word after an ideograph is a token of its own; voicing marks stay
     * with their kana (combining and halfwidth) */
    check_tok("漢abc か\u3099 \uff76\uff9e\n", &o, "漢|abc|か\u3099|\uff76\uff9e\n");
}
END_TEST

START_TEST(test_word_rtl_and_indic)
{
    nglm_tok_options o = opts(NGLM_TOK_WORD, 0, 0);
    /* Arabic comma and question mark; harakat stay in the word. */
    check_tok("مَرحبا، عالم؟\n", &o, "مَرحبا|،|عالم|؟\n");
    /* Hebrew with points and a maqaf. */
    check_tok("שָׁלוֹם בֵּית־סֵפֶר\n", &o, "שָׁלוֹם|בֵּית|־|סֵפֶר\n");
    /* Devanagari vowel signs and virama stay; the danda is split. */
    check_tok("नमस्ते दुनिया।\n", &o, "नमस्ते|दुनिया|।\n");
}
END_TEST

START_TEST(test_word_combining_marks)
{
    nglm_tok_options o = opts(NGLM_TOK_WORD, 0, 0);
    check_tok("cafe\xcc\x81 e\xcc\x81te\xcc\x81, n\xcc\x83!\n", &o,
              "cafe\xcc\x81|e\xcc\x81te\xcc\x81|,|n\xcc\x83|!\n");
    /* A mark after punctuation stays with it; one at line start opens a word. */
    check_tok("a!\xcc\x81 \xcc\x81x\n", &o, "a|!\xcc\x81|\xcc\x81x\n");
    /* Emoji are symbols; a skin-tone modifier stays with its emoji. */
    check_tok("hi\U0001F600\n", &o, "hi|\U0001F600\n");
    check_tok("\U0001F44D\U0001F3FD!\n", &o, "\U0001F44D\U0001F3FD|!\n");
}
END_TEST

START_TEST(test_word_general_punctuation)
{
    nglm_tok_options o = opts(NGLM_TOK_WORD, 0, 0);
    check_tok("a\u2014b \u201cc\u201d d\u2026 \u00bfe? 5\u20ac 3\u00d74\n", &o,
              "a|\u2014|b|\u201c|c|\u201d|d|\u2026|\u00bf|e|?|5|\u20ac|3|\u00d7|4\n");
    /* Superscripts and letters of Latin-1 are word characters. */
    check_tok("m\u00b2 \u00aa \u00b5m\n", &o, "m\u00b2|\u00aa|\u00b5m\n");
}
END_TEST

/* ------------------------------------------------------------------ CHAR */

START_TEST(test_char_mode)
{
    nglm_tok_options o = opts(NGLM_TOK_CHAR, 0, 0);
    check_tok("ab c\n", &o, "a|b|c\n");
    check_tok("日本語 です\n", &o, "日|本|語|で|す\n");
    check_tok("e\xcc\x81\n", &o, "e|\xcc\x81\n");
    check_tok("Ωx\U0001F600\u3000.\n\n z\n", &o, "Ω|x|\U0001F600|.\nz\n");
}
END_TEST

/* The special tokens stay whole in every mode, wherever they start; with
 * lowercasing in any case; a near miss is split as any text, unless it is
 * a markup tag standing alone (test_tags_whole). */
/* A markup tag (<doc>, </doc>, <sil>, [noise]: what a vocabulary file declares for
 * what is not a word) standing alone between white space is one token in
 * WORD and CHAR mode, lower-cased with the text; glued to anything else it
 * is split as any text. */
START_TEST(test_tags_whole)
{
    nglm_tok_options o = opts(NGLM_TOK_WORD, 0, 0);
    check_tok("<doc> a, b </doc>\n", &o, "<doc>|a|,|b|</doc>\n");
    check_tok("<noise>\t<v_2.1:x-y> <UNK>\n", &o, "<noise>|<v_2.1:x-y>|<UNK>\n");
    check_tok("[noise] a [vocalized-noise] [/x]\n", &o, "[noise]|a|[vocalized-noise]|[/x]\n");
    check_tok("[noise> <noise] a[b] [b]c [s]\n", &o,
              "[|noise|>|<|noise|]|a|[|b|]|[|b|]|c|[s]\n");
    check_tok("x<doc> <doc>x <do c> <> </> <d!>\n", &o,
              "x|<|doc|>|<|doc|>|x|<|do|c|>|<|>|<|/|>|<|d|!|>\n");
    o = opts(NGLM_TOK_WORD, 1, 0);
    check_tok("<DOC> The </Doc>\n", &o, "<doc>|the|</doc>\n");
    o = opts(NGLM_TOK_CHAR, 0, 0);
    check_tok("<sil> ab\n", &o, "<sil>|a|b\n");
    o = opts(NGLM_TOK_SPACE, 0, 0);
    check_tok("<sil> a<b>\n", &o, "<sil>|a<b>\n");
}
END_TEST

START_TEST(test_specials_whole)
{
    nglm_tok_options o = opts(NGLM_TOK_WORD, 1, 0);
    check_tok("<s> the <unk> fell </s>\n", &o, "<s>|the|<unk>|fell|</s>\n");
    check_tok("a<unk>. (<UNK>) <Unk>'s\n", &o, "a|<unk>|.|(|<unk>|)|<unk>|'|s\n");
    check_tok("<unk <s </s x> a<unknown> </ s>\n", &o,
              "<|unk|<|s|<|/|s|x|>|a|<|unknown|>|<|/|s|>\n");
    o = opts(NGLM_TOK_WORD, 0, 0);
    check_tok("(<UNK>) <unk>\n", &o, "(|<|UNK|>|)|<unk>\n");
    o = opts(NGLM_TOK_CHAR, 0, 0);
    check_tok("ab<unk>c </s>\n", &o, "a|b|<unk>|c|</s>\n");
    o = opts(NGLM_TOK_SPACE, 0, 0);
    check_tok("a<unk> <s>\n", &o, "a<unk>|<s>\n");
    /* the in-memory splitter (the Python module's and lm.c's) agrees */
    nglm_tok_options w = opts(NGLM_TOK_WORD, 0, 0);
    nglm_tokenizer *t = nglm_tokenizer_new(&w);
    char **tok;
    nglm_error err = { "" };
    ck_assert_int_eq(nglm_tokenizer_split(t, "<s> x</s>", 9, &tok, &err), 3);
    ck_assert_str_eq(tok[0], "<s>");
    ck_assert_str_eq(tok[2], "</s>");
    nglm_tokenizer_close(t);
}
END_TEST

/* ------------------------------------------------------------------ lowercase */

START_TEST(test_lowercase)
{
    nglm_tok_options o = opts(NGLM_TOK_SPACE, 1, 0);
    /* ASCII and Latin-1; × and ß have no simple lower-case mapping. */
    check_tok("HELLO W\u00d6rld \u00c0\u00c9\u00ce\u00d5\u00dc\u00d7\u00df\n", &o,
              "hello|w\u00f6rld|\u00e0\u00e9\u00ee\u00f5\u00fc\u00d7\u00df\n");
    /* Special tokens written in capitals become the specials. */
    check_tok("<UNK> The\n", &o, "<unk>|the\n");
}
END_TEST

START_TEST(test_lowercase_scripts)
{
    nglm_tok_options o = opts(NGLM_TOK_SPACE, 1, 0);
    /* Latin Extended-A: pairs with the upper case even (Ā) or odd (Ĺ),
     * İ → i, Ÿ → ÿ. */
    check_tok("\u0100\u011e\u0130\u0139\u0141\u0152\u0178\u017d\n", &o,
              "\u0101\u011fi\u013a\u0142\u0153\u00ff\u017e\n");
    check_tok("\u0391\u0392\u0393\u03a3\u03a9 \u0386\u0388\u038c\u038f \u03c3\n", &o,
              "\u03b1\u03b2\u03b3\u03c3\u03c9|\u03ac\u03ad\u03cc\u03ce|\u03c3\n");
    check_tok("\u041f\u0420\u0418\u0412\u0415\u0422 \u0401\u0416 \u0462\n", &o,
              "\u043f\u0440\u0438\u0432\u0435\u0442|\u0451\u0436|\u0463\n");
    check_tok("\u0531\u0532 \u65e5\u672c ABC\n", &o, "\u0561\u0562|\u65e5\u672c|abc\n");
    /* Without the option nothing changes. */
    o.lowercase = 0;
    check_tok("ABC \u0391\n", &o, "ABC|\u0391\n");
}
END_TEST

START_TEST(test_utf8_lower_table)
{
    ck_assert_uint_eq(nglm_utf8_lower('A'), 'a');
    ck_assert_uint_eq(nglm_utf8_lower('z'), 'z');
    ck_assert_uint_eq(nglm_utf8_lower('@'), '@');
    ck_assert_uint_eq(nglm_utf8_lower('['), '[');
    ck_assert_uint_eq(nglm_utf8_lower(0xC0), 0xE0);
    ck_assert_uint_eq(nglm_utf8_lower(0xD7), 0xD7);
    ck_assert_uint_eq(nglm_utf8_lower(0xDE), 0xFE);
    ck_assert_uint_eq(nglm_utf8_lower(0xDF), 0xDF);
    ck_assert_uint_eq(nglm_utf8_lower(0x131), 0x131);
    ck_assert_uint_eq(nglm_utf8_lower(0x138), 0x138);
    ck_assert_uint_eq(nglm_utf8_lower(0x147), 0x148);
    ck_assert_uint_eq(nglm_utf8_lower(0x14A), 0x14B);
    ck_assert_uint_eq(nglm_utf8_lower(0x3A2), 0x3A2);
    ck_assert_uint_eq(nglm_utf8_lower(0x3AB), 0x3CB);
    ck_assert_uint_eq(nglm_utf8_lower(0x40F), 0x45F);
    ck_assert_uint_eq(nglm_utf8_lower(0x42F), 0x44F);
    ck_assert_uint_eq(nglm_utf8_lower(0x4C0), 0x4CF);
    ck_assert_uint_eq(nglm_utf8_lower(0x4C1), 0x4C2);
    ck_assert_uint_eq(nglm_utf8_lower(0x4D0), 0x4D1);
    ck_assert_uint_eq(nglm_utf8_lower(0x4E9), 0x4E9);
    ck_assert_uint_eq(nglm_utf8_lower(0x556), 0x586);
    ck_assert_uint_eq(nglm_utf8_lower(0x4E2D), 0x4E2D);
    /* The lower-case image of every mapped upper-case letter maps to itself. */
    for (uint32_t c = 0; c < 0x600; c++)
        ck_assert_uint_eq(nglm_utf8_lower(nglm_utf8_lower(c)), nglm_utf8_lower(c));
}
END_TEST

/* ------------------------------------------------------------------ UTF-8 */

START_TEST(test_utf8_decode_encode)
{
    uint32_t cp;
    const char *why = NULL;
    const unsigned char a[] = "\xf0\x9f\x98\x80";
    ck_assert_int_eq(nglm_utf8_decode(a, 4, &cp, &why), 4);
    ck_assert_uint_eq(cp, 0x1F600);
    ck_assert_int_eq(nglm_utf8_decode((const unsigned char *)"\xf4\x8f\xbf\xbf", 4, &cp, &why), 4);
    ck_assert_uint_eq(cp, 0x10FFFF);
    ck_assert_int_eq(nglm_utf8_decode((const unsigned char *)"\xee\x80\x80", 3, &cp, &why), 3);
    ck_assert_uint_eq(cp, 0xE000);
    ck_assert_int_eq(nglm_utf8_decode((const unsigned char *)"\xed\x9f\xbf", 3, &cp, &why), 3);
    ck_assert_uint_eq(cp, 0xD7FF);
    /* Truncated by n, not by the bytes. */
    ck_assert_int_eq(nglm_utf8_decode(a, 3, &cp, &why), -3);
    ck_assert_str_eq(why, "truncated sequence");
    /* Round trip of every scalar value through encode and decode. */
    for (uint32_t c = 1; c <= 0x10FFFF; c += (c < 0x3000 ? 1 : 97)) {
        if (c >= 0xD800 && c <= 0xDFFF)
            continue;
        char buf[4];
        size_t len = nglm_utf8_encode(c, buf);
        ck_assert_int_eq(nglm_utf8_decode((const unsigned char *)buf, len, &cp, &why), (int)len);
        ck_assert_uint_eq(cp, c);
    }
}
END_TEST

/* Each class of invalid input, with its exact message: the line number and
 * the 0-based byte offset of the first bad byte in the file. */
#define IC(data, msg) { data, sizeof(data) - 1, msg }
static const struct {
    const char *data;
    size_t len;
    const char *msg;
} invalid_cases[] = {
    IC("ok line\nab\xc0\xaf" "cd\n",
      "%s:2: invalid UTF-8 at byte offset 10 (overlong encoding)"),
    IC("x\n\nabc \xe0\x80\xaf\n",
      "%s:3: invalid UTF-8 at byte offset 7 (overlong encoding)"),
    IC("\xf0\x80\x80\x80\n", "%s:1: invalid UTF-8 at byte offset 0 (overlong encoding)"),
    IC("a b\nsur \xed\xa0\x80 x\n",
      "%s:2: invalid UTF-8 at byte offset 8 (surrogate code point)"),
    IC("\xf4\x90\x80\x80\n",
      "%s:1: invalid UTF-8 at byte offset 0 (code point above U+10FFFF)"),
    IC("12\xf5\x80\x80\x80\n",
      "%s:1: invalid UTF-8 at byte offset 2 (code point above U+10FFFF)"),
    IC("ab\xe4\xb8\n", "%s:1: invalid UTF-8 at byte offset 2 (truncated sequence)"),
    IC("\n\xe4\xb8 x\n", "%s:2: invalid UTF-8 at byte offset 1 (truncated sequence)"),
    IC("a\nab\xc3", "%s:2: invalid UTF-8 at byte offset 4 (truncated sequence)"),
    IC("\xf0\x9f\x98", "%s:1: invalid UTF-8 at byte offset 0 (truncated sequence)"),
    IC("line one\r\na\x80" "b\r\n",
      "%s:2: invalid UTF-8 at byte offset 11 (unexpected continuation byte)"),
    IC("\xff\n", "%s:1: invalid UTF-8 at byte offset 0 (invalid byte)"),
    IC("good\na\0b\n", "%s:2: invalid UTF-8 at byte offset 6 (NUL byte)"),
};

START_TEST(test_invalid_utf8)
{
    for (int mode = 0; mode < 3; mode++) {
        nglm_tok_options o = opts((nglm_tok_mode)mode, 0, 0);
        check_invalid(invalid_cases[_i].data, invalid_cases[_i].len, &o, invalid_cases[_i].msg);
    }
}
END_TEST

START_TEST(test_invalid_after_long_text)
{
    /* The offset is within the file, not the line, even far into it. */
    size_t n_lines = 1000;
    size_t len = n_lines * 10 + 4;
    char *data = malloc(len);
    for (size_t i = 0; i < n_lines; i++)
        memcpy(data + 10 * i, "word word\n", 10);
    memcpy(data + 10 * n_lines, "ok\xc1\n", 4);
    nglm_tok_options o = opts(NGLM_TOK_SPACE, 0, 0);
    check_invalid(data, len, &o, "%s:1001: invalid UTF-8 at byte offset 10002 (overlong encoding)");
    free(data);
}
END_TEST

START_TEST(test_replace_invalid)
{
    nglm_tok_options o = opts(NGLM_TOK_SPACE, 0, 1);
    /* C0 cannot start anything: one U+FFFD per byte. */
    check_tok("a\xc0\xaf" "b\n", &o, "a\ufffd\ufffdb\n");
    /* A truncated sequence is one U+FFFD. */
    check_tok("a\xe4\xb8" "b c\xf0\x9f\x98\n", &o, "a\ufffdb|c\ufffd\n");
    /* Surrogates and code points above U+10FFFF: one per byte. */
    check_tok("\xed\xa0\x80 \xf4\x90\x80\x80\n", &o,
              "\ufffd\ufffd\ufffd|\ufffd\ufffd\ufffd\ufffd\n");
    /* Stray continuation, invalid byte (NUL: see test_nul_byte). */
    check_tok("x\x80y \xff z\n", &o, "x\ufffdy|\ufffd|z\n");
    /* Valid text around it is untouched, and so are the other lines. */
    check_tok("caf\xc3\xa9\n\xe9t\xe9\n", &o, "caf\xc3\xa9\n\ufffdt\ufffd\n");
    /* In word mode, U+FFFD stays inside the word. */
    o.mode = NGLM_TOK_WORD;
    check_tok("ab\xff" "cd, e\n", &o, "ab\ufffdcd|,|e\n");
    o.mode = NGLM_TOK_CHAR;
    check_tok("a\xffz\n", &o, "a|\ufffd|z\n");
}
END_TEST

START_TEST(test_nul_byte)
{
    nglm_tok_options o = opts(NGLM_TOK_SPACE, 0, 0);
    check_invalid("\0", 1, &o, "%s:1: invalid UTF-8 at byte offset 0 (NUL byte)");
    o.replace_invalid = 1;
    nglm_error err = { "" };
    char *got = render("a\0\0b\n", 5, &o, &err);
    ck_assert_ptr_nonnull(got);
    ck_assert_str_eq(got, "a\ufffd\ufffdb\n");
    free(got);
}
END_TEST

/* ------------------------------------------------------------------ sizes */

START_TEST(test_ten_megabyte_line)
{
    /* 10 MB in one line: "w0000000 w0000001 ..." without a final newline. */
    size_t n_tok = 10 * 1024 * 1024 / 9 + 1;
    size_t len = n_tok * 9 - 1;
    char *data = malloc(9 * n_tok + 1);
    for (size_t i = 0; i < n_tok; i++)
        snprintf(data + 9 * i, 10, "w%07zu ", i % 10000000);
    const char *path = tu_tempfile(data, len);
    free(data);
    nglm_tok_options o = opts(NGLM_TOK_SPACE, 0, 0);
    nglm_error err = { "" };
    nglm_tokenizer *t = nglm_tokenizer_open(path, &o, &err);
    ck_assert_ptr_nonnull(t);
    char **tok;
    size_t n;
    ck_assert_int_eq(nglm_tokenizer_next(t, &tok, &n, &err), 1);
    ck_assert_uint_eq(n, n_tok);
    ck_assert_str_eq(tok[0], "w0000000");
    ck_assert_str_eq(tok[12345], "w0012345");
    char last[16];
    snprintf(last, sizeof last, "w%07zu", (n_tok - 1) % 10000000);
    ck_assert_str_eq(tok[n - 1], last);
    ck_assert_int_eq(nglm_tokenizer_next(t, &tok, &n, &err), 0);
    ck_assert_uint_eq(nglm_tokenizer_bytes(t), len);
    nglm_tokenizer_close(t);
    unlink(path);
}
END_TEST

START_TEST(test_one_megabyte_token)
{
    size_t big = 1024 * 1024;
    char *data = malloc(big + 16);
    memset(data, 'x', big);
    memcpy(data + big, " y\nz\n", 5);
    nglm_tok_options o = opts(NGLM_TOK_SPACE, 0, 0);
    nglm_error err = { "" };
    nglm_tokenizer *t = nglm_tokenizer_open(tu_tempfile(data, big + 5), &o, &err);
    ck_assert_ptr_nonnull(t);
    char **tok;
    size_t n;
    ck_assert_int_eq(nglm_tokenizer_next(t, &tok, &n, &err), 1);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(strlen(tok[0]), big);
    ck_assert_int_eq(memcmp(tok[0], data, big), 0);
    ck_assert_str_eq(tok[1], "y");
    ck_assert_int_eq(nglm_tokenizer_next(t, &tok, &n, &err), 1);
    ck_assert_str_eq(tok[0], "z");
    nglm_tokenizer_close(t);
    free(data);
}
END_TEST

START_TEST(test_one_megabyte_token_multibyte_lowercase)
{
    /* 512 Ki "É" (2 bytes each) in word mode with lowercasing. */
    size_t reps = 512 * 1024;
    char *data = malloc(2 * reps + 1);
    for (size_t i = 0; i < reps; i++)
        memcpy(data + 2 * i, "\xc3\x89", 2);
    data[2 * reps] = '\n';
    nglm_tok_options o = opts(NGLM_TOK_WORD, 1, 0);
    nglm_error err = { "" };
    nglm_tokenizer *t = nglm_tokenizer_open(tu_tempfile(data, 2 * reps + 1), &o, &err);
    ck_assert_ptr_nonnull(t);
    char **tok;
    size_t n;
    ck_assert_int_eq(nglm_tokenizer_next(t, &tok, &n, &err), 1);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(strlen(tok[0]), 2 * reps);
    ck_assert_int_eq(memcmp(tok[0], "\xc3\xa9", 2), 0);
    ck_assert_int_eq(memcmp(tok[0] + 2 * reps - 2, "\xc3\xa9", 2), 0);
    nglm_tokenizer_close(t);
    free(data);
}
END_TEST

START_TEST(test_speed_ptb_like)
{
    /* 5 MB of PTB-like text.  The target is well under 0.2 s in an
     * optimised build; the bound here is loose so that sanitiser and
     * debug builds pass, while still catching quadratic behaviour. */
    static const char *words[] = { "the", "company", "said", ",", "N", "million",
                                   "shares", "of", "<unk>", "in", "a", "." };
    size_t cap = 5 * 1024 * 1024 + 4096, len = 0, w = 0; /* + one line */
    char *data = malloc(cap);
    while (len < 5 * 1024 * 1024) {
        data[len++] = ' ';
        for (int i = 0; i < 20; i++) {
            len += (size_t)sprintf(data + len, "%s ", words[w++ % 12]);
        }
        data[len++] = '\n';
    }
    const char *path = tu_tempfile(data, len);
    free(data);
    nglm_tok_options o = opts(NGLM_TOK_SPACE, 0, 0);
    nglm_error err = { "" };
    double t0 = nglm_wall_seconds();
    nglm_tokenizer *t = nglm_tokenizer_open(path, &o, &err);
    ck_assert_ptr_nonnull(t);
    char **tok;
    size_t n, total = 0;
    int r;
    while ((r = nglm_tokenizer_next(t, &tok, &n, &err)) > 0)
        total += n;
    ck_assert_int_eq(r, 0);
    nglm_tokenizer_close(t);
    double secs = nglm_wall_seconds() - t0;
    ck_assert_uint_gt(total, 900000);
    ck_assert_msg(secs < 2.0, "5 MB took %.3f s", secs);
    unlink(path);
}
END_TEST

/* ------------------------------------------------------------------ API */

START_TEST(test_split_in_memory)
{
    nglm_tok_options o = opts(NGLM_TOK_WORD, 1, 0);
    nglm_tokenizer *t = nglm_tokenizer_new(&o);
    ck_assert_ptr_nonnull(t);
    nglm_error err = { "" };
    char **tok;
    const char *line = "The END.\r\n";
    ck_assert_int_eq(nglm_tokenizer_split(t, line, strlen(line), &tok, &err), 3);
    ck_assert_str_eq(tok[0], "the");
    ck_assert_str_eq(tok[1], "end");
    ck_assert_str_eq(tok[2], ".");
    /* Only len bytes are read. */
    ck_assert_int_eq(nglm_tokenizer_split(t, "ab cd", 2, &tok, &err), 1);
    ck_assert_str_eq(tok[0], "ab");
    ck_assert_int_eq(nglm_tokenizer_split(t, "   ", 3, &tok, &err), 0);
    /* Offsets are relative to the line. */
    ck_assert_int_eq(nglm_tokenizer_split(t, "abc \xed\xbf\xbf", 7, &tok, &err), -1);
    ck_assert_str_eq(err.msg, "invalid UTF-8 at byte offset 4 (surrogate code point)");
    /* Reading from a stream-less tokenizer is an error. */
    size_t n;
    ck_assert_int_eq(nglm_tokenizer_next(t, &tok, &n, &err), -1);
    nglm_tokenizer_close(t);
    nglm_tokenizer_close(NULL);
}
END_TEST

START_TEST(test_open_errors)
{
    nglm_tok_options o = nglm_tok_options_default();
    nglm_error err = { "" };
    ck_assert_ptr_null(nglm_tokenizer_open("/nonexistent/nglm/file.txt", &o, &err));
    ck_assert_str_eq(err.msg, "/nonexistent/nglm/file.txt: No such file or directory");
    ck_assert_ptr_null(nglm_tokenizer_open("/tmp", &o, &err));
    ck_assert_str_eq(err.msg, "/tmp: is a directory");
    o.mode = (nglm_tok_mode)7;
    ck_assert_ptr_null(nglm_tokenizer_open(tu_tempstr("x\n"), &o, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "mode"));
}
END_TEST

START_TEST(test_from_stream_and_stdin)
{
    const char *text = "a b\nc\xff\n";
    nglm_tok_options o = nglm_tok_options_default();
    nglm_error err = { "" };
    FILE *fp = fmemopen((void *)text, strlen(text), "rb");
    ck_assert_ptr_nonnull(fp);
    nglm_tokenizer *t = nglm_tokenizer_from_stream(fp, "mem", &o, &err);
    ck_assert_ptr_nonnull(t);
    char **tok;
    size_t n;
    ck_assert_int_eq(nglm_tokenizer_next(t, &tok, &n, &err), 1);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(nglm_tokenizer_next(t, &tok, &n, &err), -1);
    ck_assert_str_eq(err.msg, "mem:2: invalid UTF-8 at byte offset 5 (invalid byte)");
    ck_assert_uint_eq(nglm_tokenizer_line(t), 2);
    nglm_tokenizer_close(t);
    /* The stream is still open: it belongs to the caller. */
    ck_assert_int_eq(fclose(fp), 0);

    /* "-" reads stdin. */
    ck_assert_ptr_nonnull(freopen(tu_tempstr("x y z\n"), "rb", stdin));
    t = nglm_tokenizer_open("-", &o, &err);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(nglm_tokenizer_next(t, &tok, &n, &err), 1);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(tok[2], "z");
    ck_assert_int_eq(nglm_tokenizer_next(t, &tok, &n, &err), 0);
    nglm_tokenizer_close(t);
}
END_TEST

/* ------------------------------------------------------------------ main */

int main(void)
{
    Suite *s = suite_create("tokenize");
    TCase *tc = tcase_create("options");
    tcase_add_test(tc, test_mode_parse);
    suite_add_tcase(s, tc);

    tc = tcase_create("lines");
    tcase_add_test(tc, test_space_ascii);
    tcase_add_test(tc, test_space_multiscript);
    tcase_add_test(tc, test_unicode_spaces);
    tcase_add_test(tc, test_crlf);
    tcase_add_test(tc, test_blank_lines_and_line_numbers);
    tcase_add_test(tc, test_missing_final_newline);
    tcase_add_test(tc, test_empty_file);
    tcase_add_test(tc, test_bom_skipped);
    suite_add_tcase(s, tc);

    tc = tcase_create("modes");
    tcase_add_test(tc, test_word_ascii);
    tcase_add_test(tc, test_word_greek_cyrillic);
    tcase_add_test(tc, test_word_cjk);
    tcase_add_test(tc, test_word_rtl_and_indic);
    tcase_add_test(tc, test_word_combining_marks);
    tcase_add_test(tc, test_word_general_punctuation);
    tcase_add_test(tc, test_char_mode);
    tcase_add_test(tc, test_specials_whole);
    tcase_add_test(tc, test_tags_whole);
    tcase_add_test(tc, test_lowercase);
    tcase_add_test(tc, test_lowercase_scripts);
    tcase_add_test(tc, test_utf8_lower_table);
    suite_add_tcase(s, tc);

    tc = tcase_create("utf8");
    tcase_add_test(tc, test_utf8_decode_encode);
    tcase_add_loop_test(tc, test_invalid_utf8, 0,
                        (int)(sizeof invalid_cases / sizeof invalid_cases[0]));
    tcase_add_test(tc, test_invalid_after_long_text);
    tcase_add_test(tc, test_replace_invalid);
    tcase_add_test(tc, test_nul_byte);
    suite_add_tcase(s, tc);

    tc = tcase_create("sizes");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_ten_megabyte_line);
    tcase_add_test(tc, test_one_megabyte_token);
    tcase_add_test(tc, test_one_megabyte_token_multibyte_lowercase);
    tcase_add_test(tc, test_speed_ptb_like);
    suite_add_tcase(s, tc);

    tc = tcase_create("api");
    tcase_add_test(tc, test_split_in_memory);
    tcase_add_test(tc, test_open_errors);
    tcase_add_test(tc, test_from_stream_and_stdin);
    suite_add_tcase(s, tc);

    return tu_run(s);
}
