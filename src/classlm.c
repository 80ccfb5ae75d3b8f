/*
 * classlm.c — Model M (nglm/classlm.h, doc/model.md §8): the class file,
 * the three feature indexes, exact scoring (a corpus on threads, one token,
 * the dense reference) and the model file.
 *
 * Key decision: the words are renumbered internally so that each class's
 * words are contiguous ids.  A context's successor list, sorted by word, then
 * splits by class, so the word factor's normaliser within class k touches
 * only the successors in k (one binary search finds them), and the word
 * history → class index (wc) is read off the word index (ww) by mapping each
 * successor list to its classes, which come out sorted.
 */
#include "nglm/classlm.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "blocks.h"
#include "classlm_core.h"
#include "nglm/cluster.h"
#include "nglm/kn.h"
#include "fileio.h"

/* ---------------------------------------------------------------- class file */

int nglm_classlm_read_classes(const nglm_vocab *v, const char *path, int32_t *cls,
                              int32_t *C, size_t *unlisted, nglm_error *err)
{
    int32_t V = (int32_t)nglm_vocab_size(v);
    int n;
    if (nglm_classes_read(path, v, NGLM_CLASSES_AUTO,
                          NGLM_CLASSES_SKIP_UNKNOWN | NGLM_CLASSES_ALLOW_MISSING, cls, &n,
                          err) != 0)
        return -1;
    /* the file's classes that hold a word, in increasing order, → 1 .. nd;
     * the words it leaves out → nd + 1 */
    int32_t *map = calloc((size_t)n + 1, sizeof *map);
    if (!map)
        return nglm_error_set(err, "out of memory");
    size_t nu = 0;
    for (int32_t i = 1; i < V; i++)
        if (cls[i] >= 0)
            map[cls[i]] = 1;
        else
            nu++;
    int32_t nd = 0;
    for (int k = 0; k < n; k++)
        map[k] = map[k] ? ++nd : 0;
    cls[0] = 0;
    for (int32_t i = 1; i < V; i++)
        cls[i] = cls[i] >= 0 ? map[cls[i]] : nd + 1;
    free(map);
    *C = nd + (nu > 0);
    if (unlisted)
        *unlisted = nu;
    if (*C < 2)
        return nglm_error_set(err, "%s: %d class%s for the vocabulary's words; Model M needs "
                              "at least 2", path, *C, *C == 1 ? "" : "es");
    return 0;
}

/* ---------------------------------------------------------------- building */

/* The internal numbering: <s> first, then the words by (class, id). */
static int make_maps(nglm_classlm *m, const int32_t *cls, nglm_error *err)
{
    int32_t V = m->V, C = m->C;
    m->cls = malloc((size_t)V * sizeof *m->cls);
    m->in = malloc((size_t)V * sizeof *m->in);
    m->out = malloc((size_t)V * sizeof *m->out);
    m->icls = malloc((size_t)V * sizeof *m->icls);
    m->first = calloc((size_t)C + 2, sizeof *m->first);
    if (!m->cls || !m->in || !m->out || !m->icls || !m->first)
        return nglm_error_set(err, "out of memory");
    m->cls[0] = 0;
    for (int32_t i = 1; i < V; i++) {
        if (cls[i] < 1 || cls[i] > C)
            return nglm_error_set(err, "word %d has class %d, not 1 .. %d", i, cls[i], C);
        m->cls[i] = cls[i];
        m->first[cls[i] + 1]++;
    }
    m->first[0] = 0;
    m->first[1] = 1; /* class 0: <s> */
    for (int32_t k = 1; k <= C; k++) {
        if (m->first[k + 1] == 0)
            return nglm_error_set(err, "class %d has no word", k);
        m->first[k + 1] += m->first[k];
    }
    uint32_t *next = malloc(((size_t)C + 1) * sizeof *next);
    if (!next)
        return nglm_error_set(err, "out of memory");
    memcpy(next, m->first, ((size_t)C + 1) * sizeof *next);
    m->in[0] = m->out[0] = m->icls[0] = 0;
    for (int32_t i = 1; i < V; i++) {
        int32_t x = (int32_t)next[m->cls[i]]++;
        m->in[i] = x;
        m->out[x] = i;
        m->icls[x] = m->cls[i];
    }
    free(next);
    return 0;
}

/* wc: ww's contexts (the same ids), each listing the classes of its successors (sorted,
 * because the internal ids are sorted by class), with summed counts. */
static int derive_wc(nglm_classlm *m, nglm_error *err)
{
    const nglm_features *W = &m->ww;
    nglm_features *F = &m->wc;
    memset(F, 0, sizeof *F);
    F->order = W->order;
    F->V = m->C + 1;
    memcpy(F->cutoff, W->cutoff, sizeof F->cutoff);
    F->n_ctx = W->n_ctx;
    memcpy(F->ctx_order_start, W->ctx_order_start, sizeof F->ctx_order_start);
    size_t nc = W->n_ctx;
    F->ctx_parent = malloc((nc + 1) * sizeof *F->ctx_parent);
    F->ctx_word = malloc((nc + 1) * sizeof *F->ctx_word);
    F->ctx_first = malloc((nc + 1) * sizeof *F->ctx_first);
    size_t cap = (size_t)F->V;
    for (size_t x = 0; x < nc; x++) { /* an upper bound: one feature per successor */
        uint32_t a = W->ctx_first[x], b = W->ctx_first[x + 1];
        cap += b - a;
    }
    F->feat_word = malloc(cap * sizeof *F->feat_word);
    F->feat_back = malloc(cap * sizeof *F->feat_back);
    F->feat_count = malloc(cap * sizeof *F->feat_count);
    if (!F->ctx_parent || !F->ctx_word || !F->ctx_first || !F->feat_word || !F->feat_back ||
        !F->feat_count)
        return nglm_error_set(err, "out of memory");
    if (nc) {
        memcpy(F->ctx_parent, W->ctx_parent, nc * sizeof *F->ctx_parent);
        memcpy(F->ctx_word, W->ctx_word, nc * sizeof *F->ctx_word);
    }
    size_t f = 0;
    for (int32_t c = 0; c < F->V; c++) {
        F->feat_word[f] = c;
        F->feat_back[f] = -1;
        F->feat_count[f] = 0;
        f++;
    }
    for (int32_t a = 1; a < W->V; a++) { /* class counts from the word counts */
        int32_t c = m->icls[a];
        uint64_t s = (uint64_t)F->feat_count[c] + W->feat_count[a];
        F->feat_count[c] = s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
    }
    size_t len1_end = F->order > 1 ? F->ctx_order_start[1] : 0;
    for (size_t x = 0; x < nc; x++) {
        F->ctx_first[x] = (uint32_t)f;
        for (uint32_t a = W->ctx_first[x]; a < W->ctx_first[x + 1]; a++) {
            int32_t c = m->icls[W->feat_word[a]];
            if (f > F->ctx_first[x] && F->feat_word[f - 1] == c) {
                uint64_t s = (uint64_t)F->feat_count[f - 1] + W->feat_count[a];
                F->feat_count[f - 1] = s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
                continue;
            }
            F->feat_word[f] = c;
            F->feat_count[f] = W->feat_count[a];
            if (x < len1_end) {
                F->feat_back[f] = c;
            } else {
                int32_t p = F->ctx_parent[x];
                uint32_t lo = F->ctx_first[p], hi = F->ctx_first[p + 1];
                uint32_t b = nglm_cl_lower(F, lo, hi, c);
                if (b >= hi || F->feat_word[b] != c)
                    return nglm_error_set(err, "word index is not closed under suffixes");
                F->feat_back[f] = (int32_t)b;
            }
            f++;
        }
    }
    F->ctx_first[nc] = (uint32_t)f;
    F->n_feat = F->n_ngram_feat = f;
    /* no lookup tables: wc's contexts are found through ww's (their words
     * are words, its successors classes, which nglm_features_index does
     * not allow for); it is consistent by construction from a checked ww */
    return 0;
}

/* The training text in internal word ids (wcorp) and in classes (ccorp),
 * for the indexes; free their ids. */
static int texts(const nglm_classlm *m, const nglm_corpus *train, nglm_corpus *wcorp,
                 nglm_corpus *ccorp, nglm_error *err)
{
    *wcorp = *ccorp = *train;
    wcorp->ids = ccorp->ids = NULL;
    wcorp->ids = malloc((train->n_tokens + 1) * sizeof *wcorp->ids);
    ccorp->ids = malloc((train->n_tokens + 1) * sizeof *ccorp->ids);
    if (!wcorp->ids || !ccorp->ids)
        return nglm_error_set(err, "out of memory");
    for (size_t t = 0; t < train->n_tokens; t++) {
        int32_t v = train->ids[t];
        if (v < 1 || v >= m->V)
            return nglm_error_set(err, "training token %zu has id %d", t, v);
        wcorp->ids[t] = m->in[v];
        ccorp->ids[t] = m->cls[v];
    }
    return 0;
}

static void set_offsets(nglm_classlm *m)
{
    m->off_cc = 0;
    m->off_wc = m->cc.n_feat;
    m->off_ww = m->off_wc + m->wc.n_feat;
    m->n_weights = m->off_ww + m->ww.n_feat;
}

int nglm_classlm_build(nglm_classlm *m, nglm_vocab *vocab, const nglm_tok_options *tok,
                       const int32_t *cls, int32_t C, const nglm_corpus *train, int order,
                       const uint32_t *cutoff, int threads, nglm_error *err)
{
    memset(m, 0, sizeof *m);
    if (order < 1 || order > NGLM_MAX_ORDER)
        return nglm_error_set(err, "order must be 1 .. %d", NGLM_MAX_ORDER);
    int32_t V = (int32_t)nglm_vocab_size(vocab);
    if (C < 1 || C >= V)
        return nglm_error_set(err, "%d classes for %d words", C, V - 1);
    m->V = V;
    m->C = C;
    m->order = order;
    m->tok = *tok;
    m->tok.keep_blank = 0;
    nglm_corpus wcorp = {0}, ccorp = {0};
    int rc = -1;
    if (make_maps(m, cls, err) != 0 || texts(m, train, &wcorp, &ccorp, err) != 0)
        goto out;
    if (nglm_features_build(&m->ww, &wcorp, V, order, cutoff, threads, err) != 0 ||
        nglm_features_build(&m->cc, &ccorp, C + 1, order, cutoff, threads, err) != 0 ||
        derive_wc(m, err) != 0)
        goto out;
    set_offsets(m);
    m->theta = calloc(m->n_weights, sizeof *m->theta);
    if (!m->theta) {
        nglm_error_set(err, "out of memory");
        goto out;
    }
    m->vocab = vocab;
    m->info.train_tokens = train->n_tokens;
    rc = 0;
out:
    free(wcorp.ids);
    free(ccorp.ids);
    if (rc != 0)
        nglm_classlm_free(m);
    return rc;
}

void nglm_classlm_init_unigrams(nglm_classlm *m)
{
    memset(m->theta, 0, m->n_weights * sizeof *m->theta);
    double n = 0;
    for (int32_t c = 1; c <= m->C; c++)
        n += m->cc.feat_count[c] + 1.0;
    for (int32_t c = 1; c <= m->C; c++) {
        double nc = 0;
        m->theta[m->off_cc + (size_t)c] = log((m->cc.feat_count[c] + 1.0) / n);
        for (uint32_t v = m->first[c]; v < m->first[c + 1]; v++)
            nc += m->ww.feat_count[v] + 1.0;
        for (uint32_t v = m->first[c]; v < m->first[c + 1]; v++)
            m->theta[m->off_ww + v] = log((m->ww.feat_count[v] + 1.0) / nc);
    }
}

/* Whether the cutoffs left n-grams out of F. */
static int cut(const nglm_features *F)
{
    for (int k = 2; k <= F->order; k++)
        if (F->cutoff[k] > 1)
            return 1;
    return 0;
}

int nglm_classlm_init_kn(nglm_classlm *m, const nglm_corpus *train, int threads,
                         nglm_error *err)
{
    /* the weights of each index from its own Kneser-Ney estimate; the
     * discounts fall back where they cannot be estimated, as they cannot
     * on a class text (its few hundred 1-grams are all seen many times).
     * Kneser-Ney needs every n-gram: an index with cutoffs gets its
     * weights from an estimate on an index of them all (as the word
     * model's start, nglm_kn_weights_for) */
    nglm_kn_options ko = nglm_kn_options_default();
    ko.fallback = 1;
    ko.threads = threads > 0 ? threads : 1;
    const nglm_features *F[2] = {&m->ww, &m->cc};
    double *theta[2] = {m->theta + m->off_ww, m->theta + m->off_cc};
    nglm_corpus text[2];
    memset(text, 0, sizeof text);
    memset(m->theta, 0, m->n_weights * sizeof *m->theta);
    int rc = -1;
    if ((cut(F[0]) || cut(F[1])) && texts(m, train, &text[0], &text[1], err) != 0)
        goto out;
    for (int i = 0; i < 2; i++) {
        nglm_features all;
        const nglm_features *E = F[i];
        for (int k = 2; k <= F[i]->order; k++) /* what the cutoffs leave out, as lmplz --prune */
            ko.prune[k] = F[i]->cutoff[k] - 1;
        if (cut(F[i])) {
            if (nglm_features_build(&all, &text[i], F[i]->V, F[i]->order, NULL, ko.threads,
                                    err) != 0)
                goto out;
            E = &all;
        }
        nglm_kn kn;
        int r = nglm_kn_estimate(&kn, E, &ko, err);
        if (r != 0) {
            nglm_error_prefix(err, i == 0 ? "word Kneser-Ney" : "class Kneser-Ney");
        } else {
            r = E == F[i] ? nglm_kn_to_weights(&kn, F[i], theta[i], err)
                          : nglm_kn_weights_for(&kn, E, F[i], theta[i], err);
            nglm_kn_free(&kn);
        }
        if (E != F[i])
            nglm_features_free(&all);
        if (r != 0)
            goto out;
    }
    rc = 0;
out:
    free(text[0].ids);
    free(text[1].ids);
    return rc;
}

void nglm_classlm_free(nglm_classlm *m)
{
    if (m->map) { /* the arrays in the mapping are not freed */
        nglm_features *F[3] = {&m->cc, &m->wc, &m->ww};
        for (int i = 0; i < 3; i++) {
            F[i]->ctx_parent = F[i]->ctx_word = F[i]->feat_word = F[i]->feat_back = NULL;
            F[i]->ctx_first = F[i]->feat_count = NULL;
        }
        m->theta = NULL;
        munmap(m->map, m->map_len);
    }
    if (m->blocks) {
        free(m->blocks->done);
        free(m->blocks->path);
        free(m->blocks);
    }
    if (m->vocab)
        nglm_vocab_free(m->vocab);
    nglm_features_free(&m->cc);
    nglm_features_free(&m->wc);
    nglm_features_free(&m->ww);
    free(m->cls);
    free(m->in);
    free(m->out);
    free(m->first);
    free(m->icls);
    free(m->theta);
    memset(m, 0, sizeof *m);
}

nglm_classlm *nglm_classlm_open(const char *path, nglm_error *err)
{
    nglm_classlm *m = malloc(sizeof *m);
    if (!m) {
        nglm_error_set(err, "out of memory");
        return NULL;
    }
    if (nglm_classlm_map(m, path, err) != 0) {
        free(m);
        return NULL;
    }
    return m;
}

void nglm_classlm_close(nglm_classlm *m)
{
    if (m) {
        nglm_classlm_free(m);
        free(m);
    }
}

size_t nglm_classlm_nonzero(const nglm_classlm *m)
{
    size_t n = 0;
    for (size_t f = 0; f < m->n_weights; f++)
        n += m->theta[f] != 0;
    return n;
}

size_t nglm_classlm_bytes(const nglm_classlm *m)
{
    return nglm_features_bytes(&m->cc) + nglm_features_bytes(&m->wc) +
           nglm_features_bytes(&m->ww) + m->n_weights * sizeof(double) +
           (size_t)m->V * 4 * sizeof(int32_t);
}

/* ---------------------------------------------------------------- exact scoring */

int nglm_cl_chain(const nglm_features *F, const int32_t *hist, int nh, int bos,
                  const int32_t *map, int32_t *nodes)
{
    int depth = 0;
    int32_t node = -1;
    for (int k = 1; k < F->order; k++) {
        int32_t w;
        if (k - 1 < nh)
            w = map ? map[hist[k - 1]] : hist[k - 1];
        else if (k - 1 == nh && bos)
            w = NGLM_BOS;
        else
            break;
        node = k == 1 ? F->ctx1[w] : nglm_features_child(F, node, w);
        if (node < 0)
            break;
        nodes[depth++] = node;
        if (k - 1 == nh)
            break;
    }
    return depth;
}

void nglm_cl_unigrams(const nglm_classlm *m, double *eu, double *U)
{
    const double *tw = m->theta + m->off_ww;
    nglm_blocks_ensure(m->blocks, tw, (size_t)m->V * sizeof *tw);
    eu[0] = 0;
    U[0] = 0;
    for (int32_t k = 1; k <= m->C; k++) {
        double s = 0;
        for (uint32_t v = m->first[k]; v < m->first[k + 1]; v++)
            s += eu[v] = exp(tw[v]);
        U[k] = s;
    }
}

uint32_t nglm_cl_max_class(const nglm_classlm *m)
{
    uint32_t mx = 1;
    for (int32_t k = 1; k <= m->C; k++)
        if (m->first[k + 1] - m->first[k] > mx)
            mx = m->first[k + 1] - m->first[k];
    return mx;
}

double nglm_cl_token(const nglm_classlm *m, const double *eu, const double *U,
                     const int32_t *ncc, int dcc, const int32_t *nww, int dww, int32_t w,
                     double *ec, double *ws, nglm_cl_tok *o)
{
    const int32_t C = m->C;
    const double *tc = m->theta + m->off_cc, *twc = m->theta + m->off_wc,
                 *tw = m->theta + m->off_ww;
    nglm_blocks *b = m->blocks; /* mapped: the weights' blocks verified on first use */
    /* class factor: s_c = β_c + the class- and word-history features of c */
    nglm_blocks_ensure(b, tc + 1, (size_t)C * sizeof *tc);
    memcpy(ec + 1, tc + 1, (size_t)C * sizeof *ec);
    for (int j = 0; j < dcc; j++) {
        const nglm_features *F = &m->cc;
        uint32_t lo = F->ctx_first[ncc[j]], hi = F->ctx_first[ncc[j] + 1];
        nglm_blocks_ensure(b, tc + lo, (size_t)(hi - lo) * sizeof *tc);
        for (uint32_t f = lo; f < hi; f++)
            ec[F->feat_word[f]] += tc[f];
    }
    for (int j = 0; j < dww; j++) {
        const nglm_features *F = &m->wc;
        uint32_t lo = F->ctx_first[nww[j]], hi = F->ctx_first[nww[j] + 1];
        nglm_blocks_ensure(b, twc + lo, (size_t)(hi - lo) * sizeof *twc);
        for (uint32_t f = lo; f < hi; f++)
            ec[F->feat_word[f]] += twc[f];
    }
    const int32_t k = m->icls[w];
    double sk = ec[k], mx = ec[1];
    for (int32_t c = 2; c <= C; c++)
        mx = ec[c] > mx ? ec[c] : mx;
    double Zc = 0;
    for (int32_t c = 1; c <= C; c++)
        Zc += ec[c] = exp(ec[c] - mx);
    /* word factor within k: Z = U_k + Σ_{v listed} eu_v (exp a_v − 1) */
    const nglm_features *F = &m->ww;
    const int32_t lo = (int32_t)m->first[k], hi = (int32_t)m->first[k + 1];
    double Zw = U[k], aw = 0;
    uint32_t a0 = 0, b0 = 0;
    nglm_blocks_ensure(b, tw + w, sizeof *tw);
    for (int j = 0; b && j < dww; j++) {
        uint32_t x = (uint32_t)nww[j], f0 = F->ctx_first[x], f1 = F->ctx_first[x + 1];
        nglm_blocks_ensure(b, tw + f0, (size_t)(f1 - f0) * sizeof *tw);
    }
    if (dww > 0) {
        uint32_t x = (uint32_t)nww[0];
        a0 = nglm_cl_lower(F, F->ctx_first[x], F->ctx_first[x + 1], lo);
        b0 = nglm_cl_lower(F, a0, F->ctx_first[x + 1], hi);
        for (uint32_t f = a0; f < b0; f++)
            ws[F->feat_word[f] - lo] = tw[f];
        for (int j = 1; j < dww; j++) {
            x = (uint32_t)nww[j];
            uint32_t a = nglm_cl_lower(F, F->ctx_first[x], F->ctx_first[x + 1], lo);
            for (uint32_t f = a; f < F->ctx_first[x + 1] && F->feat_word[f] < hi; f++)
                ws[F->feat_word[f] - lo] += tw[f];
        }
        for (uint32_t f = a0; f < b0; f++) {
            int32_t v = F->feat_word[f];
            Zw += eu[v] * expm1(ws[v - lo]);
            if (v == w)
                aw = ws[v - lo];
        }
    }
    if (o) {
        o->Zc = Zc;
        o->Zw = Zw;
        o->lo = a0;
        o->hi = b0;
    }
    return (sk - mx - log(Zc)) + (tw[w] + aw - log(Zw));
}

/* Slow reference: every class and every word of the class scored by lookups
 * along the chains of nglm_features_chain. */
void nglm_classlm_dist_dense(const nglm_classlm *m, const int32_t *sent, size_t i, double *p)
{
    const int32_t V = m->V, C = m->C;
    int32_t *iw = malloc((i + 1) * sizeof *iw), *ic = malloc((i + 1) * sizeof *ic);
    double *sc = malloc(((size_t)C + 1) * sizeof *sc), *sw = malloc((size_t)V * sizeof *sw);
    int32_t ncc[NGLM_MAX_ORDER], nww[NGLM_MAX_ORDER];
    if (!iw || !ic || !sc || !sw) {
        for (int32_t v = 0; v < V; v++)
            p[v] = NAN;
        goto out;
    }
    for (size_t j = 0; j < i; j++) {
        iw[j] = m->in[sent[j]];
        ic[j] = m->cls[sent[j]];
    }
    int dcc = nglm_features_chain(&m->cc, ic, i, ncc);
    int dww = nglm_features_chain(&m->ww, iw, i, nww);
    /* every class and word scored: all the weights read */
    nglm_blocks_ensure(m->blocks, m->theta, m->n_weights * sizeof *m->theta);
    const double *tc = m->theta + m->off_cc, *twc = m->theta + m->off_wc,
                 *tw = m->theta + m->off_ww;
    double mx = -INFINITY;
    for (int32_t c = 1; c <= C; c++) {
        double s = tc[c];
        for (int j = 0; j < dcc; j++) {
            int32_t f = nglm_features_find(&m->cc, ncc[j], c);
            s += f >= 0 ? tc[f] : 0;
        }
        for (int j = 0; j < dww; j++) {
            int32_t f = nglm_features_find(&m->wc, nww[j], c);
            s += f >= 0 ? twc[f] : 0;
        }
        sc[c] = s;
        mx = s > mx ? s : mx;
    }
    double zc = 0;
    for (int32_t c = 1; c <= C; c++)
        zc += exp(sc[c] - mx);
    for (int32_t v = 1; v < V; v++) {
        double s = tw[v];
        for (int j = 0; j < dww; j++) {
            int32_t f = nglm_features_find(&m->ww, nww[j], v);
            s += f >= 0 ? tw[f] : 0;
        }
        sw[v] = s;
    }
    p[0] = 0;
    for (int32_t k = 1; k <= C; k++) {
        double wm = -INFINITY, zw = 0;
        for (uint32_t v = m->first[k]; v < m->first[k + 1]; v++)
            wm = sw[v] > wm ? sw[v] : wm;
        for (uint32_t v = m->first[k]; v < m->first[k + 1]; v++)
            zw += exp(sw[v] - wm);
        double pc = exp(sc[k] - mx) / zc;
        for (uint32_t v = m->first[k]; v < m->first[k + 1]; v++)
            p[m->out[v]] = pc * exp(sw[v] - wm) / zw;
    }
out:
    free(iw);
    free(ic);
    free(sc);
    free(sw);
}

/* A text this short is scored on one thread. */
#define SCORE_ONE_THREAD 2048

int nglm_classlm_score_corpus(const nglm_classlm *m, const nglm_corpus *c, double *logp,
                              int threads, nglm_error *err)
{
    double *eu = malloc((size_t)m->V * sizeof *eu);
    double *U = malloc(((size_t)m->C + 1) * sizeof *U);
    if (!eu || !U) {
        free(eu);
        free(U);
        return nglm_error_set(err, "out of memory");
    }
    nglm_cl_unigrams(m, eu, U);
    if (threads <= 0) {
#ifdef _OPENMP
        threads = omp_get_max_threads();
#else
        threads = 1;
#endif
    }
    if (c->n_tokens < SCORE_ONE_THREAD)
        threads = 1;
    const uint32_t maxc = nglm_cl_max_class(m);
    const int n1 = m->order - 1;
    int failed = 0;
    for (size_t t = 0; t < c->n_tokens; t++)
        if (c->ids[t] < 1 || c->ids[t] >= m->V)
            failed = 1;
    if (failed) {
        free(eu);
        free(U);
        return nglm_error_set(err, "a token id is outside the vocabulary");
    }
#pragma omp parallel num_threads(threads)
    {
        double *ec = malloc(((size_t)m->C + 1) * sizeof *ec);
        double *ws = malloc((size_t)maxc * sizeof *ws);
        int32_t hist[NGLM_MAX_ORDER], ncc[NGLM_MAX_ORDER], nww[NGLM_MAX_ORDER];
        if (!ec || !ws) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic, 64)
        for (size_t s = 0; s < c->n_sents; s++) {
            if (!ec || !ws)
                continue;
            size_t len;
            const int32_t *sent = nglm_corpus_sentence(c, s, &len);
            for (size_t i = 0; i < len; i++) {
                int nh = (int)(i < (size_t)n1 ? i : (size_t)n1);
                for (int j = 0; j < nh; j++)
                    hist[j] = m->in[sent[i - 1 - j]];
                int bos = (size_t)nh == i;
                int dcc = nglm_cl_chain(&m->cc, hist, nh, bos, m->icls, ncc);
                int dww = nglm_cl_chain(&m->ww, hist, nh, bos, NULL, nww);
                logp[c->start[s] + i] = nglm_cl_token(m, eu, U, ncc, dcc, nww, dww,
                                                      m->in[sent[i]], ec, ws, NULL);
            }
        }
        free(ec);
        free(ws);
    }
    free(eu);
    free(U);
    if (failed)
        return nglm_error_set(err, "out of memory");
    return nglm_blocks_check(m->blocks, err); /* a damaged block read on the way */
}

int nglm_classlm_score_corpus10(const nglm_classlm *m, const nglm_corpus *c, double *lp10,
                                int threads, const nglm_progress *p, nglm_error *err)
{
    if (nglm_classlm_score_corpus(m, c, lp10, threads, err) != 0)
        return -1;
    for (size_t t = 0; t < c->n_tokens; t++)
        lp10[t] /= M_LN10;
    nglm_progress_report(p, c->n_tokens, c->n_tokens);
    return 0;
}

/* ---------------------------------------------------------------- one token */

int nglm_classlm_scorer_init(nglm_classlm_scorer *s, const nglm_classlm *m, nglm_error *err)
{
    memset(s, 0, sizeof *s);
    s->m = m;
    size_t V = (size_t)m->V, C = (size_t)m->C;
    /* cs: C + 1 class scores, then V eu, then C + 1 U */
    s->cs = malloc((2 * (C + 1) + V) * sizeof *s->cs);
    s->ws = malloc(nglm_cl_max_class(m) * sizeof *s->ws);
    s->hist = malloc(((size_t)m->order + 1) * sizeof *s->hist);
    if (!s->cs || !s->ws || !s->hist) {
        nglm_classlm_scorer_free(s);
        return nglm_error_set(err, "out of memory");
    }
    nglm_cl_unigrams(m, s->cs + C + 1, s->cs + C + 1 + V);
    return 0;
}

void nglm_classlm_scorer_free(nglm_classlm_scorer *s)
{
    free(s->cs);
    free(s->ws);
    free(s->hist);
    memset(s, 0, sizeof *s);
}

double nglm_classlm_scorer_logprob10(nglm_classlm_scorer *s, const int32_t *sent, size_t i)
{
    const nglm_classlm *m = s->m;
    size_t V = (size_t)m->V, C = (size_t)m->C;
    int nh = 0, bos = 1;
    while (nh < m->order - 1 && (size_t)nh < i) {
        int32_t v = sent[i - 1 - nh];
        if (v < 0) {
            bos = 0;
            break;
        }
        s->hist[nh++] = m->in[v < m->V ? v : NGLM_UNK];
    }
    if ((size_t)nh < i && bos && nh == m->order - 1)
        bos = 0; /* the history is full before the sentence start */
    int32_t ncc[NGLM_MAX_ORDER], nww[NGLM_MAX_ORDER];
    int dcc = nglm_cl_chain(&m->cc, s->hist, nh, bos, m->icls, ncc);
    int dww = nglm_cl_chain(&m->ww, s->hist, nh, bos, NULL, nww);
    int32_t w = sent[i] >= 1 && sent[i] < m->V ? sent[i] : NGLM_UNK;
    double lp = nglm_cl_token(m, s->cs + C + 1, s->cs + C + 1 + V, ncc, dcc, nww, dww,
                              m->in[w], s->cs, s->ws, NULL);
    if (m->blocks && __atomic_load_n(&m->blocks->bad, __ATOMIC_ACQUIRE) == 1)
        return NAN; /* a damaged block was read: nglm_classlm_check says which */
    return lp / M_LN10;
}

/* ---------------------------------------------------------------- model file
 *
 * Version 1 (still read; nglm_classlm_save_v1 writes it for the tests).
 * Native byte order, like the word model's file:
 *   "NGLMCLSM" u32 version u32 order u32 V u32 C
 *   u32 tok.mode u32 tok.lowercase u32 tok.replace_invalid u32 0
 *   f64 l1 l2 lr ada_init u32 epochs u32 batch u64 seed u64 train_tokens f64 valid_ppl
 *   V × (u32 length, bytes, u64 count)       the vocabulary in id order
 *   V × i32                                   classes
 *   for cc, then ww: u64 n_ctx, (order+1) × u64 ctx_order_start,
 *     n_ctx × i32 parent, n_ctx × i32 word, (n_ctx+1) × u32 first,
 *     u64 n_feat, n_feat × (i32 word, i32 back, u32 count)
 *   u64 n_weights, n_weights × f64
 *   u32 CRC-32 of everything before
 * wc is derived from ww on loading, as when building. */

#define CLM_MAGIC "NGLMCLSM"
#define CLM_VERSION 1u  /* the older format */
#define CLM_VERSION2 2u /* mapped in place, with block checksums */

static void wr_u32(nglm_io_writer *w, uint32_t x) { nglm_io_write(w, &x, sizeof x); }
static void wr_u64(nglm_io_writer *w, uint64_t x) { nglm_io_write(w, &x, sizeof x); }
static void wr_f64(nglm_io_writer *w, double x) { nglm_io_write(w, &x, sizeof x); }

static void wr_index(nglm_io_writer *w, const nglm_features *F)
{
    wr_u64(w, F->n_ctx);
    for (int k = 0; k <= F->order; k++)
        wr_u64(w, F->ctx_order_start[k]);
    nglm_io_write(w, F->ctx_parent, F->n_ctx * sizeof *F->ctx_parent);
    nglm_io_write(w, F->ctx_word, F->n_ctx * sizeof *F->ctx_word);
    nglm_io_write(w, F->ctx_first, (F->n_ctx + 1) * sizeof *F->ctx_first);
    wr_u64(w, F->n_feat);
    nglm_io_write(w, F->feat_word, F->n_feat * sizeof *F->feat_word);
    nglm_io_write(w, F->feat_back, F->n_feat * sizeof *F->feat_back);
    nglm_io_write(w, F->feat_count, F->n_feat * sizeof *F->feat_count);
}

int nglm_classlm_save_v1(const nglm_classlm *m, const char *path, nglm_error *err)
{
    nglm_atomic a;
    if (nglm_atomic_open(&a, path, err) != 0)
        return -1;
    nglm_io_writer w;
    nglm_io_writer_init(&w, a.fp);
    nglm_io_write(&w, CLM_MAGIC, 8);
    wr_u32(&w, CLM_VERSION);
    wr_u32(&w, (uint32_t)m->order);
    wr_u32(&w, (uint32_t)m->V);
    wr_u32(&w, (uint32_t)m->C);
    wr_u32(&w, (uint32_t)m->tok.mode);
    wr_u32(&w, (uint32_t)m->tok.lowercase);
    wr_u32(&w, (uint32_t)m->tok.replace_invalid);
    wr_u32(&w, 0);
    const nglm_classlm_info *in = &m->info;
    wr_f64(&w, in->l1);
    wr_f64(&w, in->l2);
    wr_f64(&w, in->lr);
    wr_f64(&w, in->ada_init);
    wr_u32(&w, in->epochs);
    wr_u32(&w, in->batch);
    wr_u64(&w, in->seed);
    wr_u64(&w, in->train_tokens);
    wr_f64(&w, in->valid_ppl);
    for (int32_t v = 0; v < m->V; v++) {
        const char *s = nglm_vocab_word(m->vocab, v);
        uint32_t len = (uint32_t)strlen(s);
        wr_u32(&w, len);
        nglm_io_write(&w, s, len);
        wr_u64(&w, nglm_vocab_count(m->vocab, v));
    }
    nglm_io_write(&w, m->cls, (size_t)m->V * sizeof *m->cls);
    wr_index(&w, &m->cc);
    wr_index(&w, &m->ww);
    wr_u64(&w, m->n_weights);
    nglm_io_write(&w, m->theta, m->n_weights * sizeof *m->theta);
    uint32_t crc = w.crc;
    wr_u32(&w, crc);
    if (w.errnum)
        return nglm_atomic_fail(&a, w.errnum, err);
    return nglm_atomic_commit(&a, err);
}

/* A bounds-checked cursor over the file's bytes. */
typedef struct rd { const unsigned char *p; size_t left; } rd;

static int rd_bytes(rd *r, void *out, size_t n)
{
    if (n > r->left)
        return -1;
    memcpy(out, r->p, n);
    r->p += n;
    r->left -= n;
    return 0;
}

/* n elements of elt bytes, copied into a new array (one more element kept
 * zeroed, so n = 0 still gives a pointer). */
static void *rd_array(rd *r, uint64_t n, size_t elt)
{
    if (n > r->left / elt)
        return NULL;
    void *a = calloc((size_t)n + 1, elt);
    if (a)
        rd_bytes(r, a, (size_t)n * elt);
    return a;
}

static int rd_index(rd *r, nglm_features *F, int order, int32_t V, nglm_error *err)
{
    uint64_t nc, nf;
    memset(F, 0, sizeof *F);
    F->order = order;
    F->V = V;
    for (int k = 2; k <= order; k++)
        F->cutoff[k] = 1;
    if (rd_bytes(r, &nc, 8) != 0 || nc >= UINT32_MAX)
        return nglm_error_set(err, "bad index size");
    F->n_ctx = (size_t)nc;
    for (int k = 0; k <= order; k++) {
        uint64_t x;
        if (rd_bytes(r, &x, 8) != 0 || x > nc)
            return nglm_error_set(err, "bad context table");
        F->ctx_order_start[k] = (size_t)x;
    }
    F->ctx_parent = rd_array(r, nc, sizeof *F->ctx_parent);
    F->ctx_word = rd_array(r, nc, sizeof *F->ctx_word);
    F->ctx_first = rd_array(r, nc + 1, sizeof *F->ctx_first);
    if (!F->ctx_parent || !F->ctx_word || !F->ctx_first || rd_bytes(r, &nf, 8) != 0 ||
        nf >= UINT32_MAX || nf < (uint64_t)V)
        return nglm_error_set(err, "bad index arrays");
    F->n_feat = F->n_ngram_feat = (size_t)nf;
    F->feat_word = rd_array(r, nf, sizeof *F->feat_word);
    F->feat_back = rd_array(r, nf, sizeof *F->feat_back);
    F->feat_count = rd_array(r, nf, sizeof *F->feat_count);
    if (!F->feat_word || !F->feat_back || !F->feat_count)
        return nglm_error_set(err, "bad index arrays");
    return nglm_features_index(F, err);
}

static int parse(nglm_classlm *m, rd *r, nglm_error *err)
{
    uint32_t hdr[8];
    if (rd_bytes(r, hdr, sizeof hdr) != 0)
        return nglm_error_set(err, "truncated header");
    if (hdr[0] != CLM_VERSION)
        return nglm_error_set(err, "version %u, this build reads %u", hdr[0], CLM_VERSION);
    m->order = (int)hdr[1];
    m->V = (int32_t)hdr[2];
    m->C = (int32_t)hdr[3];
    if (hdr[1] < 1 || hdr[1] > NGLM_MAX_ORDER || hdr[2] < NGLM_NUM_SPECIAL + 1 ||
        hdr[2] > INT32_MAX / 2 || hdr[3] < 1 || hdr[3] >= hdr[2])
        return nglm_error_set(err, "bad order, vocabulary or class count");
    if (hdr[4] > NGLM_TOK_CHAR || hdr[5] > 1 || hdr[6] > 1 || hdr[7] != 0)
        return nglm_error_set(err, "bad tokenizer settings");
    m->tok = nglm_tok_options_default();
    m->tok.mode = (nglm_tok_mode)hdr[4];
    m->tok.lowercase = (int)hdr[5];
    m->tok.replace_invalid = (int)hdr[6];
    nglm_classlm_info *in = &m->info;
    if (rd_bytes(r, &in->l1, 8) || rd_bytes(r, &in->l2, 8) || rd_bytes(r, &in->lr, 8) ||
        rd_bytes(r, &in->ada_init, 8) || rd_bytes(r, &in->epochs, 4) ||
        rd_bytes(r, &in->batch, 4) || rd_bytes(r, &in->seed, 8) ||
        rd_bytes(r, &in->train_tokens, 8) || rd_bytes(r, &in->valid_ppl, 8))
        return nglm_error_set(err, "truncated header");
    size_t V = (size_t)m->V;
    char **words = calloc(V, sizeof *words);
    uint64_t *counts = calloc(V, sizeof *counts);
    int rc = 0;
    if (!words || !counts)
        rc = nglm_error_set(err, "out of memory");
    for (size_t v = 0; rc == 0 && v < V; v++) {
        uint32_t len;
        if (rd_bytes(r, &len, 4) != 0 || len > r->left || !(words[v] = malloc(len + 1)) ||
            rd_bytes(r, words[v], len) != 0 || rd_bytes(r, &counts[v], 8) != 0) {
            rc = nglm_error_set(err, "bad vocabulary");
            break;
        }
        words[v][len] = 0;
        if (strlen(words[v]) != len)
            rc = nglm_error_set(err, "bad vocabulary");
    }
    if (rc == 0 && !(m->vocab = nglm_vocab_from_list((const char *const *)words, counts, V,
                                                     err)))
        rc = -1;
    for (size_t v = 0; words && v < V; v++)
        free(words[v]);
    free(words);
    free(counts);
    if (rc != 0)
        return -1;
    int32_t *cls = rd_array(r, V, sizeof *cls);
    if (!cls)
        return nglm_error_set(err, "bad class table");
    rc = make_maps(m, cls, err);
    free(cls);
    if (rc != 0)
        return -1;
    if (rd_index(r, &m->cc, m->order, m->C + 1, err) != 0 ||
        rd_index(r, &m->ww, m->order, m->V, err) != 0 || derive_wc(m, err) != 0)
        return -1;
    set_offsets(m);
    uint64_t nw;
    if (rd_bytes(r, &nw, 8) != 0 || nw != m->n_weights)
        return nglm_error_set(err, "weight count does not match the indexes");
    if (!(m->theta = rd_array(r, nw, sizeof *m->theta)))
        return nglm_error_set(err, "truncated weights");
    for (size_t f = 0; f < m->n_weights; f++)
        if (!isfinite(m->theta[f]))
            return nglm_error_set(err, "weight %zu is not finite", f);
    if (r->left != 0)
        return nglm_error_set(err, "%zu bytes after the weights", r->left);
    return 0;
}

/* Version 1 from the file's bytes: the CRC checked, every array copied. */
static int parse_v1(nglm_classlm *m, const unsigned char *buf, size_t size, nglm_error *err)
{
    uint32_t crc;
    memcpy(&crc, buf + size - 4, 4);
    if (nglm_io_crc(0, buf, size - 4) != crc)
        return nglm_error_set(err, "checksum mismatch (truncated or damaged)");
    rd r = {buf + 8, size - 12};
    return parse(m, &r, err);
}

/* ---------------------------------------------------------------- version 2
 *
 * Laid out to be used in place from a read-only mapping (doc/model-format.md,
 * "Model M files"), native byte order:
 *   0   "NGLMCLSM" u32 version (2) u32 order u32 V u32 C
 *   24  u32 tok.mode u32 tok.lowercase u32 0 u32 tok.replace_invalid
 *   40  u64 file size, u64 offset of the block table
 *   56  f64 l1 l2 lr ada_init u32 epochs u32 batch u64 seed u64 train_tokens
 *       f64 valid_ppl u64 0                                  (to byte 128)
 *   V × (u32 length, bytes, u64 count)       the vocabulary in id order
 *   V × i32                                   classes
 *   for cc, then ww: u64 n_ctx, u64 n_feat, (order+1) × u64 ctx_order_start,
 *     then the arrays parent, word (n_ctx × i32), first ((n_ctx+1) × u32),
 *     feat word, back (n_feat × i32), count (n_feat × u32)
 *   wc: u64 n_feat, first ((ww's n_ctx+1) × u32), feat word, back, count
 *     (its contexts are ww's: parent and word are not stored again)
 *   u64 n_weights, n_weights × f64
 *   the block table, at the offset the header gives: u32 16 (the block
 *     shift), u32 CRC-32C of the checksums, u64 covered bytes (the table's
 *     offset), u64 blocks, blocks × u32 CRC-32C of each 64 KiB block
 *   u32 CRC-32 (zlib) of everything before
 * Every array, and the table, starts at a multiple of 8, zero bytes padding
 * the gaps.  Bytes 32..35 are zero: the word model's files keep their CRC
 * there, and nglm_blocks_crc leaves those bytes out of block 0's sum. */

#define CLM_HEAD 128
#define CLM_TABLE_HEAD 24

typedef struct cl_wr {
    nglm_io_writer io;
    nglm_blocks_sum sum;
} cl_wr;

static void w2(cl_wr *w, const void *p, size_t n)
{
    nglm_blocks_sum_add(&w->sum, p, n);
    nglm_io_write(&w->io, p, n);
}
static void w2_u32(cl_wr *w, uint32_t x) { w2(w, &x, sizeof x); }
static void w2_u64(cl_wr *w, uint64_t x) { w2(w, &x, sizeof x); }
static void w2_f64(cl_wr *w, double x) { w2(w, &x, sizeof x); }
static void w2_pad(cl_wr *w)
{
    static const unsigned char zero[8];
    if (w->io.pos % 8)
        w2(w, zero, 8 - (size_t)(w->io.pos % 8));
}
/* An array, 8-byte aligned. */
static void w2_arr(cl_wr *w, const void *p, size_t n)
{
    w2_pad(w);
    w2(w, p, n);
}

static void w2_index(cl_wr *w, const nglm_features *F)
{
    w2_u64(w, F->n_ctx);
    w2_u64(w, F->n_feat);
    for (int k = 0; k <= F->order; k++)
        w2_u64(w, F->ctx_order_start[k]);
    w2_arr(w, F->ctx_parent, F->n_ctx * sizeof *F->ctx_parent);
    w2_arr(w, F->ctx_word, F->n_ctx * sizeof *F->ctx_word);
    w2_arr(w, F->ctx_first, (F->n_ctx + 1) * sizeof *F->ctx_first);
    w2_arr(w, F->feat_word, F->n_feat * sizeof *F->feat_word);
    w2_arr(w, F->feat_back, F->n_feat * sizeof *F->feat_back);
    w2_arr(w, F->feat_count, F->n_feat * sizeof *F->feat_count);
    w2_pad(w);
}

/* Everything before the block table; table_at and file_size go in the
 * header (0 in the pass that measures them). */
static void w2_body(cl_wr *w, const nglm_classlm *m, uint64_t table_at, uint64_t file_size)
{
    w2(w, CLM_MAGIC, 8);
    w2_u32(w, CLM_VERSION2);
    w2_u32(w, (uint32_t)m->order);
    w2_u32(w, (uint32_t)m->V);
    w2_u32(w, (uint32_t)m->C);
    w2_u32(w, (uint32_t)m->tok.mode);
    w2_u32(w, (uint32_t)m->tok.lowercase);
    w2_u32(w, 0);
    w2_u32(w, (uint32_t)m->tok.replace_invalid);
    w2_u64(w, file_size);
    w2_u64(w, table_at);
    const nglm_classlm_info *in = &m->info;
    w2_f64(w, in->l1);
    w2_f64(w, in->l2);
    w2_f64(w, in->lr);
    w2_f64(w, in->ada_init);
    w2_u32(w, in->epochs);
    w2_u32(w, in->batch);
    w2_u64(w, in->seed);
    w2_u64(w, in->train_tokens);
    w2_f64(w, in->valid_ppl);
    w2_u64(w, 0);
    for (int32_t v = 0; v < m->V; v++) {
        const char *s = nglm_vocab_word(m->vocab, v);
        uint32_t len = (uint32_t)strlen(s);
        w2_u32(w, len);
        w2(w, s, len);
        w2_u64(w, nglm_vocab_count(m->vocab, v));
    }
    w2_arr(w, m->cls, (size_t)m->V * sizeof *m->cls);
    w2_pad(w);
    w2_index(w, &m->cc);
    w2_index(w, &m->ww);
    const nglm_features *F = &m->wc;
    w2_u64(w, F->n_feat);
    w2_arr(w, F->ctx_first, (F->n_ctx + 1) * sizeof *F->ctx_first);
    w2_arr(w, F->feat_word, F->n_feat * sizeof *F->feat_word);
    w2_arr(w, F->feat_back, F->n_feat * sizeof *F->feat_back);
    w2_arr(w, F->feat_count, F->n_feat * sizeof *F->feat_count);
    w2_pad(w);
    w2_u64(w, m->n_weights);
    w2(w, m->theta, m->n_weights * sizeof *m->theta);
    w2_pad(w);
}

int nglm_classlm_save(const nglm_classlm *m, const char *path, nglm_error *err)
{
    if (m->blocks) { /* a mapped model: not re-signed unless all of it is intact */
        nglm_blocks_ensure(m->blocks, m->blocks->base, m->blocks->cover);
        if (nglm_blocks_check(m->blocks, err) != 0)
            return -1;
    }
    /* a first pass measures, the second writes, summing the blocks as it goes */
    cl_wr w;
    memset(&w, 0, sizeof w);
    nglm_io_writer_init(&w.io, NULL);
    w.sum.oom = 1; /* not summed */
    w2_body(&w, m, 0, 0);
    uint64_t table_at = w.io.pos;
    uint64_t n_blk = (table_at + NGLM_BLOCK_SIZE - 1) >> NGLM_BLOCK_SHIFT;
    uint64_t file_size = table_at + CLM_TABLE_HEAD + 4 * n_blk + 4;
    nglm_atomic a;
    if (nglm_atomic_open(&a, path, err) != 0)
        return -1;
    memset(&w, 0, sizeof w);
    nglm_io_writer_init(&w.io, a.fp);
    w2_body(&w, m, table_at, file_size);
    uint32_t *table = nglm_blocks_sum_end(&w.sum);
    if (!table)
        return nglm_atomic_fail(&a, ENOMEM, err);
    if (w.sum.n != n_blk || w.io.pos != table_at) { /* a bug */
        free(table);
        return nglm_atomic_fail(&a, EIO, err);
    }
    wr_u32(&w.io, NGLM_BLOCK_SHIFT);
    wr_u32(&w.io, nglm_crc32c(0, table, (size_t)n_blk * 4));
    wr_u64(&w.io, table_at);
    wr_u64(&w.io, n_blk);
    nglm_io_write(&w.io, table, (size_t)n_blk * 4);
    free(table);
    uint32_t crc = w.io.crc;
    wr_u32(&w.io, crc);
    if (!w.io.errnum && w.io.pos != file_size)
        w.io.errnum = EIO; /* a bug */
    if (w.io.errnum)
        return nglm_atomic_fail(&a, w.io.errnum, err);
    return nglm_atomic_commit(&a, err);
}

/* Where the arrays come from: copies (a loaded model) or in place (mapped). */
typedef struct cl_src {
    const unsigned char *base;
    size_t size;
    int in_place;
    nglm_blocks *blocks; /* mapped: verified as the parser reads */
} cl_src;

typedef struct rd2 { const cl_src *src; size_t at, end; } rd2;

static int r2_bytes(rd2 *r, void *out, size_t n)
{
    if (n > r->end - r->at)
        return -1;
    nglm_blocks_ensure(r->src->blocks, r->src->base + r->at, n);
    memcpy(out, r->src->base + r->at, n);
    r->at += n;
    return 0;
}

static int r2_pad(rd2 *r)
{
    size_t to = (r->at + 7) & ~(size_t)7;
    if (to > r->end)
        return -1;
    r->at = to;
    return 0;
}

/* n elements of elt bytes at the next multiple of 8: in place, or a copy
 * (one more element, zeroed).  NULL when they do not fit. */
static void *r2_array(rd2 *r, uint64_t n, size_t elt)
{
    if (r2_pad(r) != 0 || n > (r->end - r->at) / elt)
        return NULL;
    const unsigned char *p = r->src->base + r->at;
    r->at += (size_t)n * elt;
    if (r->src->in_place)
        return (void *)p; /* read-only: nothing writes a mapped model's arrays */
    void *a = calloc((size_t)n + 1, elt);
    if (a && n)
        memcpy(a, p, (size_t)n * elt);
    return a;
}

/* Drops a checked stretch of the mapping from the process's pages (they
 * stay in the page cache and map again when read): the load's checks then
 * add no more than a chunk to its peak memory.  Harmless for a read-only
 * private mapping. */
static void release(const void *p, size_t n)
{
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = (uintptr_t)p & ~(page - 1), hi = (uintptr_t)p + n;
    if (hi > lo)
        madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

#define WALK_CHUNK ((size_t)1 << 18) /* contexts a chunk */

/* What the scorer's walk of an index needs to stay inside its arrays and
 * find what it looks for, checked over the whole arrays chunk by chunk,
 * each chunk's blocks verified before it is read and its pages released
 * after: the successor ranges start after the unigrams, never decrease and
 * end at n_feat; the unigram features are 0 .. V-1; every other feature's
 * word is 1 .. V-1, increasing within its context. */
static int check_walk(const nglm_features *F, nglm_blocks *b, nglm_error *err)
{
    const uint32_t *off = F->ctx_first;
    const int32_t *fw = F->feat_word;
    size_t V = (size_t)F->V, nc = F->n_ctx;
    nglm_blocks_ensure(b, off, sizeof *off);
    nglm_blocks_ensure(b, off + nc, sizeof *off);
    nglm_blocks_ensure(b, fw, V * sizeof *fw);
    if (nglm_blocks_check(b, err) != 0)
        return -1;
    if (off[0] != V || off[nc] != F->n_feat)
        return nglm_error_set(err, "inconsistent successor offsets");
    for (size_t w = 0; w < V; w++)
        if (fw[w] != (int32_t)w)
            return nglm_error_set(err, "unigram feature %zu is bad", w);
    for (size_t x0 = 0; x0 < nc; x0 += WALK_CHUNK) {
        size_t x1 = nc - x0 < WALK_CHUNK ? nc : x0 + WALK_CHUNK;
        nglm_blocks_ensure(b, off + x0, (x1 - x0 + 1) * sizeof *off);
        if (nglm_blocks_check(b, err) != 0)
            return -1;
        for (size_t x = x0; x < x1; x++)
            if (off[x + 1] < off[x] || off[x + 1] > F->n_feat)
                return nglm_error_set(err, "successors of context %zu are bad", x);
        uint32_t f0 = off[x0], f1 = off[x1];
        nglm_blocks_ensure(b, fw + f0, (size_t)(f1 - f0) * sizeof *fw);
        if (nglm_blocks_check(b, err) != 0)
            return -1;
        for (size_t x = x0; x < x1; x++) {
            int32_t prev = 0;
            for (uint32_t f = off[x]; f < off[x + 1]; f++) {
                if (fw[f] <= prev || fw[f] >= F->V)
                    return nglm_error_set(err, "successors of context %zu are bad", x);
                prev = fw[f];
            }
        }
        release(off + x0, (x1 - x0) * sizeof *off);
        release(fw + f0, (size_t)(f1 - f0) * sizeof *fw);
    }
    return 0;
}

static int r2_index(rd2 *r, nglm_features *F, int order, int32_t V, nglm_error *err)
{
    uint64_t nc, nf;
    memset(F, 0, sizeof *F);
    F->order = order;
    F->V = V;
    for (int k = 2; k <= order; k++)
        F->cutoff[k] = 1;
    if (r2_bytes(r, &nc, 8) != 0 || r2_bytes(r, &nf, 8) != 0 || nc >= INT32_MAX ||
        nf >= INT32_MAX || nf < (uint64_t)V)
        return nglm_error_set(err, "bad index size");
    F->n_ctx = (size_t)nc;
    F->n_feat = F->n_ngram_feat = (size_t)nf;
    for (int k = 0; k <= order; k++) {
        uint64_t x;
        if (r2_bytes(r, &x, 8) != 0 || x > nc)
            return nglm_error_set(err, "bad context table");
        F->ctx_order_start[k] = (size_t)x;
    }
    for (int k = order; k <= NGLM_MAX_ORDER; k++)
        F->ctx_order_start[k] = F->ctx_order_start[order];
    F->ctx_parent = r2_array(r, nc, sizeof *F->ctx_parent);
    F->ctx_word = r2_array(r, nc, sizeof *F->ctx_word);
    F->ctx_first = r2_array(r, nc + 1, sizeof *F->ctx_first);
    F->feat_word = r2_array(r, nf, sizeof *F->feat_word);
    F->feat_back = r2_array(r, nf, sizeof *F->feat_back);
    F->feat_count = r2_array(r, nf, sizeof *F->feat_count);
    if (!F->ctx_parent || !F->ctx_word || !F->ctx_first || !F->feat_word || !F->feat_back ||
        !F->feat_count || r2_pad(r) != 0)
        return nglm_error_set(err, "bad index arrays");
    if (!r->src->in_place)
        return nglm_features_index(F, err);
    /* mapped: what nglm_features_tables reads (the length-1 contexts), the
     * unigram back-offs, then the walk's arrays */
    nglm_blocks *b = r->src->blocks;
    size_t n1 = F->order > 1 ? F->ctx_order_start[1] : 0;
    nglm_blocks_ensure(b, F->ctx_parent, n1 * sizeof *F->ctx_parent);
    nglm_blocks_ensure(b, F->ctx_word, n1 * sizeof *F->ctx_word);
    nglm_blocks_ensure(b, F->feat_back, (size_t)V * sizeof *F->feat_back);
    if (nglm_blocks_check(b, err) != 0)
        return -1;
    for (int32_t w = 0; w < V; w++)
        if (F->feat_back[w] != -1)
            return nglm_error_set(err, "unigram feature %d is bad", (int)w);
    F->blocks = b;
    if (nglm_features_tables(F, 0, err) != 0)
        return -1;
    return check_walk(F, b, err);
}

/* wc: stored (so that a mapped model need not derive it); a loaded model
 * derives it from ww and compares. */
static int r2_wc(rd2 *r, nglm_classlm *m, nglm_error *err)
{
    const nglm_features *W = &m->ww;
    uint64_t nf;
    if (r2_bytes(r, &nf, 8) != 0 || nf >= INT32_MAX || nf < (uint64_t)m->C + 1)
        return nglm_error_set(err, "bad class index size");
    const cl_src *src = r->src;
    int in_place = src->in_place;
    cl_src view = *src;
    view.in_place = 1; /* read in place either way: compared, or kept */
    rd2 v = {&view, r->at, r->end};
    const uint32_t *first = r2_array(&v, W->n_ctx + 1, sizeof *first);
    const int32_t *word = r2_array(&v, nf, sizeof *word);
    const int32_t *back = r2_array(&v, nf, sizeof *back);
    const uint32_t *count = r2_array(&v, nf, sizeof *count);
    if (!first || !word || !back || !count || r2_pad(&v) != 0)
        return nglm_error_set(err, "bad class index arrays");
    r->at = v.at;
    if (!in_place) {
        if (derive_wc(m, err) != 0)
            return -1;
        const nglm_features *F = &m->wc;
        if (F->n_feat != nf ||
            memcmp(F->ctx_first, first, (W->n_ctx + 1) * sizeof *first) != 0 ||
            memcmp(F->feat_word, word, nf * sizeof *word) != 0 ||
            memcmp(F->feat_back, back, nf * sizeof *back) != 0 ||
            memcmp(F->feat_count, count, nf * sizeof *count) != 0)
            return nglm_error_set(err, "the class index does not match the word index");
        return 0;
    }
    nglm_features *F = &m->wc;
    memset(F, 0, sizeof *F);
    F->order = W->order;
    F->V = m->C + 1;
    memcpy(F->cutoff, W->cutoff, sizeof F->cutoff);
    F->n_ctx = W->n_ctx;
    memcpy(F->ctx_order_start, W->ctx_order_start, sizeof F->ctx_order_start);
    F->ctx_parent = W->ctx_parent;
    F->ctx_word = W->ctx_word;
    F->ctx_first = (uint32_t *)first;
    F->feat_word = (int32_t *)word;
    F->feat_back = (int32_t *)back;
    F->feat_count = (uint32_t *)count;
    F->n_feat = F->n_ngram_feat = (size_t)nf;
    F->blocks = src->blocks;
    return check_walk(F, src->blocks, err);
}

/* Version 2 from the file's bytes.  Loaded (not in place): every block,
 * the CRC and every array checked, the arrays copied.  Mapped: the header,
 * the block table and the index arrays; the weights when first scored. */
static int parse_v2(nglm_classlm *m, const cl_src *src0, nglm_error *err)
{
    const unsigned char *buf = src0->base;
    size_t size = src0->size;
    if (size < CLM_HEAD + CLM_TABLE_HEAD + 4)
        return nglm_error_set(err, "file is truncated");
    uint32_t hdr[8];
    uint64_t file_size, table_at, shift_crc, cover, n_blk;
    memcpy(hdr, buf + 8, sizeof hdr);
    memcpy(&file_size, buf + 40, 8);
    memcpy(&table_at, buf + 48, 8);
    if (file_size > size)
        return nglm_error_set(err, "file is truncated");
    if (file_size < size)
        return nglm_error_set(err, "%zu bytes after the end of the model: file is corrupted",
                              size - (size_t)file_size);
    if (table_at % 8 || table_at < CLM_HEAD || table_at > size - CLM_TABLE_HEAD - 4)
        return nglm_error_set(err, "bad block table offset: file is corrupted");
    const unsigned char *t = buf + table_at;
    memcpy(&shift_crc, t, 8);
    memcpy(&cover, t + 8, 8);
    memcpy(&n_blk, t + 16, 8);
    uint32_t shift = (uint32_t)shift_crc, tcrc = (uint32_t)(shift_crc >> 32);
    if (shift != NGLM_BLOCK_SHIFT || cover != table_at ||
        n_blk != (cover + NGLM_BLOCK_SIZE - 1) >> NGLM_BLOCK_SHIFT ||
        n_blk > (size - table_at - CLM_TABLE_HEAD - 4) / 4 ||
        size != table_at + CLM_TABLE_HEAD + 4 * n_blk + 4)
        return nglm_error_set(err, "bad block table (at byte %" PRIu64 "): file is corrupted",
                              table_at);
    if (nglm_crc32c(0, t + CLM_TABLE_HEAD, (size_t)n_blk * 4) != tcrc)
        return nglm_error_set(err, "the table of block checksums (bytes %" PRIu64 "..%zu) is "
                              "damaged: file is corrupted", table_at, size - 1);
    nglm_blocks *b = calloc(1, sizeof *b);
    if (!b || !(b->done = calloc((size_t)(n_blk + 63) / 64 + 1, sizeof *b->done))) {
        free(b);
        return nglm_error_set(err, "out of memory");
    }
    b->base = buf;
    b->cover = (size_t)cover;
    b->n = (size_t)n_blk;
    b->crc = t + CLM_TABLE_HEAD;
    m->blocks = b; /* freed with the model; a loaded model's after parsing */
    cl_src src = *src0;
    src.blocks = b;
    if (!src.in_place) { /* every block (to name a damaged one), then the CRC */
        for (size_t i = 0; i < b->n; i++)
            nglm_blocks_verify(b, i);
        if (nglm_blocks_check(b, err) != 0)
            return -1;
        uint32_t crc;
        memcpy(&crc, buf + size - 4, 4);
        if (nglm_io_crc(0, buf, size - 4) != crc)
            return nglm_error_set(err, "checksum mismatch: file is corrupted");
    }
    nglm_blocks_ensure(b, buf, CLM_HEAD);
    if (nglm_blocks_check(b, err) != 0)
        return -1;
    uint64_t reserved;
    memcpy(&reserved, buf + 120, 8);
    m->order = (int)hdr[1];
    m->V = (int32_t)hdr[2];
    m->C = (int32_t)hdr[3];
    if (hdr[1] < 1 || hdr[1] > NGLM_MAX_ORDER || hdr[2] < NGLM_NUM_SPECIAL + 1 ||
        hdr[2] > INT32_MAX / 2 || hdr[3] < 1 || hdr[3] >= hdr[2])
        return nglm_error_set(err, "bad order, vocabulary or class count");
    if (hdr[4] > NGLM_TOK_CHAR || hdr[5] > 1 || hdr[6] != 0 || hdr[7] > 1 || reserved != 0)
        return nglm_error_set(err, "bad tokenizer settings");
    m->tok = nglm_tok_options_default();
    m->tok.mode = (nglm_tok_mode)hdr[4];
    m->tok.lowercase = (int)hdr[5];
    m->tok.replace_invalid = (int)hdr[7];
    nglm_classlm_info *in = &m->info;
    const unsigned char *h = buf + 56;
    memcpy(&in->l1, h, 8);
    memcpy(&in->l2, h + 8, 8);
    memcpy(&in->lr, h + 16, 8);
    memcpy(&in->ada_init, h + 24, 8);
    memcpy(&in->epochs, h + 32, 4);
    memcpy(&in->batch, h + 36, 4);
    memcpy(&in->seed, h + 40, 8);
    memcpy(&in->train_tokens, h + 48, 8);
    memcpy(&in->valid_ppl, h + 56, 8);
    rd2 r = {&src, CLM_HEAD, (size_t)table_at};
    size_t V = (size_t)m->V;
    char **words = calloc(V, sizeof *words);
    uint64_t *counts = calloc(V, sizeof *counts);
    int rc = 0;
    if (!words || !counts)
        rc = nglm_error_set(err, "out of memory");
    for (size_t v = 0; rc == 0 && v < V; v++) {
        uint32_t len;
        if (r2_bytes(&r, &len, 4) != 0 || len > r.end - r.at ||
            !(words[v] = malloc(len + 1)) || r2_bytes(&r, words[v], len) != 0 ||
            r2_bytes(&r, &counts[v], 8) != 0) {
            rc = nglm_error_set(err, "bad vocabulary");
            break;
        }
        words[v][len] = 0;
        if (strlen(words[v]) != len)
            rc = nglm_error_set(err, "bad vocabulary");
    }
    if (rc == 0 && nglm_blocks_check(b, err) != 0)
        rc = -1;
    if (rc == 0 && !(m->vocab = nglm_vocab_from_list((const char *const *)words, counts, V,
                                                     err)))
        rc = -1;
    for (size_t v = 0; words && v < V; v++)
        free(words[v]);
    free(words);
    free(counts);
    if (rc != 0)
        return -1;
    cl_src copy = src;
    copy.in_place = 0;
    rd2 rc2 = {&copy, r.at, r.end};
    int32_t *cls = r2_array(&rc2, V, sizeof *cls); /* copied: make_maps reads it all */
    r.at = rc2.at;
    if (!cls || r2_pad(&r) != 0) {
        free(cls);
        return nglm_error_set(err, "bad class table");
    }
    nglm_blocks_ensure(b, buf + r.at - V * sizeof *cls, V * sizeof *cls);
    rc = nglm_blocks_check(b, err) != 0 ? -1 : make_maps(m, cls, err);
    free(cls);
    if (rc != 0)
        return -1;
    if (r2_index(&r, &m->cc, m->order, m->C + 1, err) != 0 ||
        r2_index(&r, &m->ww, m->order, m->V, err) != 0 || r2_wc(&r, m, err) != 0)
        return -1;
    set_offsets(m);
    uint64_t nw;
    if (r2_bytes(&r, &nw, 8) != 0 || nw != m->n_weights)
        return nglm_error_set(err, "weight count does not match the indexes");
    if (!(m->theta = r2_array(&r, nw, sizeof *m->theta)) || r2_pad(&r) != 0)
        return nglm_error_set(err, "truncated weights");
    if (r.at != r.end)
        return nglm_error_set(err, "%zu bytes after the weights", r.end - r.at);
    if (!src.in_place) {
        for (size_t f = 0; f < m->n_weights; f++)
            if (!isfinite(m->theta[f]))
                return nglm_error_set(err, "weight %zu is not finite", f);
        free(b->done);
        free(b);
        m->blocks = NULL;
        m->cc.blocks = m->ww.blocks = m->wc.blocks = NULL;
        return 0;
    }
    /* the unigram weights: every scorer sums them first */
    nglm_blocks_ensure(b, m->theta + m->off_ww, V * sizeof *m->theta);
    return nglm_blocks_check(b, err);
}

static int version_of(const unsigned char *buf, size_t size, uint32_t *version, nglm_error *err)
{
    if (size < 12 || memcmp(buf, CLM_MAGIC, 8) != 0)
        return nglm_error_set(err, "not an nglm class model");
    memcpy(version, buf + 8, 4);
    if (*version != CLM_VERSION && *version != CLM_VERSION2)
        return nglm_error_set(err, "version %u, this build reads %u and %u", *version,
                              CLM_VERSION, CLM_VERSION2);
    return 0;
}

int nglm_classlm_load(nglm_classlm *m, const char *path, nglm_error *err)
{
    memset(m, 0, sizeof *m);
    size_t size;
    int fd = nglm_io_open_regular(path, &size, err);
    if (fd < 0)
        return -1;
    FILE *fp = fdopen(fd, "rb");
    unsigned char *buf = malloc(size ? size : 1);
    if (!fp || !buf) {
        if (fp)
            fclose(fp);
        else
            close(fd);
        free(buf);
        return nglm_error_set(err, "%s: out of memory", path);
    }
    size_t got = size ? fread(buf, 1, size, fp) : 0;
    fclose(fp);
    uint32_t version = 0;
    int rc = 0;
    if (got != size)
        rc = nglm_error_set(err, "read error");
    else if (version_of(buf, size, &version, err) != 0)
        rc = -1;
    else if (version == CLM_VERSION)
        rc = parse_v1(m, buf, size, err);
    else {
        cl_src src = {buf, size, 0, NULL};
        rc = parse_v2(m, &src, err);
    }
    free(buf);
    if (rc != 0) {
        nglm_classlm_free(m);
        return nglm_error_prefix(err, "%s", path);
    }
    return 0;
}

int nglm_classlm_map(nglm_classlm *m, const char *path, nglm_error *err)
{
    memset(m, 0, sizeof *m);
    size_t size;
    int fd = nglm_io_open_regular(path, &size, err);
    if (fd < 0)
        return -1;
    unsigned char head[12];
    uint32_t version = 0;
    ssize_t got = size >= sizeof head ? pread(fd, head, sizeof head, 0) : 0;
    if (got != (ssize_t)sizeof head || version_of(head, sizeof head, &version, err) != 0) {
        close(fd);
        if (got != (ssize_t)sizeof head)
            nglm_error_set(err, "not an nglm class model");
        return nglm_error_prefix(err, "%s", path);
    }
    if (version == CLM_VERSION) { /* not laid out for mapping: loaded */
        close(fd);
        return nglm_classlm_load(m, path, err);
    }
    void *p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd); /* the mapping keeps the file */
    if (p == MAP_FAILED)
        return nglm_error_errno(err, e, "%s: cannot map", path);
    m->map = p; /* from here on nglm_classlm_free unmaps */
    m->map_len = size;
    cl_src src = {p, size, 1, NULL};
    int rc = parse_v2(m, &src, err);
    if (rc == 0 && !(m->blocks->path = strdup(path)))
        rc = nglm_error_set(err, "out of memory");
    if (rc != 0) {
        nglm_classlm_free(m);
        return nglm_error_prefix(err, "%s", path);
    }
    return 0;
}

int nglm_classlm_check(const nglm_classlm *m, nglm_error *err)
{
    return nglm_blocks_check(m->blocks, err);
}

int nglm_classlm_file_is(const char *path)
{
    FILE *fp = fopen(path, "rb");
    char b[8];
    int yes = fp && fread(b, 1, 8, fp) == 8 && memcmp(b, CLM_MAGIC, 8) == 0;
    if (fp)
        fclose(fp);
    return yes;
}
