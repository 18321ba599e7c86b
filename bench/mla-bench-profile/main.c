/* mla-bench-profile - what persisting the loop's weekly profile (issue 17, ninth round) buys: the
 * loop's path (`forecast --evaluate --lookback-hours`: a forecast afresh from the window at each
 * origin, seeded with the profile of the points that left it) scored four ways over the last
 * EVAL_DAYS of a trace, 1 - WAPE of the forecast H steps ahead:
 *   carried    the profile kept in memory since the trace's start (mla_fc_evaluate_loop);
 *   written    the same, but the profile replaced by its decoded annotation text at each daily
 *              write (what the loop now carries: it keeps what it wrote);
 *   restored   a restart at the first scored origin from the text written up to a day before,
 *              caught up to the window as a new leader does (must equal `written`);
 *   empty      a restart there without it (before this round: no seed for a week).
 * Also prints the text's size. Usage: mla-bench-profile TRACE.csv [LOOKBACK_H [EVAL_DAYS]] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mla/fc.h"
#include "mla/mem.h"
#include "mla/predict_forecast.h"

#define BP_WAYS 4
static const char *const bp_names[BP_WAYS] = {"carried", "written", "restored", "empty"};

/* p replaced by what its text decodes to (the write); false when it cannot be written yet */
static bool bp_write(struct mla_fc_profile *p, double t, size_t *len)
{
    char text[MLA_FC_PROFILE_TEXT_LEN + 1];
    double t2;
    uint64_t k;
    if (mla_fc_profile_encode(p, t, 1, text, sizeof text, NULL) != MLA_OK ||
        mla_fc_profile_decode(text, p, &t2, &k, NULL) != MLA_OK)
        return false;
    *len = strlen(text);
    return true;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: mla-bench-profile TRACE.csv [LOOKBACK_H [EVAL_DAYS]]\n");
        return 2;
    }
    double lookback_h = argc > 2 ? atof(argv[2]) : 336, eval_days = argc > 3 ? atof(argv[3]) : 14;
    struct mla_fc_series raw, s;
    struct mla_err err;
    mla_err_clear(&err);
    if (mla_fc_csv_read(argv[1], &raw, &err) ||
        mla_fc_series_bucket(&raw, 300, MLA_FC_AGG_MEAN, &s, &err)) {
        fprintf(stderr, "mla-bench-profile: %s: %s\n", argv[1], err.msg);
        return 2;
    }
    mla_fc_series_fini(&raw);
    double step = s.step_s;
    for (size_t i = 0; i < s.n; i++)
        s.v[i] = (double)(float)s.v[i]; /* the loop's window stores floats */
    struct mla_fc_config cfg;
    mla_fc_config_default(&cfg);
    cfg.horizon_steps = 6; /* 30 min */
    cfg.quantile = 0.82;
    cfg.anomaly_threshold = 3.5;
    size_t H = 6, lookback = (size_t)(lookback_h * 3600 / step + 0.5) + 1;
    size_t start = s.n - (size_t)(eval_days * 86400 / step + 0.5);
    size_t restart = start; /* the origin of the first scored bucket is start - H */

    struct mla_fc_profile p[BP_WAYS];
    double newest[BP_WAYS] = {0}, written_t = 0, written2_t = 0, last_text_t = 0;
    for (int w = 0; w < BP_WAYS; w++)
        mla_fc_profile_init(&p[w]);
    struct mla_fc_profile last_text; /* the latest text `written` wrote, decoded */
    mla_fc_profile_init(&last_text);
    size_t left[BP_WAYS] = {0}, text_len = 0;
    double *model[BP_WAYS];
    for (int w = 0; w < BP_WAYS; w++) {
        model[w] = mla_xmalloc(s.n * sizeof(double));
        for (size_t t = 0; t < s.n; t++)
            model[w][t] = NAN;
    }
    struct mla_fc_result *r = mla_xmalloc(sizeof *r);
    double cpu0 = (double)clock() / CLOCKS_PER_SEC;
    for (size_t t = start - H; t < s.n; t++) {
        size_t end = t - H + 1, lo = end > lookback ? end - lookback : 0;
        double wstart = s.t0 + (double)lo * step;
        if (t == restart) {
            /* the new leader: the last text, caught up when it is at most a day behind */
            p[2] = last_text;
            newest[2] = written2_t = last_text_t;
            double q = mla_predict_profile_query_start(newest[2], wstart, step);
            size_t qi = (size_t)((q - s.t0) / step + 0.5);
            mla_predict_profile_catch_up(s.v + qi, lo - qi, q, step, wstart, &p[2], &newest[2]);
            left[2] = lo;
            mla_fc_profile_init(&p[3]);
            left[3] = lo;
        }
        for (int w = 0; w < BP_WAYS; w++) {
            if (w >= 2 && t < restart) {
                left[w] = lo;
                continue;
            }
            for (; left[w] < lo; left[w]++) {
                newest[w] = s.t0 + (double)left[w] * step;
                mla_fc_profile_push(&p[w], newest[w], s.v[left[w]]);
            }
        }
        /* `written`, and the new leader after the restart: each rewrites a missing or day-old
         * text, and keeps what it wrote */
        if (mla_fc_profile_ready(&p[1]) &&
            (written_t == 0 || newest[1] - written_t >= MLA_PREDICT_PROFILE_REFRESH_S) &&
            bp_write(&p[1], newest[1], &text_len)) {
            written_t = newest[1];
            last_text = p[1];
            last_text_t = newest[1];
        }
        if (t >= restart && newest[2] - written2_t >= MLA_PREDICT_PROFILE_REFRESH_S &&
            bp_write(&p[2], newest[2], &text_len))
            written2_t = newest[2];
        if (t < start)
            continue;
        for (int w = 0; w < BP_WAYS; w++)
            if (mla_fc_forecast_seeded(s.v + lo, end - lo, wstart, step, &cfg, &p[w], r,
                                       NULL) == MLA_OK)
                model[w][t] = r->point[H - 1];
    }
    double cpu = (double)clock() / CLOCKS_PER_SEC - cpu0;
    double err_sum[BP_WAYS] = {0}, act = 0;
    size_t cnt = 0, differ = 0;
    for (size_t t = start; t < s.n; t++) {
        bool ok = !isnan(s.v[t]);
        for (int w = 0; w < BP_WAYS; w++)
            ok = ok && !isnan(model[w][t]);
        if (!ok)
            continue;
        cnt++;
        act += fabs(s.v[t]);
        for (int w = 0; w < BP_WAYS; w++)
            err_sum[w] += fabs(s.v[t] - model[w][t]);
        differ += model[1][t] != model[2][t];
    }
    printf("trace %s: %zu points of %g s; lookback %g h (%zu points), horizon %zu steps, "
           "the last %g days scored (%zu buckets), restart at the first scored origin\n",
           argv[1], s.n, step, lookback_h, lookback, H, eval_days, cnt);
    printf("annotation text: %zu bytes\n", text_len);
    for (int w = 0; w < BP_WAYS; w++)
        printf("  %-9s %.5f\n", bp_names[w], 1 - err_sum[w] / act);
    printf("restored vs written: %zu of %zu forecasts differ (0: bit for bit)\n", differ, cnt);
    printf("cpu %.1f s\n", cpu);
    for (int w = 0; w < BP_WAYS; w++)
        free(model[w]);
    free(r);
    mla_fc_series_fini(&s);
    return 0;
}
