/* jobs.h - what mla-testapi does to a batch/v1 Job on create, as kube-apiserver does: the
 * fields it sets for that one Job (jobs.c).
 *
 * Ownership: the Job is borrowed and modified in place.
 * Threading: called with the store's mutex held.
 */
#ifndef MLA_TESTAPI_JOBS_H
#define MLA_TESTAPI_JOBS_H

#include <cjson/cJSON.h>

/* Sets what kube-apiserver (1.27+) sets on a created Job with uid `uid`: spec.selector on
 * batch.kubernetes.io/controller-uid (unless manualSelector), the pod template's
 * controller-uid and job-name labels (both generations) and the defaults parallelism,
 * completions, backoffLimit, completionMode, suspend false. */
void ta_job_created(cJSON *job, const char *uid);

#endif
