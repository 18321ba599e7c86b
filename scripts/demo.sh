#!/usr/bin/env bash
# The local demo, no cluster needed: installs the Debian packages (unless --no-deps), builds,
# makes development certificates in certs/dev, starts `ml-autoscaling serve` admission-only on a
# free loopback port, sends it a real AdmissionReview (CREATE) for every example Deployment (and
# StatefulSet) in docs/examples/ over TLS (curl --cacert), and prints what came back: allowed/denied, message,
# warnings and the JSON Patch ops. Then the API story against the test API server (mla-testapi,
# an HPA preloaded) and mla-testprom: serve with the API side admits the vLLM example, the worker
# removes the HPA and applies the ScaledObject, the leader loop applies a forecast, opting out
# deletes the ScaledObject and restores the HPA. Every step is checked; everything is stopped.
#
#   ./scripts/demo.sh [--no-deps] [--keep-log]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. scripts/review-lib.sh
deps=1; keep_log=0
for a in "$@"; do
  case "$a" in
    --no-deps) deps=0 ;;
    --keep-log) keep_log=1 ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo: unknown argument $a (see --help)" >&2; exit 2 ;;
  esac
done

if [ "$deps" = 1 ]; then bash scripts/deps.sh; fi
# `make demo` builds first and passes MLA_BUILD; run standalone, the demo builds build/.
if [ -n "${MLA_BUILD:-}" ]; then B=$MLA_BUILD; else B=$root/build; make -s -j2 all; fi
BIN="$B/ml-autoscaling"
PY=/usr/bin/python3 # Debian's python3, which has python3-yaml

# Development certificates (remade when missing or expiring within a day).
if [ ! -f certs/dev/tls.crt ] || ! openssl x509 -in certs/dev/tls.crt -noout -checkend 86400 >/dev/null 2>&1; then
  bash certs/gen-dev-certs.sh certs/dev
fi

tmp=$(mktemp -d)
pid=""      # the admission-only serve
api_pid=""  # the API story: mla-testapi
kserve_pid="" # the API story: serve with the API side
prom_pid=""   # the API story: mla-testprom (Prometheus serving a recorded trace)
failure=""
die() { failure=$*; exit 1; } # the message is printed last, after the server logs

stop_pid() { # stop_pid PID: SIGTERM, up to 5 s, then SIGKILL
  local p=$1
  [ -n "$p" ] && kill -0 "$p" 2>/dev/null || return 0
  kill -TERM "$p" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  trap '' INT TERM # a second Ctrl-C does not interrupt the cleanup
  # serve before the API server, so it can release its Lease
  stop_pid "$pid"; stop_pid "$kserve_pid"; stop_pid "$api_pid"; stop_pid "$prom_pid"
  if [ "$rc" != 0 ]; then
    local logs="serve.log"
    [ -e "$tmp/preload.yaml" ] && logs="kserve.log testapi.log testprom.log" # the API story had begun
    for l in $logs; do
      [ -s "$tmp/$l" ] && { echo "--- last lines of $l:" >&2; tail -5 "$tmp/$l" >&2; }
    done
    [ -n "$failure" ] && echo "demo: FAILED: $failure" >&2
  fi
  if [ "$keep_log" = 1 ]; then echo "server logs kept in $tmp (serve.log, kserve.log, testapi.log)"; else rm -rf "$tmp"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'failure="interrupted"; exit 130' INT TERM
# a command that fails outside die: name it (the first one wins)
trap '[ -n "$failure" ] || failure="command failed at line $LINENO: $BASH_COMMAND"' ERR

policies=$root/policies
if [ ! -d "$policies" ]; then policies=$tmp/policies; mkdir -p "$policies"; fi

"$BIN" serve --listen 127.0.0.1:0 --tls-cert certs/dev/tls.crt --tls-key certs/dev/tls.key \
  --policies "$policies" --log-level info 2>"$tmp/serve.log" &
pid=$!
port=""
for _ in $(seq 1 100); do
  port=$(grep -o 'listening on https://127.0.0.1:[0-9]*' "$tmp/serve.log" 2>/dev/null | head -1 | sed 's/.*://') || true
  [ -n "$port" ] && break
  if ! kill -0 "$pid" 2>/dev/null; then echo "demo: serve failed to start:" >&2; cat "$tmp/serve.log" >&2; exit 1; fi
  sleep 0.05
done
[ -n "$port" ] || { echo "demo: serve did not start" >&2; cat "$tmp/serve.log" >&2; exit 1; }
url="https://127.0.0.1:$port"
echo "webhook: $url (policies: $policies)"
echo "readyz:  $(curl -sS --cacert certs/dev/ca.crt "$url/readyz")"
echo

shopt -s nullglob
n=0
for f in docs/examples/*.yaml docs/examples/*.yml docs/examples/*.json; do
  # One AdmissionReview per Deployment, StatefulSet or Job in the file.
  "$PY" - "$f" "$tmp" <<'PY' || { echo "demo: cannot read $f" >&2; exit 1; }
import json, sys, yaml
path, tmp = sys.argv[1], sys.argv[2]
with open(path) as fh:
    docs = list(yaml.safe_load_all(fh)) if not path.endswith(".json") else [json.load(fh)]
i = 0
for d in docs:
    if not isinstance(d, dict) or d.get("kind") not in ("Deployment", "StatefulSet", "Job"):
        continue
    d.setdefault("metadata", {}).setdefault("namespace", "default")
    with open("%s/deployment-%d.json" % (tmp, i), "w") as out:
        json.dump(d, out)
    i += 1
PY
  for d in "$tmp"/deployment-*.json; do
    mla_review CREATE "$d" >"${d/deployment-/review-}"
    rm -f "$d"
  done
  for r in "$tmp"/review-*.json; do
    n=$((n + 1))
    resp=$(curl -sS --cacert certs/dev/ca.crt -H 'Content-Type: application/json' \
      --data-binary "@$r" -w '\n%{http_code}' "$url/mutate")
    rm -f "$r"
    # What the worker would then apply: `render` runs the same decision offline.
    so=$("$BIN" render -f "$f" --policies "$policies" -o json 2>/dev/null) || true
    "$PY" - "$f" "$resp" "$so" <<'PY'
import base64, json, sys
src, raw = sys.argv[1], sys.argv[2]
try:
    dec = (json.loads(sys.argv[3]) or {}) if sys.argv[3] else {}
    so, sj = dec.get("scaledObject"), dec.get("scaledJob")
except ValueError:
    so = sj = None
body, _, code = raw.rpartition("\n")
print("=" * 78)
if code != "200":
    print("%s: HTTP %s %s" % (src, code, body)); sys.exit(0)
r = json.loads(body)["response"]
print("%s" % src)
print("  result:   %s" % ("ALLOWED" if r["allowed"] else "DENIED"))
st = r.get("status") or {}
if st.get("message"):
    print("  message:  %s (code %s)" % (st["message"], st.get("code")))
for w in r.get("warnings") or []:
    print("  warning:  %s" % w)
if "patch" in r:
    ops = json.loads(base64.b64decode(r["patch"]))
    print("  patch:    %d JSONPatch op%s (%s)" % (len(ops), "" if len(ops) == 1 else "s", r.get("patchType")))
    for op in ops:
        line = "    %-7s %s" % (op["op"], op["path"])
        if "value" in op:
            v = json.dumps(op["value"], indent=2, sort_keys=True)
            line += " = " + v.replace("\n", "\n" + " " * 14)
        print(line)
elif r["allowed"]:
    print("  patch:    none (unchanged)")
if r["allowed"] and so:
    sp = so.get("spec", {})
    trig = ", ".join("%s/%s" % (t.get("type"), t.get("name", "-")) for t in sp.get("triggers", []))
    ref = sp.get("scaleTargetRef", {})
    print("  then:     the worker applies ScaledObject %s/%s for %s/%s: replicas %s..%s, triggers %s" % (
        so.get("metadata", {}).get("namespace"), so.get("metadata", {}).get("name"),
        ref.get("kind", "Deployment"), ref.get("name"),
        sp.get("minReplicaCount"), sp.get("maxReplicaCount"), trig))
    down = (((sp.get("advanced") or {}).get("horizontalPodAutoscalerConfig") or {})
            .get("behavior") or {}).get("scaleDown")
    if down and ref.get("kind") == "StatefulSet":
        print("            scale-down: %s, stabilisation %ss" % (
            ", ".join("%s %s per %ss" % (p.get("value"), p.get("type"), p.get("periodSeconds"))
                      for p in down.get("policies", [])), down.get("stabilizationWindowSeconds")))
if r["allowed"] and sj:
    sp = sj.get("spec", {})
    trig = ", ".join("%s/%s" % (t.get("type"), t.get("name", "-")) for t in sp.get("triggers", []))
    print("  then:     the worker applies ScaledJob %s/%s: one Job per queued item, at most %s at once, triggers %s, strategy %s" % (
        sj.get("metadata", {}).get("namespace"), sj.get("metadata", {}).get("name"),
        sp.get("maxReplicaCount"), trig, sp.get("scalingStrategy", {}).get("strategy")))
PY
  done
done
[ "$n" -gt 0 ] || { echo "demo: no Deployments found in docs/examples/" >&2; exit 1; }
echo "=============================================================================="
echo "$n AdmissionReviews answered."
echo "metrics:  $(curl -sS --cacert certs/dev/ca.crt "$url/metrics" | grep '^mla_admission_requests_total' | grep -v ' 0$' | tr '\n' ' ')"
kill -TERM "$pid"
rc=0; wait "$pid" || rc=$?
pid=""
if [ "$rc" = 0 ] && grep -q '"stopped cleanly"' "$tmp/serve.log"; then
  echo "server stopped cleanly (SIGTERM, exit 0)"
else
  echo "demo: server exited with status $rc" >&2; tail -5 "$tmp/serve.log" >&2; exit 1
fi

# ---------------------------------------------------------------------------------------------
# The API story: the same webhook with the API side, against the test API server (no cluster).
# An HPA exists; the vLLM Deployment is admitted and stored with the patch applied; the worker
# removes the HPA (kept for restore) and applies the ScaledObject; the leader loop sets
# minReplicaCount from a forecast; opting out deletes the ScaledObject and restores the HPA.
echo
echo "=============================================================================="
echo "API story: serve with the API side, against the test API server (no cluster)"
NS=ml-serving; DEP=vllm-llama; HPA=vllm-llama-cpu
EXAMPLE=docs/examples/vllm-gpu-inference.yaml
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/token"
cat >"$tmp/preload.yaml" <<YAML
# the HPA someone made before opting in
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: $HPA
  namespace: $NS
  labels: {team: ml-serving}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: $DEP}
  minReplicas: 2
  maxReplicas: 6
  metrics:
    - type: Resource
      resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}
YAML
"$B/mla-testapi" --port 0 --port-file "$tmp/api.port" --token-file "$tmp/token" \
  --load "$tmp/preload.yaml" >/dev/null 2>"$tmp/testapi.log" &
api_pid=$!
for _ in $(seq 1 100); do
  [ -s "$tmp/api.port" ] && break
  kill -0 "$api_pid" 2>/dev/null || die "mla-testapi failed to start: $(tail -3 "$tmp/testapi.log")"
  sleep 0.05
done
[ -s "$tmp/api.port" ] || die "mla-testapi did not write its port"
API="http://127.0.0.1:$(cat "$tmp/api.port")"

# kapi VERB PATH [BODY] -> body on stdout; fails on a status other than 2xx
kapi() {
  local args=(-sS -X "$1" -H "Authorization: Bearer $(cat "$tmp/token")" -o "$tmp/kapi.body" -w '%{http_code}')
  [ -n "${3:-}" ] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
  local c; c=$(curl "${args[@]}" "$API$2") || c=000
  echo "$c" >"$tmp/kapi.code"
  case "$c" in 2*) cat "$tmp/kapi.body" ;; *) return 1 ;; esac
}
kcode() { cat "$tmp/kapi.code"; }
HPAS=/apis/autoscaling/v2/namespaces/$NS/horizontalpodautoscalers
SOS=/apis/keda.sh/v1alpha1/namespaces/$NS/scaledobjects
DEPS=/apis/apps/v1/namespaces/$NS/deployments
EVENTS=/api/v1/namespaces/$NS/events
LEASE=/apis/coordination.k8s.io/v1/namespaces/ml-autoscaling/leases/ml-autoscaling-leader

# Prometheus for the predictive step: mla-testprom answers every query with the NASA Kennedy
# Space Center web trace (July 1995, requests per minute), "now" mapped to a Wednesday noon there.
TRACE=tests/fixtures/traces/nasa-kennedy-1995.per-minute.csv
"$B/mla-testprom" --trace "$TRACE" --trace-at "$(date -u -d 1995-07-12T16:00:00Z +%s)" --now "$(date +%s)" \
  --port-file "$tmp/prom.port" 2>"$tmp/testprom.log" &
prom_pid=$!
for _ in $(seq 1 100); do
  [ -s "$tmp/prom.port" ] && break
  kill -0 "$prom_pid" 2>/dev/null || die "mla-testprom failed to start: $(tail -3 "$tmp/testprom.log")"
  sleep 0.05
done
[ -s "$tmp/prom.port" ] || die "mla-testprom did not write its port"
PROM="http://127.0.0.1:$(cat "$tmp/prom.port")"

# POD_NAMESPACE names the Lease's namespace (read back below)
POD_NAMESPACE=ml-autoscaling "$BIN" serve --listen 127.0.0.1:0 --tls-cert certs/dev/tls.crt --tls-key certs/dev/tls.key \
  --policies "$policies" --log-level info --kube-url "$API" --kube-token-file "$tmp/token" \
  --prometheus-url "$PROM" --loop-interval 2 2>"$tmp/kserve.log" &
kserve_pid=$!
kport=""
for _ in $(seq 1 100); do
  kport=$(grep -o 'listening on https://127.0.0.1:[0-9]*' "$tmp/kserve.log" 2>/dev/null | head -1 | sed 's/.*://') || true
  [ -n "$kport" ] && break
  kill -0 "$kserve_pid" 2>/dev/null || die "serve (with the API side) failed to start"
  sleep 0.05
done
[ -n "$kport" ] || die "serve (with the API side) did not start"
grep -q 'mode full' "$tmp/kserve.log" || die "serve is not in full mode: $(grep listening "$tmp/kserve.log")"
KURL="https://127.0.0.1:$kport"
echo "test API:      $API (build/mla-testapi, bearer token; the HPA preloaded with --load)"
echo "webhook:       $KURL (serve --kube-url: webhook + worker + leader loop every 2 s)"
echo "prometheus:    $PROM (build/mla-testprom: the NASA 1995 trace, now = a Wednesday noon)"

# The formatting of what the API holds, one line per fact.
cat >"$tmp/view.py" <<'PY'
import base64, json, sys
what = sys.argv[1]
def d(): return json.load(sys.stdin)
def hpa_line(h):
    s = h["spec"]; t = s["scaleTargetRef"]
    ms = ", ".join("%s %s%%" % (m["resource"]["name"], m["resource"]["target"].get("averageUtilization"))
                   for m in s.get("metrics", []) if m.get("type") == "Resource")
    return "%s/%s -> %s/%s, replicas %s..%s%s" % (h["metadata"]["namespace"], h["metadata"]["name"],
        t["kind"], t["name"], s.get("minReplicas", 1), s["maxReplicas"], ", " + ms if ms else "")
if what == "hpas":          # hpas NS [NOTE]
    items = d().get("items") or []
    if not items: print("  HPA:           none in %s%s" % (sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else ""))
    for h in items: print("  HPA:           %s%s" % (hpa_line(h), sys.argv[3] if len(sys.argv) > 3 else ""))
elif what == "sos":         # sos NS [NOTE]: only the "none" line, or one line per object
    items = d().get("items") or []
    if not items: print("  ScaledObject:  none in %s%s" % (sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else ""))
    for o in items:
        print("  ScaledObject:  %s/%s, replicas %s..%s" % (o["metadata"]["namespace"], o["metadata"]["name"],
              o["spec"].get("minReplicaCount"), o["spec"].get("maxReplicaCount")))
elif what == "so":          # so DEPLOYMENT-UID: the details of one ScaledObject
    o = d(); md = o["metadata"]; sp = o["spec"]
    print("  ScaledObject:  %s/%s, replicas %s..%s, target %s/%s" % (md["namespace"], md["name"],
          sp.get("minReplicaCount"), sp.get("maxReplicaCount"), sp["scaleTargetRef"].get("kind", "Deployment"),
          sp["scaleTargetRef"]["name"]))
    for t in sp.get("triggers", []):
        m = t.get("metadata", {})
        extra = m.get("query") or m.get("value") or ""
        if len(extra) > 60: extra = extra[:57] + "..."
        print("  trigger:       %s %s (threshold %s) %s" % (t.get("type"), t.get("name", "-"),
              m.get("threshold", m.get("value", "-")), extra))
    for r in md.get("ownerReferences", []):
        flags = ", ".join(k for k in ("controller", "blockOwnerDeletion") if r.get(k))
        same = "the stored Deployment" if r.get("uid") == sys.argv[2] else "ANOTHER object"
        print("  owner:         %s/%s uid %s (%s; %s)" % (r["kind"], r["name"], r["uid"], same, flags))
    kept = md.get("annotations", {}).get("ml-autoscaling.io/removed-hpa")
    if kept:
        h = json.loads(kept)
        h.setdefault("metadata", {}).setdefault("namespace", md["namespace"])
        print("  removed-hpa:   %s kept for restore (%s)" % (h["metadata"].get("name"), hpa_line(h).split(" -> ")[1]))
    else:
        print("  removed-hpa:   none")
elif what == "events":      # events KIND NAME SEEN-FILE: new Events on one object, oldest first
    seen_file = sys.argv[4]
    try: seen = set(open(seen_file).read().split())
    except OSError: seen = set()
    def rv(e):
        v = e["metadata"].get("resourceVersion", "0")
        return (e.get("firstTimestamp") or "", int(v) if v.isdigit() else 0)
    items = sorted((e for e in d().get("items") or []
                    if e.get("involvedObject", {}).get("kind") == sys.argv[2]
                    and e["involvedObject"].get("name") == sys.argv[3]
                    and e["metadata"]["name"] not in seen), key=rv)
    for e in items:
        msg = (e.get("message") or "").replace("\n", " ")
        if len(msg) > 90: msg = msg[:87] + "..."
        print("  event:         %-7s %-20s %s" % (e.get("type"), e.get("reason"), msg))
    with open(seen_file, "a") as fh:
        for e in items: fh.write(e["metadata"]["name"] + "\n")
elif what == "review":      # review OP: the AdmissionReview answer; the patch to $2
    r = d()["response"]
    ops = json.loads(base64.b64decode(r["patch"])) if "patch" in r else []
    print("  result:        %s, %d JSONPatch op%s" % ("ALLOWED" if r["allowed"] else "DENIED", len(ops), "" if len(ops) == 1 else "s"))
    for w in r.get("warnings") or []: print("  warning:       %s" % w)
    for op in ops:
        print("    %-7s %s%s" % (op["op"], op["path"], " = " + json.dumps(op["value"]) if "value" in op else ""))
    with open(sys.argv[2], "w") as fh: json.dump(ops, fh)
    sys.exit(0 if r["allowed"] else 1)
elif what == "forecast":    # the predictive step's result on the ScaledObject
    o = d(); a = o["metadata"].get("annotations", {}); sp = o["spec"]
    print("  ScaledObject:  replicas %s..%s (minReplicaCount set by the loop)" % (sp.get("minReplicaCount"), sp.get("maxReplicaCount")))
    print("  forecast:      peak %s, confidence %s" % (a.get("ml-autoscaling.io/forecast-peak"), a.get("ml-autoscaling.io/forecast-confidence")))
    print("  reason:        %s" % a.get("ml-autoscaling.io/min-replicas-reason"))
else:
    sys.exit("view: unknown view " + what)
PY
view() { "$PY" "$tmp/view.py" "$@"; }
mutate() { curl -sS --cacert certs/dev/ca.crt -H 'Content-Type: application/json' --data-binary "@$1" "$KURL/mutate"; }
# wait_for SECONDS CMD...: polls every 0.1 s
wait_for() { local n=$(($1 * 10)); shift; for _ in $(seq 1 "$n"); do "$@" && return 0; sleep 0.1; done; return 1; }
count() { kapi GET "$1" | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin).get("items") or []))'; }
so_exists() { kapi GET "$SOS/$DEP" >/dev/null; }
so_gone() { ! kapi GET "$SOS/$DEP" >/dev/null && [ "$(kcode)" = 404 ]; }
hpa_gone() { ! kapi GET "$HPAS/$HPA" >/dev/null && [ "$(kcode)" = 404 ]; }
hpa_exists() { kapi GET "$HPAS/$HPA" >/dev/null; }
now_ms() { date +%s%3N; }

echo
echo "[before]"
kapi GET "$HPAS" | view hpas "$NS" || die "cannot list HPAs"
kapi GET "$SOS" | view sos "$NS" || die "cannot list ScaledObjects"
if [ "$(count "$HPAS")" != 1 ] || [ "$(count "$SOS")" != 0 ]; then
  die "the test API server does not hold just the preloaded HPA"
fi

echo
echo "[admission] CREATE Deployment $NS/$DEP ($EXAMPLE)"
"$PY" -c 'import json,sys,yaml; print(json.dumps(next(x for x in yaml.safe_load_all(open(sys.argv[1])) if x and x.get("kind") == "Deployment")))' \
  "$EXAMPLE" >"$tmp/dep.json" || die "cannot read $EXAMPLE"
mla_review CREATE "$tmp/dep.json" "" >"$tmp/create.json"
mutate "$tmp/create.json" >"$tmp/create.resp" || die "no answer from /mutate"
view review "$tmp/create.patch" <"$tmp/create.resp" || die "the CREATE was not allowed: $(cat "$tmp/create.resp")"
grep -q "$HPA" "$tmp/create.resp" || die "the answer does not warn about HPA $HPA"
# What kube-apiserver does after admission: apply the patch, store the object.
/usr/bin/kubectl patch --local --type=json -f "$tmp/dep.json" -p "$(cat "$tmp/create.patch")" -o json >"$tmp/patched.json" \
  || die "kubectl could not apply the patch"
t0=$(now_ms)
kapi POST "$DEPS" "$(cat "$tmp/patched.json")" >"$tmp/stored.json" || die "storing the Deployment: $(kcode) $(cat "$tmp/kapi.body")"
uid=$("$PY" -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["uid"])' <"$tmp/stored.json")
echo "  stored:        POST $DEPS (patch applied with kubectl patch --local), uid $uid"

wait_for 10 so_exists || die "no ScaledObject $NS/$DEP within 10 s"
wait_for 5 hpa_gone || die "HPA $HPA still there"
t1=$(now_ms)
echo
echo "[after] the worker acted within $((t1 - t0)) ms of the store"
kapi GET "$HPAS" | view hpas "$NS" " ($HPA removed)"
[ "$(count "$HPAS")" = 0 ] || die "an HPA is left in $NS"
kapi GET "$SOS/$DEP" >"$tmp/so.json" || die "cannot read the ScaledObject"
view so "$uid" <"$tmp/so.json"
grep -q '"uid":"'"$uid"'"' "$tmp/so.json" || die "the ScaledObject is not owned by the stored Deployment"
grep -q 'removed-hpa' "$tmp/so.json" || die "the ScaledObject does not keep the removed HPA"
wait_for 5 sh -c "curl -sS -H 'Authorization: Bearer $(cat "$tmp/token")' '$API$EVENTS' | grep -q ScaledObjectApplied" \
  || die "no ScaledObjectApplied Event"
kapi GET "$EVENTS" | view events Deployment "$DEP" "$tmp/seen-events"
holder() { kapi GET "$LEASE" 2>/dev/null | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["spec"].get("holderIdentity") or "")' 2>/dev/null; }
leads() { [ -n "$(holder)" ]; }
runs() { curl -sS --cacert certs/dev/ca.crt "$KURL/metrics" | awk '$1 ~ /^mla_reconcile_runs_total/ {s += $2} END {print s + 0}'; }
looped() { [ "$(runs)" -ge 1 ]; }
wait_for 5 leads || die "serve did not take the leader Lease"
wait_for 5 looped || die "the leader loop did not run"
echo "  leader:        serve ($(holder)) holds Lease ml-autoscaling/ml-autoscaling-leader; loop passes so far: $(runs)"

echo
echo "[predictive step] the leader loop forecasts the next 30 min from Prometheus"
forecast_set() {
  kapi GET "$SOS/$DEP" | "$PY" -c '
import json,sys
a=json.load(sys.stdin)["metadata"].get("annotations",{})
sys.exit(0 if "ml-autoscaling.io/forecast-peak" in a and "ml-autoscaling.io/min-replicas-reason" in a else 1)'
}
wait_for 8 forecast_set || die "the leader loop did not apply a forecast within 8 s: $(grep -E '"predict|"rec' "$tmp/kserve.log" | tail -2)"
kapi GET "$SOS/$DEP" | view forecast
echo
echo "[opt-out] UPDATE Deployment $NS/$DEP without ml-autoscaling.io/enabled"
kapi GET "$DEPS/$DEP" >"$tmp/old.json" || die "cannot read the stored Deployment"
"$PY" -c 'import json,sys; o=json.load(sys.stdin); o["metadata"]["annotations"].pop("ml-autoscaling.io/enabled"); print(json.dumps(o))' \
  <"$tmp/old.json" >"$tmp/new.json"
mla_review UPDATE "$tmp/new.json" "$tmp/old.json" >"$tmp/update.json"
mutate "$tmp/update.json" >"$tmp/update.resp" || die "no answer from /mutate"
view review "$tmp/update.patch" <"$tmp/update.resp" || die "the opt-out was not allowed: $(cat "$tmp/update.resp")"
/usr/bin/kubectl patch --local --type=json -f "$tmp/new.json" -p "$(cat "$tmp/update.patch")" -o json >"$tmp/new-stored.json" \
  || die "kubectl could not apply the patch"
t0=$(now_ms)
kapi PUT "$DEPS/$DEP" "$(cat "$tmp/new-stored.json")" >/dev/null || die "storing the update: $(kcode) $(cat "$tmp/kapi.body")"
echo "  stored:        PUT $DEPS/$DEP (patch applied)"
wait_for 10 so_gone || die "ScaledObject $NS/$DEP not deleted after the opt-out"
wait_for 5 hpa_exists || die "HPA $HPA not restored after the opt-out"
t1=$(now_ms)
echo
echo "[after opt-out] the worker acted within $((t1 - t0)) ms of the store"
kapi GET "$SOS" | view sos "$NS" " ($DEP deleted)"
[ "$(count "$SOS")" = 0 ] || die "a ScaledObject is left in $NS"
kapi GET "$HPAS" | view hpas "$NS" " (restored)"
kapi GET "$HPAS/$HPA" | "$PY" -c 'import json,sys; h=json.load(sys.stdin); assert h["spec"]["maxReplicas"] == 6 and h["metadata"]["labels"]["team"] == "ml-serving", h' \
  >/dev/null 2>&1 || die "the restored HPA differs from the one removed"
wait_for 5 sh -c "curl -sS -H 'Authorization: Bearer $(cat "$tmp/token")' '$API$EVENTS' | grep -q HPARestored" \
  || die "no HPARestored Event"
kapi GET "$EVENTS" | view events Deployment "$DEP" "$tmp/seen-events"

echo
kill -TERM "$kserve_pid"
rc=0; wait "$kserve_pid" || rc=$?
kserve_pid=""
[ "$rc" = 0 ] || die "serve (with the API side) exited with status $rc"
[ -z "$(holder)" ] || die "serve did not release the Lease on SIGTERM"
kill -TERM "$api_pid"
rc=0; wait "$api_pid" || rc=$?
api_pid=""
[ "$rc" = 0 ] || die "mla-testapi exited with status $rc"
kill -TERM "$prom_pid"
rc=0; wait "$prom_pid" || rc=$?
prom_pid=""
[ "$rc" = 0 ] || die "mla-testprom exited with status $rc"
echo "serve stopped cleanly (SIGTERM, exit 0, Lease released); test API server and Prometheus stopped"
echo "API story: OK (HPA removed and kept, ScaledObject applied, forecast applied, opt-out deleted it and restored the HPA)"
