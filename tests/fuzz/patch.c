/* fuzz/patch.c - the JSON Patch builder on an arbitrary document: the input is a JSON document,
 * a NUL byte, then ops, one a line: "s /a/b VALUE" sets the path to a string value, "j /a/b
 * JSON" to a JSON value, "r /a/b" removes it (path tokens split at '/', unescaped). Whatever ops
 * were accepted must apply in order to the document (checked with a small RFC 6902 applier):
 * the builder's promise that kube-apiserver can apply its patch. */
#include <cjson/cJSON.h>

#include "fuzz.h"
#include "mla/patch.h"

/* Resolves a JSON Pointer for the applier: the parent container and the last token. */
static cJSON *fz_parent(cJSON *doc, const char *path, char *last, size_t n)
{
    if (path[0] != '/')
        return NULL;
    cJSON *cur = doc;
    const char *p = path + 1;
    for (;;) {
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char tok[512];
        size_t k = 0;
        for (size_t i = 0; i < len && k + 1 < sizeof tok; i++) {
            if (p[i] == '~' && i + 1 < len && (p[i + 1] == '0' || p[i + 1] == '1')) {
                tok[k++] = p[i + 1] == '0' ? '~' : '/';
                i++;
            } else {
                tok[k++] = p[i];
            }
        }
        tok[k] = '\0';
        if (!e) {
            snprintf(last, n, "%s", tok);
            return cur;
        }
        if (cJSON_IsObject(cur))
            cur = cJSON_GetObjectItemCaseSensitive(cur, tok);
        else if (cJSON_IsArray(cur))
            cur = cJSON_GetArrayItem(cur, (int)strtol(tok, NULL, 10));
        else
            return NULL;
        if (!cur)
            return NULL;
        p = e + 1;
    }
}

/* A deep copy by print and parse: cJSON_Duplicate of the libcjson in use (1.7.15) leaves each
 * copied container's first child without its prev link (the link to the last item), and later
 * appends, inserts and replaces on such a copy fail or drop the item (a leak, then a false
 * "does not apply"). */
static cJSON *fz_copy(const cJSON *v)
{
    char *s = cJSON_PrintUnformatted(v);
    cJSON *c = s ? cJSON_Parse(s) : NULL;
    free(s);
    if (!c)
        abort();
    return c;
}

/* Inserts item before index i (at the end when i is the size). By hand: the libcjson in use
 * (Debian's 1.7.15) returns false from cJSON_InsertItemInArray for any index above 0 and keeps
 * nothing, which made valid "add /a/1" ops look inapplicable and leaked the item. */
static void fz_insert(cJSON *arr, int i, cJSON *item)
{
    cJSON *at = cJSON_GetArrayItem(arr, i);
    if (!at) {
        cJSON_AddItemToArray(arr, item);
        return;
    }
    item->next = at;
    item->prev = at->prev;
    if (at == arr->child)
        arr->child = item;
    else
        at->prev->next = item;
    at->prev = item;
}

/* Applies one op; false when RFC 6902 says it fails. */
static bool fz_apply(cJSON *doc, const cJSON *op)
{
    const char *o = cJSON_GetStringValue(cJSON_GetObjectItem(op, "op"));
    const char *path = cJSON_GetStringValue(cJSON_GetObjectItem(op, "path"));
    if (!o || !path)
        return false;
    char last[512];
    cJSON *par = fz_parent(doc, path, last, sizeof last);
    if (!par)
        return false;
    const cJSON *val = cJSON_GetObjectItem(op, "value");
    if (cJSON_IsObject(par)) {
        bool has = cJSON_GetObjectItemCaseSensitive(par, last) != NULL;
        if (!strcmp(o, "remove") || !strcmp(o, "replace")) {
            if (!has)
                return false;
            cJSON_DeleteItemFromObjectCaseSensitive(par, last);
            if (!strcmp(o, "remove"))
                return true;
        } else if (has) {
            cJSON_DeleteItemFromObjectCaseSensitive(par, last);
        }
        if (!val)
            return false;
        cJSON_AddItemToObject(par, last, fz_copy(val));
        return true;
    }
    if (cJSON_IsArray(par)) {
        int sz = cJSON_GetArraySize(par);
        if (!strcmp(last, "-") && !strcmp(o, "add") && val) {
            cJSON_AddItemToArray(par, fz_copy(val));
            return true;
        }
        char *end;
        long i = strtol(last, &end, 10);
        if (!*last || *end || i < 0 || i > sz || (i == sz && strcmp(o, "add")))
            return false;
        if (!strcmp(o, "remove")) {
            cJSON_DeleteItemFromArray(par, (int)i);
            return true;
        }
        if (!val)
            return false;
        cJSON *dup = fz_copy(val);
        if (strcmp(o, "replace")) {
            fz_insert(par, (int)i, dup);
            return true;
        }
        if (!cJSON_ReplaceItemInArray(par, (int)i, dup)) {
            cJSON_Delete(dup);
            return false;
        }
        return true;
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t dl = strnlen((const char *)data, size);
    cJSON *doc = cJSON_ParseWithLength((const char *)data, dl);
    if (!doc)
        return 0;
    char *ops = fz_str(data + (dl < size ? dl + 1 : dl), dl < size ? size - dl - 1 : 0);
    struct mla_patch p;
    mla_patch_init(&p, doc);
    for (char *line = ops; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        char kind = line[0];
        char *path = line[0] && line[1] == ' ' ? line + 2 : NULL;
        char *arg = path ? strchr(path, ' ') : NULL;
        if (arg)
            *arg++ = '\0';
        if (path && *path == '/') {
            const char *tok[32];
            size_t n = 0;
            for (char *t = path + 1; t && n < 32;) {
                tok[n++] = t;
                char *sl = strchr(t, '/');
                if (sl)
                    *sl++ = '\0';
                t = sl;
            }
            if (kind == 'r') {
                (void)mla_patch_removev(&p, tok, n, NULL);
            } else if (kind == 's' && arg) {
                (void)mla_patch_setv(&p, cJSON_CreateString(arg), tok, n, NULL);
            } else if (kind == 'j' && arg) {
                cJSON *v = cJSON_Parse(arg);
                if (v)
                    (void)mla_patch_setv(&p, v, tok, n, NULL);
            }
        }
        line = nl ? nl + 1 : NULL;
    }
    cJSON *out = mla_patch_take(&p);
    cJSON *applied = fz_copy(doc);
    for (const cJSON *op = out->child; op; op = op->next)
        if (!fz_apply(applied, op))
            abort(); /* the builder emitted an op that does not apply */
    cJSON_Delete(applied);
    cJSON_Delete(out);
    mla_patch_fini(&p);
    cJSON_Delete(doc);
    free(ops);
    return 0;
}
