#!/usr/bin/env bash
# forecast and simulate on the bundled NASA trace and the synthetic guard traces:
#  - forecast --evaluate: the 'accuracy <model> <best-baseline>' line; model >= best baseline on
#    every trace, and >= 0.81 on NASA (issue 17); with --lookback-hours 336 (the loop's way: its
#    window, defaults and carried weekly profile) >= 0.81 too, and weekly_sharp >= its best
#    baseline + 0.02;
#  - forecast text/--json output, usage and file errors (exit 2, FILE:LINE);
#  - simulate --json: the summary is recomputable from the per-step series, and predictive has
#    >= 50% fewer under-provisioned minutes than reactive at <= 15% more replica-hours;
#  - simulate --plot: a well-formed SVG with the five series and a legend;
#  - simulate on NASA, the bursty and the season-breaking synthetic traces: the issue 17 goals.
set -euo pipefail
BIN="$MLA_BUILD/ml-autoscaling"
TR="$MLA_ROOT/tests/fixtures/traces"
NASA="$TR/nasa-kennedy-1995.per-minute.csv"
PY=/usr/bin/python3
fail() { echo "FAIL: $*"; exit 1; }

echo "== forecast --evaluate on NASA"
out=$("$BIN" forecast -f "$NASA" --evaluate)
echo "$out"
line=$(echo "$out" | tail -1)
[[ "$line" =~ ^accuracy\ ([0-9]+\.[0-9]{3})\ ([0-9]+\.[0-9]{3})$ ]] || fail "last line '$line'"
model=${BASH_REMATCH[1]}; best=${BASH_REMATCH[2]}
awk -v m="$model" -v b="$best" 'BEGIN { exit !(m >= b && m >= 0.81) }' \
  || fail "NASA: model $model, best baseline $best (want model >= best and >= 0.81)"
echo "$out" | grep >/dev/null "last 14.00 days" || fail "window is not 14 days"

echo "== forecast --evaluate --lookback-hours: scored as the loop runs it (fresh forecast per origin)"
"$BIN" forecast -f "$NASA" --evaluate --lookback-hours 336 --json >"$MLA_TMP/ev336.json"
$PY - "$MLA_TMP/ev336.json" <<'PY' || fail "NASA --lookback-hours 336"
import json, sys
e = json.load(open(sys.argv[1]))
print("  NASA, loop's way (336 h):", e["model"], "best baseline", max(e["baselines"].values()))
assert e["lookback_hours"] == 336 and e["eval_points"] > 3900, e
assert e["lookback_points"] == 4033, e  # the loop's window: 336 h of 300-s steps, both ends
assert e["model"] >= max(e["baselines"].values()) and e["model"] >= 0.81, e
PY
# weekly_sharp (a 2-hour Monday peak): issue 17's +0.02 over the best simple baseline on the
# loop's path. It holds from the ninth round on (seeded profile slots move at the carried
# profile's gain, docs/forecasting.md): +0.0174 before, +0.0226 after.
"$BIN" forecast -f "$TR/synthetic/weekly_sharp.csv" --evaluate --lookback-hours 336 --json \
  >"$MLA_TMP/ws336.json"
$PY - "$MLA_TMP/ws336.json" <<'PY' || fail "weekly_sharp --lookback-hours 336"
import json, sys
e = json.load(open(sys.argv[1]))
best = max(e["baselines"].values())
print("  weekly_sharp, loop's way (336 h):", e["model"], "best baseline", best)
assert e["model"] >= best + 0.02, e
PY
"$BIN" forecast -f "$NASA" --evaluate --json | grep -q '"lookback_hours":null' \
  || fail "one-pass --evaluate --json lacks lookback_hours null"
rc=0; "$BIN" forecast -f "$NASA" --evaluate --lookback-hours 0 2>"$MLA_TMP/lb.err" || rc=$?
[ "$rc" = 2 ] && grep -q -- "--lookback-hours" "$MLA_TMP/lb.err" || fail "--lookback-hours 0: exit $rc"

echo "== forecast --evaluate on the synthetic traces (ensemble >= best baseline)"
for f in "$TR"/synthetic/*.csv; do
  line=$("$BIN" forecast -f "$f" --evaluate | tail -1)
  read -r _ m b <<<"$line"
  echo "$(basename "$f"): model $m best baseline $b"
  awk -v m="$m" -v b="$b" 'BEGIN { exit !(m >= b) }' || fail "$(basename "$f"): $m < $b"
done

echo "== forecast text and JSON"
txt=$("$BIN" forecast -f "$NASA")
for want in "Forecast (point" "daily   present" "weekly  present" "Trend:" "Confidence:" \
            "Min-replica schedule"; do
  grep -qF "$want" <<<"$txt" || fail "text output lacks '$want'"
done
"$BIN" forecast -f "$NASA" --json --capacity-per-replica 20 --min 2 --max 9 >"$MLA_TMP/fc.json"
$PY - "$MLA_TMP/fc.json" <<'PYEOF'
import json, math, sys
d = json.load(open(sys.argv[1]))
assert d["horizon_steps"] == 6 and len(d["forecast"]) == 6, d["horizon_steps"]
for p in d["forecast"]:
    assert p["lower"] <= p["point"] <= p["upper"], p
assert d["cycles"]["daily"]["present"] and 0 <= d["cycles"]["daily"]["confidence"] <= 1
assert d["trend"] in ("stable", "increasing", "decreasing", "volatile")
assert abs(sum(c["weight"] for c in d["candidates"]) - 1) < 1e-3
assert d["anomalies"] > 500, d["anomalies"]  # the 1995-08-01..03 outage at least
s = d["schedule"]
assert len(s) == 24 and all(2 <= h["min_replicas"] <= 9 for h in s), s
print("json ok: point", d["forecast"][-1]["point"], "schedule", [h["min_replicas"] for h in s])
PYEOF
# A trace in another shape and step works too (hourly, 10 days).
$PY - "$MLA_TMP/hourly.csv" <<'PYEOF'
import math, sys
with open(sys.argv[1], "w") as f:
    f.write("time,value\n")
    for i in range(240):
        f.write("%d,%.2f\n" % (1700000000 + 3600 * i, 50 + 20 * math.sin(2 * math.pi * i / 24)))
PYEOF
"$BIN" forecast -f "$MLA_TMP/hourly.csv" --step 3600 --horizon 180 | grep >/dev/null "daily   present" \
  || fail "hourly trace: daily cycle not found"

echo "== usage and file errors exit 2"
set +e
"$BIN" forecast >/dev/null 2>"$MLA_TMP/e1"; rc1=$?
"$BIN" forecast -f "$MLA_TMP/none.csv" >/dev/null 2>"$MLA_TMP/e2"; rc2=$?
printf 'timestamp,count\n60,1\n120,x\n' >"$MLA_TMP/bad.csv"
"$BIN" forecast -f "$MLA_TMP/bad.csv" >/dev/null 2>"$MLA_TMP/e3"; rc3=$?
"$BIN" forecast -f "$NASA" --quantile 2 >/dev/null 2>"$MLA_TMP/e4"; rc4=$?
"$BIN" simulate -f "$NASA" --business-hours "Funday 9-5" >/dev/null 2>"$MLA_TMP/e5"; rc5=$?
set -e
[ $rc1 = 2 ] && grep -q "required" "$MLA_TMP/e1" || fail "no -f: rc $rc1"
[ $rc2 = 2 ] && grep -q "none.csv" "$MLA_TMP/e2" || fail "missing file: rc $rc2"
[ $rc3 = 2 ] && grep -q "bad.csv:3:" "$MLA_TMP/e3" || fail "bad row: rc $rc3 $(cat "$MLA_TMP/e3")"
[ $rc4 = 2 ] && grep -q "quantile" "$MLA_TMP/e4" || fail "bad quantile: rc $rc4"
[ $rc5 = 2 ] && grep -q "business-hours" "$MLA_TMP/e5" || fail "bad hours: rc $rc5"
"$BIN" forecast --help | grep >/dev/null -- "--evaluate" || fail "forecast --help"
"$BIN" simulate --help | grep >/dev/null -- "--cold-start" || fail "simulate --help"

echo "== simulate --json and --plot on NASA"
"$BIN" simulate -f "$NASA" --json - --plot "$MLA_TMP/sim.svg" >"$MLA_TMP/sim.json" 2>"$MLA_TMP/sim.txt"
cat "$MLA_TMP/sim.txt"
$PY - "$MLA_TMP/sim.json" <<'PYEOF'
import json, math, sys
d = json.load(open(sys.argv[1]))
step, cap = d["step_seconds"], d["params"]["capacity_per_replica"]
ser = d["series"]
load = ser["load"]
n = len(load)
assert n == d["points"] and len(ser["timestamp"]) == n
for k, want in d["summary"].items():
    reps, ready = ser[k + "_replicas"], ser[k + "_ready"]
    assert len(reps) == n and len(ready) == n
    rh = sum(r * step / 3600 for r, l in zip(reps, load) if l is not None)
    under = sum(step / 60 for rd, l in zip(ready, load) if l is not None and l > rd * cap)
    actions = sum(1 for i in range(1, n) if reps[i] != reps[i - 1])
    assert abs(rh - want["replica_hours"]) < 1e-3 * max(1, rh), (k, rh, want)
    assert abs(under - want["under_provisioned_minutes"]) < 1e-6, (k, under, want)
    assert actions == want["scaling_actions"], (k, actions, want)
    assert all(rd <= r for rd, r in zip(ready, reps)), k
    print("%-15s recomputed: %.1f replica-hours, %.0f under-provisioned min, %d actions"
          % (k, rh, under, actions))
fl = ser["predictive_floor"]  # the loop's minReplicaCount decision at each step
assert len(fl) == n and all(r >= f for r, f in zip(ser["predictive_replicas"], fl))
# the floor always covers the point forecast it was decided on (made at i for i + lead), and
# buys the band's next replica only past a quarter of it (issue 17: the band's slack)
lead = round(d["params"]["lead_minutes"] * 60 / step)
pt, up = ser["forecast_point"], ser["forecast_upper"]
assert len(pt) == n
lo, hi = d["params"]["min"], d["params"]["max"]
short = [i for i in range(n - lead) if pt[i + lead] is not None
         and fl[i] < min(hi, max(lo, math.ceil(pt[i + lead] / cap - 1e-9)))]
assert not short, short[:5]
bands = sum(1 for i in range(n - lead) if up[i + lead] is not None and pt[i + lead] is not None
            and math.ceil(up[i + lead] / cap - 1e-9) > max(fl[i], math.ceil(pt[i + lead] / cap - 1e-9)))
assert bands > 0, "the slack never left a band's replica unbought"
print("floor covers the point forecast at every step; %d steps leave the band's last replica unbought" % bands)
assert d["params"]["scale_down_hold_minutes"] == 15 and d["params"]["hysteresis_step"] == 1, d["params"]
s = d["summary"]
cost = s["predictive"]["replica_hours"] / s["reactive"]["replica_hours"]
under = s["predictive"]["under_provisioned_minutes"] / s["reactive"]["under_provisioned_minutes"]
print("predictive vs reactive: cost x%.3f, under-provisioned x%.3f" % (cost, under))
assert under <= 0.5, under
assert cost <= 1.15, cost
PYEOF
$PY - "$MLA_TMP/sim.svg" <<'PYEOF'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
ns = "{http://www.w3.org/2000/svg}"
assert root.tag == ns + "svg", root.tag
lines = root.findall(".//" + ns + "polyline")
texts = " ".join(t.text or "" for t in root.iter(ns + "text"))
assert len(lines) >= 10, len(lines)
for want in ("reactive replicas", "predictive replicas", "business-hours replicas", "load",
             "forecast", "replicas (load", "predictive floor"):
    assert want in texts, want
print("svg ok: %d polylines" % len(lines))
PYEOF
echo "== simulate goals on every kind of load (issue 17): predictive vs reactive"
# trace, max under-provisioned ratio: NASA -50 %, the bursty stream -30 %, the others (no goal
# of their own) at least no worse than reactive. Everywhere: no more scaling actions than
# reactive, at most +15 % replica-hours (weekly_sharp was +38 % before the band's slack;
# sharp_daily is the tightest: +14.1 %, its 30-minute daily peak bought 15 minutes ahead).
for spec in "$NASA 0.5" "$TR/synthetic/bursty.csv 0.7" "$TR/synthetic/season_breaks.csv 1.0" \
            "$TR/synthetic/weekly_sharp.csv 1.0" "$TR/synthetic/sharp_daily.csv 1.0" \
            "$TR/synthetic/noise.csv 1.0" "$TR/synthetic/ramp.csv 1.0"; do
  read -r f umax <<<"$spec"
  "$BIN" simulate -f "$f" >"$MLA_TMP/goal.txt"
  awk -v umax="$umax" -v name="$(basename "$f")" '
    NF == 4 && $1 == "reactive"   { rh = $2; ru = $3; ra = $4 }
    NF == 4 && $1 == "predictive" { ph = $2; pu = $3; pa = $4 }
    END {
      printf "  %-36s replica-hours %+.1f%%  under-provisioned %+.1f%%  actions %d vs %d\n",
             name, 100 * (ph / rh - 1), 100 * (pu / ru - 1), pa, ra
      exit !(pa <= ra && ph <= 1.15 * rh && pu <= umax * ru)
    }' "$MLA_TMP/goal.txt" || fail "$(basename "$f"): goals missed: $(cat "$MLA_TMP/goal.txt")"
done

echo "== simulate: the predictive floor goes through the loop's hysteresis (scale-down hold)"
a0=$("$BIN" simulate -f "$TR/synthetic/bursty.csv" --scale-down-hold 0 | awk 'NF == 4 && $1 == "predictive" { print $4 }')
a15=$("$BIN" simulate -f "$TR/synthetic/bursty.csv" | awk 'NF == 4 && $1 == "predictive" { print $4 }')
echo "  bursty: $a0 scaling actions without a hold, $a15 with the default 15 min"
[ "$a15" -lt "$a0" ] || fail "the scale-down hold did not reduce scaling actions ($a15 vs $a0)"

echo "all forecast CLI checks passed"
