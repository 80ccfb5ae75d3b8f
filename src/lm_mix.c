/*
 * lm_mix.c — a linear mixture of any number of nglm_lm (SRILM's -mix-lm,
 * -mix-lm2, ...), itself an nglm_lm, and its manifest file (nglm/lm.h).
 *
 * Texts: each component reads the text with its own tokenizer and
 * vocabulary (its own nglm_lm_read, so a component may be a mixture or a
 * cache); all readings must have the same tokens, sentence by sentence
 * (nglm_mix_check_texts); the mixture's corpus is the first component's
 * ids with every component's reading in parts.  A corpus without those
 * parts (read with the mixture's vocabulary: a sentence in the Python
 * module, a scorer's history) is passed to component k word by word
 * through map[k], the first component's ids spelled in k's vocabulary.
 *
 * Per token: log10 Σ_k λ_k 10^(l_k) (nglm_mix_logprob10_n): NAN when a
 * component skips the token.  The dense distribution is Σ_k λ_k P_k(w) over
 * the first component's words: it sums to one when the components share
 * one vocabulary (tests/check_lm.c checks it at every position of PTB).
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fileio.h"
#include "lm_impl.h"
#include "nglm/mix.h"

#define MANIFEST_MAGIC "nglm-mixture 1"

typedef struct mix {
    size_t n;
    nglm_lm **c;     /* the components, owned */
    double *w;       /* their weights */
    int32_t **map;   /* map[k][id of component 0] = the word's id in component k */
} mix;

static int mix_check(const nglm_lm *lm, nglm_error *err)
{
    const mix *x = lm->impl;
    for (size_t k = 0; k < x->n; k++)
        if (nglm_lm_check(x->c[k], err) != 0)
            return -1;
    return 0;
}

static void mix_free(nglm_lm *lm)
{
    mix *x = lm->impl;
    if (!x)
        return;
    for (size_t k = 0; k < x->n; k++) {
        nglm_lm_free(x->c[k]);
        if (x->map)
            free(x->map[k]);
    }
    free(x->c);
    free(x->w);
    free(x->map);
    free(x);
}

/* ---------------------------------------------------------------- reading */

static int mix_read(const nglm_lm *lm, const char *path, const char *const *lines, size_t n,
                    nglm_corpus *c, const nglm_progress *p, nglm_error *err)
{
    const mix *x = lm->impl;
    memset(c, 0, sizeof *c);
    if (path && strcmp(path, "-") == 0)
        return nglm_error_set(err, "a mixture reads its text once per model: it cannot be "
                              "'-' (stdin)");
    nglm_corpus *parts = calloc(x->n, sizeof *parts);
    if (!parts)
        return nglm_error_set(err, "out of memory");
    for (size_t k = 0; k < x->n; k++) {
        int rc = lines ? nglm_lm_read_lines(x->c[k], lines, n, &parts[k], err)
                       : nglm_lm_read(x->c[k], path, &parts[k], p, err);
        if (rc == 0 && k > 0 && nglm_mix_check_texts(&parts[0], &parts[k], err) != 0) {
            char msg[sizeof err->msg];
            snprintf(msg, sizeof msg, "%s", err->msg);
            nglm_error_set(err, "%s: models 1 and %zu: %s", path ? path : "sentences", k + 1,
                           msg);
            rc = -1;
        }
        if (rc != 0) {
            c->parts = parts;
            c->n_parts = x->n;
            nglm_corpus_free(c);
            return -1;
        }
    }
    const nglm_corpus *c0 = &parts[0];
    c->ids = malloc((c0->n_tokens ? c0->n_tokens : 1) * sizeof *c->ids);
    c->start = malloc((c0->n_sents + 1) * sizeof *c->start);
    c->parts = parts;
    c->n_parts = x->n;
    if (!c->ids || !c->start) {
        nglm_corpus_free(c);
        return nglm_error_set(err, "out of memory");
    }
    memcpy(c->ids, c0->ids, c0->n_tokens * sizeof *c->ids);
    memcpy(c->start, c0->start, (c0->n_sents + 1) * sizeof *c->start);
    c->n_tokens = c0->n_tokens;
    c->n_sents = c0->n_sents;
    c->n_words = c0->n_words;
    c->n_oov = c0->n_oov;
    return 0;
}

/* ---------------------------------------------------------------- whole texts */

static int mix_score(const nglm_lm *lm, const nglm_corpus *c, double *lp10, int *len,
                     int threads, const nglm_progress *p, nglm_error *err)
{
    const mix *x = lm->impl;
    size_t nt = c->n_tokens ? c->n_tokens : 1;
    double *all = malloc(x->n * nt * sizeof *all);
    double *l = malloc(x->n * sizeof *l);
    int32_t *mapped = NULL;
    int rc = all && l ? 0 : nglm_error_set(err, "out of memory scoring %zu tokens", nt);
    int own = c->n_parts == x->n; /* read by mix_read: every component's own reading */
    for (size_t k = 0; rc == 0 && k < x->n; k++) {
        const nglm_corpus *ck = own ? &c->parts[k] : c;
        nglm_corpus tmp;
        if (!own && k > 0) { /* spelled in k's vocabulary */
            if (!mapped && !(mapped = malloc(nt * sizeof *mapped))) {
                rc = nglm_error_set(err, "out of memory");
                break;
            }
            for (size_t t = 0; t < c->n_tokens; t++)
                mapped[t] = x->map[k][c->ids[t]];
            tmp = *c;
            tmp.ids = mapped;
            tmp.parts = NULL;
            tmp.n_parts = 0;
            ck = &tmp;
        }
        rc = nglm_lm_score_corpus10(x->c[k], ck, all + k * nt, k == 0 ? len : NULL, threads,
                                    p, err);
    }
    if (rc == 0)
        for (size_t t = 0; t < c->n_tokens; t++) {
            for (size_t k = 0; k < x->n; k++)
                l[k] = all[k * nt + t];
            lp10[t] = nglm_mix_logprob10_n(l, x->w, x->n);
        }
    free(all);
    free(l);
    free(mapped);
    return rc;
}

/* ---------------------------------------------------------------- token by token */

typedef struct mix_scorer {
    const mix *x;
    nglm_lm_scorer **s;   /* one per component */
    int32_t *buf;         /* a history spelled in a component's vocabulary */
    size_t cap;
    double *l;            /* n per-component scores */
    double *p;            /* the largest component vocabulary's scratch */
} mix_scorer;

static void mix_scorer_free(void *v)
{
    mix_scorer *s = v;
    if (!s)
        return;
    for (size_t k = 0; k < s->x->n; k++)
        nglm_lm_scorer_free(s->s[k]);
    free(s->s);
    free(s->buf);
    free(s->l);
    free(s->p);
    free(s);
}

static void *mix_scorer_new(const nglm_lm *lm, nglm_error *err)
{
    const mix *x = lm->impl;
    mix_scorer *s = calloc(1, sizeof *s);
    if (!s) {
        nglm_error_set(err, "out of memory");
        return NULL;
    }
    s->x = x;
    size_t vmax = 1;
    for (size_t k = 0; k < x->n; k++)
        if (nglm_vocab_size(x->c[k]->vocab) > vmax)
            vmax = nglm_vocab_size(x->c[k]->vocab);
    s->s = calloc(x->n, sizeof *s->s);
    s->l = malloc(x->n * sizeof *s->l);
    s->p = malloc(vmax * sizeof *s->p);
    if (!s->s || !s->l || !s->p) {
        nglm_error_set(err, "out of memory");
        if (!s->s) {
            free(s->l);
            free(s->p);
            free(s);
            return NULL;
        }
        mix_scorer_free(s);
        return NULL;
    }
    for (size_t k = 0; k < x->n; k++)
        if (!(s->s[k] = nglm_lm_scorer_new(x->c[k], err))) {
            mix_scorer_free(s);
            return NULL;
        }
    return s;
}

/* sent[0..i] (the history and, with token, the word at i) spelled in
 * component k's vocabulary, negative ids kept. */
static int32_t *spell(mix_scorer *s, size_t k, const int32_t *sent, size_t i, int token)
{
    if (k == 0)
        return (int32_t *)sent;
    if (i + 1 > s->cap) {
        size_t cap = 2 * (i + 1);
        int32_t *b = realloc(s->buf, cap * sizeof *b);
        if (!b)
            return NULL;
        s->buf = b;
        s->cap = cap;
    }
    for (size_t j = 0; j < i; j++)
        s->buf[j] = sent[j] < 0 ? sent[j] : s->x->map[k][sent[j]];
    s->buf[i] = token ? s->x->map[k][sent[i]] : NGLM_EOS; /* dist: scratch */
    return s->buf;
}

static double mix_logprob10(void *v, const int32_t *sent, size_t i, int *len)
{
    mix_scorer *s = v;
    for (size_t k = 0; k < s->x->n; k++) {
        const int32_t *h = spell(s, k, sent, i, 1);
        if (!h)
            return NAN;
        s->l[k] = nglm_lm_scorer_logprob10(s->s[k], h, i, k == 0 ? len : NULL);
    }
    return nglm_mix_logprob10_n(s->l, s->x->w, s->x->n);
}

static void mix_dist(void *v, int32_t *sent, size_t i, double *p)
{
    mix_scorer *s = v;
    const mix *x = s->x;
    int32_t V = (int32_t)nglm_vocab_size(x->c[0]->vocab);
    for (int32_t w = 0; w < V; w++)
        p[w] = 0;
    for (size_t k = 0; k < x->n; k++) {
        int32_t *h = spell(s, k, sent, i, 0);
        if (!h)
            continue;
        int32_t keep = h[i];
        nglm_lm_scorer_dist(s->s[k], h, i, s->p);
        h[i] = keep;
        for (int32_t w = 1; w < V; w++)
            p[w] += x->w[k] * s->p[k == 0 ? w : x->map[k][w]];
    }
    p[NGLM_BOS] = 0;
}

static const nglm_lm_ops mix_ops = {
    .kind = "mixture",
    .free = mix_free,
    .score_corpus10 = mix_score,
    .scorer_new = mix_scorer_new,
    .scorer_free = mix_scorer_free,
    .scorer_logprob10 = mix_logprob10,
    .scorer_dist = mix_dist,
    .read = mix_read,
    .check = mix_check,
};

/* ---------------------------------------------------------------- building */

static int check_weights(const double *w, size_t n, nglm_error *err)
{
    double sum = 0;
    for (size_t k = 0; k < n; k++) {
        if (!(w[k] >= 0 && w[k] <= 1))
            return nglm_error_set(err, "mixture weight %zu is %g: each must be in [0, 1]",
                                  k + 1, w[k]);
        sum += w[k];
    }
    if (fabs(sum - 1) > 1e-6)
        return nglm_error_set(err, "the mixture weights sum to %.10g: they must sum to 1",
                              sum);
    return 0;
}

nglm_lm *nglm_lm_mix_new(nglm_lm **components, const double *weights, size_t n,
                         nglm_error *err)
{
    nglm_lm *lm = NULL;
    mix *x = NULL;
    if (n < 1 || n > NGLM_LM_MIX_MAX) {
        nglm_error_set(err, "a mixture of %zu models: it takes 1 to %d", n, NGLM_LM_MIX_MAX);
        goto fail;
    }
    for (size_t k = 0; k < n; k++)
        if (!components[k]) {
            nglm_error_set(err, "mixture component %zu is missing", k + 1);
            goto fail;
        }
    if (weights && check_weights(weights, n, err) != 0)
        goto fail;
    if (!(lm = nglm_lm_alloc(&mix_ops, err)))
        goto fail;
    x = calloc(1, sizeof *x);
    if (x) {
        x->c = calloc(n, sizeof *x->c);
        x->w = malloc(n * sizeof *x->w);
        x->map = calloc(n, sizeof *x->map);
    }
    if (!x || !x->c || !x->w || !x->map) {
        nglm_error_set(err, "out of memory");
        goto fail_x;
    }
    lm->impl = x;
    x->n = n;
    for (size_t k = 0; k < n; k++) {
        x->c[k] = components[k];
        components[k] = NULL;
        x->w[k] = weights ? weights[k] : 1.0 / (double)n;
    }
    const nglm_vocab *v0 = x->c[0]->vocab;
    int32_t V0 = (int32_t)nglm_vocab_size(v0);
    for (size_t k = 1; k < n; k++) {
        if (!(x->map[k] = malloc((size_t)V0 * sizeof *x->map[k]))) {
            nglm_error_set(err, "out of memory");
            goto fail_lm;
        }
        for (int32_t w = 0; w < V0; w++)
            x->map[k][w] = nglm_vocab_id(x->c[k]->vocab, nglm_vocab_word(v0, w));
    }
    lm->vocab = v0;
    lm->tok = x->c[0]->tok;
    lm->order = 1;
    for (size_t k = 0; k < n; k++) {
        if (x->c[k]->order > lm->order)
            lm->order = x->c[k]->order;
        if (nglm_lm_reach(x->c[k]) > lm->reach)
            lm->reach = nglm_lm_reach(x->c[k]);
    }
    return lm;
fail_x:
    if (x) {
        free(x->c);
        free(x->w);
        free(x->map);
        free(x);
    }
fail:
    free(lm);
    for (size_t k = 0; k < n && k < NGLM_LM_MIX_MAX + 1000; k++)
        if (components[k]) {
            nglm_lm_free(components[k]);
            components[k] = NULL;
        }
    return NULL;
fail_lm:
    nglm_lm_free(lm);
    return NULL;
}

size_t nglm_lm_mix_size(const nglm_lm *lm)
{
    return lm->ops == &mix_ops ? ((const mix *)lm->impl)->n : 0;
}

const nglm_lm *nglm_lm_mix_component(const nglm_lm *lm, size_t k)
{
    return k < nglm_lm_mix_size(lm) ? ((const mix *)lm->impl)->c[k] : NULL;
}

const double *nglm_lm_mix_weights(const nglm_lm *lm)
{
    return nglm_lm_mix_size(lm) ? ((const mix *)lm->impl)->w : NULL;
}

int nglm_lm_mix_set_weights(nglm_lm *lm, const double *weights, nglm_error *err)
{
    size_t n = nglm_lm_mix_size(lm);
    if (n == 0)
        return nglm_error_set(err, "not a mixture");
    if (check_weights(weights, n, err) != 0)
        return -1;
    memcpy(((mix *)lm->impl)->w, weights, n * sizeof *weights);
    return 0;
}

int nglm_lm_mix_em(nglm_lm *lm, const nglm_corpus *c, int threads, int *iterations,
                   nglm_error *err)
{
    size_t n = nglm_lm_mix_size(lm);
    if (n == 0)
        return nglm_error_set(err, "not a mixture");
    mix *x = lm->impl;
    if (c->n_parts != n)
        return nglm_error_set(err, "the held-out text was not read by the mixture "
                              "(nglm_lm_read)");
    size_t nt = c->n_tokens ? c->n_tokens : 1;
    double *all = malloc(n * nt * sizeof *all);
    const double **lp = malloc(n * sizeof *lp);
    double *w = malloc(n * sizeof *w);
    int rc = all && lp && w ? 0 : nglm_error_set(err, "out of memory");
    for (size_t k = 0; rc == 0 && k < n; k++) {
        lp[k] = all + k * nt;
        rc = nglm_lm_score_corpus10(x->c[k], &c->parts[k], all + k * nt, NULL, threads, NULL,
                                    err);
    }
    if (rc == 0) {
        /* from the current weights, each lifted off zero (EM keeps a zero) */
        double s = 0;
        for (size_t k = 0; k < n; k++)
            s += w[k] = x->w[k] > 1e-3 ? x->w[k] : 1e-3;
        for (size_t k = 0; k < n; k++)
            w[k] /= s;
        rc = nglm_mix_em_n(lp, n, c->n_tokens, NGLM_MIX_EM_TOL, NGLM_MIX_EM_MAX_ITER, 1, w,
                           iterations, err);
    }
    if (rc == 0)
        memcpy(x->w, w, n * sizeof *w);
    free(all);
    free(lp);
    free(w);
    return rc;
}

int nglm_lm_mix_em_file(nglm_lm *lm, const char *path, const nglm_eval_options *opt,
                        int *iterations, nglm_error *err)
{
    nglm_eval_options o = opt ? *opt : nglm_eval_options_default();
    int it = 0;
    if (nglm_lm_mix_size(lm) == 0)
        return nglm_error_set(err, "not a mixture");
    nglm_corpus c;
    if (nglm_lm_read(lm, path, &c, o.progress, err) != 0)
        return -1;
    int rc = nglm_lm_mix_em(lm, &c, o.threads, &it, err);
    nglm_corpus_free(&c);
    if (iterations)
        *iterations = it;
    return rc;
}

/* ---------------------------------------------------------------- manifest */

/* Size and CRC-32 of the file at path. */
static int file_sum(const char *path, uint64_t *size, uint32_t *crc, nglm_error *err)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return nglm_error_set(err, "%s: %s", path, strerror(errno));
    static const size_t B = 1 << 16;
    unsigned char *buf = malloc(B);
    if (!buf) {
        fclose(fp);
        return nglm_error_set(err, "out of memory");
    }
    uint32_t c = 0;
    uint64_t n = 0;
    size_t got;
    while ((got = fread(buf, 1, B, fp)) > 0) {
        c = nglm_io_crc(c, buf, got);
        n += got;
    }
    int bad = ferror(fp);
    fclose(fp);
    free(buf);
    if (bad)
        return nglm_error_set(err, "%s: read error", path);
    *size = n;
    *crc = c;
    return 0;
}

int nglm_lm_mix_file_is_manifest(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return 0;
    char line[sizeof MANIFEST_MAGIC + 1];
    int is = fgets(line, sizeof line, fp) && strncmp(line, MANIFEST_MAGIC,
                                                      strlen(MANIFEST_MAGIC)) == 0 &&
             (line[strlen(MANIFEST_MAGIC)] == '\n' || line[strlen(MANIFEST_MAGIC)] == '\r');
    fclose(fp);
    return is;
}

/* The directory part of path ("." when none), malloc'd. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

nglm_lm *nglm_lm_mix_open(const char *path, unsigned flags, nglm_error *err)
{
    FILE *fp = fopen(path, "r");
    if (!fp) {
        nglm_error_set(err, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *dir = dir_of(path);
    nglm_lm *comp[NGLM_LM_MIX_MAX];
    double w[NGLM_LM_MIX_MAX];
    struct stat seen[NGLM_LM_MIX_MAX];
    size_t n = 0, lineno = 0;
    char line[8192];
    int rc = dir ? 0 : nglm_error_set(err, "out of memory");
    while (rc == 0 && fgets(line, sizeof line, fp)) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            rc = nglm_error_set(err, "%s:%zu: line too long", path, lineno);
            break;
        }
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (lineno == 1) /* the magic, checked by the sniffer */
            continue;
        if (len == 0 || line[0] == '#')
            continue;
        double weight;
        unsigned long long size;
        unsigned crc;
        int used = 0;
        if (sscanf(line, "%lf %llu %x %n", &weight, &size, &crc, &used) != 3 || used == 0 ||
            line[used] == '\0') {
            rc = nglm_error_set(err, "%s:%zu: expected 'WEIGHT SIZE CRC32 PATH'", path,
                                lineno);
            break;
        }
        if (n == NGLM_LM_MIX_MAX) {
            rc = nglm_error_set(err, "%s:%zu: more than %d models", path, lineno,
                                NGLM_LM_MIX_MAX);
            break;
        }
        const char *rel = line + used;
        char full[8192 + 4096];
        if (rel[0] == '/')
            snprintf(full, sizeof full, "%s", rel);
        else
            snprintf(full, sizeof full, "%s/%s", dir, rel);
        uint64_t got_size;
        uint32_t got_crc;
        if (file_sum(full, &got_size, &got_crc, err) != 0) {
            char msg[sizeof err->msg];
            snprintf(msg, sizeof msg, "%s", err->msg);
            rc = nglm_error_set(err, "%s:%zu: %s (moved or removed?)", path, lineno, msg);
            break;
        }
        if (got_size != size || got_crc != crc) {
            rc = nglm_error_set(err, "%s:%zu: %s has changed since the mixture was written "
                                "(%llu bytes, CRC %08x; the manifest says %llu, %08x)", path,
                                lineno, full, (unsigned long long)got_size, got_crc, size,
                                crc);
            break;
        }
        struct stat st;
        if (stat(full, &st) == 0)
            for (size_t k = 0; k < n; k++)
                if (seen[k].st_dev == st.st_dev && seen[k].st_ino == st.st_ino) {
                    rc = nglm_error_set(err, "%s:%zu: %s is model %zu already: the same "
                                        "file twice", path, lineno, full, k + 1);
                    break;
                }
        if (rc != 0)
            break;
        seen[n] = st;
        if (!(comp[n] = nglm_lm_open(full, flags, err))) {
            rc = -1;
            break;
        }
        w[n++] = weight;
    }
    if (rc == 0 && ferror(fp))
        rc = nglm_error_set(err, "%s: read error", path);
    if (rc == 0 && n == 0)
        rc = nglm_error_set(err, "%s: a mixture of no models", path);
    fclose(fp);
    free(dir);
    if (rc != 0) {
        for (size_t k = 0; k < n; k++)
            nglm_lm_free(comp[k]);
        return NULL;
    }
    nglm_lm *lm = nglm_lm_mix_new(comp, w, n, err);
    if (!lm) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        nglm_error_set(err, "%s: %s", path, msg);
    }
    return lm;
}

/* to, relative to the directory from (both absolute, canonical), in buf. */
static void relative(const char *from, const char *to, char *buf, size_t n)
{
    if (strcmp(from, "/") == 0) {
        snprintf(buf, n, "%s", to + 1);
        return;
    }
    size_t common = 0; /* the common directories end at from[common] ('/' or the end) */
    for (size_t i = 0;; i++) {
        if ((from[i] == '/' || from[i] == '\0') && to[i] == '/')
            common = i;
        if (from[i] == '\0' || from[i] != to[i])
            break;
    }
    buf[0] = '\0';
    size_t used = 0;
    for (const char *p = from + common; *p; p++)
        if (*p == '/')
            used += (size_t)snprintf(buf + used, used < n ? n - used : 0, "../");
    snprintf(buf + used, used < n ? n - used : 0, "%s", to + common + 1);
}

int nglm_lm_mix_save(const nglm_lm *lm, const char *path, nglm_error *err)
{
    size_t n = nglm_lm_mix_size(lm);
    if (n == 0)
        return nglm_error_set(err, "only a mixture is saved as a manifest");
    const mix *x = lm->impl;
    char *dir = dir_of(path);
    char absdir[PATH_MAX];
    if (!dir || !realpath(dir, absdir)) {
        int e = errno;
        free(dir);
        return nglm_error_set(err, "%s: %s", path, strerror(e));
    }
    free(dir);
    char *text = NULL;
    size_t text_len = 0;
    FILE *mem = open_memstream(&text, &text_len);
    if (!mem)
        return nglm_error_set(err, "out of memory");
    fprintf(mem, "%s\n# a mixture of %zu models (nglm-eval --write-mix): WEIGHT SIZE CRC32 "
            "PATH, PATH relative to this file\n", MANIFEST_MAGIC, n);
    int rc = 0;
    for (size_t k = 0; k < n && rc == 0; k++) {
        const char *cp = x->c[k]->path;
        char abs[PATH_MAX], rel[2 * PATH_MAX];
        uint64_t size;
        uint32_t crc;
        if (!cp)
            rc = nglm_error_set(err, "model %zu of the mixture was not opened from a file",
                                k + 1);
        else if (!realpath(cp, abs))
            rc = nglm_error_set(err, "%s: %s", cp, strerror(errno));
        else if (file_sum(abs, &size, &crc, err) != 0)
            rc = -1;
        if (rc != 0)
            break;
        relative(absdir, abs, rel, sizeof rel);
        fprintf(mem, "%.17g %llu %08x %s\n", x->w[k], (unsigned long long)size, crc, rel);
    }
    fclose(mem);
    if (rc == 0) {
        FILE *fp = fopen(path, "w");
        if (!fp)
            rc = nglm_error_set(err, "%s: %s", path, strerror(errno));
        else {
            int bad = fwrite(text, 1, text_len, fp) != text_len;
            bad |= fclose(fp) != 0;
            if (bad) {
                rc = nglm_error_set(err, "%s: write error", path);
                remove(path);
            }
        }
    }
    free(text);
    return rc;
}
