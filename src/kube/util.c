/* kube/util.c - the pure helpers of kube.h: YAML to cJSON, label selectors, backoff, Retry-After,
 * object accessors and RFC 3339 times. No I/O; shared with tests/doubles/mla-testapi. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yaml.h>

#include "mla/kube.h"
#include "mla/mem.h"

/* ---------------------------------------------------------------- YAML -> cJSON */

struct yj_anchor {
    char *name;
    cJSON *node; /* owned copy */
};

struct yj {
    yaml_parser_t p;
    struct yj_anchor *anchors;
    size_t n_anchors;
    struct mla_err *err;
};

static enum mla_code yj_fail(struct yj *y, const yaml_event_t *ev, const char *what)
{
    if (ev)
        return mla_err_set_at(y->err, MLA_EPARSE, "", (int)ev->start_mark.line + 1,
                              (int)ev->start_mark.column + 1, "%s", what);
    return mla_err_set_at(y->err, MLA_EPARSE, "", (int)y->p.problem_mark.line + 1,
                          (int)y->p.problem_mark.column + 1, "YAML: %s",
                          y->p.problem ? y->p.problem : "syntax error");
}

static cJSON *yj_scalar(const yaml_event_t *ev)
{
    const char *v = (const char *)ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return cJSON_CreateString(v);
    if (ev->data.scalar.tag && strcmp((const char *)ev->data.scalar.tag, "tag:yaml.org,2002:str") == 0)
        return cJSON_CreateString(v);
    if (n == 0 || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL"))
        return cJSON_CreateNull();
    if (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "TRUE"))
        return cJSON_CreateTrue();
    if (!strcmp(v, "false") || !strcmp(v, "False") || !strcmp(v, "FALSE"))
        return cJSON_CreateFalse();
    /* YAML 1.2 core schema numbers; anything else stays a string. */
    const char *s = v;
    if (*s == '-' || *s == '+')
        s++;
    bool num = isdigit((unsigned char)*s) || (*s == '.' && isdigit((unsigned char)s[1]));
    if (num) {
        char *end = NULL;
        errno = 0;
        double d = strtod(v, &end);
        if (end && *end == '\0' && errno == 0 && !(s[0] == '0' && s[1] == 'x'))
            return cJSON_CreateNumber(d);
    }
    return cJSON_CreateString(v);
}

static void yj_anchor_add(struct yj *y, const yaml_char_t *anchor, const cJSON *node)
{
    if (!anchor)
        return;
    y->anchors = mla_xrealloc(y->anchors, (y->n_anchors + 1) * sizeof *y->anchors);
    y->anchors[y->n_anchors].name = mla_xstrdup((const char *)anchor);
    y->anchors[y->n_anchors].node = cJSON_Duplicate(node, 1);
    y->n_anchors++;
}

/* Parses the node starting with `ev` (consumed by the caller) into *out. */
static enum mla_code yj_node(struct yj *y, yaml_event_t *ev, cJSON **out, int depth)
{
    if (depth > 64)
        return yj_fail(y, ev, "YAML nested too deeply");
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        *out = yj_scalar(ev);
        yj_anchor_add(y, ev->data.scalar.anchor, *out);
        return MLA_OK;
    case YAML_ALIAS_EVENT:
        for (size_t i = y->n_anchors; i-- > 0;)
            if (!strcmp(y->anchors[i].name, (const char *)ev->data.alias.anchor)) {
                *out = cJSON_Duplicate(y->anchors[i].node, 1);
                return MLA_OK;
            }
        return yj_fail(y, ev, "YAML alias to an unknown anchor");
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        bool map = ev->type == YAML_MAPPING_START_EVENT;
        yaml_char_t *anchor = map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
        char *anchor_copy = anchor ? mla_xstrdup((const char *)anchor) : NULL;
        cJSON *node = map ? cJSON_CreateObject() : cJSON_CreateArray();
        char *key = NULL;
        enum mla_code rc = MLA_OK;
        for (;;) {
            yaml_event_t e;
            if (!yaml_parser_parse(&y->p, &e)) {
                rc = yj_fail(y, NULL, NULL);
                break;
            }
            if (e.type == (map ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT)) {
                yaml_event_delete(&e);
                break;
            }
            if (map && !key) {
                if (e.type != YAML_SCALAR_EVENT) {
                    rc = yj_fail(y, &e, "YAML mapping key is not a scalar");
                    yaml_event_delete(&e);
                    break;
                }
                key = mla_xstrdup((const char *)e.data.scalar.value);
                yaml_event_delete(&e);
                continue;
            }
            cJSON *child = NULL;
            rc = yj_node(y, &e, &child, depth + 1);
            yaml_event_delete(&e);
            if (rc != MLA_OK)
                break;
            if (map) {
                /* last one wins, as kubectl does for duplicate keys */
                cJSON_DeleteItemFromObjectCaseSensitive(node, key);
                cJSON_AddItemToObject(node, key, child); /* node takes child */
                free(key);
                key = NULL;
            } else {
                cJSON_AddItemToArray(node, child); /* node takes child */
            }
        }
        free(key);
        if (rc != MLA_OK) {
            free(anchor_copy);
            cJSON_Delete(node);
            return rc;
        }
        yj_anchor_add(y, (const yaml_char_t *)anchor_copy, node);
        free(anchor_copy);
        *out = node;
        return MLA_OK;
    }
    default:
        return yj_fail(y, ev, "unexpected YAML event");
    }
}

enum mla_code mla_kube_yaml_parse(const char *text, size_t len, cJSON **out, struct mla_err *err)
{
    struct yj y = {.err = err};
    if (!yaml_parser_initialize(&y.p))
        return mla_err_set(err, MLA_ENOMEM, "cannot initialise the YAML parser");
    yaml_parser_set_input_string(&y.p, (const unsigned char *)text, len);
    cJSON *docs = cJSON_CreateArray();
    enum mla_code rc = MLA_OK;
    bool done = false;
    while (!done && rc == MLA_OK) {
        yaml_event_t e;
        if (!yaml_parser_parse(&y.p, &e)) {
            rc = yj_fail(&y, NULL, NULL);
            break;
        }
        switch (e.type) {
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_STREAM_START_EVENT:
        case YAML_DOCUMENT_START_EVENT:
        case YAML_DOCUMENT_END_EVENT:
            break;
        default: {
            cJSON *doc = NULL;
            rc = yj_node(&y, &e, &doc, 0);
            if (rc == MLA_OK) {
                if (cJSON_IsNull(doc))
                    cJSON_Delete(doc); /* an empty document ("---" alone) */
                else
                    cJSON_AddItemToArray(docs, doc); /* docs takes doc */
            }
        }
        }
        yaml_event_delete(&e);
    }
    for (size_t i = 0; i < y.n_anchors; i++) {
        free(y.anchors[i].name);
        cJSON_Delete(y.anchors[i].node);
    }
    free(y.anchors);
    yaml_parser_delete(&y.p);
    if (rc != MLA_OK) {
        cJSON_Delete(docs);
        return rc;
    }
    *out = docs;
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
    if (!s)
        return MLA_EPARSE;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p)
        return MLA_EPARSE;
    double frac = 0;
    if (*p == '.') {
        char *end = NULL;
        frac = strtod(p, &end);
        p = end;
    }
    long off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1;
        /* exactly "+hh:mm": sscanf("%2d") also took "+1:00", and p += 6 then ran past the
         * end of the string (found by tests/fuzz/kube.c) */
        if (!isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2]) || p[3] != ':' ||
            !isdigit((unsigned char)p[4]) || !isdigit((unsigned char)p[5]))
            return MLA_EPARSE;
        int hh = (p[1] - '0') * 10 + (p[2] - '0'), mm = (p[4] - '0') * 10 + (p[5] - '0');
        if (hh > 23 || mm > 59)
            return MLA_EPARSE;
        off = sign * (hh * 3600L + mm * 60L);
        p += 6;
    } else {
        return MLA_EPARSE;
    }
    if (*p)
        return MLA_EPARSE;
    *unix_s = (double)timegm(&tm) - (double)off + frac;
    return MLA_OK;
}
