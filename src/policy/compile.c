/* policy/compile.c - validates a policy object (jansson, with positions) and compiles it into the C
 * structs of policy_model.h in one pass, collecting every error with file:line:col.
 *
 * Why one pass: every check needs the node's position, and every compiled field needs the
 * check; doing both at once keeps each field's rules (type, range, allowed values) in one
 * place. A profile is compiled on top of a copy of the compiled defaults, so a profile only
 * states what differs and each error is reported once, where it was written.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mla/hours.h"
#include "mla/mem.h"
#include "mla/numfmt.h"
#include "policy-int.h"

#define C_MAX_REPLICAS 10000

void mla__cerr(struct mla__cctx *c, const json_t *cont, const char *key, size_t idx, int of_key,
               const char *fmt, ...)
{
    struct mla_err e;
    mla_err_clear(&e);
    int line = 0, col = 0;
    if (!mla_yaml_pos_get(c->pos, cont, key, idx, of_key, &line, &col) && (key || idx != SIZE_MAX))
        mla_yaml_pos_get(c->pos, cont, NULL, SIZE_MAX, 0, &line, &col);
    char msg[sizeof e.msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    (void)mla_err_set_at(&e, MLA_EPOLICY, c->file, line, col, "%s", msg);
    c->nerr++;
    if (c->first && c->first->code == MLA_OK)
        *c->first = e;
    if (c->diags) {
        for (size_t i = 0; i < c->diags->n; i++) {
            const struct mla_err *o = &c->diags->items[i];
            if (o->line == line && o->col == col && !strcmp(o->msg, e.msg) &&
                !strcmp(o->src, e.src))
                return; /* the same node reached twice (an alias): say it once */
        }
        if (c->diags->n == c->diags->cap) {
            c->diags->cap = c->diags->cap ? c->diags->cap * 2 : 16;
            c->diags->items = mla_xrealloc(c->diags->items, c->diags->cap * sizeof e);
        }
        c->diags->items[c->diags->n++] = e;
    }
}

static const char *c_type(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "a mapping";
    case JSON_ARRAY: return "a list";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE: case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

/* "a, b, c" of a NULL-ended list. */
static void c_join(const char *const *list, char *out, size_t n)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; list[i]; i++) {
        int w = snprintf(out + len, n - len, "%s%s", i ? ", " : "", list[i]);
        if (w < 0 || (size_t)w >= n - len)
            break;
        len += (size_t)w;
    }
}

static void c_keys(struct mla__cctx *c, const json_t *obj, const char *const *allowed,
                   const char *what)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v) {
        bool ok = false;
        for (size_t i = 0; allowed[i] && !ok; i++)
            ok = !strcmp(k, allowed[i]);
        if (!ok) {
            char list[512];
            c_join(allowed, list, sizeof list);
            mla__cerr(c, obj, k, 0, 1, "unknown field '%s' in %s; allowed: %s", k, what, list);
        }
    }
}

/* Each getter returns 1 when present and valid (out set), 0 when absent, -1 on error. */
static int c_int(struct mla__cctx *c, const json_t *obj, const char *key, long lo, long hi,
                 int *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        if (json_is_integer(v))
            mla__cerr(c, obj, key, 0, 0, "%s: %lld is out of range; allowed: an integer from "
                      "%ld to %ld", key, (long long)json_integer_value(v), lo, hi);
        else
            mla__cerr(c, obj, key, 0, 0, "%s: must be an integer from %ld to %ld, got %s", key,
                      lo, hi, c_type(v));
        return -1;
    }
    *out = (int)json_integer_value(v);
    return 1;
}

static int c_num(struct mla__cctx *c, const json_t *obj, const char *key, double lo, double hi,
                 bool lo_open, double *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    if (!json_is_number(v)) {
        mla__cerr(c, obj, key, 0, 0, "%s: must be a number, got %s", key, c_type(v));
        return -1;
    }
    double d = json_number_value(v);
    if (!isfinite(d) || d > hi || (lo_open ? d <= lo : d < lo)) {
        mla__cerr(c, obj, key, 0, 0, "%s: %g is out of range; allowed: a number %s %g and <= %g",
                  key, d, lo_open ? ">" : ">=", lo, hi);
        return -1;
    }
    *out = d;
    return 1;
}

static int c_bool(struct mla__cctx *c, const json_t *obj, const char *key, bool *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    if (!json_is_boolean(v)) {
        mla__cerr(c, obj, key, 0, 0, "%s: must be true or false, got %s", key, c_type(v));
        return -1;
    }
    *out = json_is_true(v);
    return 1;
}

static int c_str(struct mla__cctx *c, const json_t *obj, const char *key, const char **out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    if (!json_is_string(v) || !json_string_length(v)) {
        mla__cerr(c, obj, key, 0, 0, "%s: must be a non-empty string, got %s", key,
                  json_is_string(v) ? "an empty string" : c_type(v));
        return -1;
    }
    *out = mla_arena_strdup(c->a, json_string_value(v));
    return 1;
}

static int c_enum(struct mla__cctx *c, const json_t *obj, const char *key,
                  const char *const *vals, int *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    if (json_is_string(v))
        for (int i = 0; vals[i]; i++)
            if (!strcmp(vals[i], json_string_value(v))) {
                *out = i;
                return 1;
            }
    char list[256];
    c_join(vals, list, sizeof list);
    if (json_is_string(v))
        mla__cerr(c, obj, key, 0, 0, "%s: '%s' is not allowed; allowed: %s", key,
                  json_string_value(v), list);
    else
        mla__cerr(c, obj, key, 0, 0, "%s: must be one of %s, got %s", key, list, c_type(v));
    return -1;
}

static json_t *c_obj(struct mla__cctx *c, const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (v && !json_is_object(v)) {
        mla__cerr(c, obj, key, 0, 0, "%s: must be a mapping, got %s", key, c_type(v));
        return NULL;
    }
    return v;
}

static json_t *c_arr(struct mla__cctx *c, const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (v && !json_is_array(v)) {
        mla__cerr(c, obj, key, 0, 0, "%s: must be a list, got %s", key, c_type(v));
        return NULL;
    }
    return v;
}

/* DNS-1123 label: what profile and policy names must be (they become annotation values). */
static bool c_dns_label(const char *s)
{
    size_t n = strlen(s);
    if (!n || n > 63)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-';
        if (!ok || ((i == 0 || i == n - 1) && ch == '-'))
            return false;
    }
    return true;
}

/* DNS-1123 subdomain: what object names such as a TriggerAuthentication's must be. */
static bool c_dns_subdomain(const char *s)
{
    size_t n = strlen(s);
    if (!n || n > 253)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
        if (!alnum && ch != '-' && ch != '.')
            return false;
        if (!alnum && (i == 0 || i == n - 1 || s[i - 1] == '.' || (ch == '.' && s[i - 1] == '-')))
            return false;
    }
    return true;
}

/* Kubernetes quantity such as 500m, 1, 2Gi, 512Mi: digits[.digits][suffix]. */
static bool c_quantity(const char *s)
{
    const char *p = s;
    int digits = 0;
    while ((*p >= '0' && *p <= '9') || *p == '.')
        digits += *p++ != '.';
    if (!digits)
        return false;
    static const char *const sfx[] = {"", "m", "k", "M", "G", "T", "P", "Ki", "Mi", "Gi", "Ti",
                                      "Pi", NULL};
    for (int i = 0; sfx[i]; i++)
        if (!strcmp(p, sfx[i]))
            return true;
    return false;
}

static void c_range(struct mla__cctx *c, const json_t *b, const char *key, struct mla_range *r,
                    long hi)
{
    json_t *o = c_obj(c, b, key);
    if (!o)
        return;
    static const char *const keys[] = {"min", "max", NULL};
    c_keys(c, o, keys, key);
    c_int(c, o, "min", 0, hi, &r->min);
    c_int(c, o, "max", 0, hi, &r->max);
    if (r->min > r->max)
        mla__cerr(c, b, key, 0, 0, "%s: min %d is greater than max %d", key, r->min, r->max);
}

static void c_rules(struct mla__cctx *c, const json_t *beh, const char *key,
                    struct mla_scale_rules *r)
{
    json_t *o = c_obj(c, beh, key);
    if (!o)
        return;
    static const char *const keys[] = {"stabilizationSeconds", "selectPolicy", "policies", NULL};
    c_keys(c, o, keys, key);
    r->set = true;
    if (c_int(c, o, "stabilizationSeconds", 0, 3600, &r->stabilization) > 0)
        r->has_stab = true;
    static const char *const sel[] = {"Max", "Min", "Disabled", NULL};
    int si;
    if (c_enum(c, o, "selectPolicy", sel, &si) > 0)
        r->select_policy = sel[si];
    json_t *pols = c_arr(c, o, "policies");
    if (!pols)
        return;
    r->npol = json_array_size(pols);
    struct mla_hpa_rule *pr = mla_arena_alloc(c->a, (r->npol + 1) * sizeof *pr);
    size_t i;
    json_t *p;
    json_array_foreach(pols, i, p) {
        if (!json_is_object(p)) {
            mla__cerr(c, pols, NULL, i, 0, "policies: each entry must be a mapping");
            continue;
        }
        static const char *const pk[] = {"type", "value", "periodSeconds", NULL};
        static const char *const types[] = {"Pods", "Percent", NULL};
        c_keys(c, p, pk, "a scaling policy");
        int t = 0;
        if (c_enum(c, p, "type", types, &t) == 0)
            mla__cerr(c, pols, NULL, i, 0, "scaling policy: 'type' is required (Pods or Percent)");
        pr[i].percent = t == 1;
        if (c_int(c, p, "value", 1, 100000, &pr[i].value) == 0)
            mla__cerr(c, pols, NULL, i, 0, "scaling policy: 'value' is required (an integer > 0)");
        pr[i].period = 60;
        c_int(c, p, "periodSeconds", 1, 1800, &pr[i].period);
    }
    r->pol = pr;
}

static const char *const c_metrics[] = {"rps", "latency-ms", "gpu-utilization",
                                        "tokens-per-second", "queue-length", NULL};
static const int c_metric_ann[] = {MLA_ANN_TARGET_RPS, MLA_ANN_TARGET_LATENCY_MS,
                                   MLA_ANN_TARGET_GPU, MLA_ANN_TARGET_TPS, MLA_ANN_QUEUE_LENGTH};

static bool c_has_meta(const struct mla_trigger_tpl *t, const char *key)
{
    for (size_t i = 0; i < t->nmeta; i++)
        if (!strcmp(t->meta[i].key, key))
            return true;
    return false;
}

static const char *const c_trig_types[] = {"cpu", "memory", "prometheus", "rabbitmq", "cron",
                                           NULL};

/* 'metric' names the annotation that overrides the threshold; only prometheus (rps, latency,
 * ...) and rabbitmq (queue-length) triggers take one. */
static void c_trigger_metric(struct mla__cctx *c, const json_t *o, struct mla_trigger_tpl *t)
{
    int mi;
    if (c_enum(c, o, "metric", c_metrics, &mi) <= 0)
        return;
    t->metric = c_metrics[mi];
    t->metric_ann = c_metric_ann[mi];
    bool fits = (t->type == MLA_TRIG_RABBITMQ) == (t->metric_ann == MLA_ANN_QUEUE_LENGTH) &&
                (t->type == MLA_TRIG_PROMETHEUS || t->type == MLA_TRIG_RABBITMQ);
    if (!fits)
        mla__cerr(c, o, "metric", 0, 0,
                  "metric: '%s' does not fit a %s trigger (prometheus: rps, latency-ms, "
                  "gpu-utilization, tokens-per-second; rabbitmq: queue-length)",
                  t->metric, c_trig_types[t->type]);
}

/* KEDA accepts Utilization only for the resource scalers and Value only for the others. */
static void c_trigger_metric_type(struct mla__cctx *c, const json_t *o,
                                  struct mla_trigger_tpl *t)
{
    static const char *const mtypes[] = {"AverageValue", "Value", "Utilization", NULL};
    int mt;
    if (c_enum(c, o, "metricType", mtypes, &mt) <= 0)
        return;
    t->metric_type = mtypes[mt];
    bool res = t->type == MLA_TRIG_CPU || t->type == MLA_TRIG_MEMORY;
    if ((mt == 2 && !res) || (res && mt == 1))
        mla__cerr(c, o, "metricType", 0, 0,
                  "metricType: '%s' is not valid for a %s trigger (cpu/memory: Utilization "
                  "or AverageValue; others: AverageValue or Value)", mtypes[mt],
                  c_trig_types[t->type]);
}

/* authenticationRef is either a bare TriggerAuthentication name or {name, kind}; the name must
 * be one Kubernetes would accept. */
static void c_trigger_auth(struct mla__cctx *c, const json_t *o, struct mla_trigger_tpl *t)
{
    json_t *ar = json_object_get(o, "authenticationRef");
    if (json_is_string(ar)) {
        t->auth_name = mla_arena_strdup(c->a, json_string_value(ar));
    } else if (json_is_object(ar)) {
        static const char *const ak[] = {"name", "kind", NULL};
        static const char *const kinds[] = {"TriggerAuthentication",
                                            "ClusterTriggerAuthentication", NULL};
        c_keys(c, ar, ak, "authenticationRef");
        if (c_str(c, ar, "name", &t->auth_name) == 0)
            mla__cerr(c, o, "authenticationRef", 0, 0, "authenticationRef: 'name' is required");
        int k;
        if (c_enum(c, ar, "kind", kinds, &k) > 0)
            t->auth_kind = kinds[k];
    } else if (ar) {
        mla__cerr(c, o, "authenticationRef", 0, 0,
                  "authenticationRef: must be a TriggerAuthentication name or {name, kind}");
    }
    if (t->auth_name && !c_dns_subdomain(t->auth_name))
        mla__cerr(c, o, "authenticationRef", 0, 0, "authenticationRef: '%s' is not a valid "
                  "object name (lowercase letters, digits, '-' and '.', at most 253)",
                  t->auth_name);
}

/* The text of a scalar metadata value (numbers as YAML would print them, into num), or NULL
 * for a mapping, sequence or null. */
static const char *c_meta_scalar(const json_t *v, char *num, size_t numsz)
{
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(num, numsz, "%lld", (long long)json_integer_value(v));
        return num;
    }
    if (json_is_real(v)) {
        snprintf(num, numsz, "%g", json_real_value(v));
        return num;
    }
    if (json_is_boolean(v))
        return json_is_true(v) ? "true" : "false";
    return NULL;
}

/* Each metadata value is a template (a PromQL one for a prometheus query); the threshold keys
 * belong to the trigger's own fields, which the annotations override. */
static void c_trigger_metadata(struct mla__cctx *c, const json_t *o, struct mla_trigger_tpl *t)
{
    json_t *md = c_obj(c, o, "metadata");
    if (!md)
        return;
    t->meta = mla_arena_alloc(c->a, (json_object_size(md) + 1) * sizeof *t->meta);
    const char *k;
    json_t *v;
    json_object_foreach(md, k, v) {
        char num[64];
        const char *sv = c_meta_scalar(v, num, sizeof num);
        if (!sv) {
            mla__cerr(c, md, k, 0, 0, "metadata.%s: must be a scalar (KEDA metadata values "
                      "are strings), got %s", k, c_type(v));
            continue;
        }
        bool promql = t->type == MLA_TRIG_PROMETHEUS && !strcmp(k, "query");
        static const char *const owned[] = {"threshold", "activationThreshold", "value",
                                            "activationValue", NULL};
        for (int i = 0; owned[i]; i++)
            if (!strcmp(k, owned[i]))
                mla__cerr(c, md, k, 1, 1,
                          "metadata.%s: set it with the trigger's 'threshold' / "
                          "'activationThreshold' (annotations override those)", k);
        char why[256];
        struct mla_tpl *tpl;
        if (!mla__tpl_compile(c->a, sv, promql, &tpl, why, sizeof why)) {
            mla__cerr(c, md, k, 0, 0, "metadata.%s: %s", k, why);
            continue;
        }
        t->meta[t->nmeta].key = mla_arena_strdup(c->a, k);
        t->meta[t->nmeta].tpl = tpl;
        t->nmeta++;
    }
}

/* What each trigger type needs, as KEDA's scalers require it. */
static void c_trigger_required(struct mla__cctx *c, const json_t *arr, size_t idx,
                               const json_t *o, struct mla_trigger_tpl *t)
{
    switch (t->type) {
    case MLA_TRIG_PROMETHEUS:
        if (!c_has_meta(t, "serverAddress") || !c_has_meta(t, "query"))
            mla__cerr(c, arr, NULL, idx, 0,
                      "prometheus trigger: metadata.serverAddress and metadata.query are required");
        if (!t->has_threshold)
            mla__cerr(c, arr, NULL, idx, 0, "prometheus trigger: 'threshold' is required");
        break;
    case MLA_TRIG_RABBITMQ:
        if (!c_has_meta(t, "queueName"))
            mla__cerr(c, arr, NULL, idx, 0,
                      "rabbitmq trigger: metadata.queueName is required (e.g. \"{{ queue }}\")");
        if (!c_has_meta(t, "host") && !c_has_meta(t, "hostFromEnv") && !t->auth_name)
            mla__cerr(c, arr, NULL, idx, 0, "rabbitmq trigger: needs metadata.host, "
                      "metadata.hostFromEnv or an authenticationRef that provides the host");
        if (!t->has_threshold)
            mla__cerr(c, arr, NULL, idx, 0,
                      "rabbitmq trigger: 'threshold' (messages per replica) is required");
        break;
    case MLA_TRIG_CPU:
    case MLA_TRIG_MEMORY:
        if (!t->has_threshold)
            mla__cerr(c, arr, NULL, idx, 0, "%s trigger: 'threshold' is required (percent of "
                      "the request for Utilization)", c_trig_types[t->type]);
        if (!t->metric_type)
            t->metric_type = "Utilization";
        break;
    case MLA_TRIG_CRON:
        if (!c_has_meta(t, "start") || !c_has_meta(t, "end") ||
            !c_has_meta(t, "desiredReplicas"))
            mla__cerr(c, arr, NULL, idx, 0,
                      "cron trigger: metadata.start, metadata.end and metadata.desiredReplicas "
                      "are required");
        if (t->has_threshold)
            mla__cerr(c, o, "threshold", 0, 1, "cron trigger: no 'threshold' (use "
                      "metadata.desiredReplicas)");
        break;
    }
}

static void c_trigger(struct mla__cctx *c, const json_t *arr, size_t idx,
                      struct mla_trigger_tpl *t)
{
    const json_t *o = json_array_get(arr, idx);
    int before = c->nerr;
    if (!json_is_object(o)) {
        mla__cerr(c, arr, NULL, idx, 0, "triggers: each entry must be a mapping, got %s",
                  c_type(o));
        return;
    }
    static const char *const keys[] = {"type", "name", "metric", "enabled", "threshold",
                                       "activationThreshold", "metricType", "authenticationRef",
                                       "metadata", NULL};
    c_keys(c, o, keys, "a trigger");
    int ty = -1;
    if (c_enum(c, o, "type", c_trig_types, &ty) == 0)
        mla__cerr(c, arr, NULL, idx, 0,
                  "trigger: 'type' is required; allowed: cpu, memory, prometheus, rabbitmq, cron");
    if (ty < 0)
        return;
    t->type = (enum mla_trig_type)ty;
    t->enabled = true;
    t->metric_ann = -1;
    c_str(c, o, "name", &t->name);
    c_bool(c, o, "enabled", &t->enabled);
    c_trigger_metric(c, o, t);
    if (c_num(c, o, "threshold", 0, 1e12, true, &t->threshold) > 0)
        t->has_threshold = true;
    if (c_num(c, o, "activationThreshold", 0, 1e12, false, &t->activation) > 0)
        t->has_activation = true;
    c_trigger_metric_type(c, o, t);
    c_trigger_auth(c, o, t);
    c_trigger_metadata(c, o, t);
    /* A field that was there but wrong is already reported; do not add "required" on top. */
    if (c->nerr != before)
        return;
    c_trigger_required(c, arr, idx, o, t);
}

/* Windows and zone are checked with the hours module the predictive loop uses, so whatever
 * lint accepts the loop can evaluate. */
static void c_hours(struct mla__cctx *c, const json_t *bh, struct mla_settings *s)
{
    static const char *const keys[] = {"timezone", "windows", "minReplicas", "nightMaxReplicas",
                                       NULL};
    c_keys(c, bh, keys, "businessHours");
    struct mla_err e;
    mla_err_clear(&e);
    const struct mla_tz *tz;
    if (c_str(c, bh, "timezone", &s->timezone) > 0 &&
        mla_hours_db_find(c->tzdb, s->timezone, &tz, &e) != MLA_OK)
        mla__cerr(c, bh, "timezone", 0, 0, "timezone: '%s' is not a known IANA time zone (e.g. "
                  "Europe/Berlin, America/New_York, UTC)", s->timezone);
    c_int(c, bh, "minReplicas", 0, C_MAX_REPLICAS, &s->bh_min_replicas);
    json_t *nm = json_object_get(bh, "nightMaxReplicas");
    if (json_is_null(nm))
        s->night_max = -1;
    else
        c_int(c, bh, "nightMaxReplicas", 0, C_MAX_REPLICAS, &s->night_max);
    json_t *w = c_arr(c, bh, "windows");
    if (!w)
        return;
    if (json_array_size(w) > 8)
        mla__cerr(c, bh, "windows", 0, 0, "windows: at most 8");
    struct mla_window *win = mla_arena_alloc(c->a, (json_array_size(w) + 1) * sizeof *win);
    struct mla_hours *h = NULL;
    if (mla_hours_create_in(c->tzdb, "UTC", &h, NULL) != MLA_OK)
        return;
    size_t i, n = 0;
    json_t *el;
    json_array_foreach(w, i, el) {
        if (!json_is_object(el)) {
            mla__cerr(c, w, NULL, i, 0, "windows: each entry must be a mapping");
            continue;
        }
        static const char *const wk[] = {"days", "start", "end", "minReplicas", NULL};
        c_keys(c, el, wk, "a business-hours window");
        struct mla_window *x = &win[n];
        x->days = "Mon-Fri";
        int before = c->nerr;
        c_str(c, el, "days", &x->days);
        if (c_str(c, el, "start", &x->start) == 0)
            mla__cerr(c, w, NULL, i, 0, "window: 'start' is required (HH:MM)");
        if (c_str(c, el, "end", &x->end) == 0)
            mla__cerr(c, w, NULL, i, 0, "window: 'end' is required (HH:MM)");
        if (c_int(c, el, "minReplicas", 0, C_MAX_REPLICAS, &x->min_replicas) == 0)
            mla__cerr(c, w, NULL, i, 0, "window: 'minReplicas' is required");
        if (c->nerr != before)
            continue;
        mla_err_clear(&e);
        if (mla_hours_add_window(h, x->days, x->start, x->end, x->min_replicas, &e) != MLA_OK) {
            mla__cerr(c, w, NULL, i, 0, "window: %s", e.msg);
            continue;
        }
        n++;
    }
    mla_hours_destroy(h);
    s->win = win;
    s->nwin = n;
}

static void c_pred(struct mla__cctx *c, const json_t *p, struct mla_settings *s)
{
    static const char *const keys[] = {"enabled", "query", "lookbackHours", "stepSeconds",
                                       "horizonMinutes", "scaleAheadMinutes",
                                       "confidenceThreshold", "quantile", "anomalyThreshold",
                                       "capacityPerReplica", "hysteresisStep",
                                       "scaleDownHoldMinutes", NULL};
    c_keys(c, p, keys, "predictive");
    c_bool(c, p, "enabled", &s->pred.enabled);
    const char *q;
    if (c_str(c, p, "query", &q) > 0) {
        char why[256];
        if (!mla__tpl_compile(c->a, q, true, &s->pred.query, why, sizeof why))
            mla__cerr(c, p, "query", 0, 0, "query: %s", why);
    }
    c_int(c, p, "lookbackHours", 1, 24 * 90, &s->pred.lookback_h);
    c_int(c, p, "stepSeconds", 10, 3600, &s->pred.step_s);
    c_int(c, p, "horizonMinutes", 1, 24 * 60, &s->pred.horizon_min);
    c_int(c, p, "scaleAheadMinutes", 0, 24 * 60, &s->pred.ahead_min);
    c_num(c, p, "confidenceThreshold", 0, 1, false, &s->pred.conf);
    if (c_num(c, p, "quantile", 0, 1, true, &s->pred.quantile) > 0 && s->pred.quantile >= 1)
        mla__cerr(c, p, "quantile", 0, 0, "quantile: allowed: a number > 0 and < 1");
    c_num(c, p, "anomalyThreshold", 0, 100, true, &s->pred.anomaly);
    if (c_num(c, p, "capacityPerReplica", 0, 1e12, true, &s->pred.capacity) > 0)
        s->pred.has_capacity = true;
    c_int(c, p, "hysteresisStep", 1, 1000, &s->pred.hyst_step);
    c_int(c, p, "scaleDownHoldMinutes", 0, 24 * 60, &s->pred.hold_min);
}

static void c_pod(struct mla__cctx *c, const json_t *p, struct mla_settings *s)
{
    static const char *const keys[] = {"defaultRequests", "missingRequests", "spot", NULL};
    c_keys(c, p, keys, "pod");
    json_t *dr = c_obj(c, p, "defaultRequests");
    if (dr) {
        static const char *const rk[] = {"cpu", "memory", NULL};
        c_keys(c, dr, rk, "defaultRequests");
        if (c_str(c, dr, "cpu", &s->req_cpu) > 0 && !c_quantity(s->req_cpu))
            mla__cerr(c, dr, "cpu", 0, 0, "cpu: '%s' is not a Kubernetes quantity (e.g. 250m, "
                      "1)", s->req_cpu);
        if (c_str(c, dr, "memory", &s->req_mem) > 0 && !c_quantity(s->req_mem))
            mla__cerr(c, dr, "memory", 0, 0, "memory: '%s' is not a Kubernetes quantity (e.g. "
                      "512Mi, 2Gi)", s->req_mem);
    }
    static const char *const mr[] = {"inject", "deny", NULL};
    int m;
    if (c_enum(c, p, "missingRequests", mr, &m) > 0)
        s->missing_requests = (enum mla_missing_req)m;
    json_t *sp = c_obj(c, p, "spot");
    if (!sp)
        return;
    static const char *const sk[] = {"enabled", "weight", "nodeLabels", "tolerations", NULL};
    c_keys(c, sp, sk, "spot");
    s->spot = true;
    c_bool(c, sp, "enabled", &s->spot);
    int weight = 50;
    c_int(c, sp, "weight", 1, 100, &weight);
    json_t *nl = c_obj(c, sp, "nodeLabels");
    if (nl && json_object_size(nl)) {
        cJSON *exprs = cJSON_CreateArray();
        const char *k;
        json_t *v;
        json_object_foreach(nl, k, v) {
            if (!json_is_string(v)) {
                mla__cerr(c, nl, k, 0, 0, "nodeLabels.%s: must be a string", k);
                continue;
            }
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "key", k);
            cJSON_AddStringToObject(e, "operator", "In");
            cJSON *vals = cJSON_AddArrayToObject(e, "values");
            cJSON_AddItemToArray(vals, cJSON_CreateString(json_string_value(v)));
            cJSON_AddItemToArray(exprs, e);
        }
        cJSON *term = cJSON_CreateObject();
        cJSON_AddNumberToObject(term, "weight", weight);
        cJSON *pref = cJSON_AddObjectToObject(term, "preference");
        cJSON_AddItemToObject(pref, "matchExpressions", exprs);
        cJSON_AddItemToArray(c->owned, term); /* the set owns it; settings borrow */
        s->spot_affinity = term;
    }
    json_t *tol = c_arr(c, sp, "tolerations");
    if (tol) {
        size_t i;
        json_t *e;
        json_array_foreach(tol, i, e) {
            static const char *const tk[] = {"key", "operator", "value", "effect",
                                             "tolerationSeconds", NULL};
            if (!json_is_object(e)) {
                mla__cerr(c, tol, NULL, i, 0, "tolerations: each entry must be a mapping");
                continue;
            }
            c_keys(c, e, tk, "a toleration");
            static const char *const ops[] = {"Equal", "Exists", NULL};
            static const char *const eff[] = {"NoSchedule", "PreferNoSchedule", "NoExecute",
                                              NULL};
            int x;
            c_enum(c, e, "operator", ops, &x);
            c_enum(c, e, "effect", eff, &x);
        }
        cJSON *t = mla_yaml_to_cjson(tol);
        cJSON_AddItemToArray(c->owned, t); /* the set owns it; settings borrow */
        s->spot_tolerations = t;
    }
}

/* bounds: the ranges a workload's annotations may move replicas, polling and cooldown in. */
static void c_bounds(struct mla__cctx *c, const json_t *b, struct mla_settings *s)
{
    static const char *const bk[] = {"replicas", "pollingSeconds", "cooldownSeconds", NULL};
    c_keys(c, b, bk, "bounds");
    c_range(c, b, "replicas", &s->b_replicas, C_MAX_REPLICAS);
    c_range(c, b, "pollingSeconds", &s->b_polling, 86400);
    c_range(c, b, "cooldownSeconds", &s->b_cooldown, 86400 * 7);
}

static void c_scale_to_zero(struct mla__cctx *c, const json_t *z, struct mla_settings *s)
{
    static const char *const zk[] = {"allowed", "idleSeconds", "useIdleReplicaCount", NULL};
    c_keys(c, z, zk, "scaleToZero");
    c_bool(c, z, "allowed", &s->s2z_allowed);
    c_bool(c, z, "useIdleReplicaCount", &s->s2z_idle);
    c_int(c, z, "idleSeconds", 0, 86400 * 7, &s->idle_seconds);
}

/* fallback: null or false turns an inherited fallback off; a mapping turns it on and needs
 * 'replicas'. */
static void c_fallback(struct mla__cctx *c, const json_t *o, struct mla_settings *s)
{
    json_t *fb = json_object_get(o, "fallback");
    bool fb_off = json_is_null(fb) || json_is_false(fb);
    if (!fb_off)
        fb = c_obj(c, o, "fallback");
    if (fb_off) {
        s->fallback = false;
    } else if (fb) {
        static const char *const fk[] = {"failureThreshold", "replicas", NULL};
        c_keys(c, fb, fk, "fallback");
        s->fallback = true;
        if (c_int(c, fb, "failureThreshold", 1, 1000, &s->fb_failures) == 0)
            s->fb_failures = 3;
        if (c_int(c, fb, "replicas", 0, C_MAX_REPLICAS, &s->fb_replicas) == 0)
            mla__cerr(c, o, "fallback", 0, 0, "fallback: 'replicas' is required");
    }
}

/* behavior: a direction that is present replaces the inherited rules rather than merging. */
static void c_behavior(struct mla__cctx *c, const json_t *beh, struct mla_settings *s)
{
    static const char *const bk[] = {"scaleUp", "scaleDown", NULL};
    c_keys(c, beh, bk, "behavior");
    if (json_object_get(beh, "scaleUp"))
        s->up = (struct mla_scale_rules){0};
    if (json_object_get(beh, "scaleDown"))
        s->down = (struct mla_scale_rules){0};
    c_rules(c, beh, "scaleUp", &s->up);
    c_rules(c, beh, "scaleDown", &s->down);
}

/* triggers: at most 16, and no two may share a metric (the annotation names the metric). */
static void c_triggers(struct mla__cctx *c, const json_t *o, const json_t *tr,
                       struct mla_settings *s)
{
    size_t n = json_array_size(tr);
    if (n > 16) {
        mla__cerr(c, o, "triggers", 0, 0, "triggers: at most 16 triggers per profile");
        n = 16;
    }
    struct mla_trigger_tpl *t = mla_arena_alloc(c->a, (n + 1) * sizeof *t);
    for (size_t i = 0; i < n; i++)
        c_trigger(c, tr, i, &t[i]);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (t[i].metric_ann >= 0 && t[i].metric_ann == t[j].metric_ann)
                mla__cerr(c, tr, NULL, i, 0, "triggers: metric '%s' is used by two "
                          "triggers; an annotation could not tell them apart", t[i].metric);
    s->trig = t;
    s->ntrig = n;
}

/* cost: a budget (maxHourlyCost) means nothing without the price of a replica. */
static void c_cost(struct mla__cctx *c, const json_t *o, const json_t *cost,
                   struct mla_settings *s)
{
    static const char *const ck[] = {"replicaHourlyCost", "maxHourlyCost", NULL};
    c_keys(c, cost, ck, "cost");
    if (c_num(c, cost, "replicaHourlyCost", 0, 1e9, true, &s->replica_cost) > 0)
        s->has_cost = true;
    if (c_num(c, cost, "maxHourlyCost", 0, 1e12, true, &s->max_cost) > 0)
        s->has_max_cost = true;
    if (s->has_max_cost && !s->has_cost)
        mla__cerr(c, o, "cost", 0, 0, "cost: maxHourlyCost needs replicaHourlyCost");
}

/* scaledJob: what a Job template's ScaledJob gets besides the shared settings (KEDA's
 * ScaledJob spec; the ranges are its CRD's). customScaling* only mean something with strategy
 * custom: that is checked on the merged settings (c_settings_final). */
static void c_scaled_job(struct mla__cctx *c, const json_t *o, struct mla_settings *s)
{
    static const char *const keys[] = {"successfulJobsHistoryLimit", "failedJobsHistoryLimit",
                                       "scalingStrategy", "customScalingQueueLengthDeduction",
                                       "customScalingRunningJobPercentage", NULL};
    c_keys(c, o, keys, "scaledJob");
    c_int(c, o, "successfulJobsHistoryLimit", 0, 1000, &s->sj.successful_history);
    c_int(c, o, "failedJobsHistoryLimit", 0, 1000, &s->sj.failed_history);
    static const char *const st[] = {"default", "custom", "accurate", "eager", NULL};
    int v;
    if (c_enum(c, o, "scalingStrategy", st, &v) > 0)
        s->sj.strategy = (enum mla_sj_strategy)v;
    c_int(c, o, "customScalingQueueLengthDeduction", 0, 1000000, &s->sj.custom_deduction);
    double pct;
    if (c_num(c, o, "customScalingRunningJobPercentage", 0, 1, false, &pct) > 0) {
        char b[32];
        snprintf(b, sizeof b, "%g", pct);
        s->sj.custom_running = mla_arena_strdup(c->a, b);
    }
}

/* Compiles the settings in `o` over *s (which holds the base: built-in or policy defaults).
 * Sections are compiled in the order of `keys`, so diagnostics come out in that order. */
static void c_settings(struct mla__cctx *c, const json_t *o, struct mla_settings *s,
                       const char *what)
{
    static const char *const keys[] = {"minReplicas", "maxReplicas", "pollingSeconds",
                                       "cooldownSeconds", "bounds", "scaleToZero", "fallback",
                                       "behavior", "triggers", "hpaMode", "vpa", "predictive",
                                       "businessHours", "cost", "pod", "scaledJob", NULL};
    c_keys(c, o, keys, what);
    c_int(c, o, "minReplicas", 0, C_MAX_REPLICAS, &s->min_replicas);
    c_int(c, o, "maxReplicas", 1, C_MAX_REPLICAS, &s->max_replicas);
    c_int(c, o, "pollingSeconds", 1, 86400, &s->polling);
    c_int(c, o, "cooldownSeconds", 0, 86400 * 7, &s->cooldown);
    json_t *b = c_obj(c, o, "bounds");
    if (b)
        c_bounds(c, b, s);
    json_t *z = c_obj(c, o, "scaleToZero");
    if (z)
        c_scale_to_zero(c, z, s);
    c_fallback(c, o, s);
    json_t *beh = c_obj(c, o, "behavior");
    if (beh)
        c_behavior(c, beh, s);
    json_t *tr = c_arr(c, o, "triggers");
    if (tr)
        c_triggers(c, o, tr, s);
    static const char *const hm[] = {"delete", "transfer", "reject", NULL};
    int h;
    if (c_enum(c, o, "hpaMode", hm, &h) > 0)
        s->hpa_mode = (enum mla_hpa_mode)h;
    static const char *const vm[] = {"warn", "deny", "ignore", NULL};
    if (c_enum(c, o, "vpa", vm, &h) > 0)
        s->vpa_mode = (enum mla_vpa_mode)h;
    json_t *p = c_obj(c, o, "predictive");
    if (p)
        c_pred(c, p, s);
    json_t *bh = c_obj(c, o, "businessHours");
    if (bh)
        c_hours(c, bh, s);
    json_t *cost = c_obj(c, o, "cost");
    if (cost)
        c_cost(c, o, cost, s);
    json_t *pod = c_obj(c, o, "pod");
    if (pod)
        c_pod(c, pod, s);
    json_t *sj = c_obj(c, o, "scaledJob");
    if (sj)
        c_scaled_job(c, sj, s);
}

/* Checks that need the whole, merged settings; reported at `cont[key]`. */
static void c_settings_final(struct mla__cctx *c, const json_t *cont, const char *key,
                             size_t idx, const struct mla_settings *s, const char *what)
{
    if (!s->ntrig)
        mla__cerr(c, cont, key, idx, 1, "%s: no triggers; at least one is needed (set "
                  "'triggers' in defaults or in the profile)", what);
    if (s->min_replicas > s->max_replicas)
        mla__cerr(c, cont, key, idx, 1, "%s: minReplicas %d is greater than maxReplicas %d", what,
                  s->min_replicas, s->max_replicas);
    if (s->min_replicas < s->b_replicas.min || s->max_replicas > s->b_replicas.max)
        mla__cerr(c, cont, key, idx, 1, "%s: replicas %d-%d are outside bounds.replicas %d-%d",
                  what, s->min_replicas, s->max_replicas, s->b_replicas.min, s->b_replicas.max);
    if (s->polling < s->b_polling.min || s->polling > s->b_polling.max)
        mla__cerr(c, cont, key, idx, 1, "%s: pollingSeconds %d is outside bounds.pollingSeconds "
                  "%d-%d", what, s->polling, s->b_polling.min, s->b_polling.max);
    if (s->cooldown < s->b_cooldown.min || s->cooldown > s->b_cooldown.max)
        mla__cerr(c, cont, key, idx, 1, "%s: cooldownSeconds %d is outside "
                  "bounds.cooldownSeconds %d-%d", what, s->cooldown, s->b_cooldown.min,
                  s->b_cooldown.max);
    bool only_res = s->ntrig > 0;
    for (size_t i = 0; i < s->ntrig; i++)
        if (s->trig[i].enabled && s->trig[i].type != MLA_TRIG_CPU &&
            s->trig[i].type != MLA_TRIG_MEMORY)
            only_res = false;
    if (only_res && s->min_replicas == 0)
        mla__cerr(c, cont, key, idx, 1, "%s: minReplicas 0 with only cpu/memory triggers: KEDA "
                  "refuses scale to zero without an external trigger", what);
    if (s->pred.ahead_min > s->pred.horizon_min)
        mla__cerr(c, cont, key, idx, 1, "%s: predictive.scaleAheadMinutes %d is longer than "
                  "horizonMinutes %d", what, s->pred.ahead_min, s->pred.horizon_min);
    if (s->pred.enabled && !s->pred.query)
        mla__cerr(c, cont, key, idx, 1, "%s: predictive.enabled needs predictive.query", what);
    if (s->fallback && s->fb_replicas > s->b_replicas.max)
        mla__cerr(c, cont, key, idx, 1, "%s: fallback.replicas %d is above bounds.replicas.max %d",
                  what, s->fb_replicas, s->b_replicas.max);
    if (s->sj.strategy != MLA_SJ_CUSTOM && (s->sj.custom_deduction >= 0 || s->sj.custom_running))
        mla__cerr(c, cont, key, idx, 1, "%s: scaledJob.customScalingQueueLengthDeduction and "
                  "customScalingRunningJobPercentage need scaledJob.scalingStrategy custom",
                  what);
    for (size_t i = 0; i < s->nwin; i++)
        if (s->win[i].min_replicas > s->b_replicas.max)
            mla__cerr(c, cont, key, idx, 1, "%s: business-hours window minReplicas %d is above "
                      "bounds.replicas.max %d", what, s->win[i].min_replicas, s->b_replicas.max);
}

/* Appends ,"k":v (v formatted as the predictive-config writer does, or null when !has) to
 * the n bytes of o (cap bytes in all). */
static size_t c_pc_num(char *o, size_t n, size_t cap, const char *k, bool has, double v)
{
    char t[64];
    if (has)
        mla_fmt_num(t, sizeof t, v);
    int w = snprintf(o + n, cap - n, ",\"%s\":%s", k, has ? t : "null");
    return w < 0 || (size_t)w >= cap - n ? cap - 1 : n + (size_t)w;
}

/* Renders s->pc_fixed (see policy_model.h) into the arena. Each part is at most 7 members of
 * at most 26 + 63 bytes, well within 1 KB; a part that did not fit stays NULL (the writer then
 * formats it itself). */
static void c_pc_fixed(struct mla_arena *a, struct mla_settings *s)
{
    char t[1024];
    size_t n = 0;
    n = c_pc_num(t, n, sizeof t, "lookbackHours", true, s->pred.lookback_h);
    n = c_pc_num(t, n, sizeof t, "stepSeconds", true, s->pred.step_s);
    n = c_pc_num(t, n, sizeof t, "horizonMinutes", true, s->pred.horizon_min);
    n = c_pc_num(t, n, sizeof t, "scaleAheadMinutes", true, s->pred.ahead_min);
    n = c_pc_num(t, n, sizeof t, "confidenceThreshold", true, s->pred.conf);
    n = c_pc_num(t, n, sizeof t, "quantile", true, s->pred.quantile);
    n = c_pc_num(t, n, sizeof t, "anomalyThreshold", true, s->pred.anomaly);
    s->pc_fixed[0] = n < sizeof t - 1 ? mla_arena_strdup(a, t) : NULL;
    n = 0;
    n = c_pc_num(t, n, sizeof t, "replicaHourlyCost", s->has_cost, s->replica_cost);
    n = c_pc_num(t, n, sizeof t, "maxHourlyCost", s->has_max_cost, s->max_cost);
    s->pc_fixed[1] = n < sizeof t - 1 ? mla_arena_strdup(a, t) : NULL;
    n = 0;
    n = c_pc_num(t, n, sizeof t, "hysteresisStep", true, s->pred.hyst_step);
    n = c_pc_num(t, n, sizeof t, "scaleDownHoldMinutes", true, s->pred.hold_min);
    s->pc_fixed[2] = n < sizeof t - 1 ? mla_arena_strdup(a, t) : NULL;
}

static void c_builtin(struct mla_settings *s)
{
    memset(s, 0, sizeof *s);
    s->min_replicas = 1;
    s->max_replicas = 10;
    s->polling = 30;
    s->cooldown = 300;
    s->b_replicas = (struct mla_range){0, 100};
    s->b_polling = (struct mla_range){5, 3600};
    s->b_cooldown = (struct mla_range){0, 86400};
    s->s2z_allowed = true;
    s->hpa_mode = MLA_HPA_DELETE;
    s->vpa_mode = MLA_VPA_WARN;
    s->pred.lookback_h = 336; /* two weeks: one week holds a single sample of each weekly slot */
    s->pred.step_s = 300;
    s->pred.horizon_min = 30;
    s->pred.ahead_min = 15;
    s->pred.conf = 0.6;
    /* where every simulate goal holds on the loop's own forecast path; 0.9 bought 16-25 % more
     * replica-hours than reactive on 5 of 7 traces (docs/forecasting.md) */
    s->pred.quantile = 0.82;
    s->pred.anomaly = 3.5;
    s->pred.hyst_step = 1;
    s->pred.hold_min = 15; /* simulate: 30 costs NASA +15.6 % replica-hours, 15 +12.7 % */
    s->night_max = -1;
    s->sj.successful_history = -1;
    s->sj.failed_history = -1;
    s->sj.custom_deduction = -1;
}

/* match.namespaces / match.excludeNamespaces: names or globs; *out gets the good ones. */
static void c_ns_list(struct mla__cctx *c, const json_t *m, const char *key, const char ***out,
                      size_t *nout)
{
    json_t *a = c_arr(c, m, key);
    if (!a)
        return;
    const char **l = mla_arena_alloc(c->a, (json_array_size(a) + 1) * sizeof *l);
    size_t i, n = 0;
    json_t *v;
    json_array_foreach(a, i, v) {
        if (!json_is_string(v) || !json_string_length(v)) {
            mla__cerr(c, a, NULL, i, 0, "%s: each entry must be a namespace name or glob "
                      "(e.g. ml-*), got %s", key, c_type(v));
            continue;
        }
        l[n++] = mla_arena_strdup(c->a, json_string_value(v));
    }
    *out = l;
    *nout = n;
}

/* matchLabels: each label becomes an "In" requirement with one value; appends at r[*n]. */
static void c_match_labels(struct mla__cctx *c, json_t *ml, struct mla_sel_req *r, size_t *n)
{
    const char *k;
    json_t *v;
    json_object_foreach(ml, k, v) {
        if (!json_is_string(v)) {
            mla__cerr(c, ml, k, 0, 0, "matchLabels.%s: must be a string (quote it), got %s",
                      k, c_type(v));
            continue;
        }
        r[*n].key = mla_arena_strdup(c->a, k);
        r[*n].op = MLA_SEL_IN;
        r[*n].nval = 1;
        const char **vals = mla_arena_alloc(c->a, 2 * sizeof *vals);
        vals[0] = mla_arena_strdup(c->a, json_string_value(v));
        r[*n].val = vals;
        (*n)++;
    }
}

/* One matchExpressions entry me[i] into *r; false when it is not usable (already reported).
 * All of it is checked even then, so every mistake is reported in one pass. */
static bool c_match_expr(struct mla__cctx *c, const json_t *me, size_t i, struct mla_sel_req *r)
{
    const json_t *e = json_array_get(me, i);
    if (!json_is_object(e)) {
        mla__cerr(c, me, NULL, i, 0, "matchExpressions: each entry must be a mapping");
        return false;
    }
    static const char *const ek[] = {"key", "operator", "values", NULL};
    static const char *const ops[] = {"In", "NotIn", "Exists", "DoesNotExist", NULL};
    c_keys(c, e, ek, "a matchExpression");
    int op = -1;
    int have_key = c_str(c, e, "key", &r->key);
    if (have_key == 0)
        mla__cerr(c, me, NULL, i, 0, "matchExpression: 'key' is required");
    if (c_enum(c, e, "operator", ops, &op) == 0)
        mla__cerr(c, me, NULL, i, 0, "matchExpression: 'operator' is required; "
                  "allowed: In, NotIn, Exists, DoesNotExist");
    json_t *vals = c_arr(c, e, "values");
    size_t nv = vals ? json_array_size(vals) : 0;
    if (op == MLA_SEL_IN || op == MLA_SEL_NOTIN) {
        if (!nv)
            mla__cerr(c, me, NULL, i, 0, "matchExpression: operator %s needs a "
                      "non-empty 'values'", ops[op]);
    } else if (op >= 0 && json_object_get(e, "values") && nv) {
        mla__cerr(c, e, "values", 0, 1, "matchExpression: operator %s takes no "
                  "'values'", ops[op]);
    }
    const char **vv = mla_arena_alloc(c->a, (nv + 1) * sizeof *vv);
    size_t j, k = 0;
    json_t *v;
    if (vals)
        json_array_foreach(vals, j, v) {
            if (!json_is_string(v)) {
                mla__cerr(c, vals, NULL, j, 0, "values: each entry must be a string "
                          "(quote it), got %s", c_type(v));
                continue;
            }
            vv[k++] = mla_arena_strdup(c->a, json_string_value(v));
        }
    if (op < 0 || have_key <= 0)
        return false;
    r->op = (enum mla_sel_op)op;
    r->val = vv;
    r->nval = k;
    return true;
}

/* match.selector: matchLabels and matchExpressions, as one list of requirements. */
static void c_selector(struct mla__cctx *c, const json_t *sel, struct mla_policy *p)
{
    static const char *const sk[] = {"matchLabels", "matchExpressions", NULL};
    c_keys(c, sel, sk, "selector");
    json_t *ml = c_obj(c, sel, "matchLabels");
    json_t *me = c_arr(c, sel, "matchExpressions");
    size_t cap = (ml ? json_object_size(ml) : 0) + (me ? json_array_size(me) : 0) + 1;
    struct mla_sel_req *r = mla_arena_alloc(c->a, cap * sizeof *r);
    size_t n = 0;
    if (ml)
        c_match_labels(c, ml, r, &n);
    if (me)
        for (size_t i = 0; i < json_array_size(me); i++)
            if (c_match_expr(c, me, i, &r[n]))
                n++;
    p->sel = r;
    p->nsel = n;
}

static void c_match(struct mla__cctx *c, const json_t *m, struct mla_policy *p)
{
    static const char *const keys[] = {"namespaces", "excludeNamespaces", "selector", NULL};
    c_keys(c, m, keys, "match");
    c_ns_list(c, m, "namespaces", &p->ns, &p->nns);
    c_ns_list(c, m, "excludeNamespaces", &p->excl, &p->nexcl);
    json_t *sel = c_obj(c, m, "selector");
    if (!sel)
        return;
    c_selector(c, sel, p);
}

bool mla__compile_policy(struct mla__cctx *c, const json_t *arr, size_t idx,
                         struct mla_policy *out)
{
    int before = c->nerr;
    const json_t *o = json_array_get(arr, idx);
    if (!json_is_object(o)) {
        mla__cerr(c, arr, NULL, idx, 0, "policies: each entry must be a mapping, got %s",
                  c_type(o));
        return false;
    }
    static const char *const keys[] = {"name", "description", "priority", "match", "defaults",
                                       "profiles", "defaultProfile", NULL};
    c_keys(c, o, keys, "a policy");
    if (c_str(c, o, "name", &out->name) == 0)
        mla__cerr(c, arr, NULL, idx, 0, "policy: 'name' is required");
    else if (out->name && !c_dns_label(out->name))
        mla__cerr(c, o, "name", 0, 0, "name: '%s' must be a DNS label (lowercase letters, "
                  "digits and '-', at most 63)", out->name);
    const char *desc;
    c_str(c, o, "description", &desc);
    c_int(c, o, "priority", -1000000, 1000000, &out->priority);
    json_t *m = c_obj(c, o, "match");
    if (m)
        c_match(c, m, out);
    struct mla_settings base;
    c_builtin(&base);
    json_t *def = c_obj(c, o, "defaults");
    if (def)
        c_settings(c, def, &base, "defaults");
    json_t *profs = c_obj(c, o, "profiles");
    size_t np = profs ? json_object_size(profs) : 0;
    struct mla_profile *pr = mla_arena_alloc(c->a, (np ? np : 1) * sizeof *pr);
    if (!np) {
        pr[0].name = out->name ? out->name : "";
        pr[0].s = base;
        c_settings_final(c, arr, NULL, idx, &pr[0].s, "defaults");
        np = 1;
    } else {
        size_t i = 0;
        const char *k;
        json_t *v;
        json_object_foreach(profs, k, v) {
            pr[i].name = mla_arena_strdup(c->a, k);
            pr[i].s = base;
            if (!c_dns_label(k))
                mla__cerr(c, profs, k, 0, 1, "profile name '%s' must be a DNS label", k);
            if (json_is_object(v)) {
                char what[128];
                snprintf(what, sizeof what, "profile '%s'", k);
                c_settings(c, v, &pr[i].s, what);
                c_settings_final(c, profs, k, 0, &pr[i].s, what);
            } else if (!json_is_null(v)) {
                mla__cerr(c, profs, k, 0, 0, "profile '%s': must be a mapping, got %s", k,
                          c_type(v));
            } else {
                c_settings_final(c, profs, k, 0, &pr[i].s, "defaults");
            }
            i++;
        }
    }
    for (size_t i = 0; i < np; i++)
        c_pc_fixed(c->a, &pr[i].s);
    out->prof = pr;
    out->nprof = np;
    out->default_profile = &pr[0];
    const char *dp;
    if (c_str(c, o, "defaultProfile", &dp) > 0) {
        out->default_profile = NULL;
        for (size_t i = 0; i < np; i++)
            if (!strcmp(pr[i].name, dp))
                out->default_profile = &pr[i];
        if (!out->default_profile) {
            mla__cerr(c, o, "defaultProfile", 0, 0, "defaultProfile: '%s' is not a profile of "
                      "this policy", dp);
            out->default_profile = &pr[0];
        }
    }
    return c->nerr == before;
}
