/* forecast/profile.c - the loop's carried weekly profile (fc.h, struct mla_fc_profile): a robust
 * running mean of log1p(y) per hour of the week of the points that left the lookback window.
 * Pure. */
#include <math.h>
#include <string.h>

#include "fc-int.h"

/* After this many points an hour's gain stays at PF_GAIN (1/20): its memory is then about 20
 * points, 12 a week at a 5-minute step, so two weeks or so. Measured on NASA at 336 h
 * (docs/forecasting.md, eighth round): 0.01 0.8045, 0.05 0.8088, 0.1 0.8069 (plain EWMA). */
#define PF_SAT 20
#define PF_GAIN 0.05
/* A step larger than this (log space: x1.65) is clipped: an outage's zeros or a burst moves an
 * hour by at most PF_GAIN * PF_CLIP a point (NASA, plain EWMA of gain 0.025: clip 5, i.e.
 * none, 0.8025; 0.25 0.8062; 0.5 0.8078; 1 0.8075). */
#define PF_CLIP 0.5

void mla_fc_profile_init(struct mla_fc_profile *p)
{
    memset(p, 0, sizeof *p);
}

size_t mla__fc_profile_hour(double t)
{
    /* whole hours since the epoch fit a long long for any time a double holds exactly */
    long long h = (long long)floor(t / 3600.0) % MLA_FC_PROFILE_HOURS;
    return (size_t)(h < 0 ? h + MLA_FC_PROFILE_HOURS : h);
}

void mla_fc_profile_push(struct mla_fc_profile *p, double t, double y)
{
    if (isnan(y) || !isfinite(t))
        return;
    double x = log1p(y > 0 ? y : 0);
    size_t h = mla__fc_profile_hour(t);
    if (p->n[h] == 0) {
        p->v[h] = (float)x;
        p->n[h] = 1;
        return;
    }
    if (p->n[h] < PF_SAT)
        p->n[h]++;
    double d = x - (double)p->v[h];
    d = d > PF_CLIP ? PF_CLIP : d < -PF_CLIP ? -PF_CLIP : d;
    double g = 1.0 / (double)p->n[h];
    p->v[h] = (float)((double)p->v[h] + (g > PF_GAIN ? g : PF_GAIN) * d);
}

bool mla_fc_profile_ready(const struct mla_fc_profile *p)
{
    for (size_t h = 0; h < MLA_FC_PROFILE_HOURS; h++)
        if (!p->n[h])
            return false;
    return true;
}
