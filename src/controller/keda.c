/* controller/keda.c - KEDA API discovery, the parking of ScaledObject writes while KEDA is
 * missing, and the KEDAMissing Events (see keda.h).
 *
 * DESIGN: create discovers once in the caller's thread (at most 2 s), before admission starts:
 * the first reviews then know the state and no discovery competes with their 300 ms budget
 * (it also leaves a warm connection in the client's pool). Then one checker thread discovers
 * every interval, and between discoveries records the Event for parked Deployments once they
 * are stored (admission parks them before kube-apiserver stores them, so the first try may
 * find nothing: it retries every second for up to a minute; the leader's loop covers the
 * rest). `state` is atomic; `check_mu` serialises a discovery and the
 * state change it causes (checker thread and loop thread); `mu` guards the parked items, the
 * set of Deployments that had the Event in the current state, `stop` and `nudge`.
 * A state change: the new state is published first, then the parked items are taken under mu;
 * mla_keda_park checks the state under mu, so an item is either taken or refused, never lost.
 * Shutdown: destroy sets stop, signals, joins, frees what is parked.
 */
#include "mla/keda.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mla/log.h"
#include "mla/mem.h"
#include "mla/wlkind.h"
#include "mla/worker.h"

#define KEDA_PATH "/apis/keda.sh/v1alpha1"
#define KEDA_EVENT_RETRY_MS 1000
#define KEDA_EVENT_GIVE_UP_MS 60000
#define KEDA_FIRST_BUDGET_MS 2000 /* the check in create: how long a start may wait for it */
#define KEDA_UNKNOWN_MS 10000      /* re-check period while the state is unknown */
#define KEDA_MAX_INTERVAL_MS 60000 /* the loop may be hourly; KEDA's arrival is noticed sooner */

struct keda_parked {
    struct mla_work *w;   /* owned */
    long long parked_ms;  /* monotonic */
};

struct mla_keda {
    struct mla_keda_config cfg; /* immutable; identity points at `identity` */
    char *identity;             /* immutable */
    struct mla_kube *kc;        /* borrowed */
    struct mla_queue *q;        /* borrowed */
    _Atomic int state;          /* atomic: enum mla_keda_state */
    pthread_t thread;
    pthread_mutex_t check_mu;   /* one discovery + state change at a time */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop, nudge;           /* guarded by mu */
    bool joined;                /* owner thread only */
    struct keda_parked *park;   /* guarded by mu */
    size_t npark, apark;        /* guarded by mu */
    char **evented;             /* guarded by mu: "ns/name" that had the Event in this state */
    size_t nev, aev;            /* guarded by mu */
    struct mla_log_limit rl;    /* failed discoveries */
};

const char *mla_keda_state_name(enum mla_keda_state s)
{
    switch (s) {
    case MLA_KEDA_MISSING:
        return "missing";
    case MLA_KEDA_PRESENT:
        return "present";
    default:
        return "unknown";
    }
}

bool mla_keda_lists_scaledobjects(const cJSON *resource_list)
{
    const cJSON *r;
    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(resource_list, "resources"))
    {
        const char *n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "name"));
        if (n && !strcmp(n, "scaledobjects"))
            return true;
    }
    return false;
}

/* The object KEDA would need for a workload of kind wl: a ScaledJob for a Job template. */
static const char *keda_object(const struct mla_wl_kind *wl)
{
    return wl == mla_wl_job() ? "ScaledJob" : "ScaledObject";
}

void mla_keda_missing_text(const struct mla_wl_kind *wl, char *buf, size_t n)
{
    if (!wl)
        wl = mla_wl_deployment();
    snprintf(buf, n, "KEDA's %s API is not installed in this cluster; nothing will scale this "
             "%s until it is", keda_object(wl), wl->kind);
}

/* The evented set's key: a Deployment and a Job of one name are two workloads (new). */
static char *keda_key(const struct mla_wl_kind *wl, const char *ns, const char *name)
{
    return mla_xasprintf("%s/%s/%s", wl->kind, ns, name);
}

enum mla_keda_state mla_keda_state(const struct mla_keda *k)
{
    return k ? (enum mla_keda_state)atomic_load(&((struct mla_keda *)k)->state)
             : MLA_KEDA_UNKNOWN;
}

/* ---------------------------------------------------------------- evented set (mu held) */

static bool keda_evented_locked(const struct mla_keda *k, const char *key)
{
    for (size_t i = 0; i < k->nev; i++)
        if (!strcmp(k->evented[i], key))
            return true;
    return false;
}

static void keda_mark_locked(struct mla_keda *k, const char *key)
{
    if (keda_evented_locked(k, key))
        return;
    if (k->nev == k->aev) {
        k->aev = k->aev ? k->aev * 2 : 16;
        k->evented = mla_xrealloc(k->evented, k->aev * sizeof *k->evented);
    }
    k->evented[k->nev++] = mla_xstrdup(key);
}

static void keda_clear_evented_locked(struct mla_keda *k)
{
    for (size_t i = 0; i < k->nev; i++)
        free(k->evented[i]);
    k->nev = 0;
}

/* The Event once per workload and state. The workload is marked before the Event is sent,
 * so the checker thread and the loop never both send it; a failed send is logged by
 * mla_worker_event and not repeated in this state. wl NULL: Deployment. Any thread; not with
 * mu held. */
static void keda_event_once(struct mla_keda *k, const struct mla_wl_kind *wl, const char *ns,
                            const char *name, const char *uid)
{
    if (!wl)
        wl = mla_wl_deployment();
    char *key = keda_key(wl, ns, name);
    pthread_mutex_lock(&k->mu);
    bool send = atomic_load(&k->state) == MLA_KEDA_MISSING && !keda_evented_locked(k, key);
    if (send)
        keda_mark_locked(k, key);
    pthread_mutex_unlock(&k->mu);
    if (send) {
        char msg[256];
        mla_keda_missing_text(wl, msg, sizeof msg);
        mla_worker_event_on(k->kc, k->identity, wl, ns, name, uid, true, "KEDAMissing",
                            "%s (no keda.sh/v1alpha1 %s API); ml-autoscaling writes the %s "
                            "once KEDA's CRDs are installed", msg, keda_object(wl),
                            keda_object(wl));
    }
    free(key);
}

/* ---------------------------------------------------------------- discovery */

/* One discovery: present or missing, unknown when the API did not say. */
static enum mla_keda_state keda_discover(struct mla_keda *k, long budget_ms)
{
    struct mla_kube_opts o = {.budget_ms = budget_ms, .max_attempts = 2};
    struct mla_kube_resp r = {0};
    struct mla_err err;
    mla_err_clear(&err);
    enum mla_code rc = mla_kube_request(k->kc, MLA_KUBE_GET, KEDA_PATH, NULL, &o, &r, &err);
    enum mla_keda_state st = MLA_KEDA_UNKNOWN;
    if (rc == MLA_OK)
        st = mla_keda_lists_scaledobjects(r.body) ? MLA_KEDA_PRESENT : MLA_KEDA_MISSING;
    else if (rc == MLA_ENOTFOUND)
        st = MLA_KEDA_MISSING;
    mla_kube_resp_fini(&r);
    long sup = 0;
    if (st == MLA_KEDA_UNKNOWN && mla_log_limit_allow(&k->rl, 300.0, &sup))
        mla_log(MLA_LOG_WARN, "keda", "cannot discover KEDA's API (GET %s): %s; KEDA stays "
                "\"%s\" (%ld similar suppressed)", KEDA_PATH, err.msg,
                mla_keda_state_name(mla_keda_state(k)), sup);
    return st;
}

/* A new state: one log line; parked items go to the worker when KEDA is there. */
static void keda_changed(struct mla_keda *k, enum mla_keda_state was, enum mla_keda_state now)
{
    struct keda_parked *taken = NULL;
    size_t ntaken = 0;
    pthread_mutex_lock(&k->mu);
    keda_clear_evented_locked(k);
    if (now == MLA_KEDA_PRESENT) {
        taken = k->park;
        ntaken = k->npark;
        k->park = NULL;
        k->npark = k->apark = 0;
    }
    pthread_mutex_unlock(&k->mu);
    if (now == MLA_KEDA_MISSING)
        mla_log(MLA_LOG_WARN, "keda", "KEDA's ScaledObject API (%s, scaledobjects) is not "
                "installed in this cluster: opted-in Deployments are admitted with a warning and "
                "a KEDAMissing Event, and get their ScaledObject once it is (checked every "
                "%ld s)", KEDA_PATH, (k->cfg.interval_ms + 999) / 1000);
    else if (was == MLA_KEDA_MISSING)
        mla_log(MLA_LOG_INFO, "keda", "KEDA's ScaledObject API is installed now: %zu held-back "
                "ScaledObject writes queued; the leader's loop repairs the rest", ntaken);
    else
        mla_log(MLA_LOG_INFO, "keda", "KEDA's ScaledObject API is installed (%s)", KEDA_PATH);
    long long now_ms = mla_queue_now_ms();
    for (size_t i = 0; i < ntaken; i++) {
        struct mla_work *w = taken[i].w;
        /* the worker's API give-up bound counts from now, not from the admission */
        w->enqueued_ms = now_ms;
        w->ready_ms = now_ms;
        mla_queue_push(k->q, w); /* stolen, even when refused */
    }
    free(taken);
    if (k->cfg.on_change)
        k->cfg.on_change(k->cfg.ctx, now);
}

static enum mla_keda_state keda_check(struct mla_keda *k, long budget_ms)
{
    pthread_mutex_lock(&k->check_mu);
    enum mla_keda_state st = keda_discover(k, budget_ms);
    if (st != MLA_KEDA_UNKNOWN) {
        enum mla_keda_state was = (enum mla_keda_state)atomic_exchange(&k->state, (int)st);
        if (was != st)
            keda_changed(k, was, st);
    } else {
        st = mla_keda_state(k);
    }
    pthread_mutex_unlock(&k->check_mu);
    return st;
}

/* ---------------------------------------------------------------- parking */

bool mla_keda_park(struct mla_keda *k, struct mla_work *w)
{
    if (!k || atomic_load(&k->state) != MLA_KEDA_MISSING)
        return false;
    pthread_mutex_lock(&k->mu);
    if (atomic_load(&k->state) != MLA_KEDA_MISSING) {
        pthread_mutex_unlock(&k->mu);
        return false;
    }
    long long now = mla_queue_now_ms();
    for (size_t i = 0; i < k->npark; i++) {
        if (mla_work_wl(k->park[i].w) == mla_work_wl(w) && !strcmp(k->park[i].w->ns, w->ns) &&
            !strcmp(k->park[i].w->name, w->name)) {
            mla_work_free(k->park[i].w); /* the newest decision wins, as in the queue */
            k->park[i].w = w;
            pthread_mutex_unlock(&k->mu);
            return true;
        }
    }
    if (k->npark >= k->cfg.park_cap) {
        pthread_mutex_unlock(&k->mu);
        mla_log(MLA_LOG_WARN, "keda", "%s/%s: %zu ScaledObject writes already held back while "
                "KEDA is missing; the leader's loop writes this one once KEDA is installed",
                w->ns, w->name, k->cfg.park_cap);
        mla_work_free(w);
        return true;
    }
    if (k->npark == k->apark) {
        k->apark = k->apark ? k->apark * 2 : 16;
        k->park = mla_xrealloc(k->park, k->apark * sizeof *k->park);
    }
    k->park[k->npark++] = (struct keda_parked){.w = w, .parked_ms = now};
    k->nudge = true; /* the Event as soon as the Deployment is stored */
    pthread_cond_broadcast(&k->cv);
    pthread_mutex_unlock(&k->mu);
    return true;
}

/* Events for parked Deployments that have not had theirs; true when some are still waiting
 * to be stored. Checker thread. */
static bool keda_event_parked(struct mla_keda *k)
{
    char **keys = NULL;
    const struct mla_wl_kind **wls = NULL; /* each key's kind (static table) */
    size_t n = 0;
    long long now = mla_queue_now_ms();
    pthread_mutex_lock(&k->mu);
    if (atomic_load(&k->state) == MLA_KEDA_MISSING && k->npark) {
        keys = mla_xcalloc(k->npark, sizeof *keys);
        wls = mla_xcalloc(k->npark, sizeof *wls);
        for (size_t i = 0; i < k->npark; i++) {
            struct mla_work *w = k->park[i].w;
            char *key = keda_key(mla_work_wl(w), w->ns, w->name);
            if (keda_evented_locked(k, key) || now - k->park[i].parked_ms > KEDA_EVENT_GIVE_UP_MS)
                free(key);
            else {
                wls[n] = mla_work_wl(w);
                keys[n++] = key;
            }
        }
    }
    pthread_mutex_unlock(&k->mu);
    bool waiting = false;
    for (size_t i = 0; i < n; i++) {
        char *ns = strchr(keys[i], '/') + 1; /* keda_key: kind/ns/name */
        char *slash = strchr(ns, '/');
        *slash = '\0';
        const char *name = slash + 1;
        char *p = mla_wl_path(wls[i], ns, name);
        struct mla_kube_opts o = {.budget_ms = 2000, .max_attempts = 2};
        struct mla_kube_resp r = {0};
        if (mla_kube_request(k->kc, MLA_KUBE_GET, p, NULL, &o, &r, NULL) == MLA_OK)
            keda_event_once(k, wls[i], ns, name, mla_kube_meta_str(r.body, "uid"));
        else
            waiting = true; /* not stored yet (or the API failed): next second */
        mla_kube_resp_fini(&r);
        free(p);
        free(keys[i]);
    }
    free(keys);
    free(wls);
    return waiting;
}

bool mla_keda_gate(void *ctx)
{
    struct mla_keda *k = ctx;
    if (keda_check(k, 5000) != MLA_KEDA_MISSING)
        return true;
    const struct mla_wl_kind *kinds[] = {mla_wl_deployment(), mla_wl_find("StatefulSet"),
                                         mla_wl_job()};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        const struct mla_wl_kind *wl = kinds[i];
        char *path = mla_xasprintf("/apis/%s/%s?labelSelector=ml-autoscaling.io%%2Fmanaged%%3Dtrue",
                                   wl->api_version, wl->resource);
        struct mla_kube_opts o = {.budget_ms = 20000};
        struct mla_kube_resp r = {0};
        struct mla_err err;
        mla_err_clear(&err);
        if (mla_kube_request(k->kc, MLA_KUBE_LIST, path, NULL, &o, &r, &err) == MLA_OK) {
            const cJSON *d;
            cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(r.body, "items"))
            {
                const char *ns = mla_kube_meta_str(d, "namespace");
                const char *name = mla_kube_meta_str(d, "name");
                if (ns && name)
                    keda_event_once(k, wl, ns, name, mla_kube_meta_str(d, "uid"));
            }
        } else {
            mla_log(MLA_LOG_WARN, "keda", "KEDA is missing and the managed %ss cannot be "
                    "listed for their Events: %s", wl->kind, err.msg);
        }
        mla_kube_resp_fini(&r);
        free(path);
    }
    return false;
}

/* ---------------------------------------------------------------- thread */

/* The next discovery: every interval; sooner while the state is unknown (API down, wrong
 * token), so KEDA's state is known soon after the API answers. */
static long long keda_next(const struct mla_keda *k, enum mla_keda_state st)
{
    long every = st == MLA_KEDA_UNKNOWN && k->cfg.interval_ms > KEDA_UNKNOWN_MS ? KEDA_UNKNOWN_MS
                                                                                : k->cfg.interval_ms;
    return mla_queue_now_ms() + every;
}

static void *keda_thread(void *arg)
{
    struct mla_keda *k = arg;
    long long next_check = keda_next(k, mla_keda_state(k)); /* create checked once */
    bool waiting = false;
    pthread_mutex_lock(&k->mu);
    while (!k->stop) {
        pthread_mutex_unlock(&k->mu);
        if (mla_queue_now_ms() >= next_check)
            next_check = keda_next(k, keda_check(k, 5000));
        waiting = keda_event_parked(k);
        long long until = next_check;
        if (waiting && mla_queue_now_ms() + KEDA_EVENT_RETRY_MS < until)
            until = mla_queue_now_ms() + KEDA_EVENT_RETRY_MS;
        struct timespec ts = {.tv_sec = until / 1000, .tv_nsec = (until % 1000) * 1000000L};
        pthread_mutex_lock(&k->mu);
        while (!k->stop && !k->nudge && mla_queue_now_ms() < until)
            pthread_cond_timedwait(&k->cv, &k->mu, &ts);
        k->nudge = false;
    }
    pthread_mutex_unlock(&k->mu);
    return NULL;
}

enum mla_code mla_keda_create(const struct mla_keda_config *cfg, struct mla_kube *kc,
                              struct mla_queue *q, struct mla_keda **out, struct mla_err *err)
{
    struct mla_keda *k = mla_xcalloc(1, sizeof *k);
    k->cfg = *cfg;
    if (k->cfg.interval_ms <= 0 || k->cfg.interval_ms > KEDA_MAX_INTERVAL_MS)
        k->cfg.interval_ms = KEDA_MAX_INTERVAL_MS;
    if (!k->cfg.park_cap)
        k->cfg.park_cap = 4096;
    k->identity = mla_xstrdup(cfg->identity ? cfg->identity : "ml-autoscaling");
    k->cfg.identity = k->identity;
    k->kc = kc;
    k->q = q;
    atomic_init(&k->state, MLA_KEDA_UNKNOWN);
    pthread_mutex_init(&k->check_mu, NULL);
    pthread_mutex_init(&k->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&k->cv, &ca);
    pthread_condattr_destroy(&ca);
    (void)keda_check(k, KEDA_FIRST_BUDGET_MS);
    if (pthread_create(&k->thread, NULL, keda_thread, k) != 0) {
        pthread_cond_destroy(&k->cv);
        pthread_mutex_destroy(&k->mu);
        pthread_mutex_destroy(&k->check_mu);
        free(k->identity);
        free(k);
        return mla_err_set(err, MLA_EIO, "cannot start the KEDA discovery thread");
    }
    *out = k;
    return MLA_OK;
}

void mla_keda_stop(struct mla_keda *k)
{
    if (!k || k->joined)
        return;
    pthread_mutex_lock(&k->mu);
    k->stop = true;
    pthread_cond_broadcast(&k->cv);
    pthread_mutex_unlock(&k->mu);
    pthread_join(k->thread, NULL);
    k->joined = true;
}

void mla_keda_destroy(struct mla_keda *k)
{
    if (!k)
        return;
    mla_keda_stop(k);
    for (size_t i = 0; i < k->npark; i++)
        mla_work_free(k->park[i].w);
    free(k->park);
    keda_clear_evented_locked(k);
    free(k->evented);
    pthread_cond_destroy(&k->cv);
    pthread_mutex_destroy(&k->mu);
    pthread_mutex_destroy(&k->check_mu);
    free(k->identity);
    free(k);
}
