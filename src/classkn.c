/*
 * classkn.c — the class Kneser-Ney model (see include/nglm/classkn.h).
 *
 * Input: a training text as word ids, the classes of the words.  The text
 * is rewritten in class ids (the class model's vocabulary, built by
 * class_vocab from the classes alone, so that the build and the loader
 * agree), counted into an n-gram index, estimated by nglm_kn_estimate and
 * turned into softmax weights (nglm_kn_to_weights): the class model is an
 * ordinary nglm model, scored by its own exact scorers.  A word's
 * probability adds ln P(w | c) to its class's.
 */
#include "nglm/classkn.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "nglm/modelfile.h"

/* The class model's ids: cid[w] for every word (</s> → NGLM_EOS, the class
 * of <unk> → NGLM_UNK, the other classes holding a word → 3.. in class
 * order) and, in *names (to free), the class model's vocabulary. */
static int class_vocab(int32_t V, const int32_t *class_of, int n_classes, int32_t *cid,
                       char ***names_out, int32_t *Vc_out, nglm_error *err)
{
    int32_t *id_of = malloc((size_t)n_classes * sizeof *id_of);
    if (!id_of)
        return nglm_error_set(err, "out of memory");
    for (int k = 0; k < n_classes; k++)
        id_of[k] = -1;
    for (int32_t w = NGLM_UNK; w < V; w++) {
        if (class_of[w] < 0 || class_of[w] >= n_classes) {
            free(id_of);
            return nglm_error_set(err, "word %d has class %d, not in 0..%d", (int)w,
                                  (int)class_of[w], n_classes - 1);
        }
        id_of[class_of[w]] = 0; /* holds a word */
    }
    int32_t Vc = NGLM_NUM_SPECIAL;
    id_of[class_of[NGLM_UNK]] = NGLM_UNK;
    for (int k = 0; k < n_classes; k++)
        if (id_of[k] == 0)
            id_of[k] = Vc++;
    char **names = calloc((size_t)Vc, sizeof *names);
    if (!names) {
        free(id_of);
        return nglm_error_set(err, "out of memory");
    }
    names[NGLM_BOS] = strdup(NGLM_BOS_STR);
    names[NGLM_EOS] = strdup(NGLM_EOS_STR);
    names[NGLM_UNK] = strdup(NGLM_UNK_STR);
    for (int k = 0; k < n_classes; k++)
        if (id_of[k] >= NGLM_NUM_SPECIAL) {
            char buf[32];
            snprintf(buf, sizeof buf, "C%d", k);
            names[id_of[k]] = strdup(buf);
        }
    cid[NGLM_BOS] = NGLM_BOS;
    cid[NGLM_EOS] = NGLM_EOS;
    for (int32_t w = NGLM_UNK; w < V; w++)
        cid[w] = id_of[class_of[w]];
    free(id_of);
    for (int32_t i = 0; i < Vc; i++)
        if (!names[i]) {
            for (int32_t j = 0; j < Vc; j++)
                free(names[j]);
            free(names);
            return nglm_error_set(err, "out of memory");
        }
    *names_out = names;
    *Vc_out = Vc;
    return 0;
}

static void names_free(char **names, int32_t n)
{
    for (int32_t i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
}

/* ln P(w | c) from the counts: n(w) / n(c), or (n(w) + 1/2) / (n(c) + |c|/2)
 * in a class with a word never seen. */
static int word_probs(nglm_classkn *m, nglm_error *err)
{
    int32_t V = m->V;
    int C = m->n_classes;
    double *total = calloc((size_t)C, sizeof *total), *size = calloc((size_t)C, sizeof *size);
    unsigned char *unseen = calloc((size_t)C, 1);
    m->lnp_word = calloc((size_t)V, sizeof *m->lnp_word);
    if (!total || !size || !unseen || !m->lnp_word) {
        free(total), free(size), free(unseen);
        return nglm_error_set(err, "out of memory");
    }
    for (int32_t w = NGLM_UNK; w < V; w++) {
        int k = m->class_of[w];
        total[k] += (double)m->count[w];
        size[k]++;
        if (m->count[w] == 0)
            unseen[k] = 1;
    }
    for (int32_t w = NGLM_UNK; w < V; w++) {
        int k = m->class_of[w];
        double d = unseen[k] ? 0.5 : 0;
        m->lnp_word[w] = log(((double)m->count[w] + d) / (total[k] + d * size[k]));
    }
    free(total), free(size), free(unseen);
    return 0;
}

/* c in class ids (ids and starts copied). */
static int class_text(const nglm_classkn *m, const nglm_corpus *c, nglm_corpus *cc,
                      nglm_error *err)
{
    memset(cc, 0, sizeof *cc);
    cc->ids = malloc((c->n_tokens ? c->n_tokens : 1) * sizeof *cc->ids);
    cc->start = malloc((c->n_sents + 1) * sizeof *cc->start);
    if (!cc->ids || !cc->start) {
        nglm_corpus_free(cc);
        return nglm_error_set(err, "out of memory for the class text");
    }
    for (size_t i = 0; i < c->n_tokens; i++) {
        int32_t w = c->ids[i];
        if (w < 0 || w >= m->V) {
            nglm_corpus_free(cc);
            return nglm_error_set(err, "token %zu has id %d, not in the vocabulary", i, (int)w);
        }
        cc->ids[i] = m->cid[w];
    }
    memcpy(cc->start, c->start, (c->n_sents + 1) * sizeof *cc->start);
    cc->n_tokens = c->n_tokens;
    cc->n_sents = c->n_sents;
    cc->n_words = c->n_words;
    cc->n_oov = c->n_oov;
    return 0;
}

void nglm_classkn_free(nglm_classkn *m)
{
    if (!m)
        return;
    nglm_vocab_free(m->vocab);
    free(m->class_of), free(m->count), free(m->cid), free(m->lnp_word);
    nglm_model_free(&m->cm);
    memset(m, 0, sizeof *m);
}

/* The vocabulary, class_of and count set: cid, lnp_word, and the class
 * model's vocabulary (checked against the loaded model's if there is one). */
static int derive(nglm_classkn *m, nglm_vocab **cv, const nglm_vocab *check, nglm_error *err)
{
    m->cid = malloc((size_t)m->V * sizeof *m->cid);
    if (!m->cid)
        return nglm_error_set(err, "out of memory");
    char **names = NULL;
    int32_t Vc = 0;
    if (class_vocab(m->V, m->class_of, m->n_classes, m->cid, &names, &Vc, err) != 0)
        return -1;
    int rc = word_probs(m, err);
    if (rc == 0 && check) {
        if ((int32_t)nglm_vocab_size(check) != Vc)
            rc = nglm_error_set(err, "the class model has %zu words, the classes make %d",
                                nglm_vocab_size(check), (int)Vc);
        for (int32_t i = 0; rc == 0 && i < Vc; i++)
            if (strcmp(nglm_vocab_word(check, i), names[i]) != 0)
                rc = nglm_error_set(err, "the class model's word %d is '%s', the classes "
                                    "make '%s'", (int)i, nglm_vocab_word(check, i), names[i]);
    }
    if (rc == 0 && cv) {
        *cv = nglm_vocab_from_list((const char *const *)names, NULL, (size_t)Vc, err);
        if (!*cv)
            rc = -1;
    }
    names_free(names, Vc);
    return rc;
}

int nglm_classkn_build(nglm_classkn *m, const nglm_corpus *c, const nglm_vocab *v,
                       const nglm_tok_options *tok, const int32_t *class_of, int n_classes,
                       int order, const nglm_kn_options *kopt, int threads, nglm_error *err)
{
    memset(m, 0, sizeof *m);
    int32_t V = (int32_t)nglm_vocab_size(v);
    if (n_classes < 1)
        return nglm_error_set(err, "class KN: %d classes", n_classes);
    if (c->n_tokens == 0)
        return nglm_error_set(err, "class KN: the text has no sentences");
    m->V = V;
    m->n_classes = n_classes;
    m->tok = tok ? *tok : nglm_tok_options_default();
    m->class_of = malloc((size_t)V * sizeof *m->class_of);
    m->count = calloc((size_t)V, sizeof *m->count);
    if (!m->class_of || !m->count) {
        nglm_classkn_free(m);
        return nglm_error_set(err, "out of memory");
    }
    memcpy(m->class_of, class_of, (size_t)V * sizeof *m->class_of);
    m->class_of[NGLM_BOS] = m->class_of[NGLM_EOS] = 0;
    for (size_t i = 0; i < c->n_tokens; i++) {
        if (c->ids[i] < 0 || c->ids[i] >= V) {
            nglm_classkn_free(m);
            return nglm_error_set(err, "token %zu has id %d, not in the vocabulary", i,
                                  (int)c->ids[i]);
        }
        m->count[c->ids[i]]++;
    }
    /* the vocabulary, copied with the counts of this text */
    const char **words = malloc((size_t)V * sizeof *words);
    if (!words) {
        nglm_classkn_free(m);
        return nglm_error_set(err, "out of memory");
    }
    for (int32_t w = 0; w < V; w++)
        words[w] = nglm_vocab_word(v, w);
    m->vocab = nglm_vocab_from_list(words, m->count, (size_t)V, err);
    free(words);
    nglm_vocab *cv = NULL;
    if (!m->vocab || derive(m, &cv, NULL, err) != 0) {
        nglm_classkn_free(m);
        return -1;
    }
    /* the class model: counts, Kneser-Ney, softmax weights */
    nglm_corpus cc;
    nglm_features F;
    nglm_kn kn;
    nglm_kn_options ko = nglm_kn_options_default();
    ko.fallback = 1; /* a few hundred classes: the 1-grams have no count-1 types */
    if (kopt)
        ko = *kopt;
    ko.threads = threads;
    ko.text = &cc;
    nglm_count_opts co = {threads, 0, NULL, NULL};
    int32_t Vc = (int32_t)nglm_vocab_size(cv);
    if (class_text(m, c, &cc, err) != 0) {
        nglm_vocab_free(cv);
        nglm_classkn_free(m);
        return -1;
    }
    if (nglm_features_build_with(&F, &cc, Vc, order, NULL, &co, err) != 0) {
        nglm_corpus_free(&cc);
        nglm_vocab_free(cv);
        nglm_classkn_free(m);
        return nglm_error_prefix(err, "class KN");
    }
    int rc = nglm_kn_estimate(&kn, &F, &ko, err);
    nglm_corpus_free(&cc);
    double *theta = rc == 0 ? malloc(F.n_feat * sizeof *theta) : NULL;
    if (rc == 0 && !theta)
        rc = nglm_error_set(err, "out of memory");
    if (rc == 0)
        rc = nglm_kn_to_weights(&kn, &F, theta, err);
    if (rc == 0 || theta)
        nglm_kn_free(&kn);
    if (rc != 0) {
        free(theta);
        nglm_features_free(&F);
        nglm_vocab_free(cv);
        nglm_classkn_free(m);
        return nglm_error_prefix(err, "class KN");
    }
    m->cm.vocab = cv;
    m->cm.feat = F;
    m->cm.theta = theta;
    m->cm.tok = m->tok;
    m->cm.info.train_tokens = c->n_tokens;
    size_t pruned;
    if (nglm_model_prune(&m->cm, &pruned, err) != 0) {
        nglm_classkn_free(m);
        return -1;
    }
    return 0;
}

int nglm_classkn_order(const nglm_classkn *m)
{
    return m->cm.feat.order;
}

/* ---------------------------------------------------------------- files */

static char *classes_path(const char *path)
{
    size_t n = strlen(path);
    char *p = malloc(n + sizeof ".classes");
    if (p)
        memcpy(p, path, n), memcpy(p + n, ".classes", sizeof ".classes");
    return p;
}

int nglm_classkn_save(const nglm_classkn *m, const char *path, nglm_error *err)
{
    char *cp = classes_path(path);
    if (!cp)
        return nglm_error_set(err, "out of memory");
    nglm_atomic at; /* at.path is cp until the commit */
    int rc = nglm_atomic_open(&at, cp, err);
    for (int32_t w = 0; rc == 0 && w < m->V; w++)
        if (fprintf(at.fp, "%s\t%d\t%" PRIu64 "\n", nglm_vocab_word(m->vocab, w),
                    (int)m->class_of[w], m->count[w]) < 0)
            rc = nglm_atomic_fail(&at, errno, err);
    if (rc == 0)
        rc = nglm_atomic_commit(&at, err);
    free(cp);
    return rc == 0 ? nglm_model_save(&m->cm, path, err) : -1;
}

int nglm_classkn_load(nglm_classkn *m, const char *path, nglm_error *err)
{
    memset(m, 0, sizeof *m);
    char *cp = classes_path(path);
    if (!cp)
        return nglm_error_set(err, "out of memory");
    FILE *fp = fopen(cp, "r");
    if (!fp) {
        nglm_error_errno(err, errno, "%s", cp);
        free(cp);
        return -1;
    }
    char **words = NULL;
    uint64_t *counts = NULL;
    int32_t *cls = NULL;
    size_t n = 0, cap = 0, lcap = 0;
    char *line = NULL;
    ssize_t len;
    int rc = 0, max_class = -1;
    while (rc == 0 && (len = getline(&line, &lcap, fp)) >= 0) {
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        char *end1, *end2;
        long k = t2 ? strtol(t1 + 1, &end1, 10) : -1;
        unsigned long long cnt = t2 ? strtoull(t2 + 1, &end2, 10) : 0;
        if (!t2 || end1 != t2 || *end2 != '\0' || k < 0 || k > INT32_MAX - 1 ||
            t2[1] == '\0' || t2[1] == '-' || t1 == line) {
            rc = nglm_error_set(err, "%s:%zu: expected 'word<TAB>class<TAB>count'", cp, n + 1);
            break;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 1024;
            char **w2 = realloc(words, cap * sizeof *w2);
            uint64_t *c2 = w2 ? realloc(counts, cap * sizeof *c2) : NULL;
            int32_t *k2 = c2 ? realloc(cls, cap * sizeof *k2) : NULL;
            if (w2)
                words = w2;
            if (c2)
                counts = c2;
            if (k2)
                cls = k2;
            if (!k2) {
                rc = nglm_error_set(err, "out of memory");
                break;
            }
        }
        *t1 = '\0';
        words[n] = strdup(line);
        counts[n] = cnt;
        cls[n] = (int32_t)k;
        if (!words[n]) {
            rc = nglm_error_set(err, "out of memory");
            break;
        }
        if (k > max_class)
            max_class = (int)k;
        n++;
    }
    fclose(fp);
    free(line);
    if (rc == 0 && n < NGLM_NUM_SPECIAL)
        rc = nglm_error_set(err, "%s: %zu words, not even the three specials", cp, n);
    if (rc == 0) {
        m->vocab = nglm_vocab_from_list((const char *const *)words, counts, n, err);
        if (!m->vocab) {
            nglm_error_prefix(err, "%s", cp);
            rc = -1;
        }
    }
    for (size_t i = 0; i < n; i++)
        free(words[i]);
    free(words);
    free(cp);
    if (rc != 0) {
        free(counts), free(cls);
        nglm_classkn_free(m);
        return -1;
    }
    m->V = (int32_t)n;
    m->n_classes = max_class + 1;
    m->class_of = cls;
    m->count = counts;
    if (nglm_model_load(&m->cm, path, err) != 0 || derive(m, NULL, m->cm.vocab, err) != 0) {
        nglm_error_prefix(err, "%s", path);
        nglm_classkn_free(m);
        return -1;
    }
    if (m->cm.feat.n_skip > 0) {
        nglm_classkn_free(m);
        return nglm_error_set(err, "%s: a class model has no skip-grams", path);
    }
    m->tok = m->cm.tok;
    return 0;
}

/* ---------------------------------------------------------------- scoring */

int nglm_classkn_score_corpus10(const nglm_classkn *m, const nglm_corpus *c, double *lp10,
                                int threads, nglm_error *err)
{
    nglm_corpus cc;
    if (class_text(m, c, &cc, err) != 0)
        return -1;
    int rc = nglm_model_score_corpus10(&m->cm, &cc, lp10, threads, NULL, err);
    nglm_corpus_free(&cc);
    if (rc != 0)
        return -1;
    for (size_t i = 0; i < c->n_tokens; i++)
        lp10[i] += m->lnp_word[c->ids[i]] / M_LN10;
    return 0;
}

int nglm_classkn_scorer_init(nglm_classkn_scorer *s, const nglm_classkn *m, nglm_error *err)
{
    memset(s, 0, sizeof *s);
    s->buf = malloc(((size_t)nglm_classkn_order(m) + 2) * sizeof *s->buf);
    if (!s->buf)
        return nglm_error_set(err, "out of memory");
    if (nglm_model_scorer_init(&s->s, &m->cm, err) != 0) {
        free(s->buf);
        s->buf = NULL;
        return -1;
    }
    s->m = m;
    return 0;
}

void nglm_classkn_scorer_free(nglm_classkn_scorer *s)
{
    nglm_model_scorer_free(&s->s);
    free(s->buf);
    memset(s, 0, sizeof *s);
}

/* The history of sent[i] in class ids in s->buf, its last n − 1 tokens
 * after a cut (when the sentence is longer) so that nothing beyond them
 * counts; returns the position of the predicted token in buf. */
static size_t class_history(nglm_classkn_scorer *s, const int32_t *sent, size_t i)
{
    size_t keep = (size_t)nglm_classkn_order(s->m) - 1, k = 0;
    size_t from = i > keep ? i - keep : 0;
    if (from > 0)
        s->buf[k++] = -1;
    for (size_t j = from; j < i; j++)
        s->buf[k++] = sent[j] < 0 ? -1 : s->m->cid[sent[j]];
    return k;
}

double nglm_classkn_scorer_logprob10(nglm_classkn_scorer *s, const int32_t *sent, size_t i)
{
    size_t k = class_history(s, sent, i);
    int32_t w = sent[i];
    s->buf[k] = s->m->cid[w];
    return nglm_model_scorer_logprob10(&s->s, s->buf, k, NULL) + s->m->lnp_word[w] / M_LN10;
}

void nglm_classkn_scorer_dist(nglm_classkn_scorer *s, const int32_t *sent, size_t i, double *p)
{
    const nglm_classkn *m = s->m;
    size_t k = class_history(s, sent, i);
    int32_t Vc = (int32_t)nglm_vocab_size(m->cm.vocab);
    double *pc = malloc((size_t)Vc * sizeof *pc);
    if (!pc) { /* cannot happen for any sane Vc; the words then read 0 */
        memset(p, 0, (size_t)m->V * sizeof *p);
        return;
    }
    for (int32_t c = 1; c < Vc; c++) {
        s->buf[k] = c;
        pc[c] = pow(10, nglm_model_scorer_logprob10(&s->s, s->buf, k, NULL));
    }
    p[NGLM_BOS] = 0;
    for (int32_t w = 1; w < m->V; w++)
        p[w] = pc[m->cid[w]] * exp(m->lnp_word[w]);
    free(pc);
}
