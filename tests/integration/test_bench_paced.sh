#!/usr/bin/env bash
# bench_webhook.sh's half-rate client (bench/mla-bench-paced) measures what it says against
# serve: the rate asked for is what is sent (requests over the run = rate x seconds, less the
# answers still out at the end), every answer is a 200 and counted once, and its one line of
# figures has the form the bench reads. Its latencies are not checked (benchmarks are not timed
# tests); a client that silently measured something else is (wrk's paced start did, for seven
# rounds: docs/benchmarks.md, issue 14, eighth round). A failure gives no figures.
set -u
. "$(dirname "$0")/webhook_lib.sh"
PACED="$MLA_BUILD/mla-bench-paced"
FIG='^requests [0-9]+ rate [0-9]+ errors 0 late [0-9]+ p50 [0-9.]+ p90 [0-9.]+ p99 [0-9.]+ p999 [0-9.]+ max [0-9.]+$'

wh_start
got=0
for kind in optedin plain; do
  out=$("$PACED" --port "$WH_PORT" --conns 4 --rate 200 --seconds 1 \
        --body "$MLA_ROOT/bench/review-$kind.json" 2>&1) || fail "$kind: exit $?: $out"
  echo "$out" | grep -Eq "$FIG" || fail "$kind: not the bench's line: $out"
  n=$(echo "$out" | cut -d' ' -f2)
  # 200 due in the second; under valgrind each answer is ~20x slower, some are still out
  min=$([ "${MLA_VALGRIND:-0}" = 1 ] && echo 100 || echo 196)
  [ "$n" -ge "$min" ] && [ "$n" -le 200 ] || fail "$kind: $n answers for 200 due: $out"
  ok "$kind: 200 requests/s for 1 s on 4 connections: $n answers, all 200, the bench's line"
  got=$((got + n))
done
srv=$(wh_curl /metrics | grep -E '^mla_http_requests_total\{route="/mutate",code="200"\}' | awk '{print $2}')
[ "${srv:-0}" -ge "$got" ] && [ "${srv:-0}" -le 400 ] || fail "serve answered ${srv:-0}, the client counted $got of 400 due"
ok "serve answered $srv of the 400 due (the client counted $got): none sent twice"

out=$("$PACED" --port "$WH_PORT" --conns 2 --rate 100 --seconds 1 --path /nope \
      --body "$MLA_ROOT/bench/review-plain.json" 2>&1) && fail "an answer that is not a 200 and closes: exit 0: $out"
echo "$out" | grep -Eq '^requests ' && fail "figures after a failure: $out"
ok "the server closing a connection fails the run, with no figures"
wh_stop
out=$("$PACED" --port "$WH_PORT" --conns 2 --rate 100 --seconds 1 \
      --body "$MLA_ROOT/bench/review-plain.json" 2>&1) && fail "no server: exit 0: $out"
echo "$out" | grep -q 'connect to 127.0.0.1' || fail "no server: $out"
ok "no server: exit 1, the address named"
