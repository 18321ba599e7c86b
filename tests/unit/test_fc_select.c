/* test_fc_select.c - the forecaster's order-statistic helpers (src/forecast/series.c) against a
 * full sort: the band-narrowed selection behind mla__fc_quantile and the two-tail search
 * behind the interval bounds (mla__fc_order_pairs) must give exactly the sorted array's values,
 * for sizes below and above the fast paths' threshold, with ties, and with ranks anywhere. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/forecast/fc-int.h"

static uint64_t ts_rng = 0x2545f4914f6cdd1dull;

static double ts_unif(void)
{
    ts_rng ^= ts_rng << 13;
    ts_rng ^= ts_rng >> 7;
    ts_rng ^= ts_rng << 17;
    return (double)(ts_rng >> 11) / 9007199254740992.0;
}

static int ts_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* kind 0: continuous; 1: heavy ties (few distinct values); 2: sorted; 3: reversed. */
static void ts_fill(double *a, size_t n, int kind)
{
    for (size_t i = 0; i < n; i++) {
        double u = ts_unif();
        a[i] = kind == 1 ? floor(u * 7) : kind == 2 ? (double)i : kind == 3 ? -(double)i
                                                                             : u * u - 0.3;
    }
}

static double ts_quantile_ref(const double *sorted, size_t n, double q)
{
    double pos = q * (double)(n - 1);
    size_t k = (size_t)pos;
    double frac = pos - (double)k, v = sorted[k];
    if (frac > 0 && k + 1 < n)
        v += frac * (sorted[k + 1] - v);
    return v;
}

Test(fc_select, quantile_equals_the_sorted_value)
{
    static const size_t sizes[] = {1, 2, 13, 511, 512, 700, 2016, 5000};
    static const double qs[] = {0, 0.05, 0.5, 0.8, 0.95, 0.999, 1};
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++)
        for (int kind = 0; kind < 4; kind++)
            for (size_t qi = 0; qi < sizeof qs / sizeof qs[0]; qi++) {
                size_t n = sizes[si];
                double *a = malloc(n * sizeof *a), *s = malloc(n * sizeof *s);
                ts_fill(a, n, kind);
                memcpy(s, a, n * sizeof *s);
                qsort(s, n, sizeof *s, ts_cmp);
                double got = mla__fc_quantile(a, n, qs[qi]);
                double want = ts_quantile_ref(s, n, qs[qi]);
                cr_assert_eq(got, want, "n=%zu kind=%d q=%g: %.17g vs %.17g", n, kind, qs[qi],
                             got, want);
                free(a);
                free(s);
            }
}

Test(fc_select, order_pairs_equal_the_sorted_values)
{
    static const size_t sizes[] = {2, 12, 300, 512, 1000, 2016, 4096};
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++)
        for (int kind = 0; kind < 4; kind++)
            for (int t = 0; t < 8; t++) {
                size_t n = sizes[si];
                /* the interval's ranks (5 % / 95 %) and random ones, klo <= khi */
                size_t khi = t == 0 ? (size_t)(0.95 * (double)(n - 1))
                                    : (size_t)(ts_unif() * (double)n);
                size_t klo = t == 0 ? (size_t)(0.05 * (double)(n - 1))
                                    : (size_t)(ts_unif() * (double)(khi + 1));
                if (khi >= n)
                    khi = n - 1;
                if (klo > khi)
                    klo = khi;
                double *a = malloc(n * sizeof *a), *s = malloc(n * sizeof *s);
                ts_fill(a, n, kind);
                memcpy(s, a, n * sizeof *s);
                qsort(s, n, sizeof *s, ts_cmp);
                double *orig = malloc(n * sizeof *orig);
                memcpy(orig, a, n * sizeof *orig);
                double out[4];
                mla__fc_order_pairs(a, n, klo, khi, out);
                cr_assert_eq(memcmp(a, orig, n * sizeof *a), 0, "input modified");
                cr_assert_eq(out[0], s[klo], "n=%zu kind=%d klo=%zu", n, kind, klo);
                cr_assert_eq(out[2], s[khi], "n=%zu kind=%d khi=%zu", n, kind, khi);
                if (klo + 1 < n)
                    cr_assert_eq(out[1], s[klo + 1], "n=%zu kind=%d klo+1", n, kind);
                if (khi + 1 < n)
                    cr_assert_eq(out[3], s[khi + 1], "n=%zu kind=%d khi+1", n, kind);
                else
                    cr_assert(isnan(out[3]));
                free(a);
                free(s);
                free(orig);
            }
}
