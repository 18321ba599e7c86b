#!/usr/bin/env bash
# HTTPS with a kubeconfig: current-context -> server, certificate-authority-data, user token;
# the worker applies through it. A CA that does not match is refused (no retry storm), and the
# error names the TLS problem. On a real cluster: its URL, CA and token in the kubeconfig.
. "$(dirname "$0")/lib_kube.sh"
if kube_is_real; then
  kube_start_api
else
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=127.0.0.1" \
    -addext "subjectAltName=IP:127.0.0.1" -keyout "$MLA_TMP/key.pem" -out "$MLA_TMP/cert.pem" 2>/dev/null \
    || fail "openssl could not make a certificate"
  kube_start_api --tls-cert "$MLA_TMP/cert.pem" --tls-key "$MLA_TMP/key.pem"
  API="https://127.0.0.1:$(cat "$MLA_TMP/api.port")"
  export MLA_KUBE_CA="$MLA_TMP/cert.pem"   # for the test's own curl
fi
T=$(ns tls)
cat >"$MLA_TMP/kubeconfig" <<KC
apiVersion: v1
kind: Config
current-context: test
clusters:
- name: test
  cluster:
    server: $API
    certificate-authority-data: $(base64 -w0 "$MLA_KUBE_CA")
contexts:
- name: test
  context: {cluster: test, user: tester}
users:
- name: tester
  user:
    token: "$(cat "$TOKEN_FILE")"
KC
store_deployment "$T" web
mkfifo "$MLA_TMP/drv.in"
# shellcheck disable=SC2046
$(vg drv "$MLA_BUILD/mla-controller-driver") --kubeconfig "$MLA_TMP/kubeconfig" --no-loop \
  --template "$FIX/so-template.json" <"$MLA_TMP/drv.in" >"$MLA_TMP/drv.out" 2>"$MLA_TMP/drv.err" &
DRV_PID=$!; PIDS+=("$DRV_PID"); DRV_NAME=drv; exec 3>"$MLA_TMP/drv.in"
send '{"namespace":"'"$T"'","name":"web","op":"UPDATE","oldResourceVersion":"0","action":"apply"}' >/dev/null
wait_until 5 exists "$(so_path "$T" web)" || fail "no ScaledObject over HTTPS: $(tail -3 "$MLA_TMP/drv.err")"
ok "kubeconfig (certificate-authority-data + token): ScaledObject applied over HTTPS"
driver_stop
# a CA that did not sign the server's certificate
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=other" -keyout "$MLA_TMP/k2.pem" \
  -out "$MLA_TMP/other.pem" 2>/dev/null
mkfifo "$MLA_TMP/bad.in"
# shellcheck disable=SC2046
$(vg bad "$MLA_BUILD/mla-controller-driver") --kube-url "$API" --kube-token-file "$TOKEN_FILE" \
  --kube-ca "$MLA_TMP/other.pem" --no-loop --template "$FIX/so-template.json" --stored-give-up 1 \
  <"$MLA_TMP/bad.in" >"$MLA_TMP/bad.out" 2>"$MLA_TMP/bad.err" &
DRV_PID=$!; PIDS+=("$DRV_PID"); DRV_NAME=bad; exec 3>"$MLA_TMP/bad.in"
send '{"namespace":"'"$T"'","name":"web2","op":"UPDATE","oldResourceVersion":"0","action":"apply"}' >/dev/null
wait_until 5 grep -qi 'certificate\|SSL' "$MLA_TMP/bad.err" || fail "TLS error not reported: $(cat "$MLA_TMP/bad.err")"
ok "wrong CA refused: $(grep -oi '[^"]*certificate[^"]*' "$MLA_TMP/bad.err" | head -1)"
gone "$(so_path "$T" web2)" || fail "written despite the wrong CA"
exec 3>&-
