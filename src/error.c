/*
 * error.c — the one place where error messages are formatted (see
 * include/nglm/error.h for the convention: return -1, fill nglm_error).
 */
#include "nglm/error.h"

#include <stdio.h>
#include <string.h>

int nglm_error_set(nglm_error *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int nglm_error_errno(nglm_error *err, int errno_value, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        size_t n = strlen(err->msg);
        snprintf(err->msg + n, sizeof err->msg - n, ": %s", strerror(errno_value));
    }
    return -1;
}

int nglm_error_prefix(nglm_error *err, const char *fmt, ...)
{
    if (err) {
        char prefix[NGLM_ERROR_MAX], old[NGLM_ERROR_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(prefix, sizeof prefix, fmt, ap);
        va_end(ap);
        memcpy(old, err->msg, sizeof old);
        /* "prefix: old", cut to fit (written by hand: snprintf would warn
         * about the truncation we want) */
        size_t lp = strnlen(prefix, NGLM_ERROR_MAX - 3);
        size_t lo = strnlen(old, NGLM_ERROR_MAX - 3 - lp);
        memcpy(err->msg, prefix, lp);
        memcpy(err->msg + lp, ": ", 2);
        memcpy(err->msg + lp + 2, old, lo);
        err->msg[lp + 2 + lo] = '\0';
    }
    return -1;
}
