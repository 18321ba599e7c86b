/* test_patch.c - the JSON Patch builder: parents created and later ops folded, pointer
 * escaping, add/replace/nothing chosen from the document, and cases found while wiring the
 * webhook. */
#include <criterion/criterion.h>
#include <string.h>

#include "mla/patch.h"

static char *ops_json(struct mla_patch *p)
{
    cJSON *ops = mla_patch_take(p);
    char *s = cJSON_PrintUnformatted(ops);
    cJSON_Delete(ops);
    return s;
}

Test(patch, child_of_a_replaced_member_is_folded_into_the_replace)
{
    cJSON *doc = cJSON_Parse("{\"metadata\":{\"labels\":\"oops-a-string\"}}");
    struct mla_patch p;
    mla_patch_init(&p, doc);
    cr_assert_eq(mla_patch_set(&p, cJSON_CreateObject(), NULL, "metadata", "labels", NULL), MLA_OK);
    cr_assert_eq(mla_patch_set_str(&p, "true", NULL, "metadata", "labels", "a/b", NULL), MLA_OK);
    char *s = ops_json(&p);
    cr_assert_str_eq(s, "[{\"op\":\"replace\",\"path\":\"/metadata/labels\",\"value\":{\"a/b\":"
                        "\"true\"}}]");
    free(s);
    mla_patch_fini(&p);
    cJSON_Delete(doc);
}

Test(patch, replaced_object_does_not_get_a_replace_for_a_child_it_lost)
{
    cJSON *doc = cJSON_Parse("{\"m\":{\"x\":\"1\",\"y\":\"2\"}}");
    struct mla_patch p;
    mla_patch_init(&p, doc);
    cr_assert_eq(mla_patch_set(&p, cJSON_Parse("{\"z\":\"3\"}"), NULL, "m", NULL), MLA_OK);
    cr_assert_eq(mla_patch_set_str(&p, "9", NULL, "m", "x", NULL), MLA_OK);
    char *s = ops_json(&p);
    cr_assert_str_eq(s, "[{\"op\":\"replace\",\"path\":\"/m\",\"value\":{\"z\":\"3\",\"x\":\"9\"}}]");
    free(s);
    mla_patch_fini(&p);
    cJSON_Delete(doc);
}

Test(patch, add_at_index_equal_to_size_appends)
{
    cJSON *doc = cJSON_Parse("{\"a\":[1,2]}");
    struct mla_patch p;
    mla_patch_init(&p, doc);
    cr_assert_eq(mla_patch_set(&p, cJSON_CreateNumber(3), NULL, "a", "2", NULL), MLA_OK);
    struct mla_err e;
    mla_err_clear(&e);
    cr_assert_eq(mla_patch_set(&p, cJSON_CreateNumber(4), &e, "a", "5", NULL), MLA_EINVAL);
    char *s = ops_json(&p);
    cr_assert_str_eq(s, "[{\"op\":\"add\",\"path\":\"/a/2\",\"value\":3}]");
    free(s);
    mla_patch_fini(&p);
    cJSON_Delete(doc);
}

Test(patch, creates_missing_parent_in_one_op_and_folds_later_ops)
{
    cJSON *doc = cJSON_Parse("{\"metadata\":{\"name\":\"x\"}}");
    struct mla_patch p;
    mla_patch_init(&p, doc);
    cr_assert_eq(mla_patch_set_str(&p, "true", NULL, "metadata", "labels", "a/b", NULL), MLA_OK);
    cr_assert_eq(mla_patch_set_str(&p, "1", NULL, "metadata", "labels", "c~d", NULL), MLA_OK);
    char *s = ops_json(&p);
    cr_assert_str_eq(s, "[{\"op\":\"add\",\"path\":\"/metadata/labels\",\"value\":{\"a/b\":\"true\","
                        "\"c~d\":\"1\"}}]");
    free(s);
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
    char *s = ops_json(&p);
    cr_assert_str_eq(s, "[{\"op\":\"replace\",\"path\":\"/metadata/annotations/a~1b~0c\",\"value\":\"new\"}]");
    free(s);
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

/* Found by tests/fuzz/patch.c (issue 12): removes and sets that follow earlier ops must apply
 * after them, not only to the document. */
Test(patch, ops_after_earlier_ops_still_apply_in_order)
{
    cJSON *doc = cJSON_Parse("{\"a\":[{\"b\":1}],\"m\":{\"x\":\"1\"},\"k\":{\"v\":\"1\"}}");
    struct mla_patch p;
    mla_patch_init(&p, doc);
    /* a remove below a member an earlier op replaced with a scalar: nothing to remove */
    cr_assert_eq(mla_patch_set_str(&p, "s", NULL, "a", NULL), MLA_OK);
    cr_assert_eq(mla_patch_remove(&p, NULL, "a", "0", NULL), MLA_OK);
    /* a remove below a member an earlier op replaced with an object: removed from its value */
    cr_assert_eq(mla_patch_set(&p, cJSON_Parse("{\"y\":\"2\",\"z\":\"3\"}"), NULL, "m", NULL),
                 MLA_OK);
    cr_assert_eq(mla_patch_remove(&p, NULL, "m", "y", NULL), MLA_OK);
    /* a set below a removed member adds it again, a member an earlier op added can be removed */
    cr_assert_eq(mla_patch_remove(&p, NULL, "k", NULL), MLA_OK);
    cr_assert_eq(mla_patch_set_str(&p, "2", NULL, "k", "v", NULL), MLA_OK);
    cr_assert_eq(mla_patch_set_str(&p, "n", NULL, "new", NULL), MLA_OK);
    cr_assert_eq(mla_patch_remove(&p, NULL, "new", NULL), MLA_OK);
    char *s = ops_json(&p);
    cr_assert_str_eq(s, "[{\"op\":\"replace\",\"path\":\"/a\",\"value\":\"s\"},"
                        "{\"op\":\"replace\",\"path\":\"/m\",\"value\":{\"z\":\"3\"}},"
                        "{\"op\":\"remove\",\"path\":\"/k\"},"
                        "{\"op\":\"add\",\"path\":\"/k\",\"value\":{\"v\":\"2\"}},"
                        "{\"op\":\"add\",\"path\":\"/new\",\"value\":\"n\"},"
                        "{\"op\":\"remove\",\"path\":\"/new\"}]");
    free(s);
    mla_patch_fini(&p);
    cJSON_Delete(doc);
}
