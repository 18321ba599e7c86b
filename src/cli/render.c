/* cli/render.c - `ml-autoscaling render`: offline, a Deployment file in, the webhook's decision out.
 *
 * It builds the same struct mla_review_request the webhook decodes (workload.c, shared with
 * `test`) and calls the same mla_decide(), so what render prints is what admission would answer. Output: one JSON object
 * (-o json) or the same as YAML (-o yaml, the default).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mla/buf.h"
#include "mla/decide.h"
#include "mla/file.h"
#include "mla/mem.h"
#include "mla/policy.h"
#include "mla/yaml.h"
#include "workload.h"

#define RENDER_MAX_FILE (4u << 20)

static void render_usage(FILE *f)
{
    fprintf(f,
            "Usage: ml-autoscaling render -f FILE --policies DIR [-o yaml|json]\n"
            "                             [--operation CREATE|UPDATE] [--old FILE] [--namespace NS]\n\n"
            "Offline: reads a Deployment (YAML or JSON; the first Deployment of a multi-document\n"
            "file), decides as the admission webhook would, and prints\n"
            "  {allowed, message, patch, warnings, scaledObject, hpaMode}\n"
            "A batch/v1 Job (a ScaledJob template) is read too; its output adds scaledJob.\n"
            "Exit 0 allowed, 1 denied, 2 usage or file errors.\n\n"
            "Options:\n"
            "  -f, --file FILE     the Deployment ('-' reads stdin)\n"
            "  --policies DIR      the policy directory (env MLAS_POLICIES)\n"
            "  -o, --output FMT    yaml (default) or json\n"
            "  --operation OP      CREATE (default) or UPDATE\n"
            "  --old FILE          the stored Deployment for UPDATE (oldObject)\n"
            "  --namespace NS      the namespace (default: metadata.namespace, else 'default')\n"
            "  -h, --help          this help\n");
}

static int render_read(const char *path, char **out)
{
    struct mla_err e;
    mla_err_clear(&e);
    if (mla_file_read(path, RENDER_MAX_FILE, out, NULL, &e) != MLA_OK) {
        fprintf(stderr, "ml-autoscaling render: %s: %s\n", path, e.msg);
        return -1;
    }
    return 0;
}

/* The first apps/v1 Deployment in the file, as cJSON (new), or NULL with a message. */
static cJSON *render_load_deployment(const char *path)
{
    char *text = NULL;
    if (render_read(path, &text))
        return NULL;
    json_t *docs = NULL;
    struct mla_err err;
    mla_err_clear(&err);
    if (mla_yaml_parse(path, text, strlen(text), &docs, NULL, &err) != MLA_OK) {
        char line[1200];
        mla_err_format(&err, line, sizeof line);
        fprintf(stderr, "ml-autoscaling render: %s\n", line);
        free(text);
        return NULL;
    }
    free(text);
    cJSON *dep = mla__cli_deployment(docs, "ml-autoscaling render", path);
    json_decref(docs);
    return dep;
}

/* ---- a small YAML emitter for cJSON (block style, safe quoting) ---- */

static bool ry_plain_ok(const char *s)
{
    if (!*s || s[0] == ' ' || s[strlen(s) - 1] == ' ')
        return false;
    if (strchr("-?:,[]{}#&*!|>'\"%@`~=0123456789.+", s[0]))
        return false;
    static const char *const words[] = {"true", "false", "null", "yes", "no", "on", "off", "y",
                                        "n", "True", "False", "Null", "NULL", "TRUE", "FALSE",
                                        "Yes", "No", "On", "Off", "YES", "NO", "ON", "OFF", NULL};
    for (int i = 0; words[i]; i++)
        if (!strcmp(s, words[i]))
            return false;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 || c >= 0x7f || c == '#' || c == ':' || c == '"' || c == '\'' ||
            c == '\\' || c == '{' || c == '}' || c == '[' || c == ']' || c == ',')
            return false;
    }
    return true;
}

/* The buffer has no cap, so appending cannot fail. */
static void ry_put(struct mla_buf *b, const char *s)
{
    if (mla_buf_adds(b, s) != MLA_OK)
        abort();
}

static void ry_str(struct mla_buf *b, const char *s)
{
    if (ry_plain_ok(s))
        ry_put(b, s);
    else if (mla_buf_add_json_str(b, s) != MLA_OK)
        abort();
}

static void ry_indent(struct mla_buf *b, int n)
{
    for (int i = 0; i < n; i++)
        ry_put(b, " ");
}

static void ry_scalar(struct mla_buf *b, const cJSON *v)
{
    if (cJSON_IsString(v)) {
        ry_str(b, v->valuestring);
    } else if (cJSON_IsNumber(v)) {
        char *t = cJSON_PrintUnformatted(v);
        ry_put(b, t);
        cJSON_free(t);
    } else if (cJSON_IsBool(v)) {
        ry_put(b, cJSON_IsTrue(v) ? "true" : "false");
    } else if (cJSON_IsArray(v)) {
        ry_put(b, "[]");
    } else if (cJSON_IsObject(v)) {
        ry_put(b, "{}");
    } else {
        ry_put(b, "null");
    }
}

static bool ry_is_block(const cJSON *v)
{
    return (cJSON_IsObject(v) || cJSON_IsArray(v)) && v->child;
}

static void ry_node(struct mla_buf *b, const cJSON *v, int ind);

static void ry_object(struct mla_buf *b, const cJSON *o, int ind, bool first_inline)
{
    for (const cJSON *e = o->child; e; e = e->next) {
        if (!(first_inline && e == o->child))
            ry_indent(b, ind);
        ry_str(b, e->string);
        if (ry_is_block(e)) {
            ry_put(b, ":\n");
            ry_node(b, e, cJSON_IsArray(e) ? ind : ind + 2);
        } else {
            ry_put(b, ": ");
            ry_scalar(b, e);
            ry_put(b, "\n");
        }
    }
}

static void ry_node(struct mla_buf *b, const cJSON *v, int ind)
{
    if (cJSON_IsObject(v)) {
        ry_object(b, v, ind, false);
        return;
    }
    for (const cJSON *e = v->child; e; e = e->next) {
        ry_indent(b, ind);
        ry_put(b, "- ");
        if (cJSON_IsObject(e) && e->child) {
            ry_object(b, e, ind + 2, true);
        } else if (cJSON_IsArray(e) && e->child) {
            ry_put(b, "\n");
            ry_node(b, e, ind + 2);
        } else {
            ry_scalar(b, e);
            ry_put(b, "\n");
        }
    }
}

struct render_opts {
    const char *file, *dir, *fmt, *op, *old_file, *ns;
    enum mla_review_op aop;
};

/* The options; -1 to go on, else the exit status (help printed, or the usage error said). */
static int render_args(int argc, char **argv, struct render_opts *o)
{
    *o = (struct render_opts){.dir = getenv("MLAS_POLICIES"), .fmt = "yaml", .op = "CREATE"};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            render_usage(stdout);
            return MLA_EXIT_OK;
        }
        const char **dst = !strcmp(a, "-f") || !strcmp(a, "--file") ? &o->file
                           : !strcmp(a, "--policies")                 ? &o->dir
                           : !strcmp(a, "-o") || !strcmp(a, "--output") ? &o->fmt
                           : !strcmp(a, "--operation")                ? &o->op
                           : !strcmp(a, "--old")                      ? &o->old_file
                           : !strcmp(a, "--namespace") || !strcmp(a, "-n") ? &o->ns
                                                                      : NULL;
        if (!dst || !v) {
            fprintf(stderr, "ml-autoscaling render: unknown or incomplete option '%s'\n\n", a);
            render_usage(stderr);
            return MLA_EXIT_USAGE;
        }
        *dst = v;
        i++;
    }
    if (!o->file || !o->dir || !*o->dir) {
        fprintf(stderr, "ml-autoscaling render: -f FILE and --policies DIR are required\n\n");
        render_usage(stderr);
        return MLA_EXIT_USAGE;
    }
    if (strcmp(o->fmt, "yaml") && strcmp(o->fmt, "json")) {
        fprintf(stderr, "ml-autoscaling render: -o: '%s' is not allowed; allowed: yaml, json\n",
                o->fmt);
        return MLA_EXIT_USAGE;
    }
    if (!strcmp(o->op, "CREATE"))
        o->aop = MLA_OP_CREATE;
    else if (!strcmp(o->op, "UPDATE"))
        o->aop = MLA_OP_UPDATE;
    else {
        fprintf(stderr, "ml-autoscaling render: --operation: '%s' is not allowed; allowed: "
                "CREATE, UPDATE\n", o->op);
        return MLA_EXIT_USAGE;
    }
    if (o->old_file && o->aop != MLA_OP_UPDATE) {
        fprintf(stderr, "ml-autoscaling render: --old needs --operation UPDATE\n");
        return MLA_EXIT_USAGE;
    }
    return -1;
}

/* Prints the decision in `fmt` (yaml or json); moves the patch, warnings and ScaledObject out
 * of d. */
static void render_print(struct mla_decision *d, const char *fmt)
{
    cJSON *out = cJSON_CreateObject();
    cJSON_AddBoolToObject(out, "allowed", d->allowed);
    cJSON_AddStringToObject(out, "message", d->message);
    cJSON_AddItemToObject(out, "patch", d->patch ? d->patch : cJSON_CreateArray());
    cJSON_AddItemToObject(out, "warnings", d->warnings ? d->warnings : cJSON_CreateArray());
    d->patch = d->warnings = NULL; /* out owns them now */
    if (d->scaled_object && d->allowed && !d->scaled_job) {
        cJSON_AddItemToObject(out, "scaledObject", d->scaled_object);
        d->scaled_object = NULL; /* out owns it now */
    } else {
        cJSON_AddNullToObject(out, "scaledObject");
    }
    if (d->scaled_job) { /* a Job template: its ScaledJob, under its own key */
        if (d->scaled_object && d->allowed) {
            cJSON_AddItemToObject(out, "scaledJob", d->scaled_object);
            d->scaled_object = NULL; /* out owns it now */
        } else {
            cJSON_AddNullToObject(out, "scaledJob");
        }
    }
    static const char *const modes[] = {"delete", "transfer", "reject"};
    cJSON_AddStringToObject(out, "hpaMode", modes[d->hpa_mode]);
    if (!strcmp(fmt, "json")) {
        char *s = cJSON_Print(out);
        printf("%s\n", s);
        cJSON_free(s);
    } else {
        struct mla_buf b;
        mla_buf_init(&b, 0);
        ry_node(&b, out, 0);
        fputs(mla_buf_str(&b), stdout);
        mla_buf_fini(&b);
    }
    cJSON_Delete(out);
}

int mla_cmd_render(int argc, char **argv)
{
    struct render_opts o;
    int code = render_args(argc, argv, &o);
    if (code >= 0)
        return code;
    struct mla_policy_set *ps = NULL;
    struct mla_err err;
    mla_err_clear(&err);
    if (mla_policy_set_load_dir(o.dir, &ps, &err) != MLA_OK) {
        char line[1200];
        mla_err_format(&err, line, sizeof line);
        fprintf(stderr, "ml-autoscaling render: policies: %s\n", line);
        return MLA_EXIT_USAGE;
    }
    cJSON *dep = render_load_deployment(o.file);
    cJSON *old = NULL;
    if (dep && o.old_file) {
        old = render_load_deployment(o.old_file);
        if (!old) {
            cJSON_Delete(dep);
            dep = NULL;
        }
    }
    if (!dep) {
        mla_policy_set_unref(ps);
        return MLA_EXIT_USAGE;
    }
    struct mla_review_request req;
    cJSON *root = mla__cli_request(o.op, o.ns, dep, old, &req);
    struct mla_decision d;
    enum mla_code rc = mla_decide(ps, &req, &d, &err);
    render_print(&d, o.fmt);
    code = d.allowed ? MLA_EXIT_OK : MLA_EXIT_FAIL;
    if (rc != MLA_OK && d.allowed)
        code = MLA_EXIT_USAGE;
    mla_decision_fini(&d);
    cJSON_Delete(root);
    mla_policy_set_unref(ps);
    return code;
}
