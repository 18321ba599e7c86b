/* mla-bench-paced - an open-loop HTTPS client for bench_webhook.sh's "half the peak rate"
 * figure: POSTs at a fixed rate on kept-alive connections, each request's latency counted from
 * the time it was due.
 *
 * Usage: mla-bench-paced --port N --conns N --rate N --seconds S --body FILE [--path P]
 * Prints one line: "requests N rate R errors E late L p50 A p90 B p99 C p999 D max M" (rate in
 * requests/s over the run, latencies in ms; late: requests sent more than 1 ms after they were
 * due, i.e. this client or the server fell behind the rate).
 *
 * Why not wrk: wrk 4.1.0 has no fixed rate (wrk2 is not in Debian). Paced by its delay() hook in
 * whole milliseconds, its half-rate p99 measured its own start instead: it opens all its
 * connections at once, the server does their TLS handshakes one after another (40 ms for 27
 * connections here), the first requests wait behind them, and wrk's coordinated-omission
 * correction turns those 25-40 slow answers into 0.5-1 % of a run's samples, which is where p99
 * is. Holding the first requests back until all connections were up did not help: more of the
 * connections then moved in step, at two thirds of the rate and up to three times the p50,
 * another figure again (docs/benchmarks.md, issue 14, eighth round).
 * Here every connection finishes its handshake before the clock starts, and request j is due at
 * start + j / rate on connection j mod conns, so the connections take turns evenly over the
 * period. Its latency runs from when it was due to the end of its answer: a stall of the server
 * (or of this client) counts for every request that should have left meanwhile, as in wrk2. A
 * connection still waiting for an answer when its next request is due sends that request when
 * the answer is in. Answers must carry a Content-Length (MHD's and nginx's do).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "mla/file.h"
#include "mla/mem.h"

#define BP_ANSWER_MAX (64 * 1024)
#define BP_TIMER_TAG UINT32_MAX

struct bp_conn {
    int fd;
    SSL *ssl;
    long long k;      /* this connection's requests sent so far */
    bool busy;        /* a request is out, its answer not complete */
    long long due;    /* when the request out was due (ns, CLOCK_MONOTONIC) */
    size_t got;       /* bytes of the answer in buf */
    char buf[BP_ANSWER_MAX + 1];
};

struct bp_run {
    const char *req;
    size_t req_len;
    long long start, end, period; /* ns; period = 1 s / rate */
    long conns;
    long long *lat; /* ns, one per answer */
    size_t n, cap;
    long errors, late;
};

static long long bp_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static bool bp_long(const char *s, long lo, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo)
        return false;
    *out = v;
    return true;
}

static int bp_connect(struct bp_conn *c, SSL_CTX *ctx, const char *host, long port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
        fprintf(stderr, "mla-bench-paced: --host must be an IPv4 address, got %s\n", host);
        return -1;
    }
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    if (c->fd < 0 || setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) ||
        connect(c->fd, (struct sockaddr *)&a, sizeof a)) {
        fprintf(stderr, "mla-bench-paced: connect to %s:%ld: %s\n", host, port, strerror(errno));
        return -1;
    }
    c->ssl = SSL_new(ctx);
    if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1 || SSL_connect(c->ssl) != 1) {
        fprintf(stderr, "mla-bench-paced: TLS handshake with %s:%ld failed\n", host, port);
        return -1;
    }
    return fcntl(c->fd, F_SETFL, O_NONBLOCK);
}

/* The i-th connection's next request is the (k * conns + i)-th of the run. */
static long long bp_due(const struct bp_run *r, const struct bp_conn *c, long i)
{
    return r->start + (c->k * r->conns + i) * r->period;
}

static int bp_send(struct bp_run *r, struct bp_conn *c, long long due)
{
    for (;;) {
        int w = SSL_write(c->ssl, r->req, (int)r->req_len);
        if (w == (int)r->req_len)
            break;
        if (w <= 0 && SSL_get_error(c->ssl, w) == SSL_ERROR_WANT_WRITE) {
            struct pollfd p = {.fd = c->fd, .events = POLLOUT};
            if (poll(&p, 1, 1000) > 0)
                continue;
        }
        fprintf(stderr, "mla-bench-paced: sending a request failed\n");
        return -1;
    }
    if (bp_now() - due > 1000000)
        r->late++;
    c->busy = true;
    c->due = due;
    c->got = 0;
    c->k++;
    return 0;
}

/* Reads what the connection has; records the answer once it is whole. */
static int bp_read(struct bp_run *r, struct bp_conn *c)
{
    for (;;) {
        if (c->got == BP_ANSWER_MAX) {
            fprintf(stderr, "mla-bench-paced: an answer is over %d bytes\n", BP_ANSWER_MAX);
            return -1;
        }
        int n = SSL_read(c->ssl, c->buf + c->got, (int)(BP_ANSWER_MAX - c->got));
        if (n <= 0) {
            int e = SSL_get_error(c->ssl, n);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                break;
            fprintf(stderr, "mla-bench-paced: the server closed a connection or TLS failed\n");
            return -1;
        }
        c->got += (size_t)n;
    }
    c->buf[c->got] = '\0';
    const char *eoh = strstr(c->buf, "\r\n\r\n");
    if (!c->busy || !eoh)
        return c->busy || c->got == 0 ? 0 : -1; /* bytes nobody asked for: a broken server */
    size_t body = 0;
    for (const char *h = strchr(c->buf, '\n'); h && h < eoh; h = strchr(h + 1, '\n'))
        if (!strncasecmp(h + 1, "Content-Length:", 15))
            body = strtoul(h + 16, NULL, 10);
    size_t want = (size_t)(eoh - c->buf) + 4 + body;
    if (c->got < want)
        return 0;
    if (c->got > want) {
        fprintf(stderr, "mla-bench-paced: more bytes than one answer\n");
        return -1;
    }
    if (strncmp(c->buf, "HTTP/1.1 200 ", 13))
        r->errors++;
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 65536;
        r->lat = mla_xrealloc(r->lat, r->cap * sizeof *r->lat);
    }
    r->lat[r->n++] = bp_now() - c->due;
    c->busy = false;
    c->got = 0;
    return 0;
}

static int bp_cmp(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

static double bp_pct(const struct bp_run *r, double p)
{
    size_t i = (size_t)((double)r->n * p / 100.0);
    return (double)r->lat[i < r->n ? i : r->n - 1] / 1e6;
}

static int bp_loop(struct bp_run *r, struct bp_conn *cs)
{
    int ep = epoll_create1(0);
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    if (ep < 0 || tfd < 0)
        return -1;
    struct epoll_event te = {.events = EPOLLIN, .data.u32 = BP_TIMER_TAG};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &te))
        return -1;
    for (long i = 0; i < r->conns; i++) {
        struct epoll_event e = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &e))
            return -1;
    }
    for (;;) {
        long long now = bp_now(), next = r->end;
        if (now >= r->end)
            break;
        for (long i = 0; i < r->conns; i++) {
            if (cs[i].busy)
                continue;
            long long due = bp_due(r, &cs[i], i);
            if (due <= now) {
                if (bp_send(r, &cs[i], due))
                    return -1;
            } else if (due < next) {
                next = due;
            }
        }
        struct itimerspec its = {.it_value = {.tv_sec = (time_t)(next / 1000000000LL),
                                              .tv_nsec = (long)(next % 1000000000LL)}};
        timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
        struct epoll_event ev[64];
        int k = epoll_wait(ep, ev, 64, -1);
        if (k < 0 && errno != EINTR)
            return -1;
        for (int j = 0; j < k; j++) {
            if (ev[j].data.u32 == BP_TIMER_TAG) {
                uint64_t x;
                if (read(tfd, &x, sizeof x) < 0 && errno != EAGAIN)
                    return -1;
            } else if (bp_read(r, &cs[ev[j].data.u32])) {
                return -1;
            }
        }
    }
    close(tfd);
    close(ep);
    return 0;
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1", *path = "/mutate", *body_file = NULL;
    long port = 0, conns = 0, rate = 0, secs = 0;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok = v != NULL;
        if (ok && !strcmp(argv[i], "--port"))
            ok = bp_long(v, 1, &port) && port < 65536;
        else if (ok && !strcmp(argv[i], "--conns"))
            ok = bp_long(v, 1, &conns) && conns <= 10000;
        else if (ok && !strcmp(argv[i], "--rate"))
            ok = bp_long(v, 1, &rate) && rate <= 10000000;
        else if (ok && !strcmp(argv[i], "--seconds"))
            ok = bp_long(v, 1, &secs) && secs <= 3600;
        else if (ok && !strcmp(argv[i], "--body"))
            body_file = v;
        else if (ok && !strcmp(argv[i], "--path"))
            path = v;
        else if (ok && !strcmp(argv[i], "--host"))
            host = v;
        else
            ok = false;
        if (!ok) {
            fprintf(stderr, "Usage: mla-bench-paced --port N --conns N --rate N --seconds S "
                            "--body FILE [--path P] [--host IPv4]\n");
            return 2;
        }
        i++;
    }
    if (!port || !conns || !rate || !secs || !body_file) {
        fprintf(stderr, "mla-bench-paced: --port, --conns, --rate, --seconds and --body are "
                        "needed\n");
        return 2;
    }
    char *body = NULL;
    size_t blen = 0;
    struct mla_err err;
    if (mla_file_read(body_file, 16u << 20, &body, &blen, &err) != MLA_OK) {
        fprintf(stderr, "mla-bench-paced: %s: %s\n", body_file, err.msg);
        return 1;
    }
    char head[512];
    int hl = snprintf(head, sizeof head, "POST %s HTTP/1.1\r\nHost: %s:%ld\r\nContent-Type: "
                      "application/json\r\nContent-Length: %zu\r\n\r\n", path, host, port, blen);
    if (hl < 0 || (size_t)hl >= sizeof head) {
        fprintf(stderr, "mla-bench-paced: --path is too long\n");
        return 2;
    }
    struct bp_run r = {.conns = conns, .period = 1000000000LL / rate};
    r.req_len = (size_t)hl + blen;
    char *req = mla_xmalloc(r.req_len);
    memcpy(req, head, (size_t)hl);
    memcpy(req + hl, body, blen);
    r.req = req;
    free(body);

    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx)
        return 1;
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL); /* a throw-away certificate on loopback */
    struct bp_conn *cs = mla_xcalloc((size_t)conns, sizeof *cs);
    int rc = 0;
    for (long i = 0; i < conns && !rc; i++)
        rc = bp_connect(&cs[i], ctx, host, port);
    if (!rc) {
        r.start = bp_now();
        r.end = r.start + secs * 1000000000LL;
        rc = bp_loop(&r, cs);
    }
    if (!rc && r.n == 0) {
        fprintf(stderr, "mla-bench-paced: no answer in %ld s\n", secs);
        rc = -1;
    }
    if (!rc) {
        qsort(r.lat, r.n, sizeof *r.lat, bp_cmp);
        printf("requests %zu rate %.0f errors %ld late %ld p50 %.3f p90 %.3f p99 %.3f p999 %.3f "
               "max %.3f\n", r.n, (double)r.n / (double)secs, r.errors, r.late, bp_pct(&r, 50),
               bp_pct(&r, 90), bp_pct(&r, 99), bp_pct(&r, 99.9),
               (double)r.lat[r.n - 1] / 1e6);
    }
    for (long i = 0; i < conns; i++) {
        if (cs[i].ssl)
            SSL_free(cs[i].ssl);
        if (cs[i].fd > 0)
            close(cs[i].fd);
    }
    SSL_CTX_free(ctx);
    free(cs);
    free(req);
    free(r.lat);
    return rc ? 1 : 0;
}
