#!/usr/bin/env bash
# The not-opted-in answer without a tree (serve answers such reviews from its validating skim
# alone, review.h mla_review_plain): the responses are byte for byte those of the ordinary path
# (which serve takes at --log-level debug, to write the debug decision line), reviews that need
# more (opt-in removed on UPDATE, an escaped uid, invalid JSON in managedFields, opted in) are
# still answered in full, and the metrics count the tree-less answers like any other.
set -u
. "$(dirname "$0")/webhook_lib.sh"
T=$MLA_TMP
SRC="$MLA_ROOT/bench/review-plain.json"

# The reviews, derived from the bench's not-opted-in Deployment review (with managedFields).
/usr/bin/python3 - "$SRC" "$T" <<'PY'
import json, sys
src, out = sys.argv[1], sys.argv[2]
base = json.load(open(src))
def put(name, d, raw=None):
    with open("%s/%s.json" % (out, name), "w") as f:
        f.write(raw if raw is not None else json.dumps(d, separators=(",", ":")))
def review(uid, op="CREATE", old=None, ann=None):
    d = json.loads(json.dumps(base))
    r = d["request"]
    r["uid"], r["operation"], r["dryRun"] = uid, op, True
    if ann:
        r["object"]["metadata"].setdefault("annotations", {}).update(ann)
    if old is not None:
        r["oldObject"] = old
    return d
put("create", review("u-create"))
old = json.loads(json.dumps(base["request"]["object"]))
put("update", review("u-update", "UPDATE", old))
managed = json.loads(json.dumps(old))
managed["metadata"].setdefault("labels", {})["ml-autoscaling.io/managed"] = "true"
put("removed", review("u-removed", "UPDATE", managed))
put("optedin", review("u-optedin", ann={"ml-autoscaling.io/enabled": "true"}))
put("delete", review("u-delete", "DELETE", old))
# an escaped uid: the answer carries it unescaped
put("escaped", None, json.dumps(review("u-ESC"), separators=(",", ":")).replace("u-ESC", "u-\\u0045SC"))
# invalid JSON inside the skipped managedFields: still a 400
put("badmf", None, json.dumps(review("u-bad"), separators=(",", ":")).replace('"managedFields":[', '"managedFields":[tru,', 1))
PY
NAMES="create update removed optedin delete escaped badmf"

run_all() { # DIR: each review's "HTTPCODE BODY" into DIR/NAME.out
  mkdir -p "$1"
  for n in $NAMES; do wh_post "$T/$n.json" >"$1/$n.out" || fail "POST $n"; done
}

wh_start --log-level info
run_all "$T/info"
m=$(wh_curl /metrics)
wh_stop
wh_start --log-level debug
run_all "$T/debug"
wh_stop

for n in $NAMES; do
  cmp -s "$T/info/$n.out" "$T/debug/$n.out" ||
    fail "$n: the answer at info level differs from the ordinary path's: $(head -c 300 "$T/info/$n.out") vs $(head -c 300 "$T/debug/$n.out")"
done
ok "every answer is byte for byte the ordinary path's (info level vs debug level)"

body() { head -n 1 "$T/info/$1.out"; }
code() { tail -n 1 "$T/info/$1.out"; }
for n in create update delete; do
  [ "$(code $n)" = 200 ] || fail "$n: HTTP $(code $n)"
  body $n | wh_json 'd["response"]["uid"]=="u-'$n'" and d["response"]["allowed"] is True and "patch" not in d["response"] and "warnings" not in d["response"]' | grep -q True ||
    fail "$n: $(body $n)"
done
ok "not opted in (CREATE, UPDATE, DELETE): allowed, no patch, no warning, the uid echoed"
body removed | wh_json 'd["response"]["allowed"] is True and any("opt-in removed" in w for w in d["response"]["warnings"])' | grep -q True ||
  fail "opt-in removed on UPDATE: $(body removed)"
body optedin | wh_json 'd["response"]["allowed"] is True and d["response"]["patchType"]=="JSONPatch"' | grep -q True ||
  fail "opted in: $(body optedin)"
ok "opt-in removed on UPDATE (warning) and opted in (patch): answered in full"
body escaped | wh_json 'd["response"]["uid"]=="u-ESC"' | grep -q True || fail "escaped uid: $(body escaped)"
ok "an escaped uid is answered unescaped"
[ "$(code badmf)" = 400 ] && body badmf | grep -q 'not valid JSON' || fail "invalid managedFields: $(code badmf) $(body badmf)"
ok "invalid JSON in managedFields: HTTP 400"

echo "$m" | grep -Eq '^mla_admission_requests_total\{outcome="allowed",operation="CREATE"\} 2$' || fail "allowed CREATE count: $(echo "$m" | grep requests_total)"
echo "$m" | grep -Eq '^mla_admission_requests_total\{outcome="allowed",operation="UPDATE"\} 2$' || fail "allowed UPDATE count (update, opt-in removed without a patch)"
echo "$m" | grep -Eq '^mla_admission_requests_total\{outcome="allowed",operation="OTHER"\} 1$' || fail "allowed DELETE (OTHER) count"
echo "$m" | grep -Eq '^mla_admission_duration_seconds_count\{path="not_opted_in"\} 5$' || fail "not-opted-in duration count: $(echo "$m" | grep duration_seconds_count)"
ok "metrics count the tree-less answers (allowed by operation, not-opted-in duration)"
