/*
 * modelfile.c — nglm's binary model file (doc/model-format.md): saving and
 * loading with full validation (pruning zero-weight features before a save
 * is prune.c's).
 *
 * Layout: a fixed header with a section table, then 8-byte aligned sections
 * INFO, VOCAB, FEATURES, WEIGHTS, and SKIP for a model with skip-gram
 * templates (their features sit at the end of the FEATURES arrays; SKIP
 * holds where the n-grams end and each template's offsets), CACHE, and
 * CHILDREN, the index's child_first table for mapped loading, NORMS, the
 * normalisers of a back-off model (no skip-gram weights), NGRAM_NORMS, those
 * of the n-gram part of a model with skip-gram weights, and BLOCKS.  Numbers are
 * in the writer's byte order, declared by a byte-order mark, and are read
 * back with memcpy (no struct dumps, no alignment assumptions).  A CRC-32
 * (zlib) covers the whole file, its own field counted as zero, so a damaged
 * byte anywhere is caught before anything is parsed; the parser still
 * checks every count against the bytes that remain before it allocates, so
 * a crafted file cannot crash it.
 *
 * Saving streams straight to PATH.tmp.XXXXXX (the model is never copied into
 * one big buffer), folding every byte into the CRC as it goes, then patches
 * the CRC into the header, fsyncs and renames over PATH: a failed save
 * leaves an existing PATH as it was.  Loading reads the file in one go and
 * parses it from memory.  Mapping (nglm_model_map) runs the same parser over
 * a read-only mapping with the arrays used in place (mf_src says which), and
 * by default replaces the CRC and the full index check by the range checks
 * every lookup needs (mf_check_streamed, nglm_features_tables), read chunk
 * by chunk with the pages released, so that a sentence's query makes only
 * its own contexts' pages resident (doc/model-format.md, "Mapped loading").
 */
#include "nglm/modelfile.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "blocks.h"
#include "fileio.h"

/* Header: magic[8] version bom header_size n_sections (u32 each)
 * file_size (u64) crc reserved (u32 each), then the section table. */
#define MF_OFF_CRC 32
#define MF_HEADER_FIXED 40
#define MF_ENTRY_SIZE 24  /* id, reserved (u32), offset, size (u64) */
#define MF_MAX_SECTIONS 64
#define MF_BOM 0x01020304u
#define MF_INFO_SIZE 80
#define MF_N_CUT (NGLM_MAX_ORDER + 1) /* cutoff[] and ctx_order_start[] entries written */
#define MF_MAX_CUT 64

/* Sections 1..MF_N_REQUIRED appear in every file; SKIP only when the model
 * has skip-gram templates, CACHE only when it records a cache, so other
 * models are written as before. */
enum { MF_SEC_INFO = 1, MF_SEC_VOCAB = 2, MF_SEC_FEATURES = 3, MF_SEC_WEIGHTS = 4,
       MF_SEC_SKIP = 5, MF_SEC_CACHE = 6, MF_SEC_CHILDREN = 7, MF_SEC_BLOCKS = 8,
       MF_SEC_NORMS = 9, MF_SEC_NGNORMS = 10, MF_N_REQUIRED = 4, MF_N_SECTIONS = 10 };
#define MF_FEATURES_HEAD (16 + 4 * MF_MAX_CUT + 16 + 8 * MF_MAX_CUT) /* before its arrays */
#define MF_BLOCKS_HEAD 24 /* shift, table CRC (u32 each), covered bytes, blocks (u64 each) */
#define MF_CACHE_SIZE 48

static const char *const mf_section_name[MF_N_SECTIONS + 1] = {
    "", "INFO", "VOCAB", "FEATURES", "WEIGHTS", "SKIP", "CACHE", "CHILDREN", "BLOCKS", "NORMS",
    "NGRAM_NORMS"
};
/* The order sections are written in: BLOCKS last, since it covers the rest. */
static const int mf_write_order[MF_N_SECTIONS] = {
    MF_SEC_INFO, MF_SEC_VOCAB, MF_SEC_FEATURES, MF_SEC_WEIGHTS, MF_SEC_SKIP, MF_SEC_CACHE,
    MF_SEC_CHILDREN, MF_SEC_NORMS, MF_SEC_NGNORMS, MF_SEC_BLOCKS
};

static uint64_t mf_align8(uint64_t x) { return (x + 7) & ~(uint64_t)7; }


/* ------------------------------------------------------------------ writing */

/* The writer: the file's bytes, their CRC-32 (nglm_io_writer), and while
 * `blk` is set the CRC-32C of each 64 KiB block so far (the BLOCKS section). */
typedef struct mf_writer {
    nglm_io_writer io;
    uint32_t *blk;     /* NULL: no block checksums (the second pass) */
    size_t n_blk;      /* blocks finished */
    uint32_t cur;      /* CRC-32C of the block being written */
    uint64_t pos;      /* bytes passed, written or not */
    int errnum;        /* io.errnum, or ENOMEM */
} mf_writer;

static void wr_bytes(mf_writer *w, const void *p, size_t n)
{
    const unsigned char *q = p;
    w->pos += n;
    for (size_t left = n; w->blk && left > 0;) {
        size_t in_blk = (size_t)((w->pos - left) & (NGLM_BLOCK_SIZE - 1));
        size_t k = NGLM_BLOCK_SIZE - in_blk < left ? NGLM_BLOCK_SIZE - in_blk : left;
        w->cur = nglm_crc32c(w->cur, q, k);
        q += k;
        left -= k;
        if (in_blk + k == NGLM_BLOCK_SIZE) {
            w->blk[w->n_blk++] = w->cur;
            w->cur = 0;
        }
    }
    nglm_io_write(&w->io, p, n);
    if (!w->errnum)
        w->errnum = w->io.errnum;
}

static void wr_u32(mf_writer *w, uint32_t x) { wr_bytes(w, &x, sizeof x); }
static void wr_i32(mf_writer *w, int32_t x) { wr_bytes(w, &x, sizeof x); }
static void wr_u64(mf_writer *w, uint64_t x) { wr_bytes(w, &x, sizeof x); }
static void wr_f64(mf_writer *w, double x) { wr_bytes(w, &x, sizeof x); }

/* Zero bytes up to offset `to` (section alignment). */
static void wr_pad_to(mf_writer *w, uint64_t to)
{
    static const unsigned char zero[8];
    while (!w->errnum && w->pos < to)
        wr_bytes(w, zero, (size_t)(to - w->pos < 8 ? to - w->pos : 8));
}

static uint64_t mf_vocab_size(const nglm_vocab *v)
{
    uint64_t size = 8;
    for (size_t i = 0; i < nglm_vocab_size(v); i++)
        size += 4 + strlen(nglm_vocab_word(v, (int32_t)i)) + 8;
    return size;
}

static uint64_t mf_features_size(const nglm_features *F)
{
    return 16 + 4 * (uint64_t)MF_N_CUT + 16 + 8 * (uint64_t)MF_N_CUT +
           8 * (uint64_t)F->n_ctx + 4 * ((uint64_t)F->n_ctx + 1) + 12 * (uint64_t)F->n_feat;
}

/* n_ngram_feat, n_skip, skip_cutoff, the distances, V+1 offsets a template */
static uint64_t mf_skip_size(const nglm_features *F)
{
    return 16 + 4 * (uint64_t)F->n_skip + 4 * (uint64_t)F->n_skip * ((uint64_t)F->V + 1);
}

static void wr_info(mf_writer *w, const nglm_model *m)
{
    const nglm_model_info *in = &m->info;
    wr_f64(w, in->l1);
    wr_f64(w, in->l2);
    wr_f64(w, in->lr);
    wr_u32(w, in->epochs);
    wr_u32(w, in->batch);
    wr_u64(w, in->seed);
    wr_u64(w, in->train_tokens);
    wr_f64(w, in->valid_ppl);
    wr_u64(w, in->pruned);
    wr_u32(w, (uint32_t)m->tok.mode);
    wr_u32(w, (uint32_t)m->tok.lowercase);
    wr_u32(w, (uint32_t)m->tok.replace_invalid);
    wr_u32(w, 0);
}

static void wr_vocab(mf_writer *w, const nglm_vocab *v)
{
    size_t n = nglm_vocab_size(v);
    wr_u64(w, n);
    for (size_t i = 0; i < n; i++) {
        const char *word = nglm_vocab_word(v, (int32_t)i);
        uint32_t len = (uint32_t)strlen(word);
        wr_u32(w, len);
        wr_bytes(w, word, len);
        wr_u64(w, nglm_vocab_count(v, (int32_t)i));
    }
}

static void wr_features(mf_writer *w, const nglm_features *F)
{
    wr_i32(w, F->order);
    wr_i32(w, F->V);
    wr_u32(w, MF_N_CUT);
    wr_u32(w, 0);
    wr_bytes(w, F->cutoff, MF_N_CUT * sizeof(uint32_t));
    wr_u64(w, F->n_ctx);
    wr_u64(w, F->n_feat);
    for (int k = 0; k < MF_N_CUT; k++)
        wr_u64(w, F->ctx_order_start[k]);
    wr_bytes(w, F->ctx_parent, F->n_ctx * sizeof(int32_t));
    wr_bytes(w, F->ctx_word, F->n_ctx * sizeof(int32_t));
    wr_bytes(w, F->ctx_first, (F->n_ctx + 1) * sizeof(uint32_t));
    wr_bytes(w, F->feat_word, F->n_feat * sizeof(int32_t));
    wr_bytes(w, F->feat_back, F->n_feat * sizeof(int32_t));
    wr_bytes(w, F->feat_count, F->n_feat * sizeof(uint32_t));
}

static void wr_skip(mf_writer *w, const nglm_features *F)
{
    wr_u64(w, F->n_ngram_feat);
    wr_u32(w, (uint32_t)F->n_skip);
    wr_u32(w, F->skip_cutoff);
    for (int i = 0; i < F->n_skip; i++)
        wr_i32(w, F->skip_dist[i]);
    for (int i = 0; i < F->n_skip; i++)
        wr_bytes(w, F->skip_first[i], ((size_t)F->V + 1) * sizeof(uint32_t));
}

/* CACHE: kind, reset word (u32, i32), then length, bigram length, λ1, λ2
 * (f64) and 8 reserved bytes. */
static void wr_cache(mf_writer *w, const nglm_cache_spec *c)
{
    wr_u32(w, (uint32_t)c->kind);
    wr_i32(w, c->reset_word);
    wr_f64(w, c->length);
    wr_f64(w, c->bigram_length);
    wr_f64(w, c->lambda);
    wr_f64(w, c->bigram_lambda);
    wr_u64(w, 0);
}

/* Writes the whole file through w; the CRC field is left zero and patched
 * by the caller. */
/* Writes the file, with crc in the header's CRC field.  *table: the block
 * checksums of an earlier pass, or NULL: they are computed as the bytes go
 * (into a table returned in *table, the caller frees it). */
static void mf_write(mf_writer *w, const nglm_model *m, const double *lnz, uint32_t crc,
                     uint32_t **table)
{
    /* lnz: a back-off model's (NORMS), or with skip-gram weights, the
     * n-gram part's (NGRAM_NORMS, which older readers skip) */
    int lnz_sec = nglm_model_skip_nonzero(m) == 0 ? MF_SEC_NORMS : MF_SEC_NGNORMS;
    uint64_t size[MF_N_SECTIONS + 1], off[MF_N_SECTIONS + 1];
    size[MF_SEC_INFO] = MF_INFO_SIZE;
    size[MF_SEC_VOCAB] = mf_vocab_size(m->vocab);
    size[MF_SEC_FEATURES] = mf_features_size(&m->feat);
    size[MF_SEC_WEIGHTS] = 8 + 8 * (uint64_t)m->feat.n_feat;
    size[MF_SEC_SKIP] = mf_skip_size(&m->feat);
    size[MF_SEC_CACHE] = MF_CACHE_SIZE;
    size[MF_SEC_CHILDREN] = 8 + 4 * ((uint64_t)m->feat.n_ctx + 1);
    size[MF_SEC_NORMS] = 8 + 8 * ((uint64_t)m->feat.n_ctx + 1);
    size[MF_SEC_NGNORMS] = size[MF_SEC_NORMS];
    /* the sections present, in id order but BLOCKS last; CHILDREN whenever
     * the index has its table (a mapped model without one is saved
     * without), NORMS when the caller computed them */
    int ids[MF_N_SECTIONS], n_sec = 0;
    for (int i = 0; i < MF_N_SECTIONS; i++) {
        int s = mf_write_order[i];
        if (s <= MF_N_REQUIRED || (s == MF_SEC_SKIP && m->feat.n_skip > 0) ||
            (s == MF_SEC_CACHE && m->has_cache) ||
            (s == MF_SEC_CHILDREN && m->feat.child_first) || (s == lnz_sec && lnz) ||
            s == MF_SEC_BLOCKS)
            ids[n_sec++] = s;
    }
    uint32_t header_size = MF_HEADER_FIXED + (uint32_t)n_sec * MF_ENTRY_SIZE;
    uint64_t end = header_size;
    uint64_t n_blk = 0;
    for (int i = 0; i < n_sec; i++) {
        off[ids[i]] = mf_align8(end);
        if (ids[i] == MF_SEC_BLOCKS) { /* last: the blocks cover what comes before */
            n_blk = (off[ids[i]] + NGLM_BLOCK_SIZE - 1) >> NGLM_BLOCK_SHIFT;
            size[MF_SEC_BLOCKS] = MF_BLOCKS_HEAD + 4 * n_blk;
        }
        end = off[ids[i]] + size[ids[i]];
    }
    if (!*table) {
        if (!(*table = malloc(n_blk ? n_blk * sizeof **table : 1))) {
            w->errnum = ENOMEM;
            return;
        }
        w->blk = *table;
        w->n_blk = 0;
        w->cur = 0;
    }

    wr_bytes(w, NGLM_MODEL_MAGIC, 8);
    wr_u32(w, NGLM_MODEL_VERSION);
    wr_u32(w, MF_BOM);
    wr_u32(w, header_size);
    wr_u32(w, (uint32_t)n_sec);
    wr_u64(w, end);
    wr_u32(w, crc); /* 0 in the first pass, which computes it */
    wr_u32(w, 0);
    for (int i = 0; i < n_sec; i++) {
        wr_u32(w, (uint32_t)ids[i]);
        wr_u32(w, 0);
        wr_u64(w, off[ids[i]]);
        wr_u64(w, size[ids[i]]);
    }
    wr_pad_to(w, off[MF_SEC_INFO]);
    wr_info(w, m);
    wr_pad_to(w, off[MF_SEC_VOCAB]);
    wr_vocab(w, m->vocab);
    wr_pad_to(w, off[MF_SEC_FEATURES]);
    wr_features(w, &m->feat);
    wr_pad_to(w, off[MF_SEC_WEIGHTS]);
    wr_u64(w, m->feat.n_feat);
    wr_bytes(w, m->theta, m->feat.n_feat * sizeof(double));
    if (m->feat.n_skip > 0) {
        wr_pad_to(w, off[MF_SEC_SKIP]);
        wr_skip(w, &m->feat);
    }
    if (m->has_cache) {
        wr_pad_to(w, off[MF_SEC_CACHE]);
        wr_cache(w, &m->cache);
    }
    if (m->feat.child_first) {
        wr_pad_to(w, off[MF_SEC_CHILDREN]);
        wr_u64(w, (uint64_t)m->feat.n_ctx + 1);
        wr_bytes(w, m->feat.child_first, (m->feat.n_ctx + 1) * sizeof(uint32_t));
    }
    if (lnz) {
        wr_pad_to(w, off[lnz_sec]);
        wr_u64(w, (uint64_t)m->feat.n_ctx + 1);
        wr_bytes(w, lnz, (m->feat.n_ctx + 1) * sizeof(double));
    }
    wr_pad_to(w, off[MF_SEC_BLOCKS]);
    if (w->blk) { /* the last, partial block */
        if (w->pos & (NGLM_BLOCK_SIZE - 1))
            w->blk[w->n_blk++] = w->cur;
        w->blk = NULL;
        if (w->n_blk != n_blk && !w->errnum)
            w->errnum = EIO; /* a bug */
    }
    wr_u32(w, NGLM_BLOCK_SHIFT);
    wr_u32(w, nglm_crc32c(0, *table, (size_t)n_blk * 4));
    wr_u64(w, off[MF_SEC_BLOCKS]);
    wr_u64(w, n_blk);
    wr_bytes(w, *table, (size_t)n_blk * 4);
    if (!w->errnum && w->pos != end)
        w->errnum = EIO; /* a size formula disagrees with the writer: a bug */
}


int nglm_model_save(const nglm_model *m, const char *path, nglm_error *err)
{
    return nglm_model_save_flags(m, path, 0, err);
}

int nglm_model_save_flags(const nglm_model *m, const char *path, unsigned flags,
                          nglm_error *err)
{
    const nglm_features *F = &m->feat;
    if (!m->vocab || !nglm_vocab_is_final(m->vocab) || !m->theta)
        return nglm_error_set(err, "%s: cannot save an incomplete model", path);
    if (nglm_vocab_size(m->vocab) != (size_t)F->V)
        return nglm_error_set(err, "%s: vocabulary has %zu words but the features expect %d",
                              path, nglm_vocab_size(m->vocab), (int)F->V);
    if (F->n_skip < 0 || F->n_skip > NGLM_MAX_SKIP)
        return nglm_error_set(err, "%s: bad number of skip-gram templates %d", path, F->n_skip);
    for (int i = 0; i < F->n_skip; i++)
        if (!F->skip_first[i])
            return nglm_error_set(err, "%s: cannot save an incomplete model", path);

    /* a back-off model (no skip-gram weight) gets its normalisers stored,
     * computed as the ARPA export computes them, and a model with
     * skip-gram weights those of its n-gram part (NGRAM_NORMS: the skip
     * correction is added per token); without them (a normaliser that is
     * not finite) it is written as before and scored through the successor
     * lists */
    nglm_error ignored;
    double *lnz = !(flags & NGLM_SAVE_NO_NORMS) ? nglm_model_ngram_norms_new(m, 1, &ignored)
                                                : NULL;
    /* two passes: the first computes the CRC and the block checksums
     * without writing, the second writes, so that nothing is patched
     * afterwards and the file can be a stream ("-") */
    mf_writer w;
    uint32_t *table = NULL;
    memset(&w, 0, sizeof w);
    nglm_io_writer_init(&w.io, NULL);
    mf_write(&w, m, lnz, 0, &table);
    if (w.errnum) {
        free(table);
        free(lnz);
        return nglm_error_errno(err, w.errnum, "%s", path);
    }
    uint32_t crc = (uint32_t)w.io.crc;
    /* temp file, fsync, rename: a failed save never damages PATH */
    nglm_atomic at;
    if (nglm_atomic_open(&at, path, err) != 0) {
        free(table);
        free(lnz);
        return -1;
    }
    memset(&w, 0, sizeof w);
    nglm_io_writer_init(&w.io, at.fp);
    mf_write(&w, m, lnz, crc, &table);
    free(table);
    free(lnz);
    if (w.errnum)
        return nglm_atomic_fail(&at, w.errnum, err);
    return nglm_atomic_commit(&at, err);
}

/* ------------------------------------------------------------------ reading */

/* Where the parser's arrays come from: copied out of a buffer that is
 * freed after loading (nglm_model_load), or used in place in the read-only
 * mapping that the model keeps (nglm_model_map). */
typedef struct mf_src {
    const unsigned char *base; /* the file's first byte */
    int in_place;              /* arrays point into base: nothing is copied */
    int verify;                /* CRC and every invariant (always when copying) */
    int fd;                    /* the mapped file, for the streamed checks */
} mf_src;

/* A cursor over a section's bytes. */
typedef struct mf_reader {
    const unsigned char *p;
    size_t left;
    const mf_src *src;
} mf_reader;

static int rd_bytes(mf_reader *r, void *out, size_t n)
{
    if (n > r->left)
        return -1;
    memcpy(out, r->p, n);
    r->p += n;
    r->left -= n;
    return 0;
}

static int rd_u32(mf_reader *r, uint32_t *x) { return rd_bytes(r, x, sizeof *x); }
static int rd_i32(mf_reader *r, int32_t *x) { return rd_bytes(r, x, sizeof *x); }
static int rd_u64(mf_reader *r, uint64_t *x) { return rd_bytes(r, x, sizeof *x); }
static int rd_f64(mf_reader *r, double *x) { return rd_bytes(r, x, sizeof *x); }

/* n elements of elt bytes (n was checked against r->left): a fresh copy, or
 * in place (sections are 8-byte aligned and every array starts at a
 * multiple of its element size inside its section, so the pointer is
 * aligned; the casts to non-const pointers are safe because nothing writes
 * to a loaded model's arrays, and the mapping is read-only). */
static void *rd_array(mf_reader *r, size_t n, size_t elt)
{
    if (r->src->in_place) {
        void *a = (void *)r->p;
        if (n * elt > r->left || (uintptr_t)a % elt != 0)
            return NULL; /* cannot happen: parse_features checked the sizes */
        r->p += n * elt;
        r->left -= n * elt;
        return a;
    }
    void *a = malloc(n ? n * elt : 1);
    if (a && rd_bytes(r, a, n * elt) != 0) {
        free(a);
        a = NULL;
    }
    return a;
}

static int parse_info(mf_reader *r, nglm_model *m, nglm_error *err)
{
    nglm_model_info *in = &m->info;
    uint32_t mode, lower, repl, reserved;
    if (r->left != MF_INFO_SIZE)
        return nglm_error_set(err, "INFO section has %zu bytes, expected %d", r->left,
                              MF_INFO_SIZE);
    rd_f64(r, &in->l1);
    rd_f64(r, &in->l2);
    rd_f64(r, &in->lr);
    rd_u32(r, &in->epochs);
    rd_u32(r, &in->batch);
    rd_u64(r, &in->seed);
    rd_u64(r, &in->train_tokens);
    rd_f64(r, &in->valid_ppl);
    rd_u64(r, &in->pruned);
    rd_u32(r, &mode);
    rd_u32(r, &lower);
    rd_u32(r, &repl);
    rd_u32(r, &reserved);
    if (!isfinite(in->l1) || !isfinite(in->l2) || !isfinite(in->lr) || !isfinite(in->valid_ppl))
        return nglm_error_set(err, "INFO section holds a non-finite number");
    if (mode > NGLM_TOK_CHAR || lower > 1 || repl > 1 || reserved != 0)
        return nglm_error_set(err, "INFO section has bad tokenizer settings");
    m->tok.mode = (nglm_tok_mode)mode;
    m->tok.lowercase = (int)lower;
    m->tok.replace_invalid = (int)repl;
    return 0;
}

static int parse_vocab(mf_reader *r, nglm_model *m, nglm_error *err)
{
    uint64_t n;
    if (rd_u64(r, &n) != 0)
        return nglm_error_set(err, "VOCAB section is too short");
    /* each word takes at least 13 bytes: length, one byte, count */
    if (n < NGLM_NUM_SPECIAL || n > INT32_MAX || n > r->left / 13)
        return nglm_error_set(err, "VOCAB section: bad word count %" PRIu64, n);
    const char **words = malloc(n * sizeof *words);
    uint64_t *counts = malloc(n * sizeof *counts);
    char *pool = malloc(r->left + n); /* every word and its NUL */
    int rc = -1;
    if (!words || !counts || !pool) {
        nglm_error_set(err, "out of memory for %" PRIu64 " words", n);
        goto out;
    }
    char *q = pool;
    for (uint64_t i = 0; i < n; i++) {
        uint32_t len;
        if (rd_u32(r, &len) != 0 || len > r->left) {
            nglm_error_set(err, "VOCAB section: word %" PRIu64 " runs past the end", i);
            goto out;
        }
        if (len == 0 || memchr(r->p, '\0', len)) {
            nglm_error_set(err, "VOCAB section: word %" PRIu64 " is empty or holds a NUL", i);
            goto out;
        }
        rd_bytes(r, q, len);
        q[len] = '\0';
        words[i] = q;
        q += len + 1;
        if (rd_u64(r, &counts[i]) != 0) {
            nglm_error_set(err, "VOCAB section: word %" PRIu64 " runs past the end", i);
            goto out;
        }
    }
    if (r->left != 0) {
        nglm_error_set(err, "VOCAB section has %zu bytes after the last word", r->left);
        goto out;
    }
    m->vocab = nglm_vocab_from_list(words, counts, (size_t)n, err);
    if (m->vocab)
        rc = 0;
out:
    free(words);
    free(counts);
    free(pool);
    return rc;
}

/* The SKIP section, read after the FEATURES arrays (V and n_feat are known).
 * The offsets must not decrease and must stay inside the skip-gram features
 * here, because nglm_features_index walks the features they delimit before
 * it checks that the templates tile n_ngram_feat .. n_feat exactly, and the
 * distances must be in range, because a mapped model that skips that check
 * reads the word that far back; contiguity and sorted successors are left
 * to it. */
static int parse_skip(mf_reader *r, nglm_features *F, nglm_error *err)
{
    uint64_t n_ngram;
    uint32_t n_skip, cutoff;
    if (rd_u64(r, &n_ngram) || rd_u32(r, &n_skip) || rd_u32(r, &cutoff))
        return nglm_error_set(err, "SKIP section is too short");
    if (n_skip < 1 || n_skip > NGLM_MAX_SKIP)
        return nglm_error_set(err, "SKIP section: bad template count %" PRIu32 " (1..%d)",
                              n_skip, NGLM_MAX_SKIP);
    uint64_t n_off = (uint64_t)F->V + 1;
    if (r->left != 4 * (uint64_t)n_skip * (1 + n_off))
        return nglm_error_set(err, "SKIP section has %zu bytes of arrays, expected %" PRIu64,
                              r->left, 4 * (uint64_t)n_skip * (1 + n_off));
    if (n_ngram < (uint64_t)F->V || n_ngram > F->n_feat)
        return nglm_error_set(err, "SKIP section: bad n-gram feature count %" PRIu64, n_ngram);
    F->n_ngram_feat = (size_t)n_ngram;
    F->skip_cutoff = cutoff;
    F->n_skip = (int)n_skip;
    for (int i = 0; i < F->n_skip; i++) {
        rd_i32(r, &F->skip_dist[i]);
        if (F->skip_dist[i] < 2 || F->skip_dist[i] > F->order + 2)
            return nglm_error_set(err, "SKIP section: distance %d of template %d is out of "
                                  "range (2..%d)", (int)F->skip_dist[i], i, F->order + 2);
    }
    uint64_t prev = n_ngram;
    for (int i = 0; i < F->n_skip; i++) {
        F->skip_first[i] = rd_array(r, (size_t)n_off, sizeof(uint32_t));
        if (!F->skip_first[i])
            return nglm_error_set(err, "out of memory for %d skip-gram templates", F->n_skip);
        for (uint64_t v = 0; v < n_off; v++) {
            uint32_t x = F->skip_first[i][v];
            if (x < prev || x > F->n_feat)
                return nglm_error_set(err, "SKIP section: bad offset %" PRIu32 " for word %"
                                      PRIu64 " of template %d", x, v, i);
            prev = x;
        }
    }
    return 0;
}

/* Drops the mapping's pages of bytes [p, p + n) from the process (they
 * stay in the page cache; a later access maps them again): a check that
 * reads an array through the mapping then adds no more than a chunk to the
 * pages the process holds.  For a read-only private mapping nothing is lost. */
static void mf_release(const mf_src *s, const void *p, size_t n)
{
    if (!s->in_place || s->verify)
        return;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = (uintptr_t)p & ~(page - 1), hi = (uintptr_t)p + n;
    if (hi > lo)
        madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

#define MF_CHUNK ((size_t)1 << 18) /* elements a chunk: 1 MiB */

/* The mapped path's checks of the big arrays, which nglm_features_tables
 * leaves out: every successor range lies inside the n-gram features
 * (ctx_first starts at V, never decreases, ends at n_ngram_feat), every
 * feature past the unigrams predicts a word 1 .. V-1, and every n-gram
 * feature's back-off lies below it (skip-grams: -1).  That is all any walk
 * of the index needs to stay inside its arrays (doc/model-format.md,
 * "Mapped loading").  The arrays are read chunk by chunk and each chunk's
 * pages are released after it (mf_release).  The loops are branch-free so
 * that they vectorise; `bad_at` is the first chunk that failed. */
static int mf_check_streamed(const mf_src *s, const nglm_features *F, nglm_error *err)
{
    size_t n_off = F->n_ctx + 1, ng = F->n_ngram_feat, bad_at = SIZE_MAX;
    const uint32_t *off = F->ctx_first;
    if (off[0] != (uint32_t)F->V || off[F->n_ctx] != ng)
        bad_at = 0;
    for (size_t i = 0; bad_at == SIZE_MAX && i < n_off; i += MF_CHUNK) {
        size_t n = n_off - i < MF_CHUNK ? n_off - i : MF_CHUNK;
        const uint32_t *a = off + i;
        nglm_blocks_ensure(F->blocks, a, n * sizeof *a);
        unsigned bad = i > 0 && a[0] < a[-1];
        #pragma omp simd reduction(| : bad)
        for (size_t j = 1; j < n; j++)
            bad |= a[j] < a[j - 1];
        mf_release(s, a, n * sizeof *a);
        if (bad)
            bad_at = i;
    }
    if (nglm_blocks_check(F->blocks, err) != 0)
        return -1;
    if (bad_at != SIZE_MAX)
        return nglm_error_set(err, "successor offsets are bad (near context %zu): file is "
                              "corrupted", bad_at);
    /* features past the unigrams: words 1 .. V-1; n-gram back-offs 0 .. f-1,
     * skip-gram ones -1 */
    uint32_t vm1 = (uint32_t)F->V - 1;
    for (size_t i = (size_t)F->V; bad_at == SIZE_MAX && i < F->n_feat; i += MF_CHUNK) {
        size_t n = F->n_feat - i < MF_CHUNK ? F->n_feat - i : MF_CHUNK;
        const uint32_t *a = (const uint32_t *)F->feat_word + i;
        const uint32_t *b = (const uint32_t *)F->feat_back + i;
        size_t n_ng = i >= ng ? 0 : (ng - i < n ? ng - i : n);
        nglm_blocks_ensure(F->blocks, a, n * sizeof *a);
        nglm_blocks_ensure(F->blocks, b, n * sizeof *b);
        unsigned bad = 0;
        #pragma omp simd reduction(| : bad)
        for (size_t j = 0; j < n; j++)
            bad |= a[j] - 1 >= vm1;
        #pragma omp simd reduction(| : bad)
        for (size_t j = 0; j < n_ng; j++)
            bad |= b[j] >= (uint32_t)(i + j); /* a negative one is huge */
        #pragma omp simd reduction(| : bad)
        for (size_t j = n_ng; j < n; j++)
            bad |= b[j] != UINT32_MAX;
        mf_release(s, a, n * sizeof *a);
        mf_release(s, b, n * sizeof *b);
        if (bad)
            bad_at = i;
    }
    if (nglm_blocks_check(F->blocks, err) != 0)
        return -1;
    if (bad_at != SIZE_MAX)
        return nglm_error_set(err, "a feature's word or back-off is out of range (near "
                              "feature %zu): file is corrupted", bad_at);
    return 0;
}

/* FEATURES, and SKIP if the file has one (else skip is NULL). */
static int parse_features(mf_reader *r, mf_reader *skip, nglm_model *m, nglm_error *err)
{
    nglm_features *F = &m->feat;
    int32_t order, V;
    uint32_t ncut, reserved;
    if (rd_i32(r, &order) || rd_i32(r, &V) || rd_u32(r, &ncut) || rd_u32(r, &reserved))
        return nglm_error_set(err, "FEATURES section is too short");
    if (order < 1 || order > NGLM_MAX_ORDER)
        return nglm_error_set(err, "FEATURES section: order %d is out of range (1..%d)",
                              (int)order, NGLM_MAX_ORDER);
    if (V < NGLM_NUM_SPECIAL || (size_t)V != nglm_vocab_size(m->vocab))
        return nglm_error_set(err, "FEATURES section: %d words, but the vocabulary has %zu",
                              (int)V, nglm_vocab_size(m->vocab));
    if (ncut < (uint32_t)order + 1 || ncut > MF_MAX_CUT || reserved != 0)
        return nglm_error_set(err, "FEATURES section: bad cutoff table size %" PRIu32, ncut);
    F->order = order;
    F->V = V;
    uint32_t cut[MF_MAX_CUT];
    uint64_t start[MF_MAX_CUT], n_ctx, n_feat;
    if (rd_bytes(r, cut, ncut * sizeof *cut) || rd_u64(r, &n_ctx) || rd_u64(r, &n_feat))
        return nglm_error_set(err, "FEATURES section is too short");
    for (uint32_t k = 0; k < ncut; k++)
        if (rd_u64(r, &start[k]) != 0)
            return nglm_error_set(err, "FEATURES section is too short");
    if (n_ctx > INT32_MAX || n_feat > INT32_MAX || n_feat < (uint64_t)V)
        return nglm_error_set(err, "FEATURES section: bad sizes (%" PRIu64 " contexts, %"
                              PRIu64 " features)", n_ctx, n_feat);
    if (r->left != 8 * n_ctx + 4 * (n_ctx + 1) + 12 * n_feat)
        return nglm_error_set(err, "FEATURES section has %zu bytes of arrays, expected %"
                              PRIu64, r->left, 8 * n_ctx + 4 * (n_ctx + 1) + 12 * n_feat);
    /* ctx_order_start: 0, then one entry per context length, n_ctx from
     * length order-1 on (nglm_features_index checks the rest) */
    if (start[0] != 0)
        return nglm_error_set(err, "FEATURES section: bad context order table");
    for (uint32_t k = (uint32_t)order - 1; k < ncut; k++)
        if (start[k] != n_ctx)
            return nglm_error_set(err, "FEATURES section: bad context order table");
    for (int k = 0; k <= NGLM_MAX_ORDER; k++) {
        F->cutoff[k] = cut[(uint32_t)k < ncut ? (uint32_t)k : ncut - 1];
        F->ctx_order_start[k] = (uint32_t)k < ncut ? (size_t)start[k] : (size_t)n_ctx;
    }
    F->n_ctx = (size_t)n_ctx;
    F->n_feat = (size_t)n_feat;
    F->ctx_parent = rd_array(r, F->n_ctx, sizeof(int32_t));
    F->ctx_word = rd_array(r, F->n_ctx, sizeof(int32_t));
    F->ctx_first = rd_array(r, F->n_ctx + 1, sizeof(uint32_t));
    F->feat_word = rd_array(r, F->n_feat, sizeof(int32_t));
    F->feat_back = rd_array(r, F->n_feat, sizeof(int32_t));
    F->feat_count = rd_array(r, F->n_feat, sizeof(uint32_t));
    if (!F->ctx_parent || !F->ctx_word || !F->ctx_first || !F->feat_word || !F->feat_back ||
        !F->feat_count)
        return nglm_error_set(err, "out of memory for %zu features", F->n_feat);
    if (skip) {
        if (parse_skip(skip, F, err) != 0)
            return -1;
    } else {
        /* as nglm_features_build leaves a model without skip-grams */
        F->n_ngram_feat = F->n_feat;
        F->skip_cutoff = 1;
        if (F->ctx_first[F->n_ctx] < F->n_feat)
            return nglm_error_set(err, "FEATURES section: %zu features after the n-grams, "
                                  "but no SKIP section", F->n_feat - F->ctx_first[F->n_ctx]);
    }
    if (F->blocks) { /* what the checks below and nglm_features_tables read */
        size_t n1 = F->order > 1 ? F->ctx_order_start[1] : 0;
        nglm_blocks_ensure(F->blocks, F->ctx_parent, n1 * sizeof *F->ctx_parent);
        nglm_blocks_ensure(F->blocks, F->ctx_word, n1 * sizeof *F->ctx_word);
        nglm_blocks_ensure(F->blocks, F->feat_word, (size_t)V * sizeof *F->feat_word);
        nglm_blocks_ensure(F->blocks, F->feat_back, (size_t)V * sizeof *F->feat_back);
        if (nglm_blocks_check(F->blocks, err) != 0)
            return -1;
    }
    /* nglm_features_index checks everything but the unigram entries */
    for (int32_t w = 0; w < V; w++)
        if (F->feat_word[w] != w || F->feat_back[w] != -1)
            return nglm_error_set(err, "FEATURES section: unigram feature %d is bad", (int)w);
    if ((r->src->verify ? nglm_features_index(F, err) : nglm_features_tables(F, 0, err)) != 0)
        return nglm_error_prefix(err, "FEATURES section");
    /* mapped: child lookups search ctx_parent when needed (no child_first);
     * the arrays the other lookups index are checked for range, without
     * being kept resident */
    if (!r->src->verify && mf_check_streamed(r->src, F, err) != 0)
        return nglm_error_prefix(err, "FEATURES section");
    return 0;
}

static int parse_cache(mf_reader *r, nglm_model *m, nglm_error *err)
{
    nglm_cache_spec *c = &m->cache;
    uint32_t kind;
    uint64_t reserved;
    if (r->left != MF_CACHE_SIZE)
        return nglm_error_set(err, "CACHE section has %zu bytes, expected %d", r->left,
                              MF_CACHE_SIZE);
    memset(c, 0, sizeof *c);
    rd_u32(r, &kind);
    rd_i32(r, &c->reset_word);
    rd_f64(r, &c->length);
    rd_f64(r, &c->bigram_length);
    rd_f64(r, &c->lambda);
    rd_f64(r, &c->bigram_lambda);
    rd_u64(r, &reserved);
    c->kind = (nglm_cache_kind)kind;
    int ok = (kind == NGLM_CACHE_WINDOW || kind == NGLM_CACHE_DECAY) && reserved == 0 &&
             c->length > 0 && c->length <= 1e9 &&
             (kind != NGLM_CACHE_WINDOW || c->length == floor(c->length)) &&
             c->bigram_length >= 0 && c->bigram_length <= 1e9 && c->lambda >= 0 &&
             c->bigram_lambda >= 0 && c->lambda + c->bigram_lambda <= 1 &&
             (c->bigram_length > 0 || c->bigram_lambda == 0) && c->reset_word >= 0 &&
             c->reset_word < m->feat.V && (c->reset_word == 0 || c->reset_word >= NGLM_NUM_SPECIAL);
    if (!ok)
        return nglm_error_set(err, "CACHE section holds a bad cache");
    m->has_cache = 1;
    return 0;
}

/* CHILDREN: the index's child_first table, so that a mapped model need not
 * build it (reading all of ctx_parent).  Used in place only by the default
 * mapped load, whose child lookups check what they find
 * (nglm_features_child); otherwise the index builds its own table, and the
 * CRC covers this copy. */
static int parse_children(mf_reader *r, nglm_model *m, nglm_error *err)
{
    uint64_t n;
    if (rd_u64(r, &n) != 0 || n != (uint64_t)m->feat.n_ctx + 1 || r->left != 4 * n)
        return nglm_error_set(err, "CHILDREN section does not hold %zu offsets",
                              m->feat.n_ctx + 1);
    if (r->src->in_place && !r->src->verify) {
        free(m->feat.child_first);
        m->feat.child_first = rd_array(r, (size_t)n, sizeof(uint32_t));
    }
    return 0;
}

/* NORMS: ln U and ln Z of every context (doc/model.md §2, "Stored
 * normalisers"), used in place when mapped.  What scoring relies on for
 * memory is the count; the values change numbers only, so the default
 * mapped load leaves them to the block checksums, and a verified load
 * recomputes them and compares. */
static int parse_norms(mf_reader *r, nglm_model *m, int ngram, nglm_error *err)
{
    uint64_t n;
    size_t nc = m->feat.n_ctx;
    const char *name = mf_section_name[ngram ? MF_SEC_NGNORMS : MF_SEC_NORMS];
    if (m->lnz)
        return nglm_error_set(err, "both NORMS and NGRAM_NORMS sections: file is corrupted");
    if (rd_u64(r, &n) != 0 || n != (uint64_t)nc + 1 || r->left != 8 * n)
        return nglm_error_set(err, "%s section does not hold %zu normalisers", name, nc + 1);
    if (!(m->lnz = rd_array(r, (size_t)n, sizeof(double))))
        return nglm_error_set(err, "out of memory for %zu normalisers", nc + 1);
    m->lnz_ngram = ngram;
    if (!r->src->verify)
        return 0;
    size_t n_skip = nglm_model_skip_nonzero(m);
    if (n_skip > 0 && !ngram)
        return nglm_error_set(err, "NORMS section in a model with %zu non-zero skip-gram "
                              "weights: file is corrupted", n_skip);
    double *want = nglm_model_ngram_norms_new(m, 1, err);
    if (!want)
        return nglm_error_prefix(err, "%s section", name);
    for (size_t c = 0; c <= nc; c++)
        if (!(fabs(m->lnz[c] - want[c]) <= 1e-9 * (1 + fabs(want[c])))) {
            double got = m->lnz[c], need = want[c];
            free(want);
            return nglm_error_set(err, "%s section: normaliser %zu is %.17g, the weights "
                                  "give %.17g: file is corrupted", name, c, got, need);
        }
    free(want);
    return 0;
}

static int parse_weights(mf_reader *r, nglm_model *m, nglm_error *err)
{
    uint64_t n;
    if (rd_u64(r, &n) != 0 || n != m->feat.n_feat || r->left != 8 * n)
        return nglm_error_set(err, "WEIGHTS section does not hold %zu weights", m->feat.n_feat);
    m->theta = rd_array(r, (size_t)n, sizeof(double));
    if (!m->theta)
        return nglm_error_set(err, "out of memory for %" PRIu64 " weights", n);
    for (size_t f = 0; r->src->verify && f < (size_t)n; f++)
        if (!isfinite(m->theta[f]))
            return nglm_error_set(err, "WEIGHTS section: weight %zu is not finite", f);
    return 0;
}

/* The BLOCKS section (the last): its table's own checksum, and that it
 * covers every other section; then m->feat.blocks verifies on first use. */
static int mf_blocks(nglm_model *m, const mf_src *src, mf_reader *sec, size_t size,
                     nglm_error *err)
{
    mf_reader *r = &sec[MF_SEC_BLOCKS];
    uint64_t at = (uint64_t)(r->p - src->base), cover, n;
    uint32_t shift, crc;
    if (rd_u32(r, &shift) || rd_u32(r, &crc) || rd_u64(r, &cover) || rd_u64(r, &n))
        return nglm_error_set(err, "BLOCKS section is too short: file is corrupted");
    if (shift != NGLM_BLOCK_SHIFT || cover != at ||
        n != (cover + NGLM_BLOCK_SIZE - 1) >> NGLM_BLOCK_SHIFT || r->left != 4 * n)
        return nglm_error_set(err, "BLOCKS section: bad block table (at byte %" PRIu64
                              "): file is corrupted", at);
    if (nglm_crc32c(0, r->p, r->left) != crc)
        return nglm_error_set(err, "BLOCKS section: the table of block checksums (bytes %"
                              PRIu64 "..%zu) is damaged: file is corrupted", at,
                              size - 1);
    for (int id = 1; id <= MF_N_SECTIONS; id++)
        if (id != MF_SEC_BLOCKS && sec[id].p &&
            (uint64_t)(sec[id].p - src->base) + sec[id].left > cover)
            return nglm_error_set(err, "%s section lies after the BLOCKS section: file is "
                                  "corrupted", mf_section_name[id]);
    nglm_blocks *b = calloc(1, sizeof *b);
    if (!b || !(b->done = calloc((size_t)(n + 63) / 64 + 1, sizeof *b->done))) {
        free(b);
        return nglm_error_set(err, "out of memory");
    }
    b->base = src->base;
    b->cover = (size_t)cover;
    b->n = (size_t)n;
    b->crc = r->p;
    m->feat.blocks = b;
    return 0;
}

/* Checks the header of the file's bytes src->base[0..size) and parses its
 * sections into m (which the caller frees on failure).  Messages are not
 * yet prefixed by the path.  The CRC is checked when src->verify. */
static int mf_parse(nglm_model *m, const mf_src *src, size_t size, nglm_error *err)
{
    const unsigned char *buf = src->base;
    size_t magic_len = strlen(NGLM_MODEL_MAGIC);
    if (size == 0)
        return nglm_error_set(err, "not an nglm model file (empty file)");
    /* KenLM's build_binary output opens with this text */
    static const char kenlm[] = "mmap lm http://kheafield.com/code";
    if (size >= sizeof kenlm - 1 && memcmp(buf, kenlm, sizeof kenlm - 1) == 0)
        return nglm_error_set(err, "a KenLM binary model, which nglm cannot read: give the "
                                   "ARPA file it was built from (build_binary's input)");
    if (memcmp(buf, NGLM_MODEL_MAGIC, size < magic_len ? size : magic_len) != 0)
        return nglm_error_set(err, "not an nglm model file");
    if (size < MF_HEADER_FIXED)
        return nglm_error_set(err, "file is truncated");

    uint32_t version, bom, header_size, n_sec, crc, reserved;
    uint64_t file_size;
    memcpy(&version, buf + 8, 4);
    memcpy(&bom, buf + 12, 4);
    memcpy(&header_size, buf + 16, 4);
    memcpy(&n_sec, buf + 20, 4);
    memcpy(&file_size, buf + 24, 8);
    memcpy(&crc, buf + MF_OFF_CRC, 4);
    memcpy(&reserved, buf + 36, 4);
    if (bom == __builtin_bswap32(MF_BOM))
        return nglm_error_set(err, "model written on a machine of other byte order");
    if (bom != MF_BOM)
        return nglm_error_set(err, "bad byte-order mark: file is corrupted");
    if (version > NGLM_MODEL_VERSION)
        return nglm_error_set(err, "model format version %" PRIu32 " is newer than this nglm "
                              "supports (%d)", version, NGLM_MODEL_VERSION);
    if (version == 0)
        return nglm_error_set(err, "bad model format version 0: file is corrupted");
    if (file_size > size)
        return nglm_error_set(err, "file is truncated");
    if (file_size < size)
        return nglm_error_set(err, "%zu bytes after the end of the model: file is corrupted",
                              size - (size_t)file_size);
    if (src->verify) { /* the CRC of the file with its own field counted as zero */
        static const unsigned char zero[4];
        uint32_t c = nglm_io_crc(crc32(0L, Z_NULL, 0), buf, MF_OFF_CRC);
        c = nglm_io_crc(c, zero, 4);
        c = nglm_io_crc(c, buf + MF_OFF_CRC + 4, size - MF_OFF_CRC - 4);
        if (c != crc)
            return nglm_error_set(err, "checksum mismatch: file is corrupted");
    }

    if (n_sec > MF_MAX_SECTIONS || header_size != MF_HEADER_FIXED + n_sec * MF_ENTRY_SIZE ||
        header_size > size || reserved != 0)
        return nglm_error_set(err, "bad header: file is corrupted");
    mf_reader sec[MF_N_SECTIONS + 1] = { { NULL, 0, NULL } };
    for (uint32_t i = 0; i < n_sec; i++) {
        const unsigned char *e = buf + MF_HEADER_FIXED + (size_t)i * MF_ENTRY_SIZE;
        uint32_t id, pad;
        uint64_t off, len;
        memcpy(&id, e, 4);
        memcpy(&pad, e + 4, 4);
        memcpy(&off, e + 8, 8);
        memcpy(&len, e + 16, 8);
        if (pad != 0 || off < header_size || off > size || len > size - off)
            return nglm_error_set(err, "section %" PRIu32 " lies outside the file: "
                                  "file is truncated or corrupted", i);
        if (id < 1 || id > MF_N_SECTIONS)
            continue; /* unknown sections are skipped */
        if (sec[id].p)
            return nglm_error_set(err, "duplicate %s section", mf_section_name[id]);
        if (off % 8 != 0) /* the arrays are used in place when mapped */
            return nglm_error_set(err, "%s section is not 8-byte aligned: file is corrupted",
                                  mf_section_name[id]);
        sec[id].p = buf + off;
        sec[id].left = (size_t)len;
        sec[id].src = src;
    }
    for (int id = 1; id <= MF_N_REQUIRED; id++)
        if (!sec[id].p)
            return nglm_error_set(err, "missing %s section", mf_section_name[id]);

    /* mapped: the block checksums, when the file has them, and the blocks
     * of what the parser reads (the rest is verified when first used) */
    if (sec[MF_SEC_BLOCKS].p && src->in_place && !src->verify) {
        if (mf_blocks(m, src, sec, size, err) != 0)
            return -1;
        nglm_blocks *b = m->feat.blocks;
        nglm_blocks_ensure(b, buf, header_size);
        for (int id = 1; id <= MF_N_SECTIONS; id++) {
            size_t n = id == MF_SEC_FEATURES ? MF_FEATURES_HEAD : id == MF_SEC_WEIGHTS ||
                       id == MF_SEC_CHILDREN || id == MF_SEC_NORMS || id == MF_SEC_NGNORMS
                       ? 8 : sec[id].left;
            if (sec[id].p && id != MF_SEC_BLOCKS)
                nglm_blocks_ensure(b, sec[id].p, n < sec[id].left ? n : sec[id].left);
        }
        if (nglm_blocks_check(b, err) != 0)
            return -1;
    }
    if (parse_info(&sec[MF_SEC_INFO], m, err) != 0 ||
        parse_vocab(&sec[MF_SEC_VOCAB], m, err) != 0 ||
        parse_features(&sec[MF_SEC_FEATURES], sec[MF_SEC_SKIP].p ? &sec[MF_SEC_SKIP] : NULL,
                       m, err) != 0 ||
        parse_weights(&sec[MF_SEC_WEIGHTS], m, err) != 0 ||
        (sec[MF_SEC_CACHE].p && parse_cache(&sec[MF_SEC_CACHE], m, err) != 0) ||
        (sec[MF_SEC_CHILDREN].p && parse_children(&sec[MF_SEC_CHILDREN], m, err) != 0) ||
        (sec[MF_SEC_NORMS].p && parse_norms(&sec[MF_SEC_NORMS], m, 0, err) != 0) ||
        (sec[MF_SEC_NGNORMS].p && parse_norms(&sec[MF_SEC_NGNORMS], m, 1, err) != 0))
        return -1;
    /* the unigram weights: every scorer sums them first */
    nglm_blocks_ensure(m->feat.blocks, m->theta, (size_t)m->feat.V * sizeof *m->theta);
    return nglm_blocks_check(m->feat.blocks, err);
}


int nglm_model_load(nglm_model *m, const char *path, nglm_error *err)
{
    memset(m, 0, sizeof *m);
    size_t size;
    int fd = nglm_io_open_regular(path, &size, err);
    if (fd < 0)
        return -1;
    FILE *fp = fdopen(fd, "rb");
    if (!fp) {
        int e = errno;
        close(fd);
        return nglm_error_errno(err, e, "%s", path);
    }
    unsigned char *buf = malloc(size ? size : 1);
    if (!buf) {
        fclose(fp);
        return nglm_error_set(err, "%s: out of memory for %zu bytes", path, size);
    }
    size_t got = fread(buf, 1, size, fp);
    if (got != size && ferror(fp)) {
        int e = errno;
        fclose(fp);
        free(buf);
        return nglm_error_errno(err, e, "%s: read error", path);
    }
    fclose(fp);

    nglm_model tmp;
    memset(&tmp, 0, sizeof tmp);
    mf_src src = { buf, 0, 1, -1 };
    int rc = mf_parse(&tmp, &src, got, err);
    free(buf);
    if (rc != 0) {
        nglm_model_free(&tmp);
        return nglm_error_prefix(err, "%s", path);
    }
    *m = tmp;
    return 0;
}

int nglm_model_map(nglm_model *m, const char *path, unsigned flags, nglm_error *err)
{
    memset(m, 0, sizeof *m);
    size_t size;
    int fd = nglm_io_open_regular(path, &size, err);
    if (fd < 0)
        return -1;
    static const unsigned char empty[1];
    void *p = size > 0 ? mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
    if (p == MAP_FAILED) {
        int e = errno;
        close(fd);
        return nglm_error_errno(err, e, "%s: cannot map", path);
    }
    nglm_model tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.map = p; /* from here on nglm_model_free unmaps */
    tmp.map_len = size;
    mf_src src = { p ? p : empty, 1, (flags & NGLM_MAP_VERIFY) != 0, fd };
    int rc = mf_parse(&tmp, &src, size, err);
    close(fd); /* the mapping keeps the file */
    if (rc == 0 && tmp.feat.blocks && !(tmp.feat.blocks->path = strdup(path))) {
        nglm_error_set(err, "out of memory");
        rc = -1;
    }
    if (rc != 0) {
        nglm_model_free(&tmp);
        return nglm_error_prefix(err, "%s", path);
    }
    *m = tmp;
    return 0;
}

int nglm_model_file_is_native(const char *path)
{
    size_t size, n = strlen(NGLM_MODEL_MAGIC);
    struct stat st; /* a FIFO is not even opened: see nglm_arpa_file_is_arpa */
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return 0;
    int fd = nglm_io_open_regular(path, &size, NULL);
    if (fd < 0)
        return 0;
    char head[16];
    ssize_t got = size >= n ? read(fd, head, n) : 0;
    close(fd);
    return got == (ssize_t)n && memcmp(head, NGLM_MODEL_MAGIC, n) == 0;
}
