/* hours/hours.c - business-hours windows, and a small TZif reader so that local time is computed
 * without TZ/tzset (process-global, not thread-safe).
 *
 * The zone model: a sorted list of transitions (64-bit section of TZif v2+) each naming a local
 * time type (UTC offset, DST flag, abbreviation), and after the last transition the POSIX TZ
 * footer ("CET-1CEST,M3.5.0,M10.5.0/3"). Before the first transition type 0 applies (RFC 8536).
 * Wall-clock to UTC (for window edges) walks the constant-offset segments between transitions,
 * which gives the first occurrence of a repeated time and the end of a gap for a skipped one.
 */
#include "mla/hours.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mla/mem.h"

#define HOURS_SYNTAX                                                                               \
    "expected DAYS HH:MM-HH:MM [min=N], windows separated by ';', DAYS like Mon-Fri, Sat,Sun "     \
    "or daily"

struct tz_type {
    long off; /* seconds east of UTC */
    bool isdst;
    size_t abbr; /* index into chars */
};

struct tz_rule {
    char kind; /* 'M' (month.week.day), 'J' (1..365, no Feb 29), 'N' (0..365) */
    int m, w, d, n;
    long time; /* seconds after local midnight of that day (may be negative or > 24h) */
};

struct tz_posix {
    bool present;
    bool has_dst;
    char std[16], dst[16];
    long std_off, dst_off; /* seconds east */
    struct tz_rule start, end;
};

struct mla_tz {
    char *name;
    int64_t *trans;     /* ntrans ascending instants */
    unsigned char *idx; /* type index per transition */
    size_t ntrans;
    struct tz_type *types;
    size_t ntypes;
    char *chars; /* NUL-separated abbreviations */
    size_t nchars;
    struct tz_posix footer;
    struct mla_tz *next; /* cache list; immutable after publish */
};

struct tz_info {
    long off;
    bool isdst;
    const char *abbr;
};

static pthread_mutex_t tz_mu = PTHREAD_MUTEX_INITIALIZER;
static struct mla_tz *tz_cache; /* guarded by tz_mu; entries immutable after publish */

/* ---- calendar arithmetic (proleptic Gregorian, days since 1970-01-01) ---- */

static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static int weekday_of(int64_t days) /* 0 = Sunday */
{
    return (int)(((days % 7) + 11) % 7); /* 1970-01-01 was a Thursday (4) */
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_len(int64_t y, int m)
{
    static const int len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : len[m - 1];
}

/* ---- POSIX TZ footer ---- */

static const char *posix_name(const char *p, char *out, size_t n)
{
    size_t len = 0;
    if (*p == '<') {
        p++;
        while (*p && *p != '>') {
            if (len + 1 < n)
                out[len++] = *p;
            p++;
        }
        if (*p != '>')
            return NULL;
        p++;
    } else {
        while (isalpha((unsigned char)*p)) {
            if (len + 1 < n)
                out[len++] = *p;
            p++;
        }
    }
    out[len] = '\0';
    return len >= 1 ? p : NULL;
}

/* [+-]hh[:mm[:ss]] -> seconds (sign as written). */
static const char *posix_hms(const char *p, long *out)
{
    long sign = 1;
    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    if (!isdigit((unsigned char)*p))
        return NULL;
    long v[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++) {
        if (i > 0) {
            if (*p != ':')
                break;
            p++;
        }
        if (!isdigit((unsigned char)*p))
            return NULL;
        long x = 0;
        while (isdigit((unsigned char)*p) && x < 1000)
            x = x * 10 + (*p++ - '0');
        v[i] = x;
    }
    if (v[0] > 167 || v[1] > 59 || v[2] > 59)
        return NULL;
    *out = sign * (v[0] * 3600 + v[1] * 60 + v[2]);
    return p;
}

static const char *posix_int(const char *p, int *out)
{
    if (!isdigit((unsigned char)*p))
        return NULL;
    int x = 0;
    while (isdigit((unsigned char)*p) && x < 10000)
        x = x * 10 + (*p++ - '0');
    *out = x;
    return p;
}

static const char *posix_rule(const char *p, struct tz_rule *r)
{
    r->time = 7200;
    if (*p == 'M') {
        r->kind = 'M';
        if (!(p = posix_int(p + 1, &r->m)) || *p != '.' || !(p = posix_int(p + 1, &r->w)) ||
            *p != '.' || !(p = posix_int(p + 1, &r->d)))
            return NULL;
        if (r->m < 1 || r->m > 12 || r->w < 1 || r->w > 5 || r->d > 6)
            return NULL;
    } else if (*p == 'J') {
        r->kind = 'J';
        if (!(p = posix_int(p + 1, &r->n)) || r->n < 1 || r->n > 365)
            return NULL;
    } else {
        r->kind = 'N';
        if (!(p = posix_int(p, &r->n)) || r->n > 365)
            return NULL;
    }
    if (*p == '/') {
        if (!(p = posix_hms(p + 1, &r->time)))
            return NULL;
    }
    return p;
}

static bool posix_parse(const char *s, struct tz_posix *out)
{
    struct tz_posix z;
    memset(&z, 0, sizeof z);
    const char *p = posix_name(s, z.std, sizeof z.std);
    long west;
    if (!p || !(p = posix_hms(p, &west)))
        return false;
    z.std_off = -west;
    if (*p) {
        if (!(p = posix_name(p, z.dst, sizeof z.dst)))
            return false;
        z.has_dst = true;
        z.dst_off = z.std_off + 3600;
        if (*p && *p != ',') {
            if (!(p = posix_hms(p, &west)))
                return false;
            z.dst_off = -west;
        }
        if (*p == ',') {
            if (!(p = posix_rule(p + 1, &z.start)) || *p != ',' || !(p = posix_rule(p + 1, &z.end)))
                return false;
        } else {
            /* POSIX leaves the default rule to the implementation; glibc uses the US one. */
            z.start = (struct tz_rule){.kind = 'M', .m = 3, .w = 2, .d = 0, .time = 7200};
            z.end = (struct tz_rule){.kind = 'M', .m = 11, .w = 1, .d = 0, .time = 7200};
        }
    }
    if (*p)
        return false;
    z.present = true;
    *out = z;
    return true;
}

/* Days since the epoch of the day rule r names in year y. */
static int64_t rule_day(int64_t y, const struct tz_rule *r)
{
    int64_t jan1 = days_from_civil(y, 1, 1);
    if (r->kind == 'J')
        return jan1 + r->n - 1 + (is_leap(y) && r->n >= 60 ? 1 : 0);
    if (r->kind == 'N')
        return jan1 + r->n;
    int64_t first = days_from_civil(y, r->m, 1);
    int wd = weekday_of(first);
    int day = 1 + (r->d - wd + 7) % 7 + (r->w - 1) * 7;
    while (day > month_len(y, r->m))
        day -= 7;
    return first + day - 1;
}

/* DST start and end instants (UTC) in year y. */
static void posix_year(const struct tz_posix *z, int64_t y, int64_t *start, int64_t *end)
{
    *start = rule_day(y, &z->start) * 86400 + z->start.time - z->std_off;
    *end = rule_day(y, &z->end) * 86400 + z->end.time - z->dst_off;
}

static int64_t year_of(int64_t t)
{
    int64_t y;
    int m, d;
    civil_from_days(floor_div(t, 86400), &y, &m, &d);
    return y;
}

static struct tz_info posix_info(const struct tz_posix *z, int64_t t)
{
    struct tz_info std = {z->std_off, false, z->std};
    if (!z->has_dst)
        return std;
    int64_t s, e;
    posix_year(z, year_of(t + z->std_off), &s, &e);
    bool dst = s < e ? (t >= s && t < e) : !(t >= e && t < s);
    return dst ? (struct tz_info){z->dst_off, true, z->dst} : std;
}

static int64_t posix_next(const struct tz_posix *z, int64_t t)
{
    if (!z->has_dst)
        return -1;
    int64_t y = year_of(t), best = -1;
    for (int64_t yy = y - 1; yy <= y + 1; yy++) {
        int64_t s, e;
        posix_year(z, yy, &s, &e);
        if (s > t && (best < 0 || s < best))
            best = s;
        if (e > t && (best < 0 || e < best))
            best = e;
    }
    return best;
}

/* ---- zone lookup ---- */

static struct tz_info tz_type_info(const struct mla_tz *tz, size_t i)
{
    const struct tz_type *ty = &tz->types[i];
    return (struct tz_info){ty->off, ty->isdst, tz->chars + ty->abbr};
}

static struct tz_info tz_lookup(const struct mla_tz *tz, int64_t t)
{
    if (tz->ntrans == 0 || t >= tz->trans[tz->ntrans - 1]) {
        if (tz->footer.present)
            return posix_info(&tz->footer, t);
        if (tz->ntrans == 0)
            return tz->ntypes ? tz_type_info(tz, 0) : (struct tz_info){0, false, "UTC"};
    }
    if (t < tz->trans[0])
        return tz_type_info(tz, 0);
    size_t lo = 0, hi = tz->ntrans; /* largest i with trans[i] <= t */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (tz->trans[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return tz_type_info(tz, tz->idx[lo]);
}

long mla_hours_utc_offset(const struct mla_tz *tz, time_t t)
{
    return tz_lookup(tz, t).off;
}

time_t mla_hours_tz_next_transition(const struct mla_tz *tz, time_t t)
{
    if (tz->ntrans > 0 && (int64_t)t < tz->trans[tz->ntrans - 1]) {
        size_t lo = 0, hi = tz->ntrans - 1; /* first i with trans[i] > t */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (tz->trans[mid] > t)
                hi = mid;
            else
                lo = mid + 1;
        }
        return (time_t)tz->trans[lo];
    }
    return tz->footer.present ? (time_t)posix_next(&tz->footer, t) : (time_t)-1;
}

bool mla_hours_local(const struct mla_tz *tz, time_t t, struct tm *out)
{
    struct tz_info in = tz_lookup(tz, t);
    time_t shifted = t + in.off;
    struct tm tm;
    if (!gmtime_r(&shifted, &tm))
        return false;
    tm.tm_isdst = in.isdst;
    tm.tm_gmtoff = in.off;
    tm.tm_zone = in.abbr;
    *out = tm;
    return true;
}

time_t mla_hours_local_to_utc(const struct mla_tz *tz, int year, int mon, int mday, int min)
{
    int64_t g = days_from_civil(year, mon, mday) * 86400 + (int64_t)min * 60;
    int64_t lo = g - 30 * 3600; /* no zone is more than 26 h off UTC */
    for (int i = 0; i < 64; i++) {
        long off = tz_lookup(tz, lo).off;
        int64_t next = mla_hours_tz_next_transition(tz, (time_t)lo);
        int64_t u = g - off > lo ? g - off : lo;
        if (next < 0 || u < next)
            return (time_t)u;
        lo = next;
    }
    return (time_t)(g - tz_lookup(tz, g).off);
}

/* ---- TZif reading ---- */

static int64_t be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    if (n == 4)
        return (int32_t)(uint32_t)v;
    return (int64_t)v;
}

static void tz_free(struct mla_tz *tz)
{
    if (!tz)
        return;
    free(tz->name);
    free(tz->trans);
    free(tz->idx);
    free(tz->types);
    free(tz->chars);
    free(tz);
}

static enum mla_code tz_parse(const char *name, const unsigned char *d, size_t n,
                              struct mla_tz **out, struct mla_err *err)
{
    const char *bad = NULL;
    if (n < 44 || memcmp(d, "TZif", 4) != 0)
        return mla_err_set(err, MLA_EPARSE, "time zone %s: not a TZif file", name);
    if (d[4] < '2')
        return mla_err_set(err, MLA_EPARSE,
                           "time zone %s: TZif version 1 is not supported (need 2 or later)", name);
    size_t c[6];
    for (int i = 0; i < 6; i++)
        c[i] = (size_t)(uint32_t)be(d + 20 + 4 * i, 4);
    /* isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt */
    size_t v1 = c[3] * 5 + c[4] * 6 + c[5] + c[2] * 8 + c[1] + c[0];
    size_t off = 44 + v1;
    if (off + 44 > n || memcmp(d + off, "TZif", 4) != 0)
        return mla_err_set(err, MLA_EPARSE, "time zone %s: truncated TZif file", name);
    for (int i = 0; i < 6; i++)
        c[i] = (size_t)(uint32_t)be(d + off + 20 + 4 * i, 4);
    size_t isut = c[0], isstd = c[1], leap = c[2], timecnt = c[3], typecnt = c[4], charcnt = c[5];
    if (leap > 0)
        return mla_err_set(err, MLA_EPARSE,
                           "time zone %s: leap-second zones (right/...) are not supported", name);
    if (typecnt == 0 || typecnt > 256 || timecnt > 100000 || charcnt > 4096)
        return mla_err_set(err, MLA_EPARSE, "time zone %s: implausible TZif counts", name);
    const unsigned char *p = d + off + 44;
    size_t need = timecnt * 9 + typecnt * 6 + charcnt + isstd + isut;
    if ((size_t)(p - d) + need > n)
        return mla_err_set(err, MLA_EPARSE, "time zone %s: truncated TZif data", name);

    struct mla_tz *tz = mla_xcalloc(1, sizeof *tz);
    tz->ntrans = timecnt;
    tz->ntypes = typecnt;
    tz->trans = mla_xcalloc(timecnt ? timecnt : 1, sizeof *tz->trans);
    tz->idx = mla_xcalloc(timecnt ? timecnt : 1, 1);
    tz->types = mla_xcalloc(typecnt, sizeof *tz->types);
    tz->chars = mla_xcalloc(charcnt + 1, 1);
    tz->nchars = charcnt;
    for (size_t i = 0; i < timecnt; i++) {
        tz->trans[i] = be(p + 8 * i, 8);
        if (i > 0 && tz->trans[i] <= tz->trans[i - 1])
            bad = "transitions not ascending";
    }
    p += timecnt * 8;
    for (size_t i = 0; i < timecnt; i++) {
        tz->idx[i] = p[i];
        if (p[i] >= typecnt)
            bad = "transition names a missing type";
    }
    p += timecnt;
    for (size_t i = 0; i < typecnt; i++, p += 6) {
        tz->types[i].off = (long)be(p, 4);
        tz->types[i].isdst = p[4] != 0;
        tz->types[i].abbr = p[5];
        if (p[5] >= charcnt)
            bad = "abbreviation index out of range";
    }
    memcpy(tz->chars, p, charcnt);
    p += charcnt + isstd + isut;
    /* footer: "\n<POSIX TZ>\n" */
    size_t rest = n - (size_t)(p - d);
    if (!bad && rest >= 2 && p[0] == '\n') {
        const unsigned char *nl = memchr(p + 1, '\n', rest - 1);
        if (!nl) {
            bad = "unterminated footer";
        } else if (nl > p + 1) {
            char *s = mla_xstrndup((const char *)p + 1, (size_t)(nl - p - 1));
            if (!posix_parse(s, &tz->footer))
                bad = "unsupported POSIX TZ footer";
            free(s);
        }
    }
    if (bad) {
        tz_free(tz);
        return mla_err_set(err, MLA_EPARSE, "time zone %s: %s", name, bad);
    }
    tz->name = mla_xstrdup(name);
    *out = tz;
    return MLA_OK;
}

static enum mla_code tz_name_check(const char *name, struct mla_err *err)
{
    size_t len = strlen(name);
    if (len == 0 || len > 128)
        return mla_err_set(err, MLA_EINVAL,
                           "time zone name must be 1..128 characters (an IANA name like "
                           "Europe/Berlin)");
    if (name[0] == '/' || strstr(name, ".."))
        return mla_err_set(err, MLA_EINVAL,
                           "time zone \"%s\": must be a relative IANA name like Europe/Berlin "
                           "(no leading '/', no \"..\")",
                           name);
    for (const char *c = name; *c; c++) {
        if (!isalnum((unsigned char)*c) && !strchr("/_+-.", *c))
            return mla_err_set(err, MLA_EINVAL,
                               "time zone \"%s\": character '%c' not allowed (an IANA name like "
                               "Europe/Berlin)",
                               name, *c);
    }
    return MLA_OK;
}

static enum mla_code tz_read(const char *name, struct mla_tz **out, struct mla_err *err)
{
    const char *dir = getenv("TZDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return mla_err_set(err, MLA_ENOTFOUND,
                           "unknown time zone \"%s\" (no %s: %s); use an IANA name like "
                           "Europe/Berlin or UTC",
                           name, path, strerror(errno));
    size_t cap = 8192, len = 0;
    unsigned char *d = mla_xmalloc(cap);
    size_t r;
    while ((r = fread(d + len, 1, cap - len, f)) > 0) {
        len += r;
        if (len == cap) {
            if (cap >= (1u << 20))
                break;
            cap *= 2;
            d = mla_xrealloc(d, cap);
        }
    }
    bool ioerr = ferror(f) != 0;
    fclose(f);
    enum mla_code rc;
    if (ioerr)
        rc = mla_err_set(err, MLA_ENOTFOUND, "unknown time zone \"%s\" (%s is not a readable file)",
                         name, path);
    else
        rc = tz_parse(name, d, len, out, err);
    free(d);
    return rc;
}

enum mla_code mla_hours_tz_load(const char *name, const struct mla_tz **out, struct mla_err *err)
{
    if (!name || !*name)
        name = "UTC";
    enum mla_code rc = tz_name_check(name, err);
    if (rc)
        return rc;
    pthread_mutex_lock(&tz_mu);
    for (struct mla_tz *z = tz_cache; z; z = z->next) {
        if (strcmp(z->name, name) == 0) {
            pthread_mutex_unlock(&tz_mu);
            *out = z;
            return MLA_OK;
        }
    }
    /* Read under the lock: zones are few and loaded once, and this keeps one copy per name. */
    struct mla_tz *z = NULL;
    rc = tz_read(name, &z, err);
    if (rc == MLA_OK) {
        z->next = tz_cache;
        tz_cache = z;
        *out = z;
    }
    pthread_mutex_unlock(&tz_mu);
    return rc;
}

const char *mla_hours_tz_name(const struct mla_tz *tz)
{
    return tz->name;
}

void mla_hours_cache_clear(void)
{
    pthread_mutex_lock(&tz_mu);
    struct mla_tz *z = tz_cache;
    tz_cache = NULL;
    pthread_mutex_unlock(&tz_mu);
    while (z) {
        struct mla_tz *next = z->next;
        tz_free(z);
        z = next;
    }
}

/* ---- business-hours rules ---- */

static const char *const day_names[7] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};

static int day_index(const char *s, size_t n)
{
    if (n != 3)
        return -1;
    for (int i = 0; i < 7; i++)
        if (strncasecmp(s, day_names[i], 3) == 0)
            return i;
    return -1;
}

static enum mla_code parse_days(const char *s, unsigned *out, struct mla_err *err)
{
    if (strcasecmp(s, "daily") == 0) {
        *out = 0x7f;
        return MLA_OK;
    }
    unsigned mask = 0;
    const char *p = s;
    for (;;) {
        const char *end = p + strcspn(p, ",");
        const char *dash = memchr(p, '-', (size_t)(end - p));
        int a = day_index(p, (size_t)((dash ? dash : end) - p));
        int b = dash ? day_index(dash + 1, (size_t)(end - dash - 1)) : a;
        if (a < 0 || b < 0) {
            const char *bp = a < 0 ? p : dash + 1;
            const char *be_ = a < 0 ? (dash ? dash : end) : end;
            return mla_err_set(err, MLA_EINVAL,
                               "unknown day \"%.*s\" in \"%s\" (days are Mon Tue Wed Thu Fri Sat "
                               "Sun, ranges like Mon-Fri, lists like Sat,Sun, or daily)",
                               (int)(be_ - bp), bp, s);
        }
        for (int d = a;; d = (d + 1) % 7) {
            mask |= 1u << d;
            if (d == b)
                break;
        }
        if (!*end)
            break;
        p = end + 1;
    }
    *out = mask;
    return MLA_OK;
}

/* "HH:MM" -> minutes; allow_24 accepts "24:00". */
static bool parse_hhmm(const char *s, size_t n, bool allow_24, int *out)
{
    if (n != 5 || !isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) || s[2] != ':' ||
        !isdigit((unsigned char)s[3]) || !isdigit((unsigned char)s[4]))
        return false;
    int h = (s[0] - '0') * 10 + (s[1] - '0');
    int m = (s[3] - '0') * 10 + (s[4] - '0');
    if (m > 59 || h > 24 || (h == 24 && (!allow_24 || m != 0)))
        return false;
    *out = h * 60 + m;
    return true;
}

enum mla_code mla_hours_create(const char *tz, struct mla_hours **out, struct mla_err *err)
{
    const struct mla_tz *z;
    enum mla_code rc = mla_hours_tz_load(tz, &z, err);
    if (rc)
        return rc;
    struct mla_hours *h = mla_xcalloc(1, sizeof *h);
    h->tz = z;
    *out = h;
    return MLA_OK;
}

void mla_hours_destroy(struct mla_hours *h)
{
    if (!h)
        return;
    free(h->w);
    free(h);
}

enum mla_code mla_hours_add_window(struct mla_hours *h, const char *days, const char *start,
                                   const char *end, int min_replicas, struct mla_err *err)
{
    struct mla_hours_window w = {.min_replicas = min_replicas};
    enum mla_code rc = parse_days(days, &w.days, err);
    if (rc)
        return rc;
    if (!parse_hhmm(start, strlen(start), false, &w.start_min))
        return mla_err_set(err, MLA_EINVAL, "bad start time \"%s\" (HH:MM, 00:00 to 23:59)", start);
    if (!parse_hhmm(end, strlen(end), true, &w.end_min))
        return mla_err_set(err, MLA_EINVAL, "bad end time \"%s\" (HH:MM, 00:00 to 24:00)", end);
    if (w.end_min == w.start_min)
        return mla_err_set(err, MLA_EINVAL,
                           "window %s-%s is empty (start equals end; use 00:00-24:00 for a whole "
                           "day)",
                           start, end);
    if (min_replicas < 0)
        return mla_err_set(err, MLA_EINVAL, "minReplicas %d of window %s %s-%s is negative",
                           min_replicas, days, start, end);
    h->w = mla_xrealloc(h->w, (h->n + 1) * sizeof *h->w);
    h->w[h->n++] = w;
    return MLA_OK;
}

static enum mla_code parse_window(struct mla_hours *h, const char *text, int default_min,
                                  struct mla_err *err)
{
    /* tokens by whitespace: [days...] TIME [min=N] */
    char *copy = mla_xstrdup(text);
    char *tok[16];
    size_t nt = 0;
    char *p = copy;
    while (*p) {
        while (isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        if (nt == 16) {
            free(copy);
            return mla_err_set(err, MLA_EINVAL, "too many words; %s", HOURS_SYNTAX);
        }
        tok[nt++] = p;
        while (*p && !isspace((unsigned char)*p))
            p++;
        if (*p)
            *p++ = '\0';
    }
    enum mla_code rc = MLA_OK;
    int min = default_min;
    if (nt > 0 && strncasecmp(tok[nt - 1], "min=", 4) == 0) {
        char *endp;
        errno = 0;
        long v = strtol(tok[nt - 1] + 4, &endp, 10);
        if (errno || *endp || endp == tok[nt - 1] + 4 || v < 0 || v > 100000) {
            rc = mla_err_set(err, MLA_EINVAL, "bad \"%s\" (min=N with N a replica count >= 0)",
                             tok[nt - 1]);
            goto out;
        }
        min = (int)v;
        nt--;
    }
    if (nt < 2) {
        rc = mla_err_set(err, MLA_EINVAL, "missing %s; %s", nt == 0 ? "days and times" : "times",
                         HOURS_SYNTAX);
        goto out;
    }
    const char *times = tok[nt - 1];
    const char *dash = strchr(times, '-');
    if (!dash) {
        rc = mla_err_set(err, MLA_EINVAL, "bad times \"%s\" (HH:MM-HH:MM)", times);
        goto out;
    }
    char start[8] = "", end[8] = "";
    if ((size_t)(dash - times) < sizeof start)
        memcpy(start, times, (size_t)(dash - times));
    if (strlen(dash + 1) < sizeof end)
        memcpy(end, dash + 1, strlen(dash + 1));
    /* days may be written with spaces after commas: join the remaining words */
    char days[128] = "";
    size_t dl = 0;
    for (size_t i = 0; i + 1 < nt; i++) {
        size_t l = strlen(tok[i]);
        if (dl + l + 1 >= sizeof days) {
            rc = mla_err_set(err, MLA_EINVAL, "day list too long; %s", HOURS_SYNTAX);
            goto out;
        }
        memcpy(days + dl, tok[i], l);
        dl += l;
        days[dl] = '\0';
    }
    if (start[0] == '\0' || end[0] == '\0') {
        rc = mla_err_set(err, MLA_EINVAL, "bad times \"%s\" (HH:MM-HH:MM)", times);
        goto out;
    }
    rc = mla_hours_add_window(h, days, start, end, min, err);
out:
    free(copy);
    return rc;
}

enum mla_code mla_hours_parse(const char *spec, const char *tz, int default_min,
                              struct mla_hours **out, struct mla_err *err)
{
    if (default_min < 0)
        return mla_err_set(err, MLA_EINVAL, "business hours: default minReplicas is negative");
    struct mla_hours *h;
    enum mla_code rc = mla_hours_create(tz, &h, err);
    if (rc)
        return mla_err_prefix(err, rc, "business hours");
    const char *p = spec ? spec : "";
    for (;;) {
        const char *end = p + strcspn(p, ";");
        char *one = mla_xstrndup(p, (size_t)(end - p));
        bool blank = strspn(one, " \t\r\n") == strlen(one);
        if (blank && *end == '\0' && h->n > 0) {
            free(one); /* a trailing ';' is fine */
            break;
        }
        rc = blank ? mla_err_set(err, MLA_EINVAL, "empty window; %s", HOURS_SYNTAX)
                   : parse_window(h, one, default_min, err);
        if (rc) {
            if (strcmp(one, spec ? spec : "") == 0)
                mla_err_prefix(err, rc, "business hours \"%s\"", one);
            else
                mla_err_prefix(err, rc, "business hours \"%s\": window \"%s\"", spec, one);
            free(one);
            mla_hours_destroy(h);
            return rc;
        }
        free(one);
        if (!*end)
            break;
        p = end + 1;
    }
    *out = h;
    return MLA_OK;
}

/* The window w started on local day `days` (days since epoch): its [start, end) instants. */
static void window_span(const struct mla_hours *h, const struct mla_hours_window *w, int64_t day,
                        int64_t *s, int64_t *e)
{
    int64_t y;
    int m, d;
    civil_from_days(day, &y, &m, &d);
    int end_min = w->end_min <= w->start_min ? w->end_min + 1440 : w->end_min;
    *s = mla_hours_local_to_utc(h->tz, (int)y, m, d, w->start_min);
    *e = mla_hours_local_to_utc(h->tz, (int)y, m, d, end_min);
}

static int64_t local_day(const struct mla_hours *h, time_t now)
{
    return floor_div((int64_t)now + mla_hours_utc_offset(h->tz, now), 86400);
}

struct mla_hours_state mla_hours_eval(const struct mla_hours *h, time_t now)
{
    struct mla_hours_state st = {.active = false, .min_replicas = 0, .window = -1};
    int64_t today = local_day(h, now);
    for (int64_t day = today - 1; day <= today; day++) {
        int wd = weekday_of(day);
        for (size_t i = 0; i < h->n; i++) {
            const struct mla_hours_window *w = &h->w[i];
            if (!(w->days & (1u << wd)))
                continue;
            int64_t s, e;
            window_span(h, w, day, &s, &e);
            if (now >= s && now < e && (!st.active || w->min_replicas > st.min_replicas)) {
                st.active = true;
                st.min_replicas = w->min_replicas;
                st.window = (int)i;
            }
        }
    }
    return st;
}

bool mla_hours_active(const struct mla_hours *h, time_t now, int *min_replicas)
{
    struct mla_hours_state st = mla_hours_eval(h, now);
    if (min_replicas)
        *min_replicas = st.min_replicas;
    return st.active;
}

time_t mla_hours_next_change(const struct mla_hours *h, time_t now)
{
    int64_t today = local_day(h, now), best = -1;
    for (int64_t day = today - 1; day <= today + 8; day++) {
        int wd = weekday_of(day);
        for (size_t i = 0; i < h->n; i++) {
            if (!(h->w[i].days & (1u << wd)))
                continue;
            int64_t s, e;
            window_span(h, &h->w[i], day, &s, &e);
            if (s > now && (best < 0 || s < best))
                best = s;
            if (e > now && (best < 0 || e < best))
                best = e;
        }
    }
    return (time_t)best;
}

void mla_hours_days_format(unsigned days, char *out, size_t n)
{
    size_t len = 0;
    if (n == 0)
        return;
    out[0] = '\0';
    days &= 0x7f;
    if (days == 0x7f) {
        snprintf(out, n, "daily");
        return;
    }
    for (int k = 0; k < 7 && len < n; k++) { /* Monday first */
        int d = (k + 1) % 7;
        if (!(days & (1u << d)) || (k > 0 && (days & (1u << ((d + 6) % 7)))))
            continue; /* not the start of a run */
        int e = k;
        while (e + 1 < 7 && (days & (1u << ((e + 2) % 7))))
            e++;
        int r = snprintf(out + len, n - len, "%s%s%s%s", len ? "," : "", day_names[d],
                         e > k ? "-" : "", e > k ? day_names[(e + 1) % 7] : "");
        len += r > 0 ? (size_t)r : 0;
    }
}

void mla_hours_time_format(int min, char *out, size_t n)
{
    snprintf(out, n, "%02d:%02d", min / 60, min % 60);
}

void mla_hours_window_format(const struct mla_hours_window *w, char *out, size_t n)
{
    char days[40], s[8], e[8];
    mla_hours_days_format(w->days, days, sizeof days);
    mla_hours_time_format(w->start_min, s, sizeof s);
    mla_hours_time_format(w->end_min, e, sizeof e);
    snprintf(out, n, "%s %s-%s", days, s, e);
}
