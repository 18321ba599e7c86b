/* cli.h - the subcommands of the ml-autoscaling binary (internal to src/cli/).
 *
 * Each command parses its own flags, prints its own --help, and returns the process exit code:
 * 0 success, 1 a negative result (denied, invalid policy, failed check), 2 usage or file errors.
 * Only main() calls exit(); commands return.
 */
#ifndef MLA_CLI_H
#define MLA_CLI_H

#define MLA_EXIT_OK 0
#define MLA_EXIT_FAIL 1
#define MLA_EXIT_USAGE 2

int mla_cmd_serve(int argc, char **argv);
int mla_cmd_lint(int argc, char **argv);
int mla_cmd_render(int argc, char **argv);
int mla_cmd_forecast(int argc, char **argv);
int mla_cmd_simulate(int argc, char **argv);
int mla_cmd_explain(int argc, char **argv);
int mla_cmd_test(int argc, char **argv);

#endif
