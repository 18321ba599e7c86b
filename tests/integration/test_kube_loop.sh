#!/usr/bin/env bash
# The leader's reconcile pass repairs: a missing ScaledObject (create), a stale one (update), an
# HPA that reappeared, our ScaledObject left on a Deployment that opted out, an orphan whose
# Deployment is gone; it leaves paused and foreign ScaledObjects alone and calls the predictive
# hook for ScaledObjects with ml-autoscaling.io/predictive-config.
. "$(dirname "$0")/lib_kube.sh"
kube_start_api
LP=$(ns lp)
ensure_ns "$LP"; ensure_ns "$LEASE_NS"
kube_is_real || control '{"gc":false}' # the orphan below is one the garbage collector has not removed (yet)
driver_start drv --loop-interval 3600 --lease-namespace "$LEASE_NS" --lease-name loop-test \
  --lease-duration 3 --renew-deadline 2 --retry-period 0.5
wait_until 5 sh -c "echo '{\"cmd\":\"leader\"}' >&3; sleep 0.2; tail -1 '$MLA_TMP/drv.out' | grep -q true" || fail "never became leader"
sleep 0.5
ok "single replica leads"
pyset() { /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); exec(sys.argv[1]); print(json.dumps(d))" "$1"; }
so_for() { # NAME UID -> our ScaledObject for Deployment NAME owned by UID
  sed 's/"name":"x"/"name":"'"$1"'"/' "$FIX/so-template.json" | pyset "
d['metadata']['name']='$1'; d['metadata']['labels']['ml-autoscaling.io/deployment']='$1'
d['metadata']['ownerReferences']=[{'apiVersion':'apps/v1','kind':'Deployment','name':'$1','uid':'$2','controller':True,'blockOwnerDeletion':True}]"
}
uidof() { kapi GET "$(dep_path "$LP" "$1")" | jqr metadata.uid; }
# pass_counts FROM -> what the pass logged for this test's namespace after line FROM of the
# driver's log: the pass's own counts are cluster-wide, and a real cluster has other namespaces
pass_counts() {
  tail -n +"$(($1 + 1))" "$MLA_TMP/drv.err" | jq -rRn --arg p "$LP/" '
    [inputs | fromjson? | select(.component == "rec" and (.msg | startswith($p))) | .msg] as $m
    | def n(re): [$m[] | select(test(re))] | length;
    "created=\(n(": repairing ScaledObject .* \\(create\\)$")) updated=\(n(": repairing ScaledObject .* \\(update\\)$")) hpa=\(n(": repairing ScaledObject .* \\(hpa\\)$")) orphans=\(n(": not opted in; removing ScaledObject |; deleting orphaned ScaledObject"))"'
}
for d in missing stale hpa paused optout; do store_deployment "$LP" "$d"; done
# stale: maxReplicaCount 99; paused: stale too but paused; optout: opted out, our SO remains
kapi POST /apis/keda.sh/v1alpha1/namespaces/$LP/scaledobjects "$(so_for stale "$(uidof stale)" | pyset "d['spec']['maxReplicaCount']=99")" >/dev/null
kapi POST /apis/keda.sh/v1alpha1/namespaces/$LP/scaledobjects "$(so_for paused "$(uidof paused)" | pyset "d['spec']['maxReplicaCount']=99; d['metadata']['annotations']['autoscaling.keda.sh/paused']='true'")" >/dev/null
kapi POST /apis/keda.sh/v1alpha1/namespaces/$LP/scaledobjects "$(so_for optout "$(uidof optout)")" >/dev/null
kapi PATCH "$(dep_path "$LP" optout)" '{"metadata":{"annotations":{"ml-autoscaling.io/enabled":null}}}' application/merge-patch+json >/dev/null
kapi POST /apis/keda.sh/v1alpha1/namespaces/$LP/scaledobjects "$(so_for hpa "$(uidof hpa)" | pyset "d['metadata']['annotations']['ml-autoscaling.io/predictive-config']='{\"enabled\":true}'")" >/dev/null
create_hpa "$LP" hpa-again hpa
# an orphan: ours, its Deployment is gone (garbage collection did not run)
orphans=1
if testapi_only "an orphan whose Deployment never existed (the garbage collector removes it first)"; then
orphans=2
kapi POST /apis/keda.sh/v1alpha1/namespaces/$LP/scaledobjects "$(so_for ghost 00000000-dead-4000-8000-000000000000)" >/dev/null
[ "$(code)" = 403 ] || true  # KEDA refuses cpu triggers without the Deployment: write it without triggers
kapi POST /apis/keda.sh/v1alpha1/namespaces/$LP/scaledobjects "$(so_for ghost 00000000-dead-4000-8000-000000000000 | pyset "d['spec']['triggers']=[{'type':'prometheus','metadata':{'query':'up'}}]")" >/dev/null
[ "$(code)" = 201 ] || fail "orphan setup: $(cat "$MLA_TMP/last.body")"
fi
# foreign: someone else's ScaledObject for an unmanaged workload
kapi POST /apis/keda.sh/v1alpha1/namespaces/$LP/scaledobjects '{"apiVersion":"keda.sh/v1alpha1","kind":"ScaledObject","metadata":{"name":"theirs"},"spec":{"scaleTargetRef":{"name":"other"},"triggers":[{"type":"prometheus","metadata":{"query":"up"}}]}}' >/dev/null
paused_rv=$(kapi GET "$(so_path "$LP" paused)" | jqr metadata.resourceVersion)
theirs_rv=$(kapi GET "$(so_path "$LP" theirs)" | jqr metadata.resourceVersion)

from=$(wc -l <"$MLA_TMP/drv.err")
out=$(send '{"cmd":"reconcile"}')
echo "$out"
[ "$(echo "$out" | jqr ok)" = true ] || fail "pass failed: $out"
if ! kube_is_real; then
  for k in created:1 updated:1 hpa:1 paused:1 orphans:2; do
    [ "$(echo "$out" | jqr "${k%%:*}")" = "${k##*:}" ] || fail "expected ${k%%:*}=${k##*:}: $out"
  done
fi
got=$(pass_counts "$from")
[ "$got" = "created=1 updated=1 hpa=1 orphans=$orphans" ] || fail "pass in $LP: $got (want created=1 updated=1 hpa=1 orphans=$orphans)"
ok "pass found in $LP: 1 missing, 1 stale, 1 HPA, 1 paused, $orphans orphans (opted out + Deployment gone)"
send '{"cmd":"wait","timeoutMs":5000}' | grep -q true || fail "repairs did not finish"
exists "$(so_path "$LP" missing)" || fail "missing ScaledObject not created"
[ "$(kapi GET "$(so_path "$LP" missing)" | jqr metadata.ownerReferences.0.uid)" = "$(uidof missing)" ] || fail "created without ownerReference"
[ "$(kapi GET "$(so_path "$LP" stale)" | jqr spec.maxReplicaCount)" = 4 ] || fail "stale ScaledObject not updated"
gone "$(hpa_path "$LP" hpa-again)" || fail "reappeared HPA not deleted"
gone "$(so_path "$LP" optout)" || fail "opted-out Deployment's ScaledObject not removed"
gone "$(so_path "$LP" ghost)" || fail "orphan not deleted"
[ "$(kapi GET "$(so_path "$LP" paused)" | jqr metadata.resourceVersion)" = "$paused_rv" ] || fail "paused ScaledObject touched"
[ "$(kapi GET "$(so_path "$LP" theirs)" | jqr metadata.resourceVersion)" = "$theirs_rv" ] || fail "foreign ScaledObject touched"
ok "repaired: created (with ownerReference), updated, HPA deleted, opt-out removed, orphan deleted; paused and foreign untouched"
grep -q "predictive hook called for $LP/hpa" "$MLA_TMP/drv.err" || fail "predictive hook not called"
grep -q "predictive hook called for $LP/paused" "$MLA_TMP/drv.err" && fail "predictive hook called for a paused ScaledObject"
ok "predictive hook called for the ScaledObject with predictive-config only"
from=$(wc -l <"$MLA_TMP/drv.err")
out=$(send '{"cmd":"reconcile"}')
if ! kube_is_real; then
  for k in created updated hpa orphans; do [ "$(echo "$out" | jqr $k)" = 0 ] || fail "second pass not clean: $out"; done
fi
got=$(pass_counts "$from")
[ "$got" = "created=0 updated=0 hpa=0 orphans=0" ] || fail "second pass not clean in $LP: $got"
ok "second pass finds nothing to repair in $LP: $out"
driver_stop
lease=$(kapi GET "/apis/coordination.k8s.io/v1/namespaces/$LEASE_NS/leases/loop-test")
[ "$(echo "$lease" | jqr spec.holderIdentity)" = "" ] || fail "Lease not released on shutdown: $lease"
ok "Lease released on shutdown (holderIdentity cleared)"
m="$MLA_TMP/drv.metrics"
[ "$(metric "$m" 'mla_reconcile_repairs_total{kind="orphan"}')" -ge "$orphans" ] || fail "repairs metric: $(grep reconcile "$m")"
[ "$(metric "$m" 'mla_reconcile_runs_total{result="ok"}')" -ge 2 ] || fail "runs metric"
ok "metrics: $(grep -c '^mla_reconcile' "$m") reconcile series"
