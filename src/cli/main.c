/* cli/main.c - the ml-autoscaling binary: dispatches to a subcommand (see cli.h). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "mla/hours.h"

#ifndef MLA_VERSION
#define MLA_VERSION "0.1.0-dev"
#endif

struct cli_cmd {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
    bool one_shot; /* runs once and exits: time zones read on demand (hours.h), not all ~600 */
};

static const struct cli_cmd cli_cmds[] = {
    {"serve", mla_cmd_serve, "run the admission webhook (HTTPS) and the background loop", false},
    {"lint", mla_cmd_lint, "check policy files; FILE:LINE:COL messages, exit 1 when invalid",
     true},
    {"render", mla_cmd_render, "offline: Deployment file in, decision, patch and ScaledObject out",
     true},
    {"test", mla_cmd_test, "run policy test cases (Deployment + expected outcome) against policies",
     true},
    {"forecast", mla_cmd_forecast, "load history CSV in, forecast and min-replica schedule out",
     true},
    {"simulate", mla_cmd_simulate, "replay a trace: predictive vs reactive vs business hours",
     true},
    {"explain", mla_cmd_explain,
     "one ScaledObject: forecast, rules and the loop's decision, explained", true},
};

static void cli_usage(FILE *f)
{
    fprintf(f, "Usage: ml-autoscaling <command> [options]\n\n"
               "Kubernetes mutating admission webhook and policy engine that turns annotated\n"
               "Deployments into KEDA ScaledObjects, with predictive minReplicaCount.\n\n"
               "Commands:\n");
    for (size_t i = 0; i < sizeof cli_cmds / sizeof cli_cmds[0]; i++)
        fprintf(f, "  %-10s %s\n", cli_cmds[i].name, cli_cmds[i].summary);
    fprintf(f, "\nRun 'ml-autoscaling <command> --help' for a command's options.\n"
               "Exit codes: 0 success, 1 negative result (denied, invalid), 2 usage or file error.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        cli_usage(stderr);
        return MLA_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        cli_usage(stdout);
        return MLA_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("ml-autoscaling %s\n", MLA_VERSION);
        return MLA_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof cli_cmds / sizeof cli_cmds[0]; i++)
        if (!strcmp(argv[1], cli_cmds[i].name)) {
            if (cli_cmds[i].one_shot)
                mla_hours_db_set_mode(MLA_TZDB_ON_DEMAND);
            return cli_cmds[i].run(argc - 1, argv + 1);
        }
    fprintf(stderr, "ml-autoscaling: unknown command '%s'\n\n", argv[1]);
    cli_usage(stderr);
    return MLA_EXIT_USAGE;
}
