/* forecast/hwpair.c - two Holt-Winters models (no trend, up to two seasons) that differ only in
 * their level gain and are fed the same points, run as the two lanes of one vector: the
 * engine's square-root candidates (model.c, eg_sqrt_*). Each lane does exactly the arithmetic,
 * in the same order, of mla__fc_hw_update_slots / mla__fc_hw_pred_slots on its own model
 * (same bits); what the lanes share is done once: the slot bookkeeping, the seen flags (both
 * models see the same points), the branches, and the walk over a smoothed season's box sums
 * (one two-lane add per box entry for both models instead of a pass per model). Pure. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fc-int.h"
#include "mla/mem.h"

void mla__fc_hw2_init(struct mla__fc_hw2 *p, const double alpha[2], int m0, double g0, int m1,
                      double g1, int kw)
{
    memset(p, 0, sizeof *p);
    const int m[2] = {m0, m1};
    const double g[2] = {g0, g1};
    p->alpha = (mla__fc_v2){alpha[0], alpha[1]};
    for (int k = 0; k < 2; k++) {
        p->m[k] = m[k] > 0 ? m[k] : 0;
        p->gamma[k] = (mla__fc_v2){g[k], g[k]};
        p->gain[k] = (mla__fc_v2){g[k] * (1 - alpha[0]), g[k] * (1 - alpha[1])};
        size_t n = (size_t)p->m[k];
        if (!n)
            continue;
        p->s[k] = mla_xcalloc(n, sizeof(mla__fc_v2));
        p->seen[k] = mla_xcalloc(n, 1);
        /* The smoothing rule of mla__fc_hw_smooth. */
        if (kw > 0 && 2 * kw + 1 < p->m[k]) {
            p->kw[k] = kw;
            double iw = 1.0 / (2 * kw + 1);
            p->rd_scale[k] = (mla__fc_v2){iw, iw};
            p->box[k] = mla_xcalloc(n, sizeof(mla__fc_v2));
        } else {
            p->rd_scale[k] = (mla__fc_v2){1, 1};
        }
    }
}

void mla__fc_hw2_fini(struct mla__fc_hw2 *p)
{
    for (int k = 0; k < 2; k++) {
        free(p->s[k]);
        free(p->box[k]);
        free(p->seen[k]);
        p->s[k] = p->box[k] = NULL;
        p->seen[k] = NULL;
    }
}

/* Adds d to b[0..len-1]. lanes 4 (AVX2): two entries per vector; 2: one. Each lane gets the
 * one addition the scalar model does. Eight (four) entries per iteration: the loop's own
 * count, compare and branch per entry cost as much as the add (180 instructions per 25-entry
 * window, 95 so). */
typedef double hw2_v4 __attribute__((vector_size(32)));
static MLA__FC_INLINE void hw2_add_run(mla__fc_v2 *b, size_t len, mla__fc_v2 d, int lanes)
{
    size_t x = 0;
    if (lanes == 4) {
        const hw2_v4 dv = {d[0], d[1], d[0], d[1]};
        for (; x + 8 <= len; x += 8) {
            hw2_v4 a0, a1, a2, a3;
            memcpy(&a0, b + x, sizeof a0);
            memcpy(&a1, b + x + 2, sizeof a1);
            memcpy(&a2, b + x + 4, sizeof a2);
            memcpy(&a3, b + x + 6, sizeof a3);
            a0 += dv;
            a1 += dv;
            a2 += dv;
            a3 += dv;
            memcpy(b + x, &a0, sizeof a0);
            memcpy(b + x + 2, &a1, sizeof a1);
            memcpy(b + x + 4, &a2, sizeof a2);
            memcpy(b + x + 6, &a3, sizeof a3);
        }
        for (; x + 2 <= len; x += 2) {
            hw2_v4 a;
            memcpy(&a, b + x, sizeof a);
            a += dv;
            memcpy(b + x, &a, sizeof a);
        }
    } else {
        for (; x + 4 <= len; x += 4) {
            b[x] += d;
            b[x + 1] += d;
            b[x + 2] += d;
            b[x + 3] += d;
        }
    }
    for (; x < len; x++)
        b[x] += d;
}

/* hw2_add_run for the common window (a constant length: the loops are unrolled whole). */
static MLA__FC_INLINE void hw2_add_common(mla__fc_v2 *b, mla__fc_v2 d, int lanes)
{
    size_t x = 0;
    if (lanes == 4) {
        const hw2_v4 dv = {d[0], d[1], d[0], d[1]};
#pragma GCC unroll 16
        for (; x + 2 <= MLA__FC_BOX_COMMON; x += 2) {
            hw2_v4 a;
            memcpy(&a, b + x, sizeof a);
            a += dv;
            memcpy(b + x, &a, sizeof a);
        }
    }
#pragma GCC unroll 32
    for (; x < MLA__FC_BOX_COMMON; x++)
        b[x] += d;
}

/* Adds d (one value per model) to the box sums of the slots whose window holds slot j. */
static MLA__FC_INLINE void hw2_box_add(struct mla__fc_hw2 *p, int k, size_t j, mla__fc_v2 d,
                                       int lanes)
{
    size_t m = (size_t)p->m[k], w = (size_t)p->kw[k];
    size_t lo = j >= w ? j - w : j + m - w, len = 2 * w + 1;
    mla__fc_v2 *b = p->box[k];
    size_t first = m - lo < len ? m - lo : len;
    if (len == MLA__FC_BOX_COMMON && first == len) { /* no wrap */
        hw2_add_common(b + lo, d, lanes);
        return;
    }
    hw2_add_run(b + lo, first, d, lanes);
    if (first < len)
        hw2_add_run(b, len - first, d, lanes);
}

/* lanes: of the box-sum adds (a constant once inlined). */
static MLA__FC_INLINE void hw2_update(struct mla__fc_hw2 *p, size_t i, size_t j0, size_t j1,
                                      double y, int lanes)
{
    bool has0 = p->m[0] > 0, has1 = p->m[1] > 0;
    const mla__fc_v2 zero = {0, 0};
    if (!p->started) {
        /* hw_set_slot(.., 0) on a fresh slot: s and the box sums stay 0. */
        p->level = (mla__fc_v2){y, y};
        p->started = true;
        if (has0)
            p->seen[0][j0] = 1;
        if (has1)
            p->seen[1][j1] = 1;
        p->at = i;
        p->base[0] = has0 ? j0 : 0;
        p->base[1] = has1 ? j1 : 0;
        return;
    }
    const mla__fc_v2 yv = {y, y};
    mla__fc_v2 l0 = p->level + zero; /* + the absent trend, as the general form adds */
    mla__fc_v2 r0 = zero, r1 = zero, first0 = zero, first1 = zero;
    if (has0) {
        mla__fc_v2 *s = &p->s[0][j0];
        if (!p->seen[0][j0]) {
            mla__fc_v2 v = yv - l0, d = v - *s;
            *s = v;
            p->seen[0][j0] = 1;
            if (p->kw[0])
                first0 = d;
        }
        r0 = ((p->kw[0] ? p->box[0][j0] : *s) + first0) * p->rd_scale[0];
    }
    if (has1) {
        mla__fc_v2 *s = &p->s[1][j1];
        if (!p->seen[1][j1]) {
            mla__fc_v2 v = yv - l0 - r0, d = v - *s;
            *s = v;
            p->seen[1][j1] = 1;
            if (p->kw[1])
                first1 = d;
        }
        r1 = ((p->kw[1] ? p->box[1][j1] : *s) + first1) * p->rd_scale[1];
    }
    mla__fc_v2 season = r0 + r1;
    mla__fc_v2 e = yv - (l0 + season);
    p->level = l0 + p->alpha * e;
    if (has0) {
        mla__fc_v2 *s = &p->s[0][j0];
        if (!p->kw[0]) {
            *s += p->gain[0] * e;
        } else {
            mla__fc_v2 d = p->gamma[0] * ((yv - l0 - (season - r0)) - *s);
            *s += d;
            hw2_box_add(p, 0, j0, first0 + d, lanes);
        }
    }
    if (has1) {
        mla__fc_v2 *s = &p->s[1][j1];
        if (!p->kw[1]) {
            *s += p->gain[1] * e;
        } else {
            mla__fc_v2 d = p->gamma[1] * ((yv - l0 - (season - r1)) - *s);
            *s += d;
            hw2_box_add(p, 1, j1, first1 + d, lanes);
        }
    }
    p->at = i;
    p->base[0] = has0 ? j0 : 0;
    p->base[1] = has1 ? j1 : 0;
}

#if MLA__FC_MV
/* The update built for AVX2 (four-lane box-sum adds, three-operand VEX forms). */
MLA__FC_AVX2 static void hw2_update_avx2(struct mla__fc_hw2 *p, size_t i, size_t j0, size_t j1,
                                         double y)
{
    hw2_update(p, i, j0, j1, y, 4);
}
#endif

__attribute__((noinline)) static void hw2_update_base(struct mla__fc_hw2 *p, size_t i, size_t j0,
                                                      size_t j1, double y)
{
    hw2_update(p, i, j0, j1, y, 2);
}

void mla__fc_hw2_update(struct mla__fc_hw2 *p, size_t i, size_t j0, size_t j1, double y)
{
#if MLA__FC_MV
    if (mla__fc_avx2()) {
        hw2_update_avx2(p, i, j0, j1, y);
        return;
    }
#endif
    hw2_update_base(p, i, j0, j1, y);
}

/* hw_slot of holtwinters.c: slot of index i in season k from the last update's. */
static size_t hw2_slot(const struct mla__fc_hw2 *p, int k, size_t i)
{
    size_t m = (size_t)p->m[k];
    if (i >= p->at) {
        size_t d = i - p->at;
        if (d < m) {
            size_t j = p->base[k] + d;
            return j >= m ? j - m : j;
        }
    }
    return i % m;
}

void mla__fc_hw2_shift_to(struct mla__fc_hw2 *p, size_t prev, double r)
{
    if (!p->started)
        return;
    size_t t = prev + 1;
    mla__fc_v2 f = mla__fc_hw2_pred_slots(p, p->m[0] ? hw2_slot(p, 0, t) : 0,
                                          p->m[1] ? hw2_slot(p, 1, t) : 0);
    for (int k = 0; k < 2; k++) {
        double d = r - f[k];
        if (isfinite(d))
            p->level[k] += d;
    }
}

void mla__fc_hw2_seed(struct mla__fc_hw2 *p, int k, const double *v)
{
    size_t m = (size_t)p->m[k];
    for (size_t j = 0; j < m; j++) {
        p->s[k][j] = (mla__fc_v2){v[j], v[j]};
        p->seen[k][j] = 1;
    }
    if (p->kw[k]) {
        double *box = mla_xmalloc(m * sizeof *box);
        mla__fc_box_sums(v, m, (size_t)p->kw[k], box);
        for (size_t j = 0; j < m; j++)
            p->box[k][j] = (mla__fc_v2){box[j], box[j]};
        free(box);
    }
}

void mla__fc_hw2_seed_level(struct mla__fc_hw2 *p, double level)
{
    p->level = (mla__fc_v2){level, level};
    p->started = true;
    p->at = 0;
    p->base[0] = p->base[1] = 0;
}
