/* ssa.h - server-side apply and managedFields for mla-testapi, as strict as kube-apiserver where
 * ml-autoscaling depends on it (ssa.c), plus list pagination (limit/continue).
 *
 * Field sets are kept per object in a cJSON object {manager: {"operation": "Apply"|"Update",
 * "time": "...", "set": <fieldsV1 tree>}}, the tree in Kubernetes' FieldsV1 shape: "f:<key>"
 * members, "k:{\"uid\":\"...\"}" for an ownerReference, an empty object {} for a leaf the
 * manager owns. Lists other than metadata.ownerReferences are atomic (one leaf), as in KEDA's
 * CRD and most built-in types ml-autoscaling writes.
 *
 * Ownership: every function borrows its arguments; *out results are new (cJSON_Delete).
 * Threading: none of its own; the caller holds the server's mutex.
 */
#ifndef MLA_TESTAPI_SSA_H
#define MLA_TESTAPI_SSA_H

#include <cjson/cJSON.h>
#include <stdbool.h>

/* Applies `cfg` for `mgr` to `obj` (modified in place) and `managers`:
 *   - a field another manager owns with a different value is a conflict: without `force` the
 *     answer is 409 (Status in *out, obj and managers untouched); with it, the field changes
 *     hands;
 *   - a field `mgr` applied before and no longer applies is removed from the object unless
 *     another manager still owns it (shared ownership keeps it);
 *   - objects merge, ownerReferences merge by uid, other lists and scalars replace.
 * `api_version` names the group/version in conflict messages. Returns 0 on success. */
long ta_ssa_apply(cJSON *obj, cJSON *managers, const char *mgr, const char *api_version,
                  const cJSON *cfg, bool force, cJSON **out);

/* Records a non-apply write (POST, PUT, merge patch) by `mgr`: the fields that changed from
 * `old` (NULL on create) to `now` pass to `mgr` (operation Update), removed fields leave every
 * set. */
void ta_ssa_update(const cJSON *old, const cJSON *now, cJSON *managers, const char *mgr);

/* Writes metadata.managedFields of `obj` from `managers` (what every answer shows). */
void ta_ssa_render(cJSON *obj, const cJSON *managers, const char *api_version);

/* The manager of a non-apply write: ?fieldManager, else the User-Agent's product token, as
 * kube-apiserver does ("curl/8.1" -> "curl"). Writes into buf. */
const char *ta_ssa_manager(const char *field_manager, const char *user_agent, char *buf,
                           size_t n);

/* Pagination of a list answer `list` (modified: items cut, metadata.continue and
 * remainingItemCount set): items sorted by namespace/name as etcd returns them, `limit` <= 0
 * means all, `cont` the token of the previous page. Returns 0, or 400/410 with *out a Status
 * for a malformed or stale token. */
long ta_page(cJSON *list, long limit, const char *cont, cJSON **out);

#endif
