/* test_metrics.c - the Prometheus registry (base/metrics.c): series found again by their
 * labels among thousands (a series per ScaledObject), removal that keeps the others reachable,
 * and /metrics output in creation order. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "mla/buf.h"
#include "mla/metrics.h"

static void fini(void)
{
    mla_metrics_reset();
}

static void labels_of(int i, char *out, size_t n)
{
    snprintf(out, n, "namespace=\"ns%d\",scaledobject=\"so-%d\"", i % 37, i);
}

Test(metrics, thousands_of_series_are_found_again_and_survive_removals, .fini = fini)
{
    enum { N = 5000 };
    static struct mla_metric *m[N];
    char l[128];
    for (int i = 0; i < N; i++) {
        labels_of(i, l, sizeof l);
        m[i] = mla_metrics_get(MLA_METRIC_GAUGE, "mla_test_min_replicas", "t", l, NULL, 0);
        cr_assert_not_null(m[i]);
        mla_metric_set(m[i], i);
    }
    for (int i = 0; i < N; i++) {
        labels_of(i, l, sizeof l);
        cr_assert_eq(mla_metrics_get(MLA_METRIC_GAUGE, "mla_test_min_replicas", "t", l, NULL, 0),
                     m[i], "series %d not found again", i);
    }
    /* remove every third, in a scattered order: the others stay reachable with their values */
    for (int k = 0; k < N; k++) {
        int i = (int)(((long)k * 7919) % N);
        if (i % 3 == 0) {
            labels_of(i, l, sizeof l);
            mla_metrics_remove("mla_test_min_replicas", l);
        }
    }
    for (int i = 0; i < N; i++) {
        labels_of(i, l, sizeof l);
        struct mla_metric *g =
            mla_metrics_get(MLA_METRIC_GAUGE, "mla_test_min_replicas", "t", l, NULL, 0);
        if (i % 3)
            cr_assert(g == m[i] && mla_metric_value(g) == i, "series %d lost", i);
        else
            cr_assert_eq(mla_metric_value(g), 0, "removed series %d came back with a value", i);
    }
}

Test(metrics, render_lists_series_in_creation_order_after_a_removal, .fini = fini)
{
    const char *ls[] = {"a=\"3\"", "a=\"1\"", "a=\"2\""};
    for (int i = 0; i < 3; i++)
        mla_metric_set(mla_metrics_get(MLA_METRIC_GAUGE, "mla_test_g", "help", ls[i], NULL, 0),
                       i + 1);
    mla_metrics_remove("mla_test_g", "a=\"2\"");  /* the last one: the tail moves back */
    mla_metric_set(mla_metrics_get(MLA_METRIC_GAUGE, "mla_test_g", "help", "a=\"4\"", NULL, 0), 9);
    struct mla_buf b;
    mla_buf_init(&b, 0);
    cr_assert_eq(mla_metrics_render(&b), MLA_OK);
    const char *out = mla_buf_str(&b);
    const char *p3 = strstr(out, "mla_test_g{a=\"3\"} 1"), *p1 = strstr(out, "mla_test_g{a=\"1\"} 2"),
               *p4 = strstr(out, "mla_test_g{a=\"4\"} 9");
    cr_assert(p3 && p1 && p4 && p3 < p1 && p1 < p4, "%s", out);
    cr_assert_null(strstr(out, "a=\"2\""), "%s", out);
    mla_buf_fini(&b);
}

/* A series stores as many bucket counts as its family has bounds (none for gauges): the
 * histogram of 24 bounds (the most a family keeps) counts into each, and a gauge of the same
 * name's neighbours is unaffected. */
Test(metrics, histogram_buckets_are_counted_with_per_family_storage, .fini = fini)
{
    double bounds[24];
    for (int i = 0; i < 24; i++)
        bounds[i] = i + 1;
    struct mla_metric *g = mla_metrics_get(MLA_METRIC_GAUGE, "mla_test_gauge", "h", "", NULL, 0);
    struct mla_metric *h = mla_metrics_get(MLA_METRIC_HISTOGRAM, "mla_test_hist", "h", "a=\"1\"",
                                           bounds, 24);
    mla_metric_set(g, 7);
    mla_metric_observe(h, 0.5);  /* le 1 */
    mla_metric_observe(h, 24);   /* le 24, the last bound */
    mla_metric_observe(h, 99);   /* +Inf only */
    struct mla_buf b;
    mla_buf_init(&b, 0);
    cr_assert_eq(mla_metrics_render(&b), MLA_OK);
    const char *out = mla_buf_str(&b);
    cr_assert(strstr(out, "mla_test_hist_bucket{a=\"1\",le=\"1\"} 1\n"), "%s", out);
    cr_assert(strstr(out, "mla_test_hist_bucket{a=\"1\",le=\"23\"} 1\n"), "%s", out);
    cr_assert(strstr(out, "mla_test_hist_bucket{a=\"1\",le=\"24\"} 2\n"), "%s", out);
    cr_assert(strstr(out, "mla_test_hist_bucket{a=\"1\",le=\"+Inf\"} 3\n"), "%s", out);
    cr_assert(strstr(out, "mla_test_hist_count{a=\"1\"} 3\n"), "%s", out);
    cr_assert(strstr(out, "mla_test_gauge 7\n"), "%s", out);
    mla_buf_fini(&b);
}
