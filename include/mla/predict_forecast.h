/* predict_forecast.h - the forecasting model (fc.h) as the predictive loop's forecast callback
 * (predict_step.h): the one place that knows both, so that neither module depends on the other.
 *
 * Ownership: nothing is kept between calls. Threading: any thread (the model is pure).
 */
#ifndef MLA_PREDICT_FORECAST_H
#define MLA_PREDICT_FORECAST_H

#include <stddef.h>

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

#endif
