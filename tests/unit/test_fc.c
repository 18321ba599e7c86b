/* test_fc.c - the forecaster on synthetic series with known answers, the CSV reader, bucketing
 * and the evaluation protocol on a series small enough to compute by hand. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mla/fc.h"

#define DAY 288 /* 5-minute buckets */

static uint64_t tf_rng = 88172645463325252ull;

static double tf_unif(void)
{
    tf_rng ^= tf_rng << 13;
    tf_rng ^= tf_rng >> 7;
    tf_rng ^= tf_rng << 17;
    return ((double)(tf_rng >> 11) + 0.5) / 9007199254740992.0;
}

static double tf_gauss(void)
{
    return sqrt(-2 * log(tf_unif())) * cos(6.283185307179586 * tf_unif());
}

static double tf_sine(size_t i)
{
    return 100 + 50 * sin(6.283185307179586 * (double)i / DAY);
}

static void tf_forecast(const double *v, size_t n, struct mla_fc_result *r)
{
    struct mla_err err;
    mla_err_clear(&err);
    cr_assert_eq(mla_fc_forecast(v, n, 300, NULL, r, &err), MLA_OK, "%s", err.msg);
}

Test(fc, daily_sine_is_detected_and_forecast_tightly)
{
    size_t n = 7 * DAY;
    double *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = tf_sine(i);
    struct mla_fc_result r;
    tf_forecast(v, n, &r);
    cr_assert(r.daily.present);
    cr_assert_gt(r.daily.confidence, 0.95, "daily confidence %f", r.daily.confidence);
    cr_assert_eq(r.daily.period_steps, DAY);
    cr_assert_eq(r.weekly.period_steps, 0, "one week of history cannot test a weekly cycle");
    cr_assert_eq(r.trend, MLA_FC_TREND_STABLE, "trend %s", mla_fc_trend_name(r.trend));
    cr_assert_eq(r.horizon_steps, 6);
    for (int h = 0; h < 6; h++) {
        double truth = tf_sine(n + (size_t)h);
        cr_assert_lt(fabs(r.point[h] - truth), 0.02 * truth, "h=%d %f vs %f", h + 1,
                     r.point[h], truth);
        cr_assert_leq(r.lower[h], r.point[h] + 1e-9);
        cr_assert_geq(r.upper[h], r.point[h] - 1e-9);
    }
    cr_assert_gt(r.confidence, 0.9, "confidence %f", r.confidence);
    double wsum = 0;
    for (int k = 0; k < MLA_FC_CAND_COUNT; k++)
        wsum += r.weight[k];
    cr_assert_float_eq(wsum, 1.0, 1e-9);
    free(v);
}

Test(fc, no_cycles_leaves_the_cycles_out_and_the_forecast_as_it_is)
{
    /* two weeks with a daily cycle and a weekly one: both are detected by default */
    size_t n = 14 * DAY;
    double *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = tf_sine(i) * ((i / DAY) % 7 >= 5 ? 0.5 : 1) + tf_gauss();
    struct mla_fc_config cfg;
    mla_fc_config_default(&cfg);
    cr_assert(!cfg.no_cycles, "cycles are detected by default");
    struct mla_fc_result with, without;
    cr_assert_eq(mla_fc_forecast(v, n, 300, &cfg, &with, NULL), MLA_OK);
    cr_assert(with.daily.present && with.weekly.present, "daily %f weekly %f",
              with.daily.confidence, with.weekly.confidence);
    cfg.no_cycles = true;
    cr_assert_eq(mla_fc_forecast(v, n, 300, &cfg, &without, NULL), MLA_OK);
    cr_assert(!without.daily.present && !without.weekly.present);
    cr_assert_eq(without.daily.period_steps, 0);
    cr_assert_eq(without.weekly.period_steps, 0);
    cr_assert_eq(without.daily.strength, 0);
    /* everything else: the same bits */
    cr_assert_eq(memcmp(with.point, without.point, sizeof with.point), 0);
    cr_assert_eq(memcmp(with.upper, without.upper, sizeof with.upper), 0);
    cr_assert_eq(memcmp(with.lower, without.lower, sizeof with.lower), 0);
    cr_assert_eq(memcmp(with.weight, without.weight, sizeof with.weight), 0);
    cr_assert_eq(with.confidence, without.confidence);
    cr_assert_eq(with.trend, without.trend);
    cr_assert_eq(with.trend_change, without.trend_change);
    free(v);
}

Test(fc, white_noise_has_no_cycle_and_lower_confidence)
{
    size_t n = 14 * DAY;
    double *v = malloc(n * sizeof *v), *s = malloc(n * sizeof *s);
    for (size_t i = 0; i < n; i++) {
        v[i] = 100 + 30 * tf_gauss();
        s[i] = tf_sine(i) + 3 * tf_gauss();
    }
    struct mla_fc_result r, rs;
    tf_forecast(v, n, &r);
    tf_forecast(s, n, &rs);
    cr_assert(!r.daily.present);
    cr_assert_lt(r.daily.confidence, 0.1, "daily confidence %f", r.daily.confidence);
    cr_assert_lt(r.weekly.confidence, 0.1, "weekly confidence %f", r.weekly.confidence);
    cr_assert(rs.daily.present);
    cr_assert_lt(r.confidence, rs.confidence, "noise %f vs sine %f", r.confidence,
                 rs.confidence);
    cr_assert_eq(r.trend, MLA_FC_TREND_STABLE, "trend %s", mla_fc_trend_name(r.trend));
    /* The forecast stays near the level (within one noise deviation), whatever the last values
     * were. (A few values < 0 here: the model runs in the series' own space, not log space.) */
    cr_assert_lt(fabs(r.point[5] - 100), 30, "point %f", r.point[5]);
    free(v);
    free(s);
}

Test(fc, outage_is_filtered_and_does_not_shape_the_forecast)
{
    size_t n = 10 * DAY;
    double *v = malloc(n * sizeof *v), *clean = malloc(n * sizeof *clean);
    for (size_t i = 0; i < n; i++)
        clean[i] = v[i] = tf_sine(i) + 2 * tf_gauss();
    /* Six hours of zeros on day 6, and the last hour too. */
    for (size_t i = 6 * DAY + 100; i < 6 * DAY + 172; i++)
        v[i] = 0;
    for (size_t i = n - 12; i < n; i++)
        v[i] = 0;
    struct mla_fc_result r, rc;
    tf_forecast(v, n, &r);
    tf_forecast(clean, n, &rc);
    cr_assert_geq(r.anomalies, 80, "anomalies %zu", r.anomalies);
    cr_assert_lt(rc.anomalies, 10, "clean anomalies %zu", rc.anomalies);
    for (int h = 0; h < 6; h++) {
        double truth = tf_sine(n + (size_t)h);
        cr_assert_lt(fabs(r.point[h] - truth), 0.1 * truth, "h=%d %f vs %f", h + 1, r.point[h],
                     truth);
    }
    free(v);
    free(clean);
}

Test(fc, one_off_spike_is_filtered)
{
    size_t n = 7 * DAY;
    double *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = tf_sine(i) + 2 * tf_gauss();
    v[n - 3] = 2000;
    struct mla_fc_result r;
    tf_forecast(v, n, &r);
    cr_assert_geq(r.anomalies, 1);
    cr_assert_lt(fabs(r.point[0] - tf_sine(n)), 0.1 * tf_sine(n), "point %f", r.point[0]);
    free(v);
}

Test(fc, ramps_are_increasing_and_decreasing)
{
    size_t n = 7 * DAY;
    double *up = malloc(n * sizeof *up), *down = malloc(n * sizeof *down);
    for (size_t i = 0; i < n; i++) {
        double lvl = 100 + 200 * (double)i / (double)n;
        double day = 1 + 0.3 * sin(6.283185307179586 * (double)i / DAY);
        up[i] = lvl * day + 3 * tf_gauss();
        down[i] = (400 - lvl) * day + 3 * tf_gauss();
    }
    struct mla_fc_result r;
    tf_forecast(up, n, &r);
    cr_assert_eq(r.trend, MLA_FC_TREND_INCREASING, "trend %s", mla_fc_trend_name(r.trend));
    cr_assert_gt(r.trend_change, 0.5);
    cr_assert_gt(r.point[5], 250, "a ramp forecast keeps climbing: %f", r.point[5]);
    tf_forecast(down, n, &r);
    cr_assert_eq(r.trend, MLA_FC_TREND_DECREASING, "trend %s", mla_fc_trend_name(r.trend));
    cr_assert_lt(r.trend_change, -0.3);
    free(up);
    free(down);
}

Test(fc, heavy_random_swings_are_volatile)
{
    size_t n = 7 * DAY;
    double *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = 100 * exp(1.0 * tf_gauss());
    struct mla_fc_result r;
    tf_forecast(v, n, &r);
    cr_assert_eq(r.trend, MLA_FC_TREND_VOLATILE, "trend %s", mla_fc_trend_name(r.trend));
    cr_assert_str_eq(mla_fc_trend_name(MLA_FC_TREND_VOLATILE), "volatile");
    free(v);
}

Test(fc, backtest_uses_history_only)
{
    size_t n = 4 * DAY, H = 6, k = 3 * DAY;
    double *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    double *pa = malloc(n * sizeof *pa), *pb = malloc(n * sizeof *pb);
    for (size_t i = 0; i < n; i++)
        a[i] = b[i] = tf_sine(i) + tf_gauss();
    for (size_t i = k; i < n; i++)
        b[i] = 5 * a[i] + 100; /* a different future from point k on */
    struct mla_fc_config cfg;
    mla_fc_config_default(&cfg);
    cr_assert_eq(mla_fc_backtest(a, n, 300, &cfg, pa, NULL, NULL), MLA_OK);
    cr_assert_eq(mla_fc_backtest(b, n, 300, &cfg, pb, NULL, NULL), MLA_OK);
    for (size_t i = 0; i < H; i++)
        cr_assert(isnan(pa[i]));
    for (size_t i = H; i < k + H; i++)
        cr_assert_eq(pa[i], pb[i], "forecast %zu changed with data after it was made", i);
    cr_assert_neq(pa[k + H], pb[k + H]);
    free(a);
    free(b);
    free(pa);
    free(pb);
}

Test(fc, bad_arguments_are_refused)
{
    double v[4] = {1, 2, 3, 4};
    struct mla_fc_result r;
    struct mla_fc_config cfg;
    struct mla_err err;
    mla_fc_config_default(&cfg);
    cr_assert_eq(mla_fc_forecast(v, 2, 300, &cfg, &r, &err), MLA_EINVAL);
    cfg.horizon_steps = MLA_FC_MAX_HORIZON + 1;
    cr_assert_eq(mla_fc_forecast(v, 4, 300, &cfg, &r, &err), MLA_EINVAL);
    cr_assert(strstr(err.msg, "horizon"), "%s", err.msg);
    mla_fc_config_default(&cfg);
    cfg.anomaly_threshold = 1;
    cr_assert_eq(mla_fc_forecast(v, 4, 300, &cfg, &r, &err), MLA_EINVAL);
    cr_assert(strstr(err.msg, "2..5"), "%s", err.msg);
    double gaps[4] = {NAN, 1, NAN, 2};
    mla_fc_config_default(&cfg);
    cr_assert_eq(mla_fc_forecast(gaps, 4, 300, &cfg, &r, &err), MLA_EINVAL);
}

Test(fc, short_history_still_forecasts)
{
    double v[5] = {10, 12, 11, 13, 12};
    struct mla_fc_result r;
    tf_forecast(v, 5, &r);
    cr_assert_eq(r.daily.period_steps, 0);
    cr_assert(r.point[0] > 5 && r.point[0] < 20, "point %f", r.point[0]);
}

/* A request count with two seasons (weekdays busy by day, weekends a lower, later hump) and
 * short bursts over Poisson-like noise: what NASA's trace is made of. The square-root-space
 * double-seasonal candidates (slow level, fast weekly season) must score better at the horizon
 * than every candidate the ensemble had before them, and so carry the ensemble. */
Test(fc, double_seasonal_bursty_counts_are_carried_by_the_sqrt_candidates)
{
    enum { N = 5 * 7 * DAY };
    static double v[N];
    tf_rng = 424242;
    for (size_t i = 0; i < N; i++) {
        double tod = (double)(i % DAY) / DAY, dow = (double)(i / DAY % 7);
        bool weekend = dow >= 5;
        double shape = weekend ? 0.5 + 0.4 * exp(-pow((tod - 0.6) / 0.12, 2))
                               : 0.4 + 1.2 * exp(-pow((tod - 0.5) / 0.15, 2));
        double mu = 200 * shape;
        if (tf_unif() < 0.03)
            mu *= 1 + 2 * tf_unif(); /* a burst: one bucket, up to 3x */
        double y = mu + sqrt(mu) * tf_gauss();
        v[i] = y > 0 ? round(y) : 0;
    }
    struct mla_fc_result r;
    tf_forecast(v, N, &r);
    double sq = fmin(r.cand_mae[MLA_FC_CAND_HW_WEEK_SQRT], r.cand_mae[MLA_FC_CAND_HW_WEEK_SQRT_SLOW]);
    double old = INFINITY;
    for (int k = 0; k < MLA_FC_CAND_HW_WEEK_SQRT; k++)
        if (!isnan(r.cand_mae[k]) && r.cand_mae[k] < old)
            old = r.cand_mae[k];
    cr_assert(sq < 0.95 * old, "sqrt candidates' error %f, best earlier candidate's %f", sq, old);
    double w = r.weight[MLA_FC_CAND_HW_WEEK_SQRT] + r.weight[MLA_FC_CAND_HW_WEEK_SQRT_SLOW];
    cr_assert(w > 0.5, "sqrt candidates' weight %f", w);
}

/* ---- evaluation protocol ---- */

Test(fc_eval, persistence_wape_by_hand)
{
    /* Toy calendar: step 1 s, a "day" of 4 steps and a "week" of 8, horizon 1 step, window of
     * the last 4 points (16..19). Persistence forecasts v[t-1] for t:
     *   t=16: |12-10| = 2, t=17: |9-12| = 3, t=18: |15-9| = 6, t=19: |15-15| = 0
     * WAPE = 11 / (12+9+15+15) = 11/51, score 1 - 11/51 = 0.784314.
     * Same slot "yesterday" forecasts v[t-4] = v[12..15] = 8, 11, 14, 10:
     *   |12-8| + |9-11| + |15-14| + |15-10| = 4+2+1+5 = 12, score 1 - 12/51. */
    double v[20] = {10, 11, 12, 13, 9, 10, 11, 12, 10, 12, 14, 11, 8, 11, 14, 10,
                    12, 9,  15, 15};
    struct mla_fc_config cfg;
    mla_fc_config_default(&cfg);
    cfg.horizon_steps = 1;
    cfg.day_s = 4;
    cfg.week_s = 8;
    struct mla_fc_eval ev;
    struct mla_err err;
    mla_err_clear(&err);
    cr_assert_eq(mla_fc_evaluate(v, 20, 1, &cfg, 4, &ev, &err), MLA_OK, "%s", err.msg);
    cr_assert_eq(ev.eval_start, 16);
    cr_assert_eq(ev.eval_points, 4);
    cr_assert_float_eq(ev.base[MLA_FC_BASE_PERSIST], 1 - 11.0 / 51.0, 1e-12);
    cr_assert_float_eq(ev.base[MLA_FC_BASE_DAY], 1 - 12.0 / 51.0, 1e-12);
    cr_assert(ev.model > 0 && ev.model <= 1);
    cr_assert_str_eq(mla_fc_baseline_name(MLA_FC_BASE_PERSIST), "persistence");
}

Test(fc_eval, too_short_is_an_error)
{
    double v[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    struct mla_fc_eval ev;
    struct mla_err err;
    cr_assert_eq(mla_fc_evaluate(v, 10, 300, NULL, 4032, &ev, &err), MLA_EINVAL);
    cr_assert(strstr(err.msg, "two days"), "%s", err.msg);
}

Test(fc_eval, lookback_scores_only_what_the_loop_would_see)
{
    /* 6 days of a daily cycle with noise; the last day scored, 30 min ahead. The loop forecasts
     * afresh from its last lookbackHours at each pass: with a 2-day lookback, the first 800
     * points (ending > 2 days before the first origin) cannot move the score, while the one-pass
     * model that saw them does move. A lookback covering the whole series is the one-pass model,
     * up to the backtest's ensemble-weight refresh schedule (it refreshes every H points from the
     * start, a one-shot forecast at its own end). */
    enum { N = 6 * DAY, OLD = 800 };
    double *v = malloc(N * sizeof *v), *w = malloc(N * sizeof *w);
    cr_assert(v && w);
    tf_rng = 7;
    for (size_t i = 0; i < N; i++)
        v[i] = w[i] = tf_sine(i) * (1 + 0.1 * tf_gauss());
    for (size_t i = 0; i < OLD; i++)
        w[i] = 5 * v[i];
    struct mla_fc_eval a, b, full_a, full_b, all;
    struct mla_err err;
    mla_err_clear(&err);
    cr_assert_eq(mla_fc_evaluate_lookback(v, N, 300, NULL, DAY, 2 * DAY, &a, &err), MLA_OK,
                 "%s", err.msg);
    cr_assert_eq(mla_fc_evaluate_lookback(w, N, 300, NULL, DAY, 2 * DAY, &b, &err), MLA_OK);
    cr_assert_eq(mla_fc_evaluate(v, N, 300, NULL, DAY, &full_a, &err), MLA_OK);
    cr_assert_eq(mla_fc_evaluate(w, N, 300, NULL, DAY, &full_b, &err), MLA_OK);
    cr_assert_eq(mla_fc_evaluate_lookback(v, N, 300, NULL, DAY, N, &all, &err), MLA_OK);
    cr_assert_eq(a.lookback_steps, 2 * DAY);
    cr_assert_eq(a.eval_points, DAY);
    cr_assert_float_eq(a.model, b.model, 1e-12, "%.15f vs %.15f", a.model, b.model);
    cr_assert(fabs(full_a.model - full_b.model) > 1e-9, "one pass: %.15f vs %.15f",
              full_a.model, full_b.model);
    cr_assert(fabs(a.model - full_a.model) > 1e-9, "lookback changed nothing: %.15f",
              a.model);
    cr_assert_float_eq(all.model, full_a.model, 1e-3, "%.15f vs %.15f", all.model,
                       full_a.model);
    cr_assert_float_eq(a.base[MLA_FC_BASE_PERSIST], full_a.base[MLA_FC_BASE_PERSIST], 1e-12);
    cr_assert_eq(mla_fc_evaluate_lookback(v, N, 300, NULL, DAY, 2, &a, &err), MLA_EINVAL);
    cr_assert(strstr(err.msg, "lookback"), "%s", err.msg);
    free(v);
    free(w);
}

/* ---- CSV and bucketing ---- */

static enum mla_code tf_csv(const char *text, struct mla_fc_series *s, struct mla_err *err)
{
    mla_err_clear(err);
    return mla_fc_csv_parse(text, strlen(text), "t.csv", s, err);
}

Test(fc_csv, gaps_become_nan)
{
    struct mla_fc_series s;
    struct mla_err err;
    cr_assert_eq(tf_csv("timestamp,count\n600,1\n660,2\n780,4\n840,\n900,6\n", &s, &err),
                 MLA_OK, "%s", err.msg);
    cr_assert_eq(s.step_s, 60);
    cr_assert_eq(s.t0, 600);
    cr_assert_eq(s.n, 6);
    cr_assert_eq(s.v[1], 2);
    cr_assert(isnan(s.v[2]), "missing row");
    cr_assert_eq(s.v[3], 4);
    cr_assert(isnan(s.v[4]), "empty value");
    cr_assert_eq(s.v[5], 6);
    mla_fc_series_fini(&s);
}

Test(fc_csv, malformed_rows_name_the_line)
{
    struct mla_fc_series s;
    struct mla_err err;
    cr_assert_eq(tf_csv("timestamp,count\n60,1\n120,abc\n", &s, &err), MLA_EPARSE);
    cr_assert_eq(err.line, 3);
    cr_assert_str_eq(err.src, "t.csv");
    cr_assert(strstr(err.msg, "not a number"), "%s", err.msg);

    cr_assert_eq(tf_csv("timestamp,count\n60,1\nhello\n", &s, &err), MLA_EPARSE);
    cr_assert_eq(err.line, 3);

    cr_assert_eq(tf_csv("timestamp,count\n60,1\n120,2\n120,3\n", &s, &err), MLA_EPARSE);
    cr_assert_eq(err.line, 4);
    cr_assert(strstr(err.msg, "not after"), "%s", err.msg);

    cr_assert_eq(tf_csv("timestamp,count\n60,1\n120,2,3\n", &s, &err), MLA_EPARSE);
    cr_assert_eq(err.line, 3);
    cr_assert(strstr(err.msg, "two columns"), "%s", err.msg);

    cr_assert_eq(tf_csv("timestamp,count\n60,1\n", &s, &err), MLA_EPARSE);
    cr_assert(strstr(err.msg, "at least two"), "%s", err.msg);

    cr_assert_eq(tf_csv("timestamp,count\n0,1\n60,1\n100,2\n", &s, &err), MLA_EPARSE);
    cr_assert(strstr(err.msg, "off the"), "%s", err.msg);
}

Test(fc_csv, missing_file_is_an_io_error)
{
    struct mla_fc_series s;
    struct mla_err err;
    cr_assert_eq(mla_fc_csv_read("/nonexistent/trace.csv", &s, &err), MLA_EIO);
    cr_assert(strstr(err.msg, "/nonexistent/trace.csv"), "%s", err.msg);
}

Test(fc_series, buckets_sum_and_mean_with_a_missing_minute)
{
    /* Minutes 300..960: bucket [300,600) has 60,NaN,30,30,60 -> mean 45, sum 45*5 = 225. */
    double v[11] = {60, NAN, 30, 30, 60, 1, 1, 1, 1, 1, 7};
    struct mla_fc_series in = {.t0 = 300, .step_s = 60, .n = 11, .v = v}, out;
    struct mla_err err;
    cr_assert_eq(mla_fc_series_bucket(&in, 300, MLA_FC_AGG_SUM, &out, &err), MLA_OK);
    cr_assert_eq(out.n, 3);
    cr_assert_eq(out.t0, 300);
    cr_assert_float_eq(out.v[0], 225, 1e-9);
    cr_assert_float_eq(out.v[1], 5, 1e-9);
    cr_assert_float_eq(out.v[2], 35, 1e-9); /* one minute present of the last bucket */
    mla_fc_series_fini(&out);
    cr_assert_eq(mla_fc_series_bucket(&in, 300, MLA_FC_AGG_MEAN, &out, &err), MLA_OK);
    cr_assert_float_eq(out.v[0], 45, 1e-9);
    mla_fc_series_fini(&out);
    cr_assert_eq(mla_fc_series_bucket(&in, 90, MLA_FC_AGG_SUM, &out, &err), MLA_EINVAL);
}

/* ---- streaming model ---- */

Test(fc_model, streaming_in_chunks_equals_batch)
{
    size_t n = 7 * DAY;
    double *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = tf_sine(i) * (1 + 0.05 * tf_gauss());
    v[1000] = NAN;
    struct mla_fc_result batch, stream;
    tf_forecast(v, n, &batch);
    struct mla_fc_model *m = NULL;
    struct mla_err err;
    cr_assert_eq(mla_fc_model_create(300, NULL, &m, &err), MLA_OK);
    cr_assert_eq(mla_fc_model_forecast(m, &stream, &err), MLA_EINVAL, "empty model");
    mla_fc_model_push(m, v, 500);
    mla_fc_model_push(m, v + 500, 1);
    mla_fc_model_push(m, v + 501, n - 501);
    cr_assert_eq(mla_fc_model_points(m), n);
    cr_assert_eq(mla_fc_model_forecast(m, &stream, &err), MLA_OK, "%s", err.msg);
    for (int h = 0; h < 6; h++) {
        cr_assert_float_eq(stream.point[h], batch.point[h], 1e-9 * batch.point[h]);
        cr_assert_float_eq(stream.upper[h], batch.upper[h], 1e-9 * batch.upper[h]);
    }
    cr_assert_eq(stream.missing, 1);
    cr_assert_eq(stream.anomalies, batch.anomalies);
    cr_assert_float_eq(stream.daily.confidence, batch.daily.confidence, 1e-9);
    cr_assert_eq(stream.trend, batch.trend);
    mla_fc_model_destroy(m);
    free(v);
}

Test(fc, a_weekly_peak_is_structure_not_an_anomaly)
{
    /* Flat ~30 with a 300 peak on day 0 of each week, 09:00-11:00. History: three weeks, then
     * day 0 up to 08:30; the sixth step ahead is 09:00, when the peak comes back. */
    size_t week = 7 * DAY, n = 3 * week + 103;
    double *v = malloc(n * sizeof *v);
    size_t peaks = 0;
    for (size_t i = 0; i < n; i++) {
        bool peak = i % week < DAY && i % DAY >= 108 && i % DAY < 132;
        v[i] = (peak ? 300 : 30) * (1 + 0.05 * tf_gauss());
        peaks += peak;
    }
    struct mla_fc_result r;
    tf_forecast(v, n, &r);
    cr_assert_lt(r.anomalies, peaks / 2, "%zu of %zu peak points filtered", r.anomalies, peaks);
    cr_assert_lt(r.point[0], 60, "08:35 is still quiet: %f", r.point[0]);
    cr_assert_gt(r.point[5], 150, "the 09:00 peak is forecast: %f", r.point[5]);
    free(v);
}

/* 15-minute Poisson-like load around 30 with a 2-hour 300 peak on day 6 of every week (09:00 to
 * 11:00; not day 0, when the daily models have no slots yet and the filter cannot judge): the
 * shape of weekly_sharp.csv at a step that keeps the lookback evaluation short. */
#define TF_Q_DAY 96
static double *tf_weekly_sharp(size_t n)
{
    double *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) {
        bool peak = i / TF_Q_DAY % 7 == 6 && i % TF_Q_DAY >= 36 && i % TF_Q_DAY < 44;
        double mu = peak ? 300 : 30;
        v[i] = round(mu + sqrt(mu) * tf_gauss());
    }
    return v;
}

Test(fc_eval, weekly_event_keeps_up_with_last_week_at_the_loops_lookback)
{
    /* The loop forecasts afresh from its last 336 h: two weeks, so one or two past Mondays.
     * The ensemble used to lose to same-slot-last-week there (weekly_sharp: 0.782 vs 0.810):
     * the daily models and the level miss the Monday peak, the smoothed weekly season blurs it,
     * and snaive_week copies last week's noise into every quiet hour. The weekly-deviation
     * candidates carry last week's peak back without its noise. (Beating last week by a margin
     * at 336 h is not reached: a 14-day window never scores them on a past peak, so the
     * ensemble cannot know to trust them when the next one comes.) */
    tf_rng = 88172645463325252ull;
    size_t n = 5 * 7 * TF_Q_DAY;
    double *v = tf_weekly_sharp(n);
    struct mla_fc_config cfg;
    mla_fc_config_default(&cfg);
    struct mla_fc_eval ev;
    struct mla_err err;
    mla_err_clear(&err);
    size_t two_weeks = 14 * TF_Q_DAY; /* the window scored, and the loop's 336 h lookback */
    cr_assert_eq(mla_fc_evaluate_lookback(v, n, 900, &cfg, two_weeks, two_weeks, &ev, &err),
                 MLA_OK, "%s", err.msg);
    /* Before: 0.771 vs 0.818; now 0.812. */
    cr_assert_gt(ev.model, ev.base[MLA_FC_BASE_WEEK] - 0.01, "model %.3f vs last week %.3f",
                 ev.model, ev.base[MLA_FC_BASE_WEEK]);
    mla_err_clear(&err);
    cr_assert_eq(mla_fc_evaluate(v, n, 900, &cfg, 14 * TF_Q_DAY, &ev, &err), MLA_OK, "%s", err.msg);
    /* Before: 0.764 vs 0.818; now 0.800 (only five weeks here: two scored Mondays). */
    cr_assert_gt(ev.model, ev.base[MLA_FC_BASE_WEEK] - 0.03, "all history: %.3f vs %.3f",
                 ev.model, ev.base[MLA_FC_BASE_WEEK]);
    free(v);
}

Test(fc, weekly_peak_in_the_first_week_does_not_skew_the_profile)
{
    /* Two weeks, as a 336 h lookback sees them: the first weekly peak is accepted as a new
     * regime after an hour. That shift used to move the profile's offset too,
     * and nothing moved it back before slots came round a week later: the profile candidate
     * then forecast several times the load in slots first seen before the peak (on
     * weekly_sharp at a 336 h lookback its 1 - WAPE was -3.66; here its error record was above
     * the level's). */
    tf_rng = 88172645463325252ull;
    size_t n = 14 * TF_Q_DAY - 6;
    double *v = tf_weekly_sharp(n);
    struct mla_fc_result r;
    struct mla_err err;
    mla_err_clear(&err);
    cr_assert_eq(mla_fc_forecast(v, n, 900, NULL, &r, &err), MLA_OK, "%s", err.msg);
    double prof = r.cand_mae[MLA_FC_CAND_PROFILE_LOG], lvl = r.cand_mae[MLA_FC_CAND_LEVEL];
    cr_assert(isfinite(prof) && isfinite(lvl));
    cr_assert_lt(prof, lvl, "profile mae %.1f vs level %.1f (was 25.9 vs 22.6)", prof, lvl);
    cr_assert_lt(r.cand_point[MLA_FC_CAND_PROFILE_LOG], 60, "quiet hour forecast %.1f",
                 r.cand_point[MLA_FC_CAND_PROFILE_LOG]);
    free(v);
}

/* ---- the loop's carried weekly profile (issue 17, eighth round) ---- */

Test(fc_profile, hours_of_the_week_a_robust_mean_and_ready_after_a_week)
{
    struct mla_fc_profile p;
    mla_fc_profile_init(&p);
    cr_assert(!mla_fc_profile_ready(&p));
    double y = expm1(4.0); /* log1p space: 4 */
    mla_fc_profile_push(&p, 0, y);               /* the epoch's hour */
    mla_fc_profile_push(&p, 169 * 3600.0 + 59, NAN); /* a gap: nothing */
    cr_assert_eq(p.n[1], 0);
    mla_fc_profile_push(&p, 169 * 3600.0 + 59, y); /* a week and an hour later: hour 1 */
    cr_assert_eq(p.n[1], 1);
    cr_assert_float_eq(p.v[0], 4.0, 1e-6);
    /* an outage (zeros) at hour 0: the second point's gain is 1/2, but the step is clipped to
     * 0.5 (log space), so the hour moves by 0.25, not to 2 */
    mla_fc_profile_push(&p, 604800.0, 0);
    cr_assert_float_eq(p.v[0], 3.75, 1e-6, "%f", (double)p.v[0]);
    /* a point a little off moves it by the running mean's share */
    mla_fc_profile_push(&p, 2 * 604800.0, expm1(3.9));
    cr_assert_float_eq(p.v[0], 3.75 + (3.9 - 3.75) / 3, 1e-6);
    for (int h = 0; h < 167; h++)
        mla_fc_profile_push(&p, h * 3600.0 - 604800.0, 10); /* before the epoch too */
    cr_assert(!mla_fc_profile_ready(&p), "hour 167 not seen yet");
    mla_fc_profile_push(&p, -3600.0, 10);
    cr_assert(mla_fc_profile_ready(&p));
}

/* A weekday/weekend load with daily peaks and Poisson noise, every `day` points a day. */
static double *tf_week_shape(size_t n, int day)
{
    double *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) {
        double tod = (double)(i % (size_t)day) / day, dow = (double)(i / (size_t)day % 7);
        double shape = dow >= 5 ? 0.5 + 0.4 * exp(-pow((tod - 0.6) / 0.12, 2))
                                : 0.4 + 1.2 * exp(-pow((tod - 0.5) / 0.15, 2));
        double mu = 200 * shape;
        double y = mu + sqrt(mu) * tf_gauss();
        v[i] = y > 0 ? round(y) : 0;
    }
    return v;
}

Test(fc, a_seed_changes_the_forecast_only_when_the_profile_is_ready)
{
    enum { N = 3 * 7 * DAY };
    tf_rng = 99;
    double *v = tf_week_shape(N, DAY);
    struct mla_fc_profile p;
    mla_fc_profile_init(&p);
    double t0 = 1767571200; /* values[0]'s time; the profile is of the week before it */
    for (size_t i = 0; i < 7 * DAY - 12; i++) /* all but the last hour */
        mla_fc_profile_push(&p, t0 - 7 * 86400.0 + 300.0 * (double)i, v[i]);
    struct mla_fc_result a, b;
    const double *w = v + 7 * DAY; /* the window: the two weeks after the profile's */
    size_t n = N - 7 * DAY;
    cr_assert_eq(mla_fc_forecast(w, n, 300, NULL, &a, NULL), MLA_OK);
    cr_assert_eq(mla_fc_forecast_seeded(w, n, t0, 300, NULL, NULL, &b, NULL), MLA_OK);
    cr_assert(memcmp(a.point, b.point, sizeof a.point) == 0, "no profile: not the same");
    cr_assert(!mla_fc_profile_ready(&p), "the last hour is missing");
    cr_assert_eq(mla_fc_forecast_seeded(w, n, t0, 300, NULL, &p, &b, NULL), MLA_OK);
    cr_assert(memcmp(a.point, b.point, sizeof a.point) == 0 &&
                  memcmp(a.weight, b.weight, sizeof a.weight) == 0,
              "a profile not ready: not the same");
    for (size_t i = 7 * DAY - 12; i < 7 * DAY; i++)
        mla_fc_profile_push(&p, t0 - 7 * 86400.0 + 300.0 * (double)i, v[i]);
    cr_assert(mla_fc_profile_ready(&p));
    cr_assert_eq(mla_fc_forecast_seeded(w, n, t0, 300, NULL, &p, &b, NULL), MLA_OK);
    cr_assert(memcmp(a.point, b.point, sizeof a.point) != 0, "the seed changed nothing");
    free(v);
}

/* The loop's view with its carried profile: a week's window (the weekly seasons see each slot
 * once) scores better when the weeks that left the window seed it. */
Test(fc_eval, the_carried_profile_lifts_a_one_week_window)
{
    size_t n = 5 * 7 * TF_Q_DAY, week = 7 * TF_Q_DAY;
    tf_rng = 31337;
    double *v = tf_week_shape(n, TF_Q_DAY);
    struct mla_fc_eval plain, loop;
    struct mla_err err;
    mla_err_clear(&err);
    cr_assert_eq(mla_fc_evaluate_lookback(v, n, 900, NULL, week, week + 1, &plain, &err), MLA_OK,
                 "%s", err.msg);
    cr_assert_eq(mla_fc_evaluate_loop(v, n, 1767571200, 900, NULL, week, week + 1, &loop, &err),
                 MLA_OK, "%s", err.msg);
    cr_assert_gt(loop.model, plain.model + 0.005, "carried %.4f, window only %.4f", loop.model,
                 plain.model);
    cr_assert_eq(mla_fc_evaluate_loop(v, n, NAN, 900, NULL, week, week + 1, &loop, &err),
                 MLA_EINVAL);
    free(v);
}
