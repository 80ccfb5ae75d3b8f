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
#include "nglm/nglm.h"
#include "nglm/vocab.h"

#ifdef __cplusplus
extern "C" {
#endif

/* nglm_cluster_options, nglm_cluster_stats, nglm_classes_format,
 * nglm_classes_read and nglm_classes_write are public (nglm/nglm.h). */

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

#ifdef __cplusplus
}
#endif
#endif
