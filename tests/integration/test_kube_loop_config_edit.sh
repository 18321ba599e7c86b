#!/usr/bin/env bash
# An edit of a ScaledObject's predictive-config that leaves its query, step and lookback as they
# were (a new target, cost cap or replica bound: a policy edit across the fleet) keeps the loop's
# window and weekly profile (predict_models.h): the next pass fetches only the new samples, not
# the whole lookback again, and its log says why. An edit of the query is another series: its
# whole lookback is fetched. mla-testprom logs every query_range. A 5 s step and a 1 h lookback
# keep the test short. Runs against mla-testapi and a real kube-apiserver.
. "$(dirname "$0")/lib_kube.sh"
. "$(dirname "$0")/lib_testprom.sh"
PLOG="$MLA_TMP/prom-queries.log"
loop_test_start edit --query-log "$PLOG"
cfg='{"enabled":true,"query":"sum(rate(http_requests_total[1m]))","lookbackHours":1,"stepSeconds":5,"horizonMinutes":10,"scaleAheadMinutes":5,"capacityPerReplica":20,"minReplicas":1,"maxReplicas":50}'
predictive_template "$cfg"
loop_driver_start drv config-edit
for n in web api; do store_worker_so "$NS" "$n"; done
: >"$PLOG"
out=$(send '{"cmd":"reconcile"}')
[ "$(echo "$out" | jqr ok)" = true ] || fail "pass 1: $out"
[ "$(echo "$out" | jqr predicted)" = 2 ] || fail "pass 1 predicted: $out"
awk '$4 != 721 {bad=1} END {exit bad || NR != 2}' "$PLOG" \
  || fail "pass 1 must fetch the whole 1 h lookback per ScaledObject: $(cat "$PLOG")"
ok "pass 1: the whole lookback for each ScaledObject (2 x 721 points)"
# the edits a policy change makes: web's target (its window and weekly profile stay: the same
# query's points), api's query (another series: its whole lookback again)
set_cfg() {
  local body
  body=$(/usr/bin/python3 -c '
import json,sys
print(json.dumps({"metadata":{"annotations":{"ml-autoscaling.io/predictive-config":sys.argv[1]}}}))' "$2")
  kapi PATCH "$(so_path "$NS" "$1")" "$body" application/merge-patch+json >/dev/null
  [ "$(code)" = 200 ] || fail "edit $1: $(cat "$MLA_TMP/last.body")"
}
set_cfg web "${cfg/\"capacityPerReplica\":20/\"capacityPerReplica\":35}"
set_cfg api "${cfg/\[1m\]/[2m]}"
sleep 5.5 # a new grid point
: >"$PLOG"
out=$(send '{"cmd":"reconcile"}')
[ "$(echo "$out" | jqr ok)" = true ] || fail "pass 2: $out"
[ "$(wc -l <"$PLOG")" = 2 ] || fail "pass 2: expected 2 queries: $(cat "$PLOG")"
grep -F '[2m]' "$PLOG" | awk '$4 != 721 {bad=1} END {exit bad || NR != 1}' \
  || fail "pass 2: api's new query must fetch its whole lookback: $(cat "$PLOG")"
grep -vF '[2m]' "$PLOG" | awk '$4 > 5 {bad=1} END {exit bad || NR != 1}' \
  || fail "pass 2: web's target edit must not fetch history again: $(cat "$PLOG")"
grep -q "$NS/web: predictive-config changed but not its query, step or lookback: the window and the weekly profile are kept" "$MLA_TMP/drv.err" \
  || fail "no log line for web's kept window: $(grep predict "$MLA_TMP/drv.err" | tail -5)"
ok "pass 2: a target edit keeps the window (short query, log line), a query edit fetches the lookback"
driver_stop
testprom_stop || fail "testprom"
