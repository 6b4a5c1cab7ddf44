package tcpflow

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/nfsstall/nfsstall/capture"
)

// The distances every sequence-space function is tested at (issue 8):
// 0, 1, 2^31-1, 2^31, 2^31+1, 2^32-1, plus both sides of seqFar. A
// distance d > 2^31 is the same pair as 2^32-d the other way round, so
// these also cover the negative distances -1, -(2^31-1) and -2^30.
var seqDistances = []uint32{0, 1, seqFar, seqFar + 1, 1<<31 - 1, 1 << 31, 1<<31 + 1, 1<<32 - seqFar - 1, 1<<32 - seqFar, 1<<32 - 1}

// seqBases are where the distances start: sequence space wraps, so the
// answers must not depend on it.
var seqBases = []uint32{0, 1, 1000, 1<<31 - 1, 1 << 31, 1<<32 - 1}

func TestSeqHelpers(t *testing.T) {
	for _, b := range seqBases {
		for _, d := range seqDistances {
			a := b + d
			name := fmt.Sprintf("base %d distance %d", b, d)
			t.Run(name, func(t *testing.T) {
				if got, want := seqDiff(a, b), int64(int32(d)); got != want {
					t.Errorf("seqDiff = %d, want %d", got, want)
				}
				if n, ok := seqAhead(a, b); n != int64(d) || ok != (d <= seqFar) {
					t.Errorf("seqAhead = %d, %v", n, ok)
				}
				// Behind: the distance b-a, believed below 2^31 only
				// (2^31 itself is ambiguous: not behind).
				if n, ok := seqBehind(a, b); n != int64(-d) || ok != (-d < 1<<31) {
					t.Errorf("seqBehind = %d, %v", n, ok)
				}
				if got := seqCovers(a, b); got != (d <= seqFar) {
					t.Errorf("seqCovers(b+%d, b) = %v", d, got)
				}
				// [b, b+100): in it only at distances 0..99.
				if got := seqIn(a, b, b+100); got != (d < 100) {
					t.Errorf("seqIn(b+%d, b, b+100) = %v", d, got)
				}
				h := half{synced: true, next: b, delivered: 5000}
				wantPlausible := d <= seqFar || -d <= seqFar
				if got := h.plausible(a); got != wantPlausible {
					t.Errorf("plausible = %v, want %v", got, wantPlausible)
				}
				off, ok := h.offsetOf(a)
				switch {
				case d <= seqFar:
					if !ok || off != 5000+int64(d) {
						t.Errorf("offsetOf = %d, %v, want %d", off, ok, 5000+int64(d))
					}
				case -d <= 5000:
					if !ok || off != 5000-int64(-d) {
						t.Errorf("offsetOf = %d, %v, want %d", off, ok, 5000-int64(-d))
					}
				default:
					// Before the stream's first byte, or implausible.
					if ok {
						t.Errorf("offsetOf = %d, believed", off)
					}
				}
			})
		}
	}
}

// seqLog is a ConnHandler that logs the client's stream, ACKs included.
type seqLog struct{ b *strings.Builder }

func (l seqLog) Segment(Dir, *Segment, Analysis, FrameRef) {}
func (l seqLog) Acked(d Dir, upTo int64, _ FrameRef) {
	if d == ToServer {
		fmt.Fprintf(l.b, "acked %d\n", upTo)
	}
}
func (l seqLog) Data(d Dir, b []byte, _ FrameRef) {
	if d == ToServer {
		fmt.Fprintf(l.b, "data %q\n", b)
	}
}
func (l seqLog) Gap(d Dir, n int, _ FrameRef, _ GapReason) {
	if d == ToServer {
		fmt.Fprintf(l.b, "gap %d\n", n)
	}
}
func (seqLog) Datagram(Dir, []byte, int, FrameRef) {}
func (seqLog) Close(FrameRef, *TCPSummary)         {}

func seqReplay(t *testing.T, pkts ...pkt) (string, *Flows) {
	t.Helper()
	var log strings.Builder
	f := NewFlows([]uint16{serverPort}, DefaultLimits, func(*ConnInfo) ConnHandler { return seqLog{&log} })
	for i, p := range pkts {
		f.Packet(&capture.Packet{Frame: int64(i + 1), Time: int64(i+1) * 1e6, Data: build(t, p), LinkType: layers.LinkTypeEthernet})
	}
	f.Finish()
	return log.String(), f
}

// TestStreamSeqDistances: data, deliver, drain, enqueue and skipTo with
// a segment at each distance from the next expected byte (1005), between
// two in-order segments. Nothing panics; a segment is delivered, queued,
// or taken for a re-send only within seqFar, and anything farther is
// dropped and counted, never turned into a gap of up to 4 GiB.
func TestStreamSeqDistances(t *testing.T) {
	const next = 1005
	tests := []struct {
		d           uint32
		want        string
		implausible int64
	}{
		{0, "data \"hello\"\ndata \"WILD\"\ndata \"d\"\n", 0},
		{1, "data \"hello\"\ndata \"world\"\n", 0},                                     // queued, then covered by world
		{seqFar, "data \"hello\"\ndata \"world\"\ngap 1073741819\ndata \"WILD\"\n", 0}, // believed: flushed at the end
		{seqFar + 1, "data \"hello\"\ndata \"world\"\n", 1},
		{1<<31 - 1, "data \"hello\"\ndata \"world\"\n", 1},
		{1 << 31, "data \"hello\"\ndata \"world\"\n", 1}, // the panic of issue 8
		{1<<31 + 1, "data \"hello\"\ndata \"world\"\n", 1},
		{1<<32 - seqFar - 1, "data \"hello\"\ndata \"world\"\n", 1},
		{1<<32 - seqFar, "data \"hello\"\ndata \"world\"\n", 0}, // a re-send of old bytes: nothing new
		{1<<32 - 1, "data \"hello\"\ndata \"ILD\"\ndata \"ld\"\n", 0},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.d), func(t *testing.T) {
			got, f := seqReplay(t,
				pkt{toServer: true, seq: 1000, flags: FlagPSH, data: "hello"},
				pkt{toServer: true, seq: next + tt.d, flags: FlagPSH, data: "WILD"},
				pkt{toServer: true, seq: next, flags: FlagPSH, data: "world"})
			if got != tt.want {
				t.Errorf("got\n%swant\n%s", got, tt.want)
			}
			if f.Stats.Implausible != tt.implausible {
				t.Errorf("%d implausible, want %d", f.Stats.Implausible, tt.implausible)
			}
		})
	}
}

// TestStreamJump: two implausible segments that continue each other are
// a real jump (the capture lost more than seqFar bytes): the stream
// follows it, with a gap of the distance.
func TestStreamJump(t *testing.T) {
	got, f := seqReplay(t,
		pkt{toServer: true, seq: 1000, flags: FlagPSH, data: "hello"},
		pkt{toServer: true, seq: 1005 + 1<<31, flags: FlagPSH, data: "far"},
		pkt{toServer: true, seq: 1008 + 1<<31, flags: FlagPSH, data: "ther"})
	if want := "data \"hello\"\ngap 2147483651\ndata \"ther\"\n"; got != want {
		t.Errorf("got\n%swant\n%s", got, want)
	}
	if f.Stats.Implausible != 2 {
		t.Errorf("%d implausible, want 2", f.Stats.Implausible)
	}
}

// TestAckedSeqDistances: acked and the ACK offset of flow.go with the
// server's ACK at each distance from the client's next byte. Only an ACK
// at most seqFar ahead skips bytes (the capture missed them) and is
// reported as ACKed; one behind acknowledges nothing new.
func TestAckedSeqDistances(t *testing.T) {
	const next = 1005
	tests := []struct {
		d    uint32
		want string
	}{
		{0, "data \"hello\"\nacked 5\ndata \"world\"\n"},
		{1, "data \"hello\"\ngap 1\nacked 6\ndata \"orld\"\n"},
		{seqFar, "data \"hello\"\ngap 1073741824\nacked 1073741829\n"},
		{seqFar + 1, "data \"hello\"\ndata \"world\"\n"},
		{1<<31 - 1, "data \"hello\"\ndata \"world\"\n"},
		{1 << 31, "data \"hello\"\ndata \"world\"\n"},
		{1<<31 + 1, "data \"hello\"\ndata \"world\"\n"},
		{1<<32 - seqFar, "data \"hello\"\ndata \"world\"\n"},
		{1<<32 - 1, "data \"hello\"\nacked 4\ndata \"world\"\n"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.d), func(t *testing.T) {
			got, _ := seqReplay(t,
				pkt{toServer: true, seq: 1000, flags: FlagPSH, data: "hello"},
				pkt{seq: 7000, ack: next + tt.d, flags: FlagACK},
				pkt{toServer: true, seq: next, flags: FlagPSH, data: "world"})
			if got != tt.want {
				t.Errorf("got\n%swant\n%s", got, tt.want)
			}
		})
	}
}

// TestTrackerSeqDistances: the never-ACKed evidence. An ACK at distance d
// past a transmission's end covers it only within seqFar; a re-send at
// distance d from a logged transmission names it as its original only
// inside it; a re-send extends a run only forward, within seqFar.
func TestTrackerSeqDistances(t *testing.T) {
	const seq, end = 1<<32 - 50, 50 // a transmission that wraps
	orig, re := FrameRef{Frame: 1}, FrameRef{Frame: 2}
	for _, d := range seqDistances {
		t.Run(fmt.Sprint(d), func(t *testing.T) {
			var sum TCPSummary
			tr := tracker{sent: []sentSeg{{seq: seq, end: end, at: orig}}}
			tr.noteRetrans(seq, end, nil, re)
			tr.acked(end+d, re, &sum, ToServer)
			covered := d <= seqFar
			if got := len(tr.sent) == 0; got != covered {
				t.Errorf("sent log dropped = %v, want %v", got, covered)
			}
			if got := sum.Recovered[ToServer] == 1; got != covered {
				t.Errorf("run recovered = %v, want %v", got, covered)
			}

			tr = tracker{sent: []sentSeg{{seq: seq, end: end, at: orig}}}
			tr.noteRetrans(seq+d, seq+d+10, nil, re)
			inside := d < uint32(100) // the transmission is 100 bytes long
			if got := len(tr.retrans[0].frames) == 2; got != inside {
				t.Errorf("original named = %v, want %v (frames %v)", got, inside, tr.retrans[0].frames)
			}

			tr = tracker{}
			tr.noteRetrans(seq, end, nil, re)
			tr.noteRetrans(seq, end+d, nil, re)
			wantEnd := uint32(end)
			if d > 0 && d <= seqFar {
				wantEnd = end + d
			}
			if r := tr.retrans[0]; r.end != wantEnd || r.resends != 2 {
				t.Errorf("run end %d resends %d, want %d 2", r.end, r.resends, wantEnd)
			}
		})
	}
}

// TestAnalysisSeqDistances: the tcp.analysis flags of a segment at each
// distance from the sender's next sequence number compare as Wireshark's
// GT_SEQ/LT_SEQ (so counts agree with tshark, 2^31 included), and only a
// plausible one becomes stall evidence.
func TestAnalysisSeqDistances(t *testing.T) {
	const next = 1010
	for _, d := range seqDistances {
		t.Run(fmt.Sprint(d), func(t *testing.T) {
			c := &conn{}
			c.tcp[ToServer].winScale, c.tcp[ToClient].winScale = scaleUnknown, scaleUnknown
			first := &Segment{Seq: 1000, Ack: 1, Flags: FlagACK, Window: 100, WireLen: 10}
			c.analyze(ToServer, first, FrameRef{Frame: 1, Time: 1e6})
			c.halves[ToServer].synced, c.halves[ToServer].next = true, next
			s := &Segment{Seq: next + d, Ack: 1, Flags: FlagACK, Window: 100, WireLen: 10}
			flags := c.analyze(ToServer, s, FrameRef{Frame: 2, Time: 1e9})
			// Wireshark's GT_SEQ(seq, next) is int32(next-seq) < 0 and
			// LT_SEQ(seq, next) int32(seq-next) < 0: at 2^31 both hold
			// (tshark flags both on testdata/torture.pcap.gz, "2^31
			// ahead"). Data longer than a byte that starts one before
			// next is no retransmission (Wireshark: it may follow a
			// zero-window probe; torture.pcap.gz, "keep-alive").
			gt, lt := int32(-d) < 0, int32(d) < 0 && d != 1<<32-1
			if got := flags&ALostSegment != 0; got != gt {
				t.Errorf("lost_segment = %v, want %v (flags %b)", got, gt, flags)
			}
			if got := flags&(RetransmissionFamily|AOutOfOrder) != 0; got != lt {
				t.Errorf("retransmission or out-of-order = %v, want %v (flags %b)", got, lt, flags)
			}
			plausible := d <= seqFar || -d <= seqFar
			if got := len(c.trk[ToServer].retrans) > 0 || len(c.trk[ToServer].sent) > 1; got != plausible {
				t.Errorf("evidence kept = %v, want %v", got, plausible)
			}
		})
	}
}

// TestDamagedSYN: a SYN whose sequence number is wrong, by any distance,
// does not cost the connection's bytes when the SYN-ACK's ACK shows the
// right one. Without a SYN-ACK, the first data decides: behind the SYN
// (nothing can be a re-send yet) it is followed; ahead within seqFar it
// is a hole; implausible, it is dropped until the stream continues it.
func TestDamagedSYN(t *testing.T) {
	const isn = 999
	for _, d := range seqDistances {
		if d == 0 {
			continue
		}
		t.Run(fmt.Sprint(d), func(t *testing.T) {
			for _, synack := range []bool{true, false} {
				pkts := []pkt{{toServer: true, seq: isn + d, flags: FlagSYN}}
				if synack {
					pkts = append(pkts, pkt{seq: 5000, ack: isn + 1, flags: FlagSYN | FlagACK})
				}
				pkts = append(pkts,
					pkt{toServer: true, seq: isn + 1, ack: 5001, flags: FlagACK | FlagPSH, data: "hello"},
					pkt{toServer: true, seq: isn + 6, ack: 5001, flags: FlagACK | FlagPSH, data: "world"})
				got, _ := seqReplay(t, pkts...)
				want := "data \"hello\"\ndata \"world\"\n"
				if !synack {
					switch ahead := -d; {
					case d == 1: // one behind: taken for a keep-alive's byte
						want = "data \"ello\"\ndata \"world\"\n"
					case d <= seqFar: // behind the SYN: followed
					case ahead+5 <= seqFar:
						want = fmt.Sprintf("gap %d\n%s", ahead, want)
					case ahead <= seqFar: // world is past seqFar: dropped
						want = fmt.Sprintf("gap %d\ndata \"hello\"\n", ahead)
					case d-5 <= seqFar: // world is plausibly behind: followed
						want = "data \"world\"\n"
					default: // implausible: followed when continued
						want = fmt.Sprintf("gap %d\ndata \"world\"\n", 5-d)
					}
				}
				if got != want {
					t.Errorf("SYN-ACK %v: got\n%swant\n%s", synack, got, want)
				}
			}
		})
	}
}

// TestDamagedSYNAnalysis: after a SYN whose sequence number is wrong by
// any distance, the SYN-ACK's ACK sets where the data starts: the data is
// not flagged a retransmission (nor a lost segment), so it cannot become
// never-ACKed stall evidence.
func TestDamagedSYNAnalysis(t *testing.T) {
	const isn = 999
	for _, d := range seqDistances {
		t.Run(fmt.Sprint(d), func(t *testing.T) {
			c := &conn{}
			c.tcp[ToServer].winScale, c.tcp[ToClient].winScale = scaleUnknown, scaleUnknown
			c.analyze(ToServer, &Segment{Seq: isn + d, Flags: FlagSYN, Window: 100, WScale: -1}, FrameRef{Frame: 1, Time: 1e6})
			c.analyze(ToServer, &Segment{Seq: isn + d, Flags: FlagSYN, Window: 100, WScale: -1}, FrameRef{Frame: 2, Time: 2e6})
			// A segment that sends nothing (no data, SYN or FIN) leaves
			// the SYN the last thing sent.
			c.analyze(ToServer, &Segment{Seq: isn + d + 1, Window: 100}, FrameRef{Frame: 2, Time: 2e6 + 1})
			c.analyze(ToClient, &Segment{Seq: 5000, Ack: isn + 1, Flags: FlagSYN | FlagACK, Window: 100, WScale: -1}, FrameRef{Frame: 3, Time: 3e6})
			flags := c.analyze(ToServer, &Segment{Seq: isn + 1, Ack: 5001, Flags: FlagACK, Window: 100, WireLen: 5}, FrameRef{Frame: 4, Time: 4e6})
			if flags&(RetransmissionFamily|AOutOfOrder|ALostSegment) != 0 {
				t.Errorf("first data flagged %b", flags)
			}
		})
	}
}

// TestEndSeqDistances: a RST or FIN ends the connection only at a
// plausible sequence number (within seqFar of the sender's next byte).
func TestEndSeqDistances(t *testing.T) {
	const next = 1005
	for _, flag := range []uint8{FlagRST, FlagFIN} {
		for _, d := range seqDistances {
			t.Run(fmt.Sprint(flag, d), func(t *testing.T) {
				var log strings.Builder
				f := NewFlows([]uint16{serverPort}, DefaultLimits, func(*ConnInfo) ConnHandler { return seqLog{&log} })
				pkts := []pkt{
					{toServer: true, seq: 1000, ack: 7000, flags: FlagACK | FlagPSH, data: "hello"},
					{seq: 7000, ack: next, flags: FlagACK | FlagFIN},
					{toServer: true, seq: next + d, ack: 7001, flags: FlagACK | flag},
				}
				for i, p := range pkts {
					f.Packet(&capture.Packet{Frame: int64(i + 1), Time: int64(i+1) * 1e6, Data: build(t, p), LinkType: layers.LinkTypeEthernet})
				}
				var c *conn
				for open := range f.conns.all() {
					c = open // the one connection
				}
				want := d <= seqFar || -d <= seqFar
				if c == nil || c.closed != want {
					t.Errorf("closed = %v, want %v", c != nil && c.closed, want)
				}
			})
		}
	}
}

// TestProbeSeqDistances: keep-alives and zero-window probes are told by
// exact sequence numbers (one before the next byte, and the next byte):
// at any other distance a one-byte segment is neither, 2^31 included.
func TestProbeSeqDistances(t *testing.T) {
	const next = 1010
	for _, d := range seqDistances {
		t.Run(fmt.Sprint(d), func(t *testing.T) {
			for _, zeroWin := range []bool{false, true} {
				c := &conn{}
				c.tcp[ToServer].winScale, c.tcp[ToClient].winScale = scaleUnknown, scaleUnknown
				c.analyze(ToServer, &Segment{Seq: 1000, Ack: 1, Flags: FlagACK, Window: 100, WireLen: 10}, FrameRef{Frame: 1, Time: 1e6})
				win := uint16(100)
				if zeroWin {
					win = 0
				}
				c.analyze(ToClient, &Segment{Seq: 1, Ack: next, Flags: FlagACK, Window: win}, FrameRef{Frame: 2, Time: 2e6})
				flags := c.analyze(ToServer, &Segment{Seq: next + d, Ack: 1, Flags: FlagACK, Window: 100, WireLen: 1}, FrameRef{Frame: 3, Time: 3e6})
				if got, want := flags&AKeepAlive != 0, d == 1<<32-1; got != want {
					t.Errorf("zero window %v: keep_alive = %v, want %v (flags %b)", zeroWin, got, want, flags)
				}
				if got, want := flags&AZeroWindowProbe != 0, zeroWin && d == 0; got != want {
					t.Errorf("zero window %v: zero_window_probe = %v, want %v (flags %b)", zeroWin, got, want, flags)
				}
			}
		})
	}
}

// TestAckBeyondReach: with the handshake captured, an ACK more than the
// receiver's window (plus what reassembly may queue) ahead is not
// believed (a damaged ACK 100 MB ahead would skip the stream past every
// byte that follows), unless the receiver's next ACK confirms it.
func TestAckBeyondReach(t *testing.T) {
	const far = 100 << 20
	handshake := []pkt{
		{toServer: true, seq: 999, flags: FlagSYN},
		{seq: 6999, ack: 1000, flags: FlagSYN | FlagACK},
		{toServer: true, seq: 1000, ack: 7000, flags: FlagACK | FlagPSH, data: "hello"},
	}
	tests := []struct {
		name string
		acks []uint32
		want string
	}{
		{"one far ACK", []uint32{1005 + far}, "data \"hello\"\ndata \"world\"\n"},
		{"confirmed", []uint32{1005 + far, 1015 + far}, "data \"hello\"\ngap 104857610\nacked 104857615\n"},
		{"not confirmed", []uint32{1005 + far, 1005}, "data \"hello\"\nacked 5\ndata \"world\"\n"},
		{"within reach", []uint32{1005 + 1<<20}, "data \"hello\"\ngap 1048576\nacked 1048581\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pkts := append([]pkt(nil), handshake...)
			for _, a := range tt.acks {
				pkts = append(pkts, pkt{seq: 7000, ack: a, flags: FlagACK})
			}
			pkts = append(pkts, pkt{toServer: true, seq: 1005, ack: 7000, flags: FlagACK | FlagPSH, data: "world"})
			got, _ := seqReplay(t, pkts...)
			if got != tt.want {
				t.Errorf("got\n%swant\n%s", got, tt.want)
			}
		})
	}
}

// TestWildSegmentNoEvidence: one damaged data segment hundreds of MB
// ahead (within 2^30, beyond the window) makes Wireshark's flags call the
// next real segment a retransmission; that segment is still not a
// re-sent run, so a capture cut before its ACK shows no stall evidence.
func TestWildSegmentNoEvidence(t *testing.T) {
	for _, d := range []uint32{100 << 20, seqFar} {
		t.Run(fmt.Sprint(d), func(t *testing.T) {
			var log strings.Builder
			f := NewFlows([]uint16{serverPort}, DefaultLimits, func(*ConnInfo) ConnHandler { return seqLog{&log} })
			pkts := []pkt{
				{toServer: true, seq: 999, flags: FlagSYN},
				{seq: 6999, ack: 1000, flags: FlagSYN | FlagACK},
				{toServer: true, seq: 1000, ack: 7000, flags: FlagACK | FlagPSH, data: "hello"},
				{seq: 7000, ack: 1005, flags: FlagACK},
				{toServer: true, seq: 1005 + d, ack: 7000, flags: FlagACK | FlagPSH, data: "WILD"},
				{toServer: true, seq: 1005, ack: 7000, flags: FlagACK | FlagPSH, data: "world"},
			}
			for i, p := range pkts {
				f.Packet(&capture.Packet{Frame: int64(i + 1), Time: int64(i+1) * 1e6, Data: build(t, p), LinkType: layers.LinkTypeEthernet})
			}
			var c *conn
			for open := range f.conns.all() {
				c = open // the one connection
			}
			if len(c.trk[ToServer].retrans) != 0 {
				t.Errorf("re-sent runs %+v", c.trk[ToServer].retrans)
			}
		})
	}
}
