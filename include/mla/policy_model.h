/* policy_model.h - the compiled policy set: what the loader builds from the admin's files and
 * what mla_decide() reads on the hot path (no jansson, no parsing per request).
 *
 * Everything here is immutable after mla_policy_set_load_dir() returns and lives as long as the
 * set (arena-allocated; cJSON members are owned by the set). Readers only.
 * Threading: immutable, any thread while holding a reference to the set.
 */
#ifndef MLA_POLICY_MODEL_H
#define MLA_POLICY_MODEL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "mla/buf.h"
#include "mla/policy.h"

#define MLA_ANN_PREFIX "ml-autoscaling.io/"

/* The annotation table of PRODUCT.md, plus the keys the product itself writes. */
enum mla_ann {
    MLA_ANN_ENABLED = 0,
    MLA_ANN_PROFILE,
    MLA_ANN_MIN_REPLICAS,
    MLA_ANN_MAX_REPLICAS,
    MLA_ANN_SCALE_TO_ZERO,
    MLA_ANN_QUEUE,
    MLA_ANN_QUEUE_LENGTH,
    MLA_ANN_TARGET_RPS,
    MLA_ANN_TARGET_LATENCY_MS,
    MLA_ANN_TARGET_GPU,
    MLA_ANN_TARGET_TPS,
    MLA_ANN_COOLDOWN,
    MLA_ANN_POLLING,
    MLA_ANN_PREDICTIVE,
    MLA_ANN_BUSINESS_HOURS,
    MLA_ANN_TIMEZONE,
    MLA_ANN_CAPACITY,
    MLA_ANN_SKIP_SO,
    MLA_ANN_USER_COUNT,   /* the keys above are the user's; the ones below the product's */
    MLA_ANN_SCALEDOBJECT = MLA_ANN_USER_COUNT, /* written by the product */
    MLA_ANN_POLICY,       /* written by the product */
    MLA_ANN_POLICY_HASH,  /* written by the product */
    MLA_ANN_SCALEDJOB,    /* written by the product, on a Job template (scaledjob.h) */
    MLA_ANN__COUNT
};

/* "min-replicas" etc. (without the prefix); NULL outside the table. */
const char *mla_ann_key(enum mla_ann a);
/* The index of a key without the prefix, or -1. */
int mla_ann_lookup(const char *key);
/* The keys a user may set, ", "-joined ("enabled, profile, ..."), into out (n bytes, always
 * terminated); returns the length written. */
size_t mla_ann_user_keys(char *out, size_t n);

/* What the API side does with an HPA that targets an opted-in Deployment (policy hpa.mode). */
enum mla_hpa_mode { MLA_HPA_DELETE = 0, MLA_HPA_TRANSFER, MLA_HPA_REJECT };

/* What admission does about a VerticalPodAutoscaler that fights cpu/memory triggers (vpa.h):
 * policy `vpa`. */
enum mla_vpa_mode { MLA_VPA_WARN = 0, MLA_VPA_DENY, MLA_VPA_IGNORE };

/* A compiled template: literal text and variables, each variable with how its value is made
 * safe where it stands (decided once at load time by scanning the PromQL around it). */
enum mla_tpl_esc {
    MLA_ESC_PLAIN = 0, /* not PromQL: the value as is, control characters refused */
    MLA_ESC_DQ,        /* inside a PromQL "..." string */
    MLA_ESC_SQ,        /* inside a PromQL '...' string */
    MLA_ESC_RAW,       /* inside a PromQL `...` raw string: a backtick cannot be placed */
    MLA_ESC_NUMBER,    /* outside any string: only a number can be placed */
};
#define MLA_VAR_NAME (-2)
#define MLA_VAR_NAMESPACE (-3)
struct mla_tpl_seg {
    const char *lit; /* literal text before the variable (may be "") */
    size_t lit_len;
    int var;         /* enum mla_ann, MLA_VAR_NAME, MLA_VAR_NAMESPACE, or -1 (end) */
    enum mla_tpl_esc esc;
    bool regex;      /* the string is a =~ / !~ matcher: regex metacharacters are quoted too */
};
struct mla_tpl {
    const char *src; /* the template as written */
    size_t nseg;
    struct mla_tpl_seg *seg;
};

/* Appends t expanded for one Deployment: name, namespace, and annotation values by enum
 * mla_ann (ann[i] NULL when absent). MLA_EDENIED with a message naming the annotation when a
 * value is missing or cannot be placed safely (control characters, a backtick in a raw string,
 * a non-number outside a string). */
enum mla_code mla_tpl_expand(const struct mla_tpl *t, const char *name, const char *ns,
                             const char *const *ann, struct mla_buf *out, struct mla_err *err)
    MLA_MUST_CHECK;

enum mla_trig_type { MLA_TRIG_CPU, MLA_TRIG_MEMORY, MLA_TRIG_PROMETHEUS, MLA_TRIG_RABBITMQ,
                     MLA_TRIG_CRON };
const char *mla_trig_type_name(enum mla_trig_type t);

struct mla_meta_tpl {
    const char *key;
    struct mla_tpl *tpl;
};

struct mla_trigger_tpl {
    enum mla_trig_type type;
    const char *name;        /* KEDA trigger name, NULL when unset */
    int metric_ann;          /* the annotation that sets its target (enum mla_ann) or -1 */
    const char *metric;      /* "rps", "latency-ms", ... as written, NULL when unset */
    bool enabled;            /* false: only when its annotation is set */
    const char *metric_type; /* "AverageValue", "Value", "Utilization" or NULL */
    bool has_threshold;
    double threshold;
    bool has_activation;
    double activation;
    const char *auth_name;   /* authenticationRef.name or NULL */
    const char *auth_kind;   /* "TriggerAuthentication" / "ClusterTriggerAuthentication" or NULL */
    size_t nmeta;
    struct mla_meta_tpl *meta;
};

struct mla_range {
    int min, max;
};

struct mla_hpa_rule {
    bool percent; /* type Percent, else Pods */
    int value, period;
};
struct mla_scale_rules {
    bool set;
    bool has_stab;
    int stabilization;
    const char *select_policy; /* NULL, "Max", "Min", "Disabled" */
    size_t npol;
    struct mla_hpa_rule *pol;
};

struct mla_window {
    const char *days;  /* "Mon-Fri" */
    const char *start; /* "09:00" */
    const char *end;   /* "18:00" */
    int min_replicas;
};

enum mla_missing_req { MLA_REQ_INJECT = 0, MLA_REQ_DENY };

/* KEDA ScaledJob scalingStrategy.strategy (policy scaledJob.scalingStrategy). */
enum mla_sj_strategy { MLA_SJ_DEFAULT = 0, MLA_SJ_CUSTOM, MLA_SJ_ACCURATE, MLA_SJ_EAGER };

/* The ScaledJob a Job template gets (policy `scaledJob`; scaledjob.h). -1: not written, KEDA's
 * default applies. */
struct mla_sj_settings {
    int successful_history, failed_history;
    enum mla_sj_strategy strategy;
    int custom_deduction;          /* customScalingQueueLengthDeduction, -1: unset */
    const char *custom_running;    /* customScalingRunningJobPercentage ("0.5"), NULL: unset */
};

struct mla_settings {
    int min_replicas, max_replicas, polling, cooldown;
    struct mla_range b_replicas, b_polling, b_cooldown;
    bool s2z_allowed;
    bool s2z_idle;    /* scale to zero through idleReplicaCount 0, keeping minReplicaCount */
    int idle_seconds; /* cooldown when scaled to zero; 0: the cooldown */
    bool fallback;
    int fb_failures, fb_replicas;
    struct mla_scale_rules up, down;
    size_t ntrig;
    const struct mla_trigger_tpl *trig;
    enum mla_hpa_mode hpa_mode;
    enum mla_vpa_mode vpa_mode;
    struct {
        bool enabled;
        struct mla_tpl *query; /* NULL when unset */
        int lookback_h, step_s, horizon_min, ahead_min, hyst_step, hold_min;
        double conf, quantile, anomaly;
        bool has_capacity;
        double capacity;
    } pred;
    size_t nwin;
    const struct mla_window *win;
    const char *timezone; /* NULL: UTC */
    int bh_min_replicas;  /* floor for windows given by annotation; 0: max(minReplicas, 1) */
    int night_max;        /* -1: none */
    bool has_cost, has_max_cost;
    double replica_cost, max_cost;
    const char *req_cpu, *req_mem; /* default requests, NULL when none */
    enum mla_missing_req missing_requests;
    bool spot;
    const cJSON *spot_affinity;    /* a preferredDuringScheduling term, NULL when none */
    const cJSON *spot_tolerations; /* array, NULL when none */
    struct mla_sj_settings sj;
    /* The predictive-config annotation's members that depend on these settings alone, as
     * its writer (admission/scaledobject.c) would write them, rendered once when the set is
     * compiled instead of on every admission: [0] ,"lookbackHours":..."anomalyThreshold":x,
     * [1] ,"replicaHourlyCost":x,"maxHourlyCost":y, [2] ,"hysteresisStep":x,
     * "scaleDownHoldMinutes":y. Borrowed from the set's arena; NULL when not rendered
     * (settings built outside the compiler), then the writer formats them itself. */
    const char *pc_fixed[3];
};

struct mla_profile {
    const char *name;
    struct mla_settings s;
};

enum mla_sel_op { MLA_SEL_IN, MLA_SEL_NOTIN, MLA_SEL_EXISTS, MLA_SEL_DOESNOTEXIST };
struct mla_sel_req {
    const char *key;
    enum mla_sel_op op;
    size_t nval;
    const char **val;
};

struct mla_policy {
    const char *name;
    const char *file; /* base name of the file it came from */
    int priority;
    size_t order;     /* position in the load order (file name, then index) */
    char hash[32];    /* "sha256:<hex16>" of the policy's canonical JSON */
    size_t nns, nexcl;
    const char **ns, **excl; /* fnmatch(3) globs; nns == 0 matches every namespace */
    size_t nsel;      /* matchLabels become In with one value */
    const struct mla_sel_req *sel;
    size_t nprof;
    const struct mla_profile *prof;
    const struct mla_profile *default_profile;
};

/* The policies in precedence order: priority (high first), then file name, then position in
 * the file. Borrowed from the set. */
const struct mla_policy *mla_policy_set_policies(const struct mla_policy_set *ps, size_t *n);

/* The zones the set was validated against (hours.h); borrowed from the set, which holds a
 * reference: the request path resolves time zones here (no I/O in serve, no global lock). */
struct mla_tzdb;
struct mla_tzdb *mla_policy_set_tzdb(const struct mla_policy_set *ps);

/* Matching (match.c). `labels` is the Deployment's metadata.labels (may be NULL). */
bool mla_policy_matches(const struct mla_policy *p, const char *ns, const cJSON *labels);
/* The profile named `name` in p, or NULL. */
const struct mla_profile *mla_policy_profile(const struct mla_policy *p, const char *name);

#endif
