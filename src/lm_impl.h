/*
 * lm_impl.h — what a kind of language model implements to be an nglm_lm
 * (nglm/lm.h); private to libnglm.
 *
 * A new kind of model is ONE file, src/lm_KIND.c, that fills a
 * struct nglm_lm_ops and a constructor, plus one row in the table of
 * formats in src/lm.c ({kind, sniff, open}) if it is opened from a file of
 * its own.  Everything else (reading texts, reports, sentences from
 * strings, mixtures, caches, the programs) is written once against these
 * ops.  src/lm_native.c is the model to copy: a few lines per op.
 *
 * A class-based model (Model M, nglm/classlm.h) plugs in the same way, as
 * src/lm_classlm.c: score_corpus10 calls its per-token log10 scorer of a
 * corpus (threads), scorer_logprob10 its one-token scorer over an id
 * history (a negative id cuts the history, as here), scorer_dist its dense
 * distribution; vocab and tok are the model's; one row {"classlm",
 * classlm_file_is_classlm, nglm_lm_classlm_open} in lm.c's formats opens
 * its files, and nglm-eval, nglm-sample, mixtures, caches and the Python
 * module take it with no change.
 *
 * What the constructor sets in struct nglm_lm: ops, impl (its own state),
 * vocab (the ids its ops take and give; owned by impl), tok, order, and
 * reach if more than order - 1 past words matter.  The
 * generic code sets path (nglm_lm_open) and frees it.
 */
#ifndef NGLM_LM_IMPL_H
#define NGLM_LM_IMPL_H

#include "nglm/lm.h"

typedef struct nglm_lm_ops {
    /* nglm_lm_kind's answer: "nglm", "arpa", "mixture", "cache", ... */
    const char *kind;

    /* Frees impl and whatever it owns (not the nglm_lm itself). */
    void (*free)(nglm_lm *lm);

    /* Required.  log10 P of every token of c into lp10[0 .. c->n_tokens):
     * c holds ids of lm->vocab (a word not in it is NGLM_UNK), sentence s
     * at c->ids[c->start[s] .. c->start[s+1]), its last token </s>, <s>
     * implied before each.  NAN: a token the model cannot score and skips
     * (counted as an OOV); -INFINITY: probability zero.  len, when not
     * NULL, gets for each token the length of the n-gram that fired (1:
     * the unigram; 0: none).  Use up to `threads` threads (0: OpenMP's
     * default) and report tokens scored to p (may be NULL) if the work is
     * long.  Must agree with scorer_logprob10 token by token (bit for bit
     * where the arithmetic is the same; tests/check_lm.c checks). */
    int (*score_corpus10)(const nglm_lm *lm, const nglm_corpus *c, double *lp10, int *len,
                          int threads, const nglm_progress *p, nglm_error *err);

    /* Optional (NULL: whole texts only, nglm_lm_scorer_new fails).  A
     * scorer's state for one thread, e.g. scratch arrays of |V|. */
    void *(*scorer_new)(const nglm_lm *lm, nglm_error *err);
    void (*scorer_free)(void *s);
    /* log10 P(sent[i] | history) as nglm_lm_scorer_logprob10 says: the
     * history is <s> sent[0..i-1], or only the ids after the last negative
     * one (no <s> then).  *len may be NULL. */
    double (*scorer_logprob10)(void *s, const int32_t *sent, size_t i, int *len);
    /* p[w] = P(w | history of position i) for w in 0 .. |V|-1, p[<s>] = 0;
     * sent[i] may be overwritten as scratch but must be restored. */
    void (*scorer_dist)(void *s, int32_t *sent, size_t i, double *p);

    /* Optional (NULL: never damaged): 0, or -1 and err when the model has
     * read a damaged block of its file (nglm_model_check). */
    int (*check)(const nglm_lm *lm, nglm_error *err);

    /* Optional: the cache recorded with the model (1 and *spec), or 0. */
    int (*recorded_cache)(const nglm_lm *lm, nglm_cache_spec *spec);

    /* Optional: read a text the kind's own way (a mixture reads it with
     * each component); NULL: nglm_corpus_read with lm->tok and lm->vocab,
     * a line a sentence.  lines != NULL: n lines in memory instead of
     * path. */
    int (*read)(const nglm_lm *lm, const char *path, const char *const *lines, size_t n,
                nglm_corpus *c, const nglm_progress *p, nglm_error *err);
} nglm_lm_ops;

struct nglm_lm {
    const nglm_lm_ops *ops;
    void *impl;               /* the kind's state */
    const nglm_vocab *vocab;  /* owned by impl */
    nglm_tok_options tok;
    int order;
    int reach;                /* past words that can matter (0: order - 1) */
    char *path;               /* as opened (malloc'd), or NULL */
};

/* A zeroed nglm_lm with ops set, or NULL (err filled). */
nglm_lm *nglm_lm_alloc(const nglm_lm_ops *ops, nglm_error *err);

/* The constructors of the kinds opened from files (the table in lm.c). */
nglm_lm *nglm_lm_native_open(const char *path, unsigned flags, nglm_error *err);
nglm_lm *nglm_lm_arpa_open(const char *path, unsigned flags, nglm_error *err);
nglm_lm *nglm_lm_classlm_open(const char *path, unsigned flags, nglm_error *err);
nglm_lm *nglm_lm_mix_open(const char *path, unsigned flags, nglm_error *err);
int nglm_lm_mix_file_is_manifest(const char *path);

/* The default reader (ops->read NULL): a line a sentence with lm->tok. */
int nglm_lm_read_plain(const nglm_lm *lm, const char *path, const char *const *lines,
                       size_t n, nglm_corpus *c, const nglm_progress *p, nglm_error *err);

#endif
