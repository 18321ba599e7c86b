#!/usr/bin/env bash
# The chart's PrometheusRule and the dashboards' queries are valid PromQL (promtool check
# rules), and the alerts fire when they should and stay quiet when they should not (promtool
# test rules with tests/chart/alerts-test.yaml).
set -euo pipefail
: "${MLA_ROOT:?run via tests/integration/run.sh}" "${MLA_TMP:?}"
. "$MLA_ROOT/tests/chart/lib.sh"
cd "$MLA_TMP"
command -v promtool >/dev/null || die "promtool not found: install the Debian package prometheus (make deps)"
build_renderer
printf 'metrics:\n  prometheusRule:\n    enabled: true\n' >mon.yaml
render rendered.yaml -f mon.yaml || die "chart render failed"
"$PY" - rendered.yaml "$MLA_ROOT/charts/ml-autoscaling/dashboards" <<'PY' || die "cannot extract the rules"
import glob, json, sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d["kind"] == "PrometheusRule"]
groups = docs[0]["spec"]["groups"]
yaml.safe_dump({"groups": groups}, open("rules-full.yaml", "w"))
for g in groups:
    for r in g["rules"]:
        if r.get("alert") != "MLAutoscalingBudgetExceeded":
            r.pop("annotations", None)
yaml.safe_dump({"groups": groups}, open("rules.yaml", "w"))
exprs = []
def walk(x):
    if isinstance(x, dict):
        for k, v in x.items():
            if k == "expr" and isinstance(v, str):
                exprs.append(v)
            else:
                walk(v)
    elif isinstance(x, list):
        for v in x:
            walk(v)
for f in sorted(glob.glob(sys.argv[2] + "/*.json")):
    walk(json.load(open(f)))
# Grafana variables become plain values so that promtool can parse the queries.
subs = {"$__rate_interval": "5m", "$lead": "15m", "$namespace": ".*", "$scaledobject": ".*", "$deployment": ".*"}
rules = []
for i, e in enumerate(exprs):
    for k, v in subs.items():
        e = e.replace(k, v)
    rules.append({"record": f"dashboard:query_{i}", "expr": e})
yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}, open("dashboards.yaml", "w"))
print(f"{sum(len(g['rules']) for g in groups)} alert rules, {len(rules)} dashboard queries")
PY
promtool check rules rules-full.yaml dashboards.yaml || die "invalid PromQL in the PrometheusRule or the dashboards"
cp "$MLA_ROOT/tests/chart/alerts-test.yaml" .
promtool test rules alerts-test.yaml || die "the alerts do not behave as tests/chart/alerts-test.yaml expects"
echo "alert rules: all checks passed"
