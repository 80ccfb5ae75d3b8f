/*
 * nglm/error.h — how nglm's library reports failure.
 *
 * Every function that can fail returns 0 on success and -1 on failure, and
 * fills a caller-owned nglm_error with one human-readable line (no trailing
 * newline).  Library code never prints and never exits: the programs turn the
 * message into one line on stderr and a documented exit status.
 */
#ifndef NGLM_ERROR_H
#define NGLM_ERROR_H

#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NGLM_ERROR_MAX 1024

typedef struct nglm_error {
    char msg[NGLM_ERROR_MAX];
} nglm_error;

/* Formats a message into err (if err is not NULL).  Always returns -1, so a
 * failing function can end with `return nglm_error_set(err, ...);`. */
int nglm_error_set(nglm_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Like nglm_error_set, with strerror(errno_value) appended as ": reason". */
int nglm_error_errno(nglm_error *err, int errno_value, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes an existing message with "prefix: " (for adding context). */
int nglm_error_prefix(nglm_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#ifdef __cplusplus
}
#endif
#endif
