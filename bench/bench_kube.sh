#!/usr/bin/env bash
# The API side against mla-testapi on loopback:
#  1. the admission review hook (its bounded reads: LIST HPAs + LIST ScaledObjects in the
#     namespace), p50/p99 over 1000 calls;  target p99 < 5 ms
#  2. "Deployment stored" -> "ScaledObject applied" over 200 Deployments admitted (CREATE) and
#     then stored one after another (as admission left them: opt-in annotation, managed label),
#     measured on the API server's clock (POST of the Deployment to the creating apply of its
#     ScaledObject);  target p99 < 1 s
# MLA_BENCH_KUBE_N: Deployments in 2 (default 200); MLA_BENCH_KEEP=1 keeps the scratch dir (logs).
set -u
B=${MLA_BUILD:-$(cd "$(dirname "$0")/.." && pwd)/build}
R=${MLA_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
T=$(mktemp -d /tmp/mla-bench-kube.XXXXXX)
N=${MLA_BENCH_KUBE_N:-200}
trap 'exec 3>&- 2>/dev/null; kill $API_PID $DRV_PID 2>/dev/null; wait 2>/dev/null; if [ -n "${MLA_BENCH_KEEP:-}" ]; then echo "  (kept $T)"; else rm -rf "$T"; fi' EXIT
echo "bench-token" >"$T/token"
"$B/mla-testapi" --port 0 --port-file "$T/port" --token-file "$T/token" >/dev/null 2>"$T/api.err" &
API_PID=$!
for _ in $(seq 1 50); do [ -s "$T/port" ] && break; sleep 0.1; done
API="http://127.0.0.1:$(cat "$T/port")"
mkfifo "$T/in"
"$B/mla-controller-driver" --kube-url "$API" --kube-token-file "$T/token" --no-loop \
  --template "$R/tests/fixtures/kube/so-template.json" --log-level warn <"$T/in" >"$T/out" 2>"$T/drv.err" &
DRV_PID=$!
exec 3>"$T/in"
H="Authorization: Bearer bench-token"
# a namespace with 20 Deployments' worth of HPAs and ScaledObjects to read
for i in $(seq 1 20); do
  curl -s -H "$H" -H 'Content-Type: application/json' "$API/apis/autoscaling/v2/namespaces/bench/horizontalpodautoscalers" \
    -d "{\"metadata\":{\"name\":\"h$i\"},\"spec\":{\"scaleTargetRef\":{\"kind\":\"Deployment\",\"name\":\"other$i\"},\"maxReplicas\":3}}" >/dev/null
  curl -s -H "$H" -H 'Content-Type: application/json' "$API/apis/keda.sh/v1alpha1/namespaces/bench/scaledobjects" \
    -d "{\"metadata\":{\"name\":\"s$i\"},\"spec\":{\"scaleTargetRef\":{\"name\":\"x$i\"},\"triggers\":[{\"type\":\"prometheus\",\"metadata\":{}}]}}" >/dev/null
done
echo '{"cmd":"bench-review","namespace":"bench","name":"web","n":1000}' >&3
for _ in $(seq 1 300); do [ -s "$T/out" ] && break; sleep 0.1; done
read -r line <"$T/out"
echo "admission review reads (2 LISTs, 20 HPAs + 20 ScaledObjects in the namespace), 1000 calls:"
/usr/bin/python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print("  p50 %.3f ms  p99 %.3f ms  max %.3f ms   (target p99 < 5 ms)" % (d["p50Ms"], d["p99Ms"], d["maxMs"]))' "$line"

# stored -> applied
for i in $(seq 1 "$N"); do
  echo "{\"namespace\":\"load\",\"name\":\"d$i\",\"op\":\"CREATE\",\"action\":\"apply\"}" >&3
done
sleep 0.2
# Stored as admission left it: the worker waits until the stored Deployment shows what was
# admitted (the opt-in annotation and the managed label) before it writes, so a body without
# them is never acted on (the worker gives up after 30 s and leaves it to the loop).
bad=0
for i in $(seq 1 "$N"); do
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "$H" -H 'Content-Type: application/json' "$API/apis/apps/v1/namespaces/load/deployments" \
    -d "{\"metadata\":{\"name\":\"d$i\",\"labels\":{\"ml-autoscaling.io/managed\":\"true\"},\"annotations\":{\"ml-autoscaling.io/enabled\":\"true\"}},\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"resources\":{\"requests\":{\"cpu\":\"100m\"}}}]}}}}")
  [ "$code" = 201 ] || bad=$((bad + 1))
  sleep 0.01
done
[ "$bad" = 0 ] || echo "  $bad of $N Deployments were not stored (POST did not answer 201)"
echo '{"cmd":"wait","timeoutMs":60000}' >&3
for _ in $(seq 1 600); do [ "$(wc -l <"$T/out")" -ge $((N + 2)) ] && break; sleep 0.1; done
curl -s "$API/_log" | /usr/bin/python3 -c '
import json,sys
n=int(sys.argv[1])
stored={}; applied={}
for e in json.load(sys.stdin)["items"]:
    p=e["path"]
    if e["verb"]=="POST" and p=="/apis/apps/v1/namespaces/load/deployments" and e["status"]==201:
        stored.setdefault(len(stored)+1, e["t"])
    if e["verb"]=="PATCH" and "/namespaces/load/scaledobjects/" in p and e["created"]:
        applied[int(p.rsplit("/d",1)[1])]=e["t"]
d=sorted((applied[i]-stored[i])*1000 for i in applied if i in stored)
if not d: print("  no ScaledObject applied (see the driver log: MLA_BENCH_KEEP=1 keeps it)"); sys.exit()
p=lambda q: d[min(len(d)-1,int(len(d)*q))]
print("stored -> applied over %d Deployments (%d applied):" % (n, len(d)))
print("  p50 %.1f ms  p99 %.1f ms  max %.1f ms   (target p99 < 1000 ms)" % (p(0.5), p(0.99), d[-1]))
' "$N"
