#!/usr/bin/env bash
# Honest dry runs, through `ml-autoscaling serve`: a server-side dry run (dryRun: true) makes the
# admission reads like a real request, so its preview shows the conflicting HPA and a foreign
# ScaledObject, and HPA mode `reject` denies it; and it writes nothing and enqueues nothing.
. "$(dirname "$0")/lib_kube.sh"
. "$MLA_ROOT/scripts/review-lib.sh"
BIN="$MLA_BUILD/ml-autoscaling"
PY=/usr/bin/python3
testapi_only "the request log" || exit 0
kube_start_api
bash "$MLA_ROOT/certs/gen-dev-certs.sh" "$MLA_TMP/certs" >/dev/null || fail "certs"
cp -r "$MLA_ROOT/policies" "$MLA_TMP/pol-delete"
cp -r "$MLA_ROOT/policies" "$MLA_TMP/pol-reject"
sed -i 's/hpaMode: delete/hpaMode: reject/' "$MLA_TMP/pol-reject/api.yaml"
grep -q 'hpaMode: reject' "$MLA_TMP/pol-reject/api.yaml" || fail "reject policy"

SERVE_PID=""; PORT=""
serve_up() { # POLICY_DIR LOGNAME
  # shellcheck disable=SC2046
  POD_NAMESPACE=kube-system $(vg "$2" "$BIN") serve --listen 127.0.0.1:0 --no-loop \
    --tls-cert "$MLA_TMP/certs/tls.crt" --tls-key "$MLA_TMP/certs/tls.key" \
    --policies "$1" --kube-url "$API" --kube-token-file "$TOKEN_FILE" 2>"$MLA_TMP/$2.err" &
  SERVE_PID=$!; PIDS+=("$SERVE_PID"); PORT=""
  for _ in $(seq 1 $((100 * SLOW))); do
    PORT=$(grep -o 'listening on https://127.0.0.1:[0-9]*' "$MLA_TMP/$2.err" 2>/dev/null | head -1 | sed 's/.*://')
    [ -n "$PORT" ] && break; sleep 0.1
  done
  [ -n "$PORT" ] || fail "serve did not start: $(tail -5 "$MLA_TMP/$2.err")"
  # the KEDA discovery answered (else the foreign-ScaledObject read is skipped)
  ready() { curl -sS --cacert "$MLA_TMP/certs/ca.crt" "https://127.0.0.1:$PORT/readyz" | grep -q '"keda":"present"'; }
  wait_until 5 ready || fail "serve does not see KEDA"
}
serve_down() { kill -TERM "$SERVE_PID"; wait "$SERVE_PID" || fail "serve exited $?"; }
# review FILE DRY -> the response object, one JSON line
review() {
  mla_review CREATE "$1" "" "$2" >"$MLA_TMP/review.json"
  curl -sS --cacert "$MLA_TMP/certs/ca.crt" -H 'Content-Type: application/json' \
    --data-binary "@$MLA_TMP/review.json" "https://127.0.0.1:$PORT/mutate" \
    | $PY -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["response"]))'
}
writes() { apilog | $PY -c 'import json,sys; print(len([i for i in json.load(sys.stdin)["items"] if i["verb"] not in ("GET", "LIST", "WATCH")]))'; }
reads() { apilog | $PY -c 'import json,sys; print(len([i for i in json.load(sys.stdin)["items"] if i["verb"] in ("GET", "LIST") and ("horizontalpodautoscalers" in i["path"] or "scaledobjects" in i["path"])]))'; }

NS=web; N=search-frontend
$PY -c 'import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))' \
  "$MLA_ROOT/tests/fixtures/render/api-cpu-only/deployment.yaml" >"$MLA_TMP/dep.json"
ensure_ns "$NS"
theirs='{"apiVersion":"keda.sh/v1alpha1","kind":"ScaledObject","metadata":{"name":"by-hand","namespace":"web"},"spec":{"scaleTargetRef":{"name":"search-frontend"},"minReplicaCount":1,"triggers":[{"type":"prometheus","metadata":{"serverAddress":"http://prom:9090","query":"up","threshold":"1"}}]}}'
kapi POST "/apis/keda.sh/v1alpha1/namespaces/$NS/scaledobjects" "$theirs" >/dev/null
[ "$(code)" = 201 ] || fail "foreign ScaledObject: $(cat "$MLA_TMP/last.body")"
create_hpa "$NS" legacy-hpa "$N"   # after it: KEDA refuses a ScaledObject where an HPA scales

serve_up "$MLA_TMP/pol-delete" serve1
clearlog
resp=$(review "$MLA_TMP/dep.json" true)
[ "$(echo "$resp" | jqr allowed)" = true ] || fail "dry run not allowed: $resp"
echo "$resp" | grep -q 'HorizontalPodAutoscaler legacy-hpa targets this Deployment and will be removed' \
  || fail "dry run shows no HPA warning: $resp"
echo "$resp" | grep -q 'ScaledObject by-hand was not created by ml-autoscaling' \
  || fail "dry run shows no foreign-ScaledObject warning: $resp"
ok "dry run shows what a real apply would: $(echo "$resp" | $PY -c 'import json,sys; print(" | ".join(json.load(sys.stdin)["warnings"]))' | cut -c1-200)"
[ "$(reads)" -ge 2 ] || fail "the reads were not made: $(apilog)"
sleep 1.5   # a worker would have acted by now
[ "$(writes)" = 0 ] || fail "a dry run wrote to the API: $(apilog)"
exists "$(hpa_path "$NS" legacy-hpa)" || fail "HPA removed by a dry run"
gone "$(so_path "$NS" "$N")" || fail "ScaledObject written by a dry run"
[ "$(kapi GET "/api/v1/namespaces/$NS/events" | jqr items | $PY -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 0 ] \
  || fail "Events recorded for a dry run"
m=$(curl -sS --cacert "$MLA_TMP/certs/ca.crt" "https://127.0.0.1:$PORT/metrics")
echo "$m" | grep -Eq '^mla_worker_actions_total\{[^}]*\} [1-9]' && fail "the worker acted on a dry run: $(echo "$m" | grep mla_worker_actions)"
ok "dry run: $(reads) reads, no write, no Event, nothing enqueued; HPA and foreign ScaledObject untouched"
serve_down

serve_up "$MLA_TMP/pol-reject" serve2
clearlog
resp=$(review "$MLA_TMP/dep.json" true)
[ "$(echo "$resp" | jqr allowed)" = false ] && [ "$(echo "$resp" | jqr status.code)" = 403 ] \
  || fail "reject mode allowed the dry run: $resp"
echo "$resp" | grep -q 'HorizontalPodAutoscaler \\"legacy-hpa\\" already scales Deployment \\"search-frontend\\"' \
  || fail "denial does not name the HPA: $resp"
ok "reject mode denies the dry run as it would the real request: $(echo "$resp" | jqr status.message | cut -c1-120)"
[ "$(writes)" = 0 ] || fail "a denied dry run wrote: $(apilog)"
serve_down
ok "serve stopped cleanly"
