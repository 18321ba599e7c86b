/* base/metrics.c - the process-wide Prometheus registry (see metrics.h).
 *
 * DESIGN: families in a list (rendered sorted by name), series in a list per family (creation
 * order) indexed by a hash table on the labels. Values are
 * doubles stored as atomic 64-bit patterns and updated by compare-and-swap, so the request
 * threads never take the mutex after their first lookup. The mutex guards the lists only.
 */
#include "mla/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mla/log.h"
#include "mla/mem.h"

#define METRICS_MAX_BUCKETS 24

struct mla_metric {
    struct mla_metric *next;            /* guarded by reg_mu */
    struct metrics_family *fam;         /* immutable after publish */
    char *labels;                       /* immutable after publish */
    _Atomic uint64_t value;             /* atomic: double bits (histogram: sum) */
    _Atomic uint64_t count;             /* atomic: histogram observations */
    /* atomic: non-cumulative bucket counts, fam->nbounds of them (none but for histograms:
     * the leader keeps about six gauges per ScaledObject, 60,000 series at 10,000, where a
     * fixed array of 24 weighed 11.5 MB) */
    _Atomic uint64_t bucket[];
};

struct metrics_family {
    struct metrics_family *next; /* guarded by reg_mu */
    char *name, *help;
    enum mla_metric_kind kind;
    double bounds[METRICS_MAX_BUCKETS];
    size_t nbounds;
    struct mla_metric *series; /* guarded by reg_mu: in creation order (the render order) */
    struct mla_metric *last;   /* guarded by reg_mu: the tail of series */
    /* guarded by reg_mu: open addressing on the labels, so that a lookup stays O(1) with a
     * series per ScaledObject (60,000 series at 10,000 of them; a list scan made the loop's
     * pass quadratic) */
    struct mla_metric **tab;
    size_t tab_cap, nseries;
};

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct metrics_family *reg_families; /* guarded by reg_mu */

static double bits_to_d(uint64_t b)
{
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

static uint64_t d_to_bits(double d)
{
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    return b;
}

static struct metrics_family *family_find(const char *name)
{
    for (struct metrics_family *f = reg_families; f; f = f->next)
        if (!strcmp(f->name, name))
            return f;
    return NULL;
}

static uint64_t labels_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* Called with reg_mu held. */
static struct mla_metric *series_find(const struct metrics_family *f, const char *labels)
{
    if (!f->tab_cap)
        return NULL;
    for (size_t i = labels_hash(labels) & (f->tab_cap - 1);; i = (i + 1) & (f->tab_cap - 1)) {
        struct mla_metric *m = f->tab[i];
        if (!m || !strcmp(m->labels, labels))
            return m;
    }
}

static void series_put(struct mla_metric **tab, size_t cap, struct mla_metric *m)
{
    size_t i = labels_hash(m->labels) & (cap - 1);
    while (tab[i])
        i = (i + 1) & (cap - 1);
    tab[i] = m;
}

/* Called with reg_mu held; keeps the table at most half full. */
static void series_index(struct metrics_family *f, struct mla_metric *m)
{
    if (2 * (f->nseries + 1) > f->tab_cap) {
        size_t cap = f->tab_cap ? 2 * f->tab_cap : 16;
        struct mla_metric **tab = mla_xcalloc(cap, sizeof *tab);
        for (size_t i = 0; i < f->tab_cap; i++)
            if (f->tab[i])
                series_put(tab, cap, f->tab[i]);
        free(f->tab);
        f->tab = tab;
        f->tab_cap = cap;
    }
    series_put(f->tab, f->tab_cap, m);
    f->nseries++;
}

/* Called with reg_mu held: backward-shift deletion, so that no probe chain is cut. */
static void series_unindex(struct metrics_family *f, const struct mla_metric *m)
{
    size_t mask = f->tab_cap - 1, i = labels_hash(m->labels) & mask;
    while (f->tab[i] != m)
        i = (i + 1) & mask;
    f->tab[i] = NULL;
    for (size_t j = (i + 1) & mask; f->tab[j]; j = (j + 1) & mask) {
        size_t k = labels_hash(f->tab[j]->labels) & mask; /* where it wants to be */
        bool movable = i <= j ? (k <= i || k > j) : (k <= i && k > j);
        if (movable) {
            f->tab[i] = f->tab[j];
            f->tab[j] = NULL;
            i = j;
        }
    }
    f->nseries--;
}

struct mla_metric *mla_metrics_get(enum mla_metric_kind kind, const char *name, const char *help,
                                   const char *labels, const double *buckets, size_t n)
{
    if (!labels)
        labels = "";
    pthread_mutex_lock(&reg_mu);
    struct metrics_family *f = family_find(name);
    if (f && f->kind != kind) {
        pthread_mutex_unlock(&reg_mu);
        mla_log(MLA_LOG_ERROR, "metrics", "metric %s registered twice with different kinds", name);
        return NULL;
    }
    if (!f) {
        f = mla_xcalloc(1, sizeof *f);
        f->name = mla_xstrdup(name);
        f->help = mla_xstrdup(help ? help : "");
        f->kind = kind;
        if (kind == MLA_METRIC_HISTOGRAM && buckets) {
            f->nbounds = n < METRICS_MAX_BUCKETS ? n : METRICS_MAX_BUCKETS;
            memcpy(f->bounds, buckets, f->nbounds * sizeof(double));
        }
        f->next = reg_families;
        reg_families = f;
    }
    struct mla_metric *m = series_find(f, labels);
    if (!m) {
        m = mla_xcalloc(1, sizeof *m + f->nbounds * sizeof m->bucket[0]);
        m->fam = f;
        m->labels = mla_xstrdup(labels);
        atomic_store(&m->value, d_to_bits(0.0));
        if (f->last)
            f->last->next = m;
        else
            f->series = m;
        f->last = m;
        series_index(f, m);
    }
    pthread_mutex_unlock(&reg_mu);
    return m;
}

static void metric_add_double(_Atomic uint64_t *slot, double v)
{
    uint64_t old = atomic_load(slot);
    while (!atomic_compare_exchange_weak(slot, &old, d_to_bits(bits_to_d(old) + v)))
        ;
}

void mla_metric_inc(struct mla_metric *m) { mla_metric_add(m, 1.0); }

void mla_metric_add(struct mla_metric *m, double v)
{
    if (m)
        metric_add_double(&m->value, v);
}

void mla_metric_set(struct mla_metric *m, double v)
{
    if (m)
        atomic_store(&m->value, d_to_bits(v));
}

void mla_metric_observe(struct mla_metric *m, double v)
{
    if (!m)
        return;
    struct metrics_family *f = m->fam;
    size_t i = 0;
    while (i < f->nbounds && v > f->bounds[i])
        i++;
    if (i < f->nbounds)
        atomic_fetch_add(&m->bucket[i], 1);
    atomic_fetch_add(&m->count, 1);
    metric_add_double(&m->value, v);
}

double mla_metric_value(const struct mla_metric *m)
{
    return m ? bits_to_d(atomic_load(&((struct mla_metric *)m)->value)) : 0.0;
}

void mla_metrics_remove(const char *name, const char *labels)
{
    pthread_mutex_lock(&reg_mu);
    struct metrics_family *f = family_find(name);
    if (f) {
        struct mla_metric *prev = NULL;
        for (struct mla_metric **pp = &f->series; *pp; prev = *pp, pp = &(*pp)->next) {
            if (!strcmp((*pp)->labels, labels ? labels : "")) {
                struct mla_metric *dead = *pp;
                *pp = dead->next;
                if (f->last == dead)
                    f->last = prev;
                series_unindex(f, dead);
                free(dead->labels);
                free(dead);
                break;
            }
        }
    }
    pthread_mutex_unlock(&reg_mu);
}

enum mla_code mla_metrics_label_escape(struct mla_buf *out, const char *v)
{
    enum mla_code rc = MLA_OK;
    for (const char *c = v; rc == MLA_OK && *c; c++) {
        if (*c == '\\')
            rc = mla_buf_add(out, "\\\\", 2);
        else if (*c == '"')
            rc = mla_buf_add(out, "\\\"", 2);
        else if (*c == '\n')
            rc = mla_buf_add(out, "\\n", 2);
        else
            rc = mla_buf_add(out, c, 1);
    }
    return rc;
}

static enum mla_code metrics_num(struct mla_buf *out, double v)
{
    if (isnan(v))
        return mla_buf_adds(out, "NaN");
    if (isinf(v))
        return mla_buf_adds(out, v > 0 ? "+Inf" : "-Inf");
    return mla_buf_addf(out, "%.17g", v);
}

static enum mla_code metrics_series(struct mla_buf *out, const char *name, const char *suffix,
                                    const char *labels, const char *extra, double v)
{
    enum mla_code rc = mla_buf_addf(out, "%s%s", name, suffix);
    int has = labels[0] || (extra && extra[0]);
    if (rc == MLA_OK && has)
        rc = mla_buf_addf(out, "{%s%s%s}", labels, labels[0] && extra && extra[0] ? "," : "",
                          extra ? extra : "");
    if (rc == MLA_OK)
        rc = mla_buf_adds(out, " ");
    if (rc == MLA_OK)
        rc = metrics_num(out, v);
    if (rc == MLA_OK)
        rc = mla_buf_adds(out, "\n");
    return rc;
}

static int family_cmp(const void *a, const void *b)
{
    return strcmp((*(struct metrics_family *const *)a)->name,
                  (*(struct metrics_family *const *)b)->name);
}

enum mla_code mla_metrics_render(struct mla_buf *out)
{
    static const char *const kinds[] = {"counter", "gauge", "histogram"};
    enum mla_code rc = MLA_OK;
    pthread_mutex_lock(&reg_mu);
    size_t nf = 0;
    for (struct metrics_family *f = reg_families; f; f = f->next)
        nf++;
    struct metrics_family **fams = mla_xcalloc(nf ? nf : 1, sizeof *fams);
    nf = 0;
    for (struct metrics_family *f = reg_families; f; f = f->next)
        fams[nf++] = f;
    qsort(fams, nf, sizeof *fams, family_cmp);
    for (size_t i = 0; rc == MLA_OK && i < nf; i++) {
        struct metrics_family *f = fams[i];
        if (!f->series)
            continue;
        rc = mla_buf_addf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name,
                          kinds[f->kind]);
        for (struct mla_metric *m = f->series; rc == MLA_OK && m; m = m->next) {
            double v = bits_to_d(atomic_load(&m->value));
            if (f->kind != MLA_METRIC_HISTOGRAM) {
                rc = metrics_series(out, f->name, "", m->labels, NULL, v);
                continue;
            }
            uint64_t cum = 0;
            for (size_t b = 0; rc == MLA_OK && b < f->nbounds; b++) {
                cum += atomic_load(&m->bucket[b]);
                char le[64];
                snprintf(le, sizeof le, "le=\"%g\"", f->bounds[b]);
                rc = metrics_series(out, f->name, "_bucket", m->labels, le, (double)cum);
            }
            double count = (double)atomic_load(&m->count);
            if (rc == MLA_OK)
                rc = metrics_series(out, f->name, "_bucket", m->labels, "le=\"+Inf\"", count);
            if (rc == MLA_OK)
                rc = metrics_series(out, f->name, "_sum", m->labels, NULL, v);
            if (rc == MLA_OK)
                rc = metrics_series(out, f->name, "_count", m->labels, NULL, count);
        }
    }
    pthread_mutex_unlock(&reg_mu);
    free(fams);
    return rc;
}

void mla_metrics_reset(void)
{
    pthread_mutex_lock(&reg_mu);
    struct metrics_family *f = reg_families;
    while (f) {
        struct metrics_family *fn = f->next;
        struct mla_metric *m = f->series;
        while (m) {
            struct mla_metric *mn = m->next;
            free(m->labels);
            free(m);
            m = mn;
        }
        free(f->tab);
        free(f->name);
        free(f->help);
        free(f);
        f = fn;
    }
    reg_families = NULL;
    pthread_mutex_unlock(&reg_mu);
}
