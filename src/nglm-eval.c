/*
 * nglm-eval — perplexity of a text under a trained model, reported like
 * SRILM's `ngram -ppl` (see nglm/eval.h), or of the linear interpolation of
 * two models (--mix, see nglm/mix.h).  Usage: nglm-eval --help.
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "nglm/cache.h"
#include "nglm/corpus.h"
#include "nglm/eval.h"
#include "nglm/lm.h"
#include "nglm/mix.h"

/* ---------------------------------------------------------------- models */

/* Opens a model of any kind, or dies.  A native model is mapped: only what
 * scoring touches is read; verify also checks its CRC and whole index. */
static nglm_lm *lm_load(const char *path, int verify)
{
    nglm_error err;
    nglm_lm *lm = nglm_lm_open(path, verify ? NGLM_LM_VERIFY : 0, &err);
    if (!lm)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
    return lm;
}

/* --tokenize/--lowercase: how text is split for a model that does not
 * record it (a KenLM or SRILM ARPA file); for one that does, they must say
 * what it records.  asked NULL: nothing asked. */
static void lm_apply_tok(nglm_lm *x, const nglm_tok_options *asked)
{
    if (!asked)
        return;
    nglm_error err;
    nglm_tok_options have = nglm_lm_tok(x);
    if (!nglm_lm_tok_recorded(x)) {
        nglm_tok_options t = *asked;
        t.replace_invalid = have.replace_invalid;
        if (nglm_lm_set_tok(x, &t, &err) != 0)
            nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
    } else if (have.mode != asked->mode || have.lowercase != asked->lowercase) {
        char a[96], h[96];
        nglm_tok_options t = *asked;
        t.replace_invalid = have.replace_invalid;
        nglm_cli_die(NGLM_EXIT_USAGE, "%s: %s, but the model was trained with %s and reads "
                     "text that way (leave the option out)", nglm_lm_path(x),
                     nglm_tok_options_spell(&t, a, sizeof a),
                     nglm_tok_options_spell(&have, h, sizeof h));
    }
}

/* The share of words out of the vocabulary above which nglm-eval warns:
 * PTB's test text has none, a text of the model's domain tokenized its way
 * a few percent; beyond 5%, the text is most likely tokenized otherwise
 * (raw text against a PTB model: about 40%), and the perplexity, which
 * scores every OOV as <unk>, says little. */
#define OOV_WARN_RATE 0.05

/* One line on stderr when r's OOV rate is above OOV_WARN_RATE, with the
 * tokenizer x reads text with. */
static void warn_oov(const nglm_lm *x, const nglm_eval_report *r)
{
    if (r->words == 0 || (double)r->oovs <= OOV_WARN_RATE * (double)r->words)
        return;
    char how[96];
    nglm_tok_options t = nglm_lm_tok(x);
    fprintf(stderr, "%s: warning: %llu of %llu words (%.1f%%) are not in the model's "
            "vocabulary: is the text tokenized as the model's training text was? (the model "
            "reads it with %s%s; --print-tokens shows the tokens)\n", nglm_cli_prog(),
            (unsigned long long)r->oovs, (unsigned long long)r->words,
            100.0 * (double)r->oovs / (double)r->words,
            nglm_tok_options_spell(&t, how, sizeof how),
            nglm_lm_tok_recorded(x) ? "" : ", as it records none: --tokenize word "
                                           "--lowercase would split raw text");
}

/* --print-tokens: text as the model's tokenizer splits it, a sentence a line. */
static void print_text_tokens(const nglm_lm *x, const char *text)
{
    nglm_error err;
    nglm_tok_options tok = nglm_lm_tok(x);
    tok.keep_blank = 1; /* line for line */
    nglm_tokenizer *t = nglm_tokenizer_open(text, &tok, &err);
    if (!t)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
    char **w;
    size_t n;
    int r;
    while ((r = nglm_tokenizer_next(t, &w, &n, &err)) > 0) {
        for (size_t i = 0; i < n; i++)
            printf("%s%s", i ? " " : "", w[i]);
        if (putchar('\n') == EOF)
            break;
    }
    nglm_tokenizer_close(t);
    if (r < 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
    if (fflush(stdout) != 0 || ferror(stdout))
        nglm_cli_die(NGLM_EXIT_FAIL, "error writing the tokens");
}

/* Reads text as the model reads it (a mixture: with each component's
 * tokenizer and vocabulary), showing its progress on the meter. */
static void lm_read(const nglm_lm *x, const char *text, nglm_corpus *c, nglm_cli_meter *meter)
{
    nglm_error err;
    char what[128];
    snprintf(what, sizeof what, "reading %.100s", text);
    nglm_progress p = nglm_cli_meter_begin(meter, what, "MB", 1e-6);
    if (nglm_lm_read(x, text, c, &p, &err) != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
    nglm_cli_meter_clear(meter);
}

/* log10 P of every token of c (read by lm_read), NAN for a token the model
 * skips; in *len (if len) the n-gram length that fired; malloc'd. */
static double *lm_score10(const nglm_lm *x, const nglm_corpus *c, int threads,
                          nglm_cli_meter *meter, int **len)
{
    nglm_error err;
    size_t n = c->n_tokens ? c->n_tokens : 1;
    double *lp = malloc(n * sizeof *lp);
    if (len)
        *len = malloc(n * sizeof **len);
    if (!lp || (len && !*len))
        nglm_cli_die(NGLM_EXIT_FAIL, "out of memory scoring %zu tokens", c->n_tokens);
    nglm_progress p = nglm_cli_meter_begin(meter, "scoring", "tokens", 1);
    if (nglm_lm_score_corpus10(x, c, lp, len ? *len : NULL, threads, &p, &err) != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
    nglm_cli_meter_clear(meter);
    return lp;
}

/* ---------------------------------------------------------------- cache */

/* What --cache and --cache-lambda asked for. */
typedef struct cache_opts {
    int on;                 /* a cache is used */
    int auto_kind;          /* --cache auto: kind and length chosen on heldout */
    int auto_weights;       /* weights by EM on heldout */
    int set_weights;        /* --cache-lambda W[,W2] */
    int from_model;         /* --cache model: the one the model records */
    const char *reset;      /* --cache-reset WORD, or NULL */
    nglm_cache_spec spec;
    const char *heldout;
} cache_opts;

/* Measured on PTB's validation text (bench/RESULTS.md). */
#define CACHE_LAMBDA 0.1
#define CACHE_BIGRAM_LAMBDA 0.05

static void parse_cache(const char *cache, const char *weights, const char *heldout,
                        cache_opts *co)
{
    memset(co, 0, sizeof *co);
    co->heldout = heldout;
    if (!cache || strcmp(cache, "none") == 0) {
        if (weights)
            nglm_cli_die(NGLM_EXIT_USAGE, "--cache-lambda goes with --cache (see --help)");
        return;
    }
    co->on = 1;
    co->auto_kind = strcmp(cache, "auto") == 0;
    co->from_model = strcmp(cache, "model") == 0;
    if (co->from_model) {
        if (weights)
            nglm_cli_die(NGLM_EXIT_USAGE, "--cache model takes the model's weights too: leave "
                         "out --cache-lambda, or name a cache");
        return;
    }
    nglm_error err;
    if (!co->auto_kind && nglm_cache_parse(cache, &co->spec, &err) != 0)
        nglm_cli_die(NGLM_EXIT_USAGE, "--cache: %s", err.msg);
    co->auto_weights = co->auto_kind || (weights && strcmp(weights, "auto") == 0);
    if (co->auto_kind && weights && strcmp(weights, "auto") != 0)
        nglm_cli_die(NGLM_EXIT_USAGE, "--cache auto chooses the weights too: leave out "
                     "--cache-lambda, or name a cache");
    if (co->auto_weights && !heldout)
        nglm_cli_die(NGLM_EXIT_USAGE, "--cache%s auto needs --heldout FILE (see --help)",
                     co->auto_kind ? "" : "-lambda");
    co->spec.lambda = CACHE_LAMBDA;
    co->spec.bigram_lambda = co->spec.bigram_length > 0 ? CACHE_BIGRAM_LAMBDA : 0;
    if (weights && !co->auto_weights) {
        int bigram = co->spec.bigram_length > 0, used = 0;
        double w1 = -1, w2 = 0;
        int got = bigram ? sscanf(weights, "%lf,%lf%n", &w1, &w2, &used)
                         : sscanf(weights, "%lf%n", &w1, &used);
        if (got != (bigram ? 2 : 1) || weights[used] != '\0' || !(w1 >= 0) || !(w2 >= 0) ||
            !(w1 + w2 <= 1))
            nglm_cli_die(NGLM_EXIT_USAGE, "--cache-lambda: '%s' is not %s, each >= 0 and "
                         "together at most 1", weights, bigram ? "W1,W2" : "a weight W");
        co->spec.lambda = w1;
        co->spec.bigram_lambda = w2;
        co->set_weights = 1;
    }
}

/* The cache's probabilities of every token of c: malloc'd c1 and c2 (NULL
 * without a bigram cache). */
static void cache_probs(const nglm_cache_spec *s, const nglm_corpus *c, int32_t V, double **c1,
                        double **c2)
{
    nglm_error err;
    size_t n = c->n_tokens ? c->n_tokens : 1;
    *c1 = malloc(n * sizeof **c1);
    *c2 = s->bigram_length > 0 ? malloc(n * sizeof **c2) : NULL;
    if (!*c1 || (s->bigram_length > 0 && !*c2))
        nglm_cli_die(NGLM_EXIT_FAIL, "out of memory for the cache of %zu tokens", c->n_tokens);
    if (nglm_cache_probs(s, c, V, *c1, *c2, &err) != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
}

/* An id as KenLM numbers its vocabulary: <unk> 0, then the words in the
 * ARPA file's order, which for nglm-kn's and lmplz's files (the specials
 * first) is <s> 1, </s> 2 and nglm's ids from 3 on. */
static int kenlm_id(int32_t id)
{
    return id == NGLM_UNK ? 0 : id == NGLM_BOS ? 1 : id == NGLM_EOS ? 2 : (int)id;
}

/* A log10 value of --per-word: as query prints its floats, the shortest
 * decimal that reads back as the same single-precision float, unless
 * digits >= 0 asks for that many decimals. */
static void print_value(double v, int digits)
{
    if (digits >= 0 || !isfinite(v)) {
        printf("%.*f", digits >= 0 ? digits : 0, v);
        return;
    }
    float f = (float)v;
    char buf[32];
    for (int p = 1; p <= 9; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, (double)f);
        if (strtof(buf, NULL) == f)
            break;
    }
    fputs(buf, stdout);
}

/* --per-word: every token of c (text read again for its surface words) as
 * KenLM's query prints it, a line a sentence: "word=ID LENGTH LOG10P" for
 * each word and </s> (ID: kenlm_id; LENGTH: the n-gram order that fired,
 * len; a mixture's first model's; LOG10P: lp10, the score reported), then
 * "Total: X OOV: N". */
static void print_per_word(const nglm_lm *x, const char *text, const nglm_corpus *c,
                           const double *lp10, const int *len, int digits)
{
    nglm_error err;
    nglm_tok_options tok = nglm_lm_tok(x);
    tok.keep_blank = 1;
    nglm_tokenizer *t = nglm_tokenizer_open(text, &tok, &err);
    if (!t)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
    for (size_t s = 0; s < c->n_sents; s++) {
        char **w;
        size_t n, n_ids;
        if (nglm_tokenizer_next(t, &w, &n, &err) <= 0)
            nglm_cli_die(NGLM_EXIT_FAIL, "%s: the text changed while it was read", text);
        const int32_t *sent = nglm_corpus_sentence(c, s, &n_ids);
        double total = 0;
        int oov = 0;
        size_t k = 0;
        for (size_t j = 0; j <= n && k < n_ids; j++) {
            const char *word = j < n ? w[j] : NGLM_EOS_STR;
            if (j < n && (strcmp(word, NGLM_BOS_STR) == 0 || strcmp(word, NGLM_EOS_STR) == 0))
                continue; /* literal markers are not tokens (nglm/corpus.h) */
            double lp = lp10[c->start[s] + k];
            printf("%s=%d %d ", word, kenlm_id(sent[k]), len[c->start[s] + k]);
            print_value(lp, digits);
            putchar('\t');
            if (isfinite(lp))
                total += lp;
            oov += sent[k] == NGLM_UNK; /* a written <unk> too, as query counts */
            k++;
        }
        printf("Total: ");
        print_value(total, digits);
        printf(" OOV: %d\n", oov);
    }
    nglm_tokenizer_close(t);
}

/* The cache of co over *x, its kind and weights chosen on the held-out
 * text first if asked, the 'cache:' line printed by the caller from what
 * goes in `how`; *x becomes the cache model. */
static void add_cache(nglm_lm **x, cache_opts *co, int threads, nglm_cli_meter *meter,
                      char *how, size_t how_n)
{
    nglm_error err;
    const nglm_lm *first = nglm_lm_mix_size(*x) ? nglm_lm_mix_component(*x, 0) : *x;
    int32_t V = (int32_t)nglm_vocab_size(nglm_lm_vocab(*x));
    snprintf(how, how_n, "default weights");
    if (co->from_model) {
        if (!nglm_lm_recorded_cache(first, &co->spec))
            nglm_cli_die(NGLM_EXIT_USAGE, "--cache model: the model records no cache "
                         "(nglm-train --eval-cache auto records one)");
        snprintf(how, how_n, "recorded in the model");
    }
    if (co->reset) {
        int32_t id = nglm_vocab_find(nglm_lm_vocab(*x), co->reset);
        if (id < NGLM_NUM_SPECIAL)
            nglm_cli_die(NGLM_EXIT_USAGE, "--cache-reset: '%s' is not a word of the model's "
                         "vocabulary", co->reset);
        co->spec.reset_word = id;
    }
    if (co->set_weights)
        snprintf(how, how_n, "--cache-lambda");
    if (co->auto_weights) {
        nglm_corpus ha;
        lm_read(*x, co->heldout, &ha, meter);
        double *lh = lm_score10(*x, &ha, threads, meter, NULL);
        if (co->auto_kind) {
            double ppl;
            if (nglm_cache_choose(&ha, V, lh, &co->spec, &ppl, &err) != 0)
                nglm_cli_die(NGLM_EXIT_FAIL, "%s: %s", co->heldout, err.msg);
            snprintf(how, how_n, "chosen on %.1000s: held-out ppl %.2f", co->heldout, ppl);
        } else {
            double *c1, *c2;
            int it;
            cache_probs(&co->spec, &ha, V, &c1, &c2);
            if (nglm_cache_em(&co->spec, lh, c1, c2, ha.n_tokens, 1e-6, 100000, &it, &err) != 0)
                nglm_cli_die(NGLM_EXIT_FAIL, "%s: %s", co->heldout, err.msg);
            snprintf(how, how_n, "EM on %.1000s, %d iterations", co->heldout, it);
            free(c1);
            free(c2);
        }
        free(lh);
        nglm_corpus_free(&ha);
    }
    if (!(*x = nglm_lm_cache_new(*x, &co->spec, &err)))
        nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
}

/* --lambda's value: "auto", one weight (of the first of two models) or a
 * weight per model, comma-separated; checked against n models later. */
typedef struct lambda_opt {
    int given, is_auto;
    size_t n;
    double w[NGLM_LM_MIX_MAX + 1];
} lambda_opt;

static void parse_lambda(const char *s, lambda_opt *l)
{
    l->given = 1;
    l->is_auto = strcmp(s, "auto") == 0;
    if (l->is_auto)
        return;
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", s) >= (int)sizeof buf)
        nglm_cli_die(NGLM_EXIT_USAGE, "--lambda: too long");
    l->n = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        if (l->n == NGLM_LM_MIX_MAX)
            nglm_cli_die(NGLM_EXIT_USAGE, "--lambda: more than %d weights", NGLM_LM_MIX_MAX);
        l->w[l->n++] = nglm_cli_double("--lambda", strchr(s, ',') ? tok : s, 0, 1);
    }
    if (l->n == 0)
        nglm_cli_die(NGLM_EXIT_USAGE, "--lambda: '%s' is not a weight", s);
}

/* The weights --lambda gives n models (NULL: the default, equal). */
static const double *lambda_weights(lambda_opt *l, size_t n)
{
    if (!l->given || l->is_auto)
        return NULL;
    if (l->n == 1 && n == 2) { /* the weight of the first model, as SRILM's -lambda */
        l->w[1] = 1.0 - l->w[0];
        return l->w;
    }
    if (l->n != n)
        nglm_cli_die(NGLM_EXIT_USAGE, "--lambda: %zu weight%s for %zu models (give one per "
                     "model, comma-separated, summing to 1)", l->n, l->n == 1 ? "" : "s", n);
    double sum = 0;
    for (size_t k = 0; k < n; k++)
        sum += l->w[k];
    if (fabs(sum - 1) > 1e-6)
        nglm_cli_die(NGLM_EXIT_USAGE, "--lambda: the weights sum to %.10g, not 1", sum);
    return l->w;
}

/* "mixture weight: L (how)" for two models (L: the first's), "mixture
 * weights: W1 W2 ... (how)" for more. */
static void print_weights(const nglm_lm *x, const char *how)
{
    size_t n = nglm_lm_mix_size(x);
    const double *w = nglm_lm_mix_weights(x);
    if (n == 2) {
        printf("mixture weight: %.6g (%s)\n", w[0], how);
        return;
    }
    printf("mixture weights:");
    for (size_t k = 0; k < n; k++)
        printf(" %.6g", w[k]);
    printf(" (%s)\n", how);
}

/* ---------------------------------------------------------------- n-best lists */

/* An n-best list: hypothesis k has id[k] (as the list names it, or its
 * place in the list, from 1) and text hyp[k]. */
typedef struct nbest {
    size_t n, cap;
    char **id, **hyp;
} nbest;

static void nbest_add(nbest *b, const char *id, size_t id_len, const char *hyp)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 256;
        b->id = realloc(b->id, b->cap * sizeof *b->id);
        b->hyp = realloc(b->hyp, b->cap * sizeof *b->hyp);
        if (!b->id || !b->hyp)
            nglm_cli_die(NGLM_EXIT_FAIL, "out of memory reading an n-best list");
    }
    b->id[b->n] = strndup(id, id_len);
    b->hyp[b->n] = strdup(hyp);
    if (!b->id[b->n] || !b->hyp[b->n])
        nglm_cli_die(NGLM_EXIT_FAIL, "out of memory reading an n-best list");
    b->n++;
}

/* Whether s is a number (strtod's form), all of it. */
static int is_number(const char *s, size_t len)
{
    char buf[64], *end;
    if (len == 0 || len >= sizeof buf)
        return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    strtod(buf, &end);
    return *end == '\0';
}

/* The fields of line (white-space separated): their starts and lengths,
 * at most max; returns how many there are. */
static size_t fields(const char *line, const char **f, size_t *len, size_t max)
{
    size_t n = 0;
    for (const char *p = line;;) {
        p += strspn(p, " \t");
        if (!*p)
            return n;
        size_t l = strcspn(p, " \t");
        if (n < max) {
            f[n] = p;
            len[n] = l;
        }
        n++;
        p += l;
    }
}

/* Reads an n-best list in one of three forms, told apart by its first line:
 *   SRILM's NBestList1.0: that header, then "(SCORE) w1 w2 ..." a line;
 *   SRILM's plain form (ngram -nbest): "ASCORE LMSCORE N w1 ... wN", N the
 *     number of words (checked);
 *   an id and the words, "ID w1 w2 ...": Kaldi's text form (utt-1 w1 ...)
 *     and any list with an id column; the id may be alone (an empty
 *     hypothesis).
 * The SRILM forms number the hypotheses 1, 2, ... in order.  Blank lines
 * are passed over; a line that does not fit the form is an error naming
 * it, as is SRILM's NBestList2.0 (word times), not read here. */
static void nbest_read(const char *path, const char *name, nbest *b)
{
    FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    path = name; /* for messages: the file as the user named it */
    if (!fp)
        nglm_cli_die(NGLM_EXIT_FAIL, "--nbest: %s: %s", path, strerror(errno));
    enum { UNKNOWN, V1, SRILM, IDS } form = UNKNOWN;
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t got;
    while ((got = getline(&line, &cap, fp)) >= 0) {
        lineno++;
        size_t len = (size_t)got;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (strlen(line) != len)
            nglm_cli_die(NGLM_EXIT_FAIL, "%s:%zu: NUL byte in line", path, lineno);
        const char *f[3];
        size_t fl[3];
        size_t nf = fields(line, f, fl, 3);
        if (nf == 0)
            continue;
        if (form == UNKNOWN) {
            if (strncmp(f[0], "NBestList", 9) == 0) {
                if (nf != 1 || fl[0] != 12 || strncmp(f[0], "NBestList1.0", 12) != 0)
                    nglm_cli_die(NGLM_EXIT_FAIL, "%s:%zu: '%.*s': of SRILM's n-best formats "
                                 "only NBestList1.0 and the plain one are read", path, lineno,
                                 (int)fl[0], f[0]);
                form = V1;
                continue;
            }
            form = nf >= 3 && is_number(f[0], fl[0]) && is_number(f[1], fl[1]) &&
                   strspn(f[2], "0123456789") == fl[2] ? SRILM : IDS;
        }
        char num[32];
        snprintf(num, sizeof num, "%zu", b->n + 1);
        if (form == V1) {
            if (f[0][0] != '(' || f[0][fl[0] - 1] != ')' || !is_number(f[0] + 1, fl[0] - 2))
                nglm_cli_die(NGLM_EXIT_FAIL, "%s:%zu: not an NBestList1.0 line '(SCORE) "
                             "w1 w2 ...'", path, lineno);
            nbest_add(b, num, strlen(num), f[0] + fl[0] + strspn(f[0] + fl[0], " \t"));
        } else if (form == SRILM) {
            if (nf < 3 || !is_number(f[0], fl[0]) || !is_number(f[1], fl[1]) ||
                strspn(f[2], "0123456789") != fl[2] || fl[2] > 9)
                nglm_cli_die(NGLM_EXIT_FAIL, "%s:%zu: not a line of SRILM's n-best form "
                             "'ASCORE LMSCORE N w1 ... wN'", path, lineno);
            const char *words = f[2] + fl[2] + strspn(f[2] + fl[2], " \t");
            const char *wf[1];
            size_t wl[1], nw = fields(words, wf, wl, 1), want = strtoul(f[2], NULL, 10);
            if (nw != want)
                nglm_cli_die(NGLM_EXIT_FAIL, "%s:%zu: %zu words, but the line says %zu", path,
                             lineno, nw, want);
            nbest_add(b, num, strlen(num), words);
        } else {
            nbest_add(b, f[0], fl[0], f[0] + fl[0] + strspn(f[0] + fl[0], " \t"));
        }
    }
    if (ferror(fp))
        nglm_cli_die(NGLM_EXIT_FAIL, "--nbest: %s: read error", path);
    free(line);
    if (fp != stdin)
        fclose(fp);
}

/* --nbest: each hypothesis's log10 probability (words and </s>) and OOV
 * count on stdout, "ID<TAB>LOGPROB<TAB>OOVS<TAB>WORDS", in the list's
 * order; the totals on stderr. */
static void score_nbest(const nglm_lm *x, const char *path, const char *shown, int threads,
                        int digits, nglm_cli_meter *meter)
{
    nbest b = {0};
    if (strcmp(shown, "-") == 0)
        shown = "(stdin)";
    nbest_read(path, shown, &b);
    nglm_error err;
    nglm_corpus c;
    if (nglm_lm_read_lines(x, (const char *const *)b.hyp, b.n, &c, &err) != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "--nbest %s: %s", shown, err.msg);
    double *lp = lm_score10(x, &c, threads, meter, NULL);
    double total = 0;
    uint64_t words = 0, oovs = 0;
    for (size_t s = 0; s < c.n_sents; s++) {
        size_t n;
        const int32_t *ids = nglm_corpus_sentence(&c, s, &n);
        double sum = 0;
        int oov = 0;
        for (size_t j = 0; j < n; j++) {
            double v = lp[c.start[s] + j];
            if (isfinite(v))
                sum += v;
            oov += j + 1 < n && (ids[j] == NGLM_UNK || isnan(v));
        }
        printf("%s\t%.*f\t%d\t%zu\n", b.id[s], digits, sum, oov, n - 1);
        total += sum;
        words += n - 1;
        oovs += (uint64_t)oov;
    }
    if (fflush(stdout) != 0 || ferror(stdout))
        nglm_cli_die(NGLM_EXIT_FAIL, "error writing the scores");
    fprintf(stderr, "%s: %s: %zu hypotheses, %llu words, %llu OOVs, logprob= %.*f\n",
            nglm_cli_prog(), shown, b.n, (unsigned long long)words, (unsigned long long)oovs,
            digits, total);
    nglm_eval_report r = {0};
    r.words = words;
    r.oovs = oovs;
    warn_oov(x, &r);
    for (size_t k = 0; k < b.n; k++) {
        free(b.id[k]);
        free(b.hyp[k]);
    }
    free(b.id);
    free(b.hyp);
    free(lp);
    nglm_corpus_free(&c);
}

/* ---------------------------------------------------------------- options */

typedef struct options {
    const char *model, *heldout, *write_mix, *cache, *cache_lambda, *cache_reset;
    const char *tokenize, *nbest;
    int lowercase;
    const char *mix[NGLM_LM_MIX_MAX];
    size_t n_mix, mix_given;  /* kept, given (a mixture of too many is refused later) */
    lambda_opt lambda;
    int per_sentence, print_tokens, per_word, verify, threads, digits, progress;
} options;

static int add_mix(const nglm_option *row, void *opts, const char *value, nglm_error *err)
{
    (void)row, (void)err;
    options *o = opts;
    if (o->n_mix < NGLM_LM_MIX_MAX)
        o->mix[o->n_mix++] = value;
    o->mix_given++;
    return 0;
}

static int set_lambda(const nglm_option *row, void *opts, const char *value, nglm_error *err)
{
    (void)row, (void)err;
    parse_lambda(value, &((options *)opts)->lambda);
    return 0;
}

static const nglm_opt_choice progress_modes[] = {{"auto", NGLM_CLI_PROGRESS_AUTO},
                                                 {"always", NGLM_CLI_PROGRESS_ALWAYS},
                                                 {"never", NGLM_CLI_PROGRESS_NEVER},
                                                 {NULL, 0}};

#define MIXING "Mixing (linear interpolation, as SRILM's -mix-lm, -mix-lm2 ...)"
#define CACHE "Cache (the recent past of TEXT, mixed in exactly; never on by default)"

/* a row names the fields it uses; the rest are zero */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#define FIELD(f) offsetof(options, f)
static const nglm_option rows[] = {
    {"model", "FILE", "",
     "the model: written by nglm-train, or an ARPA file (plain or gzip; nglm-export's, "
     "KenLM's, SRILM's)",
     NGLM_OPT_STRING, FIELD(model)},
    {"digits", "N", "",
     "decimals of logprob, ppl and ppl1 (default 2), and of --per-word's values (default: "
     "8 significant digits, as KenLM's query prints them)",
     NGLM_OPT_INT, FIELD(digits), 0, 17},
    {"per-sentence", NULL, "",
     "also print each sentence's log10 probability: 'sentence N: logprob= X tokens= T "
     "oovs= K' (N: the line, T with </s>, K its words scored as <unk>; a blank line is a "
     "sentence, its </s> alone)",
     NGLM_OPT_FLAG, FIELD(per_sentence)},
    {"per-word", NULL, "",
     "also print every token, a line a sentence, in KenLM's query's format: 'word=ID N "
     "LOG10P' (ID as query numbers words: <unk> 0, <s> 1, </s> 2; N: the n-gram order "
     "used) for each word and </s>, then 'Total: X OOV: N'",
     NGLM_OPT_FLAG, FIELD(per_word)},
    {"nbest", "FILE", "",
     "score the hypotheses of an n-best list instead of a TEXT ('-': stdin): lines 'ID w1 "
     "w2 ...' (Kaldi's text form), SRILM's 'ASCORE LMSCORE N w1 ... wN' or NBestList1.0; "
     "prints 'ID<TAB>LOGPROB<TAB>OOVS<TAB>WORDS' a hypothesis on stdout (SRILM's forms: "
     "ID is the place in the list), the totals on stderr",
     NGLM_OPT_STRING, FIELD(nbest)},
    {"print-tokens", NULL, "",
     "print TEXT as the model reads it, one sentence per line, tokens separated by single "
     "spaces, and score nothing (what other tools must be given to see the same tokens)",
     NGLM_OPT_FLAG, FIELD(print_tokens)},
    {"tokenize", "MODE", "",
     "space, word or char: how to split TEXT for a model that does not record it (an ARPA "
     "file of KenLM or SRILM; default space); for one that does, the run fails unless MODE "
     "is the recorded one",
     NGLM_OPT_STRING, FIELD(tokenize)},
    {"lowercase", NULL, "", "fold case, as --tokenize", NGLM_OPT_FLAG, FIELD(lowercase)},
    {"verify", NULL, "",
     "check an nglm model's checksum and whole index before scoring (reads the whole file; "
     "by default only what the lookups need is checked, so a damaged weight gives a wrong "
     "score instead of an error)",
     NGLM_OPT_FLAG, FIELD(verify)},
    {"threads", "N", "", "OpenMP threads (default: OMP_NUM_THREADS or all cores)",
     NGLM_OPT_INT, FIELD(threads), 1, 4096},
    {"progress", "MODE", "",
     "reading and scoring progress on stderr: auto (default: redrawn on a terminal, a line "
     "every 5 s otherwise), always (a line at every step), never",
     NGLM_OPT_CHOICE, FIELD(progress), 0, 0, progress_modes},
    {"mix", "FILE", MIXING,
     "another model (nglm, ARPA or a saved mixture); may be given up to "
     NGLM_STR(NGLM_LM_MIX_MAX) " times (with --model: model A, B, ...)",
     NGLM_OPT_CUSTOM, 0, 0, 0, NULL, add_mix},
    {"lambda", "L", MIXING,
     "two models: the first's weight L, 0..1 (default 0.5; L*P_A + (1-L)*P_B); any number: "
     "L1,L2,... one per model, summing to 1 (default equal); or 'auto': the weights that "
     "maximise the likelihood of --heldout, found by EM (SRILM's compute-best-mix, "
     "accelerated)",
     NGLM_OPT_CUSTOM, FIELD(lambda), 0, 0, NULL, set_lambda},
    {"heldout", "FILE", MIXING,
     "held-out text for --lambda auto and the cache's auto (gzip too; '-': stdin)",
     NGLM_OPT_STRING, FIELD(heldout)},
    {"write-mix", "FILE", MIXING,
     "save the mixture and its weights as one model (a small text file naming the models' "
     "files with their sizes and checksums) that --model and nglm-sample open",
     NGLM_OPT_STRING, FIELD(write_mix)},
    {"cache", "SPEC", CACHE,
     "decay:L (words weighted by exp(-age/L)) or window:N (the last N words), maybe with "
     ",bigram:L (a decayed cache of each word's followers); auto: chosen on --heldout; "
     "model: the one nglm-train --eval-cache recorded",
     NGLM_OPT_STRING, FIELD(cache)},
    {"cache-lambda", "W", CACHE,
     "the cache's weight, W1,W2 with a bigram cache (default 0.1 and 0.05), or auto: by EM "
     "on --heldout",
     NGLM_OPT_STRING, FIELD(cache_lambda)},
    {"cache-reset", "WORD", CACHE,
     "a line holding only WORD (a document boundary such as <doc>, a word of the model) "
     "empties the cache too",
     NGLM_OPT_STRING, FIELD(cache_reset)},
};
#undef FIELD

static void usage(FILE *fp)
{
    const size_t n = sizeof rows / sizeof *rows;
    fprintf(fp,
        "Usage: nglm-eval --model FILE [OPTION]... [TEXT]\n"
        "Report the perplexity of TEXT ('-' or none = stdin; gzip is read too) under\n"
        "an nglm model.\n"
        "\n");
    nglm_options_help(fp, rows, n, "");
    fprintf(fp, "  -h, --help, --version\n" MIXING ":\n");
    nglm_options_help(fp, rows, n, MIXING);
    fprintf(fp, CACHE ":\n");
    nglm_options_help(fp, rows, n, CACHE);
    fprintf(fp,
        "  The held-out text is read in its own order with its own cache; a blank\n"
        "  line empties the cache.  A first line 'cache: SPEC, weights W (how)'.\n"
        "Each model reads TEXT with its own tokenizer and vocabulary; all must\n"
        "find the same tokens (stdin is copied first).  A token any model\n"
        "skips (an OOV of an ARPA model without <unk>) is skipped and counted as an\n"
        "OOV.  A first line 'mixture weight: L (how it was chosen)' is printed\n"
        "('mixture weights: L1 L2 ... (how)' for more than two models).\n"
        "\n"
        "Output (as SRILM's ngram -ppl):\n"
        "  file TEXT: S sentences, W words, O OOVs[, scored as <unk> | , skipped]\n"
        "  0 zeroprobs, logprob= L ppl= P ppl1= P1\n"
        "  excluding the N tokens scored as <unk>: logprob= L ppl= P ppl1= P1\n"
        "logprob is log10; ppl counts words and </s>, ppl1 words only; OOVs are\n"
        "scored as <unk> (an ARPA model without <unk> skips them, as SRILM does).\n"
        "The third line, when a token was scored as <unk> (an OOV or a written\n"
        "<unk>), leaves those out, as KenLM's query reports \"excluding OOVs\".\n"
        "\n"
        "Exit status: 0 success, 1 failure (bad model or text, I/O), 2 bad usage.\n");
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv)
{
    nglm_cli_set_prog(argv[0]);
    options o;
    memset(&o, 0, sizeof o);
    o.digits = -1; /* not given: 2 in the report, query's precision in --per-word */
    o.progress = NGLM_CLI_PROGRESS_AUTO;
    nglm_cli_table t = {rows, sizeof rows / sizeof *rows, &o};
    int first = nglm_cli_parse(argc, argv, &t, 1, usage,
                               "nglm-eval takes --model FILE TEXT... (SRILM's -lm FILE "
                               "-ppl TEXT)");
    const char *model_path = o.model, *heldout = o.heldout, *write_mix = o.write_mix;
    const char *const *mix_paths = o.mix;
    size_t n_mix = o.n_mix, mix_given = o.mix_given;
    const char *cache_arg = o.cache, *cache_lambda_arg = o.cache_lambda,
               *cache_reset = o.cache_reset;
    lambda_opt lam = o.lambda;
    int per_sentence = o.per_sentence, print_tokens = o.print_tokens, per_word = o.per_word;
    int threads = o.threads, digits = o.digits >= 0 ? o.digits : 2, progress = o.progress;
    int verify = o.verify, word_digits = o.digits;
    nglm_tok_options asked_tok = nglm_tok_options_default();
    const nglm_tok_options *asked = NULL;
    if (o.tokenize || o.lowercase) {
        nglm_error terr;
        if (o.tokenize && nglm_tok_mode_parse(o.tokenize, &asked_tok.mode, &terr) != 0)
            nglm_cli_die(NGLM_EXIT_USAGE, "--tokenize: %s", terr.msg);
        asked_tok.lowercase = o.lowercase;
        asked = &asked_tok;
    }
    size_t n_models = (model_path ? 1 : 0) + mix_given;
    if (!model_path && mix_given == 0)
        nglm_cli_die(NGLM_EXIT_USAGE, "--model FILE is required (see --help)");
    if (n_models > NGLM_LM_MIX_MAX)
        nglm_cli_die(NGLM_EXIT_USAGE, "a mixture of %zu models: at most %d (see --help)",
                     n_models, NGLM_LM_MIX_MAX);
    if (n_models == 1 && mix_given)
        nglm_cli_die(NGLM_EXIT_USAGE, "a mixture needs two models or more: --model A --mix B, "
                     "or --mix A --mix B (see --help)");
    if (first < argc - 1)
        nglm_cli_die(NGLM_EXIT_USAGE, "more than one TEXT given (see --help)");
    if (o.nbest && first < argc)
        nglm_cli_die(NGLM_EXIT_USAGE, "--nbest FILE is the text to score: give no TEXT too");
    if (o.nbest && (o.per_word || o.per_sentence || o.print_tokens || o.cache))
        nglm_cli_die(NGLM_EXIT_USAGE, "--nbest prints a score a hypothesis: it cannot go with "
                     "--%s", o.per_word ? "per-word" : o.per_sentence ? "per-sentence"
                     : o.print_tokens ? "print-tokens" : "cache");

    /* no TEXT: stdin, as KenLM's query reads it, unless it is a terminal */
    if (first == argc && !o.nbest && isatty(STDIN_FILENO))
        nglm_cli_die(NGLM_EXIT_USAGE, "no TEXT to evaluate: give a file, or pipe one in "
                     "(see --help)");
    const char *text = o.nbest ? o.nbest : first < argc ? argv[first] : "-";
    if (per_word && print_tokens)
        nglm_cli_die(NGLM_EXIT_USAGE, "--print-tokens scores nothing: it cannot go with "
                     "--per-word");
    const char *shown = text; /* --per-word reads the text twice: stdin is copied */
    text = nglm_cli_gunzipped(text, NULL); /* a .gz text is read uncompressed */
    if (heldout)
        heldout = nglm_cli_gunzipped(heldout, NULL);
    if (per_word && !print_tokens)
        text = nglm_cli_rereadable(text, NULL, "no TEXT on stdin (a terminal): pipe one in");
    if (!mix_given && lam.given)
        nglm_cli_die(NGLM_EXIT_USAGE, "--lambda is used only with --mix (see --help)");
    if (!mix_given && write_mix)
        nglm_cli_die(NGLM_EXIT_USAGE, "--write-mix is used only with --mix (see --help)");
    if (lam.is_auto && !heldout)
        nglm_cli_die(NGLM_EXIT_USAGE, "--lambda auto needs --heldout FILE (see --help)");
    cache_opts co;
    parse_cache(cache_arg, cache_lambda_arg, heldout, &co);
    if (cache_reset && !co.on)
        nglm_cli_die(NGLM_EXIT_USAGE, "--cache-reset goes with --cache (see --help)");
    co.reset = cache_reset;
    if (heldout && !lam.is_auto && !co.auto_kind && !co.auto_weights)
        nglm_cli_die(NGLM_EXIT_USAGE, "--heldout is used only with --lambda auto or a cache's "
                     "auto (see --help)");
    if (co.on && print_tokens)
        nglm_cli_die(NGLM_EXIT_USAGE, "--print-tokens scores nothing: it cannot go with --cache");
    if (heldout && strcmp(heldout, "-") == 0 && strcmp(text, "-") == 0)
        nglm_cli_die(NGLM_EXIT_USAGE, "--heldout and TEXT cannot both be '-' (stdin)");
    /* each model of a mixture reads the texts: stdin is copied first */
    if (mix_given && strcmp(text, "-") == 0 && !per_word)
        text = nglm_cli_rereadable(text, NULL, "no TEXT on stdin (a terminal): pipe one in");
    if (mix_given && heldout && strcmp(heldout, "-") == 0)
        heldout = nglm_cli_rereadable(heldout, NULL, "no --heldout text on stdin (a "
                                      "terminal): pipe one in");
    /* the same file twice among the models (--model and the --mix ones, by
     * any spelling or link) says nothing about the weights */
    for (size_t i = 0; i < n_mix; i++) {
        struct stat si, sj;
        if (stat(mix_paths[i], &si) != 0)
            continue;
        if (model_path && stat(model_path, &sj) == 0 && si.st_dev == sj.st_dev &&
            si.st_ino == sj.st_ino)
            nglm_cli_die(NGLM_EXIT_USAGE, "--mix %s: the same file as --model %s: give each "
                         "model once", mix_paths[i], model_path);
        for (size_t j = 0; j < i; j++)
            if (stat(mix_paths[j], &sj) == 0 && si.st_dev == sj.st_dev && si.st_ino == sj.st_ino)
                nglm_cli_die(NGLM_EXIT_USAGE, "--mix %s: the same file as --mix %s: give each "
                             "model once", mix_paths[i], mix_paths[j]);
    }
    if (write_mix)
        nglm_cli_check_writable(write_mix);

    nglm_error err;
    nglm_cli_meter meter;
    nglm_cli_meter_init(&meter, progress);
    nglm_lm *comps[NGLM_LM_MIX_MAX];
    size_t n = 0;
    if (model_path) {
        comps[n++] = lm_load(model_path, verify);
        lm_apply_tok(comps[0], asked);
    }
    if (print_tokens) {
        if (mix_given || per_sentence)
            nglm_cli_die(NGLM_EXIT_USAGE, "--print-tokens scores nothing: it cannot go with %s",
                         mix_given ? "--mix" : "--per-sentence");
        print_text_tokens(comps[0], text);
        nglm_lm_free(comps[0]);
        return 0;
    }
    for (size_t i = 0; i < n_mix; i++) {
        comps[n++] = lm_load(mix_paths[i], verify);
        lm_apply_tok(comps[n - 1], asked);
    }
    nglm_lm *x = comps[0];
    if (n > 1) {
        const double *w = lambda_weights(&lam, n);
        if (!(x = nglm_lm_mix_new(comps, w, n, &err)))
            nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
        char how[1100]; /* how the weights were chosen, for the first line */
        snprintf(how, sizeof how, "%s", lam.given ? "--lambda" : "default");
        if (lam.is_auto) {
            int iterations;
            nglm_corpus h;
            lm_read(x, heldout, &h, &meter);
            if (nglm_lm_mix_em(x, &h, threads, &iterations, &err) != 0)
                nglm_cli_die(NGLM_EXIT_FAIL, "%s: %s", heldout, err.msg);
            snprintf(how, sizeof how, "EM on %.1000s, %d iterations", heldout, iterations);
            nglm_corpus_free(&h);
        }
        print_weights(x, how);
        if (write_mix && nglm_lm_mix_save(x, write_mix, &err) != 0)
            nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
    } else if (nglm_lm_mix_size(x)) {
        char how[1100];
        snprintf(how, sizeof how, "recorded in %.1000s", model_path);
        print_weights(x, how);
    }
    char cache_how[1200];
    if (co.on)
        add_cache(&x, &co, threads, &meter, cache_how, sizeof cache_how);

    if (o.nbest) {
        score_nbest(x, text, shown, threads, digits, &meter);
        nglm_lm_free(x);
        return 0;
    }
    nglm_corpus corpus;
    nglm_eval_report r;
    if (co.on || per_word) {
        int *len = NULL;
        lm_read(x, text, &corpus, &meter);
        double *lt = lm_score10(x, &corpus, threads, &meter, per_word ? &len : NULL);
        if (co.on) {
            char name[96];
            nglm_cache_name(&co.spec, name, sizeof name);
            if (co.spec.bigram_length > 0)
                printf("cache: %s, weights %.6g and %.6g (%s)\n", name, co.spec.lambda,
                       co.spec.bigram_lambda, cache_how);
            else
                printf("cache: %s, weight %.6g (%s)\n", name, co.spec.lambda, cache_how);
        }
        if (per_word)
            print_per_word(x, text, &corpus, lt, len, word_digits);
        if (nglm_lm_report(&corpus, lt, per_sentence, &r, &err) != 0)
            nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
        free(lt);
        free(len);
    } else {
        lm_read(x, text, &corpus, &meter);
        nglm_progress p = nglm_cli_meter_begin(&meter, "scoring", "tokens", 1);
        if (nglm_lm_eval(x, &corpus, threads, per_sentence, &p, &r, &err) != 0)
            nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
        nglm_cli_meter_clear(&meter);
    }
    if (per_sentence)
        for (size_t s = 0; s < corpus.n_sents; s++) {
            size_t n, oov = 0;
            const int32_t *ids = nglm_corpus_sentence(&corpus, s, &n);
            for (size_t j = 0; j + 1 < n; j++) /* its words, not </s> */
                oov += ids[j] == NGLM_UNK;
            printf("sentence %zu: logprob= %.4f tokens= %zu oovs= %zu\n", s + 1,
                   r.sent_logprob10[s], n, oov);
        }
    nglm_eval_print_digits(stdout, strcmp(shown, "-") == 0 ? "(stdin)" : shown, &r, digits);
    if (fflush(stdout) != 0 || ferror(stdout))
        nglm_cli_die(NGLM_EXIT_FAIL, "error writing the report");
    warn_oov(x, &r);
    nglm_eval_report_free(&r);
    nglm_corpus_free(&corpus);
    nglm_lm_free(x);
    return 0;
}
