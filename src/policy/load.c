/* load.c - PLACEHOLDER until the policy engine (issue 3) lands: a policy set that records the
 * directory, holds no policies, and is refcounted for real. The policy engine replaces this file.
 */
#include <dirent.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "mla/mem.h"
#include "mla/policy.h"

struct mla_policy_set {
    _Atomic int refs;
    char *dir;
};

enum mla_code mla_policy_set_load_dir(const char *dir, struct mla_policy_set **out,
                                      struct mla_err *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return mla_err_set(err, MLA_EIO, "cannot open policy directory %s", dir);
    closedir(d);
    struct mla_policy_set *ps = mla_xcalloc(1, sizeof *ps);
    atomic_init(&ps->refs, 1);
    ps->dir = mla_xstrdup(dir);
    *out = ps;
    return MLA_OK;
}

void mla_policy_set_ref(struct mla_policy_set *ps)
{
    if (ps)
        atomic_fetch_add(&ps->refs, 1);
}

void mla_policy_set_unref(struct mla_policy_set *ps)
{
    if (ps && atomic_fetch_sub(&ps->refs, 1) == 1) {
        free(ps->dir);
        free(ps);
    }
}

const char *mla_policy_set_hash(const struct mla_policy_set *ps)
{
    (void)ps;
    return "sha256:none";
}

size_t mla_policy_set_count(const struct mla_policy_set *ps)
{
    (void)ps;
    return 0;
}
