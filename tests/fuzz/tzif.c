/* fuzz/tzif.c - arbitrary bytes as a TZif file (header, transitions, types, POSIX TZ footer):
 * the reader behind the zone database; a zone that loads is then queried across 1901-2100. */
#include <time.h>

#include "../../src/hours/hours-int.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mla_tz *tz = NULL;
    if (mla__hours_tz_parse("Fuzz/Zone", data, size, &tz, NULL) != MLA_OK)
        return 0;
    static const time_t at[] = {-2147483648LL, -86400, 0, 1700000000, 1774746000, 4102444799LL};
    for (size_t i = 0; i < sizeof at / sizeof *at; i++) {
        struct tm tm;
        (void)mla_hours_local(tz, at[i], &tm);
        (void)mla_hours_utc_offset(tz, at[i]);
        time_t next = mla_hours_tz_next_transition(tz, at[i]);
        if (next != (time_t)-1 && next <= at[i])
            abort();
    }
    for (int y = 1970; y <= 2100; y += 13)
        for (int m = 1; m <= 12; m += 5)
            (void)mla_hours_local_to_utc(tz, y, m, 28, 150);
    mla__hours_tz_free(tz);
    return 0;
}
