/* test_queue.c - the work queue: newest item per Deployment, exclusive keys, requeue, cap. */
#include <criterion/criterion.h>

#include "mla/queue.h"

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
