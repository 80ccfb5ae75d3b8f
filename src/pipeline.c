/*
 * pipeline.c — the training pipeline of nglm/pipeline.h: the stages that
 * nglm-train, the examples and bindings share, with the defaults and the
 * decisions (held-out slice, order, cutoffs under a memory limit, start,
 * cache) that make a model the way nglm-train makes it.
 *
 * Each stage reads what the previous ones left in the nglm_pipeline and
 * fails with a message, never exits; the stage lines go to opt.out.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "classlm_core.h"
#include "dist.h"
#include "nglm/cache.h"
#include "nglm/cluster.h"
#include "nglm/idcache.h"
#include "nglm/lm.h"
#include "nglm/modelfile.h"
#include "nglm/options.h"
#include "nglm/pipeline.h"
#include "nglm/vocab.h"

nglm_pipeline_options nglm_pipeline_options_default(void)
{
    nglm_pipeline_options o;
    memset(&o, 0, sizeof o);
    o.tok = nglm_tok_options_default();
    o.order = NGLM_PIPELINE_ORDER;
    o.order_auto = 1;
    o.n_skip = -1;
    /* 4, not 2: on PTB 1.45x faster training for +0.3% test ppl, since a
     * skip-gram's cost is its successor list, per token (bench/RESULTS.md) */
    o.skip_cutoff = NGLM_PIPELINE_SKIP_CUTOFF;
    o.init_kn = 1;
    o.schedule_auto = 1;
    o.tr = nglm_train_options_default();
    o.tr.max_epochs = -1;
    o.tr.lr = NAN;
    o.tr.ada_init = NAN;
    return o;
}

/* An integer of min..max, as the option table reads them. */
static int parse_u32(const char *s, long min, long max, uint32_t *out, nglm_error *err)
{
    long v;
    if (nglm_parse_long(s, min, max, &v, err) != 0)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

int nglm_pipeline_parse_cutoffs(const char *s, uint32_t *cutoff, nglm_error *err)
{
    char buf[256];
    if (strlen(s) >= sizeof buf)
        return nglm_error_set(err, "list too long");
    strcpy(buf, s);
    int m = 2;
    uint32_t last = 1;
    for (char *tok = buf, *comma;; tok = comma + 1) {
        /* split at commas; an empty item is an error, not skipped */
        comma = strchr(tok, ',');
        if (comma)
            *comma = '\0';
        if (m > NGLM_MAX_ORDER)
            return nglm_error_set(err, "more values than orders");
        if (parse_u32(tok, 1, UINT32_MAX, &last, err) != 0)
            return -1;
        if (m > 2 && last < cutoff[m - 1])
            return nglm_error_set(err, "values must not decrease");
        cutoff[m++] = last;
        if (!comma)
            break;
    }
    for (; m <= NGLM_MAX_ORDER; m++)
        cutoff[m] = last;
    return 0;
}

int nglm_pipeline_parse_features(const char *s, nglm_pipeline_options *o, nglm_error *err)
{
    char buf[256];
    if (strlen(s) >= sizeof buf)
        return nglm_error_set(err, "list too long");
    strcpy(buf, s);
    o->n_skip = 0;
    int have_ngram = 0;
    for (char *tok = buf, *comma; tok; tok = comma ? comma + 1 : NULL) {
        comma = strchr(tok, ',');
        if (comma)
            *comma = '\0';
        if (strcmp(tok, "ngram") == 0) {
            have_ngram = 1;
        } else if (strncmp(tok, "skip", 4) == 0 && tok[4] >= '2' && tok[4] <= '9' && !tok[5]) {
            int d = tok[4] - '0';
            for (int i = 0; i < o->n_skip; i++)
                if (o->skip_dist[i] == d)
                    return nglm_error_set(err, "'%s' given twice", tok);
            if (o->n_skip == NGLM_MAX_SKIP)
                return nglm_error_set(err, "at most %d skip templates",
                                      NGLM_MAX_SKIP);
            o->skip_dist[o->n_skip++] = d;
        } else {
            return nglm_error_set(err, "unknown template '%s' (ngram, skip2 .. "
                                  "skip9)", tok);
        }
    }
    if (!have_ngram)
        return nglm_error_set(err, "the list must include ngram");
    return 0;
}

/* ---------------------------------------------------------------- reporting */

static void say(const nglm_pipeline *P, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const nglm_pipeline *P, const char *fmt, ...)
{
    if (!P->opt.out)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(P->opt.out, fmt, ap);
    va_end(ap);
}

static void flush(const nglm_pipeline *P)
{
    if (P->opt.out)
        fflush(P->opt.out);
}

static void warn(const nglm_pipeline *P, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(const nglm_pipeline *P, const char *fmt, ...)
{
    if (!P->opt.warn)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    P->opt.warn(msg, P->opt.user);
}

static const char *train_name(const nglm_pipeline *P)
{
    return P->opt.train_name ? P->opt.train_name : P->opt.train;
}

/* ----------------------------------------------------------------- options */

/* The defaults of the start where the options leave them, as measured on
 * PTB (bench/RESULTS.md); --min-gain and --halve-from are the halving
 * schedule's. */
static int fill_defaults(nglm_pipeline_options *o, nglm_error *err)
{
    if (o->classes) { /* Model M: its own defaults, filled in by nglm_pipeline_classlm */
        if (o->n_skip > 0)
            return nglm_error_set(err, "Model M (classes) has n-gram features only: skip-gram "
                                  "templates are not supported (features ngram)");
        if (o->order_auto)
            o->order = NGLM_PIPELINE_ORDER;
#ifdef _OPENMP
        if (o->tr.threads <= 0)
            o->tr.threads = omp_get_max_threads();
#endif
        return 0;
    }
    if (o->n_skip < 0) { /* measured best on PTB */
        o->n_skip = 2;
        o->skip_dist[0] = 2;
        o->skip_dist[1] = 3;
        if (o->best) /* --best: and skip4, unless the templates are given */
            o->skip_dist[o->n_skip++] = 4;
    }
    if (o->best) {
        if (!o->init_kn)
            return nglm_error_set(err, "best goes with the Kneser-Ney start (init kn), not zero");
        if (o->tr.max_epochs < 0)
            o->tr.max_epochs = NGLM_PIPELINE_BEST_EPOCHS;
    }
    if (!o->schedule_auto && o->halving_given && o->tr.schedule == NGLM_SCHEDULE_LINEAR)
        return nglm_error_set(err, "min-gain and halve-from go with the halving schedule "
                              "(schedule halve), not linear");
    if (o->schedule_auto)
        o->tr.schedule = o->init_kn && !o->halving_given ? NGLM_SCHEDULE_LINEAR
                                                         : NGLM_SCHEDULE_HALVE;
    if (o->tr.max_epochs < 0)
        o->tr.max_epochs = o->tr.schedule != NGLM_SCHEDULE_LINEAR ? NGLM_PIPELINE_ZERO_EPOCHS
                           : o->n_skip > 0 ? NGLM_PIPELINE_KN_EPOCHS
                                           : NGLM_PIPELINE_KN_EPOCHS_NGRAM;
    if (isnan(o->tr.lr))
        o->tr.lr = o->init_kn ? NGLM_PIPELINE_KN_LR : NGLM_PIPELINE_ZERO_LR;
    if (isnan(o->tr.ada_init))
        o->tr.ada_init = o->init_kn ? NGLM_PIPELINE_KN_ADA_INIT : NGLM_PIPELINE_ZERO_ADA_INIT;
    /* from zero, 5-grams and longer seen once are left out: on PTB the same
     * test ppl (136.91 against 137.11) with 41% less memory and 5-10%
     * shorter epochs; from Kneser-Ney every n-gram is kept, so that the
     * start is the whole of lmplz's model (PTB: 136.48 against 136.70
     * after the default epoch) */
    if (o->cutoff[2] == 0)
        for (int m = 0; m <= NGLM_MAX_ORDER; m++)
            o->cutoff[m] = !o->init_kn && m >= 5 ? 2 : 1;
    if (o->tr.threads <= 0) {
#ifdef _OPENMP
        o->tr.threads = omp_get_max_threads();
#else
        o->tr.threads = 1;
#endif
    }
    return 0;
}

int nglm_pipeline_init(nglm_pipeline *P, const nglm_pipeline_options *opt, nglm_error *err)
{
    memset(P, 0, sizeof *P);
    P->opt = *opt;
    P->kn_valid_ppl = P->kn_test_ppl = P->cache_valid_ppl = NAN;
    P->model.tok = opt->tok;
    nglm_pipeline_options *o = &P->opt;
    if (!o->train)
        return nglm_error_set(err, "no training text");
    if (o->order < 1 || o->order > NGLM_MAX_ORDER)
        return nglm_error_set(err, "order %d is out of range (1..%d)", o->order,
                              NGLM_MAX_ORDER);
    if (o->n_skip > NGLM_MAX_SKIP)
        return nglm_error_set(err, "at most %d skip-gram templates", NGLM_MAX_SKIP);
    for (int m = 3; m <= NGLM_MAX_ORDER && o->cutoff[2] != 0; m++)
        if (o->cutoff[m] < o->cutoff[m - 1])
            return nglm_error_set(err, "the minimum counts (cutoffs) must not decrease");
    P->cutoffs_given = o->cutoff[2] != 0;
    return fill_defaults(o, err);
}

/* -------------------------------------------------------------- vocabulary */

/* --cache DIR: creates DIR if it does not exist. */
static int open_id_cache(const char *dir, nglm_error *err)
{
    struct stat st;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return nglm_error_errno(err, errno, "id cache %s", dir);
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return nglm_error_set(err, "id cache %s: not a directory", dir);
    if (access(dir, W_OK | X_OK) != 0)
        return nglm_error_errno(err, errno, "id cache %s", dir);
    return 0;
}

/* The vocabulary counted from the training text and finalized; with an id
 * cache, loaded from it when the same text and options made one. */
static nglm_vocab *count_vocab(const nglm_pipeline *P, nglm_error *err)
{
    const nglm_pipeline_options *o = &P->opt;
    char path[4200 + 64];
    if (o->id_cache) {
        if (nglm_idcache_vocab_path(path, sizeof path, o->id_cache, o->train, &o->tok,
                                    o->min_count, o->max_vocab, err) != 0)
            return NULL;
        if (access(path, F_OK) == 0) {
            nglm_vocab *v = nglm_vocab_load(path, err);
            if (v) {
                say(P, "vocabulary: from the cache %s\n", path);
                return v;
            }
            warn(P, "warning: cache: %s; counting again", err->msg);
        }
    }
    nglm_vocab *v = nglm_vocab_new();
    char title[128];
    snprintf(title, sizeof title, "counting %.100s", train_name(P));
    nglm_progress p = nglm_pipeline_stage_begin(P, title, "MB", 1e-6);
    int rc = v ? nglm_vocab_count_file_threads(v, o->train, &o->tok, o->tr.threads, &p, NULL, err)
               : nglm_error_set(err, "out of memory");
    nglm_pipeline_stage_end(P);
    if (rc != 0 || nglm_vocab_finalize(v, o->min_count, o->max_vocab, err) != 0 ||
        (o->id_cache && nglm_idcache_save_vocab(v, path, err) != 0 &&
         nglm_error_prefix(err, "cache") != 0)) {
        nglm_vocab_free(v);
        return NULL;
    }
    return v;
}

int nglm_pipeline_vocab(nglm_pipeline *P, nglm_error *err)
{
    const nglm_pipeline_options *o = &P->opt;
    if (o->id_cache && open_id_cache(o->id_cache, err) != 0)
        return -1;
    P->model.vocab = o->vocab ? nglm_vocab_load(o->vocab, err) : count_vocab(P, err);
    if (!P->model.vocab)
        return -1;
    say(P, "vocabulary: %d words (specials included)\n", (int)nglm_vocab_size(P->model.vocab));
    return 0;
}

/* ------------------------------------------------------------------- texts */

/* The sentences sents[0..n) of c as a corpus of their own. */
static int corpus_subset(const nglm_corpus *c, const size_t *sents, size_t n, nglm_corpus *out)
{
    memset(out, 0, sizeof *out);
    size_t tokens = 0;
    for (size_t i = 0; i < n; i++)
        tokens += c->start[sents[i] + 1] - c->start[sents[i]];
    out->ids = malloc((tokens ? tokens : 1) * sizeof *out->ids);
    out->start = malloc((n + 1) * sizeof *out->start);
    if (!out->ids || !out->start)
        return -1;
    size_t t = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const int32_t *s = nglm_corpus_sentence(c, sents[i], &len);
        out->start[i] = t;
        memcpy(out->ids + t, s, len * sizeof *s);
        t += len;
        for (size_t j = 0; j + 1 < len; j++)
            out->n_oov += s[j] == NGLM_UNK; /* approximate: literal <unk> counts too */
    }
    out->start[n] = t;
    out->n_sents = n;
    out->n_tokens = t;
    out->n_words = t - n;
    return 0;
}

/* Holds out every 20th sentence of a seeded rotation as validation text. */
static int hold_out(nglm_corpus *train, nglm_corpus *valid, uint64_t seed, nglm_error *err)
{
    size_t n = train->n_sents, nv = n / 20 ? n / 20 : (n > 1 ? 1 : 0), nt = n - nv;
    if (nv == 0)
        return nglm_error_set(err, "the training text has only %zu sentence(s): give a "
                              "validation text", n);
    size_t *keep = malloc(nt * sizeof *keep), *held = malloc(nv * sizeof *held);
    nglm_corpus t2, v2;
    memset(&t2, 0, sizeof t2);
    memset(&v2, 0, sizeof v2);
    int rc = -1;
    if (keep && held) {
        size_t offset = (size_t)(seed % 20), a = 0, b = 0;
        for (size_t s = 0; s < n; s++) {
            if (s % 20 == offset && b < nv)
                held[b++] = s;
            else if (a < nt)
                keep[a++] = s;
            else
                held[b++] = s;
        }
        rc = corpus_subset(train, keep, nt, &t2) == 0 && corpus_subset(train, held, nv, &v2) == 0
                 ? 0 : -1;
    }
    free(keep);
    free(held);
    if (rc != 0) {
        nglm_corpus_free(&t2);
        nglm_corpus_free(&v2);
        return nglm_error_set(err, "out of memory");
    }
    nglm_corpus_free(train);
    *train = t2;
    *valid = v2;
    return 0;
}

/* Reads a text's id stream, or with an id cache maps it from the cache
 * (and fills the cache the first time). */
static int read_corpus(const nglm_pipeline *P, nglm_corpus *c, const char *path,
                       const char *shown, const nglm_tok_options *tok, const char *what,
                       nglm_error *err)
{
    const nglm_pipeline_options *o = &P->opt;
    const nglm_vocab *v = P->model.vocab;
    int hit = 0, cached = o->id_cache && strcmp(path, "-") != 0, rc;
    char title[128];
    snprintf(title, sizeof title, "reading %.100s", path);
    nglm_progress p = nglm_pipeline_stage_begin(P, title, "MB", 1e-6);
    if (cached) {
        rc = nglm_idcache_corpus(c, o->id_cache, path, tok, v, &hit, err);
        if (rc == 0 && hit < 0)
            warn(P, "warning: cache: %s; read the text again and replaced it", err->msg);
    } else {
        rc = nglm_corpus_read_progress(c, path, tok, v, &p, err);
    }
    nglm_pipeline_stage_end(P);
    if (rc != 0)
        return -1;
    say(P, "%s %s: %zu sentences, %llu words, %llu OOVs, %zu tokens%s\n", what, shown,
        c->n_sents, (unsigned long long)c->n_words, (unsigned long long)c->n_oov, c->n_tokens,
        !cached ? "" : hit > 0 ? " (mapped from the cache)" : " (cached)");
    return 0;
}

int nglm_pipeline_texts(nglm_pipeline *P, nglm_error *err)
{
    const nglm_pipeline_options *o = &P->opt;
    if (read_corpus(P, &P->train, o->train, train_name(P), &o->tok, "train", err) != 0)
        return -1;
    if (P->train.n_tokens == 0)
        return nglm_error_set(err, "%s: no sentences to train on", train_name(P));
    P->train_read_sents = P->train.n_sents;
    if (o->valid) {
        const char *name = o->valid_name ? o->valid_name : o->valid;
        if (read_corpus(P, &P->valid, o->valid, name, &o->tok, "valid", err) != 0)
            return -1;
        if (P->valid.n_tokens == 0)
            return nglm_error_set(err, "%s: no sentences to validate on", name);
    } else {
        if (hold_out(&P->train, &P->valid, o->tr.seed, err) != 0)
            return -1;
        say(P, "valid: %zu sentences (%zu tokens) held out of the training text; "
            "training on the other %zu of its %llu sentences, %zu tokens\n", P->valid.n_sents,
            P->valid.n_tokens, P->train.n_sents, (unsigned long long)P->train_read_sents,
            P->train.n_tokens);
    }
    if (o->test) {
        nglm_tok_options test_tok = o->tok;
        test_tok.keep_blank = 1; /* as nglm-eval reads it: a blank line is an empty sentence */
        if (read_corpus(P, &P->test, o->test, o->test_name ? o->test_name : o->test, &test_tok,
                        "test", err) != 0)
            return -1;
        P->have_test = 1;
    }
    return 0;
}

/* ---------------------------------------------------------------- features */

static int build_once(const nglm_pipeline *P, nglm_features *F, int order,
                      const uint32_t *cutoff, uint32_t skip_cutoff, nglm_error *err)
{
    const nglm_pipeline_options *o = &P->opt;
    char title[64];
    snprintf(title, sizeof title, "counting %d-grams", order);
    nglm_progress p = nglm_pipeline_stage_begin(P, title, "tokens", 1);
    nglm_count_opts co = {o->tr.threads, o->count_memory, o->temp_dir, &p};
    int32_t V = (int32_t)nglm_vocab_size(P->model.vocab);
    int rc = nglm_features_build_with(F, &P->train, V, order, cutoff, &co, err) != 0 ||
                     (o->n_skip > 0 && nglm_features_add_skips_with(F, &P->train, o->n_skip,
                                                                    o->skip_dist, skip_cutoff,
                                                                    &co, err) != 0)
                 ? -1 : 0;
    nglm_pipeline_stage_end(P);
    return rc;
}

/* "512 KB", "3.4 MB" */
static const char *mem_str(double bytes, char *buf, size_t n)
{
    if (bytes < 1024.0)
        snprintf(buf, n, "%.0f bytes", bytes);
    else if (bytes < 1048576.0)
        snprintf(buf, n, "%.0f KB", bytes / 1024.0);
    else
        snprintf(buf, n, "%.1f MB", bytes / 1048576.0);
    return buf;
}

/* "2,2,3" for the 2-gram.. cutoffs */
static const char *cutoff_list(const uint32_t *cutoff, int order, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int k = 2; k <= order && len + 12 < n; k++)
        len += (size_t)snprintf(buf + len, n - len, "%s%u", k > 2 ? "," : "", cutoff[k]);
    return buf;
}

/* The next cutoffs when the model does not fit: (1,1,1,1) → (1,1,1,2) →
 * (1,1,2,2) → ... → (2,2,2,2) → (2,2,2,3): widen the plateau of the
 * largest cutoff down to the 2-grams, then raise the longest order again
 * (each level 1 → 2 → 3 → 5 → 8 ...). */
static void raise_cutoffs(uint32_t *cut, int order)
{
    uint32_t top = cut[order];
    int k = order;
    while (k > 2 && cut[k - 1] == top)
        k--;
    if (k > 2 || cut[2] != top) {
        cut[k - (cut[k] == top ? 1 : 0)] = top;
    } else {
        uint32_t next = top + (top + 1) / 2;
        for (int j = order; j <= NGLM_MAX_ORDER; j++)
            cut[j] = next;
    }
}

/* The feature index, within max_memory if one is given: the cutoffs rise
 * (raise_cutoffs), the skip-gram cutoff with the longest order's, until the
 * estimate of nglm_train_memory (index and training state) fits. */
static int build_features(nglm_pipeline *P, nglm_error *err)
{
    nglm_pipeline_options *o = &P->opt;
    nglm_features *F = &P->model.feat;
    if (build_once(P, F, o->order, o->cutoff, o->skip_cutoff, err) != 0)
        return -1;
    if (!o->max_memory)
        return 0;
    size_t need = nglm_train_memory(F, &o->tr), first = need;
    uint32_t cut[NGLM_MAX_ORDER + 1];
    memcpy(cut, o->cutoff, sizeof cut);
    uint32_t skip_cut = o->skip_cutoff;
    char list[128];
    /* until it fits, or no n-gram or skip-gram feature is left to cut */
    for (int round = 0; need > o->max_memory && round < 64 && o->order > 1 &&
                        F->n_feat > (size_t)F->V; round++) {
        raise_cutoffs(cut, o->order);
        if (skip_cut < cut[o->order])
            skip_cut = cut[o->order];
        nglm_features_free(F);
        if (build_once(P, F, o->order, cut, skip_cut, err) != 0)
            return -1;
        need = nglm_train_memory(F, &o->tr);
    }
    char a[32], b[32], c[32];
    if (need > o->max_memory && F->n_feat <= (size_t)F->V)
        return nglm_error_set(err, "a memory limit of %s: the model needs %s even with "
                              "unigrams alone (no minimum count helps); give at least that "
                              "much, or lower the vocabulary size", mem_str((double)o->max_memory, a, sizeof a),
                              mem_str((double)need, b, sizeof b));
    if (need > o->max_memory)
        return nglm_error_set(err, "a memory limit of %s: the model needs %s even with the minimum "
                              "counts %s; give at least that much, or lower the order or the "
                              "vocabulary size",
                              mem_str((double)o->max_memory, a, sizeof a),
                              mem_str((double)need, b, sizeof b),
                              cutoff_list(cut, o->order, list, sizeof list));
    if (memcmp(cut, o->cutoff, sizeof cut) != 0) {
        memcpy(o->cutoff, cut, sizeof cut);
        o->skip_cutoff = skip_cut;
        say(P, "max-memory: %s would not fit in %s: using --cutoffs %s --skip-cutoff %u (%s)\n",
            mem_str((double)first, a, sizeof a), mem_str((double)o->max_memory, b, sizeof b),
            cutoff_list(cut, o->order, list, sizeof list), skip_cut,
            mem_str((double)need, c, sizeof c));
    }
    return 0;
}

/* Kneser-Ney as nglm-train estimates it: the n-grams below the cutoffs
 * pruned as lmplz's --prune would (prune[m] = cutoff[m] − 1), lmplz's
 * discount statistics, the fallback discounts where a text is too small. */
static nglm_kn_options kn_options(const nglm_pipeline *P)
{
    nglm_kn_options ko = nglm_kn_options_default();
    ko.threads = P->opt.tr.threads;
    ko.text = &P->train;
    ko.fallback = 1; /* a text too small for the discounts still trains */
    for (int m = 2; m <= P->opt.order; m++) /* Model M keeps every n-gram */
        ko.prune[m] = P->opt.classes ? 0 : P->opt.cutoff[m] - 1;
    return ko;
}

/* The index of every n-gram of the text up to opt.order, which Kneser-Ney
 * needs: with every cutoff 1, a view of the model's own index before its
 * skip-grams; otherwise a view of kn_all, counted once for the order choice
 * and the start (a view at a lower order holds what an index of that order
 * would).  Nothing to free. */
static int count_kn_all(nglm_pipeline *P, nglm_error *err)
{
    const nglm_pipeline_options *o = &P->opt;
    nglm_progress p = nglm_pipeline_stage_begin(P, "counting n-grams for Kneser-Ney", "tokens", 1);
    nglm_count_opts co = {o->tr.threads, o->count_memory, o->temp_dir, &p};
    int rc = nglm_features_build_with(&P->kn_all, &P->train,
                                      (int32_t)nglm_vocab_size(P->model.vocab), o->order, NULL,
                                      &co, err);
    nglm_pipeline_stage_end(P);
    if (rc != 0)
        return -1;
    P->have_kn_all = 1;
    return 0;
}

static int kn_index(nglm_pipeline *P, nglm_features *all, nglm_error *err)
{
    const nglm_pipeline_options *o = &P->opt;
    int all_ones = 1;
    for (int m = 2; m <= o->order; m++)
        all_ones &= o->cutoff[m] == 1;
    if (all_ones && !o->classes) { /* Model M builds no word index here */
        *all = nglm_features_ngram_view(&P->model.feat, o->order);
        return 0;
    }
    if (!P->have_kn_all && count_kn_all(P, err) != 0)
        return -1;
    *all = nglm_features_ngram_view(&P->kn_all, o->order);
    return 0;
}

/* --order auto: the order from 2 (or what the skip-gram templates need) up
 * to opt.order whose Kneser-Ney model has the lowest validation perplexity;
 * the index is built again at that order when it is lower.  Keeps that
 * model for kn_start (have_chosen), unless there was nothing to choose. */
static int choose_order(nglm_pipeline *P, nglm_error *err)
{
    nglm_pipeline_options *o = &P->opt;
    int lo = 2;
    for (int i = 0; i < o->n_skip; i++)
        if (o->skip_dist[i] - 2 > lo)
            lo = o->skip_dist[i] - 2; /* a template reaches at most order + 2 back */
    if (lo >= o->order)
        return 0;
    nglm_features all;
    if (kn_index(P, &all, err) != 0)
        return -1;
    nglm_kn_options ko = kn_options(P);
    /* not above what the text has n-grams for (no sentence is long enough) */
    int hi = o->order;
    while (hi > lo && all.ctx_order_start[hi - 1] == all.ctx_order_start[hi - 2])
        hi--;
    double ppl[NGLM_MAX_ORDER + 1];
    int best = nglm_kn_best_order(&all, &P->valid, lo, hi, &ko, ppl, &P->chosen, err);
    if (best < 0)
        return -1;
    P->have_chosen = 1;
    P->kn_valid_ppl = ppl[best]; /* the word model's start measures it again */
    say(P, "order %d, of %d..%d by Kneser-Ney's validation ppl (", best, lo, hi);
    for (int k = lo; k <= hi; k++)
        say(P, "%s%d: %.2f", k > lo ? ", " : "", k, ppl[k]);
    say(P, "; --order N fixes it)\n");
    flush(P);
    if (best < o->order) {
        o->order = best;
        if (o->classes) /* Model M builds its own indexes */
            return 0;
        nglm_features_free(&P->model.feat);
        return build_features(P, err);
    }
    return 0;
}

/* The "features:" and "training:" lines. */
static void print_features(const nglm_pipeline *P)
{
    const nglm_pipeline_options *o = &P->opt;
    const nglm_features *F = &P->model.feat;
    say(P, "features: %zu (", F->n_feat);
    for (int k = 0; k < o->order; k++) {
        size_t n = k == 0 ? (size_t)F->V
                          : F->ctx_first[F->ctx_order_start[k]] -
                                F->ctx_first[F->ctx_order_start[k - 1]];
        say(P, "%s%d-grams %zu", k ? ", " : "", k + 1, n);
    }
    for (int i = 0; i < F->n_skip; i++)
        say(P, ", skip%d %u", F->skip_dist[i], F->skip_first[i][F->V] - F->skip_first[i][0]);
    say(P, "), %zu contexts, %.1f bytes/feature in the index\n", F->n_ctx,
        (double)nglm_features_bytes(F) / (double)F->n_feat);
    say(P, "training: order %d, %d threads", o->order, o->tr.threads);
    if (nglm_dist_size() > 1)
        say(P, " x %d MPI ranks", nglm_dist_size());
}

/* --init kn: interpolated modified Kneser-Ney from every n-gram of the
 * training text (kn_options; choose_order's estimate if there is one),
 * converted to the n-gram features' weights (doc/model.md §6; skip-grams
 * start at 0), with its perplexities of the validation and test texts. */
static int kn_start(nglm_pipeline *P, nglm_error *err)
{
    const nglm_pipeline_options *o = &P->opt;
    const nglm_features *F = &P->model.feat;
    nglm_kn_options ko = kn_options(P);
    nglm_features all;
    if (kn_index(P, &all, err) != 0)
        return -1;
    nglm_kn kn;
    memset(&kn, 0, sizeof kn);
    int rc = -1;
    P->init = malloc(F->n_feat * sizeof *P->init);
    if (!P->init) {
        nglm_error_set(err, "out of memory");
        goto out;
    }
    if (P->have_chosen) {
        kn = P->chosen;
        P->have_chosen = 0; /* now kn's, freed below */
    } else if (nglm_kn_estimate(&kn, &all, &ko, err) != 0) {
        goto out;
    }
    if (nglm_kn_weights_for(&kn, &all, F, P->init, err) != 0)
        goto out;
    P->kn_valid_ppl = nglm_kn_perplexity(&kn, &all, &P->valid);
    P->kn_test_ppl = P->have_test ? nglm_kn_perplexity(&kn, &all, &P->test) : NAN;
    say(P, "Kneser-Ney start: valid ppl %.2f", P->kn_valid_ppl);
    if (P->have_test)
        say(P, ", test ppl %.2f", P->kn_test_ppl);
    say(P, " (discounts");
    for (int m = 1; m <= o->order; m++)
        say(P, " %d: %.3g %.3g %.3g%s", m, kn.D[m][1], kn.D[m][2], kn.D[m][3],
            kn.fallback_used[m] ? " (fallback)" : "");
    say(P, ")\n");
    flush(P);
    rc = 0;
out:
    nglm_kn_free(&kn);
    if (P->have_kn_all) { /* the start was the last to need it */
        nglm_features_free(&P->kn_all);
        P->have_kn_all = 0;
    }
    return rc;
}

int nglm_pipeline_features(nglm_pipeline *P, nglm_error *err)
{
    nglm_pipeline_options *o = &P->opt;
    if (build_features(P, err) != 0 || (o->order_auto && o->init_kn && choose_order(P, err) != 0))
        return -1;
    print_features(P);
    say(P, ", batch %zu%s, l1 %g, l2 %g, lr %g\n",
        o->tr.batch ? o->tr.batch : nglm_train_auto_batch(P->train.n_tokens),
        o->tr.batch ? "" : " (auto)", o->tr.l1, o->tr.l2, o->tr.lr);
    flush(P);
    if (o->init_kn && kn_start(P, err) != 0)
        return -1;
    o->tr.init = P->init;
    return 0;
}

/* ---------------------------------------------------------------- training */

int nglm_pipeline_train(nglm_pipeline *P, nglm_error *err)
{
    return nglm_train(&P->model, &P->train, &P->valid, &P->opt.tr, err);
}

/* log10 P of every token of c under m (malloc'd), or NULL. */
static double *score10(const nglm_model *m, const nglm_corpus *c, int threads, nglm_error *err)
{
    double *lp = malloc((c->n_tokens ? c->n_tokens : 1) * sizeof *lp);
    nglm_lm *lm = lp ? nglm_lm_from_model((nglm_model *)m, 0, err) : NULL;
    if (!lp)
        nglm_error_set(err, "out of memory");
    if (!lm || nglm_lm_score_corpus10(lm, c, lp, NULL, threads, NULL, err) != 0) {
        free(lp);
        lp = NULL;
    }
    nglm_lm_free(lm);
    return lp;
}

/* eval_cache: the cache that suits the validation text best
 * (nglm_cache_choose), recorded in the model (nglm-eval --cache model),
 * and the validation perplexity with it. */
static int choose_cache(nglm_pipeline *P, nglm_error *err)
{
    nglm_model *m = &P->model;
    double *lv = score10(m, &P->valid, P->opt.tr.threads, err);
    if (!lv)
        return -1;
    memset(&m->cache, 0, sizeof m->cache);
    int rc = nglm_cache_choose(&P->valid, m->feat.V, lv, &m->cache, &P->cache_valid_ppl, err);
    free(lv);
    m->has_cache = rc == 0;
    return rc;
}

int nglm_pipeline_finish(nglm_pipeline *P, nglm_error *err)
{
    free(P->init);
    P->init = NULL;
    P->opt.tr.init = NULL;
    if (P->opt.eval_cache && choose_cache(P, err) != 0)
        return -1;
    return nglm_model_prune(&P->model, &P->pruned, err);
}

int nglm_pipeline_run(nglm_pipeline *P, nglm_error *err)
{
    if (nglm_pipeline_vocab(P, err) != 0 || nglm_pipeline_texts(P, err) != 0 ||
        nglm_pipeline_features(P, err) != 0 || nglm_pipeline_train(P, err) != 0)
        return -1;
    return nglm_pipeline_finish(P, err);
}

/* -------------------------------------------------------------------- test */

int nglm_pipeline_test(const nglm_pipeline *P, nglm_pipeline_test_result *r,
                       const nglm_progress *progress, nglm_error *err)
{
    memset(r, 0, sizeof *r);
    r->cache_ppl = NAN;
    if (!P->have_test)
        return nglm_error_set(err, "no test text");
    const nglm_model *m = &P->model;
    nglm_lm *lm = nglm_lm_from_model((nglm_model *)m, 0, err);
    if (!lm)
        return -1;
    int rc = nglm_lm_eval(lm, &P->test, P->opt.tr.threads, 0, progress, &r->report, err);
    if (rc != 0 || !m->has_cache || !P->opt.eval_cache) {
        nglm_lm_free(lm);
        return rc;
    }
    /* as nglm-eval --cache auto --heldout VALID TEST */
    nglm_eval_report with;
    nglm_lm *cached = nglm_lm_cache_new(lm, &m->cache, err);
    rc = cached ? nglm_lm_eval(cached, &P->test, P->opt.tr.threads, 0, NULL, &with, err) : -1;
    nglm_lm_free(cached);
    if (rc == 0) {
        r->cache_ppl = with.ppl;
        nglm_eval_report_free(&with);
    }
    return rc;
}

void nglm_pipeline_free(nglm_pipeline *P)
{
    free(P->init);
    if (P->have_chosen)
        nglm_kn_free(&P->chosen);
    if (P->have_kn_all)
        nglm_features_free(&P->kn_all);
    nglm_corpus_free(&P->train);
    nglm_corpus_free(&P->valid);
    nglm_corpus_free(&P->test);
    nglm_model_free(&P->model);
    memset(P, 0, sizeof *P);
}

/* ---------------------------------------------------------------- Model M */

/* The classes of opt.classes for Model M (cls: V entries, 1 .. *C, <s> 0):
 * a number N clusters the training text into N classes by the exchange
 * algorithm (nglm/cluster.h; its class 0, </s> alone, becomes a class like
 * the others), anything else is a class file. */
static int model_m_classes(nglm_pipeline *P, int32_t *cls, int32_t *C, size_t *unlisted,
                           nglm_error *err)
{
    const nglm_pipeline_options *po = &P->opt;
    const char *s = po->classes;
    int32_t V = (int32_t)nglm_vocab_size(P->model.vocab);
    *unlisted = 0;
    if (s[0] < '0' || s[0] > '9' || s[strspn(s, "0123456789")] != '\0')
        return nglm_classlm_read_classes(P->model.vocab, s, cls, C, unlisted, err);
    long n = strtol(s, NULL, 10);
    if (n < 2 || n > V - 2)
        return nglm_error_set(err, "%s classes: the number of classes must be 2 .. %ld "
                              "(the vocabulary's words and </s>)", s, (long)V - 2);
    nglm_cluster_options o = nglm_cluster_options_default();
    o.threads = po->tr.threads > 0 ? po->tr.threads : omp_get_max_threads();
    nglm_cluster_stats st;
    double t0 = nglm_wall_seconds();
    nglm_progress p = nglm_pipeline_stage_begin(P, "clustering the words", "passes", 1);
    int rc = nglm_cluster_exchange(&P->train, V, (int)n, &o, cls, &st, err);
    nglm_pipeline_stage_end(P);
    if (rc != 0)
        return -1;
    /* exchange classes 0 .. n-1 → 1 .. C, empty ones left out, <s> 0 */
    int32_t *map = calloc((size_t)n, sizeof *map);
    if (!map)
        return nglm_error_set(err, "out of memory");
    for (int32_t w = 0; w < V; w++)
        if (w != NGLM_BOS)
            map[cls[w]] = 1;
    *C = 0;
    for (long k = 0; k < n; k++)
        map[k] = map[k] ? ++*C : 0;
    for (int32_t w = 0; w < V; w++)
        cls[w] = w == NGLM_BOS ? 0 : map[cls[w]];
    free(map);
    (void)p;
    if (po->out)
        fprintf(po->out, "clustering: %ld classes, class bigram perplexity %.2f -> %.2f in %d "
                "passes, %.2f s\n", n, st.perplexity0, st.perplexity, st.passes,
                nglm_wall_seconds() - t0);
    return 0;
}

int nglm_pipeline_classlm(nglm_pipeline *P, nglm_classlm *m, int *stopped, nglm_error *err)
{
    const nglm_pipeline_options *po = &P->opt;
    nglm_vocab *v = P->model.vocab;
    int32_t V = (int32_t)nglm_vocab_size(v), C;
    size_t unlisted;
    int32_t *cls = malloc((size_t)V * sizeof *cls);
    if (!cls)
        return nglm_error_set(err, "out of memory");
    /* --order auto: as the word model's, by Kneser-Ney's validation ppl */
    int chose = po->order_auto && po->init_kn;
    if (chose && choose_order(P, err) != 0) {
        free(cls);
        return -1;
    }
    if (chose && P->have_chosen) { /* the word model's start; Model M makes its own */
        nglm_kn_free(&P->chosen);
        P->have_chosen = 0;
    }
    if (P->have_kn_all) {
        nglm_features_free(&P->kn_all);
        P->have_kn_all = 0;
    }
    /* Model M's default cutoffs: 4-grams and longer seen once left out.
     * PTB, 150 classes, order 5: test ppl 125.94 against 126.49 with every
     * n-gram, 2.03 million weights against 5.85 (bench/RESULTS.md) */
    uint32_t cut[NGLM_MAX_ORDER + 1];
    for (int k = 0; k <= NGLM_MAX_ORDER; k++)
        cut[k] = P->cutoffs_given ? po->cutoff[k] : k >= NGLM_PIPELINE_MODELM_CUT_ORDER ? 2 : 1;
    if (model_m_classes(P, cls, &C, &unlisted, err) != 0 ||
        nglm_classlm_build(m, v, &po->tok, cls, C, &P->train, po->order, cut, po->tr.threads,
                           err) != 0) {
        free(cls);
        return -1;
    }
    free(cls);
    P->model.vocab = NULL; /* m's now */
    if (!po->init_kn) /* --init zero: as the word model's, the unigram log-frequencies */
        nglm_classlm_init_unigrams(m);
    else if (nglm_classlm_init_kn(m, &P->train, po->tr.threads, err) != 0)
        return -1;
    if (po->out)
        fprintf(po->out, "Model M: %d classes", C);
    if (po->out && unlisted)
        fprintf(po->out, " (%zu words not in %s: one more class)", unlisted, po->classes);
    if (po->out)
        fprintf(po->out, ", order %d, "
                "%zu class n-grams, %zu word-to-class n-grams, %zu word n-grams, %.1f MiB\n",
                po->order, m->cc.n_feat, m->wc.n_feat, m->ww.n_feat,
                (double)nglm_classlm_bytes(m) / 1048576.0);
    nglm_classlm_train_options o = nglm_classlm_train_options_default();
    const nglm_train_options *t = &po->tr;
    o.l1 = t->l1;
    o.l2 = t->l2;
    if (!isnan(t->lr))
        o.lr = t->lr;
    if (!isnan(t->ada_init))
        o.ada_init = t->ada_init;
    /* from Kneser-Ney: the linear schedule over 4 epochs; from the unigrams:
     * halving, at most 15 (bench/RESULTS.md) */
    o.schedule = po->schedule_auto ? (po->init_kn && !po->halving_given ? NGLM_SCHEDULE_LINEAR
                                                                        : NGLM_SCHEDULE_HALVE)
                                   : t->schedule;
    if (o.schedule == NGLM_SCHEDULE_LINEAR)
        o.epochs = NGLM_PIPELINE_MODELM_KN_EPOCHS;
    if (t->max_epochs >= 0)
        o.epochs = t->max_epochs;
    if (t->batch > 0)
        o.batch = t->batch;
    if (po->halving_given)
        o.min_gain = t->min_gain;
    o.seed = t->seed;
    o.threads = t->threads;
    o.stop = t->stop;
    o.on_epoch = t->on_epoch;
    o.on_progress = t->on_progress;
    o.on_checkpoint = t->on_checkpoint;
    o.checkpoint_s = t->checkpoint_s;
    o.user = t->user;
    o.resume = t->resume;
    o.eval_start = po->init_kn;
    if (nglm_classlm_train(m, &P->train, &P->valid, &o, stopped, err) != 0)
        return -1;
    /* with --order auto, Kneser-Ney's validation ppl at this order is known:
     * a Model M that does not beat it says so */
    if (!*stopped && isfinite(P->kn_valid_ppl) && m->info.valid_ppl > P->kn_valid_ppl)
        warn(P, "warning: Model M's validation ppl %.2f is above Kneser-Ney's %.2f at order %d: "
                "try another number of classes, more epochs, or the word model (no --classes)",
             m->info.valid_ppl, P->kn_valid_ppl, po->order);
    return 0;
}

int nglm_pipeline_classlm_test(const nglm_pipeline *P, const nglm_classlm *m,
                               nglm_eval_report *r, nglm_error *err)
{
    if (!P->have_test)
        return nglm_error_set(err, "no test text");
    double *lp = malloc((P->test.n_tokens + 1) * sizeof *lp);
    if (!lp)
        return nglm_error_set(err, "out of memory");
    int rc = nglm_classlm_score_corpus10(m, &P->test, lp, P->opt.tr.threads, NULL, err) == 0 &&
                     nglm_eval_tokens(&P->test, NULL, lp, 0, r, err) == 0
                 ? 0 : -1;
    free(lp);
    return rc;
}
