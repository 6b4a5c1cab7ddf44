#!/usr/bin/env bash
# Benchmarks nfsstall end to end against tshark on generated NFSv3 captures.
#
#   bench/run.sh [-n RUNS] [-t TSHARK_RUNS] [-q] [-k] [-o DIR]
#
# Builds nfsstall and nfsgen, generates four captures in a temporary
# directory (never in the repository):
#   big         512 MiB: 16 connections, 64 KiB and 1 MiB READs
#   midstream   256 MiB, joined mid-stream (no handshakes), sequence numbers near 2^32
#   conns       256 MiB over 10,000 connections (8 KiB READs)
#   unanswered  1,000,000 READ calls that are never answered
# warms the page cache, then runs `nfsstall --format json` RUNS times (default
# 3) and `tshark -n -q -z rpc,srt,100003,3` TSHARK_RUNS times (default 1; 0 to
# skip; skipped when tshark is not installed), and prints the median MB/s and
# packets/s and the peak RSS (from /usr/bin/time) side by side.
#
#   -q      quick: the same shapes, 16 times smaller (a smoke test, not a measurement)
#   -k      keep the temporary directory (its path is printed)
#   -o DIR  generate into DIR instead of a temporary directory, and keep it
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"

runs=3 truns=1 keep=0 dir="" quick=0
while getopts "n:t:qko:h" opt; do
  case $opt in
    n) runs=$OPTARG ;;
    t) truns=$OPTARG ;;
    q) quick=1 ;;
    k) keep=1 ;;
    o) dir=$OPTARG keep=1 ;;
    *) sed -n '2,21p' "$0"; exit 2 ;;
  esac
done

if [ ! -x /usr/bin/time ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing /usr/bin/time (Debian package time) to measure peak RSS" >&2
    apt-get install -y -qq time >/dev/null || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
  else
    echo "bench/run.sh needs /usr/bin/time (Debian package time) to measure peak RSS" >&2
    exit 2
  fi
fi
tshark=$(command -v tshark || true)
[ -n "$tshark" ] || { echo "tshark not installed: measuring nfsstall only" >&2; truns=0; }

if [ -z "$dir" ]; then
  dir=$(mktemp -d "${TMPDIR:-/tmp}/nfsstall-bench.XXXXXX")
  [ "$keep" = 1 ] || trap 'rm -rf "$dir"' EXIT
fi
mkdir -p "$dir"
echo "building into $dir" >&2
go build -o "$dir/nfsstall" ./cmd/nfsstall
go build -o "$dir/nfsgen" ./cmd/nfsgen

inputs=(big midstream conns unanswered)
declare -A genargs=(
  [big]="--size 512M --conns 16"
  [midstream]="--size 256M --conns 16 --no-handshake --seq-wrap"
  [conns]="--size 256M --conns 10000 --active 64 --small 8K --big-rate 0"
  [unanswered]="--size 0 --conns 16 --unanswered 1000000"
)
if [ "$quick" = 1 ]; then
  genargs=(
    [big]="--size 32M --conns 16"
    [midstream]="--size 16M --conns 16 --no-handshake --seq-wrap"
    [conns]="--size 16M --conns 625 --active 64 --small 8K --big-rate 0"
    [unanswered]="--size 0 --conns 16 --unanswered 62500"
  )
fi
declare -A packets bytes
for in in "${inputs[@]}"; do
  # shellcheck disable=SC2086
  line=$("$dir/nfsgen" ${genargs[$in]} "$dir/$in.pcap" 2>&1)
  echo "$in: $line" >&2
  bytes[$in]=$(stat -c %s "$dir/$in.pcap")
  packets[$in]=$(sed -n 's/.* bytes, \([0-9]*\) packets.*/\1/p' <<<"$line")
done

# measure RUNS CMD...: runs CMD (its last argument is the capture; stdout
# discarded) RUNS times; sets secs to the median elapsed seconds and rss to
# the largest peak RSS in KiB. The time is taken around /usr/bin/time in
# nanoseconds (its own %e has 10 ms steps, a sixth of a run here).
measure() {
  local n=$1; shift
  local times=() i t m code
  rss=0
  for ((i = 0; i < n; i++)); do
    cat "${@: -1}" >/dev/null # the page cache stays warm
    code=0
    local t0 t1
    t0=$(date +%s%N)
    /usr/bin/time -f "%M" -o "$dir/time.txt" "$@" >/dev/null 2>"$dir/stderr.txt" || code=$?
    t1=$(date +%s%N)
    if [ "$code" -ge 2 ]; then # nfsstall exits 1 when it finds a stall
      echo "$* failed ($code):" >&2; cat "$dir/stderr.txt" >&2; exit 1
    fi
    m=$(tail -n 1 "$dir/time.txt") # after "Command exited with non-zero status 1", if any
    t=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", (b - a) / 1e9 }')
    times+=("$t")
    if ((m > rss)); then rss=$m; fi
  done
  secs=$(printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
}

row() { # input seconds rss_kib
  awk -v b="${bytes[$1]}" -v p="${packets[$1]}" -v t="$2" -v m="$3" \
    'BEGIN { if (t < 0.005) t = 0.005; printf "%9.0f MB/s %10.0f pkt/s %7.1f MB", b/t/1e6, p/t, m/1024 }'
}

printf '\n%-11s %9s %9s  | %-45s | %-45s | %s\n' input size packets "nfsstall --format json (median of $runs)" \
  "tshark -z rpc,srt (median of $truns)" speedup
for in in "${inputs[@]}"; do
  measure "$runs" "$dir/nfsstall" --format json "$dir/$in.pcap"
  nt=$secs
  ours=$(row "$in" "$secs" "$rss")
  theirs="-" speed="-"
  if [ "$truns" -gt 0 ]; then
    measure "$truns" "$tshark" -n -q -z rpc,srt,100003,3 -r "$dir/$in.pcap"
    tt=$secs
    theirs=$(row "$in" "$secs" "$rss")
    speed=$(awk -v a="$tt" -v b="$nt" 'BEGIN { if (b < 0.005) b = 0.005; printf "%.0fx", a/b }')
  fi
  printf '%-11s %6.0f MB %9s  | %-45s | %-45s | %s\n' "$in" "$(awk -v b="${bytes[$in]}" 'BEGIN{print b/1e6}')" \
    "${packets[$in]}" "$ours" "$theirs" "$speed"
done
[ "$keep" = 1 ] && echo "inputs kept in $dir" >&2
exit 0
