#!/usr/bin/env bash
# The API-side benchmark still measures what it says: bench_kube.sh with 5 Deployments answers
# the admission reads' percentiles and a stored -> applied figure for every Deployment. Its
# figures are not checked (benchmarks are not timed tests); a bench that silently measured
# nothing is (it did, for a round: it stored Deployments that did not show what was admitted,
# which the worker rightly never acts on).
set -u
out=$(MLA_BENCH_KUBE_N=5 bash "$MLA_ROOT/bench/bench_kube.sh" 2>&1)
echo "$out"
fail() { echo "FAIL: $*"; exit 1; }
echo "$out" | grep -Eq '^  p50 [0-9.]+ ms  p99 [0-9.]+ ms  max [0-9.]+ ms   \(target p99 < 5 ms\)$' ||
  fail "no admission-read percentiles"
echo "$out" | grep -q '^stored -> applied over 5 Deployments (5 applied):$' ||
  fail "not every stored Deployment had its ScaledObject applied"
echo "$out" | grep -Eq '^  p50 [0-9.]+ ms  p99 [0-9.]+ ms  max [0-9.]+ ms   \(target p99 < 1000 ms\)$' ||
  fail "no stored -> applied percentiles"
echo "ok: bench_kube.sh measures both figures"
