/*
 * nglm/idcache.h — the id-stream cache: a corpus's word ids written once to
 * a binary file that later runs map into memory (`nglm-train --cache DIR`),
 * so a text is tokenized and looked up once, not once per run.
 *
 * Input: a text file, the tokenizer options and a finalized vocabulary (for
 * an id stream), or the training text and the vocabulary options (for the
 * vocabulary).  Output: DIR/<key>.ids and DIR/<key>.vocab, where <key> is a
 * 64-bit hash of everything the content depends on: the text's absolute
 * path, size, modification time (nanoseconds) and inode, the tokenizer
 * options, and the vocabulary (its words and counts) or the vocabulary
 * options.  Changing the text or an option therefore picks another file;
 * stale files are never reused, only left behind (delete DIR to reclaim).
 *
 * The .ids format (doc/model-format.md, "Id-stream cache"): a 64-byte
 * header (magic "NGLMIDS", version, byte-order mark, counts, the
 * vocabulary's fingerprint, the CRC-32 of the body), then the sentence
 * offsets (n_sents + 1 little-endian uint64) and the ids (n_tokens int32).
 * Mapping checks the header against the file size, the fingerprint against
 * the vocabulary in hand, the CRC, and every id and offset, so a truncated,
 * damaged or foreign file is refused with a clear error (and the caller
 * falls back to the text).  Files are written atomically (fileio.h).
 */
#ifndef NGLM_IDCACHE_H
#define NGLM_IDCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "nglm/corpus.h"
#include "nglm/error.h"
#include "nglm/tokenize.h"
#include "nglm/vocab.h"

#ifdef __cplusplus
extern "C" {
#endif

/* CRC-32 of the vocabulary's words and counts, in id order. */
uint32_t nglm_idcache_vocab_fingerprint(const nglm_vocab *v);

/* Writes c's id stream to path (atomically), tagged with v's fingerprint. */
int nglm_idcache_save(const nglm_corpus *c, const nglm_vocab *v, const char *path,
                      nglm_error *err);

/* Maps path read-only into c (nglm_corpus_free unmaps it) after the checks
 * above.  On failure c is left empty and the message says why. */
int nglm_idcache_map(nglm_corpus *c, const nglm_vocab *v, const char *path,
                     nglm_error *err);

/* The cache file of text's id stream under dir: DIR/<key>.ids. */
int nglm_idcache_ids_path(char *out, size_t n, const char *dir, const char *text,
                          const nglm_tok_options *opt, const nglm_vocab *v, nglm_error *err);

/* Saves a vocabulary (nglm_vocab_save's format) under a temporary name and
 * renames it to path, so the cache never holds a partial vocabulary. */
int nglm_idcache_save_vocab(const nglm_vocab *v, const char *path, nglm_error *err);

/* The cache file of the vocabulary counted from text: DIR/<key>.vocab. */
int nglm_idcache_vocab_path(char *out, size_t n, const char *dir, const char *text,
                            const nglm_tok_options *opt, uint64_t min_count,
                            size_t max_vocab, nglm_error *err);

/* text's id stream: mapped from dir's cache file if there is a valid one
 * (*hit = 1), else read from the text and written to the cache (*hit = 0;
 * the corpus is then the one read, in memory).  A cache file that exists
 * but fails the checks is replaced (*hit = -1, and err says why it was
 * refused, for a warning); a cache that cannot be written is an error.
 * dir must exist. */
int nglm_idcache_corpus(nglm_corpus *c, const char *dir, const char *text,
                        const nglm_tok_options *opt, const nglm_vocab *v, int *hit,
                        nglm_error *err);

#ifdef __cplusplus
}
#endif
#endif
