/* forecast/series.c - regular-step series: resampling into buckets, and the small numerics the other
 * forecast files share (quantile, period in steps). Pure. */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fc-int.h"
#include "mla/mem.h"

void mla_fc_series_fini(struct mla_fc_series *s)
{
    if (!s)
        return;
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

double mla__fc_nanmean(const double *x, size_t n)
{
    double sum = 0;
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(x[i])) {
            sum += x[i];
            c++;
        }
    return c ? sum / (double)c : NAN;
}

int mla__fc_period_steps(double period_s, double step_s)
{
    if (!(step_s > 0) || !(period_s > 0))
        return 0;
    double r = period_s / step_s;
    double k = floor(r + 0.5);
    if (k < 2 || fabs(r - k) > 1e-6 * r || k > 1e7)
        return 0;
    return (int)k;
}

static void sr_swap(double *a, double *b)
{
    double t = *a;
    *a = *b;
    *b = t;
}

/* Hoare-style selection within a[lo..hi] (lo <= k <= hi): afterwards a[k] holds the element
 * of rank k, a[lo..k-1] <= a[k] <= a[k+1..hi]. */
static void sr_select_range(double *a, size_t lo, size_t hi, size_t k)
{
    while (hi > lo) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid] < a[lo])
            sr_swap(&a[mid], &a[lo]);
        if (a[hi] < a[lo])
            sr_swap(&a[hi], &a[lo]);
        if (a[hi] < a[mid])
            sr_swap(&a[hi], &a[mid]);
        double pivot = a[mid];
        size_t i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i <= j) {
                sr_swap(&a[i], &a[j]);
                i++;
                if (j == 0)
                    break;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return;
    }
}

#define SR_SAMPLE 128 /* sample size for the band pivots */
#define SR_BAND 8     /* sample ranks either side of k's: ~3 sampling deviations at q=0.95 */
#define SR_MIN_N 512  /* below this the plain selection is as fast */

/* Narrows the selection of rank k to a band (Floyd-Rivest style). Two pivots from a strided
 * sample bracket rank k; one branch-free pass rearranges a into [< lo pivot | band | > hi
 * pivot]. Quickselect's comparisons on residuals are coin flips for the branch predictor:
 * the two interval quantiles were a fifth of a forecast. Returns false (a rearranged but
 * still a permutation) when rank k is not in the band; else the band's bounds. */
static bool sr_band(double *a, size_t n, size_t k, size_t *blo, size_t *bhi)
{
    double smp[SR_SAMPLE];
    size_t stride = n / SR_SAMPLE;
    for (size_t i = 0; i < SR_SAMPLE; i++)
        smp[i] = a[i * stride + stride / 2];
    size_t r = (size_t)((double)k / (double)n * SR_SAMPLE);
    size_t rl = r > SR_BAND ? r - SR_BAND : 0;
    size_t rh = r + SR_BAND < SR_SAMPLE - 1 ? r + SR_BAND : SR_SAMPLE - 1;
    sr_select_range(smp, 0, SR_SAMPLE - 1, rl);
    sr_select_range(smp, rl, SR_SAMPLE - 1, rh);
    /* At the sample's ends the band is open: rank k cannot fall outside it. */
    double plo = rl == 0 ? -INFINITY : smp[rl];
    double phi = rh == SR_SAMPLE - 1 ? INFINITY : smp[rh];
    /* Lows to the front of tmp, highs to its back, the band compacted in place at the front
     * of a (written behind the read position). Every store is unconditional; only the
     * counters move. The low and high cursors cannot cross before the last element. */
    double *tmp = mla_xmalloc(n * sizeof *tmp);
    size_t nl = 0, nh = 0, nm = 0;
    for (size_t i = 0; i < n; i++) {
        double v = a[i];
        size_t lo = v < plo, hi = v > phi;
        tmp[nl] = v;
        tmp[n - 1 - nh] = v;
        a[nm] = v;
        nl += lo;
        nh += hi;
        nm += 1 - (lo | hi);
    }
    memmove(a + nl, a, nm * sizeof *a);
    memcpy(a, tmp, nl * sizeof *a);
    memcpy(a + nl + nm, tmp + (n - nh), nh * sizeof *a);
    free(tmp);
    if (k < nl || k >= nl + nm)
        return false;
    *blo = nl;
    *bhi = nl + nm - 1;
    return true;
}

/* After the call a[k] holds the k-th smallest element, a[0..k-1] <= a[k] <= a[k+1..n-1]. */
static void sr_select(double *a, size_t n, size_t k)
{
    size_t lo = 0, hi = n - 1;
    if (n >= SR_MIN_N && !sr_band(a, n, k, &lo, &hi)) {
        lo = 0;
        hi = n - 1;
    }
    sr_select_range(a, lo, hi, k);
}

/* Smallest element of a[from..to-1] (from < to). */
static double sr_min(const double *a, size_t from, size_t to)
{
    double v = a[from];
    for (size_t i = from + 1; i < to; i++)
        v = a[i] < v ? a[i] : v;
    return v;
}

/* Ranks klo, klo+1 and khi, khi+1 from the two tails: sample thresholds a little inside each
 * tail, one branch-free pass copying the elements <= the low one and >= the high one, then
 * small selections. False when a rank falls outside its tail (the caller selects in full). */
static bool sr_tails(const double *a, size_t n, size_t klo, size_t khi, double *out, double *buf)
{
    double smp[SR_SAMPLE];
    size_t stride = n / SR_SAMPLE;
    for (size_t i = 0; i < SR_SAMPLE; i++)
        smp[i] = a[i * stride + stride / 2];
    size_t rl = (size_t)((double)klo / (double)n * SR_SAMPLE) + SR_BAND;
    size_t rh0 = (size_t)((double)khi / (double)n * SR_SAMPLE);
    if (rl >= SR_SAMPLE - 1 || rh0 <= SR_BAND || rl >= rh0 - SR_BAND)
        return false;
    size_t rh = rh0 - SR_BAND;
    sr_select_range(smp, 0, SR_SAMPLE - 1, rl);
    double tl = smp[rl];
    sr_select_range(smp, 0, SR_SAMPLE - 1, rh);
    double th = smp[rh];
    /* The elements <= tl are exactly the nl smallest, those >= th the nh largest. */
    double *lo = buf, *hi = buf + n;
    size_t nl = 0, nh = 0;
    for (size_t i = 0; i < n; i++) {
        double v = a[i];
        lo[nl] = v;
        hi[nh] = v;
        nl += v <= tl;
        nh += v >= th;
    }
    if (klo + 1 >= nl || khi < n - nh)
        return false;
    sr_select_range(lo, 0, nl - 1, klo);
    out[0] = lo[klo];
    out[1] = sr_min(lo, klo + 1, nl);
    size_t r = khi - (n - nh);
    sr_select_range(hi, 0, nh - 1, r);
    out[2] = hi[r];
    out[3] = r + 1 < nh ? sr_min(hi, r + 1, nh) : NAN;
    return true;
}

void mla__fc_order_pairs(const double *a, size_t n, size_t klo, size_t khi, double *out)
{
    double *buf = mla_xmalloc(2 * n * sizeof *buf);
    if (n < SR_MIN_N || !sr_tails(a, n, klo, khi, out, buf)) {
        /* The plain way: select khi, then klo among the khi + 1 smallest it left in front. */
        memcpy(buf, a, n * sizeof *buf);
        sr_select(buf, n, khi);
        out[2] = buf[khi];
        out[3] = khi + 1 < n ? sr_min(buf, khi + 1, n) : NAN;
        sr_select(buf, khi + 1, klo);
        out[0] = buf[klo];
        out[1] = klo + 1 <= khi ? sr_min(buf, klo + 1, khi + 1) : out[3];
    }
    free(buf);
}

double mla__fc_quantile(double *a, size_t n, double q)
{
    if (n == 0)
        return NAN;
    if (q <= 0)
        q = 0;
    if (q >= 1)
        q = 1;
    double pos = q * (double)(n - 1);
    size_t k = (size_t)pos;
    double frac = pos - (double)k;
    sr_select(a, n, k);
    double v = a[k];
    if (frac > 0 && k + 1 < n) {
        /* the next order statistic is the minimum of the upper part */
        double nx = a[k + 1];
        for (size_t i = k + 2; i < n; i++)
            if (a[i] < nx)
                nx = a[i];
        v += frac * (nx - v);
    }
    return v;
}

enum mla_code mla_fc_series_bucket(const struct mla_fc_series *in, double step_s,
                                   enum mla_fc_agg agg, struct mla_fc_series *out,
                                   struct mla_err *err)
{
    if (!in || !out || in->n == 0 || !(in->step_s > 0))
        return mla_err_set(err, MLA_EINVAL, "bucket: empty input series");
    double r = step_s / in->step_s;
    double k = floor(r + 0.5);
    if (!(step_s > 0) || k < 1 || fabs(r - k) > 1e-9 * r)
        return mla_err_set(err, MLA_EINVAL,
                           "bucket: step %g s is not a whole multiple of the input step %g s",
                           step_s, in->step_s);
    size_t per = (size_t)k;
    double t0 = floor(in->t0 / step_s) * step_s;
    double tend = in->t0 + (double)in->n * in->step_s;
    size_t nb = (size_t)ceil((tend - t0) / step_s - 1e-9);
    double *sum = mla_xcalloc(nb, sizeof *sum);
    size_t *cnt = mla_xcalloc(nb, sizeof *cnt);
    for (size_t i = 0; i < in->n; i++) {
        if (isnan(in->v[i]))
            continue;
        double t = in->t0 + (double)i * in->step_s;
        size_t b = (size_t)floor((t - t0) / step_s + 1e-9);
        if (b >= nb)
            continue;
        sum[b] += in->v[i];
        cnt[b]++;
    }
    for (size_t b = 0; b < nb; b++) {
        if (!cnt[b])
            sum[b] = NAN;
        else if (agg == MLA_FC_AGG_SUM)
            sum[b] = sum[b] / (double)cnt[b] * (double)per;
        else
            sum[b] = sum[b] / (double)cnt[b];
    }
    free(cnt);
    out->t0 = t0;
    out->step_s = step_s;
    out->n = nb;
    out->v = sum;
    return MLA_OK;
}
