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
