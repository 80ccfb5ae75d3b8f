/*
 * nglm/progress.h — how long-running library calls (reading a text,
 * counting, scoring) tell their caller how far they are, without printing
 * anything themselves: the library calls back, the program decides what to
 * show (src/cli.c draws the line on stderr).
 */
#ifndef NGLM_PROGRESS_H
#define NGLM_PROGRESS_H

#include <stdint.h>

#include "nglm/nglm.h" /* nglm_progress is public */

#ifdef __cplusplus
extern "C" {
#endif

/* Seconds on the monotonic wall clock (src/clock.c), for elapsed times:
 * the one clock of the library and the programs. */
double nglm_wall_seconds(void);

#ifdef __cplusplus
}
#endif
#endif
