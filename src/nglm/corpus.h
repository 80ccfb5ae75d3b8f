/*
 * nglm/corpus.h — a text as a compact stream of word ids.
 *
 * Input: a text file (or "-" for stdin), read through the tokenizer as a
 * stream (never held whole in memory), and a finalized vocabulary.
 * Output: ids[] holding, for each sentence, its word ids followed by
 * NGLM_EOS; sentence s occupies ids[start[s] .. start[s+1]).  <s> is not
 * stored: histories are left-padded with NGLM_BOS by whoever reads them.
 * Words not in the vocabulary become NGLM_UNK and are counted as OOVs; a
 * literal "<unk>" is the <unk> token and not an OOV.  Literal "<s>" and
 * "</s>" tokens in the text are skipped (as in SRILM, and as
 * nglm_vocab_count_file does): a line holding only those is an empty
 * sentence (just NGLM_EOS).  Blank lines are not sentences, unless the
 * options' keep_blank is set: then a blank line is an empty sentence too,
 * so that sentence s is line s + 1 (how evaluation texts are read).
 */
#ifndef NGLM_CORPUS_H
#define NGLM_CORPUS_H

#include <stddef.h>
#include <stdint.h>

#include "nglm/error.h"
#include "nglm/progress.h"
#include "nglm/tokenize.h"
#include "nglm/vocab.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nglm_corpus {
    int32_t *ids;      /* n_tokens ids: words and one NGLM_EOS per sentence */
    size_t n_tokens;   /* predicted tokens = words + sentences */
    size_t *start;     /* n_sents + 1 offsets into ids */
    size_t n_sents;
    uint64_t n_words;  /* tokens excluding </s> */
    uint64_t n_oov;    /* words not in the vocabulary (mapped to <unk>) */
    void *map;         /* non-NULL: ids and start point into this read-only
                        * mapping of an id-stream cache file (nglm/idcache.h) */
    size_t map_len;
    struct nglm_corpus *parts; /* other readings of the same tokens, one per
                                * component of a mixture (nglm/lm.h), owned */
    size_t n_parts;
} nglm_corpus;

/* Reads path into c (c's previous content is not freed).  v must be
 * finalized.  On failure c is left empty (all zero) and nothing leaks. */
int nglm_corpus_read(nglm_corpus *c, const char *path, const nglm_tok_options *opt,
                     const nglm_vocab *v, nglm_error *err);
/* The same, reporting the bytes read so far of the file's size (0 for a
 * pipe or stdin) to p. */
int nglm_corpus_read_progress(nglm_corpus *c, const char *path, const nglm_tok_options *opt,
                              const nglm_vocab *v, const nglm_progress *p, nglm_error *err);

/* Builds a corpus from sentences already in memory, for tests: lines[i] is
 * a space-separated line (SPACE tokenization; blank lines are skipped, as
 * when reading a file; invalid UTF-8 is an error "line N: ..."). */
int nglm_corpus_from_lines(nglm_corpus *c, const char *const *lines, size_t n_lines,
                           const nglm_vocab *v, nglm_error *err);

void nglm_corpus_free(nglm_corpus *c);

/* Sentence s as a pointer and length (its last id is NGLM_EOS). */
static inline const int32_t *nglm_corpus_sentence(const nglm_corpus *c, size_t s,
                                                  size_t *len)
{
    *len = c->start[s + 1] - c->start[s];
    return c->ids + c->start[s];
}

#ifdef __cplusplus
}
#endif
#endif
