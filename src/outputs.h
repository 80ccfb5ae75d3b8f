/*
 * outputs.h — the programs' guard on the files they write, checked before
 * any work (README.md, "Reliability"):
 *
 *   - no output is the same file as an input or as another output (device
 *     and inode when the file exists, so that ./t.txt, a symlink or a hard
 *     link are caught; the same directory and name when it does not yet);
 *   - an existing, non-empty file at an output path is replaced only when
 *     it is a file of that output's kind that nglm writes, recognised by
 *     its header (a model, a checkpoint, an ARPA file, a JSON log, a
 *     learning-curve SVG, a vocabulary), or when --force is given (a log
 *     may also be a pipe or a character device, which it streams to);
 *   - a training run holds a lock on its model path (flock on MODEL.lock),
 *     so that a second run on the same model fails at once, naming the
 *     process that holds it.  The lock dies with its process, kill -9
 *     included; the file is removed when the process exits normally.
 *
 * Failures are one line on stderr and exit status 2 (a usage error: the
 * command line names the wrong file), as every nglm program reports them.
 */
#ifndef NGLM_OUTPUTS_H
#define NGLM_OUTPUTS_H

#include <stddef.h>

/* What an output path holds, for deciding whether an existing file there
 * may be replaced. */
typedef enum nglm_out_kind {
    NGLM_OUT_MODEL = 0,      /* nglm's model format (NGLM_MODEL_MAGIC) */
    NGLM_OUT_CHECKPOINT = 1, /* a training checkpoint (NGLM_CHECKPOINT_MAGIC) */
    NGLM_OUT_ARPA = 2,       /* an ARPA file, plain or gzip: "\data\" first */
    NGLM_OUT_LOG = 3,        /* nglm-train --log: JSON lines, {"epoch": first */
    NGLM_OUT_PLOT = 4,       /* nglm-train --plot: the learning-curve SVG */
    NGLM_OUT_VOCAB = 5,      /* a vocabulary file: <s>, </s>, <unk> with counts */
    NGLM_OUT_NEW = 6         /* anything else (a generated text): never replaced */
} nglm_out_kind;

/* A path given on the command line: the option that named it ("--train",
 * or a description such as "the checkpoint"), the path, and for an output
 * its kind.  A NULL path or "-" (standard input or output) is skipped. */
typedef struct nglm_out_file {
    const char *opt;
    const char *path;
    nglm_out_kind kind;
} nglm_out_file;

/* Dies (status 2) if an output is an input or another output, or if an
 * existing output file may not be replaced (force: any regular file may);
 * also checks that each output can be created (nglm_cli_check_writable). */
void nglm_out_check(const nglm_out_file *in, size_t n_in, const nglm_out_file *out,
                    size_t n_out, int force);

/* 1 if the file at path is empty or of that kind (its header), else 0. */
int nglm_out_is_kind(const char *path, nglm_out_kind kind);

/* Takes the lock of a training on model_path (model_path.lock, holding the
 * owner's process id) for the rest of the process, or dies (status 1)
 * naming the process that holds it. */
void nglm_out_lock(const char *model_path);

/* Releases the lock and removes its file (also done at exit). */
void nglm_out_unlock(void);

/* From now on SIGINT and SIGTERM end the run at once with one line on
 * stderr, "PROG: MESSAGE", after removing the lock: where no checkpoint can
 * be written (counting, Kneser-Ney, after the save).  The trainer's own
 * handlers (nglm_monitor_signals) take over while it runs. */
void nglm_out_kill_on_signal(const char *message);

#endif
