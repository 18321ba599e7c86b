/* mla-testapi - a small Kubernetes API server for the integration tests and the demo.
 *
 * Real HTTP(S) and JSON, the endpoints ml-autoscaling uses: Deployments and StatefulSets (apps/v1), HPAs
 * (autoscaling/v2), ScaledObjects (keda.sh/v1alpha1), Leases (coordination.k8s.io/v1), Events
 * (core/v1 and events.k8s.io/v1). GET/LIST (labelSelector), POST, PUT, PATCH (merge patch,
 * strategic merge patch treated as merge on built-in types and 415 on custom resources, JSON
 * Patch, server-side apply with field managers (ssa.c)), DELETE; the CRD schema of custom
 * resources (crd.c, crd.h: pruning, 422 Invalid, the apply's 500 "failed to create typed patch
 * object"); resourceVersion from a global counter with 409 on conflict; uid/creationTimestamp on
 * create; garbage collection through ownerReferences (asynchronous: gcDelayMs after the owner is
 * gone or when it never existed, checked before each request; a DELETE that orphans - batch/v1
 * Jobs by default, propagationPolicy Orphan - strips the ownerReferences instead: gcpolicy.h);
 * bearer-token check; KEDA's
 * admission webhook rules on ScaledObject writes (see /work/shared/keda/README.md, messages as KEDA prints them).
 *
 * Test control (no token needed):
 *   POST /_control {"latencyMs":N, "fail":{"status":429,"count":3,"retryAfter":1,"path":"sub",
 *                   "verb":"PATCH"}, "dropConnections":N, "down":true|false,
 *                   "kedaAdoptsHpa":true|false, "kedaInstalled":true|false, "gc":true|false,
 *                   "gcDelayMs":N, "reset":true}
 *   (kedaInstalled and discovery documents: discovery.c)
 *   and strict.h's: "strictNamespaces", "namespaces", "statusWrite", "applyTypedError".
 *   A write that changes nothing keeps the resourceVersion, as the real server does.
 *   GET /_log  -> {"items":[{"verb","path","query","status","created"}...]};  DELETE /_log clears.
 *
 * Server-side apply and managedFields (ssa.c): field sets per manager, shown in
 * metadata.managedFields; a field another manager owns with another value is a 409 conflict
 * without force=true; what an applier stops applying goes unless another manager owns it;
 * ownerReferences merge by uid. Lists take ?limit= and ?continue= (sorted by namespace/name).
 *
 * DESIGN: libmicrohttpd runs a thread per connection (injected latency must not stall other
 * clients); one mutex guards the whole store, the control settings and the log. The main
 * thread waits for SIGINT/SIGTERM, then stops the daemon and frees everything (valgrind-clean).
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "discovery.h"
#include "gcpolicy.h"
#include "fieldsel.h"
#include "jobs.h"
#include "mla/buf.h"
#include "mla/kube.h"
#include "mla/mem.h"
#include "crd.h"
#include "ssa.h"
#include "strict.h"

struct ta_res {
    const char *prefix;   /* "/apis/apps/v1" or "/api/v1" */
    const char *plural;   /* "deployments" */
    const char *kind;     /* "Deployment" */
    const char *api_version;
    const char *qualified; /* "deployments.apps", for messages */
};

static const struct ta_res ta_resources[] = {
    {"/apis/apps/v1", "deployments", "Deployment", "apps/v1", "deployments.apps"},
    {"/apis/apps/v1", "statefulsets", "StatefulSet", "apps/v1", "statefulsets.apps"},
    {"/apis/autoscaling/v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler",
     "autoscaling/v2", "horizontalpodautoscalers.autoscaling"},
    {"/apis/autoscaling.k8s.io/v1", "verticalpodautoscalers", "VerticalPodAutoscaler",
     "autoscaling.k8s.io/v1", "verticalpodautoscalers.autoscaling.k8s.io"},
    {"/apis/batch/v1", "jobs", "Job", "batch/v1", "jobs.batch"},
    {"/apis/keda.sh/v1alpha1", "scaledjobs", "ScaledJob", "keda.sh/v1alpha1",
     "scaledjobs.keda.sh"},
    {"/apis/keda.sh/v1alpha1", "scaledobjects", "ScaledObject", "keda.sh/v1alpha1",
     "scaledobjects.keda.sh"},
    {"/apis/coordination.k8s.io/v1", "leases", "Lease", "coordination.k8s.io/v1",
     "leases.coordination.k8s.io"},
    {"/api/v1", "events", "Event", "v1", "events"},
    {"/apis/events.k8s.io/v1", "events", "Event", "events.k8s.io/v1", "events.events.k8s.io"},
};
#define TA_NRES (sizeof ta_resources / sizeof ta_resources[0])

struct ta_obj {
    struct ta_obj *next;
    const struct ta_res *res;
    char *ns;
    char *name;
    cJSON *o;        /* owned: the stored object */
    cJSON *managers; /* owned: field sets per manager (ssa.h) */
    double dangling_since; /* wall time its owners were first all missing; 0: not dangling */
};

struct ta_fail {
    long status;
    long count;
    long retry_after;
    char path[256];
    char verb[16];
};

static struct {
    pthread_mutex_t mu;
    struct ta_obj *objs;        /* guarded by mu */
    unsigned long long rv;      /* guarded by mu */
    unsigned long long uidn;    /* guarded by mu */
    long latency_ms;            /* guarded by mu */
    struct ta_fail fail;        /* guarded by mu */
    long drop;                  /* guarded by mu */
    bool down;                  /* guarded by mu */
    bool keda_adopts_hpa;       /* guarded by mu */
    bool gc_off;                /* guarded by mu */
    long gc_delay_ms;           /* guarded by mu */
    cJSON *log;                 /* guarded by mu */
    char *token;                /* immutable after start */
} ta = {.mu = PTHREAD_MUTEX_INITIALIZER, .gc_delay_ms = 200};

/* ------------------------------------------------------------------ helpers */

static void ta_now(char *out, size_t n)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    mla_kube_time_format(out, n, (double)tv.tv_sec, false);
}

static cJSON *ta_status(long code, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static cJSON *ta_status(long code, const char *reason, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "kind", "Status");
    cJSON_AddStringToObject(s, "apiVersion", "v1");
    cJSON_AddItemToObject(s, "metadata", cJSON_CreateObject());
    cJSON_AddStringToObject(s, "status", code < 400 ? "Success" : "Failure");
    cJSON_AddStringToObject(s, "message", msg);
    cJSON_AddStringToObject(s, "reason", reason);
    cJSON_AddNumberToObject(s, "code", (double)code);
    return s;
}

static cJSON *ta_meta(cJSON *o)
{
    cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "metadata");
    if (!cJSON_IsObject(m)) {
        cJSON_DeleteItemFromObjectCaseSensitive(o, "metadata");
        m = cJSON_AddObjectToObject(o, "metadata");
    }
    return m;
}

static void ta_set_str(cJSON *o, const char *k, const char *v)
{
    cJSON_DeleteItemFromObjectCaseSensitive(o, k);
    cJSON_AddStringToObject(o, k, v);
}

static void ta_bump_rv(cJSON *o)
{
    char rv[32];
    snprintf(rv, sizeof rv, "%llu", ++ta.rv);
    ta_set_str(ta_meta(o), "resourceVersion", rv);
}

static struct ta_obj *ta_find(const struct ta_res *r, const char *ns, const char *name)
{
    for (struct ta_obj *x = ta.objs; x; x = x->next)
        if (!strcmp(x->res->plural, r->plural) && !strcmp(x->res->prefix, r->prefix) &&
            !strcmp(x->ns, ns) && !strcmp(x->name, name))
            return x;
    return NULL;
}

/* Events of both groups share one store, as in Kubernetes. */
static bool ta_same_res(const struct ta_res *a, const struct ta_res *b)
{
    return !strcmp(a->plural, b->plural) &&
           (!strcmp(a->prefix, b->prefix) || !strcmp(a->plural, "events"));
}

static struct ta_obj *ta_find_res(const char *plural, const char *ns, const char *name)
{
    for (struct ta_obj *x = ta.objs; x; x = x->next)
        if (!strcmp(x->res->plural, plural) && !strcmp(x->ns, ns) && !strcmp(x->name, name))
            return x;
    return NULL;
}

cJSON *ta_store_get(const char *plural, const char *ns, const char *name)
{
    struct ta_obj *x = ta_find_res(plural, ns, name);
    return x ? x->o : NULL;
}

void ta_store_bump_rv(cJSON *o)
{
    ta_bump_rv(o);
}

static void ta_obj_free(struct ta_obj *x)
{
    free(x->ns);
    free(x->name);
    cJSON_Delete(x->o);
    cJSON_Delete(x->managers);
    free(x);
}

/* RFC 7386 merge patch of `patch` into `target` (target modified in place). */
static void ta_merge(cJSON *target, const cJSON *patch)
{
    const cJSON *p;
    cJSON_ArrayForEach(p, patch)
    {
        if (cJSON_IsNull(p)) {
            cJSON_DeleteItemFromObjectCaseSensitive(target, p->string);
            continue;
        }
        cJSON *t = cJSON_GetObjectItemCaseSensitive(target, p->string);
        if (cJSON_IsObject(p) && cJSON_IsObject(t)) {
            ta_merge(t, p);
        } else if (cJSON_IsObject(p)) {
            cJSON *n = cJSON_CreateObject();
            ta_merge(n, p);
            cJSON_DeleteItemFromObjectCaseSensitive(target, p->string);
            cJSON_AddItemToObject(target, p->string, n);
        } else {
            cJSON_DeleteItemFromObjectCaseSensitive(target, p->string);
            cJSON_AddItemToObject(target, p->string, cJSON_Duplicate(p, 1));
        }
    }
}

/* ------------------------------------------------------------------ KEDA webhook rules */

static const cJSON *ta_path(const cJSON *o, const char *a, const char *b, const char *c)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);
    if (b)
        x = cJSON_GetObjectItemCaseSensitive(x, b);
    if (c)
        x = cJSON_GetObjectItemCaseSensitive(x, c);
    return x;
}

static const char *ta_pstr(const cJSON *o, const char *a, const char *b, const char *c)
{
    return cJSON_GetStringValue(ta_path(o, a, b, c));
}

#define KEDA_DENY "admission webhook \"vscaledobject.kb.io\" denied the request: "

/* Returns NULL when the ScaledObject passes, else a new Status (the webhook's denial). */
static cJSON *ta_keda_validate(const char *ns, const cJSON *so, bool dry_run)
{
    const char *name = mla_kube_meta_str(so, "name");
    const char *target = ta_pstr(so, "spec", "scaleTargetRef", "name");
    const char *tkind = ta_pstr(so, "spec", "scaleTargetRef", "kind");
    if (!tkind)
        tkind = "Deployment";
    if (!name || strlen(name) > 63)
        return ta_status(403, "Forbidden", KEDA_DENY "ScaledObject.name must be 63 characters "
                                                     "or fewer: %s", name ? name : "");
    if (strlen(name) + strlen("keda-hpa-") > 63)
        return ta_status(403, "Forbidden", KEDA_DENY "the derived HPA name keda-hpa-%s is longer "
                                                     "than 63 characters", name);
    if (!target)
        return ta_status(400, "BadRequest", "ScaledObject.spec.scaleTargetRef.name is required");
    const char *gvk = !strcmp(tkind, "Deployment")    ? "apps/v1.Deployment"
                      : !strcmp(tkind, "StatefulSet") ? "apps/v1.StatefulSet"
                                                      : tkind;
    /* another HPA targets the workload */
    for (struct ta_obj *x = ta.objs; x; x = x->next) {
        if (strcmp(x->res->plural, "horizontalpodautoscalers") || strcmp(x->ns, ns))
            continue;
        const char *hk = ta_pstr(x->o, "spec", "scaleTargetRef", "kind");
        const char *hn = ta_pstr(x->o, "spec", "scaleTargetRef", "name");
        if (!hk || !hn || strcmp(hk, tkind) || strcmp(hn, target))
            continue;
        bool owned = false;
        const cJSON *ref;
        cJSON_ArrayForEach(ref, ta_path(x->o, "metadata", "ownerReferences", NULL))
        {
            const char *rk = ta_pstr(ref, "kind", NULL, NULL);
            const char *rn = ta_pstr(ref, "name", NULL, NULL);
            if (rk && rn && !strcmp(rk, "ScaledObject") && !strcmp(rn, name))
                owned = true;
        }
        if (owned)
            continue;
        const char *tr = mla_kube_annotation(so, "scaledobject.keda.sh/transfer-hpa-ownership");
        const char *hpaname = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
            ta_path(so, "spec", "advanced", "horizontalPodAutoscalerConfig"), "name"));
        if (tr && !strcmp(tr, "true") && hpaname && !strcmp(hpaname, x->name))
            continue;
        return ta_status(403, "Forbidden", KEDA_DENY "the workload '%s' of type '%s' is already "
                         "managed by the hpa '%s'", target, gvk, x->name);
    }
    /* another ScaledObject targets it */
    for (struct ta_obj *x = ta.objs; x; x = x->next) {
        if (strcmp(x->res->plural, "scaledobjects") || strcmp(x->ns, ns) || !strcmp(x->name, name))
            continue;
        const char *on = ta_pstr(x->o, "spec", "scaleTargetRef", "name");
        const char *ok = ta_pstr(x->o, "spec", "scaleTargetRef", "kind");
        if (on && !strcmp(on, target) && !strcmp(ok ? ok : "Deployment", tkind))
            return ta_status(403, "Forbidden", KEDA_DENY "the workload '%s' of type '%s' is "
                             "already managed by the ScaledObject '%s'", target, gvk, x->name);
    }
    /* cpu/memory triggers */
    const cJSON *triggers = ta_path(so, "spec", "triggers", NULL);
    int n_cm = 0, n_all = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, triggers)
    {
        n_all++;
        const char *type = ta_pstr(t, "type", NULL, NULL);
        if (!type || (strcmp(type, "cpu") && strcmp(type, "memory")))
            continue;
        n_cm++;
        if (dry_run)
            continue; /* KEDA skips the workload lookup on dry run */
        /* KEDA reads the pod template of a Deployment or a StatefulSet, and skips other kinds */
        bool sts = !strcmp(tkind, "StatefulSet");
        if (!sts && strcmp(tkind, "Deployment"))
            continue;
        struct ta_obj *d = ta_find_res(sts ? "statefulsets" : "deployments", ns, target);
        if (!d)
            return ta_status(403, "Forbidden", KEDA_DENY "%s \"%s\" not found",
                             sts ? "statefulsets.apps" : "deployments.apps", target);
        const char *cname = ta_pstr(t, "metadata", "containerName", NULL);
        const cJSON *c;
        cJSON_ArrayForEach(c, ta_path(d->o, "spec", "template", "spec"))
        {
            if (!c->string || strcmp(c->string, "containers"))
                continue;
            const cJSON *ct;
            cJSON_ArrayForEach(ct, c)
            {
                const char *cn = ta_pstr(ct, "name", NULL, NULL);
                if (cname && *cname && (!cn || strcmp(cn, cname)))
                    continue;
                if (!ta_pstr(ct, "resources", "requests", type) &&
                    !cJSON_IsNumber(ta_path(ct, "resources", "requests", type)))
                    return ta_status(403, "Forbidden", KEDA_DENY "the scaledobject has a %s "
                                     "trigger but the container %s doesn't have the %s request "
                                     "defined", type, cn ? cn : "", type);
            }
        }
    }
    if (n_all > 0 && n_cm == n_all) {
        const cJSON *minr = ta_path(so, "spec", "minReplicaCount", NULL);
        if (!minr || (cJSON_IsNumber(minr) && minr->valuedouble == 0))
            return ta_status(403, "Forbidden", KEDA_DENY "scaledobject has only cpu/memory "
                             "triggers AND minReplica is 0 (scale to zero doesn't work in this "
                             "case)");
    }
    return NULL;
}

/* Simulates KEDA's operator adopting an HPA named for transfer (when switched on). */
static void ta_keda_adopt(const char *ns, const cJSON *so)
{
    const char *tr = mla_kube_annotation(so, "scaledobject.keda.sh/transfer-hpa-ownership");
    const char *hpaname = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
        ta_path(so, "spec", "advanced", "horizontalPodAutoscalerConfig"), "name"));
    if (!ta.keda_adopts_hpa || !tr || strcmp(tr, "true") || !hpaname)
        return;
    struct ta_obj *h = ta_find_res("horizontalpodautoscalers", ns, hpaname);
    if (!h)
        return;
    cJSON *refs = cJSON_CreateArray();
    cJSON *ref = cJSON_CreateObject();
    cJSON_AddStringToObject(ref, "apiVersion", "keda.sh/v1alpha1");
    cJSON_AddStringToObject(ref, "kind", "ScaledObject");
    cJSON_AddStringToObject(ref, "name", mla_kube_meta_str(so, "name"));
    cJSON_AddStringToObject(ref, "uid", mla_kube_meta_str(so, "uid"));
    cJSON_AddBoolToObject(ref, "controller", 1);
    cJSON_AddItemToArray(refs, ref);
    cJSON *m = ta_meta(h->o);
    cJSON_DeleteItemFromObjectCaseSensitive(m, "ownerReferences");
    cJSON_AddItemToObject(m, "ownerReferences", refs);
    ta_bump_rv(h->o);
}

/* ------------------------------------------------------------------ store operations */

struct ta_req {
    const struct ta_res *res;
    char ns[256];
    char name[256];
    bool has_ns;
    bool has_name;
};

/* Creates `o` (stolen). Returns the status code and *out a new response body. */
static long ta_create(const struct ta_res *r, const char *ns, cJSON *o, bool dry_run,
                      cJSON **out)
{
    cJSON *m = ta_meta(o);
    const char *name = mla_kube_meta_str(o, "name");
    char gen_name[300];
    if (!name || !*name) {
        const char *gn = mla_kube_meta_str(o, "generateName");
        if (!gn) {
            cJSON_Delete(o);
            *out = ta_status(422, "Invalid", "%s: metadata.name: Required value", r->kind);
            return 422;
        }
        snprintf(gen_name, sizeof gen_name, "%s%05llx", gn, (ta.uidn * 7919 + 12345) & 0xfffff);
        ta_set_str(m, "name", gen_name);
        name = mla_kube_meta_str(o, "name");
    }
    if (ta_find(r, ns, name)) {
        *out = ta_status(409, "AlreadyExists", "%s \"%s\" already exists", r->qualified, name);
        cJSON_Delete(o);
        return 409;
    }
    cJSON *invalid = ta_crd_validate(r->prefix, r->plural, name, o); /* before admission */
    if (invalid) {
        cJSON_Delete(o);
        *out = invalid;
        return 422;
    }
    if (!strcmp(r->plural, "scaledobjects")) {
        cJSON *deny = ta_keda_validate(ns, o, dry_run);
        if (deny) {
            long code = (long)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(deny, "code"));
            cJSON_Delete(o);
            *out = deny;
            return code;
        }
    }
    ta_set_str(m, "namespace", ns);
    char uid[64], ts[40];
    ta.uidn++;
    snprintf(uid, sizeof uid, "%08llx-0000-4000-8000-%012llx", (unsigned long long)getpid(),
             ta.uidn);
    ta_set_str(m, "uid", uid);
    ta_now(ts, sizeof ts);
    ta_set_str(m, "creationTimestamp", ts);
    cJSON_DeleteItemFromObjectCaseSensitive(m, "generation");
    cJSON_AddNumberToObject(m, "generation", 1);
    ta_set_str(o, "apiVersion", r->api_version);
    ta_set_str(o, "kind", r->kind);
    if (!strcmp(r->plural, "jobs"))
        ta_job_created(o, uid);
    ta_bump_rv(o);
    if (dry_run) {
        *out = o;
        return 201;
    }
    struct ta_obj *x = mla_xcalloc(1, sizeof *x);
    x->res = r;
    x->ns = mla_xstrdup(ns);
    x->name = mla_xstrdup(name);
    x->o = o; /* x takes o */
    x->managers = cJSON_CreateObject();
    x->next = ta.objs;
    ta.objs = x;
    if (!strcmp(r->plural, "scaledobjects"))
        ta_keda_adopt(ns, o);
    *out = cJSON_Duplicate(o, 1);
    return 201;
}

/* Replaces x->o by `n` (stolen) keeping the system fields; validates ScaledObjects. */
static long ta_replace(struct ta_obj *x, cJSON *n, bool dry_run, cJSON **out)
{
    cJSON *invalid = ta_crd_validate(x->res->prefix, x->res->plural, x->name, n);
    if (invalid) {
        cJSON_Delete(n);
        *out = invalid;
        return 422;
    }
    if (!strcmp(x->res->plural, "scaledobjects")) {
        cJSON *deny = ta_keda_validate(x->ns, n, dry_run);
        if (deny) {
            long code = (long)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(deny, "code"));
            cJSON_Delete(n);
            *out = deny;
            return code;
        }
    }
    cJSON *m = ta_meta(n);
    static const char *const keep[] = {"name", "namespace", "uid", "creationTimestamp"};
    for (size_t i = 0; i < 4; i++) {
        const char *v = mla_kube_meta_str(x->o, keep[i]);
        if (v)
            ta_set_str(m, keep[i], v);
    }
    double gen = cJSON_GetNumberValue(ta_path(x->o, "metadata", "generation", NULL));
    if (gen != gen)
        gen = 1;
    if (!cJSON_Compare(cJSON_GetObjectItemCaseSensitive(x->o, "spec"),
                       cJSON_GetObjectItemCaseSensitive(n, "spec"), 1))
        gen += 1;
    cJSON_DeleteItemFromObjectCaseSensitive(m, "generation");
    cJSON_AddNumberToObject(m, "generation", gen);
    ta_set_str(n, "apiVersion", x->res->api_version);
    ta_set_str(n, "kind", x->res->kind);
    if (ta_strict_noop(x->o, n)) { /* the real server stores nothing: same resourceVersion */
        cJSON_Delete(n);
        *out = cJSON_Duplicate(x->o, 1);
        return 200;
    }
    ta_bump_rv(n);
    if (dry_run) {
        *out = n;
        return 200;
    }
    cJSON_Delete(x->o);
    x->o = n; /* x takes n */
    if (!strcmp(x->res->plural, "scaledobjects"))
        ta_keda_adopt(x->ns, n);
    *out = cJSON_Duplicate(n, 1);
    return 200;
}

/* Deletes x. What it owns goes later, in the garbage collector's sweep (ta_gc_sweep), as in
 * Kubernetes: a dependent is still there right after its owner's DELETE answered. */
static void ta_delete(struct ta_obj *x)
{
    for (struct ta_obj **pp = &ta.objs; *pp; pp = &(*pp)->next)
        if (*pp == x) {
            *pp = x->next;
            break;
        }
    ta_obj_free(x);
    ta.rv++;
}

/* Orphaning, as the garbage collector does it before an owner deleted with the Orphan policy
 * goes: every dependent loses its ownerReferences to `uid` (a write: new resourceVersion) and
 * stays. Done at once here; the real server keeps the owner, with the orphan finalizer, until
 * it is done. */
static void ta_orphan_dependents(const char *uid)
{
    if (!uid)
        return;
    for (struct ta_obj *y = ta.objs; y; y = y->next) {
        cJSON *m = cJSON_GetObjectItemCaseSensitive(y->o, "metadata");
        cJSON *refs = cJSON_GetObjectItemCaseSensitive(m, "ownerReferences");
        bool changed = false;
        for (int i = cJSON_GetArraySize(refs) - 1; i >= 0; i--) {
            const char *u = ta_pstr(cJSON_GetArrayItem(refs, i), "uid", NULL, NULL);
            if (u && !strcmp(u, uid)) {
                cJSON_DeleteItemFromArray(refs, i);
                changed = true;
            }
        }
        if (!changed)
            continue;
        if (cJSON_GetArraySize(refs) == 0)
            cJSON_DeleteItemFromObjectCaseSensitive(m, "ownerReferences");
        ta_bump_rv(y->o);
    }
}

static bool ta_uid_exists(const char *uid)
{
    for (struct ta_obj *y = ta.objs; y; y = y->next) {
        const char *u = mla_kube_meta_str(y->o, "uid");
        if (u && !strcmp(u, uid))
            return true;
    }
    return false;
}

/* The garbage collector, asynchronous like kube-controller-manager's: an object whose owners
 * (ownerReferences by uid) are all missing - deleted, or never there - is deleted once it has
 * been so for gc_delay_ms, checked before each request. Dependents of dependents follow. */
static void ta_gc_sweep(void)
{
    if (ta.gc_off)
        return;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    double now = (double)tv.tv_sec + tv.tv_usec / 1e6;
    bool again = true;
    while (again) {
        again = false;
        for (struct ta_obj *x = ta.objs; x; x = x->next) {
            const cJSON *refs = ta_path(x->o, "metadata", "ownerReferences", NULL);
            bool any = false, some = false;
            const cJSON *ref;
            cJSON_ArrayForEach(ref, refs)
            {
                const char *u = ta_pstr(ref, "uid", NULL, NULL);
                some = true;
                any = any || (u && ta_uid_exists(u));
            }
            if (!some || any) {
                x->dangling_since = 0;
                continue;
            }
            if (x->dangling_since == 0)
                x->dangling_since = now;
            if ((now - x->dangling_since) * 1000 >= (double)ta.gc_delay_ms) {
                ta_delete(x);
                again = true;
                break;
            }
        }
    }
}

static cJSON *ta_list(const struct ta_res *r, const char *ns, const char *selector, long *code)
{
    cJSON *items = cJSON_CreateArray();
    struct mla_err e;
    mla_err_clear(&e);
    for (struct ta_obj *x = ta.objs; x; x = x->next) {
        if (!ta_same_res(x->res, r) || (ns && strcmp(x->ns, ns)))
            continue;
        bool match = true;
        if (selector &&
            mla_kube_selector_match(selector, ta_path(x->o, "metadata", "labels", NULL), &match,
                                    &e) != MLA_OK) {
            cJSON_Delete(items);
            *code = 400;
            return ta_status(400, "BadRequest", "unable to parse requirement: %s", e.msg);
        }
        /* a reference, not a copy: the page is copied once cut (ta_list_copy), so a paged
         * LIST of N objects copies one page, not all N, per request */
        if (match)
            cJSON_AddItemToArray(items, cJSON_CreateObjectReference(x->o->child));
    }
    cJSON *l = cJSON_CreateObject();
    char kind[96], rv[32];
    snprintf(kind, sizeof kind, "%sList", r->kind);
    snprintf(rv, sizeof rv, "%llu", ta.rv);
    cJSON_AddStringToObject(l, "kind", kind);
    cJSON_AddStringToObject(l, "apiVersion", r->api_version);
    cJSON_AddObjectToObject(l, "metadata");
    cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(l, "metadata"), "resourceVersion", rv);
    cJSON_AddItemToObject(l, "items", items);
    *code = 200;
    return l;
}

/* The list's items, references into the store until now, become copies (the answer is printed
 * after ta.mu is released). */
static void ta_list_copy(cJSON *list)
{
    cJSON *items = cJSON_GetObjectItemCaseSensitive(list, "items");
    cJSON *copies = cJSON_CreateArray();
    const cJSON *it;
    cJSON_ArrayForEach(it, items)
        cJSON_AddItemToArray(copies, cJSON_Duplicate(it, 1));
    cJSON_ReplaceItemInObjectCaseSensitive(list, "items", copies);
}

static long ta_conflict(const struct ta_res *r, const char *name, cJSON **out)
{
    *out = ta_status(409, "Conflict", "Operation cannot be fulfilled on %s \"%s\": the object has "
                     "been modified; please apply your changes to the latest version and try "
                     "again", r->qualified, name);
    return 409;
}

/* ------------------------------------------------------------------ HTTP */

struct ta_conn {
    struct mla_buf body;
    bool too_big;
};

static bool ta_route(const char *url, struct ta_req *rq)
{
    memset(rq, 0, sizeof *rq);
    for (size_t i = 0; i < TA_NRES; i++) {
        const struct ta_res *r = &ta_resources[i];
        size_t pl = strlen(r->prefix);
        if (strncmp(url, r->prefix, pl) != 0 || url[pl] != '/')
            continue;
        const char *rest = url + pl + 1;
        char seg[4][256];
        int n = 0;
        while (*rest && n < 4) {
            const char *sl = strchr(rest, '/');
            size_t len = sl ? (size_t)(sl - rest) : strlen(rest);
            if (len >= sizeof seg[0])
                return false;
            memcpy(seg[n], rest, len);
            seg[n][len] = '\0';
            n++;
            rest = sl ? sl + 1 : rest + len;
        }
        if (*rest)
            continue;
        if (n >= 3 && !strcmp(seg[0], "namespaces") && !strcmp(seg[2], r->plural)) {
            rq->res = r;
            rq->has_ns = true;
            snprintf(rq->ns, sizeof rq->ns, "%s", seg[1]);
            if (n == 4) {
                rq->has_name = true;
                snprintf(rq->name, sizeof rq->name, "%s", seg[3]);
            }
            return true;
        }
        if (n == 1 && !strcmp(seg[0], r->plural)) {
            rq->res = r;
            return true;
        }
    }
    return false;
}

static enum MHD_Result ta_send(struct MHD_Connection *c, long code, cJSON *body /* stolen */,
                               const char *extra_hdr, const char *extra_val)
{
    char *s = body ? cJSON_PrintUnformatted(body) : mla_xstrdup("");
    cJSON_Delete(body);
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(s);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "application/json");
    if (extra_hdr)
        MHD_add_response_header(r, extra_hdr, extra_val);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)code, r);
    MHD_destroy_response(r);
    return ret;
}

static void ta_log(const char *verb, const char *url, const char *query, long code, bool created)
{
    if (cJSON_GetArraySize(ta.log) > 200000)
        return;
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "verb", verb);
    cJSON_AddStringToObject(e, "path", url);
    cJSON_AddStringToObject(e, "query", query ? query : "");
    cJSON_AddNumberToObject(e, "status", (double)code);
    cJSON_AddBoolToObject(e, "created", created);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    cJSON_AddNumberToObject(e, "t", (double)tv.tv_sec + tv.tv_usec / 1e6);
    cJSON_AddItemToArray(ta.log, e);
}

static enum MHD_Result ta_query_cb(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    struct mla_buf *q = cls;
    if (q->len && mla_buf_adds(q, "&") != MLA_OK)
        return MHD_NO;
    if (mla_buf_addf(q, "%s=%s", key, value ? value : "") != MLA_OK)
        return MHD_NO;
    return MHD_YES;
}

static long ta_control(const char *body, cJSON **out)
{
    cJSON *c = cJSON_Parse(body);
    if (!cJSON_IsObject(c)) {
        cJSON_Delete(c);
        *out = ta_status(400, "BadRequest", "control: body is not a JSON object");
        return 400;
    }
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "reset"))) {
        ta.latency_ms = 0;
        memset(&ta.fail, 0, sizeof ta.fail);
        ta.drop = 0;
        ta.down = false;
        ta.keda_adopts_hpa = false;
        ta.gc_off = false;
        ta.gc_delay_ms = 200;
    }
    ta_disc_control(c);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, "latencyMs");
    if (cJSON_IsNumber(v))
        ta.latency_ms = (long)v->valuedouble;
    v = cJSON_GetObjectItemCaseSensitive(c, "dropConnections");
    if (cJSON_IsNumber(v))
        ta.drop = (long)v->valuedouble;
    v = cJSON_GetObjectItemCaseSensitive(c, "down");
    if (cJSON_IsBool(v))
        ta.down = cJSON_IsTrue(v);
    v = cJSON_GetObjectItemCaseSensitive(c, "gc");
    if (cJSON_IsBool(v))
        ta.gc_off = !cJSON_IsTrue(v);
    v = cJSON_GetObjectItemCaseSensitive(c, "gcDelayMs");
    if (cJSON_IsNumber(v) && v->valuedouble >= 0)
        ta.gc_delay_ms = (long)v->valuedouble;
    v = cJSON_GetObjectItemCaseSensitive(c, "kedaAdoptsHpa");
    if (cJSON_IsBool(v))
        ta.keda_adopts_hpa = cJSON_IsTrue(v);
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(c, "fail");
    if (cJSON_IsObject(f)) {
        memset(&ta.fail, 0, sizeof ta.fail);
        ta.fail.status = (long)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(f, "status"));
        ta.fail.count = (long)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(f, "count"));
        const cJSON *ra = cJSON_GetObjectItemCaseSensitive(f, "retryAfter");
        ta.fail.retry_after = cJSON_IsNumber(ra) ? (long)ra->valuedouble : -1;
        const char *p = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "path"));
        const char *vb = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "verb"));
        snprintf(ta.fail.path, sizeof ta.fail.path, "%s", p ? p : "");
        snprintf(ta.fail.verb, sizeof ta.fail.verb, "%s", vb ? vb : "");
    }
    long sc = ta_strict_control(c, out);
    cJSON_Delete(c);
    if (sc)
        return sc;
    *out = ta_status(200, "", "ok");
    return 200;
}

/* ---- managedFields and pagination (ssa.c does the work) ---- */

/* After a non-apply write of x by the request's manager: ownership moves, managedFields shown.
 * *out is replaced by the object as stored. */
static void ta_owned_write(struct MHD_Connection *c, struct ta_obj *x, const cJSON *before,
                           cJSON **out)
{
    if (!x)
        return;
    char mgr[128];
    ta_ssa_manager(MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "fieldManager"),
                   MHD_lookup_connection_value(c, MHD_HEADER_KIND, "User-Agent"), mgr,
                   sizeof mgr);
    ta_ssa_update(before, x->o, x->managers, mgr);
    ta_ssa_render(x->o, x->managers, x->res->api_version);
    cJSON_Delete(*out);
    *out = cJSON_Duplicate(x->o, 1);
}

/* Server-side apply over a stored object; `in` stolen. 409 on a conflict without force. */
static long ta_apply_existing(struct MHD_Connection *c, struct ta_obj *x, const char *mgr,
                              cJSON *in, bool dry_run, cJSON **out)
{
    const char *force = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "force");
    cJSON *n = cJSON_Duplicate(x->o, 1);
    cJSON *managers = cJSON_Duplicate(x->managers, 1);
    long code = ta_ssa_apply(n, managers, mgr, x->res->api_version, in, force && !strcmp(force, "true"), out);
    cJSON_Delete(in);
    if (code) {
        cJSON_Delete(n);
        cJSON_Delete(managers);
        return code;
    }
    code = ta_replace(x, n, dry_run, out); /* n stolen */
    if (code == 200 && !dry_run) {
        cJSON_Delete(x->managers);
        x->managers = managers; /* x takes managers */
        ta_ssa_render(x->o, x->managers, x->res->api_version);
        cJSON_Delete(*out);
        *out = cJSON_Duplicate(x->o, 1);
    } else {
        cJSON_Delete(managers);
    }
    return code;
}

/* ?limit=&continue= on a list answer (*out, replaced by a Status on a bad token). */
static long ta_list_page(struct MHD_Connection *c, cJSON **out)
{
    const char *lim = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
    const char *cont = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "continue");
    long limit = lim ? strtol(lim, NULL, 10) : 0;
    cJSON *err = NULL;
    long code = ta_page(*out, limit, cont, &err);
    if (code) {
        cJSON_Delete(*out);
        *out = err;
        return code;
    }
    return 200;
}

/* The API proper: called with ta.mu held. Returns the status; *out the body (new). */
static long ta_api(const char *method, const struct ta_req *rq, struct MHD_Connection *c,
                   const char *body, cJSON **out, bool *created)
{
    const char *ctype = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    const char *dry = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "dryRun");
    bool dry_run = dry && *dry;
    const struct ta_res *r = rq->res;
    if (!strcmp(method, "GET")) {
        if (!rq->has_name) {
            long code = 0;
            const char *sel = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "labelSelector");
            *out = ta_list(r, rq->has_ns ? rq->ns : NULL, sel, &code);
            const char *fsel = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "fieldSelector");
            const char *fmsg = NULL;
            long fc = code == 200 && fsel && *fsel
                          ? ta_fieldsel_filter(r->plural, fsel, *out, &fmsg) : 0;
            if (fc) {
                cJSON_Delete(*out);
                *out = ta_status(fc, "BadRequest", "%s: \"%s\"", fmsg, fsel);
                return fc;
            }
            if (code != 200)
                return code;
            code = ta_list_page(c, out);
            if (code == 200)
                ta_list_copy(*out);
            return code;
        }
        struct ta_obj *x = ta_find(r, rq->ns, rq->name);
        if (!x) {
            *out = ta_status(404, "NotFound", "%s \"%s\" not found", r->qualified, rq->name);
            return 404;
        }
        *out = cJSON_Duplicate(x->o, 1);
        return 200;
    }
    if (!rq->has_ns) {
        *out = ta_status(405, "MethodNotAllowed", "%s on a cluster-wide collection", method);
        return 405;
    }
    if (!strcmp(method, "DELETE")) {
        struct ta_obj *x = ta_find(r, rq->ns, rq->name);
        if (!rq->has_name || !x) {
            *out = ta_status(404, "NotFound", "%s \"%s\" not found", r->qualified, rq->name);
            return 404;
        }
        bool orphan = false;
        long code = ta_gc_delete_policy(
            r->plural, r->api_version,
            MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "propagationPolicy"), body,
            &orphan, out);
        if (code)
            return code;
        *out = cJSON_Duplicate(x->o, 1);
        if (!dry_run && orphan)
            ta_orphan_dependents(mla_kube_meta_str(x->o, "uid"));
        if (!dry_run)
            ta_delete(x);
        return 200;
    }
    cJSON *in = NULL;
    bool apply = ctype && !strncmp(ctype, "application/apply-patch+yaml", 28);
    bool jpatch = !strcmp(method, "PATCH") && ctype &&
                  !strncmp(ctype, "application/json-patch+json", 27);
    *out = !strcmp(method, "PATCH") ? ta_patch_type_check(r->prefix, r->plural, ctype) : NULL;
    if (*out)
        return 415;
    if (apply) {
        cJSON *docs = NULL;
        struct mla_err e;
        mla_err_clear(&e);
        if (mla_kube_yaml_parse(body, strlen(body), &docs, &e) != MLA_OK) {
            *out = ta_status(400, "BadRequest", "error decoding YAML: line %d: %s", e.line, e.msg);
            return 400;
        }
        in = cJSON_DetachItemFromArray(docs, 0);
        cJSON_Delete(docs);
    } else {
        in = cJSON_Parse(body);
    }
    if (jpatch ? !cJSON_IsArray(in) : !cJSON_IsObject(in)) {
        *out = jpatch ? ta_jsonpatch_apply(NULL, in)
                      : ta_status(400, "BadRequest", "the request body is not a JSON object");
        cJSON_Delete(in);
        return 400;
    }
    *out = apply ? ta_crd_apply_check(r->prefix, r->plural, in) : NULL;
    if (*out) {
        cJSON_Delete(in);
        return 500;
    }
    if (!strcmp(method, "POST")) {
        if (rq->has_name) {
            cJSON_Delete(in);
            *out = ta_status(405, "MethodNotAllowed", "POST to an object");
            return 405;
        }
        long code = ta_create(r, rq->ns, in, dry_run, out); /* in stolen */
        *created = code == 201 && !dry_run;
        if (*created)
            ta_owned_write(c, ta_find(r, rq->ns, mla_kube_meta_str(*out, "name")), NULL, out);
        return code;
    }
    if (!rq->has_name) {
        cJSON_Delete(in);
        *out = ta_status(405, "MethodNotAllowed", "%s on a collection", method);
        return 405;
    }
    struct ta_obj *x = ta_find(r, rq->ns, rq->name);
    const char *want_rv = mla_kube_meta_str(in, "resourceVersion");
    if (!strcmp(method, "PUT")) {
        if (!x) {
            cJSON_Delete(in);
            *out = ta_status(404, "NotFound", "%s \"%s\" not found", r->qualified, rq->name);
            return 404;
        }
        if (want_rv && *want_rv && strcmp(want_rv, mla_kube_meta_str(x->o, "resourceVersion"))) {
            cJSON_Delete(in);
            return ta_conflict(r, rq->name, out);
        }
        cJSON *before = cJSON_Duplicate(x->o, 1);
        long code = ta_replace(x, in, dry_run, out);
        if (code == 200 && !dry_run)
            ta_owned_write(c, x, before, out);
        cJSON_Delete(before);
        return code;
    }
    if (strcmp(method, "PATCH") != 0) {
        cJSON_Delete(in);
        *out = ta_status(405, "MethodNotAllowed", "method %s not allowed", method);
        return 405;
    }
    if (apply) {
        const char *mgr = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "fieldManager");
        if (!mgr || !*mgr) {
            cJSON_Delete(in);
            *out = ta_status(400, "BadRequest", "PatchOptions.meta.k8s.io \"\" is invalid: "
                                                "fieldManager: Required value: is required for "
                                                "apply patch");
            return 400;
        }
        const char *in_name = mla_kube_meta_str(in, "name");
        if (in_name && strcmp(in_name, rq->name)) {
            cJSON_Delete(in);
            *out = ta_status(400, "BadRequest", "the name of the object (%s) does not match the "
                             "name on the URL (%s)", in_name, rq->name);
            return 400;
        }
        if (!x) {
            cJSON *obj = cJSON_Duplicate(in, 1);
            ta_set_str(ta_meta(obj), "name", rq->name);
            long code = ta_create(r, rq->ns, obj, dry_run, out); /* obj stolen */
            if (code == 201 && !dry_run) {
                struct ta_obj *nx = ta_find(r, rq->ns, rq->name);
                cJSON *ignored = NULL;
                (void)ta_ssa_apply(nx->o, nx->managers, mgr, r->api_version, in, true, &ignored);
                ta_ssa_render(nx->o, nx->managers, r->api_version);
                cJSON_Delete(*out);
                *out = cJSON_Duplicate(nx->o, 1);
                *created = true;
            }
            cJSON_Delete(in);
            return code;
        }
        if (want_rv && *want_rv && strcmp(want_rv, mla_kube_meta_str(x->o, "resourceVersion"))) {
            cJSON_Delete(in);
            return ta_conflict(r, rq->name, out);
        }
        return ta_apply_existing(c, x, mgr, in, dry_run, out); /* in stolen */
    }
    if (!x) {
        cJSON_Delete(in);
        *out = ta_status(404, "NotFound", "%s \"%s\" not found", r->qualified, rq->name);
        return 404;
    }
    if (want_rv && *want_rv && strcmp(want_rv, mla_kube_meta_str(x->o, "resourceVersion"))) {
        cJSON_Delete(in);
        return ta_conflict(r, rq->name, out);
    }
    cJSON *n = cJSON_Duplicate(x->o, 1);
    if (jpatch)
        *out = ta_jsonpatch_apply(n, in);
    else
        ta_merge(n, in);
    if (*out) {
        cJSON_Delete(n);
        cJSON_Delete(in);
        return (long)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(*out, "code"));
    }
    cJSON_Delete(in);
    cJSON *before = cJSON_Duplicate(x->o, 1);
    long code = ta_replace(x, n, dry_run, out);
    if (code == 200 && !dry_run)
        ta_owned_write(c, x, before, out);
    cJSON_Delete(before);
    return code;
}

static bool ta_is_apply(struct MHD_Connection *c)
{
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    return ct && !strncmp(ct, "application/apply-patch+yaml", 28);
}

static enum MHD_Result ta_handler(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    (void)cls;
    (void)version;
    struct ta_conn *st = *con_cls;
    if (!st) {
        st = mla_xcalloc(1, sizeof *st);
        mla_buf_init(&st->body, 32u << 20);
        *con_cls = st;
        return MHD_YES;
    }
    if (*upload_size) {
        if (mla_buf_add(&st->body, upload, *upload_size) != MLA_OK)
            st->too_big = true;
        *upload_size = 0;
        return MHD_YES;
    }
    const char *body = mla_buf_str(&st->body);
    struct mla_buf q;
    mla_buf_init(&q, 8192);
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, ta_query_cb, &q);
    cJSON *out = NULL;
    long code;
    enum MHD_Result ret;

    if (!strcmp(url, "/_control") || !strcmp(url, "/_log")) {
        pthread_mutex_lock(&ta.mu);
        if (!strcmp(url, "/_control") && !strcmp(method, "POST")) {
            code = ta_control(body, &out);
        } else if (!strcmp(url, "/_log") && !strcmp(method, "DELETE")) {
            cJSON_Delete(ta.log);
            ta.log = cJSON_CreateArray();
            code = 200;
            out = ta_status(200, "", "cleared");
        } else if (!strcmp(url, "/_log")) {
            out = cJSON_CreateObject();
            cJSON_AddItemToObject(out, "items", cJSON_Duplicate(ta.log, 1));
            code = 200;
        } else {
            code = 405;
            out = ta_status(405, "MethodNotAllowed", "use POST /_control");
        }
        pthread_mutex_unlock(&ta.mu);
        mla_buf_fini(&q);
        return ta_send(c, code, out, NULL, NULL);
    }

    pthread_mutex_lock(&ta.mu);
    long latency = ta.latency_ms;
    bool drop = ta.down || ta.drop > 0;
    if (ta.drop > 0)
        ta.drop--;
    pthread_mutex_unlock(&ta.mu);
    if (latency > 0) {
        struct timespec ts = {.tv_sec = latency / 1000, .tv_nsec = (latency % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (drop) {
        pthread_mutex_lock(&ta.mu);
        ta_log(method, url, mla_buf_str(&q), 0, false);
        pthread_mutex_unlock(&ta.mu);
        mla_buf_fini(&q);
        return MHD_NO; /* closes the connection without an answer */
    }

    struct ta_req rq;
    bool routed = ta_route(url, &rq);
    const char *verb = (!strcmp(method, "GET") && routed && !rq.has_name) ? "LIST" : method;
    char retry_hdr[32] = "";
    bool created = false;
    pthread_mutex_lock(&ta.mu);
    ta_gc_sweep();
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (ta.token && (!auth || strncmp(auth, "Bearer ", 7) || strcmp(auth + 7, ta.token))) {
        code = 401;
        out = ta_status(401, "Unauthorized", "Unauthorized");
    } else if (routed && (code = ta_strict_refuse(method, rq.res->plural, rq.ns, rq.name,
                                                  ta_is_apply(c), &out)) != 0) {
        /* strict.c: namespaces, the typed patch error */
    } else if (ta.fail.count > 0 && (!ta.fail.path[0] || strstr(url, ta.fail.path)) &&
               (!ta.fail.verb[0] || !strcmp(ta.fail.verb, verb))) {
        ta.fail.count--;
        code = ta.fail.status;
        out = ta_status(code, code == 429 ? "TooManyRequests" : "InternalError",
                        code == 429 ? "the server has received too many requests and has asked "
                                      "us to try again later"
                                    : "injected failure");
        if (ta.fail.retry_after >= 0)
            snprintf(retry_hdr, sizeof retry_hdr, "%ld", ta.fail.retry_after);
    } else if (st->too_big) {
        code = 413;
        out = ta_status(413, "RequestEntityTooLarge", "request body too large");
    } else if (ta_disc_serve(method, url, &code, &out)) {
        /* discovery, or keda.sh while KEDA's CRD is removed */
    } else if (!routed) {
        code = 404;
        out = ta_status(404, "NotFound", "the server could not find the requested resource");
    } else {
        code = ta_api(method, &rq, c, body, &out, &created);
    }
    ta_log(verb, url, mla_buf_str(&q), code, created);
    pthread_mutex_unlock(&ta.mu);
    mla_buf_fini(&q);
    ret = ta_send(c, code, out, retry_hdr[0] ? "Retry-After" : NULL, retry_hdr);
    return ret;
}

static void ta_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    struct ta_conn *st = *con_cls;
    if (st) {
        mla_buf_fini(&st->body);
        free(st);
        *con_cls = NULL;
    }
}

/* ------------------------------------------------------------------ main */

static const struct ta_res *ta_res_for(const char *api_version, const char *kind)
{
    for (size_t i = 0; i < TA_NRES; i++)
        if (!strcmp(ta_resources[i].api_version, api_version) && !strcmp(ta_resources[i].kind, kind))
            return &ta_resources[i];
    return NULL;
}

static char *ta_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct mla_buf b;
    mla_buf_init(&b, 64u << 20);
    char chunk[8192];
    for (;;) {
        size_t n = fread(chunk, 1, sizeof chunk, f);
        if (n == 0)
            break;
        if (mla_buf_add(&b, chunk, n) != MLA_OK) {
            fclose(f);
            mla_buf_fini(&b);
            return NULL;
        }
    }
    fclose(f);
    return mla_buf_take(&b);
}

static int ta_load_one(const cJSON *o, const char *file)
{
    const char *av = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "apiVersion"));
    const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "kind"));
    if (av && kind && !strcmp(kind, "List")) {
        const cJSON *it;
        cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(o, "items"))
        {
            if (ta_load_one(it, file) != 0)
                return 1;
        }
        return 0;
    }
    const struct ta_res *r = av && kind ? ta_res_for(av, kind) : NULL;
    if (!r) {
        fprintf(stderr, "mla-testapi: %s: unsupported object apiVersion=%s kind=%s\n", file,
                av ? av : "?", kind ? kind : "?");
        return 1;
    }
    const char *ns = mla_kube_meta_str(o, "namespace");
    cJSON *out = NULL;
    long code = ta_create(r, ns ? ns : "default", cJSON_Duplicate(o, 1), false, &out);
    if (code != 201) {
        fprintf(stderr, "mla-testapi: %s: cannot load %s %s: %s\n", file, kind,
                mla_kube_meta_str(o, "name") ? mla_kube_meta_str(o, "name") : "?",
                cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(out, "message")));
        cJSON_Delete(out);
        return 1;
    }
    cJSON_Delete(out);
    return 0;
}

static int ta_load(const char *file)
{
    char *text = ta_slurp(file);
    if (!text) {
        fprintf(stderr, "mla-testapi: cannot read %s\n", file);
        return 1;
    }
    cJSON *docs = NULL;
    struct mla_err e;
    mla_err_clear(&e);
    enum mla_code rc = mla_kube_yaml_parse(text, strlen(text), &docs, &e);
    free(text);
    if (rc != MLA_OK) {
        fprintf(stderr, "mla-testapi: %s:%d:%d: %s\n", file, e.line, e.col, e.msg);
        return 1;
    }
    int bad = 0;
    const cJSON *d;
    cJSON_ArrayForEach(d, docs)
    {
        bad |= ta_load_one(d, file);
    }
    cJSON_Delete(docs);
    return bad;
}

static void ta_usage(FILE *f)
{
    fprintf(f, "Usage: mla-testapi [--port N] [--port-file F] [--token T | --token-file F]\n"
               "                   [--tls-cert F --tls-key F] [--load FILE]... [--crd FILE]\n"
               "A test Kubernetes API server on 127.0.0.1 (see the header of main.c).\n"
               "--port 0 (default) picks a free port; it is printed and written to --port-file.\n"
               "--crd: the CustomResourceDefinition whose schema custom resources are checked\n"
               "against (default: tests/keda/keda.sh_scaledobjects.yaml of this build's tree).\n");
}

int main(int argc, char **argv)
{
    long port = 0;
    const char *port_file = NULL, *cert = NULL, *key = NULL, *crd_file = NULL;
    const char *loads[32];
    int n_loads = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            ta_usage(stdout);
            return 0;
        }
        if (!v) {
            fprintf(stderr, "mla-testapi: %s needs a value\n", a);
            return 2;
        }
        i++;
        if (!strcmp(a, "--port")) {
            char *end = NULL;
            port = strtol(v, &end, 10);
            if (!end || *end || port < 0 || port > 65535) {
                fprintf(stderr, "mla-testapi: --port %s: expected 0..65535\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--port-file")) {
            port_file = v;
        } else if (!strcmp(a, "--token")) {
            free(ta.token);
            ta.token = mla_xstrdup(v);
        } else if (!strcmp(a, "--token-file")) {
            char *t = ta_slurp(v);
            if (!t) {
                fprintf(stderr, "mla-testapi: cannot read %s\n", v);
                return 2;
            }
            t[strcspn(t, "\r\n")] = '\0';
            free(ta.token);
            ta.token = t;
        } else if (!strcmp(a, "--tls-cert")) {
            cert = v;
        } else if (!strcmp(a, "--tls-key")) {
            key = v;
        } else if (!strcmp(a, "--crd")) {
            crd_file = v;
        } else if (!strcmp(a, "--load")) {
            if (n_loads < 32)
                loads[n_loads++] = v;
        } else {
            fprintf(stderr, "mla-testapi: unknown option %s\n", a);
            ta_usage(stderr);
            return 2;
        }
    }
    ta.log = cJSON_CreateArray();
    /* CRD schemas first: --load validates ScaledObjects like any write */
    int rc = crd_file ? ta_crd_load(crd_file) : ta_crd_load_default();
    for (int i = 0; i < n_loads && rc == 0; i++)
        rc = ta_load(loads[i]);
    char *cert_pem = NULL, *key_pem = NULL;
    if (rc == 0 && (cert || key)) {
        cert_pem = cert ? ta_slurp(cert) : NULL;
        key_pem = key ? ta_slurp(key) : NULL;
        if (!cert_pem || !key_pem) {
            fprintf(stderr, "mla-testapi: --tls-cert and --tls-key must both name readable files\n");
            rc = 2;
        }
    }
    struct MHD_Daemon *d = NULL;
    if (rc == 0) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &set, NULL);
        signal(SIGPIPE, SIG_IGN);
        struct sockaddr_in sa;
        memset(&sa, 0, sizeof sa);
        sa.sin_family = AF_INET;
        sa.sin_port = htons((uint16_t)port);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                         MHD_USE_ERROR_LOG;
        if (cert_pem)
            flags |= MHD_USE_TLS;
        if (cert_pem)
            d = MHD_start_daemon(flags, 0, NULL, NULL, ta_handler, NULL, MHD_OPTION_SOCK_ADDR,
                                 (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED, ta_completed,
                                 NULL, MHD_OPTION_HTTPS_MEM_CERT, cert_pem,
                                 MHD_OPTION_HTTPS_MEM_KEY, key_pem, MHD_OPTION_END);
        else
            d = MHD_start_daemon(flags, 0, NULL, NULL, ta_handler, NULL, MHD_OPTION_SOCK_ADDR,
                                 (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED, ta_completed,
                                 NULL, MHD_OPTION_END);
        if (!d) {
            fprintf(stderr, "mla-testapi: cannot listen on 127.0.0.1:%ld\n", port);
            rc = 1;
        } else {
            const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
            unsigned p = info ? info->port : (unsigned)port;
            printf("mla-testapi listening on %s://127.0.0.1:%u\n", cert_pem ? "https" : "http", p);
            fflush(stdout);
            if (port_file) {
                char tmp[4096];
                snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
                FILE *f = fopen(tmp, "w");
                if (f) {
                    fprintf(f, "%u\n", p);
                    fclose(f);
                    rename(tmp, port_file);
                }
            }
            int sig = 0;
            sigwait(&set, &sig);
            MHD_stop_daemon(d);
        }
    }
    free(cert_pem);
    free(key_pem);
    while (ta.objs) {
        struct ta_obj *n = ta.objs->next;
        ta_obj_free(ta.objs);
        ta.objs = n;
    }
    cJSON_Delete(ta.log);
    ta_strict_fini();
    free(ta.token);
    ta_crd_free();
    return rc;
}
