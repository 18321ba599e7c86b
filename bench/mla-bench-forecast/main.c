/* mla-bench-forecast - forecast throughput on one core: S series of N points (default 10,000
 * series of 2016 points = 7 days of 5-minute buckets). Two ways the reconcile loop can call the
 * forecaster per ScaledObject: batch (mla_fc_forecast on the whole history every time) and
 * streaming (a model per series, one new point pushed, then a forecast). Prints series/s and
 * the time for 10,000 series of each. The series are
 * synthetic (daily cycle, level, noise and a few spikes from a fixed-seed generator), built
 * before the clock starts. Usage: mla-bench-forecast [SERIES [POINTS]] */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "mla/fc.h"
#include "mla/mem.h"

static uint64_t bf_state = 0x9e3779b97f4a7c15ull;

static double bf_rand(void)
{
    bf_state ^= bf_state << 13;
    bf_state ^= bf_state >> 7;
    bf_state ^= bf_state << 17;
    return (double)(bf_state >> 11) / 9007199254740992.0;
}

static double bf_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    long S = argc > 1 ? strtol(argv[1], NULL, 10) : 10000;
    long N = argc > 2 ? strtol(argv[2], NULL, 10) : 2016;
    if (S < 1 || N < 3) {
        fprintf(stderr, "usage: mla-bench-forecast [SERIES>=1 [POINTS>=3]]\n");
        return 2;
    }
    /* 64 distinct series reused round-robin: enough variety, small enough to stay in cache
     * like a loop's working set would not - so also run with S distinct when memory allows. */
    long D = S < 64 ? S : 64;
    double *data = mla_xmalloc((size_t)D * (size_t)N * sizeof(double));
    for (long d = 0; d < D; d++) {
        double base = 20 + 200 * bf_rand(), amp = bf_rand(), ph = 6.28 * bf_rand();
        for (long i = 0; i < N; i++) {
            double v = base * (1 + amp * sin(6.283185307 * (double)i / 288 + ph));
            v += sqrt(v) * (bf_rand() - 0.5) * 3;
            if (bf_rand() < 0.002)
                v *= 4;
            data[d * N + i] = v > 0 ? v : 0;
        }
    }
    struct mla_fc_config cfg;
    mla_fc_config_default(&cfg);
    struct mla_fc_result *r = mla_xmalloc(sizeof *r);
    double sink = 0;
    double t0 = bf_now();
    for (long s = 0; s < S; s++) {
        if (mla_fc_forecast(data + (s % D) * N, (size_t)N, 300, &cfg, r, NULL)) {
            fprintf(stderr, "forecast failed\n");
            return 1;
        }
        sink += r->point[cfg.horizon_steps - 1];
    }
    double dt = bf_now() - t0;
    printf("batch forecast (mla_fc_forecast on the whole history each call): %ld series of %ld "
           "points in %.3f s = %.0f series/s (%.1f us/series, one core)\n",
           S, N, dt, (double)S / dt, dt / (double)S * 1e6);
    printf("batch: time for 10,000 series: %.3f s\n", dt / (double)S * 10000);

    /* Serving path: one streaming model per series, fed the history once (not timed); each
     * round pushes the newest point and forecasts, as the loop does per ScaledObject per poll.
     * D models stand in for S series (memory: ~160 KB per model at a 5-minute step). */
    struct mla_fc_model *models[64];
    for (long d = 0; d < D; d++) {
        if (mla_fc_model_create(300, &cfg, &models[d], NULL)) {
            fprintf(stderr, "model create failed\n");
            return 1;
        }
        mla_fc_model_push(models[d], data + d * N, (size_t)N - 1);
    }
    t0 = bf_now();
    for (long s = 0; s < S; s++) {
        long d = s % D;
        double y = data[d * N + (N - 1)];
        mla_fc_model_push(models[d], &y, 1);
        if (mla_fc_model_forecast(models[d], r, NULL)) {
            fprintf(stderr, "forecast failed\n");
            return 1;
        }
        sink += r->point[cfg.horizon_steps - 1];
    }
    dt = bf_now() - t0;
    printf("streaming (mla_fc_model_push one point + mla_fc_model_forecast): %ld series in %.3f s"
           " = %.0f series/s (%.1f us/series, one core)\n",
           S, dt, (double)S / dt, dt / (double)S * 1e6);
    printf("streaming: time for 10,000 series: %.3f s\n", dt / (double)S * 10000);
    for (long d = 0; d < D; d++)
        mla_fc_model_destroy(models[d]);
    if (sink == 1234.5)
        printf("\n");
    free(r);
    free(data);
    return 0;
}
