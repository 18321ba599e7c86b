/* controller/worker.c - writes to the API once the Deployment is stored (see worker.h).
 *
 * DESIGN: `threads` worker threads pop items from the shared queue (producers: admission
 * request threads through the enqueue hook, and the leader's loop). An item is processed by one
 * thread at a time (the queue keeps its key in flight). A step either finishes the item or asks
 * to run again after a delay (waiting for the Deployment to be stored, API errors with backoff
 * and jitter, KEDA adopting a transferred HPA); the thread then requeues it and takes the next
 * ready item, so one slow Deployment never blocks the others. Nothing is shared between threads
 * except the queue and the client (both any-thread) and the metric handles (atomic).
 * Shutdown: mla_worker_destroy stops the queue (pop returns NULL), joins the threads; items
 * still queued are dropped (the leader's loop repairs what they would have done).
 *
 * Order of writes for APPLY (KEDA's webhook refuses a ScaledObject while an HPA targets the
 * workload, and checks the *stored* Deployment): conflicting HPAs first (delete, keeping their
 * spec in an annotation and in the Event; or transfer), then the apply, then Events.
 */
#include "mla/worker.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "mla/log.h"
#include "mla/mem.h"
#include "mla/metrics.h"
#include "mla/predict_step.h"

#define SEL_MANAGED "labelSelector=ml-autoscaling.io%%2Fmanaged%%3Dtrue" /* a format string */

struct mla_worker {
    struct mla_worker_config cfg; /* immutable after create (strings owned) */
    char *field_manager;          /* immutable */
    char *identity;               /* immutable */
    struct mla_kube *kc;          /* borrowed */
    struct mla_queue *q;          /* borrowed */
    pthread_t *threads;
    int n_threads;
    _Atomic unsigned seed;        /* atomic: jitter state */
    struct mla_log_limit rl;
};

/* ------------------------------------------------------------------ pure helpers */

enum mla_stored mla_worker_stored_check(const struct mla_work *w, const cJSON *stored,
                                        double slack_s)
{
    if (!stored)
        return MLA_STORED_NOT_YET;
    const char *uid = mla_kube_meta_str(stored, "uid");
    const char *rv = mla_kube_meta_str(stored, "resourceVersion");
    if (w->op == MLA_OP_CREATE) {
        if (!uid || !*uid)
            return MLA_STORED_NOT_YET;
        double created = 0;
        const char *ts = mla_kube_meta_str(stored, "creationTimestamp");
        /* creationTimestamp has whole seconds: compare with slack, never exactly */
        if (ts && mla_kube_time_parse(ts, &created) == MLA_OK && w->enqueued_wall > 0 &&
            created + slack_s < w->enqueued_wall)
            return MLA_STORED_OTHER;
        return MLA_STORED_YES;
    }
    if (!w->old_rv || !*w->old_rv)
        return MLA_STORED_YES;
    if (!rv)
        return MLA_STORED_NOT_YET;
    return strcmp(rv, w->old_rv) != 0 ? MLA_STORED_YES : MLA_STORED_NOT_YET;
}

static const char *wk_str(const cJSON *o, const char *k)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

bool mla_worker_hpa_conflicts(const cJSON *hpa, const char *deploy)
{
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(hpa, "spec"), "scaleTargetRef");
    const char *kind = wk_str(ref, "kind");
    const char *name = wk_str(ref, "name");
    if (!kind || !name || strcmp(kind, "Deployment") || strcmp(name, deploy))
        return false;
    const cJSON *o;
    cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(
                              cJSON_GetObjectItemCaseSensitive(hpa, "metadata"), "ownerReferences"))
    {
        const char *k = wk_str(o, "kind");
        if (k && !strcmp(k, "ScaledObject"))
            return false; /* KEDA's own HPA */
    }
    return true;
}

bool mla_worker_so_targets(const cJSON *so, const char *deploy)
{
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(so, "spec"), "scaleTargetRef");
    const char *kind = wk_str(ref, "kind");
    const char *name = wk_str(ref, "name");
    return name && !strcmp(name, deploy) && (!kind || !strcmp(kind, "Deployment"));
}

bool mla_worker_so_ours(const cJSON *so, const char *deploy, const char *uid)
{
    const char *m = mla_kube_label(so, MLA_LABEL_MANAGED);
    if (!m || strcmp(m, "true"))
        return false;
    const cJSON *o;
    cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(
                              cJSON_GetObjectItemCaseSensitive(so, "metadata"), "ownerReferences"))
    {
        const char *k = wk_str(o, "kind");
        const char *n = wk_str(o, "name");
        const char *u = wk_str(o, "uid");
        if (k && n && !strcmp(k, "Deployment") && !strcmp(n, deploy) &&
            (!uid || (u && !strcmp(u, uid))))
            return true;
    }
    return false;
}

char *mla_worker_hpa_snapshot(const cJSON *hpa)
{
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "apiVersion", "autoscaling/v2");
    cJSON_AddStringToObject(s, "kind", "HorizontalPodAutoscaler");
    cJSON *m = cJSON_AddObjectToObject(s, "metadata");
    const cJSON *om = cJSON_GetObjectItemCaseSensitive(hpa, "metadata");
    cJSON_AddStringToObject(m, "name", wk_str(om, "name") ? wk_str(om, "name") : "");
    static const char *const keep[] = {"labels", "annotations"};
    for (size_t i = 0; i < 2; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(om, keep[i]);
        if (cJSON_IsObject(v))
            cJSON_AddItemToObject(m, keep[i], cJSON_Duplicate(v, 1));
    }
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(hpa, "spec");
    cJSON_AddItemToObject(s, "spec", spec ? cJSON_Duplicate(spec, 1) : cJSON_CreateObject());
    char *out = cJSON_PrintUnformatted(s);
    cJSON_Delete(s);
    return out;
}

/* ------------------------------------------------------------------ metrics */

static void wk_count(const char *action, bool ok)
{
    char labels[96];
    snprintf(labels, sizeof labels, "action=\"%s\",result=\"%s\"", action, ok ? "ok" : "error");
    struct mla_metric *m = mla_metrics_get(MLA_METRIC_COUNTER, "mla_worker_actions_total",
                                           "API writes made by the worker, by action and result.",
                                           labels, NULL, 0);
    if (m)
        mla_metric_inc(m);
}

static void wk_simple(const char *name, const char *help)
{
    struct mla_metric *m = mla_metrics_get(MLA_METRIC_COUNTER, name, help, "", NULL, 0);
    if (m)
        mla_metric_inc(m);
}

static void wk_observe_applied(double seconds)
{
    static const double buckets[] = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
    struct mla_metric *m = mla_metrics_get(
        MLA_METRIC_HISTOGRAM, "mla_worker_stored_to_applied_seconds",
        "Time from the worker seeing the Deployment stored to the ScaledObject applied.", "",
        buckets, sizeof buckets / sizeof buckets[0]);
    if (m)
        mla_metric_observe(m, seconds);
}

/* ------------------------------------------------------------------ events */

void mla_worker_event(struct mla_kube *kc, const char *identity, const char *ns,
                      const char *deploy, const char *uid, bool warning, const char *reason,
                      const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    char ts[40], name[320];
    mla_kube_time_format(ts, sizeof ts, (double)tv.tv_sec, false);
    /* kubectl-style unique name: <object>.<hex nanoseconds> */
    static _Atomic unsigned long long seq;
    unsigned long long n = ((unsigned long long)tv.tv_sec * 1000000ULL + (unsigned long long)tv.tv_usec) * 1000ULL +
                           (seq++ % 1000);
    snprintf(name, sizeof name, "%s.%llx", deploy, n);
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "apiVersion", "v1");
    cJSON_AddStringToObject(e, "kind", "Event");
    cJSON *m = cJSON_AddObjectToObject(e, "metadata");
    cJSON_AddStringToObject(m, "name", name);
    cJSON_AddStringToObject(m, "namespace", ns);
    cJSON *io = cJSON_AddObjectToObject(e, "involvedObject");
    cJSON_AddStringToObject(io, "apiVersion", "apps/v1");
    cJSON_AddStringToObject(io, "kind", "Deployment");
    cJSON_AddStringToObject(io, "name", deploy);
    cJSON_AddStringToObject(io, "namespace", ns);
    if (uid)
        cJSON_AddStringToObject(io, "uid", uid);
    cJSON_AddStringToObject(e, "reason", reason);
    cJSON_AddStringToObject(e, "message", msg);
    cJSON_AddStringToObject(e, "type", warning ? "Warning" : "Normal");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(e, "source"), "component", "ml-autoscaling");
    cJSON_AddStringToObject(e, "reportingComponent", "ml-autoscaling");
    cJSON_AddStringToObject(e, "reportingInstance", identity ? identity : "ml-autoscaling");
    cJSON_AddStringToObject(e, "firstTimestamp", ts);
    cJSON_AddStringToObject(e, "lastTimestamp", ts);
    cJSON_AddNumberToObject(e, "count", 1);
    char *body = cJSON_PrintUnformatted(e);
    cJSON_Delete(e);
    char *path = mla_xasprintf("/api/v1/namespaces/%s/events", ns);
    struct mla_kube_opts o = {.budget_ms = 2000, .max_attempts = 2};
    struct mla_kube_resp r = {0};
    struct mla_err err;
    mla_err_clear(&err);
    enum mla_code rc = mla_kube_request(kc, MLA_KUBE_POST, path, body, &o, &r, &err);
    mla_kube_resp_fini(&r);
    wk_count("event", rc == MLA_OK);
    if (rc != MLA_OK)
        mla_log(MLA_LOG_WARN, "worker", "cannot record Event %s on %s/%s: %s", reason, ns, deploy,
                err.msg);
    free(path);
    free(body);
}

/* ------------------------------------------------------------------ steps */

enum wk_res { WK_DONE, WK_RETRY_API, WK_WAIT };

static struct mla_kube_opts wk_opts(const struct mla_worker *wk, const char *ctype)
{
    return (struct mla_kube_opts){.budget_ms = wk->cfg.request_budget_ms,
                                  .content_type = ctype};
}

/* GET into *obj (new) or NULL for 404. */
static enum mla_code wk_get(struct mla_worker *wk, const char *path, cJSON **obj,
                            struct mla_err *err)
{
    struct mla_kube_opts o = wk_opts(wk, NULL);
    struct mla_kube_resp r = {0};
    enum mla_code rc = mla_kube_request(wk->kc, MLA_KUBE_GET, path, NULL, &o, &r, err);
    if (rc == MLA_OK) {
        *obj = r.body;
        return MLA_OK;
    }
    mla_kube_resp_fini(&r);
    if (rc == MLA_ENOTFOUND) {
        *obj = NULL;
        return MLA_OK;
    }
    return rc;
}

static enum mla_code wk_list(struct mla_worker *wk, const char *path, cJSON **items,
                             struct mla_err *err)
{
    struct mla_kube_opts o = wk_opts(wk, NULL);
    struct mla_kube_resp r = {0};
    enum mla_code rc = mla_kube_request(wk->kc, MLA_KUBE_LIST, path, NULL, &o, &r, err);
    if (rc != MLA_OK) {
        mla_kube_resp_fini(&r);
        return rc;
    }
    cJSON *it = cJSON_DetachItemFromObjectCaseSensitive(r.body, "items");
    mla_kube_resp_fini(&r);
    *items = it ? it : cJSON_CreateArray();
    return MLA_OK;
}

static enum mla_code wk_delete(struct mla_worker *wk, const char *path, struct mla_err *err)
{
    struct mla_kube_opts o = wk_opts(wk, NULL);
    struct mla_kube_resp r = {0};
    enum mla_code rc = mla_kube_request(wk->kc, MLA_KUBE_DELETE, path, NULL, &o, &r, err);
    mla_kube_resp_fini(&r);
    return rc == MLA_ENOTFOUND ? MLA_OK : rc;
}

static void wk_set_str(cJSON *o, const char *k, const char *v)
{
    cJSON_DeleteItemFromObjectCaseSensitive(o, k);
    cJSON_AddStringToObject(o, k, v);
}

static cJSON *wk_obj(cJSON *parent, const char *k)
{
    cJSON *o = cJSON_GetObjectItemCaseSensitive(parent, k);
    if (!cJSON_IsObject(o)) {
        cJSON_DeleteItemFromObjectCaseSensitive(parent, k);
        o = cJSON_AddObjectToObject(parent, k);
    }
    return o;
}

/* The configuration to apply: the desired ScaledObject, owned by the stored Deployment. */
static cJSON *wk_build_apply(const struct mla_work *w, const char *removed_hpa,
                             const char *transfer_hpa)
{
    cJSON *so = cJSON_Duplicate(w->so, 1);
    wk_set_str(so, "apiVersion", "keda.sh/v1alpha1");
    wk_set_str(so, "kind", "ScaledObject");
    cJSON *m = wk_obj(so, "metadata");
    wk_set_str(m, "namespace", w->ns);
    /* fields the API owns must not be in an apply configuration */
    static const char *const sys[] = {"uid", "resourceVersion", "creationTimestamp",
                                      "generation", "managedFields"};
    for (size_t i = 0; i < sizeof sys / sizeof sys[0]; i++)
        cJSON_DeleteItemFromObjectCaseSensitive(m, sys[i]);
    cJSON *refs = cJSON_CreateArray();
    cJSON *ref = cJSON_CreateObject();
    cJSON_AddStringToObject(ref, "apiVersion", "apps/v1");
    cJSON_AddStringToObject(ref, "kind", "Deployment");
    cJSON_AddStringToObject(ref, "name", w->name);
    cJSON_AddStringToObject(ref, "uid", w->uid);
    cJSON_AddBoolToObject(ref, "controller", 1);
    cJSON_AddBoolToObject(ref, "blockOwnerDeletion", 1);
    cJSON_AddItemToArray(refs, ref);
    cJSON_DeleteItemFromObjectCaseSensitive(m, "ownerReferences");
    cJSON_AddItemToObject(m, "ownerReferences", refs);
    if (removed_hpa)
        wk_set_str(wk_obj(m, "annotations"), MLA_ANN_REMOVED_HPA, removed_hpa);
    if (transfer_hpa) {
        wk_set_str(wk_obj(m, "annotations"), MLA_ANN_TRANSFER, "true");
        cJSON *hc = wk_obj(wk_obj(wk_obj(so, "spec"), "advanced"), "horizontalPodAutoscalerConfig");
        wk_set_str(hc, "name", transfer_hpa);
    }
    return so;
}

/* The apply configuration over `existing` (the stored ScaledObject, NULL when none). While the
 * opt-in asks for the predictive loop, the replica counts the loop owns (its own field manager,
 * ml-autoscaling-loop) are left out: server-side apply then keeps the loop's values without this
 * manager taking them over, and never copies the loop's annotations (predict_step.h). A
 * Deployment UPDATE (often an annotation or image change) says nothing about the forecast:
 * re-applying the policy's minReplicaCount would drop the forecast's floor until the next loop
 * pass, up to a minute of missing pods before a peak. */
static cJSON *wk_build_over(const struct mla_work *w, const cJSON *existing,
                            const char *removed_hpa, const char *transfer_hpa)
{
    cJSON *so = wk_build_apply(w, removed_hpa, transfer_hpa);
    if (mla_predict_leave_loop(so, existing))
        mla_log(MLA_LOG_INFO, "worker", "%s/%s: leaving the replica counts to the predictive "
                "loop (field manager " MLA_PREDICT_FIELD_MANAGER ")", w->ns, w->name);
    return so;
}

static const char *wk_so_name(const struct mla_work *w)
{
    if (w->so_name && *w->so_name)
        return w->so_name;
    const char *n = w->so ? mla_kube_meta_str(w->so, "name") : NULL;
    return n ? n : w->name;
}

static enum mla_code wk_apply(struct mla_worker *wk, const struct mla_work *w, const cJSON *cfg,
                              struct mla_err *err)
{
    char *body = cJSON_PrintUnformatted(cfg); /* JSON is YAML: apply-patch+yaml accepts it */
    char *path = mla_xasprintf("/apis/keda.sh/v1alpha1/namespaces/%s/scaledobjects/%s"
                               "?fieldManager=%s&force=true",
                               w->ns, wk_so_name(w), wk->field_manager);
    struct mla_kube_opts o = wk_opts(wk, "application/apply-patch+yaml");
    struct mla_kube_resp r = {0};
    enum mla_code rc = mla_kube_request(wk->kc, MLA_KUBE_PATCH, path, body, &o, &r, err);
    /* 400/422: the API refuses the object itself (schema, validation); retrying cannot help */
    if (rc == MLA_EAPI && (r.status == 400 || r.status == 422))
        rc = MLA_EINVAL;
    mla_kube_resp_fini(&r);
    free(path);
    free(body);
    return rc;
}

/* The ScaledObject was refused as invalid: report once, do not retry. */
static void wk_invalid(struct mla_worker *wk, const struct mla_work *w, const struct mla_err *err)
{
    mla_log(MLA_LOG_ERROR, "worker", "%s/%s: the API refused the ScaledObject %s: %s", w->ns,
            w->name, wk_so_name(w), err->msg);
    mla_worker_event(wk->kc, wk->identity, w->ns, w->name, w->uid, true, "ScaledObjectInvalid",
                     "the API refused ScaledObject %s: %s", wk_so_name(w), err->msg);
    wk_simple("mla_worker_gave_up_total", "Work items the worker gave up on (the loop "
                                          "repairs what is still missing).");
}

static void wk_log_err(struct mla_worker *wk, const struct mla_work *w, const char *what,
                       const struct mla_err *err)
{
    long sup = 0;
    if (mla_log_limit_allow(&wk->rl, 1.0, &sup))
        mla_log(MLA_LOG_WARN, "worker", "%s/%s: %s: %s (retrying; %ld similar lines suppressed)",
                w->ns, w->name, what, err->msg, sup);
}

/* Deletes the conflicting HPAs, returning the snapshot of the first (new) for the annotation. */
static enum wk_res wk_delete_hpas(struct mla_worker *wk, struct mla_work *w, cJSON *hpas,
                                  char **snapshot)
{
    const cJSON *h;
    cJSON_ArrayForEach(h, hpas)
    {
        if (!mla_worker_hpa_conflicts(h, w->name))
            continue;
        const char *hn = mla_kube_meta_str(h, "name");
        char *snap = mla_worker_hpa_snapshot(h);
        char *path = mla_xasprintf("/apis/autoscaling/v2/namespaces/%s/horizontalpodautoscalers/%s",
                                   w->ns, hn);
        struct mla_err err;
        mla_err_clear(&err);
        enum mla_code rc = wk_delete(wk, path, &err);
        free(path);
        wk_count("delete_hpa", rc == MLA_OK);
        if (rc != MLA_OK) {
            free(snap);
            wk_log_err(wk, w, "delete HPA", &err);
            return WK_RETRY_API;
        }
        mla_worker_event(wk->kc, wk->identity, w->ns, w->name, w->uid, false, "HPARemoved",
                         "removed HorizontalPodAutoscaler %s (it conflicts with the KEDA "
                         "ScaledObject %s); its spec is kept in annotation %s: %s",
                         hn, wk_so_name(w), MLA_ANN_REMOVED_HPA, snap);
        mla_log(MLA_LOG_INFO, "worker", "%s/%s: deleted HPA %s", w->ns, w->name, hn);
        if (!*snapshot)
            *snapshot = snap;
        else
            free(snap);
    }
    return WK_DONE;
}

static enum wk_res wk_step_apply(struct mla_worker *wk, struct mla_work *w)
{
    struct mla_err err;
    mla_err_clear(&err);
    const char *so_name = wk_so_name(w);
    char *so_path = mla_xasprintf("/apis/keda.sh/v1alpha1/namespaces/%s/scaledobjects/%s", w->ns,
                                  so_name);
    cJSON *existing = NULL, *sos = NULL, *hpas = NULL, *cfg = NULL;
    char *snapshot = NULL;
    char *carried = NULL; /* removed-hpa of a replaced ScaledObject of ours */
    enum wk_res res = WK_DONE;

    if (w->stage == MLA_STAGE_VERIFY_TRANSFER) {
        char *hpath = mla_xasprintf(
            "/apis/autoscaling/v2/namespaces/%s/horizontalpodautoscalers/%s", w->ns,
            w->transfer_hpa);
        cJSON *h = NULL;
        enum mla_code rc = wk_get(wk, hpath, &h, &err);
        free(hpath);
        if (rc != MLA_OK) {
            res = WK_RETRY_API;
            goto out;
        }
        if (!h || !mla_worker_hpa_conflicts(h, w->name)) {
            wk_count("transfer_hpa", true);
            mla_worker_event(wk->kc, wk->identity, w->ns, w->name, w->uid, false, "HPATransferred",
                             "KEDA took over HorizontalPodAutoscaler %s for ScaledObject %s",
                             w->transfer_hpa, so_name);
            cJSON_Delete(h);
            goto out;
        }
        if (mla_queue_now_ms() < w->stage_deadline_ms) {
            cJSON_Delete(h);
            res = WK_WAIT;
            goto out;
        }
        /* KEDA did not adopt it: fall back to delete, then apply without the transfer */
        wk_count("transfer_hpa", false);
        mla_worker_event(wk->kc, wk->identity, w->ns, w->name, w->uid, true, "HPATransferFailed",
                         "KEDA did not take over HorizontalPodAutoscaler %s within %ld ms; "
                         "deleting it instead", w->transfer_hpa, wk->cfg.transfer_verify_ms);
        cJSON *one = cJSON_CreateArray();
        cJSON_AddItemToArray(one, h); /* one takes h */
        res = wk_delete_hpas(wk, w, one, &snapshot);
        cJSON_Delete(one);
        if (res != WK_DONE)
            goto out;
        w->stage = MLA_STAGE_WAIT_STORED;
        free(w->transfer_hpa);
        w->transfer_hpa = NULL;
        /* keep an annotation an earlier delete wrote */
        if (wk_get(wk, so_path, &existing, &err) != MLA_OK) {
            res = WK_RETRY_API;
            goto out;
        }
        const char *prev = existing ? mla_kube_annotation(existing, MLA_ANN_REMOVED_HPA) : NULL;
        cfg = wk_build_over(w, existing, prev ? prev : snapshot, NULL);
        goto apply;
    }

    /* 1. the ScaledObject someone else may have written */
    if (wk_get(wk, so_path, &existing, &err) != MLA_OK) {
        res = WK_RETRY_API;
        goto out;
    }
    if (existing && !mla_worker_so_ours(existing, w->name, NULL)) {
        mla_worker_event(wk->kc, wk->identity, w->ns, w->name, w->uid, true, "ScaledObjectConflict",
                         "ScaledObject %s exists and was not created by ml-autoscaling; it is "
                         "left alone and no ScaledObject is applied", so_name);
        mla_log(MLA_LOG_WARN, "worker", "%s/%s: ScaledObject %s was written by someone else; "
                "left alone", w->ns, w->name, so_name);
        goto out;
    }
    char *list_path = mla_xasprintf("/apis/keda.sh/v1alpha1/namespaces/%s/scaledobjects", w->ns);
    enum mla_code rc = wk_list(wk, list_path, &sos, &err);
    free(list_path);
    if (rc != MLA_OK) {
        res = WK_RETRY_API;
        goto out;
    }
    const cJSON *s;
    cJSON_ArrayForEach(s, sos)
    {
        const char *sn = mla_kube_meta_str(s, "name");
        if (!sn || !strcmp(sn, so_name) || !mla_worker_so_targets(s, w->name))
            continue;
        if (mla_worker_so_ours(s, w->name, NULL)) {
            /* ours under an older name (the policy renamed it): replace it, carrying the HPA
             * it keeps so that opting out still restores it */
            const char *kept = mla_kube_annotation(s, MLA_ANN_REMOVED_HPA);
            if (kept && !carried)
                carried = mla_xstrdup(kept);
            char *p = mla_xasprintf("/apis/keda.sh/v1alpha1/namespaces/%s/scaledobjects/%s",
                                    w->ns, sn);
            rc = wk_delete(wk, p, &err);
            free(p);
            wk_count("remove", rc == MLA_OK);
            if (rc != MLA_OK) {
                res = WK_RETRY_API;
                goto out;
            }
            continue;
        }
        mla_worker_event(wk->kc, wk->identity, w->ns, w->name, w->uid, true, "ScaledObjectConflict",
                         "ScaledObject %s (not created by ml-autoscaling) already scales this "
                         "Deployment; it is left alone and no ScaledObject is applied", sn);
        mla_log(MLA_LOG_WARN, "worker", "%s/%s: ScaledObject %s written by someone else scales "
                "it; left alone", w->ns, w->name, sn);
        goto out;
    }

    /* 2. conflicting HPAs */
    char *hpa_path = mla_xasprintf("/apis/autoscaling/v2/namespaces/%s/horizontalpodautoscalers",
                                   w->ns);
    rc = wk_list(wk, hpa_path, &hpas, &err);
    free(hpa_path);
    if (rc != MLA_OK) {
        res = WK_RETRY_API;
        goto out;
    }
    const char *conflict = NULL;
    const cJSON *h;
    cJSON_ArrayForEach(h, hpas)
    {
        if (!conflict && mla_worker_hpa_conflicts(h, w->name))
            conflict = mla_kube_meta_str(h, "name");
    }
    const char *prev_removed = existing ? mla_kube_annotation(existing, MLA_ANN_REMOVED_HPA) : NULL;
    if (!prev_removed)
        prev_removed = carried;
    if (conflict && w->hpa_mode == MLA_HPA_REJECT) {
        mla_worker_event(wk->kc, wk->identity, w->ns, w->name, w->uid, true, "HPAConflict",
                         "HorizontalPodAutoscaler %s scales this Deployment and the policy's HPA "
                         "mode is reject; no ScaledObject is applied", conflict);
        goto out;
    }
    if (conflict && w->hpa_mode == MLA_HPA_TRANSFER) {
        cfg = wk_build_over(w, existing, prev_removed, conflict);
        rc = wk_apply(wk, w, cfg, &err);
        wk_count("apply", rc == MLA_OK);
        if (rc == MLA_EINVAL) {
            wk_invalid(wk, w, &err);
            goto out;
        }
        if (rc != MLA_OK) {
            wk_log_err(wk, w, "apply ScaledObject (HPA transfer)", &err);
            res = WK_RETRY_API;
            goto out;
        }
        mla_worker_event(wk->kc, wk->identity, w->ns, w->name, w->uid, false, "ScaledObjectApplied",
                         "applied ScaledObject %s, asking KEDA to take over "
                         "HorizontalPodAutoscaler %s", so_name, conflict);
        if (w->stored_ms)
            wk_observe_applied((double)(mla_queue_now_ms() - w->stored_ms) / 1000.0);
        w->stage = MLA_STAGE_VERIFY_TRANSFER;
        w->transfer_hpa = mla_xstrdup(conflict);
        w->stage_deadline_ms = mla_queue_now_ms() + wk->cfg.transfer_verify_ms;
        w->attempts = 0;
        res = WK_WAIT;
        goto out;
    }
    if (conflict) {
        res = wk_delete_hpas(wk, w, hpas, &snapshot);
        if (res != WK_DONE)
            goto out;
    }
    /* an annotation an earlier removal wrote stays: opting out restores the original HPA */
    cfg = wk_build_over(w, existing, prev_removed ? prev_removed : snapshot, NULL);

apply:
    rc = wk_apply(wk, w, cfg, &err);
    wk_count("apply", rc == MLA_OK);
    if (rc == MLA_EINVAL) {
        /* an HPA deleted just before stays recorded in its HPARemoved Event */
        wk_invalid(wk, w, &err);
        goto out;
    }
    if (rc != MLA_OK) {
        if (snapshot || carried) {
            /* the HPA (or the ScaledObject that kept it) is gone: keep what it was in the item,
             * so the retry writes it */
            cJSON_DeleteItemFromObjectCaseSensitive(w->so, "metadata");
            cJSON_AddItemToObject(w->so, "metadata",
                                  cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(cfg, "metadata"), 1));
        }
        wk_log_err(wk, w, "apply ScaledObject", &err);
        res = WK_RETRY_API;
        goto out;
    }
    if (w->stored_ms)
        wk_observe_applied((double)(mla_queue_now_ms() - w->stored_ms) / 1000.0);
    mla_log(MLA_LOG_INFO, "worker", "%s/%s: applied ScaledObject %s", w->ns, w->name, so_name);
    mla_worker_event(wk->kc, wk->identity, w->ns, w->name, w->uid, false, "ScaledObjectApplied",
                     "applied KEDA ScaledObject %s (server-side apply, field manager %s)", so_name,
                     wk->field_manager);
out:
    free(so_path);
    free(snapshot);
    free(carried);
    cJSON_Delete(existing);
    cJSON_Delete(sos);
    cJSON_Delete(hpas);
    cJSON_Delete(cfg);
    return res;
}

/* Restores the HPA kept in the annotation unless one of that name exists. */
static enum wk_res wk_restore_hpa(struct mla_worker *wk, struct mla_work *w, const char *snap)
{
    cJSON *h = cJSON_Parse(snap);
    const char *hn = mla_kube_meta_str(h, "name");
    if (!h || !hn) {
        mla_log(MLA_LOG_WARN, "worker", "%s/%s: annotation %s is not an HPA; not restored",
                w->ns, w->name, MLA_ANN_REMOVED_HPA);
        cJSON_Delete(h);
        return WK_DONE;
    }
    char *body = cJSON_PrintUnformatted(h);
    char *path = mla_xasprintf("/apis/autoscaling/v2/namespaces/%s/horizontalpodautoscalers", w->ns);
    struct mla_kube_opts o = wk_opts(wk, NULL);
    struct mla_kube_resp r = {0};
    struct mla_err err;
    mla_err_clear(&err);
    enum mla_code rc = mla_kube_request(wk->kc, MLA_KUBE_POST, path, body, &o, &r, &err);
    mla_kube_resp_fini(&r);
    enum wk_res res = WK_DONE;
    if (rc == MLA_OK) {
        wk_count("restore_hpa", true);
        mla_worker_event(wk->kc, wk->identity, w->ns, w->name, w->uid, false, "HPARestored",
                         "restored HorizontalPodAutoscaler %s removed when the Deployment opted "
                         "in", hn);
    } else if (rc == MLA_ECONFLICT) {
        mla_log(MLA_LOG_INFO, "worker", "%s/%s: HPA %s already exists; not restored", w->ns,
                w->name, hn);
    } else {
        wk_count("restore_hpa", false);
        wk_log_err(wk, w, "restore HPA", &err);
        res = WK_RETRY_API;
    }
    free(path);
    free(body);
    cJSON_Delete(h);
    return res;
}

static enum wk_res wk_step_remove(struct mla_worker *wk, struct mla_work *w)
{
    struct mla_err err;
    mla_err_clear(&err);
    cJSON *sos = NULL;
    char *path = mla_xasprintf("/apis/keda.sh/v1alpha1/namespaces/%s/scaledobjects?" SEL_MANAGED,
                               w->ns);
    enum mla_code rc = wk_list(wk, path, &sos, &err);
    free(path);
    if (rc != MLA_OK) {
        wk_log_err(wk, w, "list ScaledObjects", &err);
        return WK_RETRY_API;
    }
    enum wk_res res = WK_DONE;
    const cJSON *s;
    cJSON_ArrayForEach(s, sos)
    {
        if (!mla_worker_so_ours(s, w->name, w->uid))
            continue; /* never one this product did not make for this Deployment */
        const char *sn = mla_kube_meta_str(s, "name");
        const char *snap = mla_kube_annotation(s, MLA_ANN_REMOVED_HPA);
        char *p = mla_xasprintf("/apis/keda.sh/v1alpha1/namespaces/%s/scaledobjects/%s", w->ns, sn);
        rc = wk_delete(wk, p, &err);
        free(p);
        wk_count("remove", rc == MLA_OK);
        if (rc != MLA_OK) {
            wk_log_err(wk, w, "delete ScaledObject", &err);
            res = WK_RETRY_API;
            break;
        }
        mla_log(MLA_LOG_INFO, "worker", "%s/%s: opted out, deleted ScaledObject %s", w->ns,
                w->name, sn);
        mla_worker_event(wk->kc, wk->identity, w->ns, w->name, w->uid, false, "ScaledObjectRemoved",
                         "the Deployment opted out: deleted ScaledObject %s", sn);
        if (snap)
            res = wk_restore_hpa(wk, w, snap);
        if (res != WK_DONE)
            break;
    }
    cJSON_Delete(sos);
    return res;
}

long mla_worker_step(struct mla_worker *wk, struct mla_work *w)
{
    long long now = mla_queue_now_ms();
    enum wk_res res = WK_DONE;
    bool waiting_store = false;
    if (w->stage == MLA_STAGE_WAIT_STORED && !w->stored_ms) {
        char *path = mla_xasprintf("/apis/apps/v1/namespaces/%s/deployments/%s", w->ns, w->name);
        cJSON *d = NULL;
        struct mla_err err;
        mla_err_clear(&err);
        enum mla_code rc = wk_get(wk, path, &d, &err);
        free(path);
        if (rc != MLA_OK) {
            wk_log_err(wk, w, "read Deployment", &err);
            res = WK_RETRY_API;
        } else {
            enum mla_stored st = mla_worker_stored_check(w, d, 2.0);
            if (st == MLA_STORED_YES) {
                w->stored_ms = now;
                free(w->uid);
                w->uid = mla_xstrdup(mla_kube_meta_str(d, "uid"));
                w->attempts = 0;
            } else if (!d && w->action == MLA_ACT_REMOVE && w->op == MLA_OP_UPDATE) {
                cJSON_Delete(d);
                return -1; /* deleted since: the ownerReference removes the ScaledObject */
            } else {
                waiting_store = true;
                if (!w->absent_ms)
                    w->absent_ms = now;
                res = WK_WAIT;
            }
        }
        cJSON_Delete(d);
    }
    if (res == WK_DONE && w->stored_ms) {
        if (w->action == MLA_ACT_APPLY && w->so)
            res = wk_step_apply(wk, w);
        else if (w->action == MLA_ACT_REMOVE)
            res = wk_step_remove(wk, w);
    }
    if (res == WK_DONE)
        return -1;
    if (w->stage == MLA_STAGE_VERIFY_TRANSFER && res == WK_WAIT)
        return 250; /* polling KEDA's adoption until stage_deadline_ms */
    bool give_up = res == WK_RETRY_API
                       ? now - w->enqueued_ms > wk->cfg.api_give_up_ms
                       : waiting_store && now - w->absent_ms > wk->cfg.stored_give_up_ms;
    if (give_up) {
        wk_simple("mla_worker_gave_up_total", "Work items the worker gave up on (the loop "
                                              "repairs what is still missing).");
        mla_log(MLA_LOG_WARN, "worker", "%s/%s: giving up after %lld ms: %s", w->ns, w->name,
                now - w->enqueued_ms,
                waiting_store ? "the Deployment never showed as admitted (refused after "
                                "admission?)"
                              : "the API kept failing; the leader's loop will repair it");
        return -1;
    }
    w->attempts++;
    if (res == WK_RETRY_API)
        wk_simple("mla_worker_retries_total", "Worker retries after API errors.");
    unsigned x = atomic_load(&wk->seed), nx;
    do {
        nx = x * 1103515245u + 12345u;
    } while (!atomic_compare_exchange_weak(&wk->seed, &x, nx));
    double unit = (double)((nx >> 8) % 10000) / 10000.0;
    long base = res == WK_RETRY_API ? wk->cfg.backoff_base_ms * 4 : wk->cfg.backoff_base_ms;
    /* kube-apiserver stores an admitted object within milliseconds: poll for it often, but
     * back off harder on API errors */
    long cap = res == WK_RETRY_API ? wk->cfg.backoff_cap_ms : 250;
    return mla_kube_backoff_ms(w->attempts, base, cap, 0, unit);
}

static void *wk_thread(void *arg)
{
    struct mla_worker *wk = arg;
    for (;;) {
        struct mla_work *w = mla_queue_pop(wk->q, -1);
        if (!w)
            break;
        long delay = mla_worker_step(wk, w);
        if (delay < 0)
            mla_queue_done(wk->q, w);
        else
            mla_queue_requeue(wk->q, w, delay);
    }
    return NULL;
}

enum mla_code mla_worker_create(const struct mla_worker_config *cfg, struct mla_kube *kc,
                                struct mla_queue *q, struct mla_worker **out,
                                struct mla_err *err)
{
    struct mla_worker *wk = mla_xcalloc(1, sizeof *wk);
    wk->cfg = *cfg;
    wk->cfg.threads = cfg->threads > 0 ? cfg->threads : 2;
    wk->cfg.stored_give_up_ms = cfg->stored_give_up_ms > 0 ? cfg->stored_give_up_ms : 30000;
    wk->cfg.api_give_up_ms = cfg->api_give_up_ms > 0 ? cfg->api_give_up_ms : 900000;
    wk->cfg.transfer_verify_ms = cfg->transfer_verify_ms > 0 ? cfg->transfer_verify_ms : 10000;
    wk->cfg.backoff_base_ms = cfg->backoff_base_ms > 0 ? cfg->backoff_base_ms : 25;
    wk->cfg.backoff_cap_ms = cfg->backoff_cap_ms > 0 ? cfg->backoff_cap_ms : 2000;
    wk->cfg.request_budget_ms = cfg->request_budget_ms > 0 ? cfg->request_budget_ms : 10000;
    wk->field_manager = mla_xstrdup(cfg->field_manager ? cfg->field_manager : "ml-autoscaling");
    wk->identity = mla_xstrdup(cfg->identity ? cfg->identity : "ml-autoscaling");
    wk->cfg.field_manager = wk->field_manager;
    wk->cfg.identity = wk->identity;
    wk->kc = kc;
    wk->q = q;
    atomic_init(&wk->seed, (unsigned)time(NULL) ^ (unsigned)getpid());
    wk->threads = mla_xcalloc((size_t)wk->cfg.threads, sizeof *wk->threads);
    for (int i = 0; i < wk->cfg.threads; i++) {
        if (pthread_create(&wk->threads[i], NULL, wk_thread, wk) != 0) {
            mla_queue_stop(q);
            for (int j = 0; j < i; j++)
                pthread_join(wk->threads[j], NULL);
            free(wk->threads);
            free(wk->field_manager);
            free(wk->identity);
            free(wk);
            return mla_err_set(err, MLA_EIO, "cannot start the worker threads");
        }
        wk->n_threads++;
    }
    *out = wk;
    return MLA_OK;
}

void mla_worker_destroy(struct mla_worker *wk)
{
    if (!wk)
        return;
    mla_queue_stop(wk->q);
    for (int i = 0; i < wk->n_threads; i++)
        pthread_join(wk->threads[i], NULL);
    free(wk->threads);
    free(wk->field_manager);
    free(wk->identity);
    free(wk);
}
