/* fuzz/kube.c - the parsers of what the Kubernetes side reads: API answers and manifests as
 * YAML/JSON (mla_kube_yaml_parse) with their Status message, a kubeconfig, a label selector
 * matched against the parsed labels, RFC 3339 times and Retry-After headers. The first byte
 * picks the parser, the rest is its input. */
#include <cjson/cJSON.h>

#include "fuzz.h"
#include "mla/kube.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char *s = fz_str(data + 1, size - 1);
    cJSON *docs = NULL;
    switch (data[0] % 5) {
    case 0:
        if (mla_kube_yaml_parse(s, size - 1, &docs, NULL) == MLA_OK) {
            for (const cJSON *d = docs->child; d; d = d->next) {
                (void)mla_kube_status_message(d);
                (void)mla_kube_meta_str(d, "name");
                (void)mla_kube_annotation(d, "ml-autoscaling.io/enabled");
                (void)mla_kube_label(d, "app");
            }
            cJSON_Delete(docs);
        }
        break;
    case 1: {
        struct mla_kube_config c;
        mla_kube_config_init(&c);
        (void)mla_kube_config_parse_kubeconfig(s, size - 1, "/nonexistent", NULL, &c, NULL);
        mla_kube_config_fini(&c);
        break;
    }
    case 2: {
        /* "selector\nlabels as JSON" */
        char *nl = strchr(s, '\n');
        cJSON *labels = NULL;
        if (nl) {
            *nl = '\0';
            labels = cJSON_Parse(nl + 1);
        }
        bool match = false;
        (void)mla_kube_selector_match(s, labels, &match, NULL);
        cJSON_Delete(labels);
        break;
    }
    case 3: {
        double t = 0;
        if (mla_kube_time_parse(s, &t) == MLA_OK) {
            char out[64];
            mla_kube_time_format(out, sizeof out, t, true);
        }
        break;
    }
    default: {
        long ms = mla_kube_retry_after_ms(s, 1764806400LL);
        if (ms < -1)
            abort();
        (void)mla_kube_backoff_ms(3, 100, 5000, ms, 0.5);
        break;
    }
    }
    free(s);
    return 0;
}
