/* test_fc_hwpair.c - the two-lane Holt-Winters (src/forecast/hwpair.c) against two scalar
 * models (holtwinters.c) configured as the engine's square-root candidates were: every
 * forecast, for every horizon the engine asks, must have the same bits, through gaps, level
 * shifts, first visits of every slot, smoothed and classic seasons and a model with one
 * season only. The forecast's equality with the pre-pair engine rests on this. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "../../src/forecast/fc-int.h"

static uint64_t hp_rng = 0x9e3779b97f4a7c15ull;

static double hp_unif(void)
{
    hp_rng ^= hp_rng << 13;
    hp_rng ^= hp_rng >> 7;
    hp_rng ^= hp_rng << 17;
    return (double)(hp_rng >> 11) / 9007199254740992.0;
}

static bool hp_same(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

/* Runs n points through both forms; returns how many forecasts were compared. */
static size_t hp_run(int m0, int m1, int kw, size_t n)
{
    const double alpha[2] = {0.03, 0.005};
    struct mla__fc_hw one[2];
    struct mla__fc_hw2 pair;
    for (int k = 0; k < 2; k++) {
        mla__fc_hw_init(&one[k], alpha[k], 0, 1, m0, 0.1, m1, 0.5);
        mla__fc_hw_smooth(&one[k], 0, kw);
        mla__fc_hw_smooth(&one[k], 1, kw);
    }
    mla__fc_hw2_init(&pair, alpha, m0, 0.1, m1, 0.5, kw);
    size_t compared = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j0 = m0 > 0 ? i % (size_t)m0 : 0, j1 = m1 > 0 ? i % (size_t)m1 : 0;
        /* A daily shape in square-root space, noise, a level step a third of the way in. */
        double y = 10 + 4 * sin(6.283185307 * (double)i / 288) + 2 * (hp_unif() - 0.5);
        if (i > n / 3)
            y += 6;
        if (i > 0 && hp_unif() < 0.01) { /* the filter accepting a new regime */
            mla__fc_hw2_shift_to(&pair, i - 1, y);
            for (int k = 0; k < 2; k++)
                mla__fc_hw_shift(&one[k], y - mla__fc_hw_pred(&one[k], i - 1, 1));
        }
        if (hp_unif() < 0.05)
            continue; /* a gap: no update, the slots move on */
        mla__fc_hw_update_slots(&one[0], i, j0, j1, y);
        mla__fc_hw_update_slots(&one[1], i, j0, j1, y);
        mla__fc_hw2_update(&pair, i, j0, j1, y);
        for (int h = 1; h <= 13; h += 6) {
            size_t t = i + (size_t)h;
            size_t t0 = m0 > 0 ? t % (size_t)m0 : 0, t1 = m1 > 0 ? t % (size_t)m1 : 0;
            mla__fc_v2 p = mla__fc_hw2_pred_slots(&pair, t0, t1);
            for (int k = 0; k < 2; k++) {
                double q = mla__fc_hw_pred_slots(&one[k], h, t0, t1);
                cr_assert(isfinite(q));
                cr_assert(hp_same(p[k], q), "m %d/%d kw %d point %zu h %d lane %d: %.17g != %.17g",
                          m0, m1, kw, i, h, k, p[k], q);
                compared++;
            }
        }
    }
    mla__fc_hw_fini(&one[0]);
    mla__fc_hw_fini(&one[1]);
    mla__fc_hw2_fini(&pair);
    return compared;
}

Test(fc_hwpair, before_the_first_update_no_forecast)
{
    const double alpha[2] = {0.1, 0.2};
    struct mla__fc_hw2 pair;
    mla__fc_hw2_init(&pair, alpha, 24, 0.1, 168, 0.5, 1);
    mla__fc_v2 p = mla__fc_hw2_pred_slots(&pair, 3, 50);
    cr_assert(isnan(p[0]) && isnan(p[1]));
    mla__fc_hw2_shift_to(&pair, 10, 5.0); /* nothing to shift yet */
    cr_assert(!pair.started);
    mla__fc_hw2_fini(&pair);
}

Test(fc_hwpair, same_bits_as_two_models_smoothed_5min)
{
    /* The engine at 5 minutes: day 288, week 2016, +-12 slots (an hour). */
    cr_assert_gt(hp_run(288, 2016, 12, 6000), 1000);
}

Test(fc_hwpair, same_bits_as_two_models_hourly)
{
    cr_assert_gt(hp_run(24, 168, 1, 2000), 1000);
}

Test(fc_hwpair, same_bits_as_two_models_classic_seasons)
{
    /* kw 0, and a window too wide for the season (2 kw + 1 >= m): both read the slots as is. */
    cr_assert_gt(hp_run(288, 2016, 0, 3000), 1000);
    cr_assert_gt(hp_run(7, 49, 3, 1000), 1000);
}

Test(fc_hwpair, same_bits_as_two_models_one_season)
{
    cr_assert_gt(hp_run(0, 12, 2, 1000), 1000);
}
