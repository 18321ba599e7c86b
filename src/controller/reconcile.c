/* controller/reconcile.c - the shell of the leader's reconcile loop (see reconcile.h): it reads,
 * asks the pure planner (reconcile_plan.c) what to do, and does it.
 *
 * DESIGN: one loop thread. It sleeps on `cv` until the interval ends, a kick arrives (the
 * elector's on_change(true) kicks so a new leader repairs at once) or stop is set. Each wake-up
 * it runs a pass only when this replica leads. A pass:
 *   1. reads: managed Deployments (label selector), opted-in Deployments without the managed
 *      label (the webhook was bypassed: failurePolicy Ignore), all ScaledObjects, all HPAs,
 *      each LIST paginated (limit/continue); the namespaces being deleted (best effort: without
 *      the RBAC to list namespaces, a 403 NamespaceTerminating answer teaches it during the
 *      pass); then a GET per owner the planner needs (mla_reconcile_owners_to_read); then the
 *      same for Job templates: managed and opted-in-but-bypassed Jobs, all ScaledJobs, a GET
 *      per template Job needed (skipped for the pass, logged, when they cannot be listed);
 *   2. plans (pure, with the current policy set: a reference taken for the pass);
 *   3. executes the plan in order: repairs are pushed onto the worker queue (the worker threads
 *      write, so leader and follower write through the same idempotent code), orphans are
 *      deleted here, Events recorded, the predictive hook called. A namespace found going away
 *      (403 NamespaceTerminating, 404 namespace not found) gets no more writes this pass.
 * Shared state: `stop`, `kick` guarded by mu; the rest is immutable after create or owned by
 * the loop thread. A pass run with mla_reconcile_run_once from another thread takes `pass_mu`, so two
 * passes never overlap. Shutdown: destroy sets stop, signals, joins.
 */
#include "mla/reconcile.h"

#include <pthread.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mla/buf.h"
#include "mla/log.h"
#include "mla/mem.h"
#include "mla/metrics.h"
#include "mla/wlkind.h"
#include "mla/worker.h"
#include "objidx-int.h"
#include "reconcile-int.h"


struct mla_reconcile {
    struct mla_reconcile_config cfg; /* immutable */
    struct mla_kube *kc;       /* borrowed */
    struct mla_queue *q;       /* borrowed */
    struct mla_lease *lease;   /* borrowed, may be NULL */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;                 /* guarded by mu */
    bool kick;                 /* guarded by mu */
    pthread_mutex_t pass_mu;   /* one pass at a time */
    char *identity;            /* immutable: owned copy of cfg->identity */
    struct mla_log_limit rl_sts; /* atomic inside: "StatefulSets not read" lines */
    struct mla_log_limit rl_jobs; /* atomic inside: "Jobs not read" lines */
};

static void rec_repair(const char *kind, int n)
{
    if (n <= 0)
        return;
    char labels[40];
    snprintf(labels, sizeof labels, "kind=\"%s\"", kind);
    struct mla_metric *m = mla_metrics_get(MLA_METRIC_COUNTER, "mla_reconcile_repairs_total",
                                           "Repairs made by the leader's loop, by kind.", labels,
                                           NULL, 0);
    if (m)
        mla_metric_add(m, n);
}

static void rec_run_count(bool ok)
{
    struct mla_metric *m = mla_metrics_get(MLA_METRIC_COUNTER, "mla_reconcile_runs_total",
                                           "Passes of the leader's reconcile loop.",
                                           ok ? "result=\"ok\"" : "result=\"error\"", NULL, 0);
    if (m)
        mla_metric_inc(m);
}

/* Percent-encodes a continue token (kube-apiserver's are base64: '+', '/', '='). */
static void rec_escape(struct mla_buf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     c == '-' || c == '_' || c == '.' || c == '~';
        enum mla_code rc = plain ? mla_buf_addf(b, "%c", c) : mla_buf_addf(b, "%%%02X", c);
        (void)rc; /* an uncapped buffer cannot fail */
    }
}

/* How rec_list keeps the items of a LIST (reconcile-int.h). */
struct rec_keep {
    bool (*keep)(const cJSON *); /* NULL: every item */
    const char *kind;            /* set as each item's "kind" (LIST items carry none), or NULL */
    bool summary;                /* mla__pack_summary rather than mla__pack */
    struct mla__pack_keys *keys; /* borrowed, may be NULL: the pass's shared member names */
};

/* One LIST, every page. Each kept item is trimmed and packed (reconcile-int.h) as its page is
 * parsed: *items new, free with mla__pack_list_delete; its items are read-only. how: NULL
 * keeps every item packed. */
static enum mla_code rec_list(struct mla_reconcile *r, const char *path,
                              const struct rec_keep *how, cJSON **items, struct mla_err *err)
{
    static const struct rec_keep all_packed = {0};
    if (!how)
        how = &all_packed;
    cJSON *all = cJSON_CreateArray();
    char *cont = NULL;
    enum mla_code rc;
    do {
        struct mla_buf url;
        mla_buf_init(&url, 0);
        enum mla_code brc = mla_buf_addf(&url, "%s%climit=%d", path,
                                         strchr(path, '?') ? '&' : '?', r->cfg.page_size);
        if (cont) {
            brc = brc || mla_buf_adds(&url, "&continue=");
            rec_escape(&url, cont);
        }
        (void)brc; /* an uncapped buffer cannot fail */
        free(cont);
        cont = NULL;
        struct mla_kube_opts o = {.budget_ms = 20000};
        struct mla_kube_resp resp = {0};
        mla_ratelimit_wait(r->cfg.limit);
        rc = mla_kube_request(r->kc, MLA_KUBE_LIST, mla_buf_str(&url), NULL, &o, &resp, err);
        mla_buf_fini(&url);
        if (rc == MLA_OK) {
            cJSON *it = cJSON_GetObjectItemCaseSensitive(resp.body, "items");
            for (cJSON *x = it ? cJSON_DetachItemFromArray(it, 0) : NULL; x;
                 x = cJSON_DetachItemFromArray(it, 0)) {
                if (!how->keep || how->keep(x)) {
                    if (how->kind) {
                        cJSON_DeleteItemFromObjectCaseSensitive(x, "kind");
                        cJSON_AddStringToObject(x, "kind", how->kind);
                    }
                    /* right away: the page's other items are freed */
                    mla__reconcile_trim(x);
                    /* all takes the copy */
                    cJSON_AddItemToArray(all, how->summary ? mla__pack_summary(x, how->keys)
                                                           : mla__pack(x, how->keys));
                }
                cJSON_Delete(x);
            }
            const char *c = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(resp.body, "metadata"), "continue"));
            if (c && *c)
                cont = mla_xstrdup(c);
        }
        mla_kube_resp_fini(&resp);
    } while (rc == MLA_OK && cont);
    if (rc != MLA_OK) {
        mla__pack_list_delete(all);
        return rc;
    }
    *items = all;
    return MLA_OK;
}

static bool rec_opted_in(const cJSON *d)
{
    const char *v = mla_kube_annotation(d, "ml-autoscaling.io/enabled");
    return v && !strcmp(v, "true");
}

static bool rec_ns_terminating(const cJSON *ns)
{
    const char *phase = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(ns, "status"), "phase"));
    return (phase && !strcmp(phase, "Terminating")) || mla_kube_meta_str(ns, "deletionTimestamp");
}

/* Names of the namespaces being deleted; an empty list when they cannot be read (the chart
 * may not grant it: then write answers tell, see rec_exec). New. */
static cJSON *rec_terminating(struct mla_reconcile *r)
{
    cJSON *names = cJSON_CreateArray(), *nss = NULL;
    struct mla_err e;
    mla_err_clear(&e);
    const struct rec_keep how = {.keep = rec_ns_terminating};
    if (rec_list(r, "/api/v1/namespaces", &how, &nss, &e) != MLA_OK) {
        mla_log(MLA_LOG_DEBUG, "rec", "namespaces not read (%s); a namespace being deleted is "
                "found by the answers to writes", e.msg);
        return names;
    }
    const cJSON *n;
    cJSON_ArrayForEach(n, nss)
    {
        const char *name = mla_kube_meta_str(n, "name");
        if (name)
            cJSON_AddItemToArray(names, cJSON_CreateString(name));
    }
    mla__pack_list_delete(nss);
    return names;
}

/* GETs the owners the planner needs (`fmt`: their path, from namespace and name): found ones
 * into *owners, failed reads ("ns/name") into *unknown; a 404 is neither (the owner is gone). */
static void rec_read_owners(struct mla_reconcile *r, const char *fmt, const cJSON *want,
                            cJSON *owners, cJSON *unknown)
{
    const cJSON *w;
    cJSON_ArrayForEach(w, want)
    {
        const char *ns = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(w, "namespace"));
        const char *nm = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(w, "name"));
        char *p = mla_xasprintf(fmt, ns, nm);
        struct mla_kube_opts o = {.budget_ms = 5000};
        struct mla_kube_resp resp = {0};
        struct mla_err e;
        mla_err_clear(&e);
        mla_ratelimit_wait(r->cfg.limit);
        enum mla_code rc = mla_kube_request(r->kc, MLA_KUBE_GET, p, NULL, &o, &resp, &e);
        free(p);
        if (rc == MLA_OK) {
            cJSON_AddItemToArray(owners, resp.body); /* owners takes the body */
            resp.body = NULL;
        } else if (rc != MLA_ENOTFOUND || mla_reconcile_ns_gone(resp.status, resp.body)) {
            char *k = mla_xasprintf("%s/%s", ns, nm);
            cJSON_AddItemToArray(unknown, cJSON_CreateString(k));
            free(k);
        }
        mla_kube_resp_fini(&resp);
    }
}

/* What a pass read (owned). The listed ones (rec_list: deps, bypassed, sos, hpas, jobs,
 * bypassed_jobs, sjs) are packed lists, their member names in `keys`; the others (terminating,
 * owners, unknown, job_owners, job_unknown) are plain cJSON. */
struct rec_read {
    cJSON *deps, *bypassed, *sos, *hpas, *terminating, *owners, *unknown;
    cJSON *jobs, *bypassed_jobs, *sjs, *job_owners, *job_unknown; /* rec_read_jobs */
    struct mla__pack_keys *keys;                                  /* freed last */
};

/* Frees what the plan's execution no longer needs once planned: all but the ScaledObjects
 * (the predictive step reads them). At 10,000 Deployments that is half of what the pass read,
 * freed before the pass's first pass builds its windows from Prometheus. */
static void rec_read_drop_planned(struct rec_read *rd)
{
    cJSON **listed[] = {&rd->deps, &rd->bypassed, &rd->hpas, &rd->jobs, &rd->bypassed_jobs,
                        &rd->sjs};
    for (size_t i = 0; i < sizeof listed / sizeof listed[0]; i++) {
        mla__pack_list_delete(*listed[i]);
        *listed[i] = NULL;
    }
    cJSON **plain[] = {&rd->terminating, &rd->owners, &rd->unknown, &rd->job_owners,
                       &rd->job_unknown};
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
        cJSON_Delete(*plain[i]);
        *plain[i] = NULL;
    }
}

static void rec_read_fini(struct rec_read *rd)
{
    rec_read_drop_planned(rd);
    mla__pack_list_delete(rd->sos);
    rd->sos = NULL;
    mla__pack_keys_destroy(rd->keys);
    rd->keys = NULL;
}

/* The Job templates and the ScaledJobs (rd->jobs, bypassed_jobs, sjs), then the template Jobs
 * the planner needs read (job_owners, job_unknown). A failure is logged and leaves them empty
 * this pass: a chart from before the loop repaired ScaledJobs grants no list on Jobs, a KEDA
 * without ScaledJobs has no such API, and the Deployments must not wait for either. */
static void rec_read_jobs(struct mla_reconcile *r, struct rec_read *rd)
{
    /* the bypass scan skips Jobs with succeeded pods (CronJob runs and other finished Jobs,
     * most of a busy cluster's Jobs): a template is suspended and never ran */
    static const char *const paths[] = {
        "/apis/batch/v1/jobs?labelSelector=ml-autoscaling.io%2Fmanaged%3Dtrue",
        ("/apis/batch/v1/jobs?labelSelector=%21ml-autoscaling.io%2Fmanaged"
         "&fieldSelector=status.successful%3D0"), /* one path: parentheses say so to clang */
        "/apis/keda.sh/v1alpha1/scaledjobs"};
    cJSON **into[] = {&rd->jobs, &rd->bypassed_jobs, &rd->sjs};
    rd->job_owners = cJSON_CreateArray();
    rd->job_unknown = cJSON_CreateArray();
    for (size_t i = 0; i < 3; i++) {
        struct mla_err e;
        mla_err_clear(&e);
        const struct rec_keep how = {.keep = i == 1 ? rec_opted_in : NULL, .keys = rd->keys};
        if (rec_list(r, paths[i], &how, into[i], &e) != MLA_OK) {
            long sup = 0;
            if (mla_log_limit_allow(&r->rl_jobs, 300.0, &sup))
                mla_log(MLA_LOG_WARN, "rec", "Job templates and ScaledJobs not repaired this "
                        "pass (RBAC from an older chart? no ScaledJob API?): %s (%ld similar "
                        "suppressed)", e.msg, sup);
            for (size_t k = 0; k < 3; k++) {
                mla__pack_list_delete(*into[k]);
                *into[k] = NULL;
            }
            return;
        }
    }
    cJSON *want = mla_reconcile_job_owners_to_read(rd->jobs, rd->bypassed_jobs, rd->sjs);
    rec_read_owners(r, "/apis/batch/v1/namespaces/%s/jobs/%s", want, rd->job_owners,
                    rd->job_unknown);
    cJSON_Delete(want);
}

/* The managed and the opted-in-but-bypassed StatefulSets, appended to rd's Deployment lists
 * with "kind": "StatefulSet" set on each (LIST items carry no kind; the planner reads it with
 * mla_wl_of_object). A failure is logged and skips them this pass: a chart from before
 * StatefulSets grants no list on them, and the Deployments must not wait for that. */
static void rec_read_statefulsets(struct mla_reconcile *r, struct rec_read *rd)
{
    static const char *const paths[] = {
        "/apis/apps/v1/statefulsets?labelSelector=ml-autoscaling.io%2Fmanaged%3Dtrue",
        "/apis/apps/v1/statefulsets?labelSelector=%21ml-autoscaling.io%2Fmanaged"};
    cJSON *into[] = {rd->deps, rd->bypassed};
    for (size_t i = 0; i < 2; i++) {
        cJSON *items = NULL;
        struct mla_err e;
        mla_err_clear(&e);
        /* the managed ones as summaries, as the managed Deployments (rec_read) */
        const struct rec_keep how = {.keep = i ? rec_opted_in : NULL, .kind = "StatefulSet",
                                     .summary = i == 0, .keys = rd->keys};
        if (rec_list(r, paths[i], &how, &items, &e) != MLA_OK) {
            long sup = 0;
            if (mla_log_limit_allow(&r->rl_sts, 300.0, &sup))
                mla_log(MLA_LOG_WARN, "rec", "StatefulSets not read this pass (RBAC from an "
                        "older chart?): %s (%ld similar suppressed)", e.msg, sup);
            return;
        }
        cJSON *x;
        while ((x = cJSON_DetachItemFromArray(items, 0)))
            cJSON_AddItemToArray(into[i], x); /* into[i] takes x (packed, as its items) */
        mla__pack_list_delete(items);
    }
}

static enum mla_code rec_read(struct mla_reconcile *r, struct rec_read *rd, struct mla_err *err)
{
    /* the managed Deployments, every one of them at scale, as summaries: the planner parses
     * each back only for its decision (reconcile-int.h); the bypassed ones are few */
    rd->keys = mla__pack_keys_create();
    const struct rec_keep managed = {.summary = true, .keys = rd->keys};
    const struct rec_keep bypassed = {.keep = rec_opted_in, .keys = rd->keys};
    const struct rec_keep all = {.keys = rd->keys};
    enum mla_code rc = rec_list(r, "/apis/apps/v1/deployments?labelSelector="
                                   "ml-autoscaling.io%2Fmanaged%3Dtrue", &managed, &rd->deps, err);
    if (rc == MLA_OK) /* no selector on annotations: unmanaged ones, filtered here */
        rc = rec_list(r, "/apis/apps/v1/deployments?labelSelector=%21ml-autoscaling.io%2Fmanaged",
                      &bypassed, &rd->bypassed, err);
    if (rc == MLA_OK)
        rec_read_statefulsets(r, rd);
    if (rc == MLA_OK)
        rc = rec_list(r, "/apis/keda.sh/v1alpha1/scaledobjects", &all, &rd->sos, err);
    if (rc == MLA_OK)
        rc = rec_list(r, "/apis/autoscaling/v2/horizontalpodautoscalers", &all, &rd->hpas, err);
    if (rc != MLA_OK)
        return mla_err_prefix(err, rc, "reconcile");
    rd->terminating = rec_terminating(r);
    rd->owners = cJSON_CreateArray();
    rd->unknown = cJSON_CreateArray();
    cJSON *want = mla_reconcile_owners_to_read(rd->deps, rd->bypassed, rd->sos);
    rec_read_owners(r, "/apis/apps/v1/namespaces/%s/deployments/%s", want, rd->owners,
                    rd->unknown);
    cJSON_Delete(want);
    rec_read_jobs(r, rd);
    return MLA_OK;
}

/* ------------------------------------------------------------------ executing the plan */

static const char *rec_s(const cJSON *a, const char *k)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, k));
}

static struct mla_work *rec_item(const cJSON *a, const char *ns, const char *name,
                                 enum mla_action act)
{
    struct mla_work *w = mla_work_create(ns, name);
    w->wl = mla_wl_find(rec_s(a, "kind")); /* absent: NULL, a Deployment */
    w->op = MLA_OP_UPDATE; /* stored already: no old resourceVersion to wait past */
    w->action = act;
    w->from_loop = true;
    const char *why = rec_s(a, "why");
    w->adopt = why && !strcmp(why, "adopt");
    return w;
}

static void rec_queue_apply(struct mla_reconcile *r, cJSON *a, const char *ns, const char *name)
{
    const char *mode = rec_s(a, "hpaMode");
    struct mla_work *w = rec_item(a, ns, name, MLA_ACT_APPLY);
    w->hpa_mode = mode && !strcmp(mode, "transfer") ? MLA_HPA_TRANSFER
                  : mode && !strcmp(mode, "reject") ? MLA_HPA_REJECT
                                                    : MLA_HPA_DELETE;
    w->so = cJSON_DetachItemFromObjectCaseSensitive(a, "scaledObject"); /* w takes it */
    w->so_name = mla_xstrdup(rec_s(a, "soName"));
    mla_log(MLA_LOG_INFO, "rec", "%s/%s: repairing ScaledObject %s (%s)", ns, name, w->so_name,
            rec_s(a, "why"));
    rec_repair(rec_s(a, "why"), 1);
    mla_queue_push(r->q, w);
}

/* Deletes an orphaned keda.sh object (`plural`: scaledobjects, scaledjobs); false when the
 * namespace is going away. */
static bool rec_delete_at(struct mla_reconcile *r, const char *plural, const char *ns,
                          const char *name)
{
    char *p = mla_xasprintf("/apis/keda.sh/v1alpha1/namespaces/%s/%s/%s", ns, plural, name);
    struct mla_kube_opts o = {.budget_ms = 10000};
    struct mla_kube_resp resp = {0};
    struct mla_err e;
    mla_err_clear(&e);
    mla_ratelimit_wait(r->cfg.limit);
    enum mla_code rc = mla_kube_request(r->kc, MLA_KUBE_DELETE, p, NULL, &o, &resp, &e);
    bool gone = rc != MLA_OK && mla_reconcile_ns_gone(resp.status, resp.body);
    if (rc == MLA_OK || rc == MLA_ENOTFOUND)
        rec_repair("orphan", 1);
    else if (!gone)
        mla_log(MLA_LOG_WARN, "rec", "%s/%s: cannot delete orphan: %s", ns, name, e.msg);
    mla_kube_resp_fini(&resp);
    free(p);
    return !gone;
}

/* Deletes an orphaned ScaledObject; false when the namespace is going away. */
static bool rec_delete(struct mla_reconcile *r, const char *ns, const char *name)
{
    return rec_delete_at(r, "scaledobjects", ns, name);
}

/* A planned action for a Job template or its ScaledJob (reconcile_jobs.c)? */
static bool rec_is_job(const cJSON *a)
{
    const char *k = rec_s(a, "kind");
    return k && (!strcmp(k, "Job") || !strcmp(k, "ScaledJob"));
}

/* One action of rec_is_job: the worker's Job steps take apply and remove (worker_job.c).
 * Returns false when its namespace turned out to be going away. */
static bool rec_exec_job(struct mla_reconcile *r, cJSON *a)
{
    const char *op = rec_s(a, "op"), *ns = rec_s(a, "namespace"), *name = rec_s(a, "name");
    if (!strcmp(op, "apply") || !strcmp(op, "remove")) {
        bool apply = !strcmp(op, "apply");
        struct mla_work *w = rec_item(a, ns, name, apply ? MLA_ACT_APPLY : MLA_ACT_REMOVE);
        w->wl = NULL;
        w->job = true;
        if (apply) {
            w->so = cJSON_DetachItemFromObjectCaseSensitive(a, "scaledObject"); /* w takes it */
            w->so_name = mla_xstrdup(rec_s(a, "soName"));
            mla_log(MLA_LOG_INFO, "rec", "Job %s/%s: repairing ScaledJob %s (%s)", ns, name,
                    w->so_name, rec_s(a, "why"));
        }
        rec_repair(apply ? rec_s(a, "why") : "orphan", 1);
        mla_queue_push(r->q, w);
    } else if (!strcmp(op, "delete")) {
        return rec_delete_at(r, "scaledjobs", ns, name);
    }
    return true;
}

/* One action. Returns false when its namespace turned out to be going away. */
static bool rec_exec(struct mla_reconcile *r, cJSON *a, const struct mla__objidx *sos)
{
    const char *op = rec_s(a, "op"), *ns = rec_s(a, "namespace"), *name = rec_s(a, "name");
    if (!strcmp(op, "apply")) {
        rec_queue_apply(r, a, ns, name);
    } else if (!strcmp(op, "remove")) {
        rec_repair("orphan", 1);
        mla_queue_push(r->q, rec_item(a, ns, name, MLA_ACT_REMOVE));
    } else if (!strcmp(op, "delete")) {
        return rec_delete(r, ns, name);
    } else if (!strcmp(op, "event")) {
        const char *type = rec_s(a, "type");
        mla_worker_event_on(r->kc, r->cfg.identity, mla_wl_find(rec_s(a, "kind")), ns, name,
                            rec_s(a, "uid"), type && !strcmp(type, "Warning"),
                            rec_s(a, "reason"), "%s", rec_s(a, "message"));
    } else if (!strcmp(op, "predict")) {
        /* the plan names each ScaledObject once (a namespace/name is unique in the API) */
        const cJSON *s = mla__objidx_find(sos, ns, name);
        if (s)
            r->cfg.predict(r->cfg.predict_ctx, r->kc, s);
    }
    return true;
}

/* destroy was called: a pass in progress ends at its next action, so that the owner can stop
 * the loop before it frees the elector the pass asks. */
static bool rec_stopping(struct mla_reconcile *r)
{
    pthread_mutex_lock(&r->mu);
    bool s = r->stop;
    pthread_mutex_unlock(&r->mu);
    return s;
}

/* pass_end's may_write: what rec_run_plan checks before each action. */
struct rec_gate {
    struct mla_reconcile *r;
    bool gated;
};

static bool rec_may_write(void *arg)
{
    const struct rec_gate *g = arg;
    return !g->gated || (!rec_stopping(g->r) && (!g->r->lease || mla_lease_is_leader(g->r->lease)));
}

/* Runs the plan in order. `gated`: stop early when leadership is lost (the writes already
 * queued are idempotent, the new leader's pass repeats what is missing). */
static enum mla_code rec_run_plan(struct mla_reconcile *r, cJSON *plan, const cJSON *sos,
                                  bool gated, struct mla_err *err)
{
    cJSON *gone = cJSON_CreateArray(); /* namespaces found going away during the pass */
    struct mla__objidx *idx = mla__objidx_create(); /* sos by namespace/name, for predict */
    mla__objidx_add(idx, sos);
    enum mla_code rc = MLA_OK;
    cJSON *a;
    cJSON_ArrayForEach(a, plan)
    {
        if (gated && rec_stopping(r)) {
            rc = mla_err_set(err, MLA_ESTATE, "reconcile: stopping during the pass");
            break;
        }
        if (gated && r->lease && !mla_lease_is_leader(r->lease)) {
            rc = mla_err_set(err, MLA_ESTATE, "reconcile: leadership lost during the pass");
            break;
        }
        const char *ns = rec_s(a, "namespace");
        bool skip = false;
        const cJSON *g;
        cJSON_ArrayForEach(g, gone)
        {
            skip = skip || !strcmp(g->valuestring, ns);
        }
        if (skip)
            continue;
        if (!(rec_is_job(a) ? rec_exec_job(r, a) : rec_exec(r, a, idx))) {
            mla_log(MLA_LOG_INFO, "rec", "namespace %s is going away: no more writes in it "
                    "this pass", ns);
            cJSON_AddItemToArray(gone, cJSON_CreateString(ns));
        }
    }
    cJSON_Delete(gone);
    mla__objidx_destroy(idx);
    return rc;
}

/* One pass: read, plan, execute. */
static enum mla_code rec_pass(struct mla_reconcile *r, bool gated, struct mla_reconcile_stats *stats,
                              struct mla_err *err)
{
    pthread_mutex_lock(&r->pass_mu);
    struct mla_reconcile_stats st = {0};
    if (r->cfg.gate && !r->cfg.gate(r->cfg.gate_ctx)) {
        pthread_mutex_unlock(&r->pass_mu);
        if (stats)
            *stats = st;
        return MLA_OK;
    }
    struct rec_read rd = {0};
    cJSON *plan = NULL;
    enum mla_code rc = rec_read(r, &rd, err);
    if (rc == MLA_OK) {
        struct mla_policy_set *ps = r->cfg.store ? mla_policy_store_acquire(r->cfg.store) : NULL;
        struct mla_reconcile_input in = {
            .deployments = rd.deps, .bypassed = rd.bypassed, .scaledobjects = rd.sos,
            .hpas = rd.hpas, .owners = rd.owners, .unknown = rd.unknown,
            .terminating = rd.terminating, .jobs = rd.jobs, .bypassed_jobs = rd.bypassed_jobs,
            .scaledjobs = rd.sjs, .job_owners = rd.job_owners, .job_unknown = rd.job_unknown,
            .ps = ps, .decide = r->cfg.decide,
            .decide_ctx = r->cfg.decide_ctx, .predict = r->cfg.predict != NULL};
        rc = mla_reconcile_plan(&in, &plan, &st, err);
        if (rc == MLA_OK && r->cfg.pass_begin)
            r->cfg.pass_begin(r->cfg.predict_ctx, rd.deps);
        rec_read_drop_planned(&rd);
        if (rc == MLA_OK)
            rc = rec_run_plan(r, plan, rd.sos, gated, err);
        if (r->cfg.pass_end) {
            struct rec_gate g = {.r = r, .gated = gated};
            r->cfg.pass_end(r->cfg.predict_ctx, rec_may_write, &g);
        }
        mla_policy_set_unref(ps);
    }
    rec_run_count(rc == MLA_OK);
    if (rc == MLA_OK)
        mla_log(MLA_LOG_INFO, "rec", "reconcile pass: %d managed Deployments, %d created, %d "
                "updated, %d adopted after a webhook bypass, %d HPAs, %d orphans, %d paused, %d "
                "left alone (being deleted), %d Job templates", st.deployments, st.created,
                st.updated, st.adopted, st.hpa, st.orphans, st.paused, st.skipped, st.jobs);
    cJSON_Delete(plan);
    rec_read_fini(&rd);
#ifdef __GLIBC__
    /* Hand the pass's freed lists and responses back to the system: without it the heap
     * keeps the pages of one pass's peak, and the next pass's lists land beside them (leader
     * RSS at 10,000 grew from pass 0 to pass 1 by that much, docs/benchmarks.md). */
    malloc_trim(0);
#endif
    pthread_mutex_unlock(&r->pass_mu);
    if (stats)
        *stats = st;
    return rc;
}

enum mla_code mla_reconcile_run_once(struct mla_reconcile *r, struct mla_reconcile_stats *stats,
                               struct mla_err *err)
{
    return rec_pass(r, false, stats, err);
}

static void *rec_thread(void *arg)
{
    struct mla_reconcile *r = arg;
    pthread_mutex_lock(&r->mu);
    while (!r->stop) {
        long long until = mla_queue_now_ms() + r->cfg.interval_ms;
        struct timespec ts = {.tv_sec = until / 1000, .tv_nsec = (until % 1000) * 1000000L};
        while (!r->stop && !r->kick && mla_queue_now_ms() < until)
            pthread_cond_timedwait(&r->cv, &r->mu, &ts);
        r->kick = false;
        if (r->stop)
            break;
        pthread_mutex_unlock(&r->mu);
        if (!r->lease || mla_lease_is_leader(r->lease)) {
            struct mla_err err;
            mla_err_clear(&err);
            if (rec_pass(r, true, NULL, &err) != MLA_OK)
                mla_log(MLA_LOG_WARN, "rec", "%s (next pass in %ld ms)", err.msg,
                        r->cfg.interval_ms);
        }
        pthread_mutex_lock(&r->mu);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

enum mla_code mla_reconcile_create(const struct mla_reconcile_config *cfg, struct mla_kube *kc,
                             struct mla_queue *q, struct mla_lease *lease, struct mla_reconcile **out,
                             struct mla_err *err)
{
    struct mla_reconcile *r = mla_xcalloc(1, sizeof *r);
    r->cfg = *cfg;
    /* bounded memory per answer on large clusters */
    if (r->cfg.page_size <= 0)
        r->cfg.page_size = 500;
    r->identity = mla_xstrdup(cfg->identity ? cfg->identity : "ml-autoscaling");
    r->cfg.identity = r->identity;
    if (r->cfg.interval_ms <= 0)
        r->cfg.interval_ms = 60000;
    r->kc = kc;
    r->q = q;
    r->lease = lease;
    pthread_mutex_init(&r->mu, NULL);
    pthread_mutex_init(&r->pass_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&r->thread, NULL, rec_thread, r) != 0) {
        pthread_cond_destroy(&r->cv);
        pthread_mutex_destroy(&r->mu);
        pthread_mutex_destroy(&r->pass_mu);
        free(r->identity);
        free(r);
        return mla_err_set(err, MLA_EIO, "cannot start the reconcile thread");
    }
    *out = r;
    return MLA_OK;
}

void mla_reconcile_kick(struct mla_reconcile *r)
{
    pthread_mutex_lock(&r->mu);
    r->kick = true;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

void mla_reconcile_destroy(struct mla_reconcile *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    r->stop = true;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    pthread_mutex_destroy(&r->pass_mu);
    free(r->identity);
    free(r);
}
