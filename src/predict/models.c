/* predict/models.c - what the loop keeps per ScaledObject between passes: the lookback window of
 * samples, the short fetch (new points and an overlap) that updates it (see predict_models.h). */
#include "mla/predict_models.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mla/fc.h"
#include "mla/log.h"
#include "mla/mem.h"
#include "mla/metrics.h"
#include "mla/predict_forecast.h"
#include "predict-int.h"

/* A predictive-config text shared by the entries built for it: one copy per distinct text
 * (ScaledObjects made from one template carry the same one). */
struct pm_cfg {
    struct pm_cfg *next; /* hash chain */
    size_t refs;         /* entries pointing here */
    char text[];
};

struct pm_entry {
    struct pm_entry *next; /* hash chain */
    char *key;             /* owned: "namespace/name" */
    struct pm_cfg *config; /* shared (refs): the predictive-config text last asked with */
    uint64_t pkey;         /* mla_predict_profile_key of it: the window holds that query's
                            * points on that step (with n, the lookback) */
    float *w;              /* owned ring of n samples, the lookback window; NaN = a gap. float:
                            * 4 bytes a point, a relative rounding of 6e-8 on the input */
    size_t n, head;        /* w[head] is the oldest point, at last_t - (n - 1) * step */
    double step;
    double last_t;         /* grid time of the newest point */
    double last_obs;       /* newest non-missing value as Prometheus answered it; NaN: none */
    time_t used;           /* the last call's `now` */
    uint64_t pass;         /* the table's pass count at the last call */
    bool have;             /* the cached forecast below is valid */
    struct mla_predict_forecast fc;
    double fc_quantile, fc_anomaly; /* what fc was computed with: another asks again */
    int fc_horizon, fc_ahead;
    char *why;             /* owned: why there is no forecast, when !have */
    /* The weekly profile of the points that have left the window (fc.h; 840 bytes): it seeds
     * the forecast's seasons once a week has left. A rebuild (a restart, a leader change, a
     * changed config, eviction) starts from the one stored on the ScaledObject when it is
     * taken (mla_predict_models_forecast_stored), else afresh. */
    struct mla_fc_profile prof;
    double prof_t; /* Unix time of the newest point in prof; 0: none */
};

_Static_assert(MLA_PREDICT_PROFILE_TEXT_SIZE > MLA_FC_PROFILE_TEXT_LEN, "profile text buffer");

struct mla_predict_models {
    struct pm_entry **bucket; /* owned chains */
    size_t nbucket;           /* a power of two */
    struct pm_cfg **cbucket;  /* owned chains of shared config texts, nbucket of them */
    size_t max_models;
    size_t max_points;        /* max_models x MLA_PREDICT_MODELS_WINDOW_POINTS */
    size_t points;            /* points held by all windows */
    double idle_s;
    time_t last_sweep;
    uint64_t pass;            /* passes seen: a call for an entry already used in this pass
                               * starts the next one (a pass asks for each key once) */
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
    m->max_points = m->max_models * MLA_PREDICT_MODELS_WINDOW_POINTS;
    m->idle_s = idle_s > 0 ? idle_s : 600;
    m->nbucket = 64;
    while (m->nbucket < 2 * m->max_models && m->nbucket < (1u << 20))
        m->nbucket *= 2;
    m->bucket = mla_xcalloc(m->nbucket, sizeof *m->bucket);
    m->cbucket = mla_xcalloc(m->nbucket, sizeof *m->cbucket);
    *out = m;
    return MLA_OK;
}

/* The shared copy of `text`, one more reference. */
static struct pm_cfg *pm_cfg_ref(struct mla_predict_models *m, const char *text)
{
    struct pm_cfg **pp = &m->cbucket[pm_hash(text) & (m->nbucket - 1)];
    while (*pp && strcmp((*pp)->text, text) != 0)
        pp = &(*pp)->next;
    if (!*pp) {
        size_t len = strlen(text);
        struct pm_cfg *c = mla_xmalloc(sizeof *c + len + 1);
        c->next = NULL;
        c->refs = 0;
        memcpy(c->text, text, len + 1);
        *pp = c;
    }
    (*pp)->refs++;
    return *pp;
}

static void pm_cfg_unref(struct mla_predict_models *m, struct pm_cfg *c)
{
    if (--c->refs)
        return;
    struct pm_cfg **pp = &m->cbucket[pm_hash(c->text) & (m->nbucket - 1)];
    while (*pp != c)
        pp = &(*pp)->next;
    *pp = c->next;
    free(c);
}

static void pm_free(struct mla_predict_models *m, struct pm_entry *e)
{
    pm_cfg_unref(m, e->config);
    m->points -= e->n;
    free(e->w);
    free(e->why);
    free(e->key);
    free(e);
}

static void pm_metrics(const struct mla_predict_models *m)
{
    struct mla_metric *g = mla_metrics_get(MLA_METRIC_GAUGE, "mla_predict_models",
                                           "Lookback windows the loop keeps.", NULL,
                                           NULL, 0);
    if (g)
        mla_metric_set(g, (double)m->st.models);
}

/* Drops every entry (all) or those last used before older_than and missed by the last two
 * passes; returns how many went. */
static size_t pm_filter(struct mla_predict_models *m, time_t older_than, bool all)
{
    size_t n = 0;
    for (size_t b = 0; b < m->nbucket; b++) {
        struct pm_entry **pp = &m->bucket[b];
        while (*pp) {
            struct pm_entry *e = *pp;
            if (all || (e->used < older_than && m->pass - e->pass >= 2)) {
                *pp = e->next;
                pm_free(m, e);
                n++;
            } else {
                pp = &e->next;
            }
        }
    }
    m->st.models -= n;
    return n;
}

void mla_predict_models_pass_begin(struct mla_predict_models *m)
{
    m->pass++;
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
    free(m->cbucket);
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

/* Idle means both: unused for idle_s, and missed by the last two passes. Time alone would evict
 * the windows visited early in a pass longer than idle_s (10,000 ScaledObjects whose first pass
 * is paced by the API write rate), which the next pass would then rebuild in full. */
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

/* Whether e's window holds what c asks for: the same query on the same grid over the same
 * lookback (what else predictive-config says is applied to the window at forecast time). */
static bool pm_same_history(const struct pm_entry *e, const struct mla_predict_config *c)
{
    return e->step == c->step_seconds && e->n == mla_predict_config_window_points(c) &&
           e->pkey == mla_predict_profile_key(c);
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

/* Window slot of grid time t, or SIZE_MAX when t is outside the window or off the grid. */
static size_t pm_slot(const struct pm_entry *e, double t)
{
    double k = (t - (e->last_t - (double)(e->n - 1) * e->step)) / e->step;
    double r = floor(k + 0.5);
    if (r < 0 || r >= (double)e->n || fabs(k - r) > 1e-6)
        return SIZE_MAX;
    return (e->head + (size_t)r) % e->n;
}

/* Writes the answer s into the window: a newer point as it is, a point already held only when
 * it is now present (a sample that reached Prometheus late replaces what was fetched before;
 * a value never turns back into a gap). */
static void pm_store(struct pm_entry *e, const struct mla_prom_series *s, double newest_before)
{
    for (size_t i = 0; i < s->n; i++) {
        double t = s->start + (double)i * s->step;
        size_t j = pm_slot(e, t);
        if (j == SIZE_MAX)
            continue;
        if (t > newest_before || !isnan(s->v[i]))
            e->w[j] = (float)s->v[i];
    }
}

/* Forecast from the entry's window (the one-shot forecaster on the lookback) into its cache. */
static void pm_forecast(struct pm_entry *e, const struct mla_predict_config *c, int horizon,
                        int ahead)
{
    double *v = mla_xmalloc(e->n * sizeof *v);
    size_t present = 0;
    for (size_t i = 0; i < e->n; i++) {
        v[i] = e->w[(e->head + i) % e->n];
        present += !isnan(v[i]);
    }
    free(e->why);
    e->why = NULL;
    struct mla_err ferr;
    mla_err_clear(&ferr);
    e->have = false;
    e->fc_quantile = c->quantile;
    e->fc_anomaly = c->anomaly_threshold;
    e->fc_horizon = horizon;
    e->fc_ahead = ahead;
    if (present == 0)
        e->why = mla_xasprintf("no history in the last %g h", c->lookback_hours);
    else if (mla_predict_fc_forecast_seeded(v, e->n, e->last_t - (double)(e->n - 1) * e->step,
                                            e->step, horizon, ahead, c->quantile,
                                            c->anomaly_threshold, &e->prof, &e->fc,
                                            &ferr) != MLA_OK)
        e->why = mla_xasprintf("forecaster failed: %s", ferr.msg);
    else
        e->have = true;
    if (e->have)
        e->fc.observed = !isnan(e->last_obs) ? e->last_obs : pm_last_obs(v, e->n, NAN);
    free(v);
}

static void pm_answer(const struct pm_entry *e, struct mla_predict_forecast *out, bool *have,
                      char *why, size_t whylen)
{
    *have = e->have;
    if (e->have)
        *out = e->fc;
    else
        snprintf(why, whylen, "%s", e->why ? e->why : "no forecast");
}

/* The stored profile for a build whose window starts at `start`: *prof and *prof_t, and *qstart
 * moved back to the profile's next grid point when it is at most MLA_PREDICT_PROFILE_REFRESH_S
 * before the window (the build then folds the points in between into it, as the leader that
 * wrote it would have). False (nothing changed) when it is not taken; a text that was there is
 * logged with the reason. */
static bool pm_restore(const char *key, const char *stored, const char *config_text,
                       const struct mla_predict_config *c, double start, double step,
                       time_t now, struct mla_fc_profile *prof, double *prof_t, double *qstart)
{
    char why[256];
    if (!mla_predict_profile_load(stored, config_text, c, start, now, prof, prof_t, why,
                                  sizeof why)) {
        if (stored)
            mla_log(MLA_LOG_INFO, "predict", "%s: stored " MLA_PREDICT_ANN_PROFILE " ignored, "
                    "the weekly profile starts afresh: %s", key, why);
        return false;
    }
    *qstart = mla_predict_profile_query_start(*prof_t, start, step);
    return true;
}

/* The full lookback for `key`: a new window in *slot when there is room, else a one-shot
 * forecast; both from the stored profile when it is taken (pm_restore). */
static enum mla_code pm_build(struct mla_predict_models *m, const struct mla_prom_opts *prom,
                              struct pm_entry **slot, const char *key, const char *config_text,
                              const struct mla_predict_config *c, const char *stored,
                              double end, time_t now, int horizon, int ahead,
                              struct mla_predict_forecast *out, bool *have, char *why,
                              size_t whylen, struct mla_err *err)
{
    double step = c->step_seconds;
    double span = (double)(mla_predict_config_window_points(c) - 1);
    double start = end - span * step, qstart = start;
    struct mla_fc_profile prof;
    double prof_t = 0;
    bool restored = pm_restore(key, stored, config_text, c, start, step, now, &prof, &prof_t,
                               &qstart);
    if (!restored)
        mla_fc_profile_init(&prof);
    struct mla_prom_series s;
    enum mla_code rc = pm_query(m, prom, c->query, qstart, end, step, &s, err);
    if (rc)
        return rc;
    size_t first = restored ? mla_predict_profile_catch_up(s.v, s.n, s.start, s.step, start,
                                                           &prof, &prof_t)
                            : 0;
    size_t present = 0;
    for (size_t i = first; i < s.n; i++)
        present += !isnan(s.v[i]);
    *have = false;
    if (present == 0) {
        snprintf(why, whylen, "no history in the last %g h", c->lookback_hours);
    } else if (m->st.models >= m->max_models || m->points + (size_t)span + 1 > m->max_points) {
        m->st.oneshot++;
        struct mla_err ferr;
        mla_err_clear(&ferr);
        if (mla_predict_fc_forecast_seeded(s.v + first, s.n - first, start, step, horizon, ahead,
                                           c->quantile, c->anomaly_threshold,
                                           restored ? &prof : NULL, out, &ferr) == MLA_OK) {
            out->observed = pm_last_obs(s.v, s.n, NAN);
            *have = true;
        } else {
            snprintf(why, whylen, "forecaster failed: %s", ferr.msg);
        }
    } else {
        struct pm_entry *e = mla_xcalloc(1, sizeof *e);
        e->key = mla_xstrdup(key);
        e->config = pm_cfg_ref(m, config_text);
        e->pkey = mla_predict_profile_key(c);
        e->n = (size_t)span + 1;
        m->points += e->n;
        e->w = mla_xmalloc(e->n * sizeof *e->w);
        for (size_t i = 0; i < e->n; i++)
            e->w[i] = NAN;
        e->step = step;
        e->last_t = end;
        e->prof = prof;
        e->prof_t = prof_t;
        pm_store(e, &s, start - step);
        e->last_obs = pm_last_obs(s.v, s.n, NAN);
        e->used = now;
        e->pass = m->pass;
        pm_forecast(e, c, horizon, ahead);
        e->next = *slot;
        *slot = e;
        m->st.models++;
        m->st.builds++;
        pm_metrics(m);
        pm_answer(e, out, have, why, whylen);
    }
    mla_prom_series_fini(&s);
    return MLA_OK;
}

/* The new points up to end, and the last MLA_PREDICT_MODELS_OVERLAP again (late samples). */
static enum mla_code pm_update(struct mla_predict_models *m, const struct mla_prom_opts *prom,
                               struct pm_entry *e, const struct mla_predict_config *c,
                               double end, time_t now, int horizon, int ahead,
                               struct mla_err *err)
{
    double step = e->step;
    /* the last OVERLAP points held are asked for again (last_t itself is one of them) */
    double back = (double)(MLA_PREDICT_MODELS_OVERLAP <= e->n ? MLA_PREDICT_MODELS_OVERLAP - 1
                                                              : e->n - 1);
    struct mla_prom_series s;
    enum mla_code rc = pm_query(m, prom, c->query, e->last_t - back * step, end, step, &s, err);
    if (rc != MLA_OK)
        return rc;
    /* slide the window: the oldest points fall out into the profile, the new slots start as
     * gaps */
    size_t k = (size_t)floor((end - e->last_t) / step + 0.5);
    double oldest = e->last_t - (double)(e->n - 1) * step;
    for (size_t i = 0; i < k; i++) {
        e->prof_t = oldest + (double)i * step;
        mla_fc_profile_push(&e->prof, e->prof_t, (double)e->w[e->head]);
        e->w[e->head] = NAN;
        e->head = (e->head + 1) % e->n;
    }
    double newest_before = e->last_t;
    e->last_t = end;
    pm_store(e, &s, newest_before);
    e->last_obs = pm_last_obs(s.v, s.n, e->last_obs);
    e->used = now;
    e->pass = m->pass;
    m->st.updates++;
    mla_prom_series_fini(&s);
    pm_forecast(e, c, horizon, ahead);
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
    return mla_predict_models_forecast_stored(m, limit, prom, ns, name, config_text, c, NULL,
                                              now, horizon, ahead, out, have, why, whylen, err);
}

enum mla_code mla_predict_models_forecast_stored(
    struct mla_predict_models *m, struct mla_ratelimit *limit, const struct mla_prom_opts *prom,
    const char *ns, const char *name, const char *config_text,
    const struct mla_predict_config *c, const char *stored, time_t now, int horizon, int ahead,
    struct mla_predict_forecast *out, bool *have, char *why, size_t whylen,
    struct mla_err *err)
{
    pm_sweep(m, now);
    m->limit = limit;
    double step = c->step_seconds;
    double end = floor((double)now / step) * step; /* aligned: stable grid across passes */
    char *key = mla_xasprintf("%s/%s", ns, name);
    struct pm_entry **pp = pm_find(m, key);
    struct pm_entry *e = *pp;
    if (e && e->pass == m->pass)
        m->pass++;
    if (e && strcmp(e->config->text, config_text) != 0 && pm_same_history(e, c)) {
        /* a new target, cost, replica bound, hours or forecast setting: the window and the
         * weekly profile hold the same query's points (at 10,000 ScaledObjects a policy edit
         * would otherwise fetch every lookback again and drop a week and more of learning) */
        struct pm_cfg *nc = pm_cfg_ref(m, config_text);
        pm_cfg_unref(m, e->config);
        e->config = nc;
        m->st.kept++;
        mla_log(MLA_LOG_INFO, "predict", "%s: predictive-config changed but not its query, step "
                "or lookback: the window and the weekly profile are kept", key);
    }
    /* another query, step or lookback, or a gap as long as the window: the window describes
     * other data */
    if (e && (strcmp(e->config->text, config_text) != 0 || end < e->last_t ||
              end - e->last_t > c->lookback_hours * 3600)) {
        *pp = e->next;
        pm_free(m, e);
        m->st.models--;
        e = NULL;
    }
    enum mla_code rc = MLA_OK;
    if (!e) {
        rc = pm_build(m, prom, pp, key, config_text, c, stored, end, now, horizon, ahead, out,
                      have, why, whylen, err);
    } else if (end == e->last_t) {
        e->used = now;
        e->pass = m->pass;
        m->st.reused++;
        if (e->fc_quantile != c->quantile || e->fc_anomaly != c->anomaly_threshold ||
            e->fc_horizon != horizon || e->fc_ahead != ahead)
            pm_forecast(e, c, horizon, ahead); /* the window as it is, no query */
        pm_answer(e, out, have, why, whylen);
    } else {
        rc = pm_update(m, prom, e, c, end, now, horizon, ahead, err);
        if (rc == MLA_OK)
            pm_answer(e, out, have, why, whylen);
    }
    free(key);
    return rc;
}

/* ns/name's entry for config_text when it carries a ready profile, else NULL. */
static struct pm_entry *pm_profile_entry(struct mla_predict_models *m, const char *ns,
                                         const char *name, const char *config_text)
{
    if (!m)
        return NULL;
    char *key = mla_xasprintf("%s/%s", ns, name);
    struct pm_entry *e = *pm_find(m, key);
    free(key);
    if (!e || strcmp(e->config->text, config_text) != 0 || !(e->prof_t > 0) ||
        !mla_fc_profile_ready(&e->prof))
        return NULL;
    return e;
}

bool mla_predict_models_profile_due(struct mla_predict_models *m, const char *ns,
                                    const char *name, const char *config_text,
                                    const struct mla_predict_config *c, const char *stored)
{
    struct pm_entry *e = pm_profile_entry(m, ns, name, config_text);
    if (!e)
        return false;
    struct mla_fc_profile p;
    double t;
    return !mla__predict_profile_parse(stored, config_text, c, &p, &t, NULL, 0) ||
           e->prof_t - t >= MLA_PREDICT_PROFILE_REFRESH_S;
}

bool mla_predict_models_profile_text(struct mla_predict_models *m, const char *ns,
                                     const char *name, const char *config_text,
                                     const struct mla_predict_config *c, const char *stored,
                                     char *out, size_t outlen)
{
    struct pm_entry *e = pm_profile_entry(m, ns, name, config_text);
    struct mla_fc_profile p;
    double t;
    uint64_t key;
    if (e && mla_fc_profile_encode(&e->prof, e->prof_t, e->pkey, out, outlen, NULL) == MLA_OK) {
        /* carry what was written: a leader that reads it back then holds the same profile */
        if (mla_fc_profile_decode(out, &p, &t, &key, NULL) == MLA_OK)
            e->prof = p;
        return true;
    }
    if (stored && strlen(stored) < outlen &&
        mla__predict_profile_parse(stored, config_text, c, &p, &t, NULL, 0)) {
        snprintf(out, outlen, "%s", stored);
        return true;
    }
    return false;
}
