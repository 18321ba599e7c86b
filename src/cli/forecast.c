/* cli/forecast.c - the 'forecast' subcommand: trace CSV in; forecast with intervals, cycles, trend,
 * confidence and a min-replica schedule for the next day out (text or --json); --evaluate
 * prints the rolling-origin accuracy of the model and of the baselines. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "fc-common.h"
#include "mla/fc.h"
#include "mla/predict.h"

#define CMD "forecast"

static void fc_usage(FILE *f)
{
    fprintf(f,
            "Usage: ml-autoscaling forecast -f TRACE.csv [options]\n\n"
            "Forecasts the load of a history CSV (header, then 'timestamp,value' rows of Unix\n"
            "seconds at a regular step; missing rows are gaps). The trace is resampled to\n"
            "--step buckets (mean per bucket, so values keep the trace's unit per trace step).\n\n"
            "Options:\n"
            "  -f, --file FILE               the trace (required)\n"
            "      --json                    one JSON object instead of text\n"
            "      --evaluate                rolling-origin accuracy (1 - WAPE) of the model and\n"
            "                                the baselines over the last --eval-days; last line\n"
            "                                'accuracy <model> <best-baseline>'\n"
            "      --horizon MIN             forecast horizon in minutes (default 30)\n"
            "      --step SEC                bucket size in seconds (default 300, or the trace's\n"
            "                                step when 300 is not a whole multiple of it)\n"
            "      --eval-days D             evaluation window in days (default 14)\n"
            "      --lookback-hours H        forecast as the predictive loop does (its\n"
            "                                lookbackHours): from its window of the last H hours\n"
            "                                (both ends: H*3600/step + 1 points, stored as float),\n"
            "                                with its defaults (quantile 0.82, anomaly threshold\n"
            "                                3.5), seeded with the weekly profile the loop\n"
            "                                carries of the points that left its window (here:\n"
            "                                the points before it); with --evaluate, a fresh\n"
            "                                forecast at each origin from that window and the\n"
            "                                profile of a loop run since the trace's start\n"
            "                                (default: all history, one pass)\n"
            "      --capacity-per-replica X  load one replica serves (default: the trace's\n"
            "                                99th percentile / 8)\n"
            "      --quantile Q              upper bound quantile (default 0.95; the loop's\n"
            "                                0.82 with --lookback-hours)\n"
            "      --anomaly-threshold K     robust deviations for an anomaly, 2..5 (default 4;\n"
            "                                the loop's 3.5 with --lookback-hours)\n"
            "      --min R, --max R          replica bounds of the schedule (default 1, 100)\n"
            "  -h, --help                    this help\n\n"
            "Exit: 0 ok, 2 usage or file error.\n");
}

struct fc_opts {
    const char *file;
    bool json, evaluate, step_given;
    double horizon_min, step_s, eval_days, lookback_h, capacity, quantile, threshold, rmin, rmax;
    size_t window; /* with --lookback-hours: the points of the loop's window; else 0 */
};

static void fc_schedule(const struct mla_fc_result *day, double t_next, const struct fc_opts *o,
                        int *reps, int *hours)
{
    /* Per clock hour (UTC) of the next day: the replicas the loop's forecast rule asks for at
     * the hour's peak (predict.h step 1: the band buys a replica when it crosses the boundary
     * by MLA_PREDICT_RISE_SLACK, the point forecast always). */
    for (int k = 0; k < 24; k++) {
        reps[k] = (int)o->rmin;
        hours[k] = -1;
    }
    for (int h = 0; h < day->horizon_steps; h++) {
        double t = t_next + (double)h * day->step_s;
        int k = (int)(((double)h * day->step_s) / 3600.0);
        if (k >= 24)
            break;
        time_t tt = (time_t)t;
        struct tm tm;
        gmtime_r(&tt, &tm);
        if (hours[k] < 0)
            hours[k] = tm.tm_hour;
        double need = fmax(ceil(day->upper[h] / o->capacity - MLA_PREDICT_RISE_SLACK - 1e-9),
                           ceil(day->point[h] / o->capacity - 1e-9));
        if (need > reps[k])
            reps[k] = (int)need;
    }
    for (int k = 0; k < 24; k++) {
        if (reps[k] < o->rmin)
            reps[k] = (int)o->rmin;
        if (reps[k] > o->rmax)
            reps[k] = (int)o->rmax;
    }
}

static int fc_eval(const struct mla_fc_series *s, const struct mla_fc_config *cfg,
                   const struct fc_opts *o)
{
    struct mla_err err;
    mla_err_clear(&err);
    struct mla_fc_eval ev;
    size_t want = (size_t)(o->eval_days * 86400.0 / s->step_s + 0.5);
    size_t lookback = o->window;
    /* with a lookback, the loop's way: its window and its carried profile */
    if (lookback ? mla_fc_evaluate_loop(s->v, s->n, s->t0, s->step_s, cfg, want, lookback, &ev,
                                        &err)
                 : mla_fc_evaluate(s->v, s->n, s->step_s, cfg, want, &ev, &err)) {
        fprintf(stderr, "ml-autoscaling forecast: %s: %s\n", o->file, err.msg);
        return MLA_EXIT_USAGE;
    }
    const char *best = mla_fc_baseline_name((enum mla_fc_baseline)ev.best_base);
    if (o->json) {
        printf("{\"horizon_minutes\":%g,\"step_seconds\":%g,\"eval_days\":%.3f,"
               "\"eval_points\":%zu,\"lookback_hours\":",
               (double)ev.horizon_steps * s->step_s / 60, s->step_s, ev.eval_days,
               ev.eval_points);
        if (lookback)
            printf("%g,\"lookback_points\":%zu", o->lookback_h, lookback);
        else
            printf("null");
        printf(",\"model\":%.4f,\"baselines\":{", ev.model);
        for (int b = 0; b < MLA_FC_BASE_COUNT; b++) {
            printf("%s\"%s\":", b ? "," : "", mla_fc_baseline_name((enum mla_fc_baseline)b));
            if (isnan(ev.base[b]))
                printf("null");
            else
                printf("%.4f", ev.base[b]);
        }
        printf("},\"best_baseline\":\"%s\",\"holt_winters\":{\"alpha\":%g,\"beta\":%g,"
               "\"gamma\":%g}}\n",
               best, ev.hw_alpha, ev.hw_beta, ev.hw_gamma);
        return MLA_EXIT_OK;
    }
    printf("Accuracy (1 - WAPE) of the forecast %g min ahead (the single %g-s bucket %d steps "
           "ahead),\nrolling origin, history only, over the last %.2f days (%zu buckets)",
           (double)ev.horizon_steps * s->step_s / 60, s->step_s, ev.horizon_steps, ev.eval_days,
           ev.eval_points);
    if (lookback)
        printf(", the model\nforecasting afresh at each origin from the last %g hours only (as the "
               "loop does: %zu points)",
               o->lookback_h, lookback);
    if (ev.eval_days + 1e-9 < o->eval_days)
        printf(" - the trace is too short for %g days", o->eval_days);
    printf(":\n");
    printf("  %-22s %.3f\n", "model (ensemble)", ev.model);
    for (int b = 0; b < MLA_FC_BASE_COUNT; b++) {
        if (isnan(ev.base[b]))
            printf("  %-22s n/a (history too short)\n",
                   mla_fc_baseline_name((enum mla_fc_baseline)b));
        else
            printf("  %-22s %.3f%s\n", mla_fc_baseline_name((enum mla_fc_baseline)b), ev.base[b],
                   b == MLA_FC_BASE_HW_DAY ? "" : "");
    }
    printf("  (Holt-Winters fitted before the window: alpha %g beta %g gamma %g)\n", ev.hw_alpha,
           ev.hw_beta, ev.hw_gamma);
    printf("accuracy %.3f %.3f\n", ev.model, ev.base[ev.best_base]);
    return MLA_EXIT_OK;
}

static void fc_print_cycle(const char *name, const struct mla_fc_cycle *c, bool json)
{
    if (json) {
        printf("\"%s\":{\"period_steps\":%d,\"present\":%s,\"confidence\":%.3f,"
               "\"strength\":%.3f}",
               name, c->period_steps, c->present ? "true" : "false", c->confidence,
               c->strength);
        return;
    }
    if (!c->period_steps)
        printf("  %-7s not tested (needs two whole periods of whole steps)\n", name);
    else
        printf("  %-7s %s (confidence %.2f, peak/trough amplitude %.2f)\n", name,
               c->present ? "present" : "absent", c->confidence, c->strength);
}

/* --json: the forecast, cycles, candidates and the next day's schedule as one object. */
static void fc_print_json(const struct mla_fc_series *s, const struct mla_fc_config *cfg,
                          const struct fc_opts *o, const struct mla_fc_result *r, double t_next,
                          const int *reps, const int *hours)
{
    printf("{\"file\":");
    mla__cli_json_str(stdout, o->file);
    printf(",\"points\":%zu,\"step_seconds\":%g,\"next_timestamp\":%.0f,"
           "\"horizon_steps\":%d,\"quantile\":%g,\"forecast\":[",
           r->n, s->step_s, t_next, r->horizon_steps, cfg->quantile);
    for (int h = 0; h < r->horizon_steps; h++)
        printf("%s{\"timestamp\":%.0f,\"point\":%.4f,\"lower\":%.4f,\"upper\":%.4f}",
               h ? "," : "", t_next + h * s->step_s, r->point[h], r->lower[h], r->upper[h]);
    printf("],\"cycles\":{");
    fc_print_cycle("daily", &r->daily, true);
    printf(",");
    fc_print_cycle("weekly", &r->weekly, true);
    printf("},\"confidence\":%.3f,\"trend\":\"%s\",\"trend_change\":%.4f,"
           "\"anomalies\":%zu,\"missing\":%zu,\"candidates\":[",
           r->confidence, mla_fc_trend_name(r->trend), r->trend_change, r->anomalies,
           r->missing);
    for (int k = 0; k < MLA_FC_CAND_COUNT; k++) {
        printf("%s{\"name\":\"%s\",\"weight\":%.4f,\"point\":", k ? "," : "",
               mla_fc_cand_name((enum mla_fc_cand)k), r->weight[k]);
        printf(isnan(r->cand_point[k]) ? "null" : "%.4f", r->cand_point[k]);
        printf(",\"recent_mae\":");
        printf(isnan(r->cand_mae[k]) ? "null" : "%.4f", r->cand_mae[k]);
        printf("}");
    }
    printf("],\"capacity_per_replica\":%g,\"min_replicas\":%g,\"max_replicas\":%g,"
           "\"schedule\":[",
           o->capacity, o->rmin, o->rmax);
    for (int k = 0; k < 24 && hours[k] >= 0; k++)
        printf("%s{\"hour_utc\":%d,\"min_replicas\":%d}", k ? "," : "", hours[k], reps[k]);
    printf("]}\n");
}

/* The same for a person: one section per line group, times in UTC. */
static void fc_print_text(const struct mla_fc_series *s, const struct mla_fc_config *cfg,
                          const struct fc_opts *o, const struct mla_fc_result *r, double t_next,
                          const int *reps, const int *hours)
{
    printf("Trace %s: %zu points at %g s (%zu missing, %zu anomalies filtered)\n", o->file,
           r->n, s->step_s, r->missing, r->anomalies);
    printf("Forecast (point [lower, upper] at quantile %g):\n", cfg->quantile);
    for (int h = 0; h < r->horizon_steps; h++) {
        time_t tt = (time_t)(t_next + h * s->step_s);
        struct tm tm;
        gmtime_r(&tt, &tm);
        char ts[32];
        strftime(ts, sizeof ts, "%Y-%m-%d %H:%M", &tm);
        printf("  %s UTC  %10.2f  [%.2f, %.2f]\n", ts, r->point[h], r->lower[h], r->upper[h]);
    }
    printf("Cycles:\n");
    fc_print_cycle("daily", &r->daily, false);
    fc_print_cycle("weekly", &r->weekly, false);
    printf("Trend: %s (level change over the history %+.1f%%)\n", mla_fc_trend_name(r->trend),
           100 * r->trend_change);
    printf("Confidence: %.2f\n", r->confidence);
    printf("Ensemble weights:");
    for (int k = 0; k < MLA_FC_CAND_COUNT; k++)
        if (r->weight[k] >= 0.005)
            printf(" %s %.2f", mla_fc_cand_name((enum mla_fc_cand)k), r->weight[k]);
    printf("\nMin-replica schedule for the next day (capacity %g per replica, bounds %g..%g):\n",
           o->capacity, o->rmin, o->rmax);
    for (int k = 0; k < 24 && hours[k] >= 0; k++)
        printf("  %02d:00 UTC  %d\n", hours[k], reps[k]);
}

/* Forecasts the configured horizon and, for the min-replica schedule, a whole day ahead; prof:
 * the loop's carried profile (--lookback-hours), else NULL. */
static int fc_run(const struct mla_fc_series *s, const struct mla_fc_config *cfg,
                  const struct fc_opts *o, const struct mla_fc_profile *prof)
{
    struct mla_err err;
    mla_err_clear(&err);
    struct mla_fc_result *r = malloc(sizeof *r), *day = malloc(sizeof *day);
    if (!r || !day) {
        free(r);
        free(day);
        fprintf(stderr, "ml-autoscaling forecast: out of memory\n");
        return MLA_EXIT_USAGE;
    }
    struct mla_fc_config dcfg = *cfg;
    int per_day = (int)(86400.0 / s->step_s);
    dcfg.horizon_steps = per_day > MLA_FC_MAX_HORIZON ? MLA_FC_MAX_HORIZON : per_day;
    int rc = MLA_EXIT_OK;
    if (mla_fc_forecast_seeded(s->v, s->n, s->t0, s->step_s, cfg, prof, r, &err) ||
        mla_fc_forecast_seeded(s->v, s->n, s->t0, s->step_s, &dcfg, prof, day, &err)) {
        fprintf(stderr, "ml-autoscaling forecast: %s: %s\n", o->file, err.msg);
        rc = MLA_EXIT_USAGE;
        goto out;
    }
    double t_next = s->t0 + (double)s->n * s->step_s;
    int reps[24], hours[24];
    fc_schedule(day, t_next, o, reps, hours);
    if (o->json)
        fc_print_json(s, cfg, o, r, t_next, reps, hours);
    else
        fc_print_text(s, cfg, o, r, t_next, reps, hours);
out:
    free(r);
    free(day);
    return rc;
}

/* Parses the options into *o: -1 to go on, else the exit code (usage error, --help). */
static int fc_args(int argc, char **argv, struct fc_opts *o)
{
    static const struct option longs[] = {
        {"file", required_argument, NULL, 'f'},
        {"json", no_argument, NULL, 'j'},
        {"evaluate", no_argument, NULL, 'e'},
        {"horizon", required_argument, NULL, 'H'},
        {"step", required_argument, NULL, 's'},
        {"eval-days", required_argument, NULL, 'd'},
        {"lookback-hours", required_argument, NULL, 'L'},
        {"capacity-per-replica", required_argument, NULL, 'c'},
        {"quantile", required_argument, NULL, 'q'},
        {"anomaly-threshold", required_argument, NULL, 'a'},
        {"min", required_argument, NULL, 'm'},
        {"max", required_argument, NULL, 'M'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 1;
    opterr = 0;
    int c;
    bool ok = true;
    while (ok && (c = getopt_long(argc, argv, ":f:h", longs, NULL)) != -1) {
        switch (c) {
        case 'f': o->file = optarg; break;
        case 'j': o->json = true; break;
        case 'e': o->evaluate = true; break;
        case 'H': ok = mla__cli_num(CMD, "--horizon", optarg, 0.001, 1e6, &o->horizon_min); break;
        case 's':
            ok = mla__cli_num(CMD, "--step", optarg, 0.001, 1e7, &o->step_s);
            o->step_given = true;
            break;
        case 'd': ok = mla__cli_num(CMD, "--eval-days", optarg, 1, 3650, &o->eval_days); break;
        case 'L':
            ok = mla__cli_num(CMD, "--lookback-hours", optarg, 1, 24 * 3650, &o->lookback_h);
            break;
        case 'c':
            ok = mla__cli_num(CMD, "--capacity-per-replica", optarg, 1e-9, 1e15, &o->capacity);
            break;
        case 'q': ok = mla__cli_num(CMD, "--quantile", optarg, 0.5, 0.999, &o->quantile); break;
        case 'a':
            ok = mla__cli_num(CMD, "--anomaly-threshold", optarg, 2, 5, &o->threshold);
            break;
        case 'm': ok = mla__cli_num(CMD, "--min", optarg, 0, 1e6, &o->rmin); break;
        case 'M': ok = mla__cli_num(CMD, "--max", optarg, 1, 1e6, &o->rmax); break;
        case 'h': fc_usage(stdout); return MLA_EXIT_OK;
        case ':':
            fprintf(stderr, "ml-autoscaling forecast: option '%s' needs a value\n",
                    argv[optind - 1]);
            ok = false;
            break;
        default:
            fprintf(stderr, "ml-autoscaling forecast: unknown option '%s'\n", argv[optind - 1]);
            ok = false;
        }
    }
    if (!mla__cli_check_args("forecast", ok, optind, argc, argv, o->file, o->rmin, o->rmax))
        return MLA_EXIT_USAGE;
    return -1;
}

int mla_cmd_forecast(int argc, char **argv)
{
    struct fc_opts o = {.horizon_min = 30, .step_s = 300, .eval_days = 14, .capacity = NAN,
                        .quantile = NAN, .threshold = NAN, .rmin = 1, .rmax = 100};
    int code = fc_args(argc, argv, &o);
    if (code >= 0)
        return code;
    struct mla_fc_series s;
    if (!mla__cli_load(CMD, o.file, o.step_s, o.step_given, &s))
        return MLA_EXIT_USAGE;
    struct mla_fc_config cfg;
    mla_fc_config_default(&cfg);
    double hs = o.horizon_min * 60 / s.step_s;
    cfg.horizon_steps = (int)ceil(hs - 1e-9);
    if (cfg.horizon_steps < 1 || cfg.horizon_steps > MLA_FC_MAX_HORIZON) {
        fprintf(stderr, "ml-autoscaling forecast: --horizon %g min is %d steps of %g s "
                        "(allowed 1..%d)\n",
                o.horizon_min, cfg.horizon_steps, s.step_s, MLA_FC_MAX_HORIZON);
        mla_fc_series_fini(&s);
        return MLA_EXIT_USAGE;
    }
    if (o.lookback_h > 0) {
        /* As the loop runs it: its window (predict_models.h: both ends, float samples) and its
         * defaults (mla_predict_config_init), so that the figures are the loop's own. */
        struct mla_predict_config pc;
        mla_predict_config_init(&pc);
        pc.lookback_hours = o.lookback_h;
        pc.step_seconds = s.step_s;
        o.window = mla_predict_config_window_points(&pc);
        if (isnan(o.quantile))
            o.quantile = pc.quantile;
        if (isnan(o.threshold))
            o.threshold = pc.anomaly_threshold;
        mla_predict_config_fini(&pc);
        for (size_t i = 0; i < s.n; i++)
            s.v[i] = (double)(float)s.v[i];
    }
    cfg.quantile = isnan(o.quantile) ? 0.95 : o.quantile;
    cfg.anomaly_threshold = isnan(o.threshold) ? 4 : o.threshold;
    if (isnan(o.capacity))
        o.capacity = mla__cli_default_capacity(&s);
    if (!o.evaluate && o.lookback_h > 0) {
        /* The loop's view: only its window (a view into s, which keeps the buffer). */
        size_t keep = o.window;
        if (keep < s.n) {
            /* and the profile the loop carries: every point that has left its window, as if
             * it had run since the trace's first point (mla_fc_evaluate_loop's replay) */
            struct mla_fc_profile prof;
            mla_fc_profile_init(&prof);
            for (size_t i = 0; i < s.n - keep; i++)
                mla_fc_profile_push(&prof, s.t0 + (double)i * s.step_s, s.v[i]);
            struct mla_fc_series view = s;
            view.v = s.v + (s.n - keep);
            view.t0 = s.t0 + (double)(s.n - keep) * s.step_s;
            view.n = keep;
            int rc = fc_run(&view, &cfg, &o, &prof);
            mla_fc_series_fini(&s);
            return rc;
        }
    }
    int rc = o.evaluate ? fc_eval(&s, &cfg, &o) : fc_run(&s, &cfg, &o, NULL);
    mla_fc_series_fini(&s);
    return rc;
}
