/* holtwinters.c - additive Holt-Winters (error-correction form) with a damped trend and up to
 * two seasons (Taylor's double-seasonal method). Fed log1p(y) it is the multiplicative model.
 * Seasonal slots start at their first visit, so the model works from the first point. Pure. */
#include <math.h>
#include <stdlib.h>

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
    hw->kw[0] = hw->kw[1] = 0;
    hw->level = hw->trend = 0;
    hw->started = false;
    for (int k = 0; k < 2; k++) {
        hw->s[k] = hw->m[k] > 0 ? mla_xcalloc((size_t)hw->m[k], sizeof(double)) : NULL;
        hw->seen[k] = hw->m[k] > 0 ? mla_xcalloc((size_t)hw->m[k], 1) : NULL;
    }
}

void mla__fc_hw_fini(struct mla__fc_hw *hw)
{
    for (int k = 0; k < 2; k++) {
        free(hw->s[k]);
        free(hw->seen[k]);
        hw->s[k] = NULL;
        hw->seen[k] = NULL;
    }
}

static double hw_season(const struct mla__fc_hw *hw, size_t i)
{
    double s = 0;
    for (int k = 0; k < 2; k++)
        if (hw->m[k] > 0)
            s += hw->s[k][i % (size_t)hw->m[k]];
    return s;
}

double mla__fc_hw_pred(const struct mla__fc_hw *hw, size_t i, int h)
{
    if (!hw->started)
        return NAN;
    double damp = 0, p = 1;
    if (hw->beta > 0)
        for (int j = 0; j < h; j++) {
            p *= hw->phi;
            damp += p;
        }
    return hw->level + damp * hw->trend + hw_season(hw, i + (size_t)h);
}

void mla__fc_hw_update(struct mla__fc_hw *hw, size_t i, double y)
{
    if (!hw->started) {
        hw->level = y;
        hw->trend = 0;
        hw->started = true;
        for (int k = 0; k < 2; k++)
            if (hw->m[k] > 0) {
                hw->seen[k][i % (size_t)hw->m[k]] = 1;
            }
        return;
    }
    /* First visit of a slot: the seasonal term is the deviation from the level. */
    double pt = hw->beta > 0 ? hw->phi * hw->trend : 0;
    for (int k = 0; k < 2; k++) {
        if (hw->m[k] <= 0)
            continue;
        size_t j = i % (size_t)hw->m[k];
        if (!hw->seen[k][j]) {
            double other = 0;
            for (int o = 0; o < k; o++)
                other += hw->s[o][i % (size_t)hw->m[o]];
            hw->s[k][j] = y - (hw->level + pt) - other;
            hw->seen[k][j] = 1;
        }
    }
    double e = y - (hw->level + pt + hw_season(hw, i));
    hw->level += pt + hw->alpha * e;
    if (hw->beta > 0)
        hw->trend = pt + hw->alpha * hw->beta * e;
    for (int k = 0; k < 2; k++) {
        if (hw->m[k] <= 0)
            continue;
        size_t m = (size_t)hw->m[k], j = i % m;
        int w = hw->kw[k];
        if (w <= 0) {
            hw->s[k][j] += hw->gamma[k] * (1 - hw->alpha) * e;
            continue;
        }
        /* Kernel-smoothed seasonal update: neighbouring slots move toward this observation's
         * deviation too (triangular weights), so each slot averages ~w slots of noise. */
        double dev = e + hw->s[k][j];
        for (int d = -w; d <= w; d++) {
            size_t jj = (j + m + (size_t)(d + (int)m) % m) % m;
            double kap = 1.0 - fabs((double)d) / (double)(w + 1);
            double target = dev;
            if (!hw->seen[k][jj])
                continue;
            hw->s[k][jj] += hw->gamma[k] * (1 - hw->alpha) * kap * (target - hw->s[k][jj]);
        }
    }
}

void mla__fc_hw_shift(struct mla__fc_hw *hw, double d)
{
    if (hw->started && isfinite(d))
        hw->level += d;
}
