/* admission/patch.c - RFC 6902 JSON Patch builder that chooses add/replace from the document (patch.h). */
#include "mla/patch.h"

#include "admission-int.h"

#include <errno.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "mla/mem.h"

#define PATCH_MAX_DEPTH 32

void mla_patch_init(struct mla_patch *p, const cJSON *doc)
{
    p->doc = doc;
    p->ops = NULL;
}

void mla_patch_fini(struct mla_patch *p)
{
    cJSON_Delete(p->ops);
    p->ops = NULL;
}

size_t mla_patch_count(const struct mla_patch *p)
{
    return p->ops ? (size_t)cJSON_GetArraySize(p->ops) : 0;
}

cJSON *mla_patch_take(struct mla_patch *p)
{
    cJSON *ops = p->ops ? p->ops : cJSON_CreateArray();
    p->ops = NULL;
    return ops;
}

enum mla_code mla_patch_escape(struct mla_buf *out, const char *token)
{
    enum mla_code rc = MLA_OK;
    const char *c = token;
    while (rc == MLA_OK && *c) {
        /* Most tokens ("metadata", "labels") need no escaping: copy runs, not bytes. */
        size_t run = strcspn(c, "~/");
        if (run)
            rc = mla_buf_add(out, c, run);
        c += run;
        if (rc == MLA_OK && *c) {
            rc = mla_buf_add(out, *c == '~' ? "~0" : "~1", 2);
            c++;
        }
    }
    return rc;
}

/* Parses an array index token; -1 when it is not a canonical non-negative integer. */
static long patch_index(const char *tok)
{
    if (!tok[0] || (tok[0] == '0' && tok[1]) || strlen(tok) > 9)
        return -1;
    for (const char *c = tok; *c; c++)
        if (*c < '0' || *c > '9')
            return -1;
    return strtol(tok, NULL, 10);
}

static const cJSON *patch_child(const cJSON *node, const char *tok)
{
    if (cJSON_IsObject(node))
        return mla__adm_get(node, tok);
    if (cJSON_IsArray(node)) {
        long i = patch_index(tok);
        if (i < 0 || i >= cJSON_GetArraySize(node))
            return NULL;
        return cJSON_GetArrayItem(node, (int)i);
    }
    return NULL;
}

const cJSON *mla_patch_get(const cJSON *doc, const char *const *tokens, size_t n)
{
    const cJSON *node = doc;
    for (size_t i = 0; node && i < n; i++)
        node = patch_child(node, tokens[i]);
    return node;
}

/* The JSON Pointer of tokens[0..n), built once per set/remove: every question about earlier ops
 * compares a prefix of it (ends[k] is where the pointer of tokens[0..k) ends), and the op's own
 * path is one of those prefixes. On the stack when it fits (the webhook's paths are short): it
 * used to be printed, in heap buffers, three times per op. */
struct patch_path {
    char stack[512];
    size_t stack_ends[PATCH_MAX_DEPTH + 1];
    char *s;     /* stack, or heap: a pointer longer than the stack buffer */
    size_t *ends; /* stack_ends, or heap: more tokens than PATCH_MAX_DEPTH */
    size_t n;
};

static void patch_path_init(struct patch_path *pp, const char *const *tokens, size_t n)
{
    /* Tokens are copied in runs between the characters RFC 6901 escapes (few tokens have
     * any): byte by byte, this was about 1,000 instructions per op of the webhook's patch. */
    size_t len = 0;
    for (size_t k = 0; k < n; k++) {
        len += 1;
        for (const char *c = tokens[k];;) {
            size_t run = strcspn(c, "~/");
            len += run;
            c += run;
            if (!*c)
                break;
            len += 2;
            c++;
        }
    }
    pp->s = len < sizeof pp->stack ? pp->stack : mla_xmalloc(len + 1);
    pp->ends = n <= PATCH_MAX_DEPTH ? pp->stack_ends : mla_xcalloc(n + 1, sizeof *pp->ends);
    pp->n = n;
    size_t at = 0;
    pp->ends[0] = 0;
    for (size_t k = 0; k < n; k++) {
        pp->s[at++] = '/';
        for (const char *c = tokens[k];;) {
            size_t run = strcspn(c, "~/");
            memcpy(pp->s + at, c, run);
            at += run;
            c += run;
            if (!*c)
                break;
            pp->s[at++] = '~';
            pp->s[at++] = *c == '~' ? '0' : '1';
            c++;
        }
        pp->ends[k + 1] = at;
    }
    pp->s[at] = '\0';
}

static void patch_path_fini(struct patch_path *pp)
{
    if (pp->s != pp->stack)
        free(pp->s);
    if (pp->ends != pp->stack_ends)
        free(pp->ends);
}

/* Appends {op, path: the pointer of the first k tokens, value}; steals value. op is a string
 * literal ("add", "replace", "remove"): the op object points at it. Every op object is built
 * here and nowhere else, so its members are always op, path, then value when there is one:
 * patch_op_kind/path/value read them by position instead of looking their keys up. */
static void patch_push(struct mla_patch *p, const char *op, struct patch_path *pp, size_t k,
                       cJSON *value)
{
    /* Built as cJSON_CreateArray/Object/StringReference/String and cJSON_AddItemToObjectCS
     * build them (admission-int.h), without a libcjson call per node. */
    if (!p->ops)
        p->ops = mla__adm_node(cJSON_Array);
    cJSON *o = mla__adm_node(cJSON_Object);
    cJSON *kind = mla__adm_node(cJSON_String | cJSON_IsReference);
    if (kind)
        kind->valuestring = (char *)op; /* cJSON_IsReference: a literal, never freed */
    mla__adm_put(o, "op", kind);
    char *end = pp->s + pp->ends[k], saved = *end;
    *end = '\0'; /* the prefix as a string, for the moment it is copied */
    mla__adm_put(o, "path", mla__adm_string(pp->s));
    *end = saved;
    if (value)
        mla__adm_put(o, "value", value);
    mla__adm_link(p->ops, o);
}

static const char *patch_op_kind(const cJSON *op) { return op->child->valuestring; }
static const char *patch_op_path(const cJSON *op) { return op->child->next->valuestring; }
static cJSON *patch_op_value(cJSON *op) { return op->child->next->next; }

/* An earlier `add` or `replace` whose path is a proper prefix of the path: returns its op and
 * sets *depth to the number of tokens its path covers. Later ops below it are folded into its
 * value, because the document no longer says what is below that path once the op ran. */
static cJSON *patch_pending_parent(struct mla_patch *p, const struct patch_path *pp,
                                   size_t *depth)
{
    size_t n = pp->n;
    if (!p->ops || n < 2)
        return NULL;
    cJSON *op;
    cJSON_ArrayForEach(op, p->ops)
    {
        const char *kind = patch_op_kind(op), *path = patch_op_path(op);
        if (strcmp(kind, "add") != 0 && strcmp(kind, "replace") != 0)
            continue;
        size_t plen = strlen(path);
        for (size_t k = 1; k < n; k++) {
            if (pp->ends[k] == plen && memcmp(pp->s, path, plen) == 0) {
                *depth = k;
                return op;
            }
        }
    }
    return NULL;
}

/* The fewest tokens k <= n (and <= PATCH_MAX_DEPTH) such that tokens[0..k) is the path of an
 * earlier op of kind `kind` ("remove": the document below it is gone; "add"/"replace" with
 * exact: that path holds a value the patch put there), or SIZE_MAX. Linear in the ops, which
 * decide keeps few. */
static size_t patch_op_depth(const struct mla_patch *p, const struct patch_path *pp,
                             const char *kind)
{
    if (!p->ops)
        return SIZE_MAX;
    size_t best = SIZE_MAX;
    size_t m = pp->n < PATCH_MAX_DEPTH ? pp->n : PATCH_MAX_DEPTH;
    const cJSON *op;
    cJSON_ArrayForEach(op, p->ops)
    {
        const char *o = patch_op_kind(op), *path = patch_op_path(op);
        if (strcmp(o, kind) != 0)
            continue;
        size_t plen = strlen(path);
        for (size_t k = 1; k <= m && k < best; k++)
            if (pp->ends[k] == plen && memcmp(pp->s, path, plen) == 0)
                best = k;
    }
    return best;
}

/* Sets value at tokens below container, creating objects; steals value. */
static enum mla_code patch_set_inside(cJSON *container, const char *const *tokens, size_t n,
                                      cJSON *value, struct mla_err *err)
{
    cJSON *node = container;
    for (size_t i = 0; i + 1 < n; i++) {
        cJSON *next = cJSON_IsObject(node) ? mla__adm_get(node, tokens[i])
                                           : NULL;
        if (!next) {
            if (!cJSON_IsObject(node)) {
                cJSON_Delete(value);
                return mla_err_set(err, MLA_EINVAL, "patch path crosses a non-object at '%s'",
                                   tokens[i]);
            }
            next = cJSON_AddObjectToObject(node, tokens[i]);
        }
        node = next;
    }
    if (!cJSON_IsObject(node)) {
        cJSON_Delete(value);
        return mla_err_set(err, MLA_EINVAL, "patch path crosses a non-object at '%s'",
                           tokens[n - 1]);
    }
    if (mla__adm_get(node, tokens[n - 1]))
        cJSON_ReplaceItemInObjectCaseSensitive(node, tokens[n - 1], value);
    else
        cJSON_AddItemToObject(node, tokens[n - 1], value);
    return MLA_OK;
}

static enum mla_code patch_setv_path(struct mla_patch *p, cJSON *value, const char *const *tokens,
                                     size_t n, struct patch_path *pp, struct mla_err *err);

enum mla_code mla_patch_setv(struct mla_patch *p, cJSON *value, const char *const *tokens,
                             size_t n, struct mla_err *err)
{
    if (!value)
        return mla_err_set(err, MLA_EINVAL, "patch value is missing");
    if (n == 0) {
        cJSON_Delete(value);
        return mla_err_set(err, MLA_EINVAL, "patch path is empty");
    }
    struct patch_path pp;
    patch_path_init(&pp, tokens, n);
    enum mla_code rc = patch_setv_path(p, value, tokens, n, &pp, err);
    patch_path_fini(&pp);
    return rc;
}

static enum mla_code patch_setv_path(struct mla_patch *p, cJSON *value, const char *const *tokens,
                                     size_t n, struct patch_path *pp, struct mla_err *err)
{
    size_t depth = 0;
    cJSON *pending = patch_pending_parent(p, pp, &depth);
    if (pending)
        return patch_set_inside(patch_op_value(pending),
                                tokens + depth, n - depth, value, err);

    /* Walk the document to the deepest existing member; below a path an earlier op removed,
     * nothing exists any more (found by tests/fuzz/patch.c: a replace there did not apply). */
    const cJSON *node = p->doc;
    size_t k = 0, gone = patch_op_depth(p, pp, "remove");
    for (; node && k < n && k + 1 < gone; k++) {
        const cJSON *child = patch_child(node, tokens[k]);
        if (!child)
            break;
        node = child;
    }
    if (k == n) {
        if (cJSON_Compare(node, value, 1)) {
            cJSON_Delete(value);
            return MLA_OK;
        }
        patch_push(p, "replace", pp, n, value);
        return MLA_OK;
    }
    /* RFC 6902 add into an array: "-" or an index equal to the size appends. */
    bool append = cJSON_IsArray(node) && k == n - 1 &&
                  (strcmp(tokens[k], "-") == 0 ||
                   patch_index(tokens[k]) == (long)cJSON_GetArraySize(node));
    if (node && !cJSON_IsObject(node) && !append) {
        cJSON_Delete(value);
        return mla_err_set(err, MLA_EINVAL, "patch path crosses a %s at '%s'",
                           cJSON_IsArray(node) ? "missing array element" : "scalar", tokens[k]);
    }
    if (!p->doc && k == 0 && n == 0) {
        cJSON_Delete(value);
        return mla_err_set(err, MLA_EINVAL, "patch path is empty");
    }
    /* tokens[k] is missing under an existing object: add it, with the rest nested inside. */
    cJSON *wrapped = value;
    enum mla_code rc;
    if (k + 1 < n) {
        wrapped = cJSON_CreateObject();
        rc = patch_set_inside(wrapped, tokens + k + 1, n - k - 1, value, err);
        if (rc != MLA_OK) {
            cJSON_Delete(wrapped);
            return rc;
        }
    }
    patch_push(p, "add", pp, k + 1, wrapped);
    return MLA_OK;
}

static size_t patch_collect(va_list ap, const char **tokens)
{
    size_t n = 0;
    const char *t;
    while ((t = va_arg(ap, const char *)) && n < PATCH_MAX_DEPTH)
        tokens[n++] = t;
    return n;
}

enum mla_code mla_patch_set(struct mla_patch *p, cJSON *value, struct mla_err *err, ...)
{
    const char *tokens[PATCH_MAX_DEPTH];
    va_list ap;
    va_start(ap, err);
    size_t n = patch_collect(ap, tokens);
    va_end(ap);
    return mla_patch_setv(p, value, tokens, n, err);
}

enum mla_code mla_patch_set_str(struct mla_patch *p, const char *value, struct mla_err *err, ...)
{
    const char *tokens[PATCH_MAX_DEPTH];
    va_list ap;
    va_start(ap, err);
    size_t n = patch_collect(ap, tokens);
    va_end(ap);
    return mla_patch_setv(p, cJSON_CreateString(value), tokens, n, err);
}

static enum mla_code patch_removev_path(struct mla_patch *p, const char *const *tokens, size_t n,
                                        struct patch_path *pp, struct mla_err *err);

enum mla_code mla_patch_removev(struct mla_patch *p, const char *const *tokens, size_t n,
                                struct mla_err *err)
{
    if (n == 0)
        return mla_err_set(err, MLA_EINVAL, "patch path is empty");
    /* Ops so far come first (found by tests/fuzz/patch.c: a remove under a member an earlier
     * op replaced did not apply): below a pending add/replace, remove inside its value; a
     * member an earlier op removed is gone; one an earlier op added exists. */
    struct patch_path pp;
    patch_path_init(&pp, tokens, n);
    enum mla_code rc = patch_removev_path(p, tokens, n, &pp, err);
    patch_path_fini(&pp);
    return rc;
}

static enum mla_code patch_removev_path(struct mla_patch *p, const char *const *tokens, size_t n,
                                        struct patch_path *pp, struct mla_err *err)
{
    size_t depth = 0;
    cJSON *pending = patch_pending_parent(p, pp, &depth);
    if (pending) {
        cJSON *node = patch_op_value(pending);
        for (size_t i = depth; node && i + 1 < n; i++)
            node = cJSON_IsObject(node) ? mla__adm_get(node, tokens[i])
                                        : NULL;
        if (cJSON_IsObject(node))
            cJSON_DeleteItemFromObjectCaseSensitive(node, tokens[n - 1]);
        return MLA_OK;
    }
    if (patch_op_depth(p, pp, "remove") <= n)
        return MLA_OK;
    /* Members only: removing an array element shifts the indices that later ops were computed
     * against (found by tests/fuzz/patch.c: "remove /a/0" then "add /a/1" did not apply). */
    if (cJSON_IsArray(n > 1 ? mla_patch_get(p->doc, tokens, n - 1) : p->doc))
        return mla_err_set(err, MLA_EINVAL, "patch cannot remove an array element ('%s')",
                           tokens[n - 1]);
    if (mla_patch_get(p->doc, tokens, n) || patch_op_depth(p, pp, "add") == n ||
        patch_op_depth(p, pp, "replace") == n)
        patch_push(p, "remove", pp, n, NULL);
    return MLA_OK;
}

enum mla_code mla_patch_remove(struct mla_patch *p, struct mla_err *err, ...)
{
    const char *tokens[PATCH_MAX_DEPTH];
    va_list ap;
    va_start(ap, err);
    size_t n = patch_collect(ap, tokens);
    va_end(ap);
    return mla_patch_removev(p, tokens, n, err);
}
