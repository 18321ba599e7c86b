/* cli/serve.c - the 'serve' subcommand: the HTTPS admission webhook, and the place where the API
 * side (kube client, worker queue, leader loop) is started and stopped.
 *
 * DESIGN
 * Threads: the HTTP server's pool answers requests (http.c). The main thread is the control
 * thread: SIGTERM, SIGINT and SIGHUP are blocked in every thread and received here with
 * sigtimedwait, which also wakes it every 2 s to poll the policy directory and the certificate
 * files. So a reload never runs inside a signal handler, and there is no extra watcher thread.
 * Reloads: policies (SIGHUP, or a change in the directory's (name, size, mtime, link target)
 * fingerprint, which also catches the `..data` symlink swap of a ConfigMap volume) and the TLS
 * pair (SIGHUP or a change in either file). A failed reload keeps the last good set/pair.
 * Stop: quiesce, let in-flight requests finish (bounded by --shutdown-grace), stop the API
 * side, free everything (so valgrind sees no leak), exit 0.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "mla/controller.h"
#include "mla/predict_forecast.h"
#include "mla/decide.h"
#include "mla/http.h"
#include "mla/log.h"
#include "mla/mem.h"
#include "mla/metrics.h"
#include "mla/policy.h"
#include "mla/serve.h"
#include "mla/tls.h"

#ifndef MLA_VERSION
#define MLA_VERSION "0.1.0-dev"
#endif

#define SERVE_POLL_SECONDS 2

struct serve_metrics {
    struct mla_metric *reload_ok, *reload_err, *last_ok, *info;
    char info_labels[128];
};

/* FNV-1a over bytes, chained. */
static uint64_t serve_fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

static uint64_t serve_fingerprint_path(uint64_t h, const char *path)
{
    struct stat st;
    h = serve_fnv(h, path, strlen(path) + 1);
    if (stat(path, &st) == 0) { /* follows symlinks: the file a ConfigMap link points at */
        h = serve_fnv(h, &st.st_size, sizeof st.st_size);
        h = serve_fnv(h, &st.st_mtim, sizeof st.st_mtim);
        h = serve_fnv(h, &st.st_ino, sizeof st.st_ino);
    }
    char target[4096];
    ssize_t n = readlink(path, target, sizeof target);
    if (n > 0)
        h = serve_fnv(h, target, (size_t)n);
    return h;
}

static int serve_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* (name, size, mtime, inode, link target) of every entry of dir, in name order. */
static uint64_t serve_dir_fingerprint(const char *dir)
{
    uint64_t h = 1469598103934665603ULL;
    DIR *d = opendir(dir);
    if (!d)
        return h;
    char **names = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        const struct dirent *e = readdir(d);
        if (!e)
            break;
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            names = mla_xrealloc(names, cap * sizeof *names);
        }
        names[n++] = mla_xstrdup(e->d_name);
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, serve_name_cmp);
    for (size_t i = 0; i < n; i++) {
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        h = serve_fingerprint_path(h, path);
        free(names[i]);
    }
    free(names);
    return h;
}

static uint64_t serve_tls_fingerprint(const struct mla_serve_config *cfg)
{
    uint64_t h = 1469598103934665603ULL;
    h = serve_fingerprint_path(h, cfg->tls_cert);
    return serve_fingerprint_path(h, cfg->tls_key);
}

static void serve_policy_metrics(struct serve_metrics *m, struct mla_policy_store *st, bool ok)
{
    mla_metric_inc(ok ? m->reload_ok : m->reload_err);
    mla_metric_set(m->last_ok, ok ? 1 : 0);
    if (!ok)
        return;
    struct mla_policy_set *ps = mla_policy_store_acquire(st);
    char labels[128];
    snprintf(labels, sizeof labels, "hash=\"%s\"", mla_policy_set_hash(ps));
    mla_policy_set_unref(ps);
    if (strcmp(labels, m->info_labels)) {
        if (m->info_labels[0])
            mla_metrics_remove("mla_policy_info", m->info_labels);
        snprintf(m->info_labels, sizeof m->info_labels, "%s", labels);
        m->info = mla_metrics_get(MLA_METRIC_GAUGE, "mla_policy_info",
                                  "The policy set in use (its content hash)", labels, NULL, 0);
        mla_metric_set(m->info, 1);
    }
}

static void serve_metrics_init(struct serve_metrics *m)
{
    memset(m, 0, sizeof *m);
    const char *h = "Policy reloads by result";
    m->reload_ok = mla_metrics_get(MLA_METRIC_COUNTER, "mla_policy_reloads_total", h,
                                   "result=\"ok\"", NULL, 0);
    m->reload_err = mla_metrics_get(MLA_METRIC_COUNTER, "mla_policy_reloads_total", h,
                                    "result=\"error\"", NULL, 0);
    m->last_ok = mla_metrics_get(MLA_METRIC_GAUGE, "mla_policy_last_reload_ok",
                                 "1 when the last policy load succeeded", "", NULL, 0);
    struct mla_metric *bi = mla_metrics_get(MLA_METRIC_GAUGE, "mla_build_info",
                                            "Build information", "version=\"" MLA_VERSION "\"",
                                            NULL, 0);
    mla_metric_set(bi, 1);
}

static void serve_reload_policies(struct mla_policy_store *st, struct serve_metrics *m,
                                  const char *why)
{
    struct mla_err err;
    mla_err_clear(&err);
    mla_log(MLA_LOG_INFO, "policy", "reloading policies from %s (%s)", st->dir, why);
    /* mla_policy_store_reload logs the result (and keeps the last good set on failure). */
    serve_policy_metrics(m, st, mla_policy_store_reload(st, &err) == MLA_OK);
}

static void serve_reload_tls(struct mla_http_server *srv, const struct mla_serve_config *cfg,
                             const char *why)
{
    struct mla_err err;
    mla_err_clear(&err);
    int days = 0;
    enum mla_code rc = mla_tls_check_pair(cfg->tls_cert, cfg->tls_key, &days, &err);
    if (rc == MLA_OK)
        rc = mla_http_reload_tls(srv, &err);
    if (rc == MLA_OK)
        mla_log(MLA_LOG_INFO, "tls", "reloaded the TLS certificate (%s); it expires in %d days",
                why, days);
    else
        mla_log(MLA_LOG_ERROR, "tls", "TLS certificate reload failed, keeping the old one: %s",
                err.msg);
}

/* Signals are received by the control thread only (sigtimedwait in serve_wait); every thread
 * started afterwards inherits the mask. A peer closing a TLS connection must not kill the
 * process. */
static void serve_block_signals(sigset_t *sigs)
{
    sigemptyset(sigs);
    sigaddset(sigs, SIGTERM);
    sigaddset(sigs, SIGINT);
    sigaddset(sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* ==== API SIDE (kube helper): start here. ======================================
 * When cfg->kube_mode != MLA_KUBE_NONE: create the Kubernetes client from cfg (kubeconfig,
 * kube_url/token/CA, or in-cluster), the worker queue and, unless cfg->no_loop, the leader
 * election + background loop (cfg->loop_interval, cfg->prometheus_url). Then *hooks points at
 * the API side's struct mla_admit_hooks (stored in *api_hooks); the HTTP server calls
 * hooks->review after mla_decide and hooks->enqueue after the response is built (see
 * decide.h). *api is new (mla_controller_destroy); penv must outlive it. */
static enum mla_code serve_start_api(const struct mla_serve_config *cfg,
                                     struct mla_policy_store *store, struct mla_predict_env *penv,
                                     struct mla_controller **api,
                                     struct mla_admit_hooks *api_hooks,
                                     const struct mla_admit_hooks **hooks, struct mla_err *err)
{
    *api = NULL;
    *hooks = NULL;
    if (cfg->kube_mode == MLA_KUBE_NONE) {
        mla_log(MLA_LOG_INFO, "serve", "no Kubernetes configuration (no --kubeconfig/--kube-url, "
                "not in a cluster): admission-only mode, decisions and patches only, no API "
                "writes, no loop");
        return MLA_OK;
    }
    struct mla_controller_config ac = {
        .kubeconfig = cfg->kubeconfig,
        .kube_url = cfg->kube_url,
        .kube_token_file = cfg->kube_token_file,
        .kube_ca = cfg->kube_ca,
        .in_cluster = cfg->kube_mode == MLA_KUBE_IN_CLUSTER,
        .loop_interval_ms = (long)(cfg->loop_interval * 1000),
        .no_loop = cfg->no_loop,
        .loop_models = cfg->loop_models ? (long)cfg->loop_models : -1,
        .kube_api_qps = cfg->kube_api_qps > 0 ? cfg->kube_api_qps : -1,
        .loop_explanation_writes =
            cfg->loop_explanation_writes == MLA_SERVE_EXPLANATION_WRITES_AUTO ? 0
            : cfg->loop_explanation_writes == 0 ? -1
                                                : (long)cfg->loop_explanation_writes,
        .kube_api_burst = cfg->kube_api_burst,
        .prometheus_qps = cfg->prometheus_qps > 0 ? cfg->prometheus_qps : -1,
        .prometheus_burst = cfg->prometheus_burst,
        .predict_env = penv,
    };
    enum mla_code rc = mla_controller_create(&ac, store, api, err);
    if (rc != MLA_OK)
        return rc;
    *api_hooks = mla_controller_hooks(*api);
    *hooks = api_hooks;
    return MLA_OK;
}

static void serve_log_listening(const struct mla_serve_config *cfg,
                                const struct mla_http_server *srv,
                                struct mla_policy_store *store, const char *mode)
{
    struct mla_policy_set *ps = mla_policy_store_acquire(store);
    char host[64] = "?";
    if (cfg->addr.ss_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)&cfg->addr)->sin_addr, host, sizeof host);
    else
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&cfg->addr)->sin6_addr, host,
                  sizeof host);
    mla_log(MLA_LOG_INFO, "serve",
            "listening on https://%s%s%s:%u (version %s, mode %s, %u threads, policies %s: "
            "%zu, %s)", cfg->addr.ss_family == AF_INET6 ? "[" : "", host,
            cfg->addr.ss_family == AF_INET6 ? "]" : "", (unsigned)mla_http_port(srv),
            MLA_VERSION, mode, cfg->threads, cfg->policies, mla_policy_set_count(ps),
            mla_policy_set_hash(ps));
    mla_policy_set_unref(ps);
}

/* The control thread until SIGTERM/SIGINT: reloads on SIGHUP and when the policy directory or
 * the certificate files change from the fingerprints taken when they were loaded. Returns the
 * signal that stopped it. */
static int serve_wait(const struct mla_serve_config *cfg, struct mla_http_server *srv,
                      struct mla_policy_store *store, struct serve_metrics *sm,
                      const sigset_t *sigs, uint64_t pol_fp, uint64_t tls_fp)
{
    for (;;) {
        struct timespec to = {SERVE_POLL_SECONDS, 0};
        int sig = sigtimedwait(sigs, NULL, &to);
        if (sig == SIGTERM || sig == SIGINT)
            return sig;
        if (sig == SIGHUP) {
            serve_reload_policies(store, sm, "SIGHUP");
            pol_fp = serve_dir_fingerprint(cfg->policies);
            serve_reload_tls(srv, cfg, "SIGHUP");
            tls_fp = serve_tls_fingerprint(cfg);
        } else if (sig < 0 && errno != EAGAIN && errno != EINTR) {
            mla_log(MLA_LOG_ERROR, "serve", "sigtimedwait: %s", strerror(errno));
            return SIGTERM;
        } else {
            uint64_t fp = serve_dir_fingerprint(cfg->policies);
            if (fp != pol_fp) {
                pol_fp = fp;
                serve_reload_policies(store, sm, "files changed");
            }
            fp = serve_tls_fingerprint(cfg);
            if (fp != tls_fp) {
                tls_fp = fp;
                serve_reload_tls(srv, cfg, "files changed");
            }
        }
    }
}

/* The configuration, the certificate check and the policies: what must hold before anything
 * starts. MLA_EXIT_OK to go on, else the exit status (help printed, or the error logged). */
static int serve_prepare(int argc, char **argv, struct mla_serve_config *cfg,
                         struct mla_policy_store *store, struct serve_metrics *sm, bool *go)
{
    struct mla_err err;
    mla_err_clear(&err);
    *go = false;
    if (mla_serve_config_parse(cfg, argc, argv, &err) != MLA_OK) {
        fprintf(stderr, "ml-autoscaling serve: %s\n", err.msg);
        return MLA_EXIT_USAGE;
    }
    if (cfg->help) {
        mla_serve_config_usage(stdout);
        return MLA_EXIT_OK;
    }
    mla_log_set_level(cfg->log_level);
    int days = 0;
    if (mla_tls_check_pair(cfg->tls_cert, cfg->tls_key, &days, &err) != MLA_OK) {
        mla_log(MLA_LOG_ERROR, "serve", "%s", err.msg);
        return MLA_EXIT_USAGE;
    }
    if (days < 14)
        mla_log(MLA_LOG_WARN, "tls", "the TLS certificate expires in %d days", days);
    serve_metrics_init(sm);
    if (mla_policy_store_init(store, cfg->policies, &err) != MLA_OK) {
        char line[1200];
        mla_err_format(&err, line, sizeof line);
        mla_log(MLA_LOG_ERROR, "serve", "cannot load the policies from %s: %s", cfg->policies,
                line);
        mla_metrics_reset();
        return MLA_EXIT_USAGE;
    }
    serve_policy_metrics(sm, store, true);
    *go = true;
    return MLA_EXIT_OK;
}

int mla_cmd_serve(int argc, char **argv)
{
    struct mla_serve_config cfg;
    struct mla_policy_store store;
    struct serve_metrics sm;
    bool go;
    int rc = serve_prepare(argc, argv, &cfg, &store, &sm, &go);
    if (!go)
        return rc;
    uint64_t pol_fp = serve_dir_fingerprint(cfg.policies);
    uint64_t tls_fp = serve_tls_fingerprint(&cfg);
    sigset_t sigs;
    serve_block_signals(&sigs);

    struct mla_err err;
    mla_err_clear(&err);
    const struct mla_admit_hooks *hooks = NULL;
    struct mla_controller *api = NULL;
    struct mla_admit_hooks api_hooks;
    /* the predictive step at the loop's hook (forecaster: the fc model); must outlive `api`.
     * Without --prometheus-url there is no history to forecast from: no forecaster, so the
     * step applies business hours, the cost cap and the bounds only. */
    struct mla_predict_env penv = {
        .prom = {.base_url = cfg.prometheus_url, .timeout_ms = 10000},
        .forecast = cfg.prometheus_url ? mla_predict_fc_forecast : NULL};
    if (serve_start_api(&cfg, &store, &penv, &api, &api_hooks, &hooks, &err) != MLA_OK) {
        mla_log(MLA_LOG_ERROR, "serve", "Kubernetes API side: %s", err.msg);
        mla_policy_store_fini(&store);
        mla_metrics_reset();
        return MLA_EXIT_USAGE;
    }
    const char *mode = hooks ? "full" : "admission-only";

    struct mla_http_opts ho = {
        .addr = (const struct sockaddr *)&cfg.addr,
        .cert_file = cfg.tls_cert,
        .key_file = cfg.tls_key,
        .threads = cfg.threads,
        .max_body = cfg.max_body_bytes,
        .connection_timeout = cfg.connection_timeout,
        .max_connections = cfg.max_connections,
        .policies = &store,
        .hooks = hooks,
        .mode = mode,
        .readyz_detail = mla_controller_readyz, /* api NULL: admission-only, KEDA unknown */
        .readyz_ctx = api,
    };
    struct mla_http_server *srv = NULL;
    if (mla_http_start(&ho, &srv, &err) != MLA_OK) {
        mla_log(MLA_LOG_ERROR, "serve", "%s", err.msg);
        mla_controller_destroy(api);
        mla_policy_store_fini(&store);
        mla_metrics_reset();
        return MLA_EXIT_USAGE;
    }
    serve_log_listening(&cfg, srv, &store, mode);

    int stop_sig = serve_wait(&cfg, srv, &store, &sm, &sigs, pol_fp, tls_fp);
    mla_log(MLA_LOG_INFO, "serve", "received %s: finishing in-flight requests (up to %.0f s)",
            stop_sig == SIGINT ? "SIGINT" : "SIGTERM", cfg.shutdown_grace);
    unsigned left = mla_http_stop(srv, cfg.shutdown_grace);
    /* ==== API SIDE (kube helper): stop here (drain the worker queue, end the loop). ====
     * After the HTTP server: no request thread uses the hooks any more. The Lease is released
     * first; queued work is dropped (the next leader's loop repairs it). */
    mla_controller_destroy(api);
    if (left)
        mla_log(MLA_LOG_WARN, "serve", "stopped with %u requests still in flight", left);
    else
        mla_log(MLA_LOG_INFO, "serve", "stopped cleanly");
    mla_policy_store_fini(&store);
    mla_metrics_reset();
    return MLA_EXIT_OK;
}
