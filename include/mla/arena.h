/* arena.h - bump allocation: one allocator for memory that is released all at once.
 *
 * Two users, one bump routine:
 *
 * - struct mla_arena: a growable arena (a chain of blocks) for objects that live and die
 *   together, e.g. a compiled policy set. mla_arena_fini() frees everything.
 *
 * - the request arena: a per-thread block behind cJSON's allocation hooks, active while a
 *   request is handled. Why: parsing an AdmissionReview makes a few hundred small cJSON
 *   allocations and frees them all a few microseconds later; with libc malloc that was a third
 *   of the webhook's CPU. While a thread's arena is active, cJSON's allocations come from its
 *   arena and cJSON's frees of arena memory do nothing; mla_arena_end() releases everything at
 *   once. Inactive threads (and memory allocated outside an active window) go to libc as usual,
 *   so cJSON trees that outlive a request (policy sets, the API side's copies) are unaffected as
 *   long as they are not created inside an active window. Rule: nothing allocated by cJSON
 *   between begin and end may be kept after end. An arena that fills up falls back to malloc
 *   for the rest of the request.
 *
 * Under AddressSanitizer both arenas stay on (the allocation path production uses is the one
 * tested): the unused part of a block is poisoned, every allocation is followed by a poisoned
 * red zone, and memory released by mla_arena_end()/mla_arena_fini() is poisoned, so overflows
 * and uses after release are reported as they would be for malloc.
 *
 * Ownership: a struct mla_arena is caller-embedded and owns its blocks; memory from it is
 * borrowed (valid until mla_arena_fini). Each thread's request block is owned by that thread,
 * freed when it exits.
 * Threading: a struct mla_arena is used by one thread at a time. The request arena: install once
 * before threads start; begin/end/set_active act on the calling thread.
 */
#ifndef MLA_ARENA_H
#define MLA_ARENA_H

#include <stdbool.h>
#include <stddef.h>

struct mla_arena_blk;
struct mla_arena {
    struct mla_arena_blk *head; /* owned; NULL (zero-initialised) is an empty arena */
};

/* n bytes, zeroed, 16-byte aligned; aborts when out of memory (like mla_xmalloc). */
void *mla_arena_alloc(struct mla_arena *a, size_t n);
/* A copy of s in the arena. */
char *mla_arena_strdup(struct mla_arena *a, const char *s);
/* Frees every block; the arena is empty again. */
void mla_arena_fini(struct mla_arena *a);

/* Routes cJSON's allocations through the request-arena hooks (cJSON_InitHooks). Idempotent. */
void mla_arena_install(void);

/* ---- private to arena.c and mla_arena_cjson_malloc below */
#if defined(__SANITIZE_ADDRESS__)
#define MLA__ARENA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MLA__ARENA_ASAN 1
#endif
#endif
#ifndef MLA__ARENA_ASAN
#define MLA__ARENA_ASAN 0
#endif
#define MLA__ARENA_BYTES (512u * 1024u) /* request arena: a 3 KB review needs ~20 KB */
struct mla__req_arena {
    unsigned char *base; /* owned: MLA__ARENA_BYTES, allocated on the thread's first begin */
    size_t used;
    bool active; /* only ever true once installed */
    /* cJSON allocations of this thread that went to malloc (arena full or inactive), ever:
     * mla_arena_holds_since compares it with a mark */
    size_t spills;
};
extern _Thread_local struct mla__req_arena mla__tl_arena;
void *mla__arena_cjson_malloc_slow(size_t n);

/* The one bump step of every arena: n bytes (and redzone more, 16-aligned) from
 * base[*used..cap), or NULL when they do not fit. arena.c adds the ASan poisoning around it. */
static inline void *mla__arena_bump(unsigned char *base, size_t *used, size_t cap, size_t n,
                                    size_t redzone)
{
    size_t need = (n + redzone + 15u) & ~(size_t)15u;
    if (need < n || need > cap - *used)
        return NULL;
    void *p = base + *used;
    *used += need;
    return p;
}

/* What cJSON_malloc(n) returns, as a direct call: with mla_arena_install's hooks, the calling
 * thread's request arena while it is active, else malloc; without them, cJSON_malloc itself.
 * Why: the review's tree and the decision's make a few hundred allocations per request, and
 * going through cJSON's exported wrapper and its hook pointer cost more than the bump, which is
 * inlined here. new: freed by cJSON_free / cJSON_Delete like any cJSON memory (the same hooks
 * decide). Assumes no one but mla_arena_install replaced cJSON's hooks after it. */
static inline void *mla_arena_cjson_malloc(size_t n)
{
#if !MLA__ARENA_ASAN /* with ASan every allocation gets a red zone: arena.c does it */
    struct mla__req_arena *a = &mla__tl_arena;
    void *p = a->active ? mla__arena_bump(a->base, &a->used, MLA__ARENA_BYTES, n, 0) : NULL;
    if (p)
        return p;
#endif
    return mla__arena_cjson_malloc_slow(n);
}

/* Activates the calling thread's request arena (a no-op unless installed). */
void mla_arena_begin(void);
/* Deactivates it and releases everything allocated in it. */
void mla_arena_end(void);
/* Switches the calling thread's arena on or off without releasing; returns the previous state.
 * Used around callbacks that may keep what they allocate. */
bool mla_arena_set_active(bool on);

/* Whether trees built in a window can be dropped without cJSON_Delete. A mark taken after
 * mla_arena_begin(); mla_arena_holds_since(mark) is true when the calling thread's arena is
 * installed and active and every cJSON allocation of the thread since the mark came from it
 * (none went to malloc: the arena was never full, nothing was allocated while it was switched
 * off). A cJSON tree wholly built since the mark (its nodes, keys and strings allocated by
 * cJSON, nothing attached that was allocated before) is then released by mla_arena_end()
 * alone: deleting it node by node would only walk it (cJSON's frees of arena memory do
 * nothing). */
size_t mla_arena_mark(void);
bool mla_arena_holds_since(size_t mark);

/* Bytes used in the calling thread's arena (tests). */
size_t mla_arena_used(void);

#endif
