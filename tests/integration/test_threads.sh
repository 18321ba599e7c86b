#!/usr/bin/env bash
# The threaded library pieces under concurrent use (build/mla-threads: queue, policy reload
# during decisions, request arenas, metrics). `make tsan` runs it on a ThreadSanitizer build,
# where a data race fails it; here it checks the same outcomes on the ordinary builds.
set -euo pipefail
bin=${MLA_BUILD:?}/mla-threads
. "${MLA_ROOT:?}/tests/support/valgrind.sh"
mla_vg; run=("${MLA_VG[@]}")
"${run[@]}" "$bin" 2>"${MLA_TMP:-/tmp}/threads.err" || { cat "${MLA_TMP:-/tmp}/threads.err"; echo "FAIL: mla-threads"; exit 1; }
if grep -q "WARNING: ThreadSanitizer" "${MLA_TMP:-/tmp}/threads.err"; then
  cat "${MLA_TMP:-/tmp}/threads.err"; echo "FAIL: ThreadSanitizer report"; exit 1
fi
echo "OK"
