/* scaledobject.h - the KEDA ScaledObject built from a resolution (resolve.h).
 *
 * mla_so_build() turns a struct mla_resolved into a complete keda.sh/v1alpha1 ScaledObject (no
 * ownerReferences: the kube side adds them at apply time from the stored Deployment's UID).
 *
 * Ownership: built cJSON is new (cJSON_Delete).
 * Threading: pure.
 */
#ifndef MLA_SCALEDOBJECT_H
#define MLA_SCALEDOBJECT_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "mla/err.h"
#include "mla/resolve.h"

/* Builds the ScaledObject (new, *out) for `dep` (its labels are copied, minus GitOps tracking
 * labels). MLA_EDENIED when a template value cannot be placed safely. */
enum mla_code mla_so_build(const struct mla_resolved *r, const cJSON *dep, cJSON **out,
                           struct mla_err *err) MLA_MUST_CHECK;

/* A DNS-safe name of at most `max` characters: `name` itself when it fits, else a prefix and
 * "-" and 8 hex digits of sha256(name). out must hold max + 1 bytes. */
void mla_so_short_name(const char *name, size_t max, char *out);

#endif
