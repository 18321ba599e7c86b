/* controller/controller.c - the façade over client, queue, worker, elector and loop, and the admission hooks
 * (see controller.h).
 *
 * DESIGN: threads: the request threads of the webhook call review/enqueue; `worker_threads`
 * worker threads; one elector thread and one loop thread unless no_loop. The façade owns them
 * all; request threads only read immutable fields, push onto the queue (any-thread) and use the
 * client (any-thread). `api_down_until_ms` (atomic) is a small circuit breaker: after a review
 * read failed because the API did not answer, the next reviews skip their reads for a few
 * seconds instead of each paying the full budget (fail open, fast).
 * KEDA: a checker thread (keda.h) in every replica keeps whether keda.sh/v1alpha1 is served;
 * admission reads it (warning, and the work parked instead of queued while missing), the loop
 * asks it at the start of each pass (gate), and its appearance kicks the loop.
 * Start order: client, queue, worker, KEDA checker, elector, loop (published atomically for
 * on_change, which kicks it; kicked once more when leadership came first).
 * Stop order: KEDA checker thread (it may kick the loop), the loop (a pass in progress ends at
 * its next action; it asks the elector, so the elector must outlive it), the elector (it
 * releases the Lease so another replica takes over at once), the streaming models, the KEDA
 * state, then the worker (stops the queue), then queue and client.
 */
#include "mla/controller.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mla/keda.h"
#include "mla/lease.h"
#include "mla/log.h"
#include "mla/mem.h"
#include "mla/metrics.h"
#include "mla/queue.h"
#include "mla/vpa.h"
#include "mla/wlkind.h"
#include "mla/worker.h"

#define APISIDE_BREAKER_MS 5000

struct mla_controller {
    struct mla_kube *kc;
    struct mla_queue *q;
    struct mla_worker *worker;
    struct mla_lease *lease; /* NULL with no_loop */
    struct mla_keda *keda;   /* every replica */
    struct mla_reconcile *_Atomic rec; /* atomic: published after the elector starts; NULL with no_loop */
    long review_budget_ms;   /* immutable */
    struct mla_predict_env penv; /* immutable; used when have_penv */
    bool have_penv;
    /* The streaming models (predict_models.h): owned (NULL: one-shot steps); touched by the
     * loop pass only (the loop thread, or mla_controller_reconcile under the pass lock). */
    struct mla_predict_models *models;
    _Atomic bool models_stale; /* atomic: set on a new leader term, cleared by the pass */
    /* spec.replicas of the managed Deployments the current pass read, sorted by key; loop
     * pass only (between pass_begin and pass_end), NULL outside a pass */
    struct apiside_rep *reps;
    size_t nreps;
    /* Applies that change only an explanation (explanation_only): at most
     * expl_per_pass per pass (< 0: no limit; immutable after create), expl_left of them left in
     * this one and expl_deferred put off; loop pass only, like reps */
    long expl_per_pass, expl_left;
    unsigned long expl_deferred;
    /* Applies kept for the end of the pass, in the order they were decided: [0] the ones that
     * only lower a count, [1] the explanation-only ones (apiside_keep). [head[q], nlater[q])
     * are still kept; the ones before were sent while the pass waited on Prometheus
     * (apiside_idle), idle_sent[q] of them. Owned; loop pass only, like reps. */
    struct apiside_later *later[2];
    size_t nlater[2], caplater[2], head[2], idle_sent[2];
    bool in_pass; /* between pass_begin and pass_end */
    struct mla_ratelimit api_rl;  /* the loop's API requests (any thread: it locks) */
    struct mla_ratelimit prom_rl; /* the loop's Prometheus queries */
    double prom_qps_floor;        /* --prometheus-qps (0: none); immutable after create */
    double interval_s;            /* the loop's interval; immutable after create */
    double pass_t0; /* when the pass started (apiside_gate, mla_ratelimit_now); loop pass only */
    _Atomic long long api_down_until_ms; /* atomic */
    struct mla_log_limit rl;
};

struct apiside_rep {
    char *key; /* owned: "Kind/namespace/name" */
    int replicas;
};

/* An apply the pass sends after its others (owned strings). */
struct apiside_later {
    char *path, *body;
    char *done; /* what the log says once it is applied, but for when it was sent and ")" */
};

static int apiside_rep_cmp(const void *a, const void *b)
{
    return strcmp(((const struct apiside_rep *)a)->key, ((const struct apiside_rep *)b)->key);
}

/* A workload's spec.replicas as stored (absent: the API default, 1). */
static int apiside_spec_replicas(const cJSON *dep)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(dep, "spec"),
                                                      "replicas");
    return cJSON_IsNumber(v) ? (int)v->valuedouble : 1;
}

static int apiside_replicas(void *ctx, const char *ns, const char *kind, const char *name);

/* reconcile.h's pass_begin: index the workloads the pass read (Deployments, and StatefulSets
 * carrying "kind"), so that the predictive step costs no GET per ScaledObject (10,000 GETs a
 * pass at 10,000 Deployments). Loop thread. */
static void apiside_pass_begin(void *ctx, const cJSON *deps)
{
    struct mla_controller *api = ctx;
    size_t n = (size_t)cJSON_GetArraySize(deps), k = 0;
    /* One query per predictive ScaledObject, at most one per managed workload: spread them
     * over what is left of the interval once the LISTs are done (docs/architecture.md, pass
     * cost) rather than let a fixed --prometheus-qps stretch a 10,000-object pass past it. */
    mla_ratelimit_set_qps(&api->prom_rl,
                          mla_ratelimit_paced_qps(api->prom_qps_floor, n, api->interval_s,
                                                  mla_ratelimit_now() - api->pass_t0));
    if (api->models)
        mla_predict_models_pass_begin(api->models);
    api->expl_left = api->expl_per_pass;
    api->expl_deferred = 0;
    api->in_pass = true;
    if (api->penv.replicas != apiside_replicas)
        return; /* the embedder counts replicas (tests): nothing to index */
    api->reps = mla_xcalloc(n ? n : 1, sizeof *api->reps);
    const cJSON *d;
    cJSON_ArrayForEach(d, deps)
    {
        const char *ns = mla_kube_meta_str(d, "namespace"), *name = mla_kube_meta_str(d, "name");
        const struct mla_wl_kind *wl = mla_wl_of_object(d);
        if (!ns || !name || !wl || k >= n)
            continue;
        api->reps[k].key = mla_xasprintf("%s/%s/%s", wl->kind, ns, name);
        api->reps[k++].replicas = apiside_spec_replicas(d);
    }
    qsort(api->reps, k, sizeof *api->reps, apiside_rep_cmp);
    api->nreps = k;
}

static void apiside_send(struct mla_controller *api, const char *path, const char *body,
                         const char *done, bool have_token);

static void apiside_later_free(struct apiside_later *l)
{
    free(l->path);
    free(l->body);
    free(l->done);
    l->path = l->body = l->done = NULL;
}

/* Sends a kept apply and frees what it holds; `when` completes its log line. */
static void apiside_send_kept(struct mla_controller *api, struct apiside_later *l,
                              const char *when, bool have_token)
{
    char *done = mla_xasprintf("%s, sent %s)", l->done, when);
    apiside_send(api, l->path, l->body, done, have_token);
    free(done);
    apiside_later_free(l);
}

/* The Prometheus bucket's idle work (mla_ratelimit_set_idle): while the pass would sleep until
 * its next query is due, the applies it keeps for its end go out, falls first, each only when
 * the API bucket has a token free beyond one left for a rise, and none once the query is due.
 * So a paced pass (10,000 ScaledObjects: 42 s of queries) sends its falls and explanations in
 * time it would have slept, not in N / --kube-api-qps after it; a rise still goes as decided
 * and finds a token, and a pass whose API rate is taken (by rises, or no pacing wait at all)
 * keeps them for its end as before. Loop thread (the pass). */
static void apiside_idle(void *ctx, double until_s)
{
    struct mla_controller *api = ctx;
    if (!api->in_pass)
        return;
    double keep = api->api_rl.burst >= 2 ? 1 : 0;
    for (int q = 0; q < 2; q++)
        while (api->head[q] < api->nlater[q]) {
            if (mla_ratelimit_now() >= until_s || !mla_ratelimit_try(&api->api_rl, keep))
                return;
            apiside_send_kept(api, &api->later[q][api->head[q]++],
                              "while the pass waited on Prometheus", true);
            api->idle_sent[q]++;
        }
}

/* reconcile.h's pass_end: the applies kept for the end (apiside_predict says which and why),
 * as long as the pass may still write; the rest are dropped, and decided again by the next
 * pass or the next leader. */
static void apiside_pass_end(void *ctx, bool (*may_write)(void *), void *may_ctx)
{
    struct mla_controller *api = ctx;
    size_t sent[2] = {0, 0}, dropped = 0;
    api->in_pass = false;
    if (api->idle_sent[0] + api->idle_sent[1])
        mla_log(MLA_LOG_INFO, "apiside", "%zu applies that only lower a replica count and %zu "
                "that only change an explanation sent while the pass waited on Prometheus "
                "(with API rate to spare; rises went as decided)", api->idle_sent[0],
                api->idle_sent[1]);
    for (int q = 0; q < 2; q++)
        for (size_t i = api->head[q]; i < api->nlater[q]; i++) {
            struct apiside_later *l = &api->later[q][i];
            if (!dropped && may_write(may_ctx)) {
                apiside_send_kept(api, l, "at the end of the pass", false);
                sent[q]++;
            } else {
                dropped++;
                apiside_later_free(l);
            }
        }
    if (sent[0])
        mla_log(MLA_LOG_INFO, "apiside", "%zu applies that only lower a replica count sent after "
                "this pass's other writes (scale-ups first: a late rise costs cold starts, a "
                "late fall only replica-minutes)", sent[0]);
    if (dropped)
        mla_log(MLA_LOG_INFO, "apiside", "%zu applies kept for the end of the pass dropped: the "
                "pass stopped (leadership lost, or shutting down); the next pass decides them "
                "again", dropped);
    for (int q = 0; q < 2; q++) {
        free(api->later[q]);
        api->later[q] = NULL;
        api->nlater[q] = api->caplater[q] = api->head[q] = api->idle_sent[q] = 0;
    }
    if (api->expl_deferred)
        mla_log(MLA_LOG_INFO, "apiside", "%lu ScaledObjects' explanation refreshes (the rule "
                "or the forecast's figures, replica counts unchanged) put off to a later pass: at "
                "most %ld a pass (--loop-explanation-writes)", api->expl_deferred,
                api->expl_per_pass);
    for (size_t i = 0; i < api->nreps; i++)
        free(api->reps[i].key);
    free(api->reps);
    api->reps = NULL;
    api->nreps = 0;
}

/* mla_predict_replicas_fn: the workload's spec.replicas, -1 when unknown (or a kind this
 * product does not scale): from the pass's list, else (not a managed workload, or outside a
 * pass) one GET. Loop thread. */
static int apiside_replicas(void *ctx, const char *ns, const char *kind, const char *name)
{
    struct mla_controller *api = ctx;
    const struct mla_wl_kind *wl = mla_wl_find(kind);
    if (!wl)
        return -1;
    if (api->reps) {
        struct apiside_rep want = {.key = mla_xasprintf("%s/%s/%s", wl->kind, ns, name)};
        const struct apiside_rep *hit =
            bsearch(&want, api->reps, api->nreps, sizeof *api->reps, apiside_rep_cmp);
        free(want.key);
        if (hit)
            return hit->replicas;
    }
    mla_ratelimit_wait(&api->api_rl);
    char *p = mla_wl_path(wl, ns, name);
    struct mla_kube_opts o = {.budget_ms = 2000, .max_attempts = 2};
    struct mla_kube_resp r = {0};
    int n = -1;
    if (mla_kube_request(api->kc, MLA_KUBE_GET, p, NULL, &o, &r, NULL) == MLA_OK)
        n = apiside_spec_replicas(r.body);
    mla_kube_resp_fini(&r);
    free(p);
    return n;
}

/* Applies a pass holds at once for later (apiside_idle or its end), at most: each holds its
 * body (about 1.3 KB with the forecast-profile annotation), and the leader's peak at 10,000
 * ScaledObjects is 248 MB of a 256 MB budget (docs/benchmarks.md); 2,000 are 2.6 MB. Beyond
 * it an apply is sent as decided, as before the ordering: the order is lost only when a pass
 * holds more than 2,000 at once. */
#define APISIDE_KEEP_MAX 2000

/* Which of the end-of-pass queues an apply waits in, -1 for none (sent at once). A pass that
 * changes many counts takes N / --kube-api-qps (docs/benchmarks.md: 6,021 in 323 s at 10,000):
 * what waits should be what costs least to wait. A rise that comes late costs cold starts
 * (minutes for a GPU pod), a fall that comes late only replica-minutes, and an explanation
 * nothing: so rises (and anything touching maxReplicaCount, or taking or releasing ownership)
 * go at once, falls at the end, explanations last. */
static int apiside_later_queue(const struct mla_predict_result *res)
{
    if (res->skipped)
        return -1;
    if (res->explanation_only)
        return 1;
    bool fall = res->changed && res->previous >= 0 && res->min_replicas < res->previous;
    return fall && !res->max_changed ? 0 : -1;
}

/* Keeps an apply for the end of the pass; takes path, body and done. */
static void apiside_keep(struct mla_controller *api, int q, char *path, char *body, char *done)
{
    if (api->nlater[q] == api->caplater[q]) {
        api->caplater[q] = api->caplater[q] ? 2 * api->caplater[q] : 64;
        api->later[q] = mla_xrealloc(api->later[q], api->caplater[q] * sizeof *api->later[q]);
    }
    api->later[q][api->nlater[q]++] = (struct apiside_later){.path = path, .body = body,
                                                             .done = done};
}

/* MLA HOOK implementation: one predictive step, its apply sent as the loop's own field manager
 * (predict_step.h says what it owns and why). Loop thread. */
static void apiside_predict(void *ctx, struct mla_kube *kc, const cJSON *so)
{
    (void)kc; /* api->kc: the pass's client, also after the pass (apiside_pass_end) */
    struct mla_controller *api = ctx;
    const char *ns = mla_kube_meta_str(so, "namespace");
    const char *name = mla_kube_meta_str(so, "name");
    if (!ns || !name)
        return;
    cJSON *cfg = NULL;
    struct mla_predict_result res;
    memset(&res, 0, sizeof res);
    struct mla_err err;
    mla_err_clear(&err);
    /* A new leader term: another replica predicted meanwhile, rebuild from history */
    if (api->models && atomic_exchange(&api->models_stale, false))
        mla_predict_models_clear(api->models);
    if (mla_predict_step(&api->penv, so, time(NULL), &cfg, &res, &err) != MLA_OK) {
        mla_log(MLA_LOG_WARN, "apiside", "%s/%s: predictive step failed, minReplicaCount left "
                "as it is: %s", ns, name, err.msg);
        return;
    }
    if (!cfg)
        return; /* skipped, or nothing changed materially */
    if (res.explanation_only && api->expl_per_pass >= 0 && api->expl_left-- <= 0) {
        /* the stored figures stay until a later pass finds budget: it decides again then */
        cJSON_Delete(cfg);
        api->expl_deferred++;
        struct mla_metric *c = mla_metrics_get(
            MLA_METRIC_COUNTER, "mla_predict_explanation_writes_deferred_total",
            "Applies of the predictive loop that only changed the explanation and were put "
            "off to a later pass (--loop-explanation-writes).", NULL, NULL, 0);
        if (c)
            mla_metric_inc(c);
        mla_log(MLA_LOG_DEBUG, "apiside", "%s/%s: explanation refresh put off (this pass's "
                "--loop-explanation-writes are used)", ns, name);
        return;
    }
    char *body = cJSON_PrintUnformatted(cfg); /* JSON is YAML */
    cJSON_Delete(cfg);
    char *p = mla_xasprintf("/apis/keda.sh/v1alpha1/namespaces/%s/scaledobjects/%s"
                            "?fieldManager=" MLA_PREDICT_FIELD_MANAGER "&force=true", ns, name);
    int q = apiside_later_queue(&res);
    /* held: the ones already sent while waiting on Prometheus hold nothing */
    size_t held = api->nlater[0] - api->head[0] + api->nlater[1] - api->head[1];
    if (q >= 0 && api->in_pass && held < APISIDE_KEEP_MAX) {
        /* the reason is in the body's min-replicas-reason: the log line kept until the end of
         * the pass need not hold it a second time (up to 512 bytes) */
        apiside_keep(api, q, p, body,
                     mla_xasprintf("%s/%s: minReplicaCount %d (%s", ns, name, res.min_replicas,
                                   q ? "explanation only" : "a fall"));
        return;
    }
    char *done = res.skipped ? mla_xasprintf("%s/%s: %s: the loop released minReplicaCount, "
                                             "maxReplicaCount and its annotations", ns, name,
                                             res.skipped)
                             : mla_xasprintf("%s/%s: minReplicaCount %d (%s)", ns, name,
                                             res.min_replicas, res.reason);
    apiside_send(api, p, body, done, false);
    free(p);
    free(body);
    free(done);
}

/* One apply of the loop, through the API rate limit (have_token: the caller took its token);
 * `done` is logged when it lands. */
static void apiside_send(struct mla_controller *api, const char *path, const char *body,
                         const char *done, bool have_token)
{
    struct mla_kube_opts o = {.budget_ms = 10000, .content_type = "application/apply-patch+yaml"};
    struct mla_err err;
    mla_err_clear(&err);
    if (!have_token)
        mla_ratelimit_wait(&api->api_rl);
    struct mla_kube_resp r = {0};
    enum mla_code rc = mla_kube_request(api->kc, MLA_KUBE_PATCH, path, body, &o, &r, &err);
    if (rc == MLA_OK)
        mla_log(MLA_LOG_INFO, "apiside", "%s", done);
    else if (mla_reconcile_ns_gone(r.status, r.body))
        mla_log(MLA_LOG_INFO, "apiside", "%s: namespace going away; predictive step dropped",
                path);
    else
        mla_log(MLA_LOG_WARN, "apiside", "cannot apply the predictive decision (%s): %s", path,
                err.msg);
    mla_kube_resp_fini(&r);
}

static void apiside_on_leader(void *ctx, bool leading)
{
    struct mla_controller *api = ctx;
    struct mla_reconcile *rec = atomic_load(&api->rec);
    if (leading)
        atomic_store(&api->models_stale, true);
    if (leading && rec)
        mla_reconcile_kick(rec);
}

/* reconcile.h's gate: KEDA's (keda.h), and the instant the pass starts, before its LISTs:
 * apiside_pass_begin paces the Prometheus queries over what is left of the interval. */
static bool apiside_gate(void *ctx)
{
    struct mla_controller *api = ctx;
    api->pass_t0 = mla_ratelimit_now();
    return mla_keda_gate(api->keda);
}

static void apiside_on_keda(void *ctx, enum mla_keda_state now)
{
    struct mla_controller *api = ctx;
    struct mla_reconcile *rec = atomic_load(&api->rec);
    /* KEDA appeared: the leader repairs every managed Deployment now, not an interval later */
    if (now == MLA_KEDA_PRESENT && rec && api->lease && mla_lease_is_leader(api->lease))
        mla_reconcile_kick(rec);
}

static enum mla_code apiside_kube_config(const struct mla_controller_config *cfg,
                                         struct mla_kube_config *kcfg, struct mla_err *err)
{
    if (cfg->kubeconfig && cfg->kube_url)
        return mla_err_set(err, MLA_EUSAGE, "--kubeconfig and --kube-url exclude each other");
    if (cfg->kubeconfig)
        return mla_kube_config_load_kubeconfig(cfg->kubeconfig, cfg->kube_context, kcfg, err);
    if (cfg->kube_url)
        return mla_kube_config_explicit(cfg->kube_url, cfg->kube_token_file, cfg->kube_ca, kcfg,
                                        err);
    return mla_kube_config_in_cluster(kcfg, NULL, err);
}

/* A rate setting: 0 the default, < 0 none (0 for mla_ratelimit_init). */
static double apiside_limit(double v, double dflt)
{
    return v == 0 ? dflt : v < 0 ? 0 : v;
}

/* Explanation-only applies per pass (controller.h), < 0 for none. By default a quarter of what
 * the API rate allows in one interval: a pass at 10,000 ScaledObjects with a new point takes
 * about 47 s (docs/benchmarks.md; its explanation writes go out in the waits between its paced
 * queries, apiside_idle), and one without a new point sends them at its end, so a quarter of
 * the 60 s interval is what the explanations can have while the counts still get theirs; with
 * no API rate, no limit. */
static long apiside_explanation_writes(const struct mla_controller_config *cfg, double interval_s)
{
    if (cfg->loop_explanation_writes != 0)
        return cfg->loop_explanation_writes;
    double qps = apiside_limit(cfg->kube_api_qps, 20);
    if (qps <= 0)
        return -1;
    double n = floor(qps * interval_s / 4.0);
    return n < 1 ? 1 : n > 1e6 ? 1000000 : (long)n;
}

/* Our identity as a candidate and field owner: --identity, else hostname-pid (new, free()). */
static char *apiside_identity(const struct mla_controller_config *cfg)
{
    char host[256] = "ml-autoscaling";
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "ml-autoscaling");
    host[sizeof host - 1] = '\0';
    return cfg->identity ? mla_xstrdup(cfg->identity)
                         : mla_xasprintf("%s-%ld", host, (long)getpid());
}

/* The reconcile loop, gated on KEDA being present; predictions come from cfg->predict or, with
 * only a predict_env, from the built-in predictive step. Published in api->rec when started. */
static enum mla_code apiside_start_reconcile(struct mla_controller *api,
                                             const struct mla_controller_config *cfg,
                                             struct mla_policy_store *store,
                                             const char *identity, struct mla_err *err)
{
    struct mla_reconcile_config rcfg = {.interval_ms = cfg->loop_interval_ms, .store = store,
                                  .decide = cfg->decide, .decide_ctx = cfg->decide_ctx,
                                  .predict = cfg->predict,
                                  .predict_ctx = cfg->predict_ctx,
                                  .identity = identity,
                                  .page_size = cfg->loop_page_size,
                                  .limit = &api->api_rl,
                                  .gate = apiside_gate, .gate_ctx = api};
    if (!rcfg.predict && cfg->predict_env) {
        api->penv = *cfg->predict_env;
        if (!api->penv.replicas) {
            api->penv.replicas = apiside_replicas;
            api->penv.replicas_ctx = api;
        }
        rcfg.pass_begin = apiside_pass_begin;
        rcfg.pass_end = apiside_pass_end;
        api->have_penv = true;
        api->penv.prom_limit = &api->prom_rl;
        if (cfg->loop_models >= 0 && api->penv.forecast && api->penv.prom.base_url) {
            long iv = cfg->loop_interval_ms > 0 ? cfg->loop_interval_ms : 60000;
            /* idle for three passes: its ScaledObject is gone (or paused, or not predictive) */
            enum mla_code mrc = mla_predict_models_create(
                (size_t)cfg->loop_models, 3.0 * (double)iv / 1000.0, &api->models, err);
            if (mrc)
                return mrc;
            api->penv.models = api->models;
        }
        rcfg.predict = apiside_predict;
        rcfg.predict_ctx = api;
    }
    struct mla_reconcile *rec = NULL;
    enum mla_code rc = mla_reconcile_create(&rcfg, api->kc, api->q, api->lease, &rec, err);
    if (rc == MLA_OK) {
        atomic_store(&api->rec, rec);
        /* leadership may have come before the loop was published: kick it now */
        if (mla_lease_is_leader(api->lease))
            mla_reconcile_kick(rec);
    }
    return rc;
}

/* The leader election (Lease in --lease-namespace, else $POD_NAMESPACE, else ml-autoscaling)
 * and the reconcile loop only the leader runs. */
static enum mla_code apiside_start_loop(struct mla_controller *api,
                                        const struct mla_controller_config *cfg,
                                        struct mla_policy_store *store, const char *identity,
                                        struct mla_err *err)
{
    const char *pod_ns = getenv("POD_NAMESPACE");
    struct mla_lease_config lc = {
        .ns = cfg->lease_namespace ? cfg->lease_namespace
                                   : (pod_ns && *pod_ns ? pod_ns : "ml-autoscaling"),
        .name = cfg->lease_name ? cfg->lease_name : "ml-autoscaling-leader",
        .identity = identity,
        .duration_ms = cfg->lease_duration_ms,
        .renew_deadline_ms = cfg->renew_deadline_ms,
        .retry_period_ms = cfg->retry_period_ms,
        .on_change = apiside_on_leader,
        .ctx = api};
    enum mla_code rc = mla_lease_create(&lc, api->kc, &api->lease, err);
    if (rc != MLA_OK)
        return rc;
    return apiside_start_reconcile(api, cfg, store, identity, err);
}

enum mla_code mla_controller_create(const struct mla_controller_config *cfg,
                                 struct mla_policy_store *store, struct mla_controller **out,
                                 struct mla_err *err)
{
    struct mla_kube_config kcfg;
    mla_kube_config_init(&kcfg);
    enum mla_code rc = apiside_kube_config(cfg, &kcfg, err);
    if (rc != MLA_OK)
        return rc;
    struct mla_controller *api = mla_xcalloc(1, sizeof *api);
    api->review_budget_ms = cfg->review_budget_ms > 0 ? cfg->review_budget_ms : 300;
    mla_ratelimit_init(&api->api_rl, apiside_limit(cfg->kube_api_qps, 20),
                       apiside_limit(cfg->kube_api_burst, 30));
    api->prom_qps_floor = apiside_limit(cfg->prometheus_qps, 100);
    api->interval_s =
        (cfg->loop_interval_ms > 0 ? (double)cfg->loop_interval_ms : 60000.0) / 1000.0;
    api->expl_per_pass = apiside_explanation_writes(cfg, api->interval_s);
    mla_ratelimit_init(&api->prom_rl, api->prom_qps_floor,
                       apiside_limit(cfg->prometheus_burst, 200));
    mla_ratelimit_set_idle(&api->prom_rl, apiside_idle, api);
    atomic_init(&api->api_down_until_ms, 0);
    rc = mla_kube_create(&kcfg, &api->kc, err);
    mla_kube_config_fini(&kcfg);
    if (rc != MLA_OK) {
        mla_ratelimit_fini(&api->api_rl);
        mla_ratelimit_fini(&api->prom_rl);
        free(api);
        return rc;
    }
    char *identity = apiside_identity(cfg);
    api->q = mla_queue_create(0);
    struct mla_worker_config wc = {.threads = cfg->worker_threads,
                                   .field_manager = cfg->field_manager,
                                   .identity = identity,
                                   .stored_give_up_ms = cfg->stored_give_up_ms,
                                   .transfer_verify_ms = cfg->transfer_verify_ms};
    rc = mla_worker_create(&wc, api->kc, api->q, &api->worker, err);
    if (rc == MLA_OK) {
        struct mla_keda_config kc = {.interval_ms = cfg->keda_check_ms > 0 ? cfg->keda_check_ms
                                                                           : cfg->loop_interval_ms,
                                     .identity = identity,
                                     .on_change = apiside_on_keda,
                                     .ctx = api};
        rc = mla_keda_create(&kc, api->kc, api->q, &api->keda, err);
    }
    if (rc == MLA_OK && !cfg->no_loop)
        rc = apiside_start_loop(api, cfg, store, identity, err);
    free(identity);
    if (rc != MLA_OK) {
        mla_controller_destroy(api);
        return rc;
    }
    *out = api;
    return MLA_OK;
}

void mla_controller_destroy(struct mla_controller *api)
{
    if (!api)
        return;
    mla_keda_stop(api->keda);      /* no kick from it any more */
    struct mla_reconcile *rec = atomic_exchange(&api->rec, NULL);
    mla_lease_stop(api->lease); /* releases the Lease first: the next leader starts sooner */
    mla_reconcile_destroy(rec); /* joins the loop, which reads the lease until its pass ends */
    mla_lease_destroy(api->lease);
    mla_predict_models_destroy(api->models); /* after the loop's last step */
    mla_keda_destroy(api->keda);   /* after the loop's last gate call */
    mla_worker_destroy(api->worker);
    if (!api->worker && api->q)
        mla_queue_stop(api->q);
    mla_queue_destroy(api->q);
    mla_kube_destroy(api->kc);
    mla_ratelimit_fini(&api->api_rl);
    mla_ratelimit_fini(&api->prom_rl);
    free(api);
}

bool mla_controller_is_leader(const struct mla_controller *api)
{
    return api->lease && mla_lease_is_leader(api->lease);
}

bool mla_controller_wait_idle(struct mla_controller *api, long timeout_ms)
{
    return mla_queue_wait_idle(api->q, timeout_ms);
}

enum mla_code mla_controller_reconcile(struct mla_controller *api, struct mla_reconcile_stats *stats,
                                    struct mla_err *err)
{
    struct mla_reconcile *rec = atomic_load(&api->rec);
    if (!rec)
        return mla_err_set(err, MLA_ESTATE, "the loop is off (--no-loop)");
    return mla_reconcile_run_once(rec, stats, err);
}

struct mla_kube *mla_controller_kube(struct mla_controller *api) { return api->kc; }

const char *mla_controller_keda(const struct mla_controller *api)
{
    return mla_keda_state_name(api ? mla_keda_state(api->keda) : MLA_KEDA_UNKNOWN);
}

enum mla_code mla_controller_readyz(void *ctx, struct mla_buf *out)
{
    const struct mla_controller *api = ctx;
    char last[512] = "";
    if (api && api->lease)
        mla_lease_last_error(api->lease, last, sizeof last);
    enum mla_code rc = mla_buf_addf(out, ",\"leader\":{\"enabled\":%s,\"isLeader\":%s,"
                                    "\"lastError\":", api && api->lease ? "true" : "false",
                                    api && mla_controller_is_leader(api) ? "true" : "false");
    if (rc == MLA_OK)
        rc = last[0] ? mla_buf_add_json_str(out, last) : mla_buf_adds(out, "null");
    if (rc == MLA_OK)
        rc = mla_buf_addf(out, "},\"keda\":\"%s\"", mla_controller_keda(api));
    return rc;
}

/* ------------------------------------------------------------------ hooks */

static enum mla_code apiside_read(struct mla_controller *api, const char *path, long long deadline,
                                  cJSON **items, struct mla_err *err)
{
    long left = (long)(deadline - mla_queue_now_ms());
    if (left <= 0)
        return mla_err_set(err, MLA_ETIMEOUT, "admission read budget spent");
    struct mla_kube_opts o = {.budget_ms = left, .max_attempts = 2, .backoff_base_ms = 20,
                              .backoff_cap_ms = 50};
    struct mla_kube_resp r = {0};
    enum mla_code rc = mla_kube_request(api->kc, MLA_KUBE_LIST, path, NULL, &o, &r, err);
    if (rc == MLA_OK) {
        cJSON *it = cJSON_DetachItemFromObjectCaseSensitive(r.body, "items");
        *items = it ? it : cJSON_CreateArray();
    }
    mla_kube_resp_fini(&r);
    return rc;
}

/* A VerticalPodAutoscaler that updates pods and controls the resource of a cpu/memory trigger
 * fights the ScaledObject (vpa.h): a warning naming it, or a denial in policy mode `deny`. A
 * cluster without VPA answers 404: nothing to say. Other failures fail open, like the HPA read. */
static void apiside_review_vpa(struct mla_controller *api, const struct mla_review_request *req,
                               struct mla_decision *d, long long deadline)
{
    unsigned res = mla_vpa_so_resources(d->scaled_object);
    if (d->vpa_mode == MLA_VPA_IGNORE || !res)
        return; /* no read: nothing a VPA could fight */
    struct mla_err err;
    mla_err_clear(&err);
    cJSON *vpas = NULL;
    char *p = mla_xasprintf("/apis/autoscaling.k8s.io/v1/namespaces/%s/verticalpodautoscalers",
                            req->namespace_);
    enum mla_code rc = apiside_read(api, p, deadline, &vpas, &err);
    free(p);
    if (rc != MLA_OK) {
        if (rc == MLA_EUNAVAIL || rc == MLA_ETIMEOUT)
            atomic_store(&api->api_down_until_ms, mla_queue_now_ms() + APISIDE_BREAKER_MS);
        long sup = 0;
        if (rc != MLA_ENOTFOUND && mla_log_limit_allow(&api->rl, 5.0, &sup))
            mla_log(MLA_LOG_WARN, "apiside", "admission read of VPAs for %s/%s failed, allowing "
                    "without the VPA check: %s (%ld similar suppressed)", req->namespace_,
                    req->name, err.msg, sup);
        return;
    }
    const cJSON *pod = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(req->object, "spec"),
                                         "template"), "spec");
    const cJSON *v;
    cJSON_ArrayForEach(v, vpas)
    {
        char why[96];
        if (!mla_vpa_conflicts_kind(v, req->kind, req->name, pod, res, why, sizeof why))
            continue;
        const char *vn = mla_kube_meta_str(v, "name");
        if (d->vpa_mode == MLA_VPA_DENY) {
            d->allowed = false;
            d->code = 403;
            snprintf(d->message, sizeof d->message,
                     "VerticalPodAutoscaler \"%s\" (%s) fights the ScaledObject's cpu/memory "
                     "triggers on %s \"%s\" and the policy's VPA mode is deny: set the "
                     "VPA's updateMode to Off or Initial, or its controlledResources to avoid "
                     "them, or remove the annotation ml-autoscaling.io/enabled",
                     vn ? vn : "?", why, req->kind, req->name);
            break;
        }
        mla_decision_warn(d, "VerticalPodAutoscaler %s (%s) fights the ScaledObject's cpu/memory "
                          "triggers: the HPA measures utilisation against requests the VPA keeps "
                          "changing; set the VPA's updateMode to Off or Initial, or its "
                          "controlledResources to avoid them", vn ? vn : "?", why);
    }
    cJSON_Delete(vpas);
}

/* The KEDA-missing warning (the cached discovery answer: no API call); true when missing. */
static bool apiside_warn_keda(struct mla_controller *api, const struct mla_review_request *req,
                              struct mla_decision *d)
{
    bool keda_missing = mla_keda_state(api->keda) == MLA_KEDA_MISSING;
    if (keda_missing && d->action == MLA_ACT_APPLY && d->allowed) {
        char msg[256];
        mla_keda_missing_text(d->scaled_job ? mla_wl_job()
                                            : mla_wl_find_gvk(req->kind_group, req->kind_version,
                                                              req->kind),
                              msg, sizeof msg);
        mla_decision_warn(d, "%s", msg);
    }
    return keda_missing;
}

/* Reads the namespace's HPAs and (unless KEDA is missing: it would be a 404) ScaledObjects
 * into *hpas, *sos (new). On a failure: logged, the breaker set on an unreachable API, both
 * NULL and false: admission goes on without the checks (fail open). */
static bool apiside_read_conflicts(struct mla_controller *api,
                                   const struct mla_review_request *req, bool keda_missing,
                                   long long deadline, cJSON **hpas, cJSON **sos)
{
    struct mla_err err;
    mla_err_clear(&err);
    *hpas = *sos = NULL;
    char *p = mla_xasprintf("/apis/autoscaling/v2/namespaces/%s/horizontalpodautoscalers",
                            req->namespace_);
    enum mla_code rc = apiside_read(api, p, deadline, hpas, &err);
    free(p);
    if (rc == MLA_OK && !keda_missing) {
        p = mla_xasprintf("/apis/keda.sh/v1alpha1/namespaces/%s/scaledobjects", req->namespace_);
        rc = apiside_read(api, p, deadline, sos, &err);
        free(p);
    }
    if (rc == MLA_OK)
        return true;
    if (rc == MLA_EUNAVAIL || rc == MLA_ETIMEOUT)
        atomic_store(&api->api_down_until_ms, mla_queue_now_ms() + APISIDE_BREAKER_MS);
    long sup = 0;
    if (mla_log_limit_allow(&api->rl, 5.0, &sup))
        mla_log(MLA_LOG_WARN, "apiside", "admission read for %s/%s failed, allowing without "
                "the HPA check: %s (%ld similar suppressed)", req->namespace_, req->name,
                err.msg, sup);
    cJSON_Delete(*hpas);
    cJSON_Delete(*sos);
    *hpas = *sos = NULL;
    return false;
}

/* HPAs that target the workload: a denial in reject mode, else a warning saying what the
 * worker will do with them. */
static void apiside_check_hpas(const struct mla_review_request *req, struct mla_decision *d,
                               const cJSON *hpas)
{
    const cJSON *h;
    cJSON_ArrayForEach(h, hpas)
    {
        if (!mla_worker_hpa_conflicts_kind(h, req->kind, req->name))
            continue;
        const char *hn = mla_kube_meta_str(h, "name");
        if (d->hpa_mode == MLA_HPA_REJECT) {
            d->allowed = false;
            d->code = 403;
            snprintf(d->message, sizeof d->message,
                     "HorizontalPodAutoscaler \"%s\" already scales %s \"%s\" and the "
                     "policy's HPA mode is reject: delete the HPA, or remove the annotation "
                     "ml-autoscaling.io/enabled", hn, req->kind, req->name);
            break;
        }
        if (d->hpa_mode == MLA_HPA_TRANSFER)
            mla_decision_warn(d, "HorizontalPodAutoscaler %s targets this %s; it will be "
                              "handed over to KEDA (ownership transfer) once the %s is "
                              "stored", hn, req->kind, req->kind);
        else
            mla_decision_warn(d, "HorizontalPodAutoscaler %s targets this %s and will be "
                              "removed once the %s is stored (its spec is kept in "
                              "annotation ml-autoscaling.io/removed-hpa on the ScaledObject; "
                              "removing the opt-in restores it)", hn, req->kind, req->kind);
    }
}

/* ScaledObjects someone else wrote that have the generated name or scale the workload: a
 * warning (the worker leaves them alone and writes nothing). */
static void apiside_check_sos(const struct mla_review_request *req, struct mla_decision *d,
                              const cJSON *sos)
{
    const char *so_name = d->so_name[0] ? d->so_name
                          : d->scaled_object ? mla_kube_meta_str(d->scaled_object, "name")
                                             : NULL;
    const cJSON *s;
    cJSON_ArrayForEach(s, sos)
    {
        const char *sn = mla_kube_meta_str(s, "name");
        bool named = so_name && sn && !strcmp(sn, so_name);
        if (!named && !mla_worker_so_targets_kind(s, req->kind, req->name))
            continue;
        const char *m = mla_kube_label(s, MLA_LABEL_MANAGED);
        if (m && !strcmp(m, "true"))
            continue;
        if (d->allowed)
            mla_decision_warn(d, "ScaledObject %s was not created by ml-autoscaling and already "
                              "%s; it is left alone and no ScaledObject will be written",
                              sn ? sn : "?", named ? "has the generated name" :
                                                     strcmp(req->kind, "StatefulSet")
                                                         ? "scales this Deployment"
                                                         : "scales this StatefulSet");
    }
}

static void apiside_review(void *ctx, const struct mla_review_request *req, struct mla_decision *d)
{
    struct mla_controller *api = ctx;
    bool keda_missing = apiside_warn_keda(api, req, d);
    if (d->scaled_job)
        return; /* a Job template: no HPA, VPA or ScaledObject can concern it */
    /* Dry runs read too (reads are no side effect under sideEffects: NoneOnDryRun): a
     * `kubectl apply --dry-run=server` preview must show the HPA and foreign-ScaledObject
     * warnings, and a reject-mode denial, that the real apply would. Only the enqueue skips them. */
    if (d->action != MLA_ACT_APPLY || !d->allowed || !req->name[0])
        return;
    long long now = mla_queue_now_ms();
    if (atomic_load(&api->api_down_until_ms) > now)
        return; /* fail open, fast: the API did not answer a moment ago */
    long long deadline = now + api->review_budget_ms;
    cJSON *hpas, *sos;
    if (!apiside_read_conflicts(api, req, keda_missing, deadline, &hpas, &sos))
        return;
    apiside_check_hpas(req, d, hpas);
    apiside_check_sos(req, d, sos);
    cJSON_Delete(hpas);
    cJSON_Delete(sos);
    if (d->allowed)
        apiside_review_vpa(api, req, d, deadline);
}

static void apiside_enqueue(void *ctx, const struct mla_review_request *req,
                            const struct mla_decision *d)
{
    struct mla_controller *api = ctx;
    if (req->dry_run || !d->allowed || d->skip_write || d->action == MLA_ACT_NONE)
        return;
    if (!req->name[0]) {
        mla_log(MLA_LOG_INFO, "apiside", "%s: Deployment created with generateName; its "
                "ScaledObject is written by the leader's loop", req->namespace_);
        return;
    }
    if (d->action == MLA_ACT_APPLY && !d->scaled_object) {
        mla_log(MLA_LOG_DEBUG, "apiside", "%s/%s: decision has no ScaledObject; nothing to write",
                req->namespace_, req->name);
        return;
    }
    struct mla_work *w = mla_work_create(req->namespace_, req->name);
    w->wl = mla_wl_find_gvk(req->kind_group, req->kind_version, req->kind);
    w->op = req->op == MLA_OP_CREATE ? MLA_OP_CREATE : MLA_OP_UPDATE;
    /* the admitted intent, not a resourceVersion: status writes move that one (PRODUCT.md 5) */
    w->intent = mla_worker_intent(d->action, req->object, d->policy_hash);
    w->action = d->action;
    w->hpa_mode = d->hpa_mode;
    w->vpa_mode = d->vpa_mode;
    w->job = d->scaled_job;
    if (d->scaled_object)
        w->so = cJSON_Duplicate(d->scaled_object, 1);
    if (d->so_name[0])
        w->so_name = mla_xstrdup(d->so_name);
    if (w->action == MLA_ACT_APPLY && mla_keda_park(api->keda, w))
        return; /* held until KEDA's API appears (keda.h); the Event says why */
    if (!mla_queue_push(api->q, w))
        mla_log(MLA_LOG_WARN, "apiside", "%s/%s: work queue full or stopped; the leader's loop "
                "will write the ScaledObject", req->namespace_, req->name);
}

struct mla_admit_hooks mla_controller_hooks(struct mla_controller *api)
{
    return (struct mla_admit_hooks){.ctx = api, .review = apiside_review,
                                    .enqueue = apiside_enqueue};
}
