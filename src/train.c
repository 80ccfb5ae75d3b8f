/*
 * train.c — the training loop: epochs over shuffled sentences, minibatch
 * gradients from batch.c, per-coordinate updates with lazy proximal ℓ1/ℓ2,
 * validation after each epoch, learning-rate halving and early stopping
 * (see nglm/train.h; the maths is doc/model.md §3).
 *
 * All the trainer's state lives in one nglm_train_state, updated in place,
 * so that a checkpoint is that struct as it stands at a minibatch boundary
 * and resuming is copying it back: nothing else (no local counters, no
 * timing) feeds into the weights.  Divergence (a loss or weight that is not
 * finite) is caught per minibatch before the backward pass and per epoch
 * on the weights, and rolled back (rollback()).
 *
 * Under MPI (dist.h) every rank runs this same loop over the same
 * minibatches, and each computes the part of every minibatch whose tokens
 * follow a word it owns (shard_words(); batch.h, "sharding").  A context's
 * length-1 ancestor is the previous word of every token that reaches it, so
 * a rank reads and updates the n-gram weights of its own subtrees of the
 * context trie only, while the unigram and skip-gram weights, whose
 * gradients are summed over the ranks, are updated alike everywhere.  The
 * n-gram state is merged from its owners (sync_shards()) before anything
 * that needs the whole model: the end of an epoch and a checkpoint.  Each
 * step is then the single process's, bit for bit.
 */
#include "nglm/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "batch.h"
#include "dist.h"
#include "rng.h"
#include "fileio.h"
#include "nglm/eval.h"

nglm_train_options nglm_train_options_default(void)
{
    nglm_train_options o;
    memset(&o, 0, sizeof o);
    o.l1 = 0.5;
    o.l2 = 1.0 / 6.0;
    o.lr = 2.0;
    o.optimizer = NGLM_ADAGRAD;
    o.max_epochs = 20;
    o.batch = 0; /* nglm_train_auto_batch */
    o.seed = 1;
    o.threads = 0;
    o.min_gain = 0.02;
    o.average = 0;
    return o;
}

size_t nglm_train_auto_batch(size_t n_train_tokens)
{
    /* PTB (0.89M tokens) measured best at 2000; on a 9M-token text one
     * epoch at 20000-32000 is both better and 2-3x faster (README, "Growth") */
    size_t b = (n_train_tokens / NGLM_AUTO_BATCH_STEPS + 500) / 1000 * 1000;
    return b > 2000 ? b : 2000;
}

/* opt, with batch 0 resolved to nglm_train_auto_batch */
static nglm_train_options resolved(const nglm_train_options *opt, const nglm_corpus *train)
{
    nglm_train_options o = *opt;
    if (o.batch == 0)
        o.batch = nglm_train_auto_batch(train->n_tokens);
    return o;
}

static double now(void) { return nglm_wall_seconds(); }

static void shuffle(uint64_t *order, size_t n, uint64_t *state)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(nglm_splitmix64(state) % i); /* the state: the checkpoint's rng */
        uint64_t tmp = order[i - 1];
        order[i - 1] = order[j];
        order[j] = tmp;
    }
}

/* The optimiser works on the state s (weights, AdaGrad sums, the step at
 * which each weight's penalty was last applied, the rate) in place. */
typedef struct trainer {
    const nglm_train_options *opt;
    nglm_train_state *s;
    double share;       /* B/T: the penalty a step carries */
    double t_start;     /* now() when training started, less earlier runs */
    double t_ckpt;      /* now() at the last checkpoint */
    size_t done;        /* training tokens of the epoch so far (on_progress) */
    int threads;
    /* MPI ranks (K = 1: everything is this process's) */
    const nglm_features *F;
    int K, rank;
    int32_t *word_rank;  /* (V) owner of the tokens after each word */
    int32_t *ctx_rank;   /* (n_ctx) owner of each context's features */
    int synced;          /* every rank holds the whole n-gram state */
} trainer;

/* What an epoch's pass over the sentences ended with, besides 0 and -1. */
enum { TR_STOPPED = 1, TR_DIVERGED = 2 };

/* One weight's step: the gradient step at its rate (AdaGrad's, or lr), then
 * the penalties of the steps since it was last touched (`age` of them), as
 * proximal steps: ℓ2 shrink, then ℓ1 soft threshold. */
static inline double prox_step(double theta, double g, double rate, double age, double share,
                               double l1, double l2)
{
    double pen = age * share * rate;
    double th = (theta - rate * g) / (1.0 + pen * l2);
    double over = fabs(th) - pen * l1; /* th ∓ t1 exactly, with th's sign */
    return over > 0 ? copysign(over, th) : 0.0;
}

/* Weights lo..hi-1: gradient step with grad (then zeroed; NULL for a
 * penalty-only step) and the pending penalties.  The common case (AdaGrad,
 * a gradient, no averaging) runs as a SIMD loop: square root and division
 * are correctly rounded in vector lanes too, so the weights are the same
 * bits as the plain loop's, which handles everything else. */
static void update_range(const trainer *tr, size_t lo, size_t hi, double *grad)
{
    const int adagrad = tr->opt->optimizer == NGLM_ADAGRAD;
    const double delta = tr->opt->ada_init > 0 ? tr->opt->ada_init : 1e-8;
    const double lr = tr->s->lr, l1 = tr->opt->l1, l2 = tr->opt->l2, share = tr->share;
    const uint32_t step = tr->s->step;
    double *restrict theta = tr->s->theta, *restrict gsq = tr->s->gsq, *avg = tr->s->avg;
    uint32_t *restrict last = tr->s->last;
    if (adagrad && grad && !avg) {
        double *restrict gr = grad;
#pragma omp simd
        for (size_t f = lo; f < hi; f++) {
            double g = gr[f], q = gsq[f] + g * g;
            double rate = lr / sqrt(q + delta);
            gsq[f] = q;
            theta[f] = prox_step(theta[f], g, rate, (double)(step - last[f]), share, l1, l2);
            last[f] = step;
            gr[f] = 0;
        }
        return;
    }
    for (size_t f = lo; f < hi; f++) {
        double g = grad ? grad[f] : 0.0, rate = lr;
        if (adagrad) {
            gsq[f] += g * g;
            rate = lr / sqrt(gsq[f] + delta);
        }
        if (avg)
            avg[f] += theta[f] * (double)(step - last[f]);
        theta[f] = prox_step(theta[f], g, rate, (double)(step - last[f]), share, l1, l2);
        last[f] = step;
        if (grad)
            grad[f] = 0;
    }
}

static int stopped(const nglm_train_options *opt) { return opt->stop && *opt->stop; }

/* Applies the pending penalty of every weight (before evaluating/saving). */
static void flush_penalties(trainer *tr, size_t n_feat, int threads)
{
    long n = (long)n_feat;
#pragma omp parallel for schedule(static) num_threads(threads)
    for (long f = 1; f < n; f++)
        if (tr->s->last[f] != tr->s->step)
            update_range(tr, (size_t)f, (size_t)f + 1, NULL);
}

/* ---------------------------------------------------------------- MPI ranks */

typedef struct word_load { uint64_t n; int32_t w; } word_load;

/* more tokens first, then the lower word id */
static int cmp_load(const void *pa, const void *pb)
{
    const word_load *a = pa, *b = pb;
    if (a->n != b->n)
        return a->n > b->n ? -1 : 1;
    return (a->w > b->w) - (a->w < b->w);
}

/* The rank that owns the training tokens after each word (<s> before a
 * sentence's first): words by descending number of such tokens (ties: lower
 * id), each to the rank with the fewest tokens so far (ties: lower rank).
 * Deterministic, so every rank computes the same table. */
static int32_t *shard_words(const nglm_corpus *train, int32_t V, int K)
{
    word_load *wl = calloc((size_t)V, sizeof *wl);
    uint64_t *load = calloc((size_t)K, sizeof *load);
    int32_t *owner = malloc((size_t)V * sizeof *owner);
    if (!wl || !load || !owner) {
        free(wl);
        free(load);
        free(owner);
        return NULL;
    }
    for (int32_t w = 0; w < V; w++)
        wl[w].w = w;
    for (size_t s = 0; s < train->n_sents; s++) {
        size_t len;
        const int32_t *sent = nglm_corpus_sentence(train, s, &len);
        for (size_t i = 0; i < len; i++)
            wl[i > 0 ? sent[i - 1] : NGLM_BOS].n++;
    }
    qsort(wl, (size_t)V, sizeof *wl, cmp_load);
    for (int32_t i = 0; i < V; i++) {
        int best = 0;
        for (int r = 1; r < K; r++)
            if (load[r] < load[best])
                best = r;
        owner[wl[i].w] = best;
        load[best] += wl[i].n;
    }
    free(wl);
    free(load);
    return owner;
}

/* Makes the trainer and its batch one rank's shard (K > 1). */
static int shard(trainer *tr, nglm_batch *b, const nglm_corpus *train, nglm_error *err)
{
    const nglm_features *F = tr->F;
    tr->word_rank = shard_words(train, F->V, tr->K);
    tr->ctx_rank = malloc((F->n_ctx ? F->n_ctx : 1) * sizeof *tr->ctx_rank);
    if (!tr->word_rank || !tr->ctx_rank)
        return nglm_error_set(err, "out of memory for the ranks' shares");
    /* contexts are numbered by length: a parent comes before its children */
    for (size_t x = 0; x < F->n_ctx; x++)
        tr->ctx_rank[x] = x < F->ctx_order_start[1] ? tr->word_rank[F->ctx_word[x]]
                                                     : tr->ctx_rank[F->ctx_parent[x]];
    return nglm_batch_shard(b, tr->word_rank, tr->rank, err);
}

/* Gives every rank the whole n-gram state (features of contexts of length
 * >= 1: weights, AdaGrad sums, steps of the last update, averages), each
 * entry from the rank that owns it; the other ranks' copies are stale and
 * were never read.  Lazy penalties stay pending: θ and last[] move together. */
static void sync_shards(trainer *tr)
{
    if (tr->K < 2 || tr->synced)
        return;
    const nglm_features *F = tr->F;
    nglm_train_state *s = tr->s;
    long n_ctx = (long)F->n_ctx;
#pragma omp parallel for schedule(dynamic, 256) num_threads(tr->threads)
    for (long x = 0; x < n_ctx; x++) {
        if (tr->ctx_rank[x] == tr->rank)
            continue;
        size_t lo = F->ctx_first[x], n = F->ctx_first[x + 1] - lo;
        memset(s->theta + lo, 0, n * sizeof *s->theta);
        memset(s->gsq + lo, 0, n * sizeof *s->gsq);
        memset(s->last + lo, 0, n * sizeof *s->last);
        if (s->avg)
            memset(s->avg + lo, 0, n * sizeof *s->avg);
    }
    size_t lo = (size_t)F->V, n = F->n_ngram_feat - lo;
    nglm_dist_merge(s->theta + lo, n, sizeof *s->theta);
    nglm_dist_merge(s->gsq + lo, n, sizeof *s->gsq);
    nglm_dist_merge(s->last + lo, n, sizeof *s->last);
    if (s->avg)
        nglm_dist_merge(s->avg + lo, n, sizeof *s->avg);
    tr->synced = 1;
}

/* A stop asked on any rank stops them all. */
static int any_stopped(const trainer *tr)
{
    int st = stopped(tr->opt);
    return tr->K > 1 ? nglm_dist_max_int(st) : st;
}

/* ---------------------------------------------------------------- updates */

/* Applies the batch's gradient to the weights it touched and zeroes it. */
static void apply_batch(trainer *tr, nglm_batch *b)
{
    const nglm_features *F = b->F;
    tr->s->step++;
    tr->synced = 0;
    long n_d = (long)b->n_d, n_skip_ctx = (long)b->n_dskip;
#pragma omp parallel num_threads(b->threads)
    {
#pragma omp for schedule(dynamic, 8) nowait
        for (long s = 0; s < n_d; s++) {
            int32_t x = b->dctx[s];
            update_range(tr, F->ctx_first[x], F->ctx_first[x + 1], b->grad);
        }
        /* the unigrams, in 64 chunks */
#pragma omp for schedule(dynamic, 1) nowait
        for (long c = 0; c < 64; c++) {
            size_t V = (size_t)F->V, lo = 1 + (V - 1) * (size_t)c / 64,
                   hi = 1 + (V - 1) * (size_t)(c + 1) / 64;
            update_range(tr, lo, hi, b->grad);
        }
#pragma omp for schedule(dynamic, 16)
        for (long k = 0; k < n_skip_ctx; k++) {
            uint32_t lo, hi;
            nglm_batch_skip_range(b, (size_t)k, &lo, &hi);
            update_range(tr, lo, hi, b->grad);
        }
    }
}

/* The linear schedule's rate after `done` tokens of the current epoch:
 * lr0 · (1 − the part of the run's tokens already trained), halved once
 * per divergence; a function of the state alone, so a resumed run takes
 * the same steps. */
static double linear_rate(const nglm_train_state *s, size_t n_train, size_t done)
{
    double total = (double)s->max_epochs * (double)n_train;
    double trained = (double)(s->epoch - 1) * (double)n_train + (double)done;
    double left = trained < total ? 1.0 - trained / total : 0.0;
    return s->lr0 * ldexp(left, -(int)s->divergences);
}

/* One minibatch: forward, backward, update; adds its summed loss to the
 * epoch's.  Returns 0 or TR_DIVERGED: a token whose Z or target score
 * shows the weights have blown up (nglm_batch_token_diverged) drops the
 * batch before the backward pass, which must not see such numbers (it
 * converts expectations to fixed point, where they would lose all
 * precision). */
static int train_step(trainer *tr, nglm_batch *b, size_t n_train)
{
    tr->share = (double)b->n_tok / (double)n_train;
    if (tr->opt->schedule == NGLM_SCHEDULE_LINEAR)
        tr->s->lr = linear_rate(tr->s, n_train, tr->done);
    nglm_batch_unigrams(b, tr->s->theta);
    nglm_batch_forward(b, tr->s->theta);
    for (size_t t = 0; t < b->n_tok; t++)
        if (nglm_batch_token_diverged(b, t)) {
            nglm_batch_drop(b);
            return TR_DIVERGED;
        }
    tr->s->loss += nglm_batch_backward(b);
    apply_batch(tr, b);
    tr->done += b->n_tok;
    nglm_batch_clear(b);
    if (tr->opt->on_progress)
        tr->opt->on_progress(tr->done, n_train, tr->s->loss / (double)tr->done, tr->opt->user);
    return 0;
}

/* Hands the whole state to on_checkpoint (if any), on every rank. */
static int checkpoint(trainer *tr, nglm_checkpoint_reason why, nglm_error *err)
{
    const nglm_train_options *opt = tr->opt;
    tr->t_ckpt = now();
    tr->s->elapsed_s = tr->t_ckpt - tr->t_start;
    if (!opt->on_checkpoint)
        return 0;
    sync_shards(tr);
    return opt->on_checkpoint(tr->s, why, opt->user, err) != 0 ? -1 : 0;
}

/* At a minibatch boundary (no tokens pending): stop, or checkpoint if it
 * is time; collective under MPI. */
static int boundary(trainer *tr, nglm_error *err)
{
    const nglm_train_options *opt = tr->opt;
    /* 2: stop, 1: checkpoint; the same on every rank (rank 0's clock) */
    int act = stopped(opt) ? 2 : 0;
    if (!act && opt->checkpoint_s > 0 && opt->on_checkpoint && tr->rank == 0 &&
        now() - tr->t_ckpt >= opt->checkpoint_s)
        act = 1;
    if (tr->K > 1)
        act = nglm_dist_max_int(act);
    if (act == 2)
        return checkpoint(tr, NGLM_CKPT_STOP, err) != 0 ? -1 : TR_STOPPED;
    return act == 1 ? checkpoint(tr, NGLM_CKPT_TIMER, err) : 0;
}

/* The rest of the epoch's pass over the training sentences, from the
 * state's position: 0, TR_STOPPED, TR_DIVERGED or -1. */
static int run_epoch(trainer *tr, nglm_batch *b, const nglm_corpus *train, nglm_error *err)
{
    nglm_train_state *s = tr->s;
    nglm_batch_clear(b);
    tr->done = (size_t)s->tok; /* where the pass starts, for on_progress */
    for (uint64_t i = 0; i < s->sent; i++)
        tr->done += train->start[s->order[i] + 1] - train->start[s->order[i]];
    for (; s->sent < s->n_sents; s->sent++, s->tok = 0) {
        size_t len;
        const int32_t *sent = nglm_corpus_sentence(train, (size_t)s->order[s->sent], &len);
        for (; s->tok < len; s->tok++) {
            if (b->n_tok == b->cap_tok) {
                int rc = train_step(tr, b, train->n_tokens);
                if (rc == 0)
                    rc = boundary(tr, err);
                if (rc != 0)
                    return rc;
            }
            nglm_batch_add(b, sent, (size_t)s->tok);
        }
    }
    return b->n_tok > 0 ? train_step(tr, b, train->n_tokens) : 0;
}

/* After a divergence: back to the best weights so far (the unigram start
 * before the first epoch ends) at half the rate, the epoch restarted in the
 * same order; AdaGrad sums that are no longer finite start again from 0.
 * The third divergence fails. */
static int rollback(trainer *tr, nglm_error *err)
{
    nglm_train_state *s = tr->s;
    size_t nf = (size_t)s->n_feat;
    if (++s->divergences >= 3)
        return nglm_error_set(err, "training diverged %u times (a loss or weight is not finite; "
                              "the last time in epoch %u at learning rate %g): lower the learning rate",
                              (unsigned)s->divergences, (unsigned)s->epoch, s->lr);
    memcpy(s->theta, s->best, nf * sizeof *s->theta);
    for (size_t f = 0; f < nf; f++) {
        if (!isfinite(s->gsq[f]))
            s->gsq[f] = 0;
        s->last[f] = s->step;
    }
    if (s->avg)
        memset(s->avg, 0, nf * sizeof *s->avg);
    s->epoch_step0 = s->step;
    s->lr *= 0.5;
    s->started = 1;
    s->sent = s->tok = 0;
    s->loss = 0;
    return 0;
}

static int all_finite(const double *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return 0;
    return 1;
}



uint32_t nglm_train_fingerprint(const nglm_model *m, const nglm_corpus *train,
                                const nglm_corpus *valid, const double *init)
{
    const nglm_features *F = &m->feat;
    uLong crc = crc32(0L, Z_NULL, 0);
    size_t nw = m->vocab ? nglm_vocab_size(m->vocab) : 0;
    for (size_t i = 0; i < nw; i++) {
        const char *w = nglm_vocab_word(m->vocab, (int32_t)i);
        crc = nglm_io_crc(crc, w, strlen(w) + 1);
    }
    int32_t head[4] = {F->order, F->V, (int32_t)F->n_skip, (int32_t)F->skip_cutoff};
    crc = nglm_io_crc(crc, head, sizeof head);
    crc = nglm_io_crc(crc, &F->n_feat, sizeof F->n_feat);
    crc = nglm_io_crc(crc, &F->n_ctx, sizeof F->n_ctx);
    crc = nglm_io_crc(crc, F->ctx_parent, F->n_ctx * sizeof *F->ctx_parent);
    crc = nglm_io_crc(crc, F->ctx_word, F->n_ctx * sizeof *F->ctx_word);
    crc = nglm_io_crc(crc, F->ctx_first, (F->n_ctx + 1) * sizeof *F->ctx_first);
    crc = nglm_io_crc(crc, F->feat_word, F->n_feat * sizeof *F->feat_word);
    crc = nglm_io_crc(crc, F->feat_back, F->n_feat * sizeof *F->feat_back);
    crc = nglm_io_crc(crc, F->feat_count, F->n_feat * sizeof *F->feat_count);
    for (int i = 0; i < F->n_skip; i++) {
        crc = nglm_io_crc(crc, &F->skip_dist[i], sizeof F->skip_dist[i]);
        crc = nglm_io_crc(crc, F->skip_first[i], ((size_t)F->V + 1) * sizeof *F->skip_first[i]);
    }
    crc = nglm_io_crc_corpus(crc, train);
    crc = nglm_io_crc_corpus(crc, valid);
    if (init)
        crc = nglm_io_crc(crc, init, F->n_feat * sizeof *init);
    return (uint32_t)crc;
}

void nglm_train_state_free(nglm_train_state *s)
{
    free(s->theta);
    free(s->best);
    free(s->gsq);
    free(s->last);
    free(s->avg);
    free(s->order);
    memset(s, 0, sizeof *s);
}

/* r (a state to resume) must belong to the same data and options as the
 * fresh state s, and be consistent with itself. */
static int check_resume(const nglm_train_state *s, const nglm_train_state *r,
                        const nglm_corpus *train, nglm_error *err)
{
    static const char *const optname[] = {"adagrad", "sgd"};
    if (r->fingerprint != s->fingerprint || r->n_feat != s->n_feat || r->n_sents != s->n_sents)
        return nglm_error_set(err, "the checkpoint belongs to other data or model options "
                              "(vocabulary, features, training or validation text)");
#define SAME_NUM(field, name)                                                              \
    if (r->field != s->field)                                                              \
        return nglm_error_set(err, "the checkpoint was made with " name " %.10g, not %.10g", \
                              (double)r->field, (double)s->field)
    if (r->schedule != s->schedule)
        return nglm_error_set(err, "the checkpoint was made with the %s schedule, not the %s one",
                              r->schedule ? "linear" : "halving", s->schedule ? "linear" : "halving");
    if (r->optimizer != s->optimizer)
        return nglm_error_set(err, "the checkpoint was made with optimizer %s, not %s",
                              r->optimizer <= 1 ? optname[r->optimizer] : "?",
                              optname[s->optimizer]);
    if (r->average != s->average)
        return nglm_error_set(err, "the checkpoint was made %s averaging", r->average ? "with" : "without");
    SAME_NUM(l1, "l1");
    SAME_NUM(l2, "l2");
    SAME_NUM(lr0, "learning rate");
    SAME_NUM(ada_init, "AdaGrad initial sum");
    SAME_NUM(min_gain, "minimum gain");
    SAME_NUM(halve_from, "halve-from");
    SAME_NUM(max_epochs, "epochs");
    SAME_NUM(batch, "batch size");
    SAME_NUM(seed, "seed");
#undef SAME_NUM
    return nglm_train_state_consistent(r, train, err);
}

int nglm_train_state_consistent(const nglm_train_state *r, const nglm_corpus *train,
                                nglm_error *err)
{
    size_t nf = (size_t)r->n_feat, ns = (size_t)r->n_sents;
    int ok = r->epoch >= 1 && r->epoch <= r->max_epochs && r->started <= 1 &&
             r->epoch_step0 <= r->step && r->decaying <= 1 && r->best_epoch < r->epoch &&
             r->divergences < 3 && r->lr > 0 && isfinite(r->lr) && isfinite(r->loss) &&
             /* +inf before any epoch was evaluated; finite from epoch 0 (a start) on */
             (r->best_ppl == INFINITY ? r->best_epoch == 0
                                      : isfinite(r->best_ppl) && r->best_ppl > 0) &&
             r->theta && r->best && r->gsq && r->last && r->order && !r->avg == !r->average;
    if (ok && r->started) {
        size_t len = 0;
        ok = r->sent < ns && r->order[r->sent] < ns;
        if (ok)
            nglm_corpus_sentence(train, (size_t)r->order[r->sent], &len);
        ok = ok && r->tok < len;
    }
    ok = ok && all_finite(r->theta, nf) && all_finite(r->best, nf) &&
         (!r->avg || all_finite(r->avg, nf));
    for (size_t f = 0; ok && f < nf; f++)
        ok = r->gsq[f] >= 0 && isfinite(r->gsq[f]) && r->last[f] <= r->step;
    if (ok) { /* order is a permutation */
        unsigned char *seen = calloc(ns ? ns : 1, 1);
        if (!seen)
            return nglm_error_set(err, "out of memory");
        for (size_t i = 0; ok && i < ns; i++) {
            ok = r->order[i] < ns && !seen[r->order[i]];
            if (ok)
                seen[r->order[i]] = 1;
        }
        free(seen);
    }
    if (!ok)
        return nglm_error_set(err, "the checkpoint's training state is inconsistent");
    return 0;
}

/* A fresh state's scalars that describe what it belongs to; no arrays. */
static void state_init(nglm_train_state *st, const nglm_model *m, const nglm_corpus *train,
                       const nglm_corpus *valid, const nglm_train_options *opt)
{
    memset(st, 0, sizeof *st);
    st->optimizer = (uint32_t)opt->optimizer;
    st->average = opt->average != 0;
    st->max_epochs = (uint32_t)opt->max_epochs;
    st->batch = opt->batch;
    st->seed = opt->seed;
    st->l1 = opt->l1;
    st->l2 = opt->l2;
    st->lr0 = opt->lr;
    st->ada_init = opt->ada_init;
    st->min_gain = opt->min_gain;
    st->halve_from = (uint32_t)opt->halve_from;
    st->schedule = (uint32_t)opt->schedule;
    st->n_feat = m->feat.n_feat;
    st->n_sents = train->n_sents;
    if (opt->on_checkpoint || opt->resume)
        st->fingerprint = nglm_train_fingerprint(m, train, valid, opt->init);
}

int nglm_train_can_resume(const nglm_model *m, const nglm_corpus *train,
                          const nglm_corpus *valid, const nglm_train_options *opt,
                          const nglm_train_state *s, nglm_error *err)
{
    nglm_train_options o = resolved(opt, train);
    o.resume = s;
    nglm_train_state st;
    state_init(&st, m, train, valid, &o);
    return check_resume(&st, s, train, err);
}

/* Copies the scalars and arrays of src into dst, keeping dst's arrays. */
static void state_copy(nglm_train_state *dst, const nglm_train_state *src)
{
    nglm_train_state keep = *dst;
    size_t nf = (size_t)src->n_feat;
    *dst = *src;
    dst->theta = keep.theta;
    dst->best = keep.best;
    dst->gsq = keep.gsq;
    dst->last = keep.last;
    dst->avg = keep.avg;
    dst->order = keep.order;
    memcpy(dst->theta, src->theta, nf * sizeof *dst->theta);
    memcpy(dst->best, src->best, nf * sizeof *dst->best);
    memcpy(dst->gsq, src->gsq, nf * sizeof *dst->gsq);
    memcpy(dst->last, src->last, nf * sizeof *dst->last);
    if (dst->avg)
        memcpy(dst->avg, src->avg, nf * sizeof *dst->avg);
    memcpy(dst->order, src->order, (size_t)src->n_sents * sizeof *dst->order);
}

/* Epoch 0: the starting weights opt.init, evaluated on the validation text
 * and kept as the best so far. */
static int start_epoch(trainer *tr, nglm_model *m, const nglm_corpus *valid, nglm_error *err)
{
    nglm_train_state *st = tr->s;
    double ppl;
    if (nglm_eval_perplexity(m, valid, tr->opt->threads, &ppl, err) != 0)
        return -1;
    nglm_dist_bcast(&ppl, sizeof ppl); /* one decision for all ranks */
    if (!isfinite(ppl))
        return nglm_error_set(err, "the starting weights give a validation perplexity of %g",
                              ppl);
    st->best_ppl = ppl;
    st->best_epoch = 0;
    if (tr->opt->on_epoch) {
        nglm_epoch_report r = {0};
        r.epoch = 0;
        r.lr = st->lr;
        r.train_loss = r.train_ppl = NAN;
        r.valid_ppl = ppl;
        r.elapsed_s = now() - tr->t_start;
        r.features = (size_t)st->n_feat;
        r.nonzero = nglm_model_nonzero(m);
        r.best = 1;
        tr->opt->on_epoch(&r, tr->opt->user);
    }
    return 0;
}

/* The options nglm_train refuses. */
static int check_options(const nglm_train_options *opt, const nglm_corpus *train,
                         const nglm_corpus *valid, nglm_error *err)
{
    if (!(opt->l1 >= 0) || !(opt->l2 >= 0) || !isfinite(opt->l1) || !isfinite(opt->l2))
        return nglm_error_set(err, "penalties must be finite and non-negative");
    if (!(opt->lr > 0) || !isfinite(opt->lr))
        return nglm_error_set(err, "the learning rate must be positive");
    if (opt->batch < 1 || opt->max_epochs < 1)
        return nglm_error_set(err, "batch size and epochs must be at least 1");
    if (opt->halve_from < 0 || opt->halve_from > NGLM_MAX_EPOCHS)
        return nglm_error_set(err, "halve_from must be 0..%d", NGLM_MAX_EPOCHS);
    if (opt->schedule != NGLM_SCHEDULE_HALVE && opt->schedule != NGLM_SCHEDULE_LINEAR)
        return nglm_error_set(err, "unknown learning-rate schedule %d", (int)opt->schedule);
    if (train->n_tokens == 0)
        return nglm_error_set(err, "the training text has no tokens");
    if (valid->n_tokens == 0)
        return nglm_error_set(err, "the validation text has no tokens");
    return 0;
}

/* The validation perplexity of the epoch's weights, or of its average
 * weights (opt.average), and their non-zero count: 0, TR_DIVERGED (not
 * finite) or -1. */
static int evaluate_epoch(trainer *tr, nglm_model *m, const nglm_corpus *valid, double *ppl,
                          size_t *nonzero, nglm_error *err)
{
    nglm_train_state *st = tr->s;
    size_t nf = tr->F->n_feat;
    double *cur = m->theta;
    if (st->avg) {
        double steps = (double)(st->step - st->epoch_step0);
        for (size_t f = 0; f < nf; f++)
            st->avg[f] = steps > 0 ? st->avg[f] / steps : cur[f];
        m->theta = st->avg;
    }
    int eval_rc = nglm_eval_perplexity(m, valid, tr->opt->threads, ppl, err);
    nglm_dist_bcast(ppl, sizeof *ppl); /* one decision for all ranks */
    *nonzero = nglm_model_nonzero(m);
    m->theta = cur;
    if (eval_rc != 0)
        return -1;
    return !isfinite(*ppl) || (st->avg && !all_finite(st->avg, nf)) ? TR_DIVERGED : 0;
}

/* After an epoch that ended well: keeps its weights if they are the best
 * (else goes on from the best, at a lower rate), reports r to on_epoch and
 * moves the halving schedule.  Returns 1 when the schedule ends training. */
static int end_epoch(trainer *tr, nglm_epoch_report *r)
{
    nglm_train_state *st = tr->s;
    const nglm_train_options *opt = tr->opt;
    size_t nf = tr->F->n_feat;
    double ppl = r->valid_ppl;
    int improved = ppl < st->best_ppl;
    double gain = improved ? (st->best_ppl - ppl) / st->best_ppl : 0;
    if (improved) {
        st->best_ppl = ppl;
        st->best_epoch = st->epoch;
        memcpy(st->best, st->avg ? st->avg : st->theta, nf * sizeof *st->best);
    }
    if (st->avg)
        memset(st->avg, 0, nf * sizeof *st->avg);
    st->epoch_step0 = st->step;
    r->best = improved;
    if (opt->on_epoch)
        opt->on_epoch(r, opt->user);
    if (!improved) /* go on from the best weights (at a lower rate) */
        memcpy(st->theta, st->best, nf * sizeof *st->best);
    if (opt->schedule == NGLM_SCHEDULE_HALVE) {
        if (gain < opt->min_gain) {
            if (st->decaying)
                return 1;
            st->decaying = 1;
        }
        if (opt->halve_from > 0 && st->epoch >= (uint32_t)opt->halve_from)
            st->decaying = 1;
        if (st->decaying)
            st->lr *= 0.5;
    }
    return 0;
}

/* What the saved model records of its training. */
static void fill_info(nglm_model *m, const nglm_train_options *opt, const nglm_train_state *st,
                      const nglm_corpus *train)
{
    m->info.l1 = opt->l1;
    m->info.l2 = opt->l2;
    m->info.lr = opt->lr;
    m->info.epochs = st->best_epoch;
    m->info.batch = (uint32_t)opt->batch;
    m->info.seed = opt->seed;
    m->info.train_tokens = train->n_tokens;
    m->info.valid_ppl = isfinite(st->best_ppl) ? st->best_ppl : 0;
}

int nglm_train(nglm_model *m, const nglm_corpus *train, const nglm_corpus *valid,
               const nglm_train_options *options, nglm_error *err)
{
    const nglm_features *F = &m->feat;
    const nglm_train_options o = resolved(options, train), *opt = &o;
    if (check_options(opt, train, valid, err) != 0)
        return -1;

    size_t nf = F->n_feat, ns = train->n_sents;
    nglm_train_state st;
    state_init(&st, m, train, valid, opt);
    if (opt->resume && check_resume(&st, opt->resume, train, err) != 0)
        return -1;

    free(m->theta);
    m->theta = st.theta = calloc(nf, sizeof *st.theta);
    st.best = malloc(nf * sizeof *st.best);
    st.gsq = calloc(nf, sizeof *st.gsq);
    st.last = calloc(nf, sizeof *st.last);
    st.avg = opt->average ? calloc(nf, sizeof *st.avg) : NULL;
    st.order = malloc((ns ? ns : 1) * sizeof *st.order);
    trainer tr = {.opt = opt, .s = &st, .t_start = now(), .t_ckpt = now(), .F = F,
                  .K = nglm_dist_size(), .rank = nglm_dist_rank()};
    nglm_batch b;
    int have_batch = 0, rc = -1;
    if (!st.theta || !st.best || !st.gsq || !st.last || !st.order || (opt->average && !st.avg)) {
        nglm_error_set(err, "out of memory for %zu weights", nf);
        goto out;
    }
    if (nglm_batch_init(&b, F, opt->batch, opt->threads, 1, err) != 0)
        goto out;
    have_batch = 1;
    tr.threads = b.threads;
    if (tr.K > 1 && shard(&tr, &b, train, err) != 0)
        goto out;

    if (opt->resume) {
        state_copy(&st, opt->resume);
        tr.t_start -= st.elapsed_s;
    } else {
        if (opt->init) {
            memcpy(st.theta, opt->init, nf * sizeof *st.theta);
        } else { /* the unigram log-frequencies: a sensible model at epoch 0 */
            for (int32_t w = 1; w < F->V; w++)
                st.theta[w] = log((F->feat_count[w] + 0.5) / (double)train->n_tokens);
        }
        memcpy(st.best, st.theta, nf * sizeof *st.best);
        for (size_t s = 0; s < ns; s++)
            st.order[s] = s;
        st.rng = opt->seed;
        st.best_ppl = INFINITY;
        st.lr = opt->lr;
        st.epoch = 1;
        if (opt->init && start_epoch(&tr, m, valid, err) != 0)
            goto out;
    }

    uint32_t reported_div = st.divergences;
    while (st.epoch <= st.max_epochs) {
        double t0 = now();
        /* the rate the epoch began with, also when it resumes in its middle
         * (st.lr has fallen since; a divergence restarts the epoch) */
        double lr_start = opt->schedule == NGLM_SCHEDULE_LINEAR
                              ? linear_rate(&st, train->n_tokens, 0)
                              : st.lr;
        if (!st.started) {
            shuffle(st.order, ns, &st.rng);
            st.started = 1;
            st.sent = st.tok = 0;
            st.loss = 0;
        }
        int pass = run_epoch(&tr, &b, train, err);
        if (pass < 0)
            goto out;
        if (pass == TR_STOPPED)
            break;
        double t1 = now();
        if (pass == 0) {
            sync_shards(&tr);
            flush_penalties(&tr, nf, b.threads);
            if (!all_finite(st.theta, nf) || !isfinite(st.loss))
                pass = TR_DIVERGED;
        }
        /* evaluate the weights, or the epoch's average weights */
        double ppl = NAN;
        size_t nonzero = 0;
        if (pass == 0 && (pass = evaluate_epoch(&tr, m, valid, &ppl, &nonzero, err)) < 0)
            goto out;
        if (pass == TR_DIVERGED) {
            if (rollback(&tr, err) != 0)
                goto out;
            continue;
        }
        nglm_epoch_report r = {0};
        r.epoch = (int)st.epoch;
        r.lr = lr_start;
        r.train_loss = st.loss / (double)train->n_tokens;
        r.train_ppl = exp(r.train_loss);
        r.valid_ppl = ppl;
        r.epoch_s = t1 - t0;
        r.tokens_per_s = (double)train->n_tokens / (t1 - t0 > 0 ? t1 - t0 : 1e-9);
        r.elapsed_s = now() - tr.t_start;
        r.features = nf;
        r.nonzero = nonzero;
        r.rollbacks = st.divergences - reported_div;
        reported_div = st.divergences;
        if (end_epoch(&tr, &r))
            break;
        st.epoch++;
        st.started = 0;
        if (st.epoch > st.max_epochs)
            break;
        if (any_stopped(&tr)) {
            if (checkpoint(&tr, NGLM_CKPT_STOP, err) != 0)
                goto out;
            break;
        }
        if (checkpoint(&tr, NGLM_CKPT_EPOCH, err) != 0)
            goto out;
    }
    memcpy(m->theta, st.best, nf * sizeof *st.best);
    fill_info(m, opt, &st, train);
    rc = 0;
out:
    if (have_batch)
        nglm_batch_free(&b);
    free(tr.word_rank);
    free(tr.ctx_rank);
    st.theta = NULL; /* m->theta */
    nglm_train_state_free(&st);
    return rc;
}

int nglm_train_objective(const nglm_model *m, const nglm_corpus *c, double l1, double l2,
                         int threads, double *J, double *grad, nglm_error *err)
{
    const nglm_features *F = &m->feat;
    nglm_batch b;
    if (nglm_batch_init(&b, F, c->n_tokens ? c->n_tokens : 1, threads, 1, err) != 0)
        return -1;
    for (size_t s = 0; s < c->n_sents; s++) {
        size_t len;
        const int32_t *sent = nglm_corpus_sentence(c, s, &len);
        for (size_t i = 0; i < len; i++)
            nglm_batch_add(&b, sent, i);
    }
    nglm_batch_unigrams(&b, m->theta);
    nglm_batch_forward(&b, m->theta);
    double j = nglm_batch_backward(&b);
    for (size_t f = 1; f < F->n_feat; f++) {
        double th = m->theta[f];
        j += l1 * fabs(th) + 0.5 * l2 * th * th;
    }
    if (grad)
        for (size_t f = 0; f < F->n_feat; f++) {
            double th = m->theta[f];
            grad[f] = f == NGLM_BOS ? 0 : b.grad[f] + l2 * th + (th > 0 ? l1 : th < 0 ? -l1 : 0);
        }
    *J = j;
    nglm_batch_free(&b);
    return 0;
}

size_t nglm_train_memory(const nglm_features *F, const nglm_train_options *opt)
{
    /* theta, best, gsq, es, grad (f64) + last (u32), + avg if averaging */
    size_t per_feat = 5 * sizeof(double) + sizeof(uint32_t) + (opt->average ? sizeof(double) : 0);
    size_t per_ctx = sizeof(int32_t); /* the batch's slot table */
    return nglm_features_bytes(F) + F->n_feat * per_feat + F->n_ctx * per_ctx +
           (size_t)F->V * sizeof(int64_t) * (size_t)(opt->threads > 0 ? opt->threads : 1);
}
