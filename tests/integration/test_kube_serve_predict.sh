#!/usr/bin/env bash
# The whole chain through `serve`: admission (policy engine) -> worker applies the ScaledObject
# with its predictive-config -> the leader's loop runs the predictive step against Prometheus
# (mla-testprom serving the NASA trace, "now" mapped to a Wednesday noon) with the fc model ->
# minReplicaCount and the explanation annotations patched; later passes keep them.
. "$(dirname "$0")/lib_kube.sh"
. "$MLA_ROOT/scripts/review-lib.sh"
. "$(dirname "$0")/lib_testprom.sh"
BIN="$MLA_BUILD/ml-autoscaling"
if "$BIN" serve --help 2>&1 | grep -q "not available in this build"; then
  echo "skip: serve is not in this build yet"; exit 0
fi
PY=/usr/bin/python3
AT=$(date -u -d 1995-07-12T16:00:00Z +%s)   # Wed 12:00 at the NASA server (EDT)
testprom_start --trace "$MLA_ROOT/tests/fixtures/traces/nasa-kennedy-1995.per-minute.csv" \
  --trace-at "$AT" --now "$(date +%s)" || fail "testprom"
PIDS+=("$TESTPROM_PID")
kube_start_api
ensure_ns "$LEASE_NS"
serve_start serve --policies "$MLA_ROOT/policies" --prometheus-url "$TESTPROM_URL" --loop-interval 2
NS=$(ns web); N=search-frontend
ensure_ns "$NS"
$PY - "$MLA_ROOT/tests/fixtures/render/api-cpu-only/deployment.yaml" "$NS" >"$MLA_TMP/dep.json" <<'PYEOF'
import json, sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
d["metadata"]["namespace"] = sys.argv[2]
a = d["metadata"]["annotations"]
a.pop("ml-autoscaling.io/business-hours"); a.pop("ml-autoscaling.io/timezone")
a["ml-autoscaling.io/capacity-per-replica"] = "20"
print(json.dumps(d))
PYEOF
mla_review CREATE "$MLA_TMP/dep.json" >"$MLA_TMP/review.json"
resp=$(curl -sS --cacert "$MLA_TMP/certs/ca.crt" -H 'Content-Type: application/json' \
  --data-binary "@$MLA_TMP/review.json" "https://127.0.0.1:$PORT/mutate")
patch=$(echo "$resp" | $PY -c 'import json,sys,base64; r=json.load(sys.stdin)["response"]; assert r["allowed"], r; print(base64.b64decode(r["patch"]).decode())') \
  || fail "not allowed: $resp"
/usr/bin/kubectl patch --local --type=json -f "$MLA_TMP/dep.json" -p "$patch" -o json >"$MLA_TMP/stored.json"
kapi POST "/apis/apps/v1/namespaces/$NS/deployments" "$(cat "$MLA_TMP/stored.json")" >/dev/null
[ "$(code)" = 201 ] || fail "store: $(cat "$MLA_TMP/last.body")"
wait_until 5 exists "$(so_path "$NS" "$N")" || fail "no ScaledObject"
kapi GET "$(so_path "$NS" "$N")" | grep -q 'capacityPerReplica\\":20' || fail "predictive-config without the capacity"
ok "admitted through serve; ScaledObject applied with its predictive-config"
forecast_set() {
  kapi GET "$(so_path "$NS" "$N")" | $PY -c '
import json,sys
d=json.load(sys.stdin); a=d["metadata"].get("annotations",{})
assert a.get("ml-autoscaling.io/min-replicas-reason","").startswith("forecast"), a
assert d["spec"]["minReplicaCount"] > 2, d["spec"]
assert "ml-autoscaling.io/forecast-peak" in a and "ml-autoscaling.io/forecast-confidence" in a'
}
wait_until 10 forecast_set || fail "the loop did not apply the forecast: $(kapi GET "$(so_path "$NS" "$N")" | head -c 600) $(grep -E 'predict|apiside' "$MLA_TMP/serve.err" | tail -3)"
so=$(kapi GET "$(so_path "$NS" "$N")")
min=$(echo "$so" | jqr spec.minReplicaCount)
ok "predictive step: minReplicaCount $min ($(echo "$so" | $PY -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["annotations"]["ml-autoscaling.io/min-replicas-reason"])'))"
sleep 4.5   # two more passes
[ "$(kapi GET "$(so_path "$NS" "$N")" | jqr spec.minReplicaCount)" = "$min" ] || fail "a later pass changed minReplicaCount back"
ok "later passes keep the predicted minReplicaCount (the loop does not fight the predictor)"
m=$(curl -sS --cacert "$MLA_TMP/certs/ca.crt" "https://127.0.0.1:$PORT/metrics")
echo "$m" | grep -q '^mla_min_replicas{namespace="'"$NS"'",scaledobject="search-frontend"} '"$min" || fail "mla_min_replicas: $(echo "$m" | grep mla_min_replicas)"
echo "$m" | grep -q 'mla_reconcile_runs_total{result="ok"}' || fail "no reconcile runs"
ok "/metrics: mla_min_replicas $min, reconcile runs counted"
kill -TERM "$SERVE_PID"; wait "$SERVE_PID" || fail "serve exited with an error"
testprom_stop || fail "testprom"
ok "serve and testprom stopped cleanly"
