/* test_patch.c - JSON Patch builder cases found while wiring the webhook (see test_core.c for
 * the basics). */
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
