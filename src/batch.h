/*
 * batch.h — the grouped exact computation over a batch of tokens, shared by
 * training (forward + backward) and scoring (forward only).  Internal to
 * libnglm; the maths is doc/model.md §2.
 *
 * Forward.  Every distinct context x of the batch gets, once,
 *   es[f] = exp(s(x, w)) = es[back(f)] · exp(θ[f])   for f = (x, w) ∈ succ(x)
 *   D(x)  = Σ_f es[f] − es[back(f)]
 * lowest order first (es of a unigram is exp(θ[w])), and each token's
 * normaliser is Z(h) = U + Σ_j D(h_j) with U = Σ_w exp(θ[w]).
 *
 * Backward.  With A(x) = Σ over the batch's tokens whose history has x of
 * 1/Z(h), the expected count of every feature of x is
 *   E(x, w) = A(x)·es[f] + Σ_{children y of x in the batch, w ∈ succ(y)}
 *             (E(y, w) − A(y)·es[back(f_y)])
 * computed highest order first; the unigram level is the same with A(∅) =
 * Σ_t 1/Z(h_t), accumulated in 64-bit fixed point so that its parallel sum
 * is exact.  The gradient of the batch's negative log-likelihood is E minus
 * the observed counts.  Work is proportional to the successors of the
 * distinct contexts, not to |V| per token.  tests/check_model.c checks all of
 * it against the dense reference and finite differences.
 *
 * Determinism: every parallel loop gives each context (or token) to one
 * thread, which writes only its own outputs, and the one cross-thread sum is
 * exact, so results are bit-identical for any number of threads.
 */
#ifndef NGLM_BATCH_H
#define NGLM_BATCH_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "nglm/corpus.h"
#include "nglm/error.h"
#include "nglm/features.h"

typedef struct nglm_batch {
    const nglm_features *F;
    int nd;                 /* order - 1: chain entries per token */
    int threads;

    /* tokens: (n_tok) */
    size_t n_tok, cap_tok;
    int32_t *y;             /* (n_tok) target word */
    const int32_t **sent;   /* (n_tok) the token's sentence */
    uint32_t *pos;          /* (n_tok) its position in the sentence */
    int32_t *chain;         /* (n_tok, nd) contexts of length 1..nd, -1 past the depth */
    int32_t *tfeat;         /* (n_tok, nd) feature (chain_j, y), -1 if absent */
    double *z;              /* (n_tok) Z(h) */
    double *sy;             /* (n_tok) s(h, y) */

    /* distinct contexts: slot_of[x] is x's slot + 2, or 0 (n_ctx entries) */
    int32_t *slot_of;
    int32_t *dctx;          /* (n_d) contexts by slot, grouped by length */
    size_t d_start[NGLM_MAX_ORDER + 1]; /* slots of length k: [d_start[k-1], d_start[k]) */
    size_t n_d, cap_d;
    double *A;              /* (n_d) */
    double *D;              /* (n_d) */
    int32_t *pending[NGLM_MAX_ORDER]; /* new contexts of length k+1, in order of arrival */
    size_t n_pending[NGLM_MAX_ORDER];
    int32_t *kids;          /* (n_d) slots sorted by parent slot */
    size_t *kid_start;      /* (n_d + 1) children of slot s: kids[kid_start[s] .. kid_start[s+1]) */

    /* per feature (n_feat), valid for the features of the batch's contexts */
    double *es;             /* exp(s(x, w)); es[w] = exp(θ[w]) for unigrams */
    double *grad;           /* backward: E − observed; zero outside the batch */
    double U;               /* Σ_{w ≠ <s>} exp(θ[w]) */
    double A_root;          /* Σ_t 1/Z(h_t) */

    int64_t *fix;           /* (threads, V) fixed-point unigram corrections */

    /* skip-grams (F->n_skip > 0): see batch.c, "skip-gram features" */
    int32_t *sk;            /* (n_tok, n_skip) word at each skip distance, -1 if none */
    uint8_t *skip_in;       /* (n_skip, V) the skip context is in the batch */
    int32_t *dskip;         /* (n_dskip) distinct skip contexts, as template * V + word */
    size_t n_dskip;
    int32_t *grp_tok;       /* (n_tok) tokens sorted by their length-1 context */
    size_t *grp_start;      /* groups: grp_tok[grp_start[g] .. grp_start[g+1]) */
    size_t n_grp;
    int32_t *st_w, *st_f;   /* (threads, scr_tmp_cap) the token being worked on: word,
                               deepest n-gram feature of the word, */
    double *st_q;           /* and exp(s(h, w)) with the skip-grams */
    int64_t stamp;          /* token stamps for the scratch marks */
    int32_t *scr_map;       /* (threads, V) w's deepest n-gram feature in the contexts
                               loaded (the group's, the token's); w when none */
    int64_t *scr_mark;      /* (threads, V) stamp of the token that touched w */
    double *scr_val;        /* (threads, V) per-token products / probabilities */
    size_t scr_tmp_cap;     /* per-thread entries of st_*: the longest lists, summed */
    int64_t *fixskip;       /* (threads, skip features) fixed-point skip expectations */

    /* sharding across MPI ranks (nglm_batch_shard; NULL: the batch does all
     * its tokens).  A rank does the per-token and per-context work only for
     * its own tokens, those whose previous word it owns, and so only for the
     * subtrees of the context trie under those words; z and sy of every
     * token, the unigram corrections and the skip-gram expectations are
     * reduced across ranks (dist.h), so loss, unigram and skip-gram
     * gradients are the same on every rank and, like each rank's own
     * n-gram gradients, bit-identical to one process's. */
    const int32_t *word_rank; /* (V) rank owning the tokens after word v */
    int rank;
    uint8_t *mine;          /* (n_tok) the token is this rank's */
    size_t *skip_off;       /* (n_dskip + 1) the skip contexts' entries in skip_red */
    int64_t *skip_red;      /* (skip features) packed expectations being reduced */
} nglm_batch;

/* Features [lo, hi) of the batch's k-th distinct skip context. */
void nglm_batch_skip_range(const nglm_batch *b, size_t k, uint32_t *lo, uint32_t *hi);

int nglm_batch_init(nglm_batch *b, const nglm_features *F, size_t max_tokens,
                    int threads, int for_training, nglm_error *err);
void nglm_batch_free(nglm_batch *b);

/* Makes the batch one rank's shard of every batch added to it (see
 * word_rank above): word_rank (V entries, kept by the caller) gives the
 * rank that owns the tokens whose previous word (<s> at a sentence's start)
 * is v.  nglm_batch_forward and nglm_batch_backward then call the
 * collectives of dist.h, on every rank alike. */
int nglm_batch_shard(nglm_batch *b, const int32_t *word_rank, int rank, nglm_error *err);

/* Empties the batch (keeps its memory). */
void nglm_batch_clear(nglm_batch *b);

/* Appends token i of sentence `sent` (its history is sent[0..i-1]); the
 * sentence must stay in place until the forward pass.  The batch must have
 * room (at most max_tokens). */
void nglm_batch_add(nglm_batch *b, const int32_t *sent, size_t i);

/* Recomputes es[w] for every unigram and U.  Call after θ's unigrams
 * change, before nglm_batch_forward. */
void nglm_batch_unigrams(nglm_batch *b, const double *theta);

/* Forward pass: es and D of the batch's contexts, z and sy of its tokens:
 * ln P(y_t | h_t) = sy[t] − ln z[t].  Every buffer it needs was allocated
 * by nglm_batch_init. */
void nglm_batch_forward(nglm_batch *b, const double *theta);

/* Backward pass after forward: grad[f] for every feature of the batch's
 * contexts and every unigram (= E − observed count).  Returns the batch's
 * negative log-likelihood.  The forward pass of a training batch has
 * already done the skip-gram part of it, token by token. */
double nglm_batch_backward(nglm_batch *b);

/* Token t's normaliser is outside (1e-30, 1e30) or its target score is not
 * finite: the weights have blown up (training starts at Z ≈ 1 and the ℓ2
 * penalty pins the scores' common shift, so |ln Z| > 69 cannot happen
 * otherwise), and the batch must not reach the backward pass, which would
 * convert such numbers to fixed point. */
static inline int nglm_batch_token_diverged(const nglm_batch *b, size_t t)
{
    return !(b->z[t] > 1e-30 && b->z[t] < 1e30) || !isfinite(b->sy[t]);
}

/* Empties a training batch whose backward pass will not run (a token
 * diverged): zeroes what its forward pass accumulated (the skip-gram
 * expectations), then nglm_batch_clear. */
void nglm_batch_drop(nglm_batch *b);

#endif
