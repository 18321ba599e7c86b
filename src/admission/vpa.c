/* admission/vpa.c - whether a VerticalPodAutoscaler fights a ScaledObject (see vpa.h). */
#include <stdio.h>
#include <string.h>

#include "mla/vpa.h"

static const char *vpa_str(const cJSON *o, const char *k)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

unsigned mla_vpa_so_resources(const cJSON *so)
{
    unsigned r = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(
                              cJSON_GetObjectItemCaseSensitive(so, "spec"), "triggers"))
    {
        const char *type = vpa_str(t, "type");
        if (type && !strcmp(type, "cpu"))
            r |= MLA_VPA_CPU;
        else if (type && !strcmp(type, "memory"))
            r |= MLA_VPA_MEMORY;
    }
    return r;
}

/* The resources a container policy controls (its controlledResources; both by default), 0 when
 * its mode is Off. pol NULL: VPA's default policy. */
static unsigned vpa_policy_res(const cJSON *pol)
{
    const char *mode = vpa_str(pol, "mode");
    if (mode && !strcmp(mode, "Off"))
        return 0;
    const cJSON *cr = cJSON_GetObjectItemCaseSensitive(pol, "controlledResources");
    if (!cJSON_IsArray(cr))
        return MLA_VPA_CPU | MLA_VPA_MEMORY;
    unsigned r = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, cr)
    {
        const char *s = cJSON_GetStringValue(e);
        if (s && !strcmp(s, "cpu"))
            r |= MLA_VPA_CPU;
        else if (s && !strcmp(s, "memory"))
            r |= MLA_VPA_MEMORY;
    }
    return r;
}

/* The policy VPA applies to container `cname`: its own, else "*", else NULL (the default). */
static const cJSON *vpa_policy_for(const cJSON *pols, const char *cname)
{
    const cJSON *star = NULL, *p;
    cJSON_ArrayForEach(p, pols)
    {
        const char *n = vpa_str(p, "containerName");
        if (n && cname && !strcmp(n, cname))
            return p;
        if (n && !strcmp(n, "*"))
            star = p;
    }
    return star;
}

bool mla_vpa_conflicts(const cJSON *vpa, const char *name, const cJSON *pod_spec, unsigned res,
                       char *why, size_t n)
{
    return mla_vpa_conflicts_kind(vpa, "Deployment", name, pod_spec, res, why, n);
}

bool mla_vpa_conflicts_kind(const cJSON *vpa, const char *wkind, const char *name,
                            const cJSON *pod_spec, unsigned res, char *why, size_t n)
{
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(vpa, "spec");
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(spec, "targetRef");
    const char *kind = vpa_str(ref, "kind"), *tname = vpa_str(ref, "name");
    if (!res || !kind || strcmp(kind, wkind) || !tname || !name || strcmp(tname, name))
        return false;
    /* VPA's default updateMode is Auto: an absent updatePolicy updates pods. */
    const char *mode = vpa_str(cJSON_GetObjectItemCaseSensitive(spec, "updatePolicy"),
                               "updateMode");
    if (!mode)
        mode = "Auto";
    if (strcmp(mode, "Auto") && strcmp(mode, "Recreate") && strcmp(mode, "InPlaceOrRecreate"))
        return false;
    const cJSON *pols = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(spec, "resourcePolicy"), "containerPolicies");
    unsigned ctl = 0;
    const cJSON *cs = cJSON_GetObjectItemCaseSensitive(pod_spec, "containers");
    if (cJSON_GetArraySize(cs) > 0) {
        const cJSON *c;
        cJSON_ArrayForEach(c, cs)
            ctl |= vpa_policy_res(vpa_policy_for(pols, vpa_str(c, "name")));
    } else {
        ctl = vpa_policy_res(vpa_policy_for(pols, NULL));
    }
    unsigned hit = ctl & res;
    if (!hit)
        return false;
    snprintf(why, n, "updateMode %s controls %s%s%s", mode, hit & MLA_VPA_CPU ? "cpu" : "",
             hit == (MLA_VPA_CPU | MLA_VPA_MEMORY) ? ", " : "", hit & MLA_VPA_MEMORY ? "memory" : "");
    return true;
}
