/* base/show.c - quoting user-supplied text safely in messages (see show.h). */
#include "mla/show.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at p (1..4), decoding it into *cp; 0 when invalid
 * (overlong, surrogate, above U+10FFFF, truncated). */
static size_t show_utf8(const unsigned char *p, size_t left, uint32_t *cp)
{
    size_t len;
    uint32_t c, min;
    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    } else if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        len = 2, c = p[0] & 0x1f, min = 0x80;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        len = 3, c = p[0] & 0x0f, min = 0x800;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        len = 4, c = p[0] & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (len > left)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        c = c << 6 | (p[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return len;
}

/* Code points that must not reach a terminal as they are. */
static int show_unsafe(uint32_t c)
{
    return c < 0x20 || (c >= 0x7f && c <= 0x9f) || (c >= 0x200b && c <= 0x200f) ||
           (c >= 0x2028 && c <= 0x202e) || (c >= 0x2060 && c <= 0x2069) || c == 0xfeff;
}

const char *mla_show(const char *v, size_t max, char *out, size_t n)
{
    if (!n)
        return out;
    out[0] = '\0';
    if (!v)
        return out;
    const unsigned char *p = (const unsigned char *)v;
    size_t total = strlen(v), i = 0, o = 0;
    while (i < total && i < max) {
        uint32_t c = 0;
        size_t l = show_utf8(p + i, total - i, &c);
        char tmp[16];
        size_t tl;
        if (l == 0) {
            tl = (size_t)snprintf(tmp, sizeof tmp, "\\x%02x", p[i]);
            l = 1;
        } else if (show_unsafe(c)) {
            tl = (size_t)snprintf(tmp, sizeof tmp, c < 0x100 ? "\\x%02x" : "\\u%04x",
                                  (unsigned)c);
        } else {
            memcpy(tmp, p + i, l);
            tl = l;
        }
        if (o + tl + 1 > n)
            break;
        memcpy(out + o, tmp, tl);
        o += tl;
        i += l;
    }
    out[o] = '\0';
    if (i < total) {
        char tail[32];
        int tl = snprintf(tail, sizeof tail, "...(%zu bytes)", total);
        /* make room for the tail, cutting at a character boundary */
        while (o > 0 && o + (size_t)tl + 1 > n)
            o--;
        while (o > 0 && ((unsigned char)out[o] & 0xc0) == 0x80)
            o--;
        if (o + (size_t)tl + 1 <= n) {
            memcpy(out + o, tail, (size_t)tl + 1);
        } else {
            out[o] = '\0';
        }
    }
    return out;
}
