#!/usr/bin/env bash
# End to end with the real policy engine (mla_decide over policies/): the admission decision's
# patch is applied and the Deployment stored as kube-apiserver would; the worker applies exactly
# the ScaledObject `ml-autoscaling render` prints, removing the conflicting HPA; opting out
# deletes it and restores the HPA; the leader's loop writes the same ScaledObject for a managed
# Deployment whose admission work was lost.
. "$(dirname "$0")/lib_kube.sh"
kube_start_api
ensure_ns "$LEASE_NS"
DRV_TEMPLATE="" driver_start drv --policy-dir "$MLA_ROOT/policies" --loop-interval 3600 --lease-namespace "$LEASE_NS" \
  --lease-name policy-test --lease-duration 3 --renew-deadline 2 --retry-period 0.5
PY=/usr/bin/python3
SRC="$MLA_ROOT/tests/fixtures/render/api-cpu-only/deployment.yaml"
NS=$(ns web); N=search-frontend
yaml_in_ns "$SRC" "$NS" >"$MLA_TMP/dep.json"
ensure_ns "$NS"
create_hpa "$NS" legacy-hpa "$N"
render() { "$MLA_BUILD/ml-autoscaling" render -f "$1" --policies "$MLA_ROOT/policies" -o json; }
render "$MLA_TMP/dep.json" >"$MLA_TMP/render.json" || fail "render failed"

out=$(send "{\"review\":{\"operation\":\"CREATE\",\"namespace\":\"$NS\",\"object\":$(cat "$MLA_TMP/dep.json")}}")
[ "$(echo "$out" | jqr allowed)" = true ] || fail "denied: $out"
echo "$out" | grep -q 'legacy-hpa' || fail "no warning about the HPA: $out"
ok "admission (policy engine): $(echo "$out" | jqr message)"
ok "warnings: $(echo "$out" | jqr warnings)"
patch=$(echo "$out" | jqr patch)
/usr/bin/kubectl patch --local --type=json -f "$MLA_TMP/dep.json" -p "$patch" -o json >"$MLA_TMP/stored.json" || fail "patch does not apply"
kapi POST "/apis/apps/v1/namespaces/$NS/deployments" "$(cat "$MLA_TMP/stored.json")" >/dev/null
[ "$(code)" = 201 ] || fail "store: $(cat "$MLA_TMP/last.body")"
ok "Deployment stored with the admission patch applied"
wait_until 5 exists "$(so_path "$NS" "$N")" || fail "no ScaledObject: $(tail -3 "$MLA_TMP/drv.err")"
kapi GET "$(so_path "$NS" "$N")" >"$MLA_TMP/so.json"
$PY - "$MLA_TMP/render.json" "$MLA_TMP/so.json" "$(kapi GET "$(dep_path "$NS" "$N")" | jqr metadata.uid)" <<'PYEOF' || fail "applied ScaledObject differs from render"
import json, sys
want = json.load(open(sys.argv[1]))["scaledObject"]; have = json.load(open(sys.argv[2])); uid = sys.argv[3]
assert have["spec"] == want["spec"], (have["spec"], want["spec"])
for k in ("labels", "annotations"):
    for key, v in want["metadata"].get(k, {}).items():
        assert have["metadata"][k].get(key) == v, (k, key)
ref = have["metadata"]["ownerReferences"][0]
assert ref["uid"] == uid and ref["controller"] and ref["blockOwnerDeletion"], ref
assert json.loads(have["metadata"]["annotations"]["ml-autoscaling.io/removed-hpa"])["metadata"]["name"] == "legacy-hpa"
PYEOF
gone "$(hpa_path "$NS" legacy-hpa)" || fail "HPA not removed"
ok "applied ScaledObject = render's (spec, labels, annotations), owned by the Deployment; HPA removed and kept"

# opt out: UPDATE without the opt-in
kapi GET "$(dep_path "$NS" "$N")" >"$MLA_TMP/cur.json"
$PY -c 'import json,sys; d=json.load(open(sys.argv[1])); d["metadata"]["annotations"].pop("ml-autoscaling.io/enabled"); print(json.dumps(d))' "$MLA_TMP/cur.json" >"$MLA_TMP/new.json"
out=$(send "{\"review\":{\"operation\":\"UPDATE\",\"namespace\":\"$NS\",\"object\":$(cat "$MLA_TMP/new.json"),\"oldObject\":$(cat "$MLA_TMP/cur.json")}}")
[ "$(echo "$out" | jqr allowed)" = true ] || fail "opt-out denied: $out"
patch=$(echo "$out" | jqr patch)
/usr/bin/kubectl patch --local --type=json -f "$MLA_TMP/new.json" -p "$patch" -o json >"$MLA_TMP/stored2.json"
kapi PUT "$(dep_path "$NS" "$N")" "$(cat "$MLA_TMP/stored2.json")" >/dev/null
[ "$(code)" = 200 ] || fail "store update: $(cat "$MLA_TMP/last.body")"
wait_until 5 gone "$(so_path "$NS" "$N")" || fail "ScaledObject not removed on opt-out"
wait_until 5 exists "$(hpa_path "$NS" legacy-hpa)" || fail "HPA not restored"
ok "opt-out (policy engine decides MLA_ACT_REMOVE): ScaledObject deleted, legacy-hpa restored"

# the loop: a managed Deployment stored without its admission work (a replica died)
$PY -c 'import json,sys; d=json.load(open(sys.argv[1])); d["metadata"]["name"]="search-b"; d["spec"]["selector"]["matchLabels"]["app"]="search-b"; d["spec"]["template"]["metadata"]["labels"]["app"]="search-b"; print(json.dumps(d))' "$MLA_TMP/dep.json" >"$MLA_TMP/b.json"
render "$MLA_TMP/b.json" >"$MLA_TMP/render-b.json"
patch=$($PY -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["patch"]))' "$MLA_TMP/render-b.json")
/usr/bin/kubectl patch --local --type=json -f "$MLA_TMP/b.json" -p "$patch" -o json >"$MLA_TMP/b-stored.json"
kapi POST "/apis/apps/v1/namespaces/$NS/deployments" "$(cat "$MLA_TMP/b-stored.json")" >/dev/null
wait_until 5 sh -c "echo '{\"cmd\":\"leader\"}' >&3; sleep 0.2; tail -1 '$MLA_TMP/drv.out' | grep -q true" || fail "never became leader"
out=$(send '{"cmd":"reconcile"}')
[ "$(echo "$out" | jqr created)" = 1 ] || fail "loop did not find the missing ScaledObject: $out"
send '{"cmd":"wait","timeoutMs":5000}' >/dev/null
kapi GET "$(so_path "$NS" search-b)" >"$MLA_TMP/so-b.json"
$PY -c '
import json,sys
w=json.load(open(sys.argv[1]))["scaledObject"]; h=json.load(open(sys.argv[2]))
assert h["spec"]==w["spec"], (h["spec"], w["spec"])' "$MLA_TMP/render-b.json" "$MLA_TMP/so-b.json" || fail "loop wrote a different ScaledObject"
out=$(send '{"cmd":"reconcile"}')
[ "$(echo "$out" | jqr created)" = 0 ] && [ "$(echo "$out" | jqr updated)" = 0 ] || fail "second pass not clean: $out"
ok "the loop (mla_decide on the stored Deployment) wrote render's ScaledObject; the next pass is clean"
driver_stop
