/* strict.c - the parts of mla-testapi that are as strict as kube-apiserver for the worker:
 * namespaces, status writes, no-op writes, the typed-patch 500 (see strict.h). */
#include "strict.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mla/mem.h"

#include "crd.h"

static struct {
    bool strict_ns;          /* guarded by main.c's mutex, as everything here */
    cJSON *namespaces;       /* {"ns": "Active"|"Terminating"} */
    long typed_errors;       /* applies left to refuse with the typed patch error */
} st;

/* One status write as the Deployment controller makes it: status changes, the
 * resourceVersion moves, generation and metadata stay. */
static long st_status_write(const cJSON *sw, cJSON **out)
{
    const char *ns = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(sw, "namespace"));
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(sw, "name"));
    cJSON *o = ns && name ? ta_store_get("deployments", ns, name) : NULL;
    if (!o) {
        *out = ta_strict_status(404, "NotFound", "statusWrite: no such Deployment");
        return 404;
    }
    cJSON *gen = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "metadata"),
                                                  "generation");
    cJSON *status = cJSON_GetObjectItemCaseSensitive(o, "status");
    if (!cJSON_IsObject(status)) {
        cJSON_DeleteItemFromObjectCaseSensitive(o, "status");
        status = cJSON_AddObjectToObject(o, "status");
    }
    cJSON *n = cJSON_GetObjectItemCaseSensitive(status, "updatedReplicas");
    double next = cJSON_IsNumber(n) ? n->valuedouble + 1 : 1;
    cJSON_DeleteItemFromObjectCaseSensitive(status, "updatedReplicas");
    cJSON_AddNumberToObject(status, "updatedReplicas", next);
    cJSON_DeleteItemFromObjectCaseSensitive(status, "observedGeneration");
    cJSON_AddNumberToObject(status, "observedGeneration", cJSON_IsNumber(gen) ? gen->valuedouble : 1);
    ta_store_bump_rv(o);
    return 0;
}

static void st_namespaces(const cJSON *nss)
{
    if (!st.namespaces)
        st.namespaces = cJSON_CreateObject();
    const cJSON *v;
    cJSON_ArrayForEach(v, nss)
    {
        cJSON_DeleteItemFromObjectCaseSensitive(st.namespaces, v->string);
        if (cJSON_IsString(v))
            cJSON_AddStringToObject(st.namespaces, v->string, v->valuestring);
    }
}

long ta_strict_control(const cJSON *c, cJSON **out)
{
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "reset"))) {
        st.strict_ns = false;
        cJSON_Delete(st.namespaces);
        st.namespaces = NULL;
        st.typed_errors = 0;
    }
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, "strictNamespaces");
    if (cJSON_IsBool(v))
        st.strict_ns = cJSON_IsTrue(v);
    v = cJSON_GetObjectItemCaseSensitive(c, "namespaces");
    if (cJSON_IsObject(v))
        st_namespaces(v);
    v = cJSON_GetObjectItemCaseSensitive(c, "applyTypedError");
    if (cJSON_IsNumber(v))
        st.typed_errors = (long)v->valuedouble;
    v = cJSON_GetObjectItemCaseSensitive(c, "statusWrite");
    if (cJSON_IsObject(v))
        return st_status_write(v, out);
    return 0;
}

/* 403 as kube-apiserver's NamespaceLifecycle admission answers a create in a namespace being
 * deleted. */
static cJSON *st_terminating(const char *plural, const char *ns, const char *name)
{
    char msg[900];
    snprintf(msg, sizeof msg, "%s \"%s\" is forbidden: unable to create new content in "
             "namespace %s because it is being terminated", plural, name, ns);
    cJSON *s = ta_strict_status(403, "Forbidden", msg);
    cJSON *d = cJSON_AddObjectToObject(s, "details");
    cJSON_AddStringToObject(d, "name", name);
    cJSON_AddStringToObject(d, "kind", plural);
    cJSON *cause = cJSON_CreateObject();
    cJSON_AddStringToObject(cause, "reason", "NamespaceTerminating");
    snprintf(msg, sizeof msg, "namespace %s is being terminated", ns);
    cJSON_AddStringToObject(cause, "message", msg);
    cJSON_AddStringToObject(cause, "field", "metadata.namespace");
    cJSON_AddItemToArray(cJSON_AddArrayToObject(d, "causes"), cause);
    return s;
}

long ta_strict_refuse(const char *method, const char *plural, const char *ns, const char *name,
                      bool apply, cJSON **out)
{
    if (apply && st.typed_errors > 0 && !strcmp(plural, "scaledobjects")) {
        st.typed_errors--;
        *out = ta_strict_status(500, NULL, "failed to create typed patch object (keda.sh/v1alpha1, "
                         "Kind=ScaledObject): .spec.minReplicaCount: expected numeric (int or "
                         "float), got string");
        return 500;
    }
    bool create = !strcmp(method, "POST") ||
                  (apply && !ta_store_get(plural, ns, name ? name : ""));
    if (!create || !ns || !*ns)
        return 0;
    const char *phase = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(st.namespaces, ns));
    if (phase && !strcmp(phase, "Terminating")) {
        *out = st_terminating(plural, ns, name && *name ? name : "");
        return 403;
    }
    if (st.strict_ns && !phase) {
        char msg[400];
        snprintf(msg, sizeof msg, "namespaces \"%s\" not found", ns);
        *out = ta_strict_status(404, "NotFound", msg);
        cJSON *d = cJSON_AddObjectToObject(*out, "details");
        cJSON_AddStringToObject(d, "name", ns);
        cJSON_AddStringToObject(d, "kind", "namespaces");
        return 404;
    }
    return 0;
}

bool ta_strict_noop(const cJSON *prev, const cJSON *next)
{
    cJSON *a = cJSON_Duplicate(prev, 1), *b = cJSON_Duplicate(next, 1);
    static const char *const skip[] = {"resourceVersion", "generation"};
    for (size_t i = 0; i < 2; i++) {
        cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(a, "metadata"),
                                                skip[i]);
        cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(b, "metadata"),
                                                skip[i]);
    }
    bool same = cJSON_Compare(a, b, 1);
    cJSON_Delete(a);
    cJSON_Delete(b);
    return same;
}

void ta_strict_fini(void)
{
    cJSON_Delete(st.namespaces);
    st.namespaces = NULL;
}
