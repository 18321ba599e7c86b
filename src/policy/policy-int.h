/* policy-int.h - private to src/policy/: the set's layout and the compile context. */
#ifndef MLA_POLICY_INT_H
#define MLA_POLICY_INT_H

#include <jansson.h>
#include <stdatomic.h>

#include "mla/arena.h"
#include "mla/policy_model.h"
#include "mla/yaml.h"

struct mla_policy_set {
    _Atomic int refs;
    char hash[80]; /* "sha256:<hex64>" over file names and contents */
    size_t n;
    struct mla_policy *pol; /* precedence order */
    size_t nprofiles;
    struct mla_arena arena;
    cJSON *owned; /* array: cJSON values the compiled settings point into */
    struct mla_tzdb *tzdb; /* owned reference: the zones the set was validated against; the
                            * request path resolves time zones here (no I/O, no global lock) */
};

/* Compile context for one file. */
struct mla__cctx {
    const char *file;
    const struct mla_yaml_pos *pos;
    struct mla_policy_diags *diags; /* may be NULL */
    struct mla_err *first;          /* gets the first error; may be NULL */
    struct mla_arena *a;
    cJSON *owned;
    struct mla_tzdb *tzdb; /* borrowed from the set */
    int nerr;
};

/* Records an error at the position of container[key] (or container[idx] when key is NULL, or
 * the container itself when idx == SIZE_MAX). */
void mla__cerr(struct mla__cctx *c, const json_t *cont, const char *key, size_t idx, int of_key,
               const char *fmt, ...) MLA_PRINTF(6, 7);

/* Compiles a template; `promql` decides the escaping of each variable. On error returns false
 * and writes the reason into why. */
bool mla__tpl_compile(struct mla_arena *a, const char *src, bool promql, struct mla_tpl **out,
                      char *why, size_t n);

/* fnmatch(glob, s, 0) == 0, the way mla_policy_matches tests namespaces (match.c). */
bool mla__policy_glob_matches(const char *glob, const char *s);

/* Compiles one policy object (an element of `policies`). False when it had errors. */
bool mla__compile_policy(struct mla__cctx *c, const json_t *arr, size_t idx,
                         struct mla_policy *out);

#endif
