package tcpflow_test

import (
	"bytes"
	"sync"
	"testing"

	"github.com/nfsstall/nfsstall/capture"
	"github.com/nfsstall/nfsstall/internal/gencap"
	"github.com/nfsstall/nfsstall/tcpflow"
)

// The benchmarks here measure one stage each on a 64 MB generated capture
// held in memory (16 connections, 64 KiB and 1 MiB READs, TCP timestamps,
// delayed ACKs). One op is one packet, so allocs/op shows what the steady
// state allocates per packet (0); MB/s counts the capture's bytes.

var benchCapture = sync.OnceValue(func() []byte {
	var buf bytes.Buffer
	cfg := gencap.Config{Seed: 1, Size: 64 << 20, Conns: 16, BigRate: 0.25, NoAttrRate: 0.1,
		ReorderRate: 0.0005, RetransRate: 0.0005, Timestamps: true}
	if _, err := gencap.Write(&buf, cfg); err != nil {
		panic(err)
	}
	return buf.Bytes()
})

var benchPackets = sync.OnceValue(func() []capture.Packet {
	in, err := capture.OpenInputs([]string{"-"}, bytes.NewReader(benchCapture()))
	if err != nil {
		panic(err)
	}
	defer in.Close()
	var out []capture.Packet
	var p capture.Packet
	for in.Next(&p) == nil {
		q := p
		q.Data = bytes.Clone(p.Data)
		out = append(out, q)
	}
	return out
})

// perPacket sets the bytes of one op to the capture's mean per packet.
func perPacket(b *testing.B) {
	b.SetBytes(int64(len(benchCapture())) / int64(len(benchPackets())))
	b.ReportAllocs()
}

// BenchmarkDecode is link, IP and TCP header decoding.
func BenchmarkDecode(b *testing.B) {
	pkts := benchPackets()
	perPacket(b)
	d := tcpflow.NewDecoder()
	var s tcpflow.Segment
	i := 0
	for b.Loop() {
		if d.Decode(&pkts[i], &s) != tcpflow.SkipNone {
			b.Fatal("not decoded")
		}
		i++
		if i == len(pkts) {
			i = 0
		}
	}
}

// nopHandler takes the reassembled streams and does nothing with them.
type nopHandler struct{}

func (nopHandler) Segment(tcpflow.Dir, *tcpflow.Segment, tcpflow.Analysis, tcpflow.FrameRef) {}
func (nopHandler) Acked(tcpflow.Dir, int64, tcpflow.FrameRef)                                {}
func (nopHandler) Data(tcpflow.Dir, []byte, tcpflow.FrameRef)                                {}
func (nopHandler) Gap(tcpflow.Dir, int, tcpflow.FrameRef, tcpflow.GapReason)                 {}
func (nopHandler) Datagram(tcpflow.Dir, []byte, int, tcpflow.FrameRef)                       {}
func (nopHandler) Close(tcpflow.FrameRef, *tcpflow.TCPSummary)                               {}

// BenchmarkFlows is decoding, connection lookup, the tcp.analysis rules
// and reassembly, handing the bytes to a handler that ignores them.
func BenchmarkFlows(b *testing.B) {
	pkts := benchPackets()
	perPacket(b)
	newFlows := func() *tcpflow.Flows {
		return tcpflow.NewFlows([]uint16{2049}, tcpflow.DefaultLimits, func(*tcpflow.ConnInfo) tcpflow.ConnHandler { return nopHandler{} })
	}
	f := newFlows()
	i := 0
	for b.Loop() {
		if i == len(pkts) {
			// Replaying the same sequence numbers on the same
			// connections would be one long retransmission: start anew.
			b.StopTimer()
			f, i = newFlows(), 0
			b.StartTimer()
		}
		f.Packet(&pkts[i])
		i++
	}
}
