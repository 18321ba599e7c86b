#!/usr/bin/env bash
# KEDA not installed (PRODUCT.md point 11), end to end through `ml-autoscaling serve`: with no
# keda.sh/v1alpha1 API, /readyz says "keda":"missing", the log says it once (not a 404 per pass),
# an opted-in Deployment is admitted with the warning, gets one KEDAMissing Event, and no
# ScaledObject write is attempted; once KEDA's CRD is installed, the held-back work and the loop
# write the ScaledObject within a pass, and /readyz says "present". With --no-loop, the held-back
# admission work alone writes it once KEDA appears.
. "$(dirname "$0")/lib_kube.sh"
. "$MLA_ROOT/scripts/review-lib.sh"
PY=/usr/bin/python3
testapi_only "KEDA's CRD cannot be removed from a shared cluster by a test" || exit 0
kube_start_api
control '{"kedaInstalled":false}'
kapi GET /apis/keda.sh/v1alpha1 >/dev/null
[ "$(code)" = 404 ] || fail "test API: keda.sh/v1alpha1 still served after removing the CRD: $(code)"
kapi GET /apis | grep -q keda.sh && fail "test API: /apis still lists keda.sh"
ok "test API server without KEDA: /apis/keda.sh/v1alpha1 404, keda.sh not in /apis"

start_serve() { # LOG-NAME extra serve flags (a new log per start: the old one has the old port)
  LOG="$MLA_TMP/$1.err"
  POD_NAMESPACE=kube-system serve_start "$@" --policies "$MLA_ROOT/policies" --loop-interval 1
}
admit() { # DEPLOYMENT.json -> response in $MLA_TMP/resp.json, warnings in $MLA_TMP/warnings
  mla_review CREATE "$1" >"$MLA_TMP/review.json"
  curl -sS --cacert "$MLA_TMP/certs/ca.crt" -H 'Content-Type: application/json' \
    --data-binary "@$MLA_TMP/review.json" "$WH/mutate" >"$MLA_TMP/resp.json"
  $PY -c 'import json,sys; r=json.load(open(sys.argv[1]))["response"]; assert r["allowed"], r; print("\n".join(r.get("warnings") or []))' \
    "$MLA_TMP/resp.json" >"$MLA_TMP/warnings" || fail "not allowed: $(cat "$MLA_TMP/resp.json")"
}
store() { # DEPLOYMENT.json NS: the admission patch applied, stored as kube-apiserver would
  local patch
  patch=$($PY -c 'import json,sys,base64; print(base64.b64decode(json.load(open(sys.argv[1]))["response"]["patch"]).decode())' "$MLA_TMP/resp.json")
  /usr/bin/kubectl patch --local --type=json -f "$1" -p "$patch" -o json >"$MLA_TMP/stored.json" || fail "patch"
  kapi POST "/apis/apps/v1/namespaces/$2/deployments" "$(cat "$MLA_TMP/stored.json")" >/dev/null
  [ "$(code)" = 201 ] || fail "store: $(cat "$MLA_TMP/last.body")"
}
start_serve serve
readyz() { curl -sS --cacert "$MLA_TMP/certs/ca.crt" "$WH/readyz"; }
keda_is() { [ "$(readyz | jqr keda)" = "$1" ]; }
wait_until 5 keda_is missing || fail "/readyz does not say keda missing: $(readyz)"
r=$(readyz)
[ "$(echo "$r" | jqr ready)" = true ] && [ "$(echo "$r" | jqr mode)" = full ] \
  && [ "$(echo "$r" | jqr policies.lastError)" = null ] || fail "/readyz lost its fields: $r"
ok "/readyz: $r"

SRC="$MLA_ROOT/tests/fixtures/render/api-cpu-only/deployment.yaml"
$PY -c 'import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))' "$SRC" >"$MLA_TMP/dep.json"
NS=web; N=search-frontend
admit "$MLA_TMP/dep.json"
grep -qx "KEDA's ScaledObject API is not installed in this cluster; nothing will scale this Deployment until it is" "$MLA_TMP/warnings" \
  || fail "no KEDA warning in the admission response: $(cat "$MLA_TMP/warnings")"
ok "opted-in Deployment admitted with the warning: $(grep KEDA "$MLA_TMP/warnings")"
store "$MLA_TMP/dep.json" "$NS"
UID_=$(kapi GET "$(dep_path "$NS" "$N")" | jqr metadata.uid)

events() { # reason -> how many Events with it on the Deployment
  kapi GET "/api/v1/namespaces/$NS/events" | $PY -c '
import json,sys
items=json.load(sys.stdin).get("items") or []
print(sum(1 for e in items if e.get("reason")==sys.argv[1] and e["involvedObject"]["name"]==sys.argv[2] and e["involvedObject"].get("uid")==sys.argv[3]))' "$1" "$N" "$UID_"; }
has_event() { [ "$(events KEDAMissing)" -ge 1 ]; }
wait_until 5 has_event || fail "no KEDAMissing Event on $NS/$N: $(kapi GET "/api/v1/namespaces/$NS/events")"
msg=$(kapi GET "/api/v1/namespaces/$NS/events" | $PY -c 'import json,sys; print([e for e in json.load(sys.stdin)["items"] if e["reason"]=="KEDAMissing"][0]["message"])')
ok "Event KEDAMissing on $NS/$N: $msg"
sleep $((3 * SLOW))   # three loop passes more
[ "$(events KEDAMissing)" = 1 ] || fail "KEDAMissing recorded $(events KEDAMissing) times (want once per state change)"
n=$(grep -c 'is not installed in this cluster' "$MLA_TMP/serve.err")
[ "$n" = 1 ] || fail "the missing-KEDA log line appears $n times (want once): $(grep keda "$MLA_TMP/serve.err")"
grep -q 'scaledobjects: 404' "$MLA_TMP/serve.err" && fail "404s from ScaledObject requests logged: $(grep 'scaledobjects: 404' "$MLA_TMP/serve.err" | head -3)"
writes=$(apilog | $PY -c 'import json,sys; print(sum(1 for e in json.load(sys.stdin)["items"] if "/scaledobjects" in e["path"]))')
[ "$writes" = 0 ] || fail "$writes ScaledObject requests sent while KEDA is missing"
exists "$(so_path "$NS" "$N")" && fail "a ScaledObject exists without KEDA"
ok "after 3 more passes: one Event, one log line, no ScaledObject request, no 404 in the log"

control '{"kedaInstalled":true}'
t0=$(date +%s%N)
wait_until 5 exists "$(so_path "$NS" "$N")" || fail "no ScaledObject after KEDA was installed: $(tail -5 "$MLA_TMP/serve.err")"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$(kapi GET "$(so_path "$NS" "$N")" | jqr metadata.ownerReferences.0.uid)" = "$UID_" ] || fail "ownerReference"
ok "KEDA installed: ScaledObject $NS/$N written after $ms ms (loop interval 1 s)"
wait_until 3 keda_is present || fail "/readyz does not say keda present: $(readyz)"
[ "$(grep -c 'ScaledObject API is installed now' "$MLA_TMP/serve.err")" = 1 ] || fail "no single 'installed now' line: $(grep keda "$MLA_TMP/serve.err")"
ok "/readyz keda present; one log line: $(grep -o 'KEDA.s ScaledObject API is installed now[^"]*' "$MLA_TMP/serve.err")"
kill -TERM "$SERVE_PID"; wait "$SERVE_PID"; rc=$?
[ "$rc" = 0 ] || fail "serve exited $rc: $(tail -5 "$MLA_TMP/serve.err")"
ok "serve stopped cleanly"

# Without the loop (--no-loop), the admitted work held back while KEDA was missing is what
# writes the ScaledObject once KEDA appears: nothing queued is lost.
control '{"kedaInstalled":false}'
start_serve serve-noloop --no-loop
wait_until 5 keda_is missing || fail "--no-loop: /readyz does not say keda missing: $(readyz)"
[ "$(readyz | jqr leader.enabled)" = false ] || fail "--no-loop: leader detail $(readyz)"
N=held-back
$PY -c 'import json,sys; d=json.load(open(sys.argv[1])); d["metadata"]["name"]=sys.argv[2]; print(json.dumps(d))' \
  "$MLA_TMP/dep.json" "$N" >"$MLA_TMP/dep2.json"
admit "$MLA_TMP/dep2.json"
grep -q "KEDA's ScaledObject API is not installed" "$MLA_TMP/warnings" || fail "--no-loop: no warning"
store "$MLA_TMP/dep2.json" "$NS"
UID_=$(kapi GET "$(dep_path "$NS" "$N")" | jqr metadata.uid)
wait_until 5 has_event || fail "--no-loop: no KEDAMissing Event on $NS/$N"
# a StatefulSet held back as well: its Event is on the StatefulSet (issue 13)
S=held-back-sts
$PY -c 'import json,sys,yaml; d=yaml.safe_load(open(sys.argv[1])); d["metadata"]["name"]=sys.argv[2]; d["metadata"]["namespace"]=sys.argv[3]; print(json.dumps(d))' \
  "$MLA_ROOT/tests/fixtures/render/feature-store-statefulset/deployment.yaml" "$S" "$NS" >"$MLA_TMP/sts.json"
admit "$MLA_TMP/sts.json"
grep -qx "KEDA's ScaledObject API is not installed in this cluster; nothing will scale this StatefulSet until it is" "$MLA_TMP/warnings" \
  || fail "--no-loop: the StatefulSet's warning does not name it: $(cat "$MLA_TMP/warnings")"
patch=$($PY -c 'import json,sys,base64; print(base64.b64decode(json.load(open(sys.argv[1]))["response"]["patch"]).decode())' "$MLA_TMP/resp.json")
/usr/bin/kubectl patch --local --type=json -f "$MLA_TMP/sts.json" -p "$patch" -o json >"$MLA_TMP/sts-stored.json" || fail "patch"
kapi POST "/apis/apps/v1/namespaces/$NS/statefulsets" "$(cat "$MLA_TMP/sts-stored.json")" >/dev/null
[ "$(code)" = 201 ] || fail "store StatefulSet: $(cat "$MLA_TMP/last.body")"
sts_event() {
  kapi GET "/api/v1/namespaces/$NS/events" | jq -e --arg n "$S" \
    'any(.items[]; .reason == "KEDAMissing" and .involvedObject.kind == "StatefulSet" and .involvedObject.name == $n)'
}
wait_until 5 sts_event || fail "--no-loop: no KEDAMissing Event on StatefulSet $NS/$S"
kapi GET "/api/v1/namespaces/$NS/events" | jq -e --arg n "$S" 'any(.items[]; .reason == "KEDAMissing" and .involvedObject.name == $n
  and (.message | startswith("KEDA'"'"'s ScaledObject API is not installed in this cluster; nothing will scale this StatefulSet until it is")))' >/dev/null \
  || fail "--no-loop: the StatefulSet's Event does not name it"
# a Job template with the Deployment's name, held back too: its own warning and Event, and it
# does not replace the Deployment's held-back work (a Job and a Deployment are two workloads)
$PY -c 'import json,sys,yaml; d=yaml.safe_load(open(sys.argv[1])); d["metadata"]["name"]=sys.argv[2]; d["metadata"]["namespace"]=sys.argv[3]; print(json.dumps(d))' \
  "$MLA_ROOT/tests/fixtures/render/job-template/deployment.yaml" "$N" "$NS" >"$MLA_TMP/job.json"
admit "$MLA_TMP/job.json"
grep -qx "KEDA's ScaledJob API is not installed in this cluster; nothing will scale this Job until it is" "$MLA_TMP/warnings" \
  || fail "--no-loop: the Job's warning does not name it: $(cat "$MLA_TMP/warnings")"
patch=$($PY -c 'import json,sys,base64; print(base64.b64decode(json.load(open(sys.argv[1]))["response"]["patch"]).decode())' "$MLA_TMP/resp.json")
/usr/bin/kubectl patch --local --type=json -f "$MLA_TMP/job.json" -p "$patch" -o json >"$MLA_TMP/job-stored.json" || fail "patch Job"
kapi POST "/apis/batch/v1/namespaces/$NS/jobs" "$(cat "$MLA_TMP/job-stored.json")" >/dev/null
[ "$(code)" = 201 ] || fail "store Job: $(cat "$MLA_TMP/last.body")"
job_event() {
  kapi GET "/api/v1/namespaces/$NS/events" | jq -e --arg n "$N" 'any(.items[]; .reason == "KEDAMissing" and .involvedObject.kind == "Job"
    and .involvedObject.name == $n and (.message | contains("nothing will scale this Job")))' >/dev/null
}
wait_until 5 job_event || fail "--no-loop: no KEDAMissing Event naming the Job on Job $NS/$N: $(kapi GET "/api/v1/namespaces/$NS/events" | jq -c '[.items[] | select(.reason == "KEDAMissing") | {o: .involvedObject, message}]')"
sleep 1
exists "$(so_path "$NS" "$N")" && fail "--no-loop: a ScaledObject exists without KEDA"
control '{"kedaInstalled":true}'
wait_until 5 exists "$(so_path "$NS" "$N")" || fail "--no-loop: the held-back write was lost: $(grep keda "$LOG")"
wait_until 5 exists "$(so_path "$NS" "$S")" || fail "--no-loop: the held-back StatefulSet write was lost: $(grep keda "$LOG")"
[ "$(kapi GET "$(so_path "$NS" "$S")" | jqr metadata.ownerReferences.0.kind)" = StatefulSet ] || fail "--no-loop: StatefulSet owner"
wait_until 5 exists "/apis/keda.sh/v1alpha1/namespaces/$NS/scaledjobs/$N" || fail "--no-loop: the held-back Job write was lost: $(grep keda "$LOG")"
grep -q 'installed now: 3 held-back' "$LOG" || fail "--no-loop: $(grep keda "$LOG")"
ok "--no-loop: warnings and Events naming each kind, and the held-back writes applied $N, StatefulSet $S and Job $N's ScaledJob once KEDA appeared"
kill -TERM "$SERVE_PID"; wait "$SERVE_PID"; rc=$?
[ "$rc" = 0 ] || fail "serve exited $rc: $(tail -5 "$LOG")"
