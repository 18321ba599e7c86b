/* test_file.c - the one whole-file reader: exact size limits, NUL bytes kept, messages. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mla/file.h"

static void write_bytes(const char *path, const char *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(data, 1, n, f), n);
    fclose(f);
}

Test(file, reads_up_to_the_limit_and_refuses_one_byte_more)
{
    char path[] = "/tmp/mla-file-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    static const size_t sizes[] = {0, 1, 65535, 65536, 65537, 200000};
    char *data = malloc(200001);
    for (size_t i = 0; i < 200001; i++)
        data[i] = (char)('a' + i % 26);
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        size_t n = sizes[k];
        write_bytes(path, data, n);
        char *out = NULL;
        size_t len = 7;
        struct mla_err e;
        mla_err_clear(&e);
        cr_assert_eq(mla_file_read(path, n, &out, &len, &e), MLA_OK, "%zu at a limit of %zu: %s",
                     n, n, e.msg);
        cr_assert_eq(len, n);
        cr_assert_eq(memcmp(out, data, n), 0);
        cr_assert_eq(out[n], '\0');
        free(out);
        if (n == 0)
            continue;
        out = NULL;
        cr_assert_eq(mla_file_read(path, n - 1, &out, &len, &e), MLA_ETOOBIG, "%zu", n);
        cr_assert_null(out, "output touched on failure");
    }
    free(data);
    unlink(path);
}

Test(file, messages_and_nul_bytes)
{
    char *out = NULL;
    struct mla_err e;
    mla_err_clear(&e);
    cr_assert_eq(mla_file_read("/nonexistent/x.yaml", 10, &out, NULL, &e), MLA_EIO);
    cr_assert_str_eq(e.msg, "cannot open: No such file or directory");
    char path[] = "/tmp/mla-file-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    write_bytes(path, "a\0b", 3);
    size_t len = 0;
    cr_assert_eq(mla_file_read(path, 4u << 20, &out, &len, NULL), MLA_OK);
    cr_assert_eq(len, 3);
    cr_assert_eq(out[2], 'b');
    free(out);
    write_bytes(path, "12345", 5);
    cr_assert_eq(mla_file_read(path, 4, &out, NULL, &e), MLA_ETOOBIG);
    cr_assert_str_eq(e.msg, "file is larger than 4 bytes");
    unlink(path);
}
