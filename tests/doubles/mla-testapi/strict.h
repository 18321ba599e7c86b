/* strict.h - mla-testapi's strictness as the real kube-apiserver is, where the worker depends
 * on it (strict.c): namespaces that do not exist (404) or are being deleted (403
 * NamespaceTerminating on creates), status writes that move the resourceVersion without
 * touching the generation (as the Deployment controller's do), no resourceVersion bump on a
 * write that changes nothing, and server-side apply's 500 "failed to create typed patch object".
 *
 * Controls (POST /_control, all optional):
 *   "strictNamespaces": bool   creates in a namespace not declared answer 404
 *   "namespaces": {"ns": "Active"|"Terminating"|null}   declare (null: forget) namespaces
 *   "statusWrite": {"namespace": ns, "name": deploy}   one status write to that Deployment
 *   "applyTypedError": N       the next N server-side applies answer 500 typed patch error
 * "reset": true forgets them all.
 *
 * Ownership: bodies returned are new (cJSON_Delete). Threading: every function is called with
 * main.c's store mutex held; the state here is guarded by it.
 */
#ifndef MLA_TESTAPI_STRICT_H
#define MLA_TESTAPI_STRICT_H

#include <cjson/cJSON.h>
#include <stdbool.h>

/* main.c's store, for the status write: the stored object (borrowed) or NULL. */
cJSON *ta_store_get(const char *plural, const char *ns, const char *name);
/* main.c: gives o the next resourceVersion. */
void ta_store_bump_rv(cJSON *o);

/* Applies the controls above found in `c` (a parsed /_control body); on a problem returns the
 * status code and *out a Status (new), else 0. */
long ta_strict_control(const cJSON *c, cJSON **out);

/* Refuses a request as the real server would (namespaces, injected typed error): returns the
 * status and *out a Status (new), or 0 to let it through. `apply`: a server-side apply. */
long ta_strict_refuse(const char *method, const char *plural, const char *ns, const char *name,
                      bool apply, cJSON **out);

/* Does `next` (about to replace `prev`) change nothing but metadata.resourceVersion and
 * metadata.generation? Then the real server stores nothing and keeps the resourceVersion. */
bool ta_strict_noop(const cJSON *prev, const cJSON *next);

/* Frees the state (at exit). */
void ta_strict_fini(void);

#endif
