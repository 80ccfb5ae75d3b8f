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
    /* the reference line */
    if (has_ref) {
        double y = PY(reference);
        fprintf(fp, "<line class=\"reference\" x1=\"%d\" y1=\"%.2f\" x2=\"%d\" y2=\"%.2f\" "
                    "stroke=\"gray\" stroke-dasharray=\"6,4\"/>\n"
                    "<text x=\"%d\" y=\"%.2f\" text-anchor=\"end\" fill=\"gray\">",
                LEFT, y, W - RIGHT, y, W - RIGHT - 4, y - 5);
        put_escaped(fp, ref_label ? ref_label : "reference");
        fprintf(fp, " %.6g</text>\n", reference);
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
    fprintf(fp, "</g>\n<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\" fill=\"crimson\">"
                "best %.6g (epoch %d)</text>\n",
            PX(best + 1), PY(ppl[best]) - 10, ppl[best], best + 1);
    fprintf(fp, "</svg>\n");
#undef PX
#undef PY
    if (ferror(fp))
        return nglm_atomic_fail(&at, errno ? errno : EIO, err);
    return nglm_atomic_commit(&at, err);
}
