#!/usr/bin/env bash
# `ml-autoscaling test`: the shipped policy cases (tests/policy-cases/) pass against policies/
# and cover every shipped policy; a wrong expectation fails with the difference shown (table and
# --json); malformed case files and usage errors exit 2 with the position.
set -euo pipefail
root=${MLA_ROOT:?}; bin=${MLA_BUILD:?}/ml-autoscaling
tmp=${MLA_TMP:-$(mktemp -d)}
. "$root/tests/support/valgrind.sh"
mla_vg; run=("${MLA_VG[@]}")
fail() { echo "FAIL: $*"; cat "$tmp/out" "$tmp/err" 2>/dev/null | tail -30; exit 1; }
t() { set +e; "${run[@]}" "$bin" test "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?; set -e; }
pol=$root/policies; cases=$root/tests/policy-cases

echo "the shipped cases pass"
t "$cases" --policies "$pol"
[ "$rc" = 0 ] || fail "shipped cases: exit $rc"
n=$(ls "$cases"/*.yaml | wc -l)
grep -q "^$n cases: $n passed, 0 failed, 0 errors$" "$tmp/out" || fail "summary"
t "$cases" --policies "$pol" --json
[ "$rc" = 0 ] || fail "--json: exit $rc"
jq -e --argjson n "$n" '.passed == $n and .failed == 0 and ([.cases[].result] | all(. == "pass"))' \
  "$tmp/out" >/dev/null || fail "--json summary"

echo "every shipped policy has a case that chose it"
for p in $(sed -n 's/^  - name: \([a-z0-9-]*\).*/\1/p' "$pol"/*.yaml); do
  jq -e --arg p "$p" '[.cases[].decision.policy] | index($p) != null' "$tmp/out" >/dev/null \
    || fail "no case for policy $p"
done
jq -e '[.cases[].decision.allowed] | (index(false) != null)' "$tmp/out" >/dev/null || fail "no denied case"

echo "a wrong expectation fails and shows what differed"
mkdir -p "$tmp/c"
sed -e 's/maxReplicaCount: 4/maxReplicaCount: 5/' -e 's/threshold: "3000"/threshold: "2500"/' \
    -e 's/- {name: queue}/- {name: queue, metricType: Value}/' \
    "$cases/gpu-inference-vllm-latency.yaml" > "$tmp/c/a.yaml"
cp "$cases/api-default-with-rps.yaml" "$tmp/c/b.yaml"
t "$tmp/c" --policies "$pol"
[ "$rc" = 1 ] || fail "failing case: exit $rc"
grep -q '^gpu-inference/vllm-latency  *FAIL$' "$tmp/out" || fail "FAIL row"
grep -q '^api/default-with-rps  *PASS$' "$tmp/out" || fail "the other case still passes"
grep -qF 'scaledObject.spec.maxReplicaCount: expected 5, got 4' "$tmp/out" || fail "number diff"
grep -qF 'scaledObject.spec.triggers[3].metadata.threshold: expected "2500", got "3000"' "$tmp/out" || fail "string diff"
grep -qF 'scaledObject.spec.triggers[1].metricType: expected "Value", got (absent)' "$tmp/out" || fail "absent diff"
grep -q '^2 cases: 1 passed, 1 failed, 0 errors$' "$tmp/out" || fail "summary"
t "$tmp/c" --policies "$pol" --json
[ "$rc" = 1 ] || fail "failing --json: exit $rc"
jq -e '.failed == 1 and (.cases[0].diffs | length) == 3
       and .cases[0].diffs[0] == {"path":"scaledObject.spec.maxReplicaCount","match":"equal","expected":5,"actual":4}
       and .cases[0].diffs[1].actual == null' "$tmp/out" >/dev/null || fail "--json diffs"

echo "allowed/denied, message, warnings, policy and a missing ScaledObject are compared"
rm "$tmp/c"/*
sed 's/allowed: false/allowed: true/' "$cases/denied-unknown-profile.yaml" > "$tmp/c/a.yaml"
sed 's/"ml-autoscaling.io\/queue is required/"queue is optional/' "$cases/celery-worker-missing-queue.yaml" > "$tmp/c/b.yaml"
sed 's/\["prefers spot nodes"\]/[]/' "$cases/batch-inference-spot.yaml" > "$tmp/c/c.yaml"
sed 's/policy: orchestrator/policy: api/' "$cases/orchestrator-max-replicas.yaml" > "$tmp/c/d.yaml"
sed 's/scaledObject: null/scaledObject: {spec: {minReplicaCount: 1}}/' "$cases/not-opted-in.yaml" > "$tmp/c/e.yaml"
sed 's/- {name: gpu-utilization}//' "$cases/gpu-inference-triton-clamped.yaml" > "$tmp/c/f.yaml"
t "$tmp/c" --policies "$pol"
[ "$rc" = 1 ] || fail "exit $rc"
grep -q '^6 cases: 0 passed, 6 failed, 0 errors$' "$tmp/out" || fail "all six fail"
grep -qF 'allowed: expected true, got false' "$tmp/out" || fail "allowed diff"
grep -qF '(denied: ml-autoscaling: ml-autoscaling.io/profile: unknown profile' "$tmp/out" || fail "denial shown"
grep -qF 'message: expected to contain "queue is optional by profile '"'"'celery-worker'"'"'", got "ml-autoscaling: ml-autoscaling.io/queue is required' "$tmp/out" || fail "message diff"
grep -qF 'warnings: expected [], got ["ml-autoscaling: policy '"'"'batch-inference'"'"' prefers spot nodes' "$tmp/out" || fail "no-warnings diff"
grep -qF 'policy: expected "api", got "orchestrator"' "$tmp/out" || fail "policy diff"
grep -qF 'scaledObject: expected {"spec":{"minReplicaCount":1}}, got (absent)' "$tmp/out" || fail "missing ScaledObject"
grep -qF 'scaledObject.spec.triggers: expected 1 elements, got 2' "$tmp/out" || fail "length diff"

echo "malformed case files: exit 2, FILE:LINE:COL, the other cases still run"
rm "$tmp/c"/*
cp "$cases/api-default-with-rps.yaml" "$tmp/c/a.yaml"
sed 's/^  policy: celery-worker/  polcy: celery-worker/' "$cases/celery-worker-queue.yaml" > "$tmp/c/b.yaml"
sed '1,/^---$/d' "$cases/api-default-with-rps.yaml" > "$tmp/c/c.yaml"
sed 's/^  allowed: true/  allowed: "yes"/' "$cases/orchestrator-max-replicas.yaml" > "$tmp/c/d.yaml"
printf 'kind: PolicyTest\nexpect: {allowed: true\n' > "$tmp/c/e.yaml"
echo 'not a case' > "$tmp/c/notes.txt"
t "$tmp/c" --policies "$pol"
[ "$rc" = 2 ] || fail "malformed: exit $rc"
grep -q '^api/default-with-rps  *PASS$' "$tmp/out" || fail "good case runs"
grep -qE "b.yaml:[0-9]+:3: unknown field 'expect.polcy'; allowed: allowed, message" "$tmp/out" || fail "unknown field"
grep -qF "c.yaml: no PolicyTest document" "$tmp/out" || fail "no PolicyTest"
grep -qE "d.yaml:[0-9]+:[0-9]+: expect.allowed is required: true or false" "$tmp/out" || fail "allowed type"
grep -qE "e.yaml:[0-9]+:[0-9]+: YAML" "$tmp/out" || fail "broken YAML"
grep -q '^5 cases: 1 passed, 0 failed, 4 errors$' "$tmp/out" || fail "summary"

echo "a Job case compares its ScaledJob"
mkdir -p "$tmp/j"
sed 's/strategy: accurate/strategy: eager/' "$cases/batch-jobs-template.yaml" > "$tmp/j/a.yaml"
sed 's/^  scaledObject: null/  scaledJob: null/' "$cases/batch-jobs-template.yaml" | sed '/^  scaledJob:$/,/^---$/{/^---$/!d}' > "$tmp/j/b.yaml"
t "$tmp/j" --policies "$pol"
[ "$rc" = 1 ] || fail "failing Job cases: exit $rc"
grep -qF 'scaledJob.spec.scalingStrategy.strategy: expected "eager", got "accurate"' "$tmp/out" || fail "ScaledJob diff"
grep -qF 'scaledJob: expected null, got {' "$tmp/out" || fail "ScaledJob null diff"

echo "usage and file errors exit 2"
t; [ "$rc" = 2 ] || fail "no args: $rc"
t "$cases"; [ "$rc" = 2 ] || fail "no --policies: $rc"
t "$cases" --policies "$pol" --bogus; [ "$rc" = 2 ] || fail "unknown flag: $rc"
t "$tmp/nope" --policies "$pol"; [ "$rc" = 2 ] && grep -q "cannot open" "$tmp/err" || fail "missing dir: $rc"
mkdir -p "$tmp/empty"; t "$tmp/empty" --policies "$pol"
[ "$rc" = 2 ] && grep -q "no case files" "$tmp/err" || fail "empty dir: $rc"
t "$cases" --policies "$tmp/nope"; [ "$rc" = 2 ] || fail "bad policy dir: $rc"
t --help; [ "$rc" = 0 ] && grep -q "Usage: ml-autoscaling test CASES --policies DIR" "$tmp/out" || fail "--help"
t "$cases/not-opted-in.yaml" --policies "$pol"
[ "$rc" = 0 ] && grep -q '^1 cases: 1 passed' "$tmp/out" || fail "a single file: $rc"
echo "all policy-case checks passed"
