/* forecast/season.c - cycle detection: does a daily (weekly) profile explain the series?
 *
 * Confidence = adjusted share of variance the cycle explains. With D whole periods, subtract
 * each period's mean (so level changes and longer cycles do not count), average the D periods
 * slot by slot into a profile P, and take R2 = 1 - SSE/SST of the de-meaned series against P.
 * White noise still gets R2 ~ 1/D (each slot mean is a mean of D noise values), so we report
 * (R2 - 1/D) / (1 - 1/D) clamped to [0,1]: ~0 for noise, 1 for a pure cycle. The weekly cycle is
 * tested on what the daily profile and each week's straight line leave, so a pure daily cycle
 * or a ramp has no weekly confidence.
 * Strength = peak-to-trough range of the profile (in the model space; the caller converts).
 * Uses the last whole periods of the series; O(n). Pure. */
#include <math.h>
#include <stdlib.h>

#include "fc-int.h"
#include "mla/mem.h"

#define CYCLE_PRESENT 0.3

/* x: D*m points (NaN skipped). Profile of x minus its per-period means; R2 adjusted. */
static void cy_profile(const double *x, size_t D, int m, double *prof, double *conf,
                       double *range)
{
    size_t M = (size_t)m;
    double *cnt = mla_xcalloc(M, sizeof *cnt);
    double *pm = mla_xmalloc(D * sizeof *pm);
    for (size_t s = 0; s < M; s++)
        prof[s] = 0;
    for (size_t d = 0; d < D; d++) {
        pm[d] = mla__fc_nanmean(x + d * M, M);
        for (size_t s = 0; s < M && !isnan(pm[d]); s++)
            if (!isnan(x[d * M + s])) {
                prof[s] += x[d * M + s] - pm[d];
                cnt[s]++;
            }
    }
    double lo = INFINITY, hi = -INFINITY;
    for (size_t s = 0; s < M; s++) {
        prof[s] = cnt[s] ? prof[s] / cnt[s] : 0;
        if (prof[s] < lo)
            lo = prof[s];
        if (prof[s] > hi)
            hi = prof[s];
    }
    double sse = 0, sst = 0;
    for (size_t d = 0; d < D; d++)
        for (size_t s = 0; s < M; s++) {
            double v = x[d * M + s] - pm[d];
            if (isnan(v))
                continue;
            sst += v * v;
            sse += (v - prof[s]) * (v - prof[s]);
        }
    double r2 = sst > 0 ? 1 - sse / sst : 0;
    double a = (r2 - 1.0 / (double)D) / (1 - 1.0 / (double)D);
    *conf = a < 0 ? 0 : a > 1 ? 1 : a;
    *range = hi > lo ? hi - lo : 0;
    free(cnt);
    free(pm);
}

void mla__fc_cycle_detect(const double *x, size_t n, int m, struct mla_fc_cycle *c)
{
    c->period_steps = m;
    c->strength = 0;
    c->confidence = 0;
    c->present = false;
    if (m < 2 || n / (size_t)m < 2) {
        c->period_steps = 0;
        return;
    }
    size_t D = n / (size_t)m;
    double *prof = mla_xmalloc((size_t)m * sizeof *prof);
    cy_profile(x + (n - D * (size_t)m), D, m, prof, &c->confidence, &c->strength);
    c->present = c->confidence >= CYCLE_PRESENT;
    free(prof);
}

void mla__fc_cycle_detect_weekly(const double *x, size_t n, int md, int mw,
                                 struct mla_fc_cycle *c)
{
    c->period_steps = mw;
    c->strength = 0;
    c->confidence = 0;
    c->present = false;
    if (md < 2 || mw < 2 || mw % md || n / (size_t)mw < 2) {
        c->period_steps = 0;
        return;
    }
    size_t W = n / (size_t)mw, M = (size_t)mw, len = W * M;
    const double *xw = x + (n - len);
    /* Remove each week's straight line (its mean, and a ramp that would otherwise pass for a
     * weekly shape) and the daily profile; the weekly profile of the rest. */
    double *r = mla_xmalloc(len * sizeof *r);
    for (size_t w = 0; w < W; w++) {
        double sx = 0, sy = 0, sxx = 0, sxy = 0, nc = 0;
        for (size_t s = 0; s < M; s++)
            if (!isnan(xw[w * M + s])) {
                double t = (double)s;
                sx += t;
                sy += xw[w * M + s];
                sxx += t * t;
                sxy += t * xw[w * M + s];
                nc++;
            }
        double den = nc * sxx - sx * sx;
        double b = den > 0 ? (nc * sxy - sx * sy) / den : 0;
        double a = nc > 0 ? (sy - b * sx) / nc : 0;
        for (size_t s = 0; s < M; s++)
            r[w * M + s] = xw[w * M + s] - (a + b * (double)s);
    }
    size_t D = len / (size_t)md;
    double *pd = mla_xcalloc((size_t)md, sizeof *pd);
    double *cd = mla_xcalloc((size_t)md, sizeof *cd);
    /* Slots counted along (no division per point); the daily means computed once per slot. */
    size_t Md = (size_t)md;
    for (size_t i = 0, s = 0; i < D * Md; i++, s = s + 1 == Md ? 0 : s + 1)
        if (!isnan(r[i])) {
            pd[s] += r[i];
            cd[s]++;
        }
    for (size_t s = 0; s < Md; s++)
        pd[s] = cd[s] ? pd[s] / cd[s] : 0;
    for (size_t i = 0, s = 0; i < len; i++, s = s + 1 == Md ? 0 : s + 1)
        r[i] -= pd[s];
    /* The rest, week by week: its per-week mean is ~0 already, so cy_profile's de-meaning is a
     * no-op and the R2 is the share of the daily residual a weekly profile explains. */
    double *prof = mla_xmalloc(M * sizeof *prof);
    double range;
    cy_profile(r, W, mw, prof, &c->confidence, &range);
    /* Strength: how much the day levels move over the week (range of the profile's day means). */
    double lo = INFINITY, hi = -INFINITY;
    for (size_t d = 0; d < M / (size_t)md; d++) {
        double s = 0;
        for (size_t j = 0; j < (size_t)md; j++)
            s += prof[d * (size_t)md + j];
        s /= md;
        if (s < lo)
            lo = s;
        if (s > hi)
            hi = s;
    }
    c->strength = hi > lo ? hi - lo : 0;
    c->present = c->confidence >= CYCLE_PRESENT;
    free(prof);
    free(pd);
    free(cd);
    free(r);
}
