/* curl_init.h - libcurl's process-wide initialisation, once, for both API clients (kube, prom).
 *
 * Why one guard: curl_global_init is not thread-safe and must run once per process before any
 * handle; two guards (one per client) would each call it.
 * Ownership: nothing. Threading: any thread; the first call initialises (pthread_once).
 */
#ifndef MLA_CURL_INIT_H
#define MLA_CURL_INIT_H

#include "mla/err.h"

/* Initialises libcurl on the first call; every call returns that first result (MLA_EUNAVAIL
 * with curl's message when it failed). */
enum mla_code mla_curl_init(struct mla_err *err) MLA_MUST_CHECK;

/* curl_global_cleanup, for programs that exit with no handle left (valgrind-clean exits). */
void mla_curl_cleanup(void);

#endif
