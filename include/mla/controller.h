/* controller.h - everything ml-autoscaling does against the Kubernetes API, behind one façade that
 * `serve` starts and stops: the client (kube.h), the work queue and worker threads (queue.h,
 * worker.h), leader election (lease.h) and the reconcile loop (reconcile.h), plus the two admission
 * hooks (decide.h's struct mla_admit_hooks):
 *   review  - bounded reads in the request thread (~300 ms total, fail open; on dryRun too,
 *             so a server-side dry run previews the same warnings and denials): HPAs
 *             targeting the Deployment (warning, or denial in HPA mode `reject`) and a
 *             ScaledObject someone else wrote for it (warning: it is left alone).
 *   enqueue - hands the decision to the worker queue; never blocks, never writes to the API.
 *
 * Ownership: mla_controller_create returns a new object (mla_controller_destroy); it copies its config
 * and borrows the policy store (must outlive it; may be NULL). The hooks' ctx is borrowed from
 * the object and valid until destroy.
 * Threading: create/destroy from the owner thread (serve's main); the hooks from any request
 * thread. Threads started: worker threads (every replica), the elector and the loop (unless
 * no_loop).
 */
#ifndef MLA_CONTROLLER_H
#define MLA_CONTROLLER_H

#include <stdbool.h>

#include "mla/buf.h"
#include "mla/decide.h"
#include "mla/err.h"
#include "mla/kube.h"
#include "mla/policy.h"
#include "mla/predict_step.h"
#include "mla/reconcile.h"

struct mla_controller_config {
    /* where the API is: kubeconfig, OR kube_url (+ token file + CA file), OR in-cluster */
    const char *kubeconfig;      /* path, NULL: not used */
    const char *kube_context;    /* NULL: current-context */
    const char *kube_url;        /* "https://127.0.0.1:6443", NULL: not used */
    const char *kube_token_file; /* with kube_url; re-read when it changes */
    const char *kube_ca;         /* with kube_url: PEM file */
    bool in_cluster;             /* used when neither of the above is set (also implied) */
    /* leader election */
    const char *lease_namespace; /* NULL: $POD_NAMESPACE or "ml-autoscaling" */
    const char *lease_name;      /* NULL: "ml-autoscaling-leader" */
    const char *identity;        /* NULL: "<hostname>-<pid>" */
    long lease_duration_ms;      /* 0: 15000 */
    long renew_deadline_ms;      /* 0: 10000 */
    long retry_period_ms;        /* 0: 2000 */
    /* the loop */
    long loop_interval_ms;       /* 0: 60000 */
    bool no_loop;                /* no elector, no loop: admission + worker only */
    int loop_page_size;          /* items per LIST page of the loop; 0: 500 */
    /* streaming forecast models kept between passes (predict_models.h), with predict_env:
     * at most this many; 0: MLA_PREDICT_MODELS_DEFAULT_MAX; < 0: none (a full query per step) */
    long loop_models;
    /* client-side rate limits of the loop (token buckets, ratelimit.h): its API requests
     * (LIST pages, reads, the predictive applies) and its Prometheus queries; the admission
     * reads and the worker are not limited. 0: the defaults (20/30, 100/200); < 0: none. */
    double kube_api_qps, kube_api_burst;
    double prometheus_qps, prometheus_burst;
    /* Applies per pass that change only a ScaledObject's explanation (predict_step.h,
     * explanation_only: another rule named, new forecast figures; counts and ownership as
     * stored); the rest wait for a later pass, so a mass change of explanations (every series
     * moving at once, a hysteresis hold starting everywhere) rolls over several passes instead
     * of stretching one past the interval. Replica counts and ownership are never put off.
     * 0: a quarter of what kube_api_qps allows in one interval (300 at 20/s and 60 s);
     * < 0: no limit. */
    long loop_explanation_writes;
    /* the worker */
    const char *field_manager;   /* NULL: "ml-autoscaling" */
    int worker_threads;          /* 0: 2 */
    long stored_give_up_ms;      /* 0: 30000 */
    long transfer_verify_ms;     /* 0: 10000 */
    long review_budget_ms;       /* 0: 300 */
    long keda_check_ms;          /* KEDA API discovery period; 0: loop_interval_ms (0: 60000) */
    /* plug-ins: decide for the loop (NULL: mla_decide) */
    mla_reconcile_decide_fn decide;
    void *decide_ctx;
    /* The predictive step at the loop's MLA HOOK. With predict_env (copied; its prom URL and
     * callbacks must outlive the façade), each pass runs mla_predict_step on every managed,
     * unpaused ScaledObject with predictive-config and sends the merge patch it returns
     * (application/merge-patch+json: spec.minReplicaCount + the explanation annotations);
     * env.replicas NULL: the Deployment's spec.replicas read through this client.
     * `predict` replaces that with a custom hook (tests). Both NULL: no predictive step. */
    const struct mla_predict_env *predict_env;
    mla_reconcile_predict_fn predict;
    void *predict_ctx;
};

struct mla_controller;

enum mla_code mla_controller_create(const struct mla_controller_config *cfg,
                                 struct mla_policy_store *store, struct mla_controller **out,
                                 struct mla_err *err) MLA_MUST_CHECK;
/* Stops the loop, gives up the Lease, stops the workers (queued items are dropped: the next
 * leader's loop repairs them), frees everything. NULL is allowed. */
void mla_controller_destroy(struct mla_controller *api);

/* The admission hooks (ctx = api). */
struct mla_admit_hooks mla_controller_hooks(struct mla_controller *api);

/* For tests, the driver and /readyz: */
bool mla_controller_is_leader(const struct mla_controller *api);
/* Waits until the queue is empty and no item is in flight; false on timeout. */
bool mla_controller_wait_idle(struct mla_controller *api, long timeout_ms);
/* Runs one reconcile pass now in the calling thread (leader or not). */
enum mla_code mla_controller_reconcile(struct mla_controller *api, struct mla_reconcile_stats *stats,
                                    struct mla_err *err) MLA_MUST_CHECK;
/* The client (borrowed, valid until destroy). */
struct mla_kube *mla_controller_kube(struct mla_controller *api);
/* "present", "missing" or "unknown" (keda.h; NULL api: "unknown"). Any thread. */
const char *mla_controller_keda(const struct mla_controller *api);
/* /readyz detail (http.h's readyz_detail; ctx = api, NULL in admission-only mode): appends
 * ,"leader":{"enabled":bool,"isLeader":bool,"lastError":null|"..."},"keda":"..." to out.
 * Any request thread. */
enum mla_code mla_controller_readyz(void *ctx, struct mla_buf *out) MLA_MUST_CHECK;

#endif
