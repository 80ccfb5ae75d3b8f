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
        snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old);
    }
    return -1;
}
