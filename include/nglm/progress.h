/*
 * nglm/progress.h — how long-running library calls (reading a text,
 * counting, scoring) tell their caller how far they are, without printing
 * anything themselves: the library calls back, the program decides what to
 * show (src/cli.c draws the line on stderr).
 */
#ifndef NGLM_PROGRESS_H
#define NGLM_PROGRESS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* fn(done, total, user): done of total units so far (bytes of a text,
 * tokens of a corpus; total 0 when unknown, e.g. reading a pipe).  Called
 * often (every few thousand lines or tokens) from the calling thread only,
 * so it should rate-limit whatever it prints. */
typedef struct nglm_progress {
    void (*fn)(uint64_t done, uint64_t total, void *user);
    void *user;
} nglm_progress;

/* Calls p->fn if there is one (p may be NULL). */
static inline void nglm_progress_report(const nglm_progress *p, uint64_t done, uint64_t total)
{
    if (p && p->fn)
        p->fn(done, total, p->user);
}

/* Seconds on the monotonic wall clock (src/clock.c), for elapsed times:
 * the one clock of the library and the programs. */
double nglm_wall_seconds(void);

#ifdef __cplusplus
}
#endif
#endif
