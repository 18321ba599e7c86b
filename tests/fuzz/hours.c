/* fuzz/hours.c - business-hours specs and time-zone names: the first line is the zone name
 * (looked up in the zone database), the rest the spec; a parsed rule set is then evaluated at
 * instants from 1901 to 2100 and across the zone's transitions. */
#include <time.h>

#include "fuzz.h"
#include "mla/hours.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct mla_tzdb *db;
    if (!db)
        db = mla_hours_db_acquire(); /* once: the lookups below never read a file */
    char *text = fz_str(data, size);
    char *nl = strchr(text, '\n');
    const char *tz = "UTC", *spec = text;
    if (nl) {
        *nl = '\0';
        tz = text;
        spec = nl + 1;
    }
    struct mla_hours *h = NULL;
    struct mla_err err;
    mla_err_clear(&err);
    if (mla_hours_parse_in(db, spec, tz, 1, &h, &err) == MLA_OK) {
        static const time_t at[] = {-2147483648LL, -1, 0, 1, 1700000000, 1774746000, 1792890000,
                                    4102444799LL};
        for (size_t i = 0; i < sizeof at / sizeof *at; i++) {
            struct mla_hours_state st = mla_hours_eval(h, at[i]);
            if (st.active && (st.window < 0 || (size_t)st.window >= h->n))
                abort();
            time_t next = mla_hours_next_change(h, at[i]);
            if (next != (time_t)-1 && next <= at[i])
                abort();
            struct tm tm;
            (void)mla_hours_local(h->tz, at[i], &tm);
            (void)mla_hours_tz_next_transition(h->tz, at[i]);
        }
        for (size_t i = 0; i < h->n; i++) {
            char out[96];
            mla_hours_window_format(&h->w[i], out, sizeof out);
        }
        mla_hours_destroy(h);
    }
    free(text);
    return 0;
}
