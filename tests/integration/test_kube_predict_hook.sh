#!/usr/bin/env bash
# The loop's MLA HOOK runs the predictive step (mla_predict_step) for managed ScaledObjects with
# ml-autoscaling.io/predictive-config and sends its merge patch: minReplicaCount and the
# explanation annotations change, KEDA's paused-replicas set by someone else stays, and a
# paused ScaledObject is skipped. (Forecasting disabled here: business hours decide, so no
# Prometheus answer is needed.)
. "$(dirname "$0")/lib_kube.sh"
kube_start_api
PR=$(ns pr)
ensure_ns "$PR"; ensure_ns "$LEASE_NS"
cfg='{"enabled":false,"query":null,"lookbackHours":168,"stepSeconds":300,"horizonMinutes":30,"scaleAheadMinutes":15,"confidenceThreshold":0.6,"quantile":0.9,"anomalyThreshold":3.5,"capacityPerReplica":50.0,"businessHours":[{"days":"Mon-Sun","start":"00:00","end":"24:00","minReplicas":3}],"timezone":"UTC","nightMaxReplicas":null,"replicaHourlyCost":null,"maxHourlyCost":null,"minReplicas":1,"maxReplicas":4,"hysteresisStep":1,"scaleDownHoldMinutes":30}'
# the loop's decision carries the config too, as the policy engine's does (without it the
# opt-in no longer asks for the loop and the policy's minReplicaCount is applied again)
DRV_TEMPLATE="$MLA_TMP/so-template.json"
/usr/bin/python3 -c '
import json,sys
d=json.load(open(sys.argv[1])); d["metadata"]["annotations"]["ml-autoscaling.io/predictive-config"]=sys.argv[2]
print(json.dumps(d))' "$FIX/so-template.json" "$cfg" >"$DRV_TEMPLATE"
driver_start drv --loop-interval 3600 --lease-namespace "$LEASE_NS" --lease-name ph \
  --lease-duration 3 --renew-deadline 2 --retry-period 0.5 --prom-url http://127.0.0.1:9
mk() { # NAME EXTRA-ANNOTATIONS-PY
  store_deployment "$PR" "$1"
  uid=$(kapi GET "$(dep_path "$PR" "$1")" | jqr metadata.uid)
  body=$(/usr/bin/python3 -c '
import json,sys
d=json.load(open(sys.argv[1])); n=sys.argv[2]
d["metadata"]["name"]=n; d["spec"]["scaleTargetRef"]["name"]=n; d["metadata"]["labels"]["ml-autoscaling.io/deployment"]=n
d["metadata"]["annotations"]["ml-autoscaling.io/predictive-config"]=sys.argv[3]
d["metadata"]["annotations"].update(json.loads(sys.argv[5]))
d["metadata"]["ownerReferences"]=[{"apiVersion":"apps/v1","kind":"Deployment","name":n,"uid":sys.argv[4],"controller":True,"blockOwnerDeletion":True}]
print(json.dumps(d))' "$FIX/so-template.json" "$1" "$cfg" "$uid" "$2")
  kapi PATCH "$(so_path "$PR" "$1")?fieldManager=ml-autoscaling&force=true" "$body" application/apply-patch+yaml >/dev/null
  [ "$(code)" = 201 ] || fail "setup $1: $(cat "$MLA_TMP/last.body")"
}
wait_until 5 sh -c "echo '{\"cmd\":\"leader\"}' >&3; sleep 0.2; tail -1 '$MLA_TMP/drv.out' | grep -q true" || fail "never became leader"
sleep 0.5 # the pass a new leader runs at once is over
mk web '{}'
mk idle '{"autoscaling.keda.sh/paused":"true"}'
kapi PATCH "$(so_path "$PR" web)" '{"metadata":{"annotations":{"autoscaling.keda.sh/paused-replicas":"5"}}}' application/merge-patch+json >/dev/null
# paused-replicas counts as paused too: take it off web again, keep it for the check below
kapi PATCH "$(so_path "$PR" web)" '{"metadata":{"annotations":{"autoscaling.keda.sh/paused-replicas":null,"team":"kept"}}}' application/merge-patch+json >/dev/null
out=$(send '{"cmd":"reconcile"}')
[ "$(echo "$out" | jqr ok)" = true ] || fail "pass: $out"
so=$(kapi GET "$(so_path "$PR" web)")
[ "$(echo "$so" | jqr spec.minReplicaCount)" = 3 ] || fail "minReplicaCount not set by the predictive step: $so"
echo "$so" | grep -q 'min-replicas-reason":"business_hours' || fail "no explanation annotation: $so"
[ "$(echo "$so" | jqr metadata.annotations.team)" = kept ] || fail "another manager's annotation lost: $so"
ok "predictive step patched web: minReplicaCount 3, reason annotation, other annotations kept"
[ "$(kapi GET "$(so_path "$PR" idle)" | jqr spec.minReplicaCount)" = 1 ] || fail "paused ScaledObject changed"
ok "paused ScaledObject skipped"
# the next pass must not fight the predictive loop over minReplicaCount
out=$(send '{"cmd":"reconcile"}')
[ "$(echo "$out" | jqr updated)" = 0 ] || fail "the loop treats the predictive minReplicaCount as stale: $out"
send '{"cmd":"wait","timeoutMs":5000}' >/dev/null
[ "$(kapi GET "$(so_path "$PR" web)" | jqr spec.minReplicaCount)" = 3 ] || fail "minReplicaCount reset"
ok "the next pass leaves the predictive minReplicaCount alone"
driver_stop
