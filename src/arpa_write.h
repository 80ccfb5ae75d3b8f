/*
 * arpa_write.h — the one ARPA writer (internal to libnglm): a back-off
 * model laid out on a feature index, written fast.  Both the exact export
 * of a softmax model (arpa_write.c) and the Kneser-Ney estimate (kn.c) fill an
 * nglm_arpa_table and call nglm_arpa_table_save.
 *
 * Blocks of n-grams are formatted on several threads, each into its own
 * buffer, and written in order; numbers are printed in fixed point with a
 * given number of significant digits by integer arithmetic (no printf in
 * the loop).
 * A ".gz" path gets each block deflated on its thread as a gzip member of
 * its own: concatenated members are one valid gzip file (RFC 1952), which
 * gzip, zlib's gzread and KenLM read as one stream.
 */
#ifndef NGLM_ARPA_WRITE_H
#define NGLM_ARPA_WRITE_H

#include <stdint.h>
#include <stdio.h>

#include "nglm/error.h"
#include "nglm/features.h"
#include "nglm/tokenize.h"
#include "nglm/vocab.h"

typedef struct nglm_arpa_table {
    const nglm_features *F;   /* the n-grams: feature (c, w) is the line "c w" */
    const nglm_vocab *vocab;
    const double *logp;       /* (n_ngram_feat) log P(w | c); NAN: not listed */
    const double *ctx_bow;    /* (n_ctx) log back-off weight of each context */
    double to_log10;          /* logp · to_log10 is log10 (1, or 1 / ln 10
                               * for natural logs) */
    const int32_t *named;     /* (n_ngram_feat) the context named by the n-gram
                               * (nglm_features_named_contexts), or -1 */
    int top;                  /* highest order written (its lines have no back-off) */
    int digits;               /* significant digits of each number, 1..15 */
    int threads;              /* <= 0: 1 */
    char comment[200];        /* "", or a line written before \data\ as
                               * "# COMMENT" (ARPA readers pass over it) */
} nglm_arpa_table;

/* The comment that tells how the model's text is tokenized, when not the
 * default (nglm-eval reads it back: nglm_arpa_tok); "" for the default. */
void nglm_arpa_tok_comment(const nglm_tok_options *tok, char *buf, size_t n);

/* Writes t to path: "-" is stdout; otherwise a temporary file renamed over
 * path (fileio.h), gzip when path ends in ".gz". */
int nglm_arpa_table_save(const nglm_arpa_table *t, const char *path, nglm_error *err);

/* Writes t as plain text to an open stream. */
int nglm_arpa_table_write(const nglm_arpa_table *t, FILE *fp, nglm_error *err);

#endif
