/*
 * nglm/nglm.h — libnglm's public API, all of it: what a C program needs to
 * train a model, open one (of any kind nglm reads), score sentences and
 * texts with it, sample from it, mix models, convert between nglm model
 * files and ARPA files, and cluster words into classes.
 *
 *   cc prog.c $(pkg-config --cflags --libs nglm)
 *
 * Errors: every function that can fail returns 0 (or a pointer) on success
 * and -1 (or NULL) on failure, and fills a caller-owned nglm_error with one
 * human-readable line.  The library never prints (except where a caller
 * gives it a stream) and never exits.
 *
 * Options: a function that takes options takes a pointer to an options
 * struct, and NULL means the defaults.  A struct to fill starts from its
 * _default() function, so that fields added later keep their defaults.
 *
 * Units: every probability is log10 (as ARPA files and SRILM's and KenLM's
 * reports are); NAN marks a token the model skips (an OOV of an ARPA file
 * without <unk>), -INFINITY a probability of zero.
 *
 * Thread safety: an nglm_lm is read-only once opened (several threads may
 * score with it); a scorer, a sampler and a pipeline belong to one thread.
 *
 * The library's internals (the vocabulary's counting, the feature index,
 * the trainer, the Kneser-Ney estimator, ...) are not exported; the
 * programs (nglm-train, nglm-eval, ...) link them statically.  The maths is
 * doc/model.md, the model file format doc/model-format.md.
 */
#ifndef NGLM_NGLM_H
#define NGLM_NGLM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ================================================================ errors */

#define NGLM_ERROR_MAX 1024

/* One line saying what failed (no trailing newline). */
typedef struct nglm_error {
    char msg[NGLM_ERROR_MAX];
} nglm_error;

/* Formats a message into err (if err is not NULL).  Always returns -1, so a
 * failing function can end with `return nglm_error_set(err, ...);`. */
int nglm_error_set(nglm_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Like nglm_error_set, with strerror(errno_value) appended as ": reason". */
int nglm_error_errno(nglm_error *err, int errno_value, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes an existing message with "prefix: " (for adding context). */
int nglm_error_prefix(nglm_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ================================================================ progress */

/* How long calls (reading a text, scoring it) tell their caller how far
 * they are: fn(done, total, user), done of total units so far (bytes of a
 * text, tokens; total 0 when unknown, e.g. reading a pipe).  Called often,
 * from the calling thread only, so it should rate-limit what it prints. */
typedef struct nglm_progress {
    void (*fn)(uint64_t done, uint64_t total, void *user);
    void *user;
} nglm_progress;

/* Calls p->fn if there is one (p may be NULL). */
static inline void nglm_progress_report(const nglm_progress *p, uint64_t done, uint64_t total)
{
    if (p && p->fn)
        p->fn(done, total, p->user);
}

/* ================================================================ vocabulary
 *
 * A model's words and their ids.  Three special tokens have fixed ids;
 * the ordinary words have 3 .. size−1.  A literal "<unk>" in a text is the
 * <unk> token; words a model does not know are scored as <unk>. */

enum {
    NGLM_BOS = 0, /* <s>   */
    NGLM_EOS = 1, /* </s>  */
    NGLM_UNK = 2, /* <unk> */
    NGLM_NUM_SPECIAL = 3
};

#define NGLM_BOS_STR "<s>"
#define NGLM_EOS_STR "</s>"
#define NGLM_UNK_STR "<unk>"

typedef struct nglm_vocab nglm_vocab;

/* Number of ids (the specials included). */
size_t nglm_vocab_size(const nglm_vocab *v);

/* Id of word, or -1 if it is not in the vocabulary. */
int32_t nglm_vocab_find(const nglm_vocab *v, const char *word);

/* Id of word, or NGLM_UNK if it is not in the vocabulary. */
int32_t nglm_vocab_id(const nglm_vocab *v, const char *word);

/* The word of an id; NULL for an id out of range. */
const char *nglm_vocab_word(const nglm_vocab *v, int32_t id);

/* ================================================================ models
 *
 * One interface for "a language model", whatever its kind: an nglm model
 * file (mapped), an ARPA file (plain or gzip), a mixture of models (saved
 * as a manifest file), Model M.  A model reads text with its own tokenizer
 * and vocabulary: a line is a sentence, whose words and closing </s> are
 * predicted (after <s>), as SRILM's and KenLM's tools do. */

typedef struct nglm_lm nglm_lm;

/* nglm_lm_open flags: check an nglm model's checksum and whole index now;
 * by default only what the lookups touch is checked. */
#define NGLM_LM_VERIFY 1u

/* Opens the model at path, told apart by content: an nglm model file (of
 * the word model or Model M), a mixture manifest (nglm_lm_mix_save), an
 * ARPA file (plain or gzip).  A directory, a FIFO or device, an empty
 * file, a KenLM binary file, a truncated gzip file are refused in one line
 * naming the path.  NULL and err filled on failure. */
nglm_lm *nglm_lm_open(const char *path, unsigned flags, nglm_error *err);

/* Frees lm (NULL is harmless). */
void nglm_lm_free(nglm_lm *lm);

/* "nglm", "arpa", "classlm", "mixture", "cache". */
const char *nglm_lm_kind(const nglm_lm *lm);

/* The path it was opened from, or NULL. */
const char *nglm_lm_path(const nglm_lm *lm);

/* The vocabulary its ids run over (a mixture: its first component's). */
const nglm_vocab *nglm_lm_vocab(const nglm_lm *lm);

/* Its order: the longest history it uses plus one (a mixture: the largest
 * of its components'). */
int nglm_lm_order(const nglm_lm *lm);

/* 0, or -1 and "PATH: bytes A..B (block N of 64 KiB) are damaged: ..." when
 * a mapped model (or a component of a mixture) has found a block of its
 * file whose checksum does not match.  The whole-sentence and whole-text
 * calls below check it themselves; after the token scorer (which gives NAN
 * then) or sampling, call it. */
int nglm_lm_check(const nglm_lm *lm, nglm_error *err);

/* ---------------------------------------------------------------- sentences */

/* log10 P of one sentence given as a string (split by lm's tokenizer; its
 * words and </s>, after <s>) into *logprob10; *oovs (may be NULL): its
 * words scored as <unk> or skipped.  Skipped tokens add nothing. */
int nglm_lm_score_sentence(const nglm_lm *lm, const char *sentence, double *logprob10,
                           int *oovs, nglm_error *err);

/* The score of one token of a sentence (KenLM's full_scores). */
typedef struct nglm_word_score {
    int32_t id;          /* the token's id in nglm_lm_vocab (NGLM_UNK for a
                          * word it does not know, NGLM_EOS for </s>) */
    double logprob10;    /* log10 P(token | history); NAN: skipped */
    int ngram_length;    /* the length of the n-gram that fired (0: none) */
    int oov;             /* 1: a word the model does not know (scored as <unk>,
                          * or skipped) */
} nglm_word_score;

/* The same sentence token by token: *scores gets a malloc'd array (free()
 * it) of *n entries, one per word and the last for </s>; their logprob10
 * sum (NANs left out) to nglm_lm_score_sentence's. */
int nglm_lm_score_words(const nglm_lm *lm, const char *sentence, nglm_word_score **scores,
                        size_t *n, nglm_error *err);

/* ---------------------------------------------------------------- token by token */

/* A one-thread scorer for single tokens, as KenLM's state-based API needs.
 * Whole-text models (a cache) have none: NULL and err filled. */
typedef struct nglm_lm_scorer nglm_lm_scorer;

/* A scorer of lm, which must outlive it. */
nglm_lm_scorer *nglm_lm_scorer_new(const nglm_lm *lm, nglm_error *err);

/* log10 P(sent[i] | history): <s> sent[0..i-1], or the words after the
 * last negative id (the history before it unknown: KenLM's null context,
 * no <s>).  sent[i] a word id 1 .. V-1 of nglm_lm_vocab.  *len (may be
 * NULL): the length of the n-gram that fired.  NAN: a token lm skips. */
double nglm_lm_scorer_logprob10(nglm_lm_scorer *s, const int32_t *sent, size_t i, int *len);

/* Frees a scorer (NULL is harmless). */
void nglm_lm_scorer_free(nglm_lm_scorer *s);

/* ---------------------------------------------------------------- texts
 *
 * The perplexity of a text, reported as SRILM's `ngram -ppl` does
 * (doc/model.md §4): every word and every sentence's </s> is predicted;
 * words not in the vocabulary are scored as <unk> and counted as OOVs (an
 * ARPA model without <unk> skips them); ppl divides logprob10 by words +
 * sentences, ppl1 by words only. */

typedef struct nglm_eval_report {
    uint64_t sentences, words, oovs, zeroprobs;
    double logprob10;       /* Σ log10 P over words and </s> */
    double ppl, ppl1;
    int oovs_skipped;       /* 1: OOVs were not scored (an ARPA model without <unk>) */
    uint64_t scored;        /* tokens whose log10 P is in logprob10 */
    uint64_t unk_scored;    /* of those, the tokens scored as <unk> */
    double unk_logprob10;   /* their part of logprob10 */
    double *sent_logprob10; /* per sentence, if asked for (else NULL) */
} nglm_eval_report;

typedef struct nglm_eval_options {
    int threads;                   /* 0: OpenMP's default */
    int per_sentence;              /* also fill the report's sent_logprob10 */
    const nglm_progress *progress; /* NULL, or told the bytes read */
} nglm_eval_options;

/* Threads 0, no per-sentence scores, no progress. */
nglm_eval_options nglm_eval_options_default(void);

/* Reads the text at path ("-": stdin; not for a mixture) as lm reads it
 * (a line a sentence) and fills *r (nglm_eval_report_free it).  opt may be
 * NULL.  The model alone is scored: a cache recorded with it (nglm-train
 * --eval-cache) is not applied. */
int nglm_lm_eval_file(const nglm_lm *lm, const char *path, const nglm_eval_options *opt,
                      nglm_eval_report *r, nglm_error *err);

/* Writes the SRILM-style lines of r for the text called name:
 *
 *   file test.txt: 3761 sentences, 78669 words, 12 OOVs, scored as <unk>
 *   0 zeroprobs, logprob= -177210.5 ppl= 141.2 ppl1= 178.9
 *
 * and, when some token was scored as <unk>, the same excluding those. */
void nglm_eval_print(FILE *fp, const char *name, const nglm_eval_report *r);

/* Frees what a report holds (sent_logprob10), not the struct. */
void nglm_eval_report_free(nglm_eval_report *r);

/* ---------------------------------------------------------------- mixtures
 *
 * P(w | h) = Σ_k λ_k P_k(w | h), the weights λ_k >= 0 summing to 1 (within
 * 1e-6).  A component may itself be a mixture. */

/* Most components of one mixture. */
#define NGLM_LM_MIX_MAX 64

/* A mixture of n >= 1 models; weights NULL: equal.  Takes ownership of the
 * components, also on failure.  The same file twice is refused. */
nglm_lm *nglm_lm_mix_new(nglm_lm **components, const double *weights, size_t n,
                         nglm_error *err);

/* Its number of components (0: lm is not a mixture), component k, its
 * weights (n entries); new weights (checked as above). */
size_t nglm_lm_mix_size(const nglm_lm *lm);
const nglm_lm *nglm_lm_mix_component(const nglm_lm *lm, size_t k);
const double *nglm_lm_mix_weights(const nglm_lm *lm);
int nglm_lm_mix_set_weights(nglm_lm *lm, const double *weights, nglm_error *err);

/* Sets the weights that maximise the likelihood of the held-out text at
 * path, found by EM from the current ones (SRILM's compute-best-mix);
 * *iterations (may be NULL): EM updates made.  opt (threads, progress) may
 * be NULL. */
int nglm_lm_mix_em_file(nglm_lm *lm, const char *path, const nglm_eval_options *opt,
                        int *iterations, nglm_error *err);

/* Writes the mixture as a manifest file, which nglm_lm_open opens again:
 * a line per component with its weight, its file's size and CRC-32 (so a
 * moved or changed component is refused) and its path relative to the
 * manifest's directory.  Every component must have been opened from a
 * file. */
int nglm_lm_mix_save(const nglm_lm *lm, const char *path, nglm_error *err);

/* ================================================================ sampling
 *
 * Sentences drawn from the exact distribution P(· | h) of a model (not a
 * cache), sharpened or flattened by a temperature T: P_T ∝ P^(1/T).  A
 * sentence ends at </s> (not returned) or after max_length words; <s> is
 * never drawn, <unk> may be.  A seed gives the same sentences on every
 * platform (nglm's own generator; no global state). */

#define NGLM_SAMPLE_MAX_LENGTH 200

typedef struct nglm_sample_options {
    double temperature;  /* finite, > 0; 1: the model itself */
    size_t max_length;   /* >= 1 */
    uint64_t seed;
} nglm_sample_options;

/* Temperature 1, max_length NGLM_SAMPLE_MAX_LENGTH, seed 1. */
nglm_sample_options nglm_sample_options_default(void);

typedef struct nglm_sampler nglm_sampler;

/* A sampler over lm's vocabulary; lm must outlive it.  opt may be NULL. */
nglm_sampler *nglm_sampler_new(const nglm_lm *lm, const nglm_sample_options *opt,
                               nglm_error *err);

/* Draws one sentence: *words points to its *n_words ids (</s> not
 * included; nglm_vocab_word names them), valid until the next call. */
void nglm_sample_sentence(nglm_sampler *s, const int32_t **words, size_t *n_words);

/* Frees a sampler made by nglm_sampler_new (NULL is harmless). */
void nglm_sampler_delete(nglm_sampler *s);

/* ================================================================ training
 *
 * Training the way nglm-train does (text → vocabulary → feature index at
 * the order Kneser-Ney chooses → Kneser-Ney start → trainer), with its
 * defaults and its options, set by name:
 *
 *   nglm_pipeline *P = nglm_pipeline_new(&err);
 *   if (!P || nglm_pipeline_set(P, "train", "train.txt", &err) != 0 ||
 *       nglm_pipeline_fit(P, stdout, &err) != 0 ||
 *       nglm_pipeline_save(P, "model.nglm", &err) != 0) ...
 *   nglm_pipeline_delete(P);
 */

typedef struct nglm_pipeline nglm_pipeline;

/* A pipeline with nglm-train's defaults; nothing is read yet. */
nglm_pipeline *nglm_pipeline_new(nglm_error *err);

/* Sets the option called name (nglm-train's long option without "--",
 * e.g. "order", "max-memory"; '_' may stand for '-') from value as the
 * command line would give it ("5", "2M", "auto"; NULL for a flag).  The
 * value is copied.  Fails on an unknown name or a bad value, and after
 * nglm_pipeline_fit.  Every option is listed by `nglm-train --help`. */
int nglm_pipeline_set(nglm_pipeline *P, const char *name, const char *value,
                      nglm_error *err);

/* Checks the options (a combination that cannot go together fails) and
 * trains; once per pipeline.  The stage lines ("vocabulary: ...",
 * "Kneser-Ney start: valid ppl ...") go to out (NULL: none).  The word
 * model only: Model M (the "classes" option) is refused. */
int nglm_pipeline_fit(nglm_pipeline *P, FILE *out, nglm_error *err);

/* Writes the trained model to path (replaced atomically), the nglm model
 * file nglm-train --model writes. */
int nglm_pipeline_save(const nglm_pipeline *P, const char *path, nglm_error *err);

/* The trained model's perplexity on the validation text (0 before
 * training). */
double nglm_pipeline_valid_ppl(const nglm_pipeline *P);

/* Frees a pipeline made by nglm_pipeline_new (NULL is harmless). */
void nglm_pipeline_delete(nglm_pipeline *P);

/* ================================================================ conversion */

/* Writes the nglm model at model_path as an ARPA file at arpa_path ("-":
 * stdout; gzip when it ends in .gz), as nglm-export does: a model of
 * n-gram features is a back-off model, every feature a listed n-gram with
 * its exact probability and back-off weight (doc/model.md §5), so any ARPA
 * reader scores as nglm does, to 10 significant digits.  A model whose
 * skip-gram features have non-zero weights, or Model M, is refused:
 * neither is a back-off model. */
int nglm_export_arpa(const char *model_path, const char *arpa_path, nglm_error *err);

/* Writes the ARPA file at arpa_path (plain or gzip) as an nglm model file
 * at model_path that scores as it does, as nglm-export --from-arpa does. */
int nglm_convert_arpa(const char *arpa_path, const char *model_path, nglm_error *err);

/* ================================================================ word classes
 *
 * Exchange clustering (Kneser & Ney 1993; Martin, Liermann & Ney 1998):
 * the classes that maximise the likelihood of the class bigram model
 * P(w_i | w_{i-1}) = P(c(w_i) | c(w_{i-1})) · P(w_i | c(w_i)) on a text, as
 * nglm-cluster finds them.  Class 0 holds the sentence boundary alone.  The
 * result depends on nothing but the text and the options: the same
 * classes for any number of threads. */

/* After each pass: the pass (1..), the words it moved, the class bigram
 * perplexity after it, and the user's pointer. */
typedef void (*nglm_cluster_pass_fn)(int pass, size_t moved, double perplexity, void *user);

typedef struct nglm_cluster_options {
    int max_passes;              /* passes at most (0: none, only the start's
                                  * perplexity); < 0: 30 */
    int threads;                 /* <= 0: 1 */
    nglm_cluster_pass_fn on_pass; /* may be NULL */
    void *user;
    double min_gain;             /* > 0: also stop after a pass that lowers the
                                  * perplexity by less than this fraction of
                                  * it (1e-3, the default: 0.1%); 0: only when
                                  * no word moves */
    const int32_t *init;         /* not NULL: start from these classes (one per
                                  * id of the vocabulary, in 0..n_classes−1)
                                  * instead of dealing the words out by
                                  * frequency; no word is moved into class 0 */
} nglm_cluster_options;

/* 30 passes, min_gain 1e-3, 1 thread, no callback. */
nglm_cluster_options nglm_cluster_options_default(void);

/* The results of a clustering, for a report. */
typedef struct nglm_cluster_stats {
    int passes;                  /* passes run */
    size_t moved;                /* words moved by the last pass */
    double perplexity0;          /* class bigram perplexity of the start */
    double perplexity;           /* ... at the end */
} nglm_cluster_stats;

/* Class files: text, one word a line. */
typedef enum nglm_classes_format {
    NGLM_CLASSES_AUTO = 0,       /* reading: paths if the first line has three
                                  * fields, else tab */
    NGLM_CLASSES_TAB = 1,        /* "word<TAB>class", class an integer 0.. or a
                                  * name (nglm's own form) */
    NGLM_CLASSES_MKCLS = 2,      /* mkcls's: classes from 1, no </s> */
    NGLM_CLASSES_PATHS = 3       /* Brown clustering's "bits<TAB>word<TAB>count"
                                  * (reading only) */
} nglm_classes_format;

/* Clusters the words of the text at text_path (every word, counted from the
 * text with nglm-cluster's default tokenizer) into n_classes classes and
 * writes them to classes_path ("-": stdout) in the TAB form, as
 * `nglm-cluster -c N` does.  opt (opt->init is not allowed here) and st
 * may be NULL. */
int nglm_cluster_text(const char *text_path, int n_classes, const nglm_cluster_options *opt,
                      const char *classes_path, nglm_cluster_stats *st, nglm_error *err);

/* nglm_classes_read's flags. */
#define NGLM_CLASSES_SKIP_UNKNOWN 1  /* pass over the lines of words not in v */
#define NGLM_CLASSES_ALLOW_MISSING 2 /* words of v the file does not list (</s> and
                                      * <unk> too) get class −1 */

/* Reads a class file for the vocabulary v (e.g. a model's, nglm_lm_vocab):
 * class_of (nglm_vocab_size(v) entries) and *n_classes.  Errors say
 * "path:line: reason": a line not of the form, invalid UTF-8, a word not in
 * v (unless NGLM_CLASSES_SKIP_UNKNOWN in flags), a word listed twice, a
 * class that is not an integer when the first line's is, a word of v
 * missing (unless NGLM_CLASSES_ALLOW_MISSING; without it, </s> and <unk>
 * missing get a class of their own each). */
int nglm_classes_read(const char *path, const nglm_vocab *v, nglm_classes_format format,
                      int flags, int32_t *class_of, int *n_classes, nglm_error *err);

/* Writes class_of for v in the given form (TAB or MKCLS) to path ("-":
 * stdout), every word but <s>, in id order. */
int nglm_classes_write(const char *path, const nglm_vocab *v, const int32_t *class_of,
                       nglm_classes_format format, nglm_error *err);

#ifdef __cplusplus
}
#endif
#endif
