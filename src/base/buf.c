/* base/buf.c - the capped, caller-embedded byte buffer (see buf.h). */
#include "mla/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mla/mem.h"

void mla_buf_init(struct mla_buf *b, size_t cap)
{
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    b->cap = cap;
}

void mla_buf_fini(struct mla_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
}

void mla_buf_reset(struct mla_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

/* The growth step of buf_reserve, out of line: most appends fit. */
static __attribute__((noinline)) void buf_grow(struct mla_buf *b, size_t need)
{
    size_t a = b->alloc ? b->alloc : 256; /* most buffers end below it: one allocation */
    while (a < need)
        a *= 2;
    b->data = mla_xrealloc(b->data, a);
    b->alloc = a;
}

/* Inlined into the appends (they run tens of times per admission, mostly small). */
static inline __attribute__((always_inline)) enum mla_code buf_reserve(struct mla_buf *b,
                                                                       size_t n)
{
    if (b->cap && (n > b->cap || b->len > b->cap - n))
        return MLA_ETOOBIG;
    size_t need = b->len + n + 1;
    if (need > b->alloc)
        buf_grow(b, need);
    return MLA_OK;
}

enum mla_code mla_buf_add(struct mla_buf *b, const void *p, size_t n)
{
    enum mla_code rc = buf_reserve(b, n);
    if (rc != MLA_OK)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return MLA_OK;
}

enum mla_code mla_buf_adds(struct mla_buf *b, const char *s)
{
    return mla_buf_add(b, s, strlen(s));
}

enum mla_code mla_buf_addf(struct mla_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return MLA_EINVAL;
    if ((size_t)n < sizeof small)
        return mla_buf_add(b, small, (size_t)n);
    enum mla_code rc = buf_reserve(b, (size_t)n);
    if (rc != MLA_OK)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return MLA_OK;
}

enum mla_code mla_buf_add_json_str(struct mla_buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t start = b->len;
    enum mla_code rc = mla_buf_add(b, "\"", 1);
    const unsigned char *p = (const unsigned char *)s;
    while (rc == MLA_OK && *p) {
        /* Copy the run that needs no escaping in one call: this runs for every string the
         * webhook and the logs emit, most of which need no escaping at all. */
        const unsigned char *run = p;
        while (*p >= 0x20 && *p != '"' && *p != '\\')
            p++;
        if (p > run)
            rc = mla_buf_add(b, run, (size_t)(p - run));
        if (rc != MLA_OK || !*p)
            break;
        char esc[7];
        switch (*p) {
        case '"': rc = mla_buf_add(b, "\\\"", 2); break;
        case '\\': rc = mla_buf_add(b, "\\\\", 2); break;
        case '\n': rc = mla_buf_add(b, "\\n", 2); break;
        case '\r': rc = mla_buf_add(b, "\\r", 2); break;
        case '\t': rc = mla_buf_add(b, "\\t", 2); break;
        default:
            esc[0] = '\\'; esc[1] = 'u'; esc[2] = '0'; esc[3] = '0';
            esc[4] = hex[*p >> 4]; esc[5] = hex[*p & 15];
            rc = mla_buf_add(b, esc, 6);
        }
        p++;
    }
    if (rc == MLA_OK)
        rc = mla_buf_add(b, "\"", 1);
    if (rc != MLA_OK) {
        /* Leave the buffer as it was: no half-written string. */
        b->len = start;
        if (b->data)
            b->data[start] = '\0';
    }
    return rc;
}

char *mla_buf_take(struct mla_buf *b)
{
    char *p = b->data ? b->data : mla_xstrdup("");
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    return p;
}

const char *mla_buf_str(const struct mla_buf *b)
{
    return b->data ? b->data : "";
}
