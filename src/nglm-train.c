/*
 * nglm-train — trains a softmax n-gram model and reports perplexity.
 *
 * Data flow: text → vocabulary → id streams → feature index → trainer →
 * model file, then the test text's perplexity.  With no --train it trains on
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
 * Monitoring: --log writes one JSON object per epoch, --plot the learning
 * curve as SVG (nglm/plot.h), and progress within an epoch goes to stderr
 * (redrawn in place on a terminal, a plain line every few seconds
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
#include <sys/stat.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "cli.h"
#include "config.h"
#include "dist.h"
#include "nglm/cache.h"
#include "nglm/checkpoint.h"
#include "nglm/corpus.h"
#include "nglm/eval.h"
#include "nglm/features.h"
#include "nglm/idcache.h"
#include "nglm/kn.h"
#include "nglm/model.h"
#include "nglm/modelfile.h"
#include "nglm/plot.h"
#include "nglm/train.h"
#include "nglm/vocab.h"
#include "outputs.h"

#define DEFAULT_ORDER 5
/* Training defaults by start, measured on PTB (README.md, bench/RESULTS.md).
 * From Kneser-Ney one epoch whose rate falls linearly to 0 gets most of the
 * gain; AdaGrad's initial sum damps the first steps, which with 1e-8 would
 * be a full ±lr and erase the start.  From zero, the halving schedule. */
#define KN_EPOCHS 1
#define KN_EPOCHS_NGRAM 4 /* n-gram features alone: an epoch costs a fraction */
#define BEST_EPOCHS 4     /* --best: and a skip-gram template at distance 4 */
#define KN_LR 0.8
#define KN_ADA_INIT 2.0
#define ZERO_EPOCHS 20
#define ZERO_LR 2.0
#define ZERO_ADA_INIT 1e-8

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
        NGLM_MAX_ORDER, DEFAULT_ORDER, DEFAULT_ORDER, KN_EPOCHS, KN_EPOCHS_NGRAM, ZERO_EPOCHS, KN_LR, ZERO_LR,
        KN_ADA_INIT, ZERO_ADA_INIT, BEST_EPOCHS);
}

typedef struct options {
    const char *train, *valid, *test, *model, *vocab, *write_vocab;
    const char *cache;          /* --cache DIR, or NULL */
    nglm_tok_options tok;
    uint64_t min_count;
    size_t max_vocab;
    int order;                  /* the n-gram order; with order_auto, the highest tried */
    int order_auto;             /* --order auto (default): chosen by Kneser-Ney */
    uint32_t cutoff[NGLM_MAX_ORDER + 1];
    int n_skip, skip_dist[NGLM_MAX_SKIP];
    uint32_t skip_cutoff;
    uint64_t max_memory;        /* 0: no limit */
    uint64_t count_memory;      /* --memory: counting buffers; 0: the default */
    const char *temp_dir;       /* --temp-dir, or NULL */
    int quiet;
    int force;                  /* --force: replace outputs nglm did not write */
    int vocab_only;             /* --epochs 0: write the vocabulary, train nothing */
    const char *train_name;     /* how to name --train when it was copied (stdin) */
    int eval_cache;             /* --eval-cache auto: also the test ppl with a cache */
    const char *log, *plot, *plot_label;
    double plot_ref;            /* NAN: none given */
    int progress;               /* NGLM_CLI_PROGRESS_* */
    int resume, no_checkpoint, stop_after;
    double checkpoint_min;
    nglm_train_options tr;
    int init_kn;                /* --init kn (default) or zero */
    int set_epochs, set_lr, set_ada, set_schedule; /* given on the command line */
    int set_halving;            /* --min-gain or --halve-from given */
    int set_cutoffs, set_features;
    int best;                   /* --best */
    int default_corpus;
    char corpus_prefix[4096];
} options;

static int file_exists(const char *path) { return access(path, R_OK) == 0; }

/* "2,2,3" → cutoff[2]=2, cutoff[3]=2, cutoff[4]=3, later orders = last */
static void parse_cutoffs(const char *s, uint32_t *cutoff)
{
    char buf[256];
    if (strlen(s) >= sizeof buf)
        nglm_cli_die(NGLM_EXIT_USAGE, "--cutoffs: list too long");
    strcpy(buf, s);
    int m = 2;
    long last = 1;
    char *tok = buf;
    for (;;) { /* split at commas; an empty item is an error, not skipped */
        char *comma = strchr(tok, ',');
        if (comma)
            *comma = '\0';
        if (m > NGLM_MAX_ORDER)
            nglm_cli_die(NGLM_EXIT_USAGE, "--cutoffs: more values than orders");
        last = nglm_cli_long("--cutoffs", tok, 1, UINT32_MAX);
        if (m > 2 && (uint32_t)last < cutoff[m - 1])
            nglm_cli_die(NGLM_EXIT_USAGE, "--cutoffs: values must not decrease");
        cutoff[m++] = (uint32_t)last;
        if (!comma)
            break;
        tok = comma + 1;
    }
    if (m == 2)
        nglm_cli_die(NGLM_EXIT_USAGE, "--cutoffs: empty list");
    for (; m <= NGLM_MAX_ORDER; m++)
        cutoff[m] = (uint32_t)last;
}

/* "ngram,skip2,skip3": the n-gram template is always on */
static void parse_features(const char *s, options *o)
{
    char buf[256];
    if (strlen(s) >= sizeof buf)
        nglm_cli_die(NGLM_EXIT_USAGE, "--features: list too long");
    strcpy(buf, s);
    o->n_skip = 0;
    int have_ngram = 0;
    for (char *tok = buf, *comma; tok; tok = comma ? comma + 1 : NULL) {
        comma = strchr(tok, ',');
        if (comma)
            *comma = '\0';
        if (strcmp(tok, "ngram") == 0) {
            have_ngram = 1;
        } else if (strncmp(tok, "skip", 4) == 0 && tok[4] >= '2' && tok[4] <= '9' && !tok[5]) {
            int d = tok[4] - '0';
            for (int i = 0; i < o->n_skip; i++)
                if (o->skip_dist[i] == d)
                    nglm_cli_die(NGLM_EXIT_USAGE, "--features: '%s' given twice", tok);
            if (o->n_skip == NGLM_MAX_SKIP)
                nglm_cli_die(NGLM_EXIT_USAGE, "--features: at most %d skip templates", NGLM_MAX_SKIP);
            o->skip_dist[o->n_skip++] = d;
        } else {
            nglm_cli_die(NGLM_EXIT_USAGE, "--features: unknown template '%s' (ngram, skip2 .. skip9)", tok);
        }
    }
    if (!have_ngram)
        nglm_cli_die(NGLM_EXIT_USAGE, "--features: the list must include ngram");
}

static void parse_args(int argc, char **argv, options *o)
{
    enum { O_TRAIN = 256, O_VALID, O_TEST, O_MODEL, O_VOCAB, O_WVOCAB, O_MINC, O_MAXV,
           O_TOK, O_LOWER, O_REPL, O_ORDER, O_CUT, O_EPOCHS, O_L1, O_L2, O_LR, O_OPT,
           O_BATCH, O_THREADS, O_SEED, O_QUIET, O_FORCE, O_EVALCACHE, O_HELP, O_VERSION, O_AVG, O_ADAINIT, O_FEAT, O_SKIPCUT, O_MINGAIN, O_HALVE,
           O_RESUME, O_CKPTMIN, O_NOCKPT, O_STOPAFTER, O_LOG, O_PLOT, O_PLOTREF, O_PLOTLABEL,
           O_PROGRESS, O_MAXMEM, O_CACHE, O_INIT, O_SCHEDULE, O_BEST };
    enum { O_MEMORY = 512, O_TEMPDIR };
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
        {"average", 0, 0, O_AVG}, {"ada-init", 1, 0, O_ADAINIT}, {"quiet", 0, 0, O_QUIET}, {"force", 0, 0, O_FORCE}, {"eval-cache", 1, 0, O_EVALCACHE}, {"help", 0, 0, O_HELP}, {"version", 0, 0, O_VERSION},
        {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    o->model = "model.nglm";
    o->checkpoint_min = 10;
    o->plot_ref = NAN;
    o->plot_label = "reference";
    o->progress = NGLM_CLI_PROGRESS_AUTO;
    o->tok = nglm_tok_options_default();
    o->order = DEFAULT_ORDER;
    o->order_auto = 1;
    /* 4, not 2: on PTB 1.45x faster training for +0.3% test ppl, since a
     * skip-gram's cost is its successor list, per token (README.md) */
    o->skip_cutoff = 4;
    o->n_skip = 2; /* measured best on PTB: README.md, bench/RESULTS.md */
    o->skip_dist[0] = 2;
    o->skip_dist[1] = 3;
    /* from zero, 5-grams and longer seen once are left out: on PTB the same
     * test ppl (136.91 against 137.11) with 41% less memory and 5-10%
     * shorter epochs (README.md); from Kneser-Ney every n-gram is kept, so
     * that the start is the whole of lmplz's model (PTB: 136.48 against
     * 136.70 after the default epoch) */
    for (int m = 0; m <= NGLM_MAX_ORDER; m++)
        o->cutoff[m] = m >= 5 ? 2 : 1;
    o->tr = nglm_train_options_default();
    o->init_kn = 1;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case O_TRAIN: o->train = optarg; break;
        case O_VALID: o->valid = optarg; break;
        case O_TEST: o->test = optarg; break;
        case O_MODEL: o->model = optarg; break;
        case O_VOCAB: o->vocab = optarg; break;
        case O_CACHE: o->cache = optarg; break;
        case O_WVOCAB: o->write_vocab = optarg; break;
        case O_MINC: o->min_count = (uint64_t)nglm_cli_long("--min-count", optarg, 1, INT64_MAX); break;
        case O_MAXV: o->max_vocab = (size_t)nglm_cli_long("--max-vocab", optarg, NGLM_NUM_SPECIAL + 1, INT32_MAX); break;
        case O_TOK: o->tok.mode = nglm_cli_tok_mode(optarg); break;
        case O_LOWER: o->tok.lowercase = 1; break;
        case O_REPL: o->tok.replace_invalid = 1; break;
        case O_ORDER:
            o->order_auto = strcmp(optarg, "auto") == 0;
            o->order = o->order_auto ? DEFAULT_ORDER
                                     : (int)nglm_cli_long("--order", optarg, 1, NGLM_MAX_ORDER);
            break;
        case O_CUT: parse_cutoffs(optarg, o->cutoff); o->set_cutoffs = 1; break;
        case O_EPOCHS:
            o->tr.max_epochs = (int)nglm_cli_long("--epochs", optarg, 0, NGLM_MAX_EPOCHS);
            o->set_epochs = 1;
            break;
        case O_L1: o->tr.l1 = nglm_cli_double("--l1", optarg, 0, 1e9); break;
        case O_L2: o->tr.l2 = nglm_cli_double("--l2", optarg, 0, 1e9); break;
        case O_LR: o->tr.lr = nglm_cli_double("--lr", optarg, 1e-9, 1e6); o->set_lr = 1; break;
        case O_OPT:
            if (strcmp(optarg, "adagrad") == 0)
                o->tr.optimizer = NGLM_ADAGRAD;
            else if (strcmp(optarg, "sgd") == 0)
                o->tr.optimizer = NGLM_SGD;
            else
                nglm_cli_die(NGLM_EXIT_USAGE, "--optimizer: '%s' is not adagrad or sgd", optarg);
            break;
        case O_BATCH:
            o->tr.batch = strcmp(optarg, "auto") == 0
                              ? 0
                              : (size_t)nglm_cli_long("--batch", optarg, 1, 1 << 24);
            break;
        case O_THREADS: o->tr.threads = (int)nglm_cli_long("--threads", optarg, 1, 4096); break;
        case O_SEED: o->tr.seed = (uint64_t)nglm_cli_long("--seed", optarg, 0, INT64_MAX); break;
        case O_QUIET: o->quiet = 1; break;
        case O_FORCE: o->force = 1; break;
        case O_EVALCACHE:
            if (strcmp(optarg, "auto") != 0)
                nglm_cli_die(NGLM_EXIT_USAGE, "--eval-cache: '%s' is not auto", optarg);
            o->eval_cache = 1;
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
        case O_AVG: o->tr.average = 1; break;
        case O_FEAT: parse_features(optarg, o); o->set_features = 1; break;
        case O_BEST: o->best = 1; break;
        case O_MAXMEM: o->max_memory = nglm_cli_size("--max-memory", optarg); break;
        case O_MEMORY:
            o->count_memory = nglm_cli_size("--memory", optarg);
            if (o->count_memory == 0)
                nglm_cli_die(NGLM_EXIT_USAGE, "--memory: must be more than 0");
            break;
        case O_TEMPDIR: o->temp_dir = optarg; break;
        case O_MINGAIN:
            o->tr.min_gain = nglm_cli_double("--min-gain", optarg, 0, 1);
            o->set_halving = 1;
            break;
        case O_HALVE:
            o->tr.halve_from = (int)nglm_cli_long("--halve-from", optarg, 0, NGLM_MAX_EPOCHS);
            o->set_halving = 1;
            break;
        case O_SKIPCUT: o->skip_cutoff = (uint32_t)nglm_cli_long("--skip-cutoff", optarg, 1, UINT32_MAX); break;
        case O_ADAINIT:
            o->tr.ada_init = nglm_cli_double("--ada-init", optarg, 0, 1e9);
            o->set_ada = 1;
            break;
        case O_SCHEDULE:
            if (strcmp(optarg, "linear") == 0)
                o->tr.schedule = NGLM_SCHEDULE_LINEAR;
            else if (strcmp(optarg, "halve") == 0)
                o->tr.schedule = NGLM_SCHEDULE_HALVE;
            else
                nglm_cli_die(NGLM_EXIT_USAGE, "--schedule: '%s' is not linear or halve", optarg);
            o->set_schedule = 1;
            break;
        case O_INIT:
            if (strcmp(optarg, "kn") == 0)
                o->init_kn = 1;
            else if (strcmp(optarg, "zero") == 0)
                o->init_kn = 0;
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
    /* --best: the best model measured on PTB, for about four times the
     * time (README.md), where not given otherwise */
    if (o->best) {
        if (!o->init_kn)
            nglm_cli_die(NGLM_EXIT_USAGE, "--best goes with --init kn");
        if (!o->set_epochs) {
            o->tr.max_epochs = BEST_EPOCHS;
            o->set_epochs = 1;
        }
        if (!o->set_features && o->n_skip < NGLM_MAX_SKIP)
            o->skip_dist[o->n_skip++] = 4;
    }
    /* the defaults of the start, where not given; --min-gain and
     * --halve-from are the halving schedule's */
    if (o->set_schedule && o->set_halving && o->tr.schedule == NGLM_SCHEDULE_LINEAR)
        nglm_cli_die(NGLM_EXIT_USAGE, "--min-gain and --halve-from go with --schedule halve, "
                     "not linear");
    if (!o->set_schedule)
        o->tr.schedule = o->init_kn && !o->set_halving ? NGLM_SCHEDULE_LINEAR
                                                       : NGLM_SCHEDULE_HALVE;
    if (!o->set_epochs)
        o->tr.max_epochs = o->tr.schedule != NGLM_SCHEDULE_LINEAR ? ZERO_EPOCHS
                           : o->n_skip > 0                        ? KN_EPOCHS
                                                                  : KN_EPOCHS_NGRAM;
    if (!o->set_lr)
        o->tr.lr = o->init_kn ? KN_LR : ZERO_LR;
    if (!o->set_ada)
        o->tr.ada_init = o->init_kn ? KN_ADA_INIT : ZERO_ADA_INIT;
    if (!o->set_cutoffs && o->init_kn) /* every n-gram: the start is lmplz's model */
        for (int m = 0; m <= NGLM_MAX_ORDER; m++)
            o->cutoff[m] = 1;
    if (o->quiet && o->progress == NGLM_CLI_PROGRESS_AUTO)
        o->progress = NGLM_CLI_PROGRESS_NEVER;
    o->vocab_only = o->set_epochs && o->tr.max_epochs == 0;
    if (o->vocab_only && !o->write_vocab)
        nglm_cli_die(NGLM_EXIT_USAGE, "--epochs 0 only builds the vocabulary: give "
                     "--write-vocab FILE to write it");
    if (o->vocab_only && (o->resume || o->vocab))
        nglm_cli_die(NGLM_EXIT_USAGE, "--epochs 0 builds a vocabulary: it cannot go with --%s",
                     o->resume ? "resume" : "vocab");
    if (o->no_checkpoint && (o->resume || o->stop_after))
        nglm_cli_die(NGLM_EXIT_USAGE, "--no-checkpoint cannot go with --%s",
                     o->resume ? "resume" : "stop-after");
    if (!o->train) {
        const char *prefix = NGLM_BUILD_CORPUS;
        char probe[4200];
        snprintf(probe, sizeof probe, "%s.train.txt", prefix);
        if (!file_exists(probe))
            prefix = NGLM_DATA_CORPUS;
        snprintf(o->corpus_prefix, sizeof o->corpus_prefix, "%s", prefix);
        o->default_corpus = 1;
    }
}

/* The sentences sents[0..n) of c as a corpus of their own. */
static int corpus_subset(const nglm_corpus *c, const size_t *sents, size_t n, nglm_corpus *out)
{
    memset(out, 0, sizeof *out);
    size_t tokens = 0;
    for (size_t i = 0; i < n; i++)
        tokens += c->start[sents[i] + 1] - c->start[sents[i]];
    out->ids = malloc((tokens ? tokens : 1) * sizeof *out->ids);
    out->start = malloc((n + 1) * sizeof *out->start);
    if (!out->ids || !out->start)
        return -1;
    size_t t = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const int32_t *s = nglm_corpus_sentence(c, sents[i], &len);
        out->start[i] = t;
        memcpy(out->ids + t, s, len * sizeof *s);
        t += len;
        for (size_t j = 0; j + 1 < len; j++)
            out->n_oov += s[j] == NGLM_UNK; /* approximate: literal <unk> counts too */
    }
    out->start[n] = t;
    out->n_sents = n;
    out->n_tokens = t;
    out->n_words = t - n;
    return 0;
}

/* Holds out every 20th sentence of a seeded rotation as validation text. */
static void hold_out(nglm_corpus *train, nglm_corpus *valid, uint64_t seed)
{
    size_t n = train->n_sents, nv = n / 20 ? n / 20 : (n > 1 ? 1 : 0), nt = n - nv;
    if (nv == 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "the training text has only %zu sentence(s): "
                     "give a --valid text", n);
    size_t *keep = malloc(nt * sizeof *keep), *held = malloc(nv * sizeof *held);
    if (!keep || !held)
        nglm_cli_die(NGLM_EXIT_FAIL, "out of memory");
    size_t offset = (size_t)(seed % 20), a = 0, b = 0;
    for (size_t s = 0; s < n; s++) {
        if (s % 20 == offset && b < nv)
            held[b++] = s;
        else if (a < nt)
            keep[a++] = s;
        else
            held[b++] = s;
    }
    nglm_corpus t2, v2;
    if (corpus_subset(train, keep, nt, &t2) != 0 || corpus_subset(train, held, nv, &v2) != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "out of memory");
    free(keep);
    free(held);
    nglm_corpus_free(train);
    *train = t2;
    *valid = v2;
}

/* Reads a text's id stream, or with --cache maps it from the cache (and
 * fills the cache the first time). */
static void read_corpus(nglm_corpus *c, const char *path, const char *shown,
                        const nglm_tok_options *tok, const options *o, const nglm_vocab *v,
                        const char *what, nglm_cli_meter *meter)
{
    nglm_error err;
    int hit = 0;
    char title[128];
    snprintf(title, sizeof title, "reading %.100s", path);
    nglm_progress p = nglm_cli_meter_begin(meter, title, "MB", 1e-6);
    if (o->cache && strcmp(path, "-") != 0) {
        if (nglm_idcache_corpus(c, o->cache, path, tok, v, &hit, &err) != 0)
            nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
        if (hit < 0)
            nglm_cli_warn("warning: cache: %s; read the text again and replaced it", err.msg);
    } else if (nglm_corpus_read_progress(c, path, tok, v, &p, &err) != 0) {
        nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
    }
    nglm_cli_meter_clear(meter);
    if (!o->quiet)
        printf("%s %s: %zu sentences, %llu words, %llu OOVs, %zu tokens%s\n", what, shown,
               c->n_sents, (unsigned long long)c->n_words, (unsigned long long)c->n_oov,
               c->n_tokens, !o->cache || strcmp(path, "-") == 0 ? ""
                            : hit > 0 ? " (mapped from the cache)" : " (cached)");
}

/* --cache DIR: creates DIR if it does not exist. */
static void open_cache(const char *dir)
{
    struct stat st;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        nglm_cli_die(NGLM_EXIT_FAIL, "--cache %s: %s", dir, strerror(errno));
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        nglm_cli_die(NGLM_EXIT_FAIL, "--cache %s: not a directory", dir);
    if (access(dir, W_OK | X_OK) != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "--cache %s: %s", dir, strerror(errno));
}

/* The vocabulary counted from the training text and finalized; with
 * --cache, loaded from the cache when the same text and options made one. */
static nglm_vocab *count_vocab(const options *o, nglm_cli_meter *meter)
{
    nglm_error err;
    char path[4200 + 64];
    if (o->cache) {
        if (nglm_idcache_vocab_path(path, sizeof path, o->cache, o->train, &o->tok,
                                    o->min_count, o->max_vocab, &err) != 0)
            nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
        if (access(path, F_OK) == 0) {
            nglm_vocab *v = nglm_vocab_load(path, &err);
            if (v) {
                if (!o->quiet)
                    printf("vocabulary: from the cache %s\n", path);
                return v;
            }
            nglm_cli_warn("warning: cache: %s; counting again", err.msg);
        }
    }
    nglm_vocab *v = nglm_vocab_new();
    char title[128];
    snprintf(title, sizeof title, "counting %.100s", o->train);
    nglm_progress p = nglm_cli_meter_begin(meter, title, "MB", 1e-6);
    int rc = v ? nglm_vocab_count_file_threads(v, o->train, &o->tok, o->tr.threads, &p, NULL, &err)
               : -1;
    nglm_cli_meter_clear(meter);
    if (rc != 0 || nglm_vocab_finalize(v, o->min_count, o->max_vocab, &err) != 0) {
        const char *why = v ? err.msg : "out of memory";
        nglm_vocab_free(v); /* nothing reachable is left for a leak checker to flag */
        nglm_cli_die(NGLM_EXIT_FAIL, "%s", why);
    }
    if (o->cache && nglm_idcache_save_vocab(v, path, &err) != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "cache: %s", err.msg);
    return v;
}

static void print_epoch(const nglm_epoch_report *r, void *user)
{
    (void)user;
    if (r->epoch == 0) { /* the starting weights (--init kn) */
        printf("epoch  0  Kneser-Ney start  valid ppl %.2f *  elapsed %.2f s  nonzero %zu/%zu\n",
               r->valid_ppl, r->elapsed_s, r->nonzero, r->features);
        fflush(stdout);
        return;
    }
    printf("epoch %2d  lr %.4g  train loss %.4f (ppl %.2f)  valid ppl %.2f%s  "
           "%.0f tokens/s  epoch %.2f s  elapsed %.2f s  nonzero %zu/%zu\n",
           r->epoch, r->lr, r->train_loss, r->train_ppl, r->valid_ppl, r->best ? " *" : "  ",
           r->tokens_per_s, r->epoch_s, r->elapsed_s, r->nonzero, r->features);
    if (r->rollbacks > 0)
        printf("  (diverged: rolled back to the best weights and halved lr %u time%s)\n",
               r->rollbacks, r->rollbacks > 1 ? "s" : "");
    fflush(stdout);
}

/* ------------------------------------------------------------ reliability */

/* Set by the signal handler (the signal number) or by --stop-after (-1);
 * the trainer polls it between minibatches.  A handler can only reach
 * static storage, so this is the program's one piece of global state. */
static volatile sig_atomic_t stop_flag;

static void on_signal(int sig) { stop_flag = sig; }

/* SIGINT and SIGTERM stop training cleanly; SA_RESETHAND makes a second
 * one kill at once (safe: every file is replaced atomically). */
static void catch_signals(int on)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on ? on_signal : SIG_DFL;
    sa.sa_flags = on ? SA_RESETHAND : 0;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* What the checkpoint callback needs and reports back. */
typedef struct run_state {
    const options *o;
    const char *ckpt;           /* MODEL.ckpt */
    int epochs_this_run;
    int stopped;                /* a checkpoint was written on stopping */
    uint32_t epoch, started;    /* where, for the message */
    uint64_t sent, n_sents;
    /* monitoring */
    FILE *log;                  /* --log, or NULL */
    double *ppl;                /* (n_epochs) valid ppl of this run's epochs, for --plot */
    int n_epochs, cap_epochs;
    double plot_ref;            /* NAN: no reference line */
    const char *plot_label;
    nglm_cli_meter *meter;      /* progress on stderr (cli.h) */
    int cur_epoch;              /* the epoch under way (progress) */
    int in_epoch;               /* the meter shows the epoch's pass */
} run_state;

/* Called by the trainer after every minibatch; the meter rate-limits. */
static void on_progress(size_t done, size_t total, double loss, void *user)
{
    run_state *rs = user;
    if (!rs->in_epoch || done < rs->meter->done0) { /* a new epoch's pass, or a restarted one */
        char what[32];
        snprintf(what, sizeof what, "epoch %d", rs->cur_epoch);
        nglm_cli_meter_begin(rs->meter, what, "tokens", 1);
        rs->meter->done0 = done;
        rs->in_epoch = 1;
        return;
    }
    char extra[32];
    snprintf(extra, sizeof extra, "loss %.4f", loss);
    nglm_cli_meter_show(rs->meter, done, total, extra);
}

/* One line of --log: a JSON object (the numbers are finite: a report is
 * only made for an epoch whose loss and perplexity are). */
static void log_epoch(run_state *rs, const nglm_epoch_report *r)
{
    char loss[32] = "null"; /* epoch 0 (the start) has no training loss */
    if (isfinite(r->train_loss))
        snprintf(loss, sizeof loss, "%.10g", r->train_loss);
    fprintf(rs->log, "{\"epoch\":%d,\"lr\":%.10g,\"train_loss\":%s,\"valid_ppl\":%.10g,"
            "\"tokens_per_s\":%.10g,\"elapsed_s\":%.10g,\"features\":%zu,\"nonzero\":%zu,"
            "\"best\":%s}\n", r->epoch, r->lr, loss, r->valid_ppl, r->tokens_per_s,
            r->elapsed_s, r->features, r->nonzero, r->best ? "true" : "false");
    if (fflush(rs->log) != 0 || ferror(rs->log))
        nglm_cli_die(NGLM_EXIT_FAIL, "%s: write error: %s", rs->o->log, strerror(errno));
}

static void plot_epochs(run_state *rs)
{
    nglm_error err;
    if (nglm_plot_svg(rs->ppl, rs->n_epochs, rs->plot_ref, rs->plot_label, rs->o->plot, &err) != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
}

static void on_epoch(const nglm_epoch_report *r, void *user)
{
    run_state *rs = user;
    nglm_cli_meter_clear(rs->meter);
    rs->cur_epoch = r->epoch + 1;
    rs->in_epoch = 0;
    if (!rs->o->quiet)
        print_epoch(r, NULL);
    if (rs->log)
        log_epoch(rs, r);
    if (r->epoch == 0) { /* the start: drawn as the reference line, not an epoch */
        if (isnan(rs->plot_ref)) {
            rs->plot_ref = r->valid_ppl;
            rs->plot_label = "Kneser-Ney";
        }
        return;
    }
    if (rs->o->plot) {
        if (rs->n_epochs == rs->cap_epochs) {
            rs->cap_epochs = rs->cap_epochs ? 2 * rs->cap_epochs : 32;
            rs->ppl = realloc(rs->ppl, (size_t)rs->cap_epochs * sizeof *rs->ppl);
            if (!rs->ppl)
                nglm_cli_die(NGLM_EXIT_FAIL, "out of memory");
        }
        rs->ppl[rs->n_epochs++] = r->valid_ppl;
        plot_epochs(rs);
    }
    if (rs->o->stop_after && ++rs->epochs_this_run >= rs->o->stop_after && !stop_flag)
        stop_flag = -1;
}

static int on_checkpoint(const nglm_train_state *s, nglm_checkpoint_reason why, void *user,
                         nglm_error *err)
{
    run_state *rs = user;
    if (nglm_dist_rank() == 0 && nglm_checkpoint_save(s, rs->ckpt, err) != 0) {
        if (why == NGLM_CKPT_STOP)
            return nglm_error_prefix(err, "stopped, but cannot write the checkpoint");
        /* a checkpoint is a convenience: training goes on, the old one stays */
        nglm_cli_warn("warning: %s; training goes on, the previous checkpoint is kept",
                      err->msg);
        return 0;
    }
    if (why == NGLM_CKPT_STOP) {
        rs->stopped = 1;
        rs->epoch = s->epoch;
        rs->started = s->started;
        rs->sent = s->sent;
        rs->n_sents = s->n_sents;
    }
    return 0;
}

/* The command line that resumes this run: argv, quoted for the shell where
 * needed, with --resume added. */
static void print_resume_command(FILE *fp, int argc, char **argv)
{
    int has_resume = 0;
    char prog[4200];
    for (int i = 0; i < argc; i++) {
        const char *a = i == 0 ? nglm_cli_invoked_as(argv[0], prog, sizeof prog) : argv[i];
        has_resume |= i > 0 && strcmp(a, "--resume") == 0;
        int plain = *a != '\0';
        for (const char *p = a; *p; p++)
            if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=:,+@%", *p))
                plain = 0;
        if (i > 0)
            fputc(' ', fp);
        if (plain) {
            fputs(a, fp);
        } else {
            fputc('\'', fp);
            for (const char *p = a; *p; p++)
                if (*p == '\'')
                    fputs("'\\''", fp);
                else
                    fputc(*p, fp);
            fputc('\'', fp);
        }
    }
    fputs(has_resume ? "\n" : " --resume\n", fp);
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

static void build_once(nglm_features *F, const nglm_corpus *train, int32_t V,
                       const options *o, const uint32_t *cutoff, uint32_t skip_cutoff,
                       nglm_cli_meter *meter)
{
    nglm_error err;
    char title[64];
    snprintf(title, sizeof title, "counting %d-grams", o->order);
    nglm_progress p = nglm_cli_meter_begin(meter, title, "tokens", 1);
    nglm_count_opts co = {o->tr.threads, (size_t)o->count_memory, o->temp_dir, &p};
    if (nglm_features_build_with(F, train, V, o->order, cutoff, &co, &err) != 0 ||
        (o->n_skip > 0 && nglm_features_add_skips_with(F, train, o->n_skip, o->skip_dist,
                                                       skip_cutoff, &co, &err) != 0))
        nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
    nglm_cli_meter_clear(meter);
}

/* "512 KB", "3.4 MB" */
static const char *mem_str(double bytes, char *buf, size_t n)
{
    if (bytes < 1048576.0)
        snprintf(buf, n, "%.0f KB", bytes / 1024.0);
    else
        snprintf(buf, n, "%.1f MB", bytes / 1048576.0);
    return buf;
}

/* "2,2,3" for the 2-gram.. cutoffs */
static const char *cutoff_list(const uint32_t *cutoff, int order, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int k = 2; k <= order && len + 12 < n; k++)
        len += (size_t)snprintf(buf + len, n - len, "%s%u", k > 2 ? "," : "", cutoff[k]);
    return buf;
}

/* The feature index, within --max-memory if one is given: the cutoffs of
 * the longest orders are raised step by step (each level 1 → 2 → 3 → 5 →
 * 8 ... reached by the longest order first, keeping the list
 * non-decreasing), the skip-gram cutoff with the longest order's, until the
 * estimate of nglm_train_memory (index and training state) fits. */
static void build_features(nglm_features *F, const nglm_corpus *train, int32_t V, options *o,
                           nglm_cli_meter *meter)
{
    build_once(F, train, V, o, o->cutoff, o->skip_cutoff, meter);
    if (!o->max_memory)
        return;
    size_t need = nglm_train_memory(F, &o->tr), first = need;
    uint32_t cut[NGLM_MAX_ORDER + 1];
    memcpy(cut, o->cutoff, sizeof cut);
    uint32_t skip_cut = o->skip_cutoff;
    char list[128];
    for (int round = 0; need > o->max_memory && round < 64 && o->order > 1; round++) {
        /* (1,1,1,1) → (1,1,1,2) → (1,1,2,2) → ... → (2,2,2,2) → (2,2,2,3):
         * widen the plateau of the largest cutoff down to the 2-grams, then
         * raise the longest order again */
        uint32_t top = cut[o->order];
        int k = o->order;
        while (k > 2 && cut[k - 1] == top)
            k--;
        if (k > 2 || cut[2] != top) {
            cut[k - (cut[k] == top ? 1 : 0)] = top;
        } else {
            uint32_t next = top + (top + 1) / 2;
            for (int j = o->order; j <= NGLM_MAX_ORDER; j++)
                cut[j] = next;
        }
        if (skip_cut < cut[o->order])
            skip_cut = cut[o->order];
        nglm_features_free(F);
        build_once(F, train, V, o, cut, skip_cut, meter);
        need = nglm_train_memory(F, &o->tr);
    }
    char a[32], b[32], c[32];
    if (need > o->max_memory)
        nglm_cli_die(NGLM_EXIT_FAIL,
                     "--max-memory %s: the model needs %s even with --cutoffs %s; "
                     "give at least that much, or lower --order or --max-vocab",
                     mem_str((double)o->max_memory, a, sizeof a), mem_str((double)need, b, sizeof b),
                     cutoff_list(cut, o->order, list, sizeof list));
    if (memcmp(cut, o->cutoff, sizeof cut) != 0) {
        memcpy(o->cutoff, cut, sizeof cut);
        o->skip_cutoff = skip_cut;
        if (!o->quiet)
            printf("max-memory: %s would not fit in %s: using --cutoffs %s --skip-cutoff %u (%s)\n",
                   mem_str((double)first, a, sizeof a), mem_str((double)o->max_memory, b, sizeof b),
                   cutoff_list(cut, o->order, list, sizeof list), skip_cut,
                   mem_str((double)need, c, sizeof c));
    }
}

/* Kneser-Ney as nglm-train estimates it: the n-grams below the cutoffs
 * pruned as lmplz's --prune would (prune[m] = cutoff[m] − 1), lmplz's
 * discount statistics, the fallback discounts where a text is too small. */
static nglm_kn_options kn_options(const options *o, const nglm_corpus *train)
{
    nglm_kn_options ko = nglm_kn_options_default();
    ko.threads = o->tr.threads;
    ko.text = train;
    ko.fallback = 1; /* a text too small for the discounts still trains */
    for (int m = 2; m <= o->order; m++)
        ko.prune[m] = o->cutoff[m] - 1;
    return ko;
}

/* The index of every n-gram of the text, which Kneser-Ney needs: with every
 * cutoff 1 the model's own index F has them all, before its skip-grams (a
 * view of it, *counted = 0); otherwise they are counted again (*counted =
 * 1: the caller frees it). */
static nglm_features kn_index(const nglm_features *F, const nglm_corpus *train,
                              const options *o, nglm_cli_meter *meter, int *counted)
{
    int all_ones = 1;
    for (int m = 2; m <= o->order; m++)
        all_ones &= o->cutoff[m] == 1;
    *counted = !all_ones;
    if (all_ones)
        return nglm_features_ngram_view(F, o->order);
    nglm_features all;
    nglm_error err;
    nglm_progress p = nglm_cli_meter_begin(meter, "counting n-grams for Kneser-Ney", "tokens", 1);
    nglm_count_opts co = {o->tr.threads, (size_t)o->count_memory, o->temp_dir, &p};
    if (nglm_features_build_with(&all, train, F->V, o->order, NULL, &co, &err) != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
    nglm_cli_meter_clear(meter);
    return all;
}

/* --order auto: the order from 2 (or what the skip-gram templates need) up
 * to o->order whose Kneser-Ney model has the lowest validation perplexity;
 * F is built again at that order when it is lower.  Returns 1 with that
 * model in *kn (for kn_start), or 0 when there was nothing to choose. */
static int choose_order(nglm_features *F, const nglm_corpus *train, const nglm_corpus *valid,
                        options *o, nglm_cli_meter *meter, nglm_kn *kn)
{
    int lo = 2;
    for (int i = 0; i < o->n_skip; i++)
        if (o->skip_dist[i] - 2 > lo)
            lo = o->skip_dist[i] - 2; /* a template reaches at most order + 2 back */
    if (lo >= o->order)
        return 0;
    int counted;
    nglm_features all = kn_index(F, train, o, meter, &counted);
    nglm_kn_options ko = kn_options(o, train);
    /* not above what the text has n-grams for (no sentence is long enough) */
    int hi = o->order;
    while (hi > lo && all.ctx_order_start[hi - 1] == all.ctx_order_start[hi - 2])
        hi--;
    double ppl[NGLM_MAX_ORDER + 1];
    nglm_error err;
    int best = nglm_kn_best_order(&all, valid, lo, hi, &ko, ppl, kn, &err);
    if (best < 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
    if (counted)
        nglm_features_free(&all);
    if (!o->quiet) {
        printf("order %d, of %d..%d by Kneser-Ney's validation ppl (", best, lo, hi);
        for (int k = lo; k <= hi; k++)
            printf("%s%d: %.2f", k > lo ? ", " : "", k, ppl[k]);
        printf("; --order N fixes it)\n");
        fflush(stdout);
    }
    if (best < o->order) {
        int32_t V = F->V;
        o->order = best;
        nglm_features_free(F);
        build_features(F, train, V, o, meter);
    }
    return 1;
}

/* --init kn: interpolated modified Kneser-Ney from every n-gram of the
 * training text (kn_options; chosen, if not NULL, is choose_order's, freed
 * here), converted to the n-gram features' weights (doc/model.md §6;
 * skip-grams start at 0).  Returns the weights (F->n_feat) and the
 * Kneser-Ney perplexity of valid and test. */
static double *kn_start(const nglm_features *F, const nglm_corpus *train,
                        const nglm_corpus *valid, const nglm_corpus *test, const options *o,
                        nglm_kn *chosen, nglm_cli_meter *meter, double *valid_ppl,
                        double *test_ppl)
{
    nglm_error err;
    nglm_kn_options ko = kn_options(o, train);
    int counted;
    nglm_features all = kn_index(F, train, o, meter, &counted);
    nglm_kn kn;
    double *theta = malloc(F->n_feat * sizeof *theta);
    if (!theta)
        nglm_cli_die(NGLM_EXIT_FAIL, "out of memory");
    if (chosen)
        kn = *chosen;
    else if (nglm_kn_estimate(&kn, &all, &ko, &err) != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
    if (nglm_kn_weights_for(&kn, &all, F, theta, &err) != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
    *valid_ppl = nglm_kn_perplexity(&kn, &all, valid);
    *test_ppl = test ? nglm_kn_perplexity(&kn, &all, test) : NAN;
    if (!o->quiet) {
        printf("Kneser-Ney start: valid ppl %.2f", *valid_ppl);
        if (test)
            printf(", test ppl %.2f", *test_ppl);
        printf(" (discounts");
        for (int m = 1; m <= o->order; m++)
            printf(" %d: %.3g %.3g %.3g%s", m, kn.D[m][1], kn.D[m][2], kn.D[m][3],
                   kn.fallback_used[m] ? " (fallback)" : "");
        printf(")\n");
        fflush(stdout);
    }
    nglm_kn_free(&kn);
    if (counted)
        nglm_features_free(&all);
    return theta;
}

/* log10 P of every token of c under m (malloc'd). */
static double *score10(const nglm_model *m, const nglm_corpus *c, int threads)
{
    nglm_error err;
    double *lp = malloc((c->n_tokens ? c->n_tokens : 1) * sizeof *lp);
    if (!lp)
        nglm_cli_die(NGLM_EXIT_FAIL, "out of memory scoring %zu tokens", c->n_tokens);
    if (nglm_model_score_corpus(m, c, lp, threads, &err) != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
    for (size_t t = 0; t < c->n_tokens; t++)
        lp[t] /= M_LN10;
    return lp;
}

/* --eval-cache auto: the cache that suits the validation text best
 * (nglm_cache_choose), recorded in the model (nglm-eval --cache model);
 * returns the validation perplexity with it. */
static double choose_cache(nglm_model *m, const nglm_corpus *valid, int threads)
{
    nglm_error err;
    double *lv = score10(m, valid, threads), held;
    memset(&m->cache, 0, sizeof m->cache);
    if (nglm_cache_choose(valid, m->feat.V, lv, &m->cache, &held, &err) != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
    m->has_cache = 1;
    free(lv);
    return held;
}

/* The test text's perplexity with the model's cache, beside the cache-free
 * figure; as nglm-eval --cache auto --heldout VALID TEST. */
static void report_cache(const nglm_model *m, const nglm_corpus *test, double held,
                         double plain_ppl, int threads)
{
    nglm_error err;
    int32_t V = m->feat.V;
    nglm_cache_spec s = m->cache;
    double *lt = score10(m, test, threads);
    nglm_eval_report r;
    if (nglm_cache_apply(&s, test, V, lt, &err) != 0 ||
        nglm_eval_tokens(test, NULL, lt, 0, &r, &err) != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
    char name[96];
    printf("test ppl %.2f with the cache %s, weights %.3g", r.ppl,
           nglm_cache_name(&s, name, sizeof name), s.lambda);
    if (s.bigram_length > 0)
        printf(" and %.3g", s.bigram_lambda);
    printf(" (chosen on the validation text, where it gives %.2f), vs %.2f without (%+.1f%%)\n",
           held, plain_ppl, 100.0 * (r.ppl / plain_ppl - 1.0));
    free(lt);
}

int main(int argc, char **argv)
{
    nglm_cli_set_prog(argv[0]);
    if (nglm_dist_init(&argc, &argv) != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "cannot start MPI");
    /* under MPI every rank trains (see src/train.c); only rank 0 prints
     * progress and writes files */
    const int rank = nglm_dist_rank(), ranks = nglm_dist_size();
    options o;
    parse_args(argc, argv, &o);
    if (rank != 0) {
        o.quiet = 1;
        o.progress = NGLM_CLI_PROGRESS_NEVER;
        o.log = o.plot = o.write_vocab = NULL;
        o.cache = NULL; /* rank 0 fills it; the others read the texts */
    }
#define IS_STDIN(path) ((path) && strcmp((path), "-") == 0)
    if (ranks > 1 && (IS_STDIN(o.train) || IS_STDIN(o.valid) || IS_STDIN(o.test)))
        nglm_cli_die(NGLM_EXIT_USAGE, "a text cannot be '-' (stdin) under MPI: every rank "
                     "reads the texts itself");
#undef IS_STDIN
    nglm_error err;
    /* a file size limit makes writes fail with EFBIG instead of killing us */
    signal(SIGXFSZ, SIG_IGN);
    nglm_cli_meter meter;
    nglm_cli_meter_init(&meter, o.progress);
    char ckpt[4200];
    if (snprintf(ckpt, sizeof ckpt, "%s.ckpt", o.model) >= (int)sizeof ckpt)
        nglm_cli_die(NGLM_EXIT_USAGE, "--model: path too long");
    char train_path[4200], valid_path[4200], test_path[4200];
    if (o.default_corpus) {
        snprintf(train_path, sizeof train_path, "%s.train.txt", o.corpus_prefix);
        snprintf(valid_path, sizeof valid_path, "%s.valid.txt", o.corpus_prefix);
        snprintf(test_path, sizeof test_path, "%s.test.txt", o.corpus_prefix);
        o.train = train_path;
        if (!o.valid)
            o.valid = valid_path;
        if (!o.test)
            o.test = test_path;
    }
    /* no output is an input or replaces a file nglm did not write; one
     * training at a time on a model path (src/outputs.h) */
    if (rank == 0) {
        const nglm_out_file in[] = {{"--train", o.train, NGLM_OUT_NEW},
                                    {"--valid", o.valid, NGLM_OUT_NEW},
                                    {"--test", o.test, NGLM_OUT_NEW},
                                    {"--vocab", o.vocab, NGLM_OUT_NEW}};
        const int model = !o.vocab_only;
        const nglm_out_file out[] = {{"--model", model ? o.model : NULL, NGLM_OUT_MODEL},
                                     {"the checkpoint", model && !o.no_checkpoint ? ckpt : NULL,
                                      NGLM_OUT_CHECKPOINT},
                                     {"--write-vocab", o.write_vocab, NGLM_OUT_VOCAB},
                                     {"--log", o.log, NGLM_OUT_LOG},
                                     {"--plot", o.plot, NGLM_OUT_PLOT}};
        nglm_out_check(in, sizeof in / sizeof *in, out, sizeof out / sizeof *out, o.force);
        if (model)
            nglm_out_lock(o.model);
    }
    if (o.default_corpus && !o.quiet)
        printf("no --train given: using the bundled corpus %s.*\n", o.corpus_prefix);
    if (o.cache)
        open_cache(o.cache);
    FILE *log = NULL;
    if (o.log && !(log = fopen(o.log, "w")))
        nglm_cli_die(NGLM_EXIT_FAIL, "%s: %s", o.log, strerror(errno));
    if (o.resume && access(ckpt, F_OK) != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s: %s: nothing to resume", ckpt, strerror(errno));
    if (!o.resume && !o.no_checkpoint && access(ckpt, F_OK) == 0 && rank == 0)
        nglm_cli_warn("note: %s was left by an unfinished run; this run starts afresh and "
                      "replaces it (--resume continues it)", ckpt);
    if (o.tr.threads == 0) {
#ifdef _OPENMP
        o.tr.threads = omp_get_max_threads();
#else
        o.tr.threads = 1;
#endif
    }
    double t0 = 0;
#ifdef _OPENMP
    t0 = omp_get_wtime();
#endif

    /* vocabulary */
    nglm_model m;
    memset(&m, 0, sizeof m);
    m.tok = o.tok;
    if (o.vocab) {
        m.vocab = nglm_vocab_load(o.vocab, &err);
        if (!m.vocab)
            nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
    } else {
        /* the text is read twice (vocabulary, then ids): stdin or a FIFO is
         * copied to --temp-dir first, and then nothing is cached */
        const char *twice = nglm_cli_rereadable(o.train, o.temp_dir,
                                                "--train -: stdin is a terminal; pipe a text "
                                                "in, or give --train FILE");
        if (twice != o.train) {
            o.train_name = strcmp(o.train, "-") == 0 ? "(stdin)" : o.train;
            o.train = twice;
            o.cache = NULL;
        }
        m.vocab = count_vocab(&o, &meter);
    }
    if (o.write_vocab && nglm_vocab_save(m.vocab, o.write_vocab, &err) != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
    int32_t V = (int32_t)nglm_vocab_size(m.vocab);
    if (!o.quiet)
        printf("vocabulary: %d words (specials included)\n", (int)V);
    if (o.vocab_only) {
        printf("wrote %s (%d words); --epochs 0: no model trained\n", o.write_vocab, (int)V);
        nglm_model_free(&m);
        nglm_dist_finalize();
        return 0;
    }

    /* id streams */
    nglm_corpus train, valid;
    read_corpus(&train, o.train, o.train_name ? o.train_name : o.train, &o.tok, &o, m.vocab,
                "train", &meter);
    nglm_cli_rereadable_done(); /* the copy of stdin, if any, is read */
    if (train.n_tokens == 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s: no sentences to train on",
                     o.train_name ? o.train_name : o.train);
    if (o.valid) {
        read_corpus(&valid, o.valid, o.valid, &o.tok, &o, m.vocab, "valid", &meter);
        if (valid.n_tokens == 0)
            nglm_cli_die(NGLM_EXIT_FAIL, "%s: no sentences to validate on", o.valid);
    } else {
        size_t read_sents = train.n_sents;
        hold_out(&train, &valid, o.tr.seed);
        if (!o.quiet)
            printf("valid: %zu sentences (%zu tokens) held out of the training text; "
                   "training on the other %zu of its %zu sentences, %zu tokens\n",
                   valid.n_sents, valid.n_tokens, train.n_sents, read_sents, train.n_tokens);
    }
    /* read now so that a bad test text fails before the model file is written */
    nglm_corpus test;
    nglm_tok_options test_tok = o.tok;
    test_tok.keep_blank = 1; /* as nglm-eval reads it: a blank line is an empty sentence */
    if (o.test)
        read_corpus(&test, o.test, o.test, &test_tok, &o, m.vocab, "test", &meter);

    /* features, at the order Kneser-Ney chooses with --order auto */
    build_features(&m.feat, &train, V, &o, &meter);
    nglm_kn chosen;
    int have_chosen = o.order_auto && o.init_kn &&
                      choose_order(&m.feat, &train, &valid, &o, &meter, &chosen);
    if (!o.quiet) {
        printf("features: %zu (", m.feat.n_feat);
        for (int k = 0; k < o.order; k++) {
            size_t n = k == 0 ? (size_t)V
                              : m.feat.ctx_first[m.feat.ctx_order_start[k]] -
                                    m.feat.ctx_first[m.feat.ctx_order_start[k - 1]];
            printf("%s%d-grams %zu", k ? ", " : "", k + 1, n);
        }
        for (int i = 0; i < m.feat.n_skip; i++)
            printf(", skip%d %u", m.feat.skip_dist[i],
                   m.feat.skip_first[i][V] - m.feat.skip_first[i][0]);
        printf("), %zu contexts, %.1f bytes/feature in the index\n", m.feat.n_ctx,
               (double)nglm_features_bytes(&m.feat) / (double)m.feat.n_feat);
        printf("training: order %d, %d threads", o.order, o.tr.threads);
        if (ranks > 1)
            printf(" x %d MPI ranks", ranks);
        printf(", batch %zu%s, l1 %g, l2 %g, lr %g\n",
               o.tr.batch ? o.tr.batch : nglm_train_auto_batch(train.n_tokens),
               o.tr.batch ? "" : " (auto)", o.tr.l1, o.tr.l2, o.tr.lr);
        fflush(stdout);
    }

    /* the starting weights */
    double kn_valid = NAN, kn_test = NAN;
    double *init = o.init_kn ? kn_start(&m.feat, &train, &valid, o.test ? &test : NULL, &o,
                                        have_chosen ? &chosen : NULL, &meter, &kn_valid,
                                        &kn_test)
                             : NULL;
    o.tr.init = init;

    /* training, resumed from the checkpoint or from the start */
    run_state rs;
    memset(&rs, 0, sizeof rs);
    rs.o = &o;
    rs.ckpt = ckpt;
    rs.log = log;
    rs.plot_ref = o.plot_ref;
    rs.plot_label = o.plot_label;
    if (isnan(rs.plot_ref) && o.default_corpus) {
        rs.plot_ref = read_oracle(o.corpus_prefix);
        rs.plot_label = "oracle";
    }
    rs.meter = &meter;
    rs.cur_epoch = 1;
    o.tr.on_epoch = on_epoch;
    if (o.progress != NGLM_CLI_PROGRESS_NEVER)
        o.tr.on_progress = on_progress;
    o.tr.user = &rs;
    nglm_train_state resume_state;
    memset(&resume_state, 0, sizeof resume_state);
    if (!o.no_checkpoint) {
        o.tr.on_checkpoint = on_checkpoint;
        o.tr.checkpoint_s = o.checkpoint_min * 60;
        o.tr.stop = &stop_flag;
    }
    if (o.resume) {
        if (nglm_checkpoint_load(&resume_state, ckpt, &err) != 0)
            nglm_cli_die(NGLM_EXIT_FAIL, "cannot resume: %s", err.msg);
        if (nglm_train_can_resume(&m, &train, &valid, &o.tr, &resume_state, &err) != 0)
            nglm_cli_die(NGLM_EXIT_FAIL, "cannot resume from %s: %s", ckpt, err.msg);
        o.tr.resume = &resume_state;
        rs.cur_epoch = (int)resume_state.epoch;
        if (!o.quiet)
            printf("resuming from %s: epoch %u, sentence %llu of %llu\n", ckpt,
                   (unsigned)resume_state.epoch,
                   (unsigned long long)(resume_state.started ? resume_state.sent : 0),
                   (unsigned long long)resume_state.n_sents);
    }
    if (!o.no_checkpoint)
        catch_signals(1);
    int train_rc = nglm_train(&m, &train, &valid, &o.tr, &err);
    free(init);
    nglm_cli_meter_clear(&meter);
    free(rs.ppl);
    if (log && fclose(log) != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s: write error: %s", o.log, strerror(errno));
    if (!o.no_checkpoint)
        catch_signals(0);
    nglm_train_state_free(&resume_state);
    if (train_rc != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
    if (rs.stopped && rank == 0) {
        fflush(stdout);
        FILE *fp = stop_flag > 0 ? stderr : stdout;
        fprintf(fp, "%s: %s ", nglm_cli_prog(), stop_flag > 0 ? "interrupted" : "stopped");
        if (rs.started)
            fprintf(fp, "in epoch %u (sentence %llu of %llu)", (unsigned)rs.epoch,
                    (unsigned long long)rs.sent, (unsigned long long)rs.n_sents);
        else
            fprintf(fp, "before epoch %u", (unsigned)rs.epoch);
        fprintf(fp, "; checkpoint %s; resume with: ", ckpt);
        print_resume_command(fp, argc, argv);
        if (fflush(fp) != 0 || ferror(fp))
            nglm_cli_die(NGLM_EXIT_FAIL, "cannot write the report");
    }
    if (rs.stopped || rank != 0) { /* the other ranks are done: rank 0 saves */
        if (o.test)
            nglm_corpus_free(&test);
        nglm_corpus_free(&train);
        nglm_corpus_free(&valid);
        nglm_model_free(&m);
        nglm_dist_finalize();
        return rs.stopped && stop_flag > 0 ? 128 + (int)stop_flag : 0;
    }
    size_t pruned = 0;
    double held_ppl = o.eval_cache ? choose_cache(&m, &valid, o.tr.threads) : NAN;
    if (nglm_model_prune(&m, &pruned, &err) != 0 || nglm_model_save(&m, o.model, &err) != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
    if (!o.no_checkpoint && unlink(ckpt) != 0 && errno != ENOENT)
        nglm_cli_warn("warning: cannot remove %s: %s", ckpt, strerror(errno));
    double t1 = t0;
#ifdef _OPENMP
    t1 = omp_get_wtime();
#endif
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("saved %s: epoch %u, valid ppl %.2f, %zu features (%zu zero-weight features pruned), "
           "total %.2f s, peak RSS %ld MB\n", o.model, m.info.epochs, m.info.valid_ppl,
           m.feat.n_feat, pruned, t1 - t0, ru.ru_maxrss / 1024);

    /* test */
    if (o.test) {
        nglm_eval_report r;
        nglm_progress p = nglm_cli_meter_begin(&meter, "scoring the test text", "tokens", 1);
        if (nglm_eval_corpus_progress(&m, &test, o.tr.threads, 0, &p, &r, &err) != 0)
            nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
        nglm_cli_meter_clear(&meter);
        nglm_eval_print(stdout, o.test, &r);
        if (isfinite(kn_test))
            printf("test ppl %.2f vs the Kneser-Ney start's %.2f (%+.1f%%)\n", r.ppl, kn_test,
                   100.0 * (r.ppl / kn_test - 1.0));
        if (o.default_corpus) {
            double oracle = read_oracle(o.corpus_prefix);
            if (isfinite(oracle))
                printf("test ppl %.2f vs the source's oracle ppl %.2f (%.1f%% above)\n", r.ppl,
                       oracle, 100.0 * (r.ppl / oracle - 1.0));
        }
        if (o.eval_cache)
            report_cache(&m, &test, held_ppl, r.ppl, o.tr.threads);
        nglm_corpus_free(&test);
    }
    nglm_corpus_free(&train);
    nglm_corpus_free(&valid);
    nglm_model_free(&m);
    if (fflush(stdout) != 0 || ferror(stdout))
        nglm_cli_die(NGLM_EXIT_FAIL, "cannot write the report on stdout");
    nglm_dist_finalize();
    return 0;
}
