/*
 * kn.c — interpolated modified Kneser-Ney from the feature index (the
 * contract and the formulas are in nglm/kn.h; doc/model.md §6).
 *
 * The index built with every cutoff 1 is the n-gram trie of the text, and
 * it already holds what lmplz's pipeline computes with sorts and streams:
 *
 *   - the left extensions of an m-gram x are the (m+1)-grams whose
 *     back-off feature is x, so the adjusted counts are one pass of
 *     adj[feat_back[f]]++ over the features of order 2 and up;
 *   - the n-grams that start with <s> are those whose context's oldest
 *     word (ctx_word) is <s>;
 *   - the successors of a context are contiguous, so Σ a(c ·), N_j(c) and
 *     γ(c) are one pass over each successor list;
 *   - contexts are numbered by length, so P(w | c⁻) (the back-off
 *     feature's) is known before P(w | c): interpolation is one pass in
 *     feature order, parallel over the contexts of one length.
 *
 * lmplz computes in single precision; this computes in double, so its
 * values agree with lmplz's to about 1e-7 and sum to one to about 1e-15.
 * tests/check_kn.c checks everything against tests/kn_reference.h, a slow
 * estimate written straight from the formulas.
 */
#include "nglm/kn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "arpa_write.h"

/* The features of order m (m-grams): [lo, hi). */
static void order_range(const nglm_features *F, int m, size_t *lo, size_t *hi)
{
    if (m == 1) {
        *lo = 0;
        *hi = (size_t)F->V;
        return;
    }
    *lo = F->ctx_first[F->ctx_order_start[m - 2]];
    *hi = F->ctx_first[F->ctx_order_start[m - 1]];
}

nglm_kn_options nglm_kn_options_default(void)
{
    nglm_kn_options o;
    memset(&o, 0, sizeof o);
    o.fallback_d[1] = 0.5;
    o.fallback_d[2] = 1.0;
    o.fallback_d[3] = 1.5;
    o.threads = 1;
    return o;
}

void nglm_kn_free(nglm_kn *kn)
{
    free(kn->lnp);
    free(kn->lnbo);
    free(kn->adj);
    memset(kn, 0, sizeof *kn);
}

/* D(a) for an adjusted count a. */
static inline double discount(const double *D, uint32_t a)
{
    return D[a < 3 ? a : 3];
}

/* ------------------------------------------------------------ checks */

static int check_input(const nglm_features *F, const nglm_kn_options *opt, nglm_error *err)
{
    if (F->order < 1 || F->order > NGLM_MAX_ORDER)
        return nglm_error_set(err, "Kneser-Ney: order %d is out of range (1..%d)", F->order,
                              NGLM_MAX_ORDER);
    if (F->n_skip > 0 || F->n_feat != F->n_ngram_feat)
        return nglm_error_set(err, "Kneser-Ney: the feature index has skip-gram features");
    for (int m = 2; m <= F->order; m++)
        if (F->cutoff[m] != 1)
            return nglm_error_set(err, "Kneser-Ney needs every n-gram of the text: the index "
                                       "was built with a %d-gram cutoff of %u, not 1",
                                  m, F->cutoff[m]);
    if (opt->prune[1] != 0)
        return nglm_error_set(err, "Kneser-Ney: 1-grams cannot be pruned (a threshold of %llu "
                                   "was given; use a vocabulary limit instead)",
                              (unsigned long long)opt->prune[1]);
    for (int m = 3; m <= F->order; m++)
        if (opt->prune[m] < opt->prune[m - 1])
            return nglm_error_set(err, "Kneser-Ney: pruning thresholds must not decrease with "
                                       "the order (%d-grams %llu, %d-grams %llu)",
                                  m - 1, (unsigned long long)opt->prune[m - 1], m,
                                  (unsigned long long)opt->prune[m]);
    if (opt->fallback)
        for (int j = 1; j <= 3; j++)
            if (!(opt->fallback_d[j] >= 0 && opt->fallback_d[j] <= j))
                return nglm_error_set(err, "Kneser-Ney: fallback discount D%d%s = %g is not in "
                                           "[0, %d]", j, j == 3 ? "+" : "",
                                      opt->fallback_d[j], j);
    for (int m = 2; m <= F->order; m++) {
        size_t lo, hi;
        order_range(F, m, &lo, &hi);
        if (hi == lo)
            return nglm_error_set(err, "Kneser-Ney: the text has no %d-grams (no sentence is "
                                       "long enough): order %d is above what it supports "
                                       "(use an order of at most %d)", m, F->order, m - 1);
    }
    return 0;
}

/* ------------------------------------------------------------ adjusted counts */

/* adj: the raw count for the highest order and for n-grams that start with
 * <s>; otherwise the number of distinct left extensions. */
static void adjusted_counts(nglm_kn *kn, const nglm_features *F)
{
    const int N = F->order;
    uint32_t *adj = kn->adj;
    size_t top_lo, top_hi;
    order_range(F, N, &top_lo, &top_hi);
    memset(adj, 0, top_lo * sizeof *adj);
    for (size_t f = top_lo; f < top_hi; f++)
        adj[f] = F->feat_count[f];
    for (size_t f = (size_t)F->V; f < top_hi; f++) /* orders 2..N (none when N = 1) */
        adj[F->feat_back[f]]++;
    /* (m < N)-grams starting with <s> keep their raw counts */
    size_t bos_hi = N >= 2 ? F->ctx_order_start[N - 2] : 0;
    for (size_t c = 0; c < bos_hi; c++)
        if (F->ctx_word[c] == NGLM_BOS)
            for (uint32_t f = F->ctx_first[c]; f < F->ctx_first[c + 1]; f++)
                adj[f] = F->feat_count[f];
}

/* ------------------------------------------------------------ discounts */

/* lmplz's last m-grams (nglm/kn.h, "lmplz's statistics"): last[m] is the
 * feature of the m-gram that lmplz adds with its raw count, or -1.  Its
 * sort order compares the newest word first, by lmplz's word numbers:
 * <unk> 0, <s> 1, </s> 2, then the words by first appearance in the text.
 * The last padded n-gram is found greedily from its newest word back; its
 * suffixes of orders below n are the ones lmplz still holds, up to the
 * one that starts with <s>. */
static void lmplz_last(const nglm_features *F, const nglm_corpus *text, int32_t *last)
{
    const int32_t V = F->V;
    for (int m = 0; m <= NGLM_MAX_ORDER; m++)
        last[m] = -1;
    uint32_t *rank = calloc((size_t)V, sizeof *rank); /* 0: not seen */
    if (!rank)
        return; /* the textbook statistics, then */
    uint32_t next = 3;
    for (size_t t = 0; t < text->n_tokens; t++) {
        int32_t w = text->ids[t];
        if (w >= NGLM_NUM_SPECIAL && w < V && rank[w] == 0)
            rank[w] = next++;
    }
    rank[NGLM_UNK] = 0;
    rank[NGLM_BOS] = 1;
    rank[NGLM_EOS] = 2;
    int32_t f = NGLM_EOS; /* the newest word: the highest number a token has */
    for (int32_t w = NGLM_NUM_SPECIAL; w < V; w++)
        if (rank[w] > rank[f])
            f = w;
    int bos = 0;
    for (int m = 1; m < F->order; m++) {
        last[m] = f;
        if (bos || m + 1 == F->order)
            break;
        /* the (m+1)-gram "v x" with the highest v among x's left extensions */
        int32_t best = -1, best_ctx = -1;
        for (size_t c = F->ctx_order_start[m - 1]; c < F->ctx_order_start[m]; c++) {
            if (best >= 0 && rank[F->ctx_word[c]] <= rank[F->ctx_word[best_ctx]])
                continue;
            for (uint32_t g = F->ctx_first[c]; g < F->ctx_first[c + 1]; g++)
                if (F->feat_back[g] == f) {
                    best = (int32_t)g;
                    best_ctx = (int32_t)c;
                    break;
                }
        }
        if (best < 0)
            break;
        f = best;
        bos = F->ctx_word[best_ctx] == NGLM_BOS;
    }
    free(rank);
}

/* n_adj and D of every order; the error names the order and the reason. */
static int discounts(nglm_kn *kn, const nglm_features *F, const nglm_kn_options *opt,
                     nglm_error *err)
{
    int32_t last[NGLM_MAX_ORDER + 1];
    if (opt->text)
        lmplz_last(F, opt->text, last);
    else
        for (int m = 0; m <= NGLM_MAX_ORDER; m++)
            last[m] = -1;
    for (int m = 1; m <= F->order; m++) {
        size_t lo, hi;
        order_range(F, m, &lo, &hi);
        uint64_t *n = kn->n_adj[m];
        memset(n, 0, 5 * sizeof *n);
        for (size_t f = lo; f < hi; f++)
            if (kn->adj[f] <= 4)
                n[kn->adj[f]]++;
        if (last[m] >= 0) { /* lmplz's raw count for its last m-gram */
            uint32_t a = kn->adj[last[m]], r = F->feat_count[last[m]];
            if (a <= 4)
                n[a]--;
            if (r <= 4)
                n[r]++;
        }
        double *D = kn->D[m];
        D[0] = 0;
        char why[256] = "";
        for (int j = 1; j <= 3 && !why[0]; j++)
            if (n[j] == 0)
                snprintf(why, sizeof why, "no %d-grams have adjusted count %d, so the discount "
                         "for count %d cannot be estimated", m, j, j);
        if (!why[0]) {
            double y = (double)n[1] / ((double)n[1] + 2.0 * (double)n[2]);
            for (int j = 1; j <= 3; j++) {
                D[j] = j - (j + 1) * y * (double)n[j + 1] / (double)n[j];
                if (!why[0] && (D[j] < 0 || D[j] > j))
                    snprintf(why, sizeof why, "the %d-gram discount D%d%s = %g is outside "
                             "[0, %d]", m, j, j == 3 ? "+" : "", D[j], j);
            }
        }
        kn->fallback_used[m] = 0;
        if (why[0]) {
            if (!opt->fallback)
                return nglm_error_set(err, "Kneser-Ney: %s; is the text very small or "
                                           "artificial? (a fallback to fixed discounts "
                                           "can stand in for such orders)", why);
            for (int j = 1; j <= 3; j++)
                D[j] = opt->fallback_d[j];
            kn->fallback_used[m] = 1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------ probabilities */

static inline int pruned(const nglm_features *F, const nglm_kn_options *opt, int m, size_t f)
{
    return m >= 2 && F->feat_count[f] <= opt->prune[m];
}

/* γ of one successor list [lo, hi) of m-grams: Σ_j D(j) N_j over the kept
 * successors plus the adjusted counts of the pruned ones, over Σ a; *sum
 * gets Σ a. */
static double gamma_of(const nglm_kn *kn, const nglm_features *F, const nglm_kn_options *opt,
                       int m, size_t lo, size_t hi, double *sum)
{
    const double *D = kn->D[m];
    double s = 0, g = 0;
    for (size_t f = lo; f < hi; f++) {
        uint32_t a = kn->adj[f];
        s += a;
        g += pruned(F, opt, m, f) ? (double)a : discount(D, a);
    }
    *sum = s;
    return s > 0 ? g / s : 1.0;
}

/* Fills lnp (holding probabilities until the final log pass) and lnbo. */
static void interpolate(nglm_kn *kn, const nglm_features *F, const nglm_kn_options *opt)
{
    const int T = opt->threads > 0 ? opt->threads : 1;
    const int32_t V = F->V;
    double *p = kn->lnp;

    /* 1-grams, interpolated with the uniform distribution over V − 1 words
     * (or, unk_unigram_mass, with all of γ on <unk>) */
    double sum, g0 = gamma_of(kn, F, opt, 1, 0, (size_t)V, &sum);
    double uniform = opt->unk_unigram_mass ? 0 : g0 / (double)(V - 1);
    for (int32_t w = 0; w < V; w++) {
        uint32_t a = kn->adj[w];
        p[w] = (sum > 0 ? (a - discount(kn->D[1], a)) / sum : 0) + uniform;
    }
    if (opt->unk_unigram_mass)
        p[NGLM_UNK] += g0;
    p[NGLM_BOS] = 1.0; /* lmplz's <s>: log10 0, never predicted */

    /* longer n-grams, one context length at a time */
    for (int k = 1; k < F->order; k++) {
        int m = k + 1;
        const double *D = kn->D[m];
        long c_lo = (long)F->ctx_order_start[k - 1], c_hi = (long)F->ctx_order_start[k];
#pragma omp parallel for schedule(dynamic, 1024) num_threads(T)
        for (long c = c_lo; c < c_hi; c++) {
            size_t lo = F->ctx_first[c], hi = F->ctx_first[c + 1];
            double s, g = gamma_of(kn, F, opt, m, lo, hi, &s);
            kn->lnbo[c] = log(g);
            for (size_t f = lo; f < hi; f++) {
                if (pruned(F, opt, m, f)) {
                    p[f] = NAN;
                    continue;
                }
                uint32_t a = kn->adj[f];
                p[f] = (a - discount(D, a)) / s + g * p[F->feat_back[f]];
            }
        }
    }

    /* to natural logs */
    long nf = (long)F->n_feat;
#pragma omp parallel for schedule(static) num_threads(T)
    for (long f = 0; f < nf; f++)
        p[f] = log(p[f]);
    p[NGLM_BOS] = 0;
}

int nglm_kn_estimate(nglm_kn *kn, const nglm_features *F, const nglm_kn_options *opt_in,
                     nglm_error *err)
{
    memset(kn, 0, sizeof *kn);
    nglm_kn_options opt = opt_in ? *opt_in : nglm_kn_options_default();
    if (check_input(F, &opt, err) != 0)
        return -1;
    kn->order = F->order;
    kn->V = F->V;
    kn->n_feat = F->n_feat;
    kn->n_ctx = F->n_ctx;
    kn->adj = malloc(F->n_feat * sizeof *kn->adj);
    kn->lnp = malloc(F->n_feat * sizeof *kn->lnp);
    kn->lnbo = malloc((F->n_ctx ? F->n_ctx : 1) * sizeof *kn->lnbo);
    if (!kn->adj || !kn->lnp || !kn->lnbo) {
        nglm_kn_free(kn);
        return nglm_error_set(err, "Kneser-Ney: out of memory for %zu n-grams", F->n_feat);
    }
    adjusted_counts(kn, F);
    if (discounts(kn, F, &opt, err) != 0) {
        nglm_kn_free(kn);
        return -1;
    }
    interpolate(kn, F, &opt);
    for (int m = 1; m <= F->order; m++) {
        size_t lo, hi;
        order_range(F, m, &lo, &hi);
        uint64_t n = 0;
        for (size_t f = lo; f < hi; f++)
            n += !pruned(F, &opt, m, f);
        kn->count[m] = n;
    }
    return 0;
}

/* ------------------------------------------------------------ queries */

/* The context node of words[0..k-1] (oldest first), or -1. */
static int32_t context_of(const nglm_features *F, const int32_t *words, int k)
{
    if (k < 1 || k >= F->order)
        return -1;
    int32_t node = -1;
    for (int j = k - 1; j >= 0; j--) {
        int32_t w = words[j];
        if (w < 0 || w >= F->V)
            return -1;
        node = j == k - 1 ? F->ctx1[w] : nglm_features_child(F, node, w);
        if (node < 0)
            return -1;
    }
    return node;
}

int32_t nglm_kn_find(const nglm_features *F, const int32_t *words, int k)
{
    if (k < 1 || k > F->order || words[k - 1] < 0 || words[k - 1] >= F->V)
        return -1;
    if (k == 1)
        return words[0];
    int32_t c = context_of(F, words, k - 1);
    return c < 0 ? -1 : nglm_features_find(F, c, words[k - 1]);
}

int nglm_kn_lookup(const nglm_kn *kn, const nglm_features *F, const int32_t *words, int k,
                   double *logp10, double *bow10)
{
    int32_t f = nglm_kn_find(F, words, k);
    if (f < 0 || isnan(kn->lnp[f]))
        return 0;
    int32_t x = context_of(F, words, k);
    *logp10 = kn->lnp[f] / M_LN10;
    *bow10 = x >= 0 ? kn->lnbo[x] / M_LN10 : 0;
    return 1;
}

double nglm_kn_lnprob(const nglm_kn *kn, const nglm_features *F, const int32_t *sent, size_t i)
{
    int32_t nodes[NGLM_MAX_ORDER];
    int depth = nglm_features_chain(F, sent, i, nodes);
    int32_t w = sent[i];
    double bo = 0;
    for (int j = depth; j >= 1; j--) {
        int32_t f = nglm_features_find(F, nodes[j - 1], w);
        if (f >= 0 && !isnan(kn->lnp[f]))
            return kn->lnp[f] + bo;
        bo += kn->lnbo[nodes[j - 1]];
    }
    return kn->lnp[w] + bo;
}

double nglm_kn_perplexity(const nglm_kn *kn, const nglm_features *F, const nglm_corpus *c)
{
    double sum = 0;
    for (size_t s = 0; s < c->n_sents; s++) {
        size_t len;
        const int32_t *sent = nglm_corpus_sentence(c, s, &len);
        for (size_t i = 0; i < len; i++)
            sum += nglm_kn_lnprob(kn, F, sent, i);
    }
    return exp(-sum / (double)c->n_tokens);
}

int nglm_kn_best_order(const nglm_features *F, const nglm_corpus *valid, int lo, int hi,
                       const nglm_kn_options *opt, double *ppl, nglm_kn *best,
                       nglm_error *err)
{
    if (lo < 1 || lo > hi || hi > F->order)
        return nglm_error_set(err, "Kneser-Ney: orders %d..%d are not within 1..%d", lo, hi,
                              F->order);
    int arg = -1;
    nglm_kn kept;
    memset(&kept, 0, sizeof kept);
    for (int k = lo; k <= hi; k++) {
        nglm_features view = nglm_features_ngram_view(F, k);
        nglm_kn kn;
        if (nglm_kn_estimate(&kn, &view, opt, err) != 0) {
            nglm_kn_free(&kept);
            return -1;
        }
        ppl[k] = nglm_kn_perplexity(&kn, &view, valid);
        if (arg < 0 || ppl[k] < ppl[arg]) {
            arg = k;
            nglm_kn_free(&kept);
            kept = kn;
        } else {
            nglm_kn_free(&kn);
        }
    }
    if (best)
        *best = kept;
    else
        nglm_kn_free(&kept);
    return arg;
}

/* ------------------------------------------------------------ output */

int nglm_kn_save_arpa(const nglm_kn *kn, const nglm_features *F, const nglm_vocab *v,
                      const nglm_tok_options *tok, const char *path, int threads,
                      nglm_error *err)
{
    int32_t *named = malloc(F->n_feat * sizeof *named);
    if (!named)
        return nglm_error_set(err, "out of memory writing %zu n-grams", F->n_feat);
    nglm_features_named_contexts(F, named, threads);
    nglm_arpa_table t = {F, v, kn->lnp, kn->lnbo, 1 / M_LN10, named, F->order, 8, threads, ""};
    nglm_arpa_tok_comment(tok, t.comment, sizeof t.comment);
    int rc = nglm_arpa_table_save(&t, path, err);
    free(named);
    return rc;
}

/* ------------------------------------------------------------ conversion */

/* θ of feature f of context c (doc/model.md §6). */
static inline double weight(const nglm_kn *kn, const nglm_features *F, size_t c, uint32_t f)
{
    return kn->lnp[f] - kn->lnp[F->feat_back[f]] - kn->lnbo[c];
}

/* Checks that every γ can be a weight and fills the unigram weights. */
static int start_weights(const nglm_kn *kn, const nglm_features *F, double *theta,
                         nglm_error *err)
{
    for (size_t c = 0; c < F->n_ctx; c++)
        if (!isfinite(kn->lnbo[c]))
            return nglm_error_set(err, "Kneser-Ney: a context has back-off weight 0 (a "
                                       "fallback discount of 0?), which no softmax weight "
                                       "can express");
    for (int32_t w = 0; w < F->V; w++)
        theta[w] = kn->lnp[w];
    theta[NGLM_BOS] = 0;
    return 0;
}

int nglm_kn_to_weights(const nglm_kn *kn, const nglm_features *F, double *theta,
                       nglm_error *err)
{
    if (start_weights(kn, F, theta, err) != 0)
        return -1;
    for (size_t c = 0; c < F->n_ctx; c++)
        for (uint32_t f = F->ctx_first[c]; f < F->ctx_first[c + 1]; f++)
            theta[f] = isnan(kn->lnp[f]) ? 0 : weight(kn, F, c, f);
    return 0;
}

int nglm_kn_weights_for(const nglm_kn *kn, const nglm_features *F, const nglm_features *G,
                        double *theta, nglm_error *err)
{
    if (G->V != F->V || G->order != F->order)
        return nglm_error_set(err, "Kneser-Ney: the index is not the estimate's");
    if (start_weights(kn, F, theta, err) != 0)
        return -1;
    /* G's contexts are F's with a listed successor, in the same order, so
     * its features are F's listed ones in order */
    size_t g = (size_t)G->V;
    for (size_t c = 0; c < F->n_ctx; c++)
        for (uint32_t f = F->ctx_first[c]; f < F->ctx_first[c + 1]; f++) {
            if (isnan(kn->lnp[f]))
                continue;
            if (g >= G->n_ngram_feat || G->feat_word[g] != F->feat_word[f] ||
                G->feat_count[g] != F->feat_count[f])
                return nglm_error_set(err, "Kneser-Ney: the index does not hold the "
                                           "estimate's n-grams (feature %zu)", g);
            theta[g++] = weight(kn, F, c, f);
        }
    if (g != G->n_ngram_feat)
        return nglm_error_set(err, "Kneser-Ney: the index has %zu n-gram features, the "
                                   "estimate %zu", G->n_ngram_feat, g);
    for (; g < G->n_feat; g++)
        theta[g] = 0; /* skip-grams */
    return 0;
}
