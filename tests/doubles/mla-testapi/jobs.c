/* jobs.c - the fields kube-apiserver sets on a created batch/v1 Job (jobs.h), so that tests see
 * the Job a ScaledJob template is really copied from. */
#include "jobs.h"

#include <stdbool.h>

static cJSON *jb_obj(cJSON *parent, const char *k)
{
    cJSON *o = cJSON_GetObjectItemCaseSensitive(parent, k);
    if (!cJSON_IsObject(o)) {
        cJSON_DeleteItemFromObjectCaseSensitive(parent, k);
        o = cJSON_AddObjectToObject(parent, k);
    }
    return o;
}

static void jb_default_num(cJSON *o, const char *k, double v)
{
    if (!cJSON_GetObjectItemCaseSensitive(o, k))
        cJSON_AddNumberToObject(o, k, v);
}

static void jb_set_str(cJSON *o, const char *k, const char *v)
{
    cJSON_DeleteItemFromObjectCaseSensitive(o, k);
    cJSON_AddStringToObject(o, k, v);
}

void ta_job_created(cJSON *job, const char *uid)
{
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(job, "metadata"), "name"));
    cJSON *spec = jb_obj(job, "spec");
    jb_default_num(spec, "parallelism", 1);
    jb_default_num(spec, "completions", 1);
    jb_default_num(spec, "backoffLimit", 6);
    if (!cJSON_GetObjectItemCaseSensitive(spec, "completionMode"))
        cJSON_AddStringToObject(spec, "completionMode", "NonIndexed");
    if (!cJSON_GetObjectItemCaseSensitive(spec, "suspend"))
        cJSON_AddFalseToObject(spec, "suspend");
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(spec, "manualSelector")))
        return;
    cJSON_AddFalseToObject(spec, "manualSelector");
    cJSON *ml = jb_obj(jb_obj(spec, "selector"), "matchLabels");
    jb_set_str(ml, "batch.kubernetes.io/controller-uid", uid);
    cJSON *pm = jb_obj(jb_obj(spec, "template"), "metadata");
    cJSON_AddNullToObject(pm, "creationTimestamp");
    cJSON *labels = jb_obj(pm, "labels");
    jb_set_str(labels, "batch.kubernetes.io/controller-uid", uid);
    jb_set_str(labels, "controller-uid", uid);
    jb_set_str(labels, "batch.kubernetes.io/job-name", name ? name : "");
    jb_set_str(labels, "job-name", name ? name : "");
}
