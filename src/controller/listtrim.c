/* controller/listtrim.c - what the leader's pass keeps of each listed object: the pass holds
 * every Deployment, ScaledObject and HPA of the cluster at once (10,000 of each at scale), and
 * most of an object as listed is never read by the planner, the decision or the predictive
 * step. See reconcile-int.h for what is dropped and why it is safe. */
#include <string.h>

#include "mla/predict_step.h"
#include "reconcile-int.h"

void mla__reconcile_trim(cJSON *item)
{
    /* Nothing in the pass reads an item's status (the namespaces' phase is read by their
     * list's filter, before the trim; the decision and the skim ignore it too). */
    cJSON_DeleteItemFromObjectCaseSensitive(item, "status");
    cJSON *mf = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(item, "metadata"), "managedFields");
    if (!cJSON_IsArray(mf))
        return;
    /* managedFields: only the predictive loop's own entry is read (which of minReplicaCount /
     * maxReplicaCount it owns, whether it owns anything: predict_step.h, reconcile_plan.c);
     * the other managers' entries (kubectl, the worker, the controllers) go. */
    cJSON *e = mf->child;
    while (e) {
        cJSON *next = e->next;
        const char *m = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "manager"));
        if (!m || strcmp(m, MLA_PREDICT_FIELD_MANAGER))
            cJSON_Delete(cJSON_DetachItemViaPointer(mf, e));
        e = next;
    }
    if (!mf->child)
        cJSON_DeleteItemFromObjectCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(item, "metadata"), "managedFields");
}
