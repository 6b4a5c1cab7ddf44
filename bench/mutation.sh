#!/usr/bin/env bash
# Mutation testing of the analysis packages with gremlins: each mutant is
# one small deliberate bug (a flipped comparison, + for -, a negated
# condition) in a line the package's own tests cover; a mutant that passes
# every test of its package "lived", and shows where the tests are blind.
#
#   bench/mutation.sh [-w WORKERS] [-c COEFFICIENT] [-s] [-n SAMPLE] [-o DIR] [PACKAGE...]
#
# PACKAGE is a directory of the module (default: decode tcpflow analyze),
# or DIR:FILE.go to mutate one file of it (e.g. tcpflow:analysis.go: the
# whole of tcpflow or analyze takes hours on two cores). For each one it
# runs `gremlins unleash` from inside it, so only that package's tests run
# against its mutants, and prints the score (killed /
# (killed + lived + timed out), and gremlins' own "test efficacy", which
# leaves timeouts out) and every surviving mutant with its source line.
#
#   -w WORKERS      mutants tested at once (default 1: this is slow, and each
#                   test run is timed; a loaded machine turns slow runs into
#                   false timeouts)
#   -c COEFFICIENT  a mutant's test run may take COEFFICIENT times as long as
#                   the unmutated run before it counts as timed out (default 30: the
#                   unmutated run is timed with its build cached, a mutant's
#                   includes rebuilding the package)
#   -s              run the tests with -short: the slowest tests sample less
#                   (analyze's capture-loss sweep removes a tenth of the
#                   frames, and skips the public captures under ../shared);
#                   a mutant that only those would kill is reported as lived
#   -n SAMPLE       test SAMPLE mutants drawn at random (fixed seed: the same
#                   draw every run of the same code) from the package's
#                   mutants instead of all of them, and print the score with
#                   its 95% confidence interval (Wilson): gremlins lists the
#                   mutants (--dry-run), bench/mutant applies each one in a
#                   copy of the module, go test judges it as gremlins would
#                   (exit 1 killed, 0 lived, past COEFFICIENT times the
#                   unmutated run timed out). For a package whose full run
#                   takes hours (analyze: ~1,100 mutants, ~20 s each)
#   -o DIR          keep gremlins' JSON results in DIR (default: a temporary
#                   directory, removed at the end)
#
# Not run by CI and not part of `go test ./...`: decode takes minutes,
# tcpflow and analyze take hours (every mutant rebuilds and reruns the
# package's tests). Installs gremlins from the Go module proxy if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$HOME/go/bin:$PATH"
# gremlins times each mutant's test run against its first, coverage run;
# a cached test result would make that time near zero and every mutant a
# "timeout".
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-count=1"

gremlins_version=v0.6.0
workers=1 coeff=30 out="" short=0 sample=0
while getopts "w:c:sn:o:h" opt; do
  case $opt in
    n) sample=$OPTARG ;;
    w) workers=$OPTARG ;;
    c) coeff=$OPTARG ;;
    o) out=$OPTARG ;;
    s) short=1 ;;
    *) sed -n '2,43p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
pkgs=("$@")
[ "$short" = 0 ] || GOFLAGS="$GOFLAGS -short"
[ ${#pkgs[@]} -gt 0 ] || pkgs=(decode tcpflow analyze)

if ! command -v gremlins >/dev/null; then
  echo "installing gremlins $gremlins_version" >&2
  go install "github.com/go-gremlins/gremlins/cmd/gremlins@$gremlins_version"
fi

if [ -z "$out" ]; then
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
fi
mkdir -p "$out"
root=$(pwd)

# gremlins tests each mutant in a copy of the module in a temporary
# directory, without ../shared beside it: a test that fails there fails
# for every mutant, and gremlins counts them all killed (an earlier
# analyze score was that). So first run each package's tests in such a
# copy, unmutated, and stop if they fail.
precheck_top=$(mktemp -d)
precheck=$precheck_top/module # ../shared is then not there, as in gremlins' copy
mkdir "$precheck"
git ls-files -z | (cd "$root" && tar --null -T - -cf -) | tar -xf - -C "$precheck"
for arg in "${pkgs[@]}"; do
  pkg=${arg%%:*}
  if ! (cd "$precheck" && go test "./${pkg%/}" >"$out/precheck.log" 2>&1); then
    echo "the tests of $pkg fail in a copy of the module outside the repository (as gremlins runs them):" >&2
    tail -20 "$out/precheck.log" >&2
    rm -rf "$precheck_top"
    exit 1
  fi
done
rm -rf "$precheck_top"

# sample_mutants PKG ARG NAME [EXCLUDES...]: the -n mode (see above).
sample_mutants() {
  local pkg=$1 arg=$2 name=$3
  shift 3
  local top mod dry base t0 t1 limit killed=0 lived=0 timedout=0 notviable=0 n=0
  top=$(mktemp -d)
  mod=$top/module # no ../shared beside it, as in gremlins' copy
  mkdir "$mod"
  git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$mod"
  cp -r "$mod/$pkg" "$top/orig" # what each mutant is undone from (the tree may change meanwhile)
  go build -o "$top/mutant" ./bench/mutant
  dry="$out/$name.dry"
  (cd "$pkg" && gremlins unleash --dry-run "$@") >"$dry" 2>&1
  t0=$(date +%s%N)
  (cd "$mod" && go test "./$pkg" >/dev/null 2>&1) || { echo "$arg: tests fail unmutated" >&2; exit 1; }
  t1=$(date +%s%N)
  base=$(( (t1 - t0) / 1000000000 + 1 ))
  limit=$(( base * coeff ))
  echo "== $arg: $sample of $(grep -c ' RUNNABLE ' "$dry") mutants drawn (seed 1), unmutated tests ${base}s, timeout ${limit}s" >&2
  grep ' RUNNABLE ' "$dry" | awk '{print $2, $4}' |
    shuf -n "$sample" --random-source=<(yes nfsstall) | sort -t: -k1,1 -k2,2n >"$top/drawn"
  while read -r kind pos; do
    local file=${pos%%:*} rest=${pos#*:} ln col line rc
    ln=${rest%%:*} col=${rest#*:}
    line=$("$top/mutant" "$mod/$pkg/$file" "$ln" "$col" "$kind") || { echo "  cannot apply $kind at $pos" >&2; continue; }
    rc=0
    (cd "$mod" && timeout "$limit" go test -failfast "./$pkg" >"$top/test.log" 2>&1) || rc=$?
    cp "$top/orig/$file" "$mod/$pkg/$file"
    n=$((n + 1))
    if grep -q '\[build failed\]\|\[setup failed\]' "$top/test.log"; then
      notviable=$((notviable + 1)); status="NOT VIABLE"
    elif [ "$rc" = 0 ]; then
      lived=$((lived + 1)); status=LIVED
    elif [ "$rc" = 124 ]; then
      timedout=$((timedout + 1)); status="TIMED OUT"
    else
      killed=$((killed + 1)); status=KILLED
    fi
    printf '  %-10s %-22s %s/%s  %s\n' "$status" "$kind" "$pkg" "$pos" "$line" | tee -a "$out/$name.log" >&2
  done <"$top/drawn"
  rm -rf "$top"
  awk -v a="$arg" -v k="$killed" -v t="$timedout" -v l="$lived" -v nv="$notviable" -v all="$(grep -c ' RUNNABLE ' "$dry")" 'BEGIN {
    n = k + t + l; if (n == 0) { printf "%s: no mutant tested\n", a; exit }
    p = (k + t) / n; z = 1.96
    c = (p + z*z/(2*n)) / (1 + z*z/n); h = z * sqrt(p*(1-p)/n + z*z/(4*n*n)) / (1 + z*z/n)
    printf "%s: sampled score %.1f%% (%d of %d killed, %d by timeout; 95%% CI %.1f%%-%.1f%%), %d lived, %d not viable; %d mutants in all\n",
      a, 100*p, k+t, n, t, 100*(c-h), 100*(c+h), l, nv, all }'
}

summary=()
for arg in "${pkgs[@]}"; do
  pkg=${arg%%:*} only=""
  [ "$pkg" = "$arg" ] || only=${arg#*:}
  pkg=${pkg%/}
  [ -d "$pkg" ] || { echo "no package directory $pkg" >&2; exit 2; }
  [ -z "$only" ] || [ -f "$pkg/$only" ] || { echo "no file $pkg/$only" >&2; exit 2; }
  # One file: exclude every other source file of the package.
  excludes=()
  if [ -n "$only" ]; then
    for f in "$pkg"/*.go; do
      f=${f##*/}
      case $f in *_test.go|"$only") continue ;; esac
      excludes+=(--exclude-files "^${f//./\\.}\$")
    done
  fi
  name=$(echo "$arg" | tr /: __)
  log="$out/$name.log"
  if [ "$sample" -gt 0 ]; then
    summary+=("$(sample_mutants "$pkg" "$arg" "$name" ${excludes[@]+"${excludes[@]}"})")
    continue
  fi
  echo "== $arg: gremlins unleash --workers $workers --timeout-coefficient $coeff" >&2
  start=$(date +%s)
  # gremlins exits non-zero only for a failed threshold (none set here) or
  # a failure to run: then stop, rather than print a score of nothing.
  (cd "$pkg" && gremlins unleash --workers "$workers" --timeout-coefficient "$coeff" \
    ${excludes[@]+"${excludes[@]}"} --output "$out/$name.json") >"$log" 2>&1 || {
    echo "gremlins failed on $arg:" >&2; tail -20 "$log" >&2; exit 1; }
  secs=$(( $(date +%s) - start ))
  killed=$(grep -c '^ *KILLED ' "$log" || true)
  lived=$(grep -c '^ *LIVED ' "$log" || true)
  timedout=$(grep -c '^ *TIMED OUT ' "$log" || true)
  notcov=$(sed -n 's/.*Not covered: \([0-9]*\).*/\1/p' "$log" | tail -1)
  notviable=$(sed -n 's/.*Not viable: \([0-9]*\).*/\1/p' "$log" | tail -1)
  efficacy=$(sed -n 's/.*Test efficacy: \([0-9.]*%\).*/\1/p' "$log" | tail -1)
  tested=$((killed + lived + timedout))
  score=$(awk -v k="$killed" -v t="$timedout" -v n="$tested" 'BEGIN { if (n) printf "%.1f%%", 100 * (k + t) / n; else print "n/a" }')
  line="$arg: score $score ($((killed + timedout)) of $tested killed, $timedout of them by timeout; gremlins efficacy $efficacy); $lived lived, ${notcov:-?} not covered, ${notviable:-?} not viable; ${secs}s"
  summary+=("$line")
  echo "$line"
  if [ "$timedout" -gt 0 ]; then
    echo "  ($timedout timed out: a mutant that loops forever, or a machine too busy for the timeout; -c raises it)"
  fi
  # Surviving mutants, with the line they mutate.
  { grep '^ *LIVED ' "$log" || true; } | sed 's/^ *LIVED *//' | while read -r kind _at pos; do
    file=${pos%%:*} rest=${pos#*:} ln=${rest%%:*}
    printf '  LIVED %-22s %s/%s  %s\n' "$kind" "$pkg" "$pos" "$(sed -n "${ln}p" "$root/$pkg/$file" | sed 's/^[[:space:]]*//')"
  done
done

echo
echo "Mutation scores (gremlins $gremlins_version, $(date -u +%Y-%m-%d)):"
printf '  %s\n' "${summary[@]}"
