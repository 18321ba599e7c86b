/* controller/listpack.c - listed objects held as read-only cJSON trees packed in one block each
 * (reconcile-int.h). Why: the leader's pass holds every listed ScaledObject and Deployment at
 * once while it plans, and a parsed tree costs a malloc per node and per string (a 64-byte
 * node takes an 80-byte chunk, a 5-byte string a 32-byte one): a trimmed ScaledObject of 49
 * nodes weighs 6.9 KB parsed and 4.7 KB packed, which at 10,000 ScaledObjects is 22 MB of the
 * leader's peak (docs/benchmarks.md, "Issue 14: the loop at scale"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mla/mem.h"
#include "reconcile-int.h"

/* The member of a summary holding the whole object's text: a name no Kubernetes object has at
 * its top level (apiVersion, kind, metadata, spec, status, and data-like members are
 * lowerCamelCase words). */
#define LP_WHOLE "mla.whole/json"

struct lp_size {
    size_t nodes, bytes; /* bytes: of the strings, NULs included */
};

static void lp_measure(const cJSON *x, struct lp_size *sz)
{
    sz->nodes++;
    if (x->string)
        sz->bytes += strlen(x->string) + 1;
    if (x->valuestring)
        sz->bytes += strlen(x->valuestring) + 1;
    for (const cJSON *c = x->child; c; c = c->next)
        lp_measure(c, sz);
}

struct lp_out {
    cJSON *node; /* the next free node */
    char *str;   /* the next free string byte */
};

static char *lp_str(struct lp_out *o, const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = memcpy(o->str, s, n);
    o->str += n;
    return d;
}

/* Copies x into the next node; children follow, linked as cJSON links them (the first
 * child's prev is the last child, the last one's next is NULL). */
static cJSON *lp_copy(const cJSON *x, struct lp_out *o)
{
    cJSON *n = o->node++;
    memset(n, 0, sizeof *n);
    n->type = x->type;
    n->valueint = x->valueint;
    n->valuedouble = x->valuedouble;
    n->string = x->string ? lp_str(o, x->string) : NULL;
    n->valuestring = x->valuestring ? lp_str(o, x->valuestring) : NULL;
    cJSON *last = NULL;
    for (const cJSON *c = x->child; c; c = c->next) {
        cJSON *k = lp_copy(c, o);
        if (last) {
            last->next = k;
            k->prev = last;
        } else {
            n->child = k;
        }
        last = k;
    }
    if (n->child)
        n->child->prev = last;
    return n;
}

cJSON *mla__pack(const cJSON *item)
{
    struct lp_size sz = {0};
    lp_measure(item, &sz);
    /* the nodes first (the block's alignment suits them), the strings after them */
    cJSON *block = mla_xmalloc(sz.nodes * sizeof(cJSON) + sz.bytes);
    struct lp_out o = {.node = block, .str = (char *)(block + sz.nodes)};
    cJSON *root = lp_copy(item, &o);
    root->string = NULL; /* an item of a list has no name; a member copied alone neither */
    return root;
}

void mla__pack_free(cJSON *packed)
{
    free(packed); /* the root is the block's first node */
}

void mla__pack_list_delete(cJSON *list)
{
    if (!list)
        return;
    cJSON *x = list->child;
    while (x) {
        cJSON *next = x->next;
        mla__pack_free(x);
        x = next;
    }
    list->child = NULL;
    cJSON_Delete(list);
}

/* Out of memory aborts (mem.h): cJSON's print and parse of an object it printed fail on
 * nothing else. */
static void lp_oom(void)
{
    fputs("ml-autoscaling: out of memory (listed object)\n", stderr);
    abort();
}

static void lp_copy_member(cJSON *to, const cJSON *from, const char *name)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(from, name);
    if (m)
        cJSON_AddItemToObject(to, name, cJSON_Duplicate(m, 1)); /* to takes the copy */
}

cJSON *mla__pack_summary(const cJSON *item)
{
    cJSON *s = cJSON_CreateObject();
    lp_copy_member(s, item, "kind");
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(item, "metadata");
    cJSON *smd = cJSON_AddObjectToObject(s, "metadata");
    static const char *const meta[] = {"name", "namespace", "uid", "deletionTimestamp"};
    for (size_t i = 0; i < sizeof meta / sizeof meta[0]; i++)
        lp_copy_member(smd, md, meta[i]);
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(item, "spec");
    if (cJSON_IsObject(spec)) {
        cJSON *sspec = cJSON_AddObjectToObject(s, "spec");
        lp_copy_member(sspec, spec, "replicas");
    }
    char *text = cJSON_PrintUnformatted(item);
    if (!text)
        lp_oom();
    cJSON_AddItemToObject(s, LP_WHOLE, cJSON_CreateString(text)); /* s takes the string */
    free(text);
    cJSON *packed = mla__pack(s);
    cJSON_Delete(s);
    return packed;
}

cJSON *mla__reconcile_whole(const cJSON *item)
{
    const char *text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, LP_WHOLE));
    if (!text)
        return NULL;
    cJSON *whole = cJSON_Parse(text);
    if (!whole)
        lp_oom();
    return whole;
}
