/* cli/lint.c - `ml-autoscaling lint --policies DIR`: check policy files offline.
 *
 * Exit 0 and a one-line summary on stdout when the set is valid; every error as
 * FILE:LINE:COL: message on stderr and exit 1 otherwise; exit 2 on usage errors or a directory
 * that cannot be read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mla/policy.h"

static void lint_usage(FILE *f)
{
    fprintf(f, "Usage: ml-autoscaling lint --policies DIR\n\n"
               "Checks every *.yaml, *.yml and *.json policy file in DIR (the same loader the\n"
               "webhook uses). Prints a summary and exits 0 when the set is valid; otherwise\n"
               "prints every error as FILE:LINE:COL: message on stderr and exits 1.\n"
               "Exit 2: usage error or unreadable directory.\n\n"
               "Options:\n"
               "  --policies DIR   the policy directory (env MLAS_POLICIES)\n"
               "  -h, --help       this help\n");
}

/* Errors in file order, then line and column: what an editor's quickfix list expects. */
static int lint_cmp(const void *a, const void *b)
{
    const struct mla_err *x = a, *y = b;
    int c = strcmp(x->src, y->src);
    if (c)
        return c;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return x->col < y->col ? -1 : x->col > y->col;
}

int mla_cmd_lint(int argc, char **argv)
{
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            lint_usage(stdout);
            return MLA_EXIT_OK;
        } else if (!strcmp(argv[i], "--policies") && i + 1 < argc) {
            dir = argv[++i];
        } else if (!strncmp(argv[i], "--policies=", 11)) {
            dir = argv[i] + 11;
        } else {
            fprintf(stderr, "ml-autoscaling lint: unknown or incomplete option '%s'\n\n",
                    argv[i]);
            lint_usage(stderr);
            return MLA_EXIT_USAGE;
        }
    }
    if (!dir)
        dir = getenv("MLAS_POLICIES");
    if (!dir || !*dir) {
        fprintf(stderr, "ml-autoscaling lint: --policies DIR is required\n\n");
        lint_usage(stderr);
        return MLA_EXIT_USAGE;
    }
    struct mla_policy_diags diags;
    mla_policy_diags_init(&diags);
    struct mla_policy_set *ps = NULL;
    struct mla_err err;
    mla_err_clear(&err);
    enum mla_code rc = mla_policy_set_load_dir_diags(dir, &ps, &diags, &err);
    if (rc == MLA_OK) {
        printf("ok: %zu policies, %zu profiles in %s (%s)\n", mla_policy_set_count(ps),
               mla_policy_set_profile_count(ps), dir, mla_policy_set_hash(ps));
        mla_policy_set_unref(ps);
        mla_policy_diags_fini(&diags);
        return MLA_EXIT_OK;
    }
    if (diags.n)
        qsort(diags.items, diags.n, sizeof *diags.items, lint_cmp);
    for (size_t i = 0; i < diags.n; i++) {
        char line[1200];
        mla_err_format(&diags.items[i], line, sizeof line);
        fprintf(stderr, "%s\n", line);
    }
    if (!diags.n) {
        char line[1200];
        mla_err_format(&err, line, sizeof line);
        fprintf(stderr, "%s\n", line);
    }
    mla_policy_diags_fini(&diags);
    return rc == MLA_EIO ? MLA_EXIT_USAGE : MLA_EXIT_FAIL;
}
