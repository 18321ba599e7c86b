#!/usr/bin/env bash
# The per-connection memory limit (8 KB, set for speed: MHD zeroes the pool after every request)
# still serves header blocks far larger than kube-apiserver's (a few hundred bytes, a bearer
# token included) next to a 3 KB body, over keep-alive, and refuses header blocks too large for
# it with 431 instead of failing the connection silently or crashing.
set -u
. "$(dirname "$0")/webhook_lib.sh"

wh_start
body=$MLA_ROOT/bench/review-optedin.json
pad() { head -c "$1" /dev/zero | tr '\0' a; }
pad6=$(pad 6000)
# two requests on one keep-alive connection, each with a 6 KB header
req=(-H 'Content-Type: application/json' -H "X-Pad: $pad6" --data-binary "@$body" -o /dev/null
     -w '%{http_code} %{num_connects}\n' "$WH_URL/mutate")
codes=$(curl -sS --max-time 20 --cacert "$CERTS/ca.crt" "${req[@]}" --next --cacert "$CERTS/ca.crt" \
  "${req[@]}" | tr '\n' ' ') || fail "curl failed"
[ "$codes" = "200 1 200 0 " ] || fail "6 KB headers, keep-alive: expected '200 1 200 0' (code, new connections), got '$codes'"
ok "6 KB of headers: 200, twice on one connection"

# Over the pool: 431 at every size from just above it (MHD grows its read buffer in steps, so
# several sizes) to 20 KB. Not far beyond: curl may then still be sending when the server closes
# the connection after its 431, and read the reset instead of the answer.
for n in 7700 7800 8000 8192 9000 12000 20000; do
  code=$(wh_curl /mutate -H 'Content-Type: application/json' -H "X-Pad: $(pad "$n")" \
    --data-binary "@$body" -o /dev/null -w '%{http_code}') || true
  [ "$code" = 431 ] || fail "$n B of headers: expected 431, got $code"
done
ok "7.7 to 20 KB of headers: 431"
# many short header lines instead of one long one
many=()
for i in $(seq 1 400); do many+=(-H "X-H$i: $(pad 40)"); done
code=$(wh_curl /mutate -H 'Content-Type: application/json' "${many[@]}" --data-binary "@$body" \
  -o /dev/null -w '%{http_code}') || true
[ "$code" = 431 ] || fail "400 header lines (19 KB): expected 431, got $code"
ok "400 header lines: 431"

# the server is still healthy after the refusals
code=$(wh_curl /healthz -o /dev/null -w '%{http_code}') || fail "healthz failed"
[ "$code" = 200 ] || fail "healthz after 431: $code"
ok "still serving after the 431"
wh_stop
