/* controller/worker_job.c - the worker's steps for a Job template (worker-int.h): server-side
 * apply the ScaledJob with an ownerReference to the stored Job (deleting the Job deletes it
 * through garbage collection), delete it on opt-out, and record an Event on the Job for each.
 *
 * Simpler than a Deployment's ScaledObject: no HPA can target a Job, so there is nothing to
 * delete or hand over first. A ScaledJob of the decided name that this product did not write
 * is left alone and reported, as a foreign ScaledObject is.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mla/log.h"
#include "mla/mem.h"
#include "mla/scaledjob.h"
#include "mla/wlkind.h"
#include "mla/worker.h"
#include "worker-int.h"

#define WJ_BASE "/apis/keda.sh/v1alpha1/namespaces/%s/scaledjobs"

enum { WJ_DONE = 0, WJ_RETRY_API = 1 };

void mla__worker_job_stored(struct mla_work *w, const cJSON *job)
{
    cJSON *spec = cJSON_GetObjectItemCaseSensitive(w->so, "spec");
    if (!cJSON_IsObject(spec))
        return;
    cJSON_DeleteItemFromObjectCaseSensitive(spec, "jobTargetRef");
    cJSON_AddItemToObject(spec, "jobTargetRef", mla_sj_job_target(job)); /* spec takes it */
}

static int wj_fail(const struct mla_work *w, const char *what, enum mla_code rc,
                   const struct mla_err *err)
{
    if (mla_worker_ns_gone(rc, err->msg)) {
        mla_log(MLA_LOG_INFO, "worker", "%s/%s: %s: the namespace is going away; nothing to do",
                w->ns, w->name, what);
        return WJ_DONE;
    }
    mla_log(MLA_LOG_WARN, "worker", "%s/%s: %s: %s (retrying)", w->ns, w->name, what, err->msg);
    return WJ_RETRY_API;
}

/* Does the ScaledJob belong to the template Job `job` (with `uid` when not NULL): our managed
 * label and an ownerReference to that Job? */
static bool wj_ours(const cJSON *sj, const char *job, const char *uid)
{
    const char *m = mla_kube_label(sj, MLA_LABEL_MANAGED);
    if (!m || strcmp(m, "true"))
        return false;
    const cJSON *ref;
    cJSON_ArrayForEach(ref, cJSON_GetObjectItemCaseSensitive(
                                cJSON_GetObjectItemCaseSensitive(sj, "metadata"),
                                "ownerReferences"))
    {
        const char *k = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ref, "kind"));
        const char *n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ref, "name"));
        const char *u = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ref, "uid"));
        if (k && n && !strcmp(k, "Job") && !strcmp(n, job) && (!uid || (u && !strcmp(u, uid))))
            return true;
    }
    return false;
}

/* The apply configuration: the decided ScaledJob, owned by the stored Job. */
static cJSON *wj_config(const struct mla_work *w)
{
    cJSON *sj = cJSON_Duplicate(w->so, 1);
    cJSON *m = cJSON_GetObjectItemCaseSensitive(sj, "metadata");
    if (!cJSON_IsObject(m)) {
        cJSON_DeleteItemFromObjectCaseSensitive(sj, "metadata");
        m = cJSON_AddObjectToObject(sj, "metadata");
    }
    cJSON_DeleteItemFromObjectCaseSensitive(m, "namespace");
    cJSON_AddStringToObject(m, "namespace", w->ns);
    cJSON_DeleteItemFromObjectCaseSensitive(m, "ownerReferences");
    cJSON *ref = cJSON_CreateObject();
    cJSON_AddStringToObject(ref, "apiVersion", "batch/v1");
    cJSON_AddStringToObject(ref, "kind", "Job");
    cJSON_AddStringToObject(ref, "name", w->name);
    cJSON_AddStringToObject(ref, "uid", w->uid ? w->uid : "");
    cJSON_AddBoolToObject(ref, "controller", 1);
    cJSON_AddBoolToObject(ref, "blockOwnerDeletion", 1);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(m, "ownerReferences"), ref);
    return sj;
}

static int wj_apply(const struct mla__wk_env *env, struct mla_work *w)
{
    struct mla_err err;
    mla_err_clear(&err);
    struct mla_kube_opts o = {.budget_ms = env->budget_ms};
    struct mla_kube_resp r = {0};
    char *path = mla_xasprintf(WJ_BASE "/%s", w->ns, mla__worker_so_name(w));
    enum mla_code rc = mla_kube_request(env->kc, MLA_KUBE_GET, path, NULL, &o, &r, &err);
    free(path);
    if (rc != MLA_OK && rc != MLA_ENOTFOUND) {
        mla_kube_resp_fini(&r);
        return wj_fail(w, "read ScaledJob", rc, &err);
    }
    bool missing = rc == MLA_ENOTFOUND; /* this write creates it */
    if (rc == MLA_OK && !wj_ours(r.body, w->name, NULL)) {
        mla_log(MLA_LOG_WARN, "worker", "%s/%s: ScaledJob %s exists and was not created by "
                "ml-autoscaling for this Job; left alone", w->ns, w->name, mla__worker_so_name(w));
        mla_worker_event_on(env->kc, env->identity, mla_wl_job(), w->ns, w->name, w->uid, true,
                            "ScaledJobExists", "ScaledJob %s was not created by ml-autoscaling "
                            "for this Job; it is left alone and nothing is written",
                            mla__worker_so_name(w));
        mla_kube_resp_fini(&r);
        return WJ_DONE;
    }
    cJSON *cfg = wj_config(w);
    /* the same work queued again by a later pass: written again, told once */
    bool unchanged = rc == MLA_OK && mla_worker_apply_noop(cfg, r.body) &&
                     wj_ours(r.body, w->name, w->uid);
    mla_kube_resp_fini(&r);
    char *body = cJSON_PrintUnformatted(cfg); /* JSON is YAML: apply-patch+yaml accepts it */
    cJSON_Delete(cfg);
    path = mla_xasprintf(WJ_BASE "/%s?fieldManager=%s&force=true", w->ns, mla__worker_so_name(w),
                         env->field_manager);
    o.content_type = "application/apply-patch+yaml";
    rc = mla_kube_request(env->kc, MLA_KUBE_PATCH, path, body, &o, &r, &err);
    free(path);
    free(body);
    const char *sm = mla_kube_status_message(r.body);
    /* refused as such (schema, validation, typed patch): retrying cannot help */
    bool invalid = rc == MLA_EAPI && (r.status == 400 || r.status == 422 ||
                                      (r.status == 500 && sm &&
                                       strstr(sm, "failed to create typed patch object")));
    mla_kube_resp_fini(&r);
    if (invalid) {
        mla_log(MLA_LOG_ERROR, "worker", "%s/%s: the API refused the ScaledJob %s: %s", w->ns,
                w->name, mla__worker_so_name(w), err.msg);
        mla_worker_event_on(env->kc, env->identity, mla_wl_job(), w->ns, w->name, w->uid, true,
                            "ScaledJobInvalid", "the API refused ScaledJob %s: %s",
                            mla__worker_so_name(w), err.msg);
        return WJ_DONE;
    }
    if (rc != MLA_OK)
        return wj_fail(w, "apply ScaledJob", rc, &err);
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(w->so, "spec");
    int max = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(spec, "maxReplicaCount"));
    mla_log(MLA_LOG_INFO, "worker", "%s/%s: applied ScaledJob %s", w->ns, w->name, mla__worker_so_name(w));
    if (!unchanged)
        mla_worker_event_on(env->kc, env->identity, mla_wl_job(), w->ns, w->name, w->uid,
                            false, "ScaledJobApplied", "applied ScaledJob %s: KEDA runs a copy "
                            "of this Job per queued item, at most %d at once",
                            mla__worker_so_name(w), max);
    /* once, by the write that creates it: an item a later pass queued again finds it */
    if (w->adopt && missing)
        mla_worker_event_on(env->kc, env->identity, mla_wl_job(), w->ns, w->name, w->uid,
                            false, "AdoptedAfterBypass", MLA__WK_ADOPTED_FMT, "ScaledJob",
                            mla__worker_so_name(w), "Job");
    return WJ_DONE;
}

static int wj_remove(const struct mla__wk_env *env, struct mla_work *w)
{
    struct mla_err err;
    mla_err_clear(&err);
    struct mla_kube_opts o = {.budget_ms = env->budget_ms};
    struct mla_kube_resp r = {0};
    char *path = mla_xasprintf(WJ_BASE "?labelSelector=ml-autoscaling.io%%2Fmanaged%%3Dtrue",
                               w->ns);
    enum mla_code rc = mla_kube_request(env->kc, MLA_KUBE_LIST, path, NULL, &o, &r, &err);
    free(path);
    if (rc == MLA_ENOTFOUND) { /* no ScaledJob API: nothing of ours can exist */
        mla_kube_resp_fini(&r);
        return WJ_DONE;
    }
    if (rc != MLA_OK) {
        mla_kube_resp_fini(&r);
        return wj_fail(w, "list ScaledJobs", rc, &err);
    }
    int res = WJ_DONE;
    const cJSON *sj;
    cJSON_ArrayForEach(sj, cJSON_GetObjectItemCaseSensitive(r.body, "items"))
    {
        /* only ours, for this very Job (uid): never a foreign one nor a deleted namesake's */
        if (!w->uid || !wj_ours(sj, w->name, w->uid))
            continue;
        const char *n = mla_kube_meta_str(sj, "name");
        struct mla_kube_resp d = {0};
        path = mla_xasprintf(WJ_BASE "/%s", w->ns, n);
        rc = mla_kube_request(env->kc, MLA_KUBE_DELETE, path, NULL, &o, &d, &err);
        free(path);
        mla_kube_resp_fini(&d);
        if (rc != MLA_OK && rc != MLA_ENOTFOUND) {
            res = wj_fail(w, "delete ScaledJob", rc, &err);
            break;
        }
        mla_log(MLA_LOG_INFO, "worker", "%s/%s: deleted ScaledJob %s", w->ns, w->name, n);
        mla_worker_event_on(env->kc, env->identity, mla_wl_job(), w->ns, w->name, w->uid,
                            false, "ScaledJobRemoved", "the Job opted out: deleted ScaledJob %s",
                            n);
    }
    mla_kube_resp_fini(&r);
    return res;
}

int mla__worker_job_step(const struct mla__wk_env *env, struct mla_work *w)
{
    if (w->action == MLA_ACT_APPLY && w->so)
        return wj_apply(env, w);
    if (w->action == MLA_ACT_REMOVE)
        return wj_remove(env, w);
    return WJ_DONE;
}
