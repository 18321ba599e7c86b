/* review_skim.h - one validating pass over an AdmissionReview body that finds the subtrees the
 * decision never reads, so that the tree parser can skip them.
 *
 * Why: a Deployment's metadata.managedFields (and its status) is a third to a half of a review
 * and hundreds of tiny JSON objects; building cJSON nodes for them was the largest single cost
 * of decoding. The skim accepts exactly the bodies cJSON accepts (checked by a differential
 * test against cJSON on generated and mutated inputs), so skipping never lets invalid JSON in:
 * every skipped byte is validated here, everything else is still parsed by cJSON.
 *
 * Skipped ("cut") values, in the body's root object only (nothing in the product reads them;
 * a new reader of one of these must take it off this list, in sk_child):
 *   request.options, request.requestKind, request.requestResource,
 *   request.userInfo.groups, request.userInfo.extra,
 *   request.object / request.oldObject: metadata.managedFields, status, spec.strategy
 * (keys compared as written, without escapes: an escaped key is simply not cut).
 *
 * Ownership: the skim allocates nothing; cut offsets index the caller's body. The tree of
 * mla_review_skim_tree is the caller's.
 * Threading: pure; no shared state.
 */
#ifndef MLA_REVIEW_SKIM_H
#define MLA_REVIEW_SKIM_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* At most this many cuts are recorded; further skippable values are validated and kept. */
#define MLA_REVIEW_SKIM_MAX_CUTS 16

/* The members the not-opted-in answer reads (review.h, mla_review_plain), found on the way so
 * that such a review needs no tree at all. Each is the first occurrence of its key in its
 * parent (what cJSON's lookup returns), and its parent is itself such a first occurrence:
 * root.apiVersion, root.kind, root.request; request.uid, .kind (and its .group, .version,
 * .kind), .operation, .subResource, .object, .oldObject, .dryRun; object.metadata, its
 * .annotations and their "ml-autoscaling.io/enabled"; oldObject.metadata, its .annotations
 * ("…/enabled") and .labels ("ml-autoscaling.io/managed"). */
enum mla_review_fact {
    MLA_RF_API_VERSION, MLA_RF_KIND, MLA_RF_REQUEST, MLA_RF_UID, MLA_RF_GVK, MLA_RF_GVK_GROUP,
    MLA_RF_GVK_VERSION, MLA_RF_GVK_KIND, MLA_RF_OPERATION, MLA_RF_SUB_RESOURCE, MLA_RF_OBJECT,
    MLA_RF_OLD_OBJECT, MLA_RF_DRY_RUN, MLA_RF_META, MLA_RF_ANN, MLA_RF_ENABLED, MLA_RF_OLD_META,
    MLA_RF_OLD_ANN, MLA_RF_OLD_ENABLED, MLA_RF_OLD_LABELS, MLA_RF_OLD_MANAGED, MLA_RF_COUNT
};

struct mla_review_cuts {
    size_t n;
    struct {
        size_t from, to; /* body[from, to) is one JSON value that may be replaced by null */
    } cut[MLA_REVIEW_SKIM_MAX_CUTS];
    /* body[from, to) is the fact's whole value (a string with its quotes); to == 0: absent */
    struct {
        size_t from, to;
    } fact[MLA_RF_COUNT];
    /* A key on the facts' path has an escape or a NUL byte: cJSON compares keys unescaped
     * and NUL-terminated, so such a key might name a fact the raw bytes do not show. */
    bool fact_unsure;
};

/* True when body[0, len) is what mla_review_decode's parse step accepts: optional whitespace,
 * one JSON value that cJSON_ParseWithLengthOpts(body, len) accepts, then only ' ', '\t', '\r',
 * '\n' or NUL bytes, and no nesting deeper than max_depth objects+arrays. On true, *cuts lists
 * the values that may be replaced by `null` without changing anything the decision reads.
 * False says nothing more: the caller then parses the body the ordinary way (which produces
 * the exact error). The facts are filled on true only. */
bool mla_review_skim(const char *body, size_t len, size_t max_depth, struct mla_review_cuts *cuts);

/* For a body on which mla_review_skim returned true with *cuts: the tree
 * cJSON_ParseWithLengthOpts builds of a copy of the body whose cut values of 4 bytes or more
 * read `null` (same nodes, links, strings and numbers), built from the body itself without the
 * copy (review_tree.c). new: freed with cJSON_Delete (its memory comes from cJSON's hooks);
 * NULL when memory runs out, or on a body the skim did not accept. */
cJSON *mla_review_skim_tree(const char *body, size_t len, const struct mla_review_cuts *cuts);

#endif
