/* keda.h - is KEDA's ScaledObject API installed in this cluster? Discovery of keda.sh/v1alpha1
 * (GET /apis/keda.sh/v1alpha1, an APIResourceList that must list `scaledobjects`), at start,
 * then every interval (at most a minute) in every replica, and by the leader's loop at the start
 * of each pass.
 *
 * What depends on the answer (PRODUCT.md point 11):
 *   - admission reads the cached state only (no API call per request) to warn on opted-in
 *     Deployments while KEDA is missing;
 *   - work items for ScaledObject writes are parked here while KEDA is missing instead of
 *     failing against a 404, and pushed onto the worker queue when it appears (nothing is lost);
 *   - each affected Deployment gets one Warning Event `KEDAMissing` per change of state;
 *   - one log line on each change of state (never a line per pass).
 * States: unknown until the first discovery answered (or when it never could: wrong token, API
 * down), then missing or present; a failed discovery keeps the last answer.
 *
 * Ownership: new from mla_keda_create (mla_keda_destroy stops its thread, frees parked items);
 * borrows the client and the queue, which must outlive it; copies its config.
 * Threading: one checker thread; mla_keda_state is any-thread (atomic); mla_keda_park is
 * any-thread and never blocks beyond a short mutex (the admission request thread calls it);
 * mla_keda_gate is any-thread (the loop thread) and makes API calls.
 */
#ifndef MLA_KEDA_H
#define MLA_KEDA_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "mla/err.h"
#include "mla/kube.h"
#include "mla/queue.h"

enum mla_keda_state { MLA_KEDA_UNKNOWN = 0, MLA_KEDA_MISSING, MLA_KEDA_PRESENT };

/* "unknown", "missing", "present" (the /readyz values). */
const char *mla_keda_state_name(enum mla_keda_state s);

/* Pure: does the discovery document (an APIResourceList) list the scaledobjects resource? */
bool mla_keda_lists_scaledobjects(const cJSON *resource_list);

/* The admission warning for a workload of kind `wl` (NULL: Deployment) into buf (n bytes):
 * "KEDA's ScaledObject API is not installed in this cluster; nothing will scale this
 * StatefulSet until it is" (ScaledJob API and Job for a Job template). The Event adds what
 * happens once KEDA is installed. */
void mla_keda_missing_text(const struct mla_wl_kind *wl, char *buf, size_t n);

struct mla_keda_config {
    long interval_ms;       /* between discoveries; 0 or more than 60000: 60000 (10000 while
                             * unknown) */
    const char *identity;   /* Events' reportingInstance (copied); NULL: "ml-autoscaling" */
    size_t park_cap;        /* most items held while missing; 0: 4096 (more: the loop repairs) */
    /* Called from the thread that saw the state change (checker or loop), after parked items
     * were released. May be NULL. */
    void (*on_change)(void *ctx, enum mla_keda_state now);
    void *ctx;              /* borrowed */
};

struct mla_keda;

/* Discovers once (at most 2 s; unknown when the API did not answer: the thread asks again in
 * 10 s), then starts the checker thread. */
enum mla_code mla_keda_create(const struct mla_keda_config *cfg, struct mla_kube *kc,
                              struct mla_queue *q, struct mla_keda **out,
                              struct mla_err *err) MLA_MUST_CHECK;
/* Stops and joins the checker thread (idempotent; owner thread). mla_keda_gate and park still
 * work afterwards: stop it before destroying what on_change touches, destroy it after the
 * last gate call. */
void mla_keda_stop(struct mla_keda *k);
/* Stops the thread if still running; parked items are dropped (the next leader's loop repairs
 * them). NULL is allowed. */
void mla_keda_destroy(struct mla_keda *k);

/* The cached state (no API call). NULL k: unknown. */
enum mla_keda_state mla_keda_state(const struct mla_keda *k);

/* Holds w (stolen) while the cached state is missing and returns true; a newer item for the
 * same Deployment replaces a parked one. Returns false (w untouched, still the caller's) when
 * KEDA is not known to be missing. */
bool mla_keda_park(struct mla_keda *k, struct mla_work *w);

/* For the leader's loop, at the start of a pass: discovers now; while missing, records the
 * KEDAMissing Event on every managed Deployment that has not had it in this state, and returns
 * false (the pass has nothing to write). True otherwise (present, or unknown: the pass runs
 * and reports its own errors). */
bool mla_keda_gate(void *k);

#endif
