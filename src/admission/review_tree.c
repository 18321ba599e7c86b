/* admission/review_tree.c - the cJSON tree of a body the skim accepted, built straight from
 * its bytes (review_skim.h, mla_review_skim_tree).
 *
 * Why: parsing the cut review with cJSON was a quarter of an opted-in admission. cJSON's
 * parser checks every byte again (the skim already did), copies each number into a buffer
 * and asks localeconv() before strtod, and finds each string's end in one pass and copies it
 * in another, byte by byte. Here the body is known to be what cJSON accepts, so the builder
 * only does what leaves a trace in the tree, in cJSON 1.7's own way: the same node links
 * (first child's prev is the last child), the same strings (escapes decoded as its
 * parse_string and utf16_literal_to_utf8 decode them, \u with a non-hex digit included), the
 * same numbers (the characters its parse_number copies, through strtod), the
 * same allocations through cJSON's hooks, so that cJSON_Delete frees the tree. The cut values
 * become null nodes without being copied first. Held to cJSON_ParseWithLengthOpts on the cut
 * copy by a differential test (tests/unit/test_review_skim.c) and the review fuzz target.
 */
#include "mla/review_skim.h"

#include <limits.h>
#include <locale.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "admission-int.h"
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "mla/arena.h"

struct rt {
    const unsigned char *s;
    size_t len, at;
    const struct mla_review_cuts *cuts;
    size_t ci; /* the next cut that may start at or after `at` */
    size_t next_cut; /* cuts->cut[ci].from, SIZE_MAX past the last: nothing to check before */
};

static void rt_ws(struct rt *t)
{
    while (t->at < t->len && t->s[t->at] <= 32)
        t->at++;
}

/* Nodes and strings come from mla_arena_cjson_malloc (what cJSON_malloc returns, without its
 * wrapper's calls): a review's tree is a couple of hundred allocations. */
static inline cJSON *rt_node(void)
{
    cJSON *n = mla_arena_cjson_malloc(sizeof *n);
    if (n)
        *n = (cJSON){0};
    return n;
}

/* cJSON's utf16_literal_to_utf8 on a \u sequence at p (before end): bytes written to *o, the
 * length of the sequence read, 0 where cJSON fails. */
static size_t rt_utf16(const unsigned char *p, const unsigned char *end, unsigned char **o)
{
    if (end - p < 6)
        return 0;
    unsigned long cp;
    unsigned first = mla__adm_hex4(p + 2);
    size_t seq = 6;
    if (first >= 0xDC00 && first <= 0xDFFF)
        return 0;
    if (first >= 0xD800 && first <= 0xDBFF) {
        const unsigned char *q = p + 6;
        if (end - q < 6 || q[0] != '\\' || q[1] != 'u')
            return 0;
        unsigned second = mla__adm_hex4(q + 2);
        if (second < 0xDC00 || second > 0xDFFF)
            return 0;
        cp = 0x10000 + (((first & 0x3FF) << 10) | (second & 0x3FF));
        seq = 12;
    } else {
        cp = first;
    }
    unsigned n;
    unsigned char mark = 0;
    if (cp < 0x80) {
        n = 1;
    } else if (cp < 0x800) {
        n = 2;
        mark = 0xC0;
    } else if (cp < 0x10000) {
        n = 3;
        mark = 0xE0;
    } else if (cp <= 0x10FFFF) {
        n = 4;
        mark = 0xF0;
    } else {
        return 0;
    }
    for (unsigned i = n - 1; i > 0; i--) {
        (*o)[i] = (unsigned char)((cp | 0x80) & 0xBF);
        cp >>= 6;
    }
    (*o)[0] = n > 1 ? (unsigned char)((cp | mark) & 0xFF) : (unsigned char)(cp & 0x7F);
    *o += n;
    return seq;
}

/* The string at t->at (its opening quote), decoded into a new cJSON_malloc block; NULL when
 * cJSON would fail or memory is out. */
static char *rt_string(struct rt *t)
{
    const unsigned char *b = t->s + t->at + 1, *end = b, *lim = t->s + t->len;
    size_t skipped = 0;
    /* Most strings have no escape: the first quote ends them. The first quote or backslash,
     * 16 bytes at a time (most strings are short keys: two memchr calls cost more). */
    const unsigned char *q = b;
#ifdef __SSE2__
    const __m128i quote = _mm_set1_epi8('"'), bsl = _mm_set1_epi8('\\');
    for (; lim - q >= 16; q += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)q);
        unsigned m = (unsigned)_mm_movemask_epi8(
            _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bsl)));
        if (m) {
            q += __builtin_ctz(m);
            break;
        }
    }
#endif
    while (q < lim && *q != '"' && *q != '\\')
        q++;
    if (q < lim && *q == '"') {
        end = q;
    } else {
        while (end < lim && *end != '"') {
            if (*end == '\\') {
                if (end + 1 >= lim)
                    return NULL;
                skipped++;
                end++;
            }
            end++;
        }
    }
    if (end >= lim)
        return NULL;
    unsigned char *out = mla_arena_cjson_malloc((size_t)(end - b) - skipped + 1), *o = out;
    if (!out)
        return NULL;
    if (!skipped) {
        memcpy(out, b, (size_t)(end - b));
        o += end - b;
    } else {
        for (const unsigned char *p = b; p < end;) {
            if (*p != '\\') {
                *o++ = *p++;
                continue;
            }
            size_t seq = 2;
            switch (p[1]) {
            case 'b': *o++ = '\b'; break;
            case 'f': *o++ = '\f'; break;
            case 'n': *o++ = '\n'; break;
            case 'r': *o++ = '\r'; break;
            case 't': *o++ = '\t'; break;
            case '"':
            case '\\':
            case '/': *o++ = p[1]; break;
            case 'u':
                seq = rt_utf16(p, end, &o);
                if (!seq) {
                    cJSON_free(out);
                    return NULL;
                }
                break;
            default:
                cJSON_free(out);
                return NULL;
            }
            p += seq;
        }
    }
    *o = '\0';
    t->at = (size_t)(end - t->s) + 1;
    return (char *)out;
}

/* What cJSON's parse_number stores for the double v. */
static void rt_number_set(cJSON *item, double v)
{
    item->valuedouble = v;
    if (v >= INT_MAX)
        item->valueint = INT_MAX;
    else if (v <= (double)INT_MIN)
        item->valueint = INT_MIN;
    else
        item->valueint = (int)v;
    item->type = cJSON_Number;
}

/* cJSON's parse_number as Debian's 1.7.15 has it (with the unbounded number buffer of later
 * releases): the whole run of [0-9+-.eE] copied ('.' as the locale's decimal point), strtod
 * on it, the input advanced by what strtod read. */
static bool rt_number(struct rt *t, cJSON *item)
{
    unsigned char small[64], *num = small;
    size_t m = 0;
    bool plain = true; /* '-'? then digits only */
    for (; t->at + m < t->len; m++) {
        unsigned char c = t->s[t->at + m];
        if (c >= '0' && c <= '9')
            continue;
        if (!(c == '+' || c == '-' || c == 'e' || c == 'E' || c == '.'))
            break;
        if (!(c == '-' && m == 0))
            plain = false;
    }
    /* A run of at most 15 digits (optionally after '-') is an integer below 2^53: strtod
     * consumes it whole and rounds it to itself, so the double is the integer's conversion, bit
     * for bit ("-0" included: -(0.0) is -0.0), without strtod's cost (most numbers of a review
     * are replicas, ports and generations). */
    size_t neg = m && t->s[t->at] == '-';
    if (plain && m > neg && m - neg <= 15) {
        uint64_t u = 0;
        for (size_t i = neg; i < m; i++)
            u = u * 10 + (uint64_t)(t->s[t->at + i] - '0');
        double v = (double)u;
        rt_number_set(item, neg ? -v : v);
        t->at += m;
        return true;
    }
    unsigned char dp = (unsigned char)*localeconv()->decimal_point;
    if (m >= sizeof small) {
        num = malloc(m + 1);
        if (!num)
            return false;
    }
    for (size_t i = 0; i < m; i++)
        num[i] = t->s[t->at + i] == '.' ? dp : t->s[t->at + i];
    num[m] = '\0';
    char *after = NULL;
    double v = strtod((const char *)num, &after);
    size_t used = (size_t)(after - (char *)num);
    if (num != small)
        free(num);
    if (!used)
        return false;
    rt_number_set(item, v);
    t->at += used;
    return true;
}

static bool rt_value(struct rt *t, cJSON *item);

/* An array or object at t->at; children linked as cJSON links them. */
static bool rt_container(struct rt *t, cJSON *item, bool obj)
{
    cJSON *head = NULL, *cur = NULL;
    t->at++;
    rt_ws(t);
    if (t->at >= t->len)
        return false;
    if (t->s[t->at] != (obj ? '}' : ']')) {
        for (;;) {
            cJSON *n = rt_node();
            if (!n)
                return false;
            if (!head) {
                head = n;
            } else {
                cur->next = n;
                n->prev = cur;
            }
            cur = n;
            /* linked before it is filled: a failure below frees it with the rest */
            item->child = head;
            if (obj) {
                if (t->at >= t->len || t->s[t->at] != '"' || !(n->string = rt_string(t)))
                    return false;
                rt_ws(t);
                if (t->at >= t->len || t->s[t->at] != ':')
                    return false;
                t->at++;
                rt_ws(t);
            }
            if (!rt_value(t, n))
                return false;
            rt_ws(t);
            if (t->at >= t->len)
                return false;
            if (t->s[t->at] != ',')
                break;
            t->at++;
            rt_ws(t);
        }
        if (t->s[t->at] != (obj ? '}' : ']'))
            return false;
    }
    if (head)
        head->prev = cur;
    item->type = obj ? cJSON_Object : cJSON_Array;
    item->child = head;
    t->at++;
    return true;
}

static bool rt_value(struct rt *t, cJSON *item)
{
    if (t->at >= t->next_cut) { /* a handful of values per review: checked once a value */
        const struct mla_review_cuts *c = t->cuts;
        while (t->ci < c->n && c->cut[t->ci].from < t->at)
            t->ci++;
        bool hit = t->ci < c->n && c->cut[t->ci].from == t->at;
        size_t to = hit ? c->cut[t->ci++].to : 0;
        t->next_cut = t->ci < c->n ? c->cut[t->ci].from : SIZE_MAX;
        if (hit && to - t->at >= 4) { /* what adm_parse_skimmed's copy held: null */
            item->type = cJSON_NULL;
            t->at = to;
            return true;
        }
    }
    if (t->at >= t->len)
        return false;
    const unsigned char *p = t->s + t->at;
    size_t left = t->len - t->at;
    switch (*p) {
    case 'n':
        if (left < 4 || memcmp(p, "null", 4))
            return false;
        item->type = cJSON_NULL;
        t->at += 4;
        return true;
    case 'f':
        if (left < 5 || memcmp(p, "false", 5))
            return false;
        item->type = cJSON_False;
        t->at += 5;
        return true;
    case 't':
        if (left < 4 || memcmp(p, "true", 4))
            return false;
        item->type = cJSON_True;
        item->valueint = 1;
        t->at += 4;
        return true;
    case '"':
        item->valuestring = rt_string(t);
        if (!item->valuestring)
            return false;
        item->type = cJSON_String;
        return true;
    case '[':
        return rt_container(t, item, false);
    case '{':
        return rt_container(t, item, true);
    default:
        if (*p == '-' || (*p >= '0' && *p <= '9'))
            return rt_number(t, item);
        return false;
    }
}

cJSON *mla_review_skim_tree(const char *body, size_t len, const struct mla_review_cuts *cuts)
{
    struct rt t = {.s = (const unsigned char *)body, .len = len, .cuts = cuts,
                   .next_cut = cuts->n ? cuts->cut[0].from : SIZE_MAX};
    if (len >= 3 && !memcmp(body, "\xEF\xBB\xBF", 3))
        t.at = 3; /* cJSON skips a UTF-8 byte order mark */
    rt_ws(&t);
    cJSON *root = rt_node();
    if (!root)
        return NULL;
    if (!rt_value(&t, root)) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}
