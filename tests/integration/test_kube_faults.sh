#!/usr/bin/env bash
# When the API fails: admission is unaffected (fails open within its budget), the worker retries
# with backoff (409, 429 with Retry-After, dropped connections, API down) and nothing is lost.
. "$(dirname "$0")/lib_kube.sh"
kube_is_real && { echo "skip: fault injection needs mla-testapi"; exit 0; }
kube_start_api
driver_start drv --no-loop --stored-give-up 3 --review-budget 0.3 # the budget tested below
# the driver answers once it is created, i.e. after its first KEDA discovery (bounded 2 s): made
# slow below, that discovery would hold the first review back for 2 s
send '{"cmd":"wait","timeoutMs":1000}' >/dev/null

# a slow API: the review's reads give up within their ~300 ms budget and allow
send '{"cmd":"wait","timeoutMs":5000}' >/dev/null # started (its KEDA discovery done) before the API slows
control '{"latencyMs":2000}'
t0=$(date +%s%N)
out=$(send '{"namespace":"f","name":"slow","op":"CREATE","action":"apply","hpaMode":"reject"}')
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$(echo "$out" | jqr allowed)" = true ] || fail "slow API: not allowed: $out"
[ "$ms" -ge 250 ] && [ "$ms" -lt $((900 * SLOW)) ] || fail "slow API: admission took $ms ms (budget 300 ms)"
ok "slow API (2 s per answer): admission allowed after $ms ms (read budget 300 ms, fail open)"
t0=$(date +%s%N)
send '{"namespace":"f","name":"slow2","op":"CREATE","action":"apply","hpaMode":"reject"}' >/dev/null
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$ms" -lt 200 ] || fail "breaker: the next admission waited $ms ms again"
ok "the next admission within 5 s skips the reads ($ms ms)"
control '{"latencyMs":0}'

# API down around admission
control '{"down":true}'
t0=$(date +%s%N)
out=$(send '{"namespace":"f","name":"web","op":"CREATE","action":"apply","hpaMode":"reject"}')
t1=$(date +%s%N)
[ "$(echo "$out" | jqr allowed)" = true ] || fail "admission failed closed: $out"
ms=$(( (t1 - t0) / 1000000 ))
[ "$ms" -lt $((1000 * SLOW)) ] || fail "admission took $ms ms with the API down"
ok "API down: admission allowed in $ms ms (reads fail open)"
sleep 3
control '{"down":false}'
store_deployment f web
wait_until 10 exists "$(so_path f web)" || fail "ScaledObject did not appear once the API was back"
ok "API back: the ScaledObject appeared"

# 409 on the apply, then 429 with Retry-After: 1 (twice), then dropped connections
control '{"fail":{"status":409,"count":2,"path":"/scaledobjects/web2","verb":"PATCH"}}'
store_deployment f web2
send '{"namespace":"f","name":"web2","op":"UPDATE","oldResourceVersion":"0","action":"apply"}' >/dev/null
wait_until 10 exists "$(so_path f web2)" || fail "409 not retried"
n409=$(apilog | grep -o '"path":"/apis/keda.sh/v1alpha1/namespaces/f/scaledobjects/web2","query":"fieldManager=ml-autoscaling&force=true","status":409' | wc -l)
[ "$n409" = 2 ] || fail "expected 2 refused applies, saw $n409"
ok "409 Conflict on the apply retried (2 refusals, then applied)"
control '{"fail":{"status":429,"count":2,"retryAfter":1,"path":"/scaledobjects/web3","verb":"PATCH"}}'
store_deployment f web3
t0=$(date +%s%N)
send '{"namespace":"f","name":"web3","op":"UPDATE","oldResourceVersion":"0","action":"apply"}' >/dev/null
wait_until 10 exists "$(so_path f web3)" || fail "429 not retried"
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
[ "$ms" -ge 1900 ] || fail "Retry-After not honoured: applied after $ms ms"
ok "429 with Retry-After: 1 retried twice, honoured (applied after $ms ms)"
store_deployment f web4
control '{"dropConnections":3}'
send '{"namespace":"f","name":"web4","op":"UPDATE","oldResourceVersion":"0","action":"apply"}' >/dev/null
wait_until 10 exists "$(so_path f web4)" || fail "dropped connections not retried"
ok "dropped connections retried"
# a bad token: the error names the API's Status message, nothing is written
echo wrong > "$MLA_TMP/token.bad"; cp "$TOKEN_FILE" "$MLA_TMP/token.good"; cp "$MLA_TMP/token.bad" "$TOKEN_FILE"
send '{"namespace":"f","name":"web5","op":"UPDATE","oldResourceVersion":"0","action":"apply"}' >/dev/null
sleep 1
grep -q '401: Unauthorized' "$MLA_TMP/drv.err" || fail "401 not reported with the Status message: $(tail -3 "$MLA_TMP/drv.err")"
ok "rotated token file re-read: a wrong token gives '$(grep -o 'GET [^ ]*: 401: Unauthorized' "$MLA_TMP/drv.err" | head -1)'"
cp "$MLA_TMP/token.good" "$TOKEN_FILE"; touch "$TOKEN_FILE"
store_deployment f web5
wait_until 10 exists "$(so_path f web5)" || fail "token rotation back not picked up"
ok "token rotated back: the worker continues"
driver_stop
m="$MLA_TMP/drv.metrics"
[ "$(metric "$m" mla_worker_retries_total)" != 0 ] || fail "retries not counted"
[ "$(metric "$m" 'mla_kube_requests_total{verb="PATCH",code="429"}')" = 2 ] || fail "429s not counted: $(grep kube_requests "$m")"
[ "$(metric "$m" 'mla_kube_requests_total{verb="PATCH",code="409"}')" = 2 ] || fail "409s not counted"
errs=$(awk '$1 ~ /^mla_kube_requests_total\{.*code="error"\}$/ {s += $2} END {print s + 0}' "$m")
[ "$errs" -gt 0 ] || fail "connection errors not counted: $(grep kube_requests "$m")"
ok "metrics: retries $(metric "$m" mla_worker_retries_total), 429s and 409s and connection errors counted"
