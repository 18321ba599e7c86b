/* lease.h - leader election with a coordination.k8s.io/v1 Lease, the way client-go's
 * leaderelection does it: acquire when the Lease is free or its holder has not renewed for
 * leaseDurationSeconds (measured with our own clock from when we last saw the record change, so
 * clock skew between replicas does not matter), renew every retry period, stop leading when no
 * renewal succeeded within the renew deadline, and give the Lease up on shutdown by clearing
 * holderIdentity so another replica takes over at once.
 *
 * Failures are not silent: a failed read, create or write of the Lease (wrong token or CA,
 * RBAC, API errors; a 409 lost race is not a failure) is logged at warn, one line per distinct
 * error per warn interval with the count of repeats suppressed, kept as the last error for
 * /readyz until an attempt succeeds again, and the recovery is logged once.
 *
 * Ownership: an elector is new from mla_lease_create (destroy with mla_lease_destroy); it copies
 * its config and borrows the client. Threading: its own thread; mla_lease_is_leader and
 * mla_lease_last_error are any-thread; the on_change callback runs in the elector's thread.
 */
#ifndef MLA_LEASE_H
#define MLA_LEASE_H

#include <stdbool.h>
#include <stddef.h>

#include "mla/err.h"
#include "mla/kube.h"

struct mla_lease_config {
    const char *ns;          /* namespace of the Lease (copied) */
    const char *name;        /* Lease name (copied) */
    const char *identity;    /* holderIdentity (copied) */
    long duration_ms;        /* 0: 15000 (rounded up to whole seconds in the Lease) */
    long renew_deadline_ms;  /* 0: 10000; must be < duration */
    long retry_period_ms;    /* 0: 2000; must be < renew deadline */
    long warn_interval_ms;   /* 0: 30000: a repeated error is logged once per interval */
    /* Called when this replica starts (true) or stops (false) leading. May be NULL. */
    void (*on_change)(void *ctx, bool leading);
    void *ctx;               /* borrowed */
};

struct mla_lease;

/* Validates the durations and starts the elector thread. */
enum mla_code mla_lease_create(const struct mla_lease_config *cfg, struct mla_kube *kc,
                               struct mla_lease **out, struct mla_err *err) MLA_MUST_CHECK;
/* Stops the thread; when leading, releases the Lease (holderIdentity cleared). Afterwards
 * mla_lease_is_leader() is false and the struct stays valid for the threads that still hold it
 * (the loop), until mla_lease_destroy(). Idempotent. */
void mla_lease_stop(struct mla_lease *l);
/* mla_lease_stop(), then frees it: no other thread may use it any more. */
void mla_lease_destroy(struct mla_lease *l);
bool mla_lease_is_leader(const struct mla_lease *l);
/* The last leader-election error ("" while the last attempt succeeded), copied into out
 * (truncated to n). */
void mla_lease_last_error(const struct mla_lease *l, char *out, size_t n);

/* Rate limit for repeated failures, one per elector (embed zero-initialised; one thread).
 * Pure apart from the state it keeps: a message different from the last one logged is allowed
 * at once; the same one again only after interval_ms. */
struct mla_lease_warn {
    char last[256];       /* the last message logged (truncated) */
    long long next_ms;    /* when the same message may be logged again */
    long suppressed;      /* repeats dropped since the last line */
};
/* True when `msg` may be logged at now_ms; *suppressed (may be NULL) then gets the number of
 * repeats dropped since the previous line, and the count restarts. */
bool mla_lease_warn_allow(struct mla_lease_warn *w, const char *msg, long long now_ms,
                          long interval_ms, long *suppressed);

#endif
