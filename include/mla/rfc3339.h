/* rfc3339.h - RFC 3339 timestamps ("2015-10-21T07:28:00Z", "...T09:28:00.25+02:00"), the form
 * Kubernetes writes in metadata and the form the predictive loop writes in its annotations. One
 * parser for both, so the API side and the loop agree on what a valid time is.
 *
 * Ownership: nothing is allocated. Threading: pure.
 */
#ifndef MLA_RFC3339_H
#define MLA_RFC3339_H

#include "mla/err.h"

/* Parses s into unix seconds (fraction kept). MLA_EPARSE (out untouched) when s is NULL or not
 * a full RFC 3339 date-time with a zone ("Z" or +hh:mm). */
enum mla_code mla_rfc3339_parse(const char *s, double *unix_s) MLA_MUST_CHECK;

#endif
