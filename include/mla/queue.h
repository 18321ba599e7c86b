/* queue.h - the in-process work queue between admission (and the loop) and the worker.
 *
 * One item per workload, keyed by kind, namespace and name (kind: "Job" when `job`, else
 * wl's kind, else Deployment; so a Deployment, a StatefulSet and a Job sharing a name never
 * drop or hold up each other's work): a newer item replaces a pending one for the same
 * workload (the newest admission decision wins), and an item is never handed to two worker
 * threads at once (a key in flight is skipped until mla_queue_done/requeue). Items carry the
 * time they become ready, so waiting with backoff does not block other workloads. `wl` and
 * `job` must not change while the queue holds the item.
 *
 * Ownership: mla_queue_push steals the item; mla_queue_pop hands one out (the caller then owns
 * it and gives it back with mla_queue_requeue, or frees it with mla_queue_done).
 * Threading: any thread; one mutex + condition variable inside.
 */
#ifndef MLA_QUEUE_H
#define MLA_QUEUE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "mla/review.h"
#include "mla/decide.h"

enum mla_work_stage {
    MLA_STAGE_WAIT_STORED = 0, /* waiting until the API shows the Deployment as admitted */
    MLA_STAGE_VERIFY_TRANSFER, /* ScaledObject applied with HPA transfer; checking the HPA */
};

struct mla_wl_kind; /* wlkind.h */

struct mla_work {
    struct mla_work *next; /* queue link; owned by the queue while queued */
    char *ns;              /* owned */
    char *name;            /* owned */
    const struct mla_wl_kind *wl; /* borrowed (static table): the workload's kind; NULL:
                                   * Deployment (mla_work_create leaves it NULL) */
    enum mla_review_op op;    /* MLA_OP_CREATE or MLA_OP_UPDATE */
    cJSON *intent;         /* owned: what the stored Deployment must show before the worker
                            * acts (worker.h, mla_worker_intent); NULL: whatever is stored */
    enum mla_action action;
    enum mla_hpa_mode hpa_mode;
    enum mla_vpa_mode vpa_mode; /* the policy's `vpa`; items from the loop: warn */
    cJSON *so;             /* owned: the desired ScaledObject (APPLY), NULL otherwise */
    char *so_name;         /* owned: may be NULL */
    bool from_loop;        /* produced by the reconcile loop (already stored) */
    bool job;              /* a batch/v1 Job template: `so` is its ScaledJob (scaledjob.h) */
    bool adopt;            /* from_loop: the workload bypassed the webhook; the worker records
                            * AdoptedAfterBypass when its apply creates the object, so passes
                            * that queue it again before the write add no second Event */
    double enqueued_wall;  /* unix seconds, when admission enqueued it */
    long long enqueued_ms; /* monotonic ms */
    /* worker state */
    int attempts;          /* retries so far */
    long long ready_ms;    /* monotonic ms when it may run */
    long long stored_ms;   /* monotonic ms when the worker first saw it stored; 0: not yet */
    long long absent_ms;   /* monotonic ms when the API first answered "not stored yet"; the
                            * give-up bound counts from here, not while the API is down */
    char *uid;             /* owned: the stored Deployment's uid once seen */
    enum mla_work_stage stage;
    char *transfer_hpa;    /* owned: the HPA being transferred (VERIFY_TRANSFER) */
    long long stage_deadline_ms;
};

/* The kind of w's workload: mla_wl_job() when w->job, else w->wl, else Deployment's row
 * (static, wlkind.h). */
const struct mla_wl_kind *mla_work_wl(const struct mla_work *w);

/* A new item (fields zero, times set to now). ns/name copied. */
struct mla_work *mla_work_create(const char *ns, const char *name);
void mla_work_free(struct mla_work *w);

struct mla_queue;

/* New queue; `cap` bounds the pending items (0: 100000). */
struct mla_queue *mla_queue_create(size_t cap);
/* Frees pending items. No thread may use the queue any more. */
void mla_queue_destroy(struct mla_queue *q);

/* Adds w (stolen). Replaces a pending item for the same key. Returns false (and frees w) when
 * the queue is full or stopped. Never blocks beyond the queue mutex. */
bool mla_queue_push(struct mla_queue *q, struct mla_work *w);

/* Waits for a ready item whose key is not in flight; NULL when the queue is stopped.
 * `max_wait_ms` < 0: wait until one is ready or stop. */
struct mla_work *mla_queue_pop(struct mla_queue *q, long max_wait_ms);

/* Gives w back to run after delay_ms; dropped when a newer item for the key arrived meanwhile. */
void mla_queue_requeue(struct mla_queue *q, struct mla_work *w, long delay_ms);
/* Finishes w (frees it) and releases its key. */
void mla_queue_done(struct mla_queue *q, struct mla_work *w);

/* Pending + in flight. */
size_t mla_queue_depth(struct mla_queue *q);
/* Waits until nothing is pending or in flight; false on timeout. */
bool mla_queue_wait_idle(struct mla_queue *q, long timeout_ms);
/* Wakes every waiter; pop returns NULL from now on. */
void mla_queue_stop(struct mla_queue *q);

/* Monotonic milliseconds (the queue's clock). */
long long mla_queue_now_ms(void);

#endif
