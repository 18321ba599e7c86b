/* base/arena.c - per-thread bump arena behind cJSON's allocation hooks (see arena.h). */
#include "mla/arena.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "mla/mem.h"

#if defined(__SANITIZE_ADDRESS__)
#define ARENA_DISABLED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_DISABLED 1
#endif
#endif
#ifndef ARENA_DISABLED
#define ARENA_DISABLED 0
#endif

#define ARENA_BYTES (512u * 1024u) /* a 3 KB review needs ~20 KB; the rest is headroom */
#define ARENA_ALIGN 16u

struct arena {
    char *base; /* owned: ARENA_BYTES, allocated on the thread's first begin */
    size_t used;
    bool active;
};

static _Thread_local struct arena tl_arena;
static pthread_key_t arena_key; /* its destructor frees a thread's block at thread exit */
static pthread_once_t arena_once = PTHREAD_ONCE_INIT;
static bool arena_installed;    /* written once before threads start */

static void *arena_malloc(size_t n)
{
    struct arena *a = &tl_arena;
    if (a->active) {
        size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
        if (need >= n && need <= ARENA_BYTES - a->used) {
            void *p = a->base + a->used;
            a->used += need;
            return p;
        }
    }
    return malloc(n);
}

static void arena_free(void *p)
{
    struct arena *a = &tl_arena;
    if (a->base && (uintptr_t)p >= (uintptr_t)a->base &&
        (uintptr_t)p < (uintptr_t)a->base + ARENA_BYTES)
        return; /* released with the whole arena at mla_arena_end */
    free(p);
}

static void arena_thread_exit(void *block) { free(block); }

static void arena_key_init(void) { (void)pthread_key_create(&arena_key, arena_thread_exit); }

void mla_arena_install(void)
{
    if (ARENA_DISABLED || arena_installed)
        return;
    pthread_once(&arena_once, arena_key_init);
    cJSON_Hooks hooks = {.malloc_fn = arena_malloc, .free_fn = arena_free};
    cJSON_InitHooks(&hooks);
    arena_installed = true;
}

void mla_arena_begin(void)
{
    if (!arena_installed)
        return;
    struct arena *a = &tl_arena;
    if (!a->base) {
        a->base = mla_xmalloc(ARENA_BYTES);
        (void)pthread_setspecific(arena_key, a->base);
    }
    a->used = 0;
    a->active = true;
}

void mla_arena_end(void)
{
    tl_arena.active = false;
    tl_arena.used = 0;
}

bool mla_arena_set_active(bool on)
{
    bool was = tl_arena.active;
    if (tl_arena.base)
        tl_arena.active = on;
    return was;
}

size_t mla_arena_used(void) { return tl_arena.used; }
