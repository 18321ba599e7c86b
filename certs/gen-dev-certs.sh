#!/usr/bin/env bash
# Development certificates for the webhook (never for production: cert-manager does that).
#
#   certs/gen-dev-certs.sh OUTDIR [--service NAME] [--namespace NS] [--days N]
#
# Writes OUTDIR/ca.crt, ca.key (a development CA) and tls.crt, tls.key (the server certificate,
# signed by that CA) with the SANs kube-apiserver and local tests use:
#   NAME, NAME.NS, NAME.NS.svc, NAME.NS.svc.cluster.local, localhost, 127.0.0.1
# Defaults: --service ml-autoscaling --namespace ml-autoscaling --days 365.
# Clients verify with the CA: curl --cacert OUTDIR/ca.crt https://127.0.0.1:PORT/healthz
set -euo pipefail
usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; }
out=""; svc=ml-autoscaling; ns=ml-autoscaling; days=365
while [ $# -gt 0 ]; do
  case "$1" in
    --service) svc=${2:?--service needs a value}; shift 2 ;;
    --namespace) ns=${2:?--namespace needs a value}; shift 2 ;;
    --days) days=${2:?--days needs a value}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "gen-dev-certs: unknown flag $1" >&2; usage >&2; exit 2 ;;
    *) if [ -n "$out" ]; then echo "gen-dev-certs: one OUTDIR only" >&2; exit 2; fi; out=$1; shift ;;
  esac
done
if [ -z "$out" ]; then usage >&2; exit 2; fi
case "$svc$ns" in *[!a-z0-9.-]*) echo "gen-dev-certs: service/namespace must be DNS labels" >&2; exit 2 ;; esac
command -v openssl >/dev/null || { echo "gen-dev-certs: openssl not found (make deps)" >&2; exit 2; }
mkdir -p "$out"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
umask 077
openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days "$days" \
  -subj "/CN=ml-autoscaling development CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -keyout "$tmp/ca.key" -out "$tmp/ca.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=$svc.$ns.svc" \
  -keyout "$tmp/tls.key" -out "$tmp/tls.csr" 2>/dev/null
cat > "$tmp/ext.cnf" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:$svc,DNS:$svc.$ns,DNS:$svc.$ns.svc,DNS:$svc.$ns.svc.cluster.local,DNS:localhost,IP:127.0.0.1
EXT
openssl x509 -req -in "$tmp/tls.csr" -CA "$tmp/ca.crt" -CAkey "$tmp/ca.key" -CAcreateserial \
  -days "$days" -sha256 -extfile "$tmp/ext.cnf" -out "$tmp/tls.crt" 2>/dev/null
chmod 644 "$tmp/ca.crt" "$tmp/tls.crt"
chmod 600 "$tmp/ca.key" "$tmp/tls.key"
# Move into place key first, certificate last, so a watcher never sees a new cert with an old key
# for longer than one step.
for f in ca.key ca.crt tls.key tls.crt; do mv -f "$tmp/$f" "$out/$f"; done
echo "gen-dev-certs: wrote $out/{ca.crt,ca.key,tls.crt,tls.key} for $svc.$ns.svc (+ localhost, 127.0.0.1), valid $days days"
