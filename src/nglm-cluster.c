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
#include <getopt.h>
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

static void usage(FILE *fp)
{
    fprintf(fp,
        "Usage: nglm-cluster -c N [OPTION]... [< TEXT] [> CLASSES]\n"
        "Cluster the words of a text, one sentence per line, into N classes by the\n"
        "exchange algorithm (the class bigram likelihood), and write 'word<TAB>class'.\n"
        "\n"
        "  -c, --classes N       classes, 2.. (class 0 holds </s> alone)\n"
        "  --train FILE          the text (also --text; default: stdin)\n"
        "  -o, --output FILE     the class file (default: stdout)\n"
        "  --format FORM         tab (default: word<TAB>class, classes 0..N-1) or\n"
        "                        mkcls (word<TAB>class, classes 1..N, no </s>)\n"
        "  --passes N            passes over the words at most (default 30); the\n"
        "                        clustering stops earlier when a pass moves no word\n"
        "                        or gains less than --min-gain\n"
        "  --min-gain F          also stop after a pass that lowers the perplexity by\n"
        "                        less than the fraction F (default 1e-3: 0.1%%;\n"
        "                        0: only when a pass moves no word)\n"
        "  --init FILE           start from the classes of FILE (tab, mkcls or Brown\n"
        "                        clustering's paths 'bits<TAB>word<TAB>count'; -c is\n"
        "                        then taken from it); --passes 0 converts it\n"
        "  --init-format FORM    auto (default), tab, mkcls or paths\n"
        "  --skip-unknown        pass over --init's words that are not in the vocabulary\n"
        "  --vocab FILE          use this vocabulary (nglm's or a word list) instead\n"
        "                        of counting the text's words\n"
        "  --threads N           threads (default: OMP_NUM_THREADS or all cores); the\n"
        "                        classes are the same for any number\n"
        "  --tokenize MODE       space (default), word or char, as nglm-train\n"
        "  --lowercase           fold case\n"
        "  --replace-invalid     replace invalid UTF-8 with U+FFFD instead of failing\n"
        "  --quiet               print nothing on stderr but errors\n"
        "  --force               replace an --output file that is not a class file\n"
        "  -h, --help, --version\n"
        "\n"
        "Exit status: 0 success, 1 failure (bad data, I/O), 2 bad usage.\n");
}

typedef struct options {
    int classes, passes, threads, quiet, force, skip_unknown;
    double min_gain;
    const char *train, *output, *init, *vocab;
    nglm_classes_format format, init_format;
    nglm_tok_options tok;
} options;

static nglm_classes_format parse_format(const char *opt, const char *s, int reading)
{
    if (strcmp(s, "tab") == 0)
        return NGLM_CLASSES_TAB;
    if (strcmp(s, "mkcls") == 0)
        return NGLM_CLASSES_MKCLS;
    if (reading && strcmp(s, "paths") == 0)
        return NGLM_CLASSES_PATHS;
    if (reading && strcmp(s, "auto") == 0)
        return NGLM_CLASSES_AUTO;
    nglm_cli_die(NGLM_EXIT_USAGE, "%s: '%s' is not %s", opt, s,
                 reading ? "auto, tab, mkcls or paths" : "tab or mkcls");
}

static void parse_args(int argc, char **argv, options *o)
{
    enum { O_TRAIN = 256, O_FORMAT, O_PASSES, O_MIN_GAIN, O_INIT, O_INIT_FORMAT, O_SKIP, O_VOCAB,
           O_THREADS, O_TOK, O_LOWER, O_REPL, O_QUIET, O_FORCE, O_HELP, O_VERSION };
    static const struct option longopts[] = {
        {"classes", 1, 0, 'c'}, {"train", 1, 0, O_TRAIN}, {"text", 1, 0, O_TRAIN},
        {"output", 1, 0, 'o'}, {"format", 1, 0, O_FORMAT}, {"passes", 1, 0, O_PASSES},
        {"min-gain", 1, 0, O_MIN_GAIN},
        {"init", 1, 0, O_INIT}, {"init-format", 1, 0, O_INIT_FORMAT},
        {"skip-unknown", 0, 0, O_SKIP}, {"vocab", 1, 0, O_VOCAB},
        {"threads", 1, 0, O_THREADS}, {"tokenize", 1, 0, O_TOK},
        {"lowercase", 0, 0, O_LOWER}, {"replace-invalid", 0, 0, O_REPL},
        {"quiet", 0, 0, O_QUIET}, {"force", 0, 0, O_FORCE}, {"help", 0, 0, O_HELP},
        {"version", 0, 0, O_VERSION}, {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    o->tok = nglm_tok_options_default();
    o->passes = 30;
    o->min_gain = 1e-3;
    o->format = NGLM_CLASSES_TAB;
    o->init_format = NGLM_CLASSES_AUTO;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":hc:o:", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': o->classes = (int)nglm_cli_long("--classes", optarg, 2, 1 << 20); break;
        case O_TRAIN: o->train = optarg; break;
        case 'o': o->output = optarg; break;
        case O_FORMAT: o->format = parse_format("--format", optarg, 0); break;
        case O_PASSES: o->passes = (int)nglm_cli_long("--passes", optarg, 0, 1000000); break;
        case O_MIN_GAIN: o->min_gain = nglm_cli_double("--min-gain", optarg, 0, 1); break;
        case O_INIT: o->init = optarg; break;
        case O_INIT_FORMAT: o->init_format = parse_format("--init-format", optarg, 1); break;
        case O_SKIP: o->skip_unknown = 1; break;
        case O_VOCAB: o->vocab = optarg; break;
        case O_THREADS: o->threads = (int)nglm_cli_long("--threads", optarg, 1, 4096); break;
        case O_TOK: o->tok.mode = nglm_cli_tok_mode(optarg); break;
        case O_LOWER: o->tok.lowercase = 1; break;
        case O_REPL: o->tok.replace_invalid = 1; break;
        case O_QUIET: o->quiet = 1; break;
        case O_FORCE: o->force = 1; break;
        case 'h':
        case O_HELP: usage(stdout); exit(0);
        case O_VERSION: printf("nglm-cluster (nglm) %s\n", PACKAGE_VERSION); exit(0);
        default:
            nglm_cli_bad_option(c, argc, argv, "nglm-cluster takes -c N --train TEXT "
                                "-o CLASSES (mkcls: -cN -pTEXT -VCLASSES)");
        }
    }
    if (optind < argc)
        nglm_cli_die(NGLM_EXIT_USAGE, "unexpected argument '%s' (see --help)", argv[optind]);
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
