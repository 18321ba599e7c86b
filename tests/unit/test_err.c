/* test_err.c - errors: codes, positions, and prefixes that never turn a failure into success. */
#include <criterion/criterion.h>
#include <string.h>

#include "mla/err.h"

Test(err, set_returns_code_and_formats_position)
{
    struct mla_err e;
    mla_err_clear(&e);
    cr_assert_eq(mla_err_set_at(&e, MLA_EPOLICY, "p.yaml", 3, 7, "bad %s", "x"), MLA_EPOLICY);
    char out[600];
    mla_err_format(&e, out, sizeof out);
    cr_assert_str_eq(out, "p.yaml:3:7: bad x");
    cr_assert_str_eq(mla_err_name(MLA_ETOOBIG), "MLA_ETOOBIG");
}

/* Regression (issue 12): a prefix on a NULL err returned MLA_OK, so a failure passed up through
 * it became success and its caller used an output that was never set (a SIGSEGV on one
 * annotation). */
Test(err, prefix_keeps_the_failure_with_or_without_err)
{
    cr_assert_eq(mla_err_prefix(NULL, MLA_ENOTFOUND, "business hours"), MLA_ENOTFOUND);
    struct mla_err e;
    mla_err_clear(&e);
    mla_err_set(&e, MLA_ENOTFOUND, "unknown zone");
    cr_assert_eq(mla_err_prefix(&e, MLA_ENOTFOUND, "business hours \"%s\"", "x"), MLA_ENOTFOUND);
    cr_assert_eq(e.code, MLA_ENOTFOUND);
    cr_assert_str_eq(e.msg, "business hours \"x\": unknown zone");
}
