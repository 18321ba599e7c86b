#!/usr/bin/env bash
# The test API server's server-side apply is as strict as kube-apiserver where ml-autoscaling
# relies on it: managedFields per field manager; a field another manager owns with another value
# is a 409 conflict without force=true (naming the manager and the field) and changes hands with
# it; a field co-owned by another manager survives the apply that drops it; a field only the
# applier owned is removed when its apply drops it; ownerReferences merge by uid; a merge patch
# makes its manager (the User-Agent's product token) own what it changed.
# The same assertions run against a real API server (MLA_KUBE_URL): there the owners are real
# ConfigMaps (the garbage collector would delete a dependent of made-up owners).
. "$(dirname "$0")/lib_kube.sh"
kube_start_api
SSA=$(ns ssa)
ensure_ns "$SSA"
P=$(so_path "$SSA" web)
UA=u-a; UB=u-b; UC=u-c
if kube_is_real; then
  for c in a b c; do
    kapi POST "/api/v1/namespaces/$SSA/configmaps" "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"$c\"}}" >/dev/null
    [ "$(code)" = 201 ] || fail "ConfigMap $c: $(code) $(cat "$MLA_TMP/last.body")"
  done
  uid() { kapi GET "/api/v1/namespaces/$SSA/configmaps/$1" | jqr metadata.uid; }
  UA=$(uid a); UB=$(uid b); UC=$(uid c)
fi
apply() { # MANAGER FORCE BODY
  kapi PATCH "$P?fieldManager=$1&force=$2" "$3" application/apply-patch+yaml
}
hdr='"apiVersion":"keda.sh/v1alpha1","kind":"ScaledObject"'
trig='"triggers":[{"type":"prometheus","metadata":{"query":"up"}}]'
apply worker true "{$hdr,\"metadata\":{\"name\":\"web\",\"ownerReferences\":[{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"name\":\"a\",\"uid\":\"$UA\"}]},\"spec\":{\"scaleTargetRef\":{\"name\":\"web\"},\"minReplicaCount\":1,\"maxReplicaCount\":10,$trig}}" >/dev/null
[ "$(code)" = 201 ] || fail "create by apply: $(code) $(cat "$MLA_TMP/last.body")"
kube_is_real || control '{"gc":false}' # the owners here are made up
managers() { kapi GET "$P" | /usr/bin/python3 -c 'import json,sys; print(" ".join(sorted(e["manager"] for e in json.load(sys.stdin)["metadata"].get("managedFields") or [])))'; }
[ "$(managers)" = worker ] || fail "managedFields after create: $(kapi GET "$P")"
apply loop false "{$hdr,\"metadata\":{\"name\":\"web\",\"annotations\":{\"why\":\"x\"}},\"spec\":{\"minReplicaCount\":8,\"maxReplicaCount\":10}}" >/dev/null
[ "$(code)" = 409 ] || fail "conflict without force: $(code) $(cat "$MLA_TMP/last.body")"
msg=$(jqr message <"$MLA_TMP/last.body")
echo "$msg" | grep -qx 'Apply failed with 1 conflict: conflict with "worker": .spec.minReplicaCount' || fail "conflict message: $msg"
[ "$(kapi GET "$P" | jqr spec.minReplicaCount)" = 1 ] || fail "a refused apply changed the object"
ok "409 without force: $msg"
apply loop true "{$hdr,\"metadata\":{\"name\":\"web\",\"annotations\":{\"why\":\"x\"}},\"spec\":{\"minReplicaCount\":8,\"maxReplicaCount\":10}}" >/dev/null
[ "$(code)" = 200 ] && [ "$(kapi GET "$P" | jqr spec.minReplicaCount)" = 8 ] || fail "forced apply: $(cat "$MLA_TMP/last.body")"
[ "$(managers)" = "loop worker" ] || fail "managers: $(managers)"
ok "force=true: minReplicaCount 8 changes hands to loop; maxReplicaCount 10 (same value) is shared"
# the worker drops min and max: min is the loop's, max co-owned -> both stay; a second owner ref
apply worker true "{$hdr,\"metadata\":{\"name\":\"web\",\"ownerReferences\":[{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"name\":\"b\",\"uid\":\"$UB\"}]},\"spec\":{\"scaleTargetRef\":{\"name\":\"web\"},$trig}}" >/dev/null
so=$(kapi GET "$P")
[ "$(echo "$so" | jqr spec.minReplicaCount)" = 8 ] && [ "$(echo "$so" | jqr spec.maxReplicaCount)" = 10 ] || fail "dropped fields owned by another manager were removed: $so"
[ "$(echo "$so" | /usr/bin/python3 -c 'import json,sys; print(" ".join(r["uid"] for r in json.load(sys.stdin)["metadata"]["ownerReferences"]))')" = "$UB" ] || fail "ownerReferences: the applier's old uid should go: $so"
ok "fields the other manager owns survive the apply that drops them; the applier's dropped ownerReference goes"
kapi PATCH "$P" '{"metadata":{"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"b","uid":"'"$UB"'"},{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"'"$UC"'"}]}}' application/merge-patch+json >/dev/null
apply worker true "{$hdr,\"metadata\":{\"name\":\"web\",\"ownerReferences\":[{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"name\":\"b2\",\"uid\":\"$UB\"}]},\"spec\":{\"scaleTargetRef\":{\"name\":\"web\"},$trig}}" >/dev/null
so=$(kapi GET "$P")
[ "$(echo "$so" | /usr/bin/python3 -c 'import json,sys; print(" ".join(r["uid"]+":"+r["name"] for r in json.load(sys.stdin)["metadata"]["ownerReferences"]))')" = "$UB:b2 $UC:c" ] || fail "ownerReferences not merged by uid: $so"
echo "$so" | grep -q '"manager":"curl","operation":"Update"' || fail "merge patch manager not recorded: $so"
ok "ownerReferences merge by uid (u-b updated, u-c of another manager kept); the merge patch is recorded as manager curl (Update)"
# the loop applies an empty set: what only it owned goes (min 8, its annotation), max stays
apply loop true "{$hdr,\"metadata\":{\"name\":\"web\"}}" >/dev/null
so=$(kapi GET "$P")
[ "$(echo "$so" | jqr spec.minReplicaCount)" = null ] || fail "a field only the applier owned stayed: $so"
[ "$(echo "$so" | jqr metadata.annotations.why)" = null ] || fail "the applier's annotation stayed: $so"
[ "$(managers)" = "curl worker" ] || fail "the loop's empty entry stayed: $(managers)"
ok "an apply that drops a field only its manager owned removes it (and the manager's empty entry)"
