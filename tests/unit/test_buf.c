/* test_buf.c - buffers: the cap, and JSON string escaping. */
#include <criterion/criterion.h>
#include <string.h>

#include "mla/buf.h"

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
