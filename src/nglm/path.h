/*
 * nglm/path.h — what a path given to nglm names, decided once for every
 * program and the Python module: the file an output path would replace (a
 * symbolic link is written through, never replaced), the null device as a
 * sink, and inputs opened without ever blocking on a FIFO
 * (doc/model-format.md, "Special files").
 */
#ifndef NGLM_PATH_H
#define NGLM_PATH_H

#include <stddef.h>

#include "nglm/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The file an output path names: path itself when it is not a symbolic
 * link, else where its chain of links ends (a relative target is taken
 * from the link's directory); that file need not exist (a dangling link
 * names the file it would create).  NULL and err on a loop ("PATH: too many
 * levels of symbolic links") or a link kept by /proc (/dev/stdout ->
 * /proc/self/fd/1: a process's open file, which has no name that could be
 * replaced).  The result is malloc'd. */
char *nglm_path_resolve(const char *path, nglm_error *err);

/* 1 if path (after links) is the null device, a sink any output may be. */
int nglm_path_is_sink(const char *path);

/* nglm_path_open_input's flags. */
#define NGLM_PATH_STREAM 1u /* a FIFO may be read as a stream (an ARPA file) */

/* Opens an input for reading without blocking: a regular file, or with
 * NGLM_PATH_STREAM a FIFO, whose descriptor is then made blocking (a FIFO
 * with no writer reads as empty: nothing waits for one).  Anything else is
 * refused with one line ("PATH: is a directory", "PATH: not a regular
 * file (a character device)").  Returns the descriptor and sets *size (0
 * for a stream) and *is_stream, or returns -1. */
int nglm_path_open_input(const char *path, unsigned flags, size_t *size, int *is_stream,
                         nglm_error *err);

#ifdef __cplusplus
}
#endif

#endif
