/* test_objidx.c - the reconcile pass's object index answers what a scan of the lists would:
 * the first object per namespace/name, each namespace's objects in list order, at sizes where
 * the tables grow many times. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "../../src/controller/objidx-int.h"

static cJSON *oi_obj(const char *ns, const char *name, int tag)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *m = cJSON_AddObjectToObject(o, "metadata");
    if (ns)
        cJSON_AddStringToObject(m, "namespace", ns);
    if (name)
        cJSON_AddStringToObject(m, "name", name);
    cJSON_AddNumberToObject(o, "tag", tag);
    return o;
}

static int oi_tag(const cJSON *o)
{
    return o ? (int)cJSON_GetObjectItemCaseSensitive(o, "tag")->valuedouble : -1;
}

Test(objidx, finds_every_object_of_a_large_list_and_nothing_else)
{
    cJSON *a = cJSON_CreateArray();
    char ns[32], name[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(ns, sizeof ns, "ns-%02d", i % 20);
        snprintf(name, sizeof name, "app-%05d", i);
        cJSON_AddItemToArray(a, oi_obj(ns, name, i));
    }
    struct mla__objidx *x = mla__objidx_create();
    mla__objidx_add(x, a);
    for (int i = 0; i < 5000; i++) {
        snprintf(ns, sizeof ns, "ns-%02d", i % 20);
        snprintf(name, sizeof name, "app-%05d", i);
        cr_assert_eq(oi_tag(mla__objidx_find(x, ns, name)), i, "%s/%s", ns, name);
        snprintf(ns, sizeof ns, "ns-%02d", (i + 1) % 20);
        cr_assert_null(mla__objidx_find(x, ns, name), "%s/%s is in another namespace", ns, name);
    }
    cr_assert_null(mla__objidx_find(x, "ns-00", "app-5000"));
    cr_assert_null(mla__objidx_find(x, "ns-0", "0app-00000"));
    size_t n;
    const cJSON *const *v = mla__objidx_in_ns(x, "ns-07", &n);
    cr_assert_eq(n, 250);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(oi_tag(v[i]), 7 + 20 * (int)i, "list order");
    cr_assert_null(mla__objidx_in_ns(x, "ns-20", &n));
    cr_assert_eq(n, 0);
    mla__objidx_destroy(x);
    cJSON_Delete(a);
}

Test(objidx, first_added_wins_and_unnamed_objects_are_skipped)
{
    cJSON *a = cJSON_CreateArray(), *b = cJSON_CreateArray();
    cJSON_AddItemToArray(a, oi_obj("ns", "x", 1));
    cJSON_AddItemToArray(a, oi_obj("ns", "x", 2));
    cJSON_AddItemToArray(a, oi_obj("ns", NULL, 3));
    cJSON_AddItemToArray(a, oi_obj(NULL, "y", 4));
    cJSON_AddItemToArray(b, oi_obj("ns", "x", 5));
    cJSON_AddItemToArray(b, oi_obj("ns", "z", 6));
    struct mla__objidx *x = mla__objidx_create();
    mla__objidx_add(x, a);
    mla__objidx_add(x, b);
    mla__objidx_add(x, NULL);
    cr_assert_eq(oi_tag(mla__objidx_find(x, "ns", "x")), 1);
    cr_assert_eq(oi_tag(mla__objidx_find(x, "ns", "z")), 6);
    cr_assert_null(mla__objidx_find(x, "", "y"));
    size_t n;
    const cJSON *const *v = mla__objidx_in_ns(x, "ns", &n);
    cr_assert_eq(n, 4);
    cr_assert_eq(oi_tag(v[0]) * 1000 + oi_tag(v[1]) * 100 + oi_tag(v[2]) * 10 + oi_tag(v[3]),
                 1256);
    mla__objidx_destroy(x);
    cJSON_Delete(a);
    cJSON_Delete(b);
}
