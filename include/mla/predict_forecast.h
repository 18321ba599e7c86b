/* predict_forecast.h - the forecasting model (fc.h) as the predictive loop's forecast callback
 * (predict_step.h): the one place that knows both, so that neither module depends on the other.
 *
 * Ownership: nothing is kept between calls. Threading: any thread (the model is pure).
 */
#ifndef MLA_PREDICT_FORECAST_H
#define MLA_PREDICT_FORECAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mla/err.h"
#include "mla/predict.h"

/* An mla_predict_forecast_fn: runs mla_fc_forecast on the history and reduces its result to the
 * peak (point and upper bound) over steps ahead_steps..horizon_steps, its confidence and trend.
 * Out-of-range settings are clamped to the model's ranges (quantile 0.5..0.999, anomaly
 * threshold 2..5, horizon 1..MLA_FC_MAX_HORIZON). ctx is unused (NULL). */
int mla_predict_fc_forecast(void *ctx, const double *values, size_t n, double step_s,
                            int horizon_steps, int ahead_steps, double quantile,
                            double anomaly_threshold, struct mla_predict_forecast *out,
                            struct mla_err *err);

struct mla_fc_profile;
/* The same from the loop's window and the weekly profile it carries (fc.h,
 * mla_fc_forecast_seeded): t0 is the Unix time of values[0]; prof (borrowed) NULL or not ready
 * gives mla_predict_fc_forecast's result. */
int mla_predict_fc_forecast_seeded(const double *values, size_t n, double t0, double step_s,
                                   int horizon_steps, int ahead_steps, double quantile,
                                   double anomaly_threshold, const struct mla_fc_profile *prof,
                                   struct mla_predict_forecast *out, struct mla_err *err);

/* The key a weekly profile is stored under (fc.h, mla_fc_profile_encode): what it is learnt
 * from, c's query and step. A change of anything else in predictive-config keeps the profile. */
uint64_t mla_predict_profile_key(const struct mla_predict_config *c);

/* A stored ml-autoscaling.io/forecast-profile (fc.h, mla_fc_profile_decode) for a forecast of
 * the window that starts at window_start (Unix seconds) under the predictive-config c (parsed
 * from the text config_text), at now. True, *prof and *newest_t (the newest point it holds)
 * filled, when it decodes, was learnt from c's query and step (mla_predict_profile_key; or,
 * written before that key, under exactly config_text), holds no point of the window (newest_t
 * < window_start) and is not older than MLA_PREDICT_PROFILE_MAX_AGE_S. Otherwise false and why
 * says which (stored NULL: "none stored"); *prof untouched. Borrowed arguments. */
bool mla_predict_profile_load(const char *stored, const char *config_text,
                              const struct mla_predict_config *c, double window_start,
                              time_t now, struct mla_fc_profile *prof, double *newest_t,
                              char *why, size_t whylen);
/* Where the history query of a window starting at window_start (step apart) begins when a
 * stored profile's newest point is newest_t: its next grid point when that is at most
 * MLA_PREDICT_PROFILE_REFRESH_S + step before the window (its points up to the window are then
 * folded in: mla_predict_profile_catch_up), else window_start. */
double mla_predict_profile_query_start(double newest_t, double window_start, double step);
/* Folds the points of v (n of them, values[0] at t0, step apart) before window_start into prof
 * and *newest_t, as the loop's window drops them (float-rounded: the window stores floats);
 * returns the index of the first point of the window. */
size_t mla_predict_profile_catch_up(const double *v, size_t n, double t0, double step,
                                    double window_start, struct mla_fc_profile *prof,
                                    double *newest_t);
/* A stored profile older than this is not taken: four weeks of change since (the profile's own
 * memory is about two weeks of points, PF_GAIN in profile.c). */
#define MLA_PREDICT_PROFILE_MAX_AGE_S (28 * 86400.0)
/* The stored profile is refreshed (an explanation-only apply, under --loop-explanation-writes)
 * when the one the loop carries is this much newer: once a day per ScaledObject at most, while
 * the profile itself moves by a twentieth of a point's deviation per point (a day's points
 * change it little) and every other apply carries it anyway. A new leader fetches at most this
 * much more history to catch the stored profile up. */
#define MLA_PREDICT_PROFILE_REFRESH_S (24 * 3600.0)

#endif
