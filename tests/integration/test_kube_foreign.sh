#!/usr/bin/env bash
# A ScaledObject someone else wrote for the Deployment: admission warns, the worker leaves it
# alone and records a Warning Event; it is never modified or deleted (not even by an opt-out).
. "$(dirname "$0")/lib_kube.sh"
kube_start_api
B=$(ns team-b)
driver_start drv --no-loop
store_deployment "$B" web
theirs='{"apiVersion":"keda.sh/v1alpha1","kind":"ScaledObject","metadata":{"name":"web-by-hand","namespace":"'"$B"'"},"spec":{"scaleTargetRef":{"name":"web"},"minReplicaCount":3,"triggers":[{"type":"cpu","metadata":{"value":"80"}}]}}'
kapi POST /apis/keda.sh/v1alpha1/namespaces/$B/scaledobjects "$theirs" >/dev/null
[ "$(code)" = 201 ] || fail "create foreign ScaledObject: $(cat "$MLA_TMP/last.body")"
before=$(kapi GET "$(so_path "$B" web-by-hand)" | jqr metadata.resourceVersion)
out=$(send '{"namespace":"'"$B"'","name":"web","op":"UPDATE","oldResourceVersion":"0","action":"apply"}')
[ "$(echo "$out" | jqr allowed)" = true ] || fail "not allowed: $out"
echo "$out" | grep -q 'ScaledObject web-by-hand was not created by ml-autoscaling' || fail "no warning: $out"
ok "admission warns: $(echo "$out" | jqr warnings.0)"
send '{"cmd":"wait","timeoutMs":5000}' | grep -q true || fail "worker did not finish"
gone "$(so_path "$B" web)" || fail "a second ScaledObject was written"
[ "$(kapi GET "$(so_path "$B" web-by-hand)" | jqr metadata.resourceVersion)" = "$before" ] || fail "foreign ScaledObject modified"
has_event "$B" ScaledObjectConflict || fail "no Event"
has_event "$B" ScaledObjectConflict Warning || fail "Event not a Warning"
ok "left alone (resourceVersion $before unchanged), Warning Event ScaledObjectConflict recorded"
# a foreign one under the generated name
kapi DELETE "$(so_path "$B" web-by-hand)" >/dev/null
kapi POST /apis/keda.sh/v1alpha1/namespaces/$B/scaledobjects "${theirs//web-by-hand/web}" >/dev/null
before=$(kapi GET "$(so_path "$B" web)" | jqr metadata.resourceVersion)
out=$(send '{"namespace":"'"$B"'","name":"web","op":"UPDATE","oldResourceVersion":"0","action":"apply"}')
echo "$out" | grep -q 'has the generated name' || fail "no warning for the generated name: $out"
send '{"cmd":"wait","timeoutMs":5000}' >/dev/null
[ "$(kapi GET "$(so_path "$B" web)" | jqr metadata.resourceVersion)" = "$before" ] || fail "foreign ScaledObject overwritten"
ok "a foreign ScaledObject with the generated name is not overwritten"
# opting out never deletes it
rv=$(kapi GET "$(dep_path "$B" web)" | jqr metadata.resourceVersion)
send "{\"namespace\":\"$B\",\"name\":\"web\",\"op\":\"UPDATE\",\"oldResourceVersion\":\"$rv\",\"action\":\"remove\"}" >/dev/null
store_opt_out "$B" web
send '{"cmd":"wait","timeoutMs":5000}' >/dev/null
exists "$(so_path "$B" web)" || fail "opt-out deleted a ScaledObject we did not make"
ok "opt-out leaves the foreign ScaledObject in place"
driver_stop
