/*
 * nglm/classlm.h — Model M, the class-based exponential model (Chen 2009,
 * "Shrinking exponential language models"), exactly normalised
 * (doc/model.md §8).
 *
 * Every word belongs to one class; a token's probability is a class factor
 * times a word factor, each a softmax over n-gram features:
 *
 *   P(w | h) = P(c(w) | h) · P(w | h, c(w))
 *   P(c | h)    ∝ exp(β_c + Σ_j θ(c-history_j, c) + Σ_j θ(w-history_j, c))
 *                 over all classes
 *   P(w | h, c) ∝ exp(θ_w + Σ_j θ(w-history_j, w)) over the words of c only
 *
 * The features are the n-grams of the training text (every cutoff 1) of
 * three kinds: class history → class, word history → class, word history
 * → word; the histories are those of the feature index, with at most one <s>.
 * Internally the words are renumbered so that each class's words are
 * contiguous; the API speaks the vocabulary's ids.
 *
 * The shape mirrors nglm/model.h so that one "language model" interface
 * can hold either: open/free, vocabulary, tokenizer options, order, the
 * per-token log10 of a corpus (threads), a one-token scorer whose negative
 * id cuts the history, and a dense distribution for sampling.
 */
#ifndef NGLM_CLASSLM_H
#define NGLM_CLASSLM_H
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include "nglm/corpus.h"
#include "nglm/error.h"
#include "nglm/features.h"
#include "nglm/progress.h"
#include "nglm/train.h"
#include "nglm/tokenize.h"
#include "nglm/vocab.h"
#ifdef __cplusplus
extern "C" {
#endif

/* What produced a model; stored in its file. */
typedef struct nglm_classlm_info {
    double l1, l2, lr, ada_init;
    uint32_t epochs;        /* epochs trained (the saved model's epoch) */
    uint32_t batch;
    uint64_t seed;
    uint64_t train_tokens;
    double valid_ppl;       /* of the saved weights, or 0 */
} nglm_classlm_info;

typedef struct nglm_classlm {
    nglm_vocab *vocab;      /* owned */
    nglm_tok_options tok;
    int order;
    int32_t V;              /* vocabulary ids (<s> included) */
    int32_t C;              /* classes 1 .. C; class 0 holds only <s> */
    int32_t *cls;           /* (V) class of each vocabulary id */
    int32_t *in;            /* (V) vocabulary id → internal id */
    int32_t *out;           /* (V) internal id → vocabulary id */
    uint32_t *first;        /* (C + 2) class k's internal ids: first[k] .. first[k+1]-1 */
    int32_t *icls;          /* (V) class of each internal id */
    /* feature indexes: cc over class ids (0 .. C), ww over internal word
     * ids; wc has ww's contexts with the classes of their successors */
    nglm_features cc, wc, ww;
    size_t off_cc, off_wc, off_ww, n_weights; /* where each index's weights start */
    double *theta;          /* (n_weights); cc's unigrams are the class biases β,
                             * ww's the word weights θ_w; wc's unigrams stay 0 */
    nglm_classlm_info info;
    /* a mapped model (nglm_classlm_map): the arrays of cc, ww and wc and
     * theta point into the read-only mapping (never write them); blocks
     * verifies the file's 64 KiB blocks on first use (src/blocks.h) */
    void *map;
    size_t map_len;
    struct nglm_blocks *blocks;
} nglm_classlm;

/* Reads a class file in any form nglm_classes_read reads (word<TAB>class,
 * mkcls's, Brown's paths; nglm/cluster.h).  Words not in v are ignored;
 * words of v the file does not name go to one extra class (*unlisted gets
 * how many; may be NULL).  Fills cls (V entries, vocabulary ids → classes
 * 1 .. *C, numbered by increasing file class, or by first appearance for
 * named classes; <s> gets 0).  Fewer than 2 classes is an error.  Errors
 * are "path:line: reason". */
int nglm_classlm_read_classes(const nglm_vocab *v, const char *path, int32_t *cls,
                              int32_t *C, size_t *unlisted, nglm_error *err);

/* Builds the model's indexes from a training corpus (ids of vocab), with
 * classes cls (V entries, 1 .. C; cls[<s>] ignored, every class 1 .. C
 * non-empty), order 1 .. NGLM_MAX_ORDER, and minimum counts cutoff[m] of
 * the word and class m-grams (as nglm_features_build's; NULL: every
 * n-gram).  Takes ownership of vocab on success.  Weights are zero (the
 * uniform distribution). */
int nglm_classlm_build(nglm_classlm *m, nglm_vocab *vocab, const nglm_tok_options *tok,
                       const int32_t *cls, int32_t C, const nglm_corpus *train, int order,
                       const uint32_t *cutoff, int threads, nglm_error *err);

/* A start from counts: every class bias the log of its share of the
 * training tokens (feature counts of cc), every word weight the log of its
 * share of its class's tokens (ww's), the n-gram weights 0: the class
 * unigram model times the in-class unigram model. */
void nglm_classlm_init_unigrams(nglm_classlm *m);

/* Frees what m owns (not m). */
void nglm_classlm_free(nglm_classlm *m);

/* Maps a model file (nglm_classlm_map) into a malloc'ed model (NULL and
 * err on failure); nglm_classlm_close frees it. */
nglm_classlm *nglm_classlm_open(const char *path, nglm_error *err);
void nglm_classlm_close(nglm_classlm *m);

/* The model file (doc/model-format.md, "Model M files"): magic "NGLMCLSM",
 * version, the vocabulary, classes, indexes and weights, a CRC-32 of all
 * before it; version 2 (written now) also aligns every array to 8 bytes
 * and holds a CRC-32C of each 64 KiB block.  Saving replaces path
 * atomically.
 *
 * nglm_classlm_load reads the whole file into a model of its own (which
 * may be trained): it checks the size, the CRC, every block and every
 * array before using any; a damaged or truncated file fails with one line.
 *
 * nglm_classlm_map maps a version 2 file read-only and uses its arrays in
 * place (a version 1 file is loaded as nglm_classlm_load does): it checks
 * the header, the block table and the index arrays the scorer walks (range
 * and order, their blocks verified), but not the weights, whose blocks the
 * scorer verifies as it first reads them; a damaged block it reads makes
 * scoring fail with "PATH: bytes A..B (block N of 64 KiB) are damaged"
 * (nglm_classlm_check).  Nothing may write a mapped model's arrays (the
 * mapping is read-only): train a model built or loaded, never one mapped
 * (m->map set). */
int nglm_classlm_save(const nglm_classlm *m, const char *path, nglm_error *err);
int nglm_classlm_load(nglm_classlm *m, const char *path, nglm_error *err);
int nglm_classlm_map(nglm_classlm *m, const char *path, nglm_error *err);
/* 0, or -1 and the damaged block once a scorer has read one. */
int nglm_classlm_check(const nglm_classlm *m, nglm_error *err);
/* Writes the older version 1 file: for the tests of reading it. */
int nglm_classlm_save_v1(const nglm_classlm *m, const char *path, nglm_error *err);
/* 1 if path starts with the class model's magic, else 0. */
int nglm_classlm_file_is(const char *path);

static inline int nglm_classlm_order(const nglm_classlm *m) { return m->order; }

/* Slow reference: p[0..V-1] = P(w | history of sent[i]) for every
 * vocabulary id by lookups, O(|V| · n · log); p[<s>] = 0.  Also the dense
 * distribution for sampling. */
void nglm_classlm_dist_dense(const nglm_classlm *m, const int32_t *sent, size_t i,
                             double *p);

/* Natural-log probability of every token of c (c->n_tokens entries), on
 * up to `threads` threads (0: OpenMP default); bit-identical for any. */
int nglm_classlm_score_corpus(const nglm_classlm *m, const nglm_corpus *c, double *logp,
                              int threads, nglm_error *err);
/* The same in log10. */
int nglm_classlm_score_corpus10(const nglm_classlm *m, const nglm_corpus *c, double *lp10,
                                int threads, const nglm_progress *p, nglm_error *err);

/* One token at a time.  A negative id in sent ends the history (no <s>
 * implied there), as nglm_model_scorer. */
typedef struct nglm_classlm_scorer {
    const nglm_classlm *m;  /* not owned */
    double *cs;             /* (C + 1) class scores */
    double *ws;             /* (largest class) word scores */
    int32_t *hist;          /* (order) internal ids of the history */
} nglm_classlm_scorer;
int nglm_classlm_scorer_init(nglm_classlm_scorer *s, const nglm_classlm *m, nglm_error *err);
void nglm_classlm_scorer_free(nglm_classlm_scorer *s);
/* log10 P(sent[i] | history), sent[i] a vocabulary id 1 .. V-1.  Not
 * reentrant: one scorer per thread. */
double nglm_classlm_scorer_logprob10(nglm_classlm_scorer *s, const int32_t *sent, size_t i);

/* ---------------------------------------------------------------- training
 *
 * Minibatches of whole sentences in a seeded shuffled order; per-coordinate
 * AdaGrad with lazy proximal ℓ1/ℓ2 as nglm_train (doc/model.md §3); the
 * gradient of a minibatch is computed on `threads` threads and the weights
 * are bit-identical for any number.
 *
 * Reports and checkpoints are the word model's (nglm/train.h): an
 * nglm_epoch_report per epoch, and the whole state as an nglm_train_state
 * (saved by nglm/checkpoint.h) at the end of every epoch, every
 * checkpoint_s seconds and when *stop is set; training resumed from it
 * ends with the same weights, bit for bit, as a run that never stopped. */
typedef struct nglm_classlm_train_options {
    double l1, l2, lr, ada_init;
    int epochs;
    size_t batch;           /* tokens per minibatch (whole sentences) */
    uint64_t seed;
    int threads;            /* 0: OpenMP default */
    double min_gain;        /* relative validation gain: an epoch gaining less than
                             * min_gain on the best so far halves the rate for every
                             * later epoch, and the next one that gains less ends
                             * training; 0: constant rate */
    nglm_schedule schedule; /* NGLM_SCHEDULE_HALVE (default, by min_gain) or
                             * NGLM_SCHEDULE_LINEAR (lr falls to 0 over epochs) */
    void (*on_epoch)(const nglm_epoch_report *r, void *user);
    void (*on_progress)(size_t done, size_t total, double loss, void *user);
    /* as nglm_train_options's: a non-zero return fails training */
    int (*on_checkpoint)(const nglm_train_state *s, nglm_checkpoint_reason why, void *user,
                         nglm_error *err);
    double checkpoint_s;    /* > 0: also checkpoint this often (seconds) mid-epoch */
    void *user;
    volatile sig_atomic_t *stop; /* set: checkpoint after this minibatch and return */
    const nglm_train_state *resume; /* go on from this state (NULL: from m->theta) */
    int eval_start;         /* evaluate the starting weights on valid as epoch 0 (and
                             * keep them if no epoch beats them); default 1 */
} nglm_classlm_train_options;

nglm_classlm_train_options nglm_classlm_train_options_default(void);

/* Trains m->theta from its current values on train, keeping the epoch with
 * the best perplexity on valid (valid may be NULL: the last epoch).  Sets
 * *stopped (may be NULL) to 1 if *stop ended it early, after the
 * checkpoint: m->theta then holds the weights at the stop, not the best.
 * Fails on bad options, a resume state of other data or options, or a
 * failed on_checkpoint. */
int nglm_classlm_train(nglm_classlm *m, const nglm_corpus *train, const nglm_corpus *valid,
                       const nglm_classlm_train_options *opt, int *stopped, nglm_error *err);

/* J(θ) = −Σ_t ln P(y_t | h_t) + λ1 Σ|θ| + (λ2/2) Σ θ² over all of c and, if
 * grad is non-NULL, its (sub)gradient (n_weights; λ1·sign(θ), 0 at 0),
 * by the trainer's grouped path in one batch.  For the tests. */
int nglm_classlm_objective(const nglm_classlm *m, const nglm_corpus *c, double l1, double l2,
                           int threads, double *J, double *grad, nglm_error *err);

/* Non-zero weights. */
size_t nglm_classlm_nonzero(const nglm_classlm *m);
/* Bytes held by the model (indexes and weights). */
size_t nglm_classlm_bytes(const nglm_classlm *m);

#ifdef __cplusplus
}
#endif
#endif
