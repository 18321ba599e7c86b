/* fuzz.h - what the libFuzzer targets in tests/fuzz/ share: the product's own policies
 * (policies/, or $MLA_FUZZ_POLICIES), loaded once per fuzzing process, and a NUL-terminated
 * copy of the input. Built only by `make fuzz` / `make fuzz-check` (clang, ASan+UBSan). */
#ifndef MLA_FUZZ_H
#define MLA_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mla/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The policy set, loaded at the first call and kept for the process (the fuzzer never exits
 * normally, so it is not freed). Aborts when the policies do not load: the target is useless. */
static inline struct mla_policy_set *fz_policies(void)
{
    static struct mla_policy_set *ps;
    if (!ps) {
        const char *dir = getenv("MLA_FUZZ_POLICIES");
        struct mla_err err;
        mla_err_clear(&err);
        if (mla_policy_set_load_dir(dir && *dir ? dir : "policies", &ps, &err) != MLA_OK)
            abort();
    }
    return ps;
}

/* A NUL-terminated copy of the input (caller frees). */
static inline char *fz_str(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

#endif
