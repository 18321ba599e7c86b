#!/usr/bin/env bash
# The worker acts on what is stored, not on the admission event (PRODUCT.md point 5):
# - an opt-out admitted but never stored (a later webhook denied it), while status writes move
#   the Deployment's resourceVersion: the ScaledObject survives, the HPA is not restored, the
#   worker gives up after its bound; the stored opt-out is then acted on;
# - a 500 "failed to create typed patch object" from server-side apply: one ScaledObjectInvalid
#   Event, one attempt;
# - namespaces going away (403 NamespaceTerminating, 404 namespaces "x" not found): one attempt,
#   no retries; a Deployment with a deletionTimestamp: nothing written.
# Also mla-testapi's strictness these rely on (namespaces, status writes, no-op writes).
# On a real cluster the Deployment controller makes the status writes, the typed-patch 500 is
# the real one (a pollingInterval that is not a number) and the Deployment being deleted is held
# by a finalizer; namespaces going away need mla-testapi's namespaces control (said in one line).
. "$(dirname "$0")/lib_kube.sh"
kube_start_api
ns=$(ns st)
ensure_ns "$ns"
driver_start drv --no-loop --stored-give-up 1
dep_field() { kapi GET "$(dep_path "$1" "$2")" | jqr "$3"; }

# --- opted in, with an HPA that the apply removes
store_deployment $ns web
create_hpa $ns web-hpa web
send '{"namespace":"'"$ns"'","name":"web","op":"UPDATE","oldResourceVersion":"0","action":"apply"}' >/dev/null
wait_until 5 exists "$(so_path $ns web)" || fail "setup: ScaledObject not applied"
wait_until 5 gone "$(hpa_path $ns web-hpa)" || fail "setup: HPA not removed"
ev=$(kapi GET /api/v1/namespaces/$ns/events | /usr/bin/python3 -c '
import json,sys
for e in json.load(sys.stdin)["items"]:
    if e["reason"]=="HPARemoved": print(e["message"])')
[ -n "$ev" ] && [ "${#ev}" -lt 400 ] || fail "HPARemoved Event message: $ev"
echo "$ev" | grep -q 'ml-autoscaling.io/removed-hpa' || fail "HPARemoved does not say where the spec is kept: $ev"
echo "$ev" | grep -q 'maxReplicas' && fail "HPARemoved carries the HPA spec: $ev"
ok "HPARemoved Event is short (${#ev} bytes) and names where the spec is kept"

# --- the opt-out is admitted but never stored; status writes move the resourceVersion
rv0=$(dep_field $ns web metadata.resourceVersion); gen0=$(dep_field $ns web metadata.generation)
send "{\"namespace\":\"$ns\",\"name\":\"web\",\"op\":\"UPDATE\",\"oldResourceVersion\":\"$rv0\",\"action\":\"remove\"}" >/dev/null
if ! kube_is_real; then
  for _ in 1 2 3 4 5 6; do control '{"statusWrite":{"namespace":"'"$ns"'","name":"web"}}'; sleep 0.2; done
  rv1=$(dep_field $ns web metadata.resourceVersion)
  [ "$rv1" != "$rv0" ] && [ "$(dep_field $ns web metadata.generation)" = "$gen0" ] \
    || fail "status writes should move the resourceVersion ($rv0 -> $rv1), not the generation"
  ok "status writes moved the resourceVersion $rv0 -> $rv1 (generation $gen0 unchanged)"
fi
out=$(send '{"cmd":"wait","timeoutMs":6000}')
[ "$(echo "$out" | jqr idle)" = true ] || fail "the worker did not give up: $out"
exists "$(so_path $ns web)" || fail "ScaledObject deleted for an opt-out that was never stored"
gone "$(hpa_path $ns web-hpa)" || fail "HPA restored for an opt-out that was never stored"
grep -q "$ns/web: giving up" "$MLA_TMP/drv.err" || fail "no give-up log line"
ok "opt-out admitted, never stored: ScaledObject kept, HPA not restored, gave up after the bound"

# --- the same opt-out, stored: now it is acted on (a status write first changes nothing)
send "{\"namespace\":\"$ns\",\"name\":\"web\",\"op\":\"UPDATE\",\"oldResourceVersion\":\"$rv0\",\"action\":\"remove\"}" >/dev/null
kube_is_real || control '{"statusWrite":{"namespace":"'"$ns"'","name":"web"}}'
sleep 0.3
exists "$(so_path $ns web)" || fail "ScaledObject deleted before the opt-out was stored"
store_opt_out $ns web
wait_until 5 gone "$(so_path $ns web)" || fail "stored opt-out: ScaledObject not deleted"
wait_until 5 exists "$(hpa_path $ns web-hpa)" || fail "stored opt-out: HPA not restored"
ok "the stored opt-out deletes the ScaledObject and restores the HPA"

# --- a Deployment being deleted: nothing is written (mla-testapi keeps a deletionTimestamp set
# on create; a real server sets it on DELETE while a finalizer holds the object)
body=$(deployment $ns dying | jq -c '.metadata.deletionTimestamp = "2026-01-01T00:00:00Z" | .metadata.finalizers = ["example.com/hold"]')
kapi POST /apis/apps/v1/namespaces/$ns/deployments "$body" >/dev/null
[ "$(code)" = 201 ] || fail "store the dying Deployment: $(code) $(cat "$MLA_TMP/last.body")"
kube_is_real && kapi DELETE "$(dep_path $ns dying)" >/dev/null
[ "$(dep_field $ns dying metadata.deletionTimestamp)" != null ] || fail "no deletionTimestamp on the dying Deployment"
send '{"namespace":"'"$ns"'","name":"dying","op":"UPDATE","oldResourceVersion":"0","action":"apply"}' >/dev/null
send '{"cmd":"wait","timeoutMs":3000}' | grep -q true || fail "worker busy with a Deployment being deleted"
gone "$(so_path $ns dying)" || fail "ScaledObject written for a Deployment being deleted"
grep -q "$ns/dying: the Deployment is being deleted" "$MLA_TMP/drv.err" || fail "no log line for the deleting Deployment"
ok "a Deployment with a deletionTimestamp is skipped"
if kube_is_real; then  # let it go, or the namespace's deletion at exit waits for the finalizer
  kapi PATCH "$(dep_path $ns dying)" '{"metadata":{"finalizers":null}}' application/merge-patch+json >/dev/null
fi

# --- 500 "failed to create typed patch object" (a pollingInterval that is not a number, as
# kube-apiserver and mla-testapi's CRD schema both refuse it): invalid, one attempt
store_deployment $ns typed
so_typed=$(jq -c '.metadata.name = "typed" | .spec.scaleTargetRef.name = "typed" | .spec.pollingInterval = "often"' "$FIX/so-template.json")
send '{"namespace":"'"$ns"'","name":"typed","op":"UPDATE","oldResourceVersion":"0","action":"apply","scaledObject":'"$so_typed"'}' >/dev/null
send '{"cmd":"wait","timeoutMs":5000}' | grep -q true || fail "typed patch error retried"
wait_until 3 has_event "$ns" ScaledObjectInvalid Warning || fail "no ScaledObjectInvalid Event"
events "$ns" | jq -e 'any(.items[]; .reason == "ScaledObjectInvalid" and (.message | test("failed to create typed patch object")))' >/dev/null \
  || fail "ScaledObjectInvalid does not say why: $(events "$ns")"
gone "$(so_path $ns typed)" || fail "a ScaledObject the server refused exists"
ok "500 failed to create typed patch object: Warning Event ScaledObjectInvalid, not retried"

# --- a write that changes nothing keeps the resourceVersion (kube-apiserver and mla-testapi)
rv=$(dep_field $ns typed metadata.resourceVersion)
kapi PATCH "$(dep_path $ns typed)" '{"metadata":{"labels":{"app":"typed"}}}' application/merge-patch+json >/dev/null
[ "$(code)" = 200 ] && [ "$(dep_field $ns typed metadata.resourceVersion)" = "$rv" ] || fail "a no-op write moved the resourceVersion"
ok "a no-op write keeps resourceVersion $rv"

if testapi_only "namespaces going away and the injected typed-patch error need mla-testapi's controls"; then
  # --- the injected 500 (applyTypedError) on a valid ScaledObject: invalid, one attempt
  store_deployment $ns typed2
  clearlog
  control '{"applyTypedError":5}'
  send '{"namespace":"st","name":"typed2","op":"UPDATE","oldResourceVersion":"0","action":"apply"}' >/dev/null
  send '{"cmd":"wait","timeoutMs":5000}' | grep -q true || fail "typed patch error retried"
  n=$(apilog | grep -o '"verb":"PATCH","path":"/apis/keda.sh/v1alpha1/namespaces/st/scaledobjects/typed2"' | wc -l)
  [ "$n" = 1 ] || fail "typed patch error: $n attempts"
  ok "injected 500 failed to create typed patch object: one attempt"
  control '{"applyTypedError":0}'

  # --- mla-testapi: namespaces, no-op writes
  store_deployment gone web
  store_deployment term web
  control '{"strictNamespaces":true,"namespaces":{"st":"Active","term":"Terminating"}}'
  kapi POST /apis/apps/v1/namespaces/nowhere/deployments "$(deployment nowhere x)" >/dev/null
  [ "$(code)" = 404 ] && grep -q 'namespaces \\"nowhere\\" not found' "$MLA_TMP/last.body" || fail "unknown namespace: $(code) $(cat "$MLA_TMP/last.body")"
  kapi POST /apis/apps/v1/namespaces/term/deployments "$(deployment term x)" >/dev/null
  [ "$(code)" = 403 ] && grep -q 'NamespaceTerminating' "$MLA_TMP/last.body" || fail "terminating namespace: $(code) $(cat "$MLA_TMP/last.body")"
  ok "mla-testapi: unknown namespace 404, Terminating 403 NamespaceTerminating"

  # --- the worker stops at once when the namespace is going away
  clearlog
  send '{"namespace":"term","name":"web","op":"UPDATE","oldResourceVersion":"0","action":"apply"}' >/dev/null
  send '{"namespace":"gone","name":"web","op":"UPDATE","oldResourceVersion":"0","action":"apply"}' >/dev/null
  send '{"cmd":"wait","timeoutMs":3000}' | grep -q true || fail "worker retries in a namespace going away"
  for n in term gone; do
    c=$(apilog | grep -o "\"verb\":\"PATCH\",\"path\":\"/apis/keda.sh/v1alpha1/namespaces/$n/scaledobjects/web\"" | wc -l)
    [ "$c" = 1 ] || fail "namespace $n: $c apply attempts"
  done
  grep -q 'term/web: .*the namespace is going away' "$MLA_TMP/drv.err" || fail "no log line (term)"
  grep -q 'gone/web: .*the namespace is going away' "$MLA_TMP/drv.err" || fail "no log line (gone)"
  ok "403 NamespaceTerminating and 404 namespaces not found: one attempt each, no retry"
  control '{"reset":true}'
fi
driver_stop
m="$MLA_TMP/drv.metrics"
[ "$(metric "$m" mla_worker_retries_total)" = 0 ] || fail "retries: $(grep mla_worker_retries "$m")"
n=$(metric "$m" 'mla_kube_requests_total{verb="PATCH",code="500"}')
want=1; kube_is_real || want=2
[ "$n" = "$want" ] || fail "typed patch errors: $n apply attempts (want $want, one each)"
if kube_is_real; then
  [ "$(metric "$m" mla_worker_gave_up_total)" = 2 ] || fail "gave_up metric: $(grep gave_up "$m")"
  ok "metrics: no retries; one apply answered 500; gave up twice (the unstored opt-out, the invalid apply)"
else
  [ "$(metric "$m" mla_worker_namespace_gone_total)" = 2 ] || fail "namespace_gone metric: $(grep namespace_gone "$m")"
  [ "$(metric "$m" mla_worker_gave_up_total)" = 3 ] || fail "gave_up metric: $(grep gave_up "$m")"
  ok "metrics: no retries; two applies answered 500 once each; gave up 3 times (the unstored opt-out, the invalid applies); 2 namespaces gone"
fi
