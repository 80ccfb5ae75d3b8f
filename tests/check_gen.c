/*
 * check_gen.c — tests of the synthetic source and corpus writer (src/gen.c):
 * the source's distributions are normalized, the sampler draws from exactly
 * those distributions (chi-square on observed counts), texts are
 * deterministic in the seed, and the written corpus has the promised shape
 * and an oracle that beats any unigram clearly.
 */
#include <math.h>
#include <stdint.h>
#include <sys/stat.h>

#include "nglm/gen.h"
#include "testutil.h"

static nglm_gen_source *make_source(int order)
{
    nglm_gen_params p;
    nglm_gen_params_default(&p);
    p.order = order;
    nglm_error err;
    nglm_gen_source *src = nglm_gen_source_new(&p, &err);
    ck_assert_msg(src != NULL, "%s", err.msg);
    return src;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    ck_assert_ptr_nonnull(fp);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, fp), (size_t)n);
    buf[n] = '\0';
    fclose(fp);
    *len = (size_t)n;
    return buf;
}

static char tmpdir[64];

static const char *temp_prefix(const char *name)
{
    static char path[8][128];
    static int slot;
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/nglm-gen-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    }
    char *p = path[slot++ & 7];
    snprintf(p, 128, "%s/%s", tmpdir, name);
    return p;
}

static int file_exists(const char *prefix, const char *suffix)
{
    char path[256];
    struct stat st;
    snprintf(path, sizeof path, "%s%s", prefix, suffix);
    return lstat(path, &st) == 0;
}

/* ---------------------------------------------------------------- the source */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

START_TEST(test_words_distinct)
{
    nglm_gen_source *src = make_source(3);
    uint32_t V = nglm_gen_vocab_size(src);
    ck_assert_uint_eq(V, 2000);
    ck_assert_uint_eq(nglm_gen_eos(src), V);
    ck_assert_str_eq(nglm_gen_word(src, V), "</s>");
    /* sort the spellings and compare neighbours */
    const char **w = malloc(V * sizeof *w);
    for (uint32_t i = 0; i < V; i++) {
        w[i] = nglm_gen_word(src, i);
        ck_assert_uint_gt(strlen(w[i]), 0);
        for (const char *c = w[i]; *c; c++)
            ck_assert_msg(*c >= 'a' && *c <= 'z', "word '%s' is not lower-case ASCII", w[i]);
    }
    qsort(w, V, sizeof *w, cmp_str);
    for (uint32_t i = 0; i + 1 < V; i++)
        ck_assert_msg(strcmp(w[i], w[i + 1]) != 0, "'%s' twice", w[i]);
    /* frequent words are short */
    ck_assert_uint_le(strlen(nglm_gen_word(src, 0)), 7);
    free(w);
    nglm_gen_source_free(src);
}
END_TEST

/* A large vocabulary, where the syllable space gets crowded. */
START_TEST(test_words_distinct_large)
{
    nglm_gen_params p;
    nglm_gen_params_default(&p);
    p.vocab_size = 50000;
    nglm_error err;
    nglm_gen_source *src = nglm_gen_source_new(&p, &err);
    ck_assert_msg(src != NULL, "%s", err.msg);
    const char **w = malloc(p.vocab_size * sizeof *w);
    for (uint32_t i = 0; i < p.vocab_size; i++)
        w[i] = nglm_gen_word(src, i);
    qsort(w, p.vocab_size, sizeof *w, cmp_str);
    for (uint32_t i = 0; i + 1 < p.vocab_size; i++)
        ck_assert_msg(strcmp(w[i], w[i + 1]) != 0, "'%s' twice", w[i]);
    free(w);
    nglm_gen_source_free(src);
}
END_TEST

/* Sum over all tokens of P(token | history) for histories taken from
 * sampled sentences: every prefix of them, order 3 and 4. */
START_TEST(test_probabilities_sum_to_one)
{
    for (int order = 3; order <= 4; order++) {
        nglm_gen_source *src = make_source(order);
        nglm_gen_rng rng;
        nglm_gen_rng_seed(&rng, 42);
        uint32_t words[NGLM_GEN_MAX_SENTENCE];
        for (int s = 0; s < 8; s++) {
            size_t n;
            nglm_gen_sample_sentence(src, &rng, words, &n, NULL);
            for (size_t m = 0; m <= n; m++) {
                double total = 0;
                for (uint32_t w = 0; w <= nglm_gen_eos(src); w++)
                    total += exp(nglm_gen_logprob(src, words, m, w));
                ck_assert_msg(fabs(total - 1.0) < 1e-12, "order %d, history %zu: sum %.15f",
                              order, m, total);
            }
        }
        nglm_gen_source_free(src);
    }
}
END_TEST

START_TEST(test_impossible_tokens)
{
    nglm_gen_source *src = make_source(3);
    uint32_t h[NGLM_GEN_MAX_SENTENCE] = {0};
    ck_assert(isinf(nglm_gen_logprob(src, h, 0, nglm_gen_eos(src)))); /* empty sentence */
    ck_assert(isinf(nglm_gen_logprob(src, h, NGLM_GEN_MAX_SENTENCE, 0)));
    ck_assert(nglm_gen_logprob(src, h, NGLM_GEN_MAX_SENTENCE, nglm_gen_eos(src)) == 0.0);
    ck_assert(isinf(nglm_gen_logprob(src, h, 1, nglm_gen_eos(src) + 1)));
    nglm_gen_source_free(src);
}
END_TEST

/* The sentence's log-probability reported by the sampler is the sum of the
 * per-token log-probabilities. */
START_TEST(test_sentence_logprob)
{
    nglm_gen_source *src = make_source(4);
    nglm_gen_rng rng;
    nglm_gen_rng_seed(&rng, 7);
    uint32_t words[NGLM_GEN_MAX_SENTENCE];
    for (int s = 0; s < 50; s++) {
        size_t n;
        double lp;
        nglm_gen_sample_sentence(src, &rng, words, &n, &lp);
        double sum = 0;
        for (size_t m = 0; m < n; m++)
            sum += nglm_gen_logprob(src, words, m, words[m]);
        sum += nglm_gen_logprob(src, words, n, nglm_gen_eos(src));
        ck_assert(isfinite(lp));
        ck_assert_double_eq_tol(lp, sum, 1e-9);
    }
    nglm_gen_source_free(src);
}
END_TEST

/* Pearson's chi-square of observed counts against the source's probability
 * for the token following `history`, with the rare tokens pooled so every
 * bin expects at least 10.  Asserts it is below df + 6 sqrt(2 df). */
static void check_counts(const nglm_gen_source *src, const uint32_t *history, size_t n,
                         const uint64_t *count, uint64_t total)
{
    uint32_t ntypes = nglm_gen_eos(src) + 1;
    double chi2 = 0, pooled_exp = 0, pooled_obs = 0, psum = 0;
    int bins = 0;
    for (uint32_t w = 0; w < ntypes; w++) {
        double p = exp(nglm_gen_logprob(src, history, n, w));
        psum += p;
        double e = p * (double)total;
        if (e >= 10) {
            chi2 += ((double)count[w] - e) * ((double)count[w] - e) / e;
            bins++;
        } else {
            pooled_exp += e;
            pooled_obs += (double)count[w];
            if (p == 0)
                ck_assert_msg(count[w] == 0, "token %u has probability 0 but was drawn", w);
        }
    }
    if (pooled_exp >= 10) {
        chi2 += (pooled_obs - pooled_exp) * (pooled_obs - pooled_exp) / pooled_exp;
        bins++;
    }
    double df = bins - 1;
    ck_assert_int_ge(bins, 10);
    ck_assert_msg(chi2 < df + 6 * sqrt(2 * df), "chi-square %.1f with %g degrees of freedom",
                  chi2, df);
}

START_TEST(test_sampler_matches_probabilities)
{
    for (int order = 3; order <= 4; order++) {
        nglm_gen_source *src = make_source(order);
        uint32_t ntypes = nglm_gen_eos(src) + 1;
        uint64_t *first = calloc(ntypes, sizeof *first);
        uint64_t *second = calloc(ntypes, sizeof *second);
        uint64_t *third = calloc(ntypes, sizeof *third);
        uint32_t words[NGLM_GEN_MAX_SENTENCE];
        nglm_gen_rng rng;
        nglm_gen_rng_seed(&rng, 1234);
        /* the first word after <s>, and the next two tokens after the most
         * frequent opening pair (a trigram context of the source) */
        const uint64_t nsent = 400000;
        uint64_t n2 = 0, n3 = 0;
        uint32_t pair[2] = {UINT32_MAX, UINT32_MAX};
        for (int pass = 0; pass < 2; pass++) {
            nglm_gen_rng_seed(&rng, 1234);
            uint64_t *pairs = pass == 0 ? calloc((size_t)ntypes * 64, sizeof *pairs) : NULL;
            for (uint64_t s = 0; s < nsent; s++) {
                size_t n;
                nglm_gen_sample_sentence(src, &rng, words, &n, NULL);
                ck_assert_uint_ge(n, 1);
                if (pass == 0) {
                    first[words[0]]++;
                    if (n >= 2 && words[0] < 64)
                        pairs[(size_t)words[0] * ntypes + words[1]]++;
                    continue;
                }
                if (words[0] != pair[0])
                    continue;
                n2++;
                second[n >= 2 ? words[1] : nglm_gen_eos(src)]++;
                if (n >= 2 && words[1] == pair[1]) {
                    n3++;
                    third[n >= 3 ? words[2] : nglm_gen_eos(src)]++;
                }
            }
            if (pass == 0) {
                uint64_t best = 0;
                for (size_t i = 0; i < (size_t)ntypes * 64; i++)
                    if (pairs[i] > best) {
                        best = pairs[i];
                        pair[0] = (uint32_t)(i / ntypes);
                        pair[1] = (uint32_t)(i % ntypes);
                    }
                free(pairs);
                ck_assert_uint_gt(best, 2000);
            }
        }
        check_counts(src, NULL, 0, first, nsent);
        check_counts(src, pair, 1, second, n2);
        check_counts(src, pair, 2, third, n3);
        free(first);
        free(second);
        free(third);
        nglm_gen_source_free(src);
    }
}
END_TEST

START_TEST(test_sentence_lengths)
{
    nglm_gen_source *src = make_source(3);
    nglm_gen_rng rng;
    nglm_gen_rng_seed(&rng, 99);
    uint32_t words[NGLM_GEN_MAX_SENTENCE];
    size_t shortest = SIZE_MAX, longest = 0, total = 0, nsent = 20000, le3 = 0, one = 0;
    for (size_t s = 0; s < nsent; s++) {
        size_t n;
        nglm_gen_sample_sentence(src, &rng, words, &n, NULL);
        shortest = n < shortest ? n : shortest;
        longest = n > longest ? n : longest;
        total += n;
        le3 += n <= 3;
        one += n == 1;
        for (size_t i = 0; i < n; i++)
            ck_assert_uint_lt(words[i], nglm_gen_eos(src));
    }
    double mean = (double)total / (double)nsent;
    ck_assert_msg(mean > 17 && mean < 24, "mean sentence length %.2f", mean);
    ck_assert_uint_ge(shortest, 1);
    ck_assert_uint_le(longest, 300);
    ck_assert_uint_ge(longest, 80);
    /* the end depends on the last word only, so lengths are about geometric,
     * but </s> right after the first word is damped */
    ck_assert_msg(le3 < nsent / 6, "%zu of %zu sentences have at most 3 words", le3, nsent);
    ck_assert_msg(one < nsent / 50, "%zu of %zu sentences have one word", one, nsent);
    nglm_gen_source_free(src);
}
END_TEST

START_TEST(test_rng_deterministic)
{
    nglm_gen_rng a, b;
    nglm_gen_rng_seed(&a, 1);
    nglm_gen_rng_seed(&b, 1);
    for (int i = 0; i < 100; i++)
        ck_assert_uint_eq(nglm_gen_rng_next(&a), nglm_gen_rng_next(&b));
    nglm_gen_rng_seed(&b, 2);
    ck_assert_uint_ne(nglm_gen_rng_next(&a), nglm_gen_rng_next(&b));
}
END_TEST

START_TEST(test_bad_params)
{
    nglm_gen_params p;
    nglm_error err;
    nglm_gen_params_default(&p);
    p.order = 5;
    ck_assert_ptr_null(nglm_gen_source_new(&p, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "order"));
    nglm_gen_params_default(&p);
    p.vocab_size = 10;
    ck_assert_ptr_null(nglm_gen_source_new(&p, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "vocabulary"));
    nglm_gen_params_default(&p);
    ck_assert_int_eq(nglm_gen_write_corpus(&p, 5, 1, temp_prefix("few"), NULL, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "tokens"));
    ck_assert(!file_exists(temp_prefix("few"), ".train.txt"));
}
END_TEST

/* Different sources from different source seeds. */
START_TEST(test_source_seed)
{
    nglm_gen_params p;
    nglm_gen_params_default(&p);
    nglm_error err;
    nglm_gen_source *a = nglm_gen_source_new(&p, &err);
    p.source_seed++;
    nglm_gen_source *b = nglm_gen_source_new(&p, &err);
    int differ = 0;
    for (uint32_t w = 0; w < 10; w++)
        differ += strcmp(nglm_gen_word(a, w), nglm_gen_word(b, w)) != 0;
    ck_assert_int_gt(differ, 5);
    nglm_gen_source_free(a);
    nglm_gen_source_free(b);
}
END_TEST

/* ---------------------------------------------------------------- the corpus */

static const char *const suffixes[] = {".train.txt", ".valid.txt", ".test.txt", ".oracle"};

static char *read_split(const char *prefix, const char *suffix, size_t *len)
{
    char path[256];
    snprintf(path, sizeof path, "%s%s", prefix, suffix);
    return read_all(path, len);
}

START_TEST(test_corpus_deterministic)
{
    nglm_gen_params p;
    nglm_gen_params_default(&p);
    nglm_error err;
    const char *a = temp_prefix("a"), *b = temp_prefix("b"), *c = temp_prefix("c");
    ck_assert_int_eq(nglm_gen_write_corpus(&p, 20000, 5, a, NULL, &err), 0);
    ck_assert_int_eq(nglm_gen_write_corpus(&p, 20000, 5, b, NULL, &err), 0);
    ck_assert_int_eq(nglm_gen_write_corpus(&p, 20000, 6, c, NULL, &err), 0);
    for (int i = 0; i < 4; i++) {
        size_t la, lb, lc;
        char *ta = read_split(a, suffixes[i], &la);
        char *tb = read_split(b, suffixes[i], &lb);
        char *tc = read_split(c, suffixes[i], &lc);
        ck_assert_uint_eq(la, lb);
        ck_assert_int_eq(memcmp(ta, tb, la), 0);
        ck_assert(la != lc || memcmp(ta, tc, la) != 0);
        free(ta);
        free(tb);
        free(tc);
        ck_assert(!file_exists(a, ".train.txt.tmp"));
    }
}
END_TEST

/* Splits the text into sentences of word ids (via sorted spellings) and
 * checks the format: single spaces, no empty line, known words only. */
typedef struct spelled {
    const char *s;
    uint32_t id;
} spelled;

static int cmp_spelled(const void *a, const void *b)
{
    return strcmp(((const spelled *)a)->s, ((const spelled *)b)->s);
}

/* Recomputes the oracle log-probability of a split from its text; counts
 * its tokens and sentences. */
static double text_logprob(const nglm_gen_source *src, char *text, uint64_t *tokens,
                           uint64_t *sentences)
{
    uint32_t V = nglm_gen_vocab_size(src);
    spelled *dict = malloc(V * sizeof *dict);
    for (uint32_t i = 0; i < V; i++)
        dict[i] = (spelled){nglm_gen_word(src, i), i};
    qsort(dict, V, sizeof *dict, cmp_spelled);
    uint32_t words[NGLM_GEN_MAX_SENTENCE];
    double lp = 0;
    *tokens = *sentences = 0;
    char *line = text;
    while (*line) {
        char *nl = strchr(line, '\n');
        ck_assert_ptr_nonnull(nl); /* every line ends with a newline */
        *nl = '\0';
        ck_assert_msg(line[0] != '\0' && line[0] != ' ' && nl[-1] != ' ',
                      "bad line '%s'", line);
        ck_assert_ptr_null(strstr(line, "  "));
        size_t n = 0;
        for (char *tok = strtok(line, " "); tok; tok = strtok(NULL, " ")) {
            spelled key = {tok, 0};
            spelled *hit = bsearch(&key, dict, V, sizeof *dict, cmp_spelled);
            ck_assert_msg(hit != NULL, "unknown word '%s'", tok);
            ck_assert_uint_lt(n, NGLM_GEN_MAX_SENTENCE);
            lp += nglm_gen_logprob(src, words, n, hit->id);
            words[n++] = hit->id;
        }
        lp += nglm_gen_logprob(src, words, n, nglm_gen_eos(src));
        *tokens += n + 1;
        (*sentences)++;
        line = nl + 1;
    }
    free(dict);
    return lp;
}

START_TEST(test_default_corpus)
{
    nglm_gen_params p;
    nglm_gen_params_default(&p);
    nglm_error err;
    nglm_gen_report r;
    const char *prefix = temp_prefix("default");
    const uint64_t want = 300000;
    ck_assert_msg(nglm_gen_write_corpus(&p, want, 1, prefix, &r, &err) == 0, "%s", err.msg);
    for (int i = 0; i < 4; i++)
        ck_assert(file_exists(prefix, suffixes[i]));

    /* token counts: each split at least its share, the whole close to N */
    ck_assert_uint_ge(r.train_tokens, want * 9 / 10);
    ck_assert_uint_ge(r.valid_tokens, want / 20);
    ck_assert_uint_ge(r.test_tokens, want / 20);
    uint64_t total = r.train_tokens + r.valid_tokens + r.test_tokens;
    ck_assert_uint_le(total, want + 3 * (NGLM_GEN_MAX_SENTENCE + 1));
    ck_assert_uint_le(total, want + 300);

    /* the text says the same, and the oracle recomputed from it agrees */
    nglm_gen_source *src = nglm_gen_source_new(&p, &err);
    uint64_t ntok, nsent;
    size_t len;
    char *text = read_split(prefix, ".train.txt", &len);
    text_logprob(src, text, &ntok, &nsent);
    ck_assert_uint_eq(ntok, r.train_tokens);
    ck_assert_uint_eq(nsent, r.train_sentences);
    free(text);
    text = read_split(prefix, ".test.txt", &len);
    double lp = text_logprob(src, text, &ntok, &nsent);
    ck_assert_uint_eq(ntok, r.test_tokens);
    ck_assert_uint_eq(nsent, r.test_sentences);
    ck_assert_double_eq_tol(exp(-lp / (double)ntok), r.oracle_ppl, 1e-9 * r.oracle_ppl);
    ck_assert_double_eq_tol(r.oracle_entropy_bits, log2(r.oracle_ppl), 1e-9);
    free(text);
    nglm_gen_source_free(src);

    /* order matters: the source is far better than any unigram */
    ck_assert_msg(r.oracle_ppl < 0.6 * r.unigram_best_ppl, "oracle %.2f, best unigram %.2f",
                  r.oracle_ppl, r.unigram_best_ppl);
    ck_assert_msg(r.oracle_ppl < 0.5 * r.unigram_ppl, "oracle %.2f, unigram %.2f",
                  r.oracle_ppl, r.unigram_ppl);
    ck_assert(r.unigram_best_ppl <= r.unigram_ppl);
    /* ... but not trivial */
    ck_assert_msg(r.oracle_ppl > 30, "oracle %.2f", r.oracle_ppl);

    /* the oracle file carries the report */
    char *oracle = read_split(prefix, ".oracle", &len);
    char line[64];
    snprintf(line, sizeof line, "\noracle_ppl %.4f\n", r.oracle_ppl);
    ck_assert_ptr_nonnull(strstr(oracle, line));
    snprintf(line, sizeof line, "\ntest_tokens %llu\n", (unsigned long long)r.test_tokens);
    ck_assert_ptr_nonnull(strstr(oracle, line));
    ck_assert_ptr_nonnull(strstr(oracle, "\nunigram_ppl "));
    free(oracle);
}
END_TEST

/* Order matters beyond bigrams: the source's own bigram marginal
 * P(w | v) = sum_u P(u | v) P(w | u v), with P(u | v) the frequency of u
 * before v in a long sample, is clearly worse on a test sample than the
 * source itself, so no bigram model can come close to the oracle. */
START_TEST(test_trigram_information)
{
    nglm_gen_source *src = make_source(3);
    uint32_t V = nglm_gen_vocab_size(src), eos = nglm_gen_eos(src);
    /* pair[u * V + v]: u (eos standing for <s>) right before v */
    uint32_t *pair = calloc((size_t)(V + 1) * V, sizeof *pair);
    uint32_t *before = calloc(V, sizeof *before);
    uint32_t words[NGLM_GEN_MAX_SENTENCE];
    nglm_gen_rng rng;
    nglm_gen_rng_seed(&rng, 77);
    for (uint64_t ntok = 0; ntok < 2000000;) {
        size_t n;
        nglm_gen_sample_sentence(src, &rng, words, &n, NULL);
        for (size_t i = 1; i <= n; i++) {
            uint32_t u = i >= 2 ? words[i - 2] : eos;
            pair[(size_t)u * V + words[i - 1]]++;
            before[words[i - 1]]++;
        }
        ntok += n + 1;
    }
    double lp_oracle = 0, lp_bigram = 0;
    uint64_t ntok = 0;
    nglm_gen_rng_seed(&rng, 78);
    while (ntok < 20000) {
        size_t n;
        nglm_gen_sample_sentence(src, &rng, words, &n, NULL);
        for (size_t m = 0; m <= n; m++) {
            uint32_t w = m < n ? words[m] : eos;
            double lp = nglm_gen_logprob(src, words, m, w);
            lp_oracle += lp;
            if (m == 0 || before[words[m - 1]] == 0) {
                lp_bigram += lp; /* P(w | <s>) is a bigram */
                continue;
            }
            uint32_t v = words[m - 1], h[2] = {0, v};
            double p = 0;
            for (uint32_t u = 0; u <= V; u++) {
                uint32_t c = pair[(size_t)u * V + v];
                if (!c)
                    continue;
                h[0] = u;
                double q = u == eos ? nglm_gen_logprob(src, h + 1, 1, w)
                                    : nglm_gen_logprob(src, h, 2, w);
                p += c * exp(q);
            }
            lp_bigram += log(p / before[v]);
        }
        ntok += n + 1;
    }
    double oracle = exp(-lp_oracle / (double)ntok), bigram = exp(-lp_bigram / (double)ntok);
    ck_assert_msg(oracle < 0.9 * bigram, "oracle %.2f, exact bigram %.2f", oracle, bigram);
    free(pair);
    free(before);
    nglm_gen_source_free(src);
}
END_TEST

START_TEST(test_order4_corpus)
{
    nglm_gen_params p;
    nglm_gen_params_default(&p);
    p.order = 4;
    nglm_error err;
    nglm_gen_report r;
    const char *prefix = temp_prefix("order4");
    ck_assert_msg(nglm_gen_write_corpus(&p, 100000, 3, prefix, &r, &err) == 0, "%s", err.msg);
    ck_assert(r.oracle_ppl < 0.6 * r.unigram_best_ppl);
    nglm_gen_source *src = nglm_gen_source_new(&p, &err);
    size_t len;
    uint64_t ntok, nsent;
    char *text = read_split(prefix, ".test.txt", &len);
    double lp = text_logprob(src, text, &ntok, &nsent);
    ck_assert_double_eq_tol(exp(-lp / (double)ntok), r.oracle_ppl, 1e-9 * r.oracle_ppl);
    free(text);
    nglm_gen_source_free(src);
}
END_TEST

START_TEST(test_unwritable_prefix)
{
    nglm_gen_params p;
    nglm_gen_params_default(&p);
    nglm_error err;
    ck_assert_int_eq(nglm_gen_write_corpus(&p, 1000, 1, "/nonexistent/dir/x", NULL, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent/dir/x.train.txt.tmp"));
}
END_TEST

/* A full disk: the train temporary is a link to /dev/full.  The error is
 * reported, the link removed, and no output file appears. */
START_TEST(test_disk_full)
{
    if (access("/dev/full", W_OK) != 0)
        return;
    nglm_gen_params p;
    nglm_gen_params_default(&p);
    nglm_error err;
    const char *prefix = temp_prefix("full");
    char link[256];
    snprintf(link, sizeof link, "%s.train.txt.tmp", prefix);
    ck_assert_int_eq(symlink("/dev/full", link), 0);
    ck_assert_int_eq(nglm_gen_write_corpus(&p, 1000, 1, prefix, NULL, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "cannot write"));
    for (int i = 0; i < 4; i++)
        ck_assert(!file_exists(prefix, suffixes[i]));
    ck_assert(!file_exists(prefix, ".train.txt.tmp"));
    ck_assert(!file_exists(prefix, ".test.txt.tmp"));
}
END_TEST

static void remove_tmpdir(void)
{
    if (tmpdir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", tmpdir);
    }
}

int main(void)
{
    Suite *s = suite_create("gen");
    TCase *src = tcase_create("source");
    tcase_add_test(src, test_words_distinct);
    tcase_add_test(src, test_words_distinct_large);
    tcase_add_test(src, test_probabilities_sum_to_one);
    tcase_add_test(src, test_impossible_tokens);
    tcase_add_test(src, test_sentence_logprob);
    tcase_add_test(src, test_sampler_matches_probabilities);
    tcase_add_test(src, test_sentence_lengths);
    tcase_add_test(src, test_rng_deterministic);
    tcase_add_test(src, test_bad_params);
    tcase_add_test(src, test_source_seed);
    tcase_set_timeout(src, 60); /* the sampler test draws 1.6M sentences */
    suite_add_tcase(s, src);
    TCase *corpus = tcase_create("corpus");
    tcase_add_test(corpus, test_corpus_deterministic);
    tcase_add_test(corpus, test_default_corpus);
    tcase_add_test(corpus, test_trigram_information);
    tcase_add_test(corpus, test_order4_corpus);
    tcase_add_test(corpus, test_unwritable_prefix);
    tcase_add_test(corpus, test_disk_full);
    tcase_set_timeout(corpus, 60);
    suite_add_tcase(s, corpus);
    /* fork mode: each test is its own process; the temporary directory is
     * made per process and removed at its exit */
    atexit(remove_tmpdir);
    return tu_run(s);
}
