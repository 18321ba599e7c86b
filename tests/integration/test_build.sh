#!/usr/bin/env bash
# The build as a packager uses it: a CFLAGS on make's command line replaces only the
# optimisation flags (the build's own -std, warnings and -Iinclude stay), `make install` honours
# PREFIX and DESTDIR, and the module graph of src/ has no cycle.
set -euo pipefail
root=${MLA_ROOT:?}; build=${MLA_BUILD:?}
tmp=${MLA_TMP:-$(mktemp -d)}
fail() { echo "FAIL: $*"; exit 1; }

echo "CFLAGS on the command line keeps the build's flags"
make -s -C "$root" -n -B B="$tmp/b" CFLAGS="-O0 -DMLA_PROBE=1" "$tmp/b/obj/src/base/err.o" \
  >"$tmp/cc.txt"
for want in -O0 -DMLA_PROBE=1 -Iinclude -std=c17 -Werror -Wmissing-prototypes \
            -Wstrict-prototypes -Wvla; do
  grep -q -- "$want" "$tmp/cc.txt" || fail "compile line lacks $want: $(cat "$tmp/cc.txt")"
done

echo "make install DESTDIR=... PREFIX=..."
make -s -C "$root" B="$build" install DESTDIR="$tmp/dest" PREFIX=/opt/mla >/dev/null
[ -x "$tmp/dest/opt/mla/bin/ml-autoscaling" ] || fail "not installed under DESTDIR/PREFIX/bin"
"$tmp/dest/opt/mla/bin/ml-autoscaling" --version | grep -q "ml-autoscaling" \
  || fail "the installed binary does not run"

echo "the module graph has no cycle"
/usr/bin/python3 "$root/scripts/module-graph.py" >"$tmp/graph.txt" 2>&1 \
  || fail "module graph: $(cat "$tmp/graph.txt")"
echo "OK"
