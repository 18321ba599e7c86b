/* test_fc_profile_codec.c - the text form of the loop's carried weekly profile (fc.h,
 * mla_fc_profile_encode/_decode): what a new leader reads back from the annotation
 * ml-autoscaling.io/forecast-profile, and everything a tenant could write there instead. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mla/fc.h"

#define T0 1764930000.0

/* A ready profile: a daily shape in log1p space, counts 1..20 (a fresh one and a saturated one) */
static void pc_profile(struct mla_fc_profile *p)
{
    mla_fc_profile_init(p);
    for (int h = 0; h < MLA_FC_PROFILE_HOURS; h++) {
        p->v[h] = (float)(4.0 + 2.5 * sin(h * 2 * M_PI / 24) + 0.001 * h);
        p->n[h] = (unsigned char)(1 + h % 20);
    }
}

static void pc_encode(const struct mla_fc_profile *p, double t, uint64_t key, char *out)
{
    struct mla_err err;
    mla_err_clear(&err);
    cr_assert_eq(mla_fc_profile_encode(p, t, key, out, MLA_FC_PROFILE_TEXT_LEN + 1, &err), MLA_OK,
                 "%s", err.msg);
}

Test(fc_profile_codec, round_trip_within_the_stated_bound_and_small)
{
    struct mla_fc_profile p, q;
    pc_profile(&p);
    p.n[5] = 200; /* saturating counts above 63 are kept as 63 */
    char text[MLA_FC_PROFILE_TEXT_LEN + 1];
    uint64_t key = mla_fc_profile_key("{\"query\":\"x\"}");
    pc_encode(&p, T0 + 0.7, key, text);
    cr_assert_eq(strlen(text), 547, "length %zu: %s", strlen(text), text);
    cr_assert_eq(strncmp(text, "v1 1764930000 ", 14), 0, "%s", text);
    double t;
    uint64_t k;
    struct mla_err err;
    mla_err_clear(&err);
    cr_assert_eq(mla_fc_profile_decode(text, &q, &t, &k, &err), MLA_OK, "%s", err.msg);
    cr_assert_eq(t, T0);
    cr_assert_eq(k, key);
    float lo = p.v[0], hi = p.v[0];
    for (int h = 0; h < MLA_FC_PROFILE_HOURS; h++) {
        lo = fminf(lo, p.v[h]);
        hi = fmaxf(hi, p.v[h]);
    }
    /* the bound fc.h states: (high - low) / 8190, plus float rounding */
    double bound = ((double)hi - lo) / 8190 + 4e-7 * hi, worst = 0;
    for (int h = 0; h < MLA_FC_PROFILE_HOURS; h++) {
        worst = fmax(worst, fabs((double)q.v[h] - p.v[h]));
        cr_assert_eq(q.n[h], h == 5 ? 63 : p.n[h], "count of hour %d", h);
    }
    cr_assert_leq(worst, bound, "error %g over bound %g", worst, bound);
    cr_assert_gt(worst, 0, "12 bits cannot hold these values exactly: the test must quantize");
    /* a decoded profile encodes to the same text and decodes bit for bit (a new leader that
     * writes it back changes nothing) */
    char again[MLA_FC_PROFILE_TEXT_LEN + 1];
    pc_encode(&q, t, k, again);
    cr_assert_str_eq(again, text);
    struct mla_fc_profile r;
    cr_assert_eq(mla_fc_profile_decode(again, &r, &t, &k, NULL), MLA_OK);
    cr_assert_eq(memcmp(&r, &q, sizeof r), 0);
}

Test(fc_profile_codec, flat_profile_and_extremes)
{
    struct mla_fc_profile p, q;
    mla_fc_profile_init(&p);
    for (int h = 0; h < MLA_FC_PROFILE_HOURS; h++) {
        p.v[h] = 2.5f;
        p.n[h] = 1;
    }
    char text[MLA_FC_PROFILE_TEXT_LEN + 1];
    pc_encode(&p, 1, 0, text);
    double t;
    uint64_t k;
    cr_assert_eq(mla_fc_profile_decode(text, &q, &t, &k, NULL), MLA_OK, "%s", text);
    cr_assert_eq(memcmp(&p, &q, sizeof p), 0, "a flat profile is exact");
    p.v[7] = 0; /* zero load */
    p.v[8] = 64;
    pc_encode(&p, 99999999999.0, ~0ull, text);
    cr_assert_eq(strlen(text), MLA_FC_PROFILE_TEXT_LEN);
    cr_assert_eq(mla_fc_profile_decode(text, &q, &t, &k, NULL), MLA_OK, "%s", text);
    cr_assert_eq(q.v[7], 0);
    cr_assert_eq(q.v[8], 64);
    cr_assert_eq(k, ~0ull);
    cr_assert_eq(t, 99999999999.0);
}

Test(fc_profile_codec, encode_refuses_what_it_cannot_write)
{
    struct mla_fc_profile p;
    pc_profile(&p);
    char text[MLA_FC_PROFILE_TEXT_LEN + 1] = "untouched";
    struct mla_err err;
    p.n[100] = 0;
    cr_assert_eq(mla_fc_profile_encode(&p, T0, 1, text, sizeof text, &err), MLA_EINVAL);
    cr_assert(strstr(err.msg, "not ready"), "%s", err.msg);
    pc_profile(&p);
    p.v[3] = INFINITY;
    cr_assert_eq(mla_fc_profile_encode(&p, T0, 1, text, sizeof text, &err), MLA_EINVAL);
    p.v[3] = NAN;
    cr_assert_eq(mla_fc_profile_encode(&p, T0, 1, text, sizeof text, &err), MLA_EINVAL);
    pc_profile(&p);
    cr_assert_eq(mla_fc_profile_encode(&p, NAN, 1, text, sizeof text, &err), MLA_EINVAL);
    cr_assert_eq(mla_fc_profile_encode(&p, T0, 1, text, 100, &err), MLA_EINVAL);
    cr_assert_str_eq(text, "untouched");
}

/* Replaces the base64 part of a valid text with that of bytes b (386 of them). */
static void pc_with_bytes(const char *valid, const unsigned char *b, size_t nb, char *out)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t head = (size_t)(strrchr(valid, ' ') - valid) + 1, o = head;
    memcpy(out, valid, head);
    for (size_t i = 0; i < nb; i += 3) {
        unsigned w = (unsigned)b[i] << 16 | (i + 1 < nb ? (unsigned)b[i + 1] << 8 : 0) |
                     (i + 2 < nb ? b[i + 2] : 0);
        out[o++] = a[w >> 18 & 63];
        out[o++] = a[w >> 12 & 63];
        out[o++] = i + 1 < nb ? a[w >> 6 & 63] : '=';
        out[o++] = i + 2 < nb ? a[w & 63] : '=';
    }
    out[o] = '\0';
}

static void pc_rejects(const char *text, const char *why)
{
    struct mla_fc_profile q;
    memset(&q, 0x5a, sizeof q);
    struct mla_fc_profile before = q;
    double t = -1;
    uint64_t k = 7;
    struct mla_err err;
    mla_err_clear(&err);
    cr_assert_eq(mla_fc_profile_decode(text, &q, &t, &k, &err), MLA_EINVAL, "accepted: %.80s",
                 text);
    cr_assert(strstr(err.msg, why), "\"%s\" does not say \"%s\" (%.80s)", err.msg, why, text);
    cr_assert_eq(memcmp(&q, &before, sizeof q), 0, "output written on failure");
    cr_assert_eq(t, -1);
    cr_assert_eq(k, 7);
}

Test(fc_profile_codec, every_malformed_form_is_refused_whole)
{
    struct mla_fc_profile p;
    pc_profile(&p);
    char ok[MLA_FC_PROFILE_TEXT_LEN + 1], bad[4096];
    pc_encode(&p, T0, 0x0123456789abcdefull, ok);
    pc_rejects(NULL, "no text");
    pc_rejects("", "version");
    pc_rejects("v2 1 0123456789abcdef AAAA", "version \"v2\"");
    pc_rejects("V1 1 0123456789abcdef AAAA", "version");
    snprintf(bad, sizeof bad, " %s", ok);
    pc_rejects(bad, "version");
    pc_rejects("v1", "version");
    pc_rejects("v1 ", "time");
    pc_rejects("v1 -5 0123456789abcdef AAAA", "time");
    pc_rejects("v1 0123 0123456789abcdef AAAA", "time");
    pc_rejects("v1 1e9 0123456789abcdef AAAA", "time");
    pc_rejects("v1 100000000000 0123456789abcdef AAAA", "time");
    pc_rejects("v1 1764930000 0123456789ABCDEF AAAA", "key");
    pc_rejects("v1 1764930000 0123456789abcde AAAA", "key");
    pc_rejects("v1 1764930000 0123456789abcdef0 AAAA", "key");
    pc_rejects("v1 1764930000 0123456789abcdef", "key");
    /* the data: truncated, one more character, whitespace, a trailing newline, another
     * alphabet, bad padding */
    snprintf(bad, sizeof bad, "%.*s", (int)strlen(ok) - 4, ok);
    pc_rejects(bad, "base64");
    snprintf(bad, sizeof bad, "%sA", ok);
    pc_rejects(bad, "base64");
    snprintf(bad, sizeof bad, "%s\n", ok);
    pc_rejects(bad, "base64");
    snprintf(bad, sizeof bad, "%s", ok);
    bad[100] = '-';
    pc_rejects(bad, "not base64 at character");
    snprintf(bad, sizeof bad, "%s", ok);
    bad[100] = ' ';
    pc_rejects(bad, "not base64");
    snprintf(bad, sizeof bad, "%s", ok);
    bad[strlen(bad) - 1] = 'A'; /* no padding */
    pc_rejects(bad, "not base64");
    snprintf(bad, sizeof bad, "%s", ok);
    bad[strlen(bad) - 2] = 'B'; /* padding bits set: the text is not canonical */
    pc_rejects(bad, "canonical");
    snprintf(bad, sizeof bad, "%s", ok);
    bad[200] = '=';
    pc_rejects(bad, "not base64");
    /* a huge string is refused before it is read */
    static char huge[1 << 20];
    memset(huge, 'A', sizeof huge - 1);
    memcpy(huge, ok, strlen(ok));
    pc_rejects(huge, "longer than");
    /* well-formed base64 of bytes that are not a profile */
    unsigned char b[386];
    memset(b, 0, sizeof b);
    for (size_t i = 260; i < 386; i += 3) { /* counts 16: 010000 x 4 = 0x410410 */
        b[i] = 0x41;
        b[i + 1] = 0x04;
        b[i + 2] = 0x10;
    }
    float lo, hi;
    struct {
        float lo, hi;
        const char *why;
    } ranges[] = {{NAN, 1, "range"},  {0, NAN, "range"},       {-1, 2, "range"},
                  {3, 2, "range"},    {0, INFINITY, "range"}, {-INFINITY, 1, "range"},
                  {0, 64.5f, "range"}};
    for (size_t i = 0; i < sizeof ranges / sizeof *ranges; i++) {
        lo = ranges[i].lo;
        hi = ranges[i].hi;
        memcpy(b, &lo, 4); /* little-endian host: the format's byte order */
        memcpy(b + 4, &hi, 4);
        pc_with_bytes(ok, b, sizeof b, bad);
        pc_rejects(bad, ranges[i].why);
    }
    lo = 1;
    hi = 2;
    memcpy(b, &lo, 4);
    memcpy(b + 4, &hi, 4);
    pc_with_bytes(ok, b, sizeof b, bad);
    struct mla_fc_profile q;
    double t;
    uint64_t k;
    cr_assert_eq(mla_fc_profile_decode(bad, &q, &t, &k, NULL), MLA_OK, "the frame of this test");
    cr_assert_eq(q.v[0], 1);
    cr_assert_eq(q.n[167], 16);
    b[385] &= 0xc0; /* hour 167 without a point */
    pc_with_bytes(ok, b, sizeof b, bad);
    pc_rejects(bad, "hour 167");
    pc_with_bytes(ok, b, 385, bad); /* one byte short */
    pc_rejects(bad, "base64");
}
