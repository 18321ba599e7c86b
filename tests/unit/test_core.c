/* test_core.c - err, buf and patch: the small shared modules. */
#include <criterion/criterion.h>
#include <string.h>

#include "mla/buf.h"
#include "mla/err.h"
#include "mla/patch.h"

Test(err, set_returns_code_and_formats_position)
{
    struct mla_err e;
    mla_err_clear(&e);
    cr_assert_eq(mla_err_set_at(&e, MLA_EPOLICY, "p.yaml", 3, 7, "bad %s", "x"), MLA_EPOLICY);
    char out[600];
    mla_err_format(&e, out, sizeof out);
    cr_assert_str_eq(out, "p.yaml:3:7: bad x");
    cr_assert_str_eq(mla_err_name(MLA_ETOOBIG), "MLA_ETOOBIG");
}

Test(buf, cap_refuses_growth_and_keeps_content)
{
    struct mla_buf b;
    mla_buf_init(&b, 8);
    cr_assert_eq(mla_buf_adds(&b, "12345"), MLA_OK);
    cr_assert_eq(mla_buf_adds(&b, "6789"), MLA_ETOOBIG);
    cr_assert_str_eq(mla_buf_str(&b), "12345");
    mla_buf_fini(&b);
}

Test(buf, json_string_escapes_controls_and_quotes)
{
    struct mla_buf b;
    mla_buf_init(&b, 0);
    cr_assert_eq(mla_buf_add_json_str(&b, "a\"b\\c\n\x01"), MLA_OK);
    cr_assert_str_eq(mla_buf_str(&b), "\"a\\\"b\\\\c\\n\\u0001\"");
    mla_buf_fini(&b);
}

static char *patch_str(struct mla_patch *p)
{
    cJSON *ops = mla_patch_take(p);
    char *s = cJSON_PrintUnformatted(ops);
    cJSON_Delete(ops);
    return s;
}

Test(patch, creates_missing_parent_in_one_op_and_folds_later_ops)
{
    cJSON *doc = cJSON_Parse("{\"metadata\":{\"name\":\"x\"}}");
    struct mla_patch p;
    mla_patch_init(&p, doc);
    cr_assert_eq(mla_patch_set_str(&p, "true", NULL, "metadata", "labels", "a/b", NULL), MLA_OK);
    cr_assert_eq(mla_patch_set_str(&p, "1", NULL, "metadata", "labels", "c~d", NULL), MLA_OK);
    char *s = patch_str(&p);
    cr_assert_str_eq(s, "[{\"op\":\"add\",\"path\":\"/metadata/labels\",\"value\":{\"a/b\":\"true\","
                        "\"c~d\":\"1\"}}]");
    cJSON_free(s);
    mla_patch_fini(&p);
    cJSON_Delete(doc);
}

Test(patch, escapes_pointer_and_chooses_replace_or_nothing)
{
    cJSON *doc = cJSON_Parse("{\"metadata\":{\"annotations\":{\"a/b~c\":\"old\",\"same\":\"v\"}}}");
    struct mla_patch p;
    mla_patch_init(&p, doc);
    cr_assert_eq(mla_patch_set_str(&p, "new", NULL, "metadata", "annotations", "a/b~c", NULL), MLA_OK);
    cr_assert_eq(mla_patch_set_str(&p, "v", NULL, "metadata", "annotations", "same", NULL), MLA_OK);
    char *s = patch_str(&p);
    cr_assert_str_eq(s, "[{\"op\":\"replace\",\"path\":\"/metadata/annotations/a~1b~0c\",\"value\":\"new\"}]");
    cJSON_free(s);
    mla_patch_fini(&p);
    cJSON_Delete(doc);
}

Test(patch, refuses_path_through_scalar)
{
    cJSON *doc = cJSON_Parse("{\"spec\":{\"replicas\":3}}");
    struct mla_patch p;
    mla_patch_init(&p, doc);
    struct mla_err e;
    mla_err_clear(&e);
    cr_assert_eq(mla_patch_set_str(&p, "x", &e, "spec", "replicas", "y", NULL), MLA_EINVAL);
    cr_assert(strstr(e.msg, "scalar"));
    cr_assert_eq(mla_patch_count(&p), 0);
    mla_patch_fini(&p);
    cJSON_Delete(doc);
}
