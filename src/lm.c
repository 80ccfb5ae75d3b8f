/*
 * lm.c — the language-model interface (nglm/lm.h): opening a model file of
 * any kind through one table of formats, and everything written once over
 * the kinds' ops (src/lm_impl.h): reading texts, reports, sentences given
 * as strings, token scorers.
 *
 * nglm_lm_open streams a FIFO as ARPA (the only format that can be read
 * as a stream: sniffing would consume it) and gives a device to the nglm
 * reader, which says what it is; a regular file it asks each row of
 * `formats` in turn whether the file is its kind; a file no row claims (an empty
 * file, a KenLM binary file, a text) goes to the nglm model reader, whose
 * message says what it is and what an nglm model file is.
 */
#include "nglm/lm.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lm_impl.h"
#include "nglm/arpa.h"
#include "nglm/classlm.h"
#include "nglm/modelfile.h"

/* ---------------------------------------------------------------- formats */

typedef struct lm_format {
    const char *kind;
    int (*sniff)(const char *path);           /* 1: the file is this kind */
    nglm_lm *(*open)(const char *path, unsigned flags, nglm_error *err);
} lm_format;

/* A new format is one row; the first that claims a file opens it. */
static const lm_format formats[] = {
    {"nglm", nglm_model_file_is_native, nglm_lm_native_open},
    {"classlm", nglm_classlm_file_is, nglm_lm_classlm_open},
    {"mixture", nglm_lm_mix_file_is_manifest, nglm_lm_mix_open},
    {"arpa", nglm_arpa_file_is_arpa, nglm_lm_arpa_open},
};

/* lm (may be NULL: the open failed) with its path recorded. */
static nglm_lm *finish_open(nglm_lm *lm, const char *path, nglm_error *err)
{
    if (lm && !(lm->path = strdup(path))) {
        nglm_lm_free(lm);
        nglm_error_set(err, "out of memory");
        return NULL;
    }
    return lm;
}

nglm_lm *nglm_lm_open(const char *path, unsigned flags, nglm_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        nglm_error_set(err, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (S_ISDIR(st.st_mode)) {
        nglm_error_set(err, "%s: is a directory, not a language model file", path);
        return NULL;
    }
    if (S_ISFIFO(st.st_mode)) /* only ARPA can be streamed; sniffing would consume it */
        return finish_open(nglm_lm_arpa_open(path, flags, err), path, err);
    if (!S_ISREG(st.st_mode)) /* a device or socket: the nglm reader says what it is */
        return finish_open(nglm_lm_native_open(path, flags, err), path, err);
    const lm_format *f = &formats[0]; /* the nglm reader explains a file nobody claims */
    for (size_t i = 0; i < sizeof formats / sizeof *formats; i++)
        if (formats[i].sniff(path)) {
            f = &formats[i];
            break;
        }
    return finish_open(f->open(path, flags, err), path, err);
}

nglm_lm *nglm_lm_alloc(const nglm_lm_ops *ops, nglm_error *err)
{
    nglm_lm *lm = calloc(1, sizeof *lm);
    if (!lm) {
        nglm_error_set(err, "out of memory");
        return NULL;
    }
    lm->ops = ops;
    lm->order = 1;
    return lm;
}

void nglm_lm_free(nglm_lm *lm)
{
    if (!lm)
        return;
    if (lm->ops->free)
        lm->ops->free(lm);
    free(lm->path);
    free(lm);
}

/* ---------------------------------------------------------------- what it is */

const char *nglm_lm_kind(const nglm_lm *lm)
{
    return lm->ops->kind ? lm->ops->kind : nglm_lm_kind(lm->impl); /* NULL: borrowed */
}
const char *nglm_lm_path(const nglm_lm *lm) { return lm->path; }
const nglm_vocab *nglm_lm_vocab(const nglm_lm *lm) { return lm->vocab; }
nglm_tok_options nglm_lm_tok(const nglm_lm *lm) { return lm->tok; }
int nglm_lm_order(const nglm_lm *lm) { return lm->order; }
int nglm_lm_reach(const nglm_lm *lm) { return lm->reach > 0 ? lm->reach : lm->order - 1; }

int nglm_lm_tok_recorded(const nglm_lm *lm)
{
    if (nglm_lm_mix_size(lm)) /* read with its first component's tokenizer */
        return nglm_lm_tok_recorded(nglm_lm_mix_component(lm, 0));
    const char *kind = nglm_lm_kind(lm);
    return !(kind && strcmp(kind, "arpa") == 0 && nglm_tok_options_is_default(&lm->tok));
}

int nglm_lm_set_tok(nglm_lm *lm, const nglm_tok_options *tok, nglm_error *err)
{
    if (nglm_lm_tok_recorded(lm))
        return nglm_error_set(err, "%s records its tokenizer: its texts are read that way",
                              lm->path ? lm->path : "the model");
    lm->tok = *tok;
    return 0;
}

int nglm_lm_recorded_cache(const nglm_lm *lm, nglm_cache_spec *spec)
{
    return lm->ops->recorded_cache ? lm->ops->recorded_cache(lm, spec) : 0;
}

int nglm_lm_check(const nglm_lm *lm, nglm_error *err)
{
    return lm->ops->check ? lm->ops->check(lm, err) : 0;
}

/* ---------------------------------------------------------------- reading */

/* Lines in memory as a corpus read with tok and v, as nglm_corpus_read
 * reads a file with keep_blank: literal <s> and </s> skipped. */
static int read_lines(const nglm_tok_options *tok, const nglm_vocab *v,
                      const char *const *lines, size_t n, nglm_corpus *c, nglm_error *err)
{
    memset(c, 0, sizeof *c);
    nglm_tokenizer *t = nglm_tokenizer_new(tok);
    if (!t)
        return nglm_error_set(err, "out of memory for a tokenizer");
    size_t cap = 16;
    c->ids = malloc(cap * sizeof *c->ids);
    c->start = malloc((n + 1) * sizeof *c->start);
    if (!c->ids || !c->start)
        goto oom;
    c->start[0] = 0;
    for (size_t s = 0; s < n; s++) {
        size_t len = strlen(lines[s]);
        if (memchr(lines[s], '\n', len) && (len == 0 || memchr(lines[s], '\n', len) !=
                                                           lines[s] + len - 1)) {
            nglm_tokenizer_close(t);
            nglm_corpus_free(c);
            return nglm_error_set(err, "sentence %zu holds a line break: a sentence is one "
                                  "line", s + 1);
        }
        char **w;
        int k = nglm_tokenizer_split(t, lines[s], len, &w, err);
        if (k < 0) {
            nglm_tokenizer_close(t);
            nglm_corpus_free(c);
            return -1;
        }
        if (c->n_tokens + (size_t)k + 1 > cap) {
            while (c->n_tokens + (size_t)k + 1 > cap)
                cap *= 2;
            int32_t *g = realloc(c->ids, cap * sizeof *g);
            if (!g)
                goto oom;
            c->ids = g;
        }
        for (int i = 0; i < k; i++) {
            if (strcmp(w[i], NGLM_BOS_STR) == 0 || strcmp(w[i], NGLM_EOS_STR) == 0)
                continue;
            int32_t id = nglm_vocab_id(v, w[i]);
            c->n_oov += id == NGLM_UNK && strcmp(w[i], NGLM_UNK_STR) != 0;
            c->ids[c->n_tokens++] = id;
            c->n_words++;
        }
        c->ids[c->n_tokens++] = NGLM_EOS;
        c->start[s + 1] = c->n_tokens;
    }
    c->n_sents = n;
    nglm_tokenizer_close(t);
    return 0;
oom:
    nglm_tokenizer_close(t);
    nglm_corpus_free(c);
    return nglm_error_set(err, "out of memory reading %zu sentences", n);
}

int nglm_lm_read_plain(const nglm_lm *lm, const char *path, const char *const *lines,
                       size_t n, nglm_corpus *c, const nglm_progress *p, nglm_error *err)
{
    nglm_tok_options tok = lm->tok;
    tok.keep_blank = 1; /* a sentence a line, as KenLM's query reads a text */
    if (lines)
        return read_lines(&tok, lm->vocab, lines, n, c, err);
    return nglm_corpus_read_progress(c, path, &tok, lm->vocab, p, err);
}

int nglm_lm_read(const nglm_lm *lm, const char *path, nglm_corpus *c, const nglm_progress *p,
                 nglm_error *err)
{
    if (lm->ops->read)
        return lm->ops->read(lm, path, NULL, 0, c, p, err);
    return nglm_lm_read_plain(lm, path, NULL, 0, c, p, err);
}

int nglm_lm_read_lines(const nglm_lm *lm, const char *const *lines, size_t n, nglm_corpus *c,
                       nglm_error *err)
{
    static const char *const none[1] = {NULL};
    if (!lines && n == 0) /* no lines: the readers take lines NULL for "read path" */
        lines = none;
    if (lm->ops->read)
        return lm->ops->read(lm, NULL, lines, n, c, NULL, err);
    return nglm_lm_read_plain(lm, NULL, lines, n, c, NULL, err);
}

/* ---------------------------------------------------------------- scoring */

int nglm_lm_score_corpus10(const nglm_lm *lm, const nglm_corpus *c, double *lp10, int *len,
                           int threads, const nglm_progress *p, nglm_error *err)
{
    int32_t V = (int32_t)nglm_vocab_size(lm->vocab);
    for (size_t t = 0; t < c->n_tokens; t++)
        if (c->ids[t] < 0 || c->ids[t] >= V)
            return nglm_error_set(err, "the text was not read with the model's vocabulary "
                                  "(id %d of %d words)", (int)c->ids[t], (int)V);
    return lm->ops->score_corpus10(lm, c, lp10, len, threads, p, err);
}

/* unk[t] |= 1 where any reading of c (its parts, theirs...) has <unk>. */
static void mark_unk(const nglm_corpus *c, int32_t *ids)
{
    for (size_t k = 0; k < c->n_parts; k++) {
        const nglm_corpus *q = &c->parts[k];
        for (size_t t = 0; t < q->n_tokens && t < c->n_tokens; t++)
            if (q->ids[t] == NGLM_UNK)
                ids[t] = NGLM_UNK;
        mark_unk(q, ids);
    }
}

int nglm_lm_report(const nglm_corpus *c, const double *lp10, int per_sentence,
                   nglm_eval_report *r, nglm_error *err)
{
    if (c->n_parts == 0)
        return nglm_eval_tokens(c, NULL, lp10, per_sentence, r, err);
    /* the other reading nglm_eval_tokens takes: <unk> where any has it */
    nglm_corpus any = *c;
    any.parts = NULL;
    any.n_parts = 0;
    any.ids = malloc((c->n_tokens ? c->n_tokens : 1) * sizeof *any.ids);
    if (!any.ids)
        return nglm_error_set(err, "out of memory");
    memcpy(any.ids, c->ids, c->n_tokens * sizeof *any.ids);
    mark_unk(c, any.ids);
    int rc = nglm_eval_tokens(c, &any, lp10, per_sentence, r, err);
    free(any.ids);
    return rc;
}

int nglm_lm_eval(const nglm_lm *lm, const nglm_corpus *c, int threads, int per_sentence,
                 const nglm_progress *p, nglm_eval_report *r, nglm_error *err)
{
    memset(r, 0, sizeof *r);
    double *lp = malloc((c->n_tokens ? c->n_tokens : 1) * sizeof *lp);
    if (!lp)
        return nglm_error_set(err, "out of memory scoring %zu tokens", c->n_tokens);
    int rc = nglm_lm_score_corpus10(lm, c, lp, NULL, threads, p, err);
    if (rc == 0)
        rc = nglm_lm_report(c, lp, per_sentence, r, err);
    free(lp);
    return rc;
}

int nglm_lm_score_sentence(const nglm_lm *lm, const char *sentence, double *logprob10,
                           int *oovs, nglm_error *err)
{
    nglm_corpus c;
    if (nglm_lm_read_lines(lm, &sentence, 1, &c, err) != 0)
        return -1;
    nglm_eval_report r;
    int rc = nglm_lm_eval(lm, &c, 1, 0, NULL, &r, err);
    if (rc == 0) {
        *logprob10 = r.logprob10;
        if (oovs)
            *oovs = (int)r.oovs;
        nglm_eval_report_free(&r);
    }
    nglm_corpus_free(&c);
    return rc;
}

int nglm_lm_score_words(const nglm_lm *lm, const char *sentence, nglm_word_score **scores,
                        size_t *n, nglm_error *err)
{
    *scores = NULL;
    *n = 0;
    nglm_corpus c;
    if (nglm_lm_read_lines(lm, &sentence, 1, &c, err) != 0)
        return -1;
    double *lp10 = malloc((c.n_tokens ? c.n_tokens : 1) * sizeof *lp10);
    int *len = malloc((c.n_tokens ? c.n_tokens : 1) * sizeof *len);
    nglm_word_score *ws = malloc((c.n_tokens ? c.n_tokens : 1) * sizeof *ws);
    int rc = lp10 && len && ws ? 0 : nglm_error_set(err, "out of memory");
    if (rc == 0)
        rc = nglm_lm_score_corpus10(lm, &c, lp10, len, 1, NULL, err);
    if (rc == 0)
        rc = nglm_lm_check(lm, err);
    for (size_t t = 0; rc == 0 && t < c.n_tokens; t++) {
        /* an OOV of any component's reading (as nglm_eval_tokens counts them) */
        int unk = c.ids[t] == NGLM_UNK;
        for (size_t k = 0; k < c.n_parts; k++)
            unk |= c.parts[k].ids[t] == NGLM_UNK;
        ws[t] = (nglm_word_score){ .id = c.ids[t], .logprob10 = lp10[t], .ngram_length = len[t],
                                    .oov = unk };
    }
    if (rc == 0) {
        *scores = ws;
        *n = c.n_tokens;
        ws = NULL;
    }
    free(ws);
    free(len);
    free(lp10);
    nglm_corpus_free(&c);
    return rc;
}

nglm_eval_options nglm_eval_options_default(void)
{
    return (nglm_eval_options){ .threads = 0, .per_sentence = 0, .progress = NULL };
}

int nglm_lm_eval_file(const nglm_lm *lm, const char *path, const nglm_eval_options *opt,
                      nglm_eval_report *r, nglm_error *err)
{
    nglm_eval_options o = opt ? *opt : nglm_eval_options_default();
    memset(r, 0, sizeof *r);
    nglm_corpus c;
    if (nglm_lm_read(lm, path, &c, o.progress, err) != 0)
        return -1;
    int rc = nglm_lm_eval(lm, &c, o.threads, o.per_sentence, NULL, r, err);
    nglm_corpus_free(&c);
    return rc;
}

/* ---------------------------------------------------------------- token by token */

struct nglm_lm_scorer {
    const nglm_lm *lm;
    void *impl;
};

nglm_lm_scorer *nglm_lm_scorer_new(const nglm_lm *lm, nglm_error *err)
{
    if (!lm->ops->scorer_new) {
        nglm_error_set(err, "a %s model scores whole texts only, not token by token",
                       lm->ops->kind);
        return NULL;
    }
    nglm_lm_scorer *s = calloc(1, sizeof *s);
    if (!s) {
        nglm_error_set(err, "out of memory");
        return NULL;
    }
    s->lm = lm;
    if (!(s->impl = lm->ops->scorer_new(lm, err))) {
        free(s);
        return NULL;
    }
    return s;
}

double nglm_lm_scorer_logprob10(nglm_lm_scorer *s, const int32_t *sent, size_t i, int *len)
{
    return s->lm->ops->scorer_logprob10(s->impl, sent, i, len);
}

void nglm_lm_scorer_dist(nglm_lm_scorer *s, int32_t *sent, size_t i, double *p)
{
    s->lm->ops->scorer_dist(s->impl, sent, i, p);
}

const nglm_lm *nglm_lm_scorer_lm(const nglm_lm_scorer *s) { return s->lm; }

void nglm_lm_scorer_free(nglm_lm_scorer *s)
{
    if (!s)
        return;
    s->lm->ops->scorer_free(s->impl);
    free(s);
}

/* ---------------------------------------------------------------- borrowed
 *
 * A handle that forwards every op to another nglm_lm (impl) and frees
 * nothing of it; its kind is the other's (ops.kind NULL). */

static int borrow_score(const nglm_lm *lm, const nglm_corpus *c, double *lp10, int *len,
                        int threads, const nglm_progress *p, nglm_error *err)
{
    const nglm_lm *o = lm->impl;
    return o->ops->score_corpus10(o, c, lp10, len, threads, p, err);
}

static void *borrow_scorer_new(const nglm_lm *lm, nglm_error *err)
{
    return nglm_lm_scorer_new(lm->impl, err);
}

static void borrow_scorer_free(void *s) { nglm_lm_scorer_free(s); }

static double borrow_logprob10(void *s, const int32_t *sent, size_t i, int *len)
{
    return nglm_lm_scorer_logprob10(s, sent, i, len);
}

static void borrow_dist(void *s, int32_t *sent, size_t i, double *p)
{
    nglm_lm_scorer_dist(s, sent, i, p);
}

static int borrow_cache(const nglm_lm *lm, nglm_cache_spec *spec)
{
    return nglm_lm_recorded_cache(lm->impl, spec);
}

static int borrow_read(const nglm_lm *lm, const char *path, const char *const *lines, size_t n,
                       nglm_corpus *c, const nglm_progress *p, nglm_error *err)
{
    return lines ? nglm_lm_read_lines(lm->impl, lines, n, c, err)
                 : nglm_lm_read(lm->impl, path, c, p, err);
}

static const nglm_lm_ops borrow_ops = {
    .kind = NULL,
    .free = NULL,
    .score_corpus10 = borrow_score,
    .scorer_new = borrow_scorer_new,
    .scorer_free = borrow_scorer_free,
    .scorer_logprob10 = borrow_logprob10,
    .scorer_dist = borrow_dist,
    .recorded_cache = borrow_cache,
    .read = borrow_read,
};

nglm_lm *nglm_lm_borrow(const nglm_lm *o, nglm_error *err)
{
    nglm_lm *lm = nglm_lm_alloc(&borrow_ops, err);
    if (!lm)
        return NULL;
    lm->impl = (void *)o;
    lm->vocab = o->vocab;
    lm->tok = o->tok;
    lm->order = o->order;
    lm->reach = nglm_lm_reach(o);
    if (o->path && !(lm->path = strdup(o->path))) {
        free(lm);
        nglm_error_set(err, "out of memory");
        return NULL;
    }
    return lm;
}
