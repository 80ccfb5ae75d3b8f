/*
 * nglm/checkpoint.h — saving and loading the trainer's state
 * (nglm_train_state, nglm/train.h) so that an interrupted training can be
 * resumed; the file format is documented in doc/checkpoint.md.
 *
 * A checkpoint is one file: a fixed header (magic NGLMCKPT, format version,
 * byte-order mark, file size, CRC-32 of the whole file), the state's
 * scalars, then its arrays.  It does not hold the vocabulary or the feature
 * index: the trainer rebuilds those from the same texts and options, and the
 * state's fingerprint tells whether they are the same.  Saving writes
 * PATH.tmp.XXXXXX, fsyncs it and renames it over PATH (as model files are
 * saved), so a crash or a full disk at any moment leaves either the old
 * checkpoint or the new one, never a mixture; loading checks the size and
 * CRC before it returns anything.
 */
#ifndef NGLM_CHECKPOINT_H
#define NGLM_CHECKPOINT_H

#include "nglm/error.h"
#include "nglm/train.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NGLM_CHECKPOINT_MAGIC "NGLMCKPT"
#define NGLM_CHECKPOINT_VERSION 3

/* Writes s to path atomically.  Refuses a path that exists and is not a
 * regular file; keeps an existing file's permissions. */
int nglm_checkpoint_save(const nglm_train_state *s, const char *path, nglm_error *err);

/* Loads path into *s (overwritten; on failure left all zero).  Free with
 * nglm_train_state_free.  Whether the state fits a model, texts and options
 * is checked by nglm_train when it resumes from it. */
int nglm_checkpoint_load(nglm_train_state *s, const char *path, nglm_error *err);

#ifdef __cplusplus
}
#endif
#endif
