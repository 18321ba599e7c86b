/* test_prom.c - the query_range answer parser: grid placement, gaps, sums, errors. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mla/prom.h"

static struct mla_prom_series grid(double start, double step, size_t n)
{
    struct mla_prom_series g = {.start = start, .step = step, .n = n};
    g.v = malloc(n * sizeof *g.v);
    for (size_t i = 0; i < n; i++)
        g.v[i] = NAN;
    return g;
}

static enum mla_code parse(const char *body, struct mla_prom_series *g, struct mla_err *e)
{
    mla_err_clear(e);
    return mla_prom_parse_matrix(body, strlen(body), g, e);
}

Test(prom, matrix_fills_the_grid_with_gaps_and_sums_series)
{
    struct mla_prom_series g = grid(1000, 60, 5);
    struct mla_err e;
    const char *body =
        "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":["
        "{\"metric\":{\"i\":\"a\"},\"values\":[[1000,\"1\"],[1060,\"NaN\"],[1120,\"+Inf\"],"
        "[1180.0,\"4\"],[5000,\"99\"]]},"
        "{\"metric\":{\"i\":\"b\"},\"values\":[[1000,\"10\"],[1120,\"-Inf\"],[1240,\"5\"]]}]}}";
    cr_assert_eq(parse(body, &g, &e), MLA_OK, "%s", e.msg);
    cr_assert_float_eq(g.v[0], 11, 1e-9);
    cr_assert(isnan(g.v[1])); /* NaN */
    cr_assert(isnan(g.v[2])); /* +Inf and -Inf: gaps */
    cr_assert_float_eq(g.v[3], 4, 1e-9);
    cr_assert_float_eq(g.v[4], 5, 1e-9);
    cr_assert_eq(g.series, 2);
    mla_prom_series_fini(&g);
}

Test(prom, errors_and_wrong_shapes_leave_the_grid_alone)
{
    struct mla_prom_series g = grid(0, 60, 2);
    struct mla_err e;
    cr_assert_eq(parse("{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"parse "
                       "error at char 3\"}",
                       &g, &e),
                 MLA_EINVAL);
    cr_assert(strstr(e.msg, "bad_data: parse error at char 3"), "%s", e.msg);
    cr_assert_eq(parse("{\"status\":\"error\",\"errorType\":\"timeout\",\"error\":\"query "
                       "timed out in expression evaluation\"}",
                       &g, &e),
                 MLA_ETIMEOUT);
    cr_assert_eq(
        parse("{\"status\":\"error\",\"errorType\":\"execution\",\"error\":\"x\"}", &g, &e),
        MLA_EUNAVAIL);
    cr_assert_eq(parse("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\","
                       "\"result\":[]}}",
                       &g, &e),
                 MLA_EPARSE);
    cr_assert(strstr(e.msg, "resultType vector"), "%s", e.msg);
    cr_assert_eq(parse("{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":"
                       "[{\"values\":[[0,\"1\"],[60,\"x\"]]}]}}",
                       &g, &e),
                 MLA_EPARSE);
    cr_assert(isnan(g.v[0]), "grid changed by a failed parse");
    cr_assert_eq(parse("nope", &g, &e), MLA_EPARSE);
    mla_prom_series_fini(&g);
}

Test(prom, client_refuses_bad_arguments_without_a_request)
{
    struct mla_prom_opts o = {.base_url = "http://127.0.0.1:1"};
    struct mla_prom_series s = {.n = 42};
    struct mla_err e;
    cr_assert_eq(mla_prom_query_range(&o, "x", 100, 50, 60, &s, &e), MLA_EINVAL);
    cr_assert_eq(mla_prom_query_range(&o, "x", 0, 50, 0, &s, &e), MLA_EINVAL);
    struct mla_prom_opts none = {0};
    cr_assert_eq(mla_prom_query_range(&none, "x", 0, 50, 10, &s, &e), MLA_EINVAL);
    cr_assert(strstr(e.msg, "--prometheus-url"), "%s", e.msg);
    cr_assert_eq(s.n, 42);
}
