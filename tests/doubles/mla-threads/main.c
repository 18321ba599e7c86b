/* mla-threads - the threaded library pieces under concurrent use, as a plain program so that it
 * runs on a ThreadSanitizer build (Criterion cannot start under TSan: Snaipe/Criterion#274).
 *
 * Checks, each printing one line and failing the exit status when it does not hold:
 *   queue    producers push work for a few keys while workers pop, requeue and finish it: no key
 *            is ever held by two workers at once, and the queue drains to empty;
 *   policy   readers decide with the store's current set while a reloader swaps good and broken
 *            policy files: every decision uses a whole set (allowed, min from one version), a
 *            broken file never replaces the last good set;
 *   arena    threads parse JSON in their request arenas at the same time;
 *   metrics  threads update one counter and render the registry: no update is lost.
 * Under TSan a data race makes the process exit non-zero (TSAN_OPTIONS exitcode).
 *
 *   mla-threads [ROUNDS]     (default 1: about a second on a plain build)
 */
#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mla/arena.h"
#include "mla/decide.h"
#include "mla/log.h"
#include "mla/metrics.h"
#include "mla/policy.h"
#include "mla/queue.h"

static _Atomic int th_failures;

static void th_check(bool ok, const char *what)
{
    printf("%s %s\n", ok ? "ok  " : "FAIL", what);
    if (!ok)
        th_failures++;
}

/* ---- queue */

#define TH_KEYS 8
#define TH_PRODUCERS 3
#define TH_WORKERS 3
#define TH_PUSHES 400

struct th_queue {
    struct mla_queue *q;
    _Atomic int holders[TH_KEYS];
    _Atomic int overlaps;
    _Atomic int done;
};

static void *th_producer(void *arg)
{
    struct th_queue *t = arg;
    for (int i = 0; i < TH_PUSHES; i++) {
        char name[16];
        snprintf(name, sizeof name, "d%d", i % TH_KEYS);
        (void)mla_queue_push(t->q, mla_work_create("ns", name));
    }
    return NULL;
}

static void *th_worker(void *arg)
{
    struct th_queue *t = arg;
    struct mla_work *w;
    while ((w = mla_queue_pop(t->q, -1))) {
        int k = (int)strtol(w->name + 1, NULL, 10);
        if (atomic_fetch_add(&t->holders[k], 1) != 0)
            atomic_fetch_add(&t->overlaps, 1);
        usleep(50);
        atomic_fetch_sub(&t->holders[k], 1);
        if (w->attempts++ == 0 && k % 3 == 0) {
            mla_queue_requeue(t->q, w, 1);
        } else {
            atomic_fetch_add(&t->done, 1);
            mla_queue_done(t->q, w);
        }
    }
    return NULL;
}

static void th_queue_run(void)
{
    struct th_queue t = {.q = mla_queue_create(0)};
    pthread_t p[TH_PRODUCERS], w[TH_WORKERS];
    for (int i = 0; i < TH_WORKERS; i++)
        pthread_create(&w[i], NULL, th_worker, &t);
    for (int i = 0; i < TH_PRODUCERS; i++)
        pthread_create(&p[i], NULL, th_producer, &t);
    for (int i = 0; i < TH_PRODUCERS; i++)
        pthread_join(p[i], NULL);
    bool idle = mla_queue_wait_idle(t.q, 30000);
    mla_queue_stop(t.q);
    for (int i = 0; i < TH_WORKERS; i++)
        pthread_join(w[i], NULL);
    th_check(idle && mla_queue_depth(t.q) == 0, "queue: drained to empty");
    th_check(atomic_load(&t.overlaps) == 0, "queue: a key is never held by two workers");
    th_check(atomic_load(&t.done) >= TH_KEYS, "queue: work for every key was done");
    mla_queue_destroy(t.q);
}

/* ---- policy store */

static const char th_policy_fmt[] =
    "apiVersion: ml-autoscaling.io/v1\n"
    "kind: PolicySet\n"
    "policies:\n"
    "  - name: web\n"
    "    defaults:\n"
    "      minReplicas: %d\n"
    "      maxReplicas: 10\n"
    "      triggers:\n"
    "        - {type: cpu, threshold: 70}\n"
    "    profiles:\n"
    "      web: {}\n";

static const char th_dep[] =
    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\","
    "\"namespace\":\"ns\",\"annotations\":{\"ml-autoscaling.io/enabled\":\"true\"}},"
    "\"spec\":{\"replicas\":3,\"selector\":{},\"template\":{\"spec\":{\"containers\":"
    "[{\"name\":\"app\",\"resources\":{\"requests\":{\"cpu\":\"1\",\"memory\":\"1Gi\"}}}]}}}}";

struct th_policy {
    struct mla_policy_store st;
    char path[256];
    _Atomic bool stop;
    _Atomic int decisions, bad;
};

static void th_write(const char *path, const char *text)
{
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return;
    fputs(text, f);
    fclose(f);
    rename(tmp, path); /* whole files only, as a ConfigMap update swaps a symlink */
}

static void *th_reader(void *arg)
{
    struct th_policy *t = arg;
    cJSON *dep = cJSON_Parse(th_dep);
    while (!atomic_load(&t->stop)) {
        struct mla_policy_set *ps = mla_policy_store_acquire(&t->st);
        struct mla_review_request r = {
            .uid = "u", .kind_group = "apps", .kind_version = "v1", .kind = "Deployment",
            .resource = "deployments", .sub_resource = "", .op = MLA_OP_CREATE,
            .operation = "CREATE", .namespace_ = "ns", .name = "", .object = dep,
            .username = "t"};
        struct mla_decision d;
        mla_decision_init(&d);
        enum mla_code rc = mla_decide(ps, &r, &d, NULL);
        const cJSON *min = cJSON_GetObjectItem(cJSON_GetObjectItem(d.scaled_object, "spec"),
                                               "minReplicaCount");
        if (rc != MLA_OK || !d.allowed || !cJSON_IsNumber(min) ||
            (min->valueint != 2 && min->valueint != 3))
            atomic_fetch_add(&t->bad, 1);
        atomic_fetch_add(&t->decisions, 1);
        mla_decision_fini(&d);
        mla_policy_set_unref(ps);
        /* a pause, as request threads wait for their next request: three readers that never
         * block starve the reloading thread under valgrind (one thread runs at a time, and a
         * thread back from a system call waits for the others' time slices), which made the 30
         * reloads take minutes there */
        usleep(200);
    }
    cJSON_Delete(dep);
    return NULL;
}

static void th_policy_run(void)
{
    struct th_policy t = {.decisions = 0};
    char dir[] = "/tmp/mla-threads-XXXXXX";
    if (!mkdtemp(dir)) {
        th_check(false, "policy: mkdtemp");
        return;
    }
    snprintf(t.path, sizeof t.path, "%s/p.yaml", dir);
    char text[1024];
    snprintf(text, sizeof text, th_policy_fmt, 2);
    th_write(t.path, text);
    if (mla_policy_store_init(&t.st, dir, NULL) != MLA_OK) {
        th_check(false, "policy: store init");
        return;
    }
    pthread_t r[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&r[i], NULL, th_reader, &t);
    int good = 0, refused = 0;
    for (int i = 0; i < 30; i++) {
        if (i % 3 == 2)
            th_write(t.path, "policies:\n  - name: broken\n    defaults: {minReplicas: -1}\n");
        else {
            snprintf(text, sizeof text, th_policy_fmt, 2 + i % 2);
            th_write(t.path, text);
        }
        if (mla_policy_store_reload(&t.st, NULL) == MLA_OK)
            good++;
        else
            refused++;
        usleep(2000);
    }
    atomic_store(&t.stop, true);
    for (int i = 0; i < 3; i++)
        pthread_join(r[i], NULL);
    th_check(good == 20 && refused == 10, "policy: good files published, broken ones refused");
    th_check(atomic_load(&t.decisions) > 0 && atomic_load(&t.bad) == 0,
             "policy: every decision during reloads used one whole good set");
    mla_policy_store_fini(&t.st);
    unlink(t.path);
    rmdir(dir);
}

/* ---- request arenas */

static void *th_arena_thread(void *arg)
{
    _Atomic int *bad = arg;
    for (int i = 0; i < 200; i++) {
        mla_arena_begin();
        cJSON *j = cJSON_Parse("{\"request\":{\"uid\":\"u\",\"object\":{\"a\":[1,2,3]}}}");
        if (!j || cJSON_GetArraySize(cJSON_GetObjectItem(
                      cJSON_GetObjectItem(cJSON_GetObjectItem(j, "request"), "object"), "a")) != 3)
            atomic_fetch_add(bad, 1);
        cJSON_Delete(j);
        mla_arena_end();
    }
    return NULL;
}

static void th_arena_run(void)
{
    _Atomic int bad = 0;
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, th_arena_thread, &bad);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    th_check(atomic_load(&bad) == 0, "arena: parallel requests parse in their own arenas");
}

/* ---- metrics */

static void *th_metrics_thread(void *arg)
{
    struct mla_metric *m = arg;
    for (int i = 0; i < 1000; i++) {
        mla_metric_inc(m);
        if (i % 100 == 0) {
            struct mla_buf b;
            mla_buf_init(&b, 0);
            if (mla_metrics_render(&b) != MLA_OK)
                th_failures++;
            mla_buf_fini(&b);
        }
    }
    return NULL;
}

static void th_metrics_run(void)
{
    struct mla_metric *m = mla_metrics_get(MLA_METRIC_COUNTER, "mla_threads_test_total", "test",
                                           NULL, NULL, 0);
    double before = mla_metric_value(m);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, th_metrics_thread, m);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    th_check(mla_metric_value(m) - before == 4000, "metrics: no update lost");
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 1;
    mla_log_set_level(MLA_LOG_OFF);
    mla_arena_install();
    for (int i = 0; i < rounds; i++) {
        th_queue_run();
        th_policy_run();
        th_arena_run();
        th_metrics_run();
    }
    mla_metrics_reset();
    printf("%s\n", th_failures ? "mla-threads: FAILED" : "mla-threads: OK");
    return th_failures ? 1 : 0;
}
