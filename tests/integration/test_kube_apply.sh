#!/usr/bin/env bash
# The worker after admission: waits for the stored Deployment (KEDA refuses a cpu trigger until
# then), applies the ScaledObject with its ownerReference and records an Event; dryRun makes no
# API write; an UPDATE changes the ScaledObject and keeps KEDA's paused-replicas annotation that
# someone else set.
. "$(dirname "$0")/lib_kube.sh"
kube_start_api
A=$(ns team-a)
ensure_ns "$A"
driver_start drv --no-loop

# CREATE admitted; the Deployment is stored only 1.5 s later (slow later webhooks, quota...)
out=$(send '{"namespace":"'"$A"'","name":"web","op":"CREATE","action":"apply"}')
[ "$(echo "$out" | jqr allowed)" = true ] || fail "admission not allowed: $out"
ok "admission allowed: $out"
sleep 1.5
gone "$(so_path "$A" web)" || fail "ScaledObject written before the Deployment was stored"
ok "no ScaledObject while the Deployment is not stored"
# what KEDA says meanwhile (its webhook reads the stored Deployment)
if testapi_only "KEDA's admission webhook is not installed"; then
kapi PATCH "$(so_path "$A" web)?fieldManager=probe&force=true" \
  "$(sed 's/"name":"x"/"name":"web"/' "$FIX/so-template.json" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); d["metadata"]["name"]="web"; print(json.dumps(d))')" \
  application/apply-patch+yaml >/dev/null
[ "$(code)" = 403 ] && grep -q 'deployments.apps \\"web\\" not found' "$MLA_TMP/last.body" \
  || fail "test API server should refuse a cpu trigger before the Deployment exists: $(cat "$MLA_TMP/last.body")"
ok "KEDA rule enforced: $(jqr message <"$MLA_TMP/last.body")"
fi
t0=$(date +%s.%N)
store_deployment "$A" web
uid=$(kapi GET "$(dep_path "$A" web)" | jqr metadata.uid)
wait_until 5 exists "$(so_path "$A" web)" || fail "ScaledObject not applied after the Deployment was stored"
t1=$(date +%s.%N)
ok "ScaledObject applied $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.0f", (b-a)*1000}') ms after the Deployment was stored"
so=$(kapi GET "$(so_path "$A" web)")
[ "$(echo "$so" | jqr metadata.ownerReferences.0.uid)" = "$uid" ] || fail "ownerReference uid: $so"
[ "$(echo "$so" | jqr metadata.ownerReferences.0.controller)" = true ] || fail "controller: $so"
[ "$(echo "$so" | jqr metadata.ownerReferences.0.blockOwnerDeletion)" = true ] || fail "blockOwnerDeletion: $so"
[ "$(echo "$so" | jqr metadata.ownerReferences.0.kind)" = Deployment ] || fail "owner kind: $so"
[ "$(echo "$so" | jqr spec.scaleTargetRef.name)" = web ] || fail "target: $so"
ok "ScaledObject owned by the stored Deployment (uid $uid, controller, blockOwnerDeletion)"
if testapi_only "request log"; then
  apilog | grep -q 'fieldManager=ml-autoscaling&force=true' || fail "not a server-side apply with our field manager"
  ok "written by server-side apply, fieldManager=ml-autoscaling, force=true"
fi
wait_until 3 has_event "$A" ScaledObjectApplied || fail "no Event recorded"
ev=$(events "$A")
[ "$(echo "$ev" | jq -r '[.items[] | select(.reason == "ScaledObjectApplied")][0].involvedObject.uid')" = "$uid" ] \
  || fail "Event not on the Deployment: $ev"
ok "Event ScaledObjectApplied recorded on the Deployment"

# dryRun: allowed, reads only (the preview's warnings), no write (test_kube_dryrun.sh: the rest)
send '{"cmd":"wait","timeoutMs":5000}' >/dev/null
if testapi_only "dryRun request count"; then
clearlog
out=$(send '{"namespace":"'"$A"'","name":"dry","op":"CREATE","action":"apply","dryRun":true}')
[ "$(echo "$out" | jqr allowed)" = true ] || fail "dry run not allowed: $out"
sleep 1
n=$(apilog | jqr items | /usr/bin/python3 -c 'import json,sys; print(len([i for i in json.load(sys.stdin) if i["verb"] not in ("GET", "LIST")]))')
[ "$n" = 0 ] || fail "dryRun made $n API writes: $(apilog)"
ok "dryRun made no API write"
fi

# someone else pauses the ScaledObject at 2 replicas (merge patch, another manager)
kapi PATCH "$(so_path "$A" web)" '{"metadata":{"annotations":{"autoscaling.keda.sh/paused-replicas":"2"}}}' \
  application/merge-patch+json >/dev/null
[ "$(code)" = 200 ] || fail "merge patch: $(code)"
rv=$(kapi GET "$(dep_path "$A" web)" | jqr metadata.resourceVersion)
so8=$(/usr/bin/python3 -c '
import json,sys
d=json.load(open(sys.argv[1])); d["metadata"]["name"]="web"; d["spec"]["scaleTargetRef"]["name"]="web"
d["spec"]["maxReplicaCount"]=8; print(json.dumps(d))' "$FIX/so-template.json")
# the UPDATE sets max-replicas 8; the worker acts once the stored Deployment shows it
upd='{"metadata":{"name":"web","annotations":{"ml-autoscaling.io/enabled":"true","ml-autoscaling.io/max-replicas":"8"}}}'
out=$(send "{\"namespace\":\"$A\",\"name\":\"web\",\"op\":\"UPDATE\",\"action\":\"apply\",\"oldResourceVersion\":\"$rv\",\"object\":$upd,\"scaledObject\":$so8}")
[ "$(echo "$out" | jqr allowed)" = true ] || fail "update not allowed: $out"
sleep 0.5
[ "$(kapi GET "$(so_path "$A" web)" | jqr spec.maxReplicaCount)" = 4 ] || fail "ScaledObject changed before the UPDATE was stored"
ok "UPDATE not applied before it is stored (the stored Deployment does not show max-replicas 8)"
kapi PATCH "$(dep_path "$A" web)" '{"metadata":{"annotations":{"ml-autoscaling.io/max-replicas":"8"}},"spec":{"replicas":2}}' application/merge-patch+json >/dev/null
maxr() { [ "$(kapi GET "$(so_path "$A" web)" | jqr spec.maxReplicaCount)" = 8 ]; }
wait_until 5 maxr || fail "UPDATE did not change the ScaledObject: $(kapi GET "$(so_path "$A" web)")"
so=$(kapi GET "$(so_path "$A" web)")
[ "$(echo "$so" | jqr 'metadata.annotations.autoscaling.keda.sh/paused-replicas')" = 2 ] \
  || fail "paused-replicas lost: $so"
ok "UPDATE changed maxReplicaCount to 8 and kept autoscaling.keda.sh/paused-replicas=2"

# deleting the Deployment deletes the ScaledObject (ownerReference)
kapi DELETE "$(dep_path "$A" web)" >/dev/null
wait_until 10 gone "$(so_path "$A" web)" || fail "ScaledObject not garbage-collected with its Deployment"
ok "deleting the Deployment deletes its ScaledObject (ownerReference)"
driver_stop
m="$MLA_TMP/drv.metrics"
[ "$(metric "$m" 'mla_worker_actions_total{action="apply",result="ok"}')" -ge 2 ] || fail "apply metric: $(grep mla_worker "$m")"
grep -q '^mla_worker_stored_to_applied_seconds_count' "$m" || fail "stored_to_applied histogram missing"
ok "metrics: $(grep -c '^mla_' "$m") series, applies counted"
