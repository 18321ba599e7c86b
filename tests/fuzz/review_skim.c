/* fuzz/review_skim.c - differential: the AdmissionReview skim (review_skim.h) must accept
 * exactly the bodies that decode's parse step accepts with cJSON alone (valid JSON by cJSON's
 * grammar, at most MLA_REVIEW_MAX_DEPTH deep, only whitespace or NUL after it), and the copy
 * with its cuts replaced by null must parse. Any difference aborts. The Criterion test
 * tests/unit/test_review_skim.c runs the same check over generated and mutated bodies in
 * `make unit`; this target lets libFuzzer search for the input those missed. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mla/review.h"
#include "mla/review_skim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool fz_cjson_accepts(const char *b, size_t n)
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *b = (const char *)data;
    /* decode refuses anything else before parsing */
    size_t i = 0;
    while (i < size && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n'))
        i++;
    if (i == size || b[i] != '{')
        return 0;
    struct mla_review_cuts c;
    bool got = mla_review_skim(b, size, MLA_REVIEW_MAX_DEPTH, &c);
    if (got != fz_cjson_accepts(b, size))
        abort();
    if (!got)
        return 0;
    char *copy = malloc(size + 1);
    if (!copy)
        abort();
    size_t m = 0, at = 0;
    for (size_t k = 0; k < c.n; k++) {
        if (c.cut[k].from < at || c.cut[k].to > size || c.cut[k].from >= c.cut[k].to)
            abort();
        if (c.cut[k].to - c.cut[k].from < 4)
            continue;
        memcpy(copy + m, b + at, c.cut[k].from - at);
        m += c.cut[k].from - at;
        memcpy(copy + m, "null", 4);
        m += 4;
        at = c.cut[k].to;
    }
    memcpy(copy + m, b + at, size - at);
    m += size - at;
    cJSON *t = cJSON_ParseWithLength(copy, m);
    free(copy);
    if (!t)
        abort();
    cJSON_Delete(t);
    return 0;
}
