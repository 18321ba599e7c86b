# lib_kube.sh - shared helpers for tests/integration/test_kube_*.sh (sourced, not run).
#
# Starts mla-testapi (a real HTTP(S) Kubernetes API on 127.0.0.1) and mla-controller-driver (the
# API side driven the way `serve` drives it), under valgrind when MLA_VALGRIND=1. Everything a
# test starts is stopped by the EXIT trap; valgrind logs are checked for leaks and errors.
#
# Against a real cluster (docs/kube-testing.md): MLA_KUBE_URL, MLA_KUBE_TOKEN_FILE, MLA_KUBE_CA
# point the driver at it, and the fault-injection steps are skipped (kube_is_real). There every
# namespace a test uses gets a per-run suffix (`ns NAME`), so runs never see each other's objects
# or a namespace still Terminating from an earlier run; the Leases live in the test's own
# namespace (LEASE_NS), and at exit the namespaces are deleted and waited for: nothing is left.
set -u
. "$MLA_ROOT/tests/support/valgrind.sh"
FIX="$MLA_ROOT/tests/fixtures/kube"
TOKEN_FILE="$MLA_TMP/token"   # the product's token
ADMIN_TOKEN_FILE=$TOKEN_FILE   # the test's own requests (kapi): MLA_KUBE_ADMIN_TOKEN_FILE if set
VG_LOGS=()
PIDS=()
SLOW=1
[ "${MLA_VALGRIND:-0}" = 1 ] && SLOW=8

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok - $*"; }

vg() { # vg NAME CMD... : the command line, under valgrind when asked
  if [ "${MLA_VALGRIND:-0}" = 1 ]; then
    local log="$MLA_TMP/vg-$1-%p.log"; shift
    VG_LOGS+=("$log")
    mla_vg "$log"; echo "${MLA_VG[*]}" "$@"
  else
    shift; echo "$@"
  fi
}

kube_cleanup() {
  local rc=$?
  # braces: a bare `exec 3>&- 2>/dev/null` would also send the rest of this function's stderr
  # (the sanitizer and valgrind reports below) to /dev/null
  { exec 3>&-; } 2>/dev/null || true
  { exec 4>&-; } 2>/dev/null || true
  # newest first: the drivers release their Lease while the API server still answers
  local i p
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    p=${PIDS[$i]}
    kill -TERM "$p" 2>/dev/null || true
    for _ in $(seq 1 $((100 * SLOW))); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  for f in "$MLA_TMP"/*.err; do
    [ -e "$f" ] || continue
    if grep -qE "ERROR: (AddressSanitizer|LeakSanitizer)|WARNING: ThreadSanitizer|runtime error:" "$f"; then
      echo "sanitizer: problems in $f" >&2; cat "$f" >&2; rc=1
    fi
  done
  ns_delete_all
  if [ "${MLA_VALGRIND:-0}" = 1 ]; then
    for f in "$MLA_TMP"/vg-*.log; do
      [ -e "$f" ] || continue
      # --quiet: valgrind writes only errors and definite leaks, so any output is a problem
      if [ -s "$f" ]; then
        echo "valgrind: problems in $f" >&2; cat "$f" >&2; rc=1
      fi
    done
  fi
  exit $rc
}
trap kube_cleanup EXIT

kube_is_real() { [ -n "${MLA_KUBE_URL:-}" ]; }
# testapi_only WHAT: false (and says so) against a real cluster, for checks that need
# mla-testapi's request log or fault injection
testapi_only() { kube_is_real && { echo "skip on a real cluster: $*"; return 1; }; return 0; }

# ns NAME -> the namespace a test calls NAME: NAME itself on mla-testapi (a fresh server per
# test), NAME-<run id> on a real cluster, where earlier runs' namespaces may still be Terminating
# and objects of other namespaces would show in cluster-wide LISTs.
RUN_ID=$(printf '%04x%04x' $((RANDOM)) $(($$ % 65536)))
ns() { if kube_is_real; then echo "$1-$RUN_ID"; else echo "$1"; fi; }
# Leases go where the namespace deletion at exit removes them on a real cluster, unless
# MLA_KUBE_LEASE_NAMESPACE names one (where the product's RBAC lets it hold Leases, as the
# chart's Role does in the release namespace): the Leases made there are deleted at exit.
LEASE_NS=kube-system
kube_is_real && LEASE_NS=${MLA_KUBE_LEASE_NAMESPACE:-$(ns lease)}
LEASES_BEFORE=""
NS_MADE=()
ns_phase() { kapi GET "/api/v1/namespaces/$1" | jqr status.phase; }
lease_names() { kapi GET "/apis/coordination.k8s.io/v1/namespaces/$LEASE_NS/leases" | jq -r '.items[]?.metadata.name'; }
ensure_ns() { # real clusters need the namespace; deleted again (and waited for) at exit
  kube_is_real || return 0
  if [ "$1" = "${MLA_KUBE_LEASE_NAMESPACE:-}" ]; then
    LEASES_BEFORE=" $(lease_names | tr '\n' ' ') "; return 0  # not ours: only its new Leases go
  fi
  case " ${NS_MADE[*]:-} " in *" $1 "*) return 0;; esac
  local body="{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"$1\",\"labels\":{\"ml-autoscaling.io/test-run\":\"$RUN_ID\"}}}"
  local end=$((SECONDS + 60))
  while [ "$SECONDS" -lt "$end" ]; do
    kapi POST /api/v1/namespaces "$body" >/dev/null
    case "$(code)" in
      201) NS_MADE+=("$1"); return 0;;
      409) [ "$(ns_phase "$1")" = Terminating ] || { NS_MADE+=("$1"); return 0; };;  # ours already
      *) fail "create namespace $1: $(code) $(cat "$MLA_TMP/last.body")";;
    esac
    sleep 0.1  # the same name still Terminating: wait until it is gone
  done
  fail "namespace $1 still Terminating after 60 s"
}
ns_delete_all() { # deletes the namespaces made here and waits until they are gone (60 s at most)
  local n left end=$((SECONDS + 60))
  if [ -n "$LEASES_BEFORE" ]; then
    for n in $(lease_names); do
      case "$LEASES_BEFORE" in *" $n "*) ;; *) kapi DELETE "/apis/coordination.k8s.io/v1/namespaces/$LEASE_NS/leases/$n" >/dev/null;; esac
    done
  fi
  for n in "${NS_MADE[@]:-}"; do [ -n "$n" ] && kapi DELETE "/api/v1/namespaces/$n" >/dev/null; done
  while [ "$SECONDS" -lt "$end" ]; do
    left=""
    for n in "${NS_MADE[@]:-}"; do
      [ -n "$n" ] || continue
      kapi GET "/api/v1/namespaces/$n" >/dev/null
      [ "$(code)" = 404 ] || left="$left $n"
    done
    [ -z "$left" ] && return 0
    sleep 0.1
  done
  echo "note: namespaces still Terminating after 60 s (is the namespace controller running?):$left" >&2
}

# Starts the test API server; sets API (URL) and API_PID.
kube_start_api() {
  if kube_is_real; then
    API="$MLA_KUBE_URL"; cp "${MLA_KUBE_TOKEN_FILE:?}" "$TOKEN_FILE"
    [ -n "${MLA_KUBE_ADMIN_TOKEN_FILE:-}" ] && ADMIN_TOKEN_FILE=$MLA_KUBE_ADMIN_TOKEN_FILE
    return
  fi
  echo "test-token-$$-$RANDOM" > "$TOKEN_FILE"
  rm -f "$MLA_TMP/api.port"
  # shellcheck disable=SC2046
  $(vg testapi "$MLA_BUILD/mla-testapi") --port 0 --port-file "$MLA_TMP/api.port" \
    --token-file "$TOKEN_FILE" "$@" >"$MLA_TMP/api.out" 2>"$MLA_TMP/api.err" &
  API_PID=$!; PIDS+=("$API_PID")
  for _ in $(seq 1 $((50 * SLOW))); do [ -s "$MLA_TMP/api.port" ] && break; sleep 0.1; done
  [ -s "$MLA_TMP/api.port" ] || { cat "$MLA_TMP/api.err"; fail "mla-testapi did not start"; }
  API="http://127.0.0.1:$(cat "$MLA_TMP/api.port")"
}

# kapi VERB PATH [BODY [CONTENT-TYPE]] -> body on stdout; HTTP status in $MLA_TMP/last.code
kapi() {
  local verb=$1 path=$2 body=${3:-} ct=${4:-application/json}
  local args=(-sS -X "$verb" -H "Authorization: Bearer $(cat "$ADMIN_TOKEN_FILE")" -o "$MLA_TMP/last.body"
              -w '%{http_code}')
  [ -n "${MLA_KUBE_CA:-}" ] && args+=(--cacert "$MLA_KUBE_CA")
  [ -n "$body" ] && args+=(-H "Content-Type: $ct" --data-binary "$body")
  curl "${args[@]}" "$API$path" >"$MLA_TMP/last.code" || echo 000 >"$MLA_TMP/last.code"
  # kube-apiserver pretty-prints for curl: one compact line, so greps for "k":"v" match
  if jq -c . "$MLA_TMP/last.body" >"$MLA_TMP/last.compact" 2>/dev/null; then
    mv "$MLA_TMP/last.compact" "$MLA_TMP/last.body"
  fi
  cat "$MLA_TMP/last.body"
}
# events NS -> the core/v1 Events of NS (compact JSON); has_event NS REASON [TYPE]
events() { kapi GET "/api/v1/namespaces/$1/events"; }
has_event() {
  events "$1" | jq -e --arg r "$2" --arg t "${3:-}" \
    'any(.items[]; .reason == $r and ($t == "" or .type == $t))' >/dev/null
}
code() { cat "$MLA_TMP/last.code"; }
control() { curl -sS -X POST -H 'Content-Type: application/json' --data-binary "$1" "$API/_control" >/dev/null; }
apilog() { curl -sS "$API/_log"; }
clearlog() { curl -sS -X DELETE "$API/_log" >/dev/null; }

# jqr PATH -> the value at a dotted PATH of the JSON on stdin (strings raw, the rest compact
# JSON, null when absent); a key may itself hold dots (annotations): the longest key that exists
# wins.
jqr() {
  jq -cr --arg p "$1" '
    def walk_keys($d; $ks):
      if ($ks | length) == 0 then $d
      elif $d == null then null
      elif ($d | type) == "array" then walk_keys($d[$ks[0] | tonumber]; $ks[1:])
      elif ($d | type) == "object" then
        ([range(($ks | length); 0; -1) | . as $n | ($ks[0:$n] | join(".")) as $k
          | select($d | has($k)) | [$k, $n]] | first) as $m
        | if $m == null then null else walk_keys($d[$m[0]]; $ks[$m[1]:]) end
      else null end;
    walk_keys(.; $p | split(".") | map(select(. != "")))'
}

# deployment NS NAME -> the Deployment as kube-apiserver stores it after our admission patch
deployment() {
  local ns=$1 name=$2
  local f="$MLA_TMP/dep-$ns-$name.json"
  sed -e "s/\"NAME\"/\"$name\"/g" -e "s/\"NS\"/\"$ns\"/g" "$FIX/deployment.json" >"$f"
  local patch; patch=$(sed -e "s/\"NAME\"/\"$name\"/g" "$FIX/admission-patch.json")
  /usr/bin/kubectl patch --local --type=json -f "$f" -p "$patch" -o json
}
# store_deployment NS NAME -> POST (what kube-apiserver does after admission allowed it)
store_deployment() {
  ensure_ns "$1"
  local body; body=$(deployment "$1" "$2")
  kapi POST "/apis/apps/v1/namespaces/$1/deployments" "$body" >/dev/null
  [ "$(code)" = 201 ] || fail "store Deployment $1/$2: $(code) $(cat "$MLA_TMP/last.body")"
}
create_hpa() { # NS HPA DEPLOY
  local body; body=$(sed -e "s/\"NAME\"/\"$3\"/g" -e "s/\"NS\"/\"$1\"/g" -e "s/\"HPA\"/\"$2\"/g" "$FIX/hpa.json")
  kapi POST "/apis/autoscaling/v2/namespaces/$1/horizontalpodautoscalers" "$body" >/dev/null
  [ "$(code)" = 201 ] || fail "create HPA: $(code) $(cat "$MLA_TMP/last.body")"
}
so_path() { echo "/apis/keda.sh/v1alpha1/namespaces/$1/scaledobjects/$2"; }
hpa_path() { echo "/apis/autoscaling/v2/namespaces/$1/horizontalpodautoscalers/$2"; }
dep_path() { echo "/apis/apps/v1/namespaces/$1/deployments/$2"; }

# wait_until SECONDS CMD... : polls CMD every 0.1 s
wait_until() {
  local t=$1; shift
  local n; n=$(awk -v t="$t" -v s="$SLOW" "BEGIN{print int(t*10*s)}")
  for _ in $(seq 1 "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}
exists() { kapi GET "$1" >/dev/null; [ "$(code)" = 200 ]; }
gone() { kapi GET "$1" >/dev/null; [ "$(code)" = 404 ]; }

# predictive_template CFG -> writes $DRV_TEMPLATE: the test ScaledObject carrying
# predictive-config CFG
predictive_template() {
  DRV_TEMPLATE="$MLA_TMP/so-template.json"
  /usr/bin/python3 -c '
import json,sys
d=json.load(open(sys.argv[1])); d["metadata"]["annotations"]["ml-autoscaling.io/predictive-config"]=sys.argv[2]
print(json.dumps(d))' "$FIX/so-template.json" "$1" >"$DRV_TEMPLATE"
}
# store_worker_so NS NAME: Deployment NAME stored, and its ScaledObject (from $DRV_TEMPLATE,
# owned by the Deployment) applied as the worker applies it (field manager ml-autoscaling)
store_worker_so() {
  store_deployment "$1" "$2"
  local uid body
  uid=$(kapi GET "$(dep_path "$1" "$2")" | jqr metadata.uid)
  body=$(/usr/bin/python3 -c '
import json,sys
d=json.load(open(sys.argv[1])); n=sys.argv[2]
d["metadata"]["name"]=n; d["spec"]["scaleTargetRef"]["name"]=n; d["metadata"]["labels"]["ml-autoscaling.io/deployment"]=n
d["metadata"]["ownerReferences"]=[{"apiVersion":"apps/v1","kind":"Deployment","name":n,"uid":sys.argv[3],"controller":True,"blockOwnerDeletion":True}]
print(json.dumps(d))' "$DRV_TEMPLATE" "$2" "$uid")
  kapi PATCH "$(so_path "$1" "$2")?fieldManager=ml-autoscaling&force=true" "$body" application/apply-patch+yaml >/dev/null
  [ "$(code)" = 201 ] || fail "setup $2: $(cat "$MLA_TMP/last.body")"
}

# Starts a driver reading from fd 3 (a fifo); its answers go to $MLA_TMP/drv.out.
# DRV_TEMPLATE="" starts it without --template (the loop then uses the policy engine).
# driver_start NAME [driver args...]
driver_start() {
  local name=$1; shift
  local tmpl=${DRV_TEMPLATE-$FIX/so-template.json}
  mkfifo "$MLA_TMP/$name.in"
  # shellcheck disable=SC2046
  $(vg "$name" "$MLA_BUILD/mla-controller-driver") --kube-url "$API" --kube-token-file "$TOKEN_FILE" \
    ${MLA_KUBE_CA:+--kube-ca "$MLA_KUBE_CA"} ${tmpl:+--template "$tmpl"} \
    --metrics-out "$MLA_TMP/$name.metrics" "$@" \
    <"$MLA_TMP/$name.in" >"$MLA_TMP/$name.out" 2>"$MLA_TMP/$name.err" &
  DRV_PID=$!; PIDS+=("$DRV_PID")
  exec 3>"$MLA_TMP/$name.in"
  DRV_NAME=$name
}
# send JSON -> prints the driver's answer line
send() {
  local before; before=$(wc -l <"$MLA_TMP/$DRV_NAME.out")
  echo "$1" >&3
  for _ in $(seq 1 $((100 * SLOW))); do
    [ "$(wc -l <"$MLA_TMP/$DRV_NAME.out")" -gt "$before" ] && break; sleep 0.05
  done
  sed -n "$((before + 1))p" "$MLA_TMP/$DRV_NAME.out"
}
# driver_stop: end of input -> the driver drains, destroys the façade and exits
driver_stop() {
  exec 3>&-
  for _ in $(seq 1 $((200 * SLOW))); do kill -0 "$DRV_PID" 2>/dev/null || break; sleep 0.1; done
  wait "$DRV_PID"; local rc=$?
  [ "$rc" = 0 ] || { cat "$MLA_TMP/$DRV_NAME.err" >&2; fail "driver exited $rc"; }
}
metric() { # metric FILE 'name{labels}' -> value or 0
  awk -v k="$2" '$1==k {print $2; f=1} END {if (!f) print 0}' "$1"
}
# store_opt_out NS NAME -> stores an opt-out as kube-apiserver does after our admission patch:
# the opt-in annotation gone, and with it the marks the patch removes (managed label, the
# scaledobject/policy/policy-hash annotations); the worker waits until it sees exactly that
store_opt_out() {
  kapi PATCH "$(dep_path "$1" "$2")" '{"metadata":{"labels":{"ml-autoscaling.io/managed":null},"annotations":{"ml-autoscaling.io/enabled":null,"ml-autoscaling.io/scaledobject":null,"ml-autoscaling.io/policy":null,"ml-autoscaling.io/policy-hash":null}}}' application/merge-patch+json >/dev/null
  [ "$(code)" = 200 ] || fail "store opt-out $1/$2: $(code) $(cat "$MLA_TMP/last.body")"
}

# serve_start NAME [serve flags...]: starts `ml-autoscaling serve` (under valgrind when asked)
# on a free port, with the dev TLS certificates (made once, $MLA_TMP/certs), against the API
# server with the product's token (SERVE_TOKEN_FILE if set, else TOKEN_FILE) and the cluster's
# CA; its log is $MLA_TMP/NAME.err. Its Lease goes to POD_NAMESPACE (default LEASE_NS).
# Sets SERVE_PID, PORT and WH (https://127.0.0.1:PORT); whs PATH [curl args] calls it.
serve_start() {
  local name=$1; shift
  local log="$MLA_TMP/$name.err"
  [ -s "$MLA_TMP/certs/tls.crt" ] \
    || bash "$MLA_ROOT/certs/gen-dev-certs.sh" "$MLA_TMP/certs" >/dev/null || fail "certs"
  # shellcheck disable=SC2046
  POD_NAMESPACE=${POD_NAMESPACE:-$LEASE_NS} $(vg "$name" "$MLA_BUILD/ml-autoscaling") serve \
    --listen 127.0.0.1:0 --tls-cert "$MLA_TMP/certs/tls.crt" --tls-key "$MLA_TMP/certs/tls.key" \
    --kube-url "$API" --kube-token-file "${SERVE_TOKEN_FILE:-$TOKEN_FILE}" \
    ${MLA_KUBE_CA:+--kube-ca "$MLA_KUBE_CA"} "$@" 2>"$log" &
  SERVE_PID=$!; PIDS+=("$SERVE_PID"); PORT=""
  for _ in $(seq 1 $((100 * SLOW))); do
    PORT=$(grep -o 'listening on https://127.0.0.1:[0-9]*' "$log" 2>/dev/null | head -1 | sed 's/.*://')
    [ -n "$PORT" ] && break; sleep 0.1
  done
  [ -n "$PORT" ] || fail "serve did not start: $(tail -5 "$log")"
  WH="https://127.0.0.1:$PORT"
}
whs() { local p=$1; shift; curl -sS --cacert "$MLA_TMP/certs/ca.crt" "$@" "$WH$p"; }
# serve_stop: SIGTERM, and serve must exit 0 (it releases its Lease on the way out)
serve_stop() {
  kill -TERM "$SERVE_PID"; wait "$SERVE_PID"; local rc=$?
  [ "$rc" = 0 ] || fail "serve exited $rc"
}
# kube_requests -> serve's count of API requests by verb, one "VERB N" line each (its /metrics)
kube_requests() {
  whs /metrics | awk -F'[{}" ]+' '/^mla_kube_requests_total\{/ { n[$3] += $NF } END { for (v in n) print v, n[v] }'
}
# yaml_in_ns FILE NS -> the (single-document) YAML object of FILE as one line of JSON, moved to
# namespace NS (on a real cluster, the run's own: `ns NAME`)
yaml_in_ns() {
  /usr/bin/python3 -c 'import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))' "$1" \
    | jq -c --arg ns "$2" '.metadata.namespace = $ns'
}

# loop_test_start NSNAME [testprom args...]: what every loop test with a predictive ScaledObject
# starts from: the test Prometheus serving the NASA trace from 1995-07-12 16:00 on as if it were
# now (a busy afternoon; $PIDS stops it), the API server, and namespaces $NS (ns NSNAME) and
# $LEASE_NS. Needs lib_testprom.sh. Sets PY (Debian's python3).
loop_test_start() {
  local name=$1; shift
  PY=/usr/bin/python3
  testprom_start --trace "$MLA_ROOT/tests/fixtures/traces/nasa-kennedy-1995.per-minute.csv" \
    --trace-at "$(date -u -d 1995-07-12T16:00:00Z +%s)" --now "$(date +%s)" "$@" \
    || fail "testprom"
  PIDS+=("$TESTPROM_PID")
  kube_start_api
  NS=$(ns "$name")
  ensure_ns "$NS"; ensure_ns "$LEASE_NS"
}
# loop_driver_start NAME LEASE [driver flags]: driver NAME runs the loop against the test
# Prometheus (an hour's interval: a pass only when the test sends "reconcile"), contending for
# Lease LEASE; returns once it leads and the pass a new leader runs at once is over.
loop_driver_start() {
  local name=$1 lease=$2; shift 2
  driver_start "$name" --loop-interval 3600 --lease-namespace "$LEASE_NS" --lease-name "$lease" \
    --lease-duration 3 --renew-deadline 2 --retry-period 0.5 --prom-url "$TESTPROM_URL" "$@"
  wait_until 5 sh -c "echo '{\"cmd\":\"leader\"}' >&3; sleep 0.2; tail -1 '$MLA_TMP/$name.out' | grep -q true" || fail "$name never became leader"
  sleep 0.5
}
# so_ann NS NAME KEY: the stored ScaledObject's annotation KEY ("" when absent)
so_ann() {
  kapi GET "$(so_path "$1" "$2")" | /usr/bin/python3 -c '
import json,sys; print(json.load(sys.stdin)["metadata"].get("annotations",{}).get(sys.argv[1],""))' "$3"
}
