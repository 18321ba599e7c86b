#!/usr/bin/env bash
# `ml-autoscaling render`: exit codes, input forms and error messages (the golden test covers
# the decisions themselves).
set -euo pipefail
root=${MLA_ROOT:?}; bin=${MLA_BUILD:?}/ml-autoscaling
tmp=${MLA_TMP:-$(mktemp -d)}
. "$root/tests/support/valgrind.sh"
mla_vg; run=("${MLA_VG[@]}")
fail() { echo "FAIL: $*"; exit 1; }
render() { set +e; "${run[@]}" "$bin" render "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?; set -e; }
pol=$root/policies
dep=$root/tests/fixtures/render/vllm-gpu/deployment.yaml

echo "usage errors exit 2"
render; [ "$rc" = 2 ] || fail "no args: $rc"
render -f "$dep"; [ "$rc" = 2 ] || fail "no --policies: $rc"
render -f "$dep" --policies "$pol" -o xml; [ "$rc" = 2 ] || fail "-o xml: $rc"
grep -q "allowed: yaml, json" "$tmp/err" || fail "-o message"
render -f "$dep" --policies "$pol" --operation DELETE; [ "$rc" = 2 ] || fail "--operation: $rc"
render -f "$dep" --policies "$pol" --old "$dep"; [ "$rc" = 2 ] || fail "--old without UPDATE: $rc"
render --help; [ "$rc" = 0 ] && grep -q "Usage: ml-autoscaling render" "$tmp/out" || fail "--help"

echo "file errors exit 2 with the position"
render -f "$tmp/missing.yaml" --policies "$pol"; [ "$rc" = 2 ] || fail "missing file: $rc"
grep -q "cannot open" "$tmp/err" || fail "missing file message"
printf 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x\n' > "$tmp/broken.yaml"
render -f "$tmp/broken.yaml" --policies "$pol"; [ "$rc" = 2 ] || fail "broken yaml: $rc"
grep -Eq "broken.yaml:[0-9]+:[0-9]+: YAML" "$tmp/err" || fail "broken yaml message: $(cat "$tmp/err")"
printf 'apiVersion: v1\nkind: Service\nmetadata: {name: x}\n' > "$tmp/svc.yaml"
render -f "$tmp/svc.yaml" --policies "$pol"; [ "$rc" = 2 ] || fail "no deployment: $rc"
grep -q "no apps/v1 Deployment" "$tmp/err" || fail "no deployment message"
sed 's/"true"/true/' "$dep" > "$tmp/unquoted.yaml"
render -f "$tmp/unquoted.yaml" --policies "$pol"; [ "$rc" = 2 ] || fail "unquoted bool: $rc"
grep -q 'metadata.annotations.ml-autoscaling.io/enabled must be a string' "$tmp/err" || fail "unquoted message"
render -f "$dep" --policies "$tmp/nope"; [ "$rc" = 2 ] || fail "bad policy dir: $rc"

echo "multi-document files and stdin; --namespace overrides"
{ printf 'apiVersion: v1\nkind: Service\nmetadata: {name: s}\n---\n'; cat "$dep"; } > "$tmp/multi.yaml"
render -f "$tmp/multi.yaml" --policies "$pol" -o json --namespace team-a
[ "$rc" = 0 ] || fail "multi: $rc $(cat "$tmp/err")"
[ "$(jq -r .scaledObject.metadata.namespace "$tmp/out")" = team-a ] || fail "namespace"
jq -r '.scaledObject.spec.triggers[0].metadata.query' "$tmp/out" | grep >/dev/null 'namespace="team-a"' || fail "query namespace"
set +e; "$bin" render -f - --policies "$pol" -o json < "$dep" > "$tmp/stdin.json"; rc=$?; set -e
[ "$rc" = 0 ] || fail "stdin: $rc"
jq -e '.allowed == true and (.patch | length) == 4' "$tmp/stdin.json" >/dev/null || fail "stdin output"

echo "denied exits 1 and says why on stdout"
render -f "$root/tests/fixtures/render/unknown-profile/deployment.yaml" --policies "$pol" -o json
[ "$rc" = 1 ] || fail "denied: $rc"
jq -e '.allowed == false and .scaledObject == null and (.message | test("unknown profile"))' "$tmp/out" >/dev/null || fail "denied output"
echo "all render CLI checks passed"
