/*
 * tokenize.c — text → sentences of tokens, UTF-8 aware (see
 * include/nglm/tokenize.h for the contract).
 *
 * Lines are read whole with getline(), so a line or a token may be of any
 * length.  Each line is decoded one code point at a time by a strict UTF-8
 * decoder (no overlongs, no surrogates, nothing above U+10FFFF, no NUL) and
 * the code points are grouped into tokens according to the mode.  Token text
 * is appended to one growing buffer, NUL-separated; offsets rather than
 * pointers are recorded while the buffer may still move, and turned into the
 * char * array only when the line is done.
 *
 * The character classes used by WORD mode come from a compact table of the
 * punctuation, symbol, space and combining-mark ranges of the major scripts;
 * every code point not listed counts as a word character.  This keeps the
 * letters and digits of any script (listed or not) together, which is the
 * safe default for a language model, and splits only what we know to be
 * punctuation or symbols.
 */
#include "nglm/tokenize.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "fileio.h"
#include "nglm/nglm.h" /* the spellings of the special tokens */

struct nglm_tokenizer {
    nglm_tok_options opt;
    FILE *fp;          /* NULL for nglm_tokenizer_new */
    int owns_fp;
    char *name;        /* for error messages */
    char *line;        /* getline buffer */
    size_t line_cap;
    size_t lineno;     /* 1-based number of the line last read */
    size_t bytes;      /* bytes consumed from the stream */
    char *buf;         /* token text, NUL-separated */
    size_t buf_len, buf_cap;
    size_t *offs;      /* start of each token in buf */
    char **toks;       /* n_toks pointers into buf, then NULL */
    size_t n_toks, toks_cap;
};

/* ------------------------------------------------------------------ options */

nglm_tok_options nglm_tok_options_default(void)
{
    nglm_tok_options o = { NGLM_TOK_SPACE, 0, 0, 0 };
    return o;
}

static const char *const tok_mode_names[] = { "space", "word", "char" };

int nglm_tok_mode_parse(const char *name, nglm_tok_mode *mode, nglm_error *err)
{
    for (int m = 0; m < 3; m++) {
        if (name && strcmp(name, tok_mode_names[m]) == 0) {
            *mode = (nglm_tok_mode)m;
            return 0;
        }
    }
    return nglm_error_set(err, "unknown tokenizer mode '%s' (expected space, word or char)",
                          name ? name : "(null)");
}

const char *nglm_tok_mode_name(nglm_tok_mode mode)
{
    if ((int)mode >= 0 && (int)mode < 3)
        return tok_mode_names[mode];
    return "unknown";
}

const char *nglm_tok_options_spell(const nglm_tok_options *o, char *buf, size_t n)
{
    snprintf(buf, n, "--tokenize %s%s%s", nglm_tok_mode_name(o->mode),
             o->lowercase ? " --lowercase" : "", o->replace_invalid ? " --replace-invalid" : "");
    return buf;
}

nglm_tok_options nglm_tok_options_from_text(const char *s)
{
    nglm_tok_options o = nglm_tok_options_default();
    const char *p = strstr(s, "--tokenize ");
    for (int m = 0; p && m < 3; m++) {
        size_t len = strlen(tok_mode_names[m]);
        if (strncmp(p + 11, tok_mode_names[m], len) == 0 &&
            (p[11 + len] == '\0' || p[11 + len] == ' ' || p[11 + len] == ')'))
            o.mode = (nglm_tok_mode)m;
    }
    o.lowercase = strstr(s, "--lowercase") != NULL;
    o.replace_invalid = strstr(s, "--replace-invalid") != NULL;
    return o;
}

int nglm_tok_options_is_default(const nglm_tok_options *o)
{
    return o->mode == NGLM_TOK_SPACE && !o->lowercase && !o->replace_invalid;
}

/* ------------------------------------------------------------------ UTF-8 */

/* Decodes the code point at s[0..n), n >= 1.  Returns its length (1..4) and
 * sets *cp; or, for invalid input, returns minus the length of the maximal
 * invalid subpart (the lead byte plus the continuation bytes that still
 * formed a valid prefix, at least 1 byte — the unit that becomes one U+FFFD,
 * as in the Unicode standard's recommended practice) and sets *why. */
int nglm_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp, const char **why)
{
    unsigned c = s[0];
    if (c < 0x80) {
        if (c == 0) {
            *why = "NUL byte";
            return -1;
        }
        *cp = c;
        return 1;
    }
    if (c < 0xC0) {
        *why = "unexpected continuation byte";
        return -1;
    }
    if (c < 0xC2) {
        *why = "overlong encoding";
        return -1;
    }
    if (c > 0xF4) {
        *why = c < 0xF8 ? "code point above U+10FFFF" : "invalid byte";
        return -1;
    }
    int need;
    uint32_t v;
    unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    const char *second_why = "truncated sequence";
    if (c < 0xE0) {
        need = 1;
        v = c & 0x1F;
    } else if (c < 0xF0) {
        need = 2;
        v = c & 0x0F;
        if (c == 0xE0) {
            lo = 0xA0;
            second_why = "overlong encoding";
        } else if (c == 0xED) {
            hi = 0x9F;
            second_why = "surrogate code point";
        }
    } else {
        need = 3;
        v = c & 0x07;
        if (c == 0xF0) {
            lo = 0x90;
            second_why = "overlong encoding";
        } else if (c == 0xF4) {
            hi = 0x8F;
            second_why = "code point above U+10FFFF";
        }
    }
    for (int i = 1; i <= need; i++) {
        if ((size_t)i >= n) {
            *why = "truncated sequence";
            return -i;
        }
        unsigned b = s[i];
        if (i == 1 && b >= 0x80 && b <= 0xBF && (b < lo || b > hi)) {
            *why = second_why;
            return -1;
        }
        if (b < 0x80 || b > 0xBF) {
            *why = "truncated sequence";
            return -i;
        }
        v = (v << 6) | (b & 0x3F);
    }
    *cp = v;
    return need + 1;
}

/* Writes cp as UTF-8 to out (room for 4 bytes); returns the length. */
size_t nglm_utf8_encode(uint32_t cp, char *out)
{
    unsigned char *o = (unsigned char *)out;
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* ------------------------------------------------------------------ classes */

/* TC_IDEO: a character of a script written without spaces whose
 * characters are its units (Han ideographs, kana): a token each in WORD
 * mode, with the marks after it, as in CHAR mode. */
enum { TC_WORD = 0, TC_PUNCT, TC_SPACE, TC_MARK, TC_IDEO };

typedef struct tok_range {
    uint32_t lo, hi;
    unsigned char cls;
} tok_range;

/* Non-ASCII ranges that are not word characters, sorted and disjoint.
 * TC_MARK covers combining marks and invisible format characters (ZWJ,
 * variation selectors, ...): they stick to the token before them. */
static const tok_range tok_ranges[] = {
    { 0x0080, 0x0084, TC_PUNCT }, /* C1 controls */
    { 0x0085, 0x0085, TC_SPACE }, /* NEL */
    { 0x0086, 0x009F, TC_PUNCT },
    { 0x00A0, 0x00A0, TC_SPACE }, /* NO-BREAK SPACE */
    { 0x00A1, 0x00A9, TC_PUNCT }, /* ¡ ¢ £ ¤ ¥ ¦ § ¨ © */
    { 0x00AB, 0x00AC, TC_PUNCT }, /* « ¬ */
    { 0x00AD, 0x00AD, TC_MARK },  /* soft hyphen */
    { 0x00AE, 0x00B1, TC_PUNCT }, /* ® ¯ ° ± */
    { 0x00B4, 0x00B4, TC_PUNCT },
    { 0x00B6, 0x00B8, TC_PUNCT }, /* ¶ · ¸ */
    { 0x00BB, 0x00BB, TC_PUNCT },
    { 0x00BF, 0x00BF, TC_PUNCT },
    { 0x00D7, 0x00D7, TC_PUNCT }, /* × */
    { 0x00F7, 0x00F7, TC_PUNCT }, /* ÷ */
    { 0x0300, 0x036F, TC_MARK },  /* combining diacritical marks */
    { 0x037E, 0x037E, TC_PUNCT }, /* Greek question mark */
    { 0x0387, 0x0387, TC_PUNCT }, /* Greek ano teleia */
    { 0x0483, 0x0489, TC_MARK },  /* Cyrillic combining marks */
    { 0x055A, 0x055F, TC_PUNCT }, /* Armenian punctuation */
    { 0x0589, 0x058A, TC_PUNCT },
    { 0x0591, 0x05BD, TC_MARK },  /* Hebrew points */
    { 0x05BE, 0x05BE, TC_PUNCT }, /* maqaf */
    { 0x05BF, 0x05BF, TC_MARK },
    { 0x05C0, 0x05C0, TC_PUNCT },
    { 0x05C1, 0x05C2, TC_MARK },
    { 0x05C3, 0x05C3, TC_PUNCT },
    { 0x05C4, 0x05C5, TC_MARK },
    { 0x05C6, 0x05C6, TC_PUNCT },
    { 0x05C7, 0x05C7, TC_MARK },
    { 0x05F3, 0x05F4, TC_PUNCT }, /* geresh, gershayim */
    { 0x0609, 0x060D, TC_PUNCT }, /* Arabic comma etc. */
    { 0x0610, 0x061A, TC_MARK },
    { 0x061B, 0x061B, TC_PUNCT },
    { 0x061D, 0x061F, TC_PUNCT },
    { 0x064B, 0x065F, TC_MARK },  /* harakat */
    { 0x066A, 0x066D, TC_PUNCT },
    { 0x0670, 0x0670, TC_MARK },
    { 0x06D4, 0x06D4, TC_PUNCT }, /* Arabic full stop */
    { 0x06D6, 0x06DC, TC_MARK },
    { 0x06DF, 0x06E4, TC_MARK },
    { 0x06E7, 0x06E8, TC_MARK },
    { 0x06EA, 0x06ED, TC_MARK },
    { 0x0964, 0x0965, TC_PUNCT }, /* danda, double danda */
    { 0x0970, 0x0970, TC_PUNCT },
    { 0x0E3F, 0x0E3F, TC_PUNCT }, /* Thai baht */
    { 0x0E4F, 0x0E4F, TC_PUNCT },
    { 0x0E5A, 0x0E5B, TC_PUNCT },
    { 0x1680, 0x1680, TC_SPACE }, /* Ogham space */
    { 0x1AB0, 0x1AFF, TC_MARK },  /* combining marks extended */
    { 0x1DC0, 0x1DFF, TC_MARK },  /* combining marks supplement */
    { 0x2000, 0x200A, TC_SPACE }, /* en quad .. hair space */
    { 0x200B, 0x200F, TC_MARK },  /* ZWSP, ZWNJ, ZWJ, LRM, RLM */
    { 0x2010, 0x2027, TC_PUNCT }, /* dashes, quotes, bullets, ellipsis */
    { 0x2028, 0x2029, TC_SPACE }, /* line/paragraph separator */
    { 0x202A, 0x202E, TC_MARK },  /* bidi controls */
    { 0x202F, 0x202F, TC_SPACE }, /* narrow no-break space */
    { 0x2030, 0x205E, TC_PUNCT }, /* per mille .. */
    { 0x205F, 0x205F, TC_SPACE }, /* medium mathematical space */
    { 0x2060, 0x206F, TC_MARK },  /* word joiner, invisible operators */
    { 0x20A0, 0x20CF, TC_PUNCT }, /* currency symbols */
    { 0x20D0, 0x20FF, TC_MARK },  /* combining marks for symbols */
    { 0x2190, 0x2BFF, TC_PUNCT }, /* arrows, maths, technical, shapes, dingbats */
    { 0x2E00, 0x2E7F, TC_PUNCT }, /* supplemental punctuation */
    { 0x3000, 0x3000, TC_SPACE }, /* ideographic space */
    { 0x3001, 0x3003, TC_PUNCT }, /* 、 。 〃 */
    { 0x3008, 0x3020, TC_PUNCT }, /* CJK brackets 〈 〉 「 」 ... */
    { 0x302A, 0x302F, TC_MARK },
    { 0x3030, 0x3030, TC_PUNCT },
    { 0x303D, 0x303D, TC_PUNCT },
    { 0x3041, 0x3096, TC_IDEO },  /* hiragana */
    { 0x3099, 0x309A, TC_MARK },  /* combining kana voicing marks */
    { 0x309B, 0x309C, TC_MARK },  /* spacing voicing marks, with their kana */
    { 0x309D, 0x309F, TC_IDEO },  /* hiragana iteration marks, digraph */
    { 0x30A0, 0x30A0, TC_PUNCT },
    { 0x30A1, 0x30FA, TC_IDEO },  /* katakana */
    { 0x30FB, 0x30FB, TC_PUNCT }, /* katakana middle dot */
    { 0x30FC, 0x30FF, TC_IDEO },  /* prolonged sound mark, iteration marks */
    { 0x31F0, 0x31FF, TC_IDEO },  /* katakana phonetic extensions */
    { 0x3400, 0x4DBF, TC_IDEO },  /* CJK ideographs, extension A */
    { 0x4E00, 0x9FFF, TC_IDEO },  /* CJK unified ideographs */
    { 0xF900, 0xFAFF, TC_IDEO },  /* CJK compatibility ideographs */
    { 0xFD3E, 0xFD3F, TC_PUNCT },
    { 0xFE00, 0xFE0F, TC_MARK },  /* variation selectors */
    { 0xFE10, 0xFE19, TC_PUNCT }, /* vertical forms */
    { 0xFE20, 0xFE2F, TC_MARK },  /* combining half marks */
    { 0xFE30, 0xFE4F, TC_PUNCT }, /* CJK compatibility forms */
    { 0xFE50, 0xFE6B, TC_PUNCT }, /* small form variants */
    { 0xFEFF, 0xFEFF, TC_MARK },  /* zero width no-break space / BOM */
    { 0xFF01, 0xFF0F, TC_PUNCT }, /* fullwidth ！ ＂ ... ／ */
    { 0xFF1A, 0xFF20, TC_PUNCT }, /* fullwidth ： ； ... ＠ */
    { 0xFF3B, 0xFF40, TC_PUNCT },
    { 0xFF5B, 0xFF65, TC_PUNCT },
    { 0xFF66, 0xFF9D, TC_IDEO },  /* halfwidth katakana */
    { 0xFF9E, 0xFF9F, TC_MARK },  /* halfwidth voicing marks */
    { 0xFFE0, 0xFFEE, TC_PUNCT },
    { 0x1F000, 0x1F3FA, TC_PUNCT }, /* game symbols, emoji, pictographs */
    { 0x1F3FB, 0x1F3FF, TC_MARK },  /* emoji skin-tone modifiers */
    { 0x1F400, 0x1FAFF, TC_PUNCT },
    { 0x20000, 0x3134F, TC_IDEO },  /* CJK ideographs, extensions B..G */
    { 0xE0000, 0xE007F, TC_MARK },  /* tags */
    { 0xE0100, 0xE01EF, TC_MARK },  /* variation selectors supplement */
};

static int tok_class(uint32_t cp)
{
    if (cp < 0x80) {
        if (cp == ' ' || (cp >= 0x09 && cp <= 0x0D))
            return TC_SPACE;
        if ((cp >= '0' && cp <= '9') || ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z'))
            return TC_WORD;
        return TC_PUNCT; /* ASCII punctuation and control characters */
    }
    size_t lo = 0, hi = sizeof tok_ranges / sizeof tok_ranges[0];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < tok_ranges[mid].lo)
            hi = mid;
        else if (cp > tok_ranges[mid].hi)
            lo = mid + 1;
        else
            return tok_ranges[mid].cls;
    }
    return TC_WORD;
}

static int is_ascii_digit(uint32_t cp) { return cp >= '0' && cp <= '9'; }

/* A letter for the apostrophe rule: a word character that is not a digit. */
static int is_letter(uint32_t cp) { return tok_class(cp) == TC_WORD && !is_ascii_digit(cp); }

/* WORD mode keeps inside a word an apostrophe (' or U+2019) between two
 * letters ("don't", "O'Neil") and a '.' or ',' between two digits ("3.5",
 * "1,000"); next[0..n) is the text after cp. */
static int glued(uint32_t prev, uint32_t cp, const unsigned char *next, size_t n)
{
    uint32_t nx = 0;
    const char *why;
    if (n == 0 || nglm_utf8_decode(next, n, &nx, &why) < 0)
        return 0;
    if (cp == '\'' || cp == 0x2019)
        return is_letter(prev) && is_letter(nx);
    if (cp == '.' || cp == ',')
        return is_ascii_digit(prev) && is_ascii_digit(nx);
    return 0;
}

/* Whether cp is whitespace (the Unicode White_Space set, all modes). */
static int tok_is_space(uint32_t cp)
{
    if (cp < 0x80)
        return cp == ' ' || (cp >= 0x09 && cp <= 0x0D);
    if (cp < 0x85 || (cp > 0xA0 && cp < 0x1680))
        return 0;
    return tok_class(cp) == TC_SPACE;
}

/* Simple lower-case mapping for ASCII, Latin-1, Latin Extended-A, Greek,
 * Cyrillic and Armenian; other code points are returned unchanged. */
uint32_t nglm_utf8_lower(uint32_t cp)
{
    if (cp < 0x80)
        return (cp >= 'A' && cp <= 'Z') ? cp + 0x20 : cp;
    if (cp < 0x100)
        return (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) ? cp + 0x20 : cp;
    if (cp < 0x180) { /* Latin Extended-A: mostly upper/lower pairs */
        if (cp == 0x130)
            return 'i'; /* İ */
        if (cp == 0x178)
            return 0xFF; /* Ÿ */
        if ((cp >= 0x100 && cp <= 0x137) || (cp >= 0x14A && cp <= 0x177))
            return (cp & 1) ? cp : cp + 1;
        if ((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E))
            return (cp & 1) ? cp + 1 : cp;
        return cp;
    }
    if (cp >= 0x370 && cp < 0x400) { /* Greek */
        if ((cp >= 0x391 && cp <= 0x3A1) || (cp >= 0x3A3 && cp <= 0x3AB))
            return cp + 0x20;
        if (cp == 0x386)
            return 0x3AC;
        if (cp >= 0x388 && cp <= 0x38A)
            return cp + 0x25;
        if (cp == 0x38C)
            return 0x3CC;
        if (cp == 0x38E || cp == 0x38F)
            return cp + 0x3F;
        return cp;
    }
    if (cp >= 0x400 && cp < 0x530) { /* Cyrillic and Cyrillic Supplement */
        if (cp <= 0x40F)
            return cp + 0x50;
        if (cp <= 0x42F)
            return cp + 0x20;
        if ((cp >= 0x460 && cp <= 0x481) || (cp >= 0x48A && cp <= 0x4BF) ||
            (cp >= 0x4D0 && cp <= 0x52F))
            return (cp & 1) ? cp : cp + 1;
        if (cp == 0x4C0)
            return 0x4CF;
        if (cp >= 0x4C1 && cp <= 0x4CE)
            return (cp & 1) ? cp + 1 : cp;
        return cp;
    }
    if (cp >= 0x531 && cp <= 0x556) /* Armenian */
        return cp + 0x30;
    return cp;
}

/* ------------------------------------------------------------------ buffers */

static int tok_reserve(nglm_tokenizer *t, size_t extra, nglm_error *err)
{
    if (t->buf_cap - t->buf_len >= extra)
        return 0;
    size_t cap = t->buf_cap ? t->buf_cap : 256;
    while (cap - t->buf_len < extra) {
        if (cap > SIZE_MAX / 2)
            return nglm_error_set(err, "tokenizer: line too long");
        cap *= 2;
    }
    char *b = realloc(t->buf, cap);
    if (!b)
        return nglm_error_set(err, "tokenizer: out of memory (%zu bytes)", cap);
    t->buf = b;
    t->buf_cap = cap;
    return 0;
}

/* Makes room for one more token and the NULL after the last one. */
static int tok_grow(nglm_tokenizer *t, nglm_error *err)
{
    if (t->n_toks + 1 >= t->toks_cap) {
        size_t cap = t->toks_cap ? 2 * t->toks_cap : 64;
        size_t *o = realloc(t->offs, cap * sizeof *o);
        if (!o)
            return nglm_error_set(err, "tokenizer: out of memory");
        t->offs = o;
        char **p = realloc(t->toks, cap * sizeof *p);
        if (!p)
            return nglm_error_set(err, "tokenizer: out of memory");
        t->toks = p;
        t->toks_cap = cap;
    }
    return 0;
}

/* Starts a new token at the end of buf. */
static int tok_begin(nglm_tokenizer *t, nglm_error *err)
{
    if (tok_grow(t, err) < 0)
        return -1;
    t->offs[t->n_toks++] = t->buf_len;
    return 0;
}

/* Ends the open token with a NUL. */
static int tok_end(nglm_tokenizer *t, nglm_error *err)
{
    if (tok_reserve(t, 1, err) < 0)
        return -1;
    t->buf[t->buf_len++] = '\0';
    return 0;
}

/* ------------------------------------------------------------------ specials */

/* The longest markup tag: '<' or '[', an optional '/', a name, '>' or ']'. */
#define TAG_MAX 64

/* A markup tag such as <doc>, </doc>, <sil> or [noise] (the tokens a
 * vocabulary file declares for what is not a word, in SGML's and in
 * speech transcripts' brackets) as a whole token of its own, delimited by
 * white space or the line's ends: '<' or '[', an optional '/', then ASCII
 * letters, digits and "_-.:" (at least one), then the matching '>' or ']'.
 * Returns its length, 0 if s[0..n) does not start with one. */
static size_t tag_at(const unsigned char *s, size_t n)
{
    const unsigned char close = s[0] == '<' ? '>' : ']';
    size_t j = 1;
    if (j < n && s[j] == '/')
        j++;
    size_t name = j;
    while (j < n && j < TAG_MAX && s[j] < 0x80 &&
           (isalnum(s[j]) || s[j] == '_' || s[j] == '-' || s[j] == '.' || s[j] == ':'))
        j++;
    if (j == name || j >= n || s[j] != close)
        return 0;
    j++;
    return j == n || s[j] == ' ' || s[j] == '\t' || s[j] == '\r' || s[j] == '\n' ? j : 0;
}

/* The special tokens <s>, </s> and <unk> are one token in every mode: WORD
 * and CHAR mode would otherwise split them at '<', '/' and '>' (the PTB text
 * writes its unknown words as <unk>, and n-best lists and hand-written
 * tests write <s> and </s>).  They are recognised wherever they start, as
 * written, or in any case when lowercasing (as SPACE mode's lowercasing
 * maps <UNK> to <unk>).  So is a markup tag that stands alone (tag_at,
 * after white space or at the line's start: at_start), lower-cased with the
 * rest of the text (*canon NULL: the bytes as they are).  Returns the
 * length of the special token at s[0..n), and its spelling in *canon; 0 if
 * none starts there. */
static size_t special_at(const unsigned char *s, size_t n, int lower, int at_start,
                         const char **canon)
{
    static const char *const specials[] = { NGLM_BOS_STR, NGLM_EOS_STR, NGLM_UNK_STR };
    if (n < 3 || (s[0] != '<' && s[0] != '['))
        return 0;
    for (size_t k = 0; s[0] == '<' && k < sizeof specials / sizeof specials[0]; k++) {
        size_t len = strlen(specials[k]);
        if (len > n)
            continue;
        size_t j = 0;
        while (j < len && (s[j] == (unsigned char)specials[k][j] ||
                           (lower && s[j] >= 'A' && s[j] <= 'Z' &&
                            s[j] + 0x20 == (unsigned char)specials[k][j])))
            j++;
        if (j == len) {
            *canon = specials[k];
            return len;
        }
    }
    *canon = NULL;
    return at_start ? tag_at(s, n) : 0;
}

/* ------------------------------------------------------------------ split */

/* Tokenizes s[0..len) into t->toks.  file_off is the byte offset of s[0] in
 * the input and lineno the line number, both for error messages; name NULL
 * means an in-memory line (offsets are then relative to the line). */
static int tok_split(nglm_tokenizer *t, const unsigned char *s, size_t len,
                     size_t file_off, const char *name, size_t lineno, nglm_error *err)
{
    const nglm_tok_mode mode = t->opt.mode;
    const int lower = t->opt.lowercase;
    enum { NONE, OPEN_WORD, OPEN_PUNCT } open = NONE;
    uint32_t prev = 0; /* the last code point that was not a mark */
    t->buf_len = 0;
    t->n_toks = 0;
    if (tok_reserve(t, len + 1, err) < 0 || tok_grow(t, err) < 0)
        return -1;

    size_t i = 0;
    while (i < len) {
        uint32_t cp = s[i];
        int k = 1, replaced = 0;
        const char *canon;
        size_t sp;
        if ((cp == '<' || cp == '[') && mode != NGLM_TOK_SPACE &&
            (sp = special_at(s + i, len - i, lower,
                             i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t', &canon))) {
            if (open != NONE && tok_end(t, err) < 0)
                return -1;
            if (tok_begin(t, err) < 0 || tok_reserve(t, sp + 1, err) < 0)
                return -1;
            for (size_t j = 0; j < sp; j++) /* a tag's letters are ASCII */
                t->buf[t->buf_len + j] = canon ? (unsigned char)canon[j]
                                       : lower ? (unsigned char)tolower(s[i + j]) : s[i + j];
            t->buf_len += sp;
            if (tok_end(t, err) < 0)
                return -1;
            open = NONE;
            prev = '>';
            i += sp;
            continue;
        }
        if (cp - 1u >= 0x7Fu) { /* NUL or non-ASCII */
            const char *why = NULL;
            k = nglm_utf8_decode(s + i, len - i, &cp, &why);
            if (k < 0) {
                if (!t->opt.replace_invalid) {
                    if (name)
                        return nglm_error_set(err, "%s:%zu: invalid UTF-8 at byte offset %zu (%s)",
                                              name, lineno, file_off + i, why);
                    return nglm_error_set(err, "invalid UTF-8 at byte offset %zu (%s)",
                                          file_off + i, why);
                }
                k = -k;
                cp = 0xFFFD;
                replaced = 1;
            }
        }

        int cls;
        if (mode == NGLM_TOK_WORD) {
            cls = tok_class(cp);
            if (cls == TC_PUNCT && open == OPEN_WORD && glued(prev, cp, s + i + k, len - i - k))
                cls = TC_WORD;
        } else {
            cls = tok_is_space(cp) ? TC_SPACE : TC_WORD;
        }

        if (cls == TC_SPACE) {
            if (open != NONE && tok_end(t, err) < 0)
                return -1;
            open = NONE;
            i += (size_t)k;
            continue;
        }
        if (mode == NGLM_TOK_SPACE) {
            if (open == NONE && tok_begin(t, err) < 0)
                return -1;
            open = OPEN_WORD;
        } else if (mode == NGLM_TOK_CHAR) {
            if (open != NONE && tok_end(t, err) < 0)
                return -1;
            if (tok_begin(t, err) < 0)
                return -1;
            open = OPEN_WORD;
        } else if (cls == TC_MARK) { /* WORD mode: marks stick to what precedes */
            if (open == NONE) {
                if (tok_begin(t, err) < 0)
                    return -1;
                open = OPEN_WORD;
            }
        } else if (cls == TC_WORD) {
            if (open != OPEN_WORD) {
                if (open != NONE && tok_end(t, err) < 0)
                    return -1;
                if (tok_begin(t, err) < 0)
                    return -1;
                open = OPEN_WORD;
            }
        } else { /* punctuation or an ideograph: a token of its own (plus the
                  * marks that follow) */
            if (open != NONE && tok_end(t, err) < 0)
                return -1;
            if (tok_begin(t, err) < 0)
                return -1;
            open = OPEN_PUNCT;
        }

        if (cls != TC_MARK)
            prev = cp;
        uint32_t out = lower ? nglm_utf8_lower(cp) : cp;
        if (tok_reserve(t, 4, err) < 0)
            return -1;
        if (out == cp && !replaced) {
            memcpy(t->buf + t->buf_len, s + i, (size_t)k);
            t->buf_len += (size_t)k;
        } else {
            t->buf_len += nglm_utf8_encode(out, t->buf + t->buf_len);
        }
        i += (size_t)k;
    }
    if (open != NONE && tok_end(t, err) < 0)
        return -1;
    for (size_t j = 0; j < t->n_toks; j++)
        t->toks[j] = t->buf + t->offs[j];
    t->toks[t->n_toks] = NULL;
    return 0;
}

/* ------------------------------------------------------------------ objects */

static nglm_tokenizer *tok_alloc(const nglm_tok_options *opt, nglm_error *err)
{
    nglm_tokenizer *t = calloc(1, sizeof *t);
    if (!t) {
        nglm_error_set(err, "tokenizer: out of memory");
        return NULL;
    }
    t->opt = opt ? *opt : nglm_tok_options_default();
    if ((int)t->opt.mode < 0 || (int)t->opt.mode > 2) {
        nglm_error_set(err, "tokenizer: invalid mode %d", (int)t->opt.mode);
        free(t);
        return NULL;
    }
    return t;
}

nglm_tokenizer *nglm_tokenizer_new(const nglm_tok_options *opt)
{
    return tok_alloc(opt, NULL);
}

nglm_tokenizer *nglm_tokenizer_from_stream(FILE *fp, const char *name,
                                           const nglm_tok_options *opt,
                                           nglm_error *err)
{
    nglm_tokenizer *t = tok_alloc(opt, err);
    if (!t)
        return NULL;
    t->fp = fp;
    t->name = strdup(name ? name : "(stream)");
    if (!t->name) {
        free(t);
        nglm_error_set(err, "tokenizer: out of memory");
        return NULL;
    }
    return t;
}

nglm_tokenizer *nglm_tokenizer_open(const char *path, const nglm_tok_options *opt,
                                    nglm_error *err)
{
    if (strcmp(path, "-") == 0)
        return nglm_tokenizer_from_stream(stdin, "<stdin>", opt, err);
    if (nglm_io_refuse_gzip(path, err) != 0)
        return NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        nglm_error_errno(err, errno, "%s", path);
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(fp);
        nglm_error_set(err, "%s: is a directory", path);
        return NULL;
    }
    nglm_tokenizer *t = nglm_tokenizer_from_stream(fp, path, opt, err);
    if (!t) {
        fclose(fp);
        return NULL;
    }
    t->owns_fp = 1;
    return t;
}

/* tok_split of a line that starts at byte off of a file: a byte-order
 * mark at the very start of the input is not text. */
static int split_file_line(nglm_tokenizer *t, const unsigned char *s, size_t len, size_t off,
                           const char *name, size_t lineno, nglm_error *err)
{
    size_t skip = off == 0 && len >= 3 && s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF ? 3 : 0;
    return tok_split(t, s + skip, len - skip, off + skip, name, lineno, err);
}

int nglm_tokenizer_next(nglm_tokenizer *t, char ***tokens, size_t *n, nglm_error *err)
{
    if (!t->fp)
        return nglm_error_set(err, "tokenizer: no input stream");
    for (;;) {
        errno = 0;
        ssize_t got = getline(&t->line, &t->line_cap, t->fp);
        if (got < 0) {
            if (ferror(t->fp))
                return nglm_error_errno(err, errno ? errno : EIO, "%s:%zu: read error",
                                        t->name, t->lineno + 1);
            *tokens = NULL;
            *n = 0;
            return 0;
        }
        size_t off = t->bytes;
        t->bytes += (size_t)got;
        t->lineno++;
        if (split_file_line(t, (const unsigned char *)t->line, (size_t)got, off, t->name,
                            t->lineno, err) < 0)
            return -1;
        if (t->n_toks > 0 || t->opt.keep_blank) {
            *tokens = t->toks;
            *n = t->n_toks;
            return 1;
        }
    }
}

size_t nglm_tokenizer_line(const nglm_tokenizer *t) { return t->lineno; }

size_t nglm_tokenizer_bytes(const nglm_tokenizer *t) { return t->bytes; }

void nglm_tokenizer_close(nglm_tokenizer *t)
{
    if (!t)
        return;
    if (t->owns_fp)
        fclose(t->fp);
    free(t->name);
    free(t->line);
    free(t->buf);
    free(t->offs);
    free(t->toks);
    free(t);
}

int nglm_tokenizer_split(nglm_tokenizer *t, const char *line, size_t len,
                         char ***tokens, nglm_error *err)
{
    if (tok_split(t, (const unsigned char *)line, len, 0, NULL, 0, err) < 0)
        return -1;
    if (t->n_toks > INT_MAX)
        return nglm_error_set(err, "tokenizer: too many tokens in one line (%zu)", t->n_toks);
    *tokens = t->toks;
    return (int)t->n_toks;
}

int nglm_tokenizer_split_at(nglm_tokenizer *t, const char *line, size_t len,
                            const char *name, size_t lineno, size_t file_off,
                            char ***tokens, nglm_error *err)
{
    if (split_file_line(t, (const unsigned char *)line, len, file_off, name, lineno, err) < 0)
        return -1;
    if (t->n_toks > INT_MAX)
        return nglm_error_set(err, "tokenizer: too many tokens in one line (%zu)", t->n_toks);
    *tokens = t->toks;
    return (int)t->n_toks;
}
