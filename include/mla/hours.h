/* hours.h - business-hours windows in an IANA time zone, and the time-zone database under them.
 *
 * A rule set is a list of weekly windows in local wall-clock time, e.g.
 *     "Mon-Fri 09:00-18:00; Sat,Sun 10:00-14:00 min=1; Mon-Sun 22:00-06:00"
 * Syntax of one window: DAYS HH:MM-HH:MM [min=N]
 *   DAYS   comma-separated items, each a day (Mon Tue Wed Thu Fri Sat Sun, any case) or a range
 *          "Fri-Mon" (ranges may wrap past Sunday); "daily" means Mon-Sun.
 *   times  00:00..23:59 for the start, 00:00..24:00 for the end; an end at or before the start
 *          means the window runs past midnight and belongs to the day it starts on
 *          ("Fri 22:00-06:00" is Friday 22:00 to Saturday 06:00). start == end is an error.
 *   min=N  the floor (minReplicas) inside that window; without it the default given to
 *          mla_hours_parse applies.
 * Windows are separated by ';'.
 *
 * DST: a window is the interval [the first instant the local clock shows its start, the first
 * instant it shows its end). So a window starting at 02:30 on the spring-forward night (no 02:30
 * that day) starts when the gap ends (03:00 new time), and at fall-back a time that occurs twice
 * counts at its first occurrence (a window ending at 02:30 ends the first time, it does not
 * reopen during the repeated hour).
 *
 * Time zones are read from TZif files (RFC 8536, version 2 or later, 64-bit section) under
 * $TZDIR or /usr/share/zoneinfo, including the POSIX TZ footer for instants after the last
 * transition (std/dst names, offsets, Mm.w.d, Jn and n rules with /time). No setenv("TZ")/tzset:
 * those are process-global and not thread-safe.
 *
 * The zone database (struct mla_tzdb): the whole directory (without posix/ and right/) read once
 * into an immutable, refcounted set (about 600 zones, ~1 MiB). A name is validated (1..128
 * characters of [A-Za-z0-9/_+-.], no leading '/', no "..") and then only looked up: no file is
 * opened after the load. The process keeps one default database, loaded at its first use (at
 * start: policy loading, render, forecast) and replaced by mla_hours_db_reload() (serve calls it
 * with every policy reload); a policy set holds a reference to the database it was validated
 * against, so a request resolves zones in that set's database, with no global lock.
 *
 * Two modes for the default database (mla_hours_db_set_mode):
 *   MLA_TZDB_ALL (the default; serve): every zone read at the first use and at each reload, as
 *     above; a lookup never opens a file, so a request does no file I/O.
 *   MLA_TZDB_ON_DEMAND (one-shot commands: render, lint, forecast, simulate): the database
 *     starts with UTC only and reads a zone's file the first time the zone is looked up (kept
 *     for later lookups, a missing file stays unknown, names the full walk skips - posix/,
 *     right/ - too). A command names a few zones; reading all ~600 costs ~20 ms per run and
 *     about a second under valgrind. Lookups then take the database's own mutex: meant for a
 *     single-threaded command, safe but serialised otherwise. Never used by serve.
 *
 * Ownership: a struct mla_tz is owned by its database (borrowed). struct mla_hours is new from
 * mla_hours_parse(_in) or mla_hours_create(_in), freed with mla_hours_destroy; it holds a
 * reference to its database, so h->tz stays valid while h lives. A database from
 * mla_hours_db_load() or mla_hours_db_acquire() is a new reference (mla_hours_db_unref()).
 * Threading: a database is immutable after load (on demand: it grows under its own mutex); its
 * refcount is atomic; any thread may look names up in a database it holds a reference to. The
 * default database pointer is guarded by a mutex taken only to acquire or swap it (start,
 * reload, the tools), never per request. A struct mla_hours is immutable once built, so queries
 * on it are safe from any thread;
 * building (add_window) is owner thread only.
 */
#ifndef MLA_HOURS_H
#define MLA_HOURS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "mla/err.h"

struct mla_tz;   /* opaque, immutable, owned by its database */
struct mla_tzdb; /* opaque, immutable after load, refcounted */

/* How the default database gets its zones (see above). */
enum mla_tzdb_mode {
    MLA_TZDB_ALL,       /* every zone at load: serve, the default */
    MLA_TZDB_ON_DEMAND, /* a zone's file at its first lookup: one-shot commands */
};

/* Longest business-hours spec mla_hours_parse accepts (a bound on the work per request). */
#define MLA_HOURS_MAX_SPEC 1024

/* One weekly window, in local minutes of the day. */
struct mla_hours_window {
    unsigned days;    /* bit d set = window starts on weekday d (0 = Sunday .. 6 = Saturday) */
    int start_min;    /* 0..1439 */
    int end_min;      /* 1..1440; <= start_min means it ends the next day */
    int min_replicas; /* floor inside the window; >= 0 */
};

struct mla_hours {
    struct mla_tzdb *db;     /* owned reference: keeps tz alive */
    const struct mla_tz *tz; /* borrowed from db */
    struct mla_hours_window *w; /* owned */
    size_t n;
};

/* What the rules say at one instant. */
struct mla_hours_state {
    bool active;      /* inside at least one window */
    int min_replicas; /* the largest minReplicas of the windows containing the instant; 0 if none */
    int window;       /* index of that window in rules->w, -1 when none */
};

/* Reads every zone under dir (NULL or "" = $TZDIR, else /usr/share/zoneinfo) into a new
 * database (MLA_TZDB_ALL, whatever the default's mode). Cannot fail in practice: a missing
 * directory gives a database with the built-in UTC only (a file that is not a usable zone is
 * kept as its load error, for the lookup to report). */
enum mla_code mla_hours_db_load(const char *dir, struct mla_tzdb **out, struct mla_err *err)
    MLA_MUST_CHECK;
void mla_hours_db_ref(struct mla_tzdb *db);
/* Drops a reference; the last one frees the database and its zones. NULL is allowed. */
void mla_hours_db_unref(struct mla_tzdb *db);
/* Number of usable zones (on demand: of those looked up so far, and UTC). */
size_t mla_hours_db_count(const struct mla_tzdb *db);
/* Looks a zone up ("Europe/Berlin"; NULL or "" = "UTC"): no I/O, no lock (on demand: the
 * zone's file is read at its first lookup, under the database's mutex). MLA_EINVAL for a
 * malformed name ("..", a leading '/', odd characters, too long), MLA_ENOTFOUND for an unknown
 * zone, MLA_EPARSE for a file that is not TZif v2+. *out is borrowed from db. */
enum mla_code mla_hours_db_find(const struct mla_tzdb *db, const char *name,
                                const struct mla_tz **out, struct mla_err *err) MLA_MUST_CHECK;
/* A new reference to the process default database (loaded here at the first call). */
struct mla_tzdb *mla_hours_db_acquire(void);
/* Re-reads the zone directory (in the current mode) and makes it the default; holders of the
 * old one keep it. In MLA_TZDB_ALL mode the directory is first only stat-ed: when no zone file
 * was added, removed or changed (name, size, mtime, inode), the current database stays. */
enum mla_code mla_hours_db_reload(struct mla_err *err) MLA_MUST_CHECK;

/* Looks a zone up in the default database (errors as mla_hours_db_find). *out is borrowed:
 * valid until the next mla_hours_db_reload() or mla_hours_cache_clear(); to keep a zone longer,
 * hold the database (mla_hours_db_acquire) or an struct mla_hours built on it. */
enum mla_code mla_hours_tz_load(const char *name, const struct mla_tz **out, struct mla_err *err)
    MLA_MUST_CHECK;
/* The name the zone was loaded with; borrowed. */
const char *mla_hours_tz_name(const struct mla_tz *tz);

/* Local broken-down time of t in tz (like localtime_r under TZ=tz: tm_isdst, tm_gmtoff, and
 * tm_zone pointing into the zone, valid while its database lives). False only when t is out of the
 * range struct tm can hold. */
bool mla_hours_local(const struct mla_tz *tz, time_t t, struct tm *out);
/* The UTC offset (seconds east) in effect at t. */
long mla_hours_utc_offset(const struct mla_tz *tz, time_t t);
/* The first instant > t at which the zone's offset, DST flag or abbreviation changes;
 * (time_t)-1 when there is none (fixed-offset zones). */
time_t mla_hours_tz_next_transition(const struct mla_tz *tz, time_t t);
/* The first instant at which the local clock shows at least `year-mon-mday hh:mm` (mon 1..12;
 * min may be 1440 = midnight of the next day): the exact instant when that wall time exists
 * (its first occurrence when it occurs twice), else the end of the DST gap containing it. */
time_t mla_hours_local_to_utc(const struct mla_tz *tz, int year, int mon, int mday, int min);

/* An empty rule set in zone tz (NULL or "" = "UTC") of the default database / of db. */
enum mla_code mla_hours_create(const char *tz, struct mla_hours **out, struct mla_err *err)
    MLA_MUST_CHECK;
enum mla_code mla_hours_create_in(struct mla_tzdb *db, const char *tz, struct mla_hours **out,
                                  struct mla_err *err) MLA_MUST_CHECK;
/* Adds one window from its parts: days ("Mon-Fri", "Sat,Sun"), start "09:00", end "18:00". */
enum mla_code mla_hours_add_window(struct mla_hours *h, const char *days, const char *start,
                                   const char *end, int min_replicas, struct mla_err *err)
    MLA_MUST_CHECK;
/* Parses a whole spec (syntax above); windows without min= get default_min. The message of a
 * failure quotes the bad part and the allowed syntax. */
enum mla_code mla_hours_parse(const char *spec, const char *tz, int default_min,
                              struct mla_hours **out, struct mla_err *err) MLA_MUST_CHECK;
/* The same with the zone from db (the request path: the policy set's database). */
enum mla_code mla_hours_parse_in(struct mla_tzdb *db, const char *spec, const char *tz,
                                 int default_min, struct mla_hours **out, struct mla_err *err)
    MLA_MUST_CHECK;
void mla_hours_destroy(struct mla_hours *h);

/* The state at instant now. */
struct mla_hours_state mla_hours_eval(const struct mla_hours *h, time_t now);
/* Shorthand: inside a window? *min_replicas (may be NULL) gets the state's min_replicas. */
bool mla_hours_active(const struct mla_hours *h, time_t now, int *min_replicas);
/* The first instant > now at which a window opens or closes; (time_t)-1 when there are no
 * windows. Looks up to 8 days ahead. */
time_t mla_hours_next_change(const struct mla_hours *h, time_t now);

/* Formatting, e.g. to turn a parsed spec into the predictive-config JSON or an explanation:
 * days "Mon-Fri", "Sat-Sun", "Mon,Wed-Thu" or "daily" (Monday first; a run wrapping past
 * Sunday is written as two items); a time "09:00" (min 0..1440); a window
 * "Mon-Fri 09:00-18:00". Output is cut to n bytes (40 is always enough for days). */
void mla_hours_days_format(unsigned days, char *out, size_t n);
void mla_hours_time_format(int min, char *out, size_t n);
void mla_hours_window_format(const struct mla_hours_window *w, char *out, size_t n);

/* Chooses the mode of the default database: a one-shot command calls it with
 * MLA_TZDB_ON_DEMAND before anything loads zones (cli/main.c); serve never calls it. A current
 * default is dropped as by mla_hours_cache_clear(); the next use loads it in the new mode. */
void mla_hours_db_set_mode(enum mla_tzdb_mode mode);

/* Drops the default database (tests; at exit for valgrind); the next use loads it again.
 * Zones borrowed through mla_hours_tz_load() become invalid unless held otherwise. */
void mla_hours_cache_clear(void);

#endif
