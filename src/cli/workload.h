/* cli/workload.h - the offline commands' shared input: a Deployment from YAML documents, and
 * the AdmissionReview request kube-apiserver would send for it (internal to src/cli/).
 *
 * `render` and `test` both build their request here and call mla_decide() on it, so neither
 * holds a copy of the decision path and both answer what the webhook would.
 *
 * Ownership: marked per function. Threading: pure.
 */
#ifndef MLA_CLI_WORKLOAD_H
#define MLA_CLI_WORKLOAD_H

#include <cjson/cJSON.h>
#include <jansson.h>

#include "mla/review.h"

/* The first apps/v1 Deployment or StatefulSet (mla_wl_find), or batch/v1 Job (a ScaledJob
 * template), among the parsed documents `docs` (a json array), as cJSON
 * (new: cJSON_Delete), or NULL after printing "PROG: PATH: reason" on stderr: none there, or a
 * label/annotation value that is not a string (kube-apiserver refuses those before any webhook
 * runs). */
cJSON *mla__cli_deployment(const json_t *docs, const char *prog, const char *path);

/* The request as kube-apiserver would send it (the object's own kind: Deployment, StatefulSet or Job) for operation `op` ("CREATE" or "UPDATE") in
 * namespace `ns` (NULL or "": metadata.namespace, else "default"): a new tree (cJSON_Delete)
 * that owns dep and old (stolen; old may be NULL); *req borrows from it. */
cJSON *mla__cli_request(const char *op, const char *ns, cJSON *dep, cJSON *old,
                        struct mla_review_request *req);

#endif
