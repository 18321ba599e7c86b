/* test_policy_load.c - YAML loading, validation with file:line:col, the compiled set, store. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mla/yaml.h"
#include "policy_fixture.h"

Test(policy_yaml, core_schema_anchors_and_positions)
{
    const char *y = "a: 1\nb: \"1\"\nc: true\nd: ~\ne: 1.5\nf: 0x10\ng: yes\n"
                    "h: &x {k: v}\ni: *x\nj:\n  - p\n  - 'q'\n";
    json_t *docs = NULL;
    struct mla_yaml_pos *pos = NULL;
    struct mla_err err;
    mla_err_clear(&err);
    cr_assert_eq(mla_yaml_parse("t.yaml", y, strlen(y), &docs, &pos, &err), MLA_OK, "%s", err.msg);
    json_t *d = json_array_get(docs, 0);
    cr_assert(json_is_integer(json_object_get(d, "a")));
    cr_assert(json_is_string(json_object_get(d, "b")));
    cr_assert(json_is_true(json_object_get(d, "c")));
    cr_assert(json_is_null(json_object_get(d, "d")));
    cr_assert(json_is_real(json_object_get(d, "e")));
    cr_assert_eq(json_integer_value(json_object_get(d, "f")), 16);
    cr_assert_str_eq(json_string_value(json_object_get(d, "g")), "yes"); /* 1.2: not a bool */
    cr_assert_eq(json_object_get(d, "h"), json_object_get(d, "i"));       /* alias shares */
    int line, col;
    cr_assert(mla_yaml_pos_get(pos, d, "c", 0, 0, &line, &col));
    cr_assert_eq(line, 3);
    cr_assert_eq(col, 4);
    cr_assert(mla_yaml_pos_get(pos, d, "c", 0, 1, &line, &col));
    cr_assert_eq(col, 1);
    cr_assert(mla_yaml_pos_get(pos, json_object_get(d, "j"), NULL, 1, 0, &line, &col));
    cr_assert_eq(line, 12);
    cr_assert_eq(col, 5);
    json_decref(docs);
    mla_yaml_pos_free(pos);
}

Test(policy_yaml, syntax_error_and_duplicate_key_have_positions)
{
    json_t *docs = NULL;
    struct mla_err err;
    mla_err_clear(&err);
    const char *y1 = "a: [1, 2\nb: 3\n";
    cr_assert_eq(mla_yaml_parse("x.yaml", y1, strlen(y1), &docs, NULL, &err), MLA_EPARSE);
    cr_assert_str_eq(err.src, "x.yaml");
    cr_assert_gt(err.line, 0);
    const char *y2 = "a: 1\nb: 2\na: 3\n";
    cr_assert_eq(mla_yaml_parse("x.yaml", y2, strlen(y2), &docs, NULL, &err), MLA_EPARSE);
    cr_assert_eq(err.line, 3);
    cr_assert_eq(err.col, 1);
    cr_assert(strstr(err.msg, "duplicate key 'a'"));
}

Test(policy_load, fixture_compiles_in_precedence_order)
{
    struct mla_policy_set *ps = fx_load();
    size_t n;
    const struct mla_policy *p = mla_policy_set_policies(ps, &n);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(p[0].name, "web"); /* priority 5 before 0 */
    cr_assert_str_eq(p[1].name, "workers");
    cr_assert_eq(mla_policy_set_profile_count(ps), 4);
    cr_assert_str_eq(p[1].default_profile->name, "queue");
    cr_assert_eq(strncmp(p[0].hash, "sha256:", 7), 0);
    cr_assert_eq(strlen(p[0].hash), 7 + 16);
    cr_assert_eq(strncmp(mla_policy_set_hash(ps), "sha256:", 7), 0);
    /* profile settings are layered over defaults */
    const struct mla_profile *strict = mla_policy_profile(&p[0], "strict");
    cr_assert_eq(strict->s.min_replicas, 2);
    cr_assert_eq(strict->s.missing_requests, MLA_REQ_DENY);
    cr_assert_eq(strict->s.ntrig, 2);
    cr_assert_eq(mla_policy_profile(&p[0], "web")->s.ntrig, 3);
    cr_assert_eq(mla_policy_profile(&p[1], "queue")->s.hpa_mode, MLA_HPA_TRANSFER);
    mla_policy_set_unref(ps);
}

struct bad_case {
    const char *yaml;
    int line, col;
    const char *msg;
};

#define TRIG "      triggers: [{type: cpu, threshold: 50}]\n"

static const struct bad_case bad_cases[] = {
    {"policies:\n  - name: a\n    defaults:\n      minReplicas: [1\n", 5, 1, "YAML:"},
    {"policies:\n  - name: a\n    defaults:\n      minReplicas: two\n" TRIG, 4, 20,
     "minReplicas: must be an integer from 0 to 10000, got a string"},
    {"policies:\n  - name: a\n    defaults:\n      maxReplicas: 20000\n" TRIG, 4, 20,
     "maxReplicas: 20000 is out of range; allowed: an integer from 1 to 10000"},
    {"policies:\n  - name: a\n    defaults:\n      minReplica: 1\n" TRIG, 4, 7,
     "unknown field 'minReplica' in defaults; allowed: minReplicas,"},
    {"policies:\n  - name: a\n    defualts: {}\n", 3, 5, "unknown field 'defualts' in a policy"},
    {"policies:\n  - name: a\n    defaults:\n      hpaMode: remove\n" TRIG, 4, 16,
     "hpaMode: 'remove' is not allowed; allowed: delete, transfer, reject"},
    {"policies:\n  - name: a\n    defaults:\n      triggers: [{type: kafka}]\n", 4, 25,
     "type: 'kafka' is not allowed; allowed: cpu, memory, prometheus, rabbitmq, cron"},
    {"policies:\n  - name: a\n    defaults:\n      triggers:\n        - type: prometheus\n"
     "          threshold: 5\n          metadata: {serverAddress: x, query: 'up{a=\"{{ nme }}\"}'}\n",
     7, 47, "unknown variable '{{ nme }}'"},
    {"policies:\n  - name: a\n    defaults:\n      triggers:\n        - type: prometheus\n"
     "          threshold: 5\n          metadata: {serverAddress: x, query: 'up > {{ queue }}'}\n",
     7, 47, "stands outside a quoted PromQL string"},
    {"policies:\n  - name: a\n    defaults:\n      fallback: {replicas: -2}\n" TRIG, 4, 28,
     "replicas: -2 is out of range"},
    {"policies:\n  - name: a\n    defaults:\n      minReplicas: 5\n      maxReplicas: 3\n" TRIG, 2,
     5, "minReplicas 5 is greater than maxReplicas 3"},
    {"policies:\n  - name: a\n    defaults:\n      minReplicas: 0\n" TRIG, 2, 5,
     "minReplicas 0 with only cpu/memory triggers"},
    {"policies:\n  - name: a\n    match: {selector: {matchExpressions: [{key: k, operator: In}]}}\n"
     "    defaults:\n" TRIG, 3, 43, "operator In needs a non-empty 'values'"},
    {"policies:\n  - name: a\n    defaults:\n      businessHours: {timezone: Mars/Olympus_Mons1, "
     "windows: [{days: Funday, start: '09:00', end: '17:00', minReplicas: 1}]}\n" TRIG,
     4, 63, "window: unknown day \"Funday\""},
    {"policies:\n  - name: a\n    defaults:\n      pod: {defaultRequests: {cpu: lots}}\n" TRIG, 4,
     36, "cpu: 'lots' is not a Kubernetes quantity"},
    {"policies:\n  - name: a\n    defaultProfile: nope\n    defaults:\n" TRIG, 3, 21,
     "defaultProfile: 'nope' is not a profile of this policy"},
    {"apiVersion: v2\npolicies: []\n", 1, 13, "apiVersion: allowed: ml-autoscaling.io/v1"},
    {"- just\n- a list\n", 1, 1, "a policy file holds a mapping with 'policies'"},
};

Test(policy_load, errors_name_file_line_col_and_allowed_values)
{
    for (size_t i = 0; i < sizeof bad_cases / sizeof *bad_cases; i++) {
        const char *names[] = {"p.yaml"};
        const char *texts[] = {bad_cases[i].yaml};
        struct mla_policy_set *ps = NULL;
        struct mla_policy_diags dg;
        mla_policy_diags_init(&dg);
        struct mla_err err;
        mla_err_clear(&err);
        cr_assert_neq(mla_policy_set_load_texts(names, texts, 1, &ps, &dg, &err), MLA_OK,
                      "case %zu loaded", i);
        cr_assert_null(ps);
        bool found = false;
        for (size_t k = 0; k < dg.n && !found; k++)
            found = dg.items[k].line == bad_cases[i].line && dg.items[k].col == bad_cases[i].col &&
                    strstr(dg.items[k].msg, bad_cases[i].msg) && !strcmp(dg.items[k].src, "p.yaml");
        if (!found)
            for (size_t k = 0; k < dg.n; k++)
                fprintf(stderr, "case %zu got %d:%d: %s\n", i, dg.items[k].line, dg.items[k].col,
                        dg.items[k].msg);
        cr_assert(found, "case %zu: want %d:%d: %s", i, bad_cases[i].line, bad_cases[i].col,
                  bad_cases[i].msg);
        mla_policy_diags_fini(&dg);
    }
}

Test(policy_load, reports_all_errors_not_just_the_first)
{
    const char *names[] = {"a.yaml", "b.yaml"};
    const char *texts[] = {"policies:\n  - name: a\n    defaults: {minReplicas: x}\n",
                           "policies:\n  - name: B\n    priority: p\n"};
    struct mla_policy_set *ps = NULL;
    struct mla_policy_diags dg;
    mla_policy_diags_init(&dg);
    cr_assert_eq(mla_policy_set_load_texts(names, texts, 2, &ps, &dg, NULL), MLA_EPOLICY);
    cr_assert_geq(dg.n, 3);
    int in_a = 0, in_b = 0;
    for (size_t k = 0; k < dg.n; k++) {
        in_a += !strcmp(dg.items[k].src, "a.yaml");
        in_b += !strcmp(dg.items[k].src, "b.yaml");
    }
    cr_assert_geq(in_a, 1);
    cr_assert_geq(in_b, 2);
    mla_policy_diags_fini(&dg);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

Test(policy_store, failed_reload_keeps_the_last_good_set)
{
    char dir[] = "/tmp/mla-store-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/p.yaml", dir);
    write_file(path, fx_policy);
    struct mla_policy_store st;
    cr_assert_eq(mla_policy_store_init(&st, dir, NULL), MLA_OK);
    struct mla_policy_set *a = mla_policy_store_acquire(&st);
    char hash[128];
    snprintf(hash, sizeof hash, "%s", mla_policy_set_hash(a));
    write_file(path, "policies:\n  - name: broken\n    defaults: {minReplicas: -1}\n");
    struct mla_err err;
    mla_err_clear(&err);
    cr_assert_neq(mla_policy_store_reload(&st, &err), MLA_OK);
    cr_assert_eq(err.line, 3);
    struct mla_policy_set *b = mla_policy_store_acquire(&st);
    cr_assert_eq(a, b);
    cr_assert_str_eq(mla_policy_set_hash(b), hash);
    char status[1200];
    mla_policy_store_status(&st, status, sizeof status);
    cr_assert(strstr(status, "p.yaml:3:"));
    /* a good reload publishes a new set; readers of the old one keep it */
    write_file(path, fx_policy);
    cr_assert_eq(mla_policy_store_reload(&st, NULL), MLA_OK);
    struct mla_policy_set *c = mla_policy_store_acquire(&st);
    cr_assert_neq(c, a);
    cr_assert_eq(mla_policy_set_count(a), 2);
    mla_policy_set_unref(a);
    mla_policy_set_unref(b);
    mla_policy_set_unref(c);
    mla_policy_store_fini(&st);
    unlink(path);
    rmdir(dir);
}

Test(policy_store, shipped_policies_load)
{
    struct mla_policy_set *ps = NULL;
    struct mla_err err;
    mla_err_clear(&err);
    cr_assert_eq(mla_policy_set_load_dir("../policies", &ps, &err), MLA_OK, "%s:%d:%d: %s",
                 err.src, err.line, err.col, err.msg);
    cr_assert_eq(mla_policy_set_count(ps), 8); /* + batch-jobs, feature-store */
    size_t n;
    const struct mla_policy *p = mla_policy_set_policies(ps, &n);
    cr_assert_str_eq(p[0].name, "api");
    mla_policy_set_unref(ps);
}

Test(policy_yaml, alias_bombs_and_recursive_aliases_are_refused)
{
    json_t *docs = NULL;
    struct mla_err err;
    mla_err_clear(&err);
    const char *rec = "a: &x [1, *x]\n";
    cr_assert_eq(mla_yaml_parse("r.yaml", rec, strlen(rec), &docs, NULL, &err), MLA_EPARSE);
    cr_assert(strstr(err.msg, "refers to a node that contains it"), "%s", err.msg);
    /* 10 levels of 10 aliases: 10^10 nodes if expanded */
    char bomb[4096];
    size_t n = (size_t)snprintf(bomb, sizeof bomb, "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
    for (int i = 1; i < 10; i++)
        n += (size_t)snprintf(bomb + n, sizeof bomb - n,
                              "l%d: &l%d [*l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d]\n",
                              i, i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
    cr_assert_eq(mla_yaml_parse("b.yaml", bomb, n, &docs, NULL, &err), MLA_ETOOBIG);
    cr_assert(strstr(err.msg, "aliases expand this document past"), "%s", err.msg);
    /* ordinary sharing is fine */
    const char *ok = "base: &b {cpu: 1}\nx: *b\ny: *b\n";
    cr_assert_eq(mla_yaml_parse("ok.yaml", ok, strlen(ok), &docs, NULL, &err), MLA_OK);
    json_decref(docs);
}

/* Byte corruptions of a real policy file: every one loads or is refused with a position,
 * never crashes (the sanitizer build runs this too). */
Test(policy_load, corrupted_files_never_crash)
{
    size_t n = strlen(fx_policy);
    char *buf = malloc(n + 1);
    static const char subst[] = {'\0', ':', '-', '{', '[', '"', '\'', '&', '*', '\n', ' ', '#', '9'};
    int refused = 0;
    for (size_t i = 0; i < n; i += 7) {
        for (size_t k = 0; k < sizeof subst; k++) {
            memcpy(buf, fx_policy, n + 1);
            buf[i] = subst[k];
            const char *names[] = {"c.yaml"};
            const char *texts[] = {buf};
            struct mla_policy_set *ps = NULL;
            struct mla_err err;
            mla_err_clear(&err);
            enum mla_code rc = mla_policy_set_load_texts(names, texts, 1, &ps, NULL, &err);
            if (rc == MLA_OK) {
                cr_assert_not_null(ps);
                mla_policy_set_unref(ps);
            } else {
                cr_assert_null(ps);
                cr_assert_str_eq(err.src, "c.yaml", "byte %zu -> %d: %s", i, subst[k], err.msg);
                refused++;
            }
        }
    }
    cr_assert_gt(refused, 100);
    free(buf);
}
