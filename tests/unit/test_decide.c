/* test_decide.c - mla_decide(): the hot path, opt-in, opt-out, UPDATE, pod-spec mutations. */
#include <criterion/criterion.h>

#include "policy_fixture.h"

#define EN "\"ml-autoscaling.io/enabled\":\"true\""

static char *ops(const struct mla_decision *d)
{
    return d->patch ? cJSON_PrintUnformatted(d->patch) : strdup("null");
}

Test(decide, not_opted_in_is_allowed_untouched)
{
    struct mla_policy_set *ps = fx_load();
    const char *anns[] = {"", "\"ml-autoscaling.io/enabled\":\"false\"",
                          "\"ml-autoscaling.io/enabled\":\"True\",\"ml-autoscaling.io/bogus\":\"x\""};
    for (size_t i = 0; i < 3; i++) {
        cJSON *dep = fx_dep("a", "shop", "", anns[i], "3", NULL);
        struct mla_decision d;
        fx_decide(ps, dep, NULL, MLA_OP_CREATE, "shop", &d);
        cr_assert(d.allowed);
        cr_assert_eq(d.code, 200);
        cr_assert_null(d.patch);
        cr_assert_null(d.warnings);
        cr_assert_null(d.scaled_object);
        cr_assert_eq(d.action, MLA_ACT_NONE);
        cr_assert_not(d.opted_in);
        mla_decision_fini(&d);
        cJSON_Delete(dep);
    }
    mla_policy_set_unref(ps);
}

Test(decide, other_kinds_operations_and_subresources_are_ignored)
{
    struct mla_policy_set *ps = fx_load();
    cJSON *dep = fx_dep("a", "shop", "", EN, "3", NULL);
    struct mla_review_request r = fx_req(dep, NULL, MLA_OP_CREATE, "shop");
    struct mla_decision d;
    r.kind = "DaemonSet"; /* no replicas to scale */
    cr_assert_eq(mla_decide(ps, &r, &d, NULL), MLA_OK);
    cr_assert_eq(d.action, MLA_ACT_NONE);
    cr_assert_null(d.patch);
    mla_decision_fini(&d);
    r = fx_req(dep, NULL, MLA_OP_CREATE, "shop");
    r.kind_group = "example.com"; /* a CRD named StatefulSet is not ours */
    r.kind = "StatefulSet";
    cr_assert_eq(mla_decide(ps, &r, &d, NULL), MLA_OK);
    cr_assert_eq(d.action, MLA_ACT_NONE);
    mla_decision_fini(&d);
    r = fx_req(dep, NULL, MLA_OP_DELETE, "shop");
    cr_assert_eq(mla_decide(ps, &r, &d, NULL), MLA_OK);
    cr_assert_null(d.patch);
    mla_decision_fini(&d);
    r = fx_req(dep, NULL, MLA_OP_UPDATE, "shop");
    r.sub_resource = "scale";
    cr_assert_eq(mla_decide(ps, &r, &d, NULL), MLA_OK);
    cr_assert_null(d.patch);
    mla_decision_fini(&d);
    cJSON_Delete(dep);
    mla_policy_set_unref(ps);
}

Test(decide, statefulset_gets_a_scaled_object_targeting_it)
{
    struct mla_policy_set *ps = fx_load();
    cJSON *sts = fx_dep("cache", "shop", "", EN, "3", NULL);
    struct mla_review_request r = fx_req(sts, NULL, MLA_OP_CREATE, "shop");
    r.kind = "StatefulSet";
    r.resource = "statefulsets";
    struct mla_decision d;
    cr_assert_eq(mla_decide(ps, &r, &d, NULL), MLA_OK);
    cr_assert(d.allowed, "%s", d.message);
    cr_assert_eq(d.action, MLA_ACT_APPLY);
    const cJSON *ref = cJSON_GetObjectItem(cJSON_GetObjectItem(d.scaled_object, "spec"),
                                           "scaleTargetRef");
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(ref, "kind")), "StatefulSet");
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(ref, "apiVersion")), "apps/v1");
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(ref, "name")), "cache");
    mla_decision_fini(&d);
    /* opting out of a StatefulSet removes its ScaledObject, as for a Deployment */
    cJSON *out = fx_dep("cache", "shop", "", "", "3", NULL);
    r = fx_req(out, sts, MLA_OP_UPDATE, "shop");
    r.kind = "StatefulSet";
    cr_assert_eq(mla_decide(ps, &r, &d, NULL), MLA_OK);
    cr_assert_eq(d.action, MLA_ACT_REMOVE);
    mla_decision_fini(&d);
    cJSON_Delete(out);
    cJSON_Delete(sts);
    mla_policy_set_unref(ps);
}

Test(decide, opted_in_create_fills_every_field)
{
    struct mla_policy_set *ps = fx_load();
    cJSON *dep = fx_dep("checkout", "shop", "", EN, "3", NULL);
    struct mla_decision d;
    fx_decide(ps, dep, NULL, MLA_OP_CREATE, "shop", &d);
    cr_assert(d.allowed, "%s", d.message);
    cr_assert(d.opted_in);
    cr_assert_eq(d.action, MLA_ACT_APPLY);
    cr_assert_str_eq(d.policy, "web");
    cr_assert_str_eq(d.profile, "web");
    cr_assert_str_eq(d.so_name, "checkout");
    cr_assert_eq(strncmp(d.policy_hash, "sha256:", 7), 0);
    cr_assert_eq(d.hpa_mode, MLA_HPA_DELETE);
    cr_assert_not(d.skip_write);
    char *p = ops(&d);
    char want[512];
    snprintf(want, sizeof want,
             "[{\"op\":\"add\",\"path\":\"/metadata/labels/ml-autoscaling.io~1managed\",\"value\":\"true\"},"
             "{\"op\":\"add\",\"path\":\"/metadata/annotations/ml-autoscaling.io~1scaledobject\",\"value\":\"checkout\"},"
             "{\"op\":\"add\",\"path\":\"/metadata/annotations/ml-autoscaling.io~1policy\",\"value\":\"web\"},"
             "{\"op\":\"add\",\"path\":\"/metadata/annotations/ml-autoscaling.io~1policy-hash\",\"value\":\"%s\"}]",
             d.policy_hash);
    cr_assert_str_eq(p, want);
    free(p);
    mla_decision_fini(&d);
    cJSON_Delete(dep);
    mla_policy_set_unref(ps);
}

Test(decide, changed_annotation_changes_the_scaled_object)
{
    struct mla_policy_set *ps = fx_load();
    cJSON *a = fx_dep("x", "shop", "", EN, "3", NULL);
    cJSON *b = fx_dep("x", "shop", "", EN ",\"ml-autoscaling.io/max-replicas\":\"7\"", "3", NULL);
    struct mla_decision da, db;
    fx_decide(ps, a, NULL, MLA_OP_CREATE, "shop", &da);
    fx_decide(ps, b, a, MLA_OP_UPDATE, "shop", &db);
    cr_assert_not(cJSON_Compare(da.scaled_object, db.scaled_object, true));
    cr_assert_eq(fx_path(db.scaled_object, "spec", "maxReplicaCount", NULL)->valueint, 7);
    mla_decision_fini(&da);
    mla_decision_fini(&db);
    cJSON_Delete(a);
    cJSON_Delete(b);
    mla_policy_set_unref(ps);
}

Test(decide, update_of_managed_keeps_running_replicas)
{
    struct mla_policy_set *ps = fx_load();
    cJSON *old = fx_dep("x", "shop", "\"ml-autoscaling.io/managed\":\"true\"", EN, "8", NULL);
    cJSON *neu = fx_dep("x", "shop", "\"ml-autoscaling.io/managed\":\"true\"", EN, "2", NULL);
    struct mla_decision d;
    fx_decide(ps, neu, old, MLA_OP_UPDATE, "shop", &d);
    cr_assert(d.allowed, "%s", d.message);
    char *p = ops(&d);
    cr_assert(strstr(p, "{\"op\":\"replace\",\"path\":\"/spec/replicas\",\"value\":8}"), "%s", p);
    free(p);
    cr_assert(fx_has_warning(&d, "spec.replicas 2 in this update would reset the 8 replicas"));
    mla_decision_fini(&d);
    /* first opt-in on UPDATE: no KEDA count to keep; the new value, clamped */
    cJSON *old2 = fx_dep("x", "shop", "", "", "8", NULL);
    fx_decide(ps, neu, old2, MLA_OP_UPDATE, "shop", &d);
    p = ops(&d);
    cr_assert_null(strstr(p, "/spec/replicas"), "%s", p);
    free(p);
    mla_decision_fini(&d);
    cJSON_Delete(old);
    cJSON_Delete(old2);
    cJSON_Delete(neu);
    mla_policy_set_unref(ps);
}

Test(decide, removed_opt_in_is_reported_and_unmanaged)
{
    struct mla_policy_set *ps = fx_load();
    cJSON *old = fx_dep("x", "shop", "\"ml-autoscaling.io/managed\":\"true\"",
                        EN ",\"ml-autoscaling.io/scaledobject\":\"x-so\",\"ml-autoscaling.io/policy\":\"web\","
                           "\"ml-autoscaling.io/policy-hash\":\"sha256:1\"", "4", NULL);
    cJSON *neu = fx_dep("x", "shop", "\"ml-autoscaling.io/managed\":\"true\"",
                        "\"ml-autoscaling.io/scaledobject\":\"x-so\",\"ml-autoscaling.io/policy\":\"web\","
                        "\"ml-autoscaling.io/policy-hash\":\"sha256:1\"", "4", NULL);
    struct mla_decision d;
    fx_decide(ps, neu, old, MLA_OP_UPDATE, "shop", &d);
    cr_assert(d.allowed);
    cr_assert_eq(d.action, MLA_ACT_REMOVE);
    cr_assert_str_eq(d.so_name, "x-so");
    cr_assert_str_eq(d.policy, "web");
    cr_assert_null(d.scaled_object);
    char *p = ops(&d);
    cr_assert_str_eq(p, "[{\"op\":\"remove\",\"path\":\"/metadata/labels/ml-autoscaling.io~1managed\"},"
                        "{\"op\":\"remove\",\"path\":\"/metadata/annotations/ml-autoscaling.io~1scaledobject\"},"
                        "{\"op\":\"remove\",\"path\":\"/metadata/annotations/ml-autoscaling.io~1policy\"},"
                        "{\"op\":\"remove\",\"path\":\"/metadata/annotations/ml-autoscaling.io~1policy-hash\"}]");
    free(p);
    mla_decision_fini(&d);
    cJSON_Delete(old);
    cJSON_Delete(neu);
    mla_policy_set_unref(ps);
}

Test(decide, cpu_trigger_injects_requests_or_denies_per_policy)
{
    struct mla_policy_set *ps = fx_load();
    const char *ctrs = "[{\"name\":\"app\"},{\"name\":\"side\",\"resources\":{\"limits\":{\"cpu\":\"1\"}}},"
                       "{\"name\":\"proxy\",\"resources\":{\"requests\":{\"memory\":\"1Gi\"}}}]";
    cJSON *dep = fx_dep("x", "shop", "", EN, "3", ctrs);
    struct mla_decision d;
    fx_decide(ps, dep, NULL, MLA_OP_CREATE, "shop", &d);
    cr_assert(d.allowed, "%s", d.message);
    char *p = ops(&d);
    cr_assert(strstr(p, "{\"op\":\"add\",\"path\":\"/spec/template/spec/containers/0/resources\","
                        "\"value\":{\"requests\":{\"cpu\":\"200m\"}}}"), "%s", p);
    cr_assert_null(strstr(p, "containers/1"), "a cpu limit counts as a request: %s", p);
    cr_assert(strstr(p, "{\"op\":\"add\",\"path\":\"/spec/template/spec/containers/2/resources/requests/cpu\","
                        "\"value\":\"200m\"}"), "%s", p);
    free(p);
    cr_assert(fx_has_warning(&d, "container 'app' had no cpu request; injected the policy default 200m"));
    mla_decision_fini(&d);
    cJSON_Delete(dep);
    /* strict: missingRequests deny, and its cpu trigger only looks at container "app" */
    dep = fx_dep("x", "shop", "", EN ",\"ml-autoscaling.io/profile\":\"strict\"",
                 "3", "[{\"name\":\"app\",\"resources\":{\"requests\":{\"cpu\":\"1\",\"memory\":\"1Gi\"}}},"
                      "{\"name\":\"side\"}]");
    fx_decide(ps, dep, NULL, MLA_OP_CREATE, "shop", &d);
    cr_assert_not(d.allowed);
    cr_assert(strstr(d.message, "container 'side' has no memory request"), "%s", d.message);
    cr_assert_null(d.patch);
    mla_decision_fini(&d);
    cJSON_Delete(dep);
    mla_policy_set_unref(ps);
}

Test(decide, skip_scaledobject_decides_but_marks_no_write)
{
    struct mla_policy_set *ps = fx_load();
    cJSON *dep = fx_dep("x", "shop", "", EN ",\"ml-autoscaling.io/skip-scaledobject\":\"true\"", "3", NULL);
    struct mla_decision d;
    fx_decide(ps, dep, NULL, MLA_OP_CREATE, "shop", &d);
    cr_assert(d.allowed);
    cr_assert(d.skip_write);
    cr_assert_eq(d.action, MLA_ACT_APPLY);
    cr_assert_not_null(d.scaled_object);
    cr_assert_not_null(d.patch);
    mla_decision_fini(&d);
    cJSON_Delete(dep);
    mla_policy_set_unref(ps);
}

Test(decide, no_policy_set_is_a_denial_not_a_crash)
{
    cJSON *dep = fx_dep("x", "shop", "", EN, "3", NULL);
    struct mla_decision d;
    struct mla_review_request r = fx_req(dep, NULL, MLA_OP_CREATE, "shop");
    cr_assert_eq(mla_decide(NULL, &r, &d, NULL), MLA_OK);
    cr_assert_not(d.allowed);
    cr_assert_eq(d.code, 500);
    mla_decision_fini(&d);
    cJSON_Delete(dep);
}

#include <malloc.h>

/* The hot path allocates nothing (PRODUCT.md: not opted in must cost almost nothing). cJSON
 * allocations are counted through its hooks (the opted-in path makes hundreds); bytes in use
 * through glibc's statistics (replaced by the sanitizers: that half is skipped there). */
static long dt_allocs;
static void *dt_malloc(size_t n)
{
    dt_allocs++;
    return malloc(n);
}

Test(decide, not_opted_in_path_allocates_nothing)
{
    struct mla_policy_set *ps = fx_load();
    cJSON *dep = fx_dep("a", "shop", "", "\"owner\":\"me\"", "3", NULL);
    cJSON *old = fx_dep("a", "shop", "", "\"owner\":\"you\"", "3", NULL);
    cJSON *opted = fx_dep("a", "shop", "", EN, "3", NULL);
    struct mla_review_request r = fx_req(dep, old, MLA_OP_UPDATE, "shop");
    struct mla_review_request ro = fx_req(opted, NULL, MLA_OP_CREATE, "shop");
    struct mla_decision d;
    cJSON_Hooks hooks = {.malloc_fn = dt_malloc, .free_fn = free};
    cJSON_InitHooks(&hooks);
#if !defined(__SANITIZE_ADDRESS__)
    struct mallinfo2 before = mallinfo2();
#endif
    for (int i = 0; i < 1000; i++) {
        cr_assert_eq(mla_decide(ps, &r, &d, NULL), MLA_OK);
        cr_assert_eq(d.action, MLA_ACT_NONE);
        mla_decision_fini(&d);
    }
#if !defined(__SANITIZE_ADDRESS__)
    struct mallinfo2 after = mallinfo2();
    cr_assert_eq(after.uordblks, before.uordblks, "bytes in use changed: %zu -> %zu",
                 before.uordblks, after.uordblks);
#endif
    cr_assert_eq(dt_allocs, 0, "%ld cJSON allocations on the not-opted-in path", dt_allocs);
    /* the counter does see the opted-in path */
    cr_assert_eq(mla_decide(ps, &ro, &d, NULL), MLA_OK);
    cr_assert_gt(dt_allocs, 10);
    mla_decision_fini(&d);
    cJSON_InitHooks(NULL);
    cJSON_Delete(dep);
    cJSON_Delete(old);
    cJSON_Delete(opted);
    mla_policy_set_unref(ps);
}

/* Either sign of having been managed on the stored object - the opt-in annotation or the managed
 * label - is enough for removing the opt-in to remove the ScaledObject. */
Test(decide, opt_out_is_seen_from_the_annotation_or_the_label_alone)
{
    static const struct {
        const char *old_labels, *old_ann;
        enum mla_action want;
    } cases[] = {
        {"\"ml-autoscaling.io/managed\":\"true\"", EN ",\"ml-autoscaling.io/scaledobject\":\"x\"",
         MLA_ACT_REMOVE},
        {"", EN ",\"ml-autoscaling.io/scaledobject\":\"x\"", MLA_ACT_REMOVE},
        {"\"ml-autoscaling.io/managed\":\"true\"", "\"ml-autoscaling.io/scaledobject\":\"x\"",
         MLA_ACT_REMOVE},
        {"\"ml-autoscaling.io/managed\":\"false\"", "\"ml-autoscaling.io/enabled\":\"false\"",
         MLA_ACT_NONE},
        {"", "", MLA_ACT_NONE},
    };
    struct mla_policy_set *ps = fx_load();
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cJSON *old = fx_dep("x", "shop", cases[i].old_labels, cases[i].old_ann, "4", NULL);
        cJSON *neu = fx_dep("x", "shop", "", "", "4", NULL);
        struct mla_decision d;
        fx_decide(ps, neu, old, MLA_OP_UPDATE, "shop", &d);
        cr_assert(d.allowed);
        cr_assert_eq(d.action, cases[i].want, "case %zu: action %d", i, d.action);
        mla_decision_fini(&d);
        cJSON_Delete(old);
        cJSON_Delete(neu);
    }
    mla_policy_set_unref(ps);
}
