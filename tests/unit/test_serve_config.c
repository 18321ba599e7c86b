/* test_serve_config.c - serve flags and MLAS_* environment (serve.h). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "mla/serve.h"

static enum mla_code parse(struct mla_serve_config *c, struct mla_err *e, int argc, char **argv)
{
    mla_err_clear(e);
    return mla_serve_config_parse(c, argc, argv, e);
}

static void clean_env(void)
{
    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("MLAS_TLS_CERT");
    unsetenv("MLAS_NO_LOOP");
    unsetenv("MLAS_THREADS");
    unsetenv("MLAS_LISTEN");
}

Test(serve_config, defaults_are_the_documented_ones, .init = clean_env)
{
    struct mla_serve_config c;
    struct mla_err e;
    char *argv[] = {"serve"};
    cr_assert_eq(parse(&c, &e, 1, argv), MLA_OK, "%s", e.msg);
    cr_assert_str_eq(c.listen, "0.0.0.0:8443");
    cr_assert_eq(ntohs(((struct sockaddr_in *)&c.addr)->sin_port), 8443);
    cr_assert_str_eq(c.tls_cert, "/etc/ml-autoscaling/tls/tls.crt");
    cr_assert_str_eq(c.tls_key, "/etc/ml-autoscaling/tls/tls.key");
    cr_assert_str_eq(c.policies, "/etc/ml-autoscaling/policies");
    cr_assert_eq(c.max_body_bytes, 3u * 1024 * 1024);
    cr_assert_eq(c.kube_mode, MLA_KUBE_NONE);
    cr_assert_str_eq(mla_serve_kube_mode_name(c.kube_mode), "admission-only");
    cr_assert_not(c.no_loop);
    cr_assert_geq(c.threads, 1);
    cr_assert_float_eq(c.loop_interval, 60.0, 1e-9);
    cr_assert_eq(c.loop_explanation_writes, MLA_SERVE_EXPLANATION_WRITES_AUTO);
}

Test(serve_config, explanation_writes_zero_means_no_limit, .init = clean_env)
{
    struct mla_serve_config c;
    struct mla_err e;
    char *zero[] = {"serve", "--loop-explanation-writes", "0"};
    cr_assert_eq(parse(&c, &e, 3, zero), MLA_OK, "%s", e.msg);
    cr_assert_eq(c.loop_explanation_writes, 0);
    char *some[] = {"serve", "--loop-explanation-writes=250"};
    cr_assert_eq(parse(&c, &e, 2, some), MLA_OK, "%s", e.msg);
    cr_assert_eq(c.loop_explanation_writes, 250);
    char *neg[] = {"serve", "--loop-explanation-writes", "-1"};
    cr_assert_neq(parse(&c, &e, 3, neg), MLA_OK);
    cr_assert(strstr(e.msg, "loop-explanation-writes"), "%s", e.msg);
}

Test(serve_config, env_then_flags_override, .init = clean_env)
{
    setenv("MLAS_TLS_CERT", "/env/tls.crt", 1);
    setenv("MLAS_NO_LOOP", "true", 1);
    setenv("MLAS_THREADS", "3", 1);
    struct mla_serve_config c;
    struct mla_err e;
    char *argv[] = {"serve", "--threads", "5", "--listen=[::1]:0", "--log-level", "debug",
                    "--kube-url", "https://10.0.0.1:6443", "--kube-ca", "/ca"};
    cr_assert_eq(parse(&c, &e, 10, argv), MLA_OK, "%s", e.msg);
    cr_assert_str_eq(c.tls_cert, "/env/tls.crt");
    cr_assert(c.no_loop);
    cr_assert_eq(c.threads, 5);
    cr_assert_eq(c.addr.ss_family, AF_INET6);
    cr_assert_eq(c.log_level, MLA_LOG_DEBUG);
    cr_assert_eq(c.kube_mode, MLA_KUBE_EXPLICIT);
    cr_assert_str_eq(c.kube_ca, "/ca");
    cr_assert_str_eq(mla_serve_kube_mode_name(c.kube_mode), "full");
}

Test(serve_config, in_cluster_and_bool_flag, .init = clean_env)
{
    setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
    struct mla_serve_config c;
    struct mla_err e;
    char *argv[] = {"serve", "--no-loop", "--no-loop=false"};
    cr_assert_eq(parse(&c, &e, 3, argv), MLA_OK, "%s", e.msg);
    cr_assert_eq(c.kube_mode, MLA_KUBE_IN_CLUSTER);
    cr_assert_not(c.no_loop);
}

Test(serve_config, errors_name_the_flag_and_leave_cfg_untouched, .init = clean_env)
{
    struct {
        int argc;
        char *argv[4];
        const char *want;
    } cases[] = {
        {2, {"serve", "--nope"}, "unknown flag '--nope'"},
        {2, {"serve", "--threads"}, "--threads needs a value"},
        {3, {"serve", "--threads", "x"}, "--threads: 'x' is not a number"},
        {3, {"serve", "--threads", "1.5"}, "not a whole number"},
        {3, {"serve", "--max-body-bytes", "10"}, "out of range"},
        {3, {"serve", "--listen", "1.2.3.4"}, "not ADDR:PORT"},
        {3, {"serve", "--listen", "1.2.3.4:99999"}, "0..65535"},
        {3, {"serve", "--listen", "host.example:80"}, "not an IPv4 address"},
        {3, {"serve", "--log-level", "loud"}, "unknown log level"},
        {3, {"serve", "--kube-url", "ftp://x"}, "not an http(s):// URL"},
        {3, {"serve", "--kube-ca", "/ca"}, "need --kube-url"},
        {2, {"serve", "stray"}, "unexpected argument 'stray'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct mla_serve_config c;
        memset(&c, 0x5a, sizeof c);
        struct mla_err e;
        cr_assert_eq(parse(&c, &e, cases[i].argc, cases[i].argv), MLA_EUSAGE, "case %zu", i);
        cr_assert(strstr(e.msg, cases[i].want), "case %zu: %s", i, e.msg);
        cr_assert_eq(((unsigned char *)&c)[0], 0x5a);
    }
}

Test(serve_config, help_flag, .init = clean_env)
{
    struct mla_serve_config c;
    struct mla_err e;
    char *argv[] = {"serve", "--help"};
    cr_assert_eq(parse(&c, &e, 2, argv), MLA_OK);
    cr_assert(c.help);
}
