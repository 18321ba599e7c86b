#!/usr/bin/env bash
# scripts/mutants.sh - a hand-written mutation run: realistic one-line slips that the tests must
# catch. Run by hand before a release and quote the score in the release note; not part of
# `make check` (each mutant rebuilds and reruns tests: ~10-20 minutes on two cores).
#
#   scripts/mutants.sh            every mutant, each against the tests it names (fast)
#   scripts/mutants.sh --full     every mutant against the whole `make test` (slow: hours)
#   scripts/mutants.sh NAME...    only the mutants whose name contains one of the words
#
# The run happens in a scratch copy of the working tree (the files git knows, as they are now,
# built once in the copy and rebuilt incrementally per mutant); the tree itself is never touched.
# A mutant is one literal replacement, FROM -> TO, that must match exactly once in its file. A
# mutant whose FROM does not match (the code moved) is reported as "stale", not as killed or
# survived, and makes the run fail so that the list is kept up to date.
#
# Each mutant names its tests: unit:GLOB (Criterion --filter, repeatable with ',') and/or
# int:NAME (tests/integration/test_*NAME*.sh). Killed = a named test failed; survived = all
# passed. Exit status: 0 when every mutant was killed, 1 otherwise.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
full=0
want=()
for a in "$@"; do
  case "$a" in
    --full) full=1 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) want+=("$a") ;;
  esac
done

# name | file | FROM | TO | tests       (fields separated by ' | '; FROM/TO are literal text)
MUTANTS=$(cat <<'EOF'
resolve-min-clamp-low | src/admission/resolve.c | s->b_replicas.min, s->b_replicas.max); | 0, s->b_replicas.max); | unit:policy_resolve/*
resolve-int-upper | src/admission/resolve.c | if (*end || x < lo || x > hi) | if (*end || x < lo || x >= hi) | unit:policy_resolve/*
resolve-so-name-54 | src/admission/resolve.c | mla_so_short_name(name, 54, r->so_name); | mla_so_short_name(name, 56, r->so_name); | unit:so/*
resolve-label-63 | src/admission/resolve.c | mla_so_short_name(name, 63, r->dep_label); | mla_so_short_name(name, 62, r->dep_label); | unit:so/*
so-short-name-fits | src/admission/scaledobject.c | if (n <= max) { | if (n < max) { | unit:so/*
patch-pointer-escape | src/admission/patch.c | *c == '~' ? "~0" : "~1" | *c == '~' ? "~1" : "~0" | unit:patch/*
decide-was-managed | src/admission/decide.c | return (en && !strcmp(en, "true")) || (lab | return (en && !strcmp(en, "true")) && (lab | unit:decide/*
review-dry-run | src/admission/review.c | r->dry_run = cJSON_IsTrue(dry); | r->dry_run = cJSON_IsBool(dry); | unit:adm_decode/*
tpl-quote-escape | src/policy/tpl.c | } else if (q && (*c == '\\' || *c == (unsigned char)q)) { | } else if (q && (*c == '\\')) { | unit:so/*
match-namespace-glob | src/policy/match.c | if (fnmatch(globs[i], ns, 0) == 0) | if (fnmatch(globs[i], ns, 0) != 0) | unit:policy_match/*
hours-overnight-yesterday | src/hours/hours.c | for (int64_t day = today - 1; day <= today; day++) { | for (int64_t day = today; day <= today; day++) { | unit:hours/*
hours-overnight-end | src/hours/hours.c | int end_min = w->end_min <= w->start_min ? w->end_min + 1440 : w->end_min; | int end_min = w->end_min; | unit:hours/*
predict-hysteresis | src/predict/decision.c | if (delta < c->hysteresis_step && | if (delta <= c->hysteresis_step && | unit:predict*
predict-cost-cap-floor | src/predict/decision.c | double capd = floor(c->max_hourly_cost / c->replica_hourly_cost + 1e-9); | double capd = ceil(c->max_hourly_cost / c->replica_hourly_cost + 1e-9); | unit:predict*
predict-bounds | src/predict/decision.c | if (v < c->min_replicas || v > c->max_replicas) { | if (v < c->min_replicas && v > c->max_replicas) { | unit:predict*
http-body-limit | src/http/server.c | if (errno || end == cl || n > s->o.max_body) { | if (errno || end == cl || n >= s->o.max_body) { | int:webhook_bodylimit
lease-expiry | src/controller/lease.c | l->observed_ms + (long long)(dur * 1000) > mono | l->observed_ms + (long long)(dur * 1000) < mono | int:kube_leader
worker-own-so-conflict | src/controller/worker.c | if (!sn || !strcmp(sn, so_name) || !mla_worker_so_targets(s, w->name)) | if (!sn || !mla_worker_so_targets(s, w->name)) | int:kube_apply
reconcile-paused | src/controller/reconcile.c | return (p && !strcmp(p, "true")) || | return (p && strcmp(p, "true")) || | unit:rec/*,int:kube_loop
queue-cap | src/controller/queue.c | if (!old && q->n_pending >= q->cap) { | if (!old && q->n_pending > q->cap) { | unit:queue/*
EOF
)

work=$(mktemp -d /tmp/mla-mutants.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "mutants: copying the tree to $work"
(cd "$root" && git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$work" 2>/dev/null)
echo "mutants: building the copy once"
if ! nice -n 10 make -s -C "$work" -j2 all build/unit-tests >"$work/build.log" 2>&1; then
  tail -30 "$work/build.log"; echo "mutants: the unmutated tree does not build"; exit 2
fi

run_tests() { # run_tests SPEC: 0 when all named tests pass
  local spec=$1 t rc=0
  if [ "$full" = 1 ]; then
    make -s -C "$work" test >"$work/test.log" 2>&1; return
  fi
  IFS=',' read -ra parts <<<"$spec"
  for t in "${parts[@]}"; do
    case "$t" in
      unit:*) (cd "$work/tests" && ../build/unit-tests --jobs 2 --filter "${t#unit:}") \
                >>"$work/test.log" 2>&1 || rc=1 ;;
      int:*) MLA_BUILD="$work/build" bash "$work/tests/integration/run.sh" "${t#int:}" \
               >>"$work/test.log" 2>&1 || rc=1 ;;
    esac
  done
  return $rc
}

killed=0; survived=0; stale=0; total=0; survivors=()
while IFS= read -r line; do
  [ -n "$line" ] || continue
  name=${line%% | *}; rest=${line#* | }
  file=${rest%% | *}; rest=${rest#* | }
  from=${rest%% | *}; rest=${rest#* | }
  to=${rest%% | *}; spec=${rest#* | }
  if [ ${#want[@]} -gt 0 ]; then
    hit=0; for w in "${want[@]}"; do [[ "$name" == *"$w"* ]] && hit=1; done
    [ $hit = 1 ] || continue
  fi
  total=$((total + 1))
  f="$work/$file"
  cp "$f" "$work/orig"
  n=$(FROM="$from" TO="$to" perl -0777 -i -pe 'BEGIN{$n=0} $n = s/\Q$ENV{FROM}\E/$ENV{TO}/g; END{print STDERR $n}' "$f" 2>&1 >/dev/null)
  if [ "$n" != 1 ]; then
    cp "$work/orig" "$f"
    stale=$((stale + 1)); printf 'STALE    %-28s %s (FROM matches %s times)\n' "$name" "$file" "$n"
    continue
  fi
  : >"$work/test.log"
  if ! nice -n 10 make -s -C "$work" -j2 all build/unit-tests >"$work/build.log" 2>&1; then
    verdict=KILLED; why="(does not build)"
  elif run_tests "$spec"; then
    verdict=SURVIVED; why=""
  else
    verdict=KILLED; why=""
  fi
  cp "$work/orig" "$f"
  if [ $verdict = KILLED ]; then killed=$((killed + 1)); else survived=$((survived + 1)); survivors+=("$name"); fi
  printf '%-8s %-28s %s  [%s] %s\n' "$verdict" "$name" "$file" "$spec" "$why"
done <<<"$MUTANTS"
echo "mutants: $killed of $total killed, $survived survived, $stale stale${survivors:+ (survivors: ${survivors[*]})}"
[ "$survived" = 0 ] && [ "$stale" = 0 ]
