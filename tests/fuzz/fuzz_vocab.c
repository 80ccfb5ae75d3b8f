/*
 * tests/fuzz/fuzz_vocab.c — fuzzes nglm_vocab_load: the input bytes are
 * written to a temporary file which is loaded as a vocabulary file; a loaded
 * vocabulary is walked (every id's word and count, and a lookup of each word)
 * and freed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nglm/vocab.h"
#include "fuzz_file.h"

/* The fuzz target proper (also called by tests/check_fuzz_regress.c). */
int nglm_fuzz_vocab(const uint8_t *data, size_t size);

int nglm_fuzz_vocab(const uint8_t *data, size_t size)
{
    nglm_error err;
    nglm_vocab *v = nglm_vocab_load(fuzz_file_write(data, size), &err);
    if (!v)
        return 0;
    size_t n = nglm_vocab_size(v);
    for (size_t i = 0; i < n; i++) {
        const char *w = nglm_vocab_word(v, (int32_t)i);
        if (!w)
            abort();
        (void)nglm_vocab_count(v, (int32_t)i);
        (void)nglm_vocab_find(v, w);
    }
    nglm_vocab_free(v);
    return 0;
}

#ifndef NGLM_FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return nglm_fuzz_vocab(data, size); }
#endif
