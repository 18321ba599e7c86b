/* fuzz/tpl.c - the PromQL template substitution: the first line is a template (compiled as
 * PromQL when it starts with 'P', as plain text otherwise), the second the Deployment name,
 * the third the namespace, the following lines annotation values in enum mla_ann order
 * ("-" = absent). */
#include "../../src/policy/policy-int.h"
#include "fuzz.h"

static char *fz_line(char **p)
{
    if (!*p)
        return NULL;
    char *s = *p, *nl = strchr(s, '\n');
    if (nl) {
        *nl = '\0';
        *p = nl + 1;
    } else {
        *p = NULL;
    }
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fz_str(data, size), *p = text;
    char *src = fz_line(&p);
    const char *name = fz_line(&p), *ns = fz_line(&p);
    const char *ann[MLA_ANN__COUNT] = {0};
    for (int i = 0; i < MLA_ANN__COUNT; i++) {
        const char *v = fz_line(&p);
        ann[i] = v && strcmp(v, "-") ? v : NULL;
    }
    struct mla_arena a = {0};
    struct mla_tpl *t = NULL;
    char why[256];
    bool promql = src[0] == 'P';
    if (mla__tpl_compile(&a, promql ? src + 1 : src, promql, &t, why, sizeof why)) {
        struct mla_buf out;
        mla_buf_init(&out, 1u << 20);
        (void)mla_tpl_expand(t, name ? name : "app", ns ? ns : "default", ann, &out, NULL);
        mla_buf_fini(&out);
    }
    mla_arena_fini(&a);
    free(text);
    return 0;
}
