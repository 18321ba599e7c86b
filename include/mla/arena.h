/* arena.h - a per-thread bump arena that cJSON allocates from while a request is handled.
 *
 * Why: parsing an AdmissionReview makes a few hundred small cJSON allocations and frees them all
 * a few microseconds later; with libc malloc that was a third of the webhook's CPU. While a
 * thread's arena is active, cJSON's allocations come from its arena and cJSON's frees of arena
 * memory do nothing; mla_arena_end() releases everything at once. Inactive threads (and memory
 * allocated outside an active window) go to libc as usual, so cJSON trees that outlive a request
 * (policy sets, the API side's copies) are unaffected as long as they are not created inside an
 * active window. Rule: nothing allocated by cJSON between begin and end may be kept after end.
 * An arena that fills up falls back to malloc for the rest of the request.
 * Sanitizer builds (ASan) never activate the arena, so they still see every allocation.
 *
 * Ownership: each thread's arena block is owned by that thread, freed when it exits.
 * Threading: install once before threads start; begin/end/set_active act on the calling thread.
 */
#ifndef MLA_ARENA_H
#define MLA_ARENA_H

#include <stdbool.h>
#include <stddef.h>

/* Routes cJSON's allocations through the arena hooks (cJSON_InitHooks). Idempotent. */
void mla_arena_install(void);

/* Activates the calling thread's arena (a no-op unless installed, or in a sanitizer build). */
void mla_arena_begin(void);
/* Deactivates it and releases everything allocated in it. */
void mla_arena_end(void);
/* Switches the calling thread's arena on or off without releasing; returns the previous state.
 * Used around callbacks that may keep what they allocate. */
bool mla_arena_set_active(bool on);

/* Bytes used in the calling thread's arena (tests). */
size_t mla_arena_used(void);

#endif
