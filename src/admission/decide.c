/* admission/decide.c - the admission decision (see decide.h): resolve, build the ScaledObject, build
 * the Deployment's patch.
 *
 * HOT PATH: a Deployment that is not opted in costs one annotation lookup (two on UPDATE, for
 * the opt-out case) and allocates nothing. The opted-in path reads only the compiled policy
 * structs (no parsing) and allocates the cJSON it returns.
 */
#include "mla/decide.h"

#include "admission-int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mla/patch.h"
#include "mla/show.h"
#include "mla/scaledobject.h"
#include "mla/wlkind.h"

void mla_decision_init(struct mla_decision *d)
{
    memset(d, 0, sizeof *d);
    d->allowed = true;
    d->code = 200;
}

void mla_decision_fini(struct mla_decision *d)
{
    cJSON_Delete(d->patch);
    cJSON_Delete(d->warnings);
    cJSON_Delete(d->scaled_object);
    d->patch = d->warnings = d->scaled_object = NULL;
}

void mla_decision_warn(struct mla_decision *d, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!d->warnings)
        d->warnings = cJSON_CreateArray();
    cJSON_AddItemToArray(d->warnings, cJSON_CreateString(msg));
}

static const cJSON *dc_get(const cJSON *o, const char *k)
{
    return mla__adm_get(o, k);
}

const char *mla__decide_ann(const cJSON *obj, const char *key)
{
    return cJSON_GetStringValue(dc_get(dc_get(dc_get(obj, "metadata"), "annotations"), key));
}

bool mla__decide_was_managed(const cJSON *old)
{
    const char *en = mla__decide_ann(old, MLA_ANN_PREFIX "enabled");
    const char *lab = cJSON_GetStringValue(
        dc_get(dc_get(dc_get(old, "metadata"), "labels"), MLA_ANN_PREFIX "managed"));
    return (en && !strcmp(en, "true")) || (lab && !strcmp(lab, "true"));
}

void mla__decide_deny(struct mla_decision *d, int code, const char *msg)
{
    cJSON_Delete(d->patch);
    cJSON_Delete(d->scaled_object);
    d->patch = d->scaled_object = NULL;
    d->allowed = false;
    d->code = code;
    d->action = MLA_ACT_NONE;
    snprintf(d->message, sizeof d->message, "ml-autoscaling: %s", msg);
}

enum mla_code mla__decide_unmark(const struct mla_review_request *req, const char *name_key,
                                 struct mla_decision *out, struct mla_err *err)
{
    struct mla_patch p;
    mla_patch_init(&p, req->object);
    enum mla_code rc = mla_patch_remove(&p, err, "metadata", "labels", MLA_ANN_PREFIX "managed",
                                        NULL);
    const char *const keys[] = {name_key, MLA_ANN_PREFIX "policy", MLA_ANN_PREFIX "policy-hash"};
    for (size_t i = 0; i < 3 && rc == MLA_OK; i++)
        rc = mla_patch_remove(&p, err, "metadata", "annotations", keys[i], NULL);
    if (rc != MLA_OK) {
        mla_patch_fini(&p);
        mla__decide_deny(out, 500, "cannot build the patch");
        return rc;
    }
    out->patch = mla_patch_take(&p);
    if (!cJSON_GetArraySize(out->patch)) {
        cJSON_Delete(out->patch);
        out->patch = NULL;
    }
    out->action = MLA_ACT_REMOVE;
    return MLA_OK;
}

static enum mla_code dc_remove(const struct mla_review_request *req, struct mla_decision *out,
                               struct mla_err *err)
{
    const char *so = mla__decide_ann(req->old_object, MLA_ANN_PREFIX "scaledobject");
    const char *pol = mla__decide_ann(req->old_object, MLA_ANN_PREFIX "policy");
    const char *hash = mla__decide_ann(req->old_object, MLA_ANN_PREFIX "policy-hash");
    snprintf(out->so_name, sizeof out->so_name, "%s", so ? so : "");
    snprintf(out->policy, sizeof out->policy, "%s", pol ? pol : "");
    snprintf(out->policy_hash, sizeof out->policy_hash, "%s", hash ? hash : "");
    if (!so) {
        const char *n = cJSON_GetStringValue(dc_get(dc_get(req->old_object, "metadata"), "name"));
        if (n)
            mla_so_short_name(n, 54, out->so_name);
    }
    enum mla_code rc = mla__decide_unmark(req, MLA_ANN_PREFIX "scaledobject", out, err);
    if (rc != MLA_OK)
        return rc;
    snprintf(out->message, sizeof out->message,
             "ml-autoscaling: opt-in removed; ScaledObject %s will be deleted", out->so_name);
    mla_decision_warn(out, "ml-autoscaling: opt-in removed: the ScaledObject %s created for this "
                      "%s will be deleted (and an HPA it replaced restored)",
                      out->so_name, req->kind);
    return MLA_OK;
}

static int dc_int(const cJSON *o, int dflt, bool *present)
{
    *present = cJSON_IsNumber(o);
    return *present ? (int)o->valuedouble : dflt;
}

/* spec.replicas for a workload KEDA will own. */
static enum mla_code dc_replicas(const struct mla_review_request *req, const struct mla_resolved *r,
                                 bool was_managed, struct mla_patch *p, struct mla_decision *d,
                                 struct mla_err *err)
{
    bool has_new, has_old;
    int cur = dc_int(dc_get(dc_get(req->object, "spec"), "replicas"), 1, &has_new);
    int lo = r->min_replicas, hi = r->max_replicas;
    int want = cur;
    if (was_managed && req->op == MLA_OP_UPDATE && req->old_object) {
        int old = dc_int(dc_get(dc_get(req->old_object, "spec"), "replicas"), cur, &has_old);
        if (has_old && old != cur) {
            want = old < lo ? lo : old > hi ? hi : old;
            mla_decision_warn(d, "ml-autoscaling: spec.replicas %d in this update would reset "
                              "the %d replicas KEDA is running; kept %d (remove spec.replicas "
                              "from the manifest to silence this)", cur, old, want);
        }
    }
    if (want == cur) {
        int c = cur < lo ? lo : cur > hi ? hi : cur;
        if (c != cur) {
            if (has_new)
                mla_decision_warn(d, "ml-autoscaling: spec.replicas %d is outside %d-%d; set "
                                  "to %d", cur, lo, hi, c);
            else
                mla_decision_warn(d, "ml-autoscaling: spec.replicas is unset (Kubernetes would "
                                  "start 1); set to minReplicaCount %d", c);
            want = c;
        }
    }
    if (want == cur && has_new)
        return MLA_OK;
    if (!has_new && want == 1)
        return MLA_OK;
    return mla_patch_set(p, cJSON_CreateNumber(want), err, "spec", "replicas", NULL);
}

/* cpu/memory triggers: every target container needs a request (or a limit, which Kubernetes
 * copies into the request). Inject the policy's default, or deny.
 * Bounded work (issue 12): each injected request is one patch op, and the builder compares
 * each op with the earlier ones, so 5,000 containers without requests took seconds; beyond
 * DC_MAX_INJECT per resource the Deployment is denied with what to set instead. Warnings are
 * per container up to DC_MAX_INJECT_WARN, then one summary (kube-apiserver keeps only about
 * 4 KiB of warnings anyway). */
#define DC_MAX_INJECT 64
#define DC_MAX_INJECT_WARN 8
/* Whether container c (in the trigger's scope: `only`, its containerName, or all) has neither
 * a request nor a limit (Kubernetes defaults the request to the limit) for res. */
static bool dc_needs_request(const cJSON *c, const char *only, const char *res)
{
    const char *cn = cJSON_GetStringValue(dc_get(c, "name"));
    if (only && (!cn || strcmp(cn, only)))
        return false;
    const cJSON *rs = dc_get(c, "resources");
    return !dc_get(dc_get(rs, "requests"), res) && !dc_get(dc_get(rs, "limits"), res);
}

static enum mla_code dc_requests(const struct mla_review_request *req, const struct mla_resolved *r,
                                 struct mla_patch *p, struct mla_decision *d, char *deny,
                                 size_t dn, struct mla_err *err)
{
    const cJSON *ctrs = dc_get(dc_get(dc_get(dc_get(req->object, "spec"), "template"), "spec"),
                               "containers");
    for (size_t t = 0; t < r->s->ntrig && t < MLA_MAX_TRIGGERS; t++) {
        const struct mla_trigger_tpl *tr = &r->s->trig[t];
        if (!r->trig_on[t] || (tr->type != MLA_TRIG_CPU && tr->type != MLA_TRIG_MEMORY))
            continue;
        const char *res = tr->type == MLA_TRIG_CPU ? "cpu" : "memory";
        const char *dflt = tr->type == MLA_TRIG_CPU ? r->s->req_cpu : r->s->req_mem;
        const char *only = NULL;
        for (size_t k = 0; k < tr->nmeta; k++)
            if (!strcmp(tr->meta[k].key, "containerName"))
                only = tr->meta[k].tpl->src;
        int idx = 0, injected = 0;
        char shown[MLA_SHOW_BUF];
        int need = 0;
        for (const cJSON *c = ctrs ? ctrs->child : NULL; c; c = c->next)
            need += dc_needs_request(c, only, res);
        if (need > DC_MAX_INJECT && r->s->missing_requests != MLA_REQ_DENY && dflt) {
            snprintf(deny, dn, "%d containers have no %s request, which the %s trigger of "
                     "profile '%s' needs; the webhook injects the default into at most %d; "
                     "allowed: set resources.requests.%s on the containers", need, res, res,
                     r->profile->name, DC_MAX_INJECT, res);
            return MLA_EDENIED;
        }
        for (const cJSON *c = ctrs ? ctrs->child : NULL; c; c = c->next, idx++) {
            if (!dc_needs_request(c, only, res))
                continue;
            const char *cn = cJSON_GetStringValue(dc_get(c, "name"));
            if (r->s->missing_requests == MLA_REQ_DENY || !dflt) {
                snprintf(deny, dn, "container '%s' has no %s request, which the %s trigger of "
                         "profile '%s' needs (KEDA refuses it); allowed: set "
                         "resources.requests.%s%s%s%s",
                         cn ? mla_show(cn, MLA_SHOW_MAX, shown, sizeof shown) : "?", res, res,
                         r->profile->name,
                         res, dflt ? "" : " (policy '", dflt ? "" : r->policy->name,
                         dflt ? "" : "' has no default request to inject)");
                return MLA_EDENIED;
            }
            injected++;
            char ib[16];
            snprintf(ib, sizeof ib, "%d", idx);
            enum mla_code rc = mla_patch_set(p, cJSON_CreateString(dflt), err, "spec",
                                             "template", "spec", "containers", ib, "resources",
                                             "requests", res, NULL);
            if (rc != MLA_OK)
                return rc;
            if (injected <= DC_MAX_INJECT_WARN)
                mla_decision_warn(d, "ml-autoscaling: container '%s' had no %s request; "
                                  "injected the policy default %s (the %s trigger needs one)",
                                  cn ? mla_show(cn, MLA_SHOW_MAX, shown, sizeof shown) : "?",
                                  res, dflt, res);
        }
        if (injected > DC_MAX_INJECT_WARN)
            mla_decision_warn(d, "ml-autoscaling: %d more containers had no %s request; "
                              "injected the policy default %s into each", injected -
                              DC_MAX_INJECT_WARN, res, dflt);
    }
    return MLA_OK;
}

static bool dc_array_has(const cJSON *arr, const cJSON *item)
{
    for (const cJSON *e = arr ? arr->child : NULL; e; e = e->next)
        if (cJSON_Compare(e, item, true))
            return true;
    return false;
}

static enum mla_code dc_spot(const struct mla_review_request *req, const struct mla_resolved *r,
                             struct mla_patch *p, struct mla_decision *d, struct mla_err *err)
{
    if (!r->s->spot)
        return MLA_OK;
    const cJSON *ps = dc_get(dc_get(dc_get(req->object, "spec"), "template"), "spec");
    enum mla_code rc = MLA_OK;
    bool changed = false;
    if (r->s->spot_affinity) {
        const cJSON *pref = dc_get(dc_get(dc_get(ps, "affinity"), "nodeAffinity"),
                                   "preferredDuringSchedulingIgnoredDuringExecution");
        if (!dc_array_has(pref, r->s->spot_affinity)) {
            cJSON *v = cJSON_Duplicate(r->s->spot_affinity, true);
            if (pref) {
                rc = mla_patch_set(p, v, err, "spec", "template", "spec", "affinity",
                                   "nodeAffinity",
                                   "preferredDuringSchedulingIgnoredDuringExecution", "-", NULL);
            } else {
                cJSON *a = cJSON_CreateArray();
                cJSON_AddItemToArray(a, v);
                rc = mla_patch_set(p, a, err, "spec", "template", "spec", "affinity",
                                   "nodeAffinity",
                                   "preferredDuringSchedulingIgnoredDuringExecution", NULL);
            }
            changed = true;
        }
    }
    const cJSON *tol = dc_get(ps, "tolerations");
    for (const cJSON *t = r->s->spot_tolerations ? r->s->spot_tolerations->child : NULL;
         t && rc == MLA_OK; t = t->next) {
        if (dc_array_has(tol, t))
            continue;
        if (tol) {
            rc = mla_patch_set(p, cJSON_Duplicate(t, true), err, "spec", "template", "spec",
                               "tolerations", "-", NULL);
        } else {
            cJSON *a = cJSON_CreateArray();
            for (const cJSON *u = t; u; u = u->next)
                cJSON_AddItemToArray(a, cJSON_Duplicate(u, true));
            rc = mla_patch_set(p, a, err, "spec", "template", "spec", "tolerations", NULL);
            changed = true;
            break;
        }
        changed = true;
    }
    if (rc == MLA_OK && changed)
        mla_decision_warn(d, "ml-autoscaling: policy '%s' prefers spot nodes: added a node "
                          "affinity preference and tolerations", r->policy->name);
    return rc;
}

/* scaleTargetRef names the workload's own kind (mla_so_build writes a Deployment's). */
static void dc_target(cJSON *so, const struct mla_review_request *req)
{
    const struct mla_wl_kind *wl = mla_wl_find_gvk(req->kind_group, req->kind_version,
                                                   req->kind);
    cJSON *ref = mla__adm_get(mla__adm_get(so, "spec"),
                                                  "scaleTargetRef");
    if (!wl || !ref)
        return;
    /* A Deployment's are what mla_so_build wrote: nothing to replace (most admissions). */
    const char *av = cJSON_GetStringValue(mla__adm_get(ref, "apiVersion"));
    const char *k = cJSON_GetStringValue(mla__adm_get(ref, "kind"));
    if (av && k && !strcmp(av, wl->api_version) && !strcmp(k, wl->kind))
        return;
    cJSON_ReplaceItemInObjectCaseSensitive(ref, "apiVersion",
                                           cJSON_CreateString(wl->api_version));
    cJSON_ReplaceItemInObjectCaseSensitive(ref, "kind", cJSON_CreateString(wl->kind));
}

/* snprintf(dst, n, "%s", src) without the formatting machinery (hot path). */
static void dc_copy(char *dst, size_t n, const char *src)
{
    size_t len = strnlen(src, n - 1);
    memcpy(dst, src, len);
    dst[len] = '\0';
}

/* The namespace the object lives in: the request's, else the object's, else "default". */
static const char *dc_namespace(const struct mla_review_request *req)
{
    const char *ns = req->namespace_ && *req->namespace_ ? req->namespace_ : NULL;
    if (!ns)
        ns = cJSON_GetStringValue(dc_get(dc_get(req->object, "metadata"), "namespace"));
    return ns && *ns ? ns : "default";
}

/* Resolves the object against the policies into *r; false when it was denied instead (out
 * says why). */
static bool dc_resolve(const struct mla_policy_set *ps, const struct mla_review_request *req,
                       struct mla_resolved *r, struct mla_decision *out)
{
    struct mla_err e;
    mla_err_clear(&e);
    if (mla_resolve(ps, req->object, dc_namespace(req), r, out, &e) == MLA_OK)
        return true;
    char full[sizeof out->message];
    /* resolve wrote the whole denial (it can be longer than an mla_err holds) */
    static const char pfx[] = "ml-autoscaling: ";
    bool whole = !strncmp(out->message, pfx, sizeof pfx - 1);
    snprintf(full, sizeof full, "%s", whole ? out->message + sizeof pfx - 1 : e.msg);
    mla__decide_deny(out, 400, full);
    return false;
}

/* What the decision records of the resolution (names, hash, modes). */
static void dc_record(const struct mla_resolved *r, struct mla_decision *out)
{
    dc_copy(out->policy, sizeof out->policy, r->policy->name);
    dc_copy(out->profile, sizeof out->profile, r->profile->name);
    dc_copy(out->policy_hash, sizeof out->policy_hash, r->policy->hash);
    dc_copy(out->so_name, sizeof out->so_name, r->so_name);
    out->hpa_mode = r->s->hpa_mode;
    out->vpa_mode = r->s->vpa_mode;
    out->skip_write = r->skip_write;
}

/* The patch's ops into p: the product's marks, then replicas, requests and spot. MLA_EDENIED
 * with the reason in deny (ndeny bytes) when the pod spec cannot take the requests. */
static enum mla_code dc_patch_ops(const struct mla_review_request *req,
                                  const struct mla_resolved *r, struct mla_patch *p,
                                  struct mla_decision *out, char *deny, size_t ndeny,
                                  struct mla_err *e)
{
    bool was_managed = req->op == MLA_OP_UPDATE && req->old_object &&
                       mla__decide_was_managed(req->old_object);
    enum mla_code rc = mla_patch_set_str(p, "true", e, "metadata", "labels",
                                         MLA_ANN_PREFIX "managed", NULL);
    if (rc == MLA_OK)
        rc = mla_patch_set_str(p, r->so_name, e, "metadata", "annotations",
                               MLA_ANN_PREFIX "scaledobject", NULL);
    if (rc == MLA_OK)
        rc = mla_patch_set_str(p, r->policy->name, e, "metadata", "annotations",
                               MLA_ANN_PREFIX "policy", NULL);
    if (rc == MLA_OK)
        rc = mla_patch_set_str(p, r->policy->hash, e, "metadata", "annotations",
                               MLA_ANN_PREFIX "policy-hash", NULL);
    if (rc == MLA_OK)
        rc = dc_replicas(req, r, was_managed, p, out, e);
    if (rc == MLA_OK)
        rc = dc_requests(req, r, p, out, deny, ndeny, e);
    if (rc == MLA_OK)
        rc = dc_spot(req, r, p, out, e);
    return rc;
}

/* A message written piece by piece into a fixed array, truncated as snprintf truncates. */
struct dc_msg {
    char *s;   /* borrowed: the caller's array */
    size_t n;  /* its size, > 0 */
    size_t at; /* bytes written, < n; s[at] is the NUL */
};

static void dc_msg_put(struct dc_msg *m, const char *v)
{
    size_t l = strlen(v), room = m->n - 1 - m->at;
    if (l > room)
        l = room;
    memcpy(m->s + m->at, v, l);
    m->at += l;
    m->s[m->at] = '\0';
}

static void dc_msg_int(struct dc_msg *m, long long v)
{
    char t[24], *q = t + sizeof t;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    *--q = '\0';
    do {
        *--q = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--q = '-';
    dc_msg_put(m, q);
}

/* The allowed answer's message (and the skip-scaledobject warning). */
static void dc_summary(const struct mla_resolved *r, struct mla_decision *out)
{
    int ntrig = cJSON_GetArraySize(
        dc_get(dc_get(out->scaled_object, "spec"), "triggers"));
    /* What snprintf(message, "ml-autoscaling: policy %s profile %s: ScaledObject %s, replicas
     * %d-%d, %d trigger%s%s", ...) wrote, truncation included, without its formatting machinery
     * (about 1 % of an opted-in admission). */
    struct dc_msg m = {out->message, sizeof out->message, 0};
    out->message[0] = '\0';
    dc_msg_put(&m, "ml-autoscaling: policy ");
    dc_msg_put(&m, r->policy->name);
    dc_msg_put(&m, " profile ");
    dc_msg_put(&m, r->profile->name);
    dc_msg_put(&m, ": ScaledObject ");
    dc_msg_put(&m, r->so_name);
    dc_msg_put(&m, ", replicas ");
    dc_msg_int(&m, r->min_replicas);
    dc_msg_put(&m, "-");
    dc_msg_int(&m, r->max_replicas);
    dc_msg_put(&m, ", ");
    dc_msg_int(&m, ntrig);
    dc_msg_put(&m, ntrig == 1 ? " trigger" : " triggers");
    if (r->skip_write)
        dc_msg_put(&m, " (skip-scaledobject: nothing will be written)");
    if (r->skip_write)
        mla_decision_warn(out, "ml-autoscaling: skip-scaledobject: the ScaledObject %s is "
                          "decided but not written; manage it yourself", r->so_name);
}

static enum mla_code dc_opted_in(const struct mla_policy_set *ps,
                                 const struct mla_review_request *req, struct mla_decision *out,
                                 struct mla_err *err)
{
    if (!ps) {
        mla__decide_deny(out, 500, "no policy set is loaded");
        return MLA_OK;
    }
    struct mla_resolved r;
    if (!dc_resolve(ps, req, &r, out))
        return MLA_OK;
    dc_record(&r, out);
    struct mla_err e;
    mla_err_clear(&e);
    enum mla_code rc = mla_so_build(&r, req->object, &out->scaled_object, &e);
    if (rc != MLA_OK) {
        mla__decide_deny(out, rc == MLA_EDENIED ? 400 : 500, e.msg);
        return MLA_OK;
    }
    dc_target(out->scaled_object, req);
    struct mla_patch p;
    mla_patch_init(&p, req->object);
    char deny[700] = "";
    rc = dc_patch_ops(req, &r, &p, out, deny, sizeof deny, &e);
    if (rc != MLA_OK) {
        mla_patch_fini(&p);
        if (rc == MLA_EDENIED) {
            mla__decide_deny(out, 400, deny);
            return MLA_OK;
        }
        char m[700];
        snprintf(m, sizeof m, "cannot build the patch: %s", e.msg);
        mla__decide_deny(out, 500, m);
        if (err)
            *err = e;
        return rc;
    }
    out->patch = mla_patch_take(&p);
    out->action = MLA_ACT_APPLY;
    dc_summary(&r, out);
    return MLA_OK;
}

enum mla_code mla_decide(const struct mla_policy_set *ps, const struct mla_review_request *req,
                         struct mla_decision *out, struct mla_err *err)
{
    mla_decision_init(out);
    if (req->object && !strcmp(req->kind, "Job") && !strcmp(req->kind_group, "batch"))
        return mla__decide_job(ps, req, out, err);
    if (!req->object || (req->op != MLA_OP_CREATE && req->op != MLA_OP_UPDATE) ||
        !mla_wl_find_gvk(req->kind_group, req->kind_version, req->kind) ||
        (req->sub_resource && *req->sub_resource))
        return MLA_OK;
    const char *en = mla__decide_ann(req->object, MLA_ANN_PREFIX "enabled");
    out->opted_in = en && !strcmp(en, "true");
    if (!out->opted_in) {
        if (req->op == MLA_OP_UPDATE && req->old_object && mla__decide_was_managed(req->old_object))
            return dc_remove(req, out, err);
        return MLA_OK;
    }
    return dc_opted_in(ps, req, out, err);
}

/* Mirrors mla_decide's branches above that end in its initial "allowed" decision. */
bool mla_decide_plain(const struct mla_review_plain *p)
{
    if (p->has_object && !strcmp(p->kind, "Job") && !strcmp(p->kind_group, "batch"))
        return false;
    if (!p->has_object || (p->op != MLA_OP_CREATE && p->op != MLA_OP_UPDATE) ||
        !mla_wl_find_gvk(p->kind_group, p->kind_version, p->kind) || *p->sub_resource)
        return true;
    if (p->enabled && !strcmp(p->enabled, "true"))
        return false;
    if (p->op == MLA_OP_UPDATE && p->has_old_object &&
        ((p->old_enabled && !strcmp(p->old_enabled, "true")) ||
         (p->old_managed && !strcmp(p->old_managed, "true"))))
        return false;
    return true;
}
