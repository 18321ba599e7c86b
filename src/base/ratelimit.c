/* base/ratelimit.c - the token bucket behind --kube-api-qps/--prometheus-qps (see ratelimit.h). */
#include "mla/ratelimit.h"

#include <errno.h>
#include <time.h>

double mla_ratelimit_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void mla_ratelimit_init(struct mla_ratelimit *rl, double qps, double burst)
{
    pthread_mutex_init(&rl->mu, NULL);
    rl->qps = qps;
    rl->burst = burst < 1 ? 1 : burst;
    rl->tokens = rl->burst;
    rl->last_s = mla_ratelimit_now();
    rl->waited_s = 0;
    rl->idle = NULL;
    rl->idle_ctx = NULL;
}

void mla_ratelimit_set_idle(struct mla_ratelimit *rl, void (*fn)(void *ctx, double until_s),
                            void *ctx)
{
    rl->idle = fn;
    rl->idle_ctx = ctx;
}

void mla_ratelimit_fini(struct mla_ratelimit *rl)
{
    pthread_mutex_destroy(&rl->mu);
}

/* Adds the tokens earned at rl->qps since the last refill, up to burst; returns now. With mu
 * held and a limit set. */
static double rl_refill(struct mla_ratelimit *rl)
{
    double now = mla_ratelimit_now();
    rl->tokens += (now - rl->last_s) * rl->qps;
    if (rl->tokens > rl->burst)
        rl->tokens = rl->burst;
    rl->last_s = now;
    return now;
}

void mla_ratelimit_wait(struct mla_ratelimit *rl)
{
    if (!rl)
        return;
    pthread_mutex_lock(&rl->mu);
    if (rl->qps <= 0) {
        pthread_mutex_unlock(&rl->mu);
        return;
    }
    double now = rl_refill(rl);
    /* Reserve the token now (tokens may go negative): concurrent callers queue up behind
     * each other instead of all waking at the same instant. */
    rl->tokens -= 1;
    double wait = rl->tokens < 0 ? -rl->tokens / rl->qps : 0;
    rl->waited_s += wait;
    pthread_mutex_unlock(&rl->mu);
    if (wait <= 0)
        return;
    if (rl->idle) {
        double until = now + wait;
        rl->idle(rl->idle_ctx, until);
        wait = until - mla_ratelimit_now();
        if (wait <= 0)
            return;
    }
    struct timespec ts = {.tv_sec = (time_t)wait,
                          .tv_nsec = (long)((wait - (double)(time_t)wait) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

bool mla_ratelimit_try(struct mla_ratelimit *rl, double keep)
{
    if (!rl)
        return true;
    pthread_mutex_lock(&rl->mu);
    bool took = rl->qps <= 0;
    if (!took) {
        rl_refill(rl);
        took = rl->tokens >= 1 + (keep > 0 ? keep : 0);
        if (took)
            rl->tokens -= 1;
    }
    pthread_mutex_unlock(&rl->mu);
    return took;
}

double mla_ratelimit_waited(struct mla_ratelimit *rl)
{
    pthread_mutex_lock(&rl->mu);
    double w = rl->waited_s;
    pthread_mutex_unlock(&rl->mu);
    return w;
}

void mla_ratelimit_set_qps(struct mla_ratelimit *rl, double qps)
{
    pthread_mutex_lock(&rl->mu);
    /* refill at the old rate up to now, so the change applies only from now on */
    if (rl->qps > 0) {
        rl_refill(rl);
    } else {
        rl->tokens = rl->burst; /* it was unlimited: nothing was reserved */
        rl->last_s = mla_ratelimit_now();
    }
    rl->qps = qps;
    pthread_mutex_unlock(&rl->mu);
}

double mla_ratelimit_paced_qps(double floor_qps, size_t n, double interval_s, double spent_s)
{
    if (floor_qps <= 0)
        return 0;
    if (interval_s <= 0)
        return floor_qps;
    /* 80%: the pass also plans and writes; the rest of the interval is its margin */
    double left = 0.8 * interval_s - (spent_s > 0 ? spent_s : 0);
    if (left < 0.4 * interval_s)
        left = 0.4 * interval_s;
    double need = (double)n / left;
    return need > floor_qps ? need : floor_qps;
}
