/* tests/support/support.h - helpers the unit tests (and bench drivers) share: a UTC instant
 * from calendar fields and a seeded random generator, so that every test draws the same way.
 * Header-only (static inline): each test file includes what it uses.
 */
#ifndef MLA_TEST_SUPPORT_H
#define MLA_TEST_SUPPORT_H

#include <stdint.h>
#include <time.h>

/* The instant y-mo-d h:mi:00 UTC (mo 1-12). */
static inline time_t sup_utc(int y, int mo, int d, int h, int mi)
{
    struct tm tm = {
        .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi};
    return timegm(&tm);
}

/* splitmix64: a seeded, reproducible stream; *state is the seed and advances. */
static inline uint64_t sup_rand_u64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* A uniform double in [0, 1). */
static inline double sup_rand_unit(uint64_t *state)
{
    return (double)(sup_rand_u64(state) >> 11) * 0x1.0p-53;
}

#endif
