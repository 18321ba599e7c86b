#!/usr/bin/env bash
# A request refused after admission (a later webhook, a quota, AlreadyExists) never shows as
# stored: the worker gives up after its bound, writes nothing and counts it.
. "$(dirname "$0")/lib_kube.sh"
kube_start_api
RF=$(ns rf)
store_deployment "$RF" old        # exists from before: a CREATE of the same name is refused
sleep 2.5
driver_start drv --no-loop --stored-give-up 1
send '{"namespace":"'"$RF"'","name":"never","op":"CREATE","action":"apply"}' >/dev/null
send '{"namespace":"'"$RF"'","name":"old","op":"CREATE","action":"apply"}' >/dev/null
rv=$(kapi GET "$(dep_path "$RF" old)" | jqr metadata.resourceVersion)
# an UPDATE setting min-replicas, admitted but never stored: the stored object never shows it
send "{\"namespace\":\"$RF\",\"name\":\"old\",\"op\":\"UPDATE\",\"oldResourceVersion\":\"$rv\",\"action\":\"apply\",\"object\":{\"metadata\":{\"name\":\"old\",\"annotations\":{\"ml-autoscaling.io/enabled\":\"true\",\"ml-autoscaling.io/min-replicas\":\"3\"}}},\"scaledObject\":{\"metadata\":{\"name\":\"old-upd\",\"labels\":{\"ml-autoscaling.io/managed\":\"true\"}},\"spec\":{\"scaleTargetRef\":{\"name\":\"old\"},\"minReplicaCount\":1,\"triggers\":[{\"type\":\"cpu\",\"metadata\":{\"value\":\"50\"}}]}}}" >/dev/null
out=$(send '{"cmd":"wait","timeoutMs":8000}')
[ "$(echo "$out" | jqr idle)" = true ] || fail "the worker did not give up: $out"
gone "$(so_path "$RF" never)" || fail "ScaledObject for a Deployment that was never stored"
gone "$(so_path "$RF" old)" || fail "ScaledObject from a refused CREATE (older namesake)"
gone "$(so_path "$RF" old-upd)" || fail "ScaledObject from an UPDATE that was never stored"
grep -q "$RF/never: giving up" "$MLA_TMP/drv.err" || fail "no log line: $(tail -3 "$MLA_TMP/drv.err")"
ok "never stored / older namesake / UPDATE not stored: nothing written, gave up after the bound"
# the API refuses the ScaledObject itself (422 Invalid: KEDA's CRD requires spec.triggers, a
# real API server and mla-testapi alike): reported once, not retried
store_deployment "$RF" bad
kube_is_real || clearlog
send '{"namespace":"'"$RF"'","name":"bad","op":"UPDATE","oldResourceVersion":"0","action":"apply","scaledObject":{"metadata":{"name":"bad","labels":{"ml-autoscaling.io/managed":"true"}},"spec":{"scaleTargetRef":{"name":"bad"},"minReplicaCount":1}}}' >/dev/null
send '{"cmd":"wait","timeoutMs":5000}' | grep -q true || fail "422 retried"
if ! kube_is_real; then
  n=$(apilog | grep -o "\"path\":\"/apis/keda.sh/v1alpha1/namespaces/$RF/scaledobjects/bad\",\"query\":\"fieldManager=ml-autoscaling&force=true\",\"status\":422" | wc -l)
  [ "$n" = 1 ] || fail "422 tried $n times"
fi
wait_until 3 has_event "$RF" ScaledObjectInvalid Warning || fail "no ScaledObjectInvalid Event"
gone "$(so_path "$RF" bad)" || fail "an invalid ScaledObject was stored"
ok "422 from the API (spec.triggers: Required value): Warning Event ScaledObjectInvalid, no retry"
driver_stop
n=$(metric "$MLA_TMP/drv.metrics" 'mla_kube_requests_total{verb="PATCH",code="422"}')
[ "$n" = 1 ] || fail "the invalid ScaledObject was sent $n times"
ok "the invalid ScaledObject was sent once"
[ "$(metric "$MLA_TMP/drv.metrics" mla_worker_gave_up_total)" = 3 ] || fail "gave_up metric: $(grep gave_up "$MLA_TMP/drv.metrics")"
ok "mla_worker_gave_up_total 3 (never stored, the UPDATE that replaced the refused CREATE, the invalid one)"
