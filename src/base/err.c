/* base/err.c - the error table and the setters of struct mla_err. */
#include "mla/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void mla_err_clear(struct mla_err *err)
{
    if (!err)
        return;
    err->code = MLA_OK;
    err->msg[0] = '\0';
    err->src[0] = '\0';
    err->line = 0;
    err->col = 0;
}

static void err_vset(struct mla_err *err, enum mla_code code, const char *fmt, va_list ap)
{
    err->code = code;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
}

enum mla_code mla_err_set(struct mla_err *err, enum mla_code code, const char *fmt, ...)
{
    if (!err)
        return code;
    va_list ap;
    va_start(ap, fmt);
    err_vset(err, code, fmt, ap);
    va_end(ap);
    err->src[0] = '\0';
    err->line = 0;
    err->col = 0;
    return code;
}

enum mla_code mla_err_set_at(struct mla_err *err, enum mla_code code, const char *src, int line,
                             int col, const char *fmt, ...)
{
    if (!err)
        return code;
    va_list ap;
    va_start(ap, fmt);
    err_vset(err, code, fmt, ap);
    va_end(ap);
    snprintf(err->src, sizeof err->src, "%s", src ? src : "");
    err->line = line;
    err->col = col;
    return code;
}

enum mla_code mla_err_prefix(struct mla_err *err, enum mla_code code, const char *fmt, ...)
{
    if (!err)
        return code;
    char pre[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    char old[sizeof err->msg];
    memcpy(old, err->msg, sizeof old);
    snprintf(err->msg, sizeof err->msg, "%s: %s", pre, old);
    err->code = code;
    return code;
}

const char *mla_err_name(enum mla_code code)
{
    switch (code) {
#define MLA__ERR_NAME(name, num, reason) \
    case name:                           \
        return #name;
        MLA_ERR_TABLE(MLA__ERR_NAME)
#undef MLA__ERR_NAME
    }
    return "MLA_EUNKNOWN";
}

const char *mla_err_reason(enum mla_code code)
{
    switch (code) {
#define MLA__ERR_REASON(name, num, reason) \
    case name:                             \
        return reason;
        MLA_ERR_TABLE(MLA__ERR_REASON)
#undef MLA__ERR_REASON
    }
    return "unknown error";
}

void mla_err_format(const struct mla_err *err, char *out, size_t n)
{
    const char *msg = err->msg[0] ? err->msg : mla_err_reason(err->code);
    if (err->src[0] && err->line > 0)
        snprintf(out, n, "%s:%d:%d: %s", err->src, err->line, err->col > 0 ? err->col : 1, msg);
    else if (err->src[0])
        snprintf(out, n, "%s: %s", err->src, msg);
    else
        snprintf(out, n, "%s", msg);
}
