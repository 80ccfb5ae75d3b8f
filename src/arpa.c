/*
 * arpa.c — reading ARPA back-off files (see nglm/arpa.h): a strict reader
 * and back-off scoring of any ARPA file.  Its exact conversion into an
 * nglm model is arpa_convert.c; writing is arpa_write.c.
 *
 * The reader keeps the n-grams as a trie in one hash table (arpa_impl.h).
 */
#include "nglm/arpa.h"
#include "nglm/path.h"
#include "nglm/tokenize.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "arpa_impl.h"
#include "hash.h"
#include "u64map.h"

/* ================================================================ reading */

/* Lines of a plain or gzip file (gzread is transparent for plain files). */
typedef struct arpa_in {
    gzFile gz;
    const char *path;
    unsigned char *buf;
    size_t buf_len, buf_pos;
    char *line;
    size_t line_cap;
    size_t lineno;
    size_t max_line; /* longer lines are an error; 0: no limit */
    int eof;
    int stream; /* a FIFO: read once, as it comes */
} arpa_in;

#define IN_CHUNK (1 << 18)

static int in_open(arpa_in *in, const char *path, nglm_error *err)
{
    memset(in, 0, sizeof *in);
    in->path = path;
    /* a regular file, or a FIFO read as a stream (nglm/path.h): never a
     * wait for a writer, nor a device read forever */
    size_t size;
    int fd = nglm_path_open_input(path, NGLM_PATH_STREAM, &size, &in->stream, err);
    if (fd < 0)
        return -1;
    in->buf = malloc(IN_CHUNK);
    in->line_cap = 256;
    in->line = malloc(in->line_cap);
    in->gz = in->buf && in->line ? gzdopen(fd, "rb") : NULL;
    if (!in->gz) {
        close(fd);
        free(in->buf);
        free(in->line);
        return nglm_error_set(err, "%s: out of memory", path);
    }
    gzbuffer(in->gz, 1 << 17);
    return 0;
}

static void in_close(arpa_in *in)
{
    if (in->gz)
        gzclose(in->gz);
    free(in->buf);
    free(in->line);
    memset(in, 0, sizeof *in);
}

/* Next line into in->line (NUL-terminated, line end and trailing blanks
 * removed): 1, or 0 at the end of the file, or -1 on error. */
static int in_next(arpa_in *in, nglm_error *err)
{
    size_t len = 0;
    int got_any = 0;
    for (;;) {
        if (in->buf_pos == in->buf_len) {
            if (in->eof)
                break;
            int n = gzread(in->gz, in->buf, IN_CHUNK);
            if (n < 0) {
                int e;
                const char *msg = gzerror(in->gz, &e);
                return nglm_error_set(err, "%s:%zu: read error: %s", in->path, in->lineno + 1,
                                      e == Z_ERRNO ? strerror(errno) : msg);
            }
            if (n == 0) {
                int e;
                const char *msg = gzerror(in->gz, &e);
                if (strncmp(msg, "<fd:", 4) == 0 && strstr(msg, ": "))
                    msg = strstr(msg, ": ") + 2; /* zlib names the descriptor, not the file */
                if (e != Z_OK)
                    return nglm_error_set(err, "%s:%zu: gzip data truncated or corrupt (%s)",
                                          in->path, in->lineno + 1, msg);
                in->eof = 1;
                break;
            }
            in->buf_len = (size_t)n;
            in->buf_pos = 0;
        }
        got_any = 1;
        unsigned char *p = in->buf + in->buf_pos;
        size_t avail = in->buf_len - in->buf_pos;
        unsigned char *nl = memchr(p, '\n', avail);
        size_t take = nl ? (size_t)(nl - p) : avail;
        if (in->max_line && len + take > in->max_line)
            return nglm_error_set(err, "%s:%zu: line too long", in->path, in->lineno + 1);
        if (len + take + 1 > in->line_cap) {
            size_t cap = in->line_cap;
            while (len + take + 1 > cap)
                cap *= 2;
            char *q = realloc(in->line, cap);
            if (!q)
                return nglm_error_set(err, "%s:%zu: out of memory for a long line", in->path,
                                      in->lineno + 1);
            in->line = q;
            in->line_cap = cap;
        }
        memcpy(in->line + len, p, take);
        len += take;
        in->buf_pos += take + (nl != NULL);
        if (nl)
            break;
    }
    if (!got_any)
        return 0;
    in->lineno++;
    if (in->stream && in->lineno == 1 && len >= 8 && memcmp(in->line, "NGLMMODL", 8) == 0)
        return nglm_error_set(err, "%s: an nglm model read from a pipe: a model file is "
                              "mapped, so give the file itself (only an ARPA file can be "
                              "read from a pipe)", in->path);
    if (memchr(in->line, '\0', len))
        return nglm_error_set(err, "%s:%zu: NUL byte (not a text file)", in->path, in->lineno);
    while (len > 0 && strchr(" \t\r\v\f", in->line[len - 1]))
        len--;
    in->line[len] = '\0';
    return 1;
}

static int is_blank(const char *s) { return s[strspn(s, " \t\r\v\f")] == '\0'; }

/* The common case of parse_log10, without strtod: [-+]D[.D] with at most
 * 15 digits.  The digits as an integer m < 2^53 and 10^k (k <= 22) are both
 * exact doubles, so m / 10^k is one correctly rounded division: the value
 * strtod gives.  Returns 0, or -1 for anything else (strtod decides). */
static int parse_decimal_fast(const char *s, double *v)
{
    static const double pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
    int neg = *s == '-';
    s += neg || *s == '+';
    uint64_t m = 0;
    int digits = 0, frac = -1;
    for (;; s++) {
        if (*s >= '0' && *s <= '9') {
            m = m * 10 + (uint64_t)(*s - '0');
            digits++;
            frac += frac >= 0;
        } else if (*s == '.' && frac < 0) {
            frac = 0;
        } else {
            break;
        }
    }
    if (*s != '\0' || digits == 0 || digits > 15 || frac == 0)
        return -1; /* "5." is left to strtod too */
    double x = (double)m / pow10[frac < 0 ? 0 : frac];
    *v = neg ? -x : x;
    return 0;
}

/* A log10 value: a decimal number, or -inf for probability zero. */
static int parse_log10(const char *s, double *v)
{
    if (parse_decimal_fast(s, v) == 0) {
        if (*v < -324) /* as below */
            *v = -INFINITY;
        return 0;
    }
    char *end;
    errno = 0;
    if (strpbrk(s, "xX"))
        return -1; /* a hexadecimal float (-0x1p1): not an ARPA number */
    double x = strtod(s, &end);
    if (end == s || *end != '\0' || isnan(x) || x == INFINITY)
        return -1;
    /* 10^x is 0 in a double below 10^-324: a zero probability, as -inf */
    *v = x < -324 ? -INFINITY : x;
    return 0;
}

/* Splits s in place into at most max fields; returns the number of fields
 * found, counting past max (so a caller can tell "too many"). */
static int split_fields(char *s, char **fields, int max)
{
    int n = 0;
    for (;;) {
        s += strspn(s, " \t\r\v\f");
        if (*s == '\0')
            return n;
        if (n < max)
            fields[n] = s;
        n++;
        s += strcspn(s, " \t\r\v\f");
        if (*s == '\0')
            return n;
        *s++ = '\0';
    }
}

/* "\k-grams:" → k, else 0. */
static int section_order(const char *s)
{
    if (s[0] != '\\' || s[1] < '1' || s[1] > '9')
        return 0;
    char *end;
    long k = strtol(s + 1, &end, 10);
    if (strcmp(end, "-grams:") != 0 || k > 1000000)
        return 0;
    return (int)k;
}

static int64_t node_new(nglm_arpa *a, double lp, double bow)
{
    if (a->n_node == a->cap_node) {
        size_t cap = a->cap_node ? 2 * a->cap_node : 1024;
        double *l = realloc(a->logp, cap * sizeof *l);
        if (l)
            a->logp = l;
        double *b = realloc(a->bow, cap * sizeof *b);
        if (b)
            a->bow = b;
        if (!l || !b || cap >= UINT32_MAX)
            return -1;
        a->cap_node = cap;
    }
    a->logp[a->n_node] = lp;
    a->bow[a->n_node] = bow;
    return (int64_t)a->n_node++;
}

/* The 1-grams, collected before ids are given (the specials have fixed
 * ids wherever they appear in the file). */
typedef struct uni_entry {
    char *word;
    double lp, bow;
    size_t line;
} uni_entry;

static int cmp_uni(const void *x, const void *y)
{
    const uni_entry *a = *(const uni_entry *const *)x, *b = *(const uni_entry *const *)y;
    int c = strcmp(a->word, b->word);
    return c ? c : (a->line > b->line) - (a->line < b->line);
}

/* The reader's word → id table, for the n-gram lines' words: open
 * addressing over 2V or more slots of (high 32 bits of the word's hash,
 * id + 1), checked against the vocabulary's word; one probe where the
 * vocabulary's own table (uthash, chained) took a fifth of the reading
 * time on the PTB 5-gram. */
static uint64_t word_hash(const char *w)
{
    uint64_t h = nglm_fnv1a(NGLM_FNV_OFFSET, w, strlen(w));
    return h ^ (h >> 29);
}

static int words_build(nglm_arpa *a)
{
    size_t cap = 64;
    while (cap < 2 * (size_t)a->V)
        cap *= 2;
    a->words = calloc(cap, sizeof *a->words);
    if (!a->words)
        return -1;
    a->words_mask = cap - 1;
    for (int32_t w = 0; w < a->V; w++) {
        uint64_t h = word_hash(nglm_vocab_word(a->vocab, w));
        size_t i = (size_t)h & a->words_mask;
        while (a->words[i])
            i = (i + 1) & a->words_mask;
        a->words[i] = (h >> 32 << 32) | ((uint64_t)w + 1);
    }
    return 0;
}

/* The id of word among the 1-grams, or -1 (as nglm_vocab_find). */
static int32_t arpa_word(const nglm_arpa *a, const char *word)
{
    uint64_t h = word_hash(word);
    for (size_t i = (size_t)h & a->words_mask;; i = (i + 1) & a->words_mask) {
        uint64_t e = a->words[i];
        if (!e)
            return -1;
        int32_t w = (int32_t)(uint32_t)e - 1;
        if (e >> 32 == h >> 32 && strcmp(nglm_vocab_word(a->vocab, w), word) == 0)
            return w;
    }
}

/* Gives ids to the 1-grams and makes them nodes 0 .. V-1. */
static int build_unigrams(nglm_arpa *a, uni_entry *u, size_t n, const char *path,
                          nglm_error *err)
{
    int rc = -1;
    uni_entry **sorted = malloc(n * sizeof *sorted);
    const char **words = malloc((n + NGLM_NUM_SPECIAL) * sizeof *words);
    int32_t *id = malloc(n * sizeof *id);
    if (!sorted || !words || !id) {
        nglm_error_set(err, "%s: out of memory for %zu 1-grams", path, n);
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        sorted[i] = &u[i];
    qsort(sorted, n, sizeof *sorted, cmp_uni);
    for (size_t i = 1; i < n; i++)
        if (strcmp(sorted[i]->word, sorted[i - 1]->word) == 0) {
            nglm_error_set(err, "%s:%zu: duplicate 1-gram '%s' (first on line %zu)", path,
                           sorted[i]->line, sorted[i]->word, sorted[i - 1]->line);
            goto out;
        }
    const char *special[NGLM_NUM_SPECIAL] = {NGLM_BOS_STR, NGLM_EOS_STR, NGLM_UNK_STR};
    size_t nw = NGLM_NUM_SPECIAL;
    for (int j = 0; j < NGLM_NUM_SPECIAL; j++)
        words[j] = special[j];
    for (size_t i = 0; i < n; i++) {
        id[i] = -1;
        for (int j = 0; j < NGLM_NUM_SPECIAL; j++)
            if (strcmp(u[i].word, special[j]) == 0)
                id[i] = j;
        if (id[i] < 0) {
            if (nw > INT32_MAX - 1) {
                nglm_error_set(err, "%s: too many 1-grams", path);
                goto out;
            }
            id[i] = (int32_t)nw;
            words[nw++] = u[i].word;
        }
    }
    a->vocab = nglm_vocab_from_list(words, NULL, nw, err);
    if (!a->vocab) {
        nglm_error_prefix(err, "%s", path);
        goto out;
    }
    a->V = (int32_t)nw;
    for (size_t w = 0; w < nw; w++)
        if (node_new(a, NAN, 0) < 0) {
            nglm_error_set(err, "%s: out of memory", path);
            goto out;
        }
    for (size_t i = 0; i < n; i++) {
        a->logp[id[i]] = u[i].lp;
        a->bow[id[i]] = u[i].bow;
    }
    a->has_unk = !isnan(a->logp[NGLM_UNK]);
    if (words_build(a) != 0) {
        nglm_error_set(err, "%s: out of memory", path);
        goto out;
    }
    rc = 0;
out:
    free(sorted);
    free(words);
    free(id);
    return rc;
}

/* Puts the prefixes of the k-gram ids[0..k) into the trie (as nodes
 * without a probability where they are not listed): nodes[j] gets the node
 * of ids[0..j], j < k - 1; the first `known` of them are there already (a
 * prefix shared with the line before: ARPA files list the n-grams of an
 * order grouped by their first words, so most lines need no lookup here).
 * The k-gram itself is put in by pending_flush. */
static int insert_prefix(nglm_arpa *a, const int32_t *ids, int k, int64_t *nodes, int known,
                         arpa_in *in, nglm_error *err)
{
    nodes[0] = ids[0];
    for (int j = known > 0 ? known : 1; j < k - 1; j++) {
        int64_t *slot = u64map_upsert(&a->child, PACK(nodes[j - 1], ids[j]), -1);
        if (!slot)
            return nglm_error_set(err, "%s:%zu: out of memory", in->path, in->lineno);
        if (*slot < 0 && (*slot = node_new(a, NAN, 0)) < 0)
            return nglm_error_set(err, "%s:%zu: out of memory (or too many n-grams)",
                                  in->path, in->lineno);
        nodes[j] = *slot;
    }
    return 0;
}

/* The k-grams whose last step into the trie waits for later lines: each
 * one's hash slot, a cache miss in a table far larger than the caches, is
 * prefetched when it is parsed and written PENDING lines later, so that the
 * misses overlap the parsing (they were most of the reading time).  They
 * are written in file order, so a duplicate is still found on its own line. */
#define PENDING 4

typedef struct arpa_pending_ngram {
    int k;
    int64_t node;   /* the node of its first k-1 words */
    int32_t word;   /* its last word */
    double lp, bow;
    size_t lineno;
} arpa_pending_ngram;

typedef struct arpa_pending {
    arpa_pending_ngram q[PENDING];
    size_t head, n; /* the oldest, and how many */
} arpa_pending;

/* Writes the oldest waiting k-gram into the trie. */
static int pending_pop(nglm_arpa *a, arpa_pending *p, const char *path, nglm_error *err)
{
    const arpa_pending_ngram *g = &p->q[p->head];
    p->head = (p->head + 1) % PENDING;
    p->n--;
    int64_t *slot = u64map_upsert(&a->child, PACK(g->node, g->word), -1);
    if (!slot)
        return nglm_error_set(err, "%s:%zu: out of memory", path, g->lineno);
    if (*slot >= 0)
        return nglm_error_set(err, "%s:%zu: duplicate %d-gram", path, g->lineno, g->k);
    if ((*slot = node_new(a, g->lp, g->bow)) < 0)
        return nglm_error_set(err, "%s:%zu: out of memory (or too many n-grams)", path,
                              g->lineno);
    return 0;
}

/* Queues a k-gram (writing the oldest when the queue is full). */
static int pending_push(nglm_arpa *a, arpa_pending *p, const arpa_pending_ngram *g,
                        const char *path, nglm_error *err)
{
    if (p->n == PENDING && pending_pop(a, p, path, err) != 0)
        return -1;
    uint64_t key = PACK(g->node, g->word);
    __builtin_prefetch(&a->child.e[u64map_hash(key) & (a->child.cap - 1)], 1);
    p->q[(p->head + p->n) % PENDING] = *g;
    p->n++;
    return 0;
}

/* Writes every waiting k-gram, oldest first. */
static int pending_flush(nglm_arpa *a, arpa_pending *p, const char *path, nglm_error *err)
{
    while (p->n > 0)
        if (pending_pop(a, p, path, err) != 0)
            return -1;
    return 0;
}

/* The previous line of a section: its words (copied: the line buffer is
 * reused), their ids and its prefixes' nodes, for insert_prefix. */
typedef struct arpa_prev {
    char *text;
    size_t cap;
    size_t off[NGLM_ARPA_MAX_ORDER];
    int32_t ids[NGLM_ARPA_MAX_ORDER];
    int64_t nodes[NGLM_ARPA_MAX_ORDER];
    int k;  /* 0: none yet in this section */
} arpa_prev;

/* How many of the first k-1 words of fields equal the previous line's. */
static int prev_shared(const arpa_prev *p, char **words, int k)
{
    int j = 0;
    while (j < k - 1 && j < p->k - 1 && strcmp(words[j], p->text + p->off[j]) == 0)
        j++;
    return j;
}

/* Keeps this line's words, ids and nodes as the previous line; -1 when out
 * of memory. */
static int prev_keep(arpa_prev *p, char **words, const int32_t *ids, const int64_t *nodes,
                     int k)
{
    size_t n = 0;
    for (int j = 0; j < k - 1; j++)
        n += strlen(words[j]) + 1;
    if (n > p->cap) {
        char *t = realloc(p->text, 2 * n);
        if (!t)
            return -1;
        p->text = t;
        p->cap = 2 * n;
    }
    n = 0;
    for (int j = 0; j < k - 1; j++) {
        size_t len = strlen(words[j]) + 1;
        memcpy(p->text + n, words[j], len);
        p->off[j] = n;
        p->ids[j] = ids[j];
        p->nodes[j] = nodes[j];
        n += len;
    }
    p->k = k;
    return 0;
}

/* Reads the next line that is not blank; 0 at the end of the file. */
static int next_nonblank(arpa_in *in, nglm_error *err)
{
    int r;
    while ((r = in_next(in, err)) == 1 && in->line[0] == '\0')
        ;
    return r;
}

/* Parses "ngram K=COUNT" (spaces around '=' allowed). */
static int parse_count_line(const char *s, int *k, uint64_t *count)
{
    if (strncmp(s, "ngram", 5) != 0 || !strchr(" \t", s[5]))
        return -1;
    s += 5;
    s += strspn(s, " \t");
    if (*s < '0' || *s > '9')
        return -1;
    char *end;
    errno = 0;
    long kk = strtol(s, &end, 10);
    s = end + strspn(end, " \t");
    if (*s != '=' || errno || kk < 1 || kk > 1000000)
        return -1;
    s++;
    s += strspn(s, " \t");
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long long c = strtoull(s, &end, 10);
    if (*end != '\0' || errno)
        return -1;
    *k = (int)kk;
    *count = c;
    return 0;
}

/* The parser proper; a is zeroed by the caller and freed on failure. */
/* The header: blank lines and '#' comments (nglm's says how the text is
 * tokenized: nglm_arpa_tok_comment), \data\ and its 'ngram K=COUNT' lines;
 * sizes the trie's table.  Leaves in->line at the first section's line. */
static int parse_header(nglm_arpa *a, arpa_in *in, nglm_error *err)
{
    const char *path = in->path;
    int r;
    a->tok = nglm_tok_options_default();
    while ((r = in_next(in, err)) == 1 && (in->line[0] == '\0' || in->line[0] == '#'))
        if (strncmp(in->line, "# nglm: the text is tokenized as ", 33) == 0)
            a->tok = nglm_tok_options_from_text(in->line);
    if (r < 0)
        return -1;
    if (r == 0 && in->lineno == 0 && in->stream)
        return nglm_error_set(err, "%s: a FIFO that gave nothing (no writer was there: "
                              "nglm does not wait for one): not an ARPA file", path);
    if (r == 0 && in->lineno == 0)
        return nglm_error_set(err, "%s: empty file: not an ARPA file", path);
    if (r == 0)
        return nglm_error_set(err, "%s:%zu: no \\data\\ line: not an ARPA file", path,
                              in->lineno);
    if (strcmp(in->line, "\\data\\") != 0)
        return nglm_error_set(err, "%s:%zu: expected \\data\\: not an ARPA file", path,
                              in->lineno);
    for (;;) {
        r = next_nonblank(in, err);
        if (r < 0)
            return -1;
        if (r == 0)
            return nglm_error_set(err, "%s:%zu: unexpected end of file in the \\data\\ "
                                       "header (truncated file?)", path, in->lineno);
        if (in->line[0] == '\\')
            break;
        int k;
        uint64_t cnt;
        if (parse_count_line(in->line, &k, &cnt) != 0)
            return nglm_error_set(err, "%s:%zu: bad count line '%.60s' (expected "
                                       "'ngram K=COUNT')", path, in->lineno, in->line);
        if (k != a->order + 1)
            return nglm_error_set(err, "%s:%zu: expected 'ngram %d=', found 'ngram %d='",
                                  path, in->lineno, a->order + 1, k);
        if (k > NGLM_ARPA_MAX_ORDER)
            return nglm_error_set(err, "%s:%zu: order %d is above the supported %d", path,
                                  in->lineno, k, NGLM_ARPA_MAX_ORDER);
        if (k == 1 && cnt == 0)
            return nglm_error_set(err, "%s:%zu: 'ngram 1=0': a model needs 1-grams", path,
                                  in->lineno);
        a->order = k;
        a->count[k] = cnt;
    }
    if (a->order == 0)
        return nglm_error_set(err, "%s:%zu: no 'ngram K=COUNT' lines after \\data\\", path,
                              in->lineno);
    uint64_t total = 0;
    for (int k = 2; k <= a->order; k++)
        total += a->count[k];
    if (u64map_init(&a->child, total < (1u << 22) ? (size_t)total : (1u << 22)) != 0)
        return nglm_error_set(err, "%s: out of memory", path);
    return 0;
}

/* What the sections' parsing carries from line to line: the 1-grams until
 * their section ends, the previous line's words (arpa_prev) and the inserts
 * waiting in the queue (arpa_pending). */
typedef struct arpa_sections {
    uni_entry *uni;
    size_t n_uni, cap_uni;
    arpa_prev prev;
    arpa_pending pend;
} arpa_sections;

/* One k-gram line split into fields (log10 probability, the k words, an
 * optional back-off weight) and its numbers checked. */
static int parse_ngram_line(const nglm_arpa *a, arpa_in *in, int k, char **fields, double *lp,
                            double *bow, nglm_error *err)
{
    const char *path = in->path;
    int nf = split_fields(in->line, fields, k + 3);
    *bow = 0;
    if (nf < k + 1)
        return nglm_error_set(err, "%s:%zu: a %d-gram line needs a log10 probability and "
                                   "%d word%s", path, in->lineno, k, k, k > 1 ? "s" : "");
    if (parse_log10(fields[0], lp) != 0)
        return nglm_error_set(err, "%s:%zu: bad log10 probability '%.60s'", path, in->lineno,
                              fields[0]);
    if (*lp > 0) /* as KenLM refuses it: no back-off model can hold it */
        return nglm_error_set(err, "%s:%zu: positive log10 probability %.60s (a probability "
                                   "above 1): the file is broken", path, in->lineno,
                              fields[0]);
    if (nf > k + 2 || (nf == k + 2 && k == a->order && parse_log10(fields[k + 1], bow) != 0))
        return nglm_error_set(err, "%s:%zu: too many words for a %d-gram", path, in->lineno,
                              k);
    if (nf == k + 2) {
        if (k == a->order)
            return nglm_error_set(err, "%s:%zu: a back-off weight on a %d-gram, the highest "
                                       "order", path, in->lineno, k);
        if (parse_log10(fields[k + 1], bow) != 0)
            return nglm_error_set(err, "%s:%zu: bad back-off weight '%.60s'", path,
                                  in->lineno, fields[k + 1]);
    }
    return 0;
}

/* A 1-gram, kept until the section ends (build_unigrams). */
static int add_unigram(arpa_sections *s, arpa_in *in, const char *word, double lp, double bow,
                       nglm_error *err)
{
    /* words are UTF-8 (the VOCAB section of a model made from this file
     * says so, and the tokenizer only ever gives UTF-8) */
    for (size_t i = 0, n = strlen(word); i < n;) {
        uint32_t cp;
        const char *why;
        int len = nglm_utf8_decode((const unsigned char *)word + i, n - i, &cp, &why);
        if (len < 0)
            return nglm_error_set(err, "%s:%zu: the 1-gram's word is not UTF-8 (%s: byte "
                                  "0x%02x at offset %zu of the word)", in->path, in->lineno,
                                  why, (unsigned char)word[i], i);
        i += (size_t)len;
    }
    if (s->n_uni == s->cap_uni) {
        size_t cap = s->cap_uni ? 2 * s->cap_uni : 1024;
        uni_entry *q = realloc(s->uni, cap * sizeof *q);
        if (!q)
            return nglm_error_set(err, "%s:%zu: out of memory", in->path, in->lineno);
        s->uni = q;
        s->cap_uni = cap;
    }
    s->uni[s->n_uni].word = strdup(word);
    if (!s->uni[s->n_uni].word)
        return nglm_error_set(err, "%s:%zu: out of memory", in->path, in->lineno);
    s->uni[s->n_uni].lp = lp;
    s->uni[s->n_uni].bow = bow;
    s->uni[s->n_uni++].line = in->lineno;
    return 0;
}

/* A k-gram (k >= 2) into the trie: the words it shares with the previous
 * line reuse that line's ids and nodes, its prefix nodes are made, and its
 * last step waits in the queue. */
static int add_ngram(nglm_arpa *a, arpa_sections *s, arpa_in *in, int k, char **fields,
                     double lp, double bow, nglm_error *err)
{
    int32_t ids[NGLM_ARPA_MAX_ORDER];
    int64_t nodes[NGLM_ARPA_MAX_ORDER];
    int known = prev_shared(&s->prev, fields + 1, k);
    for (int j = 0; j < known; j++)
        ids[j] = s->prev.ids[j];
    memcpy(nodes, s->prev.nodes, sizeof nodes);
    for (int j = known; j < k; j++) {
        int32_t w = arpa_word(a, fields[1 + j]);
        if (w < 0 || isnan(a->logp[w]))
            return nglm_error_set(err, "%s:%zu: word '%.60s' is not among the 1-grams",
                                  in->path, in->lineno, fields[1 + j]);
        ids[j] = w;
    }
    if (insert_prefix(a, ids, k, nodes, known, in, err) != 0)
        return -1;
    arpa_pending_ngram g = { k, nodes[k - 2], ids[k - 1], lp, bow, in->lineno };
    if (pending_push(a, &s->pend, &g, in->path, err) != 0)
        return -1;
    if (prev_keep(&s->prev, fields + 1, ids, nodes, k) != 0)
        return nglm_error_set(err, "%s:%zu: out of memory", in->path, in->lineno);
    return 0;
}

/* The \k-grams: section that in->line opens, up to the next section's line
 * (left in in->line).  Returns 0, 1 when an empty section was left out
 * (in->line is the next one's), or -1. */
static int parse_section(nglm_arpa *a, arpa_in *in, arpa_sections *s, int k, nglm_error *err)
{
    const char *path = in->path;
    char *fields[NGLM_ARPA_MAX_ORDER + 3];
    int r;
    s->prev.k = 0;
    int sk = section_order(in->line);
    if (sk != k) {
        if (a->count[k] == 0 && (sk > k || strcmp(in->line, "\\end\\") == 0))
            return 1; /* an empty section may be left out */
        if (sk > a->order)
            return nglm_error_set(err, "%s:%zu: section \\%d-grams: is beyond the declared "
                                       "order %d", path, in->lineno, sk, a->order);
        if (in->line[0] != '\\' && k > 1)
            return nglm_error_set(err, "%s:%zu: more %d-grams than the %llu declared", path,
                                  in->lineno, k - 1, (unsigned long long)a->count[k - 1]);
        return nglm_error_set(err, "%s:%zu: expected \\%d-grams:, found '%.60s'", path,
                              in->lineno, k, in->line);
    }
    uint64_t got = 0;
    for (;;) {
        r = in_next(in, err);
        if (r < 0)
            return -1;
        if (r == 0 && got == a->count[k] && k == a->order)
            return nglm_error_set(err, "%s:%zu: unexpected end of file: missing \\end\\ "
                                       "(truncated file?)", path, in->lineno);
        if (r == 0)
            return nglm_error_set(err, "%s:%zu: unexpected end of file after %llu of %llu "
                                       "%d-grams (truncated file?)", path, in->lineno,
                                  (unsigned long long)got, (unsigned long long)a->count[k], k);
        if (in->line[0] == '\0' || in->line[0] == '\\')
            break;
        if (got == a->count[k])
            return nglm_error_set(err, "%s:%zu: more %d-grams than the %llu declared", path,
                                  in->lineno, k, (unsigned long long)a->count[k]);
        double lp, bow;
        if (parse_ngram_line(a, in, k, fields, &lp, &bow, err) != 0)
            return -1;
        got++;
        if ((k == 1 ? add_unigram(s, in, fields[1], lp, bow, err)
                    : add_ngram(a, s, in, k, fields, lp, bow, err)) != 0)
            return -1;
    }
    if (pending_flush(a, &s->pend, path, err) != 0)
        return -1;
    if (got != a->count[k])
        return nglm_error_set(err, "%s:%zu: %llu %d-grams, but the header declares %llu", path,
                              in->lineno, (unsigned long long)got, k,
                              (unsigned long long)a->count[k]);
    if (k == 1 && build_unigrams(a, s->uni, s->n_uni, path, err) != 0)
        return -1;
    if (in->line[0] == '\0' && (r = next_nonblank(in, err)) <= 0) {
        if (r == 0)
            nglm_error_set(err, "%s:%zu: unexpected end of file: missing \\end\\ "
                                "(truncated file?)", path, in->lineno);
        return -1;
    }
    return 0;
}

/* \end\ (in in->line), then nothing but blank lines. */
static int parse_end(const nglm_arpa *a, arpa_in *in, nglm_error *err)
{
    const char *path = in->path;
    int r;
    if (strcmp(in->line, "\\end\\") != 0) {
        int sk = section_order(in->line);
        if (sk > a->order)
            return nglm_error_set(err, "%s:%zu: section \\%d-grams: is beyond the declared "
                                       "order %d", path, in->lineno, sk, a->order);
        if (in->line[0] != '\\')
            return nglm_error_set(err, "%s:%zu: more %d-grams than the %llu declared", path,
                                  in->lineno, a->order,
                                  (unsigned long long)a->count[a->order]);
        return nglm_error_set(err, "%s:%zu: expected \\end\\, found '%.60s'", path, in->lineno,
                              in->line);
    }
    while ((r = in_next(in, err)) == 1)
        if (!is_blank(in->line))
            return nglm_error_set(err, "%s:%zu: text after \\end\\", path, in->lineno);
    return r < 0 ? -1 : 0;
}

static int arpa_parse(nglm_arpa *a, arpa_in *in, nglm_error *err)
{
    if (parse_header(a, in, err) != 0)
        return -1;
    arpa_sections s;
    memset(&s, 0, sizeof s);
    int rc = 0;
    for (int k = 1; k <= a->order && rc == 0; k++)
        rc = parse_section(a, in, &s, k, err) < 0 ? -1 : 0;
    if (rc == 0)
        rc = parse_end(a, in, err);
    if (rc != 0 && s.pend.n > 0 && err) { /* the waiting n-grams' lines came first */
        nglm_error later = *err;
        if (pending_flush(a, &s.pend, in->path, err) == 0)
            *err = later;
    }
    for (size_t i = 0; i < s.n_uni; i++)
        free(s.uni[i].word);
    free(s.uni);
    free(s.prev.text);
    free(a->words);
    a->words = NULL;
    return rc;
}

nglm_arpa *nglm_arpa_load(const char *path, nglm_error *err)
{
    arpa_in in;
    if (in_open(&in, path, err) != 0)
        return NULL;
    nglm_arpa *a = calloc(1, sizeof *a);
    if (!a) {
        in_close(&in);
        nglm_error_set(err, "%s: out of memory", path);
        return NULL;
    }
    int rc = arpa_parse(a, &in, err);
    in_close(&in);
    if (rc != 0) {
        nglm_arpa_free(a);
        return NULL;
    }
    return a;
}

void nglm_arpa_free(nglm_arpa *a)
{
    if (!a)
        return;
    if (a->vocab)
        nglm_vocab_free(a->vocab);
    free(a->logp);
    free(a->bow);
    u64map_free(&a->child);
    free(a->words);
    free(a);
}

int nglm_arpa_file_is_arpa(const char *path)
{
    /* a FIFO cannot be looked into without taking what its reader needs
     * (nor opened and closed: its writer could die of SIGPIPE), and a model
     * file must be mapped: a FIFO is read as an ARPA stream */
    struct stat st;
    if (stat(path, &st) == 0 && S_ISFIFO(st.st_mode))
        return 1;
    arpa_in in;
    nglm_error err;
    if (in_open(&in, path, &err) != 0)
        return 0;
    in.max_line = 1 << 16;
    int r, yes = 0;
    /* look at the first 1000 lines at most */
    while ((r = in_next(&in, &err)) == 1 && in.lineno <= 1000) {
        if (in.line[0] == '\0' || in.line[0] == '#')
            continue;
        yes = strcmp(in.line, "\\data\\") == 0;
        break;
    }
    in_close(&in);
    return yes;
}

int nglm_arpa_order(const nglm_arpa *a) { return a->order; }

nglm_tok_options nglm_arpa_tok(const nglm_arpa *a) { return a->tok; }

uint64_t nglm_arpa_count(const nglm_arpa *a, int k)
{
    return k >= 1 && k <= a->order ? a->count[k] : 0;
}

const nglm_vocab *nglm_arpa_vocab(const nglm_arpa *a) { return a->vocab; }

int nglm_arpa_has_unk(const nglm_arpa *a) { return a->has_unk; }

/* ================================================================ scoring */

double nglm_arpa_logprob10(const nglm_arpa *a, const int32_t *sent, size_t i)
{
    return nglm_arpa_logprob10_len(a, sent, i, NULL);
}

double nglm_arpa_logprob10_len(const nglm_arpa *a, const int32_t *sent, size_t i, int *len)
{
    int32_t w = sent[i];
    int dummy;
    if (!len)
        len = &dummy;
    *len = 0;
    if (w < 0 || w >= a->V)
        return -INFINITY;
    /* the history, newest word first, back to <s> */
    int32_t h[NGLM_ARPA_MAX_ORDER];
    int m = 0;
    for (int k = 1; k < a->order; k++) {
        long pos = (long)i - k;
        int32_t hw = pos >= 0 ? sent[pos] : NGLM_BOS;
        if (hw < 0 || hw >= a->V)
            break;
        h[m++] = hw;
        if (hw == NGLM_BOS)
            break;
    }
    /* longest context first: h[j-1] (oldest) .. h[0] */
    double acc = 0;
    for (int j = m; j >= 1; j--) {
        int64_t node = h[j - 1];
        for (int q = j - 2; q >= 0 && node >= 0; q--)
            node = u64map_get(&a->child, PACK(node, h[q]), -1);
        if (node < 0)
            continue;
        int64_t x = u64map_get(&a->child, PACK(node, w), -1);
        if (x >= 0 && !isnan(a->logp[x])) {
            *len = j + 1;
            return a->logp[x] + acc;
        }
        acc += a->bow[node];
    }
    *len = isnan(a->logp[w]) ? 0 : 1;
    return isnan(a->logp[w]) ? -INFINITY : a->logp[w] + acc;
}

int nglm_arpa_score_corpus(const nglm_arpa *a, const nglm_corpus *c, double *lp10,
                           nglm_error *err)
{
    for (size_t t = 0; t < c->n_tokens; t++)
        if (c->ids[t] < 0 || c->ids[t] >= a->V)
            return nglm_error_set(err, "the text was not read with the ARPA model's "
                                       "vocabulary (id %d)", (int)c->ids[t]);
    for (size_t s = 0; s < c->n_sents; s++) {
        size_t len;
        const int32_t *sent = nglm_corpus_sentence(c, s, &len);
        for (size_t i = 0; i < len; i++) /* an OOV it cannot score is skipped, as SRILM */
            lp10[c->start[s] + i] = sent[i] == NGLM_UNK && !a->has_unk
                                        ? NAN : nglm_arpa_logprob10(a, sent, i);
    }
    return 0;
}
