/*
 * lm_cache.c — any nglm_lm with a cache of the text's recent past mixed in
 * (nglm/cache.h), itself an nglm_lm: a cache over a mixture over an ARPA
 * file and an nglm model is three wrappers deep.
 *
 * The inner model scores the text, then nglm_cache_apply mixes the caches
 * in, in reading order.  The cache depends on the whole text before a
 * token, not on an n-gram history, so this kind scores whole texts only
 * (no token scorer; the Python module's CacheScorer keeps a cache state
 * over sentences itself).
 */
#include <stdlib.h>

#include "lm_impl.h"

typedef struct cachelm {
    nglm_lm *inner;     /* owned */
    nglm_cache_spec spec;
} cachelm;

static int cache_check(const nglm_lm *lm, nglm_error *err)
{
    return nglm_lm_check(((const cachelm *)lm->impl)->inner, err);
}

static void cache_free(nglm_lm *lm)
{
    cachelm *x = lm->impl;
    if (x)
        nglm_lm_free(x->inner);
    free(x);
}

static int cache_score(const nglm_lm *lm, const nglm_corpus *c, double *lp10, int *len,
                       int threads, const nglm_progress *p, nglm_error *err)
{
    const cachelm *x = lm->impl;
    if (nglm_lm_score_corpus10(x->inner, c, lp10, len, threads, p, err) != 0)
        return -1;
    return nglm_cache_apply(&x->spec, c, (int32_t)nglm_vocab_size(lm->vocab), lp10, err);
}

/* The inner model's reading (a mixture's, with its components' parts). */
static int cache_read(const nglm_lm *lm, const char *path, const char *const *lines, size_t n,
                      nglm_corpus *c, const nglm_progress *p, nglm_error *err)
{
    const cachelm *x = lm->impl;
    return lines ? nglm_lm_read_lines(x->inner, lines, n, c, err)
                 : nglm_lm_read(x->inner, path, c, p, err);
}

static const nglm_lm_ops cache_ops = {
    .kind = "cache",
    .free = cache_free,
    .score_corpus10 = cache_score,
    .read = cache_read,
    .check = cache_check,
};

nglm_lm *nglm_lm_cache_new(nglm_lm *inner, const nglm_cache_spec *spec, nglm_error *err)
{
    nglm_lm *lm = nglm_lm_alloc(&cache_ops, err);
    cachelm *x = lm ? malloc(sizeof *x) : NULL;
    if (!x) {
        if (lm)
            nglm_error_set(err, "out of memory");
        free(lm);
        nglm_lm_free(inner);
        return NULL;
    }
    x->inner = inner;
    x->spec = *spec;
    lm->impl = x;
    lm->vocab = inner->vocab;
    lm->tok = inner->tok;
    lm->order = inner->order;
    lm->reach = nglm_lm_reach(inner);
    return lm;
}
