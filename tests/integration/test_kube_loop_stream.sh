#!/usr/bin/env bash
# The loop keeps each ScaledObject's lookback window between passes (predict_models.h):
# the first pass fetches each ScaledObject's whole lookback from Prometheus, the next passes
# only the samples since the last one and a 2-point overlap (mla-testprom logs every
# query_range), and the LIST of ScaledObjects is paginated (mla-testapi logs limit/continue).
# A 5 s step and a 1 h lookback keep the test short; the windows do not depend on the step.
. "$(dirname "$0")/lib_kube.sh"
. "$(dirname "$0")/lib_testprom.sh"
testapi_only "reads the test API server's request log" || exit 0
PLOG="$MLA_TMP/prom-queries.log"
loop_test_start stream --query-log "$PLOG"
cfg='{"enabled":true,"query":"sum(rate(http_requests_total[1m]))","lookbackHours":1,"stepSeconds":5,"horizonMinutes":10,"scaleAheadMinutes":5,"capacityPerReplica":20,"minReplicas":1,"maxReplicas":50}'
predictive_template "$cfg"
loop_driver_start drv stream --list-page-size 2
for n in web api search; do store_worker_so "$NS" "$n"; done
: >"$PLOG"; clearlog
out=$(send '{"cmd":"reconcile"}')
[ "$(echo "$out" | jqr ok)" = true ] || fail "pass 1: $out"
[ "$(echo "$out" | jqr predicted)" = 3 ] || fail "pass 1 predicted: $out"
# "start end step points query" per query_range
[ "$(wc -l <"$PLOG")" = 3 ] || fail "pass 1: expected 3 queries: $(cat "$PLOG")"
awk '$2 - $1 != 3600 || $3 != 5 || $4 != 721 {bad=1} END {exit bad}' "$PLOG" \
  || fail "pass 1 must fetch the whole 1 h lookback per ScaledObject: $(cat "$PLOG")"
grep -q 'sum(rate(http_requests_total\[1m\]))' "$PLOG" || fail "query: $(cat "$PLOG")"
for n in web api search; do
  kapi GET "$(so_path "$NS" "$n")" | grep -q 'min-replicas-reason' || fail "$n: no predictive decision applied"
done
ok "pass 1: one full-lookback query_range per ScaledObject (3 x 721 points), decisions applied"
# pagination: 3 ScaledObjects (+ none elsewhere) in pages of 2 -> limit=2, then a continue token
log=$(apilog)
echo "$log" | $PY -c '
import json,sys
items=[i for i in json.load(sys.stdin)["items"] if i["verb"]=="LIST" and i["path"].endswith("/scaledobjects")]
assert items, "no LIST of ScaledObjects"
assert all("limit=2" in i["query"] for i in items), items
assert any("continue=" in i["query"] for i in items), items
' || fail "the loop's LIST of ScaledObjects is not paginated: $(echo "$log" | head -c 1500)"
ok "the LIST of ScaledObjects is paginated (limit=2, then continue)"
end1=$(awk '{print $2; exit}' "$PLOG")
# each ScaledObject's own last sample: a slow pass 1 (valgrind) may cross a 5 s grid point
# between its queries; the loop asks in the same (LIST) order every pass
cp "$PLOG" "$MLA_TMP/pass1.log"
sleep 5.5 # at least one new 5 s grid point
: >"$PLOG"; clearlog
out=$(send '{"cmd":"reconcile"}')
[ "$(echo "$out" | jqr ok)" = true ] || fail "pass 2: $out"
# the replica counts for the cost gauges come from the pass's LIST, not a GET per ScaledObject
apilog | $PY -c '
import json,sys
gets=[i for i in json.load(sys.stdin)["items"] if i["verb"]=="GET" and "/deployments/" in i["path"]]
assert not gets, gets' || fail "pass 2 read Deployments one by one: $(apilog | head -c 1500)"
ok "pass 2: no GET per Deployment (replicas from the pass's LIST)"
[ "$(wc -l <"$PLOG")" = 3 ] || fail "pass 2: expected 3 short queries: $(cat "$PLOG")"
# the new points and the last 2 again (late samples: MLA_PREDICT_MODELS_OVERLAP)
awk 'NR == FNR {end[FNR] = $2; next} $1 != end[FNR] - 5 || $4 > 5 || $4 < 3 {bad=1}
     END {exit bad}' "$MLA_TMP/pass1.log" "$PLOG" \
  || fail "pass 2 must fetch only the samples after pass 1's ($(cut -d' ' -f2 "$MLA_TMP/pass1.log" | tr '\n' ' ')): $(cat "$PLOG")"
ok "pass 2: only the new samples and a 2-point overlap ($(awk '{s+=$4} END {print s}' "$PLOG") points for 3 ScaledObjects, from $((end1 - 5)))"
# the same step again: nothing new to fetch
: >"$PLOG"
t=$(date +%s); [ $((t % 5)) -lt 4 ] || sleep 1.2
out=$(send '{"cmd":"reconcile"}')
[ "$(echo "$out" | jqr ok)" = true ] || fail "pass 3: $out"
[ "$(wc -l <"$PLOG")" -le 3 ] || fail "pass 3: $(cat "$PLOG")"
awk '$4 > 4 {bad=1} END {exit bad}' "$PLOG" || fail "pass 3 fetched more than the new samples and the overlap: $(cat "$PLOG")"
ok "pass 3: $(wc -l <"$PLOG") queries, no full history again"
driver_stop
samples=$(metric "$MLA_TMP/drv.metrics" mla_predict_prom_samples_total)
[ "${samples%.*}" -ge 2163 ] && [ "${samples%.*}" -le 2195 ] || fail "mla_predict_prom_samples_total $samples"
ok "/metrics: mla_predict_prom_samples_total $samples"
grep -q '^mla_workload_replicas{.*"web".*} 1$' "$MLA_TMP/drv.metrics" \
  || fail "mla_workload_replicas: $(grep mla_workload_replicas "$MLA_TMP/drv.metrics")"
ok "/metrics: mla_workload_replicas still published"
testprom_stop || fail "testprom"
