/* admission/review_skim.c - a validating JSON scan that mirrors cJSON 1.7's parser (see
 * review_skim.h) and records the values the decision never reads.
 *
 * Each rule below copies one of cJSON's, quirks included, because the point is to accept
 * exactly what cJSON accepts: every byte <= 32 is whitespace (NUL too); numbers are what
 * strtod makes of the run of characters from [0-9+-.eE]; inside strings raw control bytes and
 * invalid UTF-8 pass, `\u` takes any 4 characters (non-hex ones make U+0000) but a lone or
 * reversed surrogate fails. The differential test (tests/unit/test_review_skim.c) holds this
 * to cJSON on many generated and mutated bodies.
 */
#include "mla/review_skim.h"

#include <stdlib.h>
#include <string.h>

#include "admission-int.h"
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "mla/mem.h"
#include "mla/policy_model.h"

/* Where a value sits, as far as cutting and the facts are concerned (review_skim.h). The
 * old* places are oldObject's, which is cut like object. */
enum sk_where {
    W_ROOT, W_REQUEST, W_GVK, W_USERINFO, W_OBJECT, W_OLDOBJECT, W_METADATA, W_OLDMETA, W_ANN,
    W_OLDANN, W_OLDLABELS, W_SPEC, W_OTHER
};
#define SK_NO_FACT MLA_RF_COUNT

struct sk {
    const unsigned char *s;
    size_t len, at;
    size_t depth, max_depth;
    struct mla_review_cuts *cuts;
};

static void sk_ws(struct sk *k)
{
    while (k->at < k->len && k->s[k->at] <= 32)
        k->at++;
}

static inline __attribute__((always_inline)) bool sk_value(struct sk *k, enum sk_where w);

static bool sk_string_escapes(const struct sk *k, size_t end);

/* A string at k->at (a '"'); on success k->at is past the closing quote and [*b, *e) is the raw
 * content. cJSON first finds the end (a backslash hides the next byte), then decodes escapes.
 * Inlined into its callers: strings (keys above all) are most of a review's tokens, and a call
 * per string cost more than its scan. Escapes are checked out of line. */
static inline __attribute__((always_inline)) bool sk_string(struct sk *k, size_t *b, size_t *e)
{
    const unsigned char *s = k->s;
    size_t i = k->at + 1;
    bool escaped = false;
    /* cJSON's own end scan (a backslash hides the next byte), 16 bytes at a time to the next
     * quote or backslash: string bytes are most of a review. */
    for (;;) {
#ifdef __SSE2__
        const __m128i quote = _mm_set1_epi8('"'), bsl = _mm_set1_epi8('\\');
        while (i + 16 <= k->len) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
            unsigned m = (unsigned)_mm_movemask_epi8(
                _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bsl)));
            if (m) {
                i += (size_t)__builtin_ctz(m);
                break;
            }
            i += 16;
        }
#endif
        while (i < k->len && s[i] != '"' && s[i] != '\\')
            i++;
        if (i >= k->len)
            return false;
        if (s[i] == '"')
            break;
        if (i + 1 >= k->len)
            return false;
        escaped = true;
        i += 2;
    }
    size_t end = i;
    if (escaped && !sk_string_escapes(k, end))
        return false;
    *b = k->at + 1;
    *e = end;
    k->at = end + 1;
    return true;
}

/* The escapes of the string from k->at (its opening quote) to end (its closing quote), as
 * cJSON decodes them. */
static bool sk_string_escapes(const struct sk *k, size_t end)
{
    const unsigned char *s = k->s;
    const unsigned char *p = memchr(s + k->at + 1, '\\', end - (k->at + 1));
    const unsigned char *pe = s + end;
    while (p) {
        switch (p[1]) {
        case 'b': case 'f': case 'n': case 'r': case 't': case '"': case '\\': case '/':
            p += 2;
            break;
        case 'u': {
            if (pe - p < 6)
                return false;
            unsigned c1 = mla__adm_hex4(p + 2);
            if (c1 >= 0xDC00 && c1 <= 0xDFFF)
                return false;
            if (c1 >= 0xD800 && c1 <= 0xDBFF) {
                if (pe - (p + 6) < 6 || p[6] != '\\' || p[7] != 'u')
                    return false;
                unsigned c2 = mla__adm_hex4(p + 8);
                if (c2 < 0xDC00 || c2 > 0xDFFF)
                    return false;
                p += 12;
            } else {
                p += 6;
            }
            break;
        }
        default:
            return false;
        }
        p = p < pe ? memchr(p, '\\', (size_t)(pe - p)) : NULL;
    }
    return true;
}

static bool sk_numchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || c == '+' || c == '-' || c == 'e' || c == 'E' || c == '.';
}

/* cJSON's parse_number (1.7.15 as Debian ships it, with the unbounded number buffer of later
 * releases): strtod over a copy of the run of [0-9+-.eE]. A run of plain digits (optionally
 * after '-') is what strtod consumes whole, so it needs no strtod. */
static bool sk_number(struct sk *k)
{
    size_t n = 0;
    bool plain = true;
    while (k->at + n < k->len && sk_numchar(k->s[k->at + n])) {
        unsigned char c = k->s[k->at + n];
        if (!(c >= '0' && c <= '9') && !(c == '-' && n == 0))
            plain = false;
        n++;
    }
    if (plain && n > (k->s[k->at] == '-' ? 1u : 0u)) {
        k->at += n;
        return true;
    }
    char small[64];
    char *buf = n < sizeof small ? small : mla_xmalloc(n + 1);
    memcpy(buf, k->s + k->at, n);
    buf[n] = '\0';
    char *after = buf;
    (void)strtod(buf, &after);
    size_t used = (size_t)(after - buf);
    if (buf != small)
        free(buf);
    if (!used)
        return false;
    k->at += used;
    return true;
}

static bool sk_key_is(const struct sk *k, size_t b, size_t e, const char *lit)
{
    size_t n = strlen(lit);
    return e - b == n && !memcmp(k->s + b, lit, n);
}

/* The fact the member `key` of an object at w is, if any, and where its value sits. */
static enum sk_where sk_fact(const struct sk *k, enum sk_where w, size_t b, size_t e,
                             unsigned *fact)
{
    enum sk_where cw = W_OTHER;
    *fact = SK_NO_FACT;
    switch (w) {
    case W_ROOT:
        if (sk_key_is(k, b, e, "request"))
            *fact = MLA_RF_REQUEST, cw = W_REQUEST;
        else if (sk_key_is(k, b, e, "apiVersion"))
            *fact = MLA_RF_API_VERSION;
        else if (sk_key_is(k, b, e, "kind"))
            *fact = MLA_RF_KIND;
        break;
    case W_REQUEST:
        if (sk_key_is(k, b, e, "object"))
            *fact = MLA_RF_OBJECT, cw = W_OBJECT;
        else if (sk_key_is(k, b, e, "oldObject"))
            *fact = MLA_RF_OLD_OBJECT, cw = W_OLDOBJECT;
        else if (sk_key_is(k, b, e, "uid"))
            *fact = MLA_RF_UID;
        else if (sk_key_is(k, b, e, "kind"))
            *fact = MLA_RF_GVK, cw = W_GVK;
        else if (sk_key_is(k, b, e, "operation"))
            *fact = MLA_RF_OPERATION;
        else if (sk_key_is(k, b, e, "subResource"))
            *fact = MLA_RF_SUB_RESOURCE;
        else if (sk_key_is(k, b, e, "dryRun"))
            *fact = MLA_RF_DRY_RUN;
        break;
    case W_GVK:
        if (sk_key_is(k, b, e, "group"))
            *fact = MLA_RF_GVK_GROUP;
        else if (sk_key_is(k, b, e, "version"))
            *fact = MLA_RF_GVK_VERSION;
        else if (sk_key_is(k, b, e, "kind"))
            *fact = MLA_RF_GVK_KIND;
        break;
    case W_OBJECT:
        if (sk_key_is(k, b, e, "metadata"))
            *fact = MLA_RF_META, cw = W_METADATA;
        break;
    case W_OLDOBJECT:
        if (sk_key_is(k, b, e, "metadata"))
            *fact = MLA_RF_OLD_META, cw = W_OLDMETA;
        break;
    case W_METADATA:
        if (sk_key_is(k, b, e, "annotations"))
            *fact = MLA_RF_ANN, cw = W_ANN;
        break;
    case W_OLDMETA:
        if (sk_key_is(k, b, e, "annotations"))
            *fact = MLA_RF_OLD_ANN, cw = W_OLDANN;
        else if (sk_key_is(k, b, e, "labels"))
            *fact = MLA_RF_OLD_LABELS, cw = W_OLDLABELS;
        break;
    case W_ANN:
        if (sk_key_is(k, b, e, MLA_ANN_PREFIX "enabled"))
            *fact = MLA_RF_ENABLED;
        break;
    case W_OLDANN:
        if (sk_key_is(k, b, e, MLA_ANN_PREFIX "enabled"))
            *fact = MLA_RF_OLD_ENABLED;
        break;
    case W_OLDLABELS:
        if (sk_key_is(k, b, e, MLA_ANN_PREFIX "managed"))
            *fact = MLA_RF_OLD_MANAGED;
        break;
    default:
        break;
    }
    /* A later duplicate is not what cJSON's lookup finds: neither it nor anything in it is a
     * fact. */
    if (*fact != SK_NO_FACT && k->cuts->fact[*fact].to) {
        *fact = SK_NO_FACT;
        cw = W_OTHER;
    }
    return cw;
}

/* What the member `key` of an object at w holds; W_OTHER with *cut when it is skippable. */
static enum sk_where sk_child(const struct sk *k, enum sk_where w, size_t b, size_t e, bool *cut,
                             unsigned *fact)
{
    *cut = false;
    enum sk_where cw = sk_fact(k, w, b, e, fact);
    switch (w) {
    case W_REQUEST:
        if (cw == W_OTHER && sk_key_is(k, b, e, "userInfo"))
            return W_USERINFO;
        *cut = sk_key_is(k, b, e, "options") || sk_key_is(k, b, e, "requestKind") ||
               sk_key_is(k, b, e, "requestResource");
        return cw;
    case W_USERINFO:
        *cut = sk_key_is(k, b, e, "groups") || sk_key_is(k, b, e, "extra");
        return W_OTHER;
    case W_OBJECT:
    case W_OLDOBJECT:
        if (cw == W_OTHER && sk_key_is(k, b, e, "spec"))
            return W_SPEC;
        *cut = sk_key_is(k, b, e, "status");
        return cw;
    case W_METADATA:
    case W_OLDMETA:
        *cut = sk_key_is(k, b, e, "managedFields");
        return cw;
    case W_SPEC:
        *cut = sk_key_is(k, b, e, "strategy");
        return W_OTHER;
    default:
        return cw;
    }
}

/* Whether the key body[b, e) has a backslash or a NUL byte (review_skim.h, fact_unsure). Keys
 * are short: 16 bytes at a time rather than two memchr calls per key. */
static inline bool sk_key_unsure(const struct sk *k, size_t b, size_t e)
{
    const unsigned char *s = k->s;
#ifdef __SSE2__
    const __m128i bsl = _mm_set1_epi8('\\'), nul = _mm_setzero_si128();
    for (; b + 16 <= k->len && b < e; b += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + b));
        unsigned m = (unsigned)_mm_movemask_epi8(
            _mm_or_si128(_mm_cmpeq_epi8(v, bsl), _mm_cmpeq_epi8(v, nul)));
        if (e - b < 16)
            m &= (1u << (e - b)) - 1;
        if (m)
            return true;
    }
#endif
    for (; b < e; b++)
        if (s[b] == '\\' || s[b] == '\0')
            return true;
    return false;
}

/* sk_container for a value nothing is recorded in (W_OTHER: most of a review, managedFields
 * above all): the same grammar without the cut and fact bookkeeping. */
static bool sk_container_other(struct sk *k, bool obj)
{
    if (++k->depth > k->max_depth)
        return false;
    const unsigned char *s = k->s;
    const unsigned char close = obj ? '}' : ']';
    k->at++;
    sk_ws(k);
    if (k->at < k->len && s[k->at] == close) {
        k->at++;
        k->depth--;
        return true;
    }
    for (;;) {
        sk_ws(k);
        if (obj) {
            size_t b, e;
            if (k->at >= k->len || s[k->at] != '"' || !sk_string(k, &b, &e))
                return false;
            sk_ws(k);
            if (k->at >= k->len || s[k->at] != ':')
                return false;
            k->at++;
            sk_ws(k);
        }
        if (!sk_value(k, W_OTHER))
            return false;
        sk_ws(k);
        if (k->at >= k->len)
            return false;
        if (s[k->at] == ',') {
            k->at++;
            continue;
        }
        if (s[k->at] != close)
            return false;
        k->at++;
        k->depth--;
        return true;
    }
}

/* cJSON's parse_object / parse_array, with k->at on the opening bracket. cJSON's whitespace
 * skip steps back one byte when it reaches the end of the input; that only ever turns an
 * unterminated container into a failure at another offset, which is a failure here too. */
static bool sk_container(struct sk *k, enum sk_where w, bool obj)
{
    if (++k->depth > k->max_depth)
        return false;
    k->at++;
    sk_ws(k);
    if (k->at < k->len && k->s[k->at] == (obj ? '}' : ']')) {
        k->at++;
        k->depth--;
        return true;
    }
    for (;;) {
        sk_ws(k);
        if (obj) {
            size_t b, e;
            if (k->at >= k->len || k->s[k->at] != '"' || !sk_string(k, &b, &e))
                return false;
            sk_ws(k);
            if (k->at >= k->len || k->s[k->at] != ':')
                return false;
            k->at++;
            sk_ws(k);
            if (w != W_OTHER && w != W_SPEC && w != W_USERINFO && sk_key_unsure(k, b, e))
                k->cuts->fact_unsure = true;
            bool cut;
            unsigned fact;
            enum sk_where cw = sk_child(k, w, b, e, &cut, &fact);
            size_t from = k->at;
            if (!sk_value(k, cw))
                return false;
            if (fact != SK_NO_FACT) {
                k->cuts->fact[fact].from = from;
                k->cuts->fact[fact].to = k->at;
            }
            if (cut && k->cuts->n < MLA_REVIEW_SKIM_MAX_CUTS) {
                k->cuts->cut[k->cuts->n].from = from;
                k->cuts->cut[k->cuts->n].to = k->at;
                k->cuts->n++;
            }
        } else if (!sk_value(k, W_OTHER)) {
            return false;
        }
        sk_ws(k);
        if (k->at >= k->len)
            return false;
        if (k->s[k->at] == ',') {
            k->at++;
            continue;
        }
        if (k->s[k->at] != (obj ? '}' : ']'))
            return false;
        k->at++;
        k->depth--;
        return true;
    }
}

/* cJSON's parse_value (k->at after whitespace). */
static inline __attribute__((always_inline)) bool sk_value(struct sk *k, enum sk_where w)
{
    if (k->at >= k->len)
        return false;
    size_t left = k->len - k->at;
    const unsigned char *p = k->s + k->at;
    switch (*p) {
    case 'n':
        if (left >= 4 && !memcmp(p, "null", 4)) {
            k->at += 4;
            return true;
        }
        return false;
    case 'f':
        if (left >= 5 && !memcmp(p, "false", 5)) {
            k->at += 5;
            return true;
        }
        return false;
    case 't':
        if (left >= 4 && !memcmp(p, "true", 4)) {
            k->at += 4;
            return true;
        }
        return false;
    case '"': {
        size_t b, e;
        return sk_string(k, &b, &e);
    }
    case '[':
    case '{':
        /* An empty container ({} is a third of managedFields' values) without the call; the
         * depth it would reach still counts. */
        if (left >= 2 && p[1] == (*p == '{' ? '}' : ']') && w == W_OTHER) {
            if (k->depth + 1 > k->max_depth)
                return false;
            k->at += 2;
            return true;
        }
        if (*p == '[')
            return sk_container_other(k, false);
        return w == W_OTHER ? sk_container_other(k, true) : sk_container(k, w, true);
    default:
        if (*p == '-' || (*p >= '0' && *p <= '9'))
            return sk_number(k);
        return false;
    }
}

bool mla_review_skim(const char *body, size_t len, size_t max_depth, struct mla_review_cuts *cuts)
{
    struct sk k = {.s = (const unsigned char *)body, .len = len, .max_depth = max_depth,
                   .cuts = cuts};
    memset(cuts, 0, sizeof *cuts);
    /* cJSON skips a UTF-8 byte order mark first; leave such bodies to it. */
    if (len >= 3 && !memcmp(body, "\xEF\xBB\xBF", 3))
        return false;
    sk_ws(&k);
    if (!sk_value(&k, W_ROOT))
        return false;
    while (k.at < len && (k.s[k.at] == ' ' || k.s[k.at] == '\t' || k.s[k.at] == '\r' ||
                          k.s[k.at] == '\n' || k.s[k.at] == '\0'))
        k.at++;
    return k.at == len;
}
