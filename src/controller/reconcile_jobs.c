/* controller/reconcile_jobs.c - the reconcile planner's rules for Job templates and their KEDA
 * ScaledJobs (reconcile-int.h), pure like the rest of the planner (reconcile_plan.c):
 *
 *   4. Per opted-in Job (managed ones, then those that bypassed the webhook): left alone while
 *      it or its namespace is being deleted; else decided as admission decides an UPDATE of the
 *      stored Job. A ScaledJob to write: apply when it is missing (create, or "adopt": the
 *      worker's write then records AdoptedAfterBypass on the Job), drifted from the decision, or owned by a deleted
 *      namesake; paused and foreign ScaledJobs are left alone. Not opted in any more but our
 *      ScaledJob is there: remove. A Job stored unsuspended decides nothing: left as it is.
 *   5. Per ScaledJob we made (label managed, ownerReference to a Job): its Job is gone or was
 *      re-created with a new uid -> delete it (orphan); a Job that lost the managed label is
 *      decided as in 4.
 *
 * Actions carry "kind": "Job" ("delete" of a ScaledJob: "kind": "ScaledJob", name = the
 * ScaledJob's), so that the shell sends them to the Job steps of the worker.
 */
#include <stdio.h>
#include <string.h>

#include "mla/log.h"
#include "mla/worker.h"
#include "reconcile-int.h"

struct rj {
    const struct mla_reconcile_input *in;
    cJSON *plan;                    /* borrowed: the caller's plan */
    struct mla_reconcile_stats *st; /* borrowed */
};

static cJSON *rj_add(struct rj *p, const char *op, const char *kind, const char *ns,
                     const char *name)
{
    cJSON *a = cJSON_CreateObject();
    cJSON_AddStringToObject(a, "op", op);
    cJSON_AddStringToObject(a, "namespace", ns);
    cJSON_AddStringToObject(a, "name", name);
    cJSON_AddStringToObject(a, "kind", kind);
    cJSON_AddItemToArray(p->plan, a); /* plan takes a */
    return a;
}

static bool rj_decide(const struct rj *p, const cJSON *job, const char *ns, const char *name,
                      struct mla_decision *dec)
{
    struct mla_review_request req = {
        .root = NULL, .uid = "reconcile", .kind_group = "batch", .kind_version = "v1",
        .kind = "Job", .resource = "jobs", .sub_resource = "", .op = MLA_OP_UPDATE,
        .operation = "UPDATE", .namespace_ = ns, .name = name, .object = job, .old_object = job,
        .dry_run = false, .username = "system:serviceaccount:ml-autoscaling:reconcile"};
    struct mla_err err;
    mla_err_clear(&err);
    enum mla_code rc = p->in->decide
                           ? p->in->decide(p->in->decide_ctx, p->in->ps, &req, dec, &err)
                           : mla_decide(p->in->ps, &req, dec, &err);
    if (rc != MLA_OK)
        mla_log(MLA_LOG_WARN, "rec", "Job %s/%s: cannot decide: %s", ns, name, err.msg);
    return rc == MLA_OK;
}

/* Does `have` show the member `key` of `want` (absent in want: nothing to show)? */
static bool rj_shows(const cJSON *want, const cJSON *have, const char *key)
{
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(want, key);
    return !w || mla_reconcile_json_subset(w, cJSON_GetObjectItemCaseSensitive(have, key));
}

/* Is the stored ScaledJob what the decision wants, owned by this very Job? Our fields only:
 * KEDA and the API server add defaults and status. */
static bool rj_current(const cJSON *want, const cJSON *have, const char *job, const char *uid)
{
    const cJSON *wm = cJSON_GetObjectItemCaseSensitive(want, "metadata");
    const cJSON *hm = cJSON_GetObjectItemCaseSensitive(have, "metadata");
    return rj_shows(want, have, "spec") && rj_shows(wm, hm, "labels") &&
           rj_shows(wm, hm, "annotations") && mla_worker_so_ours_kind(have, "Job", job, uid);
}

static void rj_apply(struct rj *p, struct mla_decision *dec, const char *ns, const char *name,
                     const char *uid, bool bypassed)
{
    const char *sj_name = dec->so_name[0] ? dec->so_name : name;
    const cJSON *have = mla__reconcile_find(p->in->scaledjobs, ns, sj_name);
    const char *why = NULL;
    if (!have) {
        why = bypassed ? "adopt" : "create";
    } else if (mla_reconcile_so_paused(have)) {
        p->st->paused++;
        return;
    } else if (!mla_worker_so_ours_kind(have, "Job", name, NULL)) {
        return; /* someone else's: left alone (the worker reported it when it met it) */
    } else if (!rj_current(dec->scaled_object, have, name, uid)) {
        why = "update";
    } else {
        return;
    }
    (*(!strcmp(why, "create")   ? &p->st->created
       : !strcmp(why, "adopt") ? &p->st->adopted
                               : &p->st->updated))++;
    cJSON *a = rj_add(p, "apply", "Job", ns, name);
    cJSON_AddStringToObject(a, "why", why);
    cJSON_AddStringToObject(a, "soName", sj_name);
    cJSON_AddItemToObject(a, "scaledObject", dec->scaled_object); /* a takes it */
    dec->scaled_object = NULL;
}

/* Not opted in any more: our ScaledJob for this very Job must go. */
static void rj_optout(struct rj *p, const char *ns, const char *name, const char *uid)
{
    const cJSON *s;
    cJSON_ArrayForEach(s, p->in->scaledjobs)
    {
        const char *sns = mla_kube_meta_str(s, "namespace");
        if (sns && !strcmp(sns, ns) && mla_worker_so_ours_kind(s, "Job", name, uid)) {
            mla_log(MLA_LOG_INFO, "rec", "Job %s/%s: not opted in; removing ScaledJob %s", ns,
                    name, mla_kube_meta_str(s, "name"));
            p->st->orphans++;
            rj_add(p, "remove", "Job", ns, name);
            return;
        }
    }
}

static void rj_job(struct rj *p, const cJSON *job, bool bypassed)
{
    const char *ns = mla_kube_meta_str(job, "namespace");
    const char *name = mla_kube_meta_str(job, "name");
    const char *uid = mla_kube_meta_str(job, "uid");
    if (!ns || !name || !uid)
        return;
    if (mla_kube_meta_str(job, "deletionTimestamp") ||
        mla__reconcile_has_str(p->in->terminating, ns)) {
        mla_log(MLA_LOG_DEBUG, "rec", "Job %s/%s: left alone: it or its namespace is being "
                "deleted", ns, name);
        p->st->skipped++;
        return;
    }
    struct mla_decision dec;
    mla_decision_init(&dec);
    if (!rj_decide(p, job, ns, name, &dec)) {
        mla_decision_fini(&dec);
        return;
    }
    p->st->jobs++;
    if (dec.action == MLA_ACT_APPLY && dec.allowed && dec.scaled_object && !dec.skip_write)
        rj_apply(p, &dec, ns, name, uid, bypassed);
    else if (!dec.opted_in)
        rj_optout(p, ns, name, uid);
    /* opted in but nothing to write (a Job stored unsuspended, skip-scaledobject, denied):
     * what is there stays, as admission would leave it */
    mla_decision_fini(&dec);
}

/* The template Job a ScaledJob of ours belongs to: name and uid of its ownerReference. */
static bool rj_owner(const cJSON *sj, const char **name, const char **uid)
{
    const char *m = mla_kube_label(sj, MLA_LABEL_MANAGED);
    if (!m || strcmp(m, "true"))
        return false;
    const cJSON *o;
    cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(
                              cJSON_GetObjectItemCaseSensitive(sj, "metadata"), "ownerReferences"))
    {
        const char *k = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "kind"));
        if (k && !strcmp(k, "Job")) {
            *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "name"));
            *uid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "uid"));
            return *name && *uid;
        }
    }
    return false;
}

static const cJSON *rj_listed(const struct mla_reconcile_input *in, const char *ns,
                              const char *name)
{
    const cJSON *j = mla__reconcile_find(in->jobs, ns, name);
    return j ? j : mla__reconcile_find(in->bypassed_jobs, ns, name);
}

/* Rule 5 for one ScaledJob. */
static void rj_orphan(struct rj *p, const cJSON *sj)
{
    const char *on = NULL, *ou = NULL;
    const char *ns = mla_kube_meta_str(sj, "namespace");
    const char *sn = mla_kube_meta_str(sj, "name");
    if (!ns || !sn || !rj_owner(sj, &on, &ou) || mla__reconcile_has_str(p->in->terminating, ns))
        return;
    const cJSON *job = rj_listed(p->in, ns, on);
    if (!job) {
        char key[600];
        snprintf(key, sizeof key, "%s/%s", ns, on);
        if (mla__reconcile_has_str(p->in->job_unknown, key))
            return; /* cannot tell: next pass */
        const cJSON *read = mla__reconcile_find(p->in->job_owners, ns, on);
        const char *ru = read ? mla_kube_meta_str(read, "uid") : NULL;
        if (ru && !strcmp(ru, ou)) {
            rj_job(p, read, false); /* it lost the managed label: decide as any other */
            return;
        }
    } else {
        const char *ju = mla_kube_meta_str(job, "uid");
        if (ju && !strcmp(ju, ou))
            return; /* its Job is there */
    }
    mla_log(MLA_LOG_INFO, "rec", "%s/%s: Job %s is gone; deleting orphaned ScaledJob", ns, sn,
            on);
    p->st->orphans++;
    rj_add(p, "delete", "ScaledJob", ns, sn);
}

void mla__reconcile_plan_jobs(const struct mla_reconcile_input *in, cJSON *plan,
                              struct mla_reconcile_stats *st)
{
    struct rj p = {.in = in, .plan = plan, .st = st};
    const cJSON *x;
    cJSON_ArrayForEach(x, in->jobs)
    {
        rj_job(&p, x, false);
    }
    cJSON_ArrayForEach(x, in->bypassed_jobs)
    {
        const char *en = mla_kube_annotation(x, "ml-autoscaling.io/enabled");
        const char *ns = mla_kube_meta_str(x, "namespace");
        const char *nm = mla_kube_meta_str(x, "name");
        /* a Job in both lists was marked between the two reads: once is enough */
        if (en && !strcmp(en, "true") && ns && nm && !mla__reconcile_find(in->jobs, ns, nm))
            rj_job(&p, x, true);
    }
    cJSON_ArrayForEach(x, in->scaledjobs)
    {
        rj_orphan(&p, x);
    }
}

cJSON *mla_reconcile_job_owners_to_read(const cJSON *jobs, const cJSON *bypassed_jobs,
                                        const cJSON *scaledjobs)
{
    struct mla_reconcile_input in = {.jobs = jobs, .bypassed_jobs = bypassed_jobs};
    cJSON *out = cJSON_CreateArray();
    const cJSON *s;
    cJSON_ArrayForEach(s, scaledjobs)
    {
        const char *on = NULL, *ou = NULL;
        const char *ns = mla_kube_meta_str(s, "namespace");
        if (!ns || !rj_owner(s, &on, &ou) || rj_listed(&in, ns, on))
            continue;
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "namespace", ns);
        cJSON_AddStringToObject(r, "name", on);
        cJSON_AddItemToArray(out, r);
    }
    return out;
}
