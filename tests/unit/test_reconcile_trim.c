/* test_reconcile_trim.c - a pass plans exactly the same on listed objects trimmed as each LIST
 * page is parsed (mla__reconcile_trim: status and other managers' managedFields dropped) as on
 * the whole objects: real policies (../policies), the real decision, Deployments that are
 * current, stale, missing their ScaledObject, an orphan, an HPA, and ScaledObjects whose
 * minReplicaCount/maxReplicaCount the predictive loop owns. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/controller/reconcile-int.h"
#include "mla/file.h"
#include "mla/log.h"
#include "mla/policy.h"
#include "mla/predict_step.h"
#include "mla/reconcile.h"

static void init(void) { mla_log_set_level(MLA_LOG_OFF); }

static cJSON *load(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "%s", path);
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    cJSON *o = cJSON_Parse(buf);
    cr_assert(o, "%s", path);
    return o;
}

static cJSON *meta(cJSON *o) { return cJSON_GetObjectItem(o, "metadata"); }

static void set_str(cJSON *o, const char *k, const char *v)
{
    cJSON_DeleteItemFromObjectCaseSensitive(o, k);
    cJSON_AddStringToObject(o, k, v);
}

/* What a real API server adds to every object: status and several managers' field sets. */
static void add_server_fields(cJSON *o, bool loop_owns_counts)
{
    cJSON *st = cJSON_Parse("{\"replicas\":3,\"readyReplicas\":3,\"observedGeneration\":7,"
                            "\"conditions\":[{\"type\":\"Available\",\"status\":\"True\","
                            "\"reason\":\"MinimumReplicasAvailable\"}]}");
    cJSON_AddItemToObject(o, "status", st);
    cJSON *mf = cJSON_Parse(
        "[{\"manager\":\"kubectl-client-side-apply\",\"operation\":\"Update\","
        "\"apiVersion\":\"v1\",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:metadata\":{"
        "\"f:labels\":{\".\":{}}},\"f:spec\":{\"f:minReplicaCount\":{},"
        "\"f:maxReplicaCount\":{},\"f:replicas\":{}}}},"
        "{\"manager\":\"ml-autoscaling\",\"operation\":\"Apply\",\"apiVersion\":\"v1\","
        "\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:spec\":{\"f:scaleTargetRef\":{}}}},"
        "{\"manager\":\"kube-controller-manager\",\"operation\":\"Update\",\"subresource\":"
        "\"status\",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:status\":{\"f:replicas\":{}}}}]");
    if (loop_owns_counts)
        cJSON_AddItemToArray(
            mf, cJSON_Parse("{\"manager\":\"" MLA_PREDICT_FIELD_MANAGER "\",\"operation\":"
                            "\"Apply\",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:spec\":{"
                            "\"f:minReplicaCount\":{},\"f:maxReplicaCount\":{}}}}"));
    cJSON_AddItemToObject(meta(o), "managedFields", mf);
}

struct lists {
    cJSON *deps, *sos, *hpas;
};

static cJSON *plan_of(const struct lists *l, const struct mla_policy_set *ps,
                      struct mla_reconcile_stats *st)
{
    cJSON *none = cJSON_CreateArray();
    struct mla_reconcile_input in = {.deployments = l->deps, .bypassed = none,
                                     .scaledobjects = l->sos, .hpas = l->hpas, .owners = none,
                                     .unknown = none, .terminating = none, .ps = ps,
                                     .predict = true};
    cJSON *plan = NULL;
    struct mla_err e = {0};
    cr_assert_eq(mla_reconcile_plan(&in, &plan, st, &e), MLA_OK, "%s", e.msg);
    cJSON_Delete(none);
    return plan;
}

static void trim_all(cJSON *items, bool all_managed_fields)
{
    cJSON *x;
    cJSON_ArrayForEach(x, items)
    {
        if (all_managed_fields) /* the control: a trim that also drops the loop's entry */
            cJSON_DeleteItemFromObjectCaseSensitive(meta(x), "managedFields");
        mla__reconcile_trim(x);
    }
}

static struct lists dup_lists(const struct lists *l)
{
    struct lists d = {cJSON_Duplicate(l->deps, 1), cJSON_Duplicate(l->sos, 1),
                      cJSON_Duplicate(l->hpas, 1)};
    return d;
}

static void lists_fini(struct lists *l)
{
    cJSON_Delete(l->deps);
    cJSON_Delete(l->sos);
    cJSON_Delete(l->hpas);
}

Test(reconcile_trim, a_pass_plans_the_same_on_trimmed_objects, .init = init)
{
    struct mla_policy_set *ps = NULL;
    struct mla_err e = {0};
    cr_assert_eq(mla_policy_set_load_dir("../policies", &ps, &e), MLA_OK, "%s", e.msg);
    cJSON *dep = load("fixtures/kube/deployment.json");
    struct lists whole = {cJSON_CreateArray(), cJSON_CreateArray(), cJSON_CreateArray()};
    char name[32], uid[64];
    for (int i = 0; i < 6; i++) {
        cJSON *d = cJSON_Duplicate(dep, 1);
        snprintf(name, sizeof name, "app-%d", i);
        snprintf(uid, sizeof uid, "00000000-0000-4000-8000-00000000000%d", i);
        set_str(meta(d), "name", name);
        set_str(meta(d), "namespace", "shop");
        set_str(meta(d), "uid", uid);
        cJSON_AddStringToObject(cJSON_GetObjectItem(meta(d), "labels"),
                                "ml-autoscaling.io/managed", "true");
        cJSON_AddItemToArray(whole.deps, d);
    }
    /* the ScaledObjects as the decision wants them: from a pass with none */
    struct mla_reconcile_stats st = {0};
    cJSON *first = plan_of(&whole, ps, &st);
    cr_assert_eq(st.created, 6);
    cJSON *a;
    int i = 0;
    cJSON_ArrayForEach(a, first)
    {
        cJSON *want = cJSON_GetObjectItem(a, "scaledObject");
        if (!want)
            continue;
        if (i == 5) { /* app-5 keeps no ScaledObject: created again */
            i++;
            continue;
        }
        cJSON *s = cJSON_Duplicate(want, 1);
        set_str(meta(s), "namespace", "shop");
        snprintf(uid, sizeof uid, "00000000-0000-4000-8000-00000000000%d", i);
        cJSON *ref = cJSON_CreateObject();
        cJSON_AddStringToObject(ref, "apiVersion", "apps/v1");
        cJSON_AddStringToObject(ref, "kind", "Deployment");
        cJSON_AddStringToObject(ref, "name", cJSON_GetStringValue(cJSON_GetObjectItem(a, "name")));
        cJSON_AddStringToObject(ref, "uid", uid);
        cJSON_AddBoolToObject(ref, "controller", true);
        cJSON *refs = cJSON_CreateArray();
        cJSON_AddItemToArray(refs, ref);
        cJSON_DeleteItemFromObjectCaseSensitive(meta(s), "ownerReferences");
        cJSON_AddItemToObject(meta(s), "ownerReferences", refs);
        cJSON *spec = cJSON_GetObjectItem(s, "spec");
        bool loop = i == 1 || i == 2;
        if (loop) { /* counts the loop set: not drift, since the loop owns them */
            cJSON_ReplaceItemInObjectCaseSensitive(spec, "minReplicaCount",
                                                   cJSON_CreateNumber(7));
            cJSON_ReplaceItemInObjectCaseSensitive(spec, "maxReplicaCount",
                                                   cJSON_CreateNumber(9));
        }
        if (i == 3) /* drifted: updated */
            cJSON_ReplaceItemInObjectCaseSensitive(spec, "maxReplicaCount",
                                                   cJSON_CreateNumber(99));
        add_server_fields(s, loop);
        cJSON_AddItemToArray(whole.sos, s);
        i++;
    }
    /* an orphan of ours: its Deployment is gone */
    cJSON *orphan = cJSON_Duplicate(cJSON_GetArrayItem(whole.sos, 0), 1);
    set_str(meta(orphan), "name", "gone");
    cJSON *oref = cJSON_GetArrayItem(cJSON_GetObjectItem(meta(orphan), "ownerReferences"), 0);
    set_str(oref, "name", "gone");
    set_str(oref, "uid", "00000000-0000-4000-8000-000000000099");
    cJSON_AddItemToArray(whole.sos, orphan);
    /* an HPA on app-4 */
    cJSON *h = load("fixtures/kube/hpa.json");
    set_str(meta(h), "name", "app-4");
    set_str(meta(h), "namespace", "shop");
    cJSON_ReplaceItemInObjectCaseSensitive(
        cJSON_GetObjectItem(cJSON_GetObjectItem(h, "spec"), "scaleTargetRef"), "name",
        cJSON_CreateString("app-4"));
    add_server_fields(h, false);
    cJSON_AddItemToArray(whole.hpas, h);
    cJSON *d;
    cJSON_ArrayForEach(d, whole.deps)
        add_server_fields(d, false);

    struct mla_reconcile_stats st_whole = {0}, st_trim = {0}, st_over = {0};
    cJSON *p_whole = plan_of(&whole, ps, &st_whole);
    struct lists trimmed = dup_lists(&whole), over = dup_lists(&whole);
    trim_all(trimmed.deps, false);
    trim_all(trimmed.sos, false);
    trim_all(trimmed.hpas, false);
    cJSON *p_trim = plan_of(&trimmed, ps, &st_trim);

    char *s_whole = cJSON_PrintUnformatted(p_whole), *s_trim = cJSON_PrintUnformatted(p_trim);
    cr_assert_str_eq(s_trim, s_whole);
    cr_assert_eq(memcmp(&st_trim, &st_whole, sizeof st_whole), 0);
    /* the plan is not trivial: one created, one updated, one orphan, the HPA, predict steps */
    cr_assert_eq(st_whole.created, 1);
    cr_assert_eq(st_whole.updated, 1, "%s", s_whole);
    cr_assert_eq(st_whole.orphans, 1);
    cr_assert_eq(st_whole.hpa, 1);
    cr_assert_geq(st_whole.predicted, 5);

    /* the trim did drop: no status, only the loop's managedFields entry, on 2 ScaledObjects */
    int with_mf = 0;
    cJSON *x;
    cJSON_ArrayForEach(x, trimmed.sos)
    {
        cr_assert_null(cJSON_GetObjectItem(x, "status"));
        cJSON *mf = cJSON_GetObjectItem(meta(x), "managedFields");
        if (mf) {
            with_mf++;
            cr_assert_eq(cJSON_GetArraySize(mf), 1);
            cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(mf, 0),
                                                                       "manager")),
                             MLA_PREDICT_FIELD_MANAGER);
        }
    }
    cr_assert_eq(with_mf, 2);
    cJSON_ArrayForEach(x, trimmed.deps)
    {
        cr_assert_null(cJSON_GetObjectItem(x, "status"));
        cr_assert_null(cJSON_GetObjectItem(meta(x), "managedFields"));
    }

    /* the control: dropping the loop's entry too changes the plan (its counts become drift),
     * so the equality above is what keeping that entry buys */
    trim_all(over.deps, true);
    trim_all(over.sos, true);
    trim_all(over.hpas, true);
    cJSON *p_over = plan_of(&over, ps, &st_over);
    char *s_over = cJSON_PrintUnformatted(p_over);
    cr_assert_str_neq(s_over, s_whole);
    cr_assert_eq(st_over.updated, 3);

    free(s_whole);
    free(s_trim);
    free(s_over);
    cJSON_Delete(first);
    cJSON_Delete(p_whole);
    cJSON_Delete(p_trim);
    cJSON_Delete(p_over);
    lists_fini(&whole);
    lists_fini(&trimmed);
    lists_fini(&over);
    cJSON_Delete(dep);
    mla_policy_set_unref(ps);
}
