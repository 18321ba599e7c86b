#!/usr/bin/env bash
# Admission latency while the leader's loop runs a pass, against the same latency with the loop
# idle: N managed Deployments with their ScaledObjects (predictive-config, 336 h lookback at
# 300 s) in mla-testapi, the NASA trace in mla-testprom, and `serve` itself (webhook + worker +
# leader loop in one process, as deployed). serve leads at once and its first pass (pass 0: a
# full-lookback query per ScaledObject, the heaviest one) runs while load_client.py sends dryRun
# AdmissionReviews at a paced rate (THREADS kept-alive connections, each pausing PAUSE s between
# requests); when the pass has ended and the worker has applied what the pass queued, the
# same load again with the loop idle.
# Prints per N: the pass's duration (from serve's /metrics), the requests, p50/p99/max of each
# phase, serve's RSS. Figures only; never fails.
#
# Usage: loop_admission.sh [N...]     (default: 1000)
# Env: MLA_ADM_THREADS (4), MLA_ADM_PAUSE (0.005), MLA_ADM_IDLE_S (15: the idle phase),
#      MLA_ADM_DRAIN_S (600: the longest wait for the worker's queue before the idle phase),
#      MLA_ADM_CSV (append rows: n,phase,seconds,requests,p50,p99,max,rss_mb,load1,pass_s).
set -u
B=${MLA_BUILD:-$(cd "$(dirname "$0")/.." && pwd)/build}
R=${MLA_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
PY=/usr/bin/python3
THREADS=${MLA_ADM_THREADS:-4}
PAUSE=${MLA_ADM_PAUSE:-0.005}
IDLE_S=${MLA_ADM_IDLE_S:-15}
DRAIN_S=${MLA_ADM_DRAIN_S:-600}
[ $# -gt 0 ] || set -- 1000
. "$R/scripts/review-lib.sh"
run_n() {
  local N=$1
  local T; T=$(mktemp -d /tmp/mla-bench-adm.XXXXXX)
  local API_PID="" PROM_PID="" SERVE_PID="" LOAD_PID=""
  # shellcheck disable=SC2064
  trap "kill \$LOAD_PID \$SERVE_PID \$API_PID \$PROM_PID 2>/dev/null; wait 2>/dev/null; rm -rf '$T'" RETURN
  echo "bench-token" >"$T/token"
  bash "$R/certs/gen-dev-certs.sh" "$T/certs" >/dev/null || { echo "N=$N: certs failed"; return; }
  sed -e 's/"NAME"/"DEPNAME"/g' -e 's/"NS"/"DEPNS"/g' "$R/tests/fixtures/kube/deployment.json" >"$T/dep.json"
  /usr/bin/kubectl patch --local --type=json -f "$T/dep.json" \
    -p "$(sed -e 's/"NAME"/"DEPNAME"/g' "$R/tests/fixtures/kube/admission-patch.json")" -o json >"$T/dep-admitted.json"
  local cfg='{"enabled":true,"query":"sum(rate(http_requests_total{job=\"bench\"}[5m]))","lookbackHours":336,"stepSeconds":300,"horizonMinutes":30,"scaleAheadMinutes":15,"capacityPerReplica":20,"minReplicas":1,"maxReplicas":50}'
  sh -c 'echo $$ >"$1/api.pid"; while [ ! -s "$1/objs.ready" ]; do sleep 0.05; done; exec "$2/mla-testapi" --port 0 --port-file "$1/port" --token-file "$1/token" --load "$1/objs.json"' \
    sh "$T" "$B" >/dev/null 2>"$T/api.err" &
  API_PID=$!
  for _ in $(seq 1 100); do [ -s "$T/api.pid" ] && break; sleep 0.05; done
  # the objects as bench/loop_scale.sh makes them (uids "<pid>-0000-4000-8000-<counter>"), and
  # the review: one of the same Deployments, not yet admitted, as a dryRun CREATE
  $PY - "$T" "$N" "$(cat "$T/api.pid")" "$R/tests/fixtures/kube/so-template.json" "$cfg" <<'PYEOF'
import json, sys
t, n, pid, tmpl, cfg = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
dep = open(t + "/dep-admitted.json").read()
so = json.load(open(tmpl))
so["metadata"]["annotations"]["ml-autoscaling.io/predictive-config"] = cfg
items, uidn = [], 0
for i in range(n):
    ns, name = "bench-%02d" % (i % 20), "app-%05d" % i
    items.append(json.loads(dep.replace("DEPNAME", name).replace("DEPNS", ns))); uidn += 1
    uid = "%08x-0000-4000-8000-%012x" % (pid, uidn)
    s = json.loads(json.dumps(so))
    s["metadata"]["name"] = name; s["metadata"]["namespace"] = ns
    s["spec"]["scaleTargetRef"]["name"] = name
    s["metadata"]["labels"]["ml-autoscaling.io/deployment"] = name
    s["metadata"]["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name,
                                         "uid": uid, "controller": True, "blockOwnerDeletion": True}]
    items.append(s); uidn += 1
json.dump({"apiVersion": "v1", "kind": "List", "items": items}, open(t + "/objs.json", "w"))
d = json.loads(open(t + "/dep.json").read().replace("DEPNAME", "incoming").replace("DEPNS", "bench-00"))
json.dump(d, open(t + "/incoming.json", "w"))
open(t + "/objs.ready", "w").write("1")
PYEOF
  mla_review CREATE "$T/incoming.json" "" true >"$T/review.json"
  for _ in $(seq 1 9000); do [ -s "$T/port" ] && break; kill -0 $API_PID 2>/dev/null || break; sleep 0.1; done
  [ -s "$T/port" ] || { echo "N=$N: mla-testapi did not start: $(tail -3 "$T/api.err")"; return; }
  local API="http://127.0.0.1:$(cat "$T/port")"
  curl -s -X POST -H 'Content-Type: application/json' --data-binary '{"gc":false}' "$API/_control" >/dev/null
  local AT; AT=$(date -u -d 1995-07-12T16:00:00Z +%s)
  "$B/mla-testprom" --trace "$R/tests/fixtures/traces/nasa-kennedy-1995.per-minute.csv" \
    --trace-at "$AT" --now "$(date +%s)" --port 0 --port-file "$T/pport" 2>"$T/prom.err" &
  PROM_PID=$!
  for _ in $(seq 1 100); do [ -s "$T/pport" ] && break; sleep 0.05; done
  local load0; load0=$(cut -d' ' -f1 /proc/loadavg)
  POD_NAMESPACE=bench "$B/ml-autoscaling" serve --listen 127.0.0.1:0 \
    --tls-cert "$T/certs/tls.crt" --tls-key "$T/certs/tls.key" --policies "$R/policies" \
    --kube-url "$API" --kube-token-file "$T/token" --prometheus-url "http://127.0.0.1:$(cat "$T/pport")" \
    --loop-interval 3600 2>"$T/serve.err" &
  SERVE_PID=$!
  local PORT=""
  for _ in $(seq 1 200); do
    PORT=$(grep -o 'listening on https://127.0.0.1:[0-9]*' "$T/serve.err" 2>/dev/null | head -1 | sed 's/.*://')
    [ -n "$PORT" ] && break; kill -0 $SERVE_PID 2>/dev/null || break; sleep 0.1
  done
  [ -n "$PORT" ] || { echo "N=$N: serve did not start: $(tail -3 "$T/serve.err")"; cp "$T/serve.err" /tmp/mla-adm-serve.err; return; }
  local M="https://127.0.0.1:$PORT/metrics"
  runs() { curl -s --cacert "$T/certs/ca.crt" "$M" | awk '/^mla_reconcile_runs_total\{result="ok"\}/ {print $2}'; }
  local t0; t0=$(date +%s.%N)
  # phase 1: during pass 0 (started when serve took the Lease)
  $PY "$R/tests/integration/load_client.py" --url "https://127.0.0.1:$PORT/mutate" \
    --cacert "$T/certs/ca.crt" --body "$T/review.json" --until-file "$T/pass-done" \
    --threads "$THREADS" --mode keep --pause "$PAUSE" --out "$T/during.json" &
  LOAD_PID=$!
  local pass_s=""
  while kill -0 "$SERVE_PID" 2>/dev/null; do
    if [ "$(runs)" = 1 ]; then pass_s=$(echo "$(date +%s.%N) - $t0" | bc); break; fi
    sleep 0.5
  done
  local rss_pass; rss_pass=$(awk '/VmHWM/ {print $2}' /proc/$SERVE_PID/status)
  : >"$T/pass-done"; wait "$LOAD_PID"; LOAD_PID=""
  # the pass queued applies for the worker (serve's policies do not render exactly the
  # ScaledObjects loaded here): idle means after they are done too (DRAIN_S at most)
  local drain0; drain0=$(date +%s)
  depth() { curl -s --cacert "$T/certs/ca.crt" "$M" | awk '/^mla_worker_queue_depth / {print $2}'; }
  while [ "$(depth)" != 0 ] && [ $(( $(date +%s) - drain0 )) -lt "$DRAIN_S" ]; do sleep 1; done
  local drain_s=$(( $(date +%s) - drain0 ))
  # phase 2: the loop idle (the next pass is an hour away)
  $PY "$R/tests/integration/load_client.py" --url "https://127.0.0.1:$PORT/mutate" \
    --cacert "$T/certs/ca.crt" --body "$T/review.json" --seconds "$IDLE_S" \
    --threads "$THREADS" --mode keep --pause "$PAUSE" --out "$T/idle.json"
  local rss; rss=$(awk '/VmRSS/ {print $2}' /proc/$SERVE_PID/status)
  local load1; load1=$(cut -d' ' -f1 /proc/loadavg)
  echo "N=$N: the worker's queue drained ${drain_s} s after pass 0 (depth now $(depth))"
  $PY - "$N" "$T/during.json" "$T/idle.json" "$pass_s" "$rss" "$rss_pass" "$load0 $load1" "${MLA_ADM_CSV:-}" <<'PYEOF'
import json, sys
n, dj, ij, pass_s, rss, hwm, load, csv = sys.argv[1:9]
for phase, f in (("pass", dj), ("idle", ij)):
    d = json.load(open(f))
    print("N=%-6s admission %s: %6.1f s  %6d requests (%d failed)  p50 %.2f ms  p99 %.2f ms  max %.1f ms"
          "  [serve rss %.1f MB, peak %.1f MB; pass 0 %s s; load %s]"
          % (n, "during pass 0" if phase == "pass" else "loop idle   ", d["seconds"], d["requests"],
             d["failed"], d["p50_ms"] or 0, d["p99_ms"] or 0, d["max_ms"] or 0, int(rss) / 1024,
             int(hwm) / 1024, "%.1f" % float(pass_s or "nan"), load))
    if csv:
        with open(csv, "a") as fh:
            fh.write("%s,%s,%.1f,%d,%.3f,%.3f,%.1f,%.1f,%s,%s\n" % (n, phase, d["seconds"], d["requests"],
                     d["p50_ms"] or 0, d["p99_ms"] or 0, d["max_ms"] or 0, int(rss) / 1024,
                     load.split()[-1], pass_s))
PYEOF
  grep -E '"level":"(warn|error)"' "$T/serve.err" | head -3
  [ -z "${MLA_ADM_KEEP:-}" ] || cp "$T/serve.err" "$MLA_ADM_KEEP-$N.err"
}
for n in "$@"; do run_n "$n"; done
