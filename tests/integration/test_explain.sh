#!/usr/bin/env bash
# ml-autoscaling explain: the whole decision chain for one ScaledObject, the loop's code path.
#  - file mode (YAML and JSON) with a trace: forecast with interval, cycles, trend, business
#    hours, cost cap, bounds, hysteresis, the decision and its rule, the next change; the
#    decision is ceil(printed peak / capacity) clamped as the rules say;
#  - the scale-down hold keeps a higher floor and says until when; the cost cap decides when the
#    forecast asks for more;
#  - live mode: the ScaledObject read from the test API server, the history from mla-testprom
#    (the trace starts 11.5 days before the mapped "now": the rest of the 14 days are gaps);
#  - exit codes: 0 explained, 1 nothing to explain (no predictive-config) or a source failed,
#    2 usage and file errors; --help.
set -euo pipefail
. "$(dirname "$0")/lib_kube.sh"
. "$(dirname "$0")/lib_testprom.sh"
BIN="$MLA_BUILD/ml-autoscaling"
NASA="$MLA_ROOT/tests/fixtures/traces/nasa-kennedy-1995.per-minute.csv"
PY=/usr/bin/python3

# so FILE CAPACITY CURRENT_MIN UPDATED [json]
so() {
  $PY - "$@" <<'PYEOF'
import json, sys
path, cap, cur, upd = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
as_json = len(sys.argv) > 5
cfg = {"enabled": True, "query": "sum(rate(http_requests_total[1m]))*60", "lookbackHours": 336,
       "stepSeconds": 300, "horizonMinutes": 30, "scaleAheadMinutes": 15,
       "confidenceThreshold": 0.5, "quantile": 0.9, "capacityPerReplica": cap,
       "businessHours": [{"days": "Mon-Fri", "start": "09:00", "end": "18:00", "minReplicas": 2}],
       "timezone": "UTC", "replicaHourlyCost": 2.5, "maxHourlyCost": 40, "minReplicas": 1,
       "maxReplicas": 20, "hysteresisStep": 1, "scaleDownHoldMinutes": 30}
ann = {"ml-autoscaling.io/predictive-config": json.dumps(cfg, separators=(",", ":")),
       "ml-autoscaling.io/min-replicas-updated": upd}
obj = {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
       "metadata": {"name": "web-so", "namespace": "shop", "annotations": ann},
       "spec": {"scaleTargetRef": {"name": "web"}, "minReplicaCount": cur, "maxReplicaCount": 20,
                "triggers": [{"type": "prometheus", "metadata": {
                    "serverAddress": "http://prometheus:9090", "query": "sum(up)",
                    "threshold": "5"}}]}}
with open(path, "w") as f:
    if as_json:
        json.dump(obj, f)
    else:  # hand-written YAML, the config as a quoted string
        f.write("apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata:\n  name: web-so\n"
                "  namespace: shop\n  annotations:\n")
        for k, v in ann.items():
            f.write("    %s: %s\n" % (k, json.dumps(v)))
        f.write("spec:\n  scaleTargetRef: {name: web}\n  minReplicaCount: %d\n"
                "  maxReplicaCount: 20\n  triggers:\n  - type: prometheus\n    metadata: {serverAddress: "
                "\"http://prometheus:9090\", query: \"sum(up)\", threshold: \"5\"}\n" % cur)
PYEOF
}

echo "== file mode (YAML), NASA trace: the forecast decides"
so "$MLA_TMP/so.yaml" 5 9 1995-08-31T23:50:00Z
"$BIN" explain -f "$MLA_TMP/so.yaml" --trace "$NASA" >"$MLA_TMP/ex1.txt"
cat "$MLA_TMP/ex1.txt"
for want in "ScaledObject shop/web-so" "History: 4033 points of 300 s over the last 336 h" "Path: as a new leader builds its window" \
            "Weekly profile: not used (ml-autoscaling.io/forecast-profile: none stored)" \
            "Forecast (point [lower, upper] at quantile 0.90)" "(scale-ahead window)" \
            "Cycle daily   present" "Cycle weekly" "Trend: " "Confidence: " \
            "Business hours (UTC): outside every window; next opens or closes at 1995-09-01 09:00 UTC" \
            "Cost cap: at most 16 replicas" "Bounds: 1..20" \
            "Hysteresis: current minReplicaCount 9; step 1; scale-down hold 30 min; last change 1995-08-31 23:50 UTC" \
            "(rule forecast)" "Reason: forecast: forecast peak" "Next change: at the next loop pass" \
            "Forecast thresholds: up from "; do
  grep -qF -- "$want" "$MLA_TMP/ex1.txt" || fail "explain lacks '$want'"
done
$PY - "$MLA_TMP/ex1.txt" <<'PYEOF' || fail "decision does not follow the printed forecast"
import math, re, sys
t = open(sys.argv[1]).read()
m = re.search(r"Peak over 15-30 min ahead: upper ([0-9.]+), point ([0-9.]+)", t)
peak, point = float(m.group(1)), float(m.group(2))
# the peak is the max upper bound over the rows marked as the scale-ahead window
rows = [float(m) for m in re.findall(r"\[[0-9.]+, ([0-9.]+)\]  \(scale-ahead window\)", t)]
assert len(rows) == 4 and abs(max(rows) - peak) < 0.011, (rows, peak)
dec = int(re.search(r"Decision: minReplicaCount (\d+)", t).group(1))
# the band buys a replica when it crosses its boundary by 0.25 of one; the point always does
want = max(math.ceil(peak / 5 - 0.25 - 1e-9), math.ceil(point / 5 - 1e-9))
assert dec == max(1, min(16, want)), (dec, peak, point)
print("  decision %d = max(ceil(%.2f / 5 - 0.25), ceil(%.2f / 5))" % (dec, peak, point))
th = re.search(r"Forecast thresholds: up from (\d+) when the upper bound passes ([0-9.]+) or the "
               r"point passes ([0-9.]+); down when the upper bound is at most ([0-9.]+)", t)
assert th and int(th.group(1)) == dec, th
assert abs(float(th.group(2)) - (dec + 0.25) * 5) < 0.06 and abs(float(th.group(4)) - (dec - 1) * 5) < 0.06, th.groups()
assert peak <= float(th.group(2)) + 0.01 and point <= float(th.group(3)) + 0.01, (peak, point, th.groups())
PYEOF

echo "== JSON file, same answer"
so "$MLA_TMP/so.json" 5 9 1995-08-31T23:50:00Z json
"$BIN" explain -f "$MLA_TMP/so.json" --trace "$NASA" >"$MLA_TMP/ex1j.txt"
diff "$MLA_TMP/ex1.txt" "$MLA_TMP/ex1j.txt" || fail "YAML and JSON explain differ"

echo "== scale-down hold: a higher floor changed 10 minutes ago is kept, and says until when"
so "$MLA_TMP/hold.yaml" 5 15 1995-09-01T03:50:00Z
"$BIN" explain -f "$MLA_TMP/hold.yaml" --trace "$NASA" >"$MLA_TMP/ex2.txt"
grep -F "Decision:" "$MLA_TMP/ex2.txt"
grep -qF "Decision: minReplicaCount 15, unchanged (rule hysteresis)" "$MLA_TMP/ex2.txt" || fail "hold"
grep -qF "down not before 1995-09-01 04:20 UTC (scale-down hold)" "$MLA_TMP/ex2.txt" || fail "hold: next change"

echo "== cost cap: a forecast of ~50 replicas is capped at 16"
so "$MLA_TMP/cap.yaml" 1 9 1995-08-31T23:50:00Z
"$BIN" explain -f "$MLA_TMP/cap.yaml" --trace "$NASA" >"$MLA_TMP/ex3.txt"
grep -qF "Decision: minReplicaCount 16 (rule cost_cap)" "$MLA_TMP/ex3.txt" || { cat "$MLA_TMP/ex3.txt"; fail "cost cap"; }

echo "== exit codes"
rc=0; "$BIN" explain --help | grep -q -- "--kube-url" || fail "--help"
$PY -c 'import json; json.dump({"apiVersion":"keda.sh/v1alpha1","kind":"ScaledObject","metadata":{"name":"x","namespace":"y"},"spec":{}}, open("'"$MLA_TMP"'/plain.json","w"))'
rc=0; "$BIN" explain -f "$MLA_TMP/plain.json" --trace "$NASA" >/dev/null 2>"$MLA_TMP/e" || rc=$?
[ "$rc" = 1 ] && grep -q "predictive-config" "$MLA_TMP/e" || fail "no config: exit $rc"
rc=0; "$BIN" explain -f "$MLA_TMP/so.yaml" 2>"$MLA_TMP/e" || rc=$?
[ "$rc" = 2 ] && grep -q -- "--trace" "$MLA_TMP/e" || fail "no history source: exit $rc"
rc=0; "$BIN" explain -f "$MLA_TMP/nope.yaml" --trace "$NASA" 2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "missing file: exit $rc"
rc=0; "$BIN" explain --kube-url http://127.0.0.1:1 --trace "$NASA" 2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "--kube-url without NAMESPACE/NAME: exit $rc"

if kube_is_real; then echo "skip live mode on a real cluster (needs mla-testprom)"; exit 0; fi
echo "== live mode: the ScaledObject from the API server, the history from Prometheus"
AT=$(date -u -d 1995-07-12T16:00:00Z +%s)   # Wed 12:00 at the NASA server
NOW=$(date -u -d 2026-11-25T16:00:00Z +%s)
testprom_start --trace "$NASA" --trace-at "$AT" --now "$NOW" || fail "testprom"
PIDS+=("$TESTPROM_PID")
kube_start_api
so "$MLA_TMP/live.json" 20 1 2026-11-25T10:00:00Z json
kapi POST /apis/keda.sh/v1alpha1/namespaces/shop/scaledobjects "$(cat "$MLA_TMP/live.json")" >/dev/null
[ "$(code)" = 201 ] || fail "create ScaledObject: $(code) $(cat "$MLA_TMP/last.body")"
"$BIN" explain --kube-url "$API" --kube-token-file "$TOKEN_FILE" --prometheus-url "$TESTPROM_URL" \
  --now "$NOW" shop/web-so >"$MLA_TMP/ex4.txt"
cat "$MLA_TMP/ex4.txt"
for want in "ScaledObject shop/web-so" "History: 4033 points of 300 s over the last 336 h (720 missing)" \
            "Business hours (UTC): inside Mon-Fri 09:00-18:00, floor 2" "(rule forecast)" "Next change:"; do
  grep -qF -- "$want" "$MLA_TMP/ex4.txt" || fail "live explain lacks '$want'"
done
rc=0; "$BIN" explain --kube-url "$API" --kube-token-file "$TOKEN_FILE" --prometheus-url "$TESTPROM_URL" \
  shop/missing >/dev/null 2>"$MLA_TMP/e" || rc=$?
[ "$rc" = 1 ] || fail "missing ScaledObject: exit $rc"
# a StatefulSet's ScaledObject (feature-store, rendered): explained like any other, within its
# 3-15 bounds
(cd "$MLA_ROOT/tests/fixtures/render/feature-store-statefulset" && "$BIN" render -f deployment.yaml \
  --policies "$MLA_ROOT/policies" -o json) | jq '.scaledObject | .metadata.annotations["ml-autoscaling.io/predictive-config"] |= (fromjson | .capacityPerReplica = 20 | tojson)' >"$MLA_TMP/sts-so.json"
[ "$(jq -r .spec.scaleTargetRef.kind "$MLA_TMP/sts-so.json")" = StatefulSet ] || fail "render: not a StatefulSet target"
"$BIN" explain -f "$MLA_TMP/sts-so.json" --trace "$NASA" >"$MLA_TMP/ex-sts.txt" || fail "explain of a StatefulSet's ScaledObject: exit $?"
grep -qF "ScaledObject features/online-features" "$MLA_TMP/ex-sts.txt" || fail "explain (StatefulSet): $(head -3 "$MLA_TMP/ex-sts.txt")"
grep -qE "^Decision: minReplicaCount ([3-9]|1[0-5])\b" "$MLA_TMP/ex-sts.txt" || fail "explain (StatefulSet) decision: $(grep -i minReplicaCount "$MLA_TMP/ex-sts.txt")"
echo "explain: a StatefulSet's ScaledObject"
echo "all explain checks passed"
