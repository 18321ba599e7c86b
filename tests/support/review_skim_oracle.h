/* tests/support/review_skim_oracle.h - the oracle of the AdmissionReview skim's differential
 * checks, shared by the Criterion test (tests/unit/test_review_skim.c) and the libFuzzer target
 * (tests/fuzz/review_skim.c), so both compare the skim with the same thing: what
 * mla_review_decode's parse step accepts with cJSON alone, and the copy decode parses.
 * Header-only (static inline). The returned cJSON tree is new: the caller frees it with
 * cJSON_Delete.
 */
#ifndef MLA_TEST_REVIEW_SKIM_ORACLE_H
#define MLA_TEST_REVIEW_SKIM_ORACLE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "mla/review.h"
#include "mla/review_skim.h"

/* decode refuses before parsing unless the first byte after ' ', \t, \r, \n is '{'. */
static inline bool sup_skim_precondition(const char *b, size_t n)
{
    size_t i = 0;
    while (i < n && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n'))
        i++;
    return i < n && b[i] == '{';
}

/* Valid JSON by cJSON's grammar, at most MLA_REVIEW_MAX_DEPTH deep, only whitespace or NUL
 * after it. */
static inline bool sup_skim_oracle(const char *b, size_t n)
{
    if (mla_review_json_depth(b, n, MLA_REVIEW_MAX_DEPTH) > MLA_REVIEW_MAX_DEPTH)
        return false;
    const char *end = NULL;
    cJSON *t = cJSON_ParseWithLengthOpts(b, n, &end, 0);
    if (!t)
        return false;
    cJSON_Delete(t);
    while (end < b + n && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n' ||
                           *end == '\0'))
        end++;
    return end == b + n;
}

/* The copy decode parses (each cut of 4+ bytes replaced by null), parsed: NULL when it does
 * not parse, or when a cut is out of order or outside the body (the skim's contract broken). */
static inline cJSON *sup_skim_parse_cut(const char *b, size_t n, const struct mla_review_cuts *c)
{
    char *copy = malloc(n + 1);
    if (!copy)
        abort();
    size_t m = 0, at = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (c->cut[i].from < at || c->cut[i].to > n || c->cut[i].from >= c->cut[i].to) {
            free(copy);
            return NULL;
        }
        if (c->cut[i].to - c->cut[i].from < 4)
            continue;
        memcpy(copy + m, b + at, c->cut[i].from - at);
        m += c->cut[i].from - at;
        memcpy(copy + m, "null", 4);
        m += 4;
        at = c->cut[i].to;
    }
    memcpy(copy + m, b + at, n - at);
    m += n - at;
    cJSON *t = cJSON_ParseWithLengthOpts(copy, m, NULL, 0);
    free(copy);
    return t;
}

#endif
