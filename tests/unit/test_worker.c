/* test_worker.c - the worker's pure checks: is the admitted Deployment stored yet, and which
 * HPAs and ScaledObjects are ours. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "mla/worker.h"

/* ---- stored check */

static cJSON *dep(const char *uid, const char *rv, const char *created)
{
    cJSON *d = cJSON_CreateObject();
    cJSON *m = cJSON_AddObjectToObject(d, "metadata");
    if (uid)
        cJSON_AddStringToObject(m, "uid", uid);
    if (rv)
        cJSON_AddStringToObject(m, "resourceVersion", rv);
    if (created)
        cJSON_AddStringToObject(m, "creationTimestamp", created);
    return d;
}

Test(stored, create_needs_the_object_with_a_uid_and_not_an_older_namesake)
{
    struct mla_work *w = mla_work_create("ns", "web");
    w->op = MLA_OP_CREATE;
    w->enqueued_wall = 1445412480.5;
    cr_assert_eq(mla_worker_stored_check(w, NULL, 2), MLA_STORED_NOT_YET);
    cJSON *d = dep(NULL, "5", NULL);
    cr_assert_eq(mla_worker_stored_check(w, d, 2), MLA_STORED_NOT_YET);
    cJSON_Delete(d);
    d = dep("u1", "5", "2015-10-21T07:28:00Z"); /* whole seconds: just before enqueue */
    cr_assert_eq(mla_worker_stored_check(w, d, 2), MLA_STORED_YES);
    cJSON_Delete(d);
    d = dep("u0", "3", "2015-10-21T06:00:00Z"); /* an hour older: the CREATE was refused */
    cr_assert_eq(mla_worker_stored_check(w, d, 2), MLA_STORED_OTHER);
    cJSON_Delete(d);
    mla_work_free(w);
}

/* ---- ownership */

Test(owner, hpa_conflicts_unless_keda_owns_it)
{
    cJSON *h = cJSON_Parse("{\"metadata\":{\"name\":\"h\"},\"spec\":{\"scaleTargetRef\":"
                           "{\"kind\":\"Deployment\",\"name\":\"web\"}}}");
    cr_assert(mla_worker_hpa_conflicts(h, "web"));
    cr_assert_not(mla_worker_hpa_conflicts(h, "api"));
    cJSON *k = cJSON_Parse("{\"metadata\":{\"name\":\"keda-hpa-web\",\"ownerReferences\":[{\"kind\":"
                           "\"ScaledObject\",\"name\":\"web\"}]},\"spec\":{\"scaleTargetRef\":"
                           "{\"kind\":\"Deployment\",\"name\":\"web\"}}}");
    cr_assert_not(mla_worker_hpa_conflicts(k, "web"));
    char *snap = mla_worker_hpa_snapshot(h);
    cr_assert_str_eq(snap, "{\"apiVersion\":\"autoscaling/v2\",\"kind\":\"HorizontalPodAutoscaler\","
                           "\"metadata\":{\"name\":\"h\"},\"spec\":{\"scaleTargetRef\":{\"kind\":"
                           "\"Deployment\",\"name\":\"web\"}}}");
    free(snap);
    cJSON_Delete(h);
    cJSON_Delete(k);
}

Test(owner, scaled_object_is_ours_only_with_label_and_owner)
{
    cJSON *ours = cJSON_Parse("{\"metadata\":{\"labels\":{\"ml-autoscaling.io/managed\":\"true\"},"
                              "\"ownerReferences\":[{\"kind\":\"Deployment\",\"name\":\"web\","
                              "\"uid\":\"u1\"}]},\"spec\":{\"scaleTargetRef\":{\"name\":\"web\"}}}");
    cJSON *nolabel = cJSON_Parse("{\"metadata\":{\"ownerReferences\":[{\"kind\":\"Deployment\","
                                 "\"name\":\"web\",\"uid\":\"u1\"}]}}");
    cr_assert(mla_worker_so_ours(ours, "web", "u1"));
    cr_assert(mla_worker_so_ours(ours, "web", NULL));
    cr_assert_not(mla_worker_so_ours(ours, "web", "u2"));
    cr_assert_not(mla_worker_so_ours(ours, "api", NULL));
    cr_assert_not(mla_worker_so_ours(nolabel, "web", "u1"));
    cr_assert(mla_worker_so_targets(ours, "web"));
    cJSON_Delete(ours);
    cJSON_Delete(nolabel);
}
