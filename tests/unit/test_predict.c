/* test_predict.c - predictive-config parsing and the decision pipeline: each rule, precedence,
 * hysteresis (step and hold), the cost cap, night caps, bounds, fallback, annotations, metrics. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

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
    struct tm tm = {.tm_year = 126, .tm_mon = 10, .tm_mday = d, .tm_hour = h, .tm_min = mi};
    return timegm(&tm);
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

Test(predict, forecast_peak_over_capacity_rounds_up, .fini = fini)
{
    struct mla_predict_config c;
    cfg_from(base_json, &c);
    struct mla_predict_forecast f = fcst(432.0, 0.9);
    struct mla_predict_result r = run(&c, &f, NOON, 3, 0);
    ASSERT_DECISION(r, 9, "forecast");
    cr_assert(r.changed);
    cr_assert_eq(r.forecast_replicas, 9);
    cr_assert(strstr(r.reason, "forecast peak 432.0"), "%s", r.reason);
    f = fcst(450.0, 0.9); /* exactly 9 replicas' worth: not 10 */
    r = run(&c, &f, NOON, 3, 0);
    ASSERT_DECISION(r, 9, "forecast");
    mla_predict_config_fini(&c);
}

Test(predict, business_hours_floor_beats_a_low_forecast, .fini = fini)
{
    struct mla_predict_config c;
    cfg_from(base_json, &c);
    struct mla_predict_forecast f = fcst(40.0, 0.9); /* 1 replica */
    struct mla_predict_result r = run(&c, &f, NOON, 1, 0);
    ASSERT_DECISION(r, 3, "business_hours");
    cr_assert(strstr(r.reason, "raised to 3 inside business hours (Mon-Fri 09:00-18:00)"), "%s",
              r.reason);
    r = run(&c, &f, NIGHT, 1, 0); /* outside: the forecast stands */
    ASSERT_DECISION(r, 1, "forecast");
    cr_assert_not(r.changed);
    mla_predict_config_fini(&c);
}

Test(predict, night_cap_outside_windows, .fini = fini)
{
    struct mla_predict_config c;
    cfg_from("{\"enabled\":true,\"query\":\"q\",\"capacityPerReplica\":10,\"businessHours\":"
             "[{\"days\":\"Mon-Fri\",\"start\":\"09:00\",\"end\":\"18:00\",\"minReplicas\":3}],"
             "\"nightMaxReplicas\":2,\"minReplicas\":1,\"maxReplicas\":20}",
             &c);
    struct mla_predict_forecast f = fcst(80.0, 0.9); /* 8 */
    struct mla_predict_result r = run(&c, &f, NIGHT, 2, 0);
    ASSERT_DECISION(r, 2, "business_hours");
    cr_assert(strstr(r.reason, "nightMaxReplicas"), "%s", r.reason);
    r = run(&c, &f, NOON, 2, 0); /* inside: no cap */
    ASSERT_DECISION(r, 8, "forecast");
    /* Saturday noon is outside the Mon-Fri window: capped */
    r = run(&c, &f, utc(28, 12, 0), 2, 0);
    ASSERT_DECISION(r, 2, "business_hours");
    mla_predict_config_fini(&c);
}

Test(predict, cost_cap_limits_replicas, .fini = fini)
{
    struct mla_predict_config c;
    cfg_from(base_json, &c);                           /* 40/h at 2.5/h per replica: at most 16 */
    struct mla_predict_forecast f = fcst(1000.0, 0.9); /* 20 */
    struct mla_predict_result r = run(&c, &f, NOON, 3, 0);
    ASSERT_DECISION(r, 16, "cost_cap");
    cr_assert(strstr(r.reason, "cost cap"), "%s", r.reason);
    /* the cap also bounds a business-hours floor */
    mla_predict_config_fini(&c);
    cfg_from("{\"businessHours\":[{\"days\":\"daily\",\"start\":\"00:00\",\"end\":\"24:00\","
             "\"minReplicas\":10}],\"replicaHourlyCost\":3,\"maxHourlyCost\":20,"
             "\"minReplicas\":0,\"maxReplicas\":50}",
             &c);
    r = run(&c, NULL, NOON, 0, 0);
    ASSERT_DECISION(r, 6, "cost_cap");
    mla_predict_config_fini(&c);
}

Test(predict, bounds_win_over_everything_before, .fini = fini)
{
    struct mla_predict_config c;
    cfg_from("{\"enabled\":true,\"query\":\"q\",\"capacityPerReplica\":10,"
             "\"replicaHourlyCost\":10,\"maxHourlyCost\":30,\"minReplicas\":5,\"maxReplicas\":8}",
             &c);
    struct mla_predict_forecast f = fcst(100.0, 0.9); /* 10 -> cost cap 3 -> bounds 5 */
    struct mla_predict_result r = run(&c, &f, NOON, 5, 0);
    ASSERT_DECISION(r, 5, "bounds");
    mla_predict_config_fini(&c);
    cfg_from("{\"enabled\":true,\"query\":\"q\",\"capacityPerReplica\":10,\"minReplicas\":2,"
             "\"maxReplicas\":8}",
             &c);
    f = fcst(500.0, 0.9);
    r = run(&c, &f, NOON, 2, 0);
    ASSERT_DECISION(r, 8, "bounds");
    f = fcst(0.0, 0.9);
    r = run(&c, &f, NOON, 8, 0);
    ASSERT_DECISION(r, 2, "bounds");
    mla_predict_config_fini(&c);
}

Test(predict, hysteresis_step_ignores_small_changes, .fini = fini)
{
    struct mla_predict_config c;
    cfg_from("{\"enabled\":true,\"query\":\"q\",\"capacityPerReplica\":10,\"minReplicas\":1,"
             "\"maxReplicas\":50,\"hysteresisStep\":2,\"scaleDownHoldMinutes\":0}",
             &c);
    struct mla_predict_forecast f = fcst(60.0, 0.9); /* 6 */
    struct mla_predict_result r = run(&c, &f, NOON, 5, 0);
    ASSERT_DECISION(r, 5, "hysteresis");
    cr_assert_not(r.changed);
    f = fcst(70.0, 0.9); /* 7: a change of 2 passes */
    r = run(&c, &f, NOON, 5, 0);
    ASSERT_DECISION(r, 7, "forecast");
    f = fcst(40.0, 0.9); /* 4: down by 1 is held too */
    r = run(&c, &f, NOON, 5, 0);
    ASSERT_DECISION(r, 5, "hysteresis");
    r = run(&c, &f, NOON, -1, 0); /* unknown current: no hysteresis */
    ASSERT_DECISION(r, 4, "forecast");
    mla_predict_config_fini(&c);
}

Test(predict, hysteresis_step_does_not_hold_a_closed_window_floor, .fini = fini)
{
    struct mla_predict_config c;
    cfg_from("{\"businessHours\":[{\"days\":\"daily\",\"start\":\"09:00\",\"end\":\"18:00\","
             "\"minReplicas\":3}],\"minReplicas\":1,\"maxReplicas\":10,\"hysteresisStep\":3,"
             "\"scaleDownHoldMinutes\":30}",
             &c);
    /* the window closed at 18:00; 3 -> 1 is smaller than the step but deliberate */
    struct mla_predict_result r = run(&c, NULL, NIGHT, 3, NOON);
    ASSERT_DECISION(r, 1, "fallback");
    /* ... but still subject to the hold right after a change */
    r = run(&c, NULL, NIGHT, 3, NIGHT - 60);
    ASSERT_DECISION(r, 3, "hysteresis");
    mla_predict_config_fini(&c);
}

Test(predict, scale_down_hold_after_a_change, .fini = fini)
{
    struct mla_predict_config c;
    cfg_from("{\"enabled\":true,\"query\":\"q\",\"capacityPerReplica\":10,\"minReplicas\":1,"
             "\"maxReplicas\":50,\"hysteresisStep\":1,\"scaleDownHoldMinutes\":30}",
             &c);
    struct mla_predict_forecast f = fcst(40.0, 0.9); /* 4 */
    struct mla_predict_result r = run(&c, &f, NOON, 8, NOON - 10 * 60);
    ASSERT_DECISION(r, 8, "hysteresis");
    cr_assert(strstr(r.reason, "within 30 min"), "%s", r.reason);
    r = run(&c, &f, NOON, 8, NOON - 31 * 60);
    ASSERT_DECISION(r, 4, "forecast");
    r = run(&c, &f, NOON, 8, 0); /* never changed by us: no hold */
    ASSERT_DECISION(r, 4, "forecast");
    f = fcst(120.0, 0.9); /* scaling up is never held */
    r = run(&c, &f, NOON, 8, NOON - 60);
    ASSERT_DECISION(r, 12, "forecast");
    mla_predict_config_fini(&c);
}

Test(predict, hysteresis_never_keeps_a_value_breaking_hard_limits, .fini = fini)
{
    struct mla_predict_config c;
    cfg_from("{\"enabled\":true,\"query\":\"q\",\"capacityPerReplica\":10,"
             "\"businessHours\":[{\"days\":\"daily\",\"start\":\"09:00\",\"end\":\"18:00\","
             "\"minReplicas\":3}],\"replicaHourlyCost\":1,\"maxHourlyCost\":16,"
             "\"minReplicas\":1,\"maxReplicas\":50,\"hysteresisStep\":5,"
             "\"scaleDownHoldMinutes\":60}",
             &c);
    struct mla_predict_forecast f = fcst(10.0, 0.9);       /* 1 -> floor 3 */
    struct mla_predict_result r = run(&c, &f, NOON, 2, 0); /* 2 is below the open window's floor */
    ASSERT_DECISION(r, 3, "business_hours");
    f = fcst(500.0, 0.9); /* 50 -> cost cap 16; current 18 is above the cap, held or not */
    r = run(&c, &f, NOON, 18, NOON - 60);
    ASSERT_DECISION(r, 16, "cost_cap");
    mla_predict_config_fini(&c);
}

Test(predict, low_confidence_falls_back_to_business_hours, .fini = fini)
{
    struct mla_predict_config c;
    cfg_from(base_json, &c);
    struct mla_predict_forecast f = fcst(900.0, 0.4);
    struct mla_predict_result r = run(&c, &f, NOON, 1, 0);
    ASSERT_DECISION(r, 3, "business_hours");
    cr_assert(strstr(r.reason, "below the threshold 0.60"), "%s", r.reason);
    cr_assert_not(r.forecast_used);
    r = run(&c, &f, NIGHT, 3, 0);
    ASSERT_DECISION(r, 1, "fallback");
    r = run(&c, NULL, NIGHT, 3, 0); /* no history at all */
    ASSERT_DECISION(r, 1, "fallback");
    cr_assert(strstr(r.reason, "no forecast"), "%s", r.reason);
    mla_predict_config_fini(&c);
}

Test(predict, disabled_or_no_capacity_means_business_hours_only, .fini = fini)
{
    struct mla_predict_config c;
    cfg_from("{\"enabled\":false,\"capacityPerReplica\":10,\"businessHours\":[{\"days\":"
             "\"Mon-Fri\",\"start\":\"09:00\",\"end\":\"18:00\",\"minReplicas\":4}],"
             "\"minReplicas\":1,\"maxReplicas\":10}",
             &c);
    struct mla_predict_forecast f = fcst(90.0, 1.0);
    ASSERT_DECISION(run(&c, &f, NOON, 1, 0), 4, "business_hours");
    ASSERT_DECISION(run(&c, &f, NIGHT, 4, 0), 1, "fallback");
    mla_predict_config_fini(&c);
    cfg_from("{\"enabled\":true,\"query\":\"q\",\"capacityPerReplica\":null,\"minReplicas\":2,"
             "\"maxReplicas\":10}",
             &c);
    struct mla_predict_result r = run(&c, &f, NOON, 5, 0);
    ASSERT_DECISION(r, 2, "fallback");
    cr_assert(strstr(r.reason, "capacityPerReplica is not set"), "%s", r.reason);
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
