/* policy/store.c - the current policy set, swapped atomically on reload (see policy.h).
 *
 * DESIGN: readers take a reference under the mutex (a few instructions) and then read the
 * immutable set without any lock; a reload loads the new set outside the mutex (it may take
 * milliseconds of YAML parsing) and swaps the pointer under it. The old set lives until its
 * last reader unrefs it.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "mla/log.h"
#include "mla/policy.h"

/* The directory to read one version of the policies from. A ConfigMap volume holds
 * NAME -> ..data/NAME links and ..data -> ..<timestamp>/, which kubelet swaps atomically; opening
 * the NAME links one by one during a swap reads some files of the old version and some of the new,
 * a set that never existed, and it would be served until the next reload. Reading the resolved
 * ..data directory gives every file of one version (if kubelet removes it meanwhile, the load
 * fails, the last good set stays, and the next poll sees the change). Anything else: dir. */
static const char *store_snapshot_dir(const char *dir, char *buf, size_t n)
{
    char link[PATH_MAX];
    struct stat st;
    snprintf(link, sizeof link, "%s/..data", dir);
    if (lstat(link, &st) != 0 || !S_ISLNK(st.st_mode))
        return dir;
    char *real = realpath(link, NULL);
    if (!real)
        return dir;
    snprintf(buf, n, "%s", real);
    free(real);
    return buf;
}

enum mla_code mla_policy_store_init(struct mla_policy_store *st, const char *dir,
                                    struct mla_err *err)
{
    struct mla_policy_set *ps = NULL;
    char snap[PATH_MAX];
    enum mla_code rc = mla_policy_set_load_dir(store_snapshot_dir(dir, snap, sizeof snap), &ps, err);
    if (rc != MLA_OK)
        return rc;
    memset(st, 0, sizeof *st);
    pthread_mutex_init(&st->mu, NULL);
    snprintf(st->dir, sizeof st->dir, "%s", dir);
    st->current = ps;
    st->loaded_at = (long long)time(NULL);
    return MLA_OK;
}

void mla_policy_store_fini(struct mla_policy_store *st)
{
    mla_policy_set_unref(st->current);
    st->current = NULL;
    pthread_mutex_destroy(&st->mu);
}

struct mla_policy_set *mla_policy_store_acquire(struct mla_policy_store *st)
{
    pthread_mutex_lock(&st->mu);
    struct mla_policy_set *ps = st->current;
    mla_policy_set_ref(ps);
    pthread_mutex_unlock(&st->mu);
    return ps;
}

enum mla_code mla_policy_store_reload(struct mla_policy_store *st, struct mla_err *err)
{
    struct mla_err local;
    mla_err_clear(&local);
    struct mla_policy_set *ps = NULL;
    char snap[PATH_MAX];
    enum mla_code rc =
        mla_policy_set_load_dir(store_snapshot_dir(st->dir, snap, sizeof snap), &ps, &local);
    char line[1200];
    mla_err_format(&local, line, sizeof line);
    pthread_mutex_lock(&st->mu);
    struct mla_policy_set *old = NULL;
    if (rc == MLA_OK) {
        old = st->current;
        st->current = ps;
        st->last_error[0] = '\0';
        st->loaded_at = (long long)time(NULL);
    } else {
        snprintf(st->last_error, sizeof st->last_error, "%s", line);
        st->reload_failures++;
    }
    pthread_mutex_unlock(&st->mu);
    if (rc == MLA_OK) {
        mla_log(MLA_LOG_INFO, "policy", "reloaded policies from %s: %zu policies, %s", st->dir,
                mla_policy_set_count(ps), mla_policy_set_hash(ps));
        mla_policy_set_unref(old);
        return MLA_OK;
    }
    mla_log(MLA_LOG_ERROR, "policy", "policy reload failed, keeping the last good set: %s", line);
    if (err)
        *err = local;
    return rc;
}

void mla_policy_store_status(struct mla_policy_store *st, char *out, size_t n)
{
    pthread_mutex_lock(&st->mu);
    snprintf(out, n, "%s", st->last_error);
    pthread_mutex_unlock(&st->mu);
}
