#!/usr/bin/env bash
# simulate --lookback-hours H (issue 17): the predictive floor is decided on the forecast the
# loop computes, a one-shot forecast of the last H hours at each step, not on the all-history
# backtest. On a short synthetic trace (10 days at 300 s):
#  - a step's forecast (point and upper bound, made at step i for i + lead) equals what
#    `forecast --lookback-hours H --json` gives on the trace cut at step i, which takes by itself
#    the loop's window (H hours and both ends: H * 3600 / step + 1 points) and the loop's
#    defaults (quantile 0.82, anomaly threshold 3.5); before the window is full (step 300) and
#    after (700, 1100); and once a week of points has left the window (2700), when the weekly
#    profile the loop carries seeds its forecast: forecast replays that profile from the points
#    before the window (without them, the same window forecasts otherwise);
#  - it differs from the backtest's (the path replayed really changed), and --json, the text
#    summary and the --plot SVG say which path was replayed; without the flag none of the new
#    keys appear (the default output is unchanged);
#  - --lookback-hours 0 is a usage error (exit 2); under MLA_VALGRIND=1, no leak.
set -euo pipefail
BIN="$MLA_BUILD/ml-autoscaling"
PY=/usr/bin/python3
fail() { echo "FAIL: $*"; exit 1; }
T="$MLA_TMP/short.csv"

$PY - "$T" <<'PY'
import math, random, sys
random.seed(7)
t0 = 1767571200
with open(sys.argv[1], "w") as f:
    f.write("timestamp,requests\n")
    for i in range(10 * 288):
        d = (i % 288) / 288
        v = 100 + 80 * math.sin(2 * math.pi * (d - 0.3)) + (150 if 0.55 < d < 0.6 else 0)
        f.write("%d,%d\n" % (t0 + 300 * i, max(0, round(v + random.gauss(0, 10)))))
PY

echo "== simulate --lookback-hours 48 vs the backtest"
"$BIN" simulate -f "$T" --lookback-hours 48 --json "$MLA_TMP/lb.json" --plot "$MLA_TMP/lb.svg" \
  >"$MLA_TMP/lb.txt"
"$BIN" simulate -f "$T" --json "$MLA_TMP/all.json" --plot "$MLA_TMP/all.svg" >"$MLA_TMP/all.txt"
grep -q "forecast: the loop's path, a one-shot forecast of the last 48 h" "$MLA_TMP/lb.txt" \
  || fail "the text summary does not name the loop's path: $(cat "$MLA_TMP/lb.txt")"
! grep -q "forecast:" "$MLA_TMP/all.txt" || fail "the default text summary changed"
grep -q "the loop's path, last 48 h" "$MLA_TMP/lb.svg" || fail "the SVG title lacks the path"
grep -q "all-history backtest" "$MLA_TMP/all.svg" || fail "the default SVG lacks the path"

for i in 300 700 1100 2700; do
  head -n $((i + 2)) "$T" >"$MLA_TMP/cut.csv" # the header and steps 0..i
  # forecast --lookback-hours takes the loop's window (577 points) and defaults by itself
  "$BIN" forecast -f "$MLA_TMP/cut.csv" --lookback-hours 48 --horizon 15 --step 300 --json \
    >"$MLA_TMP/fc$i.json"
done
# the window at step 2700 alone (577 points, nothing before it): no profile to replay
{ head -n 1 "$T"; sed -n "$((2700 - 576 + 2)),$((2700 + 2))p" "$T"; } >"$MLA_TMP/win.csv"
"$BIN" forecast -f "$MLA_TMP/win.csv" --lookback-hours 48 --horizon 15 --step 300 --json \
  >"$MLA_TMP/win.json"
$PY - "$MLA_TMP" <<'PY' || fail "simulate's forecasts are not the loop's"
import json, os, sys
d = sys.argv[1]
lb = json.load(open(os.path.join(d, "lb.json")))
al = json.load(open(os.path.join(d, "all.json")))
assert lb["params"]["lookback_hours"] == 48 and lb["forecast_path"] == "lookback", lb["params"]
assert "lookback_hours" not in al["params"] and "forecast_path" not in al, al["params"]
H = 3  # 15 min at 300 s
differ = 0
for i in (300, 700, 1100, 2700):
    fj = json.load(open(os.path.join(d, "fc%d.json" % i)))
    # 48 h at 300 s: 576 steps, 577 points with both ends (before the window is full, all of them)
    assert fj["points"] == min(577, i + 1), (i, fj["points"])
    assert fj["quantile"] == 0.82, fj["quantile"]  # the loop's default, not forecast's 0.95
    f = fj["forecast"][H - 1]
    for key, fkey in (("forecast_upper", "upper"), ("forecast_point", "point")):
        got, want = lb["series"][key][i + H], f[fkey]
        # simulate prints 4 significant digits
        assert got is not None and abs(got - want) <= 6e-4 * abs(want) + 1e-9, (i, key, got, want)
        differ += al["series"][key][i + H] != got
    print("  step %d: upper %s point %s (backtest: %s %s)" % (
        i, lb["series"]["forecast_upper"][i + H], lb["series"]["forecast_point"][i + H],
        al["series"]["forecast_upper"][i + H], al["series"]["forecast_point"][i + H]))
assert differ >= 3, "the lookback forecasts are the backtest's: %d of 8 differ" % differ
w = json.load(open(os.path.join(d, "win.json")))
assert w["points"] == 577, w["points"]
seeded = json.load(open(os.path.join(d, "fc2700.json")))["forecast"][H - 1]["point"]
assert abs(w["forecast"][H - 1]["point"] - seeded) > 1e-3 * seeded, (
    "the carried profile changed nothing", w["forecast"][H - 1], seeded)
PY

echo "== usage"
rc=0; "$BIN" simulate -f "$T" --lookback-hours 0 >/dev/null 2>"$MLA_TMP/e" || rc=$?
[ "$rc" = 2 ] && grep -q -- "--lookback-hours" "$MLA_TMP/e" || fail "--lookback-hours 0: exit $rc"
"$BIN" simulate --help | grep -q -- "--lookback-hours" || fail "simulate --help"

if [ "${MLA_VALGRIND:-0}" = 1 ]; then
  echo "== valgrind: simulate --lookback-hours"
  valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
    "$BIN" simulate -f "$T" --lookback-hours 24 --json "$MLA_TMP/vg.json" >/dev/null \
    || fail "valgrind: exit $?"
fi
echo "all simulate --lookback-hours checks passed"
