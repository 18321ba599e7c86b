/* kube/config.c - where the API server is and how to authenticate (see kube.h): in-cluster,
 * kubeconfig (YAML via libyaml, through mla_kube_yaml_parse), or explicit flags. */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mla/file.h"
#include "mla/kube.h"
#include "mla/mem.h"

#define KUBE_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

void mla_kube_config_init(struct mla_kube_config *c)
{
    memset(c, 0, sizeof *c);
}

void mla_kube_config_fini(struct mla_kube_config *c)
{
    free(c->server);
    free(c->token);
    free(c->token_file);
    free(c->ca_file);
    free(c->ca_data);
    free(c->client_cert_file);
    free(c->client_key_file);
    free(c->client_cert_data);
    free(c->client_key_data);
    memset(c, 0, sizeof *c);
}

static char *cfg_strip_slash(const char *url)
{
    char *s = mla_xstrdup(url);
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == '/')
        s[--n] = '\0';
    return s;
}

enum mla_code mla_kube_config_in_cluster(struct mla_kube_config *out, const char *sa_dir,
                                         struct mla_err *err)
{
    const char *host = getenv("KUBERNETES_SERVICE_HOST");
    const char *port = getenv("KUBERNETES_SERVICE_PORT");
    if (!host || !*host || !port || !*port)
        return mla_err_set(err, MLA_EINVAL,
                           "not running in a cluster: KUBERNETES_SERVICE_HOST/PORT are not set "
                           "(use --kubeconfig or --kube-url)");
    if (!sa_dir)
        sa_dir = KUBE_SA_DIR;
    char *token = mla_xasprintf("%s/token", sa_dir);
    char *ca = mla_xasprintf("%s/ca.crt", sa_dir);
    if (access(token, R_OK) != 0) {
        enum mla_code rc = mla_err_set(err, MLA_EIO, "cannot read the service-account token %s",
                                       token);
        free(token);
        free(ca);
        return rc;
    }
    mla_kube_config_init(out);
    /* IPv6 service hosts need brackets in a URL */
    out->server = strchr(host, ':') ? mla_xasprintf("https://[%s]:%s", host, port)
                                    : mla_xasprintf("https://%s:%s", host, port);
    out->token_file = token;
    if (access(ca, R_OK) == 0) {
        out->ca_file = ca;
    } else {
        free(ca);
    }
    return MLA_OK;
}

enum mla_code mla_kube_config_explicit(const char *url, const char *token_file,
                                       const char *ca_file, struct mla_kube_config *out,
                                       struct mla_err *err)
{
    if (!url || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0))
        return mla_err_set(err, MLA_EINVAL, "--kube-url \"%s\": expected http://HOST:PORT or "
                                            "https://HOST:PORT", url ? url : "");
    mla_kube_config_init(out);
    out->server = cfg_strip_slash(url);
    if (token_file)
        out->token_file = mla_xstrdup(token_file);
    if (ca_file)
        out->ca_file = mla_xstrdup(ca_file);
    return MLA_OK;
}

/* The entry named `name` in kubeconfig list `list` ("clusters", ...): its inner object. */
static const cJSON *cfg_named(const cJSON *doc, const char *list, const char *inner,
                              const char *name)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(doc, list))
    {
        const char *n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "name"));
        if (n && !strcmp(n, name))
            return cJSON_GetObjectItemCaseSensitive(e, inner);
    }
    return NULL;
}

static const char *cfg_str(const cJSON *o, const char *k)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

static char *cfg_path(const char *base, const char *p)
{
    if (!p)
        return NULL;
    if (p[0] == '/')
        return mla_xstrdup(p);
    return mla_xasprintf("%s/%s", base ? base : ".", p);
}

static const unsigned char b64_tab[256] = {
#define B(c, v) [c] = (v) + 1
    B('A', 0), B('B', 1), B('C', 2), B('D', 3), B('E', 4), B('F', 5), B('G', 6), B('H', 7),
    B('I', 8), B('J', 9), B('K', 10), B('L', 11), B('M', 12), B('N', 13), B('O', 14),
    B('P', 15), B('Q', 16), B('R', 17), B('S', 18), B('T', 19), B('U', 20), B('V', 21),
    B('W', 22), B('X', 23), B('Y', 24), B('Z', 25), B('a', 26), B('b', 27), B('c', 28),
    B('d', 29), B('e', 30), B('f', 31), B('g', 32), B('h', 33), B('i', 34), B('j', 35),
    B('k', 36), B('l', 37), B('m', 38), B('n', 39), B('o', 40), B('p', 41), B('q', 42),
    B('r', 43), B('s', 44), B('t', 45), B('u', 46), B('v', 47), B('w', 48), B('x', 49),
    B('y', 50), B('z', 51), B('0', 52), B('1', 53), B('2', 54), B('3', 55), B('4', 56),
    B('5', 57), B('6', 58), B('7', 59), B('8', 60), B('9', 61), B('+', 62), B('/', 63),
#undef B
};

/* Decodes base64 (whitespace ignored) into a new NUL-terminated string, NULL when invalid. */
static char *cfg_b64(const char *in)
{
    size_t n = strlen(in);
    char *out = mla_xmalloc(n / 4 * 3 + 4);
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (const char *p = in; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '=' || c == '\n' || c == '\r' || c == ' ')
            continue;
        if (!b64_tab[c]) {
            free(out);
            return NULL;
        }
        acc = (acc << 6) | (unsigned)(b64_tab[c] - 1);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    out[o] = '\0';
    return out;
}

enum mla_code mla_kube_config_parse_kubeconfig(const char *text, size_t len, const char *base_dir,
                                               const char *context, struct mla_kube_config *out,
                                               struct mla_err *err)
{
    cJSON *docs = NULL;
    enum mla_code rc = mla_kube_yaml_parse(text, len, &docs, err);
    if (rc != MLA_OK)
        return rc;
    const cJSON *doc = cJSON_GetArrayItem(docs, 0);
    struct mla_kube_config c;
    mla_kube_config_init(&c);
    const char *ctx_name = context ? context : cfg_str(doc, "current-context");
    if (!ctx_name || !*ctx_name) {
        rc = mla_err_set(err, MLA_EINVAL, "kubeconfig: no current-context (set one with "
                                          "kubectl config use-context)");
        goto out;
    }
    const cJSON *ctx = cfg_named(doc, "contexts", "context", ctx_name);
    if (!ctx) {
        rc = mla_err_set(err, MLA_EINVAL, "kubeconfig: context \"%s\" not found in contexts",
                         ctx_name);
        goto out;
    }
    const char *cluster_name = cfg_str(ctx, "cluster");
    const cJSON *cluster = cluster_name ? cfg_named(doc, "clusters", "cluster", cluster_name) : NULL;
    if (!cluster || !cfg_str(cluster, "server")) {
        rc = mla_err_set(err, MLA_EINVAL, "kubeconfig: context \"%s\": cluster \"%s\" not found "
                         "or has no server", ctx_name, cluster_name ? cluster_name : "");
        goto out;
    }
    c.server = cfg_strip_slash(cfg_str(cluster, "server"));
    c.insecure = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cluster, "insecure-skip-tls-verify"));
    const char *cad = cfg_str(cluster, "certificate-authority-data");
    if (cad) {
        c.ca_data = cfg_b64(cad);
        if (!c.ca_data) {
            rc = mla_err_set(err, MLA_EINVAL, "kubeconfig: cluster \"%s\": "
                             "certificate-authority-data is not valid base64", cluster_name);
            goto out;
        }
    }
    c.ca_file = cfg_path(base_dir, cfg_str(cluster, "certificate-authority"));
    const char *user_name = cfg_str(ctx, "user");
    const cJSON *user = user_name ? cfg_named(doc, "users", "user", user_name) : NULL;
    if (user_name && !user) {
        rc = mla_err_set(err, MLA_EINVAL, "kubeconfig: user \"%s\" not found in users", user_name);
        goto out;
    }
    if (user) {
        if (cfg_str(user, "token"))
            c.token = mla_xstrdup(cfg_str(user, "token"));
        c.token_file = cfg_path(base_dir, cfg_str(user, "tokenFile"));
        c.client_cert_file = cfg_path(base_dir, cfg_str(user, "client-certificate"));
        c.client_key_file = cfg_path(base_dir, cfg_str(user, "client-key"));
        const char *ccd = cfg_str(user, "client-certificate-data");
        const char *ckd = cfg_str(user, "client-key-data");
        if (ccd)
            c.client_cert_data = cfg_b64(ccd);
        if (ckd)
            c.client_key_data = cfg_b64(ckd);
        if ((ccd && !c.client_cert_data) || (ckd && !c.client_key_data)) {
            rc = mla_err_set(err, MLA_EINVAL, "kubeconfig: user \"%s\": client certificate or "
                             "key data is not valid base64", user_name);
            goto out;
        }
        if (cJSON_GetObjectItemCaseSensitive(user, "exec") && !c.token && !c.token_file &&
            !c.client_cert_file && !c.client_cert_data) {
            rc = mla_err_set(err, MLA_EINVAL, "kubeconfig: user \"%s\" uses an exec credential "
                             "plugin, which is not supported; use a token or --kube-token-file",
                             user_name);
            goto out;
        }
    }
    *out = c;
    mla_kube_config_init(&c);
out:
    mla_kube_config_fini(&c);
    cJSON_Delete(docs);
    return rc;
}

enum mla_code mla_kube_config_load_kubeconfig(const char *path, const char *context,
                                              struct mla_kube_config *out, struct mla_err *err)
{
    struct mla_err fe;
    mla_err_clear(&fe);
    char *text = NULL;
    size_t len = 0;
    enum mla_code rc = mla_file_read(path, 16u << 20, &text, &len, &fe);
    if (rc != MLA_OK)
        return mla_err_set(err, rc, "kubeconfig %s: %s", path, fe.msg);
    char *pcopy = mla_xstrdup(path);
    rc = mla_kube_config_parse_kubeconfig(text, len, dirname(pcopy), context, out, err);
    free(pcopy);
    free(text);
    if (rc != MLA_OK)
        mla_err_prefix(err, rc, "%s", path);
    return rc;
}
