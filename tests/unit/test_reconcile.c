/* test_reconcile.c - the reconcile loop's pure checks: staleness (subset) and paused objects. */
#include <criterion/criterion.h>

#include "mla/reconcile.h"

/* ---- the loop's staleness test */

Test(rec, subset_and_paused)
{
    cJSON *want = cJSON_Parse("{\"a\":1,\"b\":{\"c\":[1,2]}}");
    cJSON *have = cJSON_Parse("{\"a\":1,\"b\":{\"c\":[1,2],\"d\":3},\"e\":4}");
    cJSON *diff = cJSON_Parse("{\"a\":1,\"b\":{\"c\":[1,2,3]}}");
    cr_assert(mla_reconcile_json_subset(want, have));
    cr_assert_not(mla_reconcile_json_subset(want, diff));
    cr_assert_not(mla_reconcile_json_subset(have, want));
    cJSON *p = cJSON_Parse("{\"metadata\":{\"annotations\":{\"autoscaling.keda.sh/paused-replicas\":\"0\"}}}");
    cJSON *q = cJSON_Parse("{\"metadata\":{\"annotations\":{\"autoscaling.keda.sh/paused\":\"false\"}}}");
    cr_assert(mla_reconcile_so_paused(p));
    cr_assert_not(mla_reconcile_so_paused(q));
    cJSON_Delete(want);
    cJSON_Delete(have);
    cJSON_Delete(diff);
    cJSON_Delete(p);
    cJSON_Delete(q);
}
