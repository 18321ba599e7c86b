/* policy_fixture.h - a policy set and Deployments for the policy/decide/so unit tests. */
#ifndef MLA_TEST_POLICY_FIXTURE_H
#define MLA_TEST_POLICY_FIXTURE_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "mla/decide.h"
#include "mla/policy.h"
#include "mla/policy_model.h"

/* Every trigger type, two policies with namespaces and selectors, bounds and profiles. */
static const char fx_policy[] =
    "apiVersion: ml-autoscaling.io/v1\n"
    "kind: PolicySet\n"
    "policies:\n"
    "  - name: web\n"
    "    priority: 5\n"
    "    match:\n"
    "      namespaces: [\"web-*\", shop]\n"
    "      excludeNamespaces: [web-legacy]\n"
    "    defaults:\n"
    "      minReplicas: 2\n"
    "      maxReplicas: 10\n"
    "      bounds: {replicas: {min: 1, max: 20}, pollingSeconds: {min: 5, max: 60}, cooldownSeconds: {min: 30, max: 600}}\n"
    "      fallback: {failureThreshold: 3, replicas: 3}\n"
    "      pod: {defaultRequests: {cpu: 200m, memory: 256Mi}}\n"
    "      triggers:\n"
    "        - {type: cpu, threshold: 70}\n"
    "        - {type: memory, threshold: 80, enabled: false}\n"
    "        - type: prometheus\n"
    "          metric: rps\n"
    "          enabled: false\n"
    "          threshold: 50\n"
    "          metadata:\n"
    "            serverAddress: http://prom:9090\n"
    "            query: 'sum(rate(http_requests_total{namespace=\"{{ namespace }}\",pod=~\"{{ name }}-.*\"}[2m]))'\n"
    "    profiles:\n"
    "      web: {}\n"
    "      strict:\n"
    "        pod: {missingRequests: deny}\n"
    "        triggers:\n"
    "          - {type: cpu, threshold: 60, metricType: AverageValue, metadata: {containerName: app}}\n"
    "          - {type: memory, threshold: 75}\n"
    "  - name: workers\n"
    "    match:\n"
    "      selector:\n"
    "        matchLabels: {tier: worker}\n"
    "        matchExpressions:\n"
    "          - {key: env, operator: In, values: [prod, staging]}\n"
    "          - {key: legacy, operator: DoesNotExist}\n"
    "          - {key: team, operator: Exists}\n"
    "          - {key: zone, operator: NotIn, values: [eu-1]}\n"
    "    defaultProfile: queue\n"
    "    defaults:\n"
    "      minReplicas: 1\n"
    "      maxReplicas: 30\n"
    "      hpaMode: transfer\n"
    "      scaleToZero: {allowed: true, idleSeconds: 900}\n"
    "      fallback: {replicas: 2}\n"
    "      behavior:\n"
    "        scaleUp: {stabilizationSeconds: 0, policies: [{type: Pods, value: 4, periodSeconds: 30}]}\n"
    "        scaleDown: {stabilizationSeconds: 300, selectPolicy: Min, policies: [{type: Percent, value: 10}]}\n"
    "      predictive: {enabled: true, query: 'sum(rate(jobs_total{queue=\"{{ queue }}\"}[5m]))'}\n"
    "      businessHours: {timezone: Europe/Berlin, windows: [{days: Mon-Fri, start: \"08:00\", end: \"18:00\", minReplicas: 3}]}\n"
    "      cost: {replicaHourlyCost: 1.5, maxHourlyCost: 20}\n"
    "      triggers:\n"
    "        - type: rabbitmq\n"
    "          metric: queue-length\n"
    "          threshold: 20\n"
    "          authenticationRef: rmq\n"
    "          metadata: {queueName: '{{ queue }}', protocol: amqp}\n"
    "        - type: prometheus\n"
    "          metric: latency-ms\n"
    "          metricType: Value\n"
    "          enabled: false\n"
    "          threshold: 500\n"
    "          authenticationRef: {name: prom-auth, kind: ClusterTriggerAuthentication}\n"
    "          metadata:\n"
    "            serverAddress: http://prom:9090\n"
    "            query: 'histogram_quantile(0.95, sum by (le) (rate(job_seconds_bucket{queue=\"{{ queue }}\",job=~\"{{ name }}\"}[5m]))) * 1000 > {{ target-latency-ms }}'\n"
    "    profiles:\n"
    "      queue: {}\n"
    "      nightly:\n"
    "        minReplicas: 0\n"
    "        triggers:\n"
    "          - type: cron\n"
    "            metadata: {start: '0 1 * * *', end: '0 5 * * *', desiredReplicas: 4}\n"
    "          - type: prometheus\n"
    "            metric: gpu-utilization\n"
    "            threshold: 80\n"
    "            metadata:\n"
    "              serverAddress: http://prom:9090\n"
    "              query: \"avg(gpu{pod=~'{{ name }}-.*'}) and on() vector(`{{ queue }}`)\"\n";

static inline struct mla_policy_set * fx_load(void)
{
    const char *names[] = {"fx.yaml"};
    const char *texts[] = {fx_policy};
    struct mla_policy_set *ps = NULL;
    struct mla_err err;
    mla_err_clear(&err);
    enum mla_code rc = mla_policy_set_load_texts(names, texts, 1, &ps, NULL, &err);
    cr_assert_eq(rc, MLA_OK, "fixture policy: %s:%d:%d: %s", err.src, err.line, err.col, err.msg);
    return ps;
}

/* A Deployment; `ann` and `labels` are JSON object bodies (may be ""), `extra_spec` is spliced
 * into the pod spec after containers. */
static inline cJSON * fx_dep(const char *name, const char *ns, const char *labels, const char *ann,
                     const char *replicas, const char *containers)
{
    char buf[8192], rep[64] = "";
    if (replicas)
        snprintf(rep, sizeof rep, "\"replicas\":%s,", replicas);
    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"%s\","
             "\"namespace\":\"%s\",\"labels\":{%s},\"annotations\":{%s}},\"spec\":{%s"
             "\"selector\":{},\"template\":{\"spec\":{\"containers\":%s}}}}",
             name, ns, labels, ann, rep,
             containers ? containers
                        : "[{\"name\":\"app\",\"resources\":{\"requests\":{\"cpu\":\"1\","
                          "\"memory\":\"1Gi\"}}}]");
    cJSON *j = cJSON_Parse(buf);
    cr_assert_not_null(j, "bad fixture JSON: %s", buf);
    return j;
}

static inline struct mla_review_request fx_req(const cJSON *obj, const cJSON *old, enum mla_review_op op,
                                     const char *ns)
{
    struct mla_review_request r = {
        .root = NULL, .uid = "u1", .kind_group = "apps", .kind_version = "v1",
        .kind = "Deployment", .resource = "deployments", .sub_resource = "", .op = op,
        .operation = op == MLA_OP_UPDATE ? "UPDATE" : "CREATE", .namespace_ = ns,
        .name = "", .object = obj, .old_object = old, .dry_run = false, .username = "t",
    };
    return r;
}

/* Decides and returns the decision (caller finis). */
static inline void fx_decide(struct mla_policy_set *ps, const cJSON *obj, const cJSON *old,
                      enum mla_review_op op, const char *ns, struct mla_decision *d)
{
    struct mla_review_request r = fx_req(obj, old, op, ns);
    struct mla_err err;
    mla_err_clear(&err);
    cr_assert_eq(mla_decide(ps, &r, d, &err), MLA_OK, "decide: %s", err.msg);
}

static inline bool fx_has_warning(const struct mla_decision *d, const char *needle)
{
    for (const cJSON *w = d->warnings ? d->warnings->child : NULL; w; w = w->next)
        if (strstr(w->valuestring, needle))
            return true;
    return false;
}

static inline const cJSON * fx_path(const cJSON *o, const char *a, const char *b, const char *c)
{
    o = cJSON_GetObjectItemCaseSensitive(o, a);
    if (b)
        o = cJSON_GetObjectItemCaseSensitive(o, b);
    if (c)
        o = cJSON_GetObjectItemCaseSensitive(o, c);
    return o;
}

#endif
