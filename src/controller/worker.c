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
#include "mla/reconcile.h"
#include "mla/vpa.h"
#include "worker-int.h"
#include "mla/wlkind.h"

#define WK_EVENT_MAX 1023 /* bytes of an Event message */
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

#define WK_PREFIX "ml-autoscaling.io/"

/* The annotations the admission patch writes: outputs, not the user's inputs. */
static bool wk_output_key(const char *k)
{
    static const char *const out[] = {WK_PREFIX "scaledobject", WK_PREFIX "policy",
                                      WK_PREFIX "policy-hash", WK_PREFIX "scaledjob"};
    for (size_t i = 0; i < sizeof out / sizeof out[0]; i++)
        if (!strcmp(k, out[i]))
            return true;
    return false;
}

/* The input annotations of `anns` (an object): new object. */
static cJSON *wk_inputs(const cJSON *anns)
{
    cJSON *in = cJSON_CreateObject();
    const cJSON *a;
    cJSON_ArrayForEach(a, anns)
    {
        if (cJSON_IsString(a) && !strncmp(a->string, WK_PREFIX, strlen(WK_PREFIX)) &&
            !wk_output_key(a->string))
            cJSON_AddStringToObject(in, a->string, a->valuestring);
    }
    return in;
}

static bool wk_is_true(const char *v)
{
    return v && !strcmp(v, "true");
}

cJSON *mla_worker_intent(enum mla_action action, const cJSON *object, const char *policy_hash)
{
    if (action == MLA_ACT_NONE)
        return NULL;
    bool apply = action == MLA_ACT_APPLY;
    cJSON *in = cJSON_CreateObject();
    cJSON_AddBoolToObject(in, "enabled", apply);
    cJSON_AddBoolToObject(in, "managed", apply);
    if (!apply)
        cJSON_AddNullToObject(in, "policyHash");
    else if (policy_hash && *policy_hash)
        cJSON_AddStringToObject(in, "policyHash", policy_hash);
    const cJSON *anns = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(object, "metadata"), "annotations");
    if (cJSON_IsObject(anns))
        cJSON_AddItemToObject(in, "inputs", wk_inputs(anns)); /* in takes it */
    return in;
}

bool mla_worker_intent_shown(const cJSON *intent, const cJSON *stored)
{
    if (!intent)
        return true;
    bool en = wk_is_true(mla_kube_annotation(stored, WK_PREFIX "enabled"));
    bool managed = wk_is_true(mla_kube_label(stored, MLA_LABEL_MANAGED));
    if (en != cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(intent, "enabled")) ||
        managed != cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(intent, "managed")))
        return false;
    const cJSON *hash = cJSON_GetObjectItemCaseSensitive(intent, "policyHash");
    const char *have = mla_kube_annotation(stored, WK_PREFIX "policy-hash");
    if (cJSON_IsNull(hash) && have)
        return false;
    if (cJSON_IsString(hash) && (!have || strcmp(have, hash->valuestring)))
        return false;
    const cJSON *want = cJSON_GetObjectItemCaseSensitive(intent, "inputs");
    if (!want)
        return true;
    cJSON *got = wk_inputs(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(stored, "metadata"), "annotations"));
    bool same = cJSON_Compare(want, got, 1);
    cJSON_Delete(got);
    return same;
}

enum mla_stored mla_worker_stored_check(const struct mla_work *w, const cJSON *stored,
                                        double slack_s)
{
    if (!stored)
        return MLA_STORED_NOT_YET;
    if (mla_kube_meta_str(stored, "deletionTimestamp"))
        return MLA_STORED_DELETING;
    const char *uid = mla_kube_meta_str(stored, "uid");
    if (w->op == MLA_OP_CREATE) {
        if (!uid || !*uid)
            return MLA_STORED_NOT_YET;
        double created = 0;
        const char *ts = mla_kube_meta_str(stored, "creationTimestamp");
        /* creationTimestamp has whole seconds: compare with slack, never exactly */
        if (ts && mla_kube_time_parse(ts, &created) == MLA_OK && w->enqueued_wall > 0 &&
            created + slack_s < w->enqueued_wall)
            return MLA_STORED_OTHER;
    }
    return mla_worker_intent_shown(w->intent, stored) ? MLA_STORED_YES : MLA_STORED_NOT_YET;
}

bool mla_worker_ns_gone(enum mla_code code, const char *msg)
{
    if (!msg)
        return false;
    if (code == MLA_EDENIED)
        return strstr(msg, "NamespaceTerminating") || strstr(msg, "because it is being terminated");
    if (code == MLA_ENOTFOUND) {
        /* "POST /api/...: 404: namespaces \"x\" not found" (not `deployments.apps "x"`) */
        const char *p = strstr(msg, ": namespaces \"");
        return p && strstr(p, "\" not found");
    }
    return false;
}

void mla_worker_utf8_cut(char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max)
        return;
    n = max;
    /* back off continuation bytes (10xxxxxx), then the lead byte they belong to */
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    s[n] = '\0';
}

static const char *wk_str(const cJSON *o, const char *k)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

const char *mla_worker_kind(const struct mla_work *w)
{
    return w && w->wl ? w->wl->kind : "Deployment";
}

bool mla_worker_hpa_conflicts(const cJSON *hpa, const char *deploy)
{
    return mla_worker_hpa_conflicts_kind(hpa, "Deployment", deploy);
}

bool mla_worker_hpa_conflicts_kind(const cJSON *hpa, const char *wkind, const char *deploy)
{
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(hpa, "spec"), "scaleTargetRef");
    const char *kind = wk_str(ref, "kind");
    const char *name = wk_str(ref, "name");
    if (!kind || !name || strcmp(kind, wkind) || strcmp(name, deploy))
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
    return mla_worker_so_targets_kind(so, "Deployment", deploy);
}

bool mla_worker_so_targets_kind(const cJSON *so, const char *wkind, const char *deploy)
{
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(so, "spec"), "scaleTargetRef");
    const char *kind = wk_str(ref, "kind");
    const char *name = wk_str(ref, "name");
    /* KEDA defaults an absent kind to Deployment */
    return name && !strcmp(name, deploy) && !strcmp(kind ? kind : "Deployment", wkind);
}

bool mla_worker_so_ours(const cJSON *so, const char *deploy, const char *uid)
{
    return mla_worker_so_ours_kind(so, "Deployment", deploy, uid);
}

bool mla_worker_so_ours_kind(const cJSON *so, const char *wkind, const char *deploy,
                             const char *uid)
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
        if (k && n && !strcmp(k, wkind) && !strcmp(n, deploy) &&
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

static void wk_vevent(struct mla_kube *kc, const char *identity, const struct mla_wl_kind *wl,
                      const char *ns, const char *deploy, const char *uid, bool warning,
                      const char *reason, const char *fmt, va_list ap)
    __attribute__((format(printf, 9, 0)));

void mla_worker_event(struct mla_kube *kc, const char *identity, const char *ns,
                      const char *deploy, const char *uid, bool warning, const char *reason,
                      const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    wk_vevent(kc, identity, NULL, ns, deploy, uid, warning, reason, fmt, ap);
    va_end(ap);
}

void mla_worker_event_on(struct mla_kube *kc, const char *identity,
                         const struct mla_wl_kind *wl, const char *ns, const char *name,
                         const char *uid, bool warning, const char *reason, const char *fmt,
                         ...)
{
    va_list ap;
    va_start(ap, fmt);
    wk_vevent(kc, identity, wl, ns, name, uid, warning, reason, fmt, ap);
    va_end(ap);
}

static void wk_vevent(struct mla_kube *kc, const char *identity, const struct mla_wl_kind *wl,
                      const char *ns, const char *deploy, const char *uid, bool warning,
                      const char *reason, const char *fmt, va_list ap)
{
    if (!wl)
        wl = mla_wl_deployment();
    /* formatted longer than allowed, then cut on a character boundary: events.k8s.io/v1
     * refuses a note over 1 KB, and a cut inside a UTF-8 sequence is refused as invalid */
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap);
    mla_worker_utf8_cut(msg, WK_EVENT_MAX);
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
    cJSON_AddStringToObject(io, "apiVersion", wl->api_version);
    cJSON_AddStringToObject(io, "kind", wl->kind);
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
    const struct mla_wl_kind *wl = w->wl ? w->wl : mla_wl_deployment();
    cJSON_AddStringToObject(ref, "apiVersion", wl->api_version);
    cJSON_AddStringToObject(ref, "kind", wl->kind);
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

/* A member the configuration does not write (absent) cannot differ. */
static bool wk_holds(const cJSON *want, const cJSON *have)
{
    return !want || mla_reconcile_json_subset(want, have);
}

bool mla_worker_apply_noop(const cJSON *cfg, const cJSON *have)
{
    if (!cfg || !have)
        return false;
    cJSON *w = cJSON_Duplicate(cfg, 1);
    (void)mla_predict_leave_loop(w, have);
    const cJSON *wm = cJSON_GetObjectItemCaseSensitive(w, "metadata");
    const cJSON *hm = cJSON_GetObjectItemCaseSensitive(have, "metadata");
    bool same = wk_holds(cJSON_GetObjectItemCaseSensitive(w, "spec"),
                         cJSON_GetObjectItemCaseSensitive(have, "spec")) &&
                wk_holds(cJSON_GetObjectItemCaseSensitive(wm, "labels"),
                         cJSON_GetObjectItemCaseSensitive(hm, "labels")) &&
                wk_holds(cJSON_GetObjectItemCaseSensitive(wm, "annotations"),
                         cJSON_GetObjectItemCaseSensitive(hm, "annotations"));
    cJSON_Delete(w);
    return same;
}

const char *mla__worker_so_name(const struct mla_work *w)
{
    if (w->so_name && *w->so_name)
        return w->so_name;
    const char *n = w->so ? mla_kube_meta_str(w->so, "name") : NULL;
    return n ? n : w->name;
}

static bool wk_typed_error(const struct mla_kube_resp *r)
{
    const char *m = mla_kube_status_message(r->body);
    return r->status == 500 && m && strstr(m, "failed to create typed patch object");
}

static enum mla_code wk_apply(struct mla_worker *wk, const struct mla_work *w, const cJSON *cfg,
                              struct mla_err *err)
{
    char *body = cJSON_PrintUnformatted(cfg); /* JSON is YAML: apply-patch+yaml accepts it */
    char *path = mla_xasprintf("/apis/keda.sh/v1alpha1/namespaces/%s/scaledobjects/%s"
                               "?fieldManager=%s&force=true",
                               w->ns, mla__worker_so_name(w), wk->field_manager);
    struct mla_kube_opts o = wk_opts(wk, "application/apply-patch+yaml");
    struct mla_kube_resp r = {0};
    enum mla_code rc = mla_kube_request(wk->kc, MLA_KUBE_PATCH, path, body, &o, &r, err);
    /* 400/422: the API refuses the object itself (schema, validation); retrying cannot help.
     * So does a 500 "failed to create typed patch object": the apply body does not fit the
     * CRD's schema (a string where it wants a number). */
    if (rc == MLA_EAPI && (r.status == 400 || r.status == 422 || wk_typed_error(&r)))
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
            w->name, mla__worker_so_name(w), err->msg);
    mla_worker_event_on(wk->kc, wk->identity, w->wl, w->ns, w->name, w->uid, true, "ScaledObjectInvalid",
                     "the API refused ScaledObject %s: %s", mla__worker_so_name(w), err->msg);
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

/* ------------------------------------------------------------------ the planner (pure) */

void mla_worker_plan_init(struct mla_worker_plan *p)
{
    memset(p, 0, sizeof *p);
}

void mla_worker_plan_fini(struct mla_worker_plan *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->ops[i].name);
        cJSON_Delete(p->ops[i].config);
        free(p->ops[i].message);
    }
    free(p->ops);
    free(p->transfer_hpa);
    memset(p, 0, sizeof *p);
}

static struct mla_wk_op *wk_plan_add(struct mla_worker_plan *p, enum mla_wk_kind kind,
                                     const char *name)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 8;
        p->ops = mla_xrealloc(p->ops, p->cap * sizeof *p->ops);
    }
    struct mla_wk_op *op = &p->ops[p->n++];
    memset(op, 0, sizeof *op);
    op->kind = kind;
    op->name = name ? mla_xstrdup(name) : NULL;
    return op;
}

static void wk_plan_event(struct mla_worker_plan *p, bool warning, const char *reason,
                          const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void wk_plan_event(struct mla_worker_plan *p, bool warning, const char *reason,
                          const char *fmt, ...)
{
    struct mla_wk_op *op = wk_plan_add(p, MLA_WK_EVENT, NULL);
    op->warning = warning;
    op->reason = reason;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    mla_worker_utf8_cut(msg, WK_EVENT_MAX);
    op->message = mla_xstrdup(msg);
}

/* Deletes one conflicting HPA; returns its snapshot (new) for the removed-hpa annotation. The
 * Event names where the spec is kept, not the spec itself (kubectl's last-applied annotation
 * alone can pass the 1 KB an Event note may hold). */
static char *wk_plan_delete_hpa(struct mla_worker_plan *p, const struct mla_work *w,
                                const cJSON *h)
{
    const char *hn = mla_kube_meta_str(h, "name");
    wk_plan_add(p, MLA_WK_DELETE_HPA, hn);
    wk_plan_event(p, false, "HPARemoved",
                  "removed HorizontalPodAutoscaler %s (it conflicts with the KEDA ScaledObject "
                  "%s); its spec is kept in annotation %s of the ScaledObject, and opting out "
                  "restores it", hn, mla__worker_so_name(w), MLA_ANN_REMOVED_HPA);
    return mla_worker_hpa_snapshot(h);
}

static void wk_plan_apply_op(struct mla_worker_plan *p, const struct mla_work *w, cJSON *cfg,
                             const struct mla_worker_seen *seen, const char *transfer)
{
    struct mla_wk_op *op = wk_plan_add(p, MLA_WK_APPLY, mla__worker_so_name(w));
    op->config = cfg; /* op takes cfg */
    if (transfer) {
        wk_plan_event(p, false, "ScaledObjectApplied", "applied ScaledObject %s, asking KEDA to "
                      "take over HorizontalPodAutoscaler %s", mla__worker_so_name(w), transfer);
        p->transfer_hpa = mla_xstrdup(transfer);
    } else if (!(seen->existing && mla_worker_apply_noop(cfg, seen->existing) &&
                 mla_worker_so_ours_kind(seen->existing, mla_worker_kind(w), w->name, w->uid))) {
        /* an apply that changes nothing (a later pass queued the same work again) says nothing */
        wk_plan_event(p, false, "ScaledObjectApplied", "applied KEDA ScaledObject %s "
                      "(server-side apply, field manager %s)", mla__worker_so_name(w),
                      seen->field_manager ? seen->field_manager : "ml-autoscaling");
    }
    /* after the write (a failed write stops the plan), and only the one that creates it: an
     * item queued again by a later pass finds it and records nothing */
    if (w->adopt && !seen->existing)
        wk_plan_event(p, false, "AdoptedAfterBypass", MLA__WK_ADOPTED_FMT, "ScaledObject",
                      mla__worker_so_name(w), mla_worker_kind(w));
}

/* KEDA did not adopt the HPA in time: delete it, then apply without the transfer. */
static void wk_plan_fallback(const struct mla_work *w, const struct mla_worker_seen *seen,
                             struct mla_worker_plan *p)
{
    const char *hn = mla_kube_meta_str(seen->adopt_failed, "name");
    wk_plan_event(p, true, "HPATransferFailed", "KEDA did not take over HorizontalPodAutoscaler "
                  "%s within %ld ms; deleting it instead", hn ? hn : "?",
                  seen->transfer_verify_ms);
    char *snap = wk_plan_delete_hpa(p, w, seen->adopt_failed);
    /* keep an annotation an earlier delete wrote */
    const char *prev = seen->existing ? mla_kube_annotation(seen->existing, MLA_ANN_REMOVED_HPA)
                                      : NULL;
    wk_plan_apply_op(p, w, wk_build_over(w, seen->existing, prev ? prev : snap, NULL), seen, NULL);
    p->keep_config = true;
    free(snap);
}

/* A ScaledObject someone else wrote scales this Deployment: its name, or NULL. */
static const char *wk_plan_foreign(const struct mla_work *w, const struct mla_worker_seen *seen)
{
    const char *so_name = mla__worker_so_name(w);
    if (seen->existing && !mla_worker_so_ours_kind(seen->existing, mla_worker_kind(w), w->name, NULL))
        return so_name;
    const cJSON *s;
    cJSON_ArrayForEach(s, seen->sos)
    {
        const char *sn = mla_kube_meta_str(s, "name");
        if (sn && strcmp(sn, so_name) && mla_worker_so_targets_kind(s, mla_worker_kind(w), w->name) &&
            !mla_worker_so_ours_kind(s, mla_worker_kind(w), w->name, NULL))
            return sn;
    }
    return NULL;
}

/* Ours under an older name (the policy renamed it): delete it; returns the removed-hpa it
 * kept (borrowed from seen), so that opting out still restores that HPA. */
static const char *wk_plan_renamed(const struct mla_work *w, const struct mla_worker_seen *seen,
                                   struct mla_worker_plan *p)
{
    const char *carried = NULL;
    const cJSON *s;
    cJSON_ArrayForEach(s, seen->sos)
    {
        const char *sn = mla_kube_meta_str(s, "name");
        if (!sn || !strcmp(sn, mla__worker_so_name(w)) || !mla_worker_so_targets_kind(s, mla_worker_kind(w), w->name))
            continue;
        const char *kept = mla_kube_annotation(s, MLA_ANN_REMOVED_HPA);
        if (kept && !carried)
            carried = kept;
        wk_plan_add(p, MLA_WK_DELETE_SO, sn);
    }
    return carried;
}

/* Warning Events for the VPAs that fight the ScaledObject's cpu/memory triggers (the loop's
 * look at what admission read, and what a webhook bypass never saw); true when policy mode
 * deny stops the apply. The stored pod spec is not at hand: VPA's policy for "*" (or its
 * default) stands for every container. */
static bool wk_plan_vpa(const struct mla_work *w, const struct mla_worker_seen *seen,
                        struct mla_worker_plan *p)
{
    unsigned res = mla_vpa_so_resources(w->so);
    if (w->vpa_mode == MLA_VPA_IGNORE || !res)
        return false;
    bool stop = false;
    const cJSON *v;
    cJSON_ArrayForEach(v, seen->vpas)
    {
        char why[96];
        if (!mla_vpa_conflicts_kind(v, mla_worker_kind(w), w->name, NULL, res, why, sizeof why))
            continue;
        const char *vn = mla_kube_meta_str(v, "name");
        if (w->vpa_mode == MLA_VPA_DENY) {
            wk_plan_event(p, true, "VPAConflict", "VerticalPodAutoscaler %s (%s) fights the "
                          "ScaledObject's cpu/memory triggers and the policy's VPA mode is deny; "
                          "no ScaledObject is applied", vn ? vn : "?", why);
            stop = true;
        } else {
            wk_plan_event(p, true, "VPAConflict", "VerticalPodAutoscaler %s (%s) fights the "
                          "cpu/memory triggers of ScaledObject %s: set its updateMode to Off or "
                          "Initial, or its controlledResources to avoid them", vn ? vn : "?", why,
                          mla__worker_so_name(w));
        }
    }
    return stop;
}

void mla_worker_plan_apply(const struct mla_work *w, const struct mla_worker_seen *seen,
                           struct mla_worker_plan *p)
{
    if (seen->adopt_failed) {
        wk_plan_fallback(w, seen, p);
        return;
    }
    const char *foreign = wk_plan_foreign(w, seen);
    if (foreign) {
        wk_plan_event(p, true, "ScaledObjectConflict", "ScaledObject %s (not created by "
                      "ml-autoscaling) already scales this %s; it is left alone and no "
                      "ScaledObject is applied", foreign, mla_worker_kind(w));
        return;
    }
    if (wk_plan_vpa(w, seen, p))
        return;
    const char *carried = wk_plan_renamed(w, seen, p);
    const cJSON *h, *conflict = NULL;
    cJSON_ArrayForEach(h, seen->hpas)
    {
        if (!conflict && mla_worker_hpa_conflicts_kind(h, mla_worker_kind(w), w->name))
            conflict = h;
    }
    const char *prev = seen->existing ? mla_kube_annotation(seen->existing, MLA_ANN_REMOVED_HPA)
                                      : NULL;
    if (!prev)
        prev = carried;
    const char *cn = conflict ? mla_kube_meta_str(conflict, "name") : NULL;
    if (conflict && w->hpa_mode == MLA_HPA_REJECT) {
        wk_plan_event(p, true, "HPAConflict", "HorizontalPodAutoscaler %s scales this %s "
                      "and the policy's HPA mode is reject; no ScaledObject is applied", cn,
                      mla_worker_kind(w));
        return;
    }
    if (conflict && w->hpa_mode == MLA_HPA_TRANSFER) {
        wk_plan_apply_op(p, w, wk_build_over(w, seen->existing, prev, cn), seen, cn);
        return;
    }
    char *snapshot = NULL;
    cJSON_ArrayForEach(h, seen->hpas)
    {
        if (!mla_worker_hpa_conflicts_kind(h, mla_worker_kind(w), w->name))
            continue;
        char *snap = wk_plan_delete_hpa(p, w, h);
        if (!snapshot)
            snapshot = snap;
        else
            free(snap);
    }
    /* an annotation an earlier removal wrote stays: opting out restores the original HPA */
    wk_plan_apply_op(p, w, wk_build_over(w, seen->existing, prev ? prev : snapshot, NULL), seen,
                     NULL);
    p->keep_config = snapshot || carried;
    free(snapshot);
}

/* The HPA kept in a removed-hpa annotation: restore it (unless one of that name exists). */
static void wk_plan_restore(struct mla_worker_plan *p, const char *snap)
{
    cJSON *h = cJSON_Parse(snap);
    const char *hn = mla_kube_meta_str(h, "name");
    if (!cJSON_IsObject(h) || !hn) {
        wk_plan_event(p, true, "HPANotRestored", "annotation %s of the deleted ScaledObject is "
                      "not a HorizontalPodAutoscaler; nothing restored", MLA_ANN_REMOVED_HPA);
        cJSON_Delete(h);
        return;
    }
    struct mla_wk_op *op = wk_plan_add(p, MLA_WK_CREATE_HPA, hn);
    op->config = h; /* op takes h */
    wk_plan_event(p, false, "HPARestored", "restored HorizontalPodAutoscaler %s removed when the "
                  "Deployment opted in", hn);
}

void mla_worker_plan_remove(const struct mla_work *w, const struct mla_worker_seen *seen,
                            struct mla_worker_plan *p)
{
    const cJSON *s;
    cJSON_ArrayForEach(s, seen->sos)
    {
        /* never one this product did not make for this Deployment (uid: not a namesake's) */
        if (!w->uid || !mla_worker_so_ours_kind(s, mla_worker_kind(w), w->name, w->uid))
            continue;
        const char *sn = mla_kube_meta_str(s, "name");
        wk_plan_add(p, MLA_WK_DELETE_SO, sn);
        wk_plan_event(p, false, "ScaledObjectRemoved", "the %s opted out: deleted "
                      "ScaledObject %s", mla_worker_kind(w), sn);
        const char *snap = mla_kube_annotation(s, MLA_ANN_REMOVED_HPA);
        if (snap)
            wk_plan_restore(p, snap);
    }
}

/* ------------------------------------------------------------------ the shell */

/* An API failure: the namespace is going away (stop at once, nothing to retry) or retry. */
static enum wk_res wk_fail(struct mla_worker *wk, const struct mla_work *w, const char *what,
                           enum mla_code rc, const struct mla_err *err)
{
    if (mla_worker_ns_gone(rc, err->msg)) {
        mla_log(MLA_LOG_INFO, "worker", "%s/%s: %s: the namespace is going away; nothing to do "
                "(%s)", w->ns, w->name, what, err->msg);
        wk_simple("mla_worker_namespace_gone_total", "Work items dropped because their "
                  "namespace is terminating or gone.");
        return WK_DONE;
    }
    wk_log_err(wk, w, what, err);
    return WK_RETRY_API;
}

/* One write of a plan; MLA_OK or the API's code (err filled). */
static enum mla_code wk_exec_op(struct mla_worker *wk, const struct mla_work *w,
                                const struct mla_wk_op *op, struct mla_err *err)
{
    enum mla_code rc = MLA_OK;
    char *p = NULL;
    switch (op->kind) {
    case MLA_WK_EVENT:
        mla_worker_event_on(wk->kc, wk->identity, w->wl, w->ns, w->name, w->uid, op->warning, op->reason,
                         "%s", op->message);
        return MLA_OK;
    case MLA_WK_DELETE_SO:
        p = mla_xasprintf("/apis/keda.sh/v1alpha1/namespaces/%s/scaledobjects/%s", w->ns,
                          op->name);
        rc = wk_delete(wk, p, err);
        wk_count("remove", rc == MLA_OK);
        if (rc == MLA_OK)
            mla_log(MLA_LOG_INFO, "worker", "%s/%s: deleted ScaledObject %s", w->ns, w->name,
                    op->name);
        break;
    case MLA_WK_DELETE_HPA:
        p = mla_xasprintf("/apis/autoscaling/v2/namespaces/%s/horizontalpodautoscalers/%s",
                          w->ns, op->name);
        rc = wk_delete(wk, p, err);
        wk_count("delete_hpa", rc == MLA_OK);
        if (rc == MLA_OK)
            mla_log(MLA_LOG_INFO, "worker", "%s/%s: deleted HPA %s", w->ns, w->name, op->name);
        break;
    case MLA_WK_CREATE_HPA: {
        p = mla_xasprintf("/apis/autoscaling/v2/namespaces/%s/horizontalpodautoscalers", w->ns);
        char *body = cJSON_PrintUnformatted(op->config);
        struct mla_kube_opts o = wk_opts(wk, NULL);
        struct mla_kube_resp r = {0};
        rc = mla_kube_request(wk->kc, MLA_KUBE_POST, p, body, &o, &r, err);
        mla_kube_resp_fini(&r);
        free(body);
        if (rc != MLA_ECONFLICT)
            wk_count("restore_hpa", rc == MLA_OK);
        break;
    }
    case MLA_WK_APPLY:
        rc = wk_apply(wk, w, op->config, err);
        wk_count("apply", rc == MLA_OK);
        if (rc == MLA_OK) {
            if (w->stored_ms)
                wk_observe_applied((double)(mla_queue_now_ms() - w->stored_ms) / 1000.0);
            mla_log(MLA_LOG_INFO, "worker", "%s/%s: applied ScaledObject %s", w->ns, w->name,
                    op->name);
        }
        break;
    }
    free(p);
    return rc;
}

/* Runs the plan in order; the first failed write stops it. *ran: the ops that succeeded. */
static enum wk_res wk_exec(struct mla_worker *wk, struct mla_work *w,
                           const struct mla_worker_plan *p, size_t *ran)
{
    struct mla_err err;
    mla_err_clear(&err);
    for (*ran = 0; *ran < p->n; (*ran)++) {
        const struct mla_wk_op *op = &p->ops[*ran];
        enum mla_code rc = wk_exec_op(wk, w, op, &err);
        if (rc == MLA_OK)
            continue;
        if (op->kind == MLA_WK_CREATE_HPA && rc == MLA_ECONFLICT) {
            mla_log(MLA_LOG_INFO, "worker", "%s/%s: HPA %s already exists; not restored", w->ns,
                    w->name, op->name);
            if (*ran + 1 < p->n && p->ops[*ran + 1].kind == MLA_WK_EVENT)
                (*ran)++; /* its HPARestored Event */
            continue;
        }
        if (op->kind == MLA_WK_APPLY && rc == MLA_EINVAL) {
            /* an HPA deleted just before stays recorded in its HPARemoved Event */
            wk_invalid(wk, w, &err);
            return WK_DONE;
        }
        if (op->kind == MLA_WK_APPLY && p->keep_config) {
            /* the HPA (or the ScaledObject that kept it) is gone: keep what it was in the
             * item, so the retry writes it */
            cJSON_DeleteItemFromObjectCaseSensitive(w->so, "metadata");
            cJSON_AddItemToObject(w->so, "metadata", cJSON_Duplicate(
                cJSON_GetObjectItemCaseSensitive(op->config, "metadata"), 1));
        }
        static const char *const what[] = {[MLA_WK_DELETE_SO] = "delete ScaledObject",
                                           [MLA_WK_DELETE_HPA] = "delete HPA",
                                           [MLA_WK_APPLY] = "apply ScaledObject",
                                           [MLA_WK_EVENT] = "record Event",
                                           [MLA_WK_CREATE_HPA] = "restore HPA"};
        return wk_fail(wk, w, what[op->kind], rc, &err);
    }
    if (p->transfer_hpa) {
        w->stage = MLA_STAGE_VERIFY_TRANSFER;
        free(w->transfer_hpa);
        w->transfer_hpa = mla_xstrdup(p->transfer_hpa);
        w->stage_deadline_ms = mla_queue_now_ms() + wk->cfg.transfer_verify_ms;
        w->attempts = 0;
        return WK_WAIT;
    }
    return WK_DONE;
}

/* Reads what the planner needs: the ScaledObject of the decided name, the namespace's
 * ScaledObjects and HPAs (each new on MLA_OK). */
static enum wk_res wk_read(struct mla_worker *wk, const struct mla_work *w, cJSON **existing,
                           cJSON **sos, cJSON **hpas)
{
    struct mla_err err;
    mla_err_clear(&err);
    char *p = mla_xasprintf("/apis/keda.sh/v1alpha1/namespaces/%s/scaledobjects/%s", w->ns,
                            mla__worker_so_name(w));
    enum mla_code rc = wk_get(wk, p, existing, &err);
    free(p);
    if (rc == MLA_OK) {
        p = mla_xasprintf("/apis/keda.sh/v1alpha1/namespaces/%s/scaledobjects", w->ns);
        rc = wk_list(wk, p, sos, &err);
        free(p);
    }
    if (rc == MLA_OK) {
        p = mla_xasprintf("/apis/autoscaling/v2/namespaces/%s/horizontalpodautoscalers", w->ns);
        rc = wk_list(wk, p, hpas, &err);
        free(p);
    }
    return rc == MLA_OK ? WK_DONE : wk_fail(wk, w, "read ScaledObjects and HPAs", rc, &err);
}

/* The namespace's VPAs (new), or NULL: not needed (policy ignore, no cpu/memory trigger), no
 * VPA API in the cluster (404), or a failed read - the VPA check is advice and never holds up
 * the apply. */
static cJSON *wk_read_vpas(struct mla_worker *wk, const struct mla_work *w)
{
    if (w->vpa_mode == MLA_VPA_IGNORE || !mla_vpa_so_resources(w->so))
        return NULL;
    struct mla_err err;
    mla_err_clear(&err);
    char *p = mla_xasprintf("/apis/autoscaling.k8s.io/v1/namespaces/%s/verticalpodautoscalers",
                            w->ns);
    cJSON *vpas = NULL;
    enum mla_code rc = wk_list(wk, p, &vpas, &err);
    free(p);
    if (rc != MLA_OK && rc != MLA_ENOTFOUND)
        mla_log(MLA_LOG_INFO, "worker", "%s/%s: VPAs not read, no VPA check this time: %s",
                w->ns, w->name, err.msg);
    return rc == MLA_OK ? vpas : NULL;
}

static enum wk_res wk_run_plan(struct mla_worker *wk, struct mla_work *w,
                               const struct mla_worker_seen *seen)
{
    struct mla_worker_plan plan;
    mla_worker_plan_init(&plan);
    mla_worker_plan_apply(w, seen, &plan);
    size_t ran = 0;
    enum wk_res res = wk_exec(wk, w, &plan, &ran);
    for (size_t i = 0; i < plan.n; i++)
        if (plan.ops[i].kind == MLA_WK_EVENT && plan.ops[i].warning && i < ran)
            mla_log(MLA_LOG_WARN, "worker", "%s/%s: %s", w->ns, w->name, plan.ops[i].message);
    if (seen->adopt_failed) {
        /* once the HPA is gone, a retry starts over (it finds no HPA to transfer) */
        for (size_t i = 0; i < ran; i++)
            if (plan.ops[i].kind == MLA_WK_DELETE_HPA) {
                w->stage = MLA_STAGE_WAIT_STORED;
                free(w->transfer_hpa);
                w->transfer_hpa = NULL;
            }
    }
    mla_worker_plan_fini(&plan);
    return res;
}

/* VERIFY_TRANSFER: did KEDA adopt the HPA? Falls back to delete after the deadline. */
static enum wk_res wk_step_verify(struct mla_worker *wk, struct mla_work *w)
{
    struct mla_err err;
    mla_err_clear(&err);
    char *p = mla_xasprintf("/apis/autoscaling/v2/namespaces/%s/horizontalpodautoscalers/%s",
                            w->ns, w->transfer_hpa);
    cJSON *h = NULL, *existing = NULL;
    enum mla_code rc = wk_get(wk, p, &h, &err);
    free(p);
    if (rc != MLA_OK)
        return wk_fail(wk, w, "read HPA", rc, &err);
    if (!h || !mla_worker_hpa_conflicts_kind(h, mla_worker_kind(w), w->name)) {
        wk_count("transfer_hpa", true);
        mla_worker_event_on(wk->kc, wk->identity, w->wl, w->ns, w->name, w->uid, false, "HPATransferred",
                         "KEDA took over HorizontalPodAutoscaler %s for ScaledObject %s",
                         w->transfer_hpa, mla__worker_so_name(w));
        cJSON_Delete(h);
        return WK_DONE;
    }
    if (mla_queue_now_ms() < w->stage_deadline_ms) {
        cJSON_Delete(h);
        return WK_WAIT;
    }
    wk_count("transfer_hpa", false);
    p = mla_xasprintf("/apis/keda.sh/v1alpha1/namespaces/%s/scaledobjects/%s", w->ns,
                      mla__worker_so_name(w));
    rc = wk_get(wk, p, &existing, &err);
    free(p);
    enum wk_res res;
    if (rc != MLA_OK) {
        res = wk_fail(wk, w, "read ScaledObject", rc, &err);
    } else {
        struct mla_worker_seen seen = {.existing = existing, .adopt_failed = h,
                                       .field_manager = wk->field_manager,
                                       .transfer_verify_ms = wk->cfg.transfer_verify_ms};
        res = wk_run_plan(wk, w, &seen);
    }
    cJSON_Delete(h);
    cJSON_Delete(existing);
    return res;
}

static enum wk_res wk_step_apply(struct mla_worker *wk, struct mla_work *w)
{
    if (w->stage == MLA_STAGE_VERIFY_TRANSFER)
        return wk_step_verify(wk, w);
    cJSON *existing = NULL, *sos = NULL, *hpas = NULL;
    enum wk_res res = wk_read(wk, w, &existing, &sos, &hpas);
    if (res == WK_DONE && sos && hpas) {
        cJSON *vpas = wk_read_vpas(wk, w);
        struct mla_worker_seen seen = {.existing = existing, .sos = sos, .hpas = hpas,
                                       .vpas = vpas, .field_manager = wk->field_manager,
                                       .transfer_verify_ms = wk->cfg.transfer_verify_ms};
        res = wk_run_plan(wk, w, &seen);
        cJSON_Delete(vpas);
    }
    cJSON_Delete(existing);
    cJSON_Delete(sos);
    cJSON_Delete(hpas);
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
    if (rc != MLA_OK)
        return wk_fail(wk, w, "list ScaledObjects", rc, &err);
    struct mla_worker_seen seen = {.sos = sos};
    struct mla_worker_plan plan;
    mla_worker_plan_init(&plan);
    mla_worker_plan_remove(w, &seen, &plan);
    size_t ran = 0;
    enum wk_res res = wk_exec(wk, w, &plan, &ran);
    mla_worker_plan_fini(&plan);
    cJSON_Delete(sos);
    return res;
}

/* WAIT_STORED: re-reads the workload (Deployment, StatefulSet or Job) until it shows the
 * admitted intent. WK_DONE with *finished false: stored, go on; with *finished true: nothing
 * (more) to do. */
static enum wk_res wk_wait_stored(struct mla_worker *wk, struct mla_work *w, long long now,
                                  bool *finished)
{
    *finished = false;
    char *path = w->job ? mla_xasprintf("/apis/batch/v1/namespaces/%s/jobs/%s", w->ns, w->name)
                        : mla_wl_path(w->wl, w->ns, w->name);
    cJSON *d = NULL;
    struct mla_err err;
    mla_err_clear(&err);
    enum mla_code rc = wk_get(wk, path, &d, &err);
    free(path);
    if (rc != MLA_OK) {
        char what[32];
        snprintf(what, sizeof what, "read %s", w->job ? "Job" : mla_worker_kind(w));
        enum wk_res res = wk_fail(wk, w, what, rc, &err);
        *finished = res == WK_DONE;
        return res;
    }
    enum wk_res res = WK_DONE;
    enum mla_stored st = mla_worker_stored_check(w, d, 2.0);
    if (st == MLA_STORED_DELETING) {
        mla_log(MLA_LOG_INFO, "worker", "%s/%s: the Deployment is being deleted; nothing to do "
                "(its ScaledObject goes with it)", w->ns, w->name);
        *finished = true;
    } else if (st == MLA_STORED_YES) {
        w->stored_ms = now;
        free(w->uid);
        w->uid = mla_xstrdup(mla_kube_meta_str(d, "uid"));
        w->attempts = 0;
        if (w->job)
            mla__worker_job_stored(w, d);
    } else if (!d && w->action == MLA_ACT_REMOVE && w->op == MLA_OP_UPDATE) {
        *finished = true; /* deleted since: the ownerReference removes the ScaledObject */
    } else {
        if (!w->absent_ms)
            w->absent_ms = now;
        res = WK_WAIT;
    }
    cJSON_Delete(d);
    return res;
}

long mla_worker_step(struct mla_worker *wk, struct mla_work *w)
{
    long long now = mla_queue_now_ms();
    enum wk_res res = WK_DONE;
    bool waiting_store = false;
    if (w->stage == MLA_STAGE_WAIT_STORED && !w->stored_ms) {
        bool finished;
        res = wk_wait_stored(wk, w, now, &finished);
        if (finished)
            return -1;
        waiting_store = res == WK_WAIT;
    }
    if (res == WK_DONE && w->stored_ms && w->job) {
        struct mla__wk_env env = mla__worker_env(wk);
        res = (enum wk_res)mla__worker_job_step(&env, w); /* the same 0/1/2 */
    } else if (res == WK_DONE && w->stored_ms) {
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
                waiting_store ? "the stored Deployment never showed what was admitted "
                                "(refused after admission?); the leader's loop reconciles "
                                "what is stored"
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

struct mla__wk_env mla__worker_env(const struct mla_worker *wk)
{
    return (struct mla__wk_env){.kc = wk->kc, .field_manager = wk->field_manager,
                                .identity = wk->identity,
                                .budget_ms = wk->cfg.request_budget_ms};
}
