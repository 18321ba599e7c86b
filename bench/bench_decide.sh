#!/usr/bin/env bash
# The policy engine alone: ns per mla_decide() for not-opted-in and opted-in Deployments
# (the shipped policies). The webhook benchmark measures the whole HTTPS path.
set -u
"${MLA_BUILD:?}/mla-bench-decide" --policies "${MLA_ROOT:?}/policies" --iterations "${MLA_BENCH_N:-200000}"
