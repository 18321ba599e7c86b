/* test_review_skim.c - the AdmissionReview skim accepts exactly what cJSON accepts (a
 * differential test over generated and mutated bodies), cuts only the values nothing reads
 * (review_skim.h), and decode answers the same with and without the cuts. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mla/review.h"
#include "mla/review_skim.h"
#include "../support/review_skim_oracle.h"

static long sk_checked, sk_accepted;

static void sk_check(const char *b, size_t n)
{
    if (!sup_skim_precondition(b, n))
        return;
    struct mla_review_cuts c;
    bool got = mla_review_skim(b, n, MLA_REVIEW_MAX_DEPTH, &c);
    bool want = sup_skim_oracle(b, n);
    sk_checked++;
    if (got != want) {
        FILE *f = fopen("review_skim_mismatch.bin", "wb");
        if (f) {
            fwrite(b, 1, n, f);
            fclose(f);
        }
    }
    cr_assert_eq(got, want, "skim %s but cJSON %s a %zu-byte body (written to "
                 "tests/review_skim_mismatch.bin): %.*s", got ? "accepts" : "refuses",
                 want ? "accepts" : "refuses", n, (int)(n < 300 ? n : 300), b);
    if (!got)
        return;
    sk_accepted++;
    for (size_t i = 0; i < c.n; i++)
        cr_assert(c.cut[i].from < c.cut[i].to && c.cut[i].to <= n);
    cJSON *t = sup_skim_parse_cut(b, n, &c);
    cr_assert_not_null(t, "the cut copy of an accepted body must parse: %.*s", (int)n, b);
    /* decode's tree, built from the body without the copy, is cJSON's tree of the copy */
    cJSON *mine = mla_review_skim_tree(b, n, &c);
    cr_assert(sup_tree_same(mine, t), "mla_review_skim_tree differs from cJSON on a %zu-byte "
              "body: %.*s", n, (int)(n < 300 ? n : 300), b);
    cJSON_Delete(mine);
    cJSON_Delete(t);
}

/* ---- inputs ---- */

static unsigned long long sk_rng = 0x9E3779B97F4A7C15ull;
static unsigned sk_rand(unsigned n)
{
    sk_rng ^= sk_rng << 13;
    sk_rng ^= sk_rng >> 7;
    sk_rng ^= sk_rng << 17;
    return (unsigned)(sk_rng % n);
}

static char *sk_slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    static char buf[1 << 16];
    *n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    char *s = malloc(*n + 1);
    memcpy(s, buf, *n);
    s[*n] = '\0';
    return s;
}

/* Fragments that sit on cJSON's edges: numbers strtod reads partly or not at all, escapes,
 * surrogates, raw control bytes, truncated literals, whitespace cJSON counts (any byte <= 32). */
static const char *const sk_atoms[] = {
    "0", "-0", "01", "-", "1.", ".5", "-.5", "1e", "1e+", "1e5", "1E-3", "1.5e3", "+1", "1.2.3",
    "--1", "1-", "0x1F", "1e999", "-1e-999", "123456789012345678901234567890123456789012345678901"
    "234567890123", "1234567890123456789012345678901234567890123456789012345678901234567",
    "1.00000000000000000000000000000000000000000000000000000000000000000005",
    /* the tree builder's integer path: 15 digits (its limit), 16, int limits, leading zeros */
    "999999999999999", "-999999999999999", "9999999999999999", "9007199254740993",
    "2147483647", "2147483648", "-2147483648", "-2147483649", "000000000000007",
    "0000000000000000000001", "-00", "1-2", "12e", "7.", "-",
    "\"\"", "\"a\"", "\"\\\"\"", "\"\\\\\"", "\"\\/\"", "\"\\b\\f\\n\\r\\t\"", "\"\\x\"",
    "\"\\u0041\"", "\"\\u00e9\"", "\"\\uZZZZ\"", "\"\\u12\"", "\"\\u123\"", "\"\\uD83D\\uDE00\"",
    "\"\\uD83D\"", "\"\\uDE00\"", "\"\\uD83Dx\\uDE00\"", "\"\\uD83D\\u0041\"", "\"\\uD83D\\uZZZZ\"",
    "\"\\u\\\"xx\"", "\"\\u123\\\\\"", "\"\x01\x1f\"", "\"\xff\xfe\"", "\"tab\there\"",
    "\"a\\", "\"\\\\\\\"", "true", "false", "null", "nul", "tru", "fals", "nulll", "True",
    "[]", "{}", "[1,]", "{\"a\":1,}", "[,1]", "{,}", "{\"a\"}", "{\"a\":}", "{1:2}", "[1 2]",
    "{\"a\" : 1 , \"b\" :[ ] }", "[\x01]", "[\x7f]", "[ ]", "{ }", "\"\"",
};

static void sk_emit(char *out, size_t cap, size_t *n, const char *s, size_t k)
{
    if (*n + k <= cap) {
        memcpy(out + *n, s, k);
        *n += k;
    }
}

/* A random value, mostly valid, sometimes not; depth-bounded. */
static void sk_gen(char *out, size_t cap, size_t *n, int depth)
{
    static const char ws[] = {' ', '\t', '\n', '\r', '\0', '\x01', '\x1f', ' '};
    if (sk_rand(8) == 0)
        sk_emit(out, cap, n, &ws[sk_rand(sizeof ws)], 1);
    unsigned r = depth > 6 ? 2 + sk_rand(3) : sk_rand(6);
    if (r == 0 || r == 1) {
        bool obj = r == 0;
        sk_emit(out, cap, n, obj ? "{" : "[", 1);
        unsigned k = sk_rand(4);
        static const char *const keys[] = {"\"managedFields\"", "\"status\"", "\"metadata\"",
                                           "\"object\"", "\"request\"", "\"a\"", "\"\\u0061\""};
        for (unsigned i = 0; i < k; i++) {
            if (i)
                sk_emit(out, cap, n, ",", sk_rand(30) ? 1 : 0);
            if (obj) {
                const char *key = keys[sk_rand(sizeof keys / sizeof keys[0])];
                sk_emit(out, cap, n, key, strlen(key));
                sk_emit(out, cap, n, ":", sk_rand(30) ? 1 : 0);
            }
            sk_gen(out, cap, n, depth + 1);
        }
        if (sk_rand(30) == 0)
            sk_emit(out, cap, n, ",", 1);
        sk_emit(out, cap, n, obj ? "}" : "]", sk_rand(40) ? 1 : 0);
    } else {
        const char *a = sk_atoms[sk_rand(sizeof sk_atoms / sizeof sk_atoms[0])];
        sk_emit(out, cap, n, a, strlen(a));
    }
    if (sk_rand(8) == 0)
        sk_emit(out, cap, n, &ws[sk_rand(sizeof ws)], 1);
}

static void sk_mutate(char *b, size_t *n, size_t cap)
{
    static const char alpha[] = "{}[]\",:\\ \t\n\r0123456789eE.+-tfnulr/bxU\x01\x1f\x7f\xff";
    unsigned k = 1 + sk_rand(3);
    for (unsigned j = 0; j < k && *n > 0; j++) {
        size_t at = sk_rand((unsigned)*n);
        switch (sk_rand(5)) {
        case 0: /* overwrite */
            b[at] = sk_rand(20) ? alpha[sk_rand(sizeof alpha - 1)] : '\0';
            break;
        case 1: /* insert */
            if (*n < cap) {
                memmove(b + at + 1, b + at, *n - at);
                b[at] = alpha[sk_rand(sizeof alpha - 1)];
                (*n)++;
            }
            break;
        case 2: /* delete */
            memmove(b + at, b + at + 1, *n - at - 1);
            (*n)--;
            break;
        case 3: /* truncate */
            *n = at + (sk_rand(4) ? sk_rand((unsigned)(*n - at)) : 0);
            break;
        default: { /* splice an atom */
            const char *a = sk_atoms[sk_rand(sizeof sk_atoms / sizeof sk_atoms[0])];
            size_t al = strlen(a);
            if (*n + al <= cap) {
                memmove(b + at + al, b + at, *n - at);
                memcpy(b + at, a, al);
                *n += al;
            }
        }
        }
    }
}

#define SK_CAP 8192

Test(review_skim, accepts_exactly_what_cjson_accepts_on_mutated_reviews)
{
    const char *seeds[] = {"../bench/review-optedin.json", "../bench/review-plain.json"};
    char *b = malloc(SK_CAP);
    for (size_t s = 0; s < 2; s++) {
        size_t n0;
        char *seed = sk_slurp(seeds[s], &n0);
        sk_check(seed, n0);
        for (int i = 0; i < 30000; i++) {
            size_t n = n0;
            memcpy(b, seed, n0);
            sk_mutate(b, &n, SK_CAP);
            sk_check(b, n);
        }
        free(seed);
    }
    free(b);
    cr_assert_gt(sk_accepted, 2000, "mutations should leave many bodies valid (%ld of %ld)",
                 sk_accepted, sk_checked);
}

Test(review_skim, accepts_exactly_what_cjson_accepts_on_generated_bodies)
{
    char *b = malloc(SK_CAP);
    for (int i = 0; i < 60000; i++) {
        size_t n = 0;
        /* the generated value sits where the skim cuts, and elsewhere */
        bool mf = sk_rand(4) != 0;
        const char *pre = mf ? "{\"request\":{\"object\":{\"metadata\":{\"managedFields\":"
                             : "{\"request\":{\"oldObject\":{\"status\":";
        sk_emit(b, SK_CAP, &n, pre, strlen(pre));
        sk_gen(b, SK_CAP, &n, 0);
        const char *post = mf ? ",\"name\":\"x\"}},\"uid\":\"u\"}}" : "}}}";
        sk_emit(b, SK_CAP, &n, post, strlen(post));
        sk_check(b, n);
        if (sk_rand(3) == 0) {
            sk_mutate(b, &n, SK_CAP);
            sk_check(b, n);
        }
    }
    free(b);
    cr_assert_gt(sk_accepted, 10000, "generation should make many valid bodies (%ld of %ld)",
                 sk_accepted, sk_checked);
}

Test(review_skim, edge_cases_match_cjson)
{
    static const char *const bodies[] = {
        "{}", "{} ", "{}\n\t\r ", "{}x", "{}\x01", "{} {}", "  {}", "{\"a\":1}",
        "{\"a\":\x01" "1}", "{\"a\":[1,2,]}", "{\"a\":\"\\uD800\\uDC00\"}", "{\"a\":\"\\uDC00\"}",
        "{\"a\":\"\\uZZZZ\"}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":-}", "{\"a\":.5}",
        "{\"a\":1e}", "{\"a\":\"x\\q\"}", "{\"a\":\"unterminated}", "{\"a\":tru}",
        "{\"a\":123456789012345678901234567890123456789012345678901234567890123}",
        "{\"a\":1234567890123456789012345678901234567890123456789012345678901234}",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++)
        sk_check(bodies[i], strlen(bodies[i]));
    /* NUL bytes: whitespace to cJSON between tokens, allowed after the object by decode */
    sk_check("{\"a\":\0" "1}", 7);
    sk_check("{\"a\":1}\0\0", 9);
    sk_check("{\"a\":\"x\0y\"}", 11);
    /* deeper than MLA_REVIEW_MAX_DEPTH: refused by both */
    char deep[600];
    size_t n = 0;
    deep[n++] = '{';
    deep[n++] = '"';
    deep[n++] = 'a';
    deep[n++] = '"';
    deep[n++] = ':';
    for (int i = 0; i < 140; i++)
        deep[n++] = '[';
    for (int i = 0; i < 140; i++)
        deep[n++] = ']';
    deep[n++] = '}';
    sk_check(deep, n);
    struct mla_review_cuts c;
    cr_assert_not(mla_review_skim(deep, n, MLA_REVIEW_MAX_DEPTH, &c));
}

/* The 16-byte scans (a string's end in the tree builder, a key's backslash or NUL byte for
 * fact_unsure) meet the escape at every offset, in keys and strings of 0 to 40 bytes, with the
 * 16 bytes after it inside the body or not; the tree is cJSON's and fact_unsure is set exactly
 * when a key on the facts' path holds a backslash or a NUL byte. */
Test(review_skim, keys_and_strings_of_every_length_with_an_escape_at_every_offset)
{
    static const char *const escs[] = {"\\n", "\\\"", "\\\\", "\\u0041", "\\uD83D\\uDE00", "\\/",
                                       "\\u00e9", "\\t"};
    static const char *const shapes[] = {"{\"request\":{\"%s\":\"%s\",\"uid\":\"u\"},\"k\":1}",
                                         "{\"request\":{\"uid\":\"u\",\"%s\":\"%s\"}}"};
    char key[64], body[256];
    long unsure = 0, sure = 0;
    for (size_t len = 0; len <= 40; len++) {
        for (size_t sh = 0; sh < 2; sh++) {
            /* no escape: sure */
            memset(key, 'k', len);
            key[len] = '\0';
            int n = snprintf(body, sizeof body, shapes[sh], key, key);
            sk_check(body, (size_t)n);
            struct mla_review_cuts c;
            cr_assert(mla_review_skim(body, (size_t)n, MLA_REVIEW_MAX_DEPTH, &c));
            cr_assert_not(c.fact_unsure, "%s", body);
            sure++;
            for (size_t at = 0; at <= len; at++) {
                for (size_t e = 0; e < sizeof escs / sizeof escs[0]; e++) {
                    size_t el = strlen(escs[e]);
                    memset(key, 'k', at);
                    memcpy(key + at, escs[e], el);
                    memset(key + at + el, 'k', len - at);
                    key[len + el] = '\0';
                    n = snprintf(body, sizeof body, shapes[sh], key, key);
                    sk_check(body, (size_t)n);
                    cr_assert(mla_review_skim(body, (size_t)n, MLA_REVIEW_MAX_DEPTH, &c));
                    cr_assert(c.fact_unsure, "%s", body);
                    unsure++;
                }
                /* a raw NUL byte in the key (and the string) */
                memset(key, 'k', len + 1);
                key[at] = 'Z';
                key[len + 1] = '\0';
                n = snprintf(body, sizeof body, shapes[sh], key, key);
                for (int i = 0; i < n; i++)
                    if (body[i] == 'Z')
                        body[i] = '\0';
                sk_check(body, (size_t)n);
                cr_assert(mla_review_skim(body, (size_t)n, MLA_REVIEW_MAX_DEPTH, &c));
                cr_assert(c.fact_unsure, "NUL at %zu of a %zu-byte key", at, len + 1);
                unsure++;
            }
        }
    }
    cr_assert_gt(unsure, 7000);
    cr_assert_gt(sure, 80);
}

/* Empty objects and arrays (taken without a call where nothing is recorded) still count toward
 * the nesting limit: at the limit accepted, one deeper refused, as for any other value. */
Test(review_skim, empty_containers_count_toward_the_depth_limit)
{
    static const char *const empties[] = {"{}", "[]"};
    for (size_t e = 0; e < 2; e++) {
        for (int depth = MLA_REVIEW_MAX_DEPTH - 3; depth <= MLA_REVIEW_MAX_DEPTH + 2; depth++) {
            /* {"a": then depth-2 arrays, then the empty container: depth levels in all */
            char b[400];
            size_t n = 0;
            n += (size_t)snprintf(b + n, sizeof b - n, "{\"a\":");
            for (int i = 0; i < depth - 2; i++)
                b[n++] = '[';
            memcpy(b + n, empties[e], 2);
            n += 2;
            for (int i = 0; i < depth - 2; i++)
                b[n++] = ']';
            b[n++] = '}';
            sk_check(b, n);
            struct mla_review_cuts c;
            cr_assert_eq(mla_review_skim(b, n, MLA_REVIEW_MAX_DEPTH, &c),
                         depth <= MLA_REVIEW_MAX_DEPTH, "%s at depth %d", empties[e], depth);
        }
    }
}

/* ---- what is cut, and decode's answers with the cuts ---- */

Test(review_skim, cuts_only_the_values_nothing_reads)
{
    const char *b =
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
        "\"uid\":\"u\",\"status\":{\"kept\":1},\"requestKind\":{\"kind\":\"Deployment\"},"
        "\"userInfo\":{\"username\":\"alice\",\"groups\":[\"system:masters\"]},"
        "\"object\":{\"metadata\":{\"name\":\"n\",\"managedFields\":[{\"manager\":\"kubectl\"}]},"
        "\"spec\":{\"managedFields\":[1,2],\"strategy\":{\"type\":\"Recreate\"},\"replicas\":2},"
        "\"status\":{\"replicas\":3}},\"oldObject\":{\"metadata\":{\"managedFields\":[]},"
        "\"status\":\"xyzw\"},\"options\":null},\"managedFields\":[\"kept\"],\"options\":{}}";
    struct mla_review_cuts c;
    cr_assert(mla_review_skim(b, strlen(b), MLA_REVIEW_MAX_DEPTH, &c));
    static const char *const want[] = {
        "{\"kind\":\"Deployment\"}", "[\"system:masters\"]", "[{\"manager\":\"kubectl\"}]",
        "{\"type\":\"Recreate\"}", "{\"replicas\":3}", "[]", "\"xyzw\"", "null"};
    cr_assert_eq(c.n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < c.n; i++) {
        char got[64];
        snprintf(got, sizeof got, "%.*s", (int)(c.cut[i].to - c.cut[i].from), b + c.cut[i].from);
        cr_assert_str_eq(got, want[i], "cut %zu", i);
    }
}

static void sk_replace_null(cJSON *obj, const char *key)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    char *text = v ? cJSON_PrintUnformatted(v) : NULL;
    /* values written shorter than "null" ({} here) are kept; the seeds are compact JSON */
    if (text && strlen(text) >= 4)
        cJSON_ReplaceItemInObjectCaseSensitive(obj, key, cJSON_CreateNull());
    cJSON_free(text);
}

Test(review_skim, decode_tree_is_the_review_with_the_cuts_as_null)
{
    const char *seeds[] = {"../bench/review-optedin.json", "../bench/review-plain.json"};
    for (size_t s = 0; s < 2; s++) {
        size_t n;
        char *b = sk_slurp(seeds[s], &n);
        struct mla_review_request r;
        struct mla_err e;
        cr_assert_eq(mla_review_decode(b, n, &r, NULL, 0, &e), MLA_OK, "%s", e.msg);
        cJSON *meta = cJSON_GetObjectItemCaseSensitive(r.object, "metadata");
        cr_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(meta, "managedFields")),
                  "managedFields is skipped");
        cr_assert_not_null(cJSON_GetObjectItemCaseSensitive(meta, "annotations"));
        /* everything else is what cJSON makes of the whole body */
        cJSON *want = cJSON_ParseWithLength(b, n);
        cJSON *req = cJSON_GetObjectItemCaseSensitive(want, "request");
        const char *objs[] = {"object", "oldObject"};
        for (int i = 0; i < 2; i++) {
            cJSON *o = cJSON_GetObjectItemCaseSensitive(req, objs[i]);
            sk_replace_null(cJSON_GetObjectItemCaseSensitive(o, "metadata"), "managedFields");
            sk_replace_null(cJSON_GetObjectItemCaseSensitive(o, "spec"), "strategy");
            sk_replace_null(o, "status");
        }
        sk_replace_null(req, "options");
        sk_replace_null(req, "requestKind");
        sk_replace_null(req, "requestResource");
        sk_replace_null(cJSON_GetObjectItemCaseSensitive(req, "userInfo"), "groups");
        sk_replace_null(cJSON_GetObjectItemCaseSensitive(req, "userInfo"), "extra");
        cr_assert(cJSON_Compare(want, r.root, true));
        cJSON_Delete(want);
        mla_review_request_fini(&r);
        free(b);
    }
}

Test(review_skim, decode_errors_are_unchanged_for_bad_bodies)
{
    /* an invalid managedFields is still invalid JSON (400), with the same message as before */
    const char *bad = "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\","
                      "\"request\":{\"uid\":\"u\",\"object\":{\"metadata\":{\"managedFields\":"
                      "[{\"a\":01x}]}}}}";
    struct mla_review_request r;
    struct mla_err e;
    cr_assert_eq(mla_review_decode(bad, strlen(bad), &r, NULL, 0, &e), MLA_EPARSE);
    cr_assert(strstr(e.msg, "body is not valid JSON (error near byte"), "%s", e.msg);
    const char *trail = "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\","
                        "\"request\":{\"uid\":\"u\",\"object\":{\"metadata\":{\"managedFields\":"
                        "[]}}}} x";
    cr_assert_eq(mla_review_decode(trail, strlen(trail), &r, NULL, 0, &e), MLA_EPARSE);
    cr_assert_str_eq(e.msg, "trailing data after the JSON object");
}

/* ---- the not-opted-in answer without a tree (mla_review_plain + mla_decide_plain) ---- */

static long pl_answered, pl_checked;

#define REVIEW_BODY(op, obj, old)                                                              \
    "{\"kind\":\"AdmissionReview\",\"apiVersion\":\"admission.k8s.io/v1\",\"request\":{"         \
    "\"uid\":\"u\",\"kind\":{\"group\":\"apps\",\"version\":\"v1\",\"kind\":\"Deployment\"},"   \
    "\"operation\":" op ",\"object\":" obj ",\"oldObject\":" old "}}"

static void pl_check(const char *b, size_t n)
{
    const char *why;
    int r = sup_plain_check(b, n, &why);
    pl_checked++;
    pl_answered += r == 1;
    cr_assert_neq(r, -1, "tree-less answer differs from decode + decide (%s) on a %zu-byte "
                  "body: %.*s", why, n, (int)(n < 600 ? n : 600), b);
}

/* One slot of a generated review: mostly what a real review holds, then the edges the tree-less
 * path must leave to decode (escapes, NUL bytes, wrong types, duplicates, escaped keys). */
static const char *pl_pick(const char *const *v, size_t n)
{
    return sk_rand(3) ? v[0] : v[sk_rand((unsigned)n)]; /* v[0] is the common, valid case */
}
#define PL_PICK(a) pl_pick(a, sizeof a / sizeof a[0])

static size_t pl_gen(char *out, size_t cap)
{
    static const char *const kinds[] = {"\"AdmissionReview\"", "\"AdmissionReview\"",
                                        "\"Admission\\u0052eview\"", "\"AdmissionReviewX\"", "1"};
    static const char *const apis[] = {"\"admission.k8s.io/v1\"", "\"admission.k8s.io/v1\"",
                                       "\"admission.k8s.io\\/v1\"", "\"admission.k8s.io/v1beta1\"",
                                       "null"};
    static const char *const uids[] = {"\"u-1\"", "\"u-1\"", "\"\"", "\"u\\u002d1\"", "7",
                                       "\"0123456789012345678901234567890123456789012345678901234"
                                       "56789012345678901234567890123456789012345678901234567890"
                                       "12345678901234567890\""};
    static const char *const gvks[] = {
        "{\"group\":\"apps\",\"version\":\"v1\",\"kind\":\"Deployment\"}",
        "{\"group\":\"apps\",\"version\":\"v1\",\"kind\":\"StatefulSet\"}",
        "{\"group\":\"batch\",\"version\":\"v1\",\"kind\":\"Job\"}",
        "{\"group\":\"\",\"version\":\"v1\",\"kind\":\"Pod\"}",
        "{\"version\":\"v1\",\"kind\":\"Deployment\"}",
        "{\"group\":\"apps\",\"version\":\"v1\",\"kind\":\"Deployment\",\"kind\":\"Pod\"}",
        "{\"group\":\"apps\",\"version\":\"v1\",\"ki\\u006ed\":\"Pod\",\"kind\":\"Deployment\"}",
        "{\"group\":7,\"version\":\"v1\",\"kind\":\"Deployment\"}", "{\"kind\":1}", "[]", "null"};
    static const char *const ops[] = {"\"CREATE\"", "\"UPDATE\"", "\"UPDATE\"", "\"DELETE\"",
                                      "\"CONNECT\"", "\"\"", "\"CRE\\u0041TE\"", "5"};
    static const char *const extras[] = {
        "", "", "", ",\"subResource\":\"status\"", ",\"subResource\":\"\"", ",\"subResource\":3",
        ",\"dryRun\":true", ",\"dryRun\":null", ",\"dryRun\":\"yes\"", ",\"dryRun\":0",
        ",\"operation\":\"DELETE\"", ",\"op\\u0065ration\":\"DELETE\"", ",\"namespace\":\"ns\"",
        ",\"options\":{\"a\":[1,2,3,4]}", ",\"name\":\"x\\u0000y\""};
    static const char *const enabled[] = {
        "", "\"ml-autoscaling.io/enabled\":\"true\"", "\"ml-autoscaling.io/enabled\":\"false\"",
        "\"ml-autoscaling.io/enabled\":true", "\"ml-autoscaling.io/enabled\":\"tru\\u0065\"",
        "\"ml-autoscaling.io/enabled\":\"true\\u0000\"",
        "\"ml-autoscaling.io/enabled\":\"false\",\"ml-autoscaling.io/enabled\":\"true\"",
        "\"ml-autoscaling.io/enabled\":\"true\",\"ml-autoscaling.io/enabled\":\"false\"",
        "\"ml-autoscaling.io\\/enabled\":\"true\"", "\"other\":\"true\""};
    static const char *const managed[] = {
        "", "\"ml-autoscaling.io/managed\":\"true\"", "\"ml-autoscaling.io/managed\":\"false\"",
        "\"ml-autoscaling.io/man\\u0061ged\":\"true\""};
    static const char *const shapes[] = {"OBJ", "null", "\"x\"", "[]", "{}", "DUP"};
    size_t n = 0;
    char obj[2][1024];
    for (int o = 0; o < 2; o++) {
        const char *shape = PL_PICK(shapes);
        const char *en = PL_PICK(enabled), *mg = o ? PL_PICK(managed) : "";
        const char *meta_shape = sk_rand(8) ? "{\"annotations\":{%s},\"labels\":{%s},"
                                              "\"managedFields\":[{\"f:x\":{}}]}"
                                            : sk_rand(2) ? "[{%s},{%s}]"
                                                         : "{\"annotations\":[{%s}],\"labels\":{%s}}";
        char meta[600];
        snprintf(meta, sizeof meta, meta_shape, en, mg);
        if (!strcmp(shape, "OBJ"))
            snprintf(obj[o], sizeof obj[o], "{\"metadata\":%s,\"spec\":{\"replicas\":1}}", meta);
        else if (!strcmp(shape, "DUP")) /* cJSON reads the first metadata */
            snprintf(obj[o], sizeof obj[o], "{\"metadata\":{},\"metadata\":%s}", meta);
        else
            snprintf(obj[o], sizeof obj[o], "%s", shape);
    }
    n = (size_t)snprintf(out, cap,
                         "{\"kind\":%s,\"apiVersion\":%s,\"request\":{\"uid\":%s,\"kind\":%s,"
                         "\"operation\":%s%s,\"object\":%s,\"oldObject\":%s%s}%s}",
                         PL_PICK(kinds), PL_PICK(apis), PL_PICK(uids), PL_PICK(gvks), PL_PICK(ops),
                         PL_PICK(extras), obj[0], obj[1], PL_PICK(extras),
                         sk_rand(10) ? "" : ",\"request\":null");
    return n < cap ? n : cap - 1;
}

Test(review_plain, tree_less_answer_matches_decode_and_decide_on_generated_reviews)
{
    char *b = malloc(SK_CAP);
    for (int i = 0; i < 40000; i++) {
        size_t n = pl_gen(b, SK_CAP);
        pl_check(b, n);
        if (sk_rand(4) == 0) {
            sk_mutate(b, &n, SK_CAP);
            pl_check(b, n);
        }
    }
    free(b);
    cr_assert_gt(pl_answered, 3000, "the tree-less path should answer many generated reviews "
                 "(%ld of %ld)", pl_answered, pl_checked);
}

Test(review_plain, tree_less_answer_matches_on_mutated_bench_reviews)
{
    const char *seeds[] = {"../bench/review-plain.json", "../bench/review-optedin.json"};
    char *b = malloc(SK_CAP);
    for (size_t s = 0; s < 2; s++) {
        size_t n0;
        char *seed = sk_slurp(seeds[s], &n0);
        const char *why;
        /* the not-opted-in bench review is answered without a tree; the opted-in one is not */
        cr_assert_eq(sup_plain_check(seed, n0, &why), s == 0 ? 1 : 0, "%s %s", seeds[s], why);
        for (int i = 0; i < 20000; i++) {
            size_t n = n0;
            memcpy(b, seed, n0);
            sk_mutate(b, &n, SK_CAP);
            pl_check(b, n);
        }
        free(seed);
    }
    free(b);
}

Test(review_plain, leaves_opt_in_removal_jobs_and_escapes_to_decode)
{
    static const char *const bodies[] = {
        /* oldObject was managed: the UPDATE removes the opt-in (a patch) */
        REVIEW_BODY("\"UPDATE\"", "{\"metadata\":{}}",
                    "{\"metadata\":{\"labels\":{\"ml-autoscaling.io/managed\":\"true\"}}}"),
        REVIEW_BODY("\"UPDATE\"", "{\"metadata\":{}}",
                    "{\"metadata\":{\"annotations\":{\"ml-autoscaling.io/enabled\":\"true\"}}}"),
        /* opted in */
        REVIEW_BODY("\"CREATE\"",
                    "{\"metadata\":{\"annotations\":{\"ml-autoscaling.io/enabled\":\"true\"}}}",
                    "null"),
        /* an escaped key might be the annotation */
        REVIEW_BODY("\"CREATE\"",
                    "{\"metadata\":{\"annotations\":{\"ml-autoscaling.io\\/enabled\":\"true\"}}}",
                    "null"),
        /* dryRun of the wrong type: decode denies it */
        "{\"kind\":\"AdmissionReview\",\"apiVersion\":\"admission.k8s.io/v1\",\"request\":{"
        "\"uid\":\"u\",\"kind\":{\"group\":\"apps\",\"version\":\"v1\",\"kind\":\"Deployment\"},"
        "\"operation\":\"CREATE\",\"dryRun\":1,\"object\":{}}}",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        const char *why;
        cr_assert_eq(sup_plain_check(bodies[i], strlen(bodies[i]), &why), 0, "body %zu (%s)", i,
                     why);
    }
    /* bytes before the object that cJSON skips as whitespace but decode does not (it says
     * "body is not a JSON object"): vertical tab, form feed, a NUL byte */
    const char *good = REVIEW_BODY("\"CREATE\"", "{\"metadata\":{}}", "null");
    static const char lead[] = {'\v', '\f', '\0', 0x1f};
    char buf[512];
    for (size_t i = 0; i < sizeof lead; i++) {
        buf[0] = lead[i];
        size_t n = strlen(good);
        memcpy(buf + 1, good, n);
        const char *why;
        cr_assert_eq(sup_plain_check(buf, n + 1, &why), 0, "leading byte 0x%02x (%s)",
                     (unsigned char)lead[i], why);
    }
    /* and it does answer the same review when nothing of that is there */
    const char *plain = REVIEW_BODY("\"UPDATE\"", "{\"metadata\":{}}",
                                    "{\"metadata\":{\"labels\":{\"ml-autoscaling.io/managed\":"
                                    "\"false\"}}}");
    const char *why;
    cr_assert_eq(sup_plain_check(plain, strlen(plain), &why), 1, "%s", why);
}
