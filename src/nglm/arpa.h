/*
 * nglm/arpa.h — the ARPA back-off format: exact export of a softmax n-gram
 * model, and a reader/scorer for any ARPA file (nglm's, KenLM's, SRILM's).
 *
 * Export (doc/model.md §5): a model whose features are n-grams only
 * is a back-off model in disguise.  Every feature (c, w) becomes the listed
 * n-gram "c w" with log10 P(w | c) = (s(c, w) − ln Z(c)) / ln 10, every
 * listed n-gram that is also a context c gets the back-off weight
 * log10 β(c) = (ln Z(c⁻) − ln Z(c)) / ln 10, and <s> gets −99.  Any ARPA
 * reader then computes exactly nglm's probabilities (to the printed
 * precision, 10 significant digits).  Models with skip-gram features are
 * refused: they are not back-off models.
 *
 * Reading: plain or gzip-compressed text (told apart by content).  Blank
 * lines and lines starting with '#' may precede "\data\" (as KenLM allows);
 * then "ngram k=COUNT" lines for k = 1, 2, ..., the sections "\k-grams:"
 * in order, each with exactly COUNT lines "log10prob w1 ... wk [backoff]"
 * (fields separated by spaces or TABs, words oldest first), and "\end\".
 * A log10 value may be -inf (probability zero).  Any deviation is an error
 * "FILE:LINE: reason".  An n-gram whose prefix is not listed (SRILM's
 * pruning can produce those) is accepted: the prefix acts as a context with
 * back-off weight 1.
 *
 * Scoring uses the standard back-off rule: for a history h (starting with
 * <s>, at most order−1 words), P(w | h) = P(w | c) · Π β(d) where c is the
 * longest suffix of h with "c w" listed and d runs over the longer suffixes
 * of h (a missing back-off weight is 1).  Words not among the 1-grams are
 * OOVs: scored as <unk> when the model lists <unk>, otherwise skipped as
 * SRILM does (not scored and not counted in the perplexity).  A token with
 * probability zero is a "zeroprob", also left out of the perplexity.
 */
#ifndef NGLM_ARPA_H
#define NGLM_ARPA_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "nglm/corpus.h"
#include "nglm/error.h"
#include "nglm/eval.h"
#include "nglm/model.h"
#include "nglm/vocab.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Highest order the reader accepts. */
#define NGLM_ARPA_MAX_ORDER 32

/* ---------------------------------------------------------------- export */

/* Writes m in ARPA format to an open stream (plain text). */
int nglm_arpa_write(const nglm_model *m, FILE *fp, nglm_error *err);

/* Writes m in ARPA format to path ("-" = stdout), gzip-compressed when path
 * ends in ".gz".  On failure a partly written file is removed. */
int nglm_arpa_save(const nglm_model *m, const char *path, nglm_error *err);

/* ---------------------------------------------------------------- reading */

/* A back-off model read from an ARPA file (opaque). */
typedef struct nglm_arpa nglm_arpa;

/* Reads path (plain or gzip).  Returns NULL and fills err on failure. */
nglm_arpa *nglm_arpa_load(const char *path, nglm_error *err);

void nglm_arpa_free(nglm_arpa *a);


/* The nglm model that scores every token exactly as the back-off model a
 * does, up to a's own rounding (doc/model.md §6: its features are a's
 * n-grams; with the contexts c_0 = ∅ ⊂ c_1 ⊂ ... of a history,
 * θ(c_i, w) = ln p(w | c_i) − ln p(w | c_{i−1}) − ln bow(c_i), θ(w) = ln p(w);
 * the sum telescopes to ln p(w | c_m) minus a sum of back-off weights that
 * does not depend on w, which the softmax normalisation removes).  Needs a
 * to have <unk> (it skips OOVs; an nglm model scores them as <unk>), every
 * probability non-zero, and every n-gram's suffix (without its first word)
 * listed, as KenLM's and nglm's files have.  The softmax renormalises each
 * distribution, so a file whose distributions sum to 1 only to 7 digits
 * agrees to about that; nglm-export's (10 digits) to about 1e-10.  On
 * failure m is left all zero. */
int nglm_arpa_to_model(const nglm_arpa *a, nglm_model *m, nglm_error *err);

/* 1 if the first line of path (decompressed if gzip) that is neither blank
 * nor a '#' comment is "\data\"; 0 otherwise (and for unreadable files). */
int nglm_arpa_file_is_arpa(const char *path);

/* The model's order (its highest n-gram length). */
int nglm_arpa_order(const nglm_arpa *a);

/* Number of listed k-grams (as declared), k = 1 .. order; 0 otherwise. */
uint64_t nglm_arpa_count(const nglm_arpa *a, int k);

/* The vocabulary of the 1-grams, for reading texts with nglm_corpus_read:
 * <s>, </s>, <unk> have their usual ids 0, 1, 2 even when the file does not
 * list them; the other words follow in file order. */
const nglm_vocab *nglm_arpa_vocab(const nglm_arpa *a);

/* How the text must be tokenized for this model: the default (SPACE),
 * unless the file says otherwise in a "# nglm: the text is tokenized as
 * --tokenize MODE ..." line before \data\, as nglm-export and nglm-kn write
 * for a model trained with other options. */
nglm_tok_options nglm_arpa_tok(const nglm_arpa *a);

/* 1 if the file lists <unk> (OOVs are then scored as <unk>). */
int nglm_arpa_has_unk(const nglm_arpa *a);

/* log10 P(sent[i] | <s> sent[0..i-1]) by the back-off rule (ids of
 * nglm_arpa_vocab); -INFINITY when the probability is zero (for instance a
 * word, <unk> included, that the file does not list).  A negative id in
 * sent ends the history: the words before it are unknown and no <s> is
 * implied (KenLM's null context; as nglm_model_scorer_logprob10). */
double nglm_arpa_logprob10(const nglm_arpa *a, const int32_t *sent, size_t i);

/* The same, and in *len the length of the n-gram whose probability was
 * used (1 .. order; 0 when the word is not listed), as KenLM's query
 * reports it. */
double nglm_arpa_logprob10_len(const nglm_arpa *a, const int32_t *sent, size_t i, int *len);

/* log10 P of every token of c (read with nglm_arpa_vocab(a)) into lp10
 * (c->n_tokens), NAN for an OOV when the file lists no <unk> (skipped, as
 * SRILM does).  Fails on ids outside the vocabulary. */
int nglm_arpa_score_corpus(const nglm_arpa *a, const nglm_corpus *c, double *lp10,
                           nglm_error *err);

#ifdef __cplusplus
}
#endif
#endif
