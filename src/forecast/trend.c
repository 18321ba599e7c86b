/* forecast/trend.c - trend classification of the (filtered) history.
 *
 * With two or more whole days, the series is reduced to its daily means (removing the daily
 * cycle); otherwise the points themselves are used. An ordinary least-squares line through those
 * gives the relative change over the history, change = slope * span / mean (in log space:
 * exp(slope * span) - 1), and a t statistic.
 *   increasing / decreasing: |change| >= 10% and |t| >= 3 (the line explains the movement);
 *   volatile: otherwise, when the residual spread around the line and the daily profile is large
 *             (coefficient of variation >= 0.5): no level a forecast can hold;
 *   stable:   the rest.
 * Pure, O(n). */
#include <math.h>
#include <stdlib.h>

#include "fc-int.h"
#include "mla/mem.h"

#define TR_CHANGE 0.10
#define TR_T 3.0
#define TR_CV 0.5

/* OLS of y on 0..m-1; returns slope, the mean, the t statistic of the slope. */
static void tr_ols(const double *y, size_t m, double *slope, double *mean, double *t)
{
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    size_t c = 0;
    for (size_t i = 0; i < m; i++) {
        if (isnan(y[i]))
            continue;
        double x = (double)i;
        sx += x;
        sy += y[i];
        sxx += x * x;
        sxy += x * y[i];
        c++;
    }
    *slope = 0;
    *mean = c ? sy / (double)c : 0;
    *t = 0;
    if (c < 3)
        return;
    double den = (double)c * sxx - sx * sx;
    if (den <= 0)
        return;
    double b = ((double)c * sxy - sx * sy) / den;
    double a = (sy - b * sx) / (double)c;
    double sse = 0;
    for (size_t i = 0; i < m; i++)
        if (!isnan(y[i])) {
            double r = y[i] - a - b * (double)i;
            sse += r * r;
        }
    double sxxc = sxx - sx * sx / (double)c;
    double se = sqrt(sse / (double)(c - 2) / sxxc);
    *slope = b;
    *t = se > 0 ? b / se : (b != 0 ? INFINITY : 0);
}

enum mla_fc_trend mla__fc_trend_classify(const double *x, size_t n, int md, bool logsp,
                                         double *change)
{
    *change = 0;
    if (n < 3)
        return MLA_FC_TREND_STABLE;
    size_t D = md > 0 ? n / (size_t)md : 0;
    const double *w = x;
    size_t wn = n;
    double *dm = NULL;
    size_t M = md > 0 ? (size_t)md : 0;
    double *prof = NULL, *line = NULL;
    if (D >= 2) {
        w = x + (n - D * M);
        wn = D * M;
        dm = mla_xmalloc(D * sizeof *dm);
        prof = mla_xcalloc(M, sizeof *prof);
        for (size_t d = 0; d < D; d++)
            dm[d] = mla__fc_nanmean(w + d * M, M);
    }
    double slope, mean, t;
    if (dm)
        tr_ols(dm, D, &slope, &mean, &t);
    else
        tr_ols(w, wn, &slope, &mean, &t);
    double span = dm ? (double)(D - 1) : (double)(wn - 1);
    /* In log space the line's rise is already relative, and residual spread is a CV. */
    double am = logsp ? 1 : fabs(mean);
    *change = logsp ? expm1(slope * span) : am > 0 ? slope * span / am : 0;
    /* Residual spread around the line (and the daily profile, when there is one). */
    double unit = dm ? (double)M : 1;
    if (prof) {
        /* The slot of i (i mod M) is counted along, and the line at each point is kept for the
         * spread below: divisions per point were most of this function's time. */
        double *cnt = mla_xcalloc(M, sizeof *cnt);
        line = mla_xmalloc(wn * sizeof *line);
        for (size_t i = 0, j = 0; i < wn; i++, j = j + 1 == M ? 0 : j + 1) {
            line[i] = mean + slope * ((double)i / unit - span / 2);
            if (!isnan(w[i])) {
                prof[j] += w[i] - line[i];
                cnt[j]++;
            }
        }
        for (size_t j = 0; j < M; j++)
            prof[j] = cnt[j] ? prof[j] / cnt[j] : 0;
        free(cnt);
    }
    double ss = 0;
    size_t c = 0;
    for (size_t i = 0, j = 0; i < wn; i++, j = M && j + 1 == M ? 0 : j + 1) {
        if (isnan(w[i]))
            continue;
        double fit = line ? line[i] + prof[j] : mean + slope * ((double)i - span / 2);
        ss += (w[i] - fit) * (w[i] - fit);
        c++;
    }
    double cv = c > 1 && am > 0 ? sqrt(ss / (double)(c - 1)) / am : 0;
    free(dm);
    free(prof);
    free(line);
    if (fabs(*change) >= TR_CHANGE && fabs(t) >= TR_T)
        return *change > 0 ? MLA_FC_TREND_INCREASING : MLA_FC_TREND_DECREASING;
    if (cv >= TR_CV)
        return MLA_FC_TREND_VOLATILE;
    return MLA_FC_TREND_STABLE;
}
