/*
 * nglm/modelfile.h — saving and loading models in nglm's binary format
 * (documented in doc/model-format.md).
 *
 * A file holds a fixed header (magic, format version, byte-order mark,
 * section table), then sections: training options and tokenizer settings,
 * the vocabulary, the feature index, the weights; a checksum covers
 * everything.  Loading validates every size and offset and rejects a
 * truncated, corrupted, foreign or newer-version file with a clear message;
 * mapping (nglm_model_map) uses the arrays in place, checking by default
 * only what keeps lookups inside them.
 * Saving writes PATH.tmp.XXXXXX, fsyncs it and renames it over PATH, so a
 * failed save never damages an existing model.
 */
#ifndef NGLM_MODELFILE_H
#define NGLM_MODELFILE_H

#include <stddef.h>
#include <stdint.h>

#include "nglm/error.h"
#include "nglm/model.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NGLM_MODEL_MAGIC "NGLMMODL"
#define NGLM_MODEL_VERSION 1

/* Removes the features whose weight is exactly zero and that no kept
 * feature needs (not for a mapped model, which is read-only) (a longer feature's back-off, or the n-gram naming a kept
 * context), keeping the index closed under suffixes and prefixes.  Adds the
 * number removed to m->info.pruned and returns it in *removed. */
int nglm_model_prune(nglm_model *m, size_t *removed, nglm_error *err);

int nglm_model_save(const nglm_model *m, const char *path, nglm_error *err);

/* Leave out the stored normalisers (NORMS): the file is scored through the
 * successor lists, as one written before they existed (nglm-export
 * --no-norms; the reference the back-off path is measured against). */
#define NGLM_SAVE_NO_NORMS 1u

/* nglm_model_save with NGLM_SAVE_* flags. */
int nglm_model_save_flags(const nglm_model *m, const char *path, unsigned flags,
                          nglm_error *err);

/* Loads into *m (which is overwritten; on failure it is left all zero, so
 * nglm_model_free(m) is harmless). */
int nglm_model_load(nglm_model *m, const char *path, nglm_error *err);

/* Maps the file read-only and uses its arrays in place (the model's map
 * field; nglm_model_free unmaps): loading reads the header, the small
 * sections and, streamed through a small buffer, the successor offsets,
 * feature words and back-offs, whose ranges it checks, so that every lookup
 * stays inside the arrays whatever the file holds; the weights and the rest
 * of the index are only touched when a lookup needs them.  A damaged byte
 * there may give wrong probabilities, never a crash: with NGLM_MAP_VERIFY
 * the CRC and every invariant nglm_model_load checks are checked too
 * (reading the whole file).  Refuses what nglm_model_load refuses, bar
 * those checks, in the same words (doc/model-format.md, "Mapped loading").
 * The file may be replaced by rename while mapped (the model keeps the old
 * one); a file truncated in place under the mapping makes a later access
 * fault (SIGBUS), as with any mapped file. */
#define NGLM_MAP_VERIFY 1u
int nglm_model_map(nglm_model *m, const char *path, unsigned flags, nglm_error *err);

/* 1 if the first bytes of path are the nglm magic (used to tell native
 * models from ARPA files). */
int nglm_model_file_is_native(const char *path);

#ifdef __cplusplus
}
#endif
#endif
