#!/usr/bin/env bash
# The webhook's TLS: 1.2 and 1.3 only, AEAD ciphers with an ephemeral (ECDHE) key exchange
# only. TLS 1.2 clients offering only CBC suites or static RSA key exchange are refused; the
# suites kube-apiserver (Go) offers are accepted.
set -u
. "$(dirname "$0")/webhook_lib.sh"
T=$MLA_TMP
wh_start

# suite NAME over TLS 1.2: prints the negotiated cipher, "(NONE)" when the handshake fails.
suite() {
  echo | timeout 10 openssl s_client -connect "127.0.0.1:$WH_PORT" -CAfile "$CERTS/ca.crt" \
    -tls1_2 -cipher "$1" 2>/dev/null | grep -o 'Cipher is [^ ]*' | head -1 | sed 's/Cipher is //'
}
for c in ECDHE-RSA-AES128-GCM-SHA256 ECDHE-RSA-AES256-GCM-SHA384 ECDHE-RSA-CHACHA20-POLY1305; do
  [ "$(suite "$c")" = "$c" ] || fail "TLS 1.2 $c refused"
done
ok "TLS 1.2 with ECDHE and AES-GCM or ChaCha20-Poly1305: accepted"
for c in ECDHE-RSA-AES128-SHA ECDHE-RSA-AES256-SHA ECDHE-RSA-AES128-SHA256 AES128-SHA AES256-SHA \
         AES128-GCM-SHA256 AES256-GCM-SHA384 DHE-RSA-AES128-GCM-SHA256; do
  got=$(suite "$c")
  [ -z "$got" ] || [ "$got" = "(NONE)" ] || fail "TLS 1.2 $c accepted (negotiated $got)"
done
ok "TLS 1.2 with CBC ciphers, static RSA or DHE key exchange: refused"
tls13=$(echo | timeout 10 openssl s_client -connect "127.0.0.1:$WH_PORT" -CAfile "$CERTS/ca.crt" \
  -tls1_3 2>/dev/null | grep -o 'Cipher is [^ ]*' | head -1)
case "$tls13" in *TLS_AES_*_GCM_*|*TLS_CHACHA20_POLY1305_*) ;; *) fail "TLS 1.3: $tls13" ;; esac
ok "TLS 1.3: $tls13"
[ "$(wh_curl /healthz)" = ok ] || fail "healthz after the handshakes"
wh_stop
