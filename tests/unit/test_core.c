/* test_core.c - err and buf: the small shared modules (patch: test_patch.c). */
#include <criterion/criterion.h>
#include <string.h>

#include "mla/buf.h"
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

Test(buf, cap_refuses_growth_and_keeps_content)
{
    struct mla_buf b;
    mla_buf_init(&b, 8);
    cr_assert_eq(mla_buf_adds(&b, "12345"), MLA_OK);
    cr_assert_eq(mla_buf_adds(&b, "6789"), MLA_ETOOBIG);
    cr_assert_str_eq(mla_buf_str(&b), "12345");
    mla_buf_fini(&b);
}

Test(buf, json_string_escapes_controls_and_quotes)
{
    struct mla_buf b;
    mla_buf_init(&b, 0);
    cr_assert_eq(mla_buf_add_json_str(&b, "a\"b\\c\n\x01"), MLA_OK);
    cr_assert_str_eq(mla_buf_str(&b), "\"a\\\"b\\\\c\\n\\u0001\"");
    mla_buf_fini(&b);
}

Test(buf, json_string_escapes_at_the_ends_and_empty)
{
    struct mla_buf b;
    mla_buf_init(&b, 0);
    cr_assert_eq(mla_buf_add_json_str(&b, "\"abc\\"), MLA_OK);
    cr_assert_eq(mla_buf_add_json_str(&b, ""), MLA_OK);
    cr_assert_eq(mla_buf_add_json_str(&b, "\x1f" "x" "\t"), MLA_OK);
    cr_assert_str_eq(mla_buf_str(&b), "\"\\\"abc\\\\\"\"\"\"\\u001fx\\t\"");
    mla_buf_fini(&b);
}

Test(buf, json_string_over_the_cap_leaves_nothing_half_written)
{
    struct mla_buf b;
    mla_buf_init(&b, 10);
    cr_assert_eq(mla_buf_adds(&b, "ab"), MLA_OK);
    cr_assert_eq(mla_buf_add_json_str(&b, "0123456789"), MLA_ETOOBIG);
    cr_assert_str_eq(mla_buf_str(&b), "ab");
    mla_buf_fini(&b);
}
