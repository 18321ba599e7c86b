/* err.h - error codes and the caller-owned error struct every fallible call fills.
 *
 * Ownership: struct mla_err is embedded by the caller (stack or struct member); nothing in it is
 * heap-allocated. Threading: pure; an mla_err must not be shared between threads.
 *
 * Convention (see CODE_STYLE.md): a fallible function returns enum mla_code (MLA_OK == 0), takes
 * `struct mla_err *err` as its last parameter (NULL allowed), and on failure leaves its outputs
 * untouched. mla_err_set() returns the code it stores so that a failure is one `return`.
 */
#ifndef MLA_ERR_H
#define MLA_ERR_H

#include <stddef.h>

#define MLA_MUST_CHECK __attribute__((warn_unused_result))
#define MLA_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))

/* Append-only: numbers are part of logs and metrics. X(name, number, one-line reason). */
#define MLA_ERR_TABLE(X)                                                  \
    X(MLA_OK, 0, "success")                                               \
    X(MLA_ENOMEM, 1, "out of memory")                                     \
    X(MLA_EINVAL, 2, "invalid argument or value")                         \
    X(MLA_EIO, 3, "input/output error")                                   \
    X(MLA_EPARSE, 4, "malformed input")                                   \
    X(MLA_ENOTFOUND, 5, "not found")                                      \
    X(MLA_ECONFLICT, 6, "conflict")                                       \
    X(MLA_ETIMEOUT, 7, "timed out")                                       \
    X(MLA_EUNAVAIL, 8, "service unavailable")                             \
    X(MLA_EDENIED, 9, "denied")                                           \
    X(MLA_ETOOBIG, 10, "too large")                                       \
    X(MLA_ETLS, 11, "TLS or certificate error")                           \
    X(MLA_EPOLICY, 12, "invalid policy")                                  \
    X(MLA_EAPI, 13, "Kubernetes API error")                               \
    X(MLA_EUSAGE, 14, "usage error")                                      \
    X(MLA_ESTATE, 15, "wrong state for this operation")

enum mla_code {
#define MLA__ERR_ENUM(name, num, reason) name = num,
    MLA_ERR_TABLE(MLA__ERR_ENUM)
#undef MLA__ERR_ENUM
};

struct mla_err {
    enum mla_code code;
    char msg[512]; /* one human line, no trailing newline */
    char src[256]; /* file the error is about, "" when none */
    int line;      /* 1-based; 0 when unknown */
    int col;       /* 1-based; 0 when unknown */
};

/* Resets err to MLA_OK with empty fields. err may be NULL. */
void mla_err_clear(struct mla_err *err);

/* Stores code and the formatted message; returns code. err may be NULL (then only returns). */
enum mla_code mla_err_set(struct mla_err *err, enum mla_code code, const char *fmt, ...)
    MLA_PRINTF(3, 4);

/* Like mla_err_set, plus the position in a source file (for lint's FILE:LINE:COL). */
enum mla_code mla_err_set_at(struct mla_err *err, enum mla_code code, const char *src, int line,
                             int col, const char *fmt, ...) MLA_PRINTF(6, 7);

/* Prepends "prefix: " to err->msg, keeping its position, and returns code, the failure being
 * passed up (stored in err->code too). The code is an argument, not read from err, so that a NULL
 * err (allowed everywhere) can never turn a failure into MLA_OK. */
enum mla_code mla_err_prefix(struct mla_err *err, enum mla_code code, const char *fmt, ...)
    MLA_PRINTF(3, 4);

/* "MLA_EPARSE" etc.; never NULL. */
const char *mla_err_name(enum mla_code code);

/* The one-line reason of the table; never NULL. */
const char *mla_err_reason(enum mla_code code);

/* Formats "src:line:col: msg" (or just msg when there is no src) into out (size n). */
void mla_err_format(const struct mla_err *err, char *out, size_t n);

#endif
