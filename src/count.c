/*
 * count.c — sort, spill and merge counting of (hi, lo) pairs within a
 * memory budget (see count.h for the contract).
 *
 * The buffers are sorted by LSD radix sort on the bits actually in use
 * (lo_bits of lo, then hi_bits of hi), 11 bits a pass, skipping a pass when
 * every record has the same digit; all the histograms are taken in one read
 * before the first pass.  Runs on disk are read back through small buffers
 * with pread, so one file descriptor per thread serves any number of runs.
 */
#include "count.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#define RADIX_BITS 11
#define RADIX (1u << RADIX_BITS)
#define MAX_DIGITS ((64 + 32 + RADIX_BITS - 1) / RADIX_BITS)

/* A merge source: a sorted run, in memory or on disk. */
struct nglm_count_src {
    const nglm_count_rec *p, *end; /* records not yet merged, in memory */
    nglm_count_rec *buf;           /* read buffer of a disk run (NULL: memory run) */
    nglm_count_rec *owned;         /* buf, when allocated apart */
    size_t buf_cap;
    int fd;
    uint64_t next_off, left;       /* disk records not yet read */
};

/* ------------------------------------------------------------------ sort */

/* Digit d of r: digits 0 .. lo_digits-1 come from lo, the rest from hi. */
static inline uint32_t digit(const nglm_count_rec *r, int d, int lo_digits)
{
    if (d < lo_digits)
        return (r->lo >> (d * RADIX_BITS)) & (RADIX - 1);
    return (uint32_t)(r->hi >> ((d - lo_digits) * RADIX_BITS)) & (RADIX - 1);
}

/* Sorts a[0..n) by (hi, lo); tmp has room for n records.  Returns the array
 * holding the result (a or tmp). */
static nglm_count_rec *radix_sort(nglm_count_rec *a, nglm_count_rec *tmp, size_t n,
                                  int hi_bits, int lo_bits)
{
    int lo_digits = (lo_bits + RADIX_BITS - 1) / RADIX_BITS;
    int hi_digits = (hi_bits + RADIX_BITS - 1) / RADIX_BITS;
    int nd = lo_digits + hi_digits;
    size_t *hist = calloc((size_t)(nd ? nd : 1) * RADIX, sizeof *hist);
    if (!hist) { /* fall back on a slower sort in place */
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        for (int d = 0; d < nd; d++)
            hist[(size_t)d * RADIX + digit(&a[i], d, lo_digits)]++;
    nglm_count_rec *src = a, *dst = tmp;
    for (int d = 0; d < nd; d++) {
        size_t *h = hist + (size_t)d * RADIX;
        if (h[digit(&src[0], d, lo_digits)] == n)
            continue; /* one bucket: the pass would not move anything */
        size_t sum = 0;
        for (uint32_t b = 0; b < RADIX; b++) {
            size_t c = h[b];
            h[b] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            dst[h[digit(&src[i], d, lo_digits)]++] = src[i];
        nglm_count_rec *t = src;
        src = dst;
        dst = t;
    }
    free(hist);
    return src;
}

static int cmp_rec(const void *x, const void *y)
{
    const nglm_count_rec *a = x, *b = y;
    if (a->hi != b->hi)
        return a->hi < b->hi ? -1 : 1;
    return a->lo < b->lo ? -1 : a->lo > b->lo;
}

/* Sorts and combines buffer b in place; b->n becomes the distinct count. */
static void sort_combine(nglm_counter *C, nglm_count_buf *b)
{
    if (b->n == 0)
        return;
    nglm_count_rec *s = radix_sort(b->rec, b->tmp, b->n, C->hi_bits, C->lo_bits);
    if (!s) {
        qsort(b->rec, b->n, sizeof *b->rec, cmp_rec);
        s = b->rec;
    }
    size_t m = 0;
    for (size_t i = 0; i < b->n; i++) {
        if (m > 0 && s[i].hi == b->rec[m - 1].hi && s[i].lo == b->rec[m - 1].lo)
            b->rec[m - 1].n += s[i].n;
        else
            b->rec[m++] = s[i];
    }
    b->n = m;
}

/* ------------------------------------------------------------------ spill */

static int write_all(int fd, const void *p, size_t len, uint64_t off)
{
    const char *c = p;
    while (len > 0) {
        ssize_t w = pwrite(fd, c, len, (off_t)off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (w == 0) {
            errno = ENOSPC;
            return -1;
        }
        c += w;
        len -= (size_t)w;
        off += (uint64_t)w;
    }
    return 0;
}

int nglm_counter_spill(nglm_counter *C, int tid)
{
    nglm_count_buf *b = &C->buf[tid];
    if (b->failed)
        return -1;
    sort_combine(C, b);
    if (b->fd < 0) {
        char path[sizeof C->dir + 32];
        snprintf(path, sizeof path, "%s/nglm-count-XXXXXX", C->dir);
        b->fd = mkstemp(path);
        if (b->fd < 0) {
            b->failed = 1;
            return nglm_error_errno(&b->err, errno,
                                    "counting: cannot create a temporary file in %s", C->dir);
        }
        unlink(path); /* gone when closed, whatever happens */
    }
    if (b->n_runs == b->runs_cap) {
        size_t cap = b->runs_cap ? 2 * b->runs_cap : 16;
        nglm_count_run *r = realloc(b->runs, cap * sizeof *r);
        if (!r) {
            b->failed = 1;
            return nglm_error_set(&b->err, "counting: out of memory");
        }
        b->runs = r;
        b->runs_cap = cap;
    }
    if (write_all(b->fd, b->rec, b->n * sizeof *b->rec, b->file_len * sizeof *b->rec) != 0) {
        b->failed = 1;
        return nglm_error_errno(&b->err, errno,
                                "counting: writing a temporary file in %s (spill to another "
                                "directory, or count in more memory)", C->dir);
    }
    b->runs[b->n_runs].off = b->file_len;
    b->runs[b->n_runs].len = b->n;
    b->n_runs++;
    b->file_len += b->n;
#pragma omp atomic
    C->spilled += b->n;
    b->n = 0;
    return 0;
}

/* ------------------------------------------------------------------ setup */

int nglm_counter_init(nglm_counter *C, const nglm_count_opts *opt, size_t max_per_thread,
                      int hi_bits, int lo_bits, nglm_error *err)
{
    memset(C, 0, sizeof *C);
    C->threads = opt && opt->threads > 0 ? opt->threads : 1;
    C->hi_bits = hi_bits;
    C->lo_bits = lo_bits;
    const char *dir = opt && opt->temp_dir ? opt->temp_dir : getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    if (strlen(dir) >= sizeof C->dir)
        return nglm_error_set(err, "counting: temporary directory name too long");
    strcpy(C->dir, dir);
    size_t memory = opt && opt->memory ? opt->memory : NGLM_COUNT_MEMORY_DEFAULT;
    size_t cap = memory / ((size_t)C->threads * 2 * sizeof(nglm_count_rec));
    if (cap > ((size_t)1 << 31))
        cap = (size_t)1 << 31; /* run counts stay below 2^32 */
    if (cap > max_per_thread)
        cap = max_per_thread;
    if (cap < 64)
        cap = 64;
    C->buf = calloc((size_t)C->threads, sizeof *C->buf);
    if (!C->buf)
        return nglm_error_set(err, "counting: out of memory");
    for (int t = 0; t < C->threads; t++) {
        nglm_count_buf *b = &C->buf[t];
        b->fd = -1;
        b->cap = cap;
        b->rec = malloc(2 * cap * sizeof *b->rec);
        if (!b->rec) {
            nglm_counter_free(C);
            return nglm_error_set(err, "counting: out of memory for %zu-byte buffers (count in less memory)",
                                  2 * cap * sizeof(nglm_count_rec));
        }
        b->tmp = b->rec + cap;
    }
    return 0;
}

void nglm_counter_reset(nglm_counter *C, int hi_bits, int lo_bits)
{
    for (int t = 0; t < C->threads; t++) {
        nglm_count_buf *b = &C->buf[t];
        if (b->fd >= 0)
            close(b->fd);
        b->fd = -1;
        b->n = 0;
        b->file_len = 0;
        b->n_runs = 0;
        b->failed = 0;
    }
    if (C->src)
        for (size_t i = 0; i < C->n_src; i++)
            free(C->src[i].owned);
    free(C->src);
    free(C->heap);
    C->src = NULL;
    C->heap = NULL;
    C->n_src = C->n_heap = 0;
    C->hi_bits = hi_bits;
    C->lo_bits = lo_bits;
}

/* ------------------------------------------------------------------ merge */

static int src_less(const nglm_count_src *a, const nglm_count_src *b)
{
    return a->p->hi != b->p->hi ? a->p->hi < b->p->hi : a->p->lo < b->p->lo;
}

static void heap_down(nglm_counter *C, size_t i)
{
    size_t *h = C->heap, n = C->n_heap;
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < n && src_less(&C->src[h[l]], &C->src[h[m]]))
            m = l;
        if (l + 1 < n && src_less(&C->src[h[l + 1]], &C->src[h[m]]))
            m = l + 1;
        if (m == i)
            return;
        size_t t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

/* Refills a disk source's buffer; returns 1 if it has records, 0 if done,
 * -1 on a read error. */
static int src_fill(nglm_counter *C, nglm_count_src *s, nglm_error *err)
{
    if (s->p < s->end)
        return 1;
    if (!s->buf || s->left == 0)
        return 0;
    size_t n = s->left < s->buf_cap ? (size_t)s->left : s->buf_cap;
    size_t want = n * sizeof *s->buf, got = 0;
    char *dst = (char *)s->buf;
    while (got < want) {
        ssize_t r = pread(s->fd, dst + got, want - got, (off_t)(s->next_off * sizeof *s->buf + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return nglm_error_errno(err, r < 0 ? errno : EIO,
                                    "counting: reading a temporary file in %s", C->dir);
        got += (size_t)r;
    }
    s->next_off += n;
    s->left -= n;
    s->p = s->buf;
    s->end = s->buf + n;
    return 1;
}

int nglm_counter_finish(nglm_counter *C, nglm_error *err)
{
    for (int t = 0; t < C->threads; t++)
        if (C->buf[t].failed) {
            *err = C->buf[t].err;
            return -1;
        }
#pragma omp parallel for schedule(static, 1) num_threads(C->threads)
    for (int t = 0; t < C->threads; t++)
        sort_combine(C, &C->buf[t]);

    size_t n_disk = 0;
    for (int t = 0; t < C->threads; t++)
        n_disk += C->buf[t].n_runs;
    C->n_src = n_disk + (size_t)C->threads;
    C->src = calloc(C->n_src, sizeof *C->src);
    C->heap = malloc(C->n_src * sizeof *C->heap);
    if (!C->src || !C->heap)
        return nglm_error_set(err, "counting: out of memory merging %zu runs", C->n_src);
    /* Read buffers for the disk runs: the radix scratch halves are free
     * now, so the merge stays within the budget; each half holds `share`
     * buffers.  Only with far more runs than the budget has room for
     * (buffers under 64 records) are they allocated apart. */
    size_t share = (n_disk + (size_t)C->threads - 1) / (size_t)C->threads;
    size_t per = share ? C->buf[0].cap / share : 0, slot = 0;
    int own = per < 64;
    if (own)
        per = 64;
    size_t k = 0;
    for (int t = 0; t < C->threads; t++) {
        nglm_count_buf *b = &C->buf[t];
        for (size_t r = 0; r < b->n_runs; r++, k++, slot++) {
            nglm_count_src *s = &C->src[k];
            s->fd = b->fd;
            s->next_off = b->runs[r].off;
            s->left = b->runs[r].len;
            s->buf_cap = per;
            if (own) {
                s->owned = malloc(per * sizeof *s->buf);
                s->buf = s->owned;
            } else {
                s->buf = C->buf[slot / share].tmp + (slot % share) * per;
            }
            if (!s->buf)
                return nglm_error_set(err, "counting: out of memory merging %zu runs", C->n_src);
        }
        C->src[k].p = b->rec;
        C->src[k].end = b->rec + b->n;
        C->src[k].fd = -1;
        k++;
    }
    C->n_heap = 0;
    for (size_t i = 0; i < C->n_src; i++) {
        int r = src_fill(C, &C->src[i], err);
        if (r < 0)
            return -1;
        if (r > 0)
            C->heap[C->n_heap++] = i;
    }
    for (size_t i = C->n_heap; i-- > 0;)
        heap_down(C, i);
    return 0;
}

int nglm_counter_next(nglm_counter *C, uint64_t *hi, uint32_t *lo, uint64_t *count,
                      nglm_error *err)
{
    if (C->n_heap == 0)
        return 0;
    nglm_count_src *top = &C->src[C->heap[0]];
    *hi = top->p->hi;
    *lo = top->p->lo;
    *count = 0;
    while (C->n_heap > 0) {
        top = &C->src[C->heap[0]];
        if (top->p->hi != *hi || top->p->lo != *lo)
            break;
        *count += top->p->n;
        top->p++;
        int r = src_fill(C, top, err);
        if (r < 0)
            return -1;
        if (r == 0)
            C->heap[0] = C->heap[--C->n_heap];
        heap_down(C, 0);
    }
    return 1;
}

void nglm_counter_free(nglm_counter *C)
{
    if (C->buf)
        for (int t = 0; t < C->threads; t++) {
            free(C->buf[t].rec);
            free(C->buf[t].runs);
            if (C->buf[t].fd >= 0)
                close(C->buf[t].fd);
        }
    if (C->src)
        for (size_t i = 0; i < C->n_src; i++)
            free(C->src[i].owned);
    free(C->buf);
    free(C->src);
    free(C->heap);
    memset(C, 0, sizeof *C);
}
