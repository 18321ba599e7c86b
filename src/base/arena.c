/* base/arena.c - bump allocation (see arena.h): the growable arena of policy sets and the
 * per-thread request arena behind cJSON's allocation hooks, on one bump routine. */
#include "mla/arena.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mla/mem.h"

#define ARENA_ASAN MLA__ARENA_ASAN

#if ARENA_ASAN
#include <sanitizer/asan_interface.h>
#define ARENA_REDZONE 16u /* poisoned gap after every allocation: overflows hit it */
#define ARENA_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define ARENA_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define ARENA_REDZONE 0u
#define ARENA_POISON(p, n) ((void)(p), (void)(n))
#define ARENA_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define ARENA_ALIGN 16u /* mla__arena_bump's alignment */
#define ARENA_BLOCK (16u * 1024u)       /* growable arena: default block size */
#define ARENA_BYTES MLA__ARENA_BYTES

/* The one bump step (arena.h), its red zone poisoned under ASan. */
static void *arena_bump(unsigned char *base, size_t *used, size_t cap, size_t n)
{
    void *p = mla__arena_bump(base, used, cap, n, ARENA_REDZONE);
    if (p)
        ARENA_UNPOISON(p, n);
    return p;
}

/* ---- the growable arena */

struct mla_arena_blk {
    struct mla_arena_blk *next;
    size_t used, cap;
    _Alignas(max_align_t) unsigned char data[];
};

void *mla_arena_alloc(struct mla_arena *a, size_t n)
{
    void *p = a->head ? arena_bump(a->head->data, &a->head->used, a->head->cap, n) : NULL;
    if (!p) {
        size_t cap = n + ARENA_REDZONE + ARENA_ALIGN;
        if (cap < ARENA_BLOCK)
            cap = ARENA_BLOCK;
        struct mla_arena_blk *b = mla_xmalloc(sizeof *b + cap);
        b->next = a->head;
        b->used = 0;
        b->cap = cap;
        ARENA_POISON(b->data, cap);
        a->head = b;
        p = arena_bump(b->data, &b->used, b->cap, n);
    }
    memset(p, 0, n);
    return p;
}

char *mla_arena_strdup(struct mla_arena *a, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = mla_arena_alloc(a, n);
    memcpy(p, s, n);
    return p;
}

void mla_arena_fini(struct mla_arena *a)
{
    while (a->head) {
        struct mla_arena_blk *n = a->head->next;
        ARENA_UNPOISON(a->head->data, a->head->cap); /* free() must not see poisoned bytes */
        free(a->head);
        a->head = n;
    }
}

/* ---- the request arena */

/* The thread's request arena (arena.h: its bump is inlined there too). */
_Thread_local struct mla__req_arena mla__tl_arena;
static pthread_key_t arena_key; /* its destructor frees a thread's block at thread exit */
static pthread_once_t arena_once = PTHREAD_ONCE_INIT;
static bool arena_installed;    /* written once before threads start */

static void *arena_malloc(size_t n)
{
    struct mla__req_arena *a = &mla__tl_arena;
    void *p = a->active ? arena_bump(a->base, &a->used, ARENA_BYTES, n) : NULL;
    if (p)
        return p;
    a->spills++;
    return malloc(n);
}

static void arena_free(void *p)
{
    struct mla__req_arena *a = &mla__tl_arena;
    if (a->base && (uintptr_t)p >= (uintptr_t)a->base &&
        (uintptr_t)p < (uintptr_t)a->base + ARENA_BYTES)
        return; /* released with the whole arena at mla_arena_end */
    free(p);
}

static void arena_thread_exit(void *block)
{
    ARENA_UNPOISON(block, ARENA_BYTES);
    free(block);
}

static void arena_key_init(void) { (void)pthread_key_create(&arena_key, arena_thread_exit); }

void mla_arena_install(void)
{
    if (arena_installed)
        return;
    pthread_once(&arena_once, arena_key_init);
    cJSON_Hooks hooks = {.malloc_fn = arena_malloc, .free_fn = arena_free};
    cJSON_InitHooks(&hooks);
    arena_installed = true;
}

void *mla__arena_cjson_malloc_slow(size_t n)
{
    return arena_installed ? arena_malloc(n) : cJSON_malloc(n);
}

void mla_arena_begin(void)
{
    if (!arena_installed)
        return;
    struct mla__req_arena *a = &mla__tl_arena;
    if (!a->base) {
        a->base = mla_xmalloc(ARENA_BYTES);
        ARENA_POISON(a->base, ARENA_BYTES);
        (void)pthread_setspecific(arena_key, a->base);
    }
    a->used = 0;
    a->active = true;
}

void mla_arena_end(void)
{
    struct mla__req_arena *a = &mla__tl_arena;
    if (a->base)
        ARENA_POISON(a->base, a->used);
    a->active = false;
    a->used = 0;
}

bool mla_arena_set_active(bool on)
{
    bool was = mla__tl_arena.active;
    if (mla__tl_arena.base)
        mla__tl_arena.active = on;
    return was;
}

size_t mla_arena_mark(void) { return mla__tl_arena.spills; }

bool mla_arena_holds_since(size_t mark)
{
    return arena_installed && mla__tl_arena.active && mla__tl_arena.spills == mark;
}

size_t mla_arena_used(void) { return mla__tl_arena.used; }
