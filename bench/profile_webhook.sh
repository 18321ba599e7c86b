#!/usr/bin/env bash
# Where the webhook's instructions go: runs `serve` under callgrind, answers N keep-alive
# requests (one TLS connection) of bench/review-KIND.json, and prints the functions with the
# largest inclusive share. Instruction counts do not depend on the machine's load, so this is
# the before/after figure to trust on a shared machine. Not run by `make bench`.
# Usage: bench/profile_webhook.sh [optedin|plain] [N]   (MLA_BUILD: build dir, default build/)
# Note: callgrind counts each byte of a `rep stosb` memset as an instruction, so libc memset
# (MHD zeroing its connection pool) weighs more here than in time.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
MLA_ROOT=${MLA_ROOT:-$(cd "$here/.." && pwd)}
MLA_BUILD=${MLA_BUILD:-$MLA_ROOT/build}
KIND=${1:-optedin} N=${2:-2000}
command -v valgrind >/dev/null || { echo "profile_webhook: valgrind not found"; exit 0; }
command -v callgrind_annotate >/dev/null || { echo "profile_webhook: callgrind_annotate not found"; exit 0; }
tmp=$(mktemp -d /tmp/mla-prof.XXXXXX)
vp=""
cleanup() { [ -n "$vp" ] && kill -TERM "$vp" 2>/dev/null && wait "$vp" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
bash "$MLA_ROOT/certs/gen-dev-certs.sh" "$tmp/certs" >/dev/null
valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" "$MLA_BUILD/ml-autoscaling" serve \
  --listen 127.0.0.1:0 --tls-cert "$tmp/certs/tls.crt" --tls-key "$tmp/certs/tls.key" \
  --policies "$MLA_ROOT/policies" --log-level warn --connection-timeout 120 2>"$tmp/serve.log" &
vp=$!
port=""
for _ in $(seq 1 600); do
  port=$(ss -ltnpH 2>/dev/null | grep "pid=$vp," | grep -o '127.0.0.1:[0-9]*' | head -1 | cut -d: -f2) || true
  [ -n "$port" ] && break; sleep 0.1
done
[ -n "$port" ] || { echo "profile_webhook: serve did not start"; cat "$tmp/serve.log"; exit 0; }
urls=()
for _ in $(seq 1 "$N"); do urls+=("https://127.0.0.1:$port/mutate"); done
curl -sS --cacert "$tmp/certs/ca.crt" -H 'Content-Type: application/json' \
  --data-binary "@$here/review-$KIND.json" "${urls[@]}" >/dev/null
kill -TERM "$vp"; wait "$vp" || true; vp=""
total=$(callgrind_annotate "$tmp/cg.out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",","",$1); print $1}')
echo "review-$KIND.json, $N requests on one connection: $total instructions in all (start-up, TLS handshake and shutdown included)"
callgrind_annotate --inclusive=yes --auto=no "$tmp/cg.out" 2>/dev/null |
  grep -E '^ *[0-9,]+ \(.*(http_mutate_arena|mla_review_decode|mla_review_skim|mla_review_json_depth|cJSON_ParseWithLengthOpts|mla_decide|mla_so_build|mla_tpl_expand|mla_review_encode|cJSON_Delete|__memset_avx2_unaligned_erms|gnutls_record_recv|gnutls_record_send) \[' |
  awk -v n="$N" -v t="$total" '{c=$1; gsub(",","",c); f=$0; sub(/ \[.*/, "", f); sub(/.*[ :]/, "", f);
    printf "  %-30s %5.1f%%  %7.0f instructions per request\n", f, 100*c/t, c/n}'
