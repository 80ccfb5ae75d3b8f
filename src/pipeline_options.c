/*
 * pipeline_options.c — the pipeline's options (nglm_pipeline_options) as
 * one table (nglm/options.h): nglm-train's command line and --help, the
 * Python module's train() keywords and the man page's check all read these
 * rows, so an option of the pipeline is added here, once.
 *
 * The help says nglm-train's defaults, which are the pipeline's
 * (nglm/pipeline.h, fill_defaults in pipeline.c).
 */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "nglm/options.h"
#include "nglm/pipeline.h"

/* a row names the fields it uses; the rest are zero */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#define STR(x) NGLM_STR(x)
#define FIELD(f) offsetof(nglm_pipeline_options, f)

/* the enums a CHOICE row writes through an int */
_Static_assert(sizeof(nglm_tok_mode) == sizeof(int), "nglm_tok_mode is an int");
_Static_assert(sizeof(nglm_optimizer) == sizeof(int), "nglm_optimizer is an int");
_Static_assert(sizeof(nglm_schedule) == sizeof(int), "nglm_schedule is an int");

/* --order N|auto */
static int set_order(const nglm_option *row, void *opts, const char *value, nglm_error *err)
{
    (void)row;
    nglm_pipeline_options *o = opts;
    long n = NGLM_PIPELINE_ORDER;
    o->order_auto = strcmp(value, "auto") == 0;
    if (!o->order_auto && nglm_parse_long(value, 1, NGLM_MAX_ORDER, &n, err) != 0)
        return -1;
    o->order = (int)n;
    return 0;
}

/* --batch N|auto (auto: 0, nglm_train_auto_batch) */
static int set_batch(const nglm_option *row, void *opts, const char *value, nglm_error *err)
{
    (void)row;
    nglm_pipeline_options *o = opts;
    long n = 0;
    if (strcmp(value, "auto") != 0 && nglm_parse_long(value, 1, 1 << 24, &n, err) != 0)
        return -1;
    o->tr.batch = (size_t)n;
    return 0;
}

static int set_cutoffs(const nglm_option *row, void *opts, const char *value, nglm_error *err)
{
    (void)row;
    return nglm_pipeline_parse_cutoffs(value, ((nglm_pipeline_options *)opts)->cutoff, err);
}

static int set_features(const nglm_option *row, void *opts, const char *value, nglm_error *err)
{
    (void)row;
    return nglm_pipeline_parse_features(value, opts, err);
}

/* --min-gain and --halve-from ask for the halving schedule */
static int halving(const nglm_option *row, void *opts, const char *value, nglm_error *err)
{
    (void)row, (void)value, (void)err;
    ((nglm_pipeline_options *)opts)->halving_given = 1;
    return 0;
}

/* a schedule given is not chosen by the start */
static int schedule_given(const nglm_option *row, void *opts, const char *value,
                          nglm_error *err)
{
    (void)row, (void)value, (void)err;
    ((nglm_pipeline_options *)opts)->schedule_auto = 0;
    return 0;
}

static int positive(const nglm_option *row, void *opts, const char *value, nglm_error *err)
{
    (void)value;
    if (*(size_t *)((char *)opts + row->offset) == 0)
        return nglm_error_set(err, "must be more than 0");
    return 0;
}

static const nglm_opt_choice tok_modes[] = {
    {"space", NGLM_TOK_SPACE}, {"word", NGLM_TOK_WORD}, {"char", NGLM_TOK_CHAR}, {NULL, 0}};
static const nglm_opt_choice inits[] = {{"kn", 1}, {"zero", 0}, {NULL, 0}};
static const nglm_opt_choice schedules[] = {
    {"linear", NGLM_SCHEDULE_LINEAR}, {"halve", NGLM_SCHEDULE_HALVE}, {NULL, 0}};
static const nglm_opt_choice optimizers[] = {
    {"adagrad", NGLM_ADAGRAD}, {"sgd", NGLM_SGD}, {NULL, 0}};
static const nglm_opt_choice eval_caches[] = {{"auto", 1}, {NULL, 0}};

static const nglm_option rows[] = {
    /* ------------------------------------------------------------ Data */
    {"train", "FILE", "Data",
     "training text, one sentence per line ('-' = stdin; gzip is read too)",
     NGLM_OPT_STRING, FIELD(train)},
    {"valid", "FILE", "Data", "validation text (default: a seeded 5% of --train held out)",
     NGLM_OPT_STRING, FIELD(valid)},
    {"test", "FILE", "Data", "test text: report its perplexity at the end",
     NGLM_OPT_STRING, FIELD(test)},
    {"eval-cache", "auto", "Data",
     "choose the cache of the text's recent past that suits --valid best and record it in "
     "the model (nglm-eval --cache model); with --test, report its perplexity with that "
     "cache too",
     NGLM_OPT_CHOICE, FIELD(eval_cache), 0, 0, eval_caches},
    {"vocab", "FILE", "Data",
     "use this vocabulary (word<TAB>count per line, or one word per line as SRILM's -vocab)",
     NGLM_OPT_STRING, FIELD(vocab)},
    {"min-count", "N", "Data", "words seen fewer than N times become <unk> (default 1)",
     NGLM_OPT_U64, FIELD(min_count), 1, (double)INT64_MAX},
    {"max-vocab", "N", "Data", "keep at most N words, specials included (default: all)",
     NGLM_OPT_SIZE, FIELD(max_vocab), NGLM_NUM_SPECIAL + 1, INT32_MAX},
    {"tokenize", "MODE", "Data", "space (default), word or char",
     NGLM_OPT_CHOICE, FIELD(tok.mode), 0, 0, tok_modes},
    {"lowercase", NULL, "Data", "fold case", NGLM_OPT_FLAG, FIELD(tok.lowercase)},
    {"replace-invalid", NULL, "Data", "replace invalid UTF-8 with U+FFFD instead of failing",
     NGLM_OPT_FLAG, FIELD(tok.replace_invalid)},
    {"data-cache", "DIR", "Data",
     "keep the vocabulary and the texts' id streams in DIR (created if missing) and map "
     "them on later runs instead of reading the texts again",
     NGLM_OPT_STRING, FIELD(id_cache)},
    /* ------------------------------------------------------------ Model */
    {"order", "N|auto", "Model",
     "n-gram order, 1.." STR(NGLM_MAX_ORDER) "; auto (default): of 2.." STR(NGLM_PIPELINE_ORDER)
     ", the one whose Kneser-Ney model has the lowest validation perplexity ("
     STR(NGLM_PIPELINE_ORDER) " with --init zero)",
     NGLM_OPT_CUSTOM, FIELD(order), 0, 0, NULL, set_order},
    {"cutoffs", "LIST", "Model",
     "minimum counts of 2-grams,3-grams,... (default: 1 with --init kn; 1,1,1,2,2,... "
     "with --init zero: 2 from 5-grams on; Model M's word and class n-grams: 2 from "
     "4-grams on)",
     NGLM_OPT_CUSTOM, FIELD(cutoff), 0, 0, NULL, set_cutoffs},
    {"features", "LIST", "Model",
     "feature templates: ngram, skip2, skip3, ... (default ngram,skip2,skip3; ngram alone "
     "exports to ARPA)",
     NGLM_OPT_CUSTOM, FIELD(n_skip), 0, 0, NULL, set_features},
    {"skip-cutoff", "N", "Model",
     "minimum count of a skip-gram feature (default " STR(NGLM_PIPELINE_SKIP_CUTOFF) ")",
     NGLM_OPT_U32, FIELD(skip_cutoff), 1, UINT32_MAX},
    {"max-memory", "SIZE", "Model",
     "fit the model in SIZE (K, M, G): raise the cutoffs of the longest n-grams (and "
     "skip-grams) until it fits, or fail saying what would fit (default: no limit)",
     NGLM_OPT_BYTES, FIELD(max_memory)},
    {"memory", "SIZE", "Model",
     "memory for counting n-grams (K, M, G; default 1G): beyond it, sorted counts spill "
     "to --temp-dir and are merged",
     NGLM_OPT_BYTES, FIELD(count_memory), 0, 0, NULL, positive},
    {"temp-dir", "DIR", "Model", "where counting spills (default: $TMPDIR, else /tmp)",
     NGLM_OPT_STRING, FIELD(temp_dir)},
    /* ------------------------------------------------------------ Training */
    {"classes", "N|FILE", "Training",
     "train Model M, the class-based exponential model, instead of the word model, with "
     "N classes found by exchange clustering of the training text, or the classes of FILE "
     "(word<TAB>class, as nglm-cluster writes); Model M's defaults: from the Kneser-Ney "
     "start, 4 epochs of the linear schedule; with --init zero, at most 15 epochs of "
     "halving at --min-gain 0.01; --lr 1, --ada-init 0.1, --batch 2000",
     NGLM_OPT_STRING, FIELD(classes)},
    {"init", "MODE", "Training",
     "starting weights: kn (default), the n-gram weights of interpolated modified "
     "Kneser-Ney on the training text (pruned like the features), evaluated as epoch 0 "
     "and kept if no epoch beats them; or zero (unigrams only)",
     NGLM_OPT_CHOICE, FIELD(init_kn), 0, 0, inits},
    {"schedule", "NAME", "Training",
     "linear: the rate falls linearly to 0 over --epochs epochs (default with --init kn); "
     "halve: constant until an epoch gains less than --min-gain, then halved every epoch, "
     "stopping at the next small gain (with --init zero)",
     NGLM_OPT_CHOICE, FIELD(tr.schedule), 0, 0, schedules, schedule_given},
    {"epochs", "N", "Training",
     "epochs: " STR(NGLM_PIPELINE_KN_EPOCHS) " with --init kn (linear; "
     STR(NGLM_PIPELINE_KN_EPOCHS_NGRAM) " with --features ngram), at most "
     STR(NGLM_PIPELINE_ZERO_EPOCHS) " with --init zero (halve); 0: only build the "
     "vocabulary and write it (--write-vocab)",
     NGLM_OPT_INT, FIELD(tr.max_epochs), 0, NGLM_MAX_EPOCHS},
    {"lr", "X", "Training",
     "learning rate (default " STR(NGLM_PIPELINE_KN_LR) " with --init kn, "
     STR(NGLM_PIPELINE_ZERO_LR) " with zero)",
     NGLM_OPT_DOUBLE, FIELD(tr.lr), 1e-9, 1e6},
    {"ada-init", "X", "Training",
     "AdaGrad's initial squared-gradient sum (default " STR(NGLM_PIPELINE_KN_ADA_INIT)
     " with --init kn, " STR(NGLM_PIPELINE_ZERO_ADA_INIT) " with zero)",
     NGLM_OPT_DOUBLE, FIELD(tr.ada_init), 0, 1e9},
    {"l1", "X", "Training", "l1 penalty (default 0.5)", NGLM_OPT_DOUBLE, FIELD(tr.l1), 0, 1e9},
    {"l2", "X", "Training", "l2 penalty (default 0.1667)", NGLM_OPT_DOUBLE, FIELD(tr.l2), 0,
     1e9},
    {"optimizer", "NAME", "Training", "adagrad (default) or sgd",
     NGLM_OPT_CHOICE, FIELD(tr.optimizer), 0, 0, optimizers},
    {"min-gain", "X", "Training",
     "halve schedule: relative validation gain below which the rate is halved, and "
     "training stops the next time (default 0.02)",
     NGLM_OPT_DOUBLE, FIELD(tr.min_gain), 0, 1, NULL, halving},
    {"halve-from", "N", "Training",
     "halve schedule: halve the rate after every epoch from epoch N on, not only once the "
     "gain is small (default 0)",
     NGLM_OPT_INT, FIELD(tr.halve_from), 0, NGLM_MAX_EPOCHS, NULL, halving},
    {"best", NULL, "Training",
     "the best model measured on PTB, in about four times the default's time: "
     STR(NGLM_PIPELINE_BEST_EPOCHS) " epochs and the skip4 template too (unless --epochs "
     "or --features say otherwise)",
     NGLM_OPT_FLAG, FIELD(best)},
    {"average", NULL, "Training", "keep each epoch's average weights (Polyak averaging)",
     NGLM_OPT_FLAG, FIELD(tr.average)},
    {"batch", "N|auto", "Training",
     "minibatch size in tokens (default auto: the training tokens / 450, at least 2000)",
     NGLM_OPT_CUSTOM, FIELD(tr.batch), 0, 0, NULL, set_batch},
    {"threads", "N", "Training", "OpenMP threads (default: OMP_NUM_THREADS or all cores)",
     NGLM_OPT_INT, FIELD(tr.threads), 1, 4096},
    {"seed", "N", "Training", "seed of the sentence order and held-out slice (default 1)",
     NGLM_OPT_U64, FIELD(tr.seed), 0, (double)INT64_MAX},
};

const nglm_option *nglm_pipeline_option_table(size_t *n)
{
    *n = sizeof rows / sizeof *rows;
    return rows;
}
