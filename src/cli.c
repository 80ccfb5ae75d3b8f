/*
 * cli.c — shared helpers of the nglm programs (see cli.h): strict parsing of
 * option values and one-line fatal errors.  Kept out of libnglm, whose
 * functions never print or exit.
 */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char *prog_name = "nglm";

void nglm_cli_set_prog(const char *argv0)
{
    const char *slash = argv0 ? strrchr(argv0, '/') : NULL;
    prog_name = slash ? slash + 1 : (argv0 ? argv0 : "nglm");
    /* libtool's uninstalled wrapper runs "lt-nglm-train" */
    if (strncmp(prog_name, "lt-", 3) == 0)
        prog_name += 3;
}

const char *nglm_cli_prog(void) { return prog_name; }

void nglm_cli_die(int status, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", prog_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(status);
}

void nglm_cli_warn(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", prog_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

long nglm_cli_long(const char *opt, const char *s, long min, long max)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || errno == ERANGE)
        nglm_cli_die(NGLM_EXIT_USAGE, "%s: '%s' is not an integer", opt, s);
    if (v < min || v > max)
        nglm_cli_die(NGLM_EXIT_USAGE, "%s: '%s' is out of range (%ld..%ld)", opt, s,
                     min, max);
    return v;
}

double nglm_cli_double(const char *opt, const char *s, double min, double max)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno == ERANGE || !isfinite(v))
        nglm_cli_die(NGLM_EXIT_USAGE, "%s: '%s' is not a finite number", opt, s);
    if (v < min || v > max)
        nglm_cli_die(NGLM_EXIT_USAGE, "%s: '%s' is out of range (%g..%g)", opt, s, min,
                     max);
    return v;
}

uint64_t nglm_cli_size(const char *opt, const char *s)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || errno == ERANGE || s[0] == '-')
        nglm_cli_die(NGLM_EXIT_USAGE, "%s: '%s' is not a size", opt, s);
    uint64_t mult = 1;
    switch (*end) {
    case '\0': break;
    case 'k': case 'K': mult = 1ull << 10; end++; break;
    case 'm': case 'M': mult = 1ull << 20; end++; break;
    case 'g': case 'G': mult = 1ull << 30; end++; break;
    default: break;
    }
    if (*end != '\0' || (mult > 1 && v > UINT64_MAX / mult))
        nglm_cli_die(NGLM_EXIT_USAGE, "%s: '%s' is not a size (use K, M or G)", opt, s);
    return (uint64_t)v * mult;
}
