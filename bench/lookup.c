/*
 * lookup.c — the lookup measurement of bench/query.sh (not part of the
 * build): how a back-off model's token costs divide, warm, in one process.
 * Maps an nglm model with stored normalisers (NORMS), reads a text, and
 * times alternated passes over every token of it:
 *   binary   nglm_model_norms_logprob as the library runs it (binary
 *            searches among a context's children and successors, each
 *            64 KiB block of the file checked on first use);
 *   nocheck  the same walk with the block checks left out (a shallow copy
 *            of the model without its block table): what they cost;
 *   hash     the same walk with both lookups in an in-memory open-addressing
 *            hash of (context, word), as KenLM's probing model, built here
 *            (its build time and size are printed: a file would store it).
 * The first pass of each is cold and left out; the figures are the medians
 * of the others and of their pairwise ratios.  The three sums must agree
 * to the last bit.
 *
 * Usage: lookup MODEL.nglm TEXT [PASSES]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nglm/corpus.h"
#include "nglm/model.h"
#include "nglm/modelfile.h"
#include "u64map.h"

#define PACK(hi, lo) (((uint64_t)(uint32_t)(hi) << 32) | (uint32_t)(lo))

static u64map feats, kids; /* (context, word) -> feature; (parent, word) -> child */

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* nglm_model_norms_logprob's walk with hash lookups. */
static double hash_logprob(const nglm_model *m, const int32_t *sent, size_t i)
{
    const nglm_features *F = &m->feat;
    int32_t y = sent[i], node = -1, deep = -1;
    double s = m->theta[y];
    int ngram = 1;
    for (int k = 1; k < F->order; k++) {
        long pos = (long)i - k;
        int32_t w = pos >= 0 ? sent[pos] : pos == -1 ? NGLM_BOS : -1;
        if (w < 0)
            break;
        node = k == 1 ? F->ctx1[w] : (int32_t)u64map_get(&kids, PACK(node, w), -1);
        if (node < 0)
            break;
        deep = node;
        if (ngram == k) {
            int64_t f = u64map_get(&feats, PACK(node, y), -1);
            if (f >= 0) {
                s += m->theta[f];
                ngram = k + 1;
            }
        }
        if (w == NGLM_BOS)
            break;
    }
    return s - m->lnz[deep + 1];
}

static double pass(const nglm_model *m, const nglm_corpus *c, int how, double *sum)
{
    double t = now(), s = 0;
    for (size_t k = 0; k < c->n_sents; k++) {
        size_t n;
        const int32_t *sent = nglm_corpus_sentence(c, k, &n);
        for (size_t i = 0; i < n; i++)
            s += how == 2 ? hash_logprob(m, sent, i) : nglm_model_norms_logprob(m, sent, i, NULL);
    }
    *sum = s;
    return now() - t;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *x, int n)
{
    qsort(x, (size_t)n, sizeof *x, cmp);
    return n % 2 ? x[n / 2] : (x[n / 2 - 1] + x[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: lookup MODEL.nglm TEXT [PASSES]\n");
        return 2;
    }
    int passes = argc > 3 ? atoi(argv[3]) : 11;
    if (passes < 2 || passes > 1000)
        passes = 11;
    nglm_model m;
    nglm_corpus c;
    nglm_error err;
    memset(&c, 0, sizeof c);
    if (nglm_model_map(&m, argv[1], 0, &err) != 0 ||
        nglm_corpus_read(&c, argv[2], &m.tok, m.vocab, &err) != 0) {
        fprintf(stderr, "lookup: %s\n", err.msg);
        return 1;
    }
    if (!m.lnz || m.lnz_ngram) {
        fprintf(stderr, "lookup: %s has no NORMS section\n", argv[1]);
        return 1;
    }
    const nglm_features *F = &m.feat;
    nglm_model off = m; /* the block checks left out */
    off.feat.blocks = NULL;
    double t0 = now();
    if (u64map_init(&feats, F->n_ngram_feat) != 0 || u64map_init(&kids, F->n_ctx) != 0) {
        fprintf(stderr, "lookup: out of memory\n");
        return 1;
    }
    for (size_t x = 0; x < F->n_ctx; x++) {
        for (uint32_t f = F->ctx_first[x]; f < F->ctx_first[x + 1]; f++)
            *u64map_upsert(&feats, PACK(x, F->feat_word[f]), 0) = f;
        if (F->ctx_parent[x] >= 0)
            *u64map_upsert(&kids, PACK(F->ctx_parent[x], F->ctx_word[x]), 0) = (int64_t)x;
    }
    double build = now() - t0;
    double *t[3], sum[3], r1[1000], r2[1000];
    for (int h = 0; h < 3; h++)
        t[h] = malloc((size_t)passes * sizeof *t[h]);
    for (int p = 0; p < passes; p++)
        for (int h = 0; h < 3; h++)
            t[h][p] = pass(h == 1 ? &off : &m, &c, h, &sum[h]);
    for (int p = 1; p < passes; p++) {
        r1[p - 1] = t[1][p] / t[0][p];
        r2[p - 1] = t[2][p] / t[0][p];
    }
    printf("%zu tokens; sums %.9f %.9f %.9f (%s)\n", c.n_tokens, sum[0], sum[1], sum[2],
           sum[0] == sum[1] && sum[0] == sum[2] ? "equal" : "DIFFERENT");
    printf("hash: %zu + %zu entries, %.1f MiB at 16 bytes a slot, built in %.2f s\n",
           feats.size, kids.size, (double)(feats.cap + kids.cap) * 16 / 1048576, build);
    double mb = median(t[0] + 1, passes - 1), mn = median(t[1] + 1, passes - 1);
    double mh = median(t[2] + 1, passes - 1);
    printf("warm pass (median of %d): binary %.4f s, nocheck %.4f s, hash %.4f s; "
           "nocheck/binary %.3f, hash/binary %.3f\n", passes - 1, mb, mn, mh,
           median(r1, passes - 1), median(r2, passes - 1));
    for (int h = 0; h < 3; h++)
        free(t[h]);
    u64map_free(&feats);
    u64map_free(&kids);
    nglm_corpus_free(&c);
    nglm_model_free(&m);
    return sum[0] == sum[1] && sum[0] == sum[2] ? 0 : 1;
}
