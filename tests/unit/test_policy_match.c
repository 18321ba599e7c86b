/* test_policy_match.c - which policy applies: namespace globs, selectors, precedence. */
#include <criterion/criterion.h>

#include <fnmatch.h>

#include "../../src/policy/policy-int.h"
#include "policy_fixture.h"

static cJSON *labels(const char *json)
{
    cJSON *l = cJSON_Parse(json);
    cr_assert_not_null(l);
    return l;
}

Test(policy_match, namespace_globs_and_exclusions)
{
    struct mla_policy_set *ps = fx_load();
    size_t n;
    const struct mla_policy *web = &mla_policy_set_policies(ps, &n)[0];
    cr_assert(mla_policy_matches(web, "web-prod", NULL));
    cr_assert(mla_policy_matches(web, "shop", NULL));
    cr_assert_not(mla_policy_matches(web, "shopping", NULL));
    cr_assert_not(mla_policy_matches(web, "web-legacy", NULL)); /* excluded */
    cr_assert_not(mla_policy_matches(web, "default", NULL));
    mla_policy_set_unref(ps);
}

Test(policy_match, selector_operators_as_kubernetes_defines_them)
{
    struct mla_policy_set *ps = fx_load();
    size_t n;
    const struct mla_policy *w = &mla_policy_set_policies(ps, &n)[1];
    struct {
        const char *labels;
        bool want;
    } cases[] = {
        {"{\"tier\":\"worker\",\"env\":\"prod\",\"team\":\"a\"}", true},
        {"{\"tier\":\"worker\",\"env\":\"staging\",\"team\":\"a\",\"zone\":\"us-1\"}", true},
        {"{\"tier\":\"worker\",\"env\":\"dev\",\"team\":\"a\"}", false},          /* In */
        {"{\"tier\":\"web\",\"env\":\"prod\",\"team\":\"a\"}", false},            /* matchLabels */
        {"{\"tier\":\"worker\",\"env\":\"prod\",\"team\":\"a\",\"legacy\":\"\"}", false}, /* DoesNotExist */
        {"{\"tier\":\"worker\",\"env\":\"prod\"}", false},                         /* Exists */
        {"{\"tier\":\"worker\",\"env\":\"prod\",\"team\":\"\",\"zone\":\"eu-1\"}", false}, /* NotIn */
        {"{\"env\":\"prod\",\"team\":\"a\"}", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cJSON *l = labels(cases[i].labels);
        cr_assert_eq(mla_policy_matches(w, "anything", l), cases[i].want, "case %zu", i);
        cJSON_Delete(l);
    }
    cr_assert_not(mla_policy_matches(w, "x", NULL));
    mla_policy_set_unref(ps);
}

Test(policy_match, precedence_priority_then_profile_annotation)
{
    struct mla_policy_set *ps = fx_load();
    const char *worker = "\"tier\":\"worker\",\"env\":\"prod\",\"team\":\"a\"";
    /* both policies match in web-x: priority 5 (web) wins without a profile annotation */
    cJSON *d1 = fx_dep("a", "web-x", worker, "\"ml-autoscaling.io/enabled\":\"true\"", "2", NULL);
    struct mla_decision d;
    fx_decide(ps, d1, NULL, MLA_OP_CREATE, "web-x", &d);
    cr_assert(d.allowed, "%s", d.message);
    cr_assert_str_eq(d.policy, "web");
    cr_assert_str_eq(d.profile, "web");
    mla_decision_fini(&d);
    cJSON_Delete(d1);
    /* an explicit profile picks the policy that defines it */
    cJSON *d2 = fx_dep("a", "web-x", worker,
                       "\"ml-autoscaling.io/enabled\":\"true\",\"ml-autoscaling.io/profile\":\"nightly\","
                       "\"ml-autoscaling.io/queue\":\"q\"", "2", NULL);
    fx_decide(ps, d2, NULL, MLA_OP_CREATE, "web-x", &d);
    cr_assert(d.allowed, "%s", d.message);
    cr_assert_str_eq(d.policy, "workers");
    cr_assert_str_eq(d.profile, "nightly");
    mla_decision_fini(&d);
    cJSON_Delete(d2);
    /* defaultProfile when the workers policy is the only match */
    cJSON *d3 = fx_dep("a", "batch", worker,
                       "\"ml-autoscaling.io/enabled\":\"true\",\"ml-autoscaling.io/queue\":\"q\"",
                       NULL, NULL);
    fx_decide(ps, d3, NULL, MLA_OP_CREATE, "batch", &d);
    cr_assert(d.allowed, "%s", d.message);
    cr_assert_str_eq(d.profile, "queue");
    cr_assert_eq(d.hpa_mode, MLA_HPA_TRANSFER);
    mla_decision_fini(&d);
    cJSON_Delete(d3);
    mla_policy_set_unref(ps);
}

Test(policy_match, no_match_and_profile_out_of_scope_are_denied)
{
    struct mla_policy_set *ps = fx_load();
    cJSON *d1 = fx_dep("a", "default", "", "\"ml-autoscaling.io/enabled\":\"true\"", NULL, NULL);
    struct mla_decision d;
    fx_decide(ps, d1, NULL, MLA_OP_CREATE, "default", &d);
    cr_assert_not(d.allowed);
    cr_assert_eq(d.code, 400);
    cr_assert(strstr(d.message, "no policy matches this Deployment in namespace default"), "%s",
              d.message);
    mla_decision_fini(&d);
    cJSON_Delete(d1);
    cJSON *d2 = fx_dep("a", "default", "",
                       "\"ml-autoscaling.io/enabled\":\"true\",\"ml-autoscaling.io/profile\":\"strict\"",
                       NULL, NULL);
    fx_decide(ps, d2, NULL, MLA_OP_CREATE, "default", &d);
    cr_assert_not(d.allowed);
    cr_assert(strstr(d.message, "\"strict\" (policy 'web') does not apply"), "%s", d.message);
    mla_decision_fini(&d);
    cJSON_Delete(d2);
    mla_policy_set_unref(ps);
}

/* The namespace test skips fnmatch for plain names and "prefix*": it must answer as fnmatch
 * does for every glob, those two shapes and the rest. */
Test(policy_match, namespace_globs_answer_as_fnmatch)
{
    static const char *const globs[] = {
        "ml-autoscaling", "kube-*", "kube-", "*", "", "a*", "a**", "*a", "a?c", "[ab]c", "a\\*",
        "a\\", "kube-*-x", ".*", "/", "a/*", "ml-autoscaling*", "\\k", "[",
    };
    static const char *const names[] = {
        "ml-autoscaling", "ml-autoscaling2", "ml-autoscalin", "kube-system", "kube-", "kube",
        "", "a", "ab", "abc", "bc", "a*", "a\\", "a/b", ".hidden", "kube-a-x", "k", "/", "ac",
    };
    for (size_t g = 0; g < sizeof globs / sizeof *globs; g++)
        for (size_t i = 0; i < sizeof names / sizeof *names; i++)
            cr_assert_eq(mla__policy_glob_matches(globs[g], names[i]),
                         fnmatch(globs[g], names[i], 0) == 0, "glob '%s', name '%s'", globs[g],
                         names[i]);
}
