package tcpflow

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/nfsstall/nfsstall/capture"
)

// Hand-built IP fragments, IPv4 and IPv6: every order, duplicates,
// overlaps, a missing fragment, the timeout and the bounds.

var (
	fragClient4 = [4]byte{198, 18, 0, 1}
	fragServer4 = [4]byte{198, 18, 0, 2}
	fragClient6 = [16]byte{0x20, 0x01, 0x0d, 0xb8, 15: 1}
	fragServer6 = [16]byte{0x20, 0x01, 0x0d, 0xb8, 15: 2}
)

// udpPayload is a UDP datagram (header and n payload bytes, a pattern
// that shows where each byte went) from the client's port to dport.
func udpPayload(dport uint16, n int, seed byte) []byte {
	b := make([]byte, 8+n)
	binary.BigEndian.PutUint16(b[0:], clientPort)
	binary.BigEndian.PutUint16(b[2:], dport)
	binary.BigEndian.PutUint16(b[4:], uint16(8+n))
	for i := range n {
		b[8+i] = byte(i*7) ^ byte(i>>8) ^ seed
	}
	return b
}

// tcpPayload is a TCP segment (20-byte header, ACK|PSH, seq 1000) to the
// server carrying data.
func tcpPayload(data []byte) []byte {
	b := make([]byte, 20, 20+len(data))
	binary.BigEndian.PutUint16(b[0:], clientPort)
	binary.BigEndian.PutUint16(b[2:], serverPort)
	binary.BigEndian.PutUint32(b[4:], 1000)
	binary.BigEndian.PutUint32(b[8:], 1)
	b[12], b[13] = 5<<4, FlagACK|FlagPSH
	binary.BigEndian.PutUint16(b[14:], 512)
	return append(b, data...)
}

// piece is one fragment to build: bytes off..off+n of a datagram's IP
// payload, more fragments following or not.
type piece struct {
	off, n int
	more   bool
}

// split cuts an IP payload of n bytes into fragments of at most size bytes
// (a multiple of 8), in order.
func split(n, size int) []piece {
	var out []piece
	for off := 0; off < n; off += size {
		out = append(out, piece{off, min(size, n-off), off+size < n})
	}
	return out
}

// frag4 is an Ethernet/IPv4 frame carrying piece pc of ip (a datagram's
// IP payload, of protocol proto) as a fragment of datagram id, client to
// server.
func frag4(proto layers.IPProtocol, id uint16, ip []byte, pc piece) []byte {
	b := make([]byte, 14+20, 14+20+pc.n)
	b[12], b[13] = 0x08, 0x00
	h := b[14:]
	h[0] = 0x45
	binary.BigEndian.PutUint16(h[2:], uint16(20+pc.n))
	binary.BigEndian.PutUint16(h[4:], id)
	fl := uint16(pc.off / 8)
	if pc.more {
		fl |= 0x2000
	}
	binary.BigEndian.PutUint16(h[6:], fl)
	h[8], h[9] = 64, byte(proto)
	copy(h[12:], fragClient4[:])
	copy(h[16:], fragServer4[:])
	return append(b, ip[pc.off:pc.off+pc.n]...)
}

// frag6 is the same over IPv6, with a Fragment header (behind a Hop-by-Hop
// and a Destination Options header when ext is set).
func frag6(proto layers.IPProtocol, id uint32, ip []byte, pc piece, ext bool) []byte {
	b := make([]byte, 14+40, 14+40+16+8+pc.n)
	b[12], b[13] = 0x86, 0xdd
	h := b[14:]
	h[0] = 0x60
	h[6], h[7] = ip6Fragment, 64
	copy(h[8:], fragClient6[:])
	copy(h[24:], fragServer6[:])
	if ext {
		h[6] = 0                                        // Hop-by-Hop,
		b = append(b, ip6DestOpts, 0, 1, 4, 0, 0, 0, 0) // then Destination Options (PadN),
		b = append(b, ip6Fragment, 0, 1, 4, 0, 0, 0, 0) // then Fragment
	}
	fh := make([]byte, 8)
	fh[0] = byte(proto)
	fl := uint16(pc.off)
	if pc.more {
		fl |= 1
	}
	binary.BigEndian.PutUint16(fh[2:], fl)
	binary.BigEndian.PutUint32(fh[4:], id)
	b = append(b, fh...)
	b = append(b, ip[pc.off:pc.off+pc.n]...)
	binary.BigEndian.PutUint16(b[14+4:], uint16(len(b)-14-40))
	return b
}

// got is a datagram or segment a handler was handed.
type got struct {
	dir     Dir
	payload []byte
	wireLen int
	at      FrameRef
}

type fragHandler struct {
	quietHandler
	out *[]got
}

func (h fragHandler) Datagram(d Dir, p []byte, wireLen int, at FrameRef) {
	*h.out = append(*h.out, got{d, bytes.Clone(p), wireLen, at})
}

func (h fragHandler) Data(d Dir, p []byte, at FrameRef) {
	*h.out = append(*h.out, got{d, bytes.Clone(p), len(p), at})
}

// fragRun feeds frames to a Flows analysing the server port.
type fragRun struct {
	t     *testing.T
	f     *Flows
	out   []got
	frame int64
}

func newFragRun(t *testing.T, limits Limits) *fragRun {
	r := &fragRun{t: t}
	r.f = NewFlows([]uint16{serverPort}, limits, func(*ConnInfo) ConnHandler { return fragHandler{out: &r.out} })
	return r
}

// feed feeds one frame at capture time ns and returns its frame number.
func (r *fragRun) feed(ns int64, data []byte) int64 {
	r.frame++
	r.f.Packet(&capture.Packet{Frame: r.frame, Time: ns, Data: data, Length: len(data), LinkType: layers.LinkTypeEthernet})
	return r.frame
}

// skipped returns the non-zero skip counts, as text.
func (r *fragRun) skipped() string {
	var b strings.Builder
	for _, reason := range r.f.Stats.SkipReasons() {
		fmt.Fprintf(&b, "%d %s; ", r.f.Stats.Skipped[reason], reason)
	}
	return b.String()
}

// finish ends the capture and checks every packet is accounted for: in a
// datagram handed on (delivered frames), or skipped.
func (r *fragRun) finish(delivered int64) {
	r.t.Helper()
	r.f.Finish()
	var skipped int64
	for _, n := range r.f.Stats.Skipped {
		skipped += n
	}
	if r.f.Stats.Packets != delivered+skipped {
		r.t.Errorf("%d packets: %d in datagrams handed on and %d skipped (%s)", r.f.Stats.Packets, delivered, skipped, r.skipped())
	}
	if d := r.f.frags; d.n != 0 || len(d.table) != 0 || d.held != 0 || d.oldest != nil {
		r.t.Errorf("after the end: %d datagrams, %d in the table, %d bytes held", d.n, len(d.table), d.held)
	}
}

// ipVersions runs a test over IPv4, IPv6, and IPv6 with extension headers
// before the Fragment header.
var ipVersions = []struct {
	name string
	frag func(proto layers.IPProtocol, id uint32, ip []byte, pc piece) []byte
}{
	{"ipv4", func(proto layers.IPProtocol, id uint32, ip []byte, pc piece) []byte {
		return frag4(proto, uint16(id), ip, pc)
	}},
	{"ipv6", func(proto layers.IPProtocol, id uint32, ip []byte, pc piece) []byte {
		return frag6(proto, id, ip, pc, false)
	}},
	{"ipv6-ext", func(proto layers.IPProtocol, id uint32, ip []byte, pc piece) []byte {
		return frag6(proto, id, ip, pc, true)
	}},
}

// TestDefragOrders: a datagram in 4 fragments, in every kind of order, and
// with duplicates, is handed on once, whole, at the frame (and time) of
// the fragment that completed it.
func TestDefragOrders(t *testing.T) {
	dg := udpPayload(serverPort, 4992, 1) // 5000 bytes: fragments of 1480, 1480, 1480, 560
	pcs := split(len(dg), 1480)
	for _, v := range ipVersions {
		for _, tt := range []struct {
			name  string
			order []int
			dups  int64
		}{
			{"in order", []int{0, 1, 2, 3}, 0},
			{"reversed", []int{3, 2, 1, 0}, 0},
			{"shuffled", []int{1, 3, 0, 2}, 0},
			{"duplicate", []int{0, 1, 1, 2, 3}, 1},
			{"duplicate last", []int{3, 0, 3, 1, 3, 2}, 2},
		} {
			t.Run(v.name+"/"+tt.name, func(t *testing.T) {
				r := newFragRun(t, DefaultLimits)
				var last int64
				for i, k := range tt.order {
					last = r.feed(int64(i+1)*1e6, v.frag(layers.IPProtocolUDP, 7, dg, pcs[k]))
				}
				if len(r.out) != 1 {
					t.Fatalf("%d datagrams handed on, want 1", len(r.out))
				}
				g := r.out[0]
				if !bytes.Equal(g.payload, dg[8:]) || g.wireLen != len(dg)-8 || g.dir != ToServer {
					t.Errorf("handed on %d bytes (wire %d, %v), want the %d-byte payload", len(g.payload), g.wireLen, g.dir, len(dg)-8)
				}
				if g.at.Frame != last || g.at.Time != last*1e6 {
					t.Errorf("handed on at frame %d time %d, want the last fragment's, %d", g.at.Frame, g.at.Time, last)
				}
				if r.f.Stats.Skipped[SkipFragDuplicate] != tt.dups || r.f.Stats.Fragments != int64(len(tt.order)) || r.f.Stats.Reassembled != 1 {
					t.Errorf("stats %+v; skipped %s", r.f.Stats, r.skipped())
				}
				r.finish(4)
			})
		}
	}
}

// TestDefragInterleaved: fragments of several datagrams, interleaved, and
// the same identification from the other direction, are kept apart.
func TestDefragInterleaved(t *testing.T) {
	a, b := udpPayload(serverPort, 3000, 1), udpPayload(serverPort, 3000, 2)
	pa, pb := split(len(a), 1480), split(len(b), 1480)
	r := newFragRun(t, DefaultLimits)
	r.feed(1, frag4(layers.IPProtocolUDP, 1, a, pa[0]))
	r.feed(2, frag4(layers.IPProtocolUDP, 2, b, pb[2]))
	r.feed(3, frag4(layers.IPProtocolUDP, 2, b, pb[0]))
	r.feed(4, frag6(layers.IPProtocolUDP, 1, a, pa[1], false)) // same id over IPv6: another datagram
	r.feed(5, frag4(layers.IPProtocolUDP, 1, a, pa[2]))
	r.feed(6, frag4(layers.IPProtocolUDP, 2, b, pb[1]))
	r.feed(7, frag4(layers.IPProtocolUDP, 1, a, pa[1]))
	if len(r.out) != 2 || !bytes.Equal(r.out[0].payload, b[8:]) || r.out[0].at.Frame != 6 ||
		!bytes.Equal(r.out[1].payload, a[8:]) || r.out[1].at.Frame != 7 {
		t.Fatalf("handed on %+v", r.out)
	}
	r.finish(6)
	if r.f.Stats.Skipped[SkipFragEnd] != 1 || r.f.Stats.FragDropped[SkipFragEnd] != 1 {
		t.Errorf("skipped %s", r.skipped())
	}
}

// TestDefragOverlap: fragments that overlap, other than exact duplicates,
// or disagree on the datagram's end drop the datagram whole, as the
// receiving host does; the fragments after the drop start a new datagram
// that never completes.
func TestDefragOverlap(t *testing.T) {
	dg := udpPayload(serverPort, 4992, 1)
	for _, v := range ipVersions {
		for _, tt := range []struct {
			name    string
			pcs     []piece
			dropped int64 // fragments counted as overlapping
			end     int64 // fragments counted as incomplete at the end
		}{
			{"overlap", []piece{{0, 1480, true}, {8, 1480, true}, {1488, 1480, true}, {2968, 2032, false}}, 2, 2},
			{"inside two", []piece{{0, 1480, true}, {1480, 1480, true}, {8, 1480, true}, {2960, 2040, false}}, 3, 1},
			{"inside one", []piece{{0, 2960, true}, {1480, 1480, true}, {2960, 2040, false}}, 2, 1},
			{"two ends", []piece{{2960, 2040, false}, {0, 1480, true}, {2960, 1480, false}, {1480, 1480, true}}, 3, 1},
			{"data beyond the end", []piece{{2960, 1480, false}, {0, 1480, true}, {4440, 560, true}}, 3, 0},
			{"end before data", []piece{{2960, 1480, true}, {1480, 8, false}}, 2, 0},
			{"empty", []piece{{0, 1480, true}, {1480, 0, true}}, 2, 0},
		} {
			t.Run(v.name+"/"+tt.name, func(t *testing.T) {
				r := newFragRun(t, DefaultLimits)
				for i, pc := range tt.pcs {
					r.feed(int64(i+1)*1e6, v.frag(layers.IPProtocolUDP, 9, dg, pc))
				}
				if len(r.out) != 0 {
					t.Errorf("handed on %d datagrams", len(r.out))
				}
				r.finish(0)
				st := &r.f.Stats
				if st.Skipped[SkipFragOverlap] != tt.dropped || st.FragDropped[SkipFragOverlap] != 1 || st.Skipped[SkipFragEnd] != tt.end {
					t.Errorf("skipped %s, want %d overlapping (one datagram), %d incomplete", r.skipped(), tt.dropped, tt.end)
				}
			})
		}
	}
}

// TestDefragTrim: a fragment followed by more whose length is not a
// multiple of 8 is cut to one, as Linux does; the next fragment starts
// where the cut one ends.
func TestDefragTrim(t *testing.T) {
	dg := udpPayload(serverPort, 2992, 1)
	r := newFragRun(t, DefaultLimits)
	r.feed(1, frag4(layers.IPProtocolUDP, 3, dg, piece{0, 1483, true}))
	r.feed(2, frag4(layers.IPProtocolUDP, 3, dg, piece{1480, 1520, false}))
	if len(r.out) != 1 || !bytes.Equal(r.out[0].payload, dg[8:]) {
		t.Fatalf("handed on %+v", r.out)
	}
	r.finish(2)
}

// TestDefragMissing: a datagram whose last (or any) fragment never comes is
// never handed on; the end of the capture counts its fragments.
func TestDefragMissing(t *testing.T) {
	dg := udpPayload(serverPort, 4992, 1)
	pcs := split(len(dg), 1480)
	for _, v := range ipVersions {
		for _, missing := range []int{3, 1} {
			r := newFragRun(t, DefaultLimits)
			for i, pc := range pcs {
				if i != missing {
					r.feed(int64(i)*1e6, v.frag(layers.IPProtocolUDP, 5, dg, pc))
				}
			}
			r.finish(0)
			if len(r.out) != 0 || r.f.Stats.Skipped[SkipFragEnd] != 3 || r.f.Stats.FragDropped[SkipFragEnd] != 1 {
				t.Errorf("%s, fragment %d missing: %d handed on, skipped %s", v.name, missing, len(r.out), r.skipped())
			}
		}
	}
}

// TestDefragTimeout: a datagram incomplete 30 s (capture time) after its
// first fragment is dropped, whether later fragments or other packets
// move the clock; a timestamp going back does not revive it.
func TestDefragTimeout(t *testing.T) {
	dg := udpPayload(serverPort, 4992, 1)
	pcs := split(len(dg), 1480)
	for _, v := range ipVersions {
		t.Run(v.name, func(t *testing.T) {
			r := newFragRun(t, DefaultLimits)
			r.feed(0, v.frag(layers.IPProtocolUDP, 1, dg, pcs[0]))
			r.feed(1e9, v.frag(layers.IPProtocolUDP, 1, dg, pcs[1]))
			r.feed(30e9, v.frag(layers.IPProtocolUDP, 1, dg, pcs[2])) // 30 s: not yet
			if r.f.Stats.Skipped[SkipFragTimeout] != 0 {
				t.Fatalf("dropped at 30 s: %s", r.skipped())
			}
			// Fragments of another datagram, complete, 31 s after the first.
			for i, pc := range pcs {
				r.feed(31e9+int64(i), v.frag(layers.IPProtocolUDP, 2, dg, pc))
			}
			if r.f.Stats.Skipped[SkipFragTimeout] != 3 || r.f.Stats.FragDropped[SkipFragTimeout] != 1 || len(r.out) != 1 {
				t.Errorf("after 31 s: %d handed on, skipped %s", len(r.out), r.skipped())
			}
			// The late last fragment, with a timestamp from the past, starts
			// a new datagram.
			r.feed(2e9, v.frag(layers.IPProtocolUDP, 1, dg, pcs[3]))
			r.finish(4)
			if r.f.Stats.Skipped[SkipFragEnd] != 1 || len(r.out) != 1 {
				t.Errorf("at the end: %d handed on, skipped %s", len(r.out), r.skipped())
			}
		})
	}
	// Analysed packets move the clock too (once a second, with the sweep
	// of ended connections): no fragment needs to come.
	r := newFragRun(t, DefaultLimits)
	r.feed(0, frag4(layers.IPProtocolUDP, 1, dg, pcs[0]))
	for s := int64(1); s <= 32; s++ {
		r.feed(s*1e9, build(t, pkt{toServer: true, seq: 1, flags: ack}))
	}
	if r.f.Stats.Skipped[SkipFragTimeout] != 1 || r.f.frags.n != 0 {
		t.Errorf("after 32 s of other packets: skipped %s, %d in reassembly", r.skipped(), r.f.frags.n)
	}
	r.finish(32)
}

// TestDefragTableFull: with room for 4 datagrams, a fifth drops the
// oldest; the others still complete.
func TestDefragTableFull(t *testing.T) {
	limits := DefaultLimits
	limits.FragDatagrams = 4
	dg := udpPayload(serverPort, 2000, 1)
	pcs := split(len(dg), 1480)
	for _, v := range ipVersions {
		r := newFragRun(t, limits)
		for id := range uint32(6) {
			r.feed(int64(id), v.frag(layers.IPProtocolUDP, id, dg, pcs[0]))
			if r.f.frags.n > limits.FragDatagrams {
				t.Fatalf("%d datagrams in reassembly", r.f.frags.n)
			}
		}
		// 0 and 1 were dropped for 4 and 5; 5, 4, 3 and 2 complete, and
		// the second fragments of 1 and 0 start datagrams that never do.
		for id := uint32(6); id > 0; id-- {
			r.feed(10+int64(id), v.frag(layers.IPProtocolUDP, id-1, dg, pcs[1]))
		}
		st := &r.f.Stats
		if len(r.out) != 4 || st.Skipped[SkipFragTableFull] != 2 || st.FragDropped[SkipFragTableFull] != 2 {
			t.Errorf("%s: %d handed on, skipped %s", v.name, len(r.out), r.skipped())
		}
		r.finish(8)
		if st.Skipped[SkipFragEnd] != 2 {
			t.Errorf("%s: at the end: skipped %s", v.name, r.skipped())
		}
	}
}

// TestDefragBytesFull: the reassembly buffers are bounded in bytes: past
// the bound the oldest datagrams are dropped, and a datagram that alone
// would hold more is dropped itself.
func TestDefragBytesFull(t *testing.T) {
	limits := DefaultLimits
	limits.FragBytes = 20 << 10
	dg := udpPayload(serverPort, 5992, 1) // its last fragment, at 4440, needs an 8 KiB buffer
	pcs := split(len(dg), 1480)
	for _, v := range ipVersions {
		r := newFragRun(t, limits)
		for id := range uint32(4) {
			r.feed(int64(id), v.frag(layers.IPProtocolUDP, id, dg, pcs[len(pcs)-1]))
			if r.f.frags.held > limits.FragBytes {
				t.Fatalf("%d bytes held", r.f.frags.held)
			}
		}
		st := &r.f.Stats
		if st.Skipped[SkipFragBytesFull] != 2 || st.FragDropped[SkipFragBytesFull] != 2 {
			t.Errorf("%s: skipped %s, want 2 dropped for room", v.name, r.skipped())
		}
		// The two kept still complete.
		for id := uint32(2); id < 4; id++ {
			for _, pc := range pcs[:len(pcs)-1] {
				r.feed(10, v.frag(layers.IPProtocolUDP, id, dg, pc))
			}
		}
		if len(r.out) != 2 || !bytes.Equal(r.out[1].payload, dg[8:]) {
			t.Errorf("%s: %d handed on", v.name, len(r.out))
		}
		r.finish(2 * int64(len(pcs)))
	}
	// Room for less than one datagram: it is dropped itself.
	limits.FragBytes = 4 << 10
	r := newFragRun(t, limits)
	r.feed(1, frag4(layers.IPProtocolUDP, 1, dg, pcs[0]))
	r.feed(2, frag4(layers.IPProtocolUDP, 1, dg, pcs[len(pcs)-1]))
	if r.f.Stats.Skipped[SkipFragBytesFull] != 2 || r.f.frags.n != 0 || r.f.frags.held != 0 {
		t.Errorf("skipped %s, %d datagrams, %d bytes held", r.skipped(), r.f.frags.n, r.f.frags.held)
	}
	r.finish(0)
}

// TestDefragTooLong: a fragment reaching past the largest IP datagram
// (65535 bytes with the IPv4 header; 65535 bytes of IPv6 payload, Fragment
// header included) is dropped with its datagram.
func TestDefragTooLong(t *testing.T) {
	big := make([]byte, 65536+2048)
	copy(big, udpPayload(serverPort, 8, 1))
	for _, v := range ipVersions {
		r := newFragRun(t, DefaultLimits)
		r.feed(1, v.frag(layers.IPProtocolUDP, 1, big, piece{0, 1480, true}))
		r.feed(2, v.frag(layers.IPProtocolUDP, 1, big, piece{63520, 1480, false})) // ends at 65000: fits
		r.feed(3, v.frag(layers.IPProtocolUDP, 2, big, piece{0, 1480, true}))
		r.feed(4, v.frag(layers.IPProtocolUDP, 2, big, piece{65528, 8, false})) // ends at 65536
		r.finish(0)
		st := &r.f.Stats
		if st.Skipped[SkipFragTooLong] != 2 || st.FragDropped[SkipFragTooLong] != 1 || st.Skipped[SkipFragEnd] != 2 {
			t.Errorf("%s: skipped %s", v.name, r.skipped())
		}
	}
	// The exact IPv4 limit: 65535 - 20 bytes of payload.
	r := newFragRun(t, DefaultLimits)
	dg := udpPayload(serverPort, 65515-8, 1)
	for _, pc := range split(len(dg), 65000) {
		r.feed(1, frag4(layers.IPProtocolUDP, 1, dg, pc))
	}
	r.feed(2, frag4(layers.IPProtocolUDP, 2, big, piece{65512, 4, false}))
	if len(r.out) != 1 || len(r.out[0].payload) != 65515-8 || r.f.Stats.Skipped[SkipFragTooLong] != 1 {
		t.Errorf("%d handed on, skipped %s", len(r.out), r.skipped())
	}
	r.finish(2)
	// The exact IPv6 limit: 65535 bytes of payload, 8 of them the
	// Fragment header.
	r = newFragRun(t, DefaultLimits)
	dg = udpPayload(serverPort, 65527-8, 1)
	for _, pc := range split(len(dg), 65000) {
		r.feed(1, frag6(layers.IPProtocolUDP, 1, dg, pc, false))
	}
	r.feed(2, frag6(layers.IPProtocolUDP, 2, big, piece{65520, 8, false}, false))
	if len(r.out) != 1 || len(r.out[0].payload) != 65527-8 || r.f.Stats.Skipped[SkipFragTooLong] != 1 {
		t.Errorf("IPv6: %d handed on, skipped %s", len(r.out), r.skipped())
	}
	r.finish(2)
}

// TestDefragOtherPort: whether a datagram is analysed is known from its
// first fragment: on other ports, its bytes are not kept from then on and
// its fragments count as not on an analysed port, however it ends.
func TestDefragOtherPort(t *testing.T) {
	dg := udpPayload(53, 4992, 1)
	pcs := split(len(dg), 1480)
	for _, v := range ipVersions {
		r := newFragRun(t, DefaultLimits)
		// First fragment first: nothing held after it.
		for i, pc := range pcs {
			r.feed(int64(i), v.frag(layers.IPProtocolUDP, 1, dg, pc))
			if r.f.frags.held != 0 {
				t.Errorf("%s: %d bytes held for a datagram to port 53", v.name, r.f.frags.held)
			}
		}
		// First fragment last: held until then.
		for i := len(pcs) - 1; i >= 0; i-- {
			r.feed(10, v.frag(layers.IPProtocolUDP, 2, dg, pcs[i]))
		}
		// Incomplete, with a duplicate.
		r.feed(11, v.frag(layers.IPProtocolUDP, 3, dg, pcs[0]))
		r.feed(12, v.frag(layers.IPProtocolUDP, 3, dg, pcs[0]))
		r.finish(0)
		st := &r.f.Stats
		if len(r.out) != 0 || st.Skipped[SkipOtherPort] != 10 || len(st.SkipReasons()) != 1 || st.FragDropped != [numSkipReasons]int64{} {
			t.Errorf("%s: %d handed on, skipped %s, dropped %v", v.name, len(r.out), r.skipped(), st.FragDropped)
		}
	}
}

// TestDefragNotTCPUDP: fragments of other protocols (ICMP) are skipped at
// once: the protocol is in every fragment.
func TestDefragNotTCPUDP(t *testing.T) {
	dg := udpPayload(serverPort, 2992, 1)
	r := newFragRun(t, DefaultLimits)
	for _, pc := range split(len(dg), 1480) {
		r.feed(1, frag4(layers.IPProtocolICMPv4, 1, dg, pc))
	}
	if r.f.Stats.Skipped[SkipNotTCPUDP] != 3 || r.f.Stats.Fragments != 0 {
		t.Errorf("skipped %s", r.skipped())
	}
	r.finish(0)
}

// TestDefragSnaplen: fragments cut by the snaplen: the datagram is handed
// on with its captured bytes up to the first cut, and its length on the
// wire.
func TestDefragSnaplen(t *testing.T) {
	dg := udpPayload(serverPort, 4992, 1)
	pcs := split(len(dg), 1480)
	for _, v := range ipVersions {
		r := newFragRun(t, DefaultLimits)
		for i, pc := range pcs {
			f := v.frag(layers.IPProtocolUDP, 1, dg, pc)
			head := len(f) - pc.n
			r.feed(int64(i), f[:head+200]) // tcpdump -s: 200 bytes of each fragment's data
		}
		if len(r.out) != 1 || !bytes.Equal(r.out[0].payload, dg[8:200]) || r.out[0].wireLen != len(dg)-8 {
			t.Fatalf("%s: handed on %+v", v.name, r.out)
		}
		r.finish(4)
	}
}

// TestDefragTCP: a TCP segment in IP fragments (rare, but it happens) is
// reassembled too.
func TestDefragTCP(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 300)
	seg := tcpPayload(data)
	for _, v := range ipVersions {
		r := newFragRun(t, DefaultLimits)
		pcs := split(len(seg), 1480)
		for i := len(pcs) - 1; i >= 0; i-- {
			r.feed(int64(10-i), v.frag(layers.IPProtocolTCP, 1, seg, pcs[i]))
		}
		if len(r.out) != 1 || !bytes.Equal(r.out[0].payload, data) || r.out[0].at.Frame != int64(len(pcs)) {
			t.Fatalf("%s: handed on %+v", v.name, r.out)
		}
		r.finish(int64(len(pcs)))
	}
}

// TestDefragAtomic: an IPv6 atomic fragment (offset 0, no more: RFC 6946)
// is a whole datagram, analysed at once, without reassembly state.
func TestDefragAtomic(t *testing.T) {
	dg := udpPayload(serverPort, 100, 1)
	r := newFragRun(t, DefaultLimits)
	r.feed(1, frag6(layers.IPProtocolUDP, 1, dg, piece{0, len(dg), false}, false))
	if len(r.out) != 1 || !bytes.Equal(r.out[0].payload, dg[8:]) || r.f.Stats.Fragments != 0 {
		t.Fatalf("handed on %+v", r.out)
	}
	r.finish(1)
}

// TestDefragWorkBounded: the work per fragment is bounded whatever came
// before: 8-byte fragments of one datagram in the worst order, each sent
// twice, and fragments overlapping them, cost a constant number of bitmap
// words each, for n and 10n fragments.
func TestDefragWorkBounded(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	big := make([]byte, 65536)
	for _, n := range []int{800, 8000} {
		r := newFragRun(t, DefaultLimits)
		fed := 0
		for i := n - 1; i >= 0; i-- {
			pc := piece{8 * i, 8, true}
			r.feed(1, frag4(layers.IPProtocolUDP, 1, big, pc))
			r.feed(1, frag4(layers.IPProtocolUDP, 1, big, pc))
			fed += 2
		}
		for range n {
			off := 8 * rng.IntN(8000)
			r.feed(1, frag4(layers.IPProtocolUDP, uint16(2+rng.IntN(4)), big, piece{off, min(1480, 65528-off), true}))
			fed++
		}
		if per := r.f.frags.words / int64(fed); per > 3*(fragBlocks/64+2) {
			t.Errorf("%d fragments: %d bitmap words each", fed, per)
		}
		r.finish(0)
	}
}

// FuzzDefrag feeds the reassembler sequences of fragments of a few
// datagrams (offsets, lengths, flags, snaplen cuts, times from the input;
// bytes a pattern of the datagram and offset) with small bounds. Whatever
// the sequence: no panic, the bounds hold, a datagram handed on holds
// exactly its bytes, and every fragment is accounted for once.
func FuzzDefrag(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0x05, 0xc8, 0, 1, 0, 0x05, 0xc8, 0x05, 0xc8, 0x10})
	f.Add([]byte{0x10, 0x05, 0xc8, 0x05, 0xc8, 0, 0x11, 0, 0, 0x05, 0xc8, 0, 0x11, 0x02, 0xe0, 0x02, 0xe0, 0})
	// Boundaries: the last 8-byte offset with a length past 65535, an
	// empty last fragment, and a first fragment of the longest length.
	f.Add([]byte{0x08, 0xff, 0xf8, 0x23, 0x27, 0, 0x00, 0, 0, 0, 0, 0})
	f.Add([]byte{0x00, 0, 0, 0, 1, 0, 0x08, 0xff, 0xf8, 0, 0, 0xff})
	f.Add([]byte{0x0c, 0, 0, 0x23, 0x27, 0, 0x04, 0xff, 0xf0, 0x23, 0x27, 0})
	buf := make([]byte, 65536) // executions run one at a time in a worker
	f.Fuzz(func(t *testing.T, in []byte) {
		var st Stats
		limits := Limits{FragDatagrams: 3, FragBytes: 40 << 10, FragTimeout: 30e9}
		r := newDefrag(limits, &st, nil)
		pattern := func(k fragKey, i int) byte { return byte(i*7) ^ byte(i>>8) ^ byte(k.id*31) }
		var delivered, fed int64
		var now int64
		for len(in) >= 6 {
			op := in[0]
			off := int(binary.BigEndian.Uint16(in[1:3])) &^ 7
			wire := int(binary.BigEndian.Uint16(in[3:5])) % 9000
			now += int64(in[5]) * 1e9 / 8
			in = in[6:]
			k := fragKey{id: uint32(op & 3), proto: ProtoUDP, v6: op&4 != 0}
			maxLen := 65535 - 20
			if k.v6 {
				maxLen = 65535 - 8
			}
			end := min(off+wire, len(buf))
			for i := off; i < end; i++ {
				buf[i] = pattern(k, i)
			}
			data := buf[off:end]
			if op&16 != 0 && len(data) > 0 { // cut by the snaplen
				data = data[:len(data)/2]
			}
			fr := fragment{key: k, off: off, more: op&8 != 0, data: data, wireLen: wire, maxLen: maxLen}
			fed++
			d := r.add(&fr, now)
			if r.held > limits.FragBytes || r.n > limits.FragDatagrams || r.n != len(r.table) {
				t.Fatalf("%d bytes held, %d datagrams (%d in the table)", r.held, r.n, len(r.table))
			}
			if d == nil {
				continue
			}
			p := d.payload()
			if d.total > maxLen || len(p) > d.total || (d.cut > d.total && len(p) != d.total) {
				t.Fatalf("handed on %d bytes of %d (cut at %d)", len(p), d.total, d.cut)
			}
			for i := range p {
				if p[i] != pattern(d.key, i) {
					t.Fatalf("byte %d of datagram %d: %#x, want %#x", i, d.key.id, p[i], pattern(d.key, i))
				}
			}
			delivered += d.nfrag
			r.done(d)
		}
		r.finish(now)
		var skipped int64
		for _, n := range st.Skipped {
			skipped += n
		}
		if skipped+delivered != fed || st.Fragments != fed || r.held != 0 || r.n != 0 {
			t.Fatalf("%d fragments: %d handed on, %d skipped; %d bytes, %d datagrams left", fed, delivered, skipped, r.held, r.n)
		}
	})
}

// TestDefragRealCapture: RPC over UDP that the kernel cut into IP
// fragments (testdata/make-fragments.sh: rpcbind behind a loopback of MTU
// 1500, IPv4 and IPv6; calls, replies or both fragmented). Every message
// is handed on at the frame tshark shows it in, at that frame's time, and
// every packet is part of one.
func TestDefragRealCapture(t *testing.T) {
	view, err := os.ReadFile("testdata/rpcbind-udp-fragments.tshark")
	if err != nil {
		t.Fatal(err)
	}
	in, err := capture.OpenInputs([]string{"testdata/rpcbind-udp-fragments.pcap.gz"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var out []got
	f := NewFlows([]uint16{111}, DefaultLimits, func(*ConnInfo) ConnHandler { return fragHandler{out: &out} })
	var p capture.Packet
	for in.Next(&p) == nil {
		f.Packet(&p)
	}
	f.Finish()
	var b strings.Builder
	sent := map[uint32]int64{}
	for _, g := range out {
		if len(g.payload) < 8 {
			t.Fatalf("frame %d: a %d-byte datagram", g.at.Frame, len(g.payload))
		}
		xid, typ := binary.BigEndian.Uint32(g.payload), binary.BigEndian.Uint32(g.payload[4:])
		rt := ""
		if typ == 0 {
			sent[xid] = g.at.Time
		} else {
			rt = fmt.Sprintf("%.9f", float64(g.at.Time-sent[xid])/1e9)
		}
		fmt.Fprintf(&b, "%d\t0x%08x\t%d\t%s\n", g.at.Frame, xid, typ, rt)
	}
	if b.String() != string(view) {
		t.Errorf("handed on\n%s\ntshark shows\n%s", b.String(), view)
	}
	if f.Stats.Packets != 42 || len(f.Stats.SkipReasons()) != 0 || f.Stats.Reassembled != 8 {
		t.Errorf("%d packets, %d datagrams reassembled, skipped %v", f.Stats.Packets, f.Stats.Reassembled, f.Stats.Skipped)
	}
}
