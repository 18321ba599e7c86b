#!/usr/bin/env bash
# StatefulSets end to end through `serve` (issue 13), with the shipped feature-store policy:
# admission warns about the HPA on the StatefulSet (not about one on a Deployment of the same
# name); the worker removes that HPA and applies a ScaledObject targeting the StatefulSet, owned
# by it, with an Event on the StatefulSet; the leader's loop re-weights its minReplicaCount from
# Prometheus (mla-testprom) and reads the StatefulSet's replicas for the workload gauge, and
# adopts a StatefulSet that bypassed the webhook; opting
# out with enabled "false" deletes the ScaledObject and restores the HPA.
. "$(dirname "$0")/lib_kube.sh"
. "$MLA_ROOT/scripts/review-lib.sh"
. "$(dirname "$0")/lib_testprom.sh"
PY=/usr/bin/python3
AT=$(date -u -d 1995-07-12T16:00:00Z +%s)   # Wed 12:00 at the NASA server (EDT)
testprom_start --trace "$MLA_ROOT/tests/fixtures/traces/nasa-kennedy-1995.per-minute.csv" \
  --trace-at "$AT" --now "$(date +%s)" || fail "testprom"
PIDS+=("$TESTPROM_PID")
kube_start_api
ensure_ns "$LEASE_NS"
serve_start serve --policies "$MLA_ROOT/policies" --prometheus-url "$TESTPROM_URL" --loop-interval 2
NS=$(ns features); N=online-features
STS_PATH="/apis/apps/v1/namespaces/$NS/statefulsets/$N"
ensure_ns "$NS"
$PY - "$MLA_ROOT/tests/fixtures/render/feature-store-statefulset/deployment.yaml" "$NS" >"$MLA_TMP/sts.json" <<'PYEOF'
import json, sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
d["metadata"]["namespace"] = sys.argv[2]
d["metadata"]["annotations"]["ml-autoscaling.io/capacity-per-replica"] = "20"
d["spec"].pop("volumeClaimTemplates", None)  # no storage on a test cluster; nothing reads it
print(json.dumps(d))
PYEOF
hpa() { # NAME KIND: an HPA on $KIND $N
  kapi POST "/apis/autoscaling/v2/namespaces/$NS/horizontalpodautoscalers" \
    '{"apiVersion":"autoscaling/v2","kind":"HorizontalPodAutoscaler","metadata":{"name":"'"$1"'"},"spec":{"scaleTargetRef":{"apiVersion":"apps/v1","kind":"'"$2"'","name":"'"$N"'"},"minReplicas":3,"maxReplicas":9,"metrics":[{"type":"Resource","resource":{"name":"memory","target":{"type":"Utilization","averageUtilization":80}}}]}}' >/dev/null
  [ "$(code)" = 201 ] || fail "create HPA $1: $(cat "$MLA_TMP/last.body")"
}
hpa sts-hpa StatefulSet
hpa dep-hpa Deployment   # a Deployment namesake's HPA: not ours to touch
review() { # OP OBJECT [OLD] -> the AdmissionReview response
  mla_review "$@" >"$MLA_TMP/review.json"
  curl -sS --cacert "$MLA_TMP/certs/ca.crt" -H 'Content-Type: application/json' \
    --data-binary "@$MLA_TMP/review.json" "$WH/mutate"
}
patched() { # RESPONSE OBJECT -> the object with the response's patch applied
  local p; p=$(echo "$1" | $PY -c 'import json,sys,base64; r=json.load(sys.stdin)["response"]; assert r["allowed"], r; print(base64.b64decode(r["patch"]).decode())') \
    || fail "not allowed: $1"
  /usr/bin/kubectl patch --local --type=json -f "$2" -p "$p" -o json
}

# --- admission and the worker
resp=$(review CREATE "$MLA_TMP/sts.json")
echo "$resp" | grep -q 'HorizontalPodAutoscaler sts-hpa targets this StatefulSet and will be removed once the StatefulSet is stored' || fail "no warning about sts-hpa: $resp"
echo "$resp" | grep -q 'dep-hpa' && fail "warned about the Deployment's HPA: $resp"
ok "admission of the StatefulSet warns about its own HPA only"
patched "$resp" "$MLA_TMP/sts.json" >"$MLA_TMP/stored.json" || fail "patch"
kapi POST "/apis/apps/v1/namespaces/$NS/statefulsets" "$(cat "$MLA_TMP/stored.json")" >/dev/null
[ "$(code)" = 201 ] || fail "store: $(cat "$MLA_TMP/last.body")"
wait_until 5 exists "$(so_path "$NS" "$N")" || fail "no ScaledObject: $(tail -5 "$MLA_TMP/serve.err")"
so=$(kapi GET "$(so_path "$NS" "$N")")
uid=$(kapi GET "$STS_PATH" | jqr metadata.uid)
[ "$(echo "$so" | jqr spec.scaleTargetRef.kind)" = StatefulSet ] || fail "scaleTargetRef: $(echo "$so" | jqr spec.scaleTargetRef)"
[ "$(echo "$so" | jqr metadata.ownerReferences.0.kind)" = StatefulSet ] && \
  [ "$(echo "$so" | jqr metadata.ownerReferences.0.uid)" = "$uid" ] || fail "ownerReference: $(echo "$so" | jqr metadata.ownerReferences)"
[ "$(echo "$so" | jqr spec.minReplicaCount)" -ge 3 ] || fail "minReplicaCount below 3: $(echo "$so" | jqr spec)"
[ "$(echo "$so" | jqr spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.policies.0.value)" = 1 ] || fail "scale-down policy"
gone "$(hpa_path "$NS" sts-hpa)" || fail "the StatefulSet's HPA was not removed"
exists "$(hpa_path "$NS" dep-hpa)" || fail "the Deployment's HPA was removed"
events "$NS" | jq -e 'any(.items[]; .reason == "HPARemoved" and .involvedObject.kind == "StatefulSet")' >/dev/null \
  || fail "no HPARemoved Event on the StatefulSet: $(events "$NS" | jq -c '[.items[] | {reason, k: .involvedObject.kind}]')"
ok "worker: sts-hpa removed, ScaledObject targets and is owned by the StatefulSet (Event on it)"

# --- the loop re-weights it
forecast_set() {
  kapi GET "$(so_path "$NS" "$N")" | $PY -c '
import json,sys
d=json.load(sys.stdin); a=d["metadata"].get("annotations",{})
assert a.get("ml-autoscaling.io/min-replicas-reason","").startswith("forecast"), a
assert "ml-autoscaling.io/forecast-peak" in a'
}
wait_until 15 forecast_set || fail "the loop did not re-weight the StatefulSet's ScaledObject: $(grep -E 'predict|rec' "$MLA_TMP/serve.err" | tail -3)"
min=$(kapi GET "$(so_path "$NS" "$N")" | jqr spec.minReplicaCount)
[ "$min" -ge 3 ] && [ "$min" -le 15 ] || fail "minReplicaCount $min outside 3-15"
m=$(curl -sS --cacert "$MLA_TMP/certs/ca.crt" "$WH/metrics")
echo "$m" | grep -q "^mla_workload_replicas{namespace=\"$NS\",deployment=\"$N\"} 3" \
  || fail "the loop did not read the StatefulSet's replicas: $(echo "$m" | grep mla_workload_replicas)"
ok "loop: minReplicaCount $min from the forecast; the workload gauge read the StatefulSet (3 replicas)"

# --- the loop adopts a StatefulSet stored while the webhook did not answer (no patch)
jq '.metadata.name = "bypassed" | .spec.serviceName = "bypassed"' "$MLA_TMP/sts.json" >"$MLA_TMP/byp.json"
kapi POST "/apis/apps/v1/namespaces/$NS/statefulsets" "$(cat "$MLA_TMP/byp.json")" >/dev/null
[ "$(code)" = 201 ] || fail "store bypassed: $(cat "$MLA_TMP/last.body")"
wait_until 10 exists "$(so_path "$NS" bypassed)" || fail "the loop did not adopt the bypassed StatefulSet: $(grep '"rec"' "$MLA_TMP/serve.err" | tail -3)"
[ "$(kapi GET "$(so_path "$NS" bypassed)" | jqr metadata.ownerReferences.0.kind)" = StatefulSet ] || fail "adopted without a StatefulSet owner"
events "$NS" | jq -e 'any(.items[]; .reason == "AdoptedAfterBypass" and .involvedObject.kind == "StatefulSet" and .involvedObject.name == "bypassed")' >/dev/null \
  || fail "no AdoptedAfterBypass Event on the StatefulSet"
ok "loop: a StatefulSet that bypassed the webhook gets its ScaledObject (owner and Event: the StatefulSet)"

# --- opt-out with enabled "false"
kapi GET "$STS_PATH" >"$MLA_TMP/cur.json"
jq '.metadata.annotations["ml-autoscaling.io/enabled"] = "false"' "$MLA_TMP/cur.json" >"$MLA_TMP/off.json"
resp=$(review UPDATE "$MLA_TMP/off.json" "$MLA_TMP/cur.json")
echo "$resp" | grep -q 'opt-in removed' || fail "opt-out not reported: $resp"
patched "$resp" "$MLA_TMP/off.json" >"$MLA_TMP/off-stored.json" || fail "opt-out patch"
kapi PUT "$STS_PATH" "$(cat "$MLA_TMP/off-stored.json")" >/dev/null
[ "$(code)" = 200 ] || fail "store opt-out: $(cat "$MLA_TMP/last.body")"
wait_until 5 gone "$(so_path "$NS" "$N")" || fail "ScaledObject not deleted on opt-out"
wait_until 5 exists "$(hpa_path "$NS" sts-hpa)" || fail "sts-hpa not restored"
[ "$(kapi GET "$(hpa_path "$NS" sts-hpa)" | jqr spec.scaleTargetRef.kind)" = StatefulSet ] || fail "restored HPA"
ok "opt-out (enabled \"false\"): ScaledObject deleted, sts-hpa restored"
kill -TERM "$SERVE_PID"; wait "$SERVE_PID" || fail "serve exited with an error: $(tail -5 "$MLA_TMP/serve.err")"
testprom_stop || fail "testprom"
ok "serve and testprom stopped cleanly"
