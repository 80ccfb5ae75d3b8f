/*
 * lm_arpa.c — an ARPA back-off file (nglm/arpa.h) as an nglm_lm.
 *
 * Every token is scored by the back-off rule (nglm_arpa_logprob10_len), the
 * sentences of a text shared among threads (each token is independent, so
 * the scores are the same for any number of threads).  An OOV of a file
 * without <unk> is NAN (skipped, as SRILM does), as nglm_arpa_score_corpus
 * gives it; the dense distribution is 10^logprob10 of every word.
 */
#include <math.h>
#include <stdlib.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "lm_impl.h"
#include "nglm/arpa.h"

static void arpa_free(nglm_lm *lm)
{
    nglm_arpa_free(lm->impl);
}

/* log10 P of sent[i], NAN for an OOV the file cannot score. */
static double arpa_token(const nglm_arpa *a, const int32_t *sent, size_t i, int *len)
{
    if (sent[i] == NGLM_UNK && !nglm_arpa_has_unk(a)) {
        if (len)
            *len = 0;
        return NAN;
    }
    return nglm_arpa_logprob10_len(a, sent, i, len);
}

static int arpa_score(const nglm_lm *lm, const nglm_corpus *c, double *lp10, int *len,
                      int threads, const nglm_progress *p, nglm_error *err)
{
    (void)p;
    (void)err;
    const nglm_arpa *a = lm->impl;
    long n_sents = (long)c->n_sents;
#ifdef _OPENMP
    int nt = threads > 0 ? threads : omp_get_max_threads();
    if (c->n_tokens < 10000)
        nt = 1;
#pragma omp parallel for schedule(dynamic, 64) num_threads(nt)
#else
    (void)threads;
#endif
    for (long s = 0; s < n_sents; s++) {
        size_t n;
        const int32_t *sent = nglm_corpus_sentence(c, (size_t)s, &n);
        for (size_t i = 0; i < n; i++)
            lp10[c->start[s] + i] = arpa_token(a, sent, i, len ? &len[c->start[s] + i] : NULL);
    }
    return 0;
}

static void *arpa_scorer_new(const nglm_lm *lm, nglm_error *err)
{
    (void)err;
    return lm->impl; /* the scorer needs no state of its own */
}

static void arpa_scorer_free(void *s) { (void)s; }

static double arpa_logprob10(void *s, const int32_t *sent, size_t i, int *len)
{
    return arpa_token(s, sent, i, len);
}

static void arpa_dist(void *s, int32_t *sent, size_t i, double *p)
{
    const nglm_arpa *a = s;
    int32_t V = (int32_t)nglm_vocab_size(nglm_arpa_vocab(a)), keep = sent[i];
    p[NGLM_BOS] = 0;
    for (int32_t w = 1; w < V; w++) {
        sent[i] = w;
        p[w] = pow(10.0, nglm_arpa_logprob10(a, sent, i)); /* 0 for an unlisted <unk> */
    }
    sent[i] = keep;
}

static const nglm_lm_ops arpa_ops = {
    .kind = "arpa",
    .free = arpa_free,
    .score_corpus10 = arpa_score,
    .scorer_new = arpa_scorer_new,
    .scorer_free = arpa_scorer_free,
    .scorer_logprob10 = arpa_logprob10,
    .scorer_dist = arpa_dist,
};

nglm_lm *nglm_lm_arpa_open(const char *path, unsigned flags, nglm_error *err)
{
    (void)flags;
    nglm_arpa *a = nglm_arpa_load(path, err);
    if (!a)
        return NULL;
    nglm_lm *lm = nglm_lm_alloc(&arpa_ops, err);
    if (!lm) {
        nglm_arpa_free(a);
        return NULL;
    }
    lm->impl = a;
    lm->vocab = nglm_arpa_vocab(a);
    lm->tok = nglm_arpa_tok(a);
    lm->order = nglm_arpa_order(a);
    return lm;
}
