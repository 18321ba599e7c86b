/* forecast/evaluate.c - the accuracy protocol and the baselines.
 *
 * Rolling origin, history only: the forecast scored for bucket t is the one made with
 * values[0..t-h] (h = horizon_steps; with 5-minute buckets and h = 6, the single bucket 30
 * minutes ahead). Score = 1 - WAPE, WAPE = sum|actual - forecast| / sum|actual| over the
 * evaluation window (the last eval_steps buckets), counting a bucket when its actual is present
 * and every forecaster compared has a forecast for it. Actuals are the raw values: anomalies in
 * the window are scored like any bucket (only gaps are skipped).
 * Baselines: persistence y[t-h]; same slot yesterday y[t-day]; same slot last week y[t-week];
 * additive Holt-Winters with a daily season whose (alpha, beta, gamma) are chosen on the history
 * before the window (grid search, same 1 - WAPE criterion), then run through the window.
 * With a lookback (mla_fc_evaluate_lookback) the model is scored the way the predictive loop runs
 * it: at each origin a one-shot forecast over the last `lookback` points only; with the loop's
 * carried profile too (mla_fc_evaluate_loop). Pure. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fc-int.h"
#include "mla/mem.h"

static const char *const ev_names[] = {"persistence", "same_slot_yesterday",
                                       "same_slot_last_week", "holt_winters_daily"};

const char *mla_fc_baseline_name(enum mla_fc_baseline b)
{
    return (unsigned)b < MLA_FC_BASE_COUNT ? ev_names[b] : "unknown";
}

void mla__fc_hw_backtest(const double *v, size_t n, int md, int h, double alpha, double beta,
                         double gamma, double *out)
{
    struct mla__fc_hw hw;
    mla__fc_hw_init(&hw, alpha, beta, 1, md, gamma, 0, 0);
    for (size_t i = 0; i < n; i++)
        out[i] = NAN;
    for (size_t i = 0; i < n; i++) {
        if (!isnan(v[i]))
            mla__fc_hw_update(&hw, i, v[i]);
        if (i + (size_t)h < n)
            out[i + (size_t)h] = mla__fc_hw_pred(&hw, i, h);
    }
    mla__fc_hw_fini(&hw);
}

static double ev_score(const double *v, const double *f, size_t from, size_t to)
{
    double se = 0, sa = 0;
    for (size_t t = from; t < to; t++)
        if (!isnan(v[t]) && !isnan(f[t])) {
            se += fabs(v[t] - f[t]);
            sa += fabs(v[t]);
        }
    return sa > 0 ? 1 - se / sa : NAN;
}

/* The naive baselines' forecasts for every bucket (NAN where the lag reaches before the
 * start, or for the weekly one when the trace is under a week and a day). */
static void ev_naive(const double *values, size_t n, int H, int md, int mw, bool have_week,
                     double *fb[MLA_FC_BASE_COUNT])
{
    for (int b = 0; b < MLA_FC_BASE_COUNT; b++) {
        fb[b] = mla_xmalloc(n * sizeof(double));
        for (size_t t = 0; t < n; t++)
            fb[b][t] = NAN;
    }
    for (size_t t = (size_t)H; t < n; t++)
        fb[MLA_FC_BASE_PERSIST][t] = values[t - (size_t)H];
    for (size_t t = (size_t)md; t < n; t++)
        fb[MLA_FC_BASE_DAY][t] = values[t - (size_t)md];
    if (have_week)
        for (size_t t = (size_t)mw; t < n; t++)
            fb[MLA_FC_BASE_WEEK][t] = values[t - (size_t)mw];
}

/* Holt-Winters: picks (alpha, beta, gamma) on the history before the window (values[0..start))
 * by grid search on 1 - WAPE; keeps 0.2, 0, 0.2 when that history is too short to judge. */
static void ev_hw_fit(const double *values, size_t start, int md, int H, double *ba, double *bb,
                      double *bg)
{
    static const double alphas[] = {0.05, 0.1, 0.2, 0.3, 0.5, 0.7};
    static const double betas[] = {0, 0.01};
    static const double gammas[] = {0.05, 0.1, 0.2, 0.3, 0.5};
    double best = -INFINITY;
    *ba = 0.2;
    *bb = 0;
    *bg = 0.2;
    size_t fit_from = 2 * (size_t)md < start / 2 ? 2 * (size_t)md : start / 2;
    if (start <= fit_from + (size_t)md)
        return;
    double *tmp = mla_xmalloc(start * sizeof(double));
    for (size_t a = 0; a < sizeof alphas / sizeof *alphas; a++)
        for (size_t b = 0; b < sizeof betas / sizeof *betas; b++)
            for (size_t g = 0; g < sizeof gammas / sizeof *gammas; g++) {
                mla__fc_hw_backtest(values, start, md, H, alphas[a], betas[b], gammas[g], tmp);
                double s = ev_score(values, tmp, fit_from, start);
                if (s > best) {
                    best = s;
                    *ba = alphas[a];
                    *bb = betas[b];
                    *bg = gammas[g];
                }
            }
    free(tmp);
}

/* Score only buckets every forecaster has (present baselines), so figures compare: mask[t] is
 * the actual where it counts, NAN elsewhere. Returns how many count. */
static size_t ev_mask(const double *values, const double *model,
                      double *const fb[MLA_FC_BASE_COUNT], bool have_week, size_t start,
                      size_t n, double *mask)
{
    size_t cnt = 0;
    for (size_t t = start; t < n; t++) {
        bool ok = !isnan(values[t]) && !isnan(model[t]);
        for (int b = 0; b < MLA_FC_BASE_COUNT; b++)
            if (!(b == MLA_FC_BASE_WEEK && !have_week) && isnan(fb[b][t]))
                ok = false;
        mask[t] = ok ? values[t] : NAN;
        cnt += ok;
    }
    return cnt;
}

/* The scores over the window and the best baseline (the first of equals; NAN when absent). */
static void ev_scores(const double *mask, const double *model,
                      double *const fb[MLA_FC_BASE_COUNT], bool have_week, size_t start,
                      size_t n, struct mla_fc_eval *r)
{
    r->model = ev_score(mask, model, start, n);
    r->best_base = 0;
    for (int b = 0; b < MLA_FC_BASE_COUNT; b++) {
        r->base[b] = (b == MLA_FC_BASE_WEEK && !have_week) ? NAN
                                                            : ev_score(mask, fb[b], start, n);
        if (!isnan(r->base[b]) &&
            (isnan(r->base[r->best_base]) || r->base[b] > r->base[r->best_base]))
            r->best_base = b;
    }
}

/* The loop's way: each origin sees only its last `lookback` points, forecast from scratch (the
 * one-shot call the loop makes each pass). model[t] = the h-th step of the forecast made at
 * origin t-h over values[t-h-lookback+1 .. t-h]; NaN before `from` or when that fails (too few
 * points in the window). */
static void ev_lookback_model(const double *values, size_t n, double t0, double step_s,
                              const struct mla_fc_config *cfg, size_t from, size_t lookback,
                              double *model)
{
    size_t H = (size_t)cfg->horizon_steps;
    struct mla_fc_result *r = mla_xmalloc(sizeof *r);
    /* t0 finite: the loop's carried profile, which takes each point as it leaves the window */
    struct mla_fc_profile prof;
    mla_fc_profile_init(&prof);
    size_t left = 0;
    for (size_t t = 0; t < n; t++)
        model[t] = NAN;
    for (size_t t = from < H ? H : from; t < n; t++) {
        size_t end = t - H + 1; /* one past the origin */
        size_t lo = end > lookback ? end - lookback : 0;
        for (; isfinite(t0) && left < lo; left++)
            mla_fc_profile_push(&prof, t0 + (double)left * step_s, values[left]);
        if (mla_fc_forecast_seeded(values + lo, end - lo, t0 + (double)lo * step_s, step_s, cfg,
                                   isfinite(t0) ? &prof : NULL, r, NULL) == MLA_OK)
            model[t] = r->point[H - 1];
    }
    free(r);
}

enum mla_code mla_fc_evaluate(const double *values, size_t n, double step_s,
                              const struct mla_fc_config *cfg, size_t eval_steps,
                              struct mla_fc_eval *out, struct mla_err *err)
{
    return mla_fc_evaluate_lookback(values, n, step_s, cfg, eval_steps, 0, out, err);
}

static enum mla_code ev_run(const double *values, size_t n, double t0, double step_s,
                            const struct mla_fc_config *cfg, size_t eval_steps,
                            size_t lookback_steps, struct mla_fc_eval *out, struct mla_err *err);

enum mla_code mla_fc_evaluate_lookback(const double *values, size_t n, double step_s,
                                       const struct mla_fc_config *cfg, size_t eval_steps,
                                       size_t lookback_steps, struct mla_fc_eval *out,
                                       struct mla_err *err)
{
    return ev_run(values, n, NAN, step_s, cfg, eval_steps, lookback_steps, out, err);
}

enum mla_code mla_fc_evaluate_loop(const double *values, size_t n, double t0, double step_s,
                                   const struct mla_fc_config *cfg, size_t eval_steps,
                                   size_t lookback_steps, struct mla_fc_eval *out,
                                   struct mla_err *err)
{
    if (!isfinite(t0) || lookback_steps == 0)
        return mla_err_set(err, MLA_EINVAL,
                           "evaluate: the loop's replay needs a start time and a lookback");
    return ev_run(values, n, t0, step_s, cfg, eval_steps, lookback_steps, out, err);
}

/* t0 finite: the loop's replay (mla_fc_evaluate_loop), else mla_fc_evaluate_lookback. */
static enum mla_code ev_run(const double *values, size_t n, double t0, double step_s,
                            const struct mla_fc_config *cfg, size_t eval_steps,
                            size_t lookback_steps, struct mla_fc_eval *out, struct mla_err *err)
{
    struct mla_fc_config def;
    if (!cfg) {
        mla_fc_config_default(&def);
        cfg = &def;
    }
    int H = cfg->horizon_steps;
    int md = mla__fc_period_steps(cfg->day_s, step_s);
    int mw = mla__fc_period_steps(cfg->week_s, step_s);
    if (!md || md < H)
        return mla_err_set(err, MLA_EINVAL,
                           "evaluate: a day is not a whole number (>= the horizon) of %g-s steps;"
                           " choose a --step that divides 86400",
                           step_s);
    if (n < 2 * (size_t)md + 1)
        return mla_err_set(err, MLA_EINVAL,
                           "evaluate: need at least two days of history (got %zu points)", n);
    size_t start = n > eval_steps ? n - eval_steps : 0;
    bool have_week = mw && n >= (size_t)mw + (size_t)md;
    size_t lo = have_week ? (size_t)mw : (size_t)md;
    if (start < lo)
        start = lo;

    double *model = mla_xmalloc(n * sizeof(double));
    if (lookback_steps) {
        if (lookback_steps < 3) {
            free(model);
            return mla_err_set(err, MLA_EINVAL,
                               "evaluate: a lookback of %zu points is too short (at least 3)",
                               lookback_steps);
        }
        ev_lookback_model(values, n, t0, step_s, cfg, start, lookback_steps, model);
    } else {
        enum mla_code rc = mla_fc_backtest(values, n, step_s, cfg, model, NULL, err);
        if (rc) {
            free(model);
            return rc;
        }
    }
    double *fb[MLA_FC_BASE_COUNT];
    ev_naive(values, n, H, md, mw, have_week, fb);
    double ba, bb, bg;
    ev_hw_fit(values, start, md, H, &ba, &bb, &bg);
    mla__fc_hw_backtest(values, n, md, H, ba, bb, bg, fb[MLA_FC_BASE_HW_DAY]);

    double *mask = mla_xmalloc(n * sizeof(double));
    size_t cnt = ev_mask(values, model, fb, have_week, start, n, mask);
    struct mla_fc_eval r;
    memset(&r, 0, sizeof r);
    r.horizon_steps = H;
    r.lookback_steps = lookback_steps;
    r.eval_start = start;
    r.eval_points = cnt;
    r.eval_days = (double)(n - start) * step_s / 86400.0;
    ev_scores(mask, model, fb, have_week, start, n, &r);
    r.hw_alpha = ba;
    r.hw_beta = bb;
    r.hw_gamma = bg;
    for (int b = 0; b < MLA_FC_BASE_COUNT; b++)
        free(fb[b]);
    free(mask);
    free(model);
    if (cnt == 0)
        return mla_err_set(err, MLA_EINVAL, "evaluate: no bucket to score in the window");
    *out = r;
    return MLA_OK;
}
