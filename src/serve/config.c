/* serve/config.c - `serve` flags and MLAS_* environment variables (see serve.h).
 *
 * One table lists every flag with its environment name, its kind and its default, so that
 * parsing, validation and --help cannot drift apart. Values are applied in order defaults ->
 * environment -> argv into a local copy; the caller's struct is written only on success.
 */
#include "mla/serve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

enum cfg_kind { CFG_STR, CFG_LISTEN, CFG_UINT, CFG_SIZE, CFG_SECONDS, CFG_BOOL, CFG_LEVEL };

struct cfg_flag {
    const char *name;  /* without the leading -- */
    enum cfg_kind kind;
    size_t off;        /* offset of the field in struct mla_serve_config */
    double min, max;   /* for numbers */
    const char *dflt;  /* shown in --help */
    const char *help;
};

#define F(field) offsetof(struct mla_serve_config, field)

static const struct cfg_flag cfg_flags[] = {
    {"listen", CFG_LISTEN, F(listen), 0, 0, MLA_SERVE_DEFAULT_LISTEN,
     "address and port to serve HTTPS on (IPv4, [IPv6] or localhost; port 0 picks a free one)"},
    {"tls-cert", CFG_STR, F(tls_cert), 0, 0, MLA_SERVE_DEFAULT_CERT,
     "PEM server certificate (chain); reloaded when the file changes"},
    {"tls-key", CFG_STR, F(tls_key), 0, 0, MLA_SERVE_DEFAULT_KEY, "PEM private key of --tls-cert"},
    {"policies", CFG_STR, F(policies), 0, 0, MLA_SERVE_DEFAULT_POLICIES,
     "policy directory; reloaded on SIGHUP and when its files change"},
    {"kubeconfig", CFG_STR, F(kubeconfig), 0, 0, "(none)", "kubeconfig file for the API side"},
    {"kube-url", CFG_STR, F(kube_url), 0, 0, "(none)", "Kubernetes API URL (instead of --kubeconfig)"},
    {"kube-token-file", CFG_STR, F(kube_token_file), 0, 0, "(none)",
     "bearer token file for --kube-url"},
    {"kube-ca", CFG_STR, F(kube_ca), 0, 0, "(none)", "CA bundle for --kube-url"},
    {"prometheus-url", CFG_STR, F(prometheus_url), 0, 0, "(none)",
     "Prometheus base URL for the predictive loop"},
    {"loop-interval", CFG_SECONDS, F(loop_interval), 1, 86400, "60",
     "seconds between runs of the leader's background loop"},
    {"loop-models", CFG_UINT, F(loop_models), 0, 1000000, "10000",
     "lookback windows of samples the loop keeps between passes (4 bytes a point: 16 KB at "
     "336 h by 300 s; in all at most the points of that many such windows, so a finer step "
     "holds fewer), so that a pass fetches only new samples; ScaledObjects beyond it are "
     "forecast from a full query; 0: none"},
    {"kube-api-qps", CFG_SECONDS, F(kube_api_qps), 0, 100000, "20",
     "requests per second the loop sends to the API server (LIST pages, reads, its applies; "
     "a token bucket as client-go's); 0: unlimited"},
    {"kube-api-burst", CFG_SECONDS, F(kube_api_burst), 1, 100000, "30",
     "requests the loop may send at once before --kube-api-qps paces it"},
    {"loop-explanation-writes", CFG_UINT, F(loop_explanation_writes), 0, 1000000,
     "--kube-api-qps x --loop-interval / 4",
     "applies per pass that change only a ScaledObject's explanation (the rule named, the "
     "forecast's figures; its replica counts unchanged); the rest wait for a later pass, so a "
     "mass change of explanations cannot stretch a pass past the interval (those written go "
     "out while the pass waits between Prometheus queries, else at its end); 0: no limit"},
    {"prometheus-qps", CFG_SECONDS, F(prometheus_qps), 0, 100000, "100",
     "query_range calls per second the loop sends to Prometheus, at least: a pass over N "
     "predictive workloads is paced to N / (0.8 x --loop-interval less the time its LISTs "
     "took) when that is more (the pass's falls and explanation writes use the waits between "
     "queries); 0: unlimited"},
    {"prometheus-burst", CFG_SECONDS, F(prometheus_burst), 1, 100000, "200",
     "queries the loop may send at once before --prometheus-qps paces it"},
    {"no-loop", CFG_BOOL, F(no_loop), 0, 0, "false", "do not run the leader election and loop"},
    {"log-level", CFG_LEVEL, F(log_level), 0, 0, "info", "debug, info, warn, error or off"},
    {"threads", CFG_UINT, F(threads), 1, 256, "number of CPUs", "request threads"},
    {"max-body-bytes", CFG_SIZE, F(max_body_bytes), 1024, 64.0 * 1024 * 1024, "3145728",
     "largest /mutate body accepted (larger: 413 without reading it)"},
    {"connection-timeout", CFG_UINT, F(connection_timeout), 1, 3600, "30",
     "seconds an idle or slow connection is kept"},
    {"max-connections", CFG_UINT, F(max_connections), 1, 100000, "1000",
     "concurrent connections accepted"},
    {"shutdown-grace", CFG_SECONDS, F(shutdown_grace), 0, 600, "10",
     "seconds in-flight requests get to finish on SIGTERM/SIGINT"},
};
#define CFG_NFLAGS (sizeof cfg_flags / sizeof cfg_flags[0])

const char *mla_serve_kube_mode_name(enum mla_kube_mode m)
{
    return m == MLA_KUBE_NONE ? "admission-only" : "full";
}

static void cfg_env_name(const struct cfg_flag *f, char *out, size_t n)
{
    size_t j = (size_t)snprintf(out, n, "MLAS_");
    for (const char *c = f->name; *c && j + 1 < n; c++)
        out[j++] = *c == '-' ? '_' : (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
    out[j] = '\0';
}

static enum mla_code cfg_listen(struct mla_serve_config *c, const char *v, const char *what,
                                struct mla_err *err)
{
    const char *colon = strrchr(v, ':');
    if (!colon || colon == v)
        return mla_err_set(err, MLA_EUSAGE, "%s: '%s' is not ADDR:PORT (e.g. 0.0.0.0:8443, "
                           "127.0.0.1:0, [::]:8443)", what, v);
    char *end;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end || port < 0 || port > 65535)
        return mla_err_set(err, MLA_EUSAGE, "%s: port '%s' is not a number in 0..65535", what,
                           colon + 1);
    char host[128];
    size_t hl = (size_t)(colon - v);
    if (hl >= sizeof host)
        return mla_err_set(err, MLA_EUSAGE, "%s: address too long", what);
    memcpy(host, v, hl);
    host[hl] = '\0';
    memset(&c->addr, 0, sizeof c->addr);
    if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
        host[hl - 1] = '\0';
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&c->addr;
        if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1)
            return mla_err_set(err, MLA_EUSAGE, "%s: '%s' is not an IPv6 address", what, host + 1);
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        c->addr_len = sizeof *a6;
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&c->addr;
        const char *h = strcmp(host, "localhost") ? host : "127.0.0.1";
        if (inet_pton(AF_INET, h, &a4->sin_addr) != 1)
            return mla_err_set(err, MLA_EUSAGE, "%s: '%s' is not an IPv4 address (use [ADDR] for "
                               "IPv6)", what, host);
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        c->addr_len = sizeof *a4;
    }
    c->listen = v;
    return MLA_OK;
}

static enum mla_code cfg_number(const struct cfg_flag *f, const char *v, const char *what,
                                double *out, struct mla_err *err)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || end == v || *end || d != d)
        return mla_err_set(err, MLA_EUSAGE, "%s: '%s' is not a number", what, v);
    if (f->kind != CFG_SECONDS && d != (double)(long long)d)
        return mla_err_set(err, MLA_EUSAGE, "%s: '%s' is not a whole number", what, v);
    if (d < f->min || d > f->max)
        return mla_err_set(err, MLA_EUSAGE, "%s: %s is out of range (allowed %g..%g)", what, v,
                           f->min, f->max);
    *out = d;
    return MLA_OK;
}

static enum mla_code cfg_apply(struct mla_serve_config *c, const struct cfg_flag *f,
                               const char *v, const char *what, struct mla_err *err)
{
    char *field = (char *)c + f->off;
    double d = 0;
    enum mla_code rc = MLA_OK;
    switch (f->kind) {
    case CFG_STR:
        if (!v[0])
            return mla_err_set(err, MLA_EUSAGE, "%s: empty value", what);
        *(const char **)(void *)field = v;
        return MLA_OK;
    case CFG_LISTEN:
        return cfg_listen(c, v, what, err);
    case CFG_BOOL:
        if (!strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "yes"))
            *(bool *)(void *)field = true;
        else if (!strcasecmp(v, "false") || !strcmp(v, "0") || !strcasecmp(v, "no"))
            *(bool *)(void *)field = false;
        else
            return mla_err_set(err, MLA_EUSAGE, "%s: '%s' is not a boolean (true or false)", what,
                               v);
        return MLA_OK;
    case CFG_LEVEL: {
        struct mla_err le;
        if (mla_log_level_parse(v, (enum mla_log_level *)(void *)field, &le) != MLA_OK)
            return mla_err_set(err, MLA_EUSAGE, "%s: %s", what, le.msg);
        return MLA_OK;
    }
    case CFG_UINT:
    case CFG_SIZE:
    case CFG_SECONDS:
        rc = cfg_number(f, v, what, &d, err);
        if (rc != MLA_OK)
            return rc;
        if (f->kind == CFG_UINT)
            *(unsigned *)(void *)field = (unsigned)d;
        else if (f->kind == CFG_SIZE)
            *(size_t *)(void *)field = (size_t)d;
        else
            *(double *)(void *)field = d;
        return MLA_OK;
    }
    return MLA_OK;
}

static const struct cfg_flag *cfg_find(const char *name, size_t len)
{
    for (size_t i = 0; i < CFG_NFLAGS; i++)
        if (strlen(cfg_flags[i].name) == len && !strncmp(cfg_flags[i].name, name, len))
            return &cfg_flags[i];
    return NULL;
}

static enum mla_code cfg_args(struct mla_serve_config *c, int argc, char **argv,
                              struct mla_err *err)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            c->help = true;
            continue;
        }
        if (strncmp(a, "--", 2) != 0)
            return mla_err_set(err, MLA_EUSAGE, "unexpected argument '%s' (see --help)", a);
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t nl = eq ? (size_t)(eq - name) : strlen(name);
        const struct cfg_flag *f = cfg_find(name, nl);
        if (!f)
            return mla_err_set(err, MLA_EUSAGE, "unknown flag '%.*s' (see --help)", (int)nl + 2, a);
        char what[64];
        snprintf(what, sizeof what, "--%s", f->name);
        const char *v = eq ? eq + 1 : NULL;
        if (!v && f->kind == CFG_BOOL)
            v = "true";
        if (!v) {
            if (i + 1 >= argc)
                return mla_err_set(err, MLA_EUSAGE, "%s needs a value", what);
            v = argv[++i];
        }
        enum mla_code rc = cfg_apply(c, f, v, what, err);
        if (rc != MLA_OK)
            return rc;
    }
    return MLA_OK;
}

static enum mla_code cfg_kube(struct mla_serve_config *c, struct mla_err *err)
{
    if (c->kubeconfig && (c->kube_url || c->kube_token_file || c->kube_ca))
        return mla_err_set(err, MLA_EUSAGE, "--kubeconfig cannot be combined with --kube-url, "
                                            "--kube-token-file or --kube-ca");
    if (!c->kube_url && (c->kube_token_file || c->kube_ca))
        return mla_err_set(err, MLA_EUSAGE, "--kube-token-file and --kube-ca need --kube-url");
    if (c->kube_url && strncmp(c->kube_url, "https://", 8) && strncmp(c->kube_url, "http://", 7))
        return mla_err_set(err, MLA_EUSAGE, "--kube-url: '%s' is not an http(s):// URL",
                           c->kube_url);
    if (c->prometheus_url && strncmp(c->prometheus_url, "https://", 8) &&
        strncmp(c->prometheus_url, "http://", 7))
        return mla_err_set(err, MLA_EUSAGE, "--prometheus-url: '%s' is not an http(s):// URL",
                           c->prometheus_url);
    const char *in_cluster = getenv("KUBERNETES_SERVICE_HOST");
    if (c->kubeconfig)
        c->kube_mode = MLA_KUBE_KUBECONFIG;
    else if (c->kube_url)
        c->kube_mode = MLA_KUBE_EXPLICIT;
    else if (in_cluster && in_cluster[0])
        c->kube_mode = MLA_KUBE_IN_CLUSTER;
    else
        c->kube_mode = MLA_KUBE_NONE;
    return MLA_OK;
}

enum mla_code mla_serve_config_parse(struct mla_serve_config *cfg, int argc, char **argv,
                                     struct mla_err *err)
{
    struct mla_serve_config c;
    memset(&c, 0, sizeof c);
    enum mla_code rc = cfg_listen(&c, MLA_SERVE_DEFAULT_LISTEN, "default", err);
    if (rc != MLA_OK)
        return rc;
    c.tls_cert = MLA_SERVE_DEFAULT_CERT;
    c.tls_key = MLA_SERVE_DEFAULT_KEY;
    c.policies = MLA_SERVE_DEFAULT_POLICIES;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    c.threads = ncpu > 0 ? (unsigned)(ncpu > 256 ? 256 : ncpu) : 2;
    c.max_body_bytes = MLA_SERVE_DEFAULT_MAX_BODY;
    c.connection_timeout = MLA_SERVE_DEFAULT_CONN_TIMEOUT;
    c.max_connections = MLA_SERVE_DEFAULT_MAX_CONNECTIONS;
    c.shutdown_grace = MLA_SERVE_DEFAULT_SHUTDOWN_GRACE;
    c.log_level = MLA_LOG_INFO;
    c.loop_interval = MLA_SERVE_DEFAULT_LOOP_INTERVAL;
    c.loop_models = 10000; /* MLA_PREDICT_MODELS_DEFAULT_MAX */
    c.kube_api_qps = 20;
    c.loop_explanation_writes = MLA_SERVE_EXPLANATION_WRITES_AUTO;
    c.kube_api_burst = 30;
    c.prometheus_qps = 100;
    c.prometheus_burst = 200;
    for (size_t i = 0; i < CFG_NFLAGS; i++) {
        char env[64];
        cfg_env_name(&cfg_flags[i], env, sizeof env);
        const char *v = getenv(env);
        if (!v || !v[0])
            continue;
        rc = cfg_apply(&c, &cfg_flags[i], v, env, err);
        if (rc != MLA_OK)
            return rc;
    }
    rc = cfg_args(&c, argc, argv, err);
    if (rc == MLA_OK)
        rc = cfg_kube(&c, err);
    if (rc != MLA_OK)
        return rc;
    *cfg = c;
    return MLA_OK;
}

void mla_serve_config_usage(FILE *f)
{
    fprintf(f, "Usage: ml-autoscaling serve [flags]\n\n"
               "Runs the HTTPS mutating admission webhook (POST /mutate, GET /healthz, /readyz,\n"
               "/metrics) and, with a Kubernetes configuration, the API side and leader loop.\n"
               "Without --kubeconfig/--kube-url and outside a cluster it runs admission-only.\n\n"
               "Flags (each also read from the environment variable shown; flags win):\n");
    for (size_t i = 0; i < CFG_NFLAGS; i++) {
        const struct cfg_flag *fl = &cfg_flags[i];
        char env[64], left[64];
        cfg_env_name(fl, env, sizeof env);
        snprintf(left, sizeof left, "--%s%s", fl->name, fl->kind == CFG_BOOL ? "" : " V");
        fprintf(f, "  %-24s %s\n  %-24s env %s, default %s\n", left, fl->help, "", env, fl->dflt);
    }
    fprintf(f, "\nSignals: SIGTERM/SIGINT finish in-flight requests and stop; SIGHUP reloads the\n"
               "policies and the TLS certificate.\n"
               "Exit codes: 0 clean stop, 2 usage, certificate or policy error at start-up.\n");
}
