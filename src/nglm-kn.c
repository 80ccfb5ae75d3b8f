/*
 * nglm-kn — estimates an interpolated modified Kneser-Ney model as KenLM's
 * lmplz does, and writes it as ARPA and/or as an nglm model.
 *
 * Data flow: text → vocabulary → id stream → n-gram counts (the feature
 * index with every cutoff 1, nglm/features.h) → Kneser-Ney (nglm/kn.h) →
 * ARPA file (stdout by default) and, with --model, the same model as
 * softmax weights in nglm's format (nglm-eval scores both alike).  The
 * stages are the training pipeline's, stopped at Kneser-Ney
 * (src/pipeline_kn.h); this program parses, reports and names the text.
 *
 * lmplz's habits work: -o N, reading stdin, writing stdout, -S/--memory
 * (80% too), -T/--temp_prefix, --text, --arpa, --prune 0 0 1,
 * --discount_fallback, --interpolate_unigrams 0, --limit_vocab_file (here a
 * vocabulary, as --vocab); its options that tune its own memory or output
 * (--skip_symbols, --verbose_header, --vocab_estimate, ...) are accepted
 * and ignored, so that its command lines run.
 * The text is read twice (a vocabulary pass, then the id stream), so stdin
 * that is not a regular file is first copied to a temporary file in the
 * temporary directory.  Everything but the ARPA text goes to stderr.
 * Usage: nglm-kn --help.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "cli.h"
#include "config.h"
#include "nglm/arpa.h"
#include "nglm/corpus.h"
#include "nglm/entprune.h"
#include "nglm/kn.h"
#include "outputs.h"
#include "pipeline_kn.h"

typedef struct options {
    int order;
    const char *train, *arpa, *model, *temp_dir, *vocab, *limit_vocab;
    size_t memory;
    int ignored;                /* lmplz's options that change nothing here */
    int threads;
    nglm_tok_options tok;
    nglm_kn_options kn;
    int progress, quiet, force;
    double prune_entropy;       /* > 0: prune the estimate by relative entropy */
    int argc;                   /* the command line, for --prune 0 0 1's words */
    char **argv;
} options;

/* Non-option words after argv[optind - 1] that look like numbers, for
 * lmplz's multi-valued --prune 0 0 1 and --discount_fallback 0.5 1. */
static int numbers_follow(int argc, char **argv, int i)
{
    return i < argc && argv[i][0] != '-' && strspn(argv[i], "0123456789.,") == strlen(argv[i]);
}

/* --prune: "0 0 1" (several words) or "0,0,1"; thresholds by order from
 * the 1-grams, the last repeated for the longer orders. */
static int set_prune(const nglm_option *row, void *opts, const char *value, nglm_error *err)
{
    (void)row, (void)err;
    options *o = opts;
    uint64_t v[NGLM_MAX_ORDER + 1];
    int n = 0;
    for (const char *word = value;; word = o->argv[optind++]) {
        char buf[256];
        snprintf(buf, sizeof buf, "%s", word);
        for (char *tok = buf, *comma; tok; tok = comma ? comma + 1 : NULL) {
            comma = strchr(tok, ',');
            if (comma)
                *comma = '\0';
            if (n == NGLM_MAX_ORDER)
                nglm_cli_die(NGLM_EXIT_USAGE, "--prune: more values than orders");
            v[n++] = (uint64_t)nglm_cli_long("--prune", tok, 0, INT64_MAX);
        }
        if (!numbers_follow(o->argc, o->argv, optind))
            break;
    }
    for (int m = 1; m <= NGLM_MAX_ORDER; m++)
        o->kn.prune[m] = v[m - 1 < n ? m - 1 : n - 1];
    if (o->kn.prune[1] != 0)
        nglm_cli_die(NGLM_EXIT_USAGE, "--prune: the 1-gram threshold must be 0 (nglm-kn "
                     "keeps every word; the first value is for the 1-grams)");
    for (int m = 2; m <= NGLM_MAX_ORDER; m++)
        if (o->kn.prune[m] < o->kn.prune[m - 1])
            nglm_cli_die(NGLM_EXIT_USAGE, "--prune: values must not decrease with the order");
    return 0;
}

/* --discount-fallback with up to three optional values (the last repeated,
 * as lmplz does). */
static int set_fallback(const nglm_option *row, void *opts, const char *value,
                        nglm_error *err)
{
    (void)row, (void)value, (void)err;
    options *o = opts;
    o->kn.fallback = 1;
    double d[3];
    int n = 0;
    while (n < 3 && numbers_follow(o->argc, o->argv, optind))
        d[n++] = nglm_cli_double("--discount-fallback", o->argv[optind++], 0, 3);
    for (int j = 1; n > 0 && j <= 3; j++) {
        o->kn.fallback_d[j] = d[j - 1 < n ? j - 1 : n - 1];
        if (o->kn.fallback_d[j] > j)
            nglm_cli_die(NGLM_EXIT_USAGE, "--discount-fallback: D%d%s = %g is above %d", j,
                         j == 3 ? "+" : "", o->kn.fallback_d[j], j);
    }
    return 0;
}

static int set_prune_entropy(const nglm_option *row, void *opts, const char *value,
                             nglm_error *err)
{
    (void)row;
    options *o = opts;
    if (nglm_parse_double(value, -HUGE_VAL, HUGE_VAL, &o->prune_entropy, err) != 0)
        return -1;
    if (!(o->prune_entropy > 0))
        return nglm_error_set(err, "'%s' is not a positive number", value);
    return 0;
}

/* -S/--memory: a size (K, M, G) or, as lmplz takes it, a share of the
 * physical memory ("80%"), more than 0% and at most 100%. */
static int set_memory(const nglm_option *row, void *opts, const char *value, nglm_error *err)
{
    size_t *field = (size_t *)((char *)opts + row->offset);
    size_t len = strlen(value);
    if (len > 1 && value[len - 1] == '%') {
        char *end;
        errno = 0;
        double pct = strtod(value, &end);
        if (end != value + len - 1 || errno || !(pct > 0 && pct <= 100))
            return nglm_error_set(err, "'%s' is not a share of the memory above 0%% and at "
                                  "most 100%%", value);
        long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
        if (pages <= 0 || page <= 0)
            return nglm_error_set(err, "'%s': the physical memory is unknown here: give a "
                                  "size (K, M, G)", value);
        *field = (size_t)((double)pages * (double)page * pct / 100.0);
    } else {
        uint64_t u;
        if (nglm_parse_size(value, &u, err) != 0)
            return -1;
        *field = (size_t)u;
    }
    if (*field == 0)
        return nglm_error_set(err, "must be more than 0");
    return 0;
}

/* --interpolate_unigrams [0|1] (lmplz's spelling of a boolean; alone: 1):
 * 0 gives the 1-grams' left-over mass to <unk>, as SRILM does. */
static int set_interp_unigrams(const nglm_option *row, void *opts, const char *value,
                               nglm_error *err)
{
    (void)row, (void)value, (void)err;
    options *o = opts;
    o->kn.unk_unigram_mass = 0;
    if (optind < o->argc && o->argv[optind][0] != '-') {
        const char *v = o->argv[optind++];
        if (strcmp(v, "0") == 0 || strcmp(v, "false") == 0)
            o->kn.unk_unigram_mass = 1;
        else if (strcmp(v, "1") != 0 && strcmp(v, "true") != 0)
            nglm_cli_die(NGLM_EXIT_USAGE, "--interpolate_unigrams: '%s' is not 0, 1, false "
                         "or true", v);
    }
    return 0;
}

/* lmplz's options that tune its own memory use or output layout: a value
 * checked for form, nothing else (see the man page). */
static int set_ignored(const nglm_option *row, void *opts, const char *value, nglm_error *err)
{
    (void)opts;
    uint64_t u;
    if (row->arg && nglm_parse_size(value, &u, err) != 0)
        return -1;
    return 0;
}

/* a row names the fields it uses; the rest are zero */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#define FIELD(f) offsetof(options, f)
static const nglm_opt_choice tok_modes[] = {
    {"space", NGLM_TOK_SPACE}, {"word", NGLM_TOK_WORD}, {"char", NGLM_TOK_CHAR}, {NULL, 0}};
static const nglm_opt_choice progress_modes[] = {{"auto", NGLM_CLI_PROGRESS_AUTO},
                                                 {"always", NGLM_CLI_PROGRESS_ALWAYS},
                                                 {"never", NGLM_CLI_PROGRESS_NEVER},
                                                 {NULL, 0}};

#define LMPLZ "lmplz's options accepted and not needed (they change nothing)"

/* nglm-kn's options, in lmplz's spellings too (aliases, -o, -S, -T). */
static const nglm_option rows[] = {
    {"order", "N", "", "n-gram order, 1.." NGLM_STR(NGLM_MAX_ORDER) " (required)",
     NGLM_OPT_INT, FIELD(order), 1, NGLM_MAX_ORDER, NULL, NULL, 'o'},
    {"train", "FILE", "", "the text (also --text; default: stdin; gzip is read too)",
     NGLM_OPT_STRING, FIELD(train), 0, 0, NULL, NULL, 0, "text"},
    {"arpa", "FILE", "",
     "write the ARPA model here (gzip if FILE ends in .gz); default: stdout, unless "
     "--model is given",
     NGLM_OPT_STRING, FIELD(arpa)},
    {"model", "FILE", "",
     "also write it in nglm's format (for nglm-eval and nglm-sample; nglm-train --init kn "
     "starts from the same)",
     NGLM_OPT_STRING, FIELD(model)},
    {"prune", "N...", "",
     "leave out n-grams seen at most N times, one value per order from the 1-grams (which "
     "must be 0), the last repeated: --prune 0 0 1 or --prune 0,0,1 drops the 3-grams and "
     "longer seen once (not decreasing)",
     NGLM_OPT_CUSTOM, FIELD(kn.prune), 0, 0, NULL, set_prune},
    {"prune-entropy", "THETA", "",
     "then prune the model by relative entropy, as nglm-prune --threshold THETA "
     "--history-text with the training text does; the ARPA model only (no --model)",
     NGLM_OPT_CUSTOM, 0, 0, 0, NULL, set_prune_entropy},
    {"discount-fallback", NULL, "",
     "[D1 [D2 [D3+]]]: where a text is too small for the discount formula, use these "
     "discounts (default 0.5 1 1.5) instead of failing (also --discount_fallback)",
     NGLM_OPT_CUSTOM, FIELD(kn.fallback), 0, 0, NULL, set_fallback, 0, "discount_fallback"},
    {"memory", "SIZE", "",
     "memory for counting n-grams (K, M, G, or a share of the physical memory as lmplz "
     "takes it: 50%; default 1G); beyond it, sorted counts spill to the temporary directory",
     NGLM_OPT_CUSTOM, FIELD(memory), 0, 0, NULL, set_memory, 'S'},
    {"temp-dir", "DIR", "",
     "where counting spills and stdin is copied (default: $TMPDIR, else /tmp; also "
     "--temp_prefix)",
     NGLM_OPT_STRING, FIELD(temp_dir), 0, 0, NULL, NULL, 'T', "temp_prefix"},
    {"threads", "N", "", "threads (default: OMP_NUM_THREADS or all cores)",
     NGLM_OPT_INT, FIELD(threads), 1, 4096},
    {"vocab", "FILE", "",
     "use this vocabulary, as nglm-train --vocab (word<TAB>count per line, or one word per "
     "line): other words are counted as <unk>, so that a Kneser-Ney baseline has the "
     "vocabulary of an nglm-train model",
     NGLM_OPT_STRING, FIELD(vocab)},
    {"limit_vocab_file", "FILE", "",
     "lmplz's: the words allowed, separated by white space; here the vocabulary, as --vocab "
     "(other words become <unk> before counting, where lmplz counts them and then drops "
     "the n-grams that hold them)",
     NGLM_OPT_STRING, FIELD(limit_vocab)},
    {"interpolate_unigrams", NULL, "",
     "[0|1]: 1 (the default, as lmplz's): the 1-grams are interpolated with the uniform "
     "distribution; 0: their left-over mass goes to <unk>, as SRILM and lmplz "
     "--interpolate_unigrams 0 do",
     NGLM_OPT_CUSTOM, 0, 0, 0, NULL, set_interp_unigrams},
    {"tokenize", "MODE", "", "space (default), word or char, as nglm-train",
     NGLM_OPT_CHOICE, FIELD(tok.mode), 0, 0, tok_modes},
    {"lowercase", NULL, "", "fold case", NGLM_OPT_FLAG, FIELD(tok.lowercase)},
    {"replace-invalid", NULL, "", "replace invalid UTF-8 with U+FFFD instead of failing",
     NGLM_OPT_FLAG, FIELD(tok.replace_invalid)},
    {"progress", "MODE", "", "progress on stderr: auto, always or never",
     NGLM_OPT_CHOICE, FIELD(progress), 0, 0, progress_modes},
    {"quiet", NULL, "", "print nothing on stderr but errors", NGLM_OPT_FLAG, FIELD(quiet)},
    {"force", NULL, "",
     "replace an --arpa or --model file that is not an ARPA file or an nglm model",
     NGLM_OPT_FLAG, FIELD(force)},
    {"skip_symbols", NULL, LMPLZ,
     "<s> and </s> in the text are always passed over, and <unk> is the unknown word",
     NGLM_OPT_FLAG, FIELD(ignored)},
    {"verbose_header", NULL, LMPLZ,
     "the ARPA file has no header of counts and settings (the report on stderr says them)",
     NGLM_OPT_FLAG, FIELD(ignored)},
    {"vocab_estimate", "N", LMPLZ, "the vocabulary's table grows as needed",
     NGLM_OPT_CUSTOM, 0, 0, 0, NULL, set_ignored},
    {"vocab_pad", "N", LMPLZ, "for KenLM's binary format only",
     NGLM_OPT_CUSTOM, 0, 0, 0, NULL, set_ignored},
    {"minimum_block", "SIZE", LMPLZ, "-S alone sets the memory", NGLM_OPT_CUSTOM, 0, 0, 0,
     NULL, set_ignored},
    {"sort_block", "SIZE", LMPLZ, "as --minimum_block", NGLM_OPT_CUSTOM, 0, 0, 0, NULL,
     set_ignored},
    {"block_count", "N", LMPLZ, "as --minimum_block", NGLM_OPT_CUSTOM, 0, 0, 0, NULL,
     set_ignored},
};
#undef FIELD

static void usage(FILE *fp)
{
    nglm_cli_table t = {rows, sizeof rows / sizeof *rows, NULL};
    fprintf(fp,
        "Usage: nglm-kn -o N [OPTION]... [< TEXT] [> ARPA]\n"
        "Estimate an interpolated modified Kneser-Ney language model, as KenLM's\n"
        "lmplz does, from a text with one sentence per line.\n"
        "\n");
    nglm_options_help(fp, t.rows, t.n, "");
    fprintf(fp, "  -h, --help, --version\n" LMPLZ ":\n");
    nglm_options_help(fp, t.rows, t.n, LMPLZ);
    fprintf(fp,
        "\n"
        "Words are separated by spaces and tabs; a literal <unk> is the unknown word\n"
        "(an ordinary word for Kneser-Ney), literal <s> and </s> are ignored (all\n"
        "three are one token under every --tokenize mode), and blank lines are\n"
        "not training sentences, as in nglm-train (nglm-eval, like KenLM's query,\n"
        "scores a blank line of a text as a sentence of </s> alone).\n"
        "Exit status: 0 success, 1 failure (bad data, I/O, discounts that cannot be\n"
        "estimated), 2 bad usage.\n");
}

static void parse_args(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof *o);
    o->tok = nglm_tok_options_default();
    o->kn = nglm_kn_options_default();
    o->progress = NGLM_CLI_PROGRESS_AUTO;
    o->argc = argc;
    o->argv = argv;
    nglm_cli_table t = {rows, sizeof rows / sizeof *rows, o};
    int first = nglm_cli_parse(argc, argv, &t, 1, usage,
                               "nglm-kn takes -o N --train TEXT --arpa OUT, as lmplz does "
                               "(SRILM's ngram-count -order N -text TEXT -lm OUT)");
    if (first < argc)
        nglm_cli_die(NGLM_EXIT_USAGE, "unexpected argument '%s' (see --help)", argv[first]);
    if (o->order == 0)
        nglm_cli_die(NGLM_EXIT_USAGE, "the order is required: -o N (for instance -o 5)");
    if (o->quiet && o->progress == NGLM_CLI_PROGRESS_AUTO)
        o->progress = NGLM_CLI_PROGRESS_NEVER;
    if (!o->arpa && !o->model)
        o->arpa = "-";
    if (o->prune_entropy > 0 && o->model)
        nglm_cli_die(NGLM_EXIT_USAGE, "--prune-entropy writes the ARPA model only: a pruned "
                     "model need not list every n-gram's suffix, which --model needs");
    if (o->vocab && o->limit_vocab)
        nglm_cli_die(NGLM_EXIT_USAGE, "--vocab and --limit_vocab_file both give the "
                     "vocabulary: give one");
    if (o->threads == 0) {
#ifdef _OPENMP
        o->threads = omp_get_max_threads();
#else
        o->threads = 1;
#endif
    }
    o->kn.threads = o->threads;
}

/* ------------------------------------------------------------ stdin */

/* A path the text can be read from twice (nglm_cli_rereadable). */
static const char *text_path(const options *o)
{
    return nglm_cli_rereadable(o->train ? o->train : "-", o->temp_dir,
                               "no text: give --train FILE or a text on stdin "
                               "(nglm-kn -o 5 < text > text.arpa)");
}

/* ------------------------------------------------------------ vocabulary */

/* --limit_vocab_file's words (white-space separated, any number a line) as
 * a word list that --vocab reads, one word a line, in a temporary file of
 * temp_dir; its path in out (the caller removes it).  An empty list is an
 * error: every word of the text would be <unk>. */
static void limit_vocab_list(const char *path, const char *temp_dir, char *out, size_t n)
{
    FILE *in = fopen(path, "rb");
    if (!in)
        nglm_cli_die(NGLM_EXIT_FAIL, "--limit_vocab_file: %s: %s", path, strerror(errno));
    const char *dir = temp_dir ? temp_dir : getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    if (snprintf(out, n, "%s/nglm-kn-vocab.XXXXXX", dir) >= (int)n)
        nglm_cli_die(NGLM_EXIT_USAGE, "--temp-dir: path too long");
    int fd = mkstemp(out);
    FILE *w = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!w)
        nglm_cli_die(NGLM_EXIT_FAIL, "cannot create a temporary file in %s: %s", dir,
                     strerror(errno));
    char *line = NULL;
    size_t cap = 0, words = 0;
    while (getline(&line, &cap, in) >= 0) {
        char *save = NULL;
        for (char *t = strtok_r(line, " \t\r\n\v\f", &save); t;
             t = strtok_r(NULL, " \t\r\n\v\f", &save)) {
            fprintf(w, "%s\n", t);
            words += strcmp(t, NGLM_BOS_STR) && strcmp(t, NGLM_EOS_STR) && strcmp(t, NGLM_UNK_STR);
        }
    }
    int bad = ferror(in);
    free(line);
    fclose(in);
    if (fclose(w) != 0 || bad) {
        unlink(out);
        nglm_cli_die(NGLM_EXIT_FAIL, "--limit_vocab_file: %s: %s", path,
                     bad ? "read error" : "cannot write its copy");
    }
    if (words == 0) {
        unlink(out);
        nglm_cli_die(NGLM_EXIT_FAIL, "--limit_vocab_file: %s lists no words (every word of "
                     "the text would be <unk>)", path);
    }
}

/* ------------------------------------------------------------ main */

/* Dies with a library message about the text, naming it as the user knows
 * it ("stdin" for /dev/stdin or the copy of a pipe). */
static void die_text(const nglm_error *err, const char *path, const char *name)
{
    size_t n = strlen(path);
    if (strcmp(path, name) != 0 && strncmp(err->msg, path, n) == 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s%s", name, err->msg + n);
    nglm_cli_die(NGLM_EXIT_FAIL, "%s", err->msg);
}

/* The pipeline's long stages feed the meter (cli.h). */
static nglm_progress stage_begin(const char *what, const char *unit, double scale, void *user)
{
    return nglm_cli_meter_begin(user, what, unit, scale);
}

static void stage_end(void *user) { nglm_cli_meter_clear(user); }

/* --prune-entropy: the estimate written to tmp pruned into out, the
 * histories' probabilities from the text (doc/model.md §9). */
static int prune_entropy(const char *tmp, const char *text, const char *out, double theta,
                         uint64_t *kept, nglm_error *err)
{
    nglm_arpa *a = nglm_arpa_load(tmp, err);
    if (!a)
        return -1;
    nglm_tok_options tok = nglm_arpa_tok(a);
    nglm_corpus c;
    nglm_entprune *p = NULL;
    int rc = -1;
    if (nglm_corpus_read(&c, text, &tok, nglm_arpa_vocab(a), err) == 0) {
        p = nglm_entprune_new(a, &c, err);
        nglm_corpus_free(&c);
    }
    if (p && nglm_entprune_apply(p, theta, err) == 0 &&
        nglm_entprune_save(p, out, 10, err) == 0) {
        rc = 0;
        *kept = 0;
        for (int k = 1; k <= nglm_entprune_order(p); k++)
            *kept += nglm_entprune_kept(p, k);
    }
    nglm_entprune_free(p);
    nglm_arpa_free(a);
    return rc;
}

/* What was read, estimated and written, on stderr. */
static void report(const options *o, const char *name, const nglm_pipeline_kn_result *r,
                   double t0)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    fprintf(stderr, "%s: %s: %zu sentences, %llu words, %llu tokens, vocabulary %d "
            "(specials included)\n", nglm_cli_prog(), name, r->n_sents,
            (unsigned long long)r->n_words, (unsigned long long)r->n_tokens, (int)r->V);
    const nglm_kn *kn = &r->kn;
    for (int m = 1; m <= o->order; m++) {
        char of[48] = "";
        if (r->seen[m] != kn->count[m])
            snprintf(of, sizeof of, " (of %llu)", (unsigned long long)r->seen[m]);
        fprintf(stderr, "%d-grams %llu%s  D1 %.6g  D2 %.6g  D3+ %.6g%s\n", m,
                (unsigned long long)kn->count[m], of, kn->D[m][1], kn->D[m][2], kn->D[m][3],
                kn->fallback_used[m] ? "  (fallback)" : "");
    }
    fprintf(stderr, "%s: wrote", nglm_cli_prog());
    if (o->arpa)
        fprintf(stderr, " %s", strcmp(o->arpa, "-") == 0 ? "the ARPA model to stdout" : o->arpa);
    if (o->model)
        fprintf(stderr, "%s%s", o->arpa ? " and " : " ", o->model);
    fprintf(stderr, ": %.2f s, peak RSS %ld MB\n", nglm_wall_seconds() - t0, ru.ru_maxrss / 1024);
}

int main(int argc, char **argv)
{
    nglm_cli_set_prog(argv[0]);
    options o;
    parse_args(argc, argv, &o);
    const nglm_out_file in[] = {{"--train", o.train, NGLM_OUT_NEW}};
    const nglm_out_file out[] = {{"--arpa", o.arpa, NGLM_OUT_ARPA},
                                 {"--model", o.model, NGLM_OUT_MODEL}};
    nglm_out_check(in, 1, out, 2, o.force);
    nglm_cli_meter meter;
    nglm_cli_meter_init(&meter, o.progress);
    nglm_error err;
    double t0 = nglm_wall_seconds();
    const char *path = nglm_cli_gunzipped(text_path(&o), o.temp_dir); /* .gz: uncompressed */
    const char *name = o.train && strcmp(o.train, "-") != 0 ? o.train : "stdin";

    nglm_pipeline_options po = nglm_pipeline_options_default();
    po.train = path;
    po.train_name = name;
    po.tok = o.tok;
    char limit_path[4200] = "";
    if (o.limit_vocab)
        limit_vocab_list(o.limit_vocab, o.temp_dir, limit_path, sizeof limit_path);
    po.vocab = o.limit_vocab ? limit_path : o.vocab;
    po.order = o.order;
    po.order_auto = 0;
    po.n_skip = 0;
    po.count_memory = o.memory;
    po.temp_dir = o.temp_dir;
    po.tr.threads = o.threads;
    po.stage_begin = stage_begin;
    po.stage_end = stage_end;
    po.user = &meter;
    nglm_pipeline P;
    if (nglm_pipeline_init(&P, &po, &err) != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
    int vocab_rc = nglm_pipeline_vocab(&P, &err);
    if (*limit_path)
        unlink(limit_path);
    if (vocab_rc != 0 && o.limit_vocab)
        nglm_cli_die(NGLM_EXIT_FAIL, "--limit_vocab_file %s: %s", o.limit_vocab, err.msg);
    if (vocab_rc != 0 && o.vocab)
        nglm_cli_die(NGLM_EXIT_FAIL, "--vocab: %s", err.msg);
    if (vocab_rc != 0 || nglm_pipeline_kn_text(&P, &err) != 0)
        die_text(&err, path, name);
    if (o.prune_entropy == 0)
        nglm_cli_rereadable_done();
    nglm_pipeline_kn_result r;
    if (nglm_pipeline_kn(&P, &o.kn, &r, &err) != 0) /* the library names no option */
        nglm_cli_die(NGLM_EXIT_FAIL, "%s%s", err.msg,
                     !o.kn.fallback && strstr(err.msg, "fallback to fixed discounts")
                         ? " (--discount-fallback)" : "");
    /* the report is printed once everything is written, so that a failure
     * prints its one line only */
    uint64_t kept = 0;
    if (o.prune_entropy > 0) {
        char tmp[4096];
        const char *dir = o.temp_dir ? o.temp_dir : getenv("TMPDIR");
        snprintf(tmp, sizeof tmp, "%s/nglm-kn.XXXXXX", dir && *dir ? dir : "/tmp");
        int fd = mkstemp(tmp);
        if (fd < 0)
            nglm_cli_die(NGLM_EXIT_FAIL, "%s: cannot create a temporary file", tmp);
        close(fd);
        int rc = nglm_pipeline_kn_save(&P, &r, tmp, NULL, &err);
        if (rc == 0)
            rc = prune_entropy(tmp, path, o.arpa, o.prune_entropy, &kept, &err);
        unlink(tmp);
        nglm_cli_rereadable_done();
        if (rc != 0)
            nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
    } else if (nglm_pipeline_kn_save(&P, &r, o.arpa, o.model, &err) != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
    nglm_pipeline_free(&P);
    if (!o.quiet)
        report(&o, name, &r, t0);
    if (!o.quiet && o.prune_entropy > 0)
        fprintf(stderr, "%s: pruned by relative entropy at %g: %llu n-grams kept\n",
                nglm_cli_prog(), o.prune_entropy, (unsigned long long)kept);
    nglm_pipeline_kn_result_free(&r);
    return 0;
}
