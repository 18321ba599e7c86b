/* admission/decide_job.c - the admission decision for a batch/v1 Job (admission-int.h): a Job
 * created suspended with ml-autoscaling.io/enabled: "true" is the template of a KEDA ScaledJob.
 *
 * What a Job that is not suspended gets (docs/annotations.md, "Batch Jobs"):
 * - CREATE: the patch sets spec.suspend: true, with a warning. The opt-in and the queue profile
 *   say "one Job per queued item"; left running, the template would also run once by itself,
 *   outside the scaler's count, taking an item nobody scheduled. A user who wants a plain Job
 *   drops the annotation.
 * - UPDATE of a Job stored unsuspended: it has already started; suspending it now would kill
 *   its pods. It is allowed unchanged, with a warning, and no ScaledJob is written.
 * - UPDATE of a stored template that un-suspends it: the patch keeps spec.suspend: true (warning),
 *   since the template running once is never what the ScaledJob's owner wants.
 * Pod-spec mutations of the policy (default requests, spot) are not made on Jobs: a Job's pod
 * template cannot change after creation, and a ScaledJob has no cpu/memory triggers that need
 * requests.
 */
#include <stdio.h>
#include <string.h>

#include "admission-int.h"
#include "mla/patch.h"
#include "mla/resolve.h"
#include "mla/scaledjob.h"
#include "mla/scaledobject.h"

static const cJSON *dj_get(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

static bool dj_true(const char *v)
{
    return v && !strcmp(v, "true");
}

static bool dj_suspended(const cJSON *job)
{
    return cJSON_IsTrue(dj_get(dj_get(job, "spec"), "suspend"));
}

static void dj_names(const cJSON *obj, struct mla_decision *out)
{
    const char *sj = mla__decide_ann(obj, MLA_ANN_PREFIX "scaledjob");
    const char *pol = mla__decide_ann(obj, MLA_ANN_PREFIX "policy");
    const char *hash = mla__decide_ann(obj, MLA_ANN_PREFIX "policy-hash");
    snprintf(out->so_name, sizeof out->so_name, "%s", sj ? sj : "");
    snprintf(out->policy, sizeof out->policy, "%s", pol ? pol : "");
    snprintf(out->policy_hash, sizeof out->policy_hash, "%s", hash ? hash : "");
    const char *n = cJSON_GetStringValue(dj_get(dj_get(obj, "metadata"), "name"));
    if (!sj && n)
        mla_so_short_name(n, 54, out->so_name);
}

/* The opt-in was removed from a template: drop the marks, the worker deletes the ScaledJob. */
static enum mla_code dj_remove(const struct mla_review_request *req, struct mla_decision *out,
                               struct mla_err *err)
{
    dj_names(req->old_object, out);
    enum mla_code rc = mla__decide_unmark(req, MLA_ANN_PREFIX "scaledjob", out, err);
    if (rc != MLA_OK)
        return rc;
    snprintf(out->message, sizeof out->message,
             "ml-autoscaling: opt-in removed; ScaledJob %s will be deleted", out->so_name);
    mla_decision_warn(out, "ml-autoscaling: opt-in removed: the ScaledJob %s created for this "
                      "Job will be deleted", out->so_name);
    return MLA_OK;
}

static const char *dj_namespace(const struct mla_review_request *req)
{
    const char *ns = req->namespace_ && *req->namespace_ ? req->namespace_ : NULL;
    if (!ns)
        ns = cJSON_GetStringValue(dj_get(dj_get(req->object, "metadata"), "namespace"));
    return ns && *ns ? ns : "default";
}

/* The marks of PRODUCT.md 4 (label, ScaledJob name, policy and hash), and spec.suspend when the
 * template is not suspended (see the top of the file). */
static enum mla_code dj_patch(const struct mla_review_request *req, const struct mla_resolved *r,
                              struct mla_decision *out, struct mla_err *err)
{
    struct mla_patch p;
    mla_patch_init(&p, req->object);
    enum mla_code rc = mla_patch_set_str(&p, "true", err, "metadata", "labels",
                                         MLA_ANN_PREFIX "managed", NULL);
    if (rc == MLA_OK)
        rc = mla_patch_set_str(&p, r->so_name, err, "metadata", "annotations",
                               MLA_ANN_PREFIX "scaledjob", NULL);
    if (rc == MLA_OK)
        rc = mla_patch_set_str(&p, r->policy->name, err, "metadata", "annotations",
                               MLA_ANN_PREFIX "policy", NULL);
    if (rc == MLA_OK)
        rc = mla_patch_set_str(&p, r->policy->hash, err, "metadata", "annotations",
                               MLA_ANN_PREFIX "policy-hash", NULL);
    if (rc == MLA_OK && !dj_suspended(req->object)) {
        rc = mla_patch_set(&p, cJSON_CreateTrue(), err, "spec", "suspend", NULL);
        if (req->op == MLA_OP_CREATE)
            mla_decision_warn(out, "ml-autoscaling: this Job is the template of ScaledJob %s, "
                              "which starts one Job per queued item; set spec.suspend: true "
                              "(the template itself must not run; remove "
                              "ml-autoscaling.io/enabled to run it as a plain Job)", r->so_name);
        else
            mla_decision_warn(out, "ml-autoscaling: kept spec.suspend: true: this Job is the "
                              "template of ScaledJob %s and must not run itself (remove "
                              "ml-autoscaling.io/enabled to stop using it as a template)",
                              r->so_name);
    }
    if (rc != MLA_OK) {
        mla_patch_fini(&p);
        return rc;
    }
    out->patch = mla_patch_take(&p);
    return MLA_OK;
}

static enum mla_code dj_opted_in(const struct mla_policy_set *ps,
                                 const struct mla_review_request *req, struct mla_decision *out,
                                 struct mla_err *err)
{
    if (!ps) {
        mla__decide_deny(out, 500, "no policy set is loaded");
        return MLA_OK;
    }
    if (req->op == MLA_OP_UPDATE && !dj_suspended(req->object) && req->old_object &&
        !dj_suspended(req->old_object)) {
        const char *n = cJSON_GetStringValue(dj_get(dj_get(req->object, "metadata"), "name"));
        snprintf(out->message, sizeof out->message, "ml-autoscaling: Job is not suspended; no "
                 "ScaledJob");
        mla_decision_warn(out, "ml-autoscaling: Job %s was created without spec.suspend: true "
                          "and has started, so it cannot become the template of a ScaledJob; "
                          "nothing is written. Create a new Job with spec.suspend: true and "
                          "ml-autoscaling.io/enabled: \"true\"", n ? n : "?");
        return MLA_OK;
    }
    struct mla_resolved r;
    struct mla_err e;
    mla_err_clear(&e);
    enum mla_code rc = mla_resolve(ps, req->object, dj_namespace(req), &r, out, &e);
    if (rc == MLA_OK)
        rc = mla_sj_build(&r, req->object, &out->scaled_object, &e);
    if (rc != MLA_OK) {
        char full[sizeof out->message];
        /* resolve may have written the whole denial (longer than an mla_err holds) */
        static const char pfx[] = "ml-autoscaling: ";
        bool whole = !strncmp(out->message, pfx, sizeof pfx - 1);
        snprintf(full, sizeof full, "%s", whole ? out->message + sizeof pfx - 1 : e.msg);
        mla__decide_deny(out, rc == MLA_EDENIED || rc == MLA_ENOTFOUND ? 400 : 500, full);
        return MLA_OK;
    }
    snprintf(out->policy, sizeof out->policy, "%s", r.policy->name);
    snprintf(out->profile, sizeof out->profile, "%s", r.profile->name);
    snprintf(out->policy_hash, sizeof out->policy_hash, "%s", r.policy->hash);
    snprintf(out->so_name, sizeof out->so_name, "%s", r.so_name);
    out->skip_write = r.skip_write;
    if (r.predictive || r.nwin)
        mla_decision_warn(out, "ml-autoscaling: predictive scaling and business hours do not "
                          "apply to a ScaledJob; ignored for this Job");
    rc = dj_patch(req, &r, out, &e);
    if (rc != MLA_OK) {
        char m[700];
        snprintf(m, sizeof m, "cannot build the patch: %s", e.msg);
        mla__decide_deny(out, 500, m);
        if (err)
            *err = e;
        return rc;
    }
    out->action = MLA_ACT_APPLY;
    int ntrig = cJSON_GetArraySize(dj_get(dj_get(out->scaled_object, "spec"), "triggers"));
    snprintf(out->message, sizeof out->message,
             "ml-autoscaling: policy %s profile %s: ScaledJob %s, %d-%d Jobs at once, %d "
             "trigger%s%s", r.policy->name, r.profile->name, r.so_name, r.min_replicas,
             r.max_replicas, ntrig, ntrig == 1 ? "" : "s",
             r.skip_write ? " (skip-scaledobject: nothing will be written)" : "");
    if (r.skip_write)
        mla_decision_warn(out, "ml-autoscaling: skip-scaledobject: the ScaledJob %s is decided "
                          "but not written; manage it yourself", r.so_name);
    return MLA_OK;
}

enum mla_code mla__decide_job(const struct mla_policy_set *ps,
                              const struct mla_review_request *req, struct mla_decision *out,
                              struct mla_err *err)
{
    if ((req->op != MLA_OP_CREATE && req->op != MLA_OP_UPDATE) ||
        (req->sub_resource && *req->sub_resource))
        return MLA_OK;
    out->scaled_job = true;
    out->opted_in = dj_true(mla__decide_ann(req->object, MLA_ANN_PREFIX "enabled"));
    if (!out->opted_in) {
        if (req->op == MLA_OP_UPDATE && req->old_object && mla__decide_was_managed(req->old_object))
            return dj_remove(req, out, err);
        return MLA_OK;
    }
    return dj_opted_in(ps, req, out, err);
}
