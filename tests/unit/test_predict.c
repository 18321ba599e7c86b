/* test_predict.c - predictive-config parsing and the decision pipeline: each rule, precedence,
 * hysteresis (step and hold), the cost cap, night caps, bounds, fallback, annotations, metrics. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../support/support.h"
#include "mla/buf.h"
#include "mla/metrics.h"
#include "mla/predict.h"

static void fini(void)
{
    mla_metrics_reset();
    mla_hours_cache_clear();
}

/* The contract's example (HELPERS-CONTRACTS.md section 2), with UTC for easy times. */
static const char *base_json =
    "{\"enabled\":true,\"query\":\"sum(rate(http_requests_total[5m]))\",\"lookbackHours\":168,"
    "\"stepSeconds\":300,\"horizonMinutes\":30,\"scaleAheadMinutes\":15,"
    "\"confidenceThreshold\":0.6,\"quantile\":0.9,\"anomalyThreshold\":3.5,"
    "\"capacityPerReplica\":50.0,"
    "\"businessHours\":[{\"days\":\"Mon-Fri\",\"start\":\"09:00\",\"end\":\"18:00\","
    "\"minReplicas\":3}],\"timezone\":\"UTC\",\"nightMaxReplicas\":null,"
    "\"replicaHourlyCost\":2.5,\"maxHourlyCost\":40.0,\"minReplicas\":1,\"maxReplicas\":20,"
    "\"hysteresisStep\":1,\"scaleDownHoldMinutes\":30}";

/* 2026-11-25 is a Wednesday */
static time_t utc(int d, int h, int mi)
{
    return sup_utc(2026, 11, d, h, mi);
}
#define NOON utc(25, 12, 0)
#define NIGHT utc(25, 23, 0)

static void cfg_from(const char *json, struct mla_predict_config *c)
{
    struct mla_err e;
    mla_err_clear(&e);
    mla_predict_config_init(c);
    cr_assert_eq(mla_predict_config_parse(json, c, &e), MLA_OK, "%s", e.msg);
}

static struct mla_predict_forecast fcst(double peak, double conf)
{
    struct mla_predict_forecast f = {
        .peak_upper = peak, .peak_point = peak * 0.8, .confidence = conf, .observed = peak / 2};
    snprintf(f.trend, sizeof f.trend, "flat");
    return f;
}

static struct mla_predict_result run(const struct mla_predict_config *c,
                                     const struct mla_predict_forecast *f, time_t now, int cur,
                                     time_t last)
{
    struct mla_predict_input in = {
        .cfg = c, .fc = f, .now = now, .current_min = cur, .last_change = last};
    struct mla_predict_result r;
    mla_predict_min_replicas(&in, &r);
    return r;
}

#define ASSERT_DECISION(r, n, rulename)                                                            \
    do {                                                                                           \
        cr_assert_eq((r).min_replicas, (n), "want %d got %d (%s: %s)", (n), (r).min_replicas,      \
                     mla_predict_rule_name((r).rule), (r).reason);                                 \
        cr_assert_str_eq(mla_predict_rule_name((r).rule), (rulename), "reason: %s", (r).reason);   \
    } while (0)

Test(predict_config, contract_example_parses, .fini = fini)
{
    struct mla_predict_config c;
    cfg_from(base_json, &c);
    cr_assert(c.enabled);
    cr_assert_str_eq(c.query, "sum(rate(http_requests_total[5m]))");
    cr_assert_eq(c.horizon_minutes, 30);
    cr_assert_eq(c.scale_ahead_minutes, 15);
    cr_assert_float_eq(c.capacity_per_replica, 50.0, 1e-9);
    cr_assert_not_null(c.hours);
    cr_assert_eq(c.hours->n, 1);
    cr_assert_eq(c.hours->w[0].min_replicas, 3);
    cr_assert_eq(c.night_max_replicas, -1);
    cr_assert_eq(c.max_replicas, 20);
    cr_assert(mla_predict_config_active(&c));
    mla_predict_config_fini(&c);
}

Test(predict_config, nulls_mean_unset_and_nothing_to_do, .fini = fini)
{
    struct mla_predict_config c;
    cfg_from("{\"enabled\":false,\"query\":null,\"capacityPerReplica\":null,\"businessHours\":null,"
             "\"timezone\":null,\"nightMaxReplicas\":null,\"replicaHourlyCost\":2.0,"
             "\"maxHourlyCost\":null,\"minReplicas\":1,\"maxReplicas\":4,\"future\":42}",
             &c);
    cr_assert(isnan(c.capacity_per_replica));
    cr_assert_null(c.hours);
    cr_assert_not(mla_predict_config_active(&c)); /* one cost field alone is no cap */
    mla_predict_config_fini(&c);
}

static void parse_fails(const char *json, const char *needle)
{
    struct mla_predict_config c;
    mla_predict_config_init(&c);
    c.min_replicas = 77; /* must stay untouched */
    struct mla_err e;
    mla_err_clear(&e);
    cr_assert_neq(mla_predict_config_parse(json, &c, &e), MLA_OK, "accepted %s", json);
    cr_assert(strstr(e.msg, needle), "%s -> %s (want %s)", json, e.msg, needle);
    cr_assert_eq(c.min_replicas, 77);
    mla_predict_config_fini(&c);
}

Test(predict_config, errors_name_the_key_and_the_range, .fini = fini)
{
    parse_fails("not json", "not a JSON object");
    parse_fails("[1]", "not a JSON object");
    parse_fails("{\"enabled\":\"yes\"}", "\"enabled\" must be true or false");
    parse_fails("{\"quantile\":1.5}", "\"quantile\" is 1.5, allowed (0..1)");
    parse_fails("{\"confidenceThreshold\":-0.1}", "\"confidenceThreshold\"");
    parse_fails("{\"horizonMinutes\":2.5}", "\"horizonMinutes\" must be an integer");
    parse_fails("{\"horizonMinutes\":30,\"scaleAheadMinutes\":45}",
                "\"scaleAheadMinutes\" is 45, allowed [0..30]");
    parse_fails("{\"minReplicas\":5,\"maxReplicas\":2}", "\"maxReplicas\" 2 is below");
    parse_fails("{\"capacityPerReplica\":0}", "\"capacityPerReplica\" is 0");
    parse_fails("{\"capacityPerReplica\":\"50\"}", "\"capacityPerReplica\" must be a number");
    parse_fails("{\"enabled\":true,\"query\":\"\"}", "\"query\" (a PromQL expression) is required");
    parse_fails("{\"businessHours\":[{\"days\":\"Mon-Fry\",\"start\":\"09:00\",\"end\":\"18:00\","
                "\"minReplicas\":2}]}",
                "businessHours[0]: unknown day \"Fry\"");
    parse_fails("{\"businessHours\":[{\"days\":\"Mon\",\"start\":\"9am\",\"end\":\"18:00\"}]}",
                "bad start time \"9am\"");
    parse_fails("{\"businessHours\":{\"days\":\"Mon\"}}", "must be an array");
    parse_fails("{\"businessHours\":[{\"days\":\"Mon\",\"start\":\"09:00\",\"end\":\"18:00\"}],"
                "\"timezone\":\"Europe/Atlantis\"}",
                "unknown time zone \"Europe/Atlantis\"");
    parse_fails("{\"timezone\":\"Mars/Base\"}", "\"timezone\": unknown time zone \"Mars/Base\"");
    parse_fails("{\"hysteresisStep\":0}", "\"hysteresisStep\" is 0, allowed [1..");
}

/* The decision pipeline, one row per situation: a config, the forecast (peak < 0: none), the
 * time, the current minReplicaCount and when we last changed it -> the value and the rule that
 * set it. */
#define NIGHT_CAP                                                                                  \
    "{\"enabled\":true,\"query\":\"q\",\"capacityPerReplica\":10,\"businessHours\":"             \
    "[{\"days\":\"Mon-Fri\",\"start\":\"09:00\",\"end\":\"18:00\",\"minReplicas\":3}],"           \
    "\"nightMaxReplicas\":2,\"minReplicas\":1,\"maxReplicas\":20}"
#define COST_FLOOR                                                                                 \
    "{\"businessHours\":[{\"days\":\"daily\",\"start\":\"00:00\",\"end\":\"24:00\","             \
    "\"minReplicas\":10}],\"replicaHourlyCost\":3,\"maxHourlyCost\":20,"                          \
    "\"minReplicas\":0,\"maxReplicas\":50}"
#define BOUNDS_COST                                                                                \
    "{\"enabled\":true,\"query\":\"q\",\"capacityPerReplica\":10,"                                \
    "\"replicaHourlyCost\":10,\"maxHourlyCost\":30,\"minReplicas\":5,\"maxReplicas\":8}"
#define BOUNDS                                                                                     \
    "{\"enabled\":true,\"query\":\"q\",\"capacityPerReplica\":10,\"minReplicas\":2,"              \
    "\"maxReplicas\":8}"
#define HYST_STEP                                                                                  \
    "{\"enabled\":true,\"query\":\"q\",\"capacityPerReplica\":10,\"minReplicas\":1,"              \
    "\"maxReplicas\":50,\"hysteresisStep\":2,\"scaleDownHoldMinutes\":0}"
#define HYST_WINDOW                                                                                \
    "{\"businessHours\":[{\"days\":\"daily\",\"start\":\"09:00\",\"end\":\"18:00\","             \
    "\"minReplicas\":3}],\"minReplicas\":1,\"maxReplicas\":10,\"hysteresisStep\":3,"              \
    "\"scaleDownHoldMinutes\":30}"
#define HOLD                                                                                       \
    "{\"enabled\":true,\"query\":\"q\",\"capacityPerReplica\":10,\"minReplicas\":1,"              \
    "\"maxReplicas\":50,\"hysteresisStep\":1,\"scaleDownHoldMinutes\":30}"
#define HARD_LIMITS                                                                                \
    "{\"enabled\":true,\"query\":\"q\",\"capacityPerReplica\":10,"                                \
    "\"businessHours\":[{\"days\":\"daily\",\"start\":\"09:00\",\"end\":\"18:00\","              \
    "\"minReplicas\":3}],\"replicaHourlyCost\":1,\"maxHourlyCost\":16,"                           \
    "\"minReplicas\":1,\"maxReplicas\":50,\"hysteresisStep\":5,\"scaleDownHoldMinutes\":60}"
#define DISABLED                                                                                   \
    "{\"enabled\":false,\"capacityPerReplica\":10,\"businessHours\":[{\"days\":"                  \
    "\"Mon-Fri\",\"start\":\"09:00\",\"end\":\"18:00\",\"minReplicas\":4}],"                      \
    "\"minReplicas\":1,\"maxReplicas\":10}"
#define NO_CAPACITY                                                                                \
    "{\"enabled\":true,\"query\":\"q\",\"capacityPerReplica\":null,\"minReplicas\":2,"            \
    "\"maxReplicas\":10}"

struct decision_case {
    const char *what, *cfg;
    double peak, conf;      /* peak < 0: no forecast */
    int day, hour;          /* 2026-11-DAY HOUR:00 UTC (25: Wednesday, 28: Saturday) */
    int cur;                /* current minReplicaCount, -1 unknown */
    int changed_min_ago;    /* when we last changed it; 0: never */
    int want;
    const char *rule, *reason;   /* reason: a part of it, NULL: not checked */
    int changed, used, fc_repl;  /* -1: not checked */
};

static const struct decision_case decision_cases[] = {
    {"forecast peak over capacity rounds up", NULL, 432, .9, 25, 12, 3, 0, 9, "forecast",
     "forecast peak 432.0", 1, -1, 9},
    {"exactly 9 replicas' worth: not 10", NULL, 450, .9, 25, 12, 3, 0, 9, "forecast", NULL, -1,
     -1, -1},
    {"business-hours floor beats a low forecast", NULL, 40, .9, 25, 12, 1, 0, 3,
     "business_hours", "raised to 3 inside business hours (Mon-Fri 09:00-18:00)", -1, -1, -1},
    {"outside business hours the forecast stands", NULL, 40, .9, 25, 23, 1, 0, 1, "forecast",
     NULL, 0, -1, -1},
    {"night cap outside the windows", NIGHT_CAP, 80, .9, 25, 23, 2, 0, 2, "business_hours",
     "nightMaxReplicas", -1, -1, -1},
    {"no night cap inside a window", NIGHT_CAP, 80, .9, 25, 12, 2, 0, 8, "forecast", NULL, -1, -1,
     -1},
    {"Saturday noon is outside Mon-Fri: capped", NIGHT_CAP, 80, .9, 28, 12, 2, 0, 2,
     "business_hours", NULL, -1, -1, -1},
    {"cost cap limits replicas (40/h at 2.5/h: 16)", NULL, 1000, .9, 25, 12, 3, 0, 16,
     "cost_cap", "cost cap", -1, -1, -1},
    {"the cost cap also bounds a business-hours floor", COST_FLOOR, -1, 0, 25, 12, 0, 0, 6,
     "cost_cap", NULL, -1, -1, -1},
    {"bounds win over the cost cap", BOUNDS_COST, 100, .9, 25, 12, 5, 0, 5, "bounds", NULL, -1,
     -1, -1},
    {"bounds cap a high forecast", BOUNDS, 500, .9, 25, 12, 2, 0, 8, "bounds", NULL, -1, -1, -1},
    {"bounds raise a zero forecast", BOUNDS, 0, .9, 25, 12, 8, 0, 2, "bounds", NULL, -1, -1, -1},
    {"hysteresis step ignores +1", HYST_STEP, 60, .9, 25, 12, 5, 0, 5, "hysteresis", NULL, 0, -1,
     -1},
    {"hysteresis step passes +2", HYST_STEP, 70, .9, 25, 12, 5, 0, 7, "forecast", NULL, -1, -1,
     -1},
    {"hysteresis step holds -1", HYST_STEP, 40, .9, 25, 12, 5, 0, 5, "hysteresis", NULL, -1, -1,
     -1},
    {"unknown current: no hysteresis", HYST_STEP, 40, .9, 25, 12, -1, 0, 4, "forecast", NULL, -1,
     -1, -1},
    {"a closed window's floor is not held by the step", HYST_WINDOW, -1, 0, 25, 23, 3, 660, 1,
     "fallback", NULL, -1, -1, -1},
    {"... but is held right after a change", HYST_WINDOW, -1, 0, 25, 23, 3, 1, 3, "hysteresis",
     NULL, -1, -1, -1},
    {"scale-down hold after a change", HOLD, 40, .9, 25, 12, 8, 10, 8, "hysteresis",
     "within 30 min", -1, -1, -1},
    {"hold over", HOLD, 40, .9, 25, 12, 8, 31, 4, "forecast", NULL, -1, -1, -1},
    {"never changed by us: no hold", HOLD, 40, .9, 25, 12, 8, 0, 4, "forecast", NULL, -1, -1, -1},
    {"scaling up is never held", HOLD, 120, .9, 25, 12, 8, 1, 12, "forecast", NULL, -1, -1, -1},
    {"hysteresis never keeps a value below an open window's floor", HARD_LIMITS, 10, .9, 25, 12,
     2, 0, 3, "business_hours", NULL, -1, -1, -1},
    {"hysteresis never keeps a value above the cost cap", HARD_LIMITS, 500, .9, 25, 12, 18, 1,
     16, "cost_cap", NULL, -1, -1, -1},
    {"low confidence falls back to business hours", NULL, 900, .4, 25, 12, 1, 0, 3,
     "business_hours", "below the threshold 0.60", -1, 0, -1},
    {"low confidence at night: fallback", NULL, 900, .4, 25, 23, 3, 0, 1, "fallback", NULL, -1,
     -1, -1},
    {"no history at all", NULL, -1, 0, 25, 23, 3, 0, 1, "fallback", "no forecast", -1, -1, -1},
    {"disabled: business hours only", DISABLED, 90, 1, 25, 12, 1, 0, 4, "business_hours", NULL,
     -1, -1, -1},
    {"disabled at night: fallback", DISABLED, 90, 1, 25, 23, 4, 0, 1, "fallback", NULL, -1, -1,
     -1},
    {"no capacity: fallback", NO_CAPACITY, 90, 1, 25, 12, 5, 0, 2, "fallback",
     "capacityPerReplica is not set", -1, -1, -1},
};

Test(predict, every_rule_in_its_situation, .fini = fini)
{
    for (size_t i = 0; i < sizeof decision_cases / sizeof *decision_cases; i++) {
        const struct decision_case *dc = &decision_cases[i];
        struct mla_predict_config c;
        cfg_from(dc->cfg ? dc->cfg : base_json, &c);
        struct mla_predict_forecast f = fcst(dc->peak, dc->conf);
        time_t now = utc(dc->day, dc->hour, 0);
        time_t last = dc->changed_min_ago ? now - 60 * dc->changed_min_ago : 0;
        struct mla_predict_result r = run(&c, dc->peak < 0 ? NULL : &f, now, dc->cur, last);
        cr_assert_eq(r.min_replicas, dc->want, "%s: want %d got %d (%s: %s)", dc->what, dc->want,
                     r.min_replicas, mla_predict_rule_name(r.rule), r.reason);
        cr_assert_str_eq(mla_predict_rule_name(r.rule), dc->rule, "%s: %s", dc->what, r.reason);
        if (dc->reason)
            cr_assert(strstr(r.reason, dc->reason), "%s: %s", dc->what, r.reason);
        if (dc->changed >= 0)
            cr_assert_eq(r.changed, dc->changed, "%s: changed", dc->what);
        if (dc->used >= 0)
            cr_assert_eq(r.forecast_used, dc->used, "%s: forecast_used", dc->what);
        if (dc->fc_repl >= 0)
            cr_assert_eq(r.forecast_replicas, dc->fc_repl, "%s: forecast_replicas", dc->what);
        mla_predict_config_fini(&c);
    }
}

Test(predict, the_reason_says_when_the_weekly_profile_seeded_the_forecast, .fini = fini)
{
    struct mla_predict_config c;
    cfg_from(base_json, &c);
    struct mla_predict_forecast f = fcst(432.0, 0.87);
    struct mla_predict_result r = run(&c, &f, NOON, 3, 0);
    cr_assert(strstr(r.reason, "trend flat)"), "%s", r.reason);
    cr_assert_null(strstr(r.reason, "seeded"), "%s", r.reason);
    f.seeded = true;
    r = run(&c, &f, NOON, 3, 0);
    cr_assert(strstr(r.reason, "(confidence 0.87, trend flat, seasons seeded from the weekly "
                               "profile of the points older than the lookback)"),
              "%s", r.reason);
    cr_assert_eq(r.min_replicas, 9, "the seed only explains: the decision is the forecast's");
    mla_predict_config_fini(&c);
}

Test(predict, annotations_patch_spec_only_on_change, .fini = fini)
{
    struct mla_predict_config c;
    cfg_from(base_json, &c);
    struct mla_predict_forecast f = fcst(432.0, 0.87);
    struct mla_predict_result r = run(&c, &f, NOON, 3, 0);
    cJSON *p = mla_predict_annotations(&r, NOON);
    char *s = cJSON_PrintUnformatted(p);
    cr_assert(strstr(s, "\"spec\":{\"minReplicaCount\":9}"), "%s", s);
    cr_assert(strstr(s, "\"ml-autoscaling.io/forecast-peak\":\"432.00\""), "%s", s);
    cr_assert(strstr(s, "\"ml-autoscaling.io/forecast-confidence\":\"0.87\""), "%s", s);
    cr_assert(strstr(s, "\"ml-autoscaling.io/forecast-trend\":\"flat\""), "%s", s);
    cr_assert(strstr(s, "\"ml-autoscaling.io/min-replicas-reason\":\"forecast: "), "%s", s);
    cr_assert(strstr(s, "\"ml-autoscaling.io/min-replicas-updated\":\"2026-11-25T12:00:00Z\""),
              "%s", s);
    free(s);
    cJSON_Delete(p);

    r = run(&c, &f, NOON, 9, 0); /* no change: no spec, no updated stamp */
    p = mla_predict_annotations(&r, NOON);
    s = cJSON_PrintUnformatted(p);
    cr_assert_null(strstr(s, "spec"), "%s", s);
    cr_assert_null(strstr(s, "min-replicas-updated"), "%s", s);
    free(s);
    cJSON_Delete(p);

    r = run(&c, NULL, NIGHT, 9, 0); /* no forecast: stale forecast annotations removed */
    p = mla_predict_annotations(&r, NIGHT);
    const cJSON *ann = cJSON_GetObjectItem(cJSON_GetObjectItem(p, "metadata"), "annotations");
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(ann, "ml-autoscaling.io/forecast-peak")));
    cr_assert_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(p, "spec"), "minReplicaCount")->valueint,
                 1);
    cJSON_Delete(p);
    mla_predict_config_fini(&c);
}

Test(predict, metrics_update_and_remove, .fini = fini)
{
    struct mla_predict_config c;
    cfg_from(base_json, &c);
    struct mla_predict_forecast f = fcst(432.0, 0.87);
    struct mla_predict_result r = run(&c, &f, NOON, 3, 0);
    mla_predict_metrics_update("shop", "api-so", &r);
    mla_predict_metrics_update("shop", "api-so", &r);
    mla_predict_metrics_workload("shop", "api", 6, &c);
    struct mla_buf b;
    mla_buf_init(&b, 0);
    cr_assert_eq(mla_metrics_render(&b), MLA_OK);
    const char *s = mla_buf_str(&b);
    cr_assert(strstr(s, "mla_predicted_load{namespace=\"shop\",scaledobject=\"api-so\"} 432"), "%s",
              s);
    cr_assert(strstr(s, "mla_forecast_confidence{namespace=\"shop\",scaledobject=\"api-so\"} 0.87"),
              "%s", s);
    cr_assert(strstr(s, "mla_min_replicas{namespace=\"shop\",scaledobject=\"api-so\"} 9"), "%s", s);
    cr_assert(strstr(s, "mla_predict_decisions_total{namespace=\"shop\",scaledobject=\"api-so\","
                        "rule=\"forecast\"} 2"),
              "%s", s);
    cr_assert(strstr(s, "mla_workload_hourly_cost{namespace=\"shop\",deployment=\"api\"} 15"), "%s",
              s);
    cr_assert(strstr(s, "mla_workload_hourly_cost_cap{namespace=\"shop\",deployment=\"api\"} 40"),
              "%s", s);
    mla_buf_reset(&b);
    mla_predict_metrics_remove("shop", "api-so", "api");
    cr_assert_eq(mla_metrics_render(&b), MLA_OK);
    s = mla_buf_str(&b);
    cr_assert_null(strstr(s, "scaledobject=\"api-so\""), "%s", s);
    cr_assert_null(strstr(s, "deployment=\"api\""), "%s", s);
    mla_buf_fini(&b);
    mla_predict_config_fini(&c);
}

/* ---- step 6: the night cap on maxReplicaCount ---- */

static const char *night_json =
    "{\"enabled\":true,\"query\":\"q\",\"capacityPerReplica\":10,\"businessHours\":"
    "[{\"days\":\"Mon-Fri\",\"start\":\"09:00\",\"end\":\"18:00\",\"minReplicas\":3}],"
    "\"timezone\":\"UTC\",\"nightMaxReplicas\":4,\"minReplicas\":1,\"maxReplicas\":20}";

static struct mla_predict_result run_max(const struct mla_predict_config *c,
                                         const struct mla_predict_forecast *f, time_t now,
                                         int cur, int cur_max)
{
    struct mla_predict_input in = {
        .cfg = c, .fc = f, .now = now, .current_min = cur, .current_max = cur_max};
    struct mla_predict_result r;
    mla_predict_min_replicas(&in, &r);
    return r;
}

static int patch_num(const cJSON *p, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(p, "spec"), k);
    return cJSON_IsNumber(v) ? v->valueint : -1;
}

static const cJSON *patch_ann(const cJSON *p, const char *k)
{
    return cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(p, "metadata"),
                                                   "annotations"), k);
}

Test(predict_max, night_caps_max_replicas, .fini = fini)
{
    struct mla_predict_config c;
    cfg_from(night_json, &c);
    struct mla_predict_forecast f = fcst(20.0, 0.9); /* 2 replicas */
    struct mla_predict_result r = run_max(&c, &f, NIGHT, 2, 20);
    ASSERT_DECISION(r, 2, "forecast");
    cr_assert(r.max_capped);
    cr_assert(r.max_changed);
    cr_assert_eq(r.max_replicas, 4);
    cr_assert(strstr(r.reason, "maxReplicaCount capped at 4 outside business hours"), "%s",
              r.reason);
    cJSON *p = mla_predict_annotations(&r, NIGHT);
    cr_assert_eq(patch_num(p, "maxReplicaCount"), 4);
    cr_assert_eq(patch_num(p, "minReplicaCount"), -1, "min unchanged: not in the patch");
    const cJSON *why = patch_ann(p, MLA_PREDICT_ANN_MAX_REASON);
    cr_assert(cJSON_IsString(why) && strstr(why->valuestring, "nightMaxReplicas 4"));
    cJSON_Delete(p);

    /* already capped: nothing to change, the annotation still explains it */
    r = run_max(&c, &f, NIGHT, 2, 4);
    cr_assert(r.max_capped);
    cr_assert_not(r.max_changed);
    p = mla_predict_annotations(&r, NIGHT);
    cr_assert_eq(patch_num(p, "maxReplicaCount"), -1);
    cr_assert(cJSON_IsString(patch_ann(p, MLA_PREDICT_ANN_MAX_REASON)));
    cJSON_Delete(p);

    /* unknown current max: the cap is written */
    r = run_max(&c, &f, NIGHT, 2, -1);
    cr_assert(r.max_changed);
    cr_assert_eq(r.max_replicas, 4);
    mla_predict_config_fini(&c);
}

Test(predict_max, night_cap_never_below_min_or_one, .fini = fini)
{
    struct mla_predict_config c;
    /* minReplicas 6 beats nightMaxReplicas 4 (the bounds win): max must stay >= min */
    cfg_from("{\"enabled\":false,\"nightMaxReplicas\":4,\"minReplicas\":6,\"maxReplicas\":20}",
             &c);
    struct mla_predict_result r = run_max(&c, NULL, NIGHT, 6, 20);
    cr_assert_eq(r.min_replicas, 6);
    cr_assert_eq(r.max_replicas, 6);
    cr_assert(r.max_capped && r.max_changed);
    mla_predict_config_fini(&c);
    /* nightMaxReplicas 0 (scale to zero at night): KEDA still wants maxReplicaCount >= 1 */
    cfg_from("{\"enabled\":false,\"nightMaxReplicas\":0,\"minReplicas\":0,\"maxReplicas\":20}",
             &c);
    r = run_max(&c, NULL, NIGHT, 0, 20);
    cr_assert_eq(r.min_replicas, 0);
    cr_assert_eq(r.max_replicas, 1);
    mla_predict_config_fini(&c);
}

Test(predict_max, day_restores_max_replicas, .fini = fini)
{
    struct mla_predict_config c;
    cfg_from(night_json, &c);
    struct mla_predict_forecast f = fcst(20.0, 0.9);
    struct mla_predict_result r = run_max(&c, &f, NOON, 3, 4); /* last night's cap */
    ASSERT_DECISION(r, 3, "business_hours");
    cr_assert_not(r.max_capped);
    cr_assert(r.max_changed);
    cr_assert_eq(r.max_replicas, 20);
    cr_assert(strstr(r.reason, "maxReplicaCount restored to maxReplicas 20 inside business hours"),
              "%s", r.reason);
    cJSON *p = mla_predict_annotations(&r, NOON);
    cr_assert_eq(patch_num(p, "maxReplicaCount"), 20);
    cr_assert(cJSON_IsNull(patch_ann(p, MLA_PREDICT_ANN_MAX_REASON)),
              "the cap's explanation is removed");
    cJSON_Delete(p);
    /* already restored: untouched */
    r = run_max(&c, &f, NOON, 3, 20);
    cr_assert_not(r.max_changed);
    p = mla_predict_annotations(&r, NOON);
    cr_assert_eq(patch_num(p, "maxReplicaCount"), -1);
    cJSON_Delete(p);
    mla_predict_config_fini(&c);
}

Test(predict_max, no_night_cap_leaves_max_alone, .fini = fini)
{
    struct mla_predict_config c;
    cfg_from(base_json, &c); /* nightMaxReplicas null */
    struct mla_predict_forecast f = fcst(100.0, 0.9);
    struct mla_predict_result r = run_max(&c, &f, NIGHT, 2, 20);
    cr_assert_not(r.max_capped);
    cr_assert_not(r.max_changed);
    cr_assert_eq(r.max_replicas, 20);
    cr_assert_null(strstr(r.reason, "maxReplicaCount"), "%s", r.reason);
    cJSON *p = mla_predict_annotations(&r, NIGHT);
    cr_assert_eq(patch_num(p, "maxReplicaCount"), -1);
    cJSON_Delete(p);
    r = run_max(&c, &f, NIGHT, 2, -1); /* unknown: still left alone */
    cr_assert_not(r.max_changed);
    mla_predict_config_fini(&c);
}

/* ---- issue 17: the band's slack and the floor that falls only at the boundary ---- */

/* A forecast at HOLD's capacity 10 per replica: upper bound, point, observed load. */
static struct mla_predict_forecast band(double upper, double point, double observed)
{
    struct mla_predict_forecast f = {
        .peak_upper = upper, .peak_point = point, .confidence = 0.9, .observed = observed};
    snprintf(f.trend, sizeof f.trend, "stable");
    return f;
}

Test(predict_band, a_band_that_just_touches_the_next_replica_does_not_buy_it, .fini = fini)
{
    struct mla_predict_config c;
    cfg_from(HOLD, &c);
    /* quiet load of 8 at 10 per replica: the q0.90 bound 11 crosses into a second replica by a
     * tenth of one: one replica, not two (the weekly_sharp case: +38 % replica-hours) */
    struct mla_predict_forecast f = band(11, 8, 8);
    struct mla_predict_result r = run(&c, &f, NOON, -1, 0);
    ASSERT_DECISION(r, 1, "forecast");
    cr_assert(strstr(r.reason, "crosses into replica 2 by less than 0.25"), "%s", r.reason);
    /* by more than the slack: bought */
    f = band(12.6, 8, 8);
    r = run(&c, &f, NOON, -1, 0);
    ASSERT_DECISION(r, 2, "forecast");
    cr_assert_null(strstr(r.reason, "not bought"), "%s", r.reason);
    /* the point forecast always buys what it needs, whatever the slack */
    f = band(10.5, 10.2, 8);
    r = run(&c, &f, NOON, -1, 0);
    ASSERT_DECISION(r, 2, "forecast");
    /* an exact multiple stays exact */
    f = band(90, 80, 80);
    r = run(&c, &f, NOON, -1, 0);
    ASSERT_DECISION(r, 9, "forecast");
    mla_predict_config_fini(&c);
}

Test(predict_band, the_floor_falls_only_when_the_whole_band_leaves_the_replica, .fini = fini)
{
    struct mla_predict_config c;
    cfg_from(HOLD, &c); /* hold 30 min: the last change is 2 hours ago, the hold is over */
    time_t long_ago = NOON - 7200;
    /* at 2, the bound 11 still needs 2: kept (it would not have risen to 2 on this bound) */
    struct mla_predict_forecast f = band(11, 8, 8);
    struct mla_predict_result r = run(&c, &f, NOON, 2, long_ago);
    ASSERT_DECISION(r, 2, "hysteresis");
    cr_assert(strstr(r.reason, "kept at 2: the q0.82 upper bound 11.0 still needs 2"), "%s",
              r.reason);
    cr_assert_not(r.changed);
    /* the bound below the boundary: down */
    f = band(9.5, 8, 8);
    r = run(&c, &f, NOON, 2, long_ago);
    ASSERT_DECISION(r, 1, "forecast");
    cr_assert(r.changed);
    mla_predict_config_fini(&c);
}

Test(predict_band, the_floor_waits_for_the_load_to_leave_before_falling, .fini = fini)
{
    struct mla_predict_config c;
    cfg_from(HOLD, &c);
    time_t long_ago = NOON - 7200;
    /* the forecast already sees the end of a peak that is still there (the load now needs 7):
     * lowering the floor to 2 now would only split one scale-down into two */
    struct mla_predict_forecast f = band(15, 12, 65);
    struct mla_predict_result r = run(&c, &f, NOON, 9, long_ago);
    ASSERT_DECISION(r, 9, "hysteresis");
    cr_assert(strstr(r.reason, "kept at 9: the load now (65.0) still needs 7, more than 2"), "%s",
              r.reason);
    /* an ebbing load that needs less than half the floor (3 of 9) no longer keeps it */
    f = band(15, 12, 25);
    r = run(&c, &f, NOON, 9, long_ago);
    ASSERT_DECISION(r, 2, "forecast");
    /* 45 needs 5 of the 9: at least half, still kept */
    f = band(15, 12, 45);
    r = run(&c, &f, NOON, 9, long_ago);
    ASSERT_DECISION(r, 9, "hysteresis");
    /* the load gone: down at once */
    f = band(15, 12, 14);
    r = run(&c, &f, NOON, 9, long_ago);
    ASSERT_DECISION(r, 2, "forecast");
    /* unknown observed load: the forecast decides */
    f = band(15, 12, NAN);
    r = run(&c, &f, NOON, 9, long_ago);
    ASSERT_DECISION(r, 2, "forecast");
    mla_predict_config_fini(&c);
}
