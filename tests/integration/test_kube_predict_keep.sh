#!/usr/bin/env bash
# The predictive loop is its own field manager (ml-autoscaling-loop) under real server-side apply
# semantics (mla-testapi keeps managedFields per manager): the loop's step applies
# minReplicaCount 8 (business hours) with its explanation; an annotation-only Deployment UPDATE
# is applied by the worker (pollingInterval changed) without undoing 8 and without the worker
# owning the loop's fields; a reconcile repair of a stale field does not rewrite them either, and
# the next pass finds nothing stale. Narrower bounds are the loop's to clamp. Once the opt-in no
# longer asks for the loop (no predictive-config), the worker applies the policy's counts and the
# loop's next apply releases everything it owned: its annotations are gone, and they cannot
# bring the loop's old value back later (issue 16, bug 2).
. "$(dirname "$0")/lib_kube.sh"
kube_start_api
# cfg MIN-IN-WINDOW MAX -> a predictive-config whose business hours (all week) decide
cfg() {
  echo '{"enabled":false,"query":null,"lookbackHours":168,"stepSeconds":300,"horizonMinutes":30,"scaleAheadMinutes":15,"confidenceThreshold":0.6,"quantile":0.9,"anomalyThreshold":3.5,"capacityPerReplica":null,"businessHours":[{"days":"Mon-Sun","start":"00:00","end":"24:00","minReplicas":'"$1"'}],"timezone":"UTC","nightMaxReplicas":null,"replicaHourlyCost":null,"maxHourlyCost":null,"minReplicas":1,"maxReplicas":'"$2"',"hysteresisStep":1,"scaleDownHoldMinutes":0}'
}
# tmpl POLLING MAX [CONFIG] -> the policy's ScaledObject for web (minReplicaCount 1)
tmpl() {
  /usr/bin/python3 -c '
import json,sys
d=json.load(open(sys.argv[1])); d["metadata"]["name"]="web"; d["spec"]["scaleTargetRef"]["name"]="web"
d["metadata"]["labels"]["ml-autoscaling.io/deployment"]="web"
d["spec"]["minReplicaCount"]=1; d["spec"]["maxReplicaCount"]=int(sys.argv[3]); d["spec"]["pollingInterval"]=int(sys.argv[2])
if len(sys.argv) > 4: d["metadata"]["annotations"]["ml-autoscaling.io/predictive-config"]=sys.argv[4]
print(json.dumps(d))' "$FIX/so-template.json" "$@"
}
DRV_TEMPLATE="$MLA_TMP/so-template.json"
tmpl 30 10 "$(cfg 8 10)" >"$DRV_TEMPLATE"
# --prom-url: the real predictive step at the loop's hook (business hours need no Prometheus)
PK=$(ns pk)
ensure_ns "$PK"; ensure_ns "$LEASE_NS"
driver_start drv --loop-interval 3600 --lease-namespace "$LEASE_NS" --lease-name pk \
  --lease-duration 3 --renew-deadline 2 --retry-period 0.5 --prom-url http://127.0.0.1:9
wait_until 5 sh -c "echo '{\"cmd\":\"leader\"}' >&3; sleep 0.2; tail -1 '$MLA_TMP/drv.out' | grep -q true" || fail "never became leader"
sleep 0.5 # the pass a new leader runs at once is over

so() { kapi GET "$(so_path "$PK" web)"; }
# owns MANAGER FIELD -> true when managedFields say MANAGER owns FIELD (a.b.c)
owns() {
  so | /usr/bin/python3 -c '
import json,sys
o=json.load(sys.stdin)
for e in o["metadata"].get("managedFields") or []:
    if e["manager"]!=sys.argv[1]: continue
    n=e.get("fieldsV1",{})
    for k in sys.argv[2].split("|"):
        n=n.get("f:"+k) if isinstance(n,dict) else None
    sys.exit(0 if n is not None else 1)
sys.exit(1)' "$1" "$2"
}
field() { so | jqr "$1"; }
update() { # TEMPLATE-JSON TEAM: an admitted annotation-only UPDATE, then stored; the stored
  # Deployment carries what "the policy" decides for it now (the driver's loop decides from it)
  local rv; rv=$(kapi GET "$(dep_path "$PK" web)" | jqr metadata.resourceVersion)
  out=$(send "{\"namespace\":\"$PK\",\"name\":\"web\",\"op\":\"UPDATE\",\"action\":\"apply\",\"oldResourceVersion\":\"$rv\",\"scaledObject\":$1}")
  [ "$(echo "$out" | jqr allowed)" = true ] || fail "UPDATE not allowed: $out"
  local body; body=$(/usr/bin/python3 -c 'import json,sys; print(json.dumps({"metadata":{"annotations":{"team":sys.argv[2],"mla-test/scaled-object":sys.argv[1]}}}))' "$1" "$2")
  kapi PATCH "$(dep_path "$PK" web)" "$body" application/merge-patch+json >/dev/null
}
idle() { send '{"cmd":"wait","timeoutMs":5000}' >/dev/null; }
pass() { out=$(send '{"cmd":"reconcile"}'); [ "$(echo "$out" | jqr ok)" = true ] || fail "pass: $out"; idle; }

out=$(send "{\"namespace\":\"$PK\",\"name\":\"web\",\"op\":\"CREATE\",\"action\":\"apply\",\"scaledObject\":$(tmpl 30 10 "$(cfg 8 10)")}")
[ "$(echo "$out" | jqr allowed)" = true ] || fail "CREATE not allowed: $out"
store_deployment "$PK" web
wait_until 5 exists "$(so_path "$PK" web)" || fail "ScaledObject not applied"
idle
[ "$(field spec.minReplicaCount)" = 1 ] || fail "policy min not applied at CREATE"
ok "CREATE applied the policy's ScaledObject (minReplicaCount 1, maxReplicaCount 10)"

pass
[ "$(field spec.minReplicaCount)" = 8 ] || fail "the loop did not set minReplicaCount 8: $(so)"
owns ml-autoscaling-loop 'spec|minReplicaCount' || fail "the loop does not own minReplicaCount: $(so)"
owns ml-autoscaling-loop 'metadata|annotations|ml-autoscaling.io/min-replicas-reason' || fail "the loop does not own its reason"
owns ml-autoscaling 'spec|minReplicaCount' && fail "the worker still owns minReplicaCount after the loop's forced apply"
ok "the loop's step applied minReplicaCount 8 as field manager ml-autoscaling-loop"

check_loop() { # WHAT: min 8 and the explanation still there, none of it owned by the worker
  [ "$(field spec.minReplicaCount)" = 8 ] || fail "$1 undid the loop's minReplicaCount 8: $(so)"
  so | grep -q '"ml-autoscaling.io/min-replicas-reason":"business_hours' || fail "$1 lost the reason: $(so)"
  so | grep -q '"ml-autoscaling.io/min-replicas-updated"' || fail "$1 lost min-replicas-updated: $(so)"
  for f in 'spec|minReplicaCount' 'spec|maxReplicaCount' 'metadata|annotations|ml-autoscaling.io/min-replicas-reason' \
           'metadata|annotations|ml-autoscaling.io/min-replicas-updated'; do
    owns ml-autoscaling "$f" && fail "$1: the worker's apply took over the loop's $f: $(so)"
  done
  return 0
}

update "$(tmpl 15 10 "$(cfg 8 10)")" payments
polling() { [ "$(field spec.pollingInterval)" = "$1" ]; }
wait_until 5 polling 15 || fail "the UPDATE was not applied: $(so)"
idle
check_loop "the worker's apply after an UPDATE"
grep -q "leaving the replica counts to the predictive loop" "$MLA_TMP/drv.err" || fail "no log line saying why"
ok "annotation-only UPDATE applied (pollingInterval 15); the loop's minReplicaCount 8 and explanation kept, not owned by the worker"

# reconcile: the policy now polls every 30 s (changed without a Deployment UPDATE through the
# webhook), so the object is stale and repaired
body=$(/usr/bin/python3 -c 'import json,sys; print(json.dumps({"metadata":{"annotations":{"mla-test/scaled-object":sys.argv[1]}}}))' "$(tmpl 30 10 "$(cfg 8 10)")")
kapi PATCH "$(dep_path "$PK" web)" "$body" application/merge-patch+json >/dev/null
pass
[ "$(echo "$out" | jqr updated)" = 1 ] || fail "the stale pollingInterval was not repaired: $out"
wait_until 5 polling 30 || fail "repair not applied: $(so)"
check_loop "the reconcile repair"
ok "reconcile repaired pollingInterval (30) and kept the loop's replica counts"
pass
[ "$(echo "$out" | jqr updated)" = 0 ] || fail "the next pass sees the loop's counts as stale (apply loop): $out"
ok "the next pass finds nothing stale"

# narrower bounds (maxReplicas 6): the worker leaves the counts to the loop, which clamps them
update "$(tmpl 30 6 "$(cfg 8 6)")" checkout
idle
[ "$(field spec.minReplicaCount)" = 8 ] || fail "the worker changed the loop's minReplicaCount: $(so)"
pass
[ "$(field spec.minReplicaCount)" = 6 ] || fail "the loop did not clamp to the new maxReplicas 6: $(so)"
[ "$(field spec.maxReplicaCount)" = 6 ] || fail "the loop did not apply maxReplicaCount 6: $(so)"
ok "narrower bounds: the worker left 8 to the loop; the loop's next pass clamped to min 6, max 6"

# opt-in without predictive/hours/cost: the policy's counts, then the loop lets go
update "$(tmpl 30 10)" search
minr() { [ "$(field spec.minReplicaCount)" = "$1" ]; }
wait_until 5 minr 1 || fail "policy minReplicaCount not applied without predictive-config: $(so)"
idle
[ "$(field spec.maxReplicaCount)" = 10 ] || fail "policy maxReplicaCount not applied"
owns ml-autoscaling 'spec|minReplicaCount' || fail "the worker does not own the policy's minReplicaCount: $(so)"
pass
so | grep -q 'ml-autoscaling.io/min-replicas-' && fail "the loop's annotations outlived predictive-config: $(so)"
so | grep -q '"manager":"ml-autoscaling-loop"' && fail "the loop still owns fields: $(so)"
[ "$(field spec.minReplicaCount)" = 1 ] || fail "the loop's release removed the policy's minReplicaCount: $(so)"
[ "$(field spec.maxReplicaCount)" = 10 ] || fail "the loop's release removed maxReplicaCount: $(so)"
ok "without predictive-config: the policy's counts (1, 10) owned by the worker; the loop's next apply removed its annotations"

# back in: nothing stale brings the old 8 back; the worker applies 1, the loop decides again
update "$(tmpl 30 10 "$(cfg 5 10)")" again
idle
[ "$(field spec.minReplicaCount)" = 1 ] || fail "an old loop value came back before the loop decided: $(so)"
pass
[ "$(field spec.minReplicaCount)" = 5 ] || fail "the loop did not decide again: $(so)"
ok "predictive-config back: the worker applied 1 (nothing stale kept), the loop then set 5"
driver_stop
