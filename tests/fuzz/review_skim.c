/* fuzz/review_skim.c - differential: the AdmissionReview skim (review_skim.h) must accept
 * exactly the bodies that decode's parse step accepts with cJSON alone (valid JSON by cJSON's
 * grammar, at most MLA_REVIEW_MAX_DEPTH deep, only whitespace or NUL after it), and the copy
 * with its cuts replaced by null must parse. Any difference aborts. The Criterion test
 * tests/unit/test_review_skim.c runs the same check over generated and mutated bodies in
 * `make unit` with the same oracle (tests/support/review_skim_oracle.h); this target lets
 * libFuzzer search for the input those missed. It also holds the not-opted-in answer without a
 * tree (mla_review_plain + mla_decide_plain) to decode + mla_decide + encode. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mla/review.h"
#include "mla/review_skim.h"
#include "../support/review_skim_oracle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *b = (const char *)data;
    if (!sup_skim_precondition(b, size)) /* decode refuses anything else before parsing */
        return 0;
    struct mla_review_cuts c;
    bool got = mla_review_skim(b, size, MLA_REVIEW_MAX_DEPTH, &c);
    if (got != sup_skim_oracle(b, size))
        abort();
    if (!got)
        return 0;
    cJSON *t = sup_skim_parse_cut(b, size, &c);
    if (!t)
        abort();
    cJSON *mine = mla_review_skim_tree(b, size, &c); /* decode's tree: the same */
    if (!sup_tree_same(mine, t))
        abort();
    cJSON_Delete(mine);
    cJSON_Delete(t);
    const char *why;
    if (sup_plain_check(b, size, &why) < 0)
        abort();
    return 0;
}
