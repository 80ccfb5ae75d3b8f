/*
 * nglm/tokenize.h — text → sentences of tokens (UTF-8 aware).
 *
 * Input: a byte stream (a file or stdin), one sentence per line.
 * Output: for each non-blank line, its tokens as NUL-terminated UTF-8 strings.
 *
 * Modes: SPACE (a token is a run of non-whitespace; for pre-tokenised corpora
 * such as PTB), WORD (punctuation split from words; letters, digits and
 * combining marks of any script stay together), CHAR (every code point is a
 * token).  CRLF line ends are accepted; blank lines are skipped; a missing
 * final newline is fine.  Lines and tokens of any length are read whole (no
 * silent truncation).  Invalid UTF-8 (overlongs, surrogates, code points
 * above U+10FFFF, truncated sequences, stray continuation bytes) is an error
 * naming the file, line and byte offset, unless replace_invalid is set, in
 * which case each invalid sequence (its maximal invalid subpart, as the
 * Unicode standard recommends) becomes U+FFFD.  A NUL byte counts as invalid
 * input.  A UTF-8 byte-order mark at the very start of a stream is skipped.
 *
 * Whitespace (all modes): ASCII space, TAB, LF, VT, FF, CR and the Unicode
 * spaces U+0085, U+00A0, U+1680, U+2000..U+200A, U+2028, U+2029, U+202F,
 * U+205F, U+3000.
 *
 * WORD mode: a token is a run of word characters (letters, digits and
 * combining marks of any script: everything not listed as punctuation,
 * symbol or space), or a single punctuation/symbol code point (ASCII
 * punctuation, Latin-1 signs, general punctuation U+2010..U+205E, CJK and
 * fullwidth punctuation, currency, arrows, maths, emoji, ...).  Combining
 * marks and invisible format characters (ZWJ, variation selectors) stay
 * with the token before them, and two rules keep together what readers
 * see as one word: an apostrophe (' or U+2019) between two letters
 * ("don't", "O'Neil's") and a '.' or ',' between two ASCII digits ("3.14",
 * "1,000"); "'quoted'" still gives "'" "quoted" "'".  Han ideographs and
 * kana, written without spaces, are a token each (as in CHAR mode);
 * Hangul keeps its words; other scripts written without spaces (Thai, Lao,
 * Khmer, Myanmar) are not segmented: a run of their letters is one token.
 *
 * Special tokens: <s>, </s> and <unk> are one token each in every mode,
 * wherever they start ("a<unk>." gives "a" "<unk>" "." in WORD mode), so
 * that PTB's <unk> and the <s> </s> of n-best lists read as the model's
 * specials whatever the tokenizer; with lowercase they are recognised in
 * any case ("<UNK>" is "<unk>").  Every program and the Python module
 * tokenize through this module, so the rule holds for all of them.
 *
 * lowercase: simple one-to-one mapping for ASCII, Latin-1, Latin
 * Extended-A, Greek, Cyrillic and Armenian; other code points unchanged.
 */
#ifndef NGLM_TOKENIZE_H
#define NGLM_TOKENIZE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "nglm/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum nglm_tok_mode {
    NGLM_TOK_SPACE = 0,
    NGLM_TOK_WORD = 1,
    NGLM_TOK_CHAR = 2
} nglm_tok_mode;

typedef struct nglm_tok_options {
    nglm_tok_mode mode;
    int lowercase;       /* lower-case (simple mapping, the scripts listed above) */
    int replace_invalid; /* invalid UTF-8 → U+FFFD instead of an error */
    int keep_blank;      /* a blank line is an empty sentence (n = 0) instead of
                          * none: how evaluation texts are read, so that a
                          * sentence is a line, as KenLM's query counts them;
                          * not part of a model's tokenization */
} nglm_tok_options;

/* Default options: SPACE mode, no lowercasing, invalid UTF-8 is an error,
 * blank lines passed over. */
nglm_tok_options nglm_tok_options_default(void);

/* Parses "space", "word" or "char". */
int nglm_tok_mode_parse(const char *name, nglm_tok_mode *mode, nglm_error *err);
const char *nglm_tok_mode_name(nglm_tok_mode mode);

/* The options as nglm-train's command line spells them, "--tokenize word
 * --lowercase" (buf holds n bytes; returns buf), and back: the options
 * named in any text s (defaults for those it does not name). */
const char *nglm_tok_options_spell(const nglm_tok_options *o, char *buf, size_t n);
nglm_tok_options nglm_tok_options_from_text(const char *s);

/* 1 if o is nglm_tok_options_default(). */
int nglm_tok_options_is_default(const nglm_tok_options *o);

typedef struct nglm_tokenizer nglm_tokenizer;

/* Opens path for reading ("-" means stdin).  Returns NULL and fills err on
 * failure (missing file, a directory, ...). */
nglm_tokenizer *nglm_tokenizer_open(const char *path, const nglm_tok_options *opt,
                                    nglm_error *err);

/* Wraps an already open stream (not closed by nglm_tokenizer_close); name is
 * used in error messages. */
nglm_tokenizer *nglm_tokenizer_from_stream(FILE *fp, const char *name,
                                           const nglm_tok_options *opt,
                                           nglm_error *err);

/* Reads the next non-blank sentence.  Returns 1 and sets *tokens to an array
 * of *n token strings (owned by the tokenizer, valid until the next call;
 * the array is also NULL-terminated), 0 at end of input, -1 on error (err
 * filled with "file:line: invalid UTF-8 at byte offset N (reason)" for
 * invalid UTF-8, N being the 0-based offset of the bad byte in the file, or
 * with the I/O error). */
int nglm_tokenizer_next(nglm_tokenizer *t, char ***tokens, size_t *n,
                        nglm_error *err);

/* 1-based number of the line last returned (0 before the first). */
size_t nglm_tokenizer_line(const nglm_tokenizer *t);

/* Bytes consumed so far (for progress reports). */
size_t nglm_tokenizer_bytes(const nglm_tokenizer *t);

void nglm_tokenizer_close(nglm_tokenizer *t);

/* Tokenizes one line held in memory (no newline expected, but a trailing
 * "\r\n" or "\n" is ignored).  Returns the number of tokens (>= 0), with
 * *tokens owned by the tokenizer object as above, or -1 on invalid input
 * (err: "invalid UTF-8 at byte offset N (reason)", N counted from line).
 * Used by the tokenizer above and by programs that score single sentences. */
int nglm_tokenizer_split(nglm_tokenizer *t, const char *line, size_t len,
                         char ***tokens, nglm_error *err);

/* Like nglm_tokenizer_split, for line lineno of the file `name`, the line
 * starting at byte file_off of the file: errors read as those of
 * nglm_tokenizer_next ("name:lineno: invalid UTF-8 at byte offset N ..."),
 * and a byte-order mark at file_off 0 is skipped as it does.  For readers
 * that split a file among threads. */
int nglm_tokenizer_split_at(nglm_tokenizer *t, const char *line, size_t len,
                            const char *name, size_t lineno, size_t file_off,
                            char ***tokens, nglm_error *err);

/* A tokenizer over no stream, for nglm_tokenizer_split only.  NULL only
 * when out of memory or opt->mode is not a valid mode. */
nglm_tokenizer *nglm_tokenizer_new(const nglm_tok_options *opt);

/* The UTF-8 primitives the tokenizer is built on. */

/* Decodes the code point at s[0..n), n >= 1: returns its length (1..4) and
 * sets *cp, or for invalid input (including NUL) returns minus the length
 * of the maximal invalid subpart (>= 1 byte) and points *why at a static
 * reason ("overlong encoding", "surrogate code point", "code point above
 * U+10FFFF", "truncated sequence", "unexpected continuation byte", "invalid
 * byte", "NUL byte"). */
int nglm_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp, const char **why);

/* Writes the valid code point cp as UTF-8 into out (room for 4 bytes);
 * returns the number of bytes written. */
size_t nglm_utf8_encode(uint32_t cp, char *out);

/* The lower-case mapping used by the lowercase option. */
uint32_t nglm_utf8_lower(uint32_t cp);

#ifdef __cplusplus
}
#endif
#endif
