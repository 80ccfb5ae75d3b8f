/*
 * cli.h — what every nglm program shares: option-value parsing and the
 * convention for fatal errors (one line "PROGRAM: message" on stderr).
 *
 * Exit statuses, documented in the man pages:
 *   0  success
 *   1  the work failed (bad input data, I/O error, training diverged)
 *   2  bad usage (unknown option, option value out of range or not a number)
 */
#ifndef NGLM_CLI_H
#define NGLM_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "nglm/arpa.h"
#include "nglm/model.h"
#include "nglm/options.h"
#include "nglm/progress.h"
#include "nglm/tokenize.h"

#define NGLM_EXIT_FAIL 1
#define NGLM_EXIT_USAGE 2

/* Prints "prog: message" on stderr and exits with status. */
void nglm_cli_die(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

/* Prints "prog: message" on stderr (for warnings and notes). */
void nglm_cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Sets the program name used in messages (from argv[0], basename). */
void nglm_cli_set_prog(const char *argv0);
const char *nglm_cli_prog(void);

/* Dies (status 2) for what getopt_long returned instead of an option
 * (optstring must start with ':' so that a missing value returns ':'):
 * "--model needs a value", "unknown option '--frobnicate'", "unknown option
 * '-p' (in '-ppl')".  A word in SRILM's or KenLM's spelling (-lm, -ppl,
 * -order, -text, ...) adds hint, if not NULL: how this program is called. */
void nglm_cli_bad_option(int c, int argc, char **argv, const char *hint)
    __attribute__((noreturn));

/* A path from which the text at path ("-": standard input) can be read
 * twice: path itself when it is a regular file, /dev/stdin when standard
 * input is a regular file read from its start, otherwise a copy in
 * temp_dir (NULL: $TMPDIR, else /tmp) removed at exit.  Standard input on
 * a terminal dies (status 2) with tty_message. */
const char *nglm_cli_rereadable(const char *path, const char *temp_dir,
                                const char *tty_message);

/* A path from which the text at path can be read as plain text: path
 * itself, unless it is a gzip-compressed regular file, which is then
 * uncompressed into temp_dir (NULL: $TMPDIR, else /tmp), the copy removed
 * at exit; dies (status 1) on bad gzip data or a full disk.  Up to 8
 * texts a run. */
const char *nglm_cli_gunzipped(const char *path, const char *temp_dir);

/* Removes the copy nglm_cli_rereadable made, if any, once it is read. */
void nglm_cli_rereadable_done(void);

/* How the user ran this program, for a command line to print: argv0,
 * except that libtool's uninstalled binary DIR/.libs/[lt-]NAME becomes the
 * wrapper script DIR/NAME that the user ran (the binary alone cannot find
 * the uninstalled library).  The result may live in buf. */
const char *nglm_cli_invoked_as(const char *argv0, char *buf, size_t n);

/* Dies (status 1) now, not after the work, if path cannot be replaced by
 * a new file: its directory must exist and be writable, and the path must
 * not be a device, a directory or a FIFO. */
void nglm_cli_check_writable(const char *path);

/* ---------------------------------------------------------------- progress lines
 *
 * One meter draws the progress of whatever long work a program is doing
 * (reading a text, an epoch, scoring) on stderr: on a terminal one line
 * redrawn in place at most 5 times a second; elsewhere a plain line at most
 * every 5 s (every update with --progress always), so short runs print
 * nothing and stderr stays for errors; --progress never (or --quiet) shows
 * nothing.  The line: "WHAT: P%  R UNIT/s  ETA m:ss  EXTRA". */
enum { NGLM_CLI_PROGRESS_AUTO = 0, NGLM_CLI_PROGRESS_ALWAYS = 1, NGLM_CLI_PROGRESS_NEVER = 2 };

typedef struct nglm_cli_meter {
    int mode;            /* NGLM_CLI_PROGRESS_* */
    int tty;             /* stderr is a terminal (and mode is not never) */
    int drawn;           /* a line is on the terminal now */
    double t_begin;      /* when the current work began */
    double t_shown;      /* when a line was last shown (0: never) */
    uint64_t done0;      /* done at t_begin */
    char what[128];      /* "epoch 3", "reading FILE" */
    const char *unit;    /* "tokens", "MB" */
    double scale;        /* units per counted item (1e-6 for bytes shown as MB) */
} nglm_cli_meter;

/* Parses --progress's value (auto, always, never) or dies (status 2). */
int nglm_cli_progress_mode(const char *s);

void nglm_cli_meter_init(nglm_cli_meter *m, int mode);
/* Starts a new piece of work: what it is, and how done counts are shown.
 * Returns the nglm_progress callback that feeds the meter, for library
 * calls. */
nglm_progress nglm_cli_meter_begin(nglm_cli_meter *m, const char *what, const char *unit,
                                   double scale);
/* done of total so far (total 0: unknown), with an optional extra text. */
void nglm_cli_meter_show(nglm_cli_meter *m, uint64_t done, uint64_t total, const char *extra);
/* Erases the terminal line before anything else is printed. */
void nglm_cli_meter_clear(nglm_cli_meter *m);

/* Parse an option's value or die with status 2 naming the option:
 * "--order: '1000' is out of range (1..10)". */
long nglm_cli_long(const char *opt, const char *s, long min, long max);
double nglm_cli_double(const char *opt, const char *s, double min, double max);
/* --tokenize's value (space, word, char) or die (status 2). */
nglm_tok_mode nglm_cli_tok_mode(const char *s);

/* A size with an optional K/M/G suffix (powers of 1024). */
uint64_t nglm_cli_size(const char *opt, const char *s);
/* A count with an optional K, M or G suffix: 1000, 10^6, 10^9 (sizes in
 * bytes, nglm_cli_size, use 1024). */
uint64_t nglm_cli_count(const char *opt, const char *s);

/* ---------------------------------------------------------------- option tables
 *
 * A program's options are rows of tables (nglm/options.h): the library's
 * (nglm_pipeline_option_table) and its own, each with the struct its
 * offsets point into. */
typedef struct nglm_cli_table {
    const nglm_option *rows;
    size_t n;
    void *opts;
} nglm_cli_table;

/* Reads argv's options through the tables' rows (long names, aliases and
 * one-letter spellings), with -h/--help (usage(stdout), exit 0) and
 * --version (unless a row is called version); a bad value dies (status 2) with "--NAME: " and the row's
 * message, an unknown option or a missing value as nglm_cli_bad_option
 * (with hint).  Returns the index of the first word that is no option. */
int nglm_cli_parse(int argc, char **argv, const nglm_cli_table *tables, int n_tables,
                   void (*usage)(FILE *fp), const char *hint);

/* The tables' rows as help, under the headings of their groups (each
 * group once, in the order the groups first appear; "" has no heading). */
void nglm_cli_options_help(FILE *fp, const nglm_cli_table *tables, int n_tables);

#endif
