/* test_predict_models.c - the loop's kept windows (predict_models.h): a full-lookback build on
 * the first call, then only the samples since the last one and a short overlap (the fetch
 * window), late samples replacing what was fetched before, reuse without a query inside one
 * grid step, rebuild on a config change or a long gap, eviction of idle windows, the bound on
 * their number, Prometheus failures, and that the forecast is the one-shot forecaster's on the
 * same lookback, bit for bit (float-stored samples), within 1e-6 of it on unrounded samples. Prometheus is replaced by a fetch
 * function that records the windows asked for and serves a daily sine. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mla/fc.h"
#include "mla/log.h"
#include "mla/metrics.h"
#include "mla/predict_forecast.h"
#include "mla/predict_models.h"

#define STEP 300.0
#define NOW0 1795608000 /* 2026-11-25T12:00:00Z, a multiple of 300 */

struct fake {
    int calls;
    double start[16], end[16], step[16];
    char query[16][64];
    bool fail;
    bool gaps; /* answer every grid point as a gap */
    double late_t;  /* a grid time whose sample arrives late: a gap in the first answer that
                     * holds it, present in later ones; 0: none */
    double late_x;  /* the late sample's value is load_at(late_t) * late_x (0: 1) */
    int late_seen;  /* answers that held late_t so far */
    bool weekly;    /* serve load_weekly instead of load_at */
};

static double load_at(double t)
{
    return 100 + 60 * sin(t * 2 * M_PI / 86400);
}

/* A daily and a weekly cycle with noise (a hash of t: the same value at every fetch): a series
 * on which the weekly and the Holt-Winters candidates carry the forecast, not the seasonal
 * naive one that forecasts a pure sine exactly. */
static double load_weekly(double t)
{
    unsigned long long h = (unsigned long long)(t / 300) * 0x9E3779B97F4A7C15ull;
    h ^= h >> 29;
    double u = (double)(h % 10007) / 10007.0 - 0.5;
    return 100 + 60 * sin(t * 2 * M_PI / 86400) + 30 * sin(t * 2 * M_PI / 604800) + 20 * u;
}

static enum mla_code fake_fetch(void *ctx, const struct mla_prom_opts *opts, const char *query,
                                double start, double end, double step,
                                struct mla_prom_series *out, struct mla_err *err)
{
    (void)opts;
    struct fake *f = ctx;
    if (f->calls < 16) {
        f->start[f->calls] = start;
        f->end[f->calls] = end;
        f->step[f->calls] = step;
        snprintf(f->query[f->calls], sizeof f->query[0], "%s", query);
    }
    f->calls++;
    if (f->fail)
        return mla_err_set(err, MLA_EUNAVAIL, "prometheus down (test)");
    out->start = start;
    out->step = step;
    out->n = (size_t)floor((end - start) / step + 1e-9) + 1;
    out->v = malloc(out->n * sizeof *out->v);
    for (size_t i = 0; i < out->n; i++) {
        double t = start + (double)i * step;
        out->v[i] = f->gaps ? NAN : f->weekly ? load_weekly(t) : load_at(t);
        if (f->late_t && fabs(t - f->late_t) < 1e-6)
            out->v[i] = f->late_seen++ == 0 ? NAN : load_at(t) * (f->late_x ? f->late_x : 1);
    }
    out->series = 1;
    return MLA_OK;
}

static const char *cfg_a =
    "{\"enabled\":true,\"query\":\"sum(rate(x[5m]))\",\"lookbackHours\":48,\"stepSeconds\":300,"
    "\"capacityPerReplica\":10}";
static const char *cfg_b =
    "{\"enabled\":true,\"query\":\"sum(rate(y[5m]))\",\"lookbackHours\":48,\"stepSeconds\":300,"
    "\"capacityPerReplica\":10}";

static struct mla_predict_config parse(const char *text)
{
    struct mla_predict_config c;
    mla_predict_config_init(&c);
    struct mla_err e;
    cr_assert_eq(mla_predict_config_parse(text, &c, &e), MLA_OK, "%s", e.msg);
    return c;
}

static struct mla_predict_models *table(size_t max, double idle, struct fake *f)
{
    struct mla_predict_models *m = NULL;
    cr_assert_eq(mla_predict_models_create(max, idle, &m, NULL), MLA_OK);
    mla_predict_models_set_fetch(m, fake_fetch, f);
    return m;
}

static const struct mla_prom_opts prom = {.base_url = "http://127.0.0.1:1"};

/* mla_predict_models_profile_due / _text for shop/name under the config text cfg. */
static bool due(struct mla_predict_models *m, const char *name, const char *cfg,
                const char *stored)
{
    struct mla_predict_config c = parse(cfg);
    bool r = mla_predict_models_profile_due(m, "shop", name, cfg, &c, stored);
    mla_predict_config_fini(&c);
    return r;
}

static bool text_of(struct mla_predict_models *m, const char *name, const char *cfg,
                    const char *stored, char *out, size_t outlen)
{
    struct mla_predict_config c = parse(cfg);
    bool r = mla_predict_models_profile_text(m, "shop", name, cfg, &c, stored, out, outlen);
    mla_predict_config_fini(&c);
    return r;
}

/* One call for ns/name at now; asserts a forecast came out. */
static struct mla_predict_forecast call(struct mla_predict_models *m, const char *name,
                                        const char *text, time_t now)
{
    struct mla_predict_config c = parse(text);
    struct mla_predict_forecast fc = {.peak_upper = NAN};
    bool have = false;
    char why[200] = "";
    struct mla_err e;
    mla_err_clear(&e);
    cr_assert_eq(mla_predict_models_forecast(m, NULL, &prom, "shop", name, text, &c, now, 6, 3, &fc,
                                             &have, why, sizeof why, &e),
                 MLA_OK, "%s", e.msg);
    cr_assert(have, "no forecast: %s", why);
    mla_predict_config_fini(&c);
    return fc;
}

static void init(void)
{
    mla_log_set_level(MLA_LOG_OFF);
}

static void fini(void)
{
    mla_metrics_reset();
}

TestSuite(predict_models, .init = init, .fini = fini);

Test(predict_models, first_call_fetches_the_lookback_then_only_new_samples)
{
    struct fake f = {0};
    struct mla_predict_models *m = table(10, 600, &f);
    call(m, "web", cfg_a, NOW0 + 10);
    cr_assert_eq(f.calls, 1);
    cr_assert_float_eq(f.end[0], NOW0, 1e-9, "end aligned on the step");
    cr_assert_float_eq(f.start[0], NOW0 - 48 * 3600.0, 1e-9, "the whole lookback");
    cr_assert_str_eq(f.query[0], "sum(rate(x[5m]))");

    /* same grid step (a 60 s loop on a 300 s step): no query at all */
    call(m, "web", cfg_a, NOW0 + 70);
    cr_assert_eq(f.calls, 1, "a pass inside the same step must not query");

    /* two steps later: the two new grid points and the overlap (late samples) before them */
    call(m, "web", cfg_a, NOW0 + 610);
    cr_assert_eq(f.calls, 2);
    cr_assert_float_eq(f.start[1], NOW0 - (MLA_PREDICT_MODELS_OVERLAP - 1) * 300.0, 1e-9);
    cr_assert_float_eq(f.end[1], NOW0 + 600.0, 1e-9);

    struct mla_predict_models_stats st;
    mla_predict_models_stats(m, &st);
    cr_assert_eq(st.models, 1);
    cr_assert_eq(st.builds, 1);
    cr_assert_eq(st.updates, 1);
    cr_assert_eq(st.reused, 1);
    cr_assert_eq(st.samples, 48 * 12 + 1 + MLA_PREDICT_MODELS_OVERLAP + 2, "samples %zu",
                 st.samples);
    mla_predict_models_destroy(m);
}

/* The one-shot forecaster on the lookback window ending at `end` (48 h at 300 s), each sample
 * as load_at(t), its late sample (if any) as the fake serves it later, rounded to float when
 * `as_float` (how the table stores samples). */
static struct mla_predict_forecast one_shot(const struct fake *f, double end, bool as_float)
{
    size_t n = 48 * 12 + 1;
    double *v = malloc(n * sizeof *v);
    double t0 = end - 48 * 3600.0;
    for (size_t i = 0; i < n; i++) {
        double t = t0 + (double)i * STEP;
        v[i] = load_at(t);
        if (f->late_t && fabs(t - f->late_t) < 1e-6)
            v[i] *= f->late_x ? f->late_x : 1;
        if (as_float)
            v[i] = (double)(float)v[i];
    }
    struct mla_predict_config c = parse(cfg_a);
    struct mla_predict_forecast o;
    cr_assert_eq(mla_predict_fc_forecast(NULL, v, n, STEP, 6, 3, c.quantile,
                                         c.anomaly_threshold, &o, NULL),
                 MLA_OK);
    o.observed = v[n - 1];
    mla_predict_config_fini(&c);
    free(v);
    return o;
}

/* Bit for bit: the same forecaster on the same (float-stored) window. */
static void same_forecast(struct mla_predict_forecast s, struct mla_predict_forecast o,
                          const char *what)
{
    cr_assert(s.peak_point == o.peak_point, "%s: peak %.17g vs %.17g", what, s.peak_point,
              o.peak_point);
    cr_assert(s.peak_upper == o.peak_upper, "%s: upper %.17g vs %.17g", what, s.peak_upper,
              o.peak_upper);
    cr_assert(s.confidence == o.confidence, "%s: confidence %.17g vs %.17g", what,
              s.confidence, o.confidence);
    cr_assert_str_eq(s.trend, o.trend, "%s", what);
}

Test(predict_models, streamed_forecast_matches_the_one_shot_forecaster)
{
    struct fake f = {0};
    struct mla_predict_models *m = table(10, 600, &f);
    same_forecast(call(m, "web", cfg_a, NOW0), one_shot(&f, NOW0, true), "build");
    for (int k = 1; k <= 14; k++) { /* past the ring's wrap: 1, 2 or 3 steps at a time */
        time_t now = NOW0 + (k * (k + 1) / 4) * 300 + 30;
        double end = floor((double)now / STEP) * STEP;
        struct mla_predict_forecast s = call(m, "web", cfg_a, now);
        same_forecast(s, one_shot(&f, end, true), "update");
        cr_assert(s.observed == load_at(end), "observed is the last sample, as fetched");
        /* and the float storage is negligible beside the unrounded samples */
        struct mla_predict_forecast d = one_shot(&f, end, false);
        cr_assert_float_eq(s.peak_point, d.peak_point, 1e-6 * fabs(d.peak_point));
        cr_assert_float_eq(s.peak_upper, d.peak_upper, 1e-6 * fabs(d.peak_upper));
        cr_assert_float_eq(s.confidence, d.confidence, 1e-6);
    }
    mla_predict_models_destroy(m);
}

/* The profile an entry built with its window ending at `built` carries when its window ends at
 * `end`: every point that has left the window, as the fake served it, stored as float. */
static void replay_profile(double built, double end, struct mla_fc_profile *p)
{
    mla_fc_profile_init(p);
    for (double t = built - 48 * 3600.0; t < end - 48 * 3600.0 - 1e-6; t += STEP)
        mla_fc_profile_push(p, t, (double)(float)load_weekly(t));
}

/* one_shot (float samples) seeded with p, as the loop's call is. */
static struct mla_predict_forecast one_shot_seeded(double end, const struct mla_fc_profile *p)
{
    size_t n = 48 * 12 + 1;
    double *v = malloc(n * sizeof *v);
    double t0 = end - 48 * 3600.0;
    for (size_t i = 0; i < n; i++)
        v[i] = (double)(float)load_weekly(t0 + (double)i * STEP);
    struct mla_predict_config c = parse(cfg_a);
    struct mla_predict_forecast o;
    cr_assert_eq(mla_predict_fc_forecast_seeded(v, n, t0, STEP, 6, 3, c.quantile,
                                                c.anomaly_threshold, p, &o, NULL),
                 MLA_OK);
    o.observed = v[n - 1];
    mla_predict_config_fini(&c);
    free(v);
    return o;
}

/* Issue 17, eighth round: the loop keeps a weekly profile of the points leaving its window and
 * seeds the forecast with it once a week has left; `forecast --evaluate --lookback-hours`
 * replays exactly that, so the loop's forecast must be the seeded one-shot on the same window
 * and the same replayed profile, bit for bit. A rebuild starts the profile afresh. */
Test(predict_models, the_points_leaving_the_window_seed_the_forecast_once_a_week_has_left)
{
    struct fake f = {.weekly = true};
    struct mla_predict_models *m = table(10, 1e9, &f);
    call(m, "web", cfg_a, NOW0);
    struct mla_fc_profile p;
    time_t now = NOW0;
    for (int k = 1; k <= 5; k++) { /* 47 h a pass: 235 h have left the window at the end */
        now += 47 * 3600;
        struct mla_predict_forecast s = call(m, "web", cfg_a, now);
        replay_profile(NOW0, (double)now, &p);
        cr_assert_eq(mla_fc_profile_ready(&p), k >= 4, "pass %d", k); /* 188 h >= a week */
        cr_assert_eq(s.seeded, k >= 4, "pass %d: the forecast does not say whether it was seeded", k);
        same_forecast(s, one_shot_seeded((double)now, &p), "seeded");
        struct mla_predict_forecast plain = one_shot_seeded((double)now, NULL);
        if (k < 4)
            same_forecast(s, plain, "no seed before a week has left");
        else
            cr_assert(s.peak_point != plain.peak_point, "pass %d: the seed changed nothing", k);
    }
    /* a rebuild (here a changed config) starts afresh: no seed for a week */
    now += 300;
    same_forecast(call(m, "web", cfg_b, now), one_shot_seeded((double)now, NULL), "rebuilt");
    mla_predict_models_destroy(m);
}

Test(predict_models, a_late_sample_is_fetched_again_and_replaces_the_gap)
{
    /* the newest point of the build is not in Prometheus yet; it is by the next step */
    struct fake f = {.late_t = NOW0};
    struct mla_predict_models *m = table(10, 600, &f);
    call(m, "web", cfg_a, NOW0);
    struct mla_predict_forecast s = call(m, "web", cfg_a, NOW0 + 300);
    cr_assert_eq(f.late_seen, 2, "the late point was asked for again");
    same_forecast(s, one_shot(&f, NOW0 + 300, true), "late sample");
    mla_predict_models_destroy(m);
}

Test(predict_models, a_later_value_replaces_the_one_fetched_before)
{
    /* a point first answered as a gap, then (two passes on) with a higher value than the
     * sine: the window holds the later value */
    struct fake f = {.late_t = NOW0 + 300, .late_x = 1.5};
    struct mla_predict_models *m = table(10, 600, &f);
    call(m, "web", cfg_a, NOW0);
    call(m, "web", cfg_a, NOW0 + 300);
    struct mla_predict_forecast s = call(m, "web", cfg_a, NOW0 + 600);
    cr_assert_eq(f.late_seen, 2);
    same_forecast(s, one_shot(&f, NOW0 + 600, true), "replaced value");
    mla_predict_models_destroy(m);
}

Test(predict_models, a_changed_config_or_a_long_gap_rebuilds_from_history)
{
    struct fake f = {0};
    struct mla_predict_models *m = table(10, 1e9, &f);
    call(m, "web", cfg_a, NOW0);
    call(m, "web", cfg_b, NOW0 + 300); /* another query: the old model is not this series */
    cr_assert_eq(f.calls, 2);
    cr_assert_str_eq(f.query[1], "sum(rate(y[5m]))");
    cr_assert_float_eq(f.start[1], NOW0 + 300 - 48 * 3600.0, 1e-9, "full lookback again");
    call(m, "web", cfg_b, NOW0 + 300 + 49 * 3600); /* away longer than the lookback */
    cr_assert_eq(f.calls, 3);
    cr_assert_float_eq(f.end[2] - f.start[2], 48 * 3600.0, 1e-9);
    struct mla_predict_models_stats st;
    mla_predict_models_stats(m, &st);
    cr_assert_eq(st.builds, 3);
    cr_assert_eq(st.models, 1, "the old models are gone, not kept beside the new one");
    mla_predict_models_destroy(m);
}

Test(predict_models, idle_models_are_evicted_and_rebuilt_when_they_come_back)
{
    struct fake f = {0};
    struct mla_predict_models *m = table(10, 600, &f);
    call(m, "web", cfg_a, NOW0);
    call(m, "api", cfg_a, NOW0);
    /* "api" disappears; "web" keeps being predicted */
    for (int k = 1; k <= 4; k++)
        call(m, "web", cfg_a, NOW0 + k * 300);
    struct mla_predict_models_stats st;
    mla_predict_models_stats(m, &st);
    cr_assert_eq(st.models, 1, "models %zu", st.models);
    cr_assert_eq(st.evicted, 1);
    int before = f.calls;
    call(m, "api", cfg_a, NOW0 + 5 * 300);
    cr_assert_eq(f.calls, before + 1);
    cr_assert_float_eq(f.end[before] - f.start[before], 48 * 3600.0, 1e-9, "rebuilt in full");
    mla_predict_models_clear(m);
    mla_predict_models_stats(m, &st);
    cr_assert_eq(st.models, 0);
    mla_predict_models_destroy(m);
}

Test(predict_models, a_pass_longer_than_the_idle_time_keeps_its_early_windows)
{
    struct fake f = {0};
    struct mla_predict_models *m = table(100, 600, &f);
    char name[16];
    /* pass 1: 30 ScaledObjects a minute apart (a pass paced by the API write rate): 29
     * minutes, three times idle_s */
    for (int i = 0; i < 30; i++) {
        snprintf(name, sizeof name, "so-%02d", i);
        call(m, name, cfg_a, NOW0 + i * 60);
    }
    struct mla_predict_models_stats st;
    mla_predict_models_stats(m, &st);
    cr_assert_eq(st.evicted, 0, "evicted %zu windows during the pass that built them",
                 st.evicted);
    cr_assert_eq(st.models, 30);
    /* pass 2, as long: every window is updated, none rebuilt */
    for (int i = 0; i < 30; i++) {
        snprintf(name, sizeof name, "so-%02d", i);
        call(m, name, cfg_a, NOW0 + 1800 + i * 60);
    }
    mla_predict_models_stats(m, &st);
    cr_assert_eq(st.builds, 30, "builds %zu", st.builds);
    cr_assert_eq(st.evicted, 0);
    /* so-00 goes away: once two passes have missed it (and idle_s passed), its window goes */
    for (int k = 1; k <= 3; k++)
        for (int i = 1; i < 30; i++) {
            snprintf(name, sizeof name, "so-%02d", i);
            call(m, name, cfg_a, NOW0 + 3600 * k + 1800 + i);
        }
    mla_predict_models_stats(m, &st);
    cr_assert_eq(st.evicted, 1);
    cr_assert_eq(st.models, 29);
    cr_assert_eq(st.builds, 30);
    mla_predict_models_destroy(m);
}

Test(predict_models, windows_of_gone_objects_go_even_when_no_pass_touches_a_window)
{
    /* a full table whose ScaledObjects were all renamed: the live ones are forecast one-shot
     * and touch no window, yet the dead windows must go and the live ones get windows */
    struct fake f = {0};
    struct mla_predict_models *m = table(2, 600, &f);
    mla_predict_models_pass_begin(m);
    call(m, "a", cfg_a, NOW0);
    call(m, "b", cfg_a, NOW0);
    for (int k = 1; k <= 4; k++) {
        mla_predict_models_pass_begin(m);
        call(m, "c", cfg_a, NOW0 + k * 300);
        call(m, "d", cfg_a, NOW0 + k * 300);
    }
    struct mla_predict_models_stats st;
    mla_predict_models_stats(m, &st);
    cr_assert_eq(st.evicted, 2, "evicted %zu: the dead windows stayed", st.evicted);
    cr_assert_eq(st.models, 2);
    /* c and d now stream: one new point and the overlap, not the whole lookback */
    mla_predict_models_pass_begin(m);
    f.calls = 0;
    call(m, "c", cfg_a, NOW0 + 5 * 300);
    call(m, "d", cfg_a, NOW0 + 5 * 300);
    cr_assert_eq(f.calls, 2);
    cr_assert_float_eq(f.end[0] - f.start[0], MLA_PREDICT_MODELS_OVERLAP * 300.0, 1e-9,
                       "c streams");
    mla_predict_models_destroy(m);
}

Test(predict_models, the_table_is_bounded_beyond_it_forecasts_one_shot)
{
    struct fake f = {0};
    struct mla_predict_models *m = table(2, 1e9, &f);
    call(m, "a", cfg_a, NOW0);
    call(m, "b", cfg_a, NOW0);
    call(m, "c", cfg_a, NOW0);
    struct mla_predict_models_stats st;
    mla_predict_models_stats(m, &st);
    cr_assert_eq(st.models, 2);
    cr_assert_eq(st.oneshot, 1);
    /* next step: a and b stream, c (no room) asks for the whole lookback again */
    f.calls = 0;
    call(m, "a", cfg_a, NOW0 + 300);
    call(m, "b", cfg_a, NOW0 + 300);
    call(m, "c", cfg_a, NOW0 + 300);
    cr_assert_eq(f.calls, 3);
    cr_assert_float_eq(f.end[0] - f.start[0], MLA_PREDICT_MODELS_OVERLAP * 300.0, 1e-9,
                       "a: one new point and the overlap");
    cr_assert_float_eq(f.end[1] - f.start[1], MLA_PREDICT_MODELS_OVERLAP * 300.0, 1e-9,
                       "b: one new point and the overlap");
    cr_assert_float_eq(f.end[2] - f.start[2], 48 * 3600.0, 1e-9, "c: one shot");
    mla_predict_models_stats(m, &st);
    cr_assert_eq(st.models, 2, "a kept model is never evicted to make room");
    mla_predict_models_destroy(m);
}

Test(predict_models, the_bound_counts_points_so_fine_steps_cannot_multiply_memory)
{
    /* two windows' worth of points at the defaults (2 x 4,033); a 30 s step over 48 h is
     * 5,761 points: one fits, a second would take 11,522, so it is forecast one-shot */
    static const char *fine =
        "{\"enabled\":true,\"query\":\"sum(rate(x[5m]))\",\"lookbackHours\":48,"
        "\"stepSeconds\":30,\"capacityPerReplica\":10}";
    struct fake f = {0};
    struct mla_predict_models *m = table(2, 1e9, &f);
    call(m, "a", fine, NOW0);
    call(m, "b", fine, NOW0);
    struct mla_predict_models_stats st;
    mla_predict_models_stats(m, &st);
    cr_assert_eq(st.models, 1, "models %zu: the second fine window went past the points bound",
                 st.models);
    cr_assert_eq(st.oneshot, 1);
    /* windows at the default size still fit two (the bound the count alone would give) */
    struct mla_predict_models *d = table(2, 1e9, &f);
    static const char *dflt =
        "{\"enabled\":true,\"query\":\"sum(rate(x[5m]))\",\"capacityPerReplica\":10}";
    call(d, "a", dflt, NOW0);
    call(d, "b", dflt, NOW0);
    mla_predict_models_stats(d, &st);
    cr_assert_eq(st.models, 2);
    mla_predict_models_destroy(d);
    mla_predict_models_destroy(m);
}

Test(predict_models, a_prometheus_failure_is_an_error_and_keeps_the_model)
{
    struct fake f = {0};
    struct mla_predict_models *m = table(10, 1e9, &f);
    struct mla_predict_forecast first = call(m, "web", cfg_a, NOW0);
    f.fail = true;
    struct mla_predict_config c = parse(cfg_a);
    struct mla_predict_forecast fc;
    bool have = false;
    char why[200];
    struct mla_err e;
    cr_assert_eq(mla_predict_models_forecast(m, NULL, &prom, "shop", "web", cfg_a, &c, NOW0 + 300, 6,
                                             3, &fc, &have, why, sizeof why, &e),
                 MLA_EUNAVAIL);
    cr_assert(strstr(e.msg, "prometheus down"), "%s", e.msg);
    /* a new ScaledObject's build fails the same way and keeps nothing */
    cr_assert_eq(mla_predict_models_forecast(m, NULL, &prom, "shop", "new", cfg_a, &c, NOW0 + 300, 6,
                                             3, &fc, &have, why, sizeof why, &e),
                 MLA_EUNAVAIL);
    struct mla_predict_models_stats st;
    mla_predict_models_stats(m, &st);
    cr_assert_eq(st.models, 1);
    f.fail = false;
    /* back: the kept window asks only for the step it missed (and the overlap) */
    int before = f.calls;
    struct mla_predict_forecast again = call(m, "web", cfg_a, NOW0 + 300);
    cr_assert_float_eq(f.start[before], NOW0 - (MLA_PREDICT_MODELS_OVERLAP - 1) * 300.0, 1e-9);
    cr_assert_float_eq(f.end[before], NOW0 + 300.0, 1e-9);
    cr_assert(again.peak_point > 0 && first.peak_point > 0);
    mla_predict_config_fini(&c);
    mla_predict_models_destroy(m);
}

Test(predict_models, no_history_is_no_forecast_and_no_model)
{
    struct fake f = {.gaps = true};
    struct mla_predict_models *m = table(10, 1e9, &f);
    struct mla_predict_config c = parse(cfg_a);
    struct mla_predict_forecast fc;
    bool have = true;
    char why[200] = "";
    cr_assert_eq(mla_predict_models_forecast(m, NULL, &prom, "shop", "web", cfg_a, &c, NOW0, 6, 3, &fc,
                                             &have, why, sizeof why, NULL),
                 MLA_OK);
    cr_assert(!have);
    cr_assert(strstr(why, "no history in the last 48 h"), "%s", why);
    struct mla_predict_models_stats st;
    mla_predict_models_stats(m, &st);
    cr_assert_eq(st.models, 0);
    mla_predict_config_fini(&c);
    mla_predict_models_destroy(m);
}

Test(predict_models, the_default_fetch_is_prometheus_and_fails_cleanly)
{
    struct mla_predict_models *m = NULL;
    cr_assert_eq(mla_predict_models_create(0, 0, &m, NULL), MLA_OK);
    struct mla_predict_config c = parse(cfg_a);
    struct mla_predict_forecast fc;
    bool have = false;
    char why[200] = "";
    struct mla_prom_opts bad = {.base_url = "http://127.0.0.1:1", .timeout_ms = 500};
    struct mla_err e;
    cr_assert_eq(mla_predict_models_forecast(m, NULL, &bad, "shop", "web", cfg_a, &c, NOW0, 6, 3, &fc,
                                             &have, why, sizeof why, &e),
                 MLA_EUNAVAIL, "nobody listens on port 1: %s", e.msg);
    struct mla_predict_models_stats st;
    mla_predict_models_stats(m, &st);
    cr_assert_eq(st.models, 0);
    mla_predict_config_fini(&c);
    mla_predict_models_destroy(m);
}

/* ---- issue 17, ninth round: the profile stored on the ScaledObject survives a rebuild ---- */

/* call() with the ScaledObject's stored profile text (NULL: none). */
static struct mla_predict_forecast call_stored(struct mla_predict_models *m, const char *name,
                                               const char *text, const char *stored, time_t now)
{
    struct mla_predict_config c = parse(text);
    struct mla_predict_forecast fc = {.peak_upper = NAN};
    bool have = false;
    char why[200] = "";
    struct mla_err e;
    mla_err_clear(&e);
    cr_assert_eq(mla_predict_models_forecast_stored(m, NULL, &prom, "shop", name, text, &c,
                                                    stored, now, 6, 3, &fc, &have, why,
                                                    sizeof why, &e),
                 MLA_OK, "%s", e.msg);
    cr_assert(have, "no forecast: %s", why);
    mla_predict_config_fini(&c);
    return fc;
}

/* A table whose "web" entry carries a ready profile (a week and more has left its window) under
 * the config text cfg, at *now; its text in `text`. */
static struct mla_predict_models *carried_under(struct fake *f, const char *cfg, time_t *now,
                                               char *text)
{
    struct mla_predict_models *m = table(10, 1e9, f);
    *now = NOW0;
    call(m, "web", cfg, *now);
    for (int k = 1; k <= 4; k++) {
        *now += 47 * 3600;
        cr_assert_eq(call(m, "web", cfg, *now).seeded, k == 4);
    }
    cr_assert(due(m, "web", cfg, NULL), "none stored");
    cr_assert(text_of(m, "web", cfg, NULL, text, MLA_PREDICT_PROFILE_TEXT_SIZE));
    cr_assert_eq(strlen(text), 547, "%s", text);
    return m;
}

static struct mla_predict_models *carried(struct fake *f, time_t *now, char *text)
{
    return carried_under(f, cfg_a, now, text);
}

/* What a leader that carried "web"'s profile under cfg_a stored (`text`) at *now, the leader
 * gone: a new one starts from the text alone. */
static void stored_by_a_gone_leader(struct fake *f, time_t *now, char *text)
{
    mla_predict_models_destroy(carried(f, now, text));
}

Test(predict_models, a_new_leader_continues_from_the_stored_profile_bit_for_bit)
{
    struct fake f = {.weekly = true};
    time_t now;
    char text[MLA_PREDICT_PROFILE_TEXT_SIZE], again[MLA_PREDICT_PROFILE_TEXT_SIZE];
    struct mla_predict_models *a = carried(&f, &now, text);
    cr_assert(!due(a, "web", cfg_a, text), "just stored");
    cr_assert(!due(a, "api", cfg_a, NULL), "no entry");
    /* the old leader's next pass, and the new leader's first one at the same time */
    struct mla_predict_models *b = table(10, 1e9, &f);
    for (int k = 1; k <= 6; k++) {
        now += k == 1 ? 300 : 5 * 3600;
        struct mla_predict_forecast sa = call(a, "web", cfg_a, now);
        int before = f.calls;
        struct mla_predict_forecast sb = call_stored(b, "web", cfg_a, k == 1 ? text : NULL, now);
        if (k == 1) {
            /* the build folds the point the old leader dropped meanwhile into the profile */
            double end = floor((double)now / STEP) * STEP;
            cr_assert_float_eq(f.start[before], end - 48 * 3600.0 - STEP, 1e-9);
            cr_assert(sb.seeded, "the first forecast of the new leader is seeded");
        }
        same_forecast(sb, sa, "rebuilt from the stored profile vs carried");
        cr_assert(sb.seeded && sa.seeded);
    }
    cr_assert(text_of(a, "web", cfg_a, NULL, text, sizeof text));
    cr_assert(text_of(b, "web", cfg_a, NULL, again,
                                              sizeof again));
    cr_assert_str_eq(again, text, "both leaders would write the same text");
    mla_predict_models_destroy(a);
    mla_predict_models_destroy(b);
}

Test(predict_models, a_stored_profile_that_does_not_fit_is_not_taken)
{
    struct fake f = {.weekly = true};
    time_t now;
    char text[MLA_PREDICT_PROFILE_TEXT_SIZE], out[MLA_PREDICT_PROFILE_TEXT_SIZE];
    stored_by_a_gone_leader(&f, &now, text);
    struct {
        const char *cfg, *stored;
        time_t at;
        const char *what;
    } cases[] = {
        {cfg_b, text, now + 300, "written under another config"},
        {cfg_a, "v1 garbage", now + 300, "not a profile"},
        {cfg_a, "", now + 300, "empty"},
        {cfg_a, text, now + 29 * 86400, "older than four weeks"},
        {cfg_a, text, now - 300 * 3, "holds points of the window"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct mla_predict_models *b = table(10, 1e9, &f);
        cr_assert(!call_stored(b, "web", cases[i].cfg, cases[i].stored, cases[i].at).seeded,
                  "%s: taken", cases[i].what);
        /* and an apply does not carry it on */
        cr_assert(!text_of(b, "web", cases[i].cfg, i < 3 ? cases[i].stored : "v1 x", out,
                                                   sizeof out), "%s: carried", cases[i].what);
        mla_predict_models_destroy(b);
    }
    /* two days later: taken (the seed), but the 2 days in between are not fetched again */
    struct mla_predict_models *b = table(10, 1e9, &f);
    int before = f.calls;
    cr_assert(call_stored(b, "web", cfg_a, text, now + 2 * 86400).seeded);
    double end = floor((double)(now + 2 * 86400) / STEP) * STEP;
    cr_assert_float_eq(f.start[before], end - 48 * 3600.0, 1e-9, "the lookback only");
    mla_predict_models_destroy(b);
}

Test(predict_models, the_one_shot_forecast_uses_the_stored_profile_read_only)
{
    struct fake f = {.weekly = true};
    time_t now;
    char text[MLA_PREDICT_PROFILE_TEXT_SIZE], out[MLA_PREDICT_PROFILE_TEXT_SIZE];
    struct mla_predict_models *a = carried(&f, &now, text);
    now += 300;
    struct mla_predict_forecast sa = call(a, "web", cfg_a, now);
    mla_predict_models_destroy(a);
    struct mla_predict_models *full = table(1, 1e9, &f);
    call(full, "other", cfg_a, now);
    struct mla_predict_forecast s1 = call_stored(full, "web", cfg_a, text, now);
    struct mla_predict_models_stats st;
    mla_predict_models_stats(full, &st);
    cr_assert_eq(st.oneshot, 1);
    cr_assert(s1.seeded);
    /* the one-shot's window is unrounded (a kept window stores floats) */
    cr_assert_float_eq(s1.peak_point, sa.peak_point, 1e-6 * sa.peak_point);
    cr_assert_float_eq(s1.peak_upper, sa.peak_upper, 1e-6 * sa.peak_upper);
    cr_assert_float_eq(s1.confidence, sa.confidence, 1e-6);
    struct mla_predict_forecast plain = call(full, "third", cfg_a, now);
    cr_assert(!plain.seeded && fabs(plain.peak_point - sa.peak_point) > 1e-4 * sa.peak_point,
              "without the profile the forecast differs: the comparison above means something");
    /* nothing kept: the apply carries the stored text as it is */
    cr_assert(!due(full, "web", cfg_a, NULL));
    cr_assert(text_of(full, "web", cfg_a, text, out, sizeof out));
    cr_assert_str_eq(out, text);
    mla_predict_models_destroy(full);
}

/* ---- issue 14: a policy edit costs no history query and keeps the weekly profile ---- */

/* cfg_a with another target, cost cap and replica bound: the same query, step and lookback */
static const char *cfg_a_target =
    "{\"enabled\":true,\"query\":\"sum(rate(x[5m]))\",\"lookbackHours\":48,\"stepSeconds\":300,"
    "\"capacityPerReplica\":25,\"maxHourlyCost\":40,\"replicaHourlyCost\":2.5,"
    "\"maxReplicas\":9}";
/* cfg_a with another quantile and anomaly threshold */
static const char *cfg_a_quantile =
    "{\"enabled\":true,\"query\":\"sum(rate(x[5m]))\",\"lookbackHours\":48,\"stepSeconds\":300,"
    "\"capacityPerReplica\":10,\"quantile\":0.97,\"anomalyThreshold\":2.5}";
/* cfg_a with a longer lookback */
static const char *cfg_a_lookback =
    "{\"enabled\":true,\"query\":\"sum(rate(x[5m]))\",\"lookbackHours\":72,\"stepSeconds\":300,"
    "\"capacityPerReplica\":10}";

Test(predict_models, a_config_edit_that_keeps_query_step_and_lookback_keeps_window_and_profile)
{
    struct fake f = {.weekly = true};
    time_t now;
    char text[MLA_PREDICT_PROFILE_TEXT_SIZE], t2[MLA_PREDICT_PROFILE_TEXT_SIZE];
    struct mla_predict_models *a = carried(&f, &now, text);
    struct mla_predict_models *b = carried(&f, &now, text);
    struct mla_predict_models_stats st;
    mla_predict_models_stats(b, &st);
    size_t builds = st.builds, samples = st.samples;

    /* the next grid point: a under the old text, b under the edited one */
    now += 300;
    struct mla_predict_forecast sa = call(a, "web", cfg_a, now);
    struct mla_predict_forecast sb = call(b, "web", cfg_a_target, now);
    mla_predict_models_stats(b, &st);
    cr_assert_eq(st.builds, builds, "the edit rebuilt the window");
    cr_assert_eq(st.kept, 1);
    cr_assert_lt(st.samples - samples, 50, "the whole lookback fetched again: %zu points",
                 st.samples - samples);
    cr_assert(sb.seeded, "the weekly profile was dropped");
    same_forecast(sb, sa, "the load forecast does not depend on the target");
    /* the quantile and anomaly threshold apply to the kept window at once, without a query */
    int calls = f.calls;
    struct mla_predict_forecast sq = call(b, "web", cfg_a_quantile, now);
    cr_assert_eq(f.calls, calls, "a forecast setting fetched history");
    time_t qnow;
    char qtext[MLA_PREDICT_PROFILE_TEXT_SIZE];
    struct mla_predict_models *q = carried_under(&f, cfg_a_quantile, &qnow, qtext);
    cr_assert_eq(qnow + 300, now);
    struct mla_predict_forecast want = call(q, "web", cfg_a_quantile, now);
    same_forecast(sq, want, "kept window under the new quantile vs built under it");
    cr_assert(fabs(sq.peak_upper - sa.peak_upper) > 1e-6 * sa.peak_upper,
              "the quantile changed nothing: the comparison above means nothing");

    /* what the next apply stores is the same profile, under a key the edit leaves alone */
    cr_assert(text_of(a, "web", cfg_a, NULL, text, sizeof text));
    cr_assert(text_of(b, "web", cfg_a_quantile, NULL, t2, sizeof t2));
    cr_assert_str_eq(t2, text);

    /* another lookback is another window: built again */
    samples = st.samples;
    call(b, "web", cfg_a_lookback, now);
    mla_predict_models_stats(b, &st);
    cr_assert_eq(st.builds, builds + 1);
    cr_assert_eq(st.samples - samples, 72 * 12 + 1, "the whole new lookback");
    mla_predict_models_destroy(a);
    mla_predict_models_destroy(b);
    mla_predict_models_destroy(q);
}

Test(predict_models, a_stored_profile_is_taken_after_an_edit_of_the_target)
{
    struct fake f = {.weekly = true};
    time_t now;
    char text[MLA_PREDICT_PROFILE_TEXT_SIZE], legacy[MLA_PREDICT_PROFILE_TEXT_SIZE];
    stored_by_a_gone_leader(&f, &now, text);
    /* a new leader after the policy's target changed */
    struct mla_predict_models *b = table(10, 1e9, &f);
    cr_assert(call_stored(b, "web", cfg_a_target, text, now + 300).seeded, "not taken");
    mla_predict_models_destroy(b);
    /* another query is another series: not taken (a_stored_profile_that_does_not_fit_...) */
    b = table(10, 1e9, &f);
    cr_assert(!call_stored(b, "web", cfg_b, text, now + 300).seeded);
    mla_predict_models_destroy(b);

    /* a profile written before the key was the query and step: keyed by the whole text, taken
     * while that text is unchanged */
    struct mla_fc_profile p;
    double t;
    uint64_t key;
    cr_assert_eq(mla_fc_profile_decode(text, &p, &t, &key, NULL), MLA_OK);
    cr_assert_neq(key, mla_fc_profile_key(cfg_a), "the key is still the whole text");
    cr_assert_eq(mla_fc_profile_encode(&p, t, mla_fc_profile_key(cfg_a), legacy, sizeof legacy,
                                       NULL), MLA_OK);
    b = table(10, 1e9, &f);
    cr_assert(call_stored(b, "web", cfg_a, legacy, now + 300).seeded, "the old form not taken");
    mla_predict_models_destroy(b);
    b = table(10, 1e9, &f);
    cr_assert(!call_stored(b, "web", cfg_a_target, legacy, now + 300).seeded,
              "the old form taken under another text");
    mla_predict_models_destroy(b);
}
