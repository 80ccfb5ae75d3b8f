/*
 * testutil.h — small helpers shared by the Check suites: temporary files
 * with given content, in a directory removed at exit of the test process,
 * and a text's ids carried into another vocabulary.
 */
#ifndef NGLM_TESTUTIL_H
#define NGLM_TESTUTIL_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nglm/corpus.h"
#include "nglm/vocab.h"

/* The test process's own temporary directory, /tmp/nglm-test-XXXXXX (or
 * under $TMPDIR), made on first use and removed with everything in it when
 * the process that made it exits.  Check runs each test in a forked child,
 * which inherits the parent's exit handlers: the pid keeps a child from
 * removing a directory its parent made. */
static char tu_dir_path[256];
static pid_t tu_dir_owner;

static inline void tu_dir_remove(void)
{
    if (tu_dir_owner != getpid() || !tu_dir_path[0])
        return;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tu_dir_path);
    if (system(cmd) != 0)
        fprintf(stderr, "testutil: cannot remove %s\n", tu_dir_path);
}

static inline const char *tu_dir(void)
{
    if (tu_dir_owner != getpid()) {
        const char *tmp = getenv("TMPDIR");
        snprintf(tu_dir_path, sizeof tu_dir_path, "%s/nglm-test-XXXXXX",
                 tmp && *tmp ? tmp : "/tmp");
        ck_assert_ptr_nonnull(mkdtemp(tu_dir_path));
        tu_dir_owner = getpid();
        atexit(tu_dir_remove);
    }
    return tu_dir_path;
}

/* Writes len bytes to a fresh temporary file in tu_dir() and returns its
 * path (static storage rotated over 8 slots). */
static inline const char *tu_tempfile(const void *data, size_t len)
{
    static char paths[8][320];
    static int slot;
    char *p = paths[slot++ & 7];
    snprintf(p, 320, "%s/f-XXXXXX", tu_dir());
    int fd = mkstemp(p);
    ck_assert_int_ge(fd, 0);
    FILE *fp = fdopen(fd, "wb");
    ck_assert_ptr_nonnull(fp);
    if (len)
        ck_assert_uint_eq(fwrite(data, 1, len, fp), len);
    ck_assert_int_eq(fclose(fp), 0);
    return p;
}

static inline const char *tu_tempstr(const char *s) { return tu_tempfile(s, strlen(s)); }

/* A fresh temporary path (no file there) ending in suffix (static storage
 * rotated over 4 slots). */
static inline const char *tu_temp_path(const char *suffix)
{
    static char paths[4][400];
    static int slot;
    char *p = paths[slot++ & 3];
    const char *t = tu_tempstr("");
    snprintf(p, 400, "%s%s", t, suffix);
    unlink(t);
    return p;
}

/* c's ids translated by word into vocabulary `to` (every word must be in
 * it), e.g. for scoring with an ARPA model's own vocabulary; free() it. */
static inline int32_t *tu_map_ids(const nglm_corpus *c, const nglm_vocab *from,
                                  const nglm_vocab *to)
{
    int32_t *ids = malloc(c->n_tokens * sizeof *ids);
    ck_assert_ptr_nonnull(ids);
    for (size_t t = 0; t < c->n_tokens; t++) {
        ids[t] = nglm_vocab_find(to, nglm_vocab_word(from, c->ids[t]));
        ck_assert_int_ge(ids[t], 0);
    }
    return ids;
}

/* Runs a Check suite and returns the process exit status. */
static inline int tu_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
