#!/usr/bin/env bash
# --max-body-bytes is a boundary users rely on: a review of exactly the limit is decided, one
# byte more is refused with 413, with Content-Length and with a chunked upload alike.
set -u
. "$(dirname "$0")/webhook_lib.sh"

LIMIT=4096
wh_start --max-body-bytes $LIMIT --threads 2
T=$MLA_TMP
src=$MLA_ROOT/tests/fixtures/webhook/no-annotations/request.json

# pad FILE N: the review followed by spaces (allowed after the JSON object) to exactly N bytes
pad() {
  local n=$(( $2 - $(wc -c < "$src") ))
  [ "$n" -ge 0 ] || fail "fixture larger than $2 bytes"
  { cat "$src"; head -c "$n" /dev/zero | tr '\0' ' '; } > "$1"
  [ "$(wc -c < "$1")" -eq "$2" ] || fail "pad: $1 is not $2 bytes"
}
pad "$T/at.json" $LIMIT
pad "$T/over.json" $((LIMIT + 1))

# post FILE [curl args]: prints the HTTP code (000 when the server closed the connection)
post() {
  local f=$1; shift
  wh_curl /mutate -H 'Content-Type: application/json' "$@" --data-binary "@$f" \
    -o "$T/body" -w '%{http_code}' 2>/dev/null || true
}

code=$(post "$T/at.json")
[ "$code" = 200 ] || fail "exactly $LIMIT bytes with Content-Length: HTTP $code, want 200 ($(head -c 200 "$T/body"))"
grep -q '"allowed":true' "$T/body" || fail "exactly $LIMIT bytes: not decided: $(head -c 200 "$T/body")"
ok "exactly --max-body-bytes with Content-Length -> 200, decided"

code=$(post "$T/over.json")
[ "$code" = 413 ] || fail "$((LIMIT + 1)) bytes with Content-Length: HTTP $code, want 413"
grep -q "larger than the limit of $LIMIT bytes" "$T/body" || fail "413 message: $(cat "$T/body")"
ok "one byte over with Content-Length -> 413"

code=$(post "$T/at.json" -H 'Transfer-Encoding: chunked')
[ "$code" = 200 ] || fail "exactly $LIMIT bytes chunked: HTTP $code, want 200"
grep -q '"allowed":true' "$T/body" || fail "exactly $LIMIT bytes chunked: not decided"
ok "exactly --max-body-bytes chunked -> 200, decided"

code=$(post "$T/over.json" -H 'Transfer-Encoding: chunked')
case "$code" in 413|000) ;; *) fail "$((LIMIT + 1)) bytes chunked: HTTP $code, want 413 or a closed connection";; esac
ok "one byte over chunked -> refused ($code)"

code=$(post "$T/at.json")
[ "$code" = 200 ] || fail "server not answering after the refusals: HTTP $code"
wh_stop
