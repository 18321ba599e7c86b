/* policy.h - admin policy files: load, validate, hold as an immutable snapshot, swap atomically.
 *
 * A policy set is everything loaded from one directory of policy files (YAML or JSON). Once
 * loaded it never changes: readers (request threads, the loop) take a reference, use it, and
 * drop it; a reload builds a new set and publishes it in the store; the old one is freed when
 * its last reader drops it. A failed reload never replaces the last good set.
 *
 * Ownership: mla_policy_set_load_dir() returns a new set with one reference (the caller's).
 * mla_policy_store_acquire() returns a new reference; release it with mla_policy_set_unref().
 * Threading: a set is immutable, so any thread may read it while holding a reference. The store
 * is any-thread (a mutex guards the pointer swap; refcounts are atomic).
 */
#ifndef MLA_POLICY_H
#define MLA_POLICY_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "mla/err.h"

struct mla_policy_set; /* opaque, immutable after load */

/* Loads and validates every *.yaml, *.yml and *.json file in dir (sorted by name). On error
 * `err` names file, line and column; nothing is returned. An empty directory is an error. */
enum mla_code mla_policy_set_load_dir(const char *dir, struct mla_policy_set **out,
                                      struct mla_err *err) MLA_MUST_CHECK;

/* Every error found, for `lint` (each with file, line, column). Caller-embedded; init cannot
 * fail; fini frees the list. */
struct mla_policy_diags {
    struct mla_err *items; /* owned */
    size_t n, cap;
};
void mla_policy_diags_init(struct mla_policy_diags *d);
void mla_policy_diags_fini(struct mla_policy_diags *d);

/* Like mla_policy_set_load_dir(), collecting every error into diags (may be NULL); err gets
 * the first one. */
enum mla_code mla_policy_set_load_dir_diags(const char *dir, struct mla_policy_set **out,
                                            struct mla_policy_diags *diags, struct mla_err *err)
    MLA_MUST_CHECK;
/* Loads n in-memory files (names[i] is what errors call the file; texts[i] its content). */
enum mla_code mla_policy_set_load_texts(const char *const *names, const char *const *texts,
                                        size_t n, struct mla_policy_set **out,
                                        struct mla_policy_diags *diags, struct mla_err *err)
    MLA_MUST_CHECK;
/* Number of profiles over all policies. */
size_t mla_policy_set_profile_count(const struct mla_policy_set *ps);

void mla_policy_set_ref(struct mla_policy_set *ps);
/* Drops a reference; frees the set with the last one. NULL is allowed. */
void mla_policy_set_unref(struct mla_policy_set *ps);

/* The content hash of the whole set ("sha256:<hex>", borrowed from the set). */
const char *mla_policy_set_hash(const struct mla_policy_set *ps);
/* Number of policies in the set. */
size_t mla_policy_set_count(const struct mla_policy_set *ps);

/* The holder of the current set. Embedded by its owner (serve). */
struct mla_policy_store {
    pthread_mutex_t mu;
    struct mla_policy_set *current; /* guarded by mu; the store holds one reference */
    char dir[4096];                 /* immutable after init */
    char last_error[1024];          /* guarded by mu: "" when the last load succeeded */
    long long loaded_at;            /* guarded by mu: unix time of the current set's load */
    unsigned long reload_failures;  /* guarded by mu */
};

/* Loads dir; on failure the store is not initialised and err says why. */
enum mla_code mla_policy_store_init(struct mla_policy_store *st, const char *dir,
                                    struct mla_err *err) MLA_MUST_CHECK;
void mla_policy_store_fini(struct mla_policy_store *st);
/* A new reference to the current set; never NULL after a successful init. */
struct mla_policy_set *mla_policy_store_acquire(struct mla_policy_store *st);
/* Reloads dir: publishes the new set on success; on failure keeps the old one, records the
 * error (last_error, reload_failures) and returns it. */
enum mla_code mla_policy_store_reload(struct mla_policy_store *st, struct mla_err *err)
    MLA_MUST_CHECK;
/* Copies the last reload error ("" when healthy) into out. */
void mla_policy_store_status(struct mla_policy_store *st, char *out, size_t n);

#endif
