/* test_worker_plan.c - the worker's pure parts: the APPLY planner (what to write, from what was
 * read, with no server), the stored check against the admitted intent, the namespace-gone test
 * and the UTF-8-safe cut of Event messages. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mla/queue.h"
#include "mla/wlkind.h"
#include "mla/worker.h"

static cJSON *js(const char *s)
{
    cJSON *o = cJSON_Parse(s);
    cr_assert_not_null(o, "bad JSON in the test: %s", s);
    return o;
}

static struct mla_work *item(enum mla_hpa_mode mode)
{
    struct mla_work *w = mla_work_create("ns", "web");
    w->op = MLA_OP_UPDATE;
    w->action = MLA_ACT_APPLY;
    w->hpa_mode = mode;
    w->uid = strdup("uid-1");
    w->so = js("{\"metadata\":{\"name\":\"web\",\"labels\":{\"ml-autoscaling.io/managed\":"
               "\"true\"}},\"spec\":{\"scaleTargetRef\":{\"name\":\"web\"},\"maxReplicaCount\":4,"
               "\"triggers\":[{\"type\":\"cpu\",\"metadata\":{\"value\":\"50\"}}]}}");
    return w;
}

#define HPA(name, target) \
    "{\"metadata\":{\"name\":\"" name "\",\"annotations\":{\"kubectl.kubernetes.io/last-applied-" \
    "configuration\":\"{}\"}},\"spec\":{\"scaleTargetRef\":{\"kind\":\"Deployment\",\"name\":\"" \
    target "\"},\"maxReplicas\":7}}"
#define OURS(name, extra_ann) \
    "{\"metadata\":{\"name\":\"" name "\",\"labels\":{\"ml-autoscaling.io/managed\":\"true\"}," \
    "\"annotations\":{" extra_ann "},\"ownerReferences\":[{\"kind\":\"Deployment\",\"name\":" \
    "\"web\",\"uid\":\"uid-1\"}]},\"spec\":{\"scaleTargetRef\":{\"name\":\"web\"}}}"

struct fixture {
    struct mla_work *w;
    cJSON *existing, *sos, *hpas;
    struct mla_worker_plan p;
};

static void plan(struct fixture *f, enum mla_hpa_mode mode, const char *existing,
                 const char *sos, const char *hpas)
{
    f->w = item(mode);
    f->existing = existing ? js(existing) : NULL;
    f->sos = js(sos ? sos : "[]");
    f->hpas = js(hpas ? hpas : "[]");
    struct mla_worker_seen seen = {.existing = f->existing, .sos = f->sos, .hpas = f->hpas,
                                   .field_manager = "fm"};
    mla_worker_plan_init(&f->p);
    mla_worker_plan_apply(f->w, &seen, &f->p);
}

static void done(struct fixture *f)
{
    mla_worker_plan_fini(&f->p);
    cJSON_Delete(f->existing);
    cJSON_Delete(f->sos);
    cJSON_Delete(f->hpas);
    mla_work_free(f->w);
}

/* The kinds of the plan as a string: "A" apply, "E" event, "H" delete HPA, "S" delete SO,
 * "C" create (restore) HPA. */
static const char *kinds(const struct mla_worker_plan *p)
{
    static char s[32];
    static const char k[] = {[MLA_WK_DELETE_SO] = 'S', [MLA_WK_DELETE_HPA] = 'H',
                             [MLA_WK_APPLY] = 'A', [MLA_WK_EVENT] = 'E',
                             [MLA_WK_CREATE_HPA] = 'C'};
    size_t i = 0;
    for (; i < p->n && i < sizeof s - 1; i++)
        s[i] = k[p->ops[i].kind];
    s[i] = '\0';
    return s;
}

static const struct mla_wk_op *find(const struct mla_worker_plan *p, enum mla_wk_kind kind)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->ops[i].kind == kind)
            return &p->ops[i];
    return NULL;
}

static const char *ann(const cJSON *o, const char *k)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "metadata"),
                                         "annotations"), k));
}

Test(worker_plan, nothing_there_applies_with_the_owner_reference_and_an_event)
{
    struct fixture f;
    plan(&f, MLA_HPA_DELETE, NULL, NULL, NULL);
    cr_assert_str_eq(kinds(&f.p), "AE");
    const struct mla_wk_op *a = &f.p.ops[0];
    cr_assert_str_eq(a->name, "web");
    const cJSON *ref = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(a->config, "metadata"), "ownerReferences"), 0);
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ref, "uid")), "uid-1");
    cr_assert_null(ann(a->config, MLA_ANN_REMOVED_HPA));
    cr_assert_str_eq(f.p.ops[1].reason, "ScaledObjectApplied");
    cr_assert(strstr(f.p.ops[1].message, "field manager fm"));
    cr_assert_not(f.p.keep_config);
    cr_assert_null(f.p.transfer_hpa);
    done(&f);
}

/* An adoption (a loop item for a workload that bypassed the webhook): AdoptedAfterBypass after
 * the write that creates the ScaledObject, and not when a later pass queued the item again and
 * it is there already (one Event per adoption). */
static void plan_adopt(struct fixture *f, const char *existing)
{
    f->w = item(MLA_HPA_DELETE);
    f->w->from_loop = true;
    f->w->adopt = true;
    f->existing = existing ? js(existing) : NULL;
    f->sos = js("[]");
    f->hpas = js("[]");
    struct mla_worker_seen seen = {.existing = f->existing, .sos = f->sos, .hpas = f->hpas};
    mla_worker_plan_init(&f->p);
    mla_worker_plan_apply(f->w, &seen, &f->p);
}

Test(worker_plan, an_adoption_records_adopted_after_bypass_once_after_the_write)
{
    struct fixture f;
    plan_adopt(&f, NULL);
    cr_assert_str_eq(kinds(&f.p), "AEE");
    cr_assert_str_eq(f.p.ops[1].reason, "ScaledObjectApplied");
    cr_assert_str_eq(f.p.ops[2].reason, "AdoptedAfterBypass");
    cr_assert_not(f.p.ops[2].warning);
    cr_assert(strstr(f.p.ops[2].message, "failurePolicy Ignore"), "%s", f.p.ops[2].message);
    cr_assert(strstr(f.p.ops[2].message, "applied ScaledObject web;"), "%s", f.p.ops[2].message);
    cr_assert(strstr(f.p.ops[2].message, "with the Deployment's next update"), "%s",
              f.p.ops[2].message);
    done(&f);
    plan_adopt(&f, OURS("web", ""));
    cr_assert_str_eq(kinds(&f.p), "AE");
    cr_assert_str_eq(f.p.ops[1].reason, "ScaledObjectApplied");
    done(&f);
}

Test(worker_plan, a_foreign_scaled_object_stops_it_with_a_warning)
{
    struct fixture f;
    plan(&f, MLA_HPA_DELETE, "{\"metadata\":{\"name\":\"web\"},\"spec\":{}}", NULL, NULL);
    cr_assert_str_eq(kinds(&f.p), "E");
    cr_assert(f.p.ops[0].warning);
    cr_assert_str_eq(f.p.ops[0].reason, "ScaledObjectConflict");
    done(&f);
    /* under another name, scaling this Deployment; an HPA is not touched either */
    plan(&f, MLA_HPA_DELETE, NULL,
         "[{\"metadata\":{\"name\":\"hand\"},\"spec\":{\"scaleTargetRef\":{\"name\":\"web\"}}}]",
         "[" HPA("h", "web") "]");
    cr_assert_str_eq(kinds(&f.p), "E");
    cr_assert(strstr(f.p.ops[0].message, "ScaledObject hand"));
    done(&f);
}

Test(worker_plan, ours_under_an_older_name_is_replaced_and_its_kept_hpa_carried)
{
    struct fixture f;
    plan(&f, MLA_HPA_DELETE, NULL, "[" OURS("web-old", "\"ml-autoscaling.io/removed-hpa\":\"{}\"") "]",
         NULL);
    cr_assert_str_eq(kinds(&f.p), "SAE");
    cr_assert_str_eq(f.p.ops[0].name, "web-old");
    cr_assert_str_eq(ann(f.p.ops[1].config, MLA_ANN_REMOVED_HPA), "{}");
    cr_assert(f.p.keep_config, "the old one is gone: a failed apply must keep what it kept");
    done(&f);
}

Test(worker_plan, delete_mode_deletes_the_hpa_first_and_keeps_its_spec_on_the_scaled_object)
{
    struct fixture f;
    plan(&f, MLA_HPA_DELETE, NULL, NULL,
         "[" HPA("h", "web") "," HPA("other", "api") "]");
    cr_assert_str_eq(kinds(&f.p), "HEAE");
    cr_assert_str_eq(f.p.ops[0].name, "h");
    cr_assert_str_eq(f.p.ops[1].reason, "HPARemoved");
    /* the Event says where the spec is, and does not carry it */
    cr_assert(strstr(f.p.ops[1].message, MLA_ANN_REMOVED_HPA));
    cr_assert_null(strstr(f.p.ops[1].message, "maxReplicas"));
    cr_assert_null(strstr(f.p.ops[1].message, "last-applied"));
    cJSON *kept = cJSON_Parse(ann(f.p.ops[2].config, MLA_ANN_REMOVED_HPA));
    cr_assert_eq(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(kept, "spec"),
                                                  "maxReplicas")->valueint, 7);
    cJSON_Delete(kept);
    cr_assert(f.p.keep_config);
    done(&f);
}

Test(worker_plan, keda_owned_hpa_is_no_conflict_and_an_earlier_kept_spec_stays)
{
    struct fixture f;
    plan(&f, MLA_HPA_DELETE, OURS("web", "\"ml-autoscaling.io/removed-hpa\":\"first\""), NULL,
         "[{\"metadata\":{\"name\":\"keda-hpa-web\",\"ownerReferences\":[{\"kind\":"
         "\"ScaledObject\",\"name\":\"web\"}]},\"spec\":{\"scaleTargetRef\":{\"kind\":"
         "\"Deployment\",\"name\":\"web\"}}}]");
    cr_assert_str_eq(kinds(&f.p), "AE");
    cr_assert_str_eq(ann(f.p.ops[0].config, MLA_ANN_REMOVED_HPA), "first");
    done(&f);
    plan(&f, MLA_HPA_DELETE, OURS("web", "\"ml-autoscaling.io/removed-hpa\":\"first\""), NULL,
         "[" HPA("again", "web") "]");
    cr_assert_str_eq(kinds(&f.p), "HEAE");
    cr_assert_str_eq(ann(f.p.ops[2].config, MLA_ANN_REMOVED_HPA), "first",
                     "opting out must restore the original HPA, not a later one");
    done(&f);
}

Test(worker_plan, transfer_mode_applies_with_the_transfer_and_verifies_later)
{
    struct fixture f;
    plan(&f, MLA_HPA_TRANSFER, NULL, NULL, "[" HPA("h", "web") "]");
    cr_assert_str_eq(kinds(&f.p), "AE");
    cr_assert_str_eq(ann(f.p.ops[0].config, MLA_ANN_TRANSFER), "true");
    cr_assert_str_eq(f.p.transfer_hpa, "h");
    cr_assert_null(find(&f.p, MLA_WK_DELETE_HPA));
    done(&f);
}

Test(worker_plan, reject_mode_writes_nothing_but_a_warning)
{
    struct fixture f;
    plan(&f, MLA_HPA_REJECT, NULL, NULL, "[" HPA("h", "web") "]");
    cr_assert_str_eq(kinds(&f.p), "E");
    cr_assert_str_eq(f.p.ops[0].reason, "HPAConflict");
    cr_assert(f.p.ops[0].warning);
    done(&f);
}

Test(worker_plan, transfer_not_adopted_falls_back_to_delete_and_apply_without_it)
{
    struct mla_work *w = item(MLA_HPA_TRANSFER);
    cJSON *h = js(HPA("h", "web"));
    struct mla_worker_seen seen = {.adopt_failed = h, .transfer_verify_ms = 1500};
    struct mla_worker_plan p;
    mla_worker_plan_init(&p);
    mla_worker_plan_apply(w, &seen, &p);
    cr_assert_str_eq(kinds(&p), "EHEAE");
    cr_assert_str_eq(p.ops[0].reason, "HPATransferFailed");
    cr_assert(strstr(p.ops[0].message, "1500 ms"));
    cr_assert_null(ann(p.ops[3].config, MLA_ANN_TRANSFER));
    cr_assert_not_null(ann(p.ops[3].config, MLA_ANN_REMOVED_HPA));
    cr_assert_null(p.transfer_hpa);
    cr_assert(p.keep_config);
    mla_worker_plan_fini(&p);
    cJSON_Delete(h);
    mla_work_free(w);
}

static void plan_remove(struct fixture *f, const char *sos)
{
    f->w = item(MLA_HPA_DELETE);
    f->w->action = MLA_ACT_REMOVE;
    f->existing = NULL;
    f->hpas = NULL;
    f->sos = js(sos);
    struct mla_worker_seen seen = {.sos = f->sos};
    mla_worker_plan_init(&f->p);
    mla_worker_plan_remove(f->w, &seen, &f->p);
}

#define KEPT "\"ml-autoscaling.io/removed-hpa\":\"{\\\"metadata\\\":{\\\"name\\\":\\\"h\\\"}," \
             "\\\"spec\\\":{\\\"maxReplicas\\\":7}}\""

Test(worker_plan, opt_out_deletes_ours_and_restores_the_kept_hpa)
{
    struct fixture f;
    plan_remove(&f, "[" OURS("web", KEPT) "]");
    cr_assert_str_eq(kinds(&f.p), "SECE");
    cr_assert_str_eq(f.p.ops[0].name, "web");
    cr_assert_str_eq(f.p.ops[1].reason, "ScaledObjectRemoved");
    cr_assert_str_eq(f.p.ops[2].name, "h");
    cr_assert_eq(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
                     f.p.ops[2].config, "spec"), "maxReplicas")->valueint, 7);
    cr_assert_str_eq(f.p.ops[3].reason, "HPARestored");
    done(&f);
}

Test(worker_plan, opt_out_never_touches_what_is_not_ours_for_this_deployment)
{
    struct fixture f;
    /* managed label but owned by a deleted namesake (another uid); owned by this uid but no
     * managed label; managed and owned but for another Deployment */
    plan_remove(&f, "[{\"metadata\":{\"name\":\"a\",\"labels\":{\"ml-autoscaling.io/managed\":"
                    "\"true\"},\"ownerReferences\":[{\"kind\":\"Deployment\",\"name\":\"web\","
                    "\"uid\":\"uid-0\"}]}},"
                    "{\"metadata\":{\"name\":\"b\",\"ownerReferences\":[{\"kind\":\"Deployment\","
                    "\"name\":\"web\",\"uid\":\"uid-1\"}]}},"
                    "{\"metadata\":{\"name\":\"c\",\"labels\":{\"ml-autoscaling.io/managed\":"
                    "\"true\"},\"ownerReferences\":[{\"kind\":\"Deployment\",\"name\":\"api\","
                    "\"uid\":\"uid-1\"}]}}]");
    cr_assert_str_eq(kinds(&f.p), "");
    done(&f);
}

Test(worker_plan, opt_out_with_a_kept_value_that_is_no_hpa_warns)
{
    struct fixture f;
    plan_remove(&f, "[" OURS("web", "\"ml-autoscaling.io/removed-hpa\":\"not json\"") "]");
    cr_assert_str_eq(kinds(&f.p), "SEE");
    cr_assert(f.p.ops[2].warning);
    cr_assert_str_eq(f.p.ops[2].reason, "HPANotRestored");
    done(&f);
}

/* ---- the stored check: the admitted intent, not a resourceVersion */

static cJSON *stored(const char *labels, const char *anns)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "{\"metadata\":{\"name\":\"web\",\"uid\":\"u\",\"resourceVersion\":"
             "\"99\",\"labels\":{%s},\"annotations\":{%s}}}", labels, anns);
    return js(buf);
}

#define MANAGED "\"ml-autoscaling.io/managed\":\"true\""
#define EN "\"ml-autoscaling.io/enabled\":\"true\""
#define HASH "\"ml-autoscaling.io/policy-hash\":\"sha256:1\""

Test(stored, update_waits_for_the_admitted_annotations_hash_and_label)
{
    cJSON *admitted = js("{\"metadata\":{\"annotations\":{" EN ",\"ml-autoscaling.io/min-replicas\":"
                         "\"3\",\"ml-autoscaling.io/scaledobject\":\"old\",\"team\":\"x\"}}}");
    struct mla_work *w = mla_work_create("ns", "web");
    w->op = MLA_OP_UPDATE;
    w->intent = mla_worker_intent(MLA_ACT_APPLY, admitted, "sha256:1");
    cJSON *yes = stored(MANAGED, EN ",\"ml-autoscaling.io/min-replicas\":\"3\"," HASH
                        ",\"ml-autoscaling.io/scaledobject\":\"web\"");
    cJSON *old_min = stored(MANAGED, EN ",\"ml-autoscaling.io/min-replicas\":\"2\"," HASH);
    cJSON *no_label = stored("", EN ",\"ml-autoscaling.io/min-replicas\":\"3\"," HASH);
    cJSON *old_hash = stored(MANAGED, EN ",\"ml-autoscaling.io/min-replicas\":\"3\","
                             "\"ml-autoscaling.io/policy-hash\":\"sha256:0\"");
    cr_assert_eq(mla_worker_stored_check(w, yes, 2), MLA_STORED_YES);
    cr_assert_eq(mla_worker_stored_check(w, old_min, 2), MLA_STORED_NOT_YET);
    cr_assert_eq(mla_worker_stored_check(w, no_label, 2), MLA_STORED_NOT_YET);
    cr_assert_eq(mla_worker_stored_check(w, old_hash, 2), MLA_STORED_NOT_YET);
    cr_assert_eq(mla_worker_stored_check(w, NULL, 2), MLA_STORED_NOT_YET);
    cJSON_Delete(yes);
    cJSON_Delete(old_min);
    cJSON_Delete(no_label);
    cJSON_Delete(old_hash);
    cJSON_Delete(admitted);
    mla_work_free(w);
}

Test(stored, an_opt_out_is_stored_only_when_the_marks_are_gone_whatever_the_resource_version)
{
    struct mla_work *w = mla_work_create("ns", "web");
    w->op = MLA_OP_UPDATE;
    w->intent = mla_worker_intent(MLA_ACT_REMOVE, NULL, "");
    /* still opted in (the opt-out was denied by a later webhook): a status write moved the
     * resourceVersion to 99, and that proves nothing */
    cJSON *still = stored(MANAGED, EN "," HASH);
    cJSON *half = stored(MANAGED, "");
    cJSON *out = stored("\"app\":\"web\"", "\"team\":\"x\"");
    cr_assert_eq(mla_worker_stored_check(w, still, 2), MLA_STORED_NOT_YET);
    cr_assert_eq(mla_worker_stored_check(w, half, 2), MLA_STORED_NOT_YET);
    cr_assert_eq(mla_worker_stored_check(w, out, 2), MLA_STORED_YES);
    cJSON_Delete(still);
    cJSON_Delete(half);
    cJSON_Delete(out);
    mla_work_free(w);
}

Test(stored, a_deployment_being_deleted_is_skipped)
{
    struct mla_work *w = mla_work_create("ns", "web"); /* the loop's item: no intent */
    w->op = MLA_OP_UPDATE;
    cJSON *d = js("{\"metadata\":{\"name\":\"web\",\"uid\":\"u\",\"deletionTimestamp\":"
                  "\"2026-01-01T00:00:00Z\"}}");
    cr_assert_eq(mla_worker_stored_check(w, d, 2), MLA_STORED_DELETING);
    cJSON_Delete(d);
    d = js("{\"metadata\":{\"name\":\"web\",\"uid\":\"u\"}}");
    cr_assert_eq(mla_worker_stored_check(w, d, 2), MLA_STORED_YES);
    cJSON_Delete(d);
    mla_work_free(w);
}

Test(worker, namespace_going_away_or_gone)
{
    cr_assert(mla_worker_ns_gone(MLA_EDENIED, "PATCH /apis/x: 403: scaledobjects \"w\" is "
                                 "forbidden: unable to create new content in namespace t "
                                 "because it is being terminated"));
    cr_assert(mla_worker_ns_gone(MLA_ENOTFOUND, "POST /api/v1/namespaces/g/events: 404: "
                                 "namespaces \"g\" not found"));
    cr_assert_not(mla_worker_ns_gone(MLA_ENOTFOUND, "GET /apis/apps/v1/namespaces/g/deployments/"
                                     "w: 404: deployments.apps \"w\" not found"));
    cr_assert_not(mla_worker_ns_gone(MLA_EDENIED, "PATCH /apis/x: 403: forbidden: RBAC"));
    cr_assert_not(mla_worker_ns_gone(MLA_EAPI, "namespaces \"g\" not found"));
}

Test(worker, event_messages_are_cut_on_a_character_boundary)
{
    char s[16];
    snprintf(s, sizeof s, "ab\xc3\xa9"); /* "abé": é is 2 bytes */
    mla_worker_utf8_cut(s, 3);
    cr_assert_str_eq(s, "ab");
    snprintf(s, sizeof s, "ab\xc3\xa9");
    mla_worker_utf8_cut(s, 4);
    cr_assert_str_eq(s, "ab\xc3\xa9", "a whole character at the limit stays");
    snprintf(s, sizeof s, "a\xe2\x82\xac" "b"); /* "a€b" */
    mla_worker_utf8_cut(s, 3);
    cr_assert_str_eq(s, "a");
    snprintf(s, sizeof s, "\xf0\x9f\x98\x80xyz"); /* an emoji, 4 bytes */
    mla_worker_utf8_cut(s, 2);
    cr_assert_str_eq(s, "");
    /* at the real limit: 1022 ASCII bytes then a 3-byte character straddling byte 1023 */
    char big[1100];
    memset(big, 'x', 1022);
    memcpy(big + 1022, "\xe2\x82\xac", 4);
    mla_worker_utf8_cut(big, 1023);
    cr_assert_eq(strlen(big), 1022);
    cr_assert_eq(big[1021], 'x');
}

/* VPAs (issue 13): a Warning Event naming the one that fights the cpu trigger, then the apply;
 * deny mode stops it; Off mode, ignore mode, and no VPA read say nothing. */
static const char *vpa_plan(enum mla_vpa_mode mode, const char *vpas, const char **reason,
                            char *msg, size_t n)
{
    struct mla_work *w = item(MLA_HPA_DELETE);
    w->vpa_mode = mode;
    cJSON *sos = js("[]"), *hpas = js("[]"), *v = vpas ? js(vpas) : NULL;
    struct mla_worker_seen seen = {.sos = sos, .hpas = hpas, .vpas = v, .field_manager = "fm"};
    struct mla_worker_plan p;
    mla_worker_plan_init(&p);
    mla_worker_plan_apply(w, &seen, &p);
    const struct mla_wk_op *e = find(&p, MLA_WK_EVENT);
    *reason = e ? e->reason : "";
    snprintf(msg, n, "%s", e ? e->message : "");
    static char k[32];
    snprintf(k, sizeof k, "%s", kinds(&p));
    mla_worker_plan_fini(&p);
    cJSON_Delete(sos);
    cJSON_Delete(hpas);
    cJSON_Delete(v);
    mla_work_free(w);
    return k;
}

#define VPA(name, mode) \
    "{\"metadata\":{\"name\":\"" name "\"},\"spec\":{\"targetRef\":{\"kind\":\"Deployment\"," \
    "\"name\":\"web\"},\"updatePolicy\":{\"updateMode\":\"" mode "\"}}}"

Test(worker_plan, a_vpa_fighting_the_cpu_trigger_is_named_in_a_warning_event)
{
    const char *reason;
    char msg[1024];
    cr_assert_str_eq(vpa_plan(MLA_VPA_WARN, "[" VPA("v1", "Auto") "]", &reason, msg, sizeof msg),
                     "EAE");
    cr_assert_str_eq(reason, "VPAConflict");
    cr_assert(strstr(msg, "VerticalPodAutoscaler v1 (updateMode Auto controls cpu)"), "%s", msg);
    cr_assert_str_eq(vpa_plan(MLA_VPA_DENY, "[" VPA("v1", "Recreate") "]", &reason, msg,
                              sizeof msg), "E");
    cr_assert(strstr(msg, "VPA mode is deny; no ScaledObject is applied"), "%s", msg);
    cr_assert_str_eq(vpa_plan(MLA_VPA_WARN, "[" VPA("v1", "Off") "]", &reason, msg, sizeof msg),
                     "AE");
    cr_assert_str_eq(reason, "ScaledObjectApplied");
    cr_assert_str_eq(vpa_plan(MLA_VPA_IGNORE, "[" VPA("v1", "Auto") "]", &reason, msg,
                              sizeof msg), "AE");
    cr_assert_str_eq(vpa_plan(MLA_VPA_WARN, NULL, &reason, msg, sizeof msg), "AE");
}

/* A StatefulSet's item: the HPA on the StatefulSet conflicts (and the one on a Deployment of
 * the same name does not), the apply is owned by the StatefulSet, and opting out removes only
 * the ScaledObject owned by it. */
Test(worker_plan, statefulset_item_handles_its_own_hpa_and_owner)
{
    static const struct mla_wl_kind sts = {"StatefulSet", "apps", "v1", "apps/v1",
                                           "statefulsets"};
    struct mla_work *w = item(MLA_HPA_DELETE);
    w->wl = &sts;
    cJSON *hpas = js("[" HPA("dep-hpa", "web") ",{\"metadata\":{\"name\":\"sts-hpa\"},\"spec\":"
                     "{\"scaleTargetRef\":{\"kind\":\"StatefulSet\",\"name\":\"web\"}}}]");
    cJSON *sos = js("[]");
    struct mla_worker_seen seen = {.sos = sos, .hpas = hpas, .field_manager = "fm"};
    struct mla_worker_plan p;
    mla_worker_plan_init(&p);
    mla_worker_plan_apply(w, &seen, &p);
    cr_assert_str_eq(kinds(&p), "HEAE");
    cr_assert_str_eq(p.ops[0].name, "sts-hpa");
    const cJSON *ref = cJSON_GetArrayItem(cJSON_GetObjectItem(
        cJSON_GetObjectItem(p.ops[2].config, "metadata"), "ownerReferences"), 0);
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(ref, "kind")), "StatefulSet");
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(ref, "apiVersion")), "apps/v1");
    mla_worker_plan_fini(&p);
    cJSON_Delete(sos);
    /* opt-out: the Deployment-owned namesake is not this StatefulSet's */
    w->action = MLA_ACT_REMOVE;
    sos = js("[" OURS("web", "") ",{\"metadata\":{\"name\":\"web-sts\",\"labels\":"
             "{\"ml-autoscaling.io/managed\":\"true\"},\"ownerReferences\":[{\"kind\":"
             "\"StatefulSet\",\"name\":\"web\",\"uid\":\"uid-1\"}]}}]");
    struct mla_worker_seen rs = {.sos = sos};
    mla_worker_plan_init(&p);
    mla_worker_plan_remove(w, &rs, &p);
    cr_assert_str_eq(kinds(&p), "SE");
    cr_assert_str_eq(p.ops[0].name, "web-sts");
    cr_assert(strstr(p.ops[1].message, "the StatefulSet opted out"), "%s", p.ops[1].message);
    mla_worker_plan_fini(&p);
    cJSON_Delete(sos);
    cJSON_Delete(hpas);
    mla_work_free(w);
}

/* The stored ScaledObject as the server keeps it after the apply planned here with nothing
 * stored: the apply configuration plus what the server and KEDA add (a default, a status,
 * another manager's annotation). New string, free(). */
static char *stored_after_apply(const char *uid, int max)
{
    struct fixture f;
    plan(&f, MLA_HPA_DELETE, NULL, NULL, NULL);
    cJSON *so = cJSON_Duplicate(f.p.ops[0].config, 1);
    done(&f);
    cJSON *m = cJSON_GetObjectItemCaseSensitive(so, "metadata");
    cJSON *refs = cJSON_GetObjectItemCaseSensitive(m, "ownerReferences");
    cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetArrayItem(refs, 0), "uid",
                                           cJSON_CreateString(uid));
    cJSON *a = cJSON_GetObjectItemCaseSensitive(m, "annotations");
    if (!a)
        a = cJSON_AddObjectToObject(m, "annotations");
    cJSON_AddStringToObject(a, "kubectl.kubernetes.io/note", "someone else's");
    cJSON *spec = cJSON_GetObjectItemCaseSensitive(so, "spec");
    cJSON_AddNumberToObject(spec, "pollingInterval", 30); /* KEDA's default, not ours */
    cJSON_ReplaceItemInObjectCaseSensitive(spec, "maxReplicaCount", cJSON_CreateNumber(max));
    cJSON_AddItemToObject(so, "status", js("{\"conditions\":[]}"));
    char *s = cJSON_PrintUnformatted(so);
    cJSON_Delete(so);
    return s;
}

/* A later pass that queues the same APPLY again writes it again (server-side apply is
 * idempotent) but records no second ScaledObjectApplied Event: nothing changed. A stored object
 * that differs in a field we write, or belongs to a deleted namesake, still gets one. */
Test(worker_plan, an_apply_that_changes_nothing_records_no_second_applied_event)
{
    struct fixture f;
    char *same = stored_after_apply("uid-1", 4);
    plan(&f, MLA_HPA_DELETE, same, NULL, NULL);
    cr_assert_str_eq(kinds(&f.p), "A", "an unchanged apply recorded: %s", kinds(&f.p));
    done(&f);
    char *other_max = stored_after_apply("uid-1", 9);
    plan(&f, MLA_HPA_DELETE, other_max, NULL, NULL);
    cr_assert_str_eq(kinds(&f.p), "AE");
    cr_assert_str_eq(f.p.ops[1].reason, "ScaledObjectApplied");
    done(&f);
    char *namesake = stored_after_apply("uid-0", 4);
    plan(&f, MLA_HPA_DELETE, namesake, NULL, NULL);
    cr_assert_str_eq(kinds(&f.p), "AE");
    done(&f);
    free(same);
    free(other_max);
    free(namesake);
}
