/* worker.h - the threads that write to the API after admission: wait until the Deployment is
 * stored as admitted, handle conflicting HPAs (delete / transfer), server-side apply the
 * ScaledObject with its ownerReference, remove it on opt-out (restoring the HPA), and record an
 * Event per action. Runs in every replica; every step is idempotent.
 *
 * Also the pure helpers the worker, the admission review hook and the loop share (stored check
 * against the admitted intent, HPA conflict test, ownership tests), and the pure planners that
 * decide what to write from what was read (mla_worker_plan_apply / _remove); the threads only
 * read, plan and run the plan. All unit-tested without a server.
 *
 * Ownership: a worker is new from mla_worker_create (mla_worker_destroy stops and joins its
 * threads). It borrows the client and the queue, which must outlive it.
 * Threading: create/destroy from one owner thread; the threads only touch the queue (any-thread)
 * and the client (any-thread).
 */
#ifndef MLA_WORKER_H
#define MLA_WORKER_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "mla/err.h"
#include "mla/kube.h"
#include "mla/queue.h"

#define MLA_LABEL_MANAGED "ml-autoscaling.io/managed"
#define MLA_ANN_REMOVED_HPA "ml-autoscaling.io/removed-hpa"
#define MLA_ANN_TRANSFER "scaledobject.keda.sh/transfer-hpa-ownership"
#define MLA_ANN_PAUSED "autoscaling.keda.sh/paused"
#define MLA_ANN_PAUSED_REPLICAS "autoscaling.keda.sh/paused-replicas"

struct mla_worker_config {
    int threads;              /* 0: 2 */
    const char *field_manager; /* NULL: "ml-autoscaling" (copied) */
    const char *identity;     /* Events' reportingInstance (copied); NULL: "ml-autoscaling" */
    long stored_give_up_ms;   /* how long to wait for the Deployment to show, from the first
                               * answer saying it is not there (not while the API is down); 0: 30000 */
    long api_give_up_ms;      /* how long to retry API failures; 0: 900000 (then the loop) */
    long transfer_verify_ms;  /* how long KEDA gets to adopt a transferred HPA; 0: 10000 */
    long backoff_base_ms;     /* 0: 25 */
    long backoff_cap_ms;      /* 0: 2000 */
    long request_budget_ms;   /* per API request, retries included; 0: 10000 */
};

struct mla_worker;

enum mla_code mla_worker_create(const struct mla_worker_config *cfg, struct mla_kube *kc,
                                struct mla_queue *q, struct mla_worker **out,
                                struct mla_err *err) MLA_MUST_CHECK;
/* Stops the queue, joins the threads, frees the worker (not the queue or the client). */
void mla_worker_destroy(struct mla_worker *w);

/* Runs one item synchronously in the calling thread until it is done or needs to wait;
 * returns the delay (ms) it asks for, or -1 when it is finished (w freed by the caller then).
 * For tests and the driver; the threads use the same function. */
long mla_worker_step(struct mla_worker *wk, struct mla_work *w);

/* ---- pure helpers ---- */

enum mla_stored {
    MLA_STORED_NOT_YET = 0, /* not there, or not (yet) showing the admitted intent */
    MLA_STORED_YES,         /* stored as admitted: act on it */
    MLA_STORED_OTHER,       /* an older namesake: this CREATE was refused */
    MLA_STORED_DELETING,    /* it has a deletionTimestamp: nothing to do, the ownerReference
                             * removes the ScaledObject */
};

/* What the stored Deployment must show before the worker acts on an admission (PRODUCT.md 5):
 * {"enabled": bool, "managed": bool, "policyHash": str|null (absent: not checked),
 *  "inputs": {key: value} (absent: not checked)}. `inputs` are the admitted object's
 * ml-autoscaling.io/ annotations except the ones the patch writes (scaledobject, policy,
 * policy-hash); it is absent when the admitted object has no annotations member at all (a
 * test driver's bare object). APPLY: enabled and managed true, the decision's policy hash
 * (when not ""). REMOVE: the patch drops the label and the hash: both must be gone.
 * New (cJSON_Delete); NULL for MLA_ACT_NONE. `object` borrowed, may be NULL. */
cJSON *mla_worker_intent(enum mla_action action, const cJSON *object, const char *policy_hash);

/* Does `stored` (a Deployment as the API returns it) show `intent` (NULL: anything does)? */
bool mla_worker_intent_shown(const cJSON *intent, const cJSON *stored);

/* Is `stored` (the Deployment as the API returns it, NULL for 404) the one admission decided
 * about? A deletionTimestamp: DELETING. CREATE: it exists with a uid, was created no earlier
 * than `slack_s` before the work was enqueued (an older object of the same name means this
 * CREATE was refused: OTHER) and shows the intent. UPDATE (and the loop's items): it shows
 * the intent (w->intent). A resourceVersion proves nothing: status writes move it. */
enum mla_stored mla_worker_stored_check(const struct mla_work *w, const cJSON *stored,
                                        double slack_s);

/* Does the API error say the namespace is going away or gone (403 NamespaceTerminating,
 * "unable to create new content in namespace x because it is being terminated"; 404
 * `namespaces "x" not found`)? Retrying cannot help then. `msg` is an mla_err message. */
bool mla_worker_ns_gone(enum mla_code code, const char *msg);

/* Cuts `s` in place to at most `max` bytes (max >= 1) without splitting a UTF-8 sequence
 * (events.k8s.io/v1 refuses notes over 1 KB; a cut inside a character is invalid UTF-8). */
void mla_worker_utf8_cut(char *s, size_t max);

/* ---- the planner: what to write for an APPLY, decided from what was read ---- */

enum mla_wk_kind {
    MLA_WK_DELETE_SO,  /* delete ScaledObject `name` (ours under an older name) */
    MLA_WK_DELETE_HPA, /* delete HorizontalPodAutoscaler `name` */
    MLA_WK_APPLY,      /* server-side apply `config` as ScaledObject `name` */
    MLA_WK_EVENT,      /* record an Event (best effort: a failure does not stop the plan) */
    MLA_WK_CREATE_HPA, /* create HPA `config` (named `name`) unless one of that name exists:
                        * 409 is no failure, and then the next op (its Event) is skipped */
};

struct mla_wk_op {
    enum mla_wk_kind kind;
    char *name;          /* owned: the object written (not for EVENT) */
    cJSON *config;       /* owned: APPLY's configuration */
    bool warning;        /* EVENT: type Warning */
    const char *reason;  /* EVENT: static string */
    char *message;       /* owned: EVENT */
};

struct mla_worker_plan {
    struct mla_wk_op *ops; /* owned: run in order; the first failed write stops the rest */
    size_t n, cap;
    char *transfer_hpa;    /* owned: after the ops, verify KEDA adopts this HPA; NULL: done */
    bool keep_config;      /* an apply failure must keep the config's metadata in the item:
                            * it records an HPA that is already deleted */
};

/* What the shell read before planning (all borrowed; NULL when absent). */
struct mla_worker_seen {
    const cJSON *existing;     /* the ScaledObject under the decided name */
    const cJSON *sos;          /* array: ScaledObjects in the namespace */
    const cJSON *hpas;         /* array: HPAs in the namespace */
    const cJSON *vpas;         /* array: VPAs in the namespace; NULL when not read */
    const cJSON *adopt_failed; /* the HPA KEDA did not adopt in time (transfer fallback) */
    const char *field_manager; /* for the Event's message */
    long transfer_verify_ms;   /* for the Event's message */
};

void mla_worker_plan_init(struct mla_worker_plan *p);
void mla_worker_plan_fini(struct mla_worker_plan *p);

/* Plans the APPLY of item `w` (w->so, w->uid, w->hpa_mode) over what was read: a foreign
 * ScaledObject stops it (Warning Event); a VerticalPodAutoscaler that fights its cpu/memory
 * triggers (vpa.h) gets a Warning Event naming it, and stops it in w->vpa_mode deny; ours under
 * another name is deleted (its removed-hpa
 * carried); conflicting HPAs are deleted (delete mode, spec kept in the annotation) or handed
 * over (transfer), or stop it (reject); then the apply and its Event. Pure: no I/O. With
 * seen->adopt_failed: the transfer fallback (delete that HPA, apply without the transfer). */
void mla_worker_plan_apply(const struct mla_work *w, const struct mla_worker_seen *seen,
                           struct mla_worker_plan *out);

/* Plans the REMOVE (opt-out) of item `w` over seen->sos (the namespace's managed ScaledObjects):
 * each one this product made for this Deployment (managed label AND an ownerReference to
 * w->uid, so never a foreign one nor one of a deleted namesake) is deleted (Event), then the HPA
 * it kept in removed-hpa is restored (Event; a kept value that is not an HPA: Warning Event). */
void mla_worker_plan_remove(const struct mla_work *w, const struct mla_worker_seen *seen,
                            struct mla_worker_plan *out);

/* Does the autoscaling/v2 HPA target Deployment `name` without belonging to KEDA (no
 * ownerReference of kind ScaledObject)? */
bool mla_worker_hpa_conflicts(const cJSON *hpa, const char *deploy);

/* Did this product make the ScaledObject for this Deployment: label managed=true AND an
 * ownerReference to Deployment `deploy` (with `uid` when not NULL)? */
bool mla_worker_so_ours(const cJSON *so, const char *deploy, const char *uid);

/* Does the ScaledObject scale Deployment `deploy` (scaleTargetRef, kind absent = Deployment)? */
bool mla_worker_so_targets(const cJSON *so, const char *deploy);

/* The same three for a workload of kind `kind` ("StatefulSet", wlkind.h); the functions above
 * are these with "Deployment". */
bool mla_worker_hpa_conflicts_kind(const cJSON *hpa, const char *kind, const char *name);
bool mla_worker_so_ours_kind(const cJSON *so, const char *kind, const char *name,
                             const char *uid);
bool mla_worker_so_targets_kind(const cJSON *so, const char *kind, const char *name);

/* Pure: does the stored object `have` already hold what the apply configuration `cfg` writes:
 * its spec, labels and annotations (a subset check: the server's defaults and other managers'
 * fields do not count), less the replica counts the predictive loop owns over `have`? `cfg` is
 * not changed. The worker records no Applied Event for such an apply: a second pass that
 * queues the same work again must not tell the user twice about one change. */
bool mla_worker_apply_noop(const cJSON *cfg, const cJSON *have);

/* The kind name of item w's workload ("Deployment" when w->wl is NULL); static string. */
const char *mla_worker_kind(const struct mla_work *w);

/* The HPA as kept in the removed-hpa annotation: compact JSON (new string, free()). */
char *mla_worker_hpa_snapshot(const cJSON *hpa);

/* Records a core/v1 Event on the Deployment (best effort, short budget; counts the metric). */
void mla_worker_event(struct mla_kube *kc, const char *identity, const char *ns,
                      const char *deploy, const char *uid, bool warning, const char *reason,
                      const char *fmt, ...) __attribute__((format(printf, 8, 9)));

/* The same on a workload of kind `wl` (borrowed; NULL: Deployment). */
void mla_worker_event_on(struct mla_kube *kc, const char *identity,
                         const struct mla_wl_kind *wl, const char *ns, const char *name,
                         const char *uid, bool warning, const char *reason, const char *fmt,
                         ...) __attribute__((format(printf, 9, 10)));

#endif
