# Generates charts/ml-autoscaling/dashboards/*.json (overview, predictive, cost).
# Usage: /usr/bin/python3 tests/chart/gen/dashboards.py charts/ml-autoscaling/dashboards
# Edit here (or in Grafana, then export over the JSON and keep this in step).
import json, sys
out = sys.argv[1]
DS = {"type": "prometheus", "uid": "${datasource}"}

def tgt(expr, legend, ref):
    return {"datasource": DS, "expr": expr, "legendFormat": legend, "refId": ref, "range": True}

class D:
    def __init__(s, uid, title, desc, tags, variables):
        s.panels = []; s.y = 0; s.x = 0; s.h = 0; s.id = 0
        s.d = {"uid": uid, "title": title, "description": desc, "tags": ["ml-autoscaling"] + tags,
               "editable": True, "schemaVersion": 39, "version": 1, "refresh": "30s",
               "time": {"from": "now-6h", "to": "now"}, "timezone": "", "graphTooltip": 1,
               "annotations": {"list": []}, "links": [{"title": "ml-autoscaling dashboards", "type": "dashboards", "tags": ["ml-autoscaling"], "asDropdown": True}],
               "templating": {"list": [
                   {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
                    "current": {}, "hide": 0, "refresh": 1}] + variables}}
    def row(s, title):
        s.newline()
        s.id += 1
        s.panels.append({"id": s.id, "type": "row", "title": title, "collapsed": False,
                         "gridPos": {"h": 1, "w": 24, "x": 0, "y": s.y}, "panels": []})
        s.y += 1
    def newline(s):
        if s.x:
            s.y += s.h; s.x = 0; s.h = 0
    def panel(s, kind, title, desc, targets, w=12, h=8, unit=None, extra=None, thresholds=None):
        if s.x + w > 24: s.newline()
        s.id += 1
        p = {"id": s.id, "type": kind, "title": title, "description": desc, "datasource": DS,
             "gridPos": {"h": h, "w": w, "x": s.x, "y": s.y},
             "targets": [tgt(e, l, chr(65 + i)) for i, (e, l) in enumerate(targets)],
             "fieldConfig": {"defaults": {}, "overrides": []}, "options": {}}
        if unit: p["fieldConfig"]["defaults"]["unit"] = unit
        if thresholds:
            p["fieldConfig"]["defaults"]["thresholds"] = {"mode": "absolute", "steps": thresholds}
        if kind == "timeseries":
            p["options"] = {"legend": {"displayMode": "table", "placement": "bottom", "calcs": ["lastNotNull", "max"]},
                            "tooltip": {"mode": "multi", "sort": "desc"}}
        if extra: p.update(extra)
        s.panels.append(p)
        s.x += w; s.h = max(s.h, h)
    def dump(s, path):
        s.d["panels"] = s.panels
        with open(path, "w") as f:
            json.dump(s.d, f, indent=2, sort_keys=False); f.write("\n")

def qvar(name, label, query, multi=True):
    return {"name": name, "label": label, "type": "query", "datasource": DS,
            "query": {"query": query, "refId": "V"}, "definition": query, "refresh": 2,
            "includeAll": True, "multi": multi, "allValue": ".*", "current": {}, "hide": 0, "sort": 1}

RI = "$__rate_interval"
# ---------------- overview
d = D("mla-overview", "ml-autoscaling / Overview",
      "Webhook admissions, latency, decisions, API actions and errors of ml-autoscaling.", ["webhook"], [])
d.row("Admission")
d.panel("stat", "Admissions / s", "All AdmissionReviews answered.", [(f"sum(rate(mla_admission_requests_total[{RI}]))", "admissions/s")], w=6, h=4, unit="reqps")
d.panel("stat", "Admission errors / s", "Reviews answered with an error (failurePolicy decides what happens to the Deployment).",
        [(f"sum(rate(mla_admission_requests_total{{outcome=\"error\"}}[{RI}])) or vector(0)", "errors/s")], w=6, h=4, unit="reqps",
        thresholds=[{"color": "green", "value": None}, {"color": "red", "value": 0.001}])
d.panel("stat", "p99 admission latency", "99th percentile of the time to answer a review.",
        [(f"histogram_quantile(0.99, sum by (le) (rate(mla_admission_duration_seconds_bucket[{RI}])))", "p99")], w=6, h=4, unit="s",
        thresholds=[{"color": "green", "value": None}, {"color": "orange", "value": 0.5}, {"color": "red", "value": 2}])
d.panel("stat", "In flight", "Reviews being answered right now.", [("sum(mla_admission_in_flight)", "in flight")], w=6, h=4)
d.panel("timeseries", "Admissions by outcome", "patched: opted in and mutated; allowed: passed untouched; denied: invalid annotations; error: could not decide.",
        [(f"sum by (outcome, operation) (rate(mla_admission_requests_total[{RI}]))", "{{outcome}} {{operation}}")], unit="reqps")
d.panel("timeseries", "Admission latency", "Quantiles per path: opted_in (decide + patch) vs not_opted_in (the hot path).",
        [(f"histogram_quantile(0.50, sum by (le, path) (rate(mla_admission_duration_seconds_bucket[{RI}])))", "p50 {{path}}"),
         (f"histogram_quantile(0.99, sum by (le, path) (rate(mla_admission_duration_seconds_bucket[{RI}])))", "p99 {{path}}")], unit="s")
d.panel("timeseries", "HTTP requests by route and code", "Everything the HTTPS listener served.",
        [(f"sum by (route, code) (rate(mla_http_requests_total[{RI}]))", "{{route}} {{code}}")], unit="reqps")
d.panel("timeseries", "Admissions in flight", "Concurrent reviews per replica.", [("mla_admission_in_flight", "{{pod}}")])
d.row("Decisions and actions")
d.panel("timeseries", "Loop decisions by rule", "Which rule set each minReplicaCount: forecast, business_hours, cost_cap, bounds, hysteresis, fallback.",
        [(f"sum by (rule) (rate(mla_predict_decisions_total[{RI}]))", "{{rule}}")], unit="ops")
d.panel("timeseries", "API actions by result", "Worker writes after a Deployment is stored: apply, remove, delete_hpa, transfer_hpa, restore_hpa, event.",
        [(f"sum by (action, result) (rate(mla_worker_actions_total[{RI}]))", "{{action}} {{result}}")], unit="ops")
d.panel("timeseries", "Work queue depth", "Workloads (Deployments, StatefulSets, Jobs) admitted or queued by the loop and waiting for the worker.", [("sum(mla_worker_queue_depth)", "queued")])
d.panel("timeseries", "Stored to applied", "From the Deployment stored to its ScaledObject applied.",
        [(f"histogram_quantile(0.50, sum by (le) (rate(mla_worker_stored_to_applied_seconds_bucket[{RI}])))", "p50"),
         (f"histogram_quantile(0.99, sum by (le) (rate(mla_worker_stored_to_applied_seconds_bucket[{RI}])))", "p99")], unit="s")
d.panel("timeseries", "Reconcile runs and repairs", "The leader's periodic loop: runs by result and what it repaired.",
        [(f"sum by (result) (rate(mla_reconcile_runs_total[{RI}]))", "runs {{result}}"),
         (f"sum by (kind) (rate(mla_reconcile_repairs_total[{RI}]))", "repair {{kind}}")], unit="ops")
d.panel("timeseries", "Leader", "1 on the replica that holds the Lease; exactly one replica should.", [("mla_leader", "{{pod}}"), ("sum(mla_leader)", "leaders")])
d.row("Errors")
d.panel("timeseries", "Errors", "Admission errors, failed API actions, retries and items the worker gave up on.",
        [(f"sum(rate(mla_admission_requests_total{{outcome=\"error\"}}[{RI}]))", "admission errors"),
         (f"sum by (action) (rate(mla_worker_actions_total{{result=\"error\"}}[{RI}]))", "action {{action}} failed"),
         (f"sum(rate(mla_worker_retries_total[{RI}]))", "worker retries"),
         (f"sum(rate(mla_worker_gave_up_total[{RI}]))", "worker gave up")], unit="ops")
d.panel("timeseries", "Kubernetes API requests by code", "Calls to kube-apiserver; 429, 5xx and error (transport) are the ones to watch.",
        [(f"sum by (verb, code) (rate(mla_kube_requests_total[{RI}]))", "{{verb}} {{code}}")], unit="reqps")
d.panel("stat", "Last policy reload", "1: the last reload of the policy files succeeded. 0: serving the last good set (see logs and /readyz).",
        [("min(mla_policy_last_reload_ok)", "ok")], w=8, h=5,
        thresholds=[{"color": "red", "value": None}, {"color": "green", "value": 1}])
d.panel("timeseries", "Policy reloads", "Reloads of the policies ConfigMap by result.",
        [(f"sum by (result) (increase(mla_policy_reloads_total[{RI}]))", "{{result}}")], w=8, h=5)
d.panel("table", "Versions and policy hash", "Build version and policy set hash of each replica.",
        [("mla_build_info", "{{version}}"), ("mla_policy_info", "{{hash}}")], w=8, h=5,
        extra={"targets": [dict(tgt("mla_build_info", "", "A"), format="table", instant=True), dict(tgt("mla_policy_info", "", "B"), format="table", instant=True)]})
d.dump(f"{out}/overview.json")

# ---------------- predictive
SEL = 'namespace=~"$namespace", scaledobject=~"$scaledobject"'
d = D("mla-predictive", "ml-autoscaling / Predictive scaling",
      "Forecast vs observed load, forecast accuracy and confidence, and the minReplicaCount the leader chose.", ["predictive"],
      [qvar("namespace", "Namespace", "label_values(mla_min_replicas, namespace)"),
       qvar("scaledobject", "ScaledObject", 'label_values(mla_min_replicas{namespace=~"$namespace"}, scaledobject)'),
       {"name": "lead", "label": "Scale-ahead (for accuracy)", "type": "custom", "query": "5m,10m,15m,20m,30m",
        "current": {"text": "15m", "value": "15m"}, "hide": 0,
        "options": [{"text": v, "value": v, "selected": v == "15m"} for v in ["5m", "10m", "15m", "20m", "30m"]]}])
d.row("Forecast")
d.panel("timeseries", "Forecast vs observed load", "Forecast peak over the scale-ahead window (upper bound) against the last observed load.",
        [(f"mla_predicted_load{{{SEL}}}", "forecast {{namespace}}/{{scaledobject}}"),
         (f"mla_observed_load{{{SEL}}}", "observed {{namespace}}/{{scaledobject}}")], w=24, h=9)
d.panel("timeseries", "Forecast accuracy (observed peak / forecast made $lead earlier)",
        "Peak load observed over the last $lead divided by the peak forecast $lead ago for that window. At or below 1: the forecast covered the load; above 1: under-forecast.",
        [(f"max by (namespace, scaledobject) (max_over_time(mla_observed_load{{{SEL}}}[$lead])) / max by (namespace, scaledobject) (mla_predicted_load{{{SEL}}} offset $lead > 0)", "{{namespace}}/{{scaledobject}}")],
        unit="percentunit", thresholds=[{"color": "green", "value": None}, {"color": "red", "value": 1}])
d.panel("timeseries", "Forecast confidence", "Strength of the daily/weekly cycle found in the history, 0..1. Below the policy's threshold the loop falls back to business hours.",
        [(f"mla_forecast_confidence{{{SEL}}}", "{{namespace}}/{{scaledobject}}")], unit="percentunit",
        extra={"fieldConfig": {"defaults": {"unit": "percentunit", "min": 0, "max": 1,
                                            "thresholds": {"mode": "absolute", "steps": [{"color": "red", "value": None}, {"color": "green", "value": 0.6}]},
                                            "custom": {"thresholdsStyle": {"mode": "line"}}}, "overrides": []}})
d.row("Decisions")
d.panel("timeseries", "Chosen minReplicaCount", "The minReplicaCount the leader wrote on each ScaledObject.",
        [(f"mla_min_replicas{{{SEL}}}", "{{namespace}}/{{scaledobject}}")], w=12,
        extra={"fieldConfig": {"defaults": {"decimals": 0, "custom": {"lineInterpolation": "stepAfter"}}, "overrides": []}})
d.panel("timeseries", "Decisions by rule", "Which rule decided: forecast, business_hours, cost_cap, bounds, hysteresis, fallback.",
        [(f"sum by (rule) (increase(mla_predict_decisions_total{{{SEL}}}[$__rate_interval]))", "{{rule}}")], w=12,
        extra={"options": {"legend": {"displayMode": "table", "placement": "bottom", "calcs": ["sum"]}, "tooltip": {"mode": "multi"}},
               "fieldConfig": {"defaults": {"custom": {"drawStyle": "bars", "stacking": {"mode": "normal"}}}, "overrides": []}})
d.panel("table", "Current state", "Per ScaledObject: forecast, observed, confidence and minReplicaCount now.",
        [], w=24, h=8,
        extra={"targets": [dict(tgt(f"mla_predicted_load{{{SEL}}}", "", "A"), format="table", instant=True),
                           dict(tgt(f"mla_observed_load{{{SEL}}}", "", "B"), format="table", instant=True),
                           dict(tgt(f"mla_forecast_confidence{{{SEL}}}", "", "C"), format="table", instant=True),
                           dict(tgt(f"mla_min_replicas{{{SEL}}}", "", "D"), format="table", instant=True)],
               "transformations": [{"id": "merge", "options": {}},
                                   {"id": "organize", "options": {"excludeByName": {"Time": True, "__name__": True, "instance": True, "job": True, "pod": True, "endpoint": True, "service": True, "container": True},
                                                                  "renameByName": {"Value #A": "forecast peak", "Value #B": "observed", "Value #C": "confidence", "Value #D": "minReplicas"}}}]})
d.dump(f"{out}/predictive.json")

# ---------------- cost
SELD = 'namespace=~"$namespace", deployment=~"$deployment"'
d = D("mla-cost", "ml-autoscaling / Cost",
      "Per workload: replicas x replica hourly cost, against the policy's max hourly cost.", ["cost"],
      [qvar("namespace", "Namespace", "label_values(mla_workload_replicas, namespace)"),
       qvar("deployment", "Deployment", 'label_values(mla_workload_replicas{namespace=~"$namespace"}, deployment)')])
d.row("Totals")
d.panel("stat", "Hourly cost, all selected workloads", "Sum of replicas x replica hourly cost.",
        [(f"sum(mla_workload_hourly_cost{{{SELD}}})", "per hour")], w=8, h=4, extra={"fieldConfig": {"defaults": {"decimals": 2}, "overrides": []}})
d.panel("stat", "Workloads over their cap", "Workloads whose current hourly cost exceeds the policy's cap.",
        [(f"count(max by (namespace, deployment) (mla_workload_hourly_cost{{{SELD}}}) > max by (namespace, deployment) (mla_workload_hourly_cost_cap{{{SELD}}} > 0)) or vector(0)", "over cap")], w=8, h=4,
        thresholds=[{"color": "green", "value": None}, {"color": "red", "value": 1}])
d.panel("stat", "Replicas", "Replicas of the selected workloads.", [(f"sum(mla_workload_replicas{{{SELD}}})", "replicas")], w=8, h=4)
d.row("Per workload")
d.panel("timeseries", "Hourly cost vs cap", "Current replicas x replica hourly cost (solid) and the policy's max hourly cost (dashed).",
        [(f"mla_workload_hourly_cost{{{SELD}}}", "cost {{namespace}}/{{deployment}}"),
         (f"mla_workload_hourly_cost_cap{{{SELD}}} > 0", "cap {{namespace}}/{{deployment}}")], w=24, h=9,
        extra={"fieldConfig": {"defaults": {"decimals": 2}, "overrides": [
            {"matcher": {"id": "byRegexp", "options": "cap .*"},
             "properties": [{"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}}]}]}})
d.panel("timeseries", "Replicas", "Replicas per workload.", [(f"mla_workload_replicas{{{SELD}}}", "{{namespace}}/{{deployment}}")],
        extra={"fieldConfig": {"defaults": {"decimals": 0, "custom": {"lineInterpolation": "stepAfter"}}, "overrides": []}})
d.panel("timeseries", "Share of cap used", "Hourly cost divided by the cap; above 100% the budget is exceeded.",
        [(f"max by (namespace, deployment) (mla_workload_hourly_cost{{{SELD}}}) / max by (namespace, deployment) (mla_workload_hourly_cost_cap{{{SELD}}} > 0)", "{{namespace}}/{{deployment}}")],
        unit="percentunit", thresholds=[{"color": "green", "value": None}, {"color": "orange", "value": 0.9}, {"color": "red", "value": 1}])
d.panel("table", "Workloads", "Replicas, hourly cost and cap now.", [], w=24, h=8,
        extra={"targets": [dict(tgt(f"mla_workload_replicas{{{SELD}}}", "", "A"), format="table", instant=True),
                           dict(tgt(f"mla_workload_hourly_cost{{{SELD}}}", "", "B"), format="table", instant=True),
                           dict(tgt(f"mla_workload_hourly_cost_cap{{{SELD}}}", "", "C"), format="table", instant=True)],
               "transformations": [{"id": "merge", "options": {}},
                                   {"id": "organize", "options": {"excludeByName": {"Time": True, "__name__": True, "instance": True, "job": True, "pod": True, "endpoint": True, "service": True, "container": True},
                                                                  "renameByName": {"Value #A": "replicas", "Value #B": "hourly cost", "Value #C": "hourly cap"}}}]})
d.dump(f"{out}/cost.json")
