/* admission/resolve.c - admin defaults -> profile -> annotation overrides, clamped to the policy's
 * bounds: a warning for every clamp, a denial naming the annotation and the allowed values for
 * every invalid one (all of them in one message, so a user fixes them in one go).
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mla/resolve.h"

#include "admission-int.h"

#include "mla/hours.h"
#include "mla/scaledobject.h"
#include "mla/show.h"

struct rs_deny {
    char msg[1000];
    size_t len;
    char show[4][MLA_SHOW_BUF]; /* rs_q's ring: up to 4 quoted values per message */
    unsigned next;
};

/* A user-supplied value made safe to quote (see show.h); valid until 4 more calls. */
static const char *rs_q(struct rs_deny *dn, const char *v)
{
    char *b = dn->show[dn->next++ % 4];
    return mla_show(v, MLA_SHOW_MAX, b, MLA_SHOW_BUF);
}

static void rs_deny(struct rs_deny *dn, const char *fmt, ...) MLA_PRINTF(2, 3);
static void rs_deny(struct rs_deny *dn, const char *fmt, ...)
{
    if (dn->len >= sizeof dn->msg - 1)
        return;
    if (dn->len)
        dn->len += (size_t)snprintf(dn->msg + dn->len, sizeof dn->msg - dn->len, "; ");
    if (dn->len >= sizeof dn->msg - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(dn->msg + dn->len, sizeof dn->msg - dn->len, fmt, ap);
    va_end(ap);
    if (w > 0)
        dn->len += (size_t)w;
    if (dn->len > sizeof dn->msg - 1)
        dn->len = sizeof dn->msg - 1;
}

static bool rs_int(const char *v, long lo, long hi, int *out)
{
    char *end = NULL;
    if (!*v || isspace((unsigned char)*v))
        return false;
    long x = strtol(v, &end, 10);
    if (*end || x < lo || x > hi)
        return false;
    *out = (int)x;
    return true;
}

static bool rs_pos_num(const char *v, double *out)
{
    char *end = NULL;
    /* decimal only: strtod also takes hex ("0x10"), "inf" and "nan", which no user means */
    if (!*v || strspn(v, "0123456789.eE+-") != strlen(v))
        return false;
    double x = strtod(v, &end);
    if (*end || !isfinite(x) || x <= 0 || x > 1e12)
        return false;
    *out = x;
    return true;
}

/* Whether any enabled template of the profile uses annotation `a` as a variable. */
static bool rs_tpl_uses(const struct mla_tpl *t, int a)
{
    for (size_t i = 0; t && i < t->nseg; i++)
        if (t->seg[i].var == a)
            return true;
    return false;
}

static bool rs_profile_uses(const struct mla_settings *s, int a)
{
    if (rs_tpl_uses(s->pred.query, a))
        return true;
    for (size_t i = 0; i < s->ntrig; i++)
        for (size_t j = 0; j < s->trig[i].nmeta; j++)
            if (rs_tpl_uses(s->trig[i].meta[j].tpl, a))
                return true;
    return false;
}

static void rs_profiles_list(const struct mla_policy *pol, size_t n, const char *ns,
                             const cJSON *labels, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    for (int pass = 0; pass < 2 && !len; pass++)
        for (size_t i = 0; i < n; i++) {
            if (!pass && !mla_policy_matches(&pol[i], ns, labels))
                continue;
            for (size_t j = 0; j < pol[i].nprof; j++) {
                int w = snprintf(out + len, cap - len, "%s%s", len ? ", " : "",
                                 pol[i].prof[j].name);
                if (w < 0 || (size_t)w >= cap - len)
                    return;
                len += (size_t)w;
            }
        }
}

/* What the steps of mla_resolve() share: the resolution being filled, the decision that gets
 * the warnings, the denial being collected and the annotation values parsed in step 2. */
struct rs_ctx {
    struct mla_resolved *r;
    struct mla_decision *d;
    struct rs_deny dn;
    const char *ns;
    const cJSON *labels;
    int ival[MLA_ANN__COUNT];
    double dval[MLA_ANN__COUNT];
    bool bval[MLA_ANN__COUNT];
    char tlist[256]; /* the profile's triggers, for messages */
};

static int rs_clamp(struct rs_ctx *c, const char *key, int v, int lo, int hi)
{
    int x = v < lo ? lo : v > hi ? hi : v;
    if (x != v)
        mla_decision_warn(c->d, "ml-autoscaling: " MLA_ANN_PREFIX "%s %d is outside the bounds "
                          "%d-%d of policy '%s' profile '%s'; using %d", key, v, lo, hi,
                          c->r->policy->name, c->r->profile->name, x);
    return x;
}

static const char *rs_trig_label(const struct mla_trigger_tpl *t)
{
    return t->metric ? t->metric : t->name ? t->name : mla_trig_type_name(t->type);
}

/* 1. every annotation under the prefix: known, and a string */
static void rs_annotations(struct rs_ctx *c, const cJSON *anns)
{
    const size_t plen = sizeof MLA_ANN_PREFIX - 1;
    for (const cJSON *a = anns ? anns->child : NULL; a; a = a->next) {
        if (!a->string || strncmp(a->string, MLA_ANN_PREFIX, plen))
            continue;
        int k = mla_ann_lookup(a->string + plen);
        if (k < 0) {
            char keys[512];
            mla_ann_user_keys(keys, sizeof keys);
            rs_deny(&c->dn, "unknown annotation %s; allowed keys under " MLA_ANN_PREFIX ": %s",
                    rs_q(&c->dn, a->string), keys);
            continue;
        }
        if (!cJSON_IsString(a)) {
            rs_deny(&c->dn, "%s must be a string; allowed: a JSON string",
                    rs_q(&c->dn, a->string));
            continue;
        }
        c->r->ann[k] = a->valuestring;
    }
}

/* 2a. booleans, integers and numbers */
static void rs_syntax_values(struct rs_ctx *c)
{
    const char *const *ann = c->r->ann;
    static const int bools[] = {MLA_ANN_SCALE_TO_ZERO, MLA_ANN_PREDICTIVE, MLA_ANN_SKIP_SO};
    for (size_t i = 0; i < sizeof bools / sizeof *bools; i++) {
        const char *v = ann[bools[i]];
        if (!v)
            continue;
        if (!strcmp(v, "true") || !strcmp(v, "false"))
            c->bval[bools[i]] = v[0] == 't';
        else
            rs_deny(&c->dn, MLA_ANN_PREFIX "%s: \"%s\" is not allowed; allowed: \"true\" or "
                    "\"false\"", mla_ann_key(bools[i]), rs_q(&c->dn, v));
    }
    static const struct { int a; long lo, hi; } ints[] = {
        {MLA_ANN_MIN_REPLICAS, 0, 10000}, {MLA_ANN_MAX_REPLICAS, 1, 10000},
        {MLA_ANN_COOLDOWN, 0, 604800}, {MLA_ANN_POLLING, 1, 86400},
        {MLA_ANN_QUEUE_LENGTH, 1, 1000000000}};
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) {
        const char *v = ann[ints[i].a];
        if (v && !rs_int(v, ints[i].lo, ints[i].hi, &c->ival[ints[i].a]))
            rs_deny(&c->dn, MLA_ANN_PREFIX "%s: \"%s\" is not valid; allowed: an integer from "
                    "%ld to %ld", mla_ann_key(ints[i].a), rs_q(&c->dn, v), ints[i].lo, ints[i].hi);
    }
    static const int nums[] = {MLA_ANN_TARGET_RPS, MLA_ANN_TARGET_LATENCY_MS, MLA_ANN_TARGET_GPU,
                               MLA_ANN_TARGET_TPS, MLA_ANN_CAPACITY};
    for (size_t i = 0; i < sizeof nums / sizeof *nums; i++) {
        const char *v = ann[nums[i]];
        if (v && !rs_pos_num(v, &c->dval[nums[i]]))
            rs_deny(&c->dn, MLA_ANN_PREFIX "%s: \"%s\" is not a number; allowed: a number "
                    "greater than 0", mla_ann_key(nums[i]), rs_q(&c->dn, v));
    }
    if (ann[MLA_ANN_TARGET_GPU] && c->dval[MLA_ANN_TARGET_GPU] > 100)
        rs_deny(&c->dn, MLA_ANN_PREFIX "target-gpu-utilization: \"%s\" is not valid; allowed: a "
                "percentage greater than 0 and at most 100",
                rs_q(&c->dn, ann[MLA_ANN_TARGET_GPU]));
    if (ann[MLA_ANN_MIN_REPLICAS] && ann[MLA_ANN_MAX_REPLICAS] &&
        c->ival[MLA_ANN_MIN_REPLICAS] > c->ival[MLA_ANN_MAX_REPLICAS] &&
        c->ival[MLA_ANN_MAX_REPLICAS])
        rs_deny(&c->dn, MLA_ANN_PREFIX "min-replicas %d is greater than " MLA_ANN_PREFIX
                "max-replicas %d; allowed: min-replicas <= max-replicas",
                c->ival[MLA_ANN_MIN_REPLICAS], c->ival[MLA_ANN_MAX_REPLICAS]);
}

/* 2b. queue name, time zone and business hours (zones from the set's database) */
static void rs_syntax_text(struct rs_ctx *c, const struct mla_policy_set *ps)
{
    const char *const *ann = c->r->ann;
    const char *q = ann[MLA_ANN_QUEUE];
    if (q) {
        bool ok = *q && strlen(q) <= 255;
        for (const unsigned char *ch = (const unsigned char *)q; ok && *ch; ch++)
            ok = *ch >= 0x20 && *ch != 0x7f;
        if (!ok)
            rs_deny(&c->dn, MLA_ANN_PREFIX "queue: not a valid queue name; allowed: 1 to 255 "
                    "printable characters");
    }
    if (ann[MLA_ANN_TIMEZONE]) {
        const struct mla_tz *tz;
        struct mla_err te;
        mla_err_clear(&te);
        if (mla_hours_db_find(mla_policy_set_tzdb(ps), ann[MLA_ANN_TIMEZONE], &tz, &te) !=
            MLA_OK)
            rs_deny(&c->dn, MLA_ANN_PREFIX "timezone: \"%s\" is not a known time zone; allowed: "
                    "an IANA time zone name such as Europe/Berlin, America/New_York or UTC",
                    rs_q(&c->dn, ann[MLA_ANN_TIMEZONE]));
    }
    if (ann[MLA_ANN_BUSINESS_HOURS]) {
        /* syntax only here (the floor and zone are known later), so that every bad
         * annotation is reported at once */
        struct mla_hours *h = NULL;
        struct mla_err he;
        char hshow[MLA_SHOW_BUF * 3];
        mla_err_clear(&he);
        if (mla_hours_parse_in(mla_policy_set_tzdb(ps), ann[MLA_ANN_BUSINESS_HOURS], "UTC", 1, &h,
                               &he) != MLA_OK)
            rs_deny(&c->dn, MLA_ANN_PREFIX "business-hours: \"%s\" is not valid (%s); allowed: "
                    "\"DAYS HH:MM-HH:MM [min=N]\" windows separated by ';', e.g. \"Mon-Fri "
                    "09:00-18:00; Sat 10:00-14:00\"", rs_q(&c->dn, ann[MLA_ANN_BUSINESS_HOURS]),
                    mla_show(he.msg, 160, hshow, sizeof hshow));
        else if (h->n > MLA_MAX_WINDOWS)
            rs_deny(&c->dn, MLA_ANN_PREFIX "business-hours: %zu windows; allowed: at most %d",
                    h->n, MLA_MAX_WINDOWS);
        mla_hours_destroy(h);
    }
}

/* 3. the policy and profile; false (with the denial recorded) when none applies */
static bool rs_profile(struct rs_ctx *c, const struct mla_policy_set *ps)
{
    struct mla_resolved *r = c->r;
    size_t np;
    const struct mla_policy *pol = mla_policy_set_policies(ps, &np);
    const char *want = r->ann[MLA_ANN_PROFILE];
    for (size_t i = 0; i < np && !r->profile; i++) {
        if (!mla_policy_matches(&pol[i], c->ns, c->labels))
            continue;
        const struct mla_profile *pr = want ? mla_policy_profile(&pol[i], want)
                                            : pol[i].default_profile;
        if (pr) {
            r->policy = &pol[i];
            r->profile = pr;
        }
    }
    if (r->profile) {
        r->s = &r->profile->s;
        return true;
    }
    char list[512];
    rs_profiles_list(pol, np, c->ns, c->labels, list, sizeof list);
    const struct mla_policy *elsewhere = NULL;
    for (size_t i = 0; want && i < np && !elsewhere; i++)
        if (mla_policy_profile(&pol[i], want))
            elsewhere = &pol[i];
    if (want && elsewhere)
        rs_deny(&c->dn, MLA_ANN_PREFIX "profile: \"%s\" (policy '%s') does not apply to this "
                "Deployment in namespace %s (the policy's namespaces/selector do not match); "
                "allowed here: %s", rs_q(&c->dn, want), elsewhere->name, rs_q(&c->dn, c->ns),
                *list ? list : "none");
    else if (want)
        rs_deny(&c->dn, MLA_ANN_PREFIX "profile: unknown profile \"%s\"; allowed: %s",
                rs_q(&c->dn, want), *list ? list : "none");
    else
        rs_deny(&c->dn, "no policy matches this Deployment in namespace %s; set "
                MLA_ANN_PREFIX "profile to one of: %s", rs_q(&c->dn, c->ns),
                *list ? list : "none");
    return false;
}

/* The profile's triggers as a list for denial messages, into c->tlist. Built only when a
 * message needs it: it was printed on every admission (about 1 % of an opted-in one). */
static const char *rs_tlist(struct rs_ctx *c)
{
    const struct mla_settings *s = c->r->s;
    size_t tl = 0;
    c->tlist[0] = '\0';
    for (size_t i = 0; i < s->ntrig && i < MLA_MAX_TRIGGERS; i++) {
        int w = snprintf(c->tlist + tl, sizeof c->tlist - tl, "%s%s", tl ? ", " : "",
                         rs_trig_label(&s->trig[i]));
        if (w > 0 && (size_t)w < sizeof c->tlist - tl)
            tl += (size_t)w;
    }
    return c->tlist;
}

/* 4. triggers: annotation targets pick and tune them */
static void rs_triggers(struct rs_ctx *c)
{
    struct mla_resolved *r = c->r;
    const struct mla_settings *s = r->s;
    static const int targets[] = {MLA_ANN_TARGET_RPS, MLA_ANN_TARGET_LATENCY_MS,
                                  MLA_ANN_TARGET_GPU, MLA_ANN_TARGET_TPS, MLA_ANN_QUEUE_LENGTH};
    for (size_t i = 0; i < s->ntrig && i < MLA_MAX_TRIGGERS; i++) {
        const struct mla_trigger_tpl *t = &s->trig[i];
        r->trig_on[i] = t->enabled;
        r->trig_thr[i] = t->threshold;
        if (t->metric_ann >= 0 && r->ann[t->metric_ann]) {
            r->trig_on[i] = true;
            r->trig_thr[i] = t->metric_ann == MLA_ANN_QUEUE_LENGTH ? c->ival[t->metric_ann]
                                                                    : c->dval[t->metric_ann];
        }
    }
    for (size_t k = 0; k < sizeof targets / sizeof *targets; k++) {
        if (!r->ann[targets[k]])
            continue;
        bool found = false;
        for (size_t i = 0; i < s->ntrig && !found; i++)
            found = s->trig[i].metric_ann == targets[k];
        if (!found)
            rs_deny(&c->dn, MLA_ANN_PREFIX "%s: unknown trigger for profile '%s' (policy '%s'); "
                    "its triggers: %s; allowed: a profile with that trigger",
                    mla_ann_key(targets[k]), r->profile->name, r->policy->name,
                    rs_tlist(c));
    }
    if (r->ann[MLA_ANN_QUEUE] && !rs_profile_uses(s, MLA_ANN_QUEUE))
        rs_deny(&c->dn, MLA_ANN_PREFIX "queue: unknown trigger: profile '%s' (policy '%s') has "
                "no trigger that reads a queue; its triggers: %s; allowed: a profile with a "
                "queue trigger", r->profile->name, r->policy->name, rs_tlist(c));
}

/* 5a. scale to zero: allowed by the profile, not contradicted, within the bounds */
static void rs_scale_to_zero(struct rs_ctx *c)
{
    struct mla_resolved *r = c->r;
    const struct mla_settings *s = r->s;
    if (!s->s2z_allowed)
        rs_deny(&c->dn, MLA_ANN_PREFIX "scale-to-zero: profile '%s' (policy '%s') does not "
                "allow scale to zero; allowed: \"false\"", r->profile->name, r->policy->name);
    else if (r->ann[MLA_ANN_MIN_REPLICAS] && c->ival[MLA_ANN_MIN_REPLICAS] > 0)
        rs_deny(&c->dn, MLA_ANN_PREFIX "scale-to-zero: \"true\" contradicts " MLA_ANN_PREFIX
                "min-replicas \"%s\"; allowed: remove one of them",
                rs_q(&c->dn, r->ann[MLA_ANN_MIN_REPLICAS]));
    else if (s->b_replicas.min > 0) {
        r->min_replicas = s->b_replicas.min;
        mla_decision_warn(c->d, "ml-autoscaling: scale-to-zero: the bounds of policy '%s' keep "
                          "at least %d replica%s; using minReplicaCount %d", r->policy->name,
                          s->b_replicas.min, s->b_replicas.min == 1 ? "" : "s",
                          s->b_replicas.min);
    } else if (s->s2z_idle) {
        /* idle: 0 replicas; active: at least minReplicaCount (KEDA needs idle < min) */
        r->idle_zero = true;
        if (r->min_replicas < 1)
            r->min_replicas = 1;
    } else
        r->min_replicas = 0;
}

/* 5. replica bounds */
static void rs_replicas(struct rs_ctx *c)
{
    struct mla_resolved *r = c->r;
    const struct mla_settings *s = r->s;
    r->min_replicas = s->min_replicas;
    r->max_replicas = s->max_replicas;
    if (r->ann[MLA_ANN_MAX_REPLICAS] && c->ival[MLA_ANN_MAX_REPLICAS])
        r->max_replicas = rs_clamp(c, "max-replicas", c->ival[MLA_ANN_MAX_REPLICAS],
                                   s->b_replicas.min > 1 ? s->b_replicas.min : 1,
                                   s->b_replicas.max);
    if (r->ann[MLA_ANN_MIN_REPLICAS] && r->ann[MLA_ANN_MIN_REPLICAS][0])
        r->min_replicas = rs_clamp(c, "min-replicas", c->ival[MLA_ANN_MIN_REPLICAS],
                                   s->b_replicas.min, s->b_replicas.max);
    r->scale_to_zero = c->bval[MLA_ANN_SCALE_TO_ZERO];
    if (r->scale_to_zero)
        rs_scale_to_zero(c);
    if (r->min_replicas > r->max_replicas) {
        bool min_set = r->ann[MLA_ANN_MIN_REPLICAS] != NULL;
        bool max_set = r->ann[MLA_ANN_MAX_REPLICAS] != NULL;
        if (!(min_set && max_set))
            rs_deny(&c->dn, MLA_ANN_PREFIX "%s: minReplicas %d would be greater than "
                    "maxReplicas %d (%s); allowed: min-replicas <= max-replicas (set "
                    MLA_ANN_PREFIX "%s too)", min_set ? "min-replicas" : "max-replicas",
                    r->min_replicas, r->max_replicas,
                    min_set ? "the profile's default" : "the profile's minimum",
                    min_set ? "max-replicas" : "min-replicas");
    }
    bool external = false;
    for (size_t i = 0; i < s->ntrig && i < MLA_MAX_TRIGGERS; i++)
        if (r->trig_on[i] && s->trig[i].type != MLA_TRIG_CPU &&
            s->trig[i].type != MLA_TRIG_MEMORY)
            external = true;
    if ((r->min_replicas == 0 || r->idle_zero) && !external)
        rs_deny(&c->dn, "%s: minReplicaCount 0 with only cpu/memory triggers cannot work (KEDA "
                "refuses it: the HPA cannot wake a workload from zero without an external "
                "metric); allowed: min-replicas >= 1, or a profile with a queue or Prometheus "
                "trigger", r->scale_to_zero ? MLA_ANN_PREFIX "scale-to-zero"
                                            : MLA_ANN_PREFIX "min-replicas");
}

/* 6. timing */
static void rs_timing(struct rs_ctx *c)
{
    struct mla_resolved *r = c->r;
    const struct mla_settings *s = r->s;
    r->polling = s->polling;
    if (r->ann[MLA_ANN_POLLING] && c->ival[MLA_ANN_POLLING])
        r->polling = rs_clamp(c, "polling-seconds", c->ival[MLA_ANN_POLLING], s->b_polling.min,
                              s->b_polling.max);
    r->cooldown = s->cooldown;
    if (r->scale_to_zero && (r->min_replicas == 0 || r->idle_zero) && s->idle_seconds)
        r->cooldown = s->idle_seconds;
    if (r->ann[MLA_ANN_COOLDOWN] && r->ann[MLA_ANN_COOLDOWN][0])
        r->cooldown = rs_clamp(c, "cooldown-seconds", c->ival[MLA_ANN_COOLDOWN],
                               s->b_cooldown.min, s->b_cooldown.max);
}

/* 7a. predictive settings and the capacity of one replica */
static void rs_predictive(struct rs_ctx *c)
{
    struct mla_resolved *r = c->r;
    const struct mla_settings *s = r->s;
    r->predictive = s->pred.enabled;
    if (r->ann[MLA_ANN_PREDICTIVE] && !c->bval[MLA_ANN_PREDICTIVE])
        r->predictive = false;
    else if (r->ann[MLA_ANN_PREDICTIVE] && !s->pred.enabled)
        mla_decision_warn(c->d, "ml-autoscaling: predictive: \"true\" has no effect: policy "
                          "'%s' profile '%s' has no predictive settings", r->policy->name,
                          r->profile->name);
    r->has_capacity = s->pred.has_capacity;
    r->capacity = s->pred.capacity;
    if (r->ann[MLA_ANN_CAPACITY] && c->dval[MLA_ANN_CAPACITY] > 0) {
        r->has_capacity = true;
        r->capacity = c->dval[MLA_ANN_CAPACITY];
    }
    for (size_t i = 0; !r->has_capacity && i < s->ntrig && i < MLA_MAX_TRIGGERS; i++)
        if (r->trig_on[i] && s->trig[i].metric_ann == MLA_ANN_TARGET_RPS) {
            /* the rps target is what one replica is meant to serve */
            r->has_capacity = true;
            r->capacity = r->trig_thr[i];
        }
}

/* 7b. business hours from the annotation: windows with their floors, capped by the max */
static void rs_hours_annotation(struct rs_ctx *c, const struct mla_policy_set *ps)
{
    struct mla_resolved *r = c->r;
    const struct mla_settings *s = r->s;
    int floor = s->bh_min_replicas ? s->bh_min_replicas
                                   : (r->min_replicas > 1 ? r->min_replicas : 1);
    if (floor > r->max_replicas)
        floor = r->max_replicas;
    struct mla_hours *h = NULL;
    if (mla_hours_parse_in(mla_policy_set_tzdb(ps), r->ann[MLA_ANN_BUSINESS_HOURS], r->timezone,
                           floor, &h, NULL) != MLA_OK)
        return;
    for (size_t i = 0; i < h->n && i < MLA_MAX_WINDOWS; i++) {
        mla_hours_days_format(h->w[i].days, r->win_text[i][0], sizeof r->win_text[i][0]);
        mla_hours_time_format(h->w[i].start_min, r->win_text[i][1], sizeof r->win_text[i][1]);
        mla_hours_time_format(h->w[i].end_min, r->win_text[i][2], sizeof r->win_text[i][2]);
        int m = h->w[i].min_replicas;
        if (m > r->max_replicas) {
            mla_decision_warn(c->d, "ml-autoscaling: business-hours min=%d is above "
                              "maxReplicaCount %d; using %d", m, r->max_replicas,
                              r->max_replicas);
            m = r->max_replicas;
        }
        r->win[i] = (struct mla_window){.days = r->win_text[i][0], .start = r->win_text[i][1],
                                        .end = r->win_text[i][2], .min_replicas = m};
        r->nwin++;
    }
    mla_hours_destroy(h);
}

/* 7c. business hours: the annotation's, else the policy's, each floor capped by the max */
static void rs_hours(struct rs_ctx *c, const struct mla_policy_set *ps)
{
    struct mla_resolved *r = c->r;
    const struct mla_settings *s = r->s;
    r->timezone = r->ann[MLA_ANN_TIMEZONE] ? r->ann[MLA_ANN_TIMEZONE] : s->timezone;
    if (r->ann[MLA_ANN_BUSINESS_HOURS]) {
        rs_hours_annotation(c, ps);
    } else {
        for (size_t i = 0; i < s->nwin && i < MLA_MAX_WINDOWS; i++) {
            r->win[i] = s->win[i];
            if (r->win[i].min_replicas > r->max_replicas) {
                mla_decision_warn(c->d, "ml-autoscaling: business-hours floor %d of policy '%s' "
                                  "is above maxReplicaCount %d; using %d",
                                  r->win[i].min_replicas, r->policy->name, r->max_replicas,
                                  r->max_replicas);
                r->win[i].min_replicas = r->max_replicas;
            }
        }
        r->nwin = s->nwin < MLA_MAX_WINDOWS ? s->nwin : MLA_MAX_WINDOWS;
    }
    if (r->ann[MLA_ANN_TIMEZONE] && !r->ann[MLA_ANN_BUSINESS_HOURS] && !r->nwin)
        mla_decision_warn(c->d, "ml-autoscaling: timezone has no effect without business hours");
}

enum mla_code mla_resolve(const struct mla_policy_set *ps, const cJSON *obj, const char *ns,
                          struct mla_resolved *r, struct mla_decision *d, struct mla_err *err)
{
    memset(r, 0, sizeof *r);
    const cJSON *meta = mla__adm_get(obj, "metadata");
    const char *name = cJSON_GetStringValue(mla__adm_get(meta, "name"));
    if (!name || !*name) {
        /* generateName is resolved after admission: the ScaledObject could not name it */
        snprintf(d->message, sizeof d->message, "ml-autoscaling: the Deployment needs "
                 "metadata.name to be autoscaled (generateName is not supported)");
        return mla_err_set(err, MLA_EDENIED, "the Deployment needs metadata.name");
    }
    r->name = name;
    r->ns = ns;
    struct rs_ctx c = {.r = r, .d = d, .ns = ns,
                       .labels = mla__adm_get(meta, "labels")};
    rs_annotations(&c, mla__adm_get(meta, "annotations"));
    rs_syntax_values(&c);
    rs_syntax_text(&c, ps);
    if (!rs_profile(&c, ps))
        return mla_err_set(err, MLA_EDENIED, "%s", c.dn.msg);
    rs_triggers(&c);
    rs_replicas(&c);
    rs_timing(&c);
    rs_predictive(&c);
    rs_hours(&c, ps);
    r->skip_write = c.bval[MLA_ANN_SKIP_SO];
    if (c.dn.len) {
        snprintf(d->message, sizeof d->message, "ml-autoscaling: %s", c.dn.msg);
        return mla_err_set(err, MLA_EDENIED, "%s", c.dn.msg);
    }
    mla_so_short_name(name, 54, r->so_name);
    mla_so_short_name(name, 63, r->dep_label);
    return MLA_OK;
}
