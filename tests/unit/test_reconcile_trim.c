/* test_reconcile_trim.c - a pass plans exactly the same on listed objects trimmed and packed as
 * each LIST page is parsed (mla__reconcile_trim: status, the server's bookkeeping, other
 * managers' managedFields and most of the loop's own entry dropped; mla__pack: one block per
 * object) as on the whole objects: real policies (../policies), the real decision, Deployments
 * that are current, stale, missing their ScaledObject, an orphan, an HPA, and ScaledObjects
 * whose minReplicaCount/maxReplicaCount the predictive loop owns. The predictive step decides
 * the same on them too. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/controller/reconcile-int.h"
#include "mla/file.h"
#include "mla/log.h"
#include "mla/metrics.h"
#include "mla/policy.h"
#include "mla/predict_step.h"
#include "mla/reconcile.h"

#include "prom_fixture.h"

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

/* The loop's entry as kube-apiserver records it after the loop's apply: its annotations, and
 * the counts when it owns them. */
static cJSON *loop_entry(bool counts)
{
    char buf[1024];
    snprintf(buf, sizeof buf,
             "{\"manager\":\"" MLA_PREDICT_FIELD_MANAGER "\",\"operation\":\"Apply\","
             "\"apiVersion\":\"keda.sh/v1alpha1\",\"time\":\"2026-12-05T03:37:39Z\","
             "\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:metadata\":{\"f:annotations\":{"
             "\"f:ml-autoscaling.io/forecast-peak\":{},\"f:ml-autoscaling.io/forecast-"
             "confidence\":{},\"f:ml-autoscaling.io/min-replicas-reason\":{}}}%s}}",
             counts ? ",\"f:spec\":{\"f:minReplicaCount\":{},\"f:maxReplicaCount\":{}}" : "");
    cJSON *e = cJSON_Parse(buf);
    cr_assert(e);
    return e;
}

/* Other managers' entries: kubectl's, the worker's, the controllers'. New. */
static cJSON *other_managers(void)
{
    cJSON *mf = cJSON_Parse(
        "[{\"manager\":\"kubectl-client-side-apply\",\"operation\":\"Update\","
        "\"apiVersion\":\"v1\",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:metadata\":{"
        "\"f:labels\":{\".\":{}}},\"f:spec\":{\"f:minReplicaCount\":{},"
        "\"f:maxReplicaCount\":{},\"f:replicas\":{}}}},"
        "{\"manager\":\"ml-autoscaling\",\"operation\":\"Apply\",\"apiVersion\":\"v1\","
        "\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:spec\":{\"f:scaleTargetRef\":{}}}},"
        "{\"manager\":\"kube-controller-manager\",\"operation\":\"Update\",\"subresource\":"
        "\"status\",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:status\":{\"f:replicas\":{}}}}]");
    cr_assert(mf);
    return mf;
}

/* What a real API server adds to every object: status, its bookkeeping and several managers'
 * field sets. */
static void add_server_fields(cJSON *o, bool loop_owns_counts)
{
    set_str(meta(o), "creationTimestamp", "2026-12-05T03:37:39Z");
    set_str(meta(o), "resourceVersion", "2002");
    cJSON_AddNumberToObject(meta(o), "generation", 2);
    cJSON *st = cJSON_Parse("{\"replicas\":3,\"readyReplicas\":3,\"observedGeneration\":7,"
                            "\"conditions\":[{\"type\":\"Available\",\"status\":\"True\","
                            "\"reason\":\"MinimumReplicasAvailable\"}]}");
    cJSON_AddItemToObject(o, "status", st);
    cJSON *mf = other_managers();
    if (loop_owns_counts)
        cJSON_AddItemToArray(mf, loop_entry(true));
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

/* As rec_list keeps them: each item trimmed and packed, or summarized (the list is new:
 * mla__pack_list_delete). Each packed copy prints as the tree it was made from; a summary
 * gives that tree back whole, and holds only the few members read besides the decision. */
static cJSON *packed_of(const cJSON *items, bool summary, struct mla__pack_keys *keys)
{
    cJSON *out = cJSON_CreateArray();
    const cJSON *x;
    cJSON_ArrayForEach(x, items)
    {
        cJSON *t = cJSON_Duplicate(x, 1);
        mla__reconcile_trim(t);
        cJSON *p = summary ? mla__pack_summary(t, keys) : mla__pack(t, keys);
        cJSON *w = summary ? mla__reconcile_whole(p) : NULL;
        cr_assert_eq(!w, !summary);
        char *a = cJSON_PrintUnformatted(t), *b = cJSON_PrintUnformatted(w ? w : p);
        cr_assert_str_eq(b, a);
        cr_assert(cJSON_Compare(w ? w : p, t, 1));
        if (summary) {
            cr_assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(p, "spec"), "template"));
            cr_assert_null(cJSON_GetObjectItem(meta(p), "labels"));
            cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(meta(p), "uid")),
                             cJSON_GetStringValue(cJSON_GetObjectItem(meta(t), "uid")));
        }
        free(a);
        free(b);
        cJSON_Delete(w);
        cJSON_Delete(t);
        cJSON_AddItemToArray(out, p);
    }
    return out;
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
    struct mla__pack_keys *keys = mla__pack_keys_create(); /* shared, as in a pass */
    struct lists packed = {packed_of(whole.deps, true, keys), packed_of(whole.sos, false, keys),
                           packed_of(whole.hpas, false, NULL)};
    struct mla_reconcile_stats st_pack = {0};
    cJSON *p_pack = plan_of(&packed, ps, &st_pack);

    char *s_whole = cJSON_PrintUnformatted(p_whole), *s_trim = cJSON_PrintUnformatted(p_trim);
    char *s_pack = cJSON_PrintUnformatted(p_pack);
    cr_assert_str_eq(s_trim, s_whole);
    cr_assert_str_eq(s_pack, s_whole);
    cr_assert_eq(memcmp(&st_trim, &st_whole, sizeof st_whole), 0);
    cr_assert_eq(memcmp(&st_pack, &st_whole, sizeof st_whole), 0);
    /* the plan is not trivial: one created, one updated, one orphan, the HPA, predict steps */
    cr_assert_eq(st_whole.created, 1);
    cr_assert_eq(st_whole.updated, 1, "%s", s_whole);
    cr_assert_eq(st_whole.orphans, 1);
    cr_assert_eq(st_whole.hpa, 1);
    cr_assert_geq(st_whole.predicted, 5);

    /* the trim did drop: no status nor bookkeeping, only the loop's managedFields entry, on 2
     * ScaledObjects, reduced to its manager and the counts it owns */
    int with_mf = 0;
    cJSON *x;
    cJSON_ArrayForEach(x, trimmed.sos)
    {
        cr_assert_null(cJSON_GetObjectItem(x, "status"));
        cr_assert_null(cJSON_GetObjectItem(meta(x), "creationTimestamp"));
        cr_assert_null(cJSON_GetObjectItem(meta(x), "generation"));
        cr_assert_null(cJSON_GetObjectItem(meta(x), "resourceVersion"));
        cJSON *mf = cJSON_GetObjectItem(meta(x), "managedFields");
        if (mf) {
            with_mf++;
            cr_assert_eq(cJSON_GetArraySize(mf), 1);
            char *le = cJSON_PrintUnformatted(cJSON_GetArrayItem(mf, 0));
            cr_assert_str_eq(le, "{\"manager\":\"" MLA_PREDICT_FIELD_MANAGER "\",\"fieldsV1\":{"
                                 "\"f:metadata\":{},\"f:spec\":{\"f:minReplicaCount\":{},"
                                 "\"f:maxReplicaCount\":{}}}}");
            free(le);
        }
    }
    cr_assert_eq(with_mf, 2);
    cJSON_ArrayForEach(x, trimmed.deps)
    {
        cr_assert_null(cJSON_GetObjectItem(x, "status"));
        cr_assert_null(cJSON_GetObjectItem(meta(x), "managedFields"));
        cr_assert_not_null(cJSON_GetObjectItem(meta(x), "uid"));
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
    free(s_pack);
    free(s_over);
    cJSON_Delete(p_pack);
    mla__pack_list_delete(packed.deps);
    mla__pack_list_delete(packed.sos);
    mla__pack_list_delete(packed.hpas);
    mla__pack_keys_destroy(keys);
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

/* ------------------------------------------------------------------ the predictive step */

#define STEP_NOW 1795608000 /* 2026-11-25T12:00:00Z, a multiple of 300 */

/* One step on `so` with a fresh window table: the apply printed ("null": none) and the result. */
static char *step_of(const cJSON *so, struct mla_predict_result *res)
{
    struct mla_predict_models *m = NULL;
    cr_assert_eq(mla_predict_models_create(4, 600, &m, NULL), MLA_OK);
    mla_predict_models_set_fetch(m, fx_sine_fetch, NULL);
    struct mla_predict_env env = {.prom = {.base_url = "http://127.0.0.1:1"}, .models = m,
                                  .no_metrics = true};
    cJSON *apply = NULL;
    struct mla_err e = {0};
    cr_assert_eq(mla_predict_step(&env, so, STEP_NOW + 10, &apply, res, &e), MLA_OK, "%s", e.msg);
    char *s = apply ? cJSON_PrintUnformatted(apply) : strdup("null");
    cJSON_Delete(apply);
    mla_predict_models_destroy(m);
    return s;
}

/* The step on `so` and on its trimmed, packed copy: the same apply and the same decision.
 * Returns the apply. */
static char *same_step(const cJSON *so)
{
    cJSON *t = cJSON_Duplicate(so, 1);
    mla__reconcile_trim(t);
    struct mla__pack_keys *keys = mla__pack_keys_create();
    cJSON *p = mla__pack(t, keys);
    cJSON_Delete(t);
    struct mla_predict_result rw, rp;
    char *aw = step_of(so, &rw), *ap = step_of(p, &rp);
    mla__pack_free(p);
    mla__pack_keys_destroy(keys);
    cr_assert_str_eq(ap, aw);
    cr_assert_eq(rp.min_replicas, rw.min_replicas);
    cr_assert_eq(rp.max_replicas, rw.max_replicas);
    cr_assert_eq(rp.changed, rw.changed);
    cr_assert_eq(rp.max_changed, rw.max_changed);
    cr_assert_eq(rp.rule, rw.rule);
    cr_assert_str_eq(rp.reason, rw.reason);
    cr_assert_eq(!rp.skipped, !rw.skipped);
    if (rw.skipped)
        cr_assert_str_eq(rp.skipped, rw.skipped);
    free(ap);
    return aw;
}

/* Replaces the loop's managedFields entry of `so` (NULL: none) after the other managers'. */
static void set_loop_entry(cJSON *so, cJSON *entry)
{
    cJSON_DeleteItemFromObjectCaseSensitive(meta(so), "managedFields");
    cJSON *mf = other_managers();
    if (entry)
        cJSON_AddItemToArray(mf, entry);
    cJSON_AddItemToObject(meta(so), "managedFields", mf);
}

Test(reconcile_trim, the_predictive_step_decides_the_same_on_trimmed_objects, .init = init,
     .fini = mla_metrics_reset)
{
    cJSON *so = load("fixtures/kube/so-template.json");
    set_str(meta(so), "name", "web");
    set_str(meta(so), "namespace", "shop");
    cJSON_AddStringToObject(cJSON_GetObjectItem(meta(so), "annotations"),
                            MLA_PREDICT_CONFIG_ANNOTATION,
                            "{\"enabled\":true,\"query\":\"sum(rate(x[5m]))\",\"lookbackHours\":48,"
                            "\"stepSeconds\":300,\"capacityPerReplica\":10,\"maxReplicas\":50}");
    add_server_fields(so, false);
    /* a first step: the loop owns nothing yet, its apply sets the counts and the explanation */
    set_loop_entry(so, NULL);
    char *first = same_step(so);
    cJSON *apply = cJSON_Parse(first);
    cr_assert(cJSON_IsObject(apply), "%s", first);
    /* stored as the apply left it, the loop owning counts and annotations: nothing to send */
    cJSON *anns = cJSON_GetObjectItem(meta(so), "annotations");
    cJSON *a;
    cJSON_ArrayForEach(a, cJSON_GetObjectItem(meta(apply), "annotations"))
        set_str(anns, a->string, a->valuestring);
    cJSON *spec = cJSON_GetObjectItem(so, "spec");
    cJSON_ArrayForEach(a, cJSON_GetObjectItem(apply, "spec"))
        cJSON_ReplaceItemInObjectCaseSensitive(spec, a->string, cJSON_Duplicate(a, 1));
    set_loop_entry(so, loop_entry(true));
    char *kept = same_step(so);
    cr_assert_str_eq(kept, "null");
    /* the same, but the loop owns only its annotations: it takes the counts (an apply) */
    set_loop_entry(so, loop_entry(false));
    char *take = same_step(so);
    cr_assert_str_neq(take, "null");
    /* no predictive-config any more: the loop's entry says whether to release (an empty
     * apply) or do nothing */
    cJSON_DeleteItemFromObjectCaseSensitive(anns, MLA_PREDICT_CONFIG_ANNOTATION);
    char *release = same_step(so);
    cr_assert_str_neq(release, "null");
    set_loop_entry(so, NULL);
    char *nothing = same_step(so);
    cr_assert_str_eq(nothing, "null");
    free(first);
    free(kept);
    free(take);
    free(release);
    free(nothing);
    cJSON_Delete(apply);
    cJSON_Delete(so);
}
