/*
 * check_fuzz_regress.c — replays every input of tests/fuzz/regress/TARGET/
 * (inputs that once crashed a fuzz target) and of the seed corpora
 * tests/fuzz/corpus/TARGET/ through the fuzz targets' own entry points, so a
 * fixed crash stays fixed without clang or libFuzzer.  The targets are
 * compiled in here with NGLM_FUZZ_NO_MAIN; a crash, a sanitizer report (in
 * the sanitizer CI build) or a harness abort() fails the test.
 */
#include "testutil.h"

#include <dirent.h>
#include <stdint.h>

#define NGLM_FUZZ_NO_MAIN
#include "fuzz/fuzz_tokenize.c"
#include "fuzz/fuzz_vocab.c"
#include "fuzz/fuzz_model.c"
#include "fuzz/fuzz_arpa.c"

/* Reads a whole file; *len gets its size.  The caller frees. */
static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    ck_assert_msg(fp != NULL, "cannot open %s", path);
    ck_assert_int_eq(fseek(fp, 0, SEEK_END), 0);
    long n = ftell(fp);
    ck_assert_int_ge(n, 0);
    rewind(fp);
    uint8_t *buf = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    *len = (size_t)n;
    return buf;
}

/* Runs fn on every regular file of $top_srcdir/tests/fuzz/KIND/TARGET
 * (dot files skipped); returns how many. */
static size_t replay(const char *kind, const char *target,
                     int (*fn)(const uint8_t *, size_t))
{
    const char *top = getenv("top_srcdir");
    char dir[4096], path[8192];
    snprintf(dir, sizeof dir, "%s/tests/fuzz/%s/%s", top ? top : ".", kind, target);
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "cannot open %s", dir);
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t len;
        uint8_t *data = slurp(path, &len);
        fn(data, len);
        free(data);
        n++;
    }
    closedir(d);
    return n;
}

START_TEST(test_tokenize)
{
    replay("regress", "tokenize", nglm_fuzz_tokenize);
    ck_assert_uint_gt(replay("corpus", "tokenize", nglm_fuzz_tokenize), 0);
}
END_TEST

START_TEST(test_vocab)
{
    replay("regress", "vocab", nglm_fuzz_vocab);
    ck_assert_uint_gt(replay("corpus", "vocab", nglm_fuzz_vocab), 0);
}
END_TEST

START_TEST(test_model)
{
    replay("regress", "model", nglm_fuzz_model);
    ck_assert_uint_gt(replay("corpus", "model", nglm_fuzz_model), 0);
}
END_TEST

START_TEST(test_arpa)
{
    replay("regress", "arpa", nglm_fuzz_arpa);
    ck_assert_uint_gt(replay("corpus", "arpa", nglm_fuzz_arpa), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fuzz_regress");
    TCase *tc = tcase_create("replay");
    tcase_add_test(tc, test_tokenize);
    tcase_add_test(tc, test_vocab);
    tcase_add_test(tc, test_model);
    tcase_add_test(tc, test_arpa);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
