/*
 * train.c — the training loop: epochs over shuffled sentences, minibatch
 * gradients from batch.c, per-coordinate updates with lazy proximal ℓ1/ℓ2,
 * validation after each epoch, learning-rate halving and early stopping
 * (see nglm/train.h; the maths is ../shared/MODEL.md §3).
 */
#include "nglm/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "batch.h"
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
    o.batch = 1000;
    o.seed = 1;
    o.threads = 0;
    o.min_gain = 0.02;
    o.average = 0;
    return o;
}

static double now(void)
{
#ifdef _OPENMP
    return omp_get_wtime();
#else
    return (double)clock() / CLOCKS_PER_SEC;
#endif
}

/* splitmix64: the seeded generator of the sentence order */
static uint64_t next_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void shuffle(size_t *order, size_t n, uint64_t *state)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(next_rand(state) % i);
        size_t tmp = order[i - 1];
        order[i - 1] = order[j];
        order[j] = tmp;
    }
}

/* Optimiser state: per weight, the sum of squared gradients (AdaGrad) and
 * the step at which its penalty was last applied. */
typedef struct trainer {
    const nglm_train_options *opt;
    double *theta;
    double *gsq;
    uint32_t *last;
    uint32_t step;
    double share;   /* B/T: the penalty a step carries */
    double lr;
    double *avg;    /* Σ of each weight over the epoch's steps, or NULL */
} trainer;

/* Weights lo..hi-1: gradient step with grad (then zeroed; NULL for a
 * penalty-only step), then the penalties of the steps since each weight
 * was last touched, as proximal steps (ℓ2 shrink, then ℓ1 soft threshold).
 * The plain per-coordinate loop; constants hoisted so it vectorises. */
static void update_range(const trainer *tr, size_t lo, size_t hi, double *grad)
{
    const int adagrad = tr->opt->optimizer == NGLM_ADAGRAD;
    const double delta = tr->opt->ada_init > 0 ? tr->opt->ada_init : 1e-8;
    const double lr = tr->lr, l1 = tr->opt->l1, l2 = tr->opt->l2, share = tr->share;
    const uint32_t step = tr->step;
    double *theta = tr->theta, *gsq = tr->gsq, *avg = tr->avg;
    uint32_t *last = tr->last;
    for (size_t f = lo; f < hi; f++) {
        double g = grad ? grad[f] : 0.0, rate = lr;
        if (adagrad) {
            gsq[f] += g * g;
            rate = lr / sqrt(gsq[f] + delta);
        }
        double pen = (double)(step - last[f]) * share * rate;
        if (avg)
            avg[f] += theta[f] * (double)(step - last[f]);
        last[f] = step;
        double th = (theta[f] - rate * g) / (1.0 + pen * l2);
        double t1 = pen * l1;
        theta[f] = th > t1 ? th - t1 : (th < -t1 ? th + t1 : 0.0);
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
        if (tr->last[f] != tr->step)
            update_range(tr, (size_t)f, (size_t)f + 1, NULL);
}

/* Applies the batch's gradient to the weights it touched and zeroes it. */
static void apply_batch(trainer *tr, nglm_batch *b)
{
    const nglm_features *F = b->F;
    tr->step++;
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

/* One minibatch: forward, backward, update; adds its summed loss. */
static int train_step(trainer *tr, nglm_batch *b, size_t n_train, double *loss,
                      nglm_error *err)
{
    tr->share = (double)b->n_tok / (double)n_train;
    nglm_batch_unigrams(b, tr->theta);
    if (nglm_batch_forward(b, tr->theta, err) != 0)
        return -1;
    *loss += nglm_batch_backward(b);
    apply_batch(tr, b);
    nglm_batch_clear(b);
    return 0;
}

int nglm_train(nglm_model *m, const nglm_corpus *train, const nglm_corpus *valid,
               const nglm_train_options *opt, nglm_error *err)
{
    const nglm_features *F = &m->feat;
    if (!(opt->l1 >= 0) || !(opt->l2 >= 0) || !isfinite(opt->l1) || !isfinite(opt->l2))
        return nglm_error_set(err, "penalties must be finite and non-negative");
    if (!(opt->lr > 0) || !isfinite(opt->lr))
        return nglm_error_set(err, "the learning rate must be positive");
    if (opt->batch < 1 || opt->max_epochs < 1)
        return nglm_error_set(err, "batch size and epochs must be at least 1");
    if (train->n_tokens == 0)
        return nglm_error_set(err, "the training text has no tokens");
    if (valid->n_tokens == 0)
        return nglm_error_set(err, "the validation text has no tokens");

    size_t nf = F->n_feat;
    free(m->theta);
    m->theta = calloc(nf, sizeof *m->theta);
    double *best = malloc(nf * sizeof *best);
    trainer tr = {opt, m->theta, calloc(nf, sizeof(double)), calloc(nf, sizeof(uint32_t)),
                  0, 0, opt->lr, opt->average ? calloc(nf, sizeof(double)) : NULL};
    size_t *order = malloc((train->n_sents ? train->n_sents : 1) * sizeof *order);
    nglm_batch b;
    int have_batch = 0, rc = -1;
    if (!m->theta || !best || !tr.gsq || !tr.last || !order || (opt->average && !tr.avg)) {
        nglm_error_set(err, "out of memory for %zu weights", nf);
        goto out;
    }
    if (nglm_batch_init(&b, F, opt->batch, opt->threads, 1, err) != 0)
        goto out;
    have_batch = 1;

    /* start from the unigram log-frequencies: a sensible model at epoch 0 */
    for (int32_t w = 1; w < F->V; w++)
        m->theta[w] = log((F->feat_count[w] + 0.5) / (double)train->n_tokens);
    memcpy(best, m->theta, nf * sizeof *best);

    for (size_t s = 0; s < train->n_sents; s++)
        order[s] = s;
    uint64_t rng = opt->seed;
    double best_ppl = INFINITY, t_start = now();
    int decaying = 0, best_epoch = 0;
    uint32_t epoch_step0 = 0;

    for (int epoch = 1; epoch <= opt->max_epochs; epoch++) {
        double t0 = now(), loss = 0;
        shuffle(order, train->n_sents, &rng);
        nglm_batch_clear(&b);
        for (size_t k = 0; k < train->n_sents && !stopped(opt); k++) {
            size_t len;
            const int32_t *sent = nglm_corpus_sentence(train, order[k], &len);
            for (size_t i = 0; i < len; i++) {
                if (b.n_tok == b.cap_tok &&
                    train_step(&tr, &b, train->n_tokens, &loss, err) != 0)
                    goto out;
                nglm_batch_add(&b, sent, i);
            }
        }
        if (b.n_tok > 0 && train_step(&tr, &b, train->n_tokens, &loss, err) != 0)
            goto out;
        flush_penalties(&tr, nf, b.threads);
        double t1 = now();
        if (!isfinite(loss)) {
            nglm_error_set(err, "training diverged in epoch %d (loss is not finite): "
                                "lower --lr", epoch);
            goto out;
        }
        /* evaluate the weights, or the epoch's average weights */
        double *cur = m->theta;
        if (tr.avg) {
            double steps = (double)(tr.step - epoch_step0);
            for (size_t f = 0; f < nf; f++)
                tr.avg[f] = steps > 0 ? tr.avg[f] / steps : cur[f];
            m->theta = tr.avg;
        }
        double ppl;
        int eval_rc = nglm_eval_perplexity(m, valid, opt->threads, &ppl, err);
        size_t nonzero = nglm_model_nonzero(m);
        m->theta = cur;
        if (eval_rc != 0)
            goto out;
        nglm_epoch_report r = {0};
        r.epoch = epoch;
        r.lr = tr.lr;
        r.train_loss = loss / (double)train->n_tokens;
        r.train_ppl = exp(r.train_loss);
        r.valid_ppl = ppl;
        r.epoch_s = t1 - t0;
        r.tokens_per_s = (double)train->n_tokens / (t1 - t0 > 0 ? t1 - t0 : 1e-9);
        r.elapsed_s = now() - t_start;
        r.features = nf;
        r.nonzero = nonzero;
        int improved = ppl < best_ppl;
        double gain = improved ? (best_ppl - ppl) / best_ppl : 0;
        if (improved) {
            best_ppl = ppl;
            best_epoch = epoch;
            memcpy(best, tr.avg ? tr.avg : m->theta, nf * sizeof *best);
        }
        if (tr.avg)
            memset(tr.avg, 0, nf * sizeof *tr.avg);
        epoch_step0 = tr.step;
        r.best = improved;
        if (opt->on_epoch)
            opt->on_epoch(&r, opt->user);
        if (stopped(opt))
            break;
        if (!improved) /* go on from the best weights at a lower rate */
            memcpy(m->theta, best, nf * sizeof *best);
        if (gain < opt->min_gain) {
            if (decaying)
                break;
            decaying = 1;
        }
        if (decaying)
            tr.lr *= 0.5;
    }
    memcpy(m->theta, best, nf * sizeof *best);
    m->info.l1 = opt->l1;
    m->info.l2 = opt->l2;
    m->info.lr = opt->lr;
    m->info.epochs = (uint32_t)best_epoch;
    m->info.batch = (uint32_t)opt->batch;
    m->info.seed = opt->seed;
    m->info.train_tokens = train->n_tokens;
    m->info.valid_ppl = best_ppl;
    rc = 0;
out:
    if (have_batch)
        nglm_batch_free(&b);
    free(best);
    free(tr.gsq);
    free(tr.last);
    free(tr.avg);
    free(order);
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
    if (nglm_batch_forward(&b, m->theta, err) != 0) {
        nglm_batch_free(&b);
        return -1;
    }
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
