/*
 * nglm-eval — perplexity of a text under a trained model, reported like
 * SRILM's `ngram -ppl` (see nglm/eval.h).  Usage: nglm-eval --help.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "nglm/arpa.h"
#include "nglm/corpus.h"
#include "nglm/eval.h"
#include "nglm/model.h"
#include "nglm/modelfile.h"

static void usage(FILE *fp)
{
    fprintf(fp,
        "Usage: nglm-eval --model FILE [OPTION]... TEXT\n"
        "Report the perplexity of TEXT ('-' = stdin) under an nglm model.\n"
        "\n"
        "  --model FILE        the model: written by nglm-train, or an ARPA file\n"
        "                      (plain or gzip; nglm-export's, KenLM's, SRILM's)\n"
        "  --digits N          decimals of logprob, ppl and ppl1 (default 2)\n"
        "  --per-sentence      also print each sentence's log10 probability:\n"
        "                      'sentence N: logprob= X tokens= T' (N from 1, T with </s>)\n"
        "  --threads N         OpenMP threads (default: OMP_NUM_THREADS or all cores)\n"
        "  --help, --version\n"
        "\n"
        "Output (as SRILM's ngram -ppl):\n"
        "  file TEXT: S sentences, W words, O OOVs\n"
        "  0 zeroprobs, logprob= L ppl= P ppl1= P1\n"
        "logprob is log10; ppl counts words and </s>, ppl1 words only; OOVs are\n"
        "scored as <unk> (an ARPA model without <unk> skips them, as SRILM does).\n"
        "\n"
        "Exit status: 0 success, 1 failure (bad model or text, I/O), 2 bad usage.\n");
}

int main(int argc, char **argv)
{
    nglm_cli_set_prog(argv[0]);
    enum { O_MODEL = 256, O_PERSENT, O_THREADS, O_DIGITS, O_HELP, O_VERSION };
    static const struct option longopts[] = {
        {"model", 1, 0, O_MODEL}, {"per-sentence", 0, 0, O_PERSENT},
        {"threads", 1, 0, O_THREADS}, {"digits", 1, 0, O_DIGITS}, {"help", 0, 0, O_HELP}, {"version", 0, 0, O_VERSION},
        {0, 0, 0, 0}};
    const char *model_path = NULL;
    int per_sentence = 0, threads = 0, digits = 2, c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case O_MODEL: model_path = optarg; break;
        case O_PERSENT: per_sentence = 1; break;
        case O_THREADS: threads = (int)nglm_cli_long("--threads", optarg, 1, 4096); break;
        case O_DIGITS: digits = (int)nglm_cli_long("--digits", optarg, 0, 17); break;
        case O_HELP: usage(stdout); return 0;
        case O_VERSION: printf("nglm-eval (nglm) %s\n", PACKAGE_VERSION); return 0;
        default:
            nglm_cli_die(NGLM_EXIT_USAGE, "unknown option or missing value '%s' (see --help)",
                         argv[optind - 1]);
        }
    }
    if (!model_path)
        nglm_cli_die(NGLM_EXIT_USAGE, "--model FILE is required (see --help)");
    if (optind != argc - 1)
        nglm_cli_die(NGLM_EXIT_USAGE, optind == argc ? "no TEXT to evaluate (see --help)"
                                                     : "more than one TEXT given (see --help)");
    const char *text = argv[optind];

    nglm_error err;
    nglm_model m;
    memset(&m, 0, sizeof m);
    nglm_arpa *arpa = NULL; /* an ARPA model, told apart by content */
    if (!nglm_model_file_is_native(model_path) && nglm_arpa_file_is_arpa(model_path)) {
        if (!(arpa = nglm_arpa_load(model_path, &err)))
            nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
    } else if (nglm_model_load(&m, model_path, &err) != 0) {
        nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
    }
    nglm_tok_options tok = arpa ? nglm_tok_options_default() : m.tok;
    nglm_corpus corpus;
    if (nglm_corpus_read(&corpus, text, &tok, arpa ? nglm_arpa_vocab(arpa) : m.vocab,
                         &err) != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
    nglm_eval_report r;
    if ((arpa ? nglm_arpa_eval_corpus(arpa, &corpus, per_sentence, &r, &err)
              : nglm_eval_corpus(&m, &corpus, threads, per_sentence, &r, &err)) != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
    if (per_sentence)
        for (size_t s = 0; s < corpus.n_sents; s++)
            printf("sentence %zu: logprob= %.4f tokens= %zu\n", s + 1, r.sent_logprob10[s],
                   corpus.start[s + 1] - corpus.start[s]);
    nglm_eval_print_digits(stdout, strcmp(text, "-") == 0 ? "(stdin)" : text, &r, digits);
    if (fflush(stdout) != 0 || ferror(stdout))
        nglm_cli_die(NGLM_EXIT_FAIL, "error writing the report");
    nglm_eval_report_free(&r);
    nglm_corpus_free(&corpus);
    nglm_model_free(&m);
    nglm_arpa_free(arpa);
    return 0;
}
