/* forecast/csv.c - the history CSV the CLI reads: a header line, then `timestamp,value` rows.
 *
 * Timestamps are Unix seconds at a regular step (the smallest difference between rows); a row
 * that is absent, or has an empty value, is a gap (NaN). Errors say FILE:LINE and what was
 * expected. The only file I/O of the forecast module is mla_fc_csv_read(). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fc-int.h"
#include "mla/file.h"
#include "mla/mem.h"

/* The largest series we build: a 1-second trace of 4 months; bounds memory on absurd gaps. */
#define CSV_MAX_POINTS ((size_t)10 * 1000 * 1000)
#define CSV_MAX_FILE ((size_t)1 << 30) /* 1 GiB: room for CSV_MAX_POINTS lines */

struct csv_row {
    double t, v;
};

static bool csv_blank(const char *s, const char *e)
{
    for (; s < e; s++)
        if (*s != ' ' && *s != '\t' && *s != '\r')
            return false;
    return true;
}

/* Parses a number filling [s,e) exactly (surrounding blanks allowed). */
static bool csv_num(const char *s, const char *e, double *out)
{
    while (s < e && (*s == ' ' || *s == '\t'))
        s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        e--;
    if (s == e || e - s > 63)
        return false;
    char tmp[64];
    memcpy(tmp, s, (size_t)(e - s));
    tmp[e - s] = '\0';
    char *end = NULL;
    errno = 0;
    double d = strtod(tmp, &end);
    if (errno || end != tmp + (e - s) || !isfinite(d))
        return false;
    *out = d;
    return true;
}

/* One non-blank line [s,eol) as a row. Returns 1 with *row set, 0 to skip it (a header: only
 * line 1 may be one) or -1 with err set. */
static int csv_line(const char *s, const char *eol, int line, const char *name,
                    struct csv_row *row, struct mla_err *err)
{
    const char *comma = memchr(s, ',', (size_t)(eol - s));
    double t, v;
    if (!comma || !csv_num(s, comma, &t)) {
        if (line == 1)
            return 0; /* the header */
        mla_err_set_at(err, MLA_EPARSE, name, line, 1,
                       "expected 'timestamp,value' with a Unix time in seconds");
        return -1;
    }
    if (memchr(comma + 1, ',', (size_t)(eol - comma - 1))) {
        mla_err_set_at(err, MLA_EPARSE, name, line, (int)(comma - s) + 2,
                       "expected exactly two columns 'timestamp,value'");
        return -1;
    }
    if (csv_blank(comma + 1, eol)) {
        v = NAN;
    } else if (!csv_num(comma + 1, eol, &v)) {
        if (line == 1)
            return 0;
        mla_err_set_at(err, MLA_EPARSE, name, line, (int)(comma - s) + 2,
                       "value is not a number");
        return -1;
    }
    row->t = t;
    row->v = v;
    return 1;
}

/* All rows of the text, in order and strictly increasing in time, into *rows (new, freed with
 * free(), also on error); *line is the last line number read. */
static enum mla_code csv_rows(const char *text, size_t len, const char *name,
                              struct csv_row **rows, size_t *nrows, int *line,
                              struct mla_err *err)
{
    size_t cap = 1024, nr = 0;
    struct csv_row *r = mla_xmalloc(cap * sizeof *r);
    const char *p = text, *end = text + len;
    enum mla_code rc = MLA_OK;
    *line = 0;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        ++*line;
        const char *s = p;
        p = eol + 1;
        if (csv_blank(s, eol))
            continue;
        struct csv_row row;
        int got = csv_line(s, eol, *line, name, &row, err);
        if (got < 0) {
            rc = MLA_EPARSE;
            break;
        }
        if (got == 0)
            continue;
        if (nr && row.t <= r[nr - 1].t) {
            rc = mla_err_set_at(err, MLA_EPARSE, name, *line, 1,
                                "timestamp %.0f is not after the previous row's %.0f", row.t,
                                r[nr - 1].t);
            break;
        }
        if (nr == cap) {
            cap *= 2;
            r = mla_xrealloc(r, cap * sizeof *r);
        }
        r[nr++] = row;
    }
    *rows = r;
    *nrows = nr;
    return rc;
}

/* The series' step (the smallest difference between rows) and length; every row must sit on
 * the grid t0 + k*step, and the length is bounded. */
static enum mla_code csv_grid(const struct csv_row *rows, size_t nr, const char *name,
                              double *stepp, size_t *np, struct mla_err *err)
{
    double step = INFINITY;
    for (size_t i = 1; i < nr; i++)
        if (rows[i].t - rows[i - 1].t < step)
            step = rows[i].t - rows[i - 1].t;
    /* Rows must sit on the grid t0 + k*step; report the first that does not. */
    int dl = 0;
    size_t n = 0;
    for (size_t i = 0; i < nr; i++) {
        double k = (rows[i].t - rows[0].t) / step;
        if (fabs(k - floor(k + 0.5)) > 1e-6) {
            dl = (int)i;
            break;
        }
        n = (size_t)floor(k + 0.5) + 1;
    }
    if (dl)
        return mla_err_set(err, MLA_EPARSE,
                           "%s: row %d (timestamp %.0f) is off the %g-second step of the series",
                           name, dl + 1, rows[dl].t, step);
    if (n > CSV_MAX_POINTS)
        return mla_err_set(err, MLA_ETOOBIG, "%s: %zu points at a %g-second step (max %zu)",
                           name, n, step, CSV_MAX_POINTS);
    *stepp = step;
    *np = n;
    return MLA_OK;
}

enum mla_code mla_fc_csv_parse(const char *text, size_t len, const char *name,
                               struct mla_fc_series *out, struct mla_err *err)
{
    if (!name)
        name = "<csv>";
    struct csv_row *rows;
    size_t nr;
    int line;
    enum mla_code rc = csv_rows(text, len, name, &rows, &nr, &line, err);
    if (rc)
        goto fail;
    if (nr < 2) {
        rc = mla_err_set_at(err, MLA_EPARSE, name, line, 0,
                            "need at least two data rows 'timestamp,value' (found %zu)", nr);
        goto fail;
    }
    double step = 0;
    size_t n = 0;
    rc = csv_grid(rows, nr, name, &step, &n, err);
    if (rc)
        goto fail;
    double *v = mla_xmalloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = NAN;
    for (size_t i = 0; i < nr; i++)
        v[(size_t)floor((rows[i].t - rows[0].t) / step + 0.5)] = rows[i].v;
    out->t0 = rows[0].t;
    out->step_s = step;
    out->n = n;
    out->v = v;
fail:
    free(rows);
    return rc;
}

enum mla_code mla_fc_csv_read(const char *path, struct mla_fc_series *out, struct mla_err *err)
{
    struct mla_err fe;
    mla_err_clear(&fe);
    char *text = NULL;
    size_t len = 0;
    enum mla_code rc = mla_file_read(path, CSV_MAX_FILE, &text, &len, &fe);
    if (rc != MLA_OK)
        return mla_err_set(err, rc, "%s: %s", path, fe.msg);
    rc = mla_fc_csv_parse(text, len, path, out, err);
    free(text);
    return rc;
}
