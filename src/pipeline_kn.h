/*
 * pipeline_kn.h — the pipeline stopped at its Kneser-Ney estimate, as
 * nglm-kn runs it (private: the library's programs use it, not its users):
 *
 *   nglm_pipeline_init        opt.order the order, opt.tr.threads, opt.tok,
 *                             opt.count_memory, opt.temp_dir; opt.out NULL
 *   nglm_pipeline_vocab       every word of the text (min_count, max_vocab 0)
 *   nglm_pipeline_kn_text     the training text's id stream, nothing held out
 *   nglm_pipeline_kn          every n-gram up to opt.order (the index with
 *                             every cutoff 1, model.feat) and Kneser-Ney on it
 *   nglm_pipeline_kn_save     the ARPA file and/or the model (softmax
 *                             weights, pruned of zero-weight features)
 *
 * The stages in between (held-out slice, cutoffs, order choice, training)
 * are not run: the model is lmplz's (nglm/kn.h).
 */
#ifndef NGLM_PIPELINE_KN_H
#define NGLM_PIPELINE_KN_H

#include "nglm/kn.h"
#include "nglm/pipeline.h"

/* What the estimate stage leaves: the estimate and the figures nglm-kn
 * reports (read before the model's pruning changes the index). */
typedef struct nglm_pipeline_kn_result {
    nglm_kn kn;                              /* of P->model.feat */
    uint64_t seen[NGLM_MAX_ORDER + 1];       /* m-grams of the text, before pruning */
    int32_t V;                               /* vocabulary size, specials included */
    size_t n_sents;                          /* of the training text */
    uint64_t n_words, n_tokens;
} nglm_pipeline_kn_result;

/* The training text's id stream (P->train); fails on a text with no
 * sentence ("NAME: no sentences (the text is empty or blank)"). */
int nglm_pipeline_kn_text(nglm_pipeline *P, nglm_error *err);

/* The index of every n-gram of the text up to opt.order and Kneser-Ney
 * estimated on it with ko (its text and threads set here); frees the
 * text. */
int nglm_pipeline_kn(nglm_pipeline *P, const nglm_kn_options *ko, nglm_pipeline_kn_result *r,
                     nglm_error *err);

/* Writes r's model as ARPA to arpa ("-": stdout) and as an nglm model to
 * model; either may be NULL.  The weights are computed first, so that a
 * model they cannot express fails before anything is written. */
int nglm_pipeline_kn_save(nglm_pipeline *P, const nglm_pipeline_kn_result *r, const char *arpa,
                          const char *model, nglm_error *err);

void nglm_pipeline_kn_result_free(nglm_pipeline_kn_result *r);

#endif
