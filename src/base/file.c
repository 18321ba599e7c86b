/* base/file.c - the whole-file reader (see file.h). */
#include "mla/file.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mla/mem.h"

enum mla_code mla_file_read(const char *path, size_t max, char **out, size_t *len,
                            struct mla_err *err)
{
    bool is_stdin = !strcmp(path, "-");
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f)
        return mla_err_set(err, MLA_EIO, "cannot open: %s", strerror(errno));
    size_t cap = max < 65536 ? max + 1 : 65536, n = 0;
    char *buf = mla_xmalloc(cap);
    enum mla_code rc = MLA_OK;
    for (;;) {
        if (n == cap) {
            if (cap > max) {
                rc = max % (1u << 20) == 0
                         ? mla_err_set(err, MLA_ETOOBIG, "file is larger than %zu MiB", max >> 20)
                         : mla_err_set(err, MLA_ETOOBIG, "file is larger than %zu bytes", max);
                break;
            }
            cap = cap > max / 2 ? max + 1 : cap * 2;
            buf = mla_xrealloc(buf, cap);
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f))
                rc = mla_err_set(err, MLA_EIO, "cannot read: %s", strerror(errno));
            break;
        }
    }
    if (!is_stdin)
        fclose(f);
    if (rc != MLA_OK) {
        free(buf);
        return rc;
    }
    buf = mla_xrealloc(buf, n + 1);
    buf[n] = '\0';
    *out = buf;
    if (len)
        *len = n;
    return MLA_OK;
}
