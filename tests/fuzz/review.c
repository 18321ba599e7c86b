/* fuzz/review.c - an arbitrary request body through what `serve` does with it: the
 * AdmissionReview decoder, the whole decision (mla_decide with the product's policies) and the
 * response encoder. The response must always be valid JSON. */
#include <cjson/cJSON.h>

#include "fuzz.h"
#include "mla/decide.h"
#include "mla/review.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mla_review_request req;
    char uid[MLA_REVIEW_MAX_UID + 1];
    struct mla_err err;
    mla_err_clear(&err);
    struct mla_buf out;
    mla_buf_init(&out, 4u << 20);
    enum mla_code rc = mla_review_decode((const char *)data, size, &req, uid, sizeof uid, &err);
    if (rc == MLA_OK) {
        struct mla_decision d;
        if (mla_decide(fz_policies(), &req, &d, &err) != MLA_OK && d.allowed)
            abort(); /* an error must leave the decision denied */
        if (mla_review_encode(req.uid, &d, &out, NULL) == MLA_OK) {
            cJSON *back = cJSON_ParseWithLength(out.data, out.len);
            if (!back)
                abort();
            cJSON_Delete(back);
        }
        mla_decision_fini(&d);
        mla_review_request_fini(&req);
    } else if (rc == MLA_EINVAL) {
        if (mla_review_encode_denied(uid, 400, err.msg, &out, NULL) == MLA_OK) {
            cJSON *back = cJSON_ParseWithLength(out.data, out.len);
            if (!back)
                abort();
            cJSON_Delete(back);
        }
    }
    mla_buf_fini(&out);
    return 0;
}
