/* controller/objidx.c - the reconcile pass's hash index over listed objects (objidx-int.h):
 * two open-addressing tables (FNV-1a, linear probing, kept at most half full), one keyed by
 * namespace/name, one by namespace holding each namespace's objects in list order. */
#include "objidx-int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mla/kube.h"
#include "mla/mem.h"

struct oi_obj {
    const char *ns, *name; /* borrowed from the object; NULL: empty slot */
    uint64_t h;
    const cJSON *obj;
};

struct oi_ns {
    const char *ns; /* borrowed; NULL: empty slot */
    uint64_t h;
    const cJSON **v; /* owned array of borrowed objects */
    size_t n, cap;
};

struct mla__objidx {
    struct oi_obj *obj; /* owned, nobj slots (a power of two) */
    size_t nobj, usedobj;
    struct oi_ns *ns;   /* owned, nns slots (a power of two) */
    size_t nns, usedns;
};

uint64_t mla__objidx_hash(const char *a, const char *b)
{
    uint64_t h = 1469598103934665603ull;
    for (; *a; a++)
        h = (h ^ (unsigned char)*a) * 1099511628211ull;
    if (b) {
        h = (h ^ 0x2f) * 1099511628211ull; /* '/' can appear in neither part */
        for (; *b; b++)
            h = (h ^ (unsigned char)*b) * 1099511628211ull;
    }
    return h;
}

struct mla__objidx *mla__objidx_create(void)
{
    struct mla__objidx *x = mla_xcalloc(1, sizeof *x);
    x->nobj = x->nns = 16;
    x->obj = mla_xcalloc(x->nobj, sizeof *x->obj);
    x->ns = mla_xcalloc(x->nns, sizeof *x->ns);
    return x;
}

void mla__objidx_destroy(struct mla__objidx *x)
{
    if (!x)
        return;
    for (size_t i = 0; i < x->nns; i++)
        free(x->ns[i].v);
    free(x->ns);
    free(x->obj);
    free(x);
}

static struct oi_obj *oi_obj_slot(struct oi_obj *t, size_t cap, uint64_t h, const char *ns,
                                  const char *name)
{
    size_t i = (size_t)h & (cap - 1);
    while (t[i].ns && !(t[i].h == h && !strcmp(t[i].ns, ns) && !strcmp(t[i].name, name)))
        i = (i + 1) & (cap - 1);
    return &t[i];
}

static struct oi_ns *oi_ns_slot(struct oi_ns *t, size_t cap, uint64_t h, const char *ns)
{
    size_t i = (size_t)h & (cap - 1);
    while (t[i].ns && !(t[i].h == h && !strcmp(t[i].ns, ns)))
        i = (i + 1) & (cap - 1);
    return &t[i];
}

static void oi_grow(struct mla__objidx *x)
{
    if (2 * (x->usedobj + 1) > x->nobj) {
        size_t cap = 2 * x->nobj;
        struct oi_obj *t = mla_xcalloc(cap, sizeof *t);
        for (size_t i = 0; i < x->nobj; i++)
            if (x->obj[i].ns)
                *oi_obj_slot(t, cap, x->obj[i].h, x->obj[i].ns, x->obj[i].name) = x->obj[i];
        free(x->obj);
        x->obj = t;
        x->nobj = cap;
    }
    if (2 * (x->usedns + 1) > x->nns) {
        size_t cap = 2 * x->nns;
        struct oi_ns *t = mla_xcalloc(cap, sizeof *t);
        for (size_t i = 0; i < x->nns; i++)
            if (x->ns[i].ns)
                *oi_ns_slot(t, cap, x->ns[i].h, x->ns[i].ns) = x->ns[i];
        free(x->ns);
        x->ns = t;
        x->nns = cap;
    }
}

void mla__objidx_add(struct mla__objidx *x, const cJSON *items)
{
    const cJSON *o;
    cJSON_ArrayForEach(o, items)
    {
        const char *ns = mla_kube_meta_str(o, "namespace");
        const char *name = mla_kube_meta_str(o, "name");
        if (!ns || !name)
            continue;
        oi_grow(x);
        uint64_t h = mla__objidx_hash(ns, name);
        struct oi_obj *s = oi_obj_slot(x->obj, x->nobj, h, ns, name);
        if (!s->ns) { /* the first one wins, as in a scan */
            *s = (struct oi_obj){.ns = ns, .name = name, .h = h, .obj = o};
            x->usedobj++;
        }
        uint64_t hn = mla__objidx_hash(ns, NULL);
        struct oi_ns *g = oi_ns_slot(x->ns, x->nns, hn, ns);
        if (!g->ns) {
            *g = (struct oi_ns){.ns = ns, .h = hn};
            x->usedns++;
        }
        if (g->n == g->cap) {
            g->cap = g->cap ? 2 * g->cap : 8;
            g->v = mla_xrealloc(g->v, g->cap * sizeof *g->v);
        }
        g->v[g->n++] = o;
    }
}

const cJSON *mla__objidx_find(const struct mla__objidx *x, const char *ns, const char *name)
{
    if (!x || !ns || !name)
        return NULL;
    const struct oi_obj *s = oi_obj_slot(x->obj, x->nobj, mla__objidx_hash(ns, name), ns, name);
    return s->ns ? s->obj : NULL;
}

const cJSON *const *mla__objidx_in_ns(const struct mla__objidx *x, const char *ns, size_t *n)
{
    *n = 0;
    if (!x || !ns)
        return NULL;
    const struct oi_ns *g = oi_ns_slot(x->ns, x->nns, mla__objidx_hash(ns, NULL), ns);
    if (!g->ns)
        return NULL;
    *n = g->n;
    return g->v;
}
