/*
 * fileio.c — atomic file replacement and large-buffer CRC-32 (see
 * fileio.h).  The one place that knows the temp-file / fsync / rename
 * dance, so the model file, the checkpoint and the ARPA writer all get it
 * right the same way.
 */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

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
        if (fwrite(q, 1, k, w->fp) != k) {
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

int nglm_io_open_regular(const char *path, size_t *size, nglm_error *err)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return nglm_error_errno(err, errno, "%s", path);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return nglm_error_errno(err, e, "%s", path);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return nglm_error_set(err, "%s: %s", path,
                              S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
    }
    if ((uint64_t)st.st_size > SIZE_MAX - 1) {
        close(fd);
        return nglm_error_set(err, "%s: file too large", path);
    }
    *size = (size_t)st.st_size;
    return fd;
}

int nglm_atomic_open(nglm_atomic *a, const char *path, nglm_error *err)
{
    memset(a, 0, sizeof *a);
    a->path = path;
    mode_t mode = 0644;
    struct stat st;
    if (stat(path, &st) == 0) {
        if (!S_ISREG(st.st_mode))
            return nglm_error_set(err, "%s: not a regular file", path);
        mode = st.st_mode & 07777;
    } else if (errno != ENOENT) {
        return nglm_error_errno(err, errno, "%s", path);
    }
    size_t tlen = strlen(path) + sizeof ".tmp.XXXXXX";
    a->tmp = malloc(tlen);
    if (!a->tmp)
        return nglm_error_set(err, "%s: out of memory", path);
    snprintf(a->tmp, tlen, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(a->tmp);
    if (fd < 0) {
        nglm_error_errno(err, errno, "%s", path); /* e.g. "x/m.nglm: No such file or directory" */
        free(a->tmp);
        a->tmp = NULL;
        return -1;
    }
    if (fchmod(fd, mode) != 0 || !(a->fp = fdopen(fd, "wb"))) {
        int e = errno;
        close(fd);
        unlink(a->tmp);
        free(a->tmp);
        a->tmp = NULL;
        return nglm_error_errno(err, e, "%s: cannot prepare temporary file", path);
    }
    return 0;
}

void nglm_atomic_abort(nglm_atomic *a)
{
    if (a->fp)
        fclose(a->fp);
    a->fp = NULL;
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
    if (fsync(fileno(a->fp)) != 0) {
        what = "fsync failed";
        goto fail;
    }
    int rc = fclose(a->fp);
    a->fp = NULL;
    if (rc != 0)
        goto fail;
    if (rename(a->tmp, a->path) != 0) {
        what = "cannot rename the temporary file over it";
        goto fail;
    }
    sync_dir(a->path);
    free(a->tmp);
    a->tmp = NULL;
    return 0;
fail:;
    int e = errno ? errno : EIO;
    nglm_atomic_abort(a);
    return nglm_error_errno(err, e, "%s: %s", a->path, what);
}
