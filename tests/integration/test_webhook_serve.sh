#!/usr/bin/env bash
# `serve`: endpoints, metrics, decision logs, flags and MLAS_* environment, start-up errors
# (expired certificate, key of another certificate, missing policy directory), graceful shutdown
# with a request in flight, policy reload (change, failure, recovery) and certificate rotation.
set -u
. "$(dirname "$0")/webhook_lib.sh"
T=$MLA_TMP
wh_certs

# ---- flags, --help, start-up errors (no server left running) ----
"$BIN" serve --help >"$T/help.txt" || fail "--help exit status"
for f in --listen --tls-cert --tls-key --policies --kubeconfig --kube-url --kube-token-file --kube-ca \
         --prometheus-url --loop-interval --no-loop --log-level --threads --max-body-bytes \
         --connection-timeout MLAS_TLS_CERT MLAS_NO_LOOP 0.0.0.0:8443 /etc/ml-autoscaling/tls/tls.crt 3145728; do
  grep -q -- "$f" "$T/help.txt" || fail "--help does not mention $f"
done
ok "--help lists every flag, its MLAS_* variable and default"

expect_exit() { # CODE REGEX LABEL -- cmd...
  local want=$1 re=$2 label=$3; shift 4
  local rc=0
  timeout 20 "$@" >"$T/out.txt" 2>&1 || rc=$?
  [ "$rc" = "$want" ] || fail "$label: exit $rc, want $want: $(head -c 400 "$T/out.txt")"
  grep -Eq -- "$re" "$T/out.txt" || fail "$label: output does not match /$re/: $(head -c 400 "$T/out.txt")"
  ok "$label -> exit $want"
}
POL=$(wh_default_policies)
S=("$BIN" serve --listen 127.0.0.1:0 --policies "$POL")
expect_exit 2 "unknown flag '--bogus'" "unknown flag" -- "${S[@]}" --bogus 1
expect_exit 2 "--threads: 0 is out of range" "threads 0" -- "${S[@]}" --threads 0
expect_exit 2 "not ADDR:PORT" "bad --listen" -- "${S[@]}" --listen nowhere
expect_exit 2 "--kubeconfig cannot be combined" "kubeconfig + kube-url" -- "${S[@]}" --kubeconfig /x --kube-url https://k
expect_exit 2 "MLAS_MAX_BODY_BYTES: 'lots' is not a number" "bad MLAS_ variable" -- env MLAS_MAX_BODY_BYTES=lots "${S[@]}"
expect_exit 2 "MLAS_NO_LOOP: 'maybe' is not a boolean" "bad boolean variable" -- env MLAS_NO_LOOP=maybe "${S[@]}"
expect_exit 2 "cannot read TLS certificate /nonexistent/tls.crt" "missing certificate" -- \
  "${S[@]}" --tls-cert /nonexistent/tls.crt --tls-key "$CERTS/tls.key"
# An expired certificate: OpenSSL 3.0 signs with a negative validity (notAfter < notBefore = now).
openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout "$T/exp.key" -out "$T/exp.csr" 2>/dev/null
openssl x509 -req -in "$T/exp.csr" -CA "$CERTS/ca.crt" -CAkey "$CERTS/ca.key" -days -1 -out "$T/exp.crt" 2>/dev/null
openssl x509 -in "$T/exp.crt" -noout -checkend 0 >/dev/null && fail "test setup: the certificate is not expired"
expect_exit 2 "TLS certificate .*exp.crt has expired" "expired certificate" -- \
  "${S[@]}" --tls-cert "$T/exp.crt" --tls-key "$T/exp.key"
expect_exit 2 "TLS key .*exp.key does not match certificate .*tls.crt" "key of another certificate" -- \
  "${S[@]}" --tls-cert "$CERTS/tls.crt" --tls-key "$T/exp.key"
expect_exit 2 "cannot load the policies from $T/no-such-dir" "missing policy directory" -- \
  "${S[@]}" --tls-cert "$CERTS/tls.crt" --tls-key "$CERTS/tls.key" --policies "$T/no-such-dir"

# ---- a running server; flags from the environment ----
MLAS_LOG_LEVEL=debug MLAS_THREADS=2 wh_start
grep -q '"admission-only mode' "$WH_LOG" || grep -q 'admission-only mode' "$WH_LOG" || fail "no admission-only log line"
grep -q '2 threads' "$WH_LOG" || fail "MLAS_THREADS=2 not applied"
ok "admission-only mode logged; MLAS_THREADS applied"

[ "$(wh_curl /healthz)" = ok ] || fail "/healthz"
r=$(wh_curl /readyz)
echo "$r" | wh_json 'd["ready"] is True and d["mode"]=="admission-only" and d["policies"]["lastError"] is None and "hash" in d["policies"] and "count" in d["policies"] and d["keda"]=="unknown" and d["leader"]["enabled"] is False' | grep -q True \
  || fail "/readyz: $r"
ok "/healthz ok; /readyz $r"
[ "$(wh_curl /healthz -I -o /dev/null -w '%{http_code}')" = 200 ] || fail "HEAD /healthz"

opt="$MLA_ROOT/tests/fixtures/webhook/optedin-no-labels/request.json"
plain="$MLA_ROOT/tests/fixtures/webhook/no-annotations/request.json"
out=$(wh_post "$opt"); [ "${out##*$'\n'}" = 200 ] || fail "opted-in: $out"
out=$(wh_post "$plain"); [ "${out##*$'\n'}" = 200 ] || fail "plain: $out"
echo "${out%$'\n'*}" | grep -q '"allowed":true}}$' || fail "plain review should be allowed without patch: $out"
# one JSON log line per decision with the documented fields
line=$(grep '"component":"admission"' "$WH_LOG" | grep '0b2d4c6e-0002' | head -1)
for k in uid namespace name operation kind allowed patchOps warnings policy action dryRun durationMs; do
  echo "$line" | grep -q "\"$k\":" || fail "decision log line lacks $k: $line"
done
echo "$line" | /usr/bin/python3 -c 'import json,sys; json.loads(sys.stdin.read())' || fail "log line is not JSON"
grep '"component":"admission"' "$WH_LOG" | grep '0b2d4c6e-0001' | grep -q '"level":"debug"' \
  || fail "not-opted-in decision should be logged at debug"
ok "decision log lines: JSON with uid, namespace, name, ...; not-opted-in at debug"

m=$(wh_curl /metrics)
for fam in mla_admission_requests_total mla_admission_duration_seconds mla_admission_in_flight \
           mla_http_requests_total mla_policy_reloads_total mla_policy_last_reload_ok mla_policy_info mla_build_info; do
  echo "$m" | grep -q "^# TYPE $fam " || fail "/metrics lacks $fam"
done
# patched, or denied when the repository's policies refuse that minimal Deployment
echo "$m" | grep -Eq '^mla_admission_requests_total\{outcome="(patched|denied)",operation="CREATE"\} 1$' || fail "patched count"
echo "$m" | grep -Eq '^mla_admission_requests_total\{outcome="allowed",operation="CREATE"\} 1$' || fail "allowed count"
echo "$m" | grep -Eq '^mla_admission_duration_seconds_count\{path="opted_in"\} 1$' || fail "opted_in histogram"
echo "$m" | grep -Eq '^mla_admission_duration_seconds_count\{path="not_opted_in"\} 1$' || fail "not_opted_in histogram"
echo "$m" | grep -Eq '^mla_http_requests_total\{route="/healthz",code="200"\} [1-9]' || fail "healthz count"
echo "$m" | grep -Eq '^mla_policy_last_reload_ok 1$' || fail "policy_last_reload_ok"
ok "/metrics has every webhook family with the right counts"

# ---- policy reload: a change, a failure (last good set kept), recovery ----
wh_stop
cp -r "$POL" "$T/pol-live"
WH_POLICIES="$T/pol-live" wh_start
touch "$T/pol-live/notes.txt"
for i in $(seq 1 50); do grep -q 'reloading policies from .* (files changed)' "$WH_LOG" && break; sleep 0.1; done
grep -q 'reloading policies from .* (files changed)' "$WH_LOG" || fail "a new file did not trigger a reload"
for i in $(seq 1 30); do wh_curl /metrics | grep -Eq '^mla_policy_reloads_total\{result="ok"\} [2-9]' && break; sleep 0.1; done
wh_curl /metrics | grep -Eq '^mla_policy_reloads_total\{result="ok"\} [2-9]' || fail "reload ok not counted"
ok "policy directory change -> reload within 2 s"
mv "$T/pol-live" "$T/pol-gone"
for i in $(seq 1 50); do wh_curl /readyz | grep -q '"policies":{[^}]*"lastError":"' && break; sleep 0.1; done
r=$(wh_curl /readyz)
echo "$r" | grep -q '"ready":true' || fail "readyz after failed reload: $r"
echo "$r" | grep -q '"policies":{[^}]*"lastError":"' || fail "readyz does not show the reload error: $r"
m=$(wh_curl /metrics)
echo "$m" | grep -Eq '^mla_policy_reloads_total\{result="error"\} [1-9]' || fail "reload error not counted"
echo "$m" | grep -Eq '^mla_policy_last_reload_ok 0$' || fail "last_reload_ok not 0"
grep -q 'keeping the last good set' "$WH_LOG" || fail "no log line for the failed reload"
out=$(wh_post "$opt"); [ "${out##*$'\n'}" = 200 ] || fail "serving after a failed reload: $out"
ok "failed reload: still serving the last good set; readyz lastError, metrics and log say so"
mv "$T/pol-gone" "$T/pol-live"
kill -HUP "$WH_PID"
for i in $(seq 1 50); do wh_curl /readyz | grep -q '"policies":{[^}]*"lastError":null' && break; sleep 0.1; done
wh_curl /readyz | grep -q '"policies":{[^}]*"lastError":null' || fail "SIGHUP reload did not recover"
wh_curl /metrics | grep -Eq '^mla_policy_last_reload_ok 1$' || fail "last_reload_ok not back to 1"
ok "SIGHUP reload recovers (lastError null, last_reload_ok 1)"
wh_stop

# ---- certificate rotation: new files are served without a restart ----
mkdir -p "$T/live" "$T/new"
cp "$CERTS/tls.crt" "$CERTS/tls.key" "$T/live/"
wh_start --tls-cert "$T/live/tls.crt" --tls-key "$T/live/tls.key"
bash "$MLA_ROOT/certs/gen-dev-certs.sh" "$T/new" >/dev/null
curl -sS -m 5 --cacert "$T/new/ca.crt" "$WH_URL/healthz" >/dev/null 2>&1 && fail "new CA accepted before rotation"
cp "$T/new/tls.key" "$T/live/tls.key.tmp"; cp "$T/new/tls.crt" "$T/live/tls.crt.tmp"
mv "$T/live/tls.key.tmp" "$T/live/tls.key"; mv "$T/live/tls.crt.tmp" "$T/live/tls.crt"
for i in $(seq 1 60); do
  curl -sS -m 5 --cacert "$T/new/ca.crt" "$WH_URL/healthz" >/dev/null 2>&1 && break; sleep 0.1
done
[ "$(curl -sS -m 5 --cacert "$T/new/ca.crt" "$WH_URL/healthz")" = ok ] || fail "rotated certificate not served"
grep -q 'reloaded the TLS certificate (files changed)' "$WH_LOG" || fail "no rotation log line"
ok "certificate rotation: the new certificate is served within 2 s, no restart"
# a broken rotation keeps the old pair
echo garbage > "$T/live/tls.crt"
for i in $(seq 1 50); do grep -q 'TLS certificate reload failed' "$WH_LOG" && break; sleep 0.1; done
grep -q 'TLS certificate reload failed, keeping the old one' "$WH_LOG" || fail "broken certificate not reported"
[ "$(curl -sS -m 5 --cacert "$T/new/ca.crt" "$WH_URL/healthz")" = ok ] || fail "broken rotation broke serving"
ok "broken certificate file: logged, old certificate kept"
wh_stop

# ---- graceful shutdown: a request in flight when SIGTERM arrives still gets its answer ----
wh_start
body="$MLA_ROOT/tests/fixtures/webhook/managedfields-update/request.json"
size=$(stat -c %s "$body")
# ~2 s upload at a limited rate; SIGTERM after 0.7 s.
( wh_curl /mutate -H 'Content-Type: application/json' --data-binary "@$body" \
    --limit-rate $(( size / 2 )) -w '\n%{http_code}' >"$T/inflight.out" 2>&1 ) &
cpid=$!
# SIGTERM once the request is in flight (its headers are in), not after a fixed 0.7 s: under
# valgrind on a loaded machine the TLS handshake alone can take longer.
for _ in $(seq 1 150); do
  wh_curl /metrics 2>/dev/null | grep -q '^mla_admission_in_flight 1$' && break; sleep 0.1
done
kill -TERM "$WH_PID"
wait "$cpid" || true
code=$(tail -1 "$T/inflight.out")
[ "$code" = 200 ] || fail "in-flight request during shutdown: $(cat "$T/inflight.out")"
grep -q '"uid":"0b2d4c6e-0005-4000-8000-000000000005"' "$T/inflight.out" || fail "in-flight answer: $(head -c 300 "$T/inflight.out")"
rc=0; wait "$WH_PID" || rc=$?; WH_PID=""
[ "$rc" = 0 ] || fail "exit status $rc after SIGTERM with a request in flight"
grep -q '"stopped cleanly"' "$WH_LOG" || fail "no clean stop"
curl -sS -m 2 --cacert "$CERTS/ca.crt" "$WH_URL/healthz" >/dev/null 2>&1 && fail "still accepting after stop"
ok "SIGTERM with a request in flight: it is answered (200), then exit 0"
