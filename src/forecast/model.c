/* forecast/model.c - the forecasting engine: anomaly filter, candidate forecasters, ensemble.
 *
 * One causal pass over the history. At each point i:
 *   1. the anomaly filter compares the value with the one-step forecast of the reference model
 *      (smoothed daily Holt-Winters in log space); beyond anomaly_threshold robust deviations the value
 *      is an anomaly and is replaced by that forecast (a gap is filled the same way). A zero
 *      where much more was expected is an outage; a run of anomalies longer than
 *      anomaly_accept_s (outage_accept_s for outages) is a new regime: accepted, models rebased.
 *   2. every candidate's forecast made H points earlier for this point is scored against the
 *      actual (when present and not an anomaly): exponentially weighted mean absolute error.
 *   3. the candidates consume the (filtered) value and forecast point i+H; the ensemble is the
 *      mae^-power weighted mean of the candidates with enough scored history.
 * So a forecast from n points costs O(n * candidates) and the weights are the candidates'
 * recent out-of-sample record at the very horizon we forecast. See docs/forecasting.md.
 *
 * The engine keeps its history in power-of-two rings (filtered and raw values in model space,
 * an accepted flag), long enough for the seasonal-naive candidates; the batch calls size them to
 * the whole input, the streaming model (struct mla_fc_model) to two weeks, so a model lives on
 * between calls and each new point costs O(candidates).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fc-int.h"
#include "mla/mem.h"

#define K MLA_FC_CAND_COUNT /* even: the candidate loops run two lanes at a time */
#define RES_CAP 2016 /* residuals kept for the interval */
#define XS(e, j) ((e)->xs[(size_t)(j) & (e)->mask])
#define XR(e, j) ((e)->xr[(size_t)(j) & (e)->rmask])
#define OK(e, j) ((e)->ok[(size_t)(j) & (e)->rmask])
#define XB(e, j) ((e)->xb[(size_t)(j) & (e)->rmask])
#define XL(e, j) ((e)->xl[(size_t)(j) & (e)->rmask])
/* A weekly deviation counts when it exceeds this many noise scales (one-step residual scale):
 * 3 lets about 1 noise point in 400 through, while a recurring event stands far above it. */
#define WD_C 3.0
/* The profile candidate's gain per visit of a slot (a slot comes round once a week), by how the
 * slots started: from their first visits (PROF_GAIN): 0.3, so a few weeks make the shape; from
 * the loop's carried profile (mla__fc_engine_seed, which seeds every slot): PROF_GAIN_SEEDED,
 * the carried profile's own gain per point (profile.c, PF_GAIN 0.05). A seeded slot holds the
 * running mean of up to 20 points of its hour of the week, weeks older than the window; a visit
 * is one 5-minute point.
 * At 0.3 the window's two visits of each slot replaced half of that mean with two noisy points
 * (0.7 x 0.7 of the seed left), so the seeded profile forecast the noise of the last two weeks
 * back; at 0.05 the window's points continue the carried mean at its own rate, and the offset
 * (prof_off, gain 0.1 a point) still follows the level within hours. Where the season breaks,
 * the stale shape is the ensemble's to drop: the profile's error record grows and its weight
 * moves to the level models (season_breaks unchanged), and the carried profile itself forgets
 * the old season at PF_GAIN a point. Measured at the loop's 336 h (docs/forecasting.md, ninth
 * round): seeded gain 0.3 / 0.2 / 0.1 / 0.05, weekly_sharp 0.8276 / 0.8298 / 0.8323 / 0.8328,
 * every other trace the same or +0.0001; without a seed nothing changes (all history, the
 * streaming model). */
#define PROF_GAIN 0.3
#define PROF_GAIN_SEEDED 0.05

struct mla__fc_engine {
    struct mla_fc_config cfg;
    double step_s;
    size_t t;        /* points consumed so far (the next point's index) */
    size_t mask;     /* xs holds mask + 1 (a power of two) points: the cycle and trend
                        analysis reads all of it */
    size_t rmask;    /* xr, ok, xb, xl hold rmask + 1: read at most a week back (seasonal
                        index), so they need not grow with `keep` (a streaming model's two
                        weeks): 50 KB less per model at a 300 s step */
    int H, md, mw, mp;
    bool logsp;      /* the first values pushed were all >= 0: model in log1p space */
    bool logsp_set;
    double *xs;      /* ring: model space, anomalies and gaps replaced; NaN before any value */
    double *xr;      /* ring: model space of the raw values (NaN = missing), for the filter */
    unsigned char *ok; /* ring: 1 when the point was accepted by the filter */
    double *xb;      /* ring: the smooth daily model's expectation of each point, one step
                        ahead (model space; NaN before it can forecast) */
    double *xl;      /* ring: the fast level before each point (model space) */
    double cur;      /* the current point in raw space, filtered */
    struct mla__fc_hw hw_day, hw_day_log, hw_day_slow, hw_day_smooth, hw_week_log, damped_log;
    double lvl, lvl_slow; /* smoothed levels (fast, slow), model space */
    bool lvl_started;
    double *prof;    /* profile candidate: per slot of week (or day), model space */
    unsigned char *prof_seen;
    double prof_gain; /* PROF_GAIN, or PROF_GAIN_SEEDED once seeded */
    double prof_off;
    bool prof_active; /* some profile slot has come round a second time */
    double scale_s, scale_w; /* robust scale: EW mean of |one-step residual| */
    size_t run;
    int run_kind; /* 1 spike/dip, 2 outage */
    size_t anomalies, missing;
    double *ring;     /* H rows of K: forecasts for i+H made at i, row i % H (a row is read
                         and rewritten as a whole at each point) */
    double *ens_ring; /* H */
    double mae_s[K], mae_w[K];
    double lambda; /* per-point decay of the error averages */
    double w[K];   /* current weights */
    bool w_valid;  /* w comes from error records (else re-derived every point) */
    double ens_err, ens_act;
    size_t scored;
    double res[RES_CAP];
    size_t res_n, res_pos;
    double q_hi;
    size_t q_at;
    bool q_valid;
    size_t last_i;
    size_t dpos, wpos, ppos, hpos; /* i mod md, mod mw, mod mp, mod H for the current point */
    size_t hd, hw, hp; /* H mod md, mod mw, mod mp: the forecast target's slot offsets */
    double point_x; /* ensemble forecast for i + H, model space */
    struct mla__fc_hw2 hw_sqrt; /* the two double-seasonal models fed sqrt(y) (eg_sqrt_*),
                                   as the two lanes of one (hwpair.c) */
};

/* Two-lane vectors (GCC/Clang vector extension, plain SSE2) for the per-candidate loops. */
typedef double eg_v2 __attribute__((vector_size(16)));
typedef long long eg_i2 __attribute__((vector_size(16)));

_Static_assert(K % 2 == 0, "the candidate loops step two lanes at a time");

/* Four lanes for the loops that run at every point (scoring, the ensemble mean) in the AVX2
 * build of the step (eg_step_avx2). Not in the default build: without AVX, GCC splits a 32-byte
 * vector's comparisons and masks lane by lane (1.7 times the step's instructions), so that one
 * keeps its two-lane loops, and the loops take the lane count as a constant. */
typedef double eg_v4 __attribute__((vector_size(32)));
typedef long long eg_i4 __attribute__((vector_size(32)));

_Static_assert(K % 4 == 0, "the per-point candidate loops step four lanes at a time");

/* m ? a : b per lane (m all ones or all zeros, as a comparison gives). */
static inline eg_v2 eg_sel(eg_i2 m, eg_v2 a, eg_v2 b)
{
    return (eg_v2)(((eg_i2)a & m) | ((eg_i2)b & ~m));
}

/* fabs per lane: clears the sign bit. */
static inline eg_v2 eg_abs(eg_v2 a)
{
    const eg_i2 mag = {0x7fffffffffffffffll, 0x7fffffffffffffffll};
    return (eg_v2)((eg_i2)a & mag);
}

/* log1p(y) for y >= 0 to ~1e-12: (1+y) = 2^k m with m in [sqrt(1/2), sqrt(2)), then
 * log m = 2 atanh(s), s = (m-1)/(m+1), |s| < 0.172, series to s^13. Runs once or twice per
 * point; libm's was a tenth of the serving time. Tiny y (< 1e-4) goes to libm for precision. */
static inline double eg_log1p(double y)
{
    if (y < 1e-4)
        return log1p(y);
    union {
        double d;
        unsigned long long u;
    } z = {.d = 1 + y};
    long long k = (long long)((z.u >> 52) & 0x7ff) - 1023;
    z.u = (z.u & 0x000fffffffffffffull) | 0x3ff0000000000000ull; /* m in [1, 2) */
    /* Halve m above sqrt(2) without a branch (which way it goes is a coin flip per value);
     * the multiplication by 1 or 0.5 is exact. */
    static const double half_or_one[2] = {1, 0.5};
    int big = z.d > 1.4142135623730951;
    z.d *= half_or_one[big];
    k += big;
    double s = (z.d - 1) / (z.d + 1), s2 = s * s;
    double t = s2 * (1.0 / 3 + s2 * (1.0 / 5 + s2 * (1.0 / 7 + s2 * (1.0 / 9 +
               s2 * (1.0 / 11 + s2 * (1.0 / 13))))));
    return (double)k * 0.6931471805599453 + 2 * s * (1 + t);
}

/* eg_log1p of both lanes, each lane the same operations (same bits): one division for the
 * two square-root candidates' forecasts at every point. */
static inline eg_v2 eg_log1p2(eg_v2 y)
{
    if (!(y[0] >= 1e-4 && y[1] >= 1e-4))
        return (eg_v2){eg_log1p(y[0]), eg_log1p(y[1])};
    const eg_v2 one = {1, 1};
    eg_v2 z = one + y;
    eg_i2 u = (eg_i2)z;
    long long k0 = (long long)(((unsigned long long)u[0] >> 52) & 0x7ff) - 1023;
    long long k1 = (long long)(((unsigned long long)u[1] >> 52) & 0x7ff) - 1023;
    const eg_i2 mant = {0x000fffffffffffffll, 0x000fffffffffffffll};
    const eg_i2 expo = {0x3ff0000000000000ll, 0x3ff0000000000000ll};
    z = (eg_v2)((u & mant) | expo); /* m in [1, 2) */
    const eg_v2 r2 = {1.4142135623730951, 1.4142135623730951}, half = {0.5, 0.5};
    eg_i2 big = z > r2;
    z *= eg_sel(big, half, one);
    k0 -= big[0]; /* a true lane is -1 */
    k1 -= big[1];
    eg_v2 s = (z - one) / (z + one), s2 = s * s;
    eg_v2 t = s2 * (1.0 / 3 + s2 * (1.0 / 5 + s2 * (1.0 / 7 + s2 * (1.0 / 9 +
              s2 * (1.0 / 11 + s2 * (1.0 / 13))))));
    const eg_v2 kd = {(double)k0, (double)k1};
    return kd * 0.6931471805599453 + 2 * s * (1 + t);
}

static MLA__FC_INLINE double eg_fwd(const struct mla__fc_engine *e, double y)
{
    return e->logsp ? eg_log1p(y > 0 ? y : 0) : y;
}

/* exp(x) to ~1e-8 relative: the back-transform runs for every candidate at every point, and
 * libm's exact expm1 was a third of the serving time. 2^k * e^r, |r| <= ln2/2, Taylor to r^8. */
static inline double eg_exp(double x)
{
    if (x < -700)
        return 0;
    if (x > 700)
        x = 700;
    double t = x * 1.4426950408889634;
    double k = (double)(long long)(t + (t >= 0 ? 0.5 : -0.5));
    double r = x - k * 0.6931471805599453;
    double p = 1 + r * (1 + r * (1.0 / 2 + r * (1.0 / 6 + r * (1.0 / 24 + r * (1.0 / 120 +
               r * (1.0 / 720 + r * (1.0 / 5040 + r * (1.0 / 40320))))))));
    union {
        double d;
        unsigned long long u;
    } two;
    two.u = (unsigned long long)((long long)k + 1023) << 52;
    return p * two.d;
}

static MLA__FC_INLINE double eg_back(const struct mla__fc_engine *e, double x)
{
    if (!e->logsp)
        return x;
    double y = eg_exp(x) - 1;
    return y > 0 ? y : 0;
}

/* The square-root-space candidates (MLA_FC_CAND_HW_WEEK_SQRT, _SLOW). On a request count the
 * square root makes the noise about the same size at every load (Poisson: sd of sqrt(y) ~ 1/2),
 * where log1p makes a quiet night's noise large and a peak's small; fed that, a slow level with
 * a weekly season that learns fast (0.5) rides out the bursts that pull the log models' level
 * about, and a weekday's shape comes back from last week. NASA's error is bursts spread over
 * every hour (docs/forecasting.md): the slow level is what gained there, the space what made it
 * safe. Level gains 0.03 and 0.005 per point: half-lives of 23 and 138 points (~2 h and ~12 h at
 * 5 minutes). Counts only: a series in linear space (negative values) leaves them NaN. */
static void eg_sqrt_init(struct mla__fc_engine *e, int kw)
{
    static const double halflife_s[2] = {2 * 3600.0, 12 * 3600.0};
    double alpha[2];
    for (int k = 0; k < 2; k++)
        alpha[k] = 1 - pow(2.0, -e->step_s / halflife_s[k]);
    mla__fc_hw2_init(&e->hw_sqrt, alpha, e->md, 0.1, e->mw, 0.5, kw);
}

/* Feeds the raw-space value y (filtered, >= 0 in log space) to the square-root models. */
static MLA__FC_INLINE void eg_sqrt_learn(struct mla__fc_engine *e, size_t i, size_t jd,
                                         size_t jw, double y)
{
    if (!e->logsp || !e->mw)
        return;
    mla__fc_hw2_update(&e->hw_sqrt, i, jd, jw, sqrt(y > 0 ? y : 0));
}

/* Their forecasts for the target slots (jd, jw), h points ahead, in model space. */
static MLA__FC_INLINE void eg_sqrt_pred(const struct mla__fc_engine *e, int h, size_t jd,
                                        size_t jw, double *pred)
{
    (void)h; /* no trend: the forecast is the same at every horizon */
    static const int idx[2] = {MLA_FC_CAND_HW_WEEK_SQRT, MLA_FC_CAND_HW_WEEK_SQRT_SLOW};
    if (!e->logsp || !e->mw || !e->hw_sqrt.started) {
        pred[idx[0]] = pred[idx[1]] = NAN;
        return;
    }
    mla__fc_v2 r = mla__fc_hw2_pred_slots(&e->hw_sqrt, jd, jw);
    /* eg_fwd of each lane (log space, the argument >= 0) */
    eg_v2 f = eg_log1p2((eg_v2){r[0] > 0 ? r[0] * r[0] : 0, r[1] > 0 ? r[1] * r[1] : 0});
    pred[idx[0]] = f[0];
    pred[idx[1]] = f[1];
}

/* A lasting change (the filter accepts a new regime at point i, raw value y): both square-root
 * models rebased onto it, as the other level-bearing models are. */
static void eg_sqrt_shift(struct mla__fc_engine *e, size_t prev, double y)
{
    if (!e->logsp || !e->mw)
        return;
    mla__fc_hw2_shift_to(&e->hw_sqrt, prev, sqrt(y > 0 ? y : 0));
}

struct mla__fc_engine *mla__fc_engine_create(double step_s, const struct mla_fc_config *cfg,
                                             size_t keep)
{
    struct mla__fc_engine *e = mla_xcalloc(1, sizeof *e);
    e->cfg = *cfg;
    e->step_s = step_s;
    e->H = cfg->horizon_steps;
    e->md = mla__fc_period_steps(cfg->day_s, step_s);
    e->mw = mla__fc_period_steps(cfg->week_s, step_s);
    e->logsp = true;
    /* History kept: what seasonal-naive forecasts reach back to, at least `keep`. */
    size_t need = (size_t)(e->mw > e->md ? e->mw : e->md) + (size_t)e->H + 2;
    size_t rcap = 16;
    while (rcap < need)
        rcap <<= 1;
    e->rmask = rcap - 1;
    if (need < keep)
        need = keep;
    size_t cap = 16;
    while (cap < need)
        cap <<= 1;
    e->mask = cap - 1;
    e->xs = mla_xmalloc(cap * sizeof(double));
    e->xr = mla_xmalloc(rcap * sizeof(double));
    e->ok = mla_xcalloc(rcap, 1);
    e->xb = mla_xmalloc(rcap * sizeof(double));
    e->xl = mla_xmalloc(rcap * sizeof(double));
    for (size_t j = 0; j < cap; j++)
        e->xs[j] = NAN;
    for (size_t j = 0; j < rcap; j++)
        e->xr[j] = e->xb[j] = e->xl[j] = NAN;
    /* Fixed smoothing parameters: the ensemble weights do the adapting, no per-series refit. */
    /* Two flavours of season: sharp (classic, each slot on its own: catches narrow peaks) and
     * smooth (each update spread over +-1 hour of slots: averages burst noise away). */
    int kw = mla__fc_period_steps(3600, step_s);
    if (kw > e->md / 8)
        kw = e->md / 8;
    mla__fc_hw_init(&e->hw_day, 0.2, 0, 1, e->md, 0.2, 0, 0);
    mla__fc_hw_init(&e->hw_day_log, 0.2, 0, 1, e->md, 0.2, 0, 0);
    mla__fc_hw_init(&e->hw_day_slow, 0.05, 0, 1, e->md, 0.3, 0, 0);
    mla__fc_hw_init(&e->hw_day_smooth, 0.1, 0, 1, e->md, 0.3, 0, 0);
    mla__fc_hw_smooth(&e->hw_day_smooth, 0, kw);

    mla__fc_hw_init(&e->hw_week_log, 0.1, 0, 1, e->md, 0.2, e->mw, 0.3);
    mla__fc_hw_smooth(&e->hw_week_log, 0, kw);
    mla__fc_hw_smooth(&e->hw_week_log, 1, kw);
    mla__fc_hw_init(&e->damped_log, 0.3, 0.1, 0.95, 0, 0, 0, 0);
    e->mp = e->mw ? e->mw : e->md;
    e->prof_gain = PROF_GAIN;
    if (e->mp) {
        e->prof = mla_xcalloc((size_t)e->mp, sizeof(double));
        e->prof_seen = mla_xcalloc((size_t)e->mp, 1);
    }
    e->ring = mla_xmalloc((size_t)K * (size_t)e->H * sizeof(double));
    e->ens_ring = mla_xmalloc((size_t)e->H * sizeof(double));
    for (size_t j = 0; j < (size_t)K * (size_t)e->H; j++)
        e->ring[j] = NAN;
    for (int j = 0; j < e->H; j++)
        e->ens_ring[j] = NAN;
    e->hd = e->md ? (size_t)e->H % (size_t)e->md : 0;
    e->hw = e->mw ? (size_t)e->H % (size_t)e->mw : 0;
    e->hp = e->mp ? (size_t)e->H % (size_t)e->mp : 0;
    e->lambda = pow(2.0, -step_s / cfg->weight_halflife_s);
    e->point_x = NAN;
    eg_sqrt_init(e, kw);
    return e;
}

void mla__fc_engine_destroy(struct mla__fc_engine *e)
{
    if (!e)
        return;
    mla__fc_hw_fini(&e->hw_day);
    mla__fc_hw_fini(&e->hw_day_log);
    mla__fc_hw_fini(&e->hw_day_smooth);
    mla__fc_hw_fini(&e->hw_day_slow);
    mla__fc_hw_fini(&e->hw_week_log);
    mla__fc_hw_fini(&e->damped_log);
    mla__fc_hw2_fini(&e->hw_sqrt);
    free(e->prof);
    free(e->prof_seen);
    free(e->ring);
    free(e->ens_ring);
    free(e->xs);
    free(e->xr);
    free(e->ok);
    free(e->xb);
    free(e->xl);
    free(e);
}

/* Index of the latest point <= i that is `back` seasons of m before i + h; -1 when none. */
static MLA__FC_INLINE long eg_snaive_idx(size_t i, int h, int m)
{
    if (m <= 0)
        return -1;
    long j = (long)i + h - m;
    while (j > (long)i)
        j -= m;
    return j;
}

/* d when it stands out of the noise (|d| > thr), else 0 (hard threshold: a soft one, d - thr,
 * cut every weekly peak by the threshold and scored worse on weekly_sharp and NASA). */
static inline double eg_keep(double d, double thr)
{
    return fabs(d) > thr ? d : 0;
}

/* The weekly-deviation candidates: a base forecast (the smooth daily model, the fast level) plus
 * how far the same slot last week (j) stood from what that base expected then, kept only when
 * it stands out of the noise (WD_C scales). Where last week held nothing special they are their
 * base (no noise copied from last week, unlike snaive_week); a weekly event (a Monday peak)
 * comes back whole, which a daily model or a level cannot do, and which the smoothed weekly
 * season blurs when it has seen only one or two weeks (the loop's 336 h lookback). Reads the
 * raw value at j: the filter replaces the first hour of a weekly event it has not seen yet, and
 * that is exactly what must come back a week later (a one-off spike comes back too, and its
 * error record then costs these candidates their weight). */
static MLA__FC_INLINE void eg_week_dev(const struct mla__fc_engine *e, long j, double *pred)
{
    pred[MLA_FC_CAND_WEEK_DEV] = pred[MLA_FC_CAND_LEVEL_WEEK] = NAN;
    if (j < 0)
        return;
    double y = XR(e, j);
    double thr = e->scale_w > 0 ? WD_C * 1.25 * e->scale_s / e->scale_w : 0;
    double b = XB(e, j), l = XL(e, j);
    pred[MLA_FC_CAND_WEEK_DEV] = pred[MLA_FC_CAND_HW_DAY_SMOOTH] + eg_keep(y - b, thr);
    pred[MLA_FC_CAND_LEVEL_WEEK] = pred[MLA_FC_CAND_LEVEL] + eg_keep(y - l, thr);
}

/* Every candidate's forecast for point i + h in model space, made after consuming point i;
 * jd, jw, jp: the target's slot in the day, the week and the profile period ((i + h) mod md,
 * mw, mp). One pass fills all K (no per-candidate dispatch): this runs at every point. */
MLA__FC_CLONES static void eg_cands(const struct mla__fc_engine *e, size_t i, int h, size_t jd,
                                    size_t jw, size_t jp, double *pred)
{
    long j;
    pred[MLA_FC_CAND_PERSIST] = XS(e, i);
    j = eg_snaive_idx(i, h, e->md);
    pred[MLA_FC_CAND_SNAIVE_DAY] = j >= 0 ? XS(e, j) : NAN;
    j = eg_snaive_idx(i, h, e->mw);
    pred[MLA_FC_CAND_SNAIVE_WEEK] = j >= 0 ? XS(e, j) : NAN;
    pred[MLA_FC_CAND_LEVEL] = e->lvl_started ? e->lvl : NAN;
    pred[MLA_FC_CAND_MEAN] = e->lvl_started ? e->lvl_slow : NAN;
    if (e->md) {
        double p = mla__fc_hw_pred_day(&e->hw_day, h, jd);
        pred[MLA_FC_CAND_HW_DAY] = eg_fwd(e, e->logsp && p < 0 ? 0 : p);
        pred[MLA_FC_CAND_HW_DAY_LOG] = mla__fc_hw_pred_day(&e->hw_day_log, h, jd);
        pred[MLA_FC_CAND_HW_DAY_SLOW] = mla__fc_hw_pred_day(&e->hw_day_slow, h, jd);
        pred[MLA_FC_CAND_HW_DAY_SMOOTH] = mla__fc_hw_pred_slots(&e->hw_day_smooth, h, jd, 0);
    } else {
        pred[MLA_FC_CAND_HW_DAY] = pred[MLA_FC_CAND_HW_DAY_LOG] = NAN;
        pred[MLA_FC_CAND_HW_DAY_SLOW] = pred[MLA_FC_CAND_HW_DAY_SMOOTH] = NAN;
    }
    pred[MLA_FC_CAND_HW_WEEK_LOG] =
        e->mw ? mla__fc_hw_pred_slots(&e->hw_week_log, h, jd, jw) : NAN;
    pred[MLA_FC_CAND_DAMPED_LOG] = mla__fc_hw_pred_slots(&e->damped_log, h, 0, 0);
    pred[MLA_FC_CAND_PROFILE_LOG] =
        e->mp && e->prof_seen[jp] ? e->prof[jp] + e->prof_off : NAN;
    eg_week_dev(e, eg_snaive_idx(i, h, e->mw), pred);
    eg_sqrt_pred(e, h, jd, jw, pred);
}

/* eg_cands for any h after the last point (the result: not per point, so plain modulo). */
static void eg_cands_at(const struct mla__fc_engine *e, int h, double *pred)
{
    size_t jd = e->md ? (e->dpos + (size_t)h) % (size_t)e->md : 0;
    size_t jw = e->mw ? (e->wpos + (size_t)h) % (size_t)e->mw : 0;
    size_t jp = e->mp ? (e->ppos + (size_t)h) % (size_t)e->mp : 0;
    eg_cands(e, e->t - 1, h, jd, jw, jp, pred);
}

/* Weights from the candidates' error records; candidates without a forecast get 0. */
MLA__FC_CLONES static void eg_weights(const struct mla__fc_engine *e, const double *pred, double *w)
{
    /* Two candidates per instruction: the three divisions per candidate (record mean, ratio to
     * the best, normalisation) made this divider-bound, and a two-lane division costs about as
     * much as one. Each lane does what the scalar code did, in the same order (same bits). */
    double minw = 2.0 * e->H < 12 ? 12 : 2.0 * e->H;
    const eg_v2 minwv = {minw, minw}, tiny = {1e-12, 1e-12}, inf = {INFINITY, INFINITY};
    const eg_v2 zero = {0, 0}, one = {1, 1};
    eg_v2 mae[K / 2];
    eg_i2 ok[K / 2];
    double best = INFINITY;
    for (int k = 0; k < K; k += 2) {
        eg_v2 p, ms, mw;
        memcpy(&p, pred + k, sizeof p);
        memcpy(&ms, e->mae_s + k, sizeof ms);
        memcpy(&mw, e->mae_w + k, sizeof mw);
        /* A record to judge by: a finite forecast and enough scored points. */
        ok[k / 2] = (eg_abs(p) < inf) & (mw >= minwv);
        mae[k / 2] = ms / mw + tiny; /* garbage (even 0/0) in the lanes !ok leaves out */
        /* The minimum with min instructions (no data-dependent branch). */
        eg_v2 cand = eg_sel(ok[k / 2], mae[k / 2], inf);
        best = cand[0] < best ? cand[0] : best;
        best = cand[1] < best ? cand[1] : best;
    }
    /* (best/mae)^power: the same normalised weights as mae^-power, without overflow; an integer
     * power (the default) by repeated squaring, as pow() per point per candidate is costly. */
    double pw = e->cfg.weight_power;
    /* Until the ensemble has been scored for one weight half-life the records hold a few days
     * of points and their ratios are noisy: a large power then hands the forecast to whichever
     * candidate was luckiest so far (on sharp_daily a seasonal naive, replaying yesterday's
     * noise across the one-replica boundary: nearly all the floor changes power 16 added there
     * came in its first week). So a quarter of the power (an average of the good ones) until
     * the records have that much evidence. */
    if ((double)e->scored * e->step_s < e->cfg.weight_halflife_s)
        pw /= 4;
    int ip = (int)pw;
    bool intp = (double)ip == pw && ip > 0 && ip <= 64;
    const eg_v2 bestv = {best, best};
    double sum = 0;
    for (int k = 0; k < K; k += 2) {
        eg_v2 q = bestv / mae[k / 2], acc = one;
        if (intp) {
            eg_v2 b = q;
            for (int p = ip; p; p >>= 1, b *= b)
                if (p & 1)
                    acc *= b;
        } else {
            for (int l = 0; l < 2; l++)
                acc[l] = ok[k / 2][l] ? pow(q[l], pw) : 0;
        }
        acc = eg_sel(ok[k / 2], acc, zero);
        memcpy(w + k, &acc, sizeof acc);
        sum += w[k]; /* adding a left-out candidate's +0 changes no bit */
        sum += w[k + 1];
    }
    if (sum > 0 && isfinite(sum)) {
        const eg_v2 sv = {sum, sum};
        for (int k = 0; k < K; k += 2) {
            eg_v2 v;
            memcpy(&v, w + k, sizeof v);
            v /= sv;
            memcpy(w + k, &v, sizeof v);
        }
        return;
    }
    /* Nothing scored yet: the daily model if it can forecast, else the smoothed level. */
    static const int order[] = {MLA_FC_CAND_HW_DAY_LOG, MLA_FC_CAND_LEVEL, MLA_FC_CAND_PERSIST};
    for (size_t o = 0; o < sizeof order / sizeof order[0]; o++)
        if (isfinite(pred[order[o]])) {
            w[order[o]] = 1;
            return;
        }
}

static MLA__FC_INLINE void eg_push_res(struct mla__fc_engine *e, double r)
{
    e->res[e->res_pos] = r;
    if (++e->res_pos == RES_CAP)
        e->res_pos = 0;
    if (e->res_n < RES_CAP)
        e->res_n++;
}

/* Anomaly filter: returns the value the models consume (model space), flags *accepted. */
static MLA__FC_INLINE double eg_filter(struct mla__fc_engine *e, size_t i, double y, bool *accepted)
{
    *accepted = false;
    size_t prev = i ? i - 1 : 0;
    const struct mla__fc_hw *ref = &e->hw_day_smooth;
    bool ref_ok = i > 0 && e->md && ref->started && ref->seen[0][e->dpos];
    /* One step ahead of prev is point i: its day slot is dpos. */
    double r = ref_ok ? mla__fc_hw_pred_slots(ref, 1, e->dpos, 0) : NAN;
    XB(e, i) = r;
    if (isnan(y)) {
        XR(e, i) = NAN;
        e->missing++;
        e->run = 0;
        if (ref_ok)
            return r;
        return i > 0 ? XS(e, prev) : NAN;
    }
    double x = eg_fwd(e, y);
    XR(e, i) = x;
    if (!ref_ok) {
        *accepted = true;
        return x;
    }
    double d = x - r;
    /* Recurring structure is not an anomaly: a value the sharp-season model expects (a narrow
     * daily peak the smoothed reference blurs) passes. */
    double r2 = e->hw_day_log.seen[0][e->dpos]
                    ? mla__fc_hw_pred_day(&e->hw_day_log, 1, e->dpos)
                    : NAN;
    /* Only the smallest deviation matters: kept as a minimum of absolute values, which
     * compiles to min instructions (a NaN - no forecast, no past value - never wins) instead
     * of the data-dependent branches that picked the signed winner. */
    double dmin = fabs(d), a2 = fabs(x - r2);
    dmin = a2 < dmin ? a2 : dmin;
    /* Nor is a value seen at the same time yesterday or last week (raw, before filtering: a
     * weekly peak the daily models cannot know would otherwise be filtered away forever). A low
     * value counts as seen only if that past value was not itself an anomaly: an outage lasting
     * over a day is still an outage. */
    for (int k = 0; k < 2; k++) {
        size_t m = (size_t)(k ? e->mw : e->md);
        if (m && i >= m && (d > 0 || OK(e, i - m))) {
            double ap = fabs(x - XR(e, i - m));
            dmin = ap < dmin ? ap : dmin;
        }
    }
    double scale = e->scale_w > 0 ? 1.25 * e->scale_s / e->scale_w : 0;
    bool active = e->scale_w >= 12 && scale > 0;
    if (!active || dmin <= e->cfg.anomaly_threshold * scale) {
        e->run = 0;
        e->scale_s = 0.995 * e->scale_s + fabs(d);
        e->scale_w = 0.995 * e->scale_w + 1;
        *accepted = true;
        return x;
    }
    int kind = y == 0 ? 2 : 1;
    if (e->run && kind != e->run_kind)
        e->run = 0;
    e->run_kind = kind;
    e->run++;
    double limit = kind == 2 ? e->cfg.outage_accept_s : e->cfg.anomaly_accept_s;
    if ((double)e->run * e->step_s > limit) {
        /* A lasting change: rebase the level-bearing models onto it. */
        e->run = 0;
        mla__fc_hw_shift(&e->hw_day_smooth, d);
        mla__fc_hw_shift(&e->hw_day_log, x - mla__fc_hw_pred(&e->hw_day_log, prev, 1));
        mla__fc_hw_shift(&e->hw_day_slow, x - mla__fc_hw_pred(&e->hw_day_slow, prev, 1));
        mla__fc_hw_shift(&e->hw_week_log, d);
        eg_sqrt_shift(e, prev, y);
        mla__fc_hw_shift(&e->damped_log, x - mla__fc_hw_pred(&e->damped_log, prev, 1));
        mla__fc_hw_shift(&e->hw_day, y - mla__fc_hw_pred(&e->hw_day, prev, 1));
        e->lvl = e->lvl_slow = x;
        /* The profile's offset only once it has one: before any slot comes round again every
         * slot holds its own first value, which no shift makes stale, and an offset moved then
         * never comes back (only revisited slots move it): a weekly peak accepted in the first
         * week left every other slot's forecast off by the peak's height for a week. */
        if (e->prof_active)
            e->prof_off += d;
        *accepted = true;
        return x;
    }
    e->anomalies++;
    return r;
}

/* Slot counters (i mod day, mod profile period, mod H) advanced without divisions. */
static MLA__FC_INLINE void eg_advance(struct mla__fc_engine *e, size_t i)
{
    if (i == 0) {
        e->dpos = e->wpos = e->ppos = e->hpos = 0;
        return;
    }
    if (e->md && ++e->dpos == (size_t)e->md)
        e->dpos = 0;
    if (e->mw && ++e->wpos == (size_t)e->mw)
        e->wpos = 0;
    if (e->mp && ++e->ppos == (size_t)e->mp)
        e->ppos = 0;
    if (++e->hpos == (size_t)e->H)
        e->hpos = 0;
}

/* Scores the forecasts made H points ago for this point (row, the ensemble's in ens_ring[slot])
 * against the accepted value y (x transformed). */
static MLA__FC_INLINE void eg_score(struct mla__fc_engine *e, size_t slot, const double *row,
                                    double y, double x, int lanes)
{
    /* Errors in the series' units without a back-transform per candidate:
     * |y - p| ~ (1 + y) |log1p(y) - log1p(p)| to first order. */
    double unit = e->logsp ? 1 + y : 1;
    /* Two (AVX2: four) candidates per instruction, branch-free: a candidate without a
     * forecast (NaN) keeps its record. Same operations per lane as the scalar update (same
     * bits). */
    if (lanes == 2) {
        const eg_v2 lam = {e->lambda, e->lambda}, un = {unit, unit}, xv = {x, x};
        const eg_v2 one = {1, 1};
        for (int k = 0; k < K; k += 2) {
            eg_v2 p, ms, mw;
            memcpy(&p, row + k, sizeof p);
            memcpy(&ms, e->mae_s + k, sizeof ms);
            memcpy(&mw, e->mae_w + k, sizeof mw);
            eg_i2 has = p == p;
            ms = eg_sel(has, lam * ms + un * eg_abs(xv - p), ms);
            mw = eg_sel(has, lam * mw + one, mw);
            memcpy(e->mae_s + k, &ms, sizeof ms);
            memcpy(e->mae_w + k, &mw, sizeof mw);
        }
    } else {
        const double lambda = e->lambda;
        const eg_v4 lam = {lambda, lambda, lambda, lambda}, un = {unit, unit, unit, unit};
        const eg_v4 xv = {x, x, x, x}, one = {1, 1, 1, 1};
        const eg_i4 mag = {0x7fffffffffffffffll, 0x7fffffffffffffffll, 0x7fffffffffffffffll,
                           0x7fffffffffffffffll};
        for (int k = 0; k < K; k += 4) {
            eg_v4 p, ms, mw;
            memcpy(&p, row + k, sizeof p);
            memcpy(&ms, e->mae_s + k, sizeof ms);
            memcpy(&mw, e->mae_w + k, sizeof mw);
            eg_i4 has = p == p;
            eg_v4 nms = lam * ms + un * (eg_v4)((eg_i4)(xv - p) & mag), nmw = lam * mw + one;
            ms = (eg_v4)(((eg_i4)nms & has) | ((eg_i4)ms & ~has));
            mw = (eg_v4)(((eg_i4)nmw & has) | ((eg_i4)mw & ~has));
            memcpy(e->mae_s + k, &ms, sizeof ms);
            memcpy(e->mae_w + k, &mw, sizeof mw);
        }
    }
    double p = e->ens_ring[slot];
    if (!isnan(p)) {
        eg_push_res(e, x - p);
        e->ens_err = e->lambda * e->ens_err + unit * fabs(x - p);
        e->ens_act = e->lambda * e->ens_act + fabs(y);
        e->scored++;
    }
}

/* Feeds point i (x transformed, present) to every candidate's state: the Holt-Winters
 * variants, the fast and slow levels and the periodic profile (lanes: as eg_step's). */
static MLA__FC_INLINE void eg_learn(struct mla__fc_engine *e, size_t i, double x, int lanes)
{
    size_t jd = e->dpos, jw = e->wpos;
    mla__fc_hw_update_day(&e->hw_day, i, jd, e->cur);
    mla__fc_hw_update_day(&e->hw_day_log, i, jd, x);
    mla__fc_hw_update_smoothed(&e->hw_day_smooth, i, jd, 0, x, lanes);
    mla__fc_hw_update_day(&e->hw_day_slow, i, jd, x);
    mla__fc_hw_update_smoothed(&e->hw_week_log, i, jd, jw, x, lanes);
    eg_sqrt_learn(e, i, jd, jw, e->cur);
    mla__fc_hw_update_trend(&e->damped_log, i, x);
    if (!e->lvl_started) {
        e->lvl = e->lvl_slow = x;
        e->lvl_started = true;
    } else {
        e->lvl += 0.3 * (x - e->lvl);
        e->lvl_slow += 0.03 * (x - e->lvl_slow);
    }
    if (e->mp) {
        size_t s = e->ppos;
        if (e->prof_seen[s]) {
            e->prof_active = true;
            /* The offset is the level all slots share: one slot's surprise (a weekly peak the
             * profile missed) moves it by at most a few noise scales (Huber), or every other
             * slot would be off by that peak until the offset crawled back. */
            double u = x - e->prof[s] - e->prof_off;
            double lim = e->scale_w > 0 ? 3 * 1.25 * e->scale_s / e->scale_w : INFINITY;
            u = u > lim ? lim : u < -lim ? -lim : u;
            e->prof_off += 0.1 * u;
            e->prof[s] += e->prof_gain * (x - e->prof_off - e->prof[s]);
        } else {
            e->prof[s] = x - e->prof_off;
            e->prof_seen[s] = 1;
        }
    }
}

/* The candidates' forecasts for i + H into pred (all NaN when this point has no value). */
static MLA__FC_INLINE void eg_forecast(struct mla__fc_engine *e, size_t i, double x, double *pred)
{
    if (isnan(x)) {
        for (int k = 0; k < K; k++)
            pred[k] = NAN;
        return;
    }
    size_t jd = e->dpos + e->hd, jw = e->wpos + e->hw, jp = e->ppos + e->hp;
    jd = jd >= (size_t)e->md ? jd - (size_t)e->md : jd;
    jw = jw >= (size_t)e->mw ? jw - (size_t)e->mw : jw;
    jp = jp >= (size_t)e->mp ? jp - (size_t)e->mp : jp;
    eg_cands(e, i, e->H, jd, jw, jp, pred);
}

/* The ensemble point (transformed) from this point's candidate forecasts. */
static MLA__FC_INLINE double eg_combine(struct mla__fc_engine *e, const double *pred, int lanes)
{
    /* The error averages move slowly (half-life of days): refresh the weights every H points
     * (every point until some candidate has a record). A candidate without a forecast this
     * point is left out of the mean below. */
    if (e->hpos == 0 || !e->w_valid) {
        eg_weights(e, pred, e->w);
        e->w_valid = false;
        for (int k = 0; k < K; k++)
            if (e->w[k] > 0 && e->mae_w[k] > 0)
                e->w_valid = true; /* weights from records, not the fallback */
    }
    if (lanes == 2) {
        double pt = 0, ws = 0;
        for (int k = 0; k < K; k++)
            if (e->w[k] > 0 && !isnan(pred[k])) {
                pt += e->w[k] * pred[k];
                ws += e->w[k];
            }
        return ws > 0 ? pt / ws : NAN;
    }
    /* The products and weights of the candidates in the mean, four lanes at a time, the others
     * masked to +0; then the sums in candidate order. Adding +0 changes no bit (a sum that
     * starts at +0 never becomes -0), so this is the branchy loop's result without its
     * unpredictable branch per candidate. */
    double wp[K], wk[K];
    const eg_v4 zero = {0, 0, 0, 0};
    for (int k = 0; k < K; k += 4) {
        eg_v4 w, p;
        memcpy(&w, e->w + k, sizeof w);
        memcpy(&p, pred + k, sizeof p);
        eg_i4 in = (w > zero) & (p == p);
        eg_v4 a = (eg_v4)((eg_i4)(w * p) & in), b = (eg_v4)((eg_i4)w & in);
        memcpy(wp + k, &a, sizeof a);
        memcpy(wk + k, &b, sizeof b);
    }
    double pt = 0, ws = 0;
    for (int k = 0; k < K; k++) {
        pt += wp[k];
        ws += wk[k];
    }
    return ws > 0 ? pt / ws : NAN;
}

/* One point; lanes: 4 in the AVX2 build (eg_step_avx2), else 2 (a constant once inlined). */
static MLA__FC_INLINE void eg_step(struct mla__fc_engine *e, double y, int lanes)
{
    size_t i = e->t++;
    e->logsp_set = true;
    eg_advance(e, i);
    XL(e, i) = e->lvl_started ? e->lvl : NAN;
    bool accepted;
    double x = eg_filter(e, i, y, &accepted);
    OK(e, i) = accepted;
    XS(e, i) = x;
    e->cur = accepted && !isnan(y) ? y : isnan(x) ? NAN : eg_back(e, x);
    size_t slot = e->hpos;
    double *row = e->ring + slot * K; /* forecasts made H points ago for this point */
    if (accepted && !isnan(y))
        eg_score(e, slot, row, y, x, lanes);
    if (!isnan(x))
        eg_learn(e, i, x, lanes);
    /* This point's forecasts for i + H replace the row just scored. */
    eg_forecast(e, i, x, row);
    e->point_x = eg_combine(e, row, lanes);
    e->ens_ring[slot] = e->point_x;
    e->last_i = i;
}

#if MLA__FC_MV
/* The step built for AVX2 (chosen below when the CPU has it): the three-operand VEX forms drop
 * the register copies of the per-point arithmetic, and the candidate loops run four lanes. The
 * steps it calls are MLA__FC_INLINE so that they are part of this build. Same bits: every lane
 * does the two-lane code's operations in the same order. */
MLA__FC_AVX2 static void eg_step_avx2(struct mla__fc_engine *e, double y)
{
    eg_step(e, y, 4);
}
#endif

/* The default build, out of line: the dispatch below stays a test and a jump. */
__attribute__((noinline)) static void eg_step_base(struct mla__fc_engine *e, double y)
{
    eg_step(e, y, 2);
}

void mla__fc_engine_step(struct mla__fc_engine *e, double y)
{
#if MLA__FC_MV
    if (mla__fc_avx2()) {
        eg_step_avx2(e, y);
        return;
    }
#endif
    eg_step_base(e, y);
}

double mla__fc_engine_point(const struct mla__fc_engine *e)
{
    return isnan(e->point_x) ? NAN : eg_back(e, e->point_x);
}

/* Upper quantile of the recent H-step residuals (model space); refreshed every H points. */
static double eg_res_quantile(struct mla__fc_engine *e, double q)
{
    if (e->res_n < 12)
        return NAN;
    double tmp[RES_CAP];
    memcpy(tmp, e->res, e->res_n * sizeof(double));
    return mla__fc_quantile(tmp, e->res_n, q);
}

double mla__fc_engine_upper(struct mla__fc_engine *e)
{
    if (isnan(e->point_x))
        return NAN;
    if (!e->q_valid || e->last_i >= e->q_at + (size_t)e->H) {
        e->q_hi = eg_res_quantile(e, e->cfg.quantile);
        e->q_at = e->last_i;
        e->q_valid = true;
    }
    if (isnan(e->q_hi))
        return eg_back(e, e->point_x);
    return eg_back(e, e->point_x + (e->q_hi > 0 ? e->q_hi : 0));
}

void mla_fc_config_default(struct mla_fc_config *cfg)
{
    cfg->horizon_steps = 6;
    cfg->quantile = 0.95;
    cfg->anomaly_threshold = 4;
    cfg->anomaly_accept_s = 3600;
    cfg->outage_accept_s = 3 * 86400;
    cfg->weight_halflife_s = 7 * 86400;
    cfg->weight_power = 16;
    cfg->day_s = 86400;
    cfg->week_s = 7 * 86400;
    cfg->no_cycles = false;
}

static const char *const fc_trend_names[] = {"stable", "increasing", "decreasing", "volatile"};
static const char *const fc_cand_names[] = {
    "persist", "snaive_day", "snaive_week", "level", "hw_day",
    "hw_day_log", "hw_day_slow", "hw_day_smooth", "hw_week_log", "damped_log", "profile_log",
    "mean", "week_dev", "level_week", "hw_week_sqrt", "hw_week_sqrt_slow"};

const char *mla_fc_trend_name(enum mla_fc_trend t)
{
    return (unsigned)t < 4 ? fc_trend_names[t] : "unknown";
}

const char *mla_fc_cand_name(enum mla_fc_cand c)
{
    return (unsigned)c < K ? fc_cand_names[c] : "unknown";
}

static enum mla_code fc_check(const double *values, size_t n, double step_s,
                              const struct mla_fc_config *cfg, struct mla_err *err)
{
    if (!values || n < 3)
        return mla_err_set(err, MLA_EINVAL, "forecast: need at least 3 points (got %zu)", n);
    if (!(step_s > 0))
        return mla_err_set(err, MLA_EINVAL, "forecast: step must be > 0 seconds");
    if (cfg->horizon_steps < 1 || cfg->horizon_steps > MLA_FC_MAX_HORIZON)
        return mla_err_set(err, MLA_EINVAL, "forecast: horizon must be 1..%d steps (got %d)",
                           MLA_FC_MAX_HORIZON, cfg->horizon_steps);
    if (!(cfg->quantile >= 0.5 && cfg->quantile < 1))
        return mla_err_set(err, MLA_EINVAL, "forecast: quantile must be in [0.5, 1) (got %g)",
                           cfg->quantile);
    if (!(cfg->anomaly_threshold >= 2 && cfg->anomaly_threshold <= 5))
        return mla_err_set(err, MLA_EINVAL,
                           "forecast: anomaly threshold must be 2..5 deviations (got %g)",
                           cfg->anomaly_threshold);
    if (!(cfg->weight_halflife_s > 0) || !(cfg->weight_power > 0))
        return mla_err_set(err, MLA_EINVAL, "forecast: weight half-life and power must be > 0");
    size_t present = 0;
    for (size_t i = 0; i < n && present < 3; i++)
        if (!isnan(values[i]))
            present++;
    if (present < 3)
        return mla_err_set(err, MLA_EINVAL, "forecast: need at least 3 non-missing points");
    return MLA_OK;
}

/* Log space unless the first values given contain a negative one (decided once). */
static void eg_decide_space(struct mla__fc_engine *e, const double *values, size_t n)
{
    if (e->logsp_set)
        return;
    e->logsp = true;
    for (size_t i = 0; i < n; i++)
        if (values[i] < 0)
            e->logsp = false;
    e->logsp_set = true;
}

/* The start the batch entry points share: defaults for a NULL *cfg (stored in *def), the input
 * checks, and an engine keeping `keep` points, in the space the values call for. NULL (err
 * set) on bad input. */
static struct mla__fc_engine *fc_engine_for(const double *values, size_t n, double step_s,
                                            const struct mla_fc_config **cfg,
                                            struct mla_fc_config *def, size_t keep,
                                            struct mla_err *err)
{
    if (!*cfg) {
        mla_fc_config_default(def);
        *cfg = def;
    }
    if (fc_check(values, n, step_s, *cfg, err) != MLA_OK)
        return NULL;
    struct mla__fc_engine *e = mla__fc_engine_create(step_s, *cfg, keep);
    eg_decide_space(e, values, n);
    return e;
}

enum mla_code mla_fc_backtest(const double *values, size_t n, double step_s,
                              const struct mla_fc_config *cfg, double *point, double *upper,
                              struct mla_err *err)
{
    struct mla_fc_config def;
    struct mla_err local;
    if (!err)
        err = &local; /* the code to return comes from err */
    struct mla__fc_engine *e = fc_engine_for(values, n, step_s, &cfg, &def, 0, err);
    if (!e)
        return err->code;
    size_t H = (size_t)cfg->horizon_steps;
    for (size_t i = 0; i < n; i++) {
        point[i] = NAN;
        if (upper)
            upper[i] = NAN;
    }
    for (size_t i = 0; i < n; i++) {
        mla__fc_engine_step(e, values[i]);
        if (i + H < n) {
            point[i + H] = mla__fc_engine_point(e);
            if (upper)
                upper[i + H] = mla__fc_engine_upper(e);
        }
    }
    mla__fc_engine_destroy(e);
    return MLA_OK;
}

/* mla__fc_quantile's last step: the order statistic at floor(pos) of n values moved towards
 * the next one (next) by the fraction of pos. */
static double eg_interp(double pos, size_t n, double at, double next)
{
    size_t k = (size_t)pos;
    double frac = pos - (double)k, v = at;
    if (frac > 0 && k + 1 < n)
        v += frac * (next - v);
    return v;
}

/* The residual quantiles that make the band: *qh at cfg->quantile, *ql at 1 - quantile; both
 * NAN until 12 residuals are scored. */
static void eg_res_quantiles(const struct mla__fc_engine *e, double *qh, double *ql)
{
    const struct mla_fc_config *cfg = &e->cfg;
    /* Both bounds from the four order statistics around them, found together from the two
     * tails (mla__fc_order_pairs). The positions are computed exactly as the two quantile calls
     * did before (the high quantile over all residuals, the low one as a quantile of the kh + 1
     * smallest), so the bounds keep the same bits. */
    *qh = NAN;
    *ql = NAN;
    if (e->res_n < 12)
        return;
    size_t n = e->res_n;
    double posh = cfg->quantile * (double)(n - 1);
    size_t kh = (size_t)posh;
    double pos = (1 - cfg->quantile) * (double)(n - 1), posl = pos;
    size_t nl = n;
    if ((size_t)pos + 1 <= kh) {
        posl = pos / (double)kh * (double)kh; /* the quantile of kh + 1 values at pos/kh */
        nl = kh + 1;
    }
    size_t kl = (size_t)posl;
    double os[4];
    mla__fc_order_pairs(e->res, n, kl, kh, os);
    *qh = eg_interp(posh, n, os[2], os[3]);
    *ql = eg_interp(posl, nl, os[0], os[1]);
}

/* The forecast path and its band for steps 1..H, weighting the candidates with r->weight. */
static void eg_path(const struct mla__fc_engine *e, double qh, double ql,
                    struct mla_fc_result *r)
{
    size_t last = e->t - 1;
    double scale = e->scale_w > 0 ? 1.25 * e->scale_s / e->scale_w : 0;
    for (int h = 1; h <= e->H; h++) {
        double pt = 0, ws = 0, ph[K];
        eg_cands_at(e, h, ph);
        for (int k = 0; k < K; k++) {
            if (r->weight[k] <= 0)
                continue;
            double p = ph[k];
            if (isnan(p))
                continue;
            pt += r->weight[k] * p;
            ws += r->weight[k];
        }
        double x = ws > 0 ? pt / ws : XS(e, last);
        pt = eg_back(e, x);
        /* Few scored residuals: a normal-ish band from the one-step scale instead. */
        double hi = !isnan(qh) ? qh : 1.645 * scale * sqrt((double)h);
        double lo = !isnan(ql) ? ql : -1.645 * scale * sqrt((double)h);
        r->point[h - 1] = pt;
        r->upper[h - 1] = eg_back(e, x + (hi > 0 ? hi : 0));
        r->lower[h - 1] = eg_back(e, x + (lo < 0 ? lo : 0));
    }
}

/* The daily and weekly cycles of xs[first..len) (filtered, model space), their strengths in
 * the series' units. */
static void eg_cycles(const struct mla__fc_engine *e, const double *xs, size_t first, size_t len,
                      struct mla_fc_result *r)
{
    mla__fc_cycle_detect(xs + first, len - first, e->md, &r->daily);
    mla__fc_cycle_detect_weekly(xs + first, len - first, e->md, e->mw, &r->weekly);
    if (e->logsp) {
        r->daily.strength = expm1(r->daily.strength);
        r->weekly.strength = expm1(r->weekly.strength);
        return;
    }
    double sum = 0;
    size_t cnt = 0;
    for (size_t j = first; j < len; j++)
        if (!isnan(xs[j])) {
            sum += xs[j];
            cnt++;
        }
    double mean = cnt ? fabs(sum / (double)cnt) : 0;
    r->daily.strength = mean > 0 ? r->daily.strength / mean : 0;
    r->weekly.strength = mean > 0 ? r->weekly.strength / mean : 0;
}

/* Cycles (unless cfg.no_cycles: r->daily and r->weekly stay as eg_result cleared them, period
 * 0 and not present) and trend on the filtered history the rings hold. */
static void eg_shape(const struct mla__fc_engine *e, struct mla_fc_result *r)
{
    size_t cap = e->mask + 1, len = e->t < cap ? e->t : cap;
    /* Until the ring wraps (always, for a one-shot forecast: the ring holds the whole input)
     * the history is already in order at the ring's start: no copy. */
    double *copy = NULL;
    const double *xs = e->xs;
    if (e->t > cap) {
        copy = mla_xmalloc(len * sizeof(double));
        for (size_t j = 0; j < len; j++)
            copy[j] = XS(e, e->t - len + j);
        xs = copy;
    }
    size_t first = 0;
    while (first < len && isnan(xs[first]))
        first++;
    if (!e->cfg.no_cycles)
        eg_cycles(e, xs, first, len, r);
    r->trend = mla__fc_trend_classify(xs + first, len - first, e->md, e->logsp,
                                      &r->trend_change);
    free(copy);
}

/* The result from the engine's state after its last point. */
static void eg_result(struct mla__fc_engine *e, struct mla_fc_result *out)
{
    struct mla_fc_result r;
    memset(&r, 0, sizeof r);
    r.horizon_steps = e->H;
    r.step_s = e->step_s;
    r.n = e->t;
    r.anomalies = e->anomalies;
    r.missing = e->missing;
    double pred[K];
    eg_cands_at(e, e->H, pred);
    for (int k = 0; k < K; k++) {
        r.cand_point[k] = isnan(pred[k]) ? NAN : eg_back(e, pred[k]);
        r.cand_mae[k] = e->mae_w[k] > 0 ? e->mae_s[k] / e->mae_w[k] : NAN;
    }
    eg_weights(e, pred, r.weight);
    double qh, ql;
    eg_res_quantiles(e, &qh, &ql);
    eg_path(e, qh, ql, &r);
    double wape = e->ens_act > 0 ? e->ens_err / e->ens_act : 1;
    double shrink = (double)e->scored / (double)(e->md > 24 ? e->md : 24);
    r.confidence = (wape < 1 ? 1 - wape : 0) * (shrink < 1 ? shrink : 1);
    eg_shape(e, &r);
    *out = r;
}

enum mla_code mla_fc_forecast(const double *values, size_t n, double step_s,
                              const struct mla_fc_config *cfg, struct mla_fc_result *out,
                              struct mla_err *err)
{
    return mla_fc_forecast_seeded(values, n, NAN, step_s, cfg, NULL, out, err);
}

/* The seed decomposed in one space (x: mw values): its mean *L, the daily season D (md: the
 * mean over the week's days of each slot's deviation from *L) and the weekly rest W (mw). */
static void eg_seed_split(const double *x, size_t md, size_t mw, double *L, double *D, double *W)
{
    size_t nd = mw / md;
    double sum = 0;
    for (size_t j = 0; j < mw; j++)
        sum += x[j];
    *L = sum / (double)mw;
    for (size_t j = 0; j < md; j++) {
        double d = 0;
        for (size_t k = 0; k < nd; k++)
            d += x[j + k * md] - *L;
        D[j] = d / (double)nd;
    }
    for (size_t j = 0; j < mw; j++)
        W[j] = x[j] - *L - D[j % md];
}

/* Every candidate with a season or a level that learns slowly starts from the profile: the
 * log-space Holt-Winters (daily season and level; the weekly one's weekly season too), the
 * square-root pair (in its space), the raw-space daily one (in raw space) and the weekly
 * profile candidate. Measured on NASA at 336 h (docs/forecasting.md, eighth round): the weekly
 * models' seasons give about 60 % of the gain, the levels from the profile's mean a fifth. */
void mla__fc_engine_seed(struct mla__fc_engine *e, const double *x)
{
    size_t md = (size_t)e->md, mw = (size_t)e->mw;
    double *y = mla_xmalloc(mw * sizeof *y), *D = mla_xmalloc(md * sizeof *D);
    double *W = mla_xmalloc(mw * sizeof *W), L;
    eg_seed_split(x, md, mw, &L, D, W);
    mla__fc_hw_seed(&e->hw_week_log, 0, D);
    mla__fc_hw_seed(&e->hw_week_log, 1, W);
    mla__fc_hw_seed_level(&e->hw_week_log, L);
    struct mla__fc_hw *days[] = {&e->hw_day_log, &e->hw_day_smooth, &e->hw_day_slow};
    for (size_t k = 0; k < sizeof days / sizeof *days; k++) {
        mla__fc_hw_seed(days[k], 0, D);
        mla__fc_hw_seed_level(days[k], L);
    }
    for (size_t j = 0; j < (size_t)e->mp && j < mw; j++) {
        e->prof[j] = x[j];
        e->prof_seen[j] = 1;
    }
    e->prof_gain = PROF_GAIN_SEEDED;
    /* raw space, then square-root space from it: one expm1 a slot (libm's, 2 x 2,016 of them
     * were 4 % of a seeded forecast) */
    for (size_t j = 0; j < mw; j++)
        y[j] = expm1(x[j]);
    eg_seed_split(y, md, mw, &L, D, W);
    mla__fc_hw_seed(&e->hw_day, 0, D);
    mla__fc_hw_seed_level(&e->hw_day, L);
    for (size_t j = 0; j < mw; j++)
        y[j] = sqrt(y[j] > 0 ? y[j] : 0);
    eg_seed_split(y, md, mw, &L, D, W);
    mla__fc_hw2_seed(&e->hw_sqrt, 0, D);
    mla__fc_hw2_seed(&e->hw_sqrt, 1, W);
    mla__fc_hw2_seed_level(&e->hw_sqrt, L);
    free(y);
    free(D);
    free(W);
}

enum mla_code mla_fc_forecast_seeded(const double *values, size_t n, double t0, double step_s,
                                     const struct mla_fc_config *cfg,
                                     const struct mla_fc_profile *prof,
                                     struct mla_fc_result *out, struct mla_err *err)
{
    struct mla_fc_config def;
    struct mla_err local;
    if (!err)
        err = &local; /* the code to return comes from err */
    struct mla__fc_engine *e = fc_engine_for(values, n, step_s, &cfg, &def, n, err);
    if (!e)
        return err->code;
    int per = mla__fc_period_steps(3600, step_s);
    bool seeded = prof && e->logsp && e->md && e->mw && e->mp == e->mw && e->mw % e->md == 0 &&
                  per && e->md % per == 0 && isfinite(t0) && mla_fc_profile_ready(prof);
    if (seeded) {
        size_t mw = (size_t)e->mw;
        double *x = mla_xmalloc(mw * sizeof *x);
        /* slot j of the week holds point j's hour (t0 + j * step is exact on a grid of whole
         * seconds) */
        for (size_t j = 0; j < mw; j++)
            x[j] = (double)prof->v[mla__fc_profile_hour(t0 + (double)j * step_s)];
        mla__fc_engine_seed(e, x);
        free(x);
    }
    for (size_t i = 0; i < n; i++)
        mla__fc_engine_step(e, values[i]);
    eg_result(e, out);
    out->seeded = seeded;
    mla__fc_engine_destroy(e);
    return MLA_OK;
}

/* ---- the streaming model ---- */

struct mla_fc_model {
    struct mla__fc_engine *e;
    size_t present; /* non-missing points pushed */
};

enum mla_code mla_fc_model_create(double step_s, const struct mla_fc_config *cfg,
                                  struct mla_fc_model **out, struct mla_err *err)
{
    struct mla_fc_config def;
    if (!cfg) {
        mla_fc_config_default(&def);
        cfg = &def;
    }
    double probe[3] = {1, 1, 1};
    enum mla_code rc = fc_check(probe, 3, step_s, cfg, err);
    if (rc)
        return rc;
    struct mla_fc_model *m = mla_xcalloc(1, sizeof *m);
    int mw = mla__fc_period_steps(cfg->week_s, step_s);
    /* Two weeks: enough for the weekly cycle test (4096 points at a 5-minute step). */
    m->e = mla__fc_engine_create(step_s, cfg, 2 * (size_t)mw);
    *out = m;
    return MLA_OK;
}

void mla_fc_model_destroy(struct mla_fc_model *m)
{
    if (!m)
        return;
    mla__fc_engine_destroy(m->e);
    free(m);
}

void mla_fc_model_push(struct mla_fc_model *m, const double *values, size_t n)
{
    eg_decide_space(m->e, values, n);
    for (size_t i = 0; i < n; i++) {
        m->present += !isnan(values[i]);
        mla__fc_engine_step(m->e, values[i]);
    }
}

size_t mla_fc_model_points(const struct mla_fc_model *m)
{
    return m->e->t;
}

enum mla_code mla_fc_model_forecast(struct mla_fc_model *m, struct mla_fc_result *out,
                                    struct mla_err *err)
{
    if (m->present < 3)
        return mla_err_set(err, MLA_EINVAL, "forecast: need at least 3 non-missing points");
    eg_result(m->e, out);
    return MLA_OK;
}

void mla__fc_backtest_cands(const double *values, size_t n, double step_s,
                            const struct mla_fc_config *cfg, double *out)
{
    struct mla__fc_engine *e = mla__fc_engine_create(step_s, cfg, 0);
    eg_decide_space(e, values, n);
    size_t H = (size_t)cfg->horizon_steps;
    for (size_t j = 0; j < (size_t)K * n; j++)
        out[j] = NAN;
    for (size_t i = 0; i < n; i++) {
        mla__fc_engine_step(e, values[i]);
        if (i + H < n)
            for (int k = 0; k < K; k++)
                out[(size_t)k * n + i + H] = e->ring[(i % H) * K + (size_t)k];
    }
    mla__fc_engine_destroy(e);
}
