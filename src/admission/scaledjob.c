/* admission/scaledjob.c - the keda.sh/v1alpha1 ScaledJob for a resolved Job template
 * (scaledjob.h).
 *
 * The triggers are the ScaledObject's (mla_so_build), so a trigger means the same thing for a
 * Deployment and a Job and its templates are expanded and escaped in one place; the rest of the
 * ScaledObject (scaleTargetRef, HPA behaviour, fallback, predictive annotation) has no meaning
 * for a ScaledJob and is dropped.
 */
#include "mla/scaledjob.h"

#include <stdio.h>
#include <string.h>

#include "mla/scaledobject.h"

static cJSON *sj_get(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

cJSON *mla_sj_job_target(const cJSON *job)
{
    const cJSON *spec = sj_get(job, "spec");
    cJSON *t = cJSON_IsObject(spec) ? cJSON_Duplicate(spec, 1) : cJSON_CreateObject();
    static const char *const spec_drop[] = {"suspend", "selector", "manualSelector"};
    for (size_t i = 0; i < sizeof spec_drop / sizeof spec_drop[0]; i++)
        cJSON_DeleteItemFromObjectCaseSensitive(t, spec_drop[i]);
    cJSON *md = sj_get(sj_get(t, "template"), "metadata");
    cJSON_DeleteItemFromObjectCaseSensitive(md, "creationTimestamp");
    cJSON *labels = sj_get(md, "labels");
    static const char *const label_drop[] = {"controller-uid", "job-name",
                                             "batch.kubernetes.io/controller-uid",
                                             "batch.kubernetes.io/job-name"};
    for (size_t i = 0; i < sizeof label_drop / sizeof label_drop[0]; i++)
        cJSON_DeleteItemFromObjectCaseSensitive(labels, label_drop[i]);
    if (cJSON_IsObject(labels) && !labels->child)
        cJSON_DeleteItemFromObjectCaseSensitive(md, "labels");
    if (cJSON_IsObject(md) && !md->child)
        cJSON_DeleteItemFromObjectCaseSensitive(sj_get(t, "template"), "metadata");
    return t;
}

static enum mla_code sj_check_triggers(const struct mla_resolved *r, struct mla_err *err)
{
    for (size_t i = 0; i < r->s->ntrig && i < MLA_MAX_TRIGGERS; i++) {
        const struct mla_trigger_tpl *t = &r->s->trig[i];
        if (r->trig_on[i] && (t->type == MLA_TRIG_CPU || t->type == MLA_TRIG_MEMORY))
            return mla_err_set(err, MLA_EDENIED,
                               "profile '%s' (policy '%s') has a %s trigger, which cannot "
                               "drive a ScaledJob (KEDA serves cpu/memory through an HPA, and a "
                               "ScaledJob has none); allowed: a profile with queue or "
                               "Prometheus triggers only, e.g. batch-jobs",
                               r->profile->name, r->policy->name, mla_trig_type_name(t->type));
    }
    return MLA_OK;
}

static const char *const sj_strategies[] = {"default", "custom", "accurate", "eager"};

static void sj_settings(const struct mla_settings *s, cJSON *spec)
{
    const struct mla_sj_settings *j = &s->sj;
    if (j->successful_history >= 0)
        cJSON_AddNumberToObject(spec, "successfulJobsHistoryLimit", j->successful_history);
    if (j->failed_history >= 0)
        cJSON_AddNumberToObject(spec, "failedJobsHistoryLimit", j->failed_history);
    cJSON *st = cJSON_AddObjectToObject(spec, "scalingStrategy");
    cJSON_AddStringToObject(st, "strategy", sj_strategies[j->strategy]);
    if (j->strategy == MLA_SJ_CUSTOM) {
        if (j->custom_deduction >= 0)
            cJSON_AddNumberToObject(st, "customScalingQueueLengthDeduction", j->custom_deduction);
        if (j->custom_running)
            cJSON_AddStringToObject(st, "customScalingRunningJobPercentage", j->custom_running);
    }
}

enum mla_code mla_sj_build(const struct mla_resolved *r, const cJSON *job, cJSON **out,
                           struct mla_err *err)
{
    enum mla_code rc = sj_check_triggers(r, err);
    if (rc != MLA_OK)
        return rc;
    cJSON *so = NULL;
    rc = mla_so_build(r, job, &so, err);
    if (rc != MLA_OK)
        return rc;
    cJSON *sj = cJSON_CreateObject();
    cJSON_AddStringToObject(sj, "apiVersion", "keda.sh/v1alpha1");
    cJSON_AddStringToObject(sj, "kind", "ScaledJob");
    /* the ScaledObject's metadata is the one we want but for the label naming the target */
    cJSON *md = cJSON_DetachItemFromObjectCaseSensitive(so, "metadata"); /* sj takes it */
    cJSON *labels = sj_get(md, "labels");
    cJSON_DeleteItemFromObjectCaseSensitive(labels, MLA_ANN_PREFIX "deployment");
    cJSON_AddStringToObject(labels, MLA_LABEL_JOB, r->dep_label);
    cJSON_DeleteItemFromObjectCaseSensitive(sj_get(md, "annotations"),
                                            MLA_ANN_PREFIX "predictive-config");
    cJSON_AddItemToObject(sj, "metadata", md);
    cJSON *spec = cJSON_AddObjectToObject(sj, "spec");
    cJSON_AddItemToObject(spec, "jobTargetRef", mla_sj_job_target(job)); /* spec takes it */
    cJSON_AddNumberToObject(spec, "pollingInterval", r->polling);
    cJSON_AddNumberToObject(spec, "minReplicaCount", r->min_replicas);
    cJSON_AddNumberToObject(spec, "maxReplicaCount", r->max_replicas);
    sj_settings(r->s, spec);
    cJSON *trig = cJSON_DetachItemFromObjectCaseSensitive(sj_get(so, "spec"), "triggers");
    /* ignoreNullValues "false" is the ScaledObject's fallback companion; a ScaledJob has no
     * fallback, so an empty result must read as 0 (no work), not as an error */
    cJSON *t;
    cJSON_ArrayForEach(t, trig)
        cJSON_DeleteItemFromObjectCaseSensitive(sj_get(t, "metadata"), "ignoreNullValues");
    cJSON_AddItemToObject(spec, "triggers", trig); /* spec takes it */
    cJSON_Delete(so);
    *out = sj;
    return MLA_OK;
}
