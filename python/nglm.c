/*
 * nglm.c — the Python module `nglm`: libnglm's models seen through KenLM's
 * Python API (doc/python.md), so that code written for `kenlm` runs with
 * `import nglm as kenlm`, plus what KenLM lacks (sampling, mixtures,
 * whole texts scored in C on OpenMP threads with the GIL released).
 *
 * Nothing here computes a probability: every number comes from the library
 * (nglm_model_scorer for single tokens, nglm_model_score_corpus and
 * nglm_arpa_score_corpus for texts, nglm_eval_tokens for reports), so the
 * module scores exactly as nglm-eval does.  What the module owns is the
 * Python side: turning a sentence into ids the model's way (its tokenizer
 * and vocabulary, as nglm-eval reads a line), States, and errors, which
 * become OSError (files) or ValueError (bad input) carrying the library's
 * message.
 *
 * A State keeps the last K words of the history, K the farthest the model
 * looks back (order - 1 words, or a skip-gram's distance): with K words
 * known nothing older can matter, so scoring word by word from
 * BeginSentenceWrite gives exactly the scores of the whole sentence.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include <nglm/arpa.h>
#include <nglm/cache.h>
#include <nglm/corpus.h>
#include <nglm/eval.h>
#include <nglm/mix.h>
#include <nglm/model.h>
#include <nglm/modelfile.h>
#include <nglm/pipeline.h>
#include <nglm/sample.h>
#include <nglm/tokenize.h>
#include <nglm/vocab.h>

/* Longest history a State holds: an ARPA file's order - 1, or a native
 * model's order - 1 or skip distance (at most NGLM_MAX_ORDER + 2). */
#define STATE_MAX NGLM_ARPA_MAX_ORDER

/* ================================================================ Model */

typedef struct {
    PyObject_HEAD
    nglm_model m;           /* a native model (arpa == NULL) */
    nglm_arpa *arpa;        /* or an ARPA file */
    const nglm_vocab *vocab;
    nglm_tok_options tok;
    nglm_tokenizer *split;  /* the model's tokenizer, for sentences in memory */
    nglm_model_scorer sc;   /* native: single tokens */
    int order;
    int reach;              /* K: words of history that can matter */
    PyObject *path;         /* str */
    uint64_t serial;        /* which Model made a State (model_serial) */
} ModelObject;

/* The model's serial number, given on first use: a State records it, so
 * that a State is never read by a model whose ids it does not hold. */
static uint64_t model_serial(ModelObject *self)
{
    static uint64_t next;
    if (!self->serial)
        self->serial = ++next; /* under the GIL */
    return self->serial;
}

static PyTypeObject ModelType;

/* The ids of one sentence the model's way: [-1] (no <s>: bos false), the
 * words, </s> (eos true); scored positions first .. n-1. */
typedef struct {
    int32_t *ids;
    uint8_t *oov;           /* per position: a word not in the vocabulary */
    size_t n, first;
} sentence_ids;

static void sentence_free(sentence_ids *s)
{
    PyMem_Free(s->ids);
    PyMem_Free(s->oov);
    memset(s, 0, sizeof *s);
}

/* The UTF-8 bytes of a str or bytes argument (borrowed from it). */
static int text_bytes(PyObject *o, const char *what, const char **p, Py_ssize_t *n)
{
    if (PyUnicode_Check(o)) {
        *p = PyUnicode_AsUTF8AndSize(o, n);
        if (!*p) {
            PyErr_Clear();
            PyErr_Format(PyExc_ValueError, "the %s cannot be encoded as UTF-8 (it holds a "
                         "lone surrogate)", what);
            return -1;
        }
        return 0;
    }
    if (PyBytes_Check(o)) {
        char *b;
        if (PyBytes_AsStringAndSize(o, &b, n) != 0)
            return -1;
        *p = b;
        return 0;
    }
    PyErr_Format(PyExc_TypeError, "the %s must be str or bytes, not %.100s", what,
                 Py_TYPE(o)->tp_name);
    return -1;
}

/* Splits a sentence (one line) with the model's tokenizer: *tokens owned
 * by the tokenizer until its next use.  Returns the count or -1. */
static Py_ssize_t model_split(ModelObject *self, PyObject *sentence, const char *what,
                              char ***tokens)
{
    const char *p;
    Py_ssize_t n;
    if (text_bytes(sentence, what, &p, &n) != 0)
        return -1;
    size_t body = (size_t)n; /* a line end is allowed at the end only */
    if (body > 0 && p[body - 1] == '\n')
        body--;
    if (body > 0 && p[body - 1] == '\r')
        body--;
    if (memchr(p, '\n', body)) {
        PyErr_Format(PyExc_ValueError, "the %s holds a line break: a sentence is one line "
                     "(score_sentences and score_file take many)", what);
        return -1;
    }
    nglm_error err;
    int k = nglm_tokenizer_split(self->split, p, (size_t)n, tokens, &err);
    if (k < 0) {
        PyErr_Format(PyExc_ValueError, "%s: %s", what, err.msg);
        return -1;
    }
    return k;
}

/* A literal sentence marker inside a sentence is refused: nglm places
 * them (nglm-eval passes over them in a file, as SRILM does). */
static int check_marker(const char *w, const char *what)
{
    if (w[0] == '<' && (strcmp(w, NGLM_BOS_STR) == 0 || strcmp(w, NGLM_EOS_STR) == 0)) {
        PyErr_Format(PyExc_ValueError, "'%s' inside the %s: nglm puts <s> before and </s> "
                     "after every sentence (see bos= and eos=)", w, what);
        return -1;
    }
    return 0;
}

static int model_sentence(ModelObject *self, PyObject *sentence, int bos, int eos,
                          sentence_ids *s)
{
    memset(s, 0, sizeof *s);
    char **w;
    Py_ssize_t k = model_split(self, sentence, "sentence", &w);
    if (k < 0)
        return -1;
    size_t cap = (size_t)k + 2;
    s->ids = PyMem_Malloc(cap * sizeof *s->ids);
    s->oov = PyMem_Calloc(cap, 1);
    if (!s->ids || !s->oov) {
        sentence_free(s);
        PyErr_NoMemory();
        return -1;
    }
    if (!bos)
        s->ids[s->n++] = -1; /* the history before the first word is unknown */
    s->first = s->n;
    for (Py_ssize_t i = 0; i < k; i++) {
        if (check_marker(w[i], "sentence") != 0) {
            sentence_free(s);
            return -1;
        }
        int32_t id = nglm_vocab_id(self->vocab, w[i]);
        s->oov[s->n] = id == NGLM_UNK && strcmp(w[i], NGLM_UNK_STR) != 0;
        s->ids[s->n++] = id;
    }
    if (eos)
        s->ids[s->n++] = NGLM_EOS;
    return 0;
}

/* log10 P of position i of ids (history: as nglm_model_scorer_logprob10)
 * and the n-gram length used; NAN for an OOV an ARPA file without <unk>
 * cannot score (nglm-eval skips it, as SRILM does). */
static double model_token(ModelObject *self, const int32_t *ids, size_t i, int *len)
{
    if (!self->arpa)
        return nglm_model_scorer_logprob10(&self->sc, ids, i, len);
    double lp = nglm_arpa_logprob10_len(self->arpa, ids, i, len);
    return ids[i] == NGLM_UNK && !nglm_arpa_has_unk(self->arpa) ? NAN : lp;
}

/* -1 and OSError when a mapped model has read a damaged block of its file
 * (its checksum did not match: nglm_model_check), else 0. */
static int model_damaged(ModelObject *self)
{
    nglm_error err;
    if (self->arpa || nglm_model_check(&self->m, &err) == 0)
        return 0;
    PyErr_SetString(PyExc_OSError, err.msg);
    return -1;
}

static void Model_dealloc(ModelObject *self)
{
    nglm_model_scorer_free(&self->sc);
    nglm_model_free(&self->m);
    nglm_arpa_free(self->arpa);
    if (self->split)
        nglm_tokenizer_close(self->split);
    Py_XDECREF(self->path);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* The rest of a Model once its nglm model (self->m) or ARPA file
 * (self->arpa) is in place: vocabulary, tokenizer, order, reach, scorer. */
static int model_attach(ModelObject *self)
{
    nglm_error err;
    if (self->arpa) {
        self->vocab = nglm_arpa_vocab(self->arpa);
        self->tok = nglm_arpa_tok(self->arpa);
        self->order = nglm_arpa_order(self->arpa);
        self->reach = self->order - 1;
    } else {
        self->vocab = self->m.vocab;
        self->tok = self->m.tok;
        self->order = nglm_model_order(&self->m);
        self->reach = self->order - 1;
        for (int t = 0; t < self->m.feat.n_skip; t++)
            if (self->m.feat.skip_dist[t] > self->reach)
                self->reach = self->m.feat.skip_dist[t];
        if (nglm_model_scorer_init(&self->sc, &self->m, &err) != 0) {
            PyErr_SetString(PyExc_MemoryError, err.msg);
            return -1;
        }
    }
    if (self->reach > STATE_MAX)
        self->reach = STATE_MAX;
    self->split = nglm_tokenizer_new(&self->tok);
    if (!self->split) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

/* Raises OSError for a path that cannot be a model file: missing,
 * unreadable, a directory. */
static int check_path(PyObject *path_str, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, path_str);
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        errno = EISDIR;
        PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, path_str);
        return -1;
    }
    return 0;
}

static int Model_init(ModelObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"path", "config", "verify", NULL};
    PyObject *path_b = NULL, *config = NULL;
    int verify = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|O$p:Model", kwlist, PyUnicode_FSConverter,
                                     &path_b, &config, &verify))
        return -1;
    (void)config; /* KenLM's Config: nothing to configure here */
    if (self->vocab) {
        Py_DECREF(path_b);
        PyErr_SetString(PyExc_RuntimeError, "Model.__init__ called twice");
        return -1;
    }
    const char *path = PyBytes_AS_STRING(path_b);
    PyObject *path_str = PyUnicode_DecodeFSDefault(path);
    if (!path_str || check_path(path_str, path) != 0) {
        Py_XDECREF(path_str);
        Py_DECREF(path_b);
        return -1;
    }
    nglm_error err;
    int rc = 0;
    Py_BEGIN_ALLOW_THREADS
    if (!nglm_model_file_is_native(path) && nglm_arpa_file_is_arpa(path))
        rc = (self->arpa = nglm_arpa_load(path, &err)) ? 0 : -1;
    else
        /* mapped (nglm_model_map): in place; verify checks the CRC and the
         * whole index first, as nglm_model_load does */
        rc = nglm_model_map(&self->m, path, verify ? NGLM_MAP_VERIFY : 0, &err);
    Py_END_ALLOW_THREADS
    Py_DECREF(path_b);
    if (rc != 0) {
        Py_DECREF(path_str);
        PyErr_SetString(PyExc_OSError, err.msg);
        return -1;
    }
    self->path = path_str;
    return model_attach(self);
}

static int model_ready(ModelObject *self)
{
    if (self->vocab)
        return 0;
    PyErr_SetString(PyExc_RuntimeError, "the Model was not initialised");
    return -1;
}

/* ---------------------------------------------------------------- sentences */

/* score() and full_scores()'s arguments: (sentence, bos=True, eos=True). */
static int sentence_args(PyObject *args, PyObject *kw, const char *fmt, PyObject **sentence,
                         int *bos, int *eos)
{
    static char *kwlist[] = {"sentence", "bos", "eos", NULL};
    *bos = *eos = 1;
    return PyArg_ParseTupleAndKeywords(args, kw, fmt, kwlist, sentence, bos, eos) ? 0 : -1;
}

/* One sentence's per-token scores (log10 P, the n-gram length, OOV), which
 * score() sums and full_scores() lists. */
typedef struct {
    double *lp;
    int *len;
    uint8_t *oov;
    size_t n;
} token_scores;

static void scores_free(token_scores *t)
{
    PyMem_Free(t->lp);
    PyMem_Free(t->len);
    PyMem_Free(t->oov);
}

static int scores_alloc(token_scores *t, size_t n)
{
    t->n = n;
    t->lp = PyMem_Malloc((n ? n : 1) * sizeof *t->lp);
    t->len = PyMem_Calloc(n ? n : 1, sizeof *t->len);
    t->oov = PyMem_Calloc(n ? n : 1, 1);
    if (t->lp && t->len && t->oov)
        return 0;
    scores_free(t);
    PyErr_NoMemory();
    return -1;
}

/* score(): the sum over the tokens, as nglm-eval --per-sentence (skipped
 * and zero-probability tokens left out); frees t. */
static PyObject *scores_total(token_scores *t)
{
    double total = 0;
    for (size_t i = 0; i < t->n; i++)
        if (isfinite(t->lp[i]))
            total += t->lp[i];
    scores_free(t);
    return PyFloat_FromDouble(total);
}

/* full_scores(): an iterator of (log10 P, n-gram length, oov); frees t. */
static PyObject *scores_iter(token_scores *t)
{
    PyObject *list = PyList_New((Py_ssize_t)t->n);
    for (size_t i = 0; list && i < t->n; i++) {
        PyObject *e = Py_BuildValue("(diO)", t->lp[i], t->len[i], t->oov[i] ? Py_True : Py_False);
        if (!e) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, e);
    }
    scores_free(t);
    if (!list)
        return NULL;
    PyObject *it = PyObject_GetIter(list);
    Py_DECREF(list);
    return it;
}

/* A sentence's token scores under a model. */
static int model_scores(ModelObject *self, PyObject *args, PyObject *kw, const char *fmt,
                        token_scores *t)
{
    PyObject *sentence;
    int bos, eos;
    sentence_ids s;
    if (model_ready(self) != 0 || sentence_args(args, kw, fmt, &sentence, &bos, &eos) != 0 ||
        model_sentence(self, sentence, bos, eos, &s) != 0)
        return -1;
    int rc = scores_alloc(t, s.n - s.first);
    for (size_t i = s.first; rc == 0 && i < s.n; i++) {
        t->lp[i - s.first] = model_token(self, s.ids, i, &t->len[i - s.first]);
        t->oov[i - s.first] = s.oov[i];
    }
    sentence_free(&s);
    if (rc == 0 && model_damaged(self) != 0) {
        scores_free(t);
        rc = -1;
    }
    return rc;
}

static PyObject *Model_score(ModelObject *self, PyObject *args, PyObject *kw)
{
    token_scores t;
    return model_scores(self, args, kw, "O|pp:score", &t) != 0 ? NULL : scores_total(&t);
}

static PyObject *Model_full_scores(ModelObject *self, PyObject *args, PyObject *kw)
{
    token_scores t;
    return model_scores(self, args, kw, "O|pp:full_scores", &t) != 0 ? NULL : scores_iter(&t);
}

static PyObject *Model_perplexity(ModelObject *self, PyObject *arg)
{
    if (model_ready(self) != 0)
        return NULL;
    sentence_ids s;
    if (model_sentence(self, arg, 1, 1, &s) != 0)
        return NULL;
    double total = 0;
    size_t scored = 0;
    for (size_t i = s.first; i < s.n; i++) {
        double lp = model_token(self, s.ids, i, NULL);
        if (isfinite(lp)) {
            total += lp;
            scored++;
        }
    }
    sentence_free(&s);
    if (model_damaged(self) != 0)
        return NULL;
    return PyFloat_FromDouble(scored ? pow(10.0, -total / (double)scored) : NAN);
}

static int Model_contains(ModelObject *self, PyObject *word)
{
    if (model_ready(self) != 0)
        return -1;
    const char *p;
    Py_ssize_t n;
    if (text_bytes(word, "word", &p, &n) != 0)
        return -1;
    if (memchr(p, '\0', (size_t)n))
        return 0;
    int32_t id = nglm_vocab_find(self->vocab, p);
    return id >= 0 && id != NGLM_UNK;
}

/* ---------------------------------------------------------------- texts */

/* Sentences in memory (an iterable of str or bytes) as a corpus the model
 * reads, as nglm-eval reads their lines. */
static int model_corpus(ModelObject *self, PyObject *sentences, nglm_corpus *c)
{
    memset(c, 0, sizeof *c);
    PyObject *seq = PySequence_Fast(sentences, "sentences must be an iterable of str or bytes");
    if (!seq)
        return -1;
    Py_ssize_t ns = PySequence_Fast_GET_SIZE(seq);
    size_t cap = (size_t)ns * 8 + 16;
    c->ids = malloc(cap * sizeof *c->ids);
    c->start = malloc(((size_t)ns + 1) * sizeof *c->start);
    if (!c->ids || !c->start)
        goto oom;
    for (Py_ssize_t k = 0; k < ns; k++) {
        char **w;
        char what[64];
        snprintf(what, sizeof what, "sentence %zd", k);
        Py_ssize_t n = model_split(self, PySequence_Fast_GET_ITEM(seq, k), what, &w);
        if (n < 0)
            goto fail;
        if (c->n_tokens + (size_t)n + 1 > cap) {
            cap = 2 * (c->n_tokens + (size_t)n + 1);
            int32_t *ids = realloc(c->ids, cap * sizeof *ids);
            if (!ids)
                goto oom;
            c->ids = ids;
        }
        c->start[k] = c->n_tokens;
        for (Py_ssize_t i = 0; i < n; i++) {
            if (check_marker(w[i], what) != 0)
                goto fail;
            int32_t id = nglm_vocab_id(self->vocab, w[i]);
            c->n_oov += id == NGLM_UNK && strcmp(w[i], NGLM_UNK_STR) != 0;
            c->ids[c->n_tokens++] = id;
        }
        c->n_words += (uint64_t)n;
        c->ids[c->n_tokens++] = NGLM_EOS;
    }
    c->n_sents = (size_t)ns;
    c->start[ns] = c->n_tokens;
    Py_DECREF(seq);
    return 0;
oom:
    PyErr_NoMemory();
fail:
    Py_DECREF(seq);
    nglm_corpus_free(c);
    memset(c, 0, sizeof *c);
    return -1;
}

/* Reads a text file the model's way (a sentence a line, blank lines
 * included), with the GIL released. */
static int model_read(ModelObject *self, PyObject *path_b, nglm_corpus *c)
{
    const char *path = PyBytes_AS_STRING(path_b);
    PyObject *path_str = PyUnicode_DecodeFSDefault(path);
    if (!path_str)
        return -1;
    int bad = check_path(path_str, path);
    Py_DECREF(path_str);
    if (bad)
        return -1;
    nglm_tok_options tok = self->tok;
    tok.keep_blank = 1; /* a sentence a line, as nglm-eval and KenLM's query read */
    nglm_error err;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = nglm_corpus_read(c, path, &tok, self->vocab, &err);
    Py_END_ALLOW_THREADS
    if (rc != 0) {
        PyErr_SetString(PyExc_ValueError, err.msg);
        return -1;
    }
    return 0;
}

/* log10 P of every token of c (NAN: skipped), malloc'd, with the GIL
 * released and OpenMP threads. */
static double *model_score10(ModelObject *self, const nglm_corpus *c, int threads)
{
    double *lp = malloc((c->n_tokens ? c->n_tokens : 1) * sizeof *lp);
    if (!lp) {
        PyErr_NoMemory();
        return NULL;
    }
    nglm_error err;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = self->arpa ? nglm_arpa_score_corpus(self->arpa, c, lp, &err)
                    : nglm_model_score_corpus10(&self->m, c, lp, threads, NULL, &err);
    Py_END_ALLOW_THREADS
    if (rc != 0) {
        free(lp);
        PyErr_SetString(PyExc_ValueError, err.msg);
        return NULL;
    }
    return lp;
}

/* The report of nglm/eval.h as a dict (perplexities None when undefined). */
static PyObject *report_dict(const nglm_eval_report *r, size_t n_sents)
{
    PyObject *sents = PyList_New((Py_ssize_t)n_sents);
    for (size_t s = 0; sents && s < n_sents; s++) {
        PyObject *x = PyFloat_FromDouble(r->sent_logprob10[s]);
        if (!x)
            Py_CLEAR(sents);
        else
            PyList_SET_ITEM(sents, (Py_ssize_t)s, x);
    }
    if (!sents)
        return NULL;
    PyObject *ppl = isfinite(r->ppl) ? PyFloat_FromDouble(r->ppl) : Py_NewRef(Py_None);
    PyObject *ppl1 = isfinite(r->ppl1) ? PyFloat_FromDouble(r->ppl1) : Py_NewRef(Py_None);
    PyObject *d = NULL;
    if (ppl && ppl1)
        d = Py_BuildValue("{s:K,s:K,s:K,s:O,s:K,s:d,s:O,s:O,s:K,s:K,s:d,s:O}",
                          "sentences", (unsigned long long)r->sentences,
                          "words", (unsigned long long)r->words,
                          "oovs", (unsigned long long)r->oovs,
                          "oovs_skipped", r->oovs_skipped ? Py_True : Py_False,
                          "zeroprobs", (unsigned long long)r->zeroprobs,
                          "logprob", r->logprob10, "ppl", ppl, "ppl1", ppl1,
                          "scored", (unsigned long long)r->scored,
                          "unk_scored", (unsigned long long)r->unk_scored,
                          "unk_logprob", r->unk_logprob10, "sentence_logprobs", sents);
    Py_XDECREF(ppl);
    Py_XDECREF(ppl1);
    Py_DECREF(sents);
    return d;
}

/* The report of corpus c under the model. */
static PyObject *model_report(ModelObject *self, const nglm_corpus *c, int threads)
{
    double *lp = model_score10(self, c, threads);
    if (!lp)
        return NULL;
    nglm_eval_report r;
    nglm_error err;
    int rc = nglm_eval_tokens(c, NULL, lp, 1, &r, &err);
    free(lp);
    if (rc != 0) {
        PyErr_SetString(PyExc_MemoryError, err.msg);
        return NULL;
    }
    PyObject *d = report_dict(&r, c->n_sents);
    nglm_eval_report_free(&r);
    return d;
}

static PyObject *Model_evaluate(ModelObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"sentences", "threads", NULL};
    PyObject *sentences;
    int threads = 0;
    if (model_ready(self) != 0 ||
        !PyArg_ParseTupleAndKeywords(args, kw, "O|i:evaluate", kwlist, &sentences, &threads))
        return NULL;
    nglm_corpus c;
    if (model_corpus(self, sentences, &c) != 0)
        return NULL;
    PyObject *d = model_report(self, &c, threads);
    nglm_corpus_free(&c);
    return d;
}

static PyObject *Model_score_sentences(ModelObject *self, PyObject *args, PyObject *kw)
{
    PyObject *d = Model_evaluate(self, args, kw);
    if (!d)
        return NULL;
    PyObject *l = PyDict_GetItemString(d, "sentence_logprobs");
    Py_XINCREF(l);
    Py_DECREF(d);
    return l;
}

static PyObject *Model_score_file(ModelObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"path", "threads", NULL};
    PyObject *path_b;
    int threads = 0;
    if (model_ready(self) != 0 ||
        !PyArg_ParseTupleAndKeywords(args, kw, "O&|i:score_file", kwlist,
                                     PyUnicode_FSConverter, &path_b, &threads))
        return NULL;
    nglm_corpus c;
    int rc = model_read(self, path_b, &c);
    Py_DECREF(path_b);
    if (rc != 0)
        return NULL;
    PyObject *d = model_report(self, &c, threads);
    nglm_corpus_free(&c);
    return d;
}

/* ---------------------------------------------------------------- sampling */

static PyObject *Model_sample(ModelObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"n", "temperature", "max_length", "seed", NULL};
    Py_ssize_t n = 1, max_length = NGLM_SAMPLE_MAX_LENGTH;
    double temperature = 1.0;
    unsigned long long seed = 1;
    if (model_ready(self) != 0 ||
        !PyArg_ParseTupleAndKeywords(args, kw, "|ndnK:sample", kwlist, &n, &temperature,
                                     &max_length, &seed))
        return NULL;
    if (n < 0 || max_length < 1) {
        PyErr_SetString(PyExc_ValueError, "sample: n must be >= 0 and max_length >= 1");
        return NULL;
    }
    nglm_sampler s;
    nglm_error err;
    if ((self->arpa ? nglm_sampler_init_arpa(&s, self->arpa, temperature, (size_t)max_length,
                                             (uint64_t)seed, &err)
                    : nglm_sampler_init(&s, &self->m, temperature, (size_t)max_length,
                                        (uint64_t)seed, &err)) != 0) {
        PyErr_Format(PyExc_ValueError, "sample: %s", err.msg);
        return NULL;
    }
    PyObject *list = PyList_New(n);
    for (Py_ssize_t k = 0; list && k < n; k++) {
        const int32_t *words;
        size_t nw;
        Py_BEGIN_ALLOW_THREADS
        nglm_sample_sentence(&s, &words, &nw);
        Py_END_ALLOW_THREADS
        size_t bytes = 1;
        for (size_t i = 0; i < nw; i++)
            bytes += strlen(nglm_vocab_word(self->vocab, words[i])) + 1;
        char *buf = PyMem_Malloc(bytes), *p = buf;
        if (!buf) {
            PyErr_NoMemory();
            Py_CLEAR(list);
            break;
        }
        for (size_t i = 0; i < nw; i++) {
            const char *w = nglm_vocab_word(self->vocab, words[i]);
            size_t l = strlen(w);
            if (i)
                *p++ = ' ';
            memcpy(p, w, l);
            p += l;
        }
        PyObject *str = PyUnicode_DecodeUTF8(buf, p - buf, "replace");
        PyMem_Free(buf);
        if (!str) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, k, str);
    }
    nglm_sampler_free(&s);
    return list;
}

/* ================================================================ State */

typedef struct {
    PyObject_HEAD
    int32_t n;              /* words known (at most STATE_MAX) */
    int32_t bos;            /* 1: they are the whole sentence, <s> before them */
    int32_t w[STATE_MAX];   /* oldest first */
    uint64_t model;         /* serial of the Model that wrote it; 0: none yet */
    int32_t V;              /* that model's vocabulary size */
    PyObject *path;         /* and its path (str), for the message */
} StateObject;

static PyTypeObject StateType;

static PyObject *State_richcompare(PyObject *a, PyObject *b, int op)
{
    if (!PyObject_TypeCheck(a, &StateType) || !PyObject_TypeCheck(b, &StateType) ||
        (op != Py_EQ && op != Py_NE))
        Py_RETURN_NOTIMPLEMENTED;
    const StateObject *x = (const StateObject *)a, *y = (const StateObject *)b;
    int eq = x->n == y->n && x->bos == y->bos && x->model == y->model &&
             memcmp(x->w, y->w, (size_t)x->n * sizeof *x->w) == 0;
    return PyBool_FromLong(op == Py_EQ ? eq : !eq);
}

static Py_hash_t State_hash(StateObject *self)
{
    uint64_t h = 1469598103934665603ull ^ (uint64_t)self->bos;
    for (int32_t i = 0; i < self->n; i++)
        h = (h ^ (uint32_t)self->w[i]) * 1099511628211ull;
    Py_hash_t r = (Py_hash_t)(h >> 1);
    return r == -1 ? -2 : r;
}

static PyObject *State_copy(StateObject *self, PyObject *unused)
{
    (void)unused;
    StateObject *c = PyObject_New(StateObject, &StateType);
    if (c) {
        c->n = self->n;
        c->bos = self->bos;
        memcpy(c->w, self->w, sizeof c->w);
        c->model = self->model;
        c->V = self->V;
        c->path = self->path;
        Py_XINCREF(c->path);
    }
    return (PyObject *)c;
}

static void State_dealloc(StateObject *self)
{
    Py_XDECREF(self->path);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* The state is now the model's: its serial, V and path. */
static void state_own(StateObject *s, ModelObject *m)
{
    s->model = model_serial(m);
    s->V = (int32_t)nglm_vocab_size(m->vocab);
    Py_XINCREF(m->path);
    Py_XSETREF(s->path, m->path);
}

static PyObject *State_deepcopy(StateObject *self, PyObject *memo)
{
    (void)memo;
    return State_copy(self, NULL);
}

static PyObject *State_repr(StateObject *self)
{
    return PyUnicode_FromFormat("<nglm.State: %d word%s%s>", (int)self->n,
                                self->n == 1 ? "" : "s", self->bos ? " after <s>" : "");
}

static int State_init(StateObject *self, PyObject *args, PyObject *kw)
{
    if ((kw && PyDict_GET_SIZE(kw) > 0) || !PyArg_ParseTuple(args, ":State")) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "State() takes no arguments");
        return -1;
    }
    self->n = 0;
    self->bos = 0;
    self->model = 0;
    self->V = 0;
    Py_CLEAR(self->path);
    return 0;
}

static PyMethodDef State_methods[] = {
    {"__copy__", (PyCFunction)State_copy, METH_NOARGS, "A copy of the state."},
    {"__deepcopy__", (PyCFunction)State_deepcopy, METH_O, "A copy of the state."},
    {NULL, NULL, 0, NULL}};

static PyTypeObject StateType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "nglm.State",
    .tp_basicsize = sizeof(StateObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The history of a sentence being scored word by word (KenLM's State):\n"
              "the words that can still matter to the model.  Fill it with\n"
              "Model.BeginSentenceWrite or Model.NullContextWrite.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)State_init,
    .tp_dealloc = (destructor)State_dealloc,
    .tp_richcompare = State_richcompare,
    .tp_hash = (hashfunc)State_hash,
    .tp_repr = (reprfunc)State_repr,
    .tp_methods = State_methods,
};

/* ---------------------------------------------------------------- FullScoreReturn */

static PyStructSequence_Field full_fields[] = {
    {"log_prob", "log10 probability of the word"},
    {"ngram_length", "length of the n-gram used (1: the unigram)"},
    {"oov", "True when the word is not in the vocabulary"},
    {NULL, NULL}};

static PyStructSequence_Desc full_desc = {
    "nglm.FullScoreReturn", "What Model.BaseFullScore returns (as KenLM's).", full_fields, 3};

static PyTypeObject *FullScoreType;

/* ---------------------------------------------------------------- the State API */

static PyObject *state_write(ModelObject *self, PyObject *arg, int bos)
{
    if (model_ready(self) != 0)
        return NULL;
    if (!PyObject_TypeCheck(arg, &StateType)) {
        PyErr_Format(PyExc_TypeError, "expected an nglm.State, not %.100s",
                     Py_TYPE(arg)->tp_name);
        return NULL;
    }
    StateObject *s = (StateObject *)arg;
    s->n = 0;
    s->bos = self->reach > 0 ? bos : 0; /* a unigram model's states are all alike */
    state_own(s, self);
    Py_RETURN_NONE;
}

static PyObject *Model_BeginSentenceWrite(ModelObject *self, PyObject *arg)
{
    return state_write(self, arg, 1);
}

static PyObject *Model_NullContextWrite(ModelObject *self, PyObject *arg)
{
    return state_write(self, arg, 0);
}

/* The id of one word for the State API: the model's tokenizer must find
 * exactly one token in it (so that lowercasing applies as in sentences);
 * "</s>" is the end of the sentence. */
static int model_word(ModelObject *self, PyObject *word, int32_t *id, int *oov)
{
    const char *p;
    Py_ssize_t n;
    if (text_bytes(word, "word", &p, &n) != 0)
        return -1;
    if ((size_t)n == strlen(NGLM_EOS_STR) && memcmp(p, NGLM_EOS_STR, (size_t)n) == 0) {
        *id = NGLM_EOS;
        *oov = 0;
        return 0;
    }
    char **w;
    Py_ssize_t k = model_split(self, word, "word", &w);
    if (k < 0)
        return -1;
    if (k != 1) {
        PyErr_Format(PyExc_ValueError, "the word %R is %zd tokens for this model's "
                     "tokenizer, not one", word, k);
        return -1;
    }
    if (strcmp(w[0], NGLM_BOS_STR) == 0) {
        PyErr_SetString(PyExc_ValueError, "'<s>' cannot be scored: it is never predicted "
                        "(BeginSentenceWrite puts it in the state)");
        return -1;
    }
    *id = nglm_vocab_id(self->vocab, w[0]);
    *oov = *id == NGLM_UNK && strcmp(w[0], NGLM_UNK_STR) != 0;
    return 0;
}

static int state_args(PyObject *args, const char *name, StateObject **in, PyObject **word,
                      StateObject **out)
{
    PyObject *a, *c;
    if (!PyArg_ParseTuple(args, "OOO", &a, word, &c))
        return -1;
    if (!PyObject_TypeCheck(a, &StateType) || !PyObject_TypeCheck(c, &StateType)) {
        PyErr_Format(PyExc_TypeError, "%s(in_state, word, out_state): the states must be "
                     "nglm.State objects", name);
        return -1;
    }
    *in = (StateObject *)a;
    *out = (StateObject *)c;
    return 0;
}

/* Scores word after in_state and writes in_state + word to out_state
 * (which may be in_state). */
static int state_score(ModelObject *self, PyObject *args, const char *name, double *lp,
                       int *len, int *oov)
{
    StateObject *in, *out;
    PyObject *word;
    int32_t id;
    if (model_ready(self) != 0 || state_args(args, name, &in, &word, &out) != 0)
        return -1;
    /* a State holds ids of the model that wrote it: another model would
     * read them as its own words, or out of its arrays */
    if (in->model && in->model != model_serial(self)) {
        PyErr_Format(PyExc_ValueError, "%s: the in_state was written by another model "
                     "(%S, %d words), not by this one (%S, %d words): give each model its "
                     "own States", name, in->path ? in->path : Py_None, (int)in->V,
                     self->path ? self->path : Py_None, (int)nglm_vocab_size(self->vocab));
        return -1;
    }
    if (model_word(self, word, &id, oov) != 0)
        return -1;
    int32_t h[STATE_MAX + 2];
    int32_t k = in->n < self->reach ? in->n : self->reach, n = 0;
    if (!in->bos)
        h[n++] = -1;
    memcpy(h + n, in->w + in->n - k, (size_t)k * sizeof *h);
    n += k;
    h[n] = id;
    *lp = model_token(self, h, (size_t)n, len);
    /* out: the last `reach` words; with all of them known the start no
     * longer matters (nglm_model_scorer_logprob10 never looks further) */
    int32_t keep = k + 1 < self->reach ? k + 1 : self->reach;
    memmove(out->w, h + n + 1 - keep, (size_t)keep * sizeof *h);
    out->bos = keep < self->reach ? in->bos : 0;
    out->n = keep;
    if (out->model != self->serial)
        state_own(out, self);
    return isnan(*lp) ? model_damaged(self) : 0; /* a damaged block was read */
}

static PyObject *Model_BaseScore(ModelObject *self, PyObject *args)
{
    double lp;
    int len, oov;
    if (state_score(self, args, "BaseScore", &lp, &len, &oov) != 0)
        return NULL;
    return PyFloat_FromDouble(lp);
}

static PyObject *Model_BaseFullScore(ModelObject *self, PyObject *args)
{
    double lp;
    int len, oov;
    if (state_score(self, args, "BaseFullScore", &lp, &len, &oov) != 0)
        return NULL;
    PyObject *r = PyStructSequence_New(FullScoreType);
    if (!r)
        return NULL;
    PyStructSequence_SET_ITEM(r, 0, PyFloat_FromDouble(lp));
    PyStructSequence_SET_ITEM(r, 1, PyLong_FromLong(len));
    PyStructSequence_SET_ITEM(r, 2, PyBool_FromLong(oov));
    if (PyErr_Occurred()) {
        Py_DECREF(r);
        return NULL;
    }
    return r;
}

/* ---------------------------------------------------------------- attributes */

static PyObject *Model_get_order(ModelObject *self, void *c)
{
    (void)c;
    return model_ready(self) != 0 ? NULL : PyLong_FromLong(self->order);
}

static PyObject *Model_get_path(ModelObject *self, void *c)
{
    (void)c;
    return model_ready(self) != 0 ? NULL : Py_NewRef(self->path);
}

static PyObject *Model_get_is_arpa(ModelObject *self, void *c)
{
    (void)c;
    return model_ready(self) != 0 ? NULL : PyBool_FromLong(self->arpa != NULL);
}

static PyObject *Model_get_vocab_size(ModelObject *self, void *c)
{
    (void)c;
    return model_ready(self) != 0 ? NULL : PyLong_FromSize_t(nglm_vocab_size(self->vocab));
}

static PyObject *Model_get_tokenizer(ModelObject *self, void *c)
{
    (void)c;
    char buf[128];
    return model_ready(self) != 0 ? NULL
                                  : PyUnicode_FromString(nglm_tok_options_spell(&self->tok, buf,
                                                                                sizeof buf));
}

static PyObject *Model_get_history(ModelObject *self, void *c)
{
    (void)c;
    return model_ready(self) != 0 ? NULL : PyLong_FromLong(self->reach);
}

static PyObject *Model_repr(ModelObject *self)
{
    if (!self->vocab)
        return PyUnicode_FromString("<nglm.Model (not loaded)>");
    return PyUnicode_FromFormat("<nglm.Model from %R: %s, order %d, %zu words>", self->path,
                                self->arpa ? "ARPA" : "nglm", self->order,
                                nglm_vocab_size(self->vocab));
}

static PyGetSetDef Model_getset[] = {
    {"order", (getter)Model_get_order, NULL, "The model's order n.", NULL},
    {"path", (getter)Model_get_path, NULL, "The file the model was read from.", NULL},
    {"is_arpa", (getter)Model_get_is_arpa, NULL, "True for an ARPA file.", NULL},
    {"vocab_size", (getter)Model_get_vocab_size, NULL,
     "Words of the vocabulary, <s>, </s> and <unk> included.", NULL},
    {"tokenizer", (getter)Model_get_tokenizer, NULL,
     "How the model splits text, as nglm-train's options spell it.", NULL},
    {"history", (getter)Model_get_history, NULL,
     "K: the words of history a State keeps (order - 1, or a skip-gram's distance).", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

/* Mixture and cache scorer methods are defined below. */
static PyObject *Model_mix(ModelObject *self, PyObject *args, PyObject *kw);
static PyObject *Model_cache_scorer(ModelObject *self, PyObject *args, PyObject *kw);

static PyMethodDef Model_methods[] = {
    {"score", (PyCFunction)(void (*)(void))Model_score, METH_VARARGS | METH_KEYWORDS,
     "score(sentence, bos=True, eos=True) -> log10 probability of the sentence."},
    {"full_scores", (PyCFunction)(void (*)(void))Model_full_scores,
     METH_VARARGS | METH_KEYWORDS,
     "full_scores(sentence, bos=True, eos=True) -> iterator of (log10 prob, n-gram "
     "length, oov) per word and </s>."},
    {"perplexity", (PyCFunction)Model_perplexity, METH_O,
     "perplexity(sentence) -> 10 ** (-score / tokens), tokens counting </s>."},
    {"score_sentences", (PyCFunction)(void (*)(void))Model_score_sentences,
     METH_VARARGS | METH_KEYWORDS,
     "score_sentences(sentences, threads=0) -> list of log10 probabilities, scored in C on "
     "OpenMP threads with the GIL released."},
    {"evaluate", (PyCFunction)(void (*)(void))Model_evaluate, METH_VARARGS | METH_KEYWORDS,
     "evaluate(sentences, threads=0) -> the report of nglm-eval (dict) for the sentences."},
    {"score_file", (PyCFunction)(void (*)(void))Model_score_file,
     METH_VARARGS | METH_KEYWORDS,
     "score_file(path, threads=0) -> the report of nglm-eval --per-sentence (dict)."},
    {"sample", (PyCFunction)(void (*)(void))Model_sample, METH_VARARGS | METH_KEYWORDS,
     "sample(n=1, temperature=1.0, max_length=200, seed=1) -> list of sentences drawn "
     "from the model (as nglm-sample)."},
    {"mix", (PyCFunction)(void (*)(void))Model_mix, METH_VARARGS | METH_KEYWORDS,
     "mix(other, weight=0.5) -> Mixture: weight * P_self + (1 - weight) * P_other."},
    {"cache_scorer", (PyCFunction)(void (*)(void))Model_cache_scorer,
     METH_VARARGS | METH_KEYWORDS,
     "cache_scorer(spec='decay:100', weight=0.1, bigram_weight=0.05, reset_word=None) -> "
     "CacheScorer: sentences scored in order with the cache of nglm-eval --cache."},
    {"BeginSentenceWrite", (PyCFunction)Model_BeginSentenceWrite, METH_O,
     "BeginSentenceWrite(state): state becomes the start of a sentence (<s>)."},
    {"NullContextWrite", (PyCFunction)Model_NullContextWrite, METH_O,
     "NullContextWrite(state): state becomes an unknown history (no <s>)."},
    {"BaseScore", (PyCFunction)Model_BaseScore, METH_VARARGS,
     "BaseScore(in_state, word, out_state) -> log10 P(word | in_state); out_state "
     "becomes in_state + word."},
    {"BaseFullScore", (PyCFunction)Model_BaseFullScore, METH_VARARGS,
     "BaseFullScore(in_state, word, out_state) -> FullScoreReturn(log_prob, "
     "ngram_length, oov)."},
    {NULL, NULL, 0, NULL}};

static PySequenceMethods Model_as_sequence = {
    .sq_contains = (objobjproc)Model_contains,
};

static PyTypeObject ModelType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "nglm.Model",
    .tp_basicsize = sizeof(ModelObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Model(path, config=None, *, verify=False): an nglm model (nglm-train's\n"
              "file) or an ARPA file (plain or gzip), scored with KenLM's API.  An nglm model\n"
              "is mapped, not read, and loads in milliseconds; as in nglm-eval, a damaged\n"
              "weight may give wrong numbers but never a crash, and verify=True (nglm-eval\n"
              "--verify) checks the checksum and the whole index first.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Model_init,
    .tp_dealloc = (destructor)Model_dealloc,
    .tp_repr = (reprfunc)Model_repr,
    .tp_methods = Model_methods,
    .tp_getset = Model_getset,
    .tp_as_sequence = &Model_as_sequence,
};

/* ================================================================ Mixture */

typedef struct {
    PyObject_HEAD
    ModelObject *a, *b;
    double weight;          /* λ of model a */
} MixtureObject;

static PyTypeObject MixtureType;

static PyObject *Model_mix(ModelObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"other", "weight", NULL};
    PyObject *other;
    double weight = 0.5;
    if (model_ready(self) != 0 ||
        !PyArg_ParseTupleAndKeywords(args, kw, "O!|d:mix", kwlist, &ModelType, &other, &weight))
        return NULL;
    if (model_ready((ModelObject *)other) != 0)
        return NULL;
    if (!(weight >= 0 && weight <= 1)) {
        PyErr_Format(PyExc_ValueError, "mix: the weight must be in [0, 1], not %R",
                     PyTuple_Size(args) > 1 ? PyTuple_GET_ITEM(args, 1) : Py_None);
        return NULL;
    }
    MixtureObject *x = PyObject_New(MixtureObject, &MixtureType);
    if (!x)
        return NULL;
    x->a = (ModelObject *)Py_NewRef(self);
    x->b = (ModelObject *)Py_NewRef(other);
    x->weight = weight;
    return (PyObject *)x;
}

static void Mixture_dealloc(MixtureObject *self)
{
    Py_XDECREF(self->a);
    Py_XDECREF(self->b);
    PyObject_Free(self);
}

/* One sentence read by both models: the same tokens, or ValueError (as
 * nglm_mix_check_texts). */
static int mix_sentence(MixtureObject *self, PyObject *sentence, int bos, int eos,
                        sentence_ids *sa, sentence_ids *sb)
{
    if (model_sentence(self->a, sentence, bos, eos, sa) != 0)
        return -1;
    if (model_sentence(self->b, sentence, bos, eos, sb) != 0) {
        sentence_free(sa);
        return -1;
    }
    if (sa->n != sb->n) {
        PyErr_Format(PyExc_ValueError, "the two models read the sentence as %zu and %zu "
                     "tokens: a mixture needs the same tokens", sa->n - sa->first,
                     sb->n - sb->first);
        sentence_free(sa);
        sentence_free(sb);
        return -1;
    }
    return 0;
}

/* The mixture's log10 P of position i, model a's n-gram length, and
 * whether either reading is an OOV. */
static double mix_token(MixtureObject *self, const sentence_ids *sa, const sentence_ids *sb,
                        size_t i, int *len, int *oov)
{
    double la = model_token(self->a, sa->ids, i, len);
    double lb = model_token(self->b, sb->ids, i, NULL);
    *oov = sa->oov[i] || sb->oov[i];
    return nglm_mix_logprob10(la, lb, self->weight);
}

/* A sentence's token scores under the mixture. */
static int mix_scores(MixtureObject *self, PyObject *args, PyObject *kw, const char *fmt,
                      token_scores *t)
{
    PyObject *sentence;
    int bos, eos;
    sentence_ids sa, sb;
    if (sentence_args(args, kw, fmt, &sentence, &bos, &eos) != 0 ||
        mix_sentence(self, sentence, bos, eos, &sa, &sb) != 0)
        return -1;
    int rc = scores_alloc(t, sa.n - sa.first);
    for (size_t i = sa.first; rc == 0 && i < sa.n; i++) {
        int oov;
        t->lp[i - sa.first] = mix_token(self, &sa, &sb, i, &t->len[i - sa.first], &oov);
        t->oov[i - sa.first] = (uint8_t)oov;
    }
    sentence_free(&sa);
    sentence_free(&sb);
    return rc;
}

static PyObject *Mixture_full_scores(MixtureObject *self, PyObject *args, PyObject *kw)
{
    token_scores t;
    return mix_scores(self, args, kw, "O|pp:full_scores", &t) != 0 ? NULL : scores_iter(&t);
}

static PyObject *Mixture_score(MixtureObject *self, PyObject *args, PyObject *kw)
{
    token_scores t;
    return mix_scores(self, args, kw, "O|pp:score", &t) != 0 ? NULL : scores_total(&t);
}

/* The report of the mixture on a text read by both models. */
static PyObject *mix_report(MixtureObject *self, nglm_corpus *ca, nglm_corpus *cb, int threads)
{
    nglm_error err;
    if (nglm_mix_check_texts(ca, cb, &err) != 0) {
        PyErr_SetString(PyExc_ValueError, err.msg);
        return NULL;
    }
    double *la = model_score10(self->a, ca, threads);
    double *lb = la ? model_score10(self->b, cb, threads) : NULL;
    PyObject *d = NULL;
    nglm_eval_report r;
    if (lb) {
        if (nglm_mix_eval(ca, cb, la, lb, self->weight, 1, &r, &err) != 0) {
            PyErr_SetString(PyExc_ValueError, err.msg);
        } else {
            d = report_dict(&r, ca->n_sents);
            nglm_eval_report_free(&r);
        }
    }
    free(la);
    free(lb);
    return d;
}

static PyObject *Mixture_evaluate(MixtureObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"sentences", "threads", NULL};
    PyObject *sentences;
    int threads = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|i:evaluate", kwlist, &sentences, &threads))
        return NULL;
    nglm_corpus ca, cb;
    if (model_corpus(self->a, sentences, &ca) != 0)
        return NULL;
    if (model_corpus(self->b, sentences, &cb) != 0) {
        nglm_corpus_free(&ca);
        return NULL;
    }
    PyObject *d = mix_report(self, &ca, &cb, threads);
    nglm_corpus_free(&ca);
    nglm_corpus_free(&cb);
    return d;
}

static PyObject *Mixture_score_file(MixtureObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"path", "threads", NULL};
    PyObject *path_b;
    int threads = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|i:score_file", kwlist,
                                     PyUnicode_FSConverter, &path_b, &threads))
        return NULL;
    nglm_corpus ca, cb;
    PyObject *d = NULL;
    if (model_read(self->a, path_b, &ca) == 0) {
        if (model_read(self->b, path_b, &cb) == 0) {
            d = mix_report(self, &ca, &cb, threads);
            nglm_corpus_free(&cb);
        }
        nglm_corpus_free(&ca);
    }
    Py_DECREF(path_b);
    return d;
}

static PyObject *Mixture_get_order(MixtureObject *self, void *c)
{
    (void)c;
    return PyLong_FromLong(self->a->order > self->b->order ? self->a->order : self->b->order);
}

static PyMemberDef Mixture_members[] = {
    {"weight", T_DOUBLE, offsetof(MixtureObject, weight), READONLY, "The weight of model a."},
    {"a", T_OBJECT, offsetof(MixtureObject, a), READONLY, "The first model."},
    {"b", T_OBJECT, offsetof(MixtureObject, b), READONLY, "The second model."},
    {NULL, 0, 0, 0, NULL}};

static PyGetSetDef Mixture_getset[] = {
    {"order", (getter)Mixture_get_order, NULL, "The higher order of the two.", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyMethodDef Mixture_methods[] = {
    {"score", (PyCFunction)(void (*)(void))Mixture_score, METH_VARARGS | METH_KEYWORDS,
     "score(sentence, bos=True, eos=True) -> log10 probability under the mixture."},
    {"full_scores", (PyCFunction)(void (*)(void))Mixture_full_scores,
     METH_VARARGS | METH_KEYWORDS,
     "full_scores(sentence, bos=True, eos=True) -> iterator of (log10 prob, n-gram length "
     "in model a, oov in either)."},
    {"evaluate", (PyCFunction)(void (*)(void))Mixture_evaluate, METH_VARARGS | METH_KEYWORDS,
     "evaluate(sentences, threads=0) -> the report of nglm-eval --mix (dict)."},
    {"score_file", (PyCFunction)(void (*)(void))Mixture_score_file,
     METH_VARARGS | METH_KEYWORDS,
     "score_file(path, threads=0) -> the report of nglm-eval --mix --per-sentence (dict)."},
    {NULL, NULL, 0, NULL}};

static PyTypeObject MixtureType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "nglm.Mixture",
    .tp_basicsize = sizeof(MixtureObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "weight * P_a + (1 - weight) * P_b, made by Model.mix (nglm-eval --mix).",
    .tp_dealloc = (destructor)Mixture_dealloc,
    .tp_methods = Mixture_methods,
    .tp_members = Mixture_members,
    .tp_getset = Mixture_getset,
};

/* ================================================================ CacheScorer */

typedef struct {
    PyObject_HEAD
    ModelObject *m;
    nglm_cache_spec spec;
    nglm_cache_state *st;
} CacheScorerObject;

static PyTypeObject CacheScorerType;

static PyObject *Model_cache_scorer(ModelObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"spec", "weight", "bigram_weight", "reset_word", NULL};
    const char *spec_text = "decay:100";
    double w1 = 0.1, w2 = 0.05; /* nglm-eval's defaults */
    PyObject *reset = Py_None;
    if (model_ready(self) != 0 ||
        !PyArg_ParseTupleAndKeywords(args, kw, "|sddO:cache_scorer", kwlist, &spec_text, &w1,
                                     &w2, &reset))
        return NULL;
    nglm_cache_spec spec;
    nglm_error err;
    int from_model = strcmp(spec_text, "model") == 0;
    if (from_model) {
        if (self->arpa || !self->m.has_cache) {
            PyErr_SetString(PyExc_ValueError, "cache_scorer('model'): the model records no "
                            "cache (nglm-train --eval-cache auto records one)");
            return NULL;
        }
        spec = self->m.cache;
    } else {
        if (nglm_cache_parse(spec_text, &spec, &err) != 0) {
            PyErr_SetString(PyExc_ValueError, err.msg);
            return NULL;
        }
        spec.lambda = w1;
        spec.bigram_lambda = spec.bigram_length > 0 ? w2 : 0;
        if (!(spec.lambda >= 0) || !(spec.bigram_lambda >= 0) ||
            !(spec.lambda + spec.bigram_lambda <= 1)) {
            PyErr_SetString(PyExc_ValueError, "cache_scorer: the weights must be >= 0 and "
                            "together at most 1");
            return NULL;
        }
    }
    if (reset != Py_None) {
        const char *p;
        Py_ssize_t n;
        if (text_bytes(reset, "reset word", &p, &n) != 0)
            return NULL;
        int32_t id = memchr(p, '\0', (size_t)n) ? -1 : nglm_vocab_find(self->vocab, p);
        if (id < NGLM_NUM_SPECIAL) {
            PyErr_Format(PyExc_ValueError, "cache_scorer: the reset word %R is not a word of "
                         "the model's vocabulary", reset);
            return NULL;
        }
        spec.reset_word = id;
    }
    CacheScorerObject *x = PyObject_New(CacheScorerObject, &CacheScorerType);
    if (!x)
        return NULL;
    x->m = (ModelObject *)Py_NewRef(self);
    x->spec = spec;
    x->st = nglm_cache_state_new(&x->spec, (int32_t)nglm_vocab_size(self->vocab), &err);
    if (!x->st) {
        PyErr_SetString(PyExc_ValueError, err.msg);
        Py_DECREF(x);
        return NULL;
    }
    return (PyObject *)x;
}

static void CacheScorer_dealloc(CacheScorerObject *self)
{
    nglm_cache_state_free(self->st);
    Py_XDECREF(self->m);
    PyObject_Free(self);
}

/* The next sentence of the text: its tokens' log10 P with the cache into
 * *lp (PyMem, s->n entries, from s->first = 0), the cache updated. */
/* A sentence's token scores with the cache of the sentences before it;
 * then the sentence joins the cache. */
static int cache_scores(CacheScorerObject *self, PyObject *sentence, token_scores *t)
{
    sentence_ids s;
    if (model_sentence(self->m, sentence, 1, 1, &s) != 0)
        return -1;
    double *c = PyMem_Malloc(2 * (s.n ? s.n : 1) * sizeof *c);
    if (!c || scores_alloc(t, s.n) != 0) {
        PyMem_Free(c);
        sentence_free(&s);
        return c ? -1 : (PyErr_NoMemory(), -1);
    }
    double *c1 = c, *c2 = self->spec.bigram_length > 0 ? c + s.n : NULL;
    for (size_t i = 0; i < s.n; i++) {
        t->lp[i] = model_token(self->m, s.ids, i, &t->len[i]); /* the length, as nglm-eval */
        t->oov[i] = s.oov[i];
    }
    nglm_error err;
    int rc = nglm_cache_state_sentence(self->st, s.ids, s.n, c1, c2, &err);
    if (rc == 0)
        nglm_cache_mix(&self->spec, t->lp, c1, c2, s.n, t->lp);
    PyMem_Free(c);
    sentence_free(&s);
    if (rc != 0) {
        scores_free(t);
        PyErr_SetString(PyExc_ValueError, err.msg);
        return -1;
    }
    return 0;
}

static PyObject *CacheScorer_score(CacheScorerObject *self, PyObject *sentence)
{
    token_scores t;
    return cache_scores(self, sentence, &t) != 0 ? NULL : scores_total(&t);
}

static PyObject *CacheScorer_full_scores(CacheScorerObject *self, PyObject *sentence)
{
    token_scores t;
    return cache_scores(self, sentence, &t) != 0 ? NULL : scores_iter(&t);
}

static PyObject *CacheScorer_reset(CacheScorerObject *self, PyObject *unused)
{
    (void)unused;
    nglm_error err;
    if (nglm_cache_state_reset(self->st, &err) != 0) {
        PyErr_SetString(PyExc_MemoryError, err.msg);
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *CacheScorer_get_spec(CacheScorerObject *self, void *c)
{
    (void)c;
    char buf[96];
    return PyUnicode_FromString(nglm_cache_name(&self->spec, buf, sizeof buf));
}

static PyObject *CacheScorer_get_weights(CacheScorerObject *self, void *c)
{
    (void)c;
    return Py_BuildValue("(dd)", self->spec.lambda, self->spec.bigram_lambda);
}

static PyMemberDef CacheScorer_members[] = {
    {"model", T_OBJECT, offsetof(CacheScorerObject, m), READONLY, "The model."},
    {NULL, 0, 0, 0, NULL}};

static PyGetSetDef CacheScorer_getset[] = {
    {"spec", (getter)CacheScorer_get_spec, NULL, "The cache, as nglm-eval --cache names it.",
     NULL},
    {"weights", (getter)CacheScorer_get_weights, NULL,
     "(unigram cache weight, bigram cache weight).", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyMethodDef CacheScorer_methods[] = {
    {"score", (PyCFunction)CacheScorer_score, METH_O,
     "score(sentence) -> log10 probability with the cache of the sentences before it; "
     "then the sentence joins the cache.  An empty sentence empties the cache."},
    {"full_scores", (PyCFunction)CacheScorer_full_scores, METH_O,
     "full_scores(sentence) -> iterator of (log10 prob, n-gram length, oov), as score "
     "(the cache moves on)."},
    {"reset", (PyCFunction)CacheScorer_reset, METH_NOARGS, "reset(): empty the cache."},
    {NULL, NULL, 0, NULL}};

static PyTypeObject CacheScorerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "nglm.CacheScorer",
    .tp_basicsize = sizeof(CacheScorerObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Sentences of a text scored in order with a cache of its recent past\n"
              "(nglm-eval --cache), made by Model.cache_scorer.",
    .tp_dealloc = (destructor)CacheScorer_dealloc,
    .tp_methods = CacheScorer_methods,
    .tp_members = CacheScorer_members,
    .tp_getset = CacheScorer_getset,
};

/* ================================================================ train */

/* An optional path argument: None leaves *out NULL. */
static int opt_path(PyObject *o, void *out)
{
    if (o == Py_None)
        return 1;
    return PyUnicode_FSConverter(o, out);
}

/* Where train() may save: not one of its texts, and not a file nglm did
 * not write (unless force), as nglm-train --model. */
static int check_model_path(const char *model, const char *const *texts, int n, int force)
{
    struct stat sm, st;
    if (stat(model, &sm) != 0)
        return 0; /* a new file */
    for (int i = 0; i < n; i++)
        if (texts[i] && stat(texts[i], &st) == 0 && st.st_dev == sm.st_dev &&
            st.st_ino == sm.st_ino) {
            PyErr_Format(PyExc_ValueError, "model %s is the text %s: it would be destroyed",
                         model, texts[i]);
            return -1;
        }
    if (!force && S_ISREG(sm.st_mode) && sm.st_size > 0 && !nglm_model_file_is_native(model)) {
        errno = EEXIST;
        PyErr_Format(PyExc_FileExistsError, "%s exists and is not an nglm model: give "
                     "force=True to replace it", model);
        return -1;
    }
    return 0;
}

/* train()'s keywords as the pipeline's options (nglm-train's names). */
static int train_options(nglm_pipeline_options *o, PyObject *order, const char *features,
                         const char *cutoffs, const char *init, const char *tokenize,
                         nglm_error *err)
{
    if (order != Py_None && !(PyUnicode_Check(order) &&
                              PyUnicode_CompareWithASCIIString(order, "auto") == 0)) {
        long n = PyLong_AsLong(order);
        if (n == -1 && PyErr_Occurred())
            return -1;
        o->order = (int)n;
        o->order_auto = 0;
    }
    if (init && strcmp(init, "kn") != 0 && strcmp(init, "zero") != 0)
        return nglm_error_set(err, "init: '%s' is not kn or zero", init);
    o->init_kn = !init || strcmp(init, "kn") == 0;
    if ((features && nglm_pipeline_parse_features(features, o, err) != 0) ||
        (cutoffs && nglm_pipeline_parse_cutoffs(cutoffs, o->cutoff, err) != 0) ||
        (tokenize && nglm_tok_mode_parse(tokenize, &o->tok.mode, err) != 0))
        return -1;
    return 0;
}

static PyObject *nglm_train_fn(PyObject *mod, PyObject *args, PyObject *kw)
{
    (void)mod;
    static char *kwlist[] = {"train", "model", "valid", "test", "order", "features", "cutoffs",
                             "epochs", "best", "init", "l1", "l2", "lr", "max_memory",
                             "min_count", "max_vocab", "tokenize", "lowercase", "threads",
                             "seed", "verbose", "force", NULL};
    PyObject *train_b = NULL, *model_b = NULL, *valid_b = NULL, *test_b = NULL;
    PyObject *order = Py_None;
    const char *features = NULL, *cutoffs = NULL, *init = NULL, *tokenize = NULL;
    int epochs = -1, best = 0, lowercase = 0, threads = 0, verbose = 0, force = 0;
    double l1 = NAN, l2 = NAN, lr = NAN;
    unsigned long long max_memory = 0, min_count = 0, seed = 1;
    Py_ssize_t max_vocab = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|$O&O&O&OzzipzdddKKnzpiKpp:train", kwlist,
                                     PyUnicode_FSConverter, &train_b, opt_path, &model_b,
                                     opt_path, &valid_b, opt_path, &test_b, &order, &features,
                                     &cutoffs, &epochs, &best, &init, &l1, &l2, &lr,
                                     &max_memory, &min_count, &max_vocab, &tokenize,
                                     &lowercase, &threads, &seed, &verbose, &force))
        return NULL;
    PyObject *result = NULL;
    const char *texts[3] = {PyBytes_AS_STRING(train_b),
                            valid_b ? PyBytes_AS_STRING(valid_b) : NULL,
                            test_b ? PyBytes_AS_STRING(test_b) : NULL};
    const char *model = model_b ? PyBytes_AS_STRING(model_b) : NULL;
    nglm_error err;
    nglm_pipeline_options o = nglm_pipeline_options_default();
    o.train = texts[0];
    o.valid = texts[1];
    o.test = texts[2];
    o.tr.max_epochs = epochs;
    o.best = best;
    if (!isnan(l1))
        o.tr.l1 = l1;
    if (!isnan(l2))
        o.tr.l2 = l2;
    o.tr.lr = lr;
    o.max_memory = (size_t)max_memory;
    o.min_count = min_count;
    o.max_vocab = (size_t)(max_vocab > 0 ? max_vocab : 0);
    o.tok.lowercase = lowercase;
    o.tr.threads = threads;
    o.tr.seed = seed;
    o.out = verbose ? stdout : NULL;
    nglm_pipeline P;
    memset(&P, 0, sizeof P);
    if (train_options(&o, order, features, cutoffs, init, tokenize, &err) != 0) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, err.msg);
        goto out;
    }
    for (int i = 0; i < 3; i++) {
        PyObject *name = texts[i] ? PyUnicode_DecodeFSDefault(texts[i]) : NULL;
        int bad = texts[i] && (!name || check_path(name, texts[i]) != 0);
        Py_XDECREF(name);
        if (bad)
            goto out;
    }
    if (model && check_model_path(model, texts, 3, force) != 0)
        goto out;
    if (nglm_pipeline_init(&P, &o, &err) != 0) {
        PyErr_SetString(PyExc_ValueError, err.msg);
        goto out;
    }
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = nglm_pipeline_run(&P, &err) == 0 && (!model || nglm_model_save(&P.model, model, &err) == 0)
             ? 0 : -1;
    Py_END_ALLOW_THREADS
    if (rc != 0) {
        PyErr_SetString(PyExc_ValueError, err.msg);
        goto out;
    }
    ModelObject *self = (ModelObject *)ModelType.tp_alloc(&ModelType, 0);
    if (!self)
        goto out;
    self->m = P.model; /* the model moves into the Model */
    memset(&P.model, 0, sizeof P.model);
    self->path = PyUnicode_DecodeFSDefault(model ? model : texts[0]);
    if (!self->path || model_attach(self) != 0) {
        Py_DECREF(self);
        goto out;
    }
    result = (PyObject *)self;
out:
    nglm_pipeline_free(&P);
    Py_DECREF(train_b);
    Py_XDECREF(model_b);
    Py_XDECREF(valid_b);
    Py_XDECREF(test_b);
    return result;
}

static PyMethodDef module_methods[] = {
    {"train", (PyCFunction)(void (*)(void))nglm_train_fn, METH_VARARGS | METH_KEYWORDS,
     "train(train, *, model=None, valid=None, test=None, order='auto', features=None,\n"
     "      cutoffs=None, epochs=-1, best=False, init='kn', l1=None, l2=None, lr=None,\n"
     "      max_memory=0, min_count=0, max_vocab=0, tokenize=None, lowercase=False,\n"
     "      threads=0, seed=1, verbose=False, force=False) -> Model\n\n"
     "Trains a model on the text file `train` as nglm-train does, with its options\n"
     "and defaults (None, -1, 0: nglm-train's default), saves it to `model` if given\n"
     "and returns it.  verbose prints nglm-train's stage lines."},
    {NULL, NULL, 0, NULL}};

/* ================================================================ module */

static struct PyModuleDef nglm_module = {
    PyModuleDef_HEAD_INIT, "nglm",
    "Softmax n-gram language models (libnglm) with KenLM's Python API:\n"
    "`import nglm as kenlm` runs code written for kenlm.  See doc/python.md.",
    -1, module_methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit_nglm(void)
{
    if (PyType_Ready(&ModelType) < 0 || PyType_Ready(&StateType) < 0 ||
        PyType_Ready(&MixtureType) < 0 || PyType_Ready(&CacheScorerType) < 0)
        return NULL;
    FullScoreType = PyStructSequence_NewType(&full_desc);
    if (!FullScoreType)
        return NULL;
    PyObject *m = PyModule_Create(&nglm_module);
    if (!m)
        return NULL;
    if (PyModule_AddObjectRef(m, "Model", (PyObject *)&ModelType) < 0 ||
        PyModule_AddObjectRef(m, "LanguageModel", (PyObject *)&ModelType) < 0 ||
        PyModule_AddObjectRef(m, "State", (PyObject *)&StateType) < 0 ||
        PyModule_AddObjectRef(m, "Mixture", (PyObject *)&MixtureType) < 0 ||
        PyModule_AddObjectRef(m, "CacheScorer", (PyObject *)&CacheScorerType) < 0 ||
        PyModule_AddObjectRef(m, "FullScoreReturn", (PyObject *)FullScoreType) < 0
#ifdef NGLM_VERSION
        || PyModule_AddStringConstant(m, "__version__", NGLM_VERSION) < 0
#endif
    ) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
