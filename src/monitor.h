/*
 * monitor.h — what nglm-train shows and keeps while the trainer runs: the
 * trainer's callbacks (nglm/train.h) for a line per epoch, --log (JSON
 * Lines), --plot (SVG, redrawn after every epoch), the progress meter
 * (cli.h) and checkpoints (MODEL.ckpt); the stop flag that SIGINT, SIGTERM
 * (nglm_monitor_signals) and --stop-after set; and the message, with the
 * command that resumes it, when a run stops.  Program-side, not libnglm.
 */
#ifndef NGLM_MONITOR_H
#define NGLM_MONITOR_H

#include <stdint.h>
#include <stdio.h>

#include "cli.h"
#include "nglm/train.h"

typedef struct nglm_monitor {
    /* set by the caller */
    int quiet;                  /* no epoch lines */
    FILE *log;                  /* --log, or NULL */
    const char *log_path;
    const char *plot_path;      /* --plot, or NULL */
    double plot_ref;            /* NAN: no reference line (the start's is drawn) */
    const char *plot_label;
    int stop_after;             /* --stop-after N: stop after N epochs of this run; 0 */
    const char *ckpt;           /* MODEL.ckpt, or NULL: no checkpoints */
    nglm_cli_meter *meter;      /* progress on stderr */
    int cur_epoch;              /* the epoch under way (1, or a resumed one) */
    /* kept */
    int epochs_this_run;
    int stopped;                /* a checkpoint was written on stopping */
    uint32_t epoch, started;    /* where, for the message */
    uint64_t sent, n_sents;
    double *ppl;                /* (n_epochs) valid ppl of this run's epochs, for --plot */
    int n_epochs, cap_epochs;
    int in_epoch;               /* the meter shows the epoch's pass */
} nglm_monitor;

/* Sets tr's callbacks (and, with ckpt, its checkpoints every checkpoint_s
 * seconds and its stop flag) to report to rs. */
void nglm_monitor_attach(nglm_monitor *rs, nglm_train_options *tr, double checkpoint_s);

/* SIGINT and SIGTERM stop training at the next minibatch (on), or kill
 * again (off). */
void nglm_monitor_signals(int on);

/* The signal that stopped training, or 0 (none, or --stop-after). */
int nglm_monitor_signal(void);

/* After a stop with a checkpoint: "interrupted in epoch ...; resume with:
 * COMMAND" (stderr after a signal, stdout after --stop-after); -1 if it
 * could not be written. */
int nglm_monitor_report_stop(const nglm_monitor *rs, int argc, char **argv);

void nglm_monitor_free(nglm_monitor *rs);

#endif
