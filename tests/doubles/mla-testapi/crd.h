/* crd.h - where mla-testapi is as strict as kube-apiserver about custom resources: CRD schema
 * validation (crd.c) and JSON Patch (jsonpatch.c). What the worker depends on (namespaces,
 * status writes, no-op writes, injected typed-patch errors) is strict.h.
 *
 * Ownership: functions returning cJSON * return a new Kubernetes Status (caller deletes it) or
 * NULL when all is well; objects passed in are borrowed and, where said, modified in place.
 * Threading: ta_crd_load runs before the server starts; the rest is called with the store's
 * mutex held (the loaded schemas are immutable after load).
 */
#ifndef MLA_TESTAPI_CRD_H
#define MLA_TESTAPI_CRD_H

#include <stdbool.h>

#include <cjson/cJSON.h>

/* Loads a CustomResourceDefinition (YAML or JSON file): its served versions' openAPIV3Schema
 * become the schema of group/version plural. Returns 0, or 1 with a message on stderr. */
int ta_crd_load(const char *file);
/* The default CRDs next to the binary's build directory (tests/keda/keda.sh_scaledobjects.yaml
 * and keda.sh_scaledjobs.yaml under the repository holding build/mla-testapi); 0 when loaded or
 * absent. */
int ta_crd_load_default(void);
void ta_crd_free(void);
/* True when a CRD defines `prefix` ("/apis/keda.sh/v1alpha1") + plural: a custom resource. */
bool ta_crd_known(const char *prefix, const char *plural);

/* Validates a whole object about to be stored, as kube-apiserver does for custom resources:
 * nulls and unknown fields are pruned (in place), then types, required fields and enums are
 * checked. NULL, or a new 422 Invalid Status naming every bad field. */
cJSON *ta_crd_validate(const char *prefix, const char *plural, const char *name, cJSON *obj);

/* Every object's metadata as kube-apiserver checks it (meta.c): annotation values are strings,
 * 256 KiB of annotations at most. NULL, or a new 422 Invalid Status. ta_crd_validate calls it
 * first, for every resource. */
cJSON *ta_meta_validate(const char *name, const cJSON *obj);

/* Checks a server-side apply configuration against the schema's types, as kube-apiserver does
 * when it builds the typed patch object: NULL, or a new 500 Status "failed to create typed
 * patch object (...)" (kube-apiserver answers 500 here, not 422). */
cJSON *ta_crd_apply_check(const char *prefix, const char *plural, const cJSON *cfg);

/* Applies an RFC 6902 JSON Patch (`ops`, an array) to `target` in place. NULL on success, or a
 * new Status (400 for a malformed patch, 422 when an operation cannot be applied); `target`
 * may then be partly patched (the caller patches a copy). */
cJSON *ta_jsonpatch_apply(cJSON *target, const cJSON *ops);

/* PATCH content types as kube-apiserver takes them: merge patch, JSON Patch and apply
 * everywhere, strategic merge patch only on built-in types (custom resources have no patch
 * strategy). NULL when accepted, else a new 415 Status listing what is. */
cJSON *ta_patch_type_check(const char *prefix, const char *plural, const char *ctype);

/* A new Status, as kube-apiserver writes them. */
cJSON *ta_strict_status(long code, const char *reason, const char *msg);

#endif
