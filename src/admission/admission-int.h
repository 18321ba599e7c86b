/* admission/admission-int.h - what the admission module's files share and nobody else calls.
 *
 * Ownership and threading as decide.h.
 */
#ifndef MLA_ADMISSION_INT_H
#define MLA_ADMISSION_INT_H

#include <string.h>

#include "mla/decide.h"

/* mla_decide() for a batch/v1 Job (decide_job.c): `out` is initialised by the caller. A Job
 * created suspended with the opt-in is the template of a KEDA ScaledJob (scaledjob.h). */
enum mla_code mla__decide_job(const struct mla_policy_set *ps,
                              const struct mla_review_request *req, struct mla_decision *out,
                              struct mla_err *err) MLA_MUST_CHECK;

/* decide.c's helpers for the other kinds' decisions: an annotation of obj's metadata (borrowed,
 * NULL when absent or not a string); whether the old object was opted in (enabled "true" or
 * the managed label); a denial with `code` and "ml-autoscaling: msg" that drops any patch and
 * ScaledObject already built. */
const char *mla__decide_ann(const cJSON *obj, const char *key);
bool mla__decide_was_managed(const cJSON *old);
void mla__decide_deny(struct mla_decision *d, int code, const char *msg);

/* The opt-out patch (decide.c): removes the managed label and the name_key, policy and
 * policy-hash annotations, sets out->patch (NULL when nothing to remove) and
 * out->action = MLA_ACT_REMOVE; a denial (500) when the patch cannot be built. */
enum mla_code mla__decide_unmark(const struct mla_review_request *req, const char *name_key,
                                 struct mla_decision *out, struct mla_err *err) MLA_MUST_CHECK;

/* cJSON_GetObjectItemCaseSensitive(o, key), the same member (the first with that key; NULL
 * past a member without a key, or when o or key is NULL), inlined, and the first bytes
 * compared before strcmp: the decision's and the patch's lookups walk objects of up to ten
 * members (a Deployment's metadata), and a strcmp call per member they pass was most of
 * their cost. */
static inline cJSON *mla__adm_get(const cJSON *o, const char *key)
{
    if (!o || !key)
        return NULL;
    for (cJSON *c = o->child; c && c->string; c = c->next)
        if (c->string[0] == key[0] && !strcmp(c->string, key))
            return c;
    return NULL;
}

/* cJSON's parse_hex4 on the four bytes at p: 0 for any non-hex character. The skim (which
 * validates) and the tree builder (which decodes) must read \u escapes exactly alike. */
static inline unsigned mla__adm_hex4(const unsigned char *p)
{
    unsigned h = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = p[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else
            return 0;
        h = h << 4 | d;
    }
    return h;
}

#endif
