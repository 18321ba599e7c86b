#!/usr/bin/env bash
# The per-connection memory limit (16 KB, set for speed: MHD zeroes the pool after every request)
# still serves header blocks far larger than kube-apiserver's (a few hundred bytes) next to a
# 3 KB body, over keep-alive, and refuses a header block too large for it with 431 instead of
# failing the connection silently.
set -u
. "$(dirname "$0")/webhook_lib.sh"

wh_start
body=$MLA_ROOT/bench/review-optedin.json
pad8=$(printf "a%.0s" $(seq 1 8000))
# two requests on one keep-alive connection, each with an 8 KB header
req=(-H 'Content-Type: application/json' -H "X-Pad: $pad8" --data-binary "@$body" -o /dev/null
     -w '%{http_code} %{num_connects}\n' "$WH_URL/mutate")
codes=$(curl -sS --max-time 20 --cacert "$CERTS/ca.crt" "${req[@]}" --next --cacert "$CERTS/ca.crt" \
  "${req[@]}" | tr '\n' ' ') || fail "curl failed"
[ "$codes" = "200 1 200 0 " ] || fail "8 KB headers, keep-alive: expected '200 1 200 0' (code, new connections), got '$codes'"
ok "8 KB of headers: 200, twice on one connection"

pad20=$(printf 'a%.0s' $(seq 1 20000))
code=$(wh_curl /mutate -H 'Content-Type: application/json' -H "X-Pad: $pad20" --data-binary "@$body" \
  -o /dev/null -w '%{http_code}') || true
[ "$code" = 431 ] || fail "20 KB of headers: expected 431, got $code"
ok "20 KB of headers: 431"

# the server is still healthy after the refusal
code=$(wh_curl /healthz -o /dev/null -w '%{http_code}') || fail "healthz failed"
[ "$code" = 200 ] || fail "healthz after 431: $code"
ok "still serving after the 431"
wh_stop
