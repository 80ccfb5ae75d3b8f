/*
 * model.c — the model object and its exact probabilities: the dense
 * reference (every word scored by lookups, normalised by log-sum-exp), the
 * fast scorer of whole texts through the grouped passes of batch.c, and,
 * for a back-off model whose file stores its normalisers (m->lnz), the
 * back-off path that needs only the lookups along each history's chain
 * (doc/model.md §2, "Stored normalisers"), and for a skip-gram model whose
 * file stores those of its n-gram part (m->lnz_ngram), the one-token path
 * that adds the skip-gram correction to them.
 */
#include "nglm/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#ifdef _OPENMP
#include <omp.h>
#endif

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
        if ((const char *)m->lnz >= lo && (const char *)m->lnz < hi) /* NORMS */
            m->lnz = NULL;
        memset(F->skip_first, 0, sizeof F->skip_first);
        m->theta = NULL;
        munmap(m->map, m->map_len);
    }
    nglm_features_free(&m->feat);
    free(m->theta);
    free(m->lnz);
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

/* Sentences scored between progress reports on the back-off path. */
#define NORMS_SENTS 4096

/* The back-off path over stored normalisers (nglm_model_norms_logprob),
 * sentences shared among the threads. */
static int score_corpus_norms(const nglm_model *m, const nglm_corpus *c, double *logp,
                              int threads, const nglm_progress *p, nglm_error *err)
{
#ifdef _OPENMP
    if (threads <= 0)
        threads = omp_get_max_threads();
#endif
    if (threads <= 0)
        threads = 1;
    for (size_t s0 = 0; s0 < c->n_sents; s0 += NORMS_SENTS) {
        long s1 = (long)(s0 + NORMS_SENTS < c->n_sents ? s0 + NORMS_SENTS : c->n_sents);
#pragma omp parallel for schedule(dynamic, 16) num_threads(threads)
        for (long s = (long)s0; s < s1; s++) {
            size_t len;
            const int32_t *sent = nglm_corpus_sentence(c, (size_t)s, &len);
            for (size_t i = 0; i < len; i++)
                logp[c->start[s] + i] = nglm_model_norms_logprob(m, sent, i, NULL);
        }
        nglm_progress_report(p, c->start[s1], c->n_tokens);
    }
    nglm_progress_report(p, c->n_tokens, c->n_tokens);
    return nglm_model_check(m, err); /* a damaged block read on the way */
}

int nglm_model_score_corpus_progress(const nglm_model *m, const nglm_corpus *c, double *logp,
                                     int threads, const nglm_progress *p, nglm_error *err)
{
    if (c->n_tokens < SCORE_ONE_THREAD)
        threads = 1;
    if (m->lnz && !m->lnz_ngram)
        return score_corpus_norms(m, c, logp, threads, p, err);
    /* a model with skip-gram weights scores whole texts by the grouped
     * passes even with its n-gram normalisers stored: per token, the
     * skip-gram correction walks as much as the passes share (PTB test,
     * the default model: 1.2 s against 0.5 s of CPU) */
    nglm_batch b;
    size_t cap = c->n_tokens < SCORE_BATCH ? c->n_tokens : SCORE_BATCH;
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
    s->sng = calloc(V ? V : 1, sizeof *s->sng);
    if (!s->acc || !s->hit || !s->in_hit || !s->sng) {
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
    free(s->sng);
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
    if (s->m->lnz && s->m->lnz_ngram) { /* n-gram normalisers and the skip correction */
        double lp = nglm_model_skipnorms_logprob(s, sent, i, stop, bos_known, len);
        if (F->blocks && F->blocks->bad == 1)
            return NAN;
        return lp / M_LN10;
    }
    if (s->m->lnz) { /* stored normalisers: the back-off path */
        double lp = nglm_model_norms_logprob(s->m, sent, i, len);
        if (F->blocks && F->blocks->bad == 1)
            return NAN;
        return lp / M_LN10;
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

/* ---------------------------------------------------------------- normalisers */

size_t nglm_model_skip_nonzero(const nglm_model *m)
{
    size_t n = 0; /* a skip-gram weight of 0 changes no probability */
    for (size_t f = m->feat.n_ngram_feat; f < m->feat.n_feat; f++)
        n += m->theta[f] != 0;
    return n;
}

/* Contexts are numbered by length, so a context's parent (c⁻) is done
 * before it, and ln Z(c) follows from ln Z(c⁻) by the identity of
 * doc/model.md §2, written relative to Z(c⁻) so that no exp() overflows:
 *
 *   Z(c) / Z(c⁻) = 1 + Σ_{w ∈ succ(c)} (e^{s(c,w) − ln Z(c⁻)} − e^{s(c⁻,w) − ln Z(c⁻)})
 *
 * Each context is one thread's, summed in its own order: the result does
 * not depend on the number of threads. */
int nglm_model_norms(const nglm_model *m, double *s, double *lnz, int threads,
                     nglm_error *err)
{
    const nglm_features *F = &m->feat;
    int32_t V = F->V;
    if (threads <= 0)
        threads = 1;
    /* ln U = ln Σ_{w ≠ <s>} e^θ_w, shifted by the maximum */
    double mx = -INFINITY, sum = 0;
    for (int32_t w = 1; w < V; w++)
        if (m->theta[w] > mx)
            mx = m->theta[w];
    for (int32_t w = 1; w < V; w++)
        sum += exp(m->theta[w] - mx);
    lnz[0] = mx + log(sum);
    for (int32_t w = 0; w < V; w++)
        s[w] = m->theta[w];
    int bad = !isfinite(lnz[0]);
    for (int k = 1; k < F->order; k++) {
        long lo = (long)F->ctx_order_start[k - 1], hi = (long)F->ctx_order_start[k];
#pragma omp parallel for schedule(dynamic, 1024) reduction(| : bad) num_threads(threads)
        for (long c = lo; c < hi; c++) {
            int32_t p = F->ctx_parent[c];
            double lzp = lnz[p + 1], d = 0; /* lnz[0] = ln U for p = -1 */
            for (uint32_t f = F->ctx_first[c]; f < F->ctx_first[c + 1]; f++) {
                int32_t b = F->feat_back[f];
                s[f] = s[b] + m->theta[f];
                d += exp(s[f] - lzp) - exp(s[b] - lzp);
            }
            bad |= !(d > -1) || !isfinite(d);
            lnz[c + 1] = lzp + log1p(d);
        }
    }
    if (bad)
        return nglm_error_set(err, "a context's normaliser is not a positive finite number");
    return 0;
}

double *nglm_model_norms_new(const nglm_model *m, int threads, nglm_error *err)
{
    size_t n_skip = nglm_model_skip_nonzero(m);
    if (n_skip > 0) {
        nglm_error_set(err, "model has %zu skip-gram features with non-zero weights", n_skip);
        return NULL;
    }
    return nglm_model_ngram_norms_new(m, threads, err);
}

double *nglm_model_ngram_norms_new(const nglm_model *m, int threads, nglm_error *err)
{
    const nglm_features *F = &m->feat;
    double *s = malloc((F->n_ngram_feat ? F->n_ngram_feat : 1) * sizeof *s);
    double *lnz = malloc((F->n_ctx + 1) * sizeof *lnz);
    if (!s || !lnz) {
        nglm_error_set(err, "out of memory for the normalisers of %zu contexts", F->n_ctx);
        free(s);
        free(lnz);
        return NULL;
    }
    if (nglm_model_norms(m, s, lnz, threads, err) != 0) {
        free(lnz);
        lnz = NULL;
    }
    free(s);
    return lnz;
}

/* The walk both stored-normaliser paths take: the history's contexts h_1,
 * h_2, .. (sent[i - k] back to the first position after stop; <s> before
 * position 0 when bos_known), the deepest into *deep (-1: none), each into
 * chain when it is not NULL, and θ(y) + Σ_{j ≤ J} θ(h_j, y) returned with J
 * + 1 in *ngram; see nglm_model_norms_logprob. */
static inline double ngram_walk(const nglm_model *m, const int32_t *sent, size_t i, long stop,
                                int bos_known, int32_t *chain, int *depth, int32_t *deep,
                                int *ngram)
{
    const nglm_features *F = &m->feat;
    nglm_blocks *B = F->blocks;
    int32_t y = sent[i], node = -1;
    double s = m->theta[y]; /* the unigrams' blocks were verified at load */
    int d = 0, n = 1;
    *deep = -1;
    for (int k = 1; k < F->order; k++) {
        long pos = (long)i - k;
        int32_t w = pos > stop ? sent[pos] : (pos == -1 && bos_known ? NGLM_BOS : -1);
        if (w < 0) /* a negative id: the history ends here */
            break;
        node = k == 1 ? F->ctx1[w] : nglm_features_child(F, node, w);
        if (node < 0)
            break;
        *deep = node;
        if (chain)
            chain[d] = node;
        d++;
        if (n == k) {
            int32_t f = nglm_features_find(F, node, y);
            if (f >= 0) {
                nglm_blocks_ensure1(B, m->theta + f);
                s += m->theta[f];
                n = k + 1;
            }
        }
        if (w == NGLM_BOS)
            break;
    }
    if (depth)
        *depth = d;
    *ngram = n;
    return s;
}

/* With h_1 .. h_d the contexts of the history's chain (h_j of length j,
 * each a listed context) and J the longest j with (h_j, w) a feature,
 * suffix closure makes (h_1, w) .. (h_J, w) the features of w in h, so
 * s(h, w) = θ(w) + Σ_{j ≤ J} θ(h_j, w), and Z(h) = Z(h_d) (doc/model.md §2,
 * "Stored normalisers").  The walk stops at the first miss. */
double nglm_model_norms_logprob(const nglm_model *m, const int32_t *sent, size_t i, int *len)
{
    int32_t deep;
    int ngram;
    double s = ngram_walk(m, sent, i, -1, 1, NULL, NULL, &deep, &ngram);
    if (len)
        *len = ngram;
    nglm_blocks_ensure1(m->feat.blocks, m->lnz + deep + 1);
    return s - m->lnz[deep + 1];
}

/* The n-gram part as nglm_model_norms_logprob walks it, the history read
 * as the successor-list path reads it; then every word w that a skip
 * context lists gets a_w (scorer_add) and its n-gram score s_ngram(h, w)
 * by lookups along the chain (stopping at the first miss, as suffix
 * closure allows), and adds e^{s_ngram(h,w)} (e^{a_w} − 1) to Z_ngram(h),
 * relative to Z_ngram(h) so that nothing overflows. */
/* A successor list up to this many times the listed words is walked. */
#define SKIP_WALK 32

double nglm_model_skipnorms_logprob(nglm_model_scorer *sc, const int32_t *sent, size_t i,
                                    long stop, int bos_known, int *len)
{
    const nglm_model *m = sc->m;
    const nglm_features *F = &m->feat;
    nglm_blocks *B = F->blocks;
    int32_t y = sent[i], chain[NGLM_MAX_ORDER], deep;
    int depth, ngram;
    double sy = ngram_walk(m, sent, i, stop, bos_known, chain, &depth, &deep, &ngram);
    nglm_blocks_ensure1(B, m->lnz + deep + 1);
    double lz = m->lnz[deep + 1];
    size_t n = 0;
    for (int t = 0; t < F->n_skip; t++) {
        long pos = (long)i - F->skip_dist[t];
        int32_t v = pos > stop ? sent[pos] : (pos == -1 && bos_known ? NGLM_BOS : -1);
        if (v >= 0)
            scorer_add(sc, F->skip_first[t][v], F->skip_first[t][v + 1], &n);
    }
    /* s_ngram(h, w) − θ_w of the listed words into sng[w]: a context's
     * successor list is walked when it is short next to the words listed
     * (a few lookups' cost each), else each word is looked up in it */
    for (int k = 0; k < depth && n > 0; k++) {
        uint32_t lo = F->ctx_first[chain[k]], hi = F->ctx_first[chain[k] + 1];
        if ((size_t)(hi - lo) <= SKIP_WALK * n) {
            nglm_blocks_ensure(B, m->theta + lo, (size_t)(hi - lo) * sizeof *m->theta);
            for (uint32_t f = lo; f < hi; f++) {
                int32_t w = F->feat_word[f];
                if (sc->in_hit[w])
                    sc->sng[w] += m->theta[f];
            }
            continue;
        }
        for (size_t j = 0; j < n; j++) {
            int32_t f = nglm_features_find(F, chain[k], sc->hit[j]);
            if (f >= 0) {
                nglm_blocks_ensure1(B, m->theta + f);
                sc->sng[sc->hit[j]] += m->theta[f];
            }
        }
    }
    double corr = 0; /* Σ e^{s_ngram(h,w) − ln Z_ngram} (e^{a_w} − 1) */
    for (size_t j = 0; j < n; j++) {
        int32_t w = sc->hit[j];
        double a = sc->acc[w], sw = m->theta[w] + sc->sng[w];
        sc->acc[w] = sc->sng[w] = 0;
        sc->in_hit[w] = 0;
        if (w == NGLM_BOS)
            continue;
        corr += exp(sw - lz) * expm1(a);
        if (w == y)
            sy += a;
    }
    if (len)
        *len = ngram;
    return sy - lz - log1p(corr);
}

size_t nglm_model_nonzero(const nglm_model *m)
{
    size_t n = 0;
    for (size_t f = 1; f < m->feat.n_feat; f++)
        n += m->theta[f] != 0;
    return n;
}
