/* serve.h - the configuration of `ml-autoscaling serve`: flags and MLAS_* environment variables
 * parsed and validated into one struct, consumed by the HTTP server (webhook side) and by the
 * API side (kube client, worker, leader loop).
 *
 * Every flag --some-flag also reads the environment variable MLAS_SOME_FLAG; a flag on the
 * command line overrides the environment. Booleans accept true/false/1/0/yes/no.
 *
 * Ownership: string fields are borrowed from argv, the environment or string literals (all live
 * for the whole process); the struct owns nothing and needs no fini.
 * Threading: filled once in main before any thread starts; read-only afterwards.
 */
#ifndef MLA_SERVE_H
#define MLA_SERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "mla/err.h"
#include "mla/log.h"

#define MLA_SERVE_DEFAULT_LISTEN "0.0.0.0:8443"
#define MLA_SERVE_DEFAULT_CERT "/etc/ml-autoscaling/tls/tls.crt"
#define MLA_SERVE_DEFAULT_KEY "/etc/ml-autoscaling/tls/tls.key"
#define MLA_SERVE_DEFAULT_POLICIES "/etc/ml-autoscaling/policies"
#define MLA_SERVE_DEFAULT_MAX_BODY (3u * 1024u * 1024u) /* kube-apiserver's request limit */
#define MLA_SERVE_DEFAULT_CONN_TIMEOUT 30u              /* seconds; webhook timeouts are <= 30 */
#define MLA_SERVE_DEFAULT_MAX_CONNECTIONS 1000u
#define MLA_SERVE_DEFAULT_LOOP_INTERVAL 60.0
#define MLA_SERVE_DEFAULT_SHUTDOWN_GRACE 10.0
#define MLA_SERVE_EXPLANATION_WRITES_AUTO ((unsigned)-1) /* not given: derived (controller.h) */

/* How the API side reaches Kubernetes. */
enum mla_kube_mode {
    MLA_KUBE_NONE = 0,    /* no configuration at all: admission-only mode */
    MLA_KUBE_KUBECONFIG,  /* --kubeconfig FILE */
    MLA_KUBE_EXPLICIT,    /* --kube-url URL [--kube-token-file FILE] [--kube-ca FILE] */
    MLA_KUBE_IN_CLUSTER,  /* KUBERNETES_SERVICE_HOST set: service-account token and CA */
};

struct mla_serve_config {
    /* webhook */
    const char *listen;              /* as given, "ADDR:PORT" */
    struct sockaddr_storage addr;    /* parsed listen address (IPv4 or [IPv6]; port 0 = any) */
    socklen_t addr_len;
    const char *tls_cert, *tls_key;  /* PEM files */
    const char *policies;            /* policy directory */
    unsigned threads;                /* request threads (MHD thread pool), default: CPUs */
    size_t max_body_bytes;           /* larger /mutate bodies get 413 */
    unsigned connection_timeout;     /* seconds a connection may stay idle or slow */
    unsigned max_connections;        /* concurrent connections accepted */
    double shutdown_grace;           /* seconds to let in-flight requests finish on SIGTERM */
    enum mla_log_level log_level;
    /* API side (kube helper) */
    enum mla_kube_mode kube_mode;
    const char *kubeconfig;          /* NULL unless MLA_KUBE_KUBECONFIG */
    const char *kube_url;            /* NULL unless MLA_KUBE_EXPLICIT */
    const char *kube_token_file;     /* may be NULL */
    const char *kube_ca;             /* may be NULL */
    const char *prometheus_url;      /* NULL when not given: the predictive loop reads nothing */
    double loop_interval;            /* seconds between leader loop runs */
    unsigned loop_models;            /* --loop-models: streaming models kept; 0: none */
    double kube_api_qps, kube_api_burst;     /* the loop's API rate limit; qps 0: none */
    /* --loop-explanation-writes: per pass; 0: no limit; MLA_SERVE_EXPLANATION_WRITES_AUTO:
     * derived from the API rate and the interval (controller.h) */
    unsigned loop_explanation_writes;
    double prometheus_qps, prometheus_burst; /* the loop's Prometheus rate limit; qps 0: none */
    bool no_loop;                    /* --no-loop: no leader election, no background loop */
    bool help;                       /* --help was given: print usage, exit 0 */
};

/* Fills *cfg from the defaults, then MLAS_* environment variables, then argv (argv[0] is the
 * subcommand name and is skipped). MLA_EUSAGE with a message naming the flag or variable and
 * the allowed values on any bad or unknown flag. *cfg is untouched on failure. */
enum mla_code mla_serve_config_parse(struct mla_serve_config *cfg, int argc, char **argv,
                                     struct mla_err *err) MLA_MUST_CHECK;

/* Prints the usage with every flag, its environment variable and its default. */
void mla_serve_config_usage(FILE *f);

/* "admission-only" when cfg says no Kubernetes configuration, else "full". */
const char *mla_serve_kube_mode_name(enum mla_kube_mode m);

#endif
