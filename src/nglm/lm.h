/*
 * nglm/lm.h — one interface for "a language model", whatever its kind: an
 * nglm model file (mapped), an ARPA file (plain or gzip), a mixture of any
 * number of models (SRILM's -mix-lm, saved as a manifest file), a cache
 * over any model.  The programs, the pipeline's test report and the Python
 * module use only this interface, so they never ask which kind they hold.
 *
 * Units: every probability here is log10 (as ARPA files and SRILM/KenLM
 * reports are); NAN marks a token the model skips (an OOV of an ARPA file
 * without <unk>, counted as an OOV and left out of the perplexity, as SRILM
 * does), -INFINITY a probability of zero (a zeroprob).
 *
 * Texts: a model reads text with its own tokenizer and vocabulary
 * (nglm_lm_read; ids of nglm_lm_vocab).  A mixture's components may have
 * different vocabularies and tokenizers: each reads the text its own way,
 * all must find the same tokens (else "... are their tokenizations
 * different?"), and a mixture's corpus carries every component's reading
 * (nglm_corpus.parts).  Its ids are those of its first component; a token
 * is an OOV of the mixture when any component reads it as <unk>, and each
 * component scores it as its own <unk> (or skips it: then the mixture
 * skips it).  A corpus read otherwise (nglm_corpus_read with the
 * mixture's vocabulary) is passed to the other components word by word.
 *
 * Thread safety: an nglm_lm is read-only once opened (several threads may
 * score with it); a scorer (nglm_lm_scorer) belongs to one thread.
 */
#ifndef NGLM_LM_H
#define NGLM_LM_H

#include <stddef.h>
#include <stdint.h>

#include "nglm/cache.h"
#include "nglm/corpus.h"
#include "nglm/error.h"
#include "nglm/eval.h"
#include "nglm/model.h"
#include "nglm/nglm.h"
#include "nglm/progress.h"
#include "nglm/tokenize.h"
#include "nglm/vocab.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Public (nglm/nglm.h): nglm_lm, NGLM_LM_VERIFY (NGLM_MAP_VERIFY), opening,
 * kind, path, vocabulary, order, check, scoring a sentence, the token
 * scorer, nglm_lm_eval_file, and the mixtures but their EM on a corpus. */

/* ---------------------------------------------------------------- opening */

/* An nglm model already in memory as an nglm_lm; own: nglm_lm_free frees
 * *m too, and the struct, which must then be malloc'd. */
nglm_lm *nglm_lm_from_model(nglm_model *m, int own, nglm_error *err);

/* A second handle on lm that scores as lm does but does not own it
 * (nglm_lm_free frees only the handle): to mix models that their owner
 * keeps, as the Python module's Model objects do.  lm must outlive it. */
nglm_lm *nglm_lm_borrow(const nglm_lm *lm, nglm_error *err);

/* ---------------------------------------------------------------- what it is */

/* How it tokenizes text (a mixture: its first component's). */
nglm_tok_options nglm_lm_tok(const nglm_lm *lm);
/* How many past words can change its scores: order - 1, or more with an
 * nglm model's skip-gram features (a State keeps that many). */
int nglm_lm_reach(const nglm_lm *lm);
/* 1 if lm records how its texts are tokenized: every nglm model does, an
 * ARPA file only with the "# nglm: the text is tokenized as ..." line that
 * nglm-export and nglm-kn write for other than --tokenize space (without
 * it, it is read with the default, SPACE). */
int nglm_lm_tok_recorded(const nglm_lm *lm);
/* Reads lm's texts with tok from now on: only where nglm_lm_tok_recorded
 * is 0 (an error otherwise), as nglm-eval --tokenize does for a KenLM or
 * SRILM ARPA file. */
int nglm_lm_set_tok(nglm_lm *lm, const nglm_tok_options *tok, nglm_error *err);
/* The cache recorded with the model (nglm-train --eval-cache): 1 and *spec
 * filled, or 0 when there is none. */
int nglm_lm_recorded_cache(const nglm_lm *lm, nglm_cache_spec *spec);

/* ---------------------------------------------------------------- whole texts */

/* Reads the text at path ("-": stdin, not for a mixture) as lm reads it: a
 * line a sentence (a blank line an empty sentence), its tokenizer and
 * vocabulary, a mixture's components' readings in c->parts.  p may be
 * NULL (bytes read of the file's size). */
int nglm_lm_read(const nglm_lm *lm, const char *path, nglm_corpus *c, const nglm_progress *p,
                 nglm_error *err);

/* The same for lines held in memory (each one sentence, no line breaks
 * inside; a line break at the end is allowed). */
int nglm_lm_read_lines(const nglm_lm *lm, const char *const *lines, size_t n, nglm_corpus *c,
                       nglm_error *err);

/* log10 P of every token of c (read by nglm_lm_read, or with lm's
 * vocabulary) into lp10 (c->n_tokens), NAN for a token lm skips; len, if
 * not NULL, gets the length of the n-gram that fired for each token (a
 * mixture: its first component's; 0 where it has none).  threads: 0 for
 * OpenMP's default; p may be NULL (tokens scored). */
int nglm_lm_score_corpus10(const nglm_lm *lm, const nglm_corpus *c, double *lp10, int *len,
                           int threads, const nglm_progress *p, nglm_error *err);

/* The SRILM-style report (nglm/eval.h) of per-token scores lp10 of c:
 * with a mixture's reading, a token any component reads as <unk> is an
 * OOV.  per_sentence: also fill r->sent_logprob10. */
int nglm_lm_report(const nglm_corpus *c, const double *lp10, int per_sentence,
                   nglm_eval_report *r, nglm_error *err);

/* Scores c and reports (the two calls above). */
int nglm_lm_eval(const nglm_lm *lm, const nglm_corpus *c, int threads, int per_sentence,
                 const nglm_progress *p, nglm_eval_report *r, nglm_error *err);


/* ---------------------------------------------------------------- token by token */

/* p[0..V-1] = P(w | the history of position i, as above) for every word
 * of the vocabulary, p[<s>] = 0 (sampling; O(|V|)).  sent must have room
 * for an id at i (scratch, left as it was). */
void nglm_lm_scorer_dist(nglm_lm_scorer *s, int32_t *sent, size_t i, double *p);

/* The model a scorer scores with. */
const nglm_lm *nglm_lm_scorer_lm(const nglm_lm_scorer *s);

/* ---------------------------------------------------------------- mixtures
 *
 * P(w | h) = Σ_k λ_k P_k(w | h), the weights λ_k >= 0 summing to 1
 * (within 1e-6).  Mixtures and caches nest: a component may be either. */

/* The weights that maximise the likelihood of held-out text c (read by
 * nglm_lm_read on the mixture), by EM from the current ones (accelerated,
 * nglm_mix_em_n; tolerance and cap NGLM_MIX_EM_TOL, NGLM_MIX_EM_MAX_ITER),
 * set in lm; *iterations: EM updates made. */
int nglm_lm_mix_em(nglm_lm *lm, const nglm_corpus *c, int threads, int *iterations,
                   nglm_error *err);

/* The manifest file of nglm_lm_mix_save (a mixture saved as one model,
 * opened again by nglm_lm_open):
 *
 *   nglm-mixture 1
 *   WEIGHT SIZE CRC32 PATH
 *   ...
 *
 * a line per component: its weight (%.17g), the component file's size in
 * bytes and CRC-32 (8 hex digits), its path relative to the manifest's
 * directory (or absolute), up to the line's end.  Lines starting with '#'
 * are comments.  Opening checks each component's size and CRC, so a moved
 * or changed component is refused in one line.  Every component must have
 * been opened from a file. */

/* ---------------------------------------------------------------- caches */

/* inner with the cache of spec (nglm/cache.h) mixed in; takes ownership of
 * inner, also on failure.  Scores whole texts only (no scorer). */
nglm_lm *nglm_lm_cache_new(nglm_lm *inner, const nglm_cache_spec *spec, nglm_error *err);

#ifdef __cplusplus
}
#endif
#endif
