/* predict.h - the predictive decision: forecast summary + business hours + cost cap + bounds +
 * hysteresis -> a ScaledObject's minReplicaCount, with an explanation.
 *
 * Pipeline (mla_predict_min_replicas); each step may override the previous value and then becomes
 * "the rule that decided":
 *   1. forecast       ceil(peak upper bound over [now+scaleAhead, now+horizon]
 *                     / capacityPerReplica - MLA_PREDICT_RISE_SLACK), at least
 *                     ceil(peak point forecast / capacityPerReplica): a band that crosses a
 *                     replica boundary by less than the slack does not buy that replica;
 *                     only when enabled, a forecast exists, capacityPerReplica is set and the
 *                     confidence reaches confidenceThreshold; otherwise "fallback": starts at
 *                     minReplicas, so business hours alone decide (then the caps).
 *   2. business_hours inside a window: at least its minReplicas; outside every window with
 *                     nightMaxReplicas set: at most that.
 *   3. cost_cap       replicaHourlyCost x replicas <= maxHourlyCost: at most floor(max / cost).
 *   4. bounds         clamp to minReplicas..maxReplicas (the bounds win over the cost cap).
 *   5. hysteresis     keep the current value when a forecast-decided change is smaller than
 *                     hysteresisStep (changes decided by hours, caps, bounds or the fallback are
 *                     deliberate and go through), or
 *                     when it is a decrease within scaleDownHoldMinutes of the last change
 *                     (ml-autoscaling.io/min-replicas-updated, written on every change, up or
 *                     down: the contract has no separate "last scale-up" record), or when a
 *                     forecast-decided decrease comes while the whole band (no slack) still
 *                     needs the current value or the observed load needs more than the new
 *                     one and at least half the current one (the floor rises by the slack,
 *                     falls at the boundary); never to keep
 *                     a value that breaks the bounds, the cost cap, the night cap or an open
 *                     window's floor.
 *   6. max (night cap) outside business hours with nightMaxReplicas set (or always, with a
 *                     night cap and no windows), spec.maxReplicaCount becomes
 *                     min(maxReplicas, nightMaxReplicas), never below max(1, the chosen min)
 *                     (KEDA wants max >= min and max >= 1), explained in
 *                     ml-autoscaling.io/max-replicas-reason; otherwise it goes back to
 *                     maxReplicas when it differs and that annotation is removed, so the
 *                     annotation is present exactly while the loop's cap is in effect.
 *
 * Ownership: struct mla_predict_config owns its strings and hours (mla_predict_config_fini).
 * Results are plain values. cJSON returned by mla_predict_annotations is new (cJSON_Delete).
 * Threading: pure functions, any thread; the metrics functions use the thread-safe registry.
 */
#ifndef MLA_PREDICT_H
#define MLA_PREDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "mla/err.h"
#include "mla/hours.h"

#define MLA_PREDICT_CONFIG_ANNOTATION "ml-autoscaling.io/predictive-config"
#define MLA_PREDICT_ANN_PEAK "ml-autoscaling.io/forecast-peak"
#define MLA_PREDICT_ANN_CONFIDENCE "ml-autoscaling.io/forecast-confidence"
#define MLA_PREDICT_ANN_TREND "ml-autoscaling.io/forecast-trend"
#define MLA_PREDICT_ANN_REASON "ml-autoscaling.io/min-replicas-reason"
#define MLA_PREDICT_ANN_UPDATED "ml-autoscaling.io/min-replicas-updated"
#define MLA_PREDICT_ANN_MAX_REASON "ml-autoscaling.io/max-replicas-reason"
/* The loop's carried weekly profile (predict_models.h), so that a new leader starts from it */
#define MLA_PREDICT_ANN_PROFILE "ml-autoscaling.io/forecast-profile"

/* The parsed `ml-autoscaling.io/predictive-config` annotation (HELPERS-CONTRACTS.md section 2).
 * Unset (null or absent) optional numbers are NaN or -1 as noted. */
struct mla_predict_config {
    bool enabled;
    char *query;                 /* owned; NULL when unset */
    double lookback_hours;       /* > 0; default 336 */
    double step_seconds;         /* >= 1; default 300 */
    int horizon_minutes;         /* >= 1; default 30 */
    int scale_ahead_minutes;     /* 0..horizon; default 15 */
    double confidence_threshold; /* [0,1]; default 0.6 */
    double quantile;             /* (0,1); default 0.82 */
    double anomaly_threshold;    /* > 0; default 3.5 */
    double capacity_per_replica; /* > 0; NaN when unset */
    struct mla_hours *hours;     /* owned; NULL when no windows */
    char *timezone;              /* owned; NULL when unset (UTC) */
    int night_max_replicas;      /* >= 0; -1 when unset */
    double replica_hourly_cost;  /* > 0; NaN when unset */
    double max_hourly_cost;      /* > 0; NaN when unset */
    int min_replicas;            /* >= 0; default 0 */
    int max_replicas;            /* >= min_replicas; default 1000 */
    int hysteresis_step;         /* >= 1; default 1 */
    int scale_down_hold_minutes; /* >= 0; default 15 (what simulate measures) */
};

/* What the loop learns from the forecaster (filled from mla_fc_forecast's result). */
struct mla_predict_forecast {
    double peak_upper;  /* max upper bound at cfg.quantile over the scale-ahead window */
    double peak_point;  /* max point forecast over the same window */
    double confidence;  /* [0,1] */
    double observed;    /* last observed load; NaN when unknown */
    char trend[24];     /* fc.h names: "stable", "increasing", "decreasing", "volatile" ("" unknown) */
    bool seeded;        /* the loop's carried weekly profile seeded it (predict_models.h); the
                         * reason says so */
};

enum mla_predict_rule {
    MLA_PREDICT_RULE_FORECAST = 0,
    MLA_PREDICT_RULE_BUSINESS_HOURS,
    MLA_PREDICT_RULE_COST_CAP,
    MLA_PREDICT_RULE_BOUNDS,
    MLA_PREDICT_RULE_HYSTERESIS,
    MLA_PREDICT_RULE_FALLBACK,
};
#define MLA_PREDICT_RULE_COUNT 6

/* Share of a replica by which the forecast band must cross a replica boundary to buy that
 * replica (step 1). At one or two replicas a band that just touches the next boundary would
 * cost a whole replica for a few percent of load: issue 17, the weekly_sharp trace (+38 %
 * replica-hours over reactive at 0). 0.25 keeps every trace's simulate goals (docs/forecasting.md). */
#define MLA_PREDICT_RISE_SLACK 0.25

struct mla_predict_input {
    const struct mla_predict_config *cfg; /* borrowed */
    const struct mla_predict_forecast *fc; /* borrowed; NULL when there is no forecast */
    const char *no_forecast_why; /* borrowed; why fc is NULL ("no history", ...), may be NULL */
    time_t now;
    int current_min;    /* the ScaledObject's minReplicaCount now; -1 when unknown */
    time_t last_change; /* from ml-autoscaling.io/min-replicas-updated; 0 when unknown */
    int current_max;    /* the ScaledObject's maxReplicaCount now; <= 0 when unknown */
};

struct mla_predict_result {
    int min_replicas;  /* the decision */
    int previous;      /* input current_min */
    bool changed;      /* min_replicas != previous (always true when previous is unknown) */
    enum mla_predict_rule rule; /* the rule that decided */
    bool forecast_used;
    int forecast_replicas;      /* step 1's value when forecast_used, else -1 */
    double peak, peak_point, confidence, observed; /* NaN when no forecast */
    char trend[24];
    char reason[512];           /* one human sentence, names every rule that acted */
    const char *skipped; /* static string: why mla_predict_step made no decision; NULL if it did */
    int max_replicas;  /* the maxReplicaCount wanted (step 6) */
    bool max_changed;  /* max_replicas differs from input current_max (night cap: also when
                        * current_max is unknown; without it an unknown max is left alone) */
    bool max_capped;   /* the night cap is in effect (max_reason says why) */
    char max_reason[256];
    /* Set by mla_predict_step only: its apply changes nothing but the explanation annotations
     * (the rule named, the forecast's figures); both counts and the loop's ownership are as
     * stored. The loop may put such an apply off to a later pass (--loop-explanation-writes)
     * without any replica count waiting. */
    bool explanation_only;
};

/* Defaults (the values listed above); cannot fail. */
void mla_predict_config_init(struct mla_predict_config *cfg);
void mla_predict_config_fini(struct mla_predict_config *cfg);
/* Parses the annotation JSON into *cfg (which must be initialised; replaced only on success).
 * Errors name the key, the bad value and the allowed range. Unknown keys are ignored (a newer
 * webhook may add keys before the loop is updated). */
enum mla_code mla_predict_config_parse(const char *json, struct mla_predict_config *cfg,
                                       struct mla_err *err) MLA_MUST_CHECK;
/* True when the config asks for anything: predictive enabled, business hours, a night cap or a
 * cost cap. */
bool mla_predict_config_active(const struct mla_predict_config *cfg);

/* The forecast's horizon and scale-ahead window in steps of cfg->step_seconds, as the loop asks
 * for them (horizon rounded up, scale-ahead down, at least one step, the horizon at least the
 * scale-ahead). The loop, `explain` and `simulate --lookback-hours` must agree on them. */
void mla_predict_config_steps(const struct mla_predict_config *cfg, int *horizon, int *ahead);
/* The points of the loop's lookback window: lookbackHours in whole steps, both ends included
 * (the newest grid point and the one lookbackHours before it). `forecast --lookback-hours` and
 * its --evaluate keep the same count, so they score the loop's window exactly. */
size_t mla_predict_config_window_points(const struct mla_predict_config *cfg);

/* The decision (pipeline above). Pure. */
void mla_predict_min_replicas(const struct mla_predict_input *in, struct mla_predict_result *res);

/* "forecast", "business_hours", ... (the metric label values). */
const char *mla_predict_rule_name(enum mla_predict_rule rule);

/* The merge patch for the ScaledObject: {"metadata":{"annotations":{the five explanation
 * annotations}}, "spec":{"minReplicaCount":N}}; spec only when res->changed, and
 * min-replicas-updated (RFC 3339 UTC of now) only then too, since it records the last change.
 * spec.maxReplicaCount when res->max_changed; max-replicas-reason set while res->max_capped,
 * null (removed) otherwise.
 * Forecast annotations are null (removed) when no forecast was used. New: cJSON_Delete. */
cJSON *mla_predict_annotations(const struct mla_predict_result *res, time_t now);

/* Sets mla_predicted_load, mla_observed_load, mla_forecast_confidence, mla_min_replicas and
 * increments mla_predict_decisions_total{rule} for one ScaledObject. A NaN value (no forecast)
 * drops its gauge's series. */
void mla_predict_metrics_update(const char *ns, const char *scaledobject,
                                const struct mla_predict_result *res);
/* Sets the cost gauges of one Deployment: mla_workload_replicas (when replicas >= 0),
 * mla_workload_hourly_cost (replicas x replicaHourlyCost, when both known) and
 * mla_workload_hourly_cost_cap (when maxHourlyCost is set). */
void mla_predict_metrics_workload(const char *ns, const char *deployment, int replicas,
                                  const struct mla_predict_config *cfg);
/* Drops every series of a ScaledObject (and of its Deployment when deployment is not NULL),
 * e.g. when it disappears. */
void mla_predict_metrics_remove(const char *ns, const char *scaledobject, const char *deployment);

#endif
