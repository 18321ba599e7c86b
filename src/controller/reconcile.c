/* controller/reconcile.c - the leader's reconcile loop (see reconcile.h).
 *
 * DESIGN: one loop thread. It sleeps on `cv` until the interval ends, a kick arrives (the
 * elector's on_change(true) kicks so a new leader repairs at once) or stop is set. Each wake-up
 * it runs a pass only when this replica leads. A pass reads (three LISTs, then a GET per
 * orphan candidate), decides per Deployment with the current policy set (a reference taken for
 * the pass), and pushes repair items onto the worker queue; the worker threads do the writes,
 * so leader and follower write through the same idempotent code. Orphans are deleted here.
 * Shared state: `stop`, `kick` guarded by mu; the rest is immutable after create or owned by
 * the loop thread. A pass run with mla_reconcile_run_once from another thread takes `pass_mu`, so two
 * passes never overlap. Shutdown: destroy sets stop, signals, joins.
 *
 * Jobs of one pass, in order:
 *   1. LIST managed Deployments (label selector), all ScaledObjects, all HPAs.
 *   2. Per Deployment: decide; APPLY -> queue when the ScaledObject is missing (create), stale
 *      (update) or an HPA conflicts again (hpa); not opted in any more but our ScaledObject is
 *      still there -> queue a REMOVE (orphan). Paused ScaledObjects are skipped.
 *   3. Per ScaledObject we made: its Deployment is gone (or was re-created with a new uid) ->
 *      delete it (orphan).
 *   4. MLA HOOK: predictive re-weighting for each ScaledObject with predictive-config.
 */
#include "mla/reconcile.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mla/log.h"
#include "mla/mem.h"
#include "mla/metrics.h"
#include "mla/predict.h"
#include "mla/worker.h"

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
};

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

static enum mla_code rec_list(struct mla_reconcile *r, const char *path, cJSON **items,
                              struct mla_err *err)
{
    struct mla_kube_opts o = {.budget_ms = 20000};
    struct mla_kube_resp resp = {0};
    enum mla_code rc = mla_kube_request(r->kc, MLA_KUBE_LIST, path, NULL, &o, &resp, err);
    if (rc == MLA_OK) {
        cJSON *it = cJSON_DetachItemFromObjectCaseSensitive(resp.body, "items");
        *items = it ? it : cJSON_CreateArray();
    }
    mla_kube_resp_fini(&resp);
    return rc;
}

static const cJSON *rec_find(const cJSON *items, const char *ns, const char *name)
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

/* Is the stored ScaledObject what the decision wants? Our fields only. The wanted object is
 * first given the predictive loop's replica counts the way the worker's apply would keep them
 * (mla_predict_keep_loop): comparing with the policy's values would call every object the loop
 * adjusted stale, and the repair would undo the loop each pass (an apply/patch tug of war). A
 * live value outside the new bounds is clamped, so it differs once, is repaired, and then
 * compares equal. Without predictive-config in the wanted object the policy's values count. */
static bool rec_current(const cJSON *want, const cJSON *have, const char *deploy,
                        const char *uid)
{
    cJSON *w = cJSON_Duplicate(want, 1);
    (void)mla_predict_keep_loop(w, have);
    cJSON *spec = cJSON_GetObjectItemCaseSensitive(w, "spec");
    cJSON *wm = cJSON_GetObjectItemCaseSensitive(w, "metadata");
    const cJSON *hm = cJSON_GetObjectItemCaseSensitive(have, "metadata");
    bool ok = mla_reconcile_json_subset(spec, cJSON_GetObjectItemCaseSensitive(have, "spec")) &&
              mla_reconcile_json_subset(cJSON_GetObjectItemCaseSensitive(wm, "labels"),
                                  cJSON_GetObjectItemCaseSensitive(hm, "labels")) &&
              mla_reconcile_json_subset(cJSON_GetObjectItemCaseSensitive(wm, "annotations"),
                                  cJSON_GetObjectItemCaseSensitive(hm, "annotations"));
    cJSON_Delete(w);
    /* the ownerReference must name the Deployment as stored now (not a deleted namesake) */
    return ok && mla_worker_so_ours(have, deploy, uid);
}

static struct mla_work *rec_item(const char *ns, const char *name, enum mla_action act)
{
    struct mla_work *w = mla_work_create(ns, name);
    w->op = MLA_OP_UPDATE; /* stored already: no old resourceVersion to wait past */
    w->action = act;
    w->from_loop = true;
    return w;
}

static enum mla_code rec_delete(struct mla_reconcile *r, const char *ns, const char *name,
                                struct mla_err *err)
{
    char *p = mla_xasprintf("/apis/keda.sh/v1alpha1/namespaces/%s/scaledobjects/%s", ns, name);
    struct mla_kube_opts o = {.budget_ms = 10000};
    struct mla_kube_resp resp = {0};
    enum mla_code rc = mla_kube_request(r->kc, MLA_KUBE_DELETE, p, NULL, &o, &resp, err);
    mla_kube_resp_fini(&resp);
    free(p);
    return rc == MLA_ENOTFOUND ? MLA_OK : rc;
}

/* Step 2 for one Deployment. */
static void rec_deployment(struct mla_reconcile *r, const struct mla_policy_set *ps, const cJSON *d,
                           const cJSON *sos, const cJSON *hpas, struct mla_reconcile_stats *st)
{
    const char *ns = mla_kube_meta_str(d, "namespace");
    const char *name = mla_kube_meta_str(d, "name");
    const char *uid = mla_kube_meta_str(d, "uid");
    if (!ns || !name || !uid)
        return;
    struct mla_review_request req = {
        .root = NULL, .uid = "reconcile", .kind_group = "apps", .kind_version = "v1",
        .kind = "Deployment", .resource = "deployments", .sub_resource = "", .op = MLA_OP_UPDATE,
        .operation = "UPDATE", .namespace_ = ns, .name = name, .object = d, .old_object = d,
        .dry_run = false, .username = "system:serviceaccount:ml-autoscaling:reconcile"};
    struct mla_decision dec;
    mla_decision_init(&dec);
    struct mla_err err;
    mla_err_clear(&err);
    enum mla_code rc = r->cfg.decide ? r->cfg.decide(r->cfg.decide_ctx, ps, &req, &dec, &err)
                                     : mla_decide(ps, &req, &dec, &err);
    if (rc != MLA_OK) {
        mla_log(MLA_LOG_WARN, "rec", "%s/%s: cannot decide: %s", ns, name, err.msg);
        mla_decision_fini(&dec);
        return;
    }
    st->deployments++;
    if (dec.action == MLA_ACT_APPLY && dec.allowed && dec.scaled_object && !dec.skip_write) {
        const char *so_name = dec.so_name[0] ? dec.so_name
                                             : mla_kube_meta_str(dec.scaled_object, "name");
        if (!so_name)
            so_name = name;
        const cJSON *have = rec_find(sos, ns, so_name);
        const char *why = NULL;
        bool hpa_conflict = false;
        const cJSON *h;
        cJSON_ArrayForEach(h, hpas)
        {
            const char *hns = mla_kube_meta_str(h, "namespace");
            if (hns && !strcmp(hns, ns) && mla_worker_hpa_conflicts(h, name))
                hpa_conflict = true;
        }
        if (have && mla_reconcile_so_paused(have)) {
            st->paused++;
        } else if (have && !mla_worker_so_ours(have, name, NULL)) {
            /* someone else's: left alone (reported at admission) */
        } else if (!have) {
            why = "create";
            st->created++;
        } else if (hpa_conflict && dec.hpa_mode != MLA_HPA_REJECT) {
            why = "hpa";
            st->hpa++;
        } else if (!rec_current(dec.scaled_object, have, name, uid)) {
            why = "update";
            st->updated++;
        }
        if (why) {
            struct mla_work *w = rec_item(ns, name, MLA_ACT_APPLY);
            w->hpa_mode = dec.hpa_mode;
            w->so = dec.scaled_object; /* w takes the ScaledObject */
            dec.scaled_object = NULL;
            w->so_name = mla_xstrdup(so_name);
            mla_log(MLA_LOG_INFO, "rec", "%s/%s: repairing ScaledObject %s (%s)", ns, name,
                    so_name, why);
            rec_repair(why, 1);
            mla_queue_push(r->q, w);
        }
    } else if (dec.action != MLA_ACT_APPLY || !dec.opted_in) {
        /* not opted in any more: our ScaledObject must go (the worker restores the HPA) */
        const cJSON *s;
        cJSON_ArrayForEach(s, sos)
        {
            const char *sns = mla_kube_meta_str(s, "namespace");
            if (sns && !strcmp(sns, ns) && mla_worker_so_ours(s, name, uid)) {
                mla_log(MLA_LOG_INFO, "rec", "%s/%s: not opted in; removing ScaledObject %s", ns,
                        name, mla_kube_meta_str(s, "name"));
                rec_repair("orphan", 1);
                st->orphans++;
                mla_queue_push(r->q, rec_item(ns, name, MLA_ACT_REMOVE));
                break;
            }
        }
    }
    mla_decision_fini(&dec);
}

/* The Deployment a ScaledObject of ours belongs to: name and uid of the controller reference. */
static bool rec_owner(const cJSON *so, const char **name, const char **uid)
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

/* One pass. `gated`: stop early when leadership is lost mid-pass (the loop thread); the
 * writes already queued are idempotent, the new leader's pass repeats what is missing. */
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
    cJSON *deps = NULL, *sos = NULL, *hpas = NULL;
    enum mla_code rc = rec_list(r, "/apis/apps/v1/deployments?labelSelector="
                                   "ml-autoscaling.io%2Fmanaged%3Dtrue", &deps, err);
    if (rc == MLA_OK)
        rc = rec_list(r, "/apis/keda.sh/v1alpha1/scaledobjects", &sos, err);
    if (rc == MLA_OK)
        rc = rec_list(r, "/apis/autoscaling/v2/horizontalpodautoscalers", &hpas, err);
    if (rc != MLA_OK) {
        mla_err_prefix(err, rc, "reconcile");
        goto out;
    }
    struct mla_policy_set *ps = r->cfg.store ? mla_policy_store_acquire(r->cfg.store) : NULL;
    const cJSON *d;
    bool lost = false;
    cJSON_ArrayForEach(d, deps)
    {
        if (gated && r->lease && !mla_lease_is_leader(r->lease)) {
            lost = true;
            break;
        }
        rec_deployment(r, ps, d, sos, hpas, &st);
    }
    mla_policy_set_unref(ps);
    if (lost) {
        rc = mla_err_set(err, MLA_ESTATE, "reconcile: leadership lost during the pass");
        goto out;
    }

    /* 3. orphans: ours, Deployment gone or re-created */
    const cJSON *s;
    cJSON_ArrayForEach(s, sos)
    {
        if (gated && r->lease && !mla_lease_is_leader(r->lease))
            break; /* deletions are for the leader only */
        const char *on = NULL, *ou = NULL;
        const char *ns = mla_kube_meta_str(s, "namespace");
        const char *sn = mla_kube_meta_str(s, "name");
        const char *managed = mla_kube_label(s, MLA_LABEL_MANAGED);
        if (!ns || !sn || !managed || strcmp(managed, "true") || !rec_owner(s, &on, &ou))
            continue;
        const cJSON *dep = rec_find(deps, ns, on);
        const char *du = dep ? mla_kube_meta_str(dep, "uid") : NULL;
        if (!dep) {
            /* not in the managed list: read it (it may have lost the label) */
            char *p = mla_xasprintf("/apis/apps/v1/namespaces/%s/deployments/%s", ns, on);
            struct mla_kube_opts o = {.budget_ms = 5000};
            struct mla_kube_resp resp = {0};
            struct mla_err e;
            mla_err_clear(&e);
            enum mla_code grc = mla_kube_request(r->kc, MLA_KUBE_GET, p, NULL, &o, &resp, &e);
            free(p);
            if (grc == MLA_OK) {
                const char *u = mla_kube_meta_str(resp.body, "uid");
                if (u && !strcmp(u, ou)) {
                    /* the Deployment lost the managed label: decide like any other */
                    struct mla_policy_set *ps2 =
                        r->cfg.store ? mla_policy_store_acquire(r->cfg.store) : NULL;
                    rec_deployment(r, ps2, resp.body, sos, hpas, &st);
                    mla_policy_set_unref(ps2);
                    mla_kube_resp_fini(&resp);
                    continue;
                }
            } else if (grc != MLA_ENOTFOUND) {
                mla_kube_resp_fini(&resp);
                continue; /* cannot tell: next pass */
            }
            mla_kube_resp_fini(&resp);
        } else if (du && !strcmp(du, ou)) {
            continue; /* its Deployment is there */
        }
        mla_log(MLA_LOG_INFO, "rec", "%s/%s: Deployment %s is gone; deleting orphaned "
                "ScaledObject", ns, sn, on);
        struct mla_err e;
        mla_err_clear(&e);
        if (rec_delete(r, ns, sn, &e) == MLA_OK) {
            rec_repair("orphan", 1);
            st.orphans++;
        } else {
            mla_log(MLA_LOG_WARN, "rec", "%s/%s: cannot delete orphan: %s", ns, sn, e.msg);
        }
    }

    /* 4. MLA HOOK: predictive re-weighting (predict helper's module is called here) */
    if (r->cfg.predict) {
        cJSON_ArrayForEach(s, sos)
        {
            const char *managed = mla_kube_label(s, MLA_LABEL_MANAGED);
            if (!managed || strcmp(managed, "true") || mla_reconcile_so_paused(s) ||
                !mla_kube_annotation(s, MLA_ANN_PREDICTIVE))
                continue;
            r->cfg.predict(r->cfg.predict_ctx, r->kc, s);
            st.predicted++;
        }
    }
out:
    rec_run_count(rc == MLA_OK);
    if (rc == MLA_OK)
        mla_log(MLA_LOG_INFO, "rec", "reconcile pass: %d managed Deployments, %d created, %d "
                "updated, %d HPAs, %d orphans, %d paused", st.deployments, st.created,
                st.updated, st.hpa, st.orphans, st.paused);
    cJSON_Delete(deps);
    cJSON_Delete(sos);
    cJSON_Delete(hpas);
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
    free(r);
}
