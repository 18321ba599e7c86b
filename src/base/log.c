/* base/log.c - one-JSON-object-per-line logging (see log.h). */
#include "mla/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <unistd.h>

#include "mla/buf.h"

static enum mla_log_level log_level = MLA_LOG_INFO;
static enum mla_log_format log_format = MLA_LOG_JSON;
static int log_fd = 2;

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

void mla_log_set_level(enum mla_log_level lvl) { log_level = lvl; }
void mla_log_set_format(enum mla_log_format fmt) { log_format = fmt; }
void mla_log_set_fd(int fd) { log_fd = fd; }
bool mla_log_enabled(enum mla_log_level lvl) { return lvl >= log_level && lvl < MLA_LOG_OFF; }

enum mla_code mla_log_level_parse(const char *s, enum mla_log_level *out, struct mla_err *err)
{
    for (int i = MLA_LOG_DEBUG; i <= MLA_LOG_OFF; i++) {
        if (s && strcasecmp(s, level_names[i]) == 0) {
            *out = (enum mla_log_level)i;
            return MLA_OK;
        }
    }
    if (s && strcasecmp(s, "warning") == 0) {
        *out = MLA_LOG_WARN;
        return MLA_OK;
    }
    return mla_err_set(err, MLA_EINVAL,
                       "unknown log level '%s' (allowed: debug, info, warn, error, off)",
                       s ? s : "");
}

static void log_write(enum mla_log_level lvl, const char *component, const char *msg,
                      const char *fields)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char ts[40];
    snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(tv.tv_usec / 1000));

    /* Log lines are bounded so that one hostile value cannot make a megabyte line. */
    struct mla_buf b;
    mla_buf_init(&b, 16384);
    enum mla_code rc;
    if (log_format == MLA_LOG_TEXT) {
        rc = mla_buf_addf(&b, "%s %-5s %s: %s", ts, level_names[lvl], component, msg);
        if (rc == MLA_OK && fields && *fields)
            rc = mla_buf_addf(&b, " {%s}", fields);
    } else {
        rc = mla_buf_addf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",\"component\":", ts,
                          level_names[lvl]);
        if (rc == MLA_OK)
            rc = mla_buf_add_json_str(&b, component);
        if (rc == MLA_OK)
            rc = mla_buf_adds(&b, ",\"msg\":");
        if (rc == MLA_OK)
            rc = mla_buf_add_json_str(&b, msg);
        if (rc == MLA_OK && fields && *fields)
            rc = mla_buf_addf(&b, ",%s", fields);
        if (rc == MLA_OK)
            rc = mla_buf_adds(&b, "}");
    }
    if (rc != MLA_OK) {
        mla_buf_reset(&b);
        (void)!mla_buf_addf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"log line too long\"}",
                            ts, level_names[lvl]);
    }
    (void)!mla_buf_add(&b, "\n", 1);
    ssize_t off = 0;
    while ((size_t)off < b.len) {
        ssize_t w = write(log_fd, b.data + off, b.len - (size_t)off);
        if (w <= 0)
            break;
        off += w;
    }
    mla_buf_fini(&b);
}

void mla_log(enum mla_log_level lvl, const char *component, const char *fmt, ...)
{
    if (!mla_log_enabled(lvl))
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log_write(lvl, component, msg, NULL);
}

void mla_log_fields(enum mla_log_level lvl, const char *component, const char *msg,
                    const char *fields)
{
    if (!mla_log_enabled(lvl))
        return;
    log_write(lvl, component, msg, fields);
}

bool mla_log_limit_allow(struct mla_log_limit *rl, double interval_s, long *suppressed)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long long ns = (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
    long long next = atomic_load(&rl->next_ns);
    if (ns >= next &&
        atomic_compare_exchange_strong(&rl->next_ns, &next, ns + (long long)(interval_s * 1e9))) {
        long s = atomic_exchange(&rl->suppressed, 0);
        if (suppressed)
            *suppressed = s;
        return true;
    }
    atomic_fetch_add(&rl->suppressed, 1);
    return false;
}
