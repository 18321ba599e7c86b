/* discovery.h - the test API server's discovery documents (/apis, /apis/<group>,
 * /apis/<group>/<version>) and its KEDA CRD switch (see discovery.c).
 *
 * Ownership: answers are new cJSON objects the caller sends and frees.
 * Threading: every function is called with the server's store mutex (ta.mu) held.
 */
#ifndef MLA_TESTAPI_DISCOVERY_H
#define MLA_TESTAPI_DISCOVERY_H

#include <cjson/cJSON.h>
#include <stdbool.h>

/* Answers discovery paths and, while KEDA's CRD is removed, every keda.sh path (404 as
 * kube-apiserver does for an API nobody serves). Returns true when it answered (*code, *out
 * set; *out new), false for paths it does not own. */
bool ta_disc_serve(const char *method, const char *url, long *code, cJSON **out);

/* `"kedaInstalled": true|false` in a /_control body; `"reset": true` installs it again. */
void ta_disc_control(const cJSON *control);

#endif
