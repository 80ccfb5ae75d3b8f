/*
 * lm_classlm.c — a Model M file (nglm/classlm.h) as an nglm_lm, so that
 * nglm-eval, nglm-sample, mixtures, the cache and the Python module read
 * it as they read any other model.
 *
 * Whole texts go through nglm_classlm_score_corpus10, single tokens through
 * nglm_classlm_scorer; both are exact.  The dense distribution is
 * nglm_classlm_dist_dense where the history reaches the sentence start, and
 * otherwise (a history cut by a negative id) every word scored in turn by
 * the token scorer, so the two kinds of history give the same numbers.
 * The n-gram length of a token is not defined for a two-factor model and is
 * reported as 0.
 *
 * The file is mapped (nglm_classlm_map): the scorers verify the blocks of
 * the weights they read, and check reports a damaged one; NGLM_LM_VERIFY
 * loads it instead, checking every block, the CRC and every array.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lm_impl.h"
#include "nglm/classlm.h"

static void classlm_free(nglm_lm *lm)
{
    nglm_classlm_close(lm->impl);
}

static int classlm_score(const nglm_lm *lm, const nglm_corpus *c, double *lp10, int *len,
                         int threads, const nglm_progress *p, nglm_error *err)
{
    if (nglm_classlm_score_corpus10(lm->impl, c, lp10, threads, p, err) != 0)
        return -1;
    if (len)
        memset(len, 0, c->n_tokens * sizeof *len);
    return 0;
}

static void *classlm_scorer_new(const nglm_lm *lm, nglm_error *err)
{
    nglm_classlm_scorer *s = malloc(sizeof *s);
    if (!s) {
        nglm_error_set(err, "out of memory");
        return NULL;
    }
    if (nglm_classlm_scorer_init(s, lm->impl, err) != 0) {
        free(s);
        return NULL;
    }
    return s;
}

static void classlm_scorer_free(void *s)
{
    nglm_classlm_scorer_free(s);
    free(s);
}

static double classlm_logprob10(void *s, const int32_t *sent, size_t i, int *len)
{
    if (len)
        *len = 0;
    return nglm_classlm_scorer_logprob10(s, sent, i);
}

static void classlm_dist(void *sv, int32_t *sent, size_t i, double *p)
{
    nglm_classlm_scorer *s = sv;
    const nglm_classlm *m = s->m;
    int cut = 0;
    for (size_t j = 0; j < i; j++)
        cut |= sent[j] < 0;
    if (!cut) {
        nglm_classlm_dist_dense(m, sent, i, p);
        return;
    }
    int32_t keep = sent[i];
    p[0] = 0;
    for (int32_t v = 1; v < m->V; v++) {
        sent[i] = v;
        p[v] = pow(10.0, nglm_classlm_scorer_logprob10(s, sent, i));
    }
    sent[i] = keep;
}

static int classlm_check(const nglm_lm *lm, nglm_error *err)
{
    return nglm_classlm_check(lm->impl, err);
}

static const nglm_lm_ops classlm_ops = {
    .kind = "classlm",
    .free = classlm_free,
    .score_corpus10 = classlm_score,
    .scorer_new = classlm_scorer_new,
    .scorer_free = classlm_scorer_free,
    .scorer_logprob10 = classlm_logprob10,
    .scorer_dist = classlm_dist,
    .check = classlm_check,
};

nglm_lm *nglm_lm_classlm_open(const char *path, unsigned flags, nglm_error *err)
{
    nglm_classlm *m;
    if (flags & NGLM_LM_VERIFY) {
        if (!(m = malloc(sizeof *m))) {
            nglm_error_set(err, "out of memory");
            return NULL;
        }
        if (nglm_classlm_load(m, path, err) != 0) {
            free(m);
            return NULL;
        }
    } else if (!(m = nglm_classlm_open(path, err))) {
        return NULL;
    }
    nglm_lm *lm = nglm_lm_alloc(&classlm_ops, err);
    if (!lm) {
        nglm_classlm_close(m);
        return NULL;
    }
    lm->impl = m;
    lm->vocab = m->vocab;
    lm->tok = m->tok;
    lm->order = nglm_classlm_order(m);
    lm->reach = lm->order - 1;
    return lm;
}
