/* vpa.h - does a VerticalPodAutoscaler fight a ScaledObject? (issue 13)
 *
 * A VPA that updates pods (updateMode Auto, the default, Recreate or InPlaceOrRecreate) and
 * controls cpu or memory changes the requests the HPA behind a ScaledObject measures cpu/memory
 * utilisation against: the two loops fight. Off and Initial modes, and VPAs whose
 * controlledResources (per container, after the containerPolicies) avoid the resources of the
 * ScaledObject's cpu/memory triggers, do not.
 *
 * Ownership: everything is borrowed; nothing is kept. Threading: pure.
 */
#ifndef MLA_VPA_H
#define MLA_VPA_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#define MLA_VPA_CPU 1u
#define MLA_VPA_MEMORY 2u

/* The resources (MLA_VPA_CPU | MLA_VPA_MEMORY) the ScaledObject's cpu/memory triggers scale
 * on; 0 when it has none (then no VPA can fight it). so may be NULL. */
unsigned mla_vpa_so_resources(const cJSON *so);

/* Whether VPA `vpa` targets Deployment `name` and updates pods while controlling a resource in
 * `res` (a mask from mla_vpa_so_resources) of a container of `pod_spec` (the Deployment's
 * spec.template.spec; NULL: the VPA's default policy is assumed for every container). On true,
 * `why` (n bytes) says how: "updateMode Auto controls cpu, memory". */
bool mla_vpa_conflicts(const cJSON *vpa, const char *name, const cJSON *pod_spec, unsigned res,
                       char *why, size_t n);

/* The same for a workload of kind `kind` (targetRef.kind, e.g. "StatefulSet"). */
bool mla_vpa_conflicts_kind(const cJSON *vpa, const char *kind, const char *name,
                            const cJSON *pod_spec, unsigned res, char *why, size_t n);

#endif
