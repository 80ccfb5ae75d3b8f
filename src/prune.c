/*
 * prune.c — nglm_model_prune (nglm/modelfile.h): the features of zero
 * weight that no kept feature needs are removed from the model before a
 * save, with the index rebuilt around the rest.
 *
 * Input: a model in memory (not mapped).  Output: the same distribution
 * over a smaller index: a feature stays if its weight is non-zero or a kept
 * feature needs it (its back-off feature, or the n-gram that its context
 * is), so the index stays closed under prefixes and suffixes.  The stages:
 * ngram_parts (each context as an n-gram feature), mark_kept (the closed
 * set, longest contexts first), renumber (kept items in their order) and
 * copy_kept (the new arrays), then nglm_features_index.
 */
#include <stdlib.h>
#include <string.h>

#include "nglm/features.h"
#include "nglm/modelfile.h"

/* What the stages share: the index pruned, and per feature and context
 * what is kept and its new number. */
typedef struct prune_work {
    const nglm_features *F;
    const double *theta;
    size_t nf, nc;          /* features and contexts of F */
    size_t nf2, nc2;        /* of them kept */
    unsigned char *keep;    /* (nf) 1: the feature stays */
    int32_t *strip;         /* (nc) the context minus its newest word; -1: none */
    int32_t *newest;        /* (nc) its newest word */
    int32_t *fmap;          /* (nf) new feature id, or -1 */
    int32_t *cmap;          /* (nc + 1) new context id, or -1 - (kept contexts before
                             * it); cmap[nc]: nc2 */
} prune_work;

/* For a context x of length k >= 2, the n-gram x is the feature
 * (strip(x), newest(x)); strip(x) extends strip(x⁻) by x's oldest word.
 * Contexts are numbered by length, so parents come first. */
static int ngram_parts(prune_work *w, nglm_error *err)
{
    const nglm_features *F = w->F;
    for (size_t x = 0; x < w->nc; x++) {
        int32_t p = F->ctx_parent[x], a = F->ctx_word[x];
        if (p < 0) {
            w->strip[x] = -1; /* the empty context */
            w->newest[x] = a;
        } else {
            w->newest[x] = w->newest[p];
            w->strip[x] = w->strip[p] < 0 ? F->ctx1[a] : nglm_features_child(F, w->strip[p], a);
            if (w->strip[x] < 0)
                return nglm_error_set(err, "feature index is not closed under prefixes");
        }
    }
    return 0;
}

/* A feature stays if its weight is non-zero or a kept feature needs it.
 * Everything a context of length k needs lies in contexts of length k-1,
 * so one pass from the longest contexts down closes the set.  Nothing
 * needs a skip-gram (they have no back-off and name no context), so those
 * stay exactly when their weight is non-zero.  cmap[x] receives 1 for a
 * context in use, 0 otherwise. */
static int mark_kept(prune_work *w, nglm_error *err)
{
    const nglm_features *F = w->F;
    for (size_t f = 0; f < w->nf; f++)
        w->keep[f] = f < (size_t)F->V || w->theta[f] != 0;
    for (size_t x = w->nc; x-- > 0;) {
        int used = 0;
        for (uint32_t f = F->ctx_first[x]; f < F->ctx_first[x + 1]; f++)
            if (w->keep[f]) {
                used = 1;
                w->keep[F->feat_back[f]] = 1;
            }
        w->cmap[x] = used;
        if (used && w->strip[x] >= 0) {
            int32_t g = nglm_features_find(F, w->strip[x], w->newest[x]);
            if (g < 0)
                return nglm_error_set(err, "feature index is not closed under prefixes");
            w->keep[g] = 1;
        }
    }
    return 0;
}

/* New numbering: kept items keep their relative order. */
static void renumber(prune_work *w)
{
    w->nf2 = w->nc2 = 0;
    for (size_t f = 0; f < w->nf; f++)
        w->fmap[f] = w->keep[f] ? (int32_t)w->nf2++ : -1;
    for (size_t x = 0; x < w->nc; x++) {
        int used = w->cmap[x];
        w->cmap[x] = (int32_t)w->nc2; /* count of kept contexts before x, for the order table */
        w->nc2 += (size_t)used;
        if (!used)
            w->cmap[x] = -1 - w->cmap[x];
    }
    w->cmap[w->nc] = (int32_t)w->nc2;
}

/* skip-grams: same templates and words, kept features only, so each one
 * moves down by the number of features removed before it; g is the next
 * new feature id. */
static void copy_skips(const prune_work *w, nglm_features *G, double *theta, size_t g)
{
    const nglm_features *F = w->F;
    int32_t V = F->V;
    for (int i = 0; i < G->n_skip; i++) {
        for (int32_t v = 0; v < V; v++) {
            G->skip_first[i][v] = (uint32_t)g;
            for (uint32_t f = F->skip_first[i][v]; f < F->skip_first[i][v + 1]; f++) {
                if (!w->keep[f])
                    continue;
                G->feat_word[g] = F->feat_word[f];
                G->feat_back[g] = -1;
                G->feat_count[g] = F->feat_count[f];
                theta[g] = w->theta[f];
                g++;
            }
        }
        G->skip_first[i][V] = (uint32_t)g;
    }
}

/* The pruned index's arrays in G (zeroed by the caller, freed by it on
 * failure) and its weights in theta (nf2 entries): the unigrams, then each
 * kept context's kept features, then the skip-grams. */
static int copy_kept(const prune_work *w, nglm_features *G, double *theta, nglm_error *err)
{
    const nglm_features *F = w->F;
    int32_t V = F->V;
    size_t nc = w->nc, nc2 = w->nc2, nf2 = w->nf2;
    G->order = F->order;
    G->V = V;
    memcpy(G->cutoff, F->cutoff, sizeof G->cutoff);
    G->n_ctx = nc2;
    G->n_feat = nf2;
    G->n_skip = F->n_skip;
    memcpy(G->skip_dist, F->skip_dist, sizeof G->skip_dist);
    G->skip_cutoff = F->skip_cutoff;
    for (int k = 0; k <= NGLM_MAX_ORDER; k++) {
        size_t s = F->ctx_order_start[k];
        int32_t c = w->cmap[s];
        G->ctx_order_start[k] = s == nc ? nc2 : (size_t)(c >= 0 ? c : -1 - c);
    }
    G->ctx_parent = malloc((nc2 ? nc2 : 1) * sizeof *G->ctx_parent);
    G->ctx_word = malloc((nc2 ? nc2 : 1) * sizeof *G->ctx_word);
    G->ctx_first = malloc((nc2 + 1) * sizeof *G->ctx_first);
    G->feat_word = malloc(nf2 * sizeof *G->feat_word);
    G->feat_back = malloc(nf2 * sizeof *G->feat_back);
    G->feat_count = malloc(nf2 * sizeof *G->feat_count);
    int oom = 0;
    for (int i = 0; i < G->n_skip; i++)
        oom |= !(G->skip_first[i] = malloc(((size_t)V + 1) * sizeof(uint32_t)));
    if (oom || !G->ctx_parent || !G->ctx_word || !G->ctx_first || !G->feat_word ||
        !G->feat_back || !G->feat_count)
        return nglm_error_set(err, "out of memory pruning %zu features", w->nf);
    for (int32_t v = 0; v < V; v++) {
        G->feat_word[v] = v;
        G->feat_back[v] = -1;
        G->feat_count[v] = F->feat_count[v];
        theta[v] = w->theta[v];
    }
    size_t g = (size_t)V;
    for (size_t x = 0; x < nc; x++) {
        if (w->cmap[x] < 0)
            continue;
        int32_t y = w->cmap[x], p = F->ctx_parent[x];
        G->ctx_parent[y] = p < 0 ? -1 : w->cmap[p];
        G->ctx_word[y] = F->ctx_word[x];
        G->ctx_first[y] = (uint32_t)g;
        for (uint32_t f = F->ctx_first[x]; f < F->ctx_first[x + 1]; f++) {
            if (!w->keep[f])
                continue;
            G->feat_word[g] = F->feat_word[f];
            G->feat_back[g] = p < 0 ? F->feat_word[f] : w->fmap[F->feat_back[f]];
            G->feat_count[g] = F->feat_count[f];
            theta[g] = w->theta[f];
            g++;
        }
    }
    G->ctx_first[nc2] = (uint32_t)g;
    G->n_ngram_feat = g;
    copy_skips(w, G, theta, g);
    return 0;
}

int nglm_model_prune(nglm_model *m, size_t *removed, nglm_error *err)
{
    if (m->map)
        return nglm_error_set(err, "a mapped model cannot be pruned (load it with "
                              "nglm_model_load)");
    free(m->lnz); /* the stored normalisers follow the old index */
    m->lnz = NULL;
    prune_work w;
    w.F = &m->feat;
    w.theta = m->theta;
    w.nf = m->feat.n_feat;
    w.nc = m->feat.n_ctx;
    size_t nf = w.nf, nc = w.nc;
    int rc = -1;
    w.keep = malloc(nf ? nf : 1);
    w.strip = malloc((nc ? nc : 1) * sizeof *w.strip);
    w.newest = malloc((nc ? nc : 1) * sizeof *w.newest);
    w.fmap = malloc((nf ? nf : 1) * sizeof *w.fmap);
    w.cmap = malloc((nc + 1) * sizeof *w.cmap);
    nglm_features G;
    memset(&G, 0, sizeof G);
    double *theta = NULL;
    if (!w.keep || !w.strip || !w.newest || !w.fmap || !w.cmap) {
        nglm_error_set(err, "out of memory pruning %zu features", nf);
        goto out;
    }
    if (ngram_parts(&w, err) != 0 || mark_kept(&w, err) != 0)
        goto out;
    renumber(&w);
    if (w.nf2 == nf) {
        if (removed)
            *removed = 0;
        rc = 0;
        goto out;
    }
    theta = malloc(w.nf2 * sizeof *theta);
    if (!theta) {
        nglm_error_set(err, "out of memory pruning %zu features", nf);
        goto out;
    }
    if (copy_kept(&w, &G, theta, err) != 0)
        goto out;
    if (nglm_features_index(&G, err) != 0) {
        nglm_error_prefix(err, "pruning");
        goto out;
    }
    nglm_features_free(&m->feat);
    m->feat = G;
    memset(&G, 0, sizeof G);
    free(m->theta);
    m->theta = theta;
    theta = NULL;
    if (removed)
        *removed = nf - w.nf2;
    m->info.pruned += nf - w.nf2;
    rc = 0;
out:
    nglm_features_free(&G);
    free(theta);
    free(w.keep);
    free(w.strip);
    free(w.newest);
    free(w.fmap);
    free(w.cmap);
    return rc;
}
