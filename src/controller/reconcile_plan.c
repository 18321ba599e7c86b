/* controller/reconcile_plan.c - the pure planner of the leader's reconcile pass (reconcile.h):
 * from the lists one pass read to the writes and Events it makes, with no API call, clock or
 * shared state, so every repair rule is unit-tested without a server
 * (tests/unit/test_reconcile_plan.c). The shell that reads and executes is reconcile.c.
 *
 * Rules, in plan order:
 *   1. Per Deployment (managed ones, then opted-in ones that bypassed the webhook): left alone
 *      while it or its namespace is being deleted; else decide with the current policy set.
 *      Opted in: apply when the ScaledObject is missing (create; "adopt" for a bypassed one:
 *      the worker records AdoptedAfterBypass when its write creates the ScaledObject, not the
 *      plan, so two passes before that write make one Event), an HPA conflicts again, or it is
 *      stale;
 *      paused and foreign ScaledObjects are left alone. Not opted in any more but our
 *      ScaledObject is there: remove (the worker restores the HPA).
 *   2. Per ScaledObject we made: its Deployment is gone or was re-created with a new uid ->
 *      delete it (orphan); a Deployment that lost the managed label is decided as in 1.
 *   (then rules 4 and 5: Job templates and their ScaledJobs, as 1 and 2; reconcile_jobs.c)
 *   3. The MLA HOOK for managed, unpaused ScaledObjects with predictive-config or fields still
 *      owned by the loop's field manager (which the step then releases).
 */
#include "mla/reconcile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mla/log.h"
#include "mla/mem.h"
#include "mla/predict_step.h"
#include "mla/wlkind.h"
#include "mla/worker.h"
#include "reconcile-int.h"
#include "objidx-int.h"

bool mla_reconcile_json_subset(const cJSON *want, const cJSON *have)
{
    if (cJSON_IsObject(want)) {
        if (!cJSON_IsObject(have))
            return false;
        const cJSON *w;
        cJSON_ArrayForEach(w, want)
        {
            if (!mla_reconcile_json_subset(w, cJSON_GetObjectItemCaseSensitive(have, w->string)))
                return false;
        }
        return true;
    }
    return have && cJSON_Compare(want, have, 1);
}

bool mla_reconcile_so_paused(const cJSON *so)
{
    const char *p = mla_kube_annotation(so, MLA_ANN_PAUSED);
    return (p && !strcmp(p, "true")) || mla_kube_annotation(so, MLA_ANN_PAUSED_REPLICAS);
}

bool mla_reconcile_ns_gone(long status, const cJSON *body)
{
    const char *reason = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "reason"));
    const char *msg = mla_kube_status_message(body);
    const cJSON *details = cJSON_GetObjectItemCaseSensitive(body, "details");
    if (status == 403) {
        if (reason && !strcmp(reason, "NamespaceTerminating"))
            return true;
        const cJSON *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(details, "causes"))
        {
            const char *t = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "type"));
            if (t && !strcmp(t, "NamespaceTerminating"))
                return true;
        }
        return msg && strstr(msg, "because it is being terminated");
    }
    if (status == 404) {
        const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(details, "kind"));
        return (kind && !strcmp(kind, "namespaces")) || (msg && !strncmp(msg, "namespaces \"", 12));
    }
    return false;
}

/* ------------------------------------------------------------------ small pure helpers */

static bool rp_has_str(const cJSON *strings, const char *s)
{
    const cJSON *x;
    cJSON_ArrayForEach(x, strings)
    {
        if (cJSON_IsString(x) && !strcmp(x->valuestring, s))
            return true;
    }
    return false;
}

static bool rp_managed(const cJSON *so)
{
    const char *m = mla_kube_label(so, MLA_LABEL_MANAGED);
    return m && !strcmp(m, "true");
}

/* The Deployment a ScaledObject of ours belongs to: name and uid of the controller reference. */
static bool rp_owner(const cJSON *so, const char **name, const char **uid)
{
    const cJSON *o;
    cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(
                              cJSON_GetObjectItemCaseSensitive(so, "metadata"), "ownerReferences"))
    {
        const char *k = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "kind"));
        if (k && !strcmp(k, "Deployment")) {
            *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "name"));
            *uid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "uid"));
            return *name && *uid;
        }
    }
    return false;
}

/* Is the stored ScaledObject what the decision wants? Our fields only, and not the replica
 * counts the predictive loop owns (its own field manager: mla_predict_leave_loop), or every
 * object the loop adjusted would look stale and the repair would fight the loop each pass. */
static bool rp_current(const cJSON *want, const cJSON *have, const char *kind, const char *deploy,
                       const char *uid)
{
    /* the ownerReference must name the Deployment as stored now (not a deleted namesake) */
    return mla_worker_apply_noop(want, have) && mla_worker_so_ours_kind(have, kind, deploy, uid);
}

static const char *rp_hpa_mode(enum mla_hpa_mode m)
{
    return m == MLA_HPA_TRANSFER ? "transfer" : m == MLA_HPA_REJECT ? "reject" : "delete";
}

/* A linear scan: the Job planner's lists (opted-in Job templates and their ScaledJobs) are
 * short; the Deployment lists, which can hold thousands, go through objidx. */
const cJSON *mla__reconcile_find(const cJSON *items, const char *ns, const char *name)
{
    const cJSON *x;
    cJSON_ArrayForEach(x, items)
    {
        const char *n = mla_kube_meta_str(x, "name");
        const char *s = mla_kube_meta_str(x, "namespace");
        if (n && s && !strcmp(n, name) && !strcmp(s, ns))
            return x;
    }
    return NULL;
}

bool mla__reconcile_has_str(const cJSON *strings, const char *s)
{
    return rp_has_str(strings, s);
}

/* ------------------------------------------------------------------ the plan */

struct rp {
    const struct mla_reconcile_input *in;
    cJSON *plan;                    /* the actions (owned by the caller) */
    const char *kind;               /* the kind of the workload being planned, NULL: none */
    const struct mla_wl_kind *wl;   /* borrowed (static table): the same, as a row */
    struct mla_reconcile_stats *st;
    /* owned, over the borrowed input lists: what a pass looks up per Deployment and per
     * ScaledObject, in O(1) (a scan each was O(N^2) at 10,000) */
    struct mla__objidx *deps, *byp, *sos, *hpas, *owners;
};

static cJSON *rp_add(struct rp *p, const char *op, const char *ns, const char *name)
{
    cJSON *a = cJSON_CreateObject();
    cJSON_AddStringToObject(a, "op", op);
    cJSON_AddStringToObject(a, "namespace", ns);
    cJSON_AddStringToObject(a, "name", name);
    if (p->kind && strcmp(p->kind, "Deployment")) /* the workload's kind; absent: Deployment */
        cJSON_AddStringToObject(a, "kind", p->kind);
    cJSON_AddItemToArray(p->plan, a); /* plan takes a */
    return a;
}

/* Why this Deployment is left alone this pass, or NULL. */
static const char *rp_leave_alone(const struct rp *p, const cJSON *d, const char *ns)
{
    if (mla_kube_meta_str(d, "deletionTimestamp"))
        return "it is being deleted";
    if (rp_has_str(p->in->terminating, ns))
        return "its namespace is being deleted";
    return NULL;
}

static bool rp_decide(const struct rp *p, const cJSON *d, const char *ns, const char *name,
                      struct mla_decision *dec)
{
    struct mla_review_request req = {
        .root = NULL, .uid = "reconcile", .kind_group = p->wl->group,
        .kind_version = p->wl->version, .kind = p->wl->kind, .resource = p->wl->resource,
        .sub_resource = "", .op = MLA_OP_UPDATE,
        .operation = "UPDATE", .namespace_ = ns, .name = name, .object = d, .old_object = d,
        .dry_run = false, .username = "system:serviceaccount:ml-autoscaling:reconcile"};
    struct mla_err err;
    mla_err_clear(&err);
    enum mla_code rc = p->in->decide
                           ? p->in->decide(p->in->decide_ctx, p->in->ps, &req, dec, &err)
                           : mla_decide(p->in->ps, &req, dec, &err);
    if (rc != MLA_OK)
        mla_log(MLA_LOG_WARN, "rec", "%s/%s: cannot decide: %s", ns, name, err.msg);
    return rc == MLA_OK;
}

/* Opted in: what the stored ScaledObject `have` needs, or NULL for nothing. */
static const char *rp_apply_why(struct rp *p, const struct mla_decision *dec, const cJSON *have,
                                const char *ns, const char *name, const char *uid)
{
    bool hpa_conflict = false;
    size_t nh;
    const cJSON *const *hs = mla__objidx_in_ns(p->hpas, ns, &nh);
    for (size_t i = 0; i < nh; i++)
        if (mla_worker_hpa_conflicts_kind(hs[i], p->kind, name))
            hpa_conflict = true;
    if (have && mla_reconcile_so_paused(have)) {
        p->st->paused++;
        return NULL;
    }
    if (have && !mla_worker_so_ours_kind(have, p->kind, name, NULL))
        return NULL; /* someone else's: left alone (reported at admission) */
    if (!have)
        return "create";
    if (hpa_conflict && dec->hpa_mode != MLA_HPA_REJECT)
        return "hpa";
    return rp_current(dec->scaled_object, have, p->kind, name, uid) ? NULL : "update";
}

static void rp_apply(struct rp *p, struct mla_decision *dec, const char *ns, const char *name,
                     const char *uid, bool bypassed)
{
    const char *so_name = dec->so_name[0] ? dec->so_name
                                          : mla_kube_meta_str(dec->scaled_object, "name");
    if (!so_name)
        so_name = name;
    const char *why = rp_apply_why(p, dec, mla__objidx_find(p->sos, ns, so_name), ns,
                                   name, uid);
    if (!why)
        return;
    if (bypassed && !strcmp(why, "create"))
        why = "adopt";
    int *count = !strcmp(why, "create") ? &p->st->created
                 : !strcmp(why, "adopt") ? &p->st->adopted
                 : !strcmp(why, "hpa")   ? &p->st->hpa
                                         : &p->st->updated;
    (*count)++;
    cJSON *a = rp_add(p, "apply", ns, name);
    cJSON_AddStringToObject(a, "why", why);
    cJSON_AddStringToObject(a, "soName", so_name);
    cJSON_AddStringToObject(a, "hpaMode", rp_hpa_mode(dec->hpa_mode));
    cJSON_AddItemToObject(a, "scaledObject", dec->scaled_object); /* a takes it */
    dec->scaled_object = NULL;
}

/* Not opted in any more: our ScaledObject must go (the worker restores the HPA). */
static void rp_optout(struct rp *p, const char *ns, const char *name, const char *uid)
{
    size_t ns_n;
    const cJSON *const *in_ns = mla__objidx_in_ns(p->sos, ns, &ns_n);
    for (size_t i = 0; i < ns_n; i++) {
        const cJSON *s = in_ns[i];
        if (mla_worker_so_ours_kind(s, p->kind, name, uid)) {
            mla_log(MLA_LOG_INFO, "rec", "%s/%s: not opted in; removing ScaledObject %s", ns,
                    name, mla_kube_meta_str(s, "name"));
            p->st->orphans++;
            rp_add(p, "remove", ns, name);
            return;
        }
    }
}

static void rp_workload(struct rp *p, const cJSON *d, bool bypassed);

/* One workload (a Deployment, or a StatefulSet as rec_read tags them); p->kind names it for
 * the actions planned meanwhile. */
static void rp_deployment(struct rp *p, const cJSON *d, bool bypassed)
{
    rp_workload(p, d, bypassed);
    p->kind = NULL;
    p->wl = NULL;
}

static void rp_workload(struct rp *p, const cJSON *d, bool bypassed)
{
    const char *ns = mla_kube_meta_str(d, "namespace");
    const char *name = mla_kube_meta_str(d, "name");
    const char *uid = mla_kube_meta_str(d, "uid");
    const struct mla_wl_kind *wl = mla_wl_of_object(d);
    if (!ns || !name || !uid || !wl)
        return;
    p->wl = wl;
    p->kind = wl->kind;
    const char *why = rp_leave_alone(p, d, ns);
    if (why) {
        mla_log(MLA_LOG_DEBUG, "rec", "%s/%s: left alone: %s", ns, name, why);
        p->st->skipped++;
        return;
    }
    struct mla_decision dec;
    mla_decision_init(&dec);
    if (!rp_decide(p, d, ns, name, &dec)) {
        mla_decision_fini(&dec);
        return;
    }
    p->st->deployments++;
    if (dec.action == MLA_ACT_APPLY && dec.allowed && dec.scaled_object && !dec.skip_write)
        rp_apply(p, &dec, ns, name, uid, bypassed);
    else if (dec.action != MLA_ACT_APPLY || !dec.opted_in)
        rp_optout(p, ns, name, uid);
    mla_decision_fini(&dec);
}

/* Rule 2 for one ScaledObject. */
static void rp_orphan(struct rp *p, const cJSON *s)
{
    const char *on = NULL, *ou = NULL;
    const char *ns = mla_kube_meta_str(s, "namespace");
    const char *sn = mla_kube_meta_str(s, "name");
    if (!ns || !sn || !rp_managed(s) || !rp_owner(s, &on, &ou) ||
        rp_has_str(p->in->terminating, ns))
        return;
    const cJSON *dep = mla__objidx_find(p->deps, ns, on);
    if (!dep)
        dep = mla__objidx_find(p->byp, ns, on);
    if (!dep) {
        char key[600];
        snprintf(key, sizeof key, "%s/%s", ns, on);
        if (rp_has_str(p->in->unknown, key))
            return; /* cannot tell: next pass */
        const cJSON *read = mla__objidx_find(p->owners, ns, on);
        const char *ru = read ? mla_kube_meta_str(read, "uid") : NULL;
        if (ru && !strcmp(ru, ou)) {
            rp_deployment(p, read, false); /* it lost the managed label: decide as any other */
            return;
        }
    } else {
        const char *du = mla_kube_meta_str(dep, "uid");
        if (du && !strcmp(du, ou))
            return; /* its Deployment is there */
    }
    mla_log(MLA_LOG_INFO, "rec", "%s/%s: Deployment %s is gone; deleting orphaned ScaledObject",
            ns, sn, on);
    p->st->orphans++;
    rp_add(p, "delete", ns, sn);
}

static void rp_predict(struct rp *p)
{
    const cJSON *s;
    cJSON_ArrayForEach(s, p->in->scaledobjects)
    {
        const char *ns = mla_kube_meta_str(s, "namespace");
        const char *sn = mla_kube_meta_str(s, "name");
        if (!ns || !sn || !rp_managed(s) || mla_reconcile_so_paused(s) ||
            rp_has_str(p->in->terminating, ns))
            continue;
        if (!mla_kube_annotation(s, MLA_PREDICT_CONFIG_ANNOTATION) &&
            !mla_kube_manager_present(s, MLA_PREDICT_FIELD_MANAGER))
            continue;
        rp_add(p, "predict", ns, sn);
        p->st->predicted++;
    }
}

enum mla_code mla_reconcile_plan(const struct mla_reconcile_input *in, cJSON **plan,
                                 struct mla_reconcile_stats *stats, struct mla_err *err)
{
    if (!in || !plan || !stats)
        return mla_err_set(err, MLA_EINVAL, "reconcile plan: missing input");
    struct mla_reconcile_stats st = {0};
    struct rp p = {.in = in, .plan = cJSON_CreateArray(), .st = &st,
                   .deps = mla__objidx_create(), .byp = mla__objidx_create(),
                   .sos = mla__objidx_create(), .hpas = mla__objidx_create(),
                   .owners = mla__objidx_create()};
    mla__objidx_add(p.deps, in->deployments);
    mla__objidx_add(p.byp, in->bypassed);
    mla__objidx_add(p.sos, in->scaledobjects);
    mla__objidx_add(p.hpas, in->hpas);
    mla__objidx_add(p.owners, in->owners);
    const cJSON *x;
    cJSON_ArrayForEach(x, in->deployments)
    {
        /* a summary (reconcile-int.h) is decided on its whole object, parsed for this one */
        cJSON *whole = mla__reconcile_whole(x);
        rp_deployment(&p, whole ? whole : x, false);
        cJSON_Delete(whole);
    }
    cJSON_ArrayForEach(x, in->bypassed)
    {
        cJSON *whole = mla__reconcile_whole(x);
        const cJSON *d = whole ? whole : x;
        const char *en = mla_kube_annotation(d, "ml-autoscaling.io/enabled");
        const char *ns = mla_kube_meta_str(d, "namespace");
        const char *nm = mla_kube_meta_str(d, "name");
        /* a Deployment in both lists was marked between the two reads: once is enough */
        if (en && !strcmp(en, "true") && ns && nm && !mla__objidx_find(p.deps, ns, nm))
            rp_deployment(&p, d, true);
        cJSON_Delete(whole);
    }
    cJSON_ArrayForEach(x, in->scaledobjects)
    {
        rp_orphan(&p, x);
    }
    mla__reconcile_plan_jobs(in, p.plan, &st);
    if (in->predict)
        rp_predict(&p);
    mla__objidx_destroy(p.deps);
    mla__objidx_destroy(p.byp);
    mla__objidx_destroy(p.sos);
    mla__objidx_destroy(p.hpas);
    mla__objidx_destroy(p.owners);
    *plan = p.plan;
    *stats = st;
    return MLA_OK;
}

cJSON *mla_reconcile_owners_to_read(const cJSON *deployments, const cJSON *bypassed,
                                    const cJSON *scaledobjects)
{
    cJSON *out = cJSON_CreateArray();
    struct mla__objidx *listed = mla__objidx_create();
    mla__objidx_add(listed, deployments);
    mla__objidx_add(listed, bypassed);
    const cJSON *s;
    cJSON_ArrayForEach(s, scaledobjects)
    {
        const char *on = NULL, *ou = NULL;
        const char *ns = mla_kube_meta_str(s, "namespace");
        if (!ns || !rp_managed(s) || !rp_owner(s, &on, &ou) || mla__objidx_find(listed, ns, on))
            continue;
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "namespace", ns);
        cJSON_AddStringToObject(r, "name", on);
        cJSON_AddItemToArray(out, r);
    }
    mla__objidx_destroy(listed);
    return out;
}
