/*
 * nglm/plot.h — the learning curve as a standalone SVG image.
 *
 * Input: the validation perplexity of each epoch.  Output: an SVG file with
 * axes, tick labels and a title, one <circle> per epoch joined by a line,
 * the best (lowest) epoch marked, and optionally a dashed horizontal
 * reference line (an oracle, or a baseline such as Kneser-Ney) with a label.
 * The file is replaced atomically, so it can be rewritten after every epoch
 * while a viewer watches it.
 */
#ifndef NGLM_PLOT_H
#define NGLM_PLOT_H

#include "nglm/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Writes the curve ppl[0..n) (epoch i+1 at ppl[i]) to path.  reference: a
 * perplexity drawn as a dashed line labelled ref_label (NULL: "reference"),
 * or NAN for none.  Fails on n < 1, a perplexity or reference that
 * is not a finite positive number, or an I/O error. */
int nglm_plot_svg(const double *ppl, int n, double reference, const char *ref_label,
                  const char *path, nglm_error *err);

#ifdef __cplusplus
}
#endif
#endif
