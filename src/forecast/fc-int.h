/* fc-int.h - private to src/forecast/: the Holt-Winters state, the one-pass engine shared by
 * mla_fc_forecast/mla_fc_backtest/mla_fc_evaluate, cycle and trend analysis, small numerics.
 * Same rules as fc.h: pure, no globals; arrays inside the structs are owned by the struct and
 * freed by its _fini.
 */
#ifndef MLA_FC_INT_H
#define MLA_FC_INT_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "mla/fc.h"

/* ---- x86-64 function multi-versioning ----
 * A function marked MLA__FC_CLONES is compiled twice, for AVX2 and for any x86-64, and the
 * dynamic loader picks one for the CPU once (an ifunc): the binary keeps running everywhere
 * (no -march). Only for functions whose vector code is element-wise (each lane does the scalar
 * code's operations in the same order) or has no vector code: AVX2 adds no FMA, and
 * -ffp-contract=off (-std=c17) keeps every operation, so both clones give the same bits.
 * What such a function calls must be inlined into it (MLA__FC_INLINE) to run as AVX2 code.
 * Not with clang (the fuzz build only): it wants the attribute on a function's first
 * declaration, where GCC 12 would then call clones other objects keep local.
 * -DMLA_FC_NO_CLONES builds the default code only: to check, on an AVX2 machine, that it gives
 * the same bits as the AVX2 clones.
 * Not under ThreadSanitizer (make tsan): the clones' ifunc resolvers run while the dynamic
 * loader relocates, before TSan's runtime is up, and every binary crashed at start. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(MLA_FC_NO_CLONES) && !defined(__SANITIZE_THREAD__)
#define MLA__FC_MV 1
#define MLA__FC_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define MLA__FC_MV 0
#define MLA__FC_CLONES
#endif
#define MLA__FC_INLINE inline __attribute__((always_inline))
/* The other way, where the code itself differs by lane count (four-lane vectors are fast with
 * AVX2 and slow without: GCC builds a 32-byte vector's memory round trips and comparisons
 * from pieces): an always-inline body taking the lane count as a constant, a MLA__FC_AVX2
 * wrapper passing 4, a default one passing 2, chosen per call by mla__fc_avx2(). */
#if MLA__FC_MV
#define MLA__FC_AVX2 __attribute__((target("avx2")))
#define mla__fc_avx2() __builtin_cpu_supports("avx2")
#else
#define mla__fc_avx2() 0
#endif

/* The box window of smoothed seasons at the 5-minute step (2 kw + 1, kw = 12 slots: +-1 hour):
 * its box-sum adds run as straight-line code, without the general loop's count and branches
 * (five windows per point). */
#define MLA__FC_BOX_COMMON 25

/* ---- numerics (series.c) ---- */
/* The q-quantile (0..1, linear interpolation) of a[0..n-1]; reorders a. NaN when n == 0. */
double mla__fc_quantile(double *a, size_t n, double q);
/* The order statistics of ranks klo, klo + 1, khi, khi + 1 of a[0..n-1] (klo <= khi < n) into
 * out[0..3] (NaN for a rank >= n); a is not modified. Exact: the same values a selection or a
 * sort gives, found from the two tails when they are small. */
void mla__fc_order_pairs(const double *a, size_t n, size_t klo, size_t khi, double *out);
/* Periods in steps for a given period in seconds; 0 when not a usable whole number >= 2. */
int mla__fc_period_steps(double period_s, double step_s);
/* Mean of the non-NaN values among x[0..n); NaN when there are none. Sums in index order. */
double mla__fc_nanmean(const double *x, size_t n);

/* ---- Holt-Winters, additive in whatever space it is fed (holtwinters.c) ----
 * Error-correction form with up to two seasons and a damped trend. Seasonal slots are indexed
 * by the absolute point index (i mod m); a slot is initialised at its first visit (s = y - level)
 * so no warm-up buffer is needed and any history length works. */
struct mla__fc_hw {
    double alpha, beta, phi; /* beta = 0: no trend */
    double gamma[2];
    double gain[2];          /* gamma * (1 - alpha): the classic seasonal step, precomputed */
    int m[2];                /* 0 = no season */
    int kw[2];               /* seasonal kernel half-width in slots (0 = classic) */
    double level, trend;
    double *s[2];            /* owned, m[k] doubles: each slot's own estimate */
    double *box[2];          /* owned, m[k]: sum of s over each slot's +-kw window (kw > 0) */
    double inv_win[2];       /* 1 / (2 kw + 1) */
    const double *rd[2];     /* what a read looks up: box[k] when smoothed, else s[k] */
    double rd_scale[2];      /* and scales by: inv_win[k] when smoothed, else 1 (exact) */
    unsigned char *seen[2];  /* owned, m[k] flags */
    double *damp;            /* owned when beta > 0: damp[h] = phi + ... + phi^h, h <= MAX */
    bool classic;            /* one season, not smoothed, no trend: mla__fc_hw_update_day's case */
    bool trend_only;         /* no season, a trend: mla__fc_hw_update_trend's case */
    bool smoothed;           /* every season smoothed (one or two), no trend:
                                mla__fc_hw_update_smoothed's case */
    bool started;
    size_t at;      /* index of the last update */
    size_t base[2]; /* its slot in each season */
};

void mla__fc_hw_init(struct mla__fc_hw *hw, double alpha, double beta, double phi, int m0,
                     double g0, int m1, double g1);
/* Starts season k from a seed (before the first update): its slots from v[0..m[k]), all seen,
 * box sums rebuilt. The level: mla__fc_hw_seed_level. */
void mla__fc_hw_seed(struct mla__fc_hw *hw, int k, const double *v);
/* The level (and a zero trend): the model counts as started, its first update an ordinary one. */
void mla__fc_hw_seed_level(struct mla__fc_hw *hw, double level);
/* box[j] = the sum of v over slots j - w .. j + w (cyclic, m slots, 2 w + 1 < m), as a running
 * sum (a seed is laid once per forecast: 2 adds a slot instead of 2 w + 1). */
void mla__fc_box_sums(const double *v, size_t m, size_t w, double *box);
void mla__fc_hw_fini(struct mla__fc_hw *hw);
/* Reads season k through a +-kw-slot box kernel (before the first update). */
void mla__fc_hw_smooth(struct mla__fc_hw *hw, int k, int kw);
/* Forecast of index i + h made after index i was consumed (h >= 1); i >= the last update. */
double mla__fc_hw_pred(const struct mla__fc_hw *hw, size_t i, int h);
/* Consumes y at index i. */
void mla__fc_hw_update(struct mla__fc_hw *hw, size_t i, double y);
/* The same with the slots of index i given by a caller that tracks them (j0 = i mod m[0],
 * j1 = i mod m[1]; ignored for an absent season): the engine feeds six models the same index. */
void mla__fc_hw_update_slots(struct mla__fc_hw *hw, size_t i, size_t j0, size_t j1, double y);
/* mla__fc_hw_update_slots with the common case of a model with one classic season and no
 * trend (three of the engine's six), slot seen before, inline: the same arithmetic without
 * the call and the general form's branches. Any other model or case takes the general form. */
static inline void mla__fc_hw_update_day(struct mla__fc_hw *hw, size_t i, size_t j0, double y)
{
    if (!hw->classic || !hw->started || !hw->seen[0][j0]) {
        mla__fc_hw_update_slots(hw, i, j0, 0, y);
        return;
    }
    double l0 = hw->level + 0.0;        /* + the (absent) trend, as the general form adds */
    double season = hw->s[0][j0] + 0.0; /* + the absent second season */
    double e = y - (l0 + season);
    hw->level = l0 + hw->alpha * e;
    hw->s[0][j0] += hw->gain[0] * e;
    hw->at = i;
    hw->base[0] = j0;
    hw->base[1] = 0;
}

/* mla__fc_hw_update_slots for a model without seasons and with a trend (the engine's damped
 * candidate), once started, inline: the same arithmetic without the call and the general
 * form's tests of each season. */
static inline void mla__fc_hw_update_trend(struct mla__fc_hw *hw, size_t i, double y)
{
    if (!hw->trend_only || !hw->started) {
        mla__fc_hw_update_slots(hw, i, 0, 0, y);
        return;
    }
    double pt = hw->phi * hw->trend;
    double l0 = hw->level + pt;
    double e = y - (l0 + 0.0); /* + the absent seasons' 0 + 0, as the general form adds */
    hw->level = l0 + hw->alpha * e;
    hw->trend = pt + hw->alpha * hw->beta * e;
    hw->at = i;
    hw->base[0] = hw->base[1] = 0;
}

/* Adds d to b[0..len-1] in vectors of `lanes` lanes (4: AVX2, 2: SSE2; a constant once
 * inlined). Each element gets exactly the one addition the scalar loop did, so results are
 * bit-identical; the scalar loop (6 instructions per slot, 2*kw+1 = 25 slots, three smoothed
 * seasons per point) was a fifth of the forecast's instructions. Eight (four) slots per
 * iteration: the loop's count and branch cost as much as the adds. */
typedef double mla__fc_v2 __attribute__((vector_size(16)));
typedef double mla__fc_v4 __attribute__((vector_size(32)));
static MLA__FC_INLINE void mla__fc_add_run(double *b, size_t len, double d, int lanes)
{
    size_t i = 0;
    if (lanes == 4) {
        const mla__fc_v4 dv = {d, d, d, d};
        for (; i + 8 <= len; i += 8) {
            mla__fc_v4 a, c;
            memcpy(&a, b + i, sizeof a); /* unaligned loads: slots start anywhere */
            memcpy(&c, b + i + 4, sizeof c);
            a += dv;
            c += dv;
            memcpy(b + i, &a, sizeof a);
            memcpy(b + i + 4, &c, sizeof c);
        }
        for (; i + 4 <= len; i += 4) {
            mla__fc_v4 a;
            memcpy(&a, b + i, sizeof a);
            a += dv;
            memcpy(b + i, &a, sizeof a);
        }
    } else {
        const mla__fc_v2 dv = {d, d};
        for (; i + 4 <= len; i += 4) {
            mla__fc_v2 a, c;
            memcpy(&a, b + i, sizeof a);
            memcpy(&c, b + i + 2, sizeof c);
            a += dv;
            c += dv;
            memcpy(b + i, &a, sizeof a);
            memcpy(b + i + 2, &c, sizeof c);
        }
    }
    for (; i < len; i++)
        b[i] += d;
}

/* mla__fc_add_run for the common window (a constant length: the loops are unrolled whole). */
static MLA__FC_INLINE void mla__fc_add_common(double *b, double d, int lanes)
{
    size_t i = 0;
    if (lanes == 4) {
        const mla__fc_v4 dv = {d, d, d, d};
#pragma GCC unroll 8
        for (; i + 4 <= MLA__FC_BOX_COMMON; i += 4) {
            mla__fc_v4 a;
            memcpy(&a, b + i, sizeof a);
            a += dv;
            memcpy(b + i, &a, sizeof a);
        }
    } else {
        const mla__fc_v2 dv = {d, d};
#pragma GCC unroll 16
        for (; i + 2 <= MLA__FC_BOX_COMMON; i += 2) {
            mla__fc_v2 a;
            memcpy(&a, b + i, sizeof a);
            a += dv;
            memcpy(b + i, &a, sizeof a);
        }
    }
#pragma GCC unroll 4
    for (; i < MLA__FC_BOX_COMMON; i++)
        b[i] += d;
}

/* Adds d to the box sums of season k's slots whose window holds slot j. */
static MLA__FC_INLINE void mla__fc_box_add(struct mla__fc_hw *hw, int k, size_t j, double d,
                                           int lanes)
{
    size_t m = (size_t)hw->m[k], w = (size_t)hw->kw[k];
    size_t lo = j >= w ? j - w : j + m - w, len = 2 * w + 1;
    double *b = hw->box[k];
    size_t first = m - lo < len ? m - lo : len;
    if (len == MLA__FC_BOX_COMMON && first == len) { /* no wrap */
        mla__fc_add_common(b + lo, d, lanes);
        return;
    }
    mla__fc_add_run(b + lo, first, d, lanes);
    if (first < len)
        mla__fc_add_run(b, len - first, d, lanes);
}

/* mla__fc_hw_update_slots for a model whose seasons are all smoothed and that has no trend
 * (the engine's hw_day_smooth and hw_week_log), started, its slots seen before, inline in the
 * caller's build (lanes: of the box-sum adds, as mla__fc_add_run): the general form's
 * arithmetic with its constants written out (a trend of +0, a first visit's 0, an absent
 * second season's 0), without its two calls and its tests of each case. Any other model or
 * case takes the general form. */
static MLA__FC_INLINE void mla__fc_hw_update_smoothed(struct mla__fc_hw *hw, size_t i, size_t j0,
                                                      size_t j1, double y, int lanes)
{
    bool has1 = hw->m[1] > 0;
    if (!hw->smoothed || !hw->started || !hw->seen[0][j0] || (has1 && !hw->seen[1][j1])) {
        mla__fc_hw_update_slots(hw, i, j0, j1, y);
        return;
    }
    double l0 = hw->level + 0.0;
    double r0 = (hw->box[0][j0] + 0.0) * hw->rd_scale[0];
    double r1 = has1 ? (hw->box[1][j1] + 0.0) * hw->rd_scale[1] : 0;
    double season = r0 + r1;
    double e = y - (l0 + season);
    hw->level = l0 + hw->alpha * e;
    double d0 = hw->gamma[0] * ((y - l0 - (season - r0)) - hw->s[0][j0]);
    hw->s[0][j0] += d0;
    mla__fc_box_add(hw, 0, j0, 0.0 + d0, lanes);
    if (has1) {
        double d1 = hw->gamma[1] * ((y - l0 - (season - r1)) - hw->s[1][j1]);
        hw->s[1][j1] += d1;
        mla__fc_box_add(hw, 1, j1, 0.0 + d1, lanes);
    }
    hw->at = i;
    hw->base[0] = j0;
    hw->base[1] = has1 ? j1 : 0;
}

/* Moves the level by d (regime change accepted by the anomaly filter). */
void mla__fc_hw_shift(struct mla__fc_hw *hw, double d);

/* The seasonal term k as the model reads it at slot j. A slot not seen yet counts as 0 in a
 * window: the neutral prior (no deviation from the level or from the other season). */
static inline double mla__fc_hw_read(const struct mla__fc_hw *hw, int k, size_t j)
{
    return hw->rd[k][j] * hw->rd_scale[k]; /* no branch: x * 1.0 == x */
}

/* Forecast h steps after the last update for a target whose slots are j0, j1 (its index mod
 * m[0], m[1]); the same value as mla__fc_hw_pred. Inline: the engine asks for eight of these
 * per point and the slot arithmetic is shared. */
static inline double mla__fc_hw_pred_slots(const struct mla__fc_hw *hw, int h, size_t j0,
                                           size_t j1)
{
    if (!hw->started)
        return NAN;
    double season = 0;
    if (hw->m[0] > 0)
        season += mla__fc_hw_read(hw, 0, j0);
    if (hw->m[1] > 0)
        season += mla__fc_hw_read(hw, 1, j1);
    if (!(hw->beta > 0))
        return hw->level + season; /* the trend is 0 without beta */
    double damp;
    if (h <= MLA_FC_MAX_HORIZON) {
        damp = hw->damp[h];
    } else {
        double p = 1;
        damp = 0;
        for (int j = 0; j < h; j++) {
            p *= hw->phi;
            damp += p;
        }
    }
    return hw->level + damp * hw->trend + season;
}

/* mla__fc_hw_pred_slots for a classic model (mla__fc_hw_update_day), j0 its target's slot: the same
 * value with the general form's tests reduced to one. */
static inline double mla__fc_hw_pred_day(const struct mla__fc_hw *hw, int h, size_t j0)
{
    if (!hw->classic)
        return mla__fc_hw_pred_slots(hw, h, j0, 0);
    if (!hw->started)
        return NAN;
    return hw->level + (0.0 + hw->s[0][j0]); /* 0 + ... as the general form's sum starts */
}

/* ---- two same-shaped Holt-Winters models as the lanes of one vector (hwpair.c) ---- */
/* Lane k is a mla__fc_hw with alpha[k], no trend, seasons m0, m1 (0 = none) of gains g0, g1,
 * each smoothed over +-kw slots where mla__fc_hw_smooth would; both lanes are fed the same
 * points, so slots, seen flags and the order of box updates are shared. */
struct mla__fc_hw2 {
    mla__fc_v2 alpha, level;
    mla__fc_v2 gamma[2], gain[2], rd_scale[2];
    int m[2], kw[2];
    mla__fc_v2 *s[2];       /* owned, m[k]: each slot's own estimate, per lane */
    mla__fc_v2 *box[2];     /* owned when kw[k] > 0, m[k]: box sums of s, per lane */
    unsigned char *seen[2]; /* owned, m[k] flags */
    bool started;
    size_t at;      /* index of the last update */
    size_t base[2]; /* its slot in each season */
};

void mla__fc_hw2_init(struct mla__fc_hw2 *p, const double alpha[2], int m0, double g0, int m1,
                      double g1, int kw);
void mla__fc_hw2_fini(struct mla__fc_hw2 *p);
/* mla__fc_hw_seed and mla__fc_hw_seed_level on both lanes (the same values). */
void mla__fc_hw2_seed(struct mla__fc_hw2 *p, int k, const double *v);
void mla__fc_hw2_seed_level(struct mla__fc_hw2 *p, double level);
/* mla__fc_hw_update_slots on both lanes (same bits). */
void mla__fc_hw2_update(struct mla__fc_hw2 *p, size_t i, size_t j0, size_t j1, double y);
/* mla__fc_hw_pred_slots of both lanes (NaN before the first update). Inline: the engine asks
 * for it at every point. */
static inline mla__fc_v2 mla__fc_hw2_pred_slots(const struct mla__fc_hw2 *p, size_t j0, size_t j1)
{
    if (!p->started)
        return (mla__fc_v2){NAN, NAN};
    mla__fc_v2 season = {0, 0};
    if (p->m[0])
        season += (p->kw[0] ? p->box[0][j0] : p->s[0][j0]) * p->rd_scale[0];
    if (p->m[1])
        season += (p->kw[1] ? p->box[1][j1] : p->s[1][j1]) * p->rd_scale[1];
    return p->level + season;
}
/* Each lane's mla__fc_hw_shift(r - its one-step forecast of prev + 1). */
void mla__fc_hw2_shift_to(struct mla__fc_hw2 *p, size_t prev, double r);

/* ---- cycles and trend (season.c, trend.c) ---- */
/* x: n points in model space, no NaN. Fills *c for a period of m steps. */
void mla__fc_cycle_detect(const double *x, size_t n, int m, struct mla_fc_cycle *c);
/* Weekly cycle beyond the daily one. */
void mla__fc_cycle_detect_weekly(const double *x, size_t n, int md, int mw,
                                 struct mla_fc_cycle *c);
/* x: filtered values in model space (logsp: log1p), md the daily period (0 = none). */
enum mla_fc_trend mla__fc_trend_classify(const double *x, size_t n, int md, bool logsp,
                                         double *change);

/* ---- the engine (model.c) ---- */
struct mla__fc_engine;
/* keep: history points the rings must hold at least (cycle tests run on what they hold). */
struct mla__fc_engine *mla__fc_engine_create(double step_s, const struct mla_fc_config *cfg,
                                             size_t keep);
void mla__fc_engine_destroy(struct mla__fc_engine *e);
/* Seeds the engine (before its first point) from x[0..mw): the carried profile in log space
 * at the slot of the week of each of the first mw points (profile.c). Log space only. */
void mla__fc_engine_seed(struct mla__fc_engine *e, const double *x);
/* ---- the carried profile (profile.c) ---- */
/* Hour of the week (0..167) of Unix time t. */
size_t mla__fc_profile_hour(double t);
/* Consumes the next point (NaN = missing). */
void mla__fc_engine_step(struct mla__fc_engine *e, double y);
/* Ensemble forecast for index i + H (H = horizon), made after step(i); NaN when none. */
double mla__fc_engine_point(const struct mla__fc_engine *e);
double mla__fc_engine_upper(struct mla__fc_engine *e);

/* Each candidate's rolling H-step forecasts: out[k*n + i] (K*n doubles), for diagnostics. */
void mla__fc_backtest_cands(const double *values, size_t n, double step_s,
                            const struct mla_fc_config *cfg, double *out);

/* ---- baselines (evaluate.c) ---- */
/* Rolling h-step forecasts of the additive daily Holt-Winters baseline into out[0..n-1]. */
void mla__fc_hw_backtest(const double *v, size_t n, int md, int h, double alpha, double beta,
                         double gamma, double *out);

#endif
