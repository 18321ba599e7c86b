/* fieldsel.c - LIST field selectors (fieldsel.h): the reconcile loop narrows its list of
 * unmanaged Jobs with status.successful=0, so the double must filter as kube-apiserver does
 * (an ignored selector would hide a wrong one). */
#include "fieldsel.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* The value of field `f` of `o` as the API server selects on it; NULL: not selectable. */
static bool fs_value(const char *plural, const cJSON *o, const char *f, char *out, size_t n)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "metadata");
    if (!strcmp(f, "metadata.name") || !strcmp(f, "metadata.namespace")) {
        const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, f + 9));
        snprintf(out, n, "%s", v ? v : "");
        return true;
    }
    if (!strcmp(plural, "jobs") && !strcmp(f, "status.successful")) {
        /* absent: 0, as the server's strconv.Itoa(int(job.Status.Succeeded)) gives */
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(o, "status"), "succeeded");
        snprintf(out, n, "%d", cJSON_IsNumber(s) ? (int)s->valuedouble : 0);
        return true;
    }
    return false;
}

struct fs_term {
    char field[64], value[256];
    bool neg;
};

/* Parses "f=v", "f==v", "f!=v"; false on a malformed term. */
static bool fs_parse(const char *t, size_t len, struct fs_term *out)
{
    char buf[400];
    if (len >= sizeof buf)
        return false;
    memcpy(buf, t, len);
    buf[len] = '\0';
    char *op = strstr(buf, "!=");
    size_t skip = 2;
    out->neg = op != NULL;
    if (!op) {
        op = strchr(buf, '=');
        skip = op && op[1] == '=' ? 2 : 1;
    }
    if (!op || op == buf)
        return false;
    *op = '\0';
    snprintf(out->field, sizeof out->field, "%s", buf);
    snprintf(out->value, sizeof out->value, "%s", op + skip);
    return true;
}

long ta_fieldsel_filter(const char *plural, const char *sel, cJSON *list, const char **msg)
{
    struct fs_term terms[8];
    int nt = 0;
    for (const char *p = sel; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (nt == 8 || !fs_parse(p, len, &terms[nt])) {
            *msg = "invalid field selector";
            return 400;
        }
        char probe[16];
        if (!fs_value(plural, NULL, terms[nt].field, probe, sizeof probe)) {
            *msg = "field label not supported";
            return 400;
        }
        nt++;
        p = e ? e + 1 : p + len;
    }
    cJSON *items = cJSON_GetObjectItemCaseSensitive(list, "items");
    for (int i = cJSON_GetArraySize(items) - 1; i >= 0; i--) {
        const cJSON *o = cJSON_GetArrayItem(items, i);
        bool keep = true;
        for (int k = 0; k < nt && keep; k++) {
            char v[256];
            fs_value(plural, o, terms[k].field, v, sizeof v);
            keep = !strcmp(v, terms[k].value) != terms[k].neg;
        }
        if (!keep)
            cJSON_DeleteItemFromArray(items, i);
    }
    return 0;
}
