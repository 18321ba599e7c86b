#!/usr/bin/env bash
# `ml-autoscaling lint`: exit codes and the FILE:LINE:COL messages users see.
set -euo pipefail
root=${MLA_ROOT:?}; bin=${MLA_BUILD:?}/ml-autoscaling
tmp=${MLA_TMP:-$(mktemp -d)}
. "$root/tests/support/valgrind.sh"
mla_vg; run=("${MLA_VG[@]}")
fail() { echo "FAIL: $*"; exit 1; }
lint() { set +e; "${run[@]}" "$bin" lint "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?; set -e; }

echo "shipped policies are valid"
lint --policies "$root/policies"
[ "$rc" = 0 ] || { cat "$tmp/err"; fail "shipped policies: exit $rc"; }
grep -Eq '^ok: 8 policies, 12 profiles in .* \(sha256:[0-9a-f]{64}\)$' "$tmp/out" || fail "summary: $(cat "$tmp/out")"
[ ! -s "$tmp/err" ] || fail "stderr not empty on success"

echo "every error of a broken set, FILE:LINE:COL, in order, exit 1"
cd "$root/tests/fixtures/lint"
lint --policies bad
[ "$rc" = 1 ] || fail "bad: exit $rc"
diff -u bad/expected.txt "$tmp/err" || fail "bad: messages differ"
if grep -vE '^[^:]+:[0-9]+:[0-9]+: ' "$tmp/err"; then fail "a line without FILE:LINE:COL"; fi
[ ! -s "$tmp/out" ] || fail "stdout not empty on failure"

echo "an empty directory is an error"
lint --policies empty
[ "$rc" = 1 ] || fail "empty: exit $rc"
grep -q '^empty: no policy files' "$tmp/err" || fail "empty: $(cat "$tmp/err")"

echo "one bad file among good ones fails the set and names only that file"
mkdir -p "$tmp/mixed"
cp "$root/policies/api.yaml" "$tmp/mixed/"
printf 'policies:\n  - name: dup\n    defaults:\n      triggers:\n        - {type: cpu, threshold: 50}\n  - name: dup\n    defaults:\n      triggers: []\n' > "$tmp/mixed/z.yml"
lint --policies "$tmp/mixed"
[ "$rc" = 1 ] || fail "mixed: exit $rc"
grep -q "z.yml:6:11: policy name 'dup' is already used at .*z.yml:2:11" "$tmp/err" || fail "duplicate name: $(cat "$tmp/err")"
grep -q "z.yml:6:5: defaults: no triggers; at least one is needed" "$tmp/err" || fail "empty triggers: $(cat "$tmp/err")"
if grep -q 'api.yaml' "$tmp/err"; then fail "the good file was blamed"; fi

echo "JSON policy files are accepted, with positions"
printf '{"policies": [{"name": "j", "defaults": {"minReplicas": "2", "triggers": [{"type": "cpu", "threshold": 60}]}}]}\n' > "$tmp/j.json"
mkdir -p "$tmp/json" && mv "$tmp/j.json" "$tmp/json/"
lint --policies "$tmp/json"
[ "$rc" = 1 ] || fail "json: exit $rc"
grep -q 'j.json:1:57: minReplicas: must be an integer from 0 to 10000, got a string' "$tmp/err" || fail "json: $(cat "$tmp/err")"

echo "ScaledJob settings (Job templates) are checked with positions"
mkdir -p "$tmp/sj"
printf 'policies:\n  - name: j\n    defaults:\n      triggers:\n        - {type: rabbitmq, threshold: 1, authenticationRef: rmq, metadata: {queueName: q}}\n      scaledJob:\n        scalingStrategy: fast\n        failedJobsHistoryLimit: 5000\n        customScalingQueueLengthDeduction: 1\n' > "$tmp/sj/j.yaml"
lint --policies "$tmp/sj"
[ "$rc" = 1 ] || fail "scaledJob: exit $rc"
grep -q "j.yaml:7:26: scalingStrategy: 'fast' is not allowed; allowed: default, custom, accurate, eager" "$tmp/err" || fail "strategy: $(cat "$tmp/err")"
grep -q "j.yaml:8:33: failedJobsHistoryLimit: 5000 is out of range; allowed: an integer from 0 to 1000" "$tmp/err" || fail "history: $(cat "$tmp/err")"
grep -q "j.yaml:2:5: defaults: scaledJob.customScalingQueueLengthDeduction and customScalingRunningJobPercentage need scaledJob.scalingStrategy custom" "$tmp/err" || fail "custom: $(cat "$tmp/err")"

echo "usage errors exit 2"
lint; [ "$rc" = 2 ] || fail "no args: exit $rc"
lint --policies; [ "$rc" = 2 ] || fail "missing value: exit $rc"
lint --bogus x; [ "$rc" = 2 ] || fail "unknown option: exit $rc"
lint --policies "$tmp/does-not-exist"; [ "$rc" = 2 ] || fail "missing dir: exit $rc"
grep -q 'cannot open policy directory' "$tmp/err" || fail "missing dir message"
lint --help; [ "$rc" = 0 ] || fail "--help: exit $rc"
grep -q 'Usage: ml-autoscaling lint --policies DIR' "$tmp/out" || fail "--help text"
echo "all lint checks passed"
