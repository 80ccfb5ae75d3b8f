/*
 * fileio.c — atomic file replacement and large-buffer CRC-32 (see
 * fileio.h).  The one place that knows the temp-file / fsync / rename
 * dance, so the model file, the checkpoint and the ARPA writer all get it
 * right the same way.
 */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <zlib.h>

#include "nglm/corpus.h"

uint32_t nglm_io_crc(uint32_t crc, const void *p, size_t n)
{
    const Bytef *b = p;
    uLong c = crc;
    while (n > 0) {
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        c = crc32(c, b, k);
        b += k;
        n -= k;
    }
    return (uint32_t)c;
}

uint32_t nglm_io_crc_corpus(uint32_t crc, const nglm_corpus *c)
{
    crc = nglm_io_crc(crc, &c->n_sents, sizeof c->n_sents);
    crc = nglm_io_crc(crc, c->ids, c->n_tokens * sizeof *c->ids);
    return nglm_io_crc(crc, c->start, (c->n_sents + 1) * sizeof *c->start);
}

void nglm_io_writer_init(nglm_io_writer *w, FILE *fp)
{
    w->fp = fp;
    w->crc = (uint32_t)crc32(0L, Z_NULL, 0);
    w->pos = 0;
    w->errnum = 0;
}

/* Written in pieces of at most 64 KiB: stdio hands a large fwrite to one
 * write(2), after which Linux may cache the file in folios of up to 2 MiB,
 * and a process that maps the file (nglm_model_map) gets a whole folio
 * resident for every lookup that faults; with small writes the folios, and
 * what a lookup makes resident, stay at most 64 KiB (bench/RESULTS.md). */
#define IO_PIECE ((size_t)1 << 16)

void nglm_io_write(nglm_io_writer *w, const void *p, size_t n)
{
    const unsigned char *q = p;
    while (!w->errnum && n > 0) {
        size_t k = n < IO_PIECE ? n : IO_PIECE;
        errno = 0;
        if (w->fp && fwrite(q, 1, k, w->fp) != k) { /* no file: the CRC only */
            w->errnum = errno ? errno : EIO;
            return;
        }
        w->crc = nglm_io_crc(w->crc, q, k);
        w->pos += k;
        q += k;
        n -= k;
    }
}

uint64_t nglm_io_file_size(const char *path)
{
    struct stat st;
    return strcmp(path, "-") != 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode)
               ? (uint64_t)st.st_size : 0;
}

int nglm_io_refuse_gzip(const char *path, nglm_error *err)
{
    /* only a regular file is looked into: opening and closing a FIFO would
     * let its writer start and then die of SIGPIPE before the real reader */
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return 0; /* the caller's own open reports what is wrong */
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    unsigned char head[2];
    int gz = pread(fd, head, 2, 0) == 2 && head[0] == 0x1f && head[1] == 0x8b;
    close(fd);
    if (gz)
        return nglm_error_set(err, "%s is gzip-compressed: texts are read as plain text "
                                   "(decompress it first: zcat %s > FILE)", path, path);
    return 0;
}

static const char *kind_of(mode_t m)
{
    return S_ISDIR(m) ? "is a directory" : S_ISFIFO(m) ? "not a regular file (a FIFO)"
         : S_ISCHR(m) ? "not a regular file (a character device)"
         : S_ISBLK(m) ? "not a regular file (a block device)"
         : S_ISSOCK(m) ? "not a regular file (a socket)" : "not a regular file";
}

int nglm_path_open_input(const char *path, unsigned flags, size_t *size, int *is_stream,
                         nglm_error *err)
{
    /* O_NONBLOCK: opening a FIFO never waits for its writer */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return nglm_error_errno(err, errno, "%s", path);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return nglm_error_errno(err, e, "%s", path);
    }
    *size = 0;
    *is_stream = 0;
    if (S_ISFIFO(st.st_mode) && (flags & NGLM_PATH_STREAM)) {
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
            int e = errno;
            close(fd);
            return nglm_error_errno(err, e, "%s", path);
        }
        *is_stream = 1;
        return fd;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return nglm_error_set(err, "%s: %s", path, kind_of(st.st_mode));
    }
    if ((uint64_t)st.st_size > SIZE_MAX - 1) {
        close(fd);
        return nglm_error_set(err, "%s: file too large", path);
    }
    *size = (size_t)st.st_size;
    return fd;
}

int nglm_io_open_regular(const char *path, size_t *size, nglm_error *err)
{
    int stream;
    return nglm_path_open_input(path, 0, size, &stream, err);
}

#define IO_MAX_LINKS 40         /* as the kernel's own limit on a path's links */
#define IO_PROC_MAGIC 0x9fa0    /* statfs's f_type of /proc */

/* The directory part of path ("." when it has none), malloc'd. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
}

char *nglm_path_resolve(const char *path, nglm_error *err)
{
    char *cur = strdup(path);
    for (int hops = 0; cur; hops++) {
        struct stat st;
        if (lstat(cur, &st) != 0 || !S_ISLNK(st.st_mode))
            return cur; /* a missing file or ENOTDIR: the open reports it */
        if (hops == IO_MAX_LINKS) {
            free(cur);
            nglm_error_set(err, "%s: too many levels of symbolic links", path);
            return NULL;
        }
        /* /proc's links (/dev/stdout -> /proc/self/fd/1) are a process's
         * open files: what they point to has no name of its own that could
         * be replaced (a pipe, a terminal, or a file opened by the shell) */
        char *dir = dir_of(cur);
        struct statfs fs;
        int proc = dir && statfs(dir, &fs) == 0 && fs.f_type == IO_PROC_MAGIC;
        if (proc) {
            nglm_error_set(err, "%s: a link to a process's open file (%s), not to a file: "
                           "refusing to replace it (give a file's path)", path, cur);
            free(dir);
            free(cur);
            return NULL;
        }
        char target[PATH_MAX];
        ssize_t n = readlink(cur, target, sizeof target - 1);
        if (n < 0 || !dir) {
            nglm_error_errno(err, n < 0 ? errno : ENOMEM, "%s", path);
            free(dir);
            free(cur);
            return NULL;
        }
        target[n] = '\0';
        char *next;
        if (target[0] == '/') {
            next = strdup(target);
        } else {
            size_t len = strlen(dir) + 1 + (size_t)n + 1;
            next = malloc(len);
            if (next)
                snprintf(next, len, "%s/%s", dir, target);
        }
        free(dir);
        free(cur);
        cur = next;
    }
    nglm_error_set(err, "%s: out of memory", path);
    return NULL;
}

int nglm_path_is_sink(const char *path)
{
    struct stat st, null;
    return stat(path, &st) == 0 && S_ISCHR(st.st_mode) && stat("/dev/null", &null) == 0 &&
           S_ISCHR(null.st_mode) && st.st_rdev == null.st_rdev;
}

int nglm_atomic_open(nglm_atomic *a, const char *path, nglm_error *err)
{
    memset(a, 0, sizeof *a);
    a->path = path;
    if (strcmp(path, "-") == 0) { /* a stream: written as it comes */
        a->stream = 1;
        a->fp = stdout;
        return 0;
    }
    if (nglm_path_is_sink(path)) {
        a->stream = 2;
        if (!(a->fp = fopen(path, "wb")))
            return nglm_error_errno(err, errno, "%s", path);
        return 0;
    }
    if (!(a->target = nglm_path_resolve(path, err)))
        return -1;
    mode_t mode = 0644;
    struct stat st;
    if (stat(a->target, &st) == 0) {
        if (!S_ISREG(st.st_mode)) {
            nglm_error_set(err, "%s: %s", path, S_ISDIR(st.st_mode) ? "is a directory"
                                                 : "not a regular file: refusing to replace it");
            free(a->target);
            a->target = NULL;
            return -1;
        }
        mode = st.st_mode & 07777;
    } else if (errno != ENOENT) {
        int e = errno;
        free(a->target);
        a->target = NULL;
        return nglm_error_errno(err, e, "%s", path);
    }
    size_t tlen = strlen(a->target) + sizeof ".tmp.XXXXXX";
    a->tmp = malloc(tlen);
    if (!a->tmp) {
        free(a->target);
        a->target = NULL;
        return nglm_error_set(err, "%s: out of memory", path);
    }
    snprintf(a->tmp, tlen, "%s.tmp.XXXXXX", a->target);
    int fd = mkstemp(a->tmp);
    if (fd < 0) {
        nglm_error_errno(err, errno, "%s", path); /* e.g. "x/m.nglm: No such file or directory" */
        free(a->tmp);
        free(a->target);
        a->tmp = a->target = NULL;
        return -1;
    }
    if (fchmod(fd, mode) != 0 || !(a->fp = fdopen(fd, "wb"))) {
        int e = errno;
        close(fd);
        unlink(a->tmp);
        free(a->tmp);
        free(a->target);
        a->tmp = a->target = NULL;
        return nglm_error_errno(err, e, "%s: cannot prepare temporary file", path);
    }
    return 0;
}

void nglm_atomic_abort(nglm_atomic *a)
{
    if (a->fp && a->stream != 1)
        fclose(a->fp);
    a->fp = NULL;
    free(a->target);
    a->target = NULL;
    if (a->tmp) {
        unlink(a->tmp);
        free(a->tmp);
        a->tmp = NULL;
    }
}

int nglm_atomic_fail(nglm_atomic *a, int errnum, nglm_error *err)
{
    nglm_atomic_abort(a);
    return nglm_error_errno(err, errnum ? errnum : EIO, "%s: write error", a->path);
}

/* Best effort: makes the rename itself durable. */
static void sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path))
                      : strdup(".");
    if (!dir)
        return;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(dir);
}

int nglm_atomic_commit(nglm_atomic *a, nglm_error *err)
{
    const char *what = "write error";
    errno = 0;
    if (fflush(a->fp) != 0 || ferror(a->fp))
        goto fail;
    if (a->stream) { /* stdout stays open; the sink is closed */
        int rc = a->stream == 2 ? fclose(a->fp) : 0;
        a->fp = NULL;
        if (rc != 0)
            goto fail;
        return 0;
    }
    if (fsync(fileno(a->fp)) != 0) {
        what = "fsync failed";
        goto fail;
    }
    int rc = fclose(a->fp);
    a->fp = NULL;
    if (rc != 0)
        goto fail;
    if (rename(a->tmp, a->target) != 0) {
        what = "cannot rename the temporary file over it";
        goto fail;
    }
    sync_dir(a->target);
    free(a->tmp);
    free(a->target);
    a->tmp = a->target = NULL;
    return 0;
fail:;
    int e = errno ? errno : EIO;
    nglm_atomic_abort(a);
    return nglm_error_errno(err, e, "%s: %s", a->path, what);
}
