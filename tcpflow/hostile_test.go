package tcpflow

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/nfsstall/nfsstall/capture"
)

// Hostile input for the reassembler (the reader's is in capture's tests):
// the state it keeps is bounded, and the work per packet does not grow
// with what came before.

// quietHandler ignores everything it is handed.
type quietHandler struct{}

func (quietHandler) Segment(Dir, *Segment, Analysis, FrameRef) {}
func (quietHandler) Acked(Dir, int64, FrameRef)                {}
func (quietHandler) Data(Dir, []byte, FrameRef)                {}
func (quietHandler) Gap(Dir, int, FrameRef, GapReason)         {}
func (quietHandler) Datagram(Dir, []byte, int, FrameRef)       {}
func (quietHandler) Close(FrameRef, *TCPSummary)               {}

// TestQueueSegmentsBound: out-of-order segments with next to no captured
// bytes (a snaplen cut away their payload) still cost a buffer and a place
// in the queue, so they are bounded in number, not only in bytes.
func TestQueueSegmentsBound(t *testing.T) {
	limits := DefaultLimits
	limits.QueueSegments = 16
	// A hole at 10..12, then 100 one-byte segments behind it, each with a
	// hole of its own, in descending order: the worst order for a sorted
	// queue.
	pkts := []pkt{{seq: 10, ack: 1, flags: ack, data: "aa"}}
	for i := 100; i > 0; i-- {
		pkts = append(pkts, pkt{seq: uint32(100 + 2*i), ack: 1, flags: ack, data: "x"})
	}
	_, f := replay(t, limits, pkts...)
	if f.Stats.ForcedGaps == 0 {
		t.Fatal("no hole declared lost")
	}
	if f.queuedN != 0 || f.queued != 0 {
		t.Errorf("%d segments, %d bytes still counted as queued", f.queuedN, f.queued)
	}
	longest := 0
	f2 := NewFlows([]uint16{serverPort}, limits, func(*ConnInfo) ConnHandler { return quietHandler{} })
	for i, p := range pkts {
		f2.Packet(&capture.Packet{Frame: int64(i + 1), Time: int64(i+1) * 1e6, Data: build(t, p), LinkType: layers.LinkTypeEthernet})
		for c := range f2.conns.all() {
			longest = max(longest, len(c.halves[ToClient].queue))
		}
	}
	if longest > limits.QueueSegments {
		t.Errorf("queue held %d segments, limit %d", longest, limits.QueueSegments)
	}
}

// TestSweepCostBounded: connections that end are swept once a second of
// capture time, and a sweep looks only at the connections that ended and
// are not yet released: with one connection reset per second, the list a
// sweep walks stays at CloseIdle's worth, however many came before, even
// when timestamps jump back and forth.
func TestSweepCostBounded(t *testing.T) {
	f := NewFlows([]uint16{serverPort}, DefaultLimits, func(*ConnInfo) ConnHandler { return quietHandler{} })
	longest := 0
	for i := range 2000 {
		ts := int64(i) * 1e9
		if i%7 == 3 {
			ts -= 500e9 // a packet from the past
		}
		p := build(t, pkt{toServer: true, seq: 1, flags: FlagRST, srcPort: uint16(1024 + i)})
		f.Packet(&capture.Packet{Frame: int64(i + 1), Time: ts, Data: p, LinkType: layers.LinkTypeEthernet})
		longest = max(longest, len(f.closing))
	}
	if bound := int(DefaultLimits.CloseIdle/1e9) + 3; longest > bound {
		t.Errorf("a sweep walked %d connections, want at most %d", longest, bound)
	}
	if f.conns.len() > 40 {
		t.Errorf("%d connections still tracked", f.conns.len())
	}
}

// TestConnectionTableBound: a flood of new connections that never end
// (and carry RPC, so they are not released for room) fills the table; then
// new ones are refused and counted, and the table is scanned for room once
// per MaxConnections/16 refusals, not per packet.
func TestConnectionTableBound(t *testing.T) {
	limits := DefaultLimits
	limits.MaxConnections = 160
	opened := 0
	f := NewFlows([]uint16{serverPort}, limits, func(info *ConnInfo) ConnHandler {
		opened++
		info.CarriedRPC = true
		return quietHandler{}
	})
	const n = 5000
	for i := range n {
		p := build(t, pkt{toServer: true, seq: 1, flags: FlagSYN, srcPort: uint16(1024 + i)})
		f.Packet(&capture.Packet{Frame: int64(i + 1), Time: int64(i) * 1e6, Data: p, LinkType: layers.LinkTypeEthernet})
	}
	if opened != limits.MaxConnections || f.conns.len() != limits.MaxConnections {
		t.Errorf("%d connections opened, %d tracked, want %d", opened, f.conns.len(), limits.MaxConnections)
	}
	if got := f.Stats.Skipped[SkipConnLimit]; got != n-int64(limits.MaxConnections) {
		t.Errorf("%d packets refused, want %d", got, n-limits.MaxConnections)
	}
	// One scan, then one per 11 refusals (10 refused without a scan).
	if want := (n - limits.MaxConnections + 10) / 11; f.Stats.TableScans > int64(want)+1 {
		t.Errorf("%d scans of the table for %d refusals", f.Stats.TableScans, n-limits.MaxConnections)
	}
	// Idle long enough, they make room.
	p := build(t, pkt{toServer: true, seq: 1, flags: FlagSYN, srcPort: 9999})
	f.scanCredit = 0
	f.Packet(&capture.Packet{Frame: n + 1, Time: 3600e9, Data: p, LinkType: layers.LinkTypeEthernet})
	if opened != limits.MaxConnections+1 || f.Stats.Evicted != int64(limits.MaxConnections) || f.conns.len() != 1 {
		t.Errorf("after an hour: %d opened, %d evicted, %d tracked", opened, f.Stats.Evicted, f.conns.len())
	}
}

// TestConnectionTableReleasesQuiet: a full table releases connections
// that never carried RPC, the least recently active first, never one that
// did: a flood of SYNs cannot keep out a connection, nor push out one that
// carries RPC. The table is scanned once per MaxConnections/16 new
// connections.
func TestConnectionTableReleasesQuiet(t *testing.T) {
	limits := DefaultLimits
	limits.MaxConnections = 160
	var infos []*ConnInfo
	var released []int // connection IDs, in the order they were released
	f := NewFlows([]uint16{serverPort}, limits, func(info *ConnInfo) ConnHandler {
		infos = append(infos, info)
		return closeRecorder{id: info.ID, closed: &released}
	})
	frame := int64(0)
	syn := func(port uint16) {
		frame++
		p := build(t, pkt{toServer: true, seq: 1, flags: FlagSYN, srcPort: port})
		f.Packet(&capture.Packet{Frame: frame, Time: frame * 1e6, Data: p, LinkType: layers.LinkTypeEthernet})
	}
	// 80 connections carry RPC; between them 80 carry nothing.
	for i := range 160 {
		syn(uint16(1024 + i))
		infos[i].CarriedRPC = i%2 == 0
	}
	syn(1024 + 1) // the oldest quiet one is active again: released last
	const flood = 5000
	for i := range flood {
		syn(uint16(10000 + i))
	}
	if got := f.Stats.Skipped[SkipConnLimit]; got != 0 {
		t.Errorf("%d packets refused, want none", got)
	}
	if f.conns.len() > limits.MaxConnections {
		t.Errorf("%d connections tracked", f.conns.len())
	}
	for i := 0; i < 160; i += 2 {
		if c := f.conns.get(&connKey{server: infos[i].Server, client: infos[i].Client, proto: ProtoTCP}); c == nil || c.gone {
			t.Fatalf("connection %d, which carried RPC, was released", infos[i].ID)
		}
	}
	if want := int64(flood + 80 - (limits.MaxConnections - 80)); f.Stats.EvictedQuiet != want || f.Stats.Evicted != want {
		t.Errorf("%d released (%d quiet), want %d", f.Stats.Evicted, f.Stats.EvictedQuiet, want)
	}
	if per := int64(flood / (limits.MaxConnections / 16)); f.Stats.TableScans > per+2 {
		t.Errorf("%d scans of the table for %d new connections, want at most %d", f.Stats.TableScans, flood, per+2)
	}
	// The first room made released a sixteenth of the table: the quiet
	// connections least recently active (IDs 4, 6, ...: 2 was active again).
	want := []int{4, 6, 8, 10, 12, 14, 16, 18, 20, 22}
	if len(released) < len(want) || fmt.Sprint(released[:len(want)]) != fmt.Sprint(want) {
		t.Errorf("released first %v, want %v", released[:min(len(released), len(want))], want)
	}
	if i := slices.Index(released, 2); i < 79 {
		t.Errorf("connection 2, active again, released %dth", i+1)
	}
}

// closeRecorder notes when its connection is released.
type closeRecorder struct {
	quietHandler
	id     int
	closed *[]int
}

func (h closeRecorder) Close(FrameRef, *TCPSummary) { *h.closed = append(*h.closed, h.id) }

// TestOneWaySentLogBounded: a one-way capture (the peer's ACKs are never
// seen) keeps at most maxSentLog transmissions per direction and counts
// those it forgets.
func TestOneWaySentLogBounded(t *testing.T) {
	var sum *TCPSummary
	f := NewFlows([]uint16{serverPort}, DefaultLimits, func(*ConnInfo) ConnHandler { return &sumKeeper{sum: &sum} })
	const n = 20000
	for i := range n {
		p := build(t, pkt{toServer: true, seq: uint32(1 + 10*i), ack: 1, flags: ack, data: "0123456789"})
		f.Packet(&capture.Packet{Frame: int64(i + 1), Time: int64(i) * 1e3, Data: p, LinkType: layers.LinkTypeEthernet})
		for c := range f.conns.all() {
			if l := len(c.trk[ToServer].sent); l > maxSentLog {
				t.Fatalf("%d transmissions remembered", l)
			}
		}
	}
	f.Finish()
	if sum == nil || sum.SentForgotten < n-maxSentLog {
		t.Errorf("forgotten: %+v", sum)
	}
}

type sumKeeper struct {
	quietHandler
	sum **TCPSummary
}

func (s *sumKeeper) Close(_ FrameRef, sum *TCPSummary) { *s.sum = sum }

// TestLeastRecent: the selection finds the n least recently active
// connections, in order, as a full sort would, ties broken by ID.
func TestLeastRecent(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		cs := make([]*conn, 1+rng.IntN(300))
		for i := range cs {
			cs[i] = &conn{last: int64(rng.IntN(50)), info: ConnInfo{ID: i + 1}}
		}
		rng.Shuffle(len(cs), func(i, j int) { cs[i], cs[j] = cs[j], cs[i] })
		want := slices.Clone(cs)
		slices.SortFunc(want, func(a, b *conn) int {
			if a.last != b.last {
				return int(a.last - b.last)
			}
			return a.info.ID - b.info.ID
		})
		n := 1 + rng.IntN(len(cs))
		leastRecent(cs, n)
		for i := range n {
			if cs[i] != want[i] {
				t.Fatalf("trial %d: %d of %d: position %d is connection %d, want %d", trial, n, len(cs), i, cs[i].info.ID, want[i].info.ID)
			}
		}
	}
}
