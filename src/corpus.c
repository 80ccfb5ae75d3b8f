/*
 * corpus.c — a text as a compact stream of word ids (see
 * include/nglm/corpus.h for the layout).
 *
 * The text is read sentence by sentence through the tokenizer and each
 * token is looked up at once, so only the id arrays are ever held in
 * memory, never the text.  Both arrays grow geometrically (doubling), which
 * keeps appends amortised O(1) for corpora whose size is unknown in advance
 * (stdin, compressed pipes).
 */
#include "nglm/corpus.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "fileio.h"

/* Capacities of the arrays of a corpus being built. */
typedef struct corpus_builder {
    nglm_corpus *c;
    size_t ids_cap, start_cap;
} corpus_builder;

static int corpus_begin(corpus_builder *b, nglm_corpus *c, nglm_error *err)
{
    memset(c, 0, sizeof *c);
    b->c = c;
    b->ids_cap = 1024;
    b->start_cap = 256;
    c->ids = malloc(b->ids_cap * sizeof *c->ids);
    c->start = malloc(b->start_cap * sizeof *c->start);
    if (!c->ids || !c->start) {
        nglm_corpus_free(c);
        return nglm_error_set(err, "corpus: out of memory");
    }
    c->start[0] = 0;
    return 0;
}

/* Appends one sentence: its tokens mapped to ids, then NGLM_EOS. */
static int corpus_add_sentence(corpus_builder *b, char *const *tok, size_t n,
                               const nglm_vocab *v, nglm_error *err)
{
    nglm_corpus *c = b->c;
    if (c->n_tokens + n + 1 > b->ids_cap) {
        size_t cap = b->ids_cap;
        while (cap < c->n_tokens + n + 1)
            cap *= 2;
        int32_t *p = realloc(c->ids, cap * sizeof *p);
        if (!p)
            return nglm_error_set(err, "corpus: out of memory (%zu ids)", cap);
        c->ids = p;
        b->ids_cap = cap;
    }
    if (c->n_sents + 2 > b->start_cap) {
        size_t cap = 2 * b->start_cap;
        size_t *p = realloc(c->start, cap * sizeof *p);
        if (!p)
            return nglm_error_set(err, "corpus: out of memory (%zu sentences)", cap);
        c->start = p;
        b->start_cap = cap;
    }
    for (size_t i = 0; i < n; i++) {
        const char *w = tok[i];
        /* Literal sentence markers are ignored (see corpus.h).  The test on
         * the first byte keeps the common case to one comparison. */
        if (w[0] == '<' && (strcmp(w, NGLM_BOS_STR) == 0 || strcmp(w, NGLM_EOS_STR) == 0))
            continue;
        int32_t id = nglm_vocab_find(v, w);
        if (id < 0) {
            id = NGLM_UNK;
            c->n_oov++;
        }
        c->ids[c->n_tokens++] = id;
        c->n_words++;
    }
    c->ids[c->n_tokens++] = NGLM_EOS;
    c->start[++c->n_sents] = c->n_tokens;
    return 0;
}

int nglm_corpus_read(nglm_corpus *c, const char *path, const nglm_tok_options *opt,
                     const nglm_vocab *v, nglm_error *err)
{
    return nglm_corpus_read_progress(c, path, opt, v, NULL, err);
}

int nglm_corpus_read_progress(nglm_corpus *c, const char *path, const nglm_tok_options *opt,
                              const nglm_vocab *v, const nglm_progress *p, nglm_error *err)
{
    memset(c, 0, sizeof *c);
    if (!nglm_vocab_is_final(v))
        return nglm_error_set(err, "corpus: the vocabulary is not finalized");
    nglm_tokenizer *t = nglm_tokenizer_open(path, opt, err);
    if (!t)
        return -1;
    corpus_builder b;
    if (corpus_begin(&b, c, err) < 0) {
        nglm_tokenizer_close(t);
        return -1;
    }
    char **tok;
    size_t n;
    int r;
    uint64_t total = p ? nglm_io_file_size(path) : 0;
    while ((r = nglm_tokenizer_next(t, &tok, &n, err)) > 0) {
        if (corpus_add_sentence(&b, tok, n, v, err) < 0) {
            nglm_error_prefix(err, "%s:%zu", path, nglm_tokenizer_line(t));
            r = -1;
            break;
        }
        if (p && (c->n_sents & 4095) == 0)
            nglm_progress_report(p, nglm_tokenizer_bytes(t), total);
    }
    if (r == 0)
        nglm_progress_report(p, nglm_tokenizer_bytes(t), total);
    nglm_tokenizer_close(t);
    if (r < 0) {
        nglm_corpus_free(c);
        return -1;
    }
    return 0;
}

int nglm_corpus_from_lines(nglm_corpus *c, const char *const *lines, size_t n_lines,
                           const nglm_vocab *v, nglm_error *err)
{
    memset(c, 0, sizeof *c);
    if (!nglm_vocab_is_final(v))
        return nglm_error_set(err, "corpus: the vocabulary is not finalized");
    nglm_tok_options opt = nglm_tok_options_default();
    nglm_tokenizer *t = nglm_tokenizer_new(&opt);
    if (!t)
        return nglm_error_set(err, "corpus: out of memory");
    corpus_builder b;
    if (corpus_begin(&b, c, err) < 0) {
        nglm_tokenizer_close(t);
        return -1;
    }
    for (size_t i = 0; i < n_lines; i++) {
        char **tok;
        int n = nglm_tokenizer_split(t, lines[i], strlen(lines[i]), &tok, err);
        if (n < 0 || (n > 0 && corpus_add_sentence(&b, tok, (size_t)n, v, err) < 0)) {
            nglm_error_prefix(err, "line %zu", i + 1);
            nglm_tokenizer_close(t);
            nglm_corpus_free(c);
            return -1;
        }
    }
    nglm_tokenizer_close(t);
    return 0;
}

void nglm_corpus_free(nglm_corpus *c)
{
    if (!c)
        return;
    if (c->map) {
        munmap(c->map, c->map_len);
    } else {
        free(c->ids);
        free(c->start);
    }
    for (size_t k = 0; k < c->n_parts; k++)
        nglm_corpus_free(&c->parts[k]);
    free(c->parts);
    memset(c, 0, sizeof *c);
}
