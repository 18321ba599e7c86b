# Shared by the chart/kustomize/metric-name tests: builds the offline chart renderer once and
# renders the chart like `helm template` does, values.schema.json validation included.
# Sourced; expects MLA_ROOT and MLA_TMP (tests/integration/run.sh sets them).
#
# This is a RENDER CHECK, not Helm: on a real cluster use
#   helm lint charts/ml-autoscaling && helm template ... && helm install ...
# (docs/operations.md).

CHART="$MLA_ROOT/charts/ml-autoscaling"
PY=/usr/bin/python3

die() { echo "FAIL: $*" >&2; exit 1; }

# Builds tests/chart/render into $MLA_BUILD/chart-render (reused while the source is unchanged).
build_renderer() {
  local out_dir="${MLA_BUILD:-$MLA_ROOT/build}"
  mkdir -p "$out_dir" || die "cannot create $out_dir"
  RENDER="$out_dir/chart-render"
  local src="$MLA_ROOT/tests/chart/render/main.go"
  if [ -x "$RENDER" ] && [ "$RENDER" -nt "$src" ]; then return 0; fi
  command -v go >/dev/null || die "go is not installed (Debian: golang-go, golang-github-masterminds-sprig-dev)"
  mkdir -p "$MLA_TMP/gopath" "$MLA_TMP/gocache"
  (cd "$MLA_ROOT/tests/chart/render" &&
    GO111MODULE=off GOFLAGS= GOPROXY=off GOPATH="/usr/share/gocode:$MLA_TMP/gopath" \
    GOCACHE="$MLA_TMP/gocache" go build -o "$RENDER.tmp" .) || die "building the chart renderer failed"
  mv "$RENDER.tmp" "$RENDER"
}

# validate_values FILE...: the merged values (chart defaults, then FILEs) against values.schema.json.
validate_values() {
  "$PY" - "$CHART" "$@" <<'PYEOF'
import json, sys, yaml, jsonschema
chart, files = sys.argv[1], sys.argv[2:]
def merge(d, s):
    for k, v in s.items():
        if v is None: d.pop(k, None)
        elif isinstance(v, dict) and isinstance(d.get(k), dict): merge(d[k], v)
        else: d[k] = v
    return d
vals = yaml.safe_load(open(f"{chart}/values.yaml")) or {}
for f in files:
    merge(vals, yaml.safe_load(open(f)) or {})
schema = json.load(open(f"{chart}/values.schema.json"))
errs = sorted(jsonschema.Draft7Validator(schema).iter_errors(vals), key=lambda e: list(e.path))
for e in errs:
    print("values.schema.json: %s: %s" % ("/".join(map(str, e.path)) or "(root)", e.message), file=sys.stderr)
sys.exit(1 if errs else 0)
PYEOF
}

# render OUT [renderer args...]: schema check of the -f files given, then render into OUT.
render() {
  local out=$1; shift
  local files=() a prev=""
  for a in "$@"; do
    if [ "$prev" = "-f" ]; then files+=("$a"); fi
    prev=$a
  done
  validate_values "${files[@]}" || return 1
  # --strict: a reference to a value that does not exist fails, as with `helm lint --strict`.
  "$RENDER" --chart "$CHART" --strict "$@" >"$out"
}
