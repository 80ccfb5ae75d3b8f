/*
 * check_plot.c — nglm_plot_svg: the SVG is well-formed (checked by a small
 * tag-balance parser here, not a full XML parser), has one <circle> per
 * epoch and the reference line when asked, and bad input is refused
 * without creating the file.
 */
#include <math.h>
#include <sys/stat.h>

#include "nglm/plot.h"
#include "testutil.h"

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    ck_assert_ptr_nonnull(fp);
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    return buf;
}

/* 1 if every start tag has its end tag in order (self-closing tags,
 * <?...?> and attribute values quoted with " are understood), else 0. */
static int well_formed(const char *s)
{
    char stack[64][32];
    int depth = 0, roots = 0;
    for (const char *p = s; *p; p++) {
        if (*p == '&') { /* only the entities the writer uses */
            if (strncmp(p, "&lt;", 4) && strncmp(p, "&gt;", 4) && strncmp(p, "&amp;", 5) &&
                strncmp(p, "&quot;", 6))
                return 0;
            continue;
        }
        if (*p == '>')
            return 0;
        if (*p != '<')
            continue;
        if (p[1] == '?') {
            const char *e = strstr(p, "?>");
            if (!e)
                return 0;
            p = e + 1;
            continue;
        }
        int closing = p[1] == '/';
        const char *q = p + 1 + closing;
        size_t len = strspn(q, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:-");
        if (len == 0 || len >= 32)
            return 0;
        const char *r = q + len;
        int in_quote = 0;
        for (; *r && (in_quote || *r != '>'); r++) {
            if (*r == '"')
                in_quote = !in_quote;
            else if (*r == '<' && !in_quote)
                return 0;
        }
        if (!*r)
            return 0;
        int self = r[-1] == '/';
        if (closing) {
            if (depth == 0 || strncmp(stack[depth - 1], q, len) || stack[depth - 1][len])
                return 0;
            depth--;
        } else if (!self) {
            if (depth == 64)
                return 0;
            if (depth == 0)
                roots++;
            memcpy(stack[depth], q, len);
            stack[depth++][len] = '\0';
        } else if (depth == 0) {
            roots++;
        }
        p = r;
    }
    return depth == 0 && roots == 1;
}

static int count(const char *s, const char *what)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, what)); p++)
        n++;
    return n;
}

static const char *out_path(void)
{
    static char p[64];
    snprintf(p, sizeof p, "/tmp/nglm-plot-%d.svg", (int)getpid());
    return p;
}

START_TEST(test_checker)
{
    ck_assert(well_formed("<a><b x=\"1>\"/><c></c></a>"));
    ck_assert(!well_formed("<a><b></a></b>"));
    ck_assert(!well_formed("<a><b></a>"));
    ck_assert(!well_formed("<a></a><a></a>"));
    ck_assert(!well_formed("<a>&bogus;</a>"));
}
END_TEST

START_TEST(test_curve)
{
    double ppl[] = {300, 210.5, 180.25, 182, 179.9};
    nglm_error err;
    const char *path = out_path();
    for (int n = 1; n <= 5; n++) {
        ck_assert_msg(nglm_plot_svg(ppl, n, NAN, NULL, path, &err) == 0, "%s", err.msg);
        const char *s = slurp(path);
        ck_assert_msg(well_formed(s), "not well-formed:\n%s", s);
        ck_assert_int_eq(count(s, "<circle"), n);
        ck_assert_int_eq(count(s, "class=\"best\""), 2); /* its point and its label */
        ck_assert_int_eq(count(s, "class=\"reference\""), 0);
        ck_assert_ptr_nonnull(strstr(s, "<polyline"));
        ck_assert_ptr_nonnull(strstr(s, "Validation perplexity"));
    }
    /* the best is the lowest: epoch 5 */
    ck_assert_ptr_nonnull(strstr(slurp(path), "best 179.9 (epoch 5)"));
    unlink(path);
}
END_TEST

START_TEST(test_reference)
{
    double ppl[] = {300, 200, 150};
    nglm_error err;
    const char *path = out_path();
    ck_assert_msg(nglm_plot_svg(ppl, 3, 141.2, "KN <5-gram> & co", path, &err) == 0, "%s",
                  err.msg);
    const char *s = slurp(path);
    ck_assert_msg(well_formed(s), "not well-formed:\n%s", s);
    ck_assert_int_eq(count(s, "class=\"reference\""), 2); /* the line and its label */
    ck_assert_ptr_nonnull(strstr(s, "KN &lt;5-gram&gt; &amp; co 141.2"));
    ck_assert_int_eq(count(s, "<circle"), 3);
    /* flat curve equal to the reference still gets a y range */
    double flat[] = {100, 100};
    ck_assert_msg(nglm_plot_svg(flat, 2, 100, NULL, path, &err) == 0, "%s", err.msg);
    s = slurp(path);
    ck_assert(well_formed(s));
    ck_assert_ptr_nonnull(strstr(s, ">reference 100</text>"));
    ck_assert(!strstr(s, "nan") && !strstr(s, "inf"));
    unlink(path);
}
END_TEST

/* A <text> element's box as a renderer could draw it at most: 0.65 em a
 * character (an entity is one), the font size from the element or 12, the
 * anchor's alignment.  Rotated text (the y axis title) is not checked. */
typedef struct tbox { double x0, y0, x1, y1; char cls[16]; } tbox;

static double attr(const char *tag, const char *end, const char *name, double dflt)
{
    char key[32];
    snprintf(key, sizeof key, " %s=\"", name);
    const char *p = strstr(tag, key);
    return p && p < end ? atof(p + strlen(key)) : dflt;
}

static int text_boxes(const char *s, tbox *out, int cap)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, "<text ")); p++) {
        const char *gt = strchr(p, '>'), *close = strstr(p, "</text>");
        ck_assert(gt && close && gt < close);
        if (strstr(p, "transform=") && strstr(p, "transform=") < gt)
            continue;
        size_t chars = 0;
        for (const char *c = gt + 1; c < close; c++) {
            if (*c == '&')
                c = strchr(c, ';');
            chars += ((unsigned char)*c & 0xC0) != 0x80;
        }
        double size = attr(p, gt, "font-size", 12), x = attr(p, gt, "x", 0), y = attr(p, gt, "y", 0);
        double w = 0.65 * size * (double)chars;
        const char *anchor = strstr(p, "text-anchor=\"");
        double left = x;
        if (anchor && anchor < gt && strncmp(anchor + 13, "middle", 6) == 0)
            left = x - w / 2;
        else if (anchor && anchor < gt && strncmp(anchor + 13, "end", 3) == 0)
            left = x - w;
        ck_assert_int_lt(n, cap);
        out[n] = (tbox){left, y - size, left + w, y + 0.3 * size, ""};
        const char *cls = strstr(p, "class=\"");
        if (cls && cls < gt)
            sscanf(cls + 7, "%15[a-z]", out[n].cls);
        n++;
    }
    return n;
}

/* Every label inside the 640x400 canvas, and the best epoch's label clear
 * of the reference's, wherever the best point and the reference line fall
 * (the README's curve clipped "best 142.311 (e" at the right edge). */
START_TEST(test_labels_inside)
{
    const char *path = out_path();
    const char *labels[] = {"Kneser-Ney", "Kneser-Ney 5-gram (KenLM), valid",
                            "a reference label long enough to cross half the plot area"};
    double curves[][7] = {{184.8, 163.5, 155.3, 151.8, 150.3, 143.9, 142.311},
                          {142.2, 150, 160, 170, 180, 190, 200},
                          {150, 149, 148.2, 148.05, 148.5, 149, 150}};
    double refs[] = {NAN, 148.0, 142.3, 142.2, 148.05, 300, 10};
    nglm_error err;
    int checked = 0;
    for (int c = 0; c < 3; c++)
        for (int n = 1; n <= 7; n++)
            for (int r = 0; r < 7; r++)
                for (int l = 0; l < 3; l++) {
                    ck_assert_msg(nglm_plot_svg(curves[c], n, refs[r], labels[l], path, &err) == 0,
                                  "%s", err.msg);
                    const char *s = slurp(path);
                    tbox b[64];
                    int nb = text_boxes(s, b, 64), best = -1, ref = -1;
                    for (int i = 0; i < nb; i++) {
                        ck_assert_msg(b[i].x0 >= 0 && b[i].x1 <= 640 && b[i].y0 >= 0 &&
                                          b[i].y1 <= 400,
                                      "curve %d, %d epochs, reference %g, label %d: a label at "
                                      "x %.1f..%.1f, y %.1f..%.1f leaves the canvas",
                                      c, n, refs[r], l, b[i].x0, b[i].x1, b[i].y0, b[i].y1);
                        if (!strcmp(b[i].cls, "best"))
                            best = i;
                        if (!strcmp(b[i].cls, "reference"))
                            ref = i;
                    }
                    ck_assert_int_ge(best, 0);
                    ck_assert_int_eq(ref >= 0, !isnan(refs[r]));
                    if (ref >= 0)
                        ck_assert_msg(b[best].x1 <= b[ref].x0 || b[ref].x1 <= b[best].x0 ||
                                          b[best].y1 <= b[ref].y0 || b[ref].y1 <= b[best].y0,
                                      "curve %d, %d epochs, reference %g, label %d: the best "
                                      "and reference labels overlap", c, n, refs[r], l);
                    checked++;
                }
    ck_assert_int_eq(checked, 3 * 7 * 7 * 3);
    unlink(path);
}
END_TEST

START_TEST(test_bad_input)
{
    double good[] = {200, 150};
    double bad[][2] = {{200, NAN}, {INFINITY, 100}, {200, -1}, {0, 100}};
    nglm_error err;
    const char *path = out_path();
    unlink(path);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(nglm_plot_svg(bad[i], 2, NAN, NULL, path, &err), -1);
        ck_assert_ptr_nonnull(strstr(err.msg, "not a finite positive number"));
    }
    ck_assert_int_eq(nglm_plot_svg(good, 0, NAN, NULL, path, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "no epochs"));
    ck_assert_int_eq(nglm_plot_svg(good, 2, INFINITY, NULL, path, &err), -1);
    ck_assert_int_eq(nglm_plot_svg(good, 2, -3, NULL, path, &err), -1);
    struct stat st;
    ck_assert_int_ne(stat(path, &st), 0); /* nothing created */
    ck_assert_int_eq(nglm_plot_svg(good, 2, NAN, NULL, "/nonexistent-dir/x.svg", &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent-dir/x.svg"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("plot");
    TCase *tc = tcase_create("svg");
    tcase_add_test(tc, test_checker);
    tcase_add_test(tc, test_curve);
    tcase_add_test(tc, test_reference);
    tcase_add_test(tc, test_labels_inside);
    tcase_add_test(tc, test_bad_input);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
