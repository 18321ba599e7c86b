/* meta.c - where mla-testapi is as strict as kube-apiserver about every object's metadata:
 * annotation values are strings, and all annotations together (keys and values) hold at most
 * 256 KiB (apimachinery's TotalAnnotationSizeLimitB, 262144 bytes). The loop writes a weekly
 * profile into an annotation of every ScaledObject it manages; a server that took anything
 * would hide an apply Kubernetes refuses. */
#include <stdio.h>
#include <string.h>

#include "crd.h"
#include "strict.h"

#define META_ANNOTATIONS_MAX 262144

cJSON *ta_meta_validate(const char *name, const cJSON *obj)
{
    const cJSON *anns = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "annotations");
    if (!anns || cJSON_IsNull(anns))
        return NULL;
    char msg[512];
    if (!cJSON_IsObject(anns)) {
        snprintf(msg, sizeof msg, "\"%s\" is invalid: metadata.annotations: Invalid value: "
                 "not a map of strings", name ? name : "");
        return ta_strict_status(422, "Invalid", msg);
    }
    size_t total = 0;
    const cJSON *a;
    cJSON_ArrayForEach(a, anns)
    {
        if (!cJSON_IsString(a)) {
            snprintf(msg, sizeof msg, "\"%s\" is invalid: metadata.annotations[%.200s]: Invalid "
                     "value: annotation values must be strings", name ? name : "", a->string);
            return ta_strict_status(422, "Invalid", msg);
        }
        total += strlen(a->string) + strlen(a->valuestring);
    }
    if (total > META_ANNOTATIONS_MAX) {
        snprintf(msg, sizeof msg, "\"%s\" is invalid: metadata.annotations: Too long: must have "
                 "at most %d bytes", name ? name : "", META_ANNOTATIONS_MAX);
        return ta_strict_status(422, "Invalid", msg);
    }
    return NULL;
}
