/*
 * fileio.h — the file-safety pieces that the model file, the checkpoint
 * and the ARPA writer share (internal to libnglm): replacing a file
 * atomically, and CRC-32 over buffers of any size.
 *
 * Atomic replacement: the new content goes to PATH.tmp.XXXXXX in the same
 * directory; commit flushes and fsyncs it, renames it over PATH and syncs
 * the directory.  A crash, a kill or a full disk at any moment leaves either
 * the old file or the complete new one, never a mixture; on failure the
 * temporary file is removed.  Only a regular file (or nothing) is replaced,
 * so /dev/full or a directory is refused up front; an existing file's
 * permissions are kept.
 */
#ifndef NGLM_FILEIO_H
#define NGLM_FILEIO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "nglm/error.h"
#include "nglm/path.h"

typedef struct nglm_atomic {
    const char *path;
    char *tmp;  /* the temporary file's name */
    FILE *fp;   /* write the new content here */
    char *target; /* the file PATH names (nglm_io_resolve): replaced by the rename */
    int stream;   /* 1: PATH is "-", written to stdout; 2: the /dev/null sink */
} nglm_atomic;

/* Creates the temporary file beside the file PATH names (a symbolic link is
 * followed to its target, which is replaced: the link stays).  Fails
 * (nothing created) when that file exists and is not a regular file, or
 * its directory is not writable.  PATH "-" is standard output and
 * /dev/null a sink: both are written as streams, nothing is renamed. */
int nglm_atomic_open(nglm_atomic *a, const char *path, nglm_error *err);

/* Flushes, fsyncs and closes the temporary file, renames it over PATH and
 * syncs the directory.  On failure removes the temporary file and reports
 * "PATH: reason". */
int nglm_atomic_commit(nglm_atomic *a, nglm_error *err);

/* Gives up: closes and removes the temporary file. */
void nglm_atomic_abort(nglm_atomic *a);

/* Like nglm_atomic_abort, then reports "PATH: write error: strerror(errnum)";
 * returns -1. */
int nglm_atomic_fail(nglm_atomic *a, int errnum, nglm_error *err);

/* zlib's crc32 over n bytes (zlib takes at most a uInt per call). */
uint32_t nglm_io_crc(uint32_t crc, const void *p, size_t n);

/* nglm_io_crc over a text's sentence count, ids and sentence starts. */
struct nglm_corpus;
uint32_t nglm_io_crc_corpus(uint32_t crc, const struct nglm_corpus *c);

/* A writer that keeps the CRC-32 and the offset of what it wrote, and the
 * errno of its first failed write (later writes are skipped), so a file
 * format's writer is straight-line code checked once at the end. */
typedef struct nglm_io_writer {
    FILE *fp;
    uint32_t crc;
    uint64_t pos;
    int errnum; /* 0 while every write succeeded */
} nglm_io_writer;

void nglm_io_writer_init(nglm_io_writer *w, FILE *fp);
void nglm_io_write(nglm_io_writer *w, const void *p, size_t n);

/* Size of path if it is a regular file, else 0 (stdin "-", pipes, missing
 * files): the total of a progress report. */
uint64_t nglm_io_file_size(const char *path);

/* Opens path for reading without blocking on a FIFO and checks that it is
 * a regular file ("is a directory", "not a regular file" otherwise);
 * returns the descriptor and sets *size, or returns -1. */
int nglm_io_open_regular(const char *path, size_t *size, nglm_error *err);

/* If the regular file at path starts with gzip's magic bytes: -1 and
 * "PATH is gzip-compressed: ..." in err (texts are read as plain text);
 * else 0. */
int nglm_io_refuse_gzip(const char *path, nglm_error *err);

#endif
