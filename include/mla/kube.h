/* kube.h - the Kubernetes API client: configuration (in-cluster, kubeconfig, explicit URL),
 * requests with retries, and the small pure helpers the API side shares with its test server
 * (YAML to JSON, label selectors, backoff, Retry-After).
 *
 * A client is one API server + credentials. Requests take a connection (a libcurl handle) from a
 * small pool and give it back, so every thread reuses connections without a lock held during
 * the transfer. Each request has a total time budget covering every retry: admission reads use
 * ~300 ms and fail open, the worker and the loop use seconds. 429, 5xx and connection errors are
 * retried with exponential backoff and full jitter, honouring Retry-After when the budget allows.
 * An error names the verb, the path, the HTTP status and the API's Status message.
 *
 * Ownership: a client is new from mla_kube_create (free with mla_kube_destroy); it copies the
 * config. A response's `body` is new (cJSON_Delete via mla_kube_resp_fini). Objects passed in
 * are borrowed. Threading: a client is any-thread (the pool is guarded by a mutex; the token is
 * re-read under it when the file changes). The pure helpers are pure.
 */
#ifndef MLA_KUBE_H
#define MLA_KUBE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "mla/err.h"

/* Where the API is and how to authenticate. All strings new (freed by mla_kube_config_fini). */
struct mla_kube_config {
    char *server;           /* "https://10.0.0.1:443" (no trailing slash) */
    char *token;            /* bearer token, NULL when none or when token_file is used */
    char *token_file;       /* re-read when it changes (service-account tokens rotate) */
    char *ca_file;          /* PEM bundle file, NULL: system store */
    char *ca_data;          /* PEM bundle in memory (kubeconfig certificate-authority-data) */
    char *client_cert_file; /* optional client certificate (kubeconfig client-certificate) */
    char *client_key_file;
    char *client_cert_data; /* optional, PEM (client-certificate-data) */
    char *client_key_data;
    bool insecure;          /* insecure-skip-tls-verify (development only) */
};

void mla_kube_config_init(struct mla_kube_config *c);
void mla_kube_config_fini(struct mla_kube_config *c);

/* In-cluster: KUBERNETES_SERVICE_HOST/PORT, the service-account token file and CA bundle under
 * `sa_dir` (NULL: /var/run/secrets/kubernetes.io/serviceaccount). */
enum mla_code mla_kube_config_in_cluster(struct mla_kube_config *out, const char *sa_dir,
                                         struct mla_err *err) MLA_MUST_CHECK;

/* A kubeconfig file: current-context (or `context` when not NULL) -> cluster server,
 * certificate-authority(-data), insecure-skip-tls-verify; user token, tokenFile,
 * client-certificate(-data)/client-key(-data). Relative file paths are relative to the file. */
enum mla_code mla_kube_config_load_kubeconfig(const char *path, const char *context,
                                              struct mla_kube_config *out, struct mla_err *err)
    MLA_MUST_CHECK;

/* Same, from text already in memory (`base_dir` resolves relative paths; "." when NULL). */
enum mla_code mla_kube_config_parse_kubeconfig(const char *text, size_t len, const char *base_dir,
                                               const char *context, struct mla_kube_config *out,
                                               struct mla_err *err) MLA_MUST_CHECK;

/* Explicit: url, token file (may be NULL), CA file (may be NULL). */
enum mla_code mla_kube_config_explicit(const char *url, const char *token_file,
                                       const char *ca_file, struct mla_kube_config *out,
                                       struct mla_err *err) MLA_MUST_CHECK;

/* ---- the client ---- */

struct mla_kube; /* opaque */

enum mla_kube_verb {
    MLA_KUBE_GET = 0, MLA_KUBE_LIST, MLA_KUBE_POST, MLA_KUBE_PUT, MLA_KUBE_PATCH,
    MLA_KUBE_DELETE
};

/* Per-request options. Zero-initialised means: 10 s budget, retries on. */
struct mla_kube_opts {
    long budget_ms;       /* total time for all attempts; 0: 10000 */
    long attempt_ms;      /* cap of one attempt; 0: the remaining budget */
    int max_attempts;     /* 0: unlimited within the budget; 1: no retry */
    long backoff_base_ms; /* 0: 50 */
    long backoff_cap_ms;  /* 0: 2000 */
    const char *content_type; /* for POST/PUT/PATCH; NULL: application/json */
};

struct mla_kube_resp {
    long status;   /* HTTP status; 0 when no response arrived */
    cJSON *body;   /* owned: the parsed JSON body, NULL when none or not JSON */
    int attempts;  /* how many attempts were made */
};

void mla_kube_resp_fini(struct mla_kube_resp *r);

/* The client copies cfg. Fails when the CA or token file cannot be read. */
enum mla_code mla_kube_create(const struct mla_kube_config *cfg, struct mla_kube **out,
                              struct mla_err *err) MLA_MUST_CHECK;
void mla_kube_destroy(struct mla_kube *kc);

/* One request. `path` starts with '/' and includes the query. `body` may be NULL.
 * Returns MLA_OK for a 2xx answer (resp filled; the caller finis it). Otherwise resp is still
 * filled when an answer arrived (status, body) so callers can inspect a 404/409 Status, and the
 * code says what happened: MLA_ENOTFOUND (404), MLA_ECONFLICT (409, also AlreadyExists),
 * MLA_EDENIED (401/403), MLA_EAPI (other 4xx, or 5xx/429 after the last retry),
 * MLA_EUNAVAIL (no answer: connection refused or dropped), MLA_ETIMEOUT (budget spent).
 * err->msg: "PATCH /apis/...: 403: <Status message>". */
enum mla_code mla_kube_request(struct mla_kube *kc, enum mla_kube_verb verb, const char *path,
                               const char *body, const struct mla_kube_opts *opts,
                               struct mla_kube_resp *resp, struct mla_err *err) MLA_MUST_CHECK;

/* "GET", "LIST", ... */
const char *mla_kube_verb_name(enum mla_kube_verb v);

/* ---- pure helpers (also used by tests/doubles/mla-testapi) ---- */

/* Parses YAML (or JSON, which is YAML) into cJSON. Every document in the stream becomes one
 * element of *out, a new cJSON array (cJSON_Delete). Scalars: plain true/false/null/numbers
 * become JSON values, quoted scalars stay strings. Errors name line and column. */
enum mla_code mla_kube_yaml_parse(const char *text, size_t len, cJSON **out, struct mla_err *err)
    MLA_MUST_CHECK;

/* Does `labels` (a JSON object, may be NULL) match the selector? Supports the label selector
 * syntax of kubectl: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`, joined by
 * commas. "" matches everything. MLA_EINVAL for a malformed selector. */
enum mla_code mla_kube_selector_match(const char *selector, const cJSON *labels, bool *match,
                                      struct mla_err *err) MLA_MUST_CHECK;

/* Backoff before retry number `attempt` (1 for the first retry): full jitter over
 * min(cap, base * 2^(attempt-1)), with `unit` in [0,1) the random draw. When retry_after_ms > 0
 * the answer is at least retry_after_ms (the server asked for it), still capped by `cap_ms`
 * * 4 so a hostile header cannot stall us. */
long mla_kube_backoff_ms(int attempt, long base_ms, long cap_ms, long retry_after_ms, double unit);

/* Parses a Retry-After header value (delta-seconds or an HTTP-date) into milliseconds from
 * `now` (unix seconds). Returns -1 when absent or malformed; 0 for a date in the past. */
long mla_kube_retry_after_ms(const char *value, long long now);

/* The Status message of an API error body ("message" of a kind: Status object), or NULL.
 * Borrowed from body. */
const char *mla_kube_status_message(const cJSON *body);

/* Small accessors for objects: metadata.<field> as a string, or NULL (borrowed). */
const char *mla_kube_meta_str(const cJSON *obj, const char *field);
/* metadata.labels[key] / metadata.annotations[key], or NULL (borrowed). */
const char *mla_kube_label(const cJSON *obj, const char *key);
const char *mla_kube_annotation(const cJSON *obj, const char *key);

/* Does field manager `manager` own the field at `path` (NULL-terminated keys, e.g. {"spec",
 * "minReplicaCount", NULL}) of `obj`, according to its metadata.managedFields (server-side
 * apply's record, FieldsV1)? Any operation (Apply or Update) counts. Pure (kube/managed.c). */
bool mla_kube_field_owned(const cJSON *obj, const char *manager, const char *const *path);
/* Does `manager` own any field of `obj`? */
bool mla_kube_manager_present(const cJSON *obj, const char *manager);

/* RFC 3339 UTC with microseconds ("2026-11-25T16:05:28.123456Z") for the given time. */
void mla_kube_time_format(char *out, size_t n, double unix_s, bool micro);
/* Parses RFC 3339 ("...Z" or with offset, optional fraction); MLA_EPARSE when malformed. */
enum mla_code mla_kube_time_parse(const char *s, double *unix_s) MLA_MUST_CHECK;

#endif
