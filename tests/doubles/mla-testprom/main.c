/* mla-testprom - a test Prometheus that answers GET /api/v1/query_range from a trace CSV.
 *
 * For integration tests of the Prometheus client and the predictive loop; never for production.
 * The trace (header line, then `timestamp,value` rows, e.g. tests/fixtures/traces/nasa-...csv) is
 * served for any query. A time offset maps "now" onto a chosen point of the trace:
 * --trace-at TS [--now REAL] makes the real instant REAL (default: the start time) show the
 * trace at TS. The value at a grid point is the last trace sample at or before it, if not older
 * than 5 minutes (Prometheus's staleness): days missing from the trace become gaps.
 *
 * Faults, by flag or at run time with GET /-/fault?mode=M[&delay_ms=N][&nan_from=T&nan_to=T]:
 *   none      normal answers            500    HTTP 500 with a plain-text body
 *   error     HTTP 422 + {"status":"error","errorType":"execution","error":"injected failure"}
 *   delay     answers after delay_ms    nan    "NaN" for real times in [nan_from, nan_to]
 *   badjson   HTTP 200 with a body that is not JSON
 * --series N splits every value into N equal series (to exercise summing). More than 11,000
 * points per series is refused with bad_data, as Prometheus does. GET /-/stats gives
 * {"queries":N,"samples":N,"bytes":N} (grid points and body bytes answered); --query-log FILE
 * appends one line per query_range: "start end step points query".
 *
 * Usage: mla-testprom --trace FILE [--port N] [--port-file FILE] [--trace-at TS] [--now TS]
 *                     [--series N] [--fault MODE] [--delay-ms N] [--nan-from T --nan-to T]
 *                     [--query-log FILE]
 * Listens on 127.0.0.1 only (port 0 = any free port, written to --port-file); stops cleanly on
 * SIGTERM/SIGINT (leak-free under valgrind).
 *
 * DESIGN: MHD runs one thread per connection (so a delayed answer does not block others); the
 * trace is immutable after load; the fault settings are guarded by fault_mu; the stop flag is
 * atomic and ends injected delays early.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mla/buf.h"
#include "mla/mem.h"

#define MAX_POINTS 11000
#define STALE_S 300

struct trace {
    long long *ts; /* immutable after load */
    double *v;
    size_t n;
};

enum fault { F_NONE, F_500, F_ERROR, F_DELAY, F_NAN, F_BADJSON };
static const char *const fault_names[] = {"none", "500", "error", "delay", "nan", "badjson"};

static struct trace tr;
static double offset_s; /* real time - trace time; immutable after start */
static int nseries = 1; /* immutable after start */
static pthread_mutex_t fault_mu = PTHREAD_MUTEX_INITIALIZER;
static enum fault fault_mode;           /* guarded by fault_mu */
static long fault_delay_ms = 2000;      /* guarded by fault_mu */
static double nan_from = 1, nan_to = 0; /* guarded by fault_mu */
static atomic_long queries;
static atomic_long samples_served, bytes_served;
static FILE *query_log; /* immutable after start; stdio locks each fprintf */
static atomic_bool stopping;

static bool parse_fault(const char *s, enum fault *out)
{
    for (size_t i = 0; i < sizeof fault_names / sizeof fault_names[0]; i++)
        if (strcmp(s, fault_names[i]) == 0) {
            *out = (enum fault)i;
            return true;
        }
    return false;
}

static bool parse_num(const char *s, double *out)
{
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (errno || *end || !isfinite(x))
        return false;
    *out = x;
    return true;
}

static int load_trace(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "mla-testprom: cannot open trace %s: %s\n", path, strerror(errno));
        return -1;
    }
    char line[256];
    size_t cap = 0, lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (lineno == 1)
            continue; /* header */
        char *end;
        long long ts = strtoll(line, &end, 10);
        if (end == line || *end != ',') {
            fprintf(stderr, "mla-testprom: %s:%zu: expected timestamp,value\n", path, lineno);
            fclose(f);
            return -1;
        }
        char *vend;
        double v = strtod(end + 1, &vend);
        if (vend == end + 1 || (tr.n > 0 && ts <= tr.ts[tr.n - 1])) {
            fprintf(stderr, "mla-testprom: %s:%zu: bad value or timestamps not ascending\n", path,
                    lineno);
            fclose(f);
            return -1;
        }
        if (tr.n == cap) {
            cap = cap ? cap * 2 : 4096;
            tr.ts = mla_xrealloc(tr.ts, cap * sizeof *tr.ts);
            tr.v = mla_xrealloc(tr.v, cap * sizeof *tr.v);
        }
        tr.ts[tr.n] = ts;
        tr.v[tr.n++] = v;
    }
    fclose(f);
    if (tr.n == 0) {
        fprintf(stderr, "mla-testprom: %s: no samples\n", path);
        return -1;
    }
    return 0;
}

/* The trace value Prometheus would return at real time t; false for no sample (gap). */
static bool value_at(double t, double *out)
{
    double tt = t - offset_s;
    size_t lo = 0, hi = tr.n;
    if (tt < (double)tr.ts[0])
        return false;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if ((double)tr.ts[mid] <= tt)
            lo = mid;
        else
            hi = mid;
    }
    if (tt - (double)tr.ts[lo] >= STALE_S)
        return false;
    *out = tr.v[lo];
    return true;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code, const char *type,
                             struct mla_buf *b)
{
    size_t len = b->len;
    char *data = mla_buf_take(b);
    struct MHD_Response *r = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", type);
    enum MHD_Result ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result reply_str(struct MHD_Connection *c, unsigned code, const char *type,
                                 const char *s)
{
    struct mla_buf b;
    mla_buf_init(&b, 0);
    if (mla_buf_adds(&b, s) != MLA_OK)
        return MHD_NO;
    return reply(c, code, type, &b);
}

static enum MHD_Result bad_data(struct MHD_Connection *c, const char *msg)
{
    struct mla_buf b;
    mla_buf_init(&b, 0);
    if (mla_buf_adds(&b, "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":") ||
        mla_buf_add_json_str(&b, msg) || mla_buf_adds(&b, "}"))
        return MHD_NO;
    return reply(c, 400, "application/json", &b);
}

static enum MHD_Result handle_fault(struct MHD_Connection *c)
{
    const char *mode = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "mode");
    const char *delay = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "delay_ms");
    const char *from = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "nan_from");
    const char *to = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "nan_to");
    enum fault f;
    double d = 0, a = 0, z = 0;
    if (!mode || !parse_fault(mode, &f) || (delay && !parse_num(delay, &d)) ||
        (from && !parse_num(from, &a)) || (to && !parse_num(to, &z)))
        return reply_str(c, 400, "text/plain",
                         "usage: /-/fault?mode=none|500|error|delay|nan|badjson"
                         "[&delay_ms=N][&nan_from=T&nan_to=T]\n");
    pthread_mutex_lock(&fault_mu);
    fault_mode = f;
    if (delay)
        fault_delay_ms = (long)d;
    if (from)
        nan_from = a;
    if (to)
        nan_to = z;
    pthread_mutex_unlock(&fault_mu);
    return reply_str(c, 200, "text/plain", "ok\n");
}

static enum MHD_Result handle_query(struct MHD_Connection *c)
{
    atomic_fetch_add(&queries, 1);
    pthread_mutex_lock(&fault_mu);
    enum fault f = fault_mode;
    long delay = fault_delay_ms;
    double nf = nan_from, nt = nan_to;
    pthread_mutex_unlock(&fault_mu);

    if (f == F_DELAY)
        for (long slept = 0; slept < delay && !atomic_load(&stopping); slept += 20)
            usleep(20 * 1000);
    if (f == F_500)
        return reply_str(c, 500, "text/plain", "internal server error (injected)\n");
    if (f == F_ERROR)
        return reply_str(c, 422, "application/json",
                         "{\"status\":\"error\",\"errorType\":\"execution\","
                         "\"error\":\"injected failure\"}");
    if (f == F_BADJSON)
        return reply_str(c, 200, "application/json", "<html>not json</html>");

    const char *q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "query");
    double start, end, step;
    if (!q || !*q)
        return bad_data(c, "1:1: parse error: no expression found in input");
    if (!parse_num(MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "start"), &start))
        return bad_data(c, "invalid parameter \"start\": cannot parse to a valid timestamp");
    if (!parse_num(MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "end"), &end))
        return bad_data(c, "invalid parameter \"end\": cannot parse to a valid timestamp");
    if (!parse_num(MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "step"), &step) ||
        step <= 0)
        return bad_data(c, "invalid parameter \"step\": zero or negative query resolution step "
                           "widths are not accepted. Try a positive integer");
    if (end < start)
        return bad_data(c, "end timestamp must not be before start time");
    if ((end - start) / step > MAX_POINTS)
        return bad_data(c, "exceeded maximum resolution of 11,000 points per timeseries. Try "
                           "decreasing the query resolution (?step=XX)");

    struct mla_buf b;
    mla_buf_init(&b, 0);
    enum mla_code rc = mla_buf_adds(&b, "{\"status\":\"success\",\"data\":{\"resultType\":"
                                        "\"matrix\",\"result\":[");
    for (int s = 0; s < nseries && rc == MLA_OK; s++) {
        rc = mla_buf_addf(&b,
                          "%s{\"metric\":{\"__name__\":\"trace\",\"instance\":\"%d\"},"
                          "\"values\":[",
                          s ? "," : "", s);
        bool first = true;
        for (double t = start; t <= end + 1e-9 && rc == MLA_OK; t += step) {
            double v;
            bool nan = f == F_NAN && t >= nf && t <= nt;
            if (!nan && !value_at(t, &v))
                continue;
            if (nan)
                rc = mla_buf_addf(&b, "%s[%.3f,\"NaN\"]", first ? "" : ",", t);
            else
                rc = mla_buf_addf(&b, "%s[%.3f,\"%.17g\"]", first ? "" : ",", t, v / nseries);
            first = false;
        }
        if (rc == MLA_OK)
            rc = mla_buf_adds(&b, "]}");
    }
    if (rc == MLA_OK)
        rc = mla_buf_adds(&b, "]}}");
    if (rc != MLA_OK) {
        mla_buf_fini(&b);
        return MHD_NO;
    }
    long points = (long)(floor((end - start) / step + 1e-9) + 1) * nseries;
    atomic_fetch_add(&samples_served, points);
    atomic_fetch_add(&bytes_served, (long)b.len);
    if (query_log)
        fprintf(query_log, "%.3f %.3f %g %ld %s\n", start, end, step, points, q);
    return reply(c, 200, "application/json", &b);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **req)
{
    (void)cls;
    (void)version;
    (void)upload;
    if (!*req) { /* first call: headers only */
        *req = (void *)1;
        return MHD_YES;
    }
    if (*upload_size) {
        *upload_size = 0; /* ignore bodies */
        return MHD_YES;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
        return reply_str(c, 405, "text/plain", "method not allowed\n");
    if (strcmp(url, "/api/v1/query_range") == 0)
        return handle_query(c);
    if (strcmp(url, "/-/fault") == 0)
        return handle_fault(c);
    if (strcmp(url, "/-/stats") == 0) {
        struct mla_buf b;
        mla_buf_init(&b, 0);
        if (mla_buf_addf(&b, "{\"queries\":%ld,\"samples\":%ld,\"bytes\":%ld}\n",
                         atomic_load(&queries), atomic_load(&samples_served),
                         atomic_load(&bytes_served)))
            return MHD_NO;
        return reply(c, 200, "application/json", &b);
    }
    if (strcmp(url, "/-/healthy") == 0)
        return reply_str(c, 200, "text/plain", "ok\n");
    return reply_str(c, 404, "text/plain", "not found\n");
}

static int usage(void)
{
    fprintf(stderr, "usage: mla-testprom --trace FILE [--port N] [--port-file FILE] "
                    "[--trace-at TS] [--now TS] [--series N] [--fault MODE] [--delay-ms N] "
                    "[--nan-from T --nan-to T] [--query-log FILE]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *trace_path = NULL, *port_file = NULL;
    double port = 0, trace_at = NAN, now = (double)time(NULL), series = 1, d;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            return usage();
        i++;
        if (strcmp(a, "--trace") == 0)
            trace_path = v;
        else if (strcmp(a, "--port-file") == 0)
            port_file = v;
        else if (strcmp(a, "--port") == 0 && parse_num(v, &port) && port >= 0 && port < 65536)
            ;
        else if (strcmp(a, "--trace-at") == 0 && parse_num(v, &trace_at))
            ;
        else if (strcmp(a, "--now") == 0 && parse_num(v, &now))
            ;
        else if (strcmp(a, "--series") == 0 && parse_num(v, &series) && series >= 1 &&
                 series <= 100)
            ;
        else if (strcmp(a, "--fault") == 0 && parse_fault(v, &fault_mode))
            ;
        else if (strcmp(a, "--delay-ms") == 0 && parse_num(v, &d) && d >= 0)
            fault_delay_ms = (long)d;
        else if (strcmp(a, "--nan-from") == 0 && parse_num(v, &nan_from))
            ;
        else if (strcmp(a, "--nan-to") == 0 && parse_num(v, &nan_to))
            ;
        else if (strcmp(a, "--query-log") == 0 && !query_log) {
            query_log = fopen(v, "a");
            if (!query_log) {
                fprintf(stderr, "mla-testprom: cannot open %s\n", v);
                return 1;
            }
            setvbuf(query_log, NULL, _IOLBF, 0); /* tests read it while we run */
        } else {
            if (query_log)
                fclose(query_log);
            return usage();
        }
    }
    if (!trace_path) {
        if (query_log)
            fclose(query_log);
        return usage();
    }
    if (load_trace(trace_path) != 0) {
        if (query_log)
            fclose(query_log);
        free(tr.ts);
        free(tr.v);
        return 1;
    }
    offset_s = isnan(trace_at) ? 0 : now - trace_at;
    nseries = (int)series;

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* MHD's threads inherit the mask */

    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *dmn = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG, 0,
        NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_END);
    if (!dmn) {
        fprintf(stderr, "mla-testprom: cannot listen on 127.0.0.1:%.0f\n", port);
        free(tr.ts);
        free(tr.v);
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(dmn, MHD_DAEMON_INFO_BIND_PORT);
    unsigned bound = info ? info->port : 0;
    if (port_file) {
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
        FILE *pf = fopen(tmp, "w");
        if (!pf || fprintf(pf, "%u\n", bound) < 0 || fclose(pf) != 0 || rename(tmp, port_file)) {
            fprintf(stderr, "mla-testprom: cannot write %s\n", port_file);
            MHD_stop_daemon(dmn);
            free(tr.ts);
            free(tr.v);
            return 1;
        }
    }
    fprintf(stderr, "mla-testprom: listening on 127.0.0.1:%u, %zu samples, offset %.0f s\n", bound,
            tr.n, offset_s);
    int sig = 0;
    sigwait(&set, &sig);
    atomic_store(&stopping, true);
    MHD_stop_daemon(dmn);
    free(tr.ts);
    free(tr.v);
    if (query_log)
        fclose(query_log);
    fprintf(stderr, "mla-testprom: stopped (signal %d), %ld queries\n", sig, atomic_load(&queries));
    return 0;
}
