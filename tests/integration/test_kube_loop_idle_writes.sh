#!/usr/bin/env bash
# A pass whose Prometheus queries are paced sends the applies it keeps for its end (falls,
# explanation-only refreshes) while it waits for its next query, when the API rate has a token
# to spare, instead of after its last query: at 10,000 ScaledObjects the queries take 48 s and
# the 300 kept explanations 15 s more at 20/s, which put a pass with a new point past the 60 s
# interval. Six predictive ScaledObjects, their stored confidences made stale by another client;
# Prometheus paced at 2 queries/s with no burst (3 s of queries, one-shot forecasts). The
# explanations of a..e land while the queries still go, a's at least a second before the pass
# ends, each log line saying when; f, decided after the last query, at the end. (With no
# pacing wait nothing changes: test_kube_loop_rises_first.sh.)
. "$(dirname "$0")/lib_kube.sh"
. "$(dirname "$0")/lib_testprom.sh"
loop_test_start idlewrites
# a capacity far above the load: the count stays at the floor, only the explanation moves
cfg='{"enabled":true,"query":"sum(rate(http_requests_total[1m]))","lookbackHours":1,"stepSeconds":5,"horizonMinutes":10,"scaleAheadMinutes":5,"capacityPerReplica":100000,"minReplicas":1,"maxReplicas":50}'
predictive_template "$cfg"
loop_driver_start drv idlewrites --loop-models 0 --prometheus-qps 2 --prometheus-burst 1
NAMES="a b c d e f"
CONF=ml-autoscaling.io/forecast-confidence
for n in $NAMES; do store_worker_so "$NS" "$n"; done
pass() {
  local before; before=$(wc -l <"$MLA_TMP/drv.err")
  out=$(send '{"cmd":"reconcile"}')
  [ "$(echo "$out" | jqr ok)" = true ] || fail "pass: $out"
  send '{"cmd":"wait","timeoutMs":5000}' >/dev/null
  log=$(tail -n +"$((before + 1))" "$MLA_TMP/drv.err")
}
pass # takes ownership of every count
declare -A bad
for n in $NAMES; do
  c=$(so_ann "$NS" "$n" "$CONF")
  [ -n "$c" ] || fail "$n: no $CONF after the first pass"
  bad[$n]=$($PY -c 'import sys; print("0.000" if float(sys.argv[1]) > 0.5 else "1.000")' "$c")
  kapi PATCH "$(so_path "$NS" "$n")" "{\"metadata\":{\"annotations\":{\"$CONF\":\"${bad[$n]}\"}}}" application/merge-patch+json >/dev/null
  [ "$(code)" = 200 ] || fail "tamper $n: $(cat "$MLA_TMP/last.body")"
done
pass
when() { # NAME: how the log says NAME's explanation apply was sent
  echo "$log" | sed -n "s#.*$NS/$1: minReplicaCount [0-9]* (explanation only, sent \([^)]*\)).*#\1#p"
}
for n in a b c d e; do
  [ "$(when "$n")" = "while the pass waited on Prometheus" ] \
    || fail "$n: explanation sent '$(when "$n")', expected while the pass waited on Prometheus: $log"
done
[ "$(when f)" = "at the end of the pass" ] || fail "f: explanation sent '$(when f)': $log"
ok "a..e's explanations sent while the pass waited on Prometheus, f's (decided last) at its end"
# the instant (s) of the first log line matching a pattern (JSON lines: "ts")
at() { echo "$log" | grep -m1 "$1" | $PY -c 'import sys,json,datetime; t=json.loads(sys.stdin.read())["ts"]; print(datetime.datetime.strptime(t,"%Y-%m-%dT%H:%M:%S.%fZ").timestamp())'; }
ta=$(at "$NS/a: minReplicaCount"); tend=$(at "reconcile pass:")
$PY -c 'import sys; sys.exit(0 if float(sys.argv[2]) - float(sys.argv[1]) >= 1.0 else 1)' "$ta" "$tend" \
  || fail "a's explanation landed at $ta, the pass ended at $tend: not while its queries went on: $log"
ok "a's explanation landed $($PY -c 'import sys; print("%.1f" % (float(sys.argv[2]) - float(sys.argv[1])))' "$ta" "$tend") s before the pass ended"
echo "$log" | grep -q "0 applies that only lower a replica count and 5 that only change an explanation sent while the pass waited on Prometheus" \
  || fail "no log line counting the 5 sent while waiting: $log"
ok "the pass says it sent 5 explanations while it waited on Prometheus"
for n in $NAMES; do
  [ "$(so_ann "$NS" "$n" "$CONF")" != "${bad[$n]}" ] || fail "$n: the stale confidence is still stored"
done
ok "all six explanations refreshed in the pass"
driver_stop
testprom_stop || fail "testprom"
