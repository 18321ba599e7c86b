# lib_serve.sh - sourced by the tests that run the whole of `serve` (webhook + worker + leader
# loop) against mla-testapi and mla-testprom (test_serve_*.sh; not a test itself).
#   serve_start              starts serve (loop every 2 s); sets SERVE_PID, PORT, SERVE_LOG
#   admit NAME               POSTs a CREATE review of Deployment NAME as kube-apiserver does (5 s
#                            timeout); prints the seconds; the answer in $MLA_TMP/resp-NAME.json
#   store NAME               stores it in mla-testapi with the webhook's patch applied
#   admit_store NAME         both; adds NAME to ADMITTED, the seconds in T_ADMIT
#   end_state_check [EXTRA]  one ScaledObject per admitted Deployment: none lost, none duplicated
. "$(dirname "$0")/lib_kube.sh"
. "$MLA_ROOT/scripts/review-lib.sh"
. "$(dirname "$0")/lib_testprom.sh"
BIN="$MLA_BUILD/ml-autoscaling"
kube_is_real && { echo "skip: fault injection needs mla-testapi and mla-testprom"; exit 0; }
PY=/usr/bin/python3
NS=web
AT=$(date -u -d 1995-07-12T16:00:00Z +%s)
PROM_ARGS=(--trace "$MLA_ROOT/tests/fixtures/traces/nasa-kennedy-1995.per-minute.csv" --trace-at "$AT" --now "$(date +%s)")
testprom_start "${PROM_ARGS[@]}" || fail "testprom"
PIDS+=("$TESTPROM_PID")
kube_start_api
bash "$MLA_ROOT/certs/gen-dev-certs.sh" "$MLA_TMP/certs" >/dev/null || fail "certs"

SERVE_PID=""; PORT=""; SERVE_N=0
serve_start() {
  SERVE_N=$((SERVE_N + 1))
  local log="$MLA_TMP/serve$SERVE_N.err"
  # shellcheck disable=SC2046
  POD_NAMESPACE=kube-system $(vg "serve$SERVE_N" "$BIN") serve --listen 127.0.0.1:0 \
    --tls-cert "$MLA_TMP/certs/tls.crt" --tls-key "$MLA_TMP/certs/tls.key" \
    --policies "$MLA_ROOT/policies" --kube-url "$API" --kube-token-file "$TOKEN_FILE" \
    --prometheus-url "$TESTPROM_URL" --loop-interval 2 2>"$log" &
  SERVE_PID=$!; PIDS+=("$SERVE_PID"); SERVE_LOG=$log; PORT=""
  for _ in $(seq 1 $((100 * SLOW))); do
    PORT=$(grep -o 'listening on https://127.0.0.1:[0-9]*' "$log" 2>/dev/null | head -1 | sed 's/.*://')
    [ -n "$PORT" ] && break; sleep 0.1
  done
  [ -n "$PORT" ] || fail "serve did not start: $(tail -5 "$log")"
}
$PY - "$MLA_ROOT/tests/fixtures/render/api-cpu-only/deployment.yaml" >"$MLA_TMP/dep.json" <<'PYEOF'
import json, sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
a = d["metadata"]["annotations"]
a.pop("ml-autoscaling.io/business-hours"); a.pop("ml-autoscaling.io/timezone")
a["ml-autoscaling.io/capacity-per-replica"] = "20"
print(json.dumps(d))
PYEOF
dep_named() { sed "s/\"name\": \"search-frontend\"/\"name\": \"$1\"/" "$MLA_TMP/dep.json" >"$MLA_TMP/dep-$1.json"; }
# admit NAME -> the webhook's answer in $MLA_TMP/resp-NAME.json, like kube-apiserver: POST with
# the 5 s timeout of the chart; prints the seconds it took. Non-zero when no answer came.
admit() {
  dep_named "$1"
  mla_review CREATE "$MLA_TMP/dep-$1.json" >"$MLA_TMP/review-$1.json"
  curl -sS -m 5 --cacert "$MLA_TMP/certs/ca.crt" -H 'Content-Type: application/json' \
    --data-binary "@$MLA_TMP/review-$1.json" -o "$MLA_TMP/resp-$1.json" -w '%{time_total}' \
    "https://127.0.0.1:$PORT/mutate" "${@:2}"
}
# store NAME: what kube-apiserver stores after the webhook allowed it (the patch applied)
store() {
  local patch
  patch=$($PY -c 'import json,sys,base64; r=json.load(open(sys.argv[1]))["response"]; assert r["allowed"], r; print(base64.b64decode(r["patch"]).decode())' \
    "$MLA_TMP/resp-$1.json") || fail "$1 not allowed: $(cat "$MLA_TMP/resp-$1.json")"
  /usr/bin/kubectl patch --local --type=json -f "$MLA_TMP/dep-$1.json" -p "$patch" -o json >"$MLA_TMP/stored-$1.json"
  kapi POST "/apis/apps/v1/namespaces/$NS/deployments" "$(cat "$MLA_TMP/stored-$1.json")" >/dev/null
  [ "$(code)" = 201 ] || fail "store $1: $(code) $(cat "$MLA_TMP/last.body")"
}
ADMITTED=()
admit_store() {
  T_ADMIT=$(admit "$1") || fail "$1: no answer from the webhook within 5 s"
  store "$1"; ADMITTED+=("$1")
}


end_state_check() {
  sleep 2.5   # one more loop pass
  kapi GET "/apis/keda.sh/v1alpha1/namespaces/$NS/scaledobjects" >"$MLA_TMP/sos.json"
  $PY - "$MLA_TMP/sos.json" "${ADMITTED[@]}" <<'PY' || fail "ScaledObjects lost or duplicated"
import collections, json, sys
items = json.load(open(sys.argv[1]))["items"]
want = set(sys.argv[2:])
targets = collections.Counter(so["spec"]["scaleTargetRef"]["name"] for so in items)
dups = {k: v for k, v in targets.items() if v > 1}
assert not dups, f"duplicated: {dups}"
assert want <= set(targets), f"lost: {sorted(want - set(targets))}"
extra = set(targets) - want
assert not extra, f"ScaledObjects for Deployments never admitted: {sorted(extra)}"
print(f"ok - end state: {len(items)} ScaledObjects for {len(want)} admitted Deployments, each exactly once")
PY
}
