/* adm.h - the admission.k8s.io/v1 AdmissionReview codec (cJSON: the hot path).
 *
 * decode: body bytes -> struct mla_adm_request, checking that it is an AdmissionReview v1 with a
 * request and a uid. encode: a decision -> the AdmissionReview response body.
 *
 * Ownership: a decoded request owns its cJSON tree (`root`); every other pointer in it is
 * borrowed from that tree and valid until mla_adm_request_fini().
 * Threading: pure; no shared state.
 */
#ifndef MLA_ADM_H
#define MLA_ADM_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "mla/buf.h"
#include "mla/err.h"

enum mla_adm_op { MLA_OP_CREATE, MLA_OP_UPDATE, MLA_OP_DELETE, MLA_OP_CONNECT, MLA_OP_OTHER };

struct mla_adm_request {
    cJSON *root;              /* owned: the parsed AdmissionReview */
    const char *uid;          /* request.uid, never NULL after a successful decode */
    const char *kind_group;   /* request.kind.group ("" for core), never NULL */
    const char *kind_version; /* request.kind.version, never NULL */
    const char *kind;         /* request.kind.kind, never NULL */
    const char *resource;     /* request.resource.resource, "" when absent */
    const char *sub_resource; /* request.subResource, "" when absent */
    enum mla_adm_op op;
    const char *operation;    /* request.operation as sent */
    const char *namespace_;   /* request.namespace, "" when absent */
    const char *name;         /* request.name, or object.metadata.name, or generateName, or "" */
    const cJSON *object;      /* request.object, NULL when absent */
    const cJSON *old_object;  /* request.oldObject, NULL when absent */
    bool dry_run;
    const char *username;     /* request.userInfo.username, "" when absent */
};

#endif
