/*
 * sample.c — sentences drawn from a model's exact distribution, with a
 * temperature (see nglm/sample.h).
 *
 * Every word costs one dense O(|V|) distribution (nglm_lm_scorer_dist; for
 * an nglm model its slow reference, nglm_model_dist_dense): sampling is rare and short, so exactness and
 * simplicity win over the grouped fast paths of src/batch.c.  The tempered
 * distribution is computed in the log domain, so T = 0.01 (p^100) neither
 * underflows to all zeros nor loses the argmax.
 */
#include "nglm/sample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- sampler */

int nglm_sampler_init(nglm_sampler *s, const nglm_lm *lm, double temperature,
                      size_t max_length, uint64_t seed, nglm_error *err)
{
    memset(s, 0, sizeof *s);
    if (!(temperature > 0) || !isfinite(temperature))
        return nglm_error_set(err, "the temperature must be a finite number > 0 (got %g)",
                              temperature);
    if (max_length < 1)
        return nglm_error_set(err, "the maximum sentence length must be at least 1");
    int32_t V = (int32_t)nglm_vocab_size(nglm_lm_vocab(lm));
    s->p = malloc((size_t)V * sizeof *s->p);
    s->sent = malloc((max_length + 1) * sizeof *s->sent);
    if (!s->p || !s->sent) {
        nglm_sampler_free(s);
        return nglm_error_set(err, "out of memory for a sampler over %d words", (int)V);
    }
    if (!(s->scorer = nglm_lm_scorer_new(lm, err))) {
        nglm_sampler_free(s);
        return -1;
    }
    s->V = V;
    s->temperature = temperature;
    s->max_length = max_length;
    nglm_rng_seed(&s->rng, seed);
    return 0;
}

void nglm_sampler_free(nglm_sampler *s)
{
    nglm_lm_scorer_free(s->scorer);
    free(s->p);
    free(s->sent);
    memset(s, 0, sizeof *s);
}

nglm_sample_options nglm_sample_options_default(void)
{
    return (nglm_sample_options){ .temperature = 1.0, .max_length = NGLM_SAMPLE_MAX_LENGTH,
                                  .seed = 1 };
}

nglm_sampler *nglm_sampler_new(const nglm_lm *lm, const nglm_sample_options *opt,
                               nglm_error *err)
{
    nglm_sample_options o = opt ? *opt : nglm_sample_options_default();
    nglm_sampler *s = malloc(sizeof *s);
    if (!s) {
        nglm_error_set(err, "out of memory");
        return NULL;
    }
    if (nglm_sampler_init(s, lm, o.temperature, o.max_length, o.seed, err) != 0) {
        free(s);
        return NULL;
    }
    return s;
}

void nglm_sampler_delete(nglm_sampler *s)
{
    if (!s)
        return;
    nglm_sampler_free(s);
    free(s);
}

/* p[0..V-1] ← p^(1/T) / Σ p^(1/T), p[<s>] = 0. */
static void temper(double *p, int32_t V, double temperature)
{
    /* p^(1/T) / Σ p^(1/T), as exp((ln p − max ln p) / T) */
    double mx = -INFINITY;
    for (int32_t w = 1; w < V; w++)
        if (p[w] > 0 && log(p[w]) > mx)
            mx = log(p[w]);
    double z = 0;
    for (int32_t w = 1; w < V; w++) {
        p[w] = p[w] > 0 ? exp((log(p[w]) - mx) / temperature) : 0;
        z += p[w];
    }
    for (int32_t w = 1; w < V; w++)
        p[w] /= z;
    p[NGLM_BOS] = 0;
}

void nglm_sample_dist(nglm_lm_scorer *s, int32_t *sent, size_t i, double temperature,
                      double *p)
{
    nglm_lm_scorer_dist(s, sent, i, p);
    if (temperature != 1.0)
        temper(p, (int32_t)nglm_vocab_size(nglm_lm_vocab(nglm_lm_scorer_lm(s))), temperature);
}

/* Inverse-CDF draw of an id from p[1..V-1] (p[0] = <s> is never drawn). */
static int32_t draw(const double *p, int32_t V, nglm_rng *rng)
{
    double total = 0;
    for (int32_t w = 1; w < V; w++)
        total += p[w];
    double u = nglm_rng_uniform(rng) * total, acc = 0;
    int32_t last = NGLM_EOS;
    for (int32_t w = 1; w < V; w++) {
        if (p[w] <= 0)
            continue;
        acc += p[w];
        last = w;
        if (u < acc)
            return w;
    }
    return last; /* rounding left u just above the sum: the last possible word */
}

void nglm_sample_sentence(nglm_sampler *s, const int32_t **words, size_t *n_words)
{
    size_t n = 0;
    while (n < s->max_length) {
        nglm_sample_dist(s->scorer, s->sent, n, s->temperature, s->p);
        int32_t w = draw(s->p, s->V, &s->rng);
        if (w == NGLM_EOS)
            break;
        s->sent[n++] = w;
    }
    *words = s->sent;
    *n_words = n;
}
