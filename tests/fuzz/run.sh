#!/usr/bin/env bash
# Runs libFuzzer targets: run.sh BUILD_DIR SECONDS TARGET...
# For each target: every committed regression input (tests/fuzz/regress/<t>/) and seed
# (tests/fuzz/corpus/<t>/) is run once, then the target fuzzes SECONDS from the seeds (new
# inputs go to a temporary directory, the committed corpus is not touched). A crash, leak,
# sanitizer report or timeout fails the run; the input is kept in BUILD_DIR/crashes/<t>/ (add it
# to tests/fuzz/regress/<t>/ with the fix). SECONDS=0 only replays.
set -uo pipefail
cd "$(dirname "$0")/../.."
B=$1 SECS=$2
shift 2
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fail=0
for t in "$@"; do
  ok=1 runs="" cov=""
  bin=$B/fuzz-$t
  seeds=tests/fuzz/corpus/$t regress=tests/fuzz/regress/$t
  mkdir -p "$B/crashes/$t"
  inputs=()
  for d in "$regress" "$seeds"; do
    [ -d "$d" ] && while IFS= read -r f; do inputs+=("$f"); done < <(find "$d" -type f | sort)
  done
  start=$(date +%s)
  if [ "${#inputs[@]}" -gt 0 ] &&
     ! "$bin" -timeout=10 -rss_limit_mb=2048 "${inputs[@]}" >"$B/crashes/$t/replay.log" 2>&1; then
    echo "FAIL fuzz-$t: a committed input fails (log: $B/crashes/$t/replay.log)"
    tail -n 30 "$B/crashes/$t/replay.log"
    fail=1
    continue
  fi
  if [ "$SECS" -gt 0 ]; then
    work=$(mktemp -d)
    if ! "$bin" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
         -print_final_stats=1 -artifact_prefix="$B/crashes/$t/" "$work" "$seeds" \
         >"$B/crashes/$t/fuzz.log" 2>&1; then
      echo "FAIL fuzz-$t: crash found (log: $B/crashes/$t/fuzz.log; input in $B/crashes/$t/)"
      grep -m1 -A25 "ERROR\|runtime error\|deadly signal" "$B/crashes/$t/fuzz.log"
      fail=1 ok=0
    fi
    runs=$(grep -m1 -o "stat::number_of_executed_units: *[0-9]*" "$B/crashes/$t/fuzz.log" | grep -o "[0-9]*$")
    cov=$(grep -o "cov: [0-9]*" "$B/crashes/$t/fuzz.log" | tail -n1)
    rm -rf "$work"
  fi
  [ "$ok" = 1 ] && echo "PASS fuzz-$t ($(( $(date +%s) - start ))s: ${#inputs[@]} committed inputs replayed, ${runs:-0} runs, ${cov:-cov: ?})"
done
exit $fail
