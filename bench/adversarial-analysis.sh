#!/usr/bin/env bash
# Peak RSS of nfsstall on adversarial captures for the analysis' bounds.
#
#   bench/adversarial-analysis.sh [-q] [-k] [-o DIR] [-m MEMORY] [-b BINARY] [SHAPE...]
#
# Builds nfsstall and bench/advconngen, writes each shape of internal/advconn
# (all by default) into a temporary directory, runs `nfsstall --format
# json` on it under /usr/bin/time and prints, per shape, the file's size,
# the peak RSS, the wall time, the connections counted and listed, and the
# bounds reported in `skipped`:
#   short        100,000 connections: handshake, READ, reply, RST
#   synrst       250,000 SYN+RST connections, each from its own address
#   neverclosed  200,000 never-closed connections, one unanswered call each, 10 ms apart
#   unacked      1,000 connections x 4,096 unACKed 1-byte segments each way
#   ooochurn     8 connections, out-of-order 60 KB / 100 B segments churned behind holes
#   combined     10,000 connections + 65,536 calls + full reassembly queues + 8 MiB of IP fragments
#
#   -q         quick: every shape 10 times smaller (a smoke test, not a measurement)
#   -k         keep the temporary directory (its path is printed)
#   -o DIR     generate into DIR (kept; shapes already there are reused)
#   -m MEMORY  pass --memory MEMORY (default: nfsstall's, 64MB)
#   -b BINARY  measure BINARY instead of a fresh build (e.g. an older nfsstall)
# The budget to compare with is --memory: the peak RSS should stay under it.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"

quick=0 keep=0 dir="" mem="" bin=""
while getopts "qko:m:b:h" opt; do
  case $opt in
    q) quick=1 ;;
    k) keep=1 ;;
    o) dir=$OPTARG keep=1 ;;
    m) mem=$OPTARG ;;
    b) bin=$OPTARG ;;
    *) sed -n '2,24p' "$0"; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
shapes=("$@")
[ ${#shapes[@]} -gt 0 ] || shapes=(short synrst neverclosed unacked ooochurn combined)

if [ ! -x /usr/bin/time ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing /usr/bin/time (Debian package time) to measure peak RSS" >&2
    apt-get install -y -qq time >/dev/null || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
  else
    echo "needs /usr/bin/time (Debian package time) to measure peak RSS" >&2
    exit 2
  fi
fi
if [ -z "$dir" ]; then
  dir=$(mktemp -d "${TMPDIR:-/tmp}/nfsstall-adv.XXXXXX")
  [ "$keep" = 1 ] || trap 'rm -rf "$dir"' EXIT
fi
mkdir -p "$dir"
echo "building into $dir" >&2
go build -o "$dir/advconngen" ./bench/advconngen
if [ -z "$bin" ]; then
  go build -o "$dir/nfsstall" ./cmd/nfsstall
  bin="$dir/nfsstall"
fi

declare -A scale=([short]=100000 [synrst]=250000 [neverclosed]=200000 [unacked]=1000 [ooochurn]=20 [combined]=10000)
flags=(--format json)
[ -z "$mem" ] || flags+=(--memory "$mem")

printf '%-12s %10s %10s %8s %12s %10s  %s\n' shape "file MB" "peak RSS" "time s" connections listed "skipped (what: count)"
for s in "${shapes[@]}"; do
  n=${scale[$s]:?unknown shape $s}
  [ "$quick" = 0 ] || n=$(( n > 100 ? n / 10 : n ))
  f="$dir/$s-$n.pcap"
  [ -s "$f" ] || "$dir/advconngen" "$s" "$n" > "$f"
  set +e
  /usr/bin/time -f '%M %e' -o "$dir/time" "$bin" "${flags[@]}" "$f" > "$dir/out.json" 2> "$dir/err"
  code=$?
  set -e
  if [ "$code" -gt 1 ]; then
    echo "$s: nfsstall exited $code: $(head -c 300 "$dir/err")" >&2
    continue
  fi
  read -r rss secs < <(tail -1 "$dir/time")
  summary=$(python3 - "$dir/out.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
sk = "; ".join(f"{k['what']}: {k['count']}" for k in r.get("skipped", []))
print(r["summary"]["connections"], len(r["connections"]), sk, sep="\t")
PY
)
  IFS=$'\t' read -r conns listed sk <<< "$summary"
  printf '%-12s %10.1f %7.1f MB %8s %12s %10s  %s\n' "$s" "$(echo "$(stat -c %s "$f") / 1048576" | bc -l)" \
    "$(echo "$rss / 1024" | bc -l)" "$secs" "$conns" "$listed" "$sk"
done
