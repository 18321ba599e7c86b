#!/usr/bin/env bash
# Golden tests of `ml-autoscaling render` over tests/fixtures/render/<case>/:
#   deployment.yaml   the Deployment (YAML or JSON)
#   args              optional extra arguments (e.g. --operation UPDATE --old old.yaml)
#   expected.json     the exact `render -o json` output (UPDATE=1 regenerates it: review it!)
# For each case it also checks the exit code (0 allowed, 1 denied), that -o yaml says the same
# as -o json, that the patch applies with `kubectl patch --local --type=json` the way
# kube-apiserver applies it, and that the ScaledObject passes KEDA's CRD schema and webhook
# rules (tests/keda/validate_so.py) against the patched Deployment. A case whose deployment.yaml
# holds a batch/v1 Job (a ScaledJob template) has its ScaledJob checked against KEDA's ScaledJob
# CRD and the template rules (tests/keda/validate_sj.py) against the patched Job.
set -euo pipefail
root=${MLA_ROOT:?}; bin=${MLA_BUILD:?}/ml-autoscaling
tmp=${MLA_TMP:-$(mktemp -d)}
. "$root/tests/support/valgrind.sh"
mla_vg; run=("${MLA_VG[@]}")
py=/usr/bin/python3
fails=0; n=0
for dir in "$root"/tests/fixtures/render/*/; do
  case=$(basename "$dir"); n=$((n+1))
  args=()
  if [ -f "$dir/args" ]; then read -r -a args < "$dir/args"; fi
  out=$tmp/$case.json
  set +e
  (cd "$dir" && "${run[@]}" "$bin" render -o json --policies "$root/policies" -f deployment.yaml "${args[@]}") >"$out" 2>"$tmp/$case.err"
  rc=$?
  set -e
  if [ "$rc" -gt 1 ]; then
    echo "FAIL $case: render exited $rc"; cat "$tmp/$case.err"; fails=$((fails+1)); continue
  fi
  allowed=$(jq -r .allowed "$out")
  want_rc=1; [ "$allowed" = true ] && want_rc=0
  if [ "$rc" != "$want_rc" ]; then
    echo "FAIL $case: exit $rc but allowed=$allowed"; fails=$((fails+1)); continue
  fi
  if [ "${UPDATE:-0}" = 1 ]; then
    jq . "$out" > "$dir/expected.json"; echo "updated $case"
  elif ! diff -u <(jq -S . "$dir/expected.json") <(jq -S . "$out"); then
    echo "FAIL $case: output differs from expected.json"; fails=$((fails+1)); continue
  fi
  # -o yaml must carry the same document
  (cd "$dir" && "$bin" render -o yaml --policies "$root/policies" -f deployment.yaml "${args[@]}") >"$tmp/$case.yaml" || true
  if ! $py -c 'import json,sys,yaml; a=yaml.safe_load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); sys.exit(0 if a==b else 1)' "$tmp/$case.yaml" "$out"; then
    echo "FAIL $case: -o yaml differs from -o json"; fails=$((fails+1)); continue
  fi
  patched=$tmp/$case.patched.json
  if [ "$(jq '.patch | length' "$out")" -gt 0 ]; then
    if ! kubectl patch --local --type=json -f "$dir/deployment.yaml" -p "$(jq -c .patch "$out")" -o json >"$patched" 2>"$tmp/$case.kerr"; then
      echo "FAIL $case: kubectl could not apply the patch"; cat "$tmp/$case.kerr"; fails=$((fails+1)); continue
    fi
  else
    kubectl create --dry-run=client -f "$dir/deployment.yaml" -o json >"$patched" 2>/dev/null || $py -c 'import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))' "$dir/deployment.yaml" >"$patched"
  fi
  if [ "$(jq -r '.scaledObject != null' "$out")" = true ]; then
    jq .scaledObject "$out" > "$tmp/$case.so.json"
    if ! $py "$root/tests/keda/validate_so.py" "$tmp/$case.so.json" "$patched"; then
      echo "FAIL $case: ScaledObject rejected by the KEDA schema/webhook rules"; fails=$((fails+1)); continue
    fi
  fi
  if [ "$(jq -r '.scaledJob != null' "$out")" = true ]; then
    jq .scaledJob "$out" > "$tmp/$case.sj.json"
    if ! $py "$root/tests/keda/validate_sj.py" "$tmp/$case.sj.json" "$patched"; then
      echo "FAIL $case: ScaledJob rejected by the KEDA schema or the template rules"; fails=$((fails+1)); continue
    fi
  fi
  echo "ok   $case (allowed=$allowed)"
done
[ "$n" -gt 0 ] || { echo "no cases found"; exit 1; }
echo "$n cases, $fails failed"
[ "$fails" -eq 0 ]
