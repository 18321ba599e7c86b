#!/usr/bin/env bash
# Where the webhook's instructions go: runs `serve` under callgrind, answers N keep-alive
# requests (one TLS connection) of bench/review-KIND.json, and prints instructions per request
# of the main functions (inclusive) and of each component (self cost: TLS, libmicrohttpd,
# cJSON, malloc/free, memset, our codec, decision, logging, metrics, ...). Instruction counts
# do not depend on the machine's load, so this is the before/after figure to trust on a shared
# machine. Not run by `make bench`.
# Usage: bench/profile_webhook.sh [optedin|plain] [N] [N0]   (MLA_BUILD: build dir, default build/)
# With N0, serve is profiled twice (N and N0 requests) and every figure is the difference per
# request, (cost(N) - cost(N0)) / (N - N0): start-up, the TLS handshake and shutdown cancel out.
# Without it, they are spread over the N requests.
# PROFILE_KEEP=DIR keeps the callgrind files and their annotations there.
# Note: callgrind counts each byte of a `rep stosb` memset as an instruction, so libc memset
# (MHD zeroing its connection pool) weighs more here than in time.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
MLA_ROOT=${MLA_ROOT:-$(cd "$here/.." && pwd)}
MLA_BUILD=${MLA_BUILD:-$MLA_ROOT/build}
KIND=${1:-optedin} N=${2:-2000} N0=${3:-}
command -v valgrind >/dev/null || { echo "profile_webhook: valgrind not found"; exit 0; }
command -v callgrind_annotate >/dev/null || { echo "profile_webhook: callgrind_annotate not found"; exit 0; }
tmp=$(mktemp -d /tmp/mla-prof.XXXXXX)
vp=""
cleanup() { [ -n "$vp" ] && kill -TERM "$vp" 2>/dev/null && wait "$vp" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
bash "$MLA_ROOT/certs/gen-dev-certs.sh" "$tmp/certs" >/dev/null

# profile_run N OUT: serve under callgrind answering N requests, profile written to OUT.
profile_run() {
  valgrind --tool=callgrind --callgrind-out-file="$2" "$MLA_BUILD/ml-autoscaling" serve \
    --listen 127.0.0.1:0 --tls-cert "$tmp/certs/tls.crt" --tls-key "$tmp/certs/tls.key" \
    --policies "$MLA_ROOT/policies" --log-level warn --connection-timeout 120 2>"$tmp/serve.log" &
  vp=$!
  local port=""
  for _ in $(seq 1 600); do
    port=$(ss -ltnpH 2>/dev/null | grep "pid=$vp," | grep -o '127.0.0.1:[0-9]*' | head -1 | cut -d: -f2) || true
    [ -n "$port" ] && break; sleep 0.1
  done
  [ -n "$port" ] || { echo "profile_webhook: serve did not start"; cat "$tmp/serve.log"; exit 0; }
  local urls=()
  for _ in $(seq 1 "$1"); do urls+=("https://127.0.0.1:$port/mutate"); done
  curl -sS --cacert "$tmp/certs/ca.crt" -H 'Content-Type: application/json' \
    --data-binary "@$here/review-$KIND.json" "${urls[@]}" >/dev/null
  kill -TERM "$vp"; wait "$vp" || true; vp=""
  callgrind_annotate --inclusive=yes --auto=no --threshold=100 "$2" >"$2.incl" 2>/dev/null
  callgrind_annotate --inclusive=no --auto=no --threshold=100 "$2" >"$2.self" 2>/dev/null
}
profile_run "$N" "$tmp/cg.n"
if [ -n "$N0" ]; then
  profile_run "$N0" "$tmp/cg.n0"
else
  N0=0; : >"$tmp/cg.n0.incl"; : >"$tmp/cg.n0.self"
fi
/usr/bin/python3 - "$tmp/cg.n" "$tmp/cg.n0" "$N" "$N0" "$KIND" <<'PY'
import re, sys
a, b, n, n0, kind = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
line = re.compile(r"^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(\S.*?)(?: \[(.*)\])?$")
def load(path):
    rows = {}
    total = 0
    try:
        text = open(path).read()
    except OSError:
        return 0, rows
    for l in text.splitlines():
        if "PROGRAM TOTALS" in l:
            total = int(l.split()[0].replace(",", ""))
            continue
        m = line.match(l)
        if not m or ":" not in m.group(2):
            continue
        c = int(m.group(1).replace(",", ""))
        fileloc, func = m.group(2).rsplit(":", 1) if m.group(2).count(":") else ("???", m.group(2))
        key = (fileloc, func.strip(), m.group(3) or "")
        rows[key] = rows.get(key, 0) + c
    return total, rows
ta, ia = load(a + ".incl"); _, sa = load(a + ".self")
tb, ib = load(b + ".incl"); _, sb = load(b + ".self")
per = lambda x, y: (x - y) / (n - n0)
what = ("start-up, handshake and shutdown cancelled (%d minus %d requests)" % (n, n0) if n0
        else "start-up, TLS handshake and shutdown spread over the requests")
print("review-%s.json, %d requests on one connection: %.0f instructions per request (%s)"
      % (kind, n, per(ta, tb), what))
print("main functions (inclusive), instructions per request:")
funcs = ["http_mutate", "http_mutate_plain", "http_mutate_arena", "mla_review_scan",
         "mla_review_plain", "mla_review_decode", "mla_review_decode_scanned", "mla_review_skim",
         "cJSON_ParseWithLengthOpts", "mla_decide", "mla_decide_plain", "mla_so_build",
         "mla_tpl_expand", "mla_review_encode", "cJSON_Delete", "gnutls_record_recv",
         "gnutls_record_send"]
def fsum(rows, f):
    # the inclusive listing may show a function twice (e.g. under a recursion): take the largest
    return max([c for (fl, fn, ob), c in rows.items() if fn == f] or [0])
for f in funcs:
    v = per(fsum(ia, f), fsum(ib, f))
    if fsum(ia, f):
        print("  %-30s %8.0f  %5.1f%%" % (f, v, 100 * v / max(per(ta, tb), 1)))
def comp(fl, fn, ob):
    o = ob.rsplit("/", 1)[-1]
    if re.search(r"gnutls|nettle|hogweed|gmp|tasn1|p11-kit|idn2|unistring", o):
        return "TLS (GnuTLS, nettle, gmp)"
    if "microhttpd" in o:
        return "libmicrohttpd"
    if "cjson" in o.lower() or fn.startswith("cJSON") or "cJSON" in fl:
        return "cJSON (parse, build, print, delete)"
    if "libc" in o or "ld-linux" in o:
        if "memset" in fn: return "libc memset"
        if re.search(r"malloc|free|calloc|realloc|_int_|tcache|consolidate|arena_get", fn):
            return "malloc/free"
        if re.search(r"^__?(memcpy|memmove|strlen|strcmp|memchr|strchr|memcmp|strn|__strn|stp|strcspn|strspn)", fn) or "mem" in fn or "str" in fn:
            return "libc string functions"
        return "libc other (syscalls, locks, printf)"
    if fl.endswith(".h") and ("intrin" in fl or "include/mla/" in fl or "src/" in fl):
        # code inlined from a header (SSE2 intrinsics, arena.h's bump, admission-int.h's
        # helpers): counted where it was inlined, by the function it sits in
        f = fn.split("'")[0]
        if f.startswith("sk_") or f.startswith("mla_review_skim"): return "our review skim (validation, facts)"
        if f.startswith(("rt_", "adm_", "mla_review", "mla_skim")): return "our review codec (decode, encode)"
        if "arena" in fl or f.startswith(("mla_arena", "arena_")): return "our arena and buffers"
        return "our decision (policy, ScaledObject, patch)"
    if "review_skim" in fl: return "our review skim (validation, facts)"
    if "admission/review" in fl: return "our review codec (decode, encode)"
    if "src/admission" in fl or "src/policy" in fl or "src/hours" in fl: return "our decision (policy, ScaledObject, patch)"
    if "base/log" in fl or fn.startswith("mla_log"): return "logging"
    if "base/metrics" in fl or fn.startswith("mla_metric"): return "metrics"
    if "base/arena" in fl or "base/mem" in fl or "base/buf" in fl: return "our arena and buffers"
    if "src/http" in fl: return "our HTTP glue (server.c)"
    if "vgpreload" in o or "valgrind" in o: return "valgrind"
    return "other (start-up, kernel, ...)"
cs = {}
for rows, sign in ((sa, 1), (sb, -1)):
    for k, c in rows.items():
        cs[comp(*k)] = cs.get(comp(*k), 0) + sign * c
print("by component (self cost), instructions per request:")
for k, v in sorted(cs.items(), key=lambda kv: -kv[1]):
    if abs(v / (n - n0)) >= 50:
        print("  %-44s %8.0f  %5.1f%%" % (k, v / (n - n0), 100 * v / (n - n0) / max(per(ta, tb), 1)))
PY
if [ -n "${PROFILE_KEEP:-}" ]; then mkdir -p "$PROFILE_KEEP"; cp "$tmp"/cg.n* "$PROFILE_KEEP"/; fi
