#!/usr/bin/env bash
# Installs the Debian (bookworm) packages ml-autoscaling needs to build, test and benchmark.
# Idempotent; needs root (or sudo). Packages only from Debian, with apt-get.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
PKGS=(
  build-essential pkg-config make git ca-certificates curl openssl tzdata
  libmicrohttpd-dev libgnutls28-dev libssl-dev libcjson-dev libjansson-dev libyaml-dev
  libcurl4-openssl-dev libcriterion-dev
  valgrind wrk nginx-light procps iproute2 jq
  python3 python3-jsonschema python3-yaml
  golang-go golang-github-masterminds-sprig-dev
  prometheus
  clang libclang-rt-14-dev   # libFuzzer runtime for make fuzz / fuzz-check (tests/fuzz/)
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# kubectl: Debian's kubernetes-client, only when no kubectl is on the machine already.
if ! command -v kubectl >/dev/null 2>&1; then missing+=(kubernetes-client); fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "deps: all Debian packages present"
fi
