#!/usr/bin/env bash
# Faults around the whole of `serve` (webhook + worker + leader loop) against mla-testapi and
# mla-testprom, each with what the user sees and the end state: every admitted Deployment has
# exactly one ScaledObject, no ScaledObject is lost or duplicated.
#   API slow past the admission deadline (6 s > timeoutSeconds 5), 500s on the apply, dropped
#   connections, API down; Prometheus answering garbage, 500, down. (`serve` SIGKILLed:
#   test_serve_kill.sh.)
. "$(dirname "$0")/lib_serve.sh"
serve_start
admit_store d-ok; t=$T_ADMIT; wait_until 10 exists "$(so_path $NS d-ok)" || fail "d-ok: no ScaledObject"
ok "baseline: d-ok admitted in ${t}s, ScaledObject applied"

# ---- API slow past the admission deadline ----
control '{"latencyMs":6000}'
t=$(admit d-slow) || fail "API 6 s slow: the webhook did not answer within kube-apiserver's 5 s"
$PY -c 'import json,sys; r=json.load(open(sys.argv[1]))["response"]; assert r["allowed"] and r.get("patch"), r' "$MLA_TMP/resp-d-slow.json" ||
  fail "API slow: not allowed with a patch"
control '{"latencyMs":0}'
store d-slow; ADMITTED+=(d-slow)
wait_until 15 exists "$(so_path $NS d-slow)" || fail "d-slow: no ScaledObject once the API is fast again"
ok "API 6 s slow: admission answered in ${t}s with its patch (its API reads give up within their budget, fail open); ScaledObject applied after"

# ---- 500 on the apply, dropped connections ----
control '{"fail":{"status":500,"count":3,"path":"/scaledobjects/d-500","verb":"PATCH"}}'
admit_store d-500
wait_until 15 exists "$(so_path $NS d-500)" || fail "500s not retried"
ok "3 x 500 on the ScaledObject apply: retried, applied"
control '{"dropConnections":4}'
admit_store d-drop
wait_until 15 exists "$(so_path $NS d-drop)" || fail "dropped connections not retried"
ok "4 dropped API connections: retried, applied"

# ---- API down ----
control '{"down":true}'
t=$(admit d-down) || fail "API down: no answer from the webhook"
sleep 3
control '{"down":false}'
store d-down; ADMITTED+=(d-down)
wait_until 15 exists "$(so_path $NS d-down)" || fail "d-down: no ScaledObject once the API is back"
ok "API down for 3 s: admission answered in ${t}s; ScaledObject applied once the API was back"

# ---- Prometheus garbage / 500 / down: admission and ScaledObjects unaffected ----
forecast_reason() { kapi GET "$(so_path $NS d-ok)" | $PY -c 'import json,sys; print(json.load(sys.stdin)["metadata"].get("annotations",{}).get("ml-autoscaling.io/min-replicas-reason",""))'; }
has_forecast() { forecast_reason | grep -q ^forecast; }
wait_until 10 has_forecast ||
  fail "no forecast before the Prometheus faults: $(forecast_reason)"
for mode in badjson 500; do
  curl -sS "$TESTPROM_URL/-/fault?mode=$mode" >/dev/null
  admit_store "d-prom-$mode"
  wait_until 10 exists "$(so_path $NS "d-prom-$mode")" || fail "Prometheus $mode: no ScaledObject"
  sleep 2.5   # one loop pass against the broken Prometheus
  exists "$(so_path $NS d-ok)" || fail "Prometheus $mode: d-ok's ScaledObject lost"
  ok "Prometheus answering $mode: admission and ScaledObject writes unaffected; existing ScaledObjects kept (d-ok reason: $(forecast_reason))"
done
kill -TERM "$TESTPROM_PID"; wait "$TESTPROM_PID" 2>/dev/null
admit_store d-prom-down
wait_until 10 exists "$(so_path $NS d-prom-down)" || fail "Prometheus down: no ScaledObject"
sleep 2.5
ok "Prometheus down: admission and ScaledObject writes unaffected (d-ok reason: $(forecast_reason))"
grep -Ei 'prometheus|query_range' "$SERVE_LOG" | grep -Eiq 'error|fail|refused|not json|invalid' ||
  fail "the Prometheus failures are not in the log"
testprom_start "${PROM_ARGS[@]}" --port "${TESTPROM_URL##*:}" || fail "testprom restart"
PIDS+=("$TESTPROM_PID")
prom_queried() { curl -sS "$TESTPROM_URL/-/stats" | grep -Eq '"queries": *[1-9]'; }
wait_until 10 prom_queried || fail "the loop did not query Prometheus again once it was back"
wait_until 10 has_forecast || fail "no forecast once Prometheus was back: $(forecast_reason)"
ok "Prometheus back: the loop queries it again (d-ok reason: $(forecast_reason))"

end_state_check
kill -TERM "$SERVE_PID"; wait "$SERVE_PID" || fail "serve exited with an error"
testprom_stop || fail "testprom"
ok "serve and testprom stopped cleanly"
