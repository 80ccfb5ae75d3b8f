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

#include "nglm/nglm.h" /* nglm_error and its three functions are public */

#endif
