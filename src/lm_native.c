/*
 * lm_native.c — an nglm model (nglm/model.h) as an nglm_lm: mapped from its
 * file (nglm_model_map), or one already in memory (nglm_lm_from_model).
 *
 * Whole texts go through nglm_model_score_corpus10 (the grouped exact
 * scorer of src/batch.c, or the back-off path when the file stores its
 * normalisers); single tokens through nglm_model_scorer (the same choice);
 * the dense distribution is nglm_model_dist_dense, the slow reference.
 */
#include <stdlib.h>
#include <string.h>

#include "lm_impl.h"
#include "nglm/modelfile.h"

typedef struct native {
    nglm_model *m;
    int own;       /* free m (and the struct) with the lm */
} native;

static void native_free(nglm_lm *lm)
{
    native *x = lm->impl;
    if (x && x->own) {
        nglm_model_free(x->m);
        free(x->m);
    }
    free(x);
}

static int native_score(const nglm_lm *lm, const nglm_corpus *c, double *lp10, int *len,
                        int threads, const nglm_progress *p, nglm_error *err)
{
    const nglm_model *m = ((const native *)lm->impl)->m;
    if (nglm_model_score_corpus10(m, c, lp10, threads, p, err) != 0)
        return -1;
    if (len)
        for (size_t s = 0; s < c->n_sents; s++) {
            size_t n;
            const int32_t *sent = nglm_corpus_sentence(c, s, &n);
            for (size_t i = 0; i < n; i++)
                len[c->start[s] + i] = nglm_model_ngram_length(m, sent, i);
        }
    return 0;
}

static void *native_scorer_new(const nglm_lm *lm, nglm_error *err)
{
    nglm_model_scorer *s = malloc(sizeof *s);
    if (!s) {
        nglm_error_set(err, "out of memory");
        return NULL;
    }
    if (nglm_model_scorer_init(s, ((const native *)lm->impl)->m, err) != 0) {
        free(s);
        return NULL;
    }
    return s;
}

static void native_scorer_free(void *s)
{
    nglm_model_scorer_free(s);
    free(s);
}

static double native_logprob10(void *s, const int32_t *sent, size_t i, int *len)
{
    return nglm_model_scorer_logprob10(s, sent, i, len);
}

static void native_dist(void *s, int32_t *sent, size_t i, double *p)
{
    nglm_model_dist_dense(((nglm_model_scorer *)s)->m, sent, i, p);
}

static int native_cache(const nglm_lm *lm, nglm_cache_spec *spec)
{
    const nglm_model *m = ((const native *)lm->impl)->m;
    if (m->has_cache)
        *spec = m->cache;
    return m->has_cache;
}

static int native_check(const nglm_lm *lm, nglm_error *err)
{
    return nglm_model_check(((const native *)lm->impl)->m, err);
}

static const nglm_lm_ops native_ops = {
    .kind = "nglm",
    .free = native_free,
    .score_corpus10 = native_score,
    .scorer_new = native_scorer_new,
    .scorer_free = native_scorer_free,
    .scorer_logprob10 = native_logprob10,
    .scorer_dist = native_dist,
    .recorded_cache = native_cache,
    .check = native_check,
};

nglm_lm *nglm_lm_from_model(nglm_model *m, int own, nglm_error *err)
{
    nglm_lm *lm = nglm_lm_alloc(&native_ops, err);
    native *x = lm ? malloc(sizeof *x) : NULL;
    if (!x) {
        free(lm);
        if (lm)
            nglm_error_set(err, "out of memory");
        return NULL;
    }
    x->m = m;
    x->own = own;
    lm->impl = x;
    lm->vocab = m->vocab;
    lm->tok = m->tok;
    lm->order = nglm_model_order(m);
    lm->reach = lm->order - 1;
    for (int t = 0; t < m->feat.n_skip; t++)
        if (m->feat.skip_dist[t] > lm->reach)
            lm->reach = m->feat.skip_dist[t];
    return lm;
}

nglm_lm *nglm_lm_native_open(const char *path, unsigned flags, nglm_error *err)
{
    nglm_model *m = calloc(1, sizeof *m);
    if (!m) {
        nglm_error_set(err, "out of memory");
        return NULL;
    }
    if (nglm_model_map(m, path, (flags & NGLM_LM_VERIFY) ? NGLM_MAP_VERIFY : 0, err) != 0) {
        free(m);
        return NULL;
    }
    nglm_lm *lm = nglm_lm_from_model(m, 1, err);
    if (!lm) {
        nglm_model_free(m);
        free(m);
    }
    return lm;
}
