/* numfmt.h - numbers as the documents we write show them ("%.15g"), without printf's cost.
 *
 * Ownership: the caller owns the output array.
 * Threading: pure.
 */
#ifndef MLA_NUMFMT_H
#define MLA_NUMFMT_H

#include <stddef.h>

/* Writes v into out (n bytes, NUL-terminated) exactly as snprintf "%.15g" would. */
void mla_fmt_num(char *out, size_t n, double v);

#endif
