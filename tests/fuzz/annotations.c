/* fuzz/annotations.c - arbitrary annotation maps on an opted-in Deployment through the whole
 * decision. The input is lines "key=value" (a key without "/" gets the ml-autoscaling.io/
 * prefix; "\n" inside values is written as "\\n"); the first line is the namespace. The answer
 * is allowed, or denied with a message that names an annotation or the policy and carries no
 * control character. */
#include <cjson/cJSON.h>

#include "fuzz.h"
#include "mla/decide.h"
#include "mla/review.h"

static void fz_unescape(char *s)
{
    char *o = s;
    for (char *p = s; *p; p++) {
        if (p[0] == '\\' && p[1] == 'n') {
            *o++ = '\n';
            p++;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fz_str(data, size);
    char *rest = strchr(text, '\n');
    if (rest)
        *rest++ = '\0';
    const char *ns = *text ? text : "default";
    cJSON *dep = cJSON_CreateObject();
    cJSON_AddStringToObject(dep, "apiVersion", "apps/v1");
    cJSON_AddStringToObject(dep, "kind", "Deployment");
    cJSON *meta = cJSON_AddObjectToObject(dep, "metadata");
    cJSON_AddStringToObject(meta, "name", "fuzz-app");
    cJSON_AddStringToObject(meta, "namespace", ns);
    cJSON *labels = cJSON_AddObjectToObject(meta, "labels");
    cJSON_AddStringToObject(labels, "app", "fuzz");
    cJSON *anns = cJSON_AddObjectToObject(meta, "annotations");
    cJSON_AddStringToObject(anns, "ml-autoscaling.io/enabled", "true");
    for (char *line = rest, *next; line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        char *eq = strchr(line, '=');
        if (!eq)
            continue;
        *eq = '\0';
        fz_unescape(eq + 1);
        char key[512];
        snprintf(key, sizeof key, "%s%s", strchr(line, '/') ? "" : "ml-autoscaling.io/", line);
        cJSON_DeleteItemFromObjectCaseSensitive(anns, key);
        if (!strcmp(eq + 1, "<number>"))
            cJSON_AddNumberToObject(anns, key, 5);
        else
            cJSON_AddStringToObject(anns, key, eq + 1);
    }
    cJSON *spec = cJSON_AddObjectToObject(dep, "spec");
    cJSON_AddNumberToObject(spec, "replicas", 2);
    cJSON *tpl = cJSON_AddObjectToObject(spec, "template");
    cJSON *pspec = cJSON_AddObjectToObject(tpl, "spec");
    cJSON *ctrs = cJSON_AddArrayToObject(pspec, "containers");
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "name", "app");
    cJSON_AddItemToArray(ctrs, c);

    struct mla_review_request r = {
        .root = NULL, .uid = "u1", .kind_group = "apps", .kind_version = "v1",
        .kind = "Deployment", .resource = "deployments", .sub_resource = "", .op = MLA_OP_CREATE,
        .operation = "CREATE", .namespace_ = ns, .name = "fuzz-app", .object = dep,
        .old_object = NULL, .dry_run = false, .username = "fuzz"};
    struct mla_decision d;
    struct mla_err err;
    mla_err_clear(&err);
    if (mla_decide(fz_policies(), &r, &d, &err) != MLA_OK && d.allowed)
        abort();
    for (const unsigned char *p = (const unsigned char *)d.message; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            abort(); /* kubectl prints this to a terminal */
    if (!d.allowed && !strstr(d.message, "ml-autoscaling.io/") && !strstr(d.message, "polic"))
        abort(); /* a denial names what to fix */
    mla_decision_fini(&d);
    cJSON_Delete(dep);
    free(text);
    return 0;
}
