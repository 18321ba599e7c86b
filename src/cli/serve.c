/* serve.c - the 'serve' subcommand. PLACEHOLDER until its issue lands: says so and exits 2. */
#include <stdio.h>

#include "cli.h"

int mla_cmd_serve(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "ml-autoscaling serve: not available in this build yet\n");
    return MLA_EXIT_USAGE;
}
