/* reconcile.h - the background reconcile loop (leader only): every interval it lists the managed
 * Deployments, the opted-in Deployments that bypassed the webhook (no managed label: stored
 * while no replica answered, failurePolicy Ignore), the ScaledObjects and the HPAs, and repairs
 * what admission's worker could not do or what changed since: missing or stale ScaledObjects
 * (create/update, or adopt: the worker's write records AdoptedAfterBypass), HPAs that reappeared against
 * managed Deployments, ScaledObjects left behind by an opt-out, and orphans whose Deployment is
 * gone. The same for Job templates and their KEDA ScaledJobs (managed and bypassed Jobs, all
 * ScaledJobs: missing, drifted, opted out, orphaned). Deployments being deleted (deletionTimestamp) or in a namespace being deleted are left
 * alone. Repairs go through the worker queue (the same idempotent code path as admission),
 * deletions of orphans are done directly. Paused ScaledObjects are left alone. Then, for each
 * ScaledObject with the predictive-config annotation (or still carrying fields of the loop's
 * field manager), the predictive hook is called.
 *
 * A pass is a pure plan (mla_reconcile_plan: the lists read in, the writes and Events out)
 * executed by a thin shell (the loop thread), so the planning is unit-tested without a server.
 *
 * Ownership: new from mla_reconcile_create (mla_reconcile_destroy stops and joins the thread); borrows the
 * client, the queue, the elector and the policy store, which must outlive it.
 * Threading: one loop thread; mla_reconcile_kick and mla_reconcile_run_once are any-thread; the
 * planner is pure (any thread).
 */
#ifndef MLA_RECONCILE_H
#define MLA_RECONCILE_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "mla/decide.h"
#include "mla/err.h"
#include "mla/kube.h"
#include "mla/lease.h"
#include "mla/policy.h"
#include "mla/queue.h"
#include "mla/ratelimit.h"

/* Decides for a stored Deployment (the request is built by the loop: op UPDATE, object = the
 * stored Deployment). NULL in the config means mla_decide with the store's current set. */
typedef enum mla_code (*mla_reconcile_decide_fn)(void *ctx, const struct mla_policy_set *ps,
                                           const struct mla_review_request *req,
                                           struct mla_decision *out, struct mla_err *err);

/* MLA HOOK (predictive re-weighting): called by the leader, once per loop pass, for each
 * managed, unpaused ScaledObject carrying ml-autoscaling.io/predictive-config or fields of the
 * loop's field manager. `so` is borrowed for the call; the hook writes through `kc` (a
 * server-side apply as field manager ml-autoscaling-loop, see predict_step.h). */
typedef void (*mla_reconcile_predict_fn)(void *ctx, struct mla_kube *kc, const cJSON *so);

struct mla_reconcile_config {
    long interval_ms;                   /* 0: 60000 */
    struct mla_policy_store *store;     /* borrowed, may be NULL (decide gets NULL) */
    mla_reconcile_decide_fn decide;           /* NULL: mla_decide */
    void *decide_ctx;
    mla_reconcile_predict_fn predict;         /* NULL: no predictive step */
    void *predict_ctx;
    /* Optional, with predict (ctx = predict_ctx), in the pass's thread: pass_begin before the
     * plan runs, with the managed Deployments the pass read (borrowed for the call only: the
     * pass frees them before it runs the plan; summaries, which hold their kind, namespace,
     * name and spec.replicas), so the hook needs no read of its own per
     * ScaledObject; pass_end after the plan ran. A hook that keeps writes for the end of the
     * pass (the loop's scale-downs, after its scale-ups) asks may_write(may_ctx) before each
     * one: false once the pass must stop writing (shutting down, or, in a loop pass,
     * leadership lost), as the plan itself stops. */
    void (*pass_begin)(void *ctx, const cJSON *deployments);
    void (*pass_end)(void *ctx, bool (*may_write)(void *may_ctx), void *may_ctx);
    int page_size;                      /* items per LIST page (limit); 0: 500 */
    /* borrowed, may be NULL: every request of the pass (LIST page, GET, DELETE) first takes a
     * token, so a pass is a steady rate (--kube-api-qps/--kube-api-burst) */
    struct mla_ratelimit *limit;
    const char *identity;               /* Events' reportingInstance (copied);
                                         * NULL: "ml-autoscaling" */
    /* Called at the start of each pass; false: skip the pass quietly (e.g. KEDA's API is
     * missing, see keda.h: nothing to write, and the caller said so once). NULL: always run. */
    bool (*gate)(void *ctx);
    void *gate_ctx;
};

struct mla_reconcile_stats {
    int deployments;   /* managed Deployments seen */
    int created;       /* missing ScaledObjects queued for apply */
    int updated;       /* stale ScaledObjects queued for apply */
    int hpa;           /* reappeared HPAs queued for removal */
    int orphans;       /* ScaledObjects removed (Deployment gone or opted out) */
    int paused;        /* skipped because paused */
    int predicted;     /* predictive hook calls */
    int adopted;       /* opted-in Deployments that bypassed the webhook, brought in */
    int skipped;       /* Deployments being deleted or in a namespace being deleted */
    int jobs;          /* opted-in Job templates seen (their repairs count in the fields
                        * above: created, updated, adopted, orphans, paused, skipped) */
};

struct mla_reconcile;

/* Starts the loop thread; it acts only while `lease` says this replica leads (lease NULL: always). */
enum mla_code mla_reconcile_create(const struct mla_reconcile_config *cfg, struct mla_kube *kc,
                             struct mla_queue *q, struct mla_lease *lease, struct mla_reconcile **out,
                             struct mla_err *err) MLA_MUST_CHECK;
void mla_reconcile_destroy(struct mla_reconcile *r);

/* Asks the loop to run a pass now (e.g. on becoming leader). */
void mla_reconcile_kick(struct mla_reconcile *r);

/* One pass in the calling thread, leader or not (tests, the driver). */
enum mla_code mla_reconcile_run_once(struct mla_reconcile *r, struct mla_reconcile_stats *stats,
                               struct mla_err *err) MLA_MUST_CHECK;

/* ---- the pure planner ---- */

/* What one pass read. Everything is borrowed; arrays may be NULL (empty). */
struct mla_reconcile_input {
    const cJSON *deployments;   /* managed Deployments (label selector); the pass gives
                                 * summaries of them (src/controller/reconcile-int.h) */
    const cJSON *bypassed;      /* opted-in Deployments without the managed label */
    const cJSON *scaledobjects; /* all ScaledObjects */
    const cJSON *hpas;          /* all HPAs */
    const cJSON *owners;        /* Deployments read (GET) for ScaledObjects of ours whose
                                 * Deployment is in neither list (mla_reconcile_owners_to_read) */
    const cJSON *unknown;       /* "ns/name" of those whose read failed (not 404): left alone */
    const cJSON *terminating;   /* names of namespaces being deleted */
    const cJSON *jobs;          /* managed Jobs (templates of ScaledJobs) */
    const cJSON *bypassed_jobs; /* opted-in Jobs without the managed label */
    const cJSON *scaledjobs;    /* all ScaledJobs */
    const cJSON *job_owners;    /* Jobs read (GET) for ScaledJobs of ours whose Job is in
                                 * neither list (mla_reconcile_job_owners_to_read) */
    const cJSON *job_unknown;   /* "ns/name" of those whose read failed (not 404): left alone */
    const struct mla_policy_set *ps; /* may be NULL */
    mla_reconcile_decide_fn decide;  /* NULL: mla_decide */
    void *decide_ctx;
    bool predict;               /* a predictive hook is configured */
};

/* The Deployments the shell must GET before planning: owners of our ScaledObjects that are in
 * neither list (they may have lost the label, or be gone). New array of {"namespace","name"}. */
cJSON *mla_reconcile_owners_to_read(const cJSON *deployments, const cJSON *bypassed,
                                    const cJSON *scaledobjects);

/* The same for Jobs: the template Jobs of our ScaledJobs that are in neither Job list. */
cJSON *mla_reconcile_job_owners_to_read(const cJSON *jobs, const cJSON *bypassed_jobs,
                                        const cJSON *scaledjobs);

/* Plans one pass. *plan is a new array of actions, in the order the shell runs them:
 *   {"op":"apply","namespace","name","why":"create|update|hpa|adopt","soName","hpaMode",
 *    "scaledObject":{...}}                       queue an APPLY for the worker (adopt: the
 *                                                 item's `adopt`, queue.h)
 *   {"op":"remove","namespace","name"}            queue a REMOVE (opted out)
 *   {"op":"delete","namespace","name"}            delete an orphaned ScaledObject
 *   {"op":"event","namespace","name","uid","type","reason","message"}   on a Deployment (no
 *                                                 rule plans one now: kept for the shell)
 *   {"op":"predict","namespace","name"}           the MLA HOOK for this ScaledObject
 * Actions for a Job template carry "kind": "Job" (apply: "scaledObject" is the ScaledJob, no
 * "hpaMode"; remove), and the delete of an orphaned ScaledJob
 * "kind": "ScaledJob"; actions for a StatefulSet carry "kind": "StatefulSet".
 * `stats` counts them. A Deployment the decision cannot be made for is logged and skipped. */
enum mla_code mla_reconcile_plan(const struct mla_reconcile_input *in, cJSON **plan,
                                 struct mla_reconcile_stats *stats, struct mla_err *err)
    MLA_MUST_CHECK;

/* Does an API answer say the namespace is going away or gone (403 with cause or reason
 * NamespaceTerminating, 404 namespaces "x" not found)? Such writes stop at once: no retry. */
bool mla_reconcile_ns_gone(long status, const cJSON *body);

/* Pure: is every member of `want` present and equal in `have` (objects recursively, arrays and
 * scalars exactly)? Used to tell a stale ScaledObject from a current one. */
bool mla_reconcile_json_subset(const cJSON *want, const cJSON *have);

/* Pure: does the ScaledObject carry KEDA's pause annotations? */
bool mla_reconcile_so_paused(const cJSON *so);

#endif
