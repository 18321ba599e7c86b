#!/usr/bin/env bash
# Leader election is not silent (issue 16 bug 5): a replica that cannot read or create the
# Lease (wrong token: 401; RBAC refusing create: 403) warns once per distinct error (repeats
# counted, not logged), shows the error in /readyz ("leader":{"isLeader":false,"lastError":...})
# and mla_leader 0; once the API lets it, it leads, says it recovered, /readyz lastError is null
# and mla_leader 1.
. "$(dirname "$0")/lib_kube.sh"
BIN="$MLA_BUILD/ml-autoscaling"
testapi_only "needs a wrong token and injected 403s on the Lease" || exit 0
kube_start_api
bash "$MLA_ROOT/certs/gen-dev-certs.sh" "$MLA_TMP/certs" >/dev/null || fail "certs"
echo "not-the-token" >"$MLA_TMP/serve-token"
# shellcheck disable=SC2046
POD_NAMESPACE=kube-system $(vg serve "$BIN") serve --listen 127.0.0.1:0 \
  --tls-cert "$MLA_TMP/certs/tls.crt" --tls-key "$MLA_TMP/certs/tls.key" \
  --policies "$MLA_ROOT/policies" --kube-url "$API" --kube-token-file "$MLA_TMP/serve-token" \
  --loop-interval 3600 2>"$MLA_TMP/serve.err" &
SERVE_PID=$!; PIDS+=("$SERVE_PID")
for _ in $(seq 1 $((100 * SLOW))); do
  PORT=$(grep -o 'listening on https://127.0.0.1:[0-9]*' "$MLA_TMP/serve.err" 2>/dev/null | head -1 | sed 's/.*://')
  [ -n "$PORT" ] && break; sleep 0.1
done
[ -n "${PORT:-}" ] || fail "serve did not start: $(tail -5 "$MLA_TMP/serve.err")"
WH="https://127.0.0.1:$PORT"
readyz() { curl -sS --cacert "$MLA_TMP/certs/ca.crt" "$WH/readyz"; }
leader_metric() { curl -sS --cacert "$MLA_TMP/certs/ca.crt" "$WH/metrics" | awk '$1=="mla_leader"{print $2}'; }
lease_warns() { grep '"level":"warn","component":"lease"' "$MLA_TMP/serve.err"; }
last_error_has() { readyz | jqr leader.lastError | grep -q "$1"; }

wait_until 5 last_error_has "401" || fail "/readyz has no leader lastError with 401: $(readyz)"
sleep 5   # two or three more failed attempts (retry period 2 s); not scaled: a repeat is due after 30 s
r=$(readyz)
[ "$(echo "$r" | jqr leader.isLeader)" = false ] || fail "isLeader: $r"
[ "$(echo "$r" | jqr ready)" = true ] && [ "$(echo "$r" | jqr mode)" = full ] || fail "/readyz fields: $r"
ok "/readyz: $(echo "$r" | jqr leader)"
[ "$(leader_metric)" = 0 ] || fail "mla_leader $(leader_metric)"
# (under valgrind the very first attempt may time out: a distinct error, logged on its own line)
n=$(lease_warns | grep -c ': 401: ')
[ "$n" = 1 ] || fail "want one warning for the repeated 401, got $n: $(lease_warns)"
lease_warns | grep -q 'cannot read Lease kube-system/ml-autoscaling-leader: GET /apis/coordination.k8s.io/v1/namespaces/kube-system/leases/ml-autoscaling-leader: 401.*cannot become leader' \
  || fail "warning does not say what failed: $(lease_warns)"
ok "one warning for the repeated 401, mla_leader 0: $(lease_warns | grep ': 401: ' | jqr msg)"

# the token is fixed, but RBAC refuses to create the Lease
control '{"fail":{"status":403,"count":100000,"path":"/leases","verb":"POST"}}'
cp "$TOKEN_FILE" "$MLA_TMP/serve-token"
wait_until 8 last_error_has "cannot create Lease.*403" || fail "/readyz lastError not the 403 on create: $(readyz)"
wait_until 3 eval '[ "$(lease_warns | grep -c ": 403: ")" = 1 ]' || fail "no new warning for the distinct error: $(lease_warns)"
w=$(lease_warns | grep ': 403: ' | jqr msg)
echo "$w" | grep -q '^cannot create Lease kube-system/ml-autoscaling-leader: POST .*: 403' || fail "create warning: $w"
sup=$(echo "$w" | sed -n 's/.*(\([0-9]*\) repeated failures not logged.*/\1/p')
[ "${sup:-0}" -ge 1 ] || fail "the suppressed 401 repeats are not counted: $w"
ok "distinct error logged at once, with $sup suppressed repeats counted: $w"

control '{"reset":true}'
is_leader() { [ "$(readyz | jqr leader.isLeader)" = true ]; }
wait_until 8 is_leader || fail "did not lead after the API allowed it: $(readyz)"
[ "$(readyz | jqr leader.lastError)" = null ] || fail "lastError not cleared: $(readyz)"
[ "$(leader_metric)" = 1 ] || fail "mla_leader $(leader_metric)"
grep -q 'Lease kube-system/ml-autoscaling-leader is reachable again after [0-9]* failed attempts' "$MLA_TMP/serve.err" \
  || fail "recovery not logged: $(grep lease "$MLA_TMP/serve.err")"
ok "recovered: leads, /readyz $(readyz | jqr leader), mla_leader 1, recovery logged"
kill -TERM "$SERVE_PID"; wait "$SERVE_PID"; rc=$?
[ "$rc" = 0 ] || fail "serve exited $rc: $(tail -5 "$MLA_TMP/serve.err")"
ok "serve stopped cleanly"
