/* fc-common.h - shared by the forecast and simulate subcommands (internal to src/cli/):
 * loading a trace CSV into a regular series and number-flag parsing. */
#ifndef MLA_CLI_FC_COMMON_H
#define MLA_CLI_FC_COMMON_H

#include <stdbool.h>
#include <stdio.h>

#include "mla/fc.h"

/* Parses a finite double in [lo, hi] from flag `name`; prints the error and returns false. */
bool mla__cli_num(const char *cmd, const char *name, const char *s, double lo, double hi,
                  double *out);
/* Reads path; when step_s > 0, resamples (mean per bucket) to step_s. Not strict (a default
 * step): a step that is not a whole multiple of the trace's falls back to the trace's step.
 * Prints errors. */
bool mla__cli_load(const char *cmd, const char *path, double step_s, bool strict,
                   struct mla_fc_series *out);
/* Default capacity per replica: the 99th percentile of the values over 8 (so a typical peak
 * needs about 8 replicas). */
double mla__cli_default_capacity(const struct mla_fc_series *s);

/* The checks both commands make once getopt is done: a bad option seen (ok false), a stray
 * argument, the required -f, whole replica bounds with min <= max. Prints the error and
 * returns false. `cmd` is "forecast" or "simulate". */
bool mla__cli_check_args(const char *cmd, bool ok, int optind_, int argc, char **argv,
                         const char *file, double rmin, double rmax);

/* Writes s as a JSON string literal (quotes included). */
void mla__cli_json_str(FILE *f, const char *s);

#endif
