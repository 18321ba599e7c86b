#!/usr/bin/env bash
# A mass change of explanations rolls over several passes (--loop-explanation-writes). Five
# predictive ScaledObjects; the loop applies all five in its first pass (taking ownership of the
# counts is never put off). Then another client changes every stored forecast-confidence, as a
# sudden shift of every series makes the loop's figures stale at once. With at most 2
# explanation-only applies a pass, the next passes repair 2, 2 and 1, each saying how many it
# put off. (That replica counts are never put off: test_predict_step.c.)
. "$(dirname "$0")/lib_kube.sh"
. "$(dirname "$0")/lib_testprom.sh"
loop_test_start explbudget
# a capacity far above the load: the forecast keeps the floor at minReplicas in every pass, so
# what moves between passes is the explanation alone
cfg='{"enabled":true,"query":"sum(rate(http_requests_total[1m]))","lookbackHours":1,"stepSeconds":5,"horizonMinutes":10,"scaleAheadMinutes":5,"capacityPerReplica":100000,"minReplicas":1,"maxReplicas":50}'
predictive_template "$cfg"
loop_driver_start drv explbudget --loop-explanation-writes 2
ann() { so_ann "$NS" "$1" "$2"; }
CONF=ml-autoscaling.io/forecast-confidence
pass() { # N: one pass, its "put off" log line (if any) in $putoff
  local before; before=$(wc -l <"$MLA_TMP/drv.err")
  out=$(send '{"cmd":"reconcile"}')
  [ "$(echo "$out" | jqr ok)" = true ] || fail "pass $1: $out"
  send '{"cmd":"wait","timeoutMs":5000}' >/dev/null
  putoff=$(tail -n +"$((before + 1))" "$MLA_TMP/drv.err" | grep "put off to a later pass" || true)
}
NAMES="a b c d e"
for n in $NAMES; do store_worker_so "$NS" "$n"; done

pass 1
for n in $NAMES; do
  [ -n "$(ann "$n" ml-autoscaling.io/min-replicas-reason)" ] || fail "$n: no decision applied in pass 1: $(kapi GET "$(so_path "$NS" "$n")")"
done
[ -z "$putoff" ] || fail "pass 1 put off applies that take ownership of the counts: $putoff"
ok "pass 1: all 5 decisions applied (taking ownership is never put off, whatever the budget)"

# every stored confidence made wrong by another client
declare -A bad
for n in $NAMES; do
  c=$(ann "$n" "$CONF")
  [ -n "$c" ] || fail "$n: no $CONF after pass 1"
  bad[$n]=$($PY -c 'import sys; print("0.000" if float(sys.argv[1]) > 0.5 else "1.000")' "$c")
  kapi PATCH "$(so_path "$NS" "$n")" "{\"metadata\":{\"annotations\":{\"$CONF\":\"${bad[$n]}\"}}}" application/merge-patch+json >/dev/null
  [ "$(code)" = 200 ] || fail "tamper $n: $(cat "$MLA_TMP/last.body")"
done
stale() { local k=0; for n in $NAMES; do [ "$(ann "$n" "$CONF")" = "${bad[$n]}" ] && k=$((k + 1)); done; echo "$k"; }
# rolls PASS LEFT PUTOFF: after the pass LEFT explanations are still stale, and it logged that
# PUTOFF were put off ("" when none)
rolls() {
  pass "$1"
  [ "$(stale)" = "$2" ] || fail "pass $1: expected $2 of 5 explanations still stale, got $(stale)"
  if [ -n "$3" ]; then
    echo "$putoff" | grep -q "$3 ScaledObjects' explanation refreshes .*at most 2 a pass" \
      || fail "pass $1: no log line saying $3 were put off: '$putoff'"
  else
    [ -z "$putoff" ] || fail "pass $1 put off again: $putoff"
  fi
  ok "pass $1: $((5 - $2)) of 5 explanations refreshed so far${3:+, $3 put off (logged)}"
}
rolls 2 3 3
rolls 3 1 1
rolls 4 0 ""
driver_stop
d=$(metric "$MLA_TMP/drv.metrics" mla_predict_explanation_writes_deferred_total)
[ "${d%.*}" = 4 ] || fail "mla_predict_explanation_writes_deferred_total $d"
ok "/metrics: mla_predict_explanation_writes_deferred_total $d"
testprom_stop || fail "testprom"
