/*
 * vocab.c — the vocabulary: word ↔ id, with training counts (see
 * include/nglm/vocab.h for the contract and the file format).
 *
 * Words live in uthash entries keyed by the word itself (the string is
 * stored inline after the entry, so one allocation per word); id → word is a
 * plain array built by nglm_vocab_finalize.  Counting happens in the hash
 * only; finalisation sorts the entries (count descending, then strcmp) and
 * deletes the dropped ones from the hash, so that a lookup of a dropped word
 * fails and nglm_vocab_id maps it to <unk>.
 *
 * uthash is built with HASH_NONFATAL_OOM so that running out of memory is an
 * error we return, not an exit() inside a macro.
 */
#include "nglm/vocab.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#define HASH_NONFATAL_OOM 1
#define uthash_nonfatal_oom(e) ((e)->oom = 1)
#include <uthash.h>

#include "fileio.h"

typedef struct vocab_entry {
    UT_hash_handle hh;
    uint64_t count;
    int32_t id;        /* -1 until finalize for ordinary words */
    int oom;           /* set by uthash when adding failed */
    char word[];       /* NUL-terminated key */
} vocab_entry;

struct nglm_vocab {
    vocab_entry *table;  /* uthash head */
    vocab_entry **by_id; /* size entries after finalize */
    size_t size;
    int final;
};

static const char *const vocab_specials[NGLM_NUM_SPECIAL] = {
    NGLM_BOS_STR, NGLM_EOS_STR, NGLM_UNK_STR
};

/* Inserts a new entry for word (which must not be present). */
static vocab_entry *vocab_insert(nglm_vocab *v, const char *word, size_t len,
                                 nglm_error *err)
{
    vocab_entry *e = malloc(sizeof *e + len + 1);
    if (!e) {
        nglm_error_set(err, "vocabulary: out of memory");
        return NULL;
    }
    memcpy(e->word, word, len + 1);
    e->count = 0;
    e->id = -1;
    e->oom = 0;
    HASH_ADD_KEYPTR(hh, v->table, e->word, (unsigned)len, e);
    if (e->oom) {
        free(e);
        nglm_error_set(err, "vocabulary: out of memory");
        return NULL;
    }
    return e;
}

static vocab_entry *vocab_lookup(const nglm_vocab *v, const char *word)
{
    vocab_entry *e = NULL;
    HASH_FIND_STR(v->table, word, e);
    return e;
}

/* Why word cannot be a vocabulary entry, or NULL if it can. */
static const char *vocab_bad_word(const char *word)
{
    if (word[0] == '\0')
        return "empty word";
    if (strpbrk(word, "\t\n\r"))
        return "word contains a TAB or newline";
    return NULL;
}

nglm_vocab *nglm_vocab_new(void)
{
    nglm_vocab *v = calloc(1, sizeof *v);
    if (!v)
        return NULL;
    for (int i = 0; i < NGLM_NUM_SPECIAL; i++) {
        vocab_entry *e = vocab_insert(v, vocab_specials[i], strlen(vocab_specials[i]), NULL);
        if (!e) {
            nglm_vocab_free(v);
            return NULL;
        }
        e->id = i;
    }
    v->size = NGLM_NUM_SPECIAL;
    return v;
}

void nglm_vocab_free(nglm_vocab *v)
{
    if (!v)
        return;
    vocab_entry *e, *tmp;
    HASH_ITER(hh, v->table, e, tmp) {
        HASH_DEL(v->table, e);
        free(e);
    }
    free(v->by_id);
    free(v);
}

int nglm_vocab_add(nglm_vocab *v, const char *word, uint64_t n, nglm_error *err)
{
    if (v->final)
        return nglm_error_set(err, "vocabulary: cannot add '%s' after finalisation", word);
    vocab_entry *e = vocab_lookup(v, word);
    if (!e) {
        const char *why = vocab_bad_word(word);
        if (why)
            return nglm_error_set(err, "vocabulary: %s", why);
        e = vocab_insert(v, word, strlen(word), err);
        if (!e)
            return -1;
        v->size++;
    }
    if (e->count > UINT64_MAX - n)
        return nglm_error_set(err, "vocabulary: count of '%s' overflows", word);
    e->count += n;
    return 0;
}

/* Final order of ordinary words: count descending, then bytewise. */
static int vocab_cmp(const void *a, const void *b)
{
    const vocab_entry *x = *(const vocab_entry *const *)a;
    const vocab_entry *y = *(const vocab_entry *const *)b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp(x->word, y->word);
}

int nglm_vocab_finalize(nglm_vocab *v, uint64_t min_count, size_t max_vocab,
                        nglm_error *err)
{
    if (v->final)
        return nglm_error_set(err, "vocabulary: already finalised");
    if (max_vocab != 0 && max_vocab < NGLM_NUM_SPECIAL)
        return nglm_error_set(err, "vocabulary: max_vocab %zu is smaller than the %d special tokens",
                              max_vocab, NGLM_NUM_SPECIAL);
    size_t total = HASH_COUNT(v->table);
    vocab_entry **all = malloc(total * sizeof *all);
    if (!all)
        return nglm_error_set(err, "vocabulary: out of memory");
    vocab_entry *special[NGLM_NUM_SPECIAL];
    size_t n = 0;
    vocab_entry *e, *tmp;
    HASH_ITER(hh, v->table, e, tmp) {
        if (e->id >= 0 && e->id < NGLM_NUM_SPECIAL)
            special[e->id] = e;
        else
            all[n++] = e;
    }
    qsort(all, n, sizeof *all, vocab_cmp);

    /* Sorted by count, the words below min_count form a suffix. */
    size_t keep = n;
    while (keep > 0 && min_count > 1 && all[keep - 1]->count < min_count)
        keep--;
    if (max_vocab != 0 && keep > max_vocab - NGLM_NUM_SPECIAL)
        keep = max_vocab - NGLM_NUM_SPECIAL;

    vocab_entry **by_id = malloc((keep + NGLM_NUM_SPECIAL) * sizeof *by_id);
    if (!by_id) {
        free(all);
        return nglm_error_set(err, "vocabulary: out of memory");
    }
    for (int i = 0; i < NGLM_NUM_SPECIAL; i++)
        by_id[i] = special[i];
    for (size_t i = 0; i < keep; i++) {
        all[i]->id = (int32_t)(NGLM_NUM_SPECIAL + i);
        by_id[NGLM_NUM_SPECIAL + i] = all[i];
    }
    for (size_t i = keep; i < n; i++) {
        special[NGLM_UNK]->count += all[i]->count;
        HASH_DEL(v->table, all[i]);
        free(all[i]);
    }
    free(all);
    v->by_id = by_id;
    v->size = keep + NGLM_NUM_SPECIAL;
    v->final = 1;
    return 0;
}

static int count_file_seq(nglm_vocab *v, const char *path, const nglm_tok_options *opt,
                          uint64_t *sentences, const nglm_progress *p, uint64_t total,
                          nglm_error *err);

/* Counts one sentence's words; literal sentence markers in the text are
 * ignored (SRILM). */
static int add_words(nglm_vocab *v, char **tok, size_t n, nglm_error *err)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(tok[i], NGLM_BOS_STR) == 0 || strcmp(tok[i], NGLM_EOS_STR) == 0)
            continue;
        if (nglm_vocab_add(v, tok[i], 1, err) < 0)
            return -1;
    }
    return 0;
}

int nglm_vocab_count_file(nglm_vocab *v, const char *path, const nglm_tok_options *opt,
                          uint64_t *sentences, nglm_error *err)
{
    return count_file_seq(v, path, opt, sentences, NULL, 0, err);
}

/* The sequential count, reporting bytes of total to p. */
static int count_file_seq(nglm_vocab *v, const char *path, const nglm_tok_options *opt,
                          uint64_t *sentences, const nglm_progress *p, uint64_t total,
                          nglm_error *err)
{
    nglm_tokenizer *t = nglm_tokenizer_open(path, opt, err);
    if (!t)
        return -1;
    uint64_t n_sents = 0;
    char **tok;
    size_t n;
    int r;
    while ((r = nglm_tokenizer_next(t, &tok, &n, err)) > 0) {
        if (add_words(v, tok, n, err) < 0) {
            nglm_error_prefix(err, "%s:%zu", path, nglm_tokenizer_line(t));
            nglm_tokenizer_close(t);
            return -1;
        }
        n_sents++;
        if (p && (n_sents & 4095) == 0)
            nglm_progress_report(p, nglm_tokenizer_bytes(t), total);
    }
    if (r == 0)
        nglm_progress_report(p, nglm_tokenizer_bytes(t), total);
    nglm_tokenizer_close(t);
    if (r < 0)
        return -1;
    if (nglm_vocab_add(v, NGLM_EOS_STR, n_sents, err) < 0)
        return -1;
    if (sentences)
        *sentences = n_sents;
    return 0;
}

/* ------------------------------------------------------------ parallel count */

/* A block of whole lines of the file: text[0..len), its first line's number
 * and byte offset, and what counting it gave. */
typedef struct vocab_block {
    char *text;
    size_t len, cap;
    size_t first_line;
    size_t off;
    uint64_t sents;
    int failed;
    nglm_error err;
} vocab_block;

/* Counts the lines of block b into the open vocabulary v with tokenizer t. */
static void vocab_count_block(nglm_vocab *v, nglm_tokenizer *t, vocab_block *b,
                              const char *path)
{
    size_t pos = 0, line = b->first_line;
    while (pos < b->len) {
        const char *s = b->text + pos;
        const char *nl = memchr(s, '\n', b->len - pos);
        size_t len = nl ? (size_t)(nl - s) + 1 : b->len - pos;
        char **tok;
        int n = nglm_tokenizer_split_at(t, s, len, path, line, b->off + pos, &tok, &b->err);
        if (n < 0) {
            b->failed = 1;
            return;
        }
        if (add_words(v, tok, (size_t)n, &b->err) < 0) {
            nglm_error_prefix(&b->err, "%s:%zu", path, line);
            b->failed = 1;
            return;
        }
        b->sents += n > 0;
        pos += len;
        line++;
    }
}

/* Fills b with the next whole lines of fp (about `size` bytes, more if a
 * line is longer), starting with the partial line left in carry.  Returns
 * 0, or -1 on a read error. */
static int vocab_read_block(FILE *fp, vocab_block *b, size_t size, char **carry,
                            size_t *carry_len, size_t *carry_cap, int *eof)
{
    b->len = 0;
    if (b->cap < size + *carry_len) {
        char *p = realloc(b->text, size + *carry_len);
        if (!p)
            return -1;
        b->text = p;
        b->cap = size + *carry_len;
    }
    if (*carry_len > 0) /* carry is NULL until the first partial line */
        memcpy(b->text, *carry, *carry_len);
    b->len = *carry_len;
    *carry_len = 0;
    size_t scanned = 0;
    for (;;) {
        if (b->len == b->cap) {
            char *p = realloc(b->text, 2 * b->cap);
            if (!p)
                return -1;
            b->text = p;
            b->cap *= 2;
        }
        size_t got = *eof ? 0 : fread(b->text + b->len, 1, b->cap - b->len, fp);
        if (got == 0 && !*eof) {
            if (ferror(fp))
                return -1;
            *eof = 1;
        }
        b->len += got;
        if (*eof)
            return 0;
        /* the last newline so far; without one, read on */
        char *last = NULL;
        for (char *q = b->text + scanned; (q = memchr(q, '\n', b->text + b->len - q)); q++)
            last = q;
        scanned = b->len;
        if (last) {
            size_t keep = (size_t)(last - b->text) + 1, rest = b->len - keep;
            if (*carry_cap < rest) {
                char *p = realloc(*carry, rest);
                if (!p)
                    return -1;
                *carry = p;
                *carry_cap = rest;
            }
            if (rest > 0)
                memcpy(*carry, b->text + keep, rest);
            *carry_len = rest;
            b->len = keep;
            return 0;
        }
    }
}

/* Adds every count of the open vocabulary from into v. */
static int vocab_merge(nglm_vocab *v, const nglm_vocab *from, nglm_error *err)
{
    vocab_entry *e, *tmp;
    HASH_ITER(hh, from->table, e, tmp) {
        if (e->count > 0 && nglm_vocab_add(v, e->word, e->count, err) < 0)
            return -1;
    }
    return 0;
}

int nglm_vocab_count_file_threads(nglm_vocab *v, const char *path,
                                  const nglm_tok_options *opt, int threads,
                                  const nglm_progress *p, uint64_t *sentences,
                                  nglm_error *err)
{
    if (nglm_io_refuse_gzip(path, err) != 0)
        return -1;
    uint64_t total = nglm_io_file_size(path);
    if (threads <= 1 || total == 0)
        return count_file_seq(v, path, opt, sentences, p, total, err);
    FILE *fp = fopen(path, "rb");
    struct stat st;
    if (!fp || fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fp)
            fclose(fp);
        return count_file_seq(v, path, opt, sentences, p, 0, err);
    }
    /* blocks: a few per thread and batch, between 64 KiB and 16 MiB */
    size_t size = (size_t)st.st_size / ((size_t)threads * 8);
    size = size < ((size_t)1 << 16) ? (size_t)1 << 16 : size > ((size_t)1 << 24) ? (size_t)1 << 24 : size;
    const int T = threads;
    vocab_block *blk = calloc((size_t)T, sizeof *blk);
    nglm_vocab **local = calloc((size_t)T, sizeof *local);
    nglm_tokenizer **tk = calloc((size_t)T, sizeof *tk);
    char *carry = NULL;
    size_t carry_len = 0, carry_cap = 0, line = 0, off = 0;
    uint64_t n_sents = 0;
    int eof = 0, rc = -1;
    if (!blk || !local || !tk) {
        nglm_error_set(err, "vocabulary: out of memory");
        goto out;
    }
    for (int i = 0; i < T; i++) {
        local[i] = nglm_vocab_new();
        tk[i] = nglm_tokenizer_new(opt);
        if (!local[i] || !tk[i]) {
            nglm_error_set(err, tk[i] ? "vocabulary: out of memory" : "tokenizer: bad options");
            goto out;
        }
    }
    while (!eof) {
        /* read up to T blocks (sequential), then count them (parallel) */
        int n = 0;
        while (n < T && !eof) {
            vocab_block *b = &blk[n];
            if (vocab_read_block(fp, b, size, &carry, &carry_len, &carry_cap, &eof) != 0) {
                nglm_error_errno(err, ferror(fp) ? (errno ? errno : EIO) : ENOMEM,
                                 "%s:%zu: read error", path, line + 1);
                goto out;
            }
            if (b->len == 0)
                break;
            b->first_line = line + 1;
            b->off = off;
            b->sents = 0;
            b->failed = 0;
            for (const char *q = b->text; (q = memchr(q, '\n', b->text + b->len - q)); q++)
                line++;
            if (b->text[b->len - 1] != '\n')
                line++;
            off += b->len;
            n++;
        }
#pragma omp parallel for schedule(dynamic, 1) num_threads(T)
        for (int i = 0; i < n; i++) {
            int tid = 0;
#ifdef _OPENMP
            tid = omp_get_thread_num();
#endif
            vocab_count_block(local[tid], tk[tid], &blk[i], path);
        }
        for (int i = 0; i < n; i++) {
            if (blk[i].failed) { /* the first error in file order */
                *err = blk[i].err;
                goto out;
            }
            n_sents += blk[i].sents;
        }
        nglm_progress_report(p, off, (uint64_t)st.st_size);
    }
    for (int i = 0; i < T; i++)
        if (vocab_merge(v, local[i], err) != 0)
            goto out;
    if (nglm_vocab_add(v, NGLM_EOS_STR, n_sents, err) < 0)
        goto out;
    if (sentences)
        *sentences = n_sents;
    rc = 0;
out:
    fclose(fp);
    for (int i = 0; i < T && blk; i++)
        free(blk[i].text);
    for (int i = 0; i < T && local; i++)
        nglm_vocab_free(local[i]);
    for (int i = 0; i < T && tk; i++)
        nglm_tokenizer_close(tk[i]);
    free(blk);
    free(local);
    free(tk);
    free(carry);
    return rc;
}

size_t nglm_vocab_size(const nglm_vocab *v) { return v->size; }

int nglm_vocab_is_final(const nglm_vocab *v) { return v->final; }

int32_t nglm_vocab_find(const nglm_vocab *v, const char *word)
{
    const vocab_entry *e = vocab_lookup(v, word);
    return e ? e->id : -1;
}

int32_t nglm_vocab_id(const nglm_vocab *v, const char *word)
{
    const vocab_entry *e = vocab_lookup(v, word);
    return e && e->id >= 0 ? e->id : NGLM_UNK;
}

const char *nglm_vocab_word(const nglm_vocab *v, int32_t id)
{
    if (id < 0 || (size_t)id >= v->size)
        return NULL;
    if (v->by_id)
        return v->by_id[id]->word;
    return id < NGLM_NUM_SPECIAL ? vocab_specials[id] : NULL;
}

uint64_t nglm_vocab_count(const nglm_vocab *v, int32_t id)
{
    if (id < 0 || (size_t)id >= v->size)
        return 0;
    if (v->by_id)
        return v->by_id[id]->count;
    if (id < NGLM_NUM_SPECIAL)
        return vocab_lookup(v, vocab_specials[id])->count;
    return 0;
}

/* ------------------------------------------------------------------ file I/O */

int nglm_vocab_save(const nglm_vocab *v, const char *path, nglm_error *err)
{
    if (!v->final)
        return nglm_error_set(err, "%s: cannot save a vocabulary that is not finalised", path);
    nglm_atomic at; /* a failed write leaves an existing file as it was */
    if (nglm_atomic_open(&at, path, err) != 0)
        return -1;
    for (size_t i = 0; i < v->size; i++)
        if (fprintf(at.fp, "%s\t%" PRIu64 "\n", v->by_id[i]->word, v->by_id[i]->count) < 0)
            return nglm_atomic_fail(&at, errno, err);
    return nglm_atomic_commit(&at, err);
}

/* Parses a decimal count (digits only, no sign, no overflow). */
static int vocab_parse_count(const char *s, uint64_t *out)
{
    if (*s == '\0')
        return -1;
    uint64_t x = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        unsigned d = (unsigned)(*s - '0');
        if (x > (UINT64_MAX - d) / 10)
            return -1;
        x = x * 10 + d;
    }
    *out = x;
    return 0;
}

/* Grows the id → word array of a vocabulary being loaded. */
static int vocab_push(nglm_vocab *v, vocab_entry *e, size_t *cap)
{
    if (v->size == *cap) {
        size_t c = *cap ? 2 * *cap : 1024;
        vocab_entry **p = realloc(v->by_id, c * sizeof *p);
        if (!p)
            return -1;
        v->by_id = p;
        *cap = c;
    }
    v->by_id[v->size++] = e;
    return 0;
}

/* Appends word (with its count) as the next id of a vocabulary being
 * loaded; path and lineno name the line for messages. */
static int vocab_load_add(nglm_vocab *v, const char *word, uint64_t count, size_t *by_id_cap,
                          const char *path, size_t lineno, nglm_error *err)
{
    if (v->size >= INT32_MAX)
        return nglm_error_set(err, "%s:%zu: too many words", path, lineno);
    vocab_entry *e = vocab_insert(v, word, strlen(word), err);
    if (!e) {
        nglm_error_prefix(err, "%s:%zu", path, lineno);
        return -1;
    }
    e->id = (int32_t)v->size;
    e->count = count;
    if (vocab_push(v, e, by_id_cap) < 0)
        return nglm_error_set(err, "%s:%zu: out of memory", path, lineno);
    return 0;
}

/* One line of nglm's own format, "word<TAB>count", the specials first. */
static int vocab_load_counted(nglm_vocab *v, char *line, size_t *by_id_cap, const char *path,
                              size_t lineno, nglm_error *err)
{
    char *tab = strrchr(line, '\t');
    if (!tab)
        return nglm_error_set(err, "%s:%zu: missing TAB between word and count (a file "
                                   "whose first line has no TAB is read as a word list)",
                              path, lineno);
    *tab = '\0';
    const char *word = line, *count_str = tab + 1;
    uint64_t count;
    if (vocab_parse_count(count_str, &count) < 0)
        return nglm_error_set(err, "%s:%zu: bad count '%s' (expected a decimal integer)",
                              path, lineno, count_str);
    const char *why = vocab_bad_word(word);
    if (why)
        return nglm_error_set(err, "%s:%zu: %s", path, lineno, why);
    if (v->size < NGLM_NUM_SPECIAL && strcmp(word, vocab_specials[v->size]) != 0)
        return nglm_error_set(err, "%s:%zu: expected the special token %s on line %zu, "
                                   "found '%s'", path, lineno, vocab_specials[v->size],
                              v->size + 1, word);
    vocab_entry *e = vocab_lookup(v, word);
    if (e)
        return nglm_error_set(err, "%s:%zu: duplicate word '%s' (first on line %" PRId32 ")",
                              path, lineno, word, e->id + 1);
    return vocab_load_add(v, word, count, by_id_cap, path, lineno, err);
}

/* One line of a word list (SRILM's -vocab format): a word, maybe with
 * spaces around it; blank lines, the specials (already in) and repeats are
 * passed over. */
static int vocab_load_listed(nglm_vocab *v, char *line, size_t *by_id_cap, const char *path,
                             size_t lineno, nglm_error *err)
{
    char *word = line + strspn(line, " \t");
    size_t len = strlen(word);
    while (len > 0 && (word[len - 1] == ' ' || word[len - 1] == '\t'))
        word[--len] = '\0';
    if (len == 0 || vocab_lookup(v, word))
        return 0;
    if (strpbrk(word, " \t"))
        return nglm_error_set(err, "%s:%zu: more than one word on a line of a word list",
                              path, lineno);
    const char *why = vocab_bad_word(word);
    if (why)
        return nglm_error_set(err, "%s:%zu: %s", path, lineno, why);
    return vocab_load_add(v, word, 0, by_id_cap, path, lineno, err);
}

nglm_vocab *nglm_vocab_load(const char *path, nglm_error *err)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        nglm_error_errno(err, errno, "%s", path);
        return NULL;
    }
    nglm_vocab *v = calloc(1, sizeof *v);
    if (!v) {
        fclose(fp);
        nglm_error_set(err, "%s: out of memory", path);
        return NULL;
    }
    char *line = NULL;
    size_t cap = 0, by_id_cap = 0, lineno = 0;
    int listed = -1; /* the format, from the first line: 1 a word list, 0 counted */
    ssize_t got;
    while ((got = getline(&line, &cap, fp)) >= 0) {
        lineno++;
        size_t len = (size_t)got;
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        if (len > 0 && line[len - 1] == '\r')
            line[--len] = '\0';
        if (strlen(line) != len) {
            nglm_error_set(err, "%s:%zu: NUL byte in line", path, lineno);
            goto fail;
        }
        if (listed < 0) {
            listed = strchr(line, '\t') == NULL;
            for (int i = 0; listed && i < NGLM_NUM_SPECIAL; i++)
                if (vocab_load_add(v, vocab_specials[i], 0, &by_id_cap, path, lineno, err) != 0)
                    goto fail;
        }
        if ((listed ? vocab_load_listed : vocab_load_counted)(v, line, &by_id_cap, path, lineno,
                                                              err) != 0)
            goto fail;
    }
    if (ferror(fp)) {
        nglm_error_errno(err, errno, "%s: read error", path);
        goto fail;
    }
    if (v->size < NGLM_NUM_SPECIAL) {
        nglm_error_set(err, "%s: the special tokens <s>, </s>, <unk> are missing "
                       "(the file has %zu entries)", path, v->size);
        goto fail;
    }
    free(line);
    fclose(fp);
    v->final = 1;
    return v;

fail:
    free(line);
    fclose(fp);
    nglm_vocab_free(v);
    return NULL;
}

/* ------------------------------------------------------------ from memory */

nglm_vocab *nglm_vocab_from_list(const char *const *words, const uint64_t *counts,
                                 size_t n, nglm_error *err)
{
    if (n < NGLM_NUM_SPECIAL) {
        nglm_error_set(err, "vocabulary: %zu words, fewer than the %d special tokens",
                       n, NGLM_NUM_SPECIAL);
        return NULL;
    }
    if (n > INT32_MAX) {
        nglm_error_set(err, "vocabulary: too many words (%zu)", n);
        return NULL;
    }
    nglm_vocab *v = calloc(1, sizeof *v);
    if (v)
        v->by_id = malloc(n * sizeof *v->by_id);
    if (!v || !v->by_id) {
        free(v);
        nglm_error_set(err, "vocabulary: out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        const char *word = words[i];
        const char *why = vocab_bad_word(word);
        if (why) {
            nglm_error_set(err, "vocabulary: word %zu: %s", i, why);
            goto fail;
        }
        if (i < NGLM_NUM_SPECIAL && strcmp(word, vocab_specials[i]) != 0) {
            nglm_error_set(err, "vocabulary: word %zu must be %s, found '%s'", i,
                           vocab_specials[i], word);
            goto fail;
        }
        vocab_entry *e = vocab_lookup(v, word);
        if (e) {
            nglm_error_set(err, "vocabulary: duplicate word '%s' (ids %" PRId32 " and %zu)",
                           word, e->id, i);
            goto fail;
        }
        e = vocab_insert(v, word, strlen(word), err);
        if (!e)
            goto fail;
        e->id = (int32_t)i;
        e->count = counts ? counts[i] : 0;
        v->by_id[v->size++] = e;
    }
    v->final = 1;
    return v;

fail:
    nglm_vocab_free(v);
    return NULL;
}
