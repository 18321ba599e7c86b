/* metrics.h - the process's Prometheus metrics: counters, gauges and histograms with labels,
 * rendered in the text exposition format (0.0.4) for GET /metrics.
 *
 * One registry per process (it is what /metrics shows), created on first use. A metric is
 * identified by name + label string; mla_metrics_get() finds or creates it and returns a handle
 * that stays valid until mla_metrics_remove() of that series or process exit. Hot paths look a
 * handle up once and keep it; updates are lock-free atomics.
 *
 * Label strings are the inside of the braces, already escaped: `outcome="allowed",code="200"`
 * (use mla_metrics_label_escape for values from outside). "" for none.
 *
 * Threading: any thread. Lookup, removal and rendering take the registry mutex; updates through
 * a handle are atomic.
 */
#ifndef MLA_METRICS_H
#define MLA_METRICS_H

#include <stddef.h>

#include "mla/buf.h"
#include "mla/err.h"

enum mla_metric_kind { MLA_METRIC_COUNTER, MLA_METRIC_GAUGE, MLA_METRIC_HISTOGRAM };

struct mla_metric; /* opaque handle; owned by the registry */

/* Finds or creates a series. `help` is used when the family is first created. For histograms,
 * `buckets` (ascending upper bounds, n of them) is used when the family is first created;
 * NULL for counters/gauges. Returns NULL (and logs) when the name is reused with another kind. */
struct mla_metric *mla_metrics_get(enum mla_metric_kind kind, const char *name, const char *help,
                                   const char *labels, const double *buckets, size_t n);

void mla_metric_inc(struct mla_metric *m);              /* counter/gauge += 1 */
void mla_metric_add(struct mla_metric *m, double v);    /* counter/gauge += v */
void mla_metric_set(struct mla_metric *m, double v);    /* gauge = v */
void mla_metric_observe(struct mla_metric *m, double v); /* histogram */
double mla_metric_value(const struct mla_metric *m);    /* counter/gauge value; hist sum */

/* Drops one series (e.g. the gauges of a deleted ScaledObject). Its handle becomes invalid. */
void mla_metrics_remove(const char *name, const char *labels);

/* Appends the whole registry in text format. */
enum mla_code mla_metrics_render(struct mla_buf *out) MLA_MUST_CHECK;

/* Appends v escaped for a label value (\\, \", \n). */
enum mla_code mla_metrics_label_escape(struct mla_buf *out, const char *v) MLA_MUST_CHECK;

/* Frees the registry (tests, and at exit for valgrind). Handles become invalid. */
void mla_metrics_reset(void);

#endif
