/*
 * options.c — the option tables of nglm/options.h: setting a field from a
 * row and a value, finding a row by name, and writing the rows as help.
 *
 * The value parsers here are the only ones: the programs' other options
 * (cli.c) and the Python module read their numbers through them, so that a
 * bad value reads the same everywhere, e.g. "'abc' is not an integer".
 */
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nglm/options.h"

int nglm_parse_long(const char *s, long min, long max, long *out, nglm_error *err)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0')
        return nglm_error_set(err, "'%s' is not an integer", s);
    if (errno == ERANGE || v < min || v > max) /* too many digits for a long, too */
        return nglm_error_set(err, "'%s' is out of range (%ld..%ld)", s, min, max);
    *out = v;
    return 0;
}

int nglm_parse_double(const char *s, double min, double max, double *out, nglm_error *err)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || (errno != ERANGE && !isfinite(v)))
        return nglm_error_set(err, "'%s' is not a finite number", s);
    /* ERANGE: a number, but too large for a double or too close to 0 (1e-310) */
    if (errno == ERANGE && fabs(v) < 1)
        return nglm_error_set(err, "'%s' is too close to 0 (a double holds no smaller "
                              "magnitude than %g; the range is %g..%g)", s, DBL_MIN, min, max);
    if (errno == ERANGE || !isfinite(v) || v < min || v > max)
        return nglm_error_set(err, "'%s' is out of range (%g..%g)", s, min, max);
    *out = v;
    return 0;
}

/* digits, then an optional K, M or G multiplying by base, base^2, base^3 */
static int suffixed(const char *s, uint64_t base, const char *what, uint64_t *out,
                    nglm_error *err)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || errno == ERANGE || s[0] == '-')
        return nglm_error_set(err, "'%s' is not a %s", s, what);
    uint64_t mult = 1;
    switch (*end) {
    case '\0': break;
    case 'k': case 'K': mult = base; end++; break;
    case 'm': case 'M': mult = base * base; end++; break;
    case 'g': case 'G': mult = base * base * base; end++; break;
    default: break;
    }
    if (*end != '\0' || (mult > 1 && v > UINT64_MAX / mult))
        return nglm_error_set(err, "'%s' is not a %s (use K, M or G)", s, what);
    *out = (uint64_t)v * mult;
    return 0;
}

int nglm_parse_size(const char *s, uint64_t *out, nglm_error *err)
{
    return suffixed(s, 1024, "size", out, err);
}

int nglm_parse_count(const char *s, uint64_t *out, nglm_error *err)
{
    return suffixed(s, 1000, "count", out, err);
}

/* A row's integer range as longs (a double bound of 2^63 is past LONG_MAX). */
static long bound(double x)
{
    if (x >= (double)LONG_MAX)
        return LONG_MAX;
    if (x <= (double)LONG_MIN)
        return LONG_MIN;
    return (long)x;
}

/* "'x' is not a, b or c" */
static int bad_choice(const nglm_option *row, const char *value, nglm_error *err)
{
    char list[256] = "";
    size_t len = 0;
    for (const nglm_opt_choice *c = row->choices; c->name; c++) {
        const char *sep = c == row->choices ? "" : c[1].name ? ", " : " or ";
        int k = snprintf(list + len, sizeof list - len, "%s%s", sep, c->name);
        if (k < 0 || (size_t)k >= sizeof list - len)
            break;
        len += (size_t)k;
    }
    return nglm_error_set(err, "'%s' is not %s", value, list);
}

int nglm_option_set(const nglm_option *row, void *opts, const char *value, nglm_error *err)
{
    char *field = (char *)opts + row->offset;
    long l = 0;
    double d = 0;
    uint64_t u = 0;
    if (row->type != NGLM_OPT_FLAG && row->type != NGLM_OPT_CUSTOM && !value)
        return nglm_error_set(err, "needs a value");
    switch (row->type) {
    case NGLM_OPT_FLAG:
        *(int *)field = 1;
        break;
    case NGLM_OPT_STRING:
        *(const char **)field = value;
        break;
    case NGLM_OPT_INT:
    case NGLM_OPT_U32:
    case NGLM_OPT_U64:
    case NGLM_OPT_SIZE:
        if (nglm_parse_long(value, bound(row->min), bound(row->max), &l, err) != 0)
            return -1;
        if (row->type == NGLM_OPT_INT)
            *(int *)field = (int)l;
        else if (row->type == NGLM_OPT_U32)
            *(uint32_t *)field = (uint32_t)l;
        else if (row->type == NGLM_OPT_U64)
            *(uint64_t *)field = (uint64_t)l;
        else
            *(size_t *)field = (size_t)l;
        break;
    case NGLM_OPT_DOUBLE:
        if (nglm_parse_double(value, row->min, row->max, &d, err) != 0)
            return -1;
        *(double *)field = d;
        break;
    case NGLM_OPT_BYTES:
        if (nglm_parse_size(value, &u, err) != 0)
            return -1;
        if (u > SIZE_MAX)
            return nglm_error_set(err, "'%s' is too large", value);
        *(size_t *)field = (size_t)u;
        break;
    case NGLM_OPT_CHOICE: {
        const nglm_opt_choice *c = row->choices;
        while (c->name && strcmp(c->name, value) != 0)
            c++;
        if (!c->name)
            return bad_choice(row, value, err);
        *(int *)field = c->value;
        break;
    }
    case NGLM_OPT_CUSTOM:
        break;
    }
    return row->set ? row->set(row, opts, value, err) : 0;
}

/* a == b, where '_' in a may stand for '-' in b */
static int same_name(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (*a != *b && !(*a == '_' && *b == '-'))
            return 0;
    return *a == *b;
}

const nglm_option *nglm_options_find(const nglm_option *rows, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (same_name(name, rows[i].name) || (rows[i].alias && same_name(name, rows[i].alias)))
            return &rows[i];
    return NULL;
}

/* The help's layout: the option from column 2, its text from column 24
 * (on the next line when the option is longer), words wrapped at 79. */
enum { HELP_INDENT = 24, HELP_WIDTH = 79 };

void nglm_options_help(FILE *fp, const nglm_option *rows, size_t n, const char *group)
{
    for (size_t i = 0; i < n; i++) {
        const nglm_option *r = &rows[i];
        if (group && strcmp(group, r->group) != 0)
            continue;
        int col = fprintf(fp, "  ");
        if (r->short_name)
            col += fprintf(fp, "-%c, ", r->short_name);
        col += fprintf(fp, "--%s%s%s", r->name, r->arg ? " " : "", r->arg ? r->arg : "");
        if (col > HELP_INDENT - 2) {
            fputc('\n', fp);
            col = 0;
        }
        /* the help's words, each on the line if it fits */
        const char *w = r->help;
        int first = 1;
        while (*w) {
            size_t len = strcspn(w, " ");
            if (!first && col + 1 + (int)len > HELP_WIDTH) {
                fputc('\n', fp);
                col = 0;
                first = 1;
            }
            if (first) {
                col += fprintf(fp, "%*s", HELP_INDENT - col, "");
                first = 0;
            } else {
                col += fprintf(fp, " ");
            }
            col += fprintf(fp, "%.*s", (int)len, w);
            w += len;
            while (*w == ' ')
                w++;
        }
        fputc('\n', fp);
    }
}
