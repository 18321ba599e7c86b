/* test_hours.c - business-hours windows and the TZif reader (DST, midnight, weekends, errors),
 * plus a comparison with glibc's localtime_r for random instants in several zones. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../support/support.h"
#include "mla/hours.h"

static void fini(void)
{
    mla_hours_cache_clear();
}

#define utc sup_utc

static struct mla_hours *parse_ok(const char *spec, const char *tz, int def)
{
    struct mla_hours *h = NULL;
    struct mla_err e;
    mla_err_clear(&e);
    enum mla_code rc = mla_hours_parse(spec, tz, def, &h, &e);
    cr_assert_eq(rc, MLA_OK, "parse %s: %s", spec, e.msg);
    return h;
}

static bool active(const struct mla_hours *h, time_t t)
{
    return mla_hours_active(h, t, NULL);
}

Test(hours, local_time_matches_glibc_for_random_instants, .fini = fini)
{
    static const char *zones[] = {"Europe/Berlin",
                                  "America/New_York",
                                  "Australia/Sydney",
                                  "Asia/Kolkata",
                                  "UTC",
                                  "Europe/Dublin",
                                  "Pacific/Chatham",
                                  "America/Sao_Paulo",
                                  "Africa/Casablanca",
                                  "America/Santiago"};
    uint64_t seed = 12345;
    for (size_t z = 0; z < sizeof zones / sizeof zones[0]; z++) {
        const struct mla_tz *tz;
        struct mla_err e;
        cr_assert_eq(mla_hours_tz_load(zones[z], &tz, &e), MLA_OK, "%s", e.msg);
        setenv("TZ", zones[z], 1);
        tzset();
        for (int i = 0; i < 4000; i++) {
            /* 1901 .. 2100: covers LMT, the transition table and the POSIX footer range */
            int64_t r = (int64_t)(sup_rand_u64(&seed) >> 1);
            time_t t = (time_t)(-2147483648LL + (int64_t)((uint64_t)r % 6250000000ULL));
            if (i % 4 == 0) /* and many near today's transitions */
                t = (time_t)(1700000000LL + (int64_t)((uint64_t)r % 700000000ULL));
            struct tm want, got;
            cr_assert(localtime_r(&t, &want));
            cr_assert(mla_hours_local(tz, t, &got));
            cr_assert(want.tm_year == got.tm_year && want.tm_mon == got.tm_mon &&
                          want.tm_mday == got.tm_mday && want.tm_hour == got.tm_hour &&
                          want.tm_min == got.tm_min && want.tm_sec == got.tm_sec &&
                          want.tm_wday == got.tm_wday && want.tm_yday == got.tm_yday &&
                          want.tm_isdst == got.tm_isdst && want.tm_gmtoff == got.tm_gmtoff,
                      "%s t=%lld: glibc %04d-%02d-%02d %02d:%02d:%02d off %ld dst %d, ours "
                      "%04d-%02d-%02d %02d:%02d:%02d off %ld dst %d",
                      zones[z], (long long)t, want.tm_year + 1900, want.tm_mon + 1, want.tm_mday,
                      want.tm_hour, want.tm_min, want.tm_sec, want.tm_gmtoff, want.tm_isdst,
                      got.tm_year + 1900, got.tm_mon + 1, got.tm_mday, got.tm_hour, got.tm_min,
                      got.tm_sec, got.tm_gmtoff, got.tm_isdst);
            cr_assert_str_eq(want.tm_zone, got.tm_zone, "%s t=%lld", zones[z], (long long)t);
        }
    }
}

Test(hours, next_transition_berlin_table_and_footer, .fini = fini)
{
    const struct mla_tz *tz;
    cr_assert_eq(mla_hours_tz_load("Europe/Berlin", &tz, NULL), MLA_OK);
    /* 2026: table; 2045: past the last table entry, from "CET-1CEST,M3.5.0,M10.5.0/3" */
    cr_assert_eq(mla_hours_tz_next_transition(tz, utc(2026, 1, 1, 0, 0)), utc(2026, 3, 29, 1, 0));
    cr_assert_eq(mla_hours_tz_next_transition(tz, utc(2026, 3, 29, 1, 0)), utc(2026, 10, 25, 1, 0));
    cr_assert_eq(mla_hours_tz_next_transition(tz, utc(2045, 1, 1, 0, 0)), utc(2045, 3, 26, 1, 0));
    cr_assert_eq(mla_hours_tz_next_transition(tz, utc(2045, 3, 26, 1, 0)), utc(2045, 10, 29, 1, 0));
    const struct mla_tz *u;
    cr_assert_eq(mla_hours_tz_load("UTC", &u, NULL), MLA_OK);
    cr_assert_eq(mla_hours_tz_next_transition(u, utc(2026, 1, 1, 0, 0)), (time_t)-1);
}

Test(hours, weekdays_and_weekends_with_own_floors, .fini = fini)
{
    struct mla_hours *h = parse_ok("Mon-Fri 09:00-18:00; Sat,Sun 10:00-14:00 min=1", "UTC", 3);
    int min = -1;
    /* 2026-11-23 is a Monday */
    cr_assert(mla_hours_active(h, utc(2026, 11, 23, 9, 0), &min));
    cr_assert_eq(min, 3);
    cr_assert_not(active(h, utc(2026, 11, 23, 8, 59)));
    cr_assert_not(active(h, utc(2026, 11, 23, 18, 0)));
    cr_assert(mla_hours_active(h, utc(2026, 11, 28, 11, 0), &min)); /* Saturday */
    cr_assert_eq(min, 1);
    cr_assert_not(active(h, utc(2026, 11, 28, 9, 30)));
    cr_assert_not(active(h, utc(2026, 11, 29, 14, 0))); /* Sunday, end is exclusive */
    struct mla_hours_state st = mla_hours_eval(h, utc(2026, 11, 29, 13, 59));
    cr_assert(st.active);
    cr_assert_eq(st.window, 1);
    /* Friday evening: the next change is Saturday 10:00 */
    cr_assert_eq(mla_hours_next_change(h, utc(2026, 11, 27, 19, 0)), utc(2026, 11, 28, 10, 0));
    mla_hours_destroy(h);
}

Test(hours, midnight_spanning_windows_belong_to_their_start_day, .fini = fini)
{
    struct mla_hours *h = parse_ok("Fri 22:00-06:00", "UTC", 2);
    cr_assert(active(h, utc(2026, 11, 27, 22, 0))); /* Fri */
    cr_assert(active(h, utc(2026, 11, 28, 5, 59))); /* Sat morning, still Friday's window */
    cr_assert_not(active(h, utc(2026, 11, 28, 6, 0)));
    cr_assert_not(active(h, utc(2026, 11, 27, 3, 0)));  /* Fri morning belongs to Thursday */
    cr_assert_not(active(h, utc(2026, 11, 28, 23, 0))); /* Sat night: not listed */
    mla_hours_destroy(h);

    h = parse_ok("Mon-Sun 22:00-06:00", "UTC", 1);
    cr_assert(active(h, utc(2026, 11, 25, 23, 0)));
    cr_assert(active(h, utc(2026, 11, 26, 0, 0)));
    cr_assert_not(active(h, utc(2026, 11, 26, 21, 59)));
    mla_hours_destroy(h);

    h = parse_ok("Sat 20:00-00:00; daily 00:00-24:00 min=0", "UTC", 4);
    struct mla_hours_state st = mla_hours_eval(h, utc(2026, 11, 28, 23, 59));
    cr_assert(st.active);
    cr_assert_eq(st.min_replicas, 4); /* overlapping windows: the larger floor wins */
    cr_assert_eq(mla_hours_eval(h, utc(2026, 11, 29, 0, 0)).min_replicas, 0);
    mla_hours_destroy(h);
}

Test(hours, wrapping_day_range, .fini = fini)
{
    struct mla_hours *h = parse_ok("fri-MON 12:00-13:00", "UTC", 1);
    cr_assert(active(h, utc(2026, 11, 29, 12, 30)));     /* Sun */
    cr_assert(active(h, utc(2026, 11, 30, 12, 30)));     /* Mon */
    cr_assert_not(active(h, utc(2026, 11, 24, 12, 30))); /* Tue */
    mla_hours_destroy(h);
}

Test(hours, berlin_spring_forward_window_starting_in_the_gap, .fini = fini)
{
    /* 2026-03-29: 02:00 CET -> 03:00 CEST at 01:00Z; 02:30 does not exist that day */
    struct mla_hours *h = parse_ok("Sun 02:30-05:00", "Europe/Berlin", 2);
    cr_assert_not(active(h, utc(2026, 3, 29, 0, 59)));
    cr_assert(active(h, utc(2026, 3, 29, 1, 0))); /* the end of the gap, 03:00 CEST */
    cr_assert(active(h, utc(2026, 3, 29, 2, 59)));
    cr_assert_not(active(h, utc(2026, 3, 29, 3, 0))); /* 05:00 CEST */
    /* a normal Sunday a week later: 02:30 CEST = 00:30Z */
    cr_assert_not(active(h, utc(2026, 4, 5, 0, 29)));
    cr_assert(active(h, utc(2026, 4, 5, 0, 30)));
    cr_assert_eq(mla_hours_next_change(h, utc(2026, 3, 28, 12, 0)), utc(2026, 3, 29, 1, 0));
    mla_hours_destroy(h);
}

Test(hours, berlin_fall_back_repeated_hour_counts_once, .fini = fini)
{
    /* 2026-10-25: 03:00 CEST -> 02:00 CET at 01:00Z; 02:00-02:59 occurs twice */
    struct mla_hours *h = parse_ok("Sun 01:00-02:30", "Europe/Berlin", 2);
    cr_assert(active(h, utc(2026, 10, 24, 23, 0)));     /* 01:00 CEST */
    cr_assert(active(h, utc(2026, 10, 25, 0, 29)));     /* 02:29 CEST */
    cr_assert_not(active(h, utc(2026, 10, 25, 0, 30))); /* first 02:30: ends */
    cr_assert_not(active(h, utc(2026, 10, 25, 1, 10))); /* 02:10 CET: does not reopen */
    mla_hours_destroy(h);

    h = parse_ok("Sun 02:30-04:00", "Europe/Berlin", 2);
    cr_assert(active(h, utc(2026, 10, 25, 0, 30)));    /* first 02:30 (CEST) */
    cr_assert(active(h, utc(2026, 10, 25, 2, 59)));    /* 03:59 CET */
    cr_assert_not(active(h, utc(2026, 10, 25, 3, 0))); /* 04:00 CET */
    mla_hours_destroy(h);
}

Test(hours, new_york_dst_both_ways, .fini = fini)
{
    /* 2026-03-08: 02:00 EST -> 03:00 EDT at 07:00Z */
    struct mla_hours *h = parse_ok("Sun 02:30-06:00", "America/New_York", 2);
    cr_assert_not(active(h, utc(2026, 3, 8, 6, 59)));
    cr_assert(active(h, utc(2026, 3, 8, 7, 0)));
    cr_assert(active(h, utc(2026, 3, 8, 9, 59))); /* 05:59 EDT */
    cr_assert_not(active(h, utc(2026, 3, 8, 10, 0)));
    mla_hours_destroy(h);
    /* 2026-11-01: 02:00 EDT -> 01:00 EST at 06:00Z; the window lasts 2.5 real hours */
    h = parse_ok("Sun 01:30-03:00", "America/New_York", 2);
    cr_assert_not(active(h, utc(2026, 11, 1, 5, 29)));
    cr_assert(active(h, utc(2026, 11, 1, 5, 30))); /* first 01:30 (EDT) */
    cr_assert(active(h, utc(2026, 11, 1, 7, 59))); /* 02:59 EST */
    cr_assert_not(active(h, utc(2026, 11, 1, 8, 0)));
    /* weekday business hours follow the local clock across the change */
    mla_hours_destroy(h);
    h = parse_ok("Mon-Fri 09:00-17:00", "America/New_York", 2);
    cr_assert(active(h, utc(2026, 10, 30, 13, 0)));     /* Fri 09:00 EDT */
    cr_assert_not(active(h, utc(2026, 11, 2, 13, 30))); /* Mon 08:30 EST */
    cr_assert(active(h, utc(2026, 11, 2, 14, 0)));      /* Mon 09:00 EST */
    mla_hours_destroy(h);
}

static void parse_fails(const char *spec, const char *tz, enum mla_code code, const char *needle)
{
    struct mla_hours *h = (struct mla_hours *)0x1;
    struct mla_err e;
    mla_err_clear(&e);
    cr_assert_eq(mla_hours_parse(spec, tz, 1, &h, &e), code, "spec %s tz %s: %s", spec, tz, e.msg);
    cr_assert(strstr(e.msg, needle), "message for %s: %s (want %s)", spec, e.msg, needle);
    cr_assert_eq(h, (struct mla_hours *)0x1, "output touched on failure");
}

Test(hours, invalid_specs_name_the_bad_part, .fini = fini)
{
    parse_fails("Mon-Fry 09:00-18:00", "UTC", MLA_EINVAL, "unknown day \"Fry\"");
    parse_fails("Mon 9-18", "UTC", MLA_EINVAL, "bad start time \"9\"");
    parse_fails("Mon 09:00", "UTC", MLA_EINVAL, "bad times \"09:00\"");
    parse_fails("Mon 09:00-09:00", "UTC", MLA_EINVAL, "empty");
    parse_fails("Mon 24:00-02:00", "UTC", MLA_EINVAL, "bad start time");
    parse_fails("Mon 09:00-24:30", "UTC", MLA_EINVAL, "bad end time");
    parse_fails("Mon 09:00-18:00 min=x", "UTC", MLA_EINVAL, "min=N");
    parse_fails("09:00-18:00", "UTC", MLA_EINVAL, "DAYS HH:MM-HH:MM");
    parse_fails("", "UTC", MLA_EINVAL, "empty window");
    parse_fails("Mon 09:00-18:00;;Tue 09:00-10:00", "UTC", MLA_EINVAL, "empty window");
    parse_fails("Mon 09:00-18:00", "Mars/Olympus_Mons", MLA_ENOTFOUND, "unknown time zone");
    parse_fails("Mon 09:00-18:00", "../../etc/passwd", MLA_EINVAL, "no \"..\"");
    parse_fails("Mon 09:00-18:00", "/etc/localtime", MLA_EINVAL, "leading '/'");
    parse_fails("Mon 09:00-18:00", "Europe/Berlin;rm", MLA_EINVAL, "not allowed");
    parse_fails("Mon 09:00-18:00", "Europe", MLA_ENOTFOUND, "Europe"); /* a directory */
}

Test(hours, trailing_separator_and_spaces_are_fine, .fini = fini)
{
    struct mla_hours *h = parse_ok("  Sat, Sun  10:00-14:00 ; Mon 00:00-24:00;", "", 1);
    cr_assert_eq(h->n, 2);
    cr_assert_str_eq(mla_hours_tz_name(h->tz), "UTC");
    cr_assert(active(h, utc(2026, 11, 30, 23, 59)));
    mla_hours_destroy(h);
}

static void *load_berlin(void *arg)
{
    const struct mla_tz **out = arg;
    for (int i = 0; i < 200; i++)
        if (mla_hours_tz_load("Europe/Berlin", out, NULL) != MLA_OK)
            *out = NULL;
    return NULL;
}

Test(hours, concurrent_loads_share_one_zone, .fini = fini)
{
    pthread_t th[4];
    const struct mla_tz *got[4] = {0};
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, load_berlin, &got[i]);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++) {
        cr_assert_not_null(got[i]);
        cr_assert_eq(got[i], got[0]);
    }
}

/* Writes a TZif v2 file with no transitions, one type and `footer` as its POSIX TZ string. */
static void write_tzif(const char *path, const char *footer)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    unsigned char hdr[44] = "TZif2";
    memset(hdr + 5, 0, 39);
    /* isutcnt, isstdcnt, leapcnt, timecnt, typecnt = 1, charcnt = 4 */
    hdr[20 + 4 * 4 + 3] = 1;
    hdr[20 + 5 * 4 + 3] = 4;
    static const unsigned char type[6] = {0, 0, 0, 0, 0, 0};
    for (int block = 0; block < 2; block++) {
        fwrite(hdr, 1, sizeof hdr, f);
        fwrite(type, 1, sizeof type, f);
        fwrite("LMT", 1, 4, f);
    }
    fprintf(f, "\n%s\n", footer);
    fclose(f);
}

Test(hours, posix_footer_rules_match_glibc, .fini = fini)
{
    static const char *rules[] = {"EST5EDT,M3.2.0,M11.1.0",
                                  "CET-1CEST,M3.5.0,M10.5.0/3",
                                  "IST-1GMT0,M10.5.0,M3.5.0/1",
                                  "<-03>3<-02>,M3.5.0/-2,M10.5.0/-1",
                                  "AAA3BBB,J60/2,J300/3",
                                  "AAA3BBB,59/2,299/3",
                                  "NZST-12NZDT,M9.5.0,M4.1.0/3",
                                  "<+0330>-3:30",
                                  "XXX-5:45",
                                  "EST5EDT",
                                  "AAA-2BBB-3:30:15,M4.1.6/1:30,M9.5.1/22"};
    char dir[] = "/tmp/mla-tzdir.XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/Test", dir);
    mkdir(path, 0755);
    setenv("TZDIR", dir, 1);
    uint64_t seed = 99;
    for (size_t z = 0; z < sizeof rules / sizeof rules[0]; z++) {
        char name[32];
        snprintf(name, sizeof name, "Test/Zone%zu", z);
        snprintf(path, sizeof path, "%s/%s", dir, name);
        write_tzif(path, rules[z]);
        mla_hours_cache_clear(); /* the database is read once: read the new file */
        const struct mla_tz *tz;
        struct mla_err e;
        cr_assert_eq(mla_hours_tz_load(name, &tz, &e), MLA_OK, "%s: %s", rules[z], e.msg);
        setenv("TZ", rules[z], 1);
        tzset();
        for (int i = 0; i < 3000; i++) {
            time_t t = (time_t)(946684800LL + (int64_t)(sup_rand_u64(&seed) %
                                                        3155760000ULL)); /* 2000..2100 */
            struct tm want, got;
            cr_assert(localtime_r(&t, &want));
            cr_assert(mla_hours_local(tz, t, &got));
            cr_assert(want.tm_hour == got.tm_hour && want.tm_min == got.tm_min &&
                          want.tm_sec == got.tm_sec && want.tm_mday == got.tm_mday &&
                          want.tm_isdst == got.tm_isdst && want.tm_gmtoff == got.tm_gmtoff,
                      "%s t=%lld: glibc off %ld dst %d, ours off %ld dst %d", rules[z],
                      (long long)t, want.tm_gmtoff, want.tm_isdst, got.tm_gmtoff, got.tm_isdst);
            cr_assert_str_eq(want.tm_zone, got.tm_zone, "%s t=%lld", rules[z], (long long)t);
        }
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/Test", dir);
    rmdir(path);
    rmdir(dir);
}

Test(hours, malformed_tzif_files_are_refused, .fini = fini)
{
    char dir[] = "/tmp/mla-tzdir.XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    setenv("TZDIR", dir, 1);
    char path[256];
    snprintf(path, sizeof path, "%s/Junk", dir);
    FILE *f = fopen(path, "w");
    fputs("this is not a time zone file, not even close to one at all ok", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/BadRule", dir);
    write_tzif(path, "EST5EDT,M13.1.0,M11.1.0");
    mla_hours_cache_clear(); /* the database is read once: read the new files */
    const struct mla_tz *tz;
    struct mla_err e;
    cr_assert_eq(mla_hours_tz_load("Junk", &tz, &e), MLA_EPARSE);
    cr_assert(strstr(e.msg, "not a TZif file"), "%s", e.msg);
    cr_assert_eq(mla_hours_tz_load("BadRule", &tz, &e), MLA_EPARSE);
    cr_assert(strstr(e.msg, "unsupported POSIX TZ footer"), "%s", e.msg);
    unlink(path);
    snprintf(path, sizeof path, "%s/Junk", dir);
    unlink(path);
    rmdir(dir);
}

Test(hours, formatting_round_trips, .fini = fini)
{
    static const char *specs[] = {"Mon-Fri 09:00-18:00",     "Sat-Sun 10:00-14:00",
                                  "Mon,Wed-Thu 22:00-06:00", "daily 00:00-24:00",
                                  "Sun 01:30-02:00",         "Mon,Sat-Sun 12:00-13:00"};
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        struct mla_hours *h = parse_ok(specs[i], "UTC", 1);
        char out[64];
        mla_hours_window_format(&h->w[0], out, sizeof out);
        cr_assert_str_eq(out, specs[i]);
        mla_hours_destroy(h);
    }
    struct mla_hours *h = parse_ok("Fri-Mon 08:00-09:00", "UTC", 1);
    char out[64];
    mla_hours_days_format(h->w[0].days, out, sizeof out);
    cr_assert_str_eq(out, "Mon,Fri-Sun"); /* same days, Monday first */
    mla_hours_destroy(h);
}

/* Regression (issue 12): with err NULL, an unknown zone made mla_hours_parse return MLA_OK and
 * leave *out unset, and the decision dereferenced it. */
Test(hours, unknown_zone_fails_without_an_err_struct, .fini = fini)
{
    struct mla_hours *h = NULL;
    cr_assert_eq(mla_hours_parse("Mon-Fri 09:00-18:00", "Nowhere/Invalid", 1, &h, NULL),
                 MLA_ENOTFOUND);
    cr_assert_null(h);
    cr_assert_eq(mla_hours_parse("Mon-Fri 09:00-18:00", "../../etc/passwd", 1, &h, NULL),
                 MLA_EINVAL);
    cr_assert_eq(mla_hours_parse("Mon-Fri 25:00-26:00", "UTC", 1, &h, NULL), MLA_EINVAL);
    cr_assert_null(h);
}

/* Issue 12: zones come from a database read once; a lookup never opens a file, so a file that
 * appears or disappears afterwards changes nothing until the database is reloaded, and a
 * path-like name is refused before any lookup. */
Test(hours, zones_come_from_the_database_read_once, .fini = fini)
{
    char dir[] = "/tmp/mla-tzdir.XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char sub[256], path[256];
    snprintf(sub, sizeof sub, "%s/Test", dir);
    mkdir(sub, 0755);
    snprintf(path, sizeof path, "%s/Test/Early", dir);
    write_tzif(path, "EST5EDT,M3.2.0,M11.1.0");
    setenv("TZDIR", dir, 1);
    mla_hours_cache_clear();
    struct mla_tzdb *db = mla_hours_db_acquire();
    cr_assert_eq(mla_hours_db_count(db), 2); /* Test/Early and the built-in UTC */
    unlink(path);                             /* gone from disk: still known */
    snprintf(path, sizeof path, "%s/Test/Late", dir);
    write_tzif(path, "CET-1CEST,M3.5.0,M10.5.0/3"); /* new on disk: not known yet */
    const struct mla_tz *tz = NULL;
    struct mla_err e;
    cr_assert_eq(mla_hours_db_find(db, "Test/Early", &tz, &e), MLA_OK, "%s", e.msg);
    cr_assert_str_eq(mla_hours_tz_name(tz), "Test/Early");
    cr_assert_eq(mla_hours_db_find(db, "Test/Late", &tz, &e), MLA_ENOTFOUND);
    cr_assert_eq(mla_hours_db_find(db, "UTC", &tz, &e), MLA_OK); /* built in, no file */
    struct mla_hours *h = NULL;
    cr_assert_eq(mla_hours_parse_in(db, "Mon-Fri 09:00-17:00", "Test/Early", 1, &h, &e), MLA_OK);
    /* a reload replaces the default; the old database lives on in its holders */
    cr_assert_eq(mla_hours_db_reload(&e), MLA_OK);
    cr_assert_eq(mla_hours_tz_load("Test/Late", &tz, &e), MLA_OK, "%s", e.msg);
    cr_assert_eq(mla_hours_tz_load("Test/Early", &tz, &e), MLA_ENOTFOUND);
    cr_assert(active(h, utc(2026, 12, 4, 15, 0))); /* 10:00 EST, h still on the old zone */
    mla_hours_destroy(h);
    mla_hours_db_unref(db);
    static const char *const bad[] = {"../etc/passwd", "/etc/passwd", "Europe/../../x", "a b",
                                      "Europe/Berlin\n", "Zone\x01", "\xc3\xa9t\xc3\xa9"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        cr_assert_eq(mla_hours_tz_load(bad[i], &tz, &e), MLA_EINVAL, "%s", bad[i]);
    char longname[300];
    memset(longname, 'A', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    cr_assert_eq(mla_hours_tz_load(longname, &tz, &e), MLA_EINVAL);
    unlink(path);
    rmdir(sub);
    rmdir(dir);
    unsetenv("TZDIR");
}

static void fini_mode(void)
{
    mla_hours_db_set_mode(MLA_TZDB_ALL);
    unsetenv("TZDIR");
}


/* A policy reload reloads the zones too; when the zone directory did not change the database
 * stays the same one (no ~600 files parsed per ConfigMap edit), and a changed, added or
 * removed file makes a new one. */
Test(hours, reload_keeps_the_database_while_the_directory_is_unchanged, .fini = fini)
{
    char dir[] = "/tmp/mla-tzdir.XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[256], other[256];
    snprintf(path, sizeof path, "%s/Early", dir);
    snprintf(other, sizeof other, "%s/Late", dir);
    write_tzif(path, "EST5EDT,M3.2.0,M11.1.0");
    setenv("TZDIR", dir, 1);
    mla_hours_cache_clear();
    struct mla_err e;
    struct mla_tzdb *a = mla_hours_db_acquire();
    cr_assert_eq(mla_hours_db_reload(&e), MLA_OK);
    struct mla_tzdb *b = mla_hours_db_acquire();
    cr_assert_eq(a, b, "nothing changed on disk: the same database");
    write_tzif(other, "CET-1CEST,M3.5.0,M10.5.0/3");
    cr_assert_eq(mla_hours_db_reload(&e), MLA_OK);
    struct mla_tzdb *c = mla_hours_db_acquire();
    cr_assert_neq(b, c, "a zone file was added: a new database");
    const struct mla_tz *tz = NULL;
    cr_assert_eq(mla_hours_db_find(c, "Late", &tz, &e), MLA_OK, "%s", e.msg);
    cr_assert_eq(mla_hours_db_find(b, "Late", &tz, &e), MLA_ENOTFOUND);
    unlink(other);
    cr_assert_eq(mla_hours_db_reload(&e), MLA_OK);
    struct mla_tzdb *d = mla_hours_db_acquire();
    cr_assert_neq(c, d, "a zone file was removed: a new database");
    cr_assert_eq(mla_hours_db_find(d, "Late", &tz, &e), MLA_ENOTFOUND);
    mla_hours_db_unref(a);
    mla_hours_db_unref(b);
    mla_hours_db_unref(c);
    mla_hours_db_unref(d);
    unlink(path);
    rmdir(dir);
    unsetenv("TZDIR");
}
/* One-shot commands: the default database reads a zone's file at its first lookup only (a
 * command names a few zones, not all ~600), keeps it, and knows the same names as the full
 * walk (posix/ and right/ and dot-files stay unknown). */
Test(hours, on_demand_mode_reads_only_the_zones_looked_up, .fini = fini_mode)
{
    char dir[] = "/tmp/mla-tzdir.XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char sub[256], path[256], posix[256], junk[256];
    snprintf(sub, sizeof sub, "%s/Test", dir);
    mkdir(sub, 0755);
    snprintf(posix, sizeof posix, "%s/posix", dir);
    mkdir(posix, 0755);
    snprintf(path, sizeof path, "%s/Test/Early", dir);
    write_tzif(path, "EST5EDT,M3.2.0,M11.1.0");
    snprintf(posix, sizeof posix, "%s/posix/Early", dir);
    write_tzif(posix, "EST5EDT,M3.2.0,M11.1.0");
    snprintf(junk, sizeof junk, "%s/Junk", dir);
    FILE *f = fopen(junk, "w");
    fputs("this is not a time zone file, not even close to one at all ok", f);
    fclose(f);
    setenv("TZDIR", dir, 1);
    mla_hours_db_set_mode(MLA_TZDB_ON_DEMAND);
    struct mla_tzdb *db = mla_hours_db_acquire();
    cr_assert_eq(mla_hours_db_count(db), 1); /* UTC only: nothing read yet */
    const struct mla_tz *tz = NULL, *tz2 = NULL;
    struct mla_err e;
    mla_err_clear(&e);
    cr_assert_eq(mla_hours_db_find(db, "Test/Early", &tz, &e), MLA_OK, "%s", e.msg);
    cr_assert_str_eq(mla_hours_tz_name(tz), "Test/Early");
    cr_assert_eq(mla_hours_db_count(db), 2);
    unlink(path); /* read once: a second lookup does not open the file again */
    cr_assert_eq(mla_hours_db_find(db, "Test/Early", &tz2, &e), MLA_OK, "%s", e.msg);
    cr_assert_eq(tz, tz2);
    cr_assert_eq(mla_hours_db_find(db, "Test/Missing", &tz, &e), MLA_ENOTFOUND);
    cr_assert_eq(mla_hours_db_find(db, "Test", &tz, &e), MLA_ENOTFOUND); /* a directory */
    cr_assert_eq(mla_hours_db_find(db, "posix/Early", &tz, &e), MLA_ENOTFOUND);
    cr_assert_eq(mla_hours_db_find(db, "Junk", &tz, &e), MLA_EPARSE);
    cr_assert(strstr(e.msg, "not a TZif file"), "%s", e.msg);
    cr_assert_eq(mla_hours_db_find(db, "../etc/passwd", &tz, &e), MLA_EINVAL);
    cr_assert_eq(mla_hours_db_find(db, "UTC", &tz, &e), MLA_OK); /* built in, no file */
    struct mla_hours *h = NULL;
    cr_assert_eq(mla_hours_parse_in(db, "Mon-Fri 09:00-17:00", "Test/Early", 1, &h, &e), MLA_OK);
    cr_assert(active(h, utc(2026, 12, 4, 15, 0))); /* 10:00 EST */
    mla_hours_destroy(h);
    mla_hours_db_unref(db);
    /* back to the full walk: the default is read whole again */
    mla_hours_db_set_mode(MLA_TZDB_ALL);
    db = mla_hours_db_acquire();
    cr_assert_eq(mla_hours_db_count(db), 1); /* UTC (Junk is not usable, Early gone) */
    cr_assert_eq(mla_hours_db_find(db, "Junk", &tz, &e), MLA_EPARSE);
    mla_hours_db_unref(db);
    unlink(posix);
    unlink(junk);
    snprintf(posix, sizeof posix, "%s/posix", dir);
    rmdir(posix);
    rmdir(sub);
    rmdir(dir);
}
