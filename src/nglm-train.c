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
#include <signal.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli.h"
#include "monitor.h"
#include "config.h"
#include "nglm-paths.h" /* the build tree's and the installed corpus (Makefile.am) */
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
    const char *old_cache;      /* --cache DIR, the old spelling of --data-cache */
} options;

/* a row names the fields it uses; the rest are zero */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#define FIELD(f) offsetof(options, f)
static const nglm_opt_choice progress_modes[] = {{"auto", NGLM_CLI_PROGRESS_AUTO},
                                                 {"always", NGLM_CLI_PROGRESS_ALWAYS},
                                                 {"never", NGLM_CLI_PROGRESS_NEVER},
                                                 {NULL, 0}};

/* The program's options: its outputs, checkpoints and monitoring (the
 * pipeline's are nglm_pipeline_option_table's rows).  The groups follow the
 * pipeline's Data, Model and Training in --help. */
static const nglm_option program_rows[] = {
    {"model", "FILE", "Data", "where to save the model (default model.nglm)",
     NGLM_OPT_STRING, FIELD(model)},
    {"write-vocab", "FILE", "Data", "save the vocabulary built from --train",
     NGLM_OPT_STRING, FIELD(write_vocab)},
    {"cache", "DIR", "Data",
     "the old spelling of --data-cache, with a note; refused for a value that names "
     "nglm-eval's cache of the recent past (auto, model, decay:L, ...: see --eval-cache)",
     NGLM_OPT_STRING, FIELD(old_cache)},
    {"resume", NULL, "Checkpoints (MODEL.ckpt, removed once the model is saved)",
     "continue the run that left MODEL.ckpt (same options and texts; --threads may "
     "differ): the model is the same, bit for bit, as if the run had never stopped",
     NGLM_OPT_FLAG, FIELD(resume)},
    {"checkpoint-minutes", "X", "Checkpoints (MODEL.ckpt, removed once the model is saved)",
     "also checkpoint every X minutes within an epoch (default 10; 0: at the end of each "
     "epoch only)",
     NGLM_OPT_DOUBLE, FIELD(checkpoint_min), 0, 1e9},
    {"no-checkpoint", NULL, "Checkpoints (MODEL.ckpt, removed once the model is saved)",
     "write no checkpoint (SIGINT and SIGTERM then just kill)",
     NGLM_OPT_FLAG, FIELD(no_checkpoint)},
    {"stop-after", "N", "Checkpoints (MODEL.ckpt, removed once the model is saved)",
     "stop after N epochs of this run, leaving a checkpoint",
     NGLM_OPT_INT, FIELD(stop_after), 1, 100000},
    {"log", "FILE", "Monitoring", "write one JSON object per epoch to FILE (JSON Lines)",
     NGLM_OPT_STRING, FIELD(log)},
    {"plot", "FILE", "Monitoring",
     "the learning curve (valid ppl per epoch) as SVG; with the bundled corpus the oracle "
     "perplexity is drawn too",
     NGLM_OPT_STRING, FIELD(plot)},
    {"plot-reference", "X", "Monitoring",
     "draw a reference perplexity (e.g. a Kneser-Ney baseline)",
     NGLM_OPT_DOUBLE, FIELD(plot_ref), 1e-300, 1e300},
    {"plot-label", "TEXT", "Monitoring", "the reference line's label (default 'reference')",
     NGLM_OPT_STRING, FIELD(plot_label)},
    {"progress", "MODE", "Monitoring",
     "progress on stderr: auto (default: redrawn on a terminal, a line every 5 s "
     "otherwise), always (also a line every minibatch when not a terminal), never",
     NGLM_OPT_CHOICE, FIELD(progress), 0, 0, progress_modes},
    {"quiet", NULL, "Monitoring", "print only the final results (and no progress)",
     NGLM_OPT_FLAG, FIELD(quiet)},
    {"force", NULL, "Monitoring",
     "replace output files that nglm did not write (without it, --model, --log, --plot "
     "and --write-vocab replace only a model, log, plot or vocabulary file)",
     NGLM_OPT_FLAG, FIELD(force)},
};
#undef FIELD

/* The pipeline's table and the program's, over o. */
static void option_tables(nglm_cli_table t[2], options *o)
{
    t[0].rows = nglm_pipeline_option_table(&t[0].n);
    t[0].opts = &o->p;
    t[1] = (nglm_cli_table){program_rows, sizeof program_rows / sizeof *program_rows, o};
}

static void usage(FILE *fp)
{
    options o;
    nglm_cli_table t[2];
    option_tables(t, &o);
    fprintf(fp, "Usage: nglm-train [OPTION]...\n"
                "Train a softmax (maximum-entropy) n-gram language model.\n"
                "With no --train, train on the bundled synthetic corpus.\n"
                "\n");
    nglm_cli_options_help(fp, t, 2);
    fprintf(fp,
        "  -h, --help, --version\n"
        "\n"
        "SIGINT or SIGTERM stops training at the next minibatch, writes the checkpoint\n"
        "and prints the command that resumes it; before training, it ends the run at\n"
        "once with a line saying so (MODEL.lock is removed either way).\n"
        "Exit status: 0 success (or stopped by --stop-after), 1 failure (bad data, I/O,\n"
        "divergence), 2 bad usage, 130 interrupted by SIGINT, 143 by SIGTERM.\n");
}

static int file_exists(const char *path) { return access(path, R_OK) == 0; }

/* 1 if this program runs from the build tree it was built in (Linux's
 * /proc/self/exe; -1 where that cannot be told).  An installed nglm-train
 * must read the installed corpus, not the build tree's that happens to be
 * there still (or may be gone). */
static int runs_from_build_tree(void)
{
    char exe[4096], dir[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0 || !realpath(NGLM_BUILD_DIR, dir))
        return -1;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    return strcmp(exe, dir) == 0;
}

/* The bundled corpus's prefix: the build tree's when run from it (and
 * built), else the installed one; or a usage error saying what is needed. */
static void choose_corpus(options *o)
{
    char probe[4200];
    int in_tree = runs_from_build_tree();
    const char *prefix = NGLM_DATA_CORPUS;
    snprintf(probe, sizeof probe, "%s.train.txt", NGLM_BUILD_CORPUS);
    if (in_tree != 0 && file_exists(probe))
        prefix = NGLM_BUILD_CORPUS;
    snprintf(probe, sizeof probe, "%s.train.txt", prefix);
    if (!file_exists(probe))
        nglm_cli_die(NGLM_EXIT_FAIL, "no --train given and the bundled corpus %s is not "
                     "there (installed by make install): give --train FILE", probe);
    snprintf(o->corpus_prefix, sizeof o->corpus_prefix, "%s", prefix);
    o->default_corpus = 1;
}

/* --cache means nglm-eval's cache of the recent past there; here it was
 * the data cache, now --data-cache.  A value that reads as the former
 * (auto, model, none, decay:L, ...) is refused, so that `--cache auto`
 * never makes a directory named auto; a directory still works, with a
 * note. */
static void old_cache_option(options *o)
{
    nglm_cache_spec spec;
    nglm_error err;
    const char *v = o->old_cache;
    if (strcmp(v, "auto") == 0 || strcmp(v, "model") == 0 || strcmp(v, "none") == 0 ||
        nglm_cache_parse(v, &spec, &err) == 0)
        nglm_cli_die(NGLM_EXIT_USAGE, "--cache %s: nglm-train has no cache of the recent past: "
                     "--eval-cache auto chooses one and records it in the model for nglm-eval "
                     "--cache model (the data cache is --data-cache DIR)", v);
    if (o->p.id_cache)
        nglm_cli_die(NGLM_EXIT_USAGE, "--cache is the old spelling of --data-cache: give "
                     "--data-cache alone");
    nglm_cli_warn("note: --cache DIR is now --data-cache DIR (nglm-eval's --cache is "
                  "another thing)");
    o->p.id_cache = v;
}

static void parse_args(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof *o);
    o->p = nglm_pipeline_options_default();
    o->model = "model.nglm";
    o->checkpoint_min = 10;
    o->plot_ref = NAN;
    o->plot_label = "reference";
    o->progress = NGLM_CLI_PROGRESS_AUTO;
    nglm_cli_table t[2];
    option_tables(t, o);
    int first = nglm_cli_parse(argc, argv, t, 2, usage,
                               "nglm-train takes --train TEXT --model FILE "
                               "(SRILM's ngram-count -text TEXT -lm FILE)");
    if (first < argc)
        nglm_cli_die(NGLM_EXIT_USAGE, "unexpected argument '%s' (see --help)", argv[first]);
    if (o->old_cache)
        old_cache_option(o);
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
    if (!o->p.train)
        choose_corpus(o);
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

/* ------------------------------------------------------------- the options of a checkpoint
 *
 * MODEL.ckpt.args records the options a run was started with, one
 * "--name value" (or "--name") a line, sorted, beside its checkpoint, so
 * that --resume can compare them before any text is read and name the
 * first that differs (the checkpoint's own fingerprint is checked only
 * once the texts are counted, and cannot say what changed).  Options that
 * do not change the model are left out: how the run is watched and
 * stopped, --threads, and where and in how much memory counting and the
 * data cache work (the model is the same, byte for byte). */

static const char *const args_free[] = {"resume", "threads", "progress", "quiet", "force",
                                        "checkpoint-minutes", "stop-after", "log", "plot",
                                        "plot-reference", "plot-label", "model", "data-cache",
                                        "cache", "memory", "temp-dir", NULL};

/* The row of --name (or its alias) in t[0..1], or NULL. */
static const nglm_option *find_row(const nglm_cli_table t[2], const char *name, size_t len)
{
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < t[k].n; i++) {
            const nglm_option *r = &t[k].rows[i];
            if ((strlen(r->name) == len && strncmp(r->name, name, len) == 0) ||
                (r->alias && strlen(r->alias) == len && strncmp(r->alias, name, len) == 0))
                return r;
        }
    return NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The options of argv that matter, as sorted malloc'd lines; *n of them. */
static char **args_that_matter(int argc, char **argv, const options *o, size_t *n)
{
    nglm_cli_table t[2];
    option_tables(t, (options *)o);
    char **out = calloc((size_t)argc + 1, sizeof *out);
    if (!out)
        nglm_cli_die(NGLM_EXIT_FAIL, "out of memory");
    *n = 0;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--", 2) != 0)
            continue;
        const char *name = argv[i] + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const nglm_option *r = find_row(t, name, len);
        if (!r)
            continue;
        const char *value = r->arg ? (eq ? eq + 1 : i + 1 < argc ? argv[++i] : "") : NULL;
        int skip = 0;
        for (const char *const *f = args_free; *f; f++)
            skip |= strcmp(r->name, *f) == 0;
        if (skip)
            continue;
        size_t need = strlen(r->name) + (value ? strlen(value) : 0) + 4;
        if (!(out[*n] = malloc(need)))
            nglm_cli_die(NGLM_EXIT_FAIL, "out of memory");
        snprintf(out[*n], need, "--%s%s%s", r->name, value ? " " : "", value ? value : "");
        (*n)++;
    }
    qsort(out, *n, sizeof *out, cmp_str);
    return out;
}

static void free_lines(char **l, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(l[i]);
    free(l);
}

/* Records the options of this run beside the checkpoint at ckpt. */
static void args_record(const char *ckpt, int argc, char **argv, const options *o)
{
    char path[4300];
    snprintf(path, sizeof path, "%s.args", ckpt);
    size_t n;
    char **l = args_that_matter(argc, argv, o, &n);
    FILE *fp = fopen(path, "w");
    int bad = !fp;
    for (size_t i = 0; fp && i < n; i++)
        bad |= fprintf(fp, "%s\n", l[i]) < 0;
    if (fp)
        bad |= fclose(fp) != 0;
    if (bad)
        nglm_cli_warn("warning: %s: cannot record the options (--resume will not compare "
                      "them before counting)", path);
    free_lines(l, n);
}

static void args_remove(const char *ckpt)
{
    char path[4300];
    snprintf(path, sizeof path, "%s.args", ckpt);
    unlink(path);
}

/* --resume: this run's options against those recorded at ckpt, if any;
 * dies (status 2) naming the first option that differs. */
static void args_check(const char *ckpt, int argc, char **argv, const options *o)
{
    char path[4300];
    snprintf(path, sizeof path, "%s.args", ckpt);
    FILE *fp = fopen(path, "r");
    if (!fp)
        return; /* made by an older nglm-train: the fingerprint still decides */
    size_t n_old = 0, cap = 16, n_new;
    char **old = malloc(cap * sizeof *old), *line = NULL;
    size_t lcap = 0;
    ssize_t got;
    while (old && (got = getline(&line, &lcap, fp)) > 0) {
        line[strcspn(line, "\n")] = '\0';
        if (n_old == cap && !(old = realloc(old, (cap *= 2) * sizeof *old)))
            break;
        old[n_old++] = strdup(line);
    }
    free(line);
    fclose(fp);
    if (!old)
        nglm_cli_die(NGLM_EXIT_FAIL, "out of memory");
    qsort(old, n_old, sizeof *old, cmp_str);
    char **now = args_that_matter(argc, argv, o, &n_new);
    size_t i = 0, j = 0;
    while (i < n_old || j < n_new) {
        int c = i == n_old ? 1 : j == n_new ? -1 : strcmp(old[i], now[j]);
        if (c == 0) {
            i++, j++;
            continue;
        }
        /* the same option with another value reads as one difference */
        const char *a = c < 0 ? old[i] : NULL, *b = c > 0 ? now[j] : NULL;
        size_t la = a ? strcspn(a, " ") : 0;
        if (a && j < n_new && strncmp(now[j], a, la) == 0 && (now[j][la] == ' ' || !now[j][la]))
            b = now[j];
        else if (b && i < n_old && strncmp(old[i], b, strcspn(b, " ")) == 0)
            a = old[i];
        char what[600];
        if (a && b)
            snprintf(what, sizeof what, "was made with %.250s, this run gives %.250s", a, b);
        else if (a)
            snprintf(what, sizeof what, "was made with %.250s, this run leaves it out (its "
                     "default)", a);
        else
            snprintf(what, sizeof what, "was made without %.*s (its default), this run gives "
                     "%.250s", (int)strcspn(b, " "), b, b);
        free_lines(old, n_old); /* what holds the words the message needs */
        free_lines(now, n_new);
        nglm_cli_die(NGLM_EXIT_USAGE, "--resume: the checkpoint %s %s: resume with the options "
                     "it was started with (%s), or start afresh without --resume", ckpt, what,
                     path);
    }
    free_lines(old, n_old);
    free_lines(now, n_new);
}

/* --write-vocab with --vocab: the given words (and ids) with their counts
 * in --train, which a given word list does not have; <unk> counts every
 * token of the text outside the vocabulary, as a counted vocabulary's
 * <unk> holds the words it drops.  One more pass over the text. */
static int write_vocab_counted(const nglm_pipeline *P, const char *out, nglm_error *err)
{
    const nglm_vocab *v = P->model.vocab;
    size_t V = nglm_vocab_size(v);
    nglm_vocab *c = nglm_vocab_new(), *w = NULL;
    const char **words = malloc(V * sizeof *words);
    uint64_t *counts = calloc(V, sizeof *counts);
    int rc = -1;
    if (!c || !words || !counts) {
        nglm_error_set(err, "out of memory counting the vocabulary");
        goto done;
    }
    if (nglm_vocab_count_file_threads(c, P->opt.train, &P->opt.tok, P->opt.tr.threads, NULL,
                                      NULL, err) != 0 ||
        nglm_vocab_finalize(c, 0, 0, err) != 0)
        goto done;
    for (size_t id = 0; id < V; id++) {
        words[id] = nglm_vocab_word(v, (int32_t)id);
        int32_t k = nglm_vocab_find(c, words[id]);
        counts[id] = k >= 0 ? nglm_vocab_count(c, k) : 0;
    }
    for (size_t k = NGLM_NUM_SPECIAL; k < nglm_vocab_size(c); k++)
        if (nglm_vocab_find(v, nglm_vocab_word(c, (int32_t)k)) < 0)
            counts[NGLM_UNK] += nglm_vocab_count(c, (int32_t)k);
    if (!(w = nglm_vocab_from_list(words, counts, V, err)))
        goto done;
    rc = nglm_vocab_save(w, out, err);
done:
    nglm_vocab_free(w);
    nglm_vocab_free(c);
    free(words);
    free(counts);
    return rc;
}

/* The vocabulary stage: the text is read twice (vocabulary, then ids), so
 * stdin or a FIFO is copied to --temp-dir first, and then nothing is
 * cached; --write-vocab saves what was built. */
static void make_vocab(nglm_pipeline *P, const options *o)
{
    nglm_error err;
    /* gzip-compressed texts are read through uncompressed copies (removed
     * at exit), which the data cache does not keep: their paths change */
    const char *texts[3] = {P->opt.train, P->opt.valid, P->opt.test}, *plain[3];
    for (int k = 0; k < 3; k++) {
        plain[k] = texts[k] ? nglm_cli_gunzipped(texts[k], P->opt.temp_dir) : NULL;
        if (plain[k] != texts[k])
            P->opt.id_cache = NULL;
    }
    if (plain[0] != texts[0])
        P->opt.train_name = texts[0];
    if (plain[1] != texts[1])
        P->opt.valid_name = texts[1];
    if (plain[2] != texts[2])
        P->opt.test_name = texts[2];
    P->opt.train = plain[0];
    P->opt.valid = plain[1];
    P->opt.test = plain[2];
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
        (o->write_vocab && !P->opt.vocab &&
         nglm_vocab_save(P->model.vocab, o->write_vocab, &err) != 0) ||
        (o->write_vocab && P->opt.vocab && write_vocab_counted(P, o->write_vocab, &err) != 0))
        nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
}

/* The monitor of the trainer (monitor.h), and the checkpoint to resume
 * from; *resume is the caller's to free.  Model M's trainer checks the
 * checkpoint itself (its model is built later). */
static void setup_training(nglm_pipeline *P, const options *o, nglm_monitor *rs, FILE *log,
                           const char *ckpt, nglm_cli_meter *meter, nglm_train_state *resume,
                           int model_m)
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
        if (!model_m &&
            nglm_train_can_resume(&P->model, &P->train, &P->valid, tr, resume, &err) != 0)
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

/* Training, resumed from the checkpoint or from the start: the word model,
 * or with mm Model M into *mm; returns 1 if it stopped (signal or
 * --stop-after) with a checkpoint, after printing the command that resumes
 * it. */
static int train_model(nglm_pipeline *P, const options *o, FILE *log, const char *ckpt,
                       nglm_cli_meter *meter, int argc, char **argv, nglm_classlm *mm)
{
    nglm_error err;
    nglm_monitor rs;
    nglm_train_state resume;
    setup_training(P, o, &rs, log, ckpt, meter, &resume, mm != NULL);
    if (!o->no_checkpoint) /* on until the model is saved: see saved_or_interrupted */
        nglm_monitor_signals(1);
    else
        nglm_out_kill_on_signal("interrupted in training with --no-checkpoint: nothing was "
                                "saved");
    int stopped = 0;
    int rc = mm ? nglm_pipeline_classlm(P, mm, &stopped, &err) : nglm_pipeline_train(P, &err);
    nglm_cli_meter_clear(meter);
    nglm_monitor_free(&rs);
    if (log && fclose(log) != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s: write error: %s", o->log, strerror(errno));
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
    if (!o->no_checkpoint)
        args_remove(ckpt);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("saved %s: epoch %u, valid ppl %.2f, %zu features (%zu zero-weight features pruned), "
           "total %.2f s, peak RSS %ld MB\n", o->model, P->model.info.epochs,
           P->model.info.valid_ppl, P->model.feat.n_feat, P->pruned, nglm_wall_seconds() - t0,
           ru.ru_maxrss / 1024);
}

/* Called once the model is saved and the checkpoint removed.  A SIGINT or
 * SIGTERM that came after the last minibatch only set the stop flag, so the
 * save was never cut short (no stray temporary file, no model without its
 * checkpoint); it ends the run here, before the test report, with one line
 * and 128 + the signal.  From here on a signal kills at once: nothing is
 * being written. */
static void saved_or_interrupted(const options *o)
{
    if (o->no_checkpoint)
        return;
    nglm_monitor_signals(0);
    char line[4200];
    snprintf(line, sizeof line, "interrupted after training; the model is saved in %s",
             o->model);
    nglm_out_kill_on_signal(line);
    int sig = nglm_monitor_signal();
    if (sig) {
        fflush(stdout);
        fprintf(stderr, "%s: %s\n", nglm_cli_prog(), line);
        exit(128 + sig);
    }
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

/* --classes: Model M (trained by train_model) saved and tested, and the
 * checkpoint removed. */
static void save_classlm(nglm_pipeline *P, nglm_classlm *mm, const options *o, const char *ckpt,
                         double t0)
{
    nglm_error err;
    if (nglm_classlm_save(mm, o->model, &err) != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
    if (!o->no_checkpoint && unlink(ckpt) != 0 && errno != ENOENT)
        nglm_cli_warn("warning: cannot remove %s: %s", ckpt, strerror(errno));
    if (!o->no_checkpoint)
        args_remove(ckpt);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("saved %s: Model M, epoch %u, valid ppl %.2f, total %.2f s, peak RSS %ld MB\n",
           o->model, mm->info.epochs, mm->info.valid_ppl, nglm_wall_seconds() - t0,
           ru.ru_maxrss / 1024);
    saved_or_interrupted(o);
    if (P->have_test) {
        nglm_eval_report r;
        if (nglm_pipeline_classlm_test(P, mm, &r, &err) != 0)
            nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
        nglm_eval_print(stdout, P->opt.test, &r);
        nglm_eval_report_free(&r);
    }
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
    if (o.resume)
        args_check(ckpt, argc, argv, &o);
    else if (!o.no_checkpoint && !o.vocab_only && rank == 0)
        args_record(ckpt, argc, argv, &o);
    double t0 = nglm_wall_seconds();

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
    int stopped;
    if (o.p.classes) { /* Model M instead of the word model */
        nglm_classlm m;
        stopped = train_model(&P, &o, log, ckpt, &meter, argc, argv, &m);
        if (!stopped)
            save_classlm(&P, &m, &o, ckpt, t0);
        nglm_classlm_free(&m);
    } else {
        if (nglm_pipeline_features(&P, &err) != 0)
            nglm_cli_die(NGLM_EXIT_FAIL, "%s", err.msg);
        stopped = train_model(&P, &o, log, ckpt, &meter, argc, argv, NULL);
        if (!stopped && rank == 0) { /* the other ranks are done: rank 0 saves */
            save_model(&P, &o, ckpt, t0);
            saved_or_interrupted(&o);
            if (P.have_test)
                report_test(&P, &o, &meter);
        }
    }
    nglm_pipeline_free(&P);
    if (fflush(stdout) != 0 || ferror(stdout))
        nglm_cli_die(NGLM_EXIT_FAIL, "cannot write the report on stdout");
    nglm_dist_finalize();
    return stopped && nglm_monitor_signal() ? 128 + nglm_monitor_signal() : 0;
}
