/* test_ratelimit.c - the token bucket: a burst goes through at once, then the rate holds. */
#include <criterion/criterion.h>
#include <time.h>

#include "mla/ratelimit.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

Test(ratelimit, burst_at_once_then_the_rate)
{
    struct mla_ratelimit rl;
    mla_ratelimit_init(&rl, 100, 5);
    double t0 = now_s();
    for (int i = 0; i < 5; i++)
        mla_ratelimit_wait(&rl);
    double burst = now_s() - t0;
    cr_assert(burst < 0.04, "the burst of 5 waited %.3f s", burst);
    for (int i = 0; i < 10; i++)
        mla_ratelimit_wait(&rl);
    double all = now_s() - t0;
    /* 10 more at 100/s: at least ~0.1 s (a little slack for the refill during the burst) */
    cr_assert(all >= 0.09, "15 requests at 100/s burst 5 took only %.3f s", all);
    /* the sleeps are the rate, not extra time on top of it */
    cr_assert(mla_ratelimit_waited(&rl) <= all + 0.01, "waited %.3f of %.3f s",
              mla_ratelimit_waited(&rl), all);
    mla_ratelimit_fini(&rl);
}

Test(ratelimit, unlimited_and_null_never_wait)
{
    struct mla_ratelimit rl;
    mla_ratelimit_init(&rl, 0, 0);
    double t0 = now_s();
    for (int i = 0; i < 10000; i++)
        mla_ratelimit_wait(&rl);
    mla_ratelimit_wait(NULL);
    cr_assert(now_s() - t0 < 0.5);
    cr_assert_eq(mla_ratelimit_waited(&rl), 0);
    mla_ratelimit_fini(&rl);
}

/* The pacing rule: the flag is a floor; a pass of n requests fits 80% of the interval. */
Test(ratelimit, paced_rate_fits_the_interval_with_the_flag_as_floor)
{
    /* 10,000 queries, 60 s interval: 10000 / 48 = 208.3/s, above the 100/s floor */
    cr_assert_float_eq(mla_ratelimit_paced_qps(100, 10000, 60, 0), 10000.0 / 48.0, 1e-9);
    /* and the pass's queries then take 48 s, under the interval */
    cr_assert(10000.0 / mla_ratelimit_paced_qps(100, 10000, 60, 0) <= 0.8 * 60 + 1e-9);
    /* few ScaledObjects: the floor, not a slower rate */
    cr_assert_float_eq(mla_ratelimit_paced_qps(100, 100, 60, 0), 100, 1e-9);
    cr_assert_float_eq(mla_ratelimit_paced_qps(100, 0, 60, 0), 100, 1e-9);
    /* exactly at the floor: 100/s * 48 s = 4,800 */
    cr_assert_float_eq(mla_ratelimit_paced_qps(100, 4800, 60, 0), 100, 1e-9);
    cr_assert_gt(mla_ratelimit_paced_qps(100, 4801, 60, 0), 100);
    /* no limit stays no limit; no interval: the floor */
    cr_assert_eq(mla_ratelimit_paced_qps(0, 10000, 60, 0), 0);
    cr_assert_eq(mla_ratelimit_paced_qps(-1, 10000, 60, 0), 0);
    cr_assert_float_eq(mla_ratelimit_paced_qps(100, 10000, 0, 0), 100, 1e-9);
}

/* The time the pass spent before its queries (its LISTs) comes out of their share: 6 s of LISTs
 * at 10,000 leave 42 s, so the pass still ends within 48 s of its start; a slow start at most
 * doubles the rate (the queries keep at least 40% of the interval). */
Test(ratelimit, paced_rate_leaves_out_what_the_pass_spent)
{
    double q = mla_ratelimit_paced_qps(100, 10000, 60, 6);
    cr_assert_float_eq(q, 10000.0 / 42.0, 1e-9);
    cr_assert(6 + 10000.0 / q <= 0.8 * 60 + 1e-9);
    cr_assert_float_eq(mla_ratelimit_paced_qps(100, 10000, 60, 40), 10000.0 / 24.0, 1e-9);
    cr_assert_float_eq(mla_ratelimit_paced_qps(100, 10000, 60, 1e9), 10000.0 / 24.0, 1e-9);
    /* nothing spent (or a clock that went back): the plain 80% */
    cr_assert_float_eq(mla_ratelimit_paced_qps(100, 10000, 60, -3), 10000.0 / 48.0, 1e-9);
    /* few ScaledObjects: still the floor */
    cr_assert_float_eq(mla_ratelimit_paced_qps(100, 100, 60, 30), 100, 1e-9);
}

/* A new rate applies to the waits that follow: 2/s would take seconds, 1000/s does not. */
Test(ratelimit, set_qps_changes_the_rate)
{
    struct mla_ratelimit rl;
    mla_ratelimit_init(&rl, 2, 1);
    mla_ratelimit_wait(&rl); /* the burst of one */
    mla_ratelimit_set_qps(&rl, 1000);
    double t0 = now_s();
    for (int i = 0; i < 50; i++)
        mla_ratelimit_wait(&rl);
    double took = now_s() - t0;
    /* at 2/s the 50 would take ~25 s; at 1000/s ~0.05 s */
    cr_assert(took < 1.0, "50 waits after set_qps(1000) took %.3f s", took);
    cr_assert(took >= 0.04, "50 waits at 1000/s burst 1 took only %.3f s", took);
    /* and back down: 3 more at 20/s take >= ~0.1 s */
    mla_ratelimit_set_qps(&rl, 20);
    t0 = now_s();
    for (int i = 0; i < 3; i++)
        mla_ratelimit_wait(&rl);
    cr_assert(now_s() - t0 >= 0.09, "3 at 20/s took %.3f s", now_s() - t0);
    /* unlimited: no wait */
    mla_ratelimit_set_qps(&rl, 0);
    t0 = now_s();
    for (int i = 0; i < 1000; i++)
        mla_ratelimit_wait(&rl);
    cr_assert(now_s() - t0 < 0.5);
    mla_ratelimit_fini(&rl);
}

/* try: a token only when more than `keep` are free now, never a sleep. */
Test(ratelimit, try_takes_only_a_spare_token)
{
    struct mla_ratelimit rl;
    mla_ratelimit_init(&rl, 1, 3); /* 1/s: no refill worth a token within the test */
    double t0 = now_s();
    cr_assert(mla_ratelimit_try(&rl, 1));
    cr_assert(mla_ratelimit_try(&rl, 1));
    /* one token left, kept for a waiting caller */
    cr_assert_not(mla_ratelimit_try(&rl, 1));
    cr_assert(mla_ratelimit_try(&rl, 0));
    cr_assert_not(mla_ratelimit_try(&rl, 0));
    cr_assert(now_s() - t0 < 0.5, "try slept");
    cr_assert_eq(mla_ratelimit_waited(&rl), 0);
    mla_ratelimit_fini(&rl);
    cr_assert(mla_ratelimit_try(NULL, 1));
    mla_ratelimit_init(&rl, 0, 1); /* unlimited */
    cr_assert(mla_ratelimit_try(&rl, 5));
    mla_ratelimit_fini(&rl);
}

struct idle_rec {
    int calls;
    double until_s, at_s;
};

static void idle_note(void *ctx, double until_s)
{
    struct idle_rec *r = ctx;
    r->calls++;
    r->until_s = until_s;
    r->at_s = mla_ratelimit_now();
}

static void idle_overrun(void *ctx, double until_s)
{
    idle_note(ctx, until_s);
    while (mla_ratelimit_now() < until_s + 0.1)
        ;
}

/* The idle hook runs only when the caller must wait, with the instant its token is due; the
 * wait then ends at that instant (not later), and an overrunning hook adds no sleep. */
Test(ratelimit, idle_work_uses_the_wait)
{
    struct mla_ratelimit rl;
    struct idle_rec r = {0};
    mla_ratelimit_init(&rl, 5, 1); /* one token, then one every 0.2 s */
    mla_ratelimit_set_idle(&rl, idle_note, &r);
    mla_ratelimit_wait(&rl);
    cr_assert_eq(r.calls, 0, "idle work ran though the token was there");
    double t0 = mla_ratelimit_now();
    mla_ratelimit_wait(&rl);
    double t1 = mla_ratelimit_now();
    cr_assert_eq(r.calls, 1);
    cr_assert(r.until_s > t0 + 0.15 && r.until_s < t0 + 0.25, "due %.3f s after", r.until_s - t0);
    cr_assert(t1 >= r.until_s - 0.001 && t1 < r.until_s + 0.05, "woke %.3f s after its token",
              t1 - r.until_s);
    mla_ratelimit_set_idle(&rl, idle_overrun, &r);
    mla_ratelimit_wait(&rl);
    double t2 = mla_ratelimit_now();
    cr_assert_eq(r.calls, 2);
    /* the hook ran until 0.1 s past the token: the wait returned right after it */
    cr_assert(t2 < r.until_s + 0.15, "slept %.3f s after an overrunning idle hook",
              t2 - r.until_s - 0.1);
    mla_ratelimit_fini(&rl);
}
