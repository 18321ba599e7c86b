/* controller/reconcile-int.h - between the reconcile planner (reconcile_plan.c) and its part
 * for Job templates and their ScaledJobs (reconcile_jobs.c). Nothing outside src/controller/
 * calls these.
 *
 * Ownership: inputs borrowed; actions are added to `plan` (which owns them).
 * Threading: pure, any thread.
 */
#ifndef MLA_CONTROLLER_RECONCILE_INT_H
#define MLA_CONTROLLER_RECONCILE_INT_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "mla/reconcile.h"

/* The object of `items` with that namespace and name (borrowed), or NULL. */
const cJSON *mla__reconcile_find(const cJSON *items, const char *ns, const char *name);
/* Is `s` one of the strings of the array `strings`? */
bool mla__reconcile_has_str(const cJSON *strings, const char *s);

/* Drops in place what no step of a pass reads from a listed object, so that a pass over
 * 10,000 objects holds only what it uses: `status`, metadata.creationTimestamp, generation and
 * resourceVersion, every metadata.managedFields entry but the predictive loop's
 * (MLA_PREDICT_FIELD_MANAGER), and of that one all but its manager and the shape of its field
 * set that is read (does it own anything; spec.minReplicaCount, spec.maxReplicaCount). A pass
 * plans the same on trimmed objects as on whole ones, and the predictive step decides the same
 * (test_reconcile_trim). item: borrowed, modified. */
void mla__reconcile_trim(cJSON *item);

/* Member names stored once for many packed objects (a pass's lists repeat the same few
 * hundred). New: free with mla__pack_keys_destroy, after every object packed with it. */
struct mla__pack_keys;
struct mla__pack_keys *mla__pack_keys_create(void);
void mla__pack_keys_destroy(struct mla__pack_keys *keys);

/* A copy of `item` in one allocation (nodes and strings packed together, no allocator
 * overhead per node; member names shared through `keys` unless it is NULL: about 60% of the
 * memory of a parsed tree), to be read only: it must never be given to cJSON_Delete or have a
 * member added, deleted or replaced; linking it into a list (cJSON_AddItemToArray,
 * cJSON_DetachItem*) is fine. New: free with mla__pack_free; keys (borrowed, may be NULL) must
 * outlive it. */
cJSON *mla__pack(const cJSON *item, struct mla__pack_keys *keys);
void mla__pack_free(cJSON *packed);
/* Frees a list (a cJSON array; NULL allowed) whose every item came from mla__pack or
 * mla__pack_summary. */
void mla__pack_list_delete(cJSON *list);

/* A listed workload (Deployment, StatefulSet) as the pass holds it until it is planned: packed
 * (as mla__pack), with only what the pass reads of it besides its decision (its "kind",
 * metadata.name, namespace, uid and deletionTimestamp, spec.replicas), plus the whole object as
 * compact JSON text, which the planner parses back for the decision, one workload at a time
 * (mla__reconcile_whole). A parsed workload weighs about four times its text: at 10,000 managed
 * Deployments this keeps 20 MB of trees off the leader's peak. New: free with mla__pack_free;
 * keys as mla__pack. */
cJSON *mla__pack_summary(const cJSON *item, struct mla__pack_keys *keys);
/* The whole object of a summary (new: cJSON_Delete), or NULL when `item` is not one (it is then
 * whole itself). */
cJSON *mla__reconcile_whole(const cJSON *item);

/* Plans the Job templates and ScaledJobs of `in` (reconcile.h, rules 4 and 5 of
 * reconcile_plan.c), appending to `plan` and counting into `st`. */
void mla__reconcile_plan_jobs(const struct mla_reconcile_input *in, cJSON *plan,
                              struct mla_reconcile_stats *st);

#endif
