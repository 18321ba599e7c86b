/* worker.h - the threads that write to the API after admission: wait until the Deployment is
 * stored as admitted, handle conflicting HPAs (delete / transfer), server-side apply the
 * ScaledObject with its ownerReference, remove it on opt-out (restoring the HPA), and record an
 * Event per action. Runs in every replica; every step is idempotent.
 *
 * Also the pure helpers the worker, the admission review hook and the loop share (stored check,
 * HPA conflict test, ownership tests), unit-tested on their own.
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

enum mla_stored { MLA_STORED_NOT_YET = 0, MLA_STORED_YES, MLA_STORED_OTHER };

/* Is `stored` (the Deployment as the API returns it, NULL for 404) the one admission decided
 * about? CREATE: it exists with a uid and was created no earlier than `slack_s` before the work
 * was enqueued (an older object of the same name means this CREATE was refused: OTHER).
 * UPDATE: its resourceVersion differs from the oldObject's (no old rv: stored). */
enum mla_stored mla_worker_stored_check(const struct mla_work *w, const cJSON *stored,
                                        double slack_s);

/* Does the autoscaling/v2 HPA target Deployment `name` without belonging to KEDA (no
 * ownerReference of kind ScaledObject)? */
bool mla_worker_hpa_conflicts(const cJSON *hpa, const char *deploy);

/* Did this product make the ScaledObject for this Deployment: label managed=true AND an
 * ownerReference to Deployment `deploy` (with `uid` when not NULL)? */
bool mla_worker_so_ours(const cJSON *so, const char *deploy, const char *uid);

/* Does the ScaledObject scale Deployment `deploy` (scaleTargetRef, kind absent = Deployment)? */
bool mla_worker_so_targets(const cJSON *so, const char *deploy);

/* The HPA as kept in the removed-hpa annotation: compact JSON (new string, free()). */
char *mla_worker_hpa_snapshot(const cJSON *hpa);

/* Records a core/v1 Event on the Deployment (best effort, short budget; counts the metric). */
void mla_worker_event(struct mla_kube *kc, const char *identity, const char *ns,
                      const char *deploy, const char *uid, bool warning, const char *reason,
                      const char *fmt, ...) __attribute__((format(printf, 8, 9)));

#endif
