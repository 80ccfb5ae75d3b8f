/*
 * plot.c — the learning curve (validation perplexity per epoch) as an SVG
 * image; see nglm/plot.h.
 *
 * The SVG is written by hand: a fixed 640×400 canvas, a linear y axis whose
 * range is rounded out to "nice" tick steps (1, 2 or 5 times a power of
 * ten) so the labels read well, and integer epoch ticks on x.  Text that
 * comes from the caller (the reference label) is escaped for XML.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>

#include "fileio.h"
#include "nglm/plot.h"

enum { W = 640, H = 400, LEFT = 70, RIGHT = 20, TOP = 40, BOTTOM = 50 };

/* The smallest of 1, 2, 5 × 10^k that is at least x. */
static double nice_step(double x)
{
    double p = pow(10, floor(log10(x)));
    return x <= p ? p : x <= 2 * p ? 2 * p : x <= 5 * p ? 5 * p : 10 * p;
}

/* Label boxes.  A label's width is estimated generously from its length
 * (0.65 em a character: DejaVu Sans digits take 0.64, letters less), so
 * that keeping the estimate inside the canvas keeps the text inside. */
#define FONT 12.0
typedef struct box { double x0, y0, x1, y1; } box;

static double text_width(const char *s)
{
    size_t chars = 0;
    for (; *s; s++)
        chars += ((unsigned char)*s & 0xC0) != 0x80; /* code points */
    return 0.65 * FONT * (double)chars;
}

/* The box of a label whose baseline is y, centred at x (anchor 0), ending
 * at x (anchor 1) or starting at x (anchor -1). */
static box label_box(const char *s, double x, double y, int anchor)
{
    double w = text_width(s), left = anchor == 0 ? x - w / 2 : anchor > 0 ? x - w : x;
    return (box){left, y - FONT, left + w, y + 0.3 * FONT};
}

static int overlap(box a, box b)
{
    return a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
}

static double clamp(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }

static void put_escaped(FILE *fp, const char *s)
{
    for (; *s; s++)
        switch (*s) {
        case '<': fputs("&lt;", fp); break;
        case '>': fputs("&gt;", fp); break;
        case '&': fputs("&amp;", fp); break;
        case '"': fputs("&quot;", fp); break;
        default:
            if ((unsigned char)*s >= 0x20 || *s == '\t')
                fputc(*s, fp);
        }
}

int nglm_plot_svg(const double *ppl, int n, double reference, const char *ref_label,
                  const char *path, nglm_error *err)
{
    if (n < 1)
        return nglm_error_set(err, "%s: no epochs to plot", path);
    int has_ref = !isnan(reference);
    if (has_ref && !(isfinite(reference) && reference > 0))
        return nglm_error_set(err, "%s: the reference perplexity is not a finite positive number",
                              path);
    /* y range: every point and the reference, rounded out to whole ticks */
    double lo = INFINITY, hi = -INFINITY;
    int best = 0;
    for (int i = 0; i < n; i++) {
        if (!(isfinite(ppl[i]) && ppl[i] > 0))
            return nglm_error_set(err, "%s: the perplexity of epoch %d is not a finite "
                                  "positive number", path, i + 1);
        lo = fmin(lo, ppl[i]);
        hi = fmax(hi, ppl[i]);
        if (ppl[i] < ppl[best])
            best = i;
    }
    if (has_ref) {
        lo = fmin(lo, reference);
        hi = fmax(hi, reference);
    }
    double span = hi - lo > 0 ? hi - lo : fmax(hi * 0.1, 1e-9);
    double step = nice_step(span / 5);
    double y0 = floor(lo / step) * step, y1 = ceil(hi / step) * step;
    if (y1 - y0 < step) {
        y0 -= step;
        y1 += step;
    }
    /* x range: epochs 1..n, half an epoch of room for a single point */
    double x0 = n > 1 ? 1 : 0.5, x1 = n > 1 ? n : 1.5;
    double pw = W - LEFT - RIGHT, ph = H - TOP - BOTTOM;
#define PX(e) (LEFT + ((e) - x0) / (x1 - x0) * pw)
#define PY(v) (TOP + (y1 - (v)) / (y1 - y0) * ph)

    nglm_atomic at;
    if (nglm_atomic_open(&at, path, err) != 0)
        return -1;
    FILE *fp = at.fp;
    fprintf(fp, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n",
            W, H, W, H);
    fprintf(fp, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"white\"/>\n", W, H);
    fprintf(fp, "<text x=\"%d\" y=\"24\" text-anchor=\"middle\" font-size=\"16\">"
                "Validation perplexity per epoch</text>\n", W / 2);
    /* axes */
    fprintf(fp, "<g stroke=\"black\" fill=\"none\">\n"
                "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n"
                "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n</g>\n",
            LEFT, TOP, LEFT, H - BOTTOM, LEFT, H - BOTTOM, W - RIGHT, H - BOTTOM);
    /* y ticks and grid */
    fprintf(fp, "<g>\n");
    for (double v = y0; v <= y1 + step * 1e-6; v += step) {
        double y = PY(v);
        fprintf(fp, "<line x1=\"%d\" y1=\"%.2f\" x2=\"%d\" y2=\"%.2f\" stroke=\"#ddd\"/>"
                    "<text x=\"%d\" y=\"%.2f\" text-anchor=\"end\">%.6g</text>\n",
                LEFT, y, W - RIGHT, y, LEFT - 6, y + 4, v);
    }
    /* x ticks: at most about 10 labelled epochs */
    int xstep = (int)nice_step(n / 10.0 > 1 ? n / 10.0 : 1);
    for (int e = 1; e <= n; e++) {
        if (e != 1 && e % xstep != 0)
            continue;
        double x = PX(e);
        fprintf(fp, "<line x1=\"%.2f\" y1=\"%d\" x2=\"%.2f\" y2=\"%d\" stroke=\"black\"/>"
                    "<text x=\"%.2f\" y=\"%d\" text-anchor=\"middle\">%d</text>\n",
                x, H - BOTTOM, x, H - BOTTOM + 5, x, H - BOTTOM + 18, e);
    }
    fprintf(fp, "</g>\n");
    fprintf(fp, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">epoch</text>\n",
            LEFT + (int)pw / 2, H - 12);
    fprintf(fp, "<text x=\"16\" y=\"%d\" text-anchor=\"middle\" "
                "transform=\"rotate(-90 16 %d)\">validation perplexity</text>\n",
            TOP + (int)ph / 2, TOP + (int)ph / 2);
    /* where the two labels go: the first of these placements that keeps
     * both inside the plot area and apart (else the first that fits): the
     * best epoch's label centred above its point, higher, or below it,
     * shifted sideways to stay inside; the reference label above its line
     * at the right end, at the left end, or below it at either end */
    char best_text[64], ref_text[320];
    snprintf(best_text, sizeof best_text, "best %.6g (epoch %d)", ppl[best], best + 1);
    snprintf(ref_text, sizeof ref_text, "%.*s %.6g", 240,
             ref_label ? ref_label : "reference", reference);
    double bw = text_width(best_text);
    double bx = clamp(PX(best + 1), LEFT + bw / 2 + 2, W - RIGHT - bw / 2);
    double pb = PY(ppl[best]), pr = has_ref ? PY(reference) : 0;
    const double best_dy[3] = {-10, -28, 10 + FONT}, ref_dy[2] = {-5, 5 + FONT};
    const double ref_x[2] = {W - RIGHT - 4, LEFT + 4};
    double by = pb + best_dy[0], ry = pr + ref_dy[0], rx = ref_x[0];
    int ranchor = 1, placed = 0;
    for (int pass = 0; pass < 2 && !placed; pass++) /* pass 1: fitting is enough */
        for (int i = 0; i < 3 && !placed; i++)
            for (int j = 0; j < (has_ref ? 4 : 1) && !placed; j++) {
                double y = pb + best_dy[i], yr = pr + ref_dy[j / 2], xr = ref_x[j % 2];
                int anchor = j % 2 ? -1 : 1;
                box b = label_box(best_text, bx, y, 0), r = label_box(ref_text, xr, yr, anchor);
                int fits = b.y0 >= TOP && b.y1 <= H - BOTTOM &&
                           (!has_ref || (r.y0 >= TOP && r.y1 <= H - BOTTOM));
                if (fits && (pass == 1 || !has_ref || !overlap(b, r))) {
                    by = y;
                    ry = yr;
                    rx = xr;
                    ranchor = anchor;
                    placed = 1;
                }
            }
    /* the reference line */
    if (has_ref) {
        double y = PY(reference);
        fprintf(fp, "<line class=\"reference\" x1=\"%d\" y1=\"%.2f\" x2=\"%d\" y2=\"%.2f\" "
                    "stroke=\"gray\" stroke-dasharray=\"6,4\"/>\n"
                    "<text class=\"reference\" x=\"%.2f\" y=\"%.2f\" text-anchor=\"%s\" "
                    "fill=\"gray\">",
                LEFT, y, W - RIGHT, y, rx, ry, ranchor > 0 ? "end" : "start");
        put_escaped(fp, ref_text);
        fprintf(fp, "</text>\n");
    }
    /* the curve, its points and the best epoch */
    fprintf(fp, "<polyline fill=\"none\" stroke=\"steelblue\" stroke-width=\"2\" points=\"");
    for (int i = 0; i < n; i++)
        fprintf(fp, "%s%.2f,%.2f", i ? " " : "", PX(i + 1), PY(ppl[i]));
    fprintf(fp, "\"/>\n<g fill=\"steelblue\">\n");
    for (int i = 0; i < n; i++)
        fprintf(fp, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"%d\"%s><title>epoch %d: %.6g</title>"
                    "</circle>\n",
                PX(i + 1), PY(ppl[i]), i == best ? 5 : 3,
                i == best ? " class=\"best\" fill=\"crimson\"" : "", i + 1, ppl[i]);
    fprintf(fp, "</g>\n<text class=\"best\" x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\" "
                "fill=\"crimson\">%s</text>\n",
            bx, by, best_text);
    fprintf(fp, "</svg>\n");
#undef PX
#undef PY
    if (ferror(fp))
        return nglm_atomic_fail(&at, errno ? errno : EIO, err);
    return nglm_atomic_commit(&at, err);
}
