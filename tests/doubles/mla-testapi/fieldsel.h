/* fieldsel.h - LIST ?fieldSelector= as kube-apiserver answers it (fieldsel.c): the fields every
 * kind selects on (metadata.name, metadata.namespace) and the Job's status.successful; any
 * other field is refused with 400, as the real server refuses a field it cannot select on.
 *
 * Ownership: the list is borrowed and filtered in place; *msg is a static string.
 * Threading: called with the store's mutex held.
 */
#ifndef MLA_TESTAPI_FIELDSEL_H
#define MLA_TESTAPI_FIELDSEL_H

#include <cjson/cJSON.h>

/* Keeps the items of `list` ({"items":[...]}, of resource `plural`) that the selector `sel`
 * (terms "f=v", "f==v" or "f!=v", comma separated) matches. Returns 0, or 400 with *msg
 * naming what is not supported (list untouched then). */
long ta_fieldsel_filter(const char *plural, const char *sel, cJSON *list, const char **msg);

#endif
