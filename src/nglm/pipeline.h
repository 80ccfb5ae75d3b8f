/*
 * nglm/pipeline.h — training a model the way nglm-train does, as library
 * calls: text → vocabulary → id streams (with the held-out slice) → feature
 * index (within --max-memory, at the order Kneser-Ney chooses) → starting
 * weights → trainer → the cache and pruning of the saved model.
 *
 * The policy lives here, so that nglm-train, the examples and bindings
 * train alike: the defaults of each start as measured on PTB (README.md,
 * bench/RESULTS.md), which sentences are held out, how cutoffs rise to fit
 * a memory limit.  The program parses options, prints and saves; the
 * pipeline decides.  Its stage lines ("vocabulary: ...", "features: ...")
 * go to opt.out, progress to opt.stage_begin/stage_end, and the trainer's
 * callbacks (opt.tr.on_epoch, on_checkpoint, stop, resume) are the
 * caller's, as in nglm/train.h.
 *
 *   nglm_pipeline P;
 *   nglm_pipeline_options o = nglm_pipeline_options_default();
 *   o.train = "train.txt";
 *   if (nglm_pipeline_init(&P, &o, &err) != 0 || nglm_pipeline_run(&P, &err) != 0) ...
 *   nglm_model_save(&P.model, "model.nglm", &err);
 *   nglm_pipeline_free(&P);
 *
 * nglm_pipeline_run is the stages in order; a caller that acts between
 * them (nglm-train writes the vocabulary, checks a checkpoint) calls them
 * one by one.
 */
#ifndef NGLM_PIPELINE_H
#define NGLM_PIPELINE_H

#include <stdio.h>

#include "nglm/classlm.h"
#include "nglm/corpus.h"
#include "nglm/error.h"
#include "nglm/eval.h"
#include "nglm/features.h"
#include "nglm/kn.h"
#include "nglm/model.h"
#include "nglm/nglm.h"
#include "nglm/options.h"
#include "nglm/progress.h"
#include "nglm/tokenize.h"
#include "nglm/train.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The defaults by start, measured on PTB.  From Kneser-Ney one epoch whose
 * rate falls linearly to 0 gets most of the gain; AdaGrad's initial sum
 * damps the first steps, which with 1e-8 would be a full ±lr and erase the
 * start.  From zero, the halving schedule. */
#define NGLM_PIPELINE_ORDER 5          /* the highest order --order auto tries */
#define NGLM_PIPELINE_KN_EPOCHS 1
#define NGLM_PIPELINE_KN_EPOCHS_NGRAM 4 /* n-gram features alone: an epoch costs a fraction */
#define NGLM_PIPELINE_BEST_EPOCHS 4    /* --best: and a skip-gram template at distance 4 */
#define NGLM_PIPELINE_KN_LR 0.8
#define NGLM_PIPELINE_KN_ADA_INIT 2.0
#define NGLM_PIPELINE_ZERO_EPOCHS 20
#define NGLM_PIPELINE_ZERO_LR 2.0
#define NGLM_PIPELINE_ZERO_ADA_INIT 1e-8
#define NGLM_PIPELINE_MODELM_KN_EPOCHS 4 /* Model M from Kneser-Ney, linear schedule */
#define NGLM_PIPELINE_MODELM_CUT_ORDER 4 /* Model M's n-grams of this order and longer
                                          * need 2 counts unless --cutoffs says */
#define NGLM_PIPELINE_SKIP_CUTOFF 4

typedef struct nglm_pipeline_options {
    /* texts: train must be a file that can be read twice (vocabulary, then
     * ids; nglm-train copies stdin first) */
    const char *train;
    const char *train_name;    /* how reports name train (NULL: train) */
    const char *valid_name, *test_name; /* the same for valid and test */
    const char *valid;         /* NULL: a seeded 1/20 of train is held out */
    const char *test;          /* NULL: none (read before training, so that a bad
                                * test text fails early) */
    const char *vocab;         /* NULL: counted from train */
    const char *id_cache;      /* NULL, or a directory (created if missing) keeping the
                                * vocabulary and id streams (nglm/idcache.h) */
    nglm_tok_options tok;
    uint64_t min_count;        /* words seen fewer times become <unk> (0, 1: keep all) */
    size_t max_vocab;          /* 0: every word */

    /* features */
    int order;                 /* 1 .. NGLM_MAX_ORDER; with order_auto, the highest tried */
    int order_auto;            /* 1 (default): of 2..order, the one whose Kneser-Ney
                                * model has the lowest validation perplexity */
    uint32_t cutoff[NGLM_MAX_ORDER + 1]; /* cutoff[m] for m-grams, non-decreasing;
                                * cutoff[2] == 0: the default of the start (1 with
                                * Kneser-Ney; 2 from 5-grams on from zero) */
    int n_skip;                /* skip-gram templates; < 0: the default (skip2, skip3) */
    int skip_dist[NGLM_MAX_SKIP];
    uint32_t skip_cutoff;      /* minimum count of a skip-gram feature */
    size_t max_memory;         /* 0: no limit; else cutoffs rise until the model fits */
    size_t count_memory;       /* counting buffers; 0: NGLM_COUNT_MEMORY_DEFAULT */
    const char *temp_dir;      /* where counting spills; NULL: $TMPDIR or /tmp */

    /* training: tr as nglm/train.h, where a field left at its "by the start"
     * value takes the start's default: max_epochs < 0, lr and ada_init NAN,
     * schedule_auto */
    int init_kn;               /* 1 (default): start from Kneser-Ney; 0: unigrams */
    int best;                  /* the best model measured on PTB: 4 epochs and skip4 */
    int schedule_auto;         /* 1 (default): linear from Kneser-Ney, unless the
                                * halving options (min_gain, halve_from) are given */
    int halving_given;         /* tr.min_gain or tr.halve_from was set */
    nglm_train_options tr;
    const char *classes;       /* NULL, or a class file (word<TAB>class): Model M
                                * instead of the word model (nglm_pipeline_classlm) */
    int eval_cache;            /* choose a cache on the validation text (nglm/cache.h)
                                * and record it in the model */

    /* reporting: stage lines to out (NULL: none); progress of each long
     * stage from stage_begin (the nglm_progress to feed) to stage_end;
     * warnings (a stale id cache) to warn; all may be NULL */
    FILE *out;
    nglm_progress (*stage_begin)(const char *what, const char *unit, double scale, void *user);
    void (*stage_end)(void *user);
    void (*warn)(const char *msg, void *user);
    void *user;
} nglm_pipeline_options;

typedef struct nglm_pipeline {
    nglm_pipeline_options opt; /* with the defaults filled in */
    nglm_model model;          /* vocabulary, index, weights: what is saved */
    nglm_corpus train, valid, test;
    int have_test;
    uint64_t train_read_sents; /* sentences of the training text before the slice */
    double *init;              /* the starting weights (n_feat), or NULL */
    double kn_valid_ppl;       /* the Kneser-Ney start's perplexities; NAN without */
    double kn_test_ppl;
    double cache_valid_ppl;    /* with the chosen cache (eval_cache); NAN without */
    size_t pruned;             /* zero-weight features removed by finish */
    /* private */
    nglm_kn chosen;            /* --order auto's estimate, reused as the start */
    int have_chosen;
    nglm_features kn_all;      /* every n-gram, counted for Kneser-Ney when the
                                * cutoffs leave some out of the model's index */
    int have_kn_all;
    int cutoffs_given;         /* opt.cutoff was set, not filled by default
                                * (Model M has its own default) */
} nglm_pipeline;

/* A stage's progress through opt.stage_begin / opt.stage_end (either may
 * be NULL), for the pipeline's own source files. */
static inline nglm_progress nglm_pipeline_stage_begin(const nglm_pipeline *P, const char *what,
                                                      const char *unit, double scale)
{
    if (P->opt.stage_begin)
        return P->opt.stage_begin(what, unit, scale, P->opt.user);
    return (nglm_progress){NULL, NULL};
}

static inline void nglm_pipeline_stage_end(const nglm_pipeline *P)
{
    if (P->opt.stage_end)
        P->opt.stage_end(P->opt.user);
}

/* What a pipeline measures on the test text. */
typedef struct nglm_pipeline_test_result {
    nglm_eval_report report;   /* nglm_eval_report_free it */
    double cache_ppl;          /* with the model's cache (eval_cache); NAN without */
} nglm_pipeline_test_result;

nglm_pipeline_options nglm_pipeline_options_default(void);

/* The pipeline's options as a table (nglm/options.h): the rows that
 * nglm-train's command line and --help and the Python module's train()
 * keywords read, setting the fields of nglm_pipeline_options. */
const nglm_option *nglm_pipeline_option_table(size_t *n);

/* The cutoffs option's LIST ("2,2,3": cutoff[2] = 2, cutoff[3] = 2,
 * cutoff[4] = 3 and the later orders the last) and the features option's
 * LIST ("ngram,skip2,skip3": ngram required, skip2 .. skip9 the skip-gram
 * templates, into o->n_skip and o->skip_dist); fail with a message about
 * the list, which the caller prefixes with the option's name. */
int nglm_pipeline_parse_cutoffs(const char *s, uint32_t *cutoff, nglm_error *err);
int nglm_pipeline_parse_features(const char *s, nglm_pipeline_options *o, nglm_error *err);

/* Checks the options and fills in the defaults of the start; fails (with a
 * message naming nglm-train's options) on a combination that cannot go
 * together.  Nothing is read yet. */
int nglm_pipeline_init(nglm_pipeline *P, const nglm_pipeline_options *opt, nglm_error *err);

/* The stages, in this order. */
int nglm_pipeline_vocab(nglm_pipeline *P, nglm_error *err);    /* model.vocab */
int nglm_pipeline_texts(nglm_pipeline *P, nglm_error *err);    /* train, valid, test */
int nglm_pipeline_features(nglm_pipeline *P, nglm_error *err); /* model.feat, init */
int nglm_pipeline_train(nglm_pipeline *P, nglm_error *err);    /* model.theta */
int nglm_pipeline_finish(nglm_pipeline *P, nglm_error *err);   /* cache, pruning */

/* All five. */
int nglm_pipeline_run(nglm_pipeline *P, nglm_error *err);

/* The test text's report (and with eval_cache its perplexity with the
 * cache), after finish; fails if no test text was given. */
int nglm_pipeline_test(const nglm_pipeline *P, nglm_pipeline_test_result *r,
                       const nglm_progress *progress, nglm_error *err);

/* Model M (nglm/classlm.h) with the classes of opt.classes, instead of the
 * features, train and finish stages: builds it from the vocabulary (which
 * m then owns) and the training text at opt.order (with --order auto,
 * chosen as the word model's is, by Kneser-Ney's validation perplexity;
 * 5 with --init zero),
 * starts it as opt.init_kn says (nglm_classlm_init_kn, or
 * nglm_classlm_init_unigrams) and trains it with Model M's defaults where
 * opt.tr leaves them (nglm_classlm_train_options_default; opt.tr.min_gain
 * only when halving_given), reporting and checkpointing through opt.tr's
 * callbacks, stop flag and resume state (as nglm_pipeline_train).  *stopped
 * as nglm_classlm_train's. */
int nglm_pipeline_classlm(nglm_pipeline *P, nglm_classlm *m, int *stopped, nglm_error *err);
/* The test text's report for m. */
int nglm_pipeline_classlm_test(const nglm_pipeline *P, const nglm_classlm *m,
                               nglm_eval_report *r, nglm_error *err);
void nglm_pipeline_free(nglm_pipeline *P);

#ifdef __cplusplus
}
#endif
#endif
