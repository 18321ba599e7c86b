/* fuzz/prom.c - arbitrary Prometheus query_range answers onto a 60-point grid: the parser the
 * leader's loop runs on whatever Prometheus (or something in its place) sends. */
#include <math.h>

#include "fuzz.h"
#include "mla/prom.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mla_prom_series g = {.start = 1000, .step = 60, .n = 60, .series = 0};
    g.v = malloc(g.n * sizeof *g.v);
    for (size_t i = 0; i < g.n; i++)
        g.v[i] = NAN;
    (void)mla_prom_parse_matrix((const char *)data, size, &g, NULL);
    for (size_t i = 0; i < g.n; i++)
        if (isinf(g.v[i]))
            abort(); /* infinities are gaps (NaN), never values */
    mla_prom_series_fini(&g);
    return 0;
}
