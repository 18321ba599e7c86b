/* gcpolicy.h - which dependents a DELETE takes with it, as kube-apiserver decides (gcpolicy.c):
 * the DeleteOptions' propagationPolicy / orphanDependents (body or query), else the resource's
 * default, which for batch/v1 Jobs is to orphan (Kubernetes keeps it for compatibility:
 * pkg/registry/batch/job/strategy.go, DefaultGarbageCollectionPolicy) and for everything else
 * here to cascade in the background.
 *
 * Ownership: strings are borrowed; a Status returned through *out is new (cJSON_Delete).
 * Threading: called with main.c's store mutex held; no state of its own.
 */
#ifndef MLA_TESTAPI_GCPOLICY_H
#define MLA_TESTAPI_GCPOLICY_H

#include <cjson/cJSON.h>
#include <stdbool.h>

/* Decides a DELETE of a `plural` object of `api_version`: `query_policy` is the
 * ?propagationPolicy= value (NULL: none), `body` the request body ("" or a DeleteOptions; when
 * there is one, the query is not read, as kube-apiserver does).
 * Returns 0 and sets *orphan (true: the dependents lose their ownerReference to the deleted
 * object and stay; false: they are garbage-collected), or 400/422 with *out a Status (new) as
 * the real server answers an unreadable body or an unsupported or contradictory option. */
long ta_gc_delete_policy(const char *plural, const char *api_version, const char *query_policy,
                         const char *body, bool *orphan, cJSON **out);

#endif
