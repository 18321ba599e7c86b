#!/usr/bin/env bash
# Policy hot reload under load: while 4 kept-alive clients send opted-in AdmissionReviews, the
# policy directory (laid out like a ConfigMap volume: NAME -> ..data/NAME, ..data -> a versioned
# directory) is swapped every 0.4 s between two valid sets A and B and an invalid set C (C changes
# the matching policy AND holds a broken file), each swap followed by SIGHUP so reloads land at
# arbitrary moments. Checked on every response: HTTP 200 with the request's uid, and the
# policy-hash in its patch is A's or B's; C's hash (its valid half) never appears; no request
# fails. After a final swap to C the last good set keeps serving and /readyz says why.
set -u
. "$(dirname "$0")/webhook_lib.sh"
T=$MLA_TMP
SECS=10; PAUSE=0.4
# Under valgrind a reload (the zone database, then the policies) takes about a second: swap
# slower, so that reloads complete between swaps and both valid sets get to answer.
if [ "${MLA_VALGRIND:-0}" = 1 ]; then SECS=24; PAUSE=2.5; fi

# ---- three policy sets: same file names, the matching policy p differs ----
policy_p() { # NAME MAX
  cat <<P
apiVersion: ml-autoscaling.io/v1
kind: PolicySet
policies:
  - name: p
    priority: 20
    defaults:
      minReplicas: 1
      maxReplicas: $1
      bounds:
        replicas: {min: 1, max: 50}
      triggers:
        - {type: cpu, metricType: Utilization, threshold: 70}
P
}
policy_q='apiVersion: ml-autoscaling.io/v1
kind: PolicySet
policies:
  - name: q
    priority: 10
    defaults:
      minReplicas: 1
      maxReplicas: 5
      triggers:
        - {type: cpu, metricType: Utilization, threshold: 60}'
mkdir -p "$T/sets/A" "$T/sets/B" "$T/sets/C" "$T/sets/C-valid-half"
policy_p 7 >"$T/sets/A/10-p.yaml";  echo "$policy_q" >"$T/sets/A/20-q.yaml"
policy_p 9 >"$T/sets/B/10-p.yaml";  echo "$policy_q" >"$T/sets/B/20-q.yaml"
policy_p 13 >"$T/sets/C/10-p.yaml"; printf 'policies:\n  - name: q\n    priority: [unclosed\n' >"$T/sets/C/20-q.yaml"
cp "$T/sets/C/10-p.yaml" "$T/sets/C-valid-half/"

cat >"$T/dep.json" <<'J'
{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"team","annotations":{"ml-autoscaling.io/enabled":"true"}},"spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"c","image":"nginx","resources":{"requests":{"cpu":"100m","memory":"64Mi"}}}]}}}}
J
mla_review CREATE "$T/dep.json" "" true >"$T/review.json"
hash_of() { "$BIN" render -f "$T/dep.json" --policies "$1" -o json | wh_json 'd["scaledObject"]["metadata"]["annotations"]["ml-autoscaling.io/policy-hash"]'; }
HA=$(hash_of "$T/sets/A"); HB=$(hash_of "$T/sets/B"); HC=$(hash_of "$T/sets/C-valid-half")
[ -n "$HA" ] && [ -n "$HB" ] && [ -n "$HC" ] && [ "$HA" != "$HB" ] && [ "$HC" != "$HA" ] && [ "$HC" != "$HB" ] ||
  fail "test setup: policy hashes A=$HA B=$HB C=$HC must differ"
"$BIN" lint --policies "$T/sets/C" >/dev/null 2>&1 && fail "test setup: set C lints clean"
ok "sets: A ($HA), B ($HB) valid; C invalid (its valid half would be $HC)"

# ---- the ConfigMap-volume layout; swap = new versioned dir, atomic rename of ..data ----
POL="$T/pol"; mkdir -p "$POL"
n=0
swap_to() { # SET
  n=$((n + 1))
  cp -r "$T/sets/$1" "$POL/..v$n"
  ln -sfn "..v$n" "$POL/..data_tmp" && mv -T "$POL/..data_tmp" "$POL/..data"
  [ $n -gt 6 ] && rm -rf "$POL/..v$((n - 6))"   # kubelet removes the old version after the swap
  return 0
}
swap_to A
ln -s ..data/10-p.yaml "$POL/10-p.yaml"; ln -s ..data/20-q.yaml "$POL/20-q.yaml"
WH_POLICIES="$POL" wh_start --log-level info
out=$(wh_post "$T/review.json"); [ "${out##*$'\n'}" = 200 ] || fail "first request: $out"

/usr/bin/python3 "$MLA_ROOT/tests/integration/load_client.py" --url "$WH_URL/mutate" --cacert "$CERTS/ca.crt" \
  --body "$T/review.json" --threads 4 --mode keep --until-file "$T/stop" --out "$T/load.json" &
lpid=$!
seq_sets=(C B C A B C A C B A)
end=$((SECONDS + SECS)); i=0; last_valid=A
while [ $SECONDS -lt $end ]; do
  s=${seq_sets[$((i % ${#seq_sets[@]}))]}; i=$((i + 1))
  swap_to "$s"; kill -HUP "$WH_PID"
  [ "$s" != C ] && last_valid=$s
  sleep "$PAUSE"
done
# End on the invalid set: the last valid one must keep answering.
swap_to C; kill -HUP "$WH_PID"
for _ in $(seq 1 50); do wh_curl /readyz | grep -q '"lastError":"' && break; sleep 0.1; done
sleep 1
touch "$T/stop"; wait "$lpid" || fail "load client failed"

want=$HA; [ "$last_valid" = B ] && want=$HB
/usr/bin/python3 - "$T/load.json" "$HA" "$HB" "$HC" <<'PY' || fail "responses not all from one valid, complete policy set"
import json, sys
s, ha, hb, hc = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3], sys.argv[4]
assert s["failed"] == 0, f"{s['failed']} failed requests: {s['failures']}"
assert s["requests"] >= 50, f"only {s['requests']} requests"
h = s["policy_hashes"]
assert h.get(hc, 0) == 0, f"the invalid set C took effect in {h[hc]} responses"
assert set(h) <= {ha, hb}, f"responses from no valid set: { {k: v for k, v in h.items() if k not in (ha, hb)} }"
assert h.get(ha, 0) > 0 and h.get(hb, 0) > 0, f"both sets must have answered: {h}"
print(f"ok   - {s['requests']} requests in {s['seconds']} s, 0 failed; set A answered {h[ha]}, set B {h[hb]}, invalid C 0; p99 {s['p99_ms']:.1f} ms")
PY
r=$(wh_curl /readyz)
echo "$r" | grep -q '"lastError":"' || fail "readyz does not show the failed reload: $r"
echo "$r" | grep -q '20-q.yaml' || fail "readyz error does not name the broken file: $r"
out=$(wh_post "$T/review.json"); [ "${out##*$'\n'}" = 200 ] || fail "request after the final invalid swap: $out"
got=$(echo "${out%$'\n'*}" | wh_json 'json.loads(__import__("base64").b64decode(d["response"]["patch"]))' | grep -o 'sha256:[0-9a-f]*' | head -1)
[ "$got" = "$want" ] || fail "after the final swap to C: hash $got, want the last good set $last_valid ($want)"
ok "final swap to the invalid set: still serving the last good set $last_valid; /readyz names the broken file"
m=$(wh_curl /metrics)
echo "$m" | grep -Eq '^mla_policy_reloads_total\{result="error"\} [1-9]' || fail "reload errors not counted"
echo "$m" | grep -Eq '^mla_policy_reloads_total\{result="ok"\} [1-9]' || fail "reloads not counted"
ok "reloads counted: $(echo "$m" | grep '^mla_policy_reloads_total' | tr '\n' ' ')"
wh_stop
