/* hours/hours-int.h - what the zone reader (tz.c) and the window rules (windows.c) share:
 * proleptic Gregorian calendar arithmetic on days since 1970-01-01 (pure functions), and the
 * TZif reader for tests/fuzz/tzif.c. */
#ifndef MLA_HOURS_INT_H
#define MLA_HOURS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "mla/hours.h"

/* The TZif reader alone (for the fuzz target): a new zone from n bytes, freed with
 * mla__hours_tz_free. Errors as mla_hours_db_find's MLA_EPARSE. */
enum mla_code mla__hours_tz_parse(const char *name, const unsigned char *d, size_t n,
                                  struct mla_tz **out, struct mla_err *err) MLA_MUST_CHECK;
void mla__hours_tz_free(struct mla_tz *tz);

static inline int64_t mla__days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static inline void mla__civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static inline int64_t mla__floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static inline int mla__weekday_of(int64_t days) /* 0 = Sunday */
{
    return (int)(((days % 7) + 11) % 7); /* 1970-01-01 was a Thursday (4) */
}

#endif
