/*
 * clock.c — the one clock of nglm (nglm/progress.h): seconds on the
 * monotonic wall clock, which the trainer's epoch times, checkpoint
 * intervals and the programs' reports all read, with or without OpenMP
 * (CPU time would count every thread's).
 */
#include <time.h>

#include "nglm/progress.h"

double nglm_wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
