/* cli/policytest.c - `ml-autoscaling test CASES --policies DIR`: a policy repository's test
 * suite. Each case file holds a Deployment and a `kind: PolicyTest` document saying what the
 * webhook must answer (allowed or denied with a message substring, warnings, the policy and
 * profile chosen, a subset of the ScaledObject); every case is decided by mla_decide() on the
 * request `render` builds (workload.c), so a case passes exactly when the webhook would answer
 * that way. Output: a table with what differed, or one JSON object (--json).
 * Exit 0 all passed, 1 a case failed, 2 usage errors or a case file that cannot be read.
 */
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "mla/buf.h"
#include "mla/decide.h"
#include "mla/file.h"
#include "mla/mem.h"
#include "mla/policy.h"
#include "mla/yaml.h"
#include "workload.h"

#define PT_MAX_FILE (4u << 20)
#define PT_PROG "ml-autoscaling test"

static void pt_usage(FILE *f)
{
    fprintf(f,
            "Usage: ml-autoscaling test CASES --policies DIR [--json]\n\n"
            "Runs policy test cases: CASES is a directory of *.yaml, *.yml and *.json case files\n"
            "(or one file). Each file holds a Deployment (or a batch/v1 Job: expect.scaledJob then\n"
            "holds the subset of its ScaledJob) and a PolicyTest document:\n\n"
            "  apiVersion: ml-autoscaling.io/v1\n"
            "  kind: PolicyTest\n"
            "  name: vllm-defaults          # optional, default: the file name\n"
            "  namespace: ml-serving        # optional, default: the Deployment's, else default\n"
            "  expect:\n"
            "    allowed: true              # required\n"
            "    message: \"unknown profile\" # a substring of the answer's message\n"
            "    warnings: [\"clamped\"]      # each a substring of some warning; [] = none\n"
            "    policy: gpu-inference      # the policy and profile chosen\n"
            "    profile: vllm\n"
            "    scaledObject:              # a subset that must match (null: none written)\n"
            "      spec: {maxReplicaCount: 4}\n\n"
            "Each case is decided as the admission webhook would (CREATE) and compared; the\n"
            "table shows PASS/FAIL per case and, for failures, each difference.\n"
            "Exit 0 all passed, 1 a case failed, 2 usage errors or unreadable case files.\n\n"
            "Options:\n"
            "  --policies DIR   the policy directory (env MLAS_POLICIES)\n"
            "  --json           one JSON object on stdout instead of the table\n"
            "  -h, --help       this help\n");
}

/* ---- one difference between what a case expects and what was decided ---- */

enum pt_match { PT_EQUAL, PT_CONTAINS, PT_LENGTH };

struct pt_diff {
    char *path;          /* owned: "scaledObject.spec.triggers[0].type", "allowed", ... */
    enum pt_match match;
    cJSON *expected;     /* owned */
    cJSON *actual;       /* owned; NULL when absent */
};

struct pt_case {
    char *file;          /* owned */
    char *name;          /* owned */
    char *error;         /* owned: why the case could not run, NULL when it ran */
    struct pt_diff *diffs; /* owned */
    size_t n, alloc;
    cJSON *decision;     /* owned: {allowed, message, warnings, policy, profile}, NULL on error */
};

static void pt_add(struct pt_case *c, const char *path, enum pt_match m, const cJSON *want,
                   const cJSON *got)
{
    if (c->n == c->alloc) {
        c->alloc = c->alloc ? 2 * c->alloc : 8;
        c->diffs = mla_xrealloc(c->diffs, c->alloc * sizeof *c->diffs);
    }
    c->diffs[c->n++] = (struct pt_diff){mla_xstrdup(path), m, cJSON_Duplicate(want, 1),
                                        got ? cJSON_Duplicate(got, 1) : NULL};
}

static void pt_case_fini(struct pt_case *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->diffs[i].path);
        cJSON_Delete(c->diffs[i].expected);
        cJSON_Delete(c->diffs[i].actual);
    }
    free(c->diffs);
    free(c->file);
    free(c->name);
    free(c->error);
    cJSON_Delete(c->decision);
}

/* path + the member `key`: ".key", or ["key"] when the key is not a plain word (annotation
 * keys hold '.' and '/'). */
static char *pt_member(const char *path, const char *key)
{
    bool plain = *key != '\0';
    for (const char *p = key; *p; p++)
        if (!(p[0] == '-' || p[0] == '_' || (p[0] >= '0' && p[0] <= '9') ||
              (p[0] >= 'a' && p[0] <= 'z') || (p[0] >= 'A' && p[0] <= 'Z')))
            plain = false;
    if (plain)
        return mla_xasprintf("%s.%s", path, key);
    struct mla_buf b;
    mla_buf_init(&b, 0);
    if (mla_buf_addf(&b, "%s[", path) != MLA_OK || mla_buf_add_json_str(&b, key) != MLA_OK ||
        mla_buf_adds(&b, "]") != MLA_OK)
        abort(); /* no cap: cannot fail */
    return mla_buf_take(&b);
}

/* Every member of `want` is in `got` with a matching value: objects recursively, arrays of the
 * same length element by element, scalars equal (same type). */
static void pt_subset(struct pt_case *c, const char *path, const cJSON *want, const cJSON *got)
{
    if (cJSON_IsObject(want)) {
        if (!cJSON_IsObject(got)) {
            pt_add(c, path, PT_EQUAL, want, got);
            return;
        }
        for (const cJSON *w = want->child; w; w = w->next) {
            char *p = pt_member(path, w->string);
            const cJSON *g = cJSON_GetObjectItemCaseSensitive(got, w->string);
            if (g)
                pt_subset(c, p, w, g);
            else
                pt_add(c, p, PT_EQUAL, w, NULL);
            free(p);
        }
        return;
    }
    if (cJSON_IsArray(want)) {
        if (!cJSON_IsArray(got)) {
            pt_add(c, path, PT_EQUAL, want, got);
            return;
        }
        int nw = cJSON_GetArraySize(want), ng = cJSON_GetArraySize(got);
        if (nw != ng) {
            cJSON *a = cJSON_CreateNumber(nw), *b = cJSON_CreateNumber(ng);
            pt_add(c, path, PT_LENGTH, a, b);
            cJSON_Delete(a);
            cJSON_Delete(b);
        }
        for (int i = 0; i < nw && i < ng; i++) {
            char *p = mla_xasprintf("%s[%d]", path, i);
            pt_subset(c, p, cJSON_GetArrayItem(want, i), cJSON_GetArrayItem(got, i));
            free(p);
        }
        return;
    }
    bool same = got && (want->type & 0xFF) == (got->type & 0xFF);
    if (same && cJSON_IsString(want))
        same = !strcmp(want->valuestring, got->valuestring);
    else if (same && cJSON_IsNumber(want))
        same = want->valuedouble == got->valuedouble;
    if (!same)
        pt_add(c, path, PT_EQUAL, want, got);
}

/* ---- reading a case file ---- */

static const char *const pt_top_keys[] = {"apiVersion", "kind", "name", "namespace", "expect",
                                          NULL};
static const char *const pt_expect_keys[] = {"allowed", "message", "warnings", "policy",
                                             "profile", "scaledObject", "scaledJob", NULL};

static bool pt_known(const char *k, const char *const *keys)
{
    for (int i = 0; keys[i]; i++)
        if (!strcmp(k, keys[i]))
            return true;
    return false;
}

/* A file error, positioned at member `key` of `obj` (the object itself when key is NULL). */
static void pt_fail_at(struct pt_case *c, const struct mla_yaml_pos *pos, const json_t *obj,
                       const char *key, const char *fmt, const char *arg)
{
    int line = 0, col = 0;
    mla_yaml_pos_get(pos, obj, key, SIZE_MAX, key != NULL, &line, &col);
    char msg[512];
    snprintf(msg, sizeof msg, fmt, arg);
    c->error = line ? mla_xasprintf("%s:%d:%d: %s", c->file, line, col, msg)
                    : mla_xasprintf("%s: %s", c->file, msg);
}

/* Checks the PolicyTest document; false with c->error set when it is not one. */
static bool pt_check_spec(struct pt_case *c, const struct mla_yaml_pos *pos, const json_t *t)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)t, k, v)
    {
        if (!pt_known(k, pt_top_keys)) {
            pt_fail_at(c, pos, t, k, "unknown field '%s'; allowed: apiVersion, kind, name, "
                       "namespace, expect", k);
            return false;
        }
        if (strcmp(k, "expect") && !json_is_string(v)) {
            pt_fail_at(c, pos, t, k, "%s must be a string", k);
            return false;
        }
    }
    const char *av = json_string_value(json_object_get(t, "apiVersion"));
    if (av && strcmp(av, "ml-autoscaling.io/v1")) {
        pt_fail_at(c, pos, t, "apiVersion", "apiVersion must be ml-autoscaling.io/v1, not '%s'",
                   av);
        return false;
    }
    json_t *ex = json_object_get(t, "expect");
    if (!json_is_object(ex)) {
        pt_fail_at(c, pos, t, ex ? "expect" : NULL, "%s", "expect must be a mapping with at "
                   "least 'allowed: true|false'");
        return false;
    }
    json_object_foreach(ex, k, v)
    {
        if (!pt_known(k, pt_expect_keys)) {
            pt_fail_at(c, pos, ex, k, "unknown field 'expect.%s'; allowed: allowed, message, "
                       "warnings, policy, profile, scaledObject, scaledJob", k);
            return false;
        }
    }
    if (!json_is_boolean(json_object_get(ex, "allowed"))) {
        pt_fail_at(c, pos, ex, json_object_get(ex, "allowed") ? "allowed" : NULL, "%s",
                   "expect.allowed is required: true or false");
        return false;
    }
    const char *strs[] = {"message", "policy", "profile"};
    for (int i = 0; i < 3; i++) {
        v = json_object_get(ex, strs[i]);
        if (v && !json_is_string(v)) {
            pt_fail_at(c, pos, ex, strs[i], "expect.%s must be a string", strs[i]);
            return false;
        }
    }
    v = json_object_get(ex, "warnings");
    bool strings = json_is_array(v);
    for (size_t i = 0; strings && i < json_array_size(v); i++)
        strings = json_is_string(json_array_get(v, i));
    if (v && !strings) {
        pt_fail_at(c, pos, ex, "warnings", "%s", "expect.warnings must be a list of strings");
        return false;
    }
    static const char *const objs[] = {"scaledObject", "scaledJob"};
    for (int i = 0; i < 2; i++) {
        v = json_object_get(ex, objs[i]);
        if (v && !json_is_object(v) && !json_is_null(v)) {
            pt_fail_at(c, pos, ex, objs[i], "expect.%s must be a mapping (a subset) or null "
                       "(none written)", objs[i]);
            return false;
        }
    }
    return true;
}

/* The case's PolicyTest document (borrowed from docs), or NULL with c->error set. */
static json_t *pt_find_spec(struct pt_case *c, const struct mla_yaml_pos *pos, json_t *docs)
{
    json_t *spec = NULL;
    for (size_t i = 0; i < json_array_size(docs); i++) {
        json_t *d = json_array_get(docs, i);
        const char *kind = json_string_value(json_object_get(d, "kind"));
        if (!kind || strcmp(kind, "PolicyTest"))
            continue;
        if (spec) {
            pt_fail_at(c, pos, d, NULL, "%s", "a second PolicyTest document; one case per file");
            return NULL;
        }
        spec = d;
    }
    if (!spec)
        c->error = mla_xasprintf("%s: no PolicyTest document (kind: PolicyTest with expect)",
                                 c->file);
    else if (!pt_check_spec(c, pos, spec))
        return NULL;
    return spec;
}

/* ---- deciding and comparing ---- */

static void pt_compare(struct pt_case *c, const json_t *ex, const struct mla_decision *d)
{
    cJSON *want = mla_yaml_to_cjson(ex);
    const cJSON *w;
    cJSON *allowed = cJSON_CreateBool(d->allowed), *msg = cJSON_CreateString(d->message);
    w = cJSON_GetObjectItemCaseSensitive(want, "allowed");
    if (cJSON_IsTrue(w) != d->allowed)
        pt_add(c, "allowed", PT_EQUAL, w, allowed);
    w = cJSON_GetObjectItemCaseSensitive(want, "message");
    if (w && !strstr(d->message, w->valuestring))
        pt_add(c, "message", PT_CONTAINS, w, msg);
    w = cJSON_GetObjectItemCaseSensitive(want, "warnings");
    cJSON *none = cJSON_CreateArray();
    const cJSON *got = d->warnings ? d->warnings : none;
    if (w && !w->child && got->child)
        pt_add(c, "warnings", PT_EQUAL, w, got);
    for (const cJSON *s = w ? w->child : NULL; s; s = s->next) {
        bool found = false;
        for (const cJSON *g = got->child; g && !found; g = g->next)
            found = cJSON_IsString(g) && strstr(g->valuestring, s->valuestring);
        if (!found)
            pt_add(c, "warnings", PT_CONTAINS, s, got);
    }
    const char *names[] = {"policy", "profile"};
    const char *vals[] = {d->policy, d->profile};
    for (int i = 0; i < 2; i++) {
        w = cJSON_GetObjectItemCaseSensitive(want, names[i]);
        if (w && strcmp(w->valuestring, vals[i])) {
            cJSON *v = cJSON_CreateString(vals[i]);
            pt_add(c, names[i], PT_EQUAL, w, v);
            cJSON_Delete(v);
        }
    }
    /* a Job's decision holds its ScaledJob where a Deployment's holds the ScaledObject */
    static const char *const objs[] = {"scaledObject", "scaledJob"};
    for (int i = 0; i < 2; i++) {
        w = cJSON_GetObjectItemCaseSensitive(want, objs[i]);
        const cJSON *so = d->allowed && d->scaled_job == (i == 1) ? d->scaled_object
                                                                  : NULL; /* as render prints */
        if (cJSON_IsNull(w) && so)
            pt_add(c, objs[i], PT_EQUAL, w, so);
        else if (cJSON_IsObject(w) && !so)
            pt_add(c, objs[i], PT_EQUAL, w, NULL);
        else if (cJSON_IsObject(w))
            pt_subset(c, objs[i], w, so);
    }

    c->decision = cJSON_CreateObject();
    cJSON_AddItemToObject(c->decision, "allowed", allowed); /* c->decision owns it now */
    cJSON_AddItemToObject(c->decision, "message", msg);     /* and this */
    cJSON_AddItemToObject(c->decision, "warnings", cJSON_Duplicate(got, 1));
    cJSON_AddStringToObject(c->decision, "policy", d->policy);
    cJSON_AddStringToObject(c->decision, "profile", d->profile);
    cJSON_Delete(none);
    cJSON_Delete(want);
}

/* Runs the case in c->file; c->error says why when it could not run. */
static void pt_run(struct pt_case *c, const struct mla_policy_set *ps)
{
    char *text = NULL;
    struct mla_err e;
    mla_err_clear(&e);
    if (mla_file_read(c->file, PT_MAX_FILE, &text, NULL, &e) != MLA_OK) {
        c->error = mla_xasprintf("%s: %s", c->file, e.msg);
        return;
    }
    json_t *docs = NULL;
    struct mla_yaml_pos *pos = NULL;
    enum mla_code rc = mla_yaml_parse(c->file, text, strlen(text), &docs, &pos, &e);
    free(text);
    if (rc != MLA_OK) {
        char line[1200];
        mla_err_format(&e, line, sizeof line);
        c->error = mla_xstrdup(line);
        return;
    }
    json_t *spec = pt_find_spec(c, pos, docs);
    const char *nm = json_string_value(json_object_get(spec, "name"));
    if (nm && *nm) {
        free(c->name);
        c->name = mla_xstrdup(nm);
    }
    cJSON *dep = spec ? mla__cli_deployment(docs, PT_PROG, c->file) : NULL;
    if (spec && !dep)
        c->error = mla_xasprintf("%s: no apps/v1 Deployment or StatefulSet (or batch/v1 Job) "
                                 "with string labels and annotations (see above)", c->file);
    if (dep) {
        struct mla_review_request req;
        cJSON *root = mla__cli_request("CREATE",
                                       json_string_value(json_object_get(spec, "namespace")), dep,
                                       NULL, &req);
        struct mla_decision d;
        if (mla_decide(ps, &req, &d, &e) != MLA_OK && d.allowed)
            c->error = mla_xasprintf("%s: no decision: %s", c->file, e.msg);
        else
            pt_compare(c, json_object_get(spec, "expect"), &d);
        mla_decision_fini(&d);
        cJSON_Delete(root);
    }
    mla_yaml_pos_free(pos);
    json_decref(docs);
}

/* ---- listing and printing ---- */

static bool pt_is_case_file(const char *n)
{
    size_t l = strlen(n);
    if (n[0] == '.')
        return false; /* hidden files, and a ConfigMap volume's ..data entries */
    const char *ext[] = {".yaml", ".yml", ".json"};
    for (int i = 0; i < 3; i++) {
        size_t e = strlen(ext[i]);
        if (l > e && !strcmp(n + l - e, ext[i]))
            return true;
    }
    return false;
}

static int pt_cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The case files under `path` (a directory, or one file), sorted: a new array of new strings,
 * its length in *n; NULL after a message when it cannot be read. */
static char **pt_list(const char *path, size_t *n)
{
    struct stat st;
    if (stat(path, &st)) {
        fprintf(stderr, PT_PROG ": %s: cannot open: %m\n", path);
        return NULL;
    }
    char **v = NULL;
    size_t cnt = 0, alloc = 0;
    if (!S_ISDIR(st.st_mode)) {
        v = mla_xmalloc(sizeof *v);
        v[0] = mla_xstrdup(path);
        *n = 1;
        return v;
    }
    DIR *dir = opendir(path);
    if (!dir) {
        fprintf(stderr, PT_PROG ": %s: cannot open: %m\n", path);
        return NULL;
    }
    const struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        if (!pt_is_case_file(de->d_name))
            continue;
        if (cnt == alloc) {
            alloc = alloc ? 2 * alloc : 16;
            v = mla_xrealloc(v, alloc * sizeof *v);
        }
        size_t pl = strlen(path);
        v[cnt++] = mla_xasprintf("%s%s%s", path, pl && path[pl - 1] == '/' ? "" : "/",
                                 de->d_name);
    }
    closedir(dir);
    if (cnt)
        qsort(v, cnt, sizeof *v, pt_cmp_str);
    else
        v = mla_xmalloc(sizeof *v); /* none: not NULL, which means unreadable */
    *n = cnt;
    return v;
}

/* A value as one line of JSON (new, free). */
static char *pt_show(const cJSON *v)
{
    if (!v)
        return mla_xstrdup("(absent)");
    char *s = cJSON_PrintUnformatted(v);
    char *r = mla_xstrdup(s);
    cJSON_free(s);
    return r;
}

static void pt_print_table(const struct pt_case *cs, size_t n)
{
    int w = 4;
    for (size_t i = 0; i < n; i++)
        if ((int)strlen(cs[i].name) > w)
            w = (int)strlen(cs[i].name);
    printf("%-*s  %s\n", w, "CASE", "RESULT");
    for (size_t i = 0; i < n; i++) {
        const struct pt_case *c = &cs[i];
        printf("%-*s  %s\n", w, c->name, c->error ? "ERROR" : c->n ? "FAIL" : "PASS");
        if (c->error)
            printf("    %s\n", c->error);
        for (size_t k = 0; k < c->n; k++) {
            const struct pt_diff *d = &c->diffs[k];
            char *e = pt_show(d->expected), *a = pt_show(d->actual);
            if (d->match == PT_LENGTH)
                printf("    %s: expected %s elements, got %s\n", d->path, e, a);
            else if (d->match == PT_CONTAINS)
                printf("    %s: expected to contain %s, got %s\n", d->path, e, a);
            else
                printf("    %s: expected %s, got %s\n", d->path, e, a);
            free(e);
            free(a);
        }
        bool said = false;
        for (size_t k = 0; k < c->n; k++)
            said = said || !strcmp(c->diffs[k].path, "message");
        if (c->n && !said &&
            cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(c->decision, "allowed")))
            /* the denial's message explains the other differences */
            printf("    (denied: %s)\n",
                   cJSON_GetObjectItemCaseSensitive(c->decision, "message")->valuestring);
    }
}

static void pt_print_json(const struct pt_case *cs, size_t n, const char *dir,
                          const struct mla_policy_set *ps, size_t passed, size_t failed,
                          size_t errors)
{
    static const char *const matches[] = {"equal", "contains", "length"};
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "policies", dir);
    cJSON_AddStringToObject(out, "policyHash", mla_policy_set_hash(ps));
    cJSON *arr = cJSON_AddArrayToObject(out, "cases");
    for (size_t i = 0; i < n; i++) {
        const struct pt_case *c = &cs[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToArray(arr, o); /* arr owns o now */
        cJSON_AddStringToObject(o, "name", c->name);
        cJSON_AddStringToObject(o, "file", c->file);
        cJSON_AddStringToObject(o, "result", c->error ? "error" : c->n ? "fail" : "pass");
        if (c->error)
            cJSON_AddStringToObject(o, "error", c->error);
        cJSON *da = cJSON_AddArrayToObject(o, "diffs");
        for (size_t k = 0; k < c->n; k++) {
            cJSON *d = cJSON_CreateObject();
            cJSON_AddItemToArray(da, d); /* da owns d now */
            cJSON_AddStringToObject(d, "path", c->diffs[k].path);
            cJSON_AddStringToObject(d, "match", matches[c->diffs[k].match]);
            cJSON_AddItemToObject(d, "expected", cJSON_Duplicate(c->diffs[k].expected, 1));
            cJSON_AddItemToObject(d, "actual", c->diffs[k].actual ?
                                                   cJSON_Duplicate(c->diffs[k].actual, 1) :
                                                   cJSON_CreateNull());
        }
        if (c->decision)
            cJSON_AddItemToObject(o, "decision", cJSON_Duplicate(c->decision, 1));
    }
    cJSON_AddNumberToObject(out, "passed", (double)passed);
    cJSON_AddNumberToObject(out, "failed", (double)failed);
    cJSON_AddNumberToObject(out, "errors", (double)errors);
    char *s = cJSON_Print(out);
    printf("%s\n", s);
    cJSON_free(s);
    cJSON_Delete(out);
}

int mla_cmd_test(int argc, char **argv)
{
    const char *cases = NULL, *dir = getenv("MLAS_POLICIES");
    bool json = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            pt_usage(stdout);
            return MLA_EXIT_OK;
        } else if (!strcmp(a, "--json")) {
            json = true;
        } else if (!strcmp(a, "--policies") && i + 1 < argc) {
            dir = argv[++i];
        } else if (!strncmp(a, "--policies=", 11)) {
            dir = a + 11;
        } else if (a[0] != '-' && !cases) {
            cases = a;
        } else {
            fprintf(stderr, PT_PROG ": unknown or incomplete option '%s'\n\n", a);
            pt_usage(stderr);
            return MLA_EXIT_USAGE;
        }
    }
    if (!cases || !dir || !*dir) {
        fprintf(stderr, PT_PROG ": a CASES directory and --policies DIR are required\n\n");
        pt_usage(stderr);
        return MLA_EXIT_USAGE;
    }
    struct mla_policy_set *ps = NULL;
    struct mla_err err;
    mla_err_clear(&err);
    if (mla_policy_set_load_dir(dir, &ps, &err) != MLA_OK) {
        char line[1200];
        mla_err_format(&err, line, sizeof line);
        fprintf(stderr, PT_PROG ": policies: %s\n", line);
        return MLA_EXIT_USAGE;
    }
    size_t n = 0;
    char **files = pt_list(cases, &n);
    if (!files || !n) {
        if (files)
            fprintf(stderr, PT_PROG ": %s: no case files (*.yaml, *.yml, *.json)\n", cases);
        free(files);
        mla_policy_set_unref(ps);
        return MLA_EXIT_USAGE;
    }
    struct pt_case *cs = mla_xcalloc(n, sizeof *cs);
    size_t passed = 0, failed = 0, errors = 0;
    for (size_t i = 0; i < n; i++) {
        cs[i].file = files[i]; /* the case owns it now */
        const char *base = strrchr(files[i], '/');
        cs[i].name = mla_xstrdup(base ? base + 1 : files[i]);
        pt_run(&cs[i], ps);
        if (cs[i].error)
            errors++;
        else if (cs[i].n)
            failed++;
        else
            passed++;
    }
    free(files);
    if (json) {
        pt_print_json(cs, n, dir, ps, passed, failed, errors);
    } else {
        pt_print_table(cs, n);
        printf("%zu cases: %zu passed, %zu failed, %zu errors\n", n, passed, failed, errors);
    }
    for (size_t i = 0; i < n; i++)
        pt_case_fini(&cs[i]);
    free(cs);
    mla_policy_set_unref(ps);
    return errors ? MLA_EXIT_USAGE : failed ? MLA_EXIT_FAIL : MLA_EXIT_OK;
}
