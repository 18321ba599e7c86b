# tests/support/valgrind.sh - sourced by the integration tests and their libraries: the one
# valgrind command line, so every server and command is checked the same way.
#
# mla_vg [LOGFILE]   sets the array MLA_VG to the valgrind prefix when MLA_VALGRIND=1, else to
#                    (): memory errors and definite or indirect leaks make the command exit 99;
#                    with LOGFILE valgrind writes there (%p: the pid) instead of stderr.
#   mla_vg; "${MLA_VG[@]}" "$bin" render ...
mla_vg() {
  MLA_VG=()
  [ "${MLA_VALGRIND:-0}" = 1 ] || return 0
  MLA_VG=(valgrind -q --leak-check=full --show-leak-kinds=definite,indirect
          --errors-for-leak-kinds=definite,indirect --error-exitcode=99)
  if [ $# -gt 0 ]; then MLA_VG+=(--log-file="$1"); fi
}
