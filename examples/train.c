/*
 * train.c — an example of nglm's public API (nglm/nglm.h): trains a model
 * the way nglm-train does and saves it.
 *
 *   cc train.c $(pkg-config --cflags --libs nglm) -o train
 *   ./train TRAIN.txt MODEL.nglm [ORDER]
 *
 * The defaults are nglm-train's: every 20th sentence held out to validate
 * on, the order chosen by Kneser-Ney (of 2..5; ORDER fixes it), one epoch
 * from the Kneser-Ney start.  Any other nglm-train option is set the same
 * way, by its name.  The stage lines go to stdout.
 */
#include <stdio.h>

#include <nglm/nglm.h>

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: %s TRAIN.txt MODEL.nglm [ORDER]\n", argv[0]);
        return 2;
    }
    nglm_error err;
    nglm_pipeline *P = nglm_pipeline_new(&err);
    if (!P || nglm_pipeline_set(P, "train", argv[1], &err) != 0 ||
        (argc == 4 && nglm_pipeline_set(P, "order", argv[3], &err) != 0) ||
        nglm_pipeline_fit(P, stdout, &err) != 0 || nglm_pipeline_save(P, argv[2], &err) != 0) {
        fprintf(stderr, "%s: %s\n", argv[0], err.msg);
        nglm_pipeline_delete(P);
        return 1;
    }
    printf("saved %s: valid ppl %.2f\n", argv[2], nglm_pipeline_valid_ppl(P));
    nglm_pipeline_delete(P);
    return 0;
}
