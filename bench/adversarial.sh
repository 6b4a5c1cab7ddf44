#!/usr/bin/env bash
# Measures nfsstall on adversarial capture shapes (see internal/advcap):
# each is generated into a temporary directory and read once by the built
# binary; peak RSS and wall time come from /usr/bin/time.
#
#   bench/adversarial.sh [-b BINARY] [-k] [-o DIR] [SHAPE...]
#
# Shapes (all by default):
#   bigrec-pcap     one 100 MB record, pcap snaplen 0xffffffff (gzipped)
#   bigrec-pcapng   one 100 MB packet block, interface snaplen 0 (gzipped)
#   bigblock-pcapng one 100 MB custom block between two packets (gzipped)
#   ifaces-125k     125,000 pcapng interface blocks (gzipped)
#   ifaces-1m       1,000,000 pcapng interface blocks (gzipped)
#   interleaved-10k, -20k, -40k  interface and packet blocks interleaved, each packet a new interface
#   stats-64k       65,536 pcapng interfaces, then a statistics block for each
#   linktypes-64k   65,536 pcapng interfaces, each of a link type of its own, then a packet on each
#   rotated-400     400 rotated pcap files, 1,000 packets each, one after another
#   overlapped-400  400 pcap files, 1,000 packets each, all spanning the same second
#   rotated-400-gz, overlapped-400-gz  the same, each file gzipped
#
#   -b BINARY  measure BINARY instead of building ./cmd/nfsstall
#   -k         keep the temporary directory (its path is printed)
#   -o DIR     generate into DIR instead of a temporary directory, and keep it
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"

bin="" keep=0 dir=""
while getopts "b:ko:h" opt; do
  case $opt in
    b) bin=$OPTARG ;;
    k) keep=1 ;;
    o) dir=$OPTARG keep=1 ;;
    *) sed -n '2,23p' "$0"; exit 2 ;;
  esac
done
shift $((OPTIND - 1))

if [ ! -x /usr/bin/time ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing /usr/bin/time (Debian package time) to measure peak RSS" >&2
    apt-get install -y -qq time >/dev/null || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
  else
    echo "bench/adversarial.sh needs /usr/bin/time (Debian package time) to measure peak RSS" >&2
    exit 2
  fi
fi

if [ -z "$dir" ]; then
  dir=$(mktemp -d "${TMPDIR:-/tmp}/nfsstall-adv.XXXXXX")
  [ "$keep" = 1 ] || trap 'rm -rf "$dir"' EXIT
fi
mkdir -p "$dir"
echo "generating into $dir" >&2
if [ -z "$bin" ]; then
  go build -o "$dir/nfsstall" ./cmd/nfsstall
  bin=$dir/nfsstall
fi
go build -o "$dir/advgen" ./bench/advgen

shapes=("$@")
[ ${#shapes[@]} -gt 0 ] || shapes=(bigrec-pcap bigrec-pcapng bigblock-pcapng ifaces-125k ifaces-1m interleaved-10k interleaved-20k interleaved-40k stats-64k linktypes-64k rotated-400 overlapped-400 rotated-400-gz overlapped-400-gz)

gen() { # shape -> the input paths, one a line
  local s=$1 g=$dir/advgen
  case $s in
    bigrec-pcap) "$g" bigpcap 100000000 "$dir/$s.pcap.gz" >/dev/null; echo "$dir/$s.pcap.gz" ;;
    bigrec-pcapng) "$g" bigpcapng 100000000 "$dir/$s.pcapng.gz" >/dev/null; echo "$dir/$s.pcapng.gz" ;;
    bigblock-pcapng) "$g" bigblock 100000000 "$dir/$s.pcapng.gz" >/dev/null; echo "$dir/$s.pcapng.gz" ;;
    ifaces-125k) "$g" ifaces 125000 "$dir/$s.pcapng.gz"; echo "$dir/$s.pcapng.gz" ;;
    ifaces-1m) "$g" ifaces 1000000 "$dir/$s.pcapng.gz"; echo "$dir/$s.pcapng.gz" ;;
    interleaved-*) local n=${s#interleaved-}; n=${n%k}000
      "$g" interleaved "$n" "$dir/$s.pcapng.gz"; echo "$dir/$s.pcapng.gz" ;;
    stats-64k) "$g" stats 65536 "$dir/$s.pcapng.gz"; echo "$dir/$s.pcapng.gz" ;;
    linktypes-64k) "$g" linktypes 65536 "$dir/$s.pcapng.gz"; echo "$dir/$s.pcapng.gz" ;;
    rotated-400) mkdir -p "$dir/$s"; "$g" rotated 400 1000 "$dir/$s" ;;
    overlapped-400) mkdir -p "$dir/$s"; "$g" overlapped 400 1000 "$dir/$s" ;;
    rotated-400-gz) mkdir -p "$dir/$s"; "$g" rotatedgz 400 1000 "$dir/$s" ;;
    overlapped-400-gz) mkdir -p "$dir/$s"; "$g" overlappedgz 400 1000 "$dir/$s" ;;
    *) echo "unknown shape $s" >&2; return 1 ;;
  esac
}

printf '%-16s %10s %12s %9s %s\n' shape "on disk" "peak RSS" time exit
for s in "${shapes[@]}"; do
  mapfile -t files < <(gen "$s")
  size=$(du -cb "${files[@]}" | tail -1 | cut -f1)
  set +e
  /usr/bin/time -f '%M %e' -o "$dir/time" "$bin" --format json "${files[@]}" >"$dir/out.json" 2>"$dir/stderr"
  rc=$?
  set -e
  read -r rss secs <"$dir/time"
  printf '%-16s %10s %9d MB %8ss %s\n' "$s" "$size" $((rss / 1024)) "$secs" "$rc"
  rm -rf "${files[@]}" "$dir/$s"
done
