/* reconcile.h - the background reconcile loop (leader only): every interval it lists the managed
 * Deployments and the ScaledObjects this product made, and repairs what admission's worker
 * could not do or what changed since: missing or stale ScaledObjects (create/update), HPAs
 * that reappeared against managed Deployments, ScaledObjects left behind by an opt-out, and
 * orphans whose Deployment is gone. Repairs go through the worker queue (the same idempotent
 * code path as admission), deletions of orphans are done directly. Paused ScaledObjects are
 * left alone. Then, for each ScaledObject with the predictive-config annotation, the predictive
 * hook is called (the predictive loop's module plugs in there).
 *
 * Ownership: new from mla_reconcile_create (mla_reconcile_destroy stops and joins the thread); borrows the
 * client, the queue, the elector and the policy store, which must outlive it.
 * Threading: one loop thread; mla_reconcile_kick and mla_reconcile_run_once are any-thread.
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

/* Decides for a stored Deployment (the request is built by the loop: op UPDATE, object = the
 * stored Deployment). NULL in the config means mla_decide with the store's current set. */
typedef enum mla_code (*mla_reconcile_decide_fn)(void *ctx, const struct mla_policy_set *ps,
                                           const struct mla_review_request *req,
                                           struct mla_decision *out, struct mla_err *err);

/* MLA HOOK (predictive re-weighting): called by the leader, once per loop pass, for each
 * managed, unpaused ScaledObject carrying ml-autoscaling.io/predictive-config. `so` is borrowed
 * for the call; the hook writes through `kc` (merge patch of spec.minReplicaCount and the
 * explanation annotations, see HELPERS-CONTRACTS.md §2). */
typedef void (*mla_reconcile_predict_fn)(void *ctx, struct mla_kube *kc, const cJSON *so);

struct mla_reconcile_config {
    long interval_ms;                   /* 0: 60000 */
    struct mla_policy_store *store;     /* borrowed, may be NULL (decide gets NULL) */
    mla_reconcile_decide_fn decide;           /* NULL: mla_decide */
    void *decide_ctx;
    mla_reconcile_predict_fn predict;         /* NULL: no predictive step */
    void *predict_ctx;
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

/* Pure: is every member of `want` present and equal in `have` (objects recursively, arrays and
 * scalars exactly)? Used to tell a stale ScaledObject from a current one. */
bool mla_reconcile_json_subset(const cJSON *want, const cJSON *have);

/* Pure: does the ScaledObject carry KEDA's pause annotations? */
bool mla_reconcile_so_paused(const cJSON *so);

#endif
