/*
 * pipeline_api.c — the public API's training (nglm/nglm.h): an opaque
 * nglm_pipeline made with nglm-train's defaults, its options set by name
 * through the one table of them (nglm_pipeline_option_table, which
 * nglm-train's command line and the Python module's train() read too),
 * then the stages of pipeline.c run in order.
 *
 * The handle is a pipeline with what the public calls need around it: the
 * options being set (nglm_pipeline_init copies them into the pipeline only
 * when training starts) and the copies of their values (the table's string
 * rows keep the pointer they are given).  The pipeline is its first
 * member, so the public pointer is the handle's.
 */
#include "nglm/nglm.h"

#include <stdlib.h>
#include <string.h>

#include "nglm/modelfile.h"
#include "nglm/options.h"
#include "nglm/pipeline.h"

typedef struct handle {
    nglm_pipeline P;              /* first: the public pointer points here */
    nglm_pipeline_options opt;    /* as set so far */
    char **kept;                  /* the values set, copied */
    size_t n_kept;
    int fitted;                   /* nglm_pipeline_fit was called */
} handle;

static handle *handle_of(const nglm_pipeline *P)
{
    return (handle *)P;
}

nglm_pipeline *nglm_pipeline_new(nglm_error *err)
{
    handle *h = calloc(1, sizeof *h);
    if (!h) {
        nglm_error_set(err, "out of memory");
        return NULL;
    }
    h->opt = nglm_pipeline_options_default();
    return &h->P;
}

int nglm_pipeline_set(nglm_pipeline *P, const char *name, const char *value,
                      nglm_error *err)
{
    handle *h = handle_of(P);
    if (h->fitted)
        return nglm_error_set(err, "%s: the pipeline has been trained: set its options before "
                              "nglm_pipeline_fit", name);
    size_t n;
    const nglm_option *rows = nglm_pipeline_option_table(&n);
    const nglm_option *row = nglm_options_find(rows, n, name);
    if (!row)
        return nglm_error_set(err, "%s: no such option (nglm-train --help lists them)", name);
    if (!row->arg && value)
        return nglm_error_set(err, "%s: takes no value", name);
    if (row->arg && !value)
        return nglm_error_set(err, "%s: needs a value", name);
    char *copy = NULL;
    if (value) {
        char **kept = realloc(h->kept, (h->n_kept + 1) * sizeof *kept);
        if (!kept || !(copy = strdup(value))) {
            if (kept)
                h->kept = kept;
            return nglm_error_set(err, "out of memory");
        }
        h->kept = kept;
        h->kept[h->n_kept++] = copy;
    }
    if (nglm_option_set(row, &h->opt, copy, err) != 0)
        return nglm_error_prefix(err, "%s", name);
    return 0;
}

int nglm_pipeline_fit(nglm_pipeline *P, FILE *out, nglm_error *err)
{
    handle *h = handle_of(P);
    if (h->fitted)
        return nglm_error_set(err, "the pipeline has been trained already");
    h->fitted = 1;
    if (h->opt.classes)
        return nglm_error_set(err, "classes: Model M is trained by nglm-train --classes, not "
                              "by nglm_pipeline_fit");
    nglm_pipeline_options o = h->opt;
    o.out = out;
    if (nglm_pipeline_init(&h->P, &o, err) != 0)
        return -1;
    return nglm_pipeline_run(&h->P, err);
}

int nglm_pipeline_save(const nglm_pipeline *P, const char *path, nglm_error *err)
{
    if (!handle_of(P)->fitted || !P->model.theta)
        return nglm_error_set(err, "%s: the pipeline has no trained model to save", path);
    return nglm_model_save(&P->model, path, err);
}

double nglm_pipeline_valid_ppl(const nglm_pipeline *P)
{
    return P->model.info.valid_ppl;
}

void nglm_pipeline_delete(nglm_pipeline *P)
{
    if (!P)
        return;
    handle *h = handle_of(P);
    nglm_pipeline_free(&h->P);
    for (size_t i = 0; i < h->n_kept; i++)
        free(h->kept[i]);
    free(h->kept);
    free(h);
}
