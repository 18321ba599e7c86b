/* mla-controller-driver - drives the API side (controller.h) the way `serve` does, without the HTTPS
 * webhook, so its integration tests do not depend on the webhook or the policy engine.
 *
 * It starts the façade (client, worker threads, elector and loop unless --no-loop), then reads
 * one JSON object per line on stdin and answers one JSON line on stdout:
 *   an admission: {"namespace":"ns","name":"web","op":"CREATE|UPDATE","dryRun":false,
 *                  "oldResourceVersion":"12","object":{...optional Deployment...},
 *                  "action":"apply|remove|none","hpaMode":"delete|transfer|reject",
 *                  "scaledObject":{...optional...},"skipWrite":false}
 *     -> runs the review hook, prints {"allowed","code","message","warnings"}, and (allowed,
 *        not dryRun, not skipWrite, action != none) runs the enqueue hook: exactly what serve
 *        does after mla_decide. Without "scaledObject", --template is used (name and target
 *        set to the Deployment's name).
 *   a real decision: {"review":{"operation":"CREATE|UPDATE","namespace":"ns","object":{...},
 *                  "oldObject":{...},"dryRun":false}} (needs --policy-dir)
 *     -> mla_decide with the policy store (the policy engine), then the review hook; prints
 *        {"allowed","code","message","warnings","patch"} and runs the enqueue hook: exactly
 *        serve's sequence minus HTTP. The caller applies "patch" and stores the Deployment, as
 *        kube-apiserver would.
 *   {"cmd":"wait","timeoutMs":N}  -> {"idle":true|false} once the worker queue drained
 *   {"cmd":"reconcile"}            -> one loop pass now: {"ok":..,"created":..,...}
 *   {"cmd":"leader"}               -> {"leader":true|false}
 * On end of input it drains the queue (--drain-ms) and, with --stay, keeps running (elector,
 * loop, worker) until SIGTERM/SIGINT. Destroying the façade releases the Lease.
 *
 * The loop's decision for a stored Deployment comes from --template when given (opted in =
 * annotation ml-autoscaling.io/enabled: "true"; HPA mode from ml-autoscaling.io/hpa-mode; the
 * Deployment's annotation mla-test/scaled-object replaces the template for it),
 * else from mla_decide (the policy engine) with --policy-dir.
 *
 * DESIGN: the main thread reads stdin (poll with a 100 ms tick so SIGTERM/SIGINT, which only
 * set a flag, stop it promptly) and calls the hooks as a request thread would; the façade owns
 * the worker, elector and loop threads. Shutdown: end of input or a signal -> drain the queue
 * (interruptible) -> mla_controller_destroy (releases the Lease) -> write --metrics-out.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mla/controller.h"
#include "mla/buf.h"
#include "mla/file.h"
#include "mla/log.h"
#include "mla/mem.h"
#include "mla/metrics.h"
#include "mla/policy.h"
#include "mla/predict_forecast.h"

static volatile sig_atomic_t drv_stop;
static void drv_on_signal(int sig) { (void)sig; drv_stop = 1; }

static cJSON *drv_template; /* immutable after start */
static struct mla_policy_store *drv_store; /* borrowed from main; NULL without --policy-dir */

static long drv_num(const char *flag, const char *v)
{
    char *end = NULL;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || !end || *end || d < 0) {
        fprintf(stderr, "mla-controller-driver: %s %s: expected a non-negative number\n", flag, v);
        return -1;
    }
    return (long)(d * 1000); /* seconds -> ms */
}

static enum mla_hpa_mode drv_mode(const char *s)
{
    if (s && !strcmp(s, "transfer"))
        return MLA_HPA_TRANSFER;
    if (s && !strcmp(s, "reject"))
        return MLA_HPA_REJECT;
    return MLA_HPA_DELETE;
}

/* The template ScaledObject `tmpl` (borrowed) for Deployment ns/name (new). */
static cJSON *drv_so_from(const cJSON *tmpl, const char *ns, const char *name)
{
    if (!tmpl)
        return NULL;
    cJSON *so = cJSON_Duplicate(tmpl, 1);
    cJSON *m = cJSON_GetObjectItemCaseSensitive(so, "metadata");
    if (!m)
        m = cJSON_AddObjectToObject(so, "metadata");
    cJSON_DeleteItemFromObjectCaseSensitive(m, "name");
    cJSON_AddStringToObject(m, "name", name);
    cJSON_DeleteItemFromObjectCaseSensitive(m, "namespace");
    cJSON_AddStringToObject(m, "namespace", ns);
    cJSON *labels = cJSON_GetObjectItemCaseSensitive(m, "labels");
    if (!labels)
        labels = cJSON_AddObjectToObject(m, "labels");
    cJSON_DeleteItemFromObjectCaseSensitive(labels, "ml-autoscaling.io/deployment");
    cJSON_AddStringToObject(labels, "ml-autoscaling.io/deployment", name);
    cJSON *ref = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(so, "spec"),
                                                  "scaleTargetRef");
    if (ref) {
        cJSON_DeleteItemFromObjectCaseSensitive(ref, "name");
        cJSON_AddStringToObject(ref, "name", name);
    }
    return so;
}

/* The loop's decision for a stored Deployment: its annotation mla-test/scaled-object (a JSON
 * template) when present, so a test can change what "the policy" decides per Deployment the
 * way an annotation change does with the policy engine; else --template. New. */
/* The --template ScaledObject for Deployment ns/name (new). */
static cJSON *drv_so_for(const char *ns, const char *name)
{
    return drv_so_from(drv_template, ns, name);
}

static cJSON *drv_so_for_stored(const cJSON *d, const char *ns, const char *name)
{
    const char *own = mla_kube_annotation(d, "mla-test/scaled-object");
    cJSON *t = own ? cJSON_Parse(own) : NULL;
    if (!cJSON_IsObject(t)) {
        cJSON_Delete(t);
        return drv_so_for(ns, name);
    }
    cJSON *so = drv_so_from(t, ns, name);
    cJSON_Delete(t);
    return so;
}

static enum mla_code drv_decide(void *ctx, const struct mla_policy_set *ps,
                                const struct mla_review_request *req, struct mla_decision *out,
                                struct mla_err *err)
{
    (void)ctx;
    (void)ps;
    (void)err;
    mla_decision_init(out);
    const char *en = mla_kube_annotation(req->object, "ml-autoscaling.io/enabled");
    out->opted_in = en && !strcmp(en, "true");
    if (!out->opted_in)
        return MLA_OK;
    out->action = MLA_ACT_APPLY;
    out->hpa_mode = drv_mode(mla_kube_annotation(req->object, "ml-autoscaling.io/hpa-mode"));
    out->scaled_object = drv_so_for_stored(req->object, req->namespace_, req->name);
    snprintf(out->so_name, sizeof out->so_name, "%s", req->name);
    return MLA_OK;
}

/* Stands in for the predictive loop's module at the MLA HOOK: records that it was called. */
static void drv_predict(void *ctx, struct mla_kube *kc, const cJSON *so)
{
    (void)ctx;
    (void)kc;
    mla_log(MLA_LOG_INFO, "driver", "predictive hook called for %s/%s",
            mla_kube_meta_str(so, "namespace"), mla_kube_meta_str(so, "name"));
}

static void drv_print(cJSON *o /* stolen */)
{
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    printf("%s\n", s);
    fflush(stdout);
    free(s);
}

static void drv_admission(struct mla_controller *api, const cJSON *in)
{
    const char *ns = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(in, "namespace"));
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(in, "name"));
    const char *op = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(in, "op"));
    const char *action = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(in, "action"));
    const char *old_rv =
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(in, "oldResourceVersion"));
    if (!ns || !name || !op) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "error", "an admission line needs namespace, name and op");
        drv_print(e);
        return;
    }
    cJSON *obj = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(in, "object"), 1);
    if (!obj) {
        obj = cJSON_CreateObject();
        cJSON *m = cJSON_AddObjectToObject(obj, "metadata");
        cJSON_AddStringToObject(m, "name", name);
        cJSON_AddStringToObject(m, "namespace", ns);
    }
    cJSON *old = NULL;
    if (old_rv) {
        old = cJSON_Duplicate(obj, 1);
        cJSON *m = cJSON_GetObjectItemCaseSensitive(old, "metadata");
        cJSON_DeleteItemFromObjectCaseSensitive(m, "resourceVersion");
        cJSON_AddStringToObject(m, "resourceVersion", old_rv);
    }
    bool create = !strcmp(op, "CREATE");
    struct mla_review_request req = {
        .root = NULL, .uid = "driver", .kind_group = "apps", .kind_version = "v1",
        .kind = "Deployment", .resource = "deployments", .sub_resource = "",
        .op = create ? MLA_OP_CREATE : MLA_OP_UPDATE, .operation = op, .namespace_ = ns,
        .name = name, .object = obj, .old_object = old,
        .dry_run = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(in, "dryRun")),
        .username = "driver"};
    struct mla_decision d;
    mla_decision_init(&d);
    d.action = !action || !strcmp(action, "apply") ? MLA_ACT_APPLY
               : !strcmp(action, "remove")         ? MLA_ACT_REMOVE
                                                   : MLA_ACT_NONE;
    d.opted_in = d.action == MLA_ACT_APPLY;
    d.hpa_mode = drv_mode(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(in, "hpaMode")));
    d.skip_write = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(in, "skipWrite"));
    const cJSON *so = cJSON_GetObjectItemCaseSensitive(in, "scaledObject");
    if (d.action == MLA_ACT_APPLY) {
        d.scaled_object = so ? cJSON_Duplicate(so, 1) : drv_so_for(ns, name);
        const char *sn = mla_kube_meta_str(d.scaled_object, "name");
        snprintf(d.so_name, sizeof d.so_name, "%s", sn ? sn : name);
    }
    struct mla_admit_hooks hooks = mla_controller_hooks(api);
    /* exactly serve's order: review (only when there is something to do), respond, enqueue */
    if (d.action != MLA_ACT_NONE)
        hooks.review(hooks.ctx, &req, &d);
    cJSON *out = cJSON_CreateObject();
    cJSON_AddBoolToObject(out, "allowed", d.allowed);
    cJSON_AddNumberToObject(out, "code", d.code);
    cJSON_AddStringToObject(out, "message", d.message);
    cJSON_AddItemToObject(out, "warnings",
                          d.warnings ? cJSON_Duplicate(d.warnings, 1) : cJSON_CreateArray());
    drv_print(out);
    if (d.allowed && d.action != MLA_ACT_NONE && !req.dry_run && !d.skip_write)
        hooks.enqueue(hooks.ctx, &req, &d);
    mla_decision_fini(&d);
    cJSON_Delete(obj);
    cJSON_Delete(old);
}

static int drv_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* {"cmd":"bench-review","namespace":..,"name":..,"n":N}: times the review hook (its API reads)
 * N times in this thread and answers p50/p99/max in milliseconds. */
static void drv_bench_review(struct mla_controller *api, const cJSON *in)
{
    const char *ns = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(in, "namespace"));
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(in, "name"));
    double nd = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(in, "n"));
    int n = nd == nd && nd > 0 ? (int)nd : 1000;
    if (!ns || !name)
        return;
    cJSON *obj = cJSON_CreateObject();
    cJSON *m = cJSON_AddObjectToObject(obj, "metadata");
    cJSON_AddStringToObject(m, "name", name);
    cJSON_AddStringToObject(m, "namespace", ns);
    struct mla_review_request req = {
        .root = NULL, .uid = "bench", .kind_group = "apps", .kind_version = "v1",
        .kind = "Deployment", .resource = "deployments", .sub_resource = "", .op = MLA_OP_CREATE,
        .operation = "CREATE", .namespace_ = ns, .name = name, .object = obj,
        .old_object = NULL, .dry_run = false, .username = "bench"};
    struct mla_admit_hooks hooks = mla_controller_hooks(api);
    double *t = mla_xcalloc((size_t)n, sizeof *t);
    for (int i = 0; i < n; i++) {
        struct mla_decision d;
        mla_decision_init(&d);
        d.action = MLA_ACT_APPLY;
        d.scaled_object = drv_so_for(ns, name);
        snprintf(d.so_name, sizeof d.so_name, "%s", name);
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        hooks.review(hooks.ctx, &req, &d);
        clock_gettime(CLOCK_MONOTONIC, &b);
        t[i] = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
        mla_decision_fini(&d);
    }
    qsort(t, (size_t)n, sizeof *t, drv_cmp_double);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "n", n);
    cJSON_AddNumberToObject(o, "p50Ms", t[n / 2]);
    cJSON_AddNumberToObject(o, "p99Ms", t[(int)((double)n * 0.99) < n ? (int)((double)n * 0.99) : n - 1]);
    cJSON_AddNumberToObject(o, "maxMs", t[n - 1]);
    drv_print(o);
    free(t);
    cJSON_Delete(obj);
}

static void drv_review(struct mla_controller *api, const cJSON *rv)
{
    const char *op = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rv, "operation"));
    const cJSON *obj = cJSON_GetObjectItemCaseSensitive(rv, "object");
    const cJSON *old = cJSON_GetObjectItemCaseSensitive(rv, "oldObject");
    const char *ns = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rv, "namespace"));
    if (!drv_store || !op || !cJSON_IsObject(obj)) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "error", "review needs --policy-dir, operation and object");
        drv_print(e);
        return;
    }
    if (!ns)
        ns = mla_kube_meta_str(obj, "namespace");
    const char *name = mla_kube_meta_str(obj, "name");
    struct mla_review_request req = {
        .root = NULL, .uid = "driver", .kind_group = "apps", .kind_version = "v1",
        .kind = "Deployment", .resource = "deployments", .sub_resource = "",
        .op = !strcmp(op, "CREATE") ? MLA_OP_CREATE : MLA_OP_UPDATE, .operation = op,
        .namespace_ = ns ? ns : "default", .name = name ? name : "", .object = obj,
        .old_object = cJSON_IsObject(old) ? old : NULL,
        .dry_run = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rv, "dryRun")),
        .username = "driver"};
    struct mla_policy_set *ps = mla_policy_store_acquire(drv_store);
    struct mla_decision d;
    mla_decision_init(&d);
    struct mla_err err;
    mla_err_clear(&err);
    enum mla_code rc = mla_decide(ps, &req, &d, &err);
    mla_policy_set_unref(ps);
    struct mla_admit_hooks hooks = mla_controller_hooks(api);
    if (rc == MLA_OK && d.action != MLA_ACT_NONE)
        hooks.review(hooks.ctx, &req, &d);
    cJSON *out = cJSON_CreateObject();
    cJSON_AddBoolToObject(out, "allowed", d.allowed);
    cJSON_AddNumberToObject(out, "code", d.code);
    cJSON_AddStringToObject(out, "message", d.message);
    cJSON_AddItemToObject(out, "warnings",
                          d.warnings ? cJSON_Duplicate(d.warnings, 1) : cJSON_CreateArray());
    cJSON_AddItemToObject(out, "patch", d.patch ? cJSON_Duplicate(d.patch, 1) : cJSON_CreateArray());
    drv_print(out);
    if (rc == MLA_OK && d.allowed && d.action != MLA_ACT_NONE && !req.dry_run && !d.skip_write)
        hooks.enqueue(hooks.ctx, &req, &d);
    mla_decision_fini(&d);
}

static void drv_line(struct mla_controller *api, const char *line)
{
    cJSON *in = cJSON_Parse(line);
    if (!cJSON_IsObject(in)) {
        cJSON_Delete(in);
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "error", "input line is not a JSON object");
        drv_print(e);
        return;
    }
    const char *cmd = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(in, "cmd"));
    const cJSON *review = cJSON_GetObjectItemCaseSensitive(in, "review");
    if (review) {
        drv_review(api, review);
    } else if (!cmd) {
        drv_admission(api, in);
    } else if (!strcmp(cmd, "wait")) {
        double t = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(in, "timeoutMs"));
        bool idle = mla_controller_wait_idle(api, t == t ? (long)t : 10000);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddBoolToObject(o, "idle", idle);
        drv_print(o);
    } else if (!strcmp(cmd, "reconcile")) {
        struct mla_reconcile_stats st = {0};
        struct mla_err err;
        mla_err_clear(&err);
        enum mla_code rc = mla_controller_reconcile(api, &st, &err);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddBoolToObject(o, "ok", rc == MLA_OK);
        if (rc != MLA_OK)
            cJSON_AddStringToObject(o, "error", err.msg);
        cJSON_AddNumberToObject(o, "deployments", st.deployments);
        cJSON_AddNumberToObject(o, "created", st.created);
        cJSON_AddNumberToObject(o, "updated", st.updated);
        cJSON_AddNumberToObject(o, "hpa", st.hpa);
        cJSON_AddNumberToObject(o, "orphans", st.orphans);
        cJSON_AddNumberToObject(o, "paused", st.paused);
        cJSON_AddNumberToObject(o, "adopted", st.adopted);
        cJSON_AddNumberToObject(o, "skipped", st.skipped);
        cJSON_AddNumberToObject(o, "predicted", st.predicted);
        cJSON_AddNumberToObject(o, "jobs", st.jobs);
        drv_print(o);
    } else if (!strcmp(cmd, "bench-review")) {
        drv_bench_review(api, in);
    } else if (!strcmp(cmd, "leader")) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddBoolToObject(o, "leader", mla_controller_is_leader(api));
        drv_print(o);
    } else {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "error", "unknown cmd (wait, reconcile, leader)");
        drv_print(e);
    }
    cJSON_Delete(in);
}

static void drv_usage(FILE *f)
{
    fprintf(f,
            "Usage: mla-controller-driver (--kube-url URL [--kube-token-file F] [--kube-ca F] |\n"
            "                           --kubeconfig F [--context C])\n"
            "       [--template SO.json] [--policy-dir DIR] [--no-loop] [--loop-interval S]\n"
            "       [--lease-namespace NS] [--lease-name N] [--identity ID]\n"
            "       [--lease-duration S] [--renew-deadline S] [--retry-period S]\n"
            "       [--stored-give-up S] [--transfer-verify S] [--review-budget S] [--drain S]\n"
            "       [--stay]\n"
            "       [--log-level L] [--metrics-out FILE] [--prom-url URL] [--list-page-size N]\n"
            "       [--loop-models N (0: none; default 10000)]\n"
            "       [--loop-explanation-writes N (0: no limit; default qps x interval / 4)]\n"
            "       [--kube-api-qps Q] [--kube-api-burst B] [--prometheus-qps Q] (0: unlimited)\n"
            "       [--prometheus-burst B]\n"
            "Reads admission/command JSON lines on stdin (see the header of main.c).\n");
}

int main(int argc, char **argv)
{
    struct mla_controller_config cfg = {0};
    const char *tmpl = NULL, *policy_dir = NULL;
    long drain_ms = 30000;
    bool stay = false;
    const char *metrics_out = NULL;
    const char *prom_url = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help")) {
            drv_usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--no-loop")) {
            cfg.no_loop = true;
            continue;
        }
        if (!strcmp(a, "--stay")) {
            stay = true;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "mla-controller-driver: %s needs a value\n", a);
            return 2;
        }
        const char *v = argv[++i];
        long ms = 0;
        if (!strcmp(a, "--kube-url")) cfg.kube_url = v;
        else if (!strcmp(a, "--kube-token-file")) cfg.kube_token_file = v;
        else if (!strcmp(a, "--kube-ca")) cfg.kube_ca = v;
        else if (!strcmp(a, "--kubeconfig")) cfg.kubeconfig = v;
        else if (!strcmp(a, "--context")) cfg.kube_context = v;
        else if (!strcmp(a, "--template")) tmpl = v;
        else if (!strcmp(a, "--policy-dir")) policy_dir = v;
        else if (!strcmp(a, "--lease-namespace")) cfg.lease_namespace = v;
        else if (!strcmp(a, "--lease-name")) cfg.lease_name = v;
        else if (!strcmp(a, "--identity")) cfg.identity = v;
        else if (!strcmp(a, "--metrics-out")) metrics_out = v;
        else if (!strcmp(a, "--prom-url")) prom_url = v;
        else if (!strcmp(a, "--kube-api-qps") || !strcmp(a, "--kube-api-burst") ||
                 !strcmp(a, "--prometheus-qps") || !strcmp(a, "--prometheus-burst")) {
            char *end = NULL;
            double q = strtod(v, &end);
            if (!end || *end || q < 0 || q > 100000) {
                fprintf(stderr, "mla-controller-driver: %s %s: 0..100000\n", a, v);
                return 2;
            }
            if (!strcmp(a, "--kube-api-qps"))
                cfg.kube_api_qps = q > 0 ? q : -1;
            else if (!strcmp(a, "--kube-api-burst"))
                cfg.kube_api_burst = q;
            else if (!strcmp(a, "--prometheus-burst"))
                cfg.prometheus_burst = q;
            else
                cfg.prometheus_qps = q > 0 ? q : -1;
        }
        else if (!strcmp(a, "--loop-models")) {
            char *end = NULL;
            long n = strtol(v, &end, 10);
            if (!end || *end || n < 0 || n > 1000000) {
                fprintf(stderr, "mla-controller-driver: --loop-models %s: 0..1000000\n", v);
                return 2;
            }
            cfg.loop_models = n ? n : -1;
        }
        else if (!strcmp(a, "--loop-explanation-writes")) {
            char *end = NULL;
            long n = strtol(v, &end, 10);
            if (!end || *end || n < 0 || n > 1000000) {
                fprintf(stderr, "mla-controller-driver: --loop-explanation-writes %s: "
                        "0..1000000\n", v);
                return 2;
            }
            cfg.loop_explanation_writes = n ? n : -1;
        }
        else if (!strcmp(a, "--list-page-size")) {
            char *end = NULL;
            long n = strtol(v, &end, 10);
            if (!end || *end || n < 1 || n > 100000) {
                fprintf(stderr, "mla-controller-driver: --list-page-size %s: 1..100000\n", v);
                return 2;
            }
            cfg.loop_page_size = (int)n;
        }
        else if (!strcmp(a, "--log-level")) {
            enum mla_log_level lvl;
            if (mla_log_level_parse(v, &lvl, NULL) != MLA_OK) {
                fprintf(stderr, "mla-controller-driver: --log-level %s: debug, info, warn, error\n", v);
                return 2;
            }
            mla_log_set_level(lvl);
        } else {
            ms = drv_num(a, v);
            if (ms < 0)
                return 2;
            if (!strcmp(a, "--loop-interval")) cfg.loop_interval_ms = ms;
            else if (!strcmp(a, "--lease-duration")) cfg.lease_duration_ms = ms;
            else if (!strcmp(a, "--renew-deadline")) cfg.renew_deadline_ms = ms;
            else if (!strcmp(a, "--retry-period")) cfg.retry_period_ms = ms;
            else if (!strcmp(a, "--stored-give-up")) cfg.stored_give_up_ms = ms;
            else if (!strcmp(a, "--transfer-verify")) cfg.transfer_verify_ms = ms;
            else if (!strcmp(a, "--review-budget")) cfg.review_budget_ms = ms;
            else if (!strcmp(a, "--drain")) drain_ms = ms;
            else {
                fprintf(stderr, "mla-controller-driver: unknown option %s\n", a);
                drv_usage(stderr);
                return 2;
            }
        }
    }
    /* valgrind runs everything ~20x slower: run.sh widens the admission reads' budget there,
     * so a test of what the reads find does not turn into a test of the machine's speed */
    const char *budget = getenv("MLA_TEST_REVIEW_BUDGET_MS");
    if (budget && !cfg.review_budget_ms)
        cfg.review_budget_ms = strtol(budget, NULL, 10);
    if (tmpl) {
        char *text = NULL;
        drv_template = mla_file_read(tmpl, 1u << 20, &text, NULL, NULL) == MLA_OK
                           ? cJSON_Parse(text) : NULL;
        free(text);
        if (!cJSON_IsObject(drv_template)) {
            fprintf(stderr, "mla-controller-driver: --template %s: cannot read a JSON object\n", tmpl);
            cJSON_Delete(drv_template);
            return 2;
        }
        cfg.decide = drv_decide;
    }
    /* --prom-url: the real predictive step (mla_predict_step with the fc model) at the loop's
     * hook, as serve runs it; else a stand-in that records the calls */
    struct mla_predict_env penv = {.prom = {.base_url = prom_url, .timeout_ms = 2000},
                                   .forecast = mla_predict_fc_forecast};
    if (prom_url)
        cfg.predict_env = &penv;
    else
        cfg.predict = drv_predict;
    struct mla_policy_store store;
    bool have_store = false;
    struct mla_err err;
    mla_err_clear(&err);
    if (policy_dir) {
        if (mla_policy_store_init(&store, policy_dir, &err) != MLA_OK) {
            fprintf(stderr, "mla-controller-driver: %s\n", err.msg);
            cJSON_Delete(drv_template);
            return 2;
        }
        have_store = true;
        drv_store = &store;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = drv_on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    struct mla_controller *api = NULL;
    if (mla_controller_create(&cfg, have_store ? &store : NULL, &api, &err) != MLA_OK) {
        fprintf(stderr, "mla-controller-driver: %s\n", err.msg);
        if (have_store)
            mla_policy_store_fini(&store);
        cJSON_Delete(drv_template);
        return 2;
    }
    struct mla_buf line;
    mla_buf_init(&line, 8u << 20);
    bool eof = false;
    while (!drv_stop && !eof) {
        struct pollfd pfd = {.fd = 0, .events = POLLIN};
        int pr = poll(&pfd, 1, 100);
        if (pr <= 0)
            continue;
        char chunk[65536];
        ssize_t n = read(0, chunk, sizeof chunk);
        if (n <= 0) {
            if (n < 0 && errno == EINTR)
                continue;
            eof = true;
            break;
        }
        for (ssize_t i = 0; i < n; i++) {
            if (chunk[i] == '\n') {
                if (line.len)
                    drv_line(api, mla_buf_str(&line));
                mla_buf_reset(&line);
            } else if (mla_buf_add(&line, &chunk[i], 1) != MLA_OK) {
                mla_buf_reset(&line);
            }
        }
    }
    if (line.len && !drv_stop)
        drv_line(api, mla_buf_str(&line));
    mla_buf_fini(&line);
    /* drain in slices so a signal still stops us promptly */
    for (long waited = 0; !drv_stop && waited < drain_ms; waited += 100)
        if (mla_controller_wait_idle(api, 100))
            break;
    while (stay && !drv_stop)
        pause();
    mla_controller_destroy(api);
    if (metrics_out) {
        struct mla_buf mb;
        mla_buf_init(&mb, 0);
        FILE *mf = fopen(metrics_out, "w");
        if (mf && mla_metrics_render(&mb) == MLA_OK)
            fputs(mla_buf_str(&mb), mf);
        if (mf)
            fclose(mf);
        mla_buf_fini(&mb);
    }
    if (have_store)
        mla_policy_store_fini(&store);
    cJSON_Delete(drv_template);
    mla_metrics_reset();
    return 0;
}
