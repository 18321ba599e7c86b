#!/usr/bin/env bash
# Certificate rotation under load, the way cert-manager does it: a self-signed root issues the CA
# (SelfSigned Issuer -> CA Certificate -> CA Issuer), the CA issues the serving leaf, and a
# renewal is a new key and a new leaf from the same CA, delivered in a Secret volume
# (tls.crt -> ..data/tls.crt, ..data -> a versioned directory, swapped atomically).
# While kept-alive clients and new-connection-per-request clients send AdmissionReviews:
#   1. ..data swap to leaf 2 (tls.crt = leaf + CA, as cert-manager's CA issuer writes it);
#   2. the files replaced one by one in place (key first, then certificate) with leaf 3.
# Checked: no request fails; `openssl s_client` sees each new serial within the poll interval
# and verifies the chain against ca.crt; new connections see the new certificates in order;
# the kept-alive connections opened before the rotations keep working.
set -u
. "$(dirname "$0")/webhook_lib.sh"
T=$MLA_TMP
PKI="$T/pki"; mkdir -p "$PKI"
WAIT=8
if [ "${MLA_VALGRIND:-0}" = 1 ]; then WAIT=20; fi

# ---- root (self-signed) -> CA -> leaves 1..3, serials 1001..1003 ----
openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 30 -subj "/CN=selfsigned-root" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -keyout "$PKI/root.key" -out "$PKI/root.crt" 2>/dev/null || fail "root CA"
openssl req -newkey rsa:2048 -nodes -subj "/CN=ml-autoscaling-ca" -keyout "$PKI/ca.key" -out "$PKI/ca.csr" 2>/dev/null
printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n' >"$PKI/ca.ext"
openssl x509 -req -in "$PKI/ca.csr" -CA "$PKI/root.crt" -CAkey "$PKI/root.key" -set_serial 500 -days 30 \
  -sha256 -extfile "$PKI/ca.ext" -out "$PKI/ca.crt" 2>/dev/null || fail "CA"
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:ml-autoscaling.ml-autoscaling.svc,IP:127.0.0.1\n' >"$PKI/leaf.ext"
for i in 1 2 3; do
  openssl req -newkey rsa:2048 -nodes -subj "/CN=ml-autoscaling.ml-autoscaling.svc" \
    -keyout "$PKI/leaf$i.key" -out "$PKI/leaf$i.csr" 2>/dev/null
  openssl x509 -req -in "$PKI/leaf$i.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -set_serial $((1000 + i)) \
    -days 30 -sha256 -extfile "$PKI/leaf.ext" -out "$PKI/leaf$i.crt" 2>/dev/null || fail "leaf $i"
done
# Clients trust the chain's top (the caBundle cert-manager's injector writes holds the CA).
cat "$PKI/ca.crt" "$PKI/root.crt" >"$PKI/bundle.crt"
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f; }
FP1=$(fp "$PKI/leaf1.crt"); FP2=$(fp "$PKI/leaf2.crt"); FP3=$(fp "$PKI/leaf3.crt")

# ---- the Secret volume ----
S="$T/secret"; mkdir -p "$S/..v1"
cp "$PKI/leaf1.crt" "$S/..v1/tls.crt"; cp "$PKI/leaf1.key" "$S/..v1/tls.key"; cp "$PKI/ca.crt" "$S/..v1/ca.crt"
ln -s ..v1 "$S/..data"
for f in tls.crt tls.key ca.crt; do ln -s "..data/$f" "$S/$f"; done

cp "$MLA_ROOT/tests/fixtures/webhook/optedin-no-labels/request.json" "$T/review.json"
wh_start --tls-cert "$S/tls.crt" --tls-key "$S/tls.key"
serial() { # the serial (decimal) new connections see, verified against the bundle ("" on failure)
  openssl s_client -connect "127.0.0.1:$WH_PORT" -servername ml-autoscaling.ml-autoscaling.svc \
    -CAfile "$PKI/bundle.crt" -verify_return_error </dev/null 2>/dev/null | openssl x509 -noout -serial 2>/dev/null |
    sed -n 's/^serial=\([0-9A-Fa-f]*\)$/\1/p' | while read -r h; do echo $((16#$h)); done
}
[ "$(serial)" = 1001 ] || fail "leaf 1 not served: serial '$(serial)'"
ok "serving leaf 1 (serial 1001) from the Secret volume; chain root -> CA -> leaf verifies"

LC=(/usr/bin/python3 "$MLA_ROOT/tests/integration/load_client.py" --url "$WH_URL/mutate" --cacert "$PKI/bundle.crt"
    --body "$T/review.json" --until-file "$T/stop")
"${LC[@]}" --threads 2 --mode keep --out "$T/keep.json" --ready-file "$T/keep.ready" & kpid=$!
"${LC[@]}" --threads 2 --mode new --pause 0.02 --out "$T/new.json" --ready-file "$T/new.ready" & npid=$!
# Rotate only once the kept-alive connections are up (under valgrind a handshake takes seconds).
for _ in $(seq 1 300); do [ -e "$T/keep.ready" ] && [ -e "$T/new.ready" ] && break; sleep 0.1; done
[ -e "$T/keep.ready" ] || fail "the kept-alive clients got no first answer"
sleep 1

wait_serial() { # SERIAL LABEL
  local t0=$SECONDS
  while [ $((SECONDS - t0)) -le "$WAIT" ]; do
    [ "$(serial)" = "$1" ] && { ok "$2: new connections see serial $1 after $((SECONDS - t0)) s"; return 0; }
    sleep 0.2
  done
  fail "$2: serial $1 not served within ${WAIT}s (got '$(serial)')"
}

# 1. cert-manager renewal through the Secret volume: leaf + CA in tls.crt.
mkdir -p "$S/..v2"
cat "$PKI/leaf2.crt" "$PKI/ca.crt" >"$S/..v2/tls.crt"; cp "$PKI/leaf2.key" "$S/..v2/tls.key"; cp "$PKI/ca.crt" "$S/..v2/ca.crt"
ln -s ..v2 "$S/..data_tmp" && mv -T "$S/..data_tmp" "$S/..data" && rm -rf "$S/..v1"
wait_serial 1002 "..data swap to leaf 2 (leaf + CA chain)"
sleep 2

# 2. in-place replacement, key first: for a moment tls.key is leaf 3's and tls.crt leaf 2's.
cp "$PKI/leaf3.key" "$S/tls.key.new" && mv -f "$S/tls.key.new" "$S/tls.key"
sleep 2.5   # at least one poll sees the half-rotated pair
cp "$PKI/leaf3.crt" "$S/tls.crt.new" && mv -f "$S/tls.crt.new" "$S/tls.crt"
wait_serial 1003 "in-place rotation to leaf 3"
sleep 2
touch "$T/stop"; wait "$kpid" || fail "keep-alive client"; wait "$npid" || fail "new-connection client"

/usr/bin/python3 - "$T/keep.json" "$T/new.json" "$FP1" "$FP2" "$FP3" <<'PY' || fail "requests failed or connections saw the wrong certificate"
import json, sys
keep, new = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
fps = sys.argv[3:6]
for name, s in (("kept-alive", keep), ("new-connection", new)):
    assert s["failed"] == 0, f"{name}: {s['failed']} failed requests: {s['failures']}"
    assert s["requests"] >= 10, f"{name}: only {s['requests']} requests"
    print(f"ok   - {name} clients: {s['requests']} requests, 0 failed, p99 {s['p99_ms']:.1f} ms, {len(s['connections'])} TLS connections")
seq = [fps.index(f) if f in fps else -1 for _, f in new["connections"]]
assert -1 not in seq, "a connection saw a certificate that is none of the three leaves"
assert seq == sorted(seq), "a new connection saw an older certificate after a newer one"
assert set(seq) == {0, 1, 2}, f"new connections saw leaves {sorted(set(seq))}, want all three"
kseq = {fps.index(f) for _, f in keep["connections"]}
assert kseq == {0}, f"kept-alive connections reconnected (saw leaves {kseq}): they must survive the rotations"
print(f"ok   - new connections saw leaf 1 x{seq.count(0)}, then leaf 2 x{seq.count(1)}, then leaf 3 x{seq.count(2)}; "
      f"kept-alive connections opened on leaf 1 kept working")
PY
grep -q 'TLS certificate reload failed, keeping the old one: .*does not match' "$WH_LOG" ||
  fail "the half-rotated pair (new key, old certificate) was not reported"
ok "the half-rotated pair was refused and logged; the old pair served meanwhile"
wh_stop
