/* review.h - the admission.k8s.io/v1 AdmissionReview codec (cJSON: the hot path).
 *
 * decode: body bytes -> struct mla_review_request, checking that it is an AdmissionReview v1 with a
 * request and a uid. The decoded tree has null in place of the values nothing reads (the
 * objects' managedFields, status and spec.strategy, the request's options, requestKind,
 * requestResource, userInfo.groups/extra: review_skim.h); the rest is the body as sent. encode: a decision -> the AdmissionReview response body.
 *
 * Ownership: a decoded request owns its cJSON tree (`root`); every other pointer in it is
 * borrowed from that tree and valid until mla_review_request_fini().
 * Threading: pure; no shared state.
 */
#ifndef MLA_REVIEW_H
#define MLA_REVIEW_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "mla/buf.h"
#include "mla/err.h"
#include "mla/review_skim.h"

enum mla_review_op { MLA_OP_CREATE, MLA_OP_UPDATE, MLA_OP_DELETE, MLA_OP_CONNECT, MLA_OP_OTHER };

struct mla_review_request {
    cJSON *root;              /* owned: the parsed AdmissionReview */
    const char *uid;          /* request.uid, never NULL after a successful decode */
    const char *kind_group;   /* request.kind.group ("" for core), never NULL */
    const char *kind_version; /* request.kind.version, never NULL */
    const char *kind;         /* request.kind.kind, never NULL */
    const char *resource;     /* request.resource.resource, "" when absent */
    const char *sub_resource; /* request.subResource, "" when absent */
    enum mla_review_op op;
    const char *operation;    /* request.operation as sent */
    const char *namespace_;   /* request.namespace, "" when absent */
    const char *name;         /* request.name, or object.metadata.name, or generateName, or "" */
    const cJSON *object;      /* request.object, NULL when absent */
    const cJSON *old_object;  /* request.oldObject, NULL when absent */
    bool dry_run;
    const char *username;     /* request.userInfo.username, "" when absent */
};

struct mla_decision; /* decide.h */

/* Deepest JSON nesting decode accepts (objects + arrays). A Deployment with managedFields is
 * about 20 deep; the limit keeps cJSON's recursive parser and cJSON_Delete far from the stack's
 * end (cJSON's own CJSON_NESTING_LIMIT of 1000 is the backstop). */
#define MLA_REVIEW_MAX_DEPTH 128
/* Longest uid accepted (Kubernetes sends a 36-char UUID). */
#define MLA_REVIEW_MAX_UID 128

/* Decodes an AdmissionReview body (len bytes, need not be NUL-terminated).
 * - MLA_EPARSE: not an admission.k8s.io/v1 AdmissionReview with a request and a uid (not JSON,
 *   nested deeper than MLA_REVIEW_MAX_DEPTH, wrong apiVersion/kind, no request, no uid): nothing
 *   can be answered inside a review, the caller answers HTTP 400 with err->msg.
 * - MLA_EINVAL: a v1 review with a uid whose request is malformed (no kind, no operation, an
 *   object that is not an object): the uid is copied into uid_out (size uid_n, may be NULL) so
 *   that the caller can deny the review with err->msg.
 * On success *req is filled (the caller then owns req->root, freed by mla_review_request_fini). */
enum mla_code mla_review_decode(const char *body, size_t len, struct mla_review_request *req,
                             char *uid_out, size_t uid_n, struct mla_err *err) MLA_MUST_CHECK;

/* The skim of a body (review_skim.h), done once and shared by mla_review_plain and
 * mla_review_decode_scanned. */
struct mla_review_scan {
    bool ok; /* the skim accepted the body: cuts and facts are valid */
    struct mla_review_cuts cuts;
};
void mla_review_scan(const char *body, size_t len, struct mla_review_scan *sc);

/* mla_review_decode with the body's scan already made (sc from mla_review_scan on the same
 * body); same results. mla_review_decode is scan + this. */
enum mla_code mla_review_decode_scanned(const char *body, size_t len,
                                        const struct mla_review_scan *sc,
                                        struct mla_review_request *req, char *uid_out,
                                        size_t uid_n, struct mla_err *err) MLA_MUST_CHECK;

/* What the not-opted-in answer reads of a review, taken from the scan's facts without a tree
 * (strings are NUL-terminated copies in `text`). */
struct mla_review_plain {
    const char *uid, *kind_group, *kind_version, *kind, *sub_resource;
    enum mla_review_op op;
    bool has_object, has_old_object;
    /* object's / oldObject's ml-autoscaling.io/enabled annotation, oldObject's
     * ml-autoscaling.io/managed label: NULL when absent or not a string */
    const char *enabled, *old_enabled, *old_managed;
    char text[512];
};

/* True when mla_review_decode would accept the body and the fields above are exactly what it
 * would decode: a well-formed v1 review whose strings read here have no escapes, no NUL bytes
 * and fit `text`, on a body the scan accepted with no unsure key. False says only "decode it"
 * (every error, and every unusual body, takes the ordinary path). */
bool mla_review_plain(const char *body, const struct mla_review_scan *sc,
                      struct mla_review_plain *out);

/* Frees the tree; every borrowed pointer in req becomes invalid. NULL-safe, idempotent. */
void mla_review_request_fini(struct mla_review_request *req);

/* Appends the AdmissionReview response for `uid` to out: apiVersion/kind
 * admission.k8s.io/v1 AdmissionReview, the uid, allowed, status {message, code} when denied,
 * patchType "JSONPatch" + base64 patch only when d->patch has ops, warnings when any.
 * MLA_ETOOBIG when out's cap is reached (out then holds a partial body: reset it). */
enum mla_code mla_review_encode(const char *uid, const struct mla_decision *d, struct mla_buf *out,
                             struct mla_err *err) MLA_MUST_CHECK;

/* Appends a denial response (allowed=false, status {message, code}) without a decision. */
enum mla_code mla_review_encode_denied(const char *uid, int code, const char *message,
                                    struct mla_buf *out, struct mla_err *err) MLA_MUST_CHECK;

/* The text cJSON_PrintUnformatted(item) prints, byte for byte (the patch is printed with it:
 * cJSON's printer copies and reallocates its buffer and scans every string twice), or NULL
 * where it would fail. new: the caller frees it with cJSON_free; *len (may be NULL) is its
 * length. */
char *mla_review_print_json(const cJSON *item, size_t *len);

/* Appends standard base64 (RFC 4648, padded, no newlines) of n bytes at p to out. */
enum mla_code mla_review_base64(const void *p, size_t n, struct mla_buf *out) MLA_MUST_CHECK;

/* The nesting depth of JSON text (brackets outside strings); stops counting at limit+1. */
size_t mla_review_json_depth(const char *s, size_t len, size_t limit);

#endif
