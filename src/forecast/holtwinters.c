/* forecast/holtwinters.c - additive Holt-Winters (error-correction form) with a damped trend and up to
 * two seasons (Taylor's double-seasonal method). Fed log1p(y) it is the multiplicative model.
 * Seasonal slots start at their first visit, so the model works from the first point.
 *
 * Smoothed seasons (kw > 0): each slot still learns its own deviation (an EWMA per slot), but
 * the model reads the mean of the slots within +-kw (a box kernel), so burst noise in a single
 * bucket does not become a feature of the profile. The box sums are kept up to date on each
 * update (2*kw+1 additions, no division), so a read is O(1). Pure. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fc-int.h"
#include "mla/mem.h"

void mla__fc_hw_init(struct mla__fc_hw *hw, double alpha, double beta, double phi, int m0,
                     double g0, int m1, double g1)
{
    hw->alpha = alpha;
    hw->beta = beta;
    hw->phi = phi;
    hw->m[0] = m0;
    hw->m[1] = m1;
    hw->gamma[0] = g0;
    hw->gamma[1] = g1;
    hw->gain[0] = g0 * (1 - alpha);
    hw->gain[1] = g1 * (1 - alpha);
    hw->kw[0] = hw->kw[1] = 0;
    hw->level = hw->trend = 0;
    hw->classic = m0 > 0 && m1 <= 0 && !(beta > 0);
    hw->trend_only = m0 <= 0 && m1 <= 0 && beta > 0;
    hw->smoothed = false; /* until mla__fc_hw_smooth has smoothed every season */
    hw->started = false;
    hw->at = 0;
    hw->base[0] = hw->base[1] = 0;
    for (int k = 0; k < 2; k++) {
        size_t m = hw->m[k] > 0 ? (size_t)hw->m[k] : 0;
        hw->s[k] = m ? mla_xcalloc(m, sizeof(double)) : NULL;
        hw->box[k] = NULL; /* allocated by mla__fc_hw_smooth */
        hw->seen[k] = m ? mla_xcalloc(m, 1) : NULL;
        hw->rd[k] = hw->s[k];
        hw->rd_scale[k] = 1;
    }
    /* The damped-trend multiplier of every horizon, accumulated in the order the per-call loop
     * used (same bits): that loop ran for every forecast of every point. */
    hw->damp = NULL;
    if (beta > 0) {
        hw->damp = mla_xmalloc((MLA_FC_MAX_HORIZON + 1) * sizeof(double));
        double p = 1, d = 0;
        hw->damp[0] = 0;
        for (int h = 1; h <= MLA_FC_MAX_HORIZON; h++) {
            p *= phi;
            d += p;
            hw->damp[h] = d;
        }
    }
}

void mla__fc_hw_smooth(struct mla__fc_hw *hw, int k, int kw)
{
    if (hw->m[k] > 0 && kw > 0 && 2 * kw + 1 < hw->m[k]) {
        hw->kw[k] = kw;
        hw->inv_win[k] = 1.0 / (2 * kw + 1);
        hw->classic = false;
        if (!hw->box[k])
            hw->box[k] = mla_xcalloc((size_t)hw->m[k], sizeof(double));
        hw->rd[k] = hw->box[k];
        hw->rd_scale[k] = hw->inv_win[k];
    }
    hw->smoothed = hw->m[0] > 0 && hw->kw[0] > 0 && (hw->m[1] <= 0 || hw->kw[1] > 0) &&
                   !(hw->beta > 0);
}

void mla__fc_hw_fini(struct mla__fc_hw *hw)
{
    for (int k = 0; k < 2; k++) {
        free(hw->s[k]);
        free(hw->box[k]);
        free(hw->seen[k]);
        hw->s[k] = NULL;
        hw->box[k] = NULL;
        hw->seen[k] = NULL;
        hw->rd[k] = NULL;
    }
    free(hw->damp);
    hw->damp = NULL;
}

/* Slot of index i in season k without a division in the common case (i a little after the
 * last update): the modulo was the largest cost of the serving path. */
static inline size_t hw_slot(const struct mla__fc_hw *hw, int k, size_t i)
{
    size_t m = (size_t)hw->m[k];
    if (i >= hw->at) {
        size_t d = i - hw->at;
        if (d < m) {
            size_t j = hw->base[k] + d;
            return j >= m ? j - m : j;
        }
    }
    return i % m;
}

double mla__fc_hw_pred(const struct mla__fc_hw *hw, size_t i, int h)
{
    if (!hw->started)
        return NAN;
    size_t t = i + (size_t)h;
    return mla__fc_hw_pred_slots(hw, h, hw->m[0] > 0 ? hw_slot(hw, 0, t) : 0,
                                 hw->m[1] > 0 ? hw_slot(hw, 1, t) : 0);
}

static void hw_set_slot(struct mla__fc_hw *hw, int k, size_t j, double v)
{
    double d = v - hw->s[k][j];
    hw->s[k][j] = v;
    if (hw->kw[k])
        mla__fc_box_add(hw, k, j, d, 2);
    hw->seen[k][j] = 1;
}

/* Sets a slot's first value; for a smoothed season returns the change its box sums still
 * owe (the caller adds it with the update's own step), else 0. */
static double hw_first_visit(struct mla__fc_hw *hw, int k, size_t j, double v)
{
    double d = v - hw->s[k][j];
    hw->s[k][j] = v;
    hw->seen[k][j] = 1;
    return hw->kw[k] ? d : 0;
}

void mla__fc_hw_update(struct mla__fc_hw *hw, size_t i, double y)
{
    size_t js[2] = {0, 0};
    for (int k = 0; k < 2; k++)
        if (hw->m[k] > 0)
            js[k] = hw->started ? hw_slot(hw, k, i) : i % (size_t)hw->m[k];
    mla__fc_hw_update_slots(hw, i, js[0], js[1], y);
}

/* The seasons are written out (k = 0, then k = 1 reading season 0) rather than looped over:
 * this runs six times per point. lanes: of the box-sum adds (a constant once inlined). */
static MLA__FC_INLINE void hw_update(struct mla__fc_hw *hw, size_t i, size_t j0, size_t j1,
                                     double y, int lanes)
{
    bool has0 = hw->m[0] > 0, has1 = hw->m[1] > 0;
    if (!hw->started) {
        hw->level = y;
        hw->trend = 0;
        hw->started = true;
        if (has0)
            hw_set_slot(hw, 0, j0, 0);
        if (has1)
            hw_set_slot(hw, 1, j1, 0);
        hw->at = i;
        hw->base[0] = has0 ? j0 : 0;
        hw->base[1] = has1 ? j1 : 0;
        return;
    }
    double pt = hw->beta > 0 ? hw->phi * hw->trend : 0;
    double l0 = hw->level + pt;
    /* First visit of a slot: the seasonal term is the deviation from the level (and from the
     * other season for the second one). A smoothed season's box sums take that first value
     * together with the update's step below (one pass over the window instead of two: every
     * point of the first week is a first visit of the weekly season); the slot's own read
     * adds it now. */
    double r0 = 0, r1 = 0, first0 = 0, first1 = 0;
    if (has0) {
        if (!hw->seen[0][j0])
            first0 = hw_first_visit(hw, 0, j0, y - l0);
        r0 = (hw->rd[0][j0] + first0) * hw->rd_scale[0];
    }
    if (has1) {
        if (!hw->seen[1][j1])
            first1 = hw_first_visit(hw, 1, j1, y - l0 - r0);
        r1 = (hw->rd[1][j1] + first1) * hw->rd_scale[1];
    }
    double season = r0 + r1;
    double e = y - (l0 + season);
    hw->level = l0 + hw->alpha * e;
    if (hw->beta > 0)
        hw->trend = pt + hw->alpha * hw->beta * e;
    /* Classic slot: its own EWMA step. Smoothed: the slot's own deviation from the level and
     * the other season, EWMA'd, and the box sums around it follow. */
    if (has0) {
        if (!hw->kw[0]) {
            hw->s[0][j0] += hw->gain[0] * e;
        } else {
            double d = hw->gamma[0] * ((y - l0 - (season - r0)) - hw->s[0][j0]);
            hw->s[0][j0] += d;
            mla__fc_box_add(hw, 0, j0, first0 + d, lanes);
        }
    }
    if (has1) {
        if (!hw->kw[1]) {
            hw->s[1][j1] += hw->gain[1] * e;
        } else {
            double d = hw->gamma[1] * ((y - l0 - (season - r1)) - hw->s[1][j1]);
            hw->s[1][j1] += d;
            mla__fc_box_add(hw, 1, j1, first1 + d, lanes);
        }
    }
    hw->at = i;
    hw->base[0] = has0 ? j0 : 0;
    hw->base[1] = has1 ? j1 : 0;
}

#if MLA__FC_MV
/* The update built for AVX2 (four-lane box-sum adds, three-operand VEX forms). */
MLA__FC_AVX2 static void hw_update_avx2(struct mla__fc_hw *hw, size_t i, size_t j0, size_t j1,
                                        double y)
{
    hw_update(hw, i, j0, j1, y, 4);
}
#endif

__attribute__((noinline)) static void hw_update_base(struct mla__fc_hw *hw, size_t i, size_t j0,
                                                     size_t j1, double y)
{
    hw_update(hw, i, j0, j1, y, 2);
}

void mla__fc_hw_update_slots(struct mla__fc_hw *hw, size_t i, size_t j0, size_t j1, double y)
{
#if MLA__FC_MV
    if (mla__fc_avx2()) {
        hw_update_avx2(hw, i, j0, j1, y);
        return;
    }
#endif
    hw_update_base(hw, i, j0, j1, y);
}

void mla__fc_hw_shift(struct mla__fc_hw *hw, double d)
{
    if (hw->started && isfinite(d))
        hw->level += d;
}

void mla__fc_hw_seed(struct mla__fc_hw *hw, int k, const double *v)
{
    size_t m = (size_t)hw->m[k];
    for (size_t j = 0; j < m; j++) {
        hw->s[k][j] = v[j];
        hw->seen[k][j] = 1;
    }
    if (hw->kw[k])
        mla__fc_box_sums(v, m, (size_t)hw->kw[k], hw->box[k]);
}

void mla__fc_hw_seed_level(struct mla__fc_hw *hw, double level)
{
    hw->level = level;
    hw->trend = 0;
    hw->started = true;
    hw->at = 0;
    hw->base[0] = hw->base[1] = 0;
}

void mla__fc_box_sums(const double *v, size_t m, size_t w, double *box)
{
    double sum = 0;
    for (size_t d = 0; d <= 2 * w; d++)
        sum += v[(m - w + d) % m];
    box[0] = sum;
    size_t in = w + 1 < m ? w + 1 : (w + 1) % m, out = m - w; /* entering and leaving slots */
    for (size_t j = 1; j < m; j++) {
        sum += v[in] - v[out];
        box[j] = sum;
        if (++in == m)
            in = 0;
        if (++out == m)
            out = 0;
    }
}
