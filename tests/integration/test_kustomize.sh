#!/usr/bin/env bash
# deploy/ renders with `kubectl kustomize`, holds the objects the chart renders with default
# values (same kinds, same RBAC, same wiring; plus the Namespace), and is not stale: it must
# equal a fresh render of the chart (regenerate with deploy/generate.sh). Also lints
# deploy/Dockerfile lightly: stages, user, entrypoint, and that every runtime package exists and
# covers the libraries the Makefile links.
set -euo pipefail
: "${MLA_ROOT:?run via tests/integration/run.sh}" "${MLA_TMP:?}"
. "$MLA_ROOT/tests/chart/lib.sh"
cd "$MLA_TMP"
KUBECTL=${KUBECTL:-/usr/bin/kubectl}
[ -x "$KUBECTL" ] || KUBECTL=$(command -v kubectl) || die "kubectl not found"

echo "== kubectl kustomize deploy/"
"$KUBECTL" kustomize "$MLA_ROOT/deploy" >kustomize.yaml 2>err.txt || die "kubectl kustomize deploy/ failed: $(cat err.txt)"
default_files=""
for f in "$MLA_ROOT"/policies/*.yaml "$MLA_ROOT"/policies/*.yml "$MLA_ROOT"/policies/*.json; do
  [ -e "$f" ] && default_files="$default_files,$(basename "$f")"
done
default_files=${default_files#,}
"$PY" "$MLA_ROOT/tests/chart/check_render.py" kustomize.yaml --with-namespace --policy-files "$default_files" ||
  die "deploy/ objects fail the chart checks (kinds, RBAC, webhook/certificate wiring, security)"
"$PY" - kustomize.yaml <<'PY' || die "deploy/ does not have the safe webhook defaults"
import sys, yaml
wh = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d["kind"] == "MutatingWebhookConfiguration"][0]["webhooks"][0]
assert wh["failurePolicy"] == "Ignore" and 1 <= wh["timeoutSeconds"] <= 5, (wh["failurePolicy"], wh["timeoutSeconds"])
assert wh["sideEffects"] == "NoneOnDryRun" and wh.get("matchConditions"), wh
vals = [v for e in wh["namespaceSelector"]["matchExpressions"] if e["operator"] == "NotIn" for v in e["values"]]
assert {"ml-autoscaling", "kube-system"} <= set(vals), vals
print("  deploy/: failurePolicy Ignore, timeoutSeconds", wh["timeoutSeconds"], "- namespaces excluded, matchConditions on")
PY

echo "== deploy/ equals the chart's default render"
build_renderer
render chart.yaml --name ml-autoscaling --namespace ml-autoscaling || die "chart render failed"
"$PY" - kustomize.yaml chart.yaml <<'PY' || die "deploy/ is stale: run deploy/generate.sh (and commit deploy/)"
import sys, yaml
def load(p):
    out = {}
    for d in yaml.safe_load_all(open(p)):
        if not d or d["kind"] == "Namespace":
            continue
        for key in ("helm.sh/chart", "app.kubernetes.io/managed-by"):
            (d["metadata"].get("labels") or {}).pop(key, None)
        out[(d["kind"], d["metadata"].get("namespace", ""), d["metadata"]["name"])] = d
    return out
k, c = load(sys.argv[1]), load(sys.argv[2])
ok = True
for key in sorted(set(k) | set(c)):
    if key not in k:
        print("missing from deploy/:", key); ok = False
    elif key not in c:
        print("not in the chart:", key); ok = False
    elif k[key] != c[key]:
        print("differs from the chart:", key); ok = False
sys.exit(0 if ok else 1)
PY

echo "== deploy/Dockerfile"
DF="$MLA_ROOT/deploy/Dockerfile"
"$PY" - "$DF" "$MLA_TMP/runtime-pkgs" "$MLA_TMP/build-pkgs" <<'PY' || die "Dockerfile lint"
import re, sys
text = open(sys.argv[1]).read()
joined = re.sub(r"\\\n", " ", text)
froms = re.findall(r"(?m)^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", joined)
assert len(froms) == 2, f"want two stages, got {froms}"
assert froms[0][0] == "debian:${DEBIAN_RELEASE}" and froms[1][0] == "debian:${DEBIAN_RELEASE}-slim", froms
assert re.search(r"(?m)^ARG DEBIAN_RELEASE=bookworm$", joined), "DEBIAN_RELEASE must default to bookworm"
stages = re.split(r"(?m)^FROM ", joined)[1:]
def pkgs(stage):
    m = re.search(r"apt-get install -y --no-install-recommends\s+(.*?)(?:&&|$)", stage, re.S)
    assert m, "no apt-get install in a stage"
    return m.group(1).split()
build, runtime = pkgs(stages[0]), pkgs(stages[1])
want_rt = {"libmicrohttpd12", "libgnutls30", "libcjson1", "libjansson4", "libyaml-0-2", "libcurl4", "libssl3",
           "ca-certificates", "tzdata"}
assert set(runtime) == want_rt, f"runtime packages {sorted(runtime)} != {sorted(want_rt)}"
assert not any(p.endswith("-dev") or p in ("build-essential", "gcc", "make") for p in runtime), "build tools in runtime"
assert re.search(r"(?m)^RUN .*\bmake\b", stages[0]), "build stage must run make"
assert re.search(r"(?m)^USER 65532(:65532)?$", stages[1]), "runtime must run as user 65532"
assert re.search(r'(?m)^ENTRYPOINT \["/usr/local/bin/ml-autoscaling"\]$', stages[1]), "ENTRYPOINT"
assert re.search(r'(?m)^CMD \["serve"\]$', stages[1]), "CMD"
assert "COPY --from=build" in stages[1], "runtime copies the binary from the build stage"
open(sys.argv[2], "w").write("\n".join(runtime) + "\n")
open(sys.argv[3], "w").write("\n".join(build) + "\n")
PY
# One apt-cache call (it is slow per call); a package it does not know is missing from its output.
known=$(apt-cache show --no-all-versions $(cat runtime-pkgs build-pkgs) 2>/dev/null | sed -n 's/^Package: //p' | sort -u)
missing=()
for p in $(cat runtime-pkgs build-pkgs); do grep -qx "$p" <<<"$known" || missing+=("$p"); done
[ "${#missing[@]}" -eq 0 ] || die "Dockerfile names packages apt-cache does not know: ${missing[*]}"
# Each library the Makefile links (pkg-config) must come from a runtime package.
libs=$(cd "$MLA_ROOT" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -f - print-libs <<'MK'
include Makefile
print-libs:
	@echo $(PKG_LIBS)
MK
)
[ -n "$libs" ] || die "cannot read PKG_LIBS from the Makefile"
for flag in $libs; do
  case $flag in -l*) ;; *) continue ;; esac
  lib=${flag#-l}
  case $lib in m|pthread|c|dl|rt) continue ;; esac   # libc6, in every image
  so=$(${CC:-cc} -print-file-name="lib$lib.so")
  [ -e "$so" ] || die "cannot find the shared library for $flag"
  real=$(readlink -f "$so")
  pkg=$(dpkg -S "$real" 2>/dev/null | head -1 | cut -d: -f1) || true
  [ -n "$pkg" ] || pkg=$(dpkg -S "${real#/usr}" 2>/dev/null | head -1 | cut -d: -f1) || true
  [ -n "$pkg" ] || die "no package owns $real ($flag)"
  grep -qx "$pkg" runtime-pkgs || die "$flag comes from package $pkg, which the runtime stage does not install"
  echo "  $flag -> $pkg (runtime stage installs it)"
done

# The build stage, without docker: every COPY source exists, and its make command, run as
# `make -n` in a context holding only the COPY'd paths, compiles with the Makefile's flags
# (-Iinclude, warnings) plus the version define and links build/ml-autoscaling.
"$PY" - "$DF" >build-stage.txt <<'PY' || die "cannot read the Dockerfile's build stage"
import re, sys
text = re.sub(r"\\\n", " ", open(sys.argv[1]).read())
stage = re.split(r"(?m)^FROM ", text)[1]
copies = re.findall(r"(?m)^COPY (?!--)(\S+) (\S+)$", stage)
runs = [r for r in re.findall(r"(?m)^RUN (.*)$", stage) if re.search(r"\bmake\b", r) and "apt-get" not in r]
assert copies and len(runs) == 1, (copies, runs)
for src, dst in copies:
    print("COPY", src, dst)
print("MAKE", re.split(r"\s+&&\s+", runs[0])[0].strip())
PY
mkdir -p ctx
while read -r kind a b; do
  [ "$kind" = COPY ] || continue
  src="$MLA_ROOT/${a%/}"
  [ -e "$src" ] || die "Dockerfile: COPY $a: no such path in the repository"
  mkdir -p "ctx/$(dirname "${b%/}")"
  cp -r "$src" "ctx/${b%/}"
done <build-stage.txt
make_cmd=$(sed -n 's/^MAKE //p' build-stage.txt)
(cd ctx && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u B -u SAN VERSION=9.9.9 sh -c "${make_cmd/make /make -n }" >../make-n.txt 2>&1) ||
  die "the Dockerfile's make command fails in a context with only the COPY'd paths: $(tail -5 make-n.txt)"
grep -m1 -E '^cc .* -c src/' make-n.txt | grep >/dev/null -- '-Iinclude' ||
  die "the Dockerfile's make command loses the Makefile's CFLAGS (-Iinclude)"
grep -F -- "-DMLA_VERSION='\"9.9.9\"'" make-n.txt >/dev/null || die "the Dockerfile does not pass VERSION to MLA_VERSION"
grep -qE -- '-o build/ml-autoscaling( |$)' make-n.txt || die "the Dockerfile's make command does not link build/ml-autoscaling"
echo "  build stage: COPY sources exist; make compiles with -Iinclude and MLA_VERSION, links the binary"
echo "kustomize + Dockerfile: all checks passed"
