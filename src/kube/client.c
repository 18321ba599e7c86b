/* kube/client.c - Kubernetes API requests over libcurl (see kube.h). The only file of the API side
 * that includes curl.h.
 *
 * DESIGN: any thread may call mla_kube_request. Connections are reused through a pool of easy
 * handles (each keeps its connection cache): a caller pops a handle under `mu`, runs the
 * transfer without any lock, and pushes it back. The pool grows to the number of concurrent
 * callers (request threads + worker + loop). The bearer token is read from token_file when the
 * file's mtime or size changes (service-account tokens rotate about every hour), under `mu`.
 * Shutdown: mla_kube_destroy frees the pool; the caller stops every thread using the client
 * before.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mla/buf.h"
#include "mla/curl_init.h"
#include "mla/file.h"
#include "mla/kube.h"
#include "mla/log.h"
#include "mla/mem.h"
#include "mla/metrics.h"

#define KUBE_MAX_BODY (64u << 20) /* a LIST of many objects can be large */

struct kube_conn {
    struct kube_conn *next;
    CURL *h;
};

struct mla_kube {
    struct mla_kube_config cfg; /* immutable after create */
    pthread_mutex_t mu;
    struct kube_conn *free_conns; /* guarded by mu */
    char *token;                  /* guarded by mu: current bearer token (file or static) */
    struct timespec token_mtime;  /* guarded by mu */
    off_t token_size;             /* guarded by mu */
    _Atomic unsigned rng;         /* atomic: jitter state */
    struct mla_log_limit log_rl;
};


void mla_kube_resp_fini(struct mla_kube_resp *r)
{
    cJSON_Delete(r->body);
    r->body = NULL;
}

const char *mla_kube_verb_name(enum mla_kube_verb v)
{
    static const char *const names[] = {"GET", "LIST", "POST", "PUT", "PATCH", "DELETE"};
    return (unsigned)v < 6 ? names[v] : "?";
}

static char *kube_read_file(const char *path, size_t max)
{
    char *s = NULL;
    size_t n = 0;
    if (mla_file_read(path, max, &s, &n, NULL) != MLA_OK)
        return NULL;
    n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
        s[--n] = '\0';
    return s;
}

/* Re-reads the token file when it changed. Called with mu held. */
static void kube_token_refresh_locked(struct mla_kube *kc)
{
    if (!kc->cfg.token_file)
        return;
    struct stat st;
    if (stat(kc->cfg.token_file, &st) != 0)
        return; /* keep the last token; the API answers 401 if it expired */
    if (kc->token && st.st_mtim.tv_sec == kc->token_mtime.tv_sec &&
        st.st_mtim.tv_nsec == kc->token_mtime.tv_nsec && st.st_size == kc->token_size)
        return;
    char *t = kube_read_file(kc->cfg.token_file, 1u << 20);
    if (!t)
        return;
    free(kc->token);
    kc->token = t;
    kc->token_mtime = st.st_mtim;
    kc->token_size = st.st_size;
}

static char *cfg_dup(const char *s) { return s ? mla_xstrdup(s) : NULL; }

enum mla_code mla_kube_create(const struct mla_kube_config *cfg, struct mla_kube **out,
                              struct mla_err *err)
{
    if (!cfg->server)
        return mla_err_set(err, MLA_EINVAL, "Kubernetes API: no server URL configured");
    if (cfg->token_file && access(cfg->token_file, R_OK) != 0)
        return mla_err_set(err, MLA_EIO, "cannot read the token file %s", cfg->token_file);
    if (cfg->ca_file && access(cfg->ca_file, R_OK) != 0)
        return mla_err_set(err, MLA_EIO, "cannot read the CA file %s", cfg->ca_file);
    enum mla_code irc = mla_curl_init(err);
    if (irc != MLA_OK)
        return irc;
    struct mla_kube *kc = mla_xcalloc(1, sizeof *kc);
    kc->cfg.server = cfg_dup(cfg->server);
    kc->cfg.token = cfg_dup(cfg->token);
    kc->cfg.token_file = cfg_dup(cfg->token_file);
    kc->cfg.ca_file = cfg_dup(cfg->ca_file);
    kc->cfg.ca_data = cfg_dup(cfg->ca_data);
    kc->cfg.client_cert_file = cfg_dup(cfg->client_cert_file);
    kc->cfg.client_key_file = cfg_dup(cfg->client_key_file);
    kc->cfg.client_cert_data = cfg_dup(cfg->client_cert_data);
    kc->cfg.client_key_data = cfg_dup(cfg->client_key_data);
    kc->cfg.insecure = cfg->insecure;
    pthread_mutex_init(&kc->mu, NULL);
    kc->token = cfg_dup(cfg->token);
    atomic_init(&kc->rng, (unsigned)time(NULL) ^ (unsigned)getpid() ^ (unsigned)(size_t)kc);
    pthread_mutex_lock(&kc->mu);
    kube_token_refresh_locked(kc);
    pthread_mutex_unlock(&kc->mu);
    *out = kc;
    return MLA_OK;
}

void mla_kube_destroy(struct mla_kube *kc)
{
    if (!kc)
        return;
    struct kube_conn *c = kc->free_conns;
    while (c) {
        struct kube_conn *n = c->next;
        curl_easy_cleanup(c->h);
        free(c);
        c = n;
    }
    free(kc->token);
    mla_kube_config_fini(&kc->cfg);
    pthread_mutex_destroy(&kc->mu);
    free(kc);
}

static struct kube_conn *kube_conn_get(struct mla_kube *kc, char **token)
{
    pthread_mutex_lock(&kc->mu);
    struct kube_conn *c = kc->free_conns;
    if (c)
        kc->free_conns = c->next;
    kube_token_refresh_locked(kc);
    *token = kc->token ? mla_xstrdup(kc->token) : NULL;
    pthread_mutex_unlock(&kc->mu);
    if (!c) {
        c = mla_xcalloc(1, sizeof *c);
        c->h = curl_easy_init();
        if (!c->h) {
            mla_log(MLA_LOG_ERROR, "kube", "curl_easy_init failed");
            abort();
        }
    }
    return c;
}

static void kube_conn_put(struct mla_kube *kc, struct kube_conn *c)
{
    pthread_mutex_lock(&kc->mu);
    c->next = kc->free_conns;
    kc->free_conns = c;
    pthread_mutex_unlock(&kc->mu);
}

static double kube_rand(struct mla_kube *kc)
{
    unsigned x = atomic_load(&kc->rng), n;
    do {
        n = x * 1103515245u + 12345u;
    } while (!atomic_compare_exchange_weak(&kc->rng, &x, n));
    return (double)((n >> 8) & 0xffffff) / (double)0x1000000;
}

static long long kube_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct kube_rx {
    struct mla_buf body;
    char retry_after[64];
};

static size_t kube_write_cb(char *p, size_t size, size_t n, void *ud)
{
    struct kube_rx *rx = ud;
    if (mla_buf_add(&rx->body, p, size * n) != MLA_OK)
        return 0; /* too big: abort the transfer */
    return size * n;
}

static size_t kube_header_cb(char *p, size_t size, size_t n, void *ud)
{
    struct kube_rx *rx = ud;
    size_t len = size * n;
    if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
        size_t vlen = len - 12;
        if (vlen >= sizeof rx->retry_after)
            vlen = sizeof rx->retry_after - 1;
        memcpy(rx->retry_after, p + 12, vlen);
        rx->retry_after[vlen] = '\0';
        char *e = rx->retry_after + strlen(rx->retry_after);
        while (e > rx->retry_after && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' '))
            *--e = '\0';
    }
    return len;
}

static void kube_count(enum mla_kube_verb verb, long status)
{
    char labels[80];
    if (status > 0)
        snprintf(labels, sizeof labels, "verb=\"%s\",code=\"%ld\"", mla_kube_verb_name(verb), status);
    else
        snprintf(labels, sizeof labels, "verb=\"%s\",code=\"error\"", mla_kube_verb_name(verb));
    struct mla_metric *m = mla_metrics_get(MLA_METRIC_COUNTER, "mla_kube_requests_total",
                                           "Kubernetes API requests by verb and status code.",
                                           labels, NULL, 0);
    if (m)
        mla_metric_inc(m);
}

static void kube_setup(struct mla_kube *kc, CURL *h, enum mla_kube_verb verb, const char *url,
                       const char *body, struct curl_slist *hdrs, struct kube_rx *rx,
                       long timeout_ms)
{
    curl_easy_reset(h); /* keeps the connection cache */
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 3000 ? timeout_ms : 3000L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, kube_write_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, rx);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, kube_header_cb);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, rx);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "ml-autoscaling");
    if (kc->cfg.ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, kc->cfg.ca_file);
    if (kc->cfg.ca_data) {
        struct curl_blob blob = {.data = kc->cfg.ca_data, .len = strlen(kc->cfg.ca_data),
                                 .flags = CURL_BLOB_COPY};
        curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
    }
    if (kc->cfg.client_cert_file)
        curl_easy_setopt(h, CURLOPT_SSLCERT, kc->cfg.client_cert_file);
    if (kc->cfg.client_key_file)
        curl_easy_setopt(h, CURLOPT_SSLKEY, kc->cfg.client_key_file);
    if (kc->cfg.client_cert_data) {
        struct curl_blob blob = {.data = kc->cfg.client_cert_data,
                                 .len = strlen(kc->cfg.client_cert_data), .flags = CURL_BLOB_COPY};
        curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &blob);
    }
    if (kc->cfg.client_key_data) {
        struct curl_blob blob = {.data = kc->cfg.client_key_data,
                                 .len = strlen(kc->cfg.client_key_data), .flags = CURL_BLOB_COPY};
        curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &blob);
    }
    if (kc->cfg.insecure) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    switch (verb) {
    case MLA_KUBE_GET:
    case MLA_KUBE_LIST:
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
        break;
    case MLA_KUBE_POST:
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        break;
    case MLA_KUBE_PUT:
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
        break;
    case MLA_KUBE_PATCH:
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PATCH");
        break;
    case MLA_KUBE_DELETE:
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
        break;
    }
    if (body || verb == MLA_KUBE_POST || verb == MLA_KUBE_PUT || verb == MLA_KUBE_PATCH) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)(body ? strlen(body) : 0));
    }
}

static bool kube_retryable(long status)
{
    return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

/* A 500 that retrying cannot fix: server-side apply's typed-schema error (the body does not
 * fit the resource's schema) comes back as 500 "failed to create typed patch object". */
static bool kube_permanent(long status, const struct mla_buf *body)
{
    static const char pat[] = "failed to create typed patch object";
    return status == 500 && body->len >= sizeof pat - 1 &&
           memmem(body->data, body->len, pat, sizeof pat - 1) != NULL;
}

/* The request headers: JSON in and out, no 100-continue round trip, the bearer token if any. */
static struct curl_slist *kube_headers(const char *content_type, const char *token)
{
    struct curl_slist *hdrs = NULL;
    hdrs = curl_slist_append(hdrs, "Accept: application/json");
    char *ct = mla_xasprintf("Content-Type: %s", content_type ? content_type : "application/json");
    hdrs = curl_slist_append(hdrs, ct);
    free(ct);
    hdrs = curl_slist_append(hdrs, "Expect:"); /* no 100-continue round trip */
    if (token) {
        char *auth = mla_xasprintf("Authorization: Bearer %s", token);
        hdrs = curl_slist_append(hdrs, auth);
        free(auth);
    }
    return hdrs;
}

/* Classifies one finished attempt into *rc (and why/ra_ms for a retry); true when retrying
 * cannot help: a success, a certificate problem, a client error or a permanent 500. */
static bool kube_classify(CURLcode cc, long status, const struct kube_rx *rx, enum mla_code *rc,
                          long *ra_ms, char *why, size_t whysz)
{
    *ra_ms = -1;
    if (cc != CURLE_OK) {
        snprintf(why, whysz, "%s", curl_easy_strerror(cc));
        *rc = cc == CURLE_OPERATION_TIMEDOUT ? MLA_ETIMEOUT : MLA_EUNAVAIL;
        if (cc == CURLE_SSL_CACERT || cc == CURLE_PEER_FAILED_VERIFICATION ||
            cc == CURLE_SSL_CERTPROBLEM || cc == CURLE_SSL_CONNECT_ERROR) {
            *rc = MLA_ETLS;
            return true; /* retrying cannot fix a certificate */
        }
        return false;
    }
    if (kube_retryable(status)) {
        *rc = MLA_EAPI;
        if (kube_permanent(status, &rx->body))
            return true;
        *ra_ms = mla_kube_retry_after_ms(rx->retry_after, (long long)time(NULL));
        snprintf(why, whysz, "%ld", status);
        return false;
    }
    *rc = MLA_OK;
    return true;
}

/* The error for a request that did not end in 2xx: the API's Status message for an HTTP
 * answer, else what went wrong on the wire and how many attempts it took. */
static enum mla_code kube_request_err(const struct mla_kube *kc, enum mla_kube_verb verb,
                                      const char *path, enum mla_code rc, long status,
                                      const cJSON *body, const char *why, int attempt,
                                      struct mla_err *err)
{
    const char *vname = mla_kube_verb_name(verb);
    if (rc == MLA_OK || rc == MLA_EAPI) {
        const char *msg = mla_kube_status_message(body);
        rc = status == 404   ? MLA_ENOTFOUND
             : status == 409 ? MLA_ECONFLICT
             : (status == 401 || status == 403) ? MLA_EDENIED
                                                : MLA_EAPI;
        mla_err_set(err, rc, "%s %s: %ld: %s", vname, path, status,
                    msg ? msg : "(no Status message)");
    } else {
        mla_err_set(err, rc, "%s %s%s: %s after %d attempt%s", vname, kc->cfg.server, path,
                    rc == MLA_ETIMEOUT ? "timed out" : why, attempt, attempt == 1 ? "" : "s");
    }
    return rc;
}

enum mla_code mla_kube_request(struct mla_kube *kc, enum mla_kube_verb verb, const char *path,
                               const char *body, const struct mla_kube_opts *opts,
                               struct mla_kube_resp *resp, struct mla_err *err)
{
    static const struct mla_kube_opts defaults = {0};
    if (!opts)
        opts = &defaults;
    long budget = opts->budget_ms > 0 ? opts->budget_ms : 10000;
    long base = opts->backoff_base_ms > 0 ? opts->backoff_base_ms : 50;
    long cap = opts->backoff_cap_ms > 0 ? opts->backoff_cap_ms : 2000;
    long long deadline = kube_now_ms() + budget;
    char *url = mla_xasprintf("%s%s", kc->cfg.server, path);
    char *token = NULL;
    struct kube_conn *conn = kube_conn_get(kc, &token);
    struct curl_slist *hdrs = kube_headers(opts->content_type, token);
    free(token);

    struct kube_rx rx;
    mla_buf_init(&rx.body, KUBE_MAX_BODY);
    long status = 0;
    int attempt = 0;
    enum mla_code rc = MLA_OK;
    char why[400] = "";
    for (;;) {
        attempt++;
        long long left = deadline - kube_now_ms();
        if (left <= 0) {
            rc = MLA_ETIMEOUT;
            break;
        }
        long tmo = (long)left;
        if (opts->attempt_ms > 0 && opts->attempt_ms < tmo)
            tmo = opts->attempt_ms;
        mla_buf_reset(&rx.body);
        rx.retry_after[0] = '\0';
        kube_setup(kc, conn->h, verb, url, body, hdrs, &rx, tmo);
        CURLcode cc = curl_easy_perform(conn->h);
        status = 0;
        if (cc == CURLE_OK)
            curl_easy_getinfo(conn->h, CURLINFO_RESPONSE_CODE, &status);
        kube_count(verb, cc == CURLE_OK ? status : 0);
        long ra_ms;
        if (kube_classify(cc, status, &rx, &rc, &ra_ms, why, sizeof why))
            break;
        if (opts->max_attempts > 0 && attempt >= opts->max_attempts)
            break;
        long wait = mla_kube_backoff_ms(attempt, base, cap, ra_ms, kube_rand(kc));
        if (kube_now_ms() + wait >= deadline)
            break; /* the next attempt could not finish within the budget */
        struct timespec ts = {.tv_sec = wait / 1000, .tv_nsec = (wait % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    curl_slist_free_all(hdrs);
    kube_conn_put(kc, conn);

    resp->status = rc == MLA_OK || rc == MLA_EAPI ? status : 0;
    resp->attempts = attempt;
    resp->body = NULL;
    if (resp->status && rx.body.len)
        resp->body = cJSON_ParseWithLength(rx.body.data, rx.body.len);
    mla_buf_fini(&rx.body);

    if (rc == MLA_OK && status >= 200 && status < 300) {
        free(url);
        return MLA_OK;
    }
    rc = kube_request_err(kc, verb, path, rc, status, resp->body, why, attempt, err);
    free(url);
    return rc;
}
