#!/usr/bin/env bash
# The Prometheus client against mla-testprom serving the NASA trace: values on the grid, trace
# gaps and injected NaN as gaps, several series summed, chunking past 11,000 points, and each
# failure (error JSON, HTTP 500, bad JSON, timeout, connection refused) as a clear error.
set -euo pipefail
. "$(dirname "$0")/lib_testprom.sh"
trap 'testprom_stop || exit 1' EXIT
TRACE=$MLA_ROOT/tests/fixtures/traces/nasa-kennedy-1995.per-minute.csv
Q=$MLA_BUILD/mla-prom-query
NOW=1795608000          # 2026-11-25T12:00Z (a Wednesday)
AT=805564800            # 1995-07-12T16:00Z (a Wednesday, 12:00 at the server)
OFF=$((NOW - AT))
py() { /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); $1" "$2"; }
fail() { echo "FAIL: $*"; exit 1; }

testprom_start --trace "$TRACE" --trace-at $AT --now $NOW

echo "== an hour at 1-minute steps matches the trace rows"
"$Q" --url "$TESTPROM_URL" --query 'sum(rate(x[1m]))' --start $((NOW - 3600)) --end $NOW --step 60 >"$MLA_TMP/h.json"
want=$(awk -F, -v a=$((AT - 3600)) -v b=$AT 'NR>1 && $1>=a && $1<=b {s+=$2; n++} END {print n, s}' "$TRACE")
got=$(py 'print(d["points"]-d["gaps"], int(d["sum"]))' "$MLA_TMP/h.json")
[ "$got" = "$want" ] || fail "points/sum $got, trace says $want"
py 'assert d["points"] == 61 and d["gaps"] == 0 and d["series"] == 1, d' "$MLA_TMP/h.json"

echo "== the trace's missing days (1995-07-28 17:32Z .. 08-01 04:00Z) are gaps"
s=$(( $(date -u -d 1995-07-28T12:00:00Z +%s) + OFF )); e=$(( $(date -u -d 1995-08-01T12:00:00Z +%s) + OFF ))
"$Q" --url "$TESTPROM_URL" --query x --start $s --end $e --step 300 >"$MLA_TMP/g.json"
# 17:32 + 5 min staleness -> the first gap point is 17:40; the last one 03:55 on 08-01
py 'v=d["values"]; g=[i for i,x in enumerate(v) if x is None]; print(len(g), g[0], g[-1])' "$MLA_TMP/g.json" >"$MLA_TMP/gaps"
read -r ngaps first last <"$MLA_TMP/gaps"
[ "$first" -eq $(( (5*3600 + 40*60) / 300 )) ] || fail "first gap at point $first"
[ "$last" -eq $(( (3*86400 + 16*3600 - 5*60) / 300 )) ] || fail "last gap at point $last"
[ "$ngaps" -eq $(( last - first + 1 )) ] || fail "gaps not contiguous: $ngaps"

echo "== injected NaN values become gaps"
curl -fsS "$TESTPROM_URL/-/fault?mode=nan&nan_from=$((NOW - 1200))&nan_to=$((NOW - 600))" >/dev/null
"$Q" --url "$TESTPROM_URL" --query x --start $((NOW - 3600)) --end $NOW --step 60 >"$MLA_TMP/n.json"
py 'v=d["values"]; assert d["gaps"] == 11 and all(x is None for x in v[40:51]) and v[39] is not None and v[51] is not None, d["gaps"]' "$MLA_TMP/n.json"
curl -fsS "$TESTPROM_URL/-/fault?mode=none" >/dev/null

echo "== 5 days at 30 s (14,401 points) are fetched in two chunks"
before=$(curl -fsS "$TESTPROM_URL/-/stats" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["queries"])')
"$Q" --url "$TESTPROM_URL" --query x --start $((NOW - 5*86400)) --end $NOW --step 30 >"$MLA_TMP/c.json"
after=$(curl -fsS "$TESTPROM_URL/-/stats" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["queries"])')
[ $((after - before)) -eq 2 ] || fail "expected 2 queries, got $((after - before))"
py 'assert d["points"] == 14401 and d["gaps"] == 0, (d["points"], d["gaps"])' "$MLA_TMP/c.json"

expect_error() { # name pattern args...
  local code=$1 pat=$2; shift 2
  if "$Q" "$@" >"$MLA_TMP/out" 2>"$MLA_TMP/err"; then fail "expected $code, got success"; fi
  grep -q "^$code: " "$MLA_TMP/err" || fail "expected $code: $(cat "$MLA_TMP/err")"
  grep -q -- "$pat" "$MLA_TMP/err" || fail "expected '$pat' in: $(cat "$MLA_TMP/err")"
  echo "   $(cat "$MLA_TMP/err")"
}
ONE=(--url "$TESTPROM_URL" --query x --start $NOW --end $NOW --step 60)

echo "== Prometheus error JSON is surfaced"
curl -fsS "$TESTPROM_URL/-/fault?mode=error" >/dev/null
expect_error MLA_EUNAVAIL "HTTP 422, status error, execution: injected failure" "${ONE[@]}"
echo "== HTTP 500"
curl -fsS "$TESTPROM_URL/-/fault?mode=500" >/dev/null
expect_error MLA_EUNAVAIL "HTTP 500: internal server error" "${ONE[@]}"
echo "== an answer that is not JSON"
curl -fsS "$TESTPROM_URL/-/fault?mode=badjson" >/dev/null
expect_error MLA_EPARSE "answer is not JSON" "${ONE[@]}"
echo "== a slow Prometheus times out"
curl -fsS "$TESTPROM_URL/-/fault?mode=delay&delay_ms=3000" >/dev/null
t0=$(date +%s%N)
expect_error MLA_ETIMEOUT "no answer within 300 ms" "${ONE[@]}" --timeout-ms 300
[ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 2500 ] || fail "timeout took too long"
curl -fsS "$TESTPROM_URL/-/fault?mode=none" >/dev/null
echo "== bad input is refused before any request"
expect_error MLA_EINVAL "empty PromQL query" --url "$TESTPROM_URL" --query '' --start $NOW --end $NOW --step 60
expect_error MLA_EINVAL "need end >= start" --url "$TESTPROM_URL" --query x --start $NOW --end $((NOW-1)) --step 60
testprom_stop

echo "== several series are summed"
testprom_start --trace "$TRACE" --trace-at $AT --now $NOW --series 3
"$Q" --url "$TESTPROM_URL" --query x --start $((NOW - 3600)) --end $NOW --step 60 >"$MLA_TMP/s.json"
py 'import math; assert d["series"] == 3, d["series"]; print(round(d["sum"]))' "$MLA_TMP/s.json" >"$MLA_TMP/sum3"
[ "$(cat "$MLA_TMP/sum3")" = "$(echo "$want" | cut -d' ' -f2)" ] || fail "sum of 3 series $(cat "$MLA_TMP/sum3") != $want"
port=$TESTPROM_PORT
testprom_stop

echo "== connection refused"
expect_error MLA_EUNAVAIL "connect" --url "http://127.0.0.1:$port" --query x --start $NOW --end $NOW --step 60
echo "ok"
