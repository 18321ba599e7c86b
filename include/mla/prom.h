/* prom.h - a Prometheus HTTP API client for range queries (GET /api/v1/query_range).
 *
 * The answer is turned into one series on a regular grid: start, start+step, ... <= end.
 * Grid points with no sample, a stale sample, "NaN", "+Inf" or "-Inf" are gaps (NaN): the
 * forecaster treats gaps itself. When the query returns several series they are SUMMED point by
 * point (gaps ignored; a point is a gap only when every series has a gap there): the load of a
 * workload is the total over its pods, and a query without sum() should not fail the loop.
 * Ranges longer than Prometheus's 11,000-points-per-series limit are fetched in chunks.
 *
 * Errors: MLA_EUNAVAIL for connection failures and HTTP errors, MLA_ETIMEOUT when there is no
 * full answer within the timeout (or Prometheus says errorType "timeout"), MLA_EINVAL for a
 * query Prometheus rejects (bad_data; its errorType and error are in the message), MLA_EPARSE for a malformed answer, MLA_ETOOBIG for an answer over
 * 64 MiB. Messages name the Prometheus URL.
 *
 * Ownership: struct mla_prom_series owns its values (mla_prom_series_fini).
 * Threading: any thread; each call uses its own connection. libcurl's global init happens once
 * on first use (mla_curl_init, shared with the kube client); mla_prom_global_cleanup at exit
 * (valgrind).
 */
#ifndef MLA_PROM_H
#define MLA_PROM_H

#include <stddef.h>

#include "mla/err.h"

struct mla_prom_opts {
    const char *base_url; /* borrowed; "http://prometheus:9090" (a path prefix is kept) */
    long timeout_ms;      /* whole request, per chunk; <= 0 means 10000 */
    const char *bearer_token; /* borrowed; NULL for none */
};

struct mla_prom_series {
    double start; /* the first grid point (unix seconds) */
    double step;  /* seconds */
    size_t n;     /* grid points */
    double *v;    /* owned; n values, NaN for gaps */
    size_t series; /* how many series the answer held (0 when empty) */
};

/* Queries [start, end] by step (seconds; step > 0, end >= start) into *out (untouched on
 * failure). */
enum mla_code mla_prom_query_range(const struct mla_prom_opts *opts, const char *query,
                                   double start, double end, double step,
                                   struct mla_prom_series *out, struct mla_err *err)
    MLA_MUST_CHECK;

/* The pure part: adds one query_range JSON answer onto an existing grid (sum of series, NaN
 * gaps as above); series->v must be initialised to NaN. Exposed for tests. */
enum mla_code mla_prom_parse_matrix(const char *body, size_t len, struct mla_prom_series *grid,
                                    struct mla_err *err) MLA_MUST_CHECK;

void mla_prom_series_fini(struct mla_prom_series *s);
/* curl_global_cleanup; call once at exit when no query runs. */
void mla_prom_global_cleanup(void);

#endif
