/* base/yaml.c - libyaml events into jansson trees, positions kept in a side table (see yaml.h). */
#include "mla/yaml.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "mla/mem.h"

/* ---- position table: open addressing keyed by (container, key | index) ---- */

struct pos_ent {
    const void *c; /* NULL: empty slot */
    char *key;     /* owned; NULL for array elements and the container itself */
    size_t idx;
    int vl, vc, kl, kc;
};

struct mla_yaml_pos {
    struct pos_ent *ents;
    size_t cap, n;
};

static uint64_t pos_hash(const void *c, const char *key, size_t idx)
{
    uint64_t h = (uint64_t)(uintptr_t)c * 0x9E3779B97F4A7C15ull;
    if (key) {
        for (const unsigned char *p = (const unsigned char *)key; *p; p++)
            h = (h ^ *p) * 0x100000001B3ull;
    } else {
        h ^= (uint64_t)idx * 0xC2B2AE3D27D4EB4Full;
    }
    return h ^ (h >> 29);
}

static int pos_eq(const struct pos_ent *e, const void *c, const char *key, size_t idx)
{
    if (e->c != c)
        return 0;
    if (key || e->key)
        return key && e->key && strcmp(key, e->key) == 0;
    return e->idx == idx;
}

static void pos_put_ent(struct mla_yaml_pos *t, struct pos_ent ent)
{
    size_t i = pos_hash(ent.c, ent.key, ent.idx) & (t->cap - 1);
    while (t->ents[i].c)
        i = (i + 1) & (t->cap - 1);
    t->ents[i] = ent;
}

static void pos_put(struct mla_yaml_pos *t, const void *c, const char *key, size_t idx, int vl,
                    int vc, int kl, int kc)
{
    if ((t->n + 1) * 2 > t->cap) {
        struct pos_ent *old = t->ents;
        size_t oldcap = t->cap;
        t->cap = oldcap ? oldcap * 2 : 64;
        t->ents = mla_xcalloc(t->cap, sizeof *t->ents);
        for (size_t i = 0; i < oldcap; i++)
            if (old[i].c)
                pos_put_ent(t, old[i]);
        free(old);
    }
    struct pos_ent ent = {.c = c, .key = key ? mla_xstrdup(key) : NULL, .idx = idx,
                          .vl = vl, .vc = vc, .kl = kl, .kc = kc};
    pos_put_ent(t, ent);
    t->n++;
}

int mla_yaml_pos_get(const struct mla_yaml_pos *t, const json_t *container, const char *key,
                     size_t idx, int of_key, int *line, int *col)
{
    *line = *col = 0;
    if (!t || !t->cap || !container)
        return 0;
    size_t i = pos_hash(container, key, idx) & (t->cap - 1);
    while (t->ents[i].c) {
        if (pos_eq(&t->ents[i], container, key, idx)) {
            *line = of_key ? t->ents[i].kl : t->ents[i].vl;
            *col = of_key ? t->ents[i].kc : t->ents[i].vc;
            return 1;
        }
        i = (i + 1) & (t->cap - 1);
    }
    return 0;
}

void mla_yaml_pos_free(struct mla_yaml_pos *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->cap; i++)
        free(t->ents[i].key);
    free(t->ents);
    free(t);
}

/* ---- scalar resolution (YAML 1.2 core schema) ---- */

static int yaml_is_int(const char *s, long long *out)
{
    const char *p = s;
    int base = 10;
    if (p[0] == '0' && (p[1] == 'o' || p[1] == 'x')) {
        base = p[1] == 'o' ? 8 : 16;
        p += 2;
        if (!*p)
            return 0;
    } else {
        if (*p == '-' || *p == '+')
            p++;
        if (!*p)
            return 0;
        for (const char *q = p; *q; q++)
            if (*q < '0' || *q > '9')
                return 0;
        p = s;
    }
    char *end = NULL;
    errno = 0;
    long long v = strtoll(p, &end, base);
    if (errno || !end || *end)
        return 0;
    *out = v;
    return 1;
}

static int yaml_is_float(const char *s, double *out)
{
    const char *p = s;
    if (*p == '-' || *p == '+')
        p++;
    int digits = 0, dot = 0;
    while ((*p >= '0' && *p <= '9') || (*p == '.' && !dot)) {
        if (*p == '.')
            dot = 1;
        else
            digits++;
        p++;
    }
    if (!digits)
        return 0;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '-' || *p == '+')
            p++;
        if (*p < '0' || *p > '9')
            return 0;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p)
        return 0;
    char *end = NULL;
    double v = strtod(s, &end);
    if (!end || *end || !isfinite(v))
        return 0;
    *out = v;
    return 1;
}

static json_t *yaml_scalar(const yaml_event_t *ev)
{
    const char *v = (const char *)ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    const char *tag = (const char *)ev->data.scalar.tag;
    int plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    if (tag && strcmp(tag, "tag:yaml.org,2002:str") == 0)
        plain = 0;
    if (plain && strlen(v) == n) {
        if (!*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
            !strcmp(v, "NULL"))
            return json_null();
        if (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "TRUE"))
            return json_true();
        if (!strcmp(v, "false") || !strcmp(v, "False") || !strcmp(v, "FALSE"))
            return json_false();
        long long i;
        if (yaml_is_int(v, &i))
            return json_integer((json_int_t)i);
        double d;
        if (yaml_is_float(v, &d))
            return json_real(d);
    }
    return json_stringn(v, n); /* NULL when not valid UTF-8 */
}

/* ---- the event loop ---- */

/* Aliases share nodes, so a few of them can stand for an exponential tree ("billion laughs")
 * that a consumer walking it would expand. Each node's expanded size is tracked and a document
 * is refused past YAML_MAX_WEIGHT. */
#define YAML_MAX_WEIGHT 1000000u
#define YAML_OPEN ((size_t)-1) /* an anchored container still being built */

struct yframe {
    json_t *node;
    char *key; /* pending mapping key (owned), NULL when a key is expected next */
    int kl, kc;
    size_t weight; /* nodes under this one, aliases expanded */
    long anchor;   /* index in anchors, -1 when not anchored */
};

struct yanchor {
    char *name;
    json_t *node; /* borrowed from the tree */
    size_t weight; /* YAML_OPEN while its container is open */
};

struct yctx {
    const char *src;
    struct yframe *st;
    size_t depth, cap;
    struct yanchor *anchors;
    size_t nanch, capanch;
    json_t *docs;
    json_t *doc_root;
    struct mla_yaml_pos *pos;
};

static long yctx_anchor(struct yctx *y, const unsigned char *name, json_t *node, size_t weight)
{
    if (!name)
        return -1;
    if (y->nanch == y->capanch) {
        y->capanch = y->capanch ? y->capanch * 2 : 8;
        y->anchors = mla_xrealloc(y->anchors, y->capanch * sizeof *y->anchors);
    }
    y->anchors[y->nanch].name = mla_xstrdup((const char *)name);
    /* a reference of its own: an anchored mapping key is freed once its text is copied, and a
     * later alias must not reach it through a borrowed pointer */
    y->anchors[y->nanch].node = json_incref(node);
    y->anchors[y->nanch].weight = weight;
    return (long)y->nanch++;
}

/* Adds w to the current container; false past the limit. */
static bool yctx_weigh(struct yctx *y, size_t w)
{
    if (!y->depth)
        return w <= YAML_MAX_WEIGHT;
    struct yframe *f = &y->st[y->depth - 1];
    f->weight += w;
    return f->weight <= YAML_MAX_WEIGHT;
}

/* Attaches `node` (stolen) to the current container; line/col are 1-based. */
static enum mla_code yctx_attach(struct yctx *y, json_t *node, int line, int col, int is_scalar,
                                 struct mla_err *err)
{
    if (!y->depth) {
        y->doc_root = node;
        if (y->pos) /* the document's position, as element of the documents array */
            pos_put(y->pos, y->docs, NULL, json_array_size(y->docs), line, col, line, col);
        return MLA_OK;
    }
    struct yframe *f = &y->st[y->depth - 1];
    if (json_is_array(f->node)) {
        size_t idx = json_array_size(f->node);
        json_array_append_new(f->node, node);
        if (y->pos)
            pos_put(y->pos, f->node, NULL, idx, line, col, line, col);
        return MLA_OK;
    }
    if (!f->key) {
        if (!is_scalar || !json_is_string(node)) {
            json_decref(node);
            return mla_err_set_at(err, MLA_EPARSE, y->src, line, col,
                                  "mapping keys must be scalars");
        }
        f->key = mla_xstrdup(json_string_value(node));
        f->kl = line;
        f->kc = col;
        json_decref(node);
        return MLA_OK;
    }
    if (json_object_get(f->node, f->key)) {
        json_decref(node);
        enum mla_code rc = mla_err_set_at(err, MLA_EPARSE, y->src, f->kl, f->kc,
                                          "duplicate key '%s'", f->key);
        return rc;
    }
    json_object_set_new(f->node, f->key, node);
    if (y->pos)
        pos_put(y->pos, f->node, f->key, 0, line, col, f->kl, f->kc);
    free(f->key);
    f->key = NULL;
    return MLA_OK;
}

static void yctx_push(struct yctx *y, json_t *node, long anchor)
{
    if (y->depth == y->cap) {
        y->cap = y->cap ? y->cap * 2 : 16;
        y->st = mla_xrealloc(y->st, y->cap * sizeof *y->st);
    }
    y->st[y->depth++] = (struct yframe){.node = node, .weight = 1, .anchor = anchor};
}

static void yctx_reset_doc(struct yctx *y)
{
    for (size_t i = 0; i < y->depth; i++)
        free(y->st[i].key);
    y->depth = 0;
    for (size_t i = 0; i < y->nanch; i++) {
        free(y->anchors[i].name);
        json_decref(y->anchors[i].node);
    }
    y->nanch = 0;
}

static enum mla_code yaml_event(struct yctx *y, const yaml_event_t *ev, struct mla_err *err)
{
    int line = (int)ev->start_mark.line + 1, col = (int)ev->start_mark.column + 1;
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        y->doc_root = NULL;
        return MLA_OK;
    case YAML_DOCUMENT_END_EVENT:
        json_array_append_new(y->docs, y->doc_root ? y->doc_root : json_null());
        y->doc_root = NULL;
        yctx_reset_doc(y);
        return MLA_OK;
    case YAML_SCALAR_EVENT: {
        /* A key is its text, whatever it would resolve to as a value (1:, true:). */
        struct yframe *f = y->depth ? &y->st[y->depth - 1] : NULL;
        int want_key = f && json_is_object(f->node) && !f->key;
        json_t *v = want_key ? json_stringn((const char *)ev->data.scalar.value,
                                            ev->data.scalar.length)
                             : yaml_scalar(ev);
        if (!v)
            return mla_err_set_at(err, MLA_EPARSE, y->src, line, col,
                                  "scalar is not valid UTF-8");
        yctx_anchor(y, ev->data.scalar.anchor, v, 1);
        if (!want_key && !yctx_weigh(y, 1)) {
            json_decref(v);
            return mla_err_set_at(err, MLA_ETOOBIG, y->src, line, col, "document too large");
        }
        return yctx_attach(y, v, line, col, 1, err);
    }
    case YAML_ALIAS_EVENT: {
        const char *name = (const char *)ev->data.alias.anchor;
        for (size_t i = y->nanch; i-- > 0;) {
            if (strcmp(y->anchors[i].name, name))
                continue;
            if (y->anchors[i].weight == YAML_OPEN)
                return mla_err_set_at(err, MLA_EPARSE, y->src, line, col,
                                      "alias '*%s' refers to a node that contains it", name);
            if (!yctx_weigh(y, y->anchors[i].weight))
                return mla_err_set_at(err, MLA_ETOOBIG, y->src, line, col,
                                      "aliases expand this document past %u nodes",
                                      YAML_MAX_WEIGHT);
            return yctx_attach(y, json_incref(y->anchors[i].node), line, col,
                               json_is_string(y->anchors[i].node), err);
        }
        return mla_err_set_at(err, MLA_EPARSE, y->src, line, col, "unknown alias '*%s'", name);
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        int is_seq = ev->type == YAML_SEQUENCE_START_EVENT;
        json_t *c = is_seq ? json_array() : json_object();
        long anc = yctx_anchor(
            y, is_seq ? ev->data.sequence_start.anchor : ev->data.mapping_start.anchor, c,
            YAML_OPEN);
        if (y->pos)
            pos_put(y->pos, c, NULL, SIZE_MAX, line, col, line, col);
        enum mla_code rc = yctx_attach(y, json_incref(c), line, col, 0, err);
        if (rc != MLA_OK) {
            json_decref(c);
            return rc;
        }
        yctx_push(y, c, anc);
        json_decref(c); /* the tree (or doc_root) holds it now */
        return MLA_OK;
    }
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        if (y->depth) {
            struct yframe f = y->st[y->depth - 1];
            free(f.key);
            y->depth--;
            if (f.anchor >= 0)
                y->anchors[f.anchor].weight = f.weight;
            if (!yctx_weigh(y, f.weight))
                return mla_err_set_at(err, MLA_ETOOBIG, y->src, line, col,
                                      "aliases expand this document past %u nodes",
                                      YAML_MAX_WEIGHT);
        }
        return MLA_OK;
    default:
        return MLA_OK;
    }
}

enum mla_code mla_yaml_parse(const char *src, const char *text, size_t len, json_t **docs_out,
                             struct mla_yaml_pos **pos_out, struct mla_err *err)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        return mla_err_set(err, MLA_ENOMEM, "cannot initialise the YAML parser");
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    struct yctx y = {.src = src, .docs = json_array()};
    if (pos_out)
        y.pos = mla_xcalloc(1, sizeof *y.pos);
    enum mla_code rc = MLA_OK;
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            int line = (int)parser.problem_mark.line + 1, col = (int)parser.problem_mark.column + 1;
            if (parser.context)
                rc = mla_err_set_at(err, MLA_EPARSE, src, line, col, "YAML: %s %s",
                                    parser.problem ? parser.problem : "syntax error",
                                    parser.context);
            else
                rc = mla_err_set_at(err, MLA_EPARSE, src, line, col, "YAML: %s",
                                    parser.problem ? parser.problem : "syntax error");
            break;
        }
        int done = ev.type == YAML_STREAM_END_EVENT;
        rc = yaml_event(&y, &ev, err);
        yaml_event_delete(&ev);
        if (rc != MLA_OK || done)
            break;
    }
    yaml_parser_delete(&parser);
    if (rc != MLA_OK && y.doc_root && y.depth == 0)
        json_decref(y.doc_root);
    else if (rc != MLA_OK && y.doc_root)
        json_decref(y.doc_root);
    yctx_reset_doc(&y);
    free(y.st);
    free(y.anchors);
    if (rc != MLA_OK) {
        json_decref(y.docs);
        mla_yaml_pos_free(y.pos);
        return rc;
    }
    *docs_out = y.docs;
    if (pos_out)
        *pos_out = y.pos;
    return MLA_OK;
}

cJSON *mla_yaml_to_cjson(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        cJSON *o = cJSON_CreateObject();
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)j, k, v)
            cJSON_AddItemToObject(o, k, mla_yaml_to_cjson(v));
        return o;
    }
    case JSON_ARRAY: {
        cJSON *a = cJSON_CreateArray();
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v)
            cJSON_AddItemToArray(a, mla_yaml_to_cjson(v));
        return a;
    }
    case JSON_STRING:
        return cJSON_CreateString(json_string_value(j));
    case JSON_INTEGER:
        return cJSON_CreateNumber((double)json_integer_value(j));
    case JSON_REAL:
        return cJSON_CreateNumber(json_real_value(j));
    case JSON_TRUE:
        return cJSON_CreateTrue();
    case JSON_FALSE:
        return cJSON_CreateFalse();
    default:
        return cJSON_CreateNull();
    }
}
