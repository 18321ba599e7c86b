/* kube/util.c - the pure helpers of kube.h: YAML to cJSON, label selectors, backoff, Retry-After,
 * object accessors and RFC 3339 times. No I/O; shared with tests/doubles/mla-testapi. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mla/kube.h"
#include "mla/mem.h"
#include "mla/rfc3339.h"
#include "mla/yaml.h"

/* ---------------------------------------------------------------- YAML -> cJSON */

/* The one YAML reader (base/yaml.c: core schema, anchors, alias-bomb limit), converted to cJSON;
 * empty documents are dropped. */
enum mla_code mla_kube_yaml_parse(const char *text, size_t len, cJSON **out, struct mla_err *err)
{
    json_t *docs = NULL;
    enum mla_code rc = mla_yaml_parse("", text, len, &docs, NULL, err);
    if (rc != MLA_OK)
        return rc;
    cJSON *arr = cJSON_CreateArray();
    size_t i;
    json_t *d;
    json_array_foreach(docs, i, d)
        if (!json_is_null(d))
            cJSON_AddItemToArray(arr, mla_yaml_to_cjson(d)); /* arr takes the copy */
    json_decref(docs);
    *out = arr;
    return MLA_OK;
}

/* ---------------------------------------------------------------- label selectors */

static const char *sel_skip(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

static bool sel_key_char(char c)
{
    return isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.' || c == '/';
}

/* Reads a key or value token into out; returns the position after it. */
static const char *sel_token(const char *s, char *out, size_t n)
{
    size_t i = 0;
    s = sel_skip(s);
    while (sel_key_char(*s)) {
        if (i + 1 < n)
            out[i++] = *s;
        s++;
    }
    out[i] = '\0';
    return sel_skip(s);
}

enum mla_code mla_kube_selector_match(const char *selector, const cJSON *labels, bool *match,
                                      struct mla_err *err)
{
    bool all = true;
    const char *s = sel_skip(selector ? selector : "");
    while (*s) {
        char key[320], val[320];
        bool neg_exist = false;
        if (*s == '!') {
            neg_exist = true;
            s++;
        }
        s = sel_token(s, key, sizeof key);
        if (!key[0])
            return mla_err_set(err, MLA_EINVAL, "label selector \"%s\": expected a label key",
                               selector);
        const char *have = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(labels, key));
        bool ok;
        if (neg_exist) {
            ok = !have;
        } else if (*s == '=' || (*s == '!' && s[1] == '=')) {
            bool ne = *s == '!';
            s += (ne || s[1] == '=') ? 2 : 1;
            s = sel_token(s, val, sizeof val);
            ok = ne ? (!have || strcmp(have, val) != 0) : (have && strcmp(have, val) == 0);
        } else if (!strncmp(s, "in", 2) || !strncmp(s, "notin", 5)) {
            bool notin = s[0] == 'n';
            s = sel_skip(s + (notin ? 5 : 2));
            if (*s != '(')
                return mla_err_set(err, MLA_EINVAL, "label selector \"%s\": expected '(' after %s",
                                   selector, notin ? "notin" : "in");
            s++;
            bool found = false;
            for (;;) {
                s = sel_token(s, val, sizeof val);
                if (have && !strcmp(have, val))
                    found = true;
                if (*s == ',') {
                    s++;
                    continue;
                }
                if (*s == ')') {
                    s++;
                    break;
                }
                return mla_err_set(err, MLA_EINVAL, "label selector \"%s\": expected ',' or ')'",
                                   selector);
            }
            ok = notin ? !found : found;
        } else {
            ok = have != NULL; /* bare key: exists */
        }
        all = all && ok;
        s = sel_skip(s);
        if (*s == ',')
            s = sel_skip(s + 1);
        else if (*s)
            return mla_err_set(err, MLA_EINVAL, "label selector \"%s\": unexpected '%c'",
                               selector, *s);
    }
    *match = all;
    return MLA_OK;
}

/* ---------------------------------------------------------------- backoff */

long mla_kube_backoff_ms(int attempt, long base_ms, long cap_ms, long retry_after_ms, double unit)
{
    if (attempt < 1)
        attempt = 1;
    if (unit < 0)
        unit = 0;
    if (unit >= 1)
        unit = 0.999999;
    double ceiling = (double)base_ms;
    for (int i = 1; i < attempt && ceiling < (double)cap_ms; i++)
        ceiling *= 2;
    if (ceiling > (double)cap_ms)
        ceiling = (double)cap_ms;
    /* full jitter, but never below a tenth of the ceiling so retries do not hammer */
    long d = (long)(ceiling * (0.1 + 0.9 * unit));
    if (retry_after_ms > 0) {
        long lim = cap_ms * 4;
        long ra = retry_after_ms < lim ? retry_after_ms : lim;
        if (d < ra)
            d = ra + (long)(unit * 100); /* a little spread so replicas do not return together */
    }
    return d;
}

long mla_kube_retry_after_ms(const char *value, long long now)
{
    if (!value)
        return -1;
    while (*value == ' ')
        value++;
    if (!*value)
        return -1;
    if (isdigit((unsigned char)*value)) {
        char *end = NULL;
        errno = 0;
        long v = strtol(value, &end, 10);
        while (end && *end == ' ')
            end++;
        if (errno || !end || *end || v < 0)
            return -1;
        return v > 86400 ? 86400000L : v * 1000;
    }
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(value, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!end || *end)
        return -1;
    long long t = (long long)timegm(&tm);
    if (t <= now)
        return 0;
    long long d = (t - now) * 1000;
    return d > 86400000LL ? 86400000L : (long)d;
}

/* ---------------------------------------------------------------- objects */

const char *mla_kube_status_message(const cJSON *body)
{
    const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "kind"));
    if (!kind || strcmp(kind, "Status") != 0)
        return NULL;
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "message"));
}

const char *mla_kube_meta_str(const cJSON *obj, const char *field)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(obj, "metadata"), field));
}

static const char *meta_map_str(const cJSON *obj, const char *map, const char *key)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(obj, "metadata"), map);
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, key));
}

const char *mla_kube_label(const cJSON *obj, const char *key)
{
    return meta_map_str(obj, "labels", key);
}

const char *mla_kube_annotation(const cJSON *obj, const char *key)
{
    return meta_map_str(obj, "annotations", key);
}

void mla_kube_time_format(char *out, size_t n, double unix_s, bool micro)
{
    time_t t = (time_t)floor(unix_s);
    struct tm tm;
    gmtime_r(&t, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    if (micro) {
        long us = (long)((unix_s - floor(unix_s)) * 1e6);
        if (us > 999999)
            us = 999999;
        snprintf(out, n, "%s.%06ldZ", base, us);
    } else {
        snprintf(out, n, "%sZ", base);
    }
}

enum mla_code mla_kube_time_parse(const char *s, double *unix_s)
{
    return mla_rfc3339_parse(s, unix_s);
}
