/*
 * tests/fuzz/fuzz_arpa.c — fuzzes nglm_arpa_load: the input bytes are
 * written to a temporary file which is read as an ARPA back-off model (plain
 * or gzip); a loaded model scores one short sentence, is converted into an
 * nglm model (nglm_arpa_to_model, nglm-export --from-arpa), which scores the
 * same sentence, and is freed.
 */
#include <stdint.h>
#include <stdlib.h>

#include "nglm/arpa.h"
#include "nglm/model.h"
#include "nglm/vocab.h"
#include "fuzz_file.h"

/* The fuzz target proper (also called by tests/check_fuzz_regress.c). */
int nglm_fuzz_arpa(const uint8_t *data, size_t size);

int nglm_fuzz_arpa(const uint8_t *data, size_t size)
{
    nglm_error err;
    nglm_arpa *a = nglm_arpa_load(fuzz_file_write(data, size), &err);
    if (!a)
        return 0;
    const nglm_vocab *v = nglm_arpa_vocab(a);
    int32_t sent[3] = {NGLM_UNK, (int32_t)nglm_vocab_size(v) - 1, NGLM_EOS};
    for (size_t i = 0; i < 3; i++)
        (void)nglm_arpa_logprob10(a, sent, i);
    for (int k = 1; k <= nglm_arpa_order(a); k++)
        (void)nglm_arpa_count(a, k);
    nglm_model m;
    if (nglm_vocab_size(v) <= 1u << 16 && nglm_arpa_to_model(a, &m, &err) == 0) {
        double *p = malloc(nglm_vocab_size(v) * sizeof *p);
        for (size_t i = 0; p && i < 3; i++)
            nglm_model_dist_dense(&m, sent, i, p);
        free(p);
        nglm_model_free(&m);
    }
    nglm_arpa_free(a);
    return 0;
}

#ifndef NGLM_FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return nglm_fuzz_arpa(data, size); }
#endif
