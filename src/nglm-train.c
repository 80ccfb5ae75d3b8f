/*
 * nglm-train — trains a softmax n-gram model and reports perplexity.
 *
 * Data flow: text → vocabulary → id streams → feature index → trainer →
 * model file, then the test text's perplexity: the stages of the library's
 * pipeline (nglm/pipeline.h), which decides; this program parses the
 * options, prints, saves and handles signals.  With no --train it trains on
 * the bundled synthetic corpus (corpus/default.*) and prints the source's
 * oracle perplexity beside the model's.  Usage: nglm-train --help.
 *
 * Reliability (doc/reliability.md): the model and checkpoint paths are
 * checked before any work; training writes MODEL.ckpt (nglm/checkpoint.h) at
 * the end of every epoch and every --checkpoint-minutes; SIGINT/SIGTERM stop
 * at the next minibatch boundary with a checkpoint and the command that
 * resumes it (--resume), and exit 130/143; the checkpoint is removed once
 * the model is saved.
 *
 * Monitoring (monitor.c): --log writes one JSON object per epoch, --plot the
 * learning curve as SVG (nglm/plot.h), and progress within an epoch goes to
 * stderr (redrawn in place on a terminal, a plain line every few seconds
 * otherwise), from the trainer's on_progress callback.
 *
 * MPI (./configure --with-mpi, doc/mpi.md): under mpirun every rank runs
 * all of this, reading the texts itself and training its share; only rank
 * 0 prints and writes files (model, checkpoint, log, plot, vocabulary).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli.h"
#include "monitor.h"
#include "config.h"
#include "nglm/cache.h"
#include "nglm/checkpoint.h"
#include "nglm/dist.h"
#include "nglm/eval.h"
#include "nglm/model.h"
#include "nglm/modelfile.h"
#include "nglm/pipeline.h"
#include "nglm/train.h"
#include "nglm/vocab.h"
#include "outputs.h"


static void usage(FILE *fp)
{
    fprintf(fp,
        "Usage: nglm-train [OPTION]...\n"
        "Train a softmax (maximum-entropy) n-gram language model.\n"
        "With no --train, train on the bundled synthetic corpus.\n"
        "\n"
        "Data:\n"
        "  --train FILE        training text, one sentence per line ('-' = stdin)\n"
        "  --valid FILE        validation text (default: a seeded 5%% of --train held out)\n"
        "  --test FILE         test text: report its perplexity at the end\n"
        "  --eval-cache auto   choose the cache of the text's recent past that suits\n"
        "                      --valid best and record it in the model (nglm-eval\n"
        "                      --cache model); with --test, report its perplexity\n"
        "                      with that cache too\n"
        "  --model FILE        where to save the model (default model.nglm)\n"
        "  --vocab FILE        use this vocabulary (word<TAB>count per line, or one\n"
        "                      word per line as SRILM's -vocab)\n"
        "  --write-vocab FILE  save the vocabulary built from --train\n"
        "  --min-count N       words seen fewer than N times become <unk> (default 1)\n"
        "  --max-vocab N       keep at most N words, specials included (default: all)\n"
        "  --tokenize MODE     space (default), word or char\n"
        "  --lowercase         fold case\n"
        "  --replace-invalid   replace invalid UTF-8 with U+FFFD instead of failing\n"
        "  --cache DIR         keep the vocabulary and the texts' id streams in DIR\n"
        "                      (created if missing) and map them on later runs\n"
        "                      instead of reading the texts again\n"
        "Model:\n"
        "  --order N|auto      n-gram order, 1..%d; auto (default): of 2..%d, the one\n"
        "                      whose Kneser-Ney model has the lowest validation\n"
        "                      perplexity (%d with --init zero)\n"
        "  --cutoffs LIST      minimum counts of 2-grams,3-grams,... (default: 1 with\n"
        "                      --init kn; 1,1,1,2,2,... with --init zero: 2 from\n"
        "                      5-grams on)\n"
        "  --features LIST     feature templates: ngram, skip2, skip3, ...\n"
        "                      (default ngram,skip2,skip3; ngram alone exports to ARPA)\n"
        "  --skip-cutoff N     minimum count of a skip-gram feature (default 4)\n"
        "  --max-memory SIZE   fit the model in SIZE (K, M, G): raise the cutoffs of\n"
        "                      the longest n-grams (and skip-grams) until it fits,\n"
        "                      or fail saying what would fit (default: no limit)\n"
        "  --memory SIZE       memory for counting n-grams (K, M, G; default 1G): beyond\n"
        "                      it, sorted counts spill to --temp-dir and are merged\n"
        "  --temp-dir DIR      where counting spills (default: $TMPDIR, else /tmp)\n"
        "Training (the defaults depend on --init, as measured on PTB):\n"
        "  --classes FILE      train Model M, the class-based exponential model, with the\n"
        "                      classes of FILE (word<TAB>class) instead of the word model\n"
        "                      (at most 15 epochs from zero, --lr 1, --ada-init 0.1,\n"
        "                      --batch 2000, --min-gain 0.01)\n"
        "  --init MODE         starting weights: kn (default), the n-gram weights of\n"
        "                      interpolated modified Kneser-Ney on the training text\n"
        "                      (pruned like the features), evaluated as epoch 0 and\n"
        "                      kept if no epoch beats them; or zero (unigrams only)\n"
        "  --schedule NAME     linear: the rate falls linearly to 0 over --epochs\n"
        "                      epochs (default with --init kn); halve: constant until\n"
        "                      an epoch gains less than --min-gain, then halved every\n"
        "                      epoch, stopping at the next small gain (with --init zero)\n"
        "  --epochs N          epochs: %d with --init kn (linear; %d with --features\n"
        "                      ngram), at most %d with --init zero (halve); 0: only\n"
        "                      build the vocabulary and write it (--write-vocab)\n"
        "  --lr X              learning rate (default %g with --init kn, %g with zero)\n"
        "  --ada-init X        AdaGrad's initial squared-gradient sum (default %g with\n"
        "                      --init kn, %g with zero)\n"
        "  --l1 X              l1 penalty (default 0.5)\n"
        "  --l2 X              l2 penalty (default 0.1667)\n"
        "  --optimizer NAME    adagrad (default) or sgd\n"
        "  --min-gain X        halve schedule: relative validation gain below which the\n"
        "                      rate is halved, and training stops the next time\n"
        "                      (default 0.02)\n"
        "  --halve-from N      halve schedule: halve the rate after every epoch from\n"
        "                      epoch N on, not only once the gain is small (default 0)\n"
        "  --best              the best model measured on PTB, in about four times the\n"
        "                      default's time: %d epochs and the skip4 template too\n"
        "                      (unless --epochs or --features say otherwise)\n"
        "  --average           keep each epoch's average weights (Polyak averaging)\n"
        "  --batch N|auto      minibatch size in tokens (default auto: the training\n"
        "                      tokens / 450, at least 2000)\n"
        "  --threads N         OpenMP threads (default: OMP_NUM_THREADS or all cores)\n"
        "  --seed N            seed of the sentence order and held-out slice (default 1)\n"
        "Checkpoints (MODEL.ckpt, removed once the model is saved):\n"
        "  --resume            continue the run that left MODEL.ckpt (same options and\n"
        "                      texts; --threads may differ): the model is the same, bit\n"
        "                      for bit, as if the run had never stopped\n"
        "  --checkpoint-minutes X  also checkpoint every X minutes within an epoch\n"
        "                      (default 10; 0: at the end of each epoch only)\n"
        "  --no-checkpoint     write no checkpoint (SIGINT and SIGTERM then just kill)\n"
        "  --stop-after N      stop after N epochs of this run, leaving a checkpoint\n"
        "Monitoring:\n"
        "  --log FILE          write one JSON object per epoch to FILE (JSON Lines)\n"
        "  --plot FILE         the learning curve (valid ppl per epoch) as SVG; with the\n"
        "                      bundled corpus the oracle perplexity is drawn too\n"
        "  --plot-reference X  draw a reference perplexity (e.g. a Kneser-Ney baseline)\n"
        "  --plot-label TEXT   the reference line's label (default 'reference')\n"
        "  --progress MODE     progress on stderr: auto (default: redrawn on a terminal,\n"
        "                      a line every 5 s otherwise), always (also a line every\n"
        "                      minibatch when not a terminal), never\n"
        "  --quiet             print only the final results (and no progress)\n"
        "  --force             replace output files that nglm did not write (without\n"
        "                      it, --model, --log, --plot and --write-vocab replace\n"
        "                      only a model, log, plot or vocabulary file)\n"
        "  -h, --help, --version\n"
        "\n"
        "SIGINT or SIGTERM stops training at the next minibatch, writes the checkpoint\n"
        "and prints the command that resumes it.\n"
        "Exit status: 0 success (or stopped by --stop-after), 1 failure (bad data, I/O,\n"
        "divergence), 2 bad usage, 130 interrupted by SIGINT, 143 by SIGTERM.\n",
        NGLM_MAX_ORDER, NGLM_PIPELINE_ORDER, NGLM_PIPELINE_ORDER, NGLM_PIPELINE_KN_EPOCHS,
        NGLM_PIPELINE_KN_EPOCHS_NGRAM, NGLM_PIPELINE_ZERO_EPOCHS, NGLM_PIPELINE_KN_LR,
        NGLM_PIPELINE_ZERO_LR, NGLM_PIPELINE_KN_ADA_INIT, NGLM_PIPELINE_ZERO_ADA_INIT,
        NGLM_PIPELINE_BEST_EPOCHS);
}

/* The pipeline's options (nglm/pipeline.h) and the program's own. */
typedef struct options {
    nglm_pipeline_options p;
    const char *model, *write_vocab;
    int quiet;
    int force;                  /* --force: replace outputs nglm did not write */
    int vocab_only;             /* --epochs 0: write the vocabulary, train nothing */
    const char *log, *plot, *plot_label;
    double plot_ref;            /* NAN: none given */
    int progress;               /* NGLM_CLI_PROGRESS_* */
    int resume, no_checkpoint, stop_after;
    double checkpoint_min;
    int default_corpus;
    char corpus_prefix[4096];
} options;

static int file_exists(const char *path) { return access(path, R_OK) == 0; }

static void parse_args(int argc, char **argv, options *o)
{
    enum { O_TRAIN = 256, O_VALID, O_TEST, O_MODEL, O_VOCAB, O_WVOCAB, O_MINC, O_MAXV,
           O_TOK, O_LOWER, O_REPL, O_ORDER, O_CUT, O_EPOCHS, O_L1, O_L2, O_LR, O_OPT,
           O_BATCH, O_THREADS, O_SEED, O_QUIET, O_FORCE, O_EVALCACHE, O_HELP, O_VERSION, O_AVG, O_ADAINIT, O_FEAT, O_SKIPCUT, O_MINGAIN, O_HALVE,
           O_RESUME, O_CKPTMIN, O_NOCKPT, O_STOPAFTER, O_LOG, O_PLOT, O_PLOTREF, O_PLOTLABEL,
           O_PROGRESS, O_MAXMEM, O_CACHE, O_INIT, O_SCHEDULE, O_BEST };
    enum { O_MEMORY = 512, O_TEMPDIR, O_CLASSES };
    static const struct option longopts[] = {
        {"train", 1, 0, O_TRAIN}, {"valid", 1, 0, O_VALID}, {"test", 1, 0, O_TEST},
        {"model", 1, 0, O_MODEL}, {"vocab", 1, 0, O_VOCAB}, {"write-vocab", 1, 0, O_WVOCAB},
        {"min-count", 1, 0, O_MINC}, {"max-vocab", 1, 0, O_MAXV},
        {"tokenize", 1, 0, O_TOK}, {"lowercase", 0, 0, O_LOWER},
        {"replace-invalid", 0, 0, O_REPL}, {"order", 1, 0, O_ORDER},
        {"cutoffs", 1, 0, O_CUT}, {"epochs", 1, 0, O_EPOCHS}, {"l1", 1, 0, O_L1},
        {"l2", 1, 0, O_L2}, {"lr", 1, 0, O_LR}, {"optimizer", 1, 0, O_OPT},
        {"batch", 1, 0, O_BATCH}, {"threads", 1, 0, O_THREADS}, {"seed", 1, 0, O_SEED},
        {"features", 1, 0, O_FEAT}, {"max-memory", 1, 0, O_MAXMEM}, {"min-gain", 1, 0, O_MINGAIN}, {"halve-from", 1, 0, O_HALVE}, {"skip-cutoff", 1, 0, O_SKIPCUT},
        {"resume", 0, 0, O_RESUME}, {"checkpoint-minutes", 1, 0, O_CKPTMIN},
        {"no-checkpoint", 0, 0, O_NOCKPT}, {"stop-after", 1, 0, O_STOPAFTER},
        {"log", 1, 0, O_LOG}, {"plot", 1, 0, O_PLOT}, {"plot-reference", 1, 0, O_PLOTREF},
        {"plot-label", 1, 0, O_PLOTLABEL}, {"progress", 1, 0, O_PROGRESS},
        {"memory", 1, 0, O_MEMORY}, {"temp-dir", 1, 0, O_TEMPDIR},
        {"cache", 1, 0, O_CACHE}, {"init", 1, 0, O_INIT}, {"schedule", 1, 0, O_SCHEDULE},
        {"best", 0, 0, O_BEST},
        {"classes", 1, 0, O_CLASSES},
        {"average", 0, 0, O_AVG}, {"ada-init", 1, 0, O_ADAINIT}, {"quiet", 0, 0, O_QUIET}, {"force", 0, 0, O_FORCE}, {"eval-cache", 1, 0, O_EVALCACHE}, {"help", 0, 0, O_HELP}, {"version", 0, 0, O_VERSION},
        {0, 0, 0, 0}};
    nglm_error err;
    memset(o, 0, sizeof *o);
    o->p = nglm_pipeline_options_default();
    o->model = "model.nglm";
    o->checkpoint_min = 10;
    o->plot_ref = NAN;
    o->plot_label = "reference";
    o->progress = NGLM_CLI_PROGRESS_AUTO;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case O_TRAIN: o->p.train = optarg; break;
        case O_VALID: o->p.valid = optarg; break;
        case O_TEST: o->p.test = optarg; break;
        case O_MODEL: o->model = optarg; break;
        case O_VOCAB: o->p.vocab = optarg; break;
        case O_CACHE: o->p.id_cache = optarg; break;
        case O_WVOCAB: o->write_vocab = optarg; break;
        case O_MINC: o->p.min_count = (uint64_t)nglm_cli_long("--min-count", optarg, 1, INT64_MAX); break;
        case O_MAXV: o->p.max_vocab = (size_t)nglm_cli_long("--max-vocab", optarg, NGLM_NUM_SPECIAL + 1, INT32_MAX); break;
        case O_TOK: o->p.tok.mode = nglm_cli_tok_mode(optarg); break;
        case O_LOWER: o->p.tok.lowercase = 1; break;
        case O_REPL: o->p.tok.replace_invalid = 1; break;
        case O_ORDER:
            o->p.order_auto = strcmp(optarg, "auto") == 0;
            o->p.order = o->p.order_auto ? NGLM_PIPELINE_ORDER
                                     : (int)nglm_cli_long("--order", optarg, 1, NGLM_MAX_ORDER);
            break;
        case O_CUT:
            if (nglm_pipeline_parse_cutoffs(optarg, o->p.cutoff, &err) != 0)
                nglm_cli_die(NGLM_EXIT_USAGE, "%s", err.msg);
            break;
        case O_EPOCHS:
            o->p.tr.max_epochs = (int)nglm_cli_long("--epochs", optarg, 0, NGLM_MAX_EPOCHS);
            break;
        case O_L1: o->p.tr.l1 = nglm_cli_double("--l1", optarg, 0, 1e9); break;
        case O_L2: o->p.tr.l2 = nglm_cli_double("--l2", optarg, 0, 1e9); break;
        case O_LR: o->p.tr.lr = nglm_cli_double("--lr", optarg, 1e-9, 1e6); break;
        case O_OPT:
            if (strcmp(optarg, "adagrad") == 0)
                o->p.tr.optimizer = NGLM_ADAGRAD;
            else if (strcmp(optarg, "sgd") == 0)
                o->p.tr.optimizer = NGLM_SGD;
            else
                nglm_cli_die(NGLM_EXIT_USAGE, "--optimizer: '%s' is not adagrad or sgd", optarg);
            break;
        case O_BATCH:
            o->p.tr.batch = strcmp(optarg, "auto") == 0
                              ? 0
                              : (size_t)nglm_cli_long("--batch", optarg, 1, 1 << 24);
            break;
        case O_THREADS: o->p.tr.threads = (int)nglm_cli_long("--threads", optarg, 1, 4096); break;
        case O_SEED: o->p.tr.seed = (uint64_t)nglm_cli_long("--seed", optarg, 0, INT64_MAX); break;
        case O_QUIET: o->quiet = 1; break;
        case O_FORCE: o->force = 1; break;
        case O_EVALCACHE:
            if (strcmp(optarg, "auto") != 0)
                nglm_cli_die(NGLM_EXIT_USAGE, "--eval-cache: '%s' is not auto", optarg);
            o->p.eval_cache = 1;
            break;
        case O_LOG: o->log = optarg; break;
        case O_PLOT: o->plot = optarg; break;
        case O_PLOTREF: o->plot_ref = nglm_cli_double("--plot-reference", optarg, 1e-300, 1e300); break;
        case O_PLOTLABEL: o->plot_label = optarg; break;
        case O_PROGRESS:
            o->progress = nglm_cli_progress_mode(optarg);
            break;
        case O_RESUME: o->resume = 1; break;
        case O_CKPTMIN: o->checkpoint_min = nglm_cli_double("--checkpoint-minutes", optarg, 0, 1e9); break;
        case O_NOCKPT: o->no_checkpoint = 1; break;
        case O_STOPAFTER: o->stop_after = (int)nglm_cli_long("--stop-after", optarg, 1, 100000); break;
        case O_AVG: o->p.tr.average = 1; break;
        case O_FEAT:
            if (nglm_pipeline_parse_features(optarg, &o->p, &err) != 0)
                nglm_cli_die(NGLM_EXIT_USAGE, "%s", err.msg);
            break;
        case O_BEST: o->p.best = 1; break;
        case O_MAXMEM: o->p.max_memory = nglm_cli_size("--max-memory", optarg); break;
        case O_MEMORY:
            o->p.count_memory = nglm_cli_size("--memory", optarg);
            if (o->p.count_memory == 0)
                nglm_cli_die(NGLM_EXIT_USAGE, "--memory: must be more than 0");
            break;
        case O_TEMPDIR: o->p.temp_dir = optarg; break;
        case O_CLASSES: o->p.classes = optarg; break;
        case O_MINGAIN:
            o->p.tr.min_gain = nglm_cli_double("--min-gain", optarg, 0, 1);
            o->p.halving_given = 1;
            break;
        case O_HALVE:
            o->p.tr.halve_from = (int)nglm_cli_long("--halve-from", optarg, 0, NGLM_MAX_EPOCHS);
            o->p.halving_given = 1;
            break;
        case O_SKIPCUT: o->p.skip_cutoff = (uint32_t)nglm_cli_long("--skip-cutoff", optarg, 1, UINT32_MAX); break;
        case O_ADAINIT:
            o->p.tr.ada_init = nglm_cli_double("--ada-init", optarg, 0, 1e9);
            break;
        case O_SCHEDULE:
            if (strcmp(optarg, "linear") == 0)
                o->p.tr.schedule = NGLM_SCHEDULE_LINEAR;
            else if (strcmp(optarg, "halve") == 0)
                o->p.tr.schedule = NGLM_SCHEDULE_HALVE;
            else
                nglm_cli_die(NGLM_EXIT_USAGE, "--schedule: '%s' is not linear or halve", optarg);
            o->p.schedule_auto = 0;
            break;
        case O_INIT:
            if (strcmp(optarg, "kn") == 0)
                o->p.init_kn = 1;
            else if (strcmp(optarg, "zero") == 0)
                o->p.init_kn = 0;
            else
                nglm_cli_die(NGLM_EXIT_USAGE, "--init: '%s' is not kn or zero", optarg);
            break;
        case 'h':
        case O_HELP: usage(stdout); exit(0);
        case O_VERSION: printf("nglm-train (nglm) %s\n", PACKAGE_VERSION); exit(0);
        default:
            nglm_cli_bad_option(c, argc, argv, "nglm-train takes --train TEXT --model FILE "
                                "(SRILM's ngram-count -text TEXT -lm FILE)");
        }
    }
    if (optind < argc)
        nglm_cli_die(NGLM_EXIT_USAGE, "unexpected argument '%s' (see --help)", argv[optind]);
    if (o->quiet && o->progress == NGLM_CLI_PROGRESS_AUTO)
        o->progress = NGLM_CLI_PROGRESS_NEVER;
    o->vocab_only = o->p.tr.max_epochs == 0;
    if (o->vocab_only && !o->write_vocab)
        nglm_cli_die(NGLM_EXIT_USAGE, "--epochs 0 only builds the vocabulary: give "
                     "--write-vocab FILE to write it");
    if (o->vocab_only && (o->resume || o->p.vocab))
        nglm_cli_die(NGLM_EXIT_USAGE, "--epochs 0 builds a vocabulary: it cannot go with --%s",
                     o->resume ? "resume" : "vocab");
    if (o->no_checkpoint && (o->resume || o->stop_after))
        nglm_cli_die(NGLM_EXIT_USAGE, "--no-checkpoint cannot go with --%s",
                     o->resume ? "resume" : "stop-after");
    if (!o->p.train) {
        const char *prefix = NGLM_BUILD_CORPUS;
        char probe[4200];
        snprintf(probe, sizeof probe, "%s.train.txt", prefix);
        if (!file_exists(probe))
            prefix = NGLM_DATA_CORPUS;
        snprintf(o->corpus_prefix, sizeof o->corpus_prefix, "%s", prefix);
        o->default_corpus = 1;
    }
}

/* The oracle perplexity written by nglm-gen next to the default corpus. */
static double read_oracle(const char *prefix)
{
    char path[4200], key[64];
    double val, found = NAN;
    snprintf(path, sizeof path, "%s.oracle", prefix);
    FILE *fp = fopen(path, "r");
    if (!fp)
        return NAN;
    char line[256];
    while (fgets(line, sizeof line, fp)) /* "key value" lines, '#' comments */
        if (sscanf(line, "%63s %lf", key, &val) == 2 && strcmp(key, "oracle_ppl") == 0)
            found = val;
    fclose(fp);
    return found;
}

/* ------------------------------------------------------------- the stages */

/* The pipeline's long stages feed the meter (cli.h); its warnings go to
 * stderr as the program's. */
static nglm_progress stage_begin(const char *what, const char *unit, double scale, void *user)
{
    return nglm_cli_meter_begin(user, what, unit, scale);
}

static void stage_end(void *user) { nglm_cli_meter_clear(user); }

static void stage_warn(const char *msg, void *user)
{
    (void)user;
    nglm_cli_warn("%s", msg);
}

/* Under MPI every rank reads the texts itself. */
static void check_stdin(const nglm_pipeline_options *p)
{
#define IS_STDIN(path) ((path) && strcmp((path), "-") == 0)
    if (nglm_dist_size() > 1 && (IS_STDIN(p->train) || IS_STDIN(p->valid) || IS_STDIN(p->test)))
        nglm_cli_die(NGLM_EXIT_USAGE, "a text cannot be '-' (stdin) under MPI: every rank "
                     "reads the texts itself");
#undef IS_STDIN
}

/* The bundled corpus's three texts, where no --train is given. */
static void default_texts(options *o, char paths[3][4200])
{
    snprintf(paths[0], 4200, "%s.train.txt", o->corpus_prefix);
    snprintf(paths[1], 4200, "%s.valid.txt", o->corpus_prefix);
    snprintf(paths[2], 4200, "%s.test.txt", o->corpus_prefix);
    o->p.train = paths[0];
    if (!o->p.valid)
        o->p.valid = paths[1];
    if (!o->p.test)
        o->p.test = paths[2];
}

/* No output is an input or replaces a file nglm did not write; one
 * training at a time on a model path (src/outputs.h). */
static void check_outputs(const options *o, const char *ckpt)
{
    const nglm_out_file in[] = {{"--train", o->p.train, NGLM_OUT_NEW},
                                {"--valid", o->p.valid, NGLM_OUT_NEW},
                                {"--test", o->p.test, NGLM_OUT_NEW},
                                {"--vocab", o->p.vocab, NGLM_OUT_NEW}};
    const int model = !o->vocab_only;
    const nglm_out_file out[] = {{"--model", model ? o->model : NULL, NGLM_OUT_MODEL},
                                 {"the checkpoint", model && !o->no_checkpoint ? ckpt : NULL,
                                  NGLM_OUT_CHECKPOINT},
                                 {"--write-vocab", o->write_vocab, NGLM_OUT_VOCAB},
                                 {"--log", o->log, NGLM_OUT_LOG},
                                 {"--plot", o->plot, NGLM_OUT_PLOT}};
    nglm_out_check(in, sizeof in / sizeof *in, out, sizeof out / sizeof *out, o->force);
    if (model)
        nglm_out_lock(o->model);
}

/* The vocabulary stage: the text is read twice (vocabulary, then ids), so
 * stdin or a FIFO is copied to --temp-dir first, and then nothing is
 * cached; --write-vocab saves what was built. */
static void make_vocab(nglm_pipeline *P, const options *o)
{
    nglm_error err;
    if (!P->opt.vocab) {
        const char *train = P->opt.train;
        const char *twice = nglm_cli_rereadable(train, P->opt.temp_dir,
                                                "--train -: stdin is a terminal; pipe a text "
                                                "in, or give --train FILE");
        if (twice != train) {
            P->opt.train_name = strcmp(train, "-") == 0 ? "(stdin)" : train;
            P->opt.train = twice;
            P->opt.id_cache = NULL;
        }
    }
    if (nglm_pipeline_vocab(P, &err) != 0 ||
        (o->write_vocab && nglm_vocab_save(P->model.vocab, o->write_vocab, &err) != 0))
        nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
}

/* The monitor of the trainer (monitor.h), and the checkpoint to resume
 * from; *resume is the caller's to free. */
static void setup_training(nglm_pipeline *P, const options *o, nglm_monitor *rs, FILE *log,
                           const char *ckpt, nglm_cli_meter *meter, nglm_train_state *resume)
{
    nglm_error err;
    nglm_train_options *tr = &P->opt.tr;
    memset(rs, 0, sizeof *rs);
    rs->quiet = o->quiet;
    rs->log = log;
    rs->log_path = o->log;
    rs->plot_path = o->plot;
    rs->plot_ref = o->plot_ref;
    rs->plot_label = o->plot_label;
    if (isnan(rs->plot_ref) && o->default_corpus) {
        rs->plot_ref = read_oracle(o->corpus_prefix);
        rs->plot_label = "oracle";
    }
    rs->stop_after = o->stop_after;
    rs->ckpt = o->no_checkpoint ? NULL : ckpt;
    rs->meter = meter;
    memset(resume, 0, sizeof *resume);
    if (o->resume) {
        if (nglm_checkpoint_load(resume, ckpt, &err) != 0)
            nglm_cli_die(NGLM_EXIT_FAIL, "cannot resume: %s", err.msg);
        if (nglm_train_can_resume(&P->model, &P->train, &P->valid, tr, resume, &err) != 0)
            nglm_cli_die(NGLM_EXIT_FAIL, "cannot resume from %s: %s", ckpt, err.msg);
        tr->resume = resume;
        rs->cur_epoch = (int)resume->epoch;
        if (!o->quiet)
            printf("resuming from %s: epoch %u, sentence %llu of %llu\n", ckpt,
                   (unsigned)resume->epoch,
                   (unsigned long long)(resume->started ? resume->sent : 0),
                   (unsigned long long)resume->n_sents);
    }
    nglm_monitor_attach(rs, tr, o->checkpoint_min * 60);
}

/* Training, resumed from the checkpoint or from the start; returns 1 if it
 * stopped (signal or --stop-after) with a checkpoint, after printing the
 * command that resumes it. */
static int train_model(nglm_pipeline *P, const options *o, FILE *log, const char *ckpt,
                       nglm_cli_meter *meter, int argc, char **argv)
{
    nglm_error err;
    nglm_monitor rs;
    nglm_train_state resume;
    setup_training(P, o, &rs, log, ckpt, meter, &resume);
    if (!o->no_checkpoint)
        nglm_monitor_signals(1);
    int rc = nglm_pipeline_train(P, &err);
    nglm_cli_meter_clear(meter);
    nglm_monitor_free(&rs);
    if (log && fclose(log) != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s: write error: %s", o->log, strerror(errno));
    if (!o->no_checkpoint)
        nglm_monitor_signals(0);
    nglm_train_state_free(&resume);
    if (rc != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
    if (rs.stopped && nglm_dist_rank() == 0 && nglm_monitor_report_stop(&rs, argc, argv) != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "cannot write the report");
    return rs.stopped;
}

/* Prunes and saves the model, and removes the checkpoint. */
static void save_model(nglm_pipeline *P, const options *o, const char *ckpt, double t0)
{
    nglm_error err;
    if (nglm_pipeline_finish(P, &err) != 0 || nglm_model_save(&P->model, o->model, &err) != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
    if (!o->no_checkpoint && unlink(ckpt) != 0 && errno != ENOENT)
        nglm_cli_warn("warning: cannot remove %s: %s", ckpt, strerror(errno));
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("saved %s: epoch %u, valid ppl %.2f, %zu features (%zu zero-weight features pruned), "
           "total %.2f s, peak RSS %ld MB\n", o->model, P->model.info.epochs,
           P->model.info.valid_ppl, P->model.feat.n_feat, P->pruned, nglm_cli_wall() - t0,
           ru.ru_maxrss / 1024);
}

/* The test text's report, with the Kneser-Ney start's, the oracle's and
 * the cache's figures beside it. */
static void report_test(const nglm_pipeline *P, const options *o, nglm_cli_meter *meter)
{
    nglm_error err;
    nglm_pipeline_test_result t;
    nglm_progress p = nglm_cli_meter_begin(meter, "scoring the test text", "tokens", 1);
    if (nglm_pipeline_test(P, &t, &p, &err) != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
    nglm_cli_meter_clear(meter);
    double ppl = t.report.ppl;
    nglm_eval_print(stdout, P->opt.test, &t.report);
    if (isfinite(P->kn_test_ppl))
        printf("test ppl %.2f vs the Kneser-Ney start's %.2f (%+.1f%%)\n", ppl, P->kn_test_ppl,
               100.0 * (ppl / P->kn_test_ppl - 1.0));
    double oracle = o->default_corpus ? read_oracle(o->corpus_prefix) : NAN;
    if (isfinite(oracle))
        printf("test ppl %.2f vs the source's oracle ppl %.2f (%.1f%% above)\n", ppl, oracle,
               100.0 * (ppl / oracle - 1.0));
    if (isfinite(t.cache_ppl)) {
        const nglm_cache_spec *s = &P->model.cache;
        char name[96];
        printf("test ppl %.2f with the cache %s, weights %.3g", t.cache_ppl,
               nglm_cache_name(s, name, sizeof name), s->lambda);
        if (s->bigram_length > 0)
            printf(" and %.3g", s->bigram_lambda);
        printf(" (chosen on the validation text, where it gives %.2f), vs %.2f without (%+.1f%%)\n",
               P->cache_valid_ppl, ppl, 100.0 * (t.cache_ppl / ppl - 1.0));
    }
    nglm_eval_report_free(&t.report);
}

/* --classes: Model M trained, saved and tested (nglm_pipeline_classlm). */
static void train_classlm(nglm_pipeline *P, const options *o, double t0)
{
    nglm_error err;
    nglm_classlm m;
    if (nglm_pipeline_classlm(P, &m, &err) != 0 || nglm_classlm_save(&m, o->model, &err) != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("saved %s: Model M, epoch %u, valid ppl %.2f, total %.2f s, peak RSS %ld MB\n",
           o->model, m.info.epochs, m.info.valid_ppl, nglm_cli_wall() - t0, ru.ru_maxrss / 1024);
    if (P->have_test) {
        nglm_eval_report r;
        if (nglm_pipeline_classlm_test(P, &m, &r, &err) != 0)
            nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
        nglm_eval_print(stdout, P->opt.test, &r);
        nglm_eval_report_free(&r);
    }
    nglm_classlm_free(&m);
}

int main(int argc, char **argv)
{
    nglm_cli_set_prog(argv[0]);
    if (nglm_dist_init(&argc, &argv) != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "cannot start MPI");
    /* under MPI every rank trains (see src/train.c); only rank 0 prints
     * progress and writes files */
    const int rank = nglm_dist_rank();
    options o;
    parse_args(argc, argv, &o);
    if (rank != 0) {
        o.quiet = 1;
        o.progress = NGLM_CLI_PROGRESS_NEVER;
        o.log = o.plot = o.write_vocab = NULL;
        o.p.id_cache = NULL; /* rank 0 fills it; the others read the texts */
    }
    char paths[3][4200], ckpt[4200];
    if (o.default_corpus)
        default_texts(&o, paths);
    if (snprintf(ckpt, sizeof ckpt, "%s.ckpt", o.model) >= (int)sizeof ckpt)
        nglm_cli_die(NGLM_EXIT_USAGE, "--model: path too long");
    nglm_cli_meter meter;
    nglm_cli_meter_init(&meter, o.progress);
    o.p.out = o.quiet ? NULL : stdout;
    o.p.stage_begin = stage_begin;
    o.p.stage_end = stage_end;
    o.p.warn = stage_warn;
    o.p.user = &meter;
    nglm_pipeline P;
    nglm_error err;
    if (nglm_pipeline_init(&P, &o.p, &err) != 0)
        nglm_cli_die(NGLM_EXIT_USAGE, "%s", err.msg);
    check_stdin(&P.opt);
    /* a file size limit makes writes fail with EFBIG instead of killing us */
    signal(SIGXFSZ, SIG_IGN);
    if (rank == 0)
        check_outputs(&o, ckpt);
    if (o.default_corpus && !o.quiet)
        printf("no --train given: using the bundled corpus %s.*\n", o.corpus_prefix);
    FILE *log = NULL;
    if (o.log && !(log = fopen(o.log, "w")))
        nglm_cli_die(NGLM_EXIT_FAIL, "%s: %s", o.log, strerror(errno));
    if (o.resume && access(ckpt, F_OK) != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s: %s: nothing to resume", ckpt, strerror(errno));
    if (!o.resume && !o.no_checkpoint && access(ckpt, F_OK) == 0 && rank == 0)
        nglm_cli_warn("note: %s was left by an unfinished run; this run starts afresh and "
                      "replaces it (--resume continues it)", ckpt);
    double t0 = nglm_cli_wall();

    make_vocab(&P, &o);
    if (o.vocab_only) {
        printf("wrote %s (%zu words); --epochs 0: no model trained\n", o.write_vocab,
               nglm_vocab_size(P.model.vocab));
        nglm_pipeline_free(&P);
        nglm_dist_finalize();
        return 0;
    }
    if (nglm_pipeline_texts(&P, &err) != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
    nglm_cli_rereadable_done(); /* the copy of stdin, if any, is read */
    if (o.p.classes) { /* Model M instead of the word model */
        train_classlm(&P, &o, t0);
        nglm_pipeline_free(&P);
        nglm_dist_finalize();
        return 0;
    }
    if (nglm_pipeline_features(&P, &err) != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
    int stopped = train_model(&P, &o, log, ckpt, &meter, argc, argv);
    if (!stopped && rank == 0) { /* the other ranks are done: rank 0 saves */
        save_model(&P, &o, ckpt, t0);
        if (P.have_test)
            report_test(&P, &o, &meter);
    }
    nglm_pipeline_free(&P);
    if (fflush(stdout) != 0 || ferror(stdout))
        nglm_cli_die(NGLM_EXIT_FAIL, "cannot write the report on stdout");
    nglm_dist_finalize();
    return stopped && nglm_monitor_signal() ? 128 + nglm_monitor_signal() : 0;
}
