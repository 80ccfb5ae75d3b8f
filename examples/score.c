/*
 * score.c — an example of nglm's public API (nglm/nglm.h): loads a model
 * and prints the log10 probability of one sentence given on the command
 * line.
 *
 *   cc score.c $(pkg-config --cflags --libs nglm) -o score
 *   ./score model.nglm the cat sat on the mat
 *
 * The words after MODEL form one sentence (joined by single spaces); its
 * words and the closing </s> are scored, as nglm-eval --per-sentence does.
 * Words the model does not know are scored as <unk>.  The model may be of
 * any kind nglm reads (an nglm model, an ARPA file, a mixture), and the
 * sentence is split by the model's own tokenizer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nglm/nglm.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL [WORD]...\n", argv[0]);
        return 2;
    }

    /* the sentence: the remaining arguments joined by spaces */
    size_t len = 1;
    for (int i = 2; i < argc; i++)
        len += strlen(argv[i]) + 1;
    char *line = malloc(len);
    if (!line) {
        fprintf(stderr, "%s: out of memory\n", argv[0]);
        return 1;
    }
    line[0] = '\0';
    for (int i = 2; i < argc; i++) {
        if (i > 2)
            strcat(line, " ");
        strcat(line, argv[i]);
    }

    nglm_error err;
    nglm_lm *lm = nglm_lm_open(argv[1], 0, &err);
    double logprob10;
    if (!lm || nglm_lm_score_sentence(lm, line, &logprob10, NULL, &err) != 0) {
        fprintf(stderr, "%s: %s\n", argv[0], err.msg);
        nglm_lm_free(lm);
        free(line);
        return 1;
    }
    printf("%.6f\n", logprob10);

    nglm_lm_free(lm);
    free(line);
    return 0;
}
