/* http.h - the webhook's HTTPS server (libmicrohttpd over GnuTLS).
 *
 * Routes: POST /mutate (AdmissionReview in, AdmissionReview out), GET /healthz ("ok"),
 * GET /readyz (JSON detail: mode, policy set, and what readyz_detail adds), GET /metrics
 * (Prometheus text). Errors that are not AdmissionReview-level get a JSON body {"error": "..."}
 * with 400/404/405/413/415/500.
 *
 * Ownership: the server borrows everything in mla_http_opts (the policy store and hooks must
 * outlive it); mla_http_stop() frees the server.
 * Threading: mla_http_start/reload_tls/stop are called from one control thread (serve's main);
 * requests run on the server's own thread pool.
 */
#ifndef MLA_HTTP_H
#define MLA_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "mla/buf.h"
#include "mla/decide.h"
#include "mla/err.h"
#include "mla/policy.h"

struct mla_http_opts {
    const struct sockaddr *addr;          /* borrowed: listen address (port 0: pick a free one) */
    const char *cert_file, *key_file;     /* borrowed: PEM files, read at start and on reload */
    unsigned threads;                     /* >= 1: size of the request thread pool */
    size_t max_body;                      /* /mutate bodies above this get 413 */
    unsigned connection_timeout;          /* seconds */
    unsigned max_connections;
    struct mla_policy_store *policies;    /* borrowed */
    const struct mla_admit_hooks *hooks;  /* borrowed, may be NULL (admission-only) */
    const char *mode;                     /* borrowed: "admission-only" or "full" (readyz) */
    /* May be NULL. Appends more members to the /readyz object, each starting with ',' (the API
     * side's leader election and KEDA state). Runs in a request thread; must not block. */
    enum mla_code (*readyz_detail)(void *ctx, struct mla_buf *out);
    void *readyz_ctx;                     /* borrowed */
};

struct mla_http_server; /* opaque */

/* Loads the certificate and key, binds and starts serving. MLA_ETLS for certificate problems,
 * MLA_EIO when the address cannot be bound. Only one server may run per process (the TLS
 * certificate callback has no closure argument, so the credentials are process-wide). */
enum mla_code mla_http_start(const struct mla_http_opts *opts, struct mla_http_server **out,
                             struct mla_err *err) MLA_MUST_CHECK;

/* The port actually bound (useful with port 0). */
uint16_t mla_http_port(const struct mla_http_server *s);

/* Re-reads the certificate and key files and serves them to new handshakes. On failure the
 * old pair stays in use. */
enum mla_code mla_http_reload_tls(struct mla_http_server *s, struct mla_err *err) MLA_MUST_CHECK;

/* Graceful stop: stops accepting, /readyz turns 503, waits up to grace_s seconds for in-flight
 * requests to finish, then closes everything and frees s. Returns the number of requests still
 * in flight when the wait ended (0 on a clean drain). */
unsigned mla_http_stop(struct mla_http_server *s, double grace_s);

#endif
