/*
 * score.c — an example of nglm's public API (nglm/nglm.h): loads a model
 * and prints the log10 probability of one sentence given on the command
 * line; with -w, first that of each of its words.
 *
 *   cc score.c $(pkg-config --cflags --libs nglm) -o score
 *   ./score model.nglm the cat sat on the mat
 *   ./score -w model.nglm the cat sat on the mat
 *
 * The words after MODEL form one sentence (joined by single spaces); its
 * words and the closing </s> are scored, as nglm-eval --per-sentence does.
 * Words the model does not know are scored as <unk>.  The model may be of
 * any kind nglm reads (an nglm model, an ARPA file, a mixture), and the
 * sentence is split by the model's own tokenizer.  -w prints a line per
 * token, "WORD<TAB>log10 P<TAB>n-gram length" (WORD as the model knows
 * it: <unk> for an unknown word), as KenLM's query does, then the total.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nglm/nglm.h>

int main(int argc, char **argv)
{
    int words = argc > 1 && strcmp(argv[1], "-w") == 0;
    int first = 2 + words; /* the first word's argument */
    if (argc < first) {
        fprintf(stderr, "usage: %s [-w] MODEL [WORD]...\n", argv[0]);
        return 2;
    }

    /* the sentence: the remaining arguments joined by spaces */
    size_t len = 1;
    for (int i = first; i < argc; i++)
        len += strlen(argv[i]) + 1;
    char *line = malloc(len);
    if (!line) {
        fprintf(stderr, "%s: out of memory\n", argv[0]);
        return 1;
    }
    line[0] = '\0';
    for (int i = first; i < argc; i++) {
        if (i > first)
            strcat(line, " ");
        strcat(line, argv[i]);
    }

    nglm_error err;
    nglm_lm *lm = nglm_lm_open(argv[first - 1], 0, &err);
    double logprob10;
    nglm_word_score *ws = NULL;
    size_t n = 0;
    if (!lm || (words && nglm_lm_score_words(lm, line, &ws, &n, &err) != 0) ||
        nglm_lm_score_sentence(lm, line, &logprob10, NULL, &err) != 0) {
        fprintf(stderr, "%s: %s\n", argv[0], err.msg);
        nglm_lm_free(lm);
        free(ws);
        free(line);
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        printf("%s\t%.6f\t%d\n", nglm_vocab_word(nglm_lm_vocab(lm), ws[i].id),
               ws[i].logprob10, ws[i].ngram_length);
    printf("%.6f\n", logprob10);

    free(ws);
    nglm_lm_free(lm);
    free(line);
    return 0;
}
