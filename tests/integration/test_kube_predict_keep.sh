#!/usr/bin/env bash
# Re-applying a ScaledObject keeps the predictive loop's decision: the loop has set
# minReplicaCount 8 (with min-replicas-updated) and its night cap maxReplicaCount 9 (with
# max-replicas-reason); an annotation-only Deployment UPDATE is admitted and the worker applies
# the new ScaledObject (pollingInterval changed) without undoing 8 and 9; a reconcile repair of a
# stale field does not rewrite them either, and the next pass finds nothing stale (no apply
# loop). Once the opt-in no longer asks for the loop (no predictive-config), the policy's
# minReplicaCount and maxReplicaCount are applied again.
. "$(dirname "$0")/lib_kube.sh"
kube_start_api
cfg='{"enabled":false,"query":null,"lookbackHours":168,"stepSeconds":300,"horizonMinutes":30,"scaleAheadMinutes":15,"confidenceThreshold":0.6,"quantile":0.9,"anomalyThreshold":3.5,"capacityPerReplica":null,"businessHours":[],"timezone":"UTC","nightMaxReplicas":9,"replicaHourlyCost":null,"maxHourlyCost":null,"minReplicas":1,"maxReplicas":10,"hysteresisStep":1,"scaleDownHoldMinutes":30}'
# tmpl POLLING [CONFIG] -> the policy's ScaledObject for web (minReplicaCount 1, max 10)
tmpl() {
  /usr/bin/python3 -c '
import json,sys
d=json.load(open(sys.argv[1])); d["metadata"]["name"]="web"; d["spec"]["scaleTargetRef"]["name"]="web"
d["metadata"]["labels"]["ml-autoscaling.io/deployment"]="web"
d["spec"]["minReplicaCount"]=1; d["spec"]["maxReplicaCount"]=10; d["spec"]["pollingInterval"]=int(sys.argv[2])
if len(sys.argv) > 3: d["metadata"]["annotations"]["ml-autoscaling.io/predictive-config"]=sys.argv[3]
print(json.dumps(d))' "$FIX/so-template.json" "$@"
}
DRV_TEMPLATE="$MLA_TMP/so-template.json"
tmpl 30 "$cfg" >"$DRV_TEMPLATE"
PK=$(ns pk)
ensure_ns "$PK"; ensure_ns "$LEASE_NS"
driver_start drv --loop-interval 3600 --lease-namespace "$LEASE_NS" --lease-name pk \
  --lease-duration 3 --renew-deadline 2 --retry-period 0.5
wait_until 5 sh -c "echo '{\"cmd\":\"leader\"}' >&3; sleep 0.2; tail -1 '$MLA_TMP/drv.out' | grep -q true" || fail "never became leader"
sleep 0.5 # the pass a new leader runs at once is over

out=$(send "{\"namespace\":\"$PK\",\"name\":\"web\",\"op\":\"CREATE\",\"action\":\"apply\",\"scaledObject\":$(tmpl 30 "$cfg")}")
[ "$(echo "$out" | jqr allowed)" = true ] || fail "CREATE not allowed: $out"
store_deployment "$PK" web
wait_until 5 exists "$(so_path "$PK" web)" || fail "ScaledObject not applied"
send '{"cmd":"wait","timeoutMs":5000}' >/dev/null
[ "$(kapi GET "$(so_path "$PK" web)" | jqr spec.minReplicaCount)" = 1 ] || fail "policy min not applied at CREATE"
ok "CREATE applied the policy's ScaledObject (minReplicaCount 1, maxReplicaCount 10)"

# the predictive loop's merge patch (what mla_predict_step sends at night before a peak)
kapi PATCH "$(so_path "$PK" web)" '{"metadata":{"annotations":{"ml-autoscaling.io/min-replicas-updated":"2026-11-25T02:00:00Z","ml-autoscaling.io/min-replicas-reason":"forecast: peak 400 / 50 per replica = 8","ml-autoscaling.io/forecast-peak":"400.00","ml-autoscaling.io/max-replicas-reason":"capped at 9 outside business hours (nightMaxReplicas 9, maxReplicas 10)"}},"spec":{"minReplicaCount":8,"maxReplicaCount":9}}' \
  application/merge-patch+json >/dev/null
[ "$(code)" = 200 ] || fail "loop patch: $(code) $(cat "$MLA_TMP/last.body")"

check_loop() { # WHAT: min 8, max 9 and the explanation still there
  local so; so=$(kapi GET "$(so_path "$PK" web)")
  [ "$(echo "$so" | jqr spec.minReplicaCount)" = 8 ] || fail "$1 undid the loop's minReplicaCount 8: $so"
  [ "$(echo "$so" | jqr spec.maxReplicaCount)" = 9 ] || fail "$1 undid the loop's maxReplicaCount 9: $so"
  echo "$so" | grep -q '"ml-autoscaling.io/min-replicas-updated":"2026-11-25T02:00:00Z"' || fail "$1 lost min-replicas-updated: $so"
  echo "$so" | grep -q '"ml-autoscaling.io/min-replicas-reason":"forecast: peak 400' || fail "$1 lost the reason: $so"
  echo "$so" | grep -q '"ml-autoscaling.io/max-replicas-reason":"capped at 9' || fail "$1 lost max-replicas-reason: $so"
}

# annotation-only Deployment UPDATE; the new ScaledObject polls every 15 s
rv=$(kapi GET "$(dep_path "$PK" web)" | jqr metadata.resourceVersion)
out=$(send "{\"namespace\":\"$PK\",\"name\":\"web\",\"op\":\"UPDATE\",\"action\":\"apply\",\"oldResourceVersion\":\"$rv\",\"scaledObject\":$(tmpl 15 "$cfg")}")
[ "$(echo "$out" | jqr allowed)" = true ] || fail "UPDATE not allowed: $out"
kapi PATCH "$(dep_path "$PK" web)" '{"metadata":{"annotations":{"team":"payments"}}}' application/merge-patch+json >/dev/null
polling() { [ "$(kapi GET "$(so_path "$PK" web)" | jqr spec.pollingInterval)" = "$1" ]; }
wait_until 5 polling 15 || fail "the UPDATE was not applied: $(kapi GET "$(so_path "$PK" web)")"
send '{"cmd":"wait","timeoutMs":5000}' >/dev/null
check_loop "the worker's apply after an UPDATE"
ok "annotation-only UPDATE applied (pollingInterval 15), loop's minReplicaCount 8 / maxReplicaCount 9 and explanation kept"
grep -q "keeping the predictive loop's replica counts (min 8, max 9)" "$MLA_TMP/drv.err" || fail "no log line saying why"

# reconcile: the loop's template polls every 30 s, so the object is stale and repaired
out=$(send '{"cmd":"reconcile"}')
[ "$(echo "$out" | jqr updated)" = 1 ] || fail "the stale pollingInterval was not repaired: $out"
wait_until 5 polling 30 || fail "repair not applied: $(kapi GET "$(so_path "$PK" web)")"
send '{"cmd":"wait","timeoutMs":5000}' >/dev/null
check_loop "the reconcile repair"
ok "reconcile repaired pollingInterval (30) and kept the loop's replica counts"
out=$(send '{"cmd":"reconcile"}')
[ "$(echo "$out" | jqr updated)" = 0 ] || fail "the next pass sees the loop's counts as stale (apply loop): $out"
ok "the next pass finds nothing stale"

# the loop's minReplicaCount outside new, narrower bounds is clamped (maxReplicas 6)
narrow=${cfg/\"maxReplicas\":10/\"maxReplicas\":6}
rv=$(kapi GET "$(dep_path "$PK" web)" | jqr metadata.resourceVersion)
so6=$(tmpl 30 "$narrow" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); d["spec"]["maxReplicaCount"]=6; print(json.dumps(d))')
send "{\"namespace\":\"$PK\",\"name\":\"web\",\"op\":\"UPDATE\",\"action\":\"apply\",\"oldResourceVersion\":\"$rv\",\"scaledObject\":$so6}" >/dev/null
kapi PATCH "$(dep_path "$PK" web)" '{"metadata":{"annotations":{"team":"checkout"}}}' application/merge-patch+json >/dev/null
minr() { [ "$(kapi GET "$(so_path "$PK" web)" | jqr spec.minReplicaCount)" = "$1" ]; }
wait_until 5 minr 6 || fail "loop's 8 not clamped to the new maxReplicas 6: $(kapi GET "$(so_path "$PK" web)")"
[ "$(kapi GET "$(so_path "$PK" web)" | jqr spec.maxReplicaCount)" = 6 ] || fail "max not clamped to 6"
ok "a narrower policy clamps the kept counts (min 6, max 6)"

# opt-in without predictive/hours/cost: the policy's counts are applied as before
rv=$(kapi GET "$(dep_path "$PK" web)" | jqr metadata.resourceVersion)
send "{\"namespace\":\"$PK\",\"name\":\"web\",\"op\":\"UPDATE\",\"action\":\"apply\",\"oldResourceVersion\":\"$rv\",\"scaledObject\":$(tmpl 30)}" >/dev/null
kapi PATCH "$(dep_path "$PK" web)" '{"metadata":{"annotations":{"team":"search"}}}' application/merge-patch+json >/dev/null
wait_until 5 minr 1 || fail "policy minReplicaCount not applied without predictive-config: $(kapi GET "$(so_path "$PK" web)")"
[ "$(kapi GET "$(so_path "$PK" web)" | jqr spec.maxReplicaCount)" = 10 ] || fail "policy maxReplicaCount not applied"
ok "without predictive-config the policy's minReplicaCount 1 / maxReplicaCount 10 are applied"
driver_stop
