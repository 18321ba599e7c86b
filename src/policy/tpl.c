/* policy/tpl.c - query templates: compiled once at load, expanded per decision.
 *
 * Why compile: where a variable stands in the PromQL (inside "...", '...', `...`, after =~, or
 * bare) decides how its value is made safe. Scanning the template once at load time makes
 * expansion a copy loop, and lets the loader refuse a template that places a free-text value
 * outside a string, where no escaping could make it safe.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mla/buf.h"
#include "mla/mem.h"
#include "policy-int.h"

/* Annotations whose values are validated numbers: the only ones that may stand outside a
 * PromQL string. */
static bool tpl_numeric_ann(int a)
{
    switch (a) {
    case MLA_ANN_MIN_REPLICAS: case MLA_ANN_MAX_REPLICAS: case MLA_ANN_QUEUE_LENGTH:
    case MLA_ANN_TARGET_RPS: case MLA_ANN_TARGET_LATENCY_MS: case MLA_ANN_TARGET_GPU:
    case MLA_ANN_TARGET_TPS: case MLA_ANN_COOLDOWN: case MLA_ANN_POLLING: case MLA_ANN_CAPACITY:
        return true;
    default:
        return false;
    }
}

struct tpl_scan {
    char q; /* 0 outside, or the quote character we are inside */
    bool regex;
    bool esc;          /* previous char was a backslash inside a string */
    char prev[2];      /* last two non-space characters outside strings */
};

static void tpl_scan_text(struct tpl_scan *s, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char ch = p[i];
        if (s->q) {
            if (s->esc)
                s->esc = false;
            else if (ch == '\\' && s->q != '`')
                s->esc = true;
            else if (ch == s->q)
                s->q = 0;
            continue;
        }
        if (ch == '"' || ch == '\'' || ch == '`') {
            s->q = ch;
            s->regex = s->prev[1] == '~' && (s->prev[0] == '=' || s->prev[0] == '!');
            s->prev[0] = s->prev[1] = 0;
            continue;
        }
        if (ch != ' ' && ch != '\t' && ch != '\n') {
            s->prev[0] = s->prev[1];
            s->prev[1] = ch;
        }
    }
}

/* The variable between "{{" at open and "}}" at close: its name into ident (blanks trimmed) and
 * its MLA_VAR_* or MLA_ANN_* number into *var; false with why set when there is none. */
static bool tpl_var(const char *src, const char *open, const char *close, char *ident,
                    size_t identsz, int *var, char *why, size_t n)
{
    const char *b = open + 2, *e = close;
    while (b < e && (*b == ' ' || *b == '\t'))
        b++;
    while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    if ((size_t)(e - b) >= identsz || e == b) {
        snprintf(why, n, "empty or too long variable at offset %zu", (size_t)(open - src));
        return false;
    }
    memcpy(ident, b, (size_t)(e - b));
    ident[e - b] = '\0';
    if (!strcmp(ident, "name")) {
        *var = MLA_VAR_NAME;
        return true;
    }
    if (!strcmp(ident, "namespace")) {
        *var = MLA_VAR_NAMESPACE;
        return true;
    }
    int ann = mla_ann_lookup(ident);
    if (ann < 0 || ann == MLA_ANN_ENABLED || ann >= MLA_ANN_SKIP_SO) {
        snprintf(why, n,
                 "unknown variable '{{ %s }}'; allowed: name, namespace, or an annotation "
                 "key such as queue, target-rps, target-latency-ms", ident);
        return false;
    }
    *var = ann;
    return true;
}

/* How segment s's variable is escaped, from where the PromQL scan stands; false (why set) for
 * a free-text value outside a string, which no escaping could make safe. */
static bool tpl_place(struct mla_tpl_seg *s, const struct tpl_scan *sc, const char *ident,
                      char *why, size_t n)
{
    switch (sc->q) {
    case '"': s->esc = MLA_ESC_DQ; break;
    case '\'': s->esc = MLA_ESC_SQ; break;
    case '`': s->esc = MLA_ESC_RAW; break;
    default: s->esc = MLA_ESC_NUMBER; break;
    }
    s->regex = sc->q && sc->regex;
    if (s->esc == MLA_ESC_NUMBER && !tpl_numeric_ann(s->var)) {
        snprintf(why, n,
                 "variable '{{ %s }}' stands outside a quoted PromQL string; only numeric "
                 "annotations may (put it inside \"...\")", ident);
        return false;
    }
    return true;
}

/* The template in the arena: a copy of src, with the segments' literals re-pointed into it. */
static struct mla_tpl *tpl_build(struct mla_arena *a, const char *src,
                                 const struct mla_tpl_seg *seg, size_t nseg)
{
    struct mla_tpl *t = mla_arena_alloc(a, sizeof *t);
    t->src = mla_arena_strdup(a, src);
    /* Re-point the literals into the arena copy. */
    t->seg = mla_arena_alloc(a, nseg * sizeof *t->seg);
    for (size_t i = 0; i < nseg; i++) {
        t->seg[i] = seg[i];
        t->seg[i].lit = t->src + (seg[i].lit - src);
    }
    t->nseg = nseg;
    return t;
}

bool mla__tpl_compile(struct mla_arena *a, const char *src, bool promql, struct mla_tpl **out,
                      char *why, size_t n)
{
    size_t cap = 4, nseg = 0;
    struct mla_tpl_seg *seg = mla_xcalloc(cap, sizeof *seg);
    struct tpl_scan sc = {0};
    const char *p = src;
    for (;;) {
        const char *open = strstr(p, "{{");
        if (nseg + 1 >= cap) {
            cap *= 2;
            seg = mla_xrealloc(seg, cap * sizeof *seg);
        }
        struct mla_tpl_seg *s = &seg[nseg];
        memset(s, 0, sizeof *s);
        if (!open) {
            s->lit = p;
            s->lit_len = strlen(p);
            s->var = -1;
            nseg++;
            break;
        }
        s->lit = p;
        s->lit_len = (size_t)(open - p);
        if (promql)
            tpl_scan_text(&sc, p, s->lit_len);
        const char *close = strstr(open + 2, "}}");
        if (!close) {
            snprintf(why, n, "unclosed '{{' at offset %zu", (size_t)(open - src));
            free(seg);
            return false;
        }
        char ident[64];
        if (!tpl_var(src, open, close, ident, sizeof ident, &s->var, why, n) ||
            (promql && !tpl_place(s, &sc, ident, why, n))) {
            free(seg);
            return false;
        }
        nseg++;
        p = close + 2;
    }
    *out = tpl_build(a, src, seg, nseg);
    free(seg);
    return true;
}

/* RE2's metacharacters, looked up per character of an expanded value (was a strchr per
 * character: a tenth of the template cost of an opted-in admission). */
static const bool tpl_re2_meta[256] = {
    ['\\'] = true, ['.'] = true, ['+'] = true, ['*'] = true, ['?'] = true, ['('] = true,
    [')'] = true, ['|'] = true, ['['] = true, [']'] = true, ['{'] = true, ['}'] = true,
    ['^'] = true, ['$'] = true,
};

/* Every byte the loop in mla_tpl_expand may act on, whatever the segment's escaping: control
 * bytes (NUL ends the value), DEL, the three quotes, backslash and RE2's metacharacters. The
 * loop skips the others in a tight scan and applies its full test to these only (a value is
 * mostly letters, digits and '-'). */
static const bool tpl_special[256] = {
    [0] = true, [1] = true, [2] = true, [3] = true, [4] = true, [5] = true, [6] = true,
    [7] = true, [8] = true, [9] = true, [10] = true, [11] = true, [12] = true, [13] = true,
    [14] = true, [15] = true, [16] = true, [17] = true, [18] = true, [19] = true, [20] = true,
    [21] = true, [22] = true, [23] = true, [24] = true, [25] = true, [26] = true, [27] = true,
    [28] = true, [29] = true, [30] = true, [31] = true, [0x7f] = true, ['`'] = true,
    ['"'] = true, ['\''] = true, ['\\'] = true, ['.'] = true, ['+'] = true, ['*'] = true,
    ['?'] = true, ['('] = true, [')'] = true, ['|'] = true, ['['] = true, [']'] = true,
    ['{'] = true, ['}'] = true, ['^'] = true, ['$'] = true,
};

static const char *tpl_var_label(int var)
{
    if (var == MLA_VAR_NAME)
        return "the Deployment name";
    if (var == MLA_VAR_NAMESPACE)
        return "the namespace";
    return mla_ann_key((enum mla_ann)var);
}

enum mla_code mla_tpl_expand(const struct mla_tpl *t, const char *name, const char *ns,
                             const char *const *ann, struct mla_buf *out, struct mla_err *err)
{
    for (size_t i = 0; i < t->nseg; i++) {
        const struct mla_tpl_seg *s = &t->seg[i];
        if (mla_buf_add(out, s->lit, s->lit_len) != MLA_OK)
            return mla_err_set(err, MLA_ETOOBIG, "expanded template is too long");
        if (s->var == -1)
            break;
        const char *v = s->var == MLA_VAR_NAME        ? name
                        : s->var == MLA_VAR_NAMESPACE ? ns
                                                      : ann[s->var];
        bool is_ann = s->var >= 0;
        if (!v)
            return mla_err_set(err, MLA_EDENIED, MLA_ANN_PREFIX "%s is required",
                               tpl_var_label(s->var));
        if (s->esc == MLA_ESC_NUMBER) {
            char *end = NULL;
            double d = strtod(v, &end);
            if (!*v || !end || *end || !isfinite(d))
                return mla_err_set(err, MLA_EDENIED,
                                   "%s%s%s: \"%s\" cannot be placed in the query: allowed: a "
                                   "number", is_ann ? "annotation " MLA_ANN_PREFIX : "",
                                   tpl_var_label(s->var), "", v);
        }
        /* Characters that need no escaping are appended in runs (one mla_buf_add per run,
         * not per character: this loop was a fifth of an opted-in admission). */
        const unsigned char *run = (const unsigned char *)v, *c = run;
        for (;; c++) {
            while (!tpl_special[*c])
                c++;
            if (!*c)
                break;
            if (*c < 0x20 || *c == 0x7f || (s->esc == MLA_ESC_RAW && *c == '`'))
                return mla_err_set(err, MLA_EDENIED,
                                   "%s%s: the value contains %s, which cannot be placed safely "
                                   "in a query; allowed: printable characters%s",
                                   is_ann ? "annotation " MLA_ANN_PREFIX : "",
                                   tpl_var_label(s->var),
                                   *c == '`' ? "a backtick" : "a control character",
                                   s->esc == MLA_ESC_RAW ? " without backticks" : "");
            char q = s->esc == MLA_ESC_DQ ? '"' : s->esc == MLA_ESC_SQ ? '\'' : 0;
            char tmp[4];
            size_t k = 0;
            if (s->regex && tpl_re2_meta[*c]) {
                /* RE2 quoting, then the string literal's own escaping of that backslash */
                if (q) {
                    tmp[k++] = '\\';
                    tmp[k++] = '\\';
                } else {
                    tmp[k++] = '\\';
                }
                if (*c == '\\' && q) {
                    tmp[k++] = '\\';
                    tmp[k++] = '\\';
                } else {
                    tmp[k++] = (char)*c;
                }
            } else if (q && (*c == '\\' || *c == (unsigned char)q)) {
                tmp[k++] = '\\';
                tmp[k++] = (char)*c;
            } else {
                continue; /* stays in the run */
            }
            if (mla_buf_add(out, (const char *)run, (size_t)(c - run)) != MLA_OK ||
                mla_buf_add(out, tmp, k) != MLA_OK)
                return mla_err_set(err, MLA_ETOOBIG, "expanded template is too long");
            run = c + 1;
        }
        if (mla_buf_add(out, (const char *)run, (size_t)(c - run)) != MLA_OK)
            return mla_err_set(err, MLA_ETOOBIG, "expanded template is too long");
    }
    return MLA_OK;
}
