/* predict/step.c - one predictive-loop step for one ScaledObject, and the loop's ownership of
 * its fields under server-side apply (see predict_step.h). */
#include "mla/predict_step.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mla/buf.h"
#include "mla/kube.h"
#include "mla/log.h"
#include "mla/mem.h"
#include "mla/rfc3339.h"

#define PAUSED "autoscaling.keda.sh/paused"
#define PAUSED_REPLICAS "autoscaling.keda.sh/paused-replicas"

time_t mla_predict_parse_rfc3339(const char *s)
{
    double t;
    return mla_rfc3339_parse(s, &t) == MLA_OK ? (time_t)floor(t) : -1;
}

static const char *ann(const cJSON *annotations, const char *key)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(annotations, key));
}

/* Does the new explanation differ materially from what the object carries? */
static bool explanation_changed(const cJSON *annotations, const struct mla_predict_result *r)
{
    const char *reason = ann(annotations, MLA_PREDICT_ANN_REASON);
    const char *rule = mla_predict_rule_name(r->rule);
    size_t rl = strlen(rule);
    if (!reason || strncmp(reason, rule, rl) != 0 || reason[rl] != ':')
        return true;
    if (r->max_capped != (ann(annotations, MLA_PREDICT_ANN_MAX_REASON) != NULL))
        return true;
    const char *peak = ann(annotations, MLA_PREDICT_ANN_PEAK);
    const char *conf = ann(annotations, MLA_PREDICT_ANN_CONFIDENCE);
    const char *trend = ann(annotations, MLA_PREDICT_ANN_TREND);
    bool have = !isnan(r->peak);
    if (have != (peak != NULL))
        return true;
    if (!have)
        return false;
    if (!conf || !trend || strcmp(trend, r->trend[0] ? r->trend : "unknown") != 0)
        return true;
    double p = strtod(peak, NULL), c = strtod(conf, NULL);
    return fabs(p - r->peak) > 0.10 * fmax(fabs(p), 1.0) || fabs(c - r->confidence) > 0.05;
}

static double last_value(const double *v, size_t n)
{
    for (size_t i = n; i-- > 0;)
        if (!isnan(v[i]))
            return v[i];
    return NAN;
}

/* Queries the history and runs the forecaster (env->models: the streaming model of ns/name for
 * config_text does both). MLA_OK with *have false means "no forecast"
 * (why in whybuf); an error is a Prometheus failure. */
static enum mla_code forecast(const struct mla_predict_env *env, const char *ns,
                              const char *name, const char *config_text,
                              const struct mla_predict_config *c, const char *stored_profile,
                              time_t now, struct mla_predict_forecast *fc, bool *have,
                              char *whybuf, size_t whylen, struct mla_err *err)
{
    *have = false;
    int horizon, ahead;
    mla_predict_config_steps(c, &horizon, &ahead);
    if (env->models)
        return mla_predict_models_forecast_stored(env->models, env->prom_limit, &env->prom, ns,
                                                  name, config_text, c, stored_profile, now,
                                                  horizon, ahead, fc, have, whybuf, whylen, err);
    if (!env->forecast) {
        snprintf(whybuf, whylen, "no forecaster configured");
        return MLA_OK;
    }
    double step = c->step_seconds;
    double end = floor((double)now / step) * step; /* aligned: stable grid across cycles */
    double start = end - (double)(mla_predict_config_window_points(c) - 1) * step;
    struct mla_prom_series s;
    mla_ratelimit_wait(env->prom_limit);
    enum mla_code rc = mla_prom_query_range(&env->prom, c->query, start, end, step, &s, err);
    if (rc)
        return rc;
    size_t have_pts = 0;
    for (size_t i = 0; i < s.n; i++)
        have_pts += !isnan(s.v[i]);
    if (have_pts == 0) {
        snprintf(whybuf, whylen, "no history in the last %g h", c->lookback_hours);
        mla_prom_series_fini(&s);
        return MLA_OK;
    }
    struct mla_predict_forecast f = {.observed = NAN, .peak_upper = NAN, .peak_point = NAN};
    struct mla_err ferr;
    mla_err_clear(&ferr);
    int frc =
        env->forecast(env->forecast_ctx, s.v, s.n, step, horizon, ahead, c->quantile, c->anomaly_threshold, &f, &ferr);
    if (frc != MLA_OK) {
        snprintf(whybuf, whylen, "forecaster failed: %s", ferr.msg);
    } else {
        if (isnan(f.observed))
            f.observed = last_value(s.v, s.n);
        if (!(f.confidence >= 0))
            f.confidence = 0;
        if (f.confidence > 1)
            f.confidence = 1;
        *fc = f;
        *have = true;
    }
    mla_prom_series_fini(&s);
    return MLA_OK;
}

static const char *const step_min_path[] = {"spec", "minReplicaCount", NULL};
static const char *const step_max_path[] = {"spec", "maxReplicaCount", NULL};

/* The skeleton of an apply configuration for the ScaledObject: the loop's empty set. New. */
static cJSON *step_apply_base(const char *ns, const char *name)
{
    cJSON *a = cJSON_CreateObject();
    cJSON_AddStringToObject(a, "apiVersion", "keda.sh/v1alpha1");
    cJSON_AddStringToObject(a, "kind", "ScaledObject");
    cJSON *m = cJSON_AddObjectToObject(a, "metadata");
    cJSON_AddStringToObject(m, "name", name);
    cJSON_AddStringToObject(m, "namespace", ns);
    return a;
}

/* Everything the loop owns, as one apply configuration (server-side apply removes what an
 * applier leaves out): both counts, and the explanation of mla_predict_annotations without its
 * nulls; min-replicas-updated records the last change, so it is carried over when this step
 * changed nothing; profile (may be NULL: left out) the weekly profile's text. New. */
static cJSON *step_apply_config(const char *ns, const char *name, const cJSON *annotations,
                                const struct mla_predict_result *r, time_t now,
                                const char *profile)
{
    cJSON *a = step_apply_base(ns, name);
    cJSON *anns = cJSON_AddObjectToObject(cJSON_GetObjectItemCaseSensitive(a, "metadata"),
                                         "annotations");
    cJSON *patch = mla_predict_annotations(r, now);
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(
                              cJSON_GetObjectItemCaseSensitive(patch, "metadata"), "annotations"))
    {
        if (cJSON_IsString(p))
            cJSON_AddStringToObject(anns, p->string, p->valuestring);
    }
    cJSON_Delete(patch);
    const char *updated = ann(annotations, MLA_PREDICT_ANN_UPDATED);
    if (!cJSON_GetObjectItemCaseSensitive(anns, MLA_PREDICT_ANN_UPDATED) && updated)
        cJSON_AddStringToObject(anns, MLA_PREDICT_ANN_UPDATED, updated);
    if (profile)
        cJSON_AddStringToObject(anns, MLA_PREDICT_ANN_PROFILE, profile);
    cJSON *spec = cJSON_AddObjectToObject(a, "spec");
    cJSON_AddNumberToObject(spec, "minReplicaCount", r->min_replicas);
    cJSON_AddNumberToObject(spec, "maxReplicaCount", r->max_replicas);
    return a;
}

bool mla_predict_leave_loop(cJSON *desired, const cJSON *live)
{
    const cJSON *dann = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(desired, "metadata"), "annotations");
    if (!live || !ann(dann, MLA_PREDICT_CONFIG_ANNOTATION))
        return false;
    cJSON *spec = cJSON_GetObjectItemCaseSensitive(desired, "spec");
    bool left = false;
    if (mla_kube_field_owned(live, MLA_PREDICT_FIELD_MANAGER, step_min_path)) {
        cJSON_DeleteItemFromObjectCaseSensitive(spec, "minReplicaCount");
        left = true;
    }
    if (mla_kube_field_owned(live, MLA_PREDICT_FIELD_MANAGER, step_max_path)) {
        cJSON_DeleteItemFromObjectCaseSensitive(spec, "maxReplicaCount");
        left = true;
    }
    return left;
}

/* No decision to make: the loop's empty apply when it still owns fields (releases them and
 * removes its annotations), else nothing. */
static void step_skip(const cJSON *so, const char *ns, const char *name, const char *why,
                      cJSON **apply_out, struct mla_predict_result *res)
{
    struct mla_predict_result r = {.skipped = why};
    *apply_out = mla_kube_manager_present(so, MLA_PREDICT_FIELD_MANAGER)
                     ? step_apply_base(ns, name)
                     : NULL;
    *res = r;
}

/* The decision's side effects outside the API: /metrics (unless env->no_metrics) and a log
 * line with the fields. */
static void step_report(const struct mla_predict_env *env, const cJSON *so, const char *ns,
                        const char *name, const struct mla_predict_config *c,
                        const struct mla_predict_result *rp)
{
    struct mla_predict_result r = *rp;
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(so, "metadata");
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(so, "spec");
    if (!env->no_metrics) {
        mla_predict_metrics_update(ns, name, &r);
        const cJSON *labels = cJSON_GetObjectItemCaseSensitive(meta, "labels");
        const char *dep = ann(labels, "ml-autoscaling.io/deployment");
        if (!dep)
            dep = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(spec, "scaleTargetRef"), "name"));
        if (dep) {
            const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(spec, "scaleTargetRef"), "kind"));
            int replicas = env->replicas ? env->replicas(env->replicas_ctx, ns,
                                                         kind ? kind : "Deployment", dep) : -1;
            mla_predict_metrics_workload(ns, dep, replicas, c);
        }
    }

    struct mla_buf f;
    mla_buf_init(&f, 2048);
    enum mla_code rc = mla_buf_adds(&f, "\"namespace\":") || mla_buf_add_json_str(&f, ns) ||
         mla_buf_adds(&f, ",\"scaledobject\":") || mla_buf_add_json_str(&f, name) ||
         mla_buf_addf(&f, ",\"minReplicaCount\":%d,\"previous\":%d,\"rule\":\"%s\",\"reason\":",
                      r.min_replicas, r.previous, mla_predict_rule_name(r.rule)) ||
         mla_buf_add_json_str(&f, r.reason);
    mla_log_fields(r.changed ? MLA_LOG_INFO : MLA_LOG_DEBUG, "predict",
                   r.changed ? "minReplicaCount changed" : "minReplicaCount kept",
                   rc == MLA_OK ? mla_buf_str(&f) : NULL);
    mla_buf_fini(&f);
}

enum mla_code mla_predict_step(const struct mla_predict_env *env, const cJSON *so, time_t now,
                               cJSON **apply_out, struct mla_predict_result *res,
                               struct mla_err *err)
{
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(so, "metadata");
    const char *ns = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(meta, "namespace"));
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(meta, "name"));
    if (!cJSON_IsObject(so) || !name)
        return mla_err_set(err, MLA_EINVAL, "not a ScaledObject: metadata.name is missing");
    if (!ns)
        ns = "default";
    const cJSON *annotations = cJSON_GetObjectItemCaseSensitive(meta, "annotations");
    struct mla_predict_result r = {.skipped = NULL};

    const char *json = ann(annotations, MLA_PREDICT_CONFIG_ANNOTATION);
    const char *paused = ann(annotations, PAUSED);
    if ((paused && strcmp(paused, "true") == 0) ||
        cJSON_GetObjectItemCaseSensitive(annotations, PAUSED_REPLICAS)) {
        r.skipped = "paused (" PAUSED " or " PAUSED_REPLICAS ")";
        *apply_out = NULL;
        *res = r;
        return MLA_OK;
    }
    if (!json) {
        step_skip(so, ns, name, "no " MLA_PREDICT_CONFIG_ANNOTATION " annotation", apply_out, res);
        return MLA_OK;
    }

    struct mla_predict_config c;
    mla_predict_config_init(&c);
    enum mla_code rc = mla_predict_config_parse(json, &c, err);
    if (rc) {
        mla_predict_config_fini(&c);
        return mla_err_prefix(err, rc, "ScaledObject %s/%s", ns, name);
    }
    if (!mla_predict_config_active(&c)) {
        mla_predict_config_fini(&c);
        step_skip(so, ns, name,
                  "the predictive config asks for nothing (no forecast, hours or cost cap)",
                  apply_out, res);
        return MLA_OK;
    }

    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(so, "spec");
    const cJSON *cur = cJSON_GetObjectItemCaseSensitive(spec, "minReplicaCount");
    int current = cJSON_IsNumber(cur) ? (int)cur->valuedouble : 0; /* KEDA's default is 0 */
    time_t last = mla_predict_parse_rfc3339(ann(annotations, MLA_PREDICT_ANN_UPDATED));
    const cJSON *curmax = cJSON_GetObjectItemCaseSensitive(spec, "maxReplicaCount");
    /* the loop's weekly profile as stored: a new entry starts from it, the apply carries it */
    const char *stored_prof = ann(annotations, MLA_PREDICT_ANN_PROFILE);

    struct mla_predict_forecast fc;
    bool have = false;
    char why[400] = "";
    if (c.enabled && !isnan(c.capacity_per_replica)) {
        rc = forecast(env, ns, name, json, &c, stored_prof, now, &fc, &have, why, sizeof why,
                      err);
        if (rc) {
            mla_predict_config_fini(&c);
            return mla_err_prefix(err, rc, "ScaledObject %s/%s: load history", ns, name);
        }
    }
    struct mla_predict_input in = {.cfg = &c,
                                   .fc = have ? &fc : NULL,
                                   .no_forecast_why = why[0] ? why : NULL,
                                   .now = now,
                                   .current_min = current,
                                   .last_change = last > 0 ? last : 0,
                                   .current_max =
                                       cJSON_IsNumber(curmax) ? (int)curmax->valuedouble : -1};
    mla_predict_min_replicas(&in, &r);

    step_report(env, so, ns, name, &c, &r);
    bool owned = mla_kube_field_owned(so, MLA_PREDICT_FIELD_MANAGER, step_min_path) &&
                 mla_kube_field_owned(so, MLA_PREDICT_FIELD_MANAGER, step_max_path);
    bool counts = r.changed || r.max_changed || !owned;
    /* a stored profile missing or a day behind is refreshed like an explanation: under the
     * pass's budget, and never ahead of a count */
    bool prof_due = env->models && mla_predict_models_profile_due(env->models, ns, name, json, &c,
                                                                  stored_prof);
    r.explanation_only = !counts && (explanation_changed(annotations, &r) || prof_due);
    *apply_out = NULL;
    if (counts || r.explanation_only) {
        char prof[MLA_PREDICT_PROFILE_TEXT_SIZE];
        bool have_prof = mla_predict_models_profile_text(env->models, ns, name, json, &c,
                                                         stored_prof, prof, sizeof prof);
        *apply_out = step_apply_config(ns, name, annotations, &r, now,
                                       have_prof ? prof : NULL);
    }
    mla_predict_config_fini(&c);
    *res = r;
    return MLA_OK;
}
