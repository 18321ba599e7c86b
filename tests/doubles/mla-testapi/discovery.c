/* discovery.c - what `kubectl api-resources` and the product's KEDA check read from the test API
 * server: GET /apis (APIGroupList), /apis/<group> (APIGroup) and /apis/<group>/<version>
 * (APIResourceList), shaped like kube-apiserver's answers, for the groups the server serves.
 *
 * KEDA's CRD can be removed and installed at run time (POST /_control {"kedaInstalled":false}):
 * while removed, keda.sh is absent from /apis and every /apis/keda.sh/... path answers 404
 * NotFound "the server could not find the requested resource", as on a cluster without KEDA.
 * Stored ScaledObjects are hidden meanwhile, not deleted (tests start without KEDA; a real
 * cluster would delete them with the CRD).
 *
 * State: `keda_removed`, guarded by the server's mutex (every entry point runs with it held).
 */
#include "discovery.h"

#include <stdio.h>
#include <string.h>

struct disc_res {
    const char *name, *singular, *kind, *short_name;
    bool namespaced;
};

struct disc_group {
    const char *group, *version; /* group "" is the legacy core API, not under /apis */
    struct disc_res res[2];
};

static const struct disc_group disc_groups[] = {
    {"apps", "v1",
     {{"deployments", "deployment", "Deployment", "deploy", true},
      {"statefulsets", "statefulset", "StatefulSet", "sts", true}}},
    {"autoscaling", "v2",
     {{"horizontalpodautoscalers", "horizontalpodautoscaler", "HorizontalPodAutoscaler", "hpa",
       true}}},
    {"autoscaling.k8s.io", "v1",
     {{"verticalpodautoscalers", "verticalpodautoscaler", "VerticalPodAutoscaler", "vpa",
       true}}},
    {"coordination.k8s.io", "v1", {{"leases", "lease", "Lease", NULL, true}}},
    {"events.k8s.io", "v1", {{"events", "event", "Event", "ev", true}}},
    {"keda.sh", "v1alpha1", {{"scaledobjects", "scaledobject", "ScaledObject", "so", true}}},
};
#define DISC_N (sizeof disc_groups / sizeof disc_groups[0])

static bool keda_removed; /* guarded by ta.mu */

static bool disc_hidden(const struct disc_group *g)
{
    return keda_removed && !strcmp(g->group, "keda.sh");
}

static cJSON *disc_not_found(void)
{
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "kind", "Status");
    cJSON_AddStringToObject(s, "apiVersion", "v1");
    cJSON_AddItemToObject(s, "metadata", cJSON_CreateObject());
    cJSON_AddStringToObject(s, "status", "Failure");
    cJSON_AddStringToObject(s, "message", "the server could not find the requested resource");
    cJSON_AddStringToObject(s, "reason", "NotFound");
    cJSON *d = cJSON_AddObjectToObject(s, "details");
    cJSON *causes = cJSON_AddArrayToObject(d, "causes");
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "reason", "UnexpectedServerResponse");
    cJSON_AddStringToObject(c, "message", "404 page not found");
    cJSON_AddItemToArray(causes, c);
    cJSON_AddNumberToObject(s, "code", 404);
    return s;
}

static cJSON *disc_group_obj(const struct disc_group *g, bool with_kind)
{
    cJSON *o = cJSON_CreateObject();
    if (with_kind) {
        cJSON_AddStringToObject(o, "kind", "APIGroup");
        cJSON_AddStringToObject(o, "apiVersion", "v1");
    }
    cJSON_AddStringToObject(o, "name", g->group);
    char gv[128];
    snprintf(gv, sizeof gv, "%s/%s", g->group, g->version);
    cJSON *v = cJSON_CreateObject();
    cJSON_AddStringToObject(v, "groupVersion", gv);
    cJSON_AddStringToObject(v, "version", g->version);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "versions"), v);
    cJSON_AddItemToObject(o, "preferredVersion", cJSON_Duplicate(v, 1));
    return o;
}

static cJSON *disc_resource_list(const struct disc_group *g)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "kind", "APIResourceList");
    cJSON_AddStringToObject(o, "apiVersion", "v1");
    char gv[128];
    snprintf(gv, sizeof gv, "%s/%s", g->group, g->version);
    cJSON_AddStringToObject(o, "groupVersion", gv);
    cJSON *list = cJSON_AddArrayToObject(o, "resources");
    static const char *const verbs[] = {"delete", "deletecollection", "get", "list", "patch",
                                        "create", "update", "watch"};
    for (size_t i = 0; i < 2 && g->res[i].name; i++) {
        const struct disc_res *r = &g->res[i];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "name", r->name);
        cJSON_AddStringToObject(e, "singularName", r->singular);
        cJSON_AddBoolToObject(e, "namespaced", r->namespaced);
        cJSON_AddStringToObject(e, "kind", r->kind);
        cJSON_AddItemToObject(e, "verbs", cJSON_CreateStringArray(verbs, 8));
        if (r->short_name)
            cJSON_AddItemToObject(e, "shortNames", cJSON_CreateStringArray(&r->short_name, 1));
        cJSON_AddItemToArray(list, e);
        if (!strcmp(g->group, "keda.sh") || !strcmp(g->group, "apps")) {
            char sub[96];
            snprintf(sub, sizeof sub, "%s/status", r->name);
            static const char *const sverbs[] = {"get", "patch", "update"};
            cJSON *st = cJSON_CreateObject();
            cJSON_AddStringToObject(st, "name", sub);
            cJSON_AddStringToObject(st, "singularName", "");
            cJSON_AddBoolToObject(st, "namespaced", r->namespaced);
            cJSON_AddStringToObject(st, "kind", r->kind);
            cJSON_AddItemToObject(st, "verbs", cJSON_CreateStringArray(sverbs, 3));
            cJSON_AddItemToArray(list, st);
        }
    }
    return o;
}

bool ta_disc_serve(const char *method, const char *url, long *code, cJSON **out)
{
    if (keda_removed && !strncmp(url, "/apis/keda.sh", 13) && (!url[13] || url[13] == '/')) {
        *code = 404;
        *out = disc_not_found();
        return true;
    }
    if (strcmp(method, "GET") != 0)
        return false;
    if (!strcmp(url, "/apis") || !strcmp(url, "/apis/")) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "kind", "APIGroupList");
        cJSON_AddStringToObject(o, "apiVersion", "v1");
        cJSON *groups = cJSON_AddArrayToObject(o, "groups");
        for (size_t i = 0; i < DISC_N; i++)
            if (!disc_hidden(&disc_groups[i]))
                cJSON_AddItemToArray(groups, disc_group_obj(&disc_groups[i], false));
        *code = 200;
        *out = o;
        return true;
    }
    for (size_t i = 0; i < DISC_N; i++) {
        const struct disc_group *g = &disc_groups[i];
        char gpath[96], vpath[128];
        snprintf(gpath, sizeof gpath, "/apis/%s", g->group);
        snprintf(vpath, sizeof vpath, "/apis/%s/%s", g->group, g->version);
        if (!strcmp(url, gpath)) {
            *code = 200;
            *out = disc_group_obj(g, true);
            return true;
        }
        if (!strcmp(url, vpath)) {
            *code = 200;
            *out = disc_resource_list(g);
            return true;
        }
    }
    return false;
}

void ta_disc_control(const cJSON *control)
{
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(control, "reset")))
        keda_removed = false;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(control, "kedaInstalled");
    if (cJSON_IsBool(v))
        keda_removed = !cJSON_IsTrue(v);
}
