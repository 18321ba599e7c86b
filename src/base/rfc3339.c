/* base/rfc3339.c - the RFC 3339 date-time parser (see rfc3339.h). */
#include "mla/rfc3339.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

static bool r3_digits(const char *p, int n)
{
    for (int i = 0; i < n; i++)
        if (!isdigit((unsigned char)p[i]))
            return false;
    return true;
}

enum mla_code mla_rfc3339_parse(const char *s, double *unix_s)
{
    if (!s)
        return MLA_EPARSE;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p)
        return MLA_EPARSE;
    double frac = 0, scale = 0.1;
    if (*p == '.') {
        if (!isdigit((unsigned char)p[1]))
            return MLA_EPARSE;
        for (p++; isdigit((unsigned char)*p); p++, scale /= 10)
            frac += (*p - '0') * scale;
    }
    long off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if ((*p == '+' || *p == '-') && r3_digits(p + 1, 2) && p[3] == ':' &&
               r3_digits(p + 4, 2)) {
        off = ((p[1] - '0') * 10 + (p[2] - '0')) * 3600L + ((p[4] - '0') * 10 + (p[5] - '0')) * 60L;
        if (*p == '-')
            off = -off;
        p += 6;
    } else {
        return MLA_EPARSE;
    }
    if (*p)
        return MLA_EPARSE;
    *unix_s = (double)timegm(&tm) - (double)off + frac;
    return MLA_OK;
}
