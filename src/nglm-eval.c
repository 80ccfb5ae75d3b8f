/*
 * nglm-eval — perplexity of a text under a trained model, reported like
 * SRILM's `ngram -ppl` (see nglm/eval.h), or of the linear interpolation of
 * two models (--mix, see nglm/mix.h).  Usage: nglm-eval --help.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "nglm/arpa.h"
#include "nglm/cache.h"
#include "nglm/corpus.h"
#include "nglm/eval.h"
#include "nglm/mix.h"
#include "nglm/model.h"
#include "nglm/modelfile.h"

static void usage(FILE *fp)
{
    fprintf(fp,
        "Usage: nglm-eval --model FILE [OPTION]... TEXT\n"
        "Report the perplexity of TEXT ('-' = stdin) under an nglm model.\n"
        "\n"
        "  --model FILE        the model: written by nglm-train, or an ARPA file\n"
        "                      (plain or gzip; nglm-export's, KenLM's, SRILM's)\n"
        "  --digits N          decimals of logprob, ppl and ppl1 (default 2)\n"
        "  --per-sentence      also print each sentence's log10 probability:\n"
        "                      'sentence N: logprob= X tokens= T' (N: the line, T with\n"
        "                      </s>; a blank line is a sentence, its </s> alone)\n"
        "  --per-word          also print every token, a line a sentence, as KenLM's\n"
        "                      query does: 'word=ID N LOG10P' (N: the n-gram order\n"
        "                      used) for each word and </s>, then 'Total: X OOV: N'\n"
        "  --print-tokens      print TEXT as the model reads it, one sentence per line,\n"
        "                      tokens separated by single spaces, and score nothing\n"
        "                      (what other tools must be given to see the same tokens)\n"
        "  --verify            check an nglm model's checksum and whole index before\n"
        "                      scoring (reads the whole file; by default only what the\n"
        "                      lookups need is checked, so a damaged weight gives a\n"
        "                      wrong score instead of an error)\n"
        "  --threads N         OpenMP threads (default: OMP_NUM_THREADS or all cores)\n"
        "  --progress MODE     reading and scoring progress on stderr: auto (default:\n"
        "                      redrawn on a terminal, a line every 5 s otherwise),\n"
        "                      always (a line at every step), never\n"
        "  -h, --help, --version\n"
        "Mixing (linear interpolation L*P_A + (1-L)*P_B, as SRILM's -mix-lm):\n"
        "  --mix FILE          model B (nglm or ARPA); --model is model A\n"
        "  --lambda L          weight L of model A, 0..1 (default 0.5), or 'auto':\n"
        "                      the weight that maximises the likelihood of --heldout,\n"
        "                      found by EM (SRILM's compute-best-mix)\n"
        "  --heldout FILE      held-out text for --lambda auto and the cache's auto\n"
        "Cache (the recent past of TEXT, mixed in exactly; never on by default):\n"
        "  --cache SPEC        decay:L (words weighted by exp(-age/L)) or window:N (the\n"
        "                      last N words), maybe with ,bigram:L (a decayed cache of\n"
        "                      each word's followers); auto: chosen on --heldout;\n"
        "                      model: the one nglm-train --eval-cache recorded\n"
        "  --cache-lambda W    the cache's weight, W1,W2 with a bigram cache (default\n"
        "                      0.1 and 0.05), or auto: by EM on --heldout\n"
        "  --cache-reset WORD  a line holding only WORD (a document boundary such as\n"
        "                      <doc>, a word of the model) empties the cache too\n"
        "  The held-out text is read in its own order with its own cache; a blank\n"
        "  line empties the cache.  A first line 'cache: SPEC, weights W (how)'.\n"
        "Each model reads TEXT with its own tokenizer and vocabulary; both must\n"
        "find the same tokens (TEXT cannot be '-' then).  A token either model\n"
        "skips (an OOV of an ARPA model without <unk>) is skipped and counted as an\n"
        "OOV.  A first line 'mixture weight: L (how it was chosen)' is printed.\n"
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

/* ---------------------------------------------------------------- models */

/* A model as loaded: native, or an ARPA file (told apart by content). */
typedef struct lm {
    nglm_model m;
    nglm_arpa *arpa;
} lm;

/* A native model is mapped (nglm_model_map): only what scoring touches is
 * read; verify also checks its CRC and whole index (--verify). */
static void lm_load(lm *x, const char *path, int verify)
{
    memset(x, 0, sizeof *x);
    x->arpa = nglm_cli_load_model(path, &x->m, verify ? NGLM_MAP_VERIFY : 0);
}

/* How x reads text: a native model's options, or what an ARPA file says. */
static nglm_tok_options lm_tok(const lm *x)
{
    return x->arpa ? nglm_arpa_tok(x->arpa) : x->m.tok;
}

/* --print-tokens: text as x's tokenizer splits it, a sentence a line. */
static void print_text_tokens(const lm *x, const char *text)
{
    nglm_error err;
    nglm_tok_options tok = lm_tok(x);
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

/* Reads text with the model's own tokenizer and vocabulary, showing its
 * progress on the meter. */
static void lm_read(const lm *x, const char *text, nglm_corpus *c, nglm_cli_meter *meter)
{
    nglm_error err;
    nglm_tok_options tok = lm_tok(x);
    tok.keep_blank = 1; /* a sentence a line, as KenLM's query reads a text */
    char what[128];
    snprintf(what, sizeof what, "reading %.100s", text);
    nglm_progress p = nglm_cli_meter_begin(meter, what, "MB", 1e-6);
    if (nglm_corpus_read_progress(c, text, &tok, x->arpa ? nglm_arpa_vocab(x->arpa) : x->m.vocab,
                                  &p, &err) != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
    nglm_cli_meter_clear(meter);
}

/* log10 P of every token of c (read by lm_read), NAN for a token the model
 * skips (nglm/mix.h); malloc'd. */
static double *lm_score10(const lm *x, const nglm_corpus *c, int threads,
                          nglm_cli_meter *meter)
{
    nglm_error err;
    double *lp = malloc((c->n_tokens ? c->n_tokens : 1) * sizeof *lp);
    if (!lp)
        nglm_cli_die(NGLM_EXIT_FAIL, "out of memory scoring %zu tokens", c->n_tokens);
    if (!x->arpa) {
        nglm_progress p = nglm_cli_meter_begin(meter, "scoring", "tokens", 1);
        if (nglm_model_score_corpus10(&x->m, c, lp, threads, &p, &err) != 0)
            nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
        nglm_cli_meter_clear(meter);
        return lp;
    }
    if (nglm_arpa_score_corpus(x->arpa, c, lp, &err) != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
    return lp;
}

static void lm_free(lm *x)
{
    nglm_model_free(&x->m);
    nglm_arpa_free(x->arpa);
}

/* Reads path with both models and scores it with each (dies if the two
 * readings differ). */
static void mix_score(const lm *a, const lm *b, const char *path, int threads,
                      nglm_cli_meter *meter, nglm_corpus *ca, nglm_corpus *cb, double **la,
                      double **lb)
{
    nglm_error err;
    lm_read(a, path, ca, meter);
    lm_read(b, path, cb, meter);
    if (nglm_mix_check_texts(ca, cb, &err) != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s: %s", path, err.msg);
    *la = lm_score10(a, ca, threads, meter);
    *lb = lm_score10(b, cb, threads, meter);
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

/* The words a model's ids run over. */
static int32_t lm_vocab_size(const lm *x)
{
    return (int32_t)nglm_vocab_size(x->arpa ? nglm_arpa_vocab(x->arpa) : x->m.vocab);
}

/* path read by model a (and b, mixed with weight lambda): a's reading in
 * *ca, b's in *cb when b, the per-token log10 probabilities returned. */
static double *score_text(const lm *a, const lm *b, double lambda, const char *path,
                          int threads, nglm_cli_meter *meter, nglm_corpus *ca, nglm_corpus *cb)
{
    if (!b) {
        lm_read(a, path, ca, meter);
        return lm_score10(a, ca, threads, meter);
    }
    double *la, *lb;
    mix_score(a, b, path, threads, meter, ca, cb, &la, &lb);
    for (size_t t = 0; t < ca->n_tokens; t++)
        la[t] = nglm_mix_logprob10(la[t], lb[t], lambda);
    free(lb);
    return la;
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

/* --per-word: every token of c (text read again for its surface words) as
 * KenLM's query prints it, a line a sentence: "word=ID LENGTH LOG10P" for
 * each word and </s> (LENGTH: the n-gram order that fired in model a;
 * LOG10P: lp10, the score reported), then "Total: X OOV: N". */
static void print_per_word(const lm *a, const char *text, const nglm_corpus *c,
                           const double *lp10, int digits)
{
    nglm_error err;
    nglm_tok_options tok = lm_tok(a);
    tok.keep_blank = 1;
    nglm_tokenizer *t = nglm_tokenizer_open(text, &tok, &err);
    if (!t)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
    for (size_t s = 0; s < c->n_sents; s++) {
        char **w;
        size_t n, len;
        if (nglm_tokenizer_next(t, &w, &n, &err) <= 0)
            nglm_cli_die(NGLM_EXIT_FAIL, "%s: the text changed while it was read", text);
        const int32_t *sent = nglm_corpus_sentence(c, s, &len);
        double total = 0;
        int oov = 0;
        size_t k = 0;
        for (size_t j = 0; j <= n && k < len; j++) {
            const char *word = j < n ? w[j] : NGLM_EOS_STR;
            if (j < n && (strcmp(word, NGLM_BOS_STR) == 0 || strcmp(word, NGLM_EOS_STR) == 0))
                continue; /* literal markers are not tokens (nglm/corpus.h) */
            int order;
            if (a->arpa)
                nglm_arpa_logprob10_len(a->arpa, sent, k, &order);
            else
                order = nglm_model_ngram_length(&a->m, sent, k);
            double lp = lp10[c->start[s] + k];
            printf("%s=%d %d %.*f\t", word, (int)sent[k], order, digits, lp);
            if (isfinite(lp))
                total += lp;
            oov += sent[k] == NGLM_UNK && strcmp(word, NGLM_UNK_STR) != 0;
            k++;
        }
        printf("Total: %.*f OOV: %d\n", digits, total, oov);
    }
    nglm_tokenizer_close(t);
}

/* The text scored token by token: with the cache of co (its kind and
 * weights chosen on the held-out text first if asked; the 'cache:' line
 * printed) when co->on, with --per-word lines when per_word; fills the
 * report. */
static void token_eval(const lm *a, const lm *b, double lambda, const char *text,
                       cache_opts *co, int per_word, int digits, int threads, int per_sentence,
                       nglm_cli_meter *meter, nglm_corpus *corpus, nglm_eval_report *r)
{
    nglm_error err;
    int32_t V = lm_vocab_size(a);
    char how[1200] = "default weights";
    if (co->from_model) {
        if (a->arpa || !a->m.has_cache)
            nglm_cli_die(NGLM_EXIT_USAGE, "--cache model: the model records no cache "
                         "(nglm-train --eval-cache auto records one)");
        co->spec = a->m.cache;
        snprintf(how, sizeof how, "recorded in the model");
    }
    if (co->reset) {
        const nglm_vocab *v = a->arpa ? nglm_arpa_vocab(a->arpa) : a->m.vocab;
        int32_t id = nglm_vocab_find(v, co->reset);
        if (id < NGLM_NUM_SPECIAL)
            nglm_cli_die(NGLM_EXIT_USAGE, "--cache-reset: '%s' is not a word of the model's "
                         "vocabulary", co->reset);
        co->spec.reset_word = id;
    }
    if (co->set_weights)
        snprintf(how, sizeof how, "--cache-lambda");
    if (co->on && co->auto_weights) {
        nglm_corpus ha, hb;
        double *lh = score_text(a, b, lambda, co->heldout, threads, meter, &ha, &hb);
        if (co->auto_kind) {
            double ppl;
            if (nglm_cache_choose(&ha, V, lh, &co->spec, &ppl, &err) != 0)
                nglm_cli_die(NGLM_EXIT_FAIL, "%s: %s", co->heldout, err.msg);
            snprintf(how, sizeof how, "chosen on %.1000s: held-out ppl %.2f", co->heldout, ppl);
        } else {
            double *c1, *c2;
            int it;
            cache_probs(&co->spec, &ha, V, &c1, &c2);
            if (nglm_cache_em(&co->spec, lh, c1, c2, ha.n_tokens, 1e-6, 100000, &it, &err) != 0)
                nglm_cli_die(NGLM_EXIT_FAIL, "%s: %s", co->heldout, err.msg);
            snprintf(how, sizeof how, "EM on %.1000s, %d iterations", co->heldout, it);
            free(c1);
            free(c2);
        }
        free(lh);
        nglm_corpus_free(&ha);
        if (b)
            nglm_corpus_free(&hb);
    }
    nglm_corpus cb;
    double *lt = score_text(a, b, lambda, text, threads, meter, corpus, &cb);
    if (co->on) {
        if (nglm_cache_apply(&co->spec, corpus, V, lt, &err) != 0)
            nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
        char name[96];
        nglm_cache_name(&co->spec, name, sizeof name);
        if (co->spec.bigram_length > 0)
            printf("cache: %s, weights %.6g and %.6g (%s)\n", name, co->spec.lambda,
                   co->spec.bigram_lambda, how);
        else
            printf("cache: %s, weight %.6g (%s)\n", name, co->spec.lambda, how);
    }
    if (per_word)
        print_per_word(a, text, corpus, lt, digits > 4 ? digits : 4);
    /* the report of these token scores (a mixture's: of both readings) */
    if (nglm_eval_tokens(corpus, b ? &cb : NULL, lt, per_sentence, r, &err) != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
    free(lt);
    if (b)
        nglm_corpus_free(&cb);
}

int main(int argc, char **argv)
{
    nglm_cli_set_prog(argv[0]);
    enum { O_MODEL = 256, O_PERSENT, O_TOKENS, O_THREADS, O_DIGITS, O_MIX, O_LAMBDA, O_HELDOUT,
           O_HELP, O_VERSION, O_PROGRESS, O_CACHE, O_CACHE_LAMBDA, O_CACHE_RESET, O_PERWORD,
           O_VERIFY };
    static const struct option longopts[] = {
        {"model", 1, 0, O_MODEL}, {"per-sentence", 0, 0, O_PERSENT},
        {"print-tokens", 0, 0, O_TOKENS}, {"cache", 1, 0, O_CACHE},
        {"per-word", 0, 0, O_PERWORD}, {"verify", 0, 0, O_VERIFY},
        {"cache-lambda", 1, 0, O_CACHE_LAMBDA}, {"cache-reset", 1, 0, O_CACHE_RESET},
        {"threads", 1, 0, O_THREADS}, {"digits", 1, 0, O_DIGITS}, {"mix", 1, 0, O_MIX},
        {"lambda", 1, 0, O_LAMBDA}, {"heldout", 1, 0, O_HELDOUT}, {"help", 0, 0, O_HELP},
        {"version", 0, 0, O_VERSION}, {"progress", 1, 0, O_PROGRESS}, {0, 0, 0, 0}};
    const char *model_path = NULL, *mix_path = NULL, *lambda_arg = NULL, *heldout = NULL;
    const char *cache_arg = NULL, *cache_lambda_arg = NULL, *cache_reset = NULL;
    double lambda = 0.5;
    int per_sentence = 0, print_tokens = 0, per_word = 0, threads = 0, digits = 2, progress = NGLM_CLI_PROGRESS_AUTO, c;
    int verify = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case O_MODEL: model_path = optarg; break;
        case O_PERSENT: per_sentence = 1; break;
        case O_TOKENS: print_tokens = 1; break;
        case O_PERWORD: per_word = 1; break;
        case O_VERIFY: verify = 1; break;
        case O_CACHE: cache_arg = optarg; break;
        case O_CACHE_LAMBDA: cache_lambda_arg = optarg; break;
        case O_CACHE_RESET: cache_reset = optarg; break;
        case O_THREADS: threads = (int)nglm_cli_long("--threads", optarg, 1, 4096); break;
        case O_DIGITS: digits = (int)nglm_cli_long("--digits", optarg, 0, 17); break;
        case O_MIX: mix_path = optarg; break;
        case O_LAMBDA:
            lambda_arg = optarg;
            if (strcmp(optarg, "auto") != 0)
                lambda = nglm_cli_double("--lambda", optarg, 0, 1);
            break;
        case O_HELDOUT: heldout = optarg; break;
        case O_PROGRESS: progress = nglm_cli_progress_mode(optarg); break;
        case 'h':
        case O_HELP: usage(stdout); return 0;
        case O_VERSION: printf("nglm-eval (nglm) %s\n", PACKAGE_VERSION); return 0;
        default:
            nglm_cli_bad_option(c, argc, argv, "nglm-eval takes --model FILE TEXT... "
                                "(SRILM's -lm FILE -ppl TEXT)");
        }
    }
    if (!model_path)
        nglm_cli_die(NGLM_EXIT_USAGE, "--model FILE is required (see --help)");
    if (optind != argc - 1)
        nglm_cli_die(NGLM_EXIT_USAGE, optind == argc ? "no TEXT to evaluate (see --help)"
                                                     : "more than one TEXT given (see --help)");
    const char *text = argv[optind];
    if (per_word && print_tokens)
        nglm_cli_die(NGLM_EXIT_USAGE, "--print-tokens scores nothing: it cannot go with "
                     "--per-word");
    const char *shown = text; /* --per-word reads the text twice: stdin is copied */
    if (per_word && !print_tokens)
        text = nglm_cli_rereadable(text, NULL, "no TEXT on stdin (a terminal): pipe one in");
    int auto_lambda = lambda_arg && strcmp(lambda_arg, "auto") == 0;
    if (!mix_path && lambda_arg)
        nglm_cli_die(NGLM_EXIT_USAGE, "--lambda is used only with --mix (see --help)");
    if (auto_lambda && !heldout)
        nglm_cli_die(NGLM_EXIT_USAGE, "--lambda auto needs --heldout FILE (see --help)");
    cache_opts co;
    parse_cache(cache_arg, cache_lambda_arg, heldout, &co);
    if (cache_reset && !co.on)
        nglm_cli_die(NGLM_EXIT_USAGE, "--cache-reset goes with --cache (see --help)");
    co.reset = cache_reset;
    if (heldout && !auto_lambda && !co.auto_kind && !co.auto_weights)
        nglm_cli_die(NGLM_EXIT_USAGE, "--heldout is used only with --lambda auto or a cache's "
                     "auto (see --help)");
    if (co.on && print_tokens)
        nglm_cli_die(NGLM_EXIT_USAGE, "--print-tokens scores nothing: it cannot go with --cache");
    if (mix_path && (strcmp(text, "-") == 0 || (heldout && strcmp(heldout, "-") == 0)))
        nglm_cli_die(NGLM_EXIT_USAGE, "with --mix, texts cannot be '-': each model "
                                      "reads them (see --help)");

    nglm_error err;
    nglm_cli_meter meter;
    nglm_cli_meter_init(&meter, progress);
    lm a, b;
    lm_load(&a, model_path, verify);
    if (print_tokens) {
        if (mix_path || per_sentence)
            nglm_cli_die(NGLM_EXIT_USAGE, "--print-tokens scores nothing: it cannot go with %s",
                         mix_path ? "--mix" : "--per-sentence");
        print_text_tokens(&a, text);
        lm_free(&a);
        return 0;
    }
    memset(&b, 0, sizeof b);
    nglm_corpus corpus;
    nglm_eval_report r;
    if (mix_path) {
        lm_load(&b, mix_path, verify);
        nglm_corpus ca, cb;
        double *la, *lb;
        char how[1100]; /* how the weight was chosen, for the first line */
        snprintf(how, sizeof how, "%s", lambda_arg ? "--lambda" : "default");
        if (auto_lambda) {
            int iterations;
            mix_score(&a, &b, heldout, threads, &meter, &ca, &cb, &la, &lb);
            if (nglm_mix_em(la, lb, ca.n_tokens, NGLM_MIX_EM_TOL, NGLM_MIX_EM_MAX_ITER,
                            &lambda, &iterations, &err) != 0)
                nglm_cli_die(NGLM_EXIT_FAIL, "%s: %s", heldout, err.msg);
            snprintf(how, sizeof how, "EM on %.1000s, %d iterations", heldout, iterations);
            free(la);
            free(lb);
            nglm_corpus_free(&ca);
            nglm_corpus_free(&cb);
        }
        printf("mixture weight: %.6g (%s)\n", lambda, how);
        if (co.on || per_word) {
            token_eval(&a, &b, lambda, text, &co, per_word, digits, threads, per_sentence, &meter,
                       &corpus, &r);
        } else {
            mix_score(&a, &b, text, threads, &meter, &corpus, &cb, &la, &lb);
            if (nglm_mix_eval(&corpus, &cb, la, lb, lambda, per_sentence, &r, &err) != 0)
                nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
            free(la);
            free(lb);
            nglm_corpus_free(&cb);
        }
    } else if (co.on || per_word) {
        token_eval(&a, NULL, 1.0, text, &co, per_word, digits, threads, per_sentence, &meter,
                   &corpus, &r);
    } else {
        lm_read(&a, text, &corpus, &meter);
        nglm_progress p = nglm_cli_meter_begin(&meter, "scoring", "tokens", 1);
        if ((a.arpa ? nglm_arpa_eval_corpus(a.arpa, &corpus, per_sentence, &r, &err)
                    : nglm_eval_corpus_progress(&a.m, &corpus, threads, per_sentence, &p, &r,
                                                &err)) != 0)
            nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
        nglm_cli_meter_clear(&meter);
    }
    if (per_sentence)
        for (size_t s = 0; s < corpus.n_sents; s++)
            printf("sentence %zu: logprob= %.4f tokens= %zu\n", s + 1, r.sent_logprob10[s],
                   corpus.start[s + 1] - corpus.start[s]);
    nglm_eval_print_digits(stdout, strcmp(shown, "-") == 0 ? "(stdin)" : shown, &r, digits);
    if (fflush(stdout) != 0 || ferror(stdout))
        nglm_cli_die(NGLM_EXIT_FAIL, "error writing the report");
    nglm_eval_report_free(&r);
    nglm_corpus_free(&corpus);
    lm_free(&a);
    lm_free(&b);
    return 0;
}
