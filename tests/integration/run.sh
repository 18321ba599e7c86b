#!/usr/bin/env bash
# Runs every tests/integration/test_*.sh, each in its own process with a time limit, and ends
# with the line "N passed, N failed". Environment for the tests:
#   MLA_BUILD     absolute build dir (binaries: $MLA_BUILD/ml-autoscaling, tools)
#   MLA_SAN       1 when the build is sanitized
#   MLA_VALGRIND  1 to run the servers under valgrind (leak check)
#   MLA_ROOT      repository root;  MLA_TMP  a scratch dir, removed afterwards
# A test prints what it checks and exits 0 on success.
set -u
here=$(cd "$(dirname "$0")" && pwd)
export MLA_ROOT=$(cd "$here/../.." && pwd)
export MLA_BUILD=${MLA_BUILD:-$MLA_ROOT/build}
export MLA_SAN=${MLA_SAN:-0}
export MLA_VALGRIND=${MLA_VALGRIND:-0}
#   MLA_TEST_REVIEW_BUDGET_MS  the admission reads' budget of mla-controller-driver (default 300
#                 ms, as in serve): wider under valgrind, where every request is ~20x slower
if [ "$MLA_VALGRIND" = 1 ]; then export MLA_TEST_REVIEW_BUDGET_MS=${MLA_TEST_REVIEW_BUDGET_MS:-2000}; fi
pass=0; fail=0; failed=()
filter=${1:-}
for t in "$here"/test_*.sh; do
  [ -e "$t" ] || continue
  name=$(basename "$t" .sh)
  if [ -n "$filter" ] && [[ "$name" != *"$filter"* ]]; then continue; fi
  export MLA_TMP=$(mktemp -d "/tmp/mla-$name.XXXXXX")
  start=$(date +%s)
  if timeout 300 bash "$t" >"$MLA_TMP.log" 2>&1; then
    pass=$((pass+1)); echo "PASS $name ($(( $(date +%s) - start ))s)"
  else
    rc=$?
    fail=$((fail+1)); failed+=("$name"); echo "FAIL $name (exit $rc)"; sed 's/^/    /' "$MLA_TMP.log" | tail -60
  fi
  rm -rf "$MLA_TMP" "$MLA_TMP.log"
done
echo "integration: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
