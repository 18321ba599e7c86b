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
send "{\"namespace\":\"$RF\",\"name\":\"old\",\"op\":\"UPDATE\",\"oldResourceVersion\":\"$rv\",\"action\":\"apply\",\"scaledObject\":{\"metadata\":{\"name\":\"old-upd\",\"labels\":{\"ml-autoscaling.io/managed\":\"true\"}},\"spec\":{\"scaleTargetRef\":{\"name\":\"old\"},\"minReplicaCount\":1,\"triggers\":[{\"type\":\"cpu\",\"metadata\":{\"value\":\"50\"}}]}}}" >/dev/null
out=$(send '{"cmd":"wait","timeoutMs":8000}')
[ "$(echo "$out" | jqr idle)" = true ] || fail "the worker did not give up: $out"
gone "$(so_path "$RF" never)" || fail "ScaledObject for a Deployment that was never stored"
gone "$(so_path "$RF" old)" || fail "ScaledObject from a refused CREATE (older namesake)"
gone "$(so_path "$RF" old-upd)" || fail "ScaledObject from an UPDATE that was never stored"
grep -q "$RF/never: giving up" "$MLA_TMP/drv.err" || fail "no log line: $(tail -3 "$MLA_TMP/drv.err")"
ok "never stored / older namesake / UPDATE not stored: nothing written, gave up after the bound"
# the API refuses the ScaledObject itself (422 Invalid): reported once, not retried
if testapi_only "422 injection"; then
  control '{"fail":{"status":422,"count":5,"path":"/scaledobjects/bad","verb":"PATCH"}}'
  store_deployment "$RF" bad
  send '{"namespace":"'"$RF"'","name":"bad","op":"UPDATE","oldResourceVersion":"0","action":"apply"}' >/dev/null
  send '{"cmd":"wait","timeoutMs":5000}' | grep -q true || fail "422 retried"
  n=$(apilog | grep -o "\"path\":\"/apis/keda.sh/v1alpha1/namespaces/$RF/scaledobjects/bad\",\"query\":\"fieldManager=ml-autoscaling&force=true\",\"status\":422" | wc -l)
  [ "$n" = 1 ] || fail "422 tried $n times"
  has_event "$RF" ScaledObjectInvalid || fail "no ScaledObjectInvalid Event"
  ok "422 from the API: one attempt, Warning Event ScaledObjectInvalid, no retry"
  control '{"reset":true,"fail":{"status":0,"count":0}}'
fi
driver_stop
want=2; kube_is_real || want=3
[ "$(metric "$MLA_TMP/drv.metrics" mla_worker_gave_up_total)" = "$want" ] || fail "gave_up metric: $(grep gave_up "$MLA_TMP/drv.metrics")"
ok "mla_worker_gave_up_total $want (the UPDATE replaced the refused CREATE of the same Deployment)"
