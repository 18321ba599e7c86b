/* mla-bench-decide - times mla_decide() in-process: not-opted-in vs opted-in Deployments.
 *
 * Usage: mla-bench-decide [--policies DIR] [--iterations N] [--review FILE]...
 * Prints ns per decision (mean, p50, p99) for each path. The webhook's own benchmark measures
 * the whole HTTP path; this one isolates the engine (decision + freeing it). Each --review
 * FILE (an AdmissionReview body) adds a line for the whole in-process admission path as
 * serve runs it: decode, decide, encode the response, with the request arena.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mla/arena.h"
#include "mla/buf.h"
#include "mla/decide.h"
#include "mla/policy.h"
#include "mla/review.h"

static const char *const bench_plain =
    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\","
    "\"namespace\":\"shop\",\"labels\":{\"app\":\"web\",\"team\":\"payments\"},\"annotations\":{"
    "\"deployment.kubernetes.io/revision\":\"12\",\"owner\":\"payments\"}},\"spec\":{\"replicas\":3,"
    "\"selector\":{\"matchLabels\":{\"app\":\"web\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":"
    "\"web\"}},\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx:1.27\",\"resources\":{"
    "\"requests\":{\"cpu\":\"200m\",\"memory\":\"128Mi\"}}}]}}}}";

static const char *const bench_opted =
    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"llama\","
    "\"namespace\":\"ml\",\"labels\":{\"app\":\"llama\",\"team\":\"nlp\"},\"annotations\":{"
    "\"deployment.kubernetes.io/revision\":\"12\",\"ml-autoscaling.io/enabled\":\"true\","
    "\"ml-autoscaling.io/profile\":\"vllm\",\"ml-autoscaling.io/target-latency-ms\":\"3000\","
    "\"ml-autoscaling.io/max-replicas\":\"6\"}},\"spec\":{\"replicas\":2,"
    "\"selector\":{\"matchLabels\":{\"app\":\"llama\"}},\"template\":{\"metadata\":{\"labels\":{"
    "\"app\":\"llama\"}},\"spec\":{\"containers\":[{\"name\":\"vllm\",\"image\":\"vllm/vllm-openai\","
    "\"resources\":{\"limits\":{\"nvidia.com/gpu\":1}}}]}}}}";

static long long bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* CPU time of this thread: on a shared machine, unlike wall time, it leaves out the time the
 * thread waited for a core (cache effects of the neighbours remain). */
static long long bench_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int bench_cmp(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

static int bench_run(const char *label, struct mla_policy_set *ps, const char *json, long n)
{
    cJSON *obj = cJSON_Parse(json);
    if (!obj)
        return -1;
    struct mla_review_request req = {
        .uid = "bench", .kind_group = "apps", .kind_version = "v1", .kind = "Deployment",
        .resource = "deployments", .sub_resource = "", .op = MLA_OP_CREATE,
        .operation = "CREATE", .namespace_ = cJSON_GetStringValue(cJSON_GetObjectItem(
                                  cJSON_GetObjectItem(obj, "metadata"), "namespace")),
        .name = "", .object = obj, .username = "bench",
    };
    long long *t = malloc((size_t)n * sizeof *t);
    if (!t) {
        cJSON_Delete(obj);
        return -1;
    }
    long long sum = 0;
    int patched = 0;
    for (long i = 0; i < n + n / 10; i++) {
        struct mla_decision d;
        long long t0 = bench_now();
        enum mla_code rc = mla_decide(ps, &req, &d, NULL);
        mla_decision_fini(&d);
        long long dt = bench_now() - t0;
        if (rc != MLA_OK) {
            free(t);
            cJSON_Delete(obj);
            return -1;
        }
        if (i >= n / 10) { /* the first 10% warm the caches */
            t[i - n / 10] = dt;
            sum += dt;
        }
        patched = d.action == MLA_ACT_APPLY;
    }
    qsort(t, (size_t)n, sizeof *t, bench_cmp);
    printf("%-14s n=%ld  mean=%lld ns  p50=%lld ns  p99=%lld ns  (%s)\n", label, n, sum / n,
           t[n / 2], t[(n * 99) / 100], patched ? "ScaledObject + patch" : "no patch");
    free(t);
    cJSON_Delete(obj);
    return 0;
}

/* One admission as http_mutate does it (the tree-less answer when it can), minus HTTP: returns the response size, -1 on error. */
static long bench_admit(struct mla_policy_set *ps, const char *body, size_t len,
                        struct mla_buf *out)
{
    struct mla_review_request req;
    struct mla_decision d;
    mla_buf_reset(out);
    /* the not-opted-in answer from the scan alone, as http_mutate_plain gives it */
    struct mla_review_scan sc;
    mla_review_scan(body, len, &sc);
    struct mla_review_plain pl;
    if (mla_review_plain(body, &sc, &pl) && mla_decide_plain(&pl)) {
        mla_decision_init(&d);
        return mla_review_encode(pl.uid, &d, out, NULL) == MLA_OK ? (long)out->len : -1;
    }
    mla_arena_begin();
    long size = -1;
    if (mla_review_decode_scanned(body, len, &sc, &req, NULL, 0, NULL) == MLA_OK) {
        if (mla_decide(ps, &req, &d, NULL) == MLA_OK &&
            mla_review_encode(req.uid, &d, out, NULL) == MLA_OK)
            size = (long)out->len;
        mla_decision_fini(&d);
        mla_review_request_fini(&req);
    }
    mla_arena_end();
    return size;
}

static int bench_review(struct mla_policy_set *ps, const char *path, long n)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "mla-bench-decide: cannot open %s\n", path);
        return -1;
    }
    static char body[1 << 20];
    size_t len = fread(body, 1, sizeof body, f);
    fclose(f);
    struct mla_buf out;
    mla_buf_init(&out, 1 << 20);
    long long *t = malloc((size_t)n * sizeof *t);
    long long sum = 0, cpu0 = 0;
    long size = 0;
    for (long i = 0; t && size >= 0 && i < n + n / 10; i++) {
        if (i == n / 10)
            cpu0 = bench_cpu();
        long long t0 = bench_now();
        size = bench_admit(ps, body, len, &out);
        long long dt = bench_now() - t0;
        if (i >= n / 10) {
            t[i - n / 10] = dt;
            sum += dt;
        }
    }
    long long cpu = bench_cpu() - cpu0;
    mla_buf_fini(&out);
    if (!t || size < 0) {
        fprintf(stderr, "mla-bench-decide: %s: not an AdmissionReview that decodes\n", path);
        free(t);
        return -1;
    }
    qsort(t, (size_t)n, sizeof *t, bench_cmp);
    const char *base = strrchr(path, '/');
    printf("%-14s n=%ld  mean=%lld ns  p50=%lld ns  p99=%lld ns  cpu=%lld ns  (decode+decide+encode, "
           "%zu B in, %ld B out)\n", base ? base + 1 : path, n, sum / n, t[n / 2],
           t[(n * 99) / 100], cpu / n, len, size);
    free(t);
    return 0;
}

int main(int argc, char **argv)
{
    const char *reviews[8];
    int nreviews = 0;
    const char *dir = "policies";
    long n = 200000;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--policies") && i + 1 < argc) {
            dir = argv[++i];
        } else if (!strcmp(argv[i], "--iterations") && i + 1 < argc) {
            char *end = NULL;
            n = strtol(argv[++i], &end, 10);
            if (*end || n < 100) {
                fprintf(stderr, "mla-bench-decide: --iterations must be an integer >= 100\n");
                return 2;
            }
        } else if (!strcmp(argv[i], "--review") && i + 1 < argc && nreviews < 8) {
            reviews[nreviews++] = argv[++i];
        } else {
            fprintf(stderr, "Usage: mla-bench-decide [--policies DIR] [--iterations N] "
                            "[--review FILE]...\n");
            return 2;
        }
    }
    struct mla_policy_set *ps = NULL;
    struct mla_err err;
    mla_err_clear(&err);
    if (mla_policy_set_load_dir(dir, &ps, &err) != MLA_OK) {
        fprintf(stderr, "mla-bench-decide: %s:%d:%d: %s\n", err.src, err.line, err.col, err.msg);
        return 2;
    }
    int rc = bench_run("not-opted-in", ps, bench_plain, n);
    if (rc == 0)
        rc = bench_run("opted-in", ps, bench_opted, n / 10);
    mla_arena_install(); /* as serve does: cJSON allocates from the request arena */
    for (int i = 0; rc == 0 && i < nreviews; i++)
        rc = bench_review(ps, reviews[i], n / 10);
    mla_policy_set_unref(ps);
    return rc ? 1 : 0;
}
