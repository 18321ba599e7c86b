/* controller/listpack.c - listed objects held as read-only cJSON trees packed in one block each,
 * their member names shared by a pass, and summaries of workloads (reconcile-int.h).
 * Why: the leader's pass holds every listed ScaledObject and Deployment at once while it plans,
 * and a parsed tree costs a malloc per node and per string (a 64-byte node takes an 80-byte
 * chunk, a 5-byte string a 32-byte one), and repeats in every object the same member names
 * ("ml-autoscaling.io/forecast-confidence", ...): a trimmed ScaledObject of 49 nodes weighs
 * 6.9 KB parsed and about 4 KB packed, 29 MB less at 10,000 ScaledObjects (docs/benchmarks.md,
 * "Issue 14: the loop at scale"). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mla/mem.h"
#include "objidx-int.h"
#include "reconcile-int.h"

/* The member of a summary holding the whole object's text: a name no Kubernetes object has at
 * its top level (apiVersion, kind, metadata, spec, status, and data-like members are
 * lowerCamelCase words). */
#define LP_WHOLE "mla.whole/json"

/* Member names, each stored once: open addressing on owned copies. */
struct mla__pack_keys {
    char **slot; /* owned strings, cap of them; NULL: free */
    size_t cap, n;
};

struct mla__pack_keys *mla__pack_keys_create(void)
{
    struct mla__pack_keys *k = mla_xcalloc(1, sizeof *k);
    k->cap = 256;
    k->slot = mla_xcalloc(k->cap, sizeof *k->slot);
    return k;
}

void mla__pack_keys_destroy(struct mla__pack_keys *k)
{
    if (!k)
        return;
    for (size_t i = 0; i < k->cap; i++)
        free(k->slot[i]);
    free(k->slot);
    free(k);
}

static char **lp_keys_find(char **slot, size_t cap, const char *s)
{
    size_t i = mla__objidx_hash(s, NULL) & (cap - 1);
    while (slot[i] && strcmp(slot[i], s))
        i = (i + 1) & (cap - 1);
    return &slot[i];
}

/* The shared copy of `s` (borrowed from the table). */
static const char *lp_key(struct mla__pack_keys *k, const char *s)
{
    char **at = lp_keys_find(k->slot, k->cap, s);
    if (*at)
        return *at;
    if (2 * (k->n + 1) > k->cap) { /* at most half full: short probes */
        size_t cap = 2 * k->cap;
        char **slot = mla_xcalloc(cap, sizeof *slot);
        for (size_t i = 0; i < k->cap; i++)
            if (k->slot[i])
                *lp_keys_find(slot, cap, k->slot[i]) = k->slot[i];
        free(k->slot);
        k->slot = slot;
        k->cap = cap;
        at = lp_keys_find(k->slot, k->cap, s);
    }
    k->n++;
    return *at = mla_xstrdup(s);
}

struct lp_size {
    size_t nodes, bytes; /* bytes: of the strings in the block, NULs included */
};

static void lp_measure(const cJSON *x, bool shared_keys, struct lp_size *sz)
{
    sz->nodes++;
    if (x->string && !shared_keys)
        sz->bytes += strlen(x->string) + 1;
    if (x->valuestring)
        sz->bytes += strlen(x->valuestring) + 1;
    for (const cJSON *c = x->child; c; c = c->next)
        lp_measure(c, shared_keys, sz);
}

struct lp_out {
    cJSON *node;                 /* the next free node */
    char *str;                   /* the next free string byte */
    struct mla__pack_keys *keys; /* borrowed, NULL: names stored in the block */
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
    /* cJSON's own names are never const, but nothing frees a packed tree's strings */
    n->string = !x->string ? NULL
                : o->keys  ? (char *)lp_key(o->keys, x->string)
                           : lp_str(o, x->string);
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

cJSON *mla__pack(const cJSON *item, struct mla__pack_keys *keys)
{
    struct lp_size sz = {0};
    lp_measure(item, keys != NULL, &sz);
    /* the nodes first (the block's alignment suits them), the strings after them */
    cJSON *block = mla_xmalloc(sz.nodes * sizeof(cJSON) + sz.bytes);
    struct lp_out o = {.node = block, .str = (char *)(block + sz.nodes), .keys = keys};
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

cJSON *mla__pack_summary(const cJSON *item, struct mla__pack_keys *keys)
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
    cJSON *packed = mla__pack(s, keys);
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
