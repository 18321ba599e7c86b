/* controller/lease.c - Lease-based leader election (see lease.h).
 *
 * DESIGN: one elector thread owns every field below except `leading` (atomic, read by anyone)
 * and `stop` (guarded by mu, with cv to cut waits short). Each retry period the thread tries to
 * acquire or renew: GET the Lease; create it when missing; otherwise take it when it is ours,
 * free (holderIdentity ""), or expired by our observation; write it back with PUT carrying the
 * resourceVersion we read, so two candidates racing for it cannot both win (the loser gets
 * 409). A leader that could not renew within the renew deadline steps down *before* the lease
 * duration ends, so two replicas never act as leader at once (duration > renew deadline).
 * Ordering: `leading` is set after the successful write and cleared before on_change(false).
 * Failures: each attempt reports why it failed (read, create or write refused or unanswered);
 * the thread warns through a per-elector limiter (one line per distinct error per interval),
 * keeps the message in `last_error` (guarded by mu, read by /readyz) and logs the recovery.
 * Shutdown: destroy sets stop, wakes the thread, joins it; the thread releases the Lease when
 * leading, as its last act.
 */
#include "mla/lease.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "mla/log.h"
#include "mla/mem.h"
#include "mla/metrics.h"
#include "mla/queue.h"

struct mla_lease {
    char *ns, *name, *identity; /* immutable */
    long duration_ms, renew_deadline_ms, retry_period_ms; /* immutable */
    void (*on_change)(void *ctx, bool leading);
    void *ctx;
    struct mla_kube *kc; /* borrowed */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;              /* guarded by mu */
    bool joined;            /* guarded by mu: the thread was (or is being) joined */
    char last_error[512];   /* guarded by mu: "" while the last attempt succeeded */
    _Atomic bool leading;   /* atomic */
    /* elector thread only: */
    char observed[512];     /* holder|renewTime|rv of the record last seen */
    long long observed_ms;  /* monotonic time it was first seen */
    long long last_renew_ms;
    long warn_interval_ms;  /* immutable */
    struct mla_lease_warn warn;
    long failures;          /* failed attempts since the last success */
    struct mla_metric *gauge;
};

bool mla_lease_is_leader(const struct mla_lease *l)
{
    return atomic_load(&((struct mla_lease *)l)->leading);
}

void mla_lease_last_error(const struct mla_lease *l, char *out, size_t n)
{
    struct mla_lease *m = (struct mla_lease *)l; /* the mutex is not part of the value */
    if (!n)
        return;
    pthread_mutex_lock(&m->mu);
    snprintf(out, n, "%s", m->last_error);
    pthread_mutex_unlock(&m->mu);
}

bool mla_lease_warn_allow(struct mla_lease_warn *w, const char *msg, long long now_ms,
                          long interval_ms, long *suppressed)
{
    bool same = !strncmp(w->last, msg, sizeof w->last - 1);
    if (same && now_ms < w->next_ms) {
        w->suppressed++;
        return false;
    }
    if (suppressed)
        *suppressed = w->suppressed;
    w->suppressed = 0;
    snprintf(w->last, sizeof w->last, "%s", msg);
    w->next_ms = now_ms + interval_ms;
    return true;
}

static void lease_now(char *out, size_t n)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    mla_kube_time_format(out, n, (double)tv.tv_sec + tv.tv_usec / 1e6, true);
}

static char *lease_path(const struct mla_lease *l, bool item)
{
    return item ? mla_xasprintf("/apis/coordination.k8s.io/v1/namespaces/%s/leases/%s", l->ns,
                                l->name)
                : mla_xasprintf("/apis/coordination.k8s.io/v1/namespaces/%s/leases", l->ns);
}

static long lease_secs(long ms) { return (ms + 999) / 1000; }

static cJSON *lease_spec(cJSON *lease)
{
    cJSON *s = cJSON_GetObjectItemCaseSensitive(lease, "spec");
    if (!cJSON_IsObject(s)) {
        cJSON_DeleteItemFromObjectCaseSensitive(lease, "spec");
        s = cJSON_AddObjectToObject(lease, "spec");
    }
    return s;
}

static void lease_set(cJSON *o, const char *k, cJSON *v)
{
    cJSON_DeleteItemFromObjectCaseSensitive(o, k);
    cJSON_AddItemToObject(o, k, v);
}

/* The Lease is missing: create it holding it ourselves. True when created; a 409 means
 * another replica created it first (not a failure to report). */
static bool lease_create(struct mla_lease *l, const struct mla_kube_opts *o, const char *now,
                         char *why, size_t wn, struct mla_err *err)
{
    struct mla_kube_resp r = {0};
    cJSON *lease = cJSON_CreateObject();
    cJSON_AddStringToObject(lease, "apiVersion", "coordination.k8s.io/v1");
    cJSON_AddStringToObject(lease, "kind", "Lease");
    cJSON *m = cJSON_AddObjectToObject(lease, "metadata");
    cJSON_AddStringToObject(m, "name", l->name);
    cJSON_AddStringToObject(m, "namespace", l->ns);
    cJSON *s = lease_spec(lease);
    cJSON_AddStringToObject(s, "holderIdentity", l->identity);
    cJSON_AddNumberToObject(s, "leaseDurationSeconds", (double)lease_secs(l->duration_ms));
    cJSON_AddStringToObject(s, "acquireTime", now);
    cJSON_AddStringToObject(s, "renewTime", now);
    cJSON_AddNumberToObject(s, "leaseTransitions", 0);
    char *body = cJSON_PrintUnformatted(lease);
    cJSON_Delete(lease);
    char *cpath = lease_path(l, false);
    enum mla_code rc = mla_kube_request(l->kc, MLA_KUBE_POST, cpath, body, o, &r, err);
    bool ok = rc == MLA_OK;
    if (!ok && rc != MLA_ECONFLICT) /* 409: another replica created it first */
        snprintf(why, wn, "cannot create Lease %s/%s: %s", l->ns, l->name, err->msg);
    free(cpath);
    free(body);
    mla_kube_resp_fini(&r);
    return ok;
}

/* True when another replica holds the Lease and still renews it. Expiry is judged on our own
 * clock: the holder's record (holder, renewTime, resourceVersion) must stay unchanged for a
 * whole lease duration since we first saw it, so clock skew between nodes does not matter. */
static bool lease_held_elsewhere(struct mla_lease *l, cJSON *lease, const cJSON *s,
                                 const char *holder, bool mine)
{
    const char *renew = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "renewTime"));
    const char *rv = mla_kube_meta_str(lease, "resourceVersion");
    double dur = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(s, "leaseDurationSeconds"));
    if (dur != dur || dur <= 0)
        dur = (double)lease_secs(l->duration_ms);
    char rec[512];
    snprintf(rec, sizeof rec, "%s|%s|%s", holder ? holder : "", renew ? renew : "", rv ? rv : "");
    long long mono = mla_queue_now_ms();
    if (strcmp(rec, l->observed) != 0) {
        snprintf(l->observed, sizeof l->observed, "%s", rec);
        l->observed_ms = mono;
    }
    return holder && *holder && !mine && l->observed_ms + (long long)(dur * 1000) > mono;
}

/* Makes the spec ours: renewed now; a takeover also sets acquireTime and counts a transition. */
static void lease_take(const struct mla_lease *l, cJSON *s, const char *now, bool mine)
{
    double transitions =
        cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(s, "leaseTransitions"));
    if (transitions != transitions)
        transitions = 0;
    lease_set(s, "holderIdentity", cJSON_CreateString(l->identity));
    lease_set(s, "leaseDurationSeconds", cJSON_CreateNumber((double)lease_secs(l->duration_ms)));
    lease_set(s, "renewTime", cJSON_CreateString(now));
    if (!mine) {
        lease_set(s, "acquireTime", cJSON_CreateString(now));
        lease_set(s, "leaseTransitions", cJSON_CreateNumber(transitions + 1));
    }
}

/* One acquire-or-renew attempt; true when we hold the Lease afterwards. When it failed
 * because the API refused or did not answer (not: another replica holds it, or lost a race),
 * `why` gets the reason; otherwise it is left "". */
static bool lease_try(struct mla_lease *l, char *why, size_t wn)
{
    struct mla_kube_opts o = {.budget_ms = l->retry_period_ms, .max_attempts = 2};
    struct mla_kube_resp r = {0};
    struct mla_err err;
    mla_err_clear(&err);
    char *path = lease_path(l, true);
    char now[48];
    lease_now(now, sizeof now);
    enum mla_code rc = mla_kube_request(l->kc, MLA_KUBE_GET, path, NULL, &o, &r, &err);
    if (rc == MLA_ENOTFOUND) {
        mla_kube_resp_fini(&r);
        bool ok = lease_create(l, &o, now, why, wn, &err);
        free(path);
        return ok;
    }
    if (rc != MLA_OK) {
        snprintf(why, wn, "cannot read Lease %s/%s: %s", l->ns, l->name, err.msg);
        mla_kube_resp_fini(&r);
        free(path);
        return false;
    }
    cJSON *lease = r.body; /* we own it now */
    r.body = NULL;
    cJSON *s = lease_spec(lease);
    const char *holder = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "holderIdentity"));
    bool mine = holder && !strcmp(holder, l->identity);
    if (lease_held_elsewhere(l, lease, s, holder, mine)) {
        cJSON_Delete(lease);
        free(path);
        return false; /* held by another replica that renews */
    }
    lease_take(l, s, now, mine);
    char *body = cJSON_PrintUnformatted(lease); /* carries metadata.resourceVersion */
    cJSON_Delete(lease);
    rc = mla_kube_request(l->kc, MLA_KUBE_PUT, path, body, &o, &r, &err);
    mla_kube_resp_fini(&r);
    bool ok = rc == MLA_OK;
    if (!ok && rc != MLA_ECONFLICT) /* 409: another replica wrote it first */
        snprintf(why, wn, "cannot write Lease %s/%s: %s", l->ns, l->name, err.msg);
    free(body);
    free(path);
    return ok;
}

/* Gives the Lease up: holderIdentity cleared so another replica takes it without waiting. */
static void lease_release(struct mla_lease *l)
{
    struct mla_kube_opts o = {.budget_ms = 2000, .max_attempts = 2};
    struct mla_kube_resp r = {0};
    struct mla_err err;
    mla_err_clear(&err);
    char *path = lease_path(l, true);
    if (mla_kube_request(l->kc, MLA_KUBE_GET, path, NULL, &o, &r, &err) == MLA_OK) {
        cJSON *lease = r.body;
        r.body = NULL;
        cJSON *s = lease_spec(lease);
        const char *holder =
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "holderIdentity"));
        if (holder && !strcmp(holder, l->identity)) {
            char now[48];
            lease_now(now, sizeof now);
            lease_set(s, "holderIdentity", cJSON_CreateString(""));
            lease_set(s, "leaseDurationSeconds", cJSON_CreateNumber(1));
            lease_set(s, "renewTime", cJSON_CreateString(now));
            char *body = cJSON_PrintUnformatted(lease);
            if (mla_kube_request(l->kc, MLA_KUBE_PUT, path, body, &o, &r, &err) == MLA_OK)
                mla_log(MLA_LOG_INFO, "lease", "released Lease %s/%s", l->ns, l->name);
            else
                mla_log(MLA_LOG_WARN, "lease", "cannot release Lease %s/%s: %s", l->ns, l->name,
                        err.msg);
            free(body);
        }
        cJSON_Delete(lease);
    }
    mla_kube_resp_fini(&r);
    free(path);
}

static void lease_set_leading(struct mla_lease *l, bool v)
{
    atomic_store(&l->leading, v);
    if (l->gauge)
        mla_metric_set(l->gauge, v ? 1 : 0);
    mla_log(MLA_LOG_INFO, "lease", "%s %s leader (Lease %s/%s)", l->identity,
            v ? "became" : "is no longer", l->ns, l->name);
    if (l->on_change)
        l->on_change(l->ctx, v);
}

/* After each attempt: warn about a failure (rate-limited), remember it for /readyz, and say
 * once when the API answers again. Elector thread. */
static void lease_note(struct mla_lease *l, const char *why)
{
    long long now = mla_queue_now_ms();
    if (!*why) {
        if (!l->failures)
            return;
        mla_log(MLA_LOG_INFO, "lease", "Lease %s/%s is reachable again after %ld failed "
                "attempts", l->ns, l->name, l->failures);
        l->failures = 0;
        memset(&l->warn, 0, sizeof l->warn); /* the same error later is news again */
        pthread_mutex_lock(&l->mu);
        l->last_error[0] = '\0';
        pthread_mutex_unlock(&l->mu);
        return;
    }
    l->failures++;
    pthread_mutex_lock(&l->mu);
    snprintf(l->last_error, sizeof l->last_error, "%s", why);
    pthread_mutex_unlock(&l->mu);
    long sup = 0;
    if (!mla_lease_warn_allow(&l->warn, why, now, l->warn_interval_ms, &sup))
        return;
    char tail[128] = "";
    if (sup > 0)
        snprintf(tail, sizeof tail, "%ld repeated failures not logged since the previous line; ",
                 sup);
    mla_log(MLA_LOG_WARN, "lease", "%s; %s (%sthe same error is logged once per %ld s)", why,
            atomic_load(&l->leading) ? "this replica cannot renew its leadership"
                                     : "this replica cannot become leader",
            tail, (l->warn_interval_ms + 999) / 1000);
}

static void *lease_thread(void *arg)
{
    struct mla_lease *l = arg;
    unsigned seed = (unsigned)(size_t)l ^ (unsigned)time(NULL);
    pthread_mutex_lock(&l->mu);
    while (!l->stop) {
        pthread_mutex_unlock(&l->mu);
        char why[512] = "";
        bool got = lease_try(l, why, sizeof why);
        lease_note(l, why);
        long long now = mla_queue_now_ms();
        bool leading = atomic_load(&l->leading);
        if (got) {
            l->last_renew_ms = now;
            if (!leading)
                lease_set_leading(l, true);
        } else if (leading && now - l->last_renew_ms > l->renew_deadline_ms) {
            lease_set_leading(l, false);
        }
        /* candidates add jitter so they do not all hit the API together (client-go: 1.2x) */
        long wait = l->retry_period_ms;
        if (!atomic_load(&l->leading))
            wait += (long)((double)l->retry_period_ms * 0.2 * (double)(rand_r(&seed) % 1000) / 1000.0);
        long long until = mla_queue_now_ms() + wait;
        struct timespec ts = {.tv_sec = until / 1000, .tv_nsec = (until % 1000) * 1000000L};
        pthread_mutex_lock(&l->mu);
        while (!l->stop && mla_queue_now_ms() < until)
            pthread_cond_timedwait(&l->cv, &l->mu, &ts);
    }
    pthread_mutex_unlock(&l->mu);
    if (atomic_load(&l->leading)) {
        atomic_store(&l->leading, false);
        if (l->gauge)
            mla_metric_set(l->gauge, 0);
        if (l->on_change)
            l->on_change(l->ctx, false);
        lease_release(l);
    }
    return NULL;
}

enum mla_code mla_lease_create(const struct mla_lease_config *cfg, struct mla_kube *kc,
                               struct mla_lease **out, struct mla_err *err)
{
    long dur = cfg->duration_ms > 0 ? cfg->duration_ms : 15000;
    long dl = cfg->renew_deadline_ms > 0 ? cfg->renew_deadline_ms : 10000;
    long rp = cfg->retry_period_ms > 0 ? cfg->retry_period_ms : 2000;
    if (!(dur > dl && dl > rp))
        return mla_err_set(err, MLA_EINVAL, "leader election: need lease duration (%ld ms) > "
                           "renew deadline (%ld ms) > retry period (%ld ms)", dur, dl, rp);
    if (!cfg->ns || !*cfg->ns || !cfg->name || !*cfg->name || !cfg->identity || !*cfg->identity)
        return mla_err_set(err, MLA_EINVAL, "leader election: namespace, name and identity of "
                                            "the Lease are required");
    struct mla_lease *l = mla_xcalloc(1, sizeof *l);
    l->ns = mla_xstrdup(cfg->ns);
    l->name = mla_xstrdup(cfg->name);
    l->identity = mla_xstrdup(cfg->identity);
    l->duration_ms = dur;
    l->renew_deadline_ms = dl;
    l->retry_period_ms = rp;
    l->warn_interval_ms = cfg->warn_interval_ms > 0 ? cfg->warn_interval_ms : 30000;
    l->on_change = cfg->on_change;
    l->ctx = cfg->ctx;
    l->kc = kc;
    atomic_init(&l->leading, false);
    pthread_mutex_init(&l->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&l->cv, &ca);
    pthread_condattr_destroy(&ca);
    l->gauge = mla_metrics_get(MLA_METRIC_GAUGE, "mla_leader",
                               "1 when this replica holds the leader Lease.", "", NULL, 0);
    if (l->gauge)
        mla_metric_set(l->gauge, 0);
    if (pthread_create(&l->thread, NULL, lease_thread, l) != 0) {
        pthread_cond_destroy(&l->cv);
        pthread_mutex_destroy(&l->mu);
        free(l->ns);
        free(l->name);
        free(l->identity);
        free(l);
        return mla_err_set(err, MLA_EIO, "cannot start the leader-election thread");
    }
    *out = l;
    return MLA_OK;
}

void mla_lease_stop(struct mla_lease *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->mu);
    bool joined = l->joined;
    l->stop = true;
    l->joined = true;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
    if (!joined) /* one caller joins: stop is called by the owner's thread only */
        pthread_join(l->thread, NULL);
}

void mla_lease_destroy(struct mla_lease *l)
{
    if (!l)
        return;
    mla_lease_stop(l);
    pthread_cond_destroy(&l->cv);
    pthread_mutex_destroy(&l->mu);
    free(l->ns);
    free(l->name);
    free(l->identity);
    free(l);
}
