/*
 * nglm-sample — prints sentences drawn from a trained model's exact
 * distribution, optionally with a temperature (see nglm/sample.h).
 * Usage: nglm-sample --help.
 */
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "nglm/lm.h"
#include "nglm/sample.h"
#include "nglm/vocab.h"

#define DEFAULT_SENTENCES 10
#define MAX_LENGTH_LIMIT 1000000

typedef struct options {
    const char *model;
    uint64_t sentences;
    double temperature;
    uint64_t seed;
    int max_length;
} options;

static int positive(const nglm_option *row, void *opts, const char *value, nglm_error *err)
{
    if (!(*(double *)((char *)opts + row->offset) > 0))
        return nglm_error_set(err, "'%s' must be > 0", value);
    return 0;
}

/* a row names the fields it uses; the rest are zero */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#define FIELD(f) offsetof(options, f)
static const nglm_option rows[] = {
    {"model", "FILE", "",
     "the model: nglm's (nglm-train, nglm-kn), an ARPA file (plain or .gz, from any "
     "toolkit) or a mixture (saved by nglm-eval)",
     NGLM_OPT_STRING, FIELD(model)},
    {"sentences", "N", "",
     "how many sentences (default " NGLM_STR(DEFAULT_SENTENCES) "; 0 prints nothing)",
     NGLM_OPT_U64, FIELD(sentences), 0, (double)LONG_MAX, NULL, NULL, 'n'},
    {"temperature", "T", "",
     "draw from P^(1/T), renormalised: 1 (default) is the model, below 1 sharper (0.01 is "
     "nearly the most likely word), above 1 flatter; 0 < T <= 1e6",
     NGLM_OPT_DOUBLE, FIELD(temperature), 0, 1e6, NULL, positive},
    {"seed", "S", "",
     "random seed (default 1): the same seed gives the same sentences",
     NGLM_OPT_U64, FIELD(seed), 0, (double)LONG_MAX},
    {"max-length", "L", "",
     "stop a sentence after L words (default " NGLM_STR(NGLM_SAMPLE_MAX_LENGTH) ", at most "
     NGLM_STR(MAX_LENGTH_LIMIT) ") if </s> has not come",
     NGLM_OPT_INT, FIELD(max_length), 1, MAX_LENGTH_LIMIT},
};
#undef FIELD

static void usage(FILE *fp)
{
    nglm_cli_table t = {rows, sizeof rows / sizeof *rows, NULL};
    fprintf(fp,
        "Usage: nglm-sample --model FILE [OPTION]...\n"
        "Print sentences drawn from an nglm model, one per line, words separated\n"
        "by single spaces.\n"
        "\n");
    nglm_cli_options_help(fp, &t, 1);
    fprintf(fp,
        "  -h, --help, --version\n"
        "\n"
        "Each word is drawn from the model's exact distribution given the words\n"
        "before it; a sentence ends at </s>, which is not printed.  <s> is never\n"
        "drawn; <unk> may be.\n"
        "\n"
        "Exit status: 0 success, 1 failure (bad model, I/O), 2 bad usage.\n");
}

int main(int argc, char **argv)
{
    nglm_cli_set_prog(argv[0]);
    options o = {NULL, DEFAULT_SENTENCES, 1.0, 1, NGLM_SAMPLE_MAX_LENGTH};
    nglm_cli_table t = {rows, sizeof rows / sizeof *rows, &o};
    int first = nglm_cli_parse(argc, argv, &t, 1, usage,
                               "nglm-sample takes --model FILE -n N (SRILM's -lm FILE -gen N)");
    if (!o.model)
        nglm_cli_die(NGLM_EXIT_USAGE, "--model FILE is required (see --help)");
    if (first != argc)
        nglm_cli_die(NGLM_EXIT_USAGE, "unexpected argument '%s' (see --help)", argv[first]);
    const char *model_path = o.model;
    long n_sent = (long)o.sentences, max_length = o.max_length;
    double temperature = o.temperature;
    uint64_t seed = o.seed;

    nglm_error err;
    nglm_lm *lm = nglm_lm_open(model_path, 0, &err);
    if (!lm)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
    const nglm_vocab *vocab = nglm_lm_vocab(lm);
    nglm_sampler s;
    if (nglm_sampler_init(&s, lm, temperature, (size_t)max_length, seed, &err) != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
    for (long k = 0; k < n_sent; k++) {
        const int32_t *words;
        size_t n;
        nglm_sample_sentence(&s, &words, &n);
        if (nglm_lm_check(lm, &err) != 0) /* a damaged block was read */
            nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
        for (size_t i = 0; i < n; i++) {
            if (i)
                putchar(' ');
            fputs(nglm_vocab_word(vocab, words[i]), stdout);
        }
        if (putchar('\n') == EOF)
            nglm_cli_die(NGLM_EXIT_FAIL, "error writing the sentences");
    }
    if (fflush(stdout) != 0 || ferror(stdout))
        nglm_cli_die(NGLM_EXIT_FAIL, "error writing the sentences");
    nglm_sampler_free(&s);
    nglm_lm_free(lm);
    return 0;
}
