/* hours/tz.c - a small TZif reader, so that local time is computed without TZ/tzset
 * (process-global, not thread-safe), and the zone database: every zone under $TZDIR (or
 * /usr/share/zoneinfo) read once into an immutable, refcounted set, so that a request only
 * looks a name up (no file I/O, no global lock). One-shot commands use the on-demand mode
 * instead (hours.h): the database starts with UTC and reads a zone's file at its first lookup.
 *
 * The zone model: a sorted list of transitions (64-bit section of TZif v2+) each naming a local
 * time type (UTC offset, DST flag, abbreviation), and after the last transition the POSIX TZ
 * footer ("CET-1CEST,M3.5.0,M10.5.0/3"). Before the first transition type 0 applies (RFC 8536).
 * Wall-clock to UTC (for window edges) walks the constant-offset segments between transitions,
 * which gives the first occurrence of a repeated time and the end of a gap for a skipped one.
 */
#include "mla/hours.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hours-int.h"
#include "mla/file.h"
#include "mla/mem.h"

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
};

struct tz_info {
    long off;
    bool isdst;
    const char *abbr;
};

/* ---- calendar ---- */

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
    int64_t jan1 = mla__days_from_civil(y, 1, 1);
    if (r->kind == 'J')
        return jan1 + r->n - 1 + (is_leap(y) && r->n >= 60 ? 1 : 0);
    if (r->kind == 'N')
        return jan1 + r->n;
    int64_t first = mla__days_from_civil(y, r->m, 1);
    int wd = mla__weekday_of(first);
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
    mla__civil_from_days(mla__floor_div(t, 86400), &y, &m, &d);
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
    int64_t g = mla__days_from_civil(year, mon, mday) * 86400 + (int64_t)min * 60;
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

enum mla_code mla__hours_tz_parse(const char *name, const unsigned char *d, size_t n,
                                  struct mla_tz **out, struct mla_err *err)
{
    return tz_parse(name, d, n, out, err);
}

void mla__hours_tz_free(struct mla_tz *tz)
{
    tz_free(tz);
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

/* ---- the zone database ---- */

/* One name in the database: a zone, or why the file under that name is not one (so that a
 * lookup of a broken file says what is wrong with it rather than "unknown"). */
struct tzdb_entry {
    char *name;
    struct mla_tz *zone; /* owned; NULL when the file is not a usable zone */
    enum mla_code code;  /* MLA_OK with zone, else the load error */
    char *msg;           /* owned; the load error, NULL with zone */
};

struct mla_tzdb {
    _Atomic int refs;
    struct tzdb_entry *e; /* sorted by name; immutable after load (MLA_TZDB_ALL) */
    size_t n, cap;
    /* MLA_TZDB_ON_DEMAND: e grows at lookups, under mu; the zones themselves never move */
    bool on_demand;
    char *dir; /* owned; the zone directory, on demand only */
    /* what the directory held when it was read (names, sizes, mtimes, inodes): a reload that
     * finds the same keeps this database instead of parsing ~600 files again (MLA_TZDB_ALL) */
    uint64_t fingerprint;
    pthread_mutex_t mu;
};

/* The process default, loaded at the first use (at start: policy loading, render, forecast)
 * and replaced by mla_hours_db_reload(), in the mode mla_hours_db_set_mode() chose. */
static pthread_mutex_t tz_mu = PTHREAD_MUTEX_INITIALIZER;
static struct mla_tzdb *tz_default;          /* guarded by tz_mu; holds one reference */
static enum mla_tzdb_mode tz_mode = MLA_TZDB_ALL; /* guarded by tz_mu */

#define TZDB_MAX_DEPTH 4          /* Area/Location/Sub plus the root: deeper is a link loop */
#define TZDB_MAX_FILE (1u << 20)  /* the largest real zone is ~3 KiB */
#define TZDB_MAX_ENTRIES 20000

static void tzdb_add(struct mla_tzdb *db, const char *name, struct mla_tz *zone,
                     enum mla_code code, const char *msg)
{
    if (db->n == db->cap) {
        db->cap = db->cap ? db->cap * 2 : 1024;
        db->e = mla_xrealloc(db->e, db->cap * sizeof *db->e);
    }
    db->e[db->n++] = (struct tzdb_entry){.name = mla_xstrdup(name), .zone = zone, .code = code,
                                         .msg = msg ? mla_xstrdup(msg) : NULL};
}

static void tzdb_read_file(struct mla_tzdb *db, const char *path, const char *name, off_t size)
{
    if (size < 4 || (size_t)size > TZDB_MAX_FILE)
        return; /* not a zone: nothing to say about it */
    struct mla_err e;
    mla_err_clear(&e);
    char *d = NULL;
    size_t len = 0;
    if (mla_file_read(path, TZDB_MAX_FILE, &d, &len, &e) != MLA_OK)
        return;
    struct mla_tz *z = NULL;
    enum mla_code rc = tz_parse(name, (const unsigned char *)d, len, &z, &e);
    free(d);
    tzdb_add(db, name, z, rc, rc ? e.msg : NULL);
}

/* A hash of one directory entry; entries are summed, so the order readdir gives them in does
 * not matter. */
static uint64_t tzdb_entry_hash(const char *name, const struct stat *st)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const unsigned char *c = (const unsigned char *)name; *c; c++)
        h = (h ^ *c) * 1099511628211ULL;
    const uint64_t v[] = {(uint64_t)st->st_size, (uint64_t)st->st_mtim.tv_sec,
                          (uint64_t)st->st_mtim.tv_nsec, (uint64_t)st->st_ino};
    for (size_t i = 0; i < sizeof v / sizeof *v; i++)
        h = (h ^ v[i]) * 1099511628211ULL;
    return h;
}

/* dir is the absolute directory, rel the name prefix ("" at the root, else "Europe/"). With db
 * NULL only *fp is computed (no file is opened): that is how a reload tells nothing changed. */
static void tzdb_walk(struct mla_tzdb *db, uint64_t *fp, const char *dir, const char *rel,
                     int depth)
{
    DIR *dh = opendir(dir);
    if (!dh)
        return;
    struct dirent *de;
    size_t seen = 0;
    while ((de = readdir(dh)) != NULL && seen++ < TZDB_MAX_ENTRIES &&
           (!db || db->n < TZDB_MAX_ENTRIES)) {
        const char *b = de->d_name;
        /* posix/ and right/ repeat the whole tree (right/ with leap seconds, refused anyway) */
        if (b[0] == '.' || (depth == 0 && (!strcmp(b, "posix") || !strcmp(b, "right"))))
            continue;
        char path[1024], name[512];
        int pl = snprintf(path, sizeof path, "%s/%s", dir, b);
        int nl = snprintf(name, sizeof name, "%s%s", rel, b);
        if (pl < 0 || (size_t)pl >= sizeof path || nl < 0 || (size_t)nl >= sizeof name)
            continue;
        if (tz_name_check(name, NULL) != MLA_OK)
            continue; /* a name no lookup could ask for */
        struct stat st;
        if (stat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            if (depth + 1 < TZDB_MAX_DEPTH) {
                char sub[512];
                snprintf(sub, sizeof sub, "%s/", name);
                tzdb_walk(db, fp, path, sub, depth + 1);
            }
        } else if (S_ISREG(st.st_mode)) {
            *fp += tzdb_entry_hash(name, &st);
            if (db)
                tzdb_read_file(db, path, name, st.st_size);
        }
    }
    closedir(dh);
}

static int tzdb_cmp(const void *a, const void *b)
{
    return strcmp(((const struct tzdb_entry *)a)->name, ((const struct tzdb_entry *)b)->name);
}

/* UTC without any file: a container without tzdata still knows the default zone. */
static struct mla_tz *tz_builtin_utc(void)
{
    struct mla_tz *tz = mla_xcalloc(1, sizeof *tz);
    tz->name = mla_xstrdup("UTC");
    tz->trans = mla_xcalloc(1, sizeof *tz->trans);
    tz->idx = mla_xcalloc(1, 1);
    tz->types = mla_xcalloc(1, sizeof *tz->types);
    tz->ntypes = 1;
    tz->chars = mla_xstrdup("UTC");
    tz->nchars = 4;
    return tz;
}

static const struct tzdb_entry *tzdb_entry(const struct mla_tzdb *db, const char *name)
{
    struct tzdb_entry key = {.name = (char *)name};
    return db->n ? bsearch(&key, db->e, db->n, sizeof *db->e, tzdb_cmp) : NULL;
}

/* A name the whole-directory walk would not have read: under posix/ or right/, a component
 * starting with '.', or deeper than the walk goes. On demand, such a name stays unknown. */
static bool tzdb_unwalked(const char *name)
{
    if (!strncmp(name, "posix/", 6) || !strncmp(name, "right/", 6) || !strcmp(name, "posix") ||
        !strcmp(name, "right"))
        return true;
    int depth = 0;
    for (const char *c = name; *c; c++) {
        if ((c == name || c[-1] == '/') && *c == '.')
            return true;
        depth += *c == '/';
    }
    return depth >= TZDB_MAX_DEPTH;
}

/* On demand: reads the file of a name not in db yet (caller holds db->mu). Adds an entry for a
 * zone or a file that is not one; nothing for a missing file (unknown, as in the full walk). */
static void tzdb_demand(struct mla_tzdb *db, const char *name)
{
    if (db->n >= TZDB_MAX_ENTRIES || tzdb_unwalked(name))
        return;
    char path[1024];
    int pl = snprintf(path, sizeof path, "%s/%s", db->dir, name);
    struct stat st;
    if (pl < 0 || (size_t)pl >= sizeof path || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return;
    size_t n0 = db->n;
    tzdb_read_file(db, path, name, st.st_size);
    if (db->n > n0)
        qsort(db->e, db->n, sizeof *db->e, tzdb_cmp);
}

static const char *tzdb_dir(const char *dir)
{
    if (!dir || !*dir) {
        dir = getenv("TZDIR");
        if (!dir || !*dir)
            dir = "/usr/share/zoneinfo";
    }
    return dir;
}

static struct mla_tzdb *tzdb_new(const char *dir, enum mla_tzdb_mode mode)
{
    dir = tzdb_dir(dir);
    struct mla_tzdb *db = mla_xcalloc(1, sizeof *db);
    atomic_init(&db->refs, 1);
    pthread_mutex_init(&db->mu, NULL);
    if (mode == MLA_TZDB_ON_DEMAND) {
        db->on_demand = true;
        db->dir = mla_xstrdup(dir);
        tzdb_demand(db, "UTC");
    } else {
        tzdb_walk(db, &db->fingerprint, dir, "", 0);
        if (db->n)
            qsort(db->e, db->n, sizeof *db->e, tzdb_cmp);
    }
    const struct tzdb_entry *utc = tzdb_entry(db, "UTC");
    if (!utc || !utc->zone) {
        if (utc) { /* a broken UTC file: replace it */
            struct tzdb_entry *w = (struct tzdb_entry *)utc;
            free(w->msg);
            w->msg = NULL;
            w->code = MLA_OK;
            w->zone = tz_builtin_utc();
        } else {
            tzdb_add(db, "UTC", tz_builtin_utc(), MLA_OK, NULL);
            qsort(db->e, db->n, sizeof *db->e, tzdb_cmp);
        }
    }
    return db;
}

enum mla_code mla_hours_db_load(const char *dir, struct mla_tzdb **out, struct mla_err *err)
{
    (void)err; /* a missing or unreadable directory gives the built-in UTC only */
    *out = tzdb_new(dir, MLA_TZDB_ALL);
    return MLA_OK;
}

void mla_hours_db_ref(struct mla_tzdb *db)
{
    if (db)
        atomic_fetch_add_explicit(&db->refs, 1, memory_order_relaxed);
}

void mla_hours_db_unref(struct mla_tzdb *db)
{
    if (!db || atomic_fetch_sub_explicit(&db->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t i = 0; i < db->n; i++) {
        free(db->e[i].name);
        free(db->e[i].msg);
        tz_free(db->e[i].zone);
    }
    free(db->e);
    free(db->dir);
    pthread_mutex_destroy(&db->mu);
    free(db);
}

size_t mla_hours_db_count(const struct mla_tzdb *db)
{
    if (!db)
        return 0;
    struct mla_tzdb *m = (struct mla_tzdb *)db;
    if (db->on_demand)
        pthread_mutex_lock(&m->mu);
    size_t n = 0;
    for (size_t i = 0; i < db->n; i++)
        n += db->e[i].zone != NULL;
    if (db->on_demand)
        pthread_mutex_unlock(&m->mu);
    return n;
}

enum mla_code mla_hours_db_find(const struct mla_tzdb *db, const char *name,
                                const struct mla_tz **out, struct mla_err *err)
{
    if (!name || !*name)
        name = "UTC";
    enum mla_code rc = tz_name_check(name, err);
    if (rc)
        return rc;
    if (!db)
        return mla_err_set(err, MLA_ENOTFOUND,
                           "unknown time zone \"%s\"; use an IANA name like Europe/Berlin or UTC",
                           name);
    /* on demand the entries grow (a one-shot command: the lock is never contended); a full
     * database is immutable and read without one */
    struct mla_tzdb *m = (struct mla_tzdb *)db;
    if (db->on_demand)
        pthread_mutex_lock(&m->mu);
    const struct tzdb_entry *e = tzdb_entry(db, name);
    if (!e && db->on_demand) {
        tzdb_demand(m, name);
        e = tzdb_entry(db, name);
    }
    if (!e)
        rc = mla_err_set(err, MLA_ENOTFOUND,
                         "unknown time zone \"%s\"; use an IANA name like Europe/Berlin or UTC",
                         name);
    else if (!e->zone)
        rc = mla_err_set(err, e->code, "%s", e->msg);
    else
        *out = e->zone; /* owned by the database; does not move when entries are added */
    if (db->on_demand)
        pthread_mutex_unlock(&m->mu);
    return rc;
}

struct mla_tzdb *mla_hours_db_acquire(void)
{
    pthread_mutex_lock(&tz_mu);
    if (!tz_default) /* the first use, at start; cannot fail (UTC is built in) */
        tz_default = tzdb_new(NULL, tz_mode);
    struct mla_tzdb *db = tz_default;
    mla_hours_db_ref(db);
    pthread_mutex_unlock(&tz_mu);
    return db;
}

enum mla_code mla_hours_db_reload(struct mla_err *err)
{
    (void)err; /* cannot fail: UTC is built in */
    pthread_mutex_lock(&tz_mu);
    enum mla_tzdb_mode mode = tz_mode;
    uint64_t have = tz_default && !tz_default->on_demand ? tz_default->fingerprint : 0;
    pthread_mutex_unlock(&tz_mu);
    if (mode == MLA_TZDB_ALL && have) {
        /* a policy reload is frequent (every ConfigMap edit), a tzdata change rare: stat the
         * tree, and parse it again only when a file changed */
        uint64_t now = 0;
        tzdb_walk(NULL, &now, tzdb_dir(NULL), "", 0);
        if (now == have)
            return MLA_OK;
    }
    struct mla_tzdb *db = tzdb_new(NULL, mode); /* read outside the lock */
    pthread_mutex_lock(&tz_mu);
    struct mla_tzdb *old = tz_default;
    tz_default = db;
    pthread_mutex_unlock(&tz_mu);
    mla_hours_db_unref(old);
    return MLA_OK;
}

enum mla_code mla_hours_tz_load(const char *name, const struct mla_tz **out, struct mla_err *err)
{
    struct mla_tzdb *db = mla_hours_db_acquire();
    enum mla_code rc = mla_hours_db_find(db, name, out, err);
    mla_hours_db_unref(db); /* the default keeps its own reference */
    return rc;
}

const char *mla_hours_tz_name(const struct mla_tz *tz)
{
    return tz->name;
}

void mla_hours_db_set_mode(enum mla_tzdb_mode mode)
{
    pthread_mutex_lock(&tz_mu);
    tz_mode = mode;
    struct mla_tzdb *db = tz_default; /* the next use loads the default in the new mode */
    tz_default = NULL;
    pthread_mutex_unlock(&tz_mu);
    mla_hours_db_unref(db);
}

void mla_hours_cache_clear(void)
{
    pthread_mutex_lock(&tz_mu);
    struct mla_tzdb *db = tz_default;
    tz_default = NULL;
    pthread_mutex_unlock(&tz_mu);
    mla_hours_db_unref(db);
}
