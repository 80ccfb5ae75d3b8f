/*
 * outputs.c — the programs' guard on the files they write (see outputs.h):
 * outputs that are inputs, existing files that nglm did not write, and the
 * lock of a training run on its model path.
 */
#include "outputs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "cli.h"
#include "fileio.h"
#include "nglm/checkpoint.h"
#include "nglm/classlm.h"
#include "nglm/modelfile.h"

/* ---------------------------------------------------------------- same file */

/* Which file a path names: its device and inode when it exists; else the
 * real path of its directory and its own name, so that two spellings of a
 * file still to be created compare equal too. */
typedef struct file_id {
    int exists;
    dev_t dev;
    ino_t ino;
    char where[PATH_MAX + 256];
} file_id;

static void identify(const char *path, file_id *id)
{
    struct stat st;
    memset(id, 0, sizeof *id);
    char *target = NULL; /* a dangling link names the file it would create */
    if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode) && stat(path, &st) != 0 &&
        (target = nglm_path_resolve(path, NULL)))
        path = target;
    if (stat(path, &st) == 0) {
        id->exists = 1;
        id->dev = st.st_dev;
        id->ino = st.st_ino;
        free(target);
        return;
    }
    const char *slash = strrchr(path, '/');
    char dir[PATH_MAX];
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else
        snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    char *real = realpath(dir, NULL);
    snprintf(id->where, sizeof id->where, "%s/%s", real ? real : dir, slash ? slash + 1 : path);
    free(real);
    free(target);
}

static int same_file(const file_id *a, const file_id *b)
{
    if (a->exists != b->exists)
        return 0;
    return a->exists ? a->dev == b->dev && a->ino == b->ino : strcmp(a->where, b->where) == 0;
}

static int skipped(const nglm_out_file *f) { return !f->path || strcmp(f->path, "-") == 0; }

/* ---------------------------------------------------------------- kinds */

static const char *const kind_name[] = {
    [NGLM_OUT_MODEL] = "an nglm model",     [NGLM_OUT_CHECKPOINT] = "an nglm checkpoint",
    [NGLM_OUT_ARPA] = "an ARPA file",       [NGLM_OUT_LOG] = "an nglm-train log",
    [NGLM_OUT_PLOT] = "an nglm-train plot", [NGLM_OUT_VOCAB] = "an nglm vocabulary",
    [NGLM_OUT_NEW] = "a file nglm may replace",
};

/* The first bytes of path (through zlib, which reads a plain file as it
 * is), NUL-terminated; their count, or -1 if it cannot be read. */
static long head_of(const char *path, char *buf, size_t cap)
{
    gzFile gz = gzopen(path, "rb");
    if (!gz)
        return -1;
    int got = gzread(gz, buf, (unsigned)(cap - 1));
    gzclose(gz);
    if (got < 0)
        return -1;
    buf[got] = '\0';
    return got;
}

static int starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

int nglm_out_is_kind(const char *path, nglm_out_kind kind)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return 0;
    if (st.st_size == 0)
        return 1; /* nothing to lose */
    char buf[4096];
    long n = head_of(path, buf, sizeof buf);
    if (n <= 0)
        return 0;
    switch (kind) {
    case NGLM_OUT_MODEL: /* a word model or Model M may replace either */
        return nglm_model_file_is_native(path) || nglm_classlm_file_is(path);
    case NGLM_OUT_CHECKPOINT:
        return n >= 8 && memcmp(buf, NGLM_CHECKPOINT_MAGIC, 8) == 0;
    case NGLM_OUT_ARPA: { /* blank and '#' lines, then \data\ on a line of its own */
        const char *p = buf;
        for (;;) {
            while (*p == '\n' || *p == '\r' || *p == ' ' || *p == '\t')
                p++;
            if (*p != '#' || !strchr(p, '\n'))
                break;
            p = strchr(p, '\n');
        }
        return starts(p, "\\data\\") && (p[6] == '\n' || p[6] == '\r');
    }
    case NGLM_OUT_LOG:
        return starts(buf, "{\"epoch\":");
    case NGLM_OUT_PLOT:
        return starts(buf, "<?xml") && strstr(buf, "<svg") &&
               strstr(buf, "Validation perplexity per epoch</text>");
    case NGLM_OUT_VOCAB:
        return starts(buf, "<s>\t") && strstr(buf, "\n</s>\t") && strstr(buf, "\n<unk>\t");
    case NGLM_OUT_NEW:
        return 0;
    }
    return 0;
}

/* ---------------------------------------------------------------- the check */

/* The first of files[0..n) that is the file a names, or NULL. */
static const nglm_out_file *same_as(const file_id *a, const nglm_out_file *files, size_t n)
{
    file_id b;
    for (size_t j = 0; j < n; j++) {
        if (skipped(&files[j]))
            continue;
        identify(files[j].path, &b);
        if (same_file(a, &b))
            return &files[j];
    }
    return NULL;
}

void nglm_out_check(const nglm_out_file *in, size_t n_in, const nglm_out_file *out,
                    size_t n_out, int force)
{
    file_id a;
    for (size_t i = 0; i < n_out; i++) {
        if (skipped(&out[i]))
            continue;
        struct stat st;
        if (out[i].kind == NGLM_OUT_LOG && stat(out[i].path, &st) == 0 &&
            (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)))
            continue; /* a log streams: a pipe or a terminal is fine */
        if (nglm_path_is_sink(out[i].path))
            continue; /* a sink: nothing is replaced */
        /* every check is on the file the path names: a link is written
         * through (fileio.h), so its target is what would be replaced */
        nglm_error err;
        char *target = nglm_path_resolve(out[i].path, &err);
        if (!target && out[i].kind == NGLM_OUT_LOG && stat(out[i].path, &st) == 0)
            continue; /* a log written into a process's open file (/dev/stdout) */
        if (!target)
            nglm_cli_die(NGLM_EXIT_USAGE, "%s (%s)", err.msg, out[i].opt);
        identify(target, &a);
        const nglm_out_file *f = same_as(&a, in, n_in);
        if (f)
            nglm_cli_die(NGLM_EXIT_USAGE, "%s %s is the same file as %s %s: refusing to "
                         "overwrite an input", out[i].opt, out[i].path, f->opt, f->path);
        if ((f = same_as(&a, out, i)))
            nglm_cli_die(NGLM_EXIT_USAGE, "%s %s and %s %s are the same file: give each "
                         "output its own path", f->opt, f->path, out[i].opt, out[i].path);
        if (stat(target, &st) == 0 && !S_ISREG(st.st_mode)) /* as nglm_cli_check_writable */
            nglm_cli_die(NGLM_EXIT_FAIL, "%s: %s (%s)", out[i].path,
                         S_ISDIR(st.st_mode) ? "is a directory"
                                             : "not a regular file: refusing to replace it",
                         out[i].opt);
        nglm_cli_check_writable(target);
        if (a.exists && !force && !nglm_out_is_kind(target, out[i].kind)) {
            if (out[i].kind == NGLM_OUT_NEW)
                nglm_cli_die(NGLM_EXIT_USAGE, "refusing to replace %s (%s): it exists "
                             "(use --force)", out[i].path, out[i].opt);
            nglm_cli_die(NGLM_EXIT_USAGE, "refusing to replace %s (%s): not %s (use --force)",
                         out[i].path, out[i].opt, kind_name[out[i].kind]);
        }
        free(target);
    }
}

/* ---------------------------------------------------------------- the lock */

static int lock_fd = -1;
static char lock_path[PATH_MAX + 16];

static char kill_line[512]; /* written by the handler: formatted beforehand */

/* Only async-signal-safe calls: unlink, write, sigaction, raise. */
static void kill_handler(int sig)
{
    if (lock_fd >= 0)
        unlink(lock_path);
    ssize_t w = write(STDERR_FILENO, kill_line, strlen(kill_line));
    (void)w;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigaction(sig, &sa, NULL);
    raise(sig); /* killed by it: the shell sees 128 + sig */
}

void nglm_out_kill_on_signal(const char *message)
{
    snprintf(kill_line, sizeof kill_line, "%s: %s\n", nglm_cli_prog(), message);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = kill_handler;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

void nglm_out_unlock(void)
{
    if (lock_fd < 0)
        return;
    unlink(lock_path); /* while still holding it: see nglm_out_lock */
    close(lock_fd);
    lock_fd = -1;
}

/* Another process may unlink the file between our open and our flock (it
 * was releasing it), leaving us a lock on a file no one else can find:
 * after locking, the path must still name the file we hold. */
void nglm_out_lock(const char *model_path)
{
    if (nglm_path_is_sink(model_path))
        return; /* nothing is replaced, and no lock file belongs in /dev */
    /* the file a link names is the one replaced: two runs through two
     * links to it are one model path */
    nglm_error err;
    char *target = nglm_path_resolve(model_path, &err);
    if (!target)
        nglm_cli_die(NGLM_EXIT_USAGE, "%s", err.msg);
    int len = snprintf(lock_path, sizeof lock_path, "%s.lock", target);
    free(target);
    if (len >= (int)sizeof lock_path)
        nglm_cli_die(NGLM_EXIT_USAGE, "%s: path too long", model_path);
    for (int attempt = 0; attempt < 100; attempt++) {
        int fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
            nglm_cli_die(NGLM_EXIT_FAIL, "%s: %s", lock_path, strerror(errno));
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int e = errno;
            char pid[32] = "";
            ssize_t got = read(fd, pid, sizeof pid - 1);
            close(fd);
            if (e != EWOULDBLOCK)
                nglm_cli_die(NGLM_EXIT_FAIL, "%s: cannot lock: %s", lock_path, strerror(e));
            pid[got > 0 ? got : 0] = '\0';
            pid[strcspn(pid, "\n")] = '\0';
            nglm_cli_die(NGLM_EXIT_FAIL, "%s is being trained by process %s (it holds %s); "
                         "wait for it to end, or train into another --model",
                         model_path, *pid ? pid : "(unknown)", lock_path);
        }
        struct stat held, named;
        if (fstat(fd, &held) == 0 && stat(lock_path, &named) == 0 &&
            held.st_dev == named.st_dev && held.st_ino == named.st_ino) {
            char pid[32];
            int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
            if (ftruncate(fd, 0) != 0 || write(fd, pid, (size_t)len) != len)
                nglm_cli_warn("warning: %s: cannot record the process id", lock_path);
            lock_fd = fd;
            atexit(nglm_out_unlock);
            nglm_out_kill_on_signal("interrupted before training began: nothing was saved "
                                    "(no checkpoint exists yet: run it again)");
            return;
        }
        close(fd);
    }
    nglm_cli_die(NGLM_EXIT_FAIL, "%s: cannot take the lock (it keeps being replaced)", lock_path);
}
