/* predict/decision.c - the predictive decision (see predict.h for the pipeline), the predictive-config
 * annotation parser, the explanation merge patch, and the per-ScaledObject metrics. */
#include "mla/predict.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mla/buf.h"
#include "mla/mem.h"
#include "mla/metrics.h"

#define CFG "predictive-config"

static const char *const rule_names[MLA_PREDICT_RULE_COUNT] = {
    "forecast", "business_hours", "cost_cap", "bounds", "hysteresis", "fallback"};

const char *mla_predict_rule_name(enum mla_predict_rule rule)
{
    return (unsigned)rule < MLA_PREDICT_RULE_COUNT ? rule_names[rule] : "unknown";
}

void mla_predict_config_init(struct mla_predict_config *cfg)
{
    *cfg = (struct mla_predict_config){
        .enabled = false,
        .lookback_hours = 336,
        .step_seconds = 300,
        .horizon_minutes = 30,
        .scale_ahead_minutes = 15,
        .confidence_threshold = 0.6,
        .quantile = 0.82,
        .anomaly_threshold = 3.5,
        .capacity_per_replica = NAN,
        .night_max_replicas = -1,
        .replica_hourly_cost = NAN,
        .max_hourly_cost = NAN,
        .min_replicas = 0,
        .max_replicas = 1000,
        .hysteresis_step = 1,
        .scale_down_hold_minutes = 15,
    };
}

void mla_predict_config_fini(struct mla_predict_config *cfg)
{
    free(cfg->query);
    free(cfg->timezone);
    mla_hours_destroy(cfg->hours);
    cfg->query = cfg->timezone = NULL;
    cfg->hours = NULL;
}

bool mla_predict_config_active(const struct mla_predict_config *cfg)
{
    return cfg->enabled || (cfg->hours && cfg->hours->n > 0) || cfg->night_max_replicas >= 0 ||
           (!isnan(cfg->replica_hourly_cost) && !isnan(cfg->max_hourly_cost));
}

void mla_predict_config_steps(const struct mla_predict_config *cfg, int *horizon, int *ahead)
{
    int h = (int)ceil(cfg->horizon_minutes * 60.0 / cfg->step_seconds);
    int a = (int)floor(cfg->scale_ahead_minutes * 60.0 / cfg->step_seconds);
    if (a < 1)
        a = 1;
    *horizon = h < a ? a : h;
    *ahead = a;
}

size_t mla_predict_config_window_points(const struct mla_predict_config *cfg)
{
    return (size_t)floor(cfg->lookback_hours * 3600 / cfg->step_seconds) + 1;
}

/* ---- parsing ---- */

enum num_kind { NUM_REAL, NUM_INT };

/* Reads key as a number in [lo, hi] (lo_open / hi_open exclude the ends). Absent or null keeps
 * *out (the default / unset value). */
static enum mla_code get_num(const cJSON *o, const char *key, enum num_kind kind, double lo,
                             bool lo_open, double hi, bool hi_open, double *out,
                             struct mla_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v))
        return MLA_OK;
    if (!cJSON_IsNumber(v))
        return mla_err_set(err, MLA_EINVAL, CFG ": \"%s\" must be a number%s or null", key,
                           kind == NUM_INT ? " (integer)" : "");
    double x = v->valuedouble;
    if (!isfinite(x))
        return mla_err_set(err, MLA_EINVAL, CFG ": \"%s\" must be finite", key);
    if (kind == NUM_INT && x != floor(x))
        return mla_err_set(err, MLA_EINVAL, CFG ": \"%s\" must be an integer, got %g", key, x);
    if (x < lo || (lo_open && x == lo) || x > hi || (hi_open && x == hi))
        return mla_err_set(err, MLA_EINVAL, CFG ": \"%s\" is %g, allowed %s%g..%g%s", key, x,
                           lo_open ? "(" : "[", lo, hi, hi_open ? ")" : "]");
    *out = x;
    return MLA_OK;
}

static enum mla_code get_int(const cJSON *o, const char *key, int lo, int hi, int *out,
                             struct mla_err *err)
{
    double d = *out;
    enum mla_code rc = get_num(o, key, NUM_INT, lo, false, hi, false, &d, err);
    if (rc == MLA_OK)
        *out = (int)d;
    return rc;
}

static enum mla_code get_str(const cJSON *o, const char *key, char **out, struct mla_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v))
        return MLA_OK;
    if (!cJSON_IsString(v))
        return mla_err_set(err, MLA_EINVAL, CFG ": \"%s\" must be a string or null", key);
    free(*out);
    *out = mla_xstrdup(v->valuestring);
    return MLA_OK;
}

static enum mla_code parse_hours(const cJSON *arr, const char *tz, struct mla_hours **out,
                                 struct mla_err *err)
{
    if (!arr || cJSON_IsNull(arr)) {
        const struct mla_tz *z; /* still check the zone: a typo should not wait for windows */
        enum mla_code rc = tz ? mla_hours_tz_load(tz, &z, err) : MLA_OK;
        if (rc)
            return mla_err_prefix(err, rc, CFG ": \"timezone\"");
        return MLA_OK;
    }
    if (!cJSON_IsArray(arr))
        return mla_err_set(err, MLA_EINVAL,
                           CFG ": \"businessHours\" must be an array of {\"days\",\"start\","
                               "\"end\",\"minReplicas\"} or null");
    struct mla_hours *h;
    enum mla_code rc = mla_hours_create(tz, &h, err);
    if (rc)
        return mla_err_prefix(err, rc, CFG ": \"timezone\"");
    int i = 0;
    const cJSON *w;
    cJSON_ArrayForEach(w, arr)
    {
        const cJSON *days = cJSON_GetObjectItemCaseSensitive(w, "days");
        const cJSON *start = cJSON_GetObjectItemCaseSensitive(w, "start");
        const cJSON *end = cJSON_GetObjectItemCaseSensitive(w, "end");
        const cJSON *min = cJSON_GetObjectItemCaseSensitive(w, "minReplicas");
        if (!cJSON_IsObject(w) || !cJSON_IsString(days) || !cJSON_IsString(start) ||
            !cJSON_IsString(end)) {
            mla_hours_destroy(h);
            return mla_err_set(err, MLA_EINVAL,
                               CFG ": businessHours[%d] needs string \"days\" (Mon-Fri), "
                                   "\"start\" and \"end\" (HH:MM) and an integer \"minReplicas\"",
                               i);
        }
        double m = 0;
        if (min && !cJSON_IsNull(min)) {
            rc = get_num(w, "minReplicas", NUM_INT, 0, false, 100000, false, &m, err);
            if (rc) {
                mla_hours_destroy(h);
                return mla_err_prefix(err, rc, CFG ": businessHours[%d]", i);
            }
        }
        rc = mla_hours_add_window(h, days->valuestring, start->valuestring, end->valuestring,
                                  (int)m, err);
        if (rc) {
            mla_hours_destroy(h);
            return mla_err_prefix(err, rc, CFG ": businessHours[%d]", i);
        }
        i++;
    }
    if (h->n == 0) {
        mla_hours_destroy(h);
        return MLA_OK;
    }
    *out = h;
    return MLA_OK;
}

static enum mla_code parse_obj(const cJSON *o, struct mla_predict_config *c, struct mla_err *err)
{
    enum mla_code rc;
    const cJSON *en = cJSON_GetObjectItemCaseSensitive(o, "enabled");
    if (en && !cJSON_IsNull(en)) {
        if (!cJSON_IsBool(en))
            return mla_err_set(err, MLA_EINVAL, CFG ": \"enabled\" must be true or false");
        c->enabled = cJSON_IsTrue(en);
    }
    int horizon = c->horizon_minutes;
    if ((rc = get_str(o, "query", &c->query, err)) ||
        (rc = get_num(o, "lookbackHours", NUM_REAL, 0, true, 24 * 400, false, &c->lookback_hours,
                      err)) ||
        (rc = get_num(o, "stepSeconds", NUM_REAL, 1, false, 86400, false, &c->step_seconds, err)) ||
        (rc = get_int(o, "horizonMinutes", 1, 7 * 24 * 60, &horizon, err)))
        return rc;
    c->horizon_minutes = horizon;
    if ((rc = get_int(o, "scaleAheadMinutes", 0, horizon, &c->scale_ahead_minutes, err)) ||
        (rc = get_num(o, "confidenceThreshold", NUM_REAL, 0, false, 1, false,
                      &c->confidence_threshold, err)) ||
        (rc = get_num(o, "quantile", NUM_REAL, 0, true, 1, true, &c->quantile, err)) ||
        (rc = get_num(o, "anomalyThreshold", NUM_REAL, 0, true, 1e9, false, &c->anomaly_threshold,
                      err)) ||
        (rc = get_num(o, "capacityPerReplica", NUM_REAL, 0, true, 1e15, false,
                      &c->capacity_per_replica, err)) ||
        (rc = get_str(o, "timezone", &c->timezone, err)) ||
        (rc = get_int(o, "nightMaxReplicas", 0, 100000, &c->night_max_replicas, err)) ||
        (rc = get_num(o, "replicaHourlyCost", NUM_REAL, 0, true, 1e12, false,
                      &c->replica_hourly_cost, err)) ||
        (rc = get_num(o, "maxHourlyCost", NUM_REAL, 0, true, 1e15, false, &c->max_hourly_cost,
                      err)) ||
        (rc = get_int(o, "minReplicas", 0, 100000, &c->min_replicas, err)) ||
        (rc = get_int(o, "maxReplicas", 0, 100000, &c->max_replicas, err)) ||
        (rc = get_int(o, "hysteresisStep", 1, 100000, &c->hysteresis_step, err)) ||
        (rc = get_int(o, "scaleDownHoldMinutes", 0, 7 * 24 * 60, &c->scale_down_hold_minutes, err)))
        return rc;
    if (c->max_replicas < c->min_replicas)
        return mla_err_set(err, MLA_EINVAL, CFG ": \"maxReplicas\" %d is below \"minReplicas\" %d",
                           c->max_replicas, c->min_replicas);
    if (c->lookback_hours * 3600 / c->step_seconds > 1e6)
        return mla_err_set(err, MLA_EINVAL,
                           CFG ": lookbackHours %g at stepSeconds %g is more than 1000000 points",
                           c->lookback_hours, c->step_seconds);
    if (c->enabled && (!c->query || !*c->query))
        return mla_err_set(err, MLA_EINVAL,
                           CFG ": \"query\" (a PromQL expression) is required when \"enabled\" "
                               "is true");
    return parse_hours(cJSON_GetObjectItemCaseSensitive(o, "businessHours"), c->timezone, &c->hours,
                       err);
}

enum mla_code mla_predict_config_parse(const char *json, struct mla_predict_config *cfg,
                                       struct mla_err *err)
{
    cJSON *o = json ? cJSON_Parse(json) : NULL;
    if (!o || !cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return mla_err_set(err, MLA_EPARSE,
                           "annotation " MLA_PREDICT_CONFIG_ANNOTATION " is not a JSON object");
    }
    struct mla_predict_config c;
    mla_predict_config_init(&c);
    enum mla_code rc = parse_obj(o, &c, err);
    cJSON_Delete(o);
    if (rc) {
        mla_predict_config_fini(&c);
        return rc;
    }
    mla_predict_config_fini(cfg);
    *cfg = c;
    return MLA_OK;
}

/* ---- the decision ---- */

/* Appends one clause to the explanation; a too-long explanation is cut, never an error. */
static void say(struct mla_predict_result *r, const char *fmt, ...) MLA_PRINTF(2, 3);
static void say(struct mla_predict_result *r, const char *fmt, ...)
{
    char *buf = r->reason;
    size_t n = sizeof r->reason;
    size_t len = strlen(buf);
    if (len > 0 && len + 2 < n) {
        memcpy(buf + len, "; ", 3);
        len += 2;
    }
    if (len + 1 >= n)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + len, n - len, fmt, ap);
    va_end(ap);
}

/* ceil(load / cap - slack), clamped to [0, 1e6]; the 1e-9 keeps an exact multiple from
 * buying one more. */
static int replicas_for(double load, double cap, double slack)
{
    double need = ceil(fmax(load, 0) / cap - slack - 1e-9);
    return need < 0 ? 0 : need > 1e6 ? 1000000 : (int)need;
}

/* Step 1: the forecast turned into replicas, or the fallback to business hours alone (the
 * fallback starts from minReplicas). Returns the value so far. */
static int step_forecast(const struct mla_predict_input *in, struct mla_predict_result *r)
{
    const struct mla_predict_config *c = in->cfg;
    const struct mla_predict_forecast *fc = in->fc;
    int v = c->min_replicas; /* the fallback's start: business hours alone, then the bounds */
    if (!c->enabled) {
        r->rule = MLA_PREDICT_RULE_FALLBACK;
        say(r, "predictive forecasting is disabled: business hours, cost cap and bounds only");
    } else if (!fc) {
        r->rule = MLA_PREDICT_RULE_FALLBACK;
        say(r, "no forecast (%s): business hours only",
            in->no_forecast_why ? in->no_forecast_why : "no history");
    } else if (isnan(c->capacity_per_replica)) {
        r->rule = MLA_PREDICT_RULE_FALLBACK;
        say(r, "capacityPerReplica is not set, the forecast cannot be turned into replicas: "
               "business hours only");
    } else if (!(fc->confidence >= c->confidence_threshold) || !isfinite(fc->peak_upper)) {
        r->rule = MLA_PREDICT_RULE_FALLBACK;
        say(r, "forecast confidence %.2f is below the threshold %.2f: business hours only",
            fc->confidence, c->confidence_threshold);
    } else {
        double cap = c->capacity_per_replica;
        int band = replicas_for(fc->peak_upper, cap, 0);
        v = replicas_for(fc->peak_upper, cap, MLA_PREDICT_RISE_SLACK);
        int point = isfinite(fc->peak_point) ? replicas_for(fc->peak_point, cap, 0) : 0;
        if (v < point)
            v = point;
        r->rule = MLA_PREDICT_RULE_FORECAST;
        r->forecast_used = true;
        r->forecast_replicas = v;
        say(r,
            "forecast peak %.1f (q%.2f upper bound, %d-%d min ahead) / %g per replica = %d "
            "(confidence %.2f, trend %s%s)",
            fc->peak_upper, c->quantile, c->scale_ahead_minutes, c->horizon_minutes, cap, v,
            fc->confidence, fc->trend[0] ? fc->trend : "unknown",
            fc->seeded ? ", seasons seeded from the weekly profile of the points older than "
                         "the lookback" : "");
        if (v < band)
            say(r, "the band crosses into replica %d by less than %.2f of one and the point "
                   "forecast %.1f needs %d: not bought",
                band, MLA_PREDICT_RISE_SLACK, fc->peak_point, point);
    }
    return v;
}

/* Step 2: business hours: inside a window its floor; outside every window (or with no windows
 * at all) the night cap, when one is set. Raises *lo_hard / lowers *hi_hard to the limits in
 * effect and sets *night when the night cap is in effect now. */
static void step_business_hours(const struct mla_predict_input *in, struct mla_predict_result *r,
                                int *v, int *lo_hard, int *hi_hard, bool *night)
{
    const struct mla_predict_config *c = in->cfg;
    bool inside = false;
    if (c->hours) {
        struct mla_hours_state st = mla_hours_eval(c->hours, in->now);
        inside = st.active;
        if (st.active) {
            if (st.min_replicas > *lo_hard)
                *lo_hard = st.min_replicas;
            char wd[64];
            mla_hours_window_format(&c->hours->w[st.window], wd, sizeof wd);
            if (*v < st.min_replicas) {
                *v = st.min_replicas;
                r->rule = MLA_PREDICT_RULE_BUSINESS_HOURS;
                say(r, "raised to %d inside business hours (%s)", *v, wd);
            } else {
                say(r, "inside business hours (%s, floor %d)", wd, st.min_replicas);
            }
        }
    }
    if (!inside && c->night_max_replicas >= 0) {
        *night = true;
        if (c->night_max_replicas < *hi_hard)
            *hi_hard = c->night_max_replicas;
        if (*v > c->night_max_replicas) {
            *v = c->night_max_replicas;
            r->rule = MLA_PREDICT_RULE_BUSINESS_HOURS;
            say(r, c->hours ? "capped at %d outside business hours (nightMaxReplicas)"
                            : "capped at %d by nightMaxReplicas (no business-hours windows)",
                *v);
        }
    }
}

/* Step 3: the cost cap (lowers *hi_hard to it). */
static void step_cost_cap(const struct mla_predict_config *c, struct mla_predict_result *r,
                          int *v, int *hi_hard)
{
    if (!isnan(c->replica_hourly_cost) && !isnan(c->max_hourly_cost)) {
        double capd = floor(c->max_hourly_cost / c->replica_hourly_cost + 1e-9);
        int cap = capd > 1e6 ? 1000000 : (int)capd;
        if (cap < *hi_hard)
            *hi_hard = cap;
        if (*v > cap) {
            *v = cap;
            r->rule = MLA_PREDICT_RULE_COST_CAP;
            say(r, "capped at %d by the cost cap (%.2f/h max at %.2f/h per replica)", *v,
                c->max_hourly_cost, c->replica_hourly_cost);
        }
    }
}

/* Step 4: the bounds (they win over the caps above: a policy minimum is a promise). */
static void step_bounds(const struct mla_predict_config *c, struct mla_predict_result *r, int *v,
                        int *lo_hard, int *hi_hard)
{
    if (*v < c->min_replicas || *v > c->max_replicas) {
        *v = *v < c->min_replicas ? c->min_replicas : c->max_replicas;
        r->rule = MLA_PREDICT_RULE_BOUNDS;
        say(r, "clamped to %d by the bounds %d..%d", *v, c->min_replicas, c->max_replicas);
    }
    if (*lo_hard > *hi_hard) /* conflicting limits: the bounds-clamped value is the answer */
        *lo_hard = *hi_hard = *v;
}

/* Step 5, a forecast floor going down: it stays at cur while the whole band still needs cur
 * (it rose by the slack, it falls only at the boundary: a band at a replica boundary does not
 * flap), or while the load seen now needs more than the new value and at least half of cur
 * (the forecast already sees the peak's end, the load is still there: lowering now would split
 * one scale-down into two, with the reactive scaler's count in between; the half bounds what a
 * slowly ebbing load can keep: on every bundled trace it keeps the same floors as no bound). */
static void hold_forecast_floor(const struct mla_predict_input *in, struct mla_predict_result *r,
                                int *v, int cur)
{
    const struct mla_predict_config *c = in->cfg;
    const struct mla_predict_forecast *fc = in->fc;
    int band = replicas_for(fc->peak_upper, c->capacity_per_replica, 0);
    int now = isfinite(fc->observed) ? replicas_for(fc->observed, c->capacity_per_replica, 0) : 0;
    if (band >= cur) {
        say(r, "kept at %d: the q%.2f upper bound %.1f still needs %d", cur, c->quantile,
            fc->peak_upper, band);
    } else if (now > *v && 2 * now >= cur) {
        say(r, "kept at %d: the load now (%.1f) still needs %d, more than %d", cur, fc->observed,
            now, *v);
    } else {
        return;
    }
    *v = cur;
    r->rule = MLA_PREDICT_RULE_HYSTERESIS;
}

/* Step 5: hysteresis: never keeps a value outside [lo_hard, hi_hard]. */
static void step_hysteresis(const struct mla_predict_input *in, struct mla_predict_result *r,
                            int *v, int lo_hard, int hi_hard)
{
    const struct mla_predict_config *c = in->cfg;
    int cur = in->current_min;
    if (cur >= 0 && *v != cur && cur >= lo_hard && cur <= hi_hard) {
        int delta = *v > cur ? *v - cur : cur - *v;
        long since = in->last_change > 0 ? (long)(in->now - in->last_change) : -1;
        long hold = (long)c->scale_down_hold_minutes * 60;
        /* The step damps forecast noise only: a value set by business hours, a cap, the bounds
         * or the fallback is a deliberate schedule or policy change and goes through (subject to
         * the scale-down hold); otherwise a floor could outlive its window forever. */
        if (delta < c->hysteresis_step && r->rule == MLA_PREDICT_RULE_FORECAST) {
            say(r, "kept at %d: the change to %d is smaller than hysteresisStep %d", cur, *v,
                c->hysteresis_step);
            *v = cur;
            r->rule = MLA_PREDICT_RULE_HYSTERESIS;
        } else if (*v < cur && since >= 0 && since < hold) {
            say(r,
                "kept at %d: no scale-down to %d within %d min of the last change (%ld min ago)",
                cur, *v, c->scale_down_hold_minutes, since / 60);
            *v = cur;
            r->rule = MLA_PREDICT_RULE_HYSTERESIS;
        } else if (*v < cur && r->rule == MLA_PREDICT_RULE_FORECAST) {
            hold_forecast_floor(in, r, v, cur);
        }
    }
}

/* Step 6: maxReplicaCount: the night cap holds the other triggers down too (PRODUCT.md: "an
 * optional night cap on maxReplicaCount"); KEDA refuses max < min and max < 1. */
static void step_max_replicas(const struct mla_predict_input *in, struct mla_predict_result *r,
                              int v, bool night)
{
    const struct mla_predict_config *c = in->cfg;
    int floor_max = v > 1 ? v : 1;
    int want = c->max_replicas;
    if (night && c->night_max_replicas < want)
        want = c->night_max_replicas;
    if (want < floor_max)
        want = floor_max;
    r->max_replicas = want;
    r->max_capped = night && want < c->max_replicas;
    int cur_max = in->current_max > 0 ? in->current_max : -1;
    r->max_changed = cur_max > 0 ? cur_max != want : r->max_capped;
    if (r->max_capped) {
        snprintf(r->max_reason, sizeof r->max_reason,
                 "capped at %d outside business hours (nightMaxReplicas %d, maxReplicas %d)",
                 want, c->night_max_replicas, c->max_replicas);
        say(r, "maxReplicaCount %s", r->max_reason);
    } else if (r->max_changed) {
        snprintf(r->max_reason, sizeof r->max_reason, "restored to maxReplicas %d%s", want,
                 night ? "" : c->night_max_replicas >= 0 ? " inside business hours"
                                                         : " (no nightMaxReplicas)");
        say(r, "maxReplicaCount %s (was %d)", r->max_reason, cur_max);
    }
}

void mla_predict_min_replicas(const struct mla_predict_input *in, struct mla_predict_result *res)
{
    const struct mla_predict_config *c = in->cfg;
    const struct mla_predict_forecast *fc = in->fc;
    struct mla_predict_result r = {.previous = in->current_min,
                                   .forecast_replicas = -1,
                                   .peak = NAN,
                                   .peak_point = NAN,
                                   .confidence = NAN,
                                   .observed = NAN};

    if (fc) {
        r.peak = fc->peak_upper;
        r.peak_point = fc->peak_point;
        r.confidence = fc->confidence;
        r.observed = fc->observed;
        snprintf(r.trend, sizeof r.trend, "%s", fc->trend);
    }
    int v = step_forecast(in, &r);

    /* hard limits, for hysteresis: never keep a value outside [lo_hard, hi_hard] */
    int lo_hard = c->min_replicas, hi_hard = c->max_replicas;
    bool night = false; /* the night cap is in effect now (step 6 caps maxReplicaCount too) */
    step_business_hours(in, &r, &v, &lo_hard, &hi_hard, &night);
    step_cost_cap(c, &r, &v, &hi_hard);
    step_bounds(c, &r, &v, &lo_hard, &hi_hard);
    step_hysteresis(in, &r, &v, lo_hard, hi_hard);

    int cur = in->current_min;
    r.min_replicas = v;
    r.changed = cur < 0 || v != cur;
    step_max_replicas(in, &r, v, night);
    *res = r;
}

/* ---- explanation patch ---- */

cJSON *mla_predict_annotations(const struct mla_predict_result *res, time_t now)
{
    cJSON *patch = cJSON_CreateObject();
    cJSON *meta = cJSON_AddObjectToObject(patch, "metadata");
    cJSON *ann = cJSON_AddObjectToObject(meta, "annotations");
    char s[64];
    if (res->forecast_used || !isnan(res->peak)) {
        snprintf(s, sizeof s, "%.2f", res->peak);
        cJSON_AddStringToObject(ann, MLA_PREDICT_ANN_PEAK, s);
        snprintf(s, sizeof s, "%.2f", res->confidence);
        cJSON_AddStringToObject(ann, MLA_PREDICT_ANN_CONFIDENCE, s);
        cJSON_AddStringToObject(ann, MLA_PREDICT_ANN_TREND, res->trend[0] ? res->trend : "unknown");
    } else {
        /* null in a merge patch removes a stale value */
        cJSON_AddNullToObject(ann, MLA_PREDICT_ANN_PEAK);
        cJSON_AddNullToObject(ann, MLA_PREDICT_ANN_CONFIDENCE);
        cJSON_AddNullToObject(ann, MLA_PREDICT_ANN_TREND);
    }
    char *reason = mla_xasprintf("%s: %s", mla_predict_rule_name(res->rule), res->reason);
    cJSON_AddStringToObject(ann, MLA_PREDICT_ANN_REASON, reason);
    free(reason);
    if (res->changed) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%SZ", &tm);
        cJSON_AddStringToObject(ann, MLA_PREDICT_ANN_UPDATED, s);
        cJSON *spec = cJSON_AddObjectToObject(patch, "spec");
        cJSON_AddNumberToObject(spec, "minReplicaCount", res->min_replicas);
    }
    if (res->max_capped)
        cJSON_AddStringToObject(ann, MLA_PREDICT_ANN_MAX_REASON, res->max_reason);
    else
        cJSON_AddNullToObject(ann, MLA_PREDICT_ANN_MAX_REASON);
    if (res->max_changed) {
        cJSON *spec = cJSON_GetObjectItemCaseSensitive(patch, "spec");
        if (!spec)
            spec = cJSON_AddObjectToObject(patch, "spec");
        cJSON_AddNumberToObject(spec, "maxReplicaCount", res->max_replicas);
    }
    return patch;
}

/* ---- metrics ---- */

/* `namespace="ns",<key>="name"`, escaped; new. */
static char *labels2(const char *key, const char *ns, const char *name)
{
    struct mla_buf b;
    mla_buf_init(&b, 0);
    enum mla_code rc = mla_buf_adds(&b, "namespace=\"") || mla_metrics_label_escape(&b, ns) ||
                       mla_buf_addf(&b, "\",%s=\"", key) || mla_metrics_label_escape(&b, name) ||
                       mla_buf_adds(&b, "\"");
    (void)rc; /* an uncapped buffer cannot fail */
    return mla_buf_take(&b);
}

/* Sets a gauge; NaN drops the series, so a value that is no longer known does not linger. */
static void gauge(const char *name, const char *help, const char *labels, double v)
{
    if (isnan(v)) {
        mla_metrics_remove(name, labels);
        return;
    }
    struct mla_metric *m = mla_metrics_get(MLA_METRIC_GAUGE, name, help, labels, NULL, 0);
    if (m)
        mla_metric_set(m, v);
}

void mla_predict_metrics_update(const char *ns, const char *scaledobject,
                                const struct mla_predict_result *res)
{
    char *l = labels2("scaledobject", ns, scaledobject);
    gauge("mla_predicted_load",
          "Forecast peak load over the scale-ahead window (upper bound at the policy quantile).", l,
          res->peak);
    gauge("mla_observed_load", "Last observed load.", l, res->observed);
    gauge("mla_forecast_confidence", "Forecast confidence in [0,1].", l, res->confidence);
    gauge("mla_min_replicas", "minReplicaCount chosen by the predictive loop.", l,
          res->min_replicas);
    char *lr = mla_xasprintf("%s,rule=\"%s\"", l, mla_predict_rule_name(res->rule));
    struct mla_metric *m = mla_metrics_get(
        MLA_METRIC_COUNTER, "mla_predict_decisions_total",
        "Predictive minReplicaCount decisions by the rule that decided.", lr, NULL, 0);
    if (m)
        mla_metric_inc(m);
    free(lr);
    free(l);
}

void mla_predict_metrics_workload(const char *ns, const char *deployment, int replicas,
                                  const struct mla_predict_config *cfg)
{
    char *l = labels2("deployment", ns, deployment);
    if (replicas >= 0) {
        gauge("mla_workload_replicas", "Current replicas of the workload.", l, replicas);
        if (cfg && !isnan(cfg->replica_hourly_cost))
            gauge("mla_workload_hourly_cost", "Current replicas x replica hourly cost.", l,
                  replicas * cfg->replica_hourly_cost);
    }
    if (cfg && !isnan(cfg->max_hourly_cost))
        gauge("mla_workload_hourly_cost_cap", "The policy's maximum hourly cost.", l,
              cfg->max_hourly_cost);
    free(l);
}

void mla_predict_metrics_remove(const char *ns, const char *scaledobject, const char *deployment)
{
    char *l = labels2("scaledobject", ns, scaledobject);
    mla_metrics_remove("mla_predicted_load", l);
    mla_metrics_remove("mla_observed_load", l);
    mla_metrics_remove("mla_forecast_confidence", l);
    mla_metrics_remove("mla_min_replicas", l);
    for (int i = 0; i < MLA_PREDICT_RULE_COUNT; i++) {
        char *lr = mla_xasprintf("%s,rule=\"%s\"", l, rule_names[i]);
        mla_metrics_remove("mla_predict_decisions_total", lr);
        free(lr);
    }
    free(l);
    if (deployment) {
        l = labels2("deployment", ns, deployment);
        mla_metrics_remove("mla_workload_replicas", l);
        mla_metrics_remove("mla_workload_hourly_cost", l);
        mla_metrics_remove("mla_workload_hourly_cost_cap", l);
        free(l);
    }
}
