#!/usr/bin/env bash
# Bad input to the webhook over TLS: every case gets a clear answer, the server never crashes,
# and a normal review still works afterwards.
set -u
. "$(dirname "$0")/webhook_lib.sh"

wh_start --max-body-bytes 65536 --connection-timeout 2 --threads 2
T=$MLA_TMP

# expect CODE BODY_REGEX LABEL -- curl args (path first)
expect() {
  local code=$1 re=$2 label=$3; shift 4
  local out
  out=$(wh_curl "$@" -w '\n%{http_code}' 2>&1) || true
  local got=${out##*$'\n'} body=${out%$'\n'*}
  [ "$got" = "$code" ] || fail "$label: HTTP $got, want $code (body: ${body:0:200})"
  echo "$body" | grep -Eq -- "$re" || fail "$label: body does not match /$re/: ${body:0:300}"
  ok "$label -> $code"
}
J=(-H 'Content-Type: application/json')

# Not AdmissionReview-level: HTTP 400 with a JSON error.
expect 400 '"error":"empty body' "empty body" -- /mutate "${J[@]}" --data-binary ''
expect 400 '"error":"body is not a JSON object' "non-JSON" -- /mutate "${J[@]}" -d 'hello'
expect 400 '"error":"body is not valid JSON' "truncated JSON" -- /mutate "${J[@]}" -d '{"apiVersion":'
expect 400 'not an AdmissionReview' "JSON that is not an AdmissionReview" -- /mutate "${J[@]}" -d '{"kind":"Pod","apiVersion":"v1"}'
expect 400 'unsupported AdmissionReview apiVersion \\"admission.k8s.io/v1beta1\\"' "wrong apiVersion" -- \
  /mutate "${J[@]}" -d '{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"u1"}}'
expect 400 'has no request' "no request" -- /mutate "${J[@]}" -d '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}'
expect 400 'request has no uid' "missing uid" -- /mutate "${J[@]}" \
  -d '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"kind":{"kind":"Deployment"},"operation":"CREATE"}}'

# AdmissionReview-level: a uid is known, so the answer is a review denying with a message.
out=$(wh_curl /mutate "${J[@]}" -d '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-bad","operation":"CREATE"}}')
echo "$out" | grep -q '"uid":"u-bad","allowed":false,"status":{"message":"ml-autoscaling: malformed AdmissionReview: request.kind' \
  || fail "malformed request with uid: $out"
echo "$out" | grep -q '"code":400' || fail "malformed request code: $out"
ok "malformed request with a uid -> 200 review, allowed=false, status 400 with message"

# Deep nesting: refused by the depth check, no stack overflow, far beyond cJSON's 1000 limit too.
/usr/bin/python3 -c "print('{\"a\":' + '['*200 + ']'*200 + '}')" > "$T/deep200.json"
/usr/bin/python3 -c "print('{\"a\":' + '['*30000 + ']'*30000 + '}')" > "$T/deep30k.json"
expect 400 'nested deeper than 128' "JSON nested 200 deep" -- /mutate "${J[@]}" --data-binary "@$T/deep200.json"
expect 400 'nested deeper than 128' "JSON nested 30000 deep" -- /mutate "${J[@]}" --data-binary "@$T/deep30k.json"

# Size limit: Content-Length checked before the body is read; chunked capped while streaming.
head -c 10485760 /dev/zero | tr '\0' ' ' > "$T/big.json"
start=$(date +%s%N)
expect 413 'larger than the limit of 65536 bytes' "10 MiB body with Content-Length" -- /mutate "${J[@]}" --data-binary "@$T/big.json"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$ms" -lt 3000 ] || fail "413 took ${ms}ms: the body was read"
out=$(wh_curl /mutate "${J[@]}" -H 'Transfer-Encoding: chunked' --data-binary "@$T/big.json" -w '%{http_code}' 2>&1) || true
case "$out" in *413*|*"Empty reply"*|*"reset"*|*"Send failure"*|*"SSL_write"*|*"Recv failure"*) ;;
  *) fail "chunked 10 MiB body was not refused: ${out:0:200}" ;; esac
grep -q 'request body over 65536 bytes' "$WH_LOG" || fail "no log line for the chunked over-limit body"
ok "10 MiB chunked body -> connection closed at the limit"

# Content-Type, method, path.
expect 415 'Content-Type must be application/json, got text/plain' "wrong Content-Type" -- /mutate -H 'Content-Type: text/plain' -d '{}'
expect 415 'got none' "no Content-Type" -- /mutate -H 'Content-Type:' -d '{}'
expect 405 'accepts POST only' "GET /mutate" -- /mutate
hdr=$(wh_curl /mutate -o /dev/null -D - 2>&1)
echo "$hdr" | grep -qi '^Allow: POST' || fail "405 without Allow header: $hdr"
expect 405 'GET and HEAD only' "POST /healthz" -- /healthz -d x
expect 404 'not found' "unknown path" -- /nope
expect 404 'not found' "path with query-like suffix" -- /mutate/x

# Regression (issue 12): one annotation crashed the request thread (an unknown time zone beside
# business hours). Now a clear denial naming the annotation, and the server lives on.
tzbad='{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-tz","kind":{"group":"apps","version":"v1","kind":"Deployment"},"operation":"CREATE","namespace":"ml","object":{"metadata":{"name":"tz","namespace":"ml","annotations":{"ml-autoscaling.io/enabled":"true","ml-autoscaling.io/business-hours":"Mon-Fri 09:00-18:00","ml-autoscaling.io/timezone":"Nowhere/Invalid"}},"spec":{"template":{"spec":{"containers":[{"name":"a","image":"b"}]}}}}}}'
out=$(wh_curl /mutate "${J[@]}" -d "$tzbad") || fail "unknown time zone with business hours: no answer (crash?)"
echo "$out" | grep -q '"uid":"u-tz","allowed":false' || fail "unknown time zone: not denied: $out"
echo "$out" | grep -q 'ml-autoscaling.io/timezone: \\"Nowhere/Invalid\\" is not a known time zone' \
  || fail "unknown time zone: message does not name the annotation: $out"
[ "$(wh_curl /healthz)" = ok ] || fail "server down after the time-zone review"
ok "unknown time zone beside business hours -> denied naming the annotation; server alive"

# Not a Deployment, and DELETE/CONNECT: allowed, no patch.
pod='{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-pod","kind":{"group":"","version":"v1","kind":"Pod"},"operation":"CREATE","object":{"metadata":{"name":"p","annotations":{"ml-autoscaling.io/enabled":"true"}}}}}'
out=$(wh_curl /mutate "${J[@]}" -d "$pod")
[ "$out" = '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"u-pod","allowed":true}}' ] \
  || fail "Pod: $out"
ok "non-Deployment kind -> allowed, no patch"
for op in DELETE CONNECT; do
  r='{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-'$op'","kind":{"group":"apps","version":"v1","kind":"Deployment"},"operation":"'$op'","object":null,"oldObject":{"metadata":{"name":"d","annotations":{"ml-autoscaling.io/enabled":"true"}}}}}'
  out=$(wh_curl /mutate "${J[@]}" -d "$r")
  [ "$out" = '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"u-'$op'","allowed":true}}' ] \
    || fail "$op: $out"
  ok "$op of an opted-in Deployment -> allowed, no patch"
done

# Plain HTTP and plain TCP to the TLS port: refused, nothing hangs, the server keeps serving.
out=$(curl -sS -m 5 "http://127.0.0.1:$WH_PORT/healthz" 2>&1); rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 28 ] || fail "plain HTTP: rc=$rc $out"
ok "plain HTTP to the TLS port -> connection closed (curl rc $rc), no hang"
# Two silent TCP clients (never send a TLS hello) hold connections while a normal request runs.
exec 7<>"/dev/tcp/127.0.0.1/$WH_PORT"
exec 8<>"/dev/tcp/127.0.0.1/$WH_PORT"
[ "$(wh_curl /healthz)" = ok ] || fail "healthz while silent clients are connected"
ok "silent TCP clients do not block other requests"
start=$(date +%s)
timeout 10 cat <&7 >/dev/null; rc=$?
[ "$rc" -ne 124 ] || fail "silent client was not dropped within 10s (connection timeout 2s)"
ok "silent TCP client dropped after $(( $(date +%s) - start ))s (--connection-timeout 2)"
exec 7<&- 8<&-

# Slow client: sends headers then trickles the body slower than the timeout allows.
( printf 'POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{'; sleep 6 ) \
  | timeout 10 openssl s_client -quiet -connect "127.0.0.1:$WH_PORT" -CAfile "$CERTS/ca.crt" >"$T/slow.out" 2>&1
rc=$?
[ "$rc" -ne 124 ] || fail "slow client not cut off"
ok "slow client cut off by the connection timeout (no response to a half body)"

# Garbage after the TLS handshake: MHD answers 400 (or closes); the client is not left hanging.
printf 'GARBAGE\r\n\r\n' | timeout 5 openssl s_client -quiet -connect "127.0.0.1:$WH_PORT" -CAfile "$CERTS/ca.crt" >"$T/garbage.out" 2>&1
rc=$?
[ "$rc" -ne 124 ] || fail "garbage inside TLS: the connection hung"
if grep -q 'HTTP/1.1 200' "$T/garbage.out"; then fail "garbage inside TLS got a 200"; fi
st=$(grep -o 'HTTP/1.1 [0-9]*' "$T/garbage.out" | head -1); ok "garbage HTTP inside TLS -> ${st:-connection closed}"

# TLS 1.1 is refused (TLS 1.2+ only).
if curl -sS -m 5 --cacert "$CERTS/ca.crt" --tlsv1.1 --tls-max 1.1 "$WH_URL/healthz" >/dev/null 2>&1; then
  fail "TLS 1.1 handshake succeeded"
fi
curl -sS -m 5 --cacert "$CERTS/ca.crt" --tlsv1.2 --tls-max 1.2 "$WH_URL/healthz" >/dev/null || fail "TLS 1.2 refused"
curl -sS -m 5 --cacert "$CERTS/ca.crt" --tlsv1.3 "$WH_URL/healthz" >/dev/null || fail "TLS 1.3 refused"
ok "TLS 1.1 refused, TLS 1.2 and 1.3 accepted"

# Still alive and correct; the error counters moved.
[ "$(wh_curl /healthz)" = ok ] || fail "healthz after bad input"
m=$(wh_curl /metrics)
echo "$m" | grep -Eq '^mla_http_requests_total\{route="/mutate",code="413"\} [1-9]' || fail "413 not counted"
echo "$m" | grep -Eq '^mla_http_requests_total\{route="/mutate",code="415"\} [1-9]' || fail "415 not counted"
echo "$m" | grep -Eq '^mla_http_requests_total\{route="other",code="404"\} [1-9]' || fail "404 not counted"
echo "$m" | grep -Eq '^mla_admission_requests_total\{outcome="error",operation="OTHER"\} [1-9]' || fail "errors not counted"
echo "$m" | grep -Eq '^mla_admission_in_flight 0$' || fail "in-flight gauge not back to 0"
ok "server alive; 404/413/415 and admission errors counted; in-flight back to 0"
wh_stop

# Connection limit: with --max-connections 2 held by silent clients, a third connection is
# refused at once (not left hanging); when they go, service resumes.
wh_start --max-connections 2 --connection-timeout 30
exec 7<>"/dev/tcp/127.0.0.1/$WH_PORT"
exec 8<>"/dev/tcp/127.0.0.1/$WH_PORT"
sleep 0.3
start=$(date +%s%N)
out=$(curl -sS -m 5 --cacert "$CERTS/ca.crt" "$WH_URL/healthz" 2>&1) && fail "third connection served over the limit: $out"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$ms" -lt 2000 ] || fail "third connection hung for ${ms}ms instead of being refused"
grep -q 'connection refused: 2 connections open' "$WH_LOG" || fail "no log line for the refusal"
exec 7<&- 8<&-
for i in $(seq 1 40); do [ "$(wh_curl /healthz 2>/dev/null)" = ok ] && break; sleep 0.1; done
[ "$(wh_curl /healthz)" = ok ] || fail "not serving after the held connections closed"
ok "--max-connections 2: a third connection is refused at once (${ms}ms, logged); service resumes"
wh_stop
