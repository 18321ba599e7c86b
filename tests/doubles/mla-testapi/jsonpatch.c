/* jsonpatch.c - RFC 6902 JSON Patch for mla-testapi's PATCH with application/json-patch+json.
 *
 * kube-apiserver accepts JSON Patch on every resource (and it is the only patch besides merge
 * patch and apply that custom resources take), so a client may use it; the test server must
 * not answer 415 where a cluster answers 200. Pointers follow RFC 6901 (~0, ~1, "-").
 */
#include "crd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mla/mem.h"

#define JP_MAX_DEPTH 64

/* Splits a JSON pointer into unescaped tokens (new strings in tok[], *n of them). */
static bool jp_split(const char *ptr, char **tok, int *n)
{
    *n = 0;
    if (!*ptr)
        return true;
    if (*ptr != '/')
        return false;
    const char *p = ptr + 1;
    for (;;) {
        if (*n == JP_MAX_DEPTH)
            return false;
        const char *sl = strchr(p, '/');
        size_t len = sl ? (size_t)(sl - p) : strlen(p);
        char *t = mla_xmalloc(len + 1);
        size_t o = 0;
        for (size_t i = 0; i < len; i++) {
            if (p[i] == '~' && i + 1 < len && (p[i + 1] == '0' || p[i + 1] == '1')) {
                t[o++] = p[i + 1] == '0' ? '~' : '/';
                i++;
            } else if (p[i] == '~') {
                free(t);
                return false;
            } else {
                t[o++] = p[i];
            }
        }
        t[o] = '\0';
        tok[(*n)++] = t;
        if (!sl)
            return true;
        p = sl + 1;
    }
}

static void jp_free(char **tok, int n)
{
    for (int i = 0; i < n; i++)
        free(tok[i]);
}

/* An array index token: digits only, no leading zero; -1 when not one. */
static long jp_index(const char *t)
{
    if (!*t || (t[0] == '0' && t[1]) || strspn(t, "0123456789") != strlen(t))
        return -1;
    errno = 0;
    long v = strtol(t, NULL, 10);
    return errno ? -1 : v;
}

static cJSON *jp_child(cJSON *c, const char *t)
{
    if (cJSON_IsObject(c))
        return cJSON_GetObjectItemCaseSensitive(c, t);
    if (cJSON_IsArray(c)) {
        long i = jp_index(t);
        return i < 0 ? NULL : cJSON_GetArrayItem(c, (int)i);
    }
    return NULL;
}

/* The container the last token lives in, or NULL. */
static cJSON *jp_parent(cJSON *doc, char **tok, int n)
{
    cJSON *c = doc;
    for (int i = 0; i < n - 1 && c; i++)
        c = jp_child(c, tok[i]);
    return c;
}

/* kube-apiserver answers a patch that does not apply with 422 and a fixed message, without
 * the detail (evanphx/json-patch's words, formatted here only for the 400s). */
static cJSON *jp_fail(long code, const char *fmt, const char *a, const char *b)
{
    char detail[768], msg[1024];
    snprintf(detail, sizeof detail, fmt, a, b ? b : "");
    if (code == 422) {
        snprintf(msg, sizeof msg, "the server rejected our request due to an error in our "
                 "request");
        cJSON *st = ta_strict_status(422, "Invalid", msg);
        cJSON_AddItemToObject(st, "details", cJSON_CreateObject());
        return st;
    }
    snprintf(msg, sizeof msg, "error decoding patch: %s", detail);
    return ta_strict_status(code, "BadRequest", msg);
}

/* add `v` (stolen) at tok; NULL or a Status. */
static cJSON *jp_add(cJSON *doc, char **tok, int n, cJSON *v, const char *path)
{
    cJSON *par = n ? jp_parent(doc, tok, n) : NULL;
    if (!par) {
        cJSON_Delete(v);
        return jp_fail(422, "add operation does not apply: doc is missing path: \"%s\"%s", path,
                       NULL);
    }
    const char *last = tok[n - 1];
    if (cJSON_IsObject(par)) {
        if (cJSON_GetObjectItemCaseSensitive(par, last))
            cJSON_ReplaceItemInObjectCaseSensitive(par, last, v); /* par takes v */
        else
            cJSON_AddItemToObject(par, last, v); /* par takes v */
        return NULL;
    }
    if (cJSON_IsArray(par)) {
        int size = cJSON_GetArraySize(par);
        long i = strcmp(last, "-") ? jp_index(last) : size;
        if (i < 0 || i > size) {
            cJSON_Delete(v);
            return jp_fail(422, "add operation does not apply: index out of bounds: \"%s\"%s",
                           path, NULL);
        }
        if (i == size)
            cJSON_AddItemToArray(par, v); /* par takes v */
        else
            cJSON_InsertItemInArray(par, (int)i, v); /* par takes v */
        return NULL;
    }
    cJSON_Delete(v);
    return jp_fail(422, "add operation does not apply: doc is missing path: \"%s\"%s", path, NULL);
}

/* Detaches the value at tok (new, the caller owns it) or NULL. */
static cJSON *jp_detach(cJSON *doc, char **tok, int n)
{
    cJSON *par = n ? jp_parent(doc, tok, n) : NULL;
    cJSON *c = par ? jp_child(par, tok[n - 1]) : NULL;
    return c ? cJSON_DetachItemViaPointer(par, c) : NULL;
}

static cJSON *jp_op(cJSON *doc, const cJSON *op)
{
    const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(op, "op"));
    const char *path = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(op, "path"));
    const char *from = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(op, "from"));
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(op, "value");
    if (!kind || !path)
        return jp_fail(400, "the JSON Patch operation needs \"op\" and \"path\"%s%s", "", NULL);
    char *tok[JP_MAX_DEPTH], *ftok[JP_MAX_DEPTH];
    int n = 0, fn = 0;
    if (!jp_split(path, tok, &n)) {
        jp_free(tok, n);
        return jp_fail(400, "invalid JSON pointer \"%s\"%s", path, NULL);
    }
    cJSON *st = NULL;
    if (n == 0) {
        st = jp_fail(422, "%s operation on the whole object is not supported: \"%s\"", kind, path);
    } else if (!strcmp(kind, "add")) {
        st = value ? jp_add(doc, tok, n, cJSON_Duplicate(value, 1), path)
                   : jp_fail(400, "add operation needs a value: \"%s\"%s", path, NULL);
    } else if (!strcmp(kind, "remove")) {
        cJSON *old = jp_detach(doc, tok, n);
        if (!old)
            st = jp_fail(422, "remove operation does not apply: doc is missing path: \"%s\"%s",
                         path, NULL);
        cJSON_Delete(old);
    } else if (!strcmp(kind, "replace")) {
        cJSON *old = jp_detach(doc, tok, n);
        if (!old)
            st = jp_fail(422, "replace operation does not apply: doc is missing key: %s%s", path,
                         NULL);
        else if (!value)
            st = jp_fail(400, "replace operation needs a value: \"%s\"%s", path, NULL);
        else
            st = jp_add(doc, tok, n, cJSON_Duplicate(value, 1), path);
        cJSON_Delete(old);
    } else if (!strcmp(kind, "test")) {
        cJSON *par = jp_parent(doc, tok, n);
        cJSON *have = par ? jp_child(par, tok[n - 1]) : NULL;
        if (!have || !value || !cJSON_Compare(have, value, 1))
            st = jp_fail(422, "testing value %s failed: test failed%s", path, NULL);
    } else if (!strcmp(kind, "move") || !strcmp(kind, "copy")) {
        if (!from || !jp_split(from, ftok, &fn)) {
            st = jp_fail(400, "%s operation needs a valid \"from\"%s", kind, NULL);
        } else if (!strcmp(kind, "move")) {
            cJSON *v = jp_detach(doc, ftok, fn);
            st = v ? jp_add(doc, tok, n, v, path)
                   : jp_fail(422, "move operation does not apply: doc is missing from path: "
                                  "\"%s\"%s", from, NULL);
        } else {
            cJSON *par = jp_parent(doc, ftok, fn);
            cJSON *v = par && fn ? jp_child(par, ftok[fn - 1]) : NULL;
            st = v ? jp_add(doc, tok, n, cJSON_Duplicate(v, 1), path)
                   : jp_fail(422, "copy operation does not apply: doc is missing from path: "
                                  "\"%s\"%s", from, NULL);
        }
        jp_free(ftok, fn);
    } else {
        st = jp_fail(400, "Unexpected kind: %s%s", kind, NULL);
    }
    jp_free(tok, n);
    return st;
}

cJSON *ta_jsonpatch_apply(cJSON *target, const cJSON *ops)
{
    if (!cJSON_IsArray(ops))
        return ta_strict_status(400, "BadRequest", "error decoding patch: json: cannot unmarshal "
                                                   "object into Go value of type "
                                                   "[]handlers.jsonPatchOp");
    const cJSON *op;
    cJSON_ArrayForEach(op, ops)
    {
        if (!cJSON_IsObject(op))
            return ta_strict_status(400, "BadRequest", "a JSON Patch operation is not an object");
        cJSON *st = jp_op(target, op);
        if (st)
            return st;
    }
    return NULL;
}

cJSON *ta_patch_type_check(const char *prefix, const char *plural, const char *ctype)
{
    static const char *const types[] = {"application/json-patch+json",
                                        "application/merge-patch+json",
                                        "application/strategic-merge-patch+json",
                                        "application/apply-patch+yaml"};
    bool custom = ta_crd_known(prefix, plural);
    for (size_t i = 0; ctype && i < sizeof types / sizeof types[0]; i++) {
        size_t n = strlen(types[i]);
        if (!strncmp(ctype, types[i], n) && (!ctype[n] || ctype[n] == ';' || ctype[n] == ' ') &&
            !(custom && i == 2))
            return NULL;
    }
    char msg[512];
    snprintf(msg, sizeof msg, "the body of the request was in an unknown format - accepted media "
             "types include: application/json-patch+json, application/merge-patch+json, %s"
             "application/apply-patch+yaml",
             custom ? "" : "application/strategic-merge-patch+json, ");
    return ta_strict_status(415, "UnsupportedMediaType", msg);
}
