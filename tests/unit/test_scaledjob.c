/* test_scaledjob.c - Job templates: the ScaledJob builder (scaledjob.h), the Job branch of
 * mla_decide() (suspended or not, opt-out, triggers a ScaledJob cannot have) and the policy's
 * scaledJob settings with their file:line:col errors. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "mla/decide.h"
#include "mla/policy.h"
#include "mla/policy_model.h"
#include "mla/scaledjob.h"
#include "mla/worker.h"

static const char sj_policy[] =
    "apiVersion: ml-autoscaling.io/v1\n"
    "kind: PolicySet\n"
    "policies:\n"
    "  - name: jobs\n"
    "    defaults:\n"
    "      minReplicas: 0\n"
    "      maxReplicas: 20\n"
    "      pollingSeconds: 15\n"
    "      bounds: {replicas: {min: 0, max: 50}}\n"
    "      predictive: {enabled: false, query: 'sum(x)'}\n"
    "      triggers:\n"
    "        - type: rabbitmq\n"
    "          metric: queue-length\n"
    "          threshold: 1\n"
    "          authenticationRef: rmq\n"
    "          metadata: {queueName: '{{ queue }}', protocol: amqp}\n"
    "      scaledJob: {successfulJobsHistoryLimit: 5, failedJobsHistoryLimit: 7, "
    "scalingStrategy: accurate}\n"
    "    profiles:\n"
    "      queue: {}\n"
    "      custom:\n"
    "        scaledJob: {scalingStrategy: custom, customScalingQueueLengthDeduction: 2, "
    "customScalingRunningJobPercentage: 0.5}\n"
    "      plain:\n"
    "        triggers:\n"
    "          - type: prometheus\n"
    "            threshold: 3\n"
    "            metadata: {serverAddress: 'http://prom:9090', query: 'sum(pending{ns=\"{{ namespace }}\"})'}\n"
    "        scaledJob: {scalingStrategy: default}\n"
    "      cpu:\n"
    "        minReplicas: 1\n"
    "        triggers: [{type: cpu, threshold: 70}]\n";

static struct mla_policy_set *sj_load(void)
{
    const char *names[] = {"jobs.yaml"};
    const char *texts[] = {sj_policy};
    struct mla_policy_set *ps = NULL;
    struct mla_err err;
    mla_err_clear(&err);
    cr_assert_eq(mla_policy_set_load_texts(names, texts, 1, &ps, NULL, &err), MLA_OK,
                 "%s:%d:%d: %s", err.src, err.line, err.col, err.msg);
    return ps;
}

/* A Job; `ann` is a JSON object body; `suspend` "true", "false" or NULL (absent). */
static cJSON *sj_job(const char *ann, const char *suspend)
{
    char buf[4096], sus[64] = "";
    if (suspend)
        snprintf(sus, sizeof sus, "\"suspend\":%s,", suspend);
    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":{\"name\":\"transcode\","
             "\"namespace\":\"media\",\"labels\":{\"app\":\"transcode\","
             "\"argocd.argoproj.io/instance\":\"media\"},\"annotations\":{%s}},\"spec\":{%s"
             "\"backoffLimit\":2,\"template\":{\"metadata\":{\"labels\":{\"app\":\"transcode\"}},"
             "\"spec\":{\"restartPolicy\":\"Never\",\"containers\":[{\"name\":\"w\","
             "\"image\":\"t:1\"}]}}}}", ann, sus);
    cJSON *j = cJSON_Parse(buf);
    cr_assert_not_null(j, "bad fixture JSON: %s", buf);
    return j;
}

#define EN "\"ml-autoscaling.io/enabled\":\"true\",\"ml-autoscaling.io/queue\":\"video\""

static void sj_decide(struct mla_policy_set *ps, const cJSON *obj, const cJSON *old,
                      enum mla_review_op op, struct mla_decision *d)
{
    struct mla_review_request r = {
        .uid = "u1", .kind_group = "batch", .kind_version = "v1", .kind = "Job",
        .resource = "jobs", .sub_resource = "", .op = op,
        .operation = op == MLA_OP_UPDATE ? "UPDATE" : "CREATE", .namespace_ = "media",
        .name = "transcode", .object = obj, .old_object = old, .username = "t",
    };
    struct mla_err err;
    mla_err_clear(&err);
    cr_assert_eq(mla_decide(ps, &r, d, &err), MLA_OK, "decide: %s", err.msg);
}

static bool sj_warned(const struct mla_decision *d, const char *needle)
{
    for (const cJSON *w = d->warnings ? d->warnings->child : NULL; w; w = w->next)
        if (strstr(w->valuestring, needle))
            return true;
    return false;
}

static const cJSON *sj_at(const cJSON *o, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *save = NULL, *k = strtok_r(buf, ".", &save); k && o; k = strtok_r(NULL, ".", &save))
        o = cJSON_IsArray(o) ? cJSON_GetArrayItem(o, k[0] - '0')
                             : cJSON_GetObjectItemCaseSensitive(o, k);
    return o;
}

Test(scaledjob, job_target_drops_what_the_api_server_set_for_that_one_job)
{
    /* a Job as kube-apiserver stores it (1.27+): generated selector, both label generations */
    cJSON *stored = cJSON_Parse(
        "{\"metadata\":{\"name\":\"transcode\",\"uid\":\"u-1\"},\"spec\":{\"suspend\":true,"
        "\"parallelism\":1,\"completions\":1,\"backoffLimit\":6,\"completionMode\":\"NonIndexed\","
        "\"manualSelector\":false,\"podReplacementPolicy\":\"TerminatingOrFailed\","
        "\"selector\":{\"matchLabels\":{\"batch.kubernetes.io/controller-uid\":\"u-1\"}},"
        "\"template\":{\"metadata\":{\"creationTimestamp\":null,\"labels\":{\"app\":\"t\","
        "\"controller-uid\":\"u-1\",\"batch.kubernetes.io/controller-uid\":\"u-1\","
        "\"job-name\":\"transcode\",\"batch.kubernetes.io/job-name\":\"transcode\"}},"
        "\"spec\":{\"restartPolicy\":\"Never\",\"containers\":[{\"name\":\"w\"}]}}}}");
    cr_assert_not_null(stored);
    cJSON *t = mla_sj_job_target(stored);
    char *got = cJSON_PrintUnformatted(t);
    cr_assert_str_eq(got,
                     "{\"parallelism\":1,\"completions\":1,\"backoffLimit\":6,"
                     "\"completionMode\":\"NonIndexed\",\"podReplacementPolicy\":"
                     "\"TerminatingOrFailed\",\"template\":{\"metadata\":{\"labels\":"
                     "{\"app\":\"t\"}},\"spec\":{\"restartPolicy\":\"Never\",\"containers\":"
                     "[{\"name\":\"w\"}]}}}");
    free(got);
    cJSON_Delete(t);
    /* only the product's labels in the template: no empty metadata left behind */
    cJSON_DeleteItemFromObjectCaseSensitive(
        (cJSON *)sj_at(stored, "spec.template.metadata.labels"), "app");
    t = mla_sj_job_target(stored);
    cr_assert_null(sj_at(t, "template.metadata"));
    cr_assert_not_null(sj_at(t, "template.spec"));
    cJSON_Delete(t);
    cJSON_Delete(stored);
    t = mla_sj_job_target(NULL);
    cr_assert(cJSON_IsObject(t) && !t->child);
    cJSON_Delete(t);
}

Test(scaledjob, suspended_template_gets_a_full_scaledjob)
{
    struct mla_policy_set *ps = sj_load();
    cJSON *job = sj_job(EN ",\"ml-autoscaling.io/max-replicas\":\"80\"", "true");
    struct mla_decision d;
    sj_decide(ps, job, NULL, MLA_OP_CREATE, &d);
    cr_assert(d.allowed, "%s", d.message);
    cr_assert(d.scaled_job);
    cr_assert_eq(d.action, MLA_ACT_APPLY);
    cr_assert_str_eq(d.so_name, "transcode");
    cr_assert_str_eq(d.policy, "jobs");
    const cJSON *sj = d.scaled_object;
    cr_assert_str_eq(cJSON_GetStringValue(sj_at(sj, "kind")), "ScaledJob");
    cr_assert_str_eq(cJSON_GetStringValue(sj_at(sj, "apiVersion")), "keda.sh/v1alpha1");
    const cJSON *labels = sj_at(sj, "metadata.labels");
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(labels, MLA_LABEL_JOB)), "transcode");
    cr_assert_null(cJSON_GetObjectItem(labels, "argocd.argoproj.io/instance"));
    cr_assert_null(cJSON_GetObjectItem(labels, "ml-autoscaling.io/deployment"));
    cr_assert_null(sj_at(sj, "metadata.ownerReferences"));
    cr_assert_null(sj_at(sj, "spec.scaleTargetRef"));
    cr_assert_null(sj_at(sj, "spec.jobTargetRef.suspend"));
    cr_assert_eq(sj_at(sj, "spec.jobTargetRef.backoffLimit")->valueint, 2);
    cr_assert_eq(sj_at(sj, "spec.maxReplicaCount")->valueint, 50, "clamped to the bounds");
    cr_assert(sj_warned(&d, "max-replicas"));
    cr_assert_eq(sj_at(sj, "spec.minReplicaCount")->valueint, 0);
    cr_assert_eq(sj_at(sj, "spec.pollingInterval")->valueint, 15);
    cr_assert_eq(sj_at(sj, "spec.successfulJobsHistoryLimit")->valueint, 5);
    cr_assert_eq(sj_at(sj, "spec.failedJobsHistoryLimit")->valueint, 7);
    cr_assert_str_eq(cJSON_GetStringValue(sj_at(sj, "spec.scalingStrategy.strategy")),
                     "accurate");
    cr_assert_null(sj_at(sj, "spec.scalingStrategy.customScalingQueueLengthDeduction"));
    cr_assert_str_eq(cJSON_GetStringValue(sj_at(sj, "spec.triggers.0.type")), "rabbitmq");
    cr_assert_str_eq(cJSON_GetStringValue(sj_at(sj, "spec.triggers.0.metadata.queueName")),
                     "video");
    /* the Job is marked like a Deployment, but names a ScaledJob; suspend is not touched */
    char *p = cJSON_PrintUnformatted(d.patch);
    cr_assert(strstr(p, "ml-autoscaling.io~1scaledjob\",\"value\":\"transcode\""), "%s", p);
    cr_assert(strstr(p, "ml-autoscaling.io~1managed"), "%s", p);
    cr_assert_null(strstr(p, "/spec/suspend"), "%s", p);
    free(p);
    mla_decision_fini(&d);
    cJSON_Delete(job);
    mla_policy_set_unref(ps);
}

Test(scaledjob, unsuspended_create_is_suspended_by_the_patch_with_a_warning)
{
    struct mla_policy_set *ps = sj_load();
    const char *sus[] = {NULL, "false"};
    for (int i = 0; i < 2; i++) {
        cJSON *job = sj_job(EN, sus[i]);
        struct mla_decision d;
        sj_decide(ps, job, NULL, MLA_OP_CREATE, &d);
        cr_assert(d.allowed, "%s", d.message);
        cr_assert_eq(d.action, MLA_ACT_APPLY);
        char *p = cJSON_PrintUnformatted(d.patch);
        cr_assert(strstr(p, sus[i] ? "{\"op\":\"replace\",\"path\":\"/spec/suspend\",\"value\":true}"
                                   : "{\"op\":\"add\",\"path\":\"/spec/suspend\",\"value\":true}"),
                  "%s", p);
        free(p);
        cr_assert(sj_warned(&d, "set spec.suspend: true"));
        cr_assert_null(sj_at(d.scaled_object, "spec.jobTargetRef.suspend"));
        mla_decision_fini(&d);
        cJSON_Delete(job);
    }
    mla_policy_set_unref(ps);
}

Test(scaledjob, update_of_a_started_job_writes_nothing_and_says_why)
{
    struct mla_policy_set *ps = sj_load();
    cJSON *old = sj_job("", NULL);
    cJSON *job = sj_job(EN, "false");
    struct mla_decision d;
    sj_decide(ps, job, old, MLA_OP_UPDATE, &d);
    cr_assert(d.allowed);
    cr_assert_eq(d.action, MLA_ACT_NONE);
    cr_assert_null(d.patch);
    cr_assert_null(d.scaled_object);
    cr_assert(sj_warned(&d, "cannot become the template of a ScaledJob"));
    mla_decision_fini(&d);
    /* a stored template being un-suspended stays a template */
    cJSON_Delete(old);
    old = sj_job(EN, "true");
    sj_decide(ps, job, old, MLA_OP_UPDATE, &d);
    cr_assert_eq(d.action, MLA_ACT_APPLY);
    cr_assert(sj_warned(&d, "kept spec.suspend: true"));
    char *p = cJSON_PrintUnformatted(d.patch);
    cr_assert(strstr(p, "\"/spec/suspend\",\"value\":true"), "%s", p);
    free(p);
    mla_decision_fini(&d);
    cJSON_Delete(job);
    cJSON_Delete(old);
    mla_policy_set_unref(ps);
}

Test(scaledjob, opt_out_removes_the_marks_and_the_scaledjob)
{
    struct mla_policy_set *ps = sj_load();
    cJSON *old = sj_job(EN ",\"ml-autoscaling.io/scaledjob\":\"tc\","
                        "\"ml-autoscaling.io/policy\":\"jobs\"", "true");
    cJSON *job = sj_job("\"ml-autoscaling.io/scaledjob\":\"tc\",\"ml-autoscaling.io/policy\":"
                        "\"jobs\"", "true");
    struct mla_decision d;
    sj_decide(ps, job, old, MLA_OP_UPDATE, &d);
    cr_assert(d.allowed);
    cr_assert(d.scaled_job);
    cr_assert_eq(d.action, MLA_ACT_REMOVE);
    cr_assert_str_eq(d.so_name, "tc");
    cr_assert(sj_warned(&d, "the ScaledJob tc created for this Job will be deleted"));
    char *p = cJSON_PrintUnformatted(d.patch);
    cr_assert(strstr(p, "{\"op\":\"remove\",\"path\":\"/metadata/annotations/"
                        "ml-autoscaling.io~1scaledjob\"}"), "%s", p);
    free(p);
    mla_decision_fini(&d);
    /* never opted in: nothing at all */
    cJSON_Delete(old);
    old = sj_job("", "true");
    sj_decide(ps, old, old, MLA_OP_UPDATE, &d);
    cr_assert_eq(d.action, MLA_ACT_NONE);
    cr_assert_null(d.patch);
    cr_assert_null(d.warnings);
    mla_decision_fini(&d);
    cJSON_Delete(job);
    cJSON_Delete(old);
    mla_policy_set_unref(ps);
}

Test(scaledjob, strategies_and_triggers_a_scaledjob_cannot_have)
{
    struct mla_policy_set *ps = sj_load();
    cJSON *job = sj_job(EN ",\"ml-autoscaling.io/profile\":\"custom\"", "true");
    struct mla_decision d;
    sj_decide(ps, job, NULL, MLA_OP_CREATE, &d);
    cr_assert(d.allowed, "%s", d.message);
    const cJSON *st = sj_at(d.scaled_object, "spec.scalingStrategy");
    char *s = cJSON_PrintUnformatted(st);
    cr_assert_str_eq(s, "{\"strategy\":\"custom\",\"customScalingQueueLengthDeduction\":2,"
                        "\"customScalingRunningJobPercentage\":\"0.5\"}");
    free(s);
    mla_decision_fini(&d);
    cJSON_Delete(job);
    job = sj_job("\"ml-autoscaling.io/enabled\":\"true\",\"ml-autoscaling.io/profile\":\"plain\"",
                 "true");
    sj_decide(ps, job, NULL, MLA_OP_CREATE, &d);
    cr_assert(d.allowed, "%s", d.message);
    cr_assert_str_eq(cJSON_GetStringValue(sj_at(d.scaled_object, "spec.triggers.0.type")),
                     "prometheus");
    cr_assert_str_eq(cJSON_GetStringValue(sj_at(d.scaled_object,
                                                "spec.scalingStrategy.strategy")), "default");
    mla_decision_fini(&d);
    cJSON_Delete(job);
    job = sj_job("\"ml-autoscaling.io/enabled\":\"true\",\"ml-autoscaling.io/profile\":\"cpu\"",
                 "true");
    sj_decide(ps, job, NULL, MLA_OP_CREATE, &d);
    cr_assert_not(d.allowed);
    cr_assert_eq(d.code, 400);
    cr_assert(strstr(d.message, "cpu trigger, which cannot drive a ScaledJob"), "%s", d.message);
    cr_assert_null(d.scaled_object);
    cr_assert_null(d.patch);
    mla_decision_fini(&d);
    cJSON_Delete(job);
    /* predictive asked for on a Job: said to be ignored */
    job = sj_job(EN ",\"ml-autoscaling.io/business-hours\":\"Mon-Fri 09:00-17:00\"", "true");
    sj_decide(ps, job, NULL, MLA_OP_CREATE, &d);
    cr_assert(d.allowed, "%s", d.message);
    cr_assert(sj_warned(&d, "do not apply to a ScaledJob"));
    mla_decision_fini(&d);
    cJSON_Delete(job);
    mla_policy_set_unref(ps);
}

static void sj_load_err(const char *text, int line, int col, const char *needle)
{
    const char *names[] = {"p.yaml"};
    const char *texts[] = {text};
    struct mla_policy_set *ps = NULL;
    struct mla_err err;
    mla_err_clear(&err);
    cr_assert_neq(mla_policy_set_load_texts(names, texts, 1, &ps, NULL, &err), MLA_OK);
    cr_assert_str_eq(err.src, "p.yaml");
    cr_assert_eq(err.line, line, "line %d: %s", err.line, err.msg);
    cr_assert_eq(err.col, col, "col %d: %s", err.col, err.msg);
    cr_assert(strstr(err.msg, needle), "%s", err.msg);
}

#define SJ_HEAD "apiVersion: ml-autoscaling.io/v1\nkind: PolicySet\npolicies:\n  - name: p\n" \
                "    defaults:\n      triggers: [{type: cron, metadata: {start: '0 1 * * *', " \
                "end: '0 2 * * *', desiredReplicas: 1}}]\n"

Test(scaledjob, policy_errors_name_file_line_col_and_allowed_values)
{
    sj_load_err(SJ_HEAD "      scaledJob: {scalingStrategy: fastest}\n", 7, 36,
                "scalingStrategy: 'fastest' is not allowed; allowed: default, custom, accurate, "
                "eager");
    sj_load_err(SJ_HEAD "      scaledJob:\n        failedJobsHistoryLimit: -1\n", 8, 33,
                "failedJobsHistoryLimit: -1 is out of range");
    sj_load_err(SJ_HEAD "      scaledJob: {historyLimit: 3}\n", 7, 19,
                "unknown field 'historyLimit' in scaledJob; allowed: successfulJobsHistoryLimit");
    sj_load_err(SJ_HEAD "      scaledJob: {customScalingRunningJobPercentage: 1.5, "
                "scalingStrategy: custom}\n", 7, 54,
                "customScalingRunningJobPercentage: 1.5 is out of range");
    sj_load_err(SJ_HEAD "    profiles:\n      a: {scaledJob: {customScalingQueueLengthDeduction: "
                "1}}\n", 8, 7, "need scaledJob.scalingStrategy custom");
}

Test(scaledjob, the_stored_template_shows_the_admitted_intent)
{
    /* the patch adds ml-autoscaling.io/scaledjob: an output, not an input the user changed, so
     * the worker must still see the stored Job as admitted */
    cJSON *admitted = sj_job(EN, "true");
    cJSON *stored = sj_job(EN ",\"ml-autoscaling.io/scaledjob\":\"transcode\","
                           "\"ml-autoscaling.io/policy\":\"jobs\","
                           "\"ml-autoscaling.io/policy-hash\":\"sha256:1\"", "true");
    cJSON_AddItemToObject(cJSON_GetObjectItem(cJSON_GetObjectItem(stored, "metadata"), "labels"),
                          "ml-autoscaling.io/managed", cJSON_CreateString("true"));
    cJSON *intent = mla_worker_intent(MLA_ACT_APPLY, admitted, "sha256:1");
    cr_assert(mla_worker_intent_shown(intent, stored));
    cJSON_Delete(intent);
    cJSON_Delete(admitted);
    cJSON_Delete(stored);
}
