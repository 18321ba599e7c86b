/* test_reconcile_plan.c - the leader's reconcile pass as a pure plan (mla_reconcile_plan): from
 * the lists read to the writes and Events, without a server. Covers create, update, HPA, paused
 * and foreign ScaledObjects, adoption of Deployments that bypassed the webhook (with its Event,
 * once), Deployments and namespaces being deleted, orphans, opt-out, the predictive hook and the
 * loop's own field manager, and the namespace-gone answers. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mla/log.h"
#include "mla/predict_step.h"
#include "mla/reconcile.h"
#include "mla/worker.h"

static void init(void) { mla_log_set_level(MLA_LOG_OFF); }

/* The decision the tests use: opted in = ml-autoscaling.io/enabled "true"; the ScaledObject
 * targets the Deployment, maxReplicaCount 4, predictive-config when the Deployment asks. */
static enum mla_code decide(void *ctx, const struct mla_policy_set *ps,
                            const struct mla_review_request *req, struct mla_decision *out,
                            struct mla_err *err)
{
    (void)ctx;
    (void)ps;
    (void)err;
    const char *en = mla_kube_annotation(req->object, "ml-autoscaling.io/enabled");
    out->allowed = true;
    out->opted_in = en && !strcmp(en, "true");
    out->action = out->opted_in ? MLA_ACT_APPLY : MLA_ACT_REMOVE;
    if (!out->opted_in)
        return MLA_OK;
    char so[512];
    snprintf(so, sizeof so,
             "{\"apiVersion\":\"keda.sh/v1alpha1\",\"kind\":\"ScaledObject\",\"metadata\":{"
             "\"name\":\"%s\",\"labels\":{\"ml-autoscaling.io/managed\":\"true\"},"
             "\"annotations\":{%s}},\"spec\":{\"scaleTargetRef\":{\"name\":\"%s\"},"
             "\"minReplicaCount\":1,\"maxReplicaCount\":4}}",
             req->name,
             mla_kube_annotation(req->object, "test/predictive")
                 ? "\"ml-autoscaling.io/predictive-config\":\"{}\""
                 : "",
             req->name);
    out->scaled_object = cJSON_Parse(so);
    snprintf(out->so_name, sizeof out->so_name, "%s", req->name);
    return MLA_OK;
}

static cJSON *dep(const char *ns, const char *name, const char *uid, bool enabled, bool managed)
{
    char s[512];
    snprintf(s, sizeof s,
             "{\"metadata\":{\"namespace\":\"%s\",\"name\":\"%s\",\"uid\":\"%s\","
             "\"labels\":{%s},\"annotations\":{%s}}}",
             ns, name, uid, managed ? "\"ml-autoscaling.io/managed\":\"true\"" : "",
             enabled ? "\"ml-autoscaling.io/enabled\":\"true\"" : "");
    return cJSON_Parse(s);
}

/* Our ScaledObject for Deployment name/uid, as the decision above builds it. */
static cJSON *so(const char *ns, const char *name, const char *uid, int max)
{
    char s[768];
    snprintf(s, sizeof s,
             "{\"metadata\":{\"namespace\":\"%s\",\"name\":\"%s\",\"labels\":{"
             "\"ml-autoscaling.io/managed\":\"true\"},\"annotations\":{},\"ownerReferences\":[{"
             "\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"name\":\"%s\",\"uid\":\"%s\","
             "\"controller\":true}]},\"spec\":{\"scaleTargetRef\":{\"name\":\"%s\"},"
             "\"minReplicaCount\":1,\"maxReplicaCount\":%d}}",
             ns, name, name, uid, name, max);
    return cJSON_Parse(s);
}

static void ann(cJSON *o, const char *k, const char *v)
{
    cJSON_AddStringToObject(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "metadata"), "annotations"),
                            k, v);
}

struct world {
    cJSON *deps, *bypassed, *sos, *hpas, *owners, *unknown, *terminating;
    cJSON *plan;
    struct mla_reconcile_stats st;
};

static void world_init(struct world *w)
{
    memset(w, 0, sizeof *w);
    w->deps = cJSON_CreateArray();
    w->bypassed = cJSON_CreateArray();
    w->sos = cJSON_CreateArray();
    w->hpas = cJSON_CreateArray();
    w->owners = cJSON_CreateArray();
    w->unknown = cJSON_CreateArray();
    w->terminating = cJSON_CreateArray();
}

static void world_fini(struct world *w)
{
    cJSON *all[] = {w->deps, w->bypassed, w->sos, w->hpas, w->owners, w->unknown, w->terminating,
                    w->plan};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        cJSON_Delete(all[i]);
}

static void plan(struct world *w)
{
    struct mla_reconcile_input in = {.deployments = w->deps, .bypassed = w->bypassed,
                                     .scaledobjects = w->sos, .hpas = w->hpas,
                                     .owners = w->owners, .unknown = w->unknown,
                                     .terminating = w->terminating, .decide = decide,
                                     .predict = true};
    cJSON_Delete(w->plan);
    w->plan = NULL;
    struct mla_err e;
    cr_assert_eq(mla_reconcile_plan(&in, &w->plan, &w->st, &e), MLA_OK, "%s", e.msg);
}

/* "op ns/name [why]" per action, joined by "; " — what the tests compare. */
static const char *summary(const struct world *w)
{
    static char buf[2048];
    size_t len = 0;
    buf[0] = '\0';
    const cJSON *a;
    cJSON_ArrayForEach(a, w->plan)
    {
        const char *why = cJSON_GetStringValue(cJSON_GetObjectItem(a, "why"));
        const char *reason = cJSON_GetStringValue(cJSON_GetObjectItem(a, "reason"));
        int n = snprintf(buf + len, sizeof buf - len, "%s%s %s/%s%s%s", len ? "; " : "",
                         cJSON_GetStringValue(cJSON_GetObjectItem(a, "op")),
                         cJSON_GetStringValue(cJSON_GetObjectItem(a, "namespace")),
                         cJSON_GetStringValue(cJSON_GetObjectItem(a, "name")),
                         why || reason ? " " : "", why ? why : reason ? reason : "");
        len += (size_t)n;
    }
    return buf;
}

Test(reconcile_plan, create_update_hpa_paused_foreign_current, .init = init)
{
    struct world w;
    world_init(&w);
    cJSON_AddItemToArray(w.deps, dep("a", "missing", "u1", true, true));
    cJSON_AddItemToArray(w.deps, dep("a", "stale", "u2", true, true));
    cJSON_AddItemToArray(w.sos, so("a", "stale", "u2", 99));
    cJSON_AddItemToArray(w.deps, dep("a", "current", "u3", true, true));
    cJSON_AddItemToArray(w.sos, so("a", "current", "u3", 4));
    cJSON_AddItemToArray(w.deps, dep("a", "paused", "u4", true, true));
    cJSON *p = so("a", "paused", "u4", 99);
    ann(p, MLA_ANN_PAUSED, "true");
    cJSON_AddItemToArray(w.sos, p);
    cJSON_AddItemToArray(w.deps, dep("a", "foreign", "u5", true, true));
    cJSON *f = so("a", "foreign", "u5", 99);
    cJSON_DeleteItemFromObject(cJSON_GetObjectItem(f, "metadata"), "labels");
    cJSON_AddItemToArray(w.sos, f);
    cJSON_AddItemToArray(w.deps, dep("a", "hpa", "u6", true, true));
    cJSON_AddItemToArray(w.sos, so("a", "hpa", "u6", 4));
    cJSON_AddItemToArray(w.hpas, cJSON_Parse("{\"metadata\":{\"namespace\":\"a\",\"name\":\"h\"},"
                                             "\"spec\":{\"scaleTargetRef\":{\"kind\":"
                                             "\"Deployment\",\"name\":\"hpa\"}}}"));
    plan(&w);
    cr_assert_str_eq(summary(&w), "apply a/missing create; apply a/stale update; apply a/hpa hpa");
    cr_assert_eq(w.st.created, 1);
    cr_assert_eq(w.st.updated, 1);
    cr_assert_eq(w.st.hpa, 1);
    cr_assert_eq(w.st.paused, 1);
    cr_assert_eq(w.st.deployments, 6);
    const cJSON *a = cJSON_GetArrayItem(w.plan, 0);
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(a, "soName")), "missing");
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(a, "hpaMode")), "delete");
    cr_assert_not_null(cJSON_GetObjectItem(a, "scaledObject"));
    world_fini(&w);
}

Test(reconcile_plan, adopts_a_deployment_that_bypassed_the_webhook_once, .init = init)
{
    struct world w;
    world_init(&w);
    cJSON_AddItemToArray(w.bypassed, dep("b", "web", "u1", true, false));
    cJSON_AddItemToArray(w.bypassed, dep("b", "plain", "u2", false, false)); /* not opted in */
    plan(&w);
    /* no Event in the plan: the worker records AdoptedAfterBypass when its write creates the
     * ScaledObject (test_worker_plan.c), so two passes before that write make one Event */
    cr_assert_str_eq(summary(&w), "apply b/web adopt");
    cr_assert_eq(w.st.adopted, 1);
    cr_assert_eq(w.st.created, 0);
    /* next pass: the ScaledObject is there and current: no second Event */
    cJSON_AddItemToArray(w.sos, so("b", "web", "u1", 4));
    plan(&w);
    cr_assert_str_eq(summary(&w), "");
    /* marked in between the two reads: in both lists, planned once, as a managed one */
    cJSON_DeleteItemFromArray(w.sos, 0);
    cJSON_AddItemToArray(w.deps, dep("b", "web", "u1", true, true));
    plan(&w);
    cr_assert_str_eq(summary(&w), "apply b/web create");
    world_fini(&w);
}

Test(reconcile_plan, leaves_deployments_and_namespaces_being_deleted_alone, .init = init)
{
    struct world w;
    world_init(&w);
    cJSON *d = dep("a", "going", "u1", true, true);
    cJSON_AddStringToObject(cJSON_GetObjectItem(d, "metadata"), "deletionTimestamp",
                            "2026-12-04T10:00:00Z");
    cJSON_AddItemToArray(w.deps, d);
    cJSON_AddItemToArray(w.deps, dep("dying", "web", "u2", true, true));
    cJSON_AddItemToArray(w.bypassed, dep("dying", "new", "u3", true, false));
    cJSON *orphan = so("dying", "ghost", "gone-uid", 4);
    ann(orphan, MLA_PREDICT_CONFIG_ANNOTATION, "{}");
    cJSON_AddItemToArray(w.sos, orphan);
    cJSON_AddItemToArray(w.terminating, cJSON_CreateString("dying"));
    plan(&w);
    cr_assert_str_eq(summary(&w), "");
    cr_assert_eq(w.st.skipped, 3);
    /* the same namespace once it is not terminating: everything is planned */
    cJSON_DeleteItemFromArray(w.terminating, 0);
    plan(&w);
    cr_assert_str_eq(summary(&w), "apply dying/web create; apply dying/new adopt; delete "
                                  "dying/ghost; predict dying/ghost");
    world_fini(&w);
}

Test(reconcile_plan, orphans_and_opt_out, .init = init)
{
    struct world w;
    world_init(&w);
    /* opted out, still in the managed list: remove (the worker restores the HPA) */
    cJSON_AddItemToArray(w.deps, dep("a", "out", "u1", false, true));
    cJSON_AddItemToArray(w.sos, so("a", "out", "u1", 4));
    /* Deployment gone (not listed, 404 when read): delete */
    cJSON_AddItemToArray(w.sos, so("a", "ghost", "u2", 4));
    /* re-created with a new uid: ours for the old one is an orphan */
    cJSON_AddItemToArray(w.deps, dep("a", "again", "u3-new", true, true));
    cJSON_AddItemToArray(w.sos, so("a", "again", "u3-old", 4));
    /* lost the label, read by GET with the same uid, opted out: remove */
    cJSON_AddItemToArray(w.sos, so("a", "unlabelled", "u4", 4));
    cJSON_AddItemToArray(w.owners, dep("a", "unlabelled", "u4", false, false));
    /* the read failed: left alone until a pass can tell */
    cJSON_AddItemToArray(w.sos, so("a", "unsure", "u5", 4));
    cJSON_AddItemToArray(w.unknown, cJSON_CreateString("a/unsure"));
    cJSON *want = mla_reconcile_owners_to_read(w.deps, w.bypassed, w.sos);
    char *s = cJSON_PrintUnformatted(want);
    cr_assert_str_eq(s, "[{\"namespace\":\"a\",\"name\":\"ghost\"},{\"namespace\":\"a\",\"name\":"
                        "\"unlabelled\"},{\"namespace\":\"a\",\"name\":\"unsure\"}]");
    free(s);
    cJSON_Delete(want);
    plan(&w);
    /* the re-created Deployment's own ScaledObject has the old uid: it is stale (update) and
     * the old one an orphan */
    cr_assert_str_eq(summary(&w), "remove a/out; apply a/again update; delete a/ghost; delete "
                                  "a/again; remove a/unlabelled");
    cr_assert_eq(w.st.orphans, 4);
    world_fini(&w);
}

Test(reconcile_plan, predictive_hook_and_the_loops_own_fields, .init = init)
{
    struct world w;
    world_init(&w);
    /* the loop owns minReplicaCount 8 / maxReplicaCount 9: not stale for the worker's decision */
    cJSON *d = dep("a", "web", "u1", true, true);
    ann(d, "test/predictive", "yes");
    cJSON_AddItemToArray(w.deps, d);
    cJSON *s = so("a", "web", "u1", 9);
    ann(s, MLA_PREDICT_CONFIG_ANNOTATION, "{}");
    cJSON_SetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(s, "spec"), "minReplicaCount"), 8);
    cJSON_AddItemToArray(w.sos, s);
    plan(&w);
    /* without the loop owning them, 8 and 9 are stale */
    cr_assert_str_eq(summary(&w), "apply a/web update; predict a/web");
    cJSON_AddItemToObject(cJSON_GetObjectItem(s, "metadata"), "managedFields",
                          cJSON_Parse("[{\"manager\":\"" MLA_PREDICT_FIELD_MANAGER "\","
                                      "\"operation\":\"Apply\",\"fieldsV1\":{\"f:spec\":{"
                                      "\"f:minReplicaCount\":{},\"f:maxReplicaCount\":{}}}}]"));
    plan(&w);
    cr_assert_str_eq(summary(&w), "predict a/web");
    cr_assert_eq(w.st.predicted, 1);
    /* config gone but the loop still owns fields: the hook runs (it releases them) */
    cJSON_DeleteItemFromObject(cJSON_GetObjectItem(cJSON_GetObjectItem(s, "metadata"),
                                                   "annotations"),
                               MLA_PREDICT_CONFIG_ANNOTATION);
    cJSON *other = so("a", "plain", "u2", 4);
    cJSON_AddItemToArray(w.sos, other);
    cJSON_AddItemToArray(w.deps, dep("a", "plain", "u2", true, true));
    cJSON *paused = so("a", "idle", "u3", 4);
    ann(paused, MLA_PREDICT_CONFIG_ANNOTATION, "{}");
    ann(paused, MLA_ANN_PAUSED_REPLICAS, "2");
    cJSON_AddItemToArray(w.sos, paused);
    cJSON_AddItemToArray(w.deps, dep("a", "idle", "u3", true, true));
    plan(&w);
    cr_assert(strstr(summary(&w), "predict a/web"), "%s", summary(&w));
    cr_assert_null(strstr(summary(&w), "predict a/plain"), "%s", summary(&w));
    cr_assert_null(strstr(summary(&w), "predict a/idle"), "%s", summary(&w));
    world_fini(&w);
}

Test(reconcile_plan, namespace_gone_answers)
{
    cJSON *t = cJSON_Parse("{\"kind\":\"Status\",\"reason\":\"Forbidden\",\"message\":\"deployments"
                           ".apps \\\"x\\\" is forbidden: unable to create new content in namespace"
                           " a because it is being terminated\",\"details\":{\"causes\":[{\"type\":"
                           "\"NamespaceTerminating\"}]}}");
    cr_assert(mla_reconcile_ns_gone(403, t));
    cJSON *n = cJSON_Parse("{\"kind\":\"Status\",\"reason\":\"NotFound\",\"message\":\"namespaces "
                           "\\\"a\\\" not found\",\"details\":{\"name\":\"a\",\"kind\":"
                           "\"namespaces\"}}");
    cr_assert(mla_reconcile_ns_gone(404, n));
    cJSON *o = cJSON_Parse("{\"kind\":\"Status\",\"reason\":\"NotFound\",\"message\":\"scaledobjects"
                           ".keda.sh \\\"web\\\" not found\",\"details\":{\"name\":\"web\"}}");
    cr_assert_not(mla_reconcile_ns_gone(404, o));
    cJSON *rbac = cJSON_Parse("{\"kind\":\"Status\",\"reason\":\"Forbidden\",\"message\":\"forbidden"
                              ": User cannot delete\"}");
    cr_assert_not(mla_reconcile_ns_gone(403, rbac));
    cr_assert_not(mla_reconcile_ns_gone(500, t));
    cr_assert_not(mla_reconcile_ns_gone(403, NULL));
    cJSON_Delete(t);
    cJSON_Delete(n);
    cJSON_Delete(o);
    cJSON_Delete(rbac);
}

/* StatefulSets come tagged "kind": "StatefulSet" (the shell's LIST): their actions carry the
 * kind (the worker reads and owns the StatefulSet), their HPA is theirs and not a Deployment
 * namesake's, and a ScaledObject owned by the StatefulSet is current. */
static cJSON *sts(cJSON *o)
{
    cJSON_AddStringToObject(o, "kind", "StatefulSet");
    return o;
}

Test(reconcile_plan, statefulsets_are_planned_with_their_kind, .init = init)
{
    struct world w;
    world_init(&w);
    cJSON_AddItemToArray(w.deps, sts(dep("s", "cache", "u1", true, true)));
    cJSON_AddItemToArray(w.deps, sts(dep("s", "store", "u2", true, true)));
    cJSON *o = so("s", "store", "u2", 4);
    cJSON *ref = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "metadata"),
                                                        "ownerReferences"), 0);
    cJSON_ReplaceItemInObject(ref, "kind", cJSON_CreateString("StatefulSet"));
    cJSON_AddItemToArray(w.sos, o);
    /* an HPA on a Deployment named "store" is no conflict of the StatefulSet */
    cJSON_AddItemToArray(w.hpas, cJSON_Parse("{\"metadata\":{\"namespace\":\"s\",\"name\":\"h\"},"
                                             "\"spec\":{\"scaleTargetRef\":{\"kind\":"
                                             "\"Deployment\",\"name\":\"store\"}}}"));
    cJSON_AddItemToArray(w.deps, sts(dep("s", "gone", "u3", false, true)));
    cJSON *g = so("s", "gone", "u3", 4);
    ref = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(g, "metadata"),
                                                 "ownerReferences"), 0);
    cJSON_ReplaceItemInObject(ref, "kind", cJSON_CreateString("StatefulSet"));
    cJSON_AddItemToArray(w.sos, g);
    plan(&w);
    cr_assert_str_eq(summary(&w), "apply s/cache create; remove s/gone");
    const cJSON *a;
    cJSON_ArrayForEach(a, w.plan)
        cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(a, "kind")), "StatefulSet");
    world_fini(&w);
}
