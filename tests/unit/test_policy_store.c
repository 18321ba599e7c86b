/* test_policy_store.c - the policy store reads a ConfigMap volume (NAME -> ..data/NAME,
 * ..data -> ..<version>/) through ..data, so one load sees one version of every file, never the
 * links of a swap in progress. */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mla/policy.h"

static void write_policy(const char *dir, int max)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/10-p.yaml", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, "apiVersion: ml-autoscaling.io/v1\nkind: PolicySet\npolicies:\n  - name: p\n"
               "    defaults:\n      minReplicas: 1\n      maxReplicas: %d\n      triggers:\n"
               "        - {type: cpu, metricType: Utilization, threshold: 70}\n",
            max);
    fclose(f);
}

/* The set hash of a plain directory. */
static char *hash_of(const char *dir)
{
    struct mla_policy_set *ps = NULL;
    struct mla_err e;
    cr_assert_eq(mla_policy_set_load_dir(dir, &ps, &e), MLA_OK, "%s", e.msg);
    char *h = strdup(mla_policy_set_hash(ps));
    mla_policy_set_unref(ps);
    return h;
}

static char *store_hash(struct mla_policy_store *st)
{
    struct mla_policy_set *ps = mla_policy_store_acquire(st);
    char *h = strdup(mla_policy_set_hash(ps));
    mla_policy_set_unref(ps);
    return h;
}

Test(policy_store, reads_one_version_through_dotdot_data)
{
    char tmpl[] = "/tmp/mla-test-store.XXXXXX";
    cr_assert_not_null(mkdtemp(tmpl));
    char *d = realpath(tmpl, NULL);
    char v1[PATH_MAX], v2[PATH_MAX], p[PATH_MAX], q[PATH_MAX];
    snprintf(v1, sizeof v1, "%s/..v1", d);
    snprintf(v2, sizeof v2, "%s/..v2", d);
    cr_assert_eq(mkdir(v1, 0755), 0);
    cr_assert_eq(mkdir(v2, 0755), 0);
    write_policy(v1, 7);
    write_policy(v2, 9);
    char *h1 = hash_of(v1), *h2 = hash_of(v2);
    cr_assert_str_neq(h1, h2);
    /* ..data already points at v2 while the NAME link still reaches v1's file: what a reader that
     * opens the NAME links sees in the middle of a swap. */
    snprintf(p, sizeof p, "%s/..data", d);
    cr_assert_eq(symlink("..v2", p), 0);
    snprintf(q, sizeof q, "%s/10-p.yaml", d);
    cr_assert_eq(symlink("..v1/10-p.yaml", q), 0);

    struct mla_policy_store st;
    struct mla_err e;
    cr_assert_eq(mla_policy_store_init(&st, d, &e), MLA_OK, "%s", e.msg);
    char *got = store_hash(&st);
    cr_assert_str_eq(got, h2, "the store did not read the version ..data points at");
    free(got);
    /* The swap back: ..data -> v1 (atomic rename of a new link, as kubelet does). */
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s/..data_tmp", d);
    cr_assert_eq(symlink("..v1", tmp), 0);
    cr_assert_eq(rename(tmp, p), 0);
    cr_assert_eq(mla_policy_store_reload(&st, &e), MLA_OK, "%s", e.msg);
    got = store_hash(&st);
    cr_assert_str_eq(got, h1);
    free(got);
    mla_policy_store_fini(&st);

    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
    (void)!system(cmd);
    free(h1);
    free(h2);
    free(d);
}

Test(policy_store, plain_directory_unchanged)
{
    char tmpl[] = "/tmp/mla-test-store.XXXXXX";
    cr_assert_not_null(mkdtemp(tmpl));
    write_policy(tmpl, 5);
    char *h = hash_of(tmpl);
    struct mla_policy_store st;
    struct mla_err e;
    cr_assert_eq(mla_policy_store_init(&st, tmpl, &e), MLA_OK, "%s", e.msg);
    char *got = store_hash(&st);
    cr_assert_str_eq(got, h);
    free(got);
    free(h);
    mla_policy_store_fini(&st);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpl);
    (void)!system(cmd);
}
