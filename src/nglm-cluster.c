/*
 * nglm-cluster — clusters the words of a text into classes by the exchange
 * algorithm (nglm/cluster.h) and writes the class file.
 *
 * Data flow: text → vocabulary (counted, or --vocab) → id stream →
 * exchange clustering → "word<TAB>class" lines (or mkcls's form).  With
 * --init FILE the clustering starts from a class file (nglm's, mkcls's or
 * Brown clustering's paths); --passes 0 then only converts it and reports
 * its class bigram perplexity.  Each pass prints its perplexity on stderr.
 * Usage: nglm-cluster --help.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "cli.h"
#include "config.h"
#include "nglm/cluster.h"
#include "nglm/corpus.h"
#include "nglm/progress.h"
#include "nglm/vocab.h"
#include "outputs.h"

typedef struct options {
    int classes, passes, threads, quiet, force, skip_unknown;
    double min_gain;
    const char *train, *output, *init, *vocab;
    int format, init_format; /* nglm_classes_format */
    nglm_tok_options tok;
} options;

static int set_tokenize(const nglm_option *row, void *opts, const char *value, nglm_error *err)
{
    (void)row;
    return nglm_tok_mode_parse(value, &((options *)opts)->tok.mode, err);
}

static const nglm_opt_choice write_formats[] = {
    {"tab", NGLM_CLASSES_TAB}, {"mkcls", NGLM_CLASSES_MKCLS}, {NULL, 0}};
static const nglm_opt_choice read_formats[] = {{"auto", NGLM_CLASSES_AUTO},
                                               {"tab", NGLM_CLASSES_TAB},
                                               {"mkcls", NGLM_CLASSES_MKCLS},
                                               {"paths", NGLM_CLASSES_PATHS},
                                               {NULL, 0}};

/* a row names the fields it uses; the rest are zero */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#define FIELD(f) offsetof(options, f)
static const nglm_option rows[] = {
    {"classes", "N", "", "classes, 2.. (class 0 holds </s> alone)",
     NGLM_OPT_INT, FIELD(classes), 2, 1 << 20, NULL, NULL, 'c'},
    {"train", "FILE", "", "the text (also --text; default: stdin)",
     NGLM_OPT_STRING, FIELD(train), 0, 0, NULL, NULL, 0, "text"},
    {"output", "FILE", "", "the class file (default: stdout)",
     NGLM_OPT_STRING, FIELD(output), 0, 0, NULL, NULL, 'o'},
    {"format", "FORM", "",
     "tab (default: word<TAB>class, classes 0..N-1) or mkcls (word<TAB>class, classes 1..N, "
     "no </s>)",
     NGLM_OPT_CHOICE, FIELD(format), 0, 0, write_formats},
    {"passes", "N", "",
     "passes over the words at most (default 30); the clustering stops earlier when a pass "
     "moves no word or gains less than --min-gain",
     NGLM_OPT_INT, FIELD(passes), 0, 1000000},
    {"min-gain", "F", "",
     "also stop after a pass that lowers the perplexity by less than the fraction F "
     "(default 1e-3: 0.1%; 0: only when a pass moves no word)",
     NGLM_OPT_DOUBLE, FIELD(min_gain), 0, 1},
    {"init", "FILE", "",
     "start from the classes of FILE (tab, mkcls or Brown clustering's paths "
     "'bits<TAB>word<TAB>count'; -c is then taken from it); --passes 0 converts it",
     NGLM_OPT_STRING, FIELD(init)},
    {"init-format", "FORM", "", "auto (default), tab, mkcls or paths",
     NGLM_OPT_CHOICE, FIELD(init_format), 0, 0, read_formats},
    {"skip-unknown", NULL, "", "pass over --init's words that are not in the vocabulary",
     NGLM_OPT_FLAG, FIELD(skip_unknown)},
    {"vocab", "FILE", "",
     "use this vocabulary (nglm's or a word list) instead of counting the text's words",
     NGLM_OPT_STRING, FIELD(vocab)},
    {"threads", "N", "",
     "threads (default: OMP_NUM_THREADS or all cores); the classes are the same for any "
     "number",
     NGLM_OPT_INT, FIELD(threads), 1, 4096},
    {"tokenize", "MODE", "", "space (default), word or char, as nglm-train",
     NGLM_OPT_CUSTOM, FIELD(tok.mode), 0, 0, NULL, set_tokenize},
    {"lowercase", NULL, "", "fold case", NGLM_OPT_FLAG, FIELD(tok.lowercase)},
    {"replace-invalid", NULL, "", "replace invalid UTF-8 with U+FFFD instead of failing",
     NGLM_OPT_FLAG, FIELD(tok.replace_invalid)},
    {"quiet", NULL, "", "print nothing on stderr but errors", NGLM_OPT_FLAG, FIELD(quiet)},
    {"force", NULL, "", "replace an --output file that is not a class file",
     NGLM_OPT_FLAG, FIELD(force)},
};
#undef FIELD

static void usage(FILE *fp)
{
    nglm_cli_table t = {rows, sizeof rows / sizeof *rows, NULL};
    fprintf(fp,
        "Usage: nglm-cluster -c N [OPTION]... [< TEXT] [> CLASSES]\n"
        "Cluster the words of a text, one sentence per line, into N classes by the\n"
        "exchange algorithm (the class bigram likelihood), and write 'word<TAB>class'.\n"
        "\n");
    nglm_cli_options_help(fp, &t, 1);
    fprintf(fp,
        "  -h, --help, --version\n"
        "\n"
        "Exit status: 0 success, 1 failure (bad data, I/O), 2 bad usage.\n");
}

static void parse_args(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof *o);
    o->tok = nglm_tok_options_default();
    o->passes = 30;
    o->min_gain = 1e-3;
    o->format = NGLM_CLASSES_TAB;
    o->init_format = NGLM_CLASSES_AUTO;
    nglm_cli_table t = {rows, sizeof rows / sizeof *rows, o};
    int first = nglm_cli_parse(argc, argv, &t, 1, usage,
                               "nglm-cluster takes -c N --train TEXT -o CLASSES (mkcls: -cN "
                               "-pTEXT -VCLASSES)");
    if (first < argc)
        nglm_cli_die(NGLM_EXIT_USAGE, "unexpected argument '%s' (see --help)", argv[first]);
    if (o->classes == 0 && !o->init)
        nglm_cli_die(NGLM_EXIT_USAGE, "the number of classes is required: -c N "
                     "(for instance -c 300)");
    if (o->classes != 0 && o->init)
        nglm_cli_die(NGLM_EXIT_USAGE, "-c and --init: the classes come from --init's file");
    if (o->threads == 0) {
#ifdef _OPENMP
        o->threads = omp_get_max_threads();
#else
        o->threads = 1;
#endif
    }
}

/* 1 if path holds a class file of ours (its first line "word<TAB>integer"),
 * which --output may replace without --force. */
static int is_class_file(const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return 0;
    char line[4096];
    int ok = fgets(line, sizeof line, fp) != NULL;
    fclose(fp);
    char *tab = ok ? strchr(line, '\t') : NULL;
    if (!tab || tab == line)
        return 0;
    size_t k = strspn(tab + 1, "0123456789");
    return k > 0 && tab[1 + k] == '\n';
}

static void on_pass(int pass, size_t moved, double ppl, void *user)
{
    (void)user;
    fprintf(stderr, "%s: pass %d: %zu words moved, class bigram perplexity %.2f\n",
            nglm_cli_prog(), pass, moved, ppl);
}

int main(int argc, char **argv)
{
    nglm_cli_set_prog(argv[0]);
    options o;
    parse_args(argc, argv, &o);
    const nglm_out_file in[] = {{"--train", o.train, NGLM_OUT_NEW},
                                {"--init", o.init, NGLM_OUT_NEW},
                                {"--vocab", o.vocab, NGLM_OUT_NEW}};
    const nglm_out_file out[] = {{"--output", o.output, NGLM_OUT_NEW}};
    /* a class file of ours may be replaced without --force */
    int force = o.force || (o.output && is_class_file(o.output));
    nglm_out_check(in, 3, out, 1, force);
    double t0 = nglm_wall_seconds();
    nglm_error err;
    const char *name = o.train && strcmp(o.train, "-") != 0 ? o.train : "stdin";
    const char *path = o.vocab ? (o.train ? o.train : "-")
                               : nglm_cli_rereadable(o.train ? o.train : "-", NULL,
                                                     "no text: give --train FILE or a text "
                                                     "on stdin (nglm-cluster -c 300 < text)");
    nglm_vocab *v;
    if (o.vocab) {
        v = nglm_vocab_load(o.vocab, &err);
        if (!v)
            nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
    } else {
        v = nglm_vocab_new();
        if (!v)
            nglm_cli_die(NGLM_EXIT_FAIL, "out of memory");
        if (nglm_vocab_count_file_threads(v, path, &o.tok, o.threads, NULL, NULL, &err) != 0 ||
            nglm_vocab_finalize(v, 1, 0, &err) != 0)
            nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
    }
    nglm_corpus c;
    if (nglm_corpus_read(&c, path, &o.tok, v, &err) != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
    nglm_cli_rereadable_done();
    if (c.n_tokens == 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s: no sentences (the text is empty or blank)", name);
    int32_t V = (int32_t)nglm_vocab_size(v);
    int32_t *init = NULL, *cls = malloc((size_t)V * sizeof *cls);
    if (!cls)
        nglm_cli_die(NGLM_EXIT_FAIL, "out of memory");
    nglm_cluster_options co = nglm_cluster_options_default();
    co.max_passes = o.passes;
    co.min_gain = o.min_gain;
    co.threads = o.threads;
    co.on_pass = o.quiet ? NULL : on_pass;
    if (o.init) {
        init = malloc((size_t)V * sizeof *init);
        if (!init)
            nglm_cli_die(NGLM_EXIT_FAIL, "out of memory");
        if (nglm_classes_read(o.init, v, o.init_format,
                              o.skip_unknown ? NGLM_CLASSES_SKIP_UNKNOWN : 0, init, &o.classes,
                              &err) != 0)
            nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
        co.init = init;
    }
    double t1 = nglm_wall_seconds();
    nglm_cluster_stats st;
    if (nglm_cluster_exchange(&c, V, o.classes, &co, cls, &st, &err) != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
    double t2 = nglm_wall_seconds();
    if (nglm_classes_write(o.output ? o.output : "-", v, cls, o.format, &err) != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
    if (!o.quiet)
        fprintf(stderr, "%s: %s: %zu sentences, %zu tokens, vocabulary %d (specials "
                "included), %d classes: class bigram perplexity %.2f -> %.2f in %d "
                "pass%s; clustering %.2f s, all %.2f s\n",
                nglm_cli_prog(), name, c.n_sents, c.n_tokens, (int)V, o.classes,
                st.perplexity0, st.perplexity, st.passes, st.passes == 1 ? "" : "es",
                t2 - t1, nglm_wall_seconds() - t0);
    free(cls);
    free(init);
    nglm_corpus_free(&c);
    nglm_vocab_free(v);
    return 0;
}
