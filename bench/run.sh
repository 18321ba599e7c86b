#!/usr/bin/env bash
# Runs every bench/bench_*.sh in order. Benchmarks print figures; they do not pass or fail.
# Environment: MLA_BUILD (absolute build dir), MLA_ROOT (repo root).
set -u
here=$(cd "$(dirname "$0")" && pwd)
export MLA_ROOT=$(cd "$here/.." && pwd)
export MLA_BUILD=${MLA_BUILD:-$MLA_ROOT/build}
for b in "$here"/bench_*.sh; do
  [ -e "$b" ] || continue
  echo "== $(basename "$b" .sh)"
  bash "$b" || echo "($(basename "$b") exited $?)"
done
