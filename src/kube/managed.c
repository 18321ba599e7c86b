/* kube/managed.c - reading server-side apply's record of who owns which field
 * (metadata.managedFields, FieldsV1), so that two field managers of this product (the worker's
 * ml-autoscaling and the predictive loop's ml-autoscaling-loop) can each leave alone what the
 * other owns. See kube.h. */
#include <string.h>

#include "mla/kube.h"

static const cJSON *mf_fields(const cJSON *obj, const char *manager)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(
                              cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "managedFields"))
    {
        const char *m = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "manager"));
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(e, "fieldsV1");
        if (m && !strcmp(m, manager) && cJSON_IsObject(f))
            return f;
    }
    return NULL;
}

bool mla_kube_field_owned(const cJSON *obj, const char *manager, const char *const *path)
{
    const cJSON *n = mf_fields(obj, manager);
    for (size_t i = 0; n && path[i]; i++) {
        const cJSON *c;
        const cJSON *next = NULL;
        cJSON_ArrayForEach(c, n)
        {
            /* "f:<key>": the member named key */
            if (c->string && !strncmp(c->string, "f:", 2) && !strcmp(c->string + 2, path[i]))
                next = c;
        }
        n = next;
    }
    return n != NULL;
}

bool mla_kube_manager_present(const cJSON *obj, const char *manager)
{
    const cJSON *f = mf_fields(obj, manager);
    return f && f->child;
}
