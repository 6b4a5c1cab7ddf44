#!/bin/bash
# Makes torture.pcap.gz, the "TCP analysis torture" capture built by hand in
# ../torture_test.go (tortureCases), and records tshark's view of it,
# torture.pcap.tcp.tsv: the oracle of TestTortureAgreesWithTshark.
#
#   bash make-torture.sh          # rewrite the capture, then its view
#   bash make-torture.sh --view   # only the view (of the committed capture)
#
# Needs go and tshark (4.0: the view was made with 4.0.17). The tshark
# options are those of ../../testdata/pcaps/make-captures.sh (see
# ../../../shared/capture-lab.md, or README). The columns are the same
# TCP_FIELDS and one column per tcp.analysis flag (0 or 1), plus
# tcp.analysis.duplicate_ack_num (empty when not a duplicate ACK). Each
# flag column comes from its own display-filter pass (-Y tcp.analysis.X):
# tshark prints expert-info flags (FT_NONE) under -T fields in a way that
# is not promised across versions, a filter is.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export PATH="/usr/local/go/bin:$PATH"
if [ "${1:-}" != --view ]; then
	(cd "$here/.." && go test -count=1 -run '^TestMakeTorture$' -make-torture .)
fi
cd "$here"
opts=(-n -2 -d 'tcp.port==1-1023,rpc' -o tcp.reassemble_out_of_order:TRUE)
fields=(frame.number frame.time_epoch tcp.stream ip.src ipv6.src tcp.srcport
	ip.dst ipv6.dst tcp.dstport tcp.seq_raw tcp.ack_raw tcp.len tcp.flags
	tcp.window_size_value tcp.window_size tcp.window_size_scalefactor
	frame.len frame.cap_len tcp.analysis.duplicate_ack_num)
flags=(retransmission fast_retransmission spurious_retransmission out_of_order
	lost_segment ack_lost_segment duplicate_ack zero_window zero_window_probe
	zero_window_probe_ack keep_alive keep_alive_ack window_full window_update)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fa=()
for x in "${fields[@]}"; do fa+=(-e "$x"); done
tshark "${opts[@]}" -r torture.pcap.gz -Y tcp -T fields -E header=y -E separator=/t \
	-E occurrence=a -E aggregator=, "${fa[@]}" > "$work/base.tsv"
files=()
for x in "${flags[@]}"; do
	tshark "${opts[@]}" -r torture.pcap.gz -Y "tcp.analysis.$x" -T fields -e frame.number > "$work/$x"
	files+=("$work/$x")
done
# One 0/1 column per flag: frame listed by its filter pass or not.
awk -F'\t' -v OFS='\t' -v names="${flags[*]}" -v nfiles=${#flags[@]} '
	BEGIN { split(names, nm, " ") }
	FILENAME != ARGV[ARGC - 1] { for (i = 1; i <= nfiles; i++) if (FILENAME == ARGV[i]) set[i, $1] = 1; next }
	FNR == 1 { for (i = 1; i <= nfiles; i++) $0 = $0 OFS "tcp.analysis." nm[i]; print; next }
	{ for (i = 1; i <= nfiles; i++) $0 = $0 OFS (((i, $1) in set) ? 1 : 0); print }
' "${files[@]}" "$work/base.tsv" > torture.pcap.tcp.tsv
echo "wrote torture.pcap.tcp.tsv ($(($(wc -l < torture.pcap.tcp.tsv) - 1)) frames)" >&2
