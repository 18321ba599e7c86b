#!/usr/bin/env bash
# Adoption after a webhook bypass (issue 12, PRODUCT.md point 10): with failurePolicy Ignore, a
# Deployment stored while no replica of serve answered arrives without the admission patch (no
# managed label, no policy annotations). With serve down, an opted-in Deployment and a
# conflicting HPA are stored directly; serve starts, and within one loop interval its leader's
# loop finds the Deployment (paginated LIST of unmanaged Deployments, annotation filter), removes
# the HPA (kept for restore), applies the ScaledObject owned by the Deployment, and records an
# AdoptedAfterBypass Event - once, not every pass. A Deployment being deleted and one that is not
# opted in are left alone. Then the controller driver with a page size of 2 adopts 5 bypassed
# Deployments across pages (limit/continue).
. "$(dirname "$0")/lib_kube.sh"
. "$MLA_ROOT/scripts/review-lib.sh"
BIN="$MLA_BUILD/ml-autoscaling"
PY=/usr/bin/python3
kube_start_api
bash "$MLA_ROOT/certs/gen-dev-certs.sh" "$MLA_TMP/certs" >/dev/null || fail "certs"
NS=$(ns web); N=search-frontend; MANY=$(ns many)
ensure_ns "$NS"; ensure_ns "$LEASE_NS"
SRC="$MLA_ROOT/tests/fixtures/render/api-cpu-only/deployment.yaml"
# stored as kube-apiserver stores it when the webhook is bypassed: no patch at all
$PY -c 'import json,sys,yaml; d=yaml.safe_load(open(sys.argv[1])); d["metadata"]["namespace"]=sys.argv[2]; print(json.dumps(d))' "$SRC" "$NS" >"$MLA_TMP/dep.json"
grep -q '"ml-autoscaling.io/enabled": "true"' "$MLA_TMP/dep.json" || fail "fixture is not opted in"
create_hpa "$NS" legacy-hpa "$N"
kapi POST "/apis/apps/v1/namespaces/$NS/deployments" "$(cat "$MLA_TMP/dep.json")" >/dev/null
[ "$(code)" = 201 ] || fail "store: $(cat "$MLA_TMP/last.body")"
# not opted in: never touched
kapi POST "/apis/apps/v1/namespaces/$NS/deployments" "$($PY -c 'import json,sys; d=json.load(open(sys.argv[1])); d["metadata"]["name"]="plain"; d["metadata"]["annotations"]={}; print(json.dumps(d))' "$MLA_TMP/dep.json")" >/dev/null
# being deleted: mla-testapi keeps a deletionTimestamp set on create; a real server sets it on
# DELETE while a finalizer holds the object (released at the end)
kapi POST "/apis/apps/v1/namespaces/$NS/deployments" "$($PY -c 'import json,sys; d=json.load(open(sys.argv[1])); d["metadata"]["name"]="going"; d["metadata"]["deletionTimestamp"]="2026-12-04T10:00:00Z"; d["metadata"]["finalizers"]=["example.com/hold"]; print(json.dumps(d))' "$MLA_TMP/dep.json")" >/dev/null
[ "$(code)" = 201 ] || fail "store going: $(cat "$MLA_TMP/last.body")"
kube_is_real && kapi DELETE "$(dep_path "$NS" going)" >/dev/null
[ "$(kapi GET "$(dep_path "$NS" going)" | jqr metadata.deletionTimestamp)" != null ] || fail "going has no deletionTimestamp"
ok "serve down: opted-in $NS/$N stored without the admission patch, HPA legacy-hpa targets it"

INTERVAL=3
start=$(date +%s.%N)
# shellcheck disable=SC2046
POD_NAMESPACE=$LEASE_NS $(vg serve "$BIN") serve --listen 127.0.0.1:0 \
  --tls-cert "$MLA_TMP/certs/tls.crt" --tls-key "$MLA_TMP/certs/tls.key" \
  --policies "$MLA_ROOT/policies" --kube-url "$API" --kube-token-file "$TOKEN_FILE" \
  ${MLA_KUBE_CA:+--kube-ca "$MLA_KUBE_CA"} --loop-interval "$INTERVAL" 2>"$MLA_TMP/serve.err" &
SERVE_PID=$!; PIDS+=("$SERVE_PID")
wait_until $((INTERVAL + 3)) exists "$(so_path "$NS" "$N")" || fail "not adopted within one loop interval: $(grep -E '"rec"|worker' "$MLA_TMP/serve.err" | tail -5)"
took=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
so=$(kapi GET "$(so_path "$NS" "$N")")
[ "$(echo "$so" | jqr metadata.ownerReferences.0.uid)" = "$(kapi GET "$(dep_path "$NS" "$N")" | jqr metadata.uid)" ] || fail "ownerReference: $so"
echo "$so" | grep -q '"ml-autoscaling.io/managed":"true"' || fail "ScaledObject not marked managed: $so"
wait_until 5 gone "$(hpa_path "$NS" legacy-hpa)" || fail "the conflicting HPA was not removed"
so=$(kapi GET "$(so_path "$NS" "$N")")
echo "$so" | grep -q 'legacy-hpa' || fail "removed HPA not kept for restore: $so"
ok "adopted in ${took}s (loop interval ${INTERVAL}s): ScaledObject applied with its ownerReference, HPA legacy-hpa removed and kept"
events() { kapi GET "/api/v1/namespaces/$NS/events" | $PY -c '
import json,sys
for e in json.load(sys.stdin)["items"]:
    if e.get("reason")==sys.argv[1] and e["involvedObject"]["name"]==sys.argv[2]: print(e["message"])' "$1" "$2"; }
has_event() { [ -n "$(events AdoptedAfterBypass "$N")" ]; }
wait_until 5 has_event || true
adopted=$(events AdoptedAfterBypass "$N")
[ -n "$adopted" ] || fail "no AdoptedAfterBypass Event: $(kapi GET "/api/v1/namespaces/$NS/events")"
echo "$adopted" | grep -q 'failurePolicy Ignore' || fail "Event does not say why: $adopted"
ok "Event AdoptedAfterBypass: $adopted"
gone "$(so_path "$NS" plain)" || fail "a Deployment that is not opted in got a ScaledObject"
gone "$(so_path "$NS" going)" || fail "a Deployment being deleted was adopted"
ok "left alone: the Deployment being deleted, the one not opted in"
sleep $((INTERVAL * 2)) # two more passes
[ "$(events AdoptedAfterBypass "$N" | wc -l)" = 1 ] || fail "AdoptedAfterBypass recorded more than once: $(events AdoptedAfterBypass "$N")"
grep -q 'adopted after a webhook bypass' "$MLA_TMP/serve.err" || fail "no pass log line"
ok "later passes find it current: one AdoptedAfterBypass Event in total"
if testapi_only "the request log"; then
  apilog | grep -q 'labelSelector=!ml-autoscaling.io/managed&limit=500' || fail "the bypass scan is not a paginated LIST of unmanaged Deployments: $(apilog | grep -o '"query":"[^"]*deployments[^"]*"' | head -3)"
  ok "the bypass scan: LIST /apis/apps/v1/deployments?labelSelector=!ml-autoscaling.io/managed&limit=500"
fi
kill -TERM "$SERVE_PID"; wait "$SERVE_PID"; rc=$?
[ "$rc" = 0 ] || fail "serve exited $rc: $(tail -5 "$MLA_TMP/serve.err")"

# pagination: 5 bypassed Deployments, pages of 2
ensure_ns "$MANY"
for i in 1 2 3 4 5; do
  body=$(sed -e "s/\"NAME\"/\"d$i\"/g" -e "s/\"NS\"/\"$MANY\"/g" "$FIX/deployment.json")
  kapi POST /apis/apps/v1/namespaces/$MANY/deployments "$body" >/dev/null
  [ "$(code)" = 201 ] || fail "store d$i: $(cat "$MLA_TMP/last.body")"
done
if testapi_only "the test API server's own pagination"; then
  names=""; cont=""
  for _ in 1 2 3 4; do
    page=$(kapi GET "/apis/apps/v1/namespaces/$MANY/deployments?limit=2${cont:+&continue=$cont}")
    names="$names $(echo "$page" | $PY -c 'import json,sys; print(" ".join(i["metadata"]["name"] for i in json.load(sys.stdin)["items"]))')"
    cont=$(echo "$page" | jqr metadata.continue)
    [ "$cont" = null ] && break
  done
  [ "$(echo $names)" = "d1 d2 d3 d4 d5" ] || fail "test API server pages: $names"
  ok "test API server: limit=2 pages d1 d2 | d3 d4 | d5 with continue tokens"
fi
clearlog
driver_start drv --loop-interval 3600 --lease-namespace "$LEASE_NS" --lease-name adopt \
  --lease-duration 3 --renew-deadline 2 --retry-period 0.5 --list-page-size 2
wait_until 5 sh -c "echo '{\"cmd\":\"leader\"}' >&3; sleep 0.2; tail -1 '$MLA_TMP/drv.out' | grep -q true" || fail "never became leader"
send '{"cmd":"wait","timeoutMs":5000}' >/dev/null
for i in 1 2 3 4 5; do
  wait_until 5 exists "$(so_path "$MANY" "d$i")" || fail "d$i not adopted across pages"
done
out=$(send '{"cmd":"reconcile"}')
[ "$(echo "$out" | jqr adopted)" = 0 ] || fail "adopted again on the next pass: $out"
if testapi_only "the request log"; then
  apilog | grep -q 'continue=' || fail "the loop did not follow continue tokens"
fi
ok "driver with pages of 2: all 5 bypassed Deployments adopted; the next pass adopts nothing"
driver_stop
if kube_is_real; then  # let it go, or the namespace's deletion at exit waits for the finalizer
  kapi PATCH "$(dep_path "$NS" going)" '{"metadata":{"finalizers":null}}' application/merge-patch+json >/dev/null
fi
