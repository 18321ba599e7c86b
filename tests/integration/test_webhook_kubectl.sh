#!/usr/bin/env bash
# Every patch the webhook returns applies cleanly the way kube-apiserver applies it: each
# AdmissionReview in tests/fixtures/webhook/*/request.json (no annotations, no labels, keys with
# '/' and '~', several containers, realistic managedFields, opt-out, dry run) goes through the
# real server over TLS; the base64 patch is decoded and applied with
# `kubectl patch --local --type=json`, and the result is compared with an independent RFC 6902
# application of the same ops.
set -u
. "$(dirname "$0")/webhook_lib.sh"
KUBECTL=${KUBECTL:-/usr/bin/kubectl}
[ -x "$KUBECTL" ] || KUBECTL=$(command -v kubectl) || fail "kubectl not found (make deps)"

wh_start
T=$MLA_TMP
n=0; patched=0
for req in "$MLA_ROOT"/tests/fixtures/webhook/*/request.json; do
  case_name=$(basename "$(dirname "$req")")
  out=$(wh_post "$req") || fail "$case_name: curl failed"
  code=${out##*$'\n'}; body=${out%$'\n'*}
  [ "$code" = 200 ] || fail "$case_name: HTTP $code: $body"
  printf '%s' "$body" > "$T/resp.json"
  # Checks the review envelope and writes obj.json and patch.json (absent when no patch).
  rm -f "$T/patch.json" "$T/denied"
  /usr/bin/python3 - "$req" "$T/resp.json" "$T" <<'PY' || fail "$case_name: bad response: $body"
import base64, json, sys
req = json.load(open(sys.argv[1]))["request"]
resp = json.load(open(sys.argv[2]))
t = sys.argv[3]
assert resp["apiVersion"] == "admission.k8s.io/v1" and resp["kind"] == "AdmissionReview", resp
r = resp["response"]
assert r["uid"] == req["uid"], "uid not echoed"
json.dump(req["object"], open(t + "/obj.json", "w"))
if r["allowed"] is not True:
    # A policy may deny a fixture (e.g. a profile it does not define): then a message, no patch.
    assert r["allowed"] is False and r["status"]["message"] and "patch" not in r, r
    open(t + "/denied", "w").write(r["status"]["message"])
    sys.exit(0)
if "patch" in r:
    assert r["patchType"] == "JSONPatch", r
    raw = base64.b64decode(r["patch"], validate=True)
    ops = json.loads(raw)
    assert isinstance(ops, list) and ops, "empty patch must be omitted"
    json.dump(ops, open(t + "/patch.json", "w"))
else:
    assert "patchType" not in r, r
PY
  opted=$(/usr/bin/python3 -c 'import json,sys; o=json.load(open(sys.argv[1]))["request"]["object"]; print((o["metadata"].get("annotations") or {}).get("ml-autoscaling.io/enabled")=="true")' "$req")
  if [ -f "$T/denied" ]; then
    ok "$case_name: denied by the policy: $(cat "$T/denied")"
    n=$((n + 1)); continue
  fi
  if [ ! -f "$T/patch.json" ]; then
    [ "$opted" = False ] || fail "$case_name: opted in but no patch"
    ok "$case_name: allowed, no patch (not opted in)"
    n=$((n + 1)); continue
  fi
  if [ "$opted" != True ]; then
    # Only an opt-out (UPDATE whose oldObject was opted in) may patch a Deployment that is not
    # opted in: to take back what the product put on it.
    was=$(/usr/bin/python3 -c 'import json,sys; o=json.load(open(sys.argv[1]))["request"].get("oldObject") or {}; print((o.get("metadata",{}).get("annotations") or {}).get("ml-autoscaling.io/enabled")=="true")' "$req")
    [ "$was" = True ] || fail "$case_name: patch for a Deployment that is not opted in"
  fi
  "$KUBECTL" patch --local --type=json -f "$T/obj.json" -p "$(cat "$T/patch.json")" -o json --show-managed-fields \
    >"$T/kubectl.json" 2>"$T/kubectl.err" || fail "$case_name: kubectl patch failed: $(cat "$T/kubectl.err") patch: $(cat "$T/patch.json")"
  /usr/bin/python3 - "$T/obj.json" "$T/patch.json" "$T/kubectl.json" "$opted" <<'PY' || fail "$case_name: kubectl result differs from RFC 6902"
import copy, json, sys
doc = json.load(open(sys.argv[1])); ops = json.load(open(sys.argv[2])); got = json.load(open(sys.argv[3]))
def tokens(p):
    assert p.startswith("/"), p
    return [t.replace("~1", "/").replace("~0", "~") for t in p[1:].split("/")]
def walk(d, toks):
    for t in toks:
        d = d[int(t)] if isinstance(d, list) else d[t]
    return d
want = copy.deepcopy(doc)
for op in ops:
    toks = tokens(op["path"]); parent = walk(want, toks[:-1]); last = toks[-1]
    if op["op"] == "add":
        if isinstance(parent, list):
            parent.insert(len(parent) if last == "-" else int(last), op["value"])
        else:
            parent[last] = op["value"]
    elif op["op"] == "replace":
        walk(want, toks)  # must exist
        parent[int(last) if isinstance(parent, list) else last] = op["value"]
    elif op["op"] == "remove":
        del parent[int(last) if isinstance(parent, list) else last]
    else:
        raise SystemExit("unexpected op " + op["op"])
labels = want["metadata"].get("labels") or {}
if sys.argv[4] == "True":
    assert labels.get("ml-autoscaling.io/managed") == "true", labels
else:
    assert labels.get("ml-autoscaling.io/managed") != "true", "opt-out keeps the managed label"
# kubectl may drop nulls (creationTimestamp: null): compare without them.
def strip(x):
    if isinstance(x, dict): return {k: strip(v) for k, v in x.items() if v is not None}
    if isinstance(x, list): return [strip(v) for v in x]
    return x
if strip(want) != strip(got):
    print(json.dumps(strip(want), sort_keys=True)[:2000]); print(json.dumps(strip(got), sort_keys=True)[:2000])
    raise SystemExit(1)
PY
  ok "$case_name: $(/usr/bin/python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$T/patch.json") ops apply cleanly with kubectl patch --local; result matches RFC 6902"
  n=$((n + 1)); patched=$((patched + 1))
done
[ "$n" -ge 8 ] || fail "only $n fixtures found"
[ "$patched" -ge 3 ] || fail "only $patched fixtures were patched"
ok "$n fixtures, $patched patched"
wh_stop
