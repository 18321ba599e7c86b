#!/usr/bin/env bash
# Job templates end to end through `ml-autoscaling serve` and the test API server: a suspended
# Job with the opt-in gets a KEDA ScaledJob (written by serve's worker after the Job is stored,
# validated against KEDA's ScaledJob CRD by the API server) whose jobTargetRef is the stored
# Job's spec without suspend and without what the API server set for that one Job (selector,
# controller-uid/job-name labels), owned by the Job, with the profile's trigger and the policy's
# limits; an Event on the Job says so. Removing the opt-in deletes it; deleting the Job deletes
# it through garbage collection. A Job created without spec.suspend is suspended by the patch
# (with a warning), and an opted-in UPDATE of a Job that already runs writes nothing and says why.
. "$(dirname "$0")/lib_kube.sh"
PY=/usr/bin/python3
kube_start_api
ensure_ns "$LEASE_NS"
serve_start serve --policies "$MLA_ROOT/policies" --loop-interval 3600
kube_is_real || control '{"gc":true,"gcDelayMs":100}' # a real cluster: kube-controller-manager's GC

# review OP OBJ [OLD] -> the AdmissionReview response of the webhook for a batch/v1 Job
review() {
  $PY - "$@" >"$MLA_TMP/review.json" <<'PY'
import json, sys, uuid
op, obj = sys.argv[1], json.load(open(sys.argv[2]))
old = json.load(open(sys.argv[3])) if len(sys.argv) > 3 else None
gvk = {"group": "batch", "version": "v1", "kind": "Job"}
req = {"uid": str(uuid.uuid4()), "kind": gvk, "requestKind": gvk,
       "resource": {"group": "batch", "version": "v1", "resource": "jobs"},
       "name": obj["metadata"]["name"], "namespace": obj["metadata"]["namespace"],
       "operation": op, "userInfo": {"username": "kubernetes-admin"}, "object": obj,
       "oldObject": old, "dryRun": False}
print(json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": req}))
PY
  curl -sS --cacert "$MLA_TMP/certs/ca.crt" -H 'Content-Type: application/json' \
    --data-binary "@$MLA_TMP/review.json" "$WH/mutate" | jq -c .response
}
# patched RESP OBJ -> OBJ with the response's patch applied, as kube-apiserver applies it
patched() {
  local p; p=$(echo "$1" | jq -r '.patch // empty' | base64 -d)
  if [ -n "$p" ]; then /usr/bin/kubectl patch --local --type=json -f "$2" -p "$p" -o json
  else cat "$2"; fi
}
job_path() { echo "/apis/batch/v1/namespaces/$1/jobs/$2"; }
sj_path() { echo "/apis/keda.sh/v1alpha1/namespaces/$1/scaledjobs/$2"; }

NS=$(ns media); N=transcode
ensure_ns "$NS"
$PY -c 'import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))' \
  "$MLA_ROOT/tests/fixtures/render/job-template/deployment.yaml" | jq -c --arg ns "$NS" '.metadata.namespace=$ns' >"$MLA_TMP/job.json"

echo "== a suspended, opted-in Job becomes the template of a ScaledJob"
resp=$(review CREATE "$MLA_TMP/job.json")
[ "$(echo "$resp" | jq -r .allowed)" = true ] || fail "not allowed: $resp"
patched "$resp" "$MLA_TMP/job.json" >"$MLA_TMP/stored.json" || fail "patch"
kapi POST "/apis/batch/v1/namespaces/$NS/jobs" "$(cat "$MLA_TMP/stored.json")" >/dev/null
[ "$(code)" = 201 ] || fail "store Job: $(cat "$MLA_TMP/last.body")"
uid=$(jqr metadata.uid <"$MLA_TMP/last.body")
kapi GET "$(job_path "$NS" "$N")" | jq -e '.spec.selector.matchLabels["batch.kubernetes.io/controller-uid"] and .spec.template.metadata.labels["job-name"]' >/dev/null \
  || fail "the test API server did not default the Job as kube-apiserver does"
wait_until 5 exists "$(sj_path "$NS" "$N")" || fail "no ScaledJob: $(tail -5 "$MLA_TMP/serve.err")"
sj=$(kapi GET "$(sj_path "$NS" "$N")")
[ "$(echo "$sj" | jqr metadata.ownerReferences.0.uid)" = "$uid" ] || fail "owner: $sj"
[ "$(echo "$sj" | jqr metadata.ownerReferences.0.kind)" = Job ] || fail "owner kind: $sj"
echo "$sj" | jq -e '.spec.jobTargetRef | (has("suspend") or has("selector") or has("manualSelector")) | not' >/dev/null \
  || fail "jobTargetRef carries suspend/selector: $(echo "$sj" | jq -c .spec.jobTargetRef)"
echo "$sj" | jq -e '.spec.jobTargetRef.template.metadata.labels == {"app":"transcode"}' >/dev/null \
  || fail "jobTargetRef pod labels: $(echo "$sj" | jq -c .spec.jobTargetRef.template.metadata)"
echo "$sj" | jq -e '.spec.jobTargetRef.backoffLimit == 2 and .spec.jobTargetRef.template.spec.containers[0].image == "registry.example.com/transcoder:2.1"' >/dev/null \
  || fail "jobTargetRef is not the Job's spec: $(echo "$sj" | jq -c .spec.jobTargetRef)"
echo "$sj" | jq -e '.spec.triggers[0].type == "rabbitmq" and .spec.triggers[0].metadata.queueName == "transcode"
  and .spec.maxReplicaCount == 20 and .spec.successfulJobsHistoryLimit == 10 and .spec.failedJobsHistoryLimit == 20
  and .spec.scalingStrategy.strategy == "accurate"' >/dev/null || fail "ScaledJob spec: $(echo "$sj" | jq -c .spec)"
ok "ScaledJob $N: owned by Job uid $uid, jobTargetRef = the stored spec minus suspend/selector/controller labels, rabbitmq trigger, limits"
wait_until 5 has_event "$NS" ScaledJobApplied Normal || fail "no ScaledJobApplied Event"
events "$NS" | jq -e '.items[] | select(.reason == "ScaledJobApplied") | .involvedObject.kind == "Job"' >/dev/null || fail "Event not on the Job"
ok "Event ScaledJobApplied on the Job"

echo "== removing the opt-in deletes it"
cp "$MLA_TMP/stored.json" "$MLA_TMP/old.json"
kapi GET "$(job_path "$NS" "$N")" | jq -c 'del(.metadata.annotations["ml-autoscaling.io/enabled"])' >"$MLA_TMP/upd.json"
resp=$(review UPDATE "$MLA_TMP/upd.json" "$MLA_TMP/old.json")
[ "$(echo "$resp" | jq -r .allowed)" = true ] || fail "opt-out not allowed: $resp"
echo "$resp" | jq -e '.warnings | any(test("ScaledJob transcode created for this Job will be deleted"))' >/dev/null || fail "opt-out warning: $resp"
patched "$resp" "$MLA_TMP/upd.json" >"$MLA_TMP/upd-stored.json"
kapi PUT "$(job_path "$NS" "$N")" "$(cat "$MLA_TMP/upd-stored.json")" >/dev/null
[ "$(code)" = 200 ] || fail "store opt-out: $(cat "$MLA_TMP/last.body")"
wait_until 5 gone "$(sj_path "$NS" "$N")" || fail "ScaledJob not deleted on opt-out"
wait_until 5 has_event "$NS" ScaledJobRemoved Normal || fail "no ScaledJobRemoved Event"
ok "opt-out: ScaledJob deleted by the worker (Event ScaledJobRemoved)"

echo "== deleting the template deletes its ScaledJob (ownerReference)"
N2=resize
jq -c --arg n "$N2" '.metadata.name=$n | .metadata.annotations["ml-autoscaling.io/queue"]="resize"' "$MLA_TMP/job.json" >"$MLA_TMP/job2.json"
resp=$(review CREATE "$MLA_TMP/job2.json")
patched "$resp" "$MLA_TMP/job2.json" >"$MLA_TMP/stored2.json"
kapi POST "/apis/batch/v1/namespaces/$NS/jobs" "$(cat "$MLA_TMP/stored2.json")" >/dev/null
wait_until 5 exists "$(sj_path "$NS" "$N2")" || fail "no ScaledJob for $N2"
# as `kubectl delete job` sends it: a DELETE of a batch/v1 Job without propagationPolicy orphans
# its dependents (the Jobs API's legacy default), which would leave the ScaledJob behind
kapi DELETE "$(job_path "$NS" "$N2")" '{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Background"}' >/dev/null
wait_until 5 gone "$(sj_path "$NS" "$N2")" || fail "ScaledJob outlived its template Job"
ok "Job deleted: its ScaledJob went with it"

echo "== a Job without spec.suspend is suspended by the patch"
N3=thumbnails
jq -c --arg n "$N3" '.metadata.name=$n | del(.spec.suspend)' "$MLA_TMP/job.json" >"$MLA_TMP/job3.json"
resp=$(review CREATE "$MLA_TMP/job3.json")
echo "$resp" | jq -e '.allowed and (.warnings | any(test("set spec.suspend: true")))' >/dev/null || fail "no suspend warning: $resp"
patched "$resp" "$MLA_TMP/job3.json" >"$MLA_TMP/stored3.json"
jq -e '.spec.suspend == true' "$MLA_TMP/stored3.json" >/dev/null || fail "patch did not suspend the Job"
kapi POST "/apis/batch/v1/namespaces/$NS/jobs" "$(cat "$MLA_TMP/stored3.json")" >/dev/null
wait_until 5 exists "$(sj_path "$NS" "$N3")" || fail "no ScaledJob for the suspended-by-patch Job"
ok "CREATE without suspend: patched to suspend: true (warning) and its ScaledJob written"

echo "== an opted-in UPDATE of a Job that already runs writes nothing"
N4=oneshot
jq -c --arg n "$N4" '.metadata.name=$n | del(.spec.suspend) | del(.metadata.annotations)' "$MLA_TMP/job.json" >"$MLA_TMP/job4.json"
kapi POST "/apis/batch/v1/namespaces/$NS/jobs" "$(cat "$MLA_TMP/job4.json")" >/dev/null
kapi GET "$(job_path "$NS" "$N4")" >"$MLA_TMP/old4.json"
jq -c '.metadata.annotations={"ml-autoscaling.io/enabled":"true","ml-autoscaling.io/profile":"batch-jobs","ml-autoscaling.io/queue":"x"}' "$MLA_TMP/old4.json" >"$MLA_TMP/upd4.json"
resp=$(review UPDATE "$MLA_TMP/upd4.json" "$MLA_TMP/old4.json")
echo "$resp" | jq -e '.allowed and (.patch == null) and (.warnings | any(test("cannot become the template of a ScaledJob")))' >/dev/null || fail "started Job: $resp"
kapi PUT "$(job_path "$NS" "$N4")" "$(cat "$MLA_TMP/upd4.json")" >/dev/null
sleep 1
gone "$(sj_path "$NS" "$N4")" || fail "a ScaledJob was written for a running Job"
ok "UPDATE of a started Job: allowed unchanged, warning, no ScaledJob"

kill -TERM "$SERVE_PID"; wait "$SERVE_PID"; rc=$?
[ "$rc" = 0 ] || fail "serve exited $rc: $(tail -5 "$MLA_TMP/serve.err")"
ok "serve exited 0"
