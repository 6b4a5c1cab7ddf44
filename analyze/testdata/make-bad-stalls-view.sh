#!/usr/bin/env bash
# make-bad-stalls-view.sh: tshark's view of Wireshark's public sample
# capture nfs_bad_stalls.cap (../../../shared/pcaps-public, see SOURCES.md
# there), the oracle of TestDelayedACKAgreesWithTshark: one row per TCP
# segment to or from port 2049 with the header fields the pauses are
# computed from. Run from anywhere, with tshark 4.0:
#   bash analyze/testdata/make-bad-stalls-view.sh
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cap=$here/../../../shared/pcaps-public/sample-captures--nfs_bad_stalls.cap
[[ -e $cap ]] || { echo "no $cap" >&2; exit 1; }
tshark -n -r "$cap" -Y 'tcp.port == 2049' -T fields -E header=y -E separator=/t \
    -E occurrence=a -E aggregator=, \
    -e frame.number -e frame.time_epoch -e tcp.srcport -e tcp.dstport -e tcp.seq_raw \
    -e tcp.ack_raw -e tcp.len -e tcp.flags -e tcp.window_size_value \
    -e tcp.analysis.retransmission -e rpc.msgtyp 2>/dev/null \
  | awk -F'\t' -v OFS='\t' 'NR > 1 { $10 = ($10 == "" ? 0 : 1) } 1' \
  | gzip -9n > "$here/nfs_bad_stalls.tcp.tsv.gz"
