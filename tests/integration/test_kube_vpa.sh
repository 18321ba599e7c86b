#!/usr/bin/env bash
# VerticalPodAutoscaler conflicts at admission, through `ml-autoscaling serve` against the test
# API server: a VPA that updates pods (Auto, the default; Recreate) and controls cpu of a
# Deployment whose ScaledObject has a cpu trigger is named in a warning; Off, Initial and a VPA
# limited to memory say nothing; once the Deployment is stored the worker records a Warning Event
# VPAConflict naming it; policy `vpa: deny` denies (403, naming it); `vpa: ignore` makes no VPA
# read at all.
. "$(dirname "$0")/lib_kube.sh"
. "$MLA_ROOT/scripts/review-lib.sh"
BIN="$MLA_BUILD/ml-autoscaling"
PY=/usr/bin/python3
testapi_only "the request log" || exit 0
kube_start_api
bash "$MLA_ROOT/certs/gen-dev-certs.sh" "$MLA_TMP/certs" >/dev/null || fail "certs"
for m in warn deny ignore; do
  cp -r "$MLA_ROOT/policies" "$MLA_TMP/pol-$m"
  [ "$m" = warn ] && continue   # the default
  sed -i "s/^      hpaMode: delete$/      hpaMode: delete\n      vpa: $m/" "$MLA_TMP/pol-$m/api.yaml"
  grep -q "vpa: $m" "$MLA_TMP/pol-$m/api.yaml" || fail "policy $m"
done

SERVE_PID=""; PORT=""
serve_up() { # POLICY_DIR LOGNAME
  # shellcheck disable=SC2046
  POD_NAMESPACE=kube-system $(vg "$2" "$BIN") serve --listen 127.0.0.1:0 --no-loop \
    --tls-cert "$MLA_TMP/certs/tls.crt" --tls-key "$MLA_TMP/certs/tls.key" \
    --policies "$1" --kube-url "$API" --kube-token-file "$TOKEN_FILE" 2>"$MLA_TMP/$2.err" &
  SERVE_PID=$!; PIDS+=("$SERVE_PID"); PORT=""
  for _ in $(seq 1 $((100 * SLOW))); do
    PORT=$(grep -o 'listening on https://127.0.0.1:[0-9]*' "$MLA_TMP/$2.err" 2>/dev/null | head -1 | sed 's/.*://')
    [ -n "$PORT" ] && break; sleep 0.1
  done
  [ -n "$PORT" ] || fail "serve did not start: $(tail -5 "$MLA_TMP/$2.err")"
}
serve_down() { kill -TERM "$SERVE_PID"; wait "$SERVE_PID" || fail "serve exited $?"; }
review() { # -> the response object, one JSON line (a dry run: the reads, no writes)
  mla_review CREATE "$MLA_TMP/dep.json" "" true >"$MLA_TMP/review.json"
  curl -sS --cacert "$MLA_TMP/certs/ca.crt" -H 'Content-Type: application/json' \
    --data-binary "@$MLA_TMP/review.json" "https://127.0.0.1:$PORT/mutate" \
    | $PY -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["response"]))'
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
                  "metadata": {"name": name, "namespace": "web"}, "spec": spec}))
PY
}
VP=/apis/autoscaling.k8s.io/v1/namespaces/web/verticalpodautoscalers
put_vpa() { kapi POST "$VP" "$(vpa "$@")" >/dev/null; [ "$(code)" = 201 ] || fail "create VPA $1: $(cat "$MLA_TMP/last.body")"; }
del_vpa() { kapi DELETE "$VP/$1" >/dev/null; }
vpa_warnings() { echo "$1" | $PY -c 'import json,sys; print("\n".join(w for w in json.load(sys.stdin).get("warnings") or [] if "VerticalPodAutoscaler" in w))'; }

$PY -c 'import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))' \
  "$MLA_ROOT/tests/fixtures/render/api-cpu-only/deployment.yaml" >"$MLA_TMP/dep.json"
ensure_ns web
N=search-frontend

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
curl -sS --cacert "$MLA_TMP/certs/ca.crt" -H 'Content-Type: application/json' \
  --data-binary "@$MLA_TMP/review.json" "https://127.0.0.1:$PORT/mutate" >"$MLA_TMP/resp.json"
patch=$($PY -c 'import json,sys,base64; print(base64.b64decode(json.load(open(sys.argv[1]))["response"]["patch"]).decode())' "$MLA_TMP/resp.json")
/usr/bin/kubectl patch --local --type=json -f "$MLA_TMP/dep.json" -p "$patch" -o json >"$MLA_TMP/stored.json" || fail "patch"
kapi POST /apis/apps/v1/namespaces/web/deployments "$(cat "$MLA_TMP/stored.json")" >/dev/null
[ "$(code)" = 201 ] || fail "store: $(cat "$MLA_TMP/last.body")"
wait_until 5 exists "$(so_path web "$N")" || fail "ScaledObject not applied (vpa: warn does not stop it)"
ev() { kapi GET /api/v1/namespaces/web/events | grep -q '"reason":"VPAConflict"'; }
wait_until 5 ev || fail "no VPAConflict Event: $(kapi GET /api/v1/namespaces/web/events)"
kapi GET /api/v1/namespaces/web/events | $PY -c '
import json, sys
e = [i for i in json.load(sys.stdin)["items"] if i["reason"] == "VPAConflict"][0]
assert e["type"] == "Warning" and e["involvedObject"]["name"] == "search-frontend", e
assert "VerticalPodAutoscaler recreate (updateMode Recreate controls cpu)" in e["message"], e
print("ok - worker: Warning Event VPAConflict on the Deployment: " + e["message"][:120])' || fail "VPAConflict Event"
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
clearlog
resp=$(review)
[ "$(echo "$resp" | jqr allowed)" = true ] && [ -z "$(vpa_warnings "$resp")" ] || fail "vpa: ignore: $resp"
apilog | grep -q verticalpodautoscalers && fail "vpa: ignore still read VPAs: $(apilog)"
ok "vpa: ignore: allowed, no warning, no VPA read"
serve_down
