/* test_arena.c - the arenas: the per-request cJSON arena (allocations come from it only while
 * active, trees made outside stay valid across begin/end), the growable arena of policy sets, and
 * under ASan the poisoning that makes both sanitizer-checked. */
#include <criterion/criterion.h>
#include <stdint.h>
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
    cr_assert_gt(mla_arena_used(), 0);
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

/* The webhook drops its request's trees without cJSON_Delete only while this says the arena
 * holds all of them: every way a cJSON allocation can land in malloc must make it false. */
Test(arena, holds_since_is_false_once_anything_went_to_malloc)
{
    cr_assert_not(mla_arena_holds_since(mla_arena_mark()), "inactive: nothing is held");
    mla_arena_install();
    mla_arena_begin();
    size_t mark = mla_arena_mark();
    cJSON *t = cJSON_Parse("{\"a\":[1,\"two\",{\"b\":null}]}");
    cJSON_AddItemToObject(t, "c", cJSON_CreateString("three"));
    cr_assert(mla_arena_holds_since(mark));
    bool was = mla_arena_set_active(false);
    cJSON *outside = cJSON_CreateString("kept by a callback"); /* libc */
    mla_arena_set_active(was);
    cr_assert_not(mla_arena_holds_since(mark), "an allocation made while switched off");
    cJSON_Delete(outside);
    mla_arena_end();

    mla_arena_begin();
    mark = mla_arena_mark();
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < 20000 && mla_arena_holds_since(mark); i++)
        cJSON_AddItemToArray(arr, cJSON_CreateNumber(i));
    cr_assert_not(mla_arena_holds_since(mark), "the arena filled up: the rest went to malloc");
    cJSON_Delete(arr);
    mla_arena_end();
    cr_assert_not(mla_arena_holds_since(mla_arena_mark()), "ended: nothing is held");
}

Test(arena, growable_arena_zeroes_aligns_and_grows_past_a_block)
{
    struct mla_arena a = {0};
    char *first = mla_arena_strdup(&a, "policy");
    unsigned char *big = mla_arena_alloc(&a, 100000); /* larger than a block */
    for (size_t i = 0; i < 100000; i++)
        cr_assert_eq(big[i], 0);
    void *small = mla_arena_alloc(&a, 3);
    cr_assert_eq((uintptr_t)small % 16, 0);
    cr_assert_eq((uintptr_t)big % 16, 0);
    memset(big, 0xab, 100000);
    cr_assert_str_eq(first, "policy"); /* earlier blocks stay valid while the arena grows */
    mla_arena_fini(&a);
    cr_assert_null(a.head);
}

#if defined(__SANITIZE_ADDRESS__)
/* Under ASan the request arena stays on, so a read of request memory after mla_arena_end() -
 * a tree kept past its request - is reported, as it would be for freed malloc memory. */
Test(arena, asan_reports_use_after_end, .exit_code = 1)
{
    mla_arena_install();
    mla_arena_begin();
    cJSON *t = cJSON_Parse("{\"kept\":\"too long\"}");
    cr_assert_gt(mla_arena_used(), 0);
    mla_arena_end();
    volatile char c = cJSON_GetObjectItem(t, "kept")->valuestring[0];
    (void)c;
}

Test(arena, asan_reports_overflow_of_a_policy_allocation, .exit_code = 1)
{
    struct mla_arena a = {0};
    char *p = mla_arena_alloc(&a, 10);
    (void)mla_arena_alloc(&a, 10);
    volatile char *q = p;
    q[12] = 'x'; /* in the red zone between the two allocations */
    mla_arena_fini(&a);
}
#endif
