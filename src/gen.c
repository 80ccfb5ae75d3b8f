/*
 * gen.c — the seeded synthetic source behind the bundled corpus, its exact
 * probabilities, and the writer of the train/valid/test files (see
 * include/nglm/gen.h for the contract).
 *
 * The source is a back-off (interpolated) n-gram process.  Its contexts form
 * a trie of nodes: the root is the unigram (Zipf(1) over the words), one
 * node per word (and <s>) is a bigram context, and deeper nodes exist only
 * for frequent word pairs (and triples at order 4).  Every node has a small
 * set of preferred successors with Zipf weights and a back-off weight b:
 *
 *     q(w | node) = (1 - b) * succ(w | node) + b * q(w | parent)
 *
 * where parent is the context one word shorter.  The design goal is a source
 * whose structure is strong (the oracle is far below any unigram, and well
 * below the source's own bigram marginal) yet learnable from a few hundred
 * thousand tokens, so that a trained model can come close to the oracle:
 *   - only frequent words have strong preferences: 1 - b falls from 0.7 for
 *     the most frequent words to about 0.015 for the rarest, and the number
 *     of preferred successors from 8 to 2, so rare contexts, whose counts
 *     could not be estimated anyway, are almost pure back-off;
 *   - longer contexts are made only where the pair is expected at least
 *     once in a thousand tokens, and they matter (b 0.2 .. 0.5);
 *   - </s> depends on the last word only (odds 1/22 times a per-word factor
 *     for the 400 most frequent words, so some words tend to end sentences),
 *     damped right after <s> w, which is still inside a trigram context.
 *     Sentences average about 20 words and their lengths are about
 *     geometric; a position-dependent hazard would not be learnable by an
 *     n-gram model.
 *
 *     P(</s> | h) = eos(last word, L == 1),   P(w | h) = (1 - eos) * q(w | node(h)).
 *
 * Determinism: the structure and the texts come from xoshiro256** streams,
 * and sampling compares 53-bit integers against thresholds computed once
 * with +, *, / only (no libm), so the same seed gives the same bytes on
 * every IEEE-754 machine where the compiler does not fuse a*b+c into one
 * rounding (x86-64 without -mfma; elsewhere build with -ffp-contract=off).
 * Log-probabilities use log(), which only affects the last digits of the
 * reported perplexity.
 */
#include "nglm/gen.h"
#include "nglm/path.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"

/* ---------------------------------------------------------------- parameters */

/* Knobs of the source, fixed so that the bundled corpus never changes.
 * The frequency rank r of a word is its index (0 the most frequent).  With
 * them (2000 words, 300k tokens, seed 1) the oracle perplexity is about 30 %
 * of the best unigram's and about 86 % of the source's exact bigram
 * marginal's (tests/check_gen.c checks both). */
#define BIGRAM_KMAX 8           /* preferred successors of the most frequent words */
#define BIGRAM_KHALF 60         /* rank at which the extra ones have halved */
#define BIGRAM_BACKOFF_MIN 0.3  /* back-off weight b of the most frequent contexts */
#define BIGRAM_BACKOFF_HALF 40  /* rank at which 1 - b has halved */
#define BACKOFF_JITTER 0.3      /* 1 - b is scaled by a factor in [1 - J, 1 + J) */
#define SUCC_UNIFORM 0.05       /* successors drawn uniformly, not by frequency */
#define DEEP_KMAX 6             /* preferred successors of a longer context */
#define DEEP_BACKOFF_MIN 0.2    /* its back-off weight: uniform in [MIN, MIN + SPAN) */
#define DEEP_BACKOFF_SPAN 0.3
#define DEEP_MIN_PROB 1e-3      /* a longer context exists if P(context) >= this */
#define DEEP_CANDIDATES 4       /* ... among the top successors of the shorter one */
#define EOS_ODDS (1.0 / 22.0)   /* odds of </s> after a neutral word */
#define EOS_RANKS 400           /* words this frequent may be more or less final */
#define EOS_FIRST 0.125         /* odds factor after <s> w: one-word sentences are rare */
#define SENTENCE_RATE (1.0 / 21.0) /* P(<s>) per token, for the pair estimates */

/* Per-word factors on the odds of </s> for the frequent words. */
static const double eos_factor[8] = {0.1, 0.25, 0.5, 1.0, 1.0, 1.0, 2.0, 4.0};

void nglm_gen_params_default(nglm_gen_params *p)
{
    p->source_seed = NGLM_GEN_SOURCE_SEED;
    p->vocab_size = 2000;
    p->order = 3;
}

/* ---------------------------------------------------------------- random numbers */

#define ONE53 9007199254740992.0 /* 2^53 */
#define THR_ONE (UINT64_C(1) << 53)

/* 53 random bits: compared against thresholds p * 2^53. */
static inline uint64_t draw53(nglm_gen_rng *rng) { return nglm_gen_rng_next(rng) >> 11; }

/* Uniform in [0, 1), exactly representable. */
static inline double draw_unit(nglm_gen_rng *rng) { return (double)draw53(rng) / ONE53; }

/* Uniform in [0, n) (n small; the modulo bias is irrelevant here). */
static inline uint32_t draw_below(nglm_gen_rng *rng, uint32_t n)
{
    return (uint32_t)(nglm_gen_rng_next(rng) % n);
}

static inline uint64_t to_thr(double p)
{
    if (p >= 1.0)
        return THR_ONE;
    return (uint64_t)(p * ONE53);
}

/* ---------------------------------------------------------------- the source */

typedef struct gen_node {
    uint32_t parent;   /* the context one word shorter (ROOT for bigram nodes) */
    uint32_t succ_off; /* into succ_word / succ_p / succ_thr */
    uint32_t nsucc;
    double backoff;    /* weight of the parent's distribution */
    uint64_t keep_thr; /* (1 - backoff) * 2^53: below it, sample a successor */
} gen_node;

/* Longer contexts are found by (shorter node, earlier word) in an
 * open-addressing table; empty slots have key EMPTY_KEY. */
typedef struct gen_slot {
    uint64_t key;
    uint32_t node;
} gen_slot;
#define EMPTY_KEY UINT64_MAX

struct nglm_gen_source {
    uint32_t V;     /* words; V is </s> as a token and <s> as a context */
    int order;
    uint32_t root;  /* node index of the unigram (V + 1) */

    char *pool;     /* spellings, NUL-terminated, V + 1 of them (last "</s>") */
    uint32_t *spell_off, *spell_len;

    double *uni_p;      /* [V] Zipf(1) unigram over words */
    uint64_t *uni_thr;  /* [V] cumulative thresholds */
    double *eos_odds;   /* [V] odds of </s> after a word (none after <s>) */

    gen_node *node;     /* [0..V-1] words, V <s>, V+1 root, then longer contexts */
    uint32_t nnode, cap_node;
    uint32_t *succ_word;
    double *succ_p;
    uint64_t *succ_thr; /* cumulative within the node */
    uint32_t nsucc, cap_succ;

    gen_slot *slot;
    uint64_t slot_mask;
};

static uint64_t slot_key(uint32_t ctx, uint32_t word)
{
    return ((uint64_t)ctx << 32) | word;
}

static uint64_t slot_hash(uint64_t key)
{
    key ^= key >> 33;
    key *= UINT64_C(0xff51afd7ed558ccd);
    key ^= key >> 33;
    return key;
}

/* The node for context (word, then ctx's words), or UINT32_MAX. */
static uint32_t find_child(const nglm_gen_source *src, uint32_t ctx, uint32_t word)
{
    uint64_t key = slot_key(ctx, word);
    for (uint64_t i = slot_hash(key) & src->slot_mask;; i = (i + 1) & src->slot_mask) {
        if (src->slot[i].key == key)
            return src->slot[i].node;
        if (src->slot[i].key == EMPTY_KEY)
            return UINT32_MAX;
    }
}

static int grow(void **arr, uint32_t *cap, uint32_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    uint32_t c = *cap ? *cap : 1024;
    while (c < need)
        c *= 2;
    void *p = realloc(*arr, (size_t)c * elem);
    if (!p)
        return -1;
    *arr = p;
    *cap = c;
    return 0;
}

static int grow_slots(nglm_gen_source *src)
{
    uint64_t cap = src->slot_mask + 1;
    if ((uint64_t)src->nnode * 2 < cap)
        return 0;
    uint64_t ncap = cap * 2;
    gen_slot *ns = malloc(ncap * sizeof *ns);
    if (!ns)
        return -1;
    for (uint64_t i = 0; i < ncap; i++)
        ns[i].key = EMPTY_KEY;
    for (uint64_t j = 0; j < cap; j++) {
        if (src->slot[j].key == EMPTY_KEY)
            continue;
        uint64_t i = slot_hash(src->slot[j].key) & (ncap - 1);
        while (ns[i].key != EMPTY_KEY)
            i = (i + 1) & (ncap - 1);
        ns[i] = src->slot[j];
    }
    free(src->slot);
    src->slot = ns;
    src->slot_mask = ncap - 1;
    return 0;
}

/* Appends a node with no successors and back-off 1 (a pass-through). */
static int add_node(nglm_gen_source *src, uint32_t parent, uint32_t *out)
{
    if (src->nnode == UINT32_MAX - 1 ||
        grow((void **)&src->node, &src->cap_node, src->nnode + 1, sizeof *src->node))
        return -1;
    gen_node *n = &src->node[src->nnode];
    n->parent = parent;
    n->succ_off = src->nsucc;
    n->nsucc = 0;
    n->backoff = 1.0;
    n->keep_thr = 0;
    *out = src->nnode++;
    return 0;
}

/* Finds or creates the node for context (word, ctx's words). */
static int child_node(nglm_gen_source *src, uint32_t ctx, uint32_t word, uint32_t *out)
{
    uint32_t found = find_child(src, ctx, word);
    if (found != UINT32_MAX) {
        *out = found;
        return 0;
    }
    if (add_node(src, ctx, out) || grow_slots(src))
        return -1;
    uint64_t key = slot_key(ctx, word);
    uint64_t i = slot_hash(key) & src->slot_mask;
    while (src->slot[i].key != EMPTY_KEY)
        i = (i + 1) & src->slot_mask;
    src->slot[i].key = key;
    src->slot[i].node = *out;
    return 0;
}

/* Samples a word from the unigram (the binary search the thresholds are for). */
static uint32_t sample_unigram(const nglm_gen_source *src, uint64_t r)
{
    uint32_t lo = 0, hi = src->V - 1;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (r < src->uni_thr[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* Gives node n k distinct preferred successors with weights 1/(i+1), drawn
 * from the unigram or (a fraction SUCC_UNIFORM) uniformly over the
 * vocabulary, so that rare words too have contexts that prefer them. */
static int give_successors(nglm_gen_source *src, uint32_t n, uint32_t k, double backoff,
                           nglm_gen_rng *rng)
{
    if (k > src->V)
        k = src->V;
    uint32_t cap0 = src->cap_succ;
    if (grow((void **)&src->succ_word, &src->cap_succ, src->nsucc + k, sizeof(uint32_t)))
        return -1;
    /* succ_p and succ_thr track succ_word's capacity: grown when it grows
     * (a realloc to the same size on every call costs a copy of the whole
     * arrays under AddressSanitizer: minutes for a 50,000-word source) */
    if (src->cap_succ != cap0 || !src->succ_p || !src->succ_thr) {
        double *p = realloc(src->succ_p, (size_t)src->cap_succ * sizeof *p);
        if (!p)
            return -1;
        src->succ_p = p;
        uint64_t *t = realloc(src->succ_thr, (size_t)src->cap_succ * sizeof *t);
        if (!t)
            return -1;
        src->succ_thr = t;
    }

    uint32_t off = src->nsucc;
    uint32_t *w = src->succ_word + off;
    double total = 0;
    for (uint32_t i = 0; i < k; i++) {
        uint32_t cand;
        int dup;
        do {
            if (draw_unit(rng) >= SUCC_UNIFORM)
                cand = sample_unigram(src, draw53(rng));
            else
                cand = draw_below(rng, src->V);
            dup = 0;
            for (uint32_t j = 0; j < i; j++)
                dup |= w[j] == cand;
        } while (dup);
        w[i] = cand;
        total += 1.0 / (double)(i + 1);
    }
    double cum = 0;
    for (uint32_t i = 0; i < k; i++) {
        src->succ_p[off + i] = 1.0 / (double)(i + 1) / total;
        cum += src->succ_p[off + i];
        src->succ_thr[off + i] = i + 1 == k ? THR_ONE : to_thr(cum);
    }
    gen_node *nd = &src->node[n];
    nd->succ_off = off;
    nd->nsucc = k;
    nd->backoff = backoff;
    nd->keep_thr = to_thr(1.0 - backoff);
    src->nsucc += k;
    return 0;
}

/* ---------------------------------------------------------------- spellings */

static const char *const onsets[] = {"",   "b",  "d",  "f",  "g",  "h",  "k",
                                     "l",  "m",  "n",  "p",  "r",  "s",  "t",
                                     "v",  "w",  "z",  "ch", "sh", "th", "br",
                                     "dr", "gr", "kr", "pl", "st", "tr"};
static const char *const vowels[] = {"a", "e", "i", "o", "u", "ai", "ea", "ou", "io"};
static const char *const codas[] = {"", "", "", "n", "r", "s", "l", "m", "t", "nd", "st", "ck"};
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Syllables of the word of frequency rank r: frequent words are short. */
static uint32_t syllables(uint32_t r, nglm_gen_rng *rng)
{
    if (r < 40)
        return 1;
    if (r < 400)
        return 1 + draw_below(rng, 2);
    if (r < 2000)
        return 2 + draw_below(rng, 2);
    return 2 + draw_below(rng, 3);
}

/* (with the offset basis the bundled corpus was made with, a digit short
 * of FNV's: it places spellings in the table, nothing else) */
static uint64_t str_hash(const char *s)
{
    return nglm_fnv1a(UINT64_C(1469598103934665603), s, strlen(s));
}

/* Spells the V words, all distinct, then "</s>". */
static int make_spellings(nglm_gen_source *src, nglm_gen_rng *rng)
{
    uint32_t V = src->V;
    size_t cap = (size_t)V * 16 + 16, used = 0;
    uint64_t hcap = 1;
    while (hcap < (uint64_t)V * 2)
        hcap *= 2;
    uint32_t *set = malloc(hcap * sizeof *set); /* word index + 1, 0 empty */
    src->pool = malloc(cap);
    src->spell_off = malloc(((size_t)V + 1) * sizeof *src->spell_off);
    src->spell_len = malloc(((size_t)V + 1) * sizeof *src->spell_len);
    if (!set || !src->pool || !src->spell_off || !src->spell_len) {
        free(set);
        return -1;
    }
    memset(set, 0, hcap * sizeof *set);
    char buf[64];
    for (uint32_t w = 0; w < V; w++) {
        uint32_t nsyl = syllables(w, rng);
        for (int tries = 0;; tries++) {
            if (tries > 0 && tries % 64 == 0 && nsyl < 6)
                nsyl++; /* this length is crowded */
            buf[0] = '\0';
            for (uint32_t s = 0; s < nsyl; s++) {
                strcat(buf, onsets[draw_below(rng, NELEM(onsets))]);
                strcat(buf, vowels[draw_below(rng, NELEM(vowels))]);
                strcat(buf, codas[draw_below(rng, NELEM(codas))]);
            }
            uint64_t i = str_hash(buf) & (hcap - 1);
            int dup = 0;
            for (; set[i]; i = (i + 1) & (hcap - 1))
                if (strcmp(src->pool + src->spell_off[set[i] - 1], buf) == 0) {
                    dup = 1;
                    break;
                }
            if (dup)
                continue;
            size_t len = strlen(buf);
            if (used + len + 1 > cap) {
                cap *= 2;
                char *p = realloc(src->pool, cap);
                if (!p) {
                    free(set);
                    return -1;
                }
                src->pool = p;
            }
            memcpy(src->pool + used, buf, len + 1);
            src->spell_off[w] = (uint32_t)used;
            src->spell_len[w] = (uint32_t)len;
            used += len + 1;
            set[i] = w + 1;
            break;
        }
    }
    free(set);
    if (used + 5 > cap) {
        char *p = realloc(src->pool, used + 5);
        if (!p)
            return -1;
        src->pool = p;
    }
    memcpy(src->pool + used, "</s>", 5);
    src->spell_off[V] = (uint32_t)used;
    src->spell_len[V] = 4;
    return 0;
}

/* ---------------------------------------------------------------- construction */

/* Estimated P(context, successor i) for node n whose context has estimated
 * probability ctx_prob; the back-off part uses the unigram.  Only used to
 * decide which longer contexts are frequent enough to exist. */
static double pair_estimate(const nglm_gen_source *src, uint32_t n, double ctx_prob,
                            uint32_t i)
{
    const gen_node *nd = &src->node[n];
    uint32_t w = src->succ_word[nd->succ_off + i];
    return ctx_prob * ((1.0 - nd->backoff) * src->succ_p[nd->succ_off + i] +
                       nd->backoff * src->uni_p[w]);
}

static double draw_backoff(nglm_gen_rng *rng, double min, double span)
{
    return min + span * draw_unit(rng);
}

/* A longer context made at order >= 3: its node, first word and estimated
 * probability (for making the next order's contexts). */
typedef struct deep_ctx {
    uint32_t node, first, second;
    double prob;
} deep_ctx;

/* Adds the trigram contexts (c, s) for the frequent pairs, where s is one of
 * the top successors of c, and at order 4 the 4-gram contexts (c, s, t) for
 * the frequent triples.  A 4-gram node hangs below (s, t), which is made as
 * a pass-through node when the source has no trigram context (s, t). */
static int make_deep_contexts(nglm_gen_source *src, nglm_gen_rng *rng)
{
    uint32_t V = src->V, ntri = 0, cap = 0;
    deep_ctx *tri = NULL;
    for (uint32_t c = 0; c <= V; c++) {
        double pc = c < V ? src->uni_p[c] : SENTENCE_RATE;
        for (uint32_t i = 0; i < src->node[c].nsucc && i < DEEP_CANDIDATES; i++) {
            double p = pair_estimate(src, c, pc, i);
            if (p < DEEP_MIN_PROB)
                continue;
            uint32_t s = src->succ_word[src->node[c].succ_off + i];
            uint32_t t;
            if (child_node(src, s, c, &t) ||
                give_successors(src, t, 2 + draw_below(rng, DEEP_KMAX - 1),
                                draw_backoff(rng, DEEP_BACKOFF_MIN, DEEP_BACKOFF_SPAN),
                                rng) ||
                grow((void **)&tri, &cap, ntri + 1, sizeof *tri)) {
                free(tri);
                return -1;
            }
            tri[ntri++] = (deep_ctx){t, c, s, p};
        }
    }
    for (uint32_t j = 0; src->order >= 4 && j < ntri; j++) {
        uint32_t n = tri[j].node;
        for (uint32_t i = 0; i < src->node[n].nsucc && i < DEEP_CANDIDATES; i++) {
            if (pair_estimate(src, n, tri[j].prob, i) < DEEP_MIN_PROB)
                continue;
            uint32_t t = src->succ_word[src->node[n].succ_off + i];
            uint32_t suffix, f;
            if (child_node(src, t, tri[j].second, &suffix) ||
                child_node(src, suffix, tri[j].first, &f) ||
                give_successors(src, f, 2 + draw_below(rng, DEEP_KMAX - 1),
                                draw_backoff(rng, DEEP_BACKOFF_MIN, DEEP_BACKOFF_SPAN),
                                rng)) {
                free(tri);
                return -1;
            }
        }
    }
    free(tri);
    return 0;
}

nglm_gen_source *nglm_gen_source_new(const nglm_gen_params *p, nglm_error *err)
{
    if (p->order < 3 || p->order > 4) {
        nglm_error_set(err, "generator order %d is not supported (3 or 4)", p->order);
        return NULL;
    }
    if (p->vocab_size < 100 || p->vocab_size > 1000000) {
        nglm_error_set(err, "generator vocabulary size %u is out of range (100..1000000)",
                       p->vocab_size);
        return NULL;
    }
    nglm_gen_source *src = calloc(1, sizeof *src);
    if (!src) {
        nglm_error_set(err, "out of memory building the generator's source");
        return NULL;
    }
    uint32_t V = p->vocab_size;
    src->V = V;
    src->order = p->order;
    src->root = V + 1;
    nglm_gen_rng rng;
    nglm_gen_rng_seed(&rng, p->source_seed);

    src->uni_p = malloc((size_t)V * sizeof *src->uni_p);
    src->uni_thr = malloc((size_t)V * sizeof *src->uni_thr);
    src->eos_odds = malloc((size_t)V * sizeof *src->eos_odds);
    src->slot = malloc(1024 * sizeof *src->slot);
    if (!src->uni_p || !src->uni_thr || !src->eos_odds || !src->slot ||
        make_spellings(src, &rng))
        goto oom;
    src->slot_mask = 1023;
    for (uint32_t i = 0; i < 1024; i++)
        src->slot[i].key = EMPTY_KEY;

    /* Zipf(1) unigram over the words in index order */
    double harmonic = 0, cum = 0;
    for (uint32_t w = 0; w < V; w++)
        harmonic += 1.0 / (double)(w + 1);
    for (uint32_t w = 0; w < V; w++) {
        src->uni_p[w] = 1.0 / (double)(w + 1) / harmonic;
        cum += src->uni_p[w];
        src->uni_thr[w] = w + 1 == V ? THR_ONE : to_thr(cum);
    }
    for (uint32_t w = 0; w < V; w++) {
        double f = eos_factor[draw_below(&rng, NELEM(eos_factor))];
        src->eos_odds[w] = (w < EOS_RANKS ? f : 1.0) * EOS_ODDS;
    }

    /* bigram contexts: the words, then <s> (node V); the root last */
    for (uint32_t c = 0; c <= V + 1; c++) {
        uint32_t n;
        if (add_node(src, V + 1, &n))
            goto oom;
    }
    for (uint32_t c = 0; c <= V; c++) {
        uint32_t rank = c < V ? c : 0; /* <s> is as varied as the most frequent word */
        uint32_t kmax = 2 + (BIGRAM_KMAX - 2) * BIGRAM_KHALF / (BIGRAM_KHALF + rank);
        /* 1 - b, the weight of the context's own successors, falls with the
         * rank: rare contexts are almost pure back-off */
        double keep = (1.0 - BIGRAM_BACKOFF_MIN) * BIGRAM_BACKOFF_HALF /
                      (BIGRAM_BACKOFF_HALF + (double)rank) *
                      (1.0 - BACKOFF_JITTER + 2.0 * BACKOFF_JITTER * draw_unit(&rng));
        if (give_successors(src, c, 2 + draw_below(&rng, kmax - 1), 1.0 - keep, &rng))
            goto oom;
    }
    if (make_deep_contexts(src, &rng))
        goto oom;
    return src;
oom:
    nglm_gen_source_free(src);
    nglm_error_set(err, "out of memory building the generator's source");
    return NULL;
}

void nglm_gen_source_free(nglm_gen_source *src)
{
    if (!src)
        return;
    free(src->pool);
    free(src->spell_off);
    free(src->spell_len);
    free(src->uni_p);
    free(src->uni_thr);
    free(src->eos_odds);
    free(src->node);
    free(src->succ_word);
    free(src->succ_p);
    free(src->succ_thr);
    free(src->slot);
    free(src);
}

uint32_t nglm_gen_vocab_size(const nglm_gen_source *src) { return src->V; }
uint32_t nglm_gen_eos(const nglm_gen_source *src) { return src->V; }
int nglm_gen_order(const nglm_gen_source *src) { return src->order; }

const char *nglm_gen_word(const nglm_gen_source *src, uint32_t word)
{
    return word <= src->V ? src->pool + src->spell_off[word] : NULL;
}

/* ---------------------------------------------------------------- probabilities */

/* The deepest context node of <s> h[0..n-1]. */
static uint32_t context_node(const nglm_gen_source *src, const uint32_t *h, size_t n)
{
    if (n == 0)
        return src->V; /* <s> */
    uint32_t node = h[n - 1];
    for (size_t d = 2; d < (size_t)src->order; d++) {
        uint32_t w = n >= d ? h[n - d] : src->V;
        uint32_t child = find_child(src, node, w);
        if (child == UINT32_MAX)
            break;
        node = child;
        if (w == src->V)
            break;
    }
    return node;
}

/* P(</s>) after n words, the last of them `last` (<s> when n == 0). */
static double eos_prob(const nglm_gen_source *src, size_t n, uint32_t last)
{
    if (n == 0)
        return 0.0;
    if (n >= NGLM_GEN_MAX_SENTENCE)
        return 1.0;
    double odds = src->eos_odds[last];
    if (n == 1) /* the context is (<s>, last): still a trigram context */
        odds *= EOS_FIRST;
    return odds / (1.0 + odds);
}

/* q(w | node): the interpolation from the root up to node. */
static double word_prob(const nglm_gen_source *src, uint32_t node, uint32_t w)
{
    uint32_t chain[8];
    int depth = 0;
    for (uint32_t n = node; n != src->root; n = src->node[n].parent)
        chain[depth++] = n;
    double q = src->uni_p[w];
    while (depth-- > 0) {
        const gen_node *nd = &src->node[chain[depth]];
        double s = 0;
        for (uint32_t j = 0; j < nd->nsucc; j++)
            if (src->succ_word[nd->succ_off + j] == w) {
                s = src->succ_p[nd->succ_off + j];
                break;
            }
        q = (1.0 - nd->backoff) * s + nd->backoff * q;
    }
    return q;
}

double nglm_gen_logprob(const nglm_gen_source *src, const uint32_t *history, size_t n,
                        uint32_t word)
{
    if (word > src->V || n > NGLM_GEN_MAX_SENTENCE)
        return -INFINITY;
    double h = eos_prob(src, n, n ? history[n - 1] : src->V);
    if (word == src->V)
        return log(h);
    return log((1.0 - h) * word_prob(src, context_node(src, history, n), word));
}

/* ---------------------------------------------------------------- sampling */

/* Draws from q(. | node), following the interpolation: keep the node's own
 * successors with probability 1 - backoff, else go to the parent.  Must
 * agree with word_prob (the tests compare frequencies). */
static uint32_t sample_word(const nglm_gen_source *src, uint32_t node, nglm_gen_rng *rng)
{
    for (uint32_t n = node; n != src->root; n = src->node[n].parent) {
        const gen_node *nd = &src->node[n];
        if (draw53(rng) < nd->keep_thr) {
            uint64_t r = draw53(rng);
            const uint64_t *thr = src->succ_thr + nd->succ_off;
            uint32_t i = 0;
            while (r >= thr[i])
                i++;
            return src->succ_word[nd->succ_off + i];
        }
    }
    return sample_unigram(src, draw53(rng));
}

void nglm_gen_sample_sentence(const nglm_gen_source *src, nglm_gen_rng *rng,
                              uint32_t *words, size_t *len, double *logprob)
{
    size_t n = 0;
    double lp = 0;
    for (;;) {
        double h = eos_prob(src, n, n ? words[n - 1] : src->V);
        if (draw53(rng) < to_thr(h)) {
            if (logprob)
                lp += log(h);
            break;
        }
        uint32_t node = context_node(src, words, n);
        uint32_t w = sample_word(src, node, rng);
        if (logprob)
            lp += log((1.0 - h) * word_prob(src, node, w));
        words[n++] = w;
    }
    *len = n;
    if (logprob)
        *logprob = lp;
}

/* ---------------------------------------------------------------- the corpus */

enum { SPLIT_TRAIN, SPLIT_VALID, SPLIT_TEST, SPLIT_ORACLE, NFILES };
const char *const nglm_gen_file_suffix[NGLM_GEN_FILES] = {".train.txt", ".valid.txt",
                                                          ".test.txt", ".oracle"};

typedef struct out_file {
    char *path, *tmp;
    FILE *fp;
} out_file;

/* Closes whatever is open, removes the temporaries, frees the names. */
static void abandon(out_file *f)
{
    for (int i = 0; i < NFILES; i++) {
        if (f[i].fp)
            fclose(f[i].fp);
        if (f[i].tmp)
            remove(f[i].tmp);
        free(f[i].path);
        free(f[i].tmp);
    }
}

static int write_sentence(FILE *fp, const nglm_gen_source *src, const uint32_t *w, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i)
            putc(' ', fp);
        fwrite(src->pool + src->spell_off[w[i]], 1, src->spell_len[w[i]], fp);
    }
    putc('\n', fp);
    return ferror(fp) ? -1 : 0;
}

static void fill_unigram_ppl(nglm_gen_report *r, const uint64_t *train_count,
                             const uint64_t *test_count, uint32_t ntypes)
{
    double add_one = 0, best = 0;
    for (uint32_t t = 0; t < ntypes; t++) {
        if (!test_count[t])
            continue;
        double c = (double)test_count[t];
        add_one += c * log(((double)train_count[t] + 1.0) /
                           ((double)r->train_tokens + (double)ntypes));
        best += c * log(c / (double)r->test_tokens);
    }
    r->unigram_ppl = exp(-add_one / (double)r->test_tokens);
    r->unigram_best_ppl = exp(-best / (double)r->test_tokens);
}

static int write_oracle(FILE *fp, const nglm_gen_params *p, uint64_t seed,
                        const nglm_gen_report *r)
{
    fprintf(fp,
            "# nglm-gen: the true source's perplexity on the test split"
            " (tokens include </s>)\n"
            "order %d\nvocab_size %u\nsource_seed %llu\nseed %llu\n"
            "train_tokens %llu\nvalid_tokens %llu\ntest_tokens %llu\n"
            "train_sentences %llu\nvalid_sentences %llu\ntest_sentences %llu\n"
            "oracle_entropy_bits %.6f\noracle_ppl %.4f\n"
            "unigram_ppl %.4f\nunigram_best_ppl %.4f\n",
            p->order, p->vocab_size, (unsigned long long)p->source_seed,
            (unsigned long long)seed, (unsigned long long)r->train_tokens,
            (unsigned long long)r->valid_tokens, (unsigned long long)r->test_tokens,
            (unsigned long long)r->train_sentences, (unsigned long long)r->valid_sentences,
            (unsigned long long)r->test_sentences, r->oracle_entropy_bits, r->oracle_ppl,
            r->unigram_ppl, r->unigram_best_ppl);
    return ferror(fp) ? -1 : 0;
}

int nglm_gen_write_corpus(const nglm_gen_params *p, uint64_t tokens, uint64_t seed,
                          const char *prefix, nglm_gen_report *report, nglm_error *err)
{
    if (tokens < 20 || tokens > UINT64_MAX / 20)
        return nglm_error_set(err, "cannot generate %llu tokens (at least 20)",
                              (unsigned long long)tokens);
    nglm_gen_source *src = nglm_gen_source_new(p, err);
    if (!src)
        return -1;
    uint32_t ntypes = src->V + 1;
    out_file f[NFILES] = {{0}};
    uint64_t *train_count = calloc(ntypes, sizeof *train_count);
    uint64_t *test_count = calloc(ntypes, sizeof *test_count);
    uint32_t *words = malloc(NGLM_GEN_MAX_SENTENCE * sizeof *words);
    int rc = -1;
    if (!train_count || !test_count || !words) {
        nglm_error_set(err, "out of memory");
        goto done;
    }
    for (int i = 0; i < NFILES; i++) {
        size_t len = strlen(prefix) + strlen(nglm_gen_file_suffix[i]);
        f[i].path = malloc(len + 1);
        f[i].tmp = malloc(len + 5);
        if (!f[i].path || !f[i].tmp) {
            nglm_error_set(err, "out of memory");
            goto done;
        }
        sprintf(f[i].path, "%s%s", prefix, nglm_gen_file_suffix[i]);
        /* a symbolic link is written through: its target is replaced */
        free(f[i].tmp);
        f[i].tmp = NULL; /* not created: nothing to remove */
        char *target = nglm_path_resolve(f[i].path, err);
        if (!target)
            goto done;
        free(f[i].path);
        f[i].path = target;
        if (!(f[i].tmp = malloc(strlen(target) + 5))) {
            nglm_error_set(err, "out of memory");
            goto done;
        }
        sprintf(f[i].tmp, "%s.tmp", f[i].path);
        f[i].fp = fopen(f[i].tmp, "w");
        if (!f[i].fp) {
            nglm_error_errno(err, errno, "cannot create '%s'", f[i].tmp);
            free(f[i].tmp); /* not ours to remove */
            f[i].tmp = NULL;
            goto done;
        }
    }

    /* each split takes sentences until it has its share of the tokens */
    uint64_t target[3];
    target[SPLIT_TRAIN] = tokens / 10 * 9 + tokens % 10 * 9 / 10;
    target[SPLIT_VALID] = tokens / 20;
    target[SPLIT_TEST] = tokens - target[SPLIT_TRAIN] - target[SPLIT_VALID];
    uint64_t ntok[3] = {0, 0, 0}, nsent[3] = {0, 0, 0};
    double test_logprob = 0;
    nglm_gen_rng rng;
    nglm_gen_rng_seed(&rng, seed);
    for (int split = 0; split < 3;) {
        size_t n;
        double lp;
        nglm_gen_sample_sentence(src, &rng, words, &n, split == SPLIT_TEST ? &lp : NULL);
        if (write_sentence(f[split].fp, src, words, n)) {
            nglm_error_errno(err, errno, "cannot write '%s'", f[split].tmp);
            goto done;
        }
        ntok[split] += n + 1;
        nsent[split]++;
        uint64_t *count = split == SPLIT_TRAIN ? train_count
                          : split == SPLIT_TEST ? test_count
                                                : NULL;
        if (count) {
            for (size_t i = 0; i < n; i++)
                count[words[i]]++;
            count[src->V]++;
        }
        if (split == SPLIT_TEST)
            test_logprob += lp;
        if (ntok[split] >= target[split])
            split++;
    }

    nglm_gen_report r = {0};
    r.train_tokens = ntok[SPLIT_TRAIN];
    r.valid_tokens = ntok[SPLIT_VALID];
    r.test_tokens = ntok[SPLIT_TEST];
    r.train_sentences = nsent[SPLIT_TRAIN];
    r.valid_sentences = nsent[SPLIT_VALID];
    r.test_sentences = nsent[SPLIT_TEST];
    r.oracle_entropy_bits = -test_logprob / (double)r.test_tokens / log(2.0);
    r.oracle_ppl = exp(-test_logprob / (double)r.test_tokens);
    fill_unigram_ppl(&r, train_count, test_count, ntypes);
    if (write_oracle(f[SPLIT_ORACLE].fp, p, seed, &r)) {
        nglm_error_errno(err, errno, "cannot write '%s'", f[SPLIT_ORACLE].tmp);
        goto done;
    }

    for (int i = 0; i < NFILES; i++) {
        FILE *fp = f[i].fp;
        f[i].fp = NULL;
        int bad = ferror(fp) != 0;
        errno = 0;
        bad |= fclose(fp) != 0;
        if (bad) {
            nglm_error_errno(err, errno ? errno : EIO, "cannot write '%s'", f[i].tmp);
            goto done;
        }
    }
    for (int i = 0; i < NFILES; i++) {
        if (rename(f[i].tmp, f[i].path) != 0) {
            nglm_error_errno(err, errno, "cannot rename '%s' to '%s'", f[i].tmp,
                             f[i].path);
            goto done;
        }
        free(f[i].tmp);
        f[i].tmp = NULL;
    }
    if (report)
        *report = r;
    rc = 0;
done:
    abandon(f);
    free(words);
    free(train_count);
    free(test_count);
    nglm_gen_source_free(src);
    return rc;
}
