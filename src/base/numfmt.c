/* base/numfmt.c - "%.15g" by hand for the numbers policies hold.
 *
 * Shared by the ScaledObject builder (per admission) and the policy compiler (which renders
 * the policy-only parts of the predictive-config annotation once per policy set): both must
 * write the same bytes for the same number.
 */
#include "mla/numfmt.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Whole numbers and up to three decimals (80, 0.6, 2.5, 0.125) by hand; anything else through
 * snprintf. Why: thresholds and the predictive-config numbers are formatted on every opted-in
 * admission, and snprintf of a double costs thousands of instructions. The result is checked
 * to read back as v. */
void mla_fmt_num(char *out, size_t n, double v)
{
    if (isfinite(v) && fabs(v) < 1e12) {
        long long m = llround(v * 1000.0);
        if ((double)m / 1000.0 == v) {
            char t[32], *e = t + sizeof t, *q = e;
            unsigned long long u = m < 0 ? 0ULL - (unsigned long long)m : (unsigned long long)m;
            unsigned frac = (unsigned)(u % 1000);
            u /= 1000;
            if (frac) {
                int digits = 3;
                while (frac % 10 == 0) {
                    frac /= 10;
                    digits--;
                }
                for (int i = 0; i < digits; i++) {
                    *--q = (char)('0' + frac % 10);
                    frac /= 10;
                }
                *--q = '.';
            }
            do {
                *--q = (char)('0' + u % 10);
                u /= 10;
            } while (u);
            if (m < 0)
                *--q = '-';
            size_t len = (size_t)(e - q);
            if (len < n) {
                memcpy(out, q, len);
                out[len] = '\0';
                return;
            }
        }
    }
    snprintf(out, n, "%.15g", v);
}
