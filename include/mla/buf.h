/* buf.h - a growable byte buffer with a size cap, embedded by its caller (after curl's dynbuf).
 *
 * Why a cap: request bodies, API answers and rendered documents come from outside; a buffer
 * that refuses to grow past its cap turns "huge input" into MLA_ETOOBIG instead of memory use.
 * Ownership: the caller owns the struct; the data is owned by the buffer until mla_buf_take()
 * hands it out (then the caller frees it with free()). data is always NUL-terminated when
 * non-NULL, so it can be used as a C string.
 * Threading: owner thread only.
 */
#ifndef MLA_BUF_H
#define MLA_BUF_H

#include <stdbool.h>
#include <stddef.h>

#include "mla/err.h"

struct mla_buf {
    char *data;   /* NULL until the first add */
    size_t len;   /* bytes used, excluding the terminating NUL */
    size_t alloc; /* bytes allocated */
    size_t cap;   /* the most len may reach; 0 means no cap */
};

/* Cannot fail; allocates nothing. */
void mla_buf_init(struct mla_buf *b, size_t cap);
/* Frees the data; the buffer may be reused after mla_buf_init. */
void mla_buf_fini(struct mla_buf *b);
/* Empties the buffer but keeps its memory. */
void mla_buf_reset(struct mla_buf *b);

/* Append; MLA_ETOOBIG (buffer unchanged) when the cap would be exceeded. */
enum mla_code mla_buf_add(struct mla_buf *b, const void *p, size_t n) MLA_MUST_CHECK;
enum mla_code mla_buf_adds(struct mla_buf *b, const char *s) MLA_MUST_CHECK;
enum mla_code mla_buf_addf(struct mla_buf *b, const char *fmt, ...) MLA_MUST_CHECK
    MLA_PRINTF(2, 3);
/* Appends s as a JSON string literal, quotes included, escaping as RFC 8259 requires. */
enum mla_code mla_buf_add_json_str(struct mla_buf *b, const char *s) MLA_MUST_CHECK;

/* Hands the data out (new, caller frees; never NULL: "" for an empty buffer) and resets b. */
char *mla_buf_take(struct mla_buf *b);
/* The data as a C string, "" when empty; borrowed, valid until the next call on b. */
const char *mla_buf_str(const struct mla_buf *b);

#endif
