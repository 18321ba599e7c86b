/* show.h - user-supplied text made safe to quote in a message (denials, warnings, logs):
 * kubectl prints admission messages to a terminal, so a value must not carry control
 * characters, escape sequences, bidi overrides or invalid UTF-8, and must not be megabytes long.
 *
 * Ownership: the caller owns out. Threading: pure.
 */
#ifndef MLA_SHOW_H
#define MLA_SHOW_H

#include <stddef.h>

/* Values are shown up to this many input bytes, then "...(N bytes)". */
#define MLA_SHOW_MAX 64
/* A buffer that holds any mla_show() of at most MLA_SHOW_MAX input bytes. */
#define MLA_SHOW_BUF (MLA_SHOW_MAX * 4 + 32)

/* Writes v (NULL shows as "") into out (n bytes, always NUL-terminated): printable ASCII and
 * valid printable UTF-8 as is; control characters, DEL, C1 controls, bidi controls and
 * invalid bytes as \xNN or \uNNNN; more than max input bytes cut with "...(N bytes)".
 * Returns out, so it can stand as a printf argument. */
const char *mla_show(const char *v, size_t max, char *out, size_t n);

#endif
