#!/usr/bin/env bash
# The API server is as strict as kube-apiserver with KEDA's CRD installed, and answers alike (the
# same assertions run against mla-testapi and, with MLA_KUBE_URL, a real kube-apiserver):
# ScaledObjects are checked against the CRD's schema (422 Invalid with one cause per field;
# unknown fields and nulls pruned); a server-side apply whose values do not fit the schema's
# types is refused with 500 "failed to create typed patch object"; custom resources refuse a
# strategic merge patch (415) and take JSON Patch. Nothing refused is stored.
. "$(dirname "$0")/lib_kube.sh"
kube_start_api
S=$(ns strict)
ensure_ns "$S"
C=/apis/keda.sh/v1alpha1/namespaces/$S/scaledobjects
so() { # NAME SPEC-JSON -> a ScaledObject
  echo '{"apiVersion":"keda.sh/v1alpha1","kind":"ScaledObject","metadata":{"name":"'"$1"'"},"spec":'"$2"'}'
}
good='{"scaleTargetRef":{"name":"web"},"minReplicaCount":1,"triggers":[{"type":"prometheus","metadata":{"query":"up","threshold":"5"}}]}'
cause() { jq -r --arg f "$1" '[.details.causes[] | select(.field == $f)][0] | "\(.reason): \(.message)"' "$MLA_TMP/last.body"; }
msg() { jqr message <"$MLA_TMP/last.body"; }

# --- CRD schema on create: types, required fields
kapi POST "$C" "$(so bad "${good/\"minReplicaCount\":1/\"minReplicaCount\":\"three\"}")" >/dev/null
[ "$(code)" = 422 ] && [ "$(jqr reason <"$MLA_TMP/last.body")" = Invalid ] || fail "type error: $(code) $(msg)"
[ "$(cause spec.minReplicaCount)" = 'FieldValueTypeInvalid: Invalid value: "string": spec.minReplicaCount in body must be of type integer: "string"' ] \
  || fail "type error cause: $(cat "$MLA_TMP/last.body")"
msg | grep -qF 'ScaledObject.keda.sh "bad" is invalid: [spec.minReplicaCount: Invalid value: "string"' || fail "message: $(msg)"
[ "$(jqr details.kind <"$MLA_TMP/last.body")/$(jqr details.group <"$MLA_TMP/last.body")" = ScaledObject/keda.sh ] || fail "details"
ok "type error -> 422: $(msg | cut -c1-150)..."
kapi POST "$C" "$(so bad '{"scaleTargetRef":{"name":"web"},"minReplicaCount":1.5}')" >/dev/null
[ "$(code)" = 422 ] || fail "missing triggers: $(code) $(msg)"
[ "$(cause spec.triggers)" = "FieldValueRequired: Required value" ] || fail "required cause: $(cat "$MLA_TMP/last.body")"
[ "$(cause spec.minReplicaCount)" = 'FieldValueTypeInvalid: Invalid value: "number": spec.minReplicaCount in body must be of type integer: "number"' ] \
  || fail "1.5 for an integer: $(cat "$MLA_TMP/last.body")"
gone "$C/bad" || fail "an invalid ScaledObject was stored"
ok "missing spec.triggers and a fraction for an integer -> 422 with both causes; nothing stored"

# --- unknown fields and nulls are pruned, not refused (POST/PUT/patches)
kapi POST "$C" "$(so web "${good/\{\"scaleTargetRef\"/{\"foo\":1,\"maxReplicaCount\":null,\"scaleTargetRef\"}")" >/dev/null
[ "$(code)" = 201 ] || fail "unknown field: $(code) $(msg)"
spec=$(kapi GET "$C/web" | jqr spec)
echo "$spec" | jq -e 'has("foo") or has("maxReplicaCount") | not' >/dev/null || fail "not pruned: $spec"
ok "unknown field spec.foo and null maxReplicaCount pruned on create: $spec"
rv=$(kapi GET "$C/web" | jqr metadata.resourceVersion)

# --- server-side apply: the typed patch object
apply() { kapi PATCH "$C/$1?fieldManager=probe&force=true" "$2" application/apply-patch+yaml >/dev/null; }
apply typed "$(so typed "${good/\"minReplicaCount\":1/\"minReplicaCount\":\"three\"}")"
[ "$(code)" = 500 ] || fail "apply type error: $(code) $(msg)"
[ "$(msg)" = "failed to create typed patch object (/typed; keda.sh/v1alpha1, Kind=ScaledObject): .spec.minReplicaCount: expected numeric (int or float), got string" ] \
  || fail "apply type error message: $(msg)"
m=$(msg)
gone "$C/typed" || fail "stored despite the 500"
ok "apply with a string for an integer -> 500 $m"
apply typed "$(so typed '{"scaleTargetRef":"web","minReplicaCount":"three","triggers":[{"type":"cpu","metadata":{"value":50}}]}')"
[ "$(code)" = 500 ] || fail "apply 3 type errors: $(code)"
# kube-apiserver lists the errors in Go's map order, which varies from one request to the next:
# the first line, then the errors in any order
[ "$(msg | head -1)" = "failed to create typed patch object (/typed; keda.sh/v1alpha1, Kind=ScaledObject): errors:" ] \
  && [ "$(msg | tail -n +2 | sort)" = "$(printf '  .spec.minReplicaCount: expected numeric (int or float), got string\n  .spec.scaleTargetRef: expected map, got &{web}\n  .spec.triggers[0].metadata.value: expected string, got &value.valueUnstructured{Value:50}')" ] \
  || fail "apply 3 type errors message: $(msg)"
ok "apply with three type errors -> 500 listing them, sorted by field"
apply web "$(so web "${good/\{\"scaleTargetRef\"/{\"bar\":true,\"scaleTargetRef\"}")"
[ "$(code)" = 500 ] && [ "$(msg)" = "failed to create typed patch object (/web; keda.sh/v1alpha1, Kind=ScaledObject): .spec.bar: field not declared in schema" ] \
  || fail "apply unknown field: $(code) $(msg)"
ok "apply with an undeclared field -> 500 (apply does not prune)"
apply part "$(so part '{"scaleTargetRef":{"name":"part"}}')"
[ "$(code)" = 422 ] && [ "$(cause spec.triggers)" = "FieldValueRequired: Required value" ] || fail "apply without triggers: $(code) $(msg)"
gone "$C/part" || fail "stored despite the 422"
ok "apply of a well-typed but incomplete ScaledObject -> 422 (the schema check after the typed one)"
[ "$(kapi GET "$C/web" | jqr metadata.resourceVersion)" = "$rv" ] || fail "a refused apply changed the object"

# --- patch types on a custom resource
kapi PATCH "$C/web" '{"spec":{"minReplicaCount":2}}' application/strategic-merge-patch+json >/dev/null
[ "$(code)" = 415 ] && [ "$(jqr reason <"$MLA_TMP/last.body")" = UnsupportedMediaType ] || fail "SMP on a CR: $(code) $(msg)"
[ "$(msg)" = "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml" ] \
  || fail "415 message: $(msg)"
ok "strategic merge patch on a ScaledObject -> 415: $(msg)"
kapi PATCH "$C/web" '[{"op":"test","path":"/spec/minReplicaCount","value":1},{"op":"replace","path":"/spec/minReplicaCount","value":3},{"op":"add","path":"/metadata/annotations","value":{"team":"a/b"}},{"op":"add","path":"/metadata/annotations/x~1y","value":"z"}]' \
  application/json-patch+json >/dev/null
[ "$(code)" = 200 ] || fail "JSON Patch: $(code) $(msg)"
o=$(kapi GET "$C/web")
[ "$(echo "$o" | jqr spec.minReplicaCount)" = 3 ] && [ "$(echo "$o" | jqr metadata.annotations.x/y)" = z ] \
  && [ "$(echo "$o" | jqr metadata.annotations.team)" = a/b ] || fail "JSON Patch result: $o"
ok "JSON Patch (test, replace, add, ~1 escapes) applied"
rv=$(echo "$o" | jqr metadata.resourceVersion)
for p in '[{"op":"test","path":"/spec/minReplicaCount","value":9}]' '[{"op":"replace","path":"/spec/nope/x","value":9}]' \
         '[{"op":"remove","path":"/spec/pollingInterval"}]'; do
  kapi PATCH "$C/web" "$p" application/json-patch+json >/dev/null
  [ "$(code)" = 422 ] && [ "$(msg)" = "the server rejected our request due to an error in our request" ] || fail "JSON Patch $p: $(code) $(msg)"
done
ok "JSON Patch that does not apply (failed test, missing path) -> 422: $(msg)"
kapi PATCH "$C/web" '[{"op":"replace","path":"/spec/minReplicaCount","value":"x"}]' application/json-patch+json >/dev/null
[ "$(code)" = 422 ] && [ "$(cause spec.minReplicaCount | cut -d: -f1)" = FieldValueTypeInvalid ] || fail "JSON Patch type error: $(code) $(msg)"
kapi PATCH "$C/web" '{"spec":{"minReplicaCount":"x"}}' application/merge-patch+json >/dev/null
[ "$(code)" = 422 ] && [ "$(cause spec.minReplicaCount | cut -d: -f1)" = FieldValueTypeInvalid ] || fail "merge patch type error: $(code) $(msg)"
kapi PATCH "$C/web" '{"op":"replace"}' application/json-patch+json >/dev/null
[ "$(code)" = 400 ] || fail "JSON Patch not a list: $(code) $(msg)"
[ "$(kapi GET "$C/web" | jqr metadata.resourceVersion)" = "$rv" ] || fail "a refused patch changed the object"
ok "a patch making the object invalid -> 422 (schema), a patch that is not a list -> 400; object unchanged"
