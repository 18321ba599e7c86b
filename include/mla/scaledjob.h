/* scaledjob.h - the KEDA ScaledJob built for a Job template (PRODUCT.md 12).
 *
 * A batch/v1 Job created suspended with the opt-in is a template: KEDA's ScaledJob runs one copy
 * of its spec per unit of queued work. mla_sj_build() turns a resolution (resolve.h) of that Job
 * into a complete keda.sh/v1alpha1 ScaledJob whose jobTargetRef is the Job's spec as a template
 * may carry it (mla_sj_job_target). No ownerReferences: the worker adds one to the stored Job's
 * UID, so deleting the template deletes the ScaledJob through garbage collection.
 *
 * Ownership: built cJSON is new (cJSON_Delete); inputs are borrowed.
 * Threading: pure.
 */
#ifndef MLA_SCALEDJOB_H
#define MLA_SCALEDJOB_H

#include <cjson/cJSON.h>

#include "mla/err.h"
#include "mla/resolve.h"

/* The label on a ScaledJob naming its template Job (like ml-autoscaling.io/deployment). */
#define MLA_LABEL_JOB "ml-autoscaling.io/job"

/* The Job's spec as a ScaledJob's jobTargetRef (new; an empty object when the Job has no
 * spec): without `suspend` (KEDA would create Jobs that never start), and without what
 * kube-apiserver writes into a stored Job for that one Job: `selector` and `manualSelector`
 * (every Job KEDA creates gets its own generated selector; a copied one would make them all
 * select each other's pods) and the pod template's `controller-uid`, `job-name` labels (both
 * the batch.kubernetes.io/ and the legacy names) and `creationTimestamp`. */
cJSON *mla_sj_job_target(const cJSON *job);

/* Builds the ScaledJob (new, *out) for the Job `job` resolved as `r`: name r->so_name, the
 * Job's labels minus GitOps tracking labels, the profile's enabled triggers, pollingInterval,
 * min/maxReplicaCount, and the policy's scaledJob settings (history limits, scalingStrategy).
 * MLA_EDENIED when a trigger cannot drive a ScaledJob (cpu/memory: KEDA serves those through
 * an HPA, which a ScaledJob does not have) or a template value cannot be placed safely. */
enum mla_code mla_sj_build(const struct mla_resolved *r, const cJSON *job, cJSON **out,
                           struct mla_err *err) MLA_MUST_CHECK;

#endif
