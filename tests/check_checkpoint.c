/*
 * check_checkpoint.c — tests of the checkpoint file (src/checkpoint.c,
 * doc/checkpoint.md) and of resuming training from it (src/train.c).
 *
 * The file: a state with pseudo-random contents must round-trip bit for
 * bit; every truncation and every single-byte change must be rejected with
 * a message, never a crash; a header that passes the CRC but lies about the
 * sizes is rejected before anything is allocated; a save that fails (file
 * size limit) leaves the old checkpoint as it was.  Resuming: training
 * stopped at many minibatch boundaries, saved, loaded and resumed (with
 * another thread count) must end with exactly the weights of a run that
 * never stopped; a state of other data or options is refused; a diverging
 * run rolls back and then fails with a clear message.  Starting weights
 * (Kneser-Ney's): evaluated as epoch 0, kept when no epoch beats them,
 * resumed bit for bit, other starting weights refused.
 */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <zlib.h>

#include "nglm/checkpoint.h"
#include "nglm/corpus.h"
#include "nglm/features.h"
#include "nglm/kn.h"
#include "nglm/model.h"
#include "nglm/train.h"
#include "nglm/vocab.h"

/* ------------------------------------------------------------------ helpers */

static uint64_t rng_next(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

static double rng_unit(uint64_t *s) { return (double)rng_next(s) / 2147483648.0; }

/* A state with every field and array filled from seed. */
static void make_state(nglm_train_state *s, size_t nf, size_t ns, int avg, uint64_t seed)
{
    memset(s, 0, sizeof *s);
    uint64_t r = seed;
    s->fingerprint = (uint32_t)rng_next(&r);
    s->optimizer = (uint32_t)(seed & 1);
    s->average = (uint32_t)avg;
    s->max_epochs = 20;
    s->batch = 97;
    s->seed = rng_next(&r);
    s->l1 = rng_unit(&r);
    s->l2 = rng_unit(&r);
    s->lr0 = 2;
    s->ada_init = 1e-8;
    s->min_gain = 0.01;
    s->n_feat = nf;
    s->n_sents = ns;
    s->epoch = 3;
    s->started = 1;
    s->sent = ns / 2;
    s->tok = 1;
    s->step = 1000;
    s->epoch_step0 = 900;
    s->rng = rng_next(&r) << 31 | rng_next(&r);
    s->lr = 0.5;
    s->decaying = 1;
    s->best_epoch = 2;
    s->divergences = 1;
    s->halve_from = 3;
    s->schedule = (uint32_t)((seed >> 1) & 1);
    s->best_ppl = 123.25;
    s->loss = 4567.125;
    s->elapsed_s = 8.5;
    s->theta = malloc(nf * sizeof *s->theta);
    s->best = malloc(nf * sizeof *s->best);
    s->gsq = malloc(nf * sizeof *s->gsq);
    s->last = malloc(nf * sizeof *s->last);
    s->avg = avg ? malloc(nf * sizeof *s->avg) : NULL;
    s->order = malloc(ns * sizeof *s->order);
    for (size_t f = 0; f < nf; f++) {
        s->theta[f] = 2 * rng_unit(&r) - 1;
        s->best[f] = 2 * rng_unit(&r) - 1;
        s->gsq[f] = 10 * rng_unit(&r);
        s->last[f] = (uint32_t)(rng_next(&r) % 1001);
        if (avg)
            s->avg[f] = rng_unit(&r);
    }
    for (size_t i = 0; i < ns; i++)
        s->order[i] = (ns - 1 - i);
}

static void assert_same_state(const nglm_train_state *a, const nglm_train_state *b)
{
    /* the scalars, field by field, through a copy without the pointers */
    nglm_train_state x = *a, y = *b;
    x.theta = y.theta = x.best = y.best = x.gsq = y.gsq = x.avg = y.avg = NULL;
    x.last = y.last = NULL;
    x.order = y.order = NULL;
    ck_assert_mem_eq(&x, &y, sizeof x);
    size_t nf = (size_t)a->n_feat;
    ck_assert_mem_eq(a->theta, b->theta, nf * sizeof *a->theta);
    ck_assert_mem_eq(a->best, b->best, nf * sizeof *a->best);
    ck_assert_mem_eq(a->gsq, b->gsq, nf * sizeof *a->gsq);
    ck_assert_mem_eq(a->last, b->last, nf * sizeof *a->last);
    ck_assert_int_eq(!a->avg, !b->avg);
    if (a->avg)
        ck_assert_mem_eq(a->avg, b->avg, nf * sizeof *a->avg);
    ck_assert_mem_eq(a->order, b->order, (size_t)a->n_sents * sizeof *a->order);
}

static const char *temp_dir(void)
{
    static char dir[64];
    snprintf(dir, sizeof dir, "/tmp/nglm-ckpt-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    return dir;
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    char path[512];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

static int temp_files_in(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += strstr(e->d_name, ".tmp.") != NULL;
    closedir(d);
    return n;
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    ck_assert_ptr_nonnull(fp);
    fseek(fp, 0, SEEK_END);
    long len = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)len + 1);
    ck_assert_uint_eq(fread(buf, 1, (size_t)len, fp), (size_t)len);
    fclose(fp);
    *n = (size_t)len;
    return buf;
}

static void spit(const char *path, const void *buf, size_t n)
{
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    if (n)
        ck_assert_uint_eq(fwrite(buf, 1, n, fp), n);
    ck_assert_int_eq(fclose(fp), 0);
}

/* Recomputes the CRC of a checkpoint image after the test changed it. */
static void fix_crc(unsigned char *buf, size_t n)
{
    memset(buf + 24, 0, 4);
    uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), buf, (uInt)n);
    memcpy(buf + 24, &crc, 4);
}

/* ------------------------------------------------------------------ format */

START_TEST(test_roundtrip)
{
    const char *dir = temp_dir();
    char path[256];
    snprintf(path, sizeof path, "%s/m.ckpt", dir);
    nglm_train_state a, b;
    size_t nf = (size_t)(1 + _i * 37), ns = (size_t)(1 + _i * 5);
    make_state(&a, nf, ns, _i & 1, 100 + (uint64_t)_i);
    nglm_error err = { "" };
    ck_assert_msg(nglm_checkpoint_save(&a, path, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(nglm_checkpoint_load(&b, path, &err), 0);
    assert_same_state(&a, &b);
    /* the size is the documented one */
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    size_t want = 208 + nf * (8 * ((_i & 1) ? 4 : 3) + 4) + ns * 8;
    ck_assert_uint_eq((size_t)st.st_size, (want + 7) & ~(size_t)7);
    /* a best_ppl of +inf (no epoch finished) is allowed */
    a.best_ppl = INFINITY;
    a.best_epoch = 0;
    ck_assert_int_eq(nglm_checkpoint_save(&a, path, &err), 0);
    nglm_train_state_free(&b);
    ck_assert_int_eq(nglm_checkpoint_load(&b, path, &err), 0);
    ck_assert(isinf(b.best_ppl));
    ck_assert_int_eq(temp_files_in(dir), 0);
    nglm_train_state_free(&a);
    nglm_train_state_free(&b);
    remove_dir(dir);
}
END_TEST

/* Every truncation and every single-byte change is refused, with the path
 * in the message, and leaves the state zeroed. */
START_TEST(test_damaged)
{
    const char *dir = temp_dir();
    char path[256], bad[256];
    snprintf(path, sizeof path, "%s/m.ckpt", dir);
    snprintf(bad, sizeof bad, "%s/bad.ckpt", dir);
    nglm_train_state a, b;
    make_state(&a, 23, 7, 1, 7);
    nglm_error err;
    ck_assert_int_eq(nglm_checkpoint_save(&a, path, &err), 0);
    size_t n;
    unsigned char *buf = slurp(path, &n);
    for (size_t len = 0; len < n; len++) {
        spit(bad, buf, len);
        err.msg[0] = '\0';
        ck_assert_int_eq(nglm_checkpoint_load(&b, bad, &err), -1);
        ck_assert_msg(strncmp(err.msg, bad, strlen(bad)) == 0 && strlen(err.msg) > strlen(bad) + 2,
                      "length %zu: '%s'", len, err.msg);
        ck_assert_ptr_null(b.theta);
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char *copy = malloc(n);
        memcpy(copy, buf, n);
        copy[i] ^= (unsigned char)(1u << (i % 8));
        spit(bad, copy, n);
        ck_assert_msg(nglm_checkpoint_load(&b, bad, &err) == -1, "byte %zu changed", i);
        free(copy);
    }
    /* one byte too many */
    unsigned char *longer = malloc(n + 1);
    memcpy(longer, buf, n);
    longer[n] = 0;
    spit(bad, longer, n + 1);
    ck_assert_int_eq(nglm_checkpoint_load(&b, bad, &err), -1);
    ck_assert_msg(strstr(err.msg, "after the end") != NULL, "%s", err.msg);
    free(longer);
    free(buf);
    nglm_train_state_free(&a);
    remove_dir(dir);
}
END_TEST

/* Files that pass the CRC but lie: sizes that do not fit the file (a huge
 * n_feat must not be allocated), out-of-range flags, a NaN. */
START_TEST(test_lying)
{
    const char *dir = temp_dir();
    char path[256], bad[256];
    snprintf(path, sizeof path, "%s/m.ckpt", dir);
    snprintf(bad, sizeof bad, "%s/bad.ckpt", dir);
    nglm_train_state a, b;
    make_state(&a, 31, 5, 0, 9);
    nglm_error err;
    ck_assert_int_eq(nglm_checkpoint_save(&a, path, &err), 0);
    size_t n;
    unsigned char *buf = slurp(path, &n);
    struct { size_t off; int width; uint64_t value; const char *msg; } lies[] = {
        {104, 8, UINT64_MAX / 16, "sizes in the header"},   /* n_feat */
        {104, 8, 30, "sizes in the header"},
        {112, 8, 1ull << 60, "sizes in the header"},        /* n_sents */
        {28, 4, 4, "flags"},                                /* header flags */
        {36, 4, 7, "flag"},                                 /* optimizer */
        {124, 4, 2, "flag"},                                /* started */
        {120, 4, 0, "out of range"},                        /* epoch */
        {8, 4, 99, "newer"},                                /* version */
        {180, 4, 100001, "out of range"},                  /* halve_from */
        {160, 8, 0x7ff8000000000000ull, "not finite"},      /* lr = NaN */
    };
    for (size_t k = 0; k < sizeof lies / sizeof lies[0]; k++) {
        unsigned char *copy = malloc(n);
        memcpy(copy, buf, n);
        if (lies[k].width == 8)
            memcpy(copy + lies[k].off, &lies[k].value, 8);
        else {
            uint32_t v = (uint32_t)lies[k].value;
            memcpy(copy + lies[k].off, &v, 4);
        }
        fix_crc(copy, n);
        spit(bad, copy, n);
        ck_assert_int_eq(nglm_checkpoint_load(&b, bad, &err), -1);
        ck_assert_msg(strstr(err.msg, lies[k].msg) != NULL, "lie %zu: %s", k, err.msg);
        free(copy);
    }
    /* flags bit 1: the linear schedule, from version 3 on */
    {
        unsigned char *copy = malloc(n);
        memcpy(copy, buf, n);
        uint32_t two = 2, v2 = 2;
        memcpy(copy + 28, &two, 4);
        fix_crc(copy, n);
        spit(bad, copy, n);
        ck_assert_int_eq(nglm_checkpoint_load(&b, bad, &err), 0);
        ck_assert_uint_eq(b.schedule, NGLM_SCHEDULE_LINEAR);
        nglm_train_state_free(&b);
        memcpy(copy + 8, &v2, 4); /* a version-2 file has no such bit */
        fix_crc(copy, n);
        spit(bad, copy, n);
        ck_assert_int_eq(nglm_checkpoint_load(&b, bad, &err), -1);
        ck_assert_msg(strstr(err.msg, "flags") != NULL, "%s", err.msg);
        free(copy);
    }
    /* a version-1 file: the slot of halve_from was reserved, 0 */
    {
        unsigned char *copy = malloc(n);
        memcpy(copy, buf, n);
        uint32_t v1 = 1, zero = 0, one = 1;
        memcpy(copy + 8, &v1, 4);
        memcpy(copy + 180, &zero, 4);
        fix_crc(copy, n);
        spit(bad, copy, n);
        ck_assert_int_eq(nglm_checkpoint_load(&b, bad, &err), 0);
        ck_assert_uint_eq(b.halve_from, 0);
        nglm_train_state_free(&b);
        memcpy(copy + 180, &one, 4);
        fix_crc(copy, n);
        spit(bad, copy, n);
        ck_assert_int_eq(nglm_checkpoint_load(&b, bad, &err), -1);
        ck_assert_msg(strstr(err.msg, "reserved") != NULL, "%s", err.msg);
        free(copy);
    }
    /* foreign files */
    spit(bad, "", 0);
    ck_assert_int_eq(nglm_checkpoint_load(&b, bad, &err), -1);
    ck_assert_msg(strstr(err.msg, "not an nglm checkpoint") != NULL, "%s", err.msg);
    spit(bad, "NGLMMODL and more bytes", 23);
    ck_assert_int_eq(nglm_checkpoint_load(&b, bad, &err), -1);
    ck_assert_msg(strstr(err.msg, "not an nglm checkpoint") != NULL, "%s", err.msg);
    ck_assert_int_eq(nglm_checkpoint_load(&b, dir, &err), -1);
    ck_assert_msg(strstr(err.msg, "is a directory") != NULL, "%s", err.msg);
    ck_assert_int_eq(nglm_checkpoint_load(&b, "/nonexistent/x.ckpt", &err), -1);
    ck_assert_msg(strstr(err.msg, "No such file") != NULL, "%s", err.msg);
    free(buf);
    nglm_train_state_free(&a);
    remove_dir(dir);
}
END_TEST

/* A save that fails (file size limit, a device, a missing directory)
 * leaves the old checkpoint byte for byte and no temporary file. */
START_TEST(test_failed_save_keeps_old_file)
{
    const char *dir = temp_dir();
    char path[256];
    snprintf(path, sizeof path, "%s/m.ckpt", dir);
    nglm_train_state small, big;
    make_state(&small, 2000, 30, 0, 1);
    make_state(&big, 100000, 300, 1, 2);
    nglm_error err;
    ck_assert_int_eq(nglm_checkpoint_save(&small, path, &err), 0);
    size_t n0;
    unsigned char *before = slurp(path, &n0);
    ck_assert_int_eq(nglm_checkpoint_save(&small, "/dev/null", &err), 0); /* a sink */
    ck_assert_int_eq(nglm_checkpoint_save(&small, "/dev/full", &err), -1);
    ck_assert_msg(strstr(err.msg, "not a regular file") != NULL, "%s", err.msg);
    ck_assert_int_eq(nglm_checkpoint_save(&small, "/nonexistent/dir/x.ckpt", &err), -1);
    ck_assert_msg(strstr(err.msg, "No such file or directory") != NULL, "%s", err.msg);

    signal(SIGXFSZ, SIG_IGN);
    struct rlimit rl = { n0 + 100, n0 + 100 };
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
    ck_assert_int_eq(nglm_checkpoint_save(&big, path, &err), -1);
    ck_assert_msg(strncmp(err.msg, path, strlen(path)) == 0, "%s", err.msg);
    ck_assert_msg(strstr(err.msg, "File too large") != NULL, "%s", err.msg);
    size_t n1;
    unsigned char *after = slurp(path, &n1);
    ck_assert_uint_eq(n0, n1);
    ck_assert_mem_eq(before, after, n0);
    ck_assert_int_eq(temp_files_in(dir), 0);
    nglm_train_state b;
    ck_assert_int_eq(nglm_checkpoint_load(&b, path, &err), 0);
    assert_same_state(&small, &b);
    nglm_train_state_free(&b);
    free(before);
    free(after);
    nglm_train_state_free(&small);
    nglm_train_state_free(&big);
    remove_dir(dir);
}
END_TEST

/* ------------------------------------------------------------------ resuming */

/* A model (vocabulary and features, no weights) on structured random text:
 * a word tends to follow its predecessor + 1, so n-grams repeat. */
static void make_model(nglm_model *m, nglm_corpus *c, nglm_corpus *v, int skips,
                       uint64_t seed)
{
    enum { N = 80, NV = 20 };
    char *lines[N + NV];
    uint64_t r = seed;
    for (int i = 0; i < N + NV; i++) {
        lines[i] = malloc(512);
        lines[i][0] = '\0';
        int len = 1 + (int)(rng_next(&r) % 10), w = (int)(rng_next(&r) % 15);
        for (int j = 0; j < len; j++) {
            char tok[16];
            w = rng_unit(&r) < 0.6 ? (w + 1) % 15 : (int)(rng_next(&r) % 15);
            snprintf(tok, sizeof tok, "%sw%d", j ? " " : "", w);
            strcat(lines[i], tok);
        }
    }
    nglm_error err;
    memset(m, 0, sizeof *m);
    m->vocab = nglm_vocab_new();
    for (int i = 0; i < N; i++) {
        char buf[512], *save = NULL;
        snprintf(buf, sizeof buf, "%s", lines[i]);
        for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save))
            ck_assert_int_eq(nglm_vocab_add(m->vocab, t, 1, &err), 0);
    }
    ck_assert_int_eq(nglm_vocab_finalize(m->vocab, 1, 0, &err), 0);
    ck_assert_int_eq(nglm_corpus_from_lines(c, (const char *const *)lines, N, m->vocab, &err), 0);
    ck_assert_int_eq(nglm_corpus_from_lines(v, (const char *const *)lines + N, NV, m->vocab,
                                            &err), 0);
    for (int i = 0; i < N + NV; i++)
        free(lines[i]);
    ck_assert_int_eq(nglm_features_build(&m->feat, c, (int32_t)nglm_vocab_size(m->vocab), 3,
                                         NULL, 1, &err), 0);
    if (skips) {
        int dist[2] = {2, 3};
        ck_assert_int_eq(nglm_features_add_skips(&m->feat, c, 2, dist, 1, &err), 0);
    }
}

static void free_model(nglm_model *m, nglm_corpus *c, nglm_corpus *v)
{
    nglm_corpus_free(c);
    nglm_corpus_free(v);
    nglm_model_free(m);
}

static nglm_train_options quick_options(int threads, int average)
{
    nglm_train_options o = nglm_train_options_default();
    o.max_epochs = 4;
    o.batch = 37; /* many batches, sentences split across them */
    o.threads = threads;
    o.average = average;
    o.min_gain = 0; /* run every epoch */
    return o;
}

/* The callback of an interrupted run: saves every checkpoint it is given
 * and raises the stop flag at the stop_at-th call. */
typedef struct stopper {
    const char *path;
    int calls, stop_at, stops;
    volatile sig_atomic_t flag;
} stopper;

static int save_and_stop(const nglm_train_state *s, nglm_checkpoint_reason why, void *user,
                         nglm_error *err)
{
    stopper *st = user;
    st->stops += why == NGLM_CKPT_STOP;
    if (++st->calls == st->stop_at)
        st->flag = 1;
    return nglm_checkpoint_save(s, st->path, err);
}

/* Stopped at boundary k (mid-epoch, or an epoch end), saved, loaded and
 * resumed: the same weights and model info as a run that never stopped. */
START_TEST(test_resume_bit_identical)
{
    int skips = _i & 1, average = (_i >> 1) & 1;
    nglm_schedule schedule = (_i >> 2) & 1 ? NGLM_SCHEDULE_LINEAR : NGLM_SCHEDULE_HALVE;
    nglm_model m;
    nglm_corpus c, v;
    nglm_error err;
    make_model(&m, &c, &v, skips, 5);
    size_t nf = m.feat.n_feat;
    nglm_train_options o = quick_options(2, average);
    o.schedule = schedule;
    ck_assert_int_eq(nglm_train(&m, &c, &v, &o, &err), 0);
    double *want = malloc(nf * sizeof *want);
    memcpy(want, m.theta, nf * sizeof *want);
    nglm_model_info want_info = m.info;

    const char *dir = temp_dir();
    char path[256];
    snprintf(path, sizeof path, "%s/m.ckpt", dir);
    int stop_at[] = {1, 2, 7, 11, 12, 20, 31};
    for (size_t k = 0; k < sizeof stop_at / sizeof stop_at[0]; k++) {
        stopper st = { path, 0, stop_at[k], 0, 0 };
        o = quick_options(2, average);
        o.schedule = schedule;
        o.on_checkpoint = save_and_stop;
        o.user = &st;
        o.stop = &st.flag;
        o.checkpoint_s = 1e-300; /* at every minibatch boundary */
        ck_assert_int_eq(nglm_train(&m, &c, &v, &o, &err), 0);
        ck_assert_int_eq(st.stops, 1);
        nglm_train_state s;
        ck_assert_msg(nglm_checkpoint_load(&s, path, &err) == 0, "%s", err.msg);
        o = quick_options(1, average);
        o.schedule = schedule;
        o.resume = &s;
        ck_assert_msg(nglm_train(&m, &c, &v, &o, &err) == 0, "%s", err.msg);
        ck_assert_msg(memcmp(want, m.theta, nf * sizeof *want) == 0,
                      "stopped at checkpoint %d: weights differ", stop_at[k]);
        ck_assert_mem_eq(&want_info, &m.info, sizeof want_info);
        nglm_train_state_free(&s);
    }
    free(want);
    remove_dir(dir);
    free_model(&m, &c, &v);
}
END_TEST

/* A state of other options or other data is refused, saying what differs. */
START_TEST(test_resume_refuses_mismatch)
{
    nglm_model m;
    nglm_corpus c, v;
    nglm_error err;
    make_model(&m, &c, &v, 0, 6);
    const char *dir = temp_dir();
    char path[256];
    snprintf(path, sizeof path, "%s/m.ckpt", dir);
    stopper st = { path, 0, 3, 0, 0 };
    nglm_train_options o = quick_options(1, 0);
    o.on_checkpoint = save_and_stop;
    o.user = &st;
    o.stop = &st.flag;
    o.checkpoint_s = 1e-300;
    ck_assert_int_eq(nglm_train(&m, &c, &v, &o, &err), 0);
    nglm_train_state s;
    ck_assert_int_eq(nglm_checkpoint_load(&s, path, &err), 0);

    o = quick_options(1, 0);
    o.l1 = 1.5;
    o.resume = &s;
    ck_assert_int_eq(nglm_train(&m, &c, &v, &o, &err), -1);
    ck_assert_msg(strstr(err.msg, "l1 0.5, not 1.5") != NULL, "%s", err.msg);
    o = quick_options(1, 0);
    o.optimizer = NGLM_SGD;
    ck_assert_int_eq(nglm_train_can_resume(&m, &c, &v, &o, &s, &err), -1);
    ck_assert_msg(strstr(err.msg, "optimizer adagrad, not sgd") != NULL, "%s", err.msg);
    o = quick_options(1, 1);
    ck_assert_int_eq(nglm_train_can_resume(&m, &c, &v, &o, &s, &err), -1);
    ck_assert_msg(strstr(err.msg, "without averaging") != NULL, "%s", err.msg);
    o = quick_options(1, 0);
    o.max_epochs = 5;
    ck_assert_int_eq(nglm_train_can_resume(&m, &c, &v, &o, &s, &err), -1);
    ck_assert_msg(strstr(err.msg, "epochs 4, not 5") != NULL, "%s", err.msg);
    o = quick_options(1, 0);
    o.halve_from = 2;
    ck_assert_int_eq(nglm_train_can_resume(&m, &c, &v, &o, &s, &err), -1);
    ck_assert_msg(strstr(err.msg, "halve-from 0, not 2") != NULL, "%s", err.msg);
    /* a schedule a checkpoint could not hold is refused before training */
    o = quick_options(1, 0);
    o.halve_from = NGLM_MAX_EPOCHS + 1;
    ck_assert_int_eq(nglm_train(&m, &c, &v, &o, &err), -1);
    ck_assert_msg(strstr(err.msg, "halve_from must be") != NULL, "%s", err.msg);
    o = quick_options(1, 0);
    o.schedule = NGLM_SCHEDULE_LINEAR;
    ck_assert_int_eq(nglm_train_can_resume(&m, &c, &v, &o, &s, &err), -1);
    ck_assert_msg(strstr(err.msg, "the halving schedule, not the linear one") != NULL, "%s",
                  err.msg);
    /* threads may differ */
    o = quick_options(3, 0);
    ck_assert_int_eq(nglm_train_can_resume(&m, &c, &v, &o, &s, &err), 0);
    /* other validation text: same sizes, other data */
    o = quick_options(1, 0);
    ck_assert_int_eq(nglm_train_can_resume(&m, &c, &c, &o, &s, &err), -1);
    ck_assert_msg(strstr(err.msg, "other data") != NULL, "%s", err.msg);
    /* an inconsistent state */
    s.last[5] = s.step + 1;
    ck_assert_int_eq(nglm_train_can_resume(&m, &c, &v, &o, &s, &err), -1);
    ck_assert_msg(strstr(err.msg, "inconsistent") != NULL, "%s", err.msg);
    s.last[5] = 0;
    s.order[0] = s.order[1];
    ck_assert_int_eq(nglm_train_can_resume(&m, &c, &v, &o, &s, &err), -1);
    nglm_train_state_free(&s);
    remove_dir(dir);
    free_model(&m, &c, &v);
}
END_TEST

static void note_rollbacks(const nglm_epoch_report *r, void *user)
{
    *(unsigned *)user += r->rollbacks;
}

/* Over a range of SGD rates: each run either ends with finite weights or
 * fails with the clear message after three rollbacks, and some rate
 * diverges for good.  (Which rates recover is chaotic, so it is not
 * asserted here; test_divergence_recovers makes one that must.) */
START_TEST(test_divergence)
{
    nglm_model m;
    nglm_corpus c, v;
    nglm_error err;
    make_model(&m, &c, &v, 0, 8);
    int failed = 0;
    for (double lr = 0.01; lr <= 1e6; lr *= 2) {
        nglm_train_options o = quick_options(1, 0);
        o.optimizer = NGLM_SGD;
        o.lr = lr;
        o.l1 = o.l2 = 0; /* the proximal steps would tame it */
        if (nglm_train(&m, &c, &v, &o, &err) != 0) {
            ck_assert_msg(strstr(err.msg, "diverged 3 times") != NULL &&
                          strstr(err.msg, "lower the learning rate") != NULL, "%s", err.msg);
            failed = 1;
            continue;
        }
        for (size_t f = 0; f < m.feat.n_feat; f++)
            ck_assert(isfinite(m.theta[f]));
        ck_assert(isfinite(m.info.valid_ppl) && m.info.valid_ppl > 0);
    }
    ck_assert_msg(failed, "no rate diverged three times");
    free_model(&m, &c, &v);
}
END_TEST

/* save_and_stop that raises the flag three minibatches into epoch 2 */
static int save_and_stop_in_epoch_2(const nglm_train_state *s, nglm_checkpoint_reason why,
                                    void *user, nglm_error *err)
{
    stopper *st = user;
    if (why == NGLM_CKPT_EPOCH && s->epoch == 2)
        st->stop_at = st->calls + 4;
    return save_and_stop(s, why, user, err);
}

/* A real divergence at a known place: a run stopped mid-epoch, its state
 * poisoned with weights far too large (the normalisers of half the
 * contexts overflow), then resumed.  The first minibatch diverges, training
 * rolls back to the best weights so far at half the rate, reports one
 * rollback and ends with a finite model close to the unpoisoned run's.
 * Unlike a high rate, whose course is chaotic and so depends on the last
 * bits of exp() on the machine, this diverges exactly once everywhere. */
START_TEST(test_divergence_recovers)
{
    nglm_model m;
    nglm_corpus c, v;
    nglm_error err;
    make_model(&m, &c, &v, _i, 8);
    size_t nf = m.feat.n_feat;
    nglm_train_options o = quick_options(1, 0);
    ck_assert_int_eq(nglm_train(&m, &c, &v, &o, &err), 0);
    double want_ppl = m.info.valid_ppl;

    const char *dir = temp_dir();
    char path[256];
    snprintf(path, sizeof path, "%s/m.ckpt", dir);
    stopper st = { path, 0, 0, 0, 0 };
    o = quick_options(1, 0);
    o.user = &st;
    o.stop = &st.flag;
    o.checkpoint_s = 1e-300;
    o.on_checkpoint = save_and_stop_in_epoch_2;
    ck_assert_int_eq(nglm_train(&m, &c, &v, &o, &err), 0);
    ck_assert_int_eq(st.stops, 1);
    unsigned rollbacks = 0;
    nglm_train_state s;
    ck_assert_int_eq(nglm_checkpoint_load(&s, path, &err), 0);
    ck_assert_uint_eq(s.divergences, 0);
    ck_assert(isfinite(s.best_ppl));
    /* every other length-1 context: a batch then holds tokens that diverge
     * and tokens that do not, whose skip-gram expectations the forward pass
     * has already summed when the batch is dropped */
    for (size_t x = m.feat.ctx_order_start[0]; x < m.feat.ctx_order_start[1]; x += 2)
        for (uint32_t f = m.feat.ctx_first[x]; f < m.feat.ctx_first[x + 1]; f++)
            s.theta[f] = 1e4;
    o = quick_options(1, 0);
    o.resume = &s;
    o.on_epoch = note_rollbacks;
    o.user = &rollbacks;
    ck_assert_msg(nglm_train(&m, &c, &v, &o, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(rollbacks, 1);
    for (size_t f = 0; f < nf; f++)
        ck_assert(isfinite(m.theta[f]));
    ck_assert_msg(isfinite(m.info.valid_ppl) && m.info.valid_ppl < 1.5 * want_ppl,
                  "recovered to valid ppl %g (unpoisoned %g)", m.info.valid_ppl, want_ppl);
    double *got = malloc(nf * sizeof *got);
    memcpy(got, m.theta, nf * sizeof *got);
    nglm_train_state_free(&s);

    /* the rollback as documented, by hand: the best weights, half the rate,
     * the epoch restarted in the same order, every weight's penalties
     * settled at this step.  Resumed from there, the same weights, bit for
     * bit: nothing of the dropped batch leaked into the next one. */
    ck_assert_int_eq(nglm_checkpoint_load(&s, path, &err), 0);
    memcpy(s.theta, s.best, nf * sizeof *s.theta);
    s.lr *= 0.5;
    s.started = 1;
    s.sent = s.tok = 0;
    s.loss = 0;
    s.divergences = 1;
    s.epoch_step0 = s.step;
    for (size_t f = 0; f < nf; f++)
        s.last[f] = s.step;
    o.on_epoch = NULL;
    ck_assert_msg(nglm_train(&m, &c, &v, &o, &err) == 0, "%s", err.msg);
    ck_assert_msg(memcmp(got, m.theta, nf * sizeof *got) == 0,
                  "rolled back: weights differ from a hand-made rollback");
    free(got);
    nglm_train_state_free(&s);
    remove_dir(dir);
    free_model(&m, &c, &v);
}
END_TEST

/* ------------------------------------------------------------------ starting weights */

/* Kneser-Ney's weights for m (nglm_kn_to_weights) and its exact
 * validation perplexity, by back-off scoring. */
static double *kn_init(const nglm_model *m, const nglm_corpus *c, const nglm_corpus *v,
                       double *ppl)
{
    nglm_error err;
    nglm_kn kn;
    nglm_kn_options ko = nglm_kn_options_default();
    ko.fallback = 1;
    ko.text = c;
    ck_assert_msg(nglm_kn_estimate(&kn, &m->feat, &ko, &err) == 0, "%s", err.msg);
    double *init = malloc(m->feat.n_feat * sizeof *init);
    ck_assert_int_eq(nglm_kn_to_weights(&kn, &m->feat, init, &err), 0);
    *ppl = nglm_kn_perplexity(&kn, &m->feat, v);
    nglm_kn_free(&kn);
    return init;
}

typedef struct epochs_seen {
    int n, first;
    double ppl[16];
    int best[16];
} epochs_seen;

static void note_epoch(const nglm_epoch_report *r, void *user)
{
    epochs_seen *e = user;
    if (e->n == 0)
        e->first = r->epoch;
    if (e->n < 16) {
        e->ppl[e->n] = r->valid_ppl;
        e->best[e->n] = r->best;
    }
    e->n++;
}

/* Epoch 0 is the start, reported first with Kneser-Ney's perplexity; at a
 * rate that makes every epoch worse, the result is the start itself, bit
 * for bit, and says epoch 0. */
START_TEST(test_init_epoch0)
{
    nglm_model m;
    nglm_corpus c, v;
    nglm_error err;
    make_model(&m, &c, &v, 0, 9);
    size_t nf = m.feat.n_feat;
    double kn_ppl;
    double *init = kn_init(&m, &c, &v, &kn_ppl);
    epochs_seen e = {0};
    nglm_train_options o = quick_options(2, 0);
    o.init = init;
    o.on_epoch = note_epoch;
    o.user = &e;
    ck_assert_msg(nglm_train(&m, &c, &v, &o, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(e.first, 0);
    ck_assert_int_eq(e.n, 1 + o.max_epochs);
    ck_assert_msg(fabs(e.ppl[0] - kn_ppl) <= 1e-9 * kn_ppl,
                  "epoch 0 valid ppl %.12g, Kneser-Ney's %.12g", e.ppl[0], kn_ppl);
    ck_assert(e.best[0]);
    ck_assert(m.info.valid_ppl <= e.ppl[0]);

    /* far too high a rate: every epoch worse than the start */
    memset(&e, 0, sizeof e);
    o = quick_options(1, 0);
    o.init = init;
    o.lr = 40;
    o.max_epochs = 2;
    o.on_epoch = note_epoch;
    o.user = &e;
    ck_assert_msg(nglm_train(&m, &c, &v, &o, &err) == 0, "%s", err.msg);
    for (int i = 1; i < e.n && i < 16; i++)
        ck_assert_msg(e.ppl[i] > e.ppl[0] && !e.best[i], "epoch %d: %g, start %g", i, e.ppl[i],
                      e.ppl[0]);
    ck_assert_msg(memcmp(m.theta, init, nf * sizeof *init) == 0,
                  "no epoch beat the start, but the weights are not the start's");
    ck_assert_uint_eq(m.info.epochs, 0);
    ck_assert(fabs(m.info.valid_ppl - kn_ppl) <= 1e-9 * kn_ppl);
    free(init);
    free_model(&m, &c, &v);
}
END_TEST

typedef struct rates_seen { int n; double lr[16]; } rates_seen;

static void note_rate(const nglm_epoch_report *r, void *user)
{
    rates_seen *e = user;
    if (r->epoch >= 1 && e->n < 16)
        e->lr[e->n++] = r->lr;
}

/* The linear schedule runs every epoch, epoch k starting at lr0 · (1 −
 * (k−1)/E), even where an epoch gains nothing (min_gain is the halving
 * schedule's). */
START_TEST(test_linear_schedule)
{
    nglm_model m;
    nglm_corpus c, v;
    nglm_error err;
    make_model(&m, &c, &v, 0, 11);
    rates_seen e = {0};
    nglm_train_options o = quick_options(1, 0);
    o.schedule = NGLM_SCHEDULE_LINEAR;
    o.lr = 0.8;
    o.min_gain = 0.5; /* would stop the halving schedule after epoch 2 */
    o.on_epoch = note_rate;
    o.user = &e;
    ck_assert_msg(nglm_train(&m, &c, &v, &o, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(e.n, o.max_epochs);
    for (int k = 0; k < e.n; k++)
        ck_assert_msg(fabs(e.lr[k] - 0.8 * (1.0 - (double)k / o.max_epochs)) < 1e-12,
                      "epoch %d starts at rate %g", k + 1, e.lr[k]);
    free_model(&m, &c, &v);
}
END_TEST

/* Stopped and resumed with the same starting weights: the weights of a run
 * that never stopped; with other starting weights: refused. */
START_TEST(test_init_resume)
{
    nglm_model m;
    nglm_corpus c, v;
    nglm_error err;
    make_model(&m, &c, &v, 1, 10);
    size_t nf = m.feat.n_feat;
    /* the same model without its skip-grams gives Kneser-Ney's n-gram
     * weights; the skip-grams (after the n-grams) start at 0 */
    nglm_model m0;
    nglm_corpus c0, v0;
    make_model(&m0, &c0, &v0, 0, 10);
    ck_assert_uint_eq(m0.feat.n_feat, m.feat.n_ngram_feat);
    double kn_ppl;
    double *init = calloc(nf, sizeof *init);
    double *kn = kn_init(&m0, &c0, &v0, &kn_ppl);
    memcpy(init, kn, m.feat.n_ngram_feat * sizeof *init);
    free(kn);
    free_model(&m0, &c0, &v0);
    nglm_train_options o = quick_options(2, 0);
    o.init = init;
    o.ada_init = 1;
    o.lr = 0.5;
    ck_assert_int_eq(nglm_train(&m, &c, &v, &o, &err), 0);
    double *want = malloc(nf * sizeof *want);
    memcpy(want, m.theta, nf * sizeof *want);

    const char *dir = temp_dir();
    char path[256];
    snprintf(path, sizeof path, "%s/m.ckpt", dir);
    stopper st = { path, 0, 9, 0, 0 };
    o.on_checkpoint = save_and_stop;
    o.user = &st;
    o.stop = &st.flag;
    o.checkpoint_s = 1e-300;
    ck_assert_int_eq(nglm_train(&m, &c, &v, &o, &err), 0);
    nglm_train_state s;
    ck_assert_int_eq(nglm_checkpoint_load(&s, path, &err), 0);
    o = quick_options(1, 0);
    o.init = init;
    o.ada_init = 1;
    o.lr = 0.5;
    o.resume = &s;
    ck_assert_msg(nglm_train(&m, &c, &v, &o, &err) == 0, "%s", err.msg);
    ck_assert_msg(memcmp(want, m.theta, nf * sizeof *want) == 0, "resumed: weights differ");
    init[nf / 2] += 1e-3;
    ck_assert_int_eq(nglm_train_can_resume(&m, &c, &v, &o, &s, &err), -1);
    ck_assert_msg(strstr(err.msg, "other data") != NULL, "%s", err.msg);
    o.init = NULL;
    ck_assert_int_eq(nglm_train_can_resume(&m, &c, &v, &o, &s, &err), -1);
    nglm_train_state_free(&s);
    free(want);
    free(init);
    remove_dir(dir);
    free_model(&m, &c, &v);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("checkpoint");
    TCase *tc = tcase_create("format");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_roundtrip, 0, 6);
    tcase_add_test(tc, test_damaged);
    tcase_add_test(tc, test_lying);
    tcase_add_test(tc, test_failed_save_keeps_old_file);
    suite_add_tcase(s, tc);
    tc = tcase_create("resume");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_resume_bit_identical, 0, 8);
    tcase_add_test(tc, test_resume_refuses_mismatch);
    tcase_add_test(tc, test_divergence);
    tcase_add_loop_test(tc, test_divergence_recovers, 0, 2);
    tcase_add_test(tc, test_init_epoch0);
    tcase_add_test(tc, test_linear_schedule);
    tcase_add_test(tc, test_init_resume);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
