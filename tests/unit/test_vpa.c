/* test_vpa.c - which VerticalPodAutoscalers fight a ScaledObject: update modes, the target,
 * controlledResources per container (own policy, "*", default), and the triggers' resources. */
#include <criterion/criterion.h>
#include <string.h>

#include "mla/vpa.h"

#define POD "{\"containers\":[{\"name\":\"app\"},{\"name\":\"sidecar\"}]}"

struct vpa_case {
    const char *name;
    const char *vpa;  /* JSON */
    const char *pod;  /* JSON of the pod spec, NULL for none */
    unsigned res;
    const char *why;  /* NULL: no conflict */
};

static const struct vpa_case vpa_cases[] = {
    {"no updatePolicy is Auto", "{\"spec\":{\"targetRef\":{\"kind\":\"Deployment\",\"name\":\"web\"}}}",
     POD, MLA_VPA_CPU, "updateMode Auto controls cpu"},
    {"Recreate, both", "{\"spec\":{\"targetRef\":{\"kind\":\"Deployment\",\"name\":\"web\"},"
     "\"updatePolicy\":{\"updateMode\":\"Recreate\"}}}", POD, MLA_VPA_CPU | MLA_VPA_MEMORY,
     "updateMode Recreate controls cpu, memory"},
    {"InPlaceOrRecreate", "{\"spec\":{\"targetRef\":{\"kind\":\"Deployment\",\"name\":\"web\"},"
     "\"updatePolicy\":{\"updateMode\":\"InPlaceOrRecreate\"}}}", NULL, MLA_VPA_MEMORY,
     "updateMode InPlaceOrRecreate controls memory"},
    {"Off", "{\"spec\":{\"targetRef\":{\"kind\":\"Deployment\",\"name\":\"web\"},"
     "\"updatePolicy\":{\"updateMode\":\"Off\"}}}", POD, MLA_VPA_CPU, NULL},
    {"Initial", "{\"spec\":{\"targetRef\":{\"kind\":\"Deployment\",\"name\":\"web\"},"
     "\"updatePolicy\":{\"updateMode\":\"Initial\"}}}", POD, MLA_VPA_CPU, NULL},
    {"another Deployment", "{\"spec\":{\"targetRef\":{\"kind\":\"Deployment\",\"name\":\"api\"}}}",
     POD, MLA_VPA_CPU, NULL},
    {"a StatefulSet of that name", "{\"spec\":{\"targetRef\":{\"kind\":\"StatefulSet\",\"name\":\"web\"}}}",
     POD, MLA_VPA_CPU, NULL},
    {"no cpu/memory trigger", "{\"spec\":{\"targetRef\":{\"kind\":\"Deployment\",\"name\":\"web\"}}}",
     POD, 0, NULL},
    {"memory only vs a cpu trigger", "{\"spec\":{\"targetRef\":{\"kind\":\"Deployment\",\"name\":\"web\"},"
     "\"resourcePolicy\":{\"containerPolicies\":[{\"containerName\":\"*\",\"controlledResources\":[\"memory\"]}]}}}",
     POD, MLA_VPA_CPU, NULL},
    {"memory only vs cpu and memory", "{\"spec\":{\"targetRef\":{\"kind\":\"Deployment\",\"name\":\"web\"},"
     "\"resourcePolicy\":{\"containerPolicies\":[{\"containerName\":\"*\",\"controlledResources\":[\"memory\"]}]}}}",
     POD, MLA_VPA_CPU | MLA_VPA_MEMORY, "updateMode Auto controls memory"},
    {"one container off, the other by default", "{\"spec\":{\"targetRef\":{\"kind\":\"Deployment\",\"name\":\"web\"},"
     "\"resourcePolicy\":{\"containerPolicies\":[{\"containerName\":\"app\",\"mode\":\"Off\"}]}}}",
     POD, MLA_VPA_CPU, "updateMode Auto controls cpu"},
    {"every container off or memory", "{\"spec\":{\"targetRef\":{\"kind\":\"Deployment\",\"name\":\"web\"},"
     "\"resourcePolicy\":{\"containerPolicies\":[{\"containerName\":\"app\",\"mode\":\"Off\"},"
     "{\"containerName\":\"*\",\"controlledResources\":[\"memory\"]}]}}}",
     POD, MLA_VPA_CPU, NULL},
    {"a container's own policy wins over *", "{\"spec\":{\"targetRef\":{\"kind\":\"Deployment\",\"name\":\"web\"},"
     "\"resourcePolicy\":{\"containerPolicies\":[{\"containerName\":\"*\",\"mode\":\"Off\"},"
     "{\"containerName\":\"sidecar\",\"controlledResources\":[\"cpu\"]}]}}}",
     POD, MLA_VPA_CPU, "updateMode Auto controls cpu"},
};

Test(vpa, conflicts_table)
{
    for (size_t i = 0; i < sizeof vpa_cases / sizeof vpa_cases[0]; i++) {
        const struct vpa_case *c = &vpa_cases[i];
        cJSON *v = cJSON_Parse(c->vpa), *p = c->pod ? cJSON_Parse(c->pod) : NULL;
        cr_assert_not_null(v, "%s: bad JSON", c->name);
        char why[128] = "";
        bool got = mla_vpa_conflicts(v, "web", p, c->res, why, sizeof why);
        cr_expect_eq(got, c->why != NULL, "%s: got %d", c->name, got);
        if (c->why)
            cr_expect_str_eq(why, c->why, "%s", c->name);
        cJSON_Delete(v);
        cJSON_Delete(p);
    }
}

/* A StatefulSet's ScaledObject is fought by the VPA on that StatefulSet, not by one on a
 * Deployment of the same name. */
Test(vpa, statefulset_target)
{
    cJSON *sts = cJSON_Parse("{\"spec\":{\"targetRef\":{\"kind\":\"StatefulSet\",\"name\":\"web\"}}}");
    cJSON *dep = cJSON_Parse("{\"spec\":{\"targetRef\":{\"kind\":\"Deployment\",\"name\":\"web\"}}}");
    char why[128] = "";
    cr_assert(mla_vpa_conflicts_kind(sts, "StatefulSet", "web", NULL, MLA_VPA_MEMORY, why,
                                     sizeof why));
    cr_assert_str_eq(why, "updateMode Auto controls memory");
    cr_assert_not(mla_vpa_conflicts_kind(dep, "StatefulSet", "web", NULL, MLA_VPA_MEMORY, why,
                                         sizeof why));
    cJSON_Delete(sts);
    cJSON_Delete(dep);
}

Test(vpa, so_resources)
{
    cJSON *so = cJSON_Parse("{\"spec\":{\"triggers\":[{\"type\":\"prometheus\"},{\"type\":\"memory\"},"
                            "{\"type\":\"cpu\"}]}}");
    cr_expect_eq(mla_vpa_so_resources(so), MLA_VPA_CPU | MLA_VPA_MEMORY);
    cJSON_Delete(so);
    so = cJSON_Parse("{\"spec\":{\"triggers\":[{\"type\":\"rabbitmq\"}]}}");
    cr_expect_eq(mla_vpa_so_resources(so), 0u);
    cJSON_Delete(so);
    cr_expect_eq(mla_vpa_so_resources(NULL), 0u);
}
