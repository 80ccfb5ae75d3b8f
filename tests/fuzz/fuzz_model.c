/*
 * tests/fuzz/fuzz_model.c — fuzzes nglm_model_load and nglm_model_map: the
 * input bytes are written to a temporary file which is loaded as a native
 * model file (NGLMMODL, doc/model-format); a loaded model is queried once
 * (the distribution after <s>) and freed.  The same file is then mapped
 * without NGLM_MAP_VERIFY, which checks no CRC and not the whole index, and
 * a mapped model scores a sentence of its own words (nglm_model_score_corpus,
 * the dense distribution and the n-gram length at every position): a damaged
 * file it accepts may give wrong numbers but must not read outside the
 * mapping or the model's arrays.  An input that has the fixed header has
 * its file_size and CRC fields set to match before it is written, so that
 * mutations reach the section parser instead of stopping at the checksum.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "nglm/corpus.h"
#include "nglm/model.h"
#include "nglm/modelfile.h"
#include "nglm/vocab.h"
#include "fuzz_file.h"

/* Header offsets of src/modelfile.c. */
#define FUZZ_MF_OFF_SIZE 24
#define FUZZ_MF_OFF_CRC 32
#define FUZZ_MF_HEADER 40

/* A sentence of the model's first words (some twice, then an OOV), scored
 * every way: the cheap lookups that a mapped model's checks must make safe. */
static void fuzz_score_mapped(const nglm_model *m)
{
    size_t V = nglm_vocab_size(m->vocab);
    if (V > 1u << 16) /* keep one query cheap */
        return;
    char line[512] = "";
    for (size_t i = 0; i < 8; i++) {
        const char *w = nglm_vocab_word(m->vocab, (int32_t)(3 + (i * 5) % (V - 3 ? V - 3 : 1)));
        if (V > 3 && strlen(line) + strlen(w) + 2 < sizeof line - 16) {
            strcat(line, w);
            strcat(line, " ");
        }
    }
    strcat(line, "fuzz-oov-word");
    const char *lines[] = {line, ""};
    nglm_error err;
    nglm_corpus c;
    if (nglm_corpus_from_lines(&c, lines, 2, m->vocab, &err) != 0)
        return; /* a word that does not survive the tokenizer */
    double *lp = malloc(c.n_tokens * sizeof *lp), *p = malloc(V * sizeof *p);
    if (lp && p) {
        nglm_model_score_corpus(m, &c, lp, 1, &err);
        size_t len;
        const int32_t *sent = nglm_corpus_sentence(&c, 0, &len);
        for (size_t i = 0; i < len; i++) {
            nglm_model_dist_dense(m, sent, i, p);
            (void)nglm_model_ngram_length(m, sent, i);
        }
    }
    free(lp);
    free(p);
    nglm_corpus_free(&c);
}

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
    if (nglm_model_load(&m, path, &err) == 0) {
        size_t V = nglm_vocab_size(m.vocab);
        double *p = malloc(V * sizeof *p);
        int32_t sent[1] = {NGLM_EOS}; /* unused at i = 0: the history is <s> */
        if (p && V <= 1u << 16) /* keep one query cheap */
            nglm_model_dist_dense(&m, sent, 0, p);
        free(p);
        nglm_model_free(&m);
    }
    if (nglm_model_map(&m, path, 0, &err) == 0) {
        fuzz_score_mapped(&m);
        nglm_model_free(&m);
    }
    return 0;
}

#ifndef NGLM_FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return nglm_fuzz_model(data, size); }
#endif
