/* test_rfc3339.c - the one RFC 3339 parser the API side and the predictive loop share. */
#include <criterion/criterion.h>
#include <math.h>

#include "mla/rfc3339.h"

Test(rfc3339, accepts_zones_and_fractions_refuses_partial_times)
{
    static const struct {
        const char *s;
        bool ok;
        double t;
    } cases[] = {
        {"2015-10-21T07:28:00Z", true, 1445412480},
        {"2015-10-21T07:28:00z", true, 1445412480},
        {"2015-10-21T07:28:00.5Z", true, 1445412480.5},
        {"2015-10-21T07:28:00.125Z", true, 1445412480.125},
        {"2015-10-21T09:28:00+02:00", true, 1445412480},
        {"2015-10-21T02:58:00-04:30", true, 1445412480},
        {"2015-10-21T07:28:00", false, 0},       /* no zone */
        {"2015-10-21 07:28:00Z", false, 0},      /* not a T */
        {"2015-10-21T07:28:00.Z", false, 0},     /* a dot without digits */
        {"2015-10-21T07:28:00+2:00", false, 0},  /* one-digit hour offset */
        {"2015-10-21T07:28:00+02:00x", false, 0},
        {"2015-10-21T07:28:00.5e3Z", false, 0},  /* not a number syntax */
        {"", false, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        double t = -7;
        enum mla_code rc = mla_rfc3339_parse(cases[i].s, &t);
        cr_assert_eq(rc == MLA_OK, cases[i].ok, "%s", cases[i].s);
        if (cases[i].ok)
            cr_assert(fabs(t - cases[i].t) < 1e-6, "%s: %.6f", cases[i].s, t);
        else
            cr_assert_eq(t, -7, "%s: output touched on failure", cases[i].s);
    }
    double t;
    cr_assert_eq(mla_rfc3339_parse(NULL, &t), MLA_EPARSE);
}
