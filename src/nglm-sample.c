/*
 * nglm-sample — prints sentences drawn from a trained model's exact
 * distribution, optionally with a temperature (see nglm/sample.h).
 * Usage: nglm-sample --help.
 */
#include <getopt.h>
#include <limits.h>
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

static void usage(FILE *fp)
{
    fprintf(fp,
        "Usage: nglm-sample --model FILE [OPTION]...\n"
        "Print sentences drawn from an nglm model, one per line, words separated\n"
        "by single spaces.\n"
        "\n"
        "  --model FILE          the model: nglm's (nglm-train, nglm-kn), an ARPA\n"
        "                        file (plain or .gz, from any toolkit) or a mixture\n"
        "                        (saved by nglm-eval)\n"
        "  -n, --sentences N     how many sentences (default %d; 0 prints nothing)\n"
        "  --temperature T       draw from P^(1/T), renormalised: 1 (default) is the\n"
        "                        model, below 1 sharper (0.01 is nearly the most\n"
        "                        likely word), above 1 flatter; 0 < T <= 1e6\n"
        "  --seed S              random seed (default 1): the same seed gives the\n"
        "                        same sentences\n"
        "  --max-length L        stop a sentence after L words (default %d,\n"
        "                        at most %d) if </s> has not come\n"
        "  -h, --help, --version\n"
        "\n"
        "Each word is drawn from the model's exact distribution given the words\n"
        "before it; a sentence ends at </s>, which is not printed.  <s> is never\n"
        "drawn; <unk> may be.\n"
        "\n"
        "Exit status: 0 success, 1 failure (bad model, I/O), 2 bad usage.\n",
        DEFAULT_SENTENCES, NGLM_SAMPLE_MAX_LENGTH, MAX_LENGTH_LIMIT);
}

int main(int argc, char **argv)
{
    nglm_cli_set_prog(argv[0]);
    enum { O_MODEL = 256, O_TEMP, O_SEED, O_MAXLEN, O_HELP, O_VERSION };
    static const struct option longopts[] = {
        {"model", 1, 0, O_MODEL}, {"sentences", 1, 0, 'n'}, {"temperature", 1, 0, O_TEMP},
        {"seed", 1, 0, O_SEED}, {"max-length", 1, 0, O_MAXLEN}, {"help", 0, 0, O_HELP},
        {"version", 0, 0, O_VERSION}, {0, 0, 0, 0}};
    const char *model_path = NULL;
    long n_sent = DEFAULT_SENTENCES, max_length = NGLM_SAMPLE_MAX_LENGTH;
    double temperature = 1.0;
    uint64_t seed = 1;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":hn:", longopts, NULL)) != -1) {
        switch (c) {
        case O_MODEL: model_path = optarg; break;
        case 'n': n_sent = nglm_cli_long("--sentences", optarg, 0, LONG_MAX); break;
        case O_TEMP:
            temperature = nglm_cli_double("--temperature", optarg, 0, 1e6);
            if (!(temperature > 0))
                nglm_cli_die(NGLM_EXIT_USAGE, "--temperature: '%s' must be > 0", optarg);
            break;
        case O_SEED: seed = (uint64_t)nglm_cli_long("--seed", optarg, 0, LONG_MAX); break;
        case O_MAXLEN:
            max_length = nglm_cli_long("--max-length", optarg, 1, MAX_LENGTH_LIMIT);
            break;
        case 'h':
        case O_HELP: usage(stdout); return 0;
        case O_VERSION: printf("nglm-sample (nglm) %s\n", PACKAGE_VERSION); return 0;
        default:
            nglm_cli_bad_option(c, argc, argv, "nglm-sample takes --model FILE -n N "
                                "(SRILM's -lm FILE -gen N)");
        }
    }
    if (!model_path)
        nglm_cli_die(NGLM_EXIT_USAGE, "--model FILE is required (see --help)");
    if (optind != argc)
        nglm_cli_die(NGLM_EXIT_USAGE, "unexpected argument '%s' (see --help)", argv[optind]);

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
