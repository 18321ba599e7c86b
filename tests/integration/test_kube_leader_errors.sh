#!/usr/bin/env bash
# Leader election is not silent (issue 16 bug 5): a replica that cannot read or create the
# Lease (wrong token: 401; RBAC refusing create: 403) warns once per distinct error (repeats
# counted, not logged), shows the error in /readyz ("leader":{"isLeader":false,"lastError":...})
# and mla_leader 0; once the API lets it, it leads, says it recovered, /readyz lastError is null
# and mla_leader 1.
# On a real cluster the 403 is RBAC's own: the product's user gets a Role in a namespace of the
# run that lets it get Leases but not create them, then one that does (the product's token must
# not be the admin's: MLA_KUBE_ADMIN_TOKEN_FILE).
. "$(dirname "$0")/lib_kube.sh"
kube_start_api
LE=kube-system
if kube_is_real; then
  cmp -s "$TOKEN_FILE" "$ADMIN_TOKEN_FILE" \
    && { echo "skip on a real cluster: RBAC cannot refuse the admin token (set MLA_KUBE_ADMIN_TOKEN_FILE)"; exit 0; }
  LE=$(ns le); ensure_ns "$LE"
  user=$(curl -sS ${MLA_KUBE_CA:+--cacert "$MLA_KUBE_CA"} -X POST -H "Authorization: Bearer $(cat "$TOKEN_FILE")" \
    -H 'Content-Type: application/json' --data-binary '{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}' \
    "$API/apis/authentication.k8s.io/v1/selfsubjectreviews" | jq -r .status.userInfo.username)
  [ -n "$user" ] && [ "$user" != null ] || fail "who is the product's token? (SelfSubjectReview)"
  lease_role() { # VERBS (JSON array): the Role the product's user has on Leases in $LE
    kapi PUT "/apis/rbac.authorization.k8s.io/v1/namespaces/$LE/roles/lease" "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"Role\",\"metadata\":{\"name\":\"lease\"},\"rules\":[{\"apiGroups\":[\"coordination.k8s.io\"],\"resources\":[\"leases\"],\"verbs\":$1}]}" >/dev/null
    case "$(code)" in 200|201) ;; *) fail "Role: $(code) $(cat "$MLA_TMP/last.body")";; esac
  }
  lease_role '["get"]'
  kapi POST "/apis/rbac.authorization.k8s.io/v1/namespaces/$LE/rolebindings" "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"RoleBinding\",\"metadata\":{\"name\":\"lease\"},\"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"Role\",\"name\":\"lease\"},\"subjects\":[{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"User\",\"name\":\"$user\"}]}" >/dev/null
  [ "$(code)" = 201 ] || fail "RoleBinding: $(code) $(cat "$MLA_TMP/last.body")"
fi
echo "not-the-token" >"$MLA_TMP/serve-token"
POD_NAMESPACE=$LE SERVE_TOKEN_FILE=$MLA_TMP/serve-token serve_start serve --policies "$MLA_ROOT/policies" \
  --loop-interval 3600
readyz() { curl -sS --cacert "$MLA_TMP/certs/ca.crt" "$WH/readyz"; }
leader_metric() { curl -sS --cacert "$MLA_TMP/certs/ca.crt" "$WH/metrics" | awk '$1=="mla_leader"{print $2}'; }
lease_warns() { grep '"level":"warn","component":"lease"' "$MLA_TMP/serve.err"; }
last_error_has() { readyz | jqr leader.lastError | grep -q "$1"; }

wait_until 5 last_error_has "401" || fail "/readyz has no leader lastError with 401: $(readyz)"
sleep 5   # two or three more failed attempts (retry period 2 s); not scaled: a repeat is due after 30 s
r=$(readyz)
[ "$(echo "$r" | jqr leader.isLeader)" = false ] || fail "isLeader: $r"
[ "$(echo "$r" | jqr ready)" = true ] && [ "$(echo "$r" | jqr mode)" = full ] || fail "/readyz fields: $r"
ok "/readyz: $(echo "$r" | jqr leader)"
[ "$(leader_metric)" = 0 ] || fail "mla_leader $(leader_metric)"
# (under valgrind the very first attempt may time out: a distinct error, logged on its own line)
n=$(lease_warns | grep -c ': 401: ')
[ "$n" = 1 ] || fail "want one warning for the repeated 401, got $n: $(lease_warns)"
lease_warns | grep -q "cannot read Lease $LE/ml-autoscaling-leader: GET /apis/coordination.k8s.io/v1/namespaces/$LE/leases/ml-autoscaling-leader: 401.*cannot become leader" \
  || fail "warning does not say what failed: $(lease_warns)"
ok "one warning for the repeated 401, mla_leader 0: $(lease_warns | grep ': 401: ' | jqr msg)"

# the token is fixed, but RBAC refuses to create the Lease
kube_is_real || control '{"fail":{"status":403,"count":100000,"path":"/leases","verb":"POST"}}'
cp "$TOKEN_FILE" "$MLA_TMP/serve-token"
wait_until 8 last_error_has "cannot create Lease.*403" || fail "/readyz lastError not the 403 on create: $(readyz)"
wait_until 3 eval '[ "$(lease_warns | grep -c ": 403: ")" = 1 ]' || fail "no new warning for the distinct error: $(lease_warns)"
w=$(lease_warns | grep ': 403: ' | jqr msg)
echo "$w" | grep -q "^cannot create Lease $LE/ml-autoscaling-leader: POST .*: 403" || fail "create warning: $w"
sup=$(echo "$w" | sed -n 's/.*(\([0-9]*\) repeated failures not logged.*/\1/p')
[ "${sup:-0}" -ge 1 ] || fail "the suppressed 401 repeats are not counted: $w"
ok "distinct error logged at once, with $sup suppressed repeats counted: $w"

if kube_is_real; then lease_role '["get","create","update"]'; else control '{"reset":true}'; fi
is_leader() { [ "$(readyz | jqr leader.isLeader)" = true ]; }
wait_until 8 is_leader || fail "did not lead after the API allowed it: $(readyz)"
[ "$(readyz | jqr leader.lastError)" = null ] || fail "lastError not cleared: $(readyz)"
[ "$(leader_metric)" = 1 ] || fail "mla_leader $(leader_metric)"
grep -q "Lease $LE/ml-autoscaling-leader is reachable again after [0-9]* failed attempts" "$MLA_TMP/serve.err" \
  || fail "recovery not logged: $(grep lease "$MLA_TMP/serve.err")"
ok "recovered: leads, /readyz $(readyz | jqr leader), mla_leader 1, recovery logged"
kill -TERM "$SERVE_PID"; wait "$SERVE_PID"; rc=$?
[ "$rc" = 0 ] || fail "serve exited $rc: $(tail -5 "$MLA_TMP/serve.err")"
ok "serve stopped cleanly"
