/* forecast/profile_codec.c - the text form of the loop's carried weekly profile (fc.h, struct
 * mla_fc_profile) for the ScaledObject annotation ml-autoscaling.io/forecast-profile:
 *
 *   "v1 <newest> <key> <base64>"
 *
 * newest: Unix seconds (decimal) of the newest point folded in; key: 16 lowercase hex digits,
 * mla_fc_profile_key of the text the profile was learnt under (the loop's predictive-config);
 * base64 (RFC 4648, padded): 386 bytes = lo, hi (float32, little-endian: the smallest and the
 * largest value) + 168 values quantized to 12 bits between them (two in 3 bytes, big-endian
 * nibbles) + 168 counts of 6 bits (four in 3 bytes, capped at 63). 547 characters in all.
 * Decoding trusts nothing (any tenant can edit an annotation): every field is checked and the
 * whole text is refused on the first fault. Pure. */
#include <math.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fc-int.h"

#define PC_LEVELS 4095      /* 12 bits */
#define PC_COUNT_MAX 63     /* 6 bits */
#define PC_BYTES (8 + MLA_FC_PROFILE_HOURS * 3 / 2 + MLA_FC_PROFILE_HOURS * 3 / 4)
#define PC_B64 ((PC_BYTES + 2) / 3 * 4)
/* log1p of any load a double holds is below 710; a value above this is not a profile (log1p of
 * 1e27 requests a step is 62) */
#define PC_VALUE_MAX 64.0

/* the decoder's alphabet (the encoder is OpenSSL's EVP_EncodeBlock): decoding is strict and
 * says where a text goes wrong, which EVP_DecodeBlock does not */
static const char pc_alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

uint64_t mla_fc_profile_key(const char *text)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (const char *s = text ? text : ""; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void pc_put_f32(unsigned char *b, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    for (int i = 0; i < 4; i++)
        b[i] = (unsigned char)(u >> (8 * i));
}

static float pc_get_f32(const unsigned char *b)
{
    uint32_t u = 0;
    for (int i = 0; i < 4; i++)
        u |= (uint32_t)b[i] << (8 * i);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* The value of level q between lo and hi: the one formula both sides use, so that encoding a
 * decoded profile gives the same levels back (q = 0 and q = PC_LEVELS give lo and hi exactly). */
static float pc_level(float lo, float hi, unsigned q)
{
    return (float)((double)lo + (double)q * ((double)hi - (double)lo) / PC_LEVELS);
}

enum mla_code mla_fc_profile_encode(const struct mla_fc_profile *p, double newest_t,
                                    uint64_t key, char *out, size_t outlen,
                                    struct mla_err *err)
{
    if (!mla_fc_profile_ready(p))
        return mla_err_set(err, MLA_EINVAL, "weekly profile not ready (an hour has no point)");
    if (!(newest_t >= 1 && newest_t < 1e11))
        return mla_err_set(err, MLA_EINVAL, "weekly profile: newest point time %g out of range",
                           newest_t);
    if (outlen < MLA_FC_PROFILE_TEXT_LEN + 1)
        return mla_err_set(err, MLA_EINVAL, "weekly profile: buffer of %zu bytes, need %d",
                           outlen, MLA_FC_PROFILE_TEXT_LEN + 1);
    float lo = INFINITY, hi = -INFINITY;
    for (size_t h = 0; h < MLA_FC_PROFILE_HOURS; h++) {
        float v = p->v[h];
        if (!(v >= 0 && v <= PC_VALUE_MAX))
            return mla_err_set(err, MLA_EINVAL, "weekly profile: hour %zu holds %g, outside "
                               "0..%g", h, (double)v, PC_VALUE_MAX);
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    unsigned char b[PC_BYTES] = {0};
    pc_put_f32(b, lo);
    pc_put_f32(b + 4, hi);
    unsigned char *q = b + 8, *c = q + MLA_FC_PROFILE_HOURS * 3 / 2;
    for (size_t h = 0; h < MLA_FC_PROFILE_HOURS; h += 2) {
        unsigned k[2];
        for (size_t j = 0; j < 2; j++) {
            double r = hi > lo ? ((double)p->v[h + j] - lo) / ((double)hi - lo) * PC_LEVELS : 0;
            k[j] = (unsigned)floor(r + 0.5);
            k[j] = k[j] > PC_LEVELS ? PC_LEVELS : k[j];
        }
        q[h / 2 * 3] = (unsigned char)(k[0] >> 4);
        q[h / 2 * 3 + 1] = (unsigned char)((k[0] & 15) << 4 | k[1] >> 8);
        q[h / 2 * 3 + 2] = (unsigned char)(k[1] & 255);
    }
    for (size_t h = 0; h < MLA_FC_PROFILE_HOURS; h += 4) {
        uint32_t w = 0;
        for (size_t j = 0; j < 4; j++) {
            unsigned n = p->n[h + j] > PC_COUNT_MAX ? PC_COUNT_MAX : p->n[h + j];
            w = w << 6 | n;
        }
        c[h / 4 * 3] = (unsigned char)(w >> 16);
        c[h / 4 * 3 + 1] = (unsigned char)(w >> 8);
        c[h / 4 * 3 + 2] = (unsigned char)w;
    }
    unsigned char b64[PC_B64 + 1];
    EVP_EncodeBlock(b64, b, PC_BYTES); /* padded RFC 4648, NUL-terminated */
    int len = snprintf(out, outlen, "v1 %lld %016llx %s", (long long)floor(newest_t),
                       (unsigned long long)key, b64);
    if (len < 0 || (size_t)len >= outlen)
        return mla_err_set(err, MLA_EINVAL, "weekly profile: buffer of %zu bytes too small",
                           outlen);
    return MLA_OK;
}

static int pc_b64_val(char ch)
{
    const char *p = ch ? strchr(pc_alpha, ch) : NULL;
    return p ? (int)(p - pc_alpha) : -1;
}

/* The strict base64 of exactly PC_BYTES bytes (canonical: padded, the unused bits zero). */
static enum mla_code pc_b64_decode(const char *s, size_t len, unsigned char *b,
                                   struct mla_err *err)
{
    if (len != PC_B64)
        return mla_err_set(err, MLA_EINVAL, "data is %zu characters of base64, want %d", len,
                           PC_B64);
    size_t pad = PC_B64 / 4 * 3 - PC_BYTES, o = 0;
    for (size_t i = 0; i < len; i += 4) {
        uint32_t w = 0;
        for (size_t j = 0; j < 4; j++) {
            bool padded = i + 4 == len && j >= 4 - pad;
            int v = padded ? (s[i + j] == '=' ? 0 : -1) : pc_b64_val(s[i + j]);
            if (v < 0)
                return mla_err_set(err, MLA_EINVAL, "data: not base64 at character %zu",
                                   i + j + 1);
            w = w << 6 | (uint32_t)v;
        }
        unsigned char t[3] = {(unsigned char)(w >> 16), (unsigned char)(w >> 8),
                              (unsigned char)w};
        for (size_t j = 0; j < 3; j++) {
            if (o < PC_BYTES)
                b[o++] = t[j];
            else if (t[j])
                return mla_err_set(err, MLA_EINVAL, "data: base64 not canonical (padding bits)");
        }
    }
    return MLA_OK;
}

enum mla_code mla_fc_profile_decode(const char *text, struct mla_fc_profile *out,
                                    double *newest_t, uint64_t *key, struct mla_err *err)
{
    if (!text)
        return mla_err_set(err, MLA_EINVAL, "no text");
    size_t len = strnlen(text, MLA_FC_PROFILE_TEXT_MAX + 1);
    if (len > MLA_FC_PROFILE_TEXT_MAX)
        return mla_err_set(err, MLA_EINVAL, "longer than %d characters",
                           MLA_FC_PROFILE_TEXT_MAX);
    if (strncmp(text, "v1 ", 3) != 0) {
        size_t v = strcspn(text, " ");
        return mla_err_set(err, MLA_EINVAL, "version \"%.*s\" is not v1 (the format "
                           "\"v1 <unix seconds> <16 hex digits> <base64>\")",
                           (int)(v > 16 ? 16 : v), text);
    }
    const char *s = text + 3;
    size_t nd = 0;
    long long t = 0;
    while (s[nd] >= '0' && s[nd] <= '9' && nd < 12)
        t = t * 10 + (s[nd++] - '0');
    if (nd == 0 || s[nd] != ' ' || s[0] == '0' || t >= 100000000000LL)
        return mla_err_set(err, MLA_EINVAL, "time: not Unix seconds (1 to 11 digits, no "
                           "leading zero)");
    s += nd + 1;
    uint64_t k = 0;
    for (size_t i = 0; i < 16; i++) {
        char ch = s[i];
        int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
        if (d < 0)
            return mla_err_set(err, MLA_EINVAL, "key: not 16 lowercase hex digits");
        k = k << 4 | (uint64_t)d;
    }
    if (s[16] != ' ')
        return mla_err_set(err, MLA_EINVAL, "key: not 16 lowercase hex digits");
    s += 17;
    unsigned char b[PC_BYTES];
    enum mla_code rc = pc_b64_decode(s, strlen(s), b, err);
    if (rc)
        return rc;
    float lo = pc_get_f32(b), hi = pc_get_f32(b + 4);
    if (!(lo >= 0 && lo <= hi && hi <= PC_VALUE_MAX))
        return mla_err_set(err, MLA_EINVAL, "range %g..%g: want 0 <= low <= high <= %g",
                           (double)lo, (double)hi, PC_VALUE_MAX);
    struct mla_fc_profile p;
    const unsigned char *q = b + 8, *c = q + MLA_FC_PROFILE_HOURS * 3 / 2;
    for (size_t h = 0; h < MLA_FC_PROFILE_HOURS; h += 2) {
        unsigned k0 = (unsigned)q[h / 2 * 3] << 4 | q[h / 2 * 3 + 1] >> 4;
        unsigned k1 = (unsigned)(q[h / 2 * 3 + 1] & 15) << 8 | q[h / 2 * 3 + 2];
        p.v[h] = pc_level(lo, hi, k0);
        p.v[h + 1] = pc_level(lo, hi, k1);
    }
    for (size_t h = 0; h < MLA_FC_PROFILE_HOURS; h += 4) {
        uint32_t w = (uint32_t)c[h / 4 * 3] << 16 | (uint32_t)c[h / 4 * 3 + 1] << 8 |
                     c[h / 4 * 3 + 2];
        for (size_t j = 0; j < 4; j++) {
            p.n[h + j] = (unsigned char)(w >> (6 * (3 - j)) & 63);
            if (!p.n[h + j])
                return mla_err_set(err, MLA_EINVAL, "hour %zu of the week has no point (a "
                                   "stored profile has all 168)", h + j);
        }
    }
    *out = p;
    *newest_t = (double)t;
    *key = k;
    return MLA_OK;
}
