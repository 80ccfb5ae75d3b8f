/*
 * nglm/train.h — minibatch training of the softmax n-gram model
 * (../shared/MODEL.md §3, doc/model.md).
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

typedef struct nglm_epoch_report {
    int epoch;              /* 1-based */
    double lr;              /* learning rate used in this epoch */
    double train_loss;      /* mean −ln P per training token (before updates) */
    double train_ppl;       /* exp(train_loss) */
    double valid_ppl;       /* exact, after the epoch */
    double tokens_per_s;    /* training tokens per second of this epoch */
    double epoch_s;         /* seconds of this epoch (training only) */
    double elapsed_s;       /* seconds since training started */
    size_t features;        /* all features */
    size_t nonzero;         /* non-zero weights */
    int best;               /* this epoch is the best so far */
} nglm_epoch_report;

typedef struct nglm_train_options {
    double l1, l2;          /* penalties, on the scale of the summed loss */
    double lr;              /* initial learning rate */
    nglm_optimizer optimizer;
    double ada_init;        /* AdaGrad's initial sum of squared gradients */
    int max_epochs;
    size_t batch;           /* minibatch size in tokens */
    uint64_t seed;          /* sentence shuffling */
    int threads;            /* 0: OpenMP default */
    int average;            /* evaluate and keep each epoch's average weights */
    double min_gain;        /* relative validation gain below which the rate is halved, then training stops */
    /* called after every epoch (may be NULL) */
    void (*on_epoch)(const nglm_epoch_report *r, void *user);
    void *user;
    /* if non-NULL and set non-zero (e.g. by a signal handler), training
     * stops at the next minibatch boundary with the best weights so far */
    volatile sig_atomic_t *stop;
} nglm_train_options;

/* Defaults measured on PTB (see README.md and bench/RESULTS.md). */
nglm_train_options nglm_train_options_default(void);

/* Trains m->theta (allocated here) on train, choosing the epoch by the
 * perplexity of valid.  Fills m->info.  Fails on invalid options or when
 * training diverges. */
int nglm_train(nglm_model *m, const nglm_corpus *train, const nglm_corpus *valid,
               const nglm_train_options *opt, nglm_error *err);

/* The objective J(θ) = −Σ_t ln P(y_t | h_t) + λ1 Σ|θ| + (λ2/2) Σ θ² over all
 * of c, and, if grad is non-NULL, its (sub)gradient (n_feat entries; the ℓ1
 * term contributes λ1·sign(θ), 0 at θ = 0), computed by the fast grouped
 * path in one batch.  Used by the tests against finite differences. */
int nglm_train_objective(const nglm_model *m, const nglm_corpus *c, double l1, double l2,
                         int threads, double *J, double *grad, nglm_error *err);

#ifdef __cplusplus
}
#endif
#endif
