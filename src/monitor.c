/*
 * monitor.c — what nglm-train shows and keeps while the trainer runs
 * (monitor.h): a line per epoch, --log's JSON lines, --plot's SVG, the
 * progress meter, checkpoints, the stop flag that SIGINT, SIGTERM and
 * --stop-after set, and the command that resumes a stopped run.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "monitor.h"
#include "nglm/checkpoint.h"
#include "nglm/dist.h"
#include "nglm/plot.h"

static void print_epoch(const nglm_epoch_report *r, void *user)
{
    (void)user;
    if (r->epoch == 0) { /* the starting weights (--init kn) */
        printf("epoch  0  Kneser-Ney start  valid ppl %.2f *  elapsed %.2f s  nonzero %zu/%zu\n",
               r->valid_ppl, r->elapsed_s, r->nonzero, r->features);
        fflush(stdout);
        return;
    }
    printf("epoch %2d  lr %.4g  train loss %.4f (ppl %.2f)  valid ppl %.2f%s  "
           "%.0f tokens/s  epoch %.2f s  elapsed %.2f s  nonzero %zu/%zu\n",
           r->epoch, r->lr, r->train_loss, r->train_ppl, r->valid_ppl, r->best ? " *" : "  ",
           r->tokens_per_s, r->epoch_s, r->elapsed_s, r->nonzero, r->features);
    if (r->rollbacks > 0)
        printf("  (diverged: rolled back to the best weights and halved lr %u time%s)\n",
               r->rollbacks, r->rollbacks > 1 ? "s" : "");
    fflush(stdout);
}

/* ------------------------------------------------------------ reliability */

/* Set by the signal handler (the signal number) or by --stop-after (-1);
 * the trainer polls it between minibatches.  A handler can only reach
 * static storage, so this is the program's one piece of global state. */
static volatile sig_atomic_t stop_flag;

static void on_signal(int sig) { stop_flag = sig; }

/* SIGINT and SIGTERM stop training cleanly; SA_RESETHAND makes a second
 * one kill at once (safe: every file is replaced atomically). */
void nglm_monitor_signals(int on)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on ? on_signal : SIG_DFL;
    sa.sa_flags = on ? SA_RESETHAND : 0;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* Called by the trainer after every minibatch; the meter rate-limits. */
static void on_progress(size_t done, size_t total, double loss, void *user)
{
    nglm_monitor *rs = user;
    if (!rs->in_epoch || done < rs->meter->done0) { /* a new epoch's pass, or a restarted one */
        char what[32];
        snprintf(what, sizeof what, "epoch %d", rs->cur_epoch);
        nglm_cli_meter_begin(rs->meter, what, "tokens", 1);
        rs->meter->done0 = done;
        rs->in_epoch = 1;
        return;
    }
    char extra[32];
    snprintf(extra, sizeof extra, "loss %.4f", loss);
    nglm_cli_meter_show(rs->meter, done, total, extra);
}

/* One line of --log: a JSON object (the numbers are finite: a report is
 * only made for an epoch whose loss and perplexity are). */
static void log_epoch(nglm_monitor *rs, const nglm_epoch_report *r)
{
    char loss[32] = "null"; /* epoch 0 (the start) has no training loss */
    if (isfinite(r->train_loss))
        snprintf(loss, sizeof loss, "%.10g", r->train_loss);
    fprintf(rs->log, "{\"epoch\":%d,\"lr\":%.10g,\"train_loss\":%s,\"valid_ppl\":%.10g,"
            "\"tokens_per_s\":%.10g,\"elapsed_s\":%.10g,\"features\":%zu,\"nonzero\":%zu,"
            "\"best\":%s}\n", r->epoch, r->lr, loss, r->valid_ppl, r->tokens_per_s,
            r->elapsed_s, r->features, r->nonzero, r->best ? "true" : "false");
    if (fflush(rs->log) != 0 || ferror(rs->log))
        nglm_cli_die(NGLM_EXIT_FAIL, "%s: write error: %s", rs->log_path, strerror(errno));
}

static void plot_epochs(nglm_monitor *rs)
{
    nglm_error err;
    if (nglm_plot_svg(rs->ppl, rs->n_epochs, rs->plot_ref, rs->plot_label, rs->plot_path, &err) != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
}

static void on_epoch(const nglm_epoch_report *r, void *user)
{
    nglm_monitor *rs = user;
    nglm_cli_meter_clear(rs->meter);
    rs->cur_epoch = r->epoch + 1;
    rs->in_epoch = 0;
    if (!rs->quiet)
        print_epoch(r, NULL);
    if (rs->log)
        log_epoch(rs, r);
    if (r->epoch == 0) { /* the start: drawn as the reference line, not an epoch */
        if (isnan(rs->plot_ref)) {
            rs->plot_ref = r->valid_ppl;
            rs->plot_label = "Kneser-Ney";
        }
        return;
    }
    if (rs->plot_path) {
        if (rs->n_epochs == rs->cap_epochs) {
            rs->cap_epochs = rs->cap_epochs ? 2 * rs->cap_epochs : 32;
            rs->ppl = realloc(rs->ppl, (size_t)rs->cap_epochs * sizeof *rs->ppl);
            if (!rs->ppl)
                nglm_cli_die(NGLM_EXIT_FAIL, "out of memory");
        }
        rs->ppl[rs->n_epochs++] = r->valid_ppl;
        plot_epochs(rs);
    }
    if (rs->stop_after && ++rs->epochs_this_run >= rs->stop_after && !stop_flag)
        stop_flag = -1;
}

static int on_checkpoint(const nglm_train_state *s, nglm_checkpoint_reason why, void *user,
                         nglm_error *err)
{
    nglm_monitor *rs = user;
    if (nglm_dist_rank() == 0 && nglm_checkpoint_save(s, rs->ckpt, err) != 0) {
        if (why == NGLM_CKPT_STOP)
            return nglm_error_prefix(err, "stopped, but cannot write the checkpoint");
        /* a checkpoint is a convenience: training goes on, the old one stays */
        nglm_cli_warn("warning: %s; training goes on, the previous checkpoint is kept",
                      err->msg);
        return 0;
    }
    if (why == NGLM_CKPT_STOP) {
        rs->stopped = 1;
        rs->epoch = s->epoch;
        rs->started = s->started;
        rs->sent = s->sent;
        rs->n_sents = s->n_sents;
    }
    return 0;
}

/* The command line that resumes this run: argv, quoted for the shell where
 * needed, with --resume added. */
static void print_resume_command(FILE *fp, int argc, char **argv)
{
    int has_resume = 0;
    char prog[4200];
    for (int i = 0; i < argc; i++) {
        const char *a = i == 0 ? nglm_cli_invoked_as(argv[0], prog, sizeof prog) : argv[i];
        has_resume |= i > 0 && strcmp(a, "--resume") == 0;
        int plain = *a != '\0';
        for (const char *p = a; *p; p++)
            if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=:,+@%", *p))
                plain = 0;
        if (i > 0)
            fputc(' ', fp);
        if (plain) {
            fputs(a, fp);
        } else {
            fputc('\'', fp);
            for (const char *p = a; *p; p++)
                if (*p == '\'')
                    fputs("'\\''", fp);
                else
                    fputc(*p, fp);
            fputc('\'', fp);
        }
    }
    fputs(has_resume ? "\n" : " --resume\n", fp);
}

void nglm_monitor_attach(nglm_monitor *rs, nglm_train_options *tr, double checkpoint_s)
{
    rs->cur_epoch = rs->cur_epoch ? rs->cur_epoch : 1;
    tr->on_epoch = on_epoch;
    if (rs->meter->mode != NGLM_CLI_PROGRESS_NEVER)
        tr->on_progress = on_progress;
    tr->user = rs;
    if (rs->ckpt) {
        tr->on_checkpoint = on_checkpoint;
        tr->checkpoint_s = checkpoint_s;
        tr->stop = &stop_flag;
    }
}

int nglm_monitor_signal(void) { return stop_flag > 0 ? (int)stop_flag : 0; }

int nglm_monitor_report_stop(const nglm_monitor *rs, int argc, char **argv)
{
    fflush(stdout);
    FILE *fp = stop_flag > 0 ? stderr : stdout;
    fprintf(fp, "%s: %s ", nglm_cli_prog(), stop_flag > 0 ? "interrupted" : "stopped");
    if (rs->started)
        fprintf(fp, "in epoch %u (sentence %llu of %llu)", (unsigned)rs->epoch,
                (unsigned long long)rs->sent, (unsigned long long)rs->n_sents);
    else
        fprintf(fp, "before epoch %u", (unsigned)rs->epoch);
    fprintf(fp, "; checkpoint %s; resume with: ", rs->ckpt);
    print_resume_command(fp, argc, argv);
    return fflush(fp) != 0 || ferror(fp) ? -1 : 0;
}

void nglm_monitor_free(nglm_monitor *rs)
{
    free(rs->ppl);
    rs->ppl = NULL;
}
