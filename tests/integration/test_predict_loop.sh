#!/usr/bin/env bash
# One predictive-loop step (mla_predict_step via tests/doubles/mla-predict-once) against mla-testprom
# serving the NASA trace, "now" mapped onto a Wednesday of July 1995. The driver's forecaster is
# a trivial stand-in (same slot one day earlier x1.1); the real model is wired in by serve.
# Checks: weekday midday -> the forecast decides minReplicaCount; night -> the night cap on
# minReplicaCount and maxReplicaCount; the next day -> maxReplicaCount restored; no night cap ->
# maxReplicaCount untouched;
# scale-down hold; low confidence -> business hours; paused -> skipped; an unchanged object ->
# apply; Prometheus down -> an error and no apply. The step's answer is the loop's server-side
# apply configuration (field manager ml-autoscaling-loop): both counts and the explanation,
# every time (a field left out would be removed).
set -euo pipefail
. "$(dirname "$0")/lib_testprom.sh"
trap 'testprom_stop || exit 1' EXIT
TRACE=$MLA_ROOT/tests/fixtures/traces/nasa-kennedy-1995.per-minute.csv
D=$MLA_BUILD/mla-predict-once
PY=/usr/bin/python3
fail() { echo "FAIL: $*"; exit 1; }

MIDDAY=$(date -u -d 2026-11-25T17:00:00Z +%s)  # Wed 12:00 in New York (EST)
AT=$(date -u -d 1995-07-12T16:00:00Z +%s)      # Wed 12:00 at the NASA server (EDT)
NIGHT=$((MIDDAY + 15*3600))                    # Thu 03:00 New York
testprom_start --trace "$TRACE" --trace-at "$AT" --now "$MIDDAY"

CFG='{"enabled":true,"query":"sum(rate(http_requests_total{app=\"web\"}[1m]))*60","lookbackHours":48,
"stepSeconds":300,"horizonMinutes":30,"scaleAheadMinutes":15,"confidenceThreshold":0.6,"quantile":0.9,
"anomalyThreshold":3.5,"capacityPerReplica":20.0,
"businessHours":[{"days":"Mon-Fri","start":"09:00","end":"18:00","minReplicas":2}],
"timezone":"America/New_York","nightMaxReplicas":1,"replicaHourlyCost":2.5,"maxHourlyCost":40.0,
"minReplicas":1,"maxReplicas":20,"hysteresisStep":1,"scaleDownHoldMinutes":30}'

# so FILE MIN [extra annotations as JSON object]
so() {
  $PY - "$1" "$2" "${3:-{\}}" "$CFG" <<'PYEOF'
import json, sys
path, cur, extra, cfg = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3]), json.loads(sys.argv[4])
ann = {"ml-autoscaling.io/predictive-config": json.dumps(cfg, separators=(",", ":")),
       "ml-autoscaling.io/policy": "default"}
ann.update(extra)
obj = {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
       "metadata": {"name": "web-so", "namespace": "shop", "annotations": ann,
                    "labels": {"ml-autoscaling.io/deployment": "web"}},
       "spec": {"scaleTargetRef": {"name": "web"}, "minReplicaCount": cur, "maxReplicaCount": 20}}
json.dump(obj, open(path, "w"))
PYEOF
}
# expected peak (trace value one day before each step of the 15..30 min window, max, x1.1)
expect_peak() { # real-now
  local t0=$(( $1 - MIDDAY + AT - 86400 ))
  awk -F, -v a=$((t0 + 900)) -v b=$((t0 + 1800)) 'NR>1 && $1>=a && $1<=b && ($1-a)%300==0 { if ($2>m) m=$2 } END { printf "%.2f\n", m*1.1 }' "$TRACE"
}
jq_() { $PY -c "import json,sys; p=json.load(open(sys.argv[1])); $1" "$2"; }
A='p["metadata"]["annotations"]'

echo "== weekday midday: the forecast sets minReplicaCount"
so "$MLA_TMP/mid.json" 1
"$D" --so "$MLA_TMP/mid.json" --prom "$TESTPROM_URL" --now "$MIDDAY" >"$MLA_TMP/p1.json" 2>"$MLA_TMP/e1"
cat "$MLA_TMP/e1"
peak=$(expect_peak "$MIDDAY")
want=$($PY -c "import math; print(max(2, min(16, 20, math.ceil($peak/20 - 1e-9))))")
echo "   expected peak $peak -> $want replicas"
[ "$want" -gt 2 ] || fail "fixture: midday forecast should exceed the business-hours floor"
jq_ "assert p['spec']['minReplicaCount'] == $want, p['spec']" "$MLA_TMP/p1.json"
jq_ "a=$A; assert a['ml-autoscaling.io/min-replicas-reason'].startswith('forecast: '), a; \
assert a['ml-autoscaling.io/forecast-peak'] == '$peak', a; \
assert a['ml-autoscaling.io/forecast-confidence'] == '1.00', a; \
assert a['ml-autoscaling.io/forecast-trend'] in ('rising','falling','flat'), a; \
assert a['ml-autoscaling.io/min-replicas-updated'] == '2026-11-25T17:00:00Z', a" "$MLA_TMP/p1.json"

echo "== the same object after the patch: nothing to send"
$PY - "$MLA_TMP/mid.json" "$MLA_TMP/p1.json" "$MLA_TMP/mid2.json" <<'PYEOF'
import json, sys
o, p = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
def merge(a, b):
    for k, v in b.items():
        if v is None: a.pop(k, None)
        elif isinstance(v, dict) and isinstance(a.get(k), dict): merge(a[k], v)
        else: a[k] = v
merge(o, p)
# what kube-apiserver records for the loop's server-side apply: it owns both counts
o["metadata"]["managedFields"] = [{"manager": "ml-autoscaling-loop", "operation": "Apply",
    "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:minReplicaCount": {}, "f:maxReplicaCount": {}}}}]
json.dump(o, open(sys.argv[3], "w"))
PYEOF
out=$("$D" --so "$MLA_TMP/mid2.json" --prom "$TESTPROM_URL" --now $((MIDDAY + 60)) 2>/dev/null)
[ "$out" = null ] || fail "expected no patch for an unchanged decision, got $out"

echo "== night (Thu 03:00 New York): outside business hours, nightMaxReplicas caps it"
so "$MLA_TMP/night.json" "$want" '{"ml-autoscaling.io/min-replicas-updated":"2026-11-25T17:00:00Z"}'
"$D" --so "$MLA_TMP/night.json" --prom "$TESTPROM_URL" --now "$NIGHT" >"$MLA_TMP/p2.json" 2>"$MLA_TMP/e2"
cat "$MLA_TMP/e2"
npeak=$(expect_peak "$NIGHT")
nwant=$($PY -c "import math; print(max(1, min(1, 16, 20, math.ceil($npeak/20 - 1e-9))))")
nrule=$($PY -c "import math; print('business_hours' if math.ceil($npeak/20 - 1e-9) > 1 else 'forecast')")
[ "$nrule" = business_hours ] || fail "fixture: the night forecast should exceed the night cap"
echo "   expected peak $npeak -> $nwant replicas by $nrule"
jq_ "assert p['spec']['minReplicaCount'] == $nwant, p['spec']; \
assert $A['ml-autoscaling.io/min-replicas-reason'].startswith('$nrule: '), $A" "$MLA_TMP/p2.json"
echo "   the night cap holds maxReplicaCount down too (the other triggers stay under it)"
jq_ "assert p['spec']['maxReplicaCount'] == max(1, $nwant), p['spec']; \
r=$A['ml-autoscaling.io/max-replicas-reason']; \
assert r.startswith('capped at %d outside business hours (nightMaxReplicas 1' % max(1, $nwant)), r; \
assert 'maxReplicaCount capped at' in $A['ml-autoscaling.io/min-replicas-reason'], $A" "$MLA_TMP/p2.json"

echo "== the next weekday midday: maxReplicaCount back to maxReplicas, the cap's reason removed"
$PY - "$MLA_TMP/night.json" "$MLA_TMP/p2.json" "$MLA_TMP/day2.json" <<'PYEOF'
import json, sys
o, p = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
def merge(a, b):
    for k, v in b.items():
        if v is None: a.pop(k, None)
        elif isinstance(v, dict) and isinstance(a.get(k), dict): merge(a[k], v)
        else: a[k] = v
merge(o, p)
json.dump(o, open(sys.argv[3], "w"))
PYEOF
DAY2=$((MIDDAY + 86400)) # Thu 12:00 New York
"$D" --so "$MLA_TMP/day2.json" --prom "$TESTPROM_URL" --now "$DAY2" >"$MLA_TMP/p2b.json" 2>"$MLA_TMP/e2b"
cat "$MLA_TMP/e2b"
jq_ "assert p['spec']['maxReplicaCount'] == 20, p['spec']; \
assert $A.get('ml-autoscaling.io/max-replicas-reason') is None, $A; \
assert 'maxReplicaCount restored to maxReplicas 20 inside business hours' in $A['ml-autoscaling.io/min-replicas-reason'], $A" \
  "$MLA_TMP/p2b.json"

echo "== no scale-down within scaleDownHoldMinutes of the last change (no night cap here)"
CFG_SAVE=$CFG; CFG=${CFG/\"nightMaxReplicas\":1/\"nightMaxReplicas\":null}
so "$MLA_TMP/hold.json" "$want" "{\"ml-autoscaling.io/min-replicas-updated\":\"$(date -u -d @$((NIGHT - 600)) +%Y-%m-%dT%H:%M:%SZ)\"}"
"$D" --so "$MLA_TMP/hold.json" --prom "$TESTPROM_URL" --now "$NIGHT" >"$MLA_TMP/p3.json" 2>"$MLA_TMP/e3"
cat "$MLA_TMP/e3"
jq_ "assert p['spec']['minReplicaCount'] == $want, p; assert $A.get('ml-autoscaling.io/max-replicas-reason') is None, p; \
r=$A['ml-autoscaling.io/min-replicas-reason']; assert 'maxReplicaCount' not in r, r; \
assert r.startswith('hysteresis: ') and 'within 30 min' in r, r; \
assert $A['ml-autoscaling.io/min-replicas-updated'] == '$(date -u -d @$((NIGHT - 600)) +%Y-%m-%dT%H:%M:%SZ)', $A" "$MLA_TMP/p3.json"
CFG=$CFG_SAVE

echo "== low confidence at midday: business hours alone"
"$D" --so "$MLA_TMP/mid.json" --prom "$TESTPROM_URL" --now "$MIDDAY" --confidence 0.3 >"$MLA_TMP/p4.json" 2>"$MLA_TMP/e4"
cat "$MLA_TMP/e4"
jq_ "assert p['spec']['minReplicaCount'] == 2, p; r=$A['ml-autoscaling.io/min-replicas-reason']; \
assert r.startswith('business_hours: ') and 'below the threshold 0.60' in r, r" "$MLA_TMP/p4.json"

echo "== paused ScaledObjects are skipped"
so "$MLA_TMP/paused.json" 1 '{"autoscaling.keda.sh/paused-replicas":"0"}'
out=$("$D" --so "$MLA_TMP/paused.json" --prom "$TESTPROM_URL" --now "$MIDDAY" 2>"$MLA_TMP/e5")
[ "$out" = null ] && grep -q "skipped: paused" "$MLA_TMP/e5" || fail "paused: $out $(cat "$MLA_TMP/e5")"

echo "== a bad config is an error naming the ScaledObject and the key"
CFG_SAVE=$CFG; CFG='{"enabled":true,"query":"x","quantile":2}'
so "$MLA_TMP/bad.json" 1; CFG=$CFG_SAVE
if "$D" --so "$MLA_TMP/bad.json" --prom "$TESTPROM_URL" --now "$MIDDAY" >/dev/null 2>"$MLA_TMP/e6"; then fail "bad config accepted"; fi
grep -q 'MLA_EINVAL: ScaledObject shop/web-so: predictive-config: "quantile" is 2' "$MLA_TMP/e6" || fail "$(cat "$MLA_TMP/e6")"

echo "== the real model (predict_forecast.h) over a week of history: the forecast decides at midday"
CFG_SAVE=$CFG; CFG=${CFG/\"lookbackHours\":48/\"lookbackHours\":168}
so "$MLA_TMP/real.json" 1; so "$MLA_TMP/real-night.json" 5; CFG=$CFG_SAVE
"$D" --so "$MLA_TMP/real.json" --prom "$TESTPROM_URL" --now "$MIDDAY" --model real >"$MLA_TMP/p8.json" 2>"$MLA_TMP/e8"
cat "$MLA_TMP/e8"
jq_ "a=$A; assert p['spec']['minReplicaCount'] > 2, p; \
assert a['ml-autoscaling.io/min-replicas-reason'].startswith('forecast: '), a; \
assert a['ml-autoscaling.io/forecast-trend'] in ('stable','increasing','decreasing','volatile'), a; \
assert float(a['ml-autoscaling.io/forecast-confidence']) >= 0.6, a" "$MLA_TMP/p8.json"
echo "== the real model at night: the night cap decides"
"$D" --so "$MLA_TMP/real-night.json" --prom "$TESTPROM_URL" --now "$NIGHT" --model real >"$MLA_TMP/p9.json" 2>"$MLA_TMP/e9"
cat "$MLA_TMP/e9"
jq_ "assert p['spec']['minReplicaCount'] == 1, p" "$MLA_TMP/p9.json"

echo "== Prometheus down: an error, no patch"
url=$TESTPROM_URL
testprom_stop
if "$D" --so "$MLA_TMP/mid.json" --prom "$url" --now "$MIDDAY" >"$MLA_TMP/p7" 2>"$MLA_TMP/e7"; then fail "no error with Prometheus down"; fi
cat "$MLA_TMP/e7"
grep -q "^MLA_EUNAVAIL: ScaledObject shop/web-so: load history: prometheus" "$MLA_TMP/e7" || fail "$(cat "$MLA_TMP/e7")"
[ ! -s "$MLA_TMP/p7" ] || fail "patch printed on error"
echo ok
