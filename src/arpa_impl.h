/*
 * arpa_impl.h — the ARPA reader's trie (internal to libnglm), shared by the
 * reader (arpa.c) and the conversion into an nglm model (arpa_convert.c).
 *
 * The n-grams are a trie in one hash table: node ids are word ids for
 * 1-grams, and (node of w1..w(k-1), wk) → node of w1..wk above that
 * (u64map, keys packed as (node << 32 | word)).  Each node holds its log10
 * probability (NAN for a prefix that is not itself listed) and its log10
 * back-off weight (0 when absent).
 */
#ifndef NGLM_ARPA_IMPL_H
#define NGLM_ARPA_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "nglm/arpa.h"
#include "nglm/tokenize.h"
#include "nglm/vocab.h"
#include "u64map.h"

#define PACK(hi, lo) (((uint64_t)(uint32_t)(hi) << 32) | (uint32_t)(lo))

struct nglm_arpa {
    int order;
    uint64_t count[NGLM_ARPA_MAX_ORDER + 1];
    nglm_vocab *vocab;
    int32_t V;
    int has_unk;
    size_t n_node, cap_node;
    double *logp;   /* log10 probability; NAN: a prefix only, not listed */
    double *bow;    /* log10 back-off weight; 0 when absent */
    u64map child;   /* PACK(node, next word) → node */
    nglm_tok_options tok; /* from a "# ... tokenized as ..." header line */
    uint64_t *words; /* reading: word → id (arpa_word), freed once read */
    size_t words_mask;
};

#endif
