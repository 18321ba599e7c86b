/* cli/fc-common.c - trace loading and flag parsing for 'forecast' and 'simulate'. */
#include "fc-common.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mla/mem.h"

bool mla__cli_num(const char *cmd, const char *name, const char *s, double lo, double hi,
                  double *out)
{
    char *end = NULL;
    errno = 0;
    double d = s ? strtod(s, &end) : NAN;
    if (!s || errno || end == s || *end || !isfinite(d) || d < lo || d > hi) {
        fprintf(stderr, "ml-autoscaling %s: %s must be a number in [%g, %g] (got '%s')\n", cmd,
                name, lo, hi, s ? s : "");
        return false;
    }
    *out = d;
    return true;
}

bool mla__cli_load(const char *cmd, const char *path, double step_s, bool strict,
                  struct mla_fc_series *out)
{
    struct mla_err err;
    mla_err_clear(&err);
    struct mla_fc_series raw;
    if (mla_fc_csv_read(path, &raw, &err)) {
        char msg[900];
        mla_err_format(&err, msg, sizeof msg);
        fprintf(stderr, "ml-autoscaling %s: %s\n", cmd, msg);
        return false;
    }
    if (!strict && step_s > 0) {
        /* The default bucket: used when it is a whole multiple of the trace's step, else the
         * trace is taken at its own step. */
        double r = step_s / raw.step_s;
        if (r < 1 - 1e-9 || fabs(r - floor(r + 0.5)) > 1e-9)
            step_s = raw.step_s;
    }
    if (!(step_s > 0) || fabs(step_s - raw.step_s) < 1e-9) {
        *out = raw;
        return true;
    }
    if (step_s < raw.step_s) {
        fprintf(stderr,
                "ml-autoscaling %s: --step %g s is finer than the trace's step (%g s)\n", cmd,
                step_s, raw.step_s);
        mla_fc_series_fini(&raw);
        return false;
    }
    struct mla_fc_series b;
    enum mla_code rc = mla_fc_series_bucket(&raw, step_s, MLA_FC_AGG_MEAN, &b, &err);
    mla_fc_series_fini(&raw);
    if (rc) {
        fprintf(stderr, "ml-autoscaling %s: %s: %s\n", cmd, path, err.msg);
        return false;
    }
    *out = b;
    return true;
}

static int cli_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double mla__cli_default_capacity(const struct mla_fc_series *s)
{
    double *tmp = mla_xmalloc((s->n ? s->n : 1) * sizeof *tmp);
    size_t m = 0;
    for (size_t i = 0; i < s->n; i++)
        if (!isnan(s->v[i]))
            tmp[m++] = s->v[i];
    qsort(tmp, m, sizeof *tmp, cli_cmp);
    double q = m ? tmp[(size_t)(0.99 * (double)(m - 1))] : 0;
    free(tmp);
    return q > 0 ? q / 8 : 1;
}

void mla__cli_json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

bool mla__cli_check_args(const char *cmd, bool ok, int optind_, int argc, char **argv,
                         const char *file, double rmin, double rmax)
{
    if (!ok) {
        fprintf(stderr, "Run 'ml-autoscaling %s --help' for usage.\n", cmd);
        return false;
    }
    if (optind_ < argc) {
        fprintf(stderr, "ml-autoscaling %s: unexpected argument '%s'\n", cmd, argv[optind_]);
        return false;
    }
    if (!file) {
        fprintf(stderr, "ml-autoscaling %s: -f TRACE.csv is required (see --help)\n", cmd);
        return false;
    }
    if (rmin > rmax || rmin != floor(rmin) || rmax != floor(rmax)) {
        fprintf(stderr, "ml-autoscaling %s: --min and --max must be whole numbers, min <= max\n",
                cmd);
        return false;
    }
    return true;
}
