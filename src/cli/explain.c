/* cli/explain.c - the 'explain' subcommand: for one ScaledObject, the whole chain the predictive
 * loop goes through - the history it reads, the forecast with its interval, the cycles and trend
 * found, business hours, the cost cap, the bounds, the hysteresis state - the decision it takes
 * and when the next change may happen.
 *
 * The ScaledObject comes from a file (JSON or YAML) or, live, from the API server (--kube-url,
 * --kube-token-file, namespace/name). The history comes from a trace CSV (--trace; "now" is its
 * last point unless --now) or from Prometheus (--prometheus-url, the config's query over its
 * lookbackHours, the same aligned grid as the loop). The decision is the loop's own code path:
 * mla_predict_fc_forecast_seeded (the adapter the loop uses) with the weekly profile stored on
 * the ScaledObject (ml-autoscaling.io/forecast-profile), caught up to the window as a new
 * leader does (predict_forecast.h), and mla_predict_min_replicas. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "fc-common.h"
#include "mla/fc.h"
#include "mla/file.h"
#include "mla/hours.h"
#include "mla/kube.h"
#include "mla/mem.h"
#include "mla/predict.h"
#include "mla/predict_forecast.h"
#include "mla/predict_step.h"
#include "mla/prom.h"

#define CMD "explain"

struct ex_opts {
    const char *file, *trace, *prom_url, *kube_url, *token_file, *kube_ca, *target;
    double now; /* NaN: the trace's last point, or the clock */
};

static void ex_usage(FILE *f)
{
    fprintf(f,
            "Usage: ml-autoscaling explain -f SCALEDOBJECT.yaml (--trace TRACE.csv | "
            "--prometheus-url URL)\n"
            "       ml-autoscaling explain --kube-url URL [--kube-token-file FILE] [--kube-ca FILE]\n"
            "                              --prometheus-url URL NAMESPACE/NAME\n\n"
            "Prints, for one ScaledObject with an ml-autoscaling.io/predictive-config annotation,\n"
            "the whole chain the predictive loop goes through: the history read, the forecast with\n"
            "its interval, the cycles and trend found, business hours, the cost cap, the bounds,\n"
            "the hysteresis state, the minReplicaCount it would set (and the rule that set it)\n"
            "and when the next change may happen. Same code as the loop, seeded with the weekly\n"
            "profile the loop stores on the ScaledObject (ml-autoscaling.io/forecast-profile) as a\n"
            "new leader is; nothing is written.\n\n"
            "Options:\n"
            "  -f, --file FILE           the ScaledObject (JSON or YAML)\n"
            "      --trace FILE          load history CSV (as for 'forecast'); now = its last\n"
            "                            point unless --now\n"
            "      --prometheus-url URL  read the history with the config's query instead\n"
            "      --kube-url URL        live: read NAMESPACE/NAME from this API server\n"
            "      --kube-token-file F   bearer token for --kube-url\n"
            "      --kube-ca FILE        CA bundle for --kube-url\n"
            "      --now T               the instant to explain (Unix seconds; default: see above)\n"
            "  -h, --help                this help\n\n"
            "Exit: 0 explained, 1 nothing to explain or a source failed (no predictive-config,\n"
            "Prometheus or the API server failed, not found), 2 usage or file error.\n");
}

/* The loop's window at `now`: [*start, *end] on the config's step grid, end = now rounded down
 * to the step. */
static void ex_window(const struct mla_predict_config *c, time_t now, double *start, double *end)
{
    double step = c->step_seconds;
    *end = floor((double)now / step) * step;
    *start = *end - (double)(mla_predict_config_window_points(c) - 1) * step;
}

/* The history the loop would read at `now`: from `start` (the window's, or earlier to catch a
 * stored profile up) to the window's end. From the trace, or from Prometheus. 0, 1 or 2
 * (exit). */
static int ex_history(const struct ex_opts *o, const struct mla_predict_config *c, time_t now,
                      double start, struct mla_prom_series *out)
{
    double step = c->step_seconds, end, wstart;
    ex_window(c, now, &wstart, &end);
    struct mla_err err;
    mla_err_clear(&err);
    if (o->prom_url) {
        struct mla_prom_opts po = {.base_url = o->prom_url, .timeout_ms = 10000};
        if (mla_prom_query_range(&po, c->query, start, end, step, out, &err)) {
            fprintf(stderr, "ml-autoscaling explain: Prometheus %s: %s\n", o->prom_url, err.msg);
            return MLA_EXIT_FAIL;
        }
        return MLA_EXIT_OK;
    }
    struct mla_fc_series s;
    if (!mla__cli_load(CMD, o->trace, step, true, &s))
        return MLA_EXIT_USAGE;
    size_t n = (size_t)((end - start) / step + 0.5) + 1;
    out->start = start;
    out->step = step;
    out->n = n;
    out->series = 1;
    out->v = mla_xmalloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++) {
        double k = (start + (double)i * step - s.t0) / s.step_s;
        long ki = lround(k);
        out->v[i] = ki >= 0 && (size_t)ki < s.n && fabs(k - (double)ki) < 1e-6 ? s.v[ki] : NAN;
    }
    mla_fc_series_fini(&s);
    return MLA_EXIT_OK;
}

/* Reads the ScaledObject: the file's first document, or GET from the API server. *out new. */
static int ex_object(const struct ex_opts *o, cJSON **out)
{
    struct mla_err err;
    mla_err_clear(&err);
    if (o->file) {
        char *text = NULL;
        size_t len = 0;
        cJSON *docs = NULL;
        if (mla_file_read(o->file, (size_t)16 << 20, &text, &len, &err) ||
            mla_kube_yaml_parse(text, len, &docs, &err)) {
            fprintf(stderr, "ml-autoscaling explain: %s: %s\n", o->file, err.msg);
            free(text);
            return MLA_EXIT_USAGE;
        }
        free(text);
        cJSON *first = cJSON_DetachItemFromArray(docs, 0); /* ours now; docs keeps the rest */
        cJSON_Delete(docs);
        if (!cJSON_IsObject(first)) {
            fprintf(stderr, "ml-autoscaling explain: %s: not an object\n", o->file);
            cJSON_Delete(first);
            return MLA_EXIT_USAGE;
        }
        *out = first;
        return MLA_EXIT_OK;
    }
    const char *slash = strchr(o->target, '/');
    struct mla_kube_config kcfg;
    mla_kube_config_init(&kcfg);
    struct mla_kube *kc = NULL;
    if (mla_kube_config_explicit(o->kube_url, o->token_file, o->kube_ca, &kcfg, &err) ||
        mla_kube_create(&kcfg, &kc, &err)) {
        fprintf(stderr, "ml-autoscaling explain: --kube-url %s: %s\n", o->kube_url, err.msg);
        mla_kube_config_fini(&kcfg);
        return MLA_EXIT_USAGE;
    }
    char path[512];
    snprintf(path, sizeof path, "/apis/keda.sh/v1alpha1/namespaces/%.*s/scaledobjects/%s",
             (int)(slash - o->target), o->target, slash + 1);
    struct mla_kube_resp resp = {0};
    struct mla_kube_opts ko = {.budget_ms = 10000};
    enum mla_code rc = mla_kube_request(kc, MLA_KUBE_GET, path, NULL, &ko, &resp, &err);
    int ex = MLA_EXIT_OK;
    if (rc) {
        fprintf(stderr, "ml-autoscaling explain: ScaledObject %s: %s\n", o->target, err.msg);
        ex = MLA_EXIT_FAIL;
    } else {
        *out = resp.body; /* ours now */
        resp.body = NULL;
    }
    mla_kube_resp_fini(&resp);
    mla_kube_destroy(kc);
    mla_kube_config_fini(&kcfg);
    return ex;
}

static const char *ex_str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void ex_time(time_t t, char *buf, size_t n)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%d %H:%M UTC", &tm);
}

/* The forecast part: full model result for the interval, cycles and trend, and the loop's own
 * summary (peak over the scale-ahead window) for the decision; both seeded with prof (NULL:
 * none) as the loop's are. */
static bool ex_forecast(const struct mla_predict_config *c, const struct mla_prom_series *h,
                        const struct mla_fc_profile *prof, struct mla_predict_forecast *pf,
                        char *why, size_t whylen)
{
    double step = c->step_seconds;
    int horizon, ahead;
    mla_predict_config_steps(c, &horizon, &ahead);
    size_t present = 0, last = 0;
    for (size_t i = 0; i < h->n; i++)
        if (!isnan(h->v[i])) {
            present++;
            last = i;
        }
    printf("History: %zu points of %g s over the last %g h (%zu missing)\n", h->n, step,
           c->lookback_hours, h->n - present);
    /* how this relates to the loop's path (predict_models.h), since the two could differ */
    printf("Path: as a new leader builds its window: one query_range over the lookback (samples "
           "stored as float), the forecast seeded with the weekly profile stored on the "
           "ScaledObject when there is one, caught up to the window's start; a leader that kept "
           "its window carries the same profile (it writes it back with its applies, and daily), "
           "so its forecast (the forecast-* annotations) is this one; it differs when the "
           "stored profile is older than the loop's and more than a day behind (a write put off "
           "by --loop-explanation-writes) or the loop's table was full (no float rounding: "
           "about 1e-6)\n");
    if (!present) {
        snprintf(why, whylen, "no history in the last %g h", c->lookback_hours);
        return false;
    }
    struct mla_err err;
    mla_err_clear(&err);
    struct mla_fc_config fcfg;
    mla_fc_config_default(&fcfg);
    fcfg.horizon_steps = horizon > MLA_FC_MAX_HORIZON ? MLA_FC_MAX_HORIZON : horizon;
    fcfg.quantile = c->quantile < 0.5 ? 0.5 : c->quantile > 0.999 ? 0.999 : c->quantile;
    fcfg.anomaly_threshold = c->anomaly_threshold < 2 ? 2 : c->anomaly_threshold > 5 ? 5
                                                                          : c->anomaly_threshold;
    struct mla_fc_result *r = mla_xmalloc(sizeof *r);
    bool ok = mla_fc_forecast_seeded(h->v, h->n, h->start, step, &fcfg, prof, r, &err) ==
                  MLA_OK &&
              mla_predict_fc_forecast_seeded(h->v, h->n, h->start, step, horizon, ahead,
                                             c->quantile, c->anomaly_threshold, prof, pf,
                                             &err) == MLA_OK;
    if (!ok) {
        snprintf(why, whylen, "forecaster failed: %s", err.msg);
        free(r);
        return false;
    }
    pf->observed = h->v[last];
    printf("  last observed %.2f; %zu anomalies filtered\n", pf->observed, r->anomalies);
    printf("Forecast (point [lower, upper] at quantile %.2f):\n", fcfg.quantile);
    double t_last = h->start + (double)(h->n - 1) * step;
    for (int k = 0; k < r->horizon_steps; k++) {
        char ts[40];
        ex_time((time_t)(t_last + (double)(k + 1) * step), ts, sizeof ts);
        printf("  %s  %10.2f  [%.2f, %.2f]%s\n", ts, r->point[k], r->lower[k], r->upper[k],
               k + 1 >= ahead ? "  (scale-ahead window)" : "");
    }
    for (int k = 0; k < 2; k++) {
        const struct mla_fc_cycle *cy = k ? &r->weekly : &r->daily;
        if (!cy->period_steps)
            printf("Cycle %-7s not tested (needs two whole periods)\n", k ? "weekly" : "daily");
        else
            printf("Cycle %-7s %s (confidence %.2f, peak/trough amplitude %.2f)\n",
                   k ? "weekly" : "daily", cy->present ? "present" : "absent", cy->confidence,
                   cy->strength);
    }
    printf("Trend: %s (level change over the history %+.1f%%)\n", mla_fc_trend_name(r->trend),
           100 * r->trend_change);
    printf("Ensemble weights:");
    for (int k = 0; k < MLA_FC_CAND_COUNT; k++)
        if (r->weight[k] >= 0.005)
            printf(" %s %.2f", mla_fc_cand_name((enum mla_fc_cand)k), r->weight[k]);
    printf("\nConfidence: %.2f (threshold %.2f: %s)\n", pf->confidence, c->confidence_threshold,
           pf->confidence >= c->confidence_threshold ? "forecast used" : "below: fallback");
    printf("Peak over %d-%d min ahead: upper %.2f, point %.2f", c->scale_ahead_minutes,
           c->horizon_minutes, pf->peak_upper, pf->peak_point);
    if (!isnan(c->capacity_per_replica))
        printf(" -> ceil(%.2f / %g per replica) = %.0f replicas", pf->peak_upper,
               c->capacity_per_replica, ceil(pf->peak_upper / c->capacity_per_replica - 1e-9));
    printf("\n");
    free(r);
    return true;
}

/* Business hours, night cap, cost cap, bounds: the limits the pipeline applies after the
 * forecast. */
static void ex_print_limits(const struct mla_predict_config *c, time_t now)
{
    if (c->hours) {
        struct mla_hours_state st = mla_hours_eval(c->hours, now);
        char wd[96], nx[40];
        time_t next = mla_hours_next_change(c->hours, now);
        if (next != (time_t)-1)
            ex_time(next, nx, sizeof nx);
        if (st.active) {
            mla_hours_window_format(&c->hours->w[st.window], wd, sizeof wd);
            printf("Business hours (%s): inside %s, floor %d", c->timezone ? c->timezone : "UTC",
                   wd, st.min_replicas);
        } else {
            printf("Business hours (%s): outside every window", c->timezone ? c->timezone : "UTC");
        }
        printf(next != (time_t)-1 ? "; next opens or closes at %s\n" : "\n", nx);
    } else {
        printf("Business hours: none\n");
    }
    if (c->night_max_replicas >= 0)
        printf("Night cap: maxReplicaCount at most %d outside business hours\n",
               c->night_max_replicas);
    if (!isnan(c->replica_hourly_cost) && !isnan(c->max_hourly_cost))
        printf("Cost cap: at most %.0f replicas (%.2f/h max at %.2f/h per replica)\n",
               floor(c->max_hourly_cost / c->replica_hourly_cost + 1e-9), c->max_hourly_cost,
               c->replica_hourly_cost);
    else
        printf("Cost cap: none\n");
    printf("Bounds: %d..%d\n", c->min_replicas, c->max_replicas);
}

/* The loop's decision now, and when it can change next. */
static void ex_print_decision(const struct mla_predict_config *c,
                              const struct mla_predict_forecast *pf, const char *why, time_t now,
                              int cur, time_t last, int cur_max)
{
    char ts[40];
    struct mla_predict_input in = {.cfg = c, .fc = pf, .no_forecast_why = why,
                                   .now = now, .current_min = cur, .last_change = last,
                                   .current_max = cur_max};
    struct mla_predict_result r;
    mla_predict_min_replicas(&in, &r);
    printf("Decision: minReplicaCount %d%s (rule %s)\n", r.min_replicas,
           r.changed ? "" : ", unchanged", mla_predict_rule_name(r.rule));
    printf("Reason: %s: %s\n", mla_predict_rule_name(r.rule), r.reason);
    printf("maxReplicaCount: %d%s\n", r.max_replicas, r.max_capped ? " (night cap)" : "");
    /* When can it change next? Up: any loop pass. Down: after the hold. */
    long hold = (long)c->scale_down_hold_minutes * 60;
    if (last > 0 && now - last < hold) {
        ex_time(last + hold, ts, sizeof ts);
        printf("Next change: up at the next loop pass; down not before %s (scale-down hold)\n",
               ts);
    } else {
        printf("Next change: at the next loop pass, up or down\n");
    }
    if (r.forecast_used &&
        (r.rule == MLA_PREDICT_RULE_FORECAST || r.rule == MLA_PREDICT_RULE_HYSTERESIS)) {
        /* The band's thresholds around the value now (predict.h, steps 1 and 5): what the
         * forecast must do to move it. */
        double cap = c->capacity_per_replica;
        int v = r.min_replicas;
        printf("Forecast thresholds: up from %d when the upper bound passes %.1f or the point "
               "passes %.1f",
               v, (v + MLA_PREDICT_RISE_SLACK) * cap, v * cap);
        if (v > 0)
            printf("; down when the upper bound is at most %.1f and the load seen at most %.1f "
                   "or %.1f",
                   (v - 1) * cap, (v - 1) * cap, ((v + 1) / 2 - 1) * cap);
        printf("\n");
    }
}

static int ex_explain(const struct ex_opts *o, const cJSON *so)
{
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(so, "metadata");
    const cJSON *anns = cJSON_GetObjectItemCaseSensitive(meta, "annotations");
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(so, "spec");
    const char *name = ex_str(meta, "name"), *ns = ex_str(meta, "namespace");
    const char *pc = ex_str(anns, MLA_PREDICT_CONFIG_ANNOTATION);
    printf("ScaledObject %s/%s\n", ns ? ns : "default", name ? name : "?");
    if (!pc) {
        fprintf(stderr, "ml-autoscaling explain: ScaledObject %s/%s has no %s annotation: the "
                        "loop leaves it alone\n",
                ns ? ns : "default", name ? name : "?", MLA_PREDICT_CONFIG_ANNOTATION);
        return MLA_EXIT_FAIL;
    }
    struct mla_predict_config c;
    mla_predict_config_init(&c);
    struct mla_err err;
    mla_err_clear(&err);
    if (mla_predict_config_parse(pc, &c, &err)) {
        fprintf(stderr, "ml-autoscaling explain: %s/%s: %s\n", ns ? ns : "default",
                name ? name : "?", err.msg);
        mla_predict_config_fini(&c);
        return MLA_EXIT_FAIL;
    }
    int ex = MLA_EXIT_OK;
    struct mla_prom_series h = {0};
    time_t now = !isnan(o->now) ? (time_t)o->now : time(NULL);
    if (isnan(o->now) && o->trace && !o->prom_url) {
        /* the trace's last point is "now" */
        struct mla_fc_series s;
        if (!mla__cli_load(CMD, o->trace, 0, true, &s)) {
            mla_predict_config_fini(&c);
            return MLA_EXIT_USAGE;
        }
        now = (time_t)(s.t0 + (double)(s.n - 1) * s.step_s);
        mla_fc_series_fini(&s);
    }
    char ts[40];
    ex_time(now, ts, sizeof ts);
    printf("Now: %s; predictive %s, query %s\n", ts, c.enabled ? "enabled" : "disabled",
           c.query ? c.query : "(none)");

    struct mla_predict_forecast pf = {.observed = NAN};
    bool have = false;
    char why[300] = "predictive is disabled";
    if (c.enabled && !isnan(c.capacity_per_replica)) {
        double start, end;
        ex_window(&c, now, &start, &end);
        struct mla_fc_profile prof;
        double prof_t = 0;
        char pwhy[256];
        bool seed = mla_predict_profile_load(ex_str(anns, MLA_PREDICT_ANN_PROFILE), pc, &c,
                                             start, now, &prof, &prof_t, pwhy, sizeof pwhy);
        double stored_t = prof_t;
        ex = ex_history(o, &c, now,
                        seed ? mla_predict_profile_query_start(prof_t, start, c.step_seconds)
                             : start,
                        &h);
        if (ex != MLA_EXIT_OK)
            goto out;
        size_t first = seed ? mla_predict_profile_catch_up(h.v, h.n, h.start, h.step, start,
                                                           &prof, &prof_t)
                            : 0;
        /* the window alone from here, its samples as the loop's window stores them */
        memmove(h.v, h.v + first, (h.n - first) * sizeof *h.v);
        h.n -= first;
        h.start = start;
        for (size_t i = 0; i < h.n; i++)
            h.v[i] = (double)(float)h.v[i];
        if (seed) {
            ex_time((time_t)stored_t, ts, sizeof ts);
            printf("Weekly profile: stored (%s, newest point %s, %zu points since caught up): "
                   "seeds the forecast\n", MLA_PREDICT_ANN_PROFILE, ts, first);
        } else {
            printf("Weekly profile: not used (%s: %s); the loop seeds its forecast once a week "
                   "of points has left its window, and then writes its profile there\n",
                   MLA_PREDICT_ANN_PROFILE, pwhy);
        }
        have = ex_forecast(&c, &h, seed ? &prof : NULL, &pf, why, sizeof why);
        if (!have)
            printf("No forecast: %s\n", why);
    } else if (c.enabled) {
        snprintf(why, sizeof why, "capacityPerReplica is not set");
        printf("No forecast: capacityPerReplica is not set\n");
    }

    ex_print_limits(&c, now);

    /* hysteresis state: what the loop reads from the ScaledObject */
    const cJSON *cm = cJSON_GetObjectItemCaseSensitive(spec, "minReplicaCount");
    const cJSON *cx = cJSON_GetObjectItemCaseSensitive(spec, "maxReplicaCount");
    int cur = cJSON_IsNumber(cm) ? cm->valueint : 0; /* absent counts as 0, KEDA's default */
    int cur_max = cJSON_IsNumber(cx) ? cx->valueint : -1;
    const char *upd = ex_str(anns, MLA_PREDICT_ANN_UPDATED);
    time_t last = upd ? mla_predict_parse_rfc3339(upd) : 0;
    if (last < 0)
        last = 0;
    printf("Hysteresis: current minReplicaCount %d; step %d; scale-down hold %d min; ", cur,
           c.hysteresis_step, c.scale_down_hold_minutes);
    if (last > 0) {
        ex_time(last, ts, sizeof ts);
        printf("last change %s (%ld min ago)\n", ts, (long)(now - last) / 60);
    } else {
        printf("no recorded change\n");
    }

    ex_print_decision(&c, have ? &pf : NULL, why, now, cur, last, cur_max);
out:
    mla_prom_series_fini(&h);
    mla_predict_config_fini(&c);
    return ex;
}

int mla_cmd_explain(int argc, char **argv)
{
    struct ex_opts o = {.now = NAN};
    static const struct option longs[] = {
        {"file", required_argument, NULL, 'f'},
        {"trace", required_argument, NULL, 't'},
        {"prometheus-url", required_argument, NULL, 'p'},
        {"kube-url", required_argument, NULL, 'k'},
        {"kube-token-file", required_argument, NULL, 'T'},
        {"kube-ca", required_argument, NULL, 'C'},
        {"now", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 1;
    opterr = 0;
    int c;
    bool ok = true;
    while (ok && (c = getopt_long(argc, argv, ":f:h", longs, NULL)) != -1) {
        switch (c) {
        case 'f': o.file = optarg; break;
        case 't': o.trace = optarg; break;
        case 'p': o.prom_url = optarg; break;
        case 'k': o.kube_url = optarg; break;
        case 'T': o.token_file = optarg; break;
        case 'C': o.kube_ca = optarg; break;
        case 'n': ok = mla__cli_num(CMD, "--now", optarg, 0, 1e11, &o.now); break;
        case 'h': ex_usage(stdout); return MLA_EXIT_OK;
        case ':':
            fprintf(stderr, "ml-autoscaling explain: option '%s' needs a value\n",
                    argv[optind - 1]);
            ok = false;
            break;
        default:
            fprintf(stderr, "ml-autoscaling explain: unknown option '%s'\n", argv[optind - 1]);
            ok = false;
        }
    }
    if (!ok)
        return MLA_EXIT_USAGE;
    if (optind < argc)
        o.target = argv[optind++];
    const char *bad = NULL;
    if (optind < argc)
        bad = "one NAMESPACE/NAME at most";
    else if (!o.file == !o.kube_url)
        bad = "give -f FILE or --kube-url URL NAMESPACE/NAME";
    else if (o.file && o.target)
        bad = "NAMESPACE/NAME goes with --kube-url, not -f";
    else if (o.kube_url && (!o.target || !strchr(o.target, '/') || o.target[0] == '/' ||
                            !strchr(o.target, '/')[1]))
        bad = "--kube-url needs NAMESPACE/NAME";
    else if (!o.trace == !o.prom_url)
        bad = "give --trace FILE or --prometheus-url URL for the history";
    if (bad) {
        fprintf(stderr, "ml-autoscaling explain: %s (see --help)\n", bad);
        return MLA_EXIT_USAGE;
    }
    cJSON *so = NULL;
    int ex = ex_object(&o, &so);
    if (ex == MLA_EXIT_OK)
        ex = ex_explain(&o, so);
    cJSON_Delete(so);
    return ex;
}
