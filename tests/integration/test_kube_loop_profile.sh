#!/usr/bin/env bash
# The loop's weekly profile survives a leader change (issue 17, ninth round): the loop keeps it
# in the ScaledObject's annotation ml-autoscaling.io/forecast-profile, and a new leader seeds its
# first forecast from it. A week of real time cannot pass in a test, so the first leader starts
# from a profile planted the way another leader would have written it (tests/support/
# profile_text.py encodes it in Python from the format in fc.h: also a check that the format is
# what it says). Leader 1 reads it
# (its reason says "seeded"), carries it in its applies, and rewrites it once its own is a day
# newer; it stops; leader 2's FIRST pass is seeded from what leader 1 wrote. A tenant's garbage in
# the annotation of another ScaledObject is ignored with a log line, and crashes nothing.
. "$(dirname "$0")/lib_kube.sh"
. "$(dirname "$0")/lib_testprom.sh"
loop_test_start profile
cfg='{"enabled":true,"query":"sum(rate(http_requests_total[1m]))","lookbackHours":1,"stepSeconds":5,"horizonMinutes":10,"scaleAheadMinutes":5,"capacityPerReplica":20,"confidenceThreshold":0,"minReplicas":1,"maxReplicas":50}'
predictive_template "$cfg"
PROF=ml-autoscaling.io/forecast-profile
REASON=ml-autoscaling.io/min-replicas-reason
ann() { so_ann "$NS" "$1" "$2"; }
set_ann() { # NAME KEY VALUE: another client's merge patch
  local body
  body=$($PY -c 'import json,sys; print(json.dumps({"metadata":{"annotations":{sys.argv[1]:sys.argv[2]}}}))' "$2" "$3")
  kapi PATCH "$(so_path "$NS" "$1")" "$body" application/merge-patch+json >/dev/null
  [ "$(code)" = 200 ] || fail "patch $1 $2: $(cat "$MLA_TMP/last.body")"
}
newest() { echo "$1" | awk '{print $2}'; }
pass() { # DRIVER-LOG: one pass; its log lines in $passlog
  local before; before=$(wc -l <"$1")
  out=$(send '{"cmd":"reconcile"}')
  [ "$(echo "$out" | jqr ok)" = true ] || fail "pass: $out"
  send '{"cmd":"wait","timeoutMs":5000}' >/dev/null
  passlog=$(tail -n +"$((before + 1))" "$1")
}

# a profile as a leader writes it: newest point 30 h ago (on the 5 s grid), the key of $cfg
NOW=$(date +%s)
PLANTED_T=$(( (NOW - 30 * 3600) / 5 * 5 ))
planted=$($PY "$MLA_ROOT/tests/support/profile_text.py" "$cfg" "$PLANTED_T")
[ "${#planted}" -le 600 ] || fail "planted profile of ${#planted} bytes"

loop_driver_start drv1 profile
store_worker_so "$NS" web
store_worker_so "$NS" tampered
set_ann web "$PROF" "$planted"
set_ann tampered "$PROF" "v1 1764930000 0123456789abcdef not-base64-at-all"

if ! kube_is_real; then
  # the test API server is as strict as kube-apiserver about annotations (meta.c)
  kapi PATCH "$(so_path "$NS" tampered)" '{"metadata":{"annotations":{"x":5}}}' application/merge-patch+json >/dev/null
  [ "$(code)" = 422 ] || fail "a number as an annotation value: $(code) $(cat "$MLA_TMP/last.body")"
  # with the key "x" and the other annotations: over the limit
  $PY -c 'import json; print(json.dumps({"metadata":{"annotations":{"x":"a"*262144}}}))' >"$MLA_TMP/big.json"
  kapi PATCH "$(so_path "$NS" tampered)" "@$MLA_TMP/big.json" application/merge-patch+json >/dev/null
  [ "$(code)" = 422 ] && grep -q "must have at most 262144 bytes" "$MLA_TMP/last.body" \
    || fail "over 262,144 bytes of annotations: $(code) $(head -c 300 "$MLA_TMP/last.body")"
  ok "test API server: annotation values are strings, 256 KiB of annotations at most (422)"
fi

pass "$MLA_TMP/drv1.err"
r=$(ann web "$REASON")
echo "$r" | grep -q "seasons seeded from the weekly profile" || fail "leader 1, first pass: not seeded from the stored profile: $r"
[ "$(ann web "$PROF")" = "$planted" ] || fail "leader 1's apply does not carry the profile as read: $(ann web "$PROF")"
r=$(ann tampered "$REASON")
[ -n "$r" ] || fail "tampered: no decision"
echo "$r" | grep -q seeded && fail "tampered: seeded from garbage: $r"
echo "$passlog" | grep -q "$NS/tampered: stored $PROF ignored, the weekly profile starts afresh: not a profile: data is 17 characters of base64" \
  || fail "no log line saying why the tampered profile was ignored: $passlog"
ok "leader 1: seeded from the stored profile and carries it; a tenant's garbage is ignored (logged)"

sleep 5.5 # at least one new 5 s grid point: the oldest point leaves the window, into the profile
pass "$MLA_TMP/drv1.err"
written=$(ann web "$PROF")
t1=$(newest "$written")
[ "$t1" -gt $((NOW - 3600 - 60)) ] && [ "$t1" -lt "$NOW" ] \
  || fail "leader 1 did not rewrite the day-old profile with its own (newest $t1, planted $PLANTED_T, now $NOW): $written"
[ "${#written}" -le 600 ] || fail "written profile of ${#written} bytes"
ok "leader 1: rewrote the profile once its own was a day newer (newest point $((NOW - t1)) s ago, ${#written} bytes)"
driver_stop

# leader 2 must write the reason itself: what leader 1 left is made stale first
set_ann web "$REASON" "fallback: left by the test"
kapi GET "$(so_path "$NS" web)" >"$MLA_TMP/web-before.json" # what leader 2's first pass reads
loop_driver_start drv2 profile
# its first pass ran at once on leadership
for _ in $(seq 1 $((100 * SLOW))); do
  r=$(ann web "$REASON"); [ "$r" != "fallback: left by the test" ] && break; sleep 0.1
done
echo "$r" | grep -q "seasons seeded from the weekly profile" || fail "leader 2, first pass: not seeded: $r"
grep -q "$NS/web: stored $PROF ignored" "$MLA_TMP/drv2.err" && fail "leader 2 ignored leader 1's profile: $(grep ignored "$MLA_TMP/drv2.err")"
ok "leader 2: its first pass is seeded from the profile leader 1 wrote"

# explain replays the stored profile as the new leader does: on the ScaledObject leader 2 read,
# at the instant of its pass (the 5 s grid point of the decision's log line, or the one before
# when the step crossed one), its forecast is the loop's, to the annotations' last digit
BIN="$MLA_BUILD/ml-autoscaling"
# (the step's own line when the count changed, at info; else the apply's)
line=$(grep -m1 "\"component\":\"predict\".*\"namespace\":\"$NS\",\"scaledobject\":\"web\"" "$MLA_TMP/drv2.err" \
  || grep -m1 "\"$NS/web: minReplicaCount" "$MLA_TMP/drv2.err")
T=$(echo "$line" | $PY -c '
import datetime, json, sys
ts = json.loads(sys.stdin.readline())["ts"]
print(int(datetime.datetime.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc).timestamp()))')
want="$(ann web ml-autoscaling.io/forecast-peak) $(ann web ml-autoscaling.io/forecast-confidence) $(ann web ml-autoscaling.io/forecast-trend)"
match="" got=""
for t in "$T" $((T - 5)); do
  "$BIN" explain -f "$MLA_TMP/web-before.json" --prometheus-url "$TESTPROM_URL" --now "$t" >"$MLA_TMP/ex.txt" \
    || fail "explain: exit $? $(cat "$MLA_TMP/ex.txt")"
  grep -q "^Weekly profile: stored ($PROF, newest point" "$MLA_TMP/ex.txt" || fail "explain did not replay the stored profile: $(grep -i profile "$MLA_TMP/ex.txt")"
  got=$($PY -c '
import re, sys
t = open(sys.argv[1]).read()
peak = re.search(r"Peak over \d+-\d+ min ahead: upper ([0-9.]+)", t).group(1)
conf = re.search(r"Confidence: ([0-9.]+)", t).group(1)
trend = re.search(r"Trend: (\w+)", t).group(1)
print(peak, conf, trend)' "$MLA_TMP/ex.txt")
  [ "$got" = "$want" ] && { match=$t; break; }
done
[ -n "$match" ] || fail "explain's forecast '$got' is not the loop's '$want' (at $T or $((T - 5)))"
ok "explain replays the stored profile: peak, confidence and trend as leader 2 wrote them ($want)"
# and says so when there is none
$PY -c '
import json,sys
d=json.load(open(sys.argv[1])); del d["metadata"]["annotations"][sys.argv[2]]
json.dump(d, open(sys.argv[3], "w"), separators=(",", ":"))' "$MLA_TMP/web-before.json" "$PROF" "$MLA_TMP/web-none.json"
"$BIN" explain -f "$MLA_TMP/web-none.json" --prometheus-url "$TESTPROM_URL" --now "$match" >"$MLA_TMP/ex.txt" || fail "explain without a profile"
grep -q "^Weekly profile: not used ($PROF: none stored)" "$MLA_TMP/ex.txt" || fail "explain without a profile: $(grep -i profile "$MLA_TMP/ex.txt")"
none=$($PY -c '
import re, sys
t = open(sys.argv[1]).read()
print(re.search(r"Peak over \d+-\d+ min ahead: upper ([0-9.]+)", t).group(1))' "$MLA_TMP/ex.txt")
[ "$none" != "${want%% *}" ] || fail "without the profile explain forecasts the same peak $none: the comparison above proves nothing"
ok "explain says when no profile is stored"
echo "# the ScaledObject as stored: $(wc -c <"$MLA_TMP/web-before.json") bytes of JSON, $(wc -c <"$MLA_TMP/web-none.json") without the profile"
driver_stop
testprom_stop || fail "testprom"
