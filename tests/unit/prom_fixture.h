/* prom_fixture.h - a load history for unit tests of the predictive step, fetched through
 * mla_predict_models_set_fetch instead of Prometheus. */
#ifndef MLA_TEST_PROM_FIXTURE_H
#define MLA_TEST_PROM_FIXTURE_H

#include <math.h>
#include <stdlib.h>

#include "mla/predict_models.h"

/* mla_predict_fetch_fn: a daily sine around 100 (40..160) on the asked grid. */
static inline enum mla_code fx_sine_fetch(void *ctx, const struct mla_prom_opts *opts,
                                          const char *query, double start, double end,
                                          double step, struct mla_prom_series *out,
                                          struct mla_err *err)
{
    (void)ctx, (void)opts, (void)query, (void)err;
    out->start = start;
    out->step = step;
    out->n = (size_t)floor((end - start) / step + 1e-9) + 1;
    out->v = malloc(out->n * sizeof *out->v);
    for (size_t i = 0; i < out->n; i++)
        out->v[i] = 100 + 60 * sin((start + (double)i * step) * 2 * M_PI / 86400);
    out->series = 1;
    return MLA_OK;
}

#endif
