# Sourced by integration tests: start/stop mla-testprom (under valgrind when MLA_VALGRIND=1).
# testprom_start ARGS...  sets TESTPROM_PID, TESTPROM_PORT, TESTPROM_URL; testprom_stop checks
# the exit status (and valgrind's leak verdict). Callers set `trap testprom_stop EXIT`.
. "$MLA_ROOT/tests/support/valgrind.sh"
TESTPROM_PID=""
testprom_start() {
  local dir; dir=$(mktemp -d "${MLA_TMP:-/tmp}/testprom.XXXXXX")
  TESTPROM_LOG="$dir/log"
  local cmd=("$MLA_BUILD/mla-testprom" --port-file "$dir/port" "$@")
  mla_vg; cmd=("${MLA_VG[@]}" "${cmd[@]}")
  "${cmd[@]}" 2>"$TESTPROM_LOG" &
  TESTPROM_PID=$!
  for _ in $(seq 1 200); do
    [ -s "$dir/port" ] && break
    kill -0 "$TESTPROM_PID" 2>/dev/null || { cat "$TESTPROM_LOG"; echo "testprom died"; return 1; }
    sleep 0.05
  done
  [ -s "$dir/port" ] || { echo "testprom did not start"; return 1; }
  TESTPROM_PORT=$(cat "$dir/port")
  TESTPROM_URL="http://127.0.0.1:$TESTPROM_PORT"
}
testprom_stop() {
  [ -n "$TESTPROM_PID" ] || return 0
  local pid=$TESTPROM_PID rc=0
  TESTPROM_PID=""
  kill -TERM "$pid" 2>/dev/null
  wait "$pid" || rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "FAIL: mla-testprom exited $rc"; cat "$TESTPROM_LOG"; return 1
  fi
}
