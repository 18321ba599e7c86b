/* predict/forecast.c - adapts the forecasting model to the predictive loop (see predict_forecast.h). */
#include "mla/predict_forecast.h"

#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>

#include "mla/fc.h"
#include "mla/mem.h"
#include "predict-int.h"

static double fc_clamp(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

void mla__predict_fc_config(int horizon_steps, double quantile, double anomaly_threshold,
                            struct mla_fc_config *cfg)
{
    mla_fc_config_default(cfg);
    cfg->no_cycles = true; /* the loop reads the path, the band, the confidence, the trend */
    cfg->horizon_steps = horizon_steps < 1 ? 1
                         : horizon_steps > MLA_FC_MAX_HORIZON ? MLA_FC_MAX_HORIZON
                                                              : horizon_steps;
    cfg->quantile = fc_clamp(quantile, 0.5, 0.999);
    if (isfinite(anomaly_threshold))
        cfg->anomaly_threshold = fc_clamp(anomaly_threshold, 2.0, 5.0);
}

void mla__predict_fc_reduce(const struct mla_fc_result *r, int ahead_steps,
                            struct mla_predict_forecast *out)
{
    int first = ahead_steps < 1 ? 1 : ahead_steps;
    if (first > r->horizon_steps)
        first = r->horizon_steps;
    out->peak_upper = 0.0;
    out->peak_point = 0.0;
    out->seeded = r->seeded;
    for (int h = first; h <= r->horizon_steps; h++) {
        if (r->upper[h - 1] > out->peak_upper)
            out->peak_upper = r->upper[h - 1];
        if (r->point[h - 1] > out->peak_point)
            out->peak_point = r->point[h - 1];
    }
    out->confidence = r->confidence;
    snprintf(out->trend, sizeof out->trend, "%s", mla_fc_trend_name(r->trend));
    out->observed = NAN; /* the loop uses the last observed value */
}

int mla_predict_fc_forecast(void *ctx, const double *values, size_t n, double step_s,
                            int horizon_steps, int ahead_steps, double quantile,
                            double anomaly_threshold, struct mla_predict_forecast *out,
                            struct mla_err *err)
{
    (void)ctx;
    return mla_predict_fc_forecast_seeded(values, n, NAN, step_s, horizon_steps, ahead_steps,
                                          quantile, anomaly_threshold, NULL, out, err);
}

int mla_predict_fc_forecast_seeded(const double *values, size_t n, double t0, double step_s,
                                   int horizon_steps, int ahead_steps, double quantile,
                                   double anomaly_threshold, const struct mla_fc_profile *prof,
                                   struct mla_predict_forecast *out, struct mla_err *err)
{
    struct mla_fc_config cfg;
    mla__predict_fc_config(horizon_steps, quantile, anomaly_threshold, &cfg);
    /* The result holds three 288-step arrays: heap, not the loop thread's stack. */
    struct mla_fc_result *r = mla_xmalloc(sizeof *r);
    enum mla_code rc = prof ? mla_fc_forecast_seeded(values, n, t0, step_s, &cfg, prof, r, err)
                            : mla_fc_forecast(values, n, step_s, &cfg, r, err);
    if (rc != MLA_OK) {
        free(r);
        return rc;
    }
    mla__predict_fc_reduce(r, ahead_steps, out);
    free(r);
    return MLA_OK;
}

uint64_t mla_predict_profile_key(const struct mla_predict_config *c)
{
    /* What the profile is learnt from: the query's values on the step's grid. Nothing else in
     * predictive-config (target, costs, replica bounds, hours, quantile, lookback) changes
     * what was folded in, so a change of those keeps a week and more of learning. */
    char *text = mla_xasprintf("v2\n%s\n%.17g", c->query ? c->query : "", c->step_seconds);
    uint64_t key = mla_fc_profile_key(text);
    free(text);
    return key;
}

bool mla__predict_profile_parse(const char *stored, const char *config_text,
                                const struct mla_predict_config *c,
                                struct mla_fc_profile *prof, double *newest_t, char *why,
                                size_t whylen)
{
    if (!stored) {
        snprintf(why, whylen, "none stored");
        return false;
    }
    uint64_t key;
    struct mla_err err;
    mla_err_clear(&err);
    if (mla_fc_profile_decode(stored, prof, newest_t, &key, &err) != MLA_OK) {
        snprintf(why, whylen, "not a profile: %s", err.msg);
        return false;
    }
    /* the second form: a profile written before the key was the query and step, keyed by the
     * whole predictive-config text; taken while that text is unchanged, rewritten in the new
     * form by the next apply */
    if (key != mla_predict_profile_key(c) && key != mla_fc_profile_key(config_text)) {
        snprintf(why, whylen, "learnt from another query or step (key %016llx)",
                 (unsigned long long)key);
        return false;
    }
    return true;
}

bool mla_predict_profile_load(const char *stored, const char *config_text,
                              const struct mla_predict_config *c, double window_start,
                              time_t now, struct mla_fc_profile *prof, double *newest_t,
                              char *why, size_t whylen)
{
    struct mla_fc_profile p;
    double t;
    if (!mla__predict_profile_parse(stored, config_text, c, &p, &t, why, whylen))
        return false;
    if (t >= window_start) {
        snprintf(why, whylen, "its newest point (%.0f) is not older than the window's start "
                 "(%.0f)", t, window_start);
        return false;
    }
    if ((double)now - t > MLA_PREDICT_PROFILE_MAX_AGE_S) {
        snprintf(why, whylen, "%.0f days old (at most %.0f)", ((double)now - t) / 86400,
                 MLA_PREDICT_PROFILE_MAX_AGE_S / 86400);
        return false;
    }
    *prof = p;
    *newest_t = t;
    return true;
}

double mla_predict_profile_query_start(double newest_t, double window_start, double step)
{
    double gap = (window_start - newest_t) / step;
    if (gap >= 1 && window_start - newest_t <= MLA_PREDICT_PROFILE_REFRESH_S + step &&
        fabs(gap - floor(gap + 0.5)) < 1e-9)
        return newest_t + step;
    return window_start;
}

size_t mla_predict_profile_catch_up(const double *v, size_t n, double t0, double step,
                                    double window_start, struct mla_fc_profile *prof,
                                    double *newest_t)
{
    size_t i = 0;
    for (; i < n && t0 + (double)i * step < window_start - step / 2; i++) {
        double t = t0 + (double)i * step;
        mla_fc_profile_push(prof, t, (double)(float)v[i]);
        *newest_t = t;
    }
    return i;
}
