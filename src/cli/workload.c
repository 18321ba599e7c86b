/* cli/workload.c - a Deployment (or StatefulSet) from YAML documents and its AdmissionReview request, shared by
 * `render` and `test` (see workload.h). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "mla/wlkind.h"
#include "mla/yaml.h"
#include "workload.h"

cJSON *mla__cli_deployment(const json_t *docs, const char *prog, const char *path)
{
    cJSON *dep = NULL;
    for (size_t i = 0; i < json_array_size(docs) && !dep; i++) {
        json_t *d = json_array_get(docs, i);
        const char *kind = json_string_value(json_object_get(d, "kind"));
        const char *av = json_string_value(json_object_get(d, "apiVersion"));
        const struct mla_wl_kind *wl = mla_wl_find(kind);
        if (wl && av && !strcmp(av, wl->api_version))
            dep = mla_yaml_to_cjson(d);
        else if (kind && !strcmp(kind, "Job") && av && !strcmp(av, "batch/v1"))
            dep = mla_yaml_to_cjson(d); /* a ScaledJob template (scaledjob.h) */
    }
    if (!dep) {
        fprintf(stderr, "%s: %s: no apps/v1 Deployment or StatefulSet (or batch/v1 Job) in the "
                "file\n", prog, path);
        return NULL;
    }
    /* kube-apiserver would refuse non-string labels/annotations before any webhook runs. */
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(dep, "metadata");
    const char *maps[2] = {"labels", "annotations"};
    for (int m = 0; m < 2; m++)
        for (const cJSON *e = cJSON_GetObjectItemCaseSensitive(md, maps[m]) ?
                                  cJSON_GetObjectItemCaseSensitive(md, maps[m])->child : NULL;
             e; e = e->next)
            if (!cJSON_IsString(e)) {
                fprintf(stderr, "%s: %s: metadata.%s.%s must be a string "
                        "(quote the value: \"...\")\n", prog, path, maps[m], e->string);
                cJSON_Delete(dep);
                return NULL;
            }
    return dep;
}

cJSON *mla__cli_request(const char *op, const char *ns, cJSON *dep, cJSON *old,
                        struct mla_review_request *req)
{
    /* mla__cli_deployment only returns kinds of the table; a caller's bare object: Deployment */
    const struct mla_wl_kind *wl = mla_wl_of_object(dep);
    if (!wl)
        wl = mla_wl_deployment();
    cJSON *root = cJSON_CreateObject();
    cJSON *rq = cJSON_AddObjectToObject(root, "request");
    cJSON_AddStringToObject(rq, "uid", "render");
    const char *k = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(dep, "kind"));
    bool job = k && !strcmp(k, "Job"); /* mla__cli_deployment took a Deployment or a Job */
    cJSON *kind = cJSON_AddObjectToObject(rq, "kind");
    cJSON_AddStringToObject(kind, "group", job ? "batch" : wl->group);
    cJSON_AddStringToObject(kind, "version", job ? "v1" : wl->version);
    cJSON_AddStringToObject(kind, "kind", job ? "Job" : wl->kind);
    cJSON_AddStringToObject(rq, "operation", op);
    if (!ns || !*ns)
        ns = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(dep, "metadata"), "namespace"));
    cJSON_AddStringToObject(rq, "namespace", ns && *ns ? ns : "default");
    const char *nm = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(dep, "metadata"), "name"));
    cJSON_AddStringToObject(rq, "name", nm ? nm : "");
    cJSON_AddItemToObject(rq, "object", dep); /* root owns dep now */
    if (old)
        cJSON_AddItemToObject(rq, "oldObject", old); /* root owns old now */
    *req = (struct mla_review_request){
        .root = root,
        .uid = "render",
        .kind_group = job ? "batch" : wl->group,
        .kind_version = job ? "v1" : wl->version,
        .kind = job ? "Job" : wl->kind,
        .resource = job ? "jobs" : wl->resource,
        .sub_resource = "",
        .op = !strcmp(op, "UPDATE") ? MLA_OP_UPDATE : MLA_OP_CREATE,
        .operation = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rq, "operation")),
        .namespace_ = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rq, "namespace")),
        .name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rq, "name")),
        .object = dep,
        .old_object = old,
        .dry_run = false,
        .username = "render",
    };
    return root;
}
