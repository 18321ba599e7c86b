/* controller/worker-int.h - between the worker (worker.c) and its Job-template steps
 * (worker_job.c). Nothing outside src/controller/ calls these.
 *
 * Ownership: the env borrows from the worker (valid while it lives); items as queue.h.
 * Threading: called from worker threads, one item per thread at a time (queue.h).
 */
#ifndef MLA_CONTROLLER_WORKER_INT_H
#define MLA_CONTROLLER_WORKER_INT_H

#include <cjson/cJSON.h>

#include "mla/kube.h"
#include "mla/queue.h"

struct mla_worker;

struct mla__wk_env {
    struct mla_kube *kc;       /* borrowed */
    const char *field_manager; /* borrowed */
    const char *identity;      /* borrowed: Events' reportingInstance */
    long budget_ms;            /* per API request, retries included */
};

struct mla__wk_env mla__worker_env(const struct mla_worker *wk);

/* The message of AdoptedAfterBypass (w->adopt, queue.h), recorded once the write created the
 * object: the object's kind and name, then the workload's kind. */
#define MLA__WK_ADOPTED_FMT                                                                     \
    "stored without ml-autoscaling's admission (the webhook did not answer; failurePolicy "     \
    "Ignore): the loop applied %s %s; the label " MLA_LABEL_MANAGED " and the policy "          \
    "annotations come with the %s's next update"

/* The name of the object the item writes (ScaledObject or ScaledJob): the admitted name, else
 * the built object's, else the workload's. Borrowed from w. */
const char *mla__worker_so_name(const struct mla_work *w);

/* The template Job is stored as admitted: the item's ScaledJob (w->so) takes its jobTargetRef
 * from the stored Job (`job`, borrowed), not from the admitted one: the worker acts on what is
 * stored (PRODUCT.md 5). */
void mla__worker_job_stored(struct mla_work *w, const cJSON *job);

/* One step of a Job item (w->job) once its Job is stored: apply the ScaledJob owned by the Job,
 * or delete ours on opt-out, with an Event on the Job for each. Returns what worker.c's steps
 * return: 0 done, 1 retry after an API error (with backoff), 2 wait. */
int mla__worker_job_step(const struct mla__wk_env *env, struct mla_work *w);

#endif
