/* ratelimit.h - a client-side token bucket (client-go's QPS/burst): the leader's loop paces its
 * requests to the API server and to Prometheus with it, so that a pass over thousands of
 * ScaledObjects is a steady rate rather than a burst.
 *
 * Ownership: struct mla_ratelimit is embedded (mla_ratelimit_init, nothing to free beyond
 * mla_ratelimit_fini). Threading: any thread (a mutex guards the bucket); mla_ratelimit_wait
 * sleeps in the caller's thread, outside the mutex's critical work.
 */
#ifndef MLA_RATELIMIT_H
#define MLA_RATELIMIT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct mla_ratelimit {
    pthread_mutex_t mu;
    double qps;     /* guarded by mu (mla_ratelimit_set_qps); <= 0: unlimited */
    double burst;   /* immutable after init; >= 1 */
    double tokens;  /* guarded by mu */
    double last_s;  /* guarded by mu: monotonic seconds of the last refill */
    double waited_s; /* guarded by mu: total time callers were made to wait */
    /* what a waiting caller does instead of sleeping (mla_ratelimit_set_idle); immutable
     * after set, which happens before any other thread uses the bucket */
    void (*idle)(void *ctx, double until_s);
    void *idle_ctx;
};

/* qps <= 0: no limit; burst < 1 counts as 1. The bucket starts full. */
void mla_ratelimit_init(struct mla_ratelimit *rl, double qps, double burst);
void mla_ratelimit_fini(struct mla_ratelimit *rl);
/* Takes one token, sleeping until there is one. NULL rl: returns at once. */
void mla_ratelimit_wait(struct mla_ratelimit *rl);
/* Takes one token only if more than `keep` are free right now; never sleeps. true when taken
 * (or rl is NULL or unlimited). `keep` leaves tokens for the callers of mla_ratelimit_wait: a
 * request that can wait for an idle moment does not make a more urgent one wait. */
bool mla_ratelimit_try(struct mla_ratelimit *rl, double keep);
/* Total seconds callers were made to wait in mla_ratelimit_wait (idle work included). */
double mla_ratelimit_waited(struct mla_ratelimit *rl);

/* The clock of the buckets: monotonic seconds. */
double mla_ratelimit_now(void);

/* Idle work: when mla_ratelimit_wait must wait, it first calls idle(ctx, until_s) in the
 * caller's thread, outside the mutex, and then sleeps only what is left until until_s (the
 * monotonic instant, mla_ratelimit_now, its token is due). The work may overrun until_s: the
 * caller then goes on at once, and the bucket, reserved ahead, catches up on the next waits.
 * The loop uses it to send writes it holds while its Prometheus pacing would leave it asleep.
 * Set once, before the bucket is shared; fn NULL: plain sleeping. */
void mla_ratelimit_set_idle(struct mla_ratelimit *rl, void (*fn)(void *ctx, double until_s),
                            void *ctx);

/* Changes the rate from now on (tokens already in the bucket stay, up to burst); qps <= 0: no
 * limit. The loop re-paces its Prometheus bucket at the start of each pass. */
void mla_ratelimit_set_qps(struct mla_ratelimit *rl, double qps);

/* The rate that spreads n requests over what is left of 80% of interval_s once spent_s of the
 * pass are gone (its LISTs: at 10,000 about 6 s), never below floor_qps: a pass of n paced
 * requests then ends within 80% of the interval by construction, while floor_qps (the flag)
 * still bounds the rate for small n. The time left counts as at least 40% of the interval, so a
 * slow start at most doubles the rate. floor_qps <= 0 (no limit) stays 0; interval_s <= 0:
 * floor_qps. */
double mla_ratelimit_paced_qps(double floor_qps, size_t n, double interval_s, double spent_s);

#endif
