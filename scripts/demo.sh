#!/usr/bin/env bash
# The local demo, no cluster needed: installs the Debian packages (unless --no-deps), builds,
# makes development certificates in certs/dev, starts `ml-autoscaling serve` on a free loopback
# port, sends it a real AdmissionReview (CREATE) for every example Deployment in docs/examples/
# over TLS (curl --cacert), and prints what came back: allowed/denied, message, warnings and the
# JSON Patch ops. Then stops the server with SIGTERM.
#
#   ./scripts/demo.sh [--no-deps] [--keep-log]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
deps=1; keep_log=0
for a in "$@"; do
  case "$a" in
    --no-deps) deps=0 ;;
    --keep-log) keep_log=1 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  if [ "$keep_log" = 1 ]; then echo "server log kept in $tmp/serve.log"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

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
  # One AdmissionReview per Deployment in the file.
  "$PY" - "$f" "$tmp" <<'PY' || { echo "demo: cannot read $f" >&2; exit 1; }
import json, sys, uuid, yaml
path, tmp = sys.argv[1], sys.argv[2]
with open(path) as fh:
    docs = list(yaml.safe_load_all(fh)) if not path.endswith(".json") else [json.load(fh)]
i = 0
for d in docs:
    if not isinstance(d, dict) or d.get("kind") != "Deployment":
        continue
    md = d.setdefault("metadata", {})
    ns = md.setdefault("namespace", "default")
    req = {"uid": str(uuid.uuid4()),
           "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
           "resource": {"group": "apps", "version": "v1", "resource": "deployments"},
           "name": md.get("name", ""), "namespace": ns, "operation": "CREATE",
           "userInfo": {"username": "demo-user"}, "object": d, "oldObject": None, "dryRun": False}
    with open("%s/review-%d.json" % (tmp, i), "w") as out:
        json.dump({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": req}, out)
    i += 1
PY
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
    so = (json.loads(sys.argv[3]) or {}).get("scaledObject") if sys.argv[3] else None
except ValueError:
    so = None
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
    print("  then:     the worker applies ScaledObject %s/%s: replicas %s..%s, triggers %s" % (
        so.get("metadata", {}).get("namespace"), so.get("metadata", {}).get("name"),
        sp.get("minReplicaCount"), sp.get("maxReplicaCount"), trig))
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
