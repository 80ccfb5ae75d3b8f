/*
 * tests/fuzz/fuzz_model.c — fuzzes nglm_model_load: the input bytes are
 * written to a temporary file which is loaded as a native model file
 * (NGLMMODL, doc/model-format); a loaded model is queried once (the
 * distribution after <s>) and freed.  An input that has the fixed header has
 * its file_size and CRC fields set to match before it is written, so that
 * mutations reach the section parser instead of stopping at the checksum.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "nglm/model.h"
#include "nglm/modelfile.h"
#include "nglm/vocab.h"
#include "fuzz_file.h"

/* Header offsets of src/modelfile.c. */
#define FUZZ_MF_OFF_SIZE 24
#define FUZZ_MF_OFF_CRC 32
#define FUZZ_MF_HEADER 40

/* The fuzz target proper (also called by tests/check_fuzz_regress.c). */
int nglm_fuzz_model(const uint8_t *data, size_t size);

int nglm_fuzz_model(const uint8_t *data, size_t size)
{
    nglm_error err;
    nglm_model m;
    const char *path;
    if (size >= FUZZ_MF_HEADER) {
        unsigned char *buf = malloc(size);
        if (!buf)
            abort();
        memcpy(buf, data, size);
        uint64_t file_size = size;
        memcpy(buf + FUZZ_MF_OFF_SIZE, &file_size, 8);
        memset(buf + FUZZ_MF_OFF_CRC, 0, 4);
        uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), buf, (uInt)size);
        memcpy(buf + FUZZ_MF_OFF_CRC, &crc, 4);
        path = fuzz_file_write(buf, size);
        free(buf);
    } else {
        path = fuzz_file_write(data, size);
    }
    if (nglm_model_load(&m, path, &err) < 0)
        return 0;
    size_t V = nglm_vocab_size(m.vocab);
    double *p = malloc(V * sizeof *p);
    int32_t sent[1] = {NGLM_EOS}; /* unused at i = 0: the history is <s> */
    if (p && V <= 1u << 16) /* keep one query cheap */
        nglm_model_dist_dense(&m, sent, 0, p);
    free(p);
    nglm_model_free(&m);
    return 0;
}

#ifndef NGLM_FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return nglm_fuzz_model(data, size); }
#endif
