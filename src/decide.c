/* decide.c - the admission decision (see decide.h).
 *
 * MINIMAL FIRST VERSION (issue 2): an opted-in Deployment gets the managed label and an
 * annotation; everything else is allowed unchanged. The policy engine (issue 3) replaces this
 * file with resolution against the policy set.
 */
#include "mla/decide.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mla/patch.h"

#define ANN_PREFIX "ml-autoscaling.io/"

void mla_decision_init(struct mla_decision *d)
{
    memset(d, 0, sizeof *d);
    d->allowed = true;
    d->code = 200;
}

void mla_decision_fini(struct mla_decision *d)
{
    cJSON_Delete(d->patch);
    cJSON_Delete(d->warnings);
    cJSON_Delete(d->scaled_object);
    d->patch = d->warnings = d->scaled_object = NULL;
}

void mla_decision_warn(struct mla_decision *d, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!d->warnings)
        d->warnings = cJSON_CreateArray();
    cJSON_AddItemToArray(d->warnings, cJSON_CreateString(msg));
}

static bool decide_opted_in(const cJSON *obj)
{
    const cJSON *ann = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "annotations");
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ann, ANN_PREFIX "enabled"));
    return v && strcmp(v, "true") == 0;
}

enum mla_code mla_decide(const struct mla_policy_set *ps, const struct mla_adm_request *req,
                         struct mla_decision *out, struct mla_err *err)
{
    (void)ps;
    mla_decision_init(out);
    if (strcmp(req->kind, "Deployment") != 0 || strcmp(req->kind_group, "apps") != 0 ||
        (req->op != MLA_OP_CREATE && req->op != MLA_OP_UPDATE) || !req->object)
        return MLA_OK;
    out->opted_in = decide_opted_in(req->object);
    if (!out->opted_in) {
        if (req->op == MLA_OP_UPDATE && req->old_object && decide_opted_in(req->old_object))
            out->action = MLA_ACT_REMOVE;
        return MLA_OK;
    }
    struct mla_patch p;
    mla_patch_init(&p, req->object);
    enum mla_code rc = mla_patch_set_str(&p, "true", err, "metadata", "labels",
                                         ANN_PREFIX "managed", NULL);
    if (rc == MLA_OK)
        rc = mla_patch_set_str(&p, "ml-autoscaling", err, "metadata", "annotations",
                               ANN_PREFIX "managed-by", NULL);
    if (rc != MLA_OK) {
        mla_patch_fini(&p);
        out->allowed = false;
        out->code = 500;
        snprintf(out->message, sizeof out->message, "cannot build the patch: %s",
                 err ? err->msg : "invalid object");
        return rc;
    }
    out->patch = mla_patch_take(&p);
    out->action = MLA_ACT_APPLY;
    snprintf(out->message, sizeof out->message, "opted in");
    return MLA_OK;
}
