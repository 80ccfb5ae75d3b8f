/*
 * nglm-export — writes a trained model as an ARPA back-off language model
 * that any ARPA reader (KenLM, SRILM, Kaldi, nglm-eval) scores exactly as
 * nglm does (see nglm/arpa.h), or the other way (--from-arpa): an ARPA
 * model as an nglm model file, which nglm-eval maps instead of parsing the
 * text (as KenLM's build_binary).  Usage: nglm-export --help.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "nglm/arpa.h"
#include "nglm/classlm.h"
#include "nglm/model.h"
#include "nglm/modelfile.h"
#include "outputs.h"

typedef struct options {
    const char *model, *from_arpa, *upgrade, *output;
    int force, output_given, no_norms;
} options;

static int given(const nglm_option *row, void *opts, const char *value, nglm_error *err)
{
    (void)row, (void)value, (void)err;
    ((options *)opts)->output_given = 1;
    return 0;
}

/* a row names the fields it uses; the rest are zero */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#define FIELD(f) offsetof(options, f)
static const nglm_option rows[] = {
    {"model", "FILE", "", "the model (written by nglm-train)", NGLM_OPT_STRING, FIELD(model)},
    {"from-arpa", "ARPA", "",
     "convert this ARPA file (plain or gzip; with <unk>, every n-gram's suffix listed, as "
     "KenLM's, SRILM's and nglm's are) into an nglm model at OUT that scores every token as "
     "it does, up to the file's rounding; nglm-eval then maps it in milliseconds",
     NGLM_OPT_STRING, FIELD(from_arpa)},
    {"upgrade", "MODEL", "",
     "check MODEL in full and write it again in this version's format (block checksums, "
     "verified on first use), to OUT or in place",
     NGLM_OPT_STRING, FIELD(upgrade)},
    {"output", "OUT", "",
     "where to write ('-' = stdout, the default); gzip-compressed when OUT ends in .gz",
     NGLM_OPT_STRING, FIELD(output), 0, 0, NULL, given, 'o'},
    {"force", NULL, "", "replace OUT even if it is not an ARPA file",
     NGLM_OPT_FLAG, FIELD(force)},
    {"no-norms", NULL, "",
     "with --from-arpa or --upgrade: leave out the stored normalisers, so that nglm-eval "
     "scores the model through its successor lists (as files written before them)",
     NGLM_OPT_FLAG, FIELD(no_norms)},
};
#undef FIELD

static void usage(FILE *fp)
{
    nglm_cli_table t = {rows, sizeof rows / sizeof *rows, NULL};
    fprintf(fp,
        "Usage: nglm-export --model FILE [-o OUT]\n"
        "       nglm-export --from-arpa ARPA -o OUT\n"
        "       nglm-export --upgrade MODEL [-o OUT]\n"
        "Write an nglm model as an exact ARPA back-off language model, or an ARPA\n"
        "model as an nglm model (what KenLM's build_binary is for KenLM).\n"
        "\n");
    nglm_cli_options_help(fp, &t, 1);
    fprintf(fp,
        "  -h, --help, --version\n"
        "\n"
        "Every n-gram feature becomes a listed n-gram, with back-off weights that\n"
        "reproduce the model's exact probabilities (10 significant digits).\n"
        "Models whose skip-gram features have non-zero weights cannot be exported:\n"
        "train them with --features ngram.\n"
        "\n"
        "Exit status: 0 success, 1 failure (bad model, I/O), 2 bad usage.\n");
}

int main(int argc, char **argv)
{
    nglm_cli_set_prog(argv[0]);
    options o;
    memset(&o, 0, sizeof o);
    o.output = "-";
    nglm_cli_table t = {rows, sizeof rows / sizeof *rows, &o};
    int first = nglm_cli_parse(argc, argv, &t, 1, usage,
                               "nglm-export takes --model FILE -o OUT.arpa (SRILM's -lm FILE "
                               "-write-lm OUT)");
    if (first != argc)
        nglm_cli_die(NGLM_EXIT_USAGE, "unexpected argument '%s' (see --help)", argv[first]);
    const char *model_path = o.model, *out = o.output, *from_arpa = o.from_arpa,
               *upgrade = o.upgrade;
    int force = o.force, out_given = o.output_given;
    unsigned save_flags = o.no_norms ? NGLM_SAVE_NO_NORMS : 0;
    if (o.no_norms && !upgrade && !from_arpa)
        nglm_cli_die(NGLM_EXIT_USAGE, "--no-norms goes with --from-arpa or --upgrade");
    nglm_error err;
    if (upgrade) { /* read with every check, written anew (atomically) */
        if (model_path || from_arpa)
            nglm_cli_die(NGLM_EXIT_USAGE, "--upgrade takes the model itself: no --model or "
                         "--from-arpa");
        const char *dst = strcmp(out, "-") == 0 ? upgrade : out;
        nglm_model m;
        if (nglm_model_load(&m, upgrade, &err) != 0)
            nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
        if (dst != upgrade) {
            const nglm_out_file src[] = {{"--upgrade", upgrade, NGLM_OUT_MODEL}};
            const nglm_out_file dsts[] = {{"-o", dst, NGLM_OUT_MODEL}};
            nglm_out_check(src, 1, dsts, 1, force);
        }
        if (nglm_model_save_flags(&m, dst, save_flags, &err) != 0)
            nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
        nglm_model_free(&m);
        return 0;
    }
    if (from_arpa) {
        if (model_path)
            nglm_cli_die(NGLM_EXIT_USAGE, "--from-arpa and --model go one way each: give one");
        if (!out_given || (strcmp(out, "-") == 0 && isatty(STDOUT_FILENO)))
            nglm_cli_die(NGLM_EXIT_USAGE, "--from-arpa needs -o OUT (a model file, or -o - "
                         "for standard output when it is not a terminal)");
        const nglm_out_file src[] = {{"--from-arpa", from_arpa, NGLM_OUT_ARPA}};
        const nglm_out_file dst[] = {{"-o", out, NGLM_OUT_MODEL}};
        nglm_out_check(src, 1, dst, 1, force);
        nglm_arpa *a = nglm_arpa_load(from_arpa, &err);
        nglm_model m;
        if (!a)
            nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
        if (nglm_arpa_to_model(a, &m, &err) != 0)
            nglm_cli_die(NGLM_EXIT_FAIL, "%s: %s", from_arpa, err.msg);
        nglm_arpa_free(a);
        if (nglm_model_save_flags(&m, out, save_flags, &err) != 0)
            nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
        nglm_model_free(&m);
        return 0;
    }
    if (!model_path)
        nglm_cli_die(NGLM_EXIT_USAGE, "--model FILE is required (see --help)");

    const nglm_out_file in[] = {{"--model", model_path, NGLM_OUT_MODEL}};
    const nglm_out_file outs[] = {{"-o", out, NGLM_OUT_ARPA}};
    nglm_out_check(in, 1, outs, 1, force);

    if (nglm_classlm_file_is(model_path))
        nglm_cli_die(NGLM_EXIT_FAIL, "%s: a class-based model (Model M) cannot be written as "
                     "ARPA: its probabilities are not a back-off model's; for decoders, train "
                     "an n-gram model (nglm-train --features ngram) and export that",
                     model_path);
    nglm_model m;
    /* mapped (no copy of the arrays) and verified: the export reads every
     * feature, and walks the index in ways only the full checks make safe */
    if (nglm_model_map(&m, model_path, NGLM_MAP_VERIFY, &err) != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
    if (nglm_arpa_save(&m, out, &err) != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
    if (!nglm_tok_options_is_default(&m.tok)) {
        char how[96];
        nglm_cli_warn("note: the model reads text tokenized as %s; other tools must be given "
                      "the same tokens (nglm-eval --model %s --print-tokens TEXT prints them; "
                      "the ARPA file says so in a '#' line before \\data\\, which nglm-eval "
                      "reads)", nglm_tok_options_spell(&m.tok, how, sizeof how), model_path);
    }
    nglm_model_free(&m);
    return 0;
}
