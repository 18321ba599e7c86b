/* cli/simulate.c - the 'simulate' subcommand: replays a load trace at its own step against three
 * scaling strategies and reports cost (replica-hours), under-provisioned minutes and scaling
 * actions for each; optionally an SVG plot and the per-step series as JSON.
 *
 * The replica model (same for all strategies, KEDA/HPA-like):
 *   - every step the controller computes a desired count from the load it sees, which is the
 *     load of `polling_delay` seconds ago (metric scrape + polling), ceil(load / capacity),
 *     raised to the strategy's floor and clamped to [min, max];
 *   - up: immediately; new replicas are ready `cold_start` seconds later;
 *   - down: to the highest desired count of the last `cooldown` seconds (HPA's stabilisation
 *     window), removing starting replicas first;
 *   - a step is under-provisioned when load > ready replicas x capacity; a step whose load is
 *     missing (a gap in the trace) is not counted at all (no cost, no shortage).
 * Strategies: reactive (floor = min), business hours (floor = business-min inside the window,
 * evaluated in --timezone), predictive (floor = the upper bound of the forecast made now for the
 * load --lead minutes ahead, over the capacity: scale-ahead; reactive on top). The forecast is
 * the library's rolling-origin forecast (mla_fc_backtest): history only. The predictive floor is
 * decided by the loop's own pipeline (mla_predict_min_replicas: bounds, hysteresis step and
 * scale-down hold, state carried from step to step), so what simulate measures is what the loop
 * would set.
 * With --lookback-hours H the forecast is instead the loop's own (simulate's "lookback" path): at
 * every step, the one-shot forecast of the last H hours up to that step, through the loop's
 * window table (mla_predict_models_forecast, fed from the trace instead of Prometheus): the same
 * window, float storage, horizon/scale-ahead reduction and call the loop makes on each new point.
 * Business hours are the product's own (hours.h): the same syntax, time zones and DST handling
 * as the predictive loop, so the simulated floor is the one the loop would set.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "fc-common.h"
#include "mla/fc.h"
#include "mla/hours.h"
#include "mla/mem.h"
#include "mla/predict.h"
#include "mla/predict_models.h"
#include "mla/prom.h"

#define CMD "simulate"

enum { SIM_REACTIVE = 0, SIM_BUSINESS, SIM_PREDICTIVE, SIM_N };
static const char *const sim_names[SIM_N] = {"reactive", "business_hours", "predictive"};

struct sim_opts {
    const char *file, *plot, *json, *hours, *tz;
    double capacity, polling, cold, cooldown, rmin, rmax, bmin, lead_min, quantile;
    double hyst_step, hold_min; /* the loop's hysteresisStep and scaleDownHoldMinutes */
    double lookback_h; /* --lookback-hours; 0: the all-history backtest */
};

struct sim_result {
    double replica_hours, under_minutes;
    long actions;
    int *target; /* per step: replicas requested (starting + ready) */
    int *ready;  /* per step: replicas ready */
    const int *floor_; /* per step: the strategy's floor (predictive: the loop's minReplicaCount
                        * decision); borrowed, NULL for the others */
};

static void sim_usage(FILE *f)
{
    fprintf(f,
            "Usage: ml-autoscaling simulate -f TRACE.csv [options]\n\n"
            "Replays a load trace (same CSV as 'forecast') at its own step against three\n"
            "strategies - reactive (KEDA-like), business hours (fixed floor in a window,\n"
            "reactive above) and predictive (minReplicaCount from the forecast made --lead\n"
            "minutes ahead, reactive on top) - and prints replica-hours, under-provisioned\n"
            "minutes (load above the capacity of ready replicas) and scaling actions.\n\n"
            "Options:\n"
            "  -f, --file FILE               the trace (required)\n"
            "      --plot FILE.svg           write an SVG of load, forecast and replicas\n"
            "      --json FILE|-             write the summary and the per-step series\n"
            "      --capacity-per-replica X  load one replica serves (default: the trace's\n"
            "                                99th percentile / 8)\n"
            "      --polling-delay S         age of the load the controller sees (default 60)\n"
            "      --cold-start S            seconds before a new replica is ready (default 180)\n"
            "      --cooldown S              scale-down stabilisation window (default 300)\n"
            "      --min R, --max R          replica bounds (default 1, 100)\n"
            "      --business-hours SPEC     e.g. \"Mon-Fri 09:00-18:00\" (the default)\n"
            "      --business-min R          floor inside business hours (default: the\n"
            "                                replicas the trace's 90th percentile needs)\n"
            "      --timezone TZ             zone of the business hours (default UTC)\n"
            "      --lead MIN                predictive scale-ahead in minutes (default 15)\n"
            "      --quantile Q              forecast upper bound used (default 0.82)\n"
            "      --lookback-hours H        forecast as the predictive loop does: at each step\n"
            "                                a one-shot forecast of the last H hours only (its\n"
            "                                lookbackHours; one forecast per step, slow); default:\n"
            "                                the all-history backtest (one pass)\n"
            "      --hysteresis-step N       the loop's hysteresisStep (default 1)\n"
            "      --scale-down-hold MIN     the loop's scaleDownHoldMinutes (default 15, the\n"
            "                                loop's own default)\n"
            "  -h, --help                    this help\n\n"
            "Exit: 0 ok, 2 usage or file error.\n");
}

/* Runs one strategy. floor[i]: the strategy's floor at step i (already clamped). */
static void sim_run(const struct mla_fc_series *s, const int *floor_, const struct sim_opts *o,
                    struct sim_result *r)
{
    size_t n = s->n;
    double step = s->step_s;
    size_t lag = (size_t)ceil(o->polling / step - 1e-9);
    size_t win = (size_t)ceil(o->cooldown / step - 1e-9);
    r->target = mla_xcalloc(n, sizeof(int));
    r->ready = mla_xcalloc(n, sizeof(int));
    int *desired = mla_xcalloc(n, sizeof(int));
    /* Replicas by the time they become ready (FIFO; newest at the back). */
    double *ready_at = mla_xmalloc((size_t)(o->rmax + 1) * sizeof(double));
    int count = 0;
    r->replica_hours = r->under_minutes = 0;
    r->actions = 0;
    int seen_load = 0;
    double last_load = 0;
    for (size_t i = 0; i < n; i++) {
        double t = (double)i * step;
        double lv = i >= lag ? s->v[i - lag] : NAN;
        if (!isnan(lv)) {
            last_load = lv;
            seen_load = 1;
        }
        int want = seen_load ? (int)ceil(last_load / o->capacity - 1e-9) : (int)o->rmin;
        if (want < floor_[i])
            want = floor_[i];
        if (want < o->rmin)
            want = (int)o->rmin;
        if (want > o->rmax)
            want = (int)o->rmax;
        desired[i] = want;
        if (i == 0) {
            count = want; /* start in a steady state: the initial replicas are ready */
            for (int k = 0; k < count; k++)
                ready_at[k] = -INFINITY;
        } else if (want > count) {
            for (int k = count; k < want; k++)
                ready_at[k] = t + o->cold;
            count = want;
            r->actions++;
        } else if (want < count) {
            int keep = want;
            for (size_t j = i > win ? i - win : 0; j < i; j++)
                if (desired[j] > keep)
                    keep = desired[j];
            if (keep < count) {
                count = keep; /* drops the newest (still starting) replicas first */
                r->actions++;
            }
        }
        int ready = 0;
        for (int k = 0; k < count; k++)
            ready += ready_at[k] <= t;
        r->target[i] = count;
        r->ready[i] = ready;
        if (!isnan(s->v[i])) {
            r->replica_hours += count * step / 3600.0;
            if (s->v[i] > ready * o->capacity)
                r->under_minutes += step / 60.0;
        }
    }
    free(ready_at);
    free(desired);
}

static void sim_json_num(FILE *f, double v)
{
    if (isnan(v))
        fputs("null", f);
    else
        fprintf(f, "%.4g", v);
}

static bool sim_write_json(const char *path, const struct mla_fc_series *s, const double *point,
                           const double *fc, const struct sim_result *r, const struct sim_opts *o,
                           const char *summary_extra)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "w") : stdout;
    if (!f) {
        fprintf(stderr, "ml-autoscaling simulate: cannot write %s\n", path);
        return false;
    }
    fprintf(f, "{\"trace\":");
    mla__cli_json_str(f, o->file);
    fprintf(f, ",\"step_seconds\":%g,\"points\":%zu,"
               "\"params\":{\"capacity_per_replica\":%.6g,\"polling_delay_s\":%g,"
               "\"cold_start_s\":%g,\"cooldown_s\":%g,\"min\":%g,\"max\":%g,"
               "\"business_hours\":",
            s->step_s, s->n, o->capacity, o->polling, o->cold, o->cooldown, o->rmin, o->rmax);
    mla__cli_json_str(f, o->hours);
    fprintf(f, ",\"business_min\":%g,\"timezone\":", o->bmin);
    mla__cli_json_str(f, o->tz);
    fprintf(f, ",\"lead_minutes\":%g,\"quantile\":%g,\"hysteresis_step\":%g,"
               "\"scale_down_hold_minutes\":%g",
            o->lead_min, o->quantile, o->hyst_step, o->hold_min);
    /* Only with the flag, so that the default output stays what scripts already read; no
     * "forecast_path" means the all-history backtest. */
    if (o->lookback_h > 0)
        fprintf(f, ",\"lookback_hours\":%g", o->lookback_h);
    fprintf(f, "}%s,\"summary\":{",
            o->lookback_h > 0 ? ",\"forecast_path\":\"lookback\"" : "");
    for (int k = 0; k < SIM_N; k++)
        fprintf(f, "%s\"%s\":{\"replica_hours\":%.4f,\"under_provisioned_minutes\":%.4f,"
                   "\"scaling_actions\":%ld}",
                k ? "," : "", sim_names[k], r[k].replica_hours, r[k].under_minutes,
                r[k].actions);
    fprintf(f, "}%s,\"series\":{\"timestamp\":[", summary_extra);
    for (size_t i = 0; i < s->n; i++)
        fprintf(f, "%s%.0f", i ? "," : "", s->t0 + (double)i * s->step_s);
    fprintf(f, "],\"load\":[");
    for (size_t i = 0; i < s->n; i++) {
        fputs(i ? "," : "", f);
        sim_json_num(f, s->v[i]);
    }
    fprintf(f, "],\"forecast_point\":[");
    for (size_t i = 0; i < s->n; i++) {
        fputs(i ? "," : "", f);
        sim_json_num(f, point[i]);
    }
    fprintf(f, "],\"forecast_upper\":[");
    for (size_t i = 0; i < s->n; i++) {
        fputs(i ? "," : "", f);
        sim_json_num(f, fc[i]);
    }
    fprintf(f, "]");
    for (int k = 0; k < SIM_N; k++) {
        fprintf(f, ",\"%s_replicas\":[", sim_names[k]);
        for (size_t i = 0; i < s->n; i++)
            fprintf(f, "%s%d", i ? "," : "", r[k].target[i]);
        fprintf(f, "],\"%s_ready\":[", sim_names[k]);
        for (size_t i = 0; i < s->n; i++)
            fprintf(f, "%s%d", i ? "," : "", r[k].ready[i]);
        fprintf(f, "]");
        if (r[k].floor_) {
            fprintf(f, ",\"%s_floor\":[", sim_names[k]);
            for (size_t i = 0; i < s->n; i++)
                fprintf(f, "%s%d", i ? "," : "", r[k].floor_[i]);
            fprintf(f, "]");
        }
    }
    fprintf(f, "}}\n");
    bool ok = !ferror(f);
    if (f != stdout)
        ok = !fclose(f) && ok;
    else
        fflush(f);
    if (!ok)
        fprintf(stderr, "ml-autoscaling simulate: error writing %s\n", path);
    return ok;
}

/* ---- SVG ---------------------------------------------------------------------------------- */

struct sim_panel {
    double x, y, w, h;     /* pixel box of the plot area */
    size_t from, to;       /* step range */
    size_t per;            /* steps per plotted point */
    double ymax;
    const char *title;
};

static double sim_px(const struct sim_panel *p, size_t i)
{
    return p->x + p->w * (double)(i - p->from) / (double)(p->to - p->from);
}

static double sim_py(const struct sim_panel *p, double v)
{
    double y = p->y + p->h - p->h * v / p->ymax;
    return y < p->y ? p->y : y;
}

/* Polylines of the per-bucket max of v (in replica units: v / scale); a bucket with no value
 * (a gap in the trace) ends the current polyline so gaps stay visible. */
static void sim_line(FILE *f, const struct sim_panel *p, const double *v, const int *iv,
                     double scale, const char *style, bool steps)
{
    bool open = false;
    double prev = NAN;
    for (size_t b = p->from; b < p->to; b += p->per) {
        double m = NAN;
        for (size_t i = b; i < b + p->per && i < p->to; i++) {
            double x = v ? v[i] : (double)iv[i];
            if (!isnan(x) && (isnan(m) || x > m))
                m = x;
        }
        if (isnan(m)) {
            if (open)
                fprintf(f, "\"/>\n");
            open = false;
            prev = NAN;
            continue;
        }
        if (!open)
            fprintf(f, "<polyline fill=\"none\" %s points=\"", style);
        open = true;
        m /= scale;
        if (steps && !isnan(prev))
            fprintf(f, "%.1f,%.1f ", sim_px(p, b), sim_py(p, prev));
        fprintf(f, "%.1f,%.1f ", sim_px(p, b), sim_py(p, m));
        prev = m;
    }
    if (open)
        fprintf(f, "\"/>\n");
}

/* The highest replica-unit value in the panel's range, for its y axis. */
static double sim_panel_max(const struct sim_panel *p, const struct mla_fc_series *s,
                            const struct sim_result *r, double cap)
{
    double ymax = 1;
    for (size_t i = p->from; i < p->to; i++) {
        if (!isnan(s->v[i]) && s->v[i] / cap > ymax)
            ymax = s->v[i] / cap;
        for (int k = 0; k < SIM_N; k++)
            if (r[k].target[i] > ymax)
                ymax = r[k].target[i];
    }
    return ceil(ymax * 1.08);
}

static void sim_panel_draw(FILE *f, const struct sim_panel *p, const struct mla_fc_series *s,
                           const double *fc, const struct sim_result *r, double cap)
{
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"15\" font-weight=\"bold\">%s</text>\n",
            p->x, p->y - 10, p->title);
    fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"#fcfcfc\" "
               "stroke=\"#888\"/>\n",
            p->x, p->y, p->w, p->h);
    /* y grid and labels: replicas */
    int ystep = p->ymax > 40 ? 10 : p->ymax > 16 ? 4 : p->ymax > 8 ? 2 : 1;
    for (int v = 0; v <= (int)p->ymax; v += ystep) {
        double y = sim_py(p, v);
        fprintf(f, "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n",
                p->x, y, p->x + p->w, y);
        fprintf(f, "<text x=\"%.0f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%d</text>\n",
                p->x - 6, y + 4, v);
    }
    fprintf(f, "<text transform=\"translate(%.0f,%.0f) rotate(-90)\" font-size=\"12\" "
               "text-anchor=\"middle\">replicas (load / %.3g per replica)</text>\n",
            p->x - 38, p->y + p->h / 2, cap);
    /* x labels: dates at midnight UTC, thinned to ~10 */
    double t0 = s->t0 + (double)p->from * s->step_s, t1 = s->t0 + (double)p->to * s->step_s;
    double days = (t1 - t0) / 86400;
    int every = days > 40 ? 7 : days > 14 ? 3 : 1;
    int di = 0;
    for (double t = ceil(t0 / 86400) * 86400; t < t1; t += 86400, di++) {
        if (di % every)
            continue;
        double x = p->x + p->w * (t - t0) / (t1 - t0);
        time_t tt = (time_t)t;
        struct tm tm;
        gmtime_r(&tt, &tm);
        char lab[32];
        strftime(lab, sizeof lab, every == 1 ? "%a %d %b" : "%d %b", &tm);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"#eee\"/>\n", x,
                p->y, x, p->y + p->h);
        fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" font-size=\"11\" text-anchor=\"middle\">%s"
                   "</text>\n",
                x, p->y + p->h + 15, lab);
    }
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\" text-anchor=\"end\">time (UTC)"
               "</text>\n",
            p->x + p->w, p->y + p->h + 28);
    sim_line(f, p, s->v, NULL, cap, "stroke=\"#999\" stroke-width=\"1\"", false);
    sim_line(f, p, fc, NULL, cap, "stroke=\"#1f77b4\" stroke-width=\"1.2\" stroke-dasharray=\"4,2\"",
             false);
    sim_line(f, p, NULL, r[SIM_BUSINESS].target, 1, "stroke=\"#ff7f0e\" stroke-width=\"1.2\"",
             true);
    sim_line(f, p, NULL, r[SIM_PREDICTIVE].target, 1, "stroke=\"#2ca02c\" stroke-width=\"1.8\"",
             true);
    if (r[SIM_PREDICTIVE].floor_)
        sim_line(f, p, NULL, r[SIM_PREDICTIVE].floor_, 1,
                 "stroke=\"#0b5d0b\" stroke-width=\"1\" stroke-dasharray=\"2,2\"", true);
    sim_line(f, p, NULL, r[SIM_REACTIVE].target, 1, "stroke=\"#d62728\" stroke-width=\"1.1\"",
             true);
}

static bool sim_write_svg(const char *path, const struct mla_fc_series *s, const double *fc,
                          const struct sim_result *r, const struct sim_opts *o)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "ml-autoscaling simulate: cannot write %s\n", path);
        return false;
    }
    const double W = 1400, H = 860;
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
               "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\">\n"
               "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            W, H, W, H);
    fprintf(f, "<text x=\"70\" y=\"28\" font-size=\"18\" font-weight=\"bold\">Simulated "
               "autoscaling of ");
    for (const char *p = o->file; *p; p++) {
        if (*p == '<')
            fputs("&lt;", f);
        else if (*p == '>')
            fputs("&gt;", f);
        else if (*p == '&')
            fputs("&amp;", f);
        else
            fputc(*p, f);
    }
    if (o->lookback_h > 0)
        fprintf(f, " (forecast: the loop's path, last %g h at each step)", o->lookback_h);
    else
        fputs(" (forecast: all-history backtest)", f);
    fprintf(f, "</text>\n");
    for (int k = 0; k < SIM_N; k++)
        fprintf(f, "<text x=\"70\" y=\"%d\" font-size=\"13\">%s: %.0f replica-hours, %.0f min "
                   "under-provisioned, %ld scaling actions</text>\n",
                52 + 17 * k, sim_names[k], r[k].replica_hours, r[k].under_minutes, r[k].actions);
    /* Panels: the whole trace (hourly max), then the last 3 days (per 5 minutes or step). */
    struct sim_panel all = {.x = 70, .y = 130, .w = W - 100, .h = 280, .from = 0, .to = s->n,
                            .title = "Whole trace (maximum per hour)"};
    all.per = (size_t)(3600 / s->step_s) ? (size_t)(3600 / s->step_s) : 1;
    size_t last = (size_t)(3 * 86400 / s->step_s);
    struct sim_panel zoom = {.x = 70, .y = 480, .w = W - 100, .h = 280,
                             .from = s->n > last ? s->n - last : 0, .to = s->n,
                             .title = "Last 3 days (maximum per 5 minutes)"};
    zoom.per = (size_t)(300 / s->step_s) ? (size_t)(300 / s->step_s) : 1;
    all.ymax = sim_panel_max(&all, s, r, o->capacity);
    zoom.ymax = sim_panel_max(&zoom, s, r, o->capacity);
    sim_panel_draw(f, &all, s, fc, r, o->capacity);
    sim_panel_draw(f, &zoom, s, fc, r, o->capacity);
    /* Legend */
    static const struct {
        const char *label, *style;
    } leg[] = {
        {"load (replicas needed)", "stroke=\"#999\" stroke-width=\"2\""},
        {"forecast (upper, made ahead)", "stroke=\"#1f77b4\" stroke-width=\"2\" "
                                             "stroke-dasharray=\"4,2\""},
        {"reactive replicas", "stroke=\"#d62728\" stroke-width=\"2.5\""},
        {"business-hours replicas", "stroke=\"#ff7f0e\" stroke-width=\"2\""},
        {"predictive replicas", "stroke=\"#2ca02c\" stroke-width=\"2.5\""},
        {"predictive floor (minReplicaCount)", "stroke=\"#0b5d0b\" stroke-width=\"1.5\" "
                                                      "stroke-dasharray=\"2,2\""},
    };
    for (size_t k = 0; k < sizeof leg / sizeof leg[0]; k++) {
        double x = 70 + 215 * (double)k, y = H - 24;
        fprintf(f, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" %s/>\n", x, y, x + 30,
                y, leg[k].style);
        fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"13\">%s</text>\n", x + 36, y + 4,
                leg[k].label);
    }
    if (o->lookback_h > 0)
        fprintf(f, "<text x=\"70\" y=\"%.0f\" font-size=\"12\">forecast: one-shot on the last "
                   "%g h at each step (the loop's path)</text>\n",
                H - 6, o->lookback_h);
    else
        fprintf(f, "<text x=\"70\" y=\"%.0f\" font-size=\"12\">forecast: all-history "
                   "backtest</text>\n",
                H - 6);
    fprintf(f, "</svg>\n");
    bool ok = !ferror(f);
    ok = !fclose(f) && ok;
    if (!ok)
        fprintf(stderr, "ml-autoscaling simulate: error writing %s\n", path);
    return ok;
}

/* ---- main --------------------------------------------------------------------------------- */

/* The options into o; -1 to go on, else the exit status (help printed, or the error said). */
static int sim_args(int argc, char **argv, struct sim_opts *o)
{
    static const struct option longs[] = {
        {"file", required_argument, NULL, 'f'},
        {"plot", required_argument, NULL, 'p'},
        {"json", required_argument, NULL, 'j'},
        {"capacity-per-replica", required_argument, NULL, 'c'},
        {"polling-delay", required_argument, NULL, 'P'},
        {"cold-start", required_argument, NULL, 'C'},
        {"cooldown", required_argument, NULL, 'D'},
        {"min", required_argument, NULL, 'm'},
        {"max", required_argument, NULL, 'M'},
        {"business-hours", required_argument, NULL, 'b'},
        {"business-min", required_argument, NULL, 'B'},
        {"timezone", required_argument, NULL, 'z'},
        {"lead", required_argument, NULL, 'l'},
        {"quantile", required_argument, NULL, 'q'},
        {"hysteresis-step", required_argument, NULL, 'S'},
        {"scale-down-hold", required_argument, NULL, 'o'},
        {"lookback-hours", required_argument, NULL, 'L'},
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
        case 'p': o->plot = optarg; break;
        case 'j': o->json = optarg; break;
        case 'c':
            ok = mla__cli_num(CMD, "--capacity-per-replica", optarg, 1e-9, 1e15, &o->capacity);
            break;
        case 'P': ok = mla__cli_num(CMD, "--polling-delay", optarg, 0, 86400, &o->polling); break;
        case 'C': ok = mla__cli_num(CMD, "--cold-start", optarg, 0, 86400, &o->cold); break;
        case 'D': ok = mla__cli_num(CMD, "--cooldown", optarg, 0, 86400, &o->cooldown); break;
        case 'm': ok = mla__cli_num(CMD, "--min", optarg, 0, 10000, &o->rmin); break;
        case 'M': ok = mla__cli_num(CMD, "--max", optarg, 1, 10000, &o->rmax); break;
        case 'b': o->hours = optarg; break;
        case 'B': ok = mla__cli_num(CMD, "--business-min", optarg, 0, 10000, &o->bmin); break;
        case 'z': o->tz = optarg; break;
        case 'l': ok = mla__cli_num(CMD, "--lead", optarg, 0.001, 1440, &o->lead_min); break;
        case 'q': ok = mla__cli_num(CMD, "--quantile", optarg, 0.5, 0.999, &o->quantile); break;
        case 'S': ok = mla__cli_num(CMD, "--hysteresis-step", optarg, 1, 10000, &o->hyst_step); break;
        case 'o': ok = mla__cli_num(CMD, "--scale-down-hold", optarg, 0, 10080, &o->hold_min); break;
        case 'L':
            ok = mla__cli_num(CMD, "--lookback-hours", optarg, 1, 24 * 3650, &o->lookback_h);
            break;
        case 'h': sim_usage(stdout); return MLA_EXIT_OK;
        case ':':
            fprintf(stderr, "ml-autoscaling simulate: option '%s' needs a value\n",
                    argv[optind - 1]);
            ok = false;
            break;
        default:
            fprintf(stderr, "ml-autoscaling simulate: unknown option '%s'\n", argv[optind - 1]);
            ok = false;
        }
    }
    if (!mla__cli_check_args("simulate", ok, optind, argc, argv, o->file, o->rmin, o->rmax))
        return MLA_EXIT_USAGE;
    return -1;
}

/* The defaults that depend on the trace: --capacity-per-replica and --business-min. */
static void sim_defaults(const struct mla_fc_series *s, struct sim_opts *o)
{
    if (isnan(o->capacity))
        o->capacity = mla__cli_default_capacity(s);
    if (isnan(o->bmin)) {
        /* Floor that covers the 90th percentile of the load. */
        double cap8 = mla__cli_default_capacity(s) * 8; /* the 99th percentile */
        o->bmin = ceil(0.65 * cap8 / o->capacity);
        if (o->bmin < o->rmin)
            o->bmin = o->rmin;
    }
}

/* The replica floor of each strategy at each step, into floors[k] (allocated here, n each);
 * point and upper are the backtest's point forecast and upper bound, H the lead in steps. */
static void sim_floors(const struct mla_fc_series *s, const struct mla_hours *bh,
                       const double *point, const double *upper, size_t H,
                       const struct sim_opts *o, int *floors[SIM_N])
{
    size_t n = s->n;
    /* The predictive floor at step i: the loop's own decision (mla_predict_min_replicas, with
     * its hysteresis state carried from step to step) on the forecast made at i for i + H. */
    struct mla_predict_config pc;
    mla_predict_config_init(&pc);
    pc.enabled = true;
    pc.capacity_per_replica = o->capacity;
    pc.quantile = o->quantile;
    pc.confidence_threshold = 0; /* the backtest has no confidence: always the forecast */
    pc.horizon_minutes = pc.scale_ahead_minutes = (int)ceil(o->lead_min - 1e-9);
    pc.min_replicas = (int)o->rmin;
    pc.max_replicas = (int)o->rmax;
    pc.hysteresis_step = (int)o->hyst_step;
    pc.scale_down_hold_minutes = (int)o->hold_min;
    int cur_min = -1;
    time_t last_change = 0;
    size_t lag = (size_t)ceil(o->polling / s->step_s - 1e-9); /* as sim_run's controller */
    double seen = NAN;
    for (int k = 0; k < SIM_N; k++)
        floors[k] = mla_xcalloc(n, sizeof(int));
    for (size_t i = 0; i < n; i++) {
        double t = s->t0 + (double)i * s->step_s;
        floors[SIM_REACTIVE][i] = (int)o->rmin;
        floors[SIM_BUSINESS][i] =
            mla_hours_active(bh, (time_t)t, NULL) ? (int)o->bmin : (int)o->rmin;
        double u = i + H < n ? upper[i + H] : NAN;
        double pt = i + H < n ? point[i + H] : NAN;
        if (i >= lag && !isnan(s->v[i - lag]))
            seen = s->v[i - lag]; /* the loop's observed load: the last value it has */
        struct mla_predict_forecast pf = {.peak_upper = u, .peak_point = pt, .confidence = 1,
                                          .observed = seen};
        struct mla_predict_input in = {.cfg = &pc, .fc = isnan(u) ? NULL : &pf,
                                       .no_forecast_why = "no history yet", .now = (time_t)t,
                                       .current_min = cur_min, .last_change = last_change,
                                       .current_max = (int)o->rmax};
        struct mla_predict_result pr;
        mla_predict_min_replicas(&in, &pr);
        if (pr.changed) {
            cur_min = pr.min_replicas;
            last_change = (time_t)t;
        }
        floors[SIM_PREDICTIVE][i] = pr.min_replicas;
    }
    mla_predict_config_fini(&pc);
}

/* ---- the loop's forecast path (--lookback-hours) ----------------------------------------- */

/* The trace as the loop's window table reads Prometheus: grid time t is step
 * (t - base) / step_s of the trace; outside the trace, a gap. */
struct sim_feed {
    const struct mla_fc_series *s; /* borrowed */
    double base;                   /* grid time of the trace's first step */
};

static enum mla_code sim_fetch(void *ctx, const struct mla_prom_opts *opts, const char *query,
                               double start, double end, double step,
                               struct mla_prom_series *out, struct mla_err *err)
{
    (void)opts;
    (void)query;
    (void)err;
    const struct sim_feed *fd = ctx;
    size_t n = (size_t)floor((end - start) / step + 0.5) + 1;
    out->start = start;
    out->step = step;
    out->n = n;
    out->series = 1;
    out->v = mla_xmalloc(n * sizeof *out->v); /* owned by *out: mla_prom_series_fini */
    for (size_t j = 0; j < n; j++) {
        double k = floor((start + (double)j * step - fd->base) / fd->s->step_s + 0.5);
        out->v[j] = k >= 0 && k < (double)fd->s->n ? fd->s->v[(size_t)k] : NAN;
    }
    return MLA_OK;
}

/* point[i + H], upper[i + H]: the peak point and upper bound the loop computes at step i (its
 * window of the last lookback hours up to i, one-shot forecast, reduced over the scale-ahead
 * window), through the loop's own call (mla_predict_models_forecast), NaN where it has no
 * forecast. Quantile, horizon and scale-ahead (both the lead, in whole minutes) are
 * sim_floors' decision config. *cpu: the CPU seconds spent forecasting. */
static enum mla_code sim_lookback(const struct mla_fc_series *s, const struct sim_opts *o,
                                  size_t H, double *point, double *upper, double *cpu,
                                  struct mla_err *err)
{
    size_t n = s->n;
    for (size_t i = 0; i < n; i++)
        point[i] = upper[i] = NAN;
    struct mla_predict_config pc;
    mla_predict_config_init(&pc);
    pc.enabled = true;
    pc.query = mla_xstrdup("simulate");
    pc.lookback_hours = o->lookback_h;
    pc.step_seconds = s->step_s; /* the trace's grid: one forecast per new point */
    pc.quantile = o->quantile;
    pc.horizon_minutes = pc.scale_ahead_minutes = (int)ceil(o->lead_min - 1e-9);
    int horizon, ahead;
    mla_predict_config_steps(&pc, &horizon, &ahead);
    struct mla_predict_models *m = NULL;
    enum mla_code rc = mla_predict_models_create(0, 0, &m, err);
    if (rc != MLA_OK) {
        mla_predict_config_fini(&pc);
        return rc;
    }
    struct sim_feed fd = {.s = s, .base = ceil(s->t0 / s->step_s) * s->step_s};
    mla_predict_models_set_fetch(m, sim_fetch, &fd);
    struct mla_prom_opts prom = {0};
    clock_t c0 = clock();
    for (size_t i = 0; i + H < n; i++) {
        mla_predict_models_pass_begin(m);
        struct mla_predict_forecast pf;
        bool have = false;
        char why[256];
        if (mla_predict_models_forecast(m, NULL, &prom, "sim", "trace", "simulate", &pc,
                                        (time_t)(fd.base + (double)i * s->step_s), horizon, ahead,
                                        &pf, &have, why, sizeof why, NULL) == MLA_OK &&
            have) {
            point[i + H] = pf.peak_point;
            upper[i + H] = pf.peak_upper;
        }
    }
    *cpu = (double)(clock() - c0) / CLOCKS_PER_SEC;
    mla_predict_models_destroy(m);
    mla_predict_config_fini(&pc);
    return MLA_OK;
}

/* The human summary: on stderr with --json - (the JSON owns stdout), else on stdout. */
static void sim_print_summary(const struct mla_fc_series *s, const struct sim_result *r,
                              const struct sim_opts *o, double cost_ratio, double under_ratio)
{
    size_t n = s->n;
    FILE *out = o->json && !strcmp(o->json, "-") ? stderr : stdout;
    fprintf(out, "Simulated %s: %zu steps of %g s (%.1f days), capacity %.4g per replica, replicas "
           "%g..%g,\npolling delay %g s, cold start %g s, cooldown %g s; business hours '%s' "
           "(%s) floor %g;\npredictive: upper bound q=%g of the forecast made %g min ahead, "
           "hysteresis step %g, scale-down hold %g min\n",
           o->file, n, s->step_s, (double)n * s->step_s / 86400, o->capacity, o->rmin, o->rmax,
           o->polling, o->cold, o->cooldown, o->hours, o->tz, o->bmin, o->quantile, o->lead_min,
           o->hyst_step, o->hold_min);
    fprintf(out, "%-16s %14s %22s %16s\n", "strategy", "replica-hours", "under-provisioned min",
           "scaling actions");
    for (int k = 0; k < SIM_N; k++)
        fprintf(out, "%-16s %14.1f %22.0f %16ld\n", sim_names[k], r[k].replica_hours,
               r[k].under_minutes, r[k].actions);
    fprintf(out, "predictive vs reactive: replica-hours x%.3f (%+.1f%%), under-provisioned minutes "
           "x%.3f (%+.1f%%)\n",
           cost_ratio, 100 * (cost_ratio - 1), under_ratio, 100 * (under_ratio - 1));
}

int mla_cmd_simulate(int argc, char **argv)
{
    struct sim_opts o = {.hours = "Mon-Fri 09:00-18:00", .tz = "UTC", .capacity = NAN,
                         .polling = 60, .cold = 180, .cooldown = 300, .rmin = 1, .rmax = 100,
                         .bmin = NAN, .lead_min = 15, .quantile = 0.82,
                         .hyst_step = 1, .hold_min = 15};
    int code = sim_args(argc, argv, &o);
    if (code >= 0)
        return code;
    struct mla_hours *bh = NULL;
    struct mla_err herr;
    mla_err_clear(&herr);
    if (mla_hours_parse(o.hours, o.tz, 0, &bh, &herr) != MLA_OK) {
        fprintf(stderr, "ml-autoscaling simulate: --business-hours '%s' --timezone '%s': %s\n",
                o.hours, o.tz, herr.msg);
        return MLA_EXIT_USAGE;
    }
    struct mla_fc_series s;
    if (!mla__cli_load(CMD, o.file, 0, true, &s)) {
        mla_hours_destroy(bh);
        return MLA_EXIT_USAGE;
    }
    int rc = MLA_EXIT_OK;
    sim_defaults(&s, &o);
    struct mla_fc_config cfg;
    mla_fc_config_default(&cfg);
    cfg.horizon_steps = (int)ceil(o.lead_min * 60 / s.step_s - 1e-9);
    cfg.quantile = o.quantile;
    if (cfg.horizon_steps > MLA_FC_MAX_HORIZON) {
        fprintf(stderr, "ml-autoscaling simulate: --lead %g min is more than %d steps\n",
                o.lead_min, MLA_FC_MAX_HORIZON);
        mla_fc_series_fini(&s);
        mla_hours_destroy(bh);
        return MLA_EXIT_USAGE;
    }
    size_t n = s.n, H = (size_t)cfg.horizon_steps;
    double *point = mla_xmalloc(n * sizeof(double)), *upper = mla_xmalloc(n * sizeof(double));
    struct mla_err err;
    mla_err_clear(&err);
    double fc_cpu = NAN;
    if (o.lookback_h > 0 ? sim_lookback(&s, &o, H, point, upper, &fc_cpu, &err)
                         : mla_fc_backtest(s.v, n, s.step_s, &cfg, point, upper, &err)) {
        fprintf(stderr, "ml-autoscaling simulate: %s: %s\n", o.file, err.msg);
        free(point);
        free(upper);
        mla_fc_series_fini(&s);
        mla_hours_destroy(bh);
        return MLA_EXIT_USAGE;
    }
    int *floors[SIM_N];
    sim_floors(&s, bh, point, upper, H, &o, floors);
    struct sim_result r[SIM_N];
    for (int k = 0; k < SIM_N; k++) {
        sim_run(&s, floors[k], &o, &r[k]);
        r[k].floor_ = k == SIM_PREDICTIVE ? floors[k] : NULL;
    }

    double cost_ratio = r[SIM_PREDICTIVE].replica_hours / r[SIM_REACTIVE].replica_hours;
    double under_ratio = r[SIM_REACTIVE].under_minutes > 0
                             ? r[SIM_PREDICTIVE].under_minutes / r[SIM_REACTIVE].under_minutes
                             : NAN;
    sim_print_summary(&s, r, &o, cost_ratio, under_ratio);
    if (o.lookback_h > 0)
        fprintf(o.json && !strcmp(o.json, "-") ? stderr : stdout,
                "forecast: the loop's path, a one-shot forecast of the last %g h at each of %zu "
                "steps (%.1f s CPU, %.2f ms a step)\n",
                o.lookback_h, n > H ? n - H : 0, fc_cpu, n > H ? 1e3 * fc_cpu / (double)(n - H) : 0);
    char extra[256];
    snprintf(extra, sizeof extra,
             ",\"predictive_vs_reactive\":{\"replica_hours_ratio\":%.4f,"
             "\"under_provisioned_ratio\":%.4f}",
             cost_ratio, isnan(under_ratio) ? 0 : under_ratio);
    if (o.json && !sim_write_json(o.json, &s, point, upper, r, &o, extra))
        rc = MLA_EXIT_USAGE;
    if (o.plot && !sim_write_svg(o.plot, &s, upper, r, &o))
        rc = MLA_EXIT_USAGE;
    for (int k = 0; k < SIM_N; k++) {
        free(floors[k]);
        free(r[k].target);
        free(r[k].ready);
    }
    free(point);
    free(upper);
    mla_fc_series_fini(&s);
    mla_hours_destroy(bh);
    return rc;
}
