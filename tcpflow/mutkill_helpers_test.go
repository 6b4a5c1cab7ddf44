package tcpflow

import (
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/nfsstall/nfsstall/capture"
)

// Helpers for the tests that kill mutants (mutkill_*_test.go): packets at
// explicit capture times, and a handler that also logs ACKs, opens and the
// TCP summary.

// tp is a hand-built TCP segment at capture time ns (wscale >= 0: a
// window scale option, on a SYN).
type tp struct {
	pkt
	ns     int64
	wscale int
}

// buildTP serializes p like build, with its window scale option.
func buildTP(t testing.TB, p tp) []byte {
	t.Helper()
	if p.wscale < 0 || p.flags&FlagSYN == 0 {
		return build(t, p.pkt)
	}
	cip, sip := net.IP{198, 18, 0, 1}, net.IP{198, 18, 0, 2}
	cport := uint16(clientPort)
	if p.srcPort != 0 {
		cport = p.srcPort
	}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: cip, DstIP: sip}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(cport), DstPort: serverPort, Seq: p.seq, Ack: p.ack, Window: 512,
		SYN: true, ACK: p.flags&FlagACK != 0,
		Options: []layers.TCPOption{{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{byte(p.wscale)}},
			{OptionType: layers.TCPOptionKindNop, OptionLength: 1}}}
	if !p.toServer {
		ip.SrcIP, ip.DstIP = sip, cip
		tcp.SrcPort, tcp.DstPort = serverPort, layers.TCPPort(cport)
	}
	tcp.SetNetworkLayerForChecksum(ip)
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// mlog is a ConnHandler that logs opens (with their frame), data, gaps,
// ACKs and closes as text, and keeps each connection's TCP summary.
type mlog struct {
	log  *strings.Builder
	id   int
	sums map[int]*TCPSummary
}

func (m *mlog) Segment(Dir, *Segment, Analysis, FrameRef) {}
func (m *mlog) Acked(d Dir, upTo int64, at FrameRef) {
	fmt.Fprintf(m.log, "c%d %s acked %d @%d\n", m.id, dirName(d), upTo, at.Frame)
}
func (m *mlog) Data(d Dir, b []byte, at FrameRef) {
	fmt.Fprintf(m.log, "c%d %s data %q @%d\n", m.id, dirName(d), b, at.Frame)
}
func (m *mlog) Gap(d Dir, n int, at FrameRef, why GapReason) {
	w := [...]string{GapSnaplen: "snaplen", GapLost: "lost", GapAcked: "acked"}[why]
	fmt.Fprintf(m.log, "c%d %s gap %d %s @%d\n", m.id, dirName(d), n, w, at.Frame)
}
func (m *mlog) Datagram(Dir, []byte, int, FrameRef) {}
func (m *mlog) Close(at FrameRef, sum *TCPSummary) {
	fmt.Fprintf(m.log, "c%d close\n", m.id)
	m.sums[m.id] = sum
}

// mrun feeds timed packets to a Flows.
type mrun struct {
	t     *testing.T
	f     *Flows
	log   strings.Builder
	sums  map[int]*TCPSummary
	frame int64
	infos []*ConnInfo
}

func newMrun(t *testing.T, limits Limits) *mrun {
	r := &mrun{t: t, sums: map[int]*TCPSummary{}}
	r.f = NewFlows([]uint16{serverPort}, limits, func(ci *ConnInfo) ConnHandler {
		fmt.Fprintf(&r.log, "c%d open @%d\n", ci.ID, r.frame)
		r.infos = append(r.infos, ci)
		return &mlog{log: &r.log, id: ci.ID, sums: r.sums}
	})
	return r
}

// feed feeds p as the next frame; its wire length is that of the whole
// segment when capLen cuts it.
func (r *mrun) feed(p tp) {
	r.t.Helper()
	r.frame++
	data := buildTP(r.t, p)
	full := p
	full.capLen = 0
	wire := len(buildTP(r.t, full))
	r.f.Packet(&capture.Packet{Frame: r.frame, Time: p.ns, Data: data, Length: wire, LinkType: layers.LinkTypeEthernet})
}

func (r *mrun) feedAll(ps ...tp) {
	r.t.Helper()
	for _, p := range ps {
		r.feed(p)
	}
}

// at is p at time ns, without a window scale option.
func at(ns int64, p pkt) tp { return tp{pkt: p, ns: ns, wscale: -1} }

// seqAt is p at 1 ms per frame: frame i (1-based) at i ms.
func seqAt(ps ...pkt) []tp {
	out := make([]tp, len(ps))
	for i, p := range ps {
		out[i] = at(int64(i+1)*1e6, p)
	}
	return out
}

// checkLog compares the log with want, line by line.
func checkLog(t *testing.T, name, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s:\n got:\n%s want:\n%s", name, got, want)
	}
}
