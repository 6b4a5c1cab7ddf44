#!/bin/bash
# Makes rpcbind-udp-fragments.pcap.gz: RPC over UDP whose datagrams the
# kernel cuts into IP fragments, IPv4 and IPv6, and tshark's view of it.
#
# Run as root (it needs rpcbind, tcpdump, python3, tshark). It runs in a
# network namespace of its own whose loopback has an MTU of 1500, so every
# datagram larger than that is fragmented, with a private /run for
# rpcbind; nothing outside is touched. rpcbind is given 350 registrations
# first (not captured), so that its DUMP reply is ~7 KB; then, on
# 127.0.0.1 and on ::1, port 700 to 111:
#   a NULL call padded to 9 KB (a fragmented call, a small reply),
#   a DUMP call (a small call, a fragmented reply),
#   a DUMP call padded to 2 KB (both fragmented).
# libnfs, which the captures in testdata/pcaps are made with, has no UDP.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ "${1:-}" != inside ]; then
	exec unshare -n -m --propagation private "$0" inside
fi
work=$(mktemp -d)
mount -t tmpfs none /run
ip link set lo up
ip link set lo mtu 1500
rpcbind -f -w &
rb=$!
sleep 1
python3 - <<'PY'
import socket, struct
def words(*ws): return b''.join(struct.pack('>I', w) for w in ws)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('127.0.0.1', 700))
s.settimeout(2)
for i in range(350):  # PMAPPROC_SET, version 2
    s.sendto(words(0x1000 + i, 0, 2, 100000, 2, 1, 0, 0, 0, 0, 0x40000000 + i, 1, 17, 10000 + i), ('127.0.0.1', 111))
    s.recvfrom(100)
PY
tcpdump -i lo -s 0 -w "$work/c.pcap" 'udp port 111 or (ip[6:2] & 0x1fff != 0) or (ip6 and ip6[6] == 44)' &
td=$!
sleep 1
python3 - <<'PY'
import socket, struct
def words(*ws): return b''.join(struct.pack('>I', w) for w in ws)
def call(xid, proc, pad):
    return words(xid, 0, 2, 100000, 2, proc, 0, 0, 0, 0) + bytes(pad)
for fam, host, base in ((socket.AF_INET, '127.0.0.1', 0x2000), (socket.AF_INET6, '::1', 0x3000)):
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((host, 700))
    s.settimeout(2)
    for xid, proc, pad in ((base + 1, 0, 9000), (base + 2, 4, 0), (base + 3, 4, 2000)):
        s.sendto(call(xid, proc, pad), (host, 111))
        s.recvfrom(65536)
    s.close()
PY
sleep 1
kill $td
wait $td || true
kill $rb
wait $rb || true
gzip -9 -n -c "$work/c.pcap" >"$here/rpcbind-udp-fragments.pcap.gz"
# tshark reassembles IP fragments by default: frame, xid, message type and
# rpc.time of every RPC message, at the frame it shows it in.
tshark -n -r "$work/c.pcap" -Y rpc -T fields -e frame.number -e rpc.xid -e rpc.msgtyp -e rpc.time \
	>"$here/rpcbind-udp-fragments.tshark"
rm -r "$work"
