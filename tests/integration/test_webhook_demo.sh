#!/usr/bin/env bash
# The README's demo (scripts/demo.sh --no-deps) runs end to end: every example Deployment in
# docs/examples/ gets an answer, the opted-in ones a decoded patch, and the server stops cleanly;
# then the API story against mla-testapi: the preloaded HPA is removed (kept on the ScaledObject)
# when the vLLM Deployment is admitted and stored, the ScaledObject exists owned by it, and
# opting out deletes the ScaledObject and restores the HPA; everything stops, nothing is left.
set -u
. "$(dirname "$0")/webhook_lib.sh"
mkdir -p "$MLA_TMP/demo-tmp"  # the demo's mktemp -d goes there: nothing may be left behind
out=$(cd "$MLA_ROOT" && TMPDIR="$MLA_TMP/demo-tmp" MLA_BUILD="$MLA_BUILD" timeout 120 bash scripts/demo.sh --no-deps 2>&1) || fail "demo failed: $out"
left=$(pgrep -af "$MLA_TMP/demo-tmp") && fail "the demo left processes running: $left"
[ -z "$(ls -A "$MLA_TMP/demo-tmp")" ] || fail "the demo left files: $(ls -A "$MLA_TMP/demo-tmp")"
echo "$out" | grep -q 'server stopped cleanly (SIGTERM, exit 0)' || fail "demo did not stop the server cleanly: $out"
n=$(ls "$MLA_ROOT"/docs/examples/*.yaml | wc -l)
echo "$out" | grep -Eq "^[0-9]+ AdmissionReviews answered" || fail "no summary: $out"
[ "$(echo "$out" | grep -c '^  result:   ')" -ge "$n" ] || fail "not every example was answered: $out"
echo "$out" | grep -A1 'plain-api.yaml' | grep -q 'result:   ALLOWED' || fail "plain-api not allowed: $out"
echo "$out" | grep -A8 'vllm-gpu-inference.yaml' | grep -q 'ml-autoscaling.io~1managed' || fail "vllm patch not shown: $out"
echo "$out" | grep -A12 'batch-job.yaml' | grep -q '^  then:     the worker applies ScaledJob media/transcode: one Job per queued item, at most 20 at once, triggers rabbitmq/queue-depth' \
  || fail "the Job example does not show its ScaledJob: $out"
ok "demo: $(echo "$out" | grep -c '^  result:   ') examples answered, patches decoded, clean stop"

# section NAME: the lines of "[NAME]" up to the next section
section() { echo "$out" | awk -v h="[$1]" 'index($0, h) == 1 {on = 1; next} /^\[/ {on = 0} on'; }
has() { # has SECTION REGEX WHAT
  section "$1" | grep -Eq -- "$2" || fail "[$1] does not show $3: $(section "$1")"
}
echo "$out" | grep -q '^API story: serve with the API side' || fail "no API story: $out"
has before '^  HPA: +ml-serving/vllm-llama-cpu -> Deployment/vllm-llama, replicas 2\.\.6' "the preloaded HPA"
has before '^  ScaledObject: +none in ml-serving$' "that no ScaledObject exists"
ok "before: HPA vllm-llama-cpu exists, no ScaledObject"
has admission '^  result: +ALLOWED, 4 JSONPatch ops' "the admission result"
has admission '^  warning: +HorizontalPodAutoscaler vllm-llama-cpu .*will be removed' "the HPA warning"
has admission '^  stored: +POST .*uid [0-9a-f-]+$' "the stored Deployment"
ok "admission: allowed with the HPA warning; the patched Deployment stored"
has after '^  HPA: +none in ml-serving \(vllm-llama-cpu removed\)' "the HPA gone"
# min 1 (the example's), or already the forecast's when a loop pass came first
has after '^  ScaledObject: +ml-serving/vllm-llama, replicas [0-9]+\.\.4, target Deployment/vllm-llama' "the ScaledObject"
has after '^  trigger: +prometheus tokens-per-second \(threshold 1500\)' "the tokens-per-second trigger"
uid=$(section admission | sed -n 's/^  stored: .* uid //p')
has after "^  owner: +Deployment/vllm-llama uid $uid \(the stored Deployment; controller, blockOwnerDeletion\)" "the ownerReference to the stored Deployment"
has after '^  removed-hpa: +vllm-llama-cpu kept for restore \(Deployment/vllm-llama, replicas 2\.\.6' "the kept HPA"
has after '^  event: +Normal +HPARemoved ' "the HPARemoved Event"
has after '^  event: +Normal +ScaledObjectApplied ' "the ScaledObjectApplied Event"
has after '^  leader: +serve \(.+\) holds Lease .*loop passes so far: [1-9]' "the leader and its loop"
has 'predictive step' '^  ScaledObject: +replicas [1-4]\.\.4 \(minReplicaCount set by the loop\)' "the predicted minReplicaCount"
has 'predictive step' '^  forecast: +peak [0-9.]+, confidence 0?\.[0-9]+' "the forecast"
has 'predictive step' '^  reason: +.*forecast peak' "the reason"
ok "predictive step: $(section 'predictive step' | head -1 | sed 's/^ *//')"
ok "after: HPA gone, ScaledObject 1..4 owned by the Deployment, HPA kept in removed-hpa, Events, leader loop running"
has opt-out '^  result: +ALLOWED' "the opt-out result"
has opt-out '^    remove +/metadata/labels/ml-autoscaling.io~1managed' "the managed label removed"
has 'after opt-out' '^  ScaledObject: +none in ml-serving \(vllm-llama deleted\)' "the ScaledObject deleted"
has 'after opt-out' '^  HPA: +ml-serving/vllm-llama-cpu -> Deployment/vllm-llama, replicas 2\.\.6, cpu 70% \(restored\)' "the HPA restored"
has 'after opt-out' '^  event: +Normal +ScaledObjectRemoved ' "the ScaledObjectRemoved Event"
has 'after opt-out' '^  event: +Normal +HPARestored ' "the HPARestored Event"
ok "opt-out: ScaledObject deleted, HPA vllm-llama-cpu restored (Events ScaledObjectRemoved, HPARestored)"
echo "$out" | grep -q '^serve stopped cleanly (SIGTERM, exit 0, Lease released); test API server and Prometheus stopped' || fail "API story did not stop cleanly: $out"
echo "$out" | grep -q '^API story: OK' || fail "no API story verdict: $out"
ok "API story: everything stopped cleanly, no process or file left"
