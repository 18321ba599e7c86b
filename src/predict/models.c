/* predict/models.c - the loop's streaming models per ScaledObject, kept between passes, and the
 * short fetch window that follows from them (see predict_models.h). */
#include "mla/predict_models.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mla/fc.h"
#include "mla/mem.h"
#include "mla/metrics.h"
#include "mla/predict_forecast.h"
#include "predict-int.h"

struct pm_entry {
    struct pm_entry *next; /* hash chain */
    char *key;             /* owned: "namespace/name" */
    char *config;          /* owned: the predictive-config text the model was built for */
    struct mla_fc_model *model; /* owned */
    double last_t;         /* grid time of the last point pushed */
    double last_obs;       /* last non-missing value pushed; NaN: none yet */
    time_t used;           /* the last call's `now` */
    bool have;             /* the cached forecast below is valid */
    struct mla_predict_forecast fc;
    char why[200];         /* why there is no forecast, when !have */
};

struct mla_predict_models {
    struct pm_entry **bucket; /* owned chains */
    size_t nbucket;           /* a power of two */
    size_t max_models;
    double idle_s;
    time_t last_sweep;
    mla_predict_fetch_fn fetch; /* NULL: mla_prom_query_range */
    void *fetch_ctx;
    struct mla_ratelimit *limit; /* borrowed for the current call; may be NULL */
    struct mla_predict_models_stats st;
};

static uint64_t pm_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

enum mla_code mla_predict_models_create(size_t max_models, double idle_s,
                                        struct mla_predict_models **out, struct mla_err *err)
{
    (void)err;
    struct mla_predict_models *m = mla_xcalloc(1, sizeof *m);
    m->max_models = max_models ? max_models : MLA_PREDICT_MODELS_DEFAULT_MAX;
    m->idle_s = idle_s > 0 ? idle_s : 600;
    m->nbucket = 64;
    while (m->nbucket < 2 * m->max_models && m->nbucket < (1u << 20))
        m->nbucket *= 2;
    m->bucket = mla_xcalloc(m->nbucket, sizeof *m->bucket);
    *out = m;
    return MLA_OK;
}

static void pm_free(struct pm_entry *e)
{
    mla_fc_model_destroy(e->model);
    free(e->key);
    free(e->config);
    free(e);
}

static void pm_metrics(const struct mla_predict_models *m)
{
    struct mla_metric *g = mla_metrics_get(MLA_METRIC_GAUGE, "mla_predict_models",
                                           "Streaming forecast models the loop keeps.", NULL,
                                           NULL, 0);
    if (g)
        mla_metric_set(g, (double)m->st.models);
}

/* Drops every entry (all) or those last used before older_than; returns how many went. */
static size_t pm_filter(struct mla_predict_models *m, time_t older_than, bool all)
{
    size_t n = 0;
    for (size_t b = 0; b < m->nbucket; b++) {
        struct pm_entry **pp = &m->bucket[b];
        while (*pp) {
            struct pm_entry *e = *pp;
            if (all || e->used < older_than) {
                *pp = e->next;
                pm_free(e);
                n++;
            } else {
                pp = &e->next;
            }
        }
    }
    m->st.models -= n;
    return n;
}

void mla_predict_models_clear(struct mla_predict_models *m)
{
    if (!m)
        return;
    pm_filter(m, 0, true);
    pm_metrics(m);
}

void mla_predict_models_destroy(struct mla_predict_models *m)
{
    if (!m)
        return;
    pm_filter(m, 0, true);
    free(m->bucket);
    free(m);
}

void mla_predict_models_stats(const struct mla_predict_models *m,
                              struct mla_predict_models_stats *out)
{
    *out = m->st;
}

void mla_predict_models_set_fetch(struct mla_predict_models *m, mla_predict_fetch_fn fn,
                                  void *ctx)
{
    m->fetch = fn;
    m->fetch_ctx = ctx;
}

static void pm_sweep(struct mla_predict_models *m, time_t now)
{
    if (m->last_sweep && (double)(now - m->last_sweep) < m->idle_s / 2)
        return;
    m->last_sweep = now;
    size_t n = pm_filter(m, now - (time_t)m->idle_s, false);
    m->st.evicted += n;
    if (n)
        pm_metrics(m);
}

static struct pm_entry **pm_find(struct mla_predict_models *m, const char *key)
{
    struct pm_entry **pp = &m->bucket[pm_hash(key) & (m->nbucket - 1)];
    while (*pp && strcmp((*pp)->key, key) != 0)
        pp = &(*pp)->next;
    return pp;
}

/* One query_range, counted. */
static enum mla_code pm_query(struct mla_predict_models *m, const struct mla_prom_opts *prom,
                              const char *query, double start, double end, double step,
                              struct mla_prom_series *s, struct mla_err *err)
{
    mla_ratelimit_wait(m->limit);
    enum mla_code rc = m->fetch ? m->fetch(m->fetch_ctx, prom, query, start, end, step, s, err)
                                : mla_prom_query_range(prom, query, start, end, step, s, err);
    m->st.queries++;
    if (rc == MLA_OK) {
        m->st.samples += s->n;
        struct mla_metric *c = mla_metrics_get(
            MLA_METRIC_COUNTER, "mla_predict_prom_samples_total",
            "Grid points the predictive loop fetched from Prometheus.", NULL, NULL, 0);
        if (c)
            mla_metric_add(c, (double)s->n);
    }
    return rc;
}

static double pm_last_obs(const double *v, size_t n, double prev)
{
    for (size_t i = n; i-- > 0;)
        if (!isnan(v[i]))
            return v[i];
    return prev;
}

/* Forecast from the entry's model into its cache. */
static void pm_forecast(struct pm_entry *e, int ahead)
{
    struct mla_fc_result *r = mla_xmalloc(sizeof *r);
    struct mla_err ferr;
    mla_err_clear(&ferr);
    e->have = mla_fc_model_forecast(e->model, r, &ferr) == MLA_OK;
    if (e->have) {
        mla__predict_fc_reduce(r, ahead, &e->fc);
        e->fc.observed = e->last_obs;
    } else {
        snprintf(e->why, sizeof e->why, "forecaster failed: %s", ferr.msg);
    }
    free(r);
}

static void pm_answer(const struct pm_entry *e, struct mla_predict_forecast *out, bool *have,
                      char *why, size_t whylen)
{
    *have = e->have;
    if (e->have)
        *out = e->fc;
    else
        snprintf(why, whylen, "%s", e->why);
}

/* The full lookback for `key`: a new model in *slot when there is room, else a one-shot
 * forecast. */
static enum mla_code pm_build(struct mla_predict_models *m, const struct mla_prom_opts *prom,
                              struct pm_entry **slot, const char *key, const char *config_text,
                              const struct mla_predict_config *c, double end, time_t now,
                              int horizon, int ahead, struct mla_predict_forecast *out,
                              bool *have, char *why, size_t whylen, struct mla_err *err)
{
    double step = c->step_seconds;
    double start = end - floor(c->lookback_hours * 3600 / step) * step;
    struct mla_prom_series s;
    enum mla_code rc = pm_query(m, prom, c->query, start, end, step, &s, err);
    if (rc)
        return rc;
    size_t present = 0;
    for (size_t i = 0; i < s.n; i++)
        present += !isnan(s.v[i]);
    *have = false;
    if (present == 0) {
        snprintf(why, whylen, "no history in the last %g h", c->lookback_hours);
    } else if (m->st.models >= m->max_models) {
        m->st.oneshot++;
        struct mla_err ferr;
        mla_err_clear(&ferr);
        if (mla_predict_fc_forecast(NULL, s.v, s.n, step, horizon, ahead, c->quantile,
                                    c->anomaly_threshold, out, &ferr) == MLA_OK) {
            out->observed = pm_last_obs(s.v, s.n, NAN);
            *have = true;
        } else {
            snprintf(why, whylen, "forecaster failed: %s", ferr.msg);
        }
    } else {
        struct mla_fc_config cfg;
        mla__predict_fc_config(horizon, c->quantile, c->anomaly_threshold, &cfg);
        struct mla_fc_model *model = NULL;
        struct mla_err ferr;
        mla_err_clear(&ferr);
        if (mla_fc_model_create(step, &cfg, &model, &ferr) != MLA_OK) {
            snprintf(why, whylen, "forecaster failed: %s", ferr.msg);
        } else {
            struct pm_entry *e = mla_xcalloc(1, sizeof *e);
            e->key = mla_xstrdup(key);
            e->config = mla_xstrdup(config_text);
            e->model = model;
            mla_fc_model_push(model, s.v, s.n);
            e->last_t = end;
            e->last_obs = pm_last_obs(s.v, s.n, NAN);
            e->used = now;
            pm_forecast(e, ahead);
            e->next = *slot;
            *slot = e;
            m->st.models++;
            m->st.builds++;
            pm_metrics(m);
            pm_answer(e, out, have, why, whylen);
        }
    }
    mla_prom_series_fini(&s);
    return MLA_OK;
}

enum mla_code mla_predict_models_forecast(struct mla_predict_models *m,
                                          struct mla_ratelimit *limit,
                                          const struct mla_prom_opts *prom, const char *ns,
                                          const char *name, const char *config_text,
                                          const struct mla_predict_config *c, time_t now,
                                          int horizon, int ahead,
                                          struct mla_predict_forecast *out, bool *have,
                                          char *why, size_t whylen, struct mla_err *err)
{
    pm_sweep(m, now);
    m->limit = limit;
    double step = c->step_seconds;
    double end = floor((double)now / step) * step; /* aligned: stable grid across passes */
    char *key = mla_xasprintf("%s/%s", ns, name);
    struct pm_entry **pp = pm_find(m, key);
    struct pm_entry *e = *pp;
    /* a changed config, or a gap longer than the lookback: the model describes other data */
    if (e && (strcmp(e->config, config_text) != 0 || end < e->last_t ||
              end - e->last_t > c->lookback_hours * 3600)) {
        *pp = e->next;
        pm_free(e);
        m->st.models--;
        e = NULL;
    }
    enum mla_code rc = MLA_OK;
    if (!e) {
        rc = pm_build(m, prom, pp, key, config_text, c, end, now, horizon, ahead, out, have, why,
                      whylen, err);
    } else if (end == e->last_t) {
        e->used = now;
        m->st.reused++;
        pm_answer(e, out, have, why, whylen);
    } else {
        struct mla_prom_series s;
        rc = pm_query(m, prom, c->query, e->last_t + step, end, step, &s, err);
        if (rc == MLA_OK) {
            mla_fc_model_push(e->model, s.v, s.n);
            e->last_t = end;
            e->last_obs = pm_last_obs(s.v, s.n, e->last_obs);
            e->used = now;
            m->st.updates++;
            mla_prom_series_fini(&s);
            pm_forecast(e, ahead);
            pm_answer(e, out, have, why, whylen);
        }
    }
    free(key);
    return rc;
}
