#!/usr/bin/env bash
# One adoption, one AdoptedAfterBypass Event: a Deployment and a suspended Job stored while the
# webhook was bypassed (failurePolicy Ignore: no patch) are adopted by the leader's loop. Here
# two passes plan the adoption before the worker has written (a new leader's own pass, then at
# once another; the API answers the worker's applies 429 with Retry-After meanwhile), so both
# passes queue it; the user still sees one AdoptedAfterBypass Event per object, recorded when
# the ScaledObject / ScaledJob is actually written. Through the controller driver (the policy
# engine, policies/) against the test API server. Also: the bypass scan of Jobs skips Jobs with
# succeeded pods (a template never ran), the second pass's repeated write records no second
# Applied Event, and the queue-depth metric's help names every kind the queue holds.
. "$(dirname "$0")/lib_kube.sh"
PY=/usr/bin/python3
kube_start_api
NS=$(ns adopt1)
ensure_ns "$NS"; ensure_ns "$LEASE_NS"
sj_path() { echo "/apis/keda.sh/v1alpha1/namespaces/$NS/scaledjobs/$1"; }
# store_bypassed API_PREFIX FIXTURE PLURAL -> the fixture stored with no admission patch
store_bypassed() {
  $PY -c 'import json,sys,yaml; d=yaml.safe_load(open(sys.argv[1])); d["metadata"]["namespace"]=sys.argv[2]; print(json.dumps(d))' \
    "$MLA_ROOT/tests/fixtures/render/$2/deployment.yaml" "$NS" >"$MLA_TMP/$2.json"
  kapi POST "$1/namespaces/$NS/$3" "$(cat "$MLA_TMP/$2.json")" >/dev/null
  [ "$(code)" = 201 ] || fail "store $2: $(cat "$MLA_TMP/last.body")"
}
store_bypassed /apis/apps/v1 api-cpu-only deployments
store_bypassed /apis/batch/v1 job-template jobs
DEP=$(jq -r .metadata.name "$MLA_TMP/api-cpu-only.json"); JOB=$(jq -r .metadata.name "$MLA_TMP/job-template.json")
ok "serve down: opted-in Deployment $DEP and suspended Job $JOB stored without the admission patch"
if testapi_only "a Job stored with a status (the test API server keeps it)"; then
  # the same template, but it ran once (succeeded pods): the bypass scan does not list it
  kapi POST "/apis/batch/v1/namespaces/$NS/jobs" "$(jq -c '.metadata.name = "ran-before" | .status = {succeeded: 1}' "$MLA_TMP/job-template.json")" >/dev/null
  [ "$(code)" = 201 ] || fail "store ran-before: $(cat "$MLA_TMP/last.body")"
  clearlog
fi

# adopted NAME KIND -> how many AdoptedAfterBypass Events the object has
adopted() {
  events "$NS" | jq --arg n "$1" --arg k "$2" '[.items[] | select(.reason == "AdoptedAfterBypass"
    and .involvedObject.kind == $k and .involvedObject.name == $n)] | length'
}
if testapi_only "holding the worker's writes back (test API server control)"; then
  control "{\"fail\":{\"status\":429,\"count\":4,\"retryAfter\":2,\"verb\":\"PATCH\",\"path\":\"/apis/keda.sh/v1alpha1/namespaces/$NS/\"}}"
fi
DRV_TEMPLATE="" driver_start drv --policy-dir "$MLA_ROOT/policies" --loop-interval 3600 \
  --lease-namespace "$LEASE_NS" --lease-name adopt-once --lease-duration 3 --renew-deadline 2 \
  --retry-period 0.5
wait_until 5 sh -c "echo '{\"cmd\":\"leader\"}' >&3; sleep 0.2; tail -1 '$MLA_TMP/drv.out' | grep -q true" || fail "never became leader"
# the new leader's own pass has run (or runs now); a second pass at once
out=$(send '{"cmd":"reconcile"}')
[ "$(echo "$out" | jqr ok)" = true ] || fail "reconcile: $out"
if testapi_only "the pass's cluster-wide counts"; then
  # both still missing when this second pass read: it planned both adoptions again
  [ "$(echo "$out" | jqr adopted)" = 2 ] || fail "the second pass did not plan exactly the two adoptions again: $out"
fi
wait_until 15 exists "$(so_path "$NS" "$DEP")" || fail "Deployment not adopted: $(tail -5 "$MLA_TMP/drv.err")"
wait_until 15 exists "$(sj_path "$JOB")" || fail "Job not adopted: $(tail -5 "$MLA_TMP/drv.err")"
send '{"cmd":"wait","timeoutMs":10000}' >/dev/null
one() { [ "$(adopted "$DEP" Deployment)" -ge 1 ] && [ "$(adopted "$JOB" Job)" -ge 1 ]; }
wait_until 5 one || fail "no AdoptedAfterBypass Event: $(events "$NS" | jq -c '[.items[] | {reason, o: .involvedObject.name}]')"
sleep 1 # an Event a second run would record
[ "$(adopted "$DEP" Deployment)" = 1 ] || fail "Deployment $DEP: $(adopted "$DEP" Deployment) AdoptedAfterBypass Events for one adoption"
[ "$(adopted "$JOB" Job)" = 1 ] || fail "Job $JOB: $(adopted "$JOB" Job) AdoptedAfterBypass Events for one adoption"
msg=$(events "$NS" | jq -r --arg n "$JOB" '.items[] | select(.reason == "AdoptedAfterBypass" and .involvedObject.name == $n) | .message')
echo "$msg" | grep -q "failurePolicy Ignore" && echo "$msg" | grep -q "ScaledJob $JOB" || fail "Job's Event message: $msg"
ok "two passes before the write: one AdoptedAfterBypass Event on the Deployment, one on the Job"
# the second pass's item writes again (server-side apply, idempotent) but changes nothing: one
# Applied Event each, not one per write
applied() {
  events "$NS" | jq --arg n "$1" --arg r "$2" '[.items[] | select(.reason == $r and .involvedObject.name == $n)] | length'
}
[ "$(applied "$DEP" ScaledObjectApplied)" = 1 ] || fail "Deployment $DEP: $(applied "$DEP" ScaledObjectApplied) ScaledObjectApplied Events for one change"
[ "$(applied "$JOB" ScaledJobApplied)" = 1 ] || fail "Job $JOB: $(applied "$JOB" ScaledJobApplied) ScaledJobApplied Events for one change"
ok "one ScaledObjectApplied and one ScaledJobApplied Event, however often the work was queued"

# a later pass finds both current: nothing more
out=$(send '{"cmd":"reconcile"}')
send '{"cmd":"wait","timeoutMs":5000}' >/dev/null
if testapi_only "the pass's cluster-wide counts"; then
  [ "$(echo "$out" | jqr adopted)" = 0 ] || fail "adopted again: $out"
fi
[ "$(adopted "$DEP" Deployment)" = 1 ] && [ "$(adopted "$JOB" Job)" = 1 ] || fail "a later pass recorded another AdoptedAfterBypass"
ok "a later pass: nothing to adopt, still one Event each"
if testapi_only "the request log"; then
  apilog | jq -e '[.items[] | select(.path == "/apis/batch/v1/jobs" and (.query | contains("labelSelector=!ml-autoscaling.io/managed")))] | length > 0 and all(.query | contains("fieldSelector=status.successful=0"))' >/dev/null \
    || fail "the bypass scan of Jobs is not narrowed to Jobs without succeeded pods: $(apilog | jq -c '[.items[] | select(.path == "/apis/batch/v1/jobs") | .query]')"
  gone "$(sj_path ran-before)" || fail "a Job with succeeded pods was listed and adopted"
  ok "the bypass scan lists Jobs with fieldSelector=status.successful=0: a Job that ran (ran-before) is not read"
fi
driver_stop
help=$(grep '^# HELP mla_worker_queue_depth ' "$MLA_TMP/drv.metrics") || fail "no mla_worker_queue_depth in /metrics"
echo "$help" | grep -q 'StatefulSets' && echo "$help" | grep -q 'Job' || fail "queue-depth help names Deployments only: $help"
ok "/metrics: $help"
