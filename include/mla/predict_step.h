/* predict_step.h - one step of the predictive loop for one ScaledObject: read its
 * ml-autoscaling.io/predictive-config annotation, query Prometheus over the lookback, call the
 * forecaster, decide (predict.h) and return the merge patch to send.
 *
 * The leader loop (kube side) calls mla_predict_step for every managed ScaledObject each
 * interval and PATCHes the answer with Content-Type application/merge-patch+json. The forecaster
 * is a callback so that this module does not depend on fc.h: the lead wires mla_fc_forecast in.
 *
 * When a patch is sent: when minReplicaCount changes, or the explanation changes materially
 * (another rule decided, the forecast peak moved by more than 10%, the confidence by more than
 * 0.05, another trend, or the annotations are missing). Otherwise NULL, to keep API writes (and
 * etcd churn) low on a 60 s loop.
 *
 * Skipped without a decision (patch NULL, res->skipped says why): no config annotation, paused
 * (autoscaling.keda.sh/paused "true" or autoscaling.keda.sh/paused-replicas present), or a config
 * that asks for nothing. A Prometheus failure is an error (no patch: a monitoring outage must not
 * scale a workload down); an empty history or a failing forecaster falls back to business hours.
 *
 * Ownership: env and scaled_object are borrowed; *merge_patch_out is new (cJSON_Delete).
 * Threading: any thread, if the forecast callback is; metrics go to the thread-safe registry.
 */
#ifndef MLA_PREDICT_STEP_H
#define MLA_PREDICT_STEP_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "mla/err.h"
#include "mla/predict.h"
#include "mla/prom.h"

/* Forecasts from `values` (n points, step_s apart, the last one at "now", NaN for gaps):
 * fills out->peak_upper (max of the upper bound at `quantile` over future steps
 * ahead_steps..horizon_steps, 1 = one step after the last value), peak_point, confidence [0,1],
 * trend, and observed (may be left NaN: the caller then uses the last value). anomaly_threshold
 * is the config's anomalyThreshold (robust deviations; the forecaster clamps it to its range).
 * Returns an mla_code (0 = OK); on failure the step falls back to business hours. */
typedef int (*mla_predict_forecast_fn)(void *ctx, const double *values, size_t n, double step_s,
                                       int horizon_steps, int ahead_steps, double quantile,
                                       double anomaly_threshold,
                                       struct mla_predict_forecast *out, struct mla_err *err);

/* Current replicas of a Deployment for the cost gauges; -1 when unknown. */
typedef int (*mla_predict_replicas_fn)(void *ctx, const char *ns, const char *deployment);

struct mla_predict_env {
    struct mla_prom_opts prom;         /* base URL (borrowed) and timeout */
    mla_predict_forecast_fn forecast;  /* required for predictive configs */
    void *forecast_ctx;
    mla_predict_replicas_fn replicas;  /* optional (NULL): mla_workload_replicas/_hourly_cost */
    void *replicas_ctx;
    bool no_metrics;                   /* true: leave /metrics alone (CLI tools, tests) */
};

/* One step (see above). On MLA_OK, *merge_patch_out is the patch or NULL, and *res holds the
 * decision (or res->skipped). On failure both are untouched and err names the ScaledObject. */
enum mla_code mla_predict_step(const struct mla_predict_env *env, const cJSON *scaled_object,
                               time_t now, cJSON **merge_patch_out, struct mla_predict_result *res,
                               struct mla_err *err) MLA_MUST_CHECK;

/* Parses "2026-11-25T12:00:00Z" (RFC 3339, UTC or with an offset); -1 when malformed. */
time_t mla_predict_parse_rfc3339(const char *s);

#endif
