/* test_lease_keda.c - the pure parts of leader-election warnings (the per-elector limiter: one
 * line per distinct error per interval, repeats counted) and of KEDA discovery (does an
 * APIResourceList list scaledobjects; the /readyz state names). */
#include <criterion/criterion.h>
#include <string.h>

#include "mla/keda.h"
#include "mla/lease.h"
#include "mla/wlkind.h"

Test(lease_warn, first_error_logged_repeats_counted_until_interval)
{
    struct mla_lease_warn w;
    memset(&w, 0, sizeof w);
    long sup = -1;
    cr_assert(mla_lease_warn_allow(&w, "cannot read Lease: 401", 1000, 30000, &sup));
    cr_assert_eq(sup, 0);
    cr_assert_not(mla_lease_warn_allow(&w, "cannot read Lease: 401", 3000, 30000, &sup));
    cr_assert_not(mla_lease_warn_allow(&w, "cannot read Lease: 401", 30999, 30000, &sup));
    /* the interval is over: the same error again, with the two repeats it stood for */
    cr_assert(mla_lease_warn_allow(&w, "cannot read Lease: 401", 31000, 30000, &sup));
    cr_assert_eq(sup, 2);
    cr_assert_not(mla_lease_warn_allow(&w, "cannot read Lease: 401", 32000, 30000, &sup));
}

Test(lease_warn, distinct_error_logged_at_once)
{
    struct mla_lease_warn w;
    memset(&w, 0, sizeof w);
    long sup = -1;
    cr_assert(mla_lease_warn_allow(&w, "cannot read Lease: 401", 0, 30000, &sup));
    cr_assert_not(mla_lease_warn_allow(&w, "cannot read Lease: 401", 100, 30000, &sup));
    cr_assert(mla_lease_warn_allow(&w, "cannot create Lease: 403", 200, 30000, &sup));
    cr_assert_eq(sup, 1);
    /* and back: a change is news too */
    cr_assert(mla_lease_warn_allow(&w, "cannot read Lease: 401", 300, 30000, &sup));
    cr_assert_eq(sup, 0);
}

Test(lease_warn, long_messages_compare_on_the_kept_prefix)
{
    struct mla_lease_warn w;
    memset(&w, 0, sizeof w);
    char a[600], b[600];
    memset(a, 'x', sizeof a - 1);
    a[sizeof a - 1] = '\0';
    memcpy(b, a, sizeof b);
    b[500] = 'y'; /* differs only past what the limiter keeps: the same error */
    cr_assert(mla_lease_warn_allow(&w, a, 0, 30000, NULL));
    cr_assert_not(mla_lease_warn_allow(&w, b, 10, 30000, NULL));
}

Test(keda, discovery_document_lists_scaledobjects)
{
    cJSON *rl = cJSON_Parse(
        "{\"kind\":\"APIResourceList\",\"apiVersion\":\"v1\",\"groupVersion\":"
        "\"keda.sh/v1alpha1\",\"resources\":[{\"name\":\"scaledjobs\",\"kind\":\"ScaledJob\"},"
        "{\"name\":\"scaledobjects\",\"kind\":\"ScaledObject\",\"namespaced\":true},"
        "{\"name\":\"scaledobjects/status\",\"kind\":\"ScaledObject\"}]}");
    cr_assert(mla_keda_lists_scaledobjects(rl));
    cJSON *only_jobs = cJSON_Parse("{\"kind\":\"APIResourceList\",\"resources\":[{\"name\":"
                                   "\"scaledjobs\"},{\"name\":\"scaledobjects/status\"}]}");
    cr_assert_not(mla_keda_lists_scaledobjects(only_jobs));
    cJSON *empty = cJSON_Parse("{\"kind\":\"APIResourceList\",\"resources\":[]}");
    cr_assert_not(mla_keda_lists_scaledobjects(empty));
    cr_assert_not(mla_keda_lists_scaledobjects(NULL));
    cJSON_Delete(rl);
    cJSON_Delete(only_jobs);
    cJSON_Delete(empty);
}

Test(keda, state_names_and_no_checker)
{
    cr_assert_str_eq(mla_keda_state_name(MLA_KEDA_MISSING), "missing");
    cr_assert_str_eq(mla_keda_state_name(MLA_KEDA_PRESENT), "present");
    cr_assert_str_eq(mla_keda_state_name(MLA_KEDA_UNKNOWN), "unknown");
    /* admission-only mode has no checker: unknown, and nothing is parked */
    cr_assert_eq(mla_keda_state(NULL), MLA_KEDA_UNKNOWN);
    cr_assert_not(mla_keda_park(NULL, NULL));
}

/* The KEDA-missing warning and Event name the workload's kind and the object KEDA lacks. */
Test(keda, missing_text_names_the_kind)
{
    char buf[256];
    mla_keda_missing_text(NULL, buf, sizeof buf);
    cr_assert_str_eq(buf, "KEDA's ScaledObject API is not installed in this cluster; nothing "
                          "will scale this Deployment until it is");
    mla_keda_missing_text(mla_wl_find("StatefulSet"), buf, sizeof buf);
    cr_assert_str_eq(buf, "KEDA's ScaledObject API is not installed in this cluster; nothing "
                          "will scale this StatefulSet until it is");
    mla_keda_missing_text(mla_wl_job(), buf, sizeof buf);
    cr_assert_str_eq(buf, "KEDA's ScaledJob API is not installed in this cluster; nothing "
                          "will scale this Job until it is");
}
