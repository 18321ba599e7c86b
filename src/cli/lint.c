/* lint.c - the 'lint' subcommand. PLACEHOLDER until its issue lands: says so and exits 2. */
#include <stdio.h>

#include "cli.h"

int mla_cmd_lint(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "ml-autoscaling lint: not available in this build yet\n");
    return MLA_EXIT_USAGE;
}
