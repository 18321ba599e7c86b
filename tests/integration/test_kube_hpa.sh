#!/usr/bin/env bash
# Conflicting HPAs in the three modes: delete (spec kept in ml-autoscaling.io/removed-hpa, and
# opting out deletes our ScaledObject and restores the HPA), transfer (KEDA's ownership transfer,
# verified; falls back to delete when KEDA does not adopt it), reject (denied in admission,
# naming the HPA; nothing written).
. "$(dirname "$0")/lib_kube.sh"
kube_start_api
N1=$(ns ns1); N2=$(ns ns2); N3=$(ns ns3); N4=$(ns ns4); N5=$(ns ns5)
for n in "$N1" "$N2" "$N3" "$N4" "$N5"; do ensure_ns "$n"; done
driver_start drv --no-loop --transfer-verify 1.5

pyget() { /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }

# --- delete
store_deployment "$N1" api
create_hpa "$N1" api-hpa api
out=$(send '{"namespace":"'"$N1"'","name":"api","op":"UPDATE","oldResourceVersion":"0","action":"apply","hpaMode":"delete"}')
echo "$out" | grep -q 'HorizontalPodAutoscaler api-hpa targets this Deployment and will be removed' \
  || fail "no warning about the HPA: $out"
ok "admission warns: $(echo "$out" | jqr warnings.0)"
wait_until 5 exists "$(so_path "$N1" api)" || fail "ScaledObject not applied"
gone "$(hpa_path "$N1" api-hpa)" || fail "HPA not deleted"
kept=$(kapi GET "$(so_path "$N1" api)" | pyget 'd["metadata"]["annotations"]["ml-autoscaling.io/removed-hpa"]')
echo "$kept" | pyget 'd["spec"]["maxReplicas"]' | grep -qx 7 || fail "removed-hpa annotation: $kept"
ok "HPA deleted before the apply; its spec kept on the ScaledObject: $kept"
has_event "$N1" HPARemoved || fail "no HPARemoved Event"
ok "Event HPARemoved recorded"
# opt out: the UPDATE removing the opt-in, then the stored update
rv=$(kapi GET "$(dep_path "$N1" api)" | jqr metadata.resourceVersion)
out=$(send "{\"namespace\":\"$N1\",\"name\":\"api\",\"op\":\"UPDATE\",\"oldResourceVersion\":\"$rv\",\"action\":\"remove\"}")
[ "$(echo "$out" | jqr allowed)" = true ] || fail "opt-out not allowed: $out"
store_opt_out "$N1" api
wait_until 5 gone "$(so_path "$N1" api)" || fail "ScaledObject not deleted on opt-out"
wait_until 5 exists "$(hpa_path "$N1" api-hpa)" || fail "HPA not restored"
h=$(kapi GET "$(hpa_path "$N1" api-hpa)")
[ "$(echo "$h" | jqr spec.maxReplicas)" = 7 ] && [ "$(echo "$h" | jqr metadata.labels.team)" = web ] \
  || fail "restored HPA differs: $h"
ok "opt-out deleted our ScaledObject and restored HPA api-hpa (maxReplicas 7, labels kept)"

# --- transfer, KEDA adopts the HPA (KEDA's operator does it; mla-testapi plays it)
if testapi_only "HPA transfer adopted (needs KEDA's operator)"; then
control '{"kedaAdoptsHpa":true}'
store_deployment "$N2" svc
create_hpa "$N2" svc-hpa svc
out=$(send '{"namespace":"'"$N2"'","name":"svc","op":"UPDATE","oldResourceVersion":"0","action":"apply","hpaMode":"transfer"}')
echo "$out" | grep -q 'handed over to KEDA' || fail "no transfer warning: $out"
wait_until 5 exists "$(so_path "$N2" svc)" || fail "ScaledObject not applied (transfer)"
so=$(kapi GET "$(so_path "$N2" svc)")
[ "$(echo "$so" | pyget 'd["metadata"]["annotations"]["scaledobject.keda.sh/transfer-hpa-ownership"]')" = true ] || fail "no transfer annotation: $so"
[ "$(echo "$so" | jqr spec.advanced.horizontalPodAutoscalerConfig.name)" = svc-hpa ] || fail "no hpa name: $so"
exists "$(hpa_path "$N2" svc-hpa)" || fail "transferred HPA was deleted"
[ "$(kapi GET "$(hpa_path "$N2" svc-hpa)" | jqr metadata.ownerReferences.0.kind)" = ScaledObject ] || fail "HPA not adopted"
wait_until 3 has_event "$N2" HPATransferred || fail "transfer not verified"
ok "transfer: ScaledObject names svc-hpa with transfer-hpa-ownership=true; KEDA adopted it; verified (Event HPATransferred)"
fi

# --- transfer, KEDA does not adopt it -> fall back to delete (no KEDA operator on a real
# cluster without KEDA: the same story)
kube_is_real || control '{"kedaAdoptsHpa":false}'
store_deployment "$N3" job
create_hpa "$N3" job-hpa job
send '{"namespace":"'"$N3"'","name":"job","op":"UPDATE","oldResourceVersion":"0","action":"apply","hpaMode":"transfer"}' >/dev/null
wait_until 5 exists "$(so_path "$N3" job)" || fail "ScaledObject not applied (transfer fallback)"
wait_until 6 gone "$(hpa_path "$N3" job-hpa)" || fail "HPA not deleted after the transfer was not verified"
fallback_done() {
  kapi GET "$(so_path "$N3" job)" | pyget '"transfer-hpa-ownership" not in str(d["metadata"].get("annotations")) and "removed-hpa" in str(d["metadata"].get("annotations")) and "horizontalPodAutoscalerConfig" not in json.dumps(d["spec"])' | grep -qx True
}
wait_until 5 fallback_done || fail "fallback apply did not drop the transfer fields: $(kapi GET "$(so_path "$N3" job)")"
has_event "$N3" HPATransferFailed || fail "no HPATransferFailed Event"
ok "transfer not adopted within 1.5 s: HPA deleted (spec kept), ScaledObject re-applied without the transfer"

# --- reject
store_deployment "$N4" db
create_hpa "$N4" db-hpa db
kube_is_real || clearlog
out=$(send '{"namespace":"'"$N4"'","name":"db","op":"UPDATE","oldResourceVersion":"0","action":"apply","hpaMode":"reject"}')
[ "$(echo "$out" | jqr allowed)" = false ] && [ "$(echo "$out" | jqr code)" = 403 ] || fail "reject mode allowed: $out"
echo "$out" | grep -q 'HorizontalPodAutoscaler \\"db-hpa\\" already scales Deployment \\"db\\"' || fail "denial does not name the HPA: $out"
ok "reject: denied in admission: $(echo "$out" | jqr message)"
sleep 1
if testapi_only "request log"; then
  apilog | grep -qE '"verb":"(PATCH|POST|PUT|DELETE)"' && fail "reject mode wrote to the API: $(apilog)"
fi
exists "$(hpa_path "$N4" db-hpa)" || fail "HPA touched in reject mode"
gone "$(so_path "$N4" db)" || fail "ScaledObject written in reject mode"
ok "reject: only reads, nothing written"
# --- the policy renames the ScaledObject: ours under the old name is replaced, and the HPA it
# kept moves to the new one (opting out still restores it)
store_deployment "$N5" ren
create_hpa "$N5" ren-hpa ren
send '{"namespace":"'"$N5"'","name":"ren","op":"UPDATE","oldResourceVersion":"0","action":"apply"}' >/dev/null
wait_until 5 exists "$(so_path "$N5" ren)" || fail "rename setup"
so2=$(/usr/bin/python3 -c '
import json,sys
d=json.load(open(sys.argv[1])); d["metadata"]["name"]="ren-v2"; d["spec"]["scaleTargetRef"]["name"]="ren"
print(json.dumps(d))' "$FIX/so-template.json")
send "{\"namespace\":\"$N5\",\"name\":\"ren\",\"op\":\"UPDATE\",\"oldResourceVersion\":\"0\",\"action\":\"apply\",\"scaledObject\":$so2}" >/dev/null
wait_until 5 exists "$(so_path "$N5" ren-v2)" || fail "renamed ScaledObject not applied"
gone "$(so_path "$N5" ren)" || fail "old ScaledObject of ours not replaced"
kapi GET "$(so_path "$N5" ren-v2)" | grep -q 'ren-hpa' || fail "removed-hpa not carried to the new name"
ok "renamed ScaledObject: the old one of ours replaced, the kept HPA carried over"
driver_stop
