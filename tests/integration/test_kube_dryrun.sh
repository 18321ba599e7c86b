#!/usr/bin/env bash
# Honest dry runs, through `ml-autoscaling serve`: a server-side dry run (dryRun: true) makes the
# admission reads like a real request, so its preview shows the conflicting HPA and a foreign
# ScaledObject, and HPA mode `reject` denies it; and it writes nothing and enqueues nothing.
# The same checks hold on a real cluster: the read and write counts are serve's own (its /metrics);
# on mla-testapi its request log also says which resources were read.
. "$(dirname "$0")/lib_kube.sh"
. "$MLA_ROOT/scripts/review-lib.sh"
BIN="$MLA_BUILD/ml-autoscaling"
PY=/usr/bin/python3
kube_start_api
cp -r "$MLA_ROOT/policies" "$MLA_TMP/pol-delete"
cp -r "$MLA_ROOT/policies" "$MLA_TMP/pol-reject"
sed -i 's/hpaMode: delete/hpaMode: reject/' "$MLA_TMP/pol-reject/api.yaml"
grep -q 'hpaMode: reject' "$MLA_TMP/pol-reject/api.yaml" || fail "reject policy"

serve_up() { # POLICY_DIR LOGNAME
  POD_NAMESPACE=kube-system serve_start "$2" --no-loop --policies "$1"
  # the KEDA discovery answered (else the foreign-ScaledObject read is skipped)
  ready() { whs /readyz | grep -q '"keda":"present"'; }
  wait_until 5 ready || fail "serve does not see KEDA"
}
# review FILE DRY -> the response object, one JSON line
review() {
  mla_review CREATE "$1" "" "$2" >"$MLA_TMP/review.json"
  whs /mutate -H 'Content-Type: application/json' --data-binary "@$MLA_TMP/review.json" | jq -c .response
}
# serve's own API request counts (its /metrics), so the same checks hold on a real cluster
reads() { kube_requests | awk '$1 == "GET" || $1 == "LIST" { n += $2 } END { print n + 0 }'; }
writes() { kube_requests | awk '$1 != "GET" && $1 != "LIST" { n += $2 } END { print n + 0 }'; }
# and, on mla-testapi, what its request log saw: the HPA and ScaledObject reads, and no write
log_reads() { apilog | $PY -c 'import json,sys; print(len([i for i in json.load(sys.stdin)["items"] if i["verb"] in ("GET", "LIST") and ("horizontalpodautoscalers" in i["path"] or "scaledobjects" in i["path"])]))'; }
log_writes() { apilog | $PY -c 'import json,sys; print(len([i for i in json.load(sys.stdin)["items"] if i["verb"] not in ("GET", "LIST", "WATCH")]))'; }

NS=$(ns web); N=search-frontend
yaml_in_ns "$MLA_ROOT/tests/fixtures/render/api-cpu-only/deployment.yaml" "$NS" >"$MLA_TMP/dep.json"
ensure_ns "$NS"
theirs='{"apiVersion":"keda.sh/v1alpha1","kind":"ScaledObject","metadata":{"name":"by-hand"},"spec":{"scaleTargetRef":{"name":"search-frontend"},"minReplicaCount":1,"triggers":[{"type":"prometheus","metadata":{"serverAddress":"http://prom:9090","query":"up","threshold":"1"}}]}}'
kapi POST "/apis/keda.sh/v1alpha1/namespaces/$NS/scaledobjects" "$theirs" >/dev/null
[ "$(code)" = 201 ] || fail "foreign ScaledObject: $(cat "$MLA_TMP/last.body")"
create_hpa "$NS" legacy-hpa "$N"   # after it: KEDA refuses a ScaledObject where an HPA scales

serve_up "$MLA_TMP/pol-delete" serve1
kube_is_real || clearlog
r0=$(reads)
resp=$(review "$MLA_TMP/dep.json" true)
[ "$(echo "$resp" | jqr allowed)" = true ] || fail "dry run not allowed: $resp"
echo "$resp" | grep -q 'HorizontalPodAutoscaler legacy-hpa targets this Deployment and will be removed' \
  || fail "dry run shows no HPA warning: $resp"
echo "$resp" | grep -q 'ScaledObject by-hand was not created by ml-autoscaling' \
  || fail "dry run shows no foreign-ScaledObject warning: $resp"
ok "dry run shows what a real apply would: $(echo "$resp" | jq -r '.warnings | join(" | ")' | cut -c1-200)"
nreads=$(($(reads) - r0))
[ "$nreads" -ge 2 ] || fail "the reads were not made: $(kube_requests)"
kube_is_real || [ "$(log_reads)" -ge 2 ] || fail "the reads were not made: $(apilog)"
sleep 1.5   # a worker would have acted by now
[ "$(writes)" = 0 ] || fail "a dry run wrote to the API: $(kube_requests)"
kube_is_real || [ "$(log_writes)" = 0 ] || fail "a dry run wrote to the API: $(apilog)"
exists "$(hpa_path "$NS" legacy-hpa)" || fail "HPA removed by a dry run"
gone "$(so_path "$NS" "$N")" || fail "ScaledObject written by a dry run"
[ "$(events "$NS" | jq '.items | length')" = 0 ] || fail "Events recorded for a dry run: $(events "$NS")"
m=$(whs /metrics)
echo "$m" | grep -Eq '^mla_worker_actions_total\{[^}]*\} [1-9]' && fail "the worker acted on a dry run: $(echo "$m" | grep mla_worker_actions)"
ok "dry run: $nreads reads, no write, no Event, nothing enqueued; HPA and foreign ScaledObject untouched"
serve_stop

serve_up "$MLA_TMP/pol-reject" serve2
resp=$(review "$MLA_TMP/dep.json" true)
[ "$(echo "$resp" | jqr allowed)" = false ] && [ "$(echo "$resp" | jqr status.code)" = 403 ] \
  || fail "reject mode allowed the dry run: $resp"
echo "$resp" | grep -q 'HorizontalPodAutoscaler \\"legacy-hpa\\" already scales Deployment \\"search-frontend\\"' \
  || fail "denial does not name the HPA: $resp"
ok "reject mode denies the dry run as it would the real request: $(echo "$resp" | jqr status.message | cut -c1-120)"
[ "$(writes)" = 0 ] || fail "a denied dry run wrote: $(kube_requests)"
serve_stop
ok "serve stopped cleanly"
