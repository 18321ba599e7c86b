/* mla-prom-query - runs one mla_prom_query_range and prints the grid as JSON (test driver).
 *
 * Usage: mla-prom-query --url URL --query Q --start S --end E --step STEP [--timeout-ms N]
 * Success: exit 0 and {"points":N,"gaps":G,"series":S,"sum":X,"values":[v|null,...]} on stdout.
 * Failure: exit 1 and "ERRNAME: message" on stderr (e.g. "MLA_ETIMEOUT: prometheus ...").
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mla/prom.h"

static int usage(void)
{
    fprintf(stderr, "usage: mla-prom-query --url URL --query Q --start S --end E --step STEP "
                    "[--timeout-ms N]\n");
    return 2;
}

static int num(const char *s, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    return errno || end == s || *end ? -1 : 0;
}

int main(int argc, char **argv)
{
    struct mla_prom_opts o = {0};
    const char *query = NULL;
    double start = NAN, end = NAN, step = NAN, timeout = 10000;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        int bad = 0;
        if (strcmp(a, "--url") == 0)
            o.base_url = v;
        else if (strcmp(a, "--query") == 0)
            query = v;
        else if (strcmp(a, "--start") == 0)
            bad = num(v, &start);
        else if (strcmp(a, "--end") == 0)
            bad = num(v, &end);
        else if (strcmp(a, "--step") == 0)
            bad = num(v, &step);
        else if (strcmp(a, "--timeout-ms") == 0)
            bad = num(v, &timeout);
        else
            bad = 1;
        if (bad)
            return usage();
    }
    if (argc % 2 == 0 || !o.base_url || !query || isnan(start) || isnan(end) || isnan(step))
        return usage();
    o.timeout_ms = (long)timeout;
    struct mla_prom_series s;
    struct mla_err err;
    mla_err_clear(&err);
    if (mla_prom_query_range(&o, query, start, end, step, &s, &err) != MLA_OK) {
        fprintf(stderr, "%s: %s\n", mla_err_name(err.code), err.msg);
        mla_prom_global_cleanup();
        return 1;
    }
    size_t gaps = 0;
    double sum = 0;
    for (size_t i = 0; i < s.n; i++) {
        if (isnan(s.v[i]))
            gaps++;
        else
            sum += s.v[i];
    }
    printf("{\"points\":%zu,\"gaps\":%zu,\"series\":%zu,\"sum\":%.6f,\"values\":[", s.n, gaps,
           s.series, sum);
    for (size_t i = 0; i < s.n; i++)
        printf(isnan(s.v[i]) ? "%snull" : "%s%.6g", i ? "," : "", s.v[i]);
    printf("]}\n");
    mla_prom_series_fini(&s);
    mla_prom_global_cleanup();
    return 0;
}
