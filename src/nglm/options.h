/*
 * nglm/options.h — options declared once.  A table of rows (name, kind of
 * value, group, help, where the value goes) is all there is to an option:
 * nglm-train's command line and --help, the Python module's train()
 * keywords and the check of the man page's option list all read the same
 * rows (nglm_pipeline_option_table for the pipeline's options; a program
 * adds a table of its own for the options that are the program's).
 *
 * A row sets a field of an options struct, found by its offset, from a
 * value given as text ("5", "2M", "kn"); numbers are checked against the
 * row's range.  Messages say what is wrong with the value ("'0' is out of
 * range (1..10)") and never name the option: the caller adds the name as
 * it is spelled there ("--order: ", "order: ").
 *
 * Adding an option is one row, e.g. an integer field of
 * nglm_pipeline_options:
 *
 *   {"skip-cutoff", "N", "Model", "minimum count of a skip-gram feature",
 *    NGLM_OPT_U32, offsetof(nglm_pipeline_options, skip_cutoff), 1, UINT32_MAX},
 */
#ifndef NGLM_OPTIONS_H
#define NGLM_OPTIONS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "nglm/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A macro's value as a string, for help texts: "1.." NGLM_STR(NGLM_MAX_ORDER). */
#define NGLM_STR_(x) #x
#define NGLM_STR(x) NGLM_STR_(x)

/* What a row's value is, and the C type of the field it sets. */
typedef enum nglm_opt_type {
    NGLM_OPT_FLAG,   /* no value: the int field becomes 1 */
    NGLM_OPT_STRING, /* const char *: the value itself (not copied: it must outlive
                      * the options struct, as argv does) */
    NGLM_OPT_INT,    /* an integer in [min, max] into an int */
    NGLM_OPT_U32,    /* ... into a uint32_t */
    NGLM_OPT_U64,    /* ... into a uint64_t */
    NGLM_OPT_SIZE,   /* ... into a size_t */
    NGLM_OPT_DOUBLE, /* a finite number in [min, max] into a double */
    NGLM_OPT_BYTES,  /* a size with an optional K, M or G (powers of 1024) into a
                      * size_t */
    NGLM_OPT_CHOICE, /* one of the row's choices: its value into an int */
    NGLM_OPT_CUSTOM  /* the row's set function does it all */
} nglm_opt_type;

typedef struct nglm_opt_choice {
    const char *name;
    int value;
} nglm_opt_choice;

typedef struct nglm_option nglm_option;

/* A row's own step: for NGLM_OPT_CUSTOM the whole setting; for the other
 * kinds it runs after the field is set (to note that the option was given,
 * or check more).  opts is the struct the table's offsets point into. */
typedef int (*nglm_opt_set_fn)(const nglm_option *row, void *opts, const char *value,
                               nglm_error *err);

struct nglm_option {
    const char *name;    /* the long name, "max-memory"; Python's keyword is
                          * it with '_' for '-' */
    const char *arg;     /* the value's name in help ("N", "FILE"); NULL: takes none */
    const char *group;   /* the heading it is listed under in help */
    const char *help;    /* one paragraph, wrapped by nglm_options_help */
    nglm_opt_type type;
    size_t offset;       /* of the field in the options struct */
    double min, max;     /* the range of INT .. DOUBLE */
    const nglm_opt_choice *choices; /* CHOICE: ended by a NULL name */
    nglm_opt_set_fn set; /* or NULL */
    int short_name;      /* a one-letter spelling ('o' for -o), or 0 */
    const char *alias;   /* another long name it answers to, or NULL */
};

/* Sets what row says from value (NULL for a flag); on a bad value fails
 * with a message that does not name the option. */
int nglm_option_set(const nglm_option *row, void *opts, const char *value, nglm_error *err);

/* The row called name (or whose alias is name) among the n rows, or NULL;
 * with underscores, name matches the dashes of the rows' names, as
 * Python's keywords are spelled. */
const nglm_option *nglm_options_find(const nglm_option *rows, size_t n, const char *name);

/* Writes the rows of group (NULL: all), one option a paragraph:
 * "  -o, --order N         help wrapped at 79 columns". */
void nglm_options_help(FILE *fp, const nglm_option *rows, size_t n, const char *group);

/* Values as the rows read them, for other options of the programs:
 * integers and finite numbers in [min, max], sizes (K, M, G: base 1024)
 * and counts (K, M, G: base 1000).  The messages do not name the option. */
int nglm_parse_long(const char *s, long min, long max, long *out, nglm_error *err);
int nglm_parse_double(const char *s, double min, double max, double *out, nglm_error *err);
int nglm_parse_size(const char *s, uint64_t *out, nglm_error *err);
int nglm_parse_count(const char *s, uint64_t *out, nglm_error *err);

#ifdef __cplusplus
}
#endif
#endif
