/* decide.h - the admission decision: one request in, allow/deny + patch + warnings + the
 * ScaledObject out. The pure core that `serve` (per AdmissionReview) and `render` (per file)
 * share, so that what `render` prints is exactly what the webhook would do.
 *
 * No I/O, no API calls: reads that admission may make (HPA conflicts for warnings and `reject`)
 * are done by the caller before or after and passed in/merged by the caller.
 *
 * Ownership: struct mla_decision is caller-embedded; mla_decision_init() cannot fail, and
 * mla_decision_fini() frees what the decision owns (marked "owned" below).
 * Threading: pure; the policy set is immutable and may be shared by any number of threads.
 */
#ifndef MLA_DECIDE_H
#define MLA_DECIDE_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "mla/review.h"
#include "mla/err.h"
#include "mla/policy_model.h"


/* What the API side must do once the Deployment is stored. */
enum mla_action {
    MLA_ACT_NONE = 0, /* not opted in, not a Deployment, or dry-run-like: nothing to write */
    MLA_ACT_APPLY,    /* server-side apply `scaled_object`, handling HPAs per `hpa_mode` */
    MLA_ACT_REMOVE,   /* opt-in removed: delete the ScaledObject we made, restore the HPA */
};

struct mla_decision {
    bool allowed;
    int code;              /* HTTP status for a denial (400 invalid, 403 refused); 200 allowed */
    char message[1024];    /* the denial message, or a short summary when allowed */
    cJSON *patch;          /* owned: RFC 6902 ops array for the Deployment, NULL for none */
    cJSON *warnings;       /* owned: array of strings shown by kubectl, NULL for none */
    cJSON *scaled_object;  /* owned: the full keda.sh/v1alpha1 ScaledObject, NULL for none */
    enum mla_hpa_mode hpa_mode;
    enum mla_vpa_mode vpa_mode; /* the policy's `vpa` setting, for the API side's VPA check */
    enum mla_action action;
    bool skip_write;       /* `skip-scaledobject: "true"`: decide and patch, write nothing */
    bool opted_in;         /* the new object carries enabled: "true" */
    char policy[128];      /* the policy that matched, "" when none */
    char profile[64];      /* the profile used, "" when none */
    char policy_hash[72];  /* "sha256:<hex16>" of the policy content, "" when none */
    char so_name[64];      /* the ScaledObject name (<= 63 chars), "" when none */
    bool scaled_job;       /* a batch/v1 Job: scaled_object holds a ScaledJob and so_name its
                            * name (scaledjob.h); hpa_mode and vpa_mode mean nothing */
};

void mla_decision_init(struct mla_decision *d);
void mla_decision_fini(struct mla_decision *d);

/* Adds a warning (copied) to d->warnings. */
void mla_decision_warn(struct mla_decision *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Decides for one decoded request. `ps` may be NULL only in tests of the webhook shell.
 * Returns MLA_OK with the decision filled (a denial is a decision, not an error); an error code
 * only when the decision could not be made at all (then `out` is left denied with the reason). */
enum mla_code mla_decide(const struct mla_policy_set *ps, const struct mla_review_request *req,
                         struct mla_decision *out, struct mla_err *err) MLA_MUST_CHECK;

/* True when mla_decide on this review (decoded: review.h, mla_review_plain) would answer
 * "allowed, not opted in, nothing to do": no patch, no warning, no action. False when it would
 * do anything else, or may (a Job, an opted-in object, an opt-in removed on UPDATE): decode
 * the review and call mla_decide. The webhook's hot path, with no tree and no policy set. */
bool mla_decide_plain(const struct mla_review_plain *p);

/* The points where the API side (kube helper) plugs into admission, set by `serve`. Both run
 * in the request thread; either may be NULL. */
struct mla_admit_hooks {
    void *ctx; /* borrowed: the API side's state */
    /* After mla_decide(), only when d->action != MLA_ACT_NONE. Reads only (tight timeout, fail
     * open): may add warnings (HPA that will be removed, a ScaledObject someone else wrote) or
     * turn an allowed decision into a denial (HPA mode `reject`). Never writes to the API.
     * Runs on dry runs too, so a server-side dry run previews what the real request gets. */
    void (*review)(void *ctx, const struct mla_review_request *req, struct mla_decision *d);
    /* After the response is built, only when d->allowed, d->action != MLA_ACT_NONE,
     * !req->dry_run and !d->skip_write: hands the work to the worker queue. Must not block;
     * copies what it needs (req and d are freed when it returns). */
    void (*enqueue)(void *ctx, const struct mla_review_request *req, const struct mla_decision *d);
};

#endif
