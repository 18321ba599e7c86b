/* test_patch.c - the JSON Patch builder, one table: parents created and later ops folded, pointer
 * escaping, add/replace/nothing chosen from the document, removes, refused paths, and cases
 * found while wiring the webhook. */
#include <criterion/criterion.h>
#include <string.h>

#include "mla/patch.h"

struct patch_step {
    const char *value;   /* JSON of the value to set; NULL: remove the path */
    const char *path[4]; /* tokens, NULL-terminated */
    enum mla_code rc;
    const char *err;     /* part of the error message when rc != MLA_OK */
};

struct patch_case {
    const char *name, *doc;
    struct patch_step steps[3];
    const char *ops;     /* the patch built, compact JSON */
};

static const struct patch_case cases[] = {
    {"child of a replaced member is folded into the replace",
     "{\"metadata\":{\"labels\":\"oops-a-string\"}}",
     {{"{}", {"metadata", "labels"}, MLA_OK, NULL},
      {"\"true\"", {"metadata", "labels", "a/b"}, MLA_OK, NULL}},
     "[{\"op\":\"replace\",\"path\":\"/metadata/labels\",\"value\":{\"a/b\":\"true\"}}]"},
    {"replaced object does not get a replace for a child it lost",
     "{\"m\":{\"x\":\"1\",\"y\":\"2\"}}",
     {{"{\"z\":\"3\"}", {"m"}, MLA_OK, NULL}, {"\"9\"", {"m", "x"}, MLA_OK, NULL}},
     "[{\"op\":\"replace\",\"path\":\"/m\",\"value\":{\"z\":\"3\",\"x\":\"9\"}}]"},
    {"add at index equal to size appends; beyond it is refused",
     "{\"a\":[1,2]}",
     {{"3", {"a", "2"}, MLA_OK, NULL}, {"4", {"a", "5"}, MLA_EINVAL, ""}},
     "[{\"op\":\"add\",\"path\":\"/a/2\",\"value\":3}]"},
    {"creates a missing parent in one op and folds later ops",
     "{\"metadata\":{\"name\":\"x\"}}",
     {{"\"true\"", {"metadata", "labels", "a/b"}, MLA_OK, NULL},
      {"\"1\"", {"metadata", "labels", "c~d"}, MLA_OK, NULL}},
     "[{\"op\":\"add\",\"path\":\"/metadata/labels\",\"value\":{\"a/b\":\"true\",\"c~d\":\"1\"}}]"},
    {"escapes the pointer and chooses replace or nothing",
     "{\"metadata\":{\"annotations\":{\"a/b~c\":\"old\",\"same\":\"v\"}}}",
     {{"\"new\"", {"metadata", "annotations", "a/b~c"}, MLA_OK, NULL},
      {"\"v\"", {"metadata", "annotations", "same"}, MLA_OK, NULL}},
     "[{\"op\":\"replace\",\"path\":\"/metadata/annotations/a~1b~0c\",\"value\":\"new\"}]"},
    {"refuses a path through a scalar",
     "{\"spec\":{\"replicas\":3}}",
     {{"\"x\"", {"spec", "replicas", "y"}, MLA_EINVAL, "scalar"}},
     "[]"},
    {"removes what exists, escaped, and nothing for what does not",
     "{\"metadata\":{\"labels\":{\"ml-autoscaling.io/managed\":\"true\"}}}",
     {{NULL, {"metadata", "labels", "ml-autoscaling.io/managed"}, MLA_OK, NULL},
      {NULL, {"metadata", "annotations", "absent"}, MLA_OK, NULL}},
     "[{\"op\":\"remove\",\"path\":\"/metadata/labels/ml-autoscaling.io~1managed\"}]"},
};

Test(patch, every_case_builds_the_expected_ops)
{
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const struct patch_case *c = &cases[i];
        cJSON *doc = cJSON_Parse(c->doc);
        cr_assert_not_null(doc, "%s: bad doc", c->name);
        struct mla_patch p;
        mla_patch_init(&p, doc);
        for (size_t k = 0; k < 3 && c->steps[k].path[0]; k++) {
            const struct patch_step *st = &c->steps[k];
            size_t n = 0;
            while (n < 4 && st->path[n])
                n++;
            struct mla_err e;
            mla_err_clear(&e);
            enum mla_code rc;
            if (st->value) {
                cJSON *v = cJSON_Parse(st->value);
                cr_assert_not_null(v, "%s: bad value", c->name);
                rc = mla_patch_setv(&p, v, st->path, n, &e); /* takes v */
            } else {
                rc = mla_patch_removev(&p, st->path, n, &e);
            }
            cr_assert_eq(rc, st->rc, "%s, step %zu: %s", c->name, k, e.msg);
            if (st->rc != MLA_OK)
                cr_assert(strstr(e.msg, st->err), "%s, step %zu: %s", c->name, k, e.msg);
        }
        cJSON *ops = mla_patch_take(&p);
        char *s = cJSON_PrintUnformatted(ops);
        cr_assert_str_eq(s, c->ops, "%s", c->name);
        free(s);
        cJSON_Delete(ops);
        mla_patch_fini(&p);
        cJSON_Delete(doc);
    }
}
