#!/usr/bin/env bash
# The API server's DELETE propagation, which the ScaledJob story relies on: a batch/v1 Job
# deleted without DeleteOptions orphans its dependents (Kubernetes' legacy default for the Jobs
# API: they lose the ownerReference and stay), with propagationPolicy Background or Foreground
# (body or query, as kubectl sends it) they are garbage-collected; other kinds cascade by
# default and orphan with orphanDependents: true; an unknown policy is 422. Dependents here are
# Leases, so the same checks run against a real cluster.
. "$(dirname "$0")/lib_kube.sh"
kube_start_api
NS=$(ns gcprop)
ensure_ns "$NS"
kube_is_real || control '{"gc":true,"gcDelayMs":100}'
job_path() { echo "/apis/batch/v1/namespaces/$NS/jobs/$1"; }
lease_path() { echo "/apis/coordination.k8s.io/v1/namespaces/$NS/leases/$1"; }
# owner_with_dependent KIND NAME -> creates the owner and a Lease NAME-dep owned by it
owner_with_dependent() {
  local kind=$1 name=$2 path body uid
  if [ "$kind" = Job ]; then
    path=/apis/batch/v1/namespaces/$NS/jobs
    body='{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"'$name'"},"spec":{"suspend":true,"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"w","image":"busybox"}]}}}}'
  else
    path=/apis/apps/v1/namespaces/$NS/deployments
    body=$(deployment "$NS" "$name")
  fi
  uid=$(kapi POST "$path" "$body" | jqr metadata.uid)
  [ "$(code)" = 201 ] || fail "create $kind $name: $(cat "$MLA_TMP/last.body")"
  kapi POST "/apis/coordination.k8s.io/v1/namespaces/$NS/leases" '{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"'$name'-dep","ownerReferences":[{"apiVersion":"'$([ "$kind" = Job ] && echo batch/v1 || echo apps/v1)'","kind":"'$kind'","name":"'$name'","uid":"'$uid'"}]},"spec":{"holderIdentity":"x"}}' >/dev/null
  [ "$(code)" = 201 ] || fail "create Lease $name-dep: $(cat "$MLA_TMP/last.body")"
}
unowned() { [ "$(kapi GET "$(lease_path "$1")" | jq -c '.metadata.ownerReferences // []')" = "[]" ]; }
# orphaned NAME OWNER-PATH: the owner goes, its dependent stays without the ownerReference
orphaned() {
  wait_until 10 gone "$2" || fail "$1: owner not deleted"
  wait_until 10 unowned "$1-dep" || fail "$1: dependent still owned: $(cat "$MLA_TMP/last.body")"
  sleep 0.5 # several garbage-collector delays: a cascade would have happened by now
  exists "$(lease_path "$1-dep")" || fail "$1: the dependent was garbage-collected"
}

owner_with_dependent Job raw
kapi DELETE "$(job_path raw)" >/dev/null
[ "$(code)" = 200 ] || fail "DELETE Job: $(code) $(cat "$MLA_TMP/last.body")"
orphaned raw "$(job_path raw)"
ok "DELETE of a batch/v1 Job without DeleteOptions orphans its dependent (ownerReference removed, kept)"

owner_with_dependent Job query
kapi DELETE "$(job_path query)?propagationPolicy=Background" >/dev/null
wait_until 10 gone "$(lease_path query-dep)" || fail "?propagationPolicy=Background did not cascade"
ok "DELETE of a Job with ?propagationPolicy=Background: its dependent is garbage-collected"

owner_with_dependent Job body
kapi DELETE "$(job_path body)" '{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Foreground"}' >/dev/null
wait_until 10 gone "$(lease_path body-dep)" || fail "body propagationPolicy Foreground did not cascade"
wait_until 10 gone "$(job_path body)" || fail "Job not deleted (Foreground)"
ok "DELETE of a Job with DeleteOptions propagationPolicy Foreground: its dependent is garbage-collected"

owner_with_dependent Job explicit
kapi DELETE "$(job_path explicit)" '{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Orphan"}' >/dev/null
orphaned explicit "$(job_path explicit)"
ok "DELETE of a Job with propagationPolicy Orphan orphans"

owner_with_dependent Deployment web
kapi DELETE "$(dep_path "$NS" web)" '{"kind":"DeleteOptions","apiVersion":"v1","orphanDependents":true}' >/dev/null
orphaned web "$(dep_path "$NS" web)"
owner_with_dependent Deployment api
kapi DELETE "$(dep_path "$NS" api)" >/dev/null
wait_until 10 gone "$(lease_path api-dep)" || fail "a Deployment's raw DELETE did not cascade"
ok "Deployment: orphanDependents true orphans, a raw DELETE cascades"

owner_with_dependent Job bad
kapi DELETE "$(job_path bad)?propagationPolicy=Sometimes" >/dev/null
[ "$(code)" = 422 ] && grep -qF 'Unsupported value: \"Sometimes\"' "$MLA_TMP/last.body" || fail "bad policy: $(code) $(cat "$MLA_TMP/last.body")"
exists "$(job_path bad)" || fail "a refused DELETE deleted the Job"
ok "an unknown propagationPolicy is 422 and deletes nothing: $(jqr message <"$MLA_TMP/last.body")"
