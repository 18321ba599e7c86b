/* fuzz/profile.c - the weekly profile's annotation text (fc.h, mla_fc_profile_decode): any
 * bytes a tenant could put into ml-autoscaling.io/forecast-profile. A text that decodes must
 * hold values in 0..64 and counts >= 1, encode, and its encoding must decode to a profile that
 * encodes to the same text (what a leader writes back is stable). */
#include "mla/fc.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fz_str(data, size);
    struct mla_fc_profile p;
    double t;
    uint64_t k;
    if (mla_fc_profile_decode(text, &p, &t, &k, NULL) == MLA_OK) {
        for (size_t h = 0; h < MLA_FC_PROFILE_HOURS; h++)
            if (!(p.v[h] >= 0 && p.v[h] <= 64) || !p.n[h])
                abort();
        char e1[MLA_FC_PROFILE_TEXT_LEN + 1], e2[MLA_FC_PROFILE_TEXT_LEN + 1];
        struct mla_fc_profile p2;
        double t2;
        uint64_t k2;
        if (mla_fc_profile_encode(&p, t, k, e1, sizeof e1, NULL) != MLA_OK ||
            mla_fc_profile_decode(e1, &p2, &t2, &k2, NULL) != MLA_OK || t2 != t || k2 != k ||
            mla_fc_profile_encode(&p2, t2, k2, e2, sizeof e2, NULL) != MLA_OK ||
            strcmp(e1, e2) != 0)
            abort();
    }
    free(text);
    return 0;
}
