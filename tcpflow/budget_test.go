package tcpflow

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"testing"

	"github.com/nfsstall/nfsstall/internal/advconn"

	"github.com/nfsstall/nfsstall/capture"
)

// peakLiveHeap feeds a generated capture to f and returns the largest live
// heap (after a GC) seen every `every` packets and at the end, with f
// still in use.
func peakLiveHeap(t *testing.T, f *Flows, capBytes []byte, every int64) uint64 {
	t.Helper()
	in, err := capture.OpenInputs([]string{"-"}, bytes.NewReader(capBytes))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var peak uint64
	sample := func() {
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapAlloc)
	}
	var p capture.Packet
	for {
		err := in.Next(&p)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		f.Packet(&p)
		if f.Stats.Packets%every == 0 {
			sample()
		}
	}
	sample()
	runtime.KeepAlive(f)
	return peak
}

// TestClosedConnectionsLeaveTheSweepList: connections released early to
// make room (a flood of SYN+RST, far faster than one sweep a second of
// capture time) do not stay on the list of ended connections, and the
// memory they held is returned at once.
func TestClosedConnectionsLeaveTheSweepList(t *testing.T) {
	var buf bytes.Buffer
	if err := advconn.SynRst(&buf, 100000); err != nil { // 1 s of capture time
		t.Fatal(err)
	}
	limits := DefaultLimits
	limits.MaxConnections = 1000
	f := NewFlows([]uint16{serverPort}, limits, func(*ConnInfo) ConnHandler { return quietHandler{} })
	base := liveHeap()
	peak := peakLiveHeap(t, f, buf.Bytes(), 20000)
	if len(f.closing) > 2*limits.MaxConnections+64 {
		t.Errorf("%d connections on the closing list, the table holds %d", len(f.closing), limits.MaxConnections)
	}
	if grown := int64(peak) - int64(base); grown > 8<<20 {
		t.Errorf("live heap grew %d bytes for 100,000 short connections through a table of 1,000", grown)
	}
}

// TestBufferPoolReturnsOutsizedBuffers: out-of-order 60 KB segments queued
// behind a hole and then delivered leave no 60 KB buffer in the pool.
func TestBufferPoolReturnsOutsizedBuffers(t *testing.T) {
	var buf bytes.Buffer
	if err := advconn.OOOChurn(&buf, 6); err != nil {
		t.Fatal(err)
	}
	f := NewFlows([]uint16{serverPort}, DefaultLimits, func(*ConnInfo) ConnHandler { return quietHandler{} })
	base := liveHeap()
	peakLiveHeap(t, f, buf.Bytes(), 1<<40)
	var pooled int
	for c := range f.freeBufs {
		for _, b := range f.freeBufs[c] {
			pooled += cap(b)
		}
	}
	if pooled > 2<<20 {
		t.Errorf("the pool keeps %d bytes of buffers after the queues drained", pooled)
	}
	if grown := int64(liveHeap()) - int64(base); grown > 4<<20 {
		t.Errorf("live heap %d bytes above the start once every queue drained", grown)
	}
	runtime.KeepAlive(f)
}

func liveHeap() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestEvidenceTotalsBalance: the stall evidence all connections hold is
// counted against Limits.SentTotal and RetransTotal as it is taken and
// given back: with the total small, connections of unACKed segments hit
// it (and say so in Stats), and once every connection is released nothing
// is left counted.
func TestEvidenceTotalsBalance(t *testing.T) {
	var buf bytes.Buffer
	if err := advconn.Unacked(&buf, 20); err != nil {
		t.Fatal(err)
	}
	limits := DefaultLimits
	limits.SentTotal = 5000
	f := NewFlows([]uint16{serverPort}, limits, func(*ConnInfo) ConnHandler { return quietHandler{} })
	peakLiveHeap(t, f, buf.Bytes(), 1<<40)
	if f.ev.sent > limits.SentTotal {
		t.Errorf("%d transmissions remembered, the total is %d", f.ev.sent, limits.SentTotal)
	}
	if f.Stats.SentTotalForgotten == 0 {
		t.Errorf("the total was never reached")
	}
	f.Finish()
	if f.ev.sent != 0 || f.ev.runs != 0 || f.ev.zwins != 0 {
		t.Errorf("after Finish: %d transmissions, %d runs, %d zero-window episodes still counted", f.ev.sent, f.ev.runs, f.ev.zwins)
	}
}
