/* fc.h - load forecasting: series, anomaly filter, cycle detection, trend, ensemble forecast,
 * rolling-origin evaluation and baselines.
 *
 * The model is one causal pass over a regular-step history (NaN = missing): an anomaly filter
 * (robust scale of one-step residuals; outages and spikes become missing), a set of candidate
 * forecasters (persistence, seasonal-naive day/week, Holt-Winters variants, damped trend, ...)
 * updated point by point, and an ensemble that weighs the candidates by their exponentially
 * weighted recent absolute error at the forecast horizon. Cost: O(n * candidates); no O(n^2)
 * refit. See docs/forecasting.md for the model, the evaluation protocol and the figures.
 *
 * Ownership: results (struct mla_fc_result, struct mla_fc_eval) are plain caller-owned structs
 * with fixed-size arrays: nothing to free. struct mla_fc_series owns its `v` array: free it with
 * mla_fc_series_fini(). struct mla_fc_model is new from mla_fc_model_create(), freed with
 * mla_fc_model_destroy(). Input arrays are borrowed for the duration of the call only.
 * Threading: pure; no globals, every call is independent (safe from any thread); a struct
 * mla_fc_model (the streaming form) is used by one thread at a time.
 * I/O: only mla_fc_csv_read() touches a file (the CLI's input); everything else is pure.
 */
#ifndef MLA_FC_H
#define MLA_FC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mla/err.h"

/* Upper bound on horizon_steps (a day of 5-minute buckets). */
#define MLA_FC_MAX_HORIZON 288

/* ---- series ---------------------------------------------------------------------------- */

/* A regular-step series. v[i] is the value of [t0 + i*step_s, t0 + (i+1)*step_s); NaN = gap. */
struct mla_fc_series {
    double t0;     /* Unix seconds of v[0] */
    double step_s; /* seconds between points, > 0 */
    size_t n;
    double *v; /* owned; free with mla_fc_series_fini */
};

void mla_fc_series_fini(struct mla_fc_series *s);

/* How mla_fc_series_bucket() aggregates the input points of one output bucket. */
enum mla_fc_agg {
    /* The bucket total: mean of the present points times points-per-bucket, so that a bucket
     * with some missing minutes is not biased down. Use for counts (requests per bucket). */
    MLA_FC_AGG_SUM = 0,
    /* The mean of the present points (a rate stays a rate). */
    MLA_FC_AGG_MEAN,
};

/* Resamples `in` to buckets of step_s (a whole multiple of in->step_s), aligned on multiples
 * of step_s in Unix time. A bucket with no present point is NaN. *out is new (caller calls
 * mla_fc_series_fini); untouched on failure. */
enum mla_code mla_fc_series_bucket(const struct mla_fc_series *in, double step_s,
                                   enum mla_fc_agg agg, struct mla_fc_series *out,
                                   struct mla_err *err) MLA_MUST_CHECK;

/* Parses CSV text: a header line, then `timestamp,value` rows (Unix seconds, any regular step;
 * an empty value or a missing row is a gap). The step is the smallest timestamp difference;
 * every difference must be a multiple of it. Errors name `name:line`. *out is new. */
enum mla_code mla_fc_csv_parse(const char *text, size_t len, const char *name,
                               struct mla_fc_series *out, struct mla_err *err) MLA_MUST_CHECK;
/* Reads and parses the file at path (the only function here doing I/O). */
enum mla_code mla_fc_csv_read(const char *path, struct mla_fc_series *out,
                              struct mla_err *err) MLA_MUST_CHECK;

/* ---- model configuration ---------------------------------------------------------------- */

struct mla_fc_config {
    int horizon_steps;        /* forecast steps ahead, 1..MLA_FC_MAX_HORIZON (default 6) */
    double quantile;          /* upper bound quantile of the interval, 0.5..0.999 (0.95) */
    double anomaly_threshold; /* robust deviations for an anomaly, 2..5 (default 4) */
    double anomaly_accept_s;  /* a run of non-zero anomalies longer than this is accepted as a
                                 new regime (default 3600); outages (zeros) are never accepted
                                 before outage_accept_s (default 3 days) */
    double outage_accept_s;
    double weight_halflife_s; /* half-life of the candidates' error averages (default 7 days) */
    double weight_power;      /* weight = mae^-power (default 16; large = pick the best);
                                 a quarter of it until one half-life has been scored */
    double day_s;             /* daily period (86400) */
    double week_s;            /* weekly period (604800) */
    bool no_cycles;           /* true: the result's daily and weekly cycles are left undetected
                                 (zero: period 0, not present); the forecast, its band, the
                                 confidence and the trend are the same bits. For a caller that
                                 reads none of them (the predictive loop: the cycle tests were
                                 15 % of its forecast over a two-week window). Default false. */
};

/* Fills the defaults documented above. */
void mla_fc_config_default(struct mla_fc_config *cfg);

/* ---- forecast --------------------------------------------------------------------------- */

enum mla_fc_trend {
    MLA_FC_TREND_STABLE = 0,
    MLA_FC_TREND_INCREASING,
    MLA_FC_TREND_DECREASING,
    MLA_FC_TREND_VOLATILE,
};

/* "stable", "increasing", "decreasing", "volatile"; never NULL. */
const char *mla_fc_trend_name(enum mla_fc_trend t);

/* The candidate forecasters of the ensemble (append-only). */
enum mla_fc_cand {
    MLA_FC_CAND_PERSIST = 0, /* last value */
    MLA_FC_CAND_SNAIVE_DAY,  /* same slot yesterday */
    MLA_FC_CAND_SNAIVE_WEEK, /* same slot last week */
    MLA_FC_CAND_LEVEL,       /* exponentially smoothed level (log space) */
    MLA_FC_CAND_HW_DAY,      /* additive Holt-Winters, daily season */
    MLA_FC_CAND_HW_DAY_LOG,  /* Holt-Winters in log space (multiplicative), daily season */
    MLA_FC_CAND_HW_DAY_SLOW, /* the same with a slow level and a fast season (stable series) */
    MLA_FC_CAND_HW_DAY_SMOOTH, /* the same, season smoothed over +-1 hour of slots */
    MLA_FC_CAND_HW_WEEK_LOG, /* Holt-Winters in log space, daily + weekly seasons (smoothed) */
    MLA_FC_CAND_DAMPED_LOG,  /* damped-trend Holt in log space, no season (ramps) */
    MLA_FC_CAND_PROFILE_LOG, /* weekly profile x recent level ratio (log space) */
    MLA_FC_CAND_MEAN,        /* slowly smoothed level (log space): the answer for pure noise */
    MLA_FC_CAND_WEEK_DEV,    /* smooth daily model + last week's deviation from it, shrunk by
                                the noise scale: a weekly event without last week's noise */
    MLA_FC_CAND_LEVEL_WEEK,  /* fast level + last week's deviation from the level, shrunk */
    MLA_FC_CAND_HW_WEEK_SQRT, /* Holt-Winters, daily + weekly seasons, in square-root space with a
                                 slow level (half-life ~2 h): counts (NaN for signed series) */
    MLA_FC_CAND_HW_WEEK_SQRT_SLOW, /* the same with a level half-life of ~12 h */
    MLA_FC_CAND_COUNT
};

/* "persist", "snaive_day", ...; never NULL. */
const char *mla_fc_cand_name(enum mla_fc_cand c);

struct mla_fc_cycle {
    int period_steps;  /* the period in steps (0 when the history is too short to test) */
    double strength;   /* profile peak-to-trough over the mean, >= 0 */
    double confidence; /* adjusted share of variance the cycle explains, in [0,1] */
    bool present;      /* confidence >= 0.3 */
};

struct mla_fc_result {
    int horizon_steps;
    double step_s;
    /* Forecast for steps 1..horizon_steps after the last point (index 0 = one step ahead). */
    double point[MLA_FC_MAX_HORIZON];
    double lower[MLA_FC_MAX_HORIZON]; /* 1-quantile bound, >= 0 for non-negative series */
    double upper[MLA_FC_MAX_HORIZON]; /* quantile bound */
    struct mla_fc_cycle daily, weekly;
    double confidence; /* overall, in [0,1]: 1 - recent WAPE of the ensemble, shrunk when
                          little history was scored */
    enum mla_fc_trend trend;
    double trend_change; /* relative change of the deseasonalised level over the history */
    double weight[MLA_FC_CAND_COUNT];    /* ensemble weights, sum 1 */
    double cand_mae[MLA_FC_CAND_COUNT];  /* recent weighted abs error at the horizon; NaN=none */
    double cand_point[MLA_FC_CAND_COUNT]; /* each candidate's forecast at the horizon */
    size_t anomalies; /* points the filter replaced (spikes, dips, outage points) */
    size_t missing;   /* NaN points in the input */
    size_t n;         /* points used */
    bool seeded;      /* mla_fc_forecast_seeded: the carried profile seeded the seasons and levels
                       * (false: the points given alone) */
};

/* Forecasts the next cfg->horizon_steps points after values[n-1]. values: n points at step_s
 * (NaN = missing), borrowed. Needs n >= 3 and at least 3 non-missing points (MLA_EINVAL).
 * cfg NULL = defaults. *out is filled on success only. */
enum mla_code mla_fc_forecast(const double *values, size_t n, double step_s,
                              const struct mla_fc_config *cfg, struct mla_fc_result *out,
                              struct mla_err *err) MLA_MUST_CHECK;

/* ---- the loop's carried weekly profile (issue 17, eighth round) --------------------------
 * The loop forecasts afresh from its lookback window (two weeks by default), where the weekly
 * seasons are visited only twice. It keeps this profile per ScaledObject between passes: per
 * hour of the week, a robust running mean of log1p(y) of the points as they LEAVE the window
 * (the loop drops them anyway), and seeds the forecast's seasons and levels with it at the
 * window's start. So the forecast is f(window, profile), and `forecast --evaluate
 * --lookback-hours` replays the same profile. 840 bytes. Plain struct: copy it freely. */
#define MLA_FC_PROFILE_HOURS 168
struct mla_fc_profile {
    float v[MLA_FC_PROFILE_HOURS];             /* log1p space; meaningless while n[h] == 0 */
    unsigned char n[MLA_FC_PROFILE_HOURS];     /* points taken, saturating */
};
/* Empty (no hour seen). */
void mla_fc_profile_init(struct mla_fc_profile *p);
/* Takes the point of Unix time t (its hour of the week: floor(t / 3600) mod 168, UTC hours
 * since the epoch) of raw value y (NaN: ignored; negatives count as 0). Gain 1/k at the hour's
 * k-th point until it reaches 0.05, each step clipped to +-0.5 in log space (an outage or a
 * burst moves it little). */
void mla_fc_profile_push(struct mla_fc_profile *p, double t, double y);
/* True when every hour of the week has been seen (a week has left the window): only then does
 * it seed a forecast. */
bool mla_fc_profile_ready(const struct mla_fc_profile *p);
/* Its text form, for the ScaledObject annotation ml-autoscaling.io/forecast-profile (issue 17,
 * ninth round: a new leader seeds its entries from it): "v1 <unix seconds of the newest point
 * folded in> <16 hex digits: the key> <base64 of 386 bytes>", at most MLA_FC_PROFILE_TEXT_LEN
 * characters (547 for any time before 2286). Each hour's value is quantized to 12 bits between
 * the profile's smallest and largest value (the error is at most (largest - smallest) / 8190 in
 * log1p space, plus float rounding), its count capped at 63. Encoding a decoded profile gives the
 * same text and decodes to the same profile, bit for bit. */
#define MLA_FC_PROFILE_TEXT_LEN 548
/* Longer input is refused before it is read. */
#define MLA_FC_PROFILE_TEXT_MAX 1024
/* The key of a text (FNV-1a, 64 bits): the loop keys a profile with its predictive-config, so
 * that a profile learnt under another query is not taken. text NULL = "". */
uint64_t mla_fc_profile_key(const char *text);
/* p must be ready, with every value in 0..64 (log1p space); newest_t in 1..1e11 (whole seconds
 * kept). out: at least MLA_FC_PROFILE_TEXT_LEN + 1 bytes, untouched on failure. */
enum mla_code mla_fc_profile_encode(const struct mla_fc_profile *p, double newest_t,
                                    uint64_t key, char *out, size_t outlen,
                                    struct mla_err *err) MLA_MUST_CHECK;
/* Strict: any other version, a malformed time or key, base64 that is not exactly the 386 bytes
 * (canonical padding), a range that is not 0 <= low <= high <= 64 (NaN, infinities), an hour
 * without a point, or more than MLA_FC_PROFILE_TEXT_MAX characters is MLA_EINVAL with the reason,
 * and nothing is written. Never reads past the text's NUL or MLA_FC_PROFILE_TEXT_MAX + 1 bytes. */
enum mla_code mla_fc_profile_decode(const char *text, struct mla_fc_profile *out,
                                    double *newest_t, uint64_t *key,
                                    struct mla_err *err) MLA_MUST_CHECK;
/* mla_fc_forecast seeded with the profile: t0 is the Unix time of values[0]. The seasons of the
 * Holt-Winters candidates (daily, and weekly where they have one), their levels and the weekly
 * profile candidate start from it instead of from their first visits. No seed (the same result
 * as mla_fc_forecast) when prof is NULL or not ready, when the series has negative values (linear
 * space), or when an hour is not a whole number of steps or a week not a whole number of days. */
enum mla_code mla_fc_forecast_seeded(const double *values, size_t n, double t0, double step_s,
                                     const struct mla_fc_config *cfg,
                                     const struct mla_fc_profile *prof,
                                     struct mla_fc_result *out, struct mla_err *err) MLA_MUST_CHECK;

/* ---- streaming model (the serving path) --------------------------------------------------
 * The same model kept alive between calls: push the points that arrived since the last call,
 * then forecast. A push costs O(points pushed); a forecast O(history kept) for the cycle and
 * trend analysis (two weeks and a day of points) - no replay of the history. The forecast of a
 * model fed points p[0..n-1] equals mla_fc_forecast(p, n) except that cycles and trend look at
 * the kept history only. A model is used by one thread at a time. */
struct mla_fc_model;

/* *out is new: free with mla_fc_model_destroy(). cfg NULL = defaults; copied. */
enum mla_code mla_fc_model_create(double step_s, const struct mla_fc_config *cfg,
                                  struct mla_fc_model **out, struct mla_err *err) MLA_MUST_CHECK;
void mla_fc_model_destroy(struct mla_fc_model *m);
/* Appends points at the model's step (NaN = missing), borrowed for the call. The first push
 * decides log space (no negative value) for the model's life; later negatives count as 0. */
void mla_fc_model_push(struct mla_fc_model *m, const double *values, size_t n);
/* Points pushed so far. */
size_t mla_fc_model_points(const struct mla_fc_model *m);
/* Forecast after the last pushed point; MLA_EINVAL before 3 non-missing points. */
enum mla_code mla_fc_model_forecast(struct mla_fc_model *m, struct mla_fc_result *out,
                                    struct mla_err *err) MLA_MUST_CHECK;

/* The rolling-origin ensemble forecast: point[i] (and upper[i] when not NULL) is the forecast of
 * values[i] made with values[0..i-h] only, h = cfg->horizon_steps; NaN for i < h or before
 * the model has seen two points. point/upper: caller arrays of n doubles. One pass, O(n). */
enum mla_code mla_fc_backtest(const double *values, size_t n, double step_s,
                              const struct mla_fc_config *cfg, double *point, double *upper,
                              struct mla_err *err) MLA_MUST_CHECK;

/* ---- evaluation ------------------------------------------------------------------------- */

enum mla_fc_baseline {
    MLA_FC_BASE_PERSIST = 0, /* y[t] for t+h */
    MLA_FC_BASE_DAY,         /* y[t+h-day] */
    MLA_FC_BASE_WEEK,        /* y[t+h-week] */
    MLA_FC_BASE_HW_DAY,      /* additive Holt-Winters, daily season, parameters fitted on the
                                history before the evaluation window */
    MLA_FC_BASE_COUNT
};

const char *mla_fc_baseline_name(enum mla_fc_baseline b);

struct mla_fc_eval {
    int horizon_steps;
    size_t lookback_steps;  /* 0: the model saw all history (one causal pass) */
    size_t eval_points;     /* scored buckets (actual present, all forecasts available) */
    size_t eval_start;      /* index of the first bucket of the window */
    double eval_days;       /* window length in days */
    double model;           /* 1 - WAPE of the ensemble */
    double base[MLA_FC_BASE_COUNT];
    int best_base;          /* index of the best baseline */
    double hw_alpha, hw_beta, hw_gamma; /* fitted baseline parameters */
};

/* 1 - WAPE of the h-step-ahead forecasts (h = cfg->horizon_steps: the single bucket h steps
 * ahead) over the last eval_steps points (all the series after the first week when shorter),
 * rolling origin, history only. WAPE = sum |actual - forecast| / sum |actual| over the buckets
 * whose actual is present and for which every forecaster has a forecast. */
enum mla_code mla_fc_evaluate(const double *values, size_t n, double step_s,
                              const struct mla_fc_config *cfg, size_t eval_steps,
                              struct mla_fc_eval *out, struct mla_err *err) MLA_MUST_CHECK;
/* The same, but the model is scored as the predictive loop runs it: at each origin of the window
 * a one-shot mla_fc_forecast() over the last lookback_steps points only (the loop's
 * lookbackHours), not one pass over all history. lookback_steps 0 = mla_fc_evaluate(); else at
 * least 3. Baselines are unchanged (they need at most a week). Costs one forecast per scored
 * origin: O(eval_steps x lookback_steps). */
enum mla_code mla_fc_evaluate_lookback(const double *values, size_t n, double step_s,
                                       const struct mla_fc_config *cfg, size_t eval_steps,
                                       size_t lookback_steps, struct mla_fc_eval *out,
                                       struct mla_err *err) MLA_MUST_CHECK;
/* mla_fc_evaluate_lookback with the loop's carried profile replayed: values[0] is at Unix time
 * t0, and the loop is taken to run from the series' first point, so at each origin the profile
 * holds every point that has left the window (mla_fc_profile_push in order) and the forecast is
 * mla_fc_forecast_seeded. lookback_steps >= 3. */
enum mla_code mla_fc_evaluate_loop(const double *values, size_t n, double t0, double step_s,
                                   const struct mla_fc_config *cfg, size_t eval_steps,
                                   size_t lookback_steps, struct mla_fc_eval *out,
                                   struct mla_err *err) MLA_MUST_CHECK;

#endif
