/* predict_step.h - one step of the predictive loop for one ScaledObject: read its
 * ml-autoscaling.io/predictive-config annotation, query Prometheus over the lookback, call the
 * forecaster, decide (predict.h) and return the server-side apply configuration to send.
 *
 * The loop is its own field manager (MLA_PREDICT_FIELD_MANAGER, "ml-autoscaling-loop"): the
 * leader applies the answer with application/apply-patch+yaml, ?fieldManager=ml-autoscaling-loop
 * &force=true. It owns spec.minReplicaCount, spec.maxReplicaCount and its explanation
 * annotations (forecast-*, min-replicas-reason, min-replicas-updated, max-replicas-reason; and
 * forecast-profile, the weekly profile a new leader starts from: predict_models.h) and,
 * as server-side apply wants, sends all of them every time it writes: a field left out of the
 * loop's apply is removed unless another manager owns it. The worker's apply
 * (field manager ml-autoscaling) leaves out the counts the loop owns (mla_predict_leave_loop),
 * so a Deployment UPDATE keeps the loop's decision without taking it over. When the
 * ScaledObject no longer asks for the loop (no predictive-config: the worker applied the policy's
 * counts and took them over), the loop's next apply is an empty configuration, which removes
 * its annotations and releases everything it owned.
 * The forecaster is a callback so that this file does not depend on fc.h; with env->models the
 * streaming models (predict_models.h) fetch and forecast instead.
 *
 * When an apply is sent: when minReplicaCount or maxReplicaCount changes, or the explanation
 * changes materially (another rule decided, the forecast peak moved by more than 10%, the
 * confidence by more than 0.05, another trend, or the annotations are missing), or the loop does
 * not own the counts yet, or the stored forecast-profile is missing, unreadable or a day behind
 * the one the loop carries (mla_predict_models_profile_due; an explanation-only apply). Otherwise
 * NULL, to keep API writes (and etcd churn) low on a 60 s loop.
 * res->explanation_only marks an apply that changes only the explanation (another rule named,
 * new figures) while both counts and their ownership stay, which the loop may put off when a
 * pass has many (controller.h, loop_explanation_writes).
 *
 * Skipped without a decision (apply NULL, res->skipped says why): no config annotation, paused
 * (autoscaling.keda.sh/paused "true" or autoscaling.keda.sh/paused-replicas present), or a config
 * that asks for nothing (then the release above when the loop still owns fields). A Prometheus
 * failure is an error (no apply: a monitoring outage must not scale a workload down); an empty
 * history or a failing forecaster falls back to business hours.
 *
 * Ownership: env and scaled_object are borrowed; *apply_out is new (cJSON_Delete).
 * Threading: any thread, if the forecast callback is (env->models: one thread at a time); metrics go to the thread-safe registry.
 */
#ifndef MLA_PREDICT_STEP_H
#define MLA_PREDICT_STEP_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "mla/err.h"
#include "mla/predict.h"
#include "mla/predict_models.h"
#include "mla/prom.h"
#include "mla/ratelimit.h"

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

/* Current replicas of the workload (kind: the ScaledObject's scaleTargetRef.kind, "Deployment"
 * when absent) for the cost gauges; -1 when unknown. */
typedef int (*mla_predict_replicas_fn)(void *ctx, const char *ns, const char *kind,
                                       const char *name);

struct mla_predict_env {
    struct mla_prom_opts prom;         /* base URL (borrowed) and timeout */
    mla_predict_forecast_fn forecast;  /* required for predictive configs */
    void *forecast_ctx;
    mla_predict_replicas_fn replicas;  /* optional (NULL): mla_workload_replicas/_hourly_cost */
    void *replicas_ctx;
    bool no_metrics;                   /* true: leave /metrics alone (CLI tools, tests) */
    /* Optional (NULL: one full query_range over the lookback per step, the one-shot path).
     * Borrowed; NOT thread-safe: the step is then called from one thread at a time (the loop
     * thread). The streaming models kept between steps (predict_models.h): each later step
     * fetches only the samples since the last one. */
    struct mla_predict_models *models;
    /* Optional (NULL: none), borrowed: every Prometheus query first takes a token
     * (--prometheus-qps/--prometheus-burst). */
    struct mla_ratelimit *prom_limit;
};

#define MLA_PREDICT_FIELD_MANAGER "ml-autoscaling-loop"

/* One step (see above). On MLA_OK, *apply_out is the apply configuration or NULL, and *res
 * holds the decision (or res->skipped). On failure both are untouched and err names the
 * ScaledObject. */
enum mla_code mla_predict_step(const struct mla_predict_env *env, const cJSON *scaled_object,
                               time_t now, cJSON **apply_out, struct mla_predict_result *res,
                               struct mla_err *err) MLA_MUST_CHECK;

/* For the worker's apply (and the loop's staleness check): removes from `desired` (modified) the
 * replica counts the predictive loop owns in `live` (its managedFields; borrowed, NULL: none),
 * while `desired` still asks for the loop (carries predictive-config). Server-side apply then
 * keeps the loop's values, owned by the loop alone. Returns true when it left something out. */
bool mla_predict_leave_loop(cJSON *desired, const cJSON *live);

/* Parses "2026-11-25T12:00:00Z" (RFC 3339, UTC or with an offset); -1 when malformed. */
time_t mla_predict_parse_rfc3339(const char *s);

#endif
