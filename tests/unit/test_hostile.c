/* test_hostile.c - issue 12: every annotation key x hostile values (empty, whitespace, huge
 * numbers, NaN/inf, negative, hex, non-ASCII, long strings, control characters, path-like zones,
 * impossible hours). Each answer is either allowed, or a denial that names the annotation and
 * says what is allowed, in a message a terminal can show safely (no control characters, valid
 * UTF-8, bounded), and the AdmissionReview response built from it is valid JSON. */
#include <criterion/criterion.h>
#include <stdint.h>

#include "mla/hours.h"
#include "mla/review.h"
#include "policy_fixture.h"

#define EN_TRUE "\"ml-autoscaling.io/enabled\":\"true\""

static const char *const keys[] = {
    "enabled", "profile", "min-replicas", "max-replicas", "scale-to-zero", "queue",
    "queue-length", "target-rps", "target-latency-ms", "target-gpu-utilization",
    "target-tokens-per-second", "cooldown-seconds", "polling-seconds", "predictive",
    "business-hours", "timezone", "capacity-per-replica", "skip-scaledobject",
    "scaledobject", "policy", "policy-hash", "no-such-key"};

static char long_a[20000], long_hours[30000];

static const char *const values[] = {
    "", " ", "\t", "  5  ", "5 ", " 5", "+5", "05", "99999999999999999999999", "1e308", "1e999",
    "-1e999", "NaN", "nan", "inf", "-inf", "Infinity", "-1", "-0", "0", "0x10", "0X1p3", "1e3",
    "1.5", ".5", "5.", "1,5", "\xd9\xa1\xd9\xa2" /* Arabic-Indic 12 */,
    "\xef\xbc\x95" /* fullwidth 5 */,
    "\xc3\xa9t\xc3\xa9", "\xff\xfe\xfd", "\xe2\x80\xae" "5" /* RTL override */, "5\n", "\n",
    "\x1b[31mred\x1b[0m", "a\x7f" "b", "a\x01" "b", "../../etc/passwd", "/etc/localtime",
    "Europe/../../etc/passwd", "Europe/Berlin/", "Europe//Berlin", ".", "..", "UTC ",
    "Nowhere/Invalid", "Europe/Berlin", "25:00", "Mon-Fri 25:00-26:00", "Mon-Fri 09:00-09:00",
    "Mon-Fri 24:00-24:00", "Mon-Fri 09:60-10:00", "Mon-Fri 9:00-18:00", ";", ";;;", " ; ",
    "Mon-Fri", "Mon-Fri 09:00-18:00 min=-1", "Mon-Fri 09:00-18:00 min=99999999999999",
    "Mon-Fri 09:00-18:00 min=", "Xyz 09:00-10:00", "Mon-Fri-Sat 09:00-10:00",
    "Mon-Fri 09:00-18:00", "daily 00:00-24:00", "true", "TRUE", "True", "false", "1", "yes",
    "{{ name }}", "\"", "'", "`", "\\", "a\"b", "%s%s%s%n", "${HOME}", long_a, long_hours};

static void check_text(const char *what, const char *s, size_t max)
{
    size_t n = strlen(s);
    cr_assert(n <= max, "%s: %zu bytes", what, n);
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n; i++) {
        cr_assert(p[i] >= 0x20 && p[i] != 0x7f, "%s: control character 0x%02x at %zu: %s", what,
                  p[i], i, s);
        if (p[i] < 0x80)
            continue;
        int len = p[i] >= 0xf0 ? 4 : p[i] >= 0xe0 ? 3 : p[i] >= 0xc2 ? 2 : 0;
        cr_assert(len && p[i] < 0xf5 && i + (size_t)len <= n, "%s: invalid UTF-8 at %zu: %s",
                  what, i, s);
        for (int k = 1; k < len; k++)
            cr_assert((p[i + (size_t)k] & 0xc0) == 0x80, "%s: invalid UTF-8 at %zu: %s", what,
                      i, s);
        /* no bidi controls: they reorder what the user reads */
        cr_assert(!(p[i] == 0xe2 && p[i + 1] == 0x80 && p[i + 2] >= 0xaa && p[i + 2] <= 0xae),
                  "%s: bidi control at %zu", what, i);
        i += (size_t)len - 1;
    }
}

static void one(struct mla_policy_set *ps, const char *key, const char *value, const char *ns)
{
    char full[128];
    snprintf(full, sizeof full, MLA_ANN_PREFIX "%s", key);
    cJSON *dep = fx_dep("web-app", ns, "\"tier\":\"worker\",\"env\":\"prod\",\"team\":\"a\"",
                        "", "3", NULL);
    cJSON *anns = cJSON_GetObjectItem(cJSON_GetObjectItem(dep, "metadata"), "annotations");
    if (strcmp(key, "enabled") != 0)
        cJSON_AddStringToObject(anns, MLA_ANN_PREFIX "enabled", "true");
    if (strcmp(ns, "batch") == 0 && strcmp(key, "queue") != 0)
        cJSON_AddStringToObject(anns, MLA_ANN_PREFIX "queue", "jobs"); /* the profile needs it */
    if (key[0])
        cJSON_AddStringToObject(anns, full, value);
    struct mla_review_request r = fx_req(dep, NULL, MLA_OP_CREATE, ns);
    struct mla_decision d;
    struct mla_err err;
    mla_err_clear(&err);
    enum mla_code rc = mla_decide(ps, &r, &d, &err);
    char shown[80];
    snprintf(shown, sizeof shown, "%.60s", value);
    if (!key[0])
        cr_assert(d.allowed && d.patch, "the base Deployment in %s is denied: %s", ns, d.message);
    cr_assert(rc == MLA_OK || !d.allowed, "%s=\"%s\": decide failed without a denial: %s", key,
              shown, err.msg);
    if (!d.allowed) {
        cr_assert(strstr(d.message, full), "%s=\"%s\": the denial does not name %s: %s", key,
                  shown, full, d.message);
        cr_assert(strstr(d.message, "allowed"), "%s=\"%s\": the denial does not say what is "
                  "allowed: %s", key, shown, d.message);
        cr_assert(d.code == 400 || d.code == 403, "%s: code %d", key, d.code);
    }
    check_text("message", d.message, 1023);
    for (const cJSON *w = d.warnings ? d.warnings->child : NULL; w; w = w->next)
        check_text("warning", w->valuestring, 2048);
    /* the response the webhook would send is valid JSON */
    struct mla_buf out;
    mla_buf_init(&out, 1 << 22);
    cr_assert_eq(mla_review_encode("u1", &d, &out, NULL), MLA_OK);
    cJSON *back = cJSON_ParseWithLength(out.data, out.len);
    cr_assert_not_null(back, "%s=\"%s\": response is not JSON", key, shown);
    cJSON_Delete(back);
    mla_buf_fini(&out);
    mla_decision_fini(&d);
    cJSON_Delete(dep);
}

Test(hostile, every_annotation_times_every_hostile_value)
{
    memset(long_a, 'A', sizeof long_a - 1);
    size_t n = 0;
    while (n + 17 < sizeof long_hours) {
        memcpy(long_hours + n, "Mon 09:00-10:00;", 16);
        n += 16;
    }
    long_hours[n] = '\0';
    struct mla_policy_set *ps = fx_load();
    one(ps, "", "", "shop");
    one(ps, "", "", "batch");
    size_t cases = 0;
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++)
        for (size_t v = 0; v < sizeof values / sizeof *values; v++) {
            one(ps, keys[k], values[v], "shop");   /* policy web: cpu trigger, no queue */
            one(ps, keys[k], values[v], "batch");  /* policy workers: queue, business hours */
            cases += 2;
        }
    cr_log_info("%zu cases", cases);
    mla_policy_set_unref(ps);
}

static void expect(struct mla_policy_set *ps, const char *key, const char *value, bool allowed,
                   const char *needle)
{
    char full[128];
    snprintf(full, sizeof full, MLA_ANN_PREFIX "%s", key);
    cJSON *dep = fx_dep("web-app", "shop", "", EN_TRUE, "3", NULL);
    cJSON *anns = cJSON_GetObjectItem(cJSON_GetObjectItem(dep, "metadata"), "annotations");
    cJSON_AddStringToObject(anns, full, value);
    struct mla_decision d;
    fx_decide(ps, dep, NULL, MLA_OP_CREATE, "shop", &d);
    cr_assert_eq(d.allowed, allowed, "%s=%.40s: %s", key, value, d.message);
    if (needle)
        cr_assert(strstr(d.message, needle), "%s=%.40s: %s", key, value, d.message);
    mla_decision_fini(&d);
    cJSON_Delete(dep);
}

Test(hostile, what_is_allowed_and_what_the_denial_says)
{
    struct mla_policy_set *ps = fx_load();
    expect(ps, "max-replicas", "99999999999999999999999", false,
           "max-replicas: \"99999999999999999999999\" is not valid; allowed: an integer from 1 "
           "to 10000");
    expect(ps, "min-replicas", "-1", false, "allowed: an integer from 0 to 10000");
    expect(ps, "min-replicas", "0x10", false, "allowed: an integer");
    expect(ps, "target-rps", "0x10", false, "target-rps: \"0x10\" is not a number");
    expect(ps, "target-rps", "NaN", false, "allowed: a number greater than 0");
    expect(ps, "target-rps", "inf", false, "allowed: a number greater than 0");
    expect(ps, "target-rps", "1e3", true, NULL);
    expect(ps, "timezone", "../../etc/passwd", false, "timezone: \"../../etc/passwd\" is not a "
           "known time zone; allowed: an IANA time zone name");
    expect(ps, "timezone", "Nowhere/Invalid", false, "is not a known time zone");
    expect(ps, "business-hours", "Mon-Fri 25:00-26:00", false, "business-hours: \"Mon-Fri "
           "25:00-26:00\" is not valid");
    expect(ps, "business-hours", "Mon-Fri 09:00-09:00", false, "is empty");
    expect(ps, "business-hours", "Mon-Fri 09:00-18:00", true, NULL);
    /* control characters and escape sequences are shown escaped, long values cut */
    expect(ps, "profile", "\x1b[31mred", false, "unknown profile \"\\x1b[31mred\"");
    char big[5000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    expect(ps, "profile", big, false, "...(4999 bytes)");
    mla_policy_set_unref(ps);
}

/* Bounded work: each injected request is a patch op; past 64 containers without a request the
 * Deployment is denied with what to set, and warnings stop at 8 plus one summary. */
static cJSON *dep_with_containers(int n)
{
    cJSON *dep = fx_dep("web-app", "shop", "", EN_TRUE, "3", "[]");
    cJSON *ctrs = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(
                      cJSON_GetObjectItem(dep, "spec"), "template"), "spec"), "containers");
    for (int i = 0; i < n; i++) {
        cJSON *c = cJSON_CreateObject();
        char name[32];
        snprintf(name, sizeof name, "c%d", i);
        cJSON_AddStringToObject(c, "name", name);
        cJSON_AddItemToArray(ctrs, c);
    }
    return dep;
}

Test(hostile, containers_without_requests_are_bounded)
{
    struct mla_policy_set *ps = fx_load();
    cJSON *dep = dep_with_containers(64);
    struct mla_decision d;
    fx_decide(ps, dep, NULL, MLA_OP_CREATE, "shop", &d);
    cr_assert(d.allowed, "%s", d.message);
    cr_assert(fx_has_warning(&d, "container 'c7' had no cpu request"));
    cr_assert_not(fx_has_warning(&d, "container 'c8' had no cpu request"));
    cr_assert(fx_has_warning(&d, "56 more containers had no cpu request; injected the policy "
                                 "default 200m into each"));
    cr_assert_eq(cJSON_GetArraySize(d.patch), 4 + 64);
    mla_decision_fini(&d);
    cJSON_Delete(dep);
    dep = dep_with_containers(5000);
    fx_decide(ps, dep, NULL, MLA_OP_CREATE, "shop", &d);
    cr_assert_not(d.allowed);
    cr_assert(strstr(d.message, "5000 containers have no cpu request") &&
                  strstr(d.message, "allowed: set resources.requests.cpu"), "%s", d.message);
    cr_assert_null(d.patch);
    mla_decision_fini(&d);
    cJSON_Delete(dep);
    mla_policy_set_unref(ps);
}

/* The zones travel with the policy set: after the default zone database is reloaded from an
 * empty directory, a request on the old set still resolves Europe/Berlin (no file is read),
 * and a set loaded afterwards knows only UTC. */
Test(hostile, zones_travel_with_the_policy_set)
{
    struct mla_policy_set *ps = fx_load();
    setenv("TZDIR", "/nonexistent-zoneinfo", 1);
    struct mla_err e;
    cr_assert_eq(mla_hours_db_reload(&e), MLA_OK);
    expect(ps, "timezone", "Europe/Berlin", true, NULL);
    cJSON *dep = fx_dep("web-app", "shop", "", EN_TRUE ",\"ml-autoscaling.io/business-hours\":"
                        "\"Mon-Fri 09:00-18:00\",\"ml-autoscaling.io/timezone\":"
                        "\"America/New_York\"", "3", NULL);
    struct mla_decision d;
    fx_decide(ps, dep, NULL, MLA_OP_CREATE, "shop", &d);
    cr_assert(d.allowed, "%s", d.message);
    mla_decision_fini(&d);
    cJSON_Delete(dep);
    mla_policy_set_unref(ps);
    const char *names[] = {"fx.yaml"}, *texts[] = {fx_policy};
    ps = NULL;
    cr_assert_eq(mla_policy_set_load_texts(names, texts, 1, &ps, NULL, &e), MLA_EPOLICY);
    cr_assert(strstr(e.msg, "'Europe/Berlin' is not a known IANA time zone"), "%s", e.msg);
    unsetenv("TZDIR");
    mla_hours_cache_clear();
}
