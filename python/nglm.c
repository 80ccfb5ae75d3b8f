/*
 * nglm.c — the Python module `nglm`: libnglm's models seen through KenLM's
 * Python API (doc/python.md), so that code written for `kenlm` runs with
 * `import nglm as kenlm`, plus what KenLM lacks (sampling, mixtures,
 * whole texts scored in C on OpenMP threads with the GIL released).
 *
 * Nothing here computes a probability: every number comes from the library
 * through one interface, nglm_lm (nglm/lm.h: a scorer for single tokens,
 * nglm_lm_score_corpus10 for texts, nglm_lm_report for reports), whatever
 * the kind of model (an nglm model, an ARPA file, a mixture), so the
 * module scores exactly as nglm-eval does and never asks which kind it
 * holds.  A Mixture is a Model whose nglm_lm is a mixture of its models'.  What the module owns is the
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
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nglm/arpa.h>
#include <nglm/lm.h>
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

#include "lm_impl.h" /* nglm_lm's path, for a model read (Config READ) */

/* Python 3.9 has neither (3.10 added them) */
#if PY_VERSION_HEX < 0x030A0000
static inline PyObject *nglm_py_newref(PyObject *o)
{
    Py_INCREF(o);
    return o;
}
#define Py_NewRef(o) nglm_py_newref((PyObject *)(o))

static inline int PyModule_AddObjectRef(PyObject *m, const char *name, PyObject *v)
{
    if (!v)
        return -1;
    Py_INCREF(v);
    if (PyModule_AddObject(m, name, v) < 0) {
        Py_DECREF(v);
        return -1;
    }
    return 0;
}
#endif

/* Longest history a State holds: an ARPA file's order - 1, or a native
 * model's order - 1 or skip distance (at most NGLM_MAX_ORDER + 2). */
#define STATE_MAX NGLM_ARPA_MAX_ORDER

/* ================================================================ Model */

typedef struct {
    PyObject_HEAD
    nglm_lm *lm;            /* the model, of any kind */
    nglm_lm_scorer *sc;     /* single tokens */
    const nglm_vocab *vocab;
    nglm_tok_options tok;
    nglm_tokenizer *split;  /* the model's tokenizer, for sentences in memory */
    int order;
    int reach;              /* K: words of history that can matter */
    PyObject *path;         /* str, or None (a mixture made in memory) */
    PyObject *models;       /* a Mixture: the tuple of its Models (kept alive); else NULL */
    uint64_t serial;        /* which Model made a State (model_serial) */
    int em_iterations;      /* a Mixture: EM's updates (weight='auto'); -1: none ran */
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

/* log10 P of position i of ids (history: as nglm_lm_scorer_logprob10) and
 * the n-gram length used; NAN for a token the model skips (an OOV of an
 * ARPA file without <unk>: nglm-eval skips it, as SRILM does). */
static double model_token(ModelObject *self, const int32_t *ids, size_t i, int *len)
{
    return nglm_lm_scorer_logprob10(self->sc, ids, i, len);
}

/* -1 and OSError when a mapped model has read a damaged block of its file
 * (its checksum did not match: nglm_model_check), else 0. */
static int model_damaged(ModelObject *self)
{
    nglm_error err;
    if (nglm_lm_check(self->lm, &err) == 0)
        return 0;
    PyErr_SetString(PyExc_OSError, err.msg);
    return -1;
}

static void Model_dealloc(ModelObject *self)
{
    nglm_lm_scorer_free(self->sc);
    nglm_lm_free(self->lm);
    if (self->split)
        nglm_tokenizer_close(self->split);
    Py_XDECREF(self->path);
    Py_XDECREF(self->models);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* The rest of a Model once its nglm_lm (self->lm) is in place:
 * vocabulary, tokenizer, order, reach, scorer. */
static int model_attach(ModelObject *self)
{
    nglm_error err;
    self->vocab = nglm_lm_vocab(self->lm);
    self->tok = nglm_lm_tok(self->lm);
    self->order = nglm_lm_order(self->lm);
    self->reach = nglm_lm_reach(self->lm);
    if (!(self->sc = nglm_lm_scorer_new(self->lm, &err))) {
        self->vocab = NULL;
        PyErr_SetString(PyExc_MemoryError, err.msg);
        return -1;
    }
    if (self->reach > STATE_MAX)
        self->reach = STATE_MAX;
    self->split = nglm_tokenizer_new(&self->tok);
    if (!self->split) {
        self->vocab = NULL;
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

/* ---------------------------------------------------------------- Config */

/* KenLM's Config and LoadMethod, so that Model(path, kenlm.Config()) and
 * scripts that set config.load_method run.  The load methods keep KenLM's
 * numbers (its util::LoadMethod): LAZY and the POPULATE_* ones map an nglm
 * model (POPULATE_* also asks the kernel to read the file ahead), READ and
 * PARALLEL_READ read it into memory (nglm_model_load, which checks the
 * checksum and the whole index).  show_progress and arpa_complain are kept
 * and change nothing: nglm's loaders print nothing.  Any other attribute
 * (KenLM's Config has more) may be set, and is ignored. */
enum { LOAD_LAZY, LOAD_POPULATE_OR_LAZY, LOAD_POPULATE_OR_READ, LOAD_READ,
       LOAD_PARALLEL_READ };
enum { COMPLAIN_ALL, COMPLAIN_EXPECTED, COMPLAIN_NONE };

typedef struct {
    PyObject_HEAD
    PyObject *dict;         /* other attributes */
    int load_method;        /* LOAD_*: KenLM's default is POPULATE_OR_READ */
    int show_progress;
    int arpa_complain;      /* COMPLAIN_* */
} ConfigObject;

static int Config_init(ConfigObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kw, ":Config", kwlist))
        return -1;
    self->load_method = LOAD_POPULATE_OR_READ;
    self->show_progress = 1;
    self->arpa_complain = COMPLAIN_ALL;
    return 0;
}

static void Config_dealloc(ConfigObject *self)
{
    Py_CLEAR(self->dict);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Config_get_show_progress(ConfigObject *self, void *c)
{
    (void)c;
    return PyBool_FromLong(self->show_progress);
}

static int Config_set_show_progress(ConfigObject *self, PyObject *v, void *c)
{
    (void)c;
    if (!v) {
        PyErr_SetString(PyExc_AttributeError, "show_progress cannot be deleted");
        return -1;
    }
    int t = PyObject_IsTrue(v);
    if (t < 0)
        return -1;
    self->show_progress = t;
    return 0;
}

static PyObject *Config_repr(ConfigObject *self)
{
    return PyUnicode_FromFormat("nglm.Config(load_method=%d, show_progress=%s, "
                                "arpa_complain=%d)", self->load_method,
                                self->show_progress ? "True" : "False", self->arpa_complain);
}

static PyMemberDef Config_members[] = {
    {"load_method", T_INT, offsetof(ConfigObject, load_method), 0,
     "LoadMethod.LAZY, POPULATE_OR_LAZY, POPULATE_OR_READ (the default, as KenLM's), READ "
     "or PARALLEL_READ: an nglm model is mapped (POPULATE_*: and read ahead) or, with READ "
     "and PARALLEL_READ, read into memory and checked whole."},
    {"arpa_complain", T_INT, offsetof(ConfigObject, arpa_complain), 0,
     "ARPALoadComplain.ALL (the default), EXPECTED or NONE: kept, changes nothing (nglm's "
     "ARPA reader prints nothing; a bad file is an error)."},
    {NULL, 0, 0, 0, NULL}};

static PyGetSetDef Config_getset[] = {
    {"show_progress", (getter)Config_get_show_progress, (setter)Config_set_show_progress,
     "Kept, changes nothing: loading prints no progress.", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyTypeObject ConfigType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "nglm.Config",
    .tp_basicsize = sizeof(ConfigObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Config(): KenLM's loading options, for Model(path, config).  load_method\n"
              "(LoadMethod.*) chooses between mapping an nglm model (LAZY, POPULATE_*) and\n"
              "reading it into memory (READ, PARALLEL_READ); show_progress, arpa_complain\n"
              "and any other attribute are kept and ignored.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Config_init,
    .tp_dealloc = (destructor)Config_dealloc,
    .tp_repr = (reprfunc)Config_repr,
    .tp_members = Config_members,
    .tp_getset = Config_getset,
    .tp_dictoffset = offsetof(ConfigObject, dict),
};

/* The load method of Model()'s config argument: None is KenLM's default
 * minus the read-ahead (the mapping nglm-eval does). */
static int config_load_method(PyObject *config, int *method)
{
    *method = LOAD_LAZY;
    if (!config || config == Py_None)
        return 0;
    if (!PyObject_TypeCheck(config, &ConfigType)) {
        PyErr_Format(PyExc_TypeError, "Model: config must be an nglm.Config, not %s",
                     Py_TYPE(config)->tp_name);
        return -1;
    }
    int m = ((ConfigObject *)config)->load_method;
    if (m < LOAD_LAZY || m > LOAD_PARALLEL_READ) {
        PyErr_Format(PyExc_ValueError, "Model: config.load_method %d is not a LoadMethod "
                     "(0 to 4)", m);
        return -1;
    }
    *method = m;
    return 0;
}

/* An nglm model file read into memory (READ), as an nglm_lm with its path;
 * NULL when path is not an nglm word model (it is then opened as usual). */
static nglm_lm *read_native(const char *path, nglm_error *err, int *failed)
{
    *failed = 0;
    if (!nglm_model_file_is_native(path))
        return NULL;
    nglm_model *m = calloc(1, sizeof *m);
    nglm_lm *lm = NULL;
    if (!m)
        nglm_error_set(err, "out of memory");
    else if (nglm_model_load(m, path, err) != 0)
        free(m);
    else if (!(lm = nglm_lm_from_model(m, 1, err))) {
        nglm_model_free(m);
        free(m);
    } else if (!(lm->path = strdup(path))) {
        nglm_error_set(err, "out of memory");
        nglm_lm_free(lm);
        lm = NULL;
    }
    *failed = !lm;
    return lm;
}

/* POPULATE_*: the whole file read ahead into the page cache, which the
 * mapping then uses (advice only: nothing fails). */
static void read_ahead(const char *path)
{
#ifdef POSIX_FADV_WILLNEED
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        (void)posix_fadvise(fd, 0, 0, POSIX_FADV_WILLNEED);
        close(fd);
    }
#else
    (void)path;
#endif
}

static int Model_init(ModelObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"path", "config", "verify", NULL};
    PyObject *path_b = NULL, *config = NULL;
    int verify = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|O$p:Model", kwlist, PyUnicode_FSConverter,
                                     &path_b, &config, &verify))
        return -1;
    int method;
    if (config_load_method(config, &method) != 0) {
        Py_DECREF(path_b);
        return -1;
    }
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
    /* an nglm model is mapped in place; verify checks the CRC and the
     * whole index first, as nglm_model_load does */
    int failed = 0;
    self->lm = NULL;
    if (method == LOAD_READ || method == LOAD_PARALLEL_READ)
        self->lm = read_native(path, &err, &failed);
    else if (method != LOAD_LAZY)
        read_ahead(path);
    if (!self->lm && !failed)
        self->lm = nglm_lm_open(path, verify ? NGLM_LM_VERIFY : 0, &err);
    rc = self->lm ? 0 : -1;
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

/* The sentences of seq (checked by model_corpus) read by lm through
 * nglm_lm_read_lines: a mixture's corpus carries every model's reading. */
static int lm_corpus_lines(const nglm_lm *lm, PyObject *seq, nglm_corpus *c)
{
    Py_ssize_t ns = PySequence_Fast_GET_SIZE(seq);
    char **lines = PyMem_Calloc(ns ? (size_t)ns : 1, sizeof *lines);
    int rc = lines ? 0 : -1;
    for (Py_ssize_t k = 0; rc == 0 && k < ns; k++) {
        const char *p;
        Py_ssize_t n;
        if (text_bytes(PySequence_Fast_GET_ITEM(seq, k), "sentence", &p, &n) != 0 ||
            !(lines[k] = PyMem_Malloc((size_t)n + 1)))
            rc = -1;
        else {
            memcpy(lines[k], p, (size_t)n);
            lines[k][n] = '\0';
        }
    }
    nglm_error err;
    if (rc == 0 && nglm_lm_read_lines(lm, (const char *const *)lines, (size_t)ns, c,
                                      &err) != 0) {
        PyErr_SetString(PyExc_ValueError, err.msg);
        rc = -1;
    } else if (rc != 0 && !PyErr_Occurred()) {
        PyErr_NoMemory();
    }
    for (Py_ssize_t k = 0; lines && k < ns; k++)
        PyMem_Free(lines[k]);
    PyMem_Free(lines);
    return rc;
}

static int model_corpus_lines(ModelObject *self, PyObject *seq, nglm_corpus *c)
{
    return lm_corpus_lines(self->lm, seq, c);
}

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
    if (self->models) { /* a mixture: read again by every model its own way */
        nglm_corpus_free(c);
        int rc = model_corpus_lines(self, seq, c);
        Py_DECREF(seq);
        return rc;
    }
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
    nglm_error err;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    /* a sentence a line, as nglm-eval and KenLM's query read */
    rc = nglm_lm_read(self->lm, path, c, NULL, &err);
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
    rc = nglm_lm_score_corpus10(self->lm, c, lp, NULL, threads, NULL, &err);
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
    int rc = nglm_lm_report(c, lp, 1, &r, &err);
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
    if (nglm_sampler_init(&s, self->lm, temperature, (size_t)max_length, (uint64_t)seed,
                          &err) != 0) {
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
    return model_ready(self) != 0 ? NULL : Py_NewRef(self->path ? self->path : Py_None);
}

static PyObject *Model_get_is_arpa(ModelObject *self, void *c)
{
    (void)c;
    return model_ready(self) != 0 ? NULL
                                  : PyBool_FromLong(strcmp(nglm_lm_kind(self->lm), "arpa") == 0);
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
    const char *kind = nglm_lm_kind(self->lm);
    return PyUnicode_FromFormat("<nglm.%s from %R: %s, order %d, %zu words>",
                                self->models ? "Mixture" : "Model",
                                self->path ? self->path : Py_None,
                                strcmp(kind, "arpa") == 0 ? "ARPA" : kind, self->order,
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

/* pickle (KenLM's Model pickles as its path, for multiprocessing): opened
 * again from its file, mapped; a Mixture made in memory has no file. */
static PyObject *Model_reduce(ModelObject *self, PyObject *unused)
{
    (void)unused;
    if (model_ready(self) != 0)
        return NULL;
    if (!self->path || self->path == Py_None) {
        PyErr_SetString(PyExc_TypeError, "a Mixture made in memory cannot be pickled: save "
                        "it with write(path) and pickle nglm.Model(path)");
        return NULL;
    }
    return Py_BuildValue("O(O)", (PyObject *)&ModelType, self->path);
}
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
    {"__reduce__", (PyCFunction)Model_reduce, METH_NOARGS,
     "Pickled as its path: unpickling opens the file again."},
    {"mix", (PyCFunction)(void (*)(void))Model_mix, METH_VARARGS | METH_KEYWORDS,
     "mix(other, ..., weight=None, heldout=None, threads=0) -> Mixture: sum_k w_k P_k of\n"
     "this model and the others (SRILM's -mix-lm).  weight: None (equal), the weight of\n"
     "this model when there are two (mix(b, 0.3)), one weight per model, or 'auto':\n"
     "EM on heldout, a text file's path or a list of sentences (nglm-eval --lambda auto;\n"
     "the Mixture's em_iterations says how many updates it made)."},
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
              "--verify) checks the checksum and the whole index first.  config: an\n"
              "nglm.Config; its load_method READ or PARALLEL_READ reads an nglm model into\n"
              "memory instead (checking it whole).",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Model_init,
    .tp_dealloc = (destructor)Model_dealloc,
    .tp_repr = (reprfunc)Model_repr,
    .tp_methods = Model_methods,
    .tp_getset = Model_getset,
    .tp_as_sequence = &Model_as_sequence,
};

/* ================================================================ Mixture */

/* A Mixture is a Model (the same struct and methods: no scoring of its
 * own) whose nglm_lm mixes its models' (each borrowed, nglm_lm_borrow);
 * models keeps them alive. */
static PyTypeObject MixtureType;

/* weight=: None (equal), a number (the first of two models' weight), a
 * sequence of n weights, or "auto" (*is_auto). */
static int mix_weights(PyObject *weight, size_t n, double *w, int *is_auto)
{
    *is_auto = 0;
    if (weight == Py_None) {
        for (size_t k = 0; k < n; k++)
            w[k] = 1.0 / (double)n;
        return 0;
    }
    if (PyUnicode_Check(weight)) {
        if (PyUnicode_CompareWithASCIIString(weight, "auto") == 0) {
            for (size_t k = 0; k < n; k++)
                w[k] = 1.0 / (double)n;
            *is_auto = 1;
            return 0;
        }
        PyErr_Format(PyExc_ValueError, "mix: weight must be a number, a list or 'auto', not %R",
                     weight);
        return -1;
    }
    if (PyNumber_Check(weight)) {
        double x = PyFloat_AsDouble(weight);
        if (x == -1.0 && PyErr_Occurred())
            return -1;
        if (n != 2) {
            PyErr_Format(PyExc_ValueError, "mix: one weight for %zu models: give a list of "
                         "%zu", n, n);
            return -1;
        }
        if (!(x >= 0 && x <= 1)) {
            PyErr_Format(PyExc_ValueError, "mix: the weight must be in [0, 1], not %R", weight);
            return -1;
        }
        w[0] = x;
        w[1] = 1.0 - x;
        return 0;
    }
    PyObject *seq = PySequence_Fast(weight, "mix: weight must be a number, a list or 'auto'");
    if (!seq)
        return -1;
    if ((size_t)PySequence_Fast_GET_SIZE(seq) != n) {
        PyErr_Format(PyExc_ValueError, "mix: %zd weights for %zu models",
                     PySequence_Fast_GET_SIZE(seq), n);
        Py_DECREF(seq);
        return -1;
    }
    for (size_t k = 0; k < n; k++) {
        w[k] = PyFloat_AsDouble(PySequence_Fast_GET_ITEM(seq, (Py_ssize_t)k));
        if (w[k] == -1.0 && PyErr_Occurred()) {
            Py_DECREF(seq);
            return -1;
        }
    }
    Py_DECREF(seq);
    return 0;
}

static PyObject *Model_mix(ModelObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"weight", "heldout", "threads", NULL};
    PyObject *weight = Py_None, *heldout = Py_None, *heldout_b = NULL, *heldout_seq = NULL;
    int threads = 0;
    if (model_ready(self) != 0)
        return NULL;
    /* mix(other, ..., [weight]): Models, then maybe the weight (KenLM-free
     * shorthand of mix(b, 0.3)) */
    Py_ssize_t na = PyTuple_GET_SIZE(args), nm = na;
    if (na > 0 && !PyObject_TypeCheck(PyTuple_GET_ITEM(args, na - 1), &ModelType) &&
        (PyNumber_Check(PyTuple_GET_ITEM(args, na - 1)) ||
         PyUnicode_Check(PyTuple_GET_ITEM(args, na - 1))))
        nm = na - 1;
    PyObject *rest = PyTuple_GetSlice(args, nm, na), *none = PyTuple_New(0);
    int ok = rest && none && PyArg_ParseTupleAndKeywords(none, kw, "|OOi:mix", kwlist,
                                                         &weight, &heldout, &threads);
    Py_XDECREF(none);
    /* heldout: a path (str, bytes, os.PathLike), or the sentences themselves */
    if (ok && heldout != Py_None) {
        if (PyUnicode_Check(heldout) || PyBytes_Check(heldout) ||
            PyObject_HasAttrString(heldout, "__fspath__"))
            ok = PyUnicode_FSConverter(heldout, &heldout_b);
        else if (!(heldout_seq = PySequence_Fast(heldout, "mix: heldout must be a path or "
                                                          "an iterable of sentences")))
            ok = 0;
        else if (PySequence_Fast_GET_SIZE(heldout_seq) == 0) {
            PyErr_SetString(PyExc_ValueError, "mix: heldout holds no sentences");
            ok = 0;
        }
    }
    int has_heldout = heldout_b || heldout_seq;
    if (ok && PyTuple_GET_SIZE(rest) == 1) {
        if (weight != Py_None) {
            PyErr_SetString(PyExc_TypeError, "mix: the weight given twice");
            ok = 0;
        } else {
            weight = PyTuple_GET_ITEM(rest, 0);
        }
    }
    Py_INCREF(weight);
    Py_XDECREF(rest);
    size_t n = (size_t)nm + 1;
    if (ok && nm < 1) {
        PyErr_SetString(PyExc_TypeError, "mix: give the models to mix with this one");
        ok = 0;
    }
    if (ok && n > NGLM_LM_MIX_MAX) {
        PyErr_Format(PyExc_ValueError, "mix: %zu models: at most %d", n, NGLM_LM_MIX_MAX);
        ok = 0;
    }
    for (Py_ssize_t k = 0; ok && k < nm; k++)
        if (!PyObject_TypeCheck(PyTuple_GET_ITEM(args, k), &ModelType)) {
            PyErr_Format(PyExc_TypeError, "mix: argument %zd must be an nglm.Model, not %s",
                         k + 1, Py_TYPE(PyTuple_GET_ITEM(args, k))->tp_name);
            ok = 0;
        } else if (model_ready((ModelObject *)PyTuple_GET_ITEM(args, k)) != 0) {
            ok = 0;
        }
    double w[NGLM_LM_MIX_MAX];
    int is_auto = 0;
    if (ok && mix_weights(weight, n, w, &is_auto) != 0)
        ok = 0;
    Py_DECREF(weight);
    if (ok && is_auto && !has_heldout) {
        PyErr_SetString(PyExc_ValueError, "mix: weight='auto' needs heldout=PATH");
        ok = 0;
    }
    if (ok && !is_auto && has_heldout) {
        PyErr_SetString(PyExc_ValueError, "mix: heldout= is used only with weight='auto'");
        ok = 0;
    }
    if (!ok) {
        Py_XDECREF(heldout_b);
        Py_XDECREF(heldout_seq);
        return NULL;
    }
    PyObject *models = PyTuple_New((Py_ssize_t)n);
    if (!models) {
        Py_XDECREF(heldout_b);
        Py_XDECREF(heldout_seq);
        return NULL;
    }
    nglm_lm *comps[NGLM_LM_MIX_MAX];
    nglm_error err;
    int rc = 0;
    for (size_t k = 0; k < n; k++) {
        ModelObject *m = k == 0 ? self : (ModelObject *)PyTuple_GET_ITEM(args, k - 1);
        PyTuple_SET_ITEM(models, (Py_ssize_t)k, Py_NewRef(m));
        comps[k] = rc == 0 ? nglm_lm_borrow(m->lm, &err) : NULL;
        if (!comps[k])
            rc = -1;
    }
    nglm_lm *lm = NULL;
    if (rc == 0)
        lm = nglm_lm_mix_new(comps, w, n, &err);
    else
        for (size_t k = 0; k < n; k++)
            nglm_lm_free(comps[k]);
    int it = -1, raised = 0;
    if (lm && is_auto) {
        nglm_corpus h;
        memset(&h, 0, sizeof h);
        if (heldout_seq && lm_corpus_lines(lm, heldout_seq, &h) != 0) {
            rc = -1;
            raised = 1; /* its exception is set */
        } else {
            const char *path = heldout_b ? PyBytes_AS_STRING(heldout_b) : NULL;
            Py_BEGIN_ALLOW_THREADS
            rc = path ? nglm_lm_read(lm, path, &h, NULL, &err) : 0;
            if (rc == 0) { /* (a failed read leaves nothing to free) */
                rc = nglm_lm_mix_em(lm, &h, threads, &it, &err);
                nglm_corpus_free(&h);
            }
            Py_END_ALLOW_THREADS
        }
        if (rc != 0) {
            nglm_lm_free(lm);
            lm = NULL;
        }
    }
    Py_XDECREF(heldout_b);
    Py_XDECREF(heldout_seq);
    if (!lm) {
        Py_DECREF(models);
        if (!raised)
            PyErr_SetString(PyExc_ValueError, err.msg);
        return NULL;
    }
    ModelObject *x = (ModelObject *)MixtureType.tp_alloc(&MixtureType, 0);
    if (!x) {
        nglm_lm_free(lm);
        Py_DECREF(models);
        return NULL;
    }
    x->lm = lm;
    x->models = models;
    x->em_iterations = it;
    if (model_attach(x) != 0) {
        Py_DECREF(x);
        return NULL;
    }
    return (PyObject *)x;
}

static PyObject *Mixture_get_weights(ModelObject *self, void *c)
{
    (void)c;
    size_t n = nglm_lm_mix_size(self->lm);
    const double *w = nglm_lm_mix_weights(self->lm);
    PyObject *t = PyTuple_New((Py_ssize_t)n);
    for (size_t k = 0; t && k < n; k++) {
        PyObject *f = PyFloat_FromDouble(w[k]);
        if (!f) {
            Py_CLEAR(t);
            break;
        }
        PyTuple_SET_ITEM(t, (Py_ssize_t)k, f);
    }
    return t;
}

static PyObject *Mixture_get_weight(ModelObject *self, void *c)
{
    (void)c;
    return PyFloat_FromDouble(nglm_lm_mix_weights(self->lm)[0]);
}

static PyObject *Mixture_get_models(ModelObject *self, void *c)
{
    (void)c;
    return Py_NewRef(self->models);
}

static PyObject *Mixture_get_em_iterations(ModelObject *self, void *c)
{
    (void)c;
    if (self->em_iterations < 0)
        Py_RETURN_NONE;
    return PyLong_FromLong(self->em_iterations);
}

static PyObject *Mixture_get_a(ModelObject *self, void *c)
{
    (void)c;
    return Py_NewRef(PyTuple_GET_ITEM(self->models, 0));
}

static PyObject *Mixture_get_b(ModelObject *self, void *c)
{
    (void)c;
    return Py_NewRef(PyTuple_GET_ITEM(self->models, 1));
}

static PyObject *Mixture_write(ModelObject *self, PyObject *arg)
{
    PyObject *path_b;
    if (!PyUnicode_FSConverter(arg, &path_b))
        return NULL;
    nglm_error err;
    int rc = nglm_lm_mix_save(self->lm, PyBytes_AS_STRING(path_b), &err);
    Py_DECREF(path_b);
    if (rc != 0) {
        PyErr_SetString(PyExc_OSError, err.msg);
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyGetSetDef Mixture_getset[] = {
    {"weights", (getter)Mixture_get_weights, NULL, "The weights of the models.", NULL},
    {"weight", (getter)Mixture_get_weight, NULL, "The weight of the first model.", NULL},
    {"models", (getter)Mixture_get_models, NULL, "The models mixed.", NULL},
    {"em_iterations", (getter)Mixture_get_em_iterations, NULL,
     "The EM updates weight='auto' made (nglm-eval's 'iterations'); None for given weights.",
     NULL},
    {"a", (getter)Mixture_get_a, NULL, "The first model.", NULL},
    {"b", (getter)Mixture_get_b, NULL, "The second model.", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyMethodDef Mixture_methods[] = {
    {"write", (PyCFunction)Mixture_write, METH_O,
     "write(path): save the mixture as a manifest that nglm.Model(path) and nglm-eval open "
     "(nglm-eval --write-mix); every model must come from a file."},
    {NULL, NULL, 0, NULL}};

static PyTypeObject MixtureType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "nglm.Mixture",
    .tp_base = &ModelType,
    .tp_basicsize = sizeof(ModelObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "sum_k w_k P_k of its models, made by Model.mix (nglm-eval --mix): a Model "
              "in every way (score, full_scores, evaluate, score_file, sample, states).",
    .tp_methods = Mixture_methods,
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
        if (!nglm_lm_recorded_cache(self->lm, &spec)) {
            PyErr_SetString(PyExc_ValueError, "cache_scorer('model'): the model records no "
                            "cache (nglm-train --eval-cache auto records one)");
            return NULL;
        }
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

/* One keyword of train() through its row of the pipeline's option table
 * (nglm_pipeline_option_table, which nglm-train's options also read): the
 * value as text, as nglm-train is given it (paths through the file system's
 * encoding, kept alive in keep), None for the default, and a flag set
 * only when true. */
static int train_keyword(nglm_pipeline_options *o, PyObject *key, PyObject *value,
                         PyObject *keep)
{
    size_t n;
    const nglm_option *rows = nglm_pipeline_option_table(&n);
    const char *name = PyUnicode_AsUTF8(key);
    if (!name)
        return -1;
    const nglm_option *row = nglm_options_find(rows, n, name);
    if (!row || strchr(name, '-')) {
        PyErr_Format(PyExc_TypeError, "train() got an unexpected keyword argument '%s'", name);
        return -1;
    }
    if (value == Py_None)
        return 0;
    PyObject *text = NULL;
    if (!row->arg) {
        int on = PyObject_IsTrue(value);
        if (on <= 0)
            return on;
    } else if (row->type == NGLM_OPT_STRING) {
        if (!PyUnicode_FSConverter(value, &text))
            return -1;
    } else if (PyUnicode_Check(value) || PyLong_Check(value) || PyFloat_Check(value)) {
        PyObject *str = PyObject_Str(value);
        if (!str)
            return -1;
        text = PyUnicode_AsUTF8String(str);
        Py_DECREF(str);
        if (!text)
            return -1;
    } else {
        PyErr_Format(PyExc_TypeError, "train(): %s must be a str, int or float, not %s", name,
                     Py_TYPE(value)->tp_name);
        return -1;
    }
    if (text && PyList_Append(keep, text) != 0) {
        Py_DECREF(text);
        return -1;
    }
    Py_XDECREF(text); /* keep holds it */
    nglm_error err;
    if (nglm_option_set(row, o, text ? PyBytes_AS_STRING(text) : NULL, &err) != 0) {
        PyErr_Format(PyExc_ValueError, "%s: %s", name, err.msg);
        return -1;
    }
    return 0;
}

/* train()'s own keywords, which are not the pipeline's. */
static int train_own_keyword(const char *name)
{
    return strcmp(name, "train") == 0 || strcmp(name, "model") == 0 ||
           strcmp(name, "verbose") == 0 || strcmp(name, "force") == 0;
}

static PyObject *nglm_train_fn(PyObject *mod, PyObject *args, PyObject *kw)
{
    (void)mod;
    static char *kwlist[] = {"train", "model", "verbose", "force", NULL};
    PyObject *train_arg = NULL, *model_b = NULL;
    int verbose = 0, force = 0;
    /* the pipeline's keywords are read from the table; these first */
    PyObject *own = PyDict_New();
    PyObject *keep = PyList_New(0);
    if (!own || !keep)
        goto fail_early;
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    while (kw && PyDict_Next(kw, &pos, &key, &value)) {
        const char *name = PyUnicode_AsUTF8(key);
        if (!name)
            goto fail_early;
        if (train_own_keyword(name) && PyDict_SetItem(own, key, value) != 0)
            goto fail_early;
    }
    if (!PyArg_ParseTupleAndKeywords(args, own, "O|$O&pp:train", kwlist, &train_arg, opt_path,
                                     &model_b, &verbose, &force))
        goto fail_early;
    PyObject *result = NULL;
    nglm_error err;
    nglm_pipeline_options o = nglm_pipeline_options_default();
    nglm_pipeline P;
    memset(&P, 0, sizeof P);
    PyObject *train_key = PyUnicode_FromString("train");
    int bad = !train_key || train_keyword(&o, train_key, train_arg, keep) != 0;
    Py_XDECREF(train_key);
    if (bad)
        goto out;
    pos = 0;
    while (kw && PyDict_Next(kw, &pos, &key, &value)) {
        const char *name = PyUnicode_AsUTF8(key);
        if (!train_own_keyword(name) && train_keyword(&o, key, value, keep) != 0)
            goto out;
    }
    const char *texts[3] = {o.train, o.valid, o.test};
    const char *model = model_b ? PyBytes_AS_STRING(model_b) : NULL;
    o.out = verbose ? stdout : NULL;
    for (int i = 0; i < 3; i++) {
        PyObject *name = texts[i] ? PyUnicode_DecodeFSDefault(texts[i]) : NULL;
        int bad_path = texts[i] && (!name || check_path(name, texts[i]) != 0);
        Py_XDECREF(name);
        if (bad_path)
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
    nglm_model *mm = malloc(sizeof *mm);
    if (mm) {
        *mm = P.model; /* the model moves into the Model */
        memset(&P.model, 0, sizeof P.model);
        if (!(self->lm = nglm_lm_from_model(mm, 1, &err))) {
            nglm_model_free(mm);
            free(mm);
        }
    }
    if (!self->lm) {
        Py_DECREF(self);
        PyErr_NoMemory();
        goto out;
    }
    self->path = PyUnicode_DecodeFSDefault(model ? model : texts[0]);
    if (!self->path || model_attach(self) != 0) {
        Py_DECREF(self);
        goto out;
    }
    result = (PyObject *)self;
out:
    nglm_pipeline_free(&P);
    Py_XDECREF(model_b);
    Py_DECREF(own);
    Py_DECREF(keep);
    return result;
fail_early:
    Py_XDECREF(own);
    Py_XDECREF(keep);
    return NULL;
}

/* train()'s docstring: its own keywords, then one line for each row of the
 * pipeline's table, made once at import. */
static char train_doc[8192];

static void make_train_doc(void)
{
    size_t n, len = 0;
    const nglm_option *rows = nglm_pipeline_option_table(&n);
    len += (size_t)snprintf(train_doc, sizeof train_doc,
        "train(train, *, model=None, verbose=False, force=False, **options) -> Model\n\n"
        "Trains a model on the text file `train` as nglm-train does and returns it;\n"
        "saves it to `model` if given (never over a file nglm did not write, unless\n"
        "force); verbose prints nglm-train's stage lines.  The options are\n"
        "nglm-train's, with '_' for '-' (None: nglm-train's default; a flag is a bool;\n"
        "a number may be an int, a float or a str as nglm-train reads it):\n\n");
    for (size_t i = 0; i < n && len < sizeof train_doc; i++) {
        char key[64];
        snprintf(key, sizeof key, "%s", rows[i].name);
        for (char *c = key; *c; c++)
            if (*c == '-')
                *c = '_';
        len += (size_t)snprintf(train_doc + len, sizeof train_doc - len, "  %s%s%s: %s\n",
                                key, rows[i].arg ? "=" : "", rows[i].arg ? rows[i].arg : "",
                                rows[i].help);
    }
}

static PyMethodDef module_methods[] = {
    {"train", (PyCFunction)(void (*)(void))nglm_train_fn, METH_VARARGS | METH_KEYWORDS,
     train_doc}, /* made by make_train_doc */
    {NULL, NULL, 0, NULL}};

/* ================================================================ module */

static struct PyModuleDef nglm_module = {
    PyModuleDef_HEAD_INIT, "nglm",
    "Softmax n-gram language models (libnglm) with KenLM's Python API:\n"
    "`import nglm as kenlm` runs code written for kenlm.  See doc/python.md.",
    -1, module_methods, NULL, NULL, NULL, NULL};

/* A class named name in m whose attributes names[i] are the ints i (KenLM's
 * enums, as its module has them). */
static int add_enum(PyObject *m, const char *name, const char *doc, const char **names)
{
    PyObject *d = PyDict_New();
    int rc = d ? 0 : -1;
    for (long i = 0; rc == 0 && names[i]; i++) {
        PyObject *v = PyLong_FromLong(i);
        rc = v ? PyDict_SetItemString(d, names[i], v) : -1;
        Py_XDECREF(v);
    }
    PyObject *ds = rc == 0 ? PyUnicode_FromString(doc) : NULL;
    PyObject *mod = ds ? PyUnicode_FromString("nglm") : NULL;
    if (!mod || PyDict_SetItemString(d, "__doc__", ds) != 0 ||
        PyDict_SetItemString(d, "__module__", mod) != 0)
        rc = -1;
    Py_XDECREF(ds);
    Py_XDECREF(mod);
    PyObject *cls = rc == 0 ? PyObject_CallFunction((PyObject *)&PyType_Type, "s()O", name, d)
                            : NULL;
    Py_XDECREF(d);
    if (!cls)
        return -1;
    rc = PyModule_AddObjectRef(m, name, cls);
    Py_DECREF(cls);
    return rc;
}

PyMODINIT_FUNC PyInit_nglm(void)
{
    make_train_doc();
    if (PyType_Ready(&ModelType) < 0 || PyType_Ready(&StateType) < 0 ||
        PyType_Ready(&MixtureType) < 0 || PyType_Ready(&CacheScorerType) < 0 ||
        PyType_Ready(&ConfigType) < 0)
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
        PyModule_AddObjectRef(m, "FullScoreReturn", (PyObject *)FullScoreType) < 0 ||
        PyModule_AddObjectRef(m, "Config", (PyObject *)&ConfigType) < 0 ||
        add_enum(m, "LoadMethod", "KenLM's load methods, for Config.load_method.",
                 (const char *[]){"LAZY", "POPULATE_OR_LAZY", "POPULATE_OR_READ", "READ",
                                  "PARALLEL_READ", NULL}) < 0 ||
        add_enum(m, "ARPALoadComplain", "KenLM's ARPA complaint levels, for "
                 "Config.arpa_complain (ignored).",
                 (const char *[]){"ALL", "EXPECTED", "NONE", NULL}) < 0
#ifdef NGLM_VERSION
        || PyModule_AddStringConstant(m, "__version__", NGLM_VERSION) < 0
#endif
    ) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
