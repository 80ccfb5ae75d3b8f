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

/* Parse an option's value or die with status 2 naming the option:
 * "--order: '1000' is out of range (1..10)". */
long nglm_cli_long(const char *opt, const char *s, long min, long max);
double nglm_cli_double(const char *opt, const char *s, double min, double max);
/* A size with an optional K/M/G suffix (powers of 1024). */
uint64_t nglm_cli_size(const char *opt, const char *s);

#endif
