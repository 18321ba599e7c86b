/* file.h - reading a whole file into memory: policies, kubeconfigs, tokens, CSV traces, the
 * Deployments `render` reads. One reader, so the size limits and messages are the same
 * everywhere.
 *
 * Ownership: *out is new (free). Threading: pure (reads the file it is given).
 */
#ifndef MLA_FILE_H
#define MLA_FILE_H

#include <stddef.h>

#include "mla/err.h"

/* Reads all of `path` ("-": standard input) into *out, NUL-terminated, its length in *len (len
 * may be NULL; the content may itself hold NUL bytes). On failure *out is untouched and err->msg
 * says why without the path, for the caller to place it: MLA_EIO "cannot open: <reason>" or
 * "cannot read: <reason>", MLA_ETOOBIG "file is larger than <max>" (in MiB when a whole
 * number of them, else bytes). */
enum mla_code mla_file_read(const char *path, size_t max, char **out, size_t *len,
                            struct mla_err *err) MLA_MUST_CHECK;

#endif
