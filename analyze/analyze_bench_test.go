package analyze_test

import (
	"bytes"
	"sync"
	"testing"

	"github.com/nfsstall/nfsstall/analyze"
	"github.com/nfsstall/nfsstall/capture"
	"github.com/nfsstall/nfsstall/internal/gencap"
)

// benchConfig is a busy NFS server: 16 connections, 64 KiB and 1 MiB
// READs, delayed ACKs, TCP timestamps, a little reordering and loss.
var benchConfig = gencap.Config{Seed: 1, Size: 64 << 20, Conns: 16, BigRate: 0.25, NoAttrRate: 0.1,
	ReorderRate: 0.0005, RetransRate: 0.0005, Timestamps: true}

var benchCapture = sync.OnceValue(func() []byte {
	var buf bytes.Buffer
	if _, err := gencap.Write(&buf, benchConfig); err != nil {
		panic(err)
	}
	return buf.Bytes()
})

// memPackets reads a capture into memory, one Packet per frame.
func memPackets(tb testing.TB, capBytes []byte) []capture.Packet {
	in, err := capture.OpenInputs([]string{"-"}, bytes.NewReader(capBytes))
	if err != nil {
		tb.Fatal(err)
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
}

// BenchmarkRun is the whole analysis of a 64 MB capture read from memory:
// pcap reading, decoding, reassembly, TCP analysis, RPC framing and
// decoding, pairing, and the report (not rendered). One op is the capture.
func BenchmarkRun(b *testing.B) {
	for _, mode := range []struct {
		name       string
		sequential bool
	}{{"pipelined", false}, {"sequential", true}} {
		b.Run(mode.name, func(b *testing.B) {
			capBytes := benchCapture()
			b.SetBytes(int64(len(capBytes)))
			b.ReportAllocs()
			var packets int64
			for b.Loop() {
				in, err := capture.OpenInputs([]string{"-"}, bytes.NewReader(capBytes))
				if err != nil {
					b.Fatal(err)
				}
				opts := analyze.DefaultOptions()
				opts.Sequential = mode.sequential
				r, err := analyze.Run(in, opts)
				if err != nil {
					b.Fatal(err)
				}
				in.Close()
				packets = r.Captures[0].Packets
			}
			b.ReportMetric(float64(packets)*float64(b.N)/b.Elapsed().Seconds(), "packets/s")
		})
	}
}

// BenchmarkAnalyzerPacket is the per-packet path once packets are in
// memory: decode, reassembly, TCP analysis, framing, RPC decoding and
// pairing. One op is one packet; at steady state it allocates nothing.
func BenchmarkAnalyzerPacket(b *testing.B) {
	capBytes := benchCapture()
	pkts := memPackets(b, capBytes)
	b.SetBytes(int64(len(capBytes)) / int64(len(pkts)))
	b.ReportAllocs()
	a := analyze.New(analyze.DefaultOptions())
	i := 0
	for b.Loop() {
		if i == len(pkts) {
			// Start again on a fresh analyzer: replaying the same
			// sequence numbers would be one long retransmission.
			b.StopTimer()
			a, i = analyze.New(analyze.DefaultOptions()), 0
			b.StartTimer()
		}
		a.Packet(&pkts[i])
		i++
	}
}

// TestPacketPathNoAllocs holds the per-packet path to no heap allocation
// once the connections are open and their buffers have grown.
func TestPacketPathNoAllocs(t *testing.T) {
	cfg := benchConfig
	cfg.Size = 8 << 20
	var buf bytes.Buffer
	if _, err := gencap.Write(&buf, cfg); err != nil {
		t.Fatal(err)
	}
	a := analyze.New(analyze.DefaultOptions())
	if allocs := steadyAllocs(a, memPackets(t, buf.Bytes()), 100); allocs != 0 {
		t.Errorf("%.2f allocations per 100 packets at steady state, want 0", allocs)
	}
}

// steadyAllocs feeds a the first half of pkts, then measures the heap
// allocations per per packets over the second half: the per-packet path
// once the connections are open and their buffers have grown.
func steadyAllocs(a *analyze.Analyzer, pkts []capture.Packet, per int) float64 {
	warm := len(pkts) / 2
	for i := range warm {
		a.Packet(&pkts[i])
	}
	i := warm
	return testing.AllocsPerRun((len(pkts)-warm)/per-1, func() {
		for range per {
			a.Packet(&pkts[i])
			i++
		}
	})
}
