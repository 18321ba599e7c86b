/* test_reconcile_jobs.c - the leader's reconcile pass for Job templates and their KEDA
 * ScaledJobs (reconcile_jobs.c through mla_reconcile_plan): missing, drifted, paused and
 * foreign ScaledJobs, adoption of a Job that bypassed the webhook (with its Event), opt-out,
 * orphans (template deleted, re-created, unreadable, lost its label), Jobs being deleted, and a
 * Deployment and a Job of the same name planned apart. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "mla/log.h"
#include "mla/reconcile.h"

static void init(void) { mla_log_set_level(MLA_LOG_OFF); }

/* The decision: opted in = ml-autoscaling.io/enabled "true"; a Job annotated test/running was
 * stored unsuspended (opted in, nothing to write); Jobs get a ScaledJob with maxReplicaCount 4,
 * Deployments a ScaledObject. */
static enum mla_code decide(void *ctx, const struct mla_policy_set *ps,
                            const struct mla_review_request *req, struct mla_decision *out,
                            struct mla_err *err)
{
    (void)ctx;
    (void)ps;
    (void)err;
    bool job = !strcmp(req->kind, "Job");
    cr_assert(!job || !strcmp(req->kind_group, "batch"), "a Job is decided as batch/v1 Job");
    const char *en = mla_kube_annotation(req->object, "ml-autoscaling.io/enabled");
    out->allowed = true;
    out->opted_in = en && !strcmp(en, "true");
    out->scaled_job = job;
    if (!out->opted_in) {
        out->action = MLA_ACT_REMOVE;
        return MLA_OK;
    }
    if (job && mla_kube_annotation(req->object, "test/running"))
        return MLA_OK;
    out->action = MLA_ACT_APPLY;
    char s[512];
    snprintf(s, sizeof s,
             "{\"apiVersion\":\"keda.sh/v1alpha1\",\"kind\":\"%s\",\"metadata\":{\"name\":\"%s\","
             "\"labels\":{\"ml-autoscaling.io/managed\":\"true\"}},\"spec\":{%s"
             "\"maxReplicaCount\":4}}",
             job ? "ScaledJob" : "ScaledObject", req->name,
             job ? "\"jobTargetRef\":{\"template\":{}}," : "");
    out->scaled_object = cJSON_Parse(s);
    snprintf(out->so_name, sizeof out->so_name, "%s", req->name);
    return MLA_OK;
}

static cJSON *job(const char *ns, const char *name, const char *uid, bool enabled, bool managed)
{
    char s[512];
    snprintf(s, sizeof s,
             "{\"metadata\":{\"namespace\":\"%s\",\"name\":\"%s\",\"uid\":\"%s\","
             "\"labels\":{%s},\"annotations\":{%s}},\"spec\":{\"suspend\":true}}",
             ns, name, uid, managed ? "\"ml-autoscaling.io/managed\":\"true\"" : "",
             enabled ? "\"ml-autoscaling.io/enabled\":\"true\"" : "");
    return cJSON_Parse(s);
}

/* Our ScaledJob for Job name/uid as stored (KEDA's defaults added), maxReplicaCount `max`. */
static cJSON *sj(const char *ns, const char *name, const char *uid, int max)
{
    char s[768];
    snprintf(s, sizeof s,
             "{\"metadata\":{\"namespace\":\"%s\",\"name\":\"%s\",\"labels\":{"
             "\"ml-autoscaling.io/managed\":\"true\"},\"ownerReferences\":[{"
             "\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"name\":\"%s\",\"uid\":\"%s\","
             "\"controller\":true}]},\"spec\":{\"jobTargetRef\":{\"template\":{}},"
             "\"maxReplicaCount\":%d,\"pollingInterval\":30},\"status\":{}}",
             ns, name, name, uid, max);
    return cJSON_Parse(s);
}

struct world {
    cJSON *deps, *sos, *jobs, *bypassed, *sjs, *owners, *unknown, *terminating;
    cJSON *plan;
    struct mla_reconcile_stats st;
};

static void world_init(struct world *w)
{
    memset(w, 0, sizeof *w);
    cJSON **all[] = {&w->deps, &w->sos, &w->jobs, &w->bypassed, &w->sjs, &w->owners,
                     &w->unknown, &w->terminating};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        *all[i] = cJSON_CreateArray();
}

static void world_fini(struct world *w)
{
    cJSON *all[] = {w->deps, w->sos, w->jobs, w->bypassed, w->sjs, w->owners,
                    w->unknown, w->terminating, w->plan};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        cJSON_Delete(all[i]);
}

static void plan(struct world *w)
{
    struct mla_reconcile_input in = {
        .deployments = w->deps, .scaledobjects = w->sos, .jobs = w->jobs,
        .bypassed_jobs = w->bypassed, .scaledjobs = w->sjs, .job_owners = w->owners,
        .job_unknown = w->unknown, .terminating = w->terminating, .decide = decide};
    cJSON_Delete(w->plan);
    w->plan = NULL;
    memset(&w->st, 0, sizeof w->st);
    struct mla_err e;
    cr_assert_eq(mla_reconcile_plan(&in, &w->plan, &w->st, &e), MLA_OK, "%s", e.msg);
}

/* "op kind ns/name [why|reason]" per action, joined by "; ". */
static const char *summary(const struct world *w)
{
    static char buf[2048];
    size_t len = 0;
    buf[0] = '\0';
    const cJSON *a;
    cJSON_ArrayForEach(a, w->plan)
    {
        const char *why = cJSON_GetStringValue(cJSON_GetObjectItem(a, "why"));
        const char *reason = cJSON_GetStringValue(cJSON_GetObjectItem(a, "reason"));
        const char *kind = cJSON_GetStringValue(cJSON_GetObjectItem(a, "kind"));
        int n = snprintf(buf + len, sizeof buf - len, "%s%s %s %s/%s%s%s", len ? "; " : "",
                         cJSON_GetStringValue(cJSON_GetObjectItem(a, "op")),
                         kind ? kind : "Deployment",
                         cJSON_GetStringValue(cJSON_GetObjectItem(a, "namespace")),
                         cJSON_GetStringValue(cJSON_GetObjectItem(a, "name")),
                         why || reason ? " " : "", why ? why : reason ? reason : "");
        len += (size_t)n;
    }
    return buf;
}

Test(reconcile_jobs, missing_drifted_current_paused_foreign, .init = init)
{
    struct world w;
    world_init(&w);
    cJSON_AddItemToArray(w.jobs, job("q", "missing", "u1", true, true));
    cJSON_AddItemToArray(w.jobs, job("q", "drifted", "u2", true, true));
    cJSON_AddItemToArray(w.sjs, sj("q", "drifted", "u2", 99));
    cJSON_AddItemToArray(w.jobs, job("q", "current", "u3", true, true));
    cJSON_AddItemToArray(w.sjs, sj("q", "current", "u3", 4));
    cJSON_AddItemToArray(w.jobs, job("q", "paused", "u4", true, true));
    cJSON *p = sj("q", "paused", "u4", 99);
    cJSON_AddItemToObject(cJSON_GetObjectItem(p, "metadata"), "annotations",
                          cJSON_Parse("{\"autoscaling.keda.sh/paused\":\"true\"}"));
    cJSON_AddItemToArray(w.sjs, p);
    cJSON_AddItemToArray(w.jobs, job("q", "foreign", "u5", true, true));
    cJSON *f = sj("q", "foreign", "u5", 99);
    cJSON_DeleteItemFromObject(cJSON_GetObjectItem(f, "metadata"), "labels");
    cJSON_AddItemToArray(w.sjs, f);
    cJSON *running = job("q", "running", "u6", true, true); /* stored unsuspended */
    cJSON_AddStringToObject(cJSON_GetObjectItem(cJSON_GetObjectItem(running, "metadata"),
                                                "annotations"), "test/running", "1");
    cJSON_AddItemToArray(w.jobs, running);
    cJSON_AddItemToArray(w.sjs, sj("q", "running", "u6", 99));
    plan(&w);
    cr_assert_str_eq(summary(&w), "apply Job q/missing create; apply Job q/drifted update");
    cr_assert_eq(w.st.jobs, 6);
    cr_assert_eq(w.st.created, 1);
    cr_assert_eq(w.st.updated, 1);
    cr_assert_eq(w.st.paused, 1);
    cr_assert_eq(w.st.deployments, 0);
    const cJSON *a = cJSON_GetArrayItem(w.plan, 0);
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(a, "soName")), "missing");
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(
                         cJSON_GetObjectItem(a, "scaledObject"), "kind")), "ScaledJob");
    world_fini(&w);
}

Test(reconcile_jobs, a_scaledjob_owned_by_a_deleted_namesake_is_replaced, .init = init)
{
    struct world w;
    world_init(&w);
    cJSON_AddItemToArray(w.jobs, job("q", "t", "new", true, true));
    cJSON_AddItemToArray(w.sjs, sj("q", "t", "old", 4));
    plan(&w);
    cr_assert_str_eq(summary(&w), "apply Job q/t update; delete ScaledJob q/t");
    world_fini(&w);
}

Test(reconcile_jobs, adopts_a_job_that_bypassed_the_webhook_once, .init = init)
{
    struct world w;
    world_init(&w);
    cJSON_AddItemToArray(w.bypassed, job("b", "tmpl", "u1", true, false));
    cJSON_AddItemToArray(w.bypassed, job("b", "plain", "u2", false, false)); /* not opted in */
    plan(&w);
    /* no Event in the plan: the worker records AdoptedAfterBypass when its write creates the
     * ScaledJob, so two passes before that write make one Event */
    cr_assert_str_eq(summary(&w), "apply Job b/tmpl adopt");
    cr_assert_eq(w.st.adopted, 1);
    cJSON_AddItemToArray(w.sjs, sj("b", "tmpl", "u1", 4));
    plan(&w);
    cr_assert_str_eq(summary(&w), "", "adopted again: %s", summary(&w));
    /* marked between the two reads: in both lists, planned once */
    cJSON_DeleteItemFromArray(w.sjs, 0);
    cJSON_AddItemToArray(w.jobs, job("b", "tmpl", "u1", true, true));
    plan(&w);
    cr_assert_str_eq(summary(&w), "apply Job b/tmpl create");
    world_fini(&w);
}

Test(reconcile_jobs, opted_out_deleting_and_terminating, .init = init)
{
    struct world w;
    world_init(&w);
    cJSON_AddItemToArray(w.jobs, job("q", "out", "u1", false, true));
    cJSON_AddItemToArray(w.sjs, sj("q", "out", "u1", 4));
    cJSON_AddItemToArray(w.jobs, job("q", "out-nothing", "u2", false, true)); /* no ScaledJob */
    cJSON *d = job("q", "going", "u3", true, true);
    cJSON_AddStringToObject(cJSON_GetObjectItem(d, "metadata"), "deletionTimestamp",
                            "2026-12-05T00:00:00Z");
    cJSON_AddItemToArray(w.jobs, d);
    cJSON_AddItemToArray(w.jobs, job("dying", "t", "u4", true, true));
    cJSON_AddItemToArray(w.sjs, sj("dying", "gone-owner", "u9", 4));
    cJSON_AddItemToArray(w.terminating, cJSON_CreateString("dying"));
    plan(&w);
    cr_assert_str_eq(summary(&w), "remove Job q/out");
    cr_assert_eq(w.st.skipped, 2);
    world_fini(&w);
}

Test(reconcile_jobs, orphans_gone_unknown_and_unlabelled_owners, .init = init)
{
    struct world w;
    world_init(&w);
    cJSON_AddItemToArray(w.sjs, sj("q", "gone", "u1", 4));
    cJSON_AddItemToArray(w.sjs, sj("q", "unreadable", "u2", 4));
    cJSON_AddItemToArray(w.sjs, sj("q", "unlabelled", "u3", 4));
    cJSON *foreign = sj("q", "foreign", "u4", 4);
    cJSON_DeleteItemFromObject(cJSON_GetObjectItem(foreign, "metadata"), "labels");
    cJSON_AddItemToArray(w.sjs, foreign);
    cJSON *want = mla_reconcile_job_owners_to_read(w.jobs, w.bypassed, w.sjs);
    char *s = cJSON_PrintUnformatted(want);
    cr_assert_str_eq(s, "[{\"namespace\":\"q\",\"name\":\"gone\"},{\"namespace\":\"q\",\"name\":"
                        "\"unreadable\"},{\"namespace\":\"q\",\"name\":\"unlabelled\"}]");
    cJSON_free(s);
    cJSON_Delete(want);
    cJSON_AddItemToArray(w.unknown, cJSON_CreateString("q/unreadable"));
    /* read: it lost the label and the opt-in (an update stored without the webhook) */
    cJSON_AddItemToArray(w.owners, job("q", "unlabelled", "u3", false, false));
    plan(&w);
    cr_assert_str_eq(summary(&w), "delete ScaledJob q/gone; remove Job q/unlabelled");
    cr_assert_eq(w.st.orphans, 2);
    world_fini(&w);
}

Test(reconcile_jobs, a_deployment_and_a_job_of_one_name_are_planned_apart, .init = init)
{
    struct world w;
    world_init(&w);
    cJSON *d = job("q", "same", "ud", true, true);
    cJSON_DeleteItemFromObject(d, "spec");
    cJSON_AddItemToArray(w.deps, d);
    cJSON_AddItemToArray(w.jobs, job("q", "same", "uj", true, true));
    plan(&w);
    cr_assert_str_eq(summary(&w), "apply Deployment q/same create; apply Job q/same create");
    world_fini(&w);
}
