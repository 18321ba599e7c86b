/* policy/model.c - the names of the policy model's enums (policy_model.h): the annotation keys
 * and the trigger types. One table, so that the template compiler, the resolution and the
 * denial messages can never disagree on the allowed keys.
 */
#include <stdio.h>
#include <string.h>

#include "mla/policy_model.h"

static const char *const ann_keys[MLA_ANN__COUNT] = {
    [MLA_ANN_ENABLED] = "enabled",
    [MLA_ANN_PROFILE] = "profile",
    [MLA_ANN_MIN_REPLICAS] = "min-replicas",
    [MLA_ANN_MAX_REPLICAS] = "max-replicas",
    [MLA_ANN_SCALE_TO_ZERO] = "scale-to-zero",
    [MLA_ANN_QUEUE] = "queue",
    [MLA_ANN_QUEUE_LENGTH] = "queue-length",
    [MLA_ANN_TARGET_RPS] = "target-rps",
    [MLA_ANN_TARGET_LATENCY_MS] = "target-latency-ms",
    [MLA_ANN_TARGET_GPU] = "target-gpu-utilization",
    [MLA_ANN_TARGET_TPS] = "target-tokens-per-second",
    [MLA_ANN_COOLDOWN] = "cooldown-seconds",
    [MLA_ANN_POLLING] = "polling-seconds",
    [MLA_ANN_PREDICTIVE] = "predictive",
    [MLA_ANN_BUSINESS_HOURS] = "business-hours",
    [MLA_ANN_TIMEZONE] = "timezone",
    [MLA_ANN_CAPACITY] = "capacity-per-replica",
    [MLA_ANN_SKIP_SO] = "skip-scaledobject",
    [MLA_ANN_SCALEDOBJECT] = "scaledobject",
    [MLA_ANN_POLICY] = "policy",
    [MLA_ANN_POLICY_HASH] = "policy-hash",
    [MLA_ANN_SCALEDJOB] = "scaledjob",
};

const char *mla_ann_key(enum mla_ann a)
{
    return (unsigned)a < MLA_ANN__COUNT ? ann_keys[a] : NULL;
}

int mla_ann_lookup(const char *key)
{
    for (int i = 0; i < MLA_ANN__COUNT; i++)
        if (key[0] == ann_keys[i][0] && !strcmp(key, ann_keys[i])) /* first bytes first */
            return i;
    return -1;
}

size_t mla_ann_user_keys(char *out, size_t n)
{
    size_t len = 0;
    if (n)
        out[0] = '\0';
    for (int i = 0; i < MLA_ANN_USER_COUNT; i++) {
        int w = snprintf(out + len, n - len, "%s%s", i ? ", " : "", ann_keys[i]);
        if (w < 0 || (size_t)w >= n - len)
            break;
        len += (size_t)w;
    }
    return len;
}

const char *mla_trig_type_name(enum mla_trig_type t)
{
    switch (t) {
    case MLA_TRIG_CPU: return "cpu";
    case MLA_TRIG_MEMORY: return "memory";
    case MLA_TRIG_PROMETHEUS: return "prometheus";
    case MLA_TRIG_RABBITMQ: return "rabbitmq";
    case MLA_TRIG_CRON: return "cron";
    }
    return "?";
}
