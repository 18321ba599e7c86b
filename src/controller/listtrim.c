/* controller/listtrim.c - what the leader's pass keeps of each listed object: the pass holds
 * every Deployment, ScaledObject and HPA of the cluster at once (10,000 of each at scale), and
 * most of an object as listed is never read by the planner, the decision or the predictive
 * step. See reconcile-int.h for what is dropped and why it is safe. */
#include <string.h>

#include "mla/predict_step.h"
#include "reconcile-int.h"

/* The loop's own managedFields entry reduced to what is read of it (kube/managed.c through
 * predict_step.h and reconcile_plan.c): its manager; whether its fieldsV1 owns anything at all
 * (mla_kube_manager_present); whether it owns spec.minReplicaCount / spec.maxReplicaCount
 * (mla_kube_field_owned). After the loop's first write every ScaledObject carries this entry,
 * whose field set (five annotations, two counts, times, versions) parses to about twenty
 * cJSON nodes: 2 KB a ScaledObject, 20 MB at 10,000. */
static void lt_reduce_loop_entry(cJSON *e)
{
    cJSON *m = e->child;
    while (m) {
        cJSON *next = m->next;
        if (!m->string || (strcmp(m->string, "manager") && strcmp(m->string, "fieldsV1")))
            cJSON_Delete(cJSON_DetachItemViaPointer(e, m));
        m = next;
    }
    cJSON *f = cJSON_GetObjectItemCaseSensitive(e, "fieldsV1");
    if (!cJSON_IsObject(f))
        return;
    /* every top-level member stays (so that "owns anything" answers the same), emptied, but
     * for f:spec's two counts, which keep their (empty) sets */
    for (cJSON *top = f->child; top; top = top->next) {
        bool spec = top->string && !strcmp(top->string, "f:spec");
        cJSON *c = top->child;
        while (c) {
            cJSON *next = c->next;
            bool count = spec && c->string && (!strcmp(c->string, "f:minReplicaCount") ||
                                               !strcmp(c->string, "f:maxReplicaCount"));
            if (count) {
                while (c->child)
                    cJSON_Delete(cJSON_DetachItemViaPointer(c, c->child));
            } else {
                cJSON_Delete(cJSON_DetachItemViaPointer(top, c));
            }
            c = next;
        }
    }
}

void mla__reconcile_trim(cJSON *item)
{
    /* Nothing in the pass reads an item's status (the namespaces' phase is read by their
     * list's filter, before the trim; the decision and the skim ignore it too). */
    cJSON_DeleteItemFromObjectCaseSensitive(item, "status");
    cJSON *md = cJSON_GetObjectItemCaseSensitive(item, "metadata");
    /* The server's bookkeeping: the pass reads uids (owners, Events) but never these; the
     * worker re-reads an object before it writes, and compares what it GETs. */
    static const char *const server[] = {"creationTimestamp", "generation", "resourceVersion"};
    for (size_t i = 0; i < sizeof server / sizeof server[0]; i++)
        cJSON_DeleteItemFromObjectCaseSensitive(md, server[i]);
    cJSON *mf = cJSON_GetObjectItemCaseSensitive(md, "managedFields");
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
        else
            lt_reduce_loop_entry(e);
        e = next;
    }
    if (!mf->child)
        cJSON_DeleteItemFromObjectCaseSensitive(md, "managedFields");
}
