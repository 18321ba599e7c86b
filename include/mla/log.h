/* log.h - structured logs: one JSON object per line on stderr.
 *
 * Each line: {"ts":"2026-11-25T16:05:28.123Z","level":"info","component":"http","msg":"...",
 * ...fields}. Operators feed these to Loki/Elasticsearch, so every admission decision is one
 * line with its uid, namespace, name, policy, actions and duration (see docs/operations.md).
 * `mla_log_set_format(MLA_LOG_TEXT)` switches to "LEVEL component: msg k=v" for humans (CLI).
 *
 * Ownership: every string passed in is borrowed for the call; nothing is returned to free.
 * Threading: any thread. A line is written with one write(2) so lines from threads never
 * interleave. The level and format are set once at start-up, before threads start.
 */
#ifndef MLA_LOG_H
#define MLA_LOG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "mla/err.h"

enum mla_log_level { MLA_LOG_DEBUG = 0, MLA_LOG_INFO, MLA_LOG_WARN, MLA_LOG_ERROR, MLA_LOG_OFF };
enum mla_log_format { MLA_LOG_JSON = 0, MLA_LOG_TEXT };

void mla_log_set_level(enum mla_log_level lvl);
void mla_log_set_format(enum mla_log_format fmt);
/* Redirects output to fd (default 2). For tests. */
void mla_log_set_fd(int fd);
bool mla_log_enabled(enum mla_log_level lvl);

/* "debug", "info", "warn"/"warning", "error", "off" -> level; MLA_EINVAL otherwise. */
enum mla_code mla_log_level_parse(const char *s, enum mla_log_level *out, struct mla_err *err)
    MLA_MUST_CHECK;

/* A formatted message. */
void mla_log(enum mla_log_level lvl, const char *component, const char *fmt, ...)
    MLA_PRINTF(3, 4);

/* A message plus extra fields. `fields` is the inside of a JSON object, already encoded
 * (e.g. built with mla_buf_add_json_str): "\"uid\":\"abc\",\"durationMs\":0.4". May be NULL. */
void mla_log_fields(enum mla_log_level lvl, const char *component, const char *msg,
                    const char *fields);

/* Rate limiter for repeated upstream errors: allows one line per interval, counts the rest.
 * Embed zero-initialised; any thread. */
struct mla_log_limit {
    _Atomic long long next_ns; /* atomic: earliest time the next line may be logged */
    _Atomic long suppressed;   /* atomic: lines dropped since the last one logged */
};
/* True when a line may be logged now; *suppressed (may be NULL) gets how many were dropped. */
bool mla_log_limit_allow(struct mla_log_limit *rl, double interval_s, long *suppressed);

#endif
