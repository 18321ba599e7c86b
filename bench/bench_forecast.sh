#!/usr/bin/env bash
# Forecaster figures: serving throughput (series of 2016 points per second on one core, time
# for 10,000 series), accuracy on the bundled NASA trace and the synthetic guard traces (model
# and each baseline, 1 - WAPE of the 30-minute-ahead forecast over the last 14 days), and the
# simulate figures on NASA (replica-hours, under-provisioned minutes, actions per strategy).
set -u
B=${MLA_BUILD:-build}
R=${MLA_ROOT:-.}
TR="$R/tests/fixtures/traces"
echo "-- throughput (one core)"
taskset -c 0 "$B/mla-bench-forecast" 10000 2016 2>/dev/null || "$B/mla-bench-forecast" 10000 2016
echo "-- accuracy: 1 - WAPE, 30 min ahead, 5-minute buckets, last 14 days, rolling origin"
for f in "$TR/nasa-kennedy-1995.per-minute.csv" "$TR"/synthetic/*.csv; do
  "$B/ml-autoscaling" forecast -f "$f" --evaluate --json | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
b = d["baselines"]
print("%-34s model %.4f | %s" % (sys.argv[1], d["model"],
      "  ".join("%s %.4f" % (k, v) for k, v in b.items() if v is not None)))' "$(basename "$f")"
done
echo "-- simulate on NASA (default capacity: the trace 99th percentile / 8)"
"$B/ml-autoscaling" simulate -f "$TR/nasa-kennedy-1995.per-minute.csv" | tail -5
