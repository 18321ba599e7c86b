# webhook_lib.sh - sourced by tests/integration/test_webhook_*.sh (not a test itself).
#
# wh_certs                  dev certs in $MLA_TMP/certs (CA + server cert for 127.0.0.1)
# wh_start [serve flags]    starts `serve` on 127.0.0.1:0 (a free port), under valgrind when
#                           MLA_VALGRIND=1; sets WH_PID, WH_PORT, WH_URL, WH_LOG
# wh_stop                   SIGTERM, waits, fails the test unless the exit status is 0
#                           (valgrind: 99 on a definite leak or memory error)
# wh_curl PATH [curl args]  curl -sS --cacert over TLS to the server
# ok MSG / fail MSG         print a check result; fail exits 1
set -u
. "$MLA_ROOT/tests/support/valgrind.sh"
BIN="$MLA_BUILD/ml-autoscaling"
CERTS="$MLA_TMP/certs"
WH_PID=""; WH_PORT=""; WH_URL=""; WH_LOG="$MLA_TMP/serve.log"
WH_WAIT=10
if [ "${MLA_VALGRIND:-0}" = 1 ]; then WH_WAIT=60; fi

ok() { echo "ok   - $*"; }
fail() {
  echo "FAIL - $*"
  if [ -f "$WH_LOG" ]; then echo "--- server log (tail)"; tail -20 "$WH_LOG"; fi
  exit 1
}

wh_certs() {
  [ -f "$CERTS/tls.crt" ] || bash "$MLA_ROOT/certs/gen-dev-certs.sh" "$CERTS" >/dev/null
}

wh_cleanup() {
  if [ -n "$WH_PID" ] && kill -0 "$WH_PID" 2>/dev/null; then
    kill -KILL "$WH_PID" 2>/dev/null || true
  fi
}
trap wh_cleanup EXIT

# wh_start [flags...]: WH_POLICIES is the policy directory (default: the repository's policies/
# when it exists, else an empty scratch directory).
wh_default_policies() {
  if [ -d "$MLA_ROOT/policies" ]; then echo "$MLA_ROOT/policies"; else mkdir -p "$MLA_TMP/policies"; echo "$MLA_TMP/policies"; fi
}
wh_start() {
  wh_certs
  local pol=${WH_POLICIES:-$(wh_default_policies)}
  : > "$WH_LOG"
  local pre=()
  mla_vg "$MLA_TMP/valgrind.%p.log"; pre=("${MLA_VG[@]}")
  "${pre[@]}" "$BIN" serve --listen 127.0.0.1:0 --tls-cert "$CERTS/tls.crt" \
    --tls-key "$CERTS/tls.key" --policies "$pol" "$@" 2>>"$WH_LOG" &
  WH_PID=$!
  local i=0
  while [ $i -lt $((WH_WAIT * 20)) ]; do
    WH_PORT=$(grep -o 'listening on https://127.0.0.1:[0-9]*' "$WH_LOG" 2>/dev/null | head -1 | sed 's/.*://')
    [ -n "$WH_PORT" ] && break
    kill -0 "$WH_PID" 2>/dev/null || fail "serve exited during start-up"
    sleep 0.05; i=$((i + 1))
  done
  [ -n "$WH_PORT" ] || fail "serve did not log its port within ${WH_WAIT}s"
  WH_URL="https://127.0.0.1:$WH_PORT"
}

wh_stop() {
  [ -n "$WH_PID" ] || return 0
  kill -TERM "$WH_PID" 2>/dev/null || true
  local rc=0
  wait "$WH_PID" || rc=$?
  WH_PID=""
  if [ "${MLA_VALGRIND:-0}" = 1 ]; then cat "$MLA_TMP"/valgrind.*.log 2>/dev/null | tail -40; fi
  [ "$rc" -eq 0 ] || fail "serve exited with status $rc after SIGTERM (99: valgrind found errors)"
  grep -q '"stopped cleanly"' "$WH_LOG" || fail "no 'stopped cleanly' log line"
  ok "server stopped cleanly on SIGTERM (exit 0)"
}

wh_curl() {
  local path=$1; shift
  curl -sS --max-time 20 --cacert "$CERTS/ca.crt" "$@" "$WH_URL$path"
}

# wh_post FILE: POSTs an AdmissionReview file; prints "HTTPCODE BODY".
wh_post() {
  wh_curl /mutate -H 'Content-Type: application/json' --data-binary "@$1" -w '\n%{http_code}'
}

# jq-free JSON field access with Debian's python3.
wh_json() { /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }

. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/review-lib.sh"
