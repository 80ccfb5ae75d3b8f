/*
 * arpa.c — the ARPA back-off format (see nglm/arpa.h): exact export of an
 * n-gram-only model, and a strict reader and scorer for any ARPA file.
 *
 * Export walks the feature index once.  Contexts are numbered by length, so
 * a context's parent (c⁻) is always done before it and ln Z(c) follows from
 * ln Z(c⁻) by the telescoping identity of ../shared/MODEL.md §2, written
 * relative to Z(c⁻) so that no exp() can overflow:
 *
 *   Z(c) / Z(c⁻) = 1 + Σ_{w ∈ succ(c)} (e^{s(c,w) − ln Z(c⁻)} − e^{s(c⁻,w) − ln Z(c⁻)})
 *
 * The back-off weight of a context x is written on the n-gram that names
 * it: the feature (x's oldest |x|−1 words, x's newest word).  That feature
 * is found from the other side — the n-gram "c w" of feature f is the
 * context whose parent is the n-gram of feat_back[f] and whose oldest word
 * is c's oldest word — so one pass in feature order maps features to
 * contexts.  Prefix closure means every context is reached; the export
 * checks it, since a missing back-off weight would make the file inexact.
 *
 * The reader keeps the n-grams as a trie in one hash table: node ids are
 * word ids for 1-grams, and (node of w1..w(k-1), wk) → node of w1..wk above
 * that (u64map, keys packed as (node << 32 | word)).  Each node holds its
 * log10 probability (NAN for a prefix that is not itself listed) and its
 * log10 back-off weight (0 when absent).
 */
#include "nglm/arpa.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "u64map.h"

#include "fileio.h"

#define PACK(hi, lo) (((uint64_t)(uint32_t)(hi) << 32) | (uint32_t)(lo))

/* ================================================================ export */

/* Buffered output to a stdio stream or a gzip file. */
typedef struct arpa_out {
    FILE *fp;
    gzFile gz;
    int failed;
    int saved_errno;
    size_t n;
    char buf[1 << 16];
} arpa_out;

static void out_flush(arpa_out *o)
{
    if (o->n > 0 && !o->failed) {
        if (o->gz) {
            if (gzwrite(o->gz, o->buf, (unsigned)o->n) != (int)o->n)
                o->failed = 1;
        } else if (fwrite(o->buf, 1, o->n, o->fp) != o->n) {
            o->failed = 1;
            o->saved_errno = errno;
        }
    }
    o->n = 0;
}

static void out_write(arpa_out *o, const char *s, size_t len)
{
    while (len > 0) {
        if (o->n == sizeof o->buf)
            out_flush(o);
        size_t k = sizeof o->buf - o->n;
        if (k > len)
            k = len;
        memcpy(o->buf + o->n, s, k);
        o->n += k;
        s += k;
        len -= k;
    }
}

static void out_str(arpa_out *o, const char *s) { out_write(o, s, strlen(s)); }

static void out_char(arpa_out *o, char c)
{
    if (o->n == sizeof o->buf)
        out_flush(o);
    o->buf[o->n++] = c;
}

/* Log10 values: 10 significant digits keep the exported probabilities
 * within ~1e-10 (relative) of nglm's own. */
static void out_num(arpa_out *o, double x)
{
    char tmp[40];
    int k = snprintf(tmp, sizeof tmp, "%.10g", x);
    out_write(o, tmp, (size_t)k);
}

static void out_u64(arpa_out *o, uint64_t x)
{
    char tmp[24];
    int k = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)x);
    out_write(o, tmp, (size_t)k);
}

/* One n-gram line: "logprob<TAB>w1 ... wk[<TAB>backoff]".  A probability
 * within rounding of 1 is written as log10 0, not as a tiny positive value
 * that strict readers (KenLM) refuse. */
static void out_ngram(arpa_out *o, const nglm_vocab *v, double lp, const int32_t *words,
                      int k, int has_bow, double bow)
{
    out_num(o, lp < 0 ? lp : 0.0);
    out_char(o, '\t');
    for (int j = 0; j < k; j++) {
        if (j)
            out_char(o, ' ');
        out_str(o, nglm_vocab_word(v, words[j]));
    }
    if (has_bow) {
        out_char(o, '\t');
        out_num(o, bow);
    }
    out_char(o, '\n');
}

/* The whole export (file comment); the caller opens and closes o. */
static int arpa_export(const nglm_model *m, arpa_out *o, nglm_error *err)
{
    const nglm_features *F = &m->feat;
    if (F->n_skip > 0)
        return nglm_error_set(err, "model has skip-gram features, which ARPA cannot "
                                   "express: train with --features ngram");
    if (F->order > 1 && (!F->ctx1 || !F->ctx_hash))
        return nglm_error_set(err, "the model's feature index is not built");
    int32_t V = F->V;
    size_t nf = F->n_ngram_feat, nc = F->n_ctx;
    double *s = malloc(nf * sizeof *s);
    double *lnz = malloc((nc ? nc : 1) * sizeof *lnz);
    int32_t *xctx = malloc(nf * sizeof *xctx); /* context named by feature f's n-gram */
    if (!s || !lnz || !xctx) {
        free(s);
        free(lnz);
        free(xctx);
        return nglm_error_set(err, "out of memory exporting %zu features", nf);
    }

    /* ln U = ln Σ_{w ≠ <s>} e^θ_w, shifted by the maximum */
    double mx = -INFINITY, sum = 0;
    for (int32_t w = 1; w < V; w++)
        if (m->theta[w] > mx)
            mx = m->theta[w];
    for (int32_t w = 1; w < V; w++)
        sum += exp(m->theta[w] - mx);
    double lnU = mx + log(sum);
    for (int32_t w = 0; w < V; w++) {
        s[w] = m->theta[w];
        xctx[w] = F->order > 1 ? F->ctx1[w] : -1;
    }

    /* ln Z of every context, scores of every feature, feature → context */
    size_t named = 0;
    for (int32_t w = 0; w < V; w++)
        named += xctx[w] >= 0;
    for (size_t c = 0; c < nc; c++) {
        int32_t p = F->ctx_parent[c];
        double lzp = p < 0 ? lnU : lnz[p], d = 0;
        for (uint32_t f = F->ctx_first[c]; f < F->ctx_first[c + 1]; f++) {
            int32_t b = F->feat_back[f];
            s[f] = s[b] + m->theta[f];
            d += exp(s[f] - lzp) - exp(s[b] - lzp);
            xctx[f] = xctx[b] >= 0 ? nglm_features_child(F, xctx[b], F->ctx_word[c]) : -1;
            named += xctx[f] >= 0;
        }
        if (!(d > -1) || !isfinite(d)) {
            free(s);
            free(lnz);
            free(xctx);
            return nglm_error_set(err, "normaliser of context %zu is not a positive "
                                       "finite number", c);
        }
        lnz[c] = lzp + log1p(d);
    }
    if (named != nc) {
        free(s);
        free(lnz);
        free(xctx);
        return nglm_error_set(err, "the feature index is not closed under prefixes "
                                   "(%zu of %zu contexts are listed n-grams)", named, nc);
    }

    /* counts: the highest order written is the highest with an n-gram */
    uint64_t count[NGLM_MAX_ORDER + 1] = {0};
    int top = 1;
    count[1] = (uint64_t)V;
    for (int k = 1; k < F->order; k++) {
        count[k + 1] = F->ctx_first[F->ctx_order_start[k]] -
                       F->ctx_first[F->ctx_order_start[k - 1]];
        if (count[k + 1] > 0)
            top = k + 1;
    }
    out_str(o, "\\data\\\n");
    for (int k = 1; k <= top; k++) {
        out_str(o, "ngram ");
        out_u64(o, (uint64_t)k);
        out_char(o, '=');
        out_u64(o, count[k]);
        out_char(o, '\n');
    }

    /* 1-grams: P(w) = e^θ_w / U; <s> is never predicted */
    out_str(o, "\n\\1-grams:\n");
    for (int32_t w = 0; w < V; w++) {
        double lp = w == NGLM_BOS ? -99.0 : (s[w] - lnU) / M_LN10;
        int32_t x = xctx[w];
        out_ngram(o, m->vocab, lp, &w, 1, x >= 0, x >= 0 ? (lnU - lnz[x]) / M_LN10 : 0);
    }

    /* (k+1)-grams: the features of the contexts of length k */
    int32_t words[NGLM_MAX_ORDER + 1];
    for (int k = 1; k < top; k++) {
        out_str(o, "\n\\");
        out_u64(o, (uint64_t)k + 1);
        out_str(o, "-grams:\n");
        for (size_t c = F->ctx_order_start[k - 1]; c < F->ctx_order_start[k]; c++) {
            int j = 0;
            for (int32_t y = (int32_t)c; y >= 0; y = F->ctx_parent[y])
                words[j++] = F->ctx_word[y]; /* oldest word first */
            for (uint32_t f = F->ctx_first[c]; f < F->ctx_first[c + 1]; f++) {
                words[k] = F->feat_word[f];
                int32_t x = xctx[f];
                double bow = 0;
                if (x >= 0)
                    bow = (lnz[F->ctx_parent[x]] - lnz[x]) / M_LN10;
                out_ngram(o, m->vocab, (s[f] - lnz[c]) / M_LN10, words, k + 1, x >= 0, bow);
            }
        }
        if (o->failed)
            break;
    }
    out_str(o, "\n\\end\\\n");
    out_flush(o);
    free(s);
    free(lnz);
    free(xctx);
    return 0;
}

int nglm_arpa_write(const nglm_model *m, FILE *fp, nglm_error *err)
{
    arpa_out *o = calloc(1, sizeof *o);
    if (!o)
        return nglm_error_set(err, "out of memory");
    o->fp = fp;
    int rc = arpa_export(m, o, err);
    if (rc == 0 && o->failed)
        rc = nglm_error_errno(err, o->saved_errno, "error writing the ARPA file");
    free(o);
    return rc;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

int nglm_arpa_save(const nglm_model *m, const char *path, nglm_error *err)
{
    if (strcmp(path, "-") == 0) {
        if (nglm_arpa_write(m, stdout, err) != 0)
            return -1;
        if (fflush(stdout) != 0 || ferror(stdout))
            return nglm_error_errno(err, errno, "error writing the ARPA file to stdout");
        return 0;
    }
    /* refuse before creating (or truncating) anything */
    if (m->feat.n_skip > 0)
        return arpa_export(m, NULL, err);
    arpa_out *o = calloc(1, sizeof *o);
    if (!o)
        return nglm_error_set(err, "out of memory");
    /* written to a temporary file renamed over PATH (fileio.h): a failed
     * export leaves an existing file as it was */
    nglm_atomic at;
    if (nglm_atomic_open(&at, path, err) != 0) {
        free(o);
        return -1;
    }
    int rc;
    if (ends_with(path, ".gz")) {
        int fd = dup(fileno(at.fp));
        o->gz = fd >= 0 ? gzdopen(fd, "wb6") : NULL;
        if (!o->gz) {
            if (fd >= 0)
                close(fd);
            free(o);
            return nglm_atomic_fail(&at, errno ? errno : ENOMEM, err);
        }
        gzbuffer(o->gz, 1 << 17);
    } else {
        o->fp = at.fp;
    }
    rc = arpa_export(m, o, err);
    if (rc == 0 && o->failed) {
        if (o->gz) {
            int e;
            const char *msg = gzerror(o->gz, &e);
            rc = nglm_error_set(err, "%s: write error: %s", path,
                                e == Z_ERRNO ? strerror(errno) : msg);
        } else {
            rc = nglm_error_errno(err, o->saved_errno, "%s: write error", path);
        }
    }
    if (o->gz && gzclose(o->gz) != Z_OK && rc == 0)
        rc = nglm_error_errno(err, errno ? errno : EIO, "%s: error closing the file", path);
    free(o);
    if (rc != 0) {
        nglm_atomic_abort(&at);
        return rc;
    }
    return nglm_atomic_commit(&at, err);
}

/* ================================================================ reading */

struct nglm_arpa {
    int order;
    uint64_t count[NGLM_ARPA_MAX_ORDER + 1];
    nglm_vocab *vocab;
    int32_t V;
    int has_unk;
    size_t n_node, cap_node;
    double *logp;   /* log10 probability; NAN: a prefix only, not listed */
    double *bow;    /* log10 back-off weight; 0 when absent */
    u64map child;   /* PACK(node, next word) → node */
};

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
} arpa_in;

#define IN_CHUNK (1 << 18)

static int in_open(arpa_in *in, const char *path, nglm_error *err)
{
    memset(in, 0, sizeof *in);
    in->path = path;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return nglm_error_errno(err, errno, "%s", path);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return nglm_error_errno(err, e, "%s", path);
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return nglm_error_set(err, "%s: is a directory", path);
    }
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
    if (memchr(in->line, '\0', len))
        return nglm_error_set(err, "%s:%zu: NUL byte (not a text file)", in->path, in->lineno);
    while (len > 0 && strchr(" \t\r\v\f", in->line[len - 1]))
        len--;
    in->line[len] = '\0';
    return 1;
}

static int is_blank(const char *s) { return s[strspn(s, " \t\r\v\f")] == '\0'; }

/* A log10 value: a decimal number, or -inf for probability zero. */
static int parse_log10(const char *s, double *v)
{
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (end == s || *end != '\0' || isnan(x) || x == INFINITY)
        return -1;
    *v = x;
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
    rc = 0;
out:
    free(sorted);
    free(words);
    free(id);
    return rc;
}

/* Puts the k-gram ids[0..k) with its values into the trie. */
static int insert_ngram(nglm_arpa *a, const int32_t *ids, int k, double lp, double bow,
                        arpa_in *in, nglm_error *err)
{
    int64_t node = ids[0];
    for (int j = 1; j < k; j++) {
        int64_t *slot = u64map_upsert(&a->child, PACK(node, ids[j]), -1);
        if (!slot)
            return nglm_error_set(err, "%s:%zu: out of memory", in->path, in->lineno);
        if (*slot >= 0) {
            if (j == k - 1)
                return nglm_error_set(err, "%s:%zu: duplicate %d-gram", in->path, in->lineno,
                                      k);
            node = *slot;
            continue;
        }
        int64_t nn = j == k - 1 ? node_new(a, lp, bow) : node_new(a, NAN, 0);
        if (nn < 0)
            return nglm_error_set(err, "%s:%zu: out of memory (or too many n-grams)",
                                  in->path, in->lineno);
        *slot = nn;
        node = nn;
    }
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
static int arpa_parse(nglm_arpa *a, arpa_in *in, nglm_error *err)
{
    const char *path = in->path;
    int r;
    /* header: blank lines and '#' comments, then \data\ */
    while ((r = in_next(in, err)) == 1 && (in->line[0] == '\0' || in->line[0] == '#'))
        ;
    if (r < 0)
        return -1;
    if (r == 0 && in->lineno == 0)
        return nglm_error_set(err, "%s: empty file: not an ARPA file", path);
    if (r == 0)
        return nglm_error_set(err, "%s:%zu: no \\data\\ line: not an ARPA file", path,
                              in->lineno);
    if (strcmp(in->line, "\\data\\") != 0)
        return nglm_error_set(err, "%s:%zu: expected \\data\\: not an ARPA file", path,
                              in->lineno);

    /* counts */
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

    /* sections; in->line holds the next non-blank line */
    uni_entry *uni = NULL;
    size_t n_uni = 0, cap_uni = 0;
    int32_t ids[NGLM_ARPA_MAX_ORDER];
    char *fields[NGLM_ARPA_MAX_ORDER + 3];
    int rc = -1;
    for (int k = 1; k <= a->order; k++) {
        int sk = section_order(in->line);
        if (sk != k) {
            if (a->count[k] == 0 && (sk > k || strcmp(in->line, "\\end\\") == 0))
                continue; /* an empty section may be left out */
            if (sk > a->order)
                nglm_error_set(err, "%s:%zu: section \\%d-grams: is beyond the declared "
                                    "order %d", path, in->lineno, sk, a->order);
            else if (in->line[0] != '\\' && k > 1)
                nglm_error_set(err, "%s:%zu: more %d-grams than the %llu declared", path,
                               in->lineno, k - 1, (unsigned long long)a->count[k - 1]);
            else
                nglm_error_set(err, "%s:%zu: expected \\%d-grams:, found '%.60s'", path,
                               in->lineno, k, in->line);
            goto out;
        }
        uint64_t got = 0;
        for (;;) {
            r = in_next(in, err);
            if (r < 0)
                goto out;
            if (r == 0 && got == a->count[k] && k == a->order)
                nglm_error_set(err, "%s:%zu: unexpected end of file: missing \\end\\ "
                                    "(truncated file?)", path, in->lineno);
            else if (r == 0)
                nglm_error_set(err, "%s:%zu: unexpected end of file after %llu of %llu "
                                    "%d-grams (truncated file?)", path, in->lineno,
                               (unsigned long long)got, (unsigned long long)a->count[k], k);
            if (r == 0)
                goto out;
            if (in->line[0] == '\0' || in->line[0] == '\\')
                break;
            if (got == a->count[k]) {
                nglm_error_set(err, "%s:%zu: more %d-grams than the %llu declared", path,
                               in->lineno, k, (unsigned long long)a->count[k]);
                goto out;
            }
            int nf = split_fields(in->line, fields, k + 3);
            double lp, bow = 0;
            if (nf < k + 1) {
                nglm_error_set(err, "%s:%zu: a %d-gram line needs a log10 probability and "
                                    "%d word%s", path, in->lineno, k, k, k > 1 ? "s" : "");
                goto out;
            }
            if (parse_log10(fields[0], &lp) != 0) {
                nglm_error_set(err, "%s:%zu: bad log10 probability '%.60s'", path, in->lineno,
                               fields[0]);
                goto out;
            }
            if (nf > k + 2 || (nf == k + 2 && k == a->order &&
                               parse_log10(fields[k + 1], &bow) != 0)) {
                nglm_error_set(err, "%s:%zu: too many words for a %d-gram", path, in->lineno,
                               k);
                goto out;
            }
            if (nf == k + 2) {
                if (k == a->order) {
                    nglm_error_set(err, "%s:%zu: a back-off weight on a %d-gram, the "
                                        "highest order", path, in->lineno, k);
                    goto out;
                }
                if (parse_log10(fields[k + 1], &bow) != 0) {
                    nglm_error_set(err, "%s:%zu: bad back-off weight '%.60s'", path,
                                   in->lineno, fields[k + 1]);
                    goto out;
                }
            }
            got++;
            if (k == 1) {
                if (n_uni == cap_uni) {
                    size_t cap = cap_uni ? 2 * cap_uni : 1024;
                    uni_entry *q = realloc(uni, cap * sizeof *q);
                    if (!q) {
                        nglm_error_set(err, "%s:%zu: out of memory", path, in->lineno);
                        goto out;
                    }
                    uni = q;
                    cap_uni = cap;
                }
                uni[n_uni].word = strdup(fields[1]);
                if (!uni[n_uni].word) {
                    nglm_error_set(err, "%s:%zu: out of memory", path, in->lineno);
                    goto out;
                }
                uni[n_uni].lp = lp;
                uni[n_uni].bow = bow;
                uni[n_uni++].line = in->lineno;
                continue;
            }
            for (int j = 0; j < k; j++) {
                int32_t w = nglm_vocab_find(a->vocab, fields[1 + j]);
                if (w < 0 || isnan(a->logp[w])) {
                    nglm_error_set(err, "%s:%zu: word '%.60s' is not among the 1-grams", path,
                                   in->lineno, fields[1 + j]);
                    goto out;
                }
                ids[j] = w;
            }
            if (insert_ngram(a, ids, k, lp, bow, in, err) != 0)
                goto out;
        }
        if (got != a->count[k]) {
            nglm_error_set(err, "%s:%zu: %llu %d-grams, but the header declares %llu", path,
                           in->lineno, (unsigned long long)got, k,
                           (unsigned long long)a->count[k]);
            goto out;
        }
        if (k == 1 && build_unigrams(a, uni, n_uni, path, err) != 0)
            goto out;
        if (in->line[0] == '\0' && (r = next_nonblank(in, err)) <= 0) {
            if (r == 0)
                nglm_error_set(err, "%s:%zu: unexpected end of file: missing \\end\\ "
                                    "(truncated file?)", path, in->lineno);
            goto out;
        }
    }
    if (strcmp(in->line, "\\end\\") != 0) {
        int sk = section_order(in->line);
        if (sk > a->order)
            nglm_error_set(err, "%s:%zu: section \\%d-grams: is beyond the declared order %d",
                           path, in->lineno, sk, a->order);
        else if (in->line[0] != '\\')
            nglm_error_set(err, "%s:%zu: more %d-grams than the %llu declared", path,
                           in->lineno, a->order, (unsigned long long)a->count[a->order]);
        else
            nglm_error_set(err, "%s:%zu: expected \\end\\, found '%.60s'", path, in->lineno,
                           in->line);
        goto out;
    }
    while ((r = in_next(in, err)) == 1)
        if (!is_blank(in->line)) {
            nglm_error_set(err, "%s:%zu: text after \\end\\", path, in->lineno);
            goto out;
        }
    if (r < 0)
        goto out;
    rc = 0;
out:
    for (size_t i = 0; i < n_uni; i++)
        free(uni[i].word);
    free(uni);
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
    free(a);
}

int nglm_arpa_file_is_arpa(const char *path)
{
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

uint64_t nglm_arpa_count(const nglm_arpa *a, int k)
{
    return k >= 1 && k <= a->order ? a->count[k] : 0;
}

const nglm_vocab *nglm_arpa_vocab(const nglm_arpa *a) { return a->vocab; }

int nglm_arpa_has_unk(const nglm_arpa *a) { return a->has_unk; }

/* ================================================================ scoring */

double nglm_arpa_logprob10(const nglm_arpa *a, const int32_t *sent, size_t i)
{
    int32_t w = sent[i];
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
        if (x >= 0 && !isnan(a->logp[x]))
            return a->logp[x] + acc;
        acc += a->bow[node];
    }
    return isnan(a->logp[w]) ? -INFINITY : a->logp[w] + acc;
}

int nglm_arpa_eval_corpus(const nglm_arpa *a, const nglm_corpus *c, int per_sentence,
                          nglm_eval_report *r, nglm_error *err)
{
    memset(r, 0, sizeof *r);
    for (size_t t = 0; t < c->n_tokens; t++)
        if (c->ids[t] < 0 || c->ids[t] >= a->V)
            return nglm_error_set(err, "the text was not read with the ARPA model's "
                                       "vocabulary (id %d)", (int)c->ids[t]);
    if (per_sentence) {
        r->sent_logprob10 = calloc(c->n_sents ? c->n_sents : 1, sizeof(double));
        if (!r->sent_logprob10)
            return nglm_error_set(err, "out of memory");
    }
    uint64_t skipped = 0, zero = 0;
    double sum = 0;
    for (size_t s = 0; s < c->n_sents; s++) {
        size_t len;
        const int32_t *sent = nglm_corpus_sentence(c, s, &len);
        double ss = 0;
        for (size_t i = 0; i < len; i++) {
            if (sent[i] == NGLM_UNK && !a->has_unk) {
                skipped++; /* an OOV that the model cannot score, as SRILM */
                continue;
            }
            double lp = nglm_arpa_logprob10(a, sent, i);
            if (isinf(lp)) {
                zero++;
                continue;
            }
            ss += lp;
        }
        sum += ss;
        if (per_sentence)
            r->sent_logprob10[s] = ss;
    }
    r->sentences = c->n_sents;
    r->words = c->n_words;
    r->oovs = a->has_unk ? c->n_oov : skipped;
    r->zeroprobs = zero;
    r->logprob10 = sum;
    /* SRILM: ppl over the scored words and </s>, ppl1 over the words */
    double n = (double)c->n_tokens - (double)skipped - (double)zero;
    double n1 = n - (double)c->n_sents;
    r->ppl = n > 0 ? pow(10.0, -sum / n) : NAN;
    r->ppl1 = n1 > 0 ? pow(10.0, -sum / n1) : NAN;
    return 0;
}
