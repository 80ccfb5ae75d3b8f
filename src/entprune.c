/*
 * entprune.c — relative-entropy pruning of a back-off model
 * (nglm/entprune.h; the criterion and the recomputation: doc/model.md §9).
 *
 * Input: the ARPA reader's trie (arpa_impl.h), whose nodes are the listed
 * n-grams.  Output: a criterion per n-gram, then for a θ the kept set and
 * exact back-off weights, written as an ARPA file.  The stages: shape (each
 * node's parent, word, length, children and back-off suffix, nodes in
 * order of length), criteria (one pass over the contexts of the unpruned
 * model), effective (a context keeps the largest criterion below it, so a
 * θ keeps a prefix-closed set), apply (the kept set and the weights,
 * shortest contexts first) and save.
 *
 * Every probability of the current model comes from one function,
 * backoff_log10: the back-off rule over the kept n-grams and the current
 * weights.  tests/check_entprune.c checks the criteria against a slow
 * reference that rebuilds the whole model without each n-gram.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "arpa_impl.h"
#include "arpa_write.h"
#include "fileio.h"
#include "nglm/entprune.h"

#define LN10 2.302585092994045684

struct nglm_entprune {
    const nglm_arpa *a;
    int order;
    int32_t V;
    size_t n;             /* trie nodes (a->n_node) */
    int64_t *par;         /* (n) node of the n-gram without its last word; -1 for 1-grams */
    int32_t *word;        /* (n) its last word */
    uint8_t *len;         /* (n) its length */
    uint8_t *listed;      /* (n) 1: listed in the file */
    int64_t *suf;         /* (n) node of its longest listed proper suffix; -1: none */
    int64_t *kid_start;   /* (n + 1) its children are kid[kid_start[x] .. kid_start[x+1]) */
    int64_t *kid;
    int64_t *ord;         /* (n) the nodes by length, children of a node together */
    double *crit;         /* (n) criterion; NAN for 1-grams */
    double *eff;          /* (n) largest criterion of the node and of the n-grams it is
                           * the context of, directly or not */
    double *sorted;       /* (n_cand) eff of the n-grams of order >= 2, descending */
    size_t n_cand;
    int keep_suffixes;    /* 1: a kept n-gram's suffix stays too */
    uint8_t *kept;        /* (n) in the current model */
    double *bow;          /* (n) current log10 back-off weight */
    uint64_t listed_k[NGLM_ARPA_MAX_ORDER + 1];
    uint64_t kept_k[NGLM_ARPA_MAX_ORDER + 1];
};

/* The node of c's n-gram extended by w, or -1. */
static inline int64_t child(const nglm_entprune *p, int64_t c, int32_t w)
{
    return u64map_get(&p->a->child, PACK(c, w), -1);
}

/* log10 P(w | c) in the current model: c a kept node (-1: the empty
 * context).  The back-off rule: the longest kept context on c's suffix
 * chain that lists w, times the back-off weights of the longer ones. */
static double backoff_log10(const nglm_entprune *p, int64_t c, int32_t w)
{
    double acc = 0;
    while (c >= 0) {
        int64_t y = child(p, c, w);
        if (y >= 0 && p->kept[y])
            return acc + p->a->logp[y];
        acc += p->bow[c];
        c = p->suf[c];
        while (c >= 0 && !p->kept[c])
            c = p->suf[c];
    }
    return p->listed[w] ? acc + p->a->logp[w] : -INFINITY;
}

/* backoff_log10(p, b, last word of y) for a kept n-gram y whose context's
 * back-off context is b: where y's suffix (its words but the first) is
 * kept, its probability, found without a lookup (shape found it). */
static inline double suffix_log10(const nglm_entprune *p, int64_t y, int64_t b)
{
    int64_t s = p->suf[y];
    if (p->len[s] == p->len[y] - 1 && p->kept[s])
        return p->a->logp[s];
    return backoff_log10(p, b, p->word[y]);
}

/* The words of node x, oldest first; returns its length. */
static int node_words(const nglm_entprune *p, int64_t x, int32_t *words)
{
    int k = p->len[x];
    for (int j = k - 1; j >= 0; j--, x = p->par[x])
        words[j] = p->word[x];
    return k;
}

/* ---------------------------------------------------------------- shape */

static int shape(nglm_entprune *p, nglm_error *err)
{
    const nglm_arpa *a = p->a;
    size_t n = p->n;
    p->par = malloc(n * sizeof *p->par);
    p->word = malloc(n * sizeof *p->word);
    p->len = calloc(n, 1);
    p->listed = calloc(n, 1);
    p->suf = malloc(n * sizeof *p->suf);
    p->kid_start = calloc(n + 1, sizeof *p->kid_start);
    p->kid = malloc((n > (size_t)p->V ? n - (size_t)p->V : 1) * sizeof *p->kid);
    p->ord = malloc(n * sizeof *p->ord);
    if (!p->par || !p->word || !p->len || !p->listed || !p->suf || !p->kid_start ||
        !p->kid || !p->ord)
        return nglm_error_set(err, "out of memory for %zu n-grams", n);
    for (size_t x = 0; x < n; x++) {
        p->par[x] = -1;
        p->word[x] = x < (size_t)p->V ? (int32_t)x : -1;
    }
    const u64map *m = &a->child;
    for (size_t i = 0; i < m->cap; i++)
        if (m->e[i].key != U64MAP_EMPTY) {
            int64_t x = m->e[i].val;
            p->par[x] = (int64_t)(m->e[i].key >> 32);
            p->word[x] = (int32_t)(uint32_t)m->e[i].key;
            p->kid_start[p->par[x] + 1]++;
        }
    for (size_t x = 0; x < n; x++)
        p->kid_start[x + 1] += p->kid_start[x];
    int64_t *fill = malloc(n * sizeof *fill);
    if (!fill)
        return nglm_error_set(err, "out of memory for %zu n-grams", n);
    memcpy(fill, p->kid_start, n * sizeof *fill);
    for (size_t x = (size_t)p->V; x < n; x++)
        p->kid[fill[p->par[x]]++] = (int64_t)x;
    free(fill);
    /* breadth first from the 1-grams: lengths ascend, siblings together */
    size_t head = 0, tail = 0;
    for (int32_t w = 0; w < p->V; w++) {
        p->ord[tail++] = w;
        p->len[w] = 1;
    }
    for (; head < tail; head++) {
        int64_t x = p->ord[head];
        for (int64_t j = p->kid_start[x]; j < p->kid_start[x + 1]; j++) {
            p->ord[tail++] = p->kid[j];
            p->len[p->kid[j]] = (uint8_t)(p->len[x] + 1);
        }
    }
    /* every context listed (the reader makes an unlisted one a node) */
    for (size_t i = 0; i < n; i++) {
        int64_t x = p->ord[i];
        p->listed[x] = !isnan(a->logp[x]);
        if (!p->listed[x] && (p->len[x] > 1 || p->kid_start[x + 1] > p->kid_start[x])) {
            int64_t y = p->kid[p->kid_start[x]];
            int32_t words[NGLM_ARPA_MAX_ORDER];
            int k = node_words(p, y, words);
            char shown[256];
            size_t o = 0;
            shown[0] = '\0';
            for (int j = 0; j < k && o < sizeof shown; j++)
                o += (size_t)snprintf(shown + o, sizeof shown - o, "%s%s", j ? " " : "",
                                      nglm_vocab_word(a->vocab, words[j]));
            return nglm_error_set(err, "the %d-gram '%s' is listed but not its context (its "
                                  "first %d words): the back-off structure is incomplete, "
                                  "as after SRILM's pruning; prune the unpruned model", k,
                                  shown, k - 1);
        }
        if (p->listed[x])
            p->listed_k[p->len[x]]++;
    }
    /* suffixes, parents first: the longest listed suffix of x's parent
     * that has a child x's word, extended by it */
    for (size_t i = 0; i < n; i++) {
        int64_t x = p->ord[i];
        if (p->len[x] == 1) {
            p->suf[x] = -1;
            continue;
        }
        int64_t q = p->suf[p->par[x]], s = -1;
        while (q >= 0 && (s = child(p, q, p->word[x])) < 0)
            q = p->suf[q];
        p->suf[x] = q >= 0 ? s : p->word[x];
    }
    return 0;
}

/* ---------------------------------------------------------------- criteria */

/* log10 of the probability of node x's words as a history under the model
 * (each word given the ones before it, a first <s> counted as </s>, as a
 * sentence boundary's probability): the listed probabilities of x's
 * prefixes, since the model lists every context. */
static void history_log10(const nglm_entprune *p, double *hist)
{
    const double *lp = p->a->logp;
    for (size_t i = 0; i < p->n; i++) {
        int64_t x = p->ord[i];
        if (!p->listed[x])
            hist[x] = -INFINITY;
        else if (p->len[x] == 1)
            hist[x] = x == NGLM_BOS ? (p->listed[NGLM_EOS] ? lp[NGLM_EOS] : -INFINITY) : lp[x];
        else
            hist[x] = hist[p->par[x]] + lp[x];
    }
}

/* The criteria of the n-grams that follow context h (doc/model.md §9):
 * with N = 1 − Σ p(w|h) and D = 1 − Σ p_bo(w|h⁻) over those n-grams,
 * removing (h, w) alone makes bow'(h) = (N + p(w|h)) / (D + p_bo(w|h⁻)) and
 * changes the model's relative entropy by
 *   ΔH = −p(h) [p(w|h) (ln p_bo(w|h⁻) + ln bow' − ln p(w|h)) + N (ln bow' − ln bow)],
 * bow = N / D; the criterion is exp(ΔH) − 1. */
static void context_criteria(nglm_entprune *p, int64_t h, double hist10, double *q10)
{
    const double *lp = p->a->logp;
    int64_t b = p->len[h] == 1 ? -1 : p->suf[h];
    double sum_p = 0, sum_q = 0;
    int64_t j0 = p->kid_start[h], j1 = p->kid_start[h + 1];
    for (int64_t j = j0; j < j1; j++) {
        int64_t y = p->kid[j];
        q10[j - j0] = suffix_log10(p, y, b);
        sum_p += pow(10, lp[y]);
        sum_q += pow(10, q10[j - j0]);
    }
    double num = fmax(1 - sum_p, 0), den = fmax(1 - sum_q, DBL_MIN);
    double ph = pow(10, hist10);
    double ln_bow = num > 0 ? log(num) - log(den) : 0;
    for (int64_t j = j0; j < j1; j++) {
        int64_t y = p->kid[j];
        double pw = pow(10, lp[y]), qw = pow(10, q10[j - j0]);
        double ln_bow2 = log(num + pw) - log(den + qw);
        double inner = num > 0 ? num * (ln_bow2 - ln_bow) : 0;
        if (pw > 0)
            inner += pw * (q10[j - j0] * LN10 + ln_bow2 - lp[y] * LN10);
        double dh = ph > 0 ? -ph * inner : 0;
        double c = expm1(dh);
        p->crit[y] = isnan(c) ? INFINITY : c;
    }
}

static int cmp_desc(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a < b) - (a > b);
}

/* log10 of each context's relative frequency as a history in the text c
 * (read with the model's vocabulary): the occurrences of its words right
 * before a token (a sentence's <s> included), over the tokens.  A context
 * that never occurs gets -inf. */
static int history_text_log10(const nglm_entprune *p, const nglm_corpus *c, double *hist,
                              nglm_error *err)
{
    uint64_t *count = calloc(p->n, sizeof *count);
    if (!count)
        return nglm_error_set(err, "out of memory for %zu n-grams", p->n);
    for (size_t s = 0; s < c->n_sents; s++) {
        size_t len;
        const int32_t *sent = nglm_corpus_sentence(c, s, &len);
        /* the n-gram x[b..e] of <s> sent[0..len-1] is the history of the
         * token after it when e <= len - 1 (x[0] = <s>, x[i + 1] = sent[i]) */
        for (size_t b = 0; b < len; b++) {
            int64_t node = -1;
            for (size_t e = b; e < len && e - b + 1 < (size_t)p->order; e++) {
                int32_t w = e == 0 ? NGLM_BOS : sent[e - 1];
                if (w < 0 || w >= p->V)
                    break;
                node = e == b ? w : child(p, node, w);
                if (node < 0 || !p->listed[node])
                    break;
                count[node]++;
            }
        }
    }
    double lt = log10((double)(c->n_tokens ? c->n_tokens : 1));
    for (size_t x = 0; x < p->n; x++)
        hist[x] = count[x] ? log10((double)count[x]) - lt : -INFINITY;
    free(count);
    return 0;
}

/* Each n-gram's eff: the largest criterion among it and the n-grams that
 * need it (those it is the context of; with keep_suffixes, also those it
 * is the suffix of), longest first; then their sorted list. */
static int effective(nglm_entprune *p, nglm_error *err)
{
    size_t n = p->n;
    for (size_t x = 0; x < n; x++)
        p->eff[x] = -INFINITY;
    for (size_t i = n; i-- > 0;) {
        int64_t x = p->ord[i];
        if (p->len[x] >= 2)
            p->eff[x] = fmax(p->eff[x], p->crit[x]);
        else
            p->eff[x] = NAN;
        if (p->len[x] >= 3) {
            p->eff[p->par[x]] = fmax(p->eff[p->par[x]], p->eff[x]);
            int64_t s = p->suf[x];
            if (p->keep_suffixes && p->len[s] == p->len[x] - 1)
                p->eff[s] = fmax(p->eff[s], p->eff[x]);
        }
    }
    if (!p->sorted)
        p->sorted = malloc((n > (size_t)p->V ? n - (size_t)p->V : 1) * sizeof *p->sorted);
    if (!p->sorted)
        return nglm_error_set(err, "out of memory for %zu n-grams", n);
    p->n_cand = 0;
    for (size_t x = (size_t)p->V; x < n; x++)
        p->sorted[p->n_cand++] = p->eff[x];
    qsort(p->sorted, p->n_cand, sizeof *p->sorted, cmp_desc);
    return 0;
}

static int criteria(nglm_entprune *p, const nglm_corpus *text, nglm_error *err)
{
    size_t n = p->n;
    double *hist = malloc(n * sizeof *hist);
    p->crit = malloc(n * sizeof *p->crit);
    p->eff = malloc(n * sizeof *p->eff);
    if (!hist || !p->crit || !p->eff) {
        free(hist);
        return nglm_error_set(err, "out of memory for %zu n-grams", n);
    }
    if (!text)
        history_log10(p, hist);
    else if (history_text_log10(p, text, hist, err) != 0) {
        free(hist);
        return -1;
    }
    for (size_t x = 0; x < n; x++)
        p->crit[x] = NAN;
    int64_t max_kids = 0;
    for (size_t x = 0; x < n; x++)
        if (p->kid_start[x + 1] - p->kid_start[x] > max_kids)
            max_kids = p->kid_start[x + 1] - p->kid_start[x];
    int failed = 0;
#pragma omp parallel
    {
        double *q10 = malloc((size_t)(max_kids > 0 ? max_kids : 1) * sizeof *q10);
        if (!q10) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic, 4096)
        for (size_t i = 0; i < n; i++) {
            int64_t h = p->ord[i];
            if (q10 && p->listed[h] && p->kid_start[h + 1] > p->kid_start[h])
                context_criteria(p, h, hist[h], q10);
        }
        free(q10);
    }
    free(hist);
    if (failed)
        return nglm_error_set(err, "out of memory");
    return effective(p, err);
}

/* ---------------------------------------------------------------- the API */

nglm_entprune *nglm_entprune_new(const nglm_arpa *a, const nglm_corpus *text, nglm_error *err)
{
    nglm_entprune *p = calloc(1, sizeof *p);
    if (!p) {
        nglm_error_set(err, "out of memory");
        return NULL;
    }
    p->a = a;
    p->order = a->order;
    p->V = a->V;
    p->n = a->n_node;
    if (shape(p, err) != 0)
        goto fail;
    p->kept = malloc(p->n);
    p->bow = malloc(p->n * sizeof *p->bow);
    if (!p->kept || !p->bow) {
        nglm_error_set(err, "out of memory for %zu n-grams", p->n);
        goto fail;
    }
    memcpy(p->kept, p->listed, p->n);
    memcpy(p->bow, a->bow, p->n * sizeof *p->bow);
    memcpy(p->kept_k, p->listed_k, sizeof p->kept_k);
    if (criteria(p, text, err) != 0)
        goto fail;
    return p;
fail:
    nglm_entprune_free(p);
    return NULL;
}

void nglm_entprune_free(nglm_entprune *p)
{
    if (!p)
        return;
    free(p->par);
    free(p->word);
    free(p->len);
    free(p->listed);
    free(p->suf);
    free(p->kid_start);
    free(p->kid);
    free(p->ord);
    free(p->crit);
    free(p->eff);
    free(p->sorted);
    free(p->kept);
    free(p->bow);
    free(p);
}

int nglm_entprune_order(const nglm_entprune *p)
{
    return p->order;
}

uint64_t nglm_entprune_total(const nglm_entprune *p)
{
    uint64_t t = 0;
    for (int k = 1; k <= p->order; k++)
        t += p->listed_k[k];
    return t;
}

uint64_t nglm_entprune_unigrams(const nglm_entprune *p)
{
    return p->listed_k[1];
}

int nglm_entprune_keep_suffixes(nglm_entprune *p, nglm_error *err)
{
    p->keep_suffixes = 1;
    return effective(p, err);
}

uint64_t nglm_entprune_count(const nglm_entprune *p, double theta)
{
    /* sorted descending: the first index whose value is below theta */
    size_t lo = 0, hi = p->n_cand;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->sorted[mid] >= theta)
            lo = mid + 1;
        else
            hi = mid;
    }
    return p->listed_k[1] + lo;
}

double nglm_entprune_threshold_for(const nglm_entprune *p, uint64_t target, uint64_t *kept)
{
    uint64_t m = target > p->listed_k[1] ? target - p->listed_k[1] : 0;
    double theta;
    if (m == 0)
        theta = p->n_cand ? nextafter(p->sorted[0], INFINITY) : 1;
    else
        theta = p->sorted[m <= p->n_cand ? m - 1 : p->n_cand - 1];
    if (!(theta > 0)) /* criteria of 0 or below: the smallest θ the API takes */
        theta = DBL_MIN;
    if (kept)
        *kept = nglm_entprune_count(p, theta);
    return theta;
}

int nglm_entprune_apply(nglm_entprune *p, double theta, nglm_error *err)
{
    if (!(theta > 0) || isinf(theta))
        return nglm_error_set(err, "the threshold must be a positive number (got %g)", theta);
    memset(p->kept_k, 0, sizeof p->kept_k);
    for (size_t x = 0; x < p->n; x++) {
        p->kept[x] = p->listed[x] && (p->len[x] == 1 || p->eff[x] >= theta);
        p->kept_k[p->len[x]] += p->kept[x];
    }
    /* the weights, shortest contexts first: a context's sums read only
     * shorter contexts' weights */
    const double *lp = p->a->logp;
    for (size_t i = 0; i < p->n; i++) {
        int64_t h = p->ord[i];
        if (!p->kept[h])
            continue;
        int64_t b = p->suf[h];
        while (b >= 0 && !p->kept[b])
            b = p->suf[b];
        double sum_p = 0, sum_q = 0;
        int any = 0;
        for (int64_t j = p->kid_start[h]; j < p->kid_start[h + 1]; j++) {
            int64_t y = p->kid[j];
            if (!p->kept[y])
                continue;
            any = 1;
            sum_p += pow(10, lp[y]);
            sum_q += pow(10, suffix_log10(p, y, b));
        }
        if (!any) {
            p->bow[h] = 0;
            continue;
        }
        double num = 1 - sum_p, den = 1 - sum_q;
        /* a context whose listed words take all the mass backs off to
         * nothing (weight 0, log10 -99 as <s>'s probability) */
        p->bow[h] = num > 0 && den > 0 ? log10(num) - log10(den) : -99;
    }
    return 0;
}

uint64_t nglm_entprune_kept(const nglm_entprune *p, int k)
{
    return k >= 1 && k <= p->order ? p->kept_k[k] : 0;
}

/* ---------------------------------------------------------------- writing */

/* Where the ARPA text goes: the temporary file, through gzip when the
 * path ends in ".gz" (as nglm-export writes). */
typedef struct ep_out {
    FILE *fp;
    gzFile gz;
    int failed;
} ep_out;

static void out_printf(ep_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out_printf(ep_out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (o->gz ? gzvprintf(o->gz, fmt, ap) <= 0 : vfprintf(o->fp, fmt, ap) < 0)
        o->failed = 1;
    va_end(ap);
}

int nglm_entprune_save(const nglm_entprune *p, const char *path, int digits, nglm_error *err)
{
    if (digits < 1 || digits > 17)
        return nglm_error_set(err, "digits must be 1..17 (got %d)", digits);
    int top = p->order;
    while (top > 1 && p->kept_k[top] == 0)
        top--;
    nglm_atomic at;
    if (nglm_atomic_open(&at, path, err) != 0)
        return -1;
    ep_out o = {at.fp, NULL, 0};
    size_t n = strlen(path);
    if (n > 3 && strcmp(path + n - 3, ".gz") == 0) {
        int fd = dup(fileno(at.fp));
        if (fd < 0 || !(o.gz = gzdopen(fd, "wb6"))) {
            if (fd >= 0)
                close(fd);
            return nglm_atomic_fail(&at, ENOMEM, err);
        }
    }
    char comment[200];
    nglm_arpa_tok_comment(&p->a->tok, comment, sizeof comment);
    if (comment[0])
        out_printf(&o, "# %s\n\n", comment);
    out_printf(&o, "\\data\\\n");
    for (int k = 1; k <= top; k++)
        out_printf(&o, "ngram %d=%llu\n", k, (unsigned long long)p->kept_k[k]);
    size_t i = 0;
    for (int k = 1; k <= top && !o.failed; k++) {
        out_printf(&o, "\n\\%d-grams:\n", k);
        for (; i < p->n && p->len[p->ord[i]] == k && !o.failed; i++) {
            int64_t x = p->ord[i];
            if (!p->kept[x])
                continue;
            int32_t words[NGLM_ARPA_MAX_ORDER];
            node_words(p, x, words);
            out_printf(&o, "%.*g\t", digits, p->a->logp[x]);
            for (int j = 0; j < k; j++)
                out_printf(&o, j ? " %s" : "%s", nglm_vocab_word(p->a->vocab, words[j]));
            if (k < top)
                out_printf(&o, "\t%.*g", digits, p->bow[x]);
            out_printf(&o, "\n");
        }
    }
    out_printf(&o, "\n\\end\\\n");
    int errnum = errno ? errno : EIO;
    if (o.gz && gzclose(o.gz) != Z_OK)
        o.failed = 1;
    if (o.failed || ferror(at.fp))
        return nglm_atomic_fail(&at, errnum, err);
    return nglm_atomic_commit(&at, err);
}

/* ---------------------------------------------------------------- for tests */

size_t nglm_entprune_nodes(const nglm_entprune *p)
{
    return p->n;
}

void nglm_entprune_ngram(const nglm_entprune *p, size_t x, int32_t *words, int *len,
                         double *logp10, double *bow10, double *criterion, int *kept)
{
    *len = p->listed[x] ? node_words(p, (int64_t)x, words) : 0;
    *logp10 = p->a->logp[x];
    *bow10 = p->a->bow[x];
    *criterion = p->listed[x] && p->len[x] >= 2 ? p->crit[x] : NAN;
    *kept = p->kept[x];
}

double nglm_entprune_bow10(const nglm_entprune *p, size_t x)
{
    return p->kept[x] ? p->bow[x] : 0;
}

double nglm_entprune_logprob10(const nglm_entprune *p, const int32_t *ctx, int k, int32_t w)
{
    if (w < 0 || w >= p->V)
        return -INFINITY;
    int64_t c = -1;
    for (int j = k < p->order - 1 ? k : p->order - 1; j >= 1 && c < 0; j--) {
        int64_t x = ctx[k - j];
        if (x < 0 || x >= p->V)
            continue;
        for (int q = k - j + 1; q < k && x >= 0; q++)
            x = ctx[q] >= 0 ? child(p, x, ctx[q]) : -1;
        if (x >= 0 && p->kept[x])
            c = x;
    }
    return backoff_log10(p, c, w);
}
