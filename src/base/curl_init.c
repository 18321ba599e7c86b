/* base/curl_init.c - the one curl_global_init guard (see curl_init.h). */
#include "mla/curl_init.h"

#include <curl/curl.h>
#include <pthread.h>

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc; /* written once under curl_once */

static void curl_init_once(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

enum mla_code mla_curl_init(struct mla_err *err)
{
    pthread_once(&curl_once, curl_init_once);
    if (curl_init_rc != CURLE_OK)
        return mla_err_set(err, MLA_EUNAVAIL, "libcurl init failed: %s",
                           curl_easy_strerror(curl_init_rc));
    return MLA_OK;
}

void mla_curl_cleanup(void)
{
    curl_global_cleanup();
}
