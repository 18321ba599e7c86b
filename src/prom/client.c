/* prom/client.c - Prometheus query_range client (libcurl) and the matrix-to-grid parser.
 * The only file of the predictive loop that includes curl.h. */
#include "mla/prom.h"

#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "mla/buf.h"
#include "mla/curl_init.h"
#include "mla/mem.h"

#define PROM_MAX_BODY (64u << 20)
#define PROM_CHUNK_POINTS 10000 /* Prometheus refuses more than 11,000 points per series */

void mla_prom_global_cleanup(void)
{
    mla_curl_cleanup();
}

void mla_prom_series_fini(struct mla_prom_series *s)
{
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

/* A sample value: Prometheus sends strings ("42", "NaN", "+Inf"). Non-finite -> gap. */
static bool sample_value(const cJSON *v, double *out)
{
    const char *s = cJSON_GetStringValue(v);
    if (!s) {
        if (!cJSON_IsNumber(v))
            return false;
        *out = v->valuedouble;
        return true;
    }
    char *end;
    double x = strtod(s, &end);
    if (end == s || *end)
        return false;
    *out = x;
    return true;
}

enum mla_code mla_prom_parse_matrix(const char *body, size_t len, struct mla_prom_series *grid,
                                    struct mla_err *err)
{
    cJSON *root = cJSON_ParseWithLength(body, len);
    if (!root)
        return mla_err_set(err, MLA_EPARSE, "answer is not JSON: %.80s", body);
    enum mla_code rc = MLA_OK;
    const char *status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "status"));
    if (!status) {
        rc = mla_err_set(err, MLA_EPARSE, "answer has no \"status\"");
        goto out;
    }
    if (strcmp(status, "success") != 0) {
        const char *type =
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "errorType"));
        const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "error"));
        enum mla_code code = !type                           ? MLA_EUNAVAIL
                             : strcmp(type, "bad_data") == 0 ? MLA_EINVAL
                             : strcmp(type, "timeout") == 0  ? MLA_ETIMEOUT
                                                             : MLA_EUNAVAIL;
        rc = mla_err_set(err, code, "status %s, %s: %s", status, type ? type : "no errorType",
                         msg ? msg : "no error message");
        goto out;
    }
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
    const char *rtype = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(data, "resultType"));
    const cJSON *result = cJSON_GetObjectItemCaseSensitive(data, "result");
    if (!rtype || strcmp(rtype, "matrix") != 0 || !cJSON_IsArray(result)) {
        rc = mla_err_set(err, MLA_EPARSE, "answer is not a matrix (resultType %s)",
                         rtype ? rtype : "missing");
        goto out;
    }
    /* validate everything first: on failure the grid stays as it was */
    const cJSON *series;
    cJSON_ArrayForEach(series, result)
    {
        const cJSON *values = cJSON_GetObjectItemCaseSensitive(series, "values");
        if (!cJSON_IsArray(values)) {
            rc = mla_err_set(err, MLA_EPARSE, "a series has no \"values\" array");
            goto out;
        }
        const cJSON *pt;
        cJSON_ArrayForEach(pt, values)
        {
            double x;
            if (!cJSON_IsArray(pt) || cJSON_GetArraySize(pt) != 2 ||
                !cJSON_IsNumber(cJSON_GetArrayItem(pt, 0)) ||
                !sample_value(cJSON_GetArrayItem(pt, 1), &x)) {
                rc = mla_err_set(err, MLA_EPARSE, "a sample is not [timestamp, \"value\"]");
                goto out;
            }
        }
    }
    cJSON_ArrayForEach(series, result)
    {
        grid->series++;
        const cJSON *pt;
        cJSON_ArrayForEach(pt, cJSON_GetObjectItemCaseSensitive(series, "values"))
        {
            double ts = cJSON_GetArrayItem(pt, 0)->valuedouble, x = NAN;
            (void)sample_value(cJSON_GetArrayItem(pt, 1), &x);
            double k = round((ts - grid->start) / grid->step);
            if (!isfinite(x) || k < 0 || k >= (double)grid->n)
                continue;
            size_t i = (size_t)k;
            grid->v[i] = isnan(grid->v[i]) ? x : grid->v[i] + x;
        }
    }
out:
    cJSON_Delete(root);
    return rc;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    struct mla_buf *b = ud;
    size_t n = size * nmemb;
    return mla_buf_add(b, p, n) == MLA_OK ? n : 0; /* 0 aborts the transfer (over the cap) */
}

/* One HTTP GET of a chunk; adds its series onto grid. */
static enum mla_code fetch_chunk(const struct mla_prom_opts *o, CURL *h, const char *query,
                                 double s, double e, struct mla_prom_series *grid,
                                 struct mla_err *err)
{
    char *q = curl_easy_escape(h, query, 0);
    if (!q)
        return mla_err_set(err, MLA_EINVAL, "query cannot be URL-encoded");
    const char *base = o->base_url;
    size_t bl = strlen(base);
    char *url = mla_xasprintf("%.*s/api/v1/query_range?query=%s&start=%.3f&end=%.3f&step=%g",
                              (int)(bl > 0 && base[bl - 1] == '/' ? bl - 1 : bl), base, q, s, e,
                              grid->step);
    curl_free(q);
    struct mla_buf body;
    mla_buf_init(&body, PROM_MAX_BODY);
    char curl_msg[CURL_ERROR_SIZE] = "";
    long timeout = o->timeout_ms > 0 ? o->timeout_ms : 10000;
    struct curl_slist *hdrs = NULL;
    char *auth = NULL;
    if (o->bearer_token) {
        auth = mla_xasprintf("Authorization: Bearer %s", o->bearer_token);
        hdrs = curl_slist_append(hdrs, auth);
    }
    hdrs = curl_slist_append(hdrs, "Accept: application/json");
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for DNS timeouts */
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_msg);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, ""); /* gzip answers are much smaller */
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    CURLcode cc = curl_easy_perform(h);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    enum mla_code rc = MLA_OK;
    if (cc == CURLE_OPERATION_TIMEDOUT) {
        rc = mla_err_set(err, MLA_ETIMEOUT, "no answer within %ld ms", timeout);
    } else if (cc == CURLE_WRITE_ERROR && body.len + CURL_MAX_WRITE_SIZE > PROM_MAX_BODY) {
        rc = mla_err_set(err, MLA_ETOOBIG, "answer larger than %u MiB", PROM_MAX_BODY >> 20);
    } else if (cc != CURLE_OK) {
        rc = mla_err_set(err, MLA_EUNAVAIL, "%s (%s)", curl_easy_strerror(cc),
                         curl_msg[0] ? curl_msg : "no detail");
    } else if (code / 100 != 2) {
        /* Prometheus explains 400/422/503 in the usual error JSON; show that when present */
        struct mla_err perr;
        mla_err_clear(&perr);
        cJSON *j = cJSON_ParseWithLength(body.data ? body.data : "", body.len);
        bool has_status = j && cJSON_GetObjectItemCaseSensitive(j, "status");
        cJSON_Delete(j);
        if (has_status && mla_prom_parse_matrix(body.data, body.len, grid, &perr) != MLA_OK)
            rc = mla_err_set(err, perr.code, "HTTP %ld, %s", code, perr.msg);
        else {
            char snip[201];
            snprintf(snip, sizeof snip, "%s", mla_buf_str(&body));
            for (char *c = snip; *c; c++)
                if (*c == '\n' || *c == '\r')
                    *c = ' ';
            rc = mla_err_set(err, MLA_EUNAVAIL, "HTTP %ld: %s", code, snip);
        }
    } else {
        rc = mla_prom_parse_matrix(mla_buf_str(&body), body.len, grid, err);
    }
    curl_slist_free_all(hdrs);
    free(auth);
    free(url);
    mla_buf_fini(&body);
    return rc;
}

enum mla_code mla_prom_query_range(const struct mla_prom_opts *opts, const char *query,
                                   double start, double end, double step,
                                   struct mla_prom_series *out, struct mla_err *err)
{
    if (!opts || !opts->base_url || !*opts->base_url)
        return mla_err_set(err, MLA_EINVAL, "no Prometheus URL configured (--prometheus-url)");
    if (!query || !*query)
        return mla_err_set(err, MLA_EINVAL, "empty PromQL query");
    if (!(step > 0) || !(end >= start) || !isfinite(start) || !isfinite(end))
        return mla_err_set(err, MLA_EINVAL,
                           "bad range: start %.0f end %.0f step %g (need end >= start, step > 0)",
                           start, end, step);
    double npts = floor((end - start) / step + 1e-9) + 1;
    if (npts > 1e7)
        return mla_err_set(err, MLA_ETOOBIG, "range of %.0f points is too long", npts);
    enum mla_code irc = mla_curl_init(err);
    if (irc != MLA_OK)
        return irc;
    struct mla_prom_series g = {.start = start, .step = step, .n = (size_t)npts};
    g.v = mla_xmalloc(g.n * sizeof *g.v);
    for (size_t i = 0; i < g.n; i++)
        g.v[i] = NAN;
    CURL *h = curl_easy_init();
    if (!h) {
        free(g.v);
        return mla_err_set(err, MLA_EUNAVAIL, "curl_easy_init failed");
    }
    enum mla_code rc = MLA_OK;
    size_t series_max = 0;
    for (size_t i0 = 0; i0 < g.n && rc == MLA_OK; i0 += PROM_CHUNK_POINTS) {
        size_t i1 = i0 + PROM_CHUNK_POINTS - 1 < g.n - 1 ? i0 + PROM_CHUNK_POINTS - 1 : g.n - 1;
        g.series = 0;
        rc = fetch_chunk(opts, h, query, start + (double)i0 * step, start + (double)i1 * step, &g,
                         err);
        if (g.series > series_max)
            series_max = g.series;
    }
    curl_easy_cleanup(h);
    if (rc) {
        free(g.v);
        return mla_err_prefix(err, rc, "prometheus %s", opts->base_url);
    }
    g.series = series_max;
    *out = g;
    return MLA_OK;
}
