#!/usr/bin/env bash
# End to end through `ml-autoscaling serve`: an AdmissionReview over HTTPS to /mutate (the real
# webhook, policy engine and API side), its patch applied and the Deployment stored as
# kube-apiserver would; the worker in serve applies the ScaledObject; serve leads the Lease and
# its /metrics show the API side; SIGTERM releases the Lease and exits 0 (valgrind-clean).
. "$(dirname "$0")/lib_kube.sh"
. "$MLA_ROOT/scripts/review-lib.sh"
BIN="$MLA_BUILD/ml-autoscaling"
if "$BIN" serve --help 2>&1 | grep -q "not available in this build"; then
  echo "skip: serve is not in this build yet"; exit 0
fi
PY=/usr/bin/python3
kube_start_api
ensure_ns "$LEASE_NS"
serve_start serve --policies "$MLA_ROOT/policies" --loop-interval 3600
grep -q 'mode full' "$MLA_TMP/serve.err" || fail "serve not in full mode: $(grep listening "$MLA_TMP/serve.err")"
ok "serve listening on $PORT in full mode (webhook + API side)"
SRC="$MLA_ROOT/tests/fixtures/render/api-cpu-only/deployment.yaml"
NS=$(ns web); N=search-frontend
yaml_in_ns "$SRC" "$NS" >"$MLA_TMP/dep.json"
ensure_ns "$NS"
create_hpa "$NS" legacy-hpa "$N"
mla_review CREATE "$MLA_TMP/dep.json" >"$MLA_TMP/review.json"
resp=$(curl -sS --cacert "$MLA_TMP/certs/ca.crt" -H 'Content-Type: application/json' \
  --data-binary "@$MLA_TMP/review.json" "$WH/mutate")
echo "$resp" | $PY -c 'import json,sys; r=json.load(sys.stdin)["response"]; assert r["allowed"], r; print("\n".join(r.get("warnings") or []))' >"$MLA_TMP/warnings" \
  || fail "not allowed: $resp"
grep -q 'legacy-hpa' "$MLA_TMP/warnings" || fail "no HPA warning from the review hook: $(cat "$MLA_TMP/warnings")"
ok "AdmissionReview allowed with the review hook's warning: $(grep legacy-hpa "$MLA_TMP/warnings")"
patch=$(echo "$resp" | $PY -c 'import json,sys,base64; print(base64.b64decode(json.load(sys.stdin)["response"]["patch"]).decode())')
/usr/bin/kubectl patch --local --type=json -f "$MLA_TMP/dep.json" -p "$patch" -o json >"$MLA_TMP/stored.json" || fail "patch"
kapi POST "/apis/apps/v1/namespaces/$NS/deployments" "$(cat "$MLA_TMP/stored.json")" >/dev/null
[ "$(code)" = 201 ] || fail "store: $(cat "$MLA_TMP/last.body")"
wait_until 5 exists "$(so_path "$NS" "$N")" || fail "serve's worker did not apply the ScaledObject: $(tail -5 "$MLA_TMP/serve.err")"
gone "$(hpa_path "$NS" legacy-hpa)" || fail "HPA not removed"
[ "$(kapi GET "$(so_path "$NS" "$N")" | jqr metadata.ownerReferences.0.uid)" = "$(kapi GET "$(dep_path "$NS" "$N")" | jqr metadata.uid)" ] || fail "ownerReference"
ok "serve's worker removed legacy-hpa and applied the ScaledObject owned by the stored Deployment"
holder() { kapi GET /apis/coordination.k8s.io/v1/namespaces/$LEASE_NS/leases/ml-autoscaling-leader | jqr spec.holderIdentity; }
leads() { [ -n "$(holder)" ] && [ "$(holder)" != null ]; }
wait_until 5 leads || fail "serve did not take the Lease"
m=$(curl -sS --cacert "$MLA_TMP/certs/ca.crt" "$WH/metrics")
echo "$m" | grep -q '^mla_leader 1' || fail "mla_leader: $(echo "$m" | grep mla_leader)"
echo "$m" | grep -q '^mla_worker_actions_total{action="apply",result="ok"} 1' || fail "apply metric: $(echo "$m" | grep mla_worker_actions)"
echo "$m" | grep -q '^mla_kube_requests_total{verb="PATCH",code="201"}' || fail "kube request metric"
ok "/metrics: mla_leader 1, the apply and the API requests counted"
kill -TERM "$SERVE_PID"; wait "$SERVE_PID"; rc=$?
[ "$rc" = 0 ] || fail "serve exited $rc: $(tail -5 "$MLA_TMP/serve.err")"
[ "$(holder)" = "" ] || fail "Lease not released on SIGTERM"
ok "SIGTERM: serve exited 0 and released the Lease"
