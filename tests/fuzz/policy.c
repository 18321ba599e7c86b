/* fuzz/policy.c - arbitrary policy files (YAML, and JSON, which the same loader reads) through
 * the loader and compiler; a set that loads is then used for one decision. */
#include <cjson/cJSON.h>

#include "fuzz.h"
#include "mla/decide.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fz_str(data, size);
    const char *names[] = {size && (data[0] == '{' || data[0] == '[') ? "p.json" : "p.yaml"};
    const char *texts[] = {text};
    struct mla_policy_set *ps = NULL;
    struct mla_policy_diags diags;
    mla_policy_diags_init(&diags);
    struct mla_err err;
    mla_err_clear(&err);
    if (mla_policy_set_load_texts(names, texts, 1, &ps, &diags, &err) == MLA_OK) {
        cJSON *dep = cJSON_Parse(
            "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"a\","
            "\"namespace\":\"default\",\"labels\":{\"app\":\"a\"},\"annotations\":{"
            "\"ml-autoscaling.io/enabled\":\"true\",\"ml-autoscaling.io/queue\":\"q\","
            "\"ml-autoscaling.io/business-hours\":\"Mon-Fri 09:00-18:00\"}},\"spec\":{"
            "\"template\":{\"spec\":{\"containers\":[{\"name\":\"app\"}]}}}}");
        struct mla_review_request r = {
            .root = NULL, .uid = "u1", .kind_group = "apps", .kind_version = "v1",
            .kind = "Deployment", .resource = "deployments", .sub_resource = "",
            .op = MLA_OP_CREATE, .operation = "CREATE", .namespace_ = "default", .name = "a",
            .object = dep, .old_object = NULL, .dry_run = false, .username = "fuzz"};
        struct mla_decision d;
        if (mla_decide(ps, &r, &d, &err) != MLA_OK && d.allowed)
            abort();
        mla_decision_fini(&d);
        cJSON_Delete(dep);
        mla_policy_set_unref(ps);
    }
    mla_policy_diags_fini(&diags);
    free(text);
    return 0;
}
