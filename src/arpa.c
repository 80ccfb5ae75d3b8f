/*
 * arpa.c — the ARPA back-off format (see nglm/arpa.h): the writer that
 * both the softmax export and the Kneser-Ney estimate use
 * (arpa_write.h), the exact export of an n-gram-only model, and a strict
 * reader and scorer for any ARPA file.
 *
 * Export computes every context's ln Z; contexts are numbered by length,
 * so a context's parent (c⁻) is always done before it and ln Z(c) follows
 * from ln Z(c⁻) by the telescoping identity of doc/model.md §2, written
 * relative to Z(c⁻) so that no exp() can overflow:
 *
 *   Z(c) / Z(c⁻) = 1 + Σ_{w ∈ succ(c)} (e^{s(c,w) − ln Z(c⁻)} − e^{s(c⁻,w) − ln Z(c⁻)})
 *
 * The back-off weight of a context x is written on the n-gram that names
 * it (nglm_features_named_contexts).  Prefix closure means every context
 * is named; the export checks it, since a missing back-off weight would
 * make the file inexact.
 *
 * The reader keeps the n-grams as a trie in one hash table: node ids are
 * word ids for 1-grams, and (node of w1..w(k-1), wk) → node of w1..wk above
 * that (u64map, keys packed as (node << 32 | word)).  Each node holds its
 * log10 probability (NAN for a prefix that is not itself listed) and its
 * log10 back-off weight (0 when absent).
 */
#include "nglm/arpa.h"
#include "nglm/kn.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "u64map.h"

#include "arpa_write.h"
#include "fileio.h"

#define PACK(hi, lo) (((uint64_t)(uint32_t)(hi) << 32) | (uint32_t)(lo))

/* ================================================================ writer */

/* N-grams formatted per block, on one thread (about 1-2 MB of text). */
#define BLOCK_FEATURES (1u << 15)

/* Where formatted text goes: a stream, compressed or not. */
typedef struct arpa_sink {
    FILE *fp;
    int gz;          /* deflate each piece as a gzip member of its own */
    int errnum;      /* first failure (later writes are skipped) */
    int zfail;       /* a deflate failure (no errno) */
} arpa_sink;

/* A growing text buffer, one per thread. */
typedef struct text_buf {
    char *p;
    size_t n, cap;
    unsigned char *z;  /* compressed piece (gzip) */
    size_t zcap;
    int oom;
} text_buf;

static int buf_reserve(text_buf *b, size_t more)
{
    if (b->n + more <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 1 << 16;
    while (cap < b->n + more)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

static void buf_str(text_buf *b, const char *s)
{
    size_t k = strlen(s);
    if (buf_reserve(b, k) == 0) {
        memcpy(b->p + b->n, s, k);
        b->n += k;
    }
}

/* Compresses b's text into one gzip member in b->z; returns its length, or
 * 0 on failure. */
static size_t gz_member(text_buf *b)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK)
        return 0;
    size_t bound = deflateBound(&zs, (uLong)b->n);
    if (bound > b->zcap) {
        unsigned char *z = realloc(b->z, bound);
        if (!z) {
            deflateEnd(&zs);
            return 0;
        }
        b->z = z;
        b->zcap = bound;
    }
    zs.next_in = (unsigned char *)b->p;
    zs.avail_in = (uInt)b->n;
    zs.next_out = b->z;
    zs.avail_out = (uInt)b->zcap;
    int r = deflate(&zs, Z_FINISH);
    size_t len = b->zcap - zs.avail_out;
    deflateEnd(&zs);
    return r == Z_STREAM_END ? len : 0;
}

/* Writes b's text (compressing it first for a gzip sink) and empties b.
 * In a gzip sink the compression is done by the caller's thread
 * (gz_member) before the ordered write, when z_len is given. */
static void sink_put(arpa_sink *s, text_buf *b, size_t z_len)
{
    if (b->oom && !s->errnum)
        s->errnum = ENOMEM;
    if (!s->errnum && !s->zfail && b->n > 0) {
        const void *p = b->p;
        size_t n = b->n;
        if (s->gz) {
            if (!z_len)
                z_len = gz_member(b);
            if (!z_len)
                s->zfail = 1;
            p = b->z;
            n = z_len;
        }
        if (!s->zfail && fwrite(p, 1, n, s->fp) != n)
            s->errnum = errno ? errno : EIO;
    }
    b->n = 0;
}

/* Log10 value x with `sig` significant digits (as %.*g would round it),
 * written in fixed point with trailing zeros dropped ("-1.25", "0",
 * "-0.000123"); -inf and values beyond the fast range through snprintf.
 * Integer arithmetic only, no printf in the loop.  Returns the length
 * written to p (at most 40). */
static int fmt_log10(char *p, double x, int sig)
{
    static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8, 1e9,
                                 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18};
    double ax = fabs(x);
    if (!(ax < 1e5) || (ax < 1e-9 && ax != 0))
        return snprintf(p, 40, "%.*g", sig, x);
    /* decimals: sig minus the digits before the point, or plus the zeros
     * after it */
    int dec = sig;
    if (ax >= 1) {
        int digits = 1;
        while (digits < 6 && ax >= p10[digits])
            digits++;
        dec = sig - digits;
    } else {
        int zeros = 0;
        while (zeros < 9 && ax * p10[zeros + 1] < 1)
            zeros++;
        dec = sig + zeros;
    }
    if (dec < 0)
        dec = 0;
    if (dec > 18)
        dec = 18;
    long long v = llround(x * p10[dec]);
    if (v == 0) {
        p[0] = '0';
        return 1;
    }
    char *s = p;
    if (v < 0) {
        *s++ = '-';
        v = -v;
    }
    unsigned long long unit = (unsigned long long)p10[dec];
    unsigned long long ip = (unsigned long long)v / unit, fp = (unsigned long long)v % unit;
    char tmp[24];
    int k = 0;
    do {
        tmp[k++] = (char)('0' + ip % 10);
        ip /= 10;
    } while (ip);
    while (k)
        *s++ = tmp[--k];
    if (fp) {
        *s++ = '.';
        int d = dec;
        while (fp % 10 == 0) {
            fp /= 10;
            d--;
        }
        for (int j = d - 1; j >= 0; j--) {
            s[j] = (char)('0' + fp % 10);
            fp /= 10;
        }
        s += d;
    }
    return (int)(s - p);
}

typedef struct word_str {
    const char *s;
    uint32_t len;
} word_str;

/* The lines of features [f_lo, f_hi) of order m, into b. */
static void format_block(const nglm_arpa_table *t, const word_str *ws, int m, size_t f_lo,
                         size_t f_hi, text_buf *b)
{
    const nglm_features *F = t->F;
    int32_t words[NGLM_MAX_ORDER + 1];
    size_t c = 0, c_end = 0;
    if (m >= 2) { /* the context holding f_lo: the last with ctx_first <= f_lo */
        size_t lo = F->ctx_order_start[m - 2], hi = F->ctx_order_start[m - 1];
        while (lo + 1 < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (F->ctx_first[mid] <= f_lo)
                lo = mid;
            else
                hi = mid;
        }
        c = lo;
        c_end = F->ctx_first[c + 1];
        int j = 0;
        for (int32_t y = (int32_t)c; y >= 0; y = F->ctx_parent[y])
            words[j++] = F->ctx_word[y]; /* oldest word first */
    }
    for (size_t f = f_lo; f < f_hi; f++) {
        if (m >= 2 && f >= c_end) {
            do
                c++;
            while (F->ctx_first[c + 1] <= f);
            c_end = F->ctx_first[c + 1];
            int j = 0;
            for (int32_t y = (int32_t)c; y >= 0; y = F->ctx_parent[y])
                words[j++] = F->ctx_word[y];
        }
        double lp = t->logp[f] * t->to_log10;
        if (isnan(lp))
            continue;
        words[m - 1] = F->feat_word[f];
        size_t need = 2 * 41 + 3;
        for (int j = 0; j < m; j++)
            need += ws[words[j]].len + 1;
        if (buf_reserve(b, need) != 0)
            return;
        char *s = b->p + b->n;
        s += fmt_log10(s, lp < 0 ? lp : 0.0, t->digits);
        for (int j = 0; j < m; j++) {
            *s++ = j ? ' ' : '\t';
            memcpy(s, ws[words[j]].s, ws[words[j]].len);
            s += ws[words[j]].len;
        }
        if (m < t->top) {
            int32_t x = t->named[f];
            *s++ = '\t';
            s += fmt_log10(s, x >= 0 ? t->ctx_bow[x] * t->to_log10 : 0.0, t->digits);
        }
        *s++ = '\n';
        b->n = (size_t)(s - b->p);
    }
}

/* The whole file into the sink: header, then each order's blocks formatted
 * in parallel and written in order. */
static int table_emit(const nglm_arpa_table *t, arpa_sink *sink, nglm_error *err)
{
    const nglm_features *F = t->F;
    const int T = t->threads > 0 ? t->threads : 1;
    int32_t V = F->V;
    word_str *ws = malloc((size_t)V * sizeof *ws);
    text_buf *bufs = calloc((size_t)T, sizeof *bufs);
    int rc = -1;
    if (!ws || !bufs) {
        nglm_error_set(err, "out of memory writing the ARPA file");
        goto out;
    }
    for (int32_t w = 0; w < V; w++) {
        ws[w].s = nglm_vocab_word(t->vocab, w);
        ws[w].len = (uint32_t)strlen(ws[w].s);
    }

    /* counts of the listed n-grams */
    uint64_t count[NGLM_MAX_ORDER + 1] = {0};
    for (int m = 1; m <= t->top; m++) {
        size_t lo = m == 1 ? 0 : F->ctx_first[F->ctx_order_start[m - 2]];
        size_t hi = m == 1 ? (size_t)V : F->ctx_first[F->ctx_order_start[m - 1]];
        uint64_t n = 0;
#pragma omp parallel for schedule(static) reduction(+ : n) num_threads(T)
        for (long f = (long)lo; f < (long)hi; f++)
            n += !isnan(t->logp[f]);
        count[m] = n;
    }
    char line[64];
    if (t->comment[0]) {
        buf_str(&bufs[0], "# ");
        buf_str(&bufs[0], t->comment);
        buf_str(&bufs[0], "\n");
    }
    buf_str(&bufs[0], "\\data\\\n");
    for (int m = 1; m <= t->top; m++) {
        snprintf(line, sizeof line, "ngram %d=%llu\n", m, (unsigned long long)count[m]);
        buf_str(&bufs[0], line);
    }
    for (int m = 1; m <= t->top && !sink->errnum && !sink->zfail; m++) {
        snprintf(line, sizeof line, "\n\\%d-grams:\n", m);
        buf_str(&bufs[0], line);
        sink_put(sink, &bufs[0], 0);
        size_t lo = m == 1 ? 0 : F->ctx_first[F->ctx_order_start[m - 2]];
        size_t hi = m == 1 ? (size_t)V : F->ctx_first[F->ctx_order_start[m - 1]];
        long n_blocks = (long)((hi - lo + BLOCK_FEATURES - 1) / BLOCK_FEATURES);
#pragma omp parallel for ordered schedule(dynamic, 1) num_threads(T)
        for (long i = 0; i < n_blocks; i++) {
#ifdef _OPENMP
            text_buf *b = &bufs[omp_get_thread_num()];
#else
            text_buf *b = &bufs[0];
#endif
            size_t f_lo = lo + (size_t)i * BLOCK_FEATURES;
            size_t f_hi = f_lo + BLOCK_FEATURES < hi ? f_lo + BLOCK_FEATURES : hi;
            format_block(t, ws, m, f_lo, f_hi, b);
            size_t z_len = sink->gz ? gz_member(b) : 0;
#pragma omp ordered
            sink_put(sink, b, z_len);
        }
    }
    buf_str(&bufs[0], "\n\\end\\\n");
    sink_put(sink, &bufs[0], 0);
    rc = 0;
out:
    if (bufs)
        for (int i = 0; i < T; i++) {
            free(bufs[i].p);
            free(bufs[i].z);
        }
    free(bufs);
    free(ws);
    return rc;
}

int nglm_arpa_table_write(const nglm_arpa_table *t, FILE *fp, nglm_error *err)
{
    arpa_sink sink = {fp, 0, 0, 0};
    if (table_emit(t, &sink, err) != 0)
        return -1;
    if (sink.errnum)
        return nglm_error_errno(err, sink.errnum, "error writing the ARPA file");
    return 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

int nglm_arpa_table_save(const nglm_arpa_table *t, const char *path, nglm_error *err)
{
    if (strcmp(path, "-") == 0) {
        if (nglm_arpa_table_write(t, stdout, err) != 0)
            return -1;
        if (fflush(stdout) != 0 || ferror(stdout))
            return nglm_error_errno(err, errno, "error writing the ARPA file to stdout");
        return 0;
    }
    /* written to a temporary file renamed over PATH (fileio.h): a failed
     * write leaves an existing file as it was */
    nglm_atomic at;
    if (nglm_atomic_open(&at, path, err) != 0)
        return -1;
    setvbuf(at.fp, NULL, _IOFBF, 1 << 20);
    arpa_sink sink = {at.fp, ends_with(path, ".gz"), 0, 0};
    if (table_emit(t, &sink, err) != 0) {
        nglm_atomic_abort(&at);
        return -1;
    }
    if (sink.zfail) {
        nglm_atomic_abort(&at);
        return nglm_error_set(err, "%s: compression failed (out of memory?)", path);
    }
    if (sink.errnum)
        return nglm_atomic_fail(&at, sink.errnum, err);
    return nglm_atomic_commit(&at, err);
}

/* ================================================================ export */

/* The export of m as a table: the caller frees t->logp, t->ctx_bow and
 * t->named (one allocation each). */
static int export_table(const nglm_model *m, nglm_arpa_table *t, int threads, nglm_error *err)
{
    const nglm_features *F = &m->feat;
    size_t n_skip_weights = 0; /* a skip-gram weight of 0 changes no probability */
    for (size_t f = F->n_ngram_feat; f < F->n_feat; f++)
        n_skip_weights += m->theta[f] != 0;
    if (n_skip_weights > 0)
        return nglm_error_set(err, "model has %zu skip-gram features with non-zero weights, "
                                   "which ARPA cannot express: train with --features ngram",
                              n_skip_weights);
    if (F->order > 1 && (!F->ctx1 || !F->child_first))
        return nglm_error_set(err, "the model's feature index is not built");
    int32_t V = F->V;
    size_t nf = F->n_ngram_feat, nc = F->n_ctx;
    double *s = malloc(nf * sizeof *s);
    double *lnz = malloc((nc ? nc : 1) * sizeof *lnz);
    int32_t *named = malloc(nf * sizeof *named);
    if (!s || !lnz || !named) {
        free(s);
        free(lnz);
        free(named);
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
    for (int32_t w = 0; w < V; w++)
        s[w] = m->theta[w];

    /* ln Z of every context and the scores of every feature, one context
     * length at a time (a context needs only its parent's) */
    int bad = 0;
    for (int k = 1; k < F->order; k++) {
        long lo = (long)F->ctx_order_start[k - 1], hi = (long)F->ctx_order_start[k];
#pragma omp parallel for schedule(dynamic, 1024) reduction(| : bad) num_threads(threads)
        for (long c = lo; c < hi; c++) {
            int32_t p = F->ctx_parent[c];
            double lzp = p < 0 ? lnU : lnz[p], d = 0;
            for (uint32_t f = F->ctx_first[c]; f < F->ctx_first[c + 1]; f++) {
                int32_t b = F->feat_back[f];
                s[f] = s[b] + m->theta[f];
                d += exp(s[f] - lzp) - exp(s[b] - lzp);
            }
            bad |= !(d > -1) || !isfinite(d);
            lnz[c] = lzp + log1p(d);
        }
    }
    size_t n_named = nglm_features_named_contexts(F, named, threads);
    if (bad || n_named != nc) {
        free(s);
        free(lnz);
        free(named);
        return bad ? nglm_error_set(err, "a context's normaliser is not a positive finite "
                                         "number")
                   : nglm_error_set(err, "the feature index is not closed under prefixes "
                                         "(%zu of %zu contexts are listed n-grams)",
                                    n_named, nc);
    }

    /* log10 P(w | c) = (s(c, w) − ln Z(c)) / ln 10 in place of s; <s> is
     * never predicted */
    for (int32_t w = 0; w < V; w++)
        s[w] = w == NGLM_BOS ? -99.0 : (s[w] - lnU) / M_LN10;
    for (size_t c = 0; c < nc; c++)
        for (uint32_t f = F->ctx_first[c]; f < F->ctx_first[c + 1]; f++)
            s[f] = (s[f] - lnz[c]) / M_LN10;
    /* log10 β(x) = (ln Z(x⁻) − ln Z(x)) / ln 10 in place of ln Z: parents
     * come first, so going down leaves each parent's ln Z until its
     * children are done */
    for (size_t x = nc; x-- > 0;) {
        int32_t p = F->ctx_parent[x];
        lnz[x] = ((p < 0 ? lnU : lnz[p]) - lnz[x]) / M_LN10;
    }

    /* the highest order written is the highest with an n-gram */
    int top = 1;
    for (int k = 1; k < F->order; k++)
        if (F->ctx_first[F->ctx_order_start[k]] > F->ctx_first[F->ctx_order_start[k - 1]])
            top = k + 1;
    /* 10 significant digits keep the exported probabilities within
     * ~1e-10 (relative) of nglm's own */
    nglm_arpa_table tt = {F, m->vocab, s, lnz, 1.0, named, top, 10, threads, ""};
    nglm_arpa_tok_comment(&m->tok, tt.comment, sizeof tt.comment);
    *t = tt;
    return 0;
}

void nglm_arpa_tok_comment(const nglm_tok_options *tok, char *buf, size_t n)
{
    char spelled[96];
    buf[0] = '\0';
    if (tok && !nglm_tok_options_is_default(tok))
        snprintf(buf, n, "nglm: the text is tokenized as %s (nglm-eval --print-tokens "
                         "shows the tokens)", nglm_tok_options_spell(tok, spelled, sizeof spelled));
}

static void export_free(nglm_arpa_table *t)
{
    free((void *)t->logp);
    free((void *)t->ctx_bow);
    free((void *)t->named);
}

int nglm_arpa_write(const nglm_model *m, FILE *fp, nglm_error *err)
{
    nglm_arpa_table t;
    if (export_table(m, &t, 1, err) != 0)
        return -1;
    int rc = nglm_arpa_table_write(&t, fp, err);
    export_free(&t);
    return rc;
}

int nglm_arpa_save(const nglm_model *m, const char *path, nglm_error *err)
{
    nglm_arpa_table t;
    if (export_table(m, &t, 1, err) != 0) /* refused before anything is created */
        return -1;
    int rc = nglm_arpa_table_save(&t, path, err);
    export_free(&t);
    return rc;
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
    nglm_tok_options tok; /* from a "# ... tokenized as ..." header line */
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
static int arpa_parse(nglm_arpa *a, arpa_in *in, nglm_error *err)
{
    const char *path = in->path;
    int r;
    /* header: blank lines and '#' comments (nglm's says how the text is
     * tokenized: nglm_arpa_tok_comment), then \data\ */
    a->tok = nglm_tok_options_default();
    while ((r = in_next(in, err)) == 1 && (in->line[0] == '\0' || in->line[0] == '#'))
        if (strncmp(in->line, "# nglm: the text is tokenized as ", 33) == 0)
            a->tok = nglm_tok_options_from_text(in->line);
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
    int64_t nodes[NGLM_ARPA_MAX_ORDER];
    char *fields[NGLM_ARPA_MAX_ORDER + 3];
    arpa_prev prev = { NULL, 0, { 0 }, { 0 }, { 0 }, 0 };
    arpa_pending pend;
    memset(&pend, 0, sizeof pend);
    int rc = -1;
    for (int k = 1; k <= a->order; k++) {
        prev.k = 0;
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
            if (lp > 0) { /* as KenLM refuses it: no back-off model can hold it */
                nglm_error_set(err, "%s:%zu: positive log10 probability %.60s (a probability "
                                    "above 1): the file is broken", path, in->lineno,
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
            int known = prev_shared(&prev, fields + 1, k);
            for (int j = 0; j < known; j++)
                ids[j] = prev.ids[j];
            memcpy(nodes, prev.nodes, sizeof nodes);
            for (int j = known; j < k; j++) {
                int32_t w = nglm_vocab_find(a->vocab, fields[1 + j]);
                if (w < 0 || isnan(a->logp[w])) {
                    nglm_error_set(err, "%s:%zu: word '%.60s' is not among the 1-grams", path,
                                   in->lineno, fields[1 + j]);
                    goto out;
                }
                ids[j] = w;
            }
            if (insert_prefix(a, ids, k, nodes, known, in, err) != 0)
                goto out;
            arpa_pending_ngram g = { k, nodes[k - 2], ids[k - 1], lp, bow, in->lineno };
            if (pending_push(a, &pend, &g, path, err) != 0)
                goto out;
            if (prev_keep(&prev, fields + 1, ids, nodes, k) != 0) {
                nglm_error_set(err, "%s:%zu: out of memory", path, in->lineno);
                goto out;
            }
        }
        if (pending_flush(a, &pend, path, err) != 0)
            goto out;
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
    if (rc != 0 && pend.n > 0 && err) { /* the waiting n-grams' lines came first */
        nglm_error later = *err;
        if (pending_flush(a, &pend, path, err) == 0)
            *err = later;
    }
    for (size_t i = 0; i < n_uni; i++)
        free(uni[i].word);
    free(uni);
    free(prev.text);
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

int nglm_arpa_eval_corpus(const nglm_arpa *a, const nglm_corpus *c, int per_sentence,
                          nglm_eval_report *r, nglm_error *err)
{
    memset(r, 0, sizeof *r);
    double *lp = malloc((c->n_tokens ? c->n_tokens : 1) * sizeof *lp);
    if (!lp)
        return nglm_error_set(err, "out of memory scoring %zu tokens", c->n_tokens);
    int rc = nglm_arpa_score_corpus(a, c, lp, err);
    if (rc == 0)
        rc = nglm_eval_tokens(c, NULL, lp, per_sentence, r, err);
    free(lp);
    return rc;
}

/* ================================================================ to a model */

/* Sort record of a listed n-gram of length >= 2: its trie parent (the node
 * of its first words), last word and node. */
typedef struct conv_edge {
    int64_t parent;
    int32_t word;
    int64_t node;
} conv_edge;

static int cmp_edge(const void *x, const void *y)
{
    const conv_edge *a = x, *b = y;
    if (a->parent != b->parent)
        return a->parent < b->parent ? -1 : 1;
    return (a->word > b->word) - (a->word < b->word);
}

/* Sort record of a context: its nglm parent and oldest word, its node. */
typedef struct conv_ctx {
    int64_t key;   /* PACK(nglm parent + 1, oldest word) */
    int64_t node;
} conv_ctx;

static int cmp_ctx(const void *x, const void *y)
{
    const conv_ctx *a = x, *b = y;
    return (a->key > b->key) - (a->key < b->key);
}

/* The trie node of words ids[0..k), or -1. */
static int64_t conv_node(const nglm_arpa *a, const int32_t *ids, int k)
{
    int64_t node = ids[0];
    for (int j = 1; j < k && node >= 0; j++)
        node = u64map_get(&a->child, PACK(node, ids[j]), -1);
    return node;
}

int nglm_arpa_to_model(const nglm_arpa *a, nglm_model *m, nglm_error *err)
{
    memset(m, 0, sizeof *m);
    if (a->order > NGLM_MAX_ORDER)
        return nglm_error_set(err, "an ARPA model of order %d: nglm models go up to %d",
                              a->order, NGLM_MAX_ORDER);
    if (!a->has_unk)
        return nglm_error_set(err, "the ARPA model has no <unk>: it skips OOVs, which an "
                                   "nglm model scores as <unk>");
    size_t n = a->n_node, n_edge = 0;
    int32_t V = a->V;
    int64_t *par = malloc(n * sizeof *par), *ctx_of = malloc(n * sizeof *ctx_of);
    int32_t *last = malloc(n * sizeof *last), *first = malloc(n * sizeof *first);
    uint8_t *len = malloc(n), *has_kid = calloc(n ? n : 1, 1);
    conv_edge *edge = malloc((a->child.size ? a->child.size : 1) * sizeof *edge);
    conv_ctx *cx = NULL;
    int64_t *kid_start = NULL;
    nglm_kn kn; /* only its ln P and ln γ: nglm_kn_to_weights makes the weights */
    memset(&kn, 0, sizeof kn);
    nglm_features *F = &m->feat;
    int rc = -1;
    if (!par || !ctx_of || !last || !first || !len || !has_kid || !edge)
        goto oom;
    /* the trie's shape: every node's parent, last and first word, length
     * (a node is created after its parent, so ids increase downwards) */
    for (size_t x = 0; x < n; x++) {
        par[x] = -1;
        ctx_of[x] = -1;
    }
    for (size_t i = 0; i < a->child.cap; i++) {
        const u64map_entry *e = &a->child.e[i];
        if (e->key == U64MAP_EMPTY)
            continue;
        par[e->val] = (int64_t)(e->key >> 32);
        last[e->val] = (int32_t)(uint32_t)e->key;
        if (!isnan(a->logp[e->val]))
            edge[n_edge++] = (conv_edge){ par[e->val], last[e->val], e->val };
    }
    for (size_t x = 0; x < n; x++) {
        len[x] = par[x] < 0 ? 1 : len[par[x]] + 1;
        first[x] = par[x] < 0 ? (int32_t)x : first[par[x]];
    }
    qsort(edge, n_edge, sizeof *edge, cmp_edge);
    kid_start = malloc((n + 1) * sizeof *kid_start);
    cx = malloc((n_edge ? n_edge : 1) * sizeof *cx);
    kn.lnp = malloc(((size_t)V + n_edge) * sizeof *kn.lnp);
    if (!kid_start || !cx || !kn.lnp)
        goto oom;
    for (size_t x = 0; x <= n; x++)
        kid_start[x] = 0;
    for (size_t i = 0; i < n_edge; i++) {
        kid_start[edge[i].parent + 1]++;
        has_kid[edge[i].parent] = 1;
    }
    for (size_t x = 0; x < n; x++)
        kid_start[x + 1] += kid_start[x];

    /* the index: contexts are the nodes with a listed child, numbered by
     * length, then by (nglm parent, oldest word); a context's nglm parent is
     * the node of its words without the oldest */
    size_t n_ctx = 0, n_feat = (size_t)V;
    for (size_t x = 0; x < n; x++)
        n_ctx += has_kid[x];
    F->order = a->order > 0 ? a->order : 1;
    F->V = V;
    for (int k = 0; k <= NGLM_MAX_ORDER; k++)
        F->cutoff[k] = 1;
    F->ctx_parent = malloc((n_ctx ? n_ctx : 1) * sizeof *F->ctx_parent);
    F->ctx_word = malloc((n_ctx ? n_ctx : 1) * sizeof *F->ctx_word);
    F->ctx_first = malloc((n_ctx + 1) * sizeof *F->ctx_first);
    F->feat_word = malloc(((size_t)V + n_edge) * sizeof *F->feat_word);
    F->feat_back = malloc(((size_t)V + n_edge) * sizeof *F->feat_back);
    F->feat_count = calloc((size_t)V + n_edge, sizeof *F->feat_count);
    m->theta = malloc(((size_t)V + n_edge) * sizeof *m->theta);
    kn.lnbo = malloc((n_ctx ? n_ctx : 1) * sizeof *kn.lnbo);
    if (!F->ctx_parent || !F->ctx_word || !F->ctx_first || !F->feat_word || !F->feat_back ||
        !F->feat_count || !m->theta || !kn.lnbo)
        goto oom;
    for (int32_t w = 0; w < V; w++) {
        double lp = a->logp[w];
        if (w != NGLM_BOS && !isfinite(lp)) {
            nglm_error_set(err, "the 1-gram '%s' has probability 0 (or is missing), which "
                           "no softmax weight can express", nglm_vocab_word(a->vocab, w));
            goto out;
        }
        F->feat_word[w] = w;
        F->feat_back[w] = -1;
        kn.lnp[w] = w == NGLM_BOS ? 0 : lp * M_LN10;
    }
    size_t c = 0;
    for (int k = 1; k < F->order; k++) {
        size_t lo = c, n_k = 0;
        for (size_t x = 0; x < n; x++) {
            if (!has_kid[x] || len[x] != k)
                continue;
            int64_t p = -1; /* nglm parent: the context of words 2..k */
            if (k > 1) {
                int32_t ids[NGLM_ARPA_MAX_ORDER];
                int64_t y = (int64_t)x;
                for (int j = k - 1; j >= 0; j--, y = par[y])
                    ids[j] = len[y] == 1 ? (int32_t)y : last[y]; /* a 1-gram's node is its id */
                int64_t s = conv_node(a, ids + 1, k - 1);
                p = s >= 0 ? ctx_of[s] : -1;
                if (p < 0) {
                    nglm_error_set(err, "the ARPA model is not closed under suffixes (an "
                                   "n-gram whose shorter suffix is missing): it has no exact "
                                   "nglm form");
                    goto out;
                }
            }
            cx[lo + n_k++] = (conv_ctx){ (int64_t)PACK(p + 1, first[x]), (int64_t)x };
        }
        qsort(cx + lo, n_k, sizeof *cx, cmp_ctx);
        for (size_t i = lo; i < lo + n_k; i++) {
            int64_t x = cx[i].node;
            ctx_of[x] = (int64_t)i;
            F->ctx_parent[i] = (int32_t)(cx[i].key >> 32) - 1;
            F->ctx_word[i] = first[x];
            F->ctx_first[i] = (uint32_t)n_feat;
            kn.lnbo[i] = a->bow[x] * M_LN10;
            int32_t pc = F->ctx_parent[i];
            /* the successors: the node's listed children, by word */
            for (int64_t e = kid_start[x]; e < kid_start[x + 1]; e++) {
                int32_t w = edge[e].word;
                int32_t b = w;
                if (pc >= 0) {
                    F->n_feat = n_feat; /* nglm_features_find reads F's ranges */
                    b = nglm_features_find(F, pc, w);
                }
                if (b < 0) {
                    nglm_error_set(err, "the ARPA model is not closed under suffixes (an "
                                   "n-gram whose shorter suffix is missing): it has no exact "
                                   "nglm form");
                    goto out;
                }
                F->feat_word[n_feat] = w;
                F->feat_back[n_feat] = b;
                kn.lnp[n_feat] = a->logp[edge[e].node] * M_LN10;
                n_feat++;
            }
        }
        c = lo + n_k;
        F->ctx_order_start[k] = c;
    }
    for (int k = F->order; k <= NGLM_MAX_ORDER; k++)
        F->ctx_order_start[k] = c;
    F->ctx_order_start[0] = 0;
    F->n_ctx = c;
    F->ctx_first[c] = (uint32_t)n_feat;
    F->n_feat = F->n_ngram_feat = n_feat;
    F->skip_cutoff = 1;
    if (c != n_ctx) { /* listed n-grams under a node longer than the order */
        nglm_error_set(err, "the ARPA model's n-grams do not fit its order");
        goto out;
    }
    if (nglm_features_index(F, err) != 0) {
        nglm_error_prefix(err, "converting the ARPA model");
        goto out;
    }
    /* the weights: the conversion of a Kneser-Ney estimate, which is the
     * same back-off form (doc/model.md §6) */
    if (nglm_kn_to_weights(&kn, F, m->theta, err) != 0)
        goto out;
    for (size_t f = 0; f < n_feat; f++)
        if (!isfinite(m->theta[f])) {
            nglm_error_set(err, "an n-gram has probability 0, which no softmax weight can "
                                "express");
            goto out;
        }
    const char **words = malloc((size_t)V * sizeof *words);
    if (!words)
        goto oom;
    for (int32_t w = 0; w < V; w++)
        words[w] = nglm_vocab_word(a->vocab, w);
    m->vocab = nglm_vocab_from_list(words, NULL, (size_t)V, err);
    free(words);
    if (!m->vocab)
        goto out;
    m->tok = a->tok;
    rc = 0;
    goto out;
oom:
    nglm_error_set(err, "out of memory converting an ARPA model of %zu n-grams", n);
out:
    free(par);
    free(ctx_of);
    free(last);
    free(first);
    free(len);
    free(has_kid);
    free(edge);
    free(cx);
    free(kn.lnp);
    free(kn.lnbo);
    free(kid_start);
    if (rc != 0)
        nglm_model_free(m);
    return rc;
}
