/* test_kube.c - the pure parts of the Kubernetes client (kube/): kubeconfig parsing, YAML,
 * label selectors, backoff and Retry-After, times, status messages. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "mla/kube.h"

/* ---- kubeconfig */

Test(kubeconfig, current_context_token_and_ca_data)
{
    struct mla_kube_config c;
    struct mla_err e;
    mla_err_clear(&e);
    cr_assert_eq(mla_kube_config_load_kubeconfig("fixtures/kube/kubeconfig/basic.yaml", NULL, &c,
                                                 &e),
                 MLA_OK, "%s", e.msg);
    cr_assert_str_eq(c.server, "https://127.0.0.1:6443"); /* trailing slash dropped */
    cr_assert_str_eq(c.token, "s3cr3t");
    cr_assert_null(c.token_file);
    cr_assert_not_null(c.ca_data);
    cr_assert(strstr(c.ca_data, "-----BEGIN CERTIFICATE-----\nabc\n") == c.ca_data);
    cr_assert_null(c.ca_file);
    mla_kube_config_fini(&c);
}

Test(kubeconfig, named_context_relative_paths_and_client_certs)
{
    struct mla_kube_config c;
    struct mla_err e;
    mla_err_clear(&e);
    cr_assert_eq(mla_kube_config_load_kubeconfig("fixtures/kube/kubeconfig/basic.yaml", "ci", &c,
                                                 &e),
                 MLA_OK, "%s", e.msg);
    cr_assert_str_eq(c.server, "https://other:6443");
    cr_assert_str_eq(c.token_file, "fixtures/kube/kubeconfig/tokens/ci");
    cr_assert_str_eq(c.client_cert_file, "fixtures/kube/kubeconfig/certs/ci.crt");
    cr_assert_str_eq(c.client_key_file, "fixtures/kube/kubeconfig/certs/ci.key");
    cr_assert_null(c.token);
    mla_kube_config_fini(&c);
}

Test(kubeconfig, errors_name_what_is_wrong)
{
    struct mla_kube_config c;
    struct mla_err e;
    mla_err_clear(&e);
    cr_assert_eq(mla_kube_config_load_kubeconfig("fixtures/kube/kubeconfig/basic.yaml", "nope",
                                                 &c, &e),
                 MLA_EINVAL);
    cr_assert(strstr(e.msg, "context \"nope\" not found"), "%s", e.msg);
    cr_assert(strstr(e.msg, "basic.yaml"), "%s", e.msg);
    mla_err_clear(&e);
    cr_assert_eq(mla_kube_config_load_kubeconfig("fixtures/kube/kubeconfig/exec.yaml", NULL, &c,
                                                 &e),
                 MLA_EINVAL);
    cr_assert(strstr(e.msg, "exec credential plugin"), "%s", e.msg);
    mla_err_clear(&e);
    cr_assert_eq(mla_kube_config_load_kubeconfig("fixtures/kube/kubeconfig/missing.yaml", NULL,
                                                 &c, &e),
                 MLA_EIO);
    const char *bad = "current-context: x\ncontexts: [\n";
    mla_err_clear(&e);
    cr_assert_eq(mla_kube_config_parse_kubeconfig(bad, strlen(bad), NULL, NULL, &c, &e),
                 MLA_EPARSE);
    cr_assert_gt(e.line, 0);
}

Test(kubeconfig, explicit_and_in_cluster)
{
    struct mla_kube_config c;
    struct mla_err e;
    mla_err_clear(&e);
    cr_assert_eq(mla_kube_config_explicit("ftp://x", NULL, NULL, &c, &e), MLA_EINVAL);
    cr_assert_eq(mla_kube_config_explicit("https://h:6443/", "/t", "/ca", &c, &e), MLA_OK);
    cr_assert_str_eq(c.server, "https://h:6443");
    cr_assert_str_eq(c.token_file, "/t");
    mla_kube_config_fini(&c);
    unsetenv("KUBERNETES_SERVICE_HOST");
    cr_assert_eq(mla_kube_config_in_cluster(&c, "fixtures/kube", &e), MLA_EINVAL);
    cr_assert(strstr(e.msg, "KUBERNETES_SERVICE_HOST"), "%s", e.msg);
    setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);
    cr_assert_eq(mla_kube_config_in_cluster(&c, "fixtures/kube/sa", &e), MLA_OK, "%s", e.msg);
    cr_assert_str_eq(c.server, "https://[fd00::1]:443");
    cr_assert_str_eq(c.token_file, "fixtures/kube/sa/token");
    cr_assert_str_eq(c.ca_file, "fixtures/kube/sa/ca.crt");
    mla_kube_config_fini(&c);
    unsetenv("KUBERNETES_SERVICE_HOST");
}

/* ---- YAML */

Test(yaml, scalars_documents_and_anchors)
{
    /* 0x1f is an integer in YAML 1.2 core (and in the YAML 1.1 Kubernetes reads) */
    const char *y = "a: 1\nb: \"1\"\nc: true\nd: ~\ne: 1.5e3\nf: 0x1f\ng: &x [1, two]\nh: *x\n"
                    "---\nname: second\n";
    cJSON *docs = NULL;
    cr_assert_eq(mla_kube_yaml_parse(y, strlen(y), &docs, NULL), MLA_OK);
    cr_assert_eq(cJSON_GetArraySize(docs), 2);
    char *s = cJSON_PrintUnformatted(cJSON_GetArrayItem(docs, 0));
    cr_assert_str_eq(s, "{\"a\":1,\"b\":\"1\",\"c\":true,\"d\":null,\"e\":1500,\"f\":31,"
                        "\"g\":[1,\"two\"],\"h\":[1,\"two\"]}");
    free(s);
    cJSON_Delete(docs);
}

/* An anchor on a mapping key, aliased later as a value (and as a key): the key's node is freed
 * once its text is copied, so the alias must hold the anchor's own reference (fuzz-found: a
 * use after free under ASan, garbage or a crash without it). */
Test(yaml, an_anchored_key_aliased_later)
{
    const char *y = "{&k key: 1, other: *k, *k2: 2}";
    cJSON *docs = NULL;
    cr_assert_neq(mla_kube_yaml_parse(y, strlen(y), &docs, NULL), MLA_OK,
                  "an unknown alias '*k2' is an error");
    const char *ok = "{&k key: 1, other: *k}\n---\n[&a x, *a, {*a : 3}]\n";
    cr_assert_eq(mla_kube_yaml_parse(ok, strlen(ok), &docs, NULL), MLA_OK);
    char *s = cJSON_PrintUnformatted(docs);
    cr_assert_str_eq(s, "[{\"key\":1,\"other\":\"key\"},[\"x\",\"x\",{\"x\":3}]]");
    free(s);
    cJSON_Delete(docs);
}

/* ---- label selectors */

static bool sel(const char *selector, const char *labels_json)
{
    cJSON *l = cJSON_Parse(labels_json);
    bool m = false;
    struct mla_err e;
    mla_err_clear(&e);
    cr_assert_eq(mla_kube_selector_match(selector, l, &m, &e), MLA_OK, "%s: %s", selector, e.msg);
    cJSON_Delete(l);
    return m;
}

Test(selector, equality_and_sets)
{
    const char *L = "{\"ml-autoscaling.io/managed\":\"true\",\"tier\":\"web\"}";
    cr_assert(sel("", L));
    cr_assert(sel("ml-autoscaling.io/managed=true", L));
    cr_assert(sel("ml-autoscaling.io/managed==true,tier=web", L));
    cr_assert_not(sel("ml-autoscaling.io/managed=true,tier=db", L));
    cr_assert(sel("tier!=db", L));
    cr_assert(sel("missing!=x", L));
    cr_assert(sel("tier in (db, web)", L));
    cr_assert_not(sel("tier notin (web)", L));
    cr_assert(sel("tier", L));
    cr_assert(sel("!missing", L));
    cr_assert_not(sel("!tier", L));
    cr_assert_not(sel("tier in (db)", "{}"));
}

Test(selector, malformed_is_an_error)
{
    bool m;
    struct mla_err e;
    mla_err_clear(&e);
    cr_assert_eq(mla_kube_selector_match("tier in db", NULL, &m, &e), MLA_EINVAL);
    cr_assert(strstr(e.msg, "expected '('"), "%s", e.msg);
    cr_assert_eq(mla_kube_selector_match("a=b;c", NULL, &m, NULL), MLA_EINVAL);
    cr_assert_eq(mla_kube_selector_match("=x", NULL, &m, NULL), MLA_EINVAL);
}

/* ---- backoff, Retry-After */

Test(backoff, grows_caps_and_jitters)
{
    cr_assert_eq(mla_kube_backoff_ms(1, 100, 2000, -1, 0.999999), 99);
    cr_assert_eq(mla_kube_backoff_ms(3, 100, 2000, -1, 0.999999), 399);
    cr_assert_eq(mla_kube_backoff_ms(20, 100, 2000, -1, 0.999999), 1999);
    cr_assert_eq(mla_kube_backoff_ms(20, 100, 2000, -1, 0), 200); /* floor: a tenth */
    long a = mla_kube_backoff_ms(4, 100, 2000, -1, 0.2), b = mla_kube_backoff_ms(4, 100, 2000, -1, 0.8);
    cr_assert_lt(a, b);
}

Test(backoff, honours_retry_after_within_a_bound)
{
    cr_assert_geq(mla_kube_backoff_ms(1, 50, 2000, 3000, 0.5), 3000);
    cr_assert_leq(mla_kube_backoff_ms(1, 50, 2000, 3000, 0.5), 3100);
    /* a hostile header cannot stall the worker beyond 4x the cap */
    cr_assert_leq(mla_kube_backoff_ms(1, 50, 2000, 3600000, 0.5), 8100);
}

Test(retry_after, seconds_dates_and_garbage)
{
    cr_assert_eq(mla_kube_retry_after_ms("1", 0), 1000);
    cr_assert_eq(mla_kube_retry_after_ms(" 120 ", 0), 120000);
    cr_assert_eq(mla_kube_retry_after_ms(NULL, 0), -1);
    cr_assert_eq(mla_kube_retry_after_ms("soon", 0), -1);
    cr_assert_eq(mla_kube_retry_after_ms("-3", 0), -1);
    /* Wed, 21 Oct 2015 07:28:00 GMT = 1445412480 */
    cr_assert_eq(mla_kube_retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT", 1445412470), 10000);
    cr_assert_eq(mla_kube_retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT", 1445412490), 0);
}

Test(time, format_and_parse_round_trip)
{
    char b[40];
    mla_kube_time_format(b, sizeof b, 1445412480.25, true);
    cr_assert_str_eq(b, "2015-10-21T07:28:00.250000Z");
    double t = 0;
    cr_assert_eq(mla_kube_time_parse(b, &t), MLA_OK);
    cr_assert_float_eq(t, 1445412480.25, 1e-6);
    cr_assert_eq(mla_kube_time_parse("2015-10-21T09:28:00+02:00", &t), MLA_OK);
    cr_assert_float_eq(t, 1445412480.0, 1e-6);
    cr_assert_eq(mla_kube_time_parse("2015-10-21 07:28", &t), MLA_EPARSE);
    /* fuzz regression: a one-digit offset hour read past the end (ASan) */
    cr_assert_eq(mla_kube_time_parse("2026-11-25T16:05:28.1234056+1:00", &t), MLA_EPARSE);
    cr_assert_eq(mla_kube_time_parse("2026-11-25T16:05:28+01:0", &t), MLA_EPARSE);
}

Test(status, message_only_from_status_objects)
{
    cJSON *s = cJSON_Parse("{\"kind\":\"Status\",\"message\":\"nope\"}");
    cJSON *o = cJSON_Parse("{\"kind\":\"Deployment\",\"message\":\"x\"}");
    cr_assert_str_eq(mla_kube_status_message(s), "nope");
    cr_assert_null(mla_kube_status_message(o));
    cJSON_Delete(s);
    cJSON_Delete(o);
}
