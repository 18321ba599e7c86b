/* wlkind.h - the workload kinds a ScaledObject can target (issue 13): Deployment and
 * StatefulSet, with what admission, the worker and the loop need to name, read and own them.
 * One table, so that a new kind is one row instead of a string compare in every module.
 *
 * Ownership: every pointer returned points into a static table (never freed); mla_wl_path
 * returns a new string (free()).
 * Threading: pure, immutable; any thread.
 */
#ifndef MLA_WLKIND_H
#define MLA_WLKIND_H

#include <cjson/cJSON.h>

struct mla_wl_kind {
    const char *kind;        /* "StatefulSet": metadata kind, scaleTargetRef.kind, ownerRef */
    const char *group;       /* "apps": AdmissionReview request.kind.group */
    const char *version;     /* "v1" */
    const char *api_version; /* "apps/v1": scaleTargetRef/ownerReference apiVersion */
    const char *resource;    /* "statefulsets": the REST plural */
};

/* The row for Deployment (the default wherever a kind is absent). */
const struct mla_wl_kind *mla_wl_deployment(void);
/* A row for batch/v1 Job, to name, read and record Events on a Job template (scaledjob.h). Not
 * in the table: a Job is no ScaledObject target, so mla_wl_find("Job") stays NULL. */
const struct mla_wl_kind *mla_wl_job(void);
/* The row for `kind` ("Deployment", "StatefulSet"); NULL when not a scalable workload. */
const struct mla_wl_kind *mla_wl_find(const char *kind);
/* The row for an AdmissionReview's request.kind (group + kind, version v1); NULL otherwise. */
const struct mla_wl_kind *mla_wl_find_gvk(const char *group, const char *version,
                                          const char *kind);
/* The row named by a ScaledObject's spec.scaleTargetRef.kind (absent: Deployment, as KEDA
 * defaults it); NULL for a kind not in the table. `so` may be NULL (Deployment). */
const struct mla_wl_kind *mla_wl_of_so(const cJSON *so);
/* The row named by obj's "kind" member (absent: Deployment, for LIST items that carry no
 * kind); NULL for a kind not in the table. */
const struct mla_wl_kind *mla_wl_of_object(const cJSON *obj);
/* "/apis/apps/v1/namespaces/NS/statefulsets/NAME" (new string, free()). wl NULL: Deployment. */
char *mla_wl_path(const struct mla_wl_kind *wl, const char *ns, const char *name);

#endif
