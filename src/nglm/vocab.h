/*
 * nglm/vocab.h — the vocabulary: word ↔ integer id, with training counts.
 *
 * A hash table (uthash) maps words to ids.  Three special tokens always
 * exist, with fixed ids: <s> = 0 (context only, never predicted), </s> = 1,
 * <unk> = 2.  A literal "<unk>" in the text is the <unk> token (counted as
 * such, not as an out-of-vocabulary word).  Literal "<s>" and "</s>" tokens
 * in the text are ignored, as in SRILM: sentence boundaries come from the
 * line structure only.
 * After finalisation the ordinary words get ids 3.. in a deterministic order:
 * count descending, then bytewise (strcmp) ascending.  Words below min_count,
 * or beyond max_vocab, are dropped and their counts added to <unk>.
 *
 * File format (text, UTF-8): one "word<TAB>count\n" per line, in id order,
 * the special tokens first.  Loading preserves the ids exactly.  A file
 * whose first line holds no TAB is read as a word list instead (SRILM's
 * -vocab format): one word per line, ids in the order listed after the
 * specials (which may be listed anywhere, or not at all), counts 0, blank
 * lines and repeated words passed over.
 */
#ifndef NGLM_VOCAB_H
#define NGLM_VOCAB_H

#include <stddef.h>
#include <stdint.h>

#include "nglm/error.h"
#include "nglm/nglm.h" /* the ids of the specials, nglm_vocab_size, _find, _id, _word */
#include "nglm/progress.h"
#include "nglm/tokenize.h"

#ifdef __cplusplus
extern "C" {
#endif

/* An empty vocabulary holding only the special tokens, open for counting. */
nglm_vocab *nglm_vocab_new(void);
void nglm_vocab_free(nglm_vocab *v);

/* Adds n occurrences of word (counting phase, before finalize).  The word
 * must be non-empty and contain no TAB, CR or LF.  Adding a special token
 * adds to its count. */
int nglm_vocab_add(nglm_vocab *v, const char *word, uint64_t n, nglm_error *err);

/* Ends counting: drops words with count < min_count (min_count <= 1 keeps
 * all) and keeps at most max_vocab entries in total including the specials
 * (0 = no limit; 1 or 2 is an error), then assigns ids as described above.
 * Fails if already finalized. */
int nglm_vocab_finalize(nglm_vocab *v, uint64_t min_count, size_t max_vocab,
                        nglm_error *err);

/* Counts every token of a text file (via the tokenizer) into v and counts
 * one </s> per sentence; *sentences receives the number of sentences (may be
 * NULL).  Does not finalize. */
int nglm_vocab_count_file(nglm_vocab *v, const char *path,
                          const nglm_tok_options *opt, uint64_t *sentences,
                          nglm_error *err);

/* The same count on `threads` threads: a regular file is read in large
 * blocks cut at line ends, each block tokenized and counted by one thread
 * into its own table, and the tables are merged; the counts (hence the
 * finalized vocabulary) and the first error reported (file:line) are those
 * of nglm_vocab_count_file, which stdin, pipes and threads <= 1 use.  The
 * bytes counted so far of the file's size (0 if unknown) go to p (may be
 * NULL). */
int nglm_vocab_count_file_threads(nglm_vocab *v, const char *path,
                                  const nglm_tok_options *opt, int threads,
                                  const nglm_progress *p, uint64_t *sentences,
                                  nglm_error *err);

/* nglm_vocab_size (public) is valid after finalize; before, it is the
 * number of distinct words so far, specials included. */

/* 1 once the vocabulary is finalized (or was loaded), else 0. */
int nglm_vocab_is_final(const nglm_vocab *v);

/* Before finalize, only the specials have ids (nglm_vocab_find).  The
 * count of an id, 0 for an id out of range; after finalize, the count of
 * <unk> includes the counts of the dropped words. */
uint64_t nglm_vocab_count(const nglm_vocab *v, int32_t id);

/* Saves/loads the text format above (saving needs a finalized vocabulary,
 * and replaces path atomically: a failed write leaves an existing file).
 * Loading checks every line (a TAB, a decimal count, a non-empty word with
 * no TAB, no duplicate words, the specials first and in order; a CRLF line
 * end is accepted) and reports "file:line: reason" on error; the loaded
 * vocabulary is finalized. */
int nglm_vocab_save(const nglm_vocab *v, const char *path, nglm_error *err);
nglm_vocab *nglm_vocab_load(const char *path, nglm_error *err);

/* A finalized vocabulary with exactly the given ids: words[i] gets id i and
 * count counts[i] (counts may be NULL: all 0).  The first three words must
 * be <s>, </s>, <unk>; empty words, words with a TAB/CR/LF and duplicates
 * are rejected.  Used by the model file loader. */
nglm_vocab *nglm_vocab_from_list(const char *const *words, const uint64_t *counts,
                                 size_t n, nglm_error *err);

#ifdef __cplusplus
}
#endif
#endif
