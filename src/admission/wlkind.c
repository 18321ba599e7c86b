/* admission/wlkind.c - the table of workload kinds a ScaledObject can target (see wlkind.h). */
#include "mla/wlkind.h"

#include <string.h>

#include "mla/mem.h"

/* Row 0 is the default. KEDA scales anything with a /scale subresource; these are the kinds
 * the product decides for (their pod template is at spec.template). */
static const struct mla_wl_kind wl_table[] = {
    {"Deployment", "apps", "v1", "apps/v1", "deployments"},
    {"StatefulSet", "apps", "v1", "apps/v1", "statefulsets"},
};
#define WL_N (sizeof wl_table / sizeof wl_table[0])

const struct mla_wl_kind *mla_wl_deployment(void)
{
    return &wl_table[0];
}

const struct mla_wl_kind *mla_wl_job(void)
{
    static const struct mla_wl_kind job = {"Job", "batch", "v1", "batch/v1", "jobs"};
    return &job;
}

const struct mla_wl_kind *mla_wl_find(const char *kind)
{
    for (size_t i = 0; kind && i < WL_N; i++)
        if (!strcmp(wl_table[i].kind, kind))
            return &wl_table[i];
    return NULL;
}

const struct mla_wl_kind *mla_wl_find_gvk(const char *group, const char *version,
                                          const char *kind)
{
    const struct mla_wl_kind *k = mla_wl_find(kind);
    if (!k || !group || strcmp(group, k->group) || (version && *version &&
                                                     strcmp(version, k->version)))
        return NULL;
    return k;
}

const struct mla_wl_kind *mla_wl_of_so(const cJSON *so)
{
    const char *k = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(so, "spec"),
                                         "scaleTargetRef"), "kind"));
    return k ? mla_wl_find(k) : mla_wl_deployment();
}

const struct mla_wl_kind *mla_wl_of_object(const cJSON *obj)
{
    const char *k = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, "kind"));
    return k ? mla_wl_find(k) : mla_wl_deployment();
}

char *mla_wl_path(const struct mla_wl_kind *wl, const char *ns, const char *name)
{
    if (!wl)
        wl = mla_wl_deployment();
    return mla_xasprintf("/apis/%s/namespaces/%s/%s/%s", wl->api_version, ns, wl->resource,
                         name);
}
