/* test_review.c - the AdmissionReview codec: decode variants, encode, base64. */
#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <string.h>

#include "mla/review.h"
#include "mla/decide.h"

#define REVIEW(req) "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\"," \
                    "\"request\":" req "}"

static enum mla_code decode(const char *body, struct mla_review_request *r, char *uid,
                            struct mla_err *e)
{
    mla_err_clear(e);
    memset(r, 0, sizeof *r);
    return mla_review_decode(body, strlen(body), r, uid, uid ? 64 : 0, e);
}

Test(adm_decode, full_request_fields)
{
    const char *body = REVIEW(
        "{\"uid\":\"u-1\",\"kind\":{\"group\":\"apps\",\"version\":\"v1\",\"kind\":\"Deployment\"},"
        "\"resource\":{\"group\":\"apps\",\"version\":\"v1\",\"resource\":\"deployments\"},"
        "\"operation\":\"UPDATE\",\"namespace\":\"ml\",\"name\":\"vllm\",\"dryRun\":true,"
        "\"userInfo\":{\"username\":\"alice\"},\"object\":{\"metadata\":{\"name\":\"vllm\"}},"
        "\"oldObject\":{\"metadata\":{\"name\":\"vllm\"}}}");
    struct mla_review_request r;
    struct mla_err e;
    cr_assert_eq(decode(body, &r, NULL, &e), MLA_OK, "%s", e.msg);
    cr_assert_str_eq(r.uid, "u-1");
    cr_assert_str_eq(r.kind_group, "apps");
    cr_assert_str_eq(r.kind_version, "v1");
    cr_assert_str_eq(r.kind, "Deployment");
    cr_assert_str_eq(r.resource, "deployments");
    cr_assert_str_eq(r.sub_resource, "");
    cr_assert_eq(r.op, MLA_OP_UPDATE);
    cr_assert_str_eq(r.operation, "UPDATE");
    cr_assert_str_eq(r.namespace_, "ml");
    cr_assert_str_eq(r.name, "vllm");
    cr_assert(r.dry_run);
    cr_assert_str_eq(r.username, "alice");
    cr_assert_not_null(r.object);
    cr_assert_not_null(r.old_object);
    mla_review_request_fini(&r);
    cr_assert_null(r.root);
    mla_review_request_fini(&r); /* idempotent */
}

Test(adm_decode, create_name_from_object_and_generate_name)
{
    struct mla_review_request r;
    struct mla_err e;
    cr_assert_eq(decode(REVIEW("{\"uid\":\"a\",\"kind\":{\"group\":\"apps\",\"kind\":\"Deployment\"},"
                               "\"operation\":\"CREATE\",\"object\":{\"metadata\":"
                               "{\"generateName\":\"w-\"}}}"),
                        &r, NULL, &e),
                 MLA_OK, "%s", e.msg);
    cr_assert_str_eq(r.name, "w-");
    cr_assert_str_eq(r.namespace_, "");
    cr_assert_str_eq(r.kind_version, "");
    cr_assert_str_eq(r.username, "");
    cr_assert_not(r.dry_run);
    cr_assert_null(r.old_object);
    cr_assert_eq(r.op, MLA_OP_CREATE);
    mla_review_request_fini(&r);
}

Test(adm_decode, delete_connect_other_operations)
{
    const char *ops[] = {"DELETE", "CONNECT", "PATCHY"};
    enum mla_review_op want[] = {MLA_OP_DELETE, MLA_OP_CONNECT, MLA_OP_OTHER};
    for (int i = 0; i < 3; i++) {
        char body[512];
        snprintf(body, sizeof body,
                 REVIEW("{\"uid\":\"a\",\"kind\":{\"kind\":\"Pod\"},\"operation\":\"%s\","
                        "\"object\":null,\"oldObject\":{\"metadata\":{\"name\":\"p\"}}}"),
                 ops[i]);
        struct mla_review_request r;
        struct mla_err e;
        cr_assert_eq(decode(body, &r, NULL, &e), MLA_OK, "%s", e.msg);
        cr_assert_eq(r.op, want[i]);
        cr_assert_null(r.object);
        cr_assert_str_eq(r.name, "p");
        mla_review_request_fini(&r);
    }
}

Test(adm_decode, review_level_errors_are_eparse)
{
    const char *bad[] = {
        "", "   ", "nope", "[1,2]", "{\"a\":", "{}",
        "{\"apiVersion\":\"admission.k8s.io/v1beta1\",\"kind\":\"AdmissionReview\","
        "\"request\":{\"uid\":\"x\"}}",
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"Review\",\"request\":{\"uid\":\"x\"}}",
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\"}",
        REVIEW("{\"kind\":{\"kind\":\"Pod\"},\"operation\":\"CREATE\"}"),
        REVIEW("{\"uid\":7,\"kind\":{\"kind\":\"Pod\"},\"operation\":\"CREATE\"}"),
        REVIEW("{\"uid\":\"\"}"),
        REVIEW("{\"uid\":\"a\"}") " trailing",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct mla_review_request r;
        struct mla_err e;
        char uid[64] = "untouched";
        cr_assert_eq(decode(bad[i], &r, uid, &e), MLA_EPARSE, "case %zu: %s", i, bad[i]);
        cr_assert_neq(e.msg[0], '\0');
        cr_assert_null(r.root);
        cr_assert_str_eq(uid, "untouched");
    }
}

Test(adm_decode, messages_name_the_problem)
{
    struct mla_review_request r;
    struct mla_err e;
    cr_assert_eq(decode("{\"apiVersion\":\"admission.k8s.io/v1beta1\",\"kind\":\"AdmissionReview\","
                        "\"request\":{\"uid\":\"x\"}}", &r, NULL, &e), MLA_EPARSE);
    cr_assert(strstr(e.msg, "v1beta1"), "%s", e.msg);
    cr_assert_eq(decode(REVIEW("{\"kind\":{}}"), &r, NULL, &e), MLA_EPARSE);
    cr_assert(strstr(e.msg, "uid"), "%s", e.msg);
}

Test(adm_decode, request_level_errors_give_the_uid)
{
    const char *bad[] = {
        REVIEW("{\"uid\":\"u9\",\"operation\":\"CREATE\"}"),
        REVIEW("{\"uid\":\"u9\",\"kind\":{\"kind\":\"Deployment\"}}"),
        REVIEW("{\"uid\":\"u9\",\"kind\":{\"kind\":\"Deployment\"},\"operation\":\"CREATE\","
               "\"object\":[1]}"),
        REVIEW("{\"uid\":\"u9\",\"kind\":{\"kind\":\"Deployment\"},\"operation\":\"CREATE\","
               "\"dryRun\":\"yes\"}"),
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct mla_review_request r;
        struct mla_err e;
        char uid[64] = "";
        cr_assert_eq(decode(bad[i], &r, uid, &e), MLA_EINVAL, "case %zu", i);
        cr_assert_str_eq(uid, "u9");
        cr_assert_null(r.root);
    }
}

Test(adm_decode, nesting_limit_checked_before_parsing)
{
    size_t n = 5000;
    char *body = malloc(n * 2 + 64);
    size_t at = 0;
    at += (size_t)snprintf(body, 64, "{\"a\":");
    for (size_t i = 0; i < n; i++)
        body[at++] = '[';
    for (size_t i = 0; i < n; i++)
        body[at++] = ']';
    body[at++] = '}';
    body[at] = '\0';
    struct mla_review_request r;
    struct mla_err e;
    cr_assert_eq(decode(body, &r, NULL, &e), MLA_EPARSE);
    cr_assert(strstr(e.msg, "nested"), "%s", e.msg);
    free(body);
    /* brackets inside strings do not count */
    const char *s = "{\"a\":\"[[[[[[[[[[\\\"[[[[\",\"b\":[{}]}";
    cr_assert_eq(mla_review_json_depth(s, strlen(s), 100), 3);
}

Test(adm_decode, body_need_not_be_nul_terminated)
{
    const char *full = REVIEW("{\"uid\":\"a\",\"kind\":{\"kind\":\"Pod\"},\"operation\":\"CREATE\"}")
        "GARBAGE";
    size_t len = strlen(full) - strlen("GARBAGE");
    struct mla_review_request r;
    struct mla_err e;
    cr_assert_eq(mla_review_decode(full, len, &r, NULL, 0, &e), MLA_OK, "%s", e.msg);
    mla_review_request_fini(&r);
}

Test(adm_base64, matches_rfc4648_vectors)
{
    const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *want[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (int i = 0; i < 7; i++) {
        struct mla_buf b;
        mla_buf_init(&b, 0);
        cr_assert_eq(mla_review_base64(in[i], strlen(in[i]), &b), MLA_OK);
        cr_assert_str_eq(mla_buf_str(&b), want[i]);
        mla_buf_fini(&b);
    }
}

Test(adm_base64, long_input_has_no_newlines_and_round_trips)
{
    char in[3000];
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (char)(i * 7);
    struct mla_buf b;
    mla_buf_init(&b, 0);
    cr_assert_eq(mla_buf_adds(&b, "x"), MLA_OK);
    cr_assert_eq(mla_review_base64(in, sizeof in, &b), MLA_OK);
    cr_assert_eq(b.len, 1 + 4000);
    cr_assert_null(strchr(b.data, '\n'));
    unsigned char back[3100];
    int n = EVP_DecodeBlock(back, (unsigned char *)b.data + 1, 4000);
    cr_assert_eq(n, 3000);
    cr_assert_eq(memcmp(back, in, sizeof in), 0);
    mla_buf_fini(&b);
}

Test(adm_base64, same_text_as_evp_encodeblock_at_every_length)
{
    unsigned char in[300];
    unsigned r = 7;
    for (size_t i = 0; i < sizeof in; i++) {
        r = r * 1103515245u + 12345u;
        in[i] = (unsigned char)(r >> 16);
    }
    for (size_t n = 0; n <= sizeof in; n++) {
        for (size_t off = 0; off < 3 && off + n <= sizeof in; off++) {
            char want[4 * (sizeof in + 2) / 3 + 1];
            int wn = EVP_EncodeBlock((unsigned char *)want, in + off, (int)n);
            struct mla_buf b;
            mla_buf_init(&b, 0);
            cr_assert_eq(mla_buf_adds(&b, "x"), MLA_OK);
            cr_assert_eq(mla_review_base64(in + off, n, &b), MLA_OK);
            cr_assert_eq(b.len, 1 + (size_t)wn, "length %zu", n);
            cr_assert_str_eq(b.data + 1, want, "length %zu offset %zu", n, off);
            mla_buf_fini(&b);
        }
    }
}

static cJSON *parse_out(struct mla_buf *b)
{
    cJSON *j = cJSON_Parse(mla_buf_str(b));
    cr_assert_not_null(j, "not JSON: %s", mla_buf_str(b));
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "apiVersion")),
                     "admission.k8s.io/v1");
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "kind")), "AdmissionReview");
    return j;
}

Test(adm_encode, allowed_without_ops_has_no_patch)
{
    struct mla_decision d;
    mla_decision_init(&d);
    d.patch = cJSON_CreateArray();
    struct mla_buf b;
    mla_buf_init(&b, 0);
    cr_assert_eq(mla_review_encode("u\"1", &d, &b, NULL), MLA_OK);
    cJSON *j = parse_out(&b);
    cJSON *resp = cJSON_GetObjectItem(j, "response");
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(resp, "uid")), "u\"1");
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(resp, "allowed")));
    cr_assert_null(cJSON_GetObjectItem(resp, "patch"));
    cr_assert_null(cJSON_GetObjectItem(resp, "patchType"));
    cr_assert_null(cJSON_GetObjectItem(resp, "warnings"));
    cr_assert_null(cJSON_GetObjectItem(resp, "status"));
    cJSON_Delete(j);
    mla_buf_fini(&b);
    mla_decision_fini(&d);
}

Test(adm_encode, patch_base64_and_warnings)
{
    struct mla_decision d;
    mla_decision_init(&d);
    d.patch = cJSON_Parse("[{\"op\":\"add\",\"path\":\"/metadata/labels/a~1b\",\"value\":\"é\"}]");
    mla_decision_warn(&d, "clamped %s to %d", "max-replicas", 8);
    mla_decision_warn(&d, "second \"quoted\"");
    struct mla_buf b;
    mla_buf_init(&b, 0);
    cr_assert_eq(mla_review_encode("u1", &d, &b, NULL), MLA_OK);
    cJSON *j = parse_out(&b);
    cJSON *resp = cJSON_GetObjectItem(j, "response");
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(resp, "patchType")), "JSONPatch");
    const char *p64 = cJSON_GetStringValue(cJSON_GetObjectItem(resp, "patch"));
    unsigned char raw[1024];
    int n = EVP_DecodeBlock(raw, (const unsigned char *)p64, (int)strlen(p64));
    cr_assert_gt(n, 0);
    size_t len = (size_t)n;
    while (len && raw[len - 1] == '\0') /* DecodeBlock keeps the padding's zero bytes */
        len--;
    cJSON *patch = cJSON_ParseWithLength((const char *)raw, len);
    cr_assert_not_null(patch);
    cr_assert(cJSON_Compare(patch, d.patch, 1));
    cJSON *w = cJSON_GetObjectItem(resp, "warnings");
    cr_assert_eq(cJSON_GetArraySize(w), 2);
    cr_assert_str_eq(cJSON_GetArrayItem(w, 0)->valuestring, "clamped max-replicas to 8");
    cr_assert_str_eq(cJSON_GetArrayItem(w, 1)->valuestring, "second \"quoted\"");
    cJSON_Delete(patch);
    cJSON_Delete(j);
    mla_buf_fini(&b);
    mla_decision_fini(&d);
}

Test(adm_encode, denied_has_status_and_no_patch)
{
    struct mla_decision d;
    mla_decision_init(&d);
    d.allowed = false;
    d.code = 400;
    snprintf(d.message, sizeof d.message, "ml-autoscaling.io/min-replicas: \"x\" is not a number");
    d.patch = cJSON_Parse("[{\"op\":\"add\",\"path\":\"/a\",\"value\":1}]");
    struct mla_buf b;
    mla_buf_init(&b, 0);
    cr_assert_eq(mla_review_encode("u2", &d, &b, NULL), MLA_OK);
    cJSON *j = parse_out(&b);
    cJSON *resp = cJSON_GetObjectItem(j, "response");
    cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(resp, "allowed")));
    cJSON *st = cJSON_GetObjectItem(resp, "status");
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(st, "message")), d.message);
    cr_assert_eq(cJSON_GetObjectItem(st, "code")->valueint, 400);
    cr_assert_null(cJSON_GetObjectItem(resp, "patch"));
    cJSON_Delete(j);
    mla_buf_fini(&b);
    mla_decision_fini(&d);

    mla_buf_init(&b, 0);
    cr_assert_eq(mla_review_encode_denied("u3", 400, "bad request", &b, NULL), MLA_OK);
    j = parse_out(&b);
    resp = cJSON_GetObjectItem(j, "response");
    cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(resp, "allowed")));
    cr_assert_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(resp, "status"), "code")->valueint, 400);
    cJSON_Delete(j);
    mla_buf_fini(&b);
}

Test(adm_encode, cap_gives_etoobig)
{
    struct mla_decision d;
    mla_decision_init(&d);
    struct mla_buf b;
    mla_buf_init(&b, 20);
    struct mla_err e;
    mla_err_clear(&e);
    cr_assert_eq(mla_review_encode("u", &d, &b, &e), MLA_ETOOBIG);
    mla_buf_fini(&b);
}

Test(adm_decode, depth_scan_handles_escaped_quotes_and_backslashes)
{
    const char *a = "{\"a\":\"x\\\\\",\"b\":[[1]]}"; /* "x\\" then a real array */
    cr_assert_eq(mla_review_json_depth(a, strlen(a), 100), 3);
    const char *b = "{\"a\":\"x\\\"[[[\",\"b\":1}"; /* brackets inside a string after \" */
    cr_assert_eq(mla_review_json_depth(b, strlen(b), 100), 1);
    const char *c = "{\"a\":\"unterminated [[[[";
    cr_assert_eq(mla_review_json_depth(c, strlen(c), 100), 1);
    const char *d = "[[[[[";
    cr_assert_eq(mla_review_json_depth(d, strlen(d), 3), 4); /* stops at limit + 1 */
}

/* Every prefix and many single-byte corruptions of a realistic review: decode answers with a
 * code (never crashes, never leaks: run under ASan/valgrind), and only the full body is OK. */
Test(adm_decode, truncated_and_corrupted_reviews_never_crash)
{
    FILE *f = fopen("../bench/review-optedin.json", "rb");
    cr_assert_not_null(f, "run from tests/");
    char body[8192];
    size_t n = fread(body, 1, sizeof body, f);
    fclose(f);
    cr_assert_gt(n, 1000);
    for (size_t len = 0; len < n; len++) {
        struct mla_review_request r;
        struct mla_err e;
        enum mla_code rc = mla_review_decode(body, len, &r, NULL, 0, &e);
        if (rc == MLA_OK)
            mla_review_request_fini(&r);
        /* a prefix that is valid JSON would have to end in '}' at the very end */
        cr_assert(rc != MLA_OK || body[len - 1] == '}', "prefix %zu decoded", len);
    }
    const char junk[] = {'"', '\\', '{', '[', ']', '}', ',', ':', '\0', '\xff', 'x', '0'};
    for (size_t i = 0; i < n; i += 7) {
        char save = body[i];
        body[i] = junk[i % sizeof junk];
        struct mla_review_request r;
        struct mla_err e;
        if (mla_review_decode(body, n, &r, NULL, 0, &e) == MLA_OK)
            mla_review_request_fini(&r);
        body[i] = save;
    }
    struct mla_review_request r;
    cr_assert_eq(mla_review_decode(body, n, &r, NULL, 0, NULL), MLA_OK);
    mla_review_request_fini(&r);
}

/* The backstop behind our own check: this cJSON refuses nesting beyond CJSON_NESTING_LIMIT
 * (1000) instead of recursing further. */
Test(adm_decode, cjson_nesting_limit_is_1000)
{
    cr_assert_eq(CJSON_NESTING_LIMIT, 1000);
    char deep[2 * 1100 + 1];
    for (size_t depth = 1000; depth <= 1001; depth++) {
        memset(deep, '[', depth);
        memset(deep + depth, ']', depth);
        deep[2 * depth] = '\0';
        cJSON *j = cJSON_ParseWithLength(deep, 2 * depth);
        if (depth == 1000)
            cr_assert_not_null(j, "1000 levels should parse");
        else
            cr_assert_null(j, "1001 levels must be refused");
        cJSON_Delete(j);
    }
}

Test(adm_decode, dry_run_only_when_true)
{
    static const struct {
        const char *field;
        bool dry;
    } cases[] = {{",\"dryRun\":true", true}, {",\"dryRun\":false", false},
                 {",\"dryRun\":null", false}, {"", false}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char body[512];
        snprintf(body, sizeof body, REVIEW("{\"uid\":\"a\",\"kind\":{\"group\":\"apps\",\"kind\":"
                                           "\"Deployment\"},\"operation\":\"CREATE\",\"object\":"
                                           "{\"metadata\":{\"name\":\"w\"}}%s}"),
                 cases[i].field);
        struct mla_review_request r;
        struct mla_err e;
        cr_assert_eq(decode(body, &r, NULL, &e), MLA_OK, "%s: %s", cases[i].field, e.msg);
        cr_assert_eq(r.dry_run, cases[i].dry, "%s", cases[i].field);
        mla_review_request_fini(&r);
    }
}

/* ---- mla_review_print_json: the patch's text, held to cJSON_PrintUnformatted byte for byte */

static unsigned pj_rng = 12345;
static unsigned pj_next(void)
{
    pj_rng = pj_rng * 1103515245u + 12345u;
    return (pj_rng >> 8) & 0xffffffu;
}

/* A string of 0-12 bytes drawn from every byte value but NUL, biased to the ones escaped; one in
 * four is 16-47 bytes long, mostly bytes >= 0x20 with an escaped one here and there, so that
 * the printer's 16-byte runs are taken and meet escapes at every offset. */
static void pj_str(char *s)
{
    static const char special[] = "\"\\\b\f\n\r\t\x01\x1f\x7f/~ a\xc3\xa9\xff";
    bool lng = pj_next() % 4 == 0;
    size_t n = lng ? 16 + pj_next() % 32 : pj_next() % 13;
    for (size_t i = 0; i < n; i++) {
        if (lng)
            s[i] = pj_next() % 16 ? (char)(0x20 + pj_next() % 0xe0)
                                  : special[pj_next() % (sizeof special - 1)];
        else
            s[i] = pj_next() % 2 ? special[pj_next() % (sizeof special - 1)]
                                 : (char)(1 + pj_next() % 255);
    }
    s[n] = '\0';
}

static cJSON *pj_tree(int depth)
{
    static const double nums[] = {0, -0.0, 1, -1, 3.5, 1e300, -2.5e-300, 2147483647.0,
                                  2147483648.0, -2147483649.0, 0.1, 1.0 / 3, 123456789012345.0};
    char s[48];
    unsigned k = pj_next() % (depth > 6 ? 7 : 9);
    switch (k) {
    case 0: return cJSON_CreateNull();
    case 1: return cJSON_CreateTrue();
    case 2: return cJSON_CreateFalse();
    case 3: return cJSON_CreateNumber(nums[pj_next() % (sizeof nums / sizeof *nums)]);
    case 4:
    case 5: pj_str(s); return cJSON_CreateString(s);
    case 6: pj_str(s); return cJSON_CreateRaw(s[0] ? "[1,\"r\"]" : "");
    case 7: {
        cJSON *a = cJSON_CreateArray();
        for (unsigned i = pj_next() % 4; i > 0; i--)
            cJSON_AddItemToArray(a, pj_tree(depth + 1));
        return a;
    }
    default: {
        cJSON *o = cJSON_CreateObject();
        for (unsigned i = pj_next() % 4; i > 0; i--) {
            pj_str(s);
            cJSON_AddItemToObject(o, s, pj_tree(depth + 1));
        }
        return o;
    }
    }
}

static void pj_same(const cJSON *t)
{
    char *want = cJSON_PrintUnformatted(t);
    size_t n = 12345;
    char *got = mla_review_print_json(t, &n);
    if (!want) {
        cr_assert_null(got);
        return;
    }
    cr_assert_not_null(got, "cJSON printed %s", want);
    cr_assert_str_eq(got, want);
    cr_assert_eq(n, strlen(want));
    cJSON_free(want);
    cJSON_free(got);
}

Test(adm_print, same_text_as_cjson_on_generated_trees)
{
    for (int i = 0; i < 20000; i++) {
        cJSON *t = pj_tree(0);
        pj_same(t);
        cJSON_Delete(t);
    }
}

Test(adm_print, same_text_as_cjson_on_odd_items)
{
    cJSON *s = cJSON_CreateString("x");
    cJSON_free(s->valuestring);
    s->valuestring = NULL; /* cJSON prints "" */
    pj_same(s);
    cJSON_Delete(s);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "k", cJSON_CreateNumber(1));
    cJSON_free(o->child->string);
    o->child->string = NULL; /* a member without a key: "" */
    pj_same(o);
    cJSON_Delete(o);
    cJSON *inv = cJSON_CreateObject();
    cJSON_AddItemToObject(inv, "bad", cJSON_CreateNull());
    inv->child->type = cJSON_Invalid; /* cJSON refuses to print it: so does the copy */
    pj_same(inv);
    cJSON_Delete(inv);
    cJSON *raw = cJSON_CreateRaw("1");
    cJSON_free(raw->valuestring);
    raw->valuestring = NULL;
    pj_same(raw);
    cJSON_Delete(raw);
    cJSON *ref = cJSON_CreateArray();
    cJSON_AddItemToArray(ref, cJSON_CreateStringReference("by reference \"q\""));
    cJSON *target = cJSON_Parse("{\"x\":[1,\"y\"]}");
    cJSON_AddItemReferenceToArray(ref, target); /* deleting ref leaves target alone */
    pj_same(ref);
    cJSON_Delete(ref);
    cJSON_Delete(target);
    /* nested deeper than the printer's own recursion (cJSON prints the rest) */
    cJSON *deep = cJSON_CreateArray(), *at = deep;
    for (int i = 0; i < 300; i++) {
        cJSON *o2 = cJSON_CreateObject();
        cJSON_AddItemToArray(at, o2);
        at = cJSON_AddArrayToObject(o2, i % 2 ? "a\n" : "b");
    }
    cJSON_AddItemToArray(at, cJSON_CreateNumber(42.5));
    pj_same(deep);
    cJSON_Delete(deep);
}

/* A request member given twice: the first one counts, as cJSON's lookup finds it (decode reads
 * the request's members in one pass). */
Test(adm_decode, first_of_duplicate_request_members_counts)
{
    const char *body = REVIEW(
        "{\"uid\":\"u-1\",\"kind\":{\"group\":\"apps\",\"version\":\"v1\",\"kind\":\"Deployment\"},"
        "\"operation\":\"UPDATE\",\"namespace\":\"first\",\"name\":\"one\",\"dryRun\":true,"
        "\"kind\":{\"group\":\"batch\",\"version\":\"v1\",\"kind\":\"Job\"},\"operation\":\"DELETE\","
        "\"namespace\":\"second\",\"name\":\"two\",\"dryRun\":false,"
        "\"userInfo\":{\"username\":\"alice\"},\"userInfo\":{\"username\":\"bob\"},"
        "\"subResource\":\"\",\"subResource\":\"status\","
        "\"resource\":{\"resource\":\"deployments\"},\"resource\":{\"resource\":\"jobs\"},"
        "\"object\":{\"metadata\":{\"name\":\"a\"}},\"object\":7,\"oldObject\":null,"
        "\"oldObject\":{\"metadata\":{\"name\":\"b\"}}}");
    struct mla_review_request r;
    struct mla_err e;
    cr_assert_eq(decode(body, &r, NULL, &e), MLA_OK, "%s", e.msg);
    cr_assert_str_eq(r.kind, "Deployment");
    cr_assert_str_eq(r.kind_group, "apps");
    cr_assert_eq(r.op, MLA_OP_UPDATE);
    cr_assert_str_eq(r.namespace_, "first");
    cr_assert_str_eq(r.name, "one");
    cr_assert(r.dry_run);
    cr_assert_str_eq(r.username, "alice");
    cr_assert_str_eq(r.sub_resource, "");
    cr_assert_str_eq(r.resource, "deployments");
    cr_assert_not_null(r.object);
    cr_assert_null(r.old_object);
    mla_review_request_fini(&r);
}
