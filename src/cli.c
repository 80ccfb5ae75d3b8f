/*
 * cli.c — shared helpers of the nglm programs (see cli.h): strict parsing of
 * option values and one-line fatal errors.  Kept out of libnglm, whose
 * functions never print or exit.
 */
#include "cli.h"

#include "config.h"

#include "nglm/modelfile.h"
#include "nglm/options.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

static const char *prog_name = "nglm";

void nglm_cli_set_prog(const char *argv0)
{
    const char *slash = argv0 ? strrchr(argv0, '/') : NULL;
    prog_name = slash ? slash + 1 : (argv0 ? argv0 : "nglm");
    /* libtool's uninstalled wrapper runs "lt-nglm-train" */
    if (strncmp(prog_name, "lt-", 3) == 0)
        prog_name += 3;
}

const char *nglm_cli_prog(void) { return prog_name; }

void nglm_cli_die(int status, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", prog_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(status);
}

void nglm_cli_warn(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", prog_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* The library's value parsers (nglm/options.h), dying with the option's
 * name before their message. */
long nglm_cli_long(const char *opt, const char *s, long min, long max)
{
    long v;
    nglm_error err;
    if (nglm_parse_long(s, min, max, &v, &err) != 0)
        nglm_cli_die(NGLM_EXIT_USAGE, "%s: %s", opt, err.msg);
    return v;
}

double nglm_cli_double(const char *opt, const char *s, double min, double max)
{
    double v;
    nglm_error err;
    if (nglm_parse_double(s, min, max, &v, &err) != 0)
        nglm_cli_die(NGLM_EXIT_USAGE, "%s: %s", opt, err.msg);
    return v;
}

uint64_t nglm_cli_count(const char *opt, const char *s)
{
    uint64_t v;
    nglm_error err;
    if (nglm_parse_count(s, &v, &err) != 0)
        nglm_cli_die(NGLM_EXIT_USAGE, "%s: %s", opt, err.msg);
    return v;
}

uint64_t nglm_cli_size(const char *opt, const char *s)
{
    uint64_t v;
    nglm_error err;
    if (nglm_parse_size(s, &v, &err) != 0)
        nglm_cli_die(NGLM_EXIT_USAGE, "%s: %s", opt, err.msg);
    return v;
}

nglm_tok_mode nglm_cli_tok_mode(const char *s)
{
    nglm_tok_mode mode;
    nglm_error err;
    if (nglm_tok_mode_parse(s, &mode, &err) != 0)
        nglm_cli_die(NGLM_EXIT_USAGE, "--tokenize: %s", err.msg);
    return mode;
}

/* The word of argv that getopt was reading when it met the unknown short
 * option ch: the first cluster ("-ppl") that holds it. */
static const char *cluster_of(int argc, char **argv, int ch)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (argv[i][0] == '-' && argv[i][1] != '-' && strchr(argv[i] + 1, ch))
            return argv[i];
    }
    return NULL;
}

void nglm_cli_bad_option(int c, int argc, char **argv, const char *hint)
{
    static const char *const foreign[] = {"-lm", "-ppl", "-order", "-text", "-vocab",
                                           "-write-lm", "-unk", "-debug", "-prune",
                                           "-interpolate", "-kndiscount", "-gen", NULL};
    /* a missing value ends the words, so the option is the last one; an
     * unknown long option was stepped over; an unknown short one may be in
     * the middle of a cluster, which getopt has not left */
    const char *word = optind > 0 && optind <= argc ? argv[optind - 1] : "";
    size_t len = strcspn(word, "=");
    if (c == ':') {
        if (strncmp(word, "--", 2) == 0)
            nglm_cli_die(NGLM_EXIT_USAGE, "%.*s needs a value (see --help)", (int)len, word);
        nglm_cli_die(NGLM_EXIT_USAGE, "-%c needs a value (see --help)", optopt);
    }
    if (optopt != 0) { /* a short option */
        const char *in = cluster_of(argc, argv, optopt);
        for (int i = 0; in && hint && foreign[i]; i++)
            if (strcmp(in, foreign[i]) == 0)
                nglm_cli_die(NGLM_EXIT_USAGE, "unknown option '%s': %s", in, hint);
        if (in && strlen(in) > 2)
            nglm_cli_die(NGLM_EXIT_USAGE, "unknown option '-%c' (in '%s'; long options are "
                         "spelled --name, see --help)", optopt, in);
        nglm_cli_die(NGLM_EXIT_USAGE, "unknown option '-%c' (see --help)", optopt);
    }
    nglm_cli_die(NGLM_EXIT_USAGE, "unknown option '%.*s' (see --help)", (int)len, word);
}

static char spool_path[4200]; /* the copy of a pipe, removed at exit */

static void remove_spool(void)
{
    if (spool_path[0])
        unlink(spool_path);
}

void nglm_cli_rereadable_done(void)
{
    remove_spool();
    spool_path[0] = '\0';
}

const char *nglm_cli_rereadable(const char *path, const char *temp_dir,
                                const char *tty_message)
{
    int is_stdin = strcmp(path, "-") == 0;
    struct stat st;
    if (!is_stdin && (stat(path, &st) != 0 || S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)))
        return path; /* a file (or what its reader will refuse in its own words) */
    if (is_stdin && fstat(STDIN_FILENO, &st) == 0 && S_ISREG(st.st_mode) &&
        lseek(STDIN_FILENO, 0, SEEK_CUR) == 0)
        return "/dev/stdin";
    if (is_stdin && isatty(STDIN_FILENO))
        nglm_cli_die(NGLM_EXIT_USAGE, "%s", tty_message);
    int in = is_stdin ? STDIN_FILENO : open(path, O_RDONLY);
    if (in < 0)
        return path;
    const char *dir = temp_dir ? temp_dir : getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    if (spool_path[0] || snprintf(spool_path, sizeof spool_path, "%s/nglm-stdin-XXXXXX", dir) >=
                             (int)sizeof spool_path)
        nglm_cli_die(NGLM_EXIT_USAGE, "cannot copy a second text, or --temp-dir: path too long");
    int fd = mkstemp(spool_path);
    if (fd < 0) {
        spool_path[0] = '\0';
        nglm_cli_die(NGLM_EXIT_FAIL, "cannot copy %s to a temporary file in %s: %s",
                     is_stdin ? "stdin" : path, dir, strerror(errno));
    }
    atexit(remove_spool);
    static char buf[1 << 16];
    for (;;) {
        ssize_t r = read(in, buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            nglm_cli_die(NGLM_EXIT_FAIL, "reading %s: %s", is_stdin ? "stdin" : path,
                         strerror(errno));
        if (r == 0)
            break;
        for (ssize_t off = 0; off < r;) {
            ssize_t w = write(fd, buf + off, (size_t)(r - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                nglm_cli_die(NGLM_EXIT_FAIL, "copying %s to %s: %s", is_stdin ? "stdin" : path,
                             spool_path, w < 0 ? strerror(errno) : "disk full");
            off += w;
        }
    }
    if (!is_stdin)
        close(in);
    if (close(fd) != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "copying %s to %s: %s", is_stdin ? "stdin" : path,
                     spool_path, strerror(errno));
    return spool_path;
}

const char *nglm_cli_invoked_as(const char *argv0, char *buf, size_t n)
{
    const char *base = strrchr(argv0, '/');
    if (!base || base - argv0 < 6 || strncmp(base - 6, "/.libs", 6) != 0)
        return argv0;
    const char *name = base + 1;
    if (strncmp(name, "lt-", 3) == 0)
        name += 3;
    int len = snprintf(buf, n, "%.*s%s", (int)(base - 6 - argv0) + 1, argv0, name);
    if (len < 0 || (size_t)len >= n || access(buf, X_OK) != 0)
        return argv0;
    return buf;
}

/* ---------------------------------------------------------------- output paths */

void nglm_cli_check_writable(const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        nglm_cli_die(NGLM_EXIT_FAIL, "%s: %s", path,
                     S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
    const char *slash = strrchr(path, '/');
    char dir[4200];
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else
        snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    if (access(dir, W_OK | X_OK) != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s: cannot create a file in %s: %s", path, dir,
                     strerror(errno));
}

/* ---------------------------------------------------------------- progress lines */

int nglm_cli_progress_mode(const char *s)
{
    if (strcmp(s, "auto") == 0)
        return NGLM_CLI_PROGRESS_AUTO;
    if (strcmp(s, "always") == 0)
        return NGLM_CLI_PROGRESS_ALWAYS;
    if (strcmp(s, "never") == 0)
        return NGLM_CLI_PROGRESS_NEVER;
    nglm_cli_die(NGLM_EXIT_USAGE, "--progress: '%s' is not auto, always or never", s);
}

void nglm_cli_meter_init(nglm_cli_meter *m, int mode)
{
    memset(m, 0, sizeof *m);
    m->mode = mode;
    m->tty = mode != NGLM_CLI_PROGRESS_NEVER && isatty(STDERR_FILENO);
    m->unit = "";
    m->scale = 1;
}

static void meter_fn(uint64_t done, uint64_t total, void *user)
{
    nglm_cli_meter_show(user, done, total, NULL);
}

nglm_progress nglm_cli_meter_begin(nglm_cli_meter *m, const char *what, const char *unit,
                                   double scale)
{
    double t = nglm_wall_seconds();
    snprintf(m->what, sizeof m->what, "%s", what);
    m->unit = unit;
    m->scale = scale;
    m->t_begin = t;
    m->done0 = 0;
    /* a terminal shows new work at once; elsewhere the interval runs on */
    if (m->tty)
        m->t_shown = -INFINITY;
    else if (m->t_shown == 0)
        m->t_shown = t;
    return (nglm_progress){meter_fn, m};
}

void nglm_cli_meter_show(nglm_cli_meter *m, uint64_t done, uint64_t total, const char *extra)
{
    if (m->mode == NGLM_CLI_PROGRESS_NEVER)
        return;
    double t = nglm_wall_seconds();
    double interval = m->tty ? 0.2 : m->mode == NGLM_CLI_PROGRESS_ALWAYS ? 0 : 5;
    if (t - m->t_shown < interval || done < m->done0)
        return;
    m->t_shown = t;
    double secs = t - m->t_begin > 1e-9 ? t - m->t_begin : 1e-9;
    double rate = (double)(done - m->done0) * m->scale / secs;
    char body[96]; /* "P%  R UNIT/s  ETA m:ss", or without a total "D UNIT  R UNIT/s" */
    if (total > 0) {
        double eta = rate > 0 ? (double)(total > done ? total - done : 0) * m->scale / rate : 0;
        snprintf(body, sizeof body, "%5.1f%%  %.0f %s/s  ETA %d:%02d",
                 100.0 * (double)done / (double)total, rate, m->unit, (int)(eta / 60),
                 (int)fmod(eta, 60));
    } else {
        snprintf(body, sizeof body, "%.0f %s  %.0f %s/s", (double)done * m->scale, m->unit,
                 rate, m->unit);
    }
    fprintf(stderr, "%s%s: %s%s%s%s", m->tty ? "\r" : "", m->what, body, extra ? "  " : "",
            extra ? extra : "", m->tty ? "\033[K" : "\n");
    fflush(stderr);
    m->drawn = m->tty;
}

void nglm_cli_meter_clear(nglm_cli_meter *m)
{
    if (m->drawn) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        m->drawn = 0;
    }
}

/* ---------------------------------------------------------------- option tables */

/* The group headings of the tables, each once, in the order they first
 * appear. */
void nglm_cli_options_help(FILE *fp, const nglm_cli_table *tables, int n_tables)
{
    for (int t = 0; t < n_tables; t++)
        for (size_t i = 0; i < tables[t].n; i++) {
            const char *g = tables[t].rows[i].group;
            int seen = 0;
            for (int u = 0; u <= t && !seen; u++)
                for (size_t j = 0; j < (u < t ? tables[u].n : i) && !seen; j++)
                    seen = strcmp(tables[u].rows[j].group, g) == 0;
            if (seen)
                continue;
            if (*g)
                fprintf(fp, "%s:\n", g);
            for (int u = 0; u < n_tables; u++)
                nglm_options_help(fp, tables[u].rows, tables[u].n, g);
        }
}

int nglm_cli_parse(int argc, char **argv, const nglm_cli_table *tables, int n_tables,
                   void (*usage)(FILE *fp), const char *hint)
{
    enum { FIRST = 256, OPT_HELP = 255, OPT_VERSION = 254 };
    size_t n_rows = 0, k = 0;
    for (int t = 0; t < n_tables; t++)
        n_rows += tables[t].n;
    /* each row's name and alias, then --help, --version and the end */
    /* static: the program may exit from inside the loop (a bad value,
     * --help), and what it exits with must still be reachable, not leaked */
    static struct option *longopts;
    static char *shorts;
    static const nglm_option **row_of;
    static void **opts_of;
    longopts = calloc(2 * n_rows + 3, sizeof *longopts);
    shorts = malloc(2 * n_rows + 3);
    row_of = calloc(n_rows, sizeof *row_of);
    opts_of = calloc(n_rows, sizeof *opts_of);
    if (!longopts || !shorts || !row_of || !opts_of)
        nglm_cli_die(NGLM_EXIT_FAIL, "out of memory");
    size_t ns = 0;
    shorts[ns++] = ':'; /* a missing value returns ':' (nglm_cli_bad_option) */
    shorts[ns++] = 'h';
    size_t r = 0;
    for (int t = 0; t < n_tables; t++)
        for (size_t i = 0; i < tables[t].n; i++, r++) {
            const nglm_option *row = &tables[t].rows[i];
            row_of[r] = row;
            opts_of[r] = tables[t].opts;
            int has_arg = row->arg ? required_argument : no_argument;
            longopts[k++] = (struct option){row->name, has_arg, NULL, FIRST + (int)r};
            if (row->alias)
                longopts[k++] = (struct option){row->alias, has_arg, NULL, FIRST + (int)r};
            if (row->short_name) {
                shorts[ns++] = (char)row->short_name;
                if (row->arg)
                    shorts[ns++] = ':';
            }
        }
    shorts[ns] = '\0';
    int own_version = 0; /* a row called version (nglm-gen's, with -V) replaces ours */
    for (size_t j = 0; j < n_rows; j++)
        own_version |= strcmp(row_of[j]->name, "version") == 0;
    longopts[k++] = (struct option){"help", no_argument, NULL, OPT_HELP};
    if (!own_version)
        longopts[k++] = (struct option){"version", no_argument, NULL, OPT_VERSION};
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, shorts, longopts, NULL)) != -1) {
        size_t at = n_rows;
        if (c >= FIRST && (size_t)(c - FIRST) < n_rows)
            at = (size_t)(c - FIRST);
        for (size_t j = 0; j < n_rows && at == n_rows && c != ':' && c != '?'; j++)
            if (row_of[j]->short_name == c)
                at = j;
        if (at < n_rows) {
            nglm_error err;
            if (nglm_option_set(row_of[at], opts_of[at], optarg, &err) != 0)
                nglm_cli_die(NGLM_EXIT_USAGE, "--%s: %s", row_of[at]->name, err.msg);
        } else if (c == 'h' || c == OPT_HELP) {
            usage(stdout);
            exit(0);
        } else if (c == OPT_VERSION) {
            printf("%s (nglm) %s\n", prog_name, PACKAGE_VERSION);
            exit(0);
        } else {
            nglm_cli_bad_option(c, argc, argv, hint);
        }
    }
    free(longopts);
    free(shorts);
    free(row_of);
    free(opts_of);
    longopts = NULL, shorts = NULL, row_of = NULL, opts_of = NULL;
    return optind;
}

/* ---------------------------------------------------------------- gzip texts */

#define GUNZIP_MAX 8
static char gunzip_paths[GUNZIP_MAX][4200]; /* copies removed at exit */

static void remove_gunzipped(void)
{
    for (int i = 0; i < GUNZIP_MAX; i++)
        if (gunzip_paths[i][0])
            unlink(gunzip_paths[i]);
}

const char *nglm_cli_gunzipped(const char *path, const char *temp_dir)
{
    unsigned char magic[2];
    struct stat st;
    /* only a regular file is looked into: opening a FIFO and closing it
     * unread would end its writer (SIGPIPE) before the reader's turn */
    if (strcmp(path, "-") == 0 || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return path; /* stdin, a stream, or what the reader refuses in its own words */
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return path;
    int gz = fread(magic, 1, 2, fp) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    fclose(fp);
    if (!gz)
        return path;
    int slot = 0;
    while (slot < GUNZIP_MAX && gunzip_paths[slot][0])
        slot++;
    if (slot == GUNZIP_MAX)
        nglm_cli_die(NGLM_EXIT_USAGE, "%s: too many gzip-compressed texts at once", path);
    const char *dir = temp_dir ? temp_dir : getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    char *out = gunzip_paths[slot];
    if (snprintf(out, sizeof gunzip_paths[slot], "%s/nglm-gunzip-XXXXXX", dir) >=
        (int)sizeof gunzip_paths[slot])
        nglm_cli_die(NGLM_EXIT_USAGE, "the temporary directory's path is too long");
    int fd = mkstemp(out);
    if (fd < 0) {
        out[0] = '\0';
        nglm_cli_die(NGLM_EXIT_FAIL, "cannot uncompress %s into a temporary file in %s: %s",
                     path, dir, strerror(errno));
    }
    static int registered;
    if (!registered++)
        atexit(remove_gunzipped);
    gzFile in = gzopen(path, "rb");
    if (!in)
        nglm_cli_die(NGLM_EXIT_FAIL, "%s: %s", path, strerror(errno ? errno : ENOMEM));
    static char buf[1 << 16];
    int r;
    while ((r = gzread(in, buf, sizeof buf)) > 0)
        for (ssize_t off = 0; off < r;) {
            ssize_t w = write(fd, buf + off, (size_t)(r - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                nglm_cli_die(NGLM_EXIT_FAIL, "uncompressing %s into %s: %s", path, dir,
                             strerror(errno));
            off += w;
        }
    int zerr = Z_OK;
    const char *msg = gzerror(in, &zerr); /* a truncated file: Z_BUF_ERROR at the end */
    if (r < 0 || (zerr != Z_OK && zerr != Z_STREAM_END))
        nglm_cli_die(NGLM_EXIT_FAIL, "%s: bad gzip data (%s)", path,
                     strncmp(msg, path, strlen(path)) == 0 && msg[strlen(path)] == ':'
                         ? msg + strlen(path) + 2 : msg);
    gzclose(in);
    if (close(fd) != 0)
        nglm_cli_die(NGLM_EXIT_FAIL, "uncompressing %s into %s: %s", path, dir, strerror(errno));
    return out;
}
