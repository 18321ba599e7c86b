/* test_queue.c - the work queue: newest item per workload (kind, namespace, name), exclusive
 * keys, requeue, cap. */
#include <criterion/criterion.h>

#include "mla/queue.h"
#include "mla/wlkind.h"

/* ---- queue */

Test(queue, newest_item_per_deployment_wins_and_keys_are_exclusive)
{
    struct mla_queue *q = mla_queue_create(0);
    struct mla_work *a = mla_work_create("ns", "web");
    a->action = MLA_ACT_APPLY;
    struct mla_work *b = mla_work_create("ns", "web");
    b->action = MLA_ACT_REMOVE;
    cr_assert(mla_queue_push(q, a));
    cr_assert(mla_queue_push(q, b)); /* replaces a */
    cr_assert_eq(mla_queue_depth(q), 1);
    struct mla_work *got = mla_queue_pop(q, 0);
    cr_assert_eq(got, b);
    struct mla_work *c = mla_work_create("ns", "web");
    cr_assert(mla_queue_push(q, c));
    cr_assert_null(mla_queue_pop(q, 50)); /* web is in flight */
    mla_queue_requeue(q, got, 0);           /* dropped: a newer item exists */
    cr_assert_eq(mla_queue_depth(q), 1);
    got = mla_queue_pop(q, 0);
    cr_assert_eq(got, c);
    mla_queue_requeue(q, got, 60);
    cr_assert_null(mla_queue_pop(q, 10)); /* not ready yet */
    got = mla_queue_pop(q, 500);
    cr_assert_eq(got, c);
    mla_queue_done(q, got);
    cr_assert(mla_queue_wait_idle(q, 10));
    mla_queue_stop(q);
    cr_assert_null(mla_queue_pop(q, -1));
    cr_assert_not(mla_queue_push(q, mla_work_create("ns", "x")));
    mla_queue_destroy(q);
}

/* The cap bounds distinct pending keys; a newer item for a pending key still replaces it. */
Test(queue, cap_refuses_new_keys_but_replaces_pending_ones)
{
    struct mla_queue *q = mla_queue_create(2);
    cr_assert(mla_queue_push(q, mla_work_create("ns", "a")));
    cr_assert(mla_queue_push(q, mla_work_create("ns", "b")));
    cr_assert_not(mla_queue_push(q, mla_work_create("ns", "c")), "a third key over the cap of 2");
    cr_assert(mla_queue_push(q, mla_work_create("ns", "a")), "replacing a pending key");
    cr_assert_eq(mla_queue_depth(q), 2);
    mla_queue_destroy(q);
}

/* A Deployment, a StatefulSet and a Job of one name are three keys: none replaces another's
 * pending item, and one in flight does not hold up the others. */
Test(queue, the_key_includes_the_workload_kind)
{
    struct mla_queue *q = mla_queue_create(0);
    struct mla_work *dep = mla_work_create("ns", "same");
    struct mla_work *sts = mla_work_create("ns", "same");
    sts->wl = mla_wl_find("StatefulSet");
    cr_assert_not_null(sts->wl);
    struct mla_work *job = mla_work_create("ns", "same");
    job->job = true;
    cr_assert(mla_queue_push(q, dep));
    cr_assert(mla_queue_push(q, sts));
    cr_assert(mla_queue_push(q, job));
    cr_assert_eq(mla_queue_depth(q), 3, "one kind's item replaced another's");
    struct mla_work *got[3];
    for (int i = 0; i < 3; i++) {
        got[i] = mla_queue_pop(q, 0);
        cr_assert_not_null(got[i], "item %d held up by another kind in flight", i);
    }
    cr_assert(got[0] == dep && got[1] == sts && got[2] == job);
    /* a newer StatefulSet item waits for the StatefulSet in flight only */
    struct mla_work *sts2 = mla_work_create("ns", "same");
    sts2->wl = mla_wl_find("StatefulSet");
    cr_assert(mla_queue_push(q, sts2));
    cr_assert_null(mla_queue_pop(q, 20));
    mla_queue_done(q, got[1]);
    cr_assert_eq(mla_queue_pop(q, 0), sts2);
    /* releasing the Job's key is not releasing the Deployment's */
    mla_queue_requeue(q, got[2], 0);
    cr_assert_eq(mla_queue_pop(q, 0), got[2]);
    mla_queue_done(q, got[0]);
    mla_queue_done(q, got[2]);
    mla_queue_done(q, sts2);
    cr_assert(mla_queue_wait_idle(q, 10));
    mla_queue_destroy(q);
}
