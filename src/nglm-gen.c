/*
 * nglm-gen — samples a train/valid/test corpus from nglm's known synthetic
 * source and reports the source's own (oracle) perplexity on the test text.
 * `make` runs it to produce the bundled default corpus; all the work is in
 * src/gen.c, this file only parses options and prints the report.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nglm/gen.h"
#include "outputs.h"

#define MIN_TOKENS 1000
#define MAX_TOKENS UINT64_C(10000000000) /* 10G tokens, about 60 GB of text */

typedef struct options {
    uint64_t tokens, seed;
    const char *prefix;
    nglm_gen_params params;
    int quiet, force, have_tokens;
} options;

/* --tokens: a count (K, M, G: 10^3, 10^6, 10^9) of MIN_TOKENS..MAX_TOKENS */
static int set_tokens(const nglm_option *row, void *opts, const char *value, nglm_error *err)
{
    (void)row;
    options *o = opts;
    if (nglm_parse_count(value, &o->tokens, err) != 0)
        return -1;
    if (o->tokens < MIN_TOKENS || o->tokens > MAX_TOKENS)
        return nglm_error_set(err, "'%s' is out of range (%d..%" PRIu64 ")", value, MIN_TOKENS,
                              MAX_TOKENS);
    o->have_tokens = 1;
    return 0;
}

static int not_empty(const nglm_option *row, void *opts, const char *value, nglm_error *err)
{
    (void)row, (void)opts;
    if (value[0] == '\0')
        return nglm_error_set(err, "the prefix is empty");
    return 0;
}

/* --seed, --source-seed: any uint64_t, in C's notations (0x...) */
static int set_seed(const nglm_option *row, void *opts, const char *value, nglm_error *err)
{
    char *end;
    if (value[0] == '-' || value[0] == '\0')
        return nglm_error_set(err, "'%s' is not a non-negative integer", value);
    errno = 0;
    unsigned long long v = strtoull(value, &end, 0);
    if (*end != '\0' || errno == ERANGE)
        return nglm_error_set(err, "'%s' is not a non-negative integer", value);
    *(uint64_t *)((char *)opts + row->offset) = (uint64_t)v;
    return 0;
}

/* --version, also -V (the row replaces nglm_cli_parse's --version) */
static int print_version(const nglm_option *row, void *opts, const char *value,
                         nglm_error *err)
{
    (void)row, (void)opts, (void)value, (void)err;
    printf("%s (%s) %s\n", nglm_cli_prog(), PACKAGE_NAME, PACKAGE_VERSION);
    exit(0);
}

/* a row names the fields it uses; the rest are zero */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#define FIELD(f) offsetof(options, f)
static const nglm_option rows[] = {
    {"tokens", "N", "",
     "tokens to sample (" NGLM_STR(MIN_TOKENS) "..10000000000; K, M, G: 10^3, 10^6, 10^9)",
     NGLM_OPT_CUSTOM, FIELD(tokens), 0, 0, NULL, set_tokens, 'n'},
    {"prefix", "P", "", "output file prefix",
     NGLM_OPT_STRING, FIELD(prefix), 0, 0, NULL, not_empty, 'p'},
    {"seed", "S", "", "sampling seed (default 1): which text is drawn",
     NGLM_OPT_CUSTOM, FIELD(seed), 0, 0, NULL, set_seed, 's'},
    {"source-seed", "S", "",
     "seed of the source's structure (default: the bundled corpus's source)",
     NGLM_OPT_CUSTOM, FIELD(params.source_seed), 0, 0, NULL, set_seed},
    {"order", "N", "", "order of the source, 3 or 4 (default 3)",
     NGLM_OPT_INT, FIELD(params.order), 3, 4},
    {"vocab", "N", "", "words in the source (100..1000000, default 2000)",
     NGLM_OPT_U32, FIELD(params.vocab_size), 100, 1000000},
    {"quiet", NULL, "", "print nothing on success", NGLM_OPT_FLAG, FIELD(quiet), 0, 0, NULL,
     NULL, 'q'},
    {"force", NULL, "",
     "replace the files if they exist (without it an existing corpus is never overwritten)",
     NGLM_OPT_FLAG, FIELD(force), 0, 0, NULL, NULL, 'f'},
    {"version", NULL, "", "show the version and exit", NGLM_OPT_CUSTOM, 0, 0, 0, NULL,
     print_version, 'V'},
};
#undef FIELD

static void usage(FILE *fp)
{
    nglm_cli_table t = {rows, sizeof rows / sizeof *rows, NULL};
    fprintf(fp,
            "Usage: %s --tokens N --prefix P [OPTION]...\n"
            "Sample a corpus from nglm's synthetic back-off n-gram source and compute\n"
            "the source's true perplexity on its test part.\n"
            "\n"
            "Writes P.train.txt, P.valid.txt, P.test.txt (90/5/5 %% of the tokens, one\n"
            "sentence per line; tokens count words and one </s> per sentence) and\n"
            "P.oracle (oracle and unigram perplexities as \"key value\" lines).\n"
            "\n",
            nglm_cli_prog());
    nglm_cli_options_help(fp, &t, 1);
    fprintf(fp,
            "  -h, --help            show this help and exit\n"
            "\n"
            "Exit status: 0 success, 1 the files could not be written, 2 bad usage.\n");
}

int main(int argc, char **argv)
{
    nglm_cli_set_prog(argv[0]);
    options o;
    memset(&o, 0, sizeof o);
    o.seed = 1;
    nglm_gen_params_default(&o.params);
    nglm_cli_table t = {rows, sizeof rows / sizeof *rows, &o};
    int first = nglm_cli_parse(argc, argv, &t, 1, usage, NULL);
    if (first < argc)
        nglm_cli_die(NGLM_EXIT_USAGE, "unexpected argument '%s' (try --help)", argv[first]);
    if (!o.have_tokens)
        nglm_cli_die(NGLM_EXIT_USAGE, "--tokens is required (try --help)");
    if (!o.prefix)
        nglm_cli_die(NGLM_EXIT_USAGE, "--prefix is required (try --help)");
    const char *prefix = o.prefix;
    nglm_gen_params params = o.params;
    uint64_t tokens = o.tokens, seed = o.seed;
    int quiet = o.quiet, force = o.force;

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
