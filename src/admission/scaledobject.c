/* admission/scaledobject.c - the keda.sh/v1alpha1 ScaledObject for a resolved Deployment.
 *
 * What KEDA's webhook and CRD schema demand is built in here rather than left to chance:
 * minReplicaCount always explicit; names kept within 63 characters including keda-hpa-<name>;
 * ignoreNullValues "false" on prometheus triggers whenever fallback is set (otherwise an empty
 * result reads as 0 and fallback never fires); fallback only where KEDA accepts it (at least
 * one non-cpu/memory trigger with metricType AverageValue); never
 * restoreToOriginalReplicaCount (it wedges deletion of owned objects). Labels of GitOps tools
 * are never copied: Argo CD or Flux would otherwise adopt, and then prune, our object.
 */
#include "mla/scaledobject.h"

#include "admission-int.h"

#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mla/mem.h"
#include "mla/numfmt.h"

void mla_so_short_name(const char *name, size_t max, char *out)
{
    size_t n = strlen(name);
    if (n <= max) {
        memcpy(out, name, n + 1);
        return;
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_Digest(name, n, md, &mdlen, EVP_sha256(), NULL);
    size_t keep = max - 9;
    while (keep && (name[keep - 1] == '-' || name[keep - 1] == '.'))
        keep--;
    memcpy(out, name, keep);
    snprintf(out + keep, max + 1 - keep, "-%02x%02x%02x%02x", md[0], md[1], md[2], md[3]);
}

/* The ScaledObject's nodes are built with admission-int.h's mla__adm_node & co. (as
 * cJSON_Create* and cJSON_Add*ToObject build them, without a call into libcjson per node: a
 * ScaledObject is about a hundred nodes, and those calls were a third of its cost). */
/* cJSON_AddStringToObject: key and value copied. */
static cJSON *so_add_str(cJSON *o, const char *key, const char *v)
{
    if (!o || !key)
        return NULL;
    cJSON *n = mla__adm_string(v);
    if (n && !(n->string = mla__adm_dup(key))) {
        cJSON_Delete(n);
        return NULL;
    }
    return mla__adm_link(o, n);
}

static cJSON *so_str(cJSON *o, const char *lit, const char *v)
{
    return mla__adm_put(o, lit, mla__adm_string(v));
}

/* A member whose value is a string literal too (cJSON_CreateStringReference: cJSON_IsReference,
 * which cJSON_Delete does not free and cJSON_Duplicate copies), one allocation and copy less. */
static cJSON *so_lit(cJSON *o, const char *lit, const char *vlit)
{
    cJSON *n = mla__adm_node(cJSON_String | cJSON_IsReference);
    if (n)
        n->valuestring = (char *)vlit; /* cJSON_IsReference: never freed nor written */
    return mla__adm_put(o, lit, n);
}

static cJSON *so_obj(cJSON *o, const char *lit) { return mla__adm_put(o, lit, mla__adm_node(cJSON_Object)); }
static cJSON *so_arr(cJSON *o, const char *lit) { return mla__adm_put(o, lit, mla__adm_node(cJSON_Array)); }

/* cJSON_CreateNumber */
static cJSON *so_number(double v)
{
    cJSON *n = mla__adm_node(cJSON_Number);
    if (n) {
        n->valuedouble = v;
        n->valueint = v >= INT_MAX ? INT_MAX : v <= (double)INT_MIN ? INT_MIN : (int)v;
    }
    return n;
}

static cJSON *so_num(cJSON *o, const char *lit, double v) { return mla__adm_put(o, lit, so_number(v)); }

/* The numbers' text: mla_fmt_num (base/numfmt.c), shared with the policy compiler, which
 * renders the policy-only parts of the predictive-config annotation with it. */
static void so_fmt_num(char *out, size_t n, double v) { mla_fmt_num(out, n, v); }

static void so_num_str(cJSON *md, const char *key, double v)
{
    char b[64];
    so_fmt_num(b, sizeof b, v);
    so_add_str(md, key, b);
}

static bool so_gitops_label(const char *k)
{
    return !strcmp(k, "app.kubernetes.io/instance") || !strcmp(k, "app.kubernetes.io/managed-by") ||
           !strncmp(k, "argocd.argoproj.io/", 19) || !strncmp(k, "kustomize.toolkit.fluxcd.io/", 28) ||
           !strncmp(k, "helm.toolkit.fluxcd.io/", 23) || !strncmp(k, MLA_ANN_PREFIX, 18) ||
           !strcmp(k, "pod-template-hash");
}

static cJSON *so_rules(const struct mla_scale_rules *r)
{
    cJSON *o = mla__adm_node(cJSON_Object);
    if (r->has_stab)
        so_num(o, "stabilizationWindowSeconds", r->stabilization);
    if (r->select_policy)
        so_str(o, "selectPolicy", r->select_policy);
    if (r->npol) {
        cJSON *a = so_arr(o, "policies");
        for (size_t i = 0; i < r->npol; i++) {
            cJSON *p = mla__adm_node(cJSON_Object);
            so_lit(p, "type", r->pol[i].percent ? "Percent" : "Pods");
            so_num(p, "value", r->pol[i].value);
            so_num(p, "periodSeconds", r->pol[i].period);
            mla__adm_link(a, p);
        }
    }
    return o;
}

static bool so_meta_has(const struct mla_trigger_tpl *t, const char *k)
{
    for (size_t i = 0; i < t->nmeta; i++)
        if (!strcmp(t->meta[i].key, k))
            return true;
    return false;
}

/* Whether KEDA accepts spec.fallback with these triggers (CheckFallbackValid). */
static bool so_fallback_ok(const struct mla_resolved *r)
{
    for (size_t i = 0; i < r->s->ntrig && i < MLA_MAX_TRIGGERS; i++) {
        const struct mla_trigger_tpl *t = &r->s->trig[i];
        if (!r->trig_on[i] || t->type == MLA_TRIG_CPU || t->type == MLA_TRIG_MEMORY)
            continue;
        if (!t->metric_type || !strcmp(t->metric_type, "AverageValue"))
            return true;
    }
    return false;
}

/* b: scratch buffer for the expanded templates, shared by the triggers of one build (one
 * allocation per ScaledObject instead of one per trigger). */
static enum mla_code so_trigger(const struct mla_resolved *r, size_t i, bool fallback,
                                cJSON *arr, struct mla_buf *b, struct mla_err *err)
{
    const struct mla_trigger_tpl *t = &r->s->trig[i];
    cJSON *o = mla__adm_node(cJSON_Object);
    so_lit(o, "type", mla_trig_type_name(t->type)); /* a literal */
    if (t->name)
        so_str(o, "name", t->name);
    if (t->metric_type)
        so_str(o, "metricType", t->metric_type);
    cJSON *md = so_obj(o, "metadata");
    for (size_t k = 0; k < t->nmeta; k++) {
        mla_buf_reset(b);
        enum mla_code rc = mla_tpl_expand(t->meta[k].tpl, r->name, r->ns, r->ann, b, err);
        if (rc != MLA_OK) {
            cJSON_Delete(o);
            char why[sizeof err->msg];
            snprintf(why, sizeof why, "%s", err ? err->msg : "");
            return mla_err_set(err, rc, "%s by profile '%s' (policy '%s'): its %s trigger '%s' "
                               "places it in metadata.%s (\"%s\")", why, r->profile->name,
                               r->policy->name, mla_trig_type_name(t->type),
                               t->name ? t->name : t->metric ? t->metric : "-",
                               t->meta[k].key, t->meta[k].tpl->src);
        }
        so_add_str(md, t->meta[k].key, mla_buf_str(b));
    }
    switch (t->type) {
    case MLA_TRIG_PROMETHEUS:
        so_num_str(md, "threshold", r->trig_thr[i]);
        if (t->has_activation)
            so_num_str(md, "activationThreshold", t->activation);
        if (fallback)
            so_lit(md, "ignoreNullValues", "false");
        break;
    case MLA_TRIG_RABBITMQ:
        if (!so_meta_has(t, "mode"))
            so_lit(md, "mode", "QueueLength");
        so_num_str(md, "value", r->trig_thr[i]);
        if (t->has_activation)
            so_num_str(md, "activationValue", t->activation);
        break;
    case MLA_TRIG_CPU:
    case MLA_TRIG_MEMORY:
        so_num_str(md, "value", r->trig_thr[i]);
        break;
    case MLA_TRIG_CRON:
        if (!so_meta_has(t, "timezone"))
            so_str(md, "timezone", r->timezone ? r->timezone : "Etc/UTC");
        break;
    }
    if (t->auth_name) {
        cJSON *ar = so_obj(o, "authenticationRef");
        so_str(ar, "name", t->auth_name);
        if (t->auth_kind)
            so_str(ar, "kind", t->auth_kind);
    }
    mla__adm_link(arr, o);
    return MLA_OK;
}

/* JSON writers for the predictive-config annotation. Written directly rather than through
 * cJSON_PrintUnformatted: cJSON formats each double by printing and re-parsing it, which made
 * this annotation almost half the cost of an opted-in decision. The text grows in the
 * caller's stack array (about 650 bytes with the shipped policies; each string reserves its
 * worst case, 6 bytes a byte, so the array is 4 KB), on the heap beyond it; no cap. */
struct pc_w {
    char *s;     /* stack, or heap (owned) once it outgrew it */
    size_t n, cap;
    char *stack; /* borrowed: the caller's array, cap bytes */
};

static char *pc_room(struct pc_w *w, size_t k)
{
    if (w->n + k + 1 > w->cap) {
        size_t cap = w->cap * 2;
        while (cap < w->n + k + 1)
            cap *= 2;
        char *s = mla_xmalloc(cap);
        memcpy(s, w->s, w->n);
        if (w->s != w->stack)
            free(w->s);
        w->s = s;
        w->cap = cap;
    }
    return w->s + w->n;
}

static void pc_put(struct pc_w *w, const char *p, size_t k)
{
    memcpy(pc_room(w, k), p, k);
    w->n += k;
}

static void pc_raw(struct pc_w *w, const char *s) { pc_put(w, s, strlen(s)); }

/* k: one of the literal keys below (ASCII letters, nothing to escape). The comma goes before
 * every member but the first of an object, i.e. unless the text ends with the object's '{'. */
static void pc_key(struct pc_w *w, const char *k)
{
    size_t kl = strlen(k);
    char *o = pc_room(w, kl + 4);
    if (!w->n || w->s[w->n - 1] != '{')
        *o++ = ',';
    *o++ = '"';
    memcpy(o, k, kl);
    o += kl;
    *o++ = '"';
    *o++ = ':';
    w->n = (size_t)(o - w->s);
}

static void pc_num(struct pc_w *w, const char *k, double v)
{
    pc_key(w, k);
    char t[48];
    so_fmt_num(t, sizeof t, v);
    pc_raw(w, t);
}

/* The bytes pc_str cannot copy as they are: the NUL (end of the string), the other control
 * characters, '"' and '\\'. */
#define PC_CTL4(b) [b] = true, [(b) + 1] = true, [(b) + 2] = true, [(b) + 3] = true
static const bool pc_special[256] = {
    PC_CTL4(0x00), PC_CTL4(0x04), PC_CTL4(0x08), PC_CTL4(0x0c), PC_CTL4(0x10), PC_CTL4(0x14),
    PC_CTL4(0x18), PC_CTL4(0x1c), ['"'] = true, ['\\'] = true,
};
#undef PC_CTL4

/* v as mla_buf_add_json_str writes it (the annotation's bytes are unchanged): `"` `\` \n \r \t
 * escaped by name, the other bytes below 0x20 as \u00xx, everything else as it is. The worst
 * case (6 bytes a byte) is reserved once. */
static void pc_str(struct pc_w *w, const char *k, const char *v)
{
    static const char esc[32] = {['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't'};
    static const char hex[] = "0123456789abcdef";
    pc_key(w, k);
    if (!v) {
        pc_raw(w, "null");
        return;
    }
    size_t vl = strlen(v);
    char *o = pc_room(w, 6 * vl + 2);
    *o++ = '"';
    /* Bytes that need nothing are copied in runs (a table look-up per byte, one memcpy per
     * run: the expanded query is most of this text). The NUL ends a run too. */
    for (const unsigned char *p = (const unsigned char *)v;; p++) {
        const unsigned char *run = p;
        while (!pc_special[*p])
            p++;
        memcpy(o, run, (size_t)(p - run));
        o += p - run;
        if (!*p)
            break;
        if (*p >= 0x20 || esc[*p]) {
            *o++ = '\\';
            *o++ = *p >= 0x20 ? (char)*p : esc[*p];
        } else {
            memcpy(o, "\\u00", 4);
            o[4] = hex[*p >> 4];
            o[5] = hex[*p & 15];
            o += 6;
        }
    }
    *o++ = '"';
    w->n = (size_t)(o - w->s);
}

static void pc_null(struct pc_w *w, const char *k)
{
    pc_key(w, k);
    pc_raw(w, "null");
}

/* q: scratch buffer for the expanded query, then reused by the triggers (one allocation per
 * ScaledObject instead of one per use). */
static enum mla_code so_predictive(const struct mla_resolved *r, cJSON *anns, struct mla_buf *q,
                                   struct mla_err *err)
{
    const struct mla_settings *s = r->s;
    if (!r->predictive && !r->nwin && !s->has_max_cost)
        return MLA_OK; /* nothing for the loop to do */
    mla_buf_reset(q);
    if (s->pred.query) {
        enum mla_code rc = mla_tpl_expand(s->pred.query, r->name, r->ns, r->ann, q, err);
        if (rc != MLA_OK) {
            char why[sizeof err->msg];
            snprintf(why, sizeof why, "%s", err ? err->msg : "");
            return mla_err_set(err, rc, "%s by profile '%s' (policy '%s'): its predictive.query "
                               "uses it", why, r->profile->name, r->policy->name);
        }
    }
    char stack[4096];
    struct pc_w b = {.s = stack, .cap = sizeof stack, .stack = stack};
    pc_raw(&b, "{");
    pc_key(&b, "enabled");
    pc_raw(&b, r->predictive ? "true" : "false");
    pc_str(&b, "query", s->pred.query ? mla_buf_str(q) : NULL);
    if (s->pc_fixed[0]) {
        pc_raw(&b, s->pc_fixed[0]);
    } else {
        pc_num(&b, "lookbackHours", s->pred.lookback_h);
        pc_num(&b, "stepSeconds", s->pred.step_s);
        pc_num(&b, "horizonMinutes", s->pred.horizon_min);
        pc_num(&b, "scaleAheadMinutes", s->pred.ahead_min);
        pc_num(&b, "confidenceThreshold", s->pred.conf);
        pc_num(&b, "quantile", s->pred.quantile);
        pc_num(&b, "anomalyThreshold", s->pred.anomaly);
    }
    if (r->has_capacity)
        pc_num(&b, "capacityPerReplica", r->capacity);
    else
        pc_null(&b, "capacityPerReplica");
    if (r->nwin) {
        pc_key(&b, "businessHours");
        pc_raw(&b, "[");
        for (size_t i = 0; i < r->nwin; i++) {
            if (i)
                pc_raw(&b, ",");
            pc_raw(&b, "{");
            pc_str(&b, "days", r->win[i].days);
            pc_str(&b, "start", r->win[i].start);
            pc_str(&b, "end", r->win[i].end);
            pc_num(&b, "minReplicas", r->win[i].min_replicas);
            pc_raw(&b, "}");
        }
        pc_raw(&b, "]");
    } else {
        pc_null(&b, "businessHours");
    }
    pc_str(&b, "timezone", r->timezone);
    if (s->night_max >= 0)
        pc_num(&b, "nightMaxReplicas",
               s->night_max < r->max_replicas ? s->night_max : r->max_replicas);
    else
        pc_null(&b, "nightMaxReplicas");
    if (s->pc_fixed[1]) {
        pc_raw(&b, s->pc_fixed[1]);
    } else {
        if (s->has_cost)
            pc_num(&b, "replicaHourlyCost", s->replica_cost);
        else
            pc_null(&b, "replicaHourlyCost");
        if (s->has_max_cost)
            pc_num(&b, "maxHourlyCost", s->max_cost);
        else
            pc_null(&b, "maxHourlyCost");
    }
    pc_num(&b, "minReplicas", r->min_replicas);
    pc_num(&b, "maxReplicas", r->max_replicas);
    if (s->pc_fixed[2]) {
        pc_raw(&b, s->pc_fixed[2]);
    } else {
        pc_num(&b, "hysteresisStep", s->pred.hyst_step);
        pc_num(&b, "scaleDownHoldMinutes", s->pred.hold_min);
    }
    pc_raw(&b, "}");
    b.s[b.n] = '\0'; /* pc_room always leaves room for it */
    so_str(anns, MLA_ANN_PREFIX "predictive-config", b.s);
    if (b.s != stack)
        free(b.s);
    return MLA_OK;
}

enum mla_code mla_so_build(const struct mla_resolved *r, const cJSON *dep, cJSON **out,
                           struct mla_err *err)
{
    const struct mla_settings *s = r->s;
    cJSON *so = mla__adm_node(cJSON_Object);
    so_lit(so, "apiVersion", "keda.sh/v1alpha1");
    so_lit(so, "kind", "ScaledObject");
    cJSON *md = so_obj(so, "metadata");
    so_str(md, "name", r->so_name);
    so_str(md, "namespace", r->ns);
    cJSON *labels = so_obj(md, "labels");
    const cJSON *dl = mla__adm_get(
        mla__adm_get(dep, "metadata"), "labels");
    for (const cJSON *l = dl ? dl->child : NULL; l; l = l->next)
        if (cJSON_IsString(l) && !so_gitops_label(l->string))
            so_add_str(labels, l->string, l->valuestring);
    so_lit(labels, "app.kubernetes.io/managed-by", "ml-autoscaling");
    so_lit(labels, MLA_ANN_PREFIX "managed", "true");
    so_str(labels, MLA_ANN_PREFIX "deployment", r->dep_label);
    cJSON *anns = so_obj(md, "annotations");
    so_str(anns, MLA_ANN_PREFIX "policy", r->policy->name);
    so_str(anns, MLA_ANN_PREFIX "policy-hash", r->policy->hash);
    so_str(anns, MLA_ANN_PREFIX "profile", r->profile->name);
    struct mla_buf tb;
    mla_buf_init(&tb, 64 * 1024);
    enum mla_code rc = so_predictive(r, anns, &tb, err);
    if (rc != MLA_OK) {
        mla_buf_fini(&tb);
        cJSON_Delete(so);
        return rc;
    }
    cJSON *spec = so_obj(so, "spec");
    cJSON *ref = so_obj(spec, "scaleTargetRef");
    so_lit(ref, "apiVersion", "apps/v1");
    so_lit(ref, "kind", "Deployment");
    so_str(ref, "name", r->name);
    so_num(spec, "pollingInterval", r->polling);
    so_num(spec, "cooldownPeriod", r->cooldown);
    if (r->idle_zero)
        so_num(spec, "idleReplicaCount", 0);
    so_num(spec, "minReplicaCount", r->min_replicas);
    so_num(spec, "maxReplicaCount", r->max_replicas);
    bool fallback = s->fallback && so_fallback_ok(r);
    if (fallback) {
        cJSON *fb = so_obj(spec, "fallback");
        so_num(fb, "failureThreshold", s->fb_failures);
        int rep = s->fb_replicas;
        rep = rep < r->min_replicas ? r->min_replicas : rep > r->max_replicas ? r->max_replicas
                                                                             : rep;
        so_num(fb, "replicas", rep);
    }
    if (s->up.set || s->down.set) {
        cJSON *adv = so_obj(spec, "advanced");
        cJSON *hpa = so_obj(adv, "horizontalPodAutoscalerConfig");
        cJSON *beh = so_obj(hpa, "behavior");
        if (s->up.set)
            cJSON_AddItemToObject(beh, "scaleUp", so_rules(&s->up));
        if (s->down.set)
            cJSON_AddItemToObject(beh, "scaleDown", so_rules(&s->down));
    }
    cJSON *trig = so_arr(spec, "triggers");
    for (size_t i = 0; i < s->ntrig && i < MLA_MAX_TRIGGERS; i++) {
        if (!r->trig_on[i])
            continue;
        rc = so_trigger(r, i, fallback, trig, &tb, err);
        if (rc != MLA_OK) {
            mla_buf_fini(&tb);
            cJSON_Delete(so);
            return rc;
        }
    }
    mla_buf_fini(&tb);
    *out = so;
    return MLA_OK;
}
