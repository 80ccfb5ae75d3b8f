/*
 * nglm/gen.h — a known, seeded source of text, and the corpus sampled from it.
 *
 * nglm bundles no text from outside, so its default corpus is sampled from a
 * synthetic back-off n-gram process whose true probabilities are known.  The
 * exact log-probability of every test token under the source gives the
 * oracle perplexity: the floor that no model trained on the corpus can beat
 * (up to sampling noise), and the yardstick the benchmarks compare against.
 *
 * The source (see src/gen.c for the construction):
 *   - V pseudo-words (pronounceable, lower-case ASCII, all distinct) with a
 *     Zipf(1) unigram distribution, plus the sentence end </s>;
 *   - for every word (and the sentence start <s>) as context, a handful of
 *     preferred successors with Zipf weights, interpolated with the unigram:
 *     strongly for frequent words, hardly at all for rare ones;
 *   - for frequent word pairs (and, at order 4, triples) longer contexts with
 *     their own preferred successors, interpolated with the shorter context;
 *   - </s> with a probability set by the last word (some words tend to end
 *     sentences; mean length about 20 words), damped after the first word.
 * The structure comes from params.source_seed alone; the seed given to the
 * sampler only chooses which text is drawn, so different seeds give
 * different texts from the same source.
 *
 * Word indices: 0 .. vocab_size-1 are words (0 the most frequent in the
 * unigram), nglm_gen_eos(src) == vocab_size is </s>.  A history is the
 * words of the current sentence so far; <s> is implied before it.
 */
#ifndef NGLM_GEN_H
#define NGLM_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "nglm/error.h"
#include "nglm/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Longest sentence the source produces, in words: </s> is certain after. */
#define NGLM_GEN_MAX_SENTENCE 400

typedef struct nglm_gen_params {
    uint64_t source_seed; /* the source's structure (default NGLM_GEN_SOURCE_SEED) */
    uint32_t vocab_size;  /* words, not counting </s> (100 .. 1000000) */
    int order;            /* 3 or 4 */
} nglm_gen_params;

#define NGLM_GEN_SOURCE_SEED UINT64_C(0x6e676c6d2d67656e) /* "nglm-gen" */

/* Fills p with the defaults (the source of the bundled corpus). */
void nglm_gen_params_default(nglm_gen_params *p);

/* ---------------------------------------------------------------- random numbers */

/* nglm's one generator (nglm/rng.h), under the names the source's code and
 * tests have used. */
typedef nglm_rng nglm_gen_rng;

static inline void nglm_gen_rng_seed(nglm_gen_rng *rng, uint64_t seed) { nglm_rng_seed(rng, seed); }
static inline uint64_t nglm_gen_rng_next(nglm_gen_rng *rng) { return nglm_rng_next(rng); }

/* ---------------------------------------------------------------- the source */

typedef struct nglm_gen_source nglm_gen_source;

/* Builds the source described by p (a few ms for the defaults).  NULL and err
 * filled on bad parameters or out of memory. */
nglm_gen_source *nglm_gen_source_new(const nglm_gen_params *p, nglm_error *err);
void nglm_gen_source_free(nglm_gen_source *src);

uint32_t nglm_gen_vocab_size(const nglm_gen_source *src);
uint32_t nglm_gen_eos(const nglm_gen_source *src); /* == vocab_size */
int nglm_gen_order(const nglm_gen_source *src);

/* The spelling of a word (NUL-terminated, owned by src); "</s>" for eos. */
const char *nglm_gen_word(const nglm_gen_source *src, uint32_t word);

/* Natural log of P(word | <s> history[0..n-1]) under the source; word may
 * be eos.  -INFINITY for an impossible token (a word after
 * NGLM_GEN_MAX_SENTENCE words, </s> right after <s>). */
double nglm_gen_logprob(const nglm_gen_source *src, const uint32_t *history, size_t n,
                        uint32_t word);

/* Samples one sentence into words[0..*len-1] (without </s>, which ends
 * every sentence and is not stored); words must hold
 * NGLM_GEN_MAX_SENTENCE entries.  If logprob is not NULL it receives the
 * sentence's natural-log probability including its </s>. */
void nglm_gen_sample_sentence(const nglm_gen_source *src, nglm_gen_rng *rng,
                              uint32_t *words, size_t *len, double *logprob);

/* ---------------------------------------------------------------- the corpus */

/* What nglm_gen_write_corpus measured.  Token counts include one </s> per
 * sentence; perplexities are exp of the mean negative natural log-prob. */
typedef struct nglm_gen_report {
    uint64_t train_tokens, valid_tokens, test_tokens;
    uint64_t train_sentences, valid_sentences, test_sentences;
    double oracle_entropy_bits; /* per test token, under the true source */
    double oracle_ppl;
    /* The unigram of train (add-one over the V+1 token types) on test. */
    double unigram_ppl;
    /* test's own maximum-likelihood unigram on test: no unigram model does
     * better on this text. */
    double unigram_best_ppl;
} nglm_gen_report;

/* The files nglm_gen_write_corpus writes: PREFIX followed by each of these. */
#define NGLM_GEN_FILES 4
extern const char *const nglm_gen_file_suffix[NGLM_GEN_FILES];

/* Samples about `tokens` tokens with `seed` and writes PREFIX.train.txt,
 * PREFIX.valid.txt and PREFIX.test.txt (90/5/5 %, one sentence per line,
 * words separated by single spaces, no </s>) and PREFIX.oracle (the report as
 * "key value" lines).  Each split gets at least its share (and at least one
 * sentence), so the total exceeds `tokens` by at most three sentences.
 * Files are written under PREFIX.*.tmp and renamed when all are complete.
 * report may be NULL. */
int nglm_gen_write_corpus(const nglm_gen_params *p, uint64_t tokens, uint64_t seed,
                          const char *prefix, nglm_gen_report *report,
                          nglm_error *err);

#ifdef __cplusplus
}
#endif
#endif
