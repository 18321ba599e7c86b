#!/usr/bin/env bash
# The leader's reconcile pass repairs Job templates' KEDA ScaledJobs, as it does ScaledObjects:
# a suspended, opted-in Job stored while no webhook replica answered (failurePolicy Ignore: no
# patch) gets its ScaledJob (owned by the Job, AdoptedAfterBypass Event on the Job), once; a
# drifted ScaledJob is put back; a ScaledJob whose Job is gone (garbage collection not run) is
# deleted; a template whose opt-in was removed without the webhook loses its ScaledJob. Through
# the controller driver (the policy engine, policies/) against the test API server.
. "$(dirname "$0")/lib_kube.sh"
PY=/usr/bin/python3
kube_start_api
NS=$(ns batch)
ensure_ns "$NS"; ensure_ns "$LEASE_NS"
kube_is_real || control '{"gc":false}' # the orphan below is one the garbage collector has not removed
job_path() { echo "/apis/batch/v1/namespaces/$NS/jobs/$1"; }
sj_path() { echo "/apis/keda.sh/v1alpha1/namespaces/$NS/scaledjobs/$1"; }
# store_bypassed NAME -> the fixture Job stored as kube-apiserver stores it when the webhook is
# bypassed: no patch (no managed label, no policy annotations)
store_bypassed() {
  $PY -c 'import json,sys,yaml; d=yaml.safe_load(open(sys.argv[1])); d["metadata"]["namespace"]=sys.argv[2]; d["metadata"]["name"]=sys.argv[3]; print(json.dumps(d))' \
    "$MLA_ROOT/tests/fixtures/render/job-template/deployment.yaml" "$NS" "$1" >"$MLA_TMP/$1.json"
  kapi POST "/apis/batch/v1/namespaces/$NS/jobs" "$(cat "$MLA_TMP/$1.json")" >/dev/null
  [ "$(code)" = 201 ] || fail "store Job $1: $(cat "$MLA_TMP/last.body")"
}
# repairs FROM -> the loop's ScaledJob lines for this namespace after line FROM of the driver's log
repairs() {
  tail -n +"$(($1 + 1))" "$MLA_TMP/drv.err" | jq -rR --arg p "Job $NS/" --arg q "$NS/" \
    'fromjson? | select(.component == "rec") | .msg | select(startswith($p) or (startswith($q) and test("ScaledJob")))'
}
reconcile() { # -> the pass's answer; fails unless ok
  local out; out=$(send '{"cmd":"reconcile"}')
  [ "$(echo "$out" | jqr ok)" = true ] || fail "reconcile: $out"
  send '{"cmd":"wait","timeoutMs":5000}' >/dev/null
  echo "$out"
}

store_bypassed transcode
store_bypassed resize
uid=$(kapi GET "$(job_path transcode)" | jqr metadata.uid)
ok "serve down: opted-in suspended Jobs transcode and resize stored without the admission patch"

DRV_TEMPLATE="" driver_start drv --policy-dir "$MLA_ROOT/policies" --loop-interval 3600 \
  --lease-namespace "$LEASE_NS" --lease-name loop-jobs --lease-duration 3 --renew-deadline 2 \
  --retry-period 0.5
wait_until 5 sh -c "echo '{\"cmd\":\"leader\"}' >&3; sleep 0.2; tail -1 '$MLA_TMP/drv.out' | grep -q true" || fail "never became leader"
# a new leader runs a pass at once: that pass adopts them (two passes before the write:
# test_kube_loop_adopt_once.sh)
wait_until 5 exists "$(sj_path transcode)" || fail "no ScaledJob after the leader's first pass: $(repairs 0)"
send '{"cmd":"wait","timeoutMs":5000}' >/dev/null
out=$(reconcile)
sj=$(kapi GET "$(sj_path transcode)")
[ "$(echo "$sj" | jqr metadata.ownerReferences.0.uid)" = "$uid" ] && [ "$(echo "$sj" | jqr metadata.ownerReferences.0.kind)" = Job ] \
  || fail "ownerReference: $(echo "$sj" | jq -c .metadata.ownerReferences)"
echo "$sj" | jq -e '.metadata.labels["ml-autoscaling.io/managed"] == "true" and .spec.maxReplicaCount == 20
  and .spec.triggers[0].metadata.queueName == "transcode" and (.spec.jobTargetRef | has("suspend") | not)
  and .spec.jobTargetRef.template.spec.containers[0].image == "registry.example.com/transcoder:2.1"' >/dev/null \
  || fail "ScaledJob: $sj"
if testapi_only "the pass's cluster-wide counts"; then
  [ "$(echo "$out" | jqr jobs)" = 2 ] && [ "$(echo "$out" | jqr adopted)" = 0 ] || fail "pass counts: $out"
fi
wait_until 5 exists "$(sj_path resize)" || fail "no ScaledJob for resize"
adopted() { events "$NS" | jq -e --arg n transcode '[.items[] | select(.reason == "AdoptedAfterBypass" and .involvedObject.kind == "Job" and .involvedObject.name == $n)] | length == 1' >/dev/null; }
wait_until 5 adopted || fail "no AdoptedAfterBypass Event on Job transcode: $(events "$NS" | jq -c '[.items[] | {reason, o: .involvedObject}]')"
ok "one pass: ScaledJobs for both bypassed Jobs, owned by the Job (uid $uid), AdoptedAfterBypass Event on the Job"

from=$(wc -l <"$MLA_TMP/drv.err")
reconcile >/dev/null
[ -z "$(repairs "$from")" ] || fail "the next pass repaired again: $(repairs "$from")"
wait_until 2 adopted || fail "AdoptedAfterBypass not exactly once"
ok "the next passes repair nothing (the stored ScaledJobs are current, no second Event)"

kapi PATCH "$(sj_path transcode)" '{"spec":{"maxReplicaCount":99}}' application/merge-patch+json >/dev/null
[ "$(code)" = 200 ] || fail "drift: $(cat "$MLA_TMP/last.body")"
reconcile >/dev/null
max() { [ "$(kapi GET "$(sj_path transcode)" | jqr spec.maxReplicaCount)" = 20 ]; }
wait_until 5 max || fail "drifted maxReplicaCount not put back: $(kapi GET "$(sj_path transcode)" | jq -c .spec)"
ok "a drifted ScaledJob (maxReplicaCount 99) is put back to the policy's 20"

kapi PATCH "$(job_path resize)" '{"metadata":{"annotations":{"ml-autoscaling.io/enabled":null}}}' application/merge-patch+json >/dev/null
reconcile >/dev/null
wait_until 5 gone "$(sj_path resize)" || fail "ScaledJob of an opted-out template kept"
exists "$(job_path resize)" || fail "the template Job itself was deleted"
ok "opt-in removed without the webhook: the loop removed the template's ScaledJob"

kapi DELETE "$(job_path transcode)" '{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Background"}' >/dev/null
wait_until 10 gone "$(job_path transcode)" || fail "Job not deleted"
reconcile >/dev/null
wait_until 5 gone "$(sj_path transcode)" || fail "orphaned ScaledJob kept: $(kapi GET "$(sj_path transcode)" | jq -c .metadata)"
ok "the template Job deleted (garbage collection off): the loop deleted its orphaned ScaledJob"
driver_stop
