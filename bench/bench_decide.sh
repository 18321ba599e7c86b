#!/usr/bin/env bash
# The policy engine alone: ns per mla_decide() for not-opted-in and opted-in Deployments
# (the shipped policies), then the whole in-process admission path (decode, decide, encode) for
# the two bench reviews. The webhook benchmark measures the whole HTTPS path.
set -u
"${MLA_BUILD:?}/mla-bench-decide" --policies "${MLA_ROOT:?}/policies" --iterations "${MLA_BENCH_N:-200000}" \
  --review "$MLA_ROOT/bench/review-optedin.json" --review "$MLA_ROOT/bench/review-plain.json"
