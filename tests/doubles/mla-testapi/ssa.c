/* ssa.c - server-side apply with several field managers, managedFields, and list pagination
 * for mla-testapi (see ssa.h). The semantics follow kube-apiserver's structured-merge-diff where
 * ml-autoscaling relies on them: the worker (field manager ml-autoscaling) and the predictive
 * loop (ml-autoscaling-loop) apply the same ScaledObject, and what one stops applying must stay
 * when the other owns it and go when nobody does.
 */
#include "ssa.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "mla/buf.h"
#include "mla/kube.h"
#include "mla/mem.h"

#include "crd.h"

/* ------------------------------------------------------------------ field sets */

/* Members the API server owns: never part of a manager's set. */
static bool ssa_system(const cJSON *parent_path, const char *key)
{
    static const char *const top[] = {"apiVersion", "kind", "status"};
    static const char *const meta[] = {"name", "namespace", "uid", "resourceVersion",
                                       "creationTimestamp", "generation", "managedFields",
                                       "deletionTimestamp", "selfLink"};
    int depth = cJSON_GetArraySize(parent_path);
    if (depth == 0) {
        for (size_t i = 0; i < sizeof top / sizeof top[0]; i++)
            if (!strcmp(key, top[i]))
                return true;
        return false;
    }
    const char *p0 = cJSON_GetArrayItem(parent_path, 0)->valuestring;
    if (depth == 1 && !strcmp(p0, "f:metadata"))
        for (size_t i = 0; i < sizeof meta / sizeof meta[0]; i++)
            if (!strcmp(key, meta[i]))
                return true;
    return false;
}

static char *ssa_uid_key(const char *uid)
{
    return mla_xasprintf("k:{\"uid\":\"%s\"}", uid);
}

static cJSON *ssa_child(cJSON *node, const char *key)
{
    cJSON *c = cJSON_GetObjectItemCaseSensitive(node, key);
    if (!c)
        c = cJSON_AddObjectToObject(node, key);
    return c;
}

static bool ssa_is_owner_refs(const cJSON *path, const char *key)
{
    return cJSON_GetArraySize(path) == 1 &&
           !strcmp(cJSON_GetArrayItem(path, 0)->valuestring, "f:metadata") &&
           !strcmp(key, "ownerReferences");
}

/* Adds the leaves of `v` (member `key` of an object at `path`) to `set`. */
static void ssa_fields_into(cJSON *set, cJSON *path, const char *key, const cJSON *v)
{
    if (ssa_system(path, key) || cJSON_IsNull(v))
        return;
    char *fk = mla_xasprintf("f:%s", key);
    if (cJSON_IsObject(v) && v->child) {
        cJSON *node = ssa_child(set, fk);
        cJSON_AddItemToArray(path, cJSON_CreateString(fk));
        const cJSON *c;
        cJSON_ArrayForEach(c, v)
        {
            ssa_fields_into(node, path, c->string, c);
        }
        cJSON_DeleteItemFromArray(path, cJSON_GetArraySize(path) - 1);
        if (!node->child) /* only system members: nothing owned */
            cJSON_DeleteItemFromObjectCaseSensitive(set, fk);
    } else if (cJSON_IsArray(v) && ssa_is_owner_refs(path, key)) {
        cJSON *node = ssa_child(set, fk);
        const cJSON *r;
        cJSON_ArrayForEach(r, v)
        {
            const char *uid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "uid"));
            if (!uid)
                continue;
            char *k = ssa_uid_key(uid);
            ssa_child(node, k);
            free(k);
        }
    } else {
        ssa_child(set, fk);
    }
    free(fk);
}

/* The field set of a whole object (or apply configuration). New. */
static cJSON *ssa_fields(const cJSON *obj)
{
    cJSON *set = cJSON_CreateObject();
    cJSON *path = cJSON_CreateArray();
    const cJSON *c;
    cJSON_ArrayForEach(c, obj)
    {
        ssa_fields_into(set, path, c->string, c);
    }
    cJSON_Delete(path);
    return set;
}

/* Appends every leaf path of `set` (arrays of keys) to `out`. */
static void ssa_leaves(const cJSON *set, cJSON *prefix, cJSON *out)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, set)
    {
        if (!strcmp(c->string, "."))
            continue;
        cJSON_AddItemToArray(prefix, cJSON_CreateString(c->string));
        if (c->child)
            ssa_leaves(c, prefix, out);
        else
            cJSON_AddItemToArray(out, cJSON_Duplicate(prefix, 1));
        cJSON_DeleteItemFromArray(prefix, cJSON_GetArraySize(prefix) - 1);
    }
}

static cJSON *ssa_leaf_list(const cJSON *set)
{
    cJSON *out = cJSON_CreateArray();
    cJSON *prefix = cJSON_CreateArray();
    ssa_leaves(set, prefix, out);
    cJSON_Delete(prefix);
    return out;
}

static bool ssa_set_has(const cJSON *set, const cJSON *path)
{
    const cJSON *n = set;
    const cJSON *k;
    cJSON_ArrayForEach(k, path)
    {
        n = cJSON_GetObjectItemCaseSensitive(n, k->valuestring);
        if (!n)
            return false;
    }
    return n->child == NULL; /* a leaf, not just a prefix of other leaves */
}

static void ssa_set_add(cJSON *set, const cJSON *path)
{
    cJSON *n = set;
    const cJSON *k;
    cJSON_ArrayForEach(k, path)
    {
        n = ssa_child(n, k->valuestring);
    }
}

/* Removes a leaf and the parents it leaves empty. */
static bool ssa_set_del_at(cJSON *node, const cJSON *k)
{
    if (!k)
        return true;
    cJSON *c = cJSON_GetObjectItemCaseSensitive(node, k->valuestring);
    if (!c)
        return false;
    if (ssa_set_del_at(c, k->next) && !c->child)
        cJSON_DeleteItemFromObjectCaseSensitive(node, k->valuestring);
    return true;
}

static void ssa_set_del(cJSON *set, const cJSON *path)
{
    (void)ssa_set_del_at(set, path->child);
}

/* The value at `path` in an object (borrowed), or NULL. */
static cJSON *ssa_value(const cJSON *obj, const cJSON *path, cJSON **parent)
{
    cJSON *n = (cJSON *)obj, *up = NULL;
    const cJSON *k;
    cJSON_ArrayForEach(k, path)
    {
        const char *s = k->valuestring;
        up = n;
        if (!strncmp(s, "f:", 2)) {
            n = cJSON_GetObjectItemCaseSensitive(n, s + 2);
        } else if (!strncmp(s, "k:", 2) && cJSON_IsArray(n)) {
            cJSON *it, *found = NULL;
            cJSON_ArrayForEach(it, n)
            {
                const char *uid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "uid"));
                char *want = uid ? ssa_uid_key(uid) : NULL;
                if (want && !strcmp(want, s))
                    found = it;
                free(want);
            }
            n = found;
        } else {
            n = NULL;
        }
        if (!n)
            return NULL;
    }
    if (parent)
        *parent = up;
    return n;
}

static void ssa_remove_value(cJSON *obj, const cJSON *path)
{
    cJSON *parent = NULL;
    cJSON *v = ssa_value(obj, path, &parent);
    if (!v || !parent)
        return;
    if (cJSON_IsArray(parent))
        cJSON_Delete(cJSON_DetachItemViaPointer(parent, v));
    else
        cJSON_DeleteItemFromObjectCaseSensitive(parent, v->string);
}

/* After a removal: the maps it left empty go too (their "." is owned with the fields applied
 * in them, as kube-apiserver records it), up to metadata and spec themselves. */
static void ssa_prune_up(cJSON *obj, const cJSON *path)
{
    cJSON *prefix = cJSON_Duplicate(path, 1);
    while (cJSON_GetArraySize(prefix) > 1) {
        cJSON_DeleteItemFromArray(prefix, cJSON_GetArraySize(prefix) - 1);
        cJSON *v = ssa_value(obj, prefix, NULL);
        if (!cJSON_IsObject(v) || v->child)
            break;
        ssa_remove_value(obj, prefix);
    }
    cJSON_Delete(prefix);
}

/* ".spec.minReplicaCount" for messages. */
static void ssa_path_str(const cJSON *path, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    const cJSON *k;
    cJSON_ArrayForEach(k, path)
    {
        const char *s = k->valuestring;
        int w = snprintf(buf + len, n - len, "%s%s", !strncmp(s, "f:", 2) ? "." : "",
                         !strncmp(s, "f:", 2) ? s + 2 : s + 1);
        if (w < 0 || (size_t)w >= n - len)
            break;
        len += (size_t)w;
    }
}

/* ------------------------------------------------------------------ merge */

static void ssa_merge_refs(cJSON *target, const cJSON *refs)
{
    const cJSON *r;
    cJSON_ArrayForEach(r, refs)
    {
        const char *uid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "uid"));
        cJSON *it, *same = NULL;
        cJSON_ArrayForEach(it, target)
        {
            const char *u = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "uid"));
            if (uid && u && !strcmp(u, uid))
                same = it;
        }
        if (same)
            cJSON_ReplaceItemViaPointer(target, same, cJSON_Duplicate(r, 1));
        else
            cJSON_AddItemToArray(target, cJSON_Duplicate(r, 1));
    }
}

static void ssa_merge(cJSON *target, const cJSON *cfg, bool meta)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, cfg)
    {
        if (cJSON_IsNull(c) || !strcmp(c->string, "managedFields"))
            continue;
        cJSON *t = cJSON_GetObjectItemCaseSensitive(target, c->string);
        if (cJSON_IsObject(c) && cJSON_IsObject(t)) {
            ssa_merge(t, c, false);
        } else if (meta && !strcmp(c->string, "ownerReferences") && cJSON_IsArray(t) &&
                   cJSON_IsArray(c)) {
            ssa_merge_refs(t, c);
        } else {
            cJSON_DeleteItemFromObjectCaseSensitive(target, c->string);
            cJSON_AddItemToObject(target, c->string, cJSON_Duplicate(c, 1));
        }
    }
}

static void ssa_merge_top(cJSON *obj, const cJSON *cfg)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, cfg)
    {
        cJSON *t = cJSON_GetObjectItemCaseSensitive(obj, c->string);
        if (!strcmp(c->string, "metadata") && cJSON_IsObject(c) && cJSON_IsObject(t))
            ssa_merge(t, c, true);
        else if (cJSON_IsObject(c) && cJSON_IsObject(t))
            ssa_merge(t, c, false);
        else if (!cJSON_IsNull(c)) {
            cJSON_DeleteItemFromObjectCaseSensitive(obj, c->string);
            cJSON_AddItemToObject(obj, c->string, cJSON_Duplicate(c, 1));
        }
    }
}

/* ------------------------------------------------------------------ managers */

static void ssa_now(char *out, size_t n)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    mla_kube_time_format(out, n, (double)tv.tv_sec, false);
}

static cJSON *ssa_entry_set(cJSON *managers, const char *mgr, const char *op, bool create)
{
    cJSON *e = cJSON_GetObjectItemCaseSensitive(managers, mgr);
    if (!e && !create)
        return NULL;
    if (!e)
        e = cJSON_AddObjectToObject(managers, mgr);
    char ts[40];
    ssa_now(ts, sizeof ts);
    cJSON_DeleteItemFromObjectCaseSensitive(e, "operation");
    cJSON_AddStringToObject(e, "operation", op);
    cJSON_DeleteItemFromObjectCaseSensitive(e, "time");
    cJSON_AddStringToObject(e, "time", ts);
    cJSON *set = cJSON_GetObjectItemCaseSensitive(e, "set");
    if (!set)
        set = cJSON_AddObjectToObject(e, "set");
    return set;
}

/* Drops managers whose set became empty (kube-apiserver removes such entries). */
static void ssa_prune(cJSON *managers)
{
    cJSON *e = managers->child;
    while (e) {
        cJSON *next = e->next;
        const cJSON *set = cJSON_GetObjectItemCaseSensitive(e, "set");
        if (!set || !set->child)
            cJSON_Delete(cJSON_DetachItemViaPointer(managers, e));
        e = next;
    }
}

/* Conflicts of `mgr` applying `cfg`: [[manager, path, manager as printed]...]. New. */
static cJSON *ssa_conflicts(const cJSON *obj, const cJSON *managers, const char *mgr,
                            const cJSON *cfg, const cJSON *leaves, const char *api_version)
{
    cJSON *out = cJSON_CreateArray();
    const cJSON *p;
    cJSON_ArrayForEach(p, leaves)
    {
        const cJSON *e;
        cJSON_ArrayForEach(e, managers)
        {
            if (!strcmp(e->string, mgr) ||
                !ssa_set_has(cJSON_GetObjectItemCaseSensitive(e, "set"), p))
                continue;
            const cJSON *have = ssa_value(obj, p, NULL);
            const cJSON *want = ssa_value(cfg, p, NULL);
            if (have && want && cJSON_Compare(have, want, 1))
                continue; /* same value: shared ownership, no conflict */
            /* as kube-apiserver prints the manager: an Apply manager by name, an Update one
             * "using" its apiVersion "at" its time */
            const char *op = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "operation"));
            const char *ts = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "time"));
            char who[512];
            if (op && !strcmp(op, "Update"))
                snprintf(who, sizeof who, "\"%s\" using %s at %s", e->string, api_version,
                         ts ? ts : "");
            else
                snprintf(who, sizeof who, "\"%s\"", e->string);
            cJSON *c = cJSON_CreateArray();
            cJSON_AddItemToArray(c, cJSON_CreateString(e->string));
            cJSON_AddItemToArray(c, cJSON_Duplicate(p, 1));
            cJSON_AddItemToArray(c, cJSON_CreateString(who));
            cJSON_AddItemToArray(out, c);
        }
    }
    return out;
}

static cJSON *ssa_conflict_status(const cJSON *conflicts)
{
    struct mla_buf b;
    mla_buf_init(&b, 0);
    int n = cJSON_GetArraySize(conflicts);
    enum mla_code rc = mla_buf_addf(&b, "Apply failed with %d conflict%s:", n, n == 1 ? "" : "s");
    const cJSON *c;
    cJSON_ArrayForEach(c, conflicts)
    {
        char path[512];
        ssa_path_str(cJSON_GetArrayItem(c, 1), path, sizeof path);
        rc = rc || mla_buf_addf(&b, " conflict with %s: %s%s",
                                cJSON_GetArrayItem(c, 2)->valuestring, path, c->next ? ";" : "");
    }
    (void)rc; /* an uncapped buffer cannot fail */
    cJSON *s = ta_strict_status(409, "Conflict", mla_buf_str(&b));
    mla_buf_fini(&b);
    return s;
}

long ta_ssa_apply(cJSON *obj, cJSON *managers, const char *mgr, const char *api_version,
                  const cJSON *cfg, bool force, cJSON **out)
{
    cJSON *newset = ssa_fields(cfg);
    cJSON *leaves = ssa_leaf_list(newset);
    cJSON *conflicts = ssa_conflicts(obj, managers, mgr, cfg, leaves, api_version);
    if (cJSON_GetArraySize(conflicts) > 0 && !force) {
        *out = ssa_conflict_status(conflicts);
        cJSON_Delete(conflicts);
        cJSON_Delete(leaves);
        cJSON_Delete(newset);
        return 409;
    }
    const cJSON *c;
    cJSON_ArrayForEach(c, conflicts) /* force: the field changes hands */
    {
        cJSON *e = cJSON_GetObjectItemCaseSensitive(managers, cJSON_GetArrayItem(c, 0)->valuestring);
        ssa_set_del(cJSON_GetObjectItemCaseSensitive(e, "set"), cJSON_GetArrayItem(c, 1));
    }
    cJSON *mine = cJSON_GetObjectItemCaseSensitive(managers, mgr);
    cJSON *old = mine ? ssa_leaf_list(cJSON_GetObjectItemCaseSensitive(mine, "set"))
                      : cJSON_CreateArray();
    const cJSON *p;
    cJSON_ArrayForEach(p, old) /* what `mgr` no longer applies goes unless someone owns it */
    {
        if (ssa_set_has(newset, p))
            continue;
        bool shared = false;
        const cJSON *e;
        cJSON_ArrayForEach(e, managers)
        {
            if (strcmp(e->string, mgr) && ssa_set_has(cJSON_GetObjectItemCaseSensitive(e, "set"), p))
                shared = true;
        }
        if (!shared) {
            ssa_remove_value(obj, p);
            ssa_prune_up(obj, p);
        }
    }
    ssa_merge_top(obj, cfg);
    cJSON *e = cJSON_GetObjectItemCaseSensitive(managers, mgr);
    if (e)
        cJSON_DeleteItemFromObjectCaseSensitive(e, "set");
    (void)ssa_entry_set(managers, mgr, "Apply", true);
    cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(managers, mgr), "set",
                                           newset);
    ssa_prune(managers);
    cJSON_Delete(old);
    cJSON_Delete(conflicts);
    cJSON_Delete(leaves);
    return 0;
}

void ta_ssa_update(const cJSON *old, const cJSON *now, cJSON *managers, const char *mgr)
{
    cJSON *nowset = ssa_fields(now);
    cJSON *leaves = ssa_leaf_list(nowset);
    cJSON *mine = ssa_entry_set(managers, mgr, "Update", true);
    const cJSON *p;
    cJSON_ArrayForEach(p, leaves)
    {
        const cJSON *a = old ? ssa_value(old, p, NULL) : NULL;
        const cJSON *b = ssa_value(now, p, NULL);
        if (a && b && cJSON_Compare(a, b, 1))
            continue; /* unchanged: ownership stays where it is */
        const cJSON *e;
        cJSON_ArrayForEach(e, managers)
        {
            if (strcmp(e->string, mgr))
                ssa_set_del(cJSON_GetObjectItemCaseSensitive(e, "set"), p);
        }
        ssa_set_add(mine, p);
    }
    cJSON *e;
    cJSON_ArrayForEach(e, managers) /* removed fields leave every set */
    {
        cJSON *set = cJSON_GetObjectItemCaseSensitive(e, "set");
        cJSON *had = ssa_leaf_list(set);
        cJSON_ArrayForEach(p, had)
        {
            if (!ssa_set_has(nowset, p))
                ssa_set_del(set, p);
        }
        cJSON_Delete(had);
    }
    ssa_prune(managers);
    cJSON_Delete(leaves);
    cJSON_Delete(nowset);
}

void ta_ssa_render(cJSON *obj, const cJSON *managers, const char *api_version)
{
    cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    if (!cJSON_IsObject(meta))
        return;
    cJSON_DeleteItemFromObjectCaseSensitive(meta, "managedFields");
    if (!managers || !managers->child)
        return;
    cJSON *list = cJSON_AddArrayToObject(meta, "managedFields");
    const cJSON *e;
    cJSON_ArrayForEach(e, managers)
    {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "manager", e->string);
        cJSON_AddItemToObject(m, "operation",
                              cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(e, "operation"), 1));
        cJSON_AddStringToObject(m, "apiVersion", api_version);
        cJSON_AddItemToObject(m, "time",
                              cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(e, "time"), 1));
        cJSON_AddStringToObject(m, "fieldsType", "FieldsV1");
        cJSON_AddItemToObject(m, "fieldsV1",
                              cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(e, "set"), 1));
        cJSON_AddItemToArray(list, m);
    }
}

const char *ta_ssa_manager(const char *field_manager, const char *user_agent, char *buf,
                           size_t n)
{
    if (field_manager && *field_manager) {
        snprintf(buf, n, "%s", field_manager);
        return buf;
    }
    const char *ua = user_agent && *user_agent ? user_agent : "unknown";
    size_t len = strcspn(ua, "/ ");
    snprintf(buf, n, "%.*s", (int)len, ua);
    return buf;
}

/* ------------------------------------------------------------------ pagination */

static int ssa_cmp_items(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
    const char *xs = mla_kube_meta_str(x, "namespace"), *ys = mla_kube_meta_str(y, "namespace");
    int c = strcmp(xs ? xs : "", ys ? ys : "");
    if (c)
        return c;
    const char *xn = mla_kube_meta_str(x, "name"), *yn = mla_kube_meta_str(y, "name");
    return strcmp(xn ? xn : "", yn ? yn : "");
}

/* "<namespace>/<name>" of the last item of the previous page, hex-encoded: opaque to clients,
 * and like etcd's key it stays valid when objects are added or removed in between. */
static char *ssa_token(const cJSON *item)
{
    const char *ns = mla_kube_meta_str(item, "namespace");
    const char *nm = mla_kube_meta_str(item, "name");
    char *key = mla_xasprintf("%s/%s", ns ? ns : "", nm ? nm : "");
    size_t n = strlen(key);
    char *tok = mla_xmalloc(2 * n + 4);
    memcpy(tok, "ta1", 3);
    for (size_t i = 0; i < n; i++)
        snprintf(tok + 3 + 2 * i, 3, "%02x", (unsigned char)key[i]);
    tok[3 + 2 * n] = '\0';
    free(key);
    return tok;
}

static char *ssa_untoken(const char *tok)
{
    size_t n = strlen(tok);
    if (n < 3 || strncmp(tok, "ta1", 3) || (n - 3) % 2)
        return NULL;
    char *key = mla_xmalloc((n - 3) / 2 + 1);
    for (size_t i = 0; i < (n - 3) / 2; i++) {
        unsigned v;
        if (sscanf(tok + 3 + 2 * i, "%2x", &v) != 1) {
            free(key);
            return NULL;
        }
        key[i] = (char)v;
    }
    key[(n - 3) / 2] = '\0';
    return key;
}

long ta_page(cJSON *list, long limit, const char *cont, cJSON **out)
{
    cJSON *items = cJSON_GetObjectItemCaseSensitive(list, "items");
    int n = cJSON_GetArraySize(items);
    cJSON **v = mla_xcalloc((size_t)n + 1, sizeof *v);
    for (int i = 0; i < n; i++)
        v[i] = cJSON_DetachItemFromArray(items, 0);
    qsort(v, (size_t)n, sizeof *v, ssa_cmp_items);
    int start = 0;
    if (cont && *cont) {
        char *after = ssa_untoken(cont);
        if (!after) {
            for (int i = 0; i < n; i++)
                cJSON_Delete(v[i]);
            free(v);
            *out = ta_strict_status(400, "BadRequest",
                                    "continue key is not valid: illegal base64 data");
            return 400;
        }
        while (start < n) {
            const char *ns = mla_kube_meta_str(v[start], "namespace");
            const char *nm = mla_kube_meta_str(v[start], "name");
            char *key = mla_xasprintf("%s/%s", ns ? ns : "", nm ? nm : ""); /* ssa_token's key */
            int c = strcmp(key, after);
            free(key);
            if (c > 0)
                break;
            start++;
        }
        free(after);
    }
    int end = limit > 0 && start + limit < n ? start + (int)limit : n;
    for (int i = 0; i < n; i++) {
        if (i >= start && i < end)
            cJSON_AddItemToArray(items, v[i]);
        else
            cJSON_Delete(v[i]);
    }
    cJSON *meta = cJSON_GetObjectItemCaseSensitive(list, "metadata");
    if (end < n && end > start && meta) {
        char *tok = ssa_token(cJSON_GetArrayItem(items, end - start - 1));
        cJSON_AddStringToObject(meta, "continue", tok);
        cJSON_AddNumberToObject(meta, "remainingItemCount", n - end);
        free(tok);
    }
    free(v);
    return 0;
}
