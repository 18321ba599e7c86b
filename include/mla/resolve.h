/* resolve.h - resolution: policy defaults -> profile -> annotations, clamped to the bounds.
 *
 * mla_resolve() reads a Deployment (cJSON, as admission delivers it) against a policy set and
 * fills a struct mla_resolved: every value the ScaledObject needs (scaledobject.h builds it),
 * with a warning for every clamp and a denial message for every invalid annotation.
 *
 * Ownership: struct mla_resolved is caller-embedded and borrows from the Deployment object and
 * the policy set (both must outlive it); it owns nothing.
 * Threading: pure.
 */
#ifndef MLA_RESOLVE_H
#define MLA_RESOLVE_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "mla/decide.h"
#include "mla/err.h"
#include "mla/policy_model.h"

#define MLA_MAX_TRIGGERS 16
#define MLA_MAX_WINDOWS 8

struct mla_resolved {
    const struct mla_policy *policy;  /* borrowed from the set */
    const struct mla_profile *profile;
    const struct mla_settings *s;
    const char *name, *ns;            /* borrowed */
    const char *ann[MLA_ANN__COUNT];  /* borrowed annotation values, NULL when absent */
    char so_name[64];                 /* <= 54 so that keda-hpa-<name> fits 63 */
    char dep_label[64];               /* the Deployment name as a label value (<= 63) */
    int min_replicas, max_replicas, polling, cooldown;
    bool scale_to_zero, skip_write, predictive;
    bool idle_zero;                   /* write idleReplicaCount: 0 (min stays >= 1) */
    bool has_capacity;
    double capacity;
    const char *timezone;             /* NULL: none configured */
    size_t nwin;
    struct mla_window win[MLA_MAX_WINDOWS];
    char win_text[MLA_MAX_WINDOWS][3][40]; /* storage for windows parsed from the annotation */
    bool trig_on[MLA_MAX_TRIGGERS];
    double trig_thr[MLA_MAX_TRIGGERS];
};

/* Resolves the opted-in Deployment `obj` in namespace `ns`. Warnings go to d (clamps, defaults
 * applied). MLA_EDENIED with err->msg holding the whole denial ("; "-joined when several
 * annotations are invalid); MLA_ENOTFOUND when no policy matches. */
enum mla_code mla_resolve(const struct mla_policy_set *ps, const cJSON *obj, const char *ns,
                          struct mla_resolved *r, struct mla_decision *d, struct mla_err *err)
    MLA_MUST_CHECK;

#endif
