/*
 * nglm-gen — samples a train/valid/test corpus from nglm's known synthetic
 * source and reports the source's own (oracle) perplexity on the test text.
 * `make` runs it to produce the bundled default corpus; all the work is in
 * src/gen.c, this file only parses options and prints the report.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "nglm/gen.h"
#include "outputs.h"

#define MIN_TOKENS 1000
#define MAX_TOKENS UINT64_C(10000000000) /* 10G tokens, about 60 GB of text */

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: %s --tokens N --prefix P [OPTION]...\n"
            "Sample a corpus from nglm's synthetic back-off n-gram source and compute\n"
            "the source's true perplexity on its test part.\n"
            "\n"
            "Writes P.train.txt, P.valid.txt, P.test.txt (90/5/5 %% of the tokens, one\n"
            "sentence per line; tokens count words and one </s> per sentence) and\n"
            "P.oracle (oracle and unigram perplexities as \"key value\" lines).\n"
            "\n"
            "  -n, --tokens N        tokens to sample (%d..%" PRIu64 "; K, M, G: 10^3, 10^6, 10^9)\n"
            "  -p, --prefix P        output file prefix\n"
            "  -s, --seed S          sampling seed (default 1): which text is drawn\n"
            "      --source-seed S   seed of the source's structure (default: the\n"
            "                        bundled corpus's source)\n"
            "      --order N         order of the source, 3 or 4 (default 3)\n"
            "      --vocab N         words in the source (100..1000000, default 2000)\n"
            "  -q, --quiet           print nothing on success\n"
            "  -f, --force           replace the files if they exist (without it an\n"
            "                        existing corpus is never overwritten)\n"
            "  -h, --help            show this help and exit\n"
            "  -V, --version         show the version and exit\n"
            "\n"
            "Exit status: 0 success, 1 the files could not be written, 2 bad usage.\n",
            nglm_cli_prog(), MIN_TOKENS, MAX_TOKENS);
}

static uint64_t parse_seed(const char *opt, const char *s)
{
    char *end;
    if (s[0] == '-' || s[0] == '\0')
        nglm_cli_die(NGLM_EXIT_USAGE, "%s: '%s' is not a non-negative integer", opt, s);
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (*end != '\0' || errno == ERANGE)
        nglm_cli_die(NGLM_EXIT_USAGE, "%s: '%s' is not a non-negative integer", opt, s);
    return (uint64_t)v;
}

int main(int argc, char **argv)
{
    nglm_cli_set_prog(argv[0]);
    nglm_gen_params params;
    nglm_gen_params_default(&params);
    uint64_t tokens = 0, seed = 1;
    const char *prefix = NULL;
    int quiet = 0, have_tokens = 0, force = 0;

    enum { OPT_SOURCE_SEED = 256, OPT_ORDER, OPT_VOCAB };
    static const struct option longopts[] = {
        {"tokens", required_argument, NULL, 'n'},
        {"prefix", required_argument, NULL, 'p'},
        {"seed", required_argument, NULL, 's'},
        {"source-seed", required_argument, NULL, OPT_SOURCE_SEED},
        {"order", required_argument, NULL, OPT_ORDER},
        {"vocab", required_argument, NULL, OPT_VOCAB},
        {"quiet", no_argument, NULL, 'q'},
        {"force", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":n:p:s:qfhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'n':
            tokens = nglm_cli_count("--tokens", optarg);
            if (tokens < MIN_TOKENS || tokens > MAX_TOKENS)
                nglm_cli_die(NGLM_EXIT_USAGE, "--tokens: '%s' is out of range (%d..%" PRIu64 ")",
                             optarg, MIN_TOKENS, MAX_TOKENS);
            have_tokens = 1;
            break;
        case 'p':
            if (optarg[0] == '\0')
                nglm_cli_die(NGLM_EXIT_USAGE, "--prefix: the prefix is empty");
            prefix = optarg;
            break;
        case 's': seed = parse_seed("--seed", optarg); break;
        case OPT_SOURCE_SEED: params.source_seed = parse_seed("--source-seed", optarg); break;
        case OPT_ORDER: params.order = (int)nglm_cli_long("--order", optarg, 3, 4); break;
        case OPT_VOCAB:
            params.vocab_size = (uint32_t)nglm_cli_long("--vocab", optarg, 100, 1000000);
            break;
        case 'q': quiet = 1; break;
        case 'f': force = 1; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("nglm-gen (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION); return 0;
        default:
            nglm_cli_bad_option(c, argc, argv, NULL);
        }
    }
    if (optind < argc)
        nglm_cli_die(NGLM_EXIT_USAGE, "unexpected argument '%s' (try --help)", argv[optind]);
    if (!have_tokens)
        nglm_cli_die(NGLM_EXIT_USAGE, "--tokens is required (try --help)");
    if (!prefix)
        nglm_cli_die(NGLM_EXIT_USAGE, "--prefix is required (try --help)");

    char paths[NGLM_GEN_FILES][4200];
    nglm_out_file out[NGLM_GEN_FILES];
    for (int i = 0; i < NGLM_GEN_FILES; i++) {
        if (snprintf(paths[i], sizeof paths[i], "%s%s", prefix, nglm_gen_file_suffix[i]) >=
            (int)sizeof paths[i])
            nglm_cli_die(NGLM_EXIT_USAGE, "--prefix: path too long");
        out[i] = (nglm_out_file){"--prefix", paths[i], NGLM_OUT_NEW};
    }
    nglm_out_check(NULL, 0, out, NGLM_GEN_FILES, force);

    nglm_gen_report r;
    nglm_error err;
    if (nglm_gen_write_corpus(&params, tokens, seed, prefix, &r, &err) != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
    if (!quiet) {
        printf("oracle perplexity %.3f (%.4f bits/token) on %" PRIu64 " test tokens\n",
               r.oracle_ppl, r.oracle_entropy_bits, r.test_tokens);
        printf("unigram perplexity %.3f (train unigram), %.3f (best unigram for test)\n",
               r.unigram_ppl, r.unigram_best_ppl);
        printf("wrote %s.{train,valid,test}.txt (%" PRIu64 "/%" PRIu64 "/%" PRIu64
               " tokens) and %s.oracle\n",
               prefix, r.train_tokens, r.valid_tokens, r.test_tokens, prefix);
        if (fflush(stdout) != 0 || ferror(stdout))
            nglm_cli_die(NGLM_EXIT_FAIL, "cannot write the report on stdout");
    }
    return 0;
}
