/*
 * checkpoint.c — the trainer's state in a file (doc/checkpoint.md): saving
 * atomically, loading with full validation.
 *
 * Layout: a 32-byte header, a 176-byte block of scalars, then the arrays
 * theta, best, gsq, [avg], order (8 bytes an entry) and last (4 bytes),
 * zero-padded to a multiple of 8.  Numbers are in the writer's byte order,
 * declared by a byte-order mark, and are written field by field (no struct
 * dumps).  A CRC-32 (zlib) covers the whole file with its own field counted
 * as zero.
 *
 * The key decision is the same as model files' (src/modelfile.c): saving
 * streams to PATH.tmp.XXXXXX, folding every byte into the CRC, patches the
 * CRC into the header, fsyncs, renames over PATH and fsyncs the directory,
 * so a process killed at any moment, or a write that fails (disk full, file
 * size limit), leaves PATH as it was.  Loading checks the header's sizes
 * against the real file size before it allocates, reads the arrays straight
 * into place (a checkpoint is mostly arrays: no second copy in memory) and
 * checks the CRC before it returns anything.
 */
#include "nglm/checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "fileio.h"

#define CK_OFF_CRC 24
#define CK_HEAD_SIZE 208 /* header 32 + scalars 176 */
#define CK_BOM 0x01020304u


/* The file size for n_feat weights and n_sents sentences, or 0 if it does
 * not fit in 64 bits (a lying header). */
static uint64_t ck_file_size(uint64_t nf, uint64_t ns, int avg)
{
    uint64_t per_feat = 8 * (avg ? 4 : 3) + 4;
    if (nf > (UINT64_MAX / 2) / per_feat || ns > (UINT64_MAX / 4) / 8)
        return 0;
    uint64_t size = CK_HEAD_SIZE + nf * per_feat + ns * 8;
    return (size + 7) & ~(uint64_t)7;
}

/* ------------------------------------------------------------------ writing */

typedef nglm_io_writer ck_writer;

static void wr_bytes(ck_writer *w, const void *p, size_t n) { nglm_io_write(w, p, n); }

static void wr_u32(ck_writer *w, uint32_t x) { wr_bytes(w, &x, sizeof x); }
static void wr_u64(ck_writer *w, uint64_t x) { wr_bytes(w, &x, sizeof x); }
static void wr_f64(ck_writer *w, double x) { wr_bytes(w, &x, sizeof x); }

static void ck_write(ck_writer *w, const nglm_train_state *s)
{
    size_t nf = (size_t)s->n_feat, ns = (size_t)s->n_sents;
    uint64_t size = ck_file_size(s->n_feat, s->n_sents, s->avg != NULL);
    wr_bytes(w, NGLM_CHECKPOINT_MAGIC, 8);
    wr_u32(w, NGLM_CHECKPOINT_VERSION);
    wr_u32(w, CK_BOM);
    wr_u64(w, size);
    wr_u32(w, 0); /* CRC, patched later */
    wr_u32(w, (s->avg != NULL) | (s->schedule == NGLM_SCHEDULE_LINEAR) << 1); /* flags */
    /* scalars */
    wr_u32(w, s->fingerprint);
    wr_u32(w, s->optimizer);
    wr_u32(w, s->average);
    wr_u32(w, s->max_epochs);
    wr_u64(w, s->batch);
    wr_u64(w, s->seed);
    wr_f64(w, s->l1);
    wr_f64(w, s->l2);
    wr_f64(w, s->lr0);
    wr_f64(w, s->ada_init);
    wr_f64(w, s->min_gain);
    wr_u64(w, s->n_feat);
    wr_u64(w, s->n_sents);
    wr_u32(w, s->epoch);
    wr_u32(w, s->started);
    wr_u64(w, s->sent);
    wr_u64(w, s->tok);
    wr_u32(w, s->step);
    wr_u32(w, s->epoch_step0);
    wr_u64(w, s->rng);
    wr_f64(w, s->lr);
    wr_u32(w, s->decaying);
    wr_u32(w, s->best_epoch);
    wr_u32(w, s->divergences);
    wr_u32(w, s->halve_from);
    wr_f64(w, s->best_ppl);
    wr_f64(w, s->loss);
    wr_f64(w, s->elapsed_s);
    /* arrays */
    wr_bytes(w, s->theta, nf * sizeof *s->theta);
    wr_bytes(w, s->best, nf * sizeof *s->best);
    wr_bytes(w, s->gsq, nf * sizeof *s->gsq);
    if (s->avg)
        wr_bytes(w, s->avg, nf * sizeof *s->avg);
    wr_bytes(w, s->order, ns * sizeof *s->order);
    wr_bytes(w, s->last, nf * sizeof *s->last);
    static const unsigned char zero[8];
    if (!w->errnum && w->pos < size)
        wr_bytes(w, zero, (size_t)(size - w->pos));
    if (!w->errnum && w->pos != size)
        w->errnum = EIO; /* the size formula disagrees with the writer: a bug */
}


int nglm_checkpoint_save(const nglm_train_state *s, const char *path, nglm_error *err)
{
    if (!s->theta || !s->best || !s->gsq || !s->last || !s->order ||
        ck_file_size(s->n_feat, s->n_sents, s->avg != NULL) == 0)
        return nglm_error_set(err, "%s: cannot save an incomplete training state", path);
    nglm_atomic at;
    if (nglm_atomic_open(&at, path, err) != 0)
        return -1;
    ck_writer w;
    nglm_io_writer_init(&w, at.fp);
    ck_write(&w, s);
    if (w.errnum)
        return nglm_atomic_fail(&at, w.errnum, err);
    uint32_t crc = (uint32_t)w.crc;
    errno = 0;
    if (fseeko(at.fp, CK_OFF_CRC, SEEK_SET) != 0 || fwrite(&crc, sizeof crc, 1, at.fp) != 1)
        return nglm_atomic_fail(&at, errno, err);
    return nglm_atomic_commit(&at, err);
}

/* ------------------------------------------------------------------ reading */

typedef struct ck_reader {
    FILE *fp;
    uLong crc;
    int eof; /* a read came up short */
} ck_reader;

static void rd_bytes(ck_reader *r, void *p, size_t n)
{
    if (r->eof || n == 0)
        return;
    if (fread(p, 1, n, r->fp) != n) {
        r->eof = 1;
        return;
    }
    r->crc = nglm_io_crc(r->crc, p, n);
}

/* Scalars from the head block, which the caller has read whole. */
typedef struct ck_cursor {
    const unsigned char *p;
} ck_cursor;

static uint32_t cu_u32(ck_cursor *c) { uint32_t x; memcpy(&x, c->p, 4); c->p += 4; return x; }
static uint64_t cu_u64(ck_cursor *c) { uint64_t x; memcpy(&x, c->p, 8); c->p += 8; return x; }
static double cu_f64(ck_cursor *c) { double x; memcpy(&x, c->p, 8); c->p += 8; return x; }

/* Checks the header of head[0..CK_HEAD_SIZE) against the real file size
 * and fills the scalars of s.  *has_avg: the avg array is present. */
static int ck_parse_head(unsigned char *head, uint64_t real_size, nglm_train_state *s,
                         int *has_avg, uint32_t *crc, nglm_error *err)
{
    if (memcmp(head, NGLM_CHECKPOINT_MAGIC, 8) != 0)
        return nglm_error_set(err, "not an nglm checkpoint");
    ck_cursor c = { head + 8 };
    uint32_t version = cu_u32(&c), bom = cu_u32(&c);
    uint64_t size = cu_u64(&c);
    *crc = cu_u32(&c);
    uint32_t flags = cu_u32(&c);
    if (bom == __builtin_bswap32(CK_BOM))
        return nglm_error_set(err, "checkpoint written on a machine of other byte order");
    if (bom != CK_BOM)
        return nglm_error_set(err, "bad byte-order mark: file is corrupted");
    if (version > NGLM_CHECKPOINT_VERSION)
        return nglm_error_set(err, "checkpoint format version %" PRIu32 " is newer than this "
                              "nglm supports (%d)", version, NGLM_CHECKPOINT_VERSION);
    if (version == 0)
        return nglm_error_set(err, "bad checkpoint format version 0: file is corrupted");
    if (size > real_size)
        return nglm_error_set(err, "file is truncated");
    if (size < real_size)
        return nglm_error_set(err, "%" PRIu64 " bytes after the end of the checkpoint: file "
                              "is corrupted", real_size - size);
    if (flags > (version >= 3 ? 3u : 1u)) /* bit 1, the linear schedule, from version 3 */
        return nglm_error_set(err, "bad header flags: file is corrupted");
    *has_avg = (int)(flags & 1);
    s->schedule = flags >> 1;
    s->fingerprint = cu_u32(&c);
    s->optimizer = cu_u32(&c);
    s->average = cu_u32(&c);
    s->max_epochs = cu_u32(&c);
    s->batch = cu_u64(&c);
    s->seed = cu_u64(&c);
    s->l1 = cu_f64(&c);
    s->l2 = cu_f64(&c);
    s->lr0 = cu_f64(&c);
    s->ada_init = cu_f64(&c);
    s->min_gain = cu_f64(&c);
    s->n_feat = cu_u64(&c);
    s->n_sents = cu_u64(&c);
    s->epoch = cu_u32(&c);
    s->started = cu_u32(&c);
    s->sent = cu_u64(&c);
    s->tok = cu_u64(&c);
    s->step = cu_u32(&c);
    s->epoch_step0 = cu_u32(&c);
    s->rng = cu_u64(&c);
    s->lr = cu_f64(&c);
    s->decaying = cu_u32(&c);
    s->best_epoch = cu_u32(&c);
    s->divergences = cu_u32(&c);
    uint32_t slot = cu_u32(&c); /* version 1: reserved, 0; version 2: halve_from */
    uint32_t reserved = version >= 2 ? 0 : slot;
    s->halve_from = version >= 2 ? slot : 0;
    s->best_ppl = cu_f64(&c);
    s->loss = cu_f64(&c);
    s->elapsed_s = cu_f64(&c);
    if (ck_file_size(s->n_feat, s->n_sents, *has_avg) != size || s->n_feat == 0 ||
        s->n_feat > SIZE_MAX / 8 || s->n_sents > SIZE_MAX / 8)
        return nglm_error_set(err, "the sizes in the header do not match the file size: "
                              "file is corrupted");
    return reserved == 0 ? 0 : nglm_error_set(err, "bad reserved field: file is corrupted");
}

/* Whether the scalars are in range (the CRC has been checked). */
static int ck_check_scalars(const nglm_train_state *s, int has_avg, nglm_error *err)
{
    if (s->optimizer > 1 || s->average > 1 || s->started > 1 || s->decaying > 1 ||
        (int)s->average != has_avg)
        return nglm_error_set(err, "bad flag in the training state: file is corrupted");
    if (!isfinite(s->l1) || !isfinite(s->l2) || !isfinite(s->lr0) || !isfinite(s->ada_init) ||
        !isfinite(s->min_gain) || !isfinite(s->lr) || !isfinite(s->loss) ||
        !isfinite(s->elapsed_s) || isnan(s->best_ppl))
        return nglm_error_set(err, "the training state holds a number that is not finite");
    if (s->epoch < 1 || s->batch < 1 || s->max_epochs < 1 || s->halve_from > NGLM_MAX_EPOCHS ||
        (s->started && s->sent >= s->n_sents))
        return nglm_error_set(err, "the training state is out of range: file is corrupted");
    return 0;
}

int nglm_checkpoint_load(nglm_train_state *s, const char *path, nglm_error *err)
{
    memset(s, 0, sizeof *s);
    size_t file_size;
    int fd = nglm_io_open_regular(path, &file_size, err);
    if (fd < 0)
        return -1;
    FILE *fp = fdopen(fd, "rb");
    if (!fp) {
        int e = errno;
        close(fd);
        return nglm_error_errno(err, e, "%s", path);
    }
    nglm_train_state t;
    memset(&t, 0, sizeof t);
    unsigned char head[CK_HEAD_SIZE];
    int has_avg = 0;
    uint32_t crc = 0;
    size_t got = fread(head, 1, sizeof head, fp);
    if (got < 8 || memcmp(head, NGLM_CHECKPOINT_MAGIC, 8) != 0) {
        nglm_error_set(err, "not an nglm checkpoint%s", got == 0 ? " (empty file)" : "");
        goto fail;
    }
    if (got < sizeof head) {
        nglm_error_set(err, "file is truncated");
        goto fail;
    }
    if (ck_parse_head(head, (uint64_t)file_size, &t, &has_avg, &crc, err) != 0)
        goto fail;
    size_t nf = (size_t)t.n_feat, ns = (size_t)t.n_sents;
    t.theta = malloc(nf * sizeof *t.theta);
    t.best = malloc(nf * sizeof *t.best);
    t.gsq = malloc(nf * sizeof *t.gsq);
    t.avg = has_avg ? malloc(nf * sizeof *t.avg) : NULL;
    t.order = malloc((ns ? ns : 1) * sizeof *t.order);
    t.last = malloc(nf * sizeof *t.last);
    if (!t.theta || !t.best || !t.gsq || (has_avg && !t.avg) || !t.order || !t.last) {
        nglm_error_set(err, "out of memory for %zu weights", nf);
        goto fail;
    }
    ck_reader r = { fp, crc32(0L, Z_NULL, 0), 0 };
    memset(head + CK_OFF_CRC, 0, 4);
    r.crc = nglm_io_crc(r.crc, head, sizeof head);
    rd_bytes(&r, t.theta, nf * sizeof *t.theta);
    rd_bytes(&r, t.best, nf * sizeof *t.best);
    rd_bytes(&r, t.gsq, nf * sizeof *t.gsq);
    if (t.avg)
        rd_bytes(&r, t.avg, nf * sizeof *t.avg);
    rd_bytes(&r, t.order, ns * sizeof *t.order);
    rd_bytes(&r, t.last, nf * sizeof *t.last);
    unsigned char pad[8];
    size_t npad = (size_t)(-(nf * 4 + CK_HEAD_SIZE) & 7); /* only last[] breaks 8-alignment */
    rd_bytes(&r, pad, npad);
    if (r.eof) {
        if (ferror(fp))
            nglm_error_errno(err, errno ? errno : EIO, "read error");
        else
            nglm_error_set(err, "file is truncated");
        goto fail;
    }
    if ((uint32_t)r.crc != crc) {
        nglm_error_set(err, "checksum mismatch: file is corrupted");
        goto fail;
    }
    if (ck_check_scalars(&t, has_avg, err) != 0)
        goto fail;
    fclose(fp);
    *s = t;
    return 0;

fail:
    fclose(fp);
    nglm_train_state_free(&t);
    return nglm_error_prefix(err, "%s", path);
}
