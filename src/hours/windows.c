/* hours/windows.c - business-hours rules: parsing "Mon-Fri 09:00-18:00; ..." into weekly
 * windows and evaluating them in a zone (the zones come from tz.c).
 */
#include "mla/hours.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hours-int.h"
#include "mla/mem.h"

#define HOURS_SYNTAX                                                                               \
    "expected DAYS HH:MM-HH:MM [min=N], windows separated by ';', DAYS like Mon-Fri, Sat,Sun "     \
    "or daily"

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

enum mla_code mla_hours_create_in(struct mla_tzdb *db, const char *tz, struct mla_hours **out,
                                  struct mla_err *err)
{
    const struct mla_tz *z;
    enum mla_code rc = mla_hours_db_find(db, tz, &z, err);
    if (rc)
        return rc;
    struct mla_hours *h = mla_xcalloc(1, sizeof *h);
    mla_hours_db_ref(db);
    h->db = db;
    h->tz = z;
    *out = h;
    return MLA_OK;
}

enum mla_code mla_hours_create(const char *tz, struct mla_hours **out, struct mla_err *err)
{
    struct mla_tzdb *db = mla_hours_db_acquire();
    enum mla_code rc = mla_hours_create_in(db, tz, out, err);
    mla_hours_db_unref(db);
    return rc;
}

void mla_hours_destroy(struct mla_hours *h)
{
    if (!h)
        return;
    mla_hours_db_unref(h->db);
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
    struct mla_tzdb *db = mla_hours_db_acquire();
    enum mla_code rc = mla_hours_parse_in(db, spec, tz, default_min, out, err);
    mla_hours_db_unref(db);
    return rc;
}

enum mla_code mla_hours_parse_in(struct mla_tzdb *db, const char *spec, const char *tz,
                                 int default_min, struct mla_hours **out, struct mla_err *err)
{
    if (default_min < 0)
        return mla_err_set(err, MLA_EINVAL, "business hours: default minReplicas is negative");
    if (spec && strlen(spec) > MLA_HOURS_MAX_SPEC)
        return mla_err_set(err, MLA_EINVAL, "business hours: %zu characters; allowed: at most %d",
                           strlen(spec), MLA_HOURS_MAX_SPEC);
    struct mla_hours *h;
    enum mla_code rc = mla_hours_create_in(db, tz, &h, err);
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
    mla__civil_from_days(day, &y, &m, &d);
    int end_min = w->end_min <= w->start_min ? w->end_min + 1440 : w->end_min;
    *s = mla_hours_local_to_utc(h->tz, (int)y, m, d, w->start_min);
    *e = mla_hours_local_to_utc(h->tz, (int)y, m, d, end_min);
}

static int64_t local_day(const struct mla_hours *h, time_t now)
{
    return mla__floor_div((int64_t)now + mla_hours_utc_offset(h->tz, now), 86400);
}

struct mla_hours_state mla_hours_eval(const struct mla_hours *h, time_t now)
{
    struct mla_hours_state st = {.active = false, .min_replicas = 0, .window = -1};
    int64_t today = local_day(h, now);
    for (int64_t day = today - 1; day <= today; day++) {
        int wd = mla__weekday_of(day);
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
        int wd = mla__weekday_of(day);
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
