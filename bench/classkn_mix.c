/*
 * classkn_mix.c — the class Kneser-Ney measurement of bench/cluster.sh (not
 * part of the build): builds the class KN model of a training text from a
 * class file, scores a validation and a test text with it and with a word
 * model (an ARPA file, e.g. nglm-kn -o 5), chooses the linear mixture
 * weight λ·P_class + (1 − λ)·P_word by EM on the validation text, and
 * prints the perplexities and the time of each step.
 *
 * Usage: classkn_mix TRAIN CLASSES ORDER VALID TEST WORD.arpa THREADS [SAVE]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nglm/arpa.h"
#include "nglm/classkn.h"
#include "nglm/cluster.h"
#include "nglm/corpus.h"
#include "nglm/progress.h"
#include "nglm/vocab.h"

static void die(const char *what, const nglm_error *err)
{
    fprintf(stderr, "classkn_mix: %s: %s\n", what, err->msg);
    exit(1);
}

static double ppl(const double *lp10, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += lp10[i];
    return pow(10, -s / (double)n);
}

static double ppl_mix(const double *a, const double *b, size_t n, double lambda)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += log10(lambda * pow(10, a[i]) + (1 - lambda) * pow(10, b[i]));
    return pow(10, -s / (double)n);
}

int main(int argc, char **argv)
{
    if (argc < 8) {
        fprintf(stderr, "usage: classkn_mix TRAIN CLASSES ORDER VALID TEST WORD.arpa THREADS [SAVE]\n");
        return 2;
    }
    const char *train = argv[1], *classes = argv[2], *valid = argv[4], *test = argv[5];
    int order = atoi(argv[3]), threads = atoi(argv[7]);
    nglm_error err;
    nglm_tok_options tok = nglm_tok_options_default();
    double t0 = nglm_wall_seconds();
    nglm_vocab *v = nglm_vocab_new();
    nglm_corpus c;
    if (nglm_vocab_count_file_threads(v, train, &tok, threads, NULL, NULL, &err) != 0 ||
        nglm_vocab_finalize(v, 1, 0, &err) != 0 || nglm_corpus_read(&c, train, &tok, v, &err) != 0)
        die(train, &err);
    int32_t V = (int32_t)nglm_vocab_size(v);
    int32_t *cls = malloc((size_t)V * sizeof *cls);
    int n_classes;
    if (nglm_classes_read(classes, v, NGLM_CLASSES_AUTO, 0, cls, &n_classes, &err) != 0)
        die(classes, &err);
    double t1 = nglm_wall_seconds();
    nglm_classkn m;
    if (nglm_classkn_build(&m, &c, v, &tok, cls, n_classes, order, NULL, threads, &err) != 0)
        die("build", &err);
    double t2 = nglm_wall_seconds();
    printf("class KN %d-gram, %d classes: read %.2f s, build %.2f s\n", order, n_classes,
           t1 - t0, t2 - t1);
    if (argc > 8) {
        if (nglm_classkn_save(&m, argv[8], &err) != 0)
            die(argv[8], &err);
        nglm_classkn_free(&m);
        double t3 = nglm_wall_seconds();
        if (nglm_classkn_load(&m, argv[8], &err) != 0)
            die(argv[8], &err);
        printf("saved and loaded again: %.2f s\n", nglm_wall_seconds() - t3);
    }
    double t4 = nglm_wall_seconds();
    nglm_arpa *a = nglm_arpa_load(argv[6], &err);
    if (!a)
        die(argv[6], &err);
    printf("word model read: %.2f s\n", nglm_wall_seconds() - t4);
    double *lc[2], *lw[2];
    size_t n[2];
    const char *texts[2] = {valid, test};
    for (int k = 0; k < 2; k++) {
        nglm_corpus tc, ta;
        if (nglm_corpus_read(&tc, texts[k], &tok, m.vocab, &err) != 0 ||
            nglm_corpus_read(&ta, texts[k], &tok, nglm_arpa_vocab(a), &err) != 0)
            die(texts[k], &err);
        if (tc.n_tokens != ta.n_tokens) {
            fprintf(stderr, "classkn_mix: %s: %zu and %zu tokens\n", texts[k], tc.n_tokens,
                    ta.n_tokens);
            return 1;
        }
        n[k] = tc.n_tokens;
        lc[k] = malloc(n[k] * sizeof *lc[k]);
        lw[k] = malloc(n[k] * sizeof *lw[k]);
        double t5 = nglm_wall_seconds();
        if (nglm_classkn_score_corpus10(&m, &tc, lc[k], threads, &err) != 0)
            die("score", &err);
        double t6 = nglm_wall_seconds();
        if (nglm_arpa_score_corpus(a, &ta, lw[k], &err) != 0)
            die("score", &err);
        printf("%s: %zu tokens: class KN ppl %.2f (%.2f s), word model ppl %.2f\n", texts[k],
               n[k], ppl(lc[k], n[k]), t6 - t5, ppl(lw[k], n[k]));
        nglm_corpus_free(&tc);
        nglm_corpus_free(&ta);
    }
    /* EM for λ on the validation text */
    double lambda = 0.5;
    for (int it = 0; it < 100; it++) {
        double s = 0;
        for (size_t i = 0; i < n[0]; i++) {
            double pc = lambda * pow(10, lc[0][i]), pw = (1 - lambda) * pow(10, lw[0][i]);
            s += pc / (pc + pw);
        }
        double next = s / (double)n[0];
        if (fabs(next - lambda) < 1e-7) {
            lambda = next;
            break;
        }
        lambda = next;
    }
    printf("mixture weight of the class model (EM on %s): %.4f\n", valid, lambda);
    printf("mixture ppl: %s %.2f, %s %.2f\n", valid, ppl_mix(lc[0], lw[0], n[0], lambda), test,
           ppl_mix(lc[1], lw[1], n[1], lambda));
    return 0;
}
