#!/usr/bin/env bash
# VerticalPodAutoscaler conflicts at admission, through `ml-autoscaling serve` against the test
# API server: a VPA that updates pods (Auto, the default; Recreate) and controls cpu of a
# Deployment whose ScaledObject has a cpu trigger is named in a warning; Off, Initial and a VPA
# limited to memory say nothing; once the Deployment is stored the worker records a Warning Event
# VPAConflict naming it; policy `vpa: deny` denies (403, naming it); `vpa: ignore` makes no VPA
# read at all. On a real cluster the VPA CRD (tests/vpa) is installed when missing, and the
# read counts are serve's own (its /metrics).
. "$(dirname "$0")/lib_kube.sh"
. "$MLA_ROOT/scripts/review-lib.sh"
BIN="$MLA_BUILD/ml-autoscaling"
PY=/usr/bin/python3
kube_start_api
if kube_is_real; then   # the real API server stores and validates VPAs once their CRD is there
  kapi GET /apis/autoscaling.k8s.io/v1 >/dev/null
  if [ "$(code)" != 200 ]; then
    kubectl --server "$API" --token "$(cat "$ADMIN_TOKEN_FILE")" ${MLA_KUBE_CA:+--certificate-authority "$MLA_KUBE_CA"} \
      apply --server-side -f "$MLA_ROOT/tests/vpa/vpa-v1-crd-gen.yaml" >/dev/null || fail "install the VPA CRD"
    kubectl --server "$API" --token "$(cat "$ADMIN_TOKEN_FILE")" ${MLA_KUBE_CA:+--certificate-authority "$MLA_KUBE_CA"} \
      wait --for condition=established --timeout 30s crd/verticalpodautoscalers.autoscaling.k8s.io >/dev/null \
      || fail "the VPA CRD is not established"
    echo "note: installed the VPA CRD (tests/vpa/vpa-v1-crd-gen.yaml); it stays, as KEDA's does"
  fi
fi
for m in warn deny ignore; do
  cp -r "$MLA_ROOT/policies" "$MLA_TMP/pol-$m"
  [ "$m" = warn ] && continue   # the default
  sed -i "s/^      hpaMode: delete$/      hpaMode: delete\n      vpa: $m/" "$MLA_TMP/pol-$m/api.yaml"
  grep -q "vpa: $m" "$MLA_TMP/pol-$m/api.yaml" || fail "policy $m"
done

serve_up() { POD_NAMESPACE=kube-system serve_start "$2" --no-loop --policies "$1"; } # POLICY_DIR LOGNAME
serve_down() { serve_stop; }
review() { # -> the response object, one JSON line (a dry run: the reads, no writes)
  mla_review CREATE "$MLA_TMP/dep.json" "" true >"$MLA_TMP/review.json"
  whs /mutate -H 'Content-Type: application/json' --data-binary "@$MLA_TMP/review.json" | jq -c .response
}
vpa() { # NAME TARGET UPDATE_MODE|- [CONTROLLED_RESOURCES_JSON]
  $PY - "$@" <<'PY'
import json, sys
name, target, mode = sys.argv[1:4]
spec = {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target}}
if mode != "-":
    spec["updatePolicy"] = {"updateMode": mode}
if len(sys.argv) > 4:
    spec["resourcePolicy"] = {"containerPolicies": [{"containerName": "*", "controlledResources": json.loads(sys.argv[4])}]}
print(json.dumps({"apiVersion": "autoscaling.k8s.io/v1", "kind": "VerticalPodAutoscaler",
                  "metadata": {"name": name}, "spec": spec}))
PY
}
NS=$(ns web); N=search-frontend
VP=/apis/autoscaling.k8s.io/v1/namespaces/$NS/verticalpodautoscalers
put_vpa() { kapi POST "$VP" "$(vpa "$@")" >/dev/null; [ "$(code)" = 201 ] || fail "create VPA $1: $(cat "$MLA_TMP/last.body")"; }
del_vpa() { kapi DELETE "$VP/$1" >/dev/null; }
vpa_warnings() { echo "$1" | jq -r '(.warnings // [])[] | select(contains("VerticalPodAutoscaler"))'; }
# review_reads -> how many reads (GET, LIST) one dry-run review costs, from serve's /metrics
review_reads() {
  local r0; r0=$(kube_requests | awk '$1 == "GET" || $1 == "LIST" { n += $2 } END { print n + 0 }')
  review >/dev/null
  kube_requests | awk -v r0="$r0" '$1 == "GET" || $1 == "LIST" { n += $2 } END { print n - r0 }'
}

yaml_in_ns "$MLA_ROOT/tests/fixtures/render/api-cpu-only/deployment.yaml" "$NS" >"$MLA_TMP/dep.json"
ensure_ns "$NS"

serve_up "$MLA_TMP/pol-warn" serve-warn
put_vpa web-vpa "$N" -
resp=$(review)
[ "$(echo "$resp" | jqr allowed)" = true ] || fail "not allowed: $resp"
w=$(vpa_warnings "$resp")
echo "$w" | grep -q 'VerticalPodAutoscaler web-vpa (updateMode Auto controls cpu) fights the ScaledObject' \
  || fail "no warning for a VPA in the default mode: $resp"
ok "warn (default): $(echo "$w" | cut -c1-150)"
del_vpa web-vpa
for mode in Off Initial; do
  put_vpa quiet "$N" "$mode"
  resp=$(review)
  [ -z "$(vpa_warnings "$resp")" ] || fail "updateMode $mode warned: $resp"
  del_vpa quiet
done
put_vpa mem-only "$N" Auto '["memory"]'
put_vpa other-deploy someone-else Auto
resp=$(review)
[ -z "$(vpa_warnings "$resp")" ] || fail "a memory-only VPA or another Deployment's warned: $resp"
ok "updateMode Off and Initial, a VPA controlling only memory, another Deployment's VPA: no warning"
del_vpa mem-only
put_vpa recreate "$N" Recreate '["cpu","memory"]'
resp=$(review)
vpa_warnings "$resp" | grep -q 'VerticalPodAutoscaler recreate (updateMode Recreate controls cpu)' \
  || fail "Recreate not warned: $resp"
ok "updateMode Recreate warned"
# the real CREATE: once stored, the worker applies and records a Warning Event naming the VPA
mla_review CREATE "$MLA_TMP/dep.json" >"$MLA_TMP/review.json"
whs /mutate -H 'Content-Type: application/json' --data-binary "@$MLA_TMP/review.json" >"$MLA_TMP/resp.json"
patch=$($PY -c 'import json,sys,base64; print(base64.b64decode(json.load(open(sys.argv[1]))["response"]["patch"]).decode())' "$MLA_TMP/resp.json")
/usr/bin/kubectl patch --local --type=json -f "$MLA_TMP/dep.json" -p "$patch" -o json >"$MLA_TMP/stored.json" || fail "patch"
kapi POST "/apis/apps/v1/namespaces/$NS/deployments" "$(cat "$MLA_TMP/stored.json")" >/dev/null
[ "$(code)" = 201 ] || fail "store: $(cat "$MLA_TMP/last.body")"
wait_until 5 exists "$(so_path "$NS" "$N")" || fail "ScaledObject not applied (vpa: warn does not stop it)"
wait_until 5 has_event "$NS" VPAConflict || fail "no VPAConflict Event: $(events "$NS")"
events "$NS" | $PY -c '
import json, sys
e = [i for i in json.load(sys.stdin)["items"] if i["reason"] == "VPAConflict"][0]
assert e["type"] == "Warning" and e["involvedObject"]["name"] == "search-frontend", e
assert "VerticalPodAutoscaler recreate (updateMode Recreate controls cpu)" in e["message"], e
print("ok - worker: Warning Event VPAConflict on the Deployment: " + e["message"][:120])' || fail "VPAConflict Event"
warn_reads=$(review_reads)   # the HPA, ScaledObject and VPA reads, now that the Deployment is stored
serve_down

serve_up "$MLA_TMP/pol-deny" serve-deny
resp=$(review)
[ "$(echo "$resp" | jqr allowed)" = false ] && [ "$(echo "$resp" | jqr status.code)" = 403 ] \
  || fail "vpa: deny allowed it: $resp"
echo "$resp" | grep -q 'VerticalPodAutoscaler \\"recreate\\" (updateMode Recreate controls cpu) fights the ScaledObject.*the policy.s VPA mode is deny' \
  || fail "denial does not name the VPA: $resp"
ok "vpa: deny: $(echo "$resp" | jqr status.message | cut -c1-140)"
serve_down

serve_up "$MLA_TMP/pol-ignore" serve-ignore
kube_is_real || clearlog
resp=$(review)
[ "$(echo "$resp" | jqr allowed)" = true ] && [ -z "$(vpa_warnings "$resp")" ] || fail "vpa: ignore: $resp"
kube_is_real || ! apilog | grep -q verticalpodautoscalers || fail "vpa: ignore still read VPAs: $(apilog)"
ignore_reads=$(review_reads)
[ "$ignore_reads" = $((warn_reads - 1)) ] \
  || fail "vpa: ignore should make one read less than warn (the VPA LIST): $ignore_reads vs $warn_reads"
ok "vpa: ignore: allowed, no warning, no VPA read ($ignore_reads reads a review, warn $warn_reads)"
serve_down
