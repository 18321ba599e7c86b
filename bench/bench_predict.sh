#!/usr/bin/env bash
# Cost of one predictive-loop step (config parse, Prometheus query_range over 168 h at 300 s =
# 2017 points from mla-testprom on loopback, toy forecast, decision, patch) and of the same step
# with business hours only (no Prometheus). Prints figures; never fails the build.
set -eu
. "$MLA_ROOT/tests/integration/lib_testprom.sh"
MLA_TMP=$(mktemp -d); trap 'testprom_stop; rm -rf "$MLA_TMP"' EXIT
NOW=1795626000; AT=805564800
testprom_start --trace "$MLA_ROOT/tests/fixtures/traces/nasa-kennedy-1995.per-minute.csv" --trace-at $AT --now $NOW
mk() {
  /usr/bin/python3 - "$1" "$2" <<'PY'
import json, sys
cfg = json.loads(sys.argv[2])
json.dump({"metadata": {"name": "web-so", "namespace": "shop", "annotations": {
    "ml-autoscaling.io/predictive-config": json.dumps(cfg)}}, "spec": {"minReplicaCount": 1}},
    open(sys.argv[1], "w"))
PY
}
mk "$MLA_TMP/p.json" '{"enabled":true,"query":"x","lookbackHours":168,"stepSeconds":300,"capacityPerReplica":20,"businessHours":[{"days":"Mon-Fri","start":"09:00","end":"18:00","minReplicas":2}],"timezone":"America/New_York","minReplicas":1,"maxReplicas":20}'
mk "$MLA_TMP/h.json" '{"enabled":false,"businessHours":[{"days":"Mon-Fri","start":"09:00","end":"18:00","minReplicas":2}],"timezone":"America/New_York","minReplicas":1,"maxReplicas":20}'
printf "predictive step (168 h history): "
"$MLA_BUILD/mla-predict-once" --so "$MLA_TMP/p.json" --prom "$TESTPROM_URL" --now $NOW --repeat 200 2>&1 >/dev/null | grep steps
printf "business-hours-only step:        "
"$MLA_BUILD/mla-predict-once" --so "$MLA_TMP/h.json" --prom "$TESTPROM_URL" --now $NOW --repeat 20000 2>&1 >/dev/null | grep steps
