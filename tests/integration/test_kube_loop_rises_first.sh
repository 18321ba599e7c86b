#!/usr/bin/env bash
# A loop pass sends the applies that raise a replica count before those that only lower one: a
# pass that must change many counts takes N / --kube-api-qps, and a late rise costs cold starts
# where a late fall costs only replica-minutes. Four predictive ScaledObjects whose decision is
# the same floor (2): a and c stored at 1 (a rise), b and d at 4 (a fall). The pass visits them
# in the order a, b, c, d; the applies land a, c, then b, d, and the pass says it sent 2 falls
# last. A pass that stops (leadership lost) drops what it kept: test_kube_loop_* (the next
# pass decides again).
. "$(dirname "$0")/lib_kube.sh"
. "$(dirname "$0")/lib_testprom.sh"
loop_test_start risesfirst
# a capacity far above the load: the decision is the floor, minReplicas 2, for every object
cfg='{"enabled":true,"query":"sum(rate(http_requests_total[1m]))","lookbackHours":1,"stepSeconds":5,"horizonMinutes":10,"scaleAheadMinutes":5,"capacityPerReplica":100000,"minReplicas":2,"maxReplicas":4}'
predictive_template "$cfg"
loop_driver_start drv risesfirst
store_min() { # NAME MIN: the ScaledObject as the worker stores it, minReplicaCount MIN
  local t=$DRV_TEMPLATE
  DRV_TEMPLATE="$MLA_TMP/so-$1.json"
  $PY -c 'import json,sys; d=json.load(open(sys.argv[1])); d["spec"]["minReplicaCount"]=int(sys.argv[2]); print(json.dumps(d))' \
    "$t" "$2" >"$DRV_TEMPLATE"
  store_worker_so "$NS" "$1"
  DRV_TEMPLATE=$t
}
store_min a 1; store_min b 4; store_min c 1; store_min d 4
before=$(wc -l <"$MLA_TMP/drv.err")
out=$(send '{"cmd":"reconcile"}')
[ "$(echo "$out" | jqr ok)" = true ] || fail "pass: $out"
send '{"cmd":"wait","timeoutMs":5000}' >/dev/null
log=$(tail -n +"$((before + 1))" "$MLA_TMP/drv.err")
order=$(echo "$log" | sed -n "s#.*$NS/\([a-d]\): minReplicaCount 2 .*#\1#p" | tr -d '\n')
[ "$order" = acbd ] || fail "applies landed in the order '$order', expected acbd (rises first): $log"
ok "the pass applied the rises (a, c) before the falls (b, d)"
echo "$log" | grep -q "2 applies that only lower a replica count sent after this pass's other writes" \
  || fail "no log line saying 2 falls were sent last: $log"
ok "the pass says it sent 2 falls last"
for n in a b c d; do
  m=$(kapi GET "$(so_path "$NS" "$n")" | jqr spec.minReplicaCount)
  [ "$m" = 2 ] || fail "$n: stored minReplicaCount $m, expected 2"
done
ok "all four stored at minReplicaCount 2"
driver_stop
testprom_stop || fail "testprom"
