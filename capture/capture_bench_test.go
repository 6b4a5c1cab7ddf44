package capture_test

import (
	"bytes"
	"io"
	"sync"
	"testing"

	"github.com/nfsstall/nfsstall/capture"
	"github.com/nfsstall/nfsstall/internal/gencap"
)

// The benchmark here measures reading on the 64 MB generated capture of
// tcpflow's benchmarks, held in memory (16 connections, 64 KiB and 1 MiB
// READs, TCP timestamps, delayed ACKs). One op is one packet, so allocs/op
// shows what the steady state allocates per packet (0); MB/s counts the
// capture's bytes.

var benchCapture = sync.OnceValue(func() []byte {
	var buf bytes.Buffer
	cfg := gencap.Config{Seed: 1, Size: 64 << 20, Conns: 16, BigRate: 0.25, NoAttrRate: 0.1,
		ReorderRate: 0.0005, RetransRate: 0.0005, Timestamps: true}
	if _, err := gencap.Write(&buf, cfg); err != nil {
		panic(err)
	}
	return buf.Bytes()
})

var benchPackets = sync.OnceValue(func() int64 {
	in, err := capture.OpenInputs([]string{"-"}, bytes.NewReader(benchCapture()))
	if err != nil {
		panic(err)
	}
	defer in.Close()
	var n int64
	var p capture.Packet
	for in.Next(&p) == nil {
		n++
	}
	return n
})

// perPacket sets the bytes of one op to the capture's mean per packet.
func perPacket(b *testing.B) {
	b.SetBytes(int64(len(benchCapture())) / benchPackets())
	b.ReportAllocs()
}

// BenchmarkReadPcap is reading packets from a pcap stream (what comes
// from the page cache is here a bytes.Reader).
func BenchmarkReadPcap(b *testing.B) {
	data := benchCapture()
	perPacket(b)
	open := func() *capture.File {
		f, err := capture.Open("-", bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		return f
	}
	f := open()
	var p capture.Packet
	for b.Loop() {
		if err := f.Next(&p); err == io.EOF {
			b.StopTimer()
			f = open()
			b.StartTimer()
		}
	}
}
