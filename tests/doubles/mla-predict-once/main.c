/* mla-predict-once - runs mla_predict_step once on a ScaledObject file (test driver).
 *
 * Usage: mla-predict-once --so FILE --prom URL --now UNIXTIME [--timeout-ms N]
 *                         [--confidence X] [--repeat N] [--model real|toy]
 * --repeat N runs the step N times (a benchmark: "steps: N, mean X ms" on stderr).
 * Prints the merge patch JSON (or `null` when nothing is to be sent) on stdout, and one line
 * "decision: min=N previous=N rule=R changed=B reason=..." (or "skipped: why") on stderr.
 * Exit 0, or 1 with "ERRNAME: message" on stderr.
 *
 * The forecaster here is a deliberately trivial stand-in (seasonal naive): the value at the
 * same time one day earlier for each step of the scale-ahead window, x1.1 as the upper bound;
 * confidence = share of non-gap points over the last day (or --confidence); trend from the last
 * day's mean vs the day before (+-10%). The real model (mla_fc_forecast, fc.h) is wired into
 * mla_predict_env.forecast by the serve loop; `--model real` uses it here too (predict_forecast.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mla/file.h"
#include "mla/log.h"
#include "mla/mem.h"
#include "mla/predict_forecast.h"
#include "mla/predict_step.h"

struct toy {
    double confidence; /* NaN: computed */
};

static double mean(const double *v, size_t from, size_t to)
{
    double s = 0;
    size_t k = 0;
    for (size_t i = from; i < to; i++)
        if (!isnan(v[i])) {
            s += v[i];
            k++;
        }
    return k ? s / (double)k : NAN;
}

static int toy_forecast(void *ctx, const double *v, size_t n, double step_s, int horizon_steps,
                        int ahead_steps, double quantile, double anomaly_threshold,
                        struct mla_predict_forecast *out,
                        struct mla_err *err)
{
    const struct toy *t = ctx;
    (void)quantile;
    (void)anomaly_threshold;
    size_t day = (size_t)llround(86400.0 / step_s);
    double peak = NAN;
    for (int k = ahead_steps; k <= horizon_steps; k++) {
        long idx = (long)n - 1 + k - (long)day;
        if (idx >= 0 && (size_t)idx < n && !isnan(v[idx]) && !(v[idx] <= peak))
            peak = v[idx];
    }
    if (isnan(peak))
        return mla_err_set(err, MLA_ENOTFOUND, "no value one day before the scale-ahead window");
    out->peak_point = peak;
    out->peak_upper = peak * 1.1;
    size_t from = n > day ? n - day : 0, have = 0;
    for (size_t i = from; i < n; i++)
        have += !isnan(v[i]);
    out->confidence = isnan(t->confidence) ? (double)have / (double)(n - from) : t->confidence;
    double last = mean(v, from, n), prev = n >= 2 * day ? mean(v, n - 2 * day, from) : NAN;
    const char *trend = isnan(prev) || isnan(last) || prev <= 0 ? "unknown"
                        : last > prev * 1.1                     ? "rising"
                        : last < prev * 0.9                     ? "falling"
                                                                : "flat";
    snprintf(out->trend, sizeof out->trend, "%s", trend);
    out->observed = NAN;
    return MLA_OK;
}

static char *slurp(const char *path)
{
    char *d = NULL;
    return mla_file_read(path, 64u << 20, &d, NULL, NULL) == MLA_OK ? d : NULL;
}

static int usage(void)
{
    fprintf(stderr, "usage: mla-predict-once --so FILE --prom URL --now UNIXTIME "
                    "[--timeout-ms N] [--confidence X] [--repeat N] [--model real|toy]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *so_path = NULL, *url = NULL;
    double now = NAN, timeout = 5000, repeat = 1;
    struct toy toy = {.confidence = NAN};
    bool real_model = false;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        char *end = NULL;
        double x = strtod(v, &end);
        bool isnum = end != v && !*end;
        if (strcmp(a, "--so") == 0)
            so_path = v;
        else if (strcmp(a, "--prom") == 0)
            url = v;
        else if (strcmp(a, "--now") == 0 && isnum)
            now = x;
        else if (strcmp(a, "--timeout-ms") == 0 && isnum)
            timeout = x;
        else if (strcmp(a, "--repeat") == 0 && isnum && x >= 1)
            repeat = x;
        else if (strcmp(a, "--confidence") == 0 && isnum)
            toy.confidence = x;
        else if (strcmp(a, "--model") == 0 && (!strcmp(v, "real") || !strcmp(v, "toy")))
            real_model = strcmp(v, "real") == 0;
        else
            return usage();
    }
    if (argc % 2 == 0 || !so_path || !url || isnan(now))
        return usage();
    mla_log_set_level(MLA_LOG_WARN);
    char *text = slurp(so_path);
    if (!text) {
        fprintf(stderr, "MLA_EIO: cannot read %s: %s\n", so_path, strerror(errno));
        return 1;
    }
    cJSON *so = cJSON_Parse(text);
    free(text);
    if (!so) {
        fprintf(stderr, "MLA_EPARSE: %s is not JSON\n", so_path);
        return 1;
    }
    struct mla_predict_env env = {.prom = {.base_url = url, .timeout_ms = (long)timeout},
                                  .forecast = real_model ? mla_predict_fc_forecast : toy_forecast,
                                  .forecast_ctx = real_model ? NULL : &toy,
                                  .no_metrics = true};
    cJSON *patch = NULL;
    struct mla_predict_result res;
    struct mla_err err;
    mla_err_clear(&err);
    int code = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 1; i < (long)repeat; i++) {
        if (mla_predict_step(&env, so, (time_t)now, &patch, &res, &err) != MLA_OK)
            break;
        cJSON_Delete(patch);
        patch = NULL;
    }
    enum mla_code rc = mla_predict_step(&env, so, (time_t)now, &patch, &res, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (repeat > 1)
        fprintf(stderr, "steps: %.0f, mean %.3f ms\n", repeat,
                ((double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6) /
                    repeat);
    if (rc != MLA_OK) {
        fprintf(stderr, "%s: %s\n", mla_err_name(err.code), err.msg);
        code = 1;
    } else {
        char *s = patch ? cJSON_PrintUnformatted(patch) : NULL;
        printf("%s\n", s ? s : "null");
        free(s);
        if (res.skipped)
            fprintf(stderr, "skipped: %s\n", res.skipped);
        else
            fprintf(stderr, "decision: min=%d previous=%d rule=%s changed=%s reason=%s\n",
                    res.min_replicas, res.previous, mla_predict_rule_name(res.rule),
                    res.changed ? "true" : "false", res.reason);
    }
    cJSON_Delete(patch);
    cJSON_Delete(so);
    mla_hours_cache_clear();
    mla_prom_global_cleanup();
    return code;
}
