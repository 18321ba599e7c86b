/* test_scaledobject.c - the generated ScaledObject: every trigger type, template escaping, names,
 * KEDA's rules (fallback, ignoreNullValues), predictive-config, labels. */
#include <criterion/criterion.h>

#include "../../src/policy/policy-int.h"
#include "mla/predict.h"
#include "mla/scaledobject.h"
#include "policy_fixture.h"

#define EN "\"ml-autoscaling.io/enabled\":\"true\","
#define WORKER "\"tier\":\"worker\",\"env\":\"prod\",\"team\":\"t\""

static const cJSON *trig_of(const cJSON *so, const char *type, int nth)
{
    const cJSON *t = fx_path(so, "spec", "triggers", NULL);
    for (const cJSON *e = t ? t->child : NULL; e; e = e->next)
        if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(e, "type")), type) && nth-- == 0)
            return e;
    return NULL;
}

static const char *meta(const cJSON *trig, const char *key)
{
    return cJSON_GetStringValue(fx_path(trig, "metadata", key, NULL));
}

static void decide(const char *name, const char *ns, const char *labels, const char *ann,
                   const char *containers, struct mla_decision *d)
{
    struct mla_policy_set *ps = fx_load();
    cJSON *dep = fx_dep(name, ns, labels, ann, NULL, containers);
    fx_decide(ps, dep, NULL, MLA_OP_CREATE, ns, d);
    cJSON_Delete(dep);
    mla_policy_set_unref(ps);
}

Test(so, cpu_memory_prometheus_with_fallback_and_ignore_null_values)
{
    struct mla_decision d;
    decide("shop-api", "shop", "\"app\":\"shop\",\"app.kubernetes.io/instance\":\"x\",\"argocd.argoproj.io/instance\":\"y\"",
           EN "\"ml-autoscaling.io/target-rps\":\"25.5\"", NULL, &d);
    cr_assert(d.allowed, "%s", d.message);
    const cJSON *so = d.scaled_object;
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(so, "apiVersion")), "keda.sh/v1alpha1");
    cr_assert_str_eq(cJSON_GetStringValue(fx_path(so, "spec", "scaleTargetRef", "name")), "shop-api");
    cr_assert_str_eq(cJSON_GetStringValue(fx_path(so, "spec", "scaleTargetRef", "kind")), "Deployment");
    const cJSON *cpu = trig_of(so, "cpu", 0);
    cr_assert_not_null(cpu);
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(cpu, "metricType")), "Utilization");
    cr_assert_str_eq(meta(cpu, "value"), "70");
    cr_assert_null(trig_of(so, "memory", 0)); /* enabled: false and no annotation */
    const cJSON *prom = trig_of(so, "prometheus", 0);
    cr_assert_str_eq(meta(prom, "threshold"), "25.5");
    cr_assert_str_eq(meta(prom, "query"),
                     "sum(rate(http_requests_total{namespace=\"shop\",pod=~\"shop-api-.*\"}[2m]))");
    cr_assert_str_eq(meta(prom, "ignoreNullValues"), "false"); /* fallback is set */
    cr_assert_eq(fx_path(so, "spec", "fallback", "replicas")->valueint, 3);
    const cJSON *labels = fx_path(so, "metadata", "labels", NULL);
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(labels, "app")), "shop");
    cr_assert_null(cJSON_GetObjectItem(labels, "app.kubernetes.io/instance"));
    cr_assert_null(cJSON_GetObjectItem(labels, "argocd.argoproj.io/instance"));
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(labels, "ml-autoscaling.io/managed")), "true");
    cr_assert_null(fx_path(so, "metadata", "ownerReferences", NULL));
    cr_assert_null(fx_path(so, "spec", "advanced", NULL));
    const cJSON *anns = fx_path(so, "metadata", "annotations", NULL);
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(anns, "ml-autoscaling.io/policy")), "web");
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(anns, "ml-autoscaling.io/profile")), "web");
    cr_assert_null(cJSON_GetObjectItem(anns, "ml-autoscaling.io/predictive-config"));
    mla_decision_fini(&d);
}

Test(so, fallback_dropped_where_keda_refuses_it)
{
    struct mla_decision d;
    decide("a", "shop", "", EN "\"ml-autoscaling.io/profile\":\"strict\"", NULL, &d);
    cr_assert(d.allowed, "%s", d.message);
    cr_assert_null(fx_path(d.scaled_object, "spec", "fallback", NULL)); /* cpu/memory only */
    const cJSON *cpu = trig_of(d.scaled_object, "cpu", 0);
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(cpu, "metricType")), "AverageValue");
    cr_assert_str_eq(meta(cpu, "containerName"), "app");
    cr_assert_str_eq(meta(trig_of(d.scaled_object, "memory", 0), "value"), "75");
    mla_decision_fini(&d);
}

Test(so, rabbitmq_cron_auth_refs_behavior_and_predictive_config)
{
    struct mla_decision d;
    decide("etl", "jobs", WORKER,
           EN "\"ml-autoscaling.io/queue\":\"orders\",\"ml-autoscaling.io/queue-length\":\"40\","
              "\"ml-autoscaling.io/target-latency-ms\":\"250\",\"ml-autoscaling.io/capacity-per-replica\":\"12.5\"",
           NULL, &d);
    cr_assert(d.allowed, "%s", d.message);
    const cJSON *so = d.scaled_object;
    const cJSON *rmq = trig_of(so, "rabbitmq", 0);
    cr_assert_str_eq(meta(rmq, "queueName"), "orders");
    cr_assert_str_eq(meta(rmq, "value"), "40");
    cr_assert_str_eq(meta(rmq, "mode"), "QueueLength");
    cr_assert_str_eq(meta(rmq, "protocol"), "amqp");
    cr_assert_str_eq(cJSON_GetStringValue(fx_path(rmq, "authenticationRef", "name", NULL)), "rmq");
    const cJSON *lat = trig_of(so, "prometheus", 0);
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(lat, "metricType")), "Value");
    cr_assert_str_eq(cJSON_GetStringValue(fx_path(lat, "authenticationRef", "kind", NULL)),
                     "ClusterTriggerAuthentication");
    cr_assert_str_eq(meta(lat, "query"),
                     "histogram_quantile(0.95, sum by (le) (rate(job_seconds_bucket{queue=\"orders\","
                     "job=~\"etl\"}[5m]))) * 1000 > 250");
    /* fallback set with an AverageValue trigger: prometheus must not ignore null values */
    cr_assert_str_eq(meta(lat, "ignoreNullValues"), "false");
    const cJSON *beh = fx_path(so, "spec", "advanced", "horizontalPodAutoscalerConfig");
    beh = cJSON_GetObjectItem(beh, "behavior");
    cr_assert_eq(fx_path(beh, "scaleUp", "stabilizationWindowSeconds", NULL)->valueint, 0);
    cr_assert_str_eq(cJSON_GetStringValue(fx_path(beh, "scaleDown", "selectPolicy", NULL)), "Min");
    const cJSON *pol = cJSON_GetArrayItem(fx_path(beh, "scaleDown", "policies", NULL), 0);
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(pol, "type")), "Percent");
    cr_assert_eq(cJSON_GetObjectItem(pol, "periodSeconds")->valueint, 60);
    cr_assert_null(fx_path(so, "spec", "advanced", "restoreToOriginalReplicaCount"));
    const char *pc = cJSON_GetStringValue(
        fx_path(so, "metadata", "annotations", "ml-autoscaling.io/predictive-config"));
    cr_assert_not_null(pc);
    /* the predictive loop's own parser accepts it (the contract between the two) */
    struct mla_predict_config cfg;
    mla_predict_config_init(&cfg);
    struct mla_err perr;
    mla_err_clear(&perr);
    cr_assert_eq(mla_predict_config_parse(pc, &cfg, &perr), MLA_OK, "%s", perr.msg);
    cr_assert(cfg.enabled);
    cr_assert_eq(cfg.max_replicas, 30);
    cr_assert_not_null(cfg.hours);
    cr_assert_eq(cfg.hours->n, 1);
    mla_predict_config_fini(&cfg);
    cJSON *p = cJSON_Parse(pc);
    static const char *const keys[] = {"enabled", "query", "lookbackHours", "stepSeconds",
        "horizonMinutes", "scaleAheadMinutes", "confidenceThreshold", "quantile",
        "anomalyThreshold", "capacityPerReplica", "businessHours", "timezone", "nightMaxReplicas",
        "replicaHourlyCost", "maxHourlyCost", "minReplicas", "maxReplicas", "hysteresisStep",
        "scaleDownHoldMinutes"};
    cr_assert_eq(cJSON_GetArraySize(p), (int)(sizeof keys / sizeof *keys));
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        cr_assert_not_null(cJSON_GetObjectItem(p, keys[i]), "key %s", keys[i]);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(p, "enabled")));
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(p, "query")),
                     "sum(rate(jobs_total{queue=\"orders\"}[5m]))");
    cr_assert_eq(cJSON_GetObjectItem(p, "capacityPerReplica")->valuedouble, 12.5);
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(p, "timezone")), "Europe/Berlin");
    cr_assert_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(p, "businessHours"), 0),
                                     "minReplicas")->valueint, 3);
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(p, "nightMaxReplicas")));
    cr_assert_eq(cJSON_GetObjectItem(p, "maxHourlyCost")->valuedouble, 20);
    cr_assert_eq(cJSON_GetObjectItem(p, "minReplicas")->valueint, 1);
    cr_assert_eq(cJSON_GetObjectItem(p, "maxReplicas")->valueint, 30);
    cJSON_Delete(p);
    mla_decision_fini(&d);

    decide("etl", "jobs", WORKER,
           EN "\"ml-autoscaling.io/profile\":\"nightly\",\"ml-autoscaling.io/queue\":\"q\","
              "\"ml-autoscaling.io/predictive\":\"false\",\"ml-autoscaling.io/timezone\":\"Asia/Tokyo\"",
           NULL, &d);
    cr_assert(d.allowed, "%s", d.message);
    const cJSON *cron = trig_of(d.scaled_object, "cron", 0);
    cr_assert_str_eq(meta(cron, "start"), "0 1 * * *");
    cr_assert_str_eq(meta(cron, "desiredReplicas"), "4"); /* numbers become strings */
    cr_assert_str_eq(meta(cron, "timezone"), "Asia/Tokyo");
    cr_assert_eq(fx_path(d.scaled_object, "spec", "minReplicaCount", NULL)->valueint, 0);
    pc = cJSON_GetStringValue(fx_path(d.scaled_object, "metadata", "annotations",
                                      "ml-autoscaling.io/predictive-config"));
    cr_assert(strstr(pc, "\"enabled\":false"), "%s", pc); /* still written: hours + cost cap */
    mla_decision_fini(&d);
}

static char *expand(const char *tpl, bool promql, const char *name, const char *queue,
                    enum mla_code *rc, char *msg)
{
    struct mla_arena a = {0};
    struct mla_tpl *t = NULL;
    char why[256];
    cr_assert(mla__tpl_compile(&a, tpl, promql, &t, why, sizeof why), "%s", why);
    const char *ann[MLA_ANN__COUNT] = {0};
    ann[MLA_ANN_QUEUE] = queue;
    ann[MLA_ANN_TARGET_RPS] = "12";
    struct mla_buf b;
    mla_buf_init(&b, 0);
    struct mla_err err;
    mla_err_clear(&err);
    *rc = mla_tpl_expand(t, name, "ns", ann, &b, &err);
    snprintf(msg, 512, "%s", err.msg);
    char *out = mla_buf_take(&b);
    mla_arena_fini(&a);
    return out;
}

Test(so, template_values_cannot_break_out_of_promql_strings)
{
    enum mla_code rc;
    char msg[512];
    struct {
        const char *tpl, *queue, *want;
    } ok[] = {
        {"x{q=\"{{ queue }}\"}", "a\"} or vector(1) #", "x{q=\"a\\\"} or vector(1) #\"}"},
        {"x{q=\"{{ queue }}\"}", "back\\slash", "x{q=\"back\\\\slash\"}"},
        {"x{q='{{ queue }}'}", "it's", "x{q='it\\'s'}"},
        {"x{q=~\"{{ queue }}-.*\"}", "a.b+c", "x{q=~\"a\\\\.b\\\\+c-.*\"}"},
        {"x{q=~'{{ queue }}'}", "(x)", "x{q=~'\\\\(x\\\\)'}"},
        {"x{q=`{{ queue }}`}", "raw\"'", "x{q=`raw\"'`}"},
        {"x > {{ target-rps }}", "unused", "x > 12"},
        {"x{a=\"\\\"{{ queue }}\"}", "v", "x{a=\"\\\"v\"}"}, /* escaped quote keeps us inside */
        /* bytes the expansion looks at twice but keeps as they are here, first, inside, last */
        {"x{q=\"{{ queue }}\"}", ".a'b`c(d)|$", "x{q=\".a'b`c(d)|$\"}"},
        {"x{q=~\"{{ queue }}\"}", "\\a.", "x{q=~\"\\\\\\\\a\\\\.\"}"},
        {"x{q=\"{{ queue }}\"}", "", "x{q=\"\"}"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        char *s = expand(ok[i].tpl, true, "n", ok[i].queue, &rc, msg);
        cr_assert_eq(rc, MLA_OK, "case %zu: %s", i, msg);
        cr_assert_str_eq(s, ok[i].want, "case %zu", i);
        free(s);
    }
    free(expand("x{q=`{{ queue }}`}", true, "n", "a`b", &rc, msg));
    cr_assert_eq(rc, MLA_EDENIED);
    cr_assert(strstr(msg, "annotation ml-autoscaling.io/queue: the value contains a backtick"), "%s", msg);
    free(expand("x{q=\"{{ queue }}\"}", true, "n", "a\nb", &rc, msg));
    cr_assert_eq(rc, MLA_EDENIED);
    cr_assert(strstr(msg, "ml-autoscaling.io/queue: the value contains a control character"), "%s", msg);
    free(expand("x{q=\"{{ queue }}\"}", true, "n", "ab\x7f", &rc, msg));
    cr_assert_eq(rc, MLA_EDENIED);
    cr_assert(strstr(msg, "ml-autoscaling.io/queue: the value contains a control character"), "%s", msg);
    free(expand("x{q=\"{{ queue }}\"}", true, "n", NULL, &rc, msg));
    cr_assert_eq(rc, MLA_EDENIED);
    cr_assert(strstr(msg, "ml-autoscaling.io/queue is required"), "%s", msg);
    /* plain (non-PromQL) metadata: the value as is */
    char *s = expand("{{ name }}.{{ namespace }}", false, "dep", NULL, &rc, msg);
    cr_assert_str_eq(s, "dep.ns");
    free(s);
}

Test(so, templates_refuse_free_text_outside_strings_at_load)
{
    struct mla_arena a = {0};
    struct mla_tpl *t;
    char why[256];
    cr_assert_not(mla__tpl_compile(&a, "up{} * {{ queue }}", true, &t, why, sizeof why));
    cr_assert(strstr(why, "outside a quoted PromQL string"));
    cr_assert_not(mla__tpl_compile(&a, "{{ name }}", true, &t, why, sizeof why));
    cr_assert_not(mla__tpl_compile(&a, "x{a=\"{{ queue }\"}", true, &t, why, sizeof why));
    cr_assert_not(mla__tpl_compile(&a, "x{a=\"{{ enabled }}\"}", true, &t, why, sizeof why));
    cr_assert(mla__tpl_compile(&a, "{{ name }}", false, &t, why, sizeof why));
    mla_arena_fini(&a);
}

Test(so, names_fit_63_including_keda_hpa_prefix)
{
    char out[64];
    mla_so_short_name("short", 54, out);
    cr_assert_str_eq(out, "short");
    const char *longname = "a-very-long-deployment-name-that-goes-on-and-on-and-on-beyond";
    mla_so_short_name(longname, 54, out);
    cr_assert_leq(strlen(out), 54);
    cr_assert_geq(strlen(out), 50);
    cr_assert_leq(strlen("keda-hpa-") + strlen(out), 63);
    char again[64];
    mla_so_short_name(longname, 54, again);
    cr_assert_str_eq(out, again); /* deterministic */
    char other[64];
    mla_so_short_name("a-very-long-deployment-name-that-goes-on-and-on-and-on-beyonD", 54, other);
    cr_assert_str_neq(out, other);
    /* never ends the kept prefix on '-' or '.' */
    mla_so_short_name("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.-bbbbbbbbbbbbbbbbbbbb", 54, out);
    cr_assert_null(strstr(out, ".-"));
    cr_assert_null(strstr(out, "--"));
}

/* Through the whole decision: the ScaledObject name keeps "keda-hpa-<name>" within 63 (so at
 * most 54), the deployment label value within 63, both the Deployment name itself when it fits
 * and a hashed prefix otherwise; the patch records the same ScaledObject name. */
Test(so, name_limits_at_each_boundary_through_the_decision)
{
    static const struct {
        size_t len;
        bool so_kept, label_kept;
    } cases[] = {{1, true, true}, {54, true, true}, {55, false, true},
                 {63, false, true}, {64, false, false}, {253, false, false}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char name[254];
        memset(name, 'a', cases[i].len);
        name[cases[i].len] = '\0';
        name[0] = 'w';
        struct mla_decision d;
        decide(name, "web-1", "", EN "\"ml-autoscaling.io/min-replicas\":\"2\"", NULL, &d);
        cr_assert(d.allowed, "len %zu: %s", cases[i].len, d.message);
        const char *so = cJSON_GetStringValue(fx_path(d.scaled_object, "metadata", "name", NULL));
        const char *label = cJSON_GetStringValue(fx_path(d.scaled_object, "metadata", "labels",
                                                         "ml-autoscaling.io/deployment"));
        cr_assert_not_null(so);
        cr_assert_not_null(label);
        cr_assert_leq(strlen("keda-hpa-") + strlen(so), 63, "len %zu: %s", cases[i].len, so);
        cr_assert_leq(strlen(label), 63, "len %zu: %s", cases[i].len, label);
        cr_assert_eq(!strcmp(so, name), cases[i].so_kept, "len %zu: so name %s", cases[i].len, so);
        cr_assert_eq(!strcmp(label, name), cases[i].label_kept, "len %zu: label %s", cases[i].len,
                     label);
        if (!cases[i].so_kept)
            cr_assert_eq(strlen(so), 54, "len %zu: %s", cases[i].len, so);
        if (!cases[i].label_kept)
            cr_assert_eq(strlen(label), 63, "len %zu: %s", cases[i].len, label);
        cr_assert_str_eq(cJSON_GetStringValue(fx_path(d.scaled_object, "spec", "scaleTargetRef",
                                                      "name")), name);
        cr_assert_str_eq(d.so_name, so);
        mla_decision_fini(&d);
    }
}

/* The predictive-config text grows past its 4 KB stack array onto the heap (it reserves the
 * worst case of each string, 6 bytes a byte): a policy whose predictive query is 1,200
 * characters must come through whole. */
Test(so, predictive_config_longer_than_its_stack_buffer)
{
    static const char from[] = "query: 'sum(rate(jobs_total{queue=\"{{ queue }}\"}[5m]))'";
    const char *at = strstr(fx_policy, from);
    cr_assert_not_null(at, "the fixture's predictive query moved");
    char pad[1201];
    for (int i = 0; i < 1200; i++)
        pad[i] = (char)('a' + i % 26);
    pad[1200] = '\0';
    char text[sizeof fx_policy + 1300];
    snprintf(text, sizeof text, "%.*squery: 'sum(rate(jobs_total{queue=\"{{ queue }}\",x=\"%s\"}"
             "[5m]))'%s", (int)(at - fx_policy), fx_policy, pad, at + strlen(from));
    const char *names[] = {"fx.yaml"}, *texts[] = {text};
    struct mla_policy_set *ps = NULL;
    struct mla_err err;
    mla_err_clear(&err);
    cr_assert_eq(mla_policy_set_load_texts(names, texts, 1, &ps, NULL, &err), MLA_OK, "%s",
                 err.msg);
    cJSON *dep = fx_dep("etl", "jobs", WORKER, EN "\"ml-autoscaling.io/queue\":\"orders\"", NULL,
                        NULL);
    struct mla_decision d;
    fx_decide(ps, dep, NULL, MLA_OP_CREATE, "jobs", &d);
    cr_assert(d.allowed, "%s", d.message);
    const char *pc = cJSON_GetStringValue(
        fx_path(d.scaled_object, "metadata", "annotations", "ml-autoscaling.io/predictive-config"));
    cr_assert_not_null(pc);
    cJSON *p = cJSON_Parse(pc);
    cr_assert_not_null(p, "%s", pc);
    char want[1300];
    snprintf(want, sizeof want, "sum(rate(jobs_total{queue=\"orders\",x=\"%s\"}[5m]))", pad);
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(p, "query")), want);
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(p, "timezone")), "Europe/Berlin");
    cr_assert_eq(cJSON_GetObjectItem(p, "maxReplicas")->valueint, 30);
    cJSON_Delete(p);
    mla_decision_fini(&d);
    cJSON_Delete(dep);
    mla_policy_set_unref(ps);
}

/* The predictive-config members that depend on the settings alone are rendered once when the
 * set is compiled (mla_settings.pc_fixed); the annotation must be byte for byte what the
 * writer formats itself when they are absent, for whole, decimal, tiny and huge numbers, with
 * and without costs, and for every profile of the shipped policies. */
static void pc_same_for_every_profile(const struct mla_policy_set *ps)
{
    cJSON *dep = fx_dep("app", "ns", "\"app\":\"a\"", "\"ml-autoscaling.io/enabled\":\"true\"", NULL, NULL);
    size_t seen = 0;
    for (size_t i = 0; i < ps->n; i++) {
        const struct mla_policy *pol = &ps->pol[i];
        for (size_t j = 0; j < pol->nprof; j++) {
            const struct mla_profile *pr = &pol->prof[j];
            cr_assert_not_null(pr->s.pc_fixed[0], "%s/%s", pol->name, pr->name);
            cr_assert_not_null(pr->s.pc_fixed[1], "%s/%s", pol->name, pr->name);
            cr_assert_not_null(pr->s.pc_fixed[2], "%s/%s", pol->name, pr->name);
            struct mla_settings plain = pr->s;
            memset(plain.pc_fixed, 0, sizeof plain.pc_fixed);
            char *text[2];
            for (int k = 0; k < 2; k++) {
                struct mla_resolved r;
                memset(&r, 0, sizeof r);
                r.policy = pol;
                r.profile = pr;
                r.s = k ? &plain : &pr->s;
                r.name = "app";
                r.ns = "ns";
                for (int a = 0; a < MLA_ANN__COUNT; a++)
                    r.ann[a] = "7";
                snprintf(r.so_name, sizeof r.so_name, "app");
                snprintf(r.dep_label, sizeof r.dep_label, "app");
                r.min_replicas = pr->s.min_replicas;
                r.max_replicas = pr->s.max_replicas;
                r.polling = pr->s.polling;
                r.cooldown = pr->s.cooldown;
                r.predictive = true;
                r.timezone = pr->s.timezone;
                cJSON *so = NULL;
                struct mla_err err;
                mla_err_clear(&err);
                cr_assert_eq(mla_so_build(&r, dep, &so, &err), MLA_OK, "%s/%s: %s", pol->name,
                             pr->name, err.msg);
                const char *pc = cJSON_GetStringValue(fx_path(
                    so, "metadata", "annotations", "ml-autoscaling.io/predictive-config"));
                cr_assert_not_null(pc);
                text[k] = strdup(pc);
                cJSON_Delete(so);
            }
            cr_assert_str_eq(text[0], text[1], "%s/%s", pol->name, pr->name);
            free(text[0]);
            free(text[1]);
            seen++;
        }
    }
    cr_assert_gt(seen, 1);
    cJSON_Delete(dep);
}

Test(so, predictive_config_policy_parts_rendered_once_are_the_same_bytes)
{
    static const char odd[] =
        "apiVersion: ml-autoscaling.io/v1\n"
        "kind: PolicySet\n"
        "policies:\n"
        "  - name: odd\n"
        "    defaults:\n"
        "      triggers: [{type: cpu, threshold: 70}]\n"
        "    profiles:\n"
        "      plain: {}\n"
        "      costly:\n"
        "        predictive: {lookbackHours: 2160, stepSeconds: 10,\n"
        "                     horizonMinutes: 1440, scaleAheadMinutes: 0,\n"
        "                     confidenceThreshold: 0.123456789, quantile: 0.999999,\n"
        "                     anomalyThreshold: 0.0000001, hysteresisStep: 1000,\n"
        "                     scaleDownHoldMinutes: 0}\n"
        "        cost: {replicaHourlyCost: 123456.789, maxHourlyCost: 0.1}\n"
        "      halfcost:\n"
        "        predictive: {confidenceThreshold: 1, quantile: 0.5, anomalyThreshold: 99.999}\n"
        "        cost: {replicaHourlyCost: 0.3333333333333333}\n";
    const char *names[] = {"odd.yaml", "fx.yaml"}, *texts[] = {odd, fx_policy};
    struct mla_policy_set *ps = NULL;
    struct mla_err err;
    mla_err_clear(&err);
    cr_assert_eq(mla_policy_set_load_texts(names, texts, 2, &ps, NULL, &err), MLA_OK, "%s",
                 err.msg);
    pc_same_for_every_profile(ps);
    mla_policy_set_unref(ps);
    cr_assert_eq(mla_policy_set_load_dir("../policies", &ps, &err), MLA_OK, "%s", err.msg);
    pc_same_for_every_profile(ps);
    mla_policy_set_unref(ps);
}
