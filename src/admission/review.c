/* admission/review.c - the admission.k8s.io/v1 AdmissionReview codec (see review.h).
 *
 * Decode first skims the body (review_skim.h: one validating pass that accepts exactly what
 * cJSON accepts and finds managedFields, status and the other values nothing reads), then
 * builds the tree cJSON would parse of a copy in which those values are null (they are a third
 * to a half of a review's nodes) straight from the body (review_tree.c). A body the skim
 * refuses is parsed the old way (a bracket scan that refuses
 * hostile nesting before the recursive parser sees it, then cJSON on the whole body), so every
 * error stays what it was. Every field in the request struct points into the one tree.
 * Encode writes the response by hand into a capped buffer: the response has a fixed shape, and
 * printing it directly avoids building a second cJSON tree on the hot path.
 */
#include "mla/review.h"

#include "admission-int.h"

#include <pthread.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <stdio.h>
#include <string.h>

#include "mla/decide.h"
#include "mla/review_skim.h"

#define ADM_API_VERSION "admission.k8s.io/v1"
#define ADM_KIND "AdmissionReview"

size_t mla_review_json_depth(const char *s, size_t len, size_t limit)
{
    size_t depth = 0, max = 0;
    size_t i = 0;
    while (i < len) {
        char c = s[i++];
        if (c == '"') {
            /* Skip the string with memchr (most of a review is strings): find the next quote
             * that is not escaped, i.e. preceded by an even number of backslashes. */
            for (;;) {
                const char *q = memchr(s + i, '"', len - i);
                if (!q)
                    return max;
                size_t j = (size_t)(q - s), bs = 0;
                while (j - bs > i && s[j - bs - 1] == '\\')
                    bs++;
                i = j + 1;
                if (bs % 2 == 0)
                    break;
            }
        } else if (c == '{' || c == '[') {
            if (++depth > max) {
                max = depth;
                if (max > limit)
                    return max;
            }
        } else if ((c == '}' || c == ']') && depth > 0) {
            depth--;
        }
    }
    return max;
}

static const char *adm_str(const cJSON *obj, const char *key, const char *dflt)
{
    const char *v = cJSON_GetStringValue(mla__adm_get(obj, key));
    return v ? v : dflt;
}

static enum mla_review_op adm_op(const char *s)
{
    if (!strcmp(s, "CREATE"))
        return MLA_OP_CREATE;
    if (!strcmp(s, "UPDATE"))
        return MLA_OP_UPDATE;
    if (!strcmp(s, "DELETE"))
        return MLA_OP_DELETE;
    if (!strcmp(s, "CONNECT"))
        return MLA_OP_CONNECT;
    return MLA_OP_OTHER;
}

/* An object member that must be a JSON object (or absent/null): v is the member, key its
 * name for the message. */
static enum mla_code adm_obj(const cJSON *v, const char *key, const cJSON **out,
                             struct mla_err *err)
{
    if (!v || cJSON_IsNull(v)) {
        *out = NULL;
        return MLA_OK;
    }
    if (!cJSON_IsObject(v))
        return mla_err_set(err, MLA_EINVAL, "request.%s must be a JSON object", key);
    *out = v;
    return MLA_OK;
}

static const char *adm_sv(const cJSON *v, const char *dflt)
{
    const char *s = cJSON_GetStringValue(v);
    return s ? s : dflt;
}

/* The request members adm_fill reads, found in one pass over the request: each is the first
 * member with its key, as cJSON_GetObjectItemCaseSensitive finds it (which also stops at a
 * member without a key), instead of one scan of the request per key. */
struct adm_members {
    const cJSON *kind, *resource, *sub_resource, *operation, *namespace_, *object, *old_object,
        *name, *dry_run, *user_info;
};

static void adm_members(const cJSON *request, struct adm_members *m)
{
    memset(m, 0, sizeof *m);
    for (const cJSON *c = request->child; c && c->string; c = c->next) {
        const char *k = c->string;
        const cJSON **slot = NULL;
        switch (k[0]) {
        case 'k': slot = !strcmp(k, "kind") ? &m->kind : NULL; break;
        case 'r': slot = !strcmp(k, "resource") ? &m->resource : NULL; break;
        case 's': slot = !strcmp(k, "subResource") ? &m->sub_resource : NULL; break;
        case 'o':
            slot = !strcmp(k, "operation") ? &m->operation
                   : !strcmp(k, "object")  ? &m->object
                   : !strcmp(k, "oldObject") ? &m->old_object
                                             : NULL;
            break;
        case 'n':
            slot = !strcmp(k, "namespace") ? &m->namespace_ : !strcmp(k, "name") ? &m->name : NULL;
            break;
        case 'd': slot = !strcmp(k, "dryRun") ? &m->dry_run : NULL; break;
        case 'u': slot = !strcmp(k, "userInfo") ? &m->user_info : NULL; break;
        default: break;
        }
        if (slot && !*slot)
            *slot = c;
    }
}

/* Fills everything but root and uid; MLA_EINVAL with the reason when the request is malformed. */
static enum mla_code adm_fill(const cJSON *request, struct mla_review_request *r,
                              struct mla_err *err)
{
    struct adm_members m;
    adm_members(request, &m);
    const cJSON *kind = m.kind;
    if (!cJSON_IsObject(kind) || !cJSON_IsString(mla__adm_get(kind, "kind")))
        return mla_err_set(err, MLA_EINVAL, "request.kind must be an object with a string 'kind' "
                                            "(group/version/kind of the object)");
    r->kind = adm_str(kind, "kind", "");
    r->kind_group = adm_str(kind, "group", "");
    r->kind_version = adm_str(kind, "version", "");
    r->resource = adm_str(m.resource, "resource", "");
    r->sub_resource = adm_sv(m.sub_resource, "");
    const cJSON *op = m.operation;
    if (!cJSON_IsString(op) || !op->valuestring[0])
        return mla_err_set(err, MLA_EINVAL, "request.operation must be a string "
                                            "(CREATE, UPDATE, DELETE or CONNECT)");
    r->operation = op->valuestring;
    r->op = adm_op(r->operation);
    r->namespace_ = adm_sv(m.namespace_, "");
    enum mla_code rc = adm_obj(m.object, "object", &r->object, err);
    if (rc == MLA_OK)
        rc = adm_obj(m.old_object, "oldObject", &r->old_object, err);
    if (rc != MLA_OK)
        return rc;
    const cJSON *meta = mla__adm_get(r->object ? r->object : r->old_object,
                                                         "metadata");
    r->name = adm_sv(m.name, "");
    if (!r->name[0])
        r->name = adm_str(meta, "name", "");
    if (!r->name[0])
        r->name = adm_str(meta, "generateName", "");
    const cJSON *dry = m.dry_run;
    if (dry && !cJSON_IsBool(dry) && !cJSON_IsNull(dry))
        return mla_err_set(err, MLA_EINVAL, "request.dryRun must be a boolean");
    r->dry_run = cJSON_IsTrue(dry);
    r->username = adm_str(m.user_info, "username", "");
    return MLA_OK;
}

void mla_review_scan(const char *body, size_t len, struct mla_review_scan *sc)
{
    sc->ok = mla_review_skim(body, len, MLA_REVIEW_MAX_DEPTH, &sc->cuts);
}

/* The fast parse: when the skim accepted the body (exactly what the checks below would
 * accept), the tree cJSON would build of a copy in which the values the decision never reads
 * are `null`, built straight from the body (mla_review_skim_tree). NULL otherwise, and the
 * caller parses the body itself, which yields the precise error. On success *end is the end
 * of the body (the skim has already refused trailing data). */
static cJSON *adm_parse_skimmed(const char *body, size_t len, const struct mla_review_scan *sc,
                                const char **end)
{
    if (!sc->ok)
        return NULL;
    cJSON *root = mla_review_skim_tree(body, len, &sc->cuts);
    if (root)
        *end = body + len;
    return root;
}

/* ---- the not-opted-in answer without a tree ---- */

/* The first byte of a fact's value ('"', '{', '[', 'n', 't', 'f', a digit or '-'); 0: absent. */
static char adm_fact_type(const char *body, const struct mla_review_scan *sc,
                          enum mla_review_fact f)
{
    return sc->cuts.fact[f].to ? body[sc->cuts.fact[f].from] : 0;
}

struct adm_text {
    char *p;
    size_t left;
};

/* A string fact as cJSON's valuestring would hold it, copied into t: false when it is not a
 * string (*out = dflt then, and `need` says whether that is allowed), or when its raw bytes
 * are not exactly that valuestring (an escape, a NUL byte) or do not fit. */
static bool adm_fact_str(const char *body, const struct mla_review_scan *sc,
                         enum mla_review_fact f, struct adm_text *t, const char *dflt, bool need,
                         const char **out)
{
    *out = dflt;
    if (adm_fact_type(body, sc, f) != '"')
        return !need;
    const char *b = body + sc->cuts.fact[f].from + 1;
    size_t n = sc->cuts.fact[f].to - sc->cuts.fact[f].from - 2;
    if (n + 1 > t->left || memchr(b, '\\', n) || memchr(b, '\0', n))
        return false;
    memcpy(t->p, b, n);
    t->p[n] = '\0';
    *out = t->p;
    t->p += n + 1;
    t->left -= n + 1;
    return true;
}

/* An object member that is an object, absent or null (adm_obj); false for anything else. */
static bool adm_fact_obj(const char *body, const struct mla_review_scan *sc,
                         enum mla_review_fact f, bool *present)
{
    char c = adm_fact_type(body, sc, f);
    *present = c == '{';
    return c == 0 || c == '{' || c == 'n';
}

bool mla_review_plain(const char *body, const struct mla_review_scan *sc,
                      struct mla_review_plain *out)
{
    if (!sc->ok || sc->cuts.fact_unsure || adm_fact_type(body, sc, MLA_RF_REQUEST) != '{' ||
        adm_fact_type(body, sc, MLA_RF_GVK) != '{')
        return false;
    /* An object that says enabled "true" is, nearly always, an opted-in workload, which this
     * answer never serves: leave it to decode at once (false only ever says "decode it"). */
    const size_t ef = sc->cuts.fact[MLA_RF_ENABLED].from, et = sc->cuts.fact[MLA_RF_ENABLED].to;
    if (et - ef == 6 && !memcmp(body + ef, "\"true\"", 6))
        return false;
    /* The skim skips what cJSON skips before the value (every byte <= 0x20); decode accepts
     * only JSON's four whitespace bytes there and refuses the body otherwise. sc->ok means a
     * value follows, so this stays inside the body. */
    const char *b = body;
    while (*b == ' ' || *b == '\t' || *b == '\r' || *b == '\n')
        b++;
    if (*b != '{')
        return false;
    /* The same checks as mla_review_decode and adm_fill, in their order; any failure is left
     * to them (they produce the message). */
    struct adm_text t = {out->text, sizeof out->text};
    const char *kind, *api, *op;
    if (!adm_fact_str(body, sc, MLA_RF_KIND, &t, NULL, true, &kind) || strcmp(kind, ADM_KIND) ||
        !adm_fact_str(body, sc, MLA_RF_API_VERSION, &t, NULL, true, &api) ||
        strcmp(api, ADM_API_VERSION) ||
        !adm_fact_str(body, sc, MLA_RF_UID, &t, NULL, true, &out->uid) || !out->uid[0] ||
        strlen(out->uid) > MLA_REVIEW_MAX_UID ||
        !adm_fact_str(body, sc, MLA_RF_GVK_KIND, &t, NULL, true, &out->kind) ||
        !adm_fact_str(body, sc, MLA_RF_GVK_GROUP, &t, "", false, &out->kind_group) ||
        !adm_fact_str(body, sc, MLA_RF_GVK_VERSION, &t, "", false, &out->kind_version) ||
        !adm_fact_str(body, sc, MLA_RF_SUB_RESOURCE, &t, "", false, &out->sub_resource) ||
        !adm_fact_str(body, sc, MLA_RF_OPERATION, &t, NULL, true, &op) || !op[0] ||
        !adm_fact_obj(body, sc, MLA_RF_OBJECT, &out->has_object) ||
        !adm_fact_obj(body, sc, MLA_RF_OLD_OBJECT, &out->has_old_object))
        return false;
    char dry = adm_fact_type(body, sc, MLA_RF_DRY_RUN);
    if (dry != 0 && dry != 't' && dry != 'f' && dry != 'n')
        return false;
    out->op = adm_op(op);
    /* Only the annotations and labels of an object that is there count (the facts inside a
     * null object cannot exist, but say so). */
    out->enabled = out->old_enabled = out->old_managed = NULL;
    if (out->has_object &&
        !adm_fact_str(body, sc, MLA_RF_ENABLED, &t, NULL, false, &out->enabled))
        return false;
    if (out->has_old_object &&
        (!adm_fact_str(body, sc, MLA_RF_OLD_ENABLED, &t, NULL, false, &out->old_enabled) ||
         !adm_fact_str(body, sc, MLA_RF_OLD_MANAGED, &t, NULL, false, &out->old_managed)))
        return false;
    return true;
}

enum mla_code mla_review_decode(const char *body, size_t len, struct mla_review_request *req,
                                char *uid_out, size_t uid_n, struct mla_err *err)
{
    struct mla_review_scan sc;
    mla_review_scan(body, len, &sc);
    return mla_review_decode_scanned(body, len, &sc, req, uid_out, uid_n, err);
}

enum mla_code mla_review_decode_scanned(const char *body, size_t len,
                                        const struct mla_review_scan *sc,
                                        struct mla_review_request *req, char *uid_out,
                                        size_t uid_n, struct mla_err *err)
{
    size_t i = 0;
    while (i < len && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n'))
        i++;
    if (i == len)
        return mla_err_set(err, MLA_EPARSE, "empty body: expected an AdmissionReview JSON object");
    if (body[i] != '{')
        return mla_err_set(err, MLA_EPARSE, "body is not a JSON object");
    const char *end = NULL;
    cJSON *root = adm_parse_skimmed(body, len, sc, &end);
    if (!root) {
        size_t depth = mla_review_json_depth(body, len, MLA_REVIEW_MAX_DEPTH);
        if (depth > MLA_REVIEW_MAX_DEPTH)
            return mla_err_set(err, MLA_EPARSE, "JSON nested deeper than %d levels",
                               MLA_REVIEW_MAX_DEPTH);
        root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    }
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        size_t off = at && at >= body && at <= body + len ? (size_t)(at - body) : 0;
        return mla_err_set(err, MLA_EPARSE, "body is not valid JSON (error near byte %zu)", off);
    }
    while (end && end < body + len && (*end == ' ' || *end == '\t' || *end == '\r' ||
                                       *end == '\n' || *end == '\0'))
        end++;
    enum mla_code rc = MLA_OK;
    const char *api = adm_str(root, "apiVersion", NULL);
    const char *kind = adm_str(root, "kind", NULL);
    const cJSON *request = mla__adm_get(root, "request");
    const cJSON *uid = mla__adm_get(request, "uid");
    if (end && end < body + len)
        rc = mla_err_set(err, MLA_EPARSE, "trailing data after the JSON object");
    else if (!kind || strcmp(kind, ADM_KIND))
        rc = mla_err_set(err, MLA_EPARSE, "not an AdmissionReview: kind is %s%s%s, expected "
                         "\"" ADM_KIND "\"", kind ? "\"" : "", kind ? kind : "missing",
                         kind ? "\"" : "");
    else if (!api || strcmp(api, ADM_API_VERSION))
        rc = mla_err_set(err, MLA_EPARSE, "unsupported AdmissionReview apiVersion %s%s%s: only "
                         "\"" ADM_API_VERSION "\" is served (set admissionReviewVersions: [v1])",
                         api ? "\"" : "", api ? api : "(missing)", api ? "\"" : "");
    else if (!cJSON_IsObject(request))
        rc = mla_err_set(err, MLA_EPARSE, "AdmissionReview has no request object");
    else if (!cJSON_IsString(uid) || !uid->valuestring[0])
        rc = mla_err_set(err, MLA_EPARSE, "AdmissionReview request has no uid");
    else if (strlen(uid->valuestring) > MLA_REVIEW_MAX_UID)
        rc = mla_err_set(err, MLA_EPARSE, "AdmissionReview request uid longer than %d characters",
                         MLA_REVIEW_MAX_UID);
    if (rc != MLA_OK) {
        cJSON_Delete(root);
        return rc;
    }
    struct mla_review_request r;
    memset(&r, 0, sizeof r);
    r.uid = uid->valuestring;
    rc = adm_fill(request, &r, err);
    if (rc != MLA_OK) {
        if (uid_out && uid_n)
            snprintf(uid_out, uid_n, "%s", uid->valuestring);
        cJSON_Delete(root);
        return rc;
    }
    r.root = root; /* ownership of the tree moves to the caller's request */
    *req = r;
    return MLA_OK;
}

void mla_review_request_fini(struct mla_review_request *req)
{
    if (!req)
        return;
    cJSON_Delete(req->root);
    memset(req, 0, sizeof *req);
}

/* Base64 two characters at a time: the pair for each 12-bit value (8 KB, filled once). Why:
 * the patch is base64'd on every opted-in answer, and EVP_EncodeBlock's per-character lookups
 * were about 7 instructions per input byte. */
static const char adm_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static char adm_b64_pairs[4096][2]; /* immutable after adm_b64_once */
static pthread_once_t adm_b64_once = PTHREAD_ONCE_INIT;

static void adm_b64_init(void)
{
    for (unsigned i = 0; i < 4096; i++) {
        adm_b64_pairs[i][0] = adm_b64[i >> 6];
        adm_b64_pairs[i][1] = adm_b64[i & 63];
    }
}

/* The 4 * ((n + 2) / 3) characters of n bytes at in, as EVP_EncodeBlock writes them (no NUL). */
static void adm_b64_encode(const unsigned char *in, size_t n, char *o)
{
    (void)pthread_once(&adm_b64_once, adm_b64_init);
    for (; n >= 3; n -= 3, in += 3, o += 4) {
        unsigned v = (unsigned)in[0] << 16 | (unsigned)in[1] << 8 | in[2];
        memcpy(o, adm_b64_pairs[v >> 12], 2);
        memcpy(o + 2, adm_b64_pairs[v & 0xfff], 2);
    }
    if (n) {
        unsigned v = (unsigned)in[0] << 16 | (n > 1 ? (unsigned)in[1] << 8 : 0);
        o[0] = adm_b64[v >> 18];
        o[1] = adm_b64[(v >> 12) & 63];
        o[2] = n > 1 ? adm_b64[(v >> 6) & 63] : '=';
        o[3] = '=';
    }
}

enum mla_code mla_review_base64(const void *p, size_t n, struct mla_buf *out)
{
    size_t need = 4 * ((n + 2) / 3);
    /* Bodies are capped far below this; it keeps need from overflowing. */
    if (n > (size_t)0x3fffffff)
        return MLA_ETOOBIG;
    size_t at = out->len;
    enum mla_code rc = mla_buf_add(out, "", 0);
    if (rc == MLA_OK && need) {
        /* Reserve by appending placeholder bytes, then encode in place. */
        char pad[256];
        memset(pad, 'A', sizeof pad);
        for (size_t left = need; rc == MLA_OK && left;) {
            size_t k = left < sizeof pad ? left : sizeof pad;
            rc = mla_buf_add(out, pad, k);
            left -= k;
        }
        if (rc == MLA_OK)
            adm_b64_encode(p, n, out->data + at);
    }
    if (rc != MLA_OK) {
        out->len = at;
        if (out->data)
            out->data[at] = '\0';
    }
    return rc;
}

/* ---- printing a tree as cJSON_PrintUnformatted does ---- */

/* The text grows in one cJSON_malloc'd block (the request arena when active). */
struct adm_pr {
    char *s;
    size_t n, cap;
    bool failed;
};

static bool adm_pr_room(struct adm_pr *w, size_t k)
{
    if (w->failed)
        return false;
    if (w->n + k + 1 <= w->cap)
        return true;
    size_t cap = w->cap ? w->cap * 2 : 512;
    while (cap < w->n + k + 1)
        cap *= 2;
    char *s = cJSON_malloc(cap);
    if (!s) {
        w->failed = true;
        return false;
    }
    if (w->n)
        memcpy(s, w->s, w->n);
    cJSON_free(w->s);
    w->s = s;
    w->cap = cap;
    return true;
}

static void adm_pr_put(struct adm_pr *w, const char *p, size_t k)
{
    if (adm_pr_room(w, k)) {
        memcpy(w->s + w->n, p, k);
        w->n += k;
    }
}

/* cJSON's print_string_ptr: quotes; `"` `\` and the bytes below 0x20 escaped (\b \f \n \r \t
 * by name, the others as \u00xx in lower case); every other byte as it is; NULL prints "".
 * The worst case (6 bytes a byte) is reserved once, then the bytes are written by table. */
static void adm_pr_str(struct adm_pr *w, const char *str)
{
    /* 0: as it is; otherwise the letter after the backslash ('u': \u00xx) */
    static const char esc[256] = {
        ['\b'] = 'b', ['\t'] = 't', ['\n'] = 'n', ['\f'] = 'f', ['\r'] = 'r',
        [1] = 'u', [2] = 'u', [3] = 'u', [4] = 'u', [5] = 'u', [6] = 'u', [7] = 'u',
        [11] = 'u', [14] = 'u', [15] = 'u', [16] = 'u', [17] = 'u', [18] = 'u', [19] = 'u',
        [20] = 'u', [21] = 'u', [22] = 'u', [23] = 'u', [24] = 'u', [25] = 'u', [26] = 'u',
        [27] = 'u', [28] = 'u', [29] = 'u', [30] = 'u', [31] = 'u', ['"'] = '"', ['\\'] = '\\'};
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)(str ? str : "");
    size_t n = strlen((const char *)p);
    if (!adm_pr_room(w, 6 * n + 2))
        return;
    char *o = w->s + w->n;
    *o++ = '"';
#ifdef __SSE2__
    /* 16 bytes at a time while none needs escaping (most strings need none). A byte below
     * 0x20 is one that min(byte, 0x1f) leaves unchanged. */
    const unsigned char *pe = p + n;
    const __m128i quote = _mm_set1_epi8('"'), bsl = _mm_set1_epi8('\\'),
                  ctl = _mm_set1_epi8(0x1f);
    while (pe - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i bad = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bsl)),
                                   _mm_cmpeq_epi8(_mm_min_epu8(v, ctl), v));
        if (_mm_movemask_epi8(bad))
            break;
        _mm_storeu_si128((__m128i *)(void *)o, v);
        o += 16;
        p += 16;
    }
#endif
    for (; *p; p++) {
        char e = esc[*p];
        if (!e) {
            *o++ = (char)*p;
            continue;
        }
        *o++ = '\\';
        *o++ = e;
        if (e == 'u') {
            *o++ = '0';
            *o++ = '0';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o++ = '"';
    w->n = (size_t)(o - w->s);
}

/* Deeper than this, a subtree is printed by cJSON itself (same text, no deep recursion here). */
#define ADM_PR_DEPTH 64

static void adm_pr_value(struct adm_pr *w, const cJSON *item, int depth)
{
    int type = item->type & 0xFF;
    if (type == cJSON_NULL) {
        adm_pr_put(w, "null", 4);
    } else if (type == cJSON_False) {
        adm_pr_put(w, "false", 5);
    } else if (type == cJSON_True) {
        adm_pr_put(w, "true", 4);
    } else if (type == cJSON_String) {
        adm_pr_str(w, item->valuestring);
    } else if ((type == cJSON_Array || type == cJSON_Object) && depth < ADM_PR_DEPTH) {
        adm_pr_put(w, type == cJSON_Array ? "[" : "{", 1);
        for (const cJSON *c = item->child; c && !w->failed; c = c->next) {
            if (c != item->child)
                adm_pr_put(w, ",", 1);
            if (type == cJSON_Object) {
                adm_pr_str(w, c->string);
                adm_pr_put(w, ":", 1);
            }
            adm_pr_value(w, c, depth + 1);
        }
        adm_pr_put(w, type == cJSON_Array ? "]" : "}", 1);
    } else {
        /* Numbers (their formatting), raw values, anything unusual: cJSON's own text, or its
         * failure. */
        char *t = cJSON_PrintUnformatted(item); /* new: freed below */
        if (!t) {
            w->failed = true;
            return;
        }
        adm_pr_put(w, t, strlen(t));
        cJSON_free(t);
    }
}

char *mla_review_print_json(const cJSON *item, size_t *len)
{
    struct adm_pr w = {0};
    if (!item)
        return NULL;
    adm_pr_value(&w, item, 0);
    if (!w.failed && !adm_pr_room(&w, 0))
        w.failed = true;
    if (w.failed) {
        cJSON_free(w.s);
        return NULL;
    }
    w.s[w.n] = '\0';
    if (len)
        *len = w.n;
    return w.s;
}

static enum mla_code adm_head(struct mla_buf *out, const char *uid, bool allowed)
{
    enum mla_code rc = mla_buf_adds(out, "{\"apiVersion\":\"" ADM_API_VERSION "\",\"kind\":\""
                                         ADM_KIND "\",\"response\":{\"uid\":");
    if (rc == MLA_OK)
        rc = mla_buf_add_json_str(out, uid);
    if (rc == MLA_OK)
        rc = mla_buf_adds(out, allowed ? ",\"allowed\":true" : ",\"allowed\":false");
    return rc;
}

static enum mla_code adm_status(struct mla_buf *out, int code, const char *message)
{
    enum mla_code rc = mla_buf_adds(out, ",\"status\":{\"message\":");
    if (rc == MLA_OK)
        rc = mla_buf_add_json_str(out, message ? message : "");
    if (rc == MLA_OK)
        rc = mla_buf_addf(out, ",\"code\":%d}", code);
    return rc;
}

enum mla_code mla_review_encode_denied(const char *uid, int code, const char *message,
                                    struct mla_buf *out, struct mla_err *err)
{
    enum mla_code rc = adm_head(out, uid, false);
    if (rc == MLA_OK)
        rc = adm_status(out, code >= 400 && code < 600 ? code : 400, message);
    if (rc == MLA_OK)
        rc = mla_buf_adds(out, "}}");
    if (rc != MLA_OK)
        return mla_err_set(err, rc, "AdmissionReview response too large");
    return MLA_OK;
}

enum mla_code mla_review_encode(const char *uid, const struct mla_decision *d, struct mla_buf *out,
                             struct mla_err *err)
{
    enum mla_code rc = adm_head(out, uid, d->allowed);
    if (rc == MLA_OK && !d->allowed)
        rc = adm_status(out, d->code >= 400 && d->code < 600 ? d->code : 403, d->message);
    if (rc == MLA_OK && d->allowed && cJSON_GetArraySize(d->patch) > 0) {
        size_t jn = 0;
        char *json = mla_review_print_json(d->patch, &jn); /* new: freed below */
        if (!json)
            return mla_err_set(err, MLA_ENOMEM, "cannot print the patch");
        rc = mla_buf_adds(out, ",\"patchType\":\"JSONPatch\",\"patch\":\"");
        if (rc == MLA_OK)
            rc = mla_review_base64(json, jn, out);
        if (rc == MLA_OK)
            rc = mla_buf_adds(out, "\"");
        cJSON_free(json);
    }
    if (rc == MLA_OK && cJSON_GetArraySize(d->warnings) > 0) {
        rc = mla_buf_adds(out, ",\"warnings\":[");
        bool first = true;
        const cJSON *w;
        cJSON_ArrayForEach(w, d->warnings)
        {
            if (rc != MLA_OK || !cJSON_IsString(w))
                continue;
            if (!first)
                rc = mla_buf_adds(out, ",");
            if (rc == MLA_OK)
                rc = mla_buf_add_json_str(out, w->valuestring);
            first = false;
        }
        if (rc == MLA_OK)
            rc = mla_buf_adds(out, "]");
    }
    if (rc == MLA_OK)
        rc = mla_buf_adds(out, "}}");
    if (rc != MLA_OK)
        return mla_err_set(err, rc, "AdmissionReview response too large");
    return MLA_OK;
}
