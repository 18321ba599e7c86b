/* test_http_tls.c - certificate reload of the HTTP server: a rotation caught half-way (the key
 * of the next certificate next to the current certificate) is refused and the old pair keeps
 * serving; a complete new pair is served to new connections. A real server on 127.0.0.1. */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mla/http.h"
#include "mla/log.h"
#include "mla/metrics.h"
#include "mla/policy.h"
#include "../support/http_server.h"

static char dir[] = "/tmp/mla-test-http-tls.XXXXXX";
static char cert[600], key[600];
static struct mla_policy_store store;
static struct mla_http_server *srv;

static void sh(const char *fmt, const char *a, const char *b)
{
    char cmd[1400];
    snprintf(cmd, sizeof cmd, fmt, a, b);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
}

static void setup(void)
{
    cr_assert_not_null(mkdtemp(dir));
    /* Two certificate sets: old/ (served first) and new/ (the rotation). */
    sh("bash ../certs/gen-dev-certs.sh %s/old >/dev/null && bash ../certs/gen-dev-certs.sh %s/new >/dev/null",
       dir, dir);
    snprintf(cert, sizeof cert, "%s/tls.crt", dir);
    snprintf(key, sizeof key, "%s/tls.key", dir);
    sh("cp %s/old/tls.crt %s", dir, cert);
    sh("cp %s/old/tls.key %s", dir, key);
    struct mla_err pe;
    cr_assert_eq(mla_policy_store_init(&store, "../policies", &pe), MLA_OK, "%s", pe.msg);
    srv = sup_http_start((struct mla_http_opts){
        .cert_file = cert, .key_file = key, .threads = 1, .max_body = 1 << 20,
        .connection_timeout = 5, .max_connections = 16, .policies = &store, .mode = "full"});
}

static void teardown(void)
{
    sup_http_stop(srv, &store, dir);
}

/* GET /healthz on a new connection trusting the CA of set `which`: the curl result. */
static CURLcode healthz(const char *which)
{
    char url[64], ca[700];
    snprintf(url, sizeof url, "https://127.0.0.1:%u/healthz", (unsigned)mla_http_port(srv));
    snprintf(ca, sizeof ca, "%s/%s/ca.crt", dir, which);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CAINFO, ca);
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    return rc;
}

Test(http_tls, half_rotated_pair_is_refused_and_old_pair_kept, .init = setup, .fini = teardown)
{
    cr_assert_eq(healthz("old"), CURLE_OK);
    /* The rotation wrote the new key but not yet the new certificate. */
    sh("cp %s/new/tls.key %s", dir, key);
    struct mla_err e;
    mla_err_clear(&e);
    cr_assert_eq(mla_http_reload_tls(srv, &e), MLA_ETLS, "a mismatched pair was published");
    cr_assert(strstr(e.msg, "does not match certificate"), "%s", e.msg);
    cr_assert_eq(healthz("old"), CURLE_OK, "the old pair must keep serving new connections");
    /* The certificate arrives: the complete new pair is served. */
    sh("cp %s/new/tls.crt %s", dir, cert);
    cr_assert_eq(mla_http_reload_tls(srv, &e), MLA_OK, "%s", e.msg);
    cr_assert_eq(healthz("new"), CURLE_OK);
    cr_assert_neq(healthz("old"), CURLE_OK, "the old certificate is still served");
}
