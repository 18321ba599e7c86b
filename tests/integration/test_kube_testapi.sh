#!/usr/bin/env bash
# mla-testapi itself (the tests and the demo rely on it): --load, label selectors, 401,
# resourceVersion conflicts, merge patch, server-side apply keeping others' fields, ownerReference
# garbage collection, and KEDA's webhook rules with KEDA's messages.
. "$(dirname "$0")/lib_kube.sh"
kube_is_real && { echo "skip: tests mla-testapi itself"; exit 0; }
kube_start_api --load "$FIX/preload.yaml"
names() { /usr/bin/python3 -c 'import json,sys; print(" ".join(sorted(i["metadata"]["name"] for i in json.load(sys.stdin)["items"])))'; }
[ "$(kapi GET /apis/apps/v1/namespaces/demo/deployments | names)" = "batch shop" ] || fail "--load"
[ "$(kapi GET /apis/autoscaling/v2/horizontalpodautoscalers | names)" = batch ] || fail "--load List"
ok "--load: a YAML stream and a List loaded"
[ "$(kapi GET '/apis/apps/v1/deployments?labelSelector=ml-autoscaling.io%2Fmanaged%3Dtrue' | names)" = shop ] || fail "equality selector"
[ "$(kapi GET '/apis/apps/v1/deployments?labelSelector=tier%20in%20(web,jobs),app!=shop' | names)" = batch ] || fail "set selector"
[ "$(kapi GET '/apis/apps/v1/deployments?labelSelector=!tier' | names)" = "" ] || fail "!key"
kapi GET '/apis/apps/v1/deployments?labelSelector=tier%20in%20web' >/dev/null; [ "$(code)" = 400 ] || fail "bad selector accepted"
ok "label selectors: =, in, !=, !key; malformed -> 400"
curl -s -o /dev/null -w '%{http_code}' "$API/apis/apps/v1/deployments" | grep -qx 401 || fail "no token accepted"
ok "no bearer token -> 401"
d=$(kapi GET "$(dep_path demo shop)")
rv=$(echo "$d" | jqr metadata.resourceVersion)
d1=$(echo "$d" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); d["metadata"]["labels"]["put"]="1"; print(json.dumps(d))')
kapi PUT "$(dep_path demo shop)" "$d1" >/dev/null; [ "$(code)" = 200 ] || fail "PUT"
kapi PUT "$(dep_path demo shop)" "$d1" >/dev/null; [ "$(code)" = 409 ] || fail "stale PUT accepted"
grep -q 'the object has been modified' "$MLA_TMP/last.body" || fail "409 message"
[ "$(kapi GET "$(dep_path demo shop)" | jqr metadata.uid)" = "$(echo "$d" | jqr metadata.uid)" ] || fail "uid changed"
ok "PUT with the read resourceVersion works once; the stale one -> 409 Conflict (rv was $rv)"
kapi POST /apis/apps/v1/namespaces/demo/deployments "$d" >/dev/null; [ "$(code)" = 409 ] || fail "duplicate create"
grep -q 'deployments.apps \\"shop\\" already exists' "$MLA_TMP/last.body" || fail "AlreadyExists message"
ok "create of an existing name -> 409 AlreadyExists"
uid=$(echo "$d" | jqr metadata.uid)
so='{"apiVersion":"keda.sh/v1alpha1","kind":"ScaledObject","metadata":{"name":"shop","annotations":{"mine":"1"},"ownerReferences":[{"apiVersion":"apps/v1","kind":"Deployment","name":"shop","uid":"'$uid'","controller":true}]},"spec":{"scaleTargetRef":{"name":"shop"},"minReplicaCount":1,"triggers":[{"type":"cpu","metadata":{"value":"50"}}]}}'
kapi PATCH "$(so_path demo shop)?fieldManager=me" "$so" application/apply-patch+yaml >/dev/null; [ "$(code)" = 201 ] || fail "apply create: $(cat "$MLA_TMP/last.body")"
kapi PATCH "$(so_path demo shop)" '{"metadata":{"annotations":{"autoscaling.keda.sh/paused":"true"}}}' application/merge-patch+json >/dev/null
kapi PATCH "$(so_path demo shop)?fieldManager=me" "${so/\"mine\":\"1\"/\"other\":\"2\"}" application/apply-patch+yaml >/dev/null
a=$(kapi GET "$(so_path demo shop)" | jqr metadata.annotations)
echo "$a" | grep -q '"autoscaling.keda.sh/paused":"true"' && echo "$a" | grep -q '"other":"2"' && ! echo "$a" | grep -q '"mine"' \
  || fail "apply semantics: $a"
ok "server-side apply: the manager's dropped field removed, another writer's annotation kept: $a"
kapi PATCH "$(so_path demo shop)" '{}' application/apply-patch+yaml >/dev/null; [ "$(code)" = 400 ] || fail "apply without fieldManager"
kapi PATCH "$(so_path demo shop)" '{}' text/plain >/dev/null; [ "$(code)" = 415 ] || fail "text/plain patch should be 415"
ok "apply without fieldManager -> 400; unsupported patch type -> 415 (CRD schemas, JSON Patch: test_kube_strict)"
deny() { # NAME BODY EXPECTED-TEXT
  kapi POST /apis/keda.sh/v1alpha1/namespaces/demo/scaledobjects "$2" >/dev/null
  [ "$(code)" = 403 ] && grep -qF "$3" "$MLA_TMP/last.body" || fail "$1: $(code) $(cat "$MLA_TMP/last.body")"
  ok "KEDA rule $1: $(jqr message <"$MLA_TMP/last.body")"
}
deny "other HPA" '{"metadata":{"name":"b"},"spec":{"scaleTargetRef":{"name":"batch"},"minReplicaCount":1,"triggers":[{"type":"prometheus","metadata":{}}]}}' \
  "the workload 'batch' of type 'apps/v1.Deployment' is already managed by the hpa 'batch'"
deny "other ScaledObject" '{"metadata":{"name":"shop2"},"spec":{"scaleTargetRef":{"name":"shop"},"minReplicaCount":1,"triggers":[{"type":"prometheus","metadata":{}}]}}' \
  "is already managed by the ScaledObject 'shop'"
kapi DELETE "$(hpa_path demo batch)" >/dev/null
deny "container without request" '{"metadata":{"name":"b"},"spec":{"scaleTargetRef":{"name":"batch"},"minReplicaCount":1,"triggers":[{"type":"cpu","metadata":{"value":"50"}}]}}' \
  "the container worker doesn't have the cpu request defined"
deny "cpu only with minReplicaCount missing" '{"metadata":{"name":"s"},"spec":{"scaleTargetRef":{"name":"nothere"},"triggers":[{"type":"memory","metadata":{"value":"50"}}]}}' \
  'deployments.apps \"nothere\" not found'
kapi POST '/apis/keda.sh/v1alpha1/namespaces/demo/scaledobjects?dryRun=All' '{"metadata":{"name":"s"},"spec":{"scaleTargetRef":{"name":"nothere"},"triggers":[{"type":"memory","metadata":{"value":"50"}}]}}' >/dev/null
grep -qF "minReplica is 0" "$MLA_TMP/last.body" || fail "minReplica 0 rule: $(cat "$MLA_TMP/last.body")"
ok "KEDA rule cpu/memory only with minReplicaCount missing (dryRun skips the workload lookup): $(jqr message <"$MLA_TMP/last.body")"
long=$(printf 'x%.0s' $(seq 1 60))
deny "derived HPA name too long" '{"metadata":{"name":"'$long'"},"spec":{"scaleTargetRef":{"name":"batch"},"minReplicaCount":1,"triggers":[{"type":"prometheus","metadata":{}}]}}' \
  "keda-hpa-$long is longer than 63"
kapi DELETE "$(dep_path demo shop)" >/dev/null
if testapi_only "the garbage collector's timing"; then
  exists "$(so_path demo shop)" || fail "garbage collection is synchronous (Kubernetes' is not)"
fi
wait_until 5 gone "$(so_path demo shop)" || fail "owned ScaledObject not garbage-collected"
ok "deleting the Deployment deleted the ScaledObject it owns (asynchronously, as the garbage collector does)"
if testapi_only "a dependent whose owner never existed"; then
  kapi POST /apis/keda.sh/v1alpha1/namespaces/demo/scaledobjects '{"metadata":{"name":"stray","ownerReferences":[{"apiVersion":"apps/v1","kind":"Deployment","name":"never","uid":"00000000-0000-4000-8000-00000000beef"}]},"spec":{"scaleTargetRef":{"name":"never"},"triggers":[{"type":"prometheus","metadata":{"query":"up"}}]}}' >/dev/null
  [ "$(code)" = 201 ] || fail "stray: $(cat "$MLA_TMP/last.body")"
  wait_until 5 gone "$(so_path demo stray)" || fail "a dependent whose owner never existed was not collected"
  ok "a dependent whose owner never existed is collected too"
fi
