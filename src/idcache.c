/*
 * idcache.c — the id-stream cache of include/nglm/idcache.h: a corpus's ids
 * written once, then mapped read-only by later runs.
 *
 * Mapping rather than reading keeps a large corpus out of the process's
 * private memory: its pages are the page cache's, shared by concurrent runs
 * (and MPI ranks on one machine) and dropped by the kernel under pressure,
 * so a training run's own memory is the model's.  The checks on mapping
 * read the whole file once (the CRC and the id ranges); that costs a small
 * fraction of tokenizing the text again, and it means a damaged cache can
 * never feed an out-of-range id to the trainer.
 */
#include "nglm/idcache.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hash.h"
#include "fileio.h"

#define IDS_MAGIC "NGLMIDS"
#define IDS_VERSION 1u
#define IDS_BOM 0x01020304u

/* The 64-byte header (native byte order; bom tells a foreign one). */
typedef struct ids_header {
    char magic[8];
    uint32_t version, bom;
    uint64_t n_tokens, n_sents, n_words, n_oov;
    uint32_t vocab_fp;    /* nglm_idcache_vocab_fingerprint */
    uint32_t V;           /* vocabulary size: every id is below it */
    uint32_t body_crc;    /* CRC-32 of the offsets, then the ids */
    uint32_t header_crc;  /* CRC-32 of the 60 bytes before it */
} ids_header;

_Static_assert(sizeof(ids_header) == 64, "the cache header is 64 bytes");
_Static_assert(sizeof(size_t) == sizeof(uint64_t), "offsets are mapped as size_t");

uint32_t nglm_idcache_vocab_fingerprint(const nglm_vocab *v)
{
    uint32_t crc = nglm_io_crc(0, NULL, 0);
    size_t n = nglm_vocab_size(v);
    for (size_t i = 0; i < n; i++) {
        const char *w = nglm_vocab_word(v, (int32_t)i);
        uint64_t count = nglm_vocab_count(v, (int32_t)i);
        crc = nglm_io_crc(crc, w, strlen(w) + 1);
        crc = nglm_io_crc(crc, &count, sizeof count);
    }
    return crc;
}

/* ---------------------------------------------------------------- writing */

int nglm_idcache_save(const nglm_corpus *c, const nglm_vocab *v, const char *path,
                      nglm_error *err)
{
    ids_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, IDS_MAGIC, sizeof IDS_MAGIC);
    h.version = IDS_VERSION;
    h.bom = IDS_BOM;
    h.n_tokens = c->n_tokens;
    h.n_sents = c->n_sents;
    h.n_words = c->n_words;
    h.n_oov = c->n_oov;
    h.vocab_fp = nglm_idcache_vocab_fingerprint(v);
    h.V = (uint32_t)nglm_vocab_size(v);
    size_t n_off = c->n_sents + 1;
    h.body_crc = nglm_io_crc(nglm_io_crc(0, NULL, 0), c->start, n_off * sizeof *c->start);
    h.body_crc = nglm_io_crc(h.body_crc, c->ids, c->n_tokens * sizeof *c->ids);
    h.header_crc = nglm_io_crc(nglm_io_crc(0, NULL, 0), &h, offsetof(ids_header, header_crc));

    nglm_atomic a;
    if (nglm_atomic_open(&a, path, err) != 0)
        return -1;
    nglm_io_writer w;
    nglm_io_writer_init(&w, a.fp);
    nglm_io_write(&w, &h, sizeof h);
    nglm_io_write(&w, c->start, n_off * sizeof *c->start);
    nglm_io_write(&w, c->ids, c->n_tokens * sizeof *c->ids);
    if (w.errnum)
        return nglm_atomic_fail(&a, w.errnum, err);
    return nglm_atomic_commit(&a, err);
}

int nglm_idcache_save_vocab(const nglm_vocab *v, const char *path, nglm_error *err)
{
    /* nglm_vocab_save writes in place (it also serves --write-vocab
     * /dev/stdout); a cache file must appear whole or not at all, because a
     * vocabulary cut at a line boundary would still load */
    char tmp[PATH_MAX + 64];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return nglm_error_set(err, "%s: path too long", path);
    if (nglm_vocab_save(v, tmp, err) != 0) {
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return nglm_error_errno(err, e, "%s", path);
    }
    return 0;
}

/* ---------------------------------------------------------------- mapping */

/* Checks the mapped file; returns NULL or what is wrong. */
static const char *check_mapped(const unsigned char *p, size_t size, const nglm_vocab *v)
{
    ids_header h;
    if (size < sizeof h)
        return "truncated (no complete header)";
    memcpy(&h, p, sizeof h);
    if (memcmp(h.magic, IDS_MAGIC, sizeof IDS_MAGIC) != 0)
        return "not an nglm id-stream cache file";
    if (h.bom != IDS_BOM)
        return "written on a machine of the other byte order";
    if (h.version != IDS_VERSION)
        return "written by another version of nglm";
    if (h.header_crc != nglm_io_crc(nglm_io_crc(0, NULL, 0), &h, offsetof(ids_header, header_crc)))
        return "damaged header (checksum mismatch)";
    if (h.vocab_fp != nglm_idcache_vocab_fingerprint(v) || h.V != nglm_vocab_size(v))
        return "made with another vocabulary";
    if (h.n_sents >= (SIZE_MAX - sizeof h) / 8 / 2 || h.n_tokens >= (SIZE_MAX - sizeof h) / 4 / 2)
        return "damaged header (impossible counts)";
    size_t n_off = (size_t)h.n_sents + 1;
    size_t want = sizeof h + n_off * 8 + (size_t)h.n_tokens * 4;
    if (size < want)
        return "truncated";
    if (size > want)
        return "longer than its header says";
    const size_t *start = (const size_t *)(p + sizeof h);
    const int32_t *ids = (const int32_t *)(p + sizeof h + n_off * 8);
    uint32_t crc = nglm_io_crc(nglm_io_crc(0, NULL, 0), start, n_off * 8);
    if (h.body_crc != nglm_io_crc(crc, ids, (size_t)h.n_tokens * 4))
        return "damaged (checksum mismatch)";
    /* the CRC matched, so these fail only for a file written wrongly */
    if (start[0] != 0 || start[h.n_sents] != h.n_tokens || h.n_words + h.n_sents != h.n_tokens)
        return "inconsistent offsets";
    for (size_t s = 0; s < h.n_sents; s++)
        if (start[s + 1] <= start[s] || ids[start[s + 1] - 1] != NGLM_EOS)
            return "inconsistent offsets";
    for (size_t t = 0; t < h.n_tokens; t++)
        if (ids[t] <= NGLM_BOS || (uint32_t)ids[t] >= h.V)
            return "an id out of range";
    return NULL;
}

int nglm_idcache_map(nglm_corpus *c, const nglm_vocab *v, const char *path, nglm_error *err)
{
    memset(c, 0, sizeof *c);
    size_t size;
    int fd = nglm_io_open_regular(path, &size, err);
    if (fd < 0)
        return -1;
    if (size < sizeof(ids_header)) {
        close(fd);
        return nglm_error_set(err, "%s: truncated (no complete header)", path);
    }
    void *p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (p == MAP_FAILED)
        return nglm_error_errno(err, e, "%s: cannot map", path);
    const char *why = check_mapped(p, size, v);
    if (why) {
        munmap(p, size);
        return nglm_error_set(err, "%s: %s", path, why);
    }
    ids_header h;
    memcpy(&h, p, sizeof h);
    c->map = p;
    c->map_len = size;
    c->start = (size_t *)((char *)p + sizeof h);
    c->ids = (int32_t *)((char *)p + sizeof h + ((size_t)h.n_sents + 1) * 8);
    c->n_tokens = (size_t)h.n_tokens;
    c->n_sents = (size_t)h.n_sents;
    c->n_words = h.n_words;
    c->n_oov = h.n_oov;
    return 0;
}

/* ---------------------------------------------------------------- keys */


/* Hash of a text's identity and the tokenizer options. */
static int text_key(uint64_t *key, const char *what, const char *text,
                    const nglm_tok_options *opt, nglm_error *err)
{
    if (strcmp(text, "-") == 0)
        return nglm_error_set(err, "%s: standard input cannot be cached", what);
    char abs[PATH_MAX];
    struct stat st;
    if (!realpath(text, abs) || stat(abs, &st) != 0)
        return nglm_error_errno(err, errno, "%s", text);
    if (!S_ISREG(st.st_mode))
        return nglm_error_set(err, "%s: not a regular file: it cannot be cached", text);
    uint64_t h = nglm_fnv1a(NGLM_FNV_OFFSET, what, strlen(what) + 1);
    h = nglm_fnv1a(h, abs, strlen(abs) + 1);
    uint64_t id[5] = {(uint64_t)st.st_size, (uint64_t)st.st_mtim.tv_sec,
                      (uint64_t)st.st_mtim.tv_nsec, (uint64_t)st.st_ino, (uint64_t)st.st_dev};
    h = nglm_fnv1a(h, id, sizeof id);
    uint32_t o[4] = {(uint32_t)opt->mode, (uint32_t)opt->lowercase, (uint32_t)opt->replace_invalid,
                     (uint32_t)opt->keep_blank};
    *key = nglm_fnv1a(h, o, sizeof o);
    return 0;
}

static int key_path(char *out, size_t n, const char *dir, uint64_t key, const char *ext,
                    nglm_error *err)
{
    if (snprintf(out, n, "%s/%016llx.%s", dir, (unsigned long long)key, ext) >= (int)n)
        return nglm_error_set(err, "%s: cache directory path too long", dir);
    return 0;
}

int nglm_idcache_ids_path(char *out, size_t n, const char *dir, const char *text,
                          const nglm_tok_options *opt, const nglm_vocab *v, nglm_error *err)
{
    uint64_t key;
    if (text_key(&key, "ids", text, opt, err) != 0)
        return -1;
    uint32_t fp = nglm_idcache_vocab_fingerprint(v);
    key = nglm_fnv1a(key, &fp, sizeof fp);
    return key_path(out, n, dir, key, "ids", err);
}

int nglm_idcache_vocab_path(char *out, size_t n, const char *dir, const char *text,
                            const nglm_tok_options *opt, uint64_t min_count,
                            size_t max_vocab, nglm_error *err)
{
    uint64_t key;
    if (text_key(&key, "vocab", text, opt, err) != 0)
        return -1;
    uint64_t o[2] = {min_count, (uint64_t)max_vocab};
    key = nglm_fnv1a(key, o, sizeof o);
    return key_path(out, n, dir, key, "vocab", err);
}

int nglm_idcache_corpus(nglm_corpus *c, const char *dir, const char *text,
                        const nglm_tok_options *opt, const nglm_vocab *v, int *hit,
                        nglm_error *err)
{
    char path[PATH_MAX + 64];
    *hit = 0;
    if (nglm_idcache_ids_path(path, sizeof path, dir, text, opt, v, err) != 0)
        return -1;
    nglm_error refused = {{0}};
    if (access(path, F_OK) == 0) {
        if (nglm_idcache_map(c, v, path, &refused) == 0) {
            *hit = 1;
            return 0;
        }
    }
    if (nglm_corpus_read(c, text, opt, v, err) != 0)
        return -1;
    if (nglm_idcache_save(c, v, path, err) != 0) {
        nglm_corpus_free(c);
        nglm_error_prefix(err, "cache");
        return -1;
    }
    if (refused.msg[0]) {
        *hit = -1;
        *err = refused;
    }
    return 0;
}
