package tcpflow

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/nfsstall/nfsstall/internal/handcap"
)

// Real Linux captures never show some of the flags nfsstall sets: Linux
// probes a zero window with a keep-alive-shaped segment (seq = snd_una - 1,
// no data), which tshark counts as keep_alive, so its ACK is neither a
// zero_window_probe_ack nor (the window being 0) a keep_alive_ack; libnfs
// sets no TCP keep-alive; and the lab loses no segment. testdata/probes.pcap
// is built by hand (go test ./tcpflow -run TestMakeProbes -make-probes)
// with a one-byte zero-window probe (as BSD and Windows send) and its ACK,
// a keep-alive and its ACK, a zero-window episode that ends and one that
// does not, and the flags of loss (lost segment, duplicate ACKs, fast and
// spurious retransmission, ACKed lost segment). Its oracle is tshark's
// view of it, written by
// `bash testdata/pcaps/make-captures.sh --views ../../tcpflow/testdata/probes.pcap`
// (probes.pcap.tcp.tsv), never this program's output.
var makeProbes = flag.Bool("make-probes", false, "rewrite testdata/probes.pcap")

const probesFile = "testdata/probes.pcap"

// probeSegs: client 198.18.0.1, server 198.18.0.2:2049, no window
// scaling; the server sends data the client stops reading. The one-byte
// probe comes last on its connection. Wireshark does not count a probe's
// byte as sent (its next segment may start at the same byte and is not a
// retransmission); nfsstall follows that rule too, tested by
// torture.pcap.gz ("zero-window probes repeated", torture_test.go).
var probeSegs = []handcap.Seg{
	// Connection 1: a duplicate ACK, a keep-alive and its ACK, then an
	// episode that ends, with a one-byte probe and its ACK.
	{MS: 0, Port: 700, ToServer: true, Flags: handcap.SYN, Seq: 1000, Ack: 0, Win: 65535, N: 0},
	{MS: 1, Port: 700, ToServer: false, Flags: handcap.SYN | handcap.ACK, Seq: 5000, Ack: 1001, Win: 65535, N: 0},
	{MS: 2, Port: 700, ToServer: true, Flags: handcap.ACK, Seq: 1001, Ack: 5001, Win: 65535, N: 0},
	{MS: 3, Port: 700, ToServer: true, Flags: handcap.PSH | handcap.ACK, Seq: 1001, Ack: 5001, Win: 65535, N: 100},
	{MS: 4, Port: 700, ToServer: false, Flags: handcap.PSH | handcap.ACK, Seq: 5001, Ack: 1101, Win: 65535, N: 1000},
	{MS: 5, Port: 700, ToServer: true, Flags: handcap.ACK, Seq: 1101, Ack: 6001, Win: 65535, N: 0},
	{MS: 6, Port: 700, ToServer: true, Flags: handcap.ACK, Seq: 1101, Ack: 6001, Win: 65535, N: 0},     // duplicate_ack
	{MS: 2006, Port: 700, ToServer: false, Flags: handcap.ACK, Seq: 6000, Ack: 1101, Win: 65535, N: 0}, // keep_alive
	{MS: 2007, Port: 700, ToServer: true, Flags: handcap.ACK, Seq: 1101, Ack: 6001, Win: 65535, N: 0},  // keep_alive_ack
	{MS: 2100, Port: 700, ToServer: false, Flags: handcap.PSH | handcap.ACK, Seq: 6001, Ack: 1101, Win: 65535, N: 1000},
	{MS: 2101, Port: 700, ToServer: true, Flags: handcap.ACK, Seq: 1101, Ack: 7001, Win: 0, N: 0},      // zero_window: episode 1 starts
	{MS: 2301, Port: 700, ToServer: false, Flags: handcap.ACK, Seq: 7001, Ack: 1101, Win: 65535, N: 1}, // zero_window_probe (one byte)
	{MS: 2302, Port: 700, ToServer: true, Flags: handcap.ACK, Seq: 1101, Ack: 7001, Win: 0, N: 0},      // zero_window_probe_ack
	{MS: 3302, Port: 700, ToServer: true, Flags: handcap.ACK, Seq: 1101, Ack: 7001, Win: 65535, N: 0},  // window_update: episode 1 ends
	// Connection 2: an episode that never ends, probed the Linux way.
	{MS: 3400, Port: 701, ToServer: true, Flags: handcap.SYN, Seq: 2000, Ack: 0, Win: 65535, N: 0},
	{MS: 3401, Port: 701, ToServer: false, Flags: handcap.SYN | handcap.ACK, Seq: 9000, Ack: 2001, Win: 65535, N: 0},
	{MS: 3402, Port: 701, ToServer: true, Flags: handcap.ACK, Seq: 2001, Ack: 9001, Win: 65535, N: 0},
	{MS: 3403, Port: 701, ToServer: true, Flags: handcap.PSH | handcap.ACK, Seq: 2001, Ack: 9001, Win: 65535, N: 100},
	{MS: 3404, Port: 701, ToServer: false, Flags: handcap.PSH | handcap.ACK, Seq: 9001, Ack: 2101, Win: 65535, N: 1000},
	{MS: 3405, Port: 701, ToServer: true, Flags: handcap.ACK, Seq: 2101, Ack: 10001, Win: 0, N: 0},      // zero_window: episode 2
	{MS: 3605, Port: 701, ToServer: false, Flags: handcap.ACK, Seq: 10000, Ack: 2101, Win: 65535, N: 0}, // keep_alive (the Linux probe)
	{MS: 3606, Port: 701, ToServer: true, Flags: handcap.ACK, Seq: 2101, Ack: 10001, Win: 0, N: 0},
	{MS: 4606, Port: 701, ToServer: false, Flags: handcap.ACK, Seq: 10000, Ack: 2101, Win: 65535, N: 0},
	{MS: 4607, Port: 701, ToServer: true, Flags: handcap.ACK, Seq: 2101, Ack: 10001, Win: 0, N: 0},
	// Connection 3: loss the lab never makes. A segment not captured (its
	// successor is a lost_segment), two duplicate ACKs and the fast
	// retransmission they ask for, a re-send of bytes already ACKed
	// (spurious), an ACK of bytes never seen (ack_lost_segment).
	{MS: 5000, Port: 702, ToServer: true, Flags: handcap.SYN, Seq: 3000, Ack: 0, Win: 65535, N: 0},
	{MS: 5001, Port: 702, ToServer: false, Flags: handcap.SYN | handcap.ACK, Seq: 20000, Ack: 3001, Win: 65535, N: 0},
	{MS: 5002, Port: 702, ToServer: true, Flags: handcap.ACK, Seq: 3001, Ack: 20001, Win: 65535, N: 0},
	{MS: 5003, Port: 702, ToServer: true, Flags: handcap.PSH | handcap.ACK, Seq: 3001, Ack: 20001, Win: 65535, N: 100},
	{MS: 5004, Port: 702, ToServer: false, Flags: handcap.ACK, Seq: 20001, Ack: 3101, Win: 65535, N: 1000},
	{MS: 5005, Port: 702, ToServer: false, Flags: handcap.ACK, Seq: 22001, Ack: 3101, Win: 65535, N: 1000}, // lost_segment
	{MS: 5006, Port: 702, ToServer: true, Flags: handcap.ACK, Seq: 3101, Ack: 21001, Win: 65535, N: 0},
	{MS: 5007, Port: 702, ToServer: true, Flags: handcap.ACK, Seq: 3101, Ack: 21001, Win: 65535, N: 0},     // duplicate_ack
	{MS: 5008, Port: 702, ToServer: true, Flags: handcap.ACK, Seq: 3101, Ack: 21001, Win: 65535, N: 0},     // duplicate_ack
	{MS: 5010, Port: 702, ToServer: false, Flags: handcap.ACK, Seq: 21001, Ack: 3101, Win: 65535, N: 1000}, // fast_retransmission
	{MS: 5011, Port: 702, ToServer: true, Flags: handcap.ACK, Seq: 3101, Ack: 23001, Win: 65535, N: 0},
	{MS: 5300, Port: 702, ToServer: false, Flags: handcap.ACK, Seq: 22001, Ack: 3101, Win: 65535, N: 1000}, // spurious_retransmission
	{MS: 5301, Port: 702, ToServer: true, Flags: handcap.ACK, Seq: 3101, Ack: 23001, Win: 65535, N: 0},
	{MS: 5400, Port: 702, ToServer: true, Flags: handcap.ACK, Seq: 3101, Ack: 25001, Win: 65535, N: 0}, // ack_lost_segment
}

// TestMakeProbes writes testdata/probes.pcap with -make-probes; without
// it, it checks the committed file is what probeSegs describe (so the
// committed tshark view belongs to it).
func TestMakeProbes(t *testing.T) {
	b := handcap.Pcap(probeSegs)
	if *makeProbes {
		if err := os.WriteFile(probesFile, b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s; now run: bash testdata/pcaps/make-captures.sh --views %s", probesFile, filepath.Join("..", "..", "tcpflow", probesFile))
		return
	}
	old, err := os.ReadFile(probesFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(old, b) {
		t.Errorf("%s differs from probeSegs: run go test ./tcpflow -run TestMakeProbes -make-probes and remake its tshark view", probesFile)
	}
}
