/*
 * score.c — an example of nglm's public API: loads a model and prints the
 * log10 probability of one sentence given on the command line.
 *
 *   cc score.c $(pkg-config --cflags --libs nglm) -o score
 *   ./score model.nglm the cat sat on the mat
 *
 * The words after MODEL form one sentence (joined by single spaces); its
 * words and the closing </s> are scored, as nglm-eval --per-sentence does.
 * Words the model does not know are scored as <unk>.  The sentence is split
 * at spaces, as a model trained with nglm-train's default --tokenize space
 * reads text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nglm/corpus.h>
#include <nglm/eval.h>
#include <nglm/model.h>
#include <nglm/modelfile.h>

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
    nglm_model m;
    if (nglm_model_load(&m, argv[1], &err) != 0) {
        fprintf(stderr, "%s: %s\n", argv[0], err.msg);
        free(line);
        return 1;
    }
    /* an empty sentence is still one sentence: just </s> */
    const char *lines[1] = {line[0] ? line : "<s>"};
    nglm_corpus c;
    nglm_eval_report r;
    if (nglm_corpus_from_lines(&c, lines, 1, m.vocab, &err) != 0 ||
        nglm_eval_corpus(&m, &c, 1, 0, &r, &err) != 0) {
        fprintf(stderr, "%s: %s\n", argv[0], err.msg);
        nglm_model_free(&m);
        free(line);
        return 1;
    }
    printf("%.6f\n", r.logprob10);

    nglm_eval_report_free(&r);
    nglm_corpus_free(&c);
    nglm_model_free(&m);
    free(line);
    return 0;
}
