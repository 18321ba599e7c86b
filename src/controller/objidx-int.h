/* objidx-int.h - a hash index over lists of Kubernetes objects (cJSON arrays as the API lists
 * them), by namespace/name and by namespace, so that a reconcile pass looks an object up in
 * O(1) instead of scanning a list per Deployment or per action (O(N^2) at 10,000).
 *
 * Lookups answer what a first-to-last scan of the lists, in the order they were added, would
 * answer: the first object with that namespace/name; the objects of a namespace in list order.
 * Objects without metadata.namespace or metadata.name are not indexed (no scan matched them).
 *
 * Ownership: the index is new from mla__objidx_create (mla__objidx_destroy); the lists and the
 * objects are borrowed and must outlive it (it keeps pointers into them, copies nothing).
 * Threading: build, then read; one thread at a time (the pass's).
 */
#ifndef MLA_CONTROLLER_OBJIDX_INT_H
#define MLA_CONTROLLER_OBJIDX_INT_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct mla__objidx;

/* FNV-1a of `a`, or of "a/b" when b is not NULL, as the index and listpack.c's shared member
 * names hash their keys. */
uint64_t mla__objidx_hash(const char *a, const char *b);

/* New, empty. */
struct mla__objidx *mla__objidx_create(void);
void mla__objidx_destroy(struct mla__objidx *x);
/* Indexes every object of `items` (a cJSON array, NULL allowed), after those already added. */
void mla__objidx_add(struct mla__objidx *x, const cJSON *items);
/* The first object added with that namespace and name; NULL when none. */
const cJSON *mla__objidx_find(const struct mla__objidx *x, const char *ns, const char *name);
/* The objects of namespace ns in the order added (*n of them; NULL and 0 when none). The array
 * is borrowed from the index (valid until the next add or destroy). */
const cJSON *const *mla__objidx_in_ns(const struct mla__objidx *x, const char *ns, size_t *n);

#endif
