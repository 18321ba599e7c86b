/* test_predict_step.c - mla_predict_step without Prometheus (business hours / cost only):
 * skipping, the loop's server-side apply configuration (everything it owns, every time), "no
 * apply when nothing changed and the loop owns its fields", the release when the config goes,
 * the worker leaving the loop's counts alone (mla_predict_leave_loop), RFC 3339 parsing,
 * metrics; with a forecast (a fetch hook instead of Prometheus), which applies change only the
 * explanation (explanation_only: the loop may put those off). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mla/buf.h"
#include "mla/fc.h"
#include "mla/log.h"
#include "mla/metrics.h"
#include "mla/predict_step.h"

#include "prom_fixture.h"

static void init(void)
{
    mla_log_set_level(MLA_LOG_OFF);
}

static void fini(void)
{
    mla_metrics_reset();
    mla_hours_cache_clear();
}

#define WED_NOON 1795608000 /* 2026-11-25T12:00:00Z */

static const char *cfg_hours =
    "{\"enabled\":false,\"query\":null,\"businessHours\":[{\"days\":\"Mon-Fri\",\"start\":"
    "\"09:00\",\"end\":\"18:00\",\"minReplicas\":3}],\"timezone\":\"UTC\","
    "\"nightMaxReplicas\":null,\"replicaHourlyCost\":2.0,\"maxHourlyCost\":10.0,"
    "\"minReplicas\":1,\"maxReplicas\":10,\"hysteresisStep\":1,\"scaleDownHoldMinutes\":30}";

static cJSON *make_so(const char *cfg, int min, const char *extra_key, const char *extra_val)
{
    cJSON *so = cJSON_CreateObject();
    cJSON *meta = cJSON_AddObjectToObject(so, "metadata");
    cJSON_AddStringToObject(meta, "name", "web-so");
    cJSON_AddStringToObject(meta, "namespace", "shop");
    cJSON *ann = cJSON_AddObjectToObject(meta, "annotations");
    if (cfg)
        cJSON_AddStringToObject(ann, MLA_PREDICT_CONFIG_ANNOTATION, cfg);
    if (extra_key)
        cJSON_AddStringToObject(ann, extra_key, extra_val);
    cJSON *spec = cJSON_AddObjectToObject(so, "spec");
    cJSON_AddNumberToObject(spec, "minReplicaCount", min);
    cJSON *ref = cJSON_AddObjectToObject(spec, "scaleTargetRef");
    cJSON_AddStringToObject(ref, "name", "web");
    return so;
}

static const struct mla_predict_env env = {.prom = {.base_url = "http://127.0.0.1:1"}};

/* What kube-apiserver records after the loop's apply: it owns both counts. */
static void owned_by_loop(cJSON *so)
{
    cJSON *mf = cJSON_AddArrayToObject(cJSON_GetObjectItem(so, "metadata"), "managedFields");
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "manager", MLA_PREDICT_FIELD_MANAGER);
    cJSON_AddStringToObject(e, "operation", "Apply");
    cJSON *f = cJSON_Parse("{\"f:metadata\":{\"f:annotations\":{\"f:ml-autoscaling.io/min-replicas-"
                           "reason\":{}}},\"f:spec\":{\"f:minReplicaCount\":{},"
                           "\"f:maxReplicaCount\":{}}}");
    cJSON_AddItemToObject(e, "fieldsV1", f);
    cJSON_AddItemToArray(mf, e);
}

/* Applies an apply configuration by hand (what server-side apply does for these fields). */
static void apply_by_hand(cJSON *so, const cJSON *cfg)
{
    cJSON *ann = cJSON_GetObjectItem(cJSON_GetObjectItem(so, "metadata"), "annotations");
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(cJSON_GetObjectItem(cfg, "metadata"), "annotations"))
    {
        cJSON_DeleteItemFromObject(ann, it->string);
        cJSON_AddStringToObject(ann, it->string, it->valuestring);
    }
    cJSON *spec = cJSON_GetObjectItem(so, "spec");
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(cfg, "spec"))
    {
        cJSON_DeleteItemFromObject(spec, it->string);
        cJSON_AddNumberToObject(spec, it->string, it->valuedouble);
    }
}

Test(predict_step, business_hours_apply_and_then_nothing, .init = init, .fini = fini)
{
    cJSON *so = make_so(cfg_hours, 1, NULL, NULL);
    cJSON *cfg = NULL;
    struct mla_predict_result r;
    struct mla_err e;
    cr_assert_eq(mla_predict_step(&env, so, WED_NOON, &cfg, &r, &e), MLA_OK, "%s", e.msg);
    cr_assert_null(r.skipped);
    cr_assert_eq(r.min_replicas, 3);
    cr_assert_not_null(cfg);
    char *s = cJSON_PrintUnformatted(cfg);
    /* an apply configuration: both counts always, no nulls (they mean nothing to apply) */
    cr_assert(strstr(s, "\"apiVersion\":\"keda.sh/v1alpha1\",\"kind\":\"ScaledObject\""), "%s", s);
    cr_assert(strstr(s, "\"name\":\"web-so\",\"namespace\":\"shop\""), "%s", s);
    cr_assert(strstr(s, "\"spec\":{\"minReplicaCount\":3,\"maxReplicaCount\":10}"), "%s", s);
    cr_assert(strstr(s, "\"ml-autoscaling.io/min-replicas-reason\":\"business_hours: "), "%s", s);
    cr_assert(strstr(s, "\"ml-autoscaling.io/min-replicas-updated\":\"2026-11-25T12:00:00Z\""),
              "%s", s);
    cr_assert_null(strstr(s, "null"), "%s", s);
    free(s);

    apply_by_hand(so, cfg);
    cJSON_Delete(cfg);
    /* the loop does not own its fields yet (the first apply was not recorded): it applies again,
     * carrying min-replicas-updated (the last change) although nothing changed */
    cr_assert_eq(mla_predict_step(&env, so, WED_NOON + 60, &cfg, &r, &e), MLA_OK, "%s", e.msg);
    cr_assert_not_null(cfg);
    cr_assert_not(r.changed);
    s = cJSON_PrintUnformatted(cfg);
    cr_assert(strstr(s, "\"ml-autoscaling.io/min-replicas-updated\":\"2026-11-25T12:00:00Z\""),
              "%s", s);
    free(s);
    cJSON_Delete(cfg);
    owned_by_loop(so);
    cfg = (cJSON *)0x1;
    cr_assert_eq(mla_predict_step(&env, so, WED_NOON + 60, &cfg, &r, &e), MLA_OK, "%s", e.msg);
    cr_assert_null(cfg);

    /* 18:00: the window closes; the last change was at 12:00 so the hold has passed */
    cr_assert_eq(mla_predict_step(&env, so, WED_NOON + 6 * 3600, &cfg, &r, &e), MLA_OK);
    cr_assert_not_null(cfg);
    cr_assert_eq(r.min_replicas, 1);
    cr_assert_str_eq(mla_predict_rule_name(r.rule), "fallback");
    cJSON_Delete(cfg);
    cJSON_Delete(so);
}

Test(predict_step, releases_its_fields_once_the_config_is_gone, .init = init, .fini = fini)
{
    struct mla_predict_result r;
    cJSON *cfg = (cJSON *)0x1;
    cJSON *so = make_so(NULL, 8, MLA_PREDICT_ANN_REASON, "forecast: peak 400");
    owned_by_loop(so);
    cr_assert_eq(mla_predict_step(&env, so, WED_NOON, &cfg, &r, NULL), MLA_OK);
    cr_assert(r.skipped && strstr(r.skipped, "no ml-autoscaling.io/predictive-config"));
    /* the empty set: server-side apply removes what only the loop owned */
    char *s = cJSON_PrintUnformatted(cfg);
    cr_assert_str_eq(s, "{\"apiVersion\":\"keda.sh/v1alpha1\",\"kind\":\"ScaledObject\","
                        "\"metadata\":{\"name\":\"web-so\",\"namespace\":\"shop\"}}");
    free(s);
    cJSON_Delete(cfg);
    cJSON_Delete(so);
    /* a config asking for nothing releases too; paused objects are left alone */
    so = make_so("{\"enabled\":false,\"minReplicas\":1,\"maxReplicas\":3}", 1, NULL, NULL);
    owned_by_loop(so);
    cr_assert_eq(mla_predict_step(&env, so, WED_NOON, &cfg, &r, NULL), MLA_OK);
    cr_assert_not_null(cfg);
    cr_assert_null(cJSON_GetObjectItem(cfg, "spec"));
    cJSON_Delete(cfg);
    cJSON_Delete(so);
    so = make_so(NULL, 8, "autoscaling.keda.sh/paused", "true");
    owned_by_loop(so);
    cr_assert_eq(mla_predict_step(&env, so, WED_NOON, &cfg, &r, NULL), MLA_OK);
    cr_assert_null(cfg);
    cJSON_Delete(so);
}

Test(predict_step, worker_leaves_the_loops_counts_alone, .init = init, .fini = fini)
{
    cJSON *live = make_so(cfg_hours, 8, NULL, NULL);
    cJSON *want = make_so(cfg_hours, 1, NULL, NULL);
    cJSON_AddNumberToObject(cJSON_GetObjectItem(want, "spec"), "maxReplicaCount", 10);
    /* the loop owns nothing yet: the worker applies the policy's counts */
    cr_assert_not(mla_predict_leave_loop(want, live));
    cr_assert_not_null(cJSON_GetObjectItem(cJSON_GetObjectItem(want, "spec"), "minReplicaCount"));
    cr_assert_not(mla_predict_leave_loop(want, NULL));
    owned_by_loop(live);
    cr_assert(mla_predict_leave_loop(want, live));
    cr_assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(want, "spec"), "minReplicaCount"));
    cr_assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(want, "spec"), "maxReplicaCount"));
    /* nothing of the loop's is copied in */
    cr_assert_null(cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(want, "metadata"), "annotations"),
        MLA_PREDICT_ANN_REASON));
    cJSON_Delete(want);
    /* the opt-in no longer asks for the loop: the policy's counts are applied (and taken over) */
    want = make_so(NULL, 1, NULL, NULL);
    cr_assert_not(mla_predict_leave_loop(want, live));
    cr_assert_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(want, "spec"), "minReplicaCount")
                     ->valueint, 1);
    cJSON_Delete(want);
    cJSON_Delete(live);
}

Test(predict_step, skips_paused_unconfigured_and_idle_objects, .init = init, .fini = fini)
{
    struct mla_predict_result r;
    cJSON *patch = (cJSON *)0x1;
    cJSON *so = make_so(cfg_hours, 1, "autoscaling.keda.sh/paused", "true");
    cr_assert_eq(mla_predict_step(&env, so, WED_NOON, &patch, &r, NULL), MLA_OK);
    cr_assert_null(patch);
    cr_assert(r.skipped && strstr(r.skipped, "paused"));
    cJSON_Delete(so);

    so = make_so(cfg_hours, 1, "autoscaling.keda.sh/paused", "false"); /* not paused */
    cr_assert_eq(mla_predict_step(&env, so, WED_NOON, &patch, &r, NULL), MLA_OK);
    cr_assert_null(r.skipped);
    cJSON_Delete(patch);
    cJSON_Delete(so);

    so = make_so(cfg_hours, 1, "autoscaling.keda.sh/paused-replicas", "2");
    cr_assert_eq(mla_predict_step(&env, so, WED_NOON, &patch, &r, NULL), MLA_OK);
    cr_assert(r.skipped && strstr(r.skipped, "paused"));
    cJSON_Delete(so);

    so = make_so(NULL, 1, NULL, NULL);
    cr_assert_eq(mla_predict_step(&env, so, WED_NOON, &patch, &r, NULL), MLA_OK);
    cr_assert(r.skipped && strstr(r.skipped, "no ml-autoscaling.io/predictive-config"));
    cJSON_Delete(so);

    so = make_so("{\"enabled\":false,\"minReplicas\":1,\"maxReplicas\":3}", 1, NULL, NULL);
    cr_assert_eq(mla_predict_step(&env, so, WED_NOON, &patch, &r, NULL), MLA_OK);
    cr_assert(r.skipped && strstr(r.skipped, "asks for nothing"));
    cr_assert_null(patch);
    cJSON_Delete(so);
}

Test(predict_step, bad_config_names_the_object, .init = init, .fini = fini)
{
    cJSON *so = make_so("{\"minReplicas\":-1}", 1, NULL, NULL);
    cJSON *patch = (cJSON *)0x1;
    struct mla_predict_result r = {.min_replicas = 99};
    struct mla_err e;
    cr_assert_eq(mla_predict_step(&env, so, WED_NOON, &patch, &r, &e), MLA_EINVAL);
    cr_assert(strstr(e.msg, "ScaledObject shop/web-so: predictive-config: \"minReplicas\" is -1"),
              "%s", e.msg);
    cr_assert_eq(patch, (cJSON *)0x1);
    cr_assert_eq(r.min_replicas, 99);
    cJSON_Delete(so);
}

Test(predict_step, hold_reads_the_updated_annotation_and_sets_metrics, .init = init, .fini = fini)
{
    /* at 18:05 the window has closed; the last change was 10 minutes ago: held at 3 */
    cJSON *so = make_so(cfg_hours, 3, MLA_PREDICT_ANN_UPDATED, "2026-11-25T17:55:00Z");
    cJSON *patch = NULL;
    struct mla_predict_result r;
    struct mla_predict_env menv = env;
    menv.no_metrics = false;
    cr_assert_eq(mla_predict_step(&menv, so, WED_NOON + 6 * 3600 + 300, &patch, &r, NULL), MLA_OK);
    cr_assert_eq(r.min_replicas, 3);
    cr_assert_str_eq(mla_predict_rule_name(r.rule), "hysteresis");
    cr_assert_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(patch, "spec"), "minReplicaCount")
                     ->valueint, 3);
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(
                         cJSON_GetObjectItem(cJSON_GetObjectItem(patch, "metadata"), "annotations"),
                         MLA_PREDICT_ANN_UPDATED)),
                     "2026-11-25T17:55:00Z");
    cJSON_Delete(patch);
    struct mla_buf b;
    mla_buf_init(&b, 0);
    cr_assert_eq(mla_metrics_render(&b), MLA_OK);
    cr_assert(
        strstr(mla_buf_str(&b), "mla_min_replicas{namespace=\"shop\",scaledobject=\"web-so\"} 3"),
        "%s", mla_buf_str(&b));
    cr_assert(strstr(mla_buf_str(&b),
                     "mla_workload_hourly_cost_cap{namespace=\"shop\",deployment=\"web\"} 10"),
              "%s", mla_buf_str(&b));
    mla_buf_fini(&b);
    cJSON_Delete(so);
}

/* A loop's window table (4 windows) whose history is fx_sine_fetch's. New. */
static struct mla_predict_models *sine_models(void)
{
    struct mla_predict_models *m = NULL;
    cr_assert_eq(mla_predict_models_create(4, 600, &m, NULL), MLA_OK);
    mla_predict_models_set_fetch(m, fx_sine_fetch, NULL);
    return m;
}

/* One forecast step on so: the apply (NULL: none) in *applied, the result returned. */
static struct mla_predict_result fc_step(struct mla_predict_models *m, const cJSON *so,
                                         cJSON **applied)
{
    struct mla_predict_env fenv = {.prom = {.base_url = "http://127.0.0.1:1"}, .models = m,
                                   .no_metrics = true};
    struct mla_predict_result r;
    struct mla_err e = {0};
    cr_assert_eq(mla_predict_step(&fenv, so, WED_NOON + 10, applied, &r, &e), MLA_OK, "%s", e.msg);
    return r;
}

static void set_ann(cJSON *so, const char *key, const char *val)
{
    cJSON *ann = cJSON_GetObjectItem(cJSON_GetObjectItem(so, "metadata"), "annotations");
    cJSON_DeleteItemFromObject(ann, key);
    cJSON_AddStringToObject(ann, key, val);
}

Test(predict_step, only_applies_that_keep_both_counts_are_explanation_only, .init = init, .fini = fini)
{
    static const char *cfg = "{\"enabled\":true,\"query\":\"sum(rate(x[5m]))\",\"lookbackHours\":48,"
                             "\"stepSeconds\":300,\"capacityPerReplica\":10,\"minReplicas\":1,"
                             "\"maxReplicas\":50,\"confidenceThreshold\":0,\"scaleDownHoldMinutes\":0}";
    struct mla_predict_models *m = sine_models();
    cJSON *so = make_so(cfg, 1, NULL, NULL);
    cJSON *apply = NULL;
    struct mla_predict_result r = fc_step(m, so, &apply);
    cr_assert_not_null(apply);
    cr_assert(r.changed && !r.explanation_only, "the first decision is no mere refresh");
    int want = r.min_replicas;
    cr_assert_gt(want, 1);
    apply_by_hand(so, apply);
    cJSON_Delete(apply);
    owned_by_loop(so);
    r = fc_step(m, so, &apply);
    cr_assert_null(apply, "applied and owned: nothing to write");
    cr_assert_not(r.explanation_only);

    /* the stored figures went stale (the series moved), counts and rule as decided */
    cJSON *kept = cJSON_Duplicate(so, 1);
    set_ann(so, MLA_PREDICT_ANN_CONFIDENCE, r.confidence > 0.5 ? "0.00" : "1.00");
    r = fc_step(m, so, &apply);
    cr_assert_not_null(apply);
    cr_assert(r.explanation_only && !r.changed, "a stale confidence is an explanation-only apply");
    cJSON_Delete(apply);
    set_ann(so, MLA_PREDICT_ANN_TREND, "falling-fast");
    r = fc_step(m, so, &apply);
    cr_assert(apply && r.explanation_only, "a stale trend is an explanation-only apply");
    cJSON_Delete(apply);
    char peak[32];
    snprintf(peak, sizeof peak, "%.2f", r.peak * 3);
    cJSON_Delete(so);
    so = cJSON_Duplicate(kept, 1);
    set_ann(so, MLA_PREDICT_ANN_PEAK, peak);
    r = fc_step(m, so, &apply);
    cr_assert(apply && r.explanation_only, "a stale peak is an explanation-only apply");
    cJSON_Delete(apply);

    /* another rule named with the same counts (a hysteresis hold starting everywhere at once)
     * is explanation-only too; a count to change, or counts not owned, never are */
    cJSON_Delete(so);
    so = cJSON_Duplicate(kept, 1);
    set_ann(so, MLA_PREDICT_ANN_REASON, "business_hours: 09:00-18:00");
    r = fc_step(m, so, &apply);
    cr_assert(apply && r.explanation_only && !r.changed,
              "another rule with the same counts is an explanation-only apply");
    cJSON_Delete(apply);
    cJSON_Delete(so);
    so = cJSON_Duplicate(kept, 1);
    set_ann(so, MLA_PREDICT_ANN_CONFIDENCE, r.confidence > 0.5 ? "0.00" : "1.00");
    cJSON_DeleteItemFromObject(cJSON_GetObjectItem(so, "spec"), "minReplicaCount");
    cJSON_AddNumberToObject(cJSON_GetObjectItem(so, "spec"), "minReplicaCount", want - 1);
    r = fc_step(m, so, &apply);
    cr_assert(apply && r.changed && !r.explanation_only, "a count to change is never explanation-only");
    cJSON_Delete(apply);
    cJSON_Delete(so);
    so = cJSON_Duplicate(kept, 1);
    cJSON_DeleteItemFromObject(cJSON_GetObjectItem(so, "metadata"), "managedFields");
    set_ann(so, MLA_PREDICT_ANN_CONFIDENCE, r.confidence > 0.5 ? "0.00" : "1.00");
    r = fc_step(m, so, &apply);
    cr_assert(apply && !r.explanation_only, "taking ownership of the counts is never explanation-only");
    cJSON_Delete(apply);
    cJSON_Delete(so);
    cJSON_Delete(kept);
    mla_predict_models_destroy(m);
}

Test(predict_step, rfc3339)
{
    cr_assert_eq(mla_predict_parse_rfc3339("2026-11-25T12:00:00Z"), WED_NOON);
    cr_assert_eq(mla_predict_parse_rfc3339("2026-11-25T12:00:00.123Z"), WED_NOON);
    cr_assert_eq(mla_predict_parse_rfc3339("2026-11-25T13:30:00+01:30"), WED_NOON);
    cr_assert_eq(mla_predict_parse_rfc3339("2026-11-25T07:00:00-05:00"), WED_NOON);
    cr_assert_eq(mla_predict_parse_rfc3339("2026-11-25 12:00"), -1);
    cr_assert_eq(mla_predict_parse_rfc3339("2026-11-25T12:00:00"), -1);
    cr_assert_eq(mla_predict_parse_rfc3339(NULL), -1);
}

/* Issue 17, ninth round: the weekly profile stored on the ScaledObject seeds a new entry (the
 * reason says so), every apply carries the loop's profile (server-side apply would remove the
 * annotation from an apply of its owner that left it out), and a missing or unreadable one is
 * rewritten as an explanation-only apply (under --loop-explanation-writes). */
Test(predict_step, the_stored_weekly_profile_is_read_carried_and_repaired, .init = init,
     .fini = fini)
{
    static const char *cfg = "{\"enabled\":true,\"query\":\"sum(rate(x[5m]))\",\"lookbackHours\":48,"
                             "\"stepSeconds\":300,\"capacityPerReplica\":10,\"minReplicas\":1,"
                             "\"maxReplicas\":50,\"confidenceThreshold\":0}";
    struct mla_fc_profile p;
    mla_fc_profile_init(&p);
    for (int h = 0; h < MLA_FC_PROFILE_HOURS; h++) {
        p.v[h] = (float)log1p(100 + 60 * sin(h * 2 * M_PI / 24));
        p.n[h] = 20;
    }
    char stored[MLA_PREDICT_PROFILE_TEXT_SIZE];
    double window_start = WED_NOON - 48 * 3600.0;
    struct mla_predict_config c;
    mla_predict_config_init(&c);
    cr_assert_eq(mla_predict_config_parse(cfg, &c, NULL), MLA_OK);
    cr_assert_eq(mla_fc_profile_encode(&p, window_start - 300, mla_predict_profile_key(&c),
                                       stored, sizeof stored, NULL), MLA_OK);
    mla_predict_config_fini(&c);
    struct mla_predict_models *m = sine_models();
    cJSON *so = make_so(cfg, 1, MLA_PREDICT_ANN_PROFILE, stored);
    cJSON *apply = NULL;
    struct mla_predict_result r = fc_step(m, so, &apply);
    cr_assert(strstr(r.reason, "seasons seeded from the weekly profile"), "%s", r.reason);
    const char *carried = cJSON_GetStringValue(cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(apply, "metadata"), "annotations"),
        MLA_PREDICT_ANN_PROFILE));
    cr_assert_str_eq(carried ? carried : "(none)", stored, "the apply carries the profile");
    apply_by_hand(so, apply);
    cJSON_Delete(apply);
    owned_by_loop(so);
    fc_step(m, so, &apply);
    cr_assert_null(apply, "stored and fresh: nothing to write");
    cJSON *kept = cJSON_Duplicate(so, 1);
    /* a tenant's edit, or none: rewritten, as an explanation */
    const char *bad[] = {"v1 x", "", "v2 1 0123456789abcdef AAAA", NULL};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cJSON_Delete(so);
        so = cJSON_Duplicate(kept, 1);
        if (bad[i])
            set_ann(so, MLA_PREDICT_ANN_PROFILE, bad[i]);
        else
            cJSON_DeleteItemFromObject(
                cJSON_GetObjectItem(cJSON_GetObjectItem(so, "metadata"), "annotations"),
                MLA_PREDICT_ANN_PROFILE);
        r = fc_step(m, so, &apply);
        cr_assert(apply && r.explanation_only, "%s: not repaired as an explanation",
                  bad[i] ? bad[i] : "missing");
        carried = cJSON_GetStringValue(cJSON_GetObjectItem(
            cJSON_GetObjectItem(cJSON_GetObjectItem(apply, "metadata"), "annotations"),
            MLA_PREDICT_ANN_PROFILE));
        cr_assert_str_eq(carried ? carried : "(none)", stored);
        cJSON_Delete(apply);
    }
    cJSON_Delete(so);
    cJSON_Delete(kept);
    mla_predict_models_destroy(m);
    /* a loop that has no ready profile does not carry a text it cannot read */
    m = sine_models();
    so = make_so(cfg, 1, MLA_PREDICT_ANN_PROFILE, "v1 x");
    r = fc_step(m, so, &apply);
    cr_assert_not(strstr(r.reason, "seeded"), "%s", r.reason);
    cr_assert_not_null(apply);
    cr_assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(apply, "metadata"),
                                                           "annotations"),
                                       MLA_PREDICT_ANN_PROFILE));
    cJSON_Delete(apply);
    cJSON_Delete(so);
    mla_predict_models_destroy(m);
}
