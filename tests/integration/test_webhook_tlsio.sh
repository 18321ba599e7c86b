#!/usr/bin/env bash
# The server's TLS transport (src/http/tlsio.c) reads ahead (one recv() per record instead of
# two) and sends an answer's header and body records in one sendmsg(). What it holds past the
# current record must be served without waiting for the socket: requests pipelined in one write,
# each its own record, all answered; a record cut into pieces (its 5-byte header too) that arrive
# apart; records longer than the read-ahead. What it keeps back to send must leave in order, also
# when the socket is full and sends come back short.
set -u
. "$(dirname "$0")/webhook_lib.sh"
PY=/usr/bin/python3
TR="$MLA_ROOT/tests/support/tls_records.py"

wh_start
small=$MLA_ROOT/bench/review-optedin.json
want=$(wh_post "$small" | tail -1)
[ "$want" = 200 ] || fail "curl: $want"
len=$(wh_curl /mutate -H 'Content-Type: application/json' --data-binary "@$small" | wc -c)

for n in 1 2 8; do
  out=$($PY "$TR" "$CERTS/ca.crt" "$WH_PORT" together "$small" "$n") \
    || fail "$n requests in one write: $(echo "$out" | wc -l) answered within 60 s: $out"
  [ "$(echo "$out" | grep -c "^200 $len\$")" = "$n" ] || fail "$n requests in one write: $out"
done
ok "1, 2 and 8 requests in one write, each its own record: every one answered (200, $len bytes)"
out=$($PY "$TR" "$CERTS/ca.crt" "$WH_PORT" slow "$small" 8000) \
  || fail "8000 requests to a client that reads late: $(echo "$out" | wc -l) answered"
[ "$(echo "$out" | grep -c "^200 $len\$")" = 8000 ] || fail "8000 requests, read late: $(echo "$out" | sort | uniq -c)"
ok "8000 requests (6.7 MB of answers) in one write to a client that reads a second late (the server's sends come back short): all answered, in order"

out=$($PY "$TR" "$CERTS/ca.crt" "$WH_PORT" pieces "$small") || fail "a request in pieces: $out"
[ "$out" = "200 $len" ] || fail "a request in pieces: $out"
ok "a record arriving in pieces of 1, 3, 2 and 100 bytes: answered"

# a 60 KB review: records of 16 KB, four times the read-ahead
big=$MLA_TMP/big.json
$PY -c '
import json,sys
d=json.load(open(sys.argv[1])); d["request"]["object"]["metadata"]["annotations"]["example.com/pad"]="x"*60000
json.dump(d,open(sys.argv[2],"w"))' "$small" "$big"
blen=$(wh_curl /mutate -H 'Content-Type: application/json' --data-binary "@$big" | wc -c)
[ "$(wh_post "$big" | tail -1)" = 200 ] || fail "a 60 KB review over curl"
out=$($PY "$TR" "$CERTS/ca.crt" "$WH_PORT" together "$big" 3) || fail "3 x 60 KB in one write: $out"
[ "$(echo "$out" | grep -c "^200 $blen\$")" = 3 ] || fail "3 x 60 KB in one write: $out"
out=$($PY "$TR" "$CERTS/ca.crt" "$WH_PORT" pieces "$big") || fail "60 KB in pieces: $out"
[ "$out" = "200 $blen" ] || fail "60 KB in pieces: $out"
ok "60 KB reviews (records four times the read-ahead): three in one write, and one in pieces"
wh_stop
