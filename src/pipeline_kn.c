/*
 * pipeline_kn.c — the pipeline stopped at Kneser-Ney (pipeline_kn.h), the
 * stages nglm-kn runs after the vocabulary: the training text whole (no
 * held-out slice: lmplz's model uses every sentence), the index of every
 * n-gram, the estimate, and the ARPA file and model written from it.
 *
 * The text and the index are the pipeline's (P->train, P->model.feat), so
 * that the model saved is P->model, as nglm-train's is.
 */
#include <stdlib.h>
#include <string.h>

#include "nglm/modelfile.h"
#include "nglm/vocab.h"
#include "pipeline_kn.h"

static const char *train_name(const nglm_pipeline *P)
{
    return P->opt.train_name ? P->opt.train_name : P->opt.train;
}

int nglm_pipeline_kn_text(nglm_pipeline *P, nglm_error *err)
{
    char title[128];
    snprintf(title, sizeof title, "reading %.100s", train_name(P));
    nglm_progress p = nglm_pipeline_stage_begin(P, title, "MB", 1e-6);
    int rc = nglm_corpus_read_progress(&P->train, P->opt.train, &P->opt.tok, P->model.vocab,
                                       &p, err);
    nglm_pipeline_stage_end(P);
    if (rc != 0)
        return -1;
    if (P->train.n_tokens == 0)
        return nglm_error_set(err, "%s: no sentences (the text is empty or blank)",
                              train_name(P));
    P->train_read_sents = P->train.n_sents;
    return 0;
}

int nglm_pipeline_kn(nglm_pipeline *P, const nglm_kn_options *ko, nglm_pipeline_kn_result *r,
                     nglm_error *err)
{
    const nglm_pipeline_options *o = &P->opt;
    nglm_features *F = &P->model.feat;
    memset(r, 0, sizeof *r);
    r->n_sents = P->train.n_sents;
    r->n_words = P->train.n_words;
    r->n_tokens = P->train.n_tokens;

    /* every n-gram: the index with every cutoff 1 and no skip-grams */
    char title[64];
    snprintf(title, sizeof title, "counting %d-grams", o->order);
    nglm_progress p = nglm_pipeline_stage_begin(P, title, "tokens", 1);
    nglm_count_opts co = {o->tr.threads, o->count_memory, o->temp_dir, &p};
    int32_t V = r->V = (int32_t)nglm_vocab_size(P->model.vocab);
    int rc = nglm_features_build_with(F, &P->train, V, o->order, NULL, &co, err);
    nglm_pipeline_stage_end(P);
    if (rc != 0)
        return -1;

    nglm_kn_options k = *ko;
    k.text = &P->train; /* lmplz's discount statistics */
    k.threads = o->tr.threads;
    if (nglm_kn_estimate(&r->kn, F, &k, err) != 0)
        return -1;
    nglm_corpus_free(&P->train);
    for (int m = 1; m <= o->order; m++)
        r->seen[m] = m == 1 ? (uint64_t)V
                            : F->ctx_first[F->ctx_order_start[m - 1]] -
                                  F->ctx_first[F->ctx_order_start[m - 2]];
    return 0;
}

/* The ARPA file is written before the model: the model's pruning changes
 * the index that both are written from. */
int nglm_pipeline_kn_save(nglm_pipeline *P, const nglm_pipeline_kn_result *r, const char *arpa,
                          const char *model, nglm_error *err)
{
    nglm_model *m = &P->model;
    if (model) {
        m->theta = malloc(m->feat.n_feat * sizeof *m->theta);
        if (!m->theta)
            return nglm_error_set(err, "out of memory");
        if (nglm_kn_to_weights(&r->kn, &m->feat, m->theta, err) != 0)
            return -1;
    }
    if (arpa && nglm_kn_save_arpa(&r->kn, &m->feat, m->vocab, &P->opt.tok, arpa,
                                  P->opt.tr.threads, err) != 0)
        return -1;
    if (!model)
        return 0;
    m->info.train_tokens = r->n_tokens;
    if (nglm_model_prune(m, &P->pruned, err) != 0 || nglm_model_save(m, model, err) != 0)
        return -1;
    return 0;
}

void nglm_pipeline_kn_result_free(nglm_pipeline_kn_result *r)
{
    nglm_kn_free(&r->kn);
    memset(r, 0, sizeof *r);
}
