/* test_policy_resolve.c - defaults -> profile -> annotations: clamps warn, invalid values deny. */
#include <criterion/criterion.h>

#include "policy_fixture.h"

#define EN "\"ml-autoscaling.io/enabled\":\"true\","

static void decide_ann(const char *ann, struct mla_decision *d)
{
    struct mla_policy_set *ps = fx_load();
    char a[2048];
    snprintf(a, sizeof a, EN "%s", ann);
    cJSON *dep = fx_dep("web-app", "web-1", "", a, "3", NULL);
    fx_decide(ps, dep, NULL, MLA_OP_CREATE, "web-1", d);
    cJSON_Delete(dep);
    mla_policy_set_unref(ps);
}

static int so_int(const struct mla_decision *d, const char *key)
{
    const cJSON *v = fx_path(d->scaled_object, "spec", key, NULL);
    cr_assert(cJSON_IsNumber(v), "spec.%s missing", key);
    return v->valueint;
}

Test(policy_resolve, defaults_then_profile_then_annotations)
{
    struct mla_decision d;
    decide_ann("\"ml-autoscaling.io/min-replicas\":\"4\",\"ml-autoscaling.io/max-replicas\":\"12\","
               "\"ml-autoscaling.io/polling-seconds\":\"20\",\"ml-autoscaling.io/cooldown-seconds\":\"120\"",
               &d);
    cr_assert(d.allowed, "%s", d.message);
    cr_assert_eq(so_int(&d, "minReplicaCount"), 4);
    cr_assert_eq(so_int(&d, "maxReplicaCount"), 12);
    cr_assert_eq(so_int(&d, "pollingInterval"), 20);
    cr_assert_eq(so_int(&d, "cooldownPeriod"), 120);
    cr_assert(fx_has_warning(&d, "spec.replicas 3 is outside 4-12; set to 4"));
    cr_assert_eq(cJSON_GetArraySize(d.warnings), 1);
    mla_decision_fini(&d);
    decide_ann("\"ml-autoscaling.io/profile\":\"web\"", &d);
    cr_assert_eq(so_int(&d, "minReplicaCount"), 2);
    cr_assert_eq(so_int(&d, "maxReplicaCount"), 10);
    cr_assert_eq(so_int(&d, "pollingInterval"), 30);
    mla_decision_fini(&d);
}

Test(policy_resolve, every_clamp_warns)
{
    struct mla_decision d;
    decide_ann("\"ml-autoscaling.io/max-replicas\":\"99\",\"ml-autoscaling.io/polling-seconds\":\"1\","
               "\"ml-autoscaling.io/cooldown-seconds\":\"9999\"", &d);
    cr_assert(d.allowed, "%s", d.message);
    cr_assert_eq(so_int(&d, "maxReplicaCount"), 20);
    cr_assert_eq(so_int(&d, "pollingInterval"), 5);
    cr_assert_eq(so_int(&d, "cooldownPeriod"), 600);
    cr_assert(fx_has_warning(&d, "max-replicas 99 is outside the bounds 1-20"));
    cr_assert(fx_has_warning(&d, "polling-seconds 1 is outside the bounds 5-60 of policy 'web' profile 'web'; using 5"));
    cr_assert(fx_has_warning(&d, "cooldown-seconds 9999 is outside the bounds 30-600"));
    mla_decision_fini(&d);
    decide_ann("\"ml-autoscaling.io/scale-to-zero\":\"true\"", &d);
    cr_assert(d.allowed, "%s", d.message);
    cr_assert_eq(so_int(&d, "minReplicaCount"), 1);
    cr_assert(fx_has_warning(&d, "scale-to-zero: the bounds of policy 'web' keep at least 1"));
    mla_decision_fini(&d);
}

struct deny_case {
    const char *ann;
    const char *needle;
};

Test(policy_resolve, every_invalid_annotation_is_denied_with_allowed_values)
{
    static const struct deny_case cases[] = {
        {"\"ml-autoscaling.io/min-replicas\":\"two\"",
         "ml-autoscaling.io/min-replicas: \"two\" is not valid; allowed: an integer from 0 to 10000"},
        {"\"ml-autoscaling.io/max-replicas\":\"0\"",
         "ml-autoscaling.io/max-replicas: \"0\" is not valid; allowed: an integer from 1"},
        {"\"ml-autoscaling.io/max-replicas\":\" 3\"", "max-replicas: \" 3\" is not valid"},
        {"\"ml-autoscaling.io/min-replicas\":\"5\",\"ml-autoscaling.io/max-replicas\":\"3\"",
         "min-replicas 5 is greater than ml-autoscaling.io/max-replicas 3; allowed: min-replicas <= max-replicas"},
        {"\"ml-autoscaling.io/min-replicas\":\"15\"",
         "minReplicas 15 would be greater than maxReplicas 10"},
        {"\"ml-autoscaling.io/cooldown-seconds\":\"1m\"", "cooldown-seconds: \"1m\" is not valid"},
        {"\"ml-autoscaling.io/polling-seconds\":\"-5\"", "polling-seconds: \"-5\" is not valid"},
        {"\"ml-autoscaling.io/target-rps\":\"fast\"",
         "target-rps: \"fast\" is not a number; allowed: a number greater than 0"},
        {"\"ml-autoscaling.io/target-rps\":\"0\"", "target-rps: \"0\" is not a number"},
        {"\"ml-autoscaling.io/target-rps\":\"nan\"", "target-rps: \"nan\" is not a number"},
        {"\"ml-autoscaling.io/capacity-per-replica\":\"x\"", "capacity-per-replica: \"x\" is not a number"},
        {"\"ml-autoscaling.io/scale-to-zero\":\"yes\"",
         "scale-to-zero: \"yes\" is not allowed; allowed: \"true\" or \"false\""},
        {"\"ml-autoscaling.io/predictive\":\"off\"", "predictive: \"off\" is not allowed"},
        {"\"ml-autoscaling.io/skip-scaledobject\":\"1\"", "skip-scaledobject: \"1\" is not allowed"},
        {"\"ml-autoscaling.io/profile\":\"gpu\"",
         "ml-autoscaling.io/profile: unknown profile \"gpu\"; allowed: web, strict"},
        {"\"ml-autoscaling.io/target-gpu-utilization\":\"80\"",
         "target-gpu-utilization: unknown trigger for profile 'web' (policy 'web'); its triggers: cpu, memory, rps"},
        {"\"ml-autoscaling.io/queue-length\":\"10\"", "queue-length: unknown trigger"},
        {"\"ml-autoscaling.io/queue\":\"jobs\"", "queue: unknown trigger"},
        {"\"ml-autoscaling.io/business-hours\":\"weekdays 9-5\"",
         "business-hours: \"weekdays 9-5\" is not valid (business hours \"weekdays 9-5\": unknown day"},
        {"\"ml-autoscaling.io/business-hours\":\"Mon-Fri 09:00-09:00\"",
         "allowed: \"DAYS HH:MM-HH:MM [min=N]\" windows separated by ';'"},
        {"\"ml-autoscaling.io/timezone\":\"Berlin time\"",
         "timezone: \"Berlin time\" is not a known time zone; allowed: an IANA time zone name"},
        {"\"ml-autoscaling.io/timezone\":\"Europe/Atlantis\"", "timezone: \"Europe/Atlantis\" is not a known"},
        {"\"ml-autoscaling.io/replicas\":\"3\"",
         "unknown annotation ml-autoscaling.io/replicas; allowed keys under ml-autoscaling.io/: enabled, profile,"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct mla_decision d;
        decide_ann(cases[i].ann, &d);
        cr_assert_not(d.allowed, "case %zu allowed", i);
        cr_assert_eq(d.code, 400);
        cr_assert_null(d.patch);
        cr_assert_null(d.scaled_object);
        cr_assert_eq(d.action, MLA_ACT_NONE);
        cr_assert(strstr(d.message, cases[i].needle), "case %zu: %s", i, d.message);
        mla_decision_fini(&d);
    }
}

Test(policy_resolve, several_invalid_annotations_in_one_message)
{
    struct mla_decision d;
    decide_ann("\"ml-autoscaling.io/min-replicas\":\"a\",\"ml-autoscaling.io/target-rps\":\"b\"", &d);
    cr_assert_not(d.allowed);
    cr_assert(strstr(d.message, "min-replicas: \"a\""));
    cr_assert(strstr(d.message, "; ml-autoscaling.io/target-rps: \"b\""), "%s", d.message);
    mla_decision_fini(&d);
}

Test(policy_resolve, product_written_annotations_are_known_keys)
{
    struct mla_decision d;
    decide_ann("\"ml-autoscaling.io/scaledobject\":\"web-app\",\"ml-autoscaling.io/policy\":\"web\","
               "\"ml-autoscaling.io/policy-hash\":\"sha256:0123456789abcdef\"", &d);
    cr_assert(d.allowed, "%s", d.message);
    mla_decision_fini(&d);
}

Test(policy_resolve, scale_to_zero_refused_with_only_cpu_memory_triggers)
{
    const char *txt = "policies:\n  - name: z\n    defaults:\n      maxReplicas: 5\n      bounds: {replicas: {min: 0, max: 5}}\n"
                      "      triggers: [{type: cpu, threshold: 50}]\n";
    const char *names[] = {"z.yaml"};
    struct mla_policy_set *ps = NULL;
    cr_assert_eq(mla_policy_set_load_texts(names, &txt, 1, &ps, NULL, NULL), MLA_OK);
    cJSON *dep = fx_dep("a", "n", "", EN "\"ml-autoscaling.io/scale-to-zero\":\"true\"", NULL, NULL);
    struct mla_decision d;
    fx_decide(ps, dep, NULL, MLA_OP_CREATE, "n", &d);
    cr_assert_not(d.allowed);
    cr_assert(strstr(d.message, "ml-autoscaling.io/scale-to-zero: minReplicaCount 0 with only "
                                "cpu/memory triggers cannot work"), "%s", d.message);
    mla_decision_fini(&d);
    cJSON_Delete(dep);
    dep = fx_dep("a", "n", "", EN "\"ml-autoscaling.io/min-replicas\":\"0\"", NULL, NULL);
    fx_decide(ps, dep, NULL, MLA_OP_CREATE, "n", &d);
    cr_assert_not(d.allowed);
    cr_assert(strstr(d.message, "ml-autoscaling.io/min-replicas: minReplicaCount 0"), "%s", d.message);
    mla_decision_fini(&d);
    cJSON_Delete(dep);
    mla_policy_set_unref(ps);
}

Test(policy_resolve, scale_to_zero_with_external_trigger_uses_idle_period)
{
    struct mla_policy_set *ps = fx_load();
    cJSON *dep = fx_dep("w", "jobs", "\"tier\":\"worker\",\"env\":\"prod\",\"team\":\"t\"",
                        EN "\"ml-autoscaling.io/queue\":\"q\",\"ml-autoscaling.io/scale-to-zero\":\"true\"",
                        NULL, NULL);
    struct mla_decision d;
    fx_decide(ps, dep, NULL, MLA_OP_CREATE, "jobs", &d);
    cr_assert(d.allowed, "%s", d.message);
    cr_assert_eq(so_int(&d, "minReplicaCount"), 0);
    cr_assert_eq(so_int(&d, "cooldownPeriod"), 900); /* scaleToZero.idleSeconds */
    mla_decision_fini(&d);
    cJSON_Delete(dep);
    mla_policy_set_unref(ps);
}

/* min-replicas is clamped to the policy's bounds (1-20 in the fixture) on both sides, with the
 * warning naming the bounds; a min above the bounds follows the max down. */
Test(policy_resolve, min_replicas_outside_the_bounds_is_clamped_with_a_warning)
{
    static const struct {
        const char *ann;
        int min, max;
        const char *warning;
    } cases[] = {
        {"\"ml-autoscaling.io/min-replicas\":\"0\"", 1, 10,
         "min-replicas 0 is outside the bounds 1-20 of policy 'web' profile 'web'; using 1"},
        {"\"ml-autoscaling.io/min-replicas\":\"25\",\"ml-autoscaling.io/max-replicas\":\"30\"", 20,
         20, "min-replicas 25 is outside the bounds 1-20 of policy 'web' profile 'web'; using 20"},
        {"\"ml-autoscaling.io/min-replicas\":\"20\",\"ml-autoscaling.io/max-replicas\":\"20\"", 20,
         20, NULL},
        {"\"ml-autoscaling.io/min-replicas\":\"1\"", 1, 10, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct mla_decision d;
        decide_ann(cases[i].ann, &d);
        cr_assert(d.allowed, "%s: %s", cases[i].ann, d.message);
        cr_assert_eq(so_int(&d, "minReplicaCount"), cases[i].min, "%s", cases[i].ann);
        cr_assert_eq(so_int(&d, "maxReplicaCount"), cases[i].max, "%s", cases[i].ann);
        if (cases[i].warning)
            cr_assert(fx_has_warning(&d, cases[i].warning), "%s: no warning '%s'", cases[i].ann,
                      cases[i].warning);
        else
            cr_assert_not(fx_has_warning(&d, "min-replicas"), "%s: unexpected clamp warning",
                          cases[i].ann);
        mla_decision_fini(&d);
    }
}

/* The list of allowed keys in the denial comes from the one annotation table. */
Test(policy_resolve, unknown_annotation_lists_exactly_the_user_keys)
{
    struct mla_decision d;
    decide_ann("\"ml-autoscaling.io/min-replica\":\"2\"", &d);
    cr_assert_not(d.allowed);
    cr_assert(strstr(d.message, "unknown annotation ml-autoscaling.io/min-replica; allowed keys "
                     "under ml-autoscaling.io/: enabled, profile, min-replicas, max-replicas, "
                     "scale-to-zero, queue, queue-length, target-rps, target-latency-ms, "
                     "target-gpu-utilization, target-tokens-per-second, cooldown-seconds, "
                     "polling-seconds, predictive, business-hours, timezone, "
                     "capacity-per-replica, skip-scaledobject"), "%s", d.message);
    mla_decision_fini(&d);
}

/* The integer ranges of the annotation table are inclusive at both ends. */
Test(policy_resolve, integer_annotations_accept_their_range_ends)
{
    static const struct {
        const char *ann;
        bool allowed;
    } cases[] = {
        {"\"ml-autoscaling.io/max-replicas\":\"10000\"", true},
        {"\"ml-autoscaling.io/max-replicas\":\"10001\"", false},
        {"\"ml-autoscaling.io/max-replicas\":\"1\",\"ml-autoscaling.io/min-replicas\":\"1\"", true},
        {"\"ml-autoscaling.io/cooldown-seconds\":\"604800\"", true},
        {"\"ml-autoscaling.io/cooldown-seconds\":\"604801\"", false},
        {"\"ml-autoscaling.io/polling-seconds\":\"86400\"", true},
        {"\"ml-autoscaling.io/polling-seconds\":\"0\"", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct mla_decision d;
        decide_ann(cases[i].ann, &d);
        cr_assert_eq(d.allowed, cases[i].allowed, "%s: %s", cases[i].ann, d.message);
        mla_decision_fini(&d);
    }
}
