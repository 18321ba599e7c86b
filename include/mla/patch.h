/* patch.h - builds an RFC 6902 JSON Patch against a known document.
 *
 * Why not a generic diff: the webhook knows which fields it sets, so it states them as paths
 * and the builder picks the op from the document kube-apiserver sent: `add` where the member is
 * missing (creating missing parents in the same op, since RFC 6902 forbids adding under a
 * missing parent), `replace` where it exists with another value, nothing where it already has
 * the value. Later ops under a parent an earlier op created are folded into that op's value, so
 * the patch applies in order with any RFC 6902 implementation (tested with kubectl).
 *
 * Paths are given as tokens (unescaped), ended by NULL; the builder escapes `~` -> `~0` and
 * `/` -> `~1` (RFC 6901). An array index is a decimal token; "-" appends.
 *
 * Ownership: the builder borrows `doc` (must outlive it) and owns the ops until
 * mla_patch_take(). Value arguments are stolen (freed by the builder, even on error).
 * Threading: owner thread only.
 */
#ifndef MLA_PATCH_H
#define MLA_PATCH_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "mla/buf.h"
#include "mla/err.h"

struct mla_patch {
    const cJSON *doc; /* borrowed: the document the patch will be applied to */
    cJSON *ops;       /* owned: array of op objects */
};

/* Cannot fail. doc may be NULL (treated as an empty object). */
void mla_patch_init(struct mla_patch *p, const cJSON *doc);
void mla_patch_fini(struct mla_patch *p);

/* Makes the member at the path hold `value` (stolen). Fails with MLA_EINVAL when the path
 * crosses a scalar or an out-of-range array index. */
enum mla_code mla_patch_set(struct mla_patch *p, cJSON *value, struct mla_err *err, ...)
    MLA_MUST_CHECK;
/* Same, with tokens as an array of n strings. */
enum mla_code mla_patch_setv(struct mla_patch *p, cJSON *value, const char *const *tokens,
                             size_t n, struct mla_err *err) MLA_MUST_CHECK;
/* Convenience: a string value. */
enum mla_code mla_patch_set_str(struct mla_patch *p, const char *value, struct mla_err *err, ...)
    MLA_MUST_CHECK;

/* Removes the member at the path when it exists in the document; nothing otherwise. An
 * object member only: an array element is refused (MLA_EINVAL), its removal would shift the
 * indices of the other ops. */
enum mla_code mla_patch_remove(struct mla_patch *p, struct mla_err *err, ...) MLA_MUST_CHECK;
enum mla_code mla_patch_removev(struct mla_patch *p, const char *const *tokens, size_t n,
                                struct mla_err *err) MLA_MUST_CHECK;

/* The member of the document at the path (borrowed), or NULL. Ignores pending ops. */
const cJSON *mla_patch_get(const cJSON *doc, const char *const *tokens, size_t n);

/* Number of ops so far. */
size_t mla_patch_count(const struct mla_patch *p);

/* Hands out the ops array (new, caller deletes with cJSON_Delete; never NULL) and empties p. */
cJSON *mla_patch_take(struct mla_patch *p);

/* Appends token escaped per RFC 6901 (no leading '/'). */
enum mla_code mla_patch_escape(struct mla_buf *out, const char *token) MLA_MUST_CHECK;

#endif
