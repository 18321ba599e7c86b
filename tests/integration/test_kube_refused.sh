#!/usr/bin/env bash
# A request refused after admission (a later webhook, a quota, AlreadyExists) never shows as
# stored: the worker gives up after its bound, writes nothing and counts it.
. "$(dirname "$0")/lib_kube.sh"
kube_start_api
store_deployment rf old        # exists from before: a CREATE of the same name is refused
sleep 2.5
driver_start drv --no-loop --stored-give-up 1
send '{"namespace":"rf","name":"never","op":"CREATE","action":"apply"}' >/dev/null
send '{"namespace":"rf","name":"old","op":"CREATE","action":"apply"}' >/dev/null
rv=$(kapi GET "$(dep_path rf old)" | jqr metadata.resourceVersion)
send "{\"namespace\":\"rf\",\"name\":\"old\",\"op\":\"UPDATE\",\"oldResourceVersion\":\"$rv\",\"action\":\"apply\",\"scaledObject\":{\"metadata\":{\"name\":\"old-upd\",\"labels\":{\"ml-autoscaling.io/managed\":\"true\"}},\"spec\":{\"scaleTargetRef\":{\"name\":\"old\"},\"minReplicaCount\":1,\"triggers\":[{\"type\":\"cpu\",\"metadata\":{\"value\":\"50\"}}]}}}" >/dev/null
out=$(send '{"cmd":"wait","timeoutMs":8000}')
[ "$(echo "$out" | jqr idle)" = true ] || fail "the worker did not give up: $out"
gone "$(so_path rf never)" || fail "ScaledObject for a Deployment that was never stored"
gone "$(so_path rf old)" || fail "ScaledObject from a refused CREATE (older namesake)"
gone "$(so_path rf old-upd)" || fail "ScaledObject from an UPDATE that was never stored"
grep -q 'rf/never: giving up' "$MLA_TMP/drv.err" || fail "no log line: $(tail -3 "$MLA_TMP/drv.err")"
ok "never stored / older namesake / UPDATE not stored: nothing written, gave up after the bound"
driver_stop
[ "$(metric "$MLA_TMP/drv.metrics" mla_worker_gave_up_total)" = 2 ] || fail "gave_up metric: $(grep gave_up "$MLA_TMP/drv.metrics")"
ok "mla_worker_gave_up_total 2 (the UPDATE replaced the refused CREATE of the same Deployment)"
