/*
 * arpa_write.c — writing ARPA files: the one writer (arpa_write.h) that
 * both the exact export of an n-gram-only softmax model and the Kneser-Ney
 * estimate (kn.c) use, and that export (nglm_arpa_write, nglm_arpa_save).
 *
 * Export computes every context's ln Z with nglm_model_norms (model.c; the
 * model file's NORMS section is the same numbers), then each n-gram's
 * log10 P and each context's back-off weight from them.
 *
 * The back-off weight of a context x is written on the n-gram that names
 * it (nglm_features_named_contexts).  Prefix closure means every context
 * is named; the export checks it, since a missing back-off weight would
 * make the file inexact.  Reading is arpa.c.
 */
#include "nglm/arpa.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "arpa_write.h"
#include "fileio.h"

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
    size_t n_skip_weights = nglm_model_skip_nonzero(m);
    if (n_skip_weights > 0)
        return nglm_error_set(err, "model has %zu skip-gram features with non-zero weights, "
                                   "which ARPA cannot express: train with n-gram features alone",
                              n_skip_weights);
    if (F->order > 1 && (!F->ctx1 || !F->child_first))
        return nglm_error_set(err, "the model's feature index is not built");
    int32_t V = F->V;
    size_t nf = F->n_ngram_feat, nc = F->n_ctx;
    double *s = malloc(nf * sizeof *s);
    double *lnz = malloc((nc + 1) * sizeof *lnz); /* lnz[0] = ln U, lnz[1 + c] = ln Z(c) */
    int32_t *named = malloc(nf * sizeof *named);
    if (!s || !lnz || !named) {
        free(s);
        free(lnz);
        free(named);
        return nglm_error_set(err, "out of memory exporting %zu features", nf);
    }

    /* ln Z of every context and the scores of every feature (the helper
     * the model file's NORMS section is written with) */
    int bad = nglm_model_norms(m, s, lnz, threads, err) != 0;
    double lnU = lnz[0];
    size_t n_named = nglm_features_named_contexts(F, named, threads);
    if (bad || n_named != nc) {
        free(s);
        free(lnz);
        free(named);
        return bad ? -1
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
            s[f] = (s[f] - lnz[c + 1]) / M_LN10;
    /* log10 β(x) = (ln Z(x⁻) − ln Z(x)) / ln 10 in place of ln Z: parents
     * come first, so going down leaves each parent's ln Z until its
     * children are done; the table's ctx_bow[x] is then lnz[1 + x] */
    for (size_t x = nc; x-- > 0;) {
        int32_t p = F->ctx_parent[x];
        lnz[x + 1] = (lnz[p + 1] - lnz[x + 1]) / M_LN10;
    }

    /* the highest order written is the highest with an n-gram */
    int top = 1;
    for (int k = 1; k < F->order; k++)
        if (F->ctx_first[F->ctx_order_start[k]] > F->ctx_first[F->ctx_order_start[k - 1]])
            top = k + 1;
    /* 10 significant digits keep the exported probabilities within
     * ~1e-10 (relative) of nglm's own */
    nglm_arpa_table tt = {F, m->vocab, s, lnz + 1, 1.0, named, top, 10, threads, ""};
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
    free((void *)(t->ctx_bow - 1)); /* the allocation starts with ln U */
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

