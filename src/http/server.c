/* http/server.c - the webhook's HTTPS server on libmicrohttpd + GnuTLS (see http.h).
 *
 * DESIGN
 * Threads: MHD's pool (opts->threads, epoll, one connection is always served by the same pool
 * thread) runs every request; the control thread (serve's main) calls start, reload_tls, stop.
 * Per connection: a struct http_conn (MHD "socket context") holds the body and response buffers,
 * reused by every request on that keep-alive connection, so the hot path does not malloc a
 * body buffer per request. One request runs at a time per connection, so the per-request state
 * lives in the same struct and is reset on each request's first call; the response reads the
 * connection's out buffer (MHD_RESPMEM_PERSISTENT, or a reader for an admission answer), which
 * is not touched again until the next request, i.e. after the response was sent.
 * Transport: each GnuTLS session sends and receives through the connection's struct
 * mla__http_tlsio (tlsio.c: one recv() per record, an answer's two records in one sendmsg()).
 * Bodies: Content-Length above max_body is refused with 413 before any byte of the body is
 * read; chunked uploads are capped while streaming (413 and the connection is closed).
 * TLS: the certificate comes from a GnuTLS retrieve callback reading process-wide credentials
 * (guarded by cred_mu) so that reload_tls can swap them for new handshakes; retired credentials
 * stay allocated until stop because sessions that picked them up may still use them.
 * Shutdown: stop sets `draining` (readyz 503), quiesces the listen socket, waits for in_flight
 * (requests between their first handler call and their completion callback) to reach 0 or the
 * grace period to end, then MHD_stop_daemon closes idle keep-alive connections.
 */
#include "mla/http.h"

#include <errno.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "http-int.h"
#include "mla/review.h"
#include "mla/arena.h"
#include "mla/buf.h"
#include "mla/log.h"
#include "mla/mem.h"
#include "mla/metrics.h"

#define HTTP_CONN_MEMORY (8u * 1024u) /* per-connection MHD pool: header block limit ~7.5 KB */
/* TLS 1.2 and 1.3, AEAD ciphers with an ephemeral key exchange only: GnuTLS's NORMAL also lets
 * TLS 1.2 clients pick CBC suites and static RSA key exchange. kube-apiserver (Go) offers
 * ECDHE with AES-GCM first; the client's order decides among these (no %SERVER_PRECEDENCE). */
#define HTTP_TLS_PRIORITIES                                                                    \
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:"        \
    "+CHACHA20-POLY1305:-KX-ALL:+ECDHE-RSA:+ECDHE-ECDSA"
#define HTTP_MAX_CHAIN 8
#define HTTP_OUT_CAP (16u * 1024u * 1024u) /* a response larger than this is a bug */
#define HTTP_KEEP_BYTES (64u * 1024u)      /* per-connection buffers above this are freed */

enum http_route { R_MUTATE, R_HEALTHZ, R_READYZ, R_METRICS, R_OTHER, R_COUNT };
static const char *const route_names[R_COUNT] = {"/mutate", "/healthz", "/readyz", "/metrics",
                                                 "other"};
static const unsigned known_codes[] = {200, 400, 404, 405, 413, 415, 500, 503};
#define N_CODES (sizeof known_codes / sizeof known_codes[0])

enum adm_outcome { O_PATCHED, O_ALLOWED, O_DENIED, O_ERROR, O_COUNT };
static const char *const outcome_names[O_COUNT] = {"patched", "allowed", "denied", "error"};
enum adm_opgrp { G_CREATE, G_UPDATE, G_OTHER, G_COUNT };
static const char *const opgrp_names[G_COUNT] = {"CREATE", "UPDATE", "OTHER"};

struct http_cred {
    gnutls_pcert_st pcert[HTTP_MAX_CHAIN];
    unsigned n;
    gnutls_privkey_t key;
    struct http_cred *retired_next; /* guarded by cred_mu */
};

static pthread_mutex_t cred_mu = PTHREAD_MUTEX_INITIALIZER;
static struct http_cred *cred_cur;     /* guarded by cred_mu */
static struct http_cred *cred_retired; /* guarded by cred_mu: freed at stop */

struct mla_http_server {
    struct MHD_Daemon *d;
    struct mla_http_opts o;            /* immutable after start */
    char cert_file[4096], key_file[4096];
    uint16_t port;
    atomic_bool draining;              /* atomic */
    atomic_uint in_flight;             /* atomic: requests being handled */
    atomic_uint open_conns;            /* atomic: connections accepted and not yet closed */
    struct mla_log_limit mhd_log_rl;   /* MHD's own error lines (TLS garbage from scanners) */
    struct mla_log_limit limit_log_rl; /* connection-limit refusals */
    struct mla_log_limit bad_log_rl;   /* malformed reviews: a broken client must not flood logs */
    struct {
        struct mla_metric *adm[O_COUNT][G_COUNT];
        struct mla_metric *dur_in, *dur_out, *adm_in_flight;
        struct mla_metric *http[R_COUNT][N_CODES];
    } m;                               /* immutable after start; updates are atomic */
};

struct http_conn {
    struct mla_http_server *srv;
    struct mla_buf body, out;
    /* per request, reset at its first call */
    enum http_route route;
    bool active, responded, adm_counted;
    struct timespec t0;
    struct mla__http_tlsio tio; /* the session's transport (tlsio.c) */
};

static double http_since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

/* ---- TLS credentials ---- */

static enum mla_code http_read_file(const char *path, gnutls_datum_t *out, struct mla_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return mla_err_set(err, MLA_ETLS, "cannot read %s: %s", path, strerror(errno));
    struct mla_buf b;
    mla_buf_init(&b, 1024 * 1024);
    char chunk[4096];
    enum mla_code rc = MLA_OK;
    for (;;) {
        size_t n = fread(chunk, 1, sizeof chunk, f);
        if (n == 0 || rc != MLA_OK)
            break;
        rc = mla_buf_add(&b, chunk, n);
    }
    fclose(f);
    if (rc != MLA_OK) {
        mla_buf_fini(&b);
        return mla_err_set(err, MLA_ETLS, "%s is larger than 1 MiB", path);
    }
    out->size = (unsigned)b.len;
    out->data = (unsigned char *)mla_buf_take(&b);
    return MLA_OK;
}

static void http_cred_free(struct http_cred *c)
{
    if (!c)
        return;
    for (unsigned i = 0; i < c->n; i++)
        gnutls_pcert_deinit(&c->pcert[i]);
    if (c->key)
        gnutls_privkey_deinit(c->key);
    free(c);
}

/* Whether key is the private half of the leaf's public key. The files are read once here, but
 * a rotation may replace tls.key between the caller's own check and this read: a published
 * mismatched pair would fail every new handshake until the next reload. */
static bool http_pair_matches(gnutls_pcert_st *leaf, gnutls_privkey_t key)
{
    gnutls_pubkey_t pk;
    gnutls_datum_t a = {0}, b = {0};
    bool same = false;
    if (gnutls_pubkey_init(&pk) < 0)
        return false;
    if (gnutls_pubkey_import_privkey(pk, key, 0, 0) >= 0 &&
        gnutls_pubkey_export2(pk, GNUTLS_X509_FMT_DER, &a) >= 0 &&
        gnutls_pubkey_export2(leaf->pubkey, GNUTLS_X509_FMT_DER, &b) >= 0)
        same = a.size == b.size && memcmp(a.data, b.data, a.size) == 0;
    gnutls_free(a.data);
    gnutls_free(b.data);
    gnutls_pubkey_deinit(pk);
    return same;
}

static enum mla_code http_cred_load(const char *cert, const char *key, struct http_cred **out,
                                    struct mla_err *err)
{
    gnutls_datum_t cd = {0}, kd = {0};
    enum mla_code rc = http_read_file(cert, &cd, err);
    if (rc == MLA_OK)
        rc = http_read_file(key, &kd, err);
    struct http_cred *c = mla_xcalloc(1, sizeof *c);
    if (rc == MLA_OK) {
        unsigned n = HTTP_MAX_CHAIN;
        int g = gnutls_pcert_list_import_x509_raw(c->pcert, &n, &cd, GNUTLS_X509_FMT_PEM, 0);
        if (g < 0)
            rc = mla_err_set(err, MLA_ETLS, "TLS certificate %s: %s", cert, gnutls_strerror(g));
        else
            c->n = n;
    }
    if (rc == MLA_OK) {
        int g = gnutls_privkey_init(&c->key);
        if (g >= 0)
            g = gnutls_privkey_import_x509_raw(c->key, &kd, GNUTLS_X509_FMT_PEM, NULL, 0);
        if (g < 0)
            rc = mla_err_set(err, MLA_ETLS, "TLS key %s: %s", key, gnutls_strerror(g));
    }
    if (rc == MLA_OK && !http_pair_matches(&c->pcert[0], c->key))
        rc = mla_err_set(err, MLA_ETLS, "TLS key %s does not match certificate %s", key, cert);
    free(cd.data);
    if (kd.data) {
        memset(kd.data, 0, kd.size); /* the private key does not linger in freed memory */
        free(kd.data);
    }
    if (rc != MLA_OK) {
        http_cred_free(c);
        return rc;
    }
    *out = c;
    return MLA_OK;
}

static int http_cert_cb(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
                        const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                        gnutls_pcert_st **pcert, unsigned int *pcert_length,
                        gnutls_privkey_t *pkey)
{
    (void)session;
    (void)req_ca_dn;
    (void)nreqs;
    (void)pk_algos;
    (void)pk_algos_length;
    pthread_mutex_lock(&cred_mu);
    struct http_cred *c = cred_cur;
    if (c) {
        *pcert = c->pcert;
        *pcert_length = c->n;
        *pkey = c->key;
    }
    pthread_mutex_unlock(&cred_mu);
    return c ? 0 : -1;
}

static void http_cred_publish(struct http_cred *c)
{
    pthread_mutex_lock(&cred_mu);
    if (cred_cur) {
        cred_cur->retired_next = cred_retired;
        cred_retired = cred_cur;
    }
    cred_cur = c;
    pthread_mutex_unlock(&cred_mu);
}

static void http_cred_free_all(void)
{
    pthread_mutex_lock(&cred_mu);
    http_cred_free(cred_cur);
    cred_cur = NULL;
    while (cred_retired) {
        struct http_cred *n = cred_retired->retired_next;
        http_cred_free(cred_retired);
        cred_retired = n;
    }
    pthread_mutex_unlock(&cred_mu);
}

enum mla_code mla_http_reload_tls(struct mla_http_server *s, struct mla_err *err)
{
    struct http_cred *c = NULL;
    enum mla_code rc = http_cred_load(s->cert_file, s->key_file, &c, err);
    if (rc != MLA_OK)
        return rc;
    http_cred_publish(c);
    return MLA_OK;
}

/* ---- metrics ---- */

static const double dur_buckets[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                     0.025,  0.05,    0.1,    0.25,  0.5,   1.0};

static struct mla_metric *http_series(enum http_route r, unsigned code)
{
    char labels[96];
    snprintf(labels, sizeof labels, "route=\"%s\",code=\"%u\"", route_names[r], code);
    return mla_metrics_get(MLA_METRIC_COUNTER, "mla_http_requests_total",
                           "HTTP requests by route and status code", labels, NULL, 0);
}

static void http_metrics_init(struct mla_http_server *s)
{
    char labels[96];
    for (int o = 0; o < O_COUNT; o++)
        for (int g = 0; g < G_COUNT; g++) {
            snprintf(labels, sizeof labels, "outcome=\"%s\",operation=\"%s\"", outcome_names[o],
                     opgrp_names[g]);
            s->m.adm[o][g] = mla_metrics_get(
                MLA_METRIC_COUNTER, "mla_admission_requests_total",
                "AdmissionReviews answered, by outcome and operation", labels, NULL, 0);
        }
    const size_t nb = sizeof dur_buckets / sizeof dur_buckets[0];
    const char *dh = "Time to answer an AdmissionReview (decode to response built)";
    s->m.dur_in = mla_metrics_get(MLA_METRIC_HISTOGRAM, "mla_admission_duration_seconds", dh,
                                  "path=\"opted_in\"", dur_buckets, nb);
    s->m.dur_out = mla_metrics_get(MLA_METRIC_HISTOGRAM, "mla_admission_duration_seconds", dh,
                                   "path=\"not_opted_in\"", dur_buckets, nb);
    s->m.adm_in_flight = mla_metrics_get(MLA_METRIC_GAUGE, "mla_admission_in_flight",
                                         "AdmissionReviews being handled", "", NULL, 0);
    /* Every route's 200 and /mutate's error codes are created now so that they show as 0; the
     * rest are created on first use and cached in the table. */
    for (int r = 0; r < R_COUNT; r++)
        for (size_t c = 0; c < N_CODES; c++)
            if ((known_codes[c] == 200 && r != R_OTHER) || (r == R_MUTATE) ||
                (r == R_OTHER && known_codes[c] == 404))
                s->m.http[r][c] = http_series((enum http_route)r, known_codes[c]);
}

static void http_count(struct mla_http_server *s, enum http_route r, unsigned code)
{
    for (size_t c = 0; c < N_CODES; c++) {
        if (known_codes[c] != code)
            continue;
        /* Created lazily by the request threads: the registry returns the same series to
         * every racer, so a plain store of the same pointer is benign; atomics keep TSan calm. */
        struct mla_metric *m = __atomic_load_n(&s->m.http[r][c], __ATOMIC_ACQUIRE);
        if (!m) {
            m = http_series(r, code);
            __atomic_store_n(&s->m.http[r][c], m, __ATOMIC_RELEASE);
        }
        mla_metric_inc(m);
        return;
    }
    mla_metric_inc(http_series(r, code));
}

/* ---- responses ---- */

/* MHD's content reader for an admission answer: the connection's out buffer. */
static ssize_t http_answer_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    const struct http_conn *hc = cls;
    size_t k = hc->out.len - (size_t)pos < max ? hc->out.len - (size_t)pos : max;
    memcpy(buf, hc->out.data + pos, k);
    return (ssize_t)k;
}

static enum MHD_Result http_reply(struct MHD_Connection *c, struct http_conn *hc, unsigned code,
                                  const char *ctype, const char *body, size_t len)
{
    /* An admission answer (always hc->out) is a reader response, one block of its length: MHD
     * 0.9.75 then pushes its header (TCP_NODELAY, set once per connection) instead of corking
     * the socket under it, which costs a setsockopt() to push each answer after (mhd_send.c,
     * pre_send_setopt/post_send_setopt; a syscall is about 1.3 us here). With the transport
     * keeping the header record back (tlsio.c), the answer leaves in one sendmsg(). Any other
     * body is hc->out or a literal: both outlive the response (see DESIGN). */
    bool answer = hc->route == R_MUTATE && code == 200 && len > 0 && body == hc->out.data;
    struct MHD_Response *resp =
        answer ? MHD_create_response_from_callback(len, len, http_answer_reader, hc, NULL)
               : MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (code == 405)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
                                hc->route == R_MUTATE ? "POST" : "GET, HEAD");
    enum MHD_Result ret = MHD_queue_response(c, code, resp);
    MHD_destroy_response(resp);
    /* MHD sends the header and body records after the handler returns, one after the other */
    if (ret == MHD_YES && answer)
        mla__http_tlsio_hold(&hc->tio);
    if (ret == MHD_YES) {
        hc->responded = true;
        http_count(hc->srv, hc->route, code);
    }
    return ret;
}

static enum MHD_Result http_error(struct MHD_Connection *c, struct http_conn *hc, unsigned code,
                                  const char *msg)
{
    mla_buf_reset(&hc->out);
    if (mla_buf_adds(&hc->out, "{\"error\":") != MLA_OK ||
        mla_buf_add_json_str(&hc->out, msg) != MLA_OK || mla_buf_adds(&hc->out, "}\n") != MLA_OK)
        return MHD_NO;
    return http_reply(c, hc, code, "application/json", hc->out.data, hc->out.len);
}

/* ---- /mutate ---- */

static enum adm_opgrp http_opgrp(enum mla_review_op op)
{
    return op == MLA_OP_CREATE ? G_CREATE : op == MLA_OP_UPDATE ? G_UPDATE : G_OTHER;
}

static const char *action_name(enum mla_action a)
{
    return a == MLA_ACT_APPLY ? "apply" : a == MLA_ACT_REMOVE ? "remove" : "none";
}

static void http_log_decision(const struct mla_review_request *req, const struct mla_decision *d,
                              double secs)
{
    /* Hot path: the not-opted-in answer is logged at debug only, and the line is formatted
     * only when that level is on. */
    bool loud = d->opted_in || d->action != MLA_ACT_NONE || !d->allowed;
    enum mla_log_level lvl = loud ? MLA_LOG_INFO : MLA_LOG_DEBUG;
    if (!mla_log_enabled(lvl))
        return;
    struct mla_buf f;
    mla_buf_init(&f, 8192);
    enum mla_code rc = mla_buf_adds(&f, "\"uid\":");
    if (rc == MLA_OK)
        rc = mla_buf_add_json_str(&f, req->uid);
    if (rc == MLA_OK)
        rc = mla_buf_adds(&f, ",\"namespace\":");
    if (rc == MLA_OK)
        rc = mla_buf_add_json_str(&f, req->namespace_);
    if (rc == MLA_OK)
        rc = mla_buf_adds(&f, ",\"name\":");
    if (rc == MLA_OK)
        rc = mla_buf_add_json_str(&f, req->name);
    if (rc == MLA_OK)
        rc = mla_buf_adds(&f, ",\"operation\":");
    if (rc == MLA_OK)
        rc = mla_buf_add_json_str(&f, req->operation);
    if (rc == MLA_OK)
        rc = mla_buf_adds(&f, ",\"kind\":");
    if (rc == MLA_OK)
        rc = mla_buf_add_json_str(&f, req->kind);
    if (rc == MLA_OK)
        rc = mla_buf_addf(&f, ",\"allowed\":%s,\"patchOps\":%d,\"warnings\":%d,\"policy\":",
                          d->allowed ? "true" : "false",
                          d->allowed ? cJSON_GetArraySize(d->patch) : 0,
                          cJSON_GetArraySize(d->warnings));
    if (rc == MLA_OK)
        rc = mla_buf_add_json_str(&f, d->policy);
    if (rc == MLA_OK)
        rc = mla_buf_addf(&f, ",\"action\":\"%s\",\"dryRun\":%s,\"durationMs\":%.3f",
                          action_name(d->action), req->dry_run ? "true" : "false", secs * 1000.0);
    if (rc == MLA_OK && !d->allowed) {
        rc = mla_buf_adds(&f, ",\"message\":");
        if (rc == MLA_OK)
            rc = mla_buf_add_json_str(&f, d->message);
    }
    mla_log_fields(lvl, "admission", d->allowed ? "admitted" : "denied", mla_buf_str(&f));
    mla_buf_fini(&f);
}

static enum MHD_Result http_mutate_arena(struct MHD_Connection *c, struct http_conn *hc,
                                        const struct mla_review_scan *sc);

/* The not-opted-in answer from the scan alone (review.h mla_review_plain, decide.h
 * mla_decide_plain): no tree, no policy set, no allocation. MHD_NO with *done false when it
 * cannot tell; the ordinary path then answers. Its log line is a debug one, so with debug on
 * the ordinary path (which writes it) answers. */
static enum MHD_Result http_mutate_plain(struct MHD_Connection *c, struct http_conn *hc,
                                         const struct mla_review_scan *sc, bool *done)
{
    struct mla_http_server *s = hc->srv;
    struct mla_review_plain p;
    *done = false;
    if (mla_log_enabled(MLA_LOG_DEBUG) || !mla_review_plain(hc->body.data ? hc->body.data : "", sc, &p) ||
        !mla_decide_plain(&p))
        return MHD_NO;
    struct mla_decision d;
    mla_decision_init(&d); /* allowed, nothing to do: what mla_decide would have returned */
    mla_buf_reset(&hc->out);
    if (mla_review_encode(p.uid, &d, &hc->out, NULL) != MLA_OK)
        return MHD_NO; /* cannot happen (a few hundred bytes); the ordinary path reports it */
    *done = true;
    enum MHD_Result ret = http_reply(c, hc, 200, "application/json", hc->out.data, hc->out.len);
    mla_metric_inc(s->m.adm[O_ALLOWED][http_opgrp(p.op)]);
    mla_metric_observe(s->m.dur_out, http_since(&hc->t0));
    return ret;
}

/* The whole decode -> decide -> encode runs with the thread's cJSON arena active (arena.h):
 * everything cJSON allocates for the request is released at once at the end. */
static enum MHD_Result http_mutate(struct MHD_Connection *c, struct http_conn *hc)
{
    struct mla_review_scan sc;
    mla_review_scan(hc->body.data ? hc->body.data : "", hc->body.len, &sc);
    bool done;
    enum MHD_Result r = http_mutate_plain(c, hc, &sc, &done);
    if (done)
        return r;
    mla_arena_begin();
    r = http_mutate_arena(c, hc, &sc);
    mla_arena_end();
    return r;
}

static enum MHD_Result http_mutate_arena(struct MHD_Connection *c, struct http_conn *hc,
                                        const struct mla_review_scan *sc)
{
    struct mla_http_server *s = hc->srv;
    size_t mark = mla_arena_mark();
    struct mla_err err;
    mla_err_clear(&err);
    struct mla_review_request req;
    char uid[MLA_REVIEW_MAX_UID + 1] = "";
    enum mla_code rc = mla_review_decode_scanned(hc->body.data ? hc->body.data : "",
                                                 hc->body.len, sc, &req, uid, sizeof uid, &err);
    long dropped = 0;
    if (rc == MLA_EPARSE) {
        mla_metric_inc(s->m.adm[O_ERROR][G_OTHER]);
        if (mla_log_limit_allow(&s->bad_log_rl, 1.0, &dropped))
            mla_log(MLA_LOG_WARN, "admission", "bad AdmissionReview (HTTP 400): %s%s", err.msg,
                    dropped ? " (similar lines suppressed)" : "");
        return http_error(c, hc, 400, err.msg);
    }
    mla_buf_reset(&hc->out);
    if (rc != MLA_OK) {
        mla_metric_inc(s->m.adm[O_ERROR][G_OTHER]);
        if (mla_log_limit_allow(&s->bad_log_rl, 1.0, &dropped))
            mla_log(MLA_LOG_WARN, "admission", "malformed AdmissionReview request uid=%s: %s%s",
                    uid, err.msg, dropped ? " (similar lines suppressed)" : "");
        char msg[700];
        snprintf(msg, sizeof msg, "ml-autoscaling: malformed AdmissionReview: %s", err.msg);
        if (mla_review_encode_denied(uid, 400, msg, &hc->out, &err) != MLA_OK)
            return http_error(c, hc, 500, err.msg);
        return http_reply(c, hc, 200, "application/json", hc->out.data, hc->out.len);
    }

    struct mla_policy_set *ps = mla_policy_store_acquire(s->o.policies);
    struct mla_decision d;
    enum mla_code drc = mla_decide(ps, &req, &d, &err);
    if (drc != MLA_OK) {
        /* mla_decide left d denied with the reason; it is answered like any denial. */
        d.allowed = false;
        if (d.code < 400)
            d.code = 500;
        if (!d.message[0])
            snprintf(d.message, sizeof d.message, "ml-autoscaling: cannot decide: %s", err.msg);
        mla_log(MLA_LOG_ERROR, "admission", "decision failed uid=%s: %s", req.uid, err.msg);
    }
    const struct mla_admit_hooks *hooks = s->o.hooks;
    if (drc == MLA_OK && d.action != MLA_ACT_NONE && hooks && hooks->review) {
        /* The API side's allocations stay out of the arena: it may keep them. Warnings it adds
         * to d are then plain malloc'd and freed by mla_decision_fini like any other. */
        bool was = mla_arena_set_active(false);
        hooks->review(hooks->ctx, &req, &d);
        mla_arena_set_active(was);
    }

    enum mla_code erc = mla_review_encode(req.uid, &d, &hc->out, &err);
    enum MHD_Result ret;
    if (erc != MLA_OK) {
        mla_log(MLA_LOG_ERROR, "admission", "cannot encode the response uid=%s: %s", req.uid,
                err.msg);
        ret = http_error(c, hc, 500, err.msg);
    } else {
        ret = http_reply(c, hc, 200, "application/json", hc->out.data, hc->out.len);
        if (drc == MLA_OK && d.allowed && d.action != MLA_ACT_NONE && !req.dry_run &&
            !d.skip_write && hooks && hooks->enqueue) {
            bool was = mla_arena_set_active(false);
            hooks->enqueue(hooks->ctx, &req, &d);
            mla_arena_set_active(was);
        }
    }
    double secs = http_since(&hc->t0);
    enum adm_outcome oc = drc != MLA_OK || erc != MLA_OK ? O_ERROR
                          : !d.allowed                   ? O_DENIED
                          : cJSON_GetArraySize(d.patch) > 0 ? O_PATCHED
                                                            : O_ALLOWED;
    mla_metric_inc(s->m.adm[oc][http_opgrp(req.op)]);
    mla_metric_observe(d.opted_in ? s->m.dur_in : s->m.dur_out, secs);
    http_log_decision(&req, &d, secs);
    if (mla_arena_holds_since(mark)) {
        /* Every node of the review's and the decision's trees came from the arena (built
         * since the mark, nothing spilled to malloc): mla_arena_end releases them, deleting
         * them node by node would only walk them (about 3 % of an opted-in admission). */
        req.root = NULL;
        d.patch = d.warnings = d.scaled_object = NULL;
    }
    mla_decision_fini(&d);
    mla_policy_set_unref(ps);
    mla_review_request_fini(&req);
    return ret;
}

static bool http_json_ctype(const char *ct)
{
    static const char want[] = "application/json";
    if (!ct || strncasecmp(ct, want, sizeof want - 1))
        return false;
    char next = ct[sizeof want - 1];
    return next == '\0' || next == ';' || next == ' ' || next == '\t';
}

/* First call of a /mutate request: everything that can be refused before the body is read. */
static enum MHD_Result http_mutate_begin(struct MHD_Connection *c, struct http_conn *hc,
                                         const char *method)
{
    struct mla_http_server *s = hc->srv;
    if (strcmp(method, MHD_HTTP_METHOD_POST))
        return http_error(c, hc, 405, "/mutate accepts POST only (an AdmissionReview)");
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!http_json_ctype(ct)) {
        char msg[300];
        snprintf(msg, sizeof msg, "Content-Type must be application/json, got %.200s",
                 ct ? ct : "none");
        return http_error(c, hc, 415, msg);
    }
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl) {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(cl, &end, 10);
        if (errno || end == cl || n > s->o.max_body) {
            char msg[160];
            snprintf(msg, sizeof msg, "request body larger than the limit of %zu bytes "
                     "(--max-body-bytes)", s->o.max_body);
            return http_error(c, hc, 413, msg);
        }
    }
    mla_buf_reset(&hc->body);
    hc->body.cap = s->o.max_body;
    hc->adm_counted = true;
    mla_metric_add(s->m.adm_in_flight, 1);
    return MHD_YES;
}

/* ---- other routes ---- */

static enum MHD_Result http_readyz(struct MHD_Connection *c, struct http_conn *hc)
{
    struct mla_http_server *s = hc->srv;
    mla_buf_reset(&hc->out);
    if (atomic_load(&s->draining)) {
        if (mla_buf_adds(&hc->out, "{\"ready\":false,\"reason\":\"shutting down\"}\n") != MLA_OK)
            return MHD_NO;
        return http_reply(c, hc, 503, "application/json", hc->out.data, hc->out.len);
    }
    struct mla_policy_set *ps = mla_policy_store_acquire(s->o.policies);
    char last[1024];
    mla_policy_store_status(s->o.policies, last, sizeof last);
    enum mla_code rc = mla_buf_adds(&hc->out, "{\"ready\":true,\"mode\":");
    if (rc == MLA_OK)
        rc = mla_buf_add_json_str(&hc->out, s->o.mode);
    if (rc == MLA_OK)
        rc = mla_buf_adds(&hc->out, ",\"policies\":{\"hash\":");
    if (rc == MLA_OK)
        rc = mla_buf_add_json_str(&hc->out, mla_policy_set_hash(ps));
    if (rc == MLA_OK)
        rc = mla_buf_addf(&hc->out, ",\"count\":%zu,\"lastError\":", mla_policy_set_count(ps));
    if (rc == MLA_OK)
        rc = last[0] ? mla_buf_add_json_str(&hc->out, last) : mla_buf_adds(&hc->out, "null");
    if (rc == MLA_OK)
        rc = mla_buf_adds(&hc->out, "}");
    if (rc == MLA_OK && s->o.readyz_detail)
        rc = s->o.readyz_detail(s->o.readyz_ctx, &hc->out);
    if (rc == MLA_OK)
        rc = mla_buf_adds(&hc->out, "}\n");
    mla_policy_set_unref(ps);
    if (rc != MLA_OK)
        return MHD_NO;
    return http_reply(c, hc, 200, "application/json", hc->out.data, hc->out.len);
}

static enum MHD_Result http_simple(struct MHD_Connection *c, struct http_conn *hc,
                                   const char *method)
{
    if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
        return http_error(c, hc, 405, "this endpoint accepts GET and HEAD only");
    switch (hc->route) {
    case R_HEALTHZ:
        return http_reply(c, hc, 200, "text/plain; charset=utf-8", "ok\n", 3);
    case R_READYZ:
        return http_readyz(c, hc);
    case R_METRICS:
        mla_buf_reset(&hc->out);
        if (mla_metrics_render(&hc->out) != MLA_OK)
            return http_error(c, hc, 500, "metrics too large");
        return http_reply(c, hc, 200, "text/plain; version=0.0.4; charset=utf-8",
                          hc->out.data ? hc->out.data : "", hc->out.len);
    default:
        return http_error(c, hc, 404, "not found (endpoints: POST /mutate, GET /healthz, "
                                      "/readyz, /metrics)");
    }
}

static enum http_route http_route_of(const char *url)
{
    if (!strcmp(url, "/mutate"))
        return R_MUTATE;
    if (!strcmp(url, "/healthz"))
        return R_HEALTHZ;
    if (!strcmp(url, "/readyz"))
        return R_READYZ;
    if (!strcmp(url, "/metrics"))
        return R_METRICS;
    return R_OTHER;
}

static enum MHD_Result http_handler(void *cls, struct MHD_Connection *c, const char *url,
                                    const char *method, const char *version,
                                    const char *upload_data, size_t *upload_data_size,
                                    void **con_cls)
{
    (void)cls;
    (void)version;
    struct http_conn *hc = *con_cls;
    if (!hc) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        hc = ci ? ci->socket_context : NULL;
        if (!hc)
            return MHD_NO;
        hc->route = http_route_of(url);
        hc->responded = false;
        hc->adm_counted = false;
        hc->active = true;
        clock_gettime(CLOCK_MONOTONIC, &hc->t0);
        atomic_fetch_add(&hc->srv->in_flight, 1);
        *con_cls = hc;
        if (hc->route == R_MUTATE)
            return http_mutate_begin(c, hc, method);
        /* Errors are answered at once (MHD then closes the connection, which is fine for them);
         * a good GET is answered on the next call: a response queued on the first call counts
         * as "early" for MHD 0.9.x and would close the keep-alive connection. */
        if (hc->route == R_OTHER ||
            (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD)))
            return http_simple(c, hc, method);
        return MHD_YES;
    }
    if (hc->responded) {
        /* Refused early (413/415/405): whatever body MHD still hands over is dropped. */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size && hc->route != R_MUTATE) {
        *upload_data_size = 0; /* a body sent with GET is not kept */
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (mla_buf_add(&hc->body, upload_data, *upload_data_size) != MLA_OK) {
            /* Chunked or lying Content-Length: capped while streaming. MHD cannot queue a
             * response in the middle of an upload, so the connection is closed. */
            char msg[160];
            snprintf(msg, sizeof msg, "request body larger than the limit of %zu bytes "
                     "(--max-body-bytes)", hc->srv->o.max_body);
            if (http_error(c, hc, 413, msg) == MHD_YES) {
                *upload_data_size = 0;
                return MHD_YES;
            }
            mla_log(MLA_LOG_WARN, "http", "request body over %zu bytes: connection closed",
                    hc->srv->o.max_body);
            http_count(hc->srv, hc->route, 413);
            return MHD_NO;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (hc->route != R_MUTATE)
        return http_simple(c, hc, method);
    return http_mutate(c, hc);
}

static void http_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                           enum MHD_RequestTerminationCode toe)
{
    (void)c;
    (void)toe;
    struct mla_http_server *s = cls;
    struct http_conn *hc = *con_cls;
    if (!hc || !hc->active)
        return;
    hc->active = false;
    mla__http_tlsio_flush(&hc->tio);
    if (hc->adm_counted) {
        mla_metric_add(s->m.adm_in_flight, -1);
        hc->adm_counted = false;
    }
    /* A connection keeps small buffers for its next request, never a huge one. */
    if (hc->body.alloc > HTTP_KEEP_BYTES)
        mla_buf_fini(&hc->body);
    if (hc->out.alloc > HTTP_KEEP_BYTES) /* the response was sent: MHD reads it no more */
        mla_buf_fini(&hc->out);
    *con_cls = NULL;
    atomic_fetch_sub(&s->in_flight, 1);
}

static void http_conn_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                             enum MHD_ConnectionNotificationCode toe)
{
    struct mla_http_server *s = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        atomic_fetch_add(&s->open_conns, 1);
        struct http_conn *hc = mla_xcalloc(1, sizeof *hc);
        hc->srv = s;
        mla_buf_init(&hc->body, s->o.max_body);
        mla_buf_init(&hc->out, HTTP_OUT_CAP);
        /* not at NOTIFY_CLOSED: the session is gone by then (http-int.h) */
        const union MHD_ConnectionInfo *tls =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
        const union MHD_ConnectionInfo *fd =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (tls && tls->tls_session && fd)
            mla__http_tlsio_attach(&hc->tio, (gnutls_session_t)tls->tls_session,
                                   fd->connect_fd);
        *socket_context = hc;
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        struct http_conn *hc = *socket_context;
        atomic_fetch_sub(&s->open_conns, 1);
        if (hc) {
            mla_buf_fini(&hc->body);
            mla_buf_fini(&hc->out);
            free(hc);
        }
        *socket_context = NULL;
    }
}

/* The connection limit is enforced here, not by MHD_OPTION_CONNECTION_LIMIT alone: at its limit
 * MHD 0.9.75 stops accepting and leaves new connections in the listen backlog, and a TLS
 * connection accepted from there later can stall until the client gives up. Refusing at accept
 * time gives the client an immediate reset it can retry on. MHD's own limit stays as a backstop
 * a little above ours (the count here can lag by one accept per thread). */
static enum MHD_Result http_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    (void)addr;
    (void)addrlen;
    struct mla_http_server *s = cls;
    if (atomic_load(&s->open_conns) < s->o.max_connections)
        return MHD_YES;
    long dropped = 0;
    if (mla_log_limit_allow(&s->limit_log_rl, 5.0, &dropped))
        mla_log(MLA_LOG_WARN, "http", "connection refused: %u connections open "
                "(--max-connections)%s", s->o.max_connections, dropped ? " (and more)" : "");
    return MHD_NO;
}

static void http_mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct mla_http_server *s = cls;
    long dropped = 0;
    if (!mla_log_enabled(MLA_LOG_WARN) || !mla_log_limit_allow(&s->mhd_log_rl, 5.0, &dropped))
        return;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    if (dropped)
        mla_log(MLA_LOG_WARN, "http", "%s (%ld similar lines suppressed)", msg, dropped);
    else
        mla_log(MLA_LOG_WARN, "http", "%s", msg);
}

/* ---- lifecycle ---- */

enum mla_code mla_http_start(const struct mla_http_opts *opts, struct mla_http_server **out,
                             struct mla_err *err)
{
    struct mla_http_server *s = mla_xcalloc(1, sizeof *s);
    s->o = *opts;
    snprintf(s->cert_file, sizeof s->cert_file, "%s", opts->cert_file);
    snprintf(s->key_file, sizeof s->key_file, "%s", opts->key_file);
    s->o.cert_file = s->cert_file;
    s->o.key_file = s->key_file;
    if (!s->o.threads)
        s->o.threads = 1;
    atomic_init(&s->draining, false);
    atomic_init(&s->in_flight, 0);
    atomic_init(&s->open_conns, 0);
    struct http_cred *cred = NULL;
    enum mla_code rc = http_cred_load(s->cert_file, s->key_file, &cred, err);
    if (rc != MLA_OK) {
        free(s);
        return rc;
    }
    http_cred_publish(cred);
    http_metrics_init(s);

    /* HTTP_CONN_MEMORY: MHD zeroes a connection's whole memory pool after every request (32 KB
     * by default: a seventh of an opted-in admission's instructions at 16 KB, and the L1 cache
     * flushed each time). The pool holds only the request line, headers, read buffer and the
     * response header (bodies are copied out as they arrive). 8 KB takes header blocks up to
     * about 7.5 KB (MHD answers 431 above): kube-apiserver sends a few hundred bytes, a bearer
     * token from an admission kubeconfig one to a few KB more (Tomcat's default limit for the
     * whole block is 8 KB too). Just below the pool's size, MHD 0.9.75 reads a block that
     * leaves no room for the response header and closes the connection unanswered (at any
     * pool size; tests/integration/test_webhook_headers.sh, docs/benchmarks.md).
     * Not MHD_USE_TURBO: with it, MHD 0.9.75 never times out a TCP client that connects and
     * sends nothing (tests/integration/test_webhook_badinput.sh). */
    unsigned flags = MHD_USE_TLS | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
                     MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (opts->addr->sa_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* The pool option is passed only with more than one thread: a pool of 1 is an error. */
    struct MHD_OptionItem pool[] = {
        {MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)s->o.threads, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    if (s->o.threads <= 1)
        pool[0].option = MHD_OPTION_END;
    mla_arena_install();
    s->d = MHD_start_daemon(
        flags, 0, http_accept, s, http_handler, s, MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, s,
        MHD_OPTION_SOCK_ADDR, opts->addr,
        MHD_OPTION_HTTPS_CERT_CALLBACK, http_cert_cb, MHD_OPTION_HTTPS_PRIORITIES,
        HTTP_TLS_PRIORITIES, MHD_OPTION_CONNECTION_TIMEOUT, s->o.connection_timeout,
        MHD_OPTION_CONNECTION_LIMIT, s->o.max_connections + 2 * s->o.threads + 8,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONN_MEMORY, MHD_OPTION_NOTIFY_COMPLETED,
        http_completed, s, MHD_OPTION_NOTIFY_CONNECTION, http_conn_notify, s, MHD_OPTION_ARRAY,
        pool, MHD_OPTION_END);
    if (!s->d) {
        http_cred_free_all();
        free(s);
        return mla_err_set(err, MLA_EIO, "cannot start the HTTPS server (address in use, or no "
                                         "permission to bind; see the log line above)");
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : 0;
    *out = s;
    return MLA_OK;
}

uint16_t mla_http_port(const struct mla_http_server *s) { return s->port; }

unsigned mla_http_stop(struct mla_http_server *s, double grace_s)
{
    if (!s)
        return 0;
    atomic_store(&s->draining, true);
    MHD_socket lsock = MHD_quiesce_daemon(s->d);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    unsigned left = atomic_load(&s->in_flight);
    while (left > 0 && http_since(&t0) < grace_s) {
        struct timespec nap = {0, 10 * 1000 * 1000};
        nanosleep(&nap, NULL);
        left = atomic_load(&s->in_flight);
    }
    MHD_stop_daemon(s->d);
    if (lsock != MHD_INVALID_SOCKET)
        close(lsock);
    http_cred_free_all();
    free(s);
    return left;
}
