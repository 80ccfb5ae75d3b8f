/*
 * nglm-export — writes a trained model as an ARPA back-off language model
 * that any ARPA reader (KenLM, SRILM, Kaldi, nglm-eval) scores exactly as
 * nglm does (see nglm/arpa.h), or the other way (--from-arpa): an ARPA
 * model as an nglm model file, which nglm-eval maps instead of parsing the
 * text (as KenLM's build_binary).  Usage: nglm-export --help.
 */
#include <getopt.h>
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

static void usage(FILE *fp)
{
    fprintf(fp,
        "Usage: nglm-export --model FILE [-o OUT]\n"
        "       nglm-export --from-arpa ARPA -o OUT\n"
        "       nglm-export --upgrade MODEL [-o OUT]\n"
        "Write an nglm model as an exact ARPA back-off language model, or an ARPA\n"
        "model as an nglm model (what KenLM's build_binary is for KenLM).\n"
        "\n"
        "  --model FILE        the model (written by nglm-train)\n"
        "  --from-arpa ARPA    convert this ARPA file (plain or gzip; with <unk>, every\n"
        "                      n-gram's suffix listed, as KenLM's, SRILM's and nglm's\n"
        "                      are) into an nglm model at OUT that scores every token as\n"
        "                      it does, up to the file's rounding; nglm-eval then maps it\n"
        "                      in milliseconds\n"
        "  --upgrade MODEL     check MODEL in full and write it again in this version's\n"
        "                      format (block checksums, verified on first use), to OUT\n"
        "                      or in place\n"
        "  -o, --output OUT    where to write ('-' = stdout, the default);\n"
        "                      gzip-compressed when OUT ends in .gz\n"
        "  --force             replace OUT even if it is not an ARPA file\n"
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
    enum { O_MODEL = 256, O_FORCE, O_HELP, O_VERSION, O_FROM_ARPA, O_UPGRADE };
    static const struct option longopts[] = {
        {"model", 1, 0, O_MODEL}, {"output", 1, 0, 'o'}, {"force", 0, 0, O_FORCE},
        {"from-arpa", 1, 0, O_FROM_ARPA}, {"upgrade", 1, 0, O_UPGRADE},
        {"help", 0, 0, O_HELP}, {"version", 0, 0, O_VERSION}, {0, 0, 0, 0}};
    const char *model_path = NULL, *out = "-", *from_arpa = NULL, *upgrade = NULL;
    int c, force = 0, out_given = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":ho:", longopts, NULL)) != -1) {
        switch (c) {
        case O_MODEL: model_path = optarg; break;
        case O_FROM_ARPA: from_arpa = optarg; break;
        case O_UPGRADE: upgrade = optarg; break;
        case 'o': out = optarg; out_given = 1; break;
        case O_FORCE: force = 1; break;
        case 'h':
        case O_HELP: usage(stdout); return 0;
        case O_VERSION: printf("nglm-export (nglm) %s\n", PACKAGE_VERSION); return 0;
        default:
            nglm_cli_bad_option(c, argc, argv, "nglm-export takes --model FILE -o OUT.arpa "
                                "(SRILM's -lm FILE -write-lm OUT)");
        }
    }
    if (optind != argc)
        nglm_cli_die(NGLM_EXIT_USAGE, "unexpected argument '%s' (see --help)", argv[optind]);
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
        if (nglm_model_save(&m, dst, &err) != 0)
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
        if (nglm_model_save(&m, out, &err) != 0)
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
