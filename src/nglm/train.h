/*
 * nglm/train.h — minibatch training of the softmax n-gram model
 * (doc/model.md §3).
 *
 * Input: a model whose vocabulary and feature index are built (weights are
 * allocated and zeroed here), a training corpus and a validation corpus.
 * Output: the weights of the epoch with the best validation perplexity.
 *
 * Objective: Σ_t −ln P(y_t | h_t) + λ1 Σ|θ| + (λ2/2) Σ θ², a minibatch of B
 * of the T training tokens carrying B/T of the penalty.  Updates are
 * per-coordinate (AdaGrad, or plain SGD) with the penalties applied as
 * proximal steps, lazily: a weight pays the penalty of the steps it was not
 * touched in when it is next touched, so a step costs only what the batch
 * touches; ℓ1 gives exact zeros.  The gradient of a minibatch is computed
 * by batch.c with OpenMP, bit-identically for any number of threads.
 *
 * Reliability (doc/reliability.md).  Between two minibatches the trainer's
 * whole state is an nglm_train_state; it is handed to on_checkpoint at the
 * end of every epoch, every checkpoint_s seconds and when *stop is set, and
 * training resumed from it (opt.resume) ends with the same weights, bit for
 * bit, as a run that never stopped.  A loss or weight that is not finite
 * (divergence) rolls training back to the best weights so far, halves the
 * rate and restarts the epoch; the third time, training fails.
 *
 * MPI (doc/mpi.md).  With libnglm built --with-mpi, in a program that has
 * initialised MPI with more than one rank (nglm-train under mpirun),
 * nglm_train is collective over MPI_COMM_WORLD: every rank calls it with the same model, texts and options,
 * each computes its share of every minibatch, and all return the same
 * weights, bit-identical to one process's; the callbacks run on every rank.
 */
#ifndef NGLM_TRAIN_H
#define NGLM_TRAIN_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "nglm/corpus.h"
#include "nglm/error.h"
#include "nglm/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum nglm_optimizer {
    NGLM_ADAGRAD = 0,
    NGLM_SGD = 1
} nglm_optimizer;

/* How the learning rate moves (doc/model.md §3). */
typedef enum nglm_schedule {
    NGLM_SCHEDULE_HALVE = 0,  /* constant until an epoch gains less than min_gain
                               * (or from halve_from on), then halved after every
                               * epoch; training stops at the next epoch that gains
                               * less than min_gain, or after max_epochs */
    NGLM_SCHEDULE_LINEAR = 1  /* falls linearly, minibatch by minibatch, from lr to
                               * 0 over max_epochs epochs, all of which are run */
} nglm_schedule;

typedef struct nglm_epoch_report {
    int epoch;              /* 1-based; 0: the starting weights (opt.init) */
    double lr;              /* learning rate at the start of this epoch */
    double train_loss;      /* mean −ln P per training token (before updates);
                             * NAN for epoch 0 */
    double train_ppl;       /* exp(train_loss) */
    double valid_ppl;       /* exact, after the epoch */
    double tokens_per_s;    /* training tokens per second of this epoch */
    double epoch_s;         /* seconds of this epoch (training only) */
    double elapsed_s;       /* seconds since training started */
    size_t features;        /* all features */
    size_t nonzero;         /* non-zero weights */
    int best;               /* this epoch is the best so far */
    unsigned rollbacks;     /* divergences rolled back during this epoch */
} nglm_epoch_report;

/* Everything the trainer needs to go on exactly where it stopped, taken at
 * a minibatch boundary (no tokens pending).  The arrays belong to whoever
 * filled the struct: the trainer's own while it runs, the loader's after
 * nglm_checkpoint_load (freed by nglm_train_state_free).  Saved and loaded
 * by nglm/checkpoint.h. */
typedef struct nglm_train_state {
    /* what it belongs to: nglm_train refuses to resume other data or options */
    uint32_t fingerprint;   /* nglm_train_fingerprint of the model and texts */
    uint32_t optimizer;     /* nglm_optimizer */
    uint32_t average;
    uint32_t max_epochs;
    uint64_t batch, seed;
    double l1, l2, lr0, ada_init, min_gain;  /* lr0: the initial rate */
    uint64_t n_feat;        /* entries of theta, best, gsq, last, avg */
    uint64_t n_sents;       /* entries of order: training sentences */
    /* where training is */
    uint32_t epoch;         /* the epoch under way, or the next one (1-based) */
    uint32_t started;       /* 1: its order is shuffled and (sent, tok) is the next
                             * token; 0: it starts from the top, shuffle first */
    uint64_t sent, tok;     /* position in order[] and in that sentence */
    uint32_t step;          /* minibatch steps so far */
    uint32_t epoch_step0;   /* step at the start of the epoch (averaging) */
    uint64_t rng;           /* splitmix64 state of the sentence order */
    double lr;              /* current learning rate (the last minibatch's,
                             * with the linear schedule) */
    uint32_t decaying;      /* the rate is being halved every epoch */
    uint32_t best_epoch;    /* 0: none evaluated yet, or the starting weights
                             * (opt.init) when best_ppl is finite */
    uint32_t divergences;   /* rollbacks so far */
    uint32_t halve_from;    /* the options' halve_from */
    uint32_t schedule;      /* the options' schedule (nglm_schedule) */
    double best_ppl;        /* INFINITY before the first epoch ends */
    double loss;            /* summed training loss of the epoch so far */
    double elapsed_s;       /* training seconds before this state */
    double *theta;          /* (n_feat) weights, penalties pending since last[] */
    double *best;           /* (n_feat) weights of the best epoch so far */
    double *gsq;            /* (n_feat) AdaGrad's sums of squared gradients */
    uint32_t *last;         /* (n_feat) step of each weight's last update */
    double *avg;            /* (n_feat) Σ of weights over the epoch's steps, or NULL */
    uint64_t *order;        /* (n_sents) this epoch's sentence order */
} nglm_train_state;

/* Why on_checkpoint is called. */
typedef enum nglm_checkpoint_reason {
    NGLM_CKPT_EPOCH = 0,    /* an epoch ended and training goes on */
    NGLM_CKPT_TIMER = 1,    /* checkpoint_s seconds since the last one */
    NGLM_CKPT_STOP = 2      /* *stop was set: training returns after this call */
} nglm_checkpoint_reason;

#define NGLM_MAX_EPOCHS 100000 /* the most --epochs (and --halve-from) may say */

typedef struct nglm_train_options {
    double l1, l2;          /* penalties, on the scale of the summed loss */
    double lr;              /* initial learning rate */
    nglm_optimizer optimizer;
    double ada_init;        /* AdaGrad's initial sum of squared gradients */
    int max_epochs;
    size_t batch;           /* minibatch size in tokens; 0: nglm_train_auto_batch */
    uint64_t seed;          /* sentence shuffling */
    int threads;            /* 0: OpenMP default */
    int average;            /* evaluate and keep each epoch's average weights */
    double min_gain;        /* relative validation gain below which the rate is halved, then training stops */
    nglm_schedule schedule; /* NGLM_SCHEDULE_HALVE (0) or NGLM_SCHEDULE_LINEAR */
    int halve_from;         /* halving schedule: > 0: halve the rate after every
                             * epoch from this one on (and still stop once a halved
                             * epoch gains < min_gain); 0: only from the first
                             * epoch that gains < min_gain */
    /* called after every epoch (may be NULL) */
    void (*on_epoch)(const nglm_epoch_report *r, void *user);
    /* called after every minibatch (may be NULL): done of the epoch's total
     * training tokens, and the mean loss per token of the epoch so far; it
     * is called often, so it should rate-limit whatever it prints */
    void (*on_progress)(size_t done, size_t total, double mean_loss, void *user);
    void *user;
    /* if non-NULL and set non-zero (e.g. by a signal handler or on_epoch),
     * training stops at the next minibatch boundary (after on_epoch, if it
     * was set there), calls on_checkpoint with NGLM_CKPT_STOP and returns 0
     * with the best weights so far (m->info.valid_ppl 0 if no epoch ended) */
    volatile sig_atomic_t *stop;
    /* if non-NULL, called with the trainer's state (see nglm_train_state);
     * a non-zero return fails training with its message in err.  The
     * state is only valid during the call. */
    int (*on_checkpoint)(const nglm_train_state *s, nglm_checkpoint_reason why,
                         void *user, nglm_error *err);
    double checkpoint_s;    /* > 0: also checkpoint this often (seconds) mid-epoch */
    /* if non-NULL, continue from this state instead of starting afresh; it
     * must belong to the same model, texts and options (threads may differ) */
    const nglm_train_state *resume;
    /* if non-NULL, the starting weights (n_feat entries, copied), such as a
     * Kneser-Ney model's (nglm_kn_to_weights, doc/model.md §6); they are
     * evaluated as epoch 0, reported to on_epoch with epoch 0, and kept if
     * no epoch beats them, so the result is never worse than the start on
     * the validation text.  NULL: the unigram log-frequencies, not
     * evaluated.  The fingerprint covers them, so a resume must give the
     * same. */
    const double *init;
} nglm_train_options;

/* Defaults measured on PTB (see README.md and bench/RESULTS.md). */
nglm_train_options nglm_train_options_default(void);

/* The default minibatch for a training text of n tokens: about
 * NGLM_AUTO_BATCH_STEPS updates per epoch, at least 2000 tokens (rounded to
 * a thousand).  A larger text shares each update's cost, the successor
 * lists of its distinct contexts, among more tokens, so an epoch's cost
 * grows about linearly with the text instead of faster. */
#define NGLM_AUTO_BATCH_STEPS 450
size_t nglm_train_auto_batch(size_t n_train_tokens);

/* Trains m->theta (allocated here) on train, choosing the epoch by the
 * perplexity of valid.  Fills m->info.  Fails on invalid options, a resume
 * state that does not belong to m, the texts and opt, a failing
 * on_checkpoint, or when training diverges three times. */
int nglm_train(nglm_model *m, const nglm_corpus *train, const nglm_corpus *valid,
               const nglm_train_options *opt, nglm_error *err);

/* CRC-32 of what a state belongs to: the vocabulary, the feature index and
 * the training and validation token ids, and the starting weights init
 * (n_feat entries) when not NULL. */
uint32_t nglm_train_fingerprint(const nglm_model *m, const nglm_corpus *train,
                                const nglm_corpus *valid, const double *init);

/* 0 if the state r holds together (a checkpoint as a trainer leaves it):
 * its position, rate, best epoch and perplexity, every weight finite, the
 * AdaGrad sums >= 0, no weight's last step ahead of the state's, the
 * sentence order a permutation of train's; otherwise "the checkpoint's
 * training state is inconsistent".  For the trainers' resume checks. */
int nglm_train_state_consistent(const nglm_train_state *r, const nglm_corpus *train,
                                nglm_error *err);

/* 0 if nglm_train can resume from s with this model, these texts and these
 * options (the fingerprint, every option but threads and the callbacks, and
 * the state's own consistency); else -1 and a message saying what differs.
 * nglm_train checks it too. */
int nglm_train_can_resume(const nglm_model *m, const nglm_corpus *train,
                          const nglm_corpus *valid, const nglm_train_options *opt,
                          const nglm_train_state *s, nglm_error *err);

/* Frees the arrays of a state filled by nglm_checkpoint_load and zeroes it. */
void nglm_train_state_free(nglm_train_state *s);

/* The objective J(θ) = −Σ_t ln P(y_t | h_t) + λ1 Σ|θ| + (λ2/2) Σ θ² over all
 * of c, and, if grad is non-NULL, its (sub)gradient (n_feat entries; the ℓ1
 * term contributes λ1·sign(θ), 0 at θ = 0), computed by the fast grouped
 * path in one batch.  Used by the tests against finite differences. */
int nglm_train_objective(const nglm_model *m, const nglm_corpus *c, double l1, double l2,
                         int threads, double *J, double *grad, nglm_error *err);

/* Estimated peak bytes of training with index F and options opt: the index
 * itself plus the per-weight state (weights, best weights, AdaGrad sums,
 * step stamps, the batch's scores and gradients, averages if asked) and the
 * per-context batch tables.  Used by --max-memory. */
size_t nglm_train_memory(const nglm_features *F, const nglm_train_options *opt);

#ifdef __cplusplus
}
#endif
#endif
