/*
 * train.c — an example of nglm's public API: trains a model the way
 * nglm-train does (nglm/pipeline.h) and saves it.
 *
 *   cc train.c $(pkg-config --cflags --libs nglm) -o train
 *   ./train TRAIN.txt MODEL.nglm [ORDER]
 *
 * The defaults are nglm-train's: every 20th sentence held out to validate
 * on, the order chosen by Kneser-Ney (of 2..5; ORDER fixes it), one epoch
 * from the Kneser-Ney start.  The stage lines go to stdout.
 */
#include <stdio.h>
#include <stdlib.h>

#include <nglm/modelfile.h>
#include <nglm/pipeline.h>

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: %s TRAIN.txt MODEL.nglm [ORDER]\n", argv[0]);
        return 2;
    }
    nglm_pipeline_options o = nglm_pipeline_options_default();
    o.train = argv[1];
    if (argc == 4) {
        o.order = atoi(argv[3]);
        o.order_auto = 0;
    }
    o.out = stdout;

    nglm_pipeline P;
    nglm_error err;
    if (nglm_pipeline_init(&P, &o, &err) != 0 || nglm_pipeline_run(&P, &err) != 0 ||
        nglm_model_save(&P.model, argv[2], &err) != 0) {
        fprintf(stderr, "%s: %s\n", argv[0], err.msg);
        nglm_pipeline_free(&P);
        return 1;
    }
    printf("saved %s: valid ppl %.2f\n", argv[2], P.model.info.valid_ppl);
    nglm_pipeline_free(&P);
    return 0;
}
