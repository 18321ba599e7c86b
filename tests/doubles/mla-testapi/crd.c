/* crd.c - CustomResourceDefinition schemas in mla-testapi, checked the way kube-apiserver does.
 *
 * kube-apiserver handles a write to a custom resource in two steps that matter to clients:
 *   - server-side apply first turns the configuration into a typed object; a value of the wrong
 *     type (a string where the schema says integer, a list where it says object) fails there
 *     with 500 "failed to create typed patch object (group/version, Kind=K): .path: ...";
 *   - every create/update (apply included) then prunes what the structural schema does not
 *     declare (and nulls of non-nullable fields) and validates types, required fields and
 *     enums: 422 Invalid with one cause per field.
 * Without these a test server accepts what a real cluster refuses, and the product's handling
 * of those answers (issue 16: a 500 retried for 15 minutes) goes untested.
 */
#include "crd.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mla/buf.h"
#include "mla/kube.h"
#include "mla/mem.h"

struct crd_def {
    char prefix[160]; /* "/apis/keda.sh/v1alpha1" */
    char plural[64];
    char kind[64];
    char group[96];
    char version[32];
    cJSON *schema; /* owned: openAPIV3Schema */
    bool has_rules; /* the schema has x-kubernetes-validations (CEL rules) */
};

#define CRD_MAX 16
static struct crd_def crd_defs[CRD_MAX]; /* immutable after load */
static int crd_n;

static const cJSON *crd_get(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

static const char *crd_str(const cJSON *o, const char *k)
{
    return cJSON_GetStringValue(crd_get(o, k));
}

cJSON *ta_strict_status(long code, const char *reason, const char *msg)
{
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "kind", "Status");
    cJSON_AddStringToObject(s, "apiVersion", "v1");
    cJSON_AddItemToObject(s, "metadata", cJSON_CreateObject());
    cJSON_AddStringToObject(s, "status", "Failure");
    cJSON_AddStringToObject(s, "message", msg);
    if (reason && *reason)
        cJSON_AddStringToObject(s, "reason", reason);
    cJSON_AddNumberToObject(s, "code", (double)code);
    return s;
}

static int crd_add(const cJSON *crd, const char *file)
{
    const cJSON *spec = crd_get(crd, "spec");
    const char *group = crd_str(spec, "group");
    const char *plural = crd_str(crd_get(spec, "names"), "plural");
    const char *kind = crd_str(crd_get(spec, "names"), "kind");
    if (!group || !plural || !kind) {
        fprintf(stderr, "mla-testapi: %s: not a CustomResourceDefinition (spec.group, "
                        "spec.names.plural and spec.names.kind are needed)\n", file);
        return 1;
    }
    const cJSON *v;
    cJSON_ArrayForEach(v, crd_get(spec, "versions"))
    {
        const char *name = crd_str(v, "name");
        const cJSON *schema = crd_get(crd_get(v, "schema"), "openAPIV3Schema");
        if (!name || !cJSON_IsObject(schema) || cJSON_IsFalse(crd_get(v, "served")))
            continue;
        if (crd_n == CRD_MAX) {
            fprintf(stderr, "mla-testapi: %s: more than %d CRD versions\n", file, CRD_MAX);
            return 1;
        }
        struct crd_def *d = &crd_defs[crd_n++];
        snprintf(d->prefix, sizeof d->prefix, "/apis/%s/%s", group, name);
        snprintf(d->plural, sizeof d->plural, "%s", plural);
        snprintf(d->kind, sizeof d->kind, "%s", kind);
        snprintf(d->group, sizeof d->group, "%s", group);
        snprintf(d->version, sizeof d->version, "%s", name);
        d->schema = cJSON_Duplicate(schema, 1);
        char *text = cJSON_PrintUnformatted(schema);
        d->has_rules = strstr(text, "\"x-kubernetes-validations\"") != NULL;
        free(text);
    }
    return 0;
}

int ta_crd_load(const char *file)
{
    FILE *f = fopen(file, "rb");
    if (!f) {
        fprintf(stderr, "mla-testapi: cannot read CRD %s\n", file);
        return 1;
    }
    struct mla_buf b;
    mla_buf_init(&b, 16u << 20);
    char chunk[8192];
    int bad = 0;
    for (;;) {
        size_t n = fread(chunk, 1, sizeof chunk, f);
        if (n == 0)
            break;
        if (mla_buf_add(&b, chunk, n) != MLA_OK)
            bad = 1;
    }
    fclose(f);
    cJSON *docs = NULL;
    struct mla_err e;
    mla_err_clear(&e);
    if (bad || mla_kube_yaml_parse(mla_buf_str(&b), b.len, &docs, &e) != MLA_OK) {
        fprintf(stderr, "mla-testapi: %s:%d:%d: %s\n", file, e.line, e.col,
                bad ? "file too large" : e.msg);
        mla_buf_fini(&b);
        return 1;
    }
    mla_buf_fini(&b);
    const cJSON *d;
    cJSON_ArrayForEach(d, docs)
    {
        if (!bad)
            bad = crd_add(d, file);
    }
    cJSON_Delete(docs);
    return bad;
}

int ta_crd_load_default(void)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return 0;
    exe[n] = '\0';
    /* build/mla-testapi -> the repository root is two levels up */
    for (int up = 0; up < 2; up++) {
        char *sl = strrchr(exe, '/');
        if (!sl)
            return 0;
        *sl = '\0';
    }
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/tests/keda/keda.sh_scaledobjects.yaml", exe);
    if (access(path, R_OK) != 0)
        return 0;
    int rc = ta_crd_load(path);
    snprintf(path, sizeof path, "%s/tests/keda/keda.sh_scaledjobs.yaml", exe);
    if (rc == 0 && access(path, R_OK) == 0)
        rc = ta_crd_load(path);
    return rc;
}

void ta_crd_free(void)
{
    for (int i = 0; i < crd_n; i++)
        cJSON_Delete(crd_defs[i].schema);
    crd_n = 0;
}

static const struct crd_def *crd_find(const char *prefix, const char *plural)
{
    for (int i = 0; i < crd_n; i++)
        if (!strcmp(crd_defs[i].prefix, prefix) && !strcmp(crd_defs[i].plural, plural))
            return &crd_defs[i];
    return NULL;
}

bool ta_crd_known(const char *prefix, const char *plural)
{
    return crd_find(prefix, plural) != NULL;
}

/* ------------------------------------------------------------------ validation (422) */

struct crd_errs {
    cJSON *causes;    /* owned */
    struct mla_buf msg; /* "path: detail, path: detail" */
    int n;
};

static void crd_err(struct crd_errs *e, const char *reason, const char *path, const char *fmt,
                    ...) __attribute__((format(printf, 4, 5)));
static void crd_err(struct crd_errs *e, const char *reason, const char *path, const char *fmt,
                    ...)
{
    char detail[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "reason", reason);
    cJSON_AddStringToObject(c, "message", detail);
    cJSON_AddStringToObject(c, "field", path);
    cJSON_AddItemToArray(e->causes, c);
    (void)!mla_buf_addf(&e->msg, "%s%s: %s", e->n ? ", " : "", path, detail);
    e->n++;
}

static bool crd_integral(const cJSON *v)
{
    return cJSON_IsNumber(v) && isfinite(v->valuedouble) && floor(v->valuedouble) == v->valuedouble;
}

/* The OpenAPI type name of a JSON value, as kube-apiserver reports it. */
static const char *crd_type_of(const cJSON *v)
{
    if (cJSON_IsString(v))
        return "string";
    if (cJSON_IsBool(v))
        return "boolean";
    if (cJSON_IsNumber(v))
        return crd_integral(v) ? "integer" : "number";
    if (cJSON_IsArray(v))
        return "array";
    if (cJSON_IsObject(v))
        return "object";
    return "null";
}

static bool crd_type_ok(const char *type, const cJSON *v)
{
    if (!strcmp(type, "object"))
        return cJSON_IsObject(v);
    if (!strcmp(type, "array"))
        return cJSON_IsArray(v);
    if (!strcmp(type, "string"))
        return cJSON_IsString(v);
    if (!strcmp(type, "boolean"))
        return cJSON_IsBool(v);
    if (!strcmp(type, "integer"))
        return crd_integral(v);
    if (!strcmp(type, "number"))
        return cJSON_IsNumber(v);
    return true;
}

static void crd_child_path(char *out, size_t n, const char *path, const char *key)
{
    snprintf(out, n, "%s%s%s", path, *path ? "." : "", key);
}

static void crd_walk(const cJSON *s, cJSON *v, const char *path, struct crd_errs *e)
{
    if (cJSON_IsTrue(crd_get(s, "x-kubernetes-int-or-string"))) {
        if (!cJSON_IsString(v) && !crd_integral(v))
            crd_err(e, "FieldValueInvalid", path, "Invalid value: \"%s\": %s in body must be "
                    "of type integer-or-string: \"%s\"", crd_type_of(v), path, crd_type_of(v));
        return;
    }
    const char *type = crd_str(s, "type");
    if (type && !crd_type_ok(type, v)) {
        crd_err(e, "FieldValueTypeInvalid", path, "Invalid value: \"%s\": %s in body must be of "
                "type %s: \"%s\"", crd_type_of(v), path, type, crd_type_of(v));
        return;
    }
    const cJSON *en = crd_get(s, "enum");
    if (cJSON_IsArray(en)) {
        bool found = false;
        const cJSON *x;
        cJSON_ArrayForEach(x, en) found = found || cJSON_Compare(x, v, 1);
        if (!found) {
            struct mla_buf allowed;
            mla_buf_init(&allowed, 4096);
            cJSON_ArrayForEach(x, en)
            {
                char *t = cJSON_PrintUnformatted(x);
                (void)!mla_buf_addf(&allowed, "%s%s", allowed.len ? ", " : "", t);
                free(t);
            }
            char *val = cJSON_PrintUnformatted(v);
            crd_err(e, "FieldValueNotSupported", path, "Unsupported value: %s: supported "
                    "values: %s", val, mla_buf_str(&allowed));
            free(val);
            mla_buf_fini(&allowed);
        }
    }
    char cp[1024];
    if (cJSON_IsObject(v)) {
        const cJSON *props = crd_get(s, "properties");
        const cJSON *addl = crd_get(s, "additionalProperties");
        bool preserve = cJSON_IsTrue(crd_get(s, "x-kubernetes-preserve-unknown-fields"));
        bool root = !*path;
        cJSON *c = v->child;
        while (c) {
            cJSON *next = c->next;
            const cJSON *cs = props ? crd_get(props, c->string) : NULL;
            if (!cs && cJSON_IsObject(addl))
                cs = addl;
            crd_child_path(cp, sizeof cp, path, c->string);
            if (root && (!strcmp(c->string, "metadata") || !strcmp(c->string, "apiVersion") ||
                         !strcmp(c->string, "kind"))) {
                /* ObjectMeta and the type are checked by the API machinery, not the schema */
            } else if (cJSON_IsNull(c) && !(cs && cJSON_IsTrue(crd_get(cs, "nullable")))) {
                cJSON_Delete(cJSON_DetachItemViaPointer(v, c)); /* pruned, not an error */
            } else if (cs) {
                if (!cJSON_IsNull(c))
                    crd_walk(cs, c, cp, e);
            } else if (!preserve && !cJSON_IsTrue(addl)) {
                cJSON_Delete(cJSON_DetachItemViaPointer(v, c)); /* unknown field: pruned */
            }
            c = next;
        }
        const cJSON *r;
        cJSON_ArrayForEach(r, crd_get(s, "required"))
        {
            const char *k = cJSON_GetStringValue(r);
            if (k && !crd_get(v, k)) {
                crd_child_path(cp, sizeof cp, path, k);
                crd_err(e, "FieldValueRequired", cp, "Required value");
            }
        }
    } else if (cJSON_IsArray(v)) {
        const cJSON *items = crd_get(s, "items");
        int i = 0;
        cJSON *c;
        cJSON_ArrayForEach(c, v)
        {
            snprintf(cp, sizeof cp, "%s[%d]", path, i++);
            if (cJSON_IsObject(items))
                crd_walk(items, c, cp, e);
        }
    }
}

cJSON *ta_crd_validate(const char *prefix, const char *plural, const char *name, cJSON *obj)
{
    cJSON *bad_meta = ta_meta_validate(name, obj);
    if (bad_meta)
        return bad_meta;
    const struct crd_def *d = crd_find(prefix, plural);
    if (!d)
        return NULL;
    struct crd_errs e = {.causes = cJSON_CreateArray()};
    mla_buf_init(&e.msg, 1u << 20);
    crd_walk(d->schema, obj, "", &e);
    if (e.n > 0 && d->has_rules)
        crd_err(&e, "FieldValueInvalid", "<nil>", "Invalid value: \"null\": some validation "
                "rules were not checked because the object was invalid; correct the existing "
                "errors to complete validation");
    if (e.n == 0) {
        cJSON_Delete(e.causes);
        mla_buf_fini(&e.msg);
        return NULL;
    }
    struct mla_buf m;
    mla_buf_init(&m, 1u << 20);
    (void)!mla_buf_addf(&m, "%s.%s \"%s\" is invalid: %s%s%s", d->kind, d->group,
                        name ? name : "", e.n > 1 ? "[" : "", mla_buf_str(&e.msg),
                        e.n > 1 ? "]" : "");
    cJSON *st = ta_strict_status(422, "Invalid", mla_buf_str(&m));
    cJSON *det = cJSON_CreateObject();
    cJSON_AddStringToObject(det, "name", name ? name : "");
    cJSON_AddStringToObject(det, "group", d->group);
    cJSON_AddStringToObject(det, "kind", d->kind);
    cJSON_AddItemToObject(det, "causes", e.causes); /* det takes causes */
    cJSON_AddItemToObject(st, "details", det);      /* st takes det */
    mla_buf_fini(&m);
    mla_buf_fini(&e.msg);
    return st;
}

/* ------------------------------------------------------------------ typed patch object (500) */

static int crd_by_name(const void *a, const void *b)
{
    return strcmp((*(const cJSON *const *)a)->string, (*(const cJSON *const *)b)->string);
}

/* How structured-merge-diff prints the value it did not expect (Go's %v / %#v / %T). */
static void crd_got(struct mla_buf *out, const char *want, const cJSON *v)
{
    char *raw = cJSON_IsString(v) ? mla_xstrdup(v->valuestring) : cJSON_PrintUnformatted(v);
    if (!strcmp(want, "numeric (int or float)"))
        (void)!mla_buf_adds(out, cJSON_IsString(v) ? "string" : cJSON_IsBool(v) ? "bool"
                                 : cJSON_IsObject(v) ? "map[string]interface {}"
                                                     : "[]interface {}");
    else if (!strcmp(want, "string"))
        (void)!mla_buf_addf(out, "&value.valueUnstructured{Value:%s}", raw);
    else
        (void)!mla_buf_addf(out, "&{%s}", raw);
    free(raw);
}

/* The structure, the scalar kinds and undeclared fields, as structured-merge-diff checks
 * them; errors come sorted by field name, as Go's maps give them. */
static void crd_typed(const cJSON *s, const cJSON *v, const char *path, struct mla_buf *out,
                      int *n)
{
    if (cJSON_IsNull(v) || cJSON_IsTrue(crd_get(s, "x-kubernetes-int-or-string")))
        return;
    const char *type = crd_str(s, "type");
    const char *want = NULL;
    if (type && (!strcmp(type, "integer") || !strcmp(type, "number")) && !cJSON_IsNumber(v))
        want = "numeric (int or float)";
    else if (type && !strcmp(type, "string") && !cJSON_IsString(v))
        want = "string";
    else if (type && !strcmp(type, "boolean") && !cJSON_IsBool(v))
        want = "boolean";
    else if (type && !strcmp(type, "object") && !cJSON_IsObject(v))
        want = "map";
    else if (type && !strcmp(type, "array") && !cJSON_IsArray(v))
        want = "list";
    if (want) {
        (void)!mla_buf_addf(out, "%s%s: expected %s, got ", *n ? "\n  " : "", path, want);
        crd_got(out, want, v);
        (*n)++;
        return;
    }
    char cp[1024];
    if (cJSON_IsObject(v)) {
        const cJSON *props = crd_get(s, "properties");
        const cJSON *addl = crd_get(s, "additionalProperties");
        bool open = cJSON_IsTrue(crd_get(s, "x-kubernetes-preserve-unknown-fields")) ||
                    cJSON_IsTrue(addl) || (!props && !addl);
        int k = cJSON_GetArraySize(v), i = 0;
        const cJSON **kids = mla_xcalloc((size_t)k + 1, sizeof *kids);
        const cJSON *c;
        cJSON_ArrayForEach(c, v) kids[i++] = c;
        qsort(kids, (size_t)k, sizeof *kids, crd_by_name);
        for (i = 0; i < k; i++) {
            c = kids[i];
            const cJSON *cs = props ? crd_get(props, c->string) : NULL;
            if (!cs && cJSON_IsObject(addl))
                cs = addl;
            snprintf(cp, sizeof cp, "%s.%s", path, c->string);
            if (!*path && (!strcmp(c->string, "metadata") || !strcmp(c->string, "apiVersion") ||
                           !strcmp(c->string, "kind")))
                continue;
            if (cs) {
                crd_typed(cs, c, cp, out, n);
            } else if (!open) {
                (void)!mla_buf_addf(out, "%s%s: field not declared in schema", *n ? "\n  " : "",
                                    cp);
                (*n)++;
            }
        }
        free(kids);
    } else if (cJSON_IsArray(v) && cJSON_IsObject(crd_get(s, "items"))) {
        int i = 0;
        const cJSON *c;
        cJSON_ArrayForEach(c, v)
        {
            snprintf(cp, sizeof cp, "%s[%d]", path, i++);
            crd_typed(crd_get(s, "items"), c, cp, out, n);
        }
    }
}

cJSON *ta_crd_apply_check(const char *prefix, const char *plural, const cJSON *cfg)
{
    const struct crd_def *d = crd_find(prefix, plural);
    if (!d)
        return NULL;
    struct mla_buf errs;
    mla_buf_init(&errs, 1u << 20);
    int n = 0;
    crd_typed(d->schema, cfg, "", &errs, &n);
    cJSON *st = NULL;
    if (n) {
        struct mla_buf m;
        mla_buf_init(&m, 1u << 20);
        const char *ns = mla_kube_meta_str(cfg, "namespace");
        const char *name = mla_kube_meta_str(cfg, "name");
        (void)!mla_buf_addf(&m, "failed to create typed patch object (%s/%s; %s/%s, Kind=%s): "
                            "%s%s", ns ? ns : "", name ? name : "", d->group, d->version,
                            d->kind, n > 1 ? "errors:\n  " : "", mla_buf_str(&errs));
        st = ta_strict_status(500, "", mla_buf_str(&m));
        mla_buf_fini(&m);
    }
    mla_buf_fini(&errs);
    return st;
}
