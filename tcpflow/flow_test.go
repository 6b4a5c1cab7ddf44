package tcpflow

import (
	"bytes"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/nfsstall/nfsstall/capture"
)

// pkt describes one hand-built TCP segment.
type pkt struct {
	toServer bool
	seq, ack uint32
	flags    uint8
	data     string
	capLen   int // captured TCP payload bytes when the snaplen cuts it (0: all)
	srcPort  uint16
}

const (
	clientPort = 800
	serverPort = 2049
)

// build serializes p as an Ethernet/IPv4/TCP frame.
func build(t testing.TB, p pkt) []byte {
	t.Helper()
	cip, sip := net.IP{198, 18, 0, 1}, net.IP{198, 18, 0, 2}
	cport := uint16(clientPort)
	if p.srcPort != 0 {
		cport = p.srcPort
	}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: cip, DstIP: sip}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(cport), DstPort: serverPort, Seq: p.seq, Ack: p.ack, Window: 512,
		FIN: p.flags&FlagFIN != 0, SYN: p.flags&FlagSYN != 0, RST: p.flags&FlagRST != 0, ACK: p.flags&FlagACK != 0, PSH: p.flags&FlagPSH != 0}
	if !p.toServer {
		ip.SrcIP, ip.DstIP = sip, cip
		tcp.SrcPort, tcp.DstPort = serverPort, layers.TCPPort(cport)
	}
	tcp.SetNetworkLayerForChecksum(ip)
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		eth, ip, tcp, gopacket.Payload(p.data)); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if p.capLen > 0 {
		b = b[:14+20+20+p.capLen] // what tcpdump -s writes
	}
	return b
}

// recorder is a ConnHandler that writes what it is handed as text.
type recorder struct {
	log  *strings.Builder
	info ConnInfo
}

func (r *recorder) Segment(Dir, *Segment, Analysis, FrameRef) {}
func (r *recorder) Acked(Dir, int64, FrameRef)                {}
func (r *recorder) Data(d Dir, b []byte, at FrameRef) {
	fmt.Fprintf(r.log, "c%d %s data %q @%d\n", r.info.ID, dirName(d), b, at.Frame)
}
func (r *recorder) Gap(d Dir, n int, at FrameRef, why GapReason) {
	w := [...]string{GapSnaplen: "snaplen", GapLost: "lost", GapAcked: "acked"}[why]
	fmt.Fprintf(r.log, "c%d %s gap %d %s @%d\n", r.info.ID, dirName(d), n, w, at.Frame)
}
func (r *recorder) Datagram(d Dir, p []byte, wireLen int, at FrameRef) {}
func (r *recorder) Close(at FrameRef, _ *TCPSummary) {
	fmt.Fprintf(r.log, "c%d close\n", r.info.ID)
}

func dirName(d Dir) string {
	if d == ToServer {
		return ">"
	}
	return "<"
}

// replay feeds the packets to a Flows and returns what the handlers saw.
func replay(t *testing.T, limits Limits, pkts ...pkt) (string, *Flows) {
	t.Helper()
	var log strings.Builder
	f := NewFlows([]uint16{serverPort}, limits, func(ci *ConnInfo) ConnHandler {
		fmt.Fprintf(&log, "c%d open syn=%v\n", ci.ID, ci.SawSYN)
		return &recorder{log: &log, info: *ci}
	})
	for i, p := range pkts {
		data := build(t, p)
		wire := len(build(t, pkt{toServer: p.toServer, seq: p.seq, ack: p.ack, flags: p.flags, data: p.data}))
		f.Packet(&capture.Packet{Frame: int64(i + 1), Time: int64(i+1) * 1e6, Data: data, Length: wire, LinkType: layers.LinkTypeEthernet})
	}
	f.Finish()
	return log.String(), f
}

const ack = FlagACK

func TestReassembly(t *testing.T) {
	tests := []struct {
		name string
		pkts []pkt
		want string
	}{
		{"in order after handshake", []pkt{
			{toServer: true, seq: 100, flags: FlagSYN},
			{seq: 500, ack: 101, flags: FlagSYN | ack},
			{toServer: true, seq: 101, ack: 501, flags: ack, data: "abc"},
			{seq: 501, ack: 104, flags: ack, data: "XY"},
		}, `c1 open syn=true
c1 > data "abc" @3
c1 < data "XY" @4
c1 close
`},
		// Queued bytes become usable at the frame that fills the hole,
		// which is where Wireshark shows a message they complete.
		{"out-of-order bytes count from the frame that filled the hole", []pkt{
			{toServer: true, seq: 100, flags: FlagSYN},
			{toServer: true, seq: 104, ack: 1, flags: ack, data: "def"},
			{toServer: true, seq: 101, ack: 1, flags: ack, data: "abc"},
		}, `c1 open syn=true
c1 > data "abc" @3
c1 > data "def" @3
c1 close
`},
		{"overlapping retransmission delivers only new bytes", []pkt{
			{toServer: true, seq: 1000, ack: 1, flags: ack, data: "abcd"},
			{toServer: true, seq: 1002, ack: 1, flags: ack, data: "cdef"},
			{toServer: true, seq: 1000, ack: 1, flags: ack, data: "abcdef"},
		}, `c1 open syn=false
c1 > data "abcd" @1
c1 > data "ef" @2
c1 close
`},
		{"snaplen cut becomes an exact gap", []pkt{
			{seq: 7000, ack: 1, flags: ack, data: "HEADERandlotsofdata", capLen: 6},
			{seq: 7019, ack: 1, flags: ack, data: "next"},
		}, `c1 open syn=false
c1 < data "HEADER" @1
c1 < gap 13 snaplen @1
c1 < data "next" @2
c1 close
`},
		{"peer ACK beyond a hole: bytes the capture missed", []pkt{
			{seq: 50, ack: 1, flags: ack, data: "aaaa"},
			{seq: 58, ack: 1, flags: ack, data: "cccc"},
			{toServer: true, seq: 1, ack: 62, flags: ack},
		}, `c1 open syn=false
c1 < data "aaaa" @1
c1 < gap 4 acked @3
c1 < data "cccc" @2
c1 close
`},
		{"one direction not captured: the peer's ACKs say what it sent", []pkt{
			{toServer: true, seq: 1, ack: 500, flags: ack, data: "call"},
			{toServer: true, seq: 5, ack: 600, flags: ack, data: "next"},
			{toServer: true, seq: 9, ack: 600, flags: ack},
			{toServer: true, seq: 9, ack: 1000, flags: ack},
		}, `c1 open syn=false
c1 > data "call" @1
c1 < gap 100 acked @2
c1 > data "next" @2
c1 < gap 400 acked @4
c1 close
`},
		{"data after an ACK-only start: bytes in flight at the start are not missing", []pkt{
			{toServer: true, seq: 1, ack: 500, flags: ack, data: "call"},
			{seq: 520, ack: 5, flags: ack, data: "rply"},
			{toServer: true, seq: 5, ack: 524, flags: ack},
		}, `c1 open syn=false
c1 > data "call" @1
c1 < data "rply" @2
c1 close
`},
		{"data far from the first ACK re-anchors the stream", []pkt{
			{toServer: true, seq: 1, ack: 0x90000000, flags: ack, data: "call"},
			{seq: 520, ack: 5, flags: ack, data: "rply"},
			{seq: 524, ack: 5, flags: ack, data: "more"},
		}, `c1 open syn=false
c1 > data "call" @1
c1 < data "rply" @2
c1 < data "more" @3
c1 close
`},
		{"hole never filled is flushed at the end", []pkt{
			{seq: 50, ack: 1, flags: ack, data: "aaaa"},
			{seq: 58, ack: 1, flags: ack, data: "cccc"},
		}, `c1 open syn=false
c1 < data "aaaa" @1
c1 < gap 4 lost @2
c1 < data "cccc" @2
c1 close
`},
		{"sequence numbers wrap at 2^32", []pkt{
			{toServer: true, seq: 0xfffffffe, ack: 1, flags: ack, data: "abcd"},
			{toServer: true, seq: 2, ack: 1, flags: ack, data: "ef"},
		}, `c1 open syn=false
c1 > data "abcd" @1
c1 > data "ef" @2
c1 close
`},
		{"FIN's sequence number is not a missing byte", []pkt{
			{toServer: true, seq: 10, ack: 1, flags: ack | FlagFIN, data: "bye"},
			{seq: 1, ack: 14, flags: ack},
		}, `c1 open syn=false
c1 > data "bye" @1
c1 close
`},
		{"new SYN on a closed 4-tuple is a new connection", []pkt{
			{toServer: true, seq: 100, flags: FlagSYN},
			{toServer: true, seq: 101, ack: 1, flags: ack, data: "one"},
			{toServer: true, seq: 104, ack: 1, flags: FlagRST},
			{toServer: true, seq: 9000, flags: FlagSYN},
			{toServer: true, seq: 9001, ack: 1, flags: ack, data: "two"},
		}, `c1 open syn=true
c1 > data "one" @2
c1 close
c2 open syn=true
c2 > data "two" @5
c2 close
`},
		{"SYN retransmission is the same connection", []pkt{
			{toServer: true, seq: 100, flags: FlagSYN},
			{toServer: true, seq: 100, flags: FlagSYN},
			{toServer: true, seq: 101, ack: 1, flags: ack, data: "x"},
		}, `c1 open syn=true
c1 > data "x" @3
c1 close
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := replay(t, DefaultLimits, tt.pkts...)
			if got != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestQueueLimitDeclaresHoleLost(t *testing.T) {
	limits := DefaultLimits
	limits.QueuePerDirection = 8
	got, f := replay(t, limits,
		pkt{seq: 10, ack: 1, flags: ack, data: "aa"},
		pkt{seq: 20, ack: 1, flags: ack, data: "bbbbb"}, // hole 12..20
		pkt{seq: 25, ack: 1, flags: ack, data: "ccccc"}, // 10 bytes queued > 8
	)
	want := `c1 open syn=false
c1 < data "aa" @1
c1 < gap 8 lost @2
c1 < data "bbbbb" @2
c1 < data "ccccc" @3
c1 close
`
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if f.Stats.ForcedGaps != 1 || f.Stats.ForcedGapByte != 8 {
		t.Errorf("forced gaps %d (%d bytes), want 1 (8)", f.Stats.ForcedGaps, f.Stats.ForcedGapByte)
	}
	if f.queued != 0 {
		t.Errorf("%d bytes still counted as queued", f.queued)
	}
}

func TestOtherPortsAreCounted(t *testing.T) {
	var log strings.Builder
	f := NewFlows([]uint16{2050}, DefaultLimits, func(ci *ConnInfo) ConnHandler { return &recorder{log: &log, info: *ci} })
	f.Packet(&capture.Packet{Frame: 1, Data: build(t, pkt{toServer: true, seq: 1, flags: ack, data: "x"}), LinkType: layers.LinkTypeEthernet})
	f.Packet(&capture.Packet{Frame: 2, Data: []byte{1, 2, 3}, LinkType: layers.LinkTypeEthernet})
	f.Packet(&capture.Packet{Frame: 3, Data: []byte{0x45}, LinkType: 147})
	if f.Stats.Skipped[SkipOtherPort] != 1 || f.Stats.Skipped[SkipMalformed] != 1 || f.Stats.Skipped[SkipLinkType] != 1 {
		t.Errorf("skipped %v", f.Stats.Skipped)
	}
	if log.Len() != 0 {
		t.Errorf("handler called: %s", log.String())
	}
}

func TestDecodeWireLength(t *testing.T) {
	d := NewDecoder()
	full := build(t, pkt{toServer: true, seq: 1, flags: ack, data: "0123456789"})
	cut := build(t, pkt{toServer: true, seq: 1, flags: ack, data: "0123456789", capLen: 3})
	// Ethernet minimum-frame padding must not count as payload.
	padded := append(bytes.Clone(build(t, pkt{toServer: true, seq: 1, flags: ack})), 0, 0, 0, 0, 0, 0)
	for _, tc := range []struct {
		name          string
		data          []byte
		captured, len int
	}{{"full", full, 10, 10}, {"snaplen", cut, 3, 10}, {"padding", padded, 0, 0}} {
		var s Segment
		if r := d.Decode(&capture.Packet{Data: tc.data, LinkType: layers.LinkTypeEthernet}, &s); r != SkipNone {
			t.Fatalf("%s: skipped: %v", tc.name, r)
		}
		if len(s.Payload) != tc.captured || s.WireLen != tc.len {
			t.Errorf("%s: payload %d wire %d, want %d %d", tc.name, len(s.Payload), s.WireLen, tc.captured, tc.len)
		}
	}
}

func TestDecodeNoAllocs(t *testing.T) {
	d := NewDecoder()
	p := &capture.Packet{Data: build(t, pkt{toServer: true, seq: 1, flags: ack | FlagPSH, data: "0123456789"}), LinkType: layers.LinkTypeEthernet}
	var s Segment
	if n := testing.AllocsPerRun(100, func() { d.Decode(p, &s) }); n != 0 {
		t.Errorf("Decode allocates %v times per packet", n)
	}
}
