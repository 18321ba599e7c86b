/* tests/support/http_server.h - the webhook's HTTPS server as the HTTP unit tests start and stop
 * it (test_http.c, test_http_tls.c): on 127.0.0.1 at a free port, logs at warn, libcurl
 * initialised for the test's client; the stop also frees the test's policy store, resets the
 * metrics and removes the test's scratch directory. Uses Criterion's assertions: unit tests only.
 */
#ifndef MLA_TEST_HTTP_SERVER_H
#define MLA_TEST_HTTP_SERVER_H

#include <criterion/criterion.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>

#include "mla/http.h"
#include "mla/log.h"
#include "mla/metrics.h"
#include "mla/policy.h"

/* Starts the server with o (its addr is replaced by 127.0.0.1, port 0); returns it. */
static inline struct mla_http_server *sup_http_start(struct mla_http_opts o)
{
    /* static: the server borrows its options (http.h), and this outlives the call */
    static struct sockaddr_in a;
    a = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = 0,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    o.addr = (struct sockaddr *)&a;
    mla_log_set_level(MLA_LOG_WARN);
    struct mla_http_server *srv = NULL;
    struct mla_err e;
    cr_assert_eq(mla_http_start(&o, &srv, &e), MLA_OK, "%s", e.msg);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return srv;
}

/* Stops srv (all requests answered), frees store, resets the metrics, removes dir. */
static inline void sup_http_stop(struct mla_http_server *srv, struct mla_policy_store *store,
                                 const char *dir)
{
    cr_assert_eq(mla_http_stop(srv, 5.0), 0);
    mla_policy_store_fini(store);
    mla_metrics_reset();
    curl_global_cleanup();
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    (void)!system(cmd);
}

#endif
