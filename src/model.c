/*
 * model.c — the model object and its exact probabilities: the dense
 * reference (every word scored by lookups, normalised by log-sum-exp) and
 * the fast scorer of whole texts through the grouped passes of batch.c.
 */
#include "nglm/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "batch.h"
#include "blocks.h"

/* Tokens scored per batch: larger batches share more contexts. */
#define SCORE_BATCH 65536
/* A text this short is scored on one thread: starting and waking threads
 * costs more than they save (a sentence: 1 ms against 30 ms on a busy
 * machine); the scores do not depend on the thread count. */
#define SCORE_ONE_THREAD 2048

void nglm_model_free(nglm_model *m)
{
    if (m->vocab)
        nglm_vocab_free(m->vocab);
    if (m->map) { /* the arrays of the file lie in the mapping; ctx1 does not */
        nglm_features *F = &m->feat;
        if (F->blocks) {
            free(F->blocks->done);
            free(F->blocks->path);
            free(F->blocks);
            F->blocks = NULL;
        }
        const char *lo = m->map, *hi = lo + m->map_len, *cf = (const char *)F->child_first;
        F->ctx_parent = F->ctx_word = F->feat_word = F->feat_back = NULL;
        F->ctx_first = F->feat_count = NULL;
        if (cf >= lo && cf < hi) /* CHILDREN, in place */
            F->child_first = NULL;
        memset(F->skip_first, 0, sizeof F->skip_first);
        m->theta = NULL;
        munmap(m->map, m->map_len);
    }
    nglm_features_free(&m->feat);
    free(m->theta);
    memset(m, 0, sizeof *m);
}

int nglm_model_check(const nglm_model *m, nglm_error *err)
{
    return nglm_blocks_check(m->feat.blocks, err);
}

int nglm_model_ngram_length(const nglm_model *m, const int32_t *sent, size_t i)
{
    const nglm_features *F = &m->feat;
    int32_t chain[NGLM_MAX_ORDER];
    int depth = F->order > 1 ? nglm_features_chain(F, sent, i, chain) : 0, len = 1;
    for (int j = 0; j < depth && nglm_features_find(F, chain[j], sent[i]) >= 0; j++)
        len = j + 2;
    return len;
}

void nglm_model_dist_dense(const nglm_model *m, const int32_t *sent, size_t i, double *p)
{
    const nglm_features *F = &m->feat;
    int32_t chain[NGLM_MAX_ORDER];
    int depth = F->order > 1 ? nglm_features_chain(F, sent, i, chain) : 0;
    double mx = -INFINITY;
    p[NGLM_BOS] = -INFINITY;
    for (int32_t w = 1; w < F->V; w++) {
        double s = m->theta[w];
        for (int j = 0; j < depth; j++) {
            int32_t f = nglm_features_find(F, chain[j], w);
            if (f >= 0) {
                nglm_blocks_ensure(F->blocks, m->theta + f, sizeof *m->theta);
                s += m->theta[f];
            }
        }
        for (int t = 0; t < F->n_skip; t++) {
            int32_t v = nglm_features_skip_word(sent, i, F->skip_dist[t]);
            int32_t f = v < 0 ? -1 : nglm_features_find_skip(F, t, v, w);
            if (f >= 0) {
                nglm_blocks_ensure(F->blocks, m->theta + f, sizeof *m->theta);
                s += m->theta[f];
            }
        }
        p[w] = s;
        if (s > mx)
            mx = s;
    }
    double z = 0;
    for (int32_t w = 1; w < F->V; w++)
        z += exp(p[w] - mx);
    for (int32_t w = 1; w < F->V; w++)
        p[w] = exp(p[w] - mx) / z;
    p[NGLM_BOS] = 0;
}

/* Scores the batch's tokens into logp[*out ..] and empties it. */
static void score_flush(nglm_batch *b, const double *theta, double *logp, size_t *out)
{
    nglm_batch_forward(b, theta);
    for (size_t t = 0; t < b->n_tok; t++)
        logp[(*out)++] = b->sy[t] - log(b->z[t]);
    nglm_batch_clear(b);
}

int nglm_model_score_corpus(const nglm_model *m, const nglm_corpus *c, double *logp,
                            int threads, nglm_error *err)
{
    return nglm_model_score_corpus_progress(m, c, logp, threads, NULL, err);
}

int nglm_model_score_corpus_progress(const nglm_model *m, const nglm_corpus *c, double *logp,
                                     int threads, const nglm_progress *p, nglm_error *err)
{
    nglm_batch b;
    size_t cap = c->n_tokens < SCORE_BATCH ? c->n_tokens : SCORE_BATCH;
    if (c->n_tokens < SCORE_ONE_THREAD)
        threads = 1;
    if (nglm_batch_init(&b, &m->feat, cap ? cap : 1, threads, 0, err) != 0)
        return -1;
    nglm_batch_unigrams(&b, m->theta);
    size_t out = 0;
    for (size_t s = 0; s < c->n_sents; s++) {
        size_t len;
        const int32_t *sent = nglm_corpus_sentence(c, s, &len);
        for (size_t i = 0; i < len; i++) {
            if (b.n_tok == b.cap_tok) {
                score_flush(&b, m->theta, logp, &out);
                nglm_progress_report(p, out, c->n_tokens);
            }
            nglm_batch_add(&b, sent, i);
        }
    }
    if (b.n_tok > 0)
        score_flush(&b, m->theta, logp, &out);
    nglm_progress_report(p, out, c->n_tokens);
    nglm_batch_free(&b);
    return nglm_model_check(m, err); /* a damaged block read on the way */
}

int nglm_model_score_corpus10(const nglm_model *m, const nglm_corpus *c, double *lp10,
                              int threads, const nglm_progress *p, nglm_error *err)
{
    if (nglm_model_score_corpus_progress(m, c, lp10, threads, p, err) != 0)
        return -1;
    for (size_t t = 0; t < c->n_tokens; t++)
        lp10[t] /= M_LN10;
    return 0;
}

/* ---------------------------------------------------------------- one token */

int nglm_model_scorer_init(nglm_model_scorer *s, const nglm_model *m, nglm_error *err)
{
    memset(s, 0, sizeof *s);
    size_t V = (size_t)m->feat.V;
    s->acc = calloc(V ? V : 1, sizeof *s->acc);
    s->hit = calloc(V ? V : 1, sizeof *s->hit);
    s->in_hit = calloc(V ? V : 1, sizeof *s->in_hit);
    if (!s->acc || !s->hit || !s->in_hit) {
        nglm_model_scorer_free(s);
        return nglm_error_set(err, "out of memory for a scorer of %zu words", V);
    }
    s->m = m;
    for (size_t w = 1; w < V; w++) /* in order, as nglm_batch_unigrams sums U */
        s->U += exp(m->theta[w]);
    return 0;
}

void nglm_model_scorer_free(nglm_model_scorer *s)
{
    free(s->acc);
    free(s->hit);
    free(s->in_hit);
    memset(s, 0, sizeof *s);
}

/* Adds the weights of the features [lo, hi) of one history context to a_w
 * of their words, listing each word once in s->hit (*n entries). */
static void scorer_add(nglm_model_scorer *s, uint32_t lo, uint32_t hi, size_t *n)
{
    const nglm_features *F = &s->m->feat;
    nglm_blocks_ensure(F->blocks, s->m->theta + lo, (size_t)(hi - lo) * sizeof(double));
    for (uint32_t f = lo; f < hi; f++) {
        int32_t w = F->feat_word[f];
        if (!s->in_hit[w]) {
            s->in_hit[w] = 1;
            s->hit[(*n)++] = w;
        }
        s->acc[w] += s->m->theta[f];
    }
}

double nglm_model_scorer_logprob10(nglm_model_scorer *s, const int32_t *sent, size_t i,
                                   int *len)
{
    const nglm_features *F = &s->m->feat;
    int32_t y = sent[i];
    /* ids come from the caller: one outside this model's vocabulary (a
     * history made with another model) is an error, never an index */
    if (y < 0 || y >= F->V)
        return NAN;
    /* the history reaches back order-1 words (n-grams) or the longest skip
     * distance; `stop` is the nearest unknown position in that reach */
    long reach = F->order - 1, stop = -1;
    for (int t = 0; t < F->n_skip; t++)
        if (F->skip_dist[t] > reach)
            reach = F->skip_dist[t];
    int bos_known = 1;
    for (long pos = (long)i - 1; pos >= 0 && pos >= (long)i - reach; pos--)
        if (sent[pos] >= F->V)
            return NAN;
    for (long pos = (long)i - 1; pos >= 0 && pos >= (long)i - reach; pos--)
        if (sent[pos] < 0) {
            stop = pos;
            bos_known = 0;
            break;
        }
    /* n-gram contexts, shortest first, as nglm_features_chain builds them */
    size_t n = 0;
    int ngram = 1;
    int32_t node = -1;
    for (int k = 1; k < F->order; k++) {
        long pos = (long)i - k;
        int32_t w = pos > stop ? sent[pos] : (pos == -1 && bos_known ? NGLM_BOS : -1);
        if (w < 0)
            break;
        node = k == 1 ? F->ctx1[w] : nglm_features_child(F, node, w);
        if (node < 0)
            break;
        scorer_add(s, F->ctx_first[node], F->ctx_first[node + 1], &n);
        if (ngram == k && nglm_features_find(F, node, y) >= 0)
            ngram = k + 1;
        if (w == NGLM_BOS)
            break;
    }
    /* skip-grams: the word at each template's distance, when known */
    for (int t = 0; t < F->n_skip; t++) {
        long pos = (long)i - F->skip_dist[t];
        int32_t v = pos > stop ? sent[pos] : (pos == -1 && bos_known ? NGLM_BOS : -1);
        if (v >= 0)
            scorer_add(s, F->skip_first[t][v], F->skip_first[t][v + 1], &n);
    }
    /* Z(h) = U + Σ_hit exp(θ_w)(exp(a_w) − 1); then clear the marks */
    double z = s->U, sy = s->m->theta[y];
    for (size_t j = 0; j < n; j++) {
        int32_t w = s->hit[j];
        if (w != NGLM_BOS)
            z += exp(s->m->theta[w]) * expm1(s->acc[w]);
        if (w == y)
            sy += s->acc[w];
        s->acc[w] = 0;
        s->in_hit[w] = 0;
    }
    if (len)
        *len = ngram;
    if (F->blocks && F->blocks->bad == 1)
        return NAN; /* a damaged block was read: nglm_model_check says which */
    return (sy - log(z)) / M_LN10;
}

size_t nglm_model_nonzero(const nglm_model *m)
{
    size_t n = 0;
    for (size_t f = 1; f < m->feat.n_feat; f++)
        n += m->theta[f] != 0;
    return n;
}
