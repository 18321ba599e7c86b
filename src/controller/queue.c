/* controller/queue.c - the work queue (see queue.h).
 *
 * DESIGN: producers are admission request threads and the loop thread; consumers are the
 * worker threads. Everything is guarded by `mu`; `cv` wakes consumers when an item is added,
 * requeued or a key is released, and idle waiters when the queue drains. Pending items are a
 * singly linked list (a few hundred at most in practice; a scan per pop is cheaper than a heap
 * at that size). In-flight keys are a small list. Shutdown: mla_queue_stop sets `stopped` and
 * broadcasts; pop returns NULL; the owner joins the workers, then destroys the queue.
 */
#include "mla/queue.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "mla/mem.h"
#include "mla/metrics.h"
#include "mla/wlkind.h"

struct queue_key {
    struct queue_key *next;
    const char *kind; /* static (queue_kind) */
    char *ns;
    char *name;
};

struct mla_queue {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct mla_work *pending;   /* guarded by mu */
    size_t n_pending;           /* guarded by mu */
    struct queue_key *inflight; /* guarded by mu */
    size_t n_inflight;          /* guarded by mu */
    size_t cap;                 /* immutable */
    bool stopped;               /* guarded by mu */
    struct mla_metric *depth;   /* immutable after create */
};

long long mla_queue_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct mla_work *mla_work_create(const char *ns, const char *name)
{
    struct mla_work *w = mla_xcalloc(1, sizeof *w);
    w->ns = mla_xstrdup(ns);
    w->name = mla_xstrdup(name);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    w->enqueued_wall = (double)tv.tv_sec + tv.tv_usec / 1e6;
    w->enqueued_ms = mla_queue_now_ms();
    w->ready_ms = w->enqueued_ms;
    return w;
}

void mla_work_free(struct mla_work *w)
{
    if (!w)
        return;
    free(w->ns);
    free(w->name);
    cJSON_Delete(w->intent);
    cJSON_Delete(w->so);
    free(w->so_name);
    free(w->uid);
    free(w->transfer_hpa);
    free(w);
}

struct mla_queue *mla_queue_create(size_t cap)
{
    struct mla_queue *q = mla_xcalloc(1, sizeof *q);
    pthread_mutex_init(&q->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&q->cv, &ca);
    pthread_condattr_destroy(&ca);
    q->cap = cap ? cap : 100000;
    q->depth = mla_metrics_get(MLA_METRIC_GAUGE, "mla_worker_queue_depth",
                               "Workloads (Deployments, StatefulSets, Job templates) waiting for "
                               "the worker (pending + in flight).", "",
                               NULL, 0);
    return q;
}

void mla_queue_destroy(struct mla_queue *q)
{
    if (!q)
        return;
    while (q->pending) {
        struct mla_work *n = q->pending->next;
        mla_work_free(q->pending);
        q->pending = n;
    }
    while (q->inflight) {
        struct queue_key *n = q->inflight->next;
        free(q->inflight->ns);
        free(q->inflight->name);
        free(q->inflight);
        q->inflight = n;
    }
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
    free(q);
}

static void queue_gauge(struct mla_queue *q)
{
    if (q->depth)
        mla_metric_set(q->depth, (double)(q->n_pending + q->n_inflight));
}

const struct mla_wl_kind *mla_work_wl(const struct mla_work *w)
{
    return w->job ? mla_wl_job() : w->wl ? w->wl : mla_wl_deployment();
}

/* The kind part of an item's key: a Deployment, a StatefulSet and a Job of one name are three
 * workloads, whose items must neither replace nor wait for each other. Static string. */
static const char *queue_kind(const struct mla_work *w)
{
    return mla_work_wl(w)->kind;
}

static bool queue_same(const struct mla_work *a, const struct mla_work *b)
{
    return !strcmp(queue_kind(a), queue_kind(b)) && !strcmp(a->ns, b->ns) &&
           !strcmp(a->name, b->name);
}

static bool queue_key_is(const struct queue_key *k, const struct mla_work *w)
{
    return !strcmp(k->kind, queue_kind(w)) && !strcmp(k->ns, w->ns) && !strcmp(k->name, w->name);
}

static bool queue_inflight(struct mla_queue *q, const struct mla_work *w)
{
    for (struct queue_key *k = q->inflight; k; k = k->next)
        if (queue_key_is(k, w))
            return true;
    return false;
}

static void queue_release(struct mla_queue *q, const struct mla_work *w)
{
    for (struct queue_key **pp = &q->inflight; *pp; pp = &(*pp)->next)
        if (queue_key_is(*pp, w)) {
            struct queue_key *k = *pp;
            *pp = k->next;
            free(k->ns);
            free(k->name);
            free(k);
            q->n_inflight--;
            return;
        }
}

/* Removes and returns the pending item with w's key, or NULL. Called with mu held. */
static struct mla_work *queue_take_key(struct mla_queue *q, const struct mla_work *w)
{
    for (struct mla_work **pp = &q->pending; *pp; pp = &(*pp)->next)
        if (queue_same(*pp, w)) {
            struct mla_work *x = *pp;
            *pp = x->next;
            q->n_pending--;
            return x;
        }
    return NULL;
}

static void queue_append(struct mla_queue *q, struct mla_work *w)
{
    w->next = NULL;
    struct mla_work **pp = &q->pending;
    while (*pp)
        pp = &(*pp)->next;
    *pp = w;
    q->n_pending++;
}

bool mla_queue_push(struct mla_queue *q, struct mla_work *w)
{
    pthread_mutex_lock(&q->mu);
    if (q->stopped) {
        pthread_mutex_unlock(&q->mu);
        mla_work_free(w);
        return false;
    }
    struct mla_work *old = queue_take_key(q, w);
    if (!old && q->n_pending >= q->cap) {
        pthread_mutex_unlock(&q->mu);
        mla_work_free(w);
        return false;
    }
    queue_append(q, w);
    queue_gauge(q);
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
    mla_work_free(old); /* the newer decision replaces it */
    return true;
}

struct mla_work *mla_queue_pop(struct mla_queue *q, long max_wait_ms)
{
    long long give_up = max_wait_ms >= 0 ? mla_queue_now_ms() + max_wait_ms : -1;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        if (q->stopped) {
            pthread_mutex_unlock(&q->mu);
            return NULL;
        }
        long long now = mla_queue_now_ms();
        long long next = -1;
        for (struct mla_work **pp = &q->pending; *pp; pp = &(*pp)->next) {
            struct mla_work *w = *pp;
            if (queue_inflight(q, w))
                continue;
            if (w->ready_ms <= now) {
                *pp = w->next;
                q->n_pending--;
                struct queue_key *k = mla_xcalloc(1, sizeof *k);
                k->kind = queue_kind(w);
                k->ns = mla_xstrdup(w->ns);
                k->name = mla_xstrdup(w->name);
                k->next = q->inflight;
                q->inflight = k;
                q->n_inflight++;
                w->next = NULL;
                pthread_mutex_unlock(&q->mu);
                return w;
            }
            if (next < 0 || w->ready_ms < next)
                next = w->ready_ms;
        }
        if (give_up >= 0 && now >= give_up) {
            pthread_mutex_unlock(&q->mu);
            return NULL;
        }
        long long until = next;
        if (give_up >= 0 && (until < 0 || give_up < until))
            until = give_up;
        if (until < 0) {
            pthread_cond_wait(&q->cv, &q->mu);
        } else {
            struct timespec ts = {.tv_sec = until / 1000, .tv_nsec = (until % 1000) * 1000000L};
            pthread_cond_timedwait(&q->cv, &q->mu, &ts);
        }
    }
}

void mla_queue_requeue(struct mla_queue *q, struct mla_work *w, long delay_ms)
{
    pthread_mutex_lock(&q->mu);
    queue_release(q, w);
    bool newer = false;
    for (struct mla_work *p = q->pending; p; p = p->next)
        if (queue_same(p, w))
            newer = true;
    if (!newer && !q->stopped) {
        w->ready_ms = mla_queue_now_ms() + (delay_ms > 0 ? delay_ms : 0);
        queue_append(q, w);
        w = NULL;
    }
    queue_gauge(q);
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
    mla_work_free(w);
}

void mla_queue_done(struct mla_queue *q, struct mla_work *w)
{
    pthread_mutex_lock(&q->mu);
    queue_release(q, w);
    queue_gauge(q);
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
    mla_work_free(w);
}

size_t mla_queue_depth(struct mla_queue *q)
{
    pthread_mutex_lock(&q->mu);
    size_t n = q->n_pending + q->n_inflight;
    pthread_mutex_unlock(&q->mu);
    return n;
}

bool mla_queue_wait_idle(struct mla_queue *q, long timeout_ms)
{
    long long until = mla_queue_now_ms() + timeout_ms;
    pthread_mutex_lock(&q->mu);
    while (q->n_pending + q->n_inflight > 0 && !q->stopped) {
        if (mla_queue_now_ms() >= until)
            break;
        struct timespec ts = {.tv_sec = until / 1000, .tv_nsec = (until % 1000) * 1000000L};
        pthread_cond_timedwait(&q->cv, &q->mu, &ts);
    }
    bool idle = q->n_pending + q->n_inflight == 0;
    pthread_mutex_unlock(&q->mu);
    return idle;
}

void mla_queue_stop(struct mla_queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->stopped = true;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
}
