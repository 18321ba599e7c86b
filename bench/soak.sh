#!/usr/bin/env bash
# Sustained load on loopback (not part of make check; `make soak`): `serve` with its worker and
# leader loop (every 10 s) against mla-testapi and mla-testprom, with SOAK_DEPLOYMENTS (300)
# managed Deployments admitted through the webhook and stored, then SOAK_SECONDS (180) of
# opted-in AdmissionReviews from SOAK_THREADS (4) kept-alive clients while the loop reconciles
# and forecasts every Deployment each pass. Prints: requests, failures, p50/p99 overall and per
# 30 s window, serve's RSS (after set-up, during, end, max) and its growth over the run, loop
# passes, ScaledObjects at the end (must equal the Deployments). Figures, not pass/fail; the exit
# status is non-zero only when the run itself broke (a failed request, a lost ScaledObject).
# Environment: MLA_BUILD, MLA_ROOT, SOAK_SECONDS, SOAK_DEPLOYMENTS, SOAK_THREADS.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export MLA_ROOT=${MLA_ROOT:-$(cd "$here/.." && pwd)}
export MLA_BUILD=${MLA_BUILD:-$MLA_ROOT/build}
SECS=${SOAK_SECONDS:-180}; NDEP=${SOAK_DEPLOYMENTS:-300}; THREADS=${SOAK_THREADS:-4}
export MLA_TMP=$(mktemp -d /tmp/mla-soak.XXXXXX)
MLA_VALGRIND=0
. "$MLA_ROOT/tests/integration/lib_kube.sh"
. "$MLA_ROOT/tests/integration/lib_testprom.sh"
soak_cleanup() { local rc=$?; (kube_cleanup) || rc=1; rm -rf "$MLA_TMP"; exit $rc; }
trap soak_cleanup EXIT
PY=/usr/bin/python3
BIN=$MLA_BUILD/ml-autoscaling

AT=$(date -u -d 1995-07-12T16:00:00Z +%s)
testprom_start --trace "$MLA_ROOT/tests/fixtures/traces/nasa-kennedy-1995.per-minute.csv" --trace-at "$AT" \
  --now "$(date +%s)" || fail "testprom"
PIDS+=("$TESTPROM_PID")
kube_start_api
bash "$MLA_ROOT/certs/gen-dev-certs.sh" "$MLA_TMP/certs" >/dev/null
POD_NAMESPACE=kube-system "$BIN" serve --listen 127.0.0.1:0 --tls-cert "$MLA_TMP/certs/tls.crt" \
  --tls-key "$MLA_TMP/certs/tls.key" --policies "$MLA_ROOT/policies" --kube-url "$API" \
  --kube-token-file "$TOKEN_FILE" --prometheus-url "$TESTPROM_URL" --loop-interval 10 \
  --log-level warn 2>"$MLA_TMP/serve.err" &
SERVE_PID=$!; PIDS+=("$SERVE_PID")
PORT=""
for _ in $(seq 1 100); do
  PORT=$(ss -ltnpH 2>/dev/null | grep "pid=$SERVE_PID," | grep -o '127.0.0.1:[0-9]*' | head -1 | cut -d: -f2) || true
  [ -n "$PORT" ] && break; sleep 0.1
done
[ -n "$PORT" ] || fail "serve did not start: $(tail -5 "$MLA_TMP/serve.err")"
URL="https://127.0.0.1:$PORT"
rss() { awk '/^VmRSS/ {print $2}' "/proc/$SERVE_PID/status"; }
hwm() { awk '/^VmHWM/ {print $2}' "/proc/$SERVE_PID/status"; }

echo "== set-up: $NDEP Deployments admitted through the webhook and stored"
t0=$(date +%s.%N)
$PY - "$MLA_ROOT/tests/fixtures/render/api-cpu-only/deployment.yaml" "$NDEP" "$URL" "$MLA_TMP/certs/ca.crt" \
  "$API" "$TOKEN_FILE" "$MLA_TMP/review.json" <<'PY' || fail "set-up"
import base64, copy, http.client, json, ssl, sys, urllib.request, uuid, yaml
src, n, url, ca, api, tokfile, review_out = sys.argv[1:8]
base = yaml.safe_load(open(src))
a = base["metadata"]["annotations"]
a.pop("ml-autoscaling.io/business-hours"); a.pop("ml-autoscaling.io/timezone")
a["ml-autoscaling.io/capacity-per-replica"] = "20"
ctx = ssl.create_default_context(cafile=ca)
host, port = url.split("://")[1].split(":")
wh = http.client.HTTPSConnection(host, int(port), context=ctx)
tok = open(tokfile).read().strip()
def review(obj, dry):
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": str(uuid.uuid4()), "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
        "resource": {"group": "apps", "version": "v1", "resource": "deployments"},
        "name": obj["metadata"]["name"], "namespace": obj["metadata"]["namespace"], "operation": "CREATE",
        "userInfo": {"username": "soak"}, "object": obj, "oldObject": None, "dryRun": dry}}
def apply_patch(obj, ops):  # the adds and replaces the webhook emits, RFC 6901 paths
    for op in ops:
        keys = [k.replace("~1", "/").replace("~0", "~") for k in op["path"].split("/")[1:]]
        cur = obj
        for k in keys[:-1]:
            cur = cur[int(k)] if isinstance(cur, list) else cur.setdefault(k, {})
        assert op["op"] in ("add", "replace"), op
        if isinstance(cur, list):
            cur.insert(int(keys[-1]), op["value"]) if op["op"] == "add" else cur.__setitem__(int(keys[-1]), op["value"])
        else:
            cur[keys[-1]] = op["value"]
for i in range(int(n)):
    d = copy.deepcopy(base)
    d["metadata"]["name"] = f"soak-{i:04d}"
    d["metadata"]["namespace"] = f"soak-{i % 10}"
    wh.request("POST", "/mutate", json.dumps(review(d, False)), {"Content-Type": "application/json"})
    r = json.loads(wh.getresponse().read())["response"]
    assert r["allowed"], r
    apply_patch(d, json.loads(base64.b64decode(r["patch"])))
    req = urllib.request.Request(f"{api}/apis/apps/v1/namespaces/{d['metadata']['namespace']}/deployments",
                                 data=json.dumps(d).encode(), method="POST",
                                 headers={"Authorization": f"Bearer {tok}", "Content-Type": "application/json"})
    assert urllib.request.urlopen(req).status == 201
d = copy.deepcopy(base); d["metadata"]["name"] = "soak-load"
json.dump(review(d, True), open(review_out, "w"))
PY
so_count() {
  local n=0 ns
  for ns in $(seq 0 9); do
    n=$((n + $(kapi GET "/apis/keda.sh/v1alpha1/namespaces/soak-$ns/scaledobjects" | $PY -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')))
  done
  echo "$n"
}
for _ in $(seq 1 120); do [ "$(so_count)" -ge "$NDEP" ] && break; sleep 1; done
printf '  %d Deployments admitted and stored, %s ScaledObjects applied, in %.1f s\n' "$NDEP" "$(so_count)" \
  "$(echo "$(date +%s.%N) - $t0" | bc)"
sleep 12   # one full loop pass over everything (forecasts included) before measuring
rss0=$(rss)

echo "== ${SECS} s of opted-in admissions (dryRun) from $THREADS kept-alive clients; the loop every 10 s"
$PY "$MLA_ROOT/tests/integration/load_client.py" --url "$URL/mutate" --cacert "$MLA_TMP/certs/ca.crt" \
  --body "$MLA_TMP/review.json" --threads "$THREADS" --mode keep --seconds "$SECS" --window 30 \
  --out "$MLA_TMP/load.json" &
lpid=$!
: >"$MLA_TMP/rss.txt"
while kill -0 "$lpid" 2>/dev/null; do echo "$(rss)" >>"$MLA_TMP/rss.txt"; sleep 5; done
wait "$lpid"
rss1=$(rss)
m=$(curl -sS --cacert "$MLA_TMP/certs/ca.crt" "$URL/metrics")
runs=$(echo "$m" | awk '/^mla_reconcile_runs_total\{result="ok"\}/ {print $2}')
runs_err=$(echo "$m" | awk '/^mla_reconcile_runs_total\{result="error"\}/ {print $2}')
sos=$(so_count)
$PY - "$MLA_TMP/load.json" "$MLA_TMP/rss.txt" "$rss0" "$rss1" "$(hwm)" "${runs:-0}" "${runs_err:-0}" "$sos" "$NDEP" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
rss = [int(x) for x in open(sys.argv[2]).read().split()]
rss0, rss1, hwm, runs, runs_err, sos, ndep = (int(float(x)) for x in sys.argv[3:10])
print(f"  requests {s['requests']} in {s['seconds']} s ({s['requests'] / s['seconds']:.0f}/s), failed {s['failed']}")
print(f"  latency p50 {s['p50_ms']:.2f} ms, p99 {s['p99_ms']:.2f} ms, max {s['max_ms']:.1f} ms (client side, Python)")
print("  p99 per 30 s window: " + ", ".join(f"{w['p99_ms']:.1f}" for w in s["windows"]) + " ms")
print(f"  serve RSS: {rss0 / 1024:.1f} MiB after set-up, {min(rss) / 1024:.1f}-{max(rss) / 1024:.1f} MiB during, "
      f"{rss1 / 1024:.1f} MiB at the end (growth {(rss1 - rss0) / 1024:+.1f} MiB), peak {hwm / 1024:.1f} MiB")
half = len(rss) // 2
print(f"  RSS growth over the second half: {(rss[-1] - rss[half]) / 1024:+.2f} MiB")
print(f"  loop passes: {runs} ok, {runs_err} failed; ScaledObjects at the end: {sos} for {ndep} Deployments")
if s["failures"]:
    print("  failures:", s["failures"])
sys.exit(0 if s["failed"] == 0 and sos == ndep else 1)
PY
