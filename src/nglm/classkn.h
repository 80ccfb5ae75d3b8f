/*
 * nglm/classkn.h — the class Kneser-Ney model:
 *
 *   P(w | h) = P_KN(c(w) | c(h)) · P(w | c(w)),   P(w | c) = n(w) / n(c)
 *
 * The class n-gram model is nglm's interpolated modified Kneser-Ney
 * (nglm/kn.h, as nglm-kn estimates it) on the text with every word replaced
 * by its class, kept in nglm's softmax form (nglm_kn_to_weights, exact);
 * n(w) are the training counts, n(c) their sum over the class.
 *
 * The class model's vocabulary: <s>, </s> (always alone: </s> is not a
 * member of any word class here, and P(</s> | its class) = 1), the class of
 * <unk> in the place of <unk>, then the other classes that hold a word, in
 * class order, named "C<k>".  Every id it predicts is then a real class,
 * and Σ_w P(w | h) = 1 exactly (to rounding).  A class holding words that
 * the training text never shows (<unk> when the text has none, or words of
 * a vocabulary given from outside) gives each of its words n(w) + 1/2 in
 * place of n(w), so that every P is > 0; the other classes are as above.
 *
 * Saved as two files: PATH, the class model in nglm's model format, and
 * PATH.classes, "word<TAB>class<TAB>count" for every word in id order
 * (<s> first; the classes as given to the build).
 */
#ifndef NGLM_CLASSKN_H
#define NGLM_CLASSKN_H

#include <stddef.h>
#include <stdint.h>

#include "nglm/corpus.h"
#include "nglm/error.h"
#include "nglm/kn.h"
#include "nglm/model.h"
#include "nglm/tokenize.h"
#include "nglm/vocab.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nglm_classkn {
    nglm_vocab *vocab;           /* the words (owned) */
    int32_t V;
    nglm_tok_options tok;        /* how text is tokenized for this model */
    int n_classes;               /* of the classes given */
    int32_t *class_of;           /* (V) the classes given */
    uint64_t *count;             /* (V) n(w) */
    int32_t *cid;                /* (V) each word's id in the class model */
    double *lnp_word;            /* (V) ln P(w | its class); 0 for <s>, </s> */
    nglm_model cm;               /* the class model (its vocabulary the classes) */
} nglm_classkn;

/* Builds m from the training text c (read with v, which is copied), the
 * classes class_of (V entries in 0..n_classes−1; <s> and </s>'s entries
 * are not used), with the class model of the given order estimated with
 * kopt (NULL: nglm_kn_options_default() with the fallback discounts, which
 * a class text needs: its few hundred 1-grams are all seen many times, so
 * the 1-gram discounts cannot be estimated) on `threads` threads.  On failure m is left all zero. */
int nglm_classkn_build(nglm_classkn *m, const nglm_corpus *c, const nglm_vocab *v,
                       const nglm_tok_options *tok, const int32_t *class_of, int n_classes,
                       int order, const nglm_kn_options *kopt, int threads, nglm_error *err);

/* Saves to path and path.classes; loads them (on failure m is all zero). */
int nglm_classkn_save(const nglm_classkn *m, const char *path, nglm_error *err);
int nglm_classkn_load(nglm_classkn *m, const char *path, nglm_error *err);

void nglm_classkn_free(nglm_classkn *m);

/* The class model's order. */
int nglm_classkn_order(const nglm_classkn *m);

/* log10 P of every token of c (read with m->vocab) into lp10 (c->n_tokens
 * entries), on `threads` threads. */
int nglm_classkn_score_corpus10(const nglm_classkn *m, const nglm_corpus *c, double *lp10,
                                int threads, nglm_error *err);

/* One token at a time: log10 P(sent[i] | the history before it: <s>
 * sent[0..i-1], or the words after the last negative id, as
 * nglm_model_scorer_logprob10).  sent[i] must be a word id 1..V−1.  One
 * scorer per thread. */
typedef struct nglm_classkn_scorer {
    const nglm_classkn *m;       /* not owned */
    nglm_model_scorer s;         /* of the class model */
    int32_t *buf;                /* (order + 1) the history in class ids */
} nglm_classkn_scorer;

int nglm_classkn_scorer_init(nglm_classkn_scorer *s, const nglm_classkn *m, nglm_error *err);
void nglm_classkn_scorer_free(nglm_classkn_scorer *s);
double nglm_classkn_scorer_logprob10(nglm_classkn_scorer *s, const int32_t *sent, size_t i);

/* The whole distribution after the history of sent[i] (sent[i] itself is
 * not read): p[w] = P(w | h) for w = 0..V−1, p[<s>] = 0. */
void nglm_classkn_scorer_dist(nglm_classkn_scorer *s, const int32_t *sent, size_t i,
                              double *p);

#ifdef __cplusplus
}
#endif
#endif
