#!/usr/bin/env bash
# Two replicas share the API: exactly one leads (Lease), its loop creates the missing
# ScaledObjects; SIGKILL the leader -> the other takes over within the lease duration (3 s here)
# and keeps repairing; no ScaledObject is created twice or lost; a graceful stop releases the
# Lease.
. "$(dirname "$0")/lib_kube.sh"
kube_start_api
LD=$(ns ld)
ensure_ns "$LD"; ensure_ns "$LEASE_NS"
for d in a b c; do store_deployment "$LD" "$d"; done
start_replica() { # NAME
  # shellcheck disable=SC2046
  $(vg "$1" "$MLA_BUILD/mla-controller-driver") --kube-url "$API" --kube-token-file "$TOKEN_FILE" \
    ${MLA_KUBE_CA:+--kube-ca "$MLA_KUBE_CA"} --template "$FIX/so-template.json" --identity "$1" --lease-namespace "$LEASE_NS" \
    --lease-name ml-autoscaling-leader --lease-duration 3 --renew-deadline 2 --retry-period 0.5 \
    --loop-interval 1 --stay </dev/null >"$MLA_TMP/$1.out" 2>"$MLA_TMP/$1.err" &
  PIDS+=("$!"); eval "PID_$1=$!"
}
start_replica r1
start_replica r2
holder() { kapi GET /apis/coordination.k8s.io/v1/namespaces/$LEASE_NS/leases/ml-autoscaling-leader | jqr spec.holderIdentity; }
has_holder() { h=$(holder); [ "$h" = r1 ] || [ "$h" = r2 ]; }
wait_until 5 has_holder || fail "nobody took the Lease"
L=$(holder); [ "$L" = r1 ] && F=r2 || F=r1
ok "leader: $L, follower: $F"
for d in a b c; do wait_until 5 exists "$(so_path "$LD" $d)" || fail "leader's loop did not create $d"; done
ok "leader's loop created the 3 missing ScaledObjects"
sleep 1.5
grep -q 'reconcile pass' "$MLA_TMP/$F.err" && fail "the follower ran a reconcile pass"
[ "$(grep -c 'reconcile pass' "$MLA_TMP/$L.err")" -ge 2 ] || fail "the leader's loop does not repeat"
ok "only the leader runs the loop ($(grep -c 'reconcile pass' "$MLA_TMP/$L.err") passes, follower 0)"

eval "kill -KILL \$PID_$L"
t0=$(date +%s%N)
store_deployment "$LD" d
is_f() { [ "$(holder)" = "$F" ]; }
wait_until 8 is_f || fail "the follower did not take over"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$ms" -le $((4500 * SLOW)) ] || fail "takeover took $ms ms (lease duration 3 s)"
ok "$L killed (SIGKILL): $F took the Lease after $ms ms"
wait_until 5 exists "$(so_path "$LD" d)" || fail "new leader did not create the ScaledObject for d"
ok "new leader repaired the Deployment stored meanwhile"
kapi DELETE "$(so_path "$LD" b)" >/dev/null
wait_until 5 exists "$(so_path "$LD" b)" || fail "lost ScaledObject not re-created"
ok "a lost ScaledObject is re-created by the new leader"
sleep 1
if testapi_only "creation counts from the request log"; then
created=$(apilog | /usr/bin/python3 -c '
import json,sys,collections
c=collections.Counter(e["path"] for e in json.load(sys.stdin)["items"] if e["created"] and "/scaledobjects/" in e["path"])
print(" ".join("%s=%d"%(k.rsplit("/",1)[1],v) for k,v in sorted(c.items())))')
[ "$created" = "a=1 b=2 c=1 d=1" ] || fail "ScaledObjects created: $created (want a=1 b=2 c=1 d=1)"
ok "creations per ScaledObject: $created (b twice: deleted and repaired)"
fi
tr=$(kapi GET /apis/coordination.k8s.io/v1/namespaces/$LEASE_NS/leases/ml-autoscaling-leader | jqr spec.leaseTransitions)
[ "$tr" = 1 ] || fail "leaseTransitions $tr"
eval "kill -TERM \$PID_$F"
eval "wait \$PID_$F" || fail "$F exited with an error"
[ "$(holder)" = "" ] || fail "graceful stop did not release the Lease"
ok "graceful stop of $F released the Lease (holderIdentity \"\")"
