/* gcpolicy.c - the propagation policy of a DELETE (gcpolicy.h): DeleteOptions from the body or
 * the query, and each resource's default when the client sends none. */
#include "gcpolicy.h"

#include <stdio.h>
#include <string.h>

static cJSON *gp_invalid(const char *msg)
{
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "kind", "Status");
    cJSON_AddStringToObject(s, "apiVersion", "v1");
    cJSON_AddStringToObject(s, "status", "Failure");
    cJSON_AddStringToObject(s, "message", msg);
    cJSON_AddStringToObject(s, "reason", "Invalid");
    cJSON_AddNumberToObject(s, "code", 422);
    return s;
}

long ta_gc_delete_policy(const char *plural, const char *api_version, const char *query_policy,
                         const char *body, bool *orphan, cJSON **out)
{
    /* as kube-apiserver's delete handler: a body is the DeleteOptions, the query only counts
     * when there is no body */
    const char *policy = query_policy && *query_policy ? query_policy : NULL;
    const cJSON *orphan_deps = NULL;
    cJSON *opts = NULL;
    if (body && *body) {
        policy = NULL;
        opts = cJSON_Parse(body);
        if (!cJSON_IsObject(opts)) {
            cJSON_Delete(opts);
            cJSON *s = gp_invalid("the body of the request was in an unknown format");
            cJSON_ReplaceItemInObjectCaseSensitive(s, "reason", cJSON_CreateString("BadRequest"));
            cJSON_ReplaceItemInObjectCaseSensitive(s, "code", cJSON_CreateNumber(400));
            *out = s;
            return 400;
        }
        const char *bp = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(opts,
                                                                            "propagationPolicy"));
        policy = bp && *bp ? bp : NULL;
        orphan_deps = cJSON_GetObjectItemCaseSensitive(opts, "orphanDependents");
        if (cJSON_IsNull(orphan_deps))
            orphan_deps = NULL;
    }
    long code = 0;
    char msg[256];
    if (policy && orphan_deps) {
        snprintf(msg, sizeof msg, "DeleteOptions.meta.k8s.io \"\" is invalid: orphanDependents: "
                                  "Invalid value: %s: orphanDependents and deletionPropagation "
                                  "cannot be both set",
                 cJSON_IsTrue(orphan_deps) ? "true" : "false");
        code = 422;
    } else if (policy && strcmp(policy, "Orphan") && strcmp(policy, "Background") &&
               strcmp(policy, "Foreground")) {
        snprintf(msg, sizeof msg, "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: "
                                  "Unsupported value: \"%.64s\": supported values: "
                                  "\"Foreground\", \"Background\", \"Orphan\"", policy);
        code = 422;
    } else if (policy) {
        *orphan = !strcmp(policy, "Orphan");
    } else if (orphan_deps) {
        *orphan = cJSON_IsTrue(orphan_deps);
    } else {
        *orphan = !strcmp(plural, "jobs") && !strcmp(api_version, "batch/v1");
    }
    cJSON_Delete(opts); /* policy may point into opts: last use above */
    if (code)
        *out = gp_invalid(msg);
    return code;
}
