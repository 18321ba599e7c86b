#!/usr/bin/env bash
# The leader's loop at scale: N managed Deployments with their ScaledObjects carrying
# predictive-config (default lookback 336 h at 300 s), in mla-testapi, the load history served
# by mla-testprom from the bundled NASA trace; the real loop code (mla-controller-driver: the
# controller façade, reconcile pass, predictive step, streaming models) runs passes on demand.
# Per pass it prints: pass time and the leader's CPU time in it (user+system of the driver: the
# test servers' own CPU is left out), Prometheus queries / grid points / bytes fetched, API
# requests, the leader's RSS (now and peak). Figures only; never fails.
#
# Usage: loop_scale.sh [N...]      (default: 100 1000; passes 0..MLA_LOOP_PASSES, default 2)
# Env: MLA_LOOP_MODELS (the driver's --loop-models; 0 = one-shot, full lookback every pass),
#      MLA_LOOP_PAGE (LIST page size, default 500), MLA_LOOP_CSV (append rows to this file),
#      MLA_LOOP_WRAP (a command the driver runs under, e.g. "valgrind --tool=massif
#      --massif-out-file=/tmp/m.out": heap profiles of the same passes; figures then are the
#      wrapper's), MLA_LOOP_KEEP (a directory: the driver's stderr is copied there),
#      MLA_LOOP_PROFILE=1 (every ScaledObject stored with a weekly profile, forecast-profile,
#      as a previous leader wrote it: the first pass seeds from it), MLA_LOOP_LOG (the driver's --log-level, default warn; info logs every apply and why, and
#      each pass line then counts the applies, those with a new minReplicaCount and the
#      explanation refreshes put off), MLA_LOOP_STALE_AFTER (a pass number: after it, every
#      ScaledObject's forecast-confidence annotation is overwritten by another client, as
#      when every series shifts at once; the next pass shows --loop-explanation-writes at work).
# Pass 0 builds every model from the whole lookback; the script then waits for the next 300 s
# grid point (up to 5 minutes), so that pass 1 fetches one new sample per ScaledObject; pass 2
# and later run at once, within the same step (no query at all). Pass 0 is also what every
# pass costs with MLA_LOOP_MODELS=0 (the one-shot path: a full lookback query each time).
set -u
B=${MLA_BUILD:-$(cd "$(dirname "$0")/.." && pwd)/build}
R=${MLA_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
PY=/usr/bin/python3
PASSES=${MLA_LOOP_PASSES:-2}
MODELS=${MLA_LOOP_MODELS:-20000}
PAGE=${MLA_LOOP_PAGE:-500}
[ $# -gt 0 ] || set -- 100 1000
run_n() {
  local N=$1
  local T; T=$(mktemp -d /tmp/mla-bench-loop.XXXXXX)
  local API_PID="" DRV_PID="" PROM_PID=""
  # shellcheck disable=SC2064
  trap "exec 3>&- 2>/dev/null; kill \$DRV_PID \$API_PID \$PROM_PID 2>/dev/null; wait 2>/dev/null; rm -rf '$T'" RETURN
  echo "bench-token" >"$T/token"
  sed -e 's/"NAME"/"DEPNAME"/g' -e 's/"NS"/"DEPNS"/g' "$R/tests/fixtures/kube/deployment.json" >"$T/dep.json"
  /usr/bin/kubectl patch --local --type=json -f "$T/dep.json" \
    -p "$(sed -e 's/"NAME"/"DEPNAME"/g' "$R/tests/fixtures/kube/admission-patch.json")" -o json >"$T/dep-admitted.json"
  local cfg='{"enabled":true,"query":"sum(rate(http_requests_total{job=\"bench\"}[5m]))","lookbackHours":336,"stepSeconds":300,"horizonMinutes":30,"scaleAheadMinutes":15,"capacityPerReplica":20,"minReplicas":1,"maxReplicas":50}'
  $PY - "$R/tests/fixtures/kube/so-template.json" "$cfg" >"$T/so-template.json" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["metadata"]["annotations"]["ml-autoscaling.io/predictive-config"] = sys.argv[2]
print(json.dumps(d))
PYEOF
  # the test API server is started through a shell that knows its pid first: uids are
  # "<pid>-0000-4000-8000-<counter>", and the ScaledObjects' ownerReferences must name them
  sh -c 'echo $$ >"$1/api.pid"; while [ ! -s "$1/objs.ready" ]; do sleep 0.05; done; exec "$2/mla-testapi" --port 0 --port-file "$1/port" --token-file "$1/token" --load "$1/objs.json"' \
    sh "$T" "$B" >/dev/null 2>"$T/api.err" &
  API_PID=$!
  for _ in $(seq 1 100); do [ -s "$T/api.pid" ] && break; sleep 0.05; done
  MLA_ROOT_ABS="$(cd "$R" && pwd)" $PY - "$T" "$N" "$(cat "$T/api.pid")" <<'PYEOF'
import json, sys
t, n, pid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
dep = open(t + "/dep-admitted.json").read()
so = json.load(open(t + "/so-template.json"))
import os
if os.environ.get("MLA_LOOP_PROFILE") == "1":
    # a weekly profile as a previous leader wrote it (docs/predictive.md, forecast-profile), its
    # newest point an hour before the window: the first pass seeds every window from it, and the
    # pass holds the 547-byte text of every ScaledObject it lists
    import time
    sys.path.insert(0, os.environ["MLA_ROOT_ABS"] + "/tests/support")
    from profile_text import profile_text
    cfg = so["metadata"]["annotations"]["ml-autoscaling.io/predictive-config"]
    newest = (int(time.time()) - 337 * 3600) // 300 * 300
    so["metadata"]["annotations"]["ml-autoscaling.io/forecast-profile"] = profile_text(cfg, newest)
items, uidn = [], 0
for i in range(n):
    ns, name = "bench-%02d" % (i % 20), "app-%05d" % i
    d = json.loads(dep.replace("DEPNAME", name).replace("DEPNS", ns))
    items.append(d); uidn += 1
    uid = "%08x-0000-4000-8000-%012x" % (pid, uidn)
    s = json.loads(json.dumps(so))
    s["metadata"]["name"] = name; s["metadata"]["namespace"] = ns
    s["spec"]["scaleTargetRef"]["name"] = name
    s["metadata"]["labels"]["ml-autoscaling.io/deployment"] = name
    s["metadata"]["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name,
                                         "uid": uid, "controller": True, "blockOwnerDeletion": True}]
    items.append(s); uidn += 1
# the Lease held by another replica: the driver never leads, so no pass runs by itself and
# every pass below is one the script asked for (mla_controller_reconcile runs leader or not)
import datetime
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000000Z")
items.append({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
              "metadata": {"name": "loop-scale", "namespace": "bench"},
              "spec": {"holderIdentity": "another-replica", "leaseDurationSeconds": 86400,
                       "acquireTime": now, "renewTime": now, "leaseTransitions": 0}})
json.dump({"apiVersion": "v1", "kind": "List", "items": items}, open(t + "/objs.json", "w"))
open(t + "/objs.ready", "w").write("1")
PYEOF
  for _ in $(seq 1 9000); do [ -s "$T/port" ] && break; kill -0 $API_PID 2>/dev/null || break; sleep 0.1; done
  [ -s "$T/port" ] || { echo "N=$N: mla-testapi did not start: $(tail -3 "$T/api.err")"; return; }
  local API="http://127.0.0.1:$(cat "$T/port")"
  # mla-testapi checks ownerReferences for garbage collection before every request (a scan of
  # every object): nothing here is ever deleted, and at 10,000 that scan is the whole cost
  curl -s -X POST -H 'Content-Type: application/json' --data-binary '{"gc":false}' "$API/_control" >/dev/null
  local NOW; NOW=$(date +%s)
  local AT; AT=$(date -u -d 1995-07-12T16:00:00Z +%s)
  "$B/mla-testprom" --trace "$R/tests/fixtures/traces/nasa-kennedy-1995.per-minute.csv" \
    --trace-at "$AT" --now "$NOW" --port 0 --port-file "$T/pport" 2>"$T/prom.err" &
  PROM_PID=$!
  for _ in $(seq 1 100); do [ -s "$T/pport" ] && break; sleep 0.05; done
  local PROM="http://127.0.0.1:$(cat "$T/pport")"
  mkfifo "$T/in"
  # --loop-interval: serve's default, which paces the pass's Prometheus queries (N / 48 s at
  # least); the driver never leads, so it runs no pass of its own at that interval
  # shellcheck disable=SC2086
  ${MLA_LOOP_WRAP:-} "$B/mla-controller-driver" --kube-url "$API" --kube-token-file "$T/token" --prom-url "$PROM" \
    --template "$T/so-template.json" --loop-interval 60 --lease-namespace bench \
    --lease-name loop-scale --list-page-size "$PAGE" --loop-models "$MODELS" --log-level "${MLA_LOOP_LOG:-warn}" \
    <"$T/in" >"$T/out" 2>"$T/drv.err" &
  DRV_PID=$!
  exec 3>"$T/in"
  local H="Authorization: Bearer bench-token"
  for _ in $(seq 1 100); do [ -s "$T/out" ] || { echo '{"cmd":"leader"}' >&3; sleep 0.2; }; done
  grep -q false "$T/out" || echo "N=$N: the driver leads: its own first pass mixes with pass 0"
  send_pass() {
    local before; before=$(wc -l <"$T/out")
    echo '{"cmd":"reconcile"}' >&3
    while [ "$(wc -l <"$T/out")" -le "$before" ]; do sleep 0.02; done
    sed -n "$((before + 1))p" "$T/out"
  }
  for p in $(seq 0 "$PASSES"); do
    local load; load=$(cut -d' ' -f1-3 /proc/loadavg)
    curl -s -X DELETE "$API/_log" >/dev/null
    local s0; s0=$(curl -s "$PROM/-/stats")
    local c0; c0=$(awk '{print $14 + $15}' /proc/$DRV_PID/stat)
    local l0; l0=$(wc -l <"$T/drv.err")
    local t0; t0=$(date +%s.%N)
    local out; out=$(send_pass)
    local t1; t1=$(date +%s.%N)
    local c1; c1=$(awk '{print $14 + $15}' /proc/$DRV_PID/stat)
    local s1; s1=$(curl -s "$PROM/-/stats")
    local api_n; api_n=$(curl -s "$API/_log" | $PY -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')
    local rss hwm
    rss=$(awk '/VmRSS/ {print $2}' /proc/$DRV_PID/status); hwm=$(awk '/VmHWM/ {print $2}' /proc/$DRV_PID/status)
    local why=""
    if [ "${MLA_LOOP_LOG:-warn}" = info ] || [ "${MLA_LOOP_LOG:-warn}" = debug ]; then
      why=$(tail -n +"$((l0 + 1))" "$T/drv.err" | $PY -c '
import json, re, sys
applies = changed = putoff = 0
for line in sys.stdin:
    try: e = json.loads(line)
    except ValueError: continue
    m = e.get("msg", "")
    if e.get("component") == "apiside" and re.search(r": minReplicaCount \d+ \(", m): applies += 1
    elif e.get("component") == "predict" and m == "minReplicaCount changed": changed += 1
    elif "put off to a later pass" in m: putoff = int(m.split()[0])
print("  applies %d (new minReplicaCount %d, explanations put off %d)" % (applies, changed, putoff))')
    fi
    $PY - "$N" "$p" "$t0" "$t1" "$s0" "$s1" "$api_n" "$rss" "$hwm" "$load" "$out" "${MLA_LOOP_CSV:-}" "$(( (c1 - c0) * 1000 / $(getconf CLK_TCK) ))" "$why" <<'PYEOF'
import json, sys
n, p, t0, t1 = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
s0, s1 = json.loads(sys.argv[5]), json.loads(sys.argv[6])
q = s1["queries"] - s0["queries"]; smp = s1["samples"] - s0["samples"]; by = s1["bytes"] - s0["bytes"]
api, rss, hwm, load, out, csv = int(sys.argv[7]), int(sys.argv[8]), int(sys.argv[9]), sys.argv[10], json.loads(sys.argv[11]), sys.argv[12]
cpu = int(sys.argv[13]) / 1000.0
print("N=%-6d pass %d: %7.2f s (leader CPU %6.2f s)  prom %6d queries %9d points %8.1f KB (%6.0f B/SO)  api %6d requests  rss %6.1f MB (peak %6.1f)  predicted %s updated %s  [load %s]%s"
      % (n, p, t1 - t0, cpu, q, smp, by / 1024, by / n, api, rss / 1024, hwm / 1024, out.get("predicted"), out.get("updated"), load, sys.argv[14]))
if csv:
    with open(csv, "a") as f:
        f.write("%d,%d,%.3f,%d,%d,%d,%d,%.1f,%.1f,%s,%.2f\n" % (n, p, t1 - t0, q, smp, by, api, rss / 1024, hwm / 1024, load.split()[0], cpu))
PYEOF
    # after the first pass (the build), wait for the next 300 s grid point so that pass 1
    # has one new sample per ScaledObject to fetch; later passes run at once (same step)
    if [ "$p" = 0 ] && [ "$PASSES" -gt 0 ]; then
      sleep $((300 - $(date +%s) % 300 + 2))
    fi
    if [ "$p" = "${MLA_LOOP_STALE_AFTER:-}" ]; then
      $PY - "$API" "$N" <<'PYEOF'
import http.client, json, sys, urllib.parse
u = urllib.parse.urlparse(sys.argv[1]); c = http.client.HTTPConnection(u.hostname, u.port)
body = json.dumps({"metadata": {"annotations": {"ml-autoscaling.io/forecast-confidence": "0.00"}}})
for i in range(int(sys.argv[2])):
    c.request("PATCH", "/apis/keda.sh/v1alpha1/namespaces/bench-%02d/scaledobjects/app-%05d" % (i % 20, i),
              body, {"Authorization": "Bearer bench-token", "Content-Type": "application/merge-patch+json"})
    r = c.getresponse(); r.read()
    if r.status != 200: sys.exit("stale: %d %s" % (r.status, r.reason))
PYEOF
      echo "N=$N: every ScaledObject's forecast-confidence overwritten (0.00) after pass $p"
    fi
  done
  exec 3>&-
  if [ -n "${MLA_LOOP_KEEP:-}" ]; then
    kill -INT "$DRV_PID" 2>/dev/null; wait "$DRV_PID" 2>/dev/null
    cp "$T/drv.err" "$MLA_LOOP_KEEP/drv-$N.err"
  fi
}
for n in "$@"; do run_n "$n"; done
