package analyze_test

import (
	"bytes"
	"encoding/binary"
	"flag"
	"os"
	"testing"

	"github.com/nfsstall/nfsstall/internal/handcap"
)

// No lab capture has an RPC call re-sent on the same TCP connection
// (libnfs re-sends only after reconnecting), and that is where tshark's
// rpc.time and nfsstall's "from the first transmission" must agree:
// tshark keeps the first call of an XID on a connection and marks the
// later one rpc.dup. testdata/rpc-resent.pcap is built by hand
// (go test ./analyze -run TestMakeResent -make-resent) and its oracle is
// tshark's view of it (bash testdata/pcaps/make-captures.sh --views
// ../../analyze/testdata/rpc-resent.pcap).
var makeResent = flag.Bool("make-resent", false, "rewrite testdata/rpc-resent.pcap")

const resentFile = "testdata/rpc-resent.pcap"

// nfsNullCall is an NFSv3 NULL call (AUTH_NONE) with its record mark.
func nfsNullCall(xid uint32) []byte {
	return rpcRecord(xid, 0, 2, 100003, 3, 0, 0, 0, 0, 0)
}

// nfsNullReply is an accepted, successful reply.
func nfsNullReply(xid uint32) []byte {
	return rpcRecord(xid, 1, 0, 0, 0, 0)
}

func rpcRecord(words ...uint32) []byte {
	b := make([]byte, 4+4*len(words))
	binary.BigEndian.PutUint32(b, 0x80000000|uint32(4*len(words)))
	for i, w := range words {
		binary.BigEndian.PutUint32(b[4+4*i:], w)
	}
	return b
}

// resentSegs: three NFSv3 NULL calls on one connection; the second is sent
// again after 1 s on the same connection and answered 1 s after that:
// 2 s from its first transmission, 1 s from its last.
func resentSegs() []handcap.Seg {
	const a, b, c = 0x5e000001, 0x5e000002, 0x5e000003
	cs, ss := uint32(1001), uint32(5001) // next client, server sequence numbers
	var segs []handcap.Seg
	add := func(ms int64, toServer bool, flags byte, p []byte) {
		s := handcap.Seg{MS: ms, Port: 700, ToServer: toServer, Flags: flags, Win: 65535, Payload: p}
		if toServer {
			s.Seq, s.Ack = cs, ss
			cs += uint32(len(p))
		} else {
			s.Seq, s.Ack = ss, cs
			ss += uint32(len(p))
		}
		if p == nil {
			s.Payload = []byte{}
		}
		segs = append(segs, s)
	}
	segs = append(segs,
		handcap.Seg{MS: 0, Port: 700, ToServer: true, Flags: handcap.SYN, Seq: 1000, Win: 65535, Payload: []byte{}},
		handcap.Seg{MS: 1, Port: 700, Flags: handcap.SYN | handcap.ACK, Seq: 5000, Ack: 1001, Win: 65535, Payload: []byte{}})
	add(2, true, handcap.ACK, nil)
	add(3, true, handcap.PSH|handcap.ACK, nfsNullCall(a))
	add(8, false, handcap.PSH|handcap.ACK, nfsNullReply(a))
	add(10, true, handcap.PSH|handcap.ACK, nfsNullCall(b))
	add(11, false, handcap.ACK, nil)
	add(1010, true, handcap.PSH|handcap.ACK, nfsNullCall(b)) // the same XID again
	add(1011, false, handcap.ACK, nil)
	add(2010, false, handcap.PSH|handcap.ACK, nfsNullReply(b))
	add(2100, true, handcap.PSH|handcap.ACK, nfsNullCall(c))
	add(2102, false, handcap.PSH|handcap.ACK, nfsNullReply(c))
	add(2103, true, handcap.ACK, nil)
	return segs
}

// TestMakeResent writes testdata/rpc-resent.pcap with -make-resent;
// without it, it checks the committed file is what resentSegs describes.
func TestMakeResent(t *testing.T) {
	b := handcap.Pcap(resentSegs())
	if *makeResent {
		if err := os.WriteFile(resentFile, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	old, err := os.ReadFile(resentFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(old, b) {
		t.Errorf("%s differs from resentSegs: run go test ./analyze -run TestMakeResent -make-resent and remake its tshark views", resentFile)
	}
}
