/* test_arena.c - the per-request cJSON arena: allocations come from it only while active, and
 * trees made outside stay valid across begin/end. */
#include <criterion/criterion.h>
#include <string.h>

#include "mla/arena.h"
#include <cjson/cJSON.h>

Test(arena, parse_inside_uses_arena_and_outside_does_not)
{
    mla_arena_install();
    cJSON *kept = cJSON_Parse("{\"policy\":[1,2,3],\"name\":\"outside\"}"); /* libc */
    cJSON *other = cJSON_CreateString("made outside");                        /* libc */
    mla_arena_begin();
    cJSON *t = cJSON_Parse("{\"a\":{\"b\":[\"x\",\"y\",{\"c\":true}]},\"s\":\"hello\"}");
    cr_assert_not_null(t);
#if !defined(__SANITIZE_ADDRESS__)
    cr_assert_gt(mla_arena_used(), 0);
#endif
    cr_assert_str_eq(cJSON_GetObjectItem(t, "s")->valuestring, "hello");
    bool was = mla_arena_set_active(false);
    cJSON *outside = cJSON_CreateString("kept by a callback");
    mla_arena_set_active(was);
    cJSON_Delete(t);
    cJSON_Delete(outside);
    cJSON_Delete(other); /* made outside, freed inside: goes to libc free */
    mla_arena_end();
    cr_assert_eq(mla_arena_used(), 0);
    cr_assert_str_eq(cJSON_GetObjectItem(kept, "name")->valuestring, "outside");
    cJSON_Delete(kept);
}

Test(arena, overflow_falls_back_to_malloc)
{
    mla_arena_install();
    mla_arena_begin();
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < 20000; i++) /* ~1.3 MB of nodes: more than the arena holds */
        cJSON_AddItemToArray(arr, cJSON_CreateNumber(i));
    cr_assert_eq(cJSON_GetArraySize(arr), 20000);
    cr_assert_eq(cJSON_GetArrayItem(arr, 19999)->valueint, 19999);
    cJSON_Delete(arr);
    mla_arena_end();
}
