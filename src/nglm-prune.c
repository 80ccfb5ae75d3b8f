/*
 * nglm-prune — makes a back-off model smaller by relative-entropy pruning
 * (Stolcke 1998, as SRILM's `ngram -prune`; doc/model.md §9): removes the
 * n-grams whose removal raises the model's perplexity least, recomputing
 * the back-off weights so that every distribution still sums to one, and
 * writes the result as an ARPA file.  The model is an ARPA file of any
 * toolkit, or an nglm model of n-gram features (exported to ARPA first,
 * exactly).  Usage: nglm-prune --help.
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "nglm/arpa.h"
#include "nglm/classlm.h"
#include "nglm/corpus.h"
#include "nglm/entprune.h"
#include "nglm/model.h"
#include "nglm/modelfile.h"
#include "outputs.h"

typedef struct options {
    const char *model, *output, *history_text;
    double threshold;
    uint64_t target;
    int has_threshold, has_target, force, verbose, digits, keep_suffixes;
} options;

static int set_threshold(const nglm_option *row, void *opts, const char *value,
                         nglm_error *err)
{
    (void)row;
    options *o = opts;
    if (nglm_parse_double(value, -HUGE_VAL, HUGE_VAL, &o->threshold, err) != 0)
        return -1;
    if (!(o->threshold > 0))
        return nglm_error_set(err, "'%s' is not a positive number: the threshold is the "
                              "relative perplexity increase below which an n-gram is "
                              "removed (1e-8 prunes little, 1e-6 much)", value);
    o->has_threshold = 1;
    return 0;
}

static int set_target(const nglm_option *row, void *opts, const char *value, nglm_error *err)
{
    (void)row;
    options *o = opts;
    if (nglm_parse_count(value, &o->target, err) != 0)
        return -1;
    if (o->target == 0)
        return nglm_error_set(err, "'%s': the target must be at least the model's 1-grams",
                              value);
    o->has_target = 1;
    return 0;
}

/* a row names the fields it uses; the rest are zero */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#define FIELD(f) offsetof(options, f)
static const nglm_option rows[] = {
    {"model", "FILE", "",
     "the model: an ARPA file (plain or gzip; KenLM's, SRILM's, nglm's), or an nglm model "
     "of n-gram features (nglm-train --features ngram, nglm-kn --model)",
     NGLM_OPT_STRING, FIELD(model)},
    {"threshold", "THETA", "",
     "remove every n-gram whose removal alone raises the model's perplexity by a relative "
     "amount below THETA (> 0; SRILM's -prune)",
     NGLM_OPT_CUSTOM, 0, 0, 0, NULL, set_threshold},
    {"target-ngrams", "N", "",
     "instead of --threshold: the largest threshold that keeps at least N n-grams (all "
     "orders; K, M, G: 10^3, 10^6, 10^9)",
     NGLM_OPT_CUSTOM, 0, 0, 0, NULL, set_target},
    {"history-text", "TEXT", "",
     "take each context's probability from its relative frequency in TEXT (the training "
     "text) instead of from the model itself; Kneser-Ney's lower orders estimate it badly "
     "(Chelba et al. 2010)",
     NGLM_OPT_STRING, FIELD(history_text)},
    {"keep-suffixes", NULL, "",
     "also keep the suffix (the words but the first) of every kept n-gram, so that "
     "nglm-export --from-arpa can convert the result to nglm's format",
     NGLM_OPT_FLAG, FIELD(keep_suffixes)},
    {"output", "OUT", "", "the pruned model, an ARPA file ('-' = stdout; gzip when OUT ends in .gz)", NGLM_OPT_STRING,
     FIELD(output), 0, 0, NULL, NULL, 'o'},
    {"digits", "D", "", "significant digits of each number written (default 10)",
     NGLM_OPT_INT, FIELD(digits), 1, 17},
    {"force", NULL, "", "replace OUT even if it is not an ARPA file", NGLM_OPT_FLAG,
     FIELD(force)},
    {"verbose", NULL, "", "print the threshold and the n-grams kept of each order on stderr",
     NGLM_OPT_FLAG, FIELD(verbose), 0, 0, NULL, NULL, 'v'},
};
#undef FIELD

static void usage(FILE *fp)
{
    nglm_cli_table t = {rows, sizeof rows / sizeof *rows, NULL};
    fprintf(fp,
        "Usage: nglm-prune --model FILE --threshold THETA -o OUT\n"
        "       nglm-prune --model FILE --target-ngrams N -o OUT\n"
        "Prune a back-off model by relative entropy (Stolcke 1998, SRILM's\n"
        "ngram -prune), recomputing its back-off weights exactly.\n"
        "\n");
    nglm_cli_options_help(fp, &t, 1);
    fprintf(fp,
        "  -h, --help, --version\n"
        "\n"
        "1-grams are never removed, nor an n-gram that is the context of a kept\n"
        "longer one.\n"
        "\n"
        "Exit status: 0 success, 1 failure (bad model, I/O), 2 bad usage.\n");
}

/* The model at path as an ARPA reader's model: read as it is, or an nglm
 * model exported to a temporary ARPA file first. */
static nglm_arpa *load_model(const char *path)
{
    nglm_error err;
    if (nglm_arpa_file_is_arpa(path)) {
        nglm_arpa *a = nglm_arpa_load(path, &err);
        if (!a)
            nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
        return a;
    }
    if (nglm_classlm_file_is(path))
        nglm_cli_die(NGLM_EXIT_FAIL, "%s: a class-based model (Model M) is not a back-off "
                     "model and cannot be pruned: train an n-gram model (nglm-train "
                     "--features ngram) and prune that", path);
    nglm_model m;
    if (nglm_model_map(&m, path, NGLM_MAP_VERIFY, &err) != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
    const char *dir = getenv("TMPDIR");
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s/nglm-prune.XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(tmp);
    if (fd < 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s: cannot create a temporary file: %s", tmp,
                     strerror(errno));
    FILE *fp = fdopen(fd, "w");
    if (!fp || nglm_arpa_write(&m, fp, &err) != 0 || fclose(fp) != 0) {
        unlink(tmp);
        nglm_cli_die(NGLM_EXIT_FAIL, "%s: %s", path, fp ? err.msg : strerror(errno));
    }
    nglm_model_free(&m);
    nglm_arpa *a = nglm_arpa_load(tmp, &err);
    unlink(tmp);
    if (!a)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s (exported from %s)", err.msg, path);
    return a;
}

int main(int argc, char **argv)
{
    nglm_cli_set_prog(argv[0]);
    options o;
    memset(&o, 0, sizeof o);
    o.digits = 10;
    nglm_cli_table t = {rows, sizeof rows / sizeof *rows, &o};
    int first = nglm_cli_parse(argc, argv, &t, 1, usage,
                               "nglm-prune takes --model FILE --threshold THETA -o OUT "
                               "(SRILM's -lm FILE -prune THETA -write-lm OUT)");
    if (first != argc)
        nglm_cli_die(NGLM_EXIT_USAGE, "unexpected argument '%s' (see --help)", argv[first]);
    if (!o.model)
        nglm_cli_die(NGLM_EXIT_USAGE, "--model FILE is required (see --help)");
    if (o.has_threshold == o.has_target)
        nglm_cli_die(NGLM_EXIT_USAGE, "give one of --threshold THETA and --target-ngrams N");
    if (!o.output)
        nglm_cli_die(NGLM_EXIT_USAGE, "-o OUT is required (an ARPA file, or - for standard "
                     "output)");
    const nglm_out_file in[] = {{"--model", o.model, NGLM_OUT_ARPA},
                                {"--history-text", o.history_text, NGLM_OUT_NEW}};
    const nglm_out_file out[] = {{"-o", o.output, NGLM_OUT_ARPA}};
    nglm_out_check(in, 2, out, 1, o.force);

    nglm_arpa *a = load_model(o.model);
    nglm_error err;
    nglm_corpus text, *hist = NULL;
    if (o.history_text) {
        nglm_tok_options tok = nglm_arpa_tok(a);
        if (nglm_corpus_read(&text, o.history_text, &tok, nglm_arpa_vocab(a), &err) != 0)
            nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
        hist = &text;
    }
    nglm_entprune *p = nglm_entprune_new(a, hist, &err);
    if (!p)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s: %s", o.model, err.msg);
    if (hist)
        nglm_corpus_free(hist);
    if (o.keep_suffixes && nglm_entprune_keep_suffixes(p, &err) != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
    uint64_t total = nglm_entprune_total(p), uni = nglm_entprune_unigrams(p);
    double theta = o.threshold;
    if (o.has_target) {
        if (o.target >= total)
            nglm_cli_die(NGLM_EXIT_USAGE, "--target-ngrams %llu: the model has only %llu "
                         "n-grams; nothing to prune", (unsigned long long)o.target,
                         (unsigned long long)total);
        if (o.target < uni)
            nglm_cli_die(NGLM_EXIT_USAGE, "--target-ngrams %llu: the model has %llu 1-grams, "
                         "which are never pruned", (unsigned long long)o.target,
                         (unsigned long long)uni);
        theta = nglm_entprune_threshold_for(p, o.target, NULL);
    }
    if (nglm_entprune_apply(p, theta, &err) != 0 ||
        nglm_entprune_save(p, o.output, o.digits, &err) != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
    if (o.verbose) {
        uint64_t kept = 0;
        char orders[256];
        size_t off = 0;
        orders[0] = '\0';
        for (int k = 1; k <= nglm_entprune_order(p); k++) {
            kept += nglm_entprune_kept(p, k);
            off += (size_t)snprintf(orders + off, off < sizeof orders ? sizeof orders - off : 0,
                                    "%s%llu", k > 1 ? " " : "",
                                    (unsigned long long)nglm_entprune_kept(p, k));
            if (off >= sizeof orders)
                off = sizeof orders - 1;
        }
        nglm_cli_warn("threshold %.6g: kept %llu of %llu n-grams (by order: %s)", theta,
                      (unsigned long long)kept, (unsigned long long)total, orders);
    }
    nglm_entprune_free(p);
    nglm_arpa_free(a);
    return 0;
}
