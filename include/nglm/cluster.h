/*
 * nglm/cluster.h — word classes: exchange clustering of the vocabulary, and
 * the class files that hold the result.
 *
 * The clustering maximises the likelihood of the class bigram model
 * P(w_i | w_{i-1}) = P(c(w_i) | c(w_{i-1})) · P(w_i | c(w_i)) on a text
 * (Kneser & Ney 1993; Martin, Liermann & Ney 1998).  With N(c, c') the
 * class bigram counts and N(c) the class counts, the log-likelihood is
 *
 *   LL = Σ_{c,c'} N(c,c') ln N(c,c') − 2 Σ_c N(c) ln N(c) + Σ_w N(w) ln N(w)
 *
 * where the sentence boundary is one token: <s> and </s> are the same
 * node, in class 0 alone, so that every sentence is the cycle
 * </s> w_1 ... w_n </s> and each class is counted as often on the left of
 * a bigram as on the right (hence the factor 2).  Every word, </s>
 * included, is predicted once per occurrence: the class bigram perplexity
 * is exp(−LL / tokens), tokens = words + sentences.  The last sum does not
 * depend on the classes.
 *
 * Classes 1..n_classes−1 hold the other words, <unk> included (an ordinary
 * word here).  A word the text never shows stays where the initial
 * assignment put it.  The initial assignment is by frequency: the words in
 * id order (count descending) are dealt to classes 1, 2, ..., n_classes−1,
 * 1, 2, ... .  Then each pass visits the words in id order, in blocks
 * of 1024: each word of a block finds the class that would raise LL most
 * (the lowest class on a tie; its own when nothing gains) against the
 * counts as they are at the start of the block, all at once on the
 * threads; then the moves are made in word order, each only if it still
 * raises LL.  The passes go on until one moves no word, or the pass limit
 * (or o->min_gain).  The result depends on nothing but the text, the
 * vocabulary and the options: the same classes, byte for byte, for any
 * number of threads.
 *
 * Class files (text, UTF-8, one word a line):
 *   tab      "word<TAB>class": class an integer 0.. (nglm's own form; the
 *            integers are kept) or a name (classes numbered in order of
 *            first appearance).  Which one is decided by the first line.
 *   mkcls    mkcls's "word<TAB>class", classes numbered from 1: read as the
 *            tab form (class 0 then is empty); written with class + 1 and
 *            without </s>.
 *   paths    Brown clustering's "bitstring<TAB>word<TAB>count": each
 *            distinct bit string is a class (numbered by first appearance).
 * A word of the vocabulary that the file does not list is an error, except
 * </s> and <unk>: each missing one gets a new class of its own.  <s> is
 * passed over if listed and always has the class of </s>.
 */
#ifndef NGLM_CLUSTER_H
#define NGLM_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "nglm/corpus.h"
#include "nglm/error.h"
#include "nglm/vocab.h"

#ifdef __cplusplus
extern "C" {
#endif

/* After each pass: the pass (1..), the words it moved, the class bigram
 * perplexity after it, and the user's pointer.  Called from the calling
 * thread. */
typedef void (*nglm_cluster_pass_fn)(int pass, size_t moved, double perplexity, void *user);

typedef struct nglm_cluster_options {
    int max_passes;              /* passes at most (0: none, only the start's
                                  * perplexity); < 0: 30 */
    int threads;                 /* <= 0: 1 */
    nglm_cluster_pass_fn on_pass; /* may be NULL */
    void *user;
    double min_gain;             /* > 0: also stop after a pass that lowers the
                                  * perplexity by less than this fraction of
                                  * it (1e-3, the default: 0.1%); 0: only when
                                  * no word moves */
    const int32_t *init;         /* not NULL: start from these classes (V
                                  * entries in 0..n_classes−1, e.g. read from
                                  * a file) instead of the dealing by
                                  * frequency; no word is moved into class 0 */
} nglm_cluster_options;

/* 30 passes, min_gain 1e-3, 1 thread, no callback. */
nglm_cluster_options nglm_cluster_options_default(void);

/* The results of a clustering, for a report (may be NULL). */
typedef struct nglm_cluster_stats {
    int passes;                  /* passes run */
    size_t moved;                /* words moved by the last pass */
    double perplexity0;          /* class bigram perplexity of the start */
    double perplexity;           /* ... at the end */
} nglm_cluster_stats;

/* Clusters the V words of the vocabulary that c was read with into
 * n_classes classes (2 <= n_classes <= 1 + the words other than <s> and
 * </s>, unless o->init is given), as in the file comment.  class_of receives V entries.  o may be
 * NULL (the defaults), st may be NULL. */
int nglm_cluster_exchange(const nglm_corpus *c, int32_t V, int n_classes,
                          const nglm_cluster_options *o, int32_t *class_of,
                          nglm_cluster_stats *st, nglm_error *err);

/* The class bigram log-likelihood LL (natural log) of c under class_of
 * (class_of[<s>] is taken to be class_of[</s>]), computed from scratch;
 * *tokens, if not NULL, receives the predicted tokens.  Fails on a class
 * out of 0..n_classes−1 or an id out of 0..V−1. */
int nglm_cluster_loglik(const nglm_corpus *c, int32_t V, int n_classes,
                        const int32_t *class_of, double *ll, uint64_t *tokens,
                        nglm_error *err);

typedef enum nglm_classes_format {
    NGLM_CLASSES_AUTO = 0,       /* reading: paths if the first line has three
                                  * fields, else tab */
    NGLM_CLASSES_TAB = 1,
    NGLM_CLASSES_MKCLS = 2,
    NGLM_CLASSES_PATHS = 3       /* reading only */
} nglm_classes_format;

/* nglm_classes_read's flags. */
#define NGLM_CLASSES_SKIP_UNKNOWN 1  /* pass over the lines of words not in v */
#define NGLM_CLASSES_ALLOW_MISSING 2 /* words of v the file does not list (</s> and
                                      * <unk> too) get class −1 */

/* Reads a class file for the finalized vocabulary v: class_of (V entries)
 * and *n_classes.  Errors say "path:line: reason": a line that is not of
 * the form, invalid UTF-8, a word not in v (unless NGLM_CLASSES_SKIP_UNKNOWN
 * in flags), a word listed twice, a class that is not an integer (when the
 * first line's is) or is above 2^31−2, a word of v missing (unless
 * NGLM_CLASSES_ALLOW_MISSING; without it, </s> and <unk> missing get a
 * class of their own each). */
int nglm_classes_read(const char *path, const nglm_vocab *v, nglm_classes_format format,
                      int flags, int32_t *class_of, int *n_classes, nglm_error *err);

/* Writes class_of for v in the given form (TAB or MKCLS), every word but
 * <s> in id order, replacing path atomically ("-": stdout). */
int nglm_classes_write(const char *path, const nglm_vocab *v, const int32_t *class_of,
                       nglm_classes_format format, nglm_error *err);

#ifdef __cplusplus
}
#endif
#endif
