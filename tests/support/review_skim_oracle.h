/* tests/support/review_skim_oracle.h - the oracle of the AdmissionReview skim's differential
 * checks, shared by the Criterion test (tests/unit/test_review_skim.c) and the libFuzzer target
 * (tests/fuzz/review_skim.c), so both compare the skim with the same thing: what
 * mla_review_decode's parse step accepts with cJSON alone, and the copy decode parses.
 * Also the oracle of the not-opted-in answer without a tree (review.h mla_review_plain +
 * decide.h mla_decide_plain): what decode + mla_decide + encode answer on the same body.
 * Header-only (static inline). The returned cJSON tree is new: the caller frees it with
 * cJSON_Delete.
 */
#ifndef MLA_TEST_REVIEW_SKIM_ORACLE_H
#define MLA_TEST_REVIEW_SKIM_ORACLE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "mla/decide.h"
#include "mla/review.h"
#include "mla/review_skim.h"

/* decode refuses before parsing unless the first byte after ' ', \t, \r, \n is '{'. */
static inline bool sup_skim_precondition(const char *b, size_t n)
{
    size_t i = 0;
    while (i < n && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n'))
        i++;
    return i < n && b[i] == '{';
}

/* Valid JSON by cJSON's grammar, at most MLA_REVIEW_MAX_DEPTH deep, only whitespace or NUL
 * after it. */
static inline bool sup_skim_oracle(const char *b, size_t n)
{
    if (mla_review_json_depth(b, n, MLA_REVIEW_MAX_DEPTH) > MLA_REVIEW_MAX_DEPTH)
        return false;
    const char *end = NULL;
    cJSON *t = cJSON_ParseWithLengthOpts(b, n, &end, 0);
    if (!t)
        return false;
    cJSON_Delete(t);
    while (end < b + n && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n' ||
                           *end == '\0'))
        end++;
    return end == b + n;
}

/* The copy decode parses (each cut of 4+ bytes replaced by null), parsed: NULL when it does
 * not parse, or when a cut is out of order or outside the body (the skim's contract broken). */
static inline cJSON *sup_skim_parse_cut(const char *b, size_t n, const struct mla_review_cuts *c)
{
    char *copy = malloc(n + 1);
    if (!copy)
        abort();
    size_t m = 0, at = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (c->cut[i].from < at || c->cut[i].to > n || c->cut[i].from >= c->cut[i].to) {
            free(copy);
            return NULL;
        }
        if (c->cut[i].to - c->cut[i].from < 4)
            continue;
        memcpy(copy + m, b + at, c->cut[i].from - at);
        m += c->cut[i].from - at;
        memcpy(copy + m, "null", 4);
        m += 4;
        at = c->cut[i].to;
    }
    memcpy(copy + m, b + at, n - at);
    m += n - at;
    cJSON *t = cJSON_ParseWithLengthOpts(copy, m, NULL, 0);
    free(copy);
    return t;
}

/* Whether two trees are the same node for node, as far as anyone can tell: types (flags
 * included), keys and strings byte for byte, valueint, valuedouble bit for bit, the sibling
 * links both ways and each first child's prev pointing at the last child (cJSON's own
 * invariant, which cJSON_AddItemToArray relies on). Stricter than cJSON_Compare, which lets
 * doubles differ by an epsilon and ignores links. */
static inline bool sup_tree_same(const cJSON *a, const cJSON *b)
{
    if (!a || !b)
        return a == b;
    if (a->type != b->type || a->valueint != b->valueint ||
        memcmp(&a->valuedouble, &b->valuedouble, sizeof a->valuedouble) ||
        !a->valuestring != !b->valuestring || !a->string != !b->string ||
        (a->valuestring && strcmp(a->valuestring, b->valuestring)) ||
        (a->string && strcmp(a->string, b->string)))
        return false;
    const cJSON *x = a->child, *y = b->child, *px = NULL, *py = NULL;
    for (; x && y; px = x, py = y, x = x->next, y = y->next) {
        if ((x != a->child && x->prev != px) || (y != b->child && y->prev != py) ||
            !sup_tree_same(x, y))
            return false;
    }
    if (x || y)
        return false;
    return !a->child || (a->child->prev == px && b->child->prev == py);
}

/* The tree-less answer of a body against the ordinary path: 0 when the tree-less path does not
 * answer, 1 when it answers and the ordinary path (decode, mla_decide with no policy set,
 * encode) gives the same request fields and the same response bytes, -1 when they differ
 * (*why says how). */
static inline int sup_plain_check(const char *b, size_t n, const char **why)
{
    struct mla_review_scan sc;
    mla_review_scan(b, n, &sc);
    struct mla_review_plain p;
    *why = "";
    if (!mla_review_plain(b, &sc, &p) || !mla_decide_plain(&p))
        return 0;
    struct mla_review_request r;
    if (mla_review_decode(b, n, &r, NULL, 0, NULL) != MLA_OK) {
        *why = "decode refuses the body";
        return -1;
    }
    int ret = 1;
    if (strcmp(r.uid, p.uid) || r.op != p.op || strcmp(r.kind, p.kind) ||
        strcmp(r.kind_group, p.kind_group) || strcmp(r.kind_version, p.kind_version) ||
        strcmp(r.sub_resource, p.sub_resource) || !r.object != !p.has_object ||
        !r.old_object != !p.has_old_object) {
        *why = "decoded fields differ";
        ret = -1;
    }
    struct mla_decision d;
    bool decided = ret == 1;
    if (decided && (mla_decide(NULL, &r, &d, NULL) != MLA_OK || !d.allowed ||
                     d.action != MLA_ACT_NONE || d.patch || d.warnings || d.opted_in)) {
        *why = "mla_decide does more than allow";
        ret = -1;
    }
    if (ret == 1) {
        struct mla_buf x, y;
        mla_buf_init(&x, 1 << 16);
        mla_buf_init(&y, 1 << 16);
        struct mla_decision none;
        mla_decision_init(&none);
        if (mla_review_encode(r.uid, &d, &x, NULL) != MLA_OK ||
            mla_review_encode(p.uid, &none, &y, NULL) != MLA_OK || x.len != y.len ||
            memcmp(x.data, y.data, x.len)) {
            *why = "responses differ";
            ret = -1;
        }
        mla_buf_fini(&x);
        mla_buf_fini(&y);
    }
    if (decided)
        mla_decision_fini(&d);
    mla_review_request_fini(&r);
    return ret;
}

#endif
