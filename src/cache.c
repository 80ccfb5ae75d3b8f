/*
 * cache.c — the cache of the recent past of a text, mixed into a model's
 * probabilities exactly (see nglm/cache.h): the caches' probabilities of
 * each token in reading order, the mixture, EM for the weights, and the
 * choice of a cache on held-out text.
 *
 * Decayed counts are kept with weights that grow by exp(1/L) a word instead
 * of shrinking every count each word; when the weight gets large, every
 * count is divided by it (the shares are unchanged).
 */
#include "nglm/cache.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nglm/vocab.h"
#include "u64map.h"

#define RESCALE_AT 1e150

int nglm_cache_parse(const char *s, nglm_cache_spec *spec, nglm_error *err)
{
    memset(spec, 0, sizeof *spec);
    char kind[16] = "";
    double len = 0, blen = 0;
    int used = 0;
    if (sscanf(s, "%15[a-z]:%lf%n", kind, &len, &used) != 2)
        return nglm_error_set(err, "cache '%s': expected decay:L or window:N, maybe with "
                                   ",bigram:L", s);
    if (strcmp(kind, "decay") == 0)
        spec->kind = NGLM_CACHE_DECAY;
    else if (strcmp(kind, "window") == 0)
        spec->kind = NGLM_CACHE_WINDOW;
    else
        return nglm_error_set(err, "cache '%s': unknown kind '%s' (decay or window)", s, kind);
    if (!(len > 0) || !isfinite(len) || len > 1e9 ||
        (spec->kind == NGLM_CACHE_WINDOW && len != floor(len)))
        return nglm_error_set(err, "cache '%s': the length must be %s in 1..1e9", s,
                              spec->kind == NGLM_CACHE_WINDOW ? "an integer" : "a number");
    spec->length = len;
    const char *rest = s + used;
    if (*rest) {
        int more = 0;
        if (sscanf(rest, ",bigram:%lf%n", &blen, &more) != 1 || rest[more] != '\0')
            return nglm_error_set(err, "cache '%s': after the unigram cache only ',bigram:L' "
                                       "may follow", s);
        if (!(blen > 0) || !isfinite(blen) || blen > 1e9)
            return nglm_error_set(err, "cache '%s': the bigram decay length must be a number "
                                       "in 1..1e9", s);
        spec->bigram_length = blen;
    }
    return 0;
}

const char *nglm_cache_name(const nglm_cache_spec *spec, char *buf, size_t n)
{
    int k = snprintf(buf, n, "%s:%g", spec->kind == NGLM_CACHE_WINDOW ? "window" : "decay",
                     spec->length);
    if (spec->bigram_length > 0 && k >= 0 && (size_t)k < n)
        snprintf(buf + k, n - (size_t)k, ",bigram:%g", spec->bigram_length);
    return buf;
}

/* ---------------------------------------------------------------- the caches */

typedef struct caches {
    const nglm_cache_spec *spec;
    int32_t V;
    /* unigram: window counts and ring, or decayed counts */
    uint32_t *wcount;
    int32_t *ring;
    size_t ring_len, ring_pos;
    double *dcount, dmass, dweight, dgrow;
    /* bigram: (v, w) → index into bval; decayed mass of each v */
    u64map pair;
    double *bval, *bmass, bweight, bgrow;
    size_t n_pair, cap_pair;
} caches;

static void caches_free(caches *k)
{
    free(k->wcount);
    free(k->ring);
    free(k->dcount);
    free(k->bval);
    free(k->bmass);
    if (k->pair.e)
        u64map_free(&k->pair);
    memset(k, 0, sizeof *k);
}

/* Empty caches (at the start, and at an empty sentence). */
static int caches_reset(caches *k)
{
    size_t V = (size_t)k->V;
    if (k->spec->kind == NGLM_CACHE_WINDOW) {
        memset(k->wcount, 0, V * sizeof *k->wcount);
        k->ring_len = k->ring_pos = 0;
    } else {
        memset(k->dcount, 0, V * sizeof *k->dcount);
        k->dmass = 0;
        k->dweight = 1;
    }
    if (k->spec->bigram_length > 0) {
        if (k->pair.e)
            u64map_free(&k->pair);
        if (u64map_init(&k->pair, 1024) != 0)
            return -1;
        memset(k->bmass, 0, V * sizeof *k->bmass);
        k->n_pair = 0;
        k->bweight = 1;
    }
    return 0;
}

static int caches_init(caches *k, const nglm_cache_spec *spec, int32_t V)
{
    memset(k, 0, sizeof *k);
    k->spec = spec;
    k->V = V;
    size_t n = (size_t)V;
    int ok = 1;
    if (spec->kind == NGLM_CACHE_WINDOW) {
        k->wcount = calloc(n, sizeof *k->wcount);
        k->ring = malloc((size_t)spec->length * sizeof *k->ring);
        ok = k->wcount && k->ring;
    } else {
        k->dcount = calloc(n, sizeof *k->dcount);
        k->dgrow = exp(1.0 / spec->length);
        ok = k->dcount != NULL;
    }
    if (ok && spec->bigram_length > 0) {
        k->bmass = calloc(n, sizeof *k->bmass);
        k->bgrow = exp(1.0 / spec->bigram_length);
        ok = k->bmass != NULL;
    }
    if (!ok || caches_reset(k) != 0) {
        caches_free(k);
        return -1;
    }
    return 0;
}

/* C1(w), or NAN while the unigram cache is empty. */
static double unigram_p(const caches *k, int32_t w)
{
    if (k->spec->kind == NGLM_CACHE_WINDOW)
        return k->ring_len ? (double)k->wcount[w] / (double)k->ring_len : NAN;
    return k->dmass > 0 ? k->dcount[w] / k->dmass : NAN;
}

/* C2(w | v), or NAN when v has no followers in the cache. */
static double bigram_p(const caches *k, int32_t v, int32_t w)
{
    if (v < 0 || !(k->bmass[v] > 0))
        return NAN;
    int64_t i = u64map_get(&k->pair, (uint64_t)v * (uint64_t)k->V + (uint64_t)w, -1);
    return i < 0 ? 0.0 : k->bval[i] / k->bmass[v];
}

static void unigram_add(caches *k, int32_t w)
{
    if (k->spec->kind == NGLM_CACHE_WINDOW) {
        size_t cap = (size_t)k->spec->length;
        if (k->ring_len == cap)
            k->wcount[k->ring[k->ring_pos]]--;
        else
            k->ring_len++;
        k->ring[k->ring_pos] = w;
        k->ring_pos = (k->ring_pos + 1) % cap;
        k->wcount[w]++;
        return;
    }
    k->dcount[w] += k->dweight;
    k->dmass += k->dweight;
    k->dweight *= k->dgrow;
    if (k->dweight > RESCALE_AT) {
        for (int32_t x = 0; x < k->V; x++)
            k->dcount[x] /= k->dweight;
        k->dmass /= k->dweight;
        k->dweight = 1;
    }
}

static int bigram_add(caches *k, int32_t v, int32_t w)
{
    if (v >= 0) {
        int64_t *slot = u64map_upsert(&k->pair, (uint64_t)v * (uint64_t)k->V + (uint64_t)w, -1);
        if (!slot)
            return -1;
        if (*slot < 0) {
            if (k->n_pair == k->cap_pair) {
                size_t cap = k->cap_pair ? 2 * k->cap_pair : 1024;
                double *p = realloc(k->bval, cap * sizeof *p);
                if (!p)
                    return -1;
                k->bval = p;
                k->cap_pair = cap;
            }
            k->bval[k->n_pair] = 0;
            *slot = (int64_t)k->n_pair++;
        }
        k->bval[*slot] += k->bweight;
        k->bmass[v] += k->bweight;
    }
    k->bweight *= k->bgrow; /* every word ages the pairs */
    if (k->bweight > RESCALE_AT) {
        for (size_t i = 0; i < k->n_pair; i++)
            k->bval[i] /= k->bweight;
        for (int32_t x = 0; x < k->V; x++)
            k->bmass[x] /= k->bweight;
        k->bweight = 1;
    }
    return 0;
}

static int spec_ok(const nglm_cache_spec *spec, int32_t V)
{
    return (spec->kind == NGLM_CACHE_WINDOW || spec->kind == NGLM_CACHE_DECAY) &&
           spec->length > 0 && spec->bigram_length >= 0 && V > NGLM_NUM_SPECIAL;
}

/* One sentence of the text (len ids, the last </s>): the caches'
 * probabilities of its tokens into c1[0..len) and c2 (NULL: no bigram
 * cache), then its words into the caches; `later`: a sentence came before
 * (an empty first sentence has no cache to empty).  t0: the first token's
 * place in the text, for messages. */
static int caches_sentence(caches *k, const int32_t *sent, size_t len, int later, double *c1,
                           double *c2, size_t t0, nglm_error *err)
{
    const nglm_cache_spec *spec = k->spec;
    int bigram = spec->bigram_length > 0 && c2;
    int boundary = len == 1 || (len == 2 && spec->reset_word > 0 &&
                                sent[0] == spec->reset_word);
    if (boundary && later && caches_reset(k) != 0) /* a blank line, or <doc> */
        return nglm_error_set(err, "cache: out of memory");
    for (size_t i = 0; i < len; i++) {
        int32_t w = sent[i], v = i > 0 ? sent[i - 1] : -1;
        if (w < 0 || w >= k->V)
            return nglm_error_set(err, "cache: token %zu has id %d, not below %d", t0 + i,
                                  (int)w, (int)k->V);
        double p1 = unigram_p(k, w), p2 = bigram ? bigram_p(k, v, w) : NAN;
        if (w == NGLM_EOS) { /* never a cache word: only its model share */
            p1 = isnan(p1) ? NAN : 0.0;
            p2 = isnan(p2) ? NAN : 0.0;
        }
        c1[i] = p1;
        if (c2)
            c2[i] = p2;
        if (w == NGLM_EOS || boundary) /* the boundary word is not a cache word */
            continue;
        unigram_add(k, w);
        if (bigram && bigram_add(k, v, w) != 0)
            return nglm_error_set(err, "cache: out of memory");
    }
    return 0;
}

int nglm_cache_probs(const nglm_cache_spec *spec, const nglm_corpus *c, int32_t V, double *c1,
                     double *c2, nglm_error *err)
{
    if (!spec_ok(spec, V))
        return nglm_error_set(err, "cache: bad specification");
    caches k;
    if (caches_init(&k, spec, V) != 0)
        return nglm_error_set(err, "cache: out of memory for %d words", (int)V);
    int rc = 0;
    for (size_t s = 0; rc == 0 && s < c->n_sents; s++) {
        size_t len, t0 = c->start[s];
        const int32_t *sent = nglm_corpus_sentence(c, s, &len);
        rc = caches_sentence(&k, sent, len, s > 0, c1 + t0, c2 ? c2 + t0 : NULL, t0, err);
    }
    caches_free(&k);
    return rc;
}

/* ---------------------------------------------------------------- sentence by sentence */

struct nglm_cache_state {
    nglm_cache_spec spec;   /* k.spec points here */
    caches k;
    size_t sentences;       /* read since the start or the last reset */
};

nglm_cache_state *nglm_cache_state_new(const nglm_cache_spec *spec, int32_t V, nglm_error *err)
{
    if (!spec_ok(spec, V)) {
        nglm_error_set(err, "cache: bad specification");
        return NULL;
    }
    nglm_cache_state *st = calloc(1, sizeof *st);
    if (st) {
        st->spec = *spec;
        if (caches_init(&st->k, &st->spec, V) == 0)
            return st;
        free(st);
    }
    nglm_error_set(err, "cache: out of memory for %d words", (int)V);
    return NULL;
}

void nglm_cache_state_free(nglm_cache_state *st)
{
    if (!st)
        return;
    caches_free(&st->k);
    free(st);
}

int nglm_cache_state_reset(nglm_cache_state *st, nglm_error *err)
{
    st->sentences = 0;
    return caches_reset(&st->k) == 0 ? 0 : nglm_error_set(err, "cache: out of memory");
}

int nglm_cache_state_sentence(nglm_cache_state *st, const int32_t *sent, size_t len,
                              double *c1, double *c2, nglm_error *err)
{
    if (caches_sentence(&st->k, sent, len, st->sentences > 0, c1, c2, 0, err) != 0)
        return -1;
    st->sentences++;
    return 0;
}

/* ---------------------------------------------------------------- mixing */

/* The three component probabilities of a token, with the fallbacks. */
static inline void components(double lp10, double c1, double c2, double *pm, double *p1,
                              double *p2)
{
    *pm = lp10 == -INFINITY ? 0.0 : pow(10.0, lp10);
    *p1 = isnan(c1) ? *pm : c1;
    *p2 = isnan(c2) ? *p1 : c2;
}

void nglm_cache_mix(const nglm_cache_spec *spec, const double *lp10, const double *c1,
                    const double *c2, size_t n, double *out)
{
    double l1 = spec->lambda, l2 = c2 ? spec->bigram_lambda : 0.0, l0 = 1.0 - l1 - l2;
    for (size_t t = 0; t < n; t++) {
        if (isnan(lp10[t])) {
            out[t] = NAN;
            continue;
        }
        double pm, p1, p2;
        components(lp10[t], c1[t], c2 ? c2[t] : NAN, &pm, &p1, &p2);
        double p = l0 * pm + l1 * p1 + l2 * p2;
        out[t] = p > 0 ? log10(p) : -INFINITY;
    }
}

int nglm_cache_apply(const nglm_cache_spec *spec, const nglm_corpus *c, int32_t V, double *lp10,
                     nglm_error *err)
{
    size_t n = c->n_tokens ? c->n_tokens : 1;
    int bigram = spec->bigram_length > 0;
    double *c1 = malloc(n * sizeof *c1), *c2 = bigram ? malloc(n * sizeof *c2) : NULL;
    int rc = -1;
    if (!c1 || (bigram && !c2))
        nglm_error_set(err, "cache: out of memory for %zu tokens", c->n_tokens);
    else if (nglm_cache_probs(spec, c, V, c1, c2, err) == 0) {
        nglm_cache_mix(spec, lp10, c1, c2, c->n_tokens, lp10);
        rc = 0;
    }
    free(c1);
    free(c2);
    return rc;
}

int nglm_cache_em(nglm_cache_spec *spec, const double *lp10, const double *c1, const double *c2,
                  size_t n, double tol, int max_iter, int *iterations, nglm_error *err)
{
    int bigram = c2 && spec->bigram_length > 0;
    double w1 = 0.1, w2 = bigram ? 0.1 : 0.0;
    int it = 0;
    for (; it < max_iter; it++) {
        double r1 = 0, r2 = 0;
        size_t used = 0;
        for (size_t t = 0; t < n; t++) {
            if (isnan(lp10[t]))
                continue;
            double pm, p1, p2;
            components(lp10[t], c1[t], bigram ? c2[t] : NAN, &pm, &p1, &p2);
            double z = (1 - w1 - w2) * pm + w1 * p1 + w2 * p2;
            if (!(z > 0))
                continue;
            r1 += w1 * p1 / z;
            r2 += w2 * p2 / z;
            used++;
        }
        if (used == 0)
            return nglm_error_set(err, "cache: no held-out token to choose the weights on");
        double n1 = r1 / (double)used, n2 = r2 / (double)used;
        double change = fabs(n1 - w1) + fabs(n2 - w2);
        w1 = n1;
        w2 = n2;
        if (change < tol) {
            it++;
            break;
        }
    }
    spec->lambda = w1;
    spec->bigram_lambda = w2;
    if (iterations)
        *iterations = it;
    return 0;
}

/* exp(−mean ln P) over the tokens the model scored (with a nonzero P). */
static double perplexity10(const double *lp10, size_t n)
{
    double s = 0;
    size_t m = 0;
    for (size_t t = 0; t < n; t++)
        if (isfinite(lp10[t])) {
            s += lp10[t];
            m++;
        }
    return m ? pow(10.0, -s / (double)m) : NAN;
}

int nglm_cache_choose(const nglm_corpus *c, int32_t V, const double *lp10,
                      nglm_cache_spec *best, double *ppl, nglm_error *err)
{
    static const double decays[] = {25, 50, 100, 200, 400, 800};
    static const double windows[] = {100, 200, 500, 1000};
    static const double bigrams[] = {0, 100, 200, 500, 1000};
    size_t n = c->n_tokens;
    int32_t reset_word = best->reset_word;
    double *c1 = malloc((n ? n : 1) * sizeof *c1), *c2 = malloc((n ? n : 1) * sizeof *c2);
    double *mixed = malloc((n ? n : 1) * sizeof *mixed);
    int rc = -1;
    if (!c1 || !c2 || !mixed) {
        nglm_error_set(err, "cache: out of memory for %zu tokens", n);
        goto out;
    }
    *ppl = INFINITY;
    size_t n_uni = sizeof decays / sizeof *decays + sizeof windows / sizeof *windows;
    for (size_t u = 0; u < n_uni; u++)
        for (size_t b = 0; b < sizeof bigrams / sizeof *bigrams; b++) {
            nglm_cache_spec s;
            memset(&s, 0, sizeof s);
            s.reset_word = reset_word;
            int dec = u < sizeof decays / sizeof *decays;
            s.kind = dec ? NGLM_CACHE_DECAY : NGLM_CACHE_WINDOW;
            s.length = dec ? decays[u] : windows[u - sizeof decays / sizeof *decays];
            s.bigram_length = bigrams[b];
            if (nglm_cache_probs(&s, c, V, c1, s.bigram_length > 0 ? c2 : NULL, err) != 0 ||
                nglm_cache_em(&s, lp10, c1, s.bigram_length > 0 ? c2 : NULL, n, 1e-5, 1000,
                              NULL, err) != 0)
                goto out;
            nglm_cache_mix(&s, lp10, c1, s.bigram_length > 0 ? c2 : NULL, n, mixed);
            double p = perplexity10(mixed, n);
            if (p < *ppl) {
                *ppl = p;
                *best = s;
            }
        }
    rc = 0;
out:
    free(c1);
    free(c2);
    free(mixed);
    return rc;
}
