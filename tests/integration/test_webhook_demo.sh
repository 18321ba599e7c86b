#!/usr/bin/env bash
# The README's demo (scripts/demo.sh --no-deps) runs end to end: every example Deployment in
# docs/examples/ gets an answer, the opted-in ones a decoded patch, and the server stops cleanly.
set -u
. "$(dirname "$0")/webhook_lib.sh"
out=$(cd "$MLA_ROOT" && MLA_BUILD="$MLA_BUILD" timeout 120 bash scripts/demo.sh --no-deps 2>&1) || fail "demo failed: $out"
echo "$out" | grep -q 'server stopped cleanly (SIGTERM, exit 0)' || fail "demo did not stop the server cleanly: $out"
n=$(ls "$MLA_ROOT"/docs/examples/*.yaml | wc -l)
echo "$out" | grep -Eq "^[0-9]+ AdmissionReviews answered" || fail "no summary: $out"
[ "$(echo "$out" | grep -c '^  result:   ')" -ge "$n" ] || fail "not every example was answered: $out"
echo "$out" | grep -A1 'plain-api.yaml' | grep -q 'result:   ALLOWED' || fail "plain-api not allowed: $out"
echo "$out" | grep -A8 'vllm-gpu-inference.yaml' | grep -q 'ml-autoscaling.io~1managed' || fail "vllm patch not shown: $out"
ok "demo: $(echo "$out" | grep -c '^  result:   ') examples answered, patches decoded, clean stop"
