/* policy/match.c - which policy applies to a Deployment: namespace globs and label selectors with the
 * semantics of Kubernetes' metav1.LabelSelector (matchLabels AND matchExpressions; In, NotIn,
 * Exists, DoesNotExist; NotIn and DoesNotExist match when the label is absent).
 */
#include <fnmatch.h>
#include <string.h>

#include "policy-int.h"

/* fnmatch(glob, s, 0) == 0, without fnmatch for the globs policies mostly hold: a name
 * ("ml-autoscaling") and a name followed by one '*' ("kube-*"), where fnmatch costs about ten
 * times the comparison (it ran for every policy on every admission). The process keeps the C
 * locale (no setlocale), so fnmatch compares bytes; without '*', '?', '[' and '\\' a glob
 * matches only itself, and a trailing '*' matches any rest, '/' and a leading '.' included. */
static bool match_glob(const char *glob, const char *s)
{
    size_t lit = strcspn(glob, "*?[\\");
    if (!glob[lit])
        return strcmp(glob, s) == 0;
    if (glob[lit] == '*' && !glob[lit + 1])
        return strncmp(glob, s, lit) == 0;
    return fnmatch(glob, s, 0) == 0;
}

bool mla__policy_glob_matches(const char *glob, const char *s) { return match_glob(glob, s); }

static bool match_any(const char *const *globs, size_t n, const char *ns)
{
    for (size_t i = 0; i < n; i++)
        if (match_glob(globs[i], ns))
            return true;
    return false;
}

bool mla_policy_matches(const struct mla_policy *p, const char *ns, const cJSON *labels)
{
    if (p->nns && !match_any(p->ns, p->nns, ns))
        return false;
    if (p->nexcl && match_any(p->excl, p->nexcl, ns))
        return false;
    for (size_t i = 0; i < p->nsel; i++) {
        const struct mla_sel_req *r = &p->sel[i];
        const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(labels, r->key));
        bool in = false;
        for (size_t j = 0; v && j < r->nval && !in; j++)
            in = !strcmp(v, r->val[j]);
        switch (r->op) {
        case MLA_SEL_IN:
            if (!in)
                return false;
            break;
        case MLA_SEL_NOTIN:
            if (in)
                return false;
            break;
        case MLA_SEL_EXISTS:
            if (!v)
                return false;
            break;
        case MLA_SEL_DOESNOTEXIST:
            if (v)
                return false;
            break;
        }
    }
    return true;
}

const struct mla_profile *mla_policy_profile(const struct mla_policy *p, const char *name)
{
    for (size_t i = 0; i < p->nprof; i++)
        if (!strcmp(p->prof[i].name, name))
            return &p->prof[i];
    return NULL;
}
