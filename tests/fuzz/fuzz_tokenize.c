/*
 * tests/fuzz/fuzz_tokenize.c — fuzzes nglm_tokenizer_split: the input bytes
 * are one in-memory line, split in all three modes (space, word, char), each
 * with and without lowercase and replace_invalid.  Every token returned must
 * be a NUL-terminated string and the array NULL-terminated.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nglm/tokenize.h"

/* The fuzz target proper (also called by tests/check_fuzz_regress.c). */
int nglm_fuzz_tokenize(const uint8_t *data, size_t size);

int nglm_fuzz_tokenize(const uint8_t *data, size_t size)
{
    static const nglm_tok_mode modes[] = {NGLM_TOK_SPACE, NGLM_TOK_WORD, NGLM_TOK_CHAR};
    for (size_t m = 0; m < 3; m++)
        for (int flags = 0; flags < 4; flags++) {
            nglm_tok_options opt = nglm_tok_options_default();
            opt.mode = modes[m];
            opt.lowercase = flags & 1;
            opt.replace_invalid = (flags >> 1) & 1;
            nglm_tokenizer *t = nglm_tokenizer_new(&opt);
            if (!t)
                abort();
            nglm_error err;
            char **tokens = NULL;
            int n = nglm_tokenizer_split(t, (const char *)data, size, &tokens, &err);
            if (n >= 0) {
                size_t total = 0;
                for (int i = 0; i < n; i++)
                    total += strlen(tokens[i]);
                if (tokens && tokens[n] != NULL)
                    abort();
                (void)total;
            } else if (opt.replace_invalid) {
                abort(); /* replace_invalid never fails on bytes */
            }
            nglm_tokenizer_close(t);
        }
    return 0;
}

#ifndef NGLM_FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return nglm_fuzz_tokenize(data, size); }
#endif
