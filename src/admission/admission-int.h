/* admission/admission-int.h - what the admission module's files share and nobody else calls.
 *
 * Ownership and threading as decide.h.
 */
#ifndef MLA_ADMISSION_INT_H
#define MLA_ADMISSION_INT_H

#include <string.h>

#include "mla/arena.h"
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

/* Nodes built as cJSON_Create* and cJSON_Add*ToObject build them (the same types and flags,
 * links, values and copies, through the same allocation hooks: mla_arena_cjson_malloc), without
 * a call into libcjson per node (the ScaledObject's and the patch's trees). NULL-tolerant as
 * cJSON is: a node that could not be allocated is simply not added. */
static inline cJSON *mla__adm_node(int type)
{
    cJSON *n = mla_arena_cjson_malloc(sizeof *n);
    if (n)
        *n = (cJSON){.type = type};
    return n;
}

/* cJSON_strdup */
static inline char *mla__adm_dup(const char *v)
{
    size_t n = strlen(v) + 1;
    char *c = mla_arena_cjson_malloc(n);
    if (c)
        memcpy(c, v, n);
    return c;
}

/* cJSON_CreateString */
static inline cJSON *mla__adm_string(const char *v)
{
    cJSON *n = v ? mla__adm_node(cJSON_String) : NULL;
    if (n && !(n->valuestring = mla__adm_dup(v))) {
        cJSON_Delete(n);
        return NULL;
    }
    return n;
}

/* cJSON_AddItemToArray's link (cJSON 1.7's add_item_to_array): the first child's prev is the
 * last child. */
static inline cJSON *mla__adm_link(cJSON *parent, cJSON *item)
{
    if (!parent || !item || parent == item) {
        cJSON_Delete(item);
        return NULL;
    }
    cJSON *child = parent->child;
    if (!child) {
        parent->child = item;
        item->prev = item;
        item->next = NULL;
    } else {
        child->prev->next = item;
        item->prev = child->prev;
        child->prev = item;
    }
    return item;
}

/* cJSON_Add*ToObject for a key that is a string literal (cJSON_AddItemToObjectCS): the node
 * points at the literal (cJSON_StringIsConst) instead of a copy. Only for literals: the tree
 * may outlive whatever other keys point into (a policy set). */
static inline cJSON *mla__adm_put(cJSON *o, const char *lit, cJSON *v)
{
    if (!o || !v) {
        cJSON_Delete(v);
        return NULL;
    }
    v->string = (char *)lit; /* cJSON_StringIsConst: never freed nor written */
    v->type |= cJSON_StringIsConst;
    return mla__adm_link(o, v);
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
